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

typedef struct {
	tpa_device device;          /* the registry's record */
	char *token;                /* the last verdict's token (malloc'd), or NULL */
	int expired;                /* no token, or it expired */
	int revoked_since_verdict;  /* revoked or reinstated after the last verdict */
	int compliant;              /* 1 only if nothing below stands in the way */
	char reason[TPA_COMPLIANCE_REASON_MAX]; /* why not, "" if compliant */
} tpa_compliance_answer;

/* The answer for device_id (64 lower-case hex digits) at now (Unix s):
 * compliant only if the device is active (not pending approval, not
 * revoked), has attested, was not revoked or reinstated since, its last
 * verdict was compliant or warning, and that verdict's token has not
 * expired. TPA_ERR_INVALID_ARG for a malformed id,
 * TPA_ERR_NOT_FOUND for an unknown device, a registry error otherwise.
 * Free with tpa_compliance_answer_free in every case. */
int tpa_compliance_answer_get(tpa_compliance_answer *out, tpa_store *store,
			      const char *device_id, int64_t now);
void tpa_compliance_answer_free(tpa_compliance_answer *a);

/* Whether s is a device id: 64 lower-case hex digits. */
int tpa_device_id_valid(const char *s);

#endif
