/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: the client's decoding of the verifier's replies (a hostile or
 * broken verifier must not crash the endpoint). */
#include <stdint.h>
#include <stdlib.h>

#include "tpa/evidence.h"
#include "tpa/quote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tpa_client_challenge ch;
	tpa_verdict_reply v;

	if (tpa_challenge_unpack(&ch, data, size) == 0 &&
	    (ch.nonce_len < TPA_NONCE_MIN || ch.nonce_len > TPA_NONCE_MAX))
		abort();
	if (tpa_verdict_reply_unpack(&v, data, size) == 0) {
		if (v.compliant && tpa_findings_failed(&v.findings))
			abort();
		tpa_verdict_reply_clear(&v);
	}
	return 0;
}
