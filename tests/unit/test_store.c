/* SPDX-License-Identifier: BSD-3-Clause */
/* The SQLite device registry on real files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tpa/err.h"
#include "tpa/store.h"

static char dir[] = "/tmp/tpa-store-XXXXXX";
static char path[256];

static const char *ID1 = "1111111111111111111111111111111111111111111111111111111111111111";
static const char *ID2 = "2222222222222222222222222222222222222222222222222222222222222222";
static const uint8_t EK[] = { 1, 2, 3 }, CERT[] = { 0x30, 0 }, AKP[] = { 9, 9 };

static tpa_store *open_store(void)
{
	tpa_store *s = NULL;

	CU_ASSERT_EQUAL(tpa_store_open_sqlite(&s, path), 0);
	return s;
}

static void test_enroll_and_get(void)
{
	tpa_store *s = open_store();
	tpa_device d;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
					 sizeof(AKP), "000baaaa", 100), 0);
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
					 0, AKP, sizeof(AKP), "x", 1), TPA_ERR_INVALID_ARG);
	tpa_store_close(s);
}

static void test_reenroll_replaces_ak(void)
{
	tpa_store *s = open_store();
	tpa_device d;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
					 sizeof(AKP), "000bbbbb", 200), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_STRING_EQUAL(d.ak_name, "000bbbbb");
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
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, 300), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.last_attest_at, 300);
	CU_ASSERT_STRING_EQUAL(d.last_verdict, "compliant");
	CU_ASSERT_EQUAL(tpa_store_set_state(s, ID1, TPA_DEVICE_REVOKED, 310), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_REVOKED);
	/* Enrolling again does not un-revoke. */
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000bbbbb", 320), 0);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID1), 0);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_REVOKED);
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 0, "quote.nonce: wrong", 330), 0);
	CU_ASSERT_EQUAL(tpa_store_set_state(s, ID2, TPA_DEVICE_REVOKED, 1), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID2, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000bcccc", 340), 0);
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
	char cmd[512];
	tpa_store *s;
	tpa_device d;

	/* Reopened: everything committed is there. */
	s = open_store();
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_get(&d, s, ID2), 0);
	tpa_store_close(s);
	/* The audit log refuses changes, even through SQL. */
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
	tpa_store_close(NULL);
	CU_ASSERT_EQUAL(tpa_store_get(NULL, NULL, ID1), TPA_ERR_INVALID_ARG);
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
					 sizeof(AKP), "000b1111", 10), 0);
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
					 sizeof(AKP), "000b2222", 20), TPA_ERR_IO);
	CU_ASSERT(strstr(tpa_err_last(), "locked.db") != NULL);
	CU_ASSERT(strstr(tpa_err_last(), "locked") != NULL);
	/* Once the lock is gone, what was there is there and writes work. */
	for (i = 0; i < 500; i++) {
		if (tpa_store_enroll(s, ID2, EK, sizeof(EK), CERT, sizeof(CERT), AKP,
				     sizeof(AKP), "000b2222", 30) == 0)
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

int main(void)
{
	CU_pSuite s;
	unsigned failed;
	char cmd[300];

	if (!mkdtemp(dir))
		return 2;
	snprintf(path, sizeof(path), "%s/registry.db", dir);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("store (SQLite files)", NULL, NULL);
	CU_add_test(s, "enroll, get, find by AK", test_enroll_and_get);
	CU_add_test(s, "enrolling again replaces the AK", test_reenroll_replaces_ak);
	CU_add_test(s, "revoke, record, list, delete", test_revoke_record_list_delete);
	CU_add_test(s, "audit is append-only; data persists", test_audit_append_only_and_persistent);
	CU_add_test(s, "corrupt, unreachable and newer files", test_bad_files);
	CU_add_test(s, "a registry that cannot be written", test_unwritable);
	failed = test_run_all();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_store: cannot remove %s\n", dir);
	return failed ? 1 : 0;
}
