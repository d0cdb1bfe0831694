/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: the client's decoding of the verifier's replies (a hostile or
 * broken verifier must not crash the endpoint, nor a relying party).
 * Seeds: the challenge and verdicts from mkseed; keys-*.bin and
 * compliance-*.bin are replies of the shapes a verifier sends, in text format
 * through protoc --encode=attest.v1.GetVerificationKeysResponse (or
 * GetDeviceComplianceResponse) -Iproto attest/v1/attest.proto. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/evidence.h"
#include "tpa/quote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tpa_client_challenge ch;
	tpa_verdict_reply v;
	tpa_compliance_reply c;
	char *jwks = NULL;

	if (tpa_challenge_unpack(&ch, data, size) == 0 &&
	    (ch.nonce_len < TPA_NONCE_MIN || ch.nonce_len > TPA_NONCE_MAX))
		abort();
	if (tpa_verdict_reply_unpack(&v, data, size) == 0) {
		if (v.compliant && tpa_findings_failed(&v.findings))
			abort();
		tpa_verdict_reply_clear(&v);
	}
	if (tpa_keys_response_unpack(&jwks, data, size) == 0) {
		if (!jwks[0] || strlen(jwks) > TPA_JWKS_MAX)
			abort();
		free(jwks);
	}
	if (tpa_compliance_response_unpack(&c, data, size) == 0) {
		if (c.compliant && (c.reason[0] || c.expired || strcmp(c.state, "active") != 0))
			abort();
		tpa_compliance_reply_clear(&c);
	}
	return 0;
}
