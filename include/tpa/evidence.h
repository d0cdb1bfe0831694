/* SPDX-License-Identifier: BSD-3-Clause */
/* The client's side of the wire format: packing evidence, unpacking the
 * challenge and the verdict (protobuf-c, attest.v1). Every reply is
 * untrusted and checked here. */
#ifndef TPA_EVIDENCE_H
#define TPA_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/nonce.h"
#include "tpa/quote.h"
#include "tpa/tpm.h"

#define TPA_RPC_GET_CHALLENGE "/attest.v1.Verifier/GetChallenge"
#define TPA_RPC_ATTEST        "/attest.v1.Verifier/Attest"
#define TPA_DEVICE_HINT_MAX   128
#define TPA_NONCE_MIN         16
#define TPA_NONCE_MAX         64

/* A challenge as the client received it. */
typedef struct {
	char id[TPA_CHALLENGE_ID_LEN + 1];
	uint8_t nonce[TPA_NONCE_MAX];
	size_t nonce_len;
	int64_t expires_at_unix;
	uint32_t valid_for_ms;
} tpa_client_challenge;

int tpa_challenge_request_pack(uint8_t **out, size_t *len, const char *hint);
int tpa_challenge_unpack(tpa_client_challenge *out, const uint8_t *b, size_t n);

int tpa_attest_request_pack(uint8_t **out, size_t *len, const char *challenge_id,
			    const tpa_tpm_quote_result *q, const uint8_t *ak_public,
			    size_t ak_public_len, const tpa_pcr_set *pcrs,
			    const char *hint);

typedef struct {
	int compliant;
	tpa_findings findings;
	char ak_name[2 * 66 + 1];
	char *token;               /* malloc'd */
} tpa_verdict;

int tpa_verdict_unpack(tpa_verdict *out, const uint8_t *b, size_t n);
void tpa_verdict_clear(tpa_verdict *v);

#endif
