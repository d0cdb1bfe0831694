/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal: what the baseline files share (include/tpa/baseline.h is the
 * module's one public header). The module is split by job:
 *   baseline_format.c    the file: parse, validate, JSON out (baseline,
 *                        appraisal, PCR values), the parsed form's sets
 *   baseline_rules.c     which events and PCRs each rule reads: the PCRs a
 *                        rule needs, those a baseline requires, event type
 *                        names, the application an event measured
 *   baseline_author.c    learn, merge, diff, summary
 *   baseline_appraise.c  the appraisal, rule by rule
 * Which rule judges an event is decided once, in events.c; these files
 * read it from the boot state's meanings and never decode events again. */
#ifndef TPA_BASELINE_INT_H
#define TPA_BASELINE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tpa/baseline.h"

#define rule_names_of(id) tpa_rule_name((tpa_rule_id)(id))

/* PCRs of the boot chain that a learned baseline requires when the boot
 * used them; the firmware's, which it always requires. */
#define BOOT_CHAIN_PCRS TPA_BOOT_CHAIN_PCRS
#define FIRMWARE_PCRS ((tpa_pcr_mask)0xFFu)

/* The parsed form: sorted sets for lookups. */

/* An event (or PCR value) as a list holds it: PCR, type (0 where the list
 * does not care) and digest in the baseline's bank. */
typedef struct {
	uint32_t pcr;
	uint32_t type;
	uint8_t d[TPA_DIGEST_MAX];
} ekey;

typedef struct {
	ekey *v;
	size_t n;
} eset;

typedef struct {
	char *text;
	int pattern;
} cmdline_entry;

/* An allowance of boot-applications: digests a baseline accepts until it
 * expires (baseline allow: an image allowed before any device booted it). */
#define ALLOWANCES_MAX 256
typedef struct {
	const char *kind;            /* in root: "kernel", "shim", "grub", "app", "initrd" */
	const char *source;          /* in root: the file or package it came from, or "" */
	int64_t expires;             /* Unix seconds: allows while now < expires */
	eset apps;                   /* PCR 4 application digests */
	eset loader;                 /* (PCR, digest) of boot loader events */
} allowance;

struct tpa_baseline {
	json_t *root;
	const char *name;            /* in root */
	uint16_t bank;
	size_t ds;
	int present[TPA_RULE_COUNT];
	tpa_severity sev[TPA_RULE_COUNT];
	int sb_required, debug_forbidden;
	eset firmware;               /* S-CRTM version event digests */
	eset certs[TPA_RULE_COUNT];  /* pk, kek, db, dbx, authorities: fingerprints */
	eset hashes[TPA_RULE_COUNT]; /* pk, kek, db, dbx: SHA-256 entries */
	eset apps;                   /* PCR 4 application digests */
	eset loader;                 /* (PCR, digest) of PCR 8/9/11 boot loader events */
	cmdline_entry *cmd;
	size_t ncmd;
	eset pcrs;                   /* (PCR, value) */
	uint32_t pcrs_mask;
	eset known;                  /* (PCR, type, digest) */
	size_t entries;
	tpa_pcr_mask required;       /* "required_pcrs", if required_set */
	int required_set;
	tpa_pcr_mask loader_pcrs;    /* PCRs of boot_loader entries */
	tpa_pcr_mask entry_pcrs;     /* PCRs any entry names */
	allowance *allow;            /* boot-applications.allowances */
	size_t nallow;
	/* boot-applications by signer: an application is allowed when the
	 * authorities that verified this boot are all "signers"; the PCRs of
	 * "unpinned_pcrs" (a kernel update changes them) are not judged by
	 * digest; a PCR 8 command matching a "kernel_commands" template, its
	 * {version} the booted kernel's, is allowed. */
	eset signers;                /* certificate fingerprints (SHA-256) */
	tpa_pcr_mask unpinned;
	const char **kcmd;           /* in root */
	size_t nkcmd;
};

#define KERNEL_COMMANDS_MAX 64
#define KERNEL_VERSION_TOKEN "{version}"

/* baseline_format.c */

/* Whether a sorted set holds (pcr, type, digest of ds bytes). */
int baseline__eset_has(const eset *s, uint32_t pcr, uint32_t type, const uint8_t *d, size_t ds);
/* A digest as a JSON string of lower-case hex. */
json_t *baseline__hex_json(const uint8_t *d, size_t n);

/* baseline_rules.c */

/* The PCRs a rule's evidence lies on: unless they count, it has none. */
tpa_pcr_mask baseline__rule_pcrs(const tpa_baseline *b, tpa_rule_id id);
/* The PCRs the log extends (EV_NO_ACTION extends nothing). */
tpa_pcr_mask baseline__log_pcrs(const tpa_eventlog *log);
/* An event type as a baseline writes it: "EV_SEPARATOR", or 0xXXXXXXXX
 * for one without a name; and back (0, or -1 if it is neither). */
void baseline__type_text(char *out, size_t cap, uint32_t type);
int baseline__type_parse(uint32_t *out, const char *s);
/* The boot application the state recorded for an event, or NULL. */
const tpa_boot_app *baseline__app_of(const tpa_bootstate *st, uint32_t event);

#endif
