/* SPDX-License-Identifier: BSD-3-Clause */
/* The baseline format: parse and validate a baseline, and the JSON the
 * module writes (the baseline, an appraisal, quoted PCR values). A baseline
 * is untrusted input like any other: every field is checked, and an unknown
 * rule or field is an error, never an ignored line. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "baseline_int.h"
#include "tpa/err.h"
#include "tpa/timefmt.h"
#include "tpa/tpm_decode.h"

#define TPA_PATTERN_STARS_MAX 8

/* ---- the parsed form: sorted sets for lookups ---- */

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

int baseline__eset_has(const eset *s, uint32_t pcr, uint32_t type, const uint8_t *d, size_t ds)
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
	eset_free(&b->signers);
	free(b->kcmd);
	for (i = 0; i < b->nallow; i++) {
		eset_free(&b->allow[i].apps);
		eset_free(&b->allow[i].loader);
	}
	free(b->allow);
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
			if (!json_is_string(t) ||
			    baseline__type_parse(&type, json_string_value(t)) < 0)
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

/* An optional printable-ASCII string of 1..max bytes. */
static int text_field(const vctx *c, const char *path, json_t *e, const char *key, size_t max,
		      const char **out)
{
	json_t *v = json_object_get(e, key);
	const char *s;
	char p[300];

	*out = "";
	if (!v)
		return 0;
	snprintf(p, sizeof(p), "%s.%s", path, key);
	if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > max)
		return bad(c, p, "must be text of 1 to %zu bytes", max);
	for (s = json_string_value(v); *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return bad(c, p, "must be printable ASCII");
	*out = json_string_value(v);
	return 0;
}

/* boot-applications.signers: [{"certificate": SHA-256 hex of the DER,
 * "subject": text for people}]. */
static int parse_signers(const vctx *c, const char *path, json_t *arr)
{
	static const char *const keys[] = { "certificate", "subject", NULL };
	const char *subject;
	size_t i;
	json_t *e, *v;
	int err;

	if (!json_is_array(arr))
		return bad(c, path, "must be a list of {\"certificate\": hex, \"subject\": text}");
	json_array_foreach(arr, i, e) {
		char p[256], pp[280];

		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (!json_is_object(e))
			return bad(c, p, "must be an object");
		if ((err = only_keys(c, p, e, keys)) < 0 ||
		    (err = text_field(c, p, e, "subject", 256, &subject)) < 0)
			return err;
		snprintf(pp, sizeof(pp), "%s.certificate", p);
		if (!json_is_string(v = json_object_get(e, "certificate")))
			return bad(c, pp, "missing: the SHA-256 of the certificate (hex)");
		if ((err = eset_add(c, &c->b->signers, pp, 0, 0, json_string_value(v), 32)) < 0)
			return err;
	}
	eset_sort(&c->b->signers);
	return 0;
}

/* boot-applications.kernel_commands: PCR 8 command texts, each naming the
 * kernel's version once as {version}. */
static int parse_kernel_commands(const vctx *c, const char *path, json_t *arr)
{
	tpa_baseline *b = c->b;
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return bad(c, path, "must be a list of command texts");
	if (json_array_size(arr) > KERNEL_COMMANDS_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "%s: %s: more than %d commands", c->src, path,
				    KERNEL_COMMANDS_MAX);
	if (!(b->kcmd = calloc(json_array_size(arr) + 1, sizeof(*b->kcmd))))
		return tpa_err_fail(TPA_ERR_NOMEM, "baseline: out of memory");
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v), *at;
		char p[256];

		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 512)
			return bad(c, p, "must be text of 1 to 512 bytes");
		for (at = s; *at; at++)
			if ((unsigned char)*at < 0x20 || (unsigned char)*at > 0x7e)
				return bad(c, p, "must be printable ASCII");
		if (!(at = strstr(s, KERNEL_VERSION_TOKEN)) ||
		    strstr(at + strlen(KERNEL_VERSION_TOKEN), KERNEL_VERSION_TOKEN))
			return bad(c, p, "must name the kernel's version exactly once, as "
				   KERNEL_VERSION_TOKEN);
		if (++b->entries > TPA_BASELINE_ENTRIES_MAX)
			return tpa_err_fail(TPA_ERR_LIMIT, "%s: more than %d entries", c->src,
					    TPA_BASELINE_ENTRIES_MAX);
		b->kcmd[b->nkcmd++] = s;
	}
	return 0;
}

/* boot-applications.unpinned_pcrs: of 8, 9 and 11, those whose boot loader
 * events are not judged by digest; only beside signers. */
static int parse_unpinned(const vctx *c, const char *path, json_t *arr)
{
	size_t i;
	json_t *v;
	int err;

	if (!json_is_array(arr))
		return bad(c, path, "must be a list of PCR numbers");
	json_array_foreach(arr, i, v) {
		char p[256];
		uint32_t pcr;

		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if ((err = get_pcr(c, p, v, &pcr)) < 0)
			return err;
		if (pcr != 8 && pcr != 9 && pcr != 11)
			return bad(c, p, "PCR %u holds no boot loader events (8, 9 or 11)", pcr);
		c->b->unpinned |= (tpa_pcr_mask)1 << pcr;
	}
	return 0;
}

/* boot-applications.allowances: what baseline allow added, each with the
 * kind of image, where it came from, when it expires, and its digests. */
static int parse_allowances(const vctx *c, const char *path, json_t *arr)
{
	static const char *const k[] = { "kind", "source", "added", "expires", "note",
					 "applications", "boot_loader", NULL };
	static const char *const kinds[] = { "kernel", "shim", "grub", "app", "initrd", NULL };
	static const char *const ak[] = { "digest", "path", NULL };
	static const char *const lk[] = { "pcr", "digest", "text", NULL };
	tpa_baseline *b = c->b;
	json_t *e, *v;
	size_t i, x;
	int err;

	if (!json_is_array(arr))
		return bad(c, path, "must be a list of allowances");
	if (json_array_size(arr) > ALLOWANCES_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "%s: %s: more than %d allowances", c->src, path,
				    ALLOWANCES_MAX);
	if (!(b->allow = calloc(json_array_size(arr) + 1, sizeof(*b->allow))))
		return tpa_err_fail(TPA_ERR_NOMEM, "baseline: out of memory");
	json_array_foreach(arr, i, e) {
		allowance *a = &b->allow[b->nallow];
		const char *t;
		int64_t when;
		char p[256], pp[300];

		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if ((err = only_keys(c, p, e, k)) < 0)
			return err;
		b->nallow++;
		if ((err = text_field(c, p, e, "kind", 16, &a->kind)) < 0)
			return err;
		for (x = 0; kinds[x] && strcmp(kinds[x], a->kind); x++)
			;
		snprintf(pp, sizeof(pp), "%s.kind", p);
		if (!kinds[x])
			return bad(c, pp, "must be kernel, shim, grub, app or initrd");
		if ((err = text_field(c, p, e, "source", 1024, &a->source)) < 0 ||
		    (err = text_field(c, p, e, "note", 1024, &t)) < 0 ||
		    (err = text_field(c, p, e, "added", 64, &t)) < 0)
			return err;
		if (*t && tpa_time_parse_iso(&when, t) < 0) {
			snprintf(pp, sizeof(pp), "%s.added", p);
			return bad(c, pp, "not an ISO 8601 time (2026-12-02T12:00:00Z)");
		}
		/* Every allowance ends: no "until further notice". */
		v = json_object_get(e, "expires");
		snprintf(pp, sizeof(pp), "%s.expires", p);
		if (!v)
			return bad(c, pp, "missing: every allowance has an expiry");
		if ((err = text_field(c, p, e, "expires", 64, &t)) < 0)
			return err;
		if (tpa_time_parse_iso(&a->expires, t) < 0)
			return bad(c, pp, "not an ISO 8601 time (2026-12-02T12:00:00Z)");
		snprintf(pp, sizeof(pp), "%s.applications", p);
		if ((v = json_object_get(e, "applications")) &&
		    (err = entry_list(c, &a->apps, pp, v, ak, 0, NULL)) < 0)
			return err;
		snprintf(pp, sizeof(pp), "%s.boot_loader", p);
		if ((v = json_object_get(e, "boot_loader")) &&
		    (err = entry_list(c, &a->loader, pp, v, lk, 1, NULL)) < 0)
			return err;
		if (!a->apps.n && !a->loader.n) {
			snprintf(pp, sizeof(pp), "%s", p);
			return bad(c, pp, "allows nothing: no applications or boot_loader entries");
		}
		for (x = 0; x < a->loader.n; x++)
			b->entry_pcrs |= (tpa_pcr_mask)1 << a->loader.v[x].pcr;
	}
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
	case TPA_RULE_DBX_CURRENT:
	case TPA_RULE_CA_2023:
	case TPA_RULE_NO_TEST_KEYS:
	case TPA_RULE_NO_REVOKED_COMPONENTS: {
		/* Judged against the verifier's Secure Boot reference bundle. */
		static const char *const k[] = { "severity", NULL };

		return only_keys(c, p, r, k);
	}
	case TPA_RULE_AUTHORITIES: {
		static const char *const k[] = { "severity", "certificates", NULL };

		if ((err = only_keys(c, p, r, k)) < 0)
			return err;
		snprintf(pp, sizeof(pp), "%s.certificates", p);
		return digest_list(c, &b->certs[id], pp, json_object_get(r, "certificates"), 32);
	}
	case TPA_RULE_BOOT_APPLICATIONS: {
		static const char *const k[] = { "severity", "applications", "boot_loader",
						 "allowances", "signers", "unpinned_pcrs",
						 "kernel_commands", NULL };
		static const char *const ak[] = { "digest", "path", NULL };
		static const char *const lk[] = { "pcr", "digest", "text", NULL };
		json_t *al, *v;

		if ((err = only_keys(c, p, r, k)) < 0)
			return err;
		snprintf(pp, sizeof(pp), "%s.applications", p);
		if ((err = entry_list(c, &b->apps, pp, json_object_get(r, "applications"), ak, 0,
				      NULL)) < 0)
			return err;
		snprintf(pp, sizeof(pp), "%s.boot_loader", p);
		if ((err = entry_list(c, &b->loader, pp, json_object_get(r, "boot_loader"), lk, 1,
				      NULL)) < 0)
			return err;
		snprintf(pp, sizeof(pp), "%s.signers", p);
		if ((v = json_object_get(r, "signers")) && (err = parse_signers(c, pp, v)) < 0)
			return err;
		snprintf(pp, sizeof(pp), "%s.kernel_commands", p);
		if ((v = json_object_get(r, "kernel_commands")) &&
		    (err = parse_kernel_commands(c, pp, v)) < 0)
			return err;
		snprintf(pp, sizeof(pp), "%s.unpinned_pcrs", p);
		if ((v = json_object_get(r, "unpinned_pcrs")) && (err = parse_unpinned(c, pp, v)) < 0)
			return err;
		/* A PCR judged by nothing would let anything boot: only a
		 * signer rule stands in for its digests. */
		if (b->unpinned && !b->signers.n)
			return bad(c, pp, "needs signers: without them nothing vouches for what "
				   "these PCRs load");
		snprintf(pp, sizeof(pp), "%s.allowances", p);
		return (al = json_object_get(r, "allowances")) ? parse_allowances(c, pp, al) : 0;
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
	b->entry_pcrs |= b->loader_pcrs | b->pcrs_mask | (b->apps.n ? 1u << 4 : 0);
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

/* ---- JSON out ---- */

json_t *baseline__hex_json(const uint8_t *d, size_t n)
{
	char h[2 * TPA_DIGEST_MAX + 1];

	tpa_hex(h, d, n);
	return json_string(h);
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
		if (r->status == TPA_RULE_FAIL) {
			json_t *fl = json_array(), *ex = json_array();
			size_t k;

			for (k = 0; k < r->nfailed; k++) {
				json_t *f = json_object();

				json_object_set_new(f, "event", r->failed[k].event >= 0 ?
						    json_integer(r->failed[k].event) : json_null());
				json_object_set_new(f, "pcr", json_integer(r->failed[k].pcr));
				json_object_set_new(f, "seen", json_string(r->failed[k].seen));
				json_array_append_new(fl, f);
			}
			for (k = 0; k < r->nexpected; k++)
				json_array_append_new(ex, json_string(r->expected[k]));
			json_object_set_new(x, "failed", fl);
			json_object_set_new(x, "expected", ex);
		}
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
			json_object_set_new(bank, key, baseline__hex_json(pb->digest[k], ds));
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
