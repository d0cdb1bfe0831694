/* SPDX-License-Identifier: BSD-3-Clause */
/* CAEP SETs and their push (lib/caep.c): the SET verified and read back
 * claim by claim, every malformed field refused by name, and pushes to a
 * real receiver (tests/integration/caep_receiver.py, which checks each SET
 * with PyJWT) that answers 202, fails, hangs, hangs up, refuses, wants a
 * bearer token or speaks TLS. The unit tests run from the repository root. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <jansson.h>

#include "testutil.h"
#include "tpa/caep.h"
#include "tpa/err.h"
#include "tpa/token.h"

#define RECEIVER "tests/integration/caep_receiver.py"
#define DEV "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ISS "https://verifier.example"
#define AUD "https://receiver.example"
#define BEARER "s3cret-bearer-token"

static tpa_token_key *key;
static char *jwks;
static char dir[] = "/tmp/tpa-caep-XXXXXX";
static char jwks_path[300], out_path[300], err_path[300], cert_path[300], key_path[300];

static int suite_init(void)
{
	const tpa_token_key *keys[1];
	FILE *f;

	if (tpa_token_key_new(&key) < 0 || !mkdtemp(dir))
		return -1;
	keys[0] = key;
	if (tpa_token_jwks(&jwks, keys, 1) < 0)
		return -1;
	snprintf(jwks_path, sizeof(jwks_path), "%s/jwks.json", dir);
	snprintf(out_path, sizeof(out_path), "%s/out.jsonl", dir);
	snprintf(err_path, sizeof(err_path), "%s/receiver.err", dir);
	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
	if (!(f = fopen(jwks_path, "w")))
		return -1;
	fputs(jwks, f);
	return fclose(f) ? -1 : 0;
}

static int suite_clean(void)
{
	unlink(jwks_path);
	unlink(out_path);
	unlink(err_path);
	unlink(cert_path);
	unlink(key_path);
	rmdir(dir);
	free(jwks);
	tpa_token_key_free(key);
	return 0;
}

static void change_init(tpa_caep_change *c, char *jti)
{
	CU_ASSERT_EQUAL_FATAL(tpa_caep_jti(jti), 0);
	memset(c, 0, sizeof(*c));
	c->iss = ISS;
	c->aud = AUD;
	c->jti = jti;
	c->device_id = DEV;
	c->compliant = 0;
	c->have_previous = 1;
	c->previous_compliant = 1;
	c->reason = "secure boot is off";
	c->event_timestamp = 1700000000;
	c->iat = (int64_t)time(NULL);
}

/* ---- the SET ---- */

static void test_jti(void)
{
	char a[TPA_CAEP_JTI_LEN + 1], b[TPA_CAEP_JTI_LEN + 1];
	size_t i;

	CU_ASSERT_EQUAL_FATAL(tpa_caep_jti(a), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_caep_jti(b), 0);
	CU_ASSERT_EQUAL(strlen(a), TPA_CAEP_JTI_LEN);
	for (i = 0; i < TPA_CAEP_JTI_LEN; i++)
		CU_ASSERT((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'));
	CU_ASSERT(strcmp(a, b) != 0);
	CU_ASSERT_EQUAL(tpa_caep_jti(NULL), TPA_ERR_INVALID_ARG);
}

/* The SET verified as a receiver would and its claims read back. */
static json_t *signed_claims(const tpa_caep_change *c)
{
	char *set = NULL, *payload = NULL;
	json_t *j;

	CU_ASSERT_EQUAL_FATAL(tpa_caep_set_sign(&set, key, c), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_verify_payload(&payload, jwks, set, TPA_CAEP_TYP), 0);
	/* not another type: a SET is not an audit head or a verdict */
	CU_ASSERT_NOT_EQUAL(tpa_token_verify_payload(NULL, jwks, set, "JWT"), 0);
	j = json_loads(payload, JSON_REJECT_DUPLICATES, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	free(payload);
	free(set);
	return j;
}

static const char *str_at(json_t *j, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(j, a);

	if (b)
		v = json_object_get(v, b);
	if (c)
		v = json_object_get(v, c);
	return json_string_value(v);
}

static void test_set_claims(void)
{
	char jti[TPA_CAEP_JTI_LEN + 1];
	tpa_caep_change c;
	json_t *j, *ev;

	change_init(&c, jti);
	j = signed_claims(&c);
	CU_ASSERT_EQUAL(json_object_size(j), 6);   /* iss jti iat aud sub_id events: no exp */
	CU_ASSERT_STRING_EQUAL(str_at(j, "iss", NULL, NULL), ISS);
	CU_ASSERT_STRING_EQUAL(str_at(j, "aud", NULL, NULL), AUD);
	CU_ASSERT_STRING_EQUAL(str_at(j, "jti", NULL, NULL), jti);
	CU_ASSERT(json_is_integer(json_object_get(j, "iat")) &&
		  json_integer_value(json_object_get(j, "iat")) == c.iat);
	CU_ASSERT_PTR_NULL(json_object_get(j, "exp"));
	CU_ASSERT_PTR_NULL(json_object_get(j, "sub"));
	CU_ASSERT_EQUAL(json_object_size(json_object_get(j, "sub_id")), 2);
	CU_ASSERT_STRING_EQUAL(str_at(j, "sub_id", "format", NULL), "opaque");
	CU_ASSERT_STRING_EQUAL(str_at(j, "sub_id", "id", NULL), DEV);
	CU_ASSERT_EQUAL(json_object_size(json_object_get(j, "events")), 1);
	ev = json_object_get(json_object_get(j, "events"), TPA_CAEP_EVENT_DEVICE_COMPLIANCE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
	CU_ASSERT_EQUAL(json_object_size(ev), 5);
	CU_ASSERT_STRING_EQUAL(str_at(ev, "current_status", NULL, NULL), "not-compliant");
	CU_ASSERT_STRING_EQUAL(str_at(ev, "previous_status", NULL, NULL), "compliant");
	CU_ASSERT_STRING_EQUAL(str_at(ev, "initiating_entity", NULL, NULL), "policy");
	CU_ASSERT_STRING_EQUAL(str_at(ev, "reason_admin", "en", NULL), "secure boot is off");
	CU_ASSERT_EQUAL(json_object_size(json_object_get(ev, "reason_admin")), 1);
	CU_ASSERT(json_integer_value(json_object_get(ev, "event_timestamp")) == 1700000000);
	json_decref(j);

	/* no aud, no previous status, an empty reason: none of them written */
	c.aud = NULL;
	c.have_previous = 0;
	c.compliant = 1;
	c.reason = "";
	j = signed_claims(&c);
	CU_ASSERT_EQUAL(json_object_size(j), 5);
	CU_ASSERT_PTR_NULL(json_object_get(j, "aud"));
	ev = json_object_get(json_object_get(j, "events"), TPA_CAEP_EVENT_DEVICE_COMPLIANCE);
	CU_ASSERT_EQUAL(json_object_size(ev), 3);
	CU_ASSERT_STRING_EQUAL(str_at(ev, "current_status", NULL, NULL), "compliant");
	CU_ASSERT_PTR_NULL(json_object_get(ev, "previous_status"));
	CU_ASSERT_PTR_NULL(json_object_get(ev, "reason_admin"));
	json_decref(j);
	c.reason = NULL;
	j = signed_claims(&c);
	ev = json_object_get(json_object_get(j, "events"), TPA_CAEP_EVENT_DEVICE_COMPLIANCE);
	CU_ASSERT_PTR_NULL(json_object_get(ev, "reason_admin"));
	json_decref(j);
}

#define REFUSED_FIELD(field, text)                                                  \
	do {                                                                        \
		tpa_caep_change b_ = good;                                          \
		char *s_ = NULL;                                                    \
		b_.field;                                                           \
		CU_ASSERT_EQUAL(tpa_caep_set_sign(&s_, key, &b_), TPA_ERR_INVALID_ARG); \
		CU_ASSERT_PTR_NULL(s_);                                             \
		if (!strstr(tpa_err_last(), text)) {                                \
			printf("\n  %s: %s\n", #field, tpa_err_last());             \
			CU_FAIL("refused without naming " text);                    \
		}                                                                   \
	} while (0)

static void test_set_invalid(void)
{
	char jti[TPA_CAEP_JTI_LEN + 1], long_iss[300], long_aud[600], long_reason[300];
	tpa_caep_change good;
	char *s = NULL;

	change_init(&good, jti);
	memset(long_iss, 'a', 256);
	long_iss[256] = '\0';
	memset(long_aud, 'a', 513);
	long_aud[513] = '\0';
	memset(long_reason, 'r', TPA_CAEP_REASON_MAX + 1);
	long_reason[TPA_CAEP_REASON_MAX + 1] = '\0';

	REFUSED_FIELD(iss = NULL, "iss");
	REFUSED_FIELD(iss = "", "iss");
	REFUSED_FIELD(iss = long_iss, "iss");
	REFUSED_FIELD(iss = "a\nb", "iss");
	REFUSED_FIELD(aud = "", "aud");
	REFUSED_FIELD(aud = long_aud, "aud");
	REFUSED_FIELD(aud = "aud\x7f", "aud");
	REFUSED_FIELD(jti = NULL, "jti");
	REFUSED_FIELD(jti = "0123456789abcdef0123456789abcde", "jti");
	REFUSED_FIELD(jti = "0123456789abcdef0123456789abcdef0", "jti");
	REFUSED_FIELD(jti = "0123456789ABCDEF0123456789abcdef", "jti");
	REFUSED_FIELD(device_id = NULL, "device_id");
	REFUSED_FIELD(device_id = DEV "0", "device_id");
	REFUSED_FIELD(device_id = "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		      "device_id");
	REFUSED_FIELD(reason = long_reason, "reason");
	REFUSED_FIELD(reason = "tab\there", "reason");
	REFUSED_FIELD(event_timestamp = 0, "event_timestamp");
	REFUSED_FIELD(event_timestamp = -5, "event_timestamp");
	REFUSED_FIELD(iat = 0, "iat");
	/* the longest of each is fine */
	long_iss[255] = '\0';
	long_aud[512] = '\0';
	long_reason[TPA_CAEP_REASON_MAX] = '\0';
	good.iss = long_iss;
	good.aud = long_aud;
	good.reason = long_reason;
	CU_ASSERT_EQUAL(tpa_caep_set_sign(&s, key, &good), 0);
	free(s);
	CU_ASSERT_EQUAL(tpa_caep_set_sign(&s, NULL, &good), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_caep_set_sign(&s, key, NULL), TPA_ERR_INVALID_ARG);
}

/* ---- the receiver ---- */

typedef struct {
	pid_t pid;
	int port;
} receiver;

/* Starts the receiver in mode (bearer, TLS if tls); 0 when it listens. */
static int receiver_start(receiver *r, const char *mode, const char *bearer, int tls)
{
	const char *argv[24];
	char line[64];
	int fds[2], n = 0, err;
	FILE *f;

	if (access(RECEIVER, R_OK) != 0 || pipe(fds) != 0)
		return -1;
	argv[n++] = "/usr/bin/python3";
	argv[n++] = RECEIVER;
	argv[n++] = "--port";
	argv[n++] = "0";
	argv[n++] = "--jwks";
	argv[n++] = jwks_path;
	argv[n++] = "--issuer";
	argv[n++] = ISS;
	argv[n++] = "--audience";
	argv[n++] = AUD;
	argv[n++] = "--out";
	argv[n++] = out_path;
	argv[n++] = "--mode";
	argv[n++] = mode;
	if (bearer) {
		argv[n++] = "--bearer";
		argv[n++] = bearer;
	}
	if (tls) {
		argv[n++] = "--tls-cert";
		argv[n++] = cert_path;
		argv[n++] = "--tls-key";
		argv[n++] = key_path;
	}
	argv[n] = NULL;
	if ((r->pid = fork()) < 0)
		return -1;
	if (r->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		if ((err = open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0)
			dup2(err, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	if (!(f = fdopen(fds[0], "r"))) {
		close(fds[0]);
		return -1;
	}
	r->port = 0;
	if (fgets(line, sizeof(line), f) && sscanf(line, "listening %d", &r->port) != 1)
		r->port = 0;
	fclose(f);
	return r->port > 0 ? 0 : -1;
}

static void receiver_stop(receiver *r)
{
	int st;

	if (r->pid <= 0)
		return;
	kill(r->pid, SIGTERM);
	waitpid(r->pid, &st, 0);
	r->pid = 0;
}

static tpa_caep_pusher *pusher_for(const receiver *r, const char *bearer, unsigned timeout_ms)
{
	tpa_caep_receiver rc = { NULL, bearer, NULL, 0, timeout_ms };
	tpa_caep_pusher *p = NULL;
	char url[100];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/caep", r->port);
	rc.url = url;
	CU_ASSERT_EQUAL(tpa_caep_pusher_new(&p, &rc), 0);
	return p;
}

/* How many lines of the receiver's --out name jti. */
static int out_lines(const char *jti)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(out_path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, jti) != NULL;
	fclose(f);
	return n;
}

static char *make_set(char *jti)
{
	tpa_caep_change c;
	char *set = NULL;

	change_init(&c, jti);
	CU_ASSERT_EQUAL(tpa_caep_set_sign(&set, key, &c), 0);
	return set;
}

#define START(r, mode, bearer, tls)                                           \
	do {                                                                  \
		if (receiver_start(&(r), mode, bearer, tls) != 0) {           \
			receiver_stop(&(r));                                  \
			CU_FAIL_FATAL("the receiver " RECEIVER " did not start"); \
		}                                                             \
	} while (0)

static void test_push_accepted(void)
{
	char jti[TPA_CAEP_JTI_LEN + 1], jti2[TPA_CAEP_JTI_LEN + 1];
	char *set = make_set(jti), *set2 = make_set(jti2);
	receiver r = { 0, 0 };
	tpa_caep_pusher *p;
	char line[1024] = "";
	long status = -1;
	FILE *f;

	START(r, "ok", NULL, 0);
	p = pusher_for(&r, NULL, 0);
	CU_ASSERT_EQUAL(tpa_caep_push(p, set, &status), 0);
	CU_ASSERT_EQUAL(status, 202);
	CU_ASSERT_EQUAL(out_lines(jti), 1);
	/* the same SET again (a retry): accepted, written once */
	CU_ASSERT_EQUAL(tpa_caep_push(p, set, &status), 0);
	CU_ASSERT_EQUAL(out_lines(jti), 1);
	CU_ASSERT_EQUAL(tpa_caep_push(p, set2, NULL), 0);
	CU_ASSERT_EQUAL(out_lines(jti2), 1);
	if ((f = fopen(out_path, "r"))) {
		while (fgets(line, sizeof(line), f) && !strstr(line, jti))
			;
		fclose(f);
	}
	CU_ASSERT(strstr(line, "\"sub\": \"" DEV "\"") != NULL);
	CU_ASSERT(strstr(line, "\"current\": \"not-compliant\"") != NULL);
	CU_ASSERT(strstr(line, "\"previous\": \"compliant\"") != NULL);
	CU_ASSERT(strstr(line, "\"event_timestamp\": 1700000000") != NULL);
	/* a SET the receiver's checks refuse: 400 invalid_key (another key) */
	{
		tpa_token_key *other = NULL;
		tpa_caep_change c;
		char j3[TPA_CAEP_JTI_LEN + 1], *bad = NULL;

		CU_ASSERT_EQUAL_FATAL(tpa_token_key_new(&other), 0);
		change_init(&c, j3);
		CU_ASSERT_EQUAL(tpa_caep_set_sign(&bad, other, &c), 0);
		CU_ASSERT_EQUAL(tpa_caep_push(p, bad, &status), TPA_ERR_REFUSED);
		CU_ASSERT_EQUAL(status, 400);
		CU_ASSERT(strstr(tpa_err_last(), "err invalid_key") != NULL);
		CU_ASSERT_EQUAL(out_lines(j3), 0);
		free(bad);
		tpa_token_key_free(other);
	}
	CU_ASSERT_EQUAL(tpa_caep_push(p, "", NULL), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_caep_push(p, NULL, NULL), TPA_ERR_INVALID_ARG);
	tpa_caep_pusher_free(p);
	receiver_stop(&r);
	free(set);
	free(set2);
}

/* One push of set to a receiver started in mode: the result, the status
 * in *status and how long it took in *ms; the receiver stopped. */
static int push_to(const char *mode, unsigned timeout_ms, const char *set, long *status,
		   long *ms)
{
	struct timespec t0, t1;
	receiver r = { 0, 0 };
	tpa_caep_pusher *p;
	int rc;

	if (receiver_start(&r, mode, NULL, 0) != 0) {
		receiver_stop(&r);
		CU_FAIL("the receiver " RECEIVER " did not start");
		return 1;
	}
	p = pusher_for(&r, NULL, timeout_ms);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = tpa_caep_push(p, set, status);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	tpa_caep_pusher_free(p);
	receiver_stop(&r);
	return rc;
}

static void test_push_failures(void)
{
	char jti[TPA_CAEP_JTI_LEN + 1];
	char *set = make_set(jti);
	receiver r = { 0, 0 };
	tpa_caep_pusher *p;
	long status = -1, ms;

	CU_ASSERT_EQUAL(push_to("500", 0, set, &status, &ms), TPA_ERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(status, 500);
	CU_ASSERT(strstr(tpa_err_last(), "answered 500") != NULL);

	CU_ASSERT_EQUAL(push_to("close", 0, set, &status, &ms), TPA_ERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(status, 0);

	CU_ASSERT_EQUAL(push_to("hang", 500, set, &status, &ms), TPA_ERR_UNAVAILABLE);
	CU_ASSERT(ms >= 400 && ms < 1500);
	CU_ASSERT_EQUAL(status, 0);

	CU_ASSERT_EQUAL(push_to("400", 0, set, &status, &ms), TPA_ERR_REFUSED);
	CU_ASSERT_EQUAL(status, 400);
	CU_ASSERT(strstr(tpa_err_last(), "err invalid_request: this receiver refuses") != NULL);

	/* a receiver back after one failure: the retry on the same pusher lands */
	START(r, "500-then-ok:1", NULL, 0);
	p = pusher_for(&r, NULL, 0);
	CU_ASSERT_EQUAL(tpa_caep_push(p, set, &status), TPA_ERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(status, 500);
	CU_ASSERT_EQUAL(tpa_caep_push(p, set, &status), 0);
	CU_ASSERT_EQUAL(status, 202);
	CU_ASSERT_EQUAL(out_lines(jti), 1);
	tpa_caep_pusher_free(p);
	receiver_stop(&r);
	free(set);
}

/* A port nobody listens on: one just bound and closed. */
static void test_push_no_listener(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	char jti[TPA_CAEP_JTI_LEN + 1];
	char *set = make_set(jti);
	receiver r = { 0, 0 };
	tpa_caep_pusher *p;
	long status = -1;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
			getsockname(s, (struct sockaddr *)&a, &al) == 0);
	close(s);
	r.port = ntohs(a.sin_port);
	p = pusher_for(&r, NULL, 0);
	CU_ASSERT_EQUAL(tpa_caep_push(p, set, &status), TPA_ERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(status, 0);
	tpa_caep_pusher_free(p);
	free(set);
}

static void test_receiver_urls(void)
{
	static const char *const bad[] = {
		"http://192.0.2.1/", "http://10.0.0.1:8080/x", "http://[::2]/",
		"http://127.0.0.1.example.com/", "http://localhost.example/",
		"ftp://127.0.0.1/", "file:///etc/passwd", "gopher://127.0.0.1/",
		"127.0.0.1:8080", "HTTP://example.com/", "http://user:pw@127.0.0.1/",
		"https://user@example.com/", "http://127.0.0.1/\n", "",
	};
	static const char *const good[] = {
		"http://127.0.0.1:8080/caep", "http://127.1.2.3/", "http://[::1]:9/",
		"http://localhost/ssf", "https://receiver.example/caep",
		"https://192.0.2.1:8443/",
	};
	tpa_caep_receiver rc = { NULL, NULL, NULL, 0, 0 };
	tpa_caep_pusher *p = NULL;
	char long_url[TPA_CAEP_URL_MAX + 10], long_bearer[5000];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc.url = bad[i];
		if (tpa_caep_pusher_new(&p, &rc) != TPA_ERR_INVALID_ARG) {
			printf("\n  accepted %s\n", bad[i]);
			CU_FAIL("a receiver url accepted");
		}
		CU_ASSERT_PTR_NULL(p);
		tpa_caep_pusher_free(p);
		p = NULL;
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		rc.url = good[i];
		if (tpa_caep_pusher_new(&p, &rc) != 0) {
			printf("\n  refused %s: %s\n", good[i], tpa_err_last());
			CU_FAIL("a receiver url refused");
		}
		tpa_caep_pusher_free(p);
		p = NULL;
	}
	memcpy(long_url, "https://a.example/", 18);
	memset(long_url + 18, 'a', TPA_CAEP_URL_MAX - 17);
	long_url[TPA_CAEP_URL_MAX + 1] = '\0';
	rc.url = long_url;
	CU_ASSERT_EQUAL(tpa_caep_pusher_new(&p, &rc), TPA_ERR_INVALID_ARG);
	long_url[TPA_CAEP_URL_MAX] = '\0';
	CU_ASSERT_EQUAL(tpa_caep_pusher_new(&p, &rc), 0);
	tpa_caep_pusher_free(p);
	p = NULL;
	rc.url = "https://receiver.example/";
	memset(long_bearer, 'b', 4097);
	long_bearer[4097] = '\0';
	rc.bearer = long_bearer;
	CU_ASSERT_EQUAL(tpa_caep_pusher_new(&p, &rc), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "bbbb") == NULL);
	rc.bearer = "bad\nbearer";
	CU_ASSERT_EQUAL(tpa_caep_pusher_new(&p, &rc), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "bad") == NULL);
	rc.bearer = NULL;
	CU_ASSERT_EQUAL(tpa_caep_pusher_new(&p, NULL), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_caep_pusher_new(NULL, &rc), TPA_ERR_INVALID_ARG);
	tpa_caep_pusher_free(NULL);
}

static void test_push_bearer(void)
{
	char jti[TPA_CAEP_JTI_LEN + 1];
	char *set = make_set(jti);
	receiver r = { 0, 0 };
	tpa_caep_pusher *p;
	long status = -1;

	START(r, "ok", BEARER, 0);
	p = pusher_for(&r, NULL, 0);
	CU_ASSERT_EQUAL(tpa_caep_push(p, set, &status), TPA_ERR_REFUSED);
	CU_ASSERT_EQUAL(status, 401);
	CU_ASSERT(strstr(tpa_err_last(), "err authentication_failed") != NULL);
	tpa_caep_pusher_free(p);
	p = pusher_for(&r, "wrong-" BEARER, 0);
	CU_ASSERT_EQUAL(tpa_caep_push(p, set, &status), TPA_ERR_REFUSED);
	CU_ASSERT_EQUAL(status, 401);
	CU_ASSERT(strstr(tpa_err_last(), BEARER) == NULL);
	tpa_caep_pusher_free(p);
	CU_ASSERT_EQUAL(out_lines(jti), 0);
	p = pusher_for(&r, BEARER, 0);
	CU_ASSERT_EQUAL(tpa_caep_push(p, set, &status), 0);
	CU_ASSERT_EQUAL(status, 202);
	CU_ASSERT_EQUAL(out_lines(jti), 1);
	receiver_stop(&r);
	/* nobody there now: the failure's message does not say the token */
	CU_ASSERT_EQUAL(tpa_caep_push(p, set, &status), TPA_ERR_UNAVAILABLE);
	CU_ASSERT(strstr(tpa_err_last(), BEARER) == NULL);
	tpa_caep_pusher_free(p);
	free(set);
}

/* https: a self-signed certificate for 127.0.0.1 made with openssl(1);
 * trusted through ca_file, refused without it (verification is on). */
static void test_push_https(void)
{
	char cmd[1024], url[100], jti[TPA_CAEP_JTI_LEN + 1];
	char *set = make_set(jti);
	tpa_caep_receiver rc = { NULL, NULL, NULL, 0, 0 };
	receiver r = { 0, 0 };
	tpa_caep_pusher *p = NULL;
	long status = -1;

	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt "
		 "ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 -addext "
		 "subjectAltName=IP:127.0.0.1 -keyout %s -out %s >/dev/null 2>&1",
		 key_path, cert_path);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	START(r, "ok", NULL, 1);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/caep", r.port);
	rc.url = url;
	rc.ca_file = cert_path;
	CU_ASSERT_EQUAL(tpa_caep_pusher_new(&p, &rc), 0);
	CU_ASSERT_EQUAL(tpa_caep_push(p, set, &status), 0);
	CU_ASSERT_EQUAL(status, 202);
	CU_ASSERT_EQUAL(out_lines(jti), 1);
	tpa_caep_pusher_free(p);
	p = NULL;
	rc.ca_file = NULL;                      /* the system's CAs do not know it */
	CU_ASSERT_EQUAL(tpa_caep_pusher_new(&p, &rc), 0);
	CU_ASSERT_EQUAL(tpa_caep_push(p, set, &status), TPA_ERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(status, 0);
	tpa_caep_pusher_free(p);
	receiver_stop(&r);
	free(set);
}

int main(void)
{
	CU_pSuite s;

	signal(SIGPIPE, SIG_IGN);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("CAEP SETs and their push", suite_init, suite_clean);
	CU_add_test(s, "a jti: 32 random hex digits", test_jti);
	CU_add_test(s, "a SET: verified, every claim read back", test_set_claims);
	CU_add_test(s, "a SET: every malformed field refused by name", test_set_invalid);
	CU_add_test(s, "receiver URLs: https, or http to loopback only", test_receiver_urls);
	CU_add_test(s, "a push accepted (202), a duplicate written once", test_push_accepted);
	CU_add_test(s, "a push failing: 500, closed, hung, refused", test_push_failures);
	CU_add_test(s, "a push to nobody: unavailable", test_push_no_listener);
	CU_add_test(s, "a bearer token sent, never said", test_push_bearer);
	CU_add_test(s, "a push over TLS, verified", test_push_https);
	return test_run_all() ? 1 : 0;
}
