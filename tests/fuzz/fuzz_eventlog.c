/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: the event-log parser, replay, trusted-launch state and the
 * comparison with quoted PCRs, on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/bootstate.h"
#include "tpa/eventlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tpa_eventlog *log = NULL;
	tpa_replay r;
	tpa_bootstate bs;
	tpa_findings f;
	tpa_pcr_set q;
	size_t i;

	if (tpa_eventlog_parse(&log, data, size) != 0)
		return 0;
	for (i = 0; i < tpa_eventlog_count(log); i++) {
		const tpa_event *ev = tpa_eventlog_event(log, i);

		/* Every event lies inside the log. */
		if (ev->offset >= size || ev->data_len > size)
			abort();
	}
	if (tpa_eventlog_replay(&r, log) == 0) {
		static const uint8_t zero[64];

		memset(&q, 0, sizeof(q));
		memset(&f, 0, sizeof(f));
		tpa_pcr_set_add_bank(&q, 0x000B);
		for (i = 0; i < 24; i++)
			tpa_pcr_set_add(&q, (uint32_t)i, zero, 32);
		tpa_eventlog_compare(&f, &r, &q, 1u << 10);
	}
	tpa_bootstate_derive(&bs, log, 0);
	tpa_bootstate_clear(&bs);
	tpa_eventlog_free(log);
	return 0;
}
