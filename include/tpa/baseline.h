/* SPDX-License-Identifier: BSD-3-Clause */
/* Golden baselines: reference values for a boot, learned from a known-good
 * one, and the appraisal of every boot against them, rule by rule.
 *
 * A baseline is JSON (docs/baseline.md, docs/baseline.schema.json): a name,
 * the bank its digests belong to, and named rules, each with a severity.
 * Every event of a log is judged by exactly one rule: the SecureBoot
 * variable by secure-boot, PK/KEK/db/dbx by theirs, EV_EFI_VARIABLE_AUTHORITY
 * by authorities, the S-CRTM version by firmware-version, the UEFI debug
 * mode action by uefi-debug-mode, the EFI applications (PCR 4) and what the
 * boot loader loaded and ran (PCR 8 commands, PCR 9 files, PCR 11) by
 * boot-applications, the kernel command line (GRUB's kernel_cmdline and
 * linux commands, systemd-stub on PCR 12) by kernel-cmdline, and every other
 * event by known-events. PCRs the log does not cover are judged by pcrs. */
#ifndef TPA_BASELINE_H
#define TPA_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/boot.h"
#include "tpa/bootstate.h"
#include "tpa/eventlog.h"
#include "tpa/events.h"
#include "tpa/quote.h"

#define TPA_BASELINE_FORMAT 1          /* "tpa_baseline": 1 */
#define TPA_BASELINE_MAX_BYTES (1024 * 1024)
#define TPA_BASELINE_ENTRIES_MAX 20000 /* items in all lists together */
#define TPA_RULE_DETAIL_MAX 320

typedef enum {
	TPA_SEVERITY_CRITICAL = 0,     /* a failure makes the boot non-compliant */
	TPA_SEVERITY_WARNING = 1,      /* a failure makes it a warning */
} tpa_severity;

typedef enum {
	TPA_RULE_PASS = 0,
	TPA_RULE_FAIL = 1,
	TPA_RULE_NOT_APPLICABLE = 2,
} tpa_rule_status;

typedef enum {
	TPA_OUTCOME_COMPLIANT = 0,
	TPA_OUTCOME_WARNING = 1,
	TPA_OUTCOME_NON_COMPLIANT = 2,
	TPA_OUTCOME_NO_BASELINE = 3,
	TPA_OUTCOME_NOT_APPRAISED = 4, /* the evidence failed: no boot to judge */
} tpa_outcome;

/* ---- the format: parse and validate (lib/baseline_format.c) ---- */

typedef struct tpa_baseline tpa_baseline;

/* Parses and validates a baseline (JSON text, n bytes). Errors name the
 * source, the field ("rules.boot-applications.applications[2].digest") and
 * what is wrong: TPA_ERR_PARSE for JSON, TPA_ERR_VERIFY for content,
 * TPA_ERR_LIMIT beyond the caps. Unknown rules and fields are errors. */
int tpa_baseline_parse(tpa_baseline **out, const char *json, size_t n, const char *source);
int tpa_baseline_load_file(tpa_baseline **out, const char *path);
void tpa_baseline_free(tpa_baseline *b);

const char *tpa_baseline_name(const tpa_baseline *b);
uint16_t tpa_baseline_bank(const tpa_baseline *b);
/* The baseline as JSON text (malloc'd), as written by learn and merge. */
char *tpa_baseline_to_json(const tpa_baseline *b);

/* ---- authoring: learn, merge, diff, summary (lib/baseline_author.c) ---- */

/* A baseline that accepts exactly this boot, in its evidence bank, requiring
 * PCRs 0-7 and the boot chain's PCRs it used (8 and 9 for GRUB, 11, 12 and
 * 13 for systemd-stub, 14 for shim). The boot's evidence must hold, and
 * every PCR the log extends must count (be quoted and replayed). */
int tpa_baseline_learn(tpa_baseline **out, const tpa_boot *boot, const char *name);
/* As learn, but boot-applications by signer (docs/baseline.md): its
 * "signers" are the authorities that verified this boot (PCR 7), no
 * application digest; PCR 9 and 11 (what a kernel update changes) are
 * unpinned; GRUB's PCR 8 commands naming the kernel's version become
 * kernel_commands templates. Secure Boot must be enabled, the authorities
 * known. */
int tpa_baseline_learn_by_signer(tpa_baseline **out, const tpa_boot *boot, const char *name);
/* A baseline that accepts what a or b accepts (same bank): allowed sets
 * joined, dbx requirements intersected, a rule only one has dropped. */
int tpa_baseline_merge(tpa_baseline **out, const tpa_baseline *a, const tpa_baseline *b);
/* What differs from a to b, one line per difference ("+ ", "- ", "~ "),
 * malloc'd; "" if nothing. */
int tpa_baseline_diff(char **out, const tpa_baseline *a, const tpa_baseline *b);

/* An image to allow before any device boots it (baseline allow). */
typedef struct {
	const char *kind;      /* "kernel", "shim", "grub", "app" (EFI applications) or
				* "initrd" (a file GRUB loads) */
	const char *file;      /* the image here */
	const char *path;      /* where the device's boot loader finds it
				* ("/boot/vmlinuz-6.1.0-15-amd64"); NULL: /boot/ and the
				* file's name, for a kernel or initrd */
} tpa_allow_image;

#define TPA_ALLOW_IMAGES_MAX 64

/* A baseline that accepts what b accepts and, until expires (Unix seconds),
 * these images: each becomes one allowance of boot-applications (b must
 * have that rule) holding what the firmware and the boot loader measure of
 * it, computed from the file: an EFI application's (kernel's, shim's,
 * GRUB's) Authenticode digest on PCR 4; a kernel's or initrd's file digest
 * on PCR 9 (GRUB reads them); and for a kernel "vmlinuz-VERSION", when b
 * lists boot loader events on PCR 8, the commands GRUB runs for it that name
 * only the version: "echo Loading Linux VERSION ..." (Debian's grub.cfg) and
 * "initrd DIR/initrd.img-VERSION" (initrdefi, initrd16 too). The kernel's
 * own "linux PATH ARGS" command is judged by kernel-cmdline, without its
 * path. note (may be NULL) and now (the "added" time) are recorded. */
int tpa_baseline_allow(tpa_baseline **out, const tpa_baseline *b, const tpa_allow_image *images,
		       size_t n, int64_t expires, const char *note, int64_t now);

/* One line per rule, for a person: what it holds. malloc'd. */
char *tpa_baseline_summary(const tpa_baseline *b);
/* One line without a newline, for a list: bank, rules, counts. malloc'd. */
char *tpa_baseline_brief(const tpa_baseline *b);

/* ---- appraisal (lib/baseline_appraise.c) ---- */

const char *tpa_outcome_name(tpa_outcome o);     /* "compliant", "warning", ... */
const char *tpa_rule_status_name(tpa_rule_status s); /* "pass", "fail", "n/a" */

/* One event (or PCR) a rule failed on: what was seen. */
typedef struct {
	int32_t event;                   /* -1 for a quoted PCR value */
	int32_t pcr;
	char seen[2 * TPA_DIGEST_MAX + 1]; /* hex digest or PCR value */
} tpa_failed_event;

typedef struct {
	tpa_rule_id rule;
	tpa_severity severity;
	tpa_rule_status status;
	int32_t event;                   /* the event that decided, -1 */
	int32_t pcr;                     /* its PCR, -1 */
	char detail[TPA_RULE_DETAIL_MAX]; /* the evidence: what was seen, what expected */
	/* Every failing event, in log order, and the values the rule allows on
	 * their PCRs (malloc'd, freed by tpa_appraisal_clear). Bounded by the
	 * log: at most TPA_EVLOG_MAX_EVENTS events plus one per PCR; expected
	 * by the baseline's TPA_BASELINE_ENTRIES_MAX. */
	tpa_failed_event *failed;
	size_t nfailed;
	char *seen;                      /* the failed list as one line of text, or NULL */
	char **expected;                 /* hex values, one allocation with the array */
	size_t nexpected;
} tpa_rule_result;

typedef struct {
	tpa_outcome outcome;
	tpa_rule_result rules[TPA_RULE_COUNT]; /* in tpa_rule_id order */
	uint32_t unknown_events;         /* events no list of the baseline knows */
	uint32_t failed;                 /* rules that failed */
} tpa_appraisal;

/* Appraises a boot, rule by rule. Rules the baseline does not have are
 * "n/a (not in the baseline)"; the outcome is non-compliant if a critical
 * rule failed, warning if only warnings did. */
int tpa_baseline_appraise(tpa_appraisal *out, const tpa_baseline *b, const tpa_boot *boot);
/* As above at time now (Unix seconds; the above uses the clock): the
 * baseline's allowances (boot-applications.allowances) allow while now is
 * before their expiry; after it, what only they allowed fails "allowed
 * until TIME (KIND SOURCE), expired". */
int tpa_baseline_appraise_at(tpa_appraisal *out, const tpa_baseline *b, const tpa_boot *boot,
			     int64_t now);
/* Frees what an appraisal holds (the failing-event lists) and zeroes it.
 * An appraisal must be cleared before it is appraised again. */
void tpa_appraisal_clear(tpa_appraisal *a);
/* An appraisal without a baseline: outcome "no-baseline", every rule n/a. */
void tpa_appraisal_none(tpa_appraisal *out);

/* ---- what the rules read (lib/baseline_rules.c) ---- */

/* The PCRs the baseline requires a quote to cover: its "required_pcrs", or
 * for a baseline without one, PCRs 0-7, those its entries name and the boot
 * chain's (8, 9, 11-14) that log (may be NULL) extends. */
tpa_pcr_mask tpa_baseline_required_pcrs(const tpa_baseline *b, const tpa_eventlog *log);

/* ---- JSON out (lib/baseline_format.c) ---- */

/* The appraisal as JSON text (malloc'd): {"outcome", "baseline", "rules":
 * [{"rule", "severity", "status", "event", "pcr", "detail", "failed": [{"event",
 * "pcr", "seen"}], "expected": ["hex", ...]}], ...}. */
char *tpa_appraisal_to_json(const tpa_appraisal *a, const char *baseline, int version);

/* Quoted PCR values as JSON text ({"sha256": {"0": "hex", ...}}, malloc'd)
 * and back: how the registry keeps them for learning. */
char *tpa_pcr_set_to_json(const tpa_pcr_set *set);
int tpa_pcr_set_from_json(tpa_pcr_set *out, const char *json);

#endif
