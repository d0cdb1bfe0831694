/* SPDX-License-Identifier: BSD-3-Clause */
/* Whether a device is compliant now: its registry record judged at a given
 * time. The one answer every face gives an enforcement point (the gRPC
 * GetDeviceCompliance today; an HTTP face next), so that they cannot
 * disagree. Who may ask is the face's business, not this module's. */
#ifndef TPA_COMPLIANCE_H
#define TPA_COMPLIANCE_H

#include <stdint.h>

#include "tpa/store.h"

#define TPA_COMPLIANCE_REASON_MAX 256

/* How often a device must attest: the agent's interval (attest_client's
 * default) and a grace for a late or retrying agent. */
#define TPA_STALE_DEFAULT_INTERVAL_S 3600
#define TPA_STALE_DEFAULT_GRACE_S 600
#define TPA_STALE_MAX_S (30 * 86400)   /* each of the two, at most */

typedef struct {
	uint32_t interval_s;        /* 0: TPA_STALE_DEFAULT_INTERVAL_S */
	uint32_t grace_s;           /* 0: no grace */
} tpa_staleness;

/* The defaults: interval TPA_STALE_DEFAULT_INTERVAL_S, grace
 * TPA_STALE_DEFAULT_GRACE_S. */
void tpa_staleness_default(tpa_staleness *p);

/* interval + grace, the most a device may go without a verdict; p NULL: the
 * defaults. */
int64_t tpa_staleness_window(const tpa_staleness *p);

/* When d must have attested again by: its last verdict plus interval plus
 * grace; 0 if it never attested. The registry keeps the time of the last
 * verdict, not of the last good one: a device whose last verdict was bad is
 * due from that verdict (it is non-compliant for the verdict already). */
int64_t tpa_device_due(const tpa_device *d, const tpa_staleness *p);

/* 1 if d is overdue at now: it attested, and now is at or past its due time
 * (like a token's exp, the due time itself is too late). A device that never
 * attested is not stale: it is "never attested". */
int tpa_device_stale(const tpa_device *d, int64_t now, const tpa_staleness *p);

typedef struct {
	tpa_device device;          /* the registry's record */
	char *token;                /* the last verdict's token (malloc'd), or NULL */
	int expired;                /* no token, or it expired */
	int revoked_since_verdict;  /* revoked or reinstated after the last verdict */
	int stale;                  /* overdue: see tpa_device_stale */
	int64_t due_at;             /* tpa_device_due, 0 if it never attested */
	int compliant;              /* 1 only if nothing below stands in the way */
	char reason[TPA_COMPLIANCE_REASON_MAX]; /* why not, "" if compliant */
} tpa_compliance_answer;

/* The answer for device_id (64 lower-case hex digits) at now (Unix s) under
 * the staleness policy p (NULL: the defaults): compliant only if the device
 * is active (not pending approval, not revoked), has attested, was not
 * revoked or reinstated since, its last verdict was compliant or warning, it
 * is not stale, and that verdict's token has not expired.
 * TPA_ERR_INVALID_ARG for a malformed id,
 * TPA_ERR_NOT_FOUND for an unknown device, a registry error otherwise.
 * Free with tpa_compliance_answer_free in every case. */
int tpa_compliance_answer_get(tpa_compliance_answer *out, tpa_store *store,
			      const char *device_id, int64_t now, const tpa_staleness *p);
/* The same decision without the token's text (token stays NULL): for a
 * decision per request (/v1/authz), which has the token in hand. */
int tpa_compliance_decide(tpa_compliance_answer *out, tpa_store *store, const char *device_id,
			  int64_t now, const tpa_staleness *p);
void tpa_compliance_answer_free(tpa_compliance_answer *a);
/* The same decision on a record read already (a watcher that lists the
 * registry): out->device becomes a copy of *d; nothing to free. */
void tpa_compliance_judge(tpa_compliance_answer *out, const tpa_device *d, int64_t now,
			  const tpa_staleness *p);
/* What an enforcement point (/v1/authz, RADIUS, CAEP) is told: 1 if a is
 * compliant and, unless accept_warning, its last verdict is not a warning
 * (affirming only); else 0 and *why says why. */
int tpa_compliance_enforced(const tpa_compliance_answer *a, int accept_warning,
			    const char **why);
/* When a compliant answer stops being one by time alone (its due time or
 * its token's expiry, the earlier after now); 0 if not compliant or never. */
int64_t tpa_compliance_next_change(const tpa_compliance_answer *a, int64_t now);

/* Whether s is a device id: 64 lower-case hex digits. */
int tpa_device_id_valid(const char *s);

#endif
