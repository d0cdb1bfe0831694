/* SPDX-License-Identifier: BSD-3-Clause */
/* The appraisal: a boot judged against a baseline, rule by rule. Each
 * event is judged by the rule its meaning names (events.c); a rule whose
 * evidence is missing fails, it never passes on silence. */
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "baseline_int.h"
#include "tpa/err.h"
#include "tpa/timefmt.h"
#include "tpa/tpm_decode.h"

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

typedef struct {
	uint8_t (*slot)[32];
	uint8_t *used;
	size_t cap;                      /* a power of two, at least twice the entries */
} dset;

typedef struct {
	tpa_appraisal *a;
	dset dbx;                        /* the measured dbx's SHA-256 entries */
	const uint8_t *cur;              /* the value being judged (event digest, PCR) */
	size_t ds;
	size_t cap[TPA_RULE_COUNT];      /* of each rule's failed list */
	int oom;
	int64_t now;                     /* allowances expire against it */
} judge;

/* Whether an allowance accepts digest d (an application when app, else a
 * boot loader event on pcr): 1 if one in force does; 0 if none does, with
 * *expired the one that did until it expired (NULL if none). */
static int allowed_by(const tpa_baseline *b, int64_t now, int app, uint32_t pcr,
		      const uint8_t *d, const allowance **expired)
{
	size_t i;

	*expired = NULL;
	for (i = 0; i < b->nallow; i++) {
		const allowance *a = &b->allow[i];

		if (!(app ? baseline__eset_has(&a->apps, 0, 0, d, b->ds) :
		      baseline__eset_has(&a->loader, pcr, 0, d, b->ds)))
			continue;
		if (now < a->expires)
			return 1;
		if (!*expired || a->expires > (*expired)->expires)
			*expired = a;
	}
	return 0;
}

/* " (allowed until 2027-01-31T00:00:00Z (kernel vmlinuz-...), expired)" */
static void expired_text(char *out, size_t cap, const allowance *a)
{
	char t[TPA_TIME_ISO_LEN + 1];

	*out = '\0';
	if (!a)
		return;
	if (tpa_time_iso(t, sizeof(t), a->expires) < 0)
		snprintf(t, sizeof(t), "%lld", (long long)a->expires);
	snprintf(out, cap, ": allowed until %s (%s%s%.60s), expired", t, a->kind,
		 a->source[0] ? " " : "", a->source);
}

/* Adds a failing event, with the value being judged, to the rule's list.
 * Bounded by the log: one entry per event (the loop visits each once, and
 * a log holds at most TPA_EVLOG_MAX_EVENTS) plus one per PCR. */
static void record(judge *j, tpa_rule_id id, int32_t event, int32_t pcr)
{
	tpa_rule_result *r = &j->a->rules[id];
	static const char hx[] = "0123456789abcdef";
	tpa_failed_event *f;
	size_t k;

	if (!j->cur || j->oom)
		return;
	if (r->nfailed == j->cap[id]) {
		size_t cap = j->cap[id] ? 2 * j->cap[id] : 4;
		tpa_failed_event *v = realloc(r->failed, cap * sizeof(*v));

		if (!v) {
			j->oom = 1;
			return;
		}
		r->failed = v;
		j->cap[id] = cap;
	}
	f = &r->failed[r->nfailed++];
	f->event = event;
	f->pcr = pcr;
	for (k = 0; k < j->ds && k < TPA_DIGEST_MAX; k++) {
		f->seen[2 * k] = hx[j->cur[k] >> 4];
		f->seen[2 * k + 1] = hx[j->cur[k] & 15];
	}
	f->seen[2 * k] = 0;
}

static void fail_rule(judge *j, tpa_rule_id id, int32_t event, int32_t pcr, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void fail_rule(judge *j, tpa_rule_id id, int32_t event, int32_t pcr, const char *fmt, ...)
{
	tpa_rule_result *r = &j->a->rules[id];
	va_list ap;

	record(j, id, event, pcr);
	if (r->status == TPA_RULE_FAIL)
		return;
	r->status = TPA_RULE_FAIL;
	r->event = event;
	r->pcr = pcr;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

/* Counts a further failure of a rule that already failed, without the cost
 * of describing it: 1 if so. */
static int failed_again(judge *j, tpa_rule_id id, int32_t event, int32_t pcr)
{
	if (j->a->rules[id].status != TPA_RULE_FAIL)
		return 0;
	record(j, id, event, pcr);
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
	return baseline__eset_has(s, 0, 0, d, 32);
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
		uint8_t fp[32] = { 0 };   /* printed as zeros if it cannot be made */

		if (tpa_efi_cert_sha256(fp, &db->certs[i]) < 0 || !hset_has(&b->certs[id], fp)) {
			char cn[80];

			if (failed_again(j, id, -1, 7))
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

/* What the signers of boot-applications say of this boot. With Secure
 * Boot on, every image the firmware or shim started was verified by an
 * authority, and each authority is measured on PCR 7 the first time it
 * verifies one: the firmware and newer shims just before the image's PCR 4
 * event, shim 15.4 just after it. So the authority of an application is
 * among those measured before the next application: if all of those are
 * signers (and none is revoked), so is its, whichever it was. The boot as
 * a whole must also let the signers decide: Secure Boot enforced, the
 * authorities all known, PCR 14 (where shim says whether it validates)
 * vouched for, the reference bundle (when the verifier has one) revoking no
 * component; and for what shim loaded (after its MokSBState), shim
 * validating (MokSBState not 1). */
typedef struct {
	int ok;                          /* the boot lets the signers decide */
	char why[TPA_RULE_DETAIL_MAX];   /* why not */
	size_t bad[TPA_AUTHORITIES_MAX]; /* authorities that are no signer, or revoked */
	int revoked[TPA_AUTHORITIES_MAX];
	size_t nbad;
} signer_view;

static void signer_view_of(signer_view *v, const tpa_baseline *b, const tpa_boot *ev)
{
	const tpa_bootstate *st = &ev->state;
	size_t i, k, n = 0;
	int shim = 0;

	memset(v, 0, sizeof(*v));
	if (!b->signers.n)
		return;
	if (st->secure_boot != TPA_SB_ENABLED) {
		snprintf(v->why, sizeof(v->why), "Secure Boot is %s: no signature was checked",
			 tpa_secure_boot_name(st->secure_boot));
		return;
	}
	/* None measured is said below; some on a PCR that does not count
	 * (or beyond the caps) leave the authorities unknown. */
	if (st->facts[TPA_FACT_AUTHORITIES].status == TPA_FACT_UNVERIFIED || st->truncated) {
		snprintf(v->why, sizeof(v->why), "the authorities that verified the applications "
			 "are not all known from PCR 7");
		return;
	}
	for (i = 0; i < st->nauthorities; i++) {
		uint8_t fp[32] = { 0 };
		int revoked = 0, read;

		/* shim's SbatLevel is measured as an authority; it signs nothing. */
		if (strcmp(st->authority_var[i], "SbatLevel") == 0)
			continue;
		n++;
		shim |= !strcmp(st->authority_var[i], "Shim") ||
			!strcmp(st->authority_var[i], "MokListRT") ||
			!strcmp(st->authority_var[i], "MokList");
		read = tpa_efi_cert_sha256(fp, &st->authorities[i]) == 0;
		for (k = 0; read && k < st->dbx.ncerts && !revoked; k++) {
			uint8_t x[32];

			revoked = tpa_efi_cert_sha256(x, &st->dbx.certs[k]) == 0 && !memcmp(x, fp, 32);
		}
		if (read && !revoked && hset_has(&b->signers, fp))
			continue;
		v->revoked[v->nbad] = revoked;
		v->bad[v->nbad++] = i;
	}
	if (!n) {
		snprintf(v->why, sizeof(v->why), "no authority that verified an application was "
			 "measured");
		return;
	}
	if ((shim || (baseline__log_pcrs(ev->log) >> 14 & 1)) && !(ev->counted >> 14 & 1)) {
		snprintf(v->why, sizeof(v->why), "shim loaded applications, and PCR 14, where it "
			 "says whether it checks their signatures (MokSBState), is not vouched for "
			 "by the quote");
		return;
	}
	if (ev->secureboot.judged && ev->secureboot.revoked_component_booted == TPA_SBA_YES) {
		snprintf(v->why, sizeof(v->why), "the Secure Boot reference bundle revokes a "
			 "component of this boot: %s", ev->secureboot.revoked_why);
		return;
	}
	v->ok = 1;
}

/* Whether the signers vouch for the application of event e; if not, why
 * (cap bytes) and, for a bad authority, its event in *auth_event. */
static int signers_vouch(const signer_view *v, const tpa_bootstate *st, uint32_t e,
			 char *why, size_t cap, int64_t *auth_event)
{
	uint32_t next = UINT32_MAX;
	size_t i;
	char h[24], cn[80];

	*auth_event = -1;
	if (!v->ok) {
		snprintf(why, cap, "%s", v->why);
		return 0;
	}
	/* shim measures MokSBState as it starts: what it loads comes after. */
	if (st->mok_sb_state == 2 && e > st->mok_sb_event) {
		snprintf(why, cap, "event %u (PCR 14): MokSBState is 1: shim checks no signature "
			 "of what it loads", st->mok_sb_event);
		return 0;
	}
	for (i = 0; i < st->napps; i++)
		if (st->apps[i].event > e && st->apps[i].event < next)
			next = st->apps[i].event;
	for (i = 0; i < v->nbad; i++) {
		const tpa_efi_cert *c = &st->authorities[v->bad[i]];
		uint8_t fp[32] = { 0 };

		if (st->authority_event[v->bad[i]] >= next)
			continue;
		(void)tpa_efi_cert_sha256(fp, c);
		tpa_efi_cert_subject(cn, sizeof(cn), c);
		short_hex(h, fp, 32);
		snprintf(why, cap, "event %u: authority %s %s (%s) %s",
			 st->authority_event[v->bad[i]], st->authority_var[v->bad[i]],
			 cn[0] ? cn : "(no CN)", h, v->revoked[i] ? "is revoked: dbx lists it" :
			 "is not a signer of the baseline");
		*auth_event = st->authority_event[v->bad[i]];
		return 0;
	}
	return 1;
}

/* The application a bad authority most likely verified, for the headline:
 * the first after it, or the last before it; -1 if none. */
static int64_t signer_culprit(const tpa_bootstate *st, int64_t auth_event)
{
	int64_t after = -1, before = -1;
	size_t i;

	for (i = 0; i < st->napps; i++) {
		int64_t a = st->apps[i].event;

		if (a > auth_event && (after < 0 || a < after))
			after = a;
		if (a < auth_event && a > before)
			before = a;
	}
	return after >= 0 ? after : before;
}

/* The booted kernel's version, from GRUB's counted "linux PATH" command:
 * what follows "vmlinuz-" in its file name; 0 if there is none. */
static int kernel_version(char *out, size_t cap, const tpa_bootstate *st)
{
	const char *slash = strrchr(st->kernel, '/'), *name = slash ? slash + 1 : st->kernel;
	size_t n;

	if (strncmp(name, "vmlinuz-", 8) != 0 || !name[8])
		return 0;
	n = strcspn(name + 8, " \t");
	if (!n || n >= cap)
		return 0;
	memcpy(out, name + 8, n);
	out[n] = '\0';
	return 1;
}

/* The digests of kernel_commands with {version} the booted kernel's, as
 * GRUB measures a command (its text, with or without its NUL): two each
 * (out holds 2 * KERNEL_COMMANDS_MAX); the number made. */
static size_t kernel_command_digests(uint8_t (*out)[TPA_DIGEST_MAX], const tpa_baseline *b,
				     const tpa_bootstate *st)
{
	char ver[TPA_PATH_MAX], cmd[1024];
	size_t i, m = 0;

	if (!b->nkcmd || !kernel_version(ver, sizeof(ver), st))
		return 0;
	for (i = 0; i < b->nkcmd && i < KERNEL_COMMANDS_MAX; i++) {
		const char *at = strstr(b->kcmd[i], KERNEL_VERSION_TOKEN);
		int len;

		if (!at)
			continue;
		len = snprintf(cmd, sizeof(cmd), "%.*s%s%s", (int)(at - b->kcmd[i]), b->kcmd[i], ver,
			       at + strlen(KERNEL_VERSION_TOKEN));
		/* GRUB measures the text, some versions with its NUL. */
		if (len < 0 || (size_t)len >= sizeof(cmd) ||
		    tpa_hash(out[m], b->bank, (const uint8_t *)cmd, (size_t)len) < 0 ||
		    tpa_hash(out[m + 1], b->bank, (const uint8_t *)cmd, (size_t)len + 1) < 0)
			continue;
		m += 2;
	}
	return m;
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
	"dbx holds every revocation of the reference bundle",
	"KEK and db hold the 2023 Microsoft CAs",
	"the platform key is no test key",
	"nothing the reference bundle revokes was booted",
	"the quote covers every PCR the baseline requires",
};

/* The Secure Boot hygiene rules, each from its claim (tpa/sbclaims.h): one
 * that cannot be told fails, for no evidence is no pass. */
static void judge_hygiene(judge *j, const tpa_baseline *b, const tpa_sb_claims *c)
{
	static const struct { tpa_rule_id id; tpa_sb_answer good; int pcr; } rules[] = {
		{ TPA_RULE_DBX_CURRENT, TPA_SBA_YES, 7 },
		{ TPA_RULE_CA_2023, TPA_SBA_YES, 7 },
		{ TPA_RULE_NO_TEST_KEYS, TPA_SBA_NO, 7 },
		{ TPA_RULE_NO_REVOKED_COMPONENTS, TPA_SBA_NO, 4 },
	};
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		tpa_rule_id id = rules[i].id;
		tpa_rule_result *r = &j->a->rules[id];
		tpa_sb_answer got = id == TPA_RULE_DBX_CURRENT ? c->dbx_current :
				    id == TPA_RULE_CA_2023 ? c->ca_2023_ready :
				    id == TPA_RULE_NO_TEST_KEYS ? c->test_platform_key :
				    c->revoked_component_booted;
		const char *why = id == TPA_RULE_DBX_CURRENT ? c->dbx_why :
				  id == TPA_RULE_CA_2023 ? c->ca_2023_why :
				  id == TPA_RULE_NO_TEST_KEYS ? c->test_pk_why : c->revoked_why;

		if (!b->present[id] || r->status == TPA_RULE_FAIL)
			continue;
		if (!c->judged)
			fail_rule(j, id, -1, rules[i].pcr, "the verifier has no Secure Boot reference "
				  "bundle (serve --secureboot-ref): this rule has no evidence");
		else if (got == TPA_SBA_UNKNOWN)
			fail_rule(j, id, -1, rules[i].pcr, "cannot be told: %s", why);
		else if (got != rules[i].good && id == TPA_RULE_DBX_CURRENT &&
			 c->dbx_missing_nnamed)
			fail_rule(j, id, -1, rules[i].pcr, "%s; the newest missing: %s", why,
				  c->dbx_missing_named[0]);
		else if (got != rules[i].good)
			fail_rule(j, id, -1, rules[i].pcr, "%s", why);
		else
			snprintf(r->detail, sizeof(r->detail), "%s", why);
	}
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

void tpa_appraisal_clear(tpa_appraisal *a)
{
	int id;

	if (!a)
		return;
	for (id = 0; id < TPA_RULE_COUNT; id++) {
		free(a->rules[id].failed);
		free(a->rules[id].seen);
		free(a->rules[id].expected);
	}
	memset(a, 0, sizeof(*a));
}

/* The list a rule's allowed values are in, for its failing events' PCRs
 * (NULL: the rule has no per-digest list). */
static const eset *expected_set(const tpa_baseline *b, tpa_rule_id id, int32_t pcr, int *any_pcr)
{
	*any_pcr = 0;
	if (id == TPA_RULE_FIRMWARE_VERSION || (id == TPA_RULE_BOOT_APPLICATIONS && pcr == 4)) {
		*any_pcr = 1;
		return id == TPA_RULE_FIRMWARE_VERSION ? &b->firmware : &b->apps;
	}
	if (id == TPA_RULE_BOOT_APPLICATIONS)
		return &b->loader;
	if (id == TPA_RULE_KNOWN_EVENTS)
		return &b->known;
	if (id == TPA_RULE_PCRS)
		return &b->pcrs;
	return NULL;
}

/* One expected value: counted (pass 0) or written at slot m (pass 1). */
static void expect_value(tpa_rule_result *r, char *p, size_t m, int pass, const uint8_t *d,
			 size_t ds)
{
	static const char hx[] = "0123456789abcdef";
	char *h;
	size_t x;

	if (!pass)
		return;
	h = p + m * (2 * ds + 1);
	for (x = 0; x < ds; x++) {
		h[2 * x] = hx[d[x] >> 4];
		h[2 * x + 1] = hx[d[x] & 15];
	}
	h[2 * x] = 0;
	r->expected[m] = h;
}

/* Fills a failed rule's seen text ("event 12 (PCR 4): hex; ...") and its
 * expected values: every allowed value on the PCRs it failed on, each once,
 * then those of the allowances in force at now. */
static int list_rule(tpa_rule_result *r, const tpa_baseline *b, int64_t now)
{
	size_t i, k, len = 1, n = 0, at;
	char *p = NULL;

	if (!r->nfailed)
		return 0;
	for (i = 0; i < r->nfailed; i++)
		len += 40 + strlen(r->failed[i].seen);
	if (!(r->seen = malloc(len)))
		return -1;
	for (i = 0, at = 0; i < r->nfailed; i++) {
		const tpa_failed_event *f = &r->failed[i];

		if (f->event >= 0)
			at += (size_t)snprintf(r->seen + at, len - at, "%sevent %d (PCR %d): %s",
					       i ? "; " : "", f->event, f->pcr, f->seen);
		else
			at += (size_t)snprintf(r->seen + at, len - at, "%sPCR %d: %s",
					       i ? "; " : "", f->pcr, f->seen);
	}
	/* Two passes over the set: count, then fill one allocation. */
	for (int pass = 0; pass < 2; pass++) {
		size_t m = 0, a;

		for (i = 0; i < r->nfailed; i++) {
			int any;
			const eset *s = expected_set(b, r->rule, r->failed[i].pcr, &any);

			if (!s)
				break;
			/* Each PCR's (or the whole list's) values once. */
			for (k = 0; k < i; k++) {
				int any2;

				if (expected_set(b, r->rule, r->failed[k].pcr, &any2) == s &&
				    (any || r->failed[k].pcr == r->failed[i].pcr))
					break;
			}
			if (k < i)
				continue;
			for (k = 0; k < s->n; k++) {
				if (!any && s->v[k].pcr != (uint32_t)r->failed[i].pcr)
					continue;
				expect_value(r, p, m++, pass, s->v[k].d, b->ds);
			}
			for (a = 0; r->rule == TPA_RULE_BOOT_APPLICATIONS && a < b->nallow; a++) {
				const allowance *al = &b->allow[a];
				const eset *as = s == &b->apps ? &al->apps : &al->loader;

				if (now >= al->expires)
					continue;
				for (k = 0; k < as->n; k++) {
					if (!any && as->v[k].pcr != (uint32_t)r->failed[i].pcr)
						continue;
					expect_value(r, p, m++, pass, as->v[k].d, b->ds);
				}
			}
		}
		if (!pass) {
			n = m;
			if (!n)
				return 0;
			r->expected = malloc(n * (sizeof(char *) + 2 * b->ds + 1));
			if (!r->expected)
				return -1;
			p = (char *)(r->expected + n);
		} else {
			r->nexpected = m;
		}
	}
	return 0;
}

int tpa_baseline_appraise(tpa_appraisal *out, const tpa_baseline *b, const tpa_boot *ev)
{
	return tpa_baseline_appraise_at(out, b, ev, (int64_t)time(NULL));
}

int tpa_baseline_appraise_at(tpa_appraisal *out, const tpa_baseline *b, const tpa_boot *ev,
			     int64_t now)
{
	const tpa_bootstate *st = ev ? &ev->state : NULL;
	judge j;
	size_t i, n, allowed_apps;
	int id, sb_on, fw_seen = 0, apps_seen = 0, cmdline_seen = 0;
	tpa_pcr_mask loader_seen = 0;
	const allowance *gone = NULL;
	char h[24], culprit_detail[TPA_RULE_DETAIL_MAX] = "";
	uint8_t kcmd_d[2 * KERNEL_COMMANDS_MAX][TPA_DIGEST_MAX];
	size_t nkcmd_d = 0;
	signer_view *sv = NULL;
	int64_t culprit = -1, signer_head = -1;

	if (!out || !b || !ev)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "appraise: NULL");
	memset(out, 0, sizeof(*out));
	memset(&j, 0, sizeof(j));
	j.a = out;
	j.ds = b->ds;
	j.now = now;
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
		tpa_pcr_mask gap = baseline__rule_pcrs(b, (tpa_rule_id)id) & ~ev->counted;

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
	judge_hygiene(&j, b, &ev->secureboot);
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
			uint8_t fp[32] = { 0 };   /* printed as zeros if it cannot be made */

			if (tpa_efi_cert_sha256(fp, &st->authorities[i]) < 0 ||
			    !hset_has(&b->certs[TPA_RULE_AUTHORITIES], fp)) {
				char cn[80];

				if (failed_again(&j, TPA_RULE_AUTHORITIES, -1, 7))
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

	if (b->present[TPA_RULE_BOOT_APPLICATIONS]) {
		if (b->signers.n) {
			if (!(sv = malloc(sizeof(*sv)))) {
				free(j.dbx.slot);
				free(j.dbx.used);
				return tpa_err_fail(TPA_ERR_NOMEM, "appraise: out of memory");
			}
			signer_view_of(sv, b, ev);
			if (sv->ok && sv->nbad)
				culprit = signer_culprit(st, st->authority_event[sv->bad[0]]);
		}
		nkcmd_d = kernel_command_digests(kcmd_d, b, st);
	}
	n = tpa_eventlog_count(ev->log);
	for (i = 0; i < n; i++) {
		const tpa_event *e = tpa_eventlog_event(ev->log, i);
		const tpa_event_meaning *m = tpa_bootstate_meaning(st, i);
		const uint8_t *d = tpa_event_digest_in(e, b->bank);
		int own = m ? m->rule : -1;
		int32_t num = (int32_t)e->number, pcr = (int32_t)e->pcr;

		j.cur = d;

		if (own < 0 || !b->present[own] || out->rules[own].status == TPA_RULE_NOT_APPLICABLE)
			continue;
		if (e->pcr >= TPA_PCR_COUNT || !((ev->counted >> e->pcr) & 1)) {
			if (!failed_again(&j, (tpa_rule_id)own, num, pcr))
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
			if (baseline__eset_has(&b->firmware, 0, 0, d, b->ds) ||
			    failed_again(&j, TPA_RULE_FIRMWARE_VERSION, num, pcr))
				break;
			short_hex(h, d, b->ds);
			fail_rule(&j, TPA_RULE_FIRMWARE_VERSION, num, pcr,
				  "event %d: firmware \"%s\" (%s) is not among the %zu allowed", num,
				  st->firmware_version, h, b->firmware.n);
			break;
		case TPA_RULE_BOOT_APPLICATIONS:
			gone = NULL;
			if (m->kind == TPA_EVK_BOOT_APPLICATION) {
				char signer_why[TPA_RULE_DETAIL_MAX] = "";
				int64_t auth_event = -1;
				int allowed = baseline__eset_has(&b->apps, 0, 0, d, b->ds) ||
					allowed_by(b, j.now, 1, 4, d, &gone) ||
					(sv && signers_vouch(sv, st, e->number, signer_why,
							     sizeof(signer_why), &auth_event));
				int revoked = b->bank == TPM2_ALG_SHA256 && dset_has(&j.dbx, d);
				const tpa_boot_app *app;
				const char *path;
				char why[160];

				apps_seen = 1;
				if (allowed && !revoked)
					break;
				app = baseline__app_of(st, e->number);
				path = app && app->path[0] ? app->path : "no path";
				short_hex(h, d, b->ds);
				/* An application is the headline over boot loader
				 * events that follow from it. */
				if (out->rules[own].status == TPA_RULE_FAIL && out->rules[own].pcr != 4 &&
				    out->rules[own].event >= 0) {
					out->rules[own].status = TPA_RULE_PASS;
				}
				expired_text(why, sizeof(why), gone);
				if (!allowed && gone)
					fail_rule(&j, TPA_RULE_BOOT_APPLICATIONS, num, pcr,
						  "event %d: application %s (%s)%s", num, path, h, why);
				else if (!allowed && b->signers.n) {
					char msg[TPA_PATH_MAX + 2 * TPA_RULE_DETAIL_MAX];

					snprintf(msg, sizeof(msg), "event %d: application %s (%s) is "
						 "not among the %zu allowed, and no signer vouches for "
						 "it: %s", num, path, h, b->apps.n, signer_why);
					if (out->rules[own].status != TPA_RULE_FAIL)
						signer_head = num;
					if (num == culprit)
						snprintf(culprit_detail, sizeof(culprit_detail), "%.*s",
							 (int)sizeof(culprit_detail) - 1, msg);
					fail_rule(&j, TPA_RULE_BOOT_APPLICATIONS, num, pcr, "%s", msg);
				}
				else if (!allowed)
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
			/* A PCR the signer rule leaves unpinned; a command that
			 * names the booted kernel's version as a template does. */
			if ((b->unpinned >> e->pcr) & 1)
				break;
			if (e->pcr == 8) {
				size_t k;

				for (k = 0; k < nkcmd_d && memcmp(kcmd_d[k], d, b->ds); k++)
					;
				if (k < nkcmd_d)
					break;
			}
			if (!baseline__eset_has(&b->loader, e->pcr, 0, d, b->ds) &&
			    !allowed_by(b, j.now, 0, e->pcr, d, &gone) &&
			    !failed_again(&j, TPA_RULE_BOOT_APPLICATIONS, num, pcr)) {
				char t[60], why[160];

				tpa_event_text(t, sizeof(t), e);
				short_hex(h, d, b->ds);
				expired_text(why, sizeof(why), gone);
				fail_rule(&j, TPA_RULE_BOOT_APPLICATIONS, num, pcr,
					  "event %d (PCR %d): boot loader event \"%s\" (%s)%s", num,
					  pcr, m->kind == TPA_EVK_UKI_SECTION ? "" : t, h,
					  gone ? why : " is not in the baseline");
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
			if (!baseline__eset_has(&b->known, e->pcr, e->type, d, b->ds)) {
				char type[48];

				out->unknown_events++;
				if (failed_again(&j, TPA_RULE_KNOWN_EVENTS, num, pcr))
					break;
				short_hex(h, d, b->ds);
				baseline__type_text(type, sizeof(type), e->type);
				fail_rule(&j, TPA_RULE_KNOWN_EVENTS, num, pcr,
					  "event %d (PCR %d, %s, %s) is not in the baseline", num, pcr,
					  type, h);
			}
			break;
		default:
			break;
		}
	}
	j.cur = NULL;
	/* An authority that is no signer: the headline names the application
	 * it most likely verified, not the first one whose bound it spoils. */
	if (signer_head >= 0 && culprit_detail[0] &&
	    out->rules[TPA_RULE_BOOT_APPLICATIONS].event == signer_head) {
		out->rules[TPA_RULE_BOOT_APPLICATIONS].event = (int32_t)culprit;
		snprintf(out->rules[TPA_RULE_BOOT_APPLICATIONS].detail, TPA_RULE_DETAIL_MAX, "%s",
			 culprit_detail);
	}
	free(sv);
	/* Silence is no pass: what the baseline expects must be there. */
	if (b->present[TPA_RULE_FIRMWARE_VERSION] && !fw_seen && b->firmware.n)
		fail_rule(&j, TPA_RULE_FIRMWARE_VERSION, -1, 0, "no S-CRTM version was measured");
	for (i = 0, allowed_apps = b->apps.n; i < b->nallow; i++)
		allowed_apps += b->allow[i].apps.n;
	if (b->present[TPA_RULE_BOOT_APPLICATIONS] && b->signers.n && !allowed_apps && !apps_seen)
		fail_rule(&j, TPA_RULE_BOOT_APPLICATIONS, -1, 4, "no boot application was measured "
			  "on PCR 4 (the baseline allows them by signer)");
	if (b->present[TPA_RULE_BOOT_APPLICATIONS] && allowed_apps && !apps_seen)
		fail_rule(&j, TPA_RULE_BOOT_APPLICATIONS, -1, 4, "no boot application was measured "
			  "on PCR 4 (the baseline allows %zu)", allowed_apps);
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
				j.cur = v = tpa_pcr_bank_value(pb, p);
				if (!v) {
					fail_rule(&j, TPA_RULE_PCRS, -1, (int32_t)p,
						  "PCR %u (%s) was not quoted", p, tpa_hash_label(b->bank));
				} else if (!baseline__eset_has(&b->pcrs, p, 0, v, b->ds)) {
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
		if (r->nfailed > 1) {
			size_t l = strlen(r->detail);

			snprintf(r->detail + l, sizeof(r->detail) - l, " (%zu events fail, all listed)",
				 r->nfailed);
		}
		if (!j.oom && list_rule(r, b, now) < 0)
			j.oom = 1;
		if (r->severity == TPA_SEVERITY_CRITICAL)
			out->outcome = TPA_OUTCOME_NON_COMPLIANT;
		else if (out->outcome == TPA_OUTCOME_COMPLIANT)
			out->outcome = TPA_OUTCOME_WARNING;
	}
	free(j.dbx.slot);
	free(j.dbx.used);
	if (j.oom) {
		tpa_appraisal_clear(out);
		return tpa_err_fail(TPA_ERR_NOMEM, "appraise: out of memory");
	}
	return 0;
}
