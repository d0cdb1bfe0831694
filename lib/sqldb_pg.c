/* SPDX-License-Identifier: BSD-3-Clause */
/* The PostgreSQL driver of lib/sqldb.h, on libpq.
 *
 * A statement's text is rewritten once ('?' and '?N' to '$N', outside
 * quotes) and prepared on the server under a name of its own the first time
 * it runs on a connection, with its parameters' types from the first
 * bindings (text, bytea, int8); after that only its name and values travel.
 * Results come as text: integers are read with strtoll, booleans as 0/1,
 * bytea from its hex form into a buffer of the statement's. A connection
 * that broke is reset by sqldb__pg_check, and every statement is prepared
 * again on the new one. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postgresql/libpq-fe.h>

#include "sqldb.h"

#define PARAMS_MAX 32
#define KEPT_MAX 160
#define COLS_MAX 64

/* The type oids of pg_type.h (server headers are not installed with libpq). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_OID 26
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

typedef struct pgc pgc;

typedef struct {
	struct sqldb_stmt base;
	pgc *c;
	char *sql;                   /* as given: the key */
	uint64_t hash;
	char *pgsql;                 /* with $N */
	int nparams;
	char name[24];
	unsigned gen;                /* the connection's, when prepared; 0 never */
	int kept, busy;
	Oid types[PARAMS_MAX];
	char *vals[PARAMS_MAX];
	int lens[PARAMS_MAX], fmts[PARAMS_MAX];
	PGresult *res;
	int row, nrows, ran;
	unsigned char *blob[COLS_MAX];
	size_t bloblen[COLS_MAX];
	int blobrow[COLS_MAX];
} pg_stmt;

struct pgc {
	struct sqldb base;
	PGconn *conn;
	pg_stmt *kept[KEPT_MAX];
	size_t nkept;
	unsigned next_name;
	unsigned gen;
	char err[512];
	sqldb_failure how;
	int64_t changes;
};

static const struct sqldb_ops pg_ops;

static void set_err(pgc *c, const char *msg, const char *state)
{
	size_t n;

	snprintf(c->err, sizeof(c->err), "%s", msg && *msg ? msg : "failed");
	n = strlen(c->err);
	while (n && (c->err[n - 1] == '\n' || c->err[n - 1] == ' '))
		c->err[--n] = '\0';
	if (PQstatus(c->conn) != CONNECTION_OK ||
	    (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)))
		c->how = SQLDB_LOST;
	else if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0))
		c->how = SQLDB_RETRY;
	else
		c->how = SQLDB_FAILED;
}

/* A result's failure, named by its primary message (no "ERROR:" prefix). */
static void res_err(pgc *c, const PGresult *r)
{
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	set_err(c, m ? m : PQerrorMessage(c->conn),
		r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL);
}

/* '?' and '?N' to '$N' outside quoted strings and identifiers; -1 for a
 * text with more parameters than PARAMS_MAX. */
static int rewrite(pg_stmt *st, const char *sql)
{
	size_t n = strlen(sql), o = 0;
	char *out = malloc(n * 3 + 1);
	int next = 0, max = 0;
	char q = 0;

	if (!out)
		return -1;
	while (*sql) {
		char ch = *sql++;

		if (q) {
			if (ch == q)
				q = 0;
			out[o++] = ch;
			continue;
		}
		if (ch == '\'' || ch == '"') {
			q = ch;
			out[o++] = ch;
			continue;
		}
		if (ch != '?') {
			out[o++] = ch;
			continue;
		}
		if (*sql >= '0' && *sql <= '9') {
			int v = 0;

			while (*sql >= '0' && *sql <= '9' && v < 1000)
				v = v * 10 + (*sql++ - '0');
			next = v;
		} else {
			next = max + 1;
		}
		if (next < 1 || next > PARAMS_MAX) {
			free(out);
			return -1;
		}
		if (next > max)
			max = next;
		o += (size_t)snprintf(out + o, n * 3 + 1 - o, "$%d", next);   /* 3 bytes at most */
	}
	out[o] = '\0';
	st->pgsql = out;
	st->nparams = max;
	return 0;
}

static pg_stmt *stmt_new(pgc *c, const char *sql)
{
	pg_stmt *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->base.ops = &pg_ops;
	st->c = c;
	if (!(st->sql = strdup(sql)) || rewrite(st, sql) < 0) {
		free(st->sql);
		free(st);
		return NULL;
	}
	st->hash = sqldb__hash(sql);
	snprintf(st->name, sizeof(st->name), "tpa%u", c->next_name++);
	return st;
}

static void stmt_free(pg_stmt *st)
{
	free(st->sql);
	free(st->pgsql);
	free(st);
}

static int pg_prepare(sqldb_stmt **out, sqldb *d, const char *sql)
{
	pgc *c = (pgc *)d;
	uint64_t h = sqldb__hash(sql);
	pg_stmt *st;
	size_t i;
	int found = 0;

	for (i = 0; i < c->nkept; i++) {
		st = c->kept[i];
		if (st->hash != h || strcmp(st->sql, sql) != 0)
			continue;
		if (!st->busy) {
			st->busy = 1;
			*out = &st->base;
			return 0;
		}
		found = 1;
		break;
	}
	if (!(st = stmt_new(c, sql))) {
		set_err(c, "cannot prepare: out of memory, or too many parameters", NULL);
		return -1;
	}
	st->busy = 1;
	if (!found && c->nkept < KEPT_MAX) {
		st->kept = 1;
		c->kept[c->nkept++] = st;
	}
	*out = &st->base;
	return 0;
}

static int pg_bind(sqldb_stmt *p, int i, char type, const void *v, size_t n, int64_t iv)
{
	pg_stmt *st = (pg_stmt *)p;
	char num[24];

	if (i < 1 || i > st->nparams) {
		set_err(st->c, "a binding beyond the statement's parameters", NULL);
		return -1;
	}
	i--;
	free(st->vals[i]);
	st->vals[i] = NULL;
	st->lens[i] = 0;
	st->fmts[i] = 0;
	st->types[i] = type == 'i' ? OID_INT8 : type == 'b' ? OID_BYTEA : OID_TEXT;
	if (type == 'i') {
		snprintf(num, sizeof(num), "%lld", (long long)iv);
		v = num;
		n = strlen(num);
	} else if (!v) {
		return 0;                        /* NULL */
	} else if (type == 'b') {
		st->fmts[i] = 1;                 /* bytes as they are */
	}
	if (n > 0x7fffffff || !(st->vals[i] = malloc(n + 1))) {
		set_err(st->c, "a binding too large, or out of memory", NULL);
		return -1;
	}
	memcpy(st->vals[i], v, n);
	st->vals[i][n] = '\0';
	st->lens[i] = (int)n;
	return 0;
}

static int run_stmt(pg_stmt *st)
{
	pgc *c = st->c;
	ExecStatusType es;

	if (st->gen != c->gen) {
		PGresult *r = PQprepare(c->conn, st->name, st->pgsql, st->nparams, st->types);
		const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

		/* Still there from before (a stale plan dropped in a transaction
		 * that had failed): dropped now, and prepared again. */
		if (state && strcmp(state, "42P05") == 0) {
			char sql[64];

			PQclear(r);
			snprintf(sql, sizeof(sql), "DEALLOCATE %s", st->name);
			PQclear(PQexec(c->conn, sql));
			r = PQprepare(c->conn, st->name, st->pgsql, st->nparams, st->types);
		}
		if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
			res_err(c, r);
			PQclear(r);
			return -1;
		}
		PQclear(r);
		st->gen = c->gen;
	}
	st->res = PQexecPrepared(c->conn, st->name, st->nparams, (const char *const *)st->vals,
				 st->lens, st->fmts, 0);
	es = st->res ? PQresultStatus(st->res) : PGRES_FATAL_ERROR;
	if (es == PGRES_TUPLES_OK) {
		st->nrows = PQntuples(st->res);
		c->changes = 0;
	} else if (es == PGRES_COMMAND_OK) {
		st->nrows = 0;
		c->changes = strtoll(PQcmdTuples(st->res), NULL, 10);
	} else {
		const char *state = st->res ? PQresultErrorField(st->res, PG_DIAG_SQLSTATE) : NULL;

		res_err(c, st->res);
		/* A statement the server forgot is prepared again next time; one
		 * whose plan a schema change made stale is dropped first. Any
		 * other failure (a constraint) leaves it prepared. */
		if (state && strcmp(state, "0A000") == 0) {
			char sql[64];

			snprintf(sql, sizeof(sql), "DEALLOCATE %s", st->name);
			PQclear(PQexec(c->conn, sql));
			st->gen = 0;
		} else if (state && strcmp(state, "26000") == 0) {
			st->gen = 0;
		}
		return -1;
	}
	st->ran = 1;
	st->row = 0;
	return 0;
}

static int pg_step(sqldb_stmt *p)
{
	pg_stmt *st = (pg_stmt *)p;

	if (!st->ran && run_stmt(st) < 0)
		return -1;
	if (st->row >= st->nrows)
		return 0;
	st->row++;
	return 1;
}

static int cur(pg_stmt *st, int col)
{
	return st->res && st->row >= 1 && st->row <= st->nrows && col >= 0 &&
		col < PQnfields(st->res) && !PQgetisnull(st->res, st->row - 1, col);
}

static sqldb_type pg_column_type(sqldb_stmt *p, int col)
{
	pg_stmt *st = (pg_stmt *)p;

	if (!cur(st, col))
		return SQLDB_NULL;
	switch (PQftype(st->res, col)) {
	case OID_BOOL: case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID:
	case OID_NUMERIC:
		return SQLDB_INTEGER;
	case OID_BYTEA:
		return SQLDB_BLOB;
	case OID_FLOAT4: case OID_FLOAT8:
		return SQLDB_OTHER;
	default:
		return SQLDB_TEXT;
	}
}

static int64_t pg_column_int(sqldb_stmt *p, int col)
{
	pg_stmt *st = (pg_stmt *)p;
	const char *v;
	char *end;
	long long n;

	if (!cur(st, col))
		return 0;
	v = PQgetvalue(st->res, st->row - 1, col);
	if (PQftype(st->res, col) == OID_BOOL)
		return v[0] == 't';
	/* Only the whole text of an integer in range is one (as SQLite, 0
	 * otherwise: the row's decoder then refuses what it cannot hold). */
	errno = 0;
	n = strtoll(v, &end, 10);
	if (end == v || *end || errno)
		return 0;
	return n;
}

static const unsigned char *pg_column_text(sqldb_stmt *p, int col)
{
	pg_stmt *st = (pg_stmt *)p;

	if (!cur(st, col))
		return NULL;
	return (const unsigned char *)PQgetvalue(st->res, st->row - 1, col);
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* bytea's hex output ("\x0a1b..."), decoded once per row and column. */
static const void *pg_column_blob(sqldb_stmt *p, int col)
{
	pg_stmt *st = (pg_stmt *)p;
	const char *v;
	size_t n, i;

	if (!cur(st, col) || col >= COLS_MAX)
		return NULL;
	if (PQftype(st->res, col) != OID_BYTEA)
		return PQgetvalue(st->res, st->row - 1, col);
	if (st->blobrow[col] == st->row && st->blob[col])
		return st->blob[col];
	v = PQgetvalue(st->res, st->row - 1, col);
	n = (size_t)PQgetlength(st->res, st->row - 1, col);
	free(st->blob[col]);
	st->blob[col] = NULL;
	st->bloblen[col] = 0;
	if (n < 2 || v[0] != '\\' || v[1] != 'x' || (n - 2) % 2 ||
	    !(st->blob[col] = malloc((n - 2) / 2 + 1)))
		return NULL;
	for (i = 0; i < (n - 2) / 2; i++) {
		int hi = hexval((unsigned char)v[2 + 2 * i]), lo = hexval((unsigned char)v[3 + 2 * i]);

		if (hi < 0 || lo < 0) {
			free(st->blob[col]);
			st->blob[col] = NULL;
			return NULL;
		}
		st->blob[col][i] = (unsigned char)(hi << 4 | lo);
	}
	st->bloblen[col] = (n - 2) / 2;
	st->blobrow[col] = st->row;
	return st->blob[col];
}

static size_t pg_column_bytes(sqldb_stmt *p, int col)
{
	pg_stmt *st = (pg_stmt *)p;

	if (!cur(st, col))
		return 0;
	if (PQftype(st->res, col) == OID_BYTEA)
		return pg_column_blob(p, col) ? st->bloblen[col] : 0;
	return (size_t)PQgetlength(st->res, st->row - 1, col);
}

static void reset_stmt(pg_stmt *st)
{
	int i;

	PQclear(st->res);
	st->res = NULL;
	st->ran = 0;
	st->row = st->nrows = 0;
	for (i = 0; i < PARAMS_MAX; i++) {
		free(st->vals[i]);
		st->vals[i] = NULL;
	}
	for (i = 0; i < COLS_MAX; i++) {
		free(st->blob[i]);
		st->blob[i] = NULL;
		st->blobrow[i] = 0;
	}
}

/* A kept statement stays prepared on the server; another is deallocated
 * there (if it ever was) and freed. */
static void pg_release(sqldb_stmt *p)
{
	pg_stmt *st = (pg_stmt *)p;

	reset_stmt(st);
	st->busy = 0;
	if (st->kept)
		return;
	if (st->gen && st->gen == st->c->gen) {
		char sql[64];

		snprintf(sql, sizeof(sql), "DEALLOCATE %s", st->name);
		PQclear(PQexec(st->c->conn, sql));
	}
	stmt_free(st);
}

static int64_t pg_changes(sqldb *d)
{
	return ((pgc *)d)->changes;
}

static int pg_exec(sqldb *d, const char *sql)
{
	pgc *c = (pgc *)d;
	PGresult *r = PQexec(c->conn, sql);
	ExecStatusType es = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
		res_err(c, r);
		PQclear(r);
		return -1;
	}
	c->changes = es == PGRES_COMMAND_OK ? strtoll(PQcmdTuples(r), NULL, 10) : 0;
	PQclear(r);
	return 0;
}

static const char *pg_errmsg(sqldb *d)
{
	return ((pgc *)d)->err;
}

static sqldb_failure pg_failure(sqldb *d)
{
	return ((pgc *)d)->how;
}

static void pg_close(sqldb *d)
{
	pgc *c = (pgc *)d;
	size_t i;

	for (i = 0; i < c->nkept; i++) {
		reset_stmt(c->kept[i]);
		stmt_free(c->kept[i]);
	}
	PQfinish(c->conn);
	free(c);
}

static int pg_params(sqldb_stmt *p)
{
	return ((pg_stmt *)p)->nparams;
}

static const struct sqldb_ops pg_ops = {
	.kind = SQLDB_POSTGRESQL,
	.prepare = pg_prepare,
	.bind = pg_bind,
	.params = pg_params,
	.step = pg_step,
	.column_type = pg_column_type,
	.column_int = pg_column_int,
	.column_text = pg_column_text,
	.column_blob = pg_column_blob,
	.column_bytes = pg_column_bytes,
	.release = pg_release,
	.changes = pg_changes,
	.exec = pg_exec,
	.errmsg = pg_errmsg,
	.failure = pg_failure,
	.close = pg_close,
};

/* libpq's notices (a NOTICE from CREATE ... IF NOT EXISTS) are not ours to
 * print on the verifier's stderr. */
static void quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

int sqldb__pg_open(sqldb **out, const char *conninfo, char *msg, size_t msg_cap)
{
	/* Defaults first: what the connection string says overrides them. */
	const char *const keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *vals[] = { "5", "tpa-verifier", conninfo, NULL };
	pgc *c;

	*out = NULL;
	if (!(c = calloc(1, sizeof(*c)))) {
		snprintf(msg, msg_cap, "out of memory");
		return -1;
	}
	c->base.ops = &pg_ops;
	c->gen = 1;
	c->conn = PQconnectdbParams(keys, vals, 1);
	if (!c->conn || PQstatus(c->conn) != CONNECTION_OK) {
		size_t n;

		snprintf(msg, msg_cap, "%s", c->conn ? PQerrorMessage(c->conn) : "out of memory");
		n = strlen(msg);
		while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			msg[--n] = '\0';
		PQfinish(c->conn);
		free(c);
		return -1;
	}
	PQsetNoticeProcessor(c->conn, quiet, NULL);
	*out = &c->base;
	return 0;
}

int sqldb__pg_check(sqldb *db)
{
	pgc *c = (pgc *)db;

	if (!db || db->ops != &pg_ops)
		return 0;
	if (PQstatus(c->conn) == CONNECTION_OK) {
		struct pollfd p = { .fd = PQsocket(c->conn), .events = POLLIN };
		PGnotify *n;
		int i;

		/* An idle connection has nothing to read. One the server closed
		 * meanwhile (a restart: its FATAL, then the end of the stream)
		 * would fail the caller's first statement with the server back:
		 * what came is read until the end shows (libpq marks it broken),
		 * and it is reset below. Anything else (a notice) is read and
		 * dropped; a stream that keeps coming is reset all the same. */
		for (i = 0; i < 8; i++) {
			if (p.fd < 0 || poll(&p, 1, 0) <= 0) {
				while ((n = PQnotifies(c->conn)))
					PQfreemem(n);
				if (PQstatus(c->conn) == CONNECTION_OK)
					return 0;
				break;
			}
			if (!PQconsumeInput(c->conn) || PQstatus(c->conn) != CONNECTION_OK)
				break;
		}
	}
	PQreset(c->conn);
	c->gen++;                    /* every statement prepared anew */
	if (PQstatus(c->conn) != CONNECTION_OK) {
		set_err(c, PQerrorMessage(c->conn), NULL);
		return -1;
	}
	PQsetNoticeProcessor(c->conn, quiet, NULL);
	return 0;
}

int sqldb__pg_result_stmt(sqldb_stmt **out, int ncols, const unsigned *oids, int nrows,
			  const char *const *vals, const int *lens)
{
	PGresAttDesc att[COLS_MAX];
	PGresult *res;
	pg_stmt *st;
	int r, c;

	if (ncols < 1 || ncols > COLS_MAX || nrows < 0 ||
	    !(res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK)))
		return -1;
	memset(att, 0, sizeof(att));
	for (c = 0; c < ncols; c++) {
		att[c].name = (char *)"c";
		att[c].typid = oids[c];
		att[c].typlen = -1;
		att[c].atttypmod = -1;
	}
	if (!PQsetResultAttrs(res, ncols, att))
		goto fail;
	for (r = 0; r < nrows; r++)
		for (c = 0; c < ncols; c++) {
			const char *v = vals[r * ncols + c];

			if (!PQsetvalue(res, r, c, (char *)v, v ? lens[r * ncols + c] : -1))
				goto fail;
		}
	if (!(st = calloc(1, sizeof(*st))))
		goto fail;
	st->base.ops = &pg_ops;
	st->res = res;
	st->nrows = PQntuples(res);
	st->ran = 1;
	*out = &st->base;
	return 0;
fail:
	PQclear(res);
	return -1;
}

int sqldb__pg_describe(char *out, size_t cap, const char *conninfo)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL), *o;
	const char *db = NULL, *host = NULL, *port = NULL, *user = NULL;

	if (!opts) {
		snprintf(out, cap, "postgresql (a connection string libpq cannot read)");
		return -1;
	}
	for (o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
		else if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "user") == 0)
			user = o->val;
	}
	snprintf(out, cap, "postgresql database %.64s on %.200s%s%.8s%s%.64s", db ? db : "(default)",
		 host ? host : "(default host)", port ? " port " : "", port ? port : "",
		 user ? " as " : "", user ? user : "");
	PQconninfoFree(opts);
	return 0;
}
