/* SPDX-License-Identifier: BSD-3-Clause */
/* A device's compliance now: see tpa/compliance.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/compliance.h"
#include "tpa/err.h"

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

int tpa_compliance_answer_get(tpa_compliance_answer *out, tpa_store *store,
			      const char *device_id, int64_t now)
{
	const tpa_device *d = &out->device;
	int err, good_verdict;

	memset(out, 0, sizeof(*out));
	if (!tpa_device_id_valid(device_id))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "device_id: not 64 lower-case hex digits");
	if ((err = tpa_store_last_token(&out->token, &out->device, store, device_id)) < 0)
		return err;
	out->expired = !out->token || d->last_token_exp <= now;
	out->revoked_since_verdict = d->state_changed_at > 0 &&
				     d->state_changed_at >= d->last_attest_at;
	good_verdict = strcmp(d->last_outcome, "compliant") == 0 ||
		       strcmp(d->last_outcome, "warning") == 0;
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
	else if (out->expired)
		snprintf(out->reason, sizeof(out->reason), "the last verdict's token expired");
	out->compliant = out->reason[0] == '\0';
	return 0;
}

void tpa_compliance_answer_free(tpa_compliance_answer *a)
{
	if (!a)
		return;
	free(a->token);
	a->token = NULL;
}
