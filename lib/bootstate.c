/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "tpa/bootstate.h"
#include "tpa/err.h"
#include "tpa/tpm_decode.h"

#define EBS_INVOCATION "Exit Boot Services Invocation"
#define UEFI_DEBUG_MODE "UEFI Debug Mode"
#define IMAGE_LOAD_HDR 32 /* location, length, link address, path length */

const char *tpa_secure_boot_name(tpa_secure_boot sb)
{
	switch (sb) {
	case TPA_SB_ENABLED: return "enabled";
	case TPA_SB_DISABLED: return "disabled";
	case TPA_SB_UNKNOWN: return "unknown";
	}
	return "unknown";
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The bank whose digests are checked against event data, and a reusable
 * hashing context. Only one bank is checked: the one the quote covers (a
 * digest of an unquoted bank proves nothing). */
typedef struct {
	uint16_t alg;
	size_t ds;
	const EVP_MD *md;
	EVP_MD_CTX *ctx;
} checker;

/* 1 if the event's digest in the checked bank is the hash of b (n bytes),
 * 0 if not, -2 if the event has no digest in that bank, -1 on failure. */
static int digests_match(checker *c, const tpa_event *ev, const uint8_t *b, size_t n)
{
	uint8_t dg[TPA_DIGEST_MAX];
	uint32_t k;

	for (k = 0; k < ev->ndigests; k++)
		if (ev->digests[k].alg == c->alg)
			break;
	if (k == ev->ndigests)
		return -2;
	if (!EVP_DigestInit_ex(c->ctx, c->md, NULL) || !EVP_DigestUpdate(c->ctx, b, n) ||
	    !EVP_DigestFinal_ex(c->ctx, dg, NULL))
		return -1;
	/* Public data against a public digest: no constant time needed. */
	return memcmp(dg, ev->digests[k].digest, c->ds) == 0;
}

static int data_matches(checker *c, const tpa_event *ev)
{
	return digests_match(c, ev, ev->data, ev->data_len);
}

/* GRUB's EV_IPL strings on PCR 8 are measured as the text after a prefix:
 * upstream "grub_cmd: CMD" and "kernel_cmdline: ..." without the NUL; Red
 * Hat's "grub_cmd CMD" with it and "grub_kernel_cmdline ..." without. Either
 * form is accepted for every prefix (the NUL changes no meaning). */
static const struct {
	const char *text;
	int with_nul; /* the form this prefix's GRUB usually measures */
} grub_prefixes[] = {
	{ "grub_cmd: ", 0 }, { "kernel_cmdline: ", 0 }, { "grub_cmd ", 1 },
	{ "grub_kernel_cmdline ", 0 },
};

static int grub_string_matches(checker *c, const tpa_event *ev)
{
	size_t i, n = ev->data_len, full = ev->data_len;

	if (n && ev->data[n - 1] == '\0')
		n--;
	for (i = 0; i < sizeof(grub_prefixes) / sizeof(grub_prefixes[0]); i++) {
		size_t pl = strlen(grub_prefixes[i].text), first = n, second = full;
		int m;

		if (n < pl || memcmp(ev->data, grub_prefixes[i].text, pl) != 0)
			continue;
		/* The usual form first: one hash per event on either GRUB. */
		if (grub_prefixes[i].with_nul) {
			first = full;
			second = n;
		}
		m = digests_match(c, ev, ev->data + pl, first - pl);
		if (m == 0 && full != n)
			m = digests_match(c, ev, ev->data + pl, second - pl);
		return m;
	}
	return -2; /* not a GRUB string: no rule */
}

/* Whether an event's data is what was measured, for the event types whose
 * digest the specifications (or GRUB) define as a hash of the data:
 * 1 yes, 0 no, -2 no rule for this event, -1 hashing failed. */
static int event_data_verified(checker *c, const tpa_event *ev)
{
	switch (ev->type) {
	case TPA_EV_SEPARATOR:
	case TPA_EV_EFI_ACTION:
	case TPA_EV_EFI_VARIABLE_DRIVER_CONFIG:
		return data_matches(c, ev);
	case TPA_EV_IPL:
		return ev->pcr == 8 ? grub_string_matches(c, ev) : -2;
	default:
		return -2;
	}
}

void tpa_bootstate_clear(tpa_bootstate *s)
{
	if (!s)
		return;
	tpa_efi_sigdb_clear(&s->pk);
	tpa_efi_sigdb_clear(&s->kek);
	tpa_efi_sigdb_clear(&s->db);
	tpa_efi_sigdb_clear(&s->dbx);
	memset(s, 0, sizeof(*s));
	s->first_mismatch = -1;
}

/* The digest of the event in the checked bank, or NULL. */
static const uint8_t *bank_digest(const checker *c, const tpa_event *ev)
{
	uint32_t k;

	for (k = 0; k < ev->ndigests; k++)
		if (ev->digests[k].alg == c->alg)
			return ev->digests[k].digest;
	return NULL;
}

/* A verified variable on PCR 7: the signature databases. */
static int note_variable(tpa_bootstate *s, const tpa_efi_var *v)
{
	tpa_efi_sigdb *db = NULL;

	if (tpa_efi_var_is(v, tpa_efi_global_variable, "PK"))
		db = &s->pk;
	else if (tpa_efi_var_is(v, tpa_efi_global_variable, "KEK"))
		db = &s->kek;
	else if (tpa_efi_var_is(v, tpa_efi_image_security_db, "db"))
		db = &s->db;
	else if (tpa_efi_var_is(v, tpa_efi_image_security_db, "dbx"))
		db = &s->dbx;
	if (!db)
		return 0;
	return tpa_efi_sigdb_add(db, v->data, (size_t)v->data_len);
}

/* EV_EFI_VARIABLE_AUTHORITY: a UEFI_VARIABLE_DATA whose value is one
 * EFI_SIGNATURE_DATA (owner GUID, then the certificate), or for shim's own
 * authorities ("Shim", "MokListRT") the certificate itself. */
static int note_authority(tpa_bootstate *s, const tpa_efi_var *v)
{
	const uint8_t *der = v->data;
	size_t n = (size_t)v->data_len;

	if (s->nauthorities >= TPA_AUTHORITIES_MAX) {
		s->truncated = 1;
		return 0;
	}
	if (n > 16 && (tpa_efi_var_is(v, tpa_efi_image_security_db, "db") ||
		       tpa_efi_var_is(v, tpa_efi_global_variable, "KEK"))) {
		der += 16;
		n -= 16;
	}
	return tpa_efi_cert_from_der(&s->authorities[s->nauthorities++], der, n);
}

/* UEFI_IMAGE_LOAD_EVENT of an application on PCR 4. */
static void note_app(tpa_bootstate *s, const checker *c, const tpa_event *ev, size_t i)
{
	const uint8_t *dg = bank_digest(c, ev);
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
	if (ev->data_len >= IMAGE_LOAD_HDR) {
		uint64_t pl = le64(ev->data + 24);

		if (pl <= ev->data_len - IMAGE_LOAD_HDR &&
		    tpa_efi_devpath_file(a->path, sizeof(a->path), ev->data + IMAGE_LOAD_HDR,
					 (size_t)pl) < 0)
			a->path[0] = '\0';
	}
}

/* Verified GRUB strings on PCR 8: the kernel and its command line. */
/* The text after prefix, if d (n bytes) starts with it; its length in *len. */
static const char *after(const char *d, size_t n, const char *prefix, size_t *len)
{
	size_t pl = strlen(prefix);

	if (n <= pl || memcmp(d, prefix, pl) != 0)
		return NULL;
	*len = n - pl;
	return d + pl;
}

static void note_grub(tpa_bootstate *s, const tpa_event *ev)
{
	size_t n = ev->data_len, len = 0;
	const char *d = (const char *)ev->data, *t;

	if (n && d[n - 1] == '\0')
		n--;
	if ((t = after(d, n, "grub_cmd: linux ", &len)) ||
	    (t = after(d, n, "grub_cmd linux ", &len))) {
		size_t e = 0;

		while (e < len && t[e] != ' ')
			e++;
		snprintf(s->kernel, sizeof(s->kernel), "%.*s", (int)e, t);
	} else if ((t = after(d, n, "kernel_cmdline: ", &len)) ||
		   (t = after(d, n, "grub_kernel_cmdline ", &len))) {
		snprintf(s->kernel_cmdline, sizeof(s->kernel_cmdline), "%.*s", (int)len, t);
		snprintf(s->cmdline_source, sizeof(s->cmdline_source), "grub");
	}
	/* Keep the text printable. */
	for (n = 0; s->kernel_cmdline[n]; n++)
		if ((unsigned char)s->kernel_cmdline[n] < 0x20 ||
		    (unsigned char)s->kernel_cmdline[n] >= 0x7f)
			s->kernel_cmdline[n] = '?';
	for (n = 0; s->kernel[n]; n++)
		if ((unsigned char)s->kernel[n] < 0x20 || (unsigned char)s->kernel[n] >= 0x7f)
			s->kernel[n] = '?';
}

/* The bank to check when the caller names none: SHA-256 if the log has
 * it, else the first hash of the Spec ID the library knows. */
static uint16_t default_bank(const tpa_eventlog *log)
{
	uint16_t algs[TPA_EVLOG_MAX_ALGS];
	size_t n = tpa_eventlog_banks(log, algs, TPA_EVLOG_MAX_ALGS), i;

	for (i = 0; i < n && i < TPA_EVLOG_MAX_ALGS; i++)
		if (algs[i] == TPM2_ALG_SHA256)
			return algs[i];
	for (i = 0; i < n && i < TPA_EVLOG_MAX_ALGS; i++)
		if (tpa_hash_size(algs[i]))
			return algs[i];
	return 0;
}

int tpa_bootstate_derive(tpa_bootstate *out, const tpa_eventlog *log, uint16_t bank)
{
	tpa_bootstate *s = out;
	checker c = { 0 };
	size_t i, n = tpa_eventlog_count(log);
	int sb_seen = 0, err = 0;

	if (!out || !log)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "bootstate: NULL");
	memset(s, 0, sizeof(*s));
	s->first_mismatch = -1;
	c.alg = bank ? bank : default_bank(log);
	c.ds = tpa_hash_size(c.alg);
	c.md = tpa_hash_md(c.alg);
	if (!c.md)
		return tpa_err_fail(TPA_ERR_INVALID_ARG,
				    "bootstate: no usable bank to check event data with");
	if (!(c.ctx = EVP_MD_CTX_new()))
		return tpa_err_fail(TPA_ERR_NOMEM, "bootstate: out of memory");
	snprintf(s->secure_boot_why, sizeof(s->secure_boot_why),
		 "no SecureBoot variable measured in PCR 7");
	for (i = 0; i < n; i++) {
		const tpa_event *ev = tpa_eventlog_event(log, i);
		int m = -2; /* whether the data was measured: set once, used below */

		if (s->exit_boot_services && ev->type != TPA_EV_NO_ACTION)
			s->events_after_ebs++;
		/* Variables are checked below, with the value-only quirk. */
		if (ev->type != TPA_EV_EFI_VARIABLE_DRIVER_CONFIG) {
			if ((m = event_data_verified(&c, ev)) == -1) {
				err = tpa_err_fail(TPA_ERR_CRYPTO, "bootstate: hashing failed");
				goto cleanup;
			}
			if (m == 0) {
				s->digest_mismatches++;
				if (s->first_mismatch < 0)
					s->first_mismatch = (int32_t)i;
			}
		}
		if (ev->type == TPA_EV_SEPARATOR && ev->pcr < TPA_EVLOG_PCRS) {
			s->separators |= 1u << ev->pcr;
			if (ev->data_len == 4 && ev->data[0] == 1 && ev->data[1] == 0 &&
			    ev->data[2] == 0 && ev->data[3] == 0)
				s->error_separators |= 1u << ev->pcr;
		}
		if (ev->type == TPA_EV_EFI_ACTION && ev->pcr == 5 &&
		    ev->data_len == strlen(EBS_INVOCATION) &&
		    memcmp(ev->data, EBS_INVOCATION, ev->data_len) == 0 && m == 1)
			s->exit_boot_services = 1;
		if (ev->type == TPA_EV_EFI_ACTION && m == 1) {
			if (ev->pcr == 7 && ev->data_len == strlen(UEFI_DEBUG_MODE) &&
			    memcmp(ev->data, UEFI_DEBUG_MODE, ev->data_len) == 0)
				s->uefi_debug_mode = 1;
			if (s->nactions < TPA_BOOT_ACTIONS_MAX) {
				size_t k, l = ev->data_len < 63 ? ev->data_len : 63;

				for (k = 0; k < l; k++)
					s->actions[s->nactions][k] =
						(ev->data[k] >= 0x20 && ev->data[k] < 0x7f) ?
						(char)ev->data[k] : '?';
				s->actions[s->nactions][l] = '\0';
				s->nactions++;
			} else {
				s->truncated = 1;
			}
		}
		if (ev->type == TPA_EV_S_CRTM_VERSION && !s->firmware_version[0]) {
			tpa_efi_utf16_ascii(s->firmware_version, sizeof(s->firmware_version),
					    ev->data, ev->data_len);
			s->firmware_version_verified = data_matches(&c, ev) == 1;
		}
		if (ev->type == TPA_EV_EFI_BOOT_SERVICES_APPLICATION && ev->pcr == 4)
			note_app(s, &c, ev, i);
		if (ev->type == TPA_EV_IPL && ev->pcr == 8 && m == 1)
			note_grub(s, ev);
		/* systemd-stub: the kernel command line as UTF-16 on PCR 12. */
		if (ev->type == TPA_EV_IPL && ev->pcr == 12 && !s->kernel_cmdline[0] &&
		    data_matches(&c, ev) == 1) {
			tpa_efi_utf16_ascii(s->kernel_cmdline, sizeof(s->kernel_cmdline), ev->data,
					    ev->data_len);
			snprintf(s->cmdline_source, sizeof(s->cmdline_source), "systemd-stub");
		}
		if (ev->type == TPA_EV_EFI_VARIABLE_AUTHORITY && ev->pcr == 7 &&
		    data_matches(&c, ev) == 1) {
			tpa_efi_var av = { 0 };

			if (tpa_efi_var_parse(&av, ev->data, ev->data_len) == 0 &&
			    (err = note_authority(s, &av)) < 0)
				goto cleanup;
		}
		if (ev->type == TPA_EV_EFI_VARIABLE_DRIVER_CONFIG) {
			tpa_efi_var v = { 0 };
			int parsed = tpa_efi_var_parse(&v, ev->data, ev->data_len) == 0;
			const char *quirk = "";

			/* The firmware measured H(UEFI_VARIABLE_DATA); some (seen in a
			 * TPM 1.2 era log) measured the variable's value alone, which
			 * still binds the value but not the name. Data that hashes to
			 * neither is not what was measured. */
			if ((m = data_matches(&c, ev)) == 0 && parsed && v.data_len &&
			    (m = digests_match(&c, ev, v.data, (size_t)v.data_len)) == 1)
				quirk = " (the firmware measured the value alone)";
			if (m == -1) {
				err = tpa_err_fail(TPA_ERR_CRYPTO, "bootstate: hashing failed");
				goto cleanup;
			}
			if (!m) {
				s->digest_mismatches++;
				if (s->first_mismatch < 0)
					s->first_mismatch = (int32_t)i;
			}
			/* A signature database that was verified, and parses-> */
			if (m == 1 && parsed && ev->pcr == 7 && (err = note_variable(s, &v)) < 0) {
				if (err != TPA_ERR_PARSE)
					goto cleanup;
				err = 0; /* a malformed list: the database stays partial */
			}
			if (ev->pcr == 7 && parsed &&
			    tpa_efi_var_is(&v, tpa_efi_global_variable, "SecureBoot") && !sb_seen) {
				sb_seen = 1;
				if (m == -2) {
					s->secure_boot = TPA_SB_UNKNOWN;
					snprintf(s->secure_boot_why, sizeof(s->secure_boot_why),
						 "event %zu: SecureBoot has no %s digest", i,
						 tpa_hash_label(c.alg));
				} else if (!m) {
					s->secure_boot = TPA_SB_UNKNOWN;
					snprintf(s->secure_boot_why, sizeof(s->secure_boot_why),
						 "event %zu: SecureBoot data does not match its digest", i);
				} else if (v.data_len == 0) {
					s->secure_boot = TPA_SB_UNKNOWN;
					snprintf(s->secure_boot_why, sizeof(s->secure_boot_why),
						 "event %zu: SecureBoot variable with no data", i);
				} else if (v.data_len == 1 && (v.data[0] == 0 || v.data[0] == 1)) {
					s->secure_boot = v.data[0] ? TPA_SB_ENABLED : TPA_SB_DISABLED;
					snprintf(s->secure_boot_why, sizeof(s->secure_boot_why),
						 "event %zu: SecureBoot = %u%s", i, v.data[0], quirk);
				} else {
					s->secure_boot = TPA_SB_UNKNOWN;
					snprintf(s->secure_boot_why, sizeof(s->secure_boot_why),
						 "event %zu: SecureBoot variable of %llu bytes", i,
						 (unsigned long long)v.data_len);
				}
			}
		}
	}
cleanup:
	if (err < 0)
		tpa_bootstate_clear(s);
	EVP_MD_CTX_free(c.ctx);
	return err;
}
