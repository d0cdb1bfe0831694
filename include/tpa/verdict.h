/* SPDX-License-Identifier: BSD-3-Clause */
/* The one decision: from the checks of the challenge, the quote and the
 * registry, and the measured boot and its baseline, the verdict (compliant,
 * warning, non-compliant), the appraisal's outcome, the EAR status and the
 * AR4SI trustworthiness vector. Decided over typed results only. The Attest
 * handler and the offline commands (eventlog show, baseline appraise) call
 * tpa_verdict_judge, so online and offline judge a log the same way. */
#ifndef TPA_VERDICT_H
#define TPA_VERDICT_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/baseline.h"
#include "tpa/boot.h"
#include "tpa/findings.h"
#include "tpa/pcr.h"

typedef enum {
	TPA_STATUS_NON_COMPLIANT = 0,
	TPA_STATUS_COMPLIANT = 1,
	TPA_STATUS_WARNING = 2,          /* compliant, but warning rules failed */
} tpa_verdict_status;

/* ear.status (draft-ietf-rats-ar4si). */
typedef enum {
	TPA_EAR_NONE = 0,                /* the verifier makes no claim */
	TPA_EAR_AFFIRMING,
	TPA_EAR_WARNING,
	TPA_EAR_CONTRAINDICATED,
} tpa_ear_status;

const char *tpa_ear_status_name(tpa_ear_status s);   /* "affirming", ... */
const char *tpa_verdict_status_name(tpa_verdict_status s); /* "COMPLIANT", ... */

/* AR4SI trustworthiness claims: 0 no claim, 2 affirming, 3 approved boot
 * only, 32/33 warning tier, 96/97 contraindicated, 99 cryptographic
 * validation failed. */
typedef struct {
	int instance_identity;
	int configuration;
	int executables;
	int hardware;
} tpa_ar4si;

/* What the device says of its own Secure Boot (untrusted). */
typedef enum {
	TPA_CLAIMED_UNKNOWN = 0,
	TPA_CLAIMED_ON = 1,
	TPA_CLAIMED_OFF = 2,
} tpa_claimed;

typedef struct {
	/* Online: the checks already made (challenge, AK, quote, registry), in
	 * order. NULL offline: the log alone, nothing TPM-signed. */
	const tpa_findings *checks;
	const tpa_pcr_set *quoted;       /* the quote's PCR values (online) */
	const uint8_t *event_log;        /* may be NULL */
	size_t event_log_len;
	const tpa_baseline *baseline;    /* the one that applies, or NULL */
	int registered;                  /* the registry binds the AK to an active device */
	tpa_claimed client_secure_boot;
	const tpa_sbref *sbref;          /* the Secure Boot reference bundle, or NULL */
} tpa_verdict_input;

typedef struct {
	tpa_findings checks;             /* every check, in order */
	tpa_boot boot;                   /* the measured boot */
	tpa_appraisal appraisal;         /* every rule n/a unless appraised */
	int appraised;
	int offline;
	int quote_ok;                    /* the checks given held: the PCR values are the
					  * TPM's (offline: there are none to doubt) */
	int replayed;                    /* online: a log that replays to the quote
					  * (boot.state shows what it says) */
	int measured_boot;               /* replayed, PCRs 0-7 among the replayed */
	int evidence_ok;                 /* every check held */
	tpa_outcome outcome;
	tpa_verdict_status status;
	tpa_ear_status ear;
	int unbound_ak;                  /* online without a registry: the AK is taken on
					  * its word, so the result is no better than a
					  * warning */
	tpa_ar4si vector;
} tpa_verdict;

/* Judges. Failed evidence is a verdict, not an error: negative codes are
 * failures of judging itself (memory). Call tpa_verdict_clear afterwards.
 * The input's bytes must live as long as the verdict. */
int tpa_verdict_judge(tpa_verdict *out, const tpa_verdict_input *in);
void tpa_verdict_clear(tpa_verdict *v);

/* The failed checks and rules, comma-separated ("quote.nonce, secure-boot"),
 * truncated to cap. */
void tpa_verdict_reasons(const tpa_verdict *v, char *out, size_t cap);

#endif
