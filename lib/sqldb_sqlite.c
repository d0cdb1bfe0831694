/* SPDX-License-Identifier: BSD-3-Clause */
/* The SQLite driver of lib/sqldb.h. */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sqldb.h"

/* Statements are prepared once and kept, by their text: SQLite parses and
 * plans each statement in the time the registry read of a decision takes
 * (issue 15's profile: prepare was 16 % of a /v1/authz decision). A kept
 * statement is reset, and its bindings cleared, when it is given back; one
 * asked for while in use (a nested call with the same text) is prepared
 * afresh and finalized after. Texts beyond STMT_CACHE_MAX are not kept. */
#define STMT_CACHE_MAX 160

typedef struct lite lite;

typedef struct {
	struct sqldb_stmt base;
	sqlite3_stmt *st;
	lite *db;
	uint64_t hash;
	char *sql;                   /* kept ones only */
	int busy;
} lite_stmt;

struct lite {
	struct sqldb base;
	sqlite3 *db;
	lite_stmt *kept[STMT_CACHE_MAX];
	size_t nkept;
};

static const struct sqldb_ops lite_ops;

static lite_stmt *stmt_new(lite *l)
{
	lite_stmt *s = calloc(1, sizeof(*s));

	if (s) {
		s->base.ops = &lite_ops;
		s->db = l;
	}
	return s;
}

/* The kept statement for sql if it is free, else a new one (kept if there
 * is room and none with this text is). */
static int lite_prepare(sqldb_stmt **out, sqldb *d, const char *sql)
{
	lite *l = (lite *)d;
	uint64_t h = sqldb__hash(sql);
	lite_stmt *e;
	size_t i;
	int found = 0;

	for (i = 0; i < l->nkept; i++) {
		e = l->kept[i];
		if (e->hash != h || strcmp(e->sql, sql) != 0)
			continue;
		if (!e->busy) {
			e->busy = 1;
			*out = &e->base;
			return 0;
		}
		found = 1;
		break;
	}
	if (!(e = stmt_new(l)))
		return -1;
	if (found || l->nkept == STMT_CACHE_MAX) {
		if (sqlite3_prepare_v2(l->db, sql, -1, &e->st, NULL) != SQLITE_OK) {
			free(e);
			return -1;
		}
		*out = &e->base;
		return 0;
	}
	if (!(e->sql = strdup(sql)) ||
	    sqlite3_prepare_v3(l->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &e->st, NULL) !=
	    SQLITE_OK) {
		free(e->sql);
		free(e);
		return -1;
	}
	e->hash = h;
	e->busy = 1;
	l->kept[l->nkept++] = e;
	*out = &e->base;
	return 0;
}

static int lite_bind(sqldb_stmt *st, int i, char type, const void *v, size_t n, int64_t iv)
{
	sqlite3_stmt *s = ((lite_stmt *)st)->st;
	int rc;

	if (type == 'i')
		rc = sqlite3_bind_int64(s, i, iv);
	else if (!v)
		rc = sqlite3_bind_null(s, i);
	else if (type == 't')
		rc = sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		rc = sqlite3_bind_blob64(s, i, v, n, SQLITE_TRANSIENT);
	return rc == SQLITE_OK ? 0 : -1;
}

static int lite_step(sqldb_stmt *st)
{
	int rc = sqlite3_step(((lite_stmt *)st)->st);

	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static sqldb_type lite_column_type(sqldb_stmt *st, int col)
{
	switch (sqlite3_column_type(((lite_stmt *)st)->st, col)) {
	case SQLITE_NULL: return SQLDB_NULL;
	case SQLITE_INTEGER: return SQLDB_INTEGER;
	case SQLITE_TEXT: return SQLDB_TEXT;
	case SQLITE_BLOB: return SQLDB_BLOB;
	default: return SQLDB_OTHER;
	}
}

static int64_t lite_column_int(sqldb_stmt *st, int col)
{
	return sqlite3_column_int64(((lite_stmt *)st)->st, col);
}

static const unsigned char *lite_column_text(sqldb_stmt *st, int col)
{
	return sqlite3_column_text(((lite_stmt *)st)->st, col);
}

static const void *lite_column_blob(sqldb_stmt *st, int col)
{
	return sqlite3_column_blob(((lite_stmt *)st)->st, col);
}

static size_t lite_column_bytes(sqldb_stmt *st, int col)
{
	int n = sqlite3_column_bytes(((lite_stmt *)st)->st, col);

	return n > 0 ? (size_t)n : 0;
}

/* A kept statement is reset (ending its read) and its bindings cleared;
 * another is finalized. */
static void lite_release(sqldb_stmt *p)
{
	lite_stmt *st = (lite_stmt *)p;

	if (st->sql) {
		sqlite3_reset(st->st);
		sqlite3_clear_bindings(st->st);
		st->busy = 0;
		return;
	}
	sqlite3_finalize(st->st);
	free(st);
}

static int64_t lite_changes(sqldb *d)
{
	return sqlite3_changes64(((lite *)d)->db);
}

static int lite_exec(sqldb *d, const char *sql)
{
	return sqlite3_exec(((lite *)d)->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static const char *lite_errmsg(sqldb *d)
{
	return sqlite3_errmsg(((lite *)d)->db);
}

/* A file is never "lost"; a busy one past its timeout may be tried again. */
static sqldb_failure lite_failure(sqldb *d)
{
	int rc = sqlite3_errcode(((lite *)d)->db);

	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? SQLDB_RETRY : SQLDB_FAILED;
}

/* Every kept statement finalized, then the connection closed. */
static void lite_close(sqldb *d)
{
	lite *l = (lite *)d;
	size_t i;

	for (i = 0; i < l->nkept; i++) {
		sqlite3_finalize(l->kept[i]->st);
		free(l->kept[i]->sql);
		free(l->kept[i]);
	}
	sqlite3_close(l->db);
	free(l);
}

static int lite_params(sqldb_stmt *st)
{
	return sqlite3_bind_parameter_count(((lite_stmt *)st)->st);
}

static const struct sqldb_ops lite_ops = {
	.kind = SQLDB_SQLITE,
	.prepare = lite_prepare,
	.bind = lite_bind,
	.params = lite_params,
	.step = lite_step,
	.column_type = lite_column_type,
	.column_int = lite_column_int,
	.column_text = lite_column_text,
	.column_blob = lite_column_blob,
	.column_bytes = lite_column_bytes,
	.release = lite_release,
	.changes = lite_changes,
	.exec = lite_exec,
	.errmsg = lite_errmsg,
	.failure = lite_failure,
	.close = lite_close,
};

int sqldb__sqlite_open(sqldb **out, const char *path, int flags, const char **err_msg)
{
	lite *l;

	*out = NULL;
	if (!(l = calloc(1, sizeof(*l)))) {
		*err_msg = "out of memory";
		return -1;
	}
	l->base.ops = &lite_ops;
	if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE |
			    ((flags & SQLDB_SQLITE_CREATE) ? SQLITE_OPEN_CREATE : 0) |
			    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		*err_msg = l->db ? sqlite3_errmsg(l->db) : "out of memory";
		if (!l->db) {
			free(l);
			return -1;
		}
		*out = &l->base;
		return -1;
	}
	sqlite3_busy_timeout(l->db, 5000);
	*out = &l->base;
	return 0;
}

void *sqldb__sqlite_handle(sqldb *db)
{
	return db && db->ops == &lite_ops ? ((lite *)db)->db : NULL;
}
