/* SPDX-License-Identifier: BSD-3-Clause */
/* The SQL the registry runs, on either engine it runs on: an embedded
 * SQLite file (lib/sqldb_sqlite.c) or a PostgreSQL server through libpq
 * (lib/sqldb_pg.c). lib/store_sql.c holds what the registry means and
 * speaks only this; the engines' own APIs stay in their drivers.
 *
 * A statement is written once, with '?' or '?N' placeholders (numbered
 * from 1); a driver prepares each text once per connection and keeps it.
 * Bindings are typed by the caller ('t' text, 'b' bytes, 'i' int64), also
 * for a NULL, so that a server that plans before it sees a value knows
 * what a parameter is. Column values are valid until the next step or the
 * statement's release. Nothing here is thread-safe: a connection is used
 * by one thread at a time (the store's pool hands them out). */
#ifndef TPA_SQLDB_H
#define TPA_SQLDB_H

#include <stddef.h>
#include <stdint.h>

typedef struct sqldb sqldb;
typedef struct sqldb_stmt sqldb_stmt;

typedef enum {
	SQLDB_NULL = 0,
	SQLDB_INTEGER,
	SQLDB_TEXT,
	SQLDB_BLOB,
	SQLDB_OTHER,       /* a float, a boolean: never what a registry column holds */
} sqldb_type;

/* The engine's dialect, for the few statements that differ. */
typedef enum {
	SQLDB_SQLITE,
	SQLDB_POSTGRESQL,
} sqldb_kind;

/* Outcome classes of a failed call, so that callers can say what to do:
 * SQLDB_LOST means the server is gone or the connection broke (the call is
 * worth retrying elsewhere or later: UNAVAILABLE), SQLDB_RETRY a
 * serialization failure or a deadlock (the transaction may be run again),
 * SQLDB_FAILED anything else (a constraint, a bug). */
typedef enum {
	SQLDB_FAILED = 0,
	SQLDB_LOST,
	SQLDB_RETRY,
} sqldb_failure;

struct sqldb_ops {
	sqldb_kind kind;
	int (*prepare)(sqldb_stmt **st, sqldb *db, const char *sql);
	int (*bind)(sqldb_stmt *st, int i, char type, const void *v, size_t n, int64_t iv);
	int (*params)(sqldb_stmt *st);               /* the largest parameter number */
	int (*step)(sqldb_stmt *st);                 /* 1 a row, 0 done, -1 failed */
	sqldb_type (*column_type)(sqldb_stmt *st, int col);
	int64_t (*column_int)(sqldb_stmt *st, int col);
	const unsigned char *(*column_text)(sqldb_stmt *st, int col);
	const void *(*column_blob)(sqldb_stmt *st, int col);
	size_t (*column_bytes)(sqldb_stmt *st, int col);
	void (*release)(sqldb_stmt *st);
	int64_t (*changes)(sqldb *db);
	int (*exec)(sqldb *db, const char *sql);     /* 0 or -1 */
	const char *(*errmsg)(sqldb *db);
	sqldb_failure (*failure)(sqldb *db);
	void (*close)(sqldb *db);
};

/* Every connection and statement begins with its driver. */
struct sqldb {
	const struct sqldb_ops *ops;
};

struct sqldb_stmt {
	const struct sqldb_ops *ops;
};

/* An SQLite file (flags as sqlite3_open_v2's); -1 with *err_msg (static or
 * the engine's, valid until the next open) on failure, *out set either way
 * when a connection exists to be closed. */
int sqldb__sqlite_open(sqldb **out, const char *path, int flags, const char **err_msg);
/* The SQLite handle of a connection from sqldb__sqlite_open (backup, check):
 * a void pointer so that this header needs no engine's. */
void *sqldb__sqlite_handle(sqldb *db);
#define SQLDB_SQLITE_CREATE 1

/* A PostgreSQL connection by a libpq connection string or URI; -1 with a
 * message in msg on failure (no password is ever in it). */
int sqldb__pg_open(sqldb **out, const char *conninfo, char *msg, size_t msg_cap);
/* Whether the connection is usable; if not, one attempt to reconnect
 * (dropping what was prepared on the old one): 0 usable, -1 not. */
int sqldb__pg_check(sqldb *db);
/* Where a connection string points, for messages: database, host, port and
 * user, never a password. -1 (and a placeholder) if libpq cannot read it. */
int sqldb__pg_describe(char *out, size_t cap, const char *conninfo);
/* For the fuzz target of the result decoding: a statement that has run,
 * its result made here as libpq makes one it received: ncols columns of
 * type oids[c], nrows rows, the value of row r, column c at
 * vals[r * ncols + c] of lens[...] bytes (NULL: SQL NULL). Stepped and read
 * as any statement, freed by sqldb_release; -1 if it cannot be made. */
int sqldb__pg_result_stmt(sqldb_stmt **out, int ncols, const unsigned *oids, int nrows,
			  const char *const *vals, const int *lens);

/* A statement text's hash (FNV-1a), for the drivers' statement caches. */
static inline uint64_t sqldb__hash(const char *sql)
{
	uint64_t h = 14695981039346656037ull;

	for (; *sql; sql++)
		h = (h ^ (unsigned char)*sql) * 1099511628211ull;
	return h;
}

static inline int sqldb_prepare(sqldb_stmt **st, sqldb *db, const char *sql)
{
	return db->ops->prepare(st, db, sql);
}
static inline int sqldb_params(sqldb_stmt *st) { return st->ops->params(st); }
static inline int sqldb_step(sqldb_stmt *st) { return st->ops->step(st); }
static inline sqldb_type sqldb_column_type(sqldb_stmt *st, int c)
{
	return st->ops->column_type(st, c);
}
static inline int64_t sqldb_column_int(sqldb_stmt *st, int c) { return st->ops->column_int(st, c); }
static inline const unsigned char *sqldb_column_text(sqldb_stmt *st, int c)
{
	return st->ops->column_text(st, c);
}
static inline const void *sqldb_column_blob(sqldb_stmt *st, int c)
{
	return st->ops->column_blob(st, c);
}
static inline size_t sqldb_column_bytes(sqldb_stmt *st, int c)
{
	return st->ops->column_bytes(st, c);
}
static inline void sqldb_release(sqldb_stmt *st) { if (st) st->ops->release(st); }
static inline int64_t sqldb_changes(sqldb *db) { return db->ops->changes(db); }
static inline int sqldb_exec(sqldb *db, const char *sql) { return db->ops->exec(db, sql); }
static inline const char *sqldb_errmsg(sqldb *db) { return db->ops->errmsg(db); }
static inline sqldb_failure sqldb_failed_how(sqldb *db) { return db->ops->failure(db); }
static inline void sqldb_close(sqldb *db) { if (db) db->ops->close(db); }

#endif
