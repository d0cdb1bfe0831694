/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared by the CUnit test programs. */
#ifndef TPA_TEST_TESTUTIL_H
#define TPA_TEST_TESTUTIL_H

#include "tpa/findings.h"

/* Runs every registered suite verbosely, cleans the registry up and returns
 * the number of failures (asserts, suites and tests). */
unsigned test_run_all(void);

/* Runs python3 on a registry file db: sqlite3 and sys imported, c a
 * connection to it, then prelude and code, then c.commit(); the script is
 * written in dir. 0 if it exits 0. */
int test_run_py(const char *dir, const char *db, const char *prelude, const char *code);

/* A check's outcome (-1 if absent) and detail ("" if absent): a missing
 * check fails an assertion instead of crashing the runner. */
int test_check_passed(const tpa_findings *f, const char *name);
const char *test_check_detail(const tpa_findings *f, const char *name);

/* Removes an SQLite registry file with its -wal and -shm files, then the
 * (now empty) directory it was made in. */
void test_registry_remove(const char *path, const char *dir);

/* PostgreSQL (TPA_TEST_PG: a libpq URI of a server, see
 * tests/integration/test_registry_pg.sh): the URI, or NULL for SQLite. */
const char *test_pg(void);
/* The URI of a registry in schema prefix_name of that server (its '.' and
 * '-' made '_'), the schema created if it is not there. */
void test_pg_registry(char *out, size_t cap, const char *prefix, const char *name);
/* Runs SQL through psql on the registry where: 0 if it succeeded; with
 * expect, 0 if it failed with a message holding expect, 1 if it succeeded. */
int test_pg_sql(const char *where, const char *sql, const char *expect);

#endif
