/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: arbitrary event logs judged against a golden baseline, as the
 * verifier judges them: offline (nothing TPM-signed), and online with PCR
 * values that the log itself replays to (the strongest case a forger can
 * make: every replay check holds). The baseline is parsed once, as the
 * service caches it (re-reading it per run spent most of the time). Run from
 * the repository root. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/baseline.h"
#include "tpa/err.h"
#include "tpa/eventlog.h"
#include "tpa/tpm_decode.h"
#include "tpa/verdict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASELINE "tests/fuzz/corpora/baseline/sim-good.json"

static tpa_baseline *bl;

static void cleanup(void)
{
	tpa_baseline_free(bl);
}

/* The quoted PCRs: the log's own replay of every bank, PCRs 0-23. */
static int replayed_pcrs(tpa_pcr_set *q, const uint8_t *data, size_t size)
{
	tpa_eventlog *log = NULL;
	tpa_replay rp;
	uint32_t b, i;
	int ok = 0;

	memset(q, 0, sizeof(*q));
	if (tpa_eventlog_parse(&log, data, size) < 0)
		return 0;
	if (tpa_eventlog_replay(&rp, log) == 0) {
		ok = 1;
		for (b = 0; b < rp.nbanks && b < TPA_BANKS_MAX && ok; b++) {
			size_t n = tpa_hash_size(rp.banks[b].alg);

			if (!n || tpa_pcr_set_add_bank(q, rp.banks[b].alg) < 0)
				ok = 0;
			for (i = 0; ok && i < TPA_PCR_COUNT; i++)
				if (tpa_pcr_set_add(q, i, rp.banks[b].value[i], n) < 0)
					ok = 0;
		}
	}
	tpa_eventlog_free(log);
	return ok && q->nbanks > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tpa_verdict_input in;
	tpa_verdict v;
	tpa_findings checks;
	tpa_pcr_set quoted;
	char reasons[512];

	if (!bl) {
		if (tpa_baseline_load_file(&bl, BASELINE) < 0) {
			fprintf(stderr, "fuzz_appraise: %s (run from the repository root)\n",
				tpa_err_last());
			abort();
		}
		atexit(cleanup);
	}
	/* Offline: the log alone; nothing it says is verified, so never
	 * compliant. */
	memset(&in, 0, sizeof(in));
	in.event_log = data;
	in.event_log_len = size;
	in.baseline = bl;
	if (tpa_verdict_judge(&v, &in) < 0)
		abort();
	if (v.status == TPA_STATUS_COMPLIANT)
		abort();
	tpa_verdict_reasons(&v, reasons, sizeof(reasons));
	tpa_verdict_clear(&v);
	/* Online, with a quote of exactly what the log replays to. */
	if (!replayed_pcrs(&quoted, data, size))
		return 0;
	memset(&checks, 0, sizeof(checks));
	in.checks = &checks;
	in.quoted = &quoted;
	in.registered = 1;
	if (tpa_verdict_judge(&v, &in) < 0)
		abort();
	/* Compliant only with a replayed, measured boot the baseline passed. */
	if (v.status == TPA_STATUS_COMPLIANT && (!v.replayed || !v.measured_boot || !v.appraised))
		abort();
	tpa_verdict_reasons(&v, reasons, sizeof(reasons));
	tpa_verdict_clear(&v);
	return 0;
}
