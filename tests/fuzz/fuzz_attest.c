/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: the verifier's Attest handler on arbitrary request bytes
 * (protobuf decoding, request checks, quote verification, token). */
#include <stdint.h>
#include <stdlib.h>

#include "tpa/service.h"
#include "tpa/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tpa_service *svc;
static tpa_token_key *key;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tpa_rpc_reply r = { 0 };

	if (!svc) {
		tpa_service_opts o = { 0 };

		if (tpa_token_key_new(&key) < 0)
			abort();
		o.key = key;
		if (tpa_service_new(&svc, &o) < 0)
			abort();
	}
	tpa_service_attest(&r, data, size, svc);
	if (r.status == TPA_RPC_OK && (!r.data || r.len == 0))
		abort(); /* OK always carries a verdict */
	if (r.status != TPA_RPC_OK && !r.details[0])
		abort(); /* every refusal names its reason */
	free(r.data);
	return 0;
}
