/* SPDX-License-Identifier: BSD-3-Clause */
/* Authoring baselines: learn one from a known-good boot, merge two, and
 * describe them for a person (what differs, what one holds). Learn and
 * merge write JSON and parse it back (baseline_format.c), so what they make
 * passes the same checks as a file. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "baseline_int.h"
#include "tpa/authenticode.h"
#include "tpa/err.h"
#include "tpa/timefmt.h"
#include "tpa/tpm_decode.h"

/* ---- learn ---- */

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
		json_array_append_new(certs, baseline__hex_json(fp, 32));
	}
	for (i = 0; with_hashes && i < db->nhashes; i++)
		json_array_append_new(hashes, baseline__hex_json(db->hashes[i], 32));
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
	extended = baseline__log_pcrs(ev->log) & ~TPA_BOOT_OS_PCRS;
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
				append_unique(certs, baseline__hex_json(fp, 32));
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
			json_object_set_new(o, "digest", baseline__hex_json(d, ds));
			json_object_set_new(o, "version", json_string(st->firmware_version));
			append_unique(fw, o);
			break;
		case TPA_RULE_BOOT_APPLICATIONS:
			o = json_object();
			if (m->kind == TPA_EVK_BOOT_APPLICATION) {
				const tpa_boot_app *a = baseline__app_of(st, e->number);

				json_object_set_new(o, "digest", baseline__hex_json(d, ds));
				json_object_set_new(o, "path", json_string(a ? a->path : ""));
				append_unique(apps, o);
			} else {
				json_object_set_new(o, "pcr", json_integer(e->pcr));
				json_object_set_new(o, "digest", baseline__hex_json(d, ds));
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
			baseline__type_text(type, sizeof(type), e->type);
			json_object_set_new(o, "type", json_string(type));
			json_object_set_new(o, "digest", baseline__hex_json(d, ds));
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

/* ---- learn by signer ---- */

/* A command's text with its first ver made {version}; NULL if ver is not
 * in it, or is twice (the template must name it once). */
static char *command_template(const uint8_t *text, size_t len, const char *ver)
{
	char cmd[600], *at, *out;
	size_t vl = strlen(ver), n;

	if (!vl || len >= sizeof(cmd))
		return NULL;
	memcpy(cmd, text, len);
	cmd[len] = '\0';
	if (strlen(cmd) != len || !(at = strstr(cmd, ver)) || strstr(at + vl, ver) ||
	    strstr(cmd, KERNEL_VERSION_TOKEN))
		return NULL;
	n = len - vl + strlen(KERNEL_VERSION_TOKEN) + 1;
	if (!(out = malloc(n)))
		return NULL;
	snprintf(out, n, "%.*s%s%s", (int)(at - cmd), cmd, KERNEL_VERSION_TOKEN, at + vl);
	return out;
}

static int printable_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

int tpa_baseline_learn_by_signer(tpa_baseline **out, const tpa_boot *ev, const char *name)
{
	const tpa_bootstate *st = ev ? &ev->state : NULL;
	tpa_baseline *b = NULL;
	json_t *root = NULL, *rule, *signers, *loader, *kept, *kcmds, *unpinned, *e;
	tpa_pcr_mask unp = 0;
	char ver[TPA_PATH_MAX] = "", *text;
	const char *slash, *kname;
	size_t i, n;
	int err;

	if (!out || !ev || !name)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "baseline learn: NULL");
	*out = NULL;
	if ((err = tpa_baseline_learn(&b, ev, name)) < 0)
		return err;
	if (st->secure_boot != TPA_SB_ENABLED) {
		err = tpa_err_fail(TPA_ERR_VERIFY, "baseline learn --by-signer: Secure Boot is %s: "
				   "no signature of this boot's applications was checked (learn "
				   "them by digest)", tpa_secure_boot_name(st->secure_boot));
		goto done;
	}
	if (st->facts[TPA_FACT_AUTHORITIES].status == TPA_FACT_UNVERIFIED || st->truncated) {
		err = tpa_err_fail(TPA_ERR_VERIFY, "baseline learn --by-signer: the authorities "
				   "that verified this boot are not all known from PCR 7");
		goto done;
	}
	signers = json_array();
	for (i = 0; i < st->nauthorities; i++) {
		uint8_t fp[32];
		char cn[TPA_EFI_SUBJECT_MAX];

		if (strcmp(st->authority_var[i], "SbatLevel") == 0 ||
		    tpa_efi_cert_sha256(fp, &st->authorities[i]) < 0)
			continue;
		tpa_efi_cert_subject(cn, sizeof(cn), &st->authorities[i]);
		e = json_object();
		json_object_set_new(e, "certificate", baseline__hex_json(fp, 32));
		if (cn[0] && printable_text(cn))
			json_object_set_new(e, "subject", json_string(cn));
		append_unique(signers, e);
	}
	if (!json_array_size(signers)) {
		json_decref(signers);
		err = tpa_err_fail(TPA_ERR_VERIFY, "baseline learn --by-signer: no authority that "
				   "verified an application was measured");
		goto done;
	}
	root = json_deep_copy(b->root);
	rule = json_object_get(json_object_get(root, "rules"),
			       rule_names_of(TPA_RULE_BOOT_APPLICATIONS));
	if (!root || !rule) {
		json_decref(signers);
		err = tpa_err_fail(TPA_ERR_VERIFY, "baseline learn --by-signer: the boot measured "
				   "no application");
		goto done;
	}
	json_object_set_new(root, "description", json_string(
		"learned from one known-good boot, by signer: accepts its authorities' "
		"applications, its boot loader's commands with any kernel version"));
	json_object_set_new(rule, "applications", json_array());
	json_object_set_new(rule, "signers", signers);

	/* The kernel's version, from GRUB's "linux PATH" command. */
	slash = strrchr(st->kernel, '/');
	kname = slash ? slash + 1 : st->kernel;
	if (strncmp(kname, "vmlinuz-", 8) == 0 && kname[8] && strcspn(kname + 8, " \t") < sizeof(ver))
		snprintf(ver, sizeof(ver), "%.*s", (int)strcspn(kname + 8, " \t"), kname + 8);
	/* PCR 9 (files GRUB read: the kernel, its initrd) and 11 (a UKI's
	 * sections) change with every kernel: not pinned; the PCR 8 commands
	 * that name the version become templates; the rest stay pinned. */
	kcmds = json_array();
	kept = json_array();
	loader = json_object_get(rule, "boot_loader");
	n = tpa_eventlog_count(ev->log);
	json_array_foreach(loader, i, e) {
		json_int_t pcr = json_integer_value(json_object_get(e, "pcr"));
		const char *dg = json_string_value(json_object_get(e, "digest"));
		size_t k;
		int templated = 0;

		if (pcr == 9 || pcr == 11) {
			unp |= (tpa_pcr_mask)1 << pcr;
			continue;
		}
		for (k = 0; pcr == 8 && ver[0] && dg && k < n && !templated; k++) {
			const tpa_event *x = tpa_eventlog_event(ev->log, k);
			const tpa_event_meaning *m = tpa_bootstate_meaning(st, k);
			const uint8_t *d = tpa_event_digest_in(x, ev->bank);
			char hex[2 * TPA_DIGEST_MAX + 1], *tmpl;

			if (!m || m->kind != TPA_EVK_GRUB_COMMAND || m->data_ok != 1 || !d ||
			    x->pcr != 8)
				continue;
			tpa_hex(hex, d, b->ds);
			if (strcmp(hex, dg) || !(tmpl = command_template(m->text, m->text_len, ver)))
				continue;
			append_unique(kcmds, json_string(tmpl));
			free(tmpl);
			templated = 1;
		}
		if (!templated)
			json_array_append(kept, e);
	}
	json_object_set_new(rule, "boot_loader", kept);
	if (json_array_size(kcmds))
		json_object_set_new(rule, "kernel_commands", kcmds);
	else
		json_decref(kcmds);
	if (unp) {
		unpinned = json_array();
		for (i = 0; i < TPA_PCR_COUNT; i++)
			if (unp >> i & 1)
				json_array_append_new(unpinned, json_integer((json_int_t)i));
		json_object_set_new(rule, "unpinned_pcrs", unpinned);
	}
	if (!(text = json_dumps(root, JSON_PRESERVE_ORDER))) {
		err = tpa_err_fail(TPA_ERR_NOMEM, "baseline learn: out of memory");
		goto done;
	}
	err = tpa_baseline_parse(out, text, strlen(text), name);
	free(text);
done:
	json_decref(root);
	tpa_baseline_free(b);
	return err;
}

/* ---- merge ---- */

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
		/* A list only b has: b accepts with it (signers, allowances). */
		json_object_foreach(rb, k, va) {
			if (strcmp(k, "severity") == 0 || !json_is_array(va) ||
			    json_object_get(ra, k))
				continue;
			json_t *none = json_array();

			json_object_set_new(r, k, combine(none, va, id == TPA_RULE_DBX));
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

/* ---- allow: images before any device boots them ---- */

static json_t *loader_entry(uint32_t pcr, const uint8_t *d, size_t ds, const char *text)
{
	json_t *e = json_object();

	json_object_set_new(e, "pcr", json_integer(pcr));
	json_object_set_new(e, "digest", baseline__hex_json(d, ds));
	json_object_set_new(e, "text", json_string(text));
	return e;
}

/* A GRUB command as GRUB measures it on PCR 8: the digest of its text. */
static int add_command(json_t *loader, const tpa_baseline *b, const char *text)
{
	uint8_t d[TPA_DIGEST_MAX];
	int err;

	if ((err = tpa_hash(d, b->bank, (const uint8_t *)text, strlen(text))) < 0)
		return err;
	json_array_append_new(loader, loader_entry(8, d, b->ds, text));
	return 0;
}

static int printable(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e || n >= max)
			return 0;
	return n > 0;
}

static json_t *allowance_json(const tpa_baseline *b, const tpa_allow_image *im,
			      int64_t expires, const char *note, int64_t now, int *err)
{
	static const char *const kinds[] = { "kernel", "shim", "grub", "app", "initrd", NULL };
	uint8_t ac[TPA_DIGEST_MAX], fd[TPA_DIGEST_MAX];
	const char *base, *kind = im->kind ? im->kind : "app";
	char path[512], t[TPA_TIME_ISO_LEN + 1];
	json_t *a, *apps, *loader;
	int k, efi, grub_file;

	for (k = 0; kinds[k] && strcmp(kinds[k], kind); k++)
		;
	if (!kinds[k]) {
		*err = tpa_err_fail(TPA_ERR_INVALID_ARG, "allow: kind '%s' is not kernel, shim, grub, "
				    "app or initrd", kind);
		return NULL;
	}
	if (!im->file) {
		*err = tpa_err_fail(TPA_ERR_INVALID_ARG, "allow: no file");
		return NULL;
	}
	efi = strcmp(kind, "initrd") != 0;
	grub_file = strcmp(kind, "kernel") == 0 || !efi;
	base = strrchr(im->file, '/') ? strrchr(im->file, '/') + 1 : im->file;
	if (im->path)
		snprintf(path, sizeof(path), "%s", im->path);
	else
		snprintf(path, sizeof(path), "%s%s", grub_file ? "/boot/" : "", base);
	if (!printable(path, 255) || !printable(base, 255)) {
		*err = tpa_err_fail(TPA_ERR_INVALID_ARG, "allow: %s: the path and file name must be "
				    "1 to 255 bytes of printable ASCII without spaces", im->file);
		return NULL;
	}
	if ((*err = tpa_authenticode_file(efi ? ac : NULL, fd, b->bank, im->file)) < 0)
		return NULL;
	a = json_object();
	apps = json_array();
	loader = json_array();
	json_object_set_new(a, "kind", json_string(kind));
	json_object_set_new(a, "source", json_string(base));
	if (tpa_time_iso(t, sizeof(t), now) == 0)
		json_object_set_new(a, "added", json_string(t));
	if (tpa_time_iso(t, sizeof(t), expires) < 0) {
		*err = tpa_err_fail(TPA_ERR_INVALID_ARG, "allow: the expiry is out of range");
		goto fail;
	}
	json_object_set_new(a, "expires", json_string(t));
	if (note && *note)
		json_object_set_new(a, "note", json_string(note));
	if (efi) {
		json_t *e = json_object();

		json_object_set_new(e, "digest", baseline__hex_json(ac, b->ds));
		json_object_set_new(e, "path", json_string(path));
		json_array_append_new(apps, e);
	}
	if (grub_file)
		json_array_append_new(loader, loader_entry(9, fd, b->ds, path));
	/* The commands of Debian's grub.cfg that name the kernel's version,
	 * when the baseline judges GRUB's commands at all. */
	if (strcmp(kind, "kernel") == 0 && (b->loader_pcrs & (1u << 8))) {
		const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
		char cmd[600];
		size_t dir = slash ? (size_t)(slash - path) + 1 : 0;

		if (strncmp(name, "vmlinuz-", 8) == 0 && name[8]) {
			static const char *const initrd[] = { "initrd", "initrdefi", "initrd16" };
			size_t i;

			snprintf(cmd, sizeof(cmd), "echo Loading Linux %s ...", name + 8);
			if ((*err = add_command(loader, b, cmd)) < 0)
				goto fail;
			for (i = 0; i < sizeof(initrd) / sizeof(initrd[0]); i++) {
				snprintf(cmd, sizeof(cmd), "%s %.*sinitrd.img-%s", initrd[i], (int)dir,
					 path, name + 8);
				if ((*err = add_command(loader, b, cmd)) < 0)
					goto fail;
			}
		}
	}
	if (json_array_size(apps))
		json_object_set_new(a, "applications", apps);
	else
		json_decref(apps);
	if (json_array_size(loader))
		json_object_set_new(a, "boot_loader", loader);
	else
		json_decref(loader);
	return a;
fail:
	json_decref(apps);
	json_decref(loader);
	json_decref(a);
	return NULL;
}

int tpa_baseline_allow(tpa_baseline **out, const tpa_baseline *b, const tpa_allow_image *images,
		       size_t n, int64_t expires, const char *note, int64_t now)
{
	json_t *root, *rule, *list, *a;
	char *text, src[100];
	size_t i;
	int err = 0;

	if (!out || !b || (!images && n))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "allow: NULL");
	*out = NULL;
	if (!n || n > TPA_ALLOW_IMAGES_MAX)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "allow: 1 to %d images",
				    TPA_ALLOW_IMAGES_MAX);
	if (expires <= now)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "allow: the expiry is not in the future");
	if (note) {
		const char *q;

		for (q = note; *q; q++)
			if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e)
				return tpa_err_fail(TPA_ERR_INVALID_ARG, "allow: the note must be "
						    "printable ASCII");
		if (q - note > 1024)
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "allow: the note is longer than "
					    "1024 bytes");
	}
	if (!b->present[TPA_RULE_BOOT_APPLICATIONS])
		return tpa_err_fail(TPA_ERR_VERIFY, "allow: baseline %s has no boot-applications "
				    "rule: there is nothing an image could be allowed by", b->name);
	if (!(root = json_deep_copy(b->root)))
		return tpa_err_fail(TPA_ERR_NOMEM, "allow: out of memory");
	rule = json_object_get(json_object_get(root, "rules"),
			       rule_names_of(TPA_RULE_BOOT_APPLICATIONS));
	if (!(list = json_object_get(rule, "allowances"))) {
		list = json_array();
		json_object_set_new(rule, "allowances", list);
	}
	for (i = 0; i < n; i++) {
		if (!(a = allowance_json(b, &images[i], expires, note, now, &err)))
			break;
		json_array_append_new(list, a);
	}
	if (err < 0) {
		json_decref(root);
		return err;
	}
	text = json_dumps(root, JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!text)
		return tpa_err_fail(TPA_ERR_NOMEM, "allow: out of memory");
	snprintf(src, sizeof(src), "%s with the allowances", b->name);
	err = tpa_baseline_parse(out, text, strlen(text), src);
	free(text);
	return err;
}

/* ---- for a person: diff and summary ---- */

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

/* ", 2 allowance(s), the first expiring 2027-01-31T00:00:00Z" or "". */
static void allowances_text(sbuf *o, const tpa_baseline *b)
{
	char t[TPA_TIME_ISO_LEN + 1];
	int64_t first = 0;
	size_t i;

	if (!b->nallow)
		return;
	for (i = 0; i < b->nallow; i++)
		if (!i || b->allow[i].expires < first)
			first = b->allow[i].expires;
	if (tpa_time_iso(t, sizeof(t), first) < 0)
		snprintf(t, sizeof(t), "%lld", (long long)first);
	sb_printf(o, ", %zu allowance(s), the first expiring %s", b->nallow, t);
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
			sb_printf(&o, "%zu application(s), %zu boot loader event(s)", b->apps.n,
				  b->loader.n);
			if (b->signers.n) {
				char m[64];

				tpa_pcr_mask_text(m, sizeof(m), b->unpinned);
				sb_printf(&o, "; by signer: %zu signer(s), %zu kernel command "
					  "template(s), PCRs %s unpinned", b->signers.n, b->nkcmd,
					  b->unpinned ? m : "none");
			}
			allowances_text(&o, b);
			sb_printf(&o, "\n");
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
		case TPA_RULE_DBX_CURRENT:
		case TPA_RULE_CA_2023:
		case TPA_RULE_NO_TEST_KEYS:
		case TPA_RULE_NO_REVOKED_COMPONENTS:
			sb_printf(&o, "against the Secure Boot reference bundle\n");
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

char *tpa_baseline_brief(const tpa_baseline *b)
{
	sbuf o = { 0 };
	int id, rules = 0;

	if (!b)
		return NULL;
	for (id = 0; id < TPA_RULE_COUNT; id++)
		rules += b->present[id] != 0;
	sb_printf(&o, "%s, %d rule(s), %zu application(s), %zu boot loader event(s), "
		  "%zu command line(s)", tpa_hash_label(b->bank), rules, b->apps.n, b->loader.n,
		  b->ncmd);
	allowances_text(&o, b);
	if (o.oom) {
		free(o.s);
		return NULL;
	}
	return o.s;
}
