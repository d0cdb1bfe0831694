/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's HTTP face (libmicrohttpd): the compliance answer and an
 * nginx auth_request endpoint over mTLS, and health on a plain loopback
 * address. Every request is GET with no body; the answers come from the
 * same library calls the gRPC service makes, so the faces cannot disagree. */
#ifndef TPA_HTTP_H
#define TPA_HTTP_H

#include <stddef.h>

#include "tpa/service.h"
#include "tpa/store.h"

#define TPA_HTTP_TOKEN_MAX 8192          /* a Bearer token's bytes, at most */
#define TPA_HTTP_PATH_MAX 256            /* a request path's bytes, at most */

typedef enum {
	TPA_HTTP_ROUTE_NONE = 0,             /* unknown path: 404 */
	TPA_HTTP_ROUTE_BAD,                  /* a known path with a malformed part: 400 */
	TPA_HTTP_ROUTE_HEALTHZ,
	TPA_HTTP_ROUTE_READYZ,
	TPA_HTTP_ROUTE_METRICS,
	TPA_HTTP_ROUTE_COMPLIANCE,           /* /v1/devices/{64 hex}/compliance */
	TPA_HTTP_ROUTE_AUTHZ,                /* /v1/authz */
	TPA_HTTP_ROUTE_RADIUS_AUTHORIZE,     /* /v1/radius/authorize (GET) */
	TPA_HTTP_ROUTE_RADIUS_ACCOUNTING,    /* /v1/radius/accounting (POST, no body) */
	TPA_HTTP_ROUTE_JWKS,                 /* /v1/jwks: the token and SET keys (TLS, anyone) */
} tpa_http_route;

/* The RADIUS Class attribute the authorize answer gives a session, which
 * the NAS echoes in its accounting: "tpa:<device id>:<c|n>", c if the
 * device was compliant when the session was authorized. */
#define TPA_HTTP_CLASS_PREFIX "tpa:"

/* A Class value as FreeRADIUS prints it in a URI (octets: "0x" and hex) or
 * as sent: the device id (TPA_DEVICE_ID_LEN + 1 bytes) and whether it was
 * admitted compliant. 0, or TPA_ERR_PARSE (not one of ours). */
int tpa_http_class_parse(char *device_id, int *admitted, const char *v);

/* The route of path (decoded, without the query); for COMPLIANCE, id
 * receives the device id. Never fails: anything unknown is NONE. */
tpa_http_route tpa_http_route_parse(const char *path, char id[TPA_DEVICE_ID_LEN + 1]);

/* The token of an Authorization header value "Bearer <token>" (scheme in
 * any case, one or more spaces): *tok points into hdr, *len its bytes, at
 * most TPA_HTTP_TOKEN_MAX of base64url and '.'. 0, or TPA_ERR_INVALID_ARG. */
int tpa_http_bearer(const char **tok, size_t *len, const char *hdr);

/* Checks a listen address "host:port" ("[v6]:port"); loopback_only: the
 * host must resolve to loopback addresses only. 0 or TPA_ERR_INVALID_ARG. */
int tpa_http_check_listen(const char *addr, int loopback_only);

typedef struct {
	const char *listen;          /* TLS (mTLS for decisions), or NULL */
	const char *listen_plain;    /* loopback, plain: health only, or NULL */
	const char *cert_file, *key_file; /* the server's (for listen) */
	const char *client_ca_file;  /* client certificates' CA, or NULL: none */
	unsigned max_connections;    /* per listener; 0: 64 */
	unsigned max_per_ip;         /* 0: 16 */
	unsigned timeout_s;          /* idle connection timeout; 0: 10 */
	unsigned threads;            /* thread pool per listener; 0: 2 */
	int authz_accept_warning;    /* /v1/authz takes a token whose status is
				      * warning (default: affirming only) */
	/* RADIUS accounting (/v1/radius/accounting) is taken from a client
	 * certificate with one of these CNs (and clientAuth) only. */
	const char *const *accounting_from;
	size_t naccounting_from;
	/* Told of each session accounting starts (tpa_watch_session). */
	int (*session_hook)(void *ctx, const tpa_session *se, int admitted);
	void *session_ctx;
} tpa_http_opts;

typedef struct tpa_http tpa_http;

/* Starts the listeners (both bound before it returns, errors naming the
 * address: in use, cannot be resolved, not loopback, TLS unsupported);
 * svc is borrowed until tpa_http_stop. */
int tpa_http_start(tpa_http **out, const tpa_http_opts *o, tpa_service *svc);
/* The port each listener bound (plain: 1 for listen_plain), 0 if none. */
int tpa_http_port(const tpa_http *h, int plain);
/* The TLS listener's certificate, key and client CA read again (a SIGHUP):
 * checked first (nothing changes if they do not make a key pair, or the
 * CA holds no certificate); then new connections get them, and the ones
 * open keep the old until they close (at most 30 s). A client CA added or
 * removed needs a restart (TPA_ERR_INVALID_ARG). 0 without a TLS
 * listener. */
int tpa_http_reload_tls(tpa_http *h, const char *cert_file, const char *key_file,
			const char *client_ca_file);
/* Stops the listeners (calls in flight finish) and frees h. */
void tpa_http_stop(tpa_http *h);

#endif
