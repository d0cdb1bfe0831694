/* SPDX-License-Identifier: BSD-3-Clause */
/* The registry's enforcement tables (schema 7, issue 16): device
 * certificates, sessions, acted-on compliance, the outbox, audit notes and
 * the data version; on SQLite files, and (TPA_TEST_PG: a libpq URI,
 * tests/integration/test_registry_pg.sh) on a PostgreSQL server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tpa/audit.h"
#include "tpa/err.h"
#include "tpa/store.h"

static char dir[] = "/tmp/tpa-store-enforce-XXXXXX";

static const char *ID1 = "1111111111111111111111111111111111111111111111111111111111111111";
static const char *ID2 = "2222222222222222222222222222222222222222222222222222222222222222";
static const char *ID3 = "3333333333333333333333333333333333333333333333333333333333333333";
static const char *SHA_A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *SHA_B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
static const uint8_t EK[] = { 1, 2, 3 }, CERT[] = { 0x30, 0 }, AKP[] = { 9, 9 };

static const char *pg;                   /* TPA_TEST_PG: PostgreSQL, this URI */
static unsigned sqlite_only;

static int pg_sql(const char *where, const char *sql)
{
	return test_pg_sql(where, sql, NULL);
}

/* The registry called name: a file in dir, or a schema of its own. */
static tpa_store *open_file(const char *name, char *p, size_t cap)
{
	tpa_store *s = NULL;

	if (pg)
		test_pg_registry(p, cap, "e", name);
	else
		snprintf(p, cap, "%s/%s", dir, name);
	CU_ASSERT_EQUAL(tpa_store_open(&s, p), 0);
	return s;
}

/* SQL on the file beside the API: on PostgreSQL counted, not run (the
 * ones that matter have their own there). */
static int run_py(const char *db, const char *code)
{
	if (pg) {
		sqlite_only++;
		return 0;
	}
	return test_run_py(dir, db, "", code);
}

static void enroll(tpa_store *s, const char *id, const char *ak, int64_t now)
{
	CU_ASSERT_EQUAL(tpa_store_enroll(s, id, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
					 sizeof(AKP), ak, NULL, 0, now), 0);
}

static size_t audits(tpa_store *s)
{
	size_t n = 0;

	CU_ASSERT_EQUAL(tpa_store_audit_count(&n, s, NULL), 0);
	return n;
}

/* The last audit row, copied. */
typedef struct {
	char device[TPA_DEVICE_ID_LEN + 1];
	char event[64];
	char detail[1100];
	int rows;
} last_row;

static int keep_last(void *ctx, const tpa_audit_row *r)
{
	last_row *l = ctx;

	snprintf(l->device, sizeof(l->device), "%.*s", (int)r->device_id_len,
		 r->device_id ? r->device_id : "");
	snprintf(l->event, sizeof(l->event), "%.*s", (int)r->event_len, r->event);
	snprintf(l->detail, sizeof(l->detail), "%.*s", (int)r->detail_len, r->detail);
	l->rows++;
	return 0;
}

static last_row last_audit(tpa_store *s)
{
	last_row l;

	memset(&l, 0, sizeof(l));
	CU_ASSERT_EQUAL(tpa_store_audit_rows(s, 0, 0, keep_last, &l), 0);
	return l;
}

static void verify_chain(tpa_store *s)
{
	tpa_audit_report r;

	CU_ASSERT_EQUAL(tpa_audit_verify(&r, s, NULL, NULL), 0);
	CU_ASSERT(r.intact);
	CU_ASSERT_EQUAL((size_t)r.rows, audits(s));
}

static tpa_device_cert cert(const char *issuer, const char *serial, const char *id,
			    const char *sha)
{
	tpa_device_cert c;

	memset(&c, 0, sizeof(c));
	snprintf(c.issuer, sizeof(c.issuer), "%s", issuer);
	snprintf(c.serial, sizeof(c.serial), "%s", serial);
	snprintf(c.device_id, sizeof(c.device_id), "%s", id);
	snprintf(c.sha256, sizeof(c.sha256), "%s", sha);
	c.not_after = 2000000000;
	return c;
}

static void test_certs(void)
{
	char p[300];
	tpa_store *s = open_file("certs.db", p, sizeof(p));
	tpa_device_cert c, got, *all = NULL;
	size_t n = 0, before;
	last_row l;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	enroll(s, ID1, "000b0001", 10);
	enroll(s, ID2, "000b0002", 10);
	c = cert("/C=DE/O=Example/CN=Enterprise CA", "01a2", ID1, SHA_A);
	CU_ASSERT_EQUAL(tpa_store_cert_bind(s, &c, 20), 0);
	l = last_audit(s);
	CU_ASSERT_STRING_EQUAL(l.event, "cert-bind");
	CU_ASSERT_STRING_EQUAL(l.device, ID1);
	CU_ASSERT(strstr(l.detail, "01a2") != NULL);
	CU_ASSERT(strstr(l.detail, "CN=Enterprise CA") != NULL);
	CU_ASSERT_EQUAL(tpa_store_cert_find(&got, s, c.issuer, "01a2"), 0);
	CU_ASSERT_STRING_EQUAL(got.device_id, ID1);
	CU_ASSERT_STRING_EQUAL(got.sha256, SHA_A);
	CU_ASSERT_EQUAL(got.not_after, 2000000000);
	CU_ASSERT_EQUAL(got.added_at, 20);
	/* The same device again replaces the row. */
	snprintf(c.sha256, sizeof(c.sha256), "%s", SHA_B);
	c.not_after = 2100000000;
	CU_ASSERT_EQUAL(tpa_store_cert_bind(s, &c, 30), 0);
	CU_ASSERT_EQUAL(tpa_store_cert_find(&got, s, c.issuer, "01a2"), 0);
	CU_ASSERT_STRING_EQUAL(got.sha256, SHA_B);
	CU_ASSERT_EQUAL(got.not_after, 2100000000);
	CU_ASSERT_EQUAL(got.added_at, 30);
	/* Another device: a conflict; no such device: not found; nothing
	 * written either way. */
	before = audits(s);
	snprintf(c.device_id, sizeof(c.device_id), "%s", ID2);
	CU_ASSERT_EQUAL(tpa_store_cert_bind(s, &c, 40), TPA_ERR_CONFLICT);
	CU_ASSERT(strstr(tpa_err_last(), "another device") != NULL);
	snprintf(c.device_id, sizeof(c.device_id), "%s", ID3);
	snprintf(c.serial, sizeof(c.serial), "ff");
	CU_ASSERT_EQUAL(tpa_store_cert_bind(s, &c, 40), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_cert_find(&got, s, c.issuer, "01a2"), 0);
	CU_ASSERT_STRING_EQUAL(got.device_id, ID1);
	CU_ASSERT_EQUAL(tpa_store_cert_find(&got, s, c.issuer, "ff"), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(audits(s), before);

	/* Bounds: every field, each refused before anything is written. */
	c = cert("", "02", ID2, SHA_A);
	memset(c.issuer, 'I', TPA_CERT_ISSUER_MAX);
	c.issuer[TPA_CERT_ISSUER_MAX] = '\0';
	CU_ASSERT_EQUAL(tpa_store_cert_bind(s, &c, 50), 0);    /* 512 bytes: the largest */
	CU_ASSERT_EQUAL(tpa_store_cert_unbind(s, c.issuer, "02", 51), 0);
	{
		char big[TPA_CERT_ISSUER_MAX + 2];
		tpa_device_cert b = cert("CN=x", "02", ID2, SHA_A);

		memset(big, 'I', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		CU_ASSERT_EQUAL(tpa_store_cert_find(&got, s, big, "02"), TPA_ERR_INVALID_ARG);
		CU_ASSERT(strstr(tpa_err_last(), "issuer") != NULL);
		CU_ASSERT_EQUAL(tpa_store_cert_unbind(s, big, "02", 51), TPA_ERR_INVALID_ARG);
		before = audits(s);
		snprintf(b.serial, sizeof(b.serial), "abc");            /* odd */
		CU_ASSERT_EQUAL(tpa_store_cert_bind(s, &b, 52), TPA_ERR_INVALID_ARG);
		CU_ASSERT(strstr(tpa_err_last(), "serial") != NULL);
		snprintf(b.serial, sizeof(b.serial), "AB");             /* upper-case */
		CU_ASSERT_EQUAL(tpa_store_cert_bind(s, &b, 52), TPA_ERR_INVALID_ARG);
		snprintf(b.serial, sizeof(b.serial), "%s", "");         /* empty */
		CU_ASSERT_EQUAL(tpa_store_cert_bind(s, &b, 52), TPA_ERR_INVALID_ARG);
		memset(b.serial, 'a', TPA_CERT_SERIAL_MAX);             /* 64: the largest */
		b.serial[TPA_CERT_SERIAL_MAX] = '\0';
		CU_ASSERT_EQUAL(tpa_store_cert_bind(s, &b, 52), 0);
		CU_ASSERT_EQUAL(tpa_store_cert_find(&got, s, "CN=x", b.serial), 0);
		CU_ASSERT_EQUAL(tpa_store_cert_unbind(s, "CN=x", b.serial, 52), 0);
		before = audits(s);
		CU_ASSERT_EQUAL(tpa_store_cert_find(&got, s, "CN=x", "0g"), TPA_ERR_INVALID_ARG);
		b = cert("CN=\x01x", "02", ID2, SHA_A);                 /* not printable */
		CU_ASSERT_EQUAL(tpa_store_cert_bind(s, &b, 52), TPA_ERR_INVALID_ARG);
		b = cert("CN=caf\xc3\xa9", "02", ID2, SHA_A);           /* not ASCII */
		CU_ASSERT_EQUAL(tpa_store_cert_bind(s, &b, 52), TPA_ERR_INVALID_ARG);
		b = cert("CN=x", "02", ID2, "AAAA");
		CU_ASSERT_EQUAL(tpa_store_cert_bind(s, &b, 52), TPA_ERR_INVALID_ARG);
		CU_ASSERT(strstr(tpa_err_last(), "sha256") != NULL);
		b = cert("CN=x", "02", "12345", SHA_A);
		CU_ASSERT_EQUAL(tpa_store_cert_bind(s, &b, 52), TPA_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(tpa_store_cert_bind(s, NULL, 52), TPA_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(audits(s), before);
	}

	/* Lists: a device's, everyone's by device. */
	c = cert("CN=Other CA", "0b", ID2, SHA_A);
	CU_ASSERT_EQUAL(tpa_store_cert_bind(s, &c, 60), 0);
	c = cert("CN=Other CA", "0a", ID1, SHA_A);
	CU_ASSERT_EQUAL(tpa_store_cert_bind(s, &c, 60), 0);
	CU_ASSERT_EQUAL(tpa_store_cert_list(&all, &n, s, ID1), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(all[0].issuer, "/C=DE/O=Example/CN=Enterprise CA");
	CU_ASSERT_STRING_EQUAL(all[1].serial, "0a");
	free(all);
	CU_ASSERT_EQUAL(tpa_store_cert_list(&all, &n, s, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(all[2].device_id, ID2);
	free(all);
	CU_ASSERT_EQUAL(tpa_store_cert_list(&all, &n, s, ID3), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(all);
	CU_ASSERT_EQUAL(tpa_store_cert_list(&all, &n, s, "nope"), TPA_ERR_INVALID_ARG);

	/* Unbind: audited, then not found. */
	CU_ASSERT_EQUAL(tpa_store_cert_unbind(s, "CN=Other CA", "0a", 70), 0);
	l = last_audit(s);
	CU_ASSERT_STRING_EQUAL(l.event, "cert-unbind");
	CU_ASSERT_STRING_EQUAL(l.device, ID1);
	CU_ASSERT_EQUAL(tpa_store_cert_unbind(s, "CN=Other CA", "0a", 71), TPA_ERR_NOT_FOUND);

	/* Gone with their device: an active one deleted, and a revoked one
	 * (which leaves a tombstone). */
	CU_ASSERT_EQUAL(tpa_store_remove(s, ID1, 80), 0);
	CU_ASSERT_EQUAL(tpa_store_cert_find(&got, s, "/C=DE/O=Example/CN=Enterprise CA", "01a2"),
			TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_set_state(s, ID2, TPA_DEVICE_REVOKED, 81), 0);
	CU_ASSERT_EQUAL(tpa_store_cert_find(&got, s, "CN=Other CA", "0b"), 0);
	CU_ASSERT_EQUAL(tpa_store_remove(s, ID2, 82), 0);
	CU_ASSERT_EQUAL(tpa_store_tombstoned(s, ID2), 1);
	CU_ASSERT_EQUAL(tpa_store_cert_find(&got, s, "CN=Other CA", "0b"), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_cert_list(&all, &n, s, NULL), 0);
	CU_ASSERT_EQUAL(n, 0);
	verify_chain(s);
	tpa_store_close(s);

	/* The schema refuses what the checks refuse, whoever writes. */
	CU_ASSERT_EQUAL(run_py(p,
		"c.execute(\"INSERT INTO devices(id, ek_public, state, enrolled_at) VALUES('%s',"
		" x'01', 'active', 1)\" % ('4' * 64))\n"
		"bad = 0\n"
		"for serial, issuer in (('abc', 'CN=x'), ('AB', 'CN=x'), ('01', 'CN=\\x01'),"
		" ('01', 'I' * 513), ('0' * 66, 'CN=x')):\n"
		"    try:\n"
		"        c.execute('INSERT INTO device_certs VALUES(?, ?, ?, ?, 1, 1)',"
		" (issuer, serial, '4' * 64, 'a' * 64))\n"
		"    except sqlite3.IntegrityError:\n"
		"        bad += 1\n"
		"c.execute('INSERT INTO device_certs VALUES(?, ?, ?, ?, 1, 1)',"
		" ('I' * 512, 'ab', '4' * 64, 'a' * 64))\n"
		"sys.exit(0 if bad == 5 else 1)"), 0);
}

static tpa_session session(const char *nas, const char *sid, const char *id)
{
	tpa_session se;

	memset(&se, 0, sizeof(se));
	snprintf(se.nas_ip, sizeof(se.nas_ip), "%s", nas);
	snprintf(se.session_id, sizeof(se.session_id), "%s", sid);
	snprintf(se.device_id, sizeof(se.device_id), "%s", id);
	snprintf(se.nas_port, sizeof(se.nas_port), "port-1");
	snprintf(se.calling_station, sizeof(se.calling_station), "02-00-00-00-00-01");
	snprintf(se.user_name, sizeof(se.user_name), "host/laptop");
	return se;
}

static void test_sessions(void)
{
	char p[300], sid[32];
	tpa_store *s = open_file("sessions.db", p, sizeof(p));
	tpa_session se, *all = NULL;
	size_t n = 0, before, i;
	last_row l;
	int found1 = 0, found2 = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	enroll(s, ID1, "000b0001", 10);
	enroll(s, ID2, "000b0002", 10);
	/* 16 sessions, then an Interim-Update of the first: no audit row,
	 * started_at kept, the rest replaced. */
	before = audits(s);
	for (i = 1; i <= 16; i++) {
		snprintf(sid, sizeof(sid), "s%02zu", i);
		se = session("192.0.2.1", sid, ID1);
		CU_ASSERT_EQUAL(tpa_store_session_put(s, &se, 100 + (int64_t)i), 0);
	}
	CU_ASSERT_EQUAL(audits(s), before + 16);
	l = last_audit(s);
	CU_ASSERT_STRING_EQUAL(l.event, "session-start");
	CU_ASSERT_STRING_EQUAL(l.device, ID1);
	CU_ASSERT(strstr(l.detail, "192.0.2.1") && strstr(l.detail, "s16"));
	se = session("192.0.2.1", "s01", ID1);
	snprintf(se.nas_port, sizeof(se.nas_port), "port-9");
	CU_ASSERT_EQUAL(tpa_store_session_put(s, &se, 120), 0);
	CU_ASSERT_EQUAL(audits(s), before + 16);
	/* The 17th drops the least recently updated: s02 (s01 was updated). */
	se = session("192.0.2.1", "s17", ID1);
	CU_ASSERT_EQUAL(tpa_store_session_put(s, &se, 130), 0);
	CU_ASSERT_EQUAL(audits(s), before + 17);
	CU_ASSERT(strstr(last_audit(s).detail, "dropped") != NULL);
	CU_ASSERT_EQUAL(tpa_store_sessions(&all, &n, s, ID1), 0);
	CU_ASSERT_EQUAL_FATAL(n, TPA_SESSIONS_PER_DEVICE_MAX);
	for (i = 0; i < n; i++) {
		CU_ASSERT(strcmp(all[i].session_id, "s02") != 0);
		if (strcmp(all[i].session_id, "s01") == 0) {
			found1 = 1;
			CU_ASSERT_EQUAL(all[i].started_at, 101);
			CU_ASSERT_EQUAL(all[i].updated_at, 120);
			CU_ASSERT_STRING_EQUAL(all[i].nas_port, "port-9");
			CU_ASSERT_STRING_EQUAL(all[i].calling_station, "02-00-00-00-00-01");
			CU_ASSERT_STRING_EQUAL(all[i].user_name, "host/laptop");
			CU_ASSERT_STRING_EQUAL(all[i].nas_identifier, "");
		}
	}
	CU_ASSERT(found1);
	/* Oldest first. */
	CU_ASSERT_STRING_EQUAL(all[0].session_id, "s01");
	CU_ASSERT_STRING_EQUAL(all[n - 1].session_id, "s17");
	free(all);

	/* A session id the NAS gives again to another device: replaced, a new
	 * start. The cap is per device: ID2's does not touch ID1's. */
	se = session("192.0.2.1", "s03", ID2);
	CU_ASSERT_EQUAL(tpa_store_session_put(s, &se, 140), 0);
	l = last_audit(s);
	CU_ASSERT_STRING_EQUAL(l.event, "session-start");
	CU_ASSERT_STRING_EQUAL(l.device, ID2);
	CU_ASSERT_EQUAL(tpa_store_sessions(&all, &n, s, ID2), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(all[0].started_at, 140);
	free(all);
	CU_ASSERT_EQUAL(tpa_store_sessions(&all, &n, s, ID1), 0);
	CU_ASSERT_EQUAL(n, TPA_SESSIONS_PER_DEVICE_MAX - 1);
	free(all);
	CU_ASSERT_EQUAL(tpa_store_sessions(&all, &n, s, NULL), 0);
	CU_ASSERT_EQUAL(n, TPA_SESSIONS_PER_DEVICE_MAX);
	free(all);
	/* The same session id at another NAS is another session. */
	se = session("192.0.2.2", "s03", ID2);
	CU_ASSERT_EQUAL(tpa_store_session_put(s, &se, 141), 0);

	/* Refused: no such device (not found), fields out of bounds; nothing
	 * written. */
	before = audits(s);
	se = session("192.0.2.1", "x", ID3);
	CU_ASSERT_EQUAL(tpa_store_session_put(s, &se, 150), TPA_ERR_NOT_FOUND);
	se = session("192.0.2.1", "", ID1);
	CU_ASSERT_EQUAL(tpa_store_session_put(s, &se, 150), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "session id") != NULL);
	se = session("", "x", ID1);
	CU_ASSERT_EQUAL(tpa_store_session_put(s, &se, 150), TPA_ERR_INVALID_ARG);
	se = session("192.0.2.1", "x", ID1);
	memset(se.user_name, 'u', TPA_SESSION_FIELD_MAX);
	se.user_name[TPA_SESSION_FIELD_MAX] = '\0';
	CU_ASSERT_EQUAL(tpa_store_session_put(s, &se, 150), 0);         /* 253: the largest */
	CU_ASSERT_EQUAL(tpa_store_session_stop(s, "192.0.2.1", "x", 150), 0);
	before = audits(s);
	se = session("192.0.2.1", "x", ID1);
	se.calling_station[3] = '\n';
	CU_ASSERT_EQUAL(tpa_store_session_put(s, &se, 150), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "calling station") != NULL);
	se = session("192.0.2.1", "x", "not-an-id");
	CU_ASSERT_EQUAL(tpa_store_session_put(s, &se, 150), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_session_put(s, NULL, 150), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_sessions(&all, &n, s, "x"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(audits(s), before);

	/* Stop: audited with the session's device, then not found. */
	CU_ASSERT_EQUAL(tpa_store_session_stop(s, "192.0.2.1", "s01", 160), 0);
	l = last_audit(s);
	CU_ASSERT_STRING_EQUAL(l.event, "session-stop");
	CU_ASSERT_STRING_EQUAL(l.device, ID1);
	CU_ASSERT(strstr(l.detail, "s01") != NULL);
	CU_ASSERT_EQUAL(tpa_store_session_stop(s, "192.0.2.1", "s01", 161), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_session_stop(s, "192.0.2.9", "s03", 161), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_session_stop(s, "192.0.2.1", "", 161), TPA_ERR_INVALID_ARG);

	/* A deleted device's sessions stay, to be disconnected. */
	CU_ASSERT_EQUAL(tpa_store_remove(s, ID2, 170), 0);
	CU_ASSERT_EQUAL(tpa_store_sessions(&all, &n, s, ID2), 0);
	CU_ASSERT_EQUAL(n, 2);
	for (i = 0; i < n; i++)
		found2 += strcmp(all[i].device_id, ID2) == 0;
	CU_ASSERT_EQUAL(found2, 2);
	free(all);
	CU_ASSERT_EQUAL(tpa_store_session_stop(s, "192.0.2.2", "s03", 171), 0);
	verify_chain(s);
	tpa_store_close(s);
}

static tpa_outbox_item item(const char *kind, const char *target, const char *id,
			    const char *body, int64_t next_at)
{
	tpa_outbox_item it;

	memset(&it, 0, sizeof(it));
	snprintf(it.kind, sizeof(it.kind), "%s", kind);
	snprintf(it.target, sizeof(it.target), "%s", target);
	snprintf(it.device_id, sizeof(it.device_id), "%s", id);
	it.body = (char *)body;
	it.next_at = next_at;
	return it;
}

static tpa_notified state(const char *id, int compliant, const char *reason)
{
	tpa_notified nt;

	memset(&nt, 0, sizeof(nt));
	snprintf(nt.device_id, sizeof(nt.device_id), "%s", id);
	nt.compliant = compliant;
	snprintf(nt.reason, sizeof(nt.reason), "%s", reason);
	return nt;
}

static size_t outbox_n(tpa_store *s, const char *kind, const char *target)
{
	size_t n = 99;

	CU_ASSERT_EQUAL(tpa_store_outbox_count(&n, s, kind, target), 0);
	return n;
}

static void test_notify_commit(void)
{
	char p[300], *big;
	tpa_store *s = open_file("notify.db", p, sizeof(p));
	tpa_notified nt, *all = NULL;
	tpa_outbox_item it[3];
	size_t n = 0, before;
	last_row l;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	enroll(s, ID1, "000b0001", 10);
	nt = state(ID1, 0, "revoked");
	it[0] = item("caep", "https://rx.example/events", ID1, "eyJ.eyJ.sig", 100);
	it[1] = item("radius", "192.0.2.1:3799", ID1, "{\"session\": \"s01\"}\n", 100);
	CU_ASSERT_EQUAL(tpa_store_notify_commit(s, &nt, it, 2, 100), 0);
	l = last_audit(s);
	CU_ASSERT_STRING_EQUAL(l.event, "compliance-change");
	CU_ASSERT_STRING_EQUAL(l.device, ID1);
	CU_ASSERT_STRING_EQUAL(l.detail, "not-compliant: revoked; 2 deliveries");
	CU_ASSERT_EQUAL(tpa_store_notified_list(&all, &n, s), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(all[0].device_id, ID1);
	CU_ASSERT_EQUAL(all[0].compliant, 0);
	CU_ASSERT_STRING_EQUAL(all[0].reason, "revoked");
	CU_ASSERT_EQUAL(all[0].at, 100);
	free(all);
	CU_ASSERT_EQUAL(outbox_n(s, "caep", NULL), 1);
	CU_ASSERT_EQUAL(outbox_n(s, "radius", "192.0.2.1:3799"), 1);
	CU_ASSERT_EQUAL(outbox_n(s, "radius", "192.0.2.2:3799"), 0);

	/* Compliant again, nothing to deliver: replaces the row. */
	nt = state(ID1, 1, "");
	CU_ASSERT_EQUAL(tpa_store_notify_commit(s, &nt, NULL, 0, 110), 0);
	CU_ASSERT_STRING_EQUAL(last_audit(s).detail, "compliant; 0 deliveries");
	CU_ASSERT_EQUAL(tpa_store_notified_list(&all, &n, s), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(all[0].compliant, 1);
	CU_ASSERT_STRING_EQUAL(all[0].reason, "");
	CU_ASSERT_EQUAL(all[0].at, 110);
	free(all);

	/* All or nothing: an invalid item (any field), or a state out of
	 * bounds, is refused naming it, and nothing is written. */
	before = audits(s);
	nt = state(ID2, 0, "attestation failed");
	it[0] = item("caep", "https://rx.example/events", ID2, "eyJ.eyJ.sig", 120);
	it[1] = item("smtp", "mail.example", ID2, "x", 120);
	CU_ASSERT_EQUAL(tpa_store_notify_commit(s, &nt, it, 2, 120), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "item 2") && strstr(tpa_err_last(), "kind"));
	it[1] = item("radius", "", ID2, "x", 120);
	CU_ASSERT_EQUAL(tpa_store_notify_commit(s, &nt, it, 2, 120), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "target") != NULL);
	it[1] = item("radius", "192.0.2.1", "ID2", "x", 120);
	CU_ASSERT_EQUAL(tpa_store_notify_commit(s, &nt, it, 2, 120), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "device id") != NULL);
	it[1] = item("radius", "192.0.2.1", ID2, "", 120);
	CU_ASSERT_EQUAL(tpa_store_notify_commit(s, &nt, it, 2, 120), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "body") != NULL);
	it[1] = item("radius", "192.0.2.1", ID2, "bell\a", 120);
	CU_ASSERT_EQUAL(tpa_store_notify_commit(s, &nt, it, 2, 120), TPA_ERR_INVALID_ARG);
	big = malloc(TPA_OUTBOX_BODY_MAX + 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'b', TPA_OUTBOX_BODY_MAX + 1);
	big[TPA_OUTBOX_BODY_MAX + 1] = '\0';
	it[1] = item("radius", "192.0.2.1", ID2, big, 120);
	CU_ASSERT_EQUAL(tpa_store_notify_commit(s, &nt, it, 2, 120), TPA_ERR_INVALID_ARG);
	it[1].body = NULL;
	CU_ASSERT_EQUAL(tpa_store_notify_commit(s, &nt, it, 2, 120), TPA_ERR_INVALID_ARG);
	it[1] = item("radius", "192.0.2.1", ID2, "x", 120);
	nt.reason[0] = '\x7f';
	CU_ASSERT_EQUAL(tpa_store_notify_commit(s, &nt, it, 2, 120), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "reason") != NULL);
	nt = state("nope", 0, "x");
	CU_ASSERT_EQUAL(tpa_store_notify_commit(s, &nt, it, 2, 120), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_notify_commit(s, NULL, it, 2, 120), TPA_ERR_INVALID_ARG);
	nt = state(ID2, 0, "x");
	CU_ASSERT_EQUAL(tpa_store_notify_commit(s, &nt, NULL, 1, 120), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(audits(s), before);
	CU_ASSERT_EQUAL(tpa_store_notified_list(&all, &n, s), 0);
	CU_ASSERT_EQUAL(n, 1);
	free(all);
	CU_ASSERT_EQUAL(outbox_n(s, "caep", NULL) + outbox_n(s, "radius", NULL), 2);

	/* The largest body fits. */
	big[TPA_OUTBOX_BODY_MAX] = '\0';
	it[1] = item("radius", "192.0.2.1", ID2, big, 120);
	nt = state(ID2, 0, "big");
	CU_ASSERT_EQUAL(tpa_store_notify_commit(s, &nt, it + 1, 1, 120), 0);
	CU_ASSERT_EQUAL(outbox_n(s, "radius", "192.0.2.1"), 1);
	CU_ASSERT_STRING_EQUAL(last_audit(s).detail, "not-compliant: big; 1 delivery");
	free(big);

	/* A write that fails half-way (the second item, refused by the file)
	 * rolls back the state, the first item and the audit row. */
	if (pg)
		CU_ASSERT_EQUAL(pg_sql(p, "ALTER TABLE outbox ADD CONSTRAINT boom CHECK(target "
				       "<> 'boom')"), 0);
	CU_ASSERT_EQUAL(run_py(p, "c.execute(\"CREATE TRIGGER boom BEFORE INSERT ON outbox WHEN"
			       " NEW.target = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END\")"), 0);
	before = audits(s);
	nt = state(ID3, 0, "revoked");
	it[0] = item("caep", "https://rx.example/events", ID3, "eyJ.eyJ.sig", 130);
	it[1] = item("radius", "boom", ID3, "x", 130);
	CU_ASSERT_EQUAL(tpa_store_notify_commit(s, &nt, it, 2, 130), TPA_ERR_IO);
	CU_ASSERT_EQUAL(audits(s), before);
	CU_ASSERT_EQUAL(tpa_store_notified_list(&all, &n, s), 0);
	CU_ASSERT_EQUAL(n, 2);              /* ID1 and ID2, not ID3 */
	free(all);
	CU_ASSERT_EQUAL(outbox_n(s, "caep", NULL), 1);
	CU_ASSERT_EQUAL(run_py(p, "c.execute('DROP TRIGGER boom')"), 0);
	if (pg)
		CU_ASSERT_EQUAL(pg_sql(p, "ALTER TABLE outbox DROP CONSTRAINT boom"), 0);

	/* A device gone: its row is removed, the deliveries still join. */
	nt = state(ID2, 0, "deleted");
	it[0] = item("caep", "https://rx.example/events", ID2, "eyJ.eyJ.sig", 140);
	CU_ASSERT_EQUAL(tpa_store_notify_commit(s, &nt, it, 1, 140), 0);
	CU_ASSERT_STRING_EQUAL(last_audit(s).detail, "not-compliant: deleted; 1 delivery");
	CU_ASSERT_EQUAL(tpa_store_notified_list(&all, &n, s), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(all[0].device_id, ID1);
	free(all);
	CU_ASSERT_EQUAL(outbox_n(s, "caep", NULL), 2);
	verify_chain(s);
	tpa_store_close(s);
}

static void test_outbox(void)
{
	char p[300], err[400];
	tpa_store *s = open_file("outbox.db", p, sizeof(p));
	tpa_notified nt = state(ID1, 0, "revoked");
	tpa_outbox_item it[5], *due = NULL;
	size_t n = 0, before, i;
	int64_t next = -1, id0;
	last_row l;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_outbox_next(&next, s, "caep", NULL), 0);
	CU_ASSERT_EQUAL(next, 0);
	CU_ASSERT_EQUAL(tpa_store_outbox_due(&due, &n, s, "caep", NULL, 1000, 10), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NULL(due);
	it[0] = item("caep", "https://a.example/", ID1, "one", 200);
	it[1] = item("caep", "https://b.example/", ID1, "two", 100);
	it[2] = item("caep", "https://a.example/", ID1, "three", 150);
	it[3] = item("radius", "192.0.2.1:3799", ID1, "four", 50);
	it[4] = item("caep", "https://a.example/", ID1, "five", 300);
	CU_ASSERT_EQUAL(tpa_store_notify_commit(s, &nt, it, 5, 10), 0);

	/* Due: of the kind, next_at <= now, oldest (first added) first, up to
	 * max, of a target or any. */
	CU_ASSERT_EQUAL(tpa_store_outbox_due(&due, &n, s, "caep", NULL, 200, 10), 0);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(due[0].body, "one");
	CU_ASSERT_STRING_EQUAL(due[1].body, "two");
	CU_ASSERT_STRING_EQUAL(due[2].body, "three");
	CU_ASSERT(due[0].id < due[1].id && due[1].id < due[2].id);
	CU_ASSERT_STRING_EQUAL(due[0].kind, "caep");
	CU_ASSERT_STRING_EQUAL(due[0].target, "https://a.example/");
	CU_ASSERT_STRING_EQUAL(due[0].device_id, ID1);
	CU_ASSERT_EQUAL(due[0].created_at, 10);
	CU_ASSERT_EQUAL(due[0].next_at, 200);
	CU_ASSERT_EQUAL(due[0].attempts, 0);
	CU_ASSERT_STRING_EQUAL(due[0].last_error, "");
	id0 = due[0].id;
	tpa_outbox_items_free(due, n);
	CU_ASSERT_EQUAL(tpa_store_outbox_due(&due, &n, s, "caep", NULL, 200, 2), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(due[1].body, "two");
	tpa_outbox_items_free(due, n);
	CU_ASSERT_EQUAL(tpa_store_outbox_due(&due, &n, s, "caep", "https://a.example/", 160, 10), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(due[0].body, "three");
	tpa_outbox_items_free(due, n);
	CU_ASSERT_EQUAL(tpa_store_outbox_due(&due, &n, s, "caep", NULL, 99, 10), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(tpa_store_outbox_due(&due, &n, s, "radius", NULL, 1000, 0), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);                  /* max 0: all */
	CU_ASSERT_STRING_EQUAL(due[0].body, "four");
	tpa_outbox_items_free(due, n);
	CU_ASSERT_EQUAL(tpa_store_outbox_due(&due, &n, s, "smtp", NULL, 1000, 1),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_outbox_due(&due, &n, s, "caep", "bad\ttarget", 1000, 1),
			TPA_ERR_INVALID_ARG);
	tpa_outbox_items_free(NULL, 0);

	/* Next: the earliest next_at, of a target or any. */
	CU_ASSERT_EQUAL(tpa_store_outbox_next(&next, s, "caep", NULL), 0);
	CU_ASSERT_EQUAL(next, 100);
	CU_ASSERT_EQUAL(tpa_store_outbox_next(&next, s, "caep", "https://a.example/"), 0);
	CU_ASSERT_EQUAL(next, 150);
	CU_ASSERT_EQUAL(tpa_store_outbox_next(&next, s, "radius", NULL), 0);
	CU_ASSERT_EQUAL(next, 50);
	CU_ASSERT_EQUAL(tpa_store_outbox_next(&next, s, "radius", "192.0.2.9:3799"), 0);
	CU_ASSERT_EQUAL(next, 0);
	CU_ASSERT_EQUAL(outbox_n(s, "caep", "https://a.example/"), 3);

	/* Retry: attempts + 1, next_at, the error kept printable and bounded;
	 * not audited. */
	before = audits(s);
	memset(err, 'e', sizeof(err) - 1);
	err[sizeof(err) - 1] = '\0';
	memcpy(err, "HTTP 503\n\x01", 10);
	CU_ASSERT_EQUAL(tpa_store_outbox_retry(s, id0, 400, err), 0);
	CU_ASSERT_EQUAL(tpa_store_outbox_retry(s, id0, 500, "timeout"), 0);
	CU_ASSERT_EQUAL(tpa_store_outbox_retry(s, id0, 600, err), 0);
	CU_ASSERT_EQUAL(audits(s), before);
	CU_ASSERT_EQUAL(tpa_store_outbox_due(&due, &n, s, "caep", "https://a.example/", 600, 10), 0);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	for (i = 0; i < n && due[i].id != id0; i++)
		;
	CU_ASSERT_FATAL(i < n);
	CU_ASSERT_EQUAL(due[i].attempts, 3);
	CU_ASSERT_EQUAL(due[i].next_at, 600);
	CU_ASSERT_EQUAL(strlen(due[i].last_error), TPA_OUTBOX_ERROR_MAX);
	CU_ASSERT(strncmp(due[i].last_error, "HTTP 503??eee", 13) == 0);
	tpa_outbox_items_free(due, n);
	CU_ASSERT_EQUAL(tpa_store_outbox_retry(s, 9999, 1, "x"), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_outbox_retry(s, 0, 1, "x"), TPA_ERR_INVALID_ARG);

	/* Done: removed and audited (the event, the result, the item's
	 * device); a second time not found. */
	CU_ASSERT_EQUAL(tpa_store_outbox_done(s, id0, "caep-delivered", "HTTP 202", 700), 0);
	l = last_audit(s);
	CU_ASSERT_STRING_EQUAL(l.event, "caep-delivered");
	CU_ASSERT_STRING_EQUAL(l.detail, "HTTP 202");
	CU_ASSERT_STRING_EQUAL(l.device, ID1);
	CU_ASSERT_EQUAL(audits(s), before + 1);
	CU_ASSERT_EQUAL(tpa_store_outbox_done(s, id0, "caep-delivered", "HTTP 202", 701),
			TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(outbox_n(s, "caep", "https://a.example/"), 2);
	CU_ASSERT_EQUAL(tpa_store_outbox_done(s, id0 + 1, "Caep", "x", 701), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_outbox_done(s, id0 + 1, "", "x", 701), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_outbox_done(s, id0 + 1,
					      "a-very-long-event-name-beyond-32-chars", "x", 701),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(audits(s), before + 1);
	CU_ASSERT_EQUAL(tpa_store_outbox_done(s, id0 + 1, "caep-gave-up", "no\nreceiver", 702), 0);
	CU_ASSERT_STRING_EQUAL(last_audit(s).detail, "no?receiver");
	CU_ASSERT_EQUAL(outbox_n(s, "caep", NULL), 2);
	verify_chain(s);
	tpa_store_close(s);
}

static void test_audit_note_and_data_version(void)
{
	char p[300], detail[1026];
	tpa_store *a = open_file("version.db", p, sizeof(p)), *b = NULL;
	tpa_session se;
	int64_t v0 = 0, v1 = 0, v2 = 0;
	size_t before;
	last_row l;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	enroll(a, ID1, "000b0001", 10);
	CU_ASSERT_EQUAL(tpa_store_audit_note(a, ID1, "radius-coa-sent", "NAS 192.0.2.1", 20), 0);
	l = last_audit(a);
	CU_ASSERT_STRING_EQUAL(l.event, "radius-coa-sent");
	CU_ASSERT_STRING_EQUAL(l.device, ID1);
	CU_ASSERT_STRING_EQUAL(l.detail, "NAS 192.0.2.1");
	CU_ASSERT_EQUAL(tpa_store_audit_note(a, NULL, "caep-stream", "", 21), 0);
	CU_ASSERT_STRING_EQUAL(last_audit(a).device, "");
	before = audits(a);
	CU_ASSERT_EQUAL(tpa_store_audit_note(a, NULL, "Bad", "x", 22), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_audit_note(a, NULL, "bad_event", "x", 22), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_audit_note(a, NULL, NULL, "x", 22), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_audit_note(a, "1234", "note", "x", 22), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_audit_note(a, NULL, "note", "tab\there", 22),
			TPA_ERR_INVALID_ARG);
	memset(detail, 'd', sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';              /* 1025 bytes */
	CU_ASSERT_EQUAL(tpa_store_audit_note(a, NULL, "note", detail, 22), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(audits(a), before);
	detail[1024] = '\0';
	CU_ASSERT_EQUAL(tpa_store_audit_note(a, NULL, "note", detail, 22), 0);

	/* The data version moves when another handle commits, not for this
	 * one's own writes or for reads. */
	CU_ASSERT_EQUAL_FATAL(tpa_store_open(&b, p), 0);
	CU_ASSERT_EQUAL(tpa_store_data_version(&v0, a), 0);
	CU_ASSERT_EQUAL(tpa_store_data_version(&v1, a), 0);
	CU_ASSERT_EQUAL(v0, v1);
	CU_ASSERT_EQUAL(tpa_store_audit_note(a, NULL, "note", "own", 23), 0);
	se = session("192.0.2.1", "s1", ID1);
	CU_ASSERT_EQUAL(tpa_store_session_put(a, &se, 23), 0);
	CU_ASSERT_EQUAL(audits(a), before + 3);
	CU_ASSERT_EQUAL(tpa_store_data_version(&v1, a), 0);
	/* PostgreSQL's number moves with this store's own commits too (it is
	 * the registry's, not the connection's): a watcher looks once more. */
	if (pg)
		v0 = v1;
	CU_ASSERT_EQUAL(v0, v1);
	CU_ASSERT_EQUAL(audits(b), before + 3);          /* b reads */
	CU_ASSERT_EQUAL(tpa_store_data_version(&v1, a), 0);
	CU_ASSERT_EQUAL(v0, v1);
	CU_ASSERT_EQUAL(tpa_store_audit_note(b, NULL, "note", "other", 24), 0);
	CU_ASSERT_EQUAL(tpa_store_data_version(&v1, a), 0);
	CU_ASSERT_NOT_EQUAL(v0, v1);
	CU_ASSERT_EQUAL(tpa_store_data_version(&v2, a), 0);
	CU_ASSERT_EQUAL(v1, v2);
	CU_ASSERT_EQUAL(tpa_store_session_stop(b, "192.0.2.1", "s1", 25), 0);
	CU_ASSERT_EQUAL(tpa_store_data_version(&v2, a), 0);
	CU_ASSERT_NOT_EQUAL(v1, v2);
	CU_ASSERT_EQUAL(tpa_store_data_version(NULL, a), TPA_ERR_INVALID_ARG);
	/* The size another handle sees grows with what b commits (the WAL's
	 * pages count before a checkpoint), in whole pages. */
	{
		int64_t n0 = -1, n1 = -1;
		int i;

		CU_ASSERT_EQUAL(tpa_store_bytes(&n0, a), 0);
		CU_ASSERT(n0 > 0 && n0 % 512 == 0);
		/* PostgreSQL counts a table's pages as they are written out:
		 * a checkpoint makes them so. */
		for (i = 0; i < 200; i++)
			CU_ASSERT_EQUAL(tpa_store_audit_note(b, NULL, "note", detail, 26), 0);
		if (pg)
			CU_ASSERT_EQUAL(pg_sql(p, "CHECKPOINT"), 0);
		CU_ASSERT_EQUAL(tpa_store_bytes(&n1, a), 0);
		CU_ASSERT(n1 >= n0 + 200 * 1024);
		CU_ASSERT_EQUAL(tpa_store_bytes(NULL, a), TPA_ERR_INVALID_ARG);
	}
	verify_chain(a);
	tpa_store_close(b);
	tpa_store_close(a);
	CU_ASSERT_EQUAL(tpa_store_data_version(&v0, NULL), TPA_ERR_INVALID_ARG);
}

/* A schema-6 registry (the current schema without what 7 adds, as the
 * verifier before it left its files) migrates to 7 (and on) keeping everything;
 * check, backup and restore carry the new tables; check refuses a schema 7
 * without them. */
static void test_migrate_v6_check_backup(void)
{
	char p[300], bak[300], target[300];
	tpa_store *s = open_file("v6.db", p, sizeof(p));
	tpa_store_check_report r;
	tpa_device_cert c, got;
	tpa_device d;
	tpa_audit_report ar;
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	enroll(s, ID1, "000b0001", 10);
	CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "lab", 11), 0);
	tpa_store_close(s);
	CU_ASSERT_EQUAL_FATAL(run_py(p,
		"for t in ('device_certs', 'sessions', 'notified', 'outbox'):\n"
		"    c.execute('DROP TABLE ' + t)\n"
		"c.execute('DELETE FROM schema_version WHERE version >= 7')"), 0);
	CU_ASSERT_EQUAL(tpa_store_check_file(&r, p), 0);
	CU_ASSERT_EQUAL(r.schema_version, 6);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
	CU_ASSERT_EQUAL(tpa_store_check(&r, s), 0);
	CU_ASSERT_EQUAL(r.schema_version, TPA_STORE_SCHEMA_VERSION);
	CU_ASSERT_EQUAL(r.devices, 1);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(d.label, "lab");
	CU_ASSERT_EQUAL(tpa_audit_verify(&ar, s, NULL, NULL), 0);
	CU_ASSERT_EQUAL(ar.rows, 2);
	c = cert("CN=CA", "01", ID1, SHA_A);
	CU_ASSERT_EQUAL(tpa_store_cert_bind(s, &c, 20), 0);
	CU_ASSERT_EQUAL(audits(s), 3);

	/* A backup holds them; restored, they are there. */
	snprintf(bak, sizeof(bak), "%s/v7.bak", dir);
	snprintf(target, sizeof(target), "%s/v7-restored.db", dir);
	CU_ASSERT_EQUAL(tpa_store_backup(s, bak), 0);
	tpa_store_close(s);
	CU_ASSERT_EQUAL(run_py(p,
		"v = [r[0] for r in c.execute('SELECT version FROM schema_version ORDER BY version')]\n"
		"names = {r[0] for r in c.execute('SELECT name FROM sqlite_master')}\n"
		"need = {'device_certs', 'device_certs_device', 'sessions', 'sessions_device',\n"
		"        'notified', 'outbox', 'outbox_due'}\n"
		"sys.exit(0 if v == [1, 2, 3, 4, 5, 6, 7, 8] and need <= names else 1)"), 0);
	CU_ASSERT_EQUAL(tpa_store_restore(&r, target, bak, 0), 0);
	CU_ASSERT_EQUAL(r.schema_version, TPA_STORE_SCHEMA_VERSION);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_existing(&s, target), 0);
	CU_ASSERT_EQUAL(tpa_store_cert_find(&got, s, "CN=CA", "01"), 0);
	CU_ASSERT_STRING_EQUAL(got.device_id, ID1);
	CU_ASSERT_EQUAL(tpa_store_audit_count(&n, s, NULL), 0);
	CU_ASSERT_EQUAL(n, 3);
	tpa_store_close(s);

	/* Schema 7 without its tables is not a registry check passes. */
	CU_ASSERT_EQUAL_FATAL(run_py(target, "c.execute('DROP TABLE outbox')"), 0);
	CU_ASSERT_EQUAL(tpa_store_check_file(&r, target), TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), "outbox") != NULL);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;
	char cmd[300];

	if (!mkdtemp(dir))
		return 2;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	pg = test_pg();
	s = CU_add_suite(pg ? "store: enforcement (schema 7, PostgreSQL)" :
			 "store: enforcement (schema 7)", NULL, NULL);
	CU_add_test(s, "device certificates: bind, conflict, bounds, list, unbind, cascade",
		    test_certs);
	CU_add_test(s, "sessions: start, interim update, the cap, another device, stop",
		    test_sessions);
	CU_add_test(s, "notify commit: state, deliveries, audit; all or nothing", test_notify_commit);
	CU_add_test(s, "outbox: due, next, count, retry, done", test_outbox);
	CU_add_test(s, "audit notes; the data version moves with other handles' commits",
		    test_audit_note_and_data_version);
	if (!pg)
		CU_add_test(s, "schema 6 migrates on; check, backup, restore",
			    test_migrate_v6_check_backup);
	failed = test_run_all();
	if (pg)
		printf("test_store_enforce: %u checks of the SQLite file's own SQL not run on "
		       "PostgreSQL\n", sqlite_only);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_store_enforce: cannot remove %s\n", dir);
	return failed ? 1 : 0;
}
