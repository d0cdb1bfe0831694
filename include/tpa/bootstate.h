/* SPDX-License-Identifier: BSD-3-Clause */
/* The trusted-launch state as the event log shows it. Every conclusion is
 * drawn from event data whose digest was checked, never from event types
 * alone. */
#ifndef TPA_BOOTSTATE_H
#define TPA_BOOTSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/eventlog.h"

typedef enum {
	TPA_SB_UNKNOWN = 0,
	TPA_SB_ENABLED = 1,
	TPA_SB_DISABLED = 2,
} tpa_secure_boot;

const char *tpa_secure_boot_name(tpa_secure_boot sb); /* "enabled", ... */

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
} tpa_bootstate;

/* Derives the state. Event data is checked against the digests of one bank:
 * `bank` (the bank the quote covers; a digest of an unquoted bank proves
 * nothing), or with 0 SHA-256 if the log has it, else its first known one. */
int tpa_bootstate_derive(tpa_bootstate *out, const tpa_eventlog *log, uint16_t bank);

#endif
