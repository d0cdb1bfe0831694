/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: a RADIUS response (Disconnect-ACK/NAK, CoA-ACK/NAK) as
 * tpa_radius_response_check reads it, to one fixed Disconnect-Request
 * (secret "das-secret", id 42, User-Name "alice", Event-Timestamp
 * 1700000000). The seeds are an ACK and a NAK with an Error-Cause that
 * check; what checks must be an ACK or NAK of it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/radius.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t secret[] = "das-secret";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t req[TPA_RADIUS_MAX];
	static size_t req_len;
	tpa_radius_session s = { "alice", NULL, NULL, NULL, 1700000000 };
	tpa_radius_response r;

	if (!req_len && tpa_radius_request_build(req, &req_len, TPA_RADIUS_DISCONNECT_REQUEST, 42,
						 &s, secret, sizeof(secret) - 1) < 0)
		abort();
	if (tpa_radius_response_check(&r, data, size, req, req_len, secret,
				      sizeof(secret) - 1) == 0 &&
	    r.code != TPA_RADIUS_DISCONNECT_ACK && r.code != TPA_RADIUS_DISCONNECT_NAK)
		abort();
	return 0;
}
