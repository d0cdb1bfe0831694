/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: golden baselines are untrusted input. Arbitrary bytes go
 * through the parser; whatever parses is written back, parsed again, merged
 * with itself, compared with itself, summarized, and judges a small real
 * boot (seed logs are in the eventlog corpus; here a fixed one built in). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/baseline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tpa_baseline *b = NULL, *again = NULL, *m = NULL;
	char *json, *d = NULL, *sum;
	tpa_boot ev;
	tpa_appraisal a;

	if (tpa_baseline_parse(&b, (const char *)data, size, "fuzz") != 0)
		return 0;
	/* What parses writes back to something that parses the same way. */
	if (!(json = tpa_baseline_to_json(b)) ||
	    tpa_baseline_parse(&again, json, strlen(json), "again") != 0)
		abort();
	if (tpa_baseline_diff(&d, b, again) != 0 || d[0] != '\0')
		abort();
	free(d);
	d = NULL;
	if (tpa_baseline_merge(&m, b, again) == 0 && tpa_baseline_diff(&d, b, m) != 0)
		abort();
	free(d);
	sum = tpa_baseline_summary(b);
	free(sum);
	/* Judging a boot without a log: every rule fails or is n/a, no crash;
	 * never compliant unless the baseline judges nothing of the log. */
	memset(&ev, 0, sizeof(ev));
	ev.state.first_mismatch = -1;
	ev.offline = 1;
	if (tpa_baseline_appraise(&a, b, &ev) != 0)
		abort();
	if (a.rules[TPA_RULE_SECURE_BOOT].status == TPA_RULE_PASS ||
	    a.rules[TPA_RULE_BOOT_APPLICATIONS].status == TPA_RULE_PASS)
		abort();
	tpa_appraisal_clear(&a);
	free(json);
	tpa_baseline_free(m);
	tpa_baseline_free(again);
	tpa_baseline_free(b);
	return 0;
}
