/* SPDX-License-Identifier: BSD-3-Clause */
/* The cost of appraising one attestation against a golden baseline, in
 * process, beside the verifier's log path for the same attestation
 * (tpa_boot_evaluate: parse, banks, the replay of every quoted PCR, the
 * separators, the counted trusted-launch state), which it adds to.
 * usage: bench_baseline LOG BASELINE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "tpa/baseline.h"
#include "tpa/boot.h"
#include "tpa/err.h"
#include "tpa/eventlog.h"

/* The log as the verifier takes it with a quote of q (NULL: offline). */
static int evaluate(tpa_boot *out, const uint8_t *b, size_t n, const tpa_pcr_set *q)
{
	tpa_boot_input in = { .event_log = b, .event_log_len = n, .quoted = q,
			      .baseline_bank = 0x000B };
	tpa_findings f;

	memset(&f, 0, sizeof(f));
	return tpa_boot_evaluate(out, &f, &in);
}

int main(int argc, char **argv)
{
	uint8_t *b = NULL;
	size_t n = 0;
	tpa_baseline *bl = NULL;
	tpa_boot ev;
	tpa_pcr_set q;
	tpa_appraisal a;
	double path_us, appraise_us;

	if (argc != 3) {
		fprintf(stderr, "usage: bench_baseline LOG BASELINE\n");
		return 2;
	}
	memset(&ev, 0, sizeof(ev));
	/* A quote of the sha256 bank, every PCR but IMA's, with the values
	 * the log replays to: what an honest device's quote says. */
	if (tpa_eventlog_read_file(&b, &n, argv[1]) < 0 || evaluate(&ev, b, n, NULL) < 0 ||
	    !ev.log || (q = ev.assumed, tpa_boot_clear(&ev), evaluate(&ev, b, n, &q) < 0) ||
	    !ev.log || tpa_baseline_load_file(&bl, argv[2]) < 0) {
		fprintf(stderr, "bench_baseline: %s\n", ev.have_log && !ev.log ?
			"the log does not parse" : tpa_err_last());
		return 1;
	}
	if (tpa_baseline_appraise(&a, bl, &ev) < 0) {
		fprintf(stderr, "bench_baseline: %s\n", tpa_err_last());
		return 1;
	}
	TIME_US({
		tpa_boot t;

		evaluate(&t, b, n, &q);
		tpa_boot_clear(&t);
	}, 0.3, path_us);
	TIME_US(tpa_baseline_appraise(&a, bl, &ev), 0.3, appraise_us);
	printf("appraisal %.1f us per attestation (%zu events, %zu-byte log; outcome %s); "
	       "the log path it adds to: %.1f us (+%.0f%%)\n", appraise_us,
	       tpa_eventlog_count(ev.log), n, tpa_outcome_name(a.outcome), path_us,
	       100.0 * appraise_us / path_us);
	tpa_boot_clear(&ev);
	tpa_baseline_free(bl);
	free(b);
	return 0;
}
