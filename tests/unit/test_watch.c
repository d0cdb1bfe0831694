/* SPDX-License-Identifier: BSD-3-Clause */
/* What continuous enforcement reads (lib/watch.c, lib/http.c's Class): the
 * --radius-das and --caep-receiver settings, the outbox items as the
 * registry gives them back, and the RADIUS Class FreeRADIUS echoes. The
 * watcher itself acts on a real registry, NAS and receiver in
 * tests/integration/test_enforce.sh and test_8021x.sh; here, on a real
 * registry and a NAS that never answers, the race of an accounting Start
 * with the watcher's own look. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <openssl/crypto.h>

#include "testutil.h"
#include "tpa/err.h"
#include "tpa/http.h"
#include "tpa/store.h"
#include "tpa/watch.h"

static char dir[] = "/tmp/tpa-watch-XXXXXX";

static const char *file(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_das(void)
{
	tpa_watch_das d;
	char spec[512];
	const char *secret = file("secret", "s3cret-value\n");

	snprintf(spec, sizeof(spec), "127.0.0.1,%s", secret);
	CU_ASSERT_EQUAL(tpa_watch_das_parse(&d, spec), 0);
	CU_ASSERT_STRING_EQUAL(d.nas_ip, "127.0.0.1");
	CU_ASSERT_STRING_EQUAL(d.addr, "127.0.0.1:3799");
	CU_ASSERT_EQUAL(d.secret_len, 12);
	CU_ASSERT_EQUAL(memcmp(d.secret, "s3cret-value", 12), 0);
	snprintf(spec, sizeof(spec), "10.0.0.2:1700,%s", secret);
	CU_ASSERT_EQUAL(tpa_watch_das_parse(&d, spec), 0);
	CU_ASSERT_STRING_EQUAL(d.nas_ip, "10.0.0.2");
	CU_ASSERT_STRING_EQUAL(d.addr, "10.0.0.2:1700");
	snprintf(spec, sizeof(spec), "[2001:db8::1]:3799,%s", secret);
	CU_ASSERT_EQUAL(tpa_watch_das_parse(&d, spec), 0);
	CU_ASSERT_STRING_EQUAL(d.nas_ip, "2001:db8::1");
	CU_ASSERT_STRING_EQUAL(d.addr, "[2001:db8::1]:3799");
	snprintf(spec, sizeof(spec), "[2001:db8::1],%s", secret);
	CU_ASSERT_EQUAL(tpa_watch_das_parse(&d, spec), 0);
	CU_ASSERT_STRING_EQUAL(d.addr, "[2001:db8::1]:3799");

	/* Refused, by name. */
	CU_ASSERT_EQUAL(tpa_watch_das_parse(&d, "127.0.0.1"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_watch_das_parse(&d, ",x"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_watch_das_parse(&d, "127.0.0.1,"), TPA_ERR_INVALID_ARG);
	snprintf(spec, sizeof(spec), "127.0.0.1:0,%s", secret);
	CU_ASSERT_EQUAL(tpa_watch_das_parse(&d, spec), TPA_ERR_INVALID_ARG);
	snprintf(spec, sizeof(spec), "127.0.0.1:65536,%s", secret);
	CU_ASSERT_EQUAL(tpa_watch_das_parse(&d, spec), TPA_ERR_INVALID_ARG);
	snprintf(spec, sizeof(spec), "127.0.0.1:12x,%s", secret);
	CU_ASSERT_EQUAL(tpa_watch_das_parse(&d, spec), TPA_ERR_INVALID_ARG);
	snprintf(spec, sizeof(spec), "[::1,%s", secret);
	CU_ASSERT_EQUAL(tpa_watch_das_parse(&d, spec), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_watch_das_parse(&d, "127.0.0.1,/nonexistent/secret"),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "/nonexistent/secret") != NULL);
	snprintf(spec, sizeof(spec), "127.0.0.1,%s", file("empty", "\n"));
	CU_ASSERT_EQUAL(tpa_watch_das_parse(&d, spec), TPA_ERR_INVALID_ARG);
	snprintf(spec, sizeof(spec), "127.0.0.1,%s", file("ctl", "a\tb\n"));
	CU_ASSERT_EQUAL(tpa_watch_das_parse(&d, spec), TPA_ERR_INVALID_ARG);
	/* The secret is never in a message. */
	CU_ASSERT(strstr(tpa_err_last(), "a\tb") == NULL);
}

static void test_receiver(void)
{
	tpa_watch_receiver r;
	char spec[512];

	CU_ASSERT_EQUAL(tpa_watch_receiver_parse(&r, "https://idp.example/caep"), 0);
	CU_ASSERT_STRING_EQUAL(r.url, "https://idp.example/caep");
	CU_ASSERT_STRING_EQUAL(r.aud, "");
	CU_ASSERT_PTR_NULL(r.bearer);
	tpa_watch_receiver_clear(&r);
	snprintf(spec, sizeof(spec), "http://127.0.0.1:8080/caep,aud=urn:x,bearer-file=%s,ca=/etc/ca.pem",
		 file("bearer", "tok-123\n"));
	CU_ASSERT_EQUAL(tpa_watch_receiver_parse(&r, spec), 0);
	CU_ASSERT_STRING_EQUAL(r.aud, "urn:x");
	CU_ASSERT_STRING_EQUAL(r.ca_file, "/etc/ca.pem");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r.bearer);
	CU_ASSERT_STRING_EQUAL(r.bearer, "tok-123");
	tpa_watch_receiver_clear(&r);
	CU_ASSERT_PTR_NULL(r.bearer);

	CU_ASSERT_EQUAL(tpa_watch_receiver_parse(&r, "ftp://idp/caep"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_watch_receiver_parse(&r, ""), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_watch_receiver_parse(&r, "https://idp/ caep"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_watch_receiver_parse(&r, "https://idp/caep,colour=red"),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "colour=red") != NULL);
	CU_ASSERT_EQUAL(tpa_watch_receiver_parse(&r, "https://idp/caep,aud="), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_watch_receiver_parse(&r, "https://idp/caep,bearer-file=/nonexistent"),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(r.bearer);
	snprintf(spec, sizeof(spec), "https://idp/caep,bearer-file=%s", file("sp", "a b\n"));
	CU_ASSERT_EQUAL(tpa_watch_receiver_parse(&r, spec), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "a b") == NULL);
}

static void test_session_json(void)
{
	tpa_session a, b;
	char *j = NULL;

	memset(&a, 0, sizeof(a));
	snprintf(a.nas_ip, sizeof(a.nas_ip), "%s", "127.0.0.1");
	snprintf(a.session_id, sizeof(a.session_id), "%s", "S-1 \"quoted\"");
	memset(a.device_id, 'a', TPA_DEVICE_ID_LEN);
	snprintf(a.nas_identifier, sizeof(a.nas_identifier), "%s", "sw1");
	snprintf(a.calling_station, sizeof(a.calling_station), "%s", "02-00-00-00-00-01");
	snprintf(a.user_name, sizeof(a.user_name), "%s", "dev1");
	CU_ASSERT_EQUAL_FATAL(tpa_watch_session_json(&j, &a), 0);
	CU_ASSERT_EQUAL(tpa_watch_session_from_json(&b, j), 0);
	CU_ASSERT_STRING_EQUAL(b.session_id, a.session_id);
	CU_ASSERT_STRING_EQUAL(b.nas_ip, a.nas_ip);
	CU_ASSERT_STRING_EQUAL(b.device_id, a.device_id);
	CU_ASSERT_STRING_EQUAL(b.user_name, "dev1");
	free(j);
	/* What a registry could hold instead. */
	CU_ASSERT_EQUAL(tpa_watch_session_from_json(&b, "[]"), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_watch_session_from_json(&b, "{\"nas_ip\":\"x\"}"), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_watch_session_from_json(&b, "{\"session_id\":7}"), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_watch_session_from_json(&b, "not json"), TPA_ERR_PARSE);
	{
		/* A field longer than its buffer is cut, never overrun. */
		char big[1200];

		snprintf(big, sizeof(big), "{\"session_id\":\"%0600d\",\"nas_ip\":\"%0200d\"}", 1, 2);
		CU_ASSERT_EQUAL(tpa_watch_session_from_json(&b, big), 0);
		CU_ASSERT_EQUAL(strlen(b.session_id), TPA_SESSION_FIELD_MAX);
		CU_ASSERT_EQUAL(strlen(b.nas_ip), sizeof(b.nas_ip) - 1);
	}
}

static void test_change_json(void)
{
	char jti[TPA_CAEP_JTI_LEN + 1], dev[TPA_DEVICE_ID_LEN + 1], why[TPA_CAEP_REASON_MAX + 1];
	tpa_caep_change c;

	CU_ASSERT_EQUAL(tpa_watch_change_from_json(&c, jti, dev, why,
		"{\"jti\":\"0123456789abcdef0123456789abcdef\",\"device_id\":\"ab\","
		"\"compliant\":false,\"previous\":1,\"reason\":\"revoked\",\"at\":1700000000}"), 0);
	CU_ASSERT_STRING_EQUAL(c.jti, "0123456789abcdef0123456789abcdef");
	CU_ASSERT_FALSE(c.compliant);
	CU_ASSERT_TRUE(c.have_previous);
	CU_ASSERT_TRUE(c.previous_compliant);
	CU_ASSERT_STRING_EQUAL(c.reason, "revoked");
	CU_ASSERT_EQUAL(c.event_timestamp, 1700000000);
	CU_ASSERT_EQUAL(tpa_watch_change_from_json(&c, jti, dev, why,
		"{\"jti\":\"x\",\"compliant\":true,\"previous\":-1}"), 0);
	CU_ASSERT_TRUE(c.compliant);
	CU_ASSERT_FALSE(c.have_previous);
	CU_ASSERT_EQUAL(tpa_watch_change_from_json(&c, jti, dev, why, "\"x\""), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_watch_change_from_json(&c, jti, dev, why, "{"), TPA_ERR_PARSE);
}

static void test_class(void)
{
	char id[TPA_DEVICE_ID_LEN + 1], v[300], hex[300];
	const char *dev = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	int admitted;
	size_t i;

	snprintf(v, sizeof(v), "tpa:%s:c", dev);
	CU_ASSERT_EQUAL(tpa_http_class_parse(id, &admitted, v), 0);
	CU_ASSERT_STRING_EQUAL(id, dev);
	CU_ASSERT_EQUAL(admitted, 1);
	/* As FreeRADIUS prints octets: 0x and hex, either case. */
	snprintf(hex, sizeof(hex), "%s", "0x");
	snprintf(v, sizeof(v), "tpa:%s:n", dev);
	for (i = 0; v[i]; i++)
		snprintf(hex + 2 + 2 * i, 3, "%02X", (unsigned char)v[i]);
	CU_ASSERT_EQUAL(tpa_http_class_parse(id, &admitted, hex), 0);
	CU_ASSERT_EQUAL(admitted, 0);
	/* Not ours, refused. */
	snprintf(v, sizeof(v), "tpa:%s:x", dev);
	CU_ASSERT_EQUAL(tpa_http_class_parse(id, &admitted, v), TPA_ERR_PARSE);
	snprintf(v, sizeof(v), "tpa:%.63s:c", dev);
	CU_ASSERT_EQUAL(tpa_http_class_parse(id, &admitted, v), TPA_ERR_PARSE);
	snprintf(v, sizeof(v), "tpb:%s:c", dev);
	CU_ASSERT_EQUAL(tpa_http_class_parse(id, &admitted, v), TPA_ERR_PARSE);
	snprintf(v, sizeof(v), "tpa:%.63sG:c", dev);
	CU_ASSERT_EQUAL(tpa_http_class_parse(id, &admitted, v), TPA_ERR_PARSE);
	snprintf(v, sizeof(v), "tpa:%.63sA:c", dev);   /* upper case is not an id */
	CU_ASSERT_EQUAL(tpa_http_class_parse(id, &admitted, v), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_http_class_parse(id, &admitted, "0x7"), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_http_class_parse(id, &admitted, "0xzz"), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_http_class_parse(id, &admitted, ""), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_http_class_parse(id, &admitted, NULL), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(admitted, -1);
	CU_ASSERT_STRING_EQUAL(id, "");
}

static void test_route(void)
{
	char id[TPA_DEVICE_ID_LEN + 1];

	CU_ASSERT_EQUAL(tpa_http_route_parse("/v1/radius/authorize", id),
			TPA_HTTP_ROUTE_RADIUS_AUTHORIZE);
	CU_ASSERT_EQUAL(tpa_http_route_parse("/v1/radius/accounting", id),
			TPA_HTTP_ROUTE_RADIUS_ACCOUNTING);
	CU_ASSERT_EQUAL(tpa_http_route_parse("/v1/radius/accounting/", id), TPA_HTTP_ROUTE_NONE);
	CU_ASSERT_EQUAL(tpa_http_route_parse("/v1/radius", id), TPA_HTTP_ROUTE_NONE);
	CU_ASSERT_EQUAL(tpa_http_route_parse("/v1/jwks", id), TPA_HTTP_ROUTE_JWKS);
	CU_ASSERT_EQUAL(tpa_http_route_parse("/v1/jwks.json", id), TPA_HTTP_ROUTE_NONE);
	CU_ASSERT_EQUAL(tpa_http_route_parse("/v1/jwks/", id), TPA_HTTP_ROUTE_NONE);
}


/* ---- the watcher on a real registry: a session reported before the
 * watcher has acted on its device's change ---- */

static const char *RID = "5555555555555555555555555555555555555555555555555555555555555555";

static void verdict_at(tpa_store *st, int compliant, int64_t at)
{
	tpa_attest_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.outcome = compliant ? "compliant" : "non-compliant";
	rec.baseline = "fleet@1";
	rec.token = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln";   /* what a compliant answer needs */
	rec.token_exp = at + 3600;
	CU_ASSERT_EQUAL(tpa_store_record(st, RID, compliant, compliant ? NULL : "PCR 7: not the "
					 "baseline's", &rec, at), 0);
}

static tpa_session session_of(const char *id)
{
	tpa_session se;

	memset(&se, 0, sizeof(se));
	snprintf(se.nas_ip, sizeof(se.nas_ip), "127.0.0.1");
	snprintf(se.session_id, sizeof(se.session_id), "%s", id);
	snprintf(se.device_id, sizeof(se.device_id), "%s", RID);
	return se;
}

/* The sessions the outbox owes a Disconnect-Request, as "S-a S-b " (in
 * the order queued). */
static void owed(char *out, size_t cap, tpa_store *st)
{
	tpa_outbox_item *v = NULL;
	size_t n = 0, i, k = 0;

	out[0] = '\0';
	CU_ASSERT_EQUAL(tpa_store_outbox_due(&v, &n, st, "radius", NULL, (int64_t)time(NULL) + 3600,
					     16), 0);
	for (i = 0; i < n; i++) {
		tpa_session se;

		if (tpa_watch_session_from_json(&se, v[i].body) == 0 && k < cap)
			k += (size_t)snprintf(out + k, cap - k, "%s ", se.session_id);
	}
	tpa_outbox_items_free(v, n);
}

static int notified_as(tpa_store *st, int *compliant)
{
	tpa_notified *nt = NULL;
	size_t n = 0;
	int found = 0;

	if (tpa_store_notified_list(&nt, &n, st) == 0 && n == 1) {
		*compliant = nt[0].compliant;
		found = 1;
	}
	free(nt);
	return found;
}

static void test_session_race(void)
{
	static const uint8_t EK[] = { 1, 2, 3 }, AKP[] = { 9, 9 };
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	char db[300], spec[600], got[256];
	tpa_store *st = NULL;
	tpa_watch *w = NULL;
	tpa_watch_opts o;
	tpa_watch_das das;
	tpa_session in = session_of("S-in"), q = session_of("S-q"), c = session_of("S-c");
	int64_t now = (int64_t)time(NULL);
	int fd, version, compliant = -1, i;

	/* The NAS: a socket that takes the requests and never answers. */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	CU_ASSERT_FATAL(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
	snprintf(spec, sizeof(spec), "127.0.0.1:%u,%s", (unsigned)ntohs(a.sin_port),
		 file("race.secret", "race-secret\n"));
	CU_ASSERT_EQUAL_FATAL(tpa_watch_das_parse(&das, spec), 0);

	snprintf(db, sizeof(db), "%s/race.db", dir);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&st, db), 0);
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&version, st, "fleet", "{\"tpa_baseline\": 1}",
					       now - 100), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll(st, RID, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000b5555", NULL, 0, now - 100), 0);

	/* A watcher that looks only when told (a tick of a minute): its first
	 * look records the device as not compliant (it never attested). */
	memset(&o, 0, sizeof(o));
	o.registry = db;
	tpa_staleness_default(&o.staleness);
	o.das = &das;
	o.ndas = 1;
	o.tick_ms = 60000;
	o.radius_tries = 1;
	o.radius_timeout_ms = 200;
	CU_ASSERT_EQUAL_FATAL(tpa_watch_start(&w, &o), 0);
	for (i = 0; i < 500 && !notified_as(st, &compliant); i++)
		usleep(10000);
	CU_ASSERT_EQUAL(compliant, 0);

	/* It attests compliant; the RADIUS server is told so (the authorize
	 * answer reads the registry) and the NAS's accounting Start comes
	 * before the watcher has looked: the session is let be. */
	verdict_at(st, 1, now - 3);
	CU_ASSERT_EQUAL(tpa_store_session_put(st, &in, now), 0);
	CU_ASSERT_EQUAL(tpa_watch_session(w, &in, 1), 0);
	CU_ASSERT(notified_as(st, &compliant) && compliant == 1);
	owed(got, sizeof(got), st);
	CU_ASSERT_STRING_EQUAL(got, "");

	/* It fails an attestation; a session let into the quarantine comes in
	 * before the watcher looked: the one let in compliant is ended, the
	 * quarantined one is let be. */
	verdict_at(st, 0, now - 2);
	CU_ASSERT_EQUAL(tpa_store_session_put(st, &q, now), 0);
	CU_ASSERT_EQUAL(tpa_watch_session(w, &q, 0), 0);
	CU_ASSERT(notified_as(st, &compliant) && compliant == 0);
	owed(got, sizeof(got), st);
	CU_ASSERT_STRING_EQUAL(got, "S-in ");

	/* Compliant again, a new session let in as such: the quarantined one is
	 * ended (to come back with its new standing), the new one let be. */
	verdict_at(st, 1, now - 1);
	CU_ASSERT_EQUAL(tpa_store_session_put(st, &c, now), 0);
	CU_ASSERT_EQUAL(tpa_watch_session(w, &c, 1), 0);
	owed(got, sizeof(got), st);
	CU_ASSERT(strstr(got, "S-q ") != NULL);
	CU_ASSERT(strstr(got, "S-c ") == NULL);

	/* A session let in compliant while the device is not (no change to act
	 * on): ended, as before. */
	verdict_at(st, 0, now);
	tpa_watch_kick(w);
	for (i = 0; i < 500 && !(notified_as(st, &compliant) && compliant == 0); i++)
		usleep(10000);
	{
		tpa_session late = session_of("S-late");

		CU_ASSERT_EQUAL(tpa_store_session_put(st, &late, now), 0);
		CU_ASSERT_EQUAL(tpa_watch_session(w, &late, 1), 0);
		owed(got, sizeof(got), st);
		CU_ASSERT(strstr(got, "S-late ") != NULL);
	}
	tpa_watch_stop(w);
	OPENSSL_cleanse(&das, sizeof(das));
	tpa_store_close(st);
	close(fd);
}

int main(void)
{
	CU_pSuite s;
	char cmd[128];
	unsigned failed;

	if (!mkdtemp(dir))
		return 1;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("continuous enforcement: what it reads", NULL, NULL);
	CU_add_test(s, "--radius-das: NAS, port, secret file; refusals", test_das);
	CU_add_test(s, "--caep-receiver: URL and options; refusals", test_receiver);
	CU_add_test(s, "a RADIUS outbox item back from the registry", test_session_json);
	CU_add_test(s, "a CAEP outbox item back from the registry", test_change_json);
	CU_add_test(s, "the RADIUS Class, plain and as FreeRADIUS prints it", test_class);
	CU_add_test(s, "the RADIUS and JWKS routes of the HTTP face", test_route);
	CU_add_test(s, "a session reported before the watcher acted: ended only if let in "
		    "with the other standing", test_session_race);
	failed = test_run_all();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		failed++;
	return failed ? 1 : 0;
}
