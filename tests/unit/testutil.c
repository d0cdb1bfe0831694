/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <CUnit/Basic.h>

#include "testutil.h"

unsigned test_run_all(void)
{
	unsigned failed;

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed() +
		 CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed;
}

int test_run_py(const char *dir, const char *db, const char *prelude, const char *code)
{
	char script[300], cmd[700];
	FILE *f;

	snprintf(script, sizeof(script), "%s/check.py", dir);
	if (!(f = fopen(script, "w")))
		return -1;
	fprintf(f, "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\n%s\n%s\nc.commit()\n",
		prelude, code);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s '%s'", script, db);
	return system(cmd);
}

int test_check_passed(const tpa_findings *f, const char *name)
{
	const tpa_check *c = tpa_findings_find(f, name);

	return c ? c->passed : -1;
}

const char *test_check_detail(const tpa_findings *f, const char *name)
{
	const tpa_check *c = tpa_findings_find(f, name);

	return c ? c->detail : "";
}

void test_registry_remove(const char *path, const char *dir)
{
	char p[4200];

	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	unlink(path);
	rmdir(dir);
}

const char *test_pg(void)
{
	const char *pg = getenv("TPA_TEST_PG");

	return pg && *pg ? pg : NULL;
}

void test_pg_registry(char *out, size_t cap, const char *prefix, const char *name)
{
	const char *pg = test_pg();
	char schema[64], sql[128];
	size_t i;

	snprintf(schema, sizeof(schema), "%s_%s", prefix, name);
	for (i = 0; schema[i]; i++)
		if (schema[i] == '.' || schema[i] == '-')
			schema[i] = '_';
	snprintf(out, cap, "%s%soptions=-csearch_path%%3D%s", pg ? pg : "",
		 pg && strchr(pg, '?') ? "&" : "?", schema);
	snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS %s", schema);
	if (!pg || test_pg_sql(pg, sql, NULL) != 0)
		fprintf(stderr, "test: cannot create schema %s\n", schema);
}

int test_pg_sql(const char *where, const char *sql, const char *expect)
{
	char cmd[4096];

	if (!expect)
		snprintf(cmd, sizeof(cmd), "psql -q -v ON_ERROR_STOP=1 \"%s\" -c \"%s\" "
			 ">/dev/null", where, sql);
	else
		snprintf(cmd, sizeof(cmd), "out=$(psql -q -v ON_ERROR_STOP=1 \"%s\" -c \"%s\" "
			 "2>&1) && exit 1; case \"$out\" in *'%s'*) exit 0;; esac; "
			 "echo \"$out\" >&2; exit 2", where, sql, expect);
	return WEXITSTATUS(system(cmd));
}
