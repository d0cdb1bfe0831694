/* SPDX-License-Identifier: BSD-3-Clause */
/* OpenID CAEP over the Shared Signals Framework: the verifier as a
 * transmitter. A device-compliance-change Security Event Token (RFC 8417,
 * CAEP 1.0 section 3.5) signed with the verifier's token key, and its push
 * delivery (RFC 8935): an HTTP POST of application/secevent+jwt, 202
 * Accepted expected. The only module that speaks to a receiver. */
#ifndef TPA_CAEP_H
#define TPA_CAEP_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/token.h"

#define TPA_CAEP_EVENT_DEVICE_COMPLIANCE \
	"https://schemas.openid.net/secevent/caep/event-type/device-compliance-change"
#define TPA_CAEP_TYP "secevent+jwt"         /* the JWS typ (RFC 8417 section 2.3) */
#define TPA_CAEP_JTI_LEN 32                 /* hex digits: 128 random bits */
#define TPA_CAEP_URL_MAX 512
#define TPA_CAEP_SET_MAX (16u << 10)        /* bytes of a SET we build, at most */
#define TPA_CAEP_REASON_MAX 255

typedef struct {
	const char *iss;              /* the verifier's id (the token's iss) */
	const char *aud;              /* the receiver's audience, or NULL: none */
	const char *jti;              /* TPA_CAEP_JTI_LEN hex digits (tpa_caep_jti) */
	const char *device_id;        /* the subject: sub_id {format "opaque", id} */
	int compliant;                /* current_status: "compliant" / "not-compliant" */
	int have_previous;            /* previous_status given */
	int previous_compliant;
	const char *reason;           /* reason_admin.en, or NULL / "" for none */
	int64_t event_timestamp;      /* when the change happened (Unix s) */
	int64_t iat;                  /* when the SET is made (Unix s) */
} tpa_caep_change;

/* A fresh jti: TPA_CAEP_JTI_LEN hex digits from the system's CSPRNG, into
 * out (TPA_CAEP_JTI_LEN + 1 bytes). */
int tpa_caep_jti(char *out);

/* The SET of c signed with k (ES256, k's kid, typ secevent+jwt); *out
 * malloc'd compact JWS. TPA_ERR_INVALID_ARG naming a field that is
 * missing, malformed or too long. */
int tpa_caep_set_sign(char **out, const tpa_token_key *k, const tpa_caep_change *c);

/* A receiver to push to. */
typedef struct {
	const char *url;              /* http:// (loopback only) or https:// */
	const char *bearer;           /* Authorization: Bearer, or NULL */
	const char *ca_file;          /* CAs for https, or NULL: the system's */
	unsigned connect_timeout_ms;  /* 0: 2000 */
	unsigned timeout_ms;          /* the whole exchange; 0: 5000 */
} tpa_caep_receiver;

typedef struct tpa_caep_pusher tpa_caep_pusher;

/* One pusher per receiver (it keeps its connection); not thread-safe:
 * one thread uses it. r's strings are copied. */
int tpa_caep_pusher_new(tpa_caep_pusher **out, const tpa_caep_receiver *r);
void tpa_caep_pusher_free(tpa_caep_pusher *p);

/* POSTs the SET. 0 when the receiver answered 202 (or 200/204: accepted);
 * else TPA_ERR_UNAVAILABLE (could not connect, timed out, closed early,
 * 5xx, 429: try again later) or TPA_ERR_REFUSED (another 4xx: the receiver
 * refuses this SET; RFC 8935 section 2.4's error JSON, when it sends one,
 * in the message), with tpa_err_last() naming what happened. *http_status
 * (if not NULL) receives the status, 0 if none came. */
int tpa_caep_push(tpa_caep_pusher *p, const char *set, long *http_status);

#endif
