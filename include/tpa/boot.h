/* SPDX-License-Identifier: BSD-3-Clause */
/* A measured boot as evidence: the event log checked against the PCR values
 * a quote vouches for, and the trusted-launch state read from the events
 * that count. The Attest handler and the offline commands (eventlog show,
 * baseline learn and appraise) all go through tpa_boot_evaluate, so a log is
 * judged the same way everywhere.
 *
 * The rules (each a finding):
 *   eventlog.parse       the log parses
 *   quote.banks          the evidence bank is the strongest bank the log
 *                        declares (a SHA1-format log: sha1, and only for a
 *                        baseline whose bank is sha1), and the quote covers
 *                        it and the baseline's bank
 *   eventlog.replay      every quoted PCR of every quoted bank replays to its
 *                        quoted value, from its reset value when the log has
 *                        no event for it (PCR 10, IMA's, is not the
 *                        firmware's: never replayed, never evidence)
 *   eventlog.digests     event data hashes to its digest where it must
 *   eventlog.separators  PCRs 0-7 each have an EV_SEPARATOR
 * Only events of quoted, replayed PCRs of the evidence bank feed the state.
 * Offline (no quote) the log stands alone: every PCR counts as if a quote
 * had covered it with the replayed value, and nothing is TPM-signed. */
#ifndef TPA_BOOT_H
#define TPA_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/bootstate.h"
#include "tpa/eventlog.h"
#include "tpa/findings.h"
#include "tpa/pcr.h"
#include "tpa/sbclaims.h"

/* PCRs the OS extends after the firmware's log ends (IMA). */
#define TPA_BOOT_OS_PCRS ((tpa_pcr_mask)1 << 10)
/* PCRs whose EV_SEPARATOR ends the firmware's part of a boot. */
#define TPA_BOOT_SEPARATOR_PCRS ((tpa_pcr_mask)0xFF)

typedef struct {
	const uint8_t *event_log;    /* may be NULL: no log */
	size_t event_log_len;
	const tpa_pcr_set *quoted;   /* the PCR values a verified quote covers;
				      * NULL: offline, the log alone */
	int quote_failed;            /* online, but the quote did not verify: its PCR
				      * values are nobody's word and nothing counts */
	uint16_t baseline_bank;      /* the bank of the baseline that will judge
				      * the boot, 0 if none; TPA_BOOT_BANK_OF_LOG
				      * for one made from this boot (learning) */
	const tpa_sbref *sbref;      /* the Secure Boot reference bundle, or NULL */
} tpa_boot_input;

#define TPA_BOOT_BANK_OF_LOG 0xFFFFu

typedef struct {
	tpa_eventlog *log;           /* NULL without one, or if it did not parse */
	tpa_replay replay;
	tpa_bootstate state;         /* from the events that count */
	uint16_t bank;               /* the evidence bank, 0 without a log */
	const tpa_pcr_set *quoted;   /* the quote's values, or &assumed offline */
	tpa_pcr_set assumed;
	int offline;
	tpa_pcr_mask counted;        /* PCRs of `bank` whose events count */
	int have_log;                /* a log was given */
	int log_ok;                  /* ... and every rule above held */
	tpa_sb_claims secureboot;    /* Secure Boot hygiene of the facts that count,
				      * against input's sbref (judged 0 without) */
} tpa_boot;

/* Evaluates the evidence, adding one finding per rule to f. A log that
 * breaks a rule is a failed finding, not an error; negative codes are for
 * failures of the evaluation itself (memory, hashing). Call tpa_boot_clear
 * afterwards, also after a failure. The input's bytes are copied. */
int tpa_boot_evaluate(tpa_boot *out, tpa_findings *f, const tpa_boot_input *in);
void tpa_boot_clear(tpa_boot *b);

/* The PCRs of the evidence bank that the facts present in the log need a
 * quote to cover. */
tpa_pcr_mask tpa_boot_fact_pcrs(const tpa_boot *b);

/* PCRs of the boot chain beyond the firmware's 0-7: GRUB's 8 and 9,
 * systemd-stub's 11, 12 and 13, shim's 14. */
#define TPA_BOOT_CHAIN_PCRS ((tpa_pcr_mask)(0x7Bu << 8))

/* What a device should quote for its log to count: the log's strongest bank
 * (sha256 without a log, or for one that does not parse), PCRs 0-9 and the
 * boot chain's PCRs the log extends. */
int tpa_boot_quote_selection(tpa_pcr_set *out, const uint8_t *event_log, size_t n);

#endif
