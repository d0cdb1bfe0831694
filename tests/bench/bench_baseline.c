/* SPDX-License-Identifier: BSD-3-Clause */
/* The cost of appraising one attestation against a golden baseline, in
 * process, beside the verifier's log path for the same attestation (parse,
 * replay of the quoted SHA-256 bank, trusted-launch state), which it adds to.
 * usage: bench_baseline LOG BASELINE */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "tpa/baseline.h"
#include "tpa/err.h"
#include "tpa/eventlog.h"

int main(int argc, char **argv)
{
	static const uint16_t sha256[] = { 0x000B };
	uint8_t *b = NULL;
	size_t n = 0;
	tpa_eventlog *log = NULL;
	tpa_bootstate st = { 0 };
	tpa_baseline *bl = NULL;
	tpa_boot_evidence ev;
	tpa_appraisal a;
	double path_us, appraise_us;

	if (argc != 3) {
		fprintf(stderr, "usage: bench_baseline LOG BASELINE\n");
		return 2;
	}
	if (tpa_eventlog_read_file(&b, &n, argv[1]) < 0 || tpa_eventlog_parse(&log, b, n) < 0 ||
	    tpa_bootstate_derive(&st, log, 0x000B) < 0 || tpa_baseline_load_file(&bl, argv[2]) < 0) {
		fprintf(stderr, "bench_baseline: %s\n", tpa_err_last());
		return 1;
	}
	ev.log = log;
	ev.state = &st;
	ev.bank = 0x000B;
	ev.quoted = NULL;
	if (tpa_baseline_appraise(&a, bl, &ev) < 0) {
		fprintf(stderr, "bench_baseline: %s\n", tpa_err_last());
		return 1;
	}
	TIME_US({
		tpa_eventlog *l = NULL;
		tpa_replay r;
		tpa_bootstate s;

		if (tpa_eventlog_parse(&l, b, n) == 0) {
			tpa_eventlog_replay_banks(&r, l, sha256, 1);
			tpa_bootstate_derive(&s, l, 0x000B);
			tpa_bootstate_clear(&s);
		}
		tpa_eventlog_free(l);
	}, 0.3, path_us);
	TIME_US(tpa_baseline_appraise(&a, bl, &ev), 0.3, appraise_us);
	printf("appraisal %.1f us per attestation (%zu events, %zu-byte log; outcome %s); "
	       "the log path it adds to: %.1f us (+%.0f%%)\n", appraise_us,
	       tpa_eventlog_count(log), n, tpa_outcome_name(a.outcome), path_us,
	       100.0 * appraise_us / path_us);
	tpa_bootstate_clear(&st);
	tpa_eventlog_free(log);
	tpa_baseline_free(bl);
	free(b);
	return 0;
}
