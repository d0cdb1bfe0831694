/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tpa/findings.h"

static const struct {
	const char *name;
	tpa_check_class cls;
} checks[TPA_CHECK_COUNT] = {
	[TPA_CHECK_OTHER] = { "other", TPA_CHECK_CLASS_OTHER },
	[TPA_CHECK_CHALLENGE] = { "challenge", TPA_CHECK_CLASS_CHALLENGE },
	[TPA_CHECK_AK_PUBLIC] = { "ak.public", TPA_CHECK_CLASS_QUOTE },
	[TPA_CHECK_AK_ATTRIBUTES] = { "ak.attributes", TPA_CHECK_CLASS_QUOTE },
	[TPA_CHECK_QUOTE_STRUCTURE] = { "quote.structure", TPA_CHECK_CLASS_QUOTE },
	[TPA_CHECK_QUOTE_MAGIC] = { "quote.magic", TPA_CHECK_CLASS_QUOTE },
	[TPA_CHECK_QUOTE_TYPE] = { "quote.type", TPA_CHECK_CLASS_QUOTE },
	[TPA_CHECK_QUOTE_NONCE] = { "quote.nonce", TPA_CHECK_CLASS_QUOTE },
	[TPA_CHECK_QUOTE_PCR_SELECTION] = { "quote.pcr_selection", TPA_CHECK_CLASS_QUOTE },
	[TPA_CHECK_QUOTE_PCR_DIGEST] = { "quote.pcr_digest", TPA_CHECK_CLASS_QUOTE },
	[TPA_CHECK_QUOTE_SIGNATURE] = { "quote.signature", TPA_CHECK_CLASS_QUOTE },
	[TPA_CHECK_DEVICE_REGISTERED] = { "device.registered", TPA_CHECK_CLASS_IDENTITY },
	[TPA_CHECK_BASELINE] = { "baseline", TPA_CHECK_CLASS_POLICY },
	[TPA_CHECK_EVENTLOG_PARSE] = { "eventlog.parse", TPA_CHECK_CLASS_EVENTLOG },
	[TPA_CHECK_QUOTE_BANKS] = { "quote.banks", TPA_CHECK_CLASS_EVENTLOG },
	[TPA_CHECK_EVENTLOG_REPLAY] = { "eventlog.replay", TPA_CHECK_CLASS_EVENTLOG },
	[TPA_CHECK_EVENTLOG_DIGESTS] = { "eventlog.digests", TPA_CHECK_CLASS_EVENTLOG },
	[TPA_CHECK_EVENTLOG_SEPARATORS] = { "eventlog.separators", TPA_CHECK_CLASS_EVENTLOG },
	[TPA_CHECK_CLIENT_SECURE_BOOT] = { "client.secure_boot", TPA_CHECK_CLASS_CLIENT },
	[TPA_CHECK_FINDINGS_OVERFLOW] = { "findings.overflow", TPA_CHECK_CLASS_OTHER },
	[TPA_CHECK_KEY_BINDING] = { "key.binding", TPA_CHECK_CLASS_QUOTE },
};

const char *tpa_check_name(tpa_check_id id)
{
	return (unsigned)id < TPA_CHECK_COUNT ? checks[id].name : "other";
}

tpa_check_id tpa_check_id_of(const char *name)
{
	int i;

	for (i = 1; name && i < TPA_CHECK_COUNT; i++)
		if (strcmp(checks[i].name, name) == 0)
			return (tpa_check_id)i;
	return TPA_CHECK_OTHER;
}

tpa_check_class tpa_check_class_of(tpa_check_id id)
{
	return (unsigned)id < TPA_CHECK_COUNT ? checks[id].cls : TPA_CHECK_CLASS_OTHER;
}

/* The next slot, or the overflow marker in the last one. */
static tpa_check *next_slot(tpa_findings *f)
{
	tpa_check *c;

	if (f->n < TPA_CHECKS_MAX)
		return &f->items[f->n++];
	/* Never lose a failure: the last slot turns into a failed
	 * "findings.overflow" entry. */
	c = &f->items[TPA_CHECKS_MAX - 1];
	c->id = TPA_CHECK_FINDINGS_OVERFLOW;
	snprintf(c->name, sizeof(c->name), "%s", checks[TPA_CHECK_FINDINGS_OVERFLOW].name);
	c->passed = 0;
	snprintf(c->detail, sizeof(c->detail), "more than %d checks", TPA_CHECKS_MAX);
	return NULL;
}

void tpa_findings_add(tpa_findings *f, tpa_check_id id, int passed, const char *fmt, ...)
{
	tpa_check *c;
	va_list ap;

	if (!f || !(c = next_slot(f)))
		return;
	c->id = (unsigned)id < TPA_CHECK_COUNT ? id : TPA_CHECK_OTHER;
	snprintf(c->name, sizeof(c->name), "%s", tpa_check_name(c->id));
	c->passed = passed ? 1 : 0;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

void tpa_findings_add_named(tpa_findings *f, const char *name, int passed, const char *fmt,
			    ...)
{
	tpa_check *c;
	va_list ap;

	if (!f || !(c = next_slot(f)))
		return;
	c->id = tpa_check_id_of(name);
	snprintf(c->name, sizeof(c->name), "%s", name ? name : "?");
	c->passed = passed ? 1 : 0;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

size_t tpa_findings_failed(const tpa_findings *f)
{
	size_t i, n = 0;

	for (i = 0; f && i < f->n; i++)
		if (!f->items[i].passed)
			n++;
	return n;
}

size_t tpa_findings_failed_class(const tpa_findings *f, tpa_check_class cls)
{
	size_t i, n = 0;

	for (i = 0; f && i < f->n; i++)
		if (!f->items[i].passed && tpa_check_class_of(f->items[i].id) == cls)
			n++;
	return n;
}

const tpa_check *tpa_findings_get(const tpa_findings *f, tpa_check_id id)
{
	size_t i;

	for (i = 0; f && i < f->n; i++)
		if (f->items[i].id == id)
			return &f->items[i];
	return NULL;
}

int tpa_findings_passed(const tpa_findings *f, tpa_check_id id)
{
	const tpa_check *c = tpa_findings_get(f, id);

	return c && c->passed;
}

const tpa_check *tpa_findings_find(const tpa_findings *f, const char *name)
{
	size_t i;

	for (i = 0; f && name && i < f->n; i++)
		if (strcmp(f->items[i].name, name) == 0)
			return &f->items[i];
	return NULL;
}
