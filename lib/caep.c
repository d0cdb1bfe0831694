/* SPDX-License-Identifier: BSD-3-Clause */
/* CAEP device-compliance-change SETs and their push delivery: see
 * tpa/caep.h. The SET is RFC 8417's (no "exp": a SET states a fact that
 * happened, it does not grant anything until a time), its event CAEP 1.0's
 * device-compliance-change, its subject SSF 1.0's sub_id. The push is
 * RFC 8935's, over libcurl: one easy handle per pusher, so a receiver's
 * connection is kept alive between SETs. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "tpa/caep.h"
#include "tpa/err.h"
#include "tpa/version.h"

#define BEARER_MAX 4096
#define RESP_MAX (16u << 10)        /* bytes of a receiver's answer kept */
#define ERR_CODE_MAX 64             /* RFC 8935 "err", as quoted in a message */
#define ERR_DESC_MAX 200            /* its "description" */
#define ISS_MAX 255
#define AUD_MAX 512
#define DEVICE_ID_LEN 64
#define DEFAULT_CONNECT_MS 2000
#define DEFAULT_TIMEOUT_MS 5000

/* 1 if s is min..max bytes of printable ASCII (0x20..0x7e). */
static int printable(const char *s, size_t min, size_t max)
{
	size_t n;

	if (!s)
		return 0;
	for (n = 0; s[n]; n++) {
		if (n >= max || (unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e)
			return 0;
	}
	return n >= min;
}

/* 1 if s is exactly len lower-case hex digits. */
static int lower_hex(const char *s, size_t len)
{
	size_t n;

	if (!s)
		return 0;
	for (n = 0; s[n]; n++) {
		if (n >= len || !((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return 0;
	}
	return n == len;
}

int tpa_caep_jti(char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[TPA_CAEP_JTI_LEN / 2];
	size_t i;

	if (!out)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep jti: NULL");
	if (RAND_bytes(b, (int)sizeof(b)) != 1)
		return tpa_err_fail(TPA_ERR_CRYPTO, "caep jti: RAND_bytes failed");
	for (i = 0; i < sizeof(b); i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[TPA_CAEP_JTI_LEN] = '\0';
	OPENSSL_cleanse(b, sizeof(b));
	return 0;
}

static int check_change(const tpa_caep_change *c)
{
	if (!printable(c->iss, 1, ISS_MAX))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep SET: iss must be 1 to %d bytes "
				    "of printable ASCII", ISS_MAX);
	if (c->aud && !printable(c->aud, 1, AUD_MAX))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep SET: aud must be 1 to %d bytes "
				    "of printable ASCII (or none)", AUD_MAX);
	if (!lower_hex(c->jti, TPA_CAEP_JTI_LEN))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep SET: jti must be %d lower-case "
				    "hex digits", TPA_CAEP_JTI_LEN);
	if (!lower_hex(c->device_id, DEVICE_ID_LEN))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep SET: device_id must be %d "
				    "lower-case hex digits", DEVICE_ID_LEN);
	if (c->reason && !printable(c->reason, 0, TPA_CAEP_REASON_MAX))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep SET: reason must be at most %d "
				    "bytes of printable ASCII", TPA_CAEP_REASON_MAX);
	if (c->event_timestamp <= 0)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep SET: event_timestamp %lld is "
				    "not after 1970", (long long)c->event_timestamp);
	if (c->iat <= 0)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep SET: iat %lld is not after 1970",
				    (long long)c->iat);
	return 0;
}

static const char *status_name(int compliant)
{
	return compliant ? "compliant" : "not-compliant";
}

/* The event's body: CAEP 1.0 device-compliance-change. */
static json_t *event_json(const tpa_caep_change *c)
{
	json_t *ev = json_pack("{s:s, s:I, s:s}", "current_status", status_name(c->compliant),
			       "event_timestamp", (json_int_t)c->event_timestamp,
			       "initiating_entity", "policy");

	if (!ev)
		return NULL;
	if (c->have_previous &&
	    json_object_set_new(ev, "previous_status",
				json_string(status_name(c->previous_compliant))) != 0)
		goto fail;
	if (c->reason && c->reason[0] &&
	    json_object_set_new(ev, "reason_admin", json_pack("{s:s}", "en", c->reason)) != 0)
		goto fail;
	return ev;
fail:
	json_decref(ev);
	return NULL;
}

int tpa_caep_set_sign(char **out, const tpa_token_key *k, const tpa_caep_change *c)
{
	json_t *ev, *root = NULL;
	char *payload = NULL;
	int rc;

	if (!out || !k || !c)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep SET: NULL");
	*out = NULL;
	if ((rc = check_change(c)) < 0)
		return rc;
	if (!(ev = event_json(c)))
		return tpa_err_fail(TPA_ERR_NOMEM, "caep SET: building the event failed");
	/* "O" takes its own reference: ev is dropped below whatever happens. */
	root = json_pack("{s:s, s:s, s:I, s:{s:s, s:s}, s:{s:O}}", "iss", c->iss, "jti", c->jti,
			 "iat", (json_int_t)c->iat, "sub_id", "format", "opaque", "id",
			 c->device_id, "events", TPA_CAEP_EVENT_DEVICE_COMPLIANCE, ev);
	json_decref(ev);
	if (!root)
		return tpa_err_fail(TPA_ERR_NOMEM, "caep SET: building the claims failed");
	if (c->aud && json_object_set_new(root, "aud", json_string(c->aud)) != 0) {
		json_decref(root);
		return tpa_err_fail(TPA_ERR_NOMEM, "caep SET: adding aud failed");
	}
	payload = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!payload)
		return tpa_err_fail(TPA_ERR_NOMEM, "caep SET: serializing the claims failed");
	rc = tpa_token_sign_payload(out, k, TPA_CAEP_TYP, payload);
	free(payload);
	if (rc < 0)
		return rc;
	if (strlen(*out) > TPA_CAEP_SET_MAX) {
		size_t n = strlen(*out);

		free(*out);
		*out = NULL;
		return tpa_err_fail(TPA_ERR_LIMIT, "caep SET: %zu bytes, more than %u", n,
				    TPA_CAEP_SET_MAX);
	}
	return 0;
}

/* ---- the push (RFC 8935) ---- */

struct tpa_caep_pusher {
	CURL *curl;
	struct curl_slist *headers;   /* the Authorization line among them */
	char url[TPA_CAEP_URL_MAX + 1];
	char errbuf[CURL_ERROR_SIZE];
	char resp[RESP_MAX + 1];
	size_t resp_len;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* 1 if host (as CURLU gives it: IPv6 in brackets) is a loopback literal. */
static int loopback_host(const char *host)
{
	struct in_addr a4;

	if (!strcmp(host, "localhost") || !strcmp(host, "[::1]"))
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return 0;
}

/* https://, or http:// to a loopback literal; no credentials in it. */
static int check_url(const char *url)
{
	CURLU *u;
	char *host = NULL, *user = NULL;
	int https = !strncmp(url, "https://", 8), rc = 0;

	if (!https && strncmp(url, "http://", 7))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep receiver: url must be https:// "
				    "(or http:// to a loopback address)");
	if (!(u = curl_url()))
		return tpa_err_fail(TPA_ERR_NOMEM, "caep receiver: curl_url failed");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		rc = tpa_err_fail(TPA_ERR_INVALID_ARG, "caep receiver: url is not a URL with a host");
	else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
		rc = tpa_err_fail(TPA_ERR_INVALID_ARG, "caep receiver: url must not carry "
				  "credentials (give a bearer token)");
	else if (!https && !loopback_host(host))
		rc = tpa_err_fail(TPA_ERR_INVALID_ARG, "caep receiver: http:// only to a loopback "
				  "address (127.0.0.0/8, [::1], localhost), not %s: use https://",
				  host);
	curl_free(user);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	tpa_caep_pusher *p = ctx;
	size_t len = size * n, room = RESP_MAX - p->resp_len;

	if (room) {
		memcpy(p->resp + p->resp_len, data, len < room ? len : room);
		p->resp_len += len < room ? len : room;
	}
	return len;                   /* what is past the cap is dropped, not an error */
}

/* Frees the header list, the bearer's bytes wiped first. */
static void headers_free(struct curl_slist *h)
{
	struct curl_slist *i;

	for (i = h; i; i = i->next)
		OPENSSL_cleanse(i->data, strlen(i->data));
	curl_slist_free_all(h);
}

static int set_headers(tpa_caep_pusher *p, const char *bearer)
{
	static const char *const fixed[] = { "Content-Type: application/secevent+jwt",
					     "Accept: application/json",
					     "Expect:" };   /* no 100-continue round trip */
	struct curl_slist *n;
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (!(n = curl_slist_append(p->headers, fixed[i])))
			return tpa_err_fail(TPA_ERR_NOMEM, "caep receiver: headers");
		p->headers = n;
	}
	if (bearer) {
		size_t len = strlen(bearer) + sizeof("Authorization: Bearer ");
		char *line = malloc(len);

		if (!line)
			return tpa_err_fail(TPA_ERR_NOMEM, "caep receiver: headers");
		snprintf(line, len, "Authorization: Bearer %s", bearer);
		n = curl_slist_append(p->headers, line);
		OPENSSL_cleanse(line, len);
		free(line);
		if (!n)
			return tpa_err_fail(TPA_ERR_NOMEM, "caep receiver: headers");
		p->headers = n;
	}
	return 0;
}

#define SETOPT(opt, val)                                                        \
	do {                                                                    \
		if (curl_easy_setopt(p->curl, opt, val) != CURLE_OK) {          \
			rc = tpa_err_fail(TPA_ERR_INTERNAL,                     \
					  "caep receiver: curl refused " #opt); \
			goto fail;                                              \
		}                                                               \
	} while (0)

int tpa_caep_pusher_new(tpa_caep_pusher **out, const tpa_caep_receiver *r)
{
	tpa_caep_pusher *p;
	int rc;

	if (!out || !r)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep receiver: NULL");
	*out = NULL;
	if (!printable(r->url, 1, TPA_CAEP_URL_MAX))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep receiver: url must be 1 to %d "
				    "bytes of printable ASCII", TPA_CAEP_URL_MAX);
	if (r->bearer && !printable(r->bearer, 1, BEARER_MAX))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep receiver: bearer must be 1 to %d "
				    "bytes of printable ASCII", BEARER_MAX);
	if (r->ca_file && !r->ca_file[0])
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep receiver: ca_file is empty");
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return tpa_err_fail(TPA_ERR_INTERNAL, "caep receiver: curl_global_init: %s",
				    curl_easy_strerror(curl_init_rc));
	if ((rc = check_url(r->url)) < 0)
		return rc;
	if (!(p = calloc(1, sizeof(*p))))
		return tpa_err_fail(TPA_ERR_NOMEM, "caep receiver: out of memory");
	memcpy(p->url, r->url, strlen(r->url) + 1);
	if (!(p->curl = curl_easy_init())) {
		rc = tpa_err_fail(TPA_ERR_NOMEM, "caep receiver: curl_easy_init failed");
		goto fail;
	}
	if ((rc = set_headers(p, r->bearer)) < 0)
		goto fail;
	SETOPT(CURLOPT_URL, p->url);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS,
	       (long)(r->connect_timeout_ms ? r->connect_timeout_ms : DEFAULT_CONNECT_MS));
	SETOPT(CURLOPT_TIMEOUT_MS, (long)(r->timeout_ms ? r->timeout_ms : DEFAULT_TIMEOUT_MS));
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	if (r->ca_file)
		SETOPT(CURLOPT_CAINFO, r->ca_file);
	if (strncmp(p->url, "https://", 8))
		SETOPT(CURLOPT_PROXY, "");   /* loopback: never through an environment proxy */
	SETOPT(CURLOPT_HTTPHEADER, p->headers);
	SETOPT(CURLOPT_USERAGENT, "tpm-attest/" TPA_VERSION);
	SETOPT(CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(CURLOPT_WRITEDATA, p);
	SETOPT(CURLOPT_ERRORBUFFER, p->errbuf);
	SETOPT(CURLOPT_POST, 1L);
	*out = p;
	return 0;
fail:
	tpa_caep_pusher_free(p);
	return rc;
}

void tpa_caep_pusher_free(tpa_caep_pusher *p)
{
	if (!p)
		return;
	if (p->curl)
		curl_easy_cleanup(p->curl);
	headers_free(p->headers);
	free(p);
}

/* s (n bytes, untrusted) into out: printable ASCII, the rest '?', at most
 * cap - 1 bytes. */
static void sanitize(char *out, size_t cap, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < cap; i++)
		out[i] = ((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] <= 0x7e) ? s[i] : '?';
	out[i] = '\0';
}

/* A refusal: the status, and RFC 8935 section 2.4's err and description
 * when the body is that JSON. */
static int refused(tpa_caep_pusher *p, long status)
{
	char code[ERR_CODE_MAX + 1] = "", desc[ERR_DESC_MAX + 1] = "";
	json_t *j = json_loadb(p->resp, p->resp_len, 0, NULL);
	json_t *e = json_object_get(j, "err"), *d = json_object_get(j, "description");

	if (json_is_string(e))
		sanitize(code, sizeof(code), json_string_value(e), json_string_length(e));
	if (json_is_string(d))
		sanitize(desc, sizeof(desc), json_string_value(d), json_string_length(d));
	json_decref(j);
	if (!code[0])
		return tpa_err_fail(TPA_ERR_REFUSED, "caep push to %s: the receiver answered %ld",
				    p->url, status);
	return tpa_err_fail(TPA_ERR_REFUSED, "caep push to %s: the receiver answered %ld: "
			    "err %s%s%s", p->url, status, code, desc[0] ? ": " : "", desc);
}

int tpa_caep_push(tpa_caep_pusher *p, const char *set, long *http_status)
{
	CURLcode cc;
	long status = 0;
	size_t len;

	if (http_status)
		*http_status = 0;
	if (!p || !set)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep push: NULL");
	len = strlen(set);
	if (!len || len > TPA_CAEP_SET_MAX)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep push: a SET of %zu bytes (1 to %u)",
				    len, TPA_CAEP_SET_MAX);
	p->resp_len = 0;
	p->errbuf[0] = '\0';
	if (curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE, (long)len) != CURLE_OK ||
	    curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, set) != CURLE_OK)
		return tpa_err_fail(TPA_ERR_INTERNAL, "caep push: curl refused the body");
	cc = curl_easy_perform(p->curl);
	/* The body is the caller's: curl must not keep a pointer to it. */
	curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, NULL);
	if (curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		status = 0;
	if (http_status)
		*http_status = status;
	if (cc != CURLE_OK)
		return tpa_err_fail(TPA_ERR_UNAVAILABLE, "caep push to %s: %s", p->url,
				    p->errbuf[0] ? p->errbuf : curl_easy_strerror(cc));
	if (status == 200 || status == 202 || status == 204)
		return 0;
	if (status == 429 || status >= 500)
		return tpa_err_fail(TPA_ERR_UNAVAILABLE, "caep push to %s: the receiver answered "
				    "%ld: try again later", p->url, status);
	return refused(p, status);
}
