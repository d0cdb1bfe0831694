/* SPDX-License-Identifier: BSD-3-Clause */
/* The trusted-launch state as the event log shows it. Every conclusion is
 * drawn from event data whose digest was checked, never from event types
 * alone. */
#ifndef TPA_BOOTSTATE_H
#define TPA_BOOTSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/efi.h"
#include "tpa/eventlog.h"

typedef enum {
	TPA_SB_UNKNOWN = 0,
	TPA_SB_ENABLED = 1,
	TPA_SB_DISABLED = 2,
} tpa_secure_boot;

const char *tpa_secure_boot_name(tpa_secure_boot sb); /* "enabled", ... */

#define TPA_BOOT_APPS_MAX     64
#define TPA_BOOT_ACTIONS_MAX  64
#define TPA_AUTHORITIES_MAX   64
#define TPA_PATH_MAX          256
#define TPA_CMDLINE_MAX       1024

/* An EFI application the firmware started (PCR 4). */
typedef struct {
	uint32_t event;
	uint8_t digest[TPA_DIGEST_MAX]; /* its Authenticode digest (checked bank) */
	uint16_t digest_len;
	char path[TPA_PATH_MAX];        /* from the device path: not covered by
					 * the digest, informative only */
} tpa_boot_app;

typedef struct {
	tpa_secure_boot secure_boot;
	char secure_boot_why[200];      /* how it was decided */
	uint32_t separators;            /* bit i: PCR i has an EV_SEPARATOR */
	uint32_t error_separators;      /* bit i: ... with the error value */
	int exit_boot_services;         /* "Exit Boot Services Invocation" seen */
	uint32_t events_after_ebs;      /* events measured after it */
	uint32_t digest_mismatches;     /* events whose data does not hash to
					 * their digest where it must */
	int32_t first_mismatch;         /* event number, -1 if none */

	/* Every field below comes from event data whose digest was checked,
	 * except where a comment says otherwise. */
	char firmware_version[128];     /* EV_S_CRTM_VERSION (UTF-16 as ASCII) */
	int firmware_version_verified;  /* its data hashes to its digest (some
					 * real firmware measures something else) */
	tpa_efi_sigdb pk, kek, db, dbx; /* PCR 7 EV_EFI_VARIABLE_DRIVER_CONFIG */
	tpa_efi_cert authorities[TPA_AUTHORITIES_MAX]; /* EV_EFI_VARIABLE_AUTHORITY */
	size_t nauthorities;
	int uefi_debug_mode;            /* "UEFI Debug Mode" action in PCR 7 */
	tpa_boot_app apps[TPA_BOOT_APPS_MAX];
	size_t napps;
	char kernel[TPA_PATH_MAX];      /* GRUB "grub_cmd: linux PATH ..." */
	char kernel_cmdline[TPA_CMDLINE_MAX]; /* GRUB "kernel_cmdline: ..." or
					       * systemd-stub PCR 12 */
	char cmdline_source[16];        /* "grub", "systemd-stub" or "" */
	char actions[TPA_BOOT_ACTIONS_MAX][64]; /* EV_EFI_ACTION texts */
	size_t nactions;
	int truncated;                  /* more items than the caps above */
} tpa_bootstate;

/* Frees what a derived state holds; the struct can be derived again.
 * Certificates in the state point into the log: use them while it lives. */
void tpa_bootstate_clear(tpa_bootstate *s);

/* Derives the state (call tpa_bootstate_clear when done, also after a
 * failure). Event data is checked against the digests of one bank:
 * `bank` (the bank the quote covers; a digest of an unquoted bank proves
 * nothing), or with 0 SHA-256 if the log has it, else its first known one. */
int tpa_bootstate_derive(tpa_bootstate *out, const tpa_eventlog *log, uint16_t bank);

#endif
