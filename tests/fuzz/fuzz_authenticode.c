/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: PE/COFF images are untrusted input (baseline allow reads
 * whatever file it is given). Arbitrary bytes are hashed in every bank; an
 * image is either refused with TPA_ERR_PARSE and a message, or gets a
 * digest, the same in each run (no uninitialised read decides it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/authenticode.h"
#include "tpa/err.h"
#include "tpa/tpm_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t algs[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384 };
	uint8_t a[64], b[64];
	size_t i;
	int err;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		err = tpa_authenticode_digest(a, algs[i], data, size);
		if (err != 0 && (err != TPA_ERR_PARSE || !tpa_err_last()[0]))
			abort();
		if (err == 0 && (tpa_authenticode_digest(b, algs[i], data, size) != 0 ||
				 memcmp(a, b, tpa_hash_size(algs[i])) != 0))
			abort();
	}
	return 0;
}
