/* SPDX-License-Identifier: BSD-3-Clause */
/* What each event of a measured-boot log means, in one table: its kind
 * (the SecureBoot variable, a boot application, GRUB's kernel line, ...),
 * the baseline rule that judges it, and how its digest relates to its data.
 * The trusted-launch state, `baseline learn` and the appraisal all read
 * events through this, so they never disagree about one. */
#ifndef TPA_EVENTS_H
#define TPA_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "tpa/efi.h"
#include "tpa/eventlog.h"

/* The rules of a golden baseline; every event is judged by exactly one. */
typedef enum {
	TPA_RULE_SECURE_BOOT,
	TPA_RULE_UEFI_DEBUG_MODE,
	TPA_RULE_FIRMWARE_VERSION,
	TPA_RULE_PK,
	TPA_RULE_KEK,
	TPA_RULE_DB,
	TPA_RULE_DBX,
	TPA_RULE_AUTHORITIES,
	TPA_RULE_BOOT_APPLICATIONS,
	TPA_RULE_KERNEL_CMDLINE,
	TPA_RULE_PCRS,
	TPA_RULE_KNOWN_EVENTS,
	/* Secure Boot hygiene (tpa/sbclaims.h), against the reference bundle: */
	TPA_RULE_DBX_CURRENT,            /* every revocation of the bundle in dbx */
	TPA_RULE_CA_2023,                /* the 2023 Microsoft CAs in KEK and db */
	TPA_RULE_NO_TEST_KEYS,           /* no test platform key */
	TPA_RULE_NO_REVOKED_COMPONENTS,  /* nothing the bundle revokes booted */
	TPA_RULE_REQUIRED_PCRS,          /* the quote covers what the baseline needs */
	TPA_RULE_COUNT
} tpa_rule_id;

/* "secure-boot", "uefi-debug-mode", ...; "unknown" out of range. */
const char *tpa_rule_name(tpa_rule_id r);

typedef enum {
	TPA_EVK_NO_EXTEND = 0,           /* EV_NO_ACTION: extends nothing */
	TPA_EVK_SECURE_BOOT,             /* PCR 7 variable SecureBoot */
	TPA_EVK_PK,                      /* PCR 7 variables PK, KEK, db, dbx */
	TPA_EVK_KEK,
	TPA_EVK_DB,
	TPA_EVK_DBX,
	TPA_EVK_CONFIG_VARIABLE,         /* another PCR 7 EV_EFI_VARIABLE_DRIVER_CONFIG */
	TPA_EVK_AUTHORITY,               /* PCR 7 EV_EFI_VARIABLE_AUTHORITY */
	TPA_EVK_DEBUG_MODE,              /* PCR 7 EV_EFI_ACTION "UEFI Debug Mode" */
	TPA_EVK_FIRMWARE_VERSION,        /* EV_S_CRTM_VERSION */
	TPA_EVK_BOOT_APPLICATION,        /* PCR 4 EV_EFI_BOOT_SERVICES_APPLICATION */
	TPA_EVK_GRUB_KERNEL,             /* PCR 8 "grub_cmd: linux|linuxefi PATH ARGS" */
	TPA_EVK_GRUB_CMDLINE,            /* PCR 8 "kernel_cmdline: ..." */
	TPA_EVK_GRUB_COMMAND,            /* PCR 8, any other EV_IPL */
	TPA_EVK_LOADER_FILE,             /* PCR 9 EV_IPL: a file the boot loader read */
	TPA_EVK_UKI_SECTION,             /* PCR 11 EV_IPL (systemd-stub) */
	TPA_EVK_STUB_CMDLINE,            /* PCR 12 EV_IPL: systemd-stub's command line */
	TPA_EVK_SEPARATOR,               /* EV_SEPARATOR */
	TPA_EVK_EXIT_BOOT_SERVICES,      /* PCR 5 "Exit Boot Services Invocation" */
	TPA_EVK_EFI_ACTION,              /* any other EV_EFI_ACTION */
	TPA_EVK_OTHER,                   /* anything else */
	TPA_EVK_COUNT
} tpa_event_kind;

/* What an event's digest is the hash of. */
typedef enum {
	TPA_DIGEST_OF_ELSEWHERE = 0,     /* something the log does not carry (an image) */
	TPA_DIGEST_OF_DATA,              /* the event data */
	TPA_DIGEST_OF_DATA_OR_OTHER,     /* the event data on most firmware, something
					  * else on some: the data is believed only
					  * when it matches, a mismatch is no edit */
	TPA_DIGEST_OF_VARIABLE,          /* the UEFI_VARIABLE_DATA (some firmware: the
					  * value alone, which binds the value only) */
	TPA_DIGEST_OF_TEXT,              /* GRUB's text after its prefix */
} tpa_digest_of;

typedef struct {
	tpa_event_kind kind;
	int rule;                        /* the tpa_rule_id that judges it; -1 none */
	tpa_digest_of digest_of;
	tpa_efi_var var;                 /* variables: the parsed UEFI_VARIABLE_DATA */
	int var_ok;                      /* ... and whether it parsed */
	const uint8_t *text;             /* GRUB strings: the measured text after the
					  * prefix, without a trailing NUL */
	size_t text_len;
	int text_nul_first;              /* that prefix's GRUB usually measures the NUL */
	int data_ok;                     /* set by the state: 1 if the data hashes to
					  * its digest in the evidence bank, 0 if
					  * not, negative if no rule or no digest
					  * says (tpa_event_data_check) */
} tpa_event_meaning;

#define TPA_KERNEL_PARAMS_MAX 4096      /* bytes of kernel parameters judged (the
					 * kernel's own COMMAND_LINE_SIZE at most) */
#define TPA_EVENT_TEXT_MAX (TPA_KERNEL_PARAMS_MAX + 64) /* text taken from one event */

/* The meaning of one event (every byte of it untrusted). */
void tpa_event_meaning_of(tpa_event_meaning *out, const tpa_event *ev);

/* "secure-boot variable", "boot application", ... for messages. */
const char *tpa_event_kind_name(tpa_event_kind k);

/* Checks event data against event digests of one bank, with one reusable
 * hashing context. */
typedef struct {
	uint16_t alg;
	size_t ds;
	const EVP_MD *md;
	EVP_MD_CTX *ctx;
} tpa_event_checker;

int tpa_event_checker_init(tpa_event_checker *c, uint16_t alg);
void tpa_event_checker_clear(tpa_event_checker *c);

/* Whether the event's data is what was measured, in the checker's bank:
 * 1 yes, 0 no, TPA_DATA_NO_RULE when its digest is not of its data (or of
 * nothing the log carries), TPA_DATA_NO_DIGEST when the event has no digest
 * in that bank, -1 when hashing failed. *value_only (may be NULL) is set
 * when a variable matched only as its value (a firmware quirk). */
#define TPA_DATA_NO_RULE   (-2)
#define TPA_DATA_NO_DIGEST (-3)
int tpa_event_data_check(tpa_event_checker *c, const tpa_event *ev, const tpa_event_meaning *m,
			 int *value_only);

/* The event's digest in a bank, or NULL. */
const uint8_t *tpa_event_digest_in(const tpa_event *ev, uint16_t bank);

/* For GRUB_KERNEL, GRUB_CMDLINE and STUB_CMDLINE events: the kernel's
 * parameters without its path ("root=... ro quiet"), printable ASCII, in out
 * (TPA_KERNEL_PARAMS_MAX + 1 bytes). 0, or -1 when they are longer: never
 * judge a line by its beginning. */
int tpa_event_cmdline_params(char *out, const tpa_event *ev, const tpa_event_meaning *m);
/* For GRUB_KERNEL events: the kernel's path; "" otherwise. */
void tpa_event_kernel_path(char *out, size_t cap, const tpa_event_meaning *m);
/* Printable text of an event's data (trailing NUL dropped, the rest '?'). */
void tpa_event_text(char *out, size_t cap, const tpa_event *ev);

#endif
