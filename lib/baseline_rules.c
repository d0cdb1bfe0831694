/* SPDX-License-Identifier: BSD-3-Clause */
/* What the baseline's rules read: the PCRs each rule's evidence lies on,
 * the PCRs a baseline requires a quote to cover, event types by name (the
 * known-events rule) and the application an event measured. Which rule
 * judges an event is events.c's table (tpa_event_meaning_of). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline_int.h"

tpa_pcr_mask baseline__rule_pcrs(const tpa_baseline *b, tpa_rule_id id)
{
	switch (id) {
	case TPA_RULE_SECURE_BOOT:
	case TPA_RULE_UEFI_DEBUG_MODE:
	case TPA_RULE_PK:
	case TPA_RULE_KEK:
	case TPA_RULE_DB:
	case TPA_RULE_DBX:
	case TPA_RULE_AUTHORITIES:
	case TPA_RULE_DBX_CURRENT:
	case TPA_RULE_CA_2023:
	case TPA_RULE_NO_TEST_KEYS:
		return (tpa_pcr_mask)1 << 7;
	case TPA_RULE_NO_REVOKED_COMPONENTS:
		return ((tpa_pcr_mask)1 << 4) | ((tpa_pcr_mask)1 << 7);
	case TPA_RULE_FIRMWARE_VERSION:
		return 1;
	case TPA_RULE_BOOT_APPLICATIONS:
		return ((tpa_pcr_mask)1 << 4) | b->loader_pcrs;
	case TPA_RULE_KERNEL_CMDLINE:
	case TPA_RULE_PCRS:
	case TPA_RULE_KNOWN_EVENTS:
	case TPA_RULE_REQUIRED_PCRS:
	case TPA_RULE_COUNT:
		break;
	}
	return 0;
}

tpa_pcr_mask baseline__log_pcrs(const tpa_eventlog *log)
{
	tpa_pcr_mask m = 0;
	size_t i, n = tpa_eventlog_count(log);

	for (i = 0; i < n; i++) {
		const tpa_event *e = tpa_eventlog_event(log, i);

		if (e->type != TPA_EV_NO_ACTION && e->pcr < TPA_PCR_COUNT)
			m |= (tpa_pcr_mask)1 << e->pcr;
	}
	return m;
}

tpa_pcr_mask tpa_baseline_required_pcrs(const tpa_baseline *b, const tpa_eventlog *log)
{
	if (!b)
		return 0;
	if (b->required_set)
		return b->required;
	/* A baseline from before required_pcrs: the firmware's PCRs, those its
	 * own entries name, and the boot chain's that the log uses. */
	return FIRMWARE_PCRS | b->entry_pcrs |
	       (log ? baseline__log_pcrs(log) & BOOT_CHAIN_PCRS : 0);
}


void baseline__type_text(char *out, size_t cap, uint32_t type)
{
	const char *n = tpa_event_type_name(type);

	if (n)
		snprintf(out, cap, "%s", n);
	else
		snprintf(out, cap, "0x%08x", type);
}

int baseline__type_parse(uint32_t *out, const char *s)
{
	char *end;
	unsigned long v;

	if (tpa_event_type_from_name(out, s) == 0)
		return 0;
	if (strncmp(s, "0x", 2) != 0 || strlen(s) != 10)
		return -1;
	v = strtoul(s + 2, &end, 16);
	if (*end)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

const tpa_boot_app *baseline__app_of(const tpa_bootstate *st, uint32_t event)
{
	size_t i;

	for (i = 0; st && i < st->napps; i++)
		if (st->apps[i].event == event)
			return &st->apps[i];
	return NULL;
}
