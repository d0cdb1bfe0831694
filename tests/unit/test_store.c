/* SPDX-License-Identifier: BSD-3-Clause */
/* The device registry on real files, and (TPA_TEST_PG set: a libpq URI of a
 * real PostgreSQL server, tests/integration/test_registry_pg.sh) the same
 * tests, but those only a file has, on PostgreSQL, with its own. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <sqlite3.h>

#include "testutil.h"
#include "tpa/audit.h"
#include "tpa/compliance.h"
#include "tpa/err.h"
#include "tpa/identity.h"
#include "tpa/seal.h"
#include "tpa/store.h"
#include "tpa/tpm_decode.h"

static char dir[] = "/tmp/tpa-store-XXXXXX";
static char path[1024];
static const char *pg;                   /* TPA_TEST_PG: PostgreSQL, this URI */

/* The registry called name: a file in dir, or a schema of its own on the
 * PostgreSQL server. */
static void registry_name(char *out, size_t cap, const char *name)
{
	if (pg)
		test_pg_registry(out, cap, "t", name);
	else
		snprintf(out, cap, "%s/%s", dir, name);
}

static int pg_sql_fails(const char *where, const char *sql, const char *expect)
{
	return test_pg_sql(where, sql, expect);
}

static const char *ID1 = "1111111111111111111111111111111111111111111111111111111111111111";
static const char *ID2 = "2222222222222222222222222222222222222222222222222222222222222222";
static const uint8_t EK[] = { 1, 2, 3 }, CERT[] = { 0x30, 0 }, AKP[] = { 9, 9 };

static tpa_store *open_store(void)
{
	tpa_store *s = NULL;

	CU_ASSERT_EQUAL(tpa_store_open(&s, path), 0);
	return s;
}

static void test_enroll_and_get(void)
{
	tpa_store *s = open_store();
	tpa_device d;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
					 sizeof(AKP), "000baaaa", NULL, 0, 100), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(d.id, ID1);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_ACTIVE);
	CU_ASSERT_EQUAL(d.enrolled_at, 100);
	CU_ASSERT_STRING_EQUAL(d.ak_name, "000baaaa");
	CU_ASSERT_EQUAL(tpa_store_find_by_ak(&d, s, "000baaaa"), 0);
	CU_ASSERT_STRING_EQUAL(d.id, ID1);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID2), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_find_by_ak(&d, s, "000bffff"), TPA_ERR_NOT_FOUND);
	/* A malformed id is refused before it reaches SQL. */
	CU_ASSERT_EQUAL(tpa_store_enroll(s, "1'; DROP TABLE devices; --", EK, sizeof(EK), NULL,
					 0, AKP, sizeof(AKP), "x", NULL, 0, 1), TPA_ERR_INVALID_ARG);
	tpa_store_close(s);
}

static void test_reenroll_adds_or_replaces_ak(void)
{
	tpa_store *s = open_store();
	tpa_device d;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	/* A second AK joins the first unless it replaces them. */
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
					 sizeof(AKP), "000bbbbb", NULL, 0, 150), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.naks, 2);
	CU_ASSERT_EQUAL(tpa_store_find_by_ak(&d, s, "000baaaa"), 0);
	CU_ASSERT_EQUAL(tpa_store_find_by_ak(&d, s, "000bbbbb"), 0);
	/* The same AK again changes nothing. */
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
					 sizeof(AKP), "000bbbbb", NULL, 0, 160), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.naks, 2);
	/* An AK of another device is a conflict, never moved or kept silently. */
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID2, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
					 sizeof(AKP), "000bbbbb", NULL, 0, 170), TPA_ERR_CONFLICT);
	CU_ASSERT(strstr(tpa_err_last(), "registered to another device") != NULL);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID2), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_find_by_ak(&d, s, "000bbbbb"), 0);
	CU_ASSERT_STRING_EQUAL(d.id, ID1);
	/* Replacing: the device holds the new AK alone. */
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
					 sizeof(AKP), "000bbbbb", NULL, 1, 200), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(d.ak_name, "000bbbbb");
	CU_ASSERT_EQUAL(d.naks, 1);
	CU_ASSERT_EQUAL(d.enrolled_at, 100);  /* first enrollment kept */
	/* The old AK is no longer the device's. */
	CU_ASSERT_EQUAL(tpa_store_find_by_ak(&d, s, "000baaaa"), TPA_ERR_NOT_FOUND);
	tpa_store_close(s);
}

static void test_revoke_record_list_delete(void)
{
	tpa_store *s = open_store();
	tpa_device d, *all = NULL;
	size_t n = 0, before = 0, after = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, NULL, 300), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.last_attest_at, 300);
	CU_ASSERT_STRING_EQUAL(d.last_verdict, "compliant");
	CU_ASSERT_EQUAL(tpa_store_set_state(s, ID1, TPA_DEVICE_REVOKED, 310), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_REVOKED);
	/* Enrolling again does not un-revoke. */
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000bbbbb", NULL, 0, 320), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_REVOKED);
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 0, "quote.nonce: wrong", NULL, 330), 0);
	CU_ASSERT_EQUAL(tpa_store_set_state(s, ID2, TPA_DEVICE_REVOKED, 1), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID2, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000bcccc", NULL, 0, 340), 0);
	CU_ASSERT_EQUAL(tpa_store_list(&all, &n, s), 0);
	CU_ASSERT_EQUAL(n, 2);
	if (n == 2) {
		CU_ASSERT_STRING_EQUAL(all[0].id, ID1);
		CU_ASSERT_STRING_EQUAL(all[1].ak_name, "000bcccc");
	}
	free(all);
	CU_ASSERT_EQUAL(tpa_store_audit_count(&before, s, ID1), 0);
	CU_ASSERT(before >= 5);
	CU_ASSERT_EQUAL(tpa_store_remove(s, ID1, 350), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_find_by_ak(&d, s, "000bbbbb"), TPA_ERR_NOT_FOUND);
	/* The audit of a deleted device stays, with its deletion. */
	CU_ASSERT_EQUAL(tpa_store_audit_count(&after, s, ID1), 0);
	CU_ASSERT_EQUAL(after, before + 1);
	CU_ASSERT_EQUAL(tpa_store_remove(s, ID1, 360), TPA_ERR_NOT_FOUND);
	tpa_store_close(s);
}

static void test_audit_append_only_and_persistent(void)
{
	char cmd[1600];
	tpa_store *s;
	tpa_device d;

	/* Reopened: everything committed is there. */
	s = open_store();
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID2), 0);
	tpa_store_close(s);
	/* The audit log refuses changes, even through SQL. */
	if (pg) {
		CU_ASSERT_EQUAL(pg_sql_fails(path, "DELETE FROM audit", "append-only"), 0);
		CU_ASSERT_EQUAL(pg_sql_fails(path, "UPDATE audit SET detail = 'x'", "append-only"), 0);
		CU_ASSERT_EQUAL(pg_sql_fails(path, "TRUNCATE audit", "append-only"), 0);
		return;
	}
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 -c \"import sqlite3,sys; c=sqlite3.connect('%s');"
		 "\ntry:\n c.execute('DELETE FROM audit'); c.commit(); sys.exit(1)"
		 "\nexcept sqlite3.DatabaseError as e: sys.exit(0 if 'append-only' in str(e) else 2)\"",
		 path);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static void test_bad_files(void)
{
	char p[300];
	tpa_store *s = NULL;
	FILE *f;

	/* Not a database. */
	snprintf(p, sizeof(p), "%s/garbage.db", dir);
	f = fopen(p, "w");
	fputs("this is not an SQLite database, just text long enough to look like a header",
	      f);
	fclose(f);
	CU_ASSERT_EQUAL(tpa_store_open_sqlite(&s, p), TPA_ERR_IO);
	CU_ASSERT(strstr(tpa_err_last(), "garbage.db") != NULL);
	/* A directory nobody can write into. */
	snprintf(p, sizeof(p), "%s/missing-dir/x.db", dir);
	CU_ASSERT_EQUAL(tpa_store_open_sqlite(&s, p), TPA_ERR_IO);
	/* A newer schema than ours. */
	{
		char cmd[512];

		snprintf(p, sizeof(p), "%s/future.db", dir);
		snprintf(cmd, sizeof(cmd),
			 "/usr/bin/python3 -c \"import sqlite3; c=sqlite3.connect('%s');"
			 " c.execute('CREATE TABLE schema_version(version INTEGER NOT NULL)');"
			 " c.execute('INSERT INTO schema_version VALUES(99)'); c.commit()\"", p);
		CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
		CU_ASSERT_EQUAL(tpa_store_open_sqlite(&s, p), TPA_ERR_IO);
		CU_ASSERT(strstr(tpa_err_last(), "newer") != NULL);
	}
	/* Another program's database: never made a registry (no tables
	 * added, not put in WAL mode), by serve or by an admin command. */
	{
		char cmd[600];

		snprintf(p, sizeof(p), "%s/foreign.db", dir);
		snprintf(cmd, sizeof(cmd),
			 "/usr/bin/python3 -c \"import sqlite3; c=sqlite3.connect('%s');"
			 " c.execute('CREATE TABLE contacts(name TEXT)'); c.commit()\"", p);
		CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
		CU_ASSERT_EQUAL(tpa_store_open_existing(&s, p), TPA_ERR_PARSE);
		CU_ASSERT(strstr(tpa_err_last(), "not a registry") != NULL);
		CU_ASSERT_EQUAL(tpa_store_open_sqlite(&s, p), TPA_ERR_PARSE);
		snprintf(cmd, sizeof(cmd),
			 "/usr/bin/python3 -c \"import sqlite3, sys; c=sqlite3.connect('%s');"
			 " t=[r[0] for r in c.execute(\\\"SELECT name FROM sqlite_master\\\")];"
			 " m=c.execute('PRAGMA journal_mode').fetchone()[0];"
			 " sys.exit(0 if t == ['contacts'] and m == 'delete' else 1)\"", p);
		CU_ASSERT_EQUAL(system(cmd), 0);
		/* An empty file: serve makes it a registry, an admin command not. */
		snprintf(p, sizeof(p), "%s/empty.db", dir);
		fclose(fopen(p, "w"));
		CU_ASSERT_EQUAL(tpa_store_open_existing(&s, p), TPA_ERR_NOT_FOUND);
		CU_ASSERT(strstr(tpa_err_last(), "is empty, not a registry") != NULL);
		CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
		tpa_store_close(s);
		s = NULL;
		CU_ASSERT_EQUAL_FATAL(tpa_store_open_existing(&s, p), 0);
		tpa_store_close(s);
		s = NULL;
	}
	tpa_store_close(NULL);
	CU_ASSERT_EQUAL(tpa_store_get(NULL, NULL, ID1), TPA_ERR_INVALID_ARG);
}

/* The registry holds the sealing key: created 0600, an older file that
 * others could read made 0600 with its WAL, a symbolic link refused. */
static void test_private_file(void)
{
	char p[300], q[300], wal[310];
	tpa_store *s = NULL;
	struct stat st;
	uint8_t key[TPA_SEAL_KEY_LEN];

	snprintf(p, sizeof(p), "%s/private.db", dir);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
	CU_ASSERT_EQUAL(tpa_store_seal_key(key, s), 0);
	tpa_store_close(s);
	CU_ASSERT_EQUAL_FATAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	snprintf(wal, sizeof(wal), "%s-wal", p);
	if (stat(wal, &st) == 0)
		CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	/* As an older verifier left it. */
	CU_ASSERT_EQUAL(chmod(p, 0644), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
	tpa_store_close(s);
	CU_ASSERT_EQUAL_FATAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	/* A symbolic link: refused, the file it points to untouched. */
	snprintf(q, sizeof(q), "%s/link.db", dir);
	CU_ASSERT_EQUAL_FATAL(symlink(p, q), 0);
	CU_ASSERT_EQUAL(tpa_store_open_sqlite(&s, q), TPA_ERR_IO);
	CU_ASSERT(strstr(tpa_err_last(), "symbolic link") != NULL);
	CU_ASSERT_EQUAL(unlink(q), 0);
	/* A dangling one is not followed to create a file either. */
	snprintf(wal, sizeof(wal), "%s/nothere.db", dir);
	CU_ASSERT_EQUAL_FATAL(symlink(wal, q), 0);
	CU_ASSERT_EQUAL(tpa_store_open_sqlite(&s, q), TPA_ERR_IO);
	CU_ASSERT_EQUAL(access(wal, F_OK), -1);
	CU_ASSERT_EQUAL(unlink(q), 0);
}

/* A registry that cannot be written: another process holds it locked, or
 * its WAL file cannot be created (a directory in its way stops root too).
 * The write fails with an error naming the file; nothing written is lost. */
static void test_unwritable(void)
{
	char p[300], cmd[1200], wal[320], ready[320];
	tpa_store *s = NULL;
	tpa_device d;
	int i;

	snprintf(p, sizeof(p), "%s/locked.db", dir);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
					 sizeof(AKP), "000b1111", NULL, 0, 10), 0);
	snprintf(ready, sizeof(ready), "%s/locked.ready", dir);
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 -c \"import sqlite3, time; c = sqlite3.connect('%s', "
		 "isolation_level=None); c.execute('BEGIN EXCLUSIVE'); open('%s', 'w').close(); "
		 "time.sleep(7); c.execute('ROLLBACK')\" &", p, ready);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	for (i = 0; i < 500 && access(ready, F_OK) != 0; i++)
		usleep(10000);
	CU_ASSERT_EQUAL_FATAL(access(ready, F_OK), 0);
	/* Locked past the busy timeout (5 s): a clear error. */
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID2, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
					 sizeof(AKP), "000b2222", NULL, 0, 20), TPA_ERR_IO);
	CU_ASSERT(strstr(tpa_err_last(), "locked.db") != NULL);
	CU_ASSERT(strstr(tpa_err_last(), "locked") != NULL);
	/* Once the lock is gone, what was there is there and writes work. */
	for (i = 0; i < 500; i++) {
		if (tpa_store_enroll(s, ID2, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
				     sizeof(AKP), "000b2222", NULL, 0, 30) == 0)
			break;
		usleep(10000);
	}
	CU_ASSERT(i < 500);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(d.ak_name, "000b1111");
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID2), 0);
	tpa_store_close(s);

	/* The WAL file cannot be created: opening fails, naming the file. */
	snprintf(wal, sizeof(wal), "%s-wal", p);
	unlink(wal);
	CU_ASSERT_EQUAL_FATAL(mkdir(wal, 0700), 0);
	s = NULL;
	CU_ASSERT(tpa_store_open_sqlite(&s, p) == TPA_ERR_IO);
	CU_ASSERT(strstr(tpa_err_last(), "locked.db") != NULL);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_EQUAL(rmdir(wal), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID2), 0);
	tpa_store_close(s);
	/* Without root, a read-only file: a clear error too. */
	if (geteuid() != 0) {
		CU_ASSERT_EQUAL(chmod(p, 0400), 0);
		s = NULL;
		if (tpa_store_open_sqlite(&s, p) == 0) {
			CU_ASSERT(tpa_store_set_state(s, ID1, TPA_DEVICE_REVOKED, 40) ==
				  TPA_ERR_IO);
			tpa_store_close(s);
		}
		chmod(p, 0600);
	}
}

/* ---- schema 2: golden baselines ---- */

static const char *ID3 = "3333333333333333333333333333333333333333333333333333333333333333";

/* Runs a python3 script (sqlite3 at hand, c a connection) on a registry
 * file: 0 if it exits 0. */
/* SQL on the file beside the store's API: on PostgreSQL, the few checks
 * that matter have their own (pg_sql_fails); these are counted, not run. */
static unsigned sqlite_only;

static int run_py(const char *db, const char *code)
{
	if (pg) {
		sqlite_only++;
		return 0;
	}
	return test_run_py(dir, db, "", code);
}

static tpa_store *open_file(const char *name, char *p, size_t cap)
{
	tpa_store *s = NULL;

	registry_name(p, cap, name);
	CU_ASSERT_EQUAL(tpa_store_open(&s, p), 0);
	return s;
}

/* A registry as schema version 1 created it (its DDL as it was), with a
 * revoked device, its AK and two audit entries. */
/* Real EK public areas (swtpm, template L-1), from tests/data/registry-v3. */
#define EKA_HEX \
	"0001000b000300b20020837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1" \
	"da1b331469aa00060080004300100800000000000100bfe3ea44ef50657c76d92ca60fc7" \
	"d635d0b3041424f9afd3b2dc2942b86e9224bf6b449b5dc391d7d6d73e811058e2019a8f" \
	"7e78587fb5fa97be93ac8dde3c873f1a22b3c73353f5b7d5fd71414ed796cf79ee88af5a" \
	"3235d3ace2361023f8c96670796858a3e1cc0d28c29a4774c6ec54ad3a6b2a8dda9b64dc" \
	"fcf5c97c8b2ee589b2da5bc124700a4249056b3a40edfdbcecd22d5f896876caa9c6700b" \
	"30d13ec45bf35691558793d634af723e5faea0c45b600b6671ab2c16593af03645f341d7" \
	"a94534346c11f057ac80a06f58cda178c4f2c8882e34f95c692ebd8deb047977375dc088" \
	"1fac9834a5a25532aa7ee25dd1253a45566f8ed77b07f860861f"
#define EKB_HEX \
	"0001000b000300b20020837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1" \
	"da1b331469aa00060080004300100800000000000100bd29fa5d3817d8c265baf594da50" \
	"d125ee48decd6eebbabf298003ce8ccce957ef8202422f3dad900f423398572aef8513a6" \
	"64c7f2432cbb834802f3762557de8a320b6420ebd9e911fffecc5c78aa5e8024b736da45" \
	"97361a8cc6aea121b52ee103404607c9473717a0ce9ffd6a4614fe3ba802218d6808575a" \
	"2285904982405edf5e72fed6d0314a000c46d1b30eeef069c5b696ffc79921793d102b29" \
	"ae9c000a0ffe9c1fe6b8cfa03930088a090bb60267df34fe00513a5c22af3e735f77709b" \
	"1c247b1374c24b75f22d175d18775f5719b00e321357c11adcd258cd607e0cfe3a843f0f" \
	"22636776cfa6b8af9ad65017814f3a711d9c9ab74b94f581f729"

/* The ids a schema 4 registry gives the devices of EKA_HEX and EKB_HEX. */
static char NEW1[TPA_DEVICE_ID_LEN + 1], NEW2[TPA_DEVICE_ID_LEN + 1];

static void new_ids(void)
{
	static const char *const hex[2] = { EKA_HEX, EKB_HEX };
	char *out[2] = { NEW1, NEW2 };
	uint8_t b[400];
	size_t i, k, n;

	for (k = 0; k < 2; k++) {
		n = strlen(hex[k]) / 2;
		for (i = 0; i < n && i < sizeof(b); i++)
			b[i] = (uint8_t)(tpa_hex_digit(hex[k][2 * i]) << 4 | tpa_hex_digit(hex[k][2 * i + 1]));
		CU_ASSERT_EQUAL(tpa_ek_device_id_of(out[k], b, n), 0);
	}
}

static const char *V1_FILE =
	"c.executescript('''\n"
	"CREATE TABLE schema_version(version INTEGER NOT NULL);\n"
	"CREATE TABLE devices( id TEXT PRIMARY KEY CHECK(length(id) = 64), ek_public BLOB NOT NULL,"
	" ek_cert BLOB, state TEXT NOT NULL CHECK(state IN ('active', 'revoked')),"
	" enrolled_at INTEGER NOT NULL, last_attest_at INTEGER, last_verdict TEXT);\n"
	"CREATE TABLE aks( name TEXT PRIMARY KEY,"
	" device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
	" public BLOB NOT NULL, registered_at INTEGER NOT NULL);\n"
	"CREATE INDEX aks_device ON aks(device_id);\n"
	"CREATE TABLE audit( seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,"
	" device_id TEXT, event TEXT NOT NULL, detail TEXT NOT NULL);\n"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	" BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;\n"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	" BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;\n"
	"INSERT INTO schema_version(version) VALUES(1);\n"
	"INSERT INTO devices VALUES('1111111111111111111111111111111111111111111111111111111111111111',"
	" x'" EKA_HEX "', NULL, 'revoked', 50, 60, 'non-compliant');\n"
	"INSERT INTO aks VALUES('000b5555',"
	" '1111111111111111111111111111111111111111111111111111111111111111', x'0909', 50);\n"
	"INSERT INTO audit(at, device_id, event, detail) VALUES(50,"
	" '1111111111111111111111111111111111111111111111111111111111111111', 'enroll',"
	" 'AK 000b5555...');\n"
	"INSERT INTO audit(at, device_id, event, detail) VALUES(60,"
	" '1111111111111111111111111111111111111111111111111111111111111111', 'attest',"
	" 'non-compliant');\n"
	"''')\n";

static void test_migrate_v1(void)
{
	char p[300], code[4096];
	tpa_audit_report r;
	tpa_store *s = NULL;
	tpa_device d;
	size_t n = 0;
	int v = 0;

	snprintf(p, sizeof(p), "%s/v1.db", dir);
	snprintf(code, sizeof(code), "%s", V1_FILE);
	CU_ASSERT_EQUAL_FATAL(run_py(p, code), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
	new_ids();
	/* Devices, AKs and audit kept; the new fields empty; the device under
	 * the id its EK's key gives, the old id an alias. */
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(d.id, NEW1);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_REVOKED);
	CU_ASSERT_EQUAL(d.enrolled_at, 50);
	CU_ASSERT_EQUAL(d.last_attest_at, 60);
	CU_ASSERT_STRING_EQUAL(d.last_verdict, "non-compliant");
	CU_ASSERT_STRING_EQUAL(d.ak_name, "000b5555");
	CU_ASSERT_STRING_EQUAL(d.label, "");
	CU_ASSERT_STRING_EQUAL(d.last_outcome, "");
	CU_ASSERT_STRING_EQUAL(d.last_baseline, "");
	CU_ASSERT_EQUAL(tpa_store_find_by_ak(&d, s, "000b5555"), 0);
	CU_ASSERT_STRING_EQUAL(d.id, NEW1);
	/* Its audit: the old entries (under the old id) and the migration. */
	CU_ASSERT_EQUAL(tpa_store_audit_count(&n, s, ID1), 0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(tpa_store_audit_count(&n, s, NEW1), 0);
	CU_ASSERT_EQUAL(n, 3);
	/* The audit rows there were, and the migration's, are chained. */
	CU_ASSERT_EQUAL(tpa_audit_verify(&r, s, NULL, NULL), 0);
	CU_ASSERT_EQUAL(r.rows, 3);
	/* The new tables work on the migrated file. */
	CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "lab", 70), 0);
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, "b1", "{}", 70), 0);
	CU_ASSERT_EQUAL(tpa_store_assign(s, "label", "lab", "b1", 70), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(d.label, "lab");
	/* ... and what is written after it links on. */
	CU_ASSERT_EQUAL(tpa_audit_verify(&r, s, NULL, NULL), 0);
	CU_ASSERT_EQUAL(r.rows, 6);
	tpa_store_close(s);
	CU_ASSERT_EQUAL(run_py(p,
		"v = [r[0] for r in c.execute('SELECT version FROM schema_version ORDER BY version')]\n"
		"names = {r[0] for r in c.execute('SELECT name FROM sqlite_master')}\n"
		"need = {'devices', 'aks', 'aks_device', 'audit', 'audit_no_update', 'audit_no_delete',\n"
		"        'baselines', 'assignments', 'evidence', 'baselines_no_update',\n"
		"        'baselines_no_delete', 'devices_delete_assignment', 'device_aliases',\n"
		"        'used_seals', 'secrets', 'audit_heads', 'audit_chained',\n"
		"        'audit_heads_no_update', 'audit_heads_no_delete',\n"
		"        'tombstones', 'inventory', 'devices_hostname',\n"
		"        'device_certs', 'device_certs_device', 'sessions', 'sessions_device',\n"
		"        'notified', 'outbox', 'outbox_due'}\n"
		"ok = c.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'\n"
		"a = [r[0] for r in c.execute('SELECT event FROM audit ORDER BY seq')]\n"
		"sys.exit(0 if v == [1, 2, 3, 4, 5, 6, 7, 8] and need <= names and ok and"
		" a[:3] == ['enroll', 'attest', 'migrate'] else 1)"), 0);
	/* Opened again: already at 5, nothing migrated twice. */
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
	tpa_store_close(s);
	CU_ASSERT_EQUAL(run_py(p, "sys.exit(0 if c.execute('SELECT count(*) FROM schema_version')"
			       ".fetchone()[0] == 8 and c.execute('SELECT count(*) FROM audit WHERE "
			       "event = \\'migrate\\'').fetchone()[0] == 1 else 1)"), 0);

	/* A migration that fails half-way leaves the file at 1, untouched. */
	snprintf(p, sizeof(p), "%s/v1-stuck.db", dir);
	snprintf(code, sizeof(code), "%sc.execute('CREATE TABLE evidence(x)'); c.commit()\n",
		 V1_FILE);
	CU_ASSERT_EQUAL_FATAL(run_py(p, code), 0);
	s = NULL;
	CU_ASSERT_EQUAL(tpa_store_open_sqlite(&s, p), TPA_ERR_IO);
	CU_ASSERT(strstr(tpa_err_last(), "v1-stuck.db") != NULL);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_EQUAL(run_py(p,
		"v = c.execute('SELECT max(version) FROM schema_version').fetchone()[0]\n"
		"cols = [r[1] for r in c.execute('PRAGMA table_info(devices)')]\n"
		"t = {r[0] for r in c.execute(\"SELECT name FROM sqlite_master WHERE type = 'table'\")}\n"
		"sys.exit(0 if v == 1 and 'label' not in cols and 'baselines' not in t else 1)"), 0);

	/* A new file goes to the current version at once, through every one. */
	s = open_file("new.db", p, sizeof(p));
	tpa_store_close(s);
	CU_ASSERT_EQUAL(run_py(p, "v = [r[0] for r in c.execute('SELECT version FROM schema_version"
			       " ORDER BY version')]\nsys.exit(0 if v == [1, 2, 3, 4, 5, 6, 7, 8] else 1)"), 0);
}

static void test_baseline_add_get_list(void)
{
	char p[300], *body = NULL;
	tpa_store *s = open_file("baselines.db", p, sizeof(p));
	tpa_baseline_info *all = NULL;
	size_t n = 9, before = 0, after = 0;
	int v = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_baseline_list(&all, &n, s), 0);
	CU_ASSERT_EQUAL(n, 0);
	free(all);
	CU_ASSERT_EQUAL(tpa_store_audit_count(&before, s, NULL), 0);
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, "web.prod", "{\"v\": 1}", 100), 0);
	CU_ASSERT_EQUAL(v, 1);
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, "web.prod", "{\"v\": 2}", 110), 0);
	CU_ASSERT_EQUAL(v, 2);
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, "DB_1-a", "{\"db\": true}", 120), 0);
	CU_ASSERT_EQUAL(v, 1);
	CU_ASSERT_EQUAL(tpa_store_audit_count(&after, s, NULL), 0);
	CU_ASSERT_EQUAL(after, before + 3);
	/* The latest, a given version, none. */
	v = 0;
	CU_ASSERT_EQUAL(tpa_store_baseline_get(&body, &v, s, "web.prod", 0), 0);
	CU_ASSERT(body && strcmp(body, "{\"v\": 2}") == 0);
	CU_ASSERT_EQUAL(v, 2);
	free(body);
	CU_ASSERT_EQUAL(tpa_store_baseline_get(&body, &v, s, "web.prod", 1), 0);
	CU_ASSERT(body && strcmp(body, "{\"v\": 1}") == 0);
	CU_ASSERT_EQUAL(v, 1);
	free(body);
	CU_ASSERT_EQUAL(tpa_store_baseline_get(&body, NULL, s, "web.prod", 3), TPA_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(body);
	CU_ASSERT(strstr(tpa_err_last(), "web.prod@3") != NULL);
	CU_ASSERT_EQUAL(tpa_store_baseline_get(&body, NULL, s, "nope", 0), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_baseline_get(&body, NULL, s, "web.prod", -1),
			TPA_ERR_INVALID_ARG);
	/* Every name with its latest version, by name. */
	CU_ASSERT_EQUAL(tpa_store_baseline_list(&all, &n, s), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(all[0].name, "DB_1-a");
	CU_ASSERT_EQUAL(all[0].version, 1);
	CU_ASSERT_EQUAL(all[0].added_at, 120);
	CU_ASSERT_STRING_EQUAL(all[1].name, "web.prod");
	CU_ASSERT_EQUAL(all[1].version, 2);
	CU_ASSERT_EQUAL(all[1].added_at, 110);
	free(all);
	tpa_store_close(s);
}

static void test_baseline_append_only(void)
{
	char p[1024];

	registry_name(p, sizeof(p), "baselines.db");
	if (pg) {
		CU_ASSERT_EQUAL(pg_sql_fails(p, "UPDATE baselines SET body = 'x'", "append-only"), 0);
		CU_ASSERT_EQUAL(pg_sql_fails(p, "DELETE FROM baselines", "append-only"), 0);
		CU_ASSERT_EQUAL(pg_sql_fails(p, "SELECT 1/(count(*) - 3) FROM baselines",
					     "division by zero"), 0);
		return;
	}
	CU_ASSERT_EQUAL(run_py(p,
		"for sql in (\"UPDATE baselines SET body = 'x'\", 'DELETE FROM baselines'):\n"
		"    try:\n"
		"        c.execute(sql); c.commit(); sys.exit(1)\n"
		"    except sqlite3.DatabaseError as e:\n"
		"        if 'append-only' not in str(e): sys.exit(2)\n"
		"sys.exit(0 if c.execute('SELECT count(*) FROM baselines').fetchone()[0] == 3 else 3)"),
		0);
}

static void test_assign_and_labels(void)
{
	char p[300], name[TPA_BASELINE_NAME_MAX + 1], tiny[4];
	tpa_store *s = open_file("baselines.db", p, sizeof(p));
	tpa_device d, *all = NULL;
	size_t n = 0;
	int v = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000b0001", NULL, 0, 200), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID2, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000b0002", NULL, 0, 200), 0);
	CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "fleet-a", 210), 0);
	CU_ASSERT_EQUAL(tpa_store_set_label(s, ID2, "fleet-a", 210), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(d.label, "fleet-a");
	/* Nothing assigned yet; no such device. */
	CU_ASSERT_EQUAL(tpa_store_baseline_for(name, sizeof(name), &v, s, ID1), TPA_ERR_NOT_FOUND);
	CU_ASSERT(strstr(tpa_err_last(), "no baseline applies") != NULL);
	CU_ASSERT_EQUAL(tpa_store_baseline_for(name, sizeof(name), &v, s, ID3), TPA_ERR_NOT_FOUND);
	CU_ASSERT(strstr(tpa_err_last(), "no device") != NULL);
	/* The label's, at its latest version. */
	CU_ASSERT_EQUAL(tpa_store_assign(s, "label", "fleet-a", "web.prod", 220), 0);
	CU_ASSERT_EQUAL(tpa_store_baseline_for(name, sizeof(name), &v, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(name, "web.prod");
	CU_ASSERT_EQUAL(v, 2);
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, "web.prod", "{\"v\": 3}", 225), 0);
	CU_ASSERT_EQUAL(tpa_store_baseline_for(name, sizeof(name), &v, s, ID1), 0);
	CU_ASSERT_EQUAL(v, 3);
	/* The device's own wins over its label's. */
	CU_ASSERT_EQUAL(tpa_store_assign(s, "device", ID1, "DB_1-a", 230), 0);
	CU_ASSERT_EQUAL(tpa_store_baseline_for(name, sizeof(name), &v, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(name, "DB_1-a");
	CU_ASSERT_EQUAL(v, 1);
	CU_ASSERT_EQUAL(tpa_store_baseline_for(name, sizeof(name), NULL, s, ID2), 0);
	CU_ASSERT_STRING_EQUAL(name, "web.prod");
	CU_ASSERT_EQUAL(tpa_store_baseline_for(tiny, sizeof(tiny), &v, s, ID1), TPA_ERR_LIMIT);
	/* Reassigning replaces. */
	CU_ASSERT_EQUAL(tpa_store_assign(s, "device", ID1, "web.prod", 232), 0);
	CU_ASSERT_EQUAL(tpa_store_baseline_for(name, sizeof(name), &v, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(name, "web.prod");
	/* Removed: the label's again; removed twice: not found. */
	CU_ASSERT_EQUAL(tpa_store_assign(s, "device", ID1, NULL, 240), 0);
	CU_ASSERT_EQUAL(tpa_store_assign(s, "device", ID1, NULL, 241), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_baseline_for(name, sizeof(name), &v, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(name, "web.prod");
	/* Without a label, nothing applies. */
	CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "", 250), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(d.label, "");
	CU_ASSERT_EQUAL(tpa_store_baseline_for(name, sizeof(name), &v, s, ID1), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_list(&all, &n, s), 0);
	CU_ASSERT_EQUAL(n, 2);
	if (n == 2) {
		CU_ASSERT_STRING_EQUAL(all[0].label, "");
		CU_ASSERT_STRING_EQUAL(all[1].label, "fleet-a");
	}
	free(all);
	/* A label's assignment goes away too. */
	CU_ASSERT_EQUAL(tpa_store_assign(s, "label", "fleet-a", NULL, 260), 0);
	CU_ASSERT_EQUAL(tpa_store_baseline_for(name, sizeof(name), &v, s, ID2), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_assign(s, "label", "fleet-a", "web.prod", 265), 0);
	/* Deleting a device removes its assignment (and not the label's). */
	CU_ASSERT_EQUAL(tpa_store_assign(s, "device", ID2, "DB_1-a", 270), 0);
	CU_ASSERT_EQUAL(tpa_store_remove(s, ID2, 280), 0);
	tpa_store_close(s);
	CU_ASSERT_EQUAL(run_py(p,
		"a = c.execute('SELECT kind, target, baseline FROM assignments').fetchall()\n"
		"sys.exit(0 if a == [('label', 'fleet-a', 'web.prod')] else 1)"), 0);
}

static void test_record_evidence(void)
{
	char p[300], *pcrs = NULL;
	tpa_store *s = open_file("baselines.db", p, sizeof(p));
	tpa_attest_record rec;
	tpa_device d;
	uint8_t log[5000], *got = NULL;
	size_t len = 99, i;
	const char *pj = "{\"sha256\": {\"0\": \"00ff\", \"7\": \"a1b2\"}}";

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (i = 0; i < sizeof(log); i++)
		log[i] = (uint8_t)(i * 7 + (i >> 8));  /* zeros and every byte value */
	/* Never attested; no such device. */
	CU_ASSERT_EQUAL(tpa_store_last_evidence(&got, &len, &pcrs, s, ID1), TPA_ERR_NOT_FOUND);
	CU_ASSERT(strstr(tpa_err_last(), "never attested") != NULL);
	CU_ASSERT_EQUAL(tpa_store_last_evidence(&got, &len, &pcrs, s, ID3), TPA_ERR_NOT_FOUND);
	/* With evidence and the baseline that decided. */
	memset(&rec, 0, sizeof(rec));
	rec.outcome = "warning";
	rec.baseline = "web.prod@2";
	rec.event_log = log;
	rec.event_log_len = sizeof(log);
	rec.pcrs_json = pj;
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, "pcr.7: differs", &rec, 300), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.last_attest_at, 300);
	CU_ASSERT_STRING_EQUAL(d.last_verdict, "compliant");
	CU_ASSERT_STRING_EQUAL(d.last_outcome, "warning");
	CU_ASSERT_STRING_EQUAL(d.last_baseline, "web.prod@2");
	CU_ASSERT_EQUAL(tpa_store_last_evidence(&got, &len, &pcrs, s, ID1), 0);
	CU_ASSERT_EQUAL(len, sizeof(log));
	CU_ASSERT(got && memcmp(got, log, sizeof(log)) == 0);
	CU_ASSERT(pcrs && strcmp(pcrs, pj) == 0);
	free(got);
	free(pcrs);
	/* A baseline that does not exist: refused, nothing changed. */
	rec.baseline = "web.prod@99";
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 0, NULL, &rec, 310), TPA_ERR_NOT_FOUND);
	CU_ASSERT(strstr(tpa_err_last(), "record: no baseline web.prod@99") != NULL);
	{
		/* So with the host's names (the other statement). */
		tpa_host_info h;

		memset(&h, 0, sizeof(h));
		snprintf(h.hostname, sizeof(h.hostname), "not-written");
		rec.host = &h;
		CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 0, NULL, &rec, 310), TPA_ERR_NOT_FOUND);
		CU_ASSERT(strstr(tpa_err_last(), "record: no baseline web.prod@99") != NULL);
		/* A device that is not there, with a baseline that is. */
		rec.baseline = "web.prod@2";
		CU_ASSERT_EQUAL(tpa_store_record(s, ID3, 0, NULL, &rec, 310), TPA_ERR_NOT_FOUND);
		CU_ASSERT(strstr(tpa_err_last(), "no device with id 3333") != NULL);
		rec.host = NULL;
		CU_ASSERT_EQUAL(tpa_store_record(s, ID3, 0, NULL, &rec, 310), TPA_ERR_NOT_FOUND);
		CU_ASSERT(strstr(tpa_err_last(), "no device with id 3333") != NULL);
		rec.baseline = "web.prod@99";
	}
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.last_attest_at, 300);
	CU_ASSERT_STRING_EQUAL(d.last_baseline, "web.prod@2");
	CU_ASSERT_STRING_EQUAL(d.host.hostname, "");
	/* Only the PCRs: the old event log goes. */
	memset(&rec, 0, sizeof(rec));
	rec.outcome = "no-baseline";
	rec.pcrs_json = "{}";
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 320), 0);
	CU_ASSERT_EQUAL(tpa_store_last_evidence(&got, &len, &pcrs, s, ID1), 0);
	CU_ASSERT_PTR_NULL(got);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT(pcrs && strcmp(pcrs, "{}") == 0);
	free(pcrs);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(d.last_outcome, "no-baseline");
	CU_ASSERT_STRING_EQUAL(d.last_baseline, "");
	/* Without a record: the verdict is the outcome, no evidence. */
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 0, "quote.signature", NULL, 330), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(d.last_verdict, "non-compliant");
	CU_ASSERT_STRING_EQUAL(d.last_outcome, "non-compliant");
	CU_ASSERT_EQUAL(tpa_store_last_evidence(&got, &len, &pcrs, s, ID1), 0);
	CU_ASSERT_PTR_NULL(got);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_PTR_NULL(pcrs);
	/* The audit names the baseline and the reasons. */
	tpa_store_close(s);
	CU_ASSERT_EQUAL(run_py(p,
		"a = [r[0] for r in c.execute(\"SELECT detail FROM audit WHERE event = 'attest'"
		" ORDER BY seq\")]\n"
		"sys.exit(0 if a == ['compliant, outcome warning, baseline web.prod@2: pcr.7: differs',\n"
		"                    'compliant, outcome no-baseline',\n"
		"                    'non-compliant: quote.signature'] else 1)"), 0);
}

static void test_invalid_inputs(void)
{
	char p[300], name[80], big_label[TPA_LABEL_MAX + 2], *body, *big;
	tpa_store *s = open_file("baselines.db", p, sizeof(p));
	tpa_attest_record rec;
	size_t before = 0, after = 0;
	int v = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_audit_count(&before, s, NULL), 0);
	memset(big_label, 'a', sizeof(big_label) - 1);
	big_label[sizeof(big_label) - 1] = '\0';  /* 65 bytes */
	/* Baseline names. */
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, "a b", "{}", 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "baseline name") != NULL);
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, "x'; DROP TABLE baselines; --", "{}", 1),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, "a/b", "{}", 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, "", "{}", 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, NULL, "{}", 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, big_label, "{}", 1), TPA_ERR_INVALID_ARG);
	big_label[TPA_LABEL_MAX] = '\0';  /* 64 bytes: fine */
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, big_label, "{}", 1), 0);
	big_label[TPA_LABEL_MAX] = 'a';
	/* Bodies. */
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, "ok", "", 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "body") != NULL);
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, "ok", NULL, 1), TPA_ERR_INVALID_ARG);
	body = malloc(TPA_BASELINE_BODY_MAX + 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	memset(body, ' ', TPA_BASELINE_BODY_MAX + 1);
	body[TPA_BASELINE_BODY_MAX + 1] = '\0';
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, "ok", body, 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "body") != NULL);
	body[TPA_BASELINE_BODY_MAX] = '\0';  /* exactly the cap: fine */
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, "big", body, 1), 0);
	free(body);
	body = NULL;
	/* Labels and assignments. */
	CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, big_label, 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "label") != NULL);
	CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "a,b", 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_set_label(s, ID3, "x", 1), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_set_label(s, "1111", "x", 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "device id") != NULL);
	CU_ASSERT_EQUAL(tpa_store_assign(s, "group", "x", "web.prod", 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "kind") != NULL);
	CU_ASSERT_EQUAL(tpa_store_assign(s, NULL, "x", "web.prod", 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_assign(s, "label", big_label, "web.prod", 1),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "label") != NULL);
	CU_ASSERT_EQUAL(tpa_store_assign(s, "label", "x", "bad name", 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "baseline name") != NULL);
	CU_ASSERT_EQUAL(tpa_store_assign(s, "device", "not-an-id", "web.prod", 1),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_assign(s, "device", ID3, "web.prod", 1), TPA_ERR_NOT_FOUND);
	CU_ASSERT(strstr(tpa_err_last(), "no device") != NULL);
	CU_ASSERT_EQUAL(tpa_store_assign(s, "device", ID1, "unknown", 1), TPA_ERR_NOT_FOUND);
	CU_ASSERT(strstr(tpa_err_last(), "no baseline named unknown") != NULL);
	CU_ASSERT_EQUAL(tpa_store_assign(s, "label", "x", "unknown", 1), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_baseline_for(name, sizeof(name), &v, s, "zz"),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_baseline_get(&body, NULL, s, "a b", 0), TPA_ERR_INVALID_ARG);
	/* Records. */
	memset(&rec, 0, sizeof(rec));
	rec.outcome = "fine";
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "outcome") != NULL);
	rec.outcome = NULL;
	rec.baseline = "web.prod@0";
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "baseline") != NULL);
	rec.baseline = "web.prod";
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 1), TPA_ERR_INVALID_ARG);
	rec.baseline = "@1";
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 1), TPA_ERR_INVALID_ARG);
	rec.baseline = "web prod@1";
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 1), TPA_ERR_INVALID_ARG);
	rec.baseline = "web.prod@1x";
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 1), TPA_ERR_INVALID_ARG);
	rec.baseline = NULL;
	big = calloc(1, TPA_STORE_EVENT_LOG_MAX + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	rec.event_log = (const uint8_t *)big;
	rec.event_log_len = TPA_STORE_EVENT_LOG_MAX + 1;
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "event_log") != NULL);
	rec.event_log = NULL;
	rec.event_log_len = 10;
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 1), TPA_ERR_INVALID_ARG);
	rec.event_log_len = 0;
	memset(big, '1', TPA_STORE_PCRS_JSON_MAX + 1);
	rec.pcrs_json = big;
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "pcrs_json") != NULL);
	free(big);
	rec.pcrs_json = NULL;
	CU_ASSERT_EQUAL(tpa_store_record(s, "x", 1, NULL, &rec, 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_record(s, ID3, 1, NULL, &rec, 1), TPA_ERR_NOT_FOUND);
	/* Nothing refused was written or audited (only the two good baselines). */
	CU_ASSERT_EQUAL(tpa_store_audit_count(&after, s, NULL), 0);
	CU_ASSERT_EQUAL(after, before + 2);
	tpa_store_close(s);
}

/* ---- schema 3: what a policy engine asks ---- */

/* Schema version 2 as it was (its DDL copied), on top of V1_FILE: device 1
 * (revoked, from V1_FILE) gets a label, an outcome, a baseline and
 * evidence; device 2 is active; a baseline is assigned to the label. */
#define V2_TOKEN_OK(c) "(typeof(" c ") = 'text' AND length(" c ") BETWEEN 1 AND 64" \
	" AND " c " NOT GLOB '*[^A-Za-z0-9._-]*')"
static const char *V2_FILE =
	"c.executescript('''\n"
	"ALTER TABLE devices ADD COLUMN label TEXT CHECK(label IS NULL OR " V2_TOKEN_OK("label") ");\n"
	"ALTER TABLE devices ADD COLUMN last_outcome TEXT CHECK(last_outcome IS NULL OR"
	" last_outcome IN ('compliant', 'warning', 'non-compliant', 'no-baseline'));\n"
	"ALTER TABLE devices ADD COLUMN last_baseline TEXT;\n"
	"CREATE TABLE baselines("
	" name TEXT NOT NULL CHECK" V2_TOKEN_OK("name") ","
	" version INTEGER NOT NULL CHECK(typeof(version) = 'integer' AND version >= 1),"
	" body TEXT NOT NULL CHECK(length(CAST(body AS BLOB)) BETWEEN 1 AND 1048576),"
	" added_at INTEGER NOT NULL,"
	" PRIMARY KEY(name, version));\n"
	"CREATE TRIGGER baselines_no_update BEFORE UPDATE ON baselines"
	" BEGIN SELECT RAISE(ABORT, 'baselines are append-only'); END;\n"
	"CREATE TRIGGER baselines_no_delete BEFORE DELETE ON baselines"
	" BEGIN SELECT RAISE(ABORT, 'baselines are append-only'); END;\n"
	"CREATE TABLE assignments("
	" kind TEXT NOT NULL CHECK(kind IN ('device', 'label')),"
	" target TEXT NOT NULL CHECK((kind = 'device' AND typeof(target) = 'text'"
	"  AND length(target) = 64 AND target NOT GLOB '*[^0-9a-f]*')"
	"  OR (kind = 'label' AND " V2_TOKEN_OK("target") ")),"
	" baseline TEXT NOT NULL CHECK" V2_TOKEN_OK("baseline") ","
	" assigned_at INTEGER NOT NULL,"
	" PRIMARY KEY(kind, target));\n"
	"CREATE TRIGGER assignments_baseline_insert BEFORE INSERT ON assignments"
	" WHEN NOT EXISTS(SELECT 1 FROM baselines WHERE name = NEW.baseline)"
	" BEGIN SELECT RAISE(ABORT, 'no such baseline'); END;\n"
	"CREATE TRIGGER assignments_baseline_update BEFORE UPDATE ON assignments"
	" WHEN NOT EXISTS(SELECT 1 FROM baselines WHERE name = NEW.baseline)"
	" BEGIN SELECT RAISE(ABORT, 'no such baseline'); END;\n"
	"CREATE TRIGGER assignments_device_insert BEFORE INSERT ON assignments"
	" WHEN NEW.kind = 'device' AND NOT EXISTS(SELECT 1 FROM devices WHERE id = NEW.target)"
	" BEGIN SELECT RAISE(ABORT, 'no such device'); END;\n"
	"CREATE TRIGGER assignments_device_update BEFORE UPDATE ON assignments"
	" WHEN NEW.kind = 'device' AND NOT EXISTS(SELECT 1 FROM devices WHERE id = NEW.target)"
	" BEGIN SELECT RAISE(ABORT, 'no such device'); END;\n"
	"CREATE TRIGGER devices_delete_assignment AFTER DELETE ON devices"
	" BEGIN DELETE FROM assignments WHERE kind = 'device' AND target = OLD.id; END;\n"
	"CREATE TABLE evidence("
	" device_id TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,"
	" event_log BLOB CHECK(event_log IS NULL OR length(event_log) BETWEEN 1 AND 1048576),"
	" pcrs_json TEXT CHECK(pcrs_json IS NULL OR"
	"  length(CAST(pcrs_json AS BLOB)) BETWEEN 1 AND 65536));\n"
	"INSERT INTO schema_version(version) VALUES(2);\n"
	"INSERT INTO baselines VALUES('gold', 1, '{\"v\": 1}', 70);\n"
	"UPDATE devices SET label = 'lab', last_outcome = 'warning', last_baseline = 'gold@1'"
	" WHERE id = '1111111111111111111111111111111111111111111111111111111111111111';\n"
	"INSERT INTO evidence VALUES("
	"'1111111111111111111111111111111111111111111111111111111111111111', x'0a0b0c', '{}');\n"
	"INSERT INTO assignments VALUES('label', 'lab', 'gold', 75);\n"
	"INSERT INTO devices VALUES('2222222222222222222222222222222222222222222222222222222222222222',"
	" x'" EKB_HEX "', x'3000', 'active', 80, NULL, NULL, NULL, NULL, NULL);\n"
	"INSERT INTO aks VALUES('000b6666',"
	" '2222222222222222222222222222222222222222222222222222222222222222', x'0909', 80);\n"
	"INSERT INTO audit(at, device_id, event, detail) VALUES(80,"
	" '2222222222222222222222222222222222222222222222222222222222222222', 'enroll',"
	" 'AK 000b6666...');\n"
	"''')\n";
#undef V2_TOKEN_OK

static void test_migrate_v2(void)
{
	char p[300], code[8192], name[TPA_BASELINE_NAME_MAX + 1], *pcrs = NULL, *tok = NULL;
	tpa_store *s = NULL;
	tpa_device d, *all = NULL;
	uint8_t *log = NULL;
	size_t n = 0, len = 0;
	int v = 0;

	snprintf(p, sizeof(p), "%s/v2.db", dir);
	snprintf(code, sizeof(code), "%s%s", V1_FILE, V2_FILE);
	CU_ASSERT_EQUAL_FATAL(run_py(p, code), 0);
	CU_ASSERT_EQUAL(run_py(p, "sys.exit(0 if c.execute('SELECT max(version) FROM "
			       "schema_version').fetchone()[0] == 2 else 1)"), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
	/* Everything of schema 2 kept; the new fields empty. */
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_REVOKED);
	CU_ASSERT_EQUAL(d.enrolled_at, 50);
	CU_ASSERT_EQUAL(d.last_attest_at, 60);
	CU_ASSERT_STRING_EQUAL(d.last_verdict, "non-compliant");
	CU_ASSERT_STRING_EQUAL(d.ak_name, "000b5555");
	CU_ASSERT_STRING_EQUAL(d.label, "lab");
	CU_ASSERT_STRING_EQUAL(d.last_outcome, "warning");
	CU_ASSERT_STRING_EQUAL(d.last_baseline, "gold@1");
	CU_ASSERT_STRING_EQUAL(d.tpm_manufacturer, "");
	CU_ASSERT_EQUAL(d.state_changed_at, 0);
	CU_ASSERT_EQUAL(d.last_token_exp, 0);
	CU_ASSERT_EQUAL(tpa_store_last_evidence(&log, &len, &pcrs, s, ID1), 0);
	CU_ASSERT(len == 3 && log && log[0] == 0x0a && log[2] == 0x0c);
	CU_ASSERT(pcrs && strcmp(pcrs, "{}") == 0);
	free(log);
	free(pcrs);
	CU_ASSERT_EQUAL(tpa_store_baseline_for(name, sizeof(name), &v, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(name, "gold");
	CU_ASSERT_EQUAL(v, 1);
	new_ids();
	CU_ASSERT_EQUAL(tpa_store_find_by_ak(&d, s, "000b6666"), 0);
	CU_ASSERT_STRING_EQUAL(d.id, NEW2);
	/* The three entries of schema 2 and one migration per device. */
	CU_ASSERT_EQUAL(tpa_store_audit_count(&n, s, NULL), 0);
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT_EQUAL(tpa_store_list(&all, &n, s), 0);
	CU_ASSERT_EQUAL(n, 2);
	free(all);
	/* Never a token. */
	tok = (char *)"x";
	CU_ASSERT_EQUAL(tpa_store_last_token(&tok, &d, s, ID1), 0);
	CU_ASSERT_PTR_NULL(tok);
	CU_ASSERT_STRING_EQUAL(d.label, "lab");
	/* The audit log chained, through migrations 3, 4 and 5 at once. */
	{
		tpa_audit_report r;

		CU_ASSERT_EQUAL(tpa_audit_verify(&r, s, NULL, NULL), 0);
		CU_ASSERT_EQUAL(r.rows, 5);
	}
	/* The new columns work on the migrated file. */
	CU_ASSERT_EQUAL(tpa_store_set_manufacturer(s, ID2, "STM"), 0);
	CU_ASSERT_EQUAL(tpa_store_set_state(s, ID1, TPA_DEVICE_ACTIVE, 90), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.state_changed_at, 90);
	tpa_store_close(s);
	CU_ASSERT_EQUAL(run_py(p,
		"v = [r[0] for r in c.execute('SELECT version FROM schema_version ORDER BY version')]\n"
		"cols = [r[1] for r in c.execute('PRAGMA table_info(devices)')]\n"
		"ok = c.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'\n"
		"a = [r[0] for r in c.execute('SELECT event FROM audit ORDER BY seq')]\n"
		"need = ['tpm_manufacturer', 'state_changed_at', 'last_token', 'last_token_exp']\n"
		"m = c.execute(\"SELECT tpm_manufacturer FROM devices WHERE id = (SELECT device_id"
		" FROM device_aliases WHERE alias LIKE '2%')\").fetchone()\n"
		"sys.exit(0 if v == [1, 2, 3, 4, 5, 6, 7, 8] and all(x in cols for x in need) and ok and m == ('STM',)"
		" and a == ['enroll', 'attest', 'enroll', 'migrate', 'migrate', 'reinstate'] else 1)"),
			0);
	/* Opened again: already at 5, nothing migrated twice. */
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
	tpa_store_close(s);
	CU_ASSERT_EQUAL(run_py(p, "sys.exit(0 if c.execute('SELECT count(*) FROM schema_version')"
			       ".fetchone()[0] == 8 else 1)"), 0);

	/* A migration that fails half-way (at its last ALTER) leaves the file
	 * at 2, without any of the new columns. */
	snprintf(p, sizeof(p), "%s/v2-stuck.db", dir);
	snprintf(code, sizeof(code), "%s%sc.execute('ALTER TABLE devices ADD COLUMN "
		 "last_token_exp INTEGER'); c.commit()\n", V1_FILE, V2_FILE);
	CU_ASSERT_EQUAL_FATAL(run_py(p, code), 0);
	s = NULL;
	CU_ASSERT_EQUAL(tpa_store_open_sqlite(&s, p), TPA_ERR_IO);
	CU_ASSERT(strstr(tpa_err_last(), "v2-stuck.db") != NULL);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_EQUAL(run_py(p,
		"v = c.execute('SELECT max(version) FROM schema_version').fetchone()[0]\n"
		"cols = [r[1] for r in c.execute('PRAGMA table_info(devices)')]\n"
		"sys.exit(0 if v == 2 and 'tpm_manufacturer' not in cols and 'last_token' not in cols"
		" else 1)"), 0);
}

/* A compact-JWS-like string of n bytes (base64url and two dots). */
static char *fake_token(size_t n)
{
	char *t = malloc(n + 1);
	size_t i;

	if (!t)
		return NULL;
	for (i = 0; i < n; i++)
		t[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[i % 64];
	if (n > 10) {
		t[n / 3] = '.';
		t[2 * n / 3] = '.';
	}
	t[n] = '\0';
	return t;
}

/* Statements are kept prepared between calls: each read still ends when
 * the call returns (another connection's change is seen at once, and a
 * checkpoint is not held back by a read left open), and the same read
 * nested or repeated many times gives the same answers. */
static void test_kept_statements(void)
{
	char p[300], *tok = NULL;
	tpa_store *s = open_file("kept.db", p, sizeof(p));
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	tpa_device d, *all = NULL;
	size_t n = 0;
	int i, ok = 1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
					 sizeof(AKP), "000b7001", NULL, 0, 100), 0);
	for (i = 0; i < 2000 && ok; i++)
		ok = tpa_store_get(&d, s, ID1) == 0 && strcmp(d.id, ID1) == 0 &&
		     tpa_store_get(&d, s, ID2) == TPA_ERR_NOT_FOUND;
	CU_ASSERT(ok);
	CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(db, "UPDATE devices SET label = 'kept' WHERE id = '1111111111"
				     "111111111111111111111111111111111111111111111111111111'",
				     NULL, NULL, NULL), SQLITE_OK);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(d.label, "kept");
	CU_ASSERT_EQUAL(tpa_store_last_token(&tok, &d, s, ID1), 0);
	CU_ASSERT_EQUAL(tpa_store_list(&all, &n, s), 0);
	CU_ASSERT_EQUAL(n, 1);
	free(all);
	/* No read of s is open: a TRUNCATE checkpoint completes (busy 0). */
	CU_ASSERT_EQUAL(sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &st, NULL),
			SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_step(st), SQLITE_ROW);
	CU_ASSERT_EQUAL(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(tok);
	tpa_store_close(s);
}

static void test_token(void)
{
	char p[300], *tok = NULL, *big;
	tpa_store *s = open_file("v3.db", p, sizeof(p));
	tpa_attest_record rec;
	tpa_device d, *all = NULL;
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
					 sizeof(AKP), "000b3001", NULL, 0, 1000), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID2, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
					 sizeof(AKP), "000b3002", NULL, 0, 1000), 0);
	/* Enrolled, never attested: no token. */
	tok = (char *)"x";
	memset(&d, 0x55, sizeof(d));
	CU_ASSERT_EQUAL(tpa_store_last_token(&tok, &d, s, ID1), 0);
	CU_ASSERT_PTR_NULL(tok);
	CU_ASSERT_STRING_EQUAL(d.id, ID1);
	CU_ASSERT_EQUAL(d.last_token_exp, 0);
	CU_ASSERT_STRING_EQUAL(d.tpm_manufacturer, "");
	/* Unknown and malformed devices. */
	tok = (char *)"x";
	CU_ASSERT_EQUAL(tpa_store_last_token(&tok, &d, s, ID3), TPA_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(tok);
	CU_ASSERT(strstr(tpa_err_last(), "no device") != NULL);
	CU_ASSERT_EQUAL(tpa_store_last_token(&tok, &d, s, "1'; --"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_last_token(NULL, &d, s, ID1), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_last_token(&tok, &d, NULL, ID1), TPA_ERR_INVALID_ARG);
	/* A verdict with a token. */
	memset(&rec, 0, sizeof(rec));
	rec.token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxMTEifQ.c2ln";
	rec.token_exp = 1300;
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 1100), 0);
	CU_ASSERT_EQUAL(tpa_store_last_token(&tok, &d, s, ID1), 0);
	CU_ASSERT(tok && strcmp(tok, rec.token) == 0);
	free(tok);
	CU_ASSERT_EQUAL(d.last_token_exp, 1300);
	CU_ASSERT_EQUAL(d.last_attest_at, 1100);
	CU_ASSERT_STRING_EQUAL(d.last_verdict, "compliant");
	CU_ASSERT_STRING_EQUAL(d.ak_name, "000b3001");
	/* dev is optional. */
	CU_ASSERT_EQUAL(tpa_store_last_token(&tok, NULL, s, ID1), 0);
	CU_ASSERT(tok && strcmp(tok, rec.token) == 0);
	free(tok);
	/* get, find_by_ak and list give the expiry (list no body). */
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.last_token_exp, 1300);
	CU_ASSERT_EQUAL(tpa_store_find_by_ak(&d, s, "000b3001"), 0);
	CU_ASSERT_EQUAL(d.last_token_exp, 1300);
	CU_ASSERT_EQUAL(tpa_store_list(&all, &n, s), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(all[0].last_token_exp, 1300);
	CU_ASSERT_EQUAL(all[1].last_token_exp, 0);
	free(all);
	/* The other device's record does not touch this one's token. */
	CU_ASSERT_EQUAL(tpa_store_record(s, ID2, 0, NULL, NULL, 1110), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.last_token_exp, 1300);
	/* A token of exactly TPA_STORE_TOKEN_MAX bytes replaces the previous
	 * one; its expiry may be 0. */
	big = fake_token(TPA_STORE_TOKEN_MAX);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	rec.token = big;
	rec.token_exp = 0;
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 0, "pcr.0: differs", &rec, 1200), 0);
	CU_ASSERT_EQUAL(tpa_store_last_token(&tok, &d, s, ID1), 0);
	CU_ASSERT(tok && strlen(tok) == TPA_STORE_TOKEN_MAX && strcmp(tok, big) == 0);
	free(tok);
	CU_ASSERT_EQUAL(d.last_token_exp, 0);
	CU_ASSERT_STRING_EQUAL(d.last_verdict, "non-compliant");
	free(big);
	/* A verdict without a token clears the older one: a record without ... */
	rec.token = "a.b.c";
	rec.token_exp = 1500;
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 1300), 0);
	memset(&rec, 0, sizeof(rec));
	rec.outcome = "no-baseline";
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 1400), 0);
	tok = (char *)"x";
	CU_ASSERT_EQUAL(tpa_store_last_token(&tok, &d, s, ID1), 0);
	CU_ASSERT_PTR_NULL(tok);
	CU_ASSERT_EQUAL(d.last_token_exp, 0);
	CU_ASSERT_EQUAL(d.last_attest_at, 1400);
	/* ... an empty token (the same as none) ... */
	rec.token = "a.b.c";
	rec.token_exp = 1500;
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 1410), 0);
	rec.token = "";
	rec.token_exp = 0;
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 1420), 0);
	tok = (char *)"x";
	CU_ASSERT_EQUAL(tpa_store_last_token(&tok, &d, s, ID1), 0);
	CU_ASSERT_PTR_NULL(tok);
	/* ... or no record at all. */
	rec.token = "a.b.c";
	rec.token_exp = 1500;
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 1430), 0);
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 0, "quote.signature", NULL, 1440), 0);
	tok = (char *)"x";
	CU_ASSERT_EQUAL(tpa_store_last_token(&tok, &d, s, ID1), 0);
	CU_ASSERT_PTR_NULL(tok);
	CU_ASSERT_EQUAL(d.last_token_exp, 0);
	CU_ASSERT_STRING_EQUAL(d.last_verdict, "non-compliant");
	/* Stored as NULL, both of them. */
	rec.token = "p.q.r";
	rec.token_exp = 1600;
	CU_ASSERT_EQUAL(tpa_store_record(s, ID2, 1, NULL, &rec, 1450), 0);
	tpa_store_close(s);
	CU_ASSERT_EQUAL(run_py(p,
		"r = dict((i[:1], (t, e)) for i, t, e in c.execute("
		"'SELECT id, last_token, last_token_exp FROM devices'))\n"
		"sys.exit(0 if r == {'1': (None, None), '2': ('p.q.r', 1600)} else 1)"), 0);
}

static void test_token_refused(void)
{
	static const char *bad[] = { "a.b\n.c", "a.b.c\x7f", "a.b.\x01", "a.\xc3\xa9.c",
				     "\t", "a.b.c\r" };
	char p[300], *tok = NULL, *big;
	tpa_store *s = open_file("v3.db", p, sizeof(p));
	tpa_attest_record rec;
	tpa_device d;
	size_t before = 0, after = 0, i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_audit_count(&before, s, NULL), 0);
	/* ID2 holds "p.q.r" (1600) from test_token, last attested at 1450. */
	memset(&rec, 0, sizeof(rec));
	rec.outcome = "compliant";
	big = fake_token(TPA_STORE_TOKEN_MAX + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	rec.token = big;
	rec.token_exp = 2000;
	CU_ASSERT_EQUAL(tpa_store_record(s, ID2, 1, NULL, &rec, 2000), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "token") != NULL);
	free(big);
	big = fake_token(4 * TPA_STORE_TOKEN_MAX);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	rec.token = big;
	CU_ASSERT_EQUAL(tpa_store_record(s, ID2, 1, NULL, &rec, 2000), TPA_ERR_INVALID_ARG);
	free(big);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rec.token = bad[i];
		CU_ASSERT_EQUAL(tpa_store_record(s, ID2, 1, NULL, &rec, 2000),
				TPA_ERR_INVALID_ARG);
		CU_ASSERT(strstr(tpa_err_last(), "printable") != NULL);
	}
	/* Expiries: never negative; none without a token. */
	rec.token = "a.b.c";
	rec.token_exp = -1;
	CU_ASSERT_EQUAL(tpa_store_record(s, ID2, 1, NULL, &rec, 2000), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "token_exp") != NULL);
	rec.token = NULL;
	rec.token_exp = 2500;
	CU_ASSERT_EQUAL(tpa_store_record(s, ID2, 1, NULL, &rec, 2000), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "token_exp") != NULL);
	/* Nothing written: not the verdict, not the token, not the audit. */
	CU_ASSERT_EQUAL(tpa_store_last_token(&tok, &d, s, ID2), 0);
	CU_ASSERT(tok && strcmp(tok, "p.q.r") == 0);
	free(tok);
	CU_ASSERT_EQUAL(d.last_token_exp, 1600);
	CU_ASSERT_EQUAL(d.last_attest_at, 1450);
	CU_ASSERT_STRING_EQUAL(d.last_verdict, "compliant");
	CU_ASSERT_EQUAL(tpa_store_audit_count(&after, s, NULL), 0);
	CU_ASSERT_EQUAL(after, before);
	tpa_store_close(s);
	/* The schema refuses them too, whoever writes; the largest fits. Its
	 * token rule is ASCII without NUL since schema 8 (a GLOB over each
	 * verdict's token cost 3 % of an attestation): the control characters
	 * it lets through are refused where the token is read, below. */
	CU_ASSERT_EQUAL(run_py(p,
		"bad = [\"last_token = 'a' || char(233)\", \"last_token = 'a' || char(0) || 'b'\",\n"
		"       'last_token = zeroblob(3)',\n"
		"       \"last_token = printf('%.*c', 16385, 'a')\", \"last_token = ''\",\n"
		"       'last_token_exp = -1', 'last_token_exp = 5.5', \"last_token_exp = 'x'\",\n"
		"       'last_token = NULL', 'last_token_exp = NULL',\n"
		"       \"tpm_manufacturer = ''\", \"tpm_manufacturer = 'ABCDEFGHIJKLMNOP'\",\n"
		"       \"tpm_manufacturer = 'I' || char(1)\", \"tpm_manufacturer = 'I' || char(233)\",\n"
		"       \"tpm_manufacturer = x'49424d'\"]\n"
		"for b in bad:\n"
		"    try:\n"
		"        c.execute(\"UPDATE devices SET \" + b + \" WHERE id LIKE '2%'\")\n"
		"        print('accepted:', b); sys.exit(1)\n"
		"    except sqlite3.IntegrityError:\n"
		"        pass\n"
		"c.execute(\"UPDATE devices SET last_token = printf('%.*c', 16384, 'a'),\"\n"
		"          \" tpm_manufacturer = 'ABCDEFGHIJKLMNO' WHERE id LIKE '2%'\")\n"
		"c.rollback()\n"
		"sys.exit(0)"), 0);
	/* (PostgreSQL's CHECK refuses them: there is no such row to read.) */
	for (i = 0; !pg && i < 2; i++) {
		CU_ASSERT_EQUAL_FATAL(run_py(p, i ?
			"c.execute(\"UPDATE devices SET last_token = 'a.b' || char(127) || 'c'"
			" WHERE id LIKE '2%'\"); c.commit()" :
			"c.execute(\"UPDATE devices SET last_token = 'a.b' || char(10) || '.c'"
			" WHERE id LIKE '2%'\"); c.commit()"), 0);
		CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
		tok = (char *)"unset";
		CU_ASSERT_EQUAL(tpa_store_last_token(&tok, &d, s, ID2), TPA_ERR_IO);
		CU_ASSERT(strstr(tpa_err_last(), "printable ASCII (edited by hand?)") != NULL);
		CU_ASSERT_PTR_NULL(tok);
		tpa_store_close(s);
	}
	/* The file goes on to the next tests as it was. */
	CU_ASSERT_EQUAL(run_py(p, "c.execute(\"UPDATE devices SET last_token = 'p.q.r'"
			       " WHERE id LIKE '2%'\"); c.commit()"), 0);
}

/* A schema-7 registry, its token columns as schema 3 added them (a GLOB
 * class run at each character of every verdict's token), migrates to 8:
 * every token and expiry kept, the columns' CHECKs the cheap ones, still
 * refusing what they refuse; an unmigrated file checks as schema 7. */
static void test_migrate_v7_token(void)
{
	char p[300], *tok = NULL;
	tpa_store *s = open_file("v7.db", p, sizeof(p));
	tpa_store_check_report r;
	tpa_attest_record rec;
	tpa_device d;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
					 sizeof(AKP), "000b7001", NULL, 0, 1000), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID2, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
					 sizeof(AKP), "000b7002", NULL, 0, 1000), 0);
	memset(&rec, 0, sizeof(rec));
	rec.outcome = "compliant";
	rec.token = "eyJh.eyJi.c2ln";
	rec.token_exp = 4600;
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 1000), 0);
	tpa_store_close(s);
	/* Back to the columns schema 7 had, by schema 3's own statements. */
	CU_ASSERT_EQUAL_FATAL(run_py(p,
		"t = c.execute('SELECT id, last_token, last_token_exp FROM devices').fetchall()\n"
		"c.execute('ALTER TABLE devices DROP COLUMN last_token_exp')\n"
		"c.execute('ALTER TABLE devices DROP COLUMN last_token')\n"
		"c.execute(\"ALTER TABLE devices ADD COLUMN last_token TEXT CHECK(last_token IS NULL OR"
		" (typeof(last_token) = 'text' AND length(CAST(last_token AS BLOB)) BETWEEN 1 AND 16384"
		" AND last_token NOT GLOB '*[^ -~]*'))\")\n"
		"c.execute(\"ALTER TABLE devices ADD COLUMN last_token_exp INTEGER CHECK((last_token_exp"
		" IS NULL) = (last_token IS NULL) AND (last_token_exp IS NULL OR"
		" (typeof(last_token_exp) = 'integer' AND last_token_exp >= 0)))\")\n"
		"for i, tk, e in t:\n"
		"    c.execute('UPDATE devices SET last_token = ?, last_token_exp = ? WHERE id = ?',"
		" (tk, e, i))\n"
		"c.execute('DELETE FROM schema_version WHERE version = 8')\n"
		"c.commit()"), 0);
	CU_ASSERT_EQUAL(tpa_store_check_file(&r, p), 0);
	CU_ASSERT_EQUAL(r.schema_version, 7);
	CU_ASSERT_EQUAL(run_py(p, "sql = c.execute(\"SELECT sql FROM sqlite_master WHERE name ="
			       " 'devices'\").fetchone()[0]\n"
			       "sys.exit(0 if \"last_token NOT GLOB\" in sql else 1)"), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
	CU_ASSERT_EQUAL(tpa_store_check(&r, s), 0);
	CU_ASSERT_EQUAL(r.schema_version, 8);
	CU_ASSERT_EQUAL(r.devices, 2);
	CU_ASSERT_EQUAL(tpa_store_last_token(&tok, &d, s, ID1), 0);
	CU_ASSERT(tok && strcmp(tok, "eyJh.eyJi.c2ln") == 0);
	free(tok);
	tok = NULL;
	CU_ASSERT_EQUAL(d.last_token_exp, 4600);
	CU_ASSERT_STRING_EQUAL(d.last_verdict, "compliant");
	CU_ASSERT_EQUAL(tpa_store_last_token(&tok, &d, s, ID2), 0);
	CU_ASSERT_PTR_NULL(tok);
	CU_ASSERT_EQUAL(d.last_token_exp, 0);
	/* The next verdict writes through the new columns. */
	rec.token = "eyJj.eyJk.c2ln";
	rec.token_exp = 5600;
	CU_ASSERT_EQUAL(tpa_store_record(s, ID2, 1, NULL, &rec, 2000), 0);
	CU_ASSERT_EQUAL(tpa_store_last_token(&tok, &d, s, ID2), 0);
	CU_ASSERT(tok && strcmp(tok, "eyJj.eyJk.c2ln") == 0);
	free(tok);
	tpa_store_close(s);
	CU_ASSERT_EQUAL(run_py(p,
		"sql = c.execute(\"SELECT sql FROM sqlite_master WHERE name = 'devices'\").fetchone()[0]\n"
		"v = [r[0] for r in c.execute('SELECT version FROM schema_version ORDER BY version')]\n"
		"ok = c.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'\n"
		"bad = 0\n"
		"for b in (\"'a' || char(233)\", \"'a' || char(0) || 'b'\", \"''\", 'zeroblob(3)'):\n"
		"    try:\n"
		"        c.execute('UPDATE devices SET last_token = ' + b + \" WHERE id LIKE '1%'\")\n"
		"        bad += 1\n"
		"    except sqlite3.IntegrityError:\n"
		"        pass\n"
		"try:\n"
		"    c.execute(\"UPDATE devices SET last_token_exp = NULL WHERE id LIKE '1%'\")\n"
		"    bad += 1\n"
		"except sqlite3.IntegrityError:\n"
		"    pass\n"
		"sys.exit(0 if 'GLOB' not in sql.split('last_token TEXT')[1] and"
		" v == [1, 2, 3, 4, 5, 6, 7, 8] and ok and bad == 0 else 1)"), 0);
}

static void test_state_changed_at(void)
{
	char p[300];
	tpa_store *s = open_file("v3.db", p, sizeof(p));
	tpa_device d, *all = NULL;
	size_t n = 0, before = 0, after = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	/* Never changed. */
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.state_changed_at, 0);
	CU_ASSERT_EQUAL(tpa_store_audit_count(&before, s, ID1), 0);
	CU_ASSERT_EQUAL(tpa_store_set_state(s, ID1, TPA_DEVICE_REVOKED, 3000), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_REVOKED);
	CU_ASSERT_EQUAL(d.state_changed_at, 3000);
	/* Revoked again: audited, but the state did not change, nor its time. */
	CU_ASSERT_EQUAL(tpa_store_set_state(s, ID1, TPA_DEVICE_REVOKED, 3010), 0);
	CU_ASSERT_EQUAL(tpa_store_find_by_ak(&d, s, "000b3001"), 0);
	CU_ASSERT_EQUAL(d.state_changed_at, 3000);
	/* Attesting or enrolling again does not change it. */
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, NULL, 3015), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
					 sizeof(AKP), "000b3001", NULL, 0, 3016), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.state_changed_at, 3000);
	/* Reinstated. */
	CU_ASSERT_EQUAL(tpa_store_set_state(s, ID1, TPA_DEVICE_ACTIVE, 3020), 0);
	CU_ASSERT_EQUAL(tpa_store_list(&all, &n, s), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(all[0].state, TPA_DEVICE_ACTIVE);
	CU_ASSERT_EQUAL(all[0].state_changed_at, 3020);
	CU_ASSERT_EQUAL(all[1].state_changed_at, 0);
	free(all);
	/* Unknown device, bad state: nothing. */
	CU_ASSERT_EQUAL(tpa_store_set_state(s, ID3, TPA_DEVICE_REVOKED, 3030), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_set_state(s, ID1, (tpa_device_state)7, 3030),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.state_changed_at, 3020);
	CU_ASSERT_EQUAL(tpa_store_audit_count(&after, s, ID1), 0);
	CU_ASSERT_EQUAL(after, before + 5);  /* revoke twice, attest, enroll, reinstate */
	tpa_store_close(s);
}

static void test_manufacturer(void)
{
	char p[300], *tok = NULL;
	tpa_store *s = open_file("v3.db", p, sizeof(p));
	tpa_device d, *all = NULL;
	size_t n = 0, before = 0, after = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_audit_count(&before, s, NULL), 0);
	CU_ASSERT_EQUAL(tpa_store_set_manufacturer(s, ID1, "IBM"), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(d.tpm_manufacturer, "IBM");
	CU_ASSERT_EQUAL(tpa_store_find_by_ak(&d, s, "000b3001"), 0);
	CU_ASSERT_STRING_EQUAL(d.tpm_manufacturer, "IBM");
	/* Replaced; the longest (15 bytes; a space is printable). */
	CU_ASSERT_EQUAL(tpa_store_set_manufacturer(s, ID1, "IFX"), 0);
	CU_ASSERT_EQUAL(tpa_store_set_manufacturer(s, ID2, "Nuvoton NPCT75~"), 0);
	CU_ASSERT_EQUAL(tpa_store_list(&all, &n, s), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(all[0].tpm_manufacturer, "IFX");
	CU_ASSERT_STRING_EQUAL(all[1].tpm_manufacturer, "Nuvoton NPCT75~");
	free(all);
	CU_ASSERT_EQUAL(tpa_store_last_token(&tok, &d, s, ID2), 0);
	CU_ASSERT_STRING_EQUAL(d.tpm_manufacturer, "Nuvoton NPCT75~");
	free(tok);
	/* Refused, nothing changed. */
	CU_ASSERT_EQUAL(tpa_store_set_manufacturer(s, ID1, "Nuvoton NPCT75xx"),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "manufacturer") != NULL);
	CU_ASSERT_EQUAL(tpa_store_set_manufacturer(s, ID1, "IB\x01"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_set_manufacturer(s, ID1, "IBM\n"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_set_manufacturer(s, ID1, "\xc3\x89T"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_set_manufacturer(s, ID1, "\x7f"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_set_manufacturer(s, ID1, ""), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_set_manufacturer(s, ID1, NULL), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_set_manufacturer(s, ID3, "IBM"), TPA_ERR_NOT_FOUND);
	CU_ASSERT(strstr(tpa_err_last(), "no device") != NULL);
	CU_ASSERT_EQUAL(tpa_store_set_manufacturer(s, "x'; DROP TABLE devices; --", "IBM"),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "device id") != NULL);
	CU_ASSERT_EQUAL(tpa_store_set_manufacturer(NULL, ID1, "IBM"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(d.tpm_manufacturer, "IFX");
	/* Enrolling again keeps it. */
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
					 sizeof(AKP), "000b3001", NULL, 0, 4000), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(d.tpm_manufacturer, "IFX");
	/* Not audited (only the enrollment was). */
	CU_ASSERT_EQUAL(tpa_store_audit_count(&after, s, NULL), 0);
	CU_ASSERT_EQUAL(after, before + 1);
	tpa_store_close(s);
}

/* The registry a --registry names: its backend from its form. */
/* Issue 14: a revoked device outlives its deletion (a tombstone) until an
 * operator reinstates it; devices are named by a unique id prefix. */
static void test_tombstone_and_prefix(void)
{
	static const char *A = "abcdef0111111111111111111111111111111111111111111111111111111111";
	static const char *B = "abcdef0122222222222222222222222222222222222222222222222222222222";
	static const char *C = "abcdef0233333333333333333333333333333333333333333333333333333333";
	tpa_store *s = open_store();
	tpa_device d;
	char id[TPA_DEVICE_ID_LEN + 1];
	size_t before = 0, after = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, A, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000bt001", NULL, 0, 400), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, B, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000bt002", NULL, 0, 400), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, C, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000bt003", NULL, 0, 400), 0);
	/* Prefixes: unique (16 hex, as the log prints, and 8), ambiguous, too
	 * short, not hex, unknown; a full id. */
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, "abcdef0111111111"), 0);
	CU_ASSERT_STRING_EQUAL(id, A);
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, "abcdef02"), 0);
	CU_ASSERT_STRING_EQUAL(id, C);
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, C), 0);
	CU_ASSERT_STRING_EQUAL(id, C);
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, "abcdef01"), TPA_ERR_CONFLICT);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "abcdef0111111111"));
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "abcdef0122222222"));
	/* Not an id's form: a host name no device reported. */
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, "abcdef0"), TPA_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "at least 8 lower-case hex digits"));
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, "ABCDEF01"), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, "abcdef01%"), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, "abc\tdef01"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, "abcdef09"), TPA_ERR_NOT_FOUND);

	/* Deleting an active device leaves nothing: it may enroll again. */
	CU_ASSERT_EQUAL(tpa_store_remove(s, C, 410), 0);
	CU_ASSERT_EQUAL(tpa_store_tombstoned(s, C), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, C, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000bt003", NULL, 0, 415), 0);

	/* Deleting a revoked one leaves a tombstone, audited, in the same
	 * transaction: enrolling it again is refused, nothing registered. */
	CU_ASSERT_EQUAL(tpa_store_set_state(s, A, TPA_DEVICE_REVOKED, 420), 0);
	CU_ASSERT_EQUAL(tpa_store_remove(s, A, 430), 0);
	CU_ASSERT_EQUAL(tpa_store_tombstoned(s, A), 1);
	CU_ASSERT_EQUAL(tpa_store_audit_count(&before, s, A), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, A, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000bt001", NULL, 0, 440), TPA_ERR_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "abcdef0111111111 is revoked"));
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, A), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_find_by_ak(&d, s, "000bt001"), TPA_ERR_NOT_FOUND);
	/* The tombstone is found by its prefix, so it can be reinstated by
	 * the name the log gave; it still counts for ambiguity. */
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, "abcdef0111111111"), 0);
	CU_ASSERT_STRING_EQUAL(id, A);
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, "abcdef01"), TPA_ERR_CONFLICT);
	/* Reinstating removes it (audited); then the TPM enrolls again. */
	CU_ASSERT_EQUAL(tpa_store_untombstone(s, A, 450), 0);
	CU_ASSERT_EQUAL(tpa_store_audit_count(&after, s, A), 0);
	CU_ASSERT_EQUAL(after, before + 1);
	CU_ASSERT_EQUAL(tpa_store_tombstoned(s, A), 0);
	CU_ASSERT_EQUAL(tpa_store_untombstone(s, A, 455), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_untombstone(s, "nothex", 455), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, A, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000bt001", NULL, 0, 460), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, A), 0);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_ACTIVE);
	/* A tombstone survives reopening the registry. */
	CU_ASSERT_EQUAL(tpa_store_set_state(s, B, TPA_DEVICE_REVOKED, 470), 0);
	CU_ASSERT_EQUAL(tpa_store_remove(s, B, 480), 0);
	tpa_store_close(s);
	s = open_store();
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_tombstoned(s, B), 1);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, B, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000bt002", NULL, 0, 490), TPA_ERR_REFUSED);
	tpa_store_close(s);
}

/* file made to hold len bytes of data (its strlen if len is 0), mode. */
static void put_file(const char *file, const char *data, size_t len, mode_t mode)
{
	FILE *f = fopen(file, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fwrite(data, 1, len ? len : strlen(data), f);
	fclose(f);
	chmod(file, mode);
}

static void test_open_by_name(void)
{
	tpa_store *s = NULL;
	tpa_device d;
	char own[280], named[300];

	/* "sqlite:PATH" and PATH are the same file (its own, beside the
	 * registry the other tests share). */
	snprintf(own, sizeof(own), "%s/by-name.db", dir);
	snprintf(named, sizeof(named), "sqlite:%s", own);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open(&s, named), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID2, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000b5001", NULL, 0, 5000), 0);
	tpa_store_close(s);
	s = NULL;
	CU_ASSERT_EQUAL_FATAL(tpa_store_open(&s, own), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID2), 0);
	CU_ASSERT_STRING_EQUAL(d.ak_name, "000b5001");
	tpa_store_close(s);
	s = NULL;
	/* PostgreSQL is named by its URI (both schemes); a server that is not
	 * there is UNAVAILABLE, and no file appears. */
	CU_ASSERT_EQUAL(tpa_store_open(&s, "postgresql://verifier@127.0.0.1:1/registry"),
			TPA_ERR_UNAVAILABLE);
	CU_ASSERT(strstr(tpa_err_last(), "postgresql database registry on 127.0.0.1") != NULL);
	CU_ASSERT_EQUAL(tpa_store_open(&s, "postgres://127.0.0.1:1/registry"),
			TPA_ERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(access("postgres:", F_OK), -1);
	CU_ASSERT_EQUAL(access("postgresql:", F_OK), -1);
	/* A file holding a PostgreSQL URI is a connection string: one line,
	 * bounded, private; each refused by name before anything connects. */
	{
		char conn[300], big[5000];

		snprintf(conn, sizeof(conn), "%s/bad.conn", dir);
		put_file(conn, "postgresql://127.0.0.1:1/a\nhost=elsewhere\n", 0, 0600);
		CU_ASSERT_EQUAL(tpa_store_open(&s, conn), TPA_ERR_PARSE);
		CU_ASSERT(strstr(tpa_err_last(), "one line") != NULL);
		memset(big, 'a', sizeof(big));
		memcpy(big, "postgresql://", 13);
		put_file(conn, big, sizeof(big), 0600);
		CU_ASSERT_EQUAL(tpa_store_open(&s, conn), TPA_ERR_LIMIT);
		put_file(conn, "postgresql://127.0.0.1:1/a\n", 0, 0640);
		CU_ASSERT_EQUAL(tpa_store_open(&s, conn), TPA_ERR_IO);
		CU_ASSERT(strstr(tpa_err_last(), "chmod 600") != NULL);
		chmod(conn, 0600);
		CU_ASSERT_EQUAL(tpa_store_open(&s, conn), TPA_ERR_UNAVAILABLE);
		CU_ASSERT_PTR_NULL(s);
		unlink(conn);
	}
	CU_ASSERT_EQUAL(tpa_store_open(&s, "mysql://db/registry"), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "'mysql://' is not a registry backend") != NULL);
	CU_ASSERT_EQUAL(tpa_store_open(&s, ""), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_open(&s, NULL), TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(s);
}

/* Admin commands open with tpa_store_open_existing: a typo'd path is refused
 * naming it, and no file (nor -wal/-shm) appears; a symlink is refused too;
 * a registry serve created opens, with what it holds. */
static void test_open_existing(void)
{
	tpa_store *s = NULL;
	tpa_device d;
	char own[280], typo[280], named[300], link[280], p[300];

	snprintf(own, sizeof(own), "%s/existing.db", dir);
	snprintf(typo, sizeof(typo), "%s/exsiting.db", dir);
	snprintf(link, sizeof(link), "%s/existing-link.db", dir);
	CU_ASSERT_EQUAL(tpa_store_open_existing(&s, typo), TPA_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT(strstr(tpa_err_last(), typo) != NULL);
	CU_ASSERT(strstr(tpa_err_last(), "does not exist (verifier serve --registry "
			 "creates one)") != NULL);
	CU_ASSERT_EQUAL(access(typo, F_OK), -1);
	snprintf(p, sizeof(p), "%s-wal", typo);
	CU_ASSERT_EQUAL(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "%s-shm", typo);
	CU_ASSERT_EQUAL(access(p, F_OK), -1);
	snprintf(named, sizeof(named), "sqlite:%s", typo);
	CU_ASSERT_EQUAL(tpa_store_open_existing(&s, named), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(access(typo, F_OK), -1);
	CU_ASSERT_EQUAL(tpa_store_open_existing(&s, "postgresql://127.0.0.1:1/registry"),
			TPA_ERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(tpa_store_open_existing(&s, ""), TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(s);

	/* What serve creates, an admin command opens. */
	CU_ASSERT_EQUAL_FATAL(tpa_store_open(&s, own), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID2, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000b5002", NULL, 0, 5000), 0);
	tpa_store_close(s);
	s = NULL;
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_existing(&s, own), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID2), 0);
	CU_ASSERT_STRING_EQUAL(d.ak_name, "000b5002");
	tpa_store_close(s);
	s = NULL;
	snprintf(named, sizeof(named), "sqlite:%s", own);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_existing(&s, named), 0);
	tpa_store_close(s);
	s = NULL;

	/* Never through a symbolic link. */
	CU_ASSERT_EQUAL_FATAL(symlink(own, link), 0);
	CU_ASSERT(tpa_store_open_existing(&s, link) < 0);
	CU_ASSERT(strstr(tpa_err_last(), "symbolic link") != NULL);
	CU_ASSERT_PTR_NULL(s);
}

/* Issue 14: what a device reports about its host is kept (a value not
 * reported keeps the one held), with first and last seen; a unique host
 * name names a device, case-insensitively; two devices with one name are
 * ambiguous, named by both prefixes; an id or prefix wins over a name. */
static void test_host_names(void)
{
	static const char *A = "1234567811111111111111111111111111111111111111111111111111111111";
	static const char *B = "1234567822222222222222222222222222222222222222222222222222222222";
	static const char *C = "fedcba9833333333333333333333333333333333333333333333333333333333";
	tpa_store *s = open_store();
	tpa_host_info h;
	tpa_device d;
	char id[TPA_DEVICE_ID_LEN + 1];
	size_t before = 0, after = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, A, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000bh001", NULL, 0, 500), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, B, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000bh002", NULL, 0, 500), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, C, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000bh003", NULL, 0, 500), 0);
	/* Enrolled, never seen: nothing reported. */
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, A), 0);
	CU_ASSERT_STRING_EQUAL(d.host.hostname, "");
	CU_ASSERT_EQUAL(d.first_seen, 0);
	CU_ASSERT_EQUAL(tpa_store_audit_count(&before, s, NULL), 0);

	memset(&h, 0, sizeof(h));
	snprintf(h.hostname, sizeof(h.hostname), "Alice-Laptop");
	snprintf(h.machine_id, sizeof(h.machine_id), "0123456789abcdef0123456789abcdef");
	snprintf(h.dmi_product, sizeof(h.dmi_product), "Test Machine 3000");
	snprintf(h.dmi_serial, sizeof(h.dmi_serial), "SN-0042");
	CU_ASSERT_EQUAL(tpa_store_set_host(s, A, &h, 510), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, A), 0);
	CU_ASSERT_STRING_EQUAL(d.host.hostname, "Alice-Laptop");
	CU_ASSERT_STRING_EQUAL(d.host.machine_id, "0123456789abcdef0123456789abcdef");
	CU_ASSERT_STRING_EQUAL(d.host.dmi_product, "Test Machine 3000");
	CU_ASSERT_STRING_EQUAL(d.host.dmi_serial, "SN-0042");
	CU_ASSERT_EQUAL(d.first_seen, 510);
	CU_ASSERT_EQUAL(d.last_seen, 510);
	/* Seen again, reporting only a new product: first_seen stays, the
	 * names not reported stay. */
	memset(&h, 0, sizeof(h));
	snprintf(h.dmi_product, sizeof(h.dmi_product), "Test Machine 4000");
	CU_ASSERT_EQUAL(tpa_store_set_host(s, A, &h, 520), 0);
	CU_ASSERT_EQUAL(tpa_store_set_host(s, A, NULL, 530), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, A), 0);
	CU_ASSERT_STRING_EQUAL(d.host.hostname, "Alice-Laptop");
	CU_ASSERT_STRING_EQUAL(d.host.dmi_product, "Test Machine 4000");
	CU_ASSERT_EQUAL(d.first_seen, 510);
	CU_ASSERT_EQUAL(d.last_seen, 530);
	/* The validator's refusals: nothing written. */
	memset(&h, 0, sizeof(h));
	snprintf(h.hostname, sizeof(h.hostname), "bad\x01name");
	CU_ASSERT_EQUAL(tpa_store_set_host(s, A, &h, 540), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "hostname: byte 4") != NULL);
	memset(&h, 0, sizeof(h));
	snprintf(h.machine_id, sizeof(h.machine_id), "0123");
	CU_ASSERT_EQUAL(tpa_store_set_host(s, A, &h, 540), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, A), 0);
	CU_ASSERT_STRING_EQUAL(d.host.hostname, "Alice-Laptop");
	CU_ASSERT_EQUAL(d.last_seen, 530);
	CU_ASSERT_EQUAL(tpa_store_set_host(s, "99999999999999999999999999999999"
					   "99999999999999999999999999999999", NULL, 540),
			TPA_ERR_NOT_FOUND);
	/* Not audited: reported, not a decision. */
	CU_ASSERT_EQUAL(tpa_store_audit_count(&after, s, NULL), 0);
	CU_ASSERT_EQUAL(after, before);

	/* By host name, in any case. */
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, "alice-laptop"), 0);
	CU_ASSERT_STRING_EQUAL(id, A);
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, "ALICE-LAPTOP"), 0);
	CU_ASSERT_STRING_EQUAL(id, A);
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, "alice"), TPA_ERR_NOT_FOUND);
	CU_ASSERT(strstr(tpa_err_last(), "no device with host name alice") != NULL);
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, ""), TPA_ERR_INVALID_ARG);
	/* Two devices reporting one name: ambiguous, both named. */
	memset(&h, 0, sizeof(h));
	snprintf(h.hostname, sizeof(h.hostname), "alice-laptop");
	CU_ASSERT_EQUAL(tpa_store_set_host(s, C, &h, 550), 0);
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, "alice-laptop"), TPA_ERR_CONFLICT);
	CU_ASSERT(strstr(tpa_err_last(), "1234567811111111") != NULL);
	CU_ASSERT(strstr(tpa_err_last(), "fedcba9833333333") != NULL);
	CU_ASSERT(strstr(tpa_err_last(), "host name alice-laptop is ambiguous") != NULL);
	/* The 16-digit prefix the log prints still names each. */
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, "fedcba9833333333"), 0);
	CU_ASSERT_STRING_EQUAL(id, C);
	/* A host name that looks like another device's prefix: the id wins. */
	memset(&h, 0, sizeof(h));
	snprintf(h.hostname, sizeof(h.hostname), "fedcba98");
	CU_ASSERT_EQUAL(tpa_store_set_host(s, B, &h, 560), 0);
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, "fedcba98"), 0);
	CU_ASSERT_STRING_EQUAL(id, C);
	/* ... but one that is no id's prefix finds its device. */
	snprintf(h.hostname, sizeof(h.hostname), "deadbeef");
	CU_ASSERT_EQUAL(tpa_store_set_host(s, B, &h, 570), 0);
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, "deadbeef"), 0);
	CU_ASSERT_STRING_EQUAL(id, B);
	/* The list carries the names. */
	{
		tpa_device *all = NULL;
		size_t n = 0, i, seen = 0;

		CU_ASSERT_EQUAL(tpa_store_list(&all, &n, s), 0);
		for (i = 0; i < n; i++)
			if (strcmp(all[i].id, B) == 0 && strcmp(all[i].host.hostname, "deadbeef") == 0 &&
			    all[i].first_seen == 560 && all[i].last_seen == 570)
				seen++;
		CU_ASSERT_EQUAL(seen, 1);
		free(all);
	}
	/* A deleted revoked device is found by the name it had, unless a
	 * device has that name. */
	CU_ASSERT_EQUAL(tpa_store_set_state(s, B, TPA_DEVICE_REVOKED, 580), 0);
	CU_ASSERT_EQUAL(tpa_store_remove(s, B, 590), 0);
	CU_ASSERT_EQUAL(tpa_store_find_device(id, s, "DeadBeef"), 0);
	CU_ASSERT_STRING_EQUAL(id, B);
	/* States by name. */
	{
		tpa_device_state st;

		CU_ASSERT_EQUAL(tpa_device_state_parse(&st, "revoked"), 0);
		CU_ASSERT_EQUAL(st, TPA_DEVICE_REVOKED);
		CU_ASSERT_EQUAL(tpa_device_state_parse(&st, "active"), 0);
		CU_ASSERT_EQUAL(st, TPA_DEVICE_ACTIVE);
		CU_ASSERT_EQUAL(tpa_device_state_parse(&st, "Active"), TPA_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(tpa_device_state_parse(&st, NULL), TPA_ERR_INVALID_ARG);
	}
	/* With a verdict: the names and that it was seen, in the verdict's
	 * statement (a field not reported keeps what was there); a name the
	 * validator refuses fails the record, nothing written. */
	{
		tpa_attest_record rec;

		memset(&rec, 0, sizeof(rec));
		memset(&h, 0, sizeof(h));
		snprintf(h.hostname, sizeof(h.hostname), "alice-desk");
		rec.host = &h;
		CU_ASSERT_EQUAL(tpa_store_record(s, A, 1, NULL, &rec, 600), 0);
		CU_ASSERT_EQUAL(tpa_store_get(&d, s, A), 0);
		CU_ASSERT_STRING_EQUAL(d.host.hostname, "alice-desk");
		CU_ASSERT_STRING_EQUAL(d.host.dmi_serial, "SN-0042");
		CU_ASSERT_EQUAL(d.last_seen, 600);
		CU_ASSERT_EQUAL(d.last_attest_at, 600);
		CU_ASSERT_EQUAL(d.first_seen, 510);
		snprintf(h.hostname, sizeof(h.hostname), "tab\there");
		CU_ASSERT_EQUAL(tpa_store_record(s, A, 1, NULL, &rec, 610), TPA_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(tpa_store_get(&d, s, A), 0);
		CU_ASSERT_EQUAL(d.last_attest_at, 600);
		/* Every field a verdict reports is written, the last of them
		 * too. */
		memset(&h, 0, sizeof(h));
		snprintf(h.machine_id, sizeof(h.machine_id), "fedcba9876543210fedcba9876543210");
		snprintf(h.dmi_product, sizeof(h.dmi_product), "Test Machine 5000");
		snprintf(h.dmi_serial, sizeof(h.dmi_serial), "SN-0043");
		CU_ASSERT_EQUAL(tpa_store_record(s, A, 1, NULL, &rec, 615), 0);
		CU_ASSERT_EQUAL(tpa_store_get(&d, s, A), 0);
		CU_ASSERT_STRING_EQUAL(d.host.hostname, "alice-desk");
		CU_ASSERT_STRING_EQUAL(d.host.machine_id, "fedcba9876543210fedcba9876543210");
		CU_ASSERT_STRING_EQUAL(d.host.dmi_product, "Test Machine 5000");
		CU_ASSERT_STRING_EQUAL(d.host.dmi_serial, "SN-0043");
		CU_ASSERT_EQUAL(d.last_seen, 615);
		/* Without: a record leaves the names and last seen as they were. */
		rec.host = NULL;
		CU_ASSERT_EQUAL(tpa_store_record(s, A, 1, NULL, &rec, 620), 0);
		CU_ASSERT_EQUAL(tpa_store_get(&d, s, A), 0);
		CU_ASSERT_EQUAL(d.last_seen, 615);
		CU_ASSERT_STRING_EQUAL(d.host.hostname, "alice-desk");
	}
	tpa_store_close(s);
}

/* Restore: an older schema is put in place as it is and migrated on the
 * next open; a newer one, or a registry that exists without force, is
 * refused and the target left as it was; check reports the counts. */
static void test_restore_and_check(void)
{
	char v1[300], newer[300], target[300], code[4096];
	tpa_store_check_report r;
	tpa_store *s = NULL;
	tpa_device d;
	struct stat st;

	snprintf(v1, sizeof(v1), "%s/restore-v1.db", dir);
	snprintf(newer, sizeof(newer), "%s/restore-newer.db", dir);
	snprintf(target, sizeof(target), "%s/restored.db", dir);
	snprintf(code, sizeof(code), "%s", V1_FILE);
	CU_ASSERT_EQUAL_FATAL(run_py(v1, code), 0);
	CU_ASSERT_EQUAL(tpa_store_restore(&r, target, v1, 0), 0);
	CU_ASSERT_EQUAL(r.schema_version, 1);
	CU_ASSERT_EQUAL(r.devices, 1);
	CU_ASSERT_EQUAL(r.revoked, 1);
	CU_ASSERT_EQUAL(r.audit_rows, 2);
	CU_ASSERT_EQUAL_FATAL(stat(target, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	/* Migrated when it is opened, as any older registry. */
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_existing(&s, target), 0);
	CU_ASSERT_EQUAL(tpa_store_check(&r, s), 0);
	CU_ASSERT_EQUAL(r.schema_version, TPA_STORE_SCHEMA_VERSION);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_REVOKED);
	tpa_store_close(s);
	s = NULL;

	/* A registry that exists: only with force; a newer schema: never. */
	CU_ASSERT_EQUAL(tpa_store_restore(NULL, target, v1, 0), TPA_ERR_CONFLICT);
	CU_ASSERT(strstr(tpa_err_last(), "exists") != NULL);
	snprintf(code, sizeof(code), "%sc.execute('INSERT INTO schema_version VALUES(%d)')\n",
		 V1_FILE, TPA_STORE_SCHEMA_VERSION + 1);
	CU_ASSERT_EQUAL_FATAL(run_py(newer, code), 0);
	CU_ASSERT_EQUAL(tpa_store_restore(NULL, target, newer, TPA_STORE_RESTORE_FORCE),
			TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), "is newer than this verifier's") != NULL);
	CU_ASSERT(strstr(tpa_err_last(), newer) != NULL);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_existing(&s, target), 0);
	CU_ASSERT_EQUAL(tpa_store_check(&r, s), 0);
	CU_ASSERT_EQUAL(r.schema_version, TPA_STORE_SCHEMA_VERSION);
	tpa_store_close(s);
	s = NULL;
	/* With force, over a registry no process holds. */
	CU_ASSERT_EQUAL(tpa_store_restore(&r, target, v1, TPA_STORE_RESTORE_FORCE), 0);
	CU_ASSERT_EQUAL(r.schema_version, 1);
	CU_ASSERT_EQUAL(tpa_store_restore(NULL, "", v1, 0), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_restore(NULL, "postgresql://x", v1, 0), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_check(&r, NULL), TPA_ERR_INVALID_ARG);
}

/* A pinned assignment holds its version as newer ones are added; pinning an
 * older one rolls back; following the latest again moves on; a version that
 * does not exist is refused by name; list shows every version and pin. */
static void test_pinned_assignment(void)
{
	char p[300], name[TPA_BASELINE_NAME_MAX + 1];
	tpa_store *s = open_file("pinned.db", p, sizeof(p));
	tpa_baseline_info *vs = NULL;
	tpa_assignment *as = NULL;
	size_t n = 0;
	int v = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000b0001", NULL, 0, 100), 0);
	CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "fleet", 101), 0);
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, "fleet", "{\"v\": 1}", 110), 0);
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, "fleet", "{\"v\": 2}", 120), 0);
	CU_ASSERT_EQUAL(v, 2);
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, "other", "{\"v\": 1}", 125), 0);
	/* fleet (latest) is v2; fleet@1 after it rolls back to v1. */
	CU_ASSERT_EQUAL(tpa_store_assign_version(s, "label", "fleet", "fleet", 0, 130), 0);
	CU_ASSERT_EQUAL(tpa_store_baseline_for(name, sizeof(name), &v, s, ID1), 0);
	CU_ASSERT_EQUAL(v, 2);
	CU_ASSERT_EQUAL(tpa_store_assign_version(s, "label", "fleet", "fleet", 1, 140), 0);
	CU_ASSERT_EQUAL(tpa_store_baseline_for(name, sizeof(name), &v, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(name, "fleet");
	CU_ASSERT_EQUAL(v, 1);
	/* A newer version does not move a pin. */
	CU_ASSERT_EQUAL(tpa_store_baseline_add(&v, s, "fleet", "{\"v\": 3}", 150), 0);
	CU_ASSERT_EQUAL(tpa_store_baseline_for(name, sizeof(name), &v, s, ID1), 0);
	CU_ASSERT_EQUAL(v, 1);
	/* A device's own pin wins over its label's. */
	CU_ASSERT_EQUAL(tpa_store_assign_version(s, "device", ID1, "fleet", 2, 155), 0);
	CU_ASSERT_EQUAL(tpa_store_baseline_for(name, sizeof(name), &v, s, ID1), 0);
	CU_ASSERT_EQUAL(v, 2);
	CU_ASSERT_EQUAL(tpa_store_assign(s, "device", ID1, NULL, 156), 0);
	/* A version that is not there: refused by name, the pin unchanged. */
	CU_ASSERT_EQUAL(tpa_store_assign_version(s, "label", "fleet", "fleet", 4, 160),
			TPA_ERR_NOT_FOUND);
	CU_ASSERT(strstr(tpa_err_last(), "no baseline fleet@4") != NULL);
	CU_ASSERT_EQUAL(tpa_store_assign_version(s, "label", "fleet", "other", 2, 160),
			TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_assign_version(s, "label", "fleet", "fleet", -1, 160),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_assign_version(s, "label", "fleet", NULL, 1, 160),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_baseline_for(name, sizeof(name), &v, s, ID1), 0);
	CU_ASSERT_EQUAL(v, 1);
	/* Following the latest again: v3. */
	CU_ASSERT_EQUAL(tpa_store_assign(s, "label", "fleet", "fleet", 170), 0);
	CU_ASSERT_EQUAL(tpa_store_baseline_for(name, sizeof(name), &v, s, ID1), 0);
	CU_ASSERT_EQUAL(v, 3);
	CU_ASSERT_EQUAL(tpa_store_assign_version(s, "label", "spare", "other", 1, 175), 0);

	/* Every version, in order, with when it was added. */
	CU_ASSERT_EQUAL(tpa_store_baseline_versions(&vs, &n, s, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_STRING_EQUAL(vs[0].name, "fleet");
	CU_ASSERT_EQUAL(vs[0].version, 1);
	CU_ASSERT_EQUAL(vs[0].added_at, 110);
	CU_ASSERT_EQUAL(vs[2].version, 3);
	CU_ASSERT_EQUAL(vs[2].added_at, 150);
	CU_ASSERT_STRING_EQUAL(vs[3].name, "other");
	free(vs);
	vs = NULL;
	CU_ASSERT_EQUAL(tpa_store_baseline_versions(&vs, &n, s, "other"), 0);
	CU_ASSERT_EQUAL(n, 1);
	free(vs);
	vs = NULL;
	CU_ASSERT_EQUAL(tpa_store_baseline_versions(&vs, &n, s, "nope"), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_baseline_versions(&vs, &n, s, "bad name"), TPA_ERR_INVALID_ARG);
	/* Every assignment, with its pin (0: latest). */
	CU_ASSERT_EQUAL(tpa_store_assignments(&as, &n, s, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(as[0].kind, "label");
	CU_ASSERT_STRING_EQUAL(as[0].target, "fleet");
	CU_ASSERT_EQUAL(as[0].version, 0);
	CU_ASSERT_STRING_EQUAL(as[1].target, "spare");
	CU_ASSERT_STRING_EQUAL(as[1].name, "other");
	CU_ASSERT_EQUAL(as[1].version, 1);
	CU_ASSERT_EQUAL(as[1].assigned_at, 175);
	free(as);
	as = NULL;
	CU_ASSERT_EQUAL(tpa_store_assignments(&as, &n, s, "other"), 0);
	CU_ASSERT_EQUAL(n, 1);
	free(as);
	tpa_store_close(s);
	CU_ASSERT_EQUAL(run_py(p,
		"a = c.execute('SELECT target, version FROM assignments ORDER BY target').fetchall()\n"
		"sys.exit(0 if a == [('fleet', None), ('spare', 1)] else 1)"), 0);
	/* The audit log says which version was pinned, or that none was. */
	CU_ASSERT_EQUAL(run_py(p,
		"d = [r[0] for r in c.execute(\"SELECT detail FROM audit WHERE event = 'assign' "
		"ORDER BY seq\")]\n"
		"sys.exit(0 if d[:2] == ['baseline fleet (latest) assigned to label fleet', "
		"'baseline fleet@1 assigned to label fleet'] else 1)"), 0);
}

/* Issue 14, item 2: a device admitted pending stays pending (and never
 * compliant, whatever was recorded) until approved; how it was admitted and
 * where its EK certificate came from are kept; a registered device keeps
 * its admission when it enrolls again. */
static void test_admission(void)
{
	static const char *P = "fedc000111111111111111111111111111111111111111111111111111111111";
	static const char *L = "fedc000222222222222222222222222222222222222222222222222222222222";
	tpa_store_admission pend = { 1, NULL, "file", NULL, NULL };
	tpa_store_admission listed = { 0, "allowlist", "none", "desk 12", "lab" };
	tpa_store_admission bad = { 0, "closed", "nv", NULL, NULL };
	tpa_attest_record rec = { 0 };
	tpa_compliance_answer a;
	tpa_device_state ds;
	tpa_store *s = open_store();
	tpa_device d;
	size_t before = 0, after = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_device_state_parse(&ds, "pending"), 0);
	CU_ASSERT_EQUAL(ds, TPA_DEVICE_PENDING);
	CU_ASSERT_STRING_EQUAL(tpa_device_state_name(TPA_DEVICE_PENDING), "pending");
	CU_ASSERT_EQUAL(tpa_device_state_parse(&ds, "gone"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "expected active, revoked or pending"));

	/* A bad admission writes nothing. */
	CU_ASSERT_EQUAL(tpa_store_enroll_admitted(s, P, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
						  sizeof(AKP), "000bad01", NULL, 0, &bad, 500),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, P), TPA_ERR_NOT_FOUND);

	CU_ASSERT_EQUAL(tpa_store_enroll_admitted(s, P, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
						  sizeof(AKP), "000bad01", NULL, 0, &pend, 500), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, P), 0);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_PENDING);
	CU_ASSERT_EQUAL(d.pending, 1);
	CU_ASSERT_STRING_EQUAL(d.admission, "");
	CU_ASSERT_STRING_EQUAL(d.ek_cert_source, "file");
	/* Never compliant, even with a compliant verdict recorded. */
	rec.token = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln";
	rec.token_exp = 2000;
	CU_ASSERT_EQUAL(tpa_store_record(s, P, 1, "", &rec, 510), 0);
	CU_ASSERT_EQUAL(tpa_compliance_answer_get(&a, s, P, 520, NULL), 0);
	CU_ASSERT_FALSE(a.compliant);
	CU_ASSERT_STRING_EQUAL(a.reason, "the device is pending approval (verifier devices approve)");
	tpa_compliance_answer_free(&a);
	/* Enrolling again (admitted by a list this time) keeps it pending,
	 * and without a certificate keeps the one it had. */
	CU_ASSERT_EQUAL(tpa_store_enroll_admitted(s, P, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
						  "000bad02", NULL, 0, &listed, 530), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, P), 0);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_PENDING);
	CU_ASSERT_STRING_EQUAL(d.label, "");
	CU_ASSERT_STRING_EQUAL(d.ek_cert_source, "file");
	CU_ASSERT_EQUAL(run_py(path, "assert c.execute(\"select length(ek_cert) from "
				    "devices where id like 'fedc0001%'\").fetchone()[0] == 2"), 0);
	/* With one, the source is refreshed, as the certificate. */
	pend.ek_cert_source = "nv";
	CU_ASSERT_EQUAL(tpa_store_enroll_admitted(s, P, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
						  sizeof(AKP), "000bad02", NULL, 0, &pend, 535), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, P), 0);
	CU_ASSERT_STRING_EQUAL(d.ek_cert_source, "nv");
	pend.ek_cert_source = "file";
	/* Approve: unknown, then pending (audited), then not pending. */
	CU_ASSERT_EQUAL(tpa_store_approve(s, L, 540), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_audit_count(&before, s, P), 0);
	CU_ASSERT_EQUAL(tpa_store_approve(s, P, 540), 0);
	CU_ASSERT_EQUAL(tpa_store_audit_count(&after, s, P), 0);
	CU_ASSERT_EQUAL(after, before + 1);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, P), 0);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_ACTIVE);
	CU_ASSERT_EQUAL(d.pending, 0);
	CU_ASSERT_STRING_EQUAL(d.admission, "approved");
	CU_ASSERT_EQUAL(tpa_compliance_answer_get(&a, s, P, 545, NULL), 0);
	/* The record of 510 counts now (the service never records one for a
	 * pending device: Attest refuses it). */
	CU_ASSERT_TRUE(a.compliant);
	tpa_compliance_answer_free(&a);
	CU_ASSERT_EQUAL(tpa_store_approve(s, P, 550), TPA_ERR_CONFLICT);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "is active, not pending approval"));

	/* Admitted by an inventory entry: its label, its name (the host name
	 * until the host reports one); revoked while pending: revoked wins,
	 * and approving it is refused. */
	listed.pending = 0;
	CU_ASSERT_EQUAL(tpa_store_enroll_admitted(s, L, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
						  "000bad03", NULL, 0, &listed, 560), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, L), 0);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_ACTIVE);
	CU_ASSERT_STRING_EQUAL(d.admission, "allowlist");
	CU_ASSERT_STRING_EQUAL(d.label, "lab");
	CU_ASSERT_STRING_EQUAL(d.ek_cert_source, "none");
	CU_ASSERT_EQUAL(run_py(path, "assert c.execute(\"select hostname from devices "
				    "where id like 'fedc0002%'\").fetchone()[0] == 'desk 12'"), 0);
	CU_ASSERT_EQUAL(tpa_store_remove(s, L, 570), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll_admitted(s, L, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
						  "000bad03", NULL, 0, &pend, 580), 0);
	CU_ASSERT_EQUAL(tpa_store_set_state(s, L, TPA_DEVICE_REVOKED, 590), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, L), 0);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_REVOKED);
	CU_ASSERT_EQUAL(tpa_store_approve(s, L, 600), TPA_ERR_CONFLICT);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "is revoked, not pending approval"));
	/* Reinstating does not approve it. */
	CU_ASSERT_EQUAL(tpa_store_set_state(s, L, TPA_DEVICE_ACTIVE, 610), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, L), 0);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_PENDING);

	/* Without an admission (tpa_store_enroll): open, the source by the
	 * certificate. */
	CU_ASSERT_EQUAL(tpa_store_remove(s, L, 620), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, L, EK, sizeof(EK), CERT, sizeof(CERT), AKP, sizeof(AKP),
					 "000bad03", NULL, 0, 630), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, L), 0);
	CU_ASSERT_STRING_EQUAL(d.admission, "open");
	CU_ASSERT_STRING_EQUAL(d.ek_cert_source, "nv");
	tpa_store_close(s);
}


/* ---- group commit: verdicts of concurrent callers in one transaction ---- */

#define GC_THREADS 16
#define GC_EACH 40
#define GC_DEVICES 8

static tpa_store *gc_store;
static char gc_ids[GC_DEVICES][TPA_DEVICE_ID_LEN + 1];

typedef struct {
	int t, ok, used, missing, other;
	char why_used[256], why_missing[256];
} gc_arg;

static void *gc_worker(void *p)
{
	gc_arg *a = p;
	uint8_t tag[TPA_SEAL_TAG_LEN];
	int i, err;

	for (i = 0; i < GC_EACH; i++) {
		tpa_attest_record rec;
		const char *id = gc_ids[a->t % GC_DEVICES];
		static const char *nobody =
			"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";

		memset(&rec, 0, sizeof(rec));
		rec.outcome = i % 3 ? "compliant" : "non-compliant";
		rec.token = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln";
		rec.token_exp = 5000;
		/* Every 8th call reuses the tag of the call before it: a
		 * challenge used already, refused alone in its group. */
		if (i == 0 || i % 8) {
			memset(tag, 0, sizeof(tag));
			tag[0] = (uint8_t)a->t;
			tag[1] = (uint8_t)i;
		}
		rec.seal_tag = tag;
		rec.seal_expires_ms = 4000000000000LL;
		/* Thread 0's every 5th verdict names a device that is not there. */
		err = tpa_store_record(gc_store, a->t == 0 && i % 5 == 4 ? nobody : id,
				       strcmp(rec.outcome, "compliant") == 0, NULL, &rec, 1000 + i);
		if (err == 0) {
			a->ok++;
		} else if (err == TPA_ERR_USED) {
			a->used++;
			snprintf(a->why_used, sizeof(a->why_used), "%s", tpa_err_last());
		} else if (err == TPA_ERR_NOT_FOUND) {
			a->missing++;
			snprintf(a->why_missing, sizeof(a->why_missing), "%s", tpa_err_last());
		} else {
			a->other++;
		}
	}
	return NULL;
}

static void test_group_commit(void)
{
	pthread_t th[GC_THREADS];
	gc_arg args[GC_THREADS];
	char p[1024];
	size_t k, rows = 0, n;
	int ok = 0, used = 0, missing = 0, other = 0, t;
	tpa_audit_report r;

	registry_name(p, sizeof(p), "group.db");
	CU_ASSERT_EQUAL_FATAL(tpa_store_open(&gc_store, p), 0);
	for (k = 0; k < GC_DEVICES; k++) {
		char ak[16];

		memset(gc_ids[k], "456789ab"[k], TPA_DEVICE_ID_LEN);
		gc_ids[k][TPA_DEVICE_ID_LEN] = '\0';
		snprintf(ak, sizeof(ak), "000b%04zx", k);
		CU_ASSERT_EQUAL(tpa_store_enroll(gc_store, gc_ids[k], EK, sizeof(EK), NULL, 0, AKP,
						 sizeof(AKP), ak, NULL, 0, 100), 0);
	}
	for (t = 0; t < GC_THREADS; t++) {
		memset(&args[t], 0, sizeof(args[t]));
		args[t].t = t;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t], NULL, gc_worker, &args[t]), 0);
	}
	for (t = 0; t < GC_THREADS; t++) {
		pthread_join(th[t], NULL);
		ok += args[t].ok;
		used += args[t].used;
		missing += args[t].missing;
		other += args[t].other;
	}
	/* Each call answered for itself: 4 reused tags a thread (i = 8, 16,
	 * 24, 32), thread 0's calls for no device at i = 4, 9, ..., 39 but
	 * 24 (its tag is refused first: 7), and the error of each in its own
	 * caller's words. */
	CU_ASSERT_EQUAL(other, 0);
	CU_ASSERT_EQUAL(used, GC_THREADS * 4);
	CU_ASSERT_EQUAL(missing, 7);
	CU_ASSERT_EQUAL(ok, GC_THREADS * GC_EACH - used - missing);
	CU_ASSERT_STRING_EQUAL(args[3].why_used, "challenge already used");
	CU_ASSERT(strstr(args[0].why_missing, "no device with id cdcdcdcd") != NULL);
	/* Exactly the verdicts answered 0 are in the registry, each audited,
	 * the chain whole. */
	for (k = 0; k < GC_DEVICES; k++) {
		CU_ASSERT_EQUAL(tpa_store_audit_count(&n, gc_store, gc_ids[k]), 0);
		rows += n - 1;                       /* its enroll row */
	}
	CU_ASSERT_EQUAL(rows, (size_t)ok);
	CU_ASSERT_EQUAL(tpa_audit_verify(&r, gc_store, NULL, NULL), 0);
	CU_ASSERT(r.intact);
	tpa_store_close(gc_store);
	if (!pg)
		test_registry_remove(p, dir);
}

/* Retention: audit rows leave only through tpa_audit_prune, archived, and
 * the log verifies from where it then starts; rows removed another way
 * break it; a broken log is not pruned; evidence of devices gone quiet. */
static void test_audit_prune(void)
{
	char p[1024], arch[300], arch2[300], cmd[1600], line[512];
	static const uint8_t log[] = { 1, 2, 3, 4 };
	tpa_audit_prune_report r;
	tpa_audit_report ar;
	tpa_attest_record rec;
	tpa_store *s = open_file("prune.db", p, sizeof(p));
	uint8_t *got = NULL;
	char *pcrs = NULL;
	size_t len = 0, n = 0, lines = 0;
	struct stat stt;
	FILE *f;
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000bee01", NULL, 0, 100), 0);
	for (i = 1; i <= 4; i++)
		CU_ASSERT_EQUAL(tpa_store_audit_note(s, NULL, "note", "n", 100 + 10 * i), 0);
	memset(&rec, 0, sizeof(rec));
	rec.event_log = log;
	rec.event_log_len = sizeof(log);
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 300), 0);
	/* Rows 1 (enroll, 100), 2 to 5 (notes, 110 to 140), 6 (attest, 300). */
	snprintf(arch, sizeof(arch), "%s/prune-1.jsonl", dir);
	snprintf(arch2, sizeof(arch2), "%s/prune-2.jsonl", dir);
	CU_ASSERT_EQUAL(tpa_audit_prune(&r, s, 125, arch, 400), 0);
	CU_ASSERT_EQUAL(r.pruned, 3);
	CU_ASSERT_EQUAL(r.first, 1);
	CU_ASSERT_EQUAL(r.last, 3);
	CU_ASSERT_EQUAL(r.first_kept, 4);
	CU_ASSERT_EQUAL(strlen(r.sha256), 64);
	/* The archive: private, the three rows as JSON lines, its SHA-256 the
	 * one the log records. */
	CU_ASSERT_EQUAL_FATAL(stat(arch, &stt), 0);
	CU_ASSERT_EQUAL(stt.st_mode & 0777, 0600);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(arch, "r"));
	while (fgets(line, sizeof(line), f))
		lines += strstr(line, "\"type\":\"row\"") != NULL;
	fclose(f);
	CU_ASSERT_EQUAL(lines, 3);
	snprintf(cmd, sizeof(cmd), "sha256sum %s | grep -q '^%s '", arch, r.sha256);
	CU_ASSERT_EQUAL(system(cmd), 0);
	/* The log verifies from row 4; the prune is its last row. */
	CU_ASSERT_EQUAL(tpa_audit_verify(&ar, s, NULL, NULL), 0);
	CU_ASSERT(ar.intact);
	CU_ASSERT_EQUAL(ar.first_seq, 4);
	CU_ASSERT_EQUAL(ar.rows, 4);                /* 4, 5, 6 and the prune's 7 */
	CU_ASSERT_EQUAL(tpa_store_audit_count(&n, s, NULL), 0);
	CU_ASSERT_EQUAL(n, 4);
	/* Nothing older: nothing done, no file; an archive there is kept. */
	CU_ASSERT_EQUAL(tpa_audit_prune(&r, s, 50, arch2, 410), 0);
	CU_ASSERT_EQUAL(r.pruned, 0);
	CU_ASSERT_EQUAL(access(arch2, F_OK), -1);
	CU_ASSERT_EQUAL(tpa_audit_prune(&r, s, 200, arch, 410), TPA_ERR_CONFLICT);
	/* Never through a symbolic link (to a file, or to none yet). */
	{
		char ln[300], target[300];

		snprintf(ln, sizeof(ln), "%s/prune-link.jsonl", dir);
		snprintf(target, sizeof(target), "%s/prune-target.jsonl", dir);
		CU_ASSERT_EQUAL(symlink(target, ln), 0);
		CU_ASSERT_EQUAL(tpa_audit_prune(&r, s, 200, ln, 410), TPA_ERR_CONFLICT);
		CU_ASSERT_EQUAL(access(target, F_OK), -1);
		unlink(ln);
	}
	CU_ASSERT_EQUAL(tpa_store_audit_count(&n, s, NULL), 0);
	CU_ASSERT_EQUAL(n, 4);
	/* Everything but the last row (the first prune's), again: each prune
	 * names its own start. */
	CU_ASSERT_EQUAL(tpa_audit_prune(&r, s, 1000, arch2, 420), 0);
	CU_ASSERT_EQUAL(r.first, 4);
	CU_ASSERT_EQUAL(r.last, 6);
	CU_ASSERT_EQUAL(r.first_kept, 7);
	CU_ASSERT_EQUAL(tpa_audit_verify(&ar, s, NULL, NULL), 0);
	CU_ASSERT_EQUAL(ar.first_seq, 7);
	CU_ASSERT_EQUAL(ar.rows, 2);                /* the two prunes' rows */
	/* The store refuses what is not a prune of rows there are. */
	CU_ASSERT_EQUAL(tpa_store_audit_prune(&r.first_kept, s, 8, "x", r.sha256, 430),
			TPA_ERR_INVALID_ARG);       /* the last row */
	CU_ASSERT_EQUAL(tpa_store_audit_prune(&r.first_kept, s, 3, "x", r.sha256, 430),
			TPA_ERR_INVALID_ARG);       /* gone already */
	CU_ASSERT_EQUAL(tpa_store_audit_prune(&r.first_kept, s, 7, "a\nb", r.sha256, 430),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_audit_prune(&r.first_kept, s, 7, "x", "beef", 430),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_audit_verify(&ar, s, NULL, NULL), 0);
	/* Evidence of a device not attested since the cutoff goes. */
	CU_ASSERT_EQUAL(tpa_store_evidence_prune(&n, s, 300), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(tpa_store_evidence_prune(&n, s, 301), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(tpa_store_last_evidence(&got, &len, &pcrs, s, ID1), 0);
	CU_ASSERT_PTR_NULL(got);
	CU_ASSERT_EQUAL(len, 0);
	free(got);
	free(pcrs);
	/* Rows removed another way (past the append-only rule, as only someone
	 * with the database's keys can): the log no longer verifies, and a
	 * broken log is not pruned. */
	CU_ASSERT_EQUAL(tpa_store_audit_note(s, NULL, "note", "after", 500), 0);
	CU_ASSERT_EQUAL(tpa_store_audit_note(s, NULL, "note", "after", 510), 0);
	tpa_store_close(s);
	if (pg) {
		CU_ASSERT_EQUAL(test_pg_sql(p, "ALTER TABLE audit DISABLE TRIGGER audit_append_only; "
					    "DELETE FROM audit WHERE seq = 7", NULL), 0);
	} else {
		CU_ASSERT_EQUAL(test_run_py(dir, p, "", "c.execute('DROP TRIGGER audit_no_delete')\n"
					    "c.execute('DELETE FROM audit WHERE seq = 7')"), 0);
	}
	CU_ASSERT_EQUAL_FATAL(tpa_store_open(&s, p), 0);
	CU_ASSERT_EQUAL(tpa_audit_verify(&ar, s, NULL, NULL), TPA_ERR_VERIFY);
	CU_ASSERT_EQUAL(ar.broken_seq, 8);
	CU_ASSERT(strstr(ar.reason, "no audit-prune row says so") != NULL);
	snprintf(arch, sizeof(arch), "%s/prune-3.jsonl", dir);
	CU_ASSERT_EQUAL(tpa_audit_prune(&r, s, 505, arch, 600), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "nothing pruned") != NULL);
	CU_ASSERT_EQUAL(access(arch, F_OK), -1);
	tpa_store_close(s);
}

/* Evidence leaves through an archive: a cutoff after now and an archive
 * that exists are refused with the evidence kept; a device attested since
 * the cutoff keeps its own; then the archive holds the log (base64) and it
 * is gone from the registry. */
static void test_evidence_prune(void)
{
	char p[1024], arch[300], line[1024];
	static const uint8_t log[] = { 1, 2, 3, 4 };
	tpa_attest_record rec;
	tpa_store *s = open_file("evprune.db", p, sizeof(p));
	uint8_t *got = NULL;
	char *pcrs = NULL;
	size_t len = 0, n = 9, lines = 0;
	struct stat stt;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000bee01", NULL, 0, 100), 0);
	memset(&rec, 0, sizeof(rec));
	rec.event_log = log;
	rec.event_log_len = sizeof(log);
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, &rec, 300), 0);
	snprintf(arch, sizeof(arch), "%s/evprune.jsonl", dir);
	CU_ASSERT_EQUAL(tpa_audit_evidence_prune(&n, s, 301, arch, 300), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(access(arch, F_OK), -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(arch, "w"));
	fclose(f);
	CU_ASSERT_EQUAL(tpa_audit_evidence_prune(&n, s, 301, arch, 400), TPA_ERR_CONFLICT);
	CU_ASSERT_EQUAL(tpa_store_last_evidence(&got, &len, &pcrs, s, ID1), 0);
	CU_ASSERT_EQUAL(len, sizeof(log));
	free(got);
	free(pcrs);
	unlink(arch);
	/* Attested at 300: not before a cutoff of 300. */
	CU_ASSERT_EQUAL(tpa_audit_evidence_prune(&n, s, 300, arch, 400), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(access(arch, F_OK), -1);
	CU_ASSERT_EQUAL(tpa_audit_evidence_prune(&n, s, 301, arch, 400), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL_FATAL(stat(arch, &stt), 0);
	CU_ASSERT_EQUAL(stt.st_mode & 0777, 0600);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(arch, "r"));
	while (fgets(line, sizeof(line), f)) {
		lines++;
		CU_ASSERT(strstr(line, ID1) != NULL);
		CU_ASSERT(strstr(line, "\"event_log\":\"AQIDBA==\"") != NULL);
	}
	fclose(f);
	CU_ASSERT_EQUAL(lines, 1);
	got = NULL;
	CU_ASSERT_EQUAL(tpa_store_last_evidence(&got, &len, &pcrs, s, ID1), 0);
	CU_ASSERT_PTR_NULL(got);
	free(got);
	free(pcrs);
	unlink(arch);
	tpa_store_close(s);
}

/* PostgreSQL only: what a server, not a file, can get wrong. */
static void test_pg_faults(void)
{
	tpa_store *s = NULL, *t = NULL;
	char p[1024], cmd[2048], conn[300];
	FILE *f;

	/* Nothing listens: UNAVAILABLE, at once, naming where. */
	CU_ASSERT_EQUAL(tpa_store_open(&s, "postgresql://tpa@127.0.0.1:1/tpa"),
			TPA_ERR_UNAVAILABLE);
	CU_ASSERT(strstr(tpa_err_last(), "cannot connect") != NULL);
	CU_ASSERT(strstr(tpa_err_last(), "127.0.0.1") != NULL);
	CU_ASSERT_PTR_NULL(s);
	/* A role that does not exist, a password that is wrong: refused as
	 * the server says, the password never in the message. */
	registry_name(p, sizeof(p), "faults");
	snprintf(cmd, sizeof(cmd), "%s&user=nobody_here&password=s3cr3t-pw", p);
	CU_ASSERT_EQUAL(tpa_store_open(&s, cmd), TPA_ERR_UNAVAILABLE);
	CU_ASSERT(strstr(tpa_err_last(), "nobody_here") != NULL);
	CU_ASSERT(strstr(tpa_err_last(), "s3cr3t-pw") == NULL);
	/* An empty schema is made a registry only by serve (create). */
	CU_ASSERT_EQUAL(tpa_store_open_existing(&s, p), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open(&s, p), 0);
	/* Two stores (two replicas) on one schema: the second finds it made. */
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_existing(&t, p), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000bfa01", NULL, 0, 100), 0);
	{
		tpa_device d;

		CU_ASSERT_EQUAL(tpa_store_get(&d, t, ID1), 0);
	}
	tpa_store_close(t);
	tpa_store_close(s);
	/* The schema's own checks, whoever writes. */
	CU_ASSERT_EQUAL(pg_sql_fails(p, "UPDATE devices SET last_token = 'a' || chr(10), "
				     "last_token_exp = 1", "devices_last_token_check"), 0);
	CU_ASSERT_EQUAL(pg_sql_fails(p, "UPDATE devices SET tpm_manufacturer = "
				     "'ABCDEFGHIJKLMNOP'", "devices_tpm_manufacturer_check"), 0);
	CU_ASSERT_EQUAL(pg_sql_fails(p, "UPDATE devices SET last_token_exp = 5",
				     "devices_check"), 0);
	CU_ASSERT_EQUAL(pg_sql_fails(p, "INSERT INTO used_seals VALUES('\\\\x00', 1)",
				     "used_seals_tag_check"), 0);
	/* A newer schema than ours: refused, nothing written. */
	snprintf(cmd, sizeof(cmd), "psql -q \"%s\" -c 'INSERT INTO schema_version VALUES(99)'",
		 p);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	CU_ASSERT_EQUAL(tpa_store_open(&s, p), TPA_ERR_IO);
	CU_ASSERT(strstr(tpa_err_last(), "schema version 99 is newer") != NULL);
	/* Another program's tables: left as they are. */
	registry_name(p, sizeof(p), "foreign");
	snprintf(cmd, sizeof(cmd), "psql -q \"%s\" -c 'CREATE TABLE t_other(x int)'", p);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	CU_ASSERT_EQUAL(tpa_store_open(&s, p), TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), "another program's") != NULL);
	/* A connection string in a file: it must be private. */
	registry_name(p, sizeof(p), "from_file");
	snprintf(conn, sizeof(conn), "%s/registry.conn", dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(conn, "w"));
	fprintf(f, "%s\n", p);
	fclose(f);
	chmod(conn, 0644);
	CU_ASSERT_EQUAL(tpa_store_open(&s, conn), TPA_ERR_IO);
	CU_ASSERT(strstr(tpa_err_last(), "chmod 600") != NULL);
	chmod(conn, 0600);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open(&s, conn), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID2, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000bfa02", NULL, 0, 100), 0);
	tpa_store_close(s);
	unlink(conn);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;
	char cmd[300];

	if (!mkdtemp(dir))
		return 2;
	pg = test_pg();
	if (pg)
		registry_name(path, sizeof(path), "registry");
	else
		snprintf(path, sizeof(path), "%s/registry.db", dir);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	if (pg) {
		s = CU_add_suite("store (PostgreSQL)", NULL, NULL);
		CU_add_test(s, "enroll, get, find by AK", test_enroll_and_get);
		CU_add_test(s, "enrolling again replaces the AK", test_reenroll_adds_or_replaces_ak);
		CU_add_test(s, "revoke, record, list, delete", test_revoke_record_list_delete);
		CU_add_test(s, "audit is append-only; data persists",
			    test_audit_append_only_and_persistent);
		CU_add_test(s, "baselines: add, get, list", test_baseline_add_get_list);
		CU_add_test(s, "baselines are append-only", test_baseline_append_only);
		CU_add_test(s, "assignments, labels, the baseline for a device",
			    test_assign_and_labels);
		CU_add_test(s, "record with and without evidence", test_record_evidence);
		CU_add_test(s, "group commit: 16 threads' verdicts, each answered for itself",
			    test_group_commit);
		CU_add_test(s, "invalid inputs refused", test_invalid_inputs);
		CU_add_test(s, "tokens: record, last token, cleared by a record without",
			    test_token);
		CU_add_test(s, "tokens too long or not printable: refused, nothing written",
			    test_token_refused);
		CU_add_test(s, "revoke and reinstate set state_changed_at", test_state_changed_at);
		CU_add_test(s, "TPM manufacturer: set, read, refusals", test_manufacturer);
		CU_add_test(s, "tombstones across delete, reinstate; device id prefixes",
			    test_tombstone_and_prefix);
		CU_add_test(s, "host names: kept, found, ambiguous; first and last seen",
			    test_host_names);
		CU_add_test(s, "pinned assignments: hold, roll back, refuse a missing version",
			    test_pinned_assignment);
		CU_add_test(s, "admission: pending, approve, how admitted, the EK certificate's "
			    "source", test_admission);
		CU_add_test(s, "unreachable, bad credentials, newer and foreign schemas, a "
			    "connection-string file", test_pg_faults);
		CU_add_test(s, "retention: audit rows pruned through an archive, the log "
			    "verifies from its new start; evidence", test_audit_prune);
		CU_add_test(s, "retention: evidence archived, then dropped; refusals",
			    test_evidence_prune);
		failed = test_run_all();
		printf("test_store: %u checks of the SQLite file's own SQL not run on PostgreSQL\n",
		       sqlite_only);
		rmdir(dir);
		return failed ? 1 : 0;
	}
	s = CU_add_suite("store (SQLite files)", NULL, NULL);
	CU_add_test(s, "enroll, get, find by AK", test_enroll_and_get);
	CU_add_test(s, "a registry opened by its name: sqlite:, a path, postgresql://",
		    test_open_by_name);
	CU_add_test(s, "enrolling again replaces the AK", test_reenroll_adds_or_replaces_ak);
	CU_add_test(s, "revoke, record, list, delete", test_revoke_record_list_delete);
	CU_add_test(s, "audit is append-only; data persists", test_audit_append_only_and_persistent);
	CU_add_test(s, "corrupt, unreachable and newer files", test_bad_files);
	CU_add_test(s, "a registry that cannot be written", test_unwritable);
	CU_add_test(s, "the registry file is private, never a symlink", test_private_file);
	CU_add_test(s, "schema 1 migrates to 8, keeping everything", test_migrate_v1);
	CU_add_test(s, "baselines: add, get, list", test_baseline_add_get_list);
	CU_add_test(s, "baselines are append-only", test_baseline_append_only);
	CU_add_test(s, "assignments, labels, the baseline for a device", test_assign_and_labels);
	CU_add_test(s, "record with and without evidence", test_record_evidence);
	CU_add_test(s, "group commit: 16 threads' verdicts, each answered for itself",
		    test_group_commit);
	CU_add_test(s, "invalid inputs refused", test_invalid_inputs);
	CU_add_test(s, "schema 2 migrates to 8, keeping everything", test_migrate_v2);
	CU_add_test(s, "schema 7 migrates to 8: tokens kept, their CHECK a cheap one",
		    test_migrate_v7_token);
	CU_add_test(s, "tokens: record, last token, cleared by a record without", test_token);
	CU_add_test(s, "statements kept prepared: every read ends with its call",
		    test_kept_statements);
	CU_add_test(s, "tokens too long or not printable: refused, nothing written",
		    test_token_refused);
	CU_add_test(s, "revoke and reinstate set state_changed_at", test_state_changed_at);
	CU_add_test(s, "TPM manufacturer: set, read, refusals", test_manufacturer);
	CU_add_test(s, "open_existing: a missing registry is refused, never created",
		    test_open_existing);
	CU_add_test(s, "tombstones across delete, reinstate; device id prefixes",
		    test_tombstone_and_prefix);
	CU_add_test(s, "host names: kept, found, ambiguous; first and last seen", test_host_names);
	CU_add_test(s, "restore: an older schema migrated on open, a newer refused; check",
		    test_restore_and_check);
	CU_add_test(s, "pinned assignments: hold, roll back, refuse a missing version",
		    test_pinned_assignment);
	CU_add_test(s, "admission: pending, approve, how admitted, the EK certificate's source",
		    test_admission);
	CU_add_test(s, "retention: audit rows pruned through an archive, the log verifies from "
		    "its new start; evidence", test_audit_prune);
	CU_add_test(s, "retention: evidence archived, then dropped; refusals", test_evidence_prune);
	failed = test_run_all();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_store: cannot remove %s\n", dir);
	return failed ? 1 : 0;
}
