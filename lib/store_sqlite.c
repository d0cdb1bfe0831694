/* SPDX-License-Identifier: BSD-3-Clause */
/* The registry in an embedded SQLite file. Every change is one transaction,
 * so a verifier killed at any moment leaves either all of it or none. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "tpa/err.h"
#include "tpa/store.h"

typedef struct {
	tpa_store public;            /* first: the interface */
	sqlite3 *db;
	pthread_mutex_t lock;
	char path[512];
} sq_store;

static const char *schema_v1[] = {
	"CREATE TABLE devices("
	" id TEXT PRIMARY KEY CHECK(length(id) = 64),"
	" ek_public BLOB NOT NULL,"
	" ek_cert BLOB,"
	" state TEXT NOT NULL CHECK(state IN ('active', 'revoked')),"
	" enrolled_at INTEGER NOT NULL,"
	" last_attest_at INTEGER,"
	" last_verdict TEXT)",
	"CREATE TABLE aks("
	" name TEXT PRIMARY KEY,"
	" device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
	" public BLOB NOT NULL,"
	" registered_at INTEGER NOT NULL)",
	"CREATE INDEX aks_device ON aks(device_id)",
	"CREATE TABLE audit("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" at INTEGER NOT NULL,"
	" device_id TEXT,"
	" event TEXT NOT NULL,"
	" detail TEXT NOT NULL)",
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	" BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	" BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
};

static int sq_fail(sq_store *s, const char *what)
{
	return tpa_err_fail(TPA_ERR_IO, "registry %s: %s: %s", s->path, what,
			    sqlite3_errmsg(s->db));
}

static int exec(sq_store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int err = tpa_err_fail(TPA_ERR_IO, "registry %s: %s", s->path,
				       msg ? msg : sqlite3_errmsg(s->db));

		sqlite3_free(msg);
		return err;
	}
	return 0;
}

static int begin(sq_store *s)
{
	return exec(s, "BEGIN IMMEDIATE");
}

static int finish(sq_store *s, int err)
{
	if (err < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return err;
	}
	return exec(s, "COMMIT");
}

/* Prepares sql and binds text/blob/int arguments described by types:
 * 't' text, 'b' blob (pointer + length), 'i' int64. */
static int prepare(sqlite3_stmt **st, sq_store *s, const char *sql, const char *types, ...)
{
	va_list ap;
	int i, rc = SQLITE_OK;

	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return sq_fail(s, "prepare");
	va_start(ap, types);
	for (i = 0; types[i] && rc == SQLITE_OK; i++) {
		if (types[i] == 't') {
			const char *v = va_arg(ap, const char *);

			rc = v ? sqlite3_bind_text(*st, i + 1, v, -1, SQLITE_TRANSIENT) :
				sqlite3_bind_null(*st, i + 1);
		} else if (types[i] == 'b') {
			const void *v = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);

			rc = v ? sqlite3_bind_blob64(*st, i + 1, v, n, SQLITE_TRANSIENT) :
				sqlite3_bind_null(*st, i + 1);
		} else {
			rc = sqlite3_bind_int64(*st, i + 1, va_arg(ap, int64_t));
		}
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
		return sq_fail(s, "bind");
	}
	return 0;
}

/* Runs a statement that returns no rows; *changes (optional) gets the
 * number of rows changed. */
static int run(sq_store *s, sqlite3_stmt *st, int *changes)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, "write");
	if (changes)
		*changes = sqlite3_changes(s->db);
	return 0;
}

static int audit(sq_store *s, const char *id, const char *event, const char *detail,
		 int64_t now)
{
	sqlite3_stmt *st;
	int err;

	if ((err = prepare(&st, s, "INSERT INTO audit(at, device_id, event, detail) "
			   "VALUES(?, ?, ?, ?)", "ittt", now, id, event, detail)) < 0)
		return err;
	return run(s, st, NULL);
}

static int valid_id(const char *id)
{
	size_t i;

	for (i = 0; id && i < TPA_DEVICE_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return id && id[i] == '\0';
}

static int sq_enroll(tpa_store *p, const char *id, const uint8_t *ek_pub, size_t ek_len,
		     const uint8_t *ek_cert, size_t cert_len, const uint8_t *ak_pub,
		     size_t ak_len, const char *ak_name, int64_t now)
{
	sq_store *s = (sq_store *)p;
	sqlite3_stmt *st;
	char detail[200];
	int err;

	if (!valid_id(id) || !ek_pub || !ek_len || !ak_pub || !ak_len || !ak_name ||
	    !*ak_name)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "enroll: missing or malformed input");
	pthread_mutex_lock(&s->lock);
	if ((err = begin(s)) < 0)
		goto out;
	/* A device keeps its state (a revoked one stays revoked) and its
	 * enrollment time; the EK certificate is refreshed. */
	if ((err = prepare(&st, s,
			   "INSERT INTO devices(id, ek_public, ek_cert, state, enrolled_at) "
			   "VALUES(?, ?, ?, 'active', ?) ON CONFLICT(id) DO UPDATE SET "
			   "ek_cert = excluded.ek_cert", "tbbi", id, ek_pub, ek_len, ek_cert,
			   cert_len, now)) < 0 || (err = run(s, st, NULL)) < 0)
		goto done;
	if ((err = prepare(&st, s, "DELETE FROM aks WHERE device_id = ? AND name <> ?", "tt",
			   id, ak_name)) < 0 || (err = run(s, st, NULL)) < 0)
		goto done;
	if ((err = prepare(&st, s,
			   "INSERT INTO aks(name, device_id, public, registered_at) "
			   "VALUES(?, ?, ?, ?) ON CONFLICT(name) DO NOTHING", "ttbi", ak_name, id,
			   ak_pub, ak_len, now)) < 0 || (err = run(s, st, NULL)) < 0)
		goto done;
	snprintf(detail, sizeof(detail), "AK %.16s...", ak_name);
	err = audit(s, id, "enroll", detail, now);
done:
	err = finish(s, err);
out:
	pthread_mutex_unlock(&s->lock);
	return err;
}

static void row_to_device(tpa_device *d, sqlite3_stmt *st)
{
	const unsigned char *t;

	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", (const char *)sqlite3_column_text(st, 0));
	t = sqlite3_column_text(st, 1);
	d->state = t && strcmp((const char *)t, "revoked") == 0 ? TPA_DEVICE_REVOKED :
		TPA_DEVICE_ACTIVE;
	d->enrolled_at = sqlite3_column_int64(st, 2);
	d->last_attest_at = sqlite3_column_int64(st, 3);
	if ((t = sqlite3_column_text(st, 4)))
		snprintf(d->last_verdict, sizeof(d->last_verdict), "%s", (const char *)t);
	if ((t = sqlite3_column_text(st, 5)))
		snprintf(d->ak_name, sizeof(d->ak_name), "%s", (const char *)t);
}

#define DEVICE_COLUMNS "d.id, d.state, d.enrolled_at, d.last_attest_at, d.last_verdict, " \
	"(SELECT name FROM aks WHERE device_id = d.id ORDER BY registered_at DESC LIMIT 1)"

static int get_one(tpa_device *out, sq_store *s, const char *sql, const char *key,
		   const char *what)
{
	sqlite3_stmt *st;
	int err, rc;

	pthread_mutex_lock(&s->lock);
	if ((err = prepare(&st, s, sql, "t", key)) < 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_to_device(out, st);
		err = 0;
	} else if (rc == SQLITE_DONE) {
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no device with %s %.64s", what, key);
	} else {
		err = sq_fail(s, "read");
	}
	sqlite3_finalize(st);
out:
	pthread_mutex_unlock(&s->lock);
	return err;
}

static int sq_get(tpa_device *out, tpa_store *p, const char *id)
{
	if (!out || !id)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "get: NULL");
	return get_one(out, (sq_store *)p, "SELECT " DEVICE_COLUMNS " FROM devices d WHERE d.id = ?",
		       id, "id");
}

static int sq_find_by_ak(tpa_device *out, tpa_store *p, const char *ak_name)
{
	if (!out || !ak_name)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "find: NULL");
	return get_one(out, (sq_store *)p,
		       "SELECT " DEVICE_COLUMNS " FROM devices d JOIN aks a ON a.device_id = d.id "
		       "WHERE a.name = ?", ak_name, "AK");
}

/* One change to one device, audited; TPA_ERR_NOT_FOUND if none. */
static int change(sq_store *s, const char *id, const char *sql, const char *types,
		  const char *event, const char *detail, int64_t now, ...)
{
	sqlite3_stmt *st = NULL;
	int err, changes = 0;
	va_list ap;

	pthread_mutex_lock(&s->lock);
	if ((err = begin(s)) < 0)
		goto out;
	/* The statement's arguments before the id: none, a text, or an
	 * integer and a text (read one by one: argument order is unspecified). */
	va_start(ap, now);
	if (strcmp(types, "tt") == 0) {
		const char *t = va_arg(ap, const char *);

		err = prepare(&st, s, sql, types, t, id);
	} else if (strcmp(types, "itt") == 0) {
		int64_t i = va_arg(ap, int64_t);
		const char *t = va_arg(ap, const char *);

		err = prepare(&st, s, sql, types, i, t, id);
	} else {
		err = prepare(&st, s, sql, types, id);
	}
	va_end(ap);
	if (err < 0 || (err = run(s, st, &changes)) < 0)
		goto done;
	if (changes == 0) {
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no device with id %.64s", id);
		goto done;
	}
	err = audit(s, id, event, detail, now);
done:
	err = finish(s, err);
out:
	pthread_mutex_unlock(&s->lock);
	return err;
}

static int sq_set_state(tpa_store *p, const char *id, tpa_device_state st, int64_t now)
{
	const char *name = tpa_device_state_name(st);

	if (!id || (st != TPA_DEVICE_ACTIVE && st != TPA_DEVICE_REVOKED))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "set state: bad arguments");
	return change((sq_store *)p, id, "UPDATE devices SET state = ? WHERE id = ?", "tt",
		      st == TPA_DEVICE_REVOKED ? "revoke" : "reinstate", name, now, name);
}

static int sq_remove(tpa_store *p, const char *id, int64_t now)
{
	if (!id)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "remove: NULL");
	return change((sq_store *)p, id, "DELETE FROM devices WHERE id = ?", "t", "delete",
		      "device and its AKs deleted", now);
}

static int sq_record(tpa_store *p, const char *id, int compliant, const char *reasons,
		     int64_t now)
{
	const char *verdict = compliant ? "compliant" : "non-compliant";
	char detail[1024];

	if (!id)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "record: NULL");
	snprintf(detail, sizeof(detail), "%s%s%s", verdict, reasons && *reasons ? ": " : "",
		 reasons ? reasons : "");
	return change((sq_store *)p, id,
		      "UPDATE devices SET last_attest_at = ?, last_verdict = ? WHERE id = ?",
		      "itt", "attest", detail, now, (int64_t)now, verdict);
}

static int sq_list(tpa_device **out, size_t *n, tpa_store *p)
{
	sq_store *s = (sq_store *)p;
	sqlite3_stmt *st;
	tpa_device *v = NULL, *nv;
	size_t count = 0, cap = 0;
	int err, rc;

	if (!out || !n)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "list: NULL");
	pthread_mutex_lock(&s->lock);
	if ((err = prepare(&st, s, "SELECT " DEVICE_COLUMNS " FROM devices d ORDER BY d.id",
			   "")) < 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? 2 * cap : 16;
			if (!(nv = realloc(v, cap * sizeof(*v)))) {
				err = tpa_err_fail(TPA_ERR_NOMEM, "list: out of memory");
				break;
			}
			v = nv;
		}
		row_to_device(&v[count++], st);
	}
	if (!err && rc != SQLITE_DONE)
		err = sq_fail(s, "read");
	sqlite3_finalize(st);
	if (err < 0) {
		free(v);
		goto out;
	}
	*out = v;
	*n = count;
out:
	pthread_mutex_unlock(&s->lock);
	return err;
}

static int sq_audit_count(size_t *n, tpa_store *p, const char *id)
{
	sq_store *s = (sq_store *)p;
	sqlite3_stmt *st;
	int err;

	pthread_mutex_lock(&s->lock);
	err = id ? prepare(&st, s, "SELECT count(*) FROM audit WHERE device_id = ?", "t", id) :
		prepare(&st, s, "SELECT count(*) FROM audit", "");
	if (err == 0) {
		if (sqlite3_step(st) == SQLITE_ROW)
			*n = (size_t)sqlite3_column_int64(st, 0);
		else
			err = sq_fail(s, "read");
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

static void sq_close(tpa_store *p)
{
	sq_store *s = (sq_store *)p;

	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const tpa_store_ops sq_ops = {
	sq_close, sq_enroll, sq_get, sq_find_by_ak, sq_set_state, sq_remove, sq_record,
	sq_list, sq_audit_count,
};

/* The schema version, migrating an empty database to the current one. */
static int migrate(sq_store *s)
{
	sqlite3_stmt *st;
	int version = 0, err;
	size_t i;

	if ((err = exec(s, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)")) < 0)
		return err;
	if ((err = prepare(&st, s, "SELECT max(version) FROM schema_version", "")) < 0)
		return err;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version > TPA_STORE_SCHEMA_VERSION)
		return tpa_err_fail(TPA_ERR_IO,
				    "registry %s: schema version %d is newer than this verifier's %d",
				    s->path, version, TPA_STORE_SCHEMA_VERSION);
	if (version == TPA_STORE_SCHEMA_VERSION)
		return 0;
	if ((err = begin(s)) < 0)
		return err;
	for (i = 0; i < sizeof(schema_v1) / sizeof(schema_v1[0]) && err == 0; i++)
		err = exec(s, schema_v1[i]);
	if (err == 0)
		err = exec(s, "INSERT INTO schema_version(version) VALUES(1)");
	return finish(s, err);
}

int tpa_store_open_sqlite(tpa_store **out, const char *path)
{
	sq_store *s;
	int err;

	if (!out || !path || !*path)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "registry: no path");
	if (!(s = calloc(1, sizeof(*s))))
		return tpa_err_fail(TPA_ERR_NOMEM, "registry: out of memory");
	s->public.ops = &sq_ops;
	snprintf(s->path, sizeof(s->path), "%s", path);
	pthread_mutex_init(&s->lock, NULL);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		err = tpa_err_fail(TPA_ERR_IO, "registry %s: cannot open: %s", path,
				   s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if ((err = exec(s, "PRAGMA foreign_keys = ON")) < 0 ||
	    (err = exec(s, "PRAGMA journal_mode = WAL")) < 0 ||
	    (err = exec(s, "PRAGMA synchronous = FULL")) < 0 ||
	    (err = migrate(s)) < 0)
		goto fail;
	*out = &s->public;
	return 0;
fail:
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return err;
}
