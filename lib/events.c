/* SPDX-License-Identifier: BSD-3-Clause */
/* The meaning of each event, in one table (see events.h). */
#include <stdio.h>
#include <string.h>

#include "tpa/err.h"
#include "tpa/events.h"
#include "tpa/tpm_decode.h"

static const char *const rule_names[TPA_RULE_COUNT] = {
	"secure-boot", "uefi-debug-mode", "firmware-version", "pk", "kek", "db", "dbx",
	"authorities", "boot-applications", "kernel-cmdline", "pcrs", "known-events",
	"dbx-current", "ca-2023", "no-test-keys", "no-revoked-components", "required-pcrs",
};

const char *tpa_rule_name(tpa_rule_id r)
{
	return (unsigned)r < TPA_RULE_COUNT ? rule_names[r] : "unknown";
}

static const char *const kind_names[TPA_EVK_COUNT] = {
	[TPA_EVK_NO_EXTEND] = "no-action event",
	[TPA_EVK_SECURE_BOOT] = "SecureBoot variable",
	[TPA_EVK_PK] = "PK variable",
	[TPA_EVK_KEK] = "KEK variable",
	[TPA_EVK_DB] = "db variable",
	[TPA_EVK_DBX] = "dbx variable",
	[TPA_EVK_CONFIG_VARIABLE] = "configuration variable",
	[TPA_EVK_AUTHORITY] = "verifying authority",
	[TPA_EVK_DEBUG_MODE] = "UEFI debug mode",
	[TPA_EVK_FIRMWARE_VERSION] = "firmware version",
	[TPA_EVK_BOOT_APPLICATION] = "boot application",
	[TPA_EVK_GRUB_KERNEL] = "GRUB kernel command",
	[TPA_EVK_GRUB_CMDLINE] = "GRUB kernel command line",
	[TPA_EVK_GRUB_COMMAND] = "GRUB command",
	[TPA_EVK_LOADER_FILE] = "boot loader file",
	[TPA_EVK_UKI_SECTION] = "UKI section",
	[TPA_EVK_STUB_CMDLINE] = "systemd-stub command line",
	[TPA_EVK_SEPARATOR] = "separator",
	[TPA_EVK_EXIT_BOOT_SERVICES] = "Exit Boot Services",
	[TPA_EVK_EFI_ACTION] = "EFI action",
	[TPA_EVK_OTHER] = "event",
};

const char *tpa_event_kind_name(tpa_event_kind k)
{
	return (unsigned)k < TPA_EVK_COUNT ? kind_names[k] : "event";
}

#define EBS_INVOCATION "Exit Boot Services Invocation"
#define UEFI_DEBUG_MODE "UEFI Debug Mode"

/* GRUB's EV_IPL strings on PCR 8 are measured as the text after a prefix:
 * upstream "grub_cmd: CMD" and "kernel_cmdline: ..." without the NUL; Red
 * Hat's "grub_cmd CMD" with it and "grub_kernel_cmdline ..." without. Either
 * form is accepted for every prefix (the NUL changes no meaning). */
static const struct {
	const char *text;
	int nul_first;   /* the form this prefix's GRUB usually measures */
	int cmdline;     /* "kernel_cmdline": the command line itself */
} grub_prefixes[] = {
	{ "grub_cmd: ", 0, 0 }, { "kernel_cmdline: ", 0, 1 }, { "grub_cmd ", 1, 0 },
	{ "grub_kernel_cmdline ", 0, 1 },
};

/* The commands that load the kernel; their arguments are its path and its
 * command line. */
static const char *const kernel_commands[] = { "linux ", "linuxefi ", "linux16 " };

static int is_text(const tpa_event *ev, const char *s)
{
	size_t n = ev->data_len;

	if (n && ev->data[n - 1] == '\0')
		n--;
	return n == strlen(s) && memcmp(ev->data, s, n) == 0;
}

/* GRUB's strings (PCR 8): the prefix, the measured text, and its kind. */
static tpa_event_kind grub_string(tpa_event_meaning *m, const tpa_event *ev)
{
	size_t n = ev->data_len, i, k;

	if (n && ev->data[n - 1] == '\0')
		n--;
	for (i = 0; i < sizeof(grub_prefixes) / sizeof(grub_prefixes[0]); i++) {
		size_t pl = strlen(grub_prefixes[i].text);

		if (n < pl || memcmp(ev->data, grub_prefixes[i].text, pl) != 0)
			continue;
		m->digest_of = TPA_DIGEST_OF_TEXT;
		m->text = ev->data + pl;
		m->text_len = n - pl;
		m->text_nul_first = grub_prefixes[i].nul_first;
		if (grub_prefixes[i].cmdline)
			return TPA_EVK_GRUB_CMDLINE;
		for (k = 0; k < sizeof(kernel_commands) / sizeof(kernel_commands[0]); k++) {
			size_t cl = strlen(kernel_commands[k]);

			if (m->text_len > cl && memcmp(m->text, kernel_commands[k], cl) == 0)
				return TPA_EVK_GRUB_KERNEL;
		}
		return TPA_EVK_GRUB_COMMAND;
	}
	return TPA_EVK_GRUB_COMMAND; /* a string of no known form: no digest rule */
}

void tpa_event_meaning_of(tpa_event_meaning *m, const tpa_event *ev)
{
	memset(m, 0, sizeof(*m));
	m->rule = TPA_RULE_KNOWN_EVENTS;
	m->kind = TPA_EVK_OTHER;
	switch (ev->type) {
	case TPA_EV_NO_ACTION:
		m->kind = TPA_EVK_NO_EXTEND;
		m->rule = -1;
		return;
	case TPA_EV_SEPARATOR:
		m->kind = TPA_EVK_SEPARATOR;
		m->digest_of = TPA_DIGEST_OF_DATA;
		return;
	case TPA_EV_S_CRTM_VERSION:
		/* Some real firmware measures something else than the string:
		 * its digest is checked, not required to match. */
		m->kind = TPA_EVK_FIRMWARE_VERSION;
		m->rule = TPA_RULE_FIRMWARE_VERSION;
		m->digest_of = TPA_DIGEST_OF_DATA_OR_OTHER;
		return;
	case TPA_EV_EFI_ACTION:
		m->digest_of = TPA_DIGEST_OF_DATA;
		if (ev->pcr == 7 && is_text(ev, UEFI_DEBUG_MODE)) {
			m->kind = TPA_EVK_DEBUG_MODE;
			m->rule = TPA_RULE_UEFI_DEBUG_MODE;
		} else if (ev->pcr == 5 && ev->data_len == strlen(EBS_INVOCATION) &&
			   memcmp(ev->data, EBS_INVOCATION, ev->data_len) == 0) {
			m->kind = TPA_EVK_EXIT_BOOT_SERVICES;
		} else {
			m->kind = TPA_EVK_EFI_ACTION;
		}
		return;
	case TPA_EV_EFI_VARIABLE_DRIVER_CONFIG:
		m->digest_of = TPA_DIGEST_OF_VARIABLE;
		m->var_ok = tpa_efi_var_parse(&m->var, ev->data, ev->data_len) == 0;
		if (ev->pcr != 7)
			return;
		m->kind = TPA_EVK_CONFIG_VARIABLE;
		if (!m->var_ok)
			return;
		if (tpa_efi_var_is(&m->var, tpa_efi_global_variable, "SecureBoot")) {
			m->kind = TPA_EVK_SECURE_BOOT;
			m->rule = TPA_RULE_SECURE_BOOT;
		} else if (tpa_efi_var_is(&m->var, tpa_efi_global_variable, "PK")) {
			m->kind = TPA_EVK_PK;
			m->rule = TPA_RULE_PK;
		} else if (tpa_efi_var_is(&m->var, tpa_efi_global_variable, "KEK")) {
			m->kind = TPA_EVK_KEK;
			m->rule = TPA_RULE_KEK;
		} else if (tpa_efi_var_is(&m->var, tpa_efi_image_security_db, "db")) {
			m->kind = TPA_EVK_DB;
			m->rule = TPA_RULE_DB;
		} else if (tpa_efi_var_is(&m->var, tpa_efi_image_security_db, "dbx")) {
			m->kind = TPA_EVK_DBX;
			m->rule = TPA_RULE_DBX;
		}
		return;
	case TPA_EV_EFI_VARIABLE_AUTHORITY:
		/* shim measures some of its own authorities otherwise. */
		m->digest_of = TPA_DIGEST_OF_DATA_OR_OTHER;
		m->var_ok = tpa_efi_var_parse(&m->var, ev->data, ev->data_len) == 0;
		if (ev->pcr == 7) {
			m->kind = TPA_EVK_AUTHORITY;
			m->rule = TPA_RULE_AUTHORITIES;
		}
		return;
	case TPA_EV_EFI_BOOT_SERVICES_APPLICATION:
		if (ev->pcr == 4) {
			m->kind = TPA_EVK_BOOT_APPLICATION;
			m->rule = TPA_RULE_BOOT_APPLICATIONS;
		}
		return;
	case TPA_EV_IPL:
		switch (ev->pcr) {
		case 8:
			m->kind = grub_string(m, ev);
			m->rule = m->kind == TPA_EVK_GRUB_COMMAND ? TPA_RULE_BOOT_APPLICATIONS :
				TPA_RULE_KERNEL_CMDLINE;
			return;
		case 9:
			m->kind = TPA_EVK_LOADER_FILE;
			m->rule = TPA_RULE_BOOT_APPLICATIONS;
			return;
		case 11:
			m->kind = TPA_EVK_UKI_SECTION;
			m->rule = TPA_RULE_BOOT_APPLICATIONS;
			return;
		case 12:
			m->kind = TPA_EVK_STUB_CMDLINE;
			m->rule = TPA_RULE_KERNEL_CMDLINE;
			m->digest_of = TPA_DIGEST_OF_DATA_OR_OTHER;
			return;
		default:
			return;
		}
	default:
		return;
	}
}

int tpa_event_checker_init(tpa_event_checker *c, uint16_t alg)
{
	memset(c, 0, sizeof(*c));
	c->alg = alg;
	c->ds = tpa_hash_size(alg);
	if (!(c->md = tpa_hash_md(alg)))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "no usable bank to check event data with");
	if (!(c->ctx = EVP_MD_CTX_new()))
		return tpa_err_fail(TPA_ERR_NOMEM, "event data: out of memory");
	return 0;
}

void tpa_event_checker_clear(tpa_event_checker *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->ctx);
	c->ctx = NULL;
}

const uint8_t *tpa_event_digest_in(const tpa_event *ev, uint16_t bank)
{
	uint32_t k;

	for (k = 0; k < ev->ndigests; k++)
		if (ev->digests[k].alg == bank)
			return ev->digests[k].digest;
	return NULL;
}

/* 1 if dg is the hash of b (n bytes), 0 if not, -1 on failure. */
static int hash_is(tpa_event_checker *c, const uint8_t *dg, const uint8_t *b, size_t n)
{
	uint8_t h[TPA_DIGEST_MAX];

	if (!EVP_DigestInit_ex(c->ctx, c->md, NULL) || !EVP_DigestUpdate(c->ctx, b, n) ||
	    !EVP_DigestFinal_ex(c->ctx, h, NULL))
		return -1;
	/* Public data against a public digest: no constant time needed. */
	return memcmp(h, dg, c->ds) == 0;
}

int tpa_event_data_check(tpa_event_checker *c, const tpa_event *ev, const tpa_event_meaning *m,
			 int *value_only)
{
	const uint8_t *dg;
	int r;

	if (value_only)
		*value_only = 0;
	if (m->digest_of == TPA_DIGEST_OF_ELSEWHERE)
		return TPA_DATA_NO_RULE;
	if (!(dg = tpa_event_digest_in(ev, c->alg)))
		return TPA_DATA_NO_DIGEST;
	switch (m->digest_of) {
	case TPA_DIGEST_OF_DATA:
	case TPA_DIGEST_OF_DATA_OR_OTHER:
		return hash_is(c, dg, ev->data, ev->data_len);
	case TPA_DIGEST_OF_VARIABLE:
		/* The firmware measured H(UEFI_VARIABLE_DATA); some (seen in a
		 * TPM 1.2 era log) measured the variable's value alone, which
		 * still binds the value but not the name. Data that hashes to
		 * neither is not what was measured. */
		if ((r = hash_is(c, dg, ev->data, ev->data_len)) != 0 || !m->var_ok ||
		    !m->var.data_len)
			return r;
		r = hash_is(c, dg, m->var.data, (size_t)m->var.data_len);
		if (r == 1 && value_only)
			*value_only = 1;
		return r;
	case TPA_DIGEST_OF_TEXT: {
		/* The usual form first: one hash per event on either GRUB. */
		int with_nul = ev->data_len > (size_t)(m->text - ev->data) + m->text_len;

		r = hash_is(c, dg, m->text, m->text_len + (m->text_nul_first && with_nul));
		if (r == 0 && with_nul)
			r = hash_is(c, dg, m->text, m->text_len + !m->text_nul_first);
		return r;
	}
	case TPA_DIGEST_OF_ELSEWHERE:
		break;
	}
	return TPA_DATA_NO_RULE;
}

static void printable(char *out, size_t cap, const uint8_t *b, size_t n)
{
	size_t i;

	if (!cap)
		return;
	if (n >= cap)
		n = cap - 1;
	for (i = 0; i < n; i++)
		out[i] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '?';
	out[n] = '\0';
}

void tpa_event_text(char *out, size_t cap, const tpa_event *ev)
{
	size_t n = ev->data_len;

	if (n && ev->data[n - 1] == '\0')
		n--;
	printable(out, cap, ev->data, n);
}

/* The arguments after the kernel command ("PATH ARGS"), or NULL. */
static const uint8_t *kernel_args(const tpa_event_meaning *m, size_t *len)
{
	size_t k;

	if (m->kind != TPA_EVK_GRUB_KERNEL)
		return NULL;
	for (k = 0; k < sizeof(kernel_commands) / sizeof(kernel_commands[0]); k++) {
		size_t cl = strlen(kernel_commands[k]);

		if (m->text_len > cl && memcmp(m->text, kernel_commands[k], cl) == 0) {
			*len = m->text_len - cl;
			return m->text + cl;
		}
	}
	return NULL;
}

void tpa_event_kernel_path(char *out, size_t cap, const tpa_event_meaning *m)
{
	size_t n = 0, e = 0;
	const uint8_t *a = kernel_args(m, &n);

	if (!cap)
		return;
	out[0] = '\0';
	if (!a)
		return;
	while (e < n && a[e] != ' ')
		e++;
	printable(out, cap, a, e);
}

int tpa_event_cmdline_params(char *out, const tpa_event *ev, const tpa_event_meaning *m)
{
	char text[TPA_EVENT_TEXT_MAX];
	const char *t = text;
	const uint8_t *a;
	size_t n = 0;

	out[0] = '\0';
	text[0] = '\0';
	/* UTF-16 takes two bytes a character: a line longer than the text
	 * buffer fills it, and is refused below. */
	if (m->kind == TPA_EVK_STUB_CMDLINE) {
		tpa_efi_utf16_ascii(text, sizeof(text), ev->data, ev->data_len);
	} else if ((a = kernel_args(m, &n))) {
		printable(text, sizeof(text), a, n);
		while (*t && *t != ' ')
			t++; /* the kernel's path: judged by boot-applications */
	} else if (m->kind == TPA_EVK_GRUB_CMDLINE) {
		printable(text, sizeof(text), m->text, m->text_len);
		/* GRUB puts the kernel's path first (BOOT_IMAGE). */
		if (*t == '/' || *t == '(' || strncmp(t, "BOOT_IMAGE=", 11) == 0)
			while (*t && *t != ' ')
				t++;
	} else {
		return 0;
	}
	while (*t == ' ')
		t++;
	n = strlen(t);
	while (n && t[n - 1] == ' ')
		n--;
	if (n > TPA_KERNEL_PARAMS_MAX || strlen(text) + 1 >= sizeof(text))
		return -1;
	memcpy(out, t, n);
	out[n] = '\0';
	return 0;
}
