/* SPDX-License-Identifier: BSD-3-Clause */
/* The trusted-launch state as the event log shows it. Every conclusion is
 * drawn from event data whose digest was checked, never from event types
 * alone, and only from events on PCRs that count: those the quote covers in
 * the checked bank and that replayed to their quoted value. A fact whose
 * events lie on other PCRs is "unverified", never enabled or present. */
#ifndef TPA_BOOTSTATE_H
#define TPA_BOOTSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/efi.h"
#include "tpa/eventlog.h"
#include "tpa/events.h"
#include "tpa/pcr.h"

typedef enum {
	TPA_SB_UNKNOWN = 0,
	TPA_SB_ENABLED = 1,
	TPA_SB_DISABLED = 2,
	TPA_SB_UNVERIFIED = 3,          /* measured on a PCR that does not count */
} tpa_secure_boot;

const char *tpa_secure_boot_name(tpa_secure_boot sb); /* "enabled", ... */

/* The facts of the state, each from the events of known PCRs. */
typedef enum {
	TPA_FACT_SECURE_BOOT,           /* PCR 7 */
	TPA_FACT_PK,                    /* PCR 7 */
	TPA_FACT_KEK,                   /* PCR 7 */
	TPA_FACT_DB,                    /* PCR 7 */
	TPA_FACT_DBX,                   /* PCR 7 */
	TPA_FACT_AUTHORITIES,           /* PCR 7 */
	TPA_FACT_UEFI_DEBUG_MODE,       /* PCR 7 */
	TPA_FACT_FIRMWARE_VERSION,      /* PCR 0 */
	TPA_FACT_BOOT_APPLICATIONS,     /* PCR 4 */
	TPA_FACT_KERNEL,                /* PCR 8 (GRUB) */
	TPA_FACT_KERNEL_CMDLINE,        /* PCR 8 (GRUB) or 12 (systemd-stub) */
	TPA_FACT_EXIT_BOOT_SERVICES,    /* PCR 5 */
	TPA_FACT_EFI_ACTIONS,           /* where they were measured */
	TPA_FACT_SEPARATORS,            /* PCRs 0-7 and more */
	TPA_FACT_COUNT
} tpa_fact_id;

typedef enum {
	TPA_FACT_ABSENT = 0,            /* no event of the log says anything about it */
	TPA_FACT_VERIFIED = 1,          /* from events on PCRs that count only */
	TPA_FACT_UNVERIFIED = 2,        /* some of its events lie on a PCR that does
					 * not count: their content is not used */
} tpa_fact_status;

typedef struct {
	tpa_fact_status status;
	tpa_pcr_mask pcrs;              /* the PCRs its events were measured into */
} tpa_fact;

const char *tpa_fact_name(tpa_fact_id f);            /* "secure_boot", ... */
const char *tpa_fact_status_name(tpa_fact_status s); /* "verified", ... */

#define TPA_BOOT_APPS_MAX     64
#define TPA_BOOT_ACTIONS_MAX  64
#define TPA_AUTHORITIES_MAX   64
#define TPA_PATH_MAX          256
#define TPA_CMDLINE_MAX       1024
#define TPA_MOK_LISTS         3      /* MokList, MokListX, MokListTrusted */
#define TPA_SBAT_MAX          128

/* An EFI application the firmware started (PCR 4). */
typedef struct {
	uint32_t event;
	uint8_t digest[TPA_DIGEST_MAX]; /* its Authenticode digest (checked bank) */
	uint16_t digest_len;
	char path[TPA_PATH_MAX];        /* from the device path: not covered by
					 * the digest, informative only */
} tpa_boot_app;

typedef struct {
	uint16_t bank;                  /* the bank whose digests were checked */
	tpa_pcr_mask counted;           /* the PCRs whose events count */
	tpa_fact facts[TPA_FACT_COUNT];
	uint32_t uncounted_events;      /* events on PCRs that do not count */
	tpa_event_meaning *meaning;     /* per event, in log order */
	size_t nevents;

	tpa_secure_boot secure_boot;
	char secure_boot_why[200];      /* how it was decided */
	tpa_pcr_mask separators;        /* PCRs with an EV_SEPARATOR that counts */
	tpa_pcr_mask log_separators;    /* PCRs with an EV_SEPARATOR in the log */
	tpa_pcr_mask error_separators;  /* ... with the error value */
	int exit_boot_services;         /* "Exit Boot Services Invocation" seen */
	uint32_t events_after_ebs;      /* events measured after it */
	uint32_t digest_mismatches;     /* events whose data does not hash to
					 * their digest where it must (any PCR) */
	int32_t first_mismatch;         /* event number, -1 if none */

	/* Every field below comes from event data whose digest was checked,
	 * except where a comment says otherwise. */
	char firmware_version[128];     /* EV_S_CRTM_VERSION (UTF-16 as ASCII) */
	int firmware_version_verified;  /* its data hashes to its digest (some
					 * real firmware measures something else) */
	tpa_efi_sigdb pk, kek, db, dbx; /* PCR 7 EV_EFI_VARIABLE_DRIVER_CONFIG */
	tpa_efi_cert authorities[TPA_AUTHORITIES_MAX]; /* EV_EFI_VARIABLE_AUTHORITY */
	size_t nauthorities;
	uint32_t authority_event[TPA_AUTHORITIES_MAX]; /* the event of each */
	char authority_var[TPA_AUTHORITIES_MAX][16];   /* its variable: "db", "Shim",
							* "MokListRT", "SbatLevel"
							* (shim's, not a signer) */
	int uefi_debug_mode;            /* "UEFI Debug Mode" action in PCR 7 */
	tpa_boot_app apps[TPA_BOOT_APPS_MAX];
	size_t napps;
	char kernel[TPA_PATH_MAX];      /* GRUB "grub_cmd: linux PATH ..." */
	char kernel_cmdline[TPA_CMDLINE_MAX]; /* GRUB "kernel_cmdline: ..." or
					       * systemd-stub PCR 12 */
	char cmdline_source[16];        /* "grub", "systemd-stub" or "" */
	char actions[TPA_BOOT_ACTIONS_MAX][64]; /* EV_EFI_ACTION texts */
	size_t nactions;
	/* shim's own measurements (only from counted events, as the rest): */
	char sbat_level[TPA_SBAT_MAX];  /* its SbatLevel (PCR 7 authority event
					 * "SbatLevel"), lines joined by spaces; "" */
	int mok_seen[TPA_MOK_LISTS];    /* PCR 14 EV_IPL "MokList", "MokListX",
					 * "MokListTrusted" measured: */
	uint8_t mok_digest[TPA_MOK_LISTS][TPA_DIGEST_MAX]; /* the digest of each list */
	int mok_sb_state;               /* PCR 14 "MokSBState": 0 not measured, 1 its
					 * value 0 (shim validates), 2 value 1 (shim
					 * validates nothing), 3 another value */
	uint32_t mok_sb_event;          /* its event, when measured */
	int truncated;                  /* more items than the caps above */
} tpa_bootstate;

/* Frees what a derived state holds; the struct can be derived again.
 * Certificates in the state point into the log: use them while it lives. */
void tpa_bootstate_clear(tpa_bootstate *s);

/* Derives the state (call tpa_bootstate_clear when done, also after a
 * failure). Event data is checked against the digests of one bank (0: SHA-256
 * if the log has it, else its first known one): a digest of a bank the quote
 * does not cover proves nothing. Only events on the PCRs in `counted` feed
 * the state (TPA_PCR_MASK_ALL: the log alone, as if every PCR were quoted);
 * the others make their facts unverified. */
int tpa_bootstate_derive(tpa_bootstate *out, const tpa_eventlog *log, uint16_t bank,
			 tpa_pcr_mask counted);

/* The meaning of event i, or NULL. */
const tpa_event_meaning *tpa_bootstate_meaning(const tpa_bootstate *s, size_t i);

#endif
