/* SPDX-License-Identifier: BSD-3-Clause */
/* A device's compliance now: see tpa/compliance.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/compliance.h"
#include "tpa/err.h"
#include "tpa/timefmt.h"

int tpa_device_id_valid(const char *s)
{
	size_t i;

	if (!s || strlen(s) != TPA_DEVICE_ID_LEN)
		return 0;
	for (i = 0; i < TPA_DEVICE_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

void tpa_staleness_default(tpa_staleness *p)
{
	p->interval_s = TPA_STALE_DEFAULT_INTERVAL_S;
	p->grace_s = TPA_STALE_DEFAULT_GRACE_S;
}

int64_t tpa_staleness_window(const tpa_staleness *p)
{
	tpa_staleness def;

	if (!p) {
		tpa_staleness_default(&def);
		p = &def;
	}
	return (int64_t)(p->interval_s ? p->interval_s : TPA_STALE_DEFAULT_INTERVAL_S) +
	       (int64_t)p->grace_s;
}

int64_t tpa_device_due(const tpa_device *d, const tpa_staleness *p)
{
	int64_t w = tpa_staleness_window(p);   /* at most 2^33 */

	if (!d || d->last_attest_at <= 0)
		return 0;
	/* The registry's time is read from a file: one near INT64_MAX is
	 * nonsense, but must not overflow (due at the end of time, never stale). */
	if (d->last_attest_at > INT64_MAX - w)
		return INT64_MAX;
	return d->last_attest_at + w;
}

int tpa_device_stale(const tpa_device *d, int64_t now, const tpa_staleness *p)
{
	int64_t due = tpa_device_due(d, p);

	return due != 0 && now >= due;
}

/* The decision on out->device (read already) at now under pol. */
static void judge(tpa_compliance_answer *out, int64_t now, const tpa_staleness *pol,
		  int with_token)
{
	const tpa_device *d = &out->device;
	char at[TPA_TIME_ISO_LEN + 1], due[TPA_TIME_ISO_LEN + 1];
	int good_verdict;

	/* A device has a token expiry exactly when it has a token (the
	 * registry's rule), and none is at or before 0: no expiry is expired. */
	out->expired = (with_token && !out->token) || d->last_token_exp <= now;
	out->revoked_since_verdict = d->state_changed_at > 0 &&
				     d->state_changed_at >= d->last_attest_at;
	out->due_at = tpa_device_due(d, pol);
	out->stale = tpa_device_stale(d, now, pol);
	good_verdict = strcmp(d->last_outcome, "compliant") == 0 ||
		       strcmp(d->last_outcome, "warning") == 0;
	out->reason[0] = '\0';
	if (d->state == TPA_DEVICE_PENDING)
		snprintf(out->reason, sizeof(out->reason),
			 "the device is pending approval (verifier devices approve)");
	else if (d->state != TPA_DEVICE_ACTIVE)
		snprintf(out->reason, sizeof(out->reason), "the device is %s",
			 tpa_device_state_name(d->state));
	else if (!d->last_attest_at)
		snprintf(out->reason, sizeof(out->reason), "the device never attested");
	else if (out->revoked_since_verdict)
		snprintf(out->reason, sizeof(out->reason),
			 "the device was revoked or reinstated after its last verdict");
	else if (!good_verdict)
		snprintf(out->reason, sizeof(out->reason), "the last verdict was %s",
			 d->last_outcome);
	else if (out->stale && tpa_time_iso(at, sizeof(at), d->last_attest_at) >= 0 &&
		 tpa_time_iso(due, sizeof(due), out->due_at) >= 0)
		snprintf(out->reason, sizeof(out->reason),
			 "the device is overdue: its last good verdict was at %s, due by %s "
			 "(interval %u s + grace %u s)", at, due, (unsigned)pol->interval_s,
			 (unsigned)pol->grace_s);
	else if (out->stale)    /* a time past 9999: still overdue */
		snprintf(out->reason, sizeof(out->reason), "the device is overdue");
	else if (out->expired)
		snprintf(out->reason, sizeof(out->reason), "the last verdict's token expired");
	out->compliant = out->reason[0] == '\0';
}

static void policy(tpa_staleness *pol, const tpa_staleness *p)
{
	if (p) {
		*pol = *p;
		if (!pol->interval_s)
			pol->interval_s = TPA_STALE_DEFAULT_INTERVAL_S;
	} else {
		tpa_staleness_default(pol);
	}
}

/* The answer for device_id, with its last token's text if with_token. */
static int answer(tpa_compliance_answer *out, tpa_store *store, const char *device_id,
		  int64_t now, const tpa_staleness *p, int with_token)
{
	tpa_staleness pol;
	int err;

	memset(out, 0, sizeof(*out));
	policy(&pol, p);
	if (!tpa_device_id_valid(device_id))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "device_id: not 64 lower-case hex digits");
	if ((err = with_token ? tpa_store_last_token(&out->token, &out->device, store, device_id) :
		   tpa_store_get(&out->device, store, device_id)) < 0)
		return err;
	judge(out, now, &pol, with_token);
	return 0;
}

void tpa_compliance_judge(tpa_compliance_answer *out, const tpa_device *d, int64_t now,
			  const tpa_staleness *p)
{
	tpa_staleness pol;

	memset(out, 0, sizeof(*out));
	policy(&pol, p);
	out->device = *d;
	judge(out, now, &pol, 0);
}

int tpa_compliance_enforced(const tpa_compliance_answer *a, int accept_warning,
			    const char **why)
{
	if (!a->compliant) {
		*why = a->reason;
		return 0;
	}
	if (!accept_warning && strcmp(a->device.last_outcome, "warning") == 0) {
		*why = "the last verdict was warning (--http-authz-accept-warning lets it through)";
		return 0;
	}
	*why = "";
	return 1;
}

int64_t tpa_compliance_next_change(const tpa_compliance_answer *a, int64_t now)
{
	int64_t t = 0;

	if (!a->compliant)
		return 0;
	if (a->due_at > now)
		t = a->due_at;
	if (a->device.last_token_exp > now && (!t || a->device.last_token_exp < t))
		t = a->device.last_token_exp;
	return t;
}

int tpa_compliance_answer_get(tpa_compliance_answer *out, tpa_store *store,
			      const char *device_id, int64_t now, const tpa_staleness *p)
{
	return answer(out, store, device_id, now, p, 1);
}

int tpa_compliance_decide(tpa_compliance_answer *out, tpa_store *store, const char *device_id,
			  int64_t now, const tpa_staleness *p)
{
	return answer(out, store, device_id, now, p, 0);
}

void tpa_compliance_answer_free(tpa_compliance_answer *a)
{
	if (!a)
		return;
	free(a->token);
	a->token = NULL;
}
