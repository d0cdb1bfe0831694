/* SPDX-License-Identifier: BSD-3-Clause */
/* RADIUS Dynamic Authorization requests and their responses: see
 * tpa/radius.h. Every byte of a response is untrusted: its structure is
 * read within its bounds first, then both authenticators are checked, and
 * only then is what it says believed. */
#include "tpa/radius.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tpa/err.h"

#define HDR 20
#define AUTH_OFF 4
#define AUTH_LEN 16
#define ATTR_USER_NAME 1
#define ATTR_REPLY_MESSAGE 18
#define ATTR_STATE 24
#define ATTR_VENDOR 26
#define ATTR_CALLING_STATION_ID 31
#define ATTR_NAS_IDENTIFIER 32
#define ATTR_PROXY_STATE 33
#define ATTR_ACCT_SESSION_ID 44
#define ATTR_EVENT_TIMESTAMP 55
#define ATTR_MESSAGE_AUTHENTICATOR 80
#define ATTR_ERROR_CAUSE 101

/* MD5 of a, b, c and d in turn; a NULL piece adds no bytes. */
static int md5_of(uint8_t out[AUTH_LEN], const uint8_t *a, size_t alen, const uint8_t *b,
		  size_t blen, const uint8_t *c, size_t clen, const uint8_t *d, size_t dlen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned n = 0;
	int ok = md && EVP_DigestInit_ex(md, EVP_md5(), NULL) == 1 &&
		 (!a || EVP_DigestUpdate(md, a, alen) == 1) &&
		 (!b || EVP_DigestUpdate(md, b, blen) == 1) &&
		 (!c || EVP_DigestUpdate(md, c, clen) == 1) &&
		 (!d || EVP_DigestUpdate(md, d, dlen) == 1) &&
		 EVP_DigestFinal_ex(md, out, &n) == 1 && n == AUTH_LEN;

	EVP_MD_CTX_free(md);
	return ok ? 0 : tpa_err_fail(TPA_ERR_INTERNAL, "RADIUS: MD5 failed");
}

static int hmac_md5(uint8_t out[AUTH_LEN], const uint8_t *secret, size_t secret_len,
		    const uint8_t *p, size_t n)
{
	unsigned len = 0;

	if (!HMAC(EVP_md5(), secret, (int)secret_len, p, n, out, &len) || len != AUTH_LEN)
		return tpa_err_fail(TPA_ERR_INTERNAL, "RADIUS: HMAC-MD5 failed");
	return 0;
}

static int put_attr(uint8_t *p, size_t *off, uint8_t type, const void *v, size_t n,
		    const char *name)
{
	if (n < 1 || n > 253)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "RADIUS: %s of %zu bytes (1 to 253)", name,
				    n);
	if (*off + 2 + n > TPA_RADIUS_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "RADIUS: the request is longer than %d bytes",
				    TPA_RADIUS_MAX);
	p[*off] = type;
	p[*off + 1] = (uint8_t)(n + 2);
	memcpy(p + *off + 2, v, n);
	*off += 2 + n;
	return 0;
}

static int put_str(uint8_t *p, size_t *off, uint8_t type, const char *v, const char *name)
{
	return v ? put_attr(p, off, type, v, strlen(v), name) : 0;
}

int tpa_radius_request_build(uint8_t *out, size_t *len, tpa_radius_code code, uint8_t id,
			     const tpa_radius_session *s, const uint8_t *secret,
			     size_t secret_len)
{
	uint8_t zero[AUTH_LEN] = { 0 }, mac[AUTH_LEN], ts[4];
	size_t off = HDR, ma;
	int err;

	if (!out || !len || !s || !secret)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "RADIUS request: NULL");
	if (code != TPA_RADIUS_DISCONNECT_REQUEST && code != TPA_RADIUS_COA_REQUEST)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "RADIUS request: code %d is not a "
				    "Disconnect-Request or a CoA-Request", (int)code);
	if (secret_len < 1 || secret_len > TPA_RADIUS_SECRET_MAX)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "RADIUS: a shared secret of 1 to %d bytes "
				    "is needed", TPA_RADIUS_SECRET_MAX);
	if (!s->user_name && !s->acct_session_id && !s->calling_station_id)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "RADIUS request: no session named (a "
				    "user name, an Acct-Session-Id or a Calling-Station-Id)");
	memset(out, 0, HDR);
	out[0] = (uint8_t)code;
	out[1] = id;
	if ((err = put_str(out, &off, ATTR_USER_NAME, s->user_name, "User-Name")) < 0 ||
	    (err = put_str(out, &off, ATTR_ACCT_SESSION_ID, s->acct_session_id,
			   "Acct-Session-Id")) < 0 ||
	    (err = put_str(out, &off, ATTR_CALLING_STATION_ID, s->calling_station_id,
			   "Calling-Station-Id")) < 0 ||
	    (err = put_str(out, &off, ATTR_NAS_IDENTIFIER, s->nas_identifier,
			   "NAS-Identifier")) < 0)
		return err;
	if (s->event_timestamp) {
		if (s->event_timestamp < 0 || s->event_timestamp > UINT32_MAX)
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "RADIUS: Event-Timestamp out of "
					    "range");
		ts[0] = (uint8_t)(s->event_timestamp >> 24);
		ts[1] = (uint8_t)(s->event_timestamp >> 16);
		ts[2] = (uint8_t)(s->event_timestamp >> 8);
		ts[3] = (uint8_t)s->event_timestamp;
		if ((err = put_attr(out, &off, ATTR_EVENT_TIMESTAMP, ts, 4, "Event-Timestamp")) < 0)
			return err;
	}
	ma = off + 2;
	if ((err = put_attr(out, &off, ATTR_MESSAGE_AUTHENTICATOR, zero, AUTH_LEN,
			    "Message-Authenticator")) < 0)
		return err;
	out[2] = (uint8_t)(off >> 8);
	out[3] = (uint8_t)off;
	/* RFC 5176 section 3.3: the Message-Authenticator over the packet with
	 * a zero Request Authenticator, then the Request Authenticator
	 * (section 2.3) over the packet with it in place. */
	if ((err = hmac_md5(mac, secret, secret_len, out, off)) < 0)
		return err;
	memcpy(out + ma, mac, AUTH_LEN);
	if ((err = md5_of(out + AUTH_OFF, out, off, secret, secret_len, NULL, 0, NULL, 0)) < 0)
		return err;
	*len = off;
	return 0;
}

const char *tpa_radius_error_cause_name(uint32_t c)
{
	static const struct { uint32_t v; const char *name; } causes[] = {
		{ 201, "Residual-Session-Context-Removed" },
		{ 202, "Invalid-EAP-Packet" },
		{ 401, "Unsupported-Attribute" },
		{ 402, "Missing-Attribute" },
		{ 403, "NAS-Identification-Mismatch" },
		{ 404, "Invalid-Request" },
		{ 405, "Unsupported-Service" },
		{ 406, "Unsupported-Extension" },
		{ 407, "Invalid-Attribute-Value" },
		{ 501, "Administratively-Prohibited" },
		{ 502, "Request-Not-Routable" },
		{ 503, "Session-Context-Not-Found" },
		{ 504, "Session-Context-Not-Removable" },
		{ 505, "Other-Proxy-Processing-Error" },
		{ 506, "Resources-Unavailable" },
		{ 507, "Request-Initiated" },
		{ 508, "Multiple-Session-Selection-Unsupported" },
	};
	size_t i;

	for (i = 0; i < sizeof(causes) / sizeof(causes[0]); i++)
		if (causes[i].v == c)
			return causes[i].name;
	return "unknown";
}

int tpa_radius_response_check(tpa_radius_response *out, const uint8_t *resp, size_t resp_len,
			      const uint8_t *req, size_t req_len, const uint8_t *secret,
			      size_t secret_len)
{
	uint8_t want[AUTH_LEN], mac[AUTH_LEN], copy[TPA_RADIUS_MAX];
	size_t len, off, ma = 0;
	unsigned nma = 0;
	int err, ack, nak;

	if (!out || !resp || !req || !secret)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "RADIUS response: NULL");
	memset(out, 0, sizeof(*out));
	if (req_len < HDR || (req[0] != TPA_RADIUS_DISCONNECT_REQUEST &&
			      req[0] != TPA_RADIUS_COA_REQUEST))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "RADIUS response: not to a request");
	if (resp_len < HDR)
		return tpa_err_fail(TPA_ERR_PARSE, "RADIUS response: %zu bytes, fewer than a "
				    "header's 20", resp_len);
	len = (size_t)resp[2] << 8 | resp[3];
	if (len < HDR || len > resp_len || len > TPA_RADIUS_MAX)
		return tpa_err_fail(TPA_ERR_PARSE, "RADIUS response: Length %zu, and %zu bytes "
				    "came", len, resp_len);
	if (resp[1] != req[1])
		return tpa_err_fail(TPA_ERR_VERIFY, "RADIUS response: identifier %u, the request's "
				    "is %u", resp[1], req[1]);
	ack = req[0] + 1;
	nak = req[0] + 2;
	if (resp[0] != ack && resp[0] != nak)
		return tpa_err_fail(TPA_ERR_VERIFY, "RADIUS response: code %u, not an ACK (%d) or "
				    "NAK (%d) of the request", resp[0], ack, nak);
	/* The attributes whole, of the kinds an ACK or NAK may carry. */
	for (off = HDR; off < len; off += resp[off + 1]) {
		uint8_t t, l;

		if (len - off < 2 || resp[off + 1] < 2 || resp[off + 1] > len - off)
			return tpa_err_fail(TPA_ERR_PARSE, "RADIUS response: the attribute at offset "
					    "%zu runs past the packet", off);
		t = resp[off];
		l = resp[off + 1];
		switch (t) {
		case ATTR_MESSAGE_AUTHENTICATOR:
			if (l != 2 + AUTH_LEN)
				return tpa_err_fail(TPA_ERR_PARSE, "RADIUS response: a "
						    "Message-Authenticator of %u bytes", l - 2u);
			ma = off + 2;
			nma++;
			break;
		case ATTR_ERROR_CAUSE:
		case ATTR_EVENT_TIMESTAMP:
			if (l != 6)
				return tpa_err_fail(TPA_ERR_PARSE, "RADIUS response: attribute %u of %u "
						    "bytes, not 4", t, l - 2u);
			break;
		case ATTR_REPLY_MESSAGE:
		case ATTR_STATE:
		case ATTR_PROXY_STATE:
		case ATTR_VENDOR:
			break;
		default:
			return tpa_err_fail(TPA_ERR_PARSE, "RADIUS response: attribute %u is not one "
					    "an ACK or NAK carries", t);
		}
	}
	if (nma != 1)
		return tpa_err_fail(TPA_ERR_VERIFY, "RADIUS response: %u Message-Authenticators, "
				    "exactly one is required", nma);
	/* Response Authenticator: MD5(Code, Identifier, Length, the Request
	 * Authenticator, the attributes, the secret). */
	if ((err = md5_of(want, resp, AUTH_OFF, req + AUTH_OFF, AUTH_LEN, resp + HDR, len - HDR,
			  secret, secret_len)) < 0)
		return err;
	if (CRYPTO_memcmp(want, resp + AUTH_OFF, AUTH_LEN) != 0)
		return tpa_err_fail(TPA_ERR_VERIFY, "RADIUS response: the Response Authenticator "
				    "is wrong (another shared secret?)");
	/* Message-Authenticator: HMAC-MD5 over the packet with the Request
	 * Authenticator in place and itself zero (RFC 5176 section 3.3). */
	memcpy(copy, resp, len);
	memcpy(copy + AUTH_OFF, req + AUTH_OFF, AUTH_LEN);
	memset(copy + ma, 0, AUTH_LEN);
	if ((err = hmac_md5(mac, secret, secret_len, copy, len)) < 0)
		return err;
	if (CRYPTO_memcmp(mac, resp + ma, AUTH_LEN) != 0)
		return tpa_err_fail(TPA_ERR_VERIFY, "RADIUS response: the Message-Authenticator "
				    "is wrong");
	out->code = (tpa_radius_code)resp[0];
	for (off = HDR; off < len; off += resp[off + 1])
		if (resp[off] == ATTR_ERROR_CAUSE) {
			out->have_error_cause = 1;
			out->error_cause = (uint32_t)resp[off + 2] << 24 |
					   (uint32_t)resp[off + 3] << 16 |
					   (uint32_t)resp[off + 4] << 8 | resp[off + 5];
		}
	return 0;
}

/* host:port, [v6]:port or host (port 3799) into a connected UDP socket. */
static int nas_socket(int *fd_out, const char *nas)
{
	char host[256], port[8];
	const char *colon;
	struct addrinfo hints, *res = NULL;
	size_t hl;
	int fd, rc;

	*fd_out = -1;
	if (!nas || !*nas)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "RADIUS: no NAS address");
	if (nas[0] == '[') {
		const char *end = strchr(nas, ']');

		if (!end || (end[1] && end[1] != ':'))
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "RADIUS: NAS %s: not [ADDR]:PORT",
					    nas);
		hl = (size_t)(end - nas - 1);
		colon = end[1] ? end + 1 : NULL;
		nas++;
	} else {
		colon = strrchr(nas, ':');
		if (colon && strchr(nas, ':') != colon)
			colon = NULL;      /* a bare IPv6 address */
		hl = colon ? (size_t)(colon - nas) : strlen(nas);
	}
	if (hl == 0 || hl >= sizeof(host))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "RADIUS: NAS address too long or empty");
	memcpy(host, nas, hl);
	host[hl] = '\0';
	snprintf(port, sizeof(port), "%s", colon && colon[1] ? colon + 1 : "3799");
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "RADIUS: NAS %s: %s", host,
				    gai_strerror(rc));
	fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		rc = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return tpa_err_fail(TPA_ERR_UNAVAILABLE, "RADIUS: NAS %s: %s", host, strerror(rc));
	}
	freeaddrinfo(res);
	*fd_out = fd;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tpa_radius_send(tpa_radius_response *out, unsigned *dropped, const char *nas,
		    const uint8_t *req, size_t req_len, const uint8_t *secret, size_t secret_len,
		    unsigned tries, unsigned timeout_ms)
{
	uint8_t buf[TPA_RADIUS_MAX];
	unsigned t, bad = 0;
	int fd, err;

	if (dropped)
		*dropped = 0;
	if (!out || !req || req_len < HDR || !secret)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "RADIUS send: NULL");
	if (tries < 1 || tries > 10 || timeout_ms < 10 || timeout_ms > 60000)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "RADIUS send: 1 to 10 tries of 10 ms to "
				    "60 s each");
	if ((err = nas_socket(&fd, nas)) < 0)
		return err;
	for (t = 0; t < tries; t++) {
		int64_t until = now_ms() + timeout_ms;

		if (send(fd, req, req_len, 0) != (ssize_t)req_len) {
			/* ICMP unreachable from an earlier try, or a local error. */
			continue;
		}
		for (;;) {
			struct pollfd p = { fd, POLLIN, 0 };
			int64_t left = until - now_ms();
			ssize_t n;

			if (left <= 0 || poll(&p, 1, (int)left) <= 0)
				break;
			if ((n = recv(fd, buf, sizeof(buf), 0)) < 0)
				break;
			if (tpa_radius_response_check(out, buf, (size_t)n, req, req_len, secret,
						      secret_len) == 0) {
				close(fd);
				if (dropped)
					*dropped = bad;
				return 0;
			}
			bad++;     /* not an answer to this request: keep waiting */
		}
	}
	close(fd);
	if (dropped)
		*dropped = bad;
	return tpa_err_fail(TPA_ERR_UNAVAILABLE, "RADIUS: no answer from %s after %u tries "
			    "of %u ms%s", nas, tries, timeout_ms,
			    bad ? " (responses that did not check were dropped)" : "");
}

int tpa_radius_secret_read(uint8_t *out, size_t *len, const char *path)
{
	FILE *f = fopen(path, "re");
	char buf[TPA_RADIUS_SECRET_MAX + 3];
	size_t n, i;
	int ok = 1;

	if (!f)
		return tpa_err_fail(TPA_ERR_IO, "%s: %s", path, strerror(errno));
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	n = strcspn(buf, "\r\n");
	if (n == 0 || n > TPA_RADIUS_SECRET_MAX)
		ok = 0;
	for (i = 0; ok && i < n; i++)
		ok = (unsigned char)buf[i] >= 0x20 && (unsigned char)buf[i] < 0x7f;
	if (!ok) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "%s: the first line must be a secret of "
				    "1 to %d printable characters", path, TPA_RADIUS_SECRET_MAX);
	}
	memcpy(out, buf, n);
	*len = n;
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}
