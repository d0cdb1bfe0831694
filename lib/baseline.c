/* SPDX-License-Identifier: BSD-3-Clause */
/* Golden baselines: parse and validate, learn, merge, diff, appraise. A
 * baseline is untrusted input like any other: every field is checked, and an
 * unknown rule or field is an error, never an ignored line. */
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tpa/baseline.h"
#include "tpa/err.h"
#include "tpa/tpm_decode.h"

#define rule_names_of(id) tpa_rule_name((tpa_rule_id)(id))

const char *tpa_outcome_name(tpa_outcome o)
{
	switch (o) {
	case TPA_OUTCOME_COMPLIANT: return "compliant";
	case TPA_OUTCOME_WARNING: return "warning";
	case TPA_OUTCOME_NON_COMPLIANT: return "non-compliant";
	case TPA_OUTCOME_NO_BASELINE: return "no-baseline";
	case TPA_OUTCOME_NOT_APPRAISED: return "not-appraised";
	}
	return "unknown";
}

const char *tpa_rule_status_name(tpa_rule_status s)
{
	switch (s) {
	case TPA_RULE_PASS: return "pass";
	case TPA_RULE_FAIL: return "fail";
	case TPA_RULE_NOT_APPLICABLE: return "n/a";
	}
	return "unknown";
}

/* ---- the parsed form: sorted sets for lookups ---- */

/* An event (or PCR value) as a list holds it: PCR, type (0 where the list
 * does not care) and digest in the baseline's bank. */
typedef struct {
	uint32_t pcr;
	uint32_t type;
	uint8_t d[TPA_DIGEST_MAX];
} ekey;

typedef struct {
	ekey *v;
	size_t n;
} eset;

typedef struct {
	char *text;
	int pattern;
} cmdline_entry;

#define TPA_PATTERN_STARS_MAX 8

struct tpa_baseline {
	json_t *root;
	const char *name;            /* in root */
	uint16_t bank;
	size_t ds;
	int present[TPA_RULE_COUNT];
	tpa_severity sev[TPA_RULE_COUNT];
	int sb_required, debug_forbidden;
	eset firmware;               /* S-CRTM version event digests */
	eset certs[TPA_RULE_COUNT];  /* pk, kek, db, dbx, authorities: fingerprints */
	eset hashes[TPA_RULE_COUNT]; /* pk, kek, db, dbx: SHA-256 entries */
	eset apps;                   /* PCR 4 application digests */
	eset loader;                 /* (PCR, digest) of PCR 8/9/11 boot loader events */
	cmdline_entry *cmd;
	size_t ncmd;
	eset pcrs;                   /* (PCR, value) */
	uint32_t pcrs_mask;
	eset known;                  /* (PCR, type, digest) */
	size_t entries;
	tpa_pcr_mask required;       /* "required_pcrs", if required_set */
	int required_set;
	tpa_pcr_mask loader_pcrs;    /* PCRs of boot_loader entries */
	tpa_pcr_mask entry_pcrs;     /* PCRs any entry names */
};

static int ekey_cmp(const void *a, const void *b)
{
	const ekey *x = a, *y = b;

	if (x->pcr != y->pcr)
		return x->pcr < y->pcr ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return memcmp(x->d, y->d, sizeof(x->d));
}

static void eset_free(eset *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static void eset_sort(eset *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), ekey_cmp);
}

static int eset_has(const eset *s, uint32_t pcr, uint32_t type, const uint8_t *d, size_t ds)
{
	ekey k;

	if (!s->n)
		return 0;
	memset(&k, 0, sizeof(k));
	k.pcr = pcr;
	k.type = type;
	memcpy(k.d, d, ds);
	return bsearch(&k, s->v, s->n, sizeof(k), ekey_cmp) != NULL;
}

void tpa_baseline_free(tpa_baseline *b)
{
	size_t i;

	if (!b)
		return;
	eset_free(&b->firmware);
	for (i = 0; i < TPA_RULE_COUNT; i++) {
		eset_free(&b->certs[i]);
		eset_free(&b->hashes[i]);
	}
	eset_free(&b->apps);
	eset_free(&b->loader);
	eset_free(&b->pcrs);
	eset_free(&b->known);
	for (i = 0; i < b->ncmd; i++)
		free(b->cmd[i].text);
	free(b->cmd);
	json_decref(b->root);
	free(b);
}

const char *tpa_baseline_name(const tpa_baseline *b)
{
	return b ? b->name : "";
}

uint16_t tpa_baseline_bank(const tpa_baseline *b)
{
	return b ? b->bank : 0;
}

/* ---- validation ---- */

typedef struct {
	const char *src;
	tpa_baseline *b;
} vctx;

static int bad(const vctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad(const vctx *c, const char *path, const char *fmt, ...)
{
	char msg[240];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return tpa_err_fail(TPA_ERR_VERIFY, "%s: %s: %s", c->src, path, msg);
}

/* Only the listed keys (NULL-terminated), each of the listed types. */
static int only_keys(const vctx *c, const char *path, json_t *obj, const char *const *keys)
{
	const char *k;
	json_t *v;
	size_t i;

	if (!json_is_object(obj))
		return bad(c, path, "must be an object");
	json_object_foreach(obj, k, v) {
		for (i = 0; keys[i]; i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (!keys[i]) {
			char p[256];

			snprintf(p, sizeof(p), "%s.%s", path, k);
			return bad(c, p, "unknown field");
		}
	}
	return 0;
}

static uint16_t bank_of(const char *label)
{
	static const uint16_t algs[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384,
					 TPM2_ALG_SHA512, TPM2_ALG_SM3_256 };
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(label, tpa_hash_label(algs[i])) == 0)
			return algs[i];
	return 0;
}

static int hex_to(uint8_t *out, size_t want, const char *s)
{
	size_t i;

	if (!s || strlen(s) != 2 * want)
		return -1;
	for (i = 0; i < want; i++) {
		int hi = tpa_hex_digit(s[2 * i]), lo = tpa_hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0 || (s[2 * i] >= 'A' && s[2 * i] <= 'F') ||
		    (s[2 * i + 1] >= 'A' && s[2 * i + 1] <= 'F'))
			return -1; /* lower-case only: one spelling per digest */
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int eset_add(const vctx *c, eset *s, const char *path, uint32_t pcr, uint32_t type,
		    const char *hex, size_t ds)
{
	ekey *k;

	if (++c->b->entries > TPA_BASELINE_ENTRIES_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "%s: more than %d entries", c->src,
				    TPA_BASELINE_ENTRIES_MAX);
	if (!(k = realloc(s->v, (s->n + 1) * sizeof(*k))))
		return tpa_err_fail(TPA_ERR_NOMEM, "baseline: out of memory");
	s->v = k;
	k = &s->v[s->n];
	memset(k, 0, sizeof(*k));
	k->pcr = pcr;
	k->type = type;
	if (hex_to(k->d, ds, hex) < 0)
		return bad(c, path, "not %zu lower-case hex digits", 2 * ds);
	s->n++;
	return 0;
}

/* A list of digests (strings), each ds bytes. */
static int digest_list(const vctx *c, eset *s, const char *path, json_t *arr, size_t ds)
{
	size_t i;
	json_t *v;
	int err;

	if (!json_is_array(arr))
		return bad(c, path, "must be a list of hex digests");
	json_array_foreach(arr, i, v) {
		char p[256];

		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (!json_is_string(v))
			return bad(c, p, "must be a hex string");
		if ((err = eset_add(c, s, p, 0, 0, json_string_value(v), ds)) < 0)
			return err;
	}
	eset_sort(s);
	return 0;
}

static int get_pcr(const vctx *c, const char *path, json_t *v, uint32_t *pcr)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 23)
		return bad(c, path, "must be a PCR number 0..23");
	*pcr = (uint32_t)json_integer_value(v);
	return 0;
}

/* The event types by name, for known-events. */
static const uint32_t event_types[] = {
	TPA_EV_PREBOOT_CERT, TPA_EV_POST_CODE, TPA_EV_NO_ACTION, TPA_EV_SEPARATOR,
	TPA_EV_ACTION, TPA_EV_EVENT_TAG, TPA_EV_S_CRTM_CONTENTS, TPA_EV_S_CRTM_VERSION,
	TPA_EV_CPU_MICROCODE, TPA_EV_PLATFORM_CONFIG_FLAGS, TPA_EV_TABLE_OF_DEVICES,
	TPA_EV_COMPACT_HASH, TPA_EV_IPL, TPA_EV_IPL_PARTITION_DATA, TPA_EV_NONHOST_CODE,
	TPA_EV_NONHOST_CONFIG, TPA_EV_NONHOST_INFO, TPA_EV_OMIT_BOOT_DEVICE_EVENTS,
	TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, TPA_EV_EFI_VARIABLE_BOOT,
	TPA_EV_EFI_BOOT_SERVICES_APPLICATION, TPA_EV_EFI_BOOT_SERVICES_DRIVER,
	TPA_EV_EFI_RUNTIME_SERVICES_DRIVER, TPA_EV_EFI_GPT_EVENT, TPA_EV_EFI_ACTION,
	TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB, TPA_EV_EFI_HANDOFF_TABLES,
	TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB2, TPA_EV_EFI_HANDOFF_TABLES2,
	TPA_EV_EFI_VARIABLE_BOOT2, TPA_EV_EFI_HCRTM_EVENT, TPA_EV_EFI_VARIABLE_AUTHORITY,
	TPA_EV_EFI_SPDM_FIRMWARE_BLOB, TPA_EV_EFI_SPDM_FIRMWARE_CONFIG,
};

static void type_text(char *out, size_t cap, uint32_t type)
{
	const char *n = tpa_event_type_name(type);

	if (n)
		snprintf(out, cap, "%s", n);
	else
		snprintf(out, cap, "0x%08x", type);
}

static int type_parse(uint32_t *out, const char *s)
{
	size_t i;
	char *end;
	unsigned long v;

	for (i = 0; i < sizeof(event_types) / sizeof(event_types[0]); i++) {
		const char *n = tpa_event_type_name(event_types[i]);

		if (n && strcmp(n, s) == 0) {
			*out = event_types[i];
			return 0;
		}
	}
	if (strncmp(s, "0x", 2) != 0 || strlen(s) != 10)
		return -1;
	v = strtoul(s + 2, &end, 16);
	if (*end)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_severity(const vctx *c, const char *rule, json_t *r, tpa_rule_id id)
{
	json_t *v = json_object_get(r, "severity");
	char p[128];

	snprintf(p, sizeof(p), "rules.%s.severity", rule);
	if (!json_is_string(v))
		return bad(c, p, "missing: \"critical\" or \"warning\"");
	if (strcmp(json_string_value(v), "critical") == 0)
		c->b->sev[id] = TPA_SEVERITY_CRITICAL;
	else if (strcmp(json_string_value(v), "warning") == 0)
		c->b->sev[id] = TPA_SEVERITY_WARNING;
	else
		return bad(c, p, "must be \"critical\" or \"warning\"");
	return 0;
}

static int parse_bool(const vctx *c, const char *path, json_t *r, const char *key, int *out)
{
	json_t *v = json_object_get(r, key);

	if (!json_is_boolean(v))
		return bad(c, path, "\"%s\" must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

/* An optional list of {"digest": hex, ...} objects with the given keys. */
static int entry_list(const vctx *c, eset *s, const char *path, json_t *arr,
		      const char *const *keys, int with_pcr, const char *type_key)
{
	size_t i;
	json_t *e;
	int err;

	if (!json_is_array(arr))
		return bad(c, path, "must be a list");
	json_array_foreach(arr, i, e) {
		char p[256], pp[280];
		uint32_t pcr = 0, type = 0;
		json_t *d;

		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if ((err = only_keys(c, p, e, keys)) < 0)
			return err;
		if (with_pcr) {
			snprintf(pp, sizeof(pp), "%s.pcr", p);
			if ((err = get_pcr(c, pp, json_object_get(e, "pcr"), &pcr)) < 0)
				return err;
		}
		if (type_key) {
			json_t *t = json_object_get(e, type_key);

			snprintf(pp, sizeof(pp), "%s.%s", p, type_key);
			if (!json_is_string(t) || type_parse(&type, json_string_value(t)) < 0)
				return bad(c, pp, "must be an event type name (EV_...) or 0xXXXXXXXX");
		}
		d = json_object_get(e, "digest");
		snprintf(pp, sizeof(pp), "%s.digest", p);
		if (!json_is_string(d))
			return bad(c, pp, "missing");
		if ((err = eset_add(c, s, pp, pcr, type, json_string_value(d), c->b->ds)) < 0)
			return err;
		/* Informative text fields must at least be text. */
		{
			const char *k;
			json_t *v;

			json_object_foreach(e, k, v)
				if (strcmp(k, "digest") && strcmp(k, "pcr") && !json_is_string(v)) {
					snprintf(pp, sizeof(pp), "%s.%s", p, k);
					return bad(c, pp, "must be a string");
				}
		}
	}
	eset_sort(s);
	return 0;
}

static int parse_rule(const vctx *c, const char *name, json_t *r)
{
	tpa_baseline *b = c->b;
	char p[128], pp[200];
	int id, err;

	for (id = 0; id < TPA_RULE_COUNT; id++)
		if (strcmp(name, rule_names_of(id)) == 0)
			break;
	snprintf(p, sizeof(p), "rules.%s", name);
	if (id == TPA_RULE_REQUIRED_PCRS)
		return bad(c, p, "is not written as a rule: the top-level \"required_pcrs\" sets it");
	if (id == TPA_RULE_COUNT) {
		char known[400] = "";
		int k;

		for (k = 0; k < TPA_RULE_REQUIRED_PCRS; k++)
			snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
				 k ? ", " : "", rule_names_of(k));
		return bad(c, p, "unknown rule (known: %s)", known);
	}
	b->present[id] = 1;
	if (!json_is_object(r))
		return bad(c, p, "must be an object");
	if ((err = parse_severity(c, name, r, (tpa_rule_id)id)) < 0)
		return err;
	switch ((tpa_rule_id)id) {
	case TPA_RULE_SECURE_BOOT: {
		static const char *const k[] = { "severity", "required", NULL };

		return (err = only_keys(c, p, r, k)) < 0 ? err :
			parse_bool(c, p, r, "required", &b->sb_required);
	}
	case TPA_RULE_UEFI_DEBUG_MODE: {
		static const char *const k[] = { "severity", "forbidden", NULL };

		return (err = only_keys(c, p, r, k)) < 0 ? err :
			parse_bool(c, p, r, "forbidden", &b->debug_forbidden);
	}
	case TPA_RULE_FIRMWARE_VERSION: {
		static const char *const k[] = { "severity", "allowed", NULL };
		static const char *const ek[] = { "digest", "version", NULL };

		if ((err = only_keys(c, p, r, k)) < 0)
			return err;
		snprintf(pp, sizeof(pp), "%s.allowed", p);
		return entry_list(c, &b->firmware, pp, json_object_get(r, "allowed"), ek, 0, NULL);
	}
	case TPA_RULE_PK:
	case TPA_RULE_KEK:
	case TPA_RULE_DB:
	case TPA_RULE_DBX: {
		static const char *const k[] = { "severity", "certificates", "hashes", NULL };

		if ((err = only_keys(c, p, r, k)) < 0)
			return err;
		snprintf(pp, sizeof(pp), "%s.certificates", p);
		if ((err = digest_list(c, &b->certs[id], pp, json_object_get(r, "certificates"),
				       32)) < 0)
			return err;
		snprintf(pp, sizeof(pp), "%s.hashes", p);
		return digest_list(c, &b->hashes[id], pp, json_object_get(r, "hashes"), 32);
	}
	case TPA_RULE_AUTHORITIES: {
		static const char *const k[] = { "severity", "certificates", NULL };

		if ((err = only_keys(c, p, r, k)) < 0)
			return err;
		snprintf(pp, sizeof(pp), "%s.certificates", p);
		return digest_list(c, &b->certs[id], pp, json_object_get(r, "certificates"), 32);
	}
	case TPA_RULE_BOOT_APPLICATIONS: {
		static const char *const k[] = { "severity", "applications", "boot_loader", NULL };
		static const char *const ak[] = { "digest", "path", NULL };
		static const char *const lk[] = { "pcr", "digest", "text", NULL };

		if ((err = only_keys(c, p, r, k)) < 0)
			return err;
		snprintf(pp, sizeof(pp), "%s.applications", p);
		if ((err = entry_list(c, &b->apps, pp, json_object_get(r, "applications"), ak, 0,
				      NULL)) < 0)
			return err;
		snprintf(pp, sizeof(pp), "%s.boot_loader", p);
		return entry_list(c, &b->loader, pp, json_object_get(r, "boot_loader"), lk, 1, NULL);
	}
	case TPA_RULE_KERNEL_CMDLINE: {
		static const char *const k[] = { "severity", "allowed", NULL };
		json_t *arr, *e;
		size_t i;

		if ((err = only_keys(c, p, r, k)) < 0)
			return err;
		arr = json_object_get(r, "allowed");
		snprintf(pp, sizeof(pp), "%s.allowed", p);
		if (!json_is_array(arr))
			return bad(c, pp, "must be a list of {\"exact\": ...} or {\"pattern\": ...}");
		if (!(b->cmd = calloc(json_array_size(arr) + 1, sizeof(*b->cmd))))
			return tpa_err_fail(TPA_ERR_NOMEM, "baseline: out of memory");
		json_array_foreach(arr, i, e) {
			json_t *ex = json_object_get(e, "exact"), *pt = json_object_get(e, "pattern");
			json_t *t = ex ? ex : pt;
			char ep[240];

			snprintf(ep, sizeof(ep), "%s[%zu]", pp, i);
			if (!json_is_object(e) || json_object_size(e) != 1 || !json_is_string(t))
				return bad(c, ep, "must be {\"exact\": TEXT} or {\"pattern\": GLOB}");
			if (json_string_length(t) > TPA_KERNEL_PARAMS_MAX)
				return bad(c, ep, "longer than %d bytes", TPA_KERNEL_PARAMS_MAX);
			/* fnmatch backtracks: many '*' against a long command
			 * line could take forever; a few are all a policy needs. */
			if (pt) {
				const char *q = json_string_value(t);
				int stars = 0;

				for (; *q; q++)
					stars += *q == '*';
				if (stars > TPA_PATTERN_STARS_MAX)
					return bad(c, ep, "more than %d '*' in a pattern",
						   TPA_PATTERN_STARS_MAX);
			}
			if (++b->entries > TPA_BASELINE_ENTRIES_MAX)
				return tpa_err_fail(TPA_ERR_LIMIT, "%s: more than %d entries", c->src,
						    TPA_BASELINE_ENTRIES_MAX);
			if (!(b->cmd[b->ncmd].text = strdup(json_string_value(t))))
				return tpa_err_fail(TPA_ERR_NOMEM, "baseline: out of memory");
			b->cmd[b->ncmd++].pattern = pt != NULL;
		}
		return 0;
	}
	case TPA_RULE_PCRS: {
		static const char *const k[] = { "severity", "values", NULL };
		json_t *vals, *arr;
		const char *key;

		if ((err = only_keys(c, p, r, k)) < 0)
			return err;
		vals = json_object_get(r, "values");
		snprintf(pp, sizeof(pp), "%s.values", p);
		if (!json_is_object(vals))
			return bad(c, pp, "must map PCR numbers to lists of values");
		json_object_foreach(vals, key, arr) {
			char vp[260], *end;
			unsigned long pcr = strtoul(key, &end, 10);
			size_t i;
			json_t *v;

			snprintf(vp, sizeof(vp), "%s.%s", pp, key);
			if (!*key || *end || pcr > 23 || (key[0] == '0' && key[1]))
				return bad(c, vp, "not a PCR number 0..23");
			if (!json_is_array(arr) || json_array_size(arr) == 0)
				return bad(c, vp, "must be a non-empty list of values");
			json_array_foreach(arr, i, v) {
				char ip[300];

				snprintf(ip, sizeof(ip), "%.260s[%zu]", vp, i);
				if (!json_is_string(v))
					return bad(c, ip, "must be a hex string");
				if ((err = eset_add(c, &b->pcrs, ip, (uint32_t)pcr, 0,
						    json_string_value(v), b->ds)) < 0)
					return err;
			}
			b->pcrs_mask |= 1u << pcr;
		}
		eset_sort(&b->pcrs);
		return 0;
	}
	case TPA_RULE_KNOWN_EVENTS: {
		static const char *const k[] = { "severity", "events", NULL };
		static const char *const ek[] = { "pcr", "type", "digest", "note", NULL };

		if ((err = only_keys(c, p, r, k)) < 0)
			return err;
		snprintf(pp, sizeof(pp), "%s.events", p);
		return entry_list(c, &b->known, pp, json_object_get(r, "events"), ek, 1, "type");
	}
	case TPA_RULE_REQUIRED_PCRS:
	case TPA_RULE_COUNT:
		break;
	}
	return bad(c, p, "unknown rule");
}

static int validate(tpa_baseline *b, const char *src)
{
	static const char *const top[] = { "tpa_baseline", "name", "description", "bank",
					   "required_pcrs", "rules", NULL };
	vctx c = { src, b };
	json_t *v, *rules, *r;
	const char *k, *name;
	size_t i;
	int err;

	if ((err = only_keys(&c, "(top)", b->root, top)) < 0)
		return err;
	v = json_object_get(b->root, "tpa_baseline");
	if (!json_is_integer(v))
		return bad(&c, "tpa_baseline", "missing: the format version (%d)", TPA_BASELINE_FORMAT);
	if (json_integer_value(v) != TPA_BASELINE_FORMAT)
		return bad(&c, "tpa_baseline", "format %lld is not %d (this verifier's)",
			   (long long)json_integer_value(v), TPA_BASELINE_FORMAT);
	v = json_object_get(b->root, "name");
	if (!json_is_string(v))
		return bad(&c, "name", "missing");
	name = json_string_value(v);
	if (!*name || strlen(name) > 64)
		return bad(&c, "name", "must be 1..64 characters");
	for (i = 0; name[i]; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '-' || name[i] == '_' ||
		      name[i] == '.'))
			return bad(&c, "name", "only letters, digits, '-', '_' and '.'");
	b->name = name;
	v = json_object_get(b->root, "description");
	if (v && !json_is_string(v))
		return bad(&c, "description", "must be a string");
	v = json_object_get(b->root, "bank");
	if (!json_is_string(v) || !(b->bank = bank_of(json_string_value(v))) ||
	    !(b->ds = tpa_hash_size(b->bank)))
		return bad(&c, "bank", "must be sha1, sha256, sha384, sha512 or sm3_256");
	if ((v = json_object_get(b->root, "required_pcrs"))) {
		/* An empty list requires nothing: a baseline that judges no
		 * property of the boot (transport tests). */
		if (!json_is_array(v))
			return bad(&c, "required_pcrs", "must be a list of PCR numbers");
		json_array_foreach(v, i, r) {
			char p[48];
			uint32_t pcr;

			snprintf(p, sizeof(p), "required_pcrs[%zu]", i);
			if ((err = get_pcr(&c, p, r, &pcr)) < 0)
				return err;
			if ((b->required >> pcr) & 1)
				return bad(&c, p, "PCR %u is listed twice", pcr);
			b->required |= (tpa_pcr_mask)1 << pcr;
		}
		b->required_set = 1;
	}
	rules = json_object_get(b->root, "rules");
	if (!json_is_object(rules))
		return bad(&c, "rules", "missing: an object of named rules");
	json_object_foreach(rules, k, r)
		if ((err = parse_rule(&c, k, r)) < 0)
			return err;
	for (i = 0; i < b->loader.n; i++)
		b->loader_pcrs |= (tpa_pcr_mask)1 << b->loader.v[i].pcr;
	b->entry_pcrs = b->loader_pcrs | b->pcrs_mask | (b->apps.n ? 1u << 4 : 0);
	for (i = 0; i < b->known.n; i++)
		b->entry_pcrs |= (tpa_pcr_mask)1 << b->known.v[i].pcr;
	/* The rule is always there: derived from required_pcrs, or by default. */
	b->present[TPA_RULE_REQUIRED_PCRS] = 1;
	b->sev[TPA_RULE_REQUIRED_PCRS] = TPA_SEVERITY_CRITICAL;
	return 0;
}

int tpa_baseline_parse(tpa_baseline **out, const char *json, size_t n, const char *source)
{
	tpa_baseline *b;
	json_error_t je;
	int err;

	if (!out || !json)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "baseline: NULL");
	*out = NULL;
	if (!source)
		source = "baseline";
	if (n > TPA_BASELINE_MAX_BYTES)
		return tpa_err_fail(TPA_ERR_LIMIT, "%s: larger than %d bytes", source,
				    TPA_BASELINE_MAX_BYTES);
	if (!(b = calloc(1, sizeof(*b))))
		return tpa_err_fail(TPA_ERR_NOMEM, "baseline: out of memory");
	if (!(b->root = json_loadb(json, n, JSON_REJECT_DUPLICATES, &je))) {
		tpa_baseline_free(b);
		return tpa_err_fail(TPA_ERR_PARSE, "%s: line %d column %d: %s", source, je.line,
				    je.column, je.text);
	}
	if ((err = validate(b, source)) < 0) {
		tpa_baseline_free(b);
		return err;
	}
	*out = b;
	return 0;
}

int tpa_baseline_load_file(tpa_baseline **out, const char *path)
{
	FILE *f;
	char *buf;
	size_t n = 0;
	int err;

	if (!out || !path)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "baseline: NULL");
	if (!(f = fopen(path, "rb")))
		return tpa_err_fail(TPA_ERR_IO, "%s: cannot be read", path);
	if (!(buf = malloc(TPA_BASELINE_MAX_BYTES + 1))) {
		fclose(f);
		return tpa_err_fail(TPA_ERR_NOMEM, "baseline: out of memory");
	}
	n = fread(buf, 1, TPA_BASELINE_MAX_BYTES + 1, f);
	err = ferror(f);
	fclose(f);
	if (err) {
		free(buf);
		return tpa_err_fail(TPA_ERR_IO, "%s: read error", path);
	}
	err = tpa_baseline_parse(out, buf, n, path);
	free(buf);
	return err;
}

char *tpa_baseline_to_json(const tpa_baseline *b)
{
	return b ? json_dumps(b->root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
}

/* ---- events: which rule judges each (events.h has the table) ---- */

/* PCRs of the boot chain that a learned baseline requires when the boot
 * used them. */
#define BOOT_CHAIN_PCRS TPA_BOOT_CHAIN_PCRS
#define FIRMWARE_PCRS ((tpa_pcr_mask)0xFFu)

static tpa_pcr_mask log_pcrs(const tpa_eventlog *log)
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
	return FIRMWARE_PCRS | b->entry_pcrs | (log ? log_pcrs(log) & BOOT_CHAIN_PCRS : 0);
}

/* ---- learn ---- */

static json_t *hex_str(const uint8_t *d, size_t n)
{
	char h[2 * TPA_DIGEST_MAX + 1];

	tpa_hex(h, d, n);
	return json_string(h);
}

static int sigdb_json(json_t *rule, const tpa_efi_sigdb *db, int with_hashes)
{
	json_t *certs = json_array(), *hashes = json_array();
	size_t i;

	for (i = 0; i < db->ncerts; i++) {
		uint8_t fp[32];

		if (tpa_efi_cert_sha256(fp, &db->certs[i]) < 0) {
			json_decref(certs);
			json_decref(hashes);
			return -1;
		}
		json_array_append_new(certs, hex_str(fp, 32));
	}
	for (i = 0; with_hashes && i < db->nhashes; i++)
		json_array_append_new(hashes, hex_str(db->hashes[i], 32));
	json_object_set_new(rule, "certificates", certs);
	if (with_hashes)
		json_object_set_new(rule, "hashes", hashes);
	else
		json_decref(hashes);
	return 0;
}

static json_t *new_rule(json_t *rules, tpa_rule_id id, tpa_severity sev)
{
	json_t *r = json_object();

	json_object_set_new(r, "severity",
			    json_string(sev == TPA_SEVERITY_CRITICAL ? "critical" : "warning"));
	json_object_set_new(rules, rule_names_of(id), r);
	return r;
}

/* Appends v to arr unless an equal value is there already. */
static void append_unique(json_t *arr, json_t *v)
{
	size_t i;
	json_t *x;

	json_array_foreach(arr, i, x)
		if (json_equal(x, v)) {
			json_decref(v);
			return;
		}
	json_array_append_new(arr, v);
}

static const tpa_boot_app *app_of(const tpa_bootstate *st, uint32_t event)
{
	size_t i;

	for (i = 0; st && i < st->napps; i++)
		if (st->apps[i].event == event)
			return &st->apps[i];
	return NULL;
}

static json_t *pcr_list(tpa_pcr_mask m)
{
	json_t *a = json_array();
	uint32_t p;

	for (p = 0; p < TPA_PCR_COUNT; p++)
		if ((m >> p) & 1)
			json_array_append_new(a, json_integer(p));
	return a;
}

int tpa_baseline_learn(tpa_baseline **out, const tpa_boot *ev, const char *name)
{
	const tpa_bootstate *st = ev ? &ev->state : NULL;
	json_t *root, *rules, *apps, *loader, *cmd, *known, *fw;
	tpa_pcr_mask extended, uncounted;
	size_t i, n, ds;
	char *text, pcrs[64];
	int err;

	if (!out || !ev || !name)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "baseline learn: NULL");
	*out = NULL;
	if (!ev->log)
		return tpa_err_fail(TPA_ERR_VERIFY, "baseline learn: no event log to learn the boot "
				    "from");
	if (!ev->log_ok)
		return tpa_err_fail(TPA_ERR_VERIFY, "baseline learn: the boot's evidence does not "
				    "hold (see its checks): not a boot to learn from");
	if (!(ds = tpa_hash_size(ev->bank)))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "baseline learn: unknown bank 0x%04x",
				    ev->bank);
	/* Only events that count are learned, and a learned baseline requires
	 * every PCR it learned from: a log with events the quote did not vouch
	 * for is not a boot to learn. */
	extended = log_pcrs(ev->log) & ~TPA_BOOT_OS_PCRS;
	if ((uncounted = extended & ~ev->counted)) {
		tpa_pcr_mask_text(pcrs, sizeof(pcrs), uncounted);
		return tpa_err_fail(TPA_ERR_VERIFY, "baseline learn: the log extends %s PCRs %s, "
				    "which the quote does not vouch for: learn from an attestation "
				    "that quotes them", tpa_hash_label(ev->bank), pcrs);
	}
	root = json_object();
	json_object_set_new(root, "tpa_baseline", json_integer(TPA_BASELINE_FORMAT));
	json_object_set_new(root, "name", json_string(name));
	json_object_set_new(root, "description",
			    json_string("learned from one known-good boot: accepts exactly it"));
	json_object_set_new(root, "bank", json_string(tpa_hash_label(ev->bank)));
	json_object_set_new(root, "required_pcrs",
			    pcr_list(FIRMWARE_PCRS | (extended & BOOT_CHAIN_PCRS)));
	rules = json_object();
	json_object_set_new(root, "rules", rules);

	json_object_set_new(new_rule(rules, TPA_RULE_SECURE_BOOT, TPA_SEVERITY_CRITICAL),
			    "required", json_boolean(st->secure_boot == TPA_SB_ENABLED));
	json_object_set_new(new_rule(rules, TPA_RULE_UEFI_DEBUG_MODE, TPA_SEVERITY_CRITICAL),
			    "forbidden", json_boolean(!st->uefi_debug_mode));
	if ((st->pk.present &&
	     sigdb_json(new_rule(rules, TPA_RULE_PK, TPA_SEVERITY_CRITICAL), &st->pk, 1) < 0) ||
	    (st->kek.present &&
	     sigdb_json(new_rule(rules, TPA_RULE_KEK, TPA_SEVERITY_CRITICAL), &st->kek, 1) < 0) ||
	    (st->db.present &&
	     sigdb_json(new_rule(rules, TPA_RULE_DB, TPA_SEVERITY_CRITICAL), &st->db, 1) < 0) ||
	    (st->dbx.present &&
	     sigdb_json(new_rule(rules, TPA_RULE_DBX, TPA_SEVERITY_CRITICAL), &st->dbx, 1) < 0)) {
		json_decref(root);
		return tpa_err_fail(TPA_ERR_CRYPTO, "baseline learn: certificate fingerprint");
	}
	if (st->nauthorities) {
		json_t *r = new_rule(rules, TPA_RULE_AUTHORITIES, TPA_SEVERITY_CRITICAL);
		json_t *certs = json_array();

		for (i = 0; i < st->nauthorities; i++) {
			uint8_t fp[32];

			if (tpa_efi_cert_sha256(fp, &st->authorities[i]) == 0)
				append_unique(certs, hex_str(fp, 32));
		}
		json_object_set_new(r, "certificates", certs);
	}

	fw = json_array();
	apps = json_array();
	loader = json_array();
	cmd = json_array();
	known = json_array();
	n = tpa_eventlog_count(ev->log);
	for (i = 0; i < n; i++) {
		const tpa_event *e = tpa_eventlog_event(ev->log, i);
		const tpa_event_meaning *m = tpa_bootstate_meaning(st, i);
		const uint8_t *d = tpa_event_digest_in(e, ev->bank);
		char t[TPA_EVENT_TEXT_MAX], type[48];
		json_t *o;

		if (!m || m->rule < 0 || !d || e->pcr >= TPA_PCR_COUNT ||
		    !((ev->counted >> e->pcr) & 1))
			continue;
		switch (m->rule) {
		case TPA_RULE_FIRMWARE_VERSION:
			o = json_object();
			json_object_set_new(o, "digest", hex_str(d, ds));
			json_object_set_new(o, "version", json_string(st->firmware_version));
			append_unique(fw, o);
			break;
		case TPA_RULE_BOOT_APPLICATIONS:
			o = json_object();
			if (m->kind == TPA_EVK_BOOT_APPLICATION) {
				const tpa_boot_app *a = app_of(st, e->number);

				json_object_set_new(o, "digest", hex_str(d, ds));
				json_object_set_new(o, "path", json_string(a ? a->path : ""));
				append_unique(apps, o);
			} else {
				json_object_set_new(o, "pcr", json_integer(e->pcr));
				json_object_set_new(o, "digest", hex_str(d, ds));
				tpa_event_text(t, sizeof(t), e);
				json_object_set_new(o, "text", json_string(
					m->kind == TPA_EVK_UKI_SECTION ? "" : t));
				append_unique(loader, o);
			}
			break;
		case TPA_RULE_KERNEL_CMDLINE:
			/* The text is what the digest binds, or nothing. */
			if (m->data_ok != 1 || tpa_event_cmdline_params(t, e, m) < 0) {
				int mismatch = m->data_ok != 1;

				json_decref(fw);
				json_decref(apps);
				json_decref(loader);
				json_decref(cmd);
				json_decref(known);
				json_decref(root);
				if (mismatch)
					return tpa_err_fail(TPA_ERR_VERIFY, "baseline learn: event %u: "
							    "its kernel command line does not hash to "
							    "its digest: the text is not what was "
							    "measured", e->number);
				return tpa_err_fail(TPA_ERR_LIMIT, "baseline learn: event %u: a kernel "
						    "command line longer than %d bytes", e->number,
						    TPA_KERNEL_PARAMS_MAX);
			}
			o = json_object();
			json_object_set_new(o, "exact", json_string(t));
			append_unique(cmd, o);
			break;
		case TPA_RULE_KNOWN_EVENTS:
			o = json_object();
			json_object_set_new(o, "pcr", json_integer(e->pcr));
			type_text(type, sizeof(type), e->type);
			json_object_set_new(o, "type", json_string(type));
			json_object_set_new(o, "digest", hex_str(d, ds));
			append_unique(known, o);
			break;
		default:
			break; /* judged from the state */
		}
	}
	if (json_array_size(fw))
		json_object_set(new_rule(rules, TPA_RULE_FIRMWARE_VERSION, TPA_SEVERITY_WARNING),
				"allowed", fw);
	if (json_array_size(apps) || json_array_size(loader)) {
		json_t *r = new_rule(rules, TPA_RULE_BOOT_APPLICATIONS, TPA_SEVERITY_CRITICAL);

		json_object_set(r, "applications", apps);
		json_object_set(r, "boot_loader", loader);
	}
	if (json_array_size(cmd))
		json_object_set(new_rule(rules, TPA_RULE_KERNEL_CMDLINE, TPA_SEVERITY_CRITICAL),
				"allowed", cmd);
	json_decref(fw);
	json_decref(apps);
	json_decref(loader);
	json_decref(cmd);
	json_object_set_new(new_rule(rules, TPA_RULE_KNOWN_EVENTS, TPA_SEVERITY_WARNING), "events",
			    known);

	if (!(text = json_dumps(root, JSON_PRESERVE_ORDER))) {
		json_decref(root);
		return tpa_err_fail(TPA_ERR_NOMEM, "baseline learn: out of memory");
	}
	json_decref(root);
	err = tpa_baseline_parse(out, text, strlen(text), name);
	free(text);
	return err;
}

/* ---- merge and diff ---- */

static json_t *rule_of(const tpa_baseline *b, tpa_rule_id id)
{
	return json_object_get(json_object_get(b->root, "rules"), rule_names_of(id));
}

/* Items of a that are in b too (intersect) or of both (join). */
static json_t *combine(json_t *a, json_t *b, int intersect)
{
	json_t *out = json_array(), *x, *y;
	size_t i, j;

	json_array_foreach(a, i, x) {
		int in_b = 0;

		json_array_foreach(b, j, y)
			if (json_equal(x, y)) {
				in_b = 1;
				break;
			}
		if (!intersect || in_b)
			append_unique(out, json_incref(x));
	}
	if (!intersect)
		json_array_foreach(b, j, y)
			append_unique(out, json_incref(y));
	return out;
}

int tpa_baseline_merge(tpa_baseline **out, const tpa_baseline *a, const tpa_baseline *b)
{
	json_t *root, *rules;
	char *text, desc[300];
	int id, err;

	if (!out || !a || !b)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "baseline merge: NULL");
	*out = NULL;
	if (a->bank != b->bank)
		return tpa_err_fail(TPA_ERR_VERIFY, "baseline merge: %s is for %s, %s for %s",
				    a->name, tpa_hash_label(a->bank), b->name,
				    tpa_hash_label(b->bank));
	root = json_object();
	json_object_set_new(root, "tpa_baseline", json_integer(TPA_BASELINE_FORMAT));
	json_object_set_new(root, "name", json_string(a->name));
	snprintf(desc, sizeof(desc), "%s + %s: accepts what either accepts", a->name, b->name);
	json_object_set_new(root, "description", json_string(desc));
	json_object_set_new(root, "bank", json_string(tpa_hash_label(a->bank)));
	/* What either requires, the merge requires. */
	if (a->required_set || b->required_set)
		json_object_set_new(root, "required_pcrs",
				    pcr_list((a->required_set ? a->required : 0) |
					     (b->required_set ? b->required : 0)));
	rules = json_object();
	json_object_set_new(root, "rules", rules);
	for (id = 0; id < TPA_RULE_COUNT; id++) {
		json_t *ra = rule_of(a, (tpa_rule_id)id), *rb = rule_of(b, (tpa_rule_id)id), *r;
		const char *k;
		json_t *va;

		/* A rule one baseline lacks judges nothing there: the merge
		 * cannot judge with it either. */
		if (!ra || !rb)
			continue;
		r = new_rule(rules, (tpa_rule_id)id,
			     a->sev[id] == TPA_SEVERITY_CRITICAL || b->sev[id] == TPA_SEVERITY_CRITICAL ?
			     TPA_SEVERITY_CRITICAL : TPA_SEVERITY_WARNING);
		if (id == TPA_RULE_SECURE_BOOT) {
			json_object_set_new(r, "required", json_boolean(a->sb_required && b->sb_required));
			continue;
		}
		if (id == TPA_RULE_UEFI_DEBUG_MODE) {
			json_object_set_new(r, "forbidden",
					    json_boolean(a->debug_forbidden && b->debug_forbidden));
			continue;
		}
		if (id == TPA_RULE_PCRS) {
			json_t *vals = json_object(), *vb = json_object_get(rb, "values");

			json_object_foreach(json_object_get(ra, "values"), k, va) {
				json_t *other = json_object_get(vb, k);

				if (other)
					json_object_set_new(vals, k, combine(va, other, 0));
			}
			json_object_set_new(r, "values", vals);
			continue;
		}
		json_object_foreach(ra, k, va) {
			json_t *vb = json_object_get(rb, k);

			if (strcmp(k, "severity") == 0 || !json_is_array(va))
				continue;
			json_t *none = json_array();

			json_object_set_new(r, k, combine(va, vb ? vb : none, id == TPA_RULE_DBX));
			json_decref(none);
		}
	}
	if (!(text = json_dumps(root, JSON_PRESERVE_ORDER))) {
		json_decref(root);
		return tpa_err_fail(TPA_ERR_NOMEM, "baseline merge: out of memory");
	}
	json_decref(root);
	err = tpa_baseline_parse(out, text, strlen(text), "merged baseline");
	free(text);
	return err;
}

typedef struct {
	char *s;
	size_t len, cap;
	int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = 1;
		return;
	}
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = (b->len + (size_t)n + 1) * 2;
		char *p = realloc(b->s, cap);

		if (!p) {
			b->oom = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void diff_items(sbuf *o, const char *path, json_t *a, json_t *b)
{
	json_t *x, *y;
	size_t i, j;

	json_array_foreach(a, i, x) {
		int found = 0;

		json_array_foreach(b, j, y)
			if (json_equal(x, y)) {
				found = 1;
				break;
			}
		if (!found) {
			char *t = json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);

			sb_printf(o, "- %s: %s\n", path, t ? t : "?");
			free(t);
		}
	}
	json_array_foreach(b, j, y) {
		int found = 0;

		json_array_foreach(a, i, x)
			if (json_equal(x, y)) {
				found = 1;
				break;
			}
		if (!found) {
			char *t = json_dumps(y, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);

			sb_printf(o, "+ %s: %s\n", path, t ? t : "?");
			free(t);
		}
	}
}

static void diff_values(sbuf *o, const char *path, json_t *a, json_t *b)
{
	char p[300];

	if (json_is_array(a) && json_is_array(b)) {
		diff_items(o, path, a, b);
	} else if (json_is_object(a) && json_is_object(b)) {
		const char *k;
		json_t *v;

		json_object_foreach(a, k, v) {
			snprintf(p, sizeof(p), "%s.%s", path, k);
			diff_values(o, p, v, json_object_get(b, k));
		}
		json_object_foreach(b, k, v)
			if (!json_object_get(a, k)) {
				snprintf(p, sizeof(p), "%s.%s", path, k);
				diff_values(o, p, NULL, v);
			}
	} else if (!json_equal(a, b)) {
		char *ta = a ? json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		char *tb = b ? json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

		if (!a)
			sb_printf(o, "+ %s: %s\n", path, tb ? tb : "?");
		else if (!b)
			sb_printf(o, "- %s: %s\n", path, ta ? ta : "?");
		else
			sb_printf(o, "~ %s: %s -> %s\n", path, ta ? ta : "?", tb ? tb : "?");
		free(ta);
		free(tb);
	}
}

int tpa_baseline_diff(char **out, const tpa_baseline *a, const tpa_baseline *b)
{
	sbuf o = { 0 };
	int id;

	if (!out || !a || !b)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "baseline diff: NULL");
	sb_printf(&o, "%s", "");
	if (a->bank != b->bank)
		sb_printf(&o, "~ bank: %s -> %s\n", tpa_hash_label(a->bank), tpa_hash_label(b->bank));
	if (strcmp(a->name, b->name) != 0)
		sb_printf(&o, "~ name: %s -> %s\n", a->name, b->name);
	if (a->required_set != b->required_set || a->required != b->required) {
		char ta[64] = "(default)", tb[64] = "(default)";

		if (a->required_set)
			tpa_pcr_mask_text(ta, sizeof(ta), a->required);
		if (b->required_set)
			tpa_pcr_mask_text(tb, sizeof(tb), b->required);
		sb_printf(&o, "~ required_pcrs: %s -> %s\n", ta, tb);
	}
	for (id = 0; id < TPA_RULE_COUNT; id++) {
		json_t *ra = rule_of(a, (tpa_rule_id)id), *rb = rule_of(b, (tpa_rule_id)id);

		if (!ra && rb)
			sb_printf(&o, "+ rule %s\n", rule_names_of(id));
		else if (ra && !rb)
			sb_printf(&o, "- rule %s\n", rule_names_of(id));
		else if (ra && rb)
			diff_values(&o, rule_names_of(id), ra, rb);
	}
	if (o.oom) {
		free(o.s);
		return tpa_err_fail(TPA_ERR_NOMEM, "baseline diff: out of memory");
	}
	*out = o.s;
	return 0;
}

char *tpa_baseline_summary(const tpa_baseline *b)
{
	sbuf o = { 0 };
	int id;

	if (!b)
		return NULL;
	sb_printf(&o, "baseline %s (%s)\n", b->name, tpa_hash_label(b->bank));
	for (id = 0; id < TPA_RULE_COUNT; id++) {
		const char *sev = b->sev[id] == TPA_SEVERITY_CRITICAL ? "critical" : "warning";

		if (!b->present[id]) {
			sb_printf(&o, "  %-18s not in the baseline\n", rule_names_of(id));
			continue;
		}
		sb_printf(&o, "  %-18s %-8s ", rule_names_of(id), sev);
		switch ((tpa_rule_id)id) {
		case TPA_RULE_SECURE_BOOT:
			sb_printf(&o, "%s\n", b->sb_required ? "required" : "not required");
			break;
		case TPA_RULE_UEFI_DEBUG_MODE:
			sb_printf(&o, "%s\n", b->debug_forbidden ? "forbidden" : "allowed");
			break;
		case TPA_RULE_FIRMWARE_VERSION:
			sb_printf(&o, "%zu allowed S-CRTM version(s)\n", b->firmware.n);
			break;
		case TPA_RULE_PK:
		case TPA_RULE_KEK:
		case TPA_RULE_DB:
			sb_printf(&o, "%zu certificate(s), %zu hash(es) allowed\n", b->certs[id].n,
				  b->hashes[id].n);
			break;
		case TPA_RULE_DBX:
			sb_printf(&o, "must list %zu certificate(s), %zu hash(es)\n", b->certs[id].n,
				  b->hashes[id].n);
			break;
		case TPA_RULE_AUTHORITIES:
			sb_printf(&o, "%zu allowed certificate(s)\n", b->certs[id].n);
			break;
		case TPA_RULE_BOOT_APPLICATIONS:
			sb_printf(&o, "%zu application(s), %zu boot loader event(s)\n", b->apps.n,
				  b->loader.n);
			break;
		case TPA_RULE_KERNEL_CMDLINE:
			sb_printf(&o, "%zu allowed command line(s)\n", b->ncmd);
			break;
		case TPA_RULE_PCRS:
			sb_printf(&o, "%zu value(s) of fixed PCRs\n", b->pcrs.n);
			break;
		case TPA_RULE_KNOWN_EVENTS:
			sb_printf(&o, "%zu known event(s)\n", b->known.n);
			break;
		case TPA_RULE_REQUIRED_PCRS: {
			char m[64];

			tpa_pcr_mask_text(m, sizeof(m), b->required);
			if (b->required_set)
				sb_printf(&o, "%s PCRs %s\n", tpa_hash_label(b->bank), m);
			else
				sb_printf(&o, "%s PCRs 0-7, the boot chain's in the log and those "
					  "the rules name (no required_pcrs)\n",
					  tpa_hash_label(b->bank));
			break;
		}
		case TPA_RULE_COUNT:
			break;
		}
	}
	if (o.oom) {
		free(o.s);
		return NULL;
	}
	return o.s;
}

/* ---- appraisal ---- */

typedef struct {
	uint8_t (*slot)[32];
	uint8_t *used;
	size_t cap;                      /* a power of two, at least twice the entries */
} dset;

typedef struct {
	tpa_appraisal *a;
	uint32_t extra[TPA_RULE_COUNT];  /* failures beyond the first */
	dset dbx;                        /* the measured dbx's SHA-256 entries */
} judge;

static void fail_rule(judge *j, tpa_rule_id id, int32_t event, int32_t pcr, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void fail_rule(judge *j, tpa_rule_id id, int32_t event, int32_t pcr, const char *fmt, ...)
{
	tpa_rule_result *r = &j->a->rules[id];
	va_list ap;

	if (r->status == TPA_RULE_FAIL) {
		j->extra[id]++;
		return;
	}
	r->status = TPA_RULE_FAIL;
	r->event = event;
	r->pcr = pcr;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

/* Counts a further failure of a rule that already failed, without the cost
 * of describing it: 1 if so. */
static int failed_again(judge *j, tpa_rule_id id)
{
	if (j->a->rules[id].status != TPA_RULE_FAIL)
		return 0;
	j->extra[id]++;
	return 1;
}

static void short_hex(char *out, const uint8_t *d, size_t n)
{
	char h[2 * TPA_DIGEST_MAX + 1];

	tpa_hex(h, d, n);
	snprintf(out, 24, "%.16s...", h);
}

static int hset_has(const eset *s, const uint8_t *d)
{
	return eset_has(s, 0, 0, d, 32);
}

/* The measured dbx's SHA-256 entries in a hash set: a real dbx lists
 * hundreds, and digests are uniform, so their first bytes index well. */
static uint64_t digest_key(const uint8_t *d)
{
	uint64_t v;

	memcpy(&v, d, sizeof(v));
	return v;
}

static size_t dset_slot(const dset *h, const uint8_t *d)
{
	size_t i = (size_t)(digest_key(d) & (h->cap - 1));

	while (h->used[i] && memcmp(h->slot[i], d, 32) != 0)
		i = (i + 1) & (h->cap - 1);
	return i;
}

static int dset_build(dset *h, const tpa_bootstate *st)
{
	size_t i, k;

	memset(h, 0, sizeof(*h));
	if (!st->dbx.nhashes)
		return 0;
	for (h->cap = 16; h->cap < 2 * st->dbx.nhashes; h->cap *= 2)
		;
	if (!(h->slot = malloc(h->cap * sizeof(*h->slot))) || !(h->used = calloc(h->cap, 1))) {
		free(h->slot);
		return tpa_err_fail(TPA_ERR_NOMEM, "appraise: out of memory");
	}
	for (i = 0; i < st->dbx.nhashes; i++) {
		k = dset_slot(h, st->dbx.hashes[i]);
		memcpy(h->slot[k], st->dbx.hashes[i], 32);
		h->used[k] = 1;
	}
	return 0;
}

static int dset_has(const dset *h, const uint8_t *d)
{
	return h->cap && h->used[dset_slot(h, d)];
}

/* PK, KEK, db: nothing outside the allowed certificates and hashes; dbx:
 * at least the required ones. */
static void judge_sigdb(judge *j, const tpa_baseline *b, tpa_rule_id id, const tpa_efi_sigdb *db)
{
	const char *name = rule_names_of(id);
	char h[24];
	size_t i;

	if (!db->present) {
		fail_rule(j, id, -1, 7, "%s was not measured in PCR 7", name);
		return;
	}
	if (id == TPA_RULE_DBX) {
		size_t missing = 0;

		for (i = 0; i < b->hashes[id].n; i++)
			if (!dset_has(&j->dbx, b->hashes[id].v[i].d) && missing++ == 0)
				short_hex(h, b->hashes[id].v[i].d, 32);
		for (i = 0; i < b->certs[id].n; i++) {
			size_t k;
			int found = 0;

			for (k = 0; k < db->ncerts && !found; k++) {
				uint8_t fp[32];

				found = tpa_efi_cert_sha256(fp, &db->certs[k]) == 0 &&
					memcmp(fp, b->certs[id].v[i].d, 32) == 0;
			}
			if (!found && missing++ == 0)
				short_hex(h, b->certs[id].v[i].d, 32);
		}
		if (missing)
			fail_rule(j, id, -1, 7, "dbx lacks %zu required entr%s (first %s): an "
				  "update that revokes them is not installed", missing,
				  missing == 1 ? "y" : "ies", h);
		return;
	}
	for (i = 0; i < db->ncerts; i++) {
		uint8_t fp[32];

		if (tpa_efi_cert_sha256(fp, &db->certs[i]) < 0 || !hset_has(&b->certs[id], fp)) {
			char cn[80];

			if (failed_again(j, id))
				continue;
			tpa_efi_cert_subject(cn, sizeof(cn), &db->certs[i]);
			short_hex(h, fp, 32);
			fail_rule(j, id, -1, 7, "%s holds a certificate not in the baseline: %s (%s)",
				  name, h, cn[0] ? cn : "no CN");
		}
	}
	for (i = 0; i < db->nhashes; i++)
		if (!hset_has(&b->hashes[id], db->hashes[i])) {
			short_hex(h, db->hashes[i], 32);
			fail_rule(j, id, -1, 7, "%s holds a hash not in the baseline: %s", name, h);
		}
}

void tpa_appraisal_none(tpa_appraisal *out)
{
	int id;

	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	out->outcome = TPA_OUTCOME_NO_BASELINE;
	for (id = 0; id < TPA_RULE_COUNT; id++) {
		out->rules[id].rule = (tpa_rule_id)id;
		out->rules[id].status = TPA_RULE_NOT_APPLICABLE;
		out->rules[id].event = out->rules[id].pcr = -1;
		snprintf(out->rules[id].detail, sizeof(out->rules[id].detail),
			 "no baseline applies to this device");
	}
}

static const char *const pass_text[TPA_RULE_COUNT] = {
	"Secure Boot is enabled",
	"no UEFI debug mode",
	"the S-CRTM version is an allowed one",
	"PK holds only allowed entries",
	"KEK holds only allowed entries",
	"db holds only allowed entries",
	"dbx lists every required entry",
	"every image was verified by an allowed certificate",
	"every application and boot loader event is in the baseline",
	"every kernel command line is allowed",
	"every fixed PCR has an allowed value",
	"every other event is in the baseline",
	"the quote covers every PCR the baseline requires",
};

/* The PCRs a rule's evidence lies on: unless they count, it has none. */
static tpa_pcr_mask rule_needs(const tpa_baseline *b, tpa_rule_id id)
{
	switch (id) {
	case TPA_RULE_SECURE_BOOT:
	case TPA_RULE_UEFI_DEBUG_MODE:
	case TPA_RULE_PK:
	case TPA_RULE_KEK:
	case TPA_RULE_DB:
	case TPA_RULE_DBX:
	case TPA_RULE_AUTHORITIES:
		return (tpa_pcr_mask)1 << 7;
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

static unsigned lowest_pcr(tpa_pcr_mask m)
{
	unsigned p = 0;

	while (p < TPA_PCR_COUNT && !((m >> p) & 1))
		p++;
	return p;
}

/* required-pcrs: the quote covers, in the baseline's bank, every PCR the
 * baseline requires. */
static void judge_required(judge *j, const tpa_baseline *b, const tpa_boot *ev)
{
	const tpa_pcr_bank *qb = tpa_pcr_set_bank(ev->quoted, b->bank);
	tpa_pcr_mask req = tpa_baseline_required_pcrs(b, ev->log);
	tpa_pcr_mask missing = req & ~tpa_pcr_bank_mask(qb);
	char rt[64], mt[64];

	tpa_pcr_mask_text(rt, sizeof(rt), req);
	if (missing) {
		tpa_pcr_mask_text(mt, sizeof(mt), missing);
		fail_rule(j, TPA_RULE_REQUIRED_PCRS, -1, (int32_t)lowest_pcr(missing),
			  "%s PCR%s %s %s not in the quote: the baseline requires %s PCRs %s",
			  tpa_hash_label(b->bank), (missing & (missing - 1)) ? "s" : "", mt,
			  (missing & (missing - 1)) ? "are" : "is", tpa_hash_label(b->bank), rt);
		return;
	}
	if (!req)
		snprintf(j->a->rules[TPA_RULE_REQUIRED_PCRS].detail, TPA_RULE_DETAIL_MAX,
			 "the baseline requires no PCR");
	else
		snprintf(j->a->rules[TPA_RULE_REQUIRED_PCRS].detail, TPA_RULE_DETAIL_MAX,
			 ev->offline ? "no quote: a quote must cover %s PCRs %s" :
			 "the quote covers %s PCRs %s", tpa_hash_label(b->bank), rt);
}

int tpa_baseline_appraise(tpa_appraisal *out, const tpa_baseline *b, const tpa_boot *ev)
{
	const tpa_bootstate *st = ev ? &ev->state : NULL;
	judge j;
	size_t i, n;
	int id, sb_on, fw_seen = 0, apps_seen = 0, cmdline_seen = 0;
	tpa_pcr_mask loader_seen = 0;
	char h[24];

	if (!out || !b || !ev)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "appraise: NULL");
	memset(out, 0, sizeof(*out));
	memset(&j, 0, sizeof(j));
	j.a = out;
	if (dset_build(&j.dbx, st) < 0)
		return TPA_ERR_NOMEM;
	for (id = 0; id < TPA_RULE_COUNT; id++) {
		tpa_rule_result *r = &out->rules[id];

		r->rule = (tpa_rule_id)id;
		r->severity = b->sev[id];
		r->event = r->pcr = -1;
		r->status = b->present[id] ? TPA_RULE_PASS : TPA_RULE_NOT_APPLICABLE;
		if (!b->present[id])
			snprintf(r->detail, sizeof(r->detail), "not in the baseline");
	}
	sb_on = st->secure_boot == TPA_SB_ENABLED;
	judge_required(&j, b, ev);

	/* Without a log, or without the baseline's bank, nothing the log shows
	 * can be judged: every such rule fails rather than passes. */
	if (!ev->log || ev->bank != b->bank) {
		for (id = 0; id < TPA_RULE_COUNT; id++)
			if (b->present[id] && id != TPA_RULE_PCRS && id != TPA_RULE_REQUIRED_PCRS)
				fail_rule(&j, (tpa_rule_id)id, -1, -1, !ev->log ?
					  "no event log: the boot cannot be judged" :
					  "the evidence is in %s, the baseline in %s",
					  tpa_hash_label(ev->bank), tpa_hash_label(b->bank));
		goto pcrs;
	}

	/* A rule whose evidence lies on a PCR that does not count has none: it
	 * fails, it never passes on silence. */
	for (id = 0; id < TPA_RULE_COUNT; id++) {
		tpa_pcr_mask gap = rule_needs(b, (tpa_rule_id)id) & ~ev->counted;

		if (b->present[id] && gap)
			fail_rule(&j, (tpa_rule_id)id, -1, (int32_t)lowest_pcr(gap),
				  "%s PCR %u is not vouched for by the quote: this rule has no "
				  "evidence", tpa_hash_label(b->bank), lowest_pcr(gap));
	}

	if (b->present[TPA_RULE_SECURE_BOOT] && b->sb_required && !sb_on)
		fail_rule(&j, TPA_RULE_SECURE_BOOT, -1, 7, "Secure Boot is %s (%s)",
			  tpa_secure_boot_name(st->secure_boot), st->secure_boot_why);
	else if (b->present[TPA_RULE_SECURE_BOOT] &&
		 out->rules[TPA_RULE_SECURE_BOOT].status != TPA_RULE_FAIL)
		snprintf(out->rules[TPA_RULE_SECURE_BOOT].detail, TPA_RULE_DETAIL_MAX, "%s%s",
			 sb_on ? "Secure Boot is enabled" : "not required: Secure Boot is ",
			 sb_on ? "" : tpa_secure_boot_name(st->secure_boot));
	if (b->present[TPA_RULE_UEFI_DEBUG_MODE] && b->debug_forbidden && st->uefi_debug_mode)
		fail_rule(&j, TPA_RULE_UEFI_DEBUG_MODE, -1, 7,
			  "the firmware ran in UEFI debug mode (a \"UEFI Debug Mode\" action in PCR 7)");
	/* The databases only decide what boots while Secure Boot enforces them. */
	for (id = TPA_RULE_PK; id <= TPA_RULE_AUTHORITIES; id++) {
		if (!b->present[id] || out->rules[id].status == TPA_RULE_FAIL)
			continue;
		if (!sb_on) {
			out->rules[id].status = TPA_RULE_NOT_APPLICABLE;
			snprintf(out->rules[id].detail, TPA_RULE_DETAIL_MAX,
				 "Secure Boot is not enabled: the databases decide nothing");
			continue;
		}
		if (id == TPA_RULE_PK)
			judge_sigdb(&j, b, (tpa_rule_id)id, &st->pk);
		else if (id == TPA_RULE_KEK)
			judge_sigdb(&j, b, (tpa_rule_id)id, &st->kek);
		else if (id == TPA_RULE_DB)
			judge_sigdb(&j, b, (tpa_rule_id)id, &st->db);
		else if (id == TPA_RULE_DBX)
			judge_sigdb(&j, b, (tpa_rule_id)id, &st->dbx);
	}
	if (b->present[TPA_RULE_AUTHORITIES] && sb_on &&
	    out->rules[TPA_RULE_AUTHORITIES].status != TPA_RULE_FAIL) {
		for (i = 0; i < st->nauthorities; i++) {
			uint8_t fp[32];

			if (tpa_efi_cert_sha256(fp, &st->authorities[i]) < 0 ||
			    !hset_has(&b->certs[TPA_RULE_AUTHORITIES], fp)) {
				char cn[80];

				if (failed_again(&j, TPA_RULE_AUTHORITIES))
					continue;
				tpa_efi_cert_subject(cn, sizeof(cn), &st->authorities[i]);
				short_hex(h, fp, 32);
				fail_rule(&j, TPA_RULE_AUTHORITIES, -1, 7,
					  "an image was verified by a certificate not in the "
					  "baseline: %s (%s)", h, cn[0] ? cn : "no CN");
			}
		}
		if (!st->nauthorities && b->certs[TPA_RULE_AUTHORITIES].n)
			fail_rule(&j, TPA_RULE_AUTHORITIES, -1, 7,
				  "no authority that verified an image was measured (the baseline "
				  "allows %zu)", b->certs[TPA_RULE_AUTHORITIES].n);
	}

	n = tpa_eventlog_count(ev->log);
	for (i = 0; i < n; i++) {
		const tpa_event *e = tpa_eventlog_event(ev->log, i);
		const tpa_event_meaning *m = tpa_bootstate_meaning(st, i);
		const uint8_t *d = tpa_event_digest_in(e, b->bank);
		int own = m ? m->rule : -1;
		int32_t num = (int32_t)e->number, pcr = (int32_t)e->pcr;

		if (own < 0 || !b->present[own] || out->rules[own].status == TPA_RULE_NOT_APPLICABLE)
			continue;
		if (e->pcr >= TPA_PCR_COUNT || !((ev->counted >> e->pcr) & 1)) {
			if (!failed_again(&j, (tpa_rule_id)own))
				fail_rule(&j, (tpa_rule_id)own, num, pcr,
					  "event %d (PCR %d): the quote does not vouch for PCR %d, "
					  "so the event is no evidence", num, pcr, pcr);
			continue;
		}
		if (!d) {
			fail_rule(&j, (tpa_rule_id)own, num, pcr, "event %d has no %s digest", num,
				  tpa_hash_label(b->bank));
			continue;
		}
		switch (own) {
		case TPA_RULE_FIRMWARE_VERSION:
			fw_seen = 1;
			if (eset_has(&b->firmware, 0, 0, d, b->ds) ||
			    failed_again(&j, TPA_RULE_FIRMWARE_VERSION))
				break;
			short_hex(h, d, b->ds);
			fail_rule(&j, TPA_RULE_FIRMWARE_VERSION, num, pcr,
				  "event %d: firmware \"%s\" (%s) is not among the %zu allowed", num,
				  st->firmware_version, h, b->firmware.n);
			break;
		case TPA_RULE_BOOT_APPLICATIONS:
			if (m->kind == TPA_EVK_BOOT_APPLICATION) {
				int allowed = eset_has(&b->apps, 0, 0, d, b->ds);
				int revoked = b->bank == TPM2_ALG_SHA256 && dset_has(&j.dbx, d);
				const tpa_boot_app *app;
				const char *path;

				apps_seen = 1;
				if (allowed && !revoked)
					break;
				app = app_of(st, e->number);
				path = app && app->path[0] ? app->path : "no path";
				short_hex(h, d, b->ds);
				/* An application is the headline over boot loader
				 * events that follow from it. */
				if (out->rules[own].status == TPA_RULE_FAIL && out->rules[own].pcr != 4) {
					out->rules[own].status = TPA_RULE_PASS;
					j.extra[own]++;
				}
				if (!allowed)
					fail_rule(&j, TPA_RULE_BOOT_APPLICATIONS, num, pcr,
						  "event %d: application %s (%s) is not among the %zu "
						  "allowed", num, path, h, b->apps.n);
				else
					fail_rule(&j, TPA_RULE_BOOT_APPLICATIONS, num, pcr,
						  "event %d: application %s (%s) is revoked: dbx lists it",
						  num, path, h);
				break;
			}
			loader_seen |= (tpa_pcr_mask)1 << e->pcr;
			if (!eset_has(&b->loader, e->pcr, 0, d, b->ds) &&
			    !failed_again(&j, TPA_RULE_BOOT_APPLICATIONS)) {
				char t[60];

				tpa_event_text(t, sizeof(t), e);
				short_hex(h, d, b->ds);
				fail_rule(&j, TPA_RULE_BOOT_APPLICATIONS, num, pcr,
					  "event %d (PCR %d): boot loader event \"%s\" (%s) is not in "
					  "the baseline", num, pcr,
					  m->kind == TPA_EVK_UKI_SECTION ? "" : t, h);
			}
			break;
		case TPA_RULE_KERNEL_CMDLINE: {
			char params[TPA_KERNEL_PARAMS_MAX + 1];
			size_t k;

			cmdline_seen = 1;
			/* Only text its digest binds is evidence (GRUB's must match
			 * or the log is refused; systemd-stub's is believed only
			 * when it matches). */
			if (m->data_ok != 1) {
				fail_rule(&j, TPA_RULE_KERNEL_CMDLINE, num, pcr,
					  "event %d (PCR %d): the kernel command line does not hash "
					  "to its digest: the text is not what was measured", num,
					  pcr);
				break;
			}
			if (tpa_event_cmdline_params(params, e, m) < 0) {
				fail_rule(&j, TPA_RULE_KERNEL_CMDLINE, num, pcr,
					  "event %d: a kernel command line longer than %d bytes is "
					  "not judged", num, TPA_KERNEL_PARAMS_MAX);
				break;
			}
			for (k = 0; k < b->ncmd; k++)
				if (b->cmd[k].pattern ? fnmatch(b->cmd[k].text, params, 0) == 0 :
				    strcmp(b->cmd[k].text, params) == 0)
					break;
			if (k == b->ncmd)
				fail_rule(&j, TPA_RULE_KERNEL_CMDLINE, num, pcr,
					  "event %d: kernel command line \"%.160s\" is not allowed", num,
					  params);
			break;
		}
		case TPA_RULE_KNOWN_EVENTS:
			if (!eset_has(&b->known, e->pcr, e->type, d, b->ds)) {
				char type[48];

				out->unknown_events++;
				if (failed_again(&j, TPA_RULE_KNOWN_EVENTS))
					break;
				short_hex(h, d, b->ds);
				type_text(type, sizeof(type), e->type);
				fail_rule(&j, TPA_RULE_KNOWN_EVENTS, num, pcr,
					  "event %d (PCR %d, %s, %s) is not in the baseline", num, pcr,
					  type, h);
			}
			break;
		default:
			break;
		}
	}
	/* Silence is no pass: what the baseline expects must be there. */
	if (b->present[TPA_RULE_FIRMWARE_VERSION] && !fw_seen && b->firmware.n)
		fail_rule(&j, TPA_RULE_FIRMWARE_VERSION, -1, 0, "no S-CRTM version was measured");
	if (b->present[TPA_RULE_BOOT_APPLICATIONS] && b->apps.n && !apps_seen)
		fail_rule(&j, TPA_RULE_BOOT_APPLICATIONS, -1, 4, "no boot application was measured "
			  "on PCR 4 (the baseline allows %zu)", b->apps.n);
	if (b->present[TPA_RULE_BOOT_APPLICATIONS] && (b->loader_pcrs & ~loader_seen))
		fail_rule(&j, TPA_RULE_BOOT_APPLICATIONS, -1,
			  (int32_t)lowest_pcr(b->loader_pcrs & ~loader_seen),
			  "no boot loader event was measured on PCR %u (the baseline lists some)",
			  lowest_pcr(b->loader_pcrs & ~loader_seen));
	if (b->present[TPA_RULE_KERNEL_CMDLINE] && b->ncmd && !cmdline_seen)
		fail_rule(&j, TPA_RULE_KERNEL_CMDLINE, -1, -1, "no kernel command line was measured "
			  "(the baseline allows %zu)", b->ncmd);

pcrs:
	if (b->present[TPA_RULE_PCRS]) {
		const tpa_pcr_bank *pb = tpa_pcr_set_bank(ev->quoted, b->bank);
		uint32_t p;

		if (ev->offline) {
			out->rules[TPA_RULE_PCRS].status = TPA_RULE_NOT_APPLICABLE;
			snprintf(out->rules[TPA_RULE_PCRS].detail, TPA_RULE_DETAIL_MAX,
				 "no quoted PCR values to judge (an event log alone)");
		} else {
			for (p = 0; p < TPA_PCR_COUNT; p++) {
				const uint8_t *v;

				if (!(b->pcrs_mask >> p & 1))
					continue;
				if (!(v = tpa_pcr_bank_value(pb, p))) {
					fail_rule(&j, TPA_RULE_PCRS, -1, (int32_t)p,
						  "PCR %u (%s) was not quoted", p, tpa_hash_label(b->bank));
				} else if (!eset_has(&b->pcrs, p, 0, v, b->ds)) {
					short_hex(h, v, b->ds);
					fail_rule(&j, TPA_RULE_PCRS, -1, (int32_t)p,
						  "PCR %u = %s is not an allowed value", p, h);
				}
			}
		}
	}

	out->outcome = TPA_OUTCOME_COMPLIANT;
	for (id = 0; id < TPA_RULE_COUNT; id++) {
		tpa_rule_result *r = &out->rules[id];

		if (r->status == TPA_RULE_PASS && !r->detail[0])
			snprintf(r->detail, sizeof(r->detail), "%s", pass_text[id]);
		if (r->status != TPA_RULE_FAIL)
			continue;
		out->failed++;
		if (j.extra[id]) {
			size_t l = strlen(r->detail);

			snprintf(r->detail + l, sizeof(r->detail) - l, " (and %u more)", j.extra[id]);
		}
		if (r->severity == TPA_SEVERITY_CRITICAL)
			out->outcome = TPA_OUTCOME_NON_COMPLIANT;
		else if (out->outcome == TPA_OUTCOME_COMPLIANT)
			out->outcome = TPA_OUTCOME_WARNING;
	}
	free(j.dbx.slot);
	free(j.dbx.used);
	return 0;
}

char *tpa_appraisal_to_json(const tpa_appraisal *a, const char *baseline, int version)
{
	json_t *o, *rules;
	char *txt;
	int id;

	if (!a)
		return NULL;
	o = json_object();
	json_object_set_new(o, "outcome", json_string(tpa_outcome_name(a->outcome)));
	json_object_set_new(o, "baseline", baseline ? json_string(baseline) : json_null());
	if (version > 0)
		json_object_set_new(o, "baseline_version", json_integer(version));
	json_object_set_new(o, "failed", json_integer(a->failed));
	json_object_set_new(o, "unknown_events", json_integer(a->unknown_events));
	rules = json_array();
	for (id = 0; id < TPA_RULE_COUNT; id++) {
		const tpa_rule_result *r = &a->rules[id];
		json_t *x = json_object();

		json_object_set_new(x, "rule", json_string(tpa_rule_name(r->rule)));
		json_object_set_new(x, "severity", json_string(r->severity == TPA_SEVERITY_CRITICAL ?
							       "critical" : "warning"));
		json_object_set_new(x, "status", json_string(tpa_rule_status_name(r->status)));
		json_object_set_new(x, "event", r->event >= 0 ? json_integer(r->event) : json_null());
		json_object_set_new(x, "pcr", r->pcr >= 0 ? json_integer(r->pcr) : json_null());
		json_object_set_new(x, "detail", json_string(r->detail));
		json_array_append_new(rules, x);
	}
	json_object_set_new(o, "rules", rules);
	txt = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return txt;
}

char *tpa_pcr_set_to_json(const tpa_pcr_set *set)
{
	json_t *o;
	char *txt;
	size_t b, k;

	if (!set)
		return NULL;
	o = json_object();
	for (b = 0; b < set->nbanks && b < TPA_BANKS_MAX; b++) {
		const tpa_pcr_bank *pb = &set->banks[b];
		size_t ds = tpa_hash_size(pb->hash_alg);
		json_t *bank = json_object();

		for (k = 0; k < pb->count && k < TPA_PCR_COUNT; k++) {
			char key[4];

			snprintf(key, sizeof(key), "%u", pb->index[k]);
			json_object_set_new(bank, key, hex_str(pb->digest[k], ds));
		}
		json_object_set_new(o, tpa_hash_label(pb->hash_alg), bank);
	}
	txt = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return txt;
}

int tpa_pcr_set_from_json(tpa_pcr_set *out, const char *text)
{
	json_t *o, *bank;
	const char *label;
	int err = 0;

	if (!out || !text)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "PCR JSON: NULL");
	memset(out, 0, sizeof(*out));
	if (!(o = json_loads(text, JSON_REJECT_DUPLICATES, NULL)) || !json_is_object(o)) {
		json_decref(o);
		return tpa_err_fail(TPA_ERR_PARSE, "PCR JSON: malformed");
	}
	json_object_foreach(o, label, bank) {
		uint16_t alg = bank_of(label);
		size_t ds = tpa_hash_size(alg);
		uint32_t p;

		if (!alg || !json_is_object(bank) || (err = tpa_pcr_set_add_bank(out, alg)) < 0) {
			err = err < 0 ? err : tpa_err_fail(TPA_ERR_PARSE, "PCR JSON: bank %s", label);
			break;
		}
		/* Ascending order, as tpa_pcr_set_add wants. */
		for (p = 0; p < 24 && !err; p++) {
			char key[4];
			json_t *v;
			uint8_t d[TPA_DIGEST_MAX];

			snprintf(key, sizeof(key), "%u", p);
			if (!(v = json_object_get(bank, key)))
				continue;
			if (!json_is_string(v) || hex_to(d, ds, json_string_value(v)) < 0)
				err = tpa_err_fail(TPA_ERR_PARSE, "PCR JSON: %s PCR %u", label, p);
			else
				err = tpa_pcr_set_add(out, p, d, ds);
		}
		if (err)
			break;
	}
	json_decref(o);
	return err < 0 ? err : 0;
}
