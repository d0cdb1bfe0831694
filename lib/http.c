/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's HTTP face over libmicrohttpd: the only module that speaks
 * HTTP. libmicrohttpd parses the requests (and percent-decodes the path);
 * what is parsed here is the route and the Bearer header, both bounded.
 * The decisions are the library's: tpa_compliance_answer_get, the token
 * verification, the service's relying-party rule and readiness. */
#include "tpa/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tpa/compliance.h"
#include "tpa/err.h"
#include "tpa/metrics.h"
#include "tpa/timefmt.h"
#include "tpa/token.h"
#include "tpa/tpm_decode.h"

#define PEM_MAX (1u << 20)      /* a certificate, key or CA file, at most */
#define CN_MAX 128
#define WHY_MAX 320
#define CHALLENGE "Bearer realm=\"tpm-attest\""
#define CHALLENGE_WHY_MAX 200   /* a refusal's bytes in its challenge, at most */
#define PEER_CHAIN_MAX (64u << 10) /* a client chain kept to compare, at most */
#define PEER_RECHECK_S 60       /* a client chain verified again after this */

/* A listener's open connections, counted to refuse those over its limit
 * at once (libmicrohttpd's own limit leaves them in the backlog). */
typedef struct {
	unsigned max;
	atomic_uint open;
} http_limit;

/* A TLS daemon a reload replaced: it serves the connections it has until
 * they close, at most DRAIN_S, then stops; its PEMs go with it. */
#define DRAIN_S 30
#define DRAINS_MAX 16

typedef struct {
	struct MHD_Daemon *d;
	char *cert, *key, *ca;
	pthread_t th;
	int used, done;
	struct tpa_http *h;
} http_drain;

struct tpa_http {
	tpa_service *svc;
	struct MHD_Daemon *tls, *plain;
	int tls_port, plain_port;
	char *cert, *key, *ca;       /* PEM, kept while the daemon runs */
	http_limit lim[2];           /* [plain] */
	int accept_warning;          /* tpa_http_opts.authz_accept_warning */
	tpa_http_opts o;             /* the limits, for a daemon a reload starts */
	pthread_mutex_t drain_lock;  /* drains[], stopping */
	pthread_cond_t drain_cv;
	int stopping;
	http_drain drains[DRAINS_MAX];
};

/* What a connection keeps between its requests: its client chain as last
 * verified, with the answer, until the chain changes (a renegotiation) or
 * until: the leaf's expiry, or PEER_RECHECK_S after the verification. */
typedef struct {
	unsigned char *chain;        /* the DER certificates, end to end */
	size_t len;
	unsigned n;
	time_t until;
	int ok, cn_exact, client_auth;
	char cn[CN_MAX], why[WHY_MAX];
} http_conn;

/* --- what is parsed here (fuzzed: tests/fuzz/fuzz_http.c) --- */

static int is_hex_lower(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

tpa_http_route tpa_http_route_parse(const char *path, char id[TPA_DEVICE_ID_LEN + 1])
{
	static const char dev[] = "/v1/devices/", tail[] = "/compliance";
	size_t n, i;

	id[0] = '\0';
	if (!path || (n = strnlen(path, TPA_HTTP_PATH_MAX + 1)) > TPA_HTTP_PATH_MAX)
		return TPA_HTTP_ROUTE_NONE;
	if (strcmp(path, "/healthz") == 0)
		return TPA_HTTP_ROUTE_HEALTHZ;
	if (strcmp(path, "/readyz") == 0)
		return TPA_HTTP_ROUTE_READYZ;
	if (strcmp(path, "/metrics") == 0)
		return TPA_HTTP_ROUTE_METRICS;
	if (strcmp(path, "/v1/authz") == 0)
		return TPA_HTTP_ROUTE_AUTHZ;
	if (strcmp(path, "/v1/radius/authorize") == 0)
		return TPA_HTTP_ROUTE_RADIUS_AUTHORIZE;
	if (strcmp(path, "/v1/radius/accounting") == 0)
		return TPA_HTTP_ROUTE_RADIUS_ACCOUNTING;
	if (strcmp(path, "/v1/jwks") == 0)
		return TPA_HTTP_ROUTE_JWKS;
	if (strncmp(path, dev, sizeof(dev) - 1) != 0 || n < sizeof(dev) - 1 + sizeof(tail) - 1 ||
	    strcmp(path + n - (sizeof(tail) - 1), tail) != 0)
		return TPA_HTTP_ROUTE_NONE;
	/* The id exactly: a prefix could name another device once the
	 * registry grows, and a relying party has the whole id. */
	if (n != sizeof(dev) - 1 + TPA_DEVICE_ID_LEN + sizeof(tail) - 1)
		return TPA_HTTP_ROUTE_BAD;
	for (i = 0; i < TPA_DEVICE_ID_LEN; i++)
		if (!is_hex_lower(path[sizeof(dev) - 1 + i]))
			return TPA_HTTP_ROUTE_BAD;
	memcpy(id, path + sizeof(dev) - 1, TPA_DEVICE_ID_LEN);
	id[TPA_DEVICE_ID_LEN] = '\0';
	return TPA_HTTP_ROUTE_COMPLIANCE;
}

int tpa_http_bearer(const char **tok, size_t *len, const char *hdr)
{
	size_t i, n;

	*tok = NULL;
	*len = 0;
	if (!hdr || strncasecmp(hdr, "Bearer ", 7) != 0)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "Authorization: not a Bearer token");
	hdr += 7;
	while (*hdr == ' ')
		hdr++;
	n = strnlen(hdr, TPA_HTTP_TOKEN_MAX + 1);
	if (n == 0 || n > TPA_HTTP_TOKEN_MAX)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "Authorization: the token is %s",
				    n ? "too long" : "missing");
	for (i = 0; i < n; i++) {
		char c = hdr[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return tpa_err_fail(TPA_ERR_INVALID_ARG,
					    "Authorization: the token has a byte outside base64url");
	}
	*tok = hdr;
	*len = n;
	return 0;
}

/* host and port of "host:port" or "[v6]:port" into the buffers. */
static int split_addr(char *host, size_t hcap, char *port, size_t pcap, const char *addr)
{
	const char *colon, *h = addr;
	size_t hl;

	if (!addr || strlen(addr) > 255)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "listen address: missing or too long");
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (!end || end[1] != ':')
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "'%s': not [v6]:port", addr);
		h = addr + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		if (!(colon = strrchr(addr, ':')))
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "'%s': not host:port", addr);
		hl = (size_t)(colon - addr);
	}
	if (hl == 0 || hl >= hcap || strlen(colon + 1) == 0 || strlen(colon + 1) >= pcap ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) || strlen(colon + 1) > 5 ||
	    strtoul(colon + 1, NULL, 10) > 65535)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "'%s': not host:port (port 0..65535)", addr);
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, pcap, "%s", colon + 1);
	return 0;
}

static int is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return 0;
}

static int resolve(struct addrinfo **res, const char *addr, int loopback_only)
{
	char host[256], port[8];
	struct addrinfo hints, *ai;
	int err;

	*res = NULL;
	if ((err = split_addr(host, sizeof(host), port, sizeof(port), addr)) < 0)
		return err;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if (getaddrinfo(host, port, &hints, res) != 0 || !*res)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "'%s': the host does not resolve", addr);
	for (ai = *res; loopback_only && ai; ai = ai->ai_next)
		if (!is_loopback(ai->ai_addr)) {
			freeaddrinfo(*res);
			*res = NULL;
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "'%s': not a loopback address (the "
					    "plain listener serves only this host)", addr);
		}
	return 0;
}

int tpa_http_check_listen(const char *addr, int loopback_only)
{
	struct addrinfo *res;
	int err = resolve(&res, addr, loopback_only);

	freeaddrinfo(res);
	return err;
}

/* --- serving --- */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *type,
				 const char *body, const char *const *hdrs)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t i;

	if (!(r = MHD_create_response_from_buffer(strlen(body), (void *)body,
						  MHD_RESPMEM_MUST_COPY)))
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	/* Header values carry what a device reported (its host name): only
	 * printable ASCII, bounded, so none can end the header or add one. */
	for (i = 0; hdrs && hdrs[i]; i += 2) {
		char v[TPA_COMPLIANCE_REASON_MAX + 64];
		size_t k;

		snprintf(v, sizeof(v), "%s", hdrs[i + 1]);
		for (k = 0; v[k]; k++)
			if ((unsigned char)v[k] < 0x20 || (unsigned char)v[k] > 0x7e)
				v[k] = '?';
		MHD_add_response_header(r, hdrs[i], v);
	}
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A JSON error: {"error": why}; why never carries a server path. */
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *why,
				  const char *const *hdrs)
{
	json_t *o = json_pack("{s:s}", "error", why);
	char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
	enum MHD_Result ret = send_text(c, status, "application/json", t ? t : "{}", hdrs);

	free(t);
	json_decref(o);
	return ret;
}

/* RFC 6750 section 3: a 401 for a Bearer token carries its challenge.
 * refused: the token was there but not accepted, and why is said as
 * error_description, a quoted-string: printable ASCII without '"' or '\\'
 * (each such byte a '?'), at most CHALLENGE_WHY_MAX bytes. Without a
 * token (or a header that is not one) only the realm: RFC 6750 wants no
 * error code for a request that did not try. */
static enum MHD_Result send_bearer_401(struct MHD_Connection *c, const char *why, int refused)
{
	char v[sizeof(CHALLENGE) + sizeof(", error=\"invalid_token\", error_description=\"\"") +
	       CHALLENGE_WHY_MAX];
	const char *hd[] = { MHD_HTTP_HEADER_WWW_AUTHENTICATE, v, NULL };
	size_t n, k;

	/* send_text copies a header value into this much: a longer one would
	 * lose its closing quote. */
	_Static_assert(sizeof(v) <= TPA_COMPLIANCE_REASON_MAX + 64, "challenge too long");
	n = (size_t)snprintf(v, sizeof(v), "%s", CHALLENGE);
	if (refused) {
		n += (size_t)snprintf(v + n, sizeof(v) - n,
				      ", error=\"invalid_token\", error_description=\"");
		for (k = 0; why[k] && k < CHALLENGE_WHY_MAX; k++) {
			unsigned char b = (unsigned char)why[k];

			v[n++] = b < 0x20 || b > 0x7e || b == '"' || b == '\\' ? '?' : (char)b;
		}
		snprintf(v + n, sizeof(v) - n, "\"");
	}
	return send_error(c, MHD_HTTP_UNAUTHORIZED, why, hd);
}

/* The verified client certificate's CN and clientAuth EKU: 1, or 0 if
 * there is none the client CA verified (why says which); *expires, the
 * leaf's expiry if it was read. */
static int peer_verify(struct MHD_Connection *c, char *cn, size_t cncap, int *cn_exact,
		       int *client_auth, char *why, size_t cap, time_t *expires)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t sess;
	const gnutls_datum_t *chain;
	unsigned int nchain = 0, status = 0, i;
	gnutls_x509_crt_t crt;
	size_t sz;
	int ok = 0;

	cn[0] = '\0';
	*cn_exact = 0;
	*client_auth = 0;
	if (!ci || !(sess = (gnutls_session_t)ci->tls_session) ||
	    !(chain = gnutls_certificate_get_peers(sess, &nchain)) || nchain == 0) {
		snprintf(why, cap, "a TLS client certificate from the verifier's client CA is needed");
		return 0;
	}
	if (gnutls_certificate_verify_peers2(sess, &status) < 0 || status != 0) {
		snprintf(why, cap, "the client certificate does not verify against the client CA");
		return 0;
	}
	if (gnutls_x509_crt_init(&crt) < 0) {
		snprintf(why, cap, "out of memory");
		return 0;
	}
	if (gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) < 0) {
		snprintf(why, cap, "the client certificate cannot be read");
		goto out;
	}
	*expires = gnutls_x509_crt_get_expiration_time(crt);
	sz = cncap;
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &sz) == 0 &&
	    sz < cncap && strlen(cn) == sz) {
		*cn_exact = 1;
		/* Shown in messages: only printable ASCII. */
		for (i = 0; cn[i]; i++)
			if ((unsigned char)cn[i] < 0x20 || (unsigned char)cn[i] > 0x7e) {
				cn[i] = '?';
				*cn_exact = 0;
			}
	} else {
		snprintf(cn, cncap, "?");
	}
	for (i = 0;; i++) {
		char oid[128];
		unsigned int crit = 0;

		sz = sizeof(oid);
		if (gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &sz, &crit) < 0)
			break;
		if (strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) == 0)
			*client_auth = 1;
	}
	ok = 1;
out:
	gnutls_x509_crt_deinit(crt);
	return ok;
}

/* A request refused, in the service's log: "http WHAT refused". */
static void say_refused(tpa_http *h, const char *what, const char *device, const char *why)
{
	tpa_log_rec rec;

	tpa_log_rec_initf(&rec, TPA_LOG_WARNING, "http %s refused", what);
	if (device)
		tpa_log_strf(&rec, "device", "%.16s", device);
	tpa_log_str(&rec, "reason", why);
	tpa_service_log(h->svc, &rec);
}

/* The client chain of c, whole, equal to the one its connection kept. */
static int same_chain(const http_conn *k, const gnutls_datum_t *chain, unsigned n)
{
	size_t off = 0;
	unsigned i;

	if (!k->chain || k->n != n)
		return 0;
	for (i = 0; i < n; i++) {
		if (chain[i].size > k->len - off ||
		    memcmp(k->chain + off, chain[i].data, chain[i].size) != 0)
			return 0;
		off += chain[i].size;
	}
	return off == k->len;
}

/* peer_verify once per connection, not per request: a relying party sends
 * its decisions over one keep-alive connection, and the chain's
 * verification (a signature, certificates parsed) costs more than the
 * decision's own token signature. Verified again if the chain is not the
 * one kept; the relying-party rule itself is applied to every request
 * (a SIGHUP may change it). */
static int peer_identity(struct MHD_Connection *c, char *cn, size_t cncap, int *cn_exact,
			 int *client_auth, char *why, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	const union MHD_ConnectionInfo *ti =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	http_conn *k = ci ? ci->socket_context : NULL;
	const gnutls_datum_t *chain = NULL;
	unsigned n = 0, i;
	time_t now = time(NULL), exp = 0;
	size_t len = 0;
	int ok;

	if (ti && ti->tls_session)
		chain = gnutls_certificate_get_peers((gnutls_session_t)ti->tls_session, &n);
	if (k && chain && same_chain(k, chain, n) && now < k->until) {
		snprintf(cn, cncap, "%s", k->cn);
		if (!k->ok)
			snprintf(why, cap, "%s", k->why);
		*cn_exact = k->cn_exact;
		*client_auth = k->client_auth;
		return k->ok;
	}
	ok = peer_verify(c, cn, cncap, cn_exact, client_auth, why, cap, &exp);
	if (!k || !chain || n == 0)
		return ok;
	free(k->chain);
	k->chain = NULL;
	for (i = 0; i < n; i++)
		len += chain[i].size;
	if (len == 0 || len > PEER_CHAIN_MAX || !(k->chain = malloc(len)))
		return ok;
	for (i = 0, len = 0; i < n; i++) {
		memcpy(k->chain + len, chain[i].data, chain[i].size);
		len += chain[i].size;
	}
	k->len = len;
	k->n = n;
	k->until = now + PEER_RECHECK_S;
	if (exp > 0 && exp < k->until)
		k->until = exp;
	k->ok = ok;
	k->cn_exact = *cn_exact;
	k->client_auth = *client_auth;
	snprintf(k->cn, sizeof(k->cn), "%s", cn);
	/* why is written only on a refusal. */
	snprintf(k->why, sizeof(k->why), "%s", ok ? "" : why);
	return ok;
}

/* 401 without a verified client certificate (no Bearer challenge: a
 * token would not help), 403 for one that is not an allowed relying
 * party; 1 if the caller may go on. */
static int relying_party(tpa_http *h, struct MHD_Connection *c, enum MHD_Result *ret,
			 const char *what)
{
	char cn[CN_MAX], why[WHY_MAX];
	int exact, ca;

	if (!peer_identity(c, cn, sizeof(cn), &exact, &ca, why, sizeof(why))) {
		*ret = send_error(c, MHD_HTTP_UNAUTHORIZED, why, NULL);
		say_refused(h, what, NULL, why);
		return 0;
	}
	if (!tpa_service_relying_party(h->svc, cn, exact, ca, why, sizeof(why))) {
		*ret = send_error(c, MHD_HTTP_FORBIDDEN, why, NULL);
		say_refused(h, what, NULL, why);
		return 0;
	}
	return 1;
}

/* The EAR status of the token the registry keeps (it signed it): read,
 * not verified; "" if there is none. */
static void ear_status(char *out, size_t cap, const char *token)
{
	char *payload = NULL;
	json_t *j;
	const char *st;

	out[0] = '\0';
	if (!token || tpa_token_peek_payload(&payload, token) < 0)
		return;
	if ((j = json_loads(payload, 0, NULL))) {
		st = json_string_value(json_object_get(json_object_get(json_object_get(j,
			"submods"), TPA_EAR_SUBMOD), "ear.status"));
		snprintf(out, cap, "%s", st ? st : "");
		json_decref(j);
	}
	free(payload);
}

static void iso(char *buf, size_t cap, int64_t t)
{
	if (t <= 0 || tpa_time_iso(buf, cap, t) < 0)
		buf[0] = '\0';
}

/* The answer as JSON: the keys of `verifier compliance --json` first
 * (the gRPC answer's fields), then what only this face adds. One line
 * per field of tpa_compliance_answer. */
static char *answer_json(const tpa_compliance_answer *a)
{
	const tpa_device *d = &a->device;
	char es[32], va[32], te[32];
	json_t *o = json_object();
	char *t;

	ear_status(es, sizeof(es), a->token);
	iso(va, sizeof(va), d->last_attest_at);
	iso(te, sizeof(te), d->last_token_exp);
	if (!o)
		return NULL;
	json_object_set_new(o, "device_id", json_string(d->id));
	json_object_set_new(o, "compliant", json_boolean(a->compliant));
	json_object_set_new(o, "outcome", json_string(d->last_outcome));
	json_object_set_new(o, "verdict_at", json_integer(d->last_attest_at));
	json_object_set_new(o, "token_expires_at", json_integer(d->last_token_exp));
	json_object_set_new(o, "expired", json_boolean(a->expired));
	json_object_set_new(o, "stale", json_boolean(a->stale));
	json_object_set_new(o, "due_at", json_integer(a->due_at));
	json_object_set_new(o, "state", json_string(tpa_device_state_name(d->state)));
	json_object_set_new(o, "revoked_since_verdict", json_boolean(a->revoked_since_verdict));
	json_object_set_new(o, "baseline", json_string(d->last_baseline));
	json_object_set_new(o, "reason", json_string(a->reason));
	json_object_set_new(o, "token", json_string(a->token ? a->token : ""));
	/* This face's own. */
	json_object_set_new(o, "revoked", json_boolean(d->state == TPA_DEVICE_REVOKED));
	json_object_set_new(o, "pending", json_boolean(d->state == TPA_DEVICE_PENDING));
	json_object_set_new(o, "ear_status", json_string(es));
	json_object_set_new(o, "verdict_time", json_string(va));
	json_object_set_new(o, "token_expiry", json_string(te));
	json_object_set_new(o, "hostname", json_string(d->host.hostname));
	t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return t;
}

static enum MHD_Result do_compliance(tpa_http *h, struct MHD_Connection *c, const char *id)
{
	tpa_staleness pol;
	tpa_compliance_answer a;
	enum MHD_Result ret;
	char *body;
	int err;

	if (!relying_party(h, c, &ret, "compliance"))
		return ret;
	if (!tpa_service_store(h->svc))
		return send_error(c, MHD_HTTP_NOT_FOUND, "the verifier keeps no registry", NULL);
	memset(&a, 0, sizeof(a));
	tpa_service_staleness(h->svc, &pol);
	err = tpa_compliance_answer_get(&a, tpa_service_store(h->svc), id, (int64_t)time(NULL),
					&pol);
	if (err == TPA_ERR_NOT_FOUND)
		ret = send_error(c, MHD_HTTP_NOT_FOUND, "no such device", NULL);
	else if (err == TPA_ERR_INVALID_ARG)
		ret = send_error(c, MHD_HTTP_BAD_REQUEST, "not a device id", NULL);
	else if (err < 0)
		ret = send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "the registry does not answer",
				 NULL);
	else if (!(body = answer_json(&a)))
		ret = send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL);
	else {
		ret = send_text(c, MHD_HTTP_OK, "application/json", body, NULL);
		free(body);
	}
	tpa_compliance_answer_free(&a);
	return ret;
}

/* /v1/authz: 200 only for a token this verifier signed (a key of its own
 * key set), not expired, whose status affirms (or warns), of a device
 * compliant now by the registry (tpa_compliance_answer_get: active, not
 * revoked or reinstated since its last verdict, that verdict compliant or
 * warning and its token unexpired). A later bad verdict so refuses every
 * earlier token at once, however long it still runs; an earlier token of a
 * device whose last verdict is good is let through: the device is
 * compliant now, which is what is asked. */
static enum MHD_Result do_authz(tpa_http *h, struct MHD_Connection *c)
{
	const char *hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_AUTHORIZATION);
	const char *tok;
	size_t len;
	char *token = NULL, line[WHY_MAX + 128];
	tpa_token_verifier *tv = NULL;
	tpa_token_accepted acc;
	tpa_staleness pol;
	tpa_compliance_answer a;
	enum MHD_Result ret;
	int err;

	memset(&a, 0, sizeof(a));
	if (!relying_party(h, c, &ret, "authz"))
		return ret;
	if (tpa_http_bearer(&tok, &len, hdr) < 0)
		return send_bearer_401(c, tpa_err_last(), 0);
	if (!(token = strndup(tok, len)) || tpa_service_token_verifier(&tv, h->svc) < 0) {
		ret = send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL);
		goto out;
	}
	if (tpa_token_verifier_accept(&acc, tv, token, (int64_t)time(NULL), h->accept_warning) < 0) {
		/* The token's checks name it already ("token: ...", "token
		 * status is ..."); anything else gets the word. */
		snprintf(line, sizeof(line), "%s%s",
			 strncmp(tpa_err_last(), "token", 5) == 0 ? "" : "token: ", tpa_err_last());
		ret = send_bearer_401(c, line, 1);
		goto out;
	}
	if (!acc.device_id[0]) {
		ret = send_bearer_401(c, "token: names no device", 1);
		goto out;
	}
	tpa_service_staleness(h->svc, &pol);
	err = tpa_service_store(h->svc) ?
		tpa_compliance_decide(&a, tpa_service_store(h->svc), acc.device_id,
				      (int64_t)time(NULL), &pol) : TPA_ERR_NOT_FOUND;
	if (err == TPA_ERR_NOT_FOUND || err == TPA_ERR_INVALID_ARG) {
		const char *hd[] = { "X-Reason", "the device is not registered", NULL };

		ret = send_error(c, MHD_HTTP_FORBIDDEN, hd[1], hd);
	} else if (err < 0) {
		ret = send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "the registry does not answer",
				 NULL);
	} else if (!a.compliant || (!h->accept_warning && strcmp(a.device.last_outcome,
								 "warning") == 0)) {
		/* Affirming only: a device whose last verdict is a warning is
		 * refused whatever older token it shows, as its warning token is. */
		const char *why = a.compliant ? "the last verdict was warning "
			"(--http-authz-accept-warning lets it through)" : a.reason;
		const char *hd[] = { "X-Reason", why, "X-Device-Id", a.device.id, NULL };

		ret = send_error(c, MHD_HTTP_FORBIDDEN, why, hd);
		say_refused(h, "authz", a.device.id, why);
	} else {
		const char *hd[] = { "X-Device-Id", a.device.id, "X-Device-Name",
				     a.device.host.hostname, NULL };

		ret = send_text(c, MHD_HTTP_OK, "application/json", "{\"allow\":true}", hd);
	}
out:
	tpa_compliance_answer_free(&a);
	tpa_token_verifier_free(tv);
	free(token);
	return ret;
}

/* ---- RADIUS (issue 16): FreeRADIUS's rlm_rest asks, and reports ---- */

int tpa_http_class_parse(char *device_id, int *admitted, const char *v)
{
	char buf[TPA_DEVICE_ID_LEN + 16];
	size_t n, i, len;

	device_id[0] = '\0';
	*admitted = -1;
	if (!v)
		return tpa_err_fail(TPA_ERR_PARSE, "class: none");
	n = strnlen(v, 2 * sizeof(buf) + 3);
	if (n > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		if ((n - 2) % 2 || (n - 2) / 2 >= sizeof(buf))
			return tpa_err_fail(TPA_ERR_PARSE, "class: not one of this verifier's");
		for (i = 0, len = (n - 2) / 2; i < len; i++) {
			int hi = tpa_hex_digit(v[2 + 2 * i]), lo = tpa_hex_digit(v[3 + 2 * i]);

			if (hi < 0 || lo < 0)
				return tpa_err_fail(TPA_ERR_PARSE, "class: not hex after 0x");
			buf[i] = (char)(hi << 4 | lo);
		}
		buf[len] = '\0';
	} else {
		if (n >= sizeof(buf))
			return tpa_err_fail(TPA_ERR_PARSE, "class: not one of this verifier's");
		memcpy(buf, v, n + 1);
		len = n;
	}
	if (len != sizeof(TPA_HTTP_CLASS_PREFIX) - 1 + TPA_DEVICE_ID_LEN + 2 ||
	    memcmp(buf, TPA_HTTP_CLASS_PREFIX, sizeof(TPA_HTTP_CLASS_PREFIX) - 1) != 0 ||
	    buf[len - 2] != ':' || (buf[len - 1] != 'c' && buf[len - 1] != 'n'))
		return tpa_err_fail(TPA_ERR_PARSE, "class: not one of this verifier's");
	memcpy(device_id, buf + sizeof(TPA_HTTP_CLASS_PREFIX) - 1, TPA_DEVICE_ID_LEN);
	device_id[TPA_DEVICE_ID_LEN] = '\0';
	if (!tpa_device_id_valid(device_id)) {
		device_id[0] = '\0';
		return tpa_err_fail(TPA_ERR_PARSE, "class: not one of this verifier's");
	}
	*admitted = buf[len - 1] == 'c';
	return 0;
}

/* A query argument: NULL if absent or empty; *bad set if longer than max
 * or not printable ASCII (space allowed). */
static const char *arg(struct MHD_Connection *c, const char *key, size_t max, int *bad,
		       const char **which)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
	size_t n, i;

	if (!v || !v[0])
		return NULL;
	n = strnlen(v, max + 1);
	for (i = 0; i < n && !*bad; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			*bad = 1;
	if (n > max)
		*bad = 1;
	if (*bad && !*which)
		*which = key;
	return *bad ? NULL : v;
}

/* GET /v1/radius/authorize?issuer=&serial=: the device whose network
 * certificate the RADIUS server verified, and whether it is compliant now,
 * as attributes for rlm_rest. 404 for a certificate bound to no device. */
static enum MHD_Result do_radius_authorize(tpa_http *h, struct MHD_Connection *c)
{
	const char *issuer, *serial, *which = NULL, *why;
	tpa_device_cert dc;
	tpa_staleness pol;
	tpa_compliance_answer a;
	char cls[sizeof(TPA_HTTP_CLASS_PREFIX) + TPA_DEVICE_ID_LEN + 4];
	enum MHD_Result ret;
	json_t *o;
	char *t;
	int bad = 0, err, ok;

	if (!relying_party(h, c, &ret, "radius-authorize"))
		return ret;
	issuer = arg(c, "issuer", TPA_CERT_ISSUER_MAX, &bad, &which);
	serial = arg(c, "serial", TPA_CERT_SERIAL_MAX, &bad, &which);
	if (bad || !issuer || !serial) {
		char msg[96];

		snprintf(msg, sizeof(msg), "%s: %s", which ? which : !issuer ? "issuer" : "serial",
			 which ? "too long or not printable" : "required");
		return send_error(c, MHD_HTTP_BAD_REQUEST, msg, NULL);
	}
	if (!tpa_service_store(h->svc))
		return send_error(c, MHD_HTTP_NOT_FOUND, "the verifier keeps no registry", NULL);
	err = tpa_store_cert_find(&dc, tpa_service_store(h->svc), issuer, serial);
	if (err == TPA_ERR_NOT_FOUND) {
		say_refused(h, "radius-authorize", NULL, "a certificate bound to no device");
		return send_error(c, MHD_HTTP_NOT_FOUND, "no device has this certificate", NULL);
	}
	if (err == TPA_ERR_INVALID_ARG)
		return send_error(c, MHD_HTTP_BAD_REQUEST, tpa_err_last(), NULL);
	if (err < 0)
		return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "the registry does not answer",
				  NULL);
	tpa_service_staleness(h->svc, &pol);
	memset(&a, 0, sizeof(a));
	err = tpa_compliance_decide(&a, tpa_service_store(h->svc), dc.device_id,
				    (int64_t)time(NULL), &pol);
	if (err == TPA_ERR_NOT_FOUND)
		return send_error(c, MHD_HTTP_NOT_FOUND, "no such device", NULL);
	if (err < 0)
		return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "the registry does not answer",
				  NULL);
	ok = tpa_compliance_enforced(&a, h->accept_warning, &why);
	snprintf(cls, sizeof(cls), TPA_HTTP_CLASS_PREFIX "%s:%c", dc.device_id, ok ? 'c' : 'n');
	/* rlm_rest expands %{...} in a plain string value (and the stock
	 * server has the exec module): every value is given as an object
	 * with do_xlat false, so nothing here is ever run as an expansion. */
	o = json_pack("{s:{s:s,s:b},s:{s:s,s:b}}",
		      "control:TPA-Compliance", "value", ok ? "compliant" : "not-compliant",
		      "do_xlat", 0, "reply:Class", "value", cls, "do_xlat", 0);
	if (o && !ok)
		json_object_set_new(o, "control:TPA-Reason",
				    json_pack("{s:s,s:b}", "value", why, "do_xlat", 0));
	t = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	tpa_compliance_answer_free(&a);
	if (!t)
		return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL);
	if (!ok)
		say_refused(h, "radius-authorize", dc.device_id, why);
	{
		const char *hd[] = { "X-Device-Id", dc.device_id, NULL };

		ret = send_text(c, MHD_HTTP_OK, "application/json", t, hd);
	}
	free(t);
	return ret;
}

/* Whether the caller may report accounting: a CN named with
 * --radius-accounting-from, read whole, with clientAuth. */
static int accounting_peer(tpa_http *h, struct MHD_Connection *c, enum MHD_Result *ret)
{
	char cn[CN_MAX], why[WHY_MAX];
	int exact, ca;
	size_t i;

	if (!peer_identity(c, cn, sizeof(cn), &exact, &ca, why, sizeof(why))) {
		*ret = send_error(c, MHD_HTTP_UNAUTHORIZED, why, NULL);
		say_refused(h, "radius-accounting", NULL, why);
		return 0;
	}
	for (i = 0; exact && ca && i < h->o.naccounting_from; i++)
		if (strcmp(h->o.accounting_from[i], cn) == 0)
			return 1;
	snprintf(why, sizeof(why), "\"%s\" may not report RADIUS accounting%s", cn,
		 !ca ? " (no clientAuth extended key usage)" :
		 h->o.naccounting_from ? "" : " (the verifier takes it from nobody: "
		 "--radius-accounting-from)");
	*ret = send_error(c, MHD_HTTP_FORBIDDEN, why, NULL);
	say_refused(h, "radius-accounting", NULL, why);
	return 0;
}

/* Whether the registry has this session open already. */
static int session_known(tpa_store *st, const tpa_session *se)
{
	tpa_session *v = NULL;
	size_t n = 0, i;
	int found = 0;

	if (tpa_store_sessions(&v, &n, st, se->device_id) < 0)
		return 0;
	for (i = 0; i < n && !found; i++)
		found = strcmp(v[i].nas_ip, se->nas_ip) == 0 &&
			strcmp(v[i].session_id, se->session_id) == 0;
	free(v);
	return found;
}

/* POST /v1/radius/accounting?status=&class=&session=&nas_ip=...: a
 * session of one of our devices began, goes on or ended. 204. */
static enum MHD_Result do_radius_accounting(tpa_http *h, struct MHD_Connection *c)
{
	const char *status, *klass, *session, *nas_ip, *nas_id, *port, *station, *user;
	const char *which = NULL;
	tpa_session se;
	enum MHD_Result ret;
	int bad = 0, admitted, err, fresh;
	tpa_store *st = tpa_service_store(h->svc);

	if (!accounting_peer(h, c, &ret))
		return ret;
	status = arg(c, "status", 32, &bad, &which);
	klass = arg(c, "class", 2 * (sizeof(TPA_HTTP_CLASS_PREFIX) + TPA_DEVICE_ID_LEN + 4),
		    &bad, &which);
	session = arg(c, "session", TPA_SESSION_FIELD_MAX, &bad, &which);
	nas_ip = arg(c, "nas_ip", sizeof(se.nas_ip) - 1, &bad, &which);
	nas_id = arg(c, "nas_id", TPA_SESSION_FIELD_MAX, &bad, &which);
	port = arg(c, "port", TPA_SESSION_FIELD_MAX, &bad, &which);
	station = arg(c, "station", TPA_SESSION_FIELD_MAX, &bad, &which);
	user = arg(c, "user", TPA_SESSION_FIELD_MAX, &bad, &which);
	if (bad) {
		char msg[96];

		snprintf(msg, sizeof(msg), "%s: too long or not printable", which);
		return send_error(c, MHD_HTTP_BAD_REQUEST, msg, NULL);
	}
	if (!status)
		return send_error(c, MHD_HTTP_BAD_REQUEST, "status: required", NULL);
	if (strcmp(status, "Start") != 0 && strcmp(status, "Interim-Update") != 0 &&
	    strcmp(status, "Alive") != 0 && strcmp(status, "Stop") != 0)
		/* Accounting-On/Off and the rest: nothing of a session. */
		return send_text(c, MHD_HTTP_NO_CONTENT, "text/plain", "", NULL);
	if (!session || !nas_ip)
		return send_error(c, MHD_HTTP_BAD_REQUEST, "session and nas_ip are required",
				  NULL);
	if (!st)
		return send_error(c, MHD_HTTP_NOT_FOUND, "the verifier keeps no registry", NULL);
	if (strcmp(status, "Stop") == 0) {
		err = tpa_store_session_stop(st, nas_ip, session, (int64_t)time(NULL));
		if (err < 0 && err != TPA_ERR_NOT_FOUND)
			return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
					  "the registry does not answer", NULL);
		return send_text(c, MHD_HTTP_NO_CONTENT, "text/plain", "", NULL);
	}
	memset(&se, 0, sizeof(se));
	/* A session that is not of our devices (no Class of ours): nothing
	 * to act on. */
	if (!klass || tpa_http_class_parse(se.device_id, &admitted, klass) < 0)
		return send_text(c, MHD_HTTP_NO_CONTENT, "text/plain", "", NULL);
	snprintf(se.nas_ip, sizeof(se.nas_ip), "%s", nas_ip);
	snprintf(se.session_id, sizeof(se.session_id), "%s", session);
	snprintf(se.nas_identifier, sizeof(se.nas_identifier), "%s", nas_id ? nas_id : "");
	snprintf(se.nas_port, sizeof(se.nas_port), "%s", port ? port : "");
	snprintf(se.calling_station, sizeof(se.calling_station), "%s", station ? station : "");
	snprintf(se.user_name, sizeof(se.user_name), "%s", user ? user : "");
	/* A session first heard of by an Interim-Update (its Start was lost)
	 * is checked as a Start is. */
	fresh = strcmp(status, "Start") == 0 || !session_known(st, &se);
	err = tpa_store_session_put(st, &se, (int64_t)time(NULL));
	if (err == TPA_ERR_NOT_FOUND)
		return send_error(c, MHD_HTTP_NOT_FOUND, "no such device", NULL);
	if (err == TPA_ERR_INVALID_ARG)
		return send_error(c, MHD_HTTP_BAD_REQUEST, tpa_err_last(), NULL);
	if (err < 0)
		return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "the registry does not answer",
				  NULL);
	if (h->o.session_hook && fresh)
		h->o.session_hook(h->o.session_ctx, &se, admitted);
	return send_text(c, MHD_HTTP_NO_CONTENT, "text/plain", "", NULL);
}

/* The key set tokens and CAEP SETs are checked with (RFC 7517), the
 * next key included once it is published: what GetVerificationKeys and
 * `verifier keys fetch` give. */
static enum MHD_Result do_jwks(tpa_http *h, struct MHD_Connection *c)
{
	enum MHD_Result ret;
	char *jwks = NULL;

	if (tpa_service_jwks(&jwks, h->svc) < 0)
		return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no key set to publish", NULL);
	ret = send_text(c, MHD_HTTP_OK, "application/jwk-set+json", jwks, NULL);
	free(jwks);
	return ret;
}

/* Where a request is, in its *con_cls: its headers checked, or answered.
 * Only their addresses are used: never written. */
static char headers_read, answered;

static enum MHD_Result handle(tpa_http *h, struct MHD_Connection *c, int plain, const char *url,
			      const char *method, size_t *upload_size, void **con_cls)
{
	char id[TPA_DEVICE_ID_LEN + 1], why[WHY_MAX];
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_TRANSFER_ENCODING);
	const char *allow[] = { MHD_HTTP_HEADER_ALLOW, "GET", NULL };
	const char *allow_post[] = { MHD_HTTP_HEADER_ALLOW, "POST", NULL };
	tpa_http_route rt;

	/* The first call, with the headers: a request with a body (or not a
	 * GET) is refused at once, its body never read, and libmicrohttpd
	 * closes the connection after the answer. Any other is answered at
	 * the next call, when libmicrohttpd knows the request whole: one
	 * answered in the first call is closed too (0.9.75), so a relying
	 * party's keep-alive connection would pay a TLS handshake, with its
	 * client certificate, for every decision. A call after the answer
	 * (a body arriving) is dropped. */
	if (*con_cls == &answered) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (!*con_cls) {
		*con_cls = &answered;
		/* Accounting alone is a POST (it changes what the verifier
		 * keeps), and it too has no body: its fields are the query's. */
		if (tpa_http_route_parse(url, id) == TPA_HTTP_ROUTE_RADIUS_ACCOUNTING) {
			if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
				return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only POST",
						  allow_post);
		} else if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
			   strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
			return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET", allow);
		}
		if (te || (cl && strcmp(cl, "0") != 0))
			return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "a request has no body",
					  NULL);
		*con_cls = &headers_read;
		return MHD_YES;
	}
	*con_cls = &answered;
	rt = tpa_http_route_parse(url, id);
	switch (rt) {
	case TPA_HTTP_ROUTE_HEALTHZ:
		return send_text(c, MHD_HTTP_OK, "text/plain", "ok\n", NULL);
	case TPA_HTTP_ROUTE_READYZ:
		if (tpa_service_ready(h->svc, why, sizeof(why)) && strcmp(why, "ready") == 0)
			return send_text(c, MHD_HTTP_OK, "text/plain", "ready\n", NULL);
		if (strncmp(why, "warning: ", 9) == 0) {
			char body[WHY_MAX + 16];

			snprintf(body, sizeof(body), "ready\n%s\n", why);
			return send_text(c, MHD_HTTP_OK, "text/plain", body, NULL);
		}
		{
			char body[WHY_MAX + 16];

			snprintf(body, sizeof(body), "not ready: %s\n", why);
			return send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", body, NULL);
		}
	case TPA_HTTP_ROUTE_METRICS: {
		/* The Prometheus text (docs/metrics.md), plain and TLS alike. */
		char *text = NULL;
		enum MHD_Result ret;

		if (tpa_service_metrics_text(h->svc, &text) < 0)
			return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics unavailable",
					  NULL);
		ret = send_text(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text,
				NULL);
		free(text);
		return ret;
	}
	case TPA_HTTP_ROUTE_COMPLIANCE:
		if (!plain)
			return do_compliance(h, c, id);
		break;
	case TPA_HTTP_ROUTE_AUTHZ:
		if (!plain)
			return do_authz(h, c);
		break;
	case TPA_HTTP_ROUTE_RADIUS_AUTHORIZE:
		if (!plain)
			return do_radius_authorize(h, c);
		break;
	case TPA_HTTP_ROUTE_RADIUS_ACCOUNTING:
		if (!plain)
			return do_radius_accounting(h, c);
		break;
	case TPA_HTTP_ROUTE_JWKS:
		/* Public keys, for anyone (a CAEP receiver has no client
		 * certificate of ours) but only over TLS: the server's
		 * certificate is what vouches for them. */
		if (!plain)
			return do_jwks(h, c);
		break;
	case TPA_HTTP_ROUTE_BAD:
		if (!plain)
			return send_error(c, MHD_HTTP_BAD_REQUEST,
					  "the device id is not 64 lower-case hex digits", NULL);
		break;
	case TPA_HTTP_ROUTE_NONE:
		break;
	}
	return send_error(c, MHD_HTTP_NOT_FOUND, "no such path", NULL);
}

/* The route's pattern, the label of its series (docs/metrics.md): a fixed
 * set, so no path a client sends makes a series; a route the listener does
 * not serve is "other", as an unknown path is. */
static const char *route_label(tpa_http_route rt, int plain)
{
	switch (rt) {
	case TPA_HTTP_ROUTE_HEALTHZ:
		return "/healthz";
	case TPA_HTTP_ROUTE_READYZ:
		return "/readyz";
	case TPA_HTTP_ROUTE_METRICS:
		return "/metrics";
	case TPA_HTTP_ROUTE_COMPLIANCE:
	case TPA_HTTP_ROUTE_BAD:
		return plain ? TPA_METRIC_OTHER : "/v1/devices/{id}/compliance";
	case TPA_HTTP_ROUTE_AUTHZ:
		return plain ? TPA_METRIC_OTHER : "/v1/authz";
	case TPA_HTTP_ROUTE_RADIUS_AUTHORIZE:
		return plain ? TPA_METRIC_OTHER : "/v1/radius/authorize";
	case TPA_HTTP_ROUTE_RADIUS_ACCOUNTING:
		return plain ? TPA_METRIC_OTHER : "/v1/radius/accounting";
	case TPA_HTTP_ROUTE_JWKS:
		return plain ? TPA_METRIC_OTHER : "/v1/jwks";
	case TPA_HTTP_ROUTE_NONE:
		break;
	}
	return TPA_METRIC_OTHER;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every request answered, counted and timed once: the call that answers
 * it, to its answer queued. The status is the one queued (0, counted
 * "other", if none could be: the connection is closed). */
static enum MHD_Result counted(tpa_http *h, struct MHD_Connection *c, int plain, const char *url,
			       const char *method, size_t *upload_size, void **con_cls)
{
	char id[TPA_DEVICE_ID_LEN + 1];
	const union MHD_ConnectionInfo *ci;
	int before = *con_cls == &answered;
	double t0 = mono_s();
	enum MHD_Result ret = handle(h, c, plain, url, method, upload_size, con_cls);

	if (!before && *con_cls == &answered) {
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
		tpa_metrics_http_observe(tpa_service_metrics(h->svc),
					 route_label(tpa_http_route_parse(url, id), plain),
					 ci ? (int)ci->http_status : 0, mono_s() - t0);
	}
	return ret;
}

static enum MHD_Result handle_tls(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)version;
	(void)upload;
	return counted(cls, c, 0, url, method, upload_size, con_cls);
}

static enum MHD_Result handle_plain(void *cls, struct MHD_Connection *c, const char *url,
				    const char *method, const char *version, const char *upload,
				    size_t *upload_size, void **con_cls)
{
	(void)version;
	(void)upload;
	return counted(cls, c, 1, url, method, upload_size, con_cls);
}

/* Each connection's state, and the count of its listener's. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	http_limit *l = cls;
	http_conn *k = *socket_context;

	(void)c;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		atomic_fetch_add(&l->open, 1);
		/* Without it (out of memory) each request verifies the chain. */
		*socket_context = calloc(1, sizeof(http_conn));
		return;
	}
	atomic_fetch_sub(&l->open, 1);
	if (k) {
		free(k->chain);
		free(k);
	}
	*socket_context = NULL;
}

/* A connection over the limit is closed at once: left in the backlog it
 * would wait unanswered, and its client with it, until another closes.
 * Two pool threads accepting at the same moment may both pass: at most
 * threads - 1 over, and libmicrohttpd's own limit above that. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
	http_limit *l = cls;

	(void)addr;
	(void)len;
	return atomic_load(&l->open) >= l->max ? MHD_NO : MHD_YES;
}

static int read_pem(char **out, const char *path, const char *what)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n;

	*out = NULL;
	if (!f)
		return tpa_err_fail(TPA_ERR_IO, "%s %s: %s", what, path, strerror(errno));
	if (!(buf = malloc(PEM_MAX + 1))) {
		fclose(f);
		return tpa_err_fail(TPA_ERR_NOMEM, "out of memory");
	}
	n = fread(buf, 1, PEM_MAX + 1, f);
	fclose(f);
	if (n == 0 || n > PEM_MAX) {
		free(buf);
		return tpa_err_fail(TPA_ERR_LIMIT, "%s %s: empty or larger than %u bytes", what,
				    path, PEM_MAX);
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

/* A socket bound and listening on addr, so that an address in use is
 * named here (libmicrohttpd only says it failed). */
static int bind_listen(int *fd_out, int *port, const char *addr, int loopback_only,
		       const char *opt)
{
	struct addrinfo *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd, one = 1, err;

	*fd_out = -1;
	if ((err = resolve(&res, addr, loopback_only)) < 0)
		return tpa_err_fail(err, "%s %s", opt, tpa_err_last());
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		err = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return tpa_err_fail(TPA_ERR_UNAVAILABLE, "%s %s: %s", opt, addr,
				    err == EADDRINUSE ? "the port is taken" : strerror(err));
	}
	freeaddrinfo(res);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
			      ((struct sockaddr_in *)&ss)->sin_port);
	*fd_out = fd;
	return 0;
}

static struct MHD_Daemon *start_one(tpa_http *h, const tpa_http_opts *o, int fd, int plain)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
	unsigned conns = o->max_connections ? o->max_connections : 64;
	unsigned per_ip = o->max_per_ip ? o->max_per_ip : 16;
	unsigned timeout = o->timeout_s ? o->timeout_s : 10;
	unsigned threads = o->threads ? o->threads : 2;
	/* Headers and the request line together, at most: more is answered
	 * 431 (or 414 for the line) by libmicrohttpd. */
	size_t mem = 32u << 10;
	http_limit *l = &h->lim[plain ? 1 : 0];

	/* The limit is accept_policy's (set in tpa_http_start: a daemon a
	 * reload starts counts with the one it replaces); libmicrohttpd's, a
	 * little above it, only bounds what a race lets through. MHD_USE_ITC:
	 * a reload quiesces the daemon (MHD_quiesce_daemon needs it). */
	flags |= MHD_USE_ITC;
	conns += threads;
	if (plain)
		return MHD_start_daemon(flags, 0, accept_policy, l, handle_plain, h,
					MHD_OPTION_LISTEN_SOCKET, fd,
					MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
					MHD_OPTION_CONNECTION_LIMIT, conns,
					MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
					MHD_OPTION_CONNECTION_TIMEOUT, timeout,
					MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem,
					MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_END);
	if (h->ca)
		return MHD_start_daemon(flags | MHD_USE_TLS, 0, accept_policy, l, handle_tls, h,
					MHD_OPTION_LISTEN_SOCKET, fd,
					MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
					MHD_OPTION_HTTPS_MEM_CERT, h->cert,
					MHD_OPTION_HTTPS_MEM_KEY, h->key,
					MHD_OPTION_HTTPS_MEM_TRUST, h->ca,
					MHD_OPTION_CONNECTION_LIMIT, conns,
					MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
					MHD_OPTION_CONNECTION_TIMEOUT, timeout,
					MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem,
					MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_END);
	return MHD_start_daemon(flags | MHD_USE_TLS, 0, accept_policy, l, handle_tls, h,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
				MHD_OPTION_HTTPS_MEM_CERT, h->cert,
				MHD_OPTION_HTTPS_MEM_KEY, h->key,
				MHD_OPTION_CONNECTION_LIMIT, conns,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
				MHD_OPTION_CONNECTION_TIMEOUT, timeout,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem,
				MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_END);
}

int tpa_http_start(tpa_http **out, const tpa_http_opts *o, tpa_service *svc)
{
	tpa_http *h;
	int fd = -1, err;

	*out = NULL;
	if (!(h = calloc(1, sizeof(*h))))
		return tpa_err_fail(TPA_ERR_NOMEM, "out of memory");
	h->svc = svc;
	h->accept_warning = o->authz_accept_warning;
	h->o = *o;
	h->lim[0].max = h->lim[1].max = o->max_connections ? o->max_connections : 64;
	atomic_init(&h->lim[0].open, 0);
	atomic_init(&h->lim[1].open, 0);
	pthread_mutex_init(&h->drain_lock, NULL);
	pthread_cond_init(&h->drain_cv, NULL);
	if (o->listen) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			err = tpa_err_fail(TPA_ERR_INVALID_ARG, "--http-listen: this libmicrohttpd "
					   "has no TLS");
			goto fail;
		}
		if (!o->cert_file || !o->key_file) {
			err = tpa_err_fail(TPA_ERR_INVALID_ARG, "--http-listen needs --cert and --key");
			goto fail;
		}
		if ((err = read_pem(&h->cert, o->cert_file, "--cert")) < 0 ||
		    (err = read_pem(&h->key, o->key_file, "--key")) < 0 ||
		    (o->client_ca_file &&
		     (err = read_pem(&h->ca, o->client_ca_file, "--client-ca")) < 0) ||
		    (err = bind_listen(&fd, &h->tls_port, o->listen, 0, "--http-listen")) < 0)
			goto fail;
		if (!(h->tls = start_one(h, o, fd, 0))) {
			close(fd);
			err = tpa_err_fail(TPA_ERR_UNAVAILABLE, "--http-listen %s: libmicrohttpd "
					   "did not start (certificate or key unusable?)", o->listen);
			goto fail;
		}
	}
	if (o->listen_plain) {
		if ((err = bind_listen(&fd, &h->plain_port, o->listen_plain, 1,
				       "--http-listen-plain")) < 0)
			goto fail;
		if (!(h->plain = start_one(h, o, fd, 1))) {
			close(fd);
			err = tpa_err_fail(TPA_ERR_UNAVAILABLE, "--http-listen-plain %s: "
					   "libmicrohttpd did not start", o->listen_plain);
			goto fail;
		}
	}
	*out = h;
	return 0;
fail:
	tpa_http_stop(h);
	return err;
}

int tpa_http_port(const tpa_http *h, int plain)
{
	return !h ? 0 : plain ? (h->plain ? h->plain_port : 0) : (h->tls ? h->tls_port : 0);
}

static void pem_free(char *cert, char *key, char *ca)
{
	free(cert);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	free(ca);
}

/* A replaced daemon: stopped once it has no connection left, or after
 * DRAIN_S, or at once when the face stops. */
static void *drain_main(void *arg)
{
	http_drain *dr = arg;
	tpa_http *h = dr->h;
	const union MHD_DaemonInfo *di;
	struct timespec until, step;
	int n;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += DRAIN_S;
	pthread_mutex_lock(&h->drain_lock);
	for (;;) {
		di = MHD_get_daemon_info(dr->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		n = di ? (int)di->num_connections : 0;
		clock_gettime(CLOCK_REALTIME, &step);
		if (h->stopping || n == 0 || step.tv_sec >= until.tv_sec)
			break;
		step.tv_nsec += 100000000L;
		if (step.tv_nsec >= 1000000000L) {
			step.tv_sec++;
			step.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&h->drain_cv, &h->drain_lock, &step);
	}
	pthread_mutex_unlock(&h->drain_lock);
	MHD_stop_daemon(dr->d);
	pem_free(dr->cert, dr->key, dr->ca);
	pthread_mutex_lock(&h->drain_lock);
	dr->d = NULL;
	dr->cert = dr->key = dr->ca = NULL;
	dr->done = 1;
	pthread_mutex_unlock(&h->drain_lock);
	return NULL;
}

/* A slot for a drain: a finished one joined and reused; NULL if every
 * one is still draining. Under drain_lock. */
static http_drain *drain_slot(tpa_http *h)
{
	size_t i;

	for (i = 0; i < DRAINS_MAX; i++) {
		http_drain *dr = &h->drains[i];

		if (dr->used && dr->done) {
			pthread_join(dr->th, NULL);
			memset(dr, 0, sizeof(*dr));
		}
		if (!dr->used)
			return dr;
	}
	return NULL;
}

/* Whether cert and key (PEM) make a key pair gnutls takes, and ca (if
 * any) holds a certificate: checked before the daemon that serves is
 * touched. */
static int tls_files_ok(const char *cert, const char *key, const char *ca)
{
	gnutls_certificate_credentials_t cr;
	gnutls_datum_t c = { (unsigned char *)cert, (unsigned)strlen(cert) };
	gnutls_datum_t k = { (unsigned char *)key, (unsigned)strlen(key) };
	gnutls_datum_t a = { (unsigned char *)ca, ca ? (unsigned)strlen(ca) : 0 };
	int rc, err = 0;

	if (gnutls_certificate_allocate_credentials(&cr) < 0)
		return tpa_err_fail(TPA_ERR_NOMEM, "out of memory");
	if ((rc = gnutls_certificate_set_x509_key_mem2(cr, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
		err = tpa_err_fail(TPA_ERR_PARSE, "--cert and --key: not a certificate and its "
				   "key (%s)", gnutls_strerror(rc));
	else if (ca && gnutls_certificate_set_x509_trust_mem(cr, &a, GNUTLS_X509_FMT_PEM) <= 0)
		err = tpa_err_fail(TPA_ERR_PARSE, "--client-ca: no certificate in it");
	gnutls_certificate_free_credentials(cr);
	return err;
}

int tpa_http_reload_tls(tpa_http *h, const char *cert_file, const char *key_file,
			const char *client_ca_file)
{
	char *cert = NULL, *key = NULL, *ca = NULL, *oc, *ok, *oa;
	struct MHD_Daemon *old, *d;
	http_drain *dr;
	MHD_socket fd;
	int err;

	if (!h || !h->tls)
		return 0;
	if ((client_ca_file != NULL) != (h->ca != NULL))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "--client-ca %s: asking for client "
				    "certificates or not needs a restart",
				    client_ca_file ? "added" : "removed");
	if ((err = read_pem(&cert, cert_file, "--cert")) < 0 ||
	    (err = read_pem(&key, key_file, "--key")) < 0 ||
	    (client_ca_file && (err = read_pem(&ca, client_ca_file, "--client-ca")) < 0) ||
	    (err = tls_files_ok(cert, key, ca)) < 0)
		goto fail;
	pthread_mutex_lock(&h->drain_lock);
	dr = drain_slot(h);
	pthread_mutex_unlock(&h->drain_lock);
	if (!dr) {
		err = tpa_err_fail(TPA_ERR_LIMIT, "%d reloads in %d s: the TLS files are kept",
				   DRAINS_MAX, DRAIN_S);
		goto fail;
	}
	/* The old daemon stops accepting and gives its listening socket to a
	 * new one with the new files; it keeps its connections a while. */
	old = h->tls;
	if ((fd = MHD_quiesce_daemon(old)) == MHD_INVALID_SOCKET) {
		err = tpa_err_fail(TPA_ERR_INTERNAL, "libmicrohttpd did not give up the listener");
		goto fail;
	}
	oc = h->cert;
	ok = h->key;
	oa = h->ca;
	h->cert = cert;
	h->key = key;
	h->ca = ca;
	if (!(d = start_one(h, &h->o, fd, 0))) {
		/* The files checked out but libmicrohttpd refused them: the old
		 * ones again, on the same socket. */
		h->cert = oc;
		h->key = ok;
		h->ca = oa;
		err = tpa_err_fail(TPA_ERR_UNAVAILABLE, "libmicrohttpd did not start with the new "
				   "TLS files; the old ones are kept");
		if (!(d = start_one(h, &h->o, fd, 0))) {
			close(fd);
			err = tpa_err_fail(TPA_ERR_UNAVAILABLE, "libmicrohttpd did not start again: "
					   "the HTTP face's TLS listener is closed");
		}
		h->tls = d;
		MHD_stop_daemon(old);
		pem_free(cert, key, ca);
		return err;
	}
	h->tls = d;
	pthread_mutex_lock(&h->drain_lock);
	dr->d = old;
	dr->cert = oc;
	dr->key = ok;
	dr->ca = oa;
	dr->h = h;
	dr->used = 1;
	if (pthread_create(&dr->th, NULL, drain_main, dr) != 0) {
		dr->used = 0;
		pthread_mutex_unlock(&h->drain_lock);
		MHD_stop_daemon(old);   /* no thread to wait with: its connections end now */
		pem_free(oc, ok, oa);
		return 0;
	}
	pthread_mutex_unlock(&h->drain_lock);
	return 0;
fail:
	pem_free(cert, key, ca);
	return err;
}

void tpa_http_stop(tpa_http *h)
{
	size_t i;

	if (!h)
		return;
	/* The daemons a reload replaced: stopped now, joined. */
	pthread_mutex_lock(&h->drain_lock);
	h->stopping = 1;
	pthread_cond_broadcast(&h->drain_cv);
	pthread_mutex_unlock(&h->drain_lock);
	for (i = 0; i < DRAINS_MAX; i++)
		if (h->drains[i].used)
			pthread_join(h->drains[i].th, NULL);
	/* MHD_stop_daemon closes a listen socket it was given. */
	if (h->tls)
		MHD_stop_daemon(h->tls);
	if (h->plain)
		MHD_stop_daemon(h->plain);
	pem_free(h->cert, h->key, h->ca);
	pthread_cond_destroy(&h->drain_cv);
	pthread_mutex_destroy(&h->drain_lock);
	free(h);
}
