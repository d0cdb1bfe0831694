/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: the event-log parser and the whole evaluation of a log as
 * evidence (replay, the comparison with quoted PCRs, the trusted-launch
 * state, data and separator checks), offline and against a quote of every
 * PCR at zero, on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/boot.h"
#include "tpa/eventlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t zero[64];
	tpa_eventlog *log = NULL;
	tpa_boot_input in;
	tpa_findings f;
	tpa_pcr_set q;
	tpa_boot b;
	size_t i;

	if (tpa_eventlog_parse(&log, data, size) == 0) {
		for (i = 0; i < tpa_eventlog_count(log); i++) {
			const tpa_event *ev = tpa_eventlog_event(log, i);

			/* Every event lies inside the log. */
			if (ev->offset >= size || ev->data_len > size)
				abort();
		}
		tpa_eventlog_free(log);
	}
	memset(&in, 0, sizeof(in));
	in.event_log = data;
	in.event_log_len = size;
	memset(&f, 0, sizeof(f));
	if (tpa_boot_evaluate(&b, &f, &in) < 0 && b.log)
		abort();
	/* Nothing counts that the log did not prove offline either. */
	if (b.state.counted & ~b.counted)
		abort();
	tpa_boot_clear(&b);
	memset(&q, 0, sizeof(q));
	tpa_pcr_set_add_bank(&q, 0x000B);
	for (i = 0; i < 24; i++)
		tpa_pcr_set_add(&q, (uint32_t)i, zero, 32);
	in.quoted = &q;
	memset(&f, 0, sizeof(f));
	tpa_boot_evaluate(&b, &f, &in);
	/* Only replayed PCRs count. */
	if (b.counted && !tpa_findings_get(&f, TPA_CHECK_EVENTLOG_REPLAY))
		abort();
	tpa_boot_clear(&b);
	return 0;
}
