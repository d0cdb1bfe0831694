/* SPDX-License-Identifier: BSD-3-Clause */
/* Quote verifications per second on one core, in process, on real quotes
 * from swtpm (ECDSA P-256, RSASSA-2048). Prints "name value unit" lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/swtpm_fixture.h"
#include "bench.h"
#include "tpa/err.h"
#include "tpa/quote.h"
#include "tpa/tpm.h"

static int bench(const char *label, const char *tcti, tpa_ak_type type, double secs)
{
	tpa_tpm *t = NULL;
	tpa_tpm_quote_result q;
	tpa_pcr_set pcrs;
	tpa_quote_evidence ev = { 0 };
	uint8_t akpub[TPA_PUBLIC_MAX], nonce[32];
	size_t akpub_len;
	double t0, el;
	long n = 0;

	memset(nonce, 7, sizeof(nonce));
	if (tpa_tpm_open(&t, tcti) < 0 || tpa_tpm_ak_load(t, type, NULL) < 0 ||
	    tpa_tpm_ak_public(t, akpub, sizeof(akpub), &akpub_len) < 0 ||
	    tpa_pcr_set_parse_selection(&pcrs, "sha256:0-9") < 0 ||
	    tpa_tpm_quote(&q, t, &pcrs, nonce, sizeof(nonce)) < 0) {
		fprintf(stderr, "bench_quote: %s\n", tpa_err_last());
		tpa_tpm_close(t);
		return -1;
	}
	tpa_tpm_close(t);
	ev.attest = q.attest;
	ev.attest_len = q.attest_len;
	ev.signature = q.signature;
	ev.signature_len = q.signature_len;
	ev.ak_public = akpub;
	ev.ak_public_len = akpub_len;
	ev.pcrs = &pcrs;
	t0 = now_s();
	do {
		tpa_findings f;
		int i;

		for (i = 0; i < 100; i++) {
			f.n = 0;
			if (tpa_quote_verify(&f, &ev, nonce, sizeof(nonce), NULL, NULL) != 0) {
				fprintf(stderr, "bench_quote: verification failed\n");
				return -1;
			}
		}
		n += 100;
		el = now_s() - t0;
	} while (el < secs);
	printf("quote_verify_%s %.0f verifications/s (%ld in %.2f s, 1 thread)\n", label,
	       (double)n / el, n, el);
	return 0;
}

int main(int argc, char **argv)
{
	swtpm_fixture fx;
	double secs = argc > 1 ? atof(argv[1]) : 3.0;
	int rc = 0;

	setenv("TSS2_LOG", "all+none", 1);
	if (swtpm_fixture_start(&fx) < 0) {
		fprintf(stderr, "bench_quote: cannot start swtpm\n");
		return 1;
	}
	/* An optional second argument picks one kind (for profiling). */
	if ((argc < 3 || strcmp(argv[2], "ecc") == 0) &&
	    bench("ecdsa_p256", fx.tcti, TPA_AK_ECC_P256, secs) < 0)
		rc = 1;
	if ((argc < 3 || strcmp(argv[2], "rsa") == 0) &&
	    bench("rsassa_2048", fx.tcti, TPA_AK_RSA_2048, secs) < 0)
		rc = 1;
	swtpm_fixture_stop(&fx);
	return rc;
}
