/* SPDX-License-Identifier: BSD-3-Clause */
/* tpa-pcr-extend: extends digests into a TPM's PCRs.
 *   tpa-pcr-extend [--tcti TCTI] PCR:BANK=HEX ...
 * e.g. 7:sha256=5d41402abc4b2a76b9719d911017c592d1f0f5a5e4e1e8f7f0c3d7b6a0b1c2d3 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/err.h"
#include "tpa/tpm_decode.h"
#include "tpa/pcr.h"
#include "tpa/tpm.h"

/* "PCR:BANK=HEX" -> pcr, bank, digest. */
static int parse_arg(const char *a, uint32_t *pcr, uint16_t *alg, uint8_t *dg,
		     size_t *len)
{
	char sel[32];
	const char *eq = strchr(a, '=');
	tpa_pcr_set set;
	size_t i, n;

	if (!eq || (size_t)(eq - a) >= sizeof(sel))
		return tpa_err_fail(TPA_ERR_PARSE, "'%s': expected PCR:BANK=HEX", a);
	/* Reuse the selection parser: "sha256:7". */
	{
		const char *colon = memchr(a, ':', (size_t)(eq - a));

		if (!colon)
			return tpa_err_fail(TPA_ERR_PARSE, "'%s': expected PCR:BANK=HEX", a);
		snprintf(sel, sizeof(sel), "%.*s:%.*s", (int)(eq - colon - 1), colon + 1,
			 (int)(colon - a), a);
	}
	if (tpa_pcr_set_parse_selection(&set, sel) < 0 || set.nbanks != 1 ||
	    set.banks[0].count != 1)
		return tpa_err_fail(TPA_ERR_PARSE, "'%s': bad PCR or bank", a);
	*pcr = set.banks[0].index[0];
	*alg = set.banks[0].hash_alg;
	n = strlen(eq + 1);
	if (n != 2 * tpa_hash_size(*alg))
		return tpa_err_fail(TPA_ERR_PARSE, "'%s': digest must be %zu hex digits", a,
				    2 * tpa_hash_size(*alg));
	for (i = 0; i < n / 2; i++) {
		int hi = tpa_hex_digit(eq[1 + 2 * i]), lo = tpa_hex_digit(eq[2 + 2 * i]);

		if (hi < 0 || lo < 0)
			return tpa_err_fail(TPA_ERR_PARSE, "'%s': not hex", a);
		dg[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

int main(int argc, char **argv)
{
	const char *tcti = NULL;
	tpa_tpm *t = NULL;
	int i = 1, rc = 0;

	if (argc > 2 && strcmp(argv[1], "--tcti") == 0) {
		tcti = argv[2];
		i = 3;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: tpa-pcr-extend [--tcti TCTI] PCR:BANK=HEX ...\n");
		return 2;
	}
	if (!getenv("TSS2_LOG"))
		setenv("TSS2_LOG", "all+none", 1);
	if (tpa_tpm_open(&t, tcti) < 0) {
		fprintf(stderr, "tpa-pcr-extend: %s\n", tpa_err_last());
		return 3;
	}
	for (; i < argc; i++) {
		uint8_t dg[TPA_DIGEST_MAX];
		uint32_t pcr;
		uint16_t alg;
		size_t len;

		if (parse_arg(argv[i], &pcr, &alg, dg, &len) < 0 ||
		    tpa_tpm_pcr_extend(t, pcr, alg, dg, len) < 0) {
			fprintf(stderr, "tpa-pcr-extend: %s\n", tpa_err_last());
			rc = 3;
			break;
		}
	}
	tpa_tpm_close(t);
	return rc;
}
