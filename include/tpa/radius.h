/* SPDX-License-Identifier: BSD-3-Clause */
/* RADIUS Dynamic Authorization (RFC 5176): a Disconnect-Request or
 * CoA-Request to the NAS that holds a device's session (a switch port, an
 * access point, a VPN gateway), and its ACK or NAK checked. The packet
 * format is RFC 2865's; the request carries a Message-Authenticator
 * (RFC 3579, RFC 5176 section 3.3) and the Request Authenticator of RFC
 * 5176 section 2.3; a response counts only with its Response Authenticator
 * and Message-Authenticator right. Shared secrets are never logged or put
 * in a message. */
#ifndef TPA_RADIUS_H
#define TPA_RADIUS_H

#include <stddef.h>
#include <stdint.h>

#define TPA_RADIUS_MAX 4096          /* a packet, at most (RFC 2865 section 3) */
#define TPA_RADIUS_SECRET_MAX 128
#define TPA_RADIUS_DAS_PORT 3799     /* RFC 5176 section 3.1 */

typedef enum {
	TPA_RADIUS_DISCONNECT_REQUEST = 40,
	TPA_RADIUS_DISCONNECT_ACK = 41,
	TPA_RADIUS_DISCONNECT_NAK = 42,
	TPA_RADIUS_COA_REQUEST = 43,
	TPA_RADIUS_COA_ACK = 44,
	TPA_RADIUS_COA_NAK = 45,
} tpa_radius_code;

/* The session to end or change: what the NAS knows it by (from its
 * accounting). At least one of user_name, acct_session_id and
 * calling_station_id; strings are 1..253 bytes. */
typedef struct {
	const char *user_name;           /* User-Name (1) */
	const char *acct_session_id;     /* Acct-Session-Id (44) */
	const char *calling_station_id;  /* Calling-Station-Id (31) */
	const char *nas_identifier;      /* NAS-Identifier (32), or NULL */
	int64_t event_timestamp;         /* Event-Timestamp (55), 0: none */
} tpa_radius_session;

/* A request: code TPA_RADIUS_DISCONNECT_REQUEST or TPA_RADIUS_COA_REQUEST,
 * identifier id, into out (TPA_RADIUS_MAX bytes); *len its length. */
int tpa_radius_request_build(uint8_t *out, size_t *len, tpa_radius_code code, uint8_t id,
			     const tpa_radius_session *s, const uint8_t *secret,
			     size_t secret_len);

/* What a response says. */
typedef struct {
	tpa_radius_code code;            /* an ACK or a NAK of the request's kind */
	int have_error_cause;
	uint32_t error_cause;            /* Error-Cause (101), RFC 5176 section 3.5 */
} tpa_radius_response;

/* A response to req (as built above) checked: at least 20 bytes, its
 * Length within what arrived (bytes past it are padding, RFC 2865), the
 * request's identifier, an ACK or NAK of its kind, attributes that are
 * whole and of the kinds an ACK or NAK may carry (RFC 5176 section 3.6),
 * exactly one Message-Authenticator, it and the Response Authenticator
 * right for the shared secret. TPA_ERR_VERIFY or TPA_ERR_PARSE naming
 * what is wrong. */
int tpa_radius_response_check(tpa_radius_response *out, const uint8_t *resp, size_t resp_len,
			      const uint8_t *req, size_t req_len, const uint8_t *secret,
			      size_t secret_len);

/* Error-Cause's name ("Session-Context-Not-Found"), or "unknown". */
const char *tpa_radius_error_cause_name(uint32_t cause);

/* A request sent to the NAS at host:port over UDP: tries sends (the same
 * packet each time, RFC 5176 section 2.3), each waiting timeout_ms for a
 * response that checks (others are dropped and counted in *dropped). 0 and
 * *out for an ACK or NAK; TPA_ERR_UNAVAILABLE if none came. */
int tpa_radius_send(tpa_radius_response *out, unsigned *dropped, const char *nas,
		    const uint8_t *req, size_t req_len, const uint8_t *secret, size_t secret_len,
		    unsigned tries, unsigned timeout_ms);

/* A shared secret: the file's first line, 1 to TPA_RADIUS_SECRET_MAX
 * printable characters (its newline dropped) into out
 * (TPA_RADIUS_SECRET_MAX bytes). The error names the file, never the
 * secret. */
int tpa_radius_secret_read(uint8_t *out, size_t *len, const char *path);

#endif
