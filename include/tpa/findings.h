/* SPDX-License-Identifier: BSD-3-Clause */
/* Findings: the named, typed outcome of every check made on evidence. The
 * verdict is decided over the check ids (lib/verdict.c), never over their
 * names; the names are what the wire and people read. */
#ifndef TPA_FINDINGS_H
#define TPA_FINDINGS_H

#include <stddef.h>

#define TPA_CHECKS_MAX   32
#define TPA_CHECK_NAME_MAX   40
#define TPA_CHECK_DETAIL_MAX 256

/* Every check this library makes. Values are never reused. */
typedef enum {
	TPA_CHECK_OTHER = 0,              /* a name this library does not know
					   * (a check read from a reply) */
	TPA_CHECK_CHALLENGE,              /* "challenge" */
	TPA_CHECK_AK_PUBLIC,              /* "ak.public" */
	TPA_CHECK_AK_ATTRIBUTES,          /* "ak.attributes" */
	TPA_CHECK_QUOTE_STRUCTURE,        /* "quote.structure" */
	TPA_CHECK_QUOTE_MAGIC,            /* "quote.magic" */
	TPA_CHECK_QUOTE_TYPE,             /* "quote.type" */
	TPA_CHECK_QUOTE_NONCE,            /* "quote.nonce" */
	TPA_CHECK_QUOTE_PCR_SELECTION,    /* "quote.pcr_selection" */
	TPA_CHECK_QUOTE_PCR_DIGEST,       /* "quote.pcr_digest" */
	TPA_CHECK_QUOTE_SIGNATURE,        /* "quote.signature" */
	TPA_CHECK_DEVICE_REGISTERED,      /* "device.registered" */
	TPA_CHECK_BASELINE,               /* "baseline": the one that applies is usable */
	TPA_CHECK_EVENTLOG_PARSE,         /* "eventlog.parse" */
	TPA_CHECK_QUOTE_BANKS,            /* "quote.banks": the quote covers the log's
					   * strongest bank */
	TPA_CHECK_EVENTLOG_REPLAY,        /* "eventlog.replay" */
	TPA_CHECK_EVENTLOG_DIGESTS,       /* "eventlog.digests" */
	TPA_CHECK_EVENTLOG_SEPARATORS,    /* "eventlog.separators" */
	TPA_CHECK_CLIENT_SECURE_BOOT,     /* "client.secure_boot" */
	TPA_CHECK_FINDINGS_OVERFLOW,      /* "findings.overflow" */
	TPA_CHECK_KEY_BINDING,            /* "key.binding": a TPM key certified by the AK */
	TPA_CHECK_COUNT
} tpa_check_id;

/* What a check is about, for the trustworthiness claims. */
typedef enum {
	TPA_CHECK_CLASS_OTHER = 0,
	TPA_CHECK_CLASS_CHALLENGE,        /* freshness */
	TPA_CHECK_CLASS_QUOTE,            /* the AK and its signed quote */
	TPA_CHECK_CLASS_IDENTITY,         /* the registry's binding of the AK */
	TPA_CHECK_CLASS_EVENTLOG,         /* the log against the quote */
	TPA_CHECK_CLASS_CLIENT,           /* the device's own report */
	TPA_CHECK_CLASS_POLICY,           /* the verifier's own configuration */
} tpa_check_class;

/* "quote.nonce", ...; "other" for TPA_CHECK_OTHER. */
const char *tpa_check_name(tpa_check_id id);
/* The id of a check name, TPA_CHECK_OTHER if it is not one of ours. */
tpa_check_id tpa_check_id_of(const char *name);
tpa_check_class tpa_check_class_of(tpa_check_id id);

/* The outcome of one check. */
typedef struct {
	tpa_check_id id;
	char name[TPA_CHECK_NAME_MAX];
	int passed;
	char detail[TPA_CHECK_DETAIL_MAX];
} tpa_check;

typedef struct {
	size_t n;
	tpa_check items[TPA_CHECKS_MAX];
} tpa_findings;

/* Appends a check. Past TPA_CHECKS_MAX the last slot becomes a failed
 * "findings.overflow": a failure is never lost. */
void tpa_findings_add(tpa_findings *f, tpa_check_id id, int passed, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same for a check known only by its name (one read from a reply). */
void tpa_findings_add_named(tpa_findings *f, const char *name, int passed,
			    const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Number of failed checks. */
size_t tpa_findings_failed(const tpa_findings *f);
/* Failed checks of one class. */
size_t tpa_findings_failed_class(const tpa_findings *f, tpa_check_class c);
/* The first check with that id, or NULL. */
const tpa_check *tpa_findings_get(const tpa_findings *f, tpa_check_id id);
/* Whether the check is there and passed. */
int tpa_findings_passed(const tpa_findings *f, tpa_check_id id);
/* The first check of that name, or NULL (for checks read from a reply). */
const tpa_check *tpa_findings_find(const tpa_findings *f, const char *name);

#endif
