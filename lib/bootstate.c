/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "tpa/bootstate.h"
#include "tpa/err.h"
#include "tpa/tpm_decode.h"


const char *tpa_secure_boot_name(tpa_secure_boot sb)
{
	switch (sb) {
	case TPA_SB_ENABLED: return "enabled";
	case TPA_SB_DISABLED: return "disabled";
	case TPA_SB_UNVERIFIED: return "unverified";
	case TPA_SB_UNKNOWN: return "unknown";
	}
	return "unknown";
}

static const char *const fact_names[TPA_FACT_COUNT] = {
	"secure_boot", "pk", "kek", "db", "dbx", "authorities", "uefi_debug_mode",
	"firmware_version", "boot_applications", "kernel", "kernel_cmdline",
	"exit_boot_services", "efi_actions", "separators",
};

const char *tpa_fact_name(tpa_fact_id f)
{
	return (unsigned)f < TPA_FACT_COUNT ? fact_names[f] : "unknown";
}

const char *tpa_fact_status_name(tpa_fact_status st)
{
	switch (st) {
	case TPA_FACT_VERIFIED: return "verified";
	case TPA_FACT_UNVERIFIED: return "unverified";
	case TPA_FACT_ABSENT: return "absent";
	}
	return "absent";
}

/* The fact an event kind speaks about, or -1. */
static int fact_of(tpa_event_kind k)
{
	switch (k) {
	case TPA_EVK_SECURE_BOOT: return TPA_FACT_SECURE_BOOT;
	case TPA_EVK_PK: return TPA_FACT_PK;
	case TPA_EVK_KEK: return TPA_FACT_KEK;
	case TPA_EVK_DB: return TPA_FACT_DB;
	case TPA_EVK_DBX: return TPA_FACT_DBX;
	case TPA_EVK_AUTHORITY: return TPA_FACT_AUTHORITIES;
	case TPA_EVK_DEBUG_MODE: return TPA_FACT_UEFI_DEBUG_MODE;
	case TPA_EVK_FIRMWARE_VERSION: return TPA_FACT_FIRMWARE_VERSION;
	case TPA_EVK_BOOT_APPLICATION: return TPA_FACT_BOOT_APPLICATIONS;
	case TPA_EVK_GRUB_KERNEL: return TPA_FACT_KERNEL;
	case TPA_EVK_GRUB_CMDLINE:
	case TPA_EVK_STUB_CMDLINE: return TPA_FACT_KERNEL_CMDLINE;
	case TPA_EVK_EXIT_BOOT_SERVICES: return TPA_FACT_EXIT_BOOT_SERVICES;
	case TPA_EVK_EFI_ACTION: return TPA_FACT_EFI_ACTIONS;
	case TPA_EVK_SEPARATOR: return TPA_FACT_SEPARATORS;
	case TPA_EVK_NO_EXTEND:
	case TPA_EVK_CONFIG_VARIABLE:
	case TPA_EVK_GRUB_COMMAND:
	case TPA_EVK_LOADER_FILE:
	case TPA_EVK_UKI_SECTION:
	case TPA_EVK_OTHER:
	case TPA_EVK_COUNT:
		break;
	}
	return -1;
}

void tpa_bootstate_clear(tpa_bootstate *s)
{
	if (!s)
		return;
	tpa_efi_sigdb_clear(&s->pk);
	tpa_efi_sigdb_clear(&s->kek);
	tpa_efi_sigdb_clear(&s->db);
	tpa_efi_sigdb_clear(&s->dbx);
	free(s->meaning);
	memset(s, 0, sizeof(*s));
	s->first_mismatch = -1;
}

const tpa_event_meaning *tpa_bootstate_meaning(const tpa_bootstate *s, size_t i)
{
	return s && s->meaning && i < s->nevents ? &s->meaning[i] : NULL;
}

static const char *const mok_names[TPA_MOK_LISTS] = { "MokList", "MokListX", "MokListTrusted" };

/* Whether event data is the text name, with or without its NUL. */
static int data_is(const tpa_event *ev, const char *name)
{
	size_t n = strlen(name);

	return (ev->data_len == n || (ev->data_len == n + 1 && ev->data[n] == 0)) &&
	       memcmp(ev->data, name, n) == 0;
}

/* shim's PCR 14 EV_IPL events: each MOK list's digest (of the list, not
 * of the name the event data holds), and MokSBState's value from its
 * digest (that of one byte, 0 or 1). */
static void note_shim_pcr14(tpa_bootstate *s, const tpa_event_checker *c, const tpa_event *ev)
{
	const uint8_t *dg = tpa_event_digest_in(ev, c->alg);
	uint8_t h[TPA_DIGEST_MAX], v;
	size_t k;

	if (ev->pcr != 14 || ev->type != TPA_EV_IPL || !dg)
		return;
	for (k = 0; k < TPA_MOK_LISTS; k++)
		if (data_is(ev, mok_names[k]) && !s->mok_seen[k]) {
			s->mok_seen[k] = 1;
			memcpy(s->mok_digest[k], dg, c->ds);
		}
	if (!data_is(ev, "MokSBState") || s->mok_sb_state)
		return;
	s->mok_sb_state = 3;
	s->mok_sb_event = ev->number;
	for (v = 0; v < 2; v++)
		if (tpa_hash(h, c->alg, &v, 1) == 0 && memcmp(h, dg, c->ds) == 0)
			s->mok_sb_state = 1 + v;
}

/* shim's SbatLevel (an authority event of its own): its text, lines
 * joined by spaces, printable only. */
static void note_sbat(tpa_bootstate *s, const tpa_efi_var *v)
{
	size_t i, n = 0;

	for (i = 0; i < v->data_len && n + 1 < sizeof(s->sbat_level); i++) {
		uint8_t ch = v->data[i];

		if (ch == 0)
			break;
		s->sbat_level[n++] = ch == '\n' ? ' ' : ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	while (n && s->sbat_level[n - 1] == ' ')
		n--;
	s->sbat_level[n] = '\0';
}

/* EV_EFI_VARIABLE_AUTHORITY: a UEFI_VARIABLE_DATA whose value is one
 * EFI_SIGNATURE_DATA (owner GUID, then the certificate), or for shim's own
 * authorities ("Shim", "MokListRT") the certificate itself. */
static int note_authority(tpa_bootstate *s, const tpa_efi_var *v, uint32_t event)
{
	const uint8_t *der = v->data;
	size_t n = (size_t)v->data_len;

	if (s->nauthorities >= TPA_AUTHORITIES_MAX) {
		s->truncated = 1;
		return 0;
	}
	s->authority_event[s->nauthorities] = event;
	tpa_efi_utf16_ascii(s->authority_var[s->nauthorities],
			    sizeof(s->authority_var[s->nauthorities]), v->name,
			    (size_t)(v->name_chars * 2));
	if (n > 16 && (tpa_efi_var_is(v, tpa_efi_image_security_db, "db") ||
		       tpa_efi_var_is(v, tpa_efi_global_variable, "KEK"))) {
		der += 16;
		n -= 16;
	}
	return tpa_efi_cert_from_der(&s->authorities[s->nauthorities++], der, n);
}

/* UEFI_IMAGE_LOAD_EVENT of an application on PCR 4. */
static void note_app(tpa_bootstate *s, const tpa_event_checker *c, const tpa_event *ev,
		     size_t i)
{
	const uint8_t *dg = tpa_event_digest_in(ev, c->alg);
	tpa_boot_app *a;

	if (!dg)
		return;
	if (s->napps >= TPA_BOOT_APPS_MAX) {
		s->truncated = 1;
		return;
	}
	a = &s->apps[s->napps++];
	a->event = (uint32_t)i;
	a->digest_len = (uint16_t)c->ds;
	memcpy(a->digest, dg, c->ds);
	/* The path is a hint for people; the digest is what is judged. */
	if (tpa_efi_image_load_path(a->path, sizeof(a->path), ev->data, ev->data_len) < 0)
		tpa_err_clear();
}

static void note_action(tpa_bootstate *s, const tpa_event *ev)
{
	size_t k, l = ev->data_len < 63 ? ev->data_len : 63;

	if (s->nactions >= TPA_BOOT_ACTIONS_MAX) {
		s->truncated = 1;
		return;
	}
	for (k = 0; k < l; k++)
		s->actions[s->nactions][k] = (ev->data[k] >= 0x20 && ev->data[k] < 0x7f) ?
			(char)ev->data[k] : '?';
	s->actions[s->nactions][l] = '\0';
	s->nactions++;
}

/* The first SecureBoot variable decides; data is "ok" (1), a mismatch (0)
 * or without a digest in the checked bank. */
static void note_secure_boot(tpa_bootstate *s, const tpa_event_meaning *m, size_t i, int ok,
			     int value_only)
{
	const tpa_efi_var *v = &m->var;

	if (ok == TPA_DATA_NO_DIGEST) {
		s->secure_boot = TPA_SB_UNKNOWN;
		snprintf(s->secure_boot_why, sizeof(s->secure_boot_why),
			 "event %zu: SecureBoot has no %s digest", i, tpa_hash_label(s->bank));
	} else if (ok != 1) {
		s->secure_boot = TPA_SB_UNKNOWN;
		snprintf(s->secure_boot_why, sizeof(s->secure_boot_why),
			 "event %zu: SecureBoot data does not match its digest", i);
	} else if (v->data_len == 0) {
		s->secure_boot = TPA_SB_UNKNOWN;
		snprintf(s->secure_boot_why, sizeof(s->secure_boot_why),
			 "event %zu: SecureBoot variable with no data", i);
	} else if (v->data_len == 1 && (v->data[0] == 0 || v->data[0] == 1)) {
		s->secure_boot = v->data[0] ? TPA_SB_ENABLED : TPA_SB_DISABLED;
		snprintf(s->secure_boot_why, sizeof(s->secure_boot_why),
			 "event %zu: SecureBoot = %u%s", i, v->data[0],
			 value_only ? " (the firmware measured the value alone)" : "");
	} else {
		s->secure_boot = TPA_SB_UNKNOWN;
		snprintf(s->secure_boot_why, sizeof(s->secure_boot_why),
			 "event %zu: SecureBoot variable of %llu bytes", i,
			 (unsigned long long)v->data_len);
	}
}

static void note_fact(tpa_bootstate *s, int fact, uint32_t pcr, int counts)
{
	tpa_fact *f;

	if (fact < 0)
		return;
	f = &s->facts[fact];
	if (pcr < TPA_PCR_COUNT)
		f->pcrs |= (tpa_pcr_mask)1 << pcr;
	if (!counts)
		f->status = TPA_FACT_UNVERIFIED;
	else if (f->status == TPA_FACT_ABSENT)
		f->status = TPA_FACT_VERIFIED;
}

/* What one counted event adds to the state. */
static int note_event(tpa_bootstate *s, const tpa_event_checker *c, const tpa_event *ev,
		      const tpa_event_meaning *m, size_t i, int ok, int value_only, int *sb_seen)
{
	tpa_efi_sigdb *db = NULL;
	int err;

	switch (m->kind) {
	case TPA_EVK_SEPARATOR:
		s->separators |= (tpa_pcr_mask)1 << ev->pcr;
		if (ev->data_len == 4 && ev->data[0] == 1 && ev->data[1] == 0 &&
		    ev->data[2] == 0 && ev->data[3] == 0)
			s->error_separators |= (tpa_pcr_mask)1 << ev->pcr;
		return 0;
	case TPA_EVK_EXIT_BOOT_SERVICES:
		if (ok == 1) {
			s->exit_boot_services = 1;
			note_action(s, ev);
		}
		return 0;
	case TPA_EVK_DEBUG_MODE:
		if (ok == 1) {
			s->uefi_debug_mode = 1;
			note_action(s, ev);
		}
		return 0;
	case TPA_EVK_EFI_ACTION:
		if (ok == 1)
			note_action(s, ev);
		return 0;
	case TPA_EVK_FIRMWARE_VERSION:
		if (!s->firmware_version[0]) {
			tpa_efi_utf16_ascii(s->firmware_version, sizeof(s->firmware_version),
					    ev->data, ev->data_len);
			s->firmware_version_verified = ok == 1;
		}
		return 0;
	case TPA_EVK_BOOT_APPLICATION:
		note_app(s, c, ev, i);
		return 0;
	case TPA_EVK_GRUB_KERNEL:
		if (ok == 1)
			tpa_event_kernel_path(s->kernel, sizeof(s->kernel), m);
		return 0;
	case TPA_EVK_GRUB_CMDLINE:
		if (ok == 1) {
			size_t n = m->text_len < sizeof(s->kernel_cmdline) - 1 ? m->text_len :
				sizeof(s->kernel_cmdline) - 1, k;

			for (k = 0; k < n; k++)
				s->kernel_cmdline[k] = m->text[k] >= 0x20 && m->text[k] < 0x7f ?
					(char)m->text[k] : '?';
			s->kernel_cmdline[n] = '\0';
			snprintf(s->cmdline_source, sizeof(s->cmdline_source), "grub");
		}
		return 0;
	case TPA_EVK_STUB_CMDLINE:
		if (!s->kernel_cmdline[0] && ok == 1) {
			tpa_efi_utf16_ascii(s->kernel_cmdline, sizeof(s->kernel_cmdline), ev->data,
					    ev->data_len);
			snprintf(s->cmdline_source, sizeof(s->cmdline_source), "systemd-stub");
		}
		return 0;
	case TPA_EVK_AUTHORITY:
		if (ok == 1 && m->var_ok && !s->sbat_level[0] &&
		    tpa_efi_var_is(&m->var, tpa_efi_shim_lock, "SbatLevel"))
			note_sbat(s, &m->var);
		return ok == 1 && m->var_ok ? note_authority(s, &m->var, ev->number) : 0;
	case TPA_EVK_PK: db = &s->pk; break;
	case TPA_EVK_KEK: db = &s->kek; break;
	case TPA_EVK_DB: db = &s->db; break;
	case TPA_EVK_DBX: db = &s->dbx; break;
	case TPA_EVK_SECURE_BOOT:
		if (!*sb_seen) {
			*sb_seen = 1;
			note_secure_boot(s, m, i, ok, value_only);
		}
		return 0;
	case TPA_EVK_NO_EXTEND:
	case TPA_EVK_CONFIG_VARIABLE:
	case TPA_EVK_GRUB_COMMAND:
	case TPA_EVK_LOADER_FILE:
	case TPA_EVK_UKI_SECTION:
	case TPA_EVK_COUNT:
		return 0;
	case TPA_EVK_OTHER:
		note_shim_pcr14(s, c, ev);
		return 0;
	}
	/* A signature database that was verified, and parses. */
	if (ok != 1 || !m->var_ok)
		return 0;
	err = tpa_efi_sigdb_add(db, m->var.data, (size_t)m->var.data_len);
	return err == TPA_ERR_PARSE ? 0 : err; /* a malformed list: the database stays partial */
}

int tpa_bootstate_derive(tpa_bootstate *out, const tpa_eventlog *log, uint16_t bank,
			 tpa_pcr_mask counted)
{
	tpa_bootstate *s = out;
	tpa_event_checker c = { 0 };
	size_t i, n = tpa_eventlog_count(log);
	int sb_seen = 0, err = 0;

	if (!out || !log)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "bootstate: NULL");
	memset(s, 0, sizeof(*s));
	s->first_mismatch = -1;
	s->bank = bank ? bank : tpa_eventlog_strongest_bank(log);
	s->counted = counted & TPA_PCR_MASK_ALL;
	if ((err = tpa_event_checker_init(&c, s->bank)) < 0)
		return tpa_err_fail(err, "bootstate: %s", tpa_err_last());
	if (!(s->meaning = calloc(n ? n : 1, sizeof(*s->meaning)))) {
		tpa_event_checker_clear(&c);
		return tpa_err_fail(TPA_ERR_NOMEM, "bootstate: out of memory");
	}
	s->nevents = n;
	snprintf(s->secure_boot_why, sizeof(s->secure_boot_why),
		 "no SecureBoot variable measured in PCR 7");
	for (i = 0; i < n; i++) {
		const tpa_event *ev = tpa_eventlog_event(log, i);
		tpa_event_meaning *m = &s->meaning[i];
		int ok, value_only = 0, counts;

		tpa_event_meaning_of(m, ev);
		if (m->kind == TPA_EVK_NO_EXTEND)
			continue;
		counts = ev->pcr < TPA_PCR_COUNT && ((s->counted >> ev->pcr) & 1);
		/* Every event's data is checked, counted or not: data that does
		 * not hash to its digest is an edited log. */
		if ((ok = tpa_event_data_check(&c, ev, m, &value_only)) == -1) {
			err = tpa_err_fail(TPA_ERR_CRYPTO, "bootstate: hashing failed");
			goto cleanup;
		}
		m->data_ok = ok;
		if (ok == 0 && m->digest_of != TPA_DIGEST_OF_DATA_OR_OTHER) {
			s->digest_mismatches++;
			if (s->first_mismatch < 0)
				s->first_mismatch = (int32_t)i;
		}
		note_fact(s, fact_of(m->kind), ev->pcr, counts);
		if (m->kind == TPA_EVK_SEPARATOR && ev->pcr < TPA_PCR_COUNT)
			s->log_separators |= (tpa_pcr_mask)1 << ev->pcr;
		if (!counts) {
			s->uncounted_events++;
			if (m->kind == TPA_EVK_SECURE_BOOT && !sb_seen) {
				sb_seen = 1;
				s->secure_boot = TPA_SB_UNVERIFIED;
				snprintf(s->secure_boot_why, sizeof(s->secure_boot_why),
					 "event %zu: SecureBoot is measured in PCR 7, which the "
					 "quote does not vouch for", i);
			}
			continue;
		}
		if (s->exit_boot_services)
			s->events_after_ebs++;
		if ((err = note_event(s, &c, ev, m, i, ok, value_only, &sb_seen)) < 0)
			goto cleanup;
	}
cleanup:
	if (err < 0)
		tpa_bootstate_clear(s);
	tpa_event_checker_clear(&c);
	return err;
}
