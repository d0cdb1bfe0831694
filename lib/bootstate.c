/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "tpa/bootstate.h"
#include "tpa/err.h"
#include "tpa/tpm_decode.h"

/* EFI_GLOBAL_VARIABLE 8be4df61-93ca-11d2-aa0d-00e098032b8c, as stored. */
static const uint8_t efi_global_variable[16] = {
	0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
	0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c,
};

#define EBS_INVOCATION "Exit Boot Services Invocation"

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

/* UEFI_VARIABLE_DATA: GUID, UnicodeNameLength (u64), VariableDataLength
 * (u64), UTF-16LE name, data. 0 if well formed and exactly n bytes. */
typedef struct {
	const uint8_t *guid;
	const uint8_t *name;      /* UTF-16LE */
	uint64_t name_chars;
	const uint8_t *data;
	uint64_t data_len;
} efi_var;

static int parse_var(efi_var *v, const uint8_t *b, size_t n)
{
	if (n < 32)
		return -1;
	v->guid = b;
	v->name_chars = le64(b + 16);
	v->data_len = le64(b + 24);
	if (v->name_chars > (n - 32) / 2 || v->data_len != n - 32 - 2 * v->name_chars)
		return -1;
	v->name = b + 32;
	v->data = b + 32 + 2 * v->name_chars;
	return 0;
}

static int var_is(const efi_var *v, const uint8_t *guid, const char *ascii)
{
	size_t i, len = strlen(ascii);

	if (memcmp(v->guid, guid, 16) != 0 || v->name_chars != len)
		return 0;
	for (i = 0; i < len; i++)
		if (v->name[2 * i] != (uint8_t)ascii[i] || v->name[2 * i + 1] != 0)
			return 0;
	return 1;
}

/* Whether every digest of the event with a known algorithm is the hash of
 * b (n bytes); -1 when hashing fails. */
static int digests_match(const tpa_event *ev, const uint8_t *b, size_t n)
{
	uint8_t dg[TPA_DIGEST_MAX];
	uint32_t k;
	int any = 0;

	for (k = 0; k < ev->ndigests; k++) {
		size_t ds = tpa_hash_size(ev->digests[k].alg);

		if (!ds)
			continue;
		if (tpa_hash(dg, ev->digests[k].alg, b, n) < 0)
			return -1;
		if (CRYPTO_memcmp(dg, ev->digests[k].digest, ds) != 0)
			return 0;
		any = 1;
	}
	return any;
}

static int data_matches(const tpa_event *ev)
{
	return digests_match(ev, ev->data, ev->data_len);
}

/* GRUB's EV_IPL strings on PCR 8: "grub_cmd: CMD" and "kernel_cmdline: ..."
 * are measured as the text after the prefix, without the NUL. */
static int grub_string_matches(const tpa_event *ev)
{
	static const char *prefixes[] = { "grub_cmd: ", "kernel_cmdline: " };
	size_t i, n = ev->data_len;

	if (n && ev->data[n - 1] == '\0')
		n--;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i]);

		if (n >= pl && memcmp(ev->data, prefixes[i], pl) == 0)
			return digests_match(ev, ev->data + pl, n - pl);
	}
	return -2; /* not a GRUB string: no rule */
}

/* Whether an event's data is what was measured, for the event types whose
 * digest the specifications (or GRUB) define as a hash of the data:
 * 1 yes, 0 no, -2 no rule for this event, -1 hashing failed. */
static int event_data_verified(const tpa_event *ev)
{
	switch (ev->type) {
	case TPA_EV_SEPARATOR:
	case TPA_EV_EFI_ACTION:
	case TPA_EV_EFI_VARIABLE_DRIVER_CONFIG:
		return data_matches(ev);
	case TPA_EV_IPL:
		return ev->pcr == 8 ? grub_string_matches(ev) : -2;
	default:
		return -2;
	}
}

int tpa_bootstate_derive(tpa_bootstate *out, const tpa_eventlog *log)
{
	tpa_bootstate s;
	size_t i, n = tpa_eventlog_count(log);
	int sb_seen = 0;

	if (!out || !log)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "bootstate: NULL");
	memset(&s, 0, sizeof(s));
	s.first_mismatch = -1;
	snprintf(s.secure_boot_why, sizeof(s.secure_boot_why),
		 "no SecureBoot variable measured in PCR 7");
	for (i = 0; i < n; i++) {
		const tpa_event *ev = tpa_eventlog_event(log, i);
		int m;

		if (s.exit_boot_services && ev->type != TPA_EV_NO_ACTION)
			s.events_after_ebs++;
		/* Variables are checked below, with the value-only quirk. */
		if (ev->type != TPA_EV_EFI_VARIABLE_DRIVER_CONFIG) {
			if ((m = event_data_verified(ev)) == -1)
				return tpa_err_fail(TPA_ERR_CRYPTO, "bootstate: hashing failed");
			if (m == 0) {
				s.digest_mismatches++;
				if (s.first_mismatch < 0)
					s.first_mismatch = (int32_t)i;
			}
		}
		if (ev->type == TPA_EV_SEPARATOR && ev->pcr < TPA_EVLOG_PCRS) {
			s.separators |= 1u << ev->pcr;
			if (ev->data_len == 4 && ev->data[0] == 1 && ev->data[1] == 0 &&
			    ev->data[2] == 0 && ev->data[3] == 0)
				s.error_separators |= 1u << ev->pcr;
		}
		if (ev->type == TPA_EV_EFI_ACTION && ev->pcr == 5 &&
		    ev->data_len == strlen(EBS_INVOCATION) &&
		    memcmp(ev->data, EBS_INVOCATION, ev->data_len) == 0 &&
		    data_matches(ev) == 1)
			s.exit_boot_services = 1;
		if (ev->type == TPA_EV_EFI_VARIABLE_DRIVER_CONFIG) {
			efi_var v = { 0 };
			int parsed = parse_var(&v, ev->data, ev->data_len) == 0;
			const char *quirk = "";

			/* The firmware measured H(UEFI_VARIABLE_DATA); some (seen in a
			 * TPM 1.2 era log) measured the variable's value alone, which
			 * still binds the value but not the name. Data that hashes to
			 * neither is not what was measured. */
			if ((m = data_matches(ev)) < 0)
				return tpa_err_fail(TPA_ERR_CRYPTO, "bootstate: hashing failed");
			if (!m && parsed && v.data_len &&
			    (m = digests_match(ev, v.data, (size_t)v.data_len)) == 1)
				quirk = " (the firmware measured the value alone)";
			if (m < 0)
				return tpa_err_fail(TPA_ERR_CRYPTO, "bootstate: hashing failed");
			if (!m) {
				s.digest_mismatches++;
				if (s.first_mismatch < 0)
					s.first_mismatch = (int32_t)i;
			}
			if (ev->pcr == 7 && parsed &&
			    var_is(&v, efi_global_variable, "SecureBoot") && !sb_seen) {
				sb_seen = 1;
				if (!m) {
					s.secure_boot = TPA_SB_UNKNOWN;
					snprintf(s.secure_boot_why, sizeof(s.secure_boot_why),
						 "event %zu: SecureBoot data does not match its digest", i);
				} else if (v.data_len == 0) {
					s.secure_boot = TPA_SB_UNKNOWN;
					snprintf(s.secure_boot_why, sizeof(s.secure_boot_why),
						 "event %zu: SecureBoot variable with no data", i);
				} else if (v.data_len == 1 && (v.data[0] == 0 || v.data[0] == 1)) {
					s.secure_boot = v.data[0] ? TPA_SB_ENABLED : TPA_SB_DISABLED;
					snprintf(s.secure_boot_why, sizeof(s.secure_boot_why),
						 "event %zu: SecureBoot = %u%s", i, v.data[0], quirk);
				} else {
					s.secure_boot = TPA_SB_UNKNOWN;
					snprintf(s.secure_boot_why, sizeof(s.secure_boot_why),
						 "event %zu: SecureBoot variable of %llu bytes", i,
						 (unsigned long long)v.data_len);
				}
			}
		}
	}
	*out = s;
	return 0;
}
