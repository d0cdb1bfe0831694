/* SPDX-License-Identifier: BSD-3-Clause */
/* The registry in an embedded SQLite file. Every change is one transaction,
 * so a verifier killed at any moment leaves either all of it or none. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "sqldb.h"
#include "store_int.h"

#include "tpa/audit.h"
#include "tpa/err.h"
#include "tpa/fileio.h"
#include "tpa/identity.h"
#include "tpa/log.h"
#include "tpa/seal.h"
#include "tpa/store.h"
#include "tpa/tpm_decode.h"

/* Verdicts committed in one transaction, at most (sq_record). */
#define GROUP_MAX 64
/* PostgreSQL connections a store holds, at most (TPA_STORE_PG_POOL). */
#define POOL_MAX 32

typedef struct sq_store sq_store;

struct sq_store {
	tpa_store public;            /* first: the interface */
	sqldb *db;
	int pg;                      /* PostgreSQL, not an SQLite file */
	pthread_mutex_t lock;        /* SQLite: the connection's */
	char path[512];              /* SQLite: the file; PostgreSQL: where, without secrets */
	int chained;                 /* the audit rows carry their hashes (schema 5) */
	int in_tx;                   /* between begin and finish */
	int64_t pruned_ms;           /* used_seals last pruned (consume_locked) */
	dev_t dev;                   /* the file's, counted in open_files */
	ino_t ino;
	int counted;
	/* Group commit of verdicts (sq_record): the waiting ones, and whether
	 * a thread is committing a group now. Under q_lock. */
	pthread_mutex_t q_lock;
	pthread_cond_t q_cv;
	struct rec_job *q_head, **q_tail;
	int q_leader;
	/* PostgreSQL: the pool. Each connection is an sq_store of its own
	 * (its db, its prepared statements); the first is this one. */
	sq_store *owner;             /* the store a pooled connection belongs to */
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cv;
	sq_store *conns[POOL_MAX];
	int busy[POOL_MAX];
	size_t pool_max;
	char *conninfo;              /* with its secrets: never printed */
	int64_t pool_warned_ms;      /* a pooled connection last failed to open (logged) */
};

#define AUDIT_NO_UPDATE "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit" \
	" BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
#define AUDIT_NO_DELETE "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit" \
	" BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"

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
	AUDIT_NO_UPDATE,
	AUDIT_NO_DELETE,
};

/* Golden baselines: devices get a group label and the outcome of their last
 * attestation; baselines are versioned and append-only; a baseline is
 * assigned to a device or to a label; the evidence of each device's last
 * attestation is kept apart (so that reading devices stays cheap). The sizes
 * are TPA_LABEL_MAX, TPA_BASELINE_NAME_MAX, TPA_BASELINE_BODY_MAX,
 * TPA_STORE_EVENT_LOG_MAX and TPA_STORE_PCRS_JSON_MAX. */
#define TOKEN_OK(c) "(typeof(" c ") = 'text' AND length(" c ") BETWEEN 1 AND 64" \
	" AND " c " NOT GLOB '*[^A-Za-z0-9._-]*')"
static const char *schema_v2[] = {
	"ALTER TABLE devices ADD COLUMN label TEXT CHECK(label IS NULL OR " TOKEN_OK("label") ")",
	"ALTER TABLE devices ADD COLUMN last_outcome TEXT CHECK(last_outcome IS NULL OR"
	" last_outcome IN ('compliant', 'warning', 'non-compliant', 'no-baseline'))",
	"ALTER TABLE devices ADD COLUMN last_baseline TEXT",
	"CREATE TABLE baselines("
	" name TEXT NOT NULL CHECK" TOKEN_OK("name") ","
	" version INTEGER NOT NULL CHECK(typeof(version) = 'integer' AND version >= 1),"
	" body TEXT NOT NULL CHECK(length(CAST(body AS BLOB)) BETWEEN 1 AND 1048576),"
	" added_at INTEGER NOT NULL,"
	" PRIMARY KEY(name, version))",
	"CREATE TRIGGER baselines_no_update BEFORE UPDATE ON baselines"
	" BEGIN SELECT RAISE(ABORT, 'baselines are append-only'); END",
	"CREATE TRIGGER baselines_no_delete BEFORE DELETE ON baselines"
	" BEGIN SELECT RAISE(ABORT, 'baselines are append-only'); END",
	"CREATE TABLE assignments("
	" kind TEXT NOT NULL CHECK(kind IN ('device', 'label')),"
	" target TEXT NOT NULL CHECK((kind = 'device' AND typeof(target) = 'text'"
	"  AND length(target) = 64 AND target NOT GLOB '*[^0-9a-f]*')"
	"  OR (kind = 'label' AND " TOKEN_OK("target") ")),"
	" baseline TEXT NOT NULL CHECK" TOKEN_OK("baseline") ","
	" assigned_at INTEGER NOT NULL,"
	" PRIMARY KEY(kind, target))",
	/* Baseline names are not unique rows, so no foreign key: triggers. */
	"CREATE TRIGGER assignments_baseline_insert BEFORE INSERT ON assignments"
	" WHEN NOT EXISTS(SELECT 1 FROM baselines WHERE name = NEW.baseline)"
	" BEGIN SELECT RAISE(ABORT, 'no such baseline'); END",
	"CREATE TRIGGER assignments_baseline_update BEFORE UPDATE ON assignments"
	" WHEN NOT EXISTS(SELECT 1 FROM baselines WHERE name = NEW.baseline)"
	" BEGIN SELECT RAISE(ABORT, 'no such baseline'); END",
	"CREATE TRIGGER assignments_device_insert BEFORE INSERT ON assignments"
	" WHEN NEW.kind = 'device' AND NOT EXISTS(SELECT 1 FROM devices WHERE id = NEW.target)"
	" BEGIN SELECT RAISE(ABORT, 'no such device'); END",
	"CREATE TRIGGER assignments_device_update BEFORE UPDATE ON assignments"
	" WHEN NEW.kind = 'device' AND NOT EXISTS(SELECT 1 FROM devices WHERE id = NEW.target)"
	" BEGIN SELECT RAISE(ABORT, 'no such device'); END",
	"CREATE TRIGGER devices_delete_assignment AFTER DELETE ON devices"
	" BEGIN DELETE FROM assignments WHERE kind = 'device' AND target = OLD.id; END",
	"CREATE TABLE evidence("
	" device_id TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,"
	" event_log BLOB CHECK(event_log IS NULL OR length(event_log) BETWEEN 1 AND 1048576),"
	" pcrs_json TEXT CHECK(pcrs_json IS NULL OR"
	"  length(CAST(pcrs_json AS BLOB)) BETWEEN 1 AND 65536))",
};
#undef TOKEN_OK

/* What a policy engine needs to ask "is this device compliant right now?":
 * the TPM manufacturer (from the EK certificate), when the state last
 * changed, and the last verdict's signed token with its expiry (kept in
 * devices: one row answers; list does not read the token). The sizes are
 * TPA_STORE_MANUFACTURER_MAX and TPA_STORE_TOKEN_MAX; an expiry goes with a
 * token, and only with one. */
#define PRINTABLE(c) c " NOT GLOB '*[^ -~]*'"
static const char *schema_v3[] = {
	"ALTER TABLE devices ADD COLUMN tpm_manufacturer TEXT CHECK(tpm_manufacturer IS NULL OR"
	" (typeof(tpm_manufacturer) = 'text' AND length(tpm_manufacturer) BETWEEN 1 AND 15"
	" AND " PRINTABLE("tpm_manufacturer") "))",
	"ALTER TABLE devices ADD COLUMN state_changed_at INTEGER",
	"ALTER TABLE devices ADD COLUMN last_token TEXT CHECK(last_token IS NULL OR"
	" (typeof(last_token) = 'text' AND length(CAST(last_token AS BLOB)) BETWEEN 1 AND 16384"
	" AND " PRINTABLE("last_token") "))",
	"ALTER TABLE devices ADD COLUMN last_token_exp INTEGER CHECK((last_token_exp IS NULL) ="
	" (last_token IS NULL) AND (last_token_exp IS NULL OR"
	" (typeof(last_token_exp) = 'integer' AND last_token_exp >= 0)))",
};
#undef PRINTABLE

/* Device ids from the EK's key (SHA-256 of its SubjectPublicKeyInfo), not
 * from the bytes a client sent: the ids devices had before stay findable
 * as aliases. Sealed ids used up are kept until they expire; the sealing
 * key lives here, so that sealed ids hold across restarts. */
static const char *schema_v4[] = {
	"CREATE TABLE device_aliases("
	" alias TEXT PRIMARY KEY CHECK(typeof(alias) = 'text' AND length(alias) = 64"
	"  AND alias NOT GLOB '*[^0-9a-f]*'),"
	" device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
	" added_at INTEGER NOT NULL)",
	"CREATE INDEX device_aliases_device ON device_aliases(device_id)",
	"CREATE TABLE used_seals("
	" tag BLOB PRIMARY KEY CHECK(typeof(tag) = 'blob' AND length(tag) = 16),"
	" expires_at INTEGER NOT NULL)",
	"CREATE INDEX used_seals_expiry ON used_seals(expires_at)",
	"CREATE TABLE secrets("
	" name TEXT PRIMARY KEY,"
	" value BLOB NOT NULL)",
};

/* The audit log as a hash chain (lib/audit.c, docs/audit.md): each row the
 * hash of the row before it and its own; the chain's signed heads, kept
 * append-only. The rows there are get chained by the migration. */
#define HASH_OK(c) "(typeof(" c ") = 'blob' AND length(" c ") = 32)"
static const char *schema_v5[] = {
	"ALTER TABLE audit ADD COLUMN prev_hash BLOB CHECK(prev_hash IS NULL OR "
	HASH_OK("prev_hash") ")",
	"ALTER TABLE audit ADD COLUMN hash BLOB CHECK(hash IS NULL OR " HASH_OK("hash") ")",
	"CREATE TRIGGER audit_chained BEFORE INSERT ON audit"
	" WHEN NEW.prev_hash IS NULL OR NEW.hash IS NULL"
	" BEGIN SELECT RAISE(ABORT, 'an audit row needs its hashes'); END",
	"CREATE TABLE audit_heads("
	" seq INTEGER PRIMARY KEY CHECK(seq >= 1),"
	" hash BLOB NOT NULL CHECK" HASH_OK("hash") ","
	" signed_at INTEGER NOT NULL CHECK(typeof(signed_at) = 'integer'),"
	" kid TEXT NOT NULL CHECK(typeof(kid) = 'text' AND length(kid) BETWEEN 1 AND 64),"
	" jws TEXT NOT NULL CHECK(typeof(jws) = 'text' AND"
	"  length(CAST(jws AS BLOB)) BETWEEN 1 AND 16384))",
	"CREATE TRIGGER audit_heads_no_update BEFORE UPDATE ON audit_heads"
	" BEGIN SELECT RAISE(ABORT, 'signed heads are append-only'); END",
	"CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads"
	" BEGIN SELECT RAISE(ABORT, 'signed heads are append-only'); END",
};
#undef HASH_OK

/* Operating a fleet (issue 14). Devices gain what names their host to a
 * person, as the host reports it (never attested: kept apart from what the
 * TPM signed, and shown marked so), when they were first and last seen,
 * whether an operator must still approve them, how they were admitted and
 * where their EK certificate came from. A revoked device that is deleted
 * leaves a tombstone, so that its TPM cannot enroll again as a new device
 * until an operator reinstates it. The inventory lists the EKs an
 * allowlist admits, by device id or by EK certificate issuer and serial.
 * An assignment may pin a baseline version (NULL: the latest). */
#define TEXT_OK(c, n) "(" c " IS NULL OR (typeof(" c ") = 'text' AND" \
	" length(CAST(" c " AS BLOB)) BETWEEN 1 AND " #n " AND " c " NOT GLOB '*[^ -~]*'))"
#define ID_OK(c) "(typeof(" c ") = 'text' AND length(" c ") = 64 AND " c " NOT GLOB '*[^0-9a-f]*')"
static const char *schema_v6[] = {
	"ALTER TABLE devices ADD COLUMN hostname TEXT CHECK" TEXT_OK("hostname", 255),
	"ALTER TABLE devices ADD COLUMN machine_id TEXT CHECK(machine_id IS NULL OR"
	" (typeof(machine_id) = 'text' AND length(machine_id) = 32"
	" AND machine_id NOT GLOB '*[^0-9a-f]*'))",
	"ALTER TABLE devices ADD COLUMN dmi_product TEXT CHECK" TEXT_OK("dmi_product", 128),
	"ALTER TABLE devices ADD COLUMN dmi_serial TEXT CHECK" TEXT_OK("dmi_serial", 128),
	"ALTER TABLE devices ADD COLUMN first_seen INTEGER",
	"ALTER TABLE devices ADD COLUMN last_seen INTEGER",
	"ALTER TABLE devices ADD COLUMN pending INTEGER NOT NULL DEFAULT 0"
	" CHECK(pending IN (0, 1))",
	"ALTER TABLE devices ADD COLUMN admission TEXT CHECK(admission IS NULL OR"
	" admission IN ('open', 'approved', 'allowlist'))",
	"ALTER TABLE devices ADD COLUMN ek_cert_source TEXT CHECK(ek_cert_source IS NULL OR"
	" ek_cert_source IN ('nv', 'file', 'none'))",
	"CREATE INDEX devices_hostname ON devices(hostname)",
	"UPDATE devices SET first_seen = enrolled_at,"
	" last_seen = coalesce(last_attest_at, enrolled_at), admission = 'open',"
	" ek_cert_source = CASE WHEN ek_cert IS NULL OR length(ek_cert) = 0"
	" THEN 'none' ELSE 'nv' END",
	"CREATE TABLE tombstones("
	" device_id TEXT PRIMARY KEY CHECK" ID_OK("device_id") ","
	" revoked_at INTEGER,"
	" deleted_at INTEGER NOT NULL,"
	" hostname TEXT CHECK" TEXT_OK("hostname", 255) ")",
	"CREATE TABLE inventory("
	" kind TEXT NOT NULL CHECK(kind IN ('device', 'ek-cert')),"
	" value TEXT NOT NULL CHECK(typeof(value) = 'text' AND"
	"  length(CAST(value AS BLOB)) BETWEEN 1 AND 1024 AND value NOT GLOB '*[^ -~]*'),"
	" name TEXT CHECK" TEXT_OK("name", 255) ","
	" label TEXT CHECK(label IS NULL OR (typeof(label) = 'text' AND length(label)"
	"  BETWEEN 1 AND 64 AND label NOT GLOB '*[^A-Za-z0-9._-]*')),"
	" no_ek_cert INTEGER NOT NULL DEFAULT 0 CHECK(no_ek_cert IN (0, 1)),"
	" added_at INTEGER NOT NULL,"
	" PRIMARY KEY(kind, value),"
	" CHECK(kind <> 'device' OR " ID_OK("value") "),"
	" CHECK(no_ek_cert = 0 OR kind = 'device'))",
	"ALTER TABLE assignments ADD COLUMN version INTEGER CHECK(version IS NULL OR"
	" (typeof(version) = 'integer' AND version >= 1))",
};

/* Enforcement (issue 16): the network-access certificates bound to devices
 * (by issuer and serial, as a RADIUS server names the one it verified;
 * gone with their device), the open network sessions RADIUS accounting
 * reported (no foreign key: a session of a deleted device must still be
 * disconnected), the compliance last acted on per device (kept for devices
 * gone too, until their deletion is acted on), and a durable outbox of the
 * deliveries enforcement points are owed. The sizes are TPA_CERT_ISSUER_MAX,
 * TPA_CERT_SERIAL_MAX, TPA_SESSION_FIELD_MAX, TPA_NOTIFY_REASON_MAX,
 * TPA_OUTBOX_TARGET_MAX, TPA_OUTBOX_BODY_MAX and TPA_OUTBOX_ERROR_MAX. */
#define INT_OK(c) "(typeof(" c ") = 'integer')"
static const char *schema_v7[] = {
	"CREATE TABLE device_certs("
	" issuer TEXT NOT NULL CHECK" TEXT_OK("issuer", 512) ","
	" serial TEXT NOT NULL CHECK(typeof(serial) = 'text' AND length(serial) BETWEEN 2 AND 64"
	"  AND length(serial) % 2 = 0 AND serial NOT GLOB '*[^0-9a-f]*'),"
	" device_id TEXT NOT NULL CHECK" ID_OK("device_id")
	"  REFERENCES devices(id) ON DELETE CASCADE,"
	" sha256 TEXT NOT NULL CHECK" ID_OK("sha256") ","
	" not_after INTEGER NOT NULL CHECK" INT_OK("not_after") ","
	" added_at INTEGER NOT NULL CHECK" INT_OK("added_at") ","
	" PRIMARY KEY(issuer, serial))",
	"CREATE INDEX device_certs_device ON device_certs(device_id)",
	"CREATE TABLE sessions("
	" nas_ip TEXT NOT NULL CHECK" TEXT_OK("nas_ip", 63) ","
	" session_id TEXT NOT NULL CHECK" TEXT_OK("session_id", 253) ","
	" device_id TEXT NOT NULL CHECK" ID_OK("device_id") ","
	" nas_identifier TEXT CHECK" TEXT_OK("nas_identifier", 253) ","
	" nas_port TEXT CHECK" TEXT_OK("nas_port", 253) ","
	" calling_station TEXT CHECK" TEXT_OK("calling_station", 253) ","
	" user_name TEXT CHECK" TEXT_OK("user_name", 253) ","
	" started_at INTEGER NOT NULL CHECK" INT_OK("started_at") ","
	" updated_at INTEGER NOT NULL CHECK" INT_OK("updated_at") ","
	" PRIMARY KEY(nas_ip, session_id))",
	"CREATE INDEX sessions_device ON sessions(device_id)",
	"CREATE TABLE notified("
	" device_id TEXT PRIMARY KEY CHECK" ID_OK("device_id") ","
	" compliant INTEGER NOT NULL CHECK(compliant IN (0, 1)),"
	" reason TEXT CHECK" TEXT_OK("reason", 255) ","
	" at INTEGER NOT NULL CHECK" INT_OK("at") ")",
	"CREATE TABLE outbox("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" kind TEXT NOT NULL CHECK(kind IN ('caep', 'radius')),"
	" target TEXT NOT NULL CHECK" TEXT_OK("target", 512) ","
	" device_id TEXT NOT NULL CHECK" ID_OK("device_id") ","
	" body TEXT NOT NULL CHECK(typeof(body) = 'text' AND"
	"  length(CAST(body AS BLOB)) BETWEEN 1 AND 65536 AND"
	"  body NOT GLOB '*[^ -~' || char(9, 10, 13) || ']*'),"
	" created_at INTEGER NOT NULL CHECK" INT_OK("created_at") ","
	" next_at INTEGER NOT NULL CHECK" INT_OK("next_at") ","
	" attempts INTEGER NOT NULL DEFAULT 0 CHECK(typeof(attempts) = 'integer' AND"
	"  attempts >= 0),"
	" last_error TEXT CHECK" TEXT_OK("last_error", 255) ")",
	"CREATE INDEX outbox_due ON outbox(kind, target, next_at)",
};
#undef INT_OK
#undef ID_OK
#undef TEXT_OK

/* The token's CHECK made cheap. Schema 3's printable-ASCII rule was a GLOB
 * class, which SQLite parses again at each character: every verdict's
 * UPDATE ran it over the whole token (~1.1 KB), some 20 us and 3 % of a
 * warm attestation's CPU (perf, 2026-12-08). The rule stays where the
 * token is written and read (sq_record, sq_last_token check it in C); the
 * CHECK keeps what SQLite checks at the cost of a length: text of 1 to
 * 16384 bytes, ASCII without NUL (as many characters as bytes: length()
 * counts UTF-8 characters to the first NUL). SQLite cannot alter a CHECK:
 * both columns are dropped (the expiry's CHECK names the token) and added
 * again as schema 3 added them, their values kept. PostgreSQL's schema keeps
 * its regular expression, which is cheap there and runs on the server. */
static const char *schema_v8[] = {
	"CREATE TEMP TABLE v8_tokens AS SELECT id, last_token, last_token_exp FROM devices"
	" WHERE last_token IS NOT NULL",
	"ALTER TABLE devices DROP COLUMN last_token_exp",
	"ALTER TABLE devices DROP COLUMN last_token",
	"ALTER TABLE devices ADD COLUMN last_token TEXT CHECK(last_token IS NULL OR"
	" (typeof(last_token) = 'text' AND length(CAST(last_token AS BLOB)) BETWEEN 1 AND 16384"
	" AND length(CAST(last_token AS BLOB)) = length(last_token)))",
	"ALTER TABLE devices ADD COLUMN last_token_exp INTEGER CHECK((last_token_exp IS NULL) ="
	" (last_token IS NULL) AND (last_token_exp IS NULL OR"
	" (typeof(last_token_exp) = 'integer' AND last_token_exp >= 0)))",
	"UPDATE devices SET last_token = t.last_token, last_token_exp = t.last_token_exp"
	" FROM v8_tokens t WHERE devices.id = t.id",
	"DROP TABLE v8_tokens",
};

static void open_files_ref(sq_store *s, int delta);

/* A failed call of the engine, named: a lost server is UNAVAILABLE (worth
 * retrying, and said so to a client), anything else I/O. */
static int sq_fail(sq_store *s, const char *what)
{
	if (s->pg && sqldb_failed_how(s->db) == SQLDB_RETRY)
		return tpa_err_fail(STORE_ERR_RETRY, "registry %s: %s: the database aborted the "
				    "transaction: %s", s->path, what, sqldb_errmsg(s->db));
	if (sqldb_failed_how(s->db) == SQLDB_LOST)
		return tpa_err_fail(TPA_ERR_UNAVAILABLE, "registry %s: %s: the database is "
				    "unreachable: %s", s->path, what, sqldb_errmsg(s->db));
	return tpa_err_fail(TPA_ERR_IO, "registry %s: %s: %s", s->path, what,
			    sqldb_errmsg(s->db));
}

static int exec(sq_store *s, const char *sql)
{
	if (sqldb_exec(s->db, sql) < 0)
		return sq_fail(s, "exec");
	return 0;
}

/* A write transaction. SQLite takes its file's write lock at once; on
 * PostgreSQL every writer of every replica takes one transaction-scoped
 * advisory lock first, so writers run one at a time as on SQLite: the
 * audit chain cannot fork, a read inside sees every commit before it, and
 * they cannot deadlock one another. A transaction aborted all the same (by
 * another session's locks) fails STORE_ERR_RETRY, and store.c runs it
 * again. */
#define PG_WRITE_LOCK "SELECT pg_advisory_xact_lock(7366441027)"
static int begin(sq_store *s)
{
	int err;

	/* PostgreSQL: both in one round trip. */
	if (!s->pg)
		err = exec(s, "BEGIN IMMEDIATE");
	else if ((err = exec(s, "BEGIN; " PG_WRITE_LOCK)) < 0)
		sqldb_exec(s->db, "ROLLBACK");
	s->in_tx = err == 0;
	return err;
}

/* On PostgreSQL every write transaction advances tpa_data_version with
 * what it commits (tpa_store_data_version): once, at its end. */
static int finish(sq_store *s, int err)
{
	s->in_tx = 0;
	if (err < 0) {
		sqldb_exec(s->db, "ROLLBACK");
		return err;
	}
	if ((err = exec(s, s->pg ? "UPDATE tpa_data_version SET v = v + 1; COMMIT" : "COMMIT")) < 0)
		sqldb_exec(s->db, "ROLLBACK");
	return err;
}

/* Gives back a statement from prepare. */
static void release(sq_store *s, sqldb_stmt *st)
{
	(void)s;
	sqldb_release(st);
}

/* Prepares sql and binds text/blob/int arguments described by types:
 * 't' text, 'b' blob (pointer + length), 'i' int64. */
static int prepare(sqldb_stmt **st, sq_store *s, const char *sql, const char *types, ...)
{
	va_list ap;
	int i, rc = 0, err;

	if (sqldb_prepare(st, s->db, sql) < 0) {
		*st = NULL;
		return sq_fail(s, "prepare");
	}
	/* Every parameter bound: one left out would be NULL, and a
	 * coalesce() keep the old value unseen (dmi_serial once was). */
	if (sqldb_params(*st) != (int)strlen(types)) {
		err = tpa_err_fail(TPA_ERR_INTERNAL, "registry %s: a statement of %d parameters "
				   "given %zu: %.60s", s->path, sqldb_params(*st), strlen(types), sql);
		release(s, *st);
		*st = NULL;
		return err;
	}
	va_start(ap, types);
	for (i = 0; types[i] && rc == 0; i++) {
		if (types[i] == 't') {
			const char *v = va_arg(ap, const char *);

			rc = (*st)->ops->bind(*st, i + 1, 't', v, v ? strlen(v) : 0, 0);
		} else if (types[i] == 'b') {
			const void *v = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);

			rc = (*st)->ops->bind(*st, i + 1, 'b', v, n, 0);
		} else {
			rc = (*st)->ops->bind(*st, i + 1, 'i', NULL, 0, va_arg(ap, int64_t));
		}
	}
	va_end(ap);
	if (rc != 0) {
		err = sq_fail(s, "bind");
		release(s, *st);
		*st = NULL;
		return err;
	}
	return 0;
}

/* Runs a statement that returns no rows; *changes (optional) gets the
 * number of rows changed. */
static int run(sq_store *s, sqldb_stmt *st, int *changes)
{
	int rc, err;

	/* On PostgreSQL a write of its own takes the writers' lock as a
	 * transaction does (begin). */
	if (s->pg && !s->in_tx) {
		if ((err = begin(s)) < 0) {
			release(s, st);
			return err;
		}
		if ((err = run(s, st, changes)) < 0)
			return finish(s, err);
		return finish(s, 0);
	}
	rc = sqldb_step(st);
	release(s, st);
	if (rc != 0)
		return sq_fail(s, "write");
	if (changes)
		*changes = (int)sqldb_changes(s->db);
	return 0;
}

/* Steps a statement expected to give at most one row: 1 a row, 0 none, or
 * an error. The statement is not finalized. */
static int step_one(sq_store *s, sqldb_stmt *st)
{
	int rc = sqldb_step(st);

	if (rc >= 0)
		return rc;
	return sq_fail(s, "read");
}

/* Whether a query gives a row (1), none (0), or an error; finalizes. */
static int exists(sq_store *s, sqldb_stmt *st)
{
	int rc = step_one(s, st);

	release(s, st);
	return rc;
}

/* The connection a call uses, for the caller's thread alone until conn_put:
 * SQLite's one, under its lock; one of the PostgreSQL pool, opened when
 * none is free and the pool is not full, else waited for. One found broken
 * is reconnected once; one that cannot be fails its statements, which then
 * say UNAVAILABLE. */
static sq_store *pool_open(sq_store *o);
static void pg_close(sq_store *s);

static sq_store *conn_get(sq_store *s)
{
	sq_store *o = s->owner ? s->owner : s, *c = NULL;
	size_t i, slot;

	if (!o->pg) {
		pthread_mutex_lock(&o->lock);
		return o;
	}
	pthread_mutex_lock(&o->pool_lock);
	for (;;) {
		slot = POOL_MAX;
		for (i = 0; i < o->pool_max && !c; i++) {
			if (o->busy[i])
				continue;
			if (o->conns[i]) {
				o->busy[i] = 1;
				c = o->conns[i];
			} else if (slot == POOL_MAX) {
				slot = i;
			}
		}
		if (c || slot < POOL_MAX)
			break;
		pthread_cond_wait(&o->pool_cv, &o->pool_lock);
	}
	if (!c) {
		/* The slot is taken before its connection is opened, outside the
		 * lock; if it cannot be, the slot is given back and the caller
		 * waits for the first connection, whose statements then fail. */
		o->busy[slot] = 1;
		pthread_mutex_unlock(&o->pool_lock);
		c = pool_open(o);
		pthread_mutex_lock(&o->pool_lock);
		if (c) {
			o->conns[slot] = c;
		} else {
			o->busy[slot] = 0;
			while (o->busy[0])
				pthread_cond_wait(&o->pool_cv, &o->pool_lock);
			o->busy[0] = 1;
			c = o->conns[0];
		}
	}
	pthread_mutex_unlock(&o->pool_lock);
	sqldb__pg_check(c->db);
	return c;
}

static void conn_put(sq_store *c)
{
	sq_store *o = c->owner ? c->owner : c;
	size_t i;

	if (!o->pg) {
		pthread_mutex_unlock(&o->lock);
		return;
	}
	pthread_mutex_lock(&o->pool_lock);
	for (i = 0; i < o->pool_max; i++)
		if (o->conns[i] == c)
			o->busy[i] = 0;
	pthread_cond_broadcast(&o->pool_cv);
	pthread_mutex_unlock(&o->pool_lock);
}

#define AUDIT_COLUMNS "seq, at, device_id, event, detail, prev_hash, hash"

/* A column's bytes, never NULL for a present value (SQLite gives NULL for
 * an empty blob). */
static const void *column_bytes(sqldb_stmt *st, int col, size_t *len, int blob)
{
	const void *b = blob ? sqldb_column_blob(st, col) :
		(const void *)sqldb_column_text(st, col);

	*len = (size_t)(int)sqldb_column_bytes(st, col);
	return b ? b : "";
}

/* One audit row (AUDIT_COLUMNS) as the file holds it: a column not of its
 * type is named, never trusted. Valid until the next step. */
static void row_from(tpa_audit_row *r, sqldb_stmt *st)
{
	static const char *const wrong[] = { "device_id is not text", "event is not text",
					     "detail is not text" };
	const char **text[] = { &r->device_id, &r->event, &r->detail };
	size_t *len[] = { &r->device_id_len, &r->event_len, &r->detail_len };
	int i, t;

	memset(r, 0, sizeof(*r));
	r->seq = sqldb_column_int(st, 0);
	r->at = sqldb_column_int(st, 1);
	if (sqldb_column_type(st, 1) != SQLDB_INTEGER)
		r->malformed = "at is not an integer";
	/* device_id may be NULL (no device); event and detail are text. */
	for (i = 0; i < 3; i++) {
		if ((t = sqldb_column_type(st, 2 + i)) == SQLDB_TEXT)
			*text[i] = column_bytes(st, 2 + i, len[i], 0);
		else if (!(t == SQLDB_NULL && i == 0) && !r->malformed)
			r->malformed = wrong[i];
	}
	if (sqldb_column_type(st, 5) == SQLDB_BLOB)
		r->prev_hash = column_bytes(st, 5, &r->prev_hash_len, 1);
	if (sqldb_column_type(st, 6) == SQLDB_BLOB)
		r->hash = column_bytes(st, 6, &r->hash_len, 1);
}

/* Chains a row: it links to the last row there is (its hash; the genesis
 * value if there is none, or its hash is malformed: verify names that row)
 * under the next seq the log never gave, so that a gap left by rows
 * removed stays visible. Called in the transaction that writes it. */
static int audit(sq_store *s, const char *id, const char *event, const char *detail,
		 int64_t now)
{
	uint8_t prev[TPA_AUDIT_HASH_LEN] = { 0 }, hash[TPA_AUDIT_HASH_LEN];
	tpa_audit_row r;
	sqldb_stmt *st;
	int64_t seq = 0;
	int err, rc;

	if (!s->chained) {
		/* Only while migrating: schema 5 chains these rows. */
		if ((err = prepare(&st, s, "INSERT INTO audit(at, device_id, event, detail) "
				   "VALUES(?, ?, ?, ?)", "ittt", now, id, event, detail)) < 0)
			return err;
		return run(s, st, NULL);
	}
	/* SQLite's AUTOINCREMENT counter remembers a seq even if its row were
	 * gone; PostgreSQL's audit table refuses DELETE and TRUNCATE. */
	if ((err = s->pg ?
	     prepare(&st, s, "SELECT coalesce(a.seq, 0), a.hash FROM (SELECT 1) one LEFT JOIN "
		     "(SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1) a ON true", "") :
	     prepare(&st, s, "SELECT max(coalesce((SELECT seq FROM sqlite_sequence "
		     "WHERE name = 'audit' AND typeof(seq) = 'integer'), 0), "
		     "coalesce(a.seq, 0)), a.hash FROM (SELECT 1) LEFT JOIN "
		     "(SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1) a", "")) < 0)
		return err;
	if ((rc = step_one(s, st)) == 1) {
		seq = sqldb_column_int(st, 0);
		if (sqldb_column_type(st, 1) == SQLDB_BLOB &&
		    (int)sqldb_column_bytes(st, 1) == TPA_AUDIT_HASH_LEN)
			memcpy(prev, sqldb_column_blob(st, 1), TPA_AUDIT_HASH_LEN);
	}
	release(s, st);
	if (rc < 0)
		return rc;
	if (seq == INT64_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "registry %s: the audit log's seq is at its "
				    "end", s->path);
	memset(&r, 0, sizeof(r));
	r.seq = seq < 0 ? 1 : seq + 1;
	r.at = now;
	r.device_id = id;
	r.device_id_len = id ? strlen(id) : 0;
	r.event = event;
	r.event_len = strlen(event);
	r.detail = detail;
	r.detail_len = strlen(detail);
	r.prev_hash = prev;
	r.prev_hash_len = sizeof(prev);
	if ((err = tpa_audit_row_hash(hash, &r)) < 0 ||
	    (err = prepare(&st, s, "INSERT INTO audit(" AUDIT_COLUMNS ") "
			   "VALUES(?, ?, ?, ?, ?, ?, ?)", "iitttbb", r.seq, now, id, event, detail,
			   (const void *)prev, sizeof(prev), (const void *)hash, sizeof(hash))) < 0)
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

/* 1..max bytes of [A-Za-z0-9._-]: labels and baseline names. */
static int valid_token(const char *v, size_t max)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		if (i >= max || !((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'z') ||
				  (v[i] >= 'A' && v[i] <= 'Z') || v[i] == '.' || v[i] == '_' ||
				  v[i] == '-'))
			return 0;
	return i > 0;
}

/* 1..max bytes of printable ASCII (0x20-0x7e); 0 also when longer. */
static int valid_printable(const char *v, size_t max)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		if (i >= max || v[i] < 0x20 || v[i] > 0x7e)
			return 0;
	return i > 0;
}

static int bad_id(const char *op)
{
	return tpa_err_fail(TPA_ERR_INVALID_ARG, "%s: the device id must be %d lowercase hex digits",
			    op, TPA_DEVICE_ID_LEN);
}

static int bad_token(const char *op, const char *field, size_t max)
{
	return tpa_err_fail(TPA_ERR_INVALID_ARG,
			    "%s: the %s must be 1 to %zu bytes of A-Z, a-z, 0-9, '.', '_', '-'",
			    op, field, max);
}

/* "name@version" into its parts. */
static int parse_ref(char *name, int *version, const char *ref)
{
	const char *at = ref ? strrchr(ref, '@') : NULL;
	size_t n = at ? (size_t)(at - ref) : 0;
	long v = 0;
	const char *p;

	if (!at || n == 0 || n > TPA_BASELINE_NAME_MAX || !at[1] || at[1] == '0' ||
	    strlen(at + 1) > 9)
		return -1;
	memcpy(name, ref, n);
	name[n] = '\0';
	if (!valid_token(name, TPA_BASELINE_NAME_MAX))
		return -1;
	for (p = at + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = 10 * v + (*p - '0');
	}
	*version = (int)v;
	return 0;
}

/* The device an id names: itself, or the device an alias (its id before ids
 * were derived from the EK's key) now is. Called with the lock held; out
 * holds TPA_DEVICE_ID_LEN + 1 bytes. */
static int canonical(sq_store *s, const char *id, char *out)
{
	sqldb_stmt *st;
	int rc, err;

	snprintf(out, TPA_DEVICE_ID_LEN + 1, "%s", id ? id : "");
	if (!valid_id(id))
		return 0;
	if ((err = prepare(&st, s, "SELECT device_id FROM device_aliases WHERE alias = ?", "t",
			   id)) < 0)
		return err;
	if ((rc = step_one(s, st)) == 1)
		snprintf(out, TPA_DEVICE_ID_LEN + 1, "%s", (const char *)sqldb_column_text(st, 0));
	release(s, st);
	return rc < 0 ? rc : 0;
}

static char *dup_column_text(sqldb_stmt *st, int col)
{
	const unsigned char *t = sqldb_column_text(st, col);
	int n = (int)sqldb_column_bytes(st, col);
	char *d;

	if (!t)
		return NULL;
	if ((d = malloc((size_t)n + 1))) {
		memcpy(d, t, (size_t)n);
		d[n] = '\0';
	}
	return d;
}

static int admission_ok(const tpa_store_admission *a);
static int write_admission(sq_store *s, const char *id, const tpa_store_admission *a,
			   size_t cert_len, int new_device);

static int enroll_tx(tpa_store *p, const char *id, const uint8_t *ek_pub, size_t ek_len,
		     const uint8_t *ek_cert, size_t cert_len, const uint8_t *ak_pub,
		     size_t ak_len, const char *ak_name, const char *mf, int replace,
		     const tpa_store_admission *adm, int64_t now)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char detail[200 + TPA_INVENTORY_NAME_MAX], owner[TPA_DEVICE_ID_LEN + 1] = "";
	int err, rc, naks = 0, known = 0;

	if (!valid_id(id) || !ek_pub || !ek_len || !ak_pub || !ak_len || !ak_name ||
	    !*ak_name)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "enroll: missing or malformed input");
	if (mf && !valid_printable(mf, TPA_STORE_MANUFACTURER_MAX))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "enroll: the manufacturer must be 1..%d "
				    "printable ASCII characters", TPA_STORE_MANUFACTURER_MAX);
	if (adm && (err = admission_ok(adm)) < 0)
		return err;
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	/* Whether the device is registered already: its admission stays. */
	if ((err = prepare(&st, s, "SELECT 1 FROM devices WHERE id = ?", "t", id)) < 0 ||
	    (err = exists(s, st)) < 0)
		goto done;
	known = err;
	/* An AK belongs to one device: one registered elsewhere is a conflict,
	 * never silently kept or moved. */
	if ((err = prepare(&st, s, "SELECT device_id FROM aks WHERE name = ?", "t", ak_name)) < 0)
		goto done;
	if ((rc = step_one(s, st)) == 1)
		snprintf(owner, sizeof(owner), "%s", (const char *)sqldb_column_text(st, 0));
	release(s, st);
	if ((err = rc < 0 ? rc : 0) < 0)
		goto done;
	/* A TPM deleted while revoked stays out until an operator reinstates
	 * it: checked here too, in the transaction that would register it. */
	if ((err = prepare(&st, s, "SELECT 1 FROM tombstones WHERE device_id = ?", "t", id)) < 0 ||
	    (err = exists(s, st)) < 0)
		goto done;
	if (err == 1) {
		err = tpa_err_fail(TPA_ERR_REFUSED, "device %.16s is revoked (deleted while revoked)",
				   id);
		goto done;
	}
	if (owner[0] && strcmp(owner, id) != 0) {
		err = tpa_err_fail(TPA_ERR_CONFLICT, "AK %.16s... is registered to another device "
				   "(%.16s...)", ak_name, owner);
		goto done;
	}
	/* A device keeps its state (a revoked one stays revoked) and its
	 * enrollment time; the EK certificate is refreshed (one enrollment
	 * without a certificate keeps the one that chained before: the EK is
	 * the same key). */
	if ((err = prepare(&st, s,
			   "INSERT INTO devices(id, ek_public, ek_cert, state, enrolled_at) "
			   "VALUES(?, ?, ?, 'active', ?) ON CONFLICT(id) DO UPDATE SET "
			   "ek_cert = CASE WHEN length(excluded.ek_cert) > 0 THEN excluded.ek_cert "
			   "ELSE devices.ek_cert END", "tbbi", id, ek_pub, ek_len, ek_cert,
			   cert_len, now)) < 0 || (err = run(s, st, NULL)) < 0)
		goto done;
	/* The manufacturer in the same transaction: a device is never left
	 * enrolled without what its enrollment writes. */
	if (mf && ((err = prepare(&st, s, "UPDATE devices SET tpm_manufacturer = ? WHERE id = ?",
				  "tt", mf, id)) < 0 || (err = run(s, st, NULL)) < 0))
		goto done;
	if ((err = write_admission(s, id, adm, cert_len, !known)) < 0)
		goto done;
	if (replace && ((err = prepare(&st, s, "DELETE FROM aks WHERE device_id = ? AND name <> ?",
				       "tt", id, ak_name)) < 0 || (err = run(s, st, NULL)) < 0))
		goto done;
	if (!owner[0] &&
	    ((err = prepare(&st, s, "INSERT INTO aks(name, device_id, public, registered_at) "
			    "VALUES(?, ?, ?, ?)", "ttbi", ak_name, id, ak_pub, ak_len, now)) < 0 ||
	     (err = run(s, st, NULL)) < 0))
		goto done;
	if ((err = prepare(&st, s, "SELECT count(*) FROM aks WHERE device_id = ?", "t", id)) < 0)
		goto done;
	if ((rc = step_one(s, st)) == 1)
		naks = (int)sqldb_column_int(st, 0);
	release(s, st);
	if ((err = rc < 0 ? rc : 0) < 0)
		goto done;
	snprintf(detail, sizeof(detail), "AK %.16s...%s (the device holds %d AK%s)%s%s%s%s%s",
		 ak_name, replace ? ", replacing the others" : owner[0] ? " again" : "", naks,
		 naks == 1 ? "" : "s",
		 known || !adm ? "" : adm->pending ? "; pending approval" : "; admitted: ",
		 known || !adm || adm->pending ? "" : adm->admission,
		 known || !adm || !adm->ek_cert_source ? "" :
		 strcmp(adm->ek_cert_source, "none") == 0 ? ", EK without a certificate" : "",
		 known || !adm || !adm->name ? "" : ", inventory name ",
		 known || !adm || !adm->name ? "" : adm->name);
	err = audit(s, id, "enroll", detail, now);
done:
	err = finish(s, err);
out:
	conn_put(s);
	return err;
}

static int sq_enroll(tpa_store *p, const char *id, const uint8_t *ek_pub, size_t ek_len,
		     const uint8_t *ek_cert, size_t cert_len, const uint8_t *ak_pub,
		     size_t ak_len, const char *ak_name, const char *mf, int replace, int64_t now)
{
	return enroll_tx(p, id, ek_pub, ek_len, ek_cert, cert_len, ak_pub, ak_len, ak_name, mf,
			 replace, NULL, now);
}

static void row_to_device(tpa_device *d, sqldb_stmt *st)
{
	const unsigned char *t;

	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", (const char *)sqldb_column_text(st, 0));
	t = sqldb_column_text(st, 1);
	d->state = t && strcmp((const char *)t, "revoked") == 0 ? TPA_DEVICE_REVOKED :
		TPA_DEVICE_ACTIVE;
	d->enrolled_at = sqldb_column_int(st, 2);
	d->last_attest_at = sqldb_column_int(st, 3);
	if ((t = sqldb_column_text(st, 4)))
		snprintf(d->last_verdict, sizeof(d->last_verdict), "%s", (const char *)t);
	if ((t = sqldb_column_text(st, 5)))
		snprintf(d->ak_name, sizeof(d->ak_name), "%s", (const char *)t);
	if ((t = sqldb_column_text(st, 6)))
		snprintf(d->label, sizeof(d->label), "%s", (const char *)t);
	if ((t = sqldb_column_text(st, 7)))
		snprintf(d->last_outcome, sizeof(d->last_outcome), "%s", (const char *)t);
	if ((t = sqldb_column_text(st, 8)))
		snprintf(d->last_baseline, sizeof(d->last_baseline), "%s", (const char *)t);
	if ((t = sqldb_column_text(st, 9)))
		snprintf(d->tpm_manufacturer, sizeof(d->tpm_manufacturer), "%s", (const char *)t);
	d->state_changed_at = sqldb_column_int(st, 10);
	d->last_token_exp = sqldb_column_int(st, 11);
	d->naks = (unsigned)(int)sqldb_column_int(st, 12);
	/* The reported names: the schema's CHECKs bound them; copied bounded
	 * all the same. */
	if ((t = sqldb_column_text(st, 13)))
		snprintf(d->host.hostname, sizeof(d->host.hostname), "%s", (const char *)t);
	if ((t = sqldb_column_text(st, 14)))
		snprintf(d->host.machine_id, sizeof(d->host.machine_id), "%s", (const char *)t);
	if ((t = sqldb_column_text(st, 15)))
		snprintf(d->host.dmi_product, sizeof(d->host.dmi_product), "%s", (const char *)t);
	if ((t = sqldb_column_text(st, 16)))
		snprintf(d->host.dmi_serial, sizeof(d->host.dmi_serial), "%s", (const char *)t);
	d->first_seen = sqldb_column_int(st, 17);
	d->last_seen = sqldb_column_int(st, 18);
	/* Admission: a pending device is shown pending unless it is revoked
	 * (revocation wins; it stays pending after a reinstatement). */
	d->pending = (int)sqldb_column_int(st, 19) != 0;
	if (d->pending && d->state == TPA_DEVICE_ACTIVE)
		d->state = TPA_DEVICE_PENDING;
	if ((t = sqldb_column_text(st, 20)))
		snprintf(d->admission, sizeof(d->admission), "%s", (const char *)t);
	if ((t = sqldb_column_text(st, 21)))
		snprintf(d->ek_cert_source, sizeof(d->ek_cert_source), "%s", (const char *)t);
}

/* Not the token body: reading devices stays cheap. */
#define DEVICE_COLUMNS "d.id, d.state, d.enrolled_at, d.last_attest_at, d.last_verdict, " \
	"(SELECT name FROM aks WHERE device_id = d.id ORDER BY registered_at DESC LIMIT 1), " \
	"d.label, d.last_outcome, d.last_baseline, d.tpm_manufacturer, d.state_changed_at, " \
	"d.last_token_exp, (SELECT count(*) FROM aks WHERE device_id = d.id), " \
	"d.hostname, d.machine_id, d.dmi_product, d.dmi_serial, d.first_seen, d.last_seen, " \
	"d.pending, d.admission, d.ek_cert_source"
#define DEVICE_NCOLUMNS 22
/* A device id as bound (?1), or the device it is an alias of: canonical()
 * inside the statement that reads the device. */
#define BY_ALIAS "coalesce((SELECT device_id FROM device_aliases WHERE alias = ?1), ?1)"

static int get_one(tpa_device *out, sq_store *s, const char *sql, const char *key,
		   const char *what)
{
	sqldb_stmt *st;
	int err, rc;

	s = conn_get(s);
	if ((err = prepare(&st, s, sql, "t", key)) < 0)
		goto out;
	rc = sqldb_step(st);
	if (rc == 1) {
		row_to_device(out, st);
		err = 0;
	} else if (rc == 0) {
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no device with %s %.64s", what, key);
	} else {
		err = sq_fail(s, "read");
	}
	release(s, st);
out:
	conn_put(s);
	return err;
}

static int sq_get(tpa_device *out, tpa_store *p, const char *id)
{
	sq_store *s = (sq_store *)p;
	char cid[TPA_DEVICE_ID_LEN + 1];

	if (!out || !id)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "get: NULL");
	snprintf(cid, sizeof(cid), "%s", id);
	/* The id, or the device it is an alias of (canonical), in one read. */
	return get_one(out, s, "SELECT " DEVICE_COLUMNS " FROM devices d WHERE d.id = " BY_ALIAS,
		       cid, "id");
}

static int sq_resolve(char *id_out, tpa_store *p, const char *id)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	int err;

	if (!id_out || !valid_id(id))
		return bad_id("resolve");
	s = conn_get(s);
	if ((err = canonical(s, id, id_out)) == 0 &&
	    (err = prepare(&st, s, "SELECT 1 FROM devices WHERE id = ?", "t", id_out)) == 0 &&
	    (err = exists(s, st)) == 0)
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no device with id %.64s", id);
	conn_put(s);
	return err < 0 ? err : 0;
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
	sqldb_stmt *st = NULL;
	char cid[TPA_DEVICE_ID_LEN + 1];
	int err, changes = 0;
	va_list ap;

	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	if ((err = canonical(s, id, cid)) < 0)
		goto done;
	id = cid;
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
	conn_put(s);
	return err;
}

static int sq_set_state(tpa_store *p, const char *id, tpa_device_state st, int64_t now)
{
	const char *name = tpa_device_state_name(st);

	if (!id || (st != TPA_DEVICE_ACTIVE && st != TPA_DEVICE_REVOKED))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "set state: bad arguments");
	/* The time moves only when the state does (the row matches either way:
	 * a known device is not "not found"). */
	return change((sq_store *)p, id,
		      "UPDATE devices SET state_changed_at = CASE WHEN state = ?2 "
		      "THEN state_changed_at ELSE ?1 END, state = ?2 WHERE id = ?3", "itt",
		      st == TPA_DEVICE_REVOKED ? "revoke" : "reinstate", name, now, now, name);
}

/* Deleting a revoked device leaves a tombstone in the same transaction: the
 * revocation outlives the row, so that the TPM cannot come back as a new
 * device (tpa_store_enroll refuses it) until an operator reinstates it. */
static int sq_remove(tpa_store *p, const char *id, int64_t now)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char cid[TPA_DEVICE_ID_LEN + 1];
	int err, rc, revoked = 0, changes = 0;

	if (!id)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "remove: NULL");
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	if ((err = canonical(s, id, cid)) < 0)
		goto done;
	if ((err = prepare(&st, s, "SELECT state FROM devices WHERE id = ?", "t", cid)) < 0)
		goto done;
	if ((rc = step_one(s, st)) == 1)
		revoked = sqldb_column_text(st, 0) &&
			  strcmp((const char *)sqldb_column_text(st, 0), "revoked") == 0;
	release(s, st);
	if ((err = rc < 0 ? rc : 0) < 0)
		goto done;
	if (revoked &&
	    ((err = prepare(&st, s, "INSERT INTO tombstones(device_id, revoked_at, deleted_at, "
			    "hostname) SELECT id, state_changed_at, ?, hostname FROM devices "
			    "WHERE id = ? ON CONFLICT(device_id) DO UPDATE SET "
			    "revoked_at = excluded.revoked_at, deleted_at = excluded.deleted_at, "
			    "hostname = excluded.hostname", "it", now, cid)) < 0 ||
	     (err = run(s, st, NULL)) < 0))
		goto done;
	if ((err = prepare(&st, s, "DELETE FROM devices WHERE id = ?", "t", cid)) < 0 ||
	    (err = run(s, st, &changes)) < 0)
		goto done;
	if (!changes) {
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no device with id %.64s", cid);
		goto done;
	}
	err = audit(s, cid, "delete", revoked ? "device and its AKs deleted; revoked: a "
		    "tombstone keeps it out until reinstated" : "device and its AKs deleted", now);
done:
	err = finish(s, err);
out:
	conn_put(s);
	return err;
}

static int sq_tombstoned(tpa_store *p, const char *id)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	int err;

	if (!valid_id(id))
		return bad_id("tombstone");
	s = conn_get(s);
	if ((err = prepare(&st, s, "SELECT 1 FROM tombstones WHERE device_id = ?", "t", id)) == 0)
		err = exists(s, st);
	conn_put(s);
	return err;
}

static int sq_untombstone(tpa_store *p, const char *id, int64_t now)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	int err, changes = 0;

	if (!valid_id(id))
		return bad_id("reinstate");
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	if ((err = prepare(&st, s, "DELETE FROM tombstones WHERE device_id = ?", "t", id)) < 0 ||
	    (err = run(s, st, &changes)) < 0)
		goto done;
	if (!changes) {
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no device or tombstone with id %.64s", id);
		goto done;
	}
	err = audit(s, id, "reinstate", "tombstone removed: the TPM may enroll again", now);
done:
	err = finish(s, err);
out:
	conn_put(s);
	return err;
}

static int is_hex_lower(const char *t)
{
	for (; *t; t++)
		if (!((*t >= '0' && *t <= '9') || (*t >= 'a' && *t <= 'f')))
			return 0;
	return 1;
}

/* Up to 3 candidates' ids from st (each a row's first column) and how
 * many rows there were (at most 4 are asked for). Finalizes. */
static int candidates(sq_store *s, sqldb_stmt *st, char cand[3][TPA_DEVICE_ID_LEN + 1],
		      size_t *n)
{
	int rc;

	*n = 0;
	while ((rc = step_one(s, st)) == 1) {
		if (*n < 3)
			snprintf(cand[*n], sizeof(cand[*n]), "%s",
				 (const char *)sqldb_column_text(st, 0));
		(*n)++;
	}
	release(s, st);
	return rc < 0 ? rc : 0;
}

static int ambiguous(const char *kind, const char *what, char cand[3][TPA_DEVICE_ID_LEN + 1],
		     size_t n)
{
	return tpa_err_fail(TPA_ERR_CONFLICT, "device %s %.255s is ambiguous: %.16s, %.16s%s%.16s%s"
			    " (give more of the id)", kind, what, cand[0], cand[1],
			    n > 2 ? ", " : "", n > 2 ? cand[2] : "", n > 3 ? ", ..." : "");
}

/* A full id (or alias) or a unique prefix of at least 8 hex digits, among
 * devices and tombstones (so that a deleted revoked device can be
 * reinstated by the prefix the log printed); else a host name, as people
 * call a device: the devices' first, then the tombstones' (a deleted
 * laptop's name must not make its successor's ambiguous). An id that
 * matches wins, so that a host name cannot shadow a device's id. */
static int sq_find_device(char *id_out, tpa_store *p, const char *what)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char cand[3][TPA_DEVICE_ID_LEN + 1];
	tpa_host_info probe;
	const char *key;
	size_t len, n = 0;
	int err, idform;

	if (!id_out || !what)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "find device: NULL");
	len = strlen(what);
	idform = len >= 8 && len <= TPA_DEVICE_ID_LEN && is_hex_lower(what);
	/* As a host name: the validator's, untrimmed (a name with a trailing
	 * space is no name a device could have reported). */
	memset(&probe, 0, sizeof(probe));
	if (tpa_host_info_set(&probe, TPA_HOST_HOSTNAME, what, len) < 0 ||
	    strlen(probe.hostname) != len) {
		probe.hostname[0] = '\0';
		tpa_err_clear();
	}
	if (!idform && !probe.hostname[0]) {
		/* Not echoed: it may be anything. */
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "device: give a device id, a prefix of "
				    "at least 8 lower-case hex digits, or a host name (1..%d "
				    "printable characters)", TPA_HOSTNAME_MAX);
	}
	s = conn_get(s);
	key = what;
	if (idform) {
		if (len == TPA_DEVICE_ID_LEN && (err = canonical(s, what, id_out)) < 0)
			goto out;
		if (len == TPA_DEVICE_ID_LEN)
			key = id_out;
		if ((err = prepare(&st, s, "SELECT id FROM devices WHERE "
				   "substr(id, 1, length(?1)) = ?1 UNION SELECT device_id FROM "
				   "tombstones WHERE substr(device_id, 1, length(?1)) = ?1 "
				   "ORDER BY 1 LIMIT 4", "t", key)) < 0 ||
		    (err = candidates(s, st, cand, &n)) < 0)
			goto out;
		if (n > 1) {
			err = ambiguous("prefix", key, cand, n);
			goto out;
		}
	}
	if (n == 0 && probe.hostname[0]) {
		if ((err = prepare(&st, s, "SELECT id FROM devices WHERE lower(hostname) = "
				   "lower(?1) ORDER BY 1 LIMIT 4", "t", what)) < 0 ||
		    (err = candidates(s, st, cand, &n)) < 0)
			goto out;
		if (n == 0 &&
		    ((err = prepare(&st, s, "SELECT device_id FROM tombstones WHERE "
				    "lower(hostname) = lower(?1) ORDER BY 1 LIMIT 4", "t", what)) < 0 ||
		     (err = candidates(s, st, cand, &n)) < 0))
			goto out;
		if (n > 1) {
			err = ambiguous("host name", what, cand, n);
			goto out;
		}
	}
	if (n == 0) {
		err = idform ? tpa_err_fail(TPA_ERR_NOT_FOUND, "no device with id%s %.64s%s",
					    len < TPA_DEVICE_ID_LEN ? " prefix" : "", key,
					    len < TPA_DEVICE_ID_LEN ? " or host name" : "") :
			tpa_err_fail(TPA_ERR_NOT_FOUND, "no device with host name %s (an id "
				     "prefix has at least 8 lower-case hex digits)", what);
	} else {
		snprintf(id_out, TPA_DEVICE_ID_LEN + 1, "%s", cand[0]);
		err = 0;
	}
out:
	conn_put(s);
	return err;
}

/* Reported names and times; a value not reported keeps the one held. */
static int sq_set_host(tpa_store *p, const char *id, const tpa_host_info *host, int64_t now)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	tpa_host_info v;
	char cid[TPA_DEVICE_ID_LEN + 1];
	const char *val[TPA_HOST_NFIELDS];
	int err, changes = 0;
	unsigned f;

	if (!id)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "host info: NULL");
	/* The validator again: the registry keeps nothing it would refuse. */
	memset(&v, 0, sizeof(v));
	for (f = 0; host && f < TPA_HOST_NFIELDS; f++) {
		const char *t = tpa_host_field_ptr((tpa_host_info *)host, (tpa_host_field)f);
		size_t n = strnlen(t, TPA_HOSTNAME_MAX + 1);

		if (tpa_host_info_set(&v, (tpa_host_field)f, t, n) < 0)
			return TPA_ERR_INVALID_ARG;
		val[f] = tpa_host_field_ptr(&v, (tpa_host_field)f)[0] ?
			 tpa_host_field_ptr(&v, (tpa_host_field)f) : NULL;
	}
	for (; f < TPA_HOST_NFIELDS; f++)
		val[f] = NULL;
	s = conn_get(s);
	if ((err = canonical(s, id, cid)) < 0)
		goto out;
	if ((err = prepare(&st, s, "UPDATE devices SET hostname = coalesce(?1, hostname), "
			   "machine_id = coalesce(?2, machine_id), "
			   "dmi_product = coalesce(?3, dmi_product), "
			   "dmi_serial = coalesce(?4, dmi_serial), "
			   "first_seen = coalesce(first_seen, ?5), last_seen = ?5 WHERE id = ?6",
			   "ttttit", val[0], val[1], val[2], val[3], now, cid)) < 0 ||
	    (err = run(s, st, &changes)) < 0)
		goto out;
	if (!changes)
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no device with id %.64s", cid);
out:
	conn_put(s);
	return err;
}

/* Uses up a sealed id; expired ones go first. Called in a transaction. */
static int consume_locked(sq_store *s, const uint8_t *tag, int64_t expires_ms, int64_t now_ms)
{
	sqldb_stmt *st;
	int err, changes = 0;

	/* Expired ones are refused by their seal before they get here: pruning
	 * them once a second a connection bounds the table as well as with every
	 * verdict, for a statement less in most. */
	if (now_ms < s->pruned_ms || now_ms - s->pruned_ms >= 1000) {
		if ((err = prepare(&st, s, "DELETE FROM used_seals WHERE expires_at <= ?", "i",
				   now_ms)) < 0 || (err = run(s, st, NULL)) < 0)
			return err;
		s->pruned_ms = now_ms;
	}
	if ((err = prepare(&st, s, "INSERT INTO used_seals(tag, expires_at) VALUES(?, ?) "
			   "ON CONFLICT(tag) DO NOTHING", "bi", (const void *)tag,
			   (size_t)TPA_SEAL_TAG_LEN, expires_ms)) < 0 ||
	    (err = run(s, st, &changes)) < 0)
		return err;
	return changes ? 0 : tpa_err_fail(TPA_ERR_USED, "challenge already used");
}

static int sq_consume(tpa_store *p, const uint8_t *tag, int64_t expires_ms, int64_t now_ms)
{
	sq_store *s = (sq_store *)p;
	int err;

	if (!tag)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "consume: NULL");
	s = conn_get(s);
	if ((err = begin(s)) == 0)
		err = finish(s, consume_locked(s, tag, expires_ms, now_ms));
	conn_put(s);
	return err;
}

static int sq_seal_key(uint8_t *key, tpa_store *p)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	int err, rc;

	if (!key)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "seal key: NULL");
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	if ((err = prepare(&st, s, "SELECT value FROM secrets WHERE name = 'seal-key'", "")) < 0)
		goto done;
	if ((rc = step_one(s, st)) == 1 && (int)sqldb_column_bytes(st, 0) == TPA_SEAL_KEY_LEN)
		memcpy(key, sqldb_column_blob(st, 0), TPA_SEAL_KEY_LEN);
	else if (rc == 1)
		rc = tpa_err_fail(TPA_ERR_IO, "registry %s: the seal key is malformed", s->path);
	release(s, st);
	if ((err = rc < 0 ? rc : 0) < 0 || rc == 1)
		goto done;
	if (RAND_bytes(key, TPA_SEAL_KEY_LEN) != 1) {
		err = tpa_err_fail(TPA_ERR_CRYPTO, "seal key: RAND_bytes failed");
		goto done;
	}
	if ((err = prepare(&st, s, "INSERT INTO secrets(name, value) VALUES('seal-key', ?)", "b",
			   (const void *)key, (size_t)TPA_SEAL_KEY_LEN)) == 0)
		err = run(s, st, NULL);
done:
	err = finish(s, err);
	if (err < 0)
		OPENSSL_cleanse(key, TPA_SEAL_KEY_LEN);
out:
	conn_put(s);
	return err;
}

/* A verdict to record, as sq_record checked it: what the transaction
 * writes, and what became of it. */
struct rec_job {
	const char *id, *verdict, *outcome, *ref, *pcrs, *token;
	tpa_host_info host;           /* validated, as set_host does */
	const char *hv[TPA_HOST_NFIELDS];
	int has_host;
	const tpa_attest_record *rec;
	const uint8_t *log;
	size_t log_len;
	int64_t token_exp, now;
	char bname[TPA_BASELINE_NAME_MAX + 1], detail[1024];
	int bver;
	int err, done;
	char why[512];                /* tpa_err_last() of its failure */
	struct rec_job *next;
};

static void queue_init(sq_store *s)
{
	pthread_mutex_init(&s->q_lock, NULL);
	pthread_cond_init(&s->q_cv, NULL);
	s->q_head = NULL;
	s->q_tail = &s->q_head;
}

/* One verdict's writes, inside the group's transaction. Under s->lock. */
static int record_one(sq_store *s, const struct rec_job *j)
{
	sqldb_stmt *st;
	int err, changes = 0;

	/* The challenge is used up with the verdict, or neither happens. */
	if (j->rec && j->rec->seal_tag &&
	    (err = consume_locked(s, j->rec->seal_tag, j->rec->seal_expires_ms, j->now * 1000)) < 0)
		return err;
	if (j->ref) {
		if ((err = prepare(&st, s, "SELECT 1 FROM baselines WHERE name = ? AND version = ?",
				   "ti", j->bname, (int64_t)j->bver)) < 0 || (err = exists(s, st)) < 0)
			return err;
		if (err == 0)
			return tpa_err_fail(TPA_ERR_NOT_FOUND, "record: no baseline %s", j->ref);
	}
	/* The token replaces the previous one, or its absence clears it: an
	 * older token must not look current. */
	/* The host's names and that it was seen go in the same statement (one
	 * row version on PostgreSQL, not two). */
	if (j->has_host)
		err = prepare(&st, s, "UPDATE devices SET last_attest_at = ?1, last_verdict = ?2, "
			      "last_outcome = ?3, last_baseline = ?4, last_token = ?5, "
			      "last_token_exp = CASE WHEN ?5 IS NULL THEN NULL ELSE ?6 END, "
			      "hostname = coalesce(?8, hostname), "
			      "machine_id = coalesce(?9, machine_id), "
			      "dmi_product = coalesce(?10, dmi_product), "
			      "dmi_serial = coalesce(?11, dmi_serial), "
			      "first_seen = coalesce(first_seen, ?1), last_seen = ?1 "
			      "WHERE id = ?7", "ittttittttt", j->now, j->verdict, j->outcome, j->ref,
			      j->token, j->token_exp, j->id, j->hv[0], j->hv[1], j->hv[2], j->hv[3]);
	else
		err = prepare(&st, s, "UPDATE devices SET last_attest_at = ?1, last_verdict = ?2, "
			      "last_outcome = ?3, last_baseline = ?4, last_token = ?5, "
			      "last_token_exp = CASE WHEN ?5 IS NULL THEN NULL ELSE ?6 END "
			      "WHERE id = ?7", "ittttit", j->now, j->verdict, j->outcome, j->ref,
			      j->token, j->token_exp, j->id);
	if (err < 0 || (err = run(s, st, &changes)) < 0)
		return err;
	if (changes == 0)
		return tpa_err_fail(TPA_ERR_NOT_FOUND, "no device with id %.64s", j->id);
	/* The evidence replaces the previous one, or its absence removes it. */
	if (j->log || j->pcrs)
		/* Written only when it differs from what is there: a device
		 * that boots the same way writes its verdict alone (on
		 * PostgreSQL an update is a new row version and its log's
		 * TOAST, even for the same bytes). */
		err = prepare(&st, s, "INSERT INTO evidence(device_id, event_log, pcrs_json) "
			      "VALUES(?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET "
			      "event_log = excluded.event_log, pcrs_json = excluded.pcrs_json "
			      "WHERE evidence.event_log IS DISTINCT FROM excluded.event_log OR "
			      "evidence.pcrs_json IS DISTINCT FROM excluded.pcrs_json",
			      "tbt", j->id, (const void *)j->log, j->log_len, j->pcrs);
	else
		err = prepare(&st, s, "DELETE FROM evidence WHERE device_id = ?", "t", j->id);
	if (err < 0 || (err = run(s, st, NULL)) < 0)
		return err;
	return audit(s, j->id, "attest", j->detail, j->now);
}

static void job_fail(struct rec_job *j, int err)
{
	j->err = err;
	snprintf(j->why, sizeof(j->why), "%s", tpa_err_last());
}

/* A group of verdicts in one transaction, each in a savepoint of its own:
 * one that fails (a challenge used already, a device deleted meanwhile)
 * is undone alone; if the commit fails, every one fails with it. */
static void commit_group(sq_store *s, struct rec_job *group)
{
	struct rec_job *j;
	int err;

	s = conn_get(s);
	if ((err = begin(s)) < 0) {
		for (j = group; j; j = j->next)
			job_fail(j, err);
		goto out;
	}
	/* A group of one needs no savepoint: its transaction is its own. */
	if (!group->next) {
		if ((err = record_one(s, group)) < 0) {
			job_fail(group, err);
			sqldb_exec(s->db, "ROLLBACK");
			s->in_tx = 0;
			goto out;
		}
	} else {
		for (j = group; j; j = j->next) {
			if ((err = exec(s, "SAVEPOINT verdict")) < 0) {
				job_fail(j, err);
				continue;
			}
			if ((err = record_one(s, j)) < 0) {
				job_fail(j, err);
				sqldb_exec(s->db, "ROLLBACK TO verdict");
			}
			if ((err = exec(s, "RELEASE verdict")) < 0 && j->err == 0)
				job_fail(j, err);
		}
	}
	if ((err = finish(s, 0)) < 0) {
		for (j = group; j; j = j->next)
			if (j->err == 0)
				job_fail(j, err);
	}
out:
	conn_put(s);
}

/* Group commit: a verdict waits in the queue; the first thread to find no
 * group being committed takes every waiting verdict (up to
 * GROUP_MAX), commits them together, then wakes them. With
 * synchronous = FULL one fsync covers the group, and no caller returns
 * before the commit that holds its verdict is durable. */
static int sq_record(tpa_store *p, const char *id, int compliant, const char *reasons,
		     const tpa_attest_record *rec, int64_t now)
{
	static const char *outcomes[] = { "compliant", "warning", "non-compliant", "no-baseline" };
	sq_store *s = (sq_store *)p;
	struct rec_job job;
	size_t i;

	memset(&job, 0, sizeof(job));
	job.id = id;
	job.rec = rec;
	job.now = now;
	job.verdict = compliant ? "compliant" : "non-compliant";
	job.outcome = rec && rec->outcome ? rec->outcome : job.verdict;
	job.ref = rec ? rec->baseline : NULL;
	job.log = rec && rec->event_log_len ? rec->event_log : NULL;
	job.log_len = job.log ? rec->event_log_len : 0;
	job.pcrs = rec && rec->pcrs_json && *rec->pcrs_json ? rec->pcrs_json : NULL;
	job.token = rec && rec->token && *rec->token ? rec->token : NULL;
	job.token_exp = rec ? rec->token_exp : 0;
	if (!valid_id(id))
		return bad_id("record");
	/* The host's names: the validator again, as set_host runs it. */
	if (rec && rec->host) {
		unsigned f;

		job.has_host = 1;
		for (f = 0; f < TPA_HOST_NFIELDS; f++) {
			const char *t = tpa_host_field_ptr((tpa_host_info *)rec->host,
							   (tpa_host_field)f);

			if (tpa_host_info_set(&job.host, (tpa_host_field)f, t,
					      strnlen(t, TPA_HOSTNAME_MAX + 1)) < 0)
				return TPA_ERR_INVALID_ARG;
			job.hv[f] = tpa_host_field_ptr(&job.host, (tpa_host_field)f)[0] ?
				    tpa_host_field_ptr(&job.host, (tpa_host_field)f) : NULL;
		}
	}
	for (i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		if (strcmp(job.outcome, outcomes[i]) == 0)
			break;
	if (i == sizeof(outcomes) / sizeof(outcomes[0]))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "record: the outcome must be compliant, "
				    "warning, non-compliant or no-baseline");
	if (job.ref && parse_ref(job.bname, &job.bver, job.ref) < 0)
		return tpa_err_fail(TPA_ERR_INVALID_ARG,
				    "record: the baseline must be name@version (a name of 1 to %d "
				    "bytes of A-Z, a-z, 0-9, '.', '_', '-'; a version from 1)",
				    TPA_BASELINE_NAME_MAX);
	if (rec && rec->event_log_len && !rec->event_log)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "record: event_log NULL with a length");
	if (job.log_len > TPA_STORE_EVENT_LOG_MAX)
		return tpa_err_fail(TPA_ERR_INVALID_ARG,
				    "record: the event_log of %zu bytes exceeds %u", job.log_len,
				    TPA_STORE_EVENT_LOG_MAX);
	if (job.pcrs && strnlen(job.pcrs, TPA_STORE_PCRS_JSON_MAX + 1) > TPA_STORE_PCRS_JSON_MAX)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "record: pcrs_json exceeds %u bytes",
				    TPA_STORE_PCRS_JSON_MAX);
	if (job.token && !valid_printable(job.token, TPA_STORE_TOKEN_MAX))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "record: the token must be 1 to %u bytes "
				    "of printable ASCII", TPA_STORE_TOKEN_MAX);
	if (job.token_exp < 0 || (!job.token && job.token_exp != 0))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "record: the token_exp must be 0 or more, "
				    "and 0 without a token");
	snprintf(job.detail, sizeof(job.detail), "%s%s%s%s%s%s%s", job.verdict,
		 strcmp(job.outcome, job.verdict) ? ", outcome " : "",
		 strcmp(job.outcome, job.verdict) ? job.outcome : "", job.ref ? ", baseline " : "",
		 job.ref ? job.ref : "", reasons && *reasons ? ": " : "", reasons ? reasons : "");

	pthread_mutex_lock(&s->q_lock);
	*s->q_tail = &job;
	s->q_tail = &job.next;
	while (!job.done) {
		struct rec_job *group, *j, *next, **cut;
		size_t n;

		if (s->q_leader) {
			pthread_cond_wait(&s->q_cv, &s->q_lock);
			continue;
		}
		/* This thread commits the waiting group; its own verdict is in
		 * it (a group taken before it was queued is done by now). */
		s->q_leader = 1;
		group = s->q_head;
		for (cut = &s->q_head, n = 0; *cut && n < GROUP_MAX; n++)
			cut = &(*cut)->next;
		s->q_head = *cut;
		*cut = NULL;
		if (!s->q_head)
			s->q_tail = &s->q_head;
		pthread_mutex_unlock(&s->q_lock);
		commit_group(s, group);
		pthread_mutex_lock(&s->q_lock);
		for (j = group; j; j = next) {
			next = j->next;       /* read first: a waiter done returns at once */
			j->done = 1;
		}
		s->q_leader = 0;
		pthread_cond_broadcast(&s->q_cv);
	}
	pthread_mutex_unlock(&s->q_lock);
	if (job.err < 0)
		return tpa_err_fail(job.err, "%s", job.why);
	return 0;
}

static int sq_list(tpa_device **out, size_t *n, tpa_store *p)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	tpa_device *v = NULL, *nv;
	size_t count = 0, cap = 0;
	int err, rc;

	if (!out || !n)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "list: NULL");
	s = conn_get(s);
	if ((err = prepare(&st, s, "SELECT " DEVICE_COLUMNS " FROM devices d ORDER BY d.id",
			   "")) < 0)
		goto out;
	while ((rc = sqldb_step(st)) == 1) {
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
	if (!err && rc != 0)
		err = sq_fail(s, "read");
	release(s, st);
	if (err < 0) {
		free(v);
		goto out;
	}
	*out = v;
	*n = count;
out:
	conn_put(s);
	return err;
}

static int sq_audit_count(size_t *n, tpa_store *p, const char *id)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char cid[TPA_DEVICE_ID_LEN + 1];
	int err;

	s = conn_get(s);
	/* A device's entries, also those written under an old id of it. */
	if (id && (err = canonical(s, id, cid)) < 0)
		goto out;
	err = id ? prepare(&st, s, "SELECT count(*) FROM audit WHERE device_id = ?1 OR device_id "
			   "IN (SELECT alias FROM device_aliases WHERE device_id = ?1)", "t", cid) :
		prepare(&st, s, "SELECT count(*) FROM audit", "");
	if (err == 0) {
		if (sqldb_step(st) == 1)
			*n = (size_t)sqldb_column_int(st, 0);
		else
			err = sq_fail(s, "read");
		release(s, st);
	}
out:
	conn_put(s);
	return err;
}

static int sq_baseline_add(int *version, tpa_store *p, const char *name, const char *body,
			   int64_t now)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char detail[160];
	size_t len;
	int64_t v = 0;
	int err;

	if (!valid_token(name, TPA_BASELINE_NAME_MAX))
		return bad_token("baseline add", "baseline name", TPA_BASELINE_NAME_MAX);
	if (!body || !*body)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "baseline add: the body is empty");
	if ((len = strnlen(body, TPA_BASELINE_BODY_MAX + 1)) > TPA_BASELINE_BODY_MAX)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "baseline add: the body exceeds %u bytes",
				    TPA_BASELINE_BODY_MAX);
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	if ((err = prepare(&st, s, "SELECT coalesce(max(version), 0) + 1 FROM baselines "
			   "WHERE name = ?", "t", name)) < 0)
		goto done;
	if ((err = step_one(s, st)) == 1)
		v = sqldb_column_int(st, 0);
	release(s, st);
	if (err < 0)
		goto done;
	if (v < 1 || v > 999999999) {
		err = tpa_err_fail(TPA_ERR_LIMIT, "baseline add: %s has too many versions", name);
		goto done;
	}
	if ((err = prepare(&st, s, "INSERT INTO baselines(name, version, body, added_at) "
			   "VALUES(?, ?, ?, ?)", "titi", name, v, body, now)) < 0 ||
	    (err = run(s, st, NULL)) < 0)
		goto done;
	snprintf(detail, sizeof(detail), "baseline %s@%d added (%zu bytes)", name, (int)v, len);
	err = audit(s, NULL, "baseline-add", detail, now);
done:
	err = finish(s, err);
	if (err == 0 && version)
		*version = (int)v;
out:
	conn_put(s);
	return err;
}

static int sq_baseline_get(char **body, int *version_out, tpa_store *p, const char *name,
			   int version)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	int err;

	if (!body)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "baseline get: NULL body");
	*body = NULL;
	if (!valid_token(name, TPA_BASELINE_NAME_MAX))
		return bad_token("baseline get", "baseline name", TPA_BASELINE_NAME_MAX);
	if (version < 0)
		return tpa_err_fail(TPA_ERR_INVALID_ARG,
				    "baseline get: the version must be 0 (the latest) or from 1");
	s = conn_get(s);
	err = version ? prepare(&st, s, "SELECT body, version FROM baselines "
				"WHERE name = ? AND version = ?", "ti", name, (int64_t)version) :
		prepare(&st, s, "SELECT body, version FROM baselines WHERE name = ? "
			"ORDER BY version DESC LIMIT 1", "t", name);
	if (err < 0)
		goto out;
	if ((err = step_one(s, st)) == 1) {
		if (!(*body = dup_column_text(st, 0))) {
			err = tpa_err_fail(TPA_ERR_NOMEM, "baseline get: out of memory");
		} else {
			if (version_out)
				*version_out = (int)sqldb_column_int(st, 1);
			err = 0;
		}
	} else if (err == 0) {
		err = version ? tpa_err_fail(TPA_ERR_NOT_FOUND, "no baseline %s@%d", name, version) :
			tpa_err_fail(TPA_ERR_NOT_FOUND, "no baseline named %s", name);
	}
	release(s, st);
out:
	conn_put(s);
	return err;
}

static int sq_baseline_list(tpa_baseline_info **out, size_t *n, tpa_store *p)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	tpa_baseline_info *v = NULL, *nv;
	size_t count = 0, cap = 0;
	int err, rc;

	if (!out || !n)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "baseline list: NULL");
	s = conn_get(s);
	if ((err = prepare(&st, s, "SELECT b.name, b.version, b.added_at FROM baselines b "
			   "WHERE b.version = (SELECT max(version) FROM baselines WHERE name = "
			   "b.name) ORDER BY b.name", "")) < 0)
		goto out;
	while ((rc = sqldb_step(st)) == 1) {
		if (count == cap) {
			cap = cap ? 2 * cap : 16;
			if (!(nv = realloc(v, cap * sizeof(*v)))) {
				err = tpa_err_fail(TPA_ERR_NOMEM, "baseline list: out of memory");
				break;
			}
			v = nv;
		}
		memset(&v[count], 0, sizeof(v[count]));
		snprintf(v[count].name, sizeof(v[count].name), "%s",
			 (const char *)sqldb_column_text(st, 0));
		v[count].version = (int)sqldb_column_int(st, 1);
		v[count].added_at = sqldb_column_int(st, 2);
		count++;
	}
	if (!err && rc != 0)
		err = sq_fail(s, "read");
	release(s, st);
	if (err < 0) {
		free(v);
		goto out;
	}
	*out = v;
	*n = count;
out:
	conn_put(s);
	return err;
}

/* Assigns baseline name (version: 0 follows the latest, else pinned) to a
 * device or a label; name NULL removes the assignment. */
static int sq_assign_version(tpa_store *p, const char *kind, const char *target,
			     const char *name, int version, int64_t now)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char detail[256], old[TPA_BASELINE_NAME_MAX + 1] = "", cid[TPA_DEVICE_ID_LEN + 1];
	char pin[16] = "";
	int err, device;

	if (!kind || (strcmp(kind, "device") && strcmp(kind, "label")))
		return tpa_err_fail(TPA_ERR_INVALID_ARG,
				    "assign: the kind must be \"device\" or \"label\"");
	device = strcmp(kind, "device") == 0;
	if (device && !valid_id(target))
		return bad_id("assign");
	if (!device && !valid_token(target, TPA_LABEL_MAX))
		return bad_token("assign", "label", TPA_LABEL_MAX);
	if (name && !valid_token(name, TPA_BASELINE_NAME_MAX))
		return bad_token("assign", "baseline name", TPA_BASELINE_NAME_MAX);
	if (version < 0 || version > 999999999 || (version && !name))
		return tpa_err_fail(TPA_ERR_INVALID_ARG,
				    "assign: the version must be 0 (the latest) or 1 to 999999999, "
				    "with a baseline name");
	if (version)
		snprintf(pin, sizeof(pin), "@%d", version);
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	if (device) {
		if ((err = canonical(s, target, cid)) < 0)
			goto done;
		target = cid;
	}
	if (!name) {
		if ((err = prepare(&st, s, "SELECT baseline FROM assignments "
				   "WHERE kind = ? AND target = ?", "tt", kind, target)) < 0)
			goto done;
		if ((err = step_one(s, st)) == 1)
			snprintf(old, sizeof(old), "%s", (const char *)sqldb_column_text(st, 0));
		release(s, st);
		if (err == 0)
			err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no baseline is assigned to %s %.64s",
					   device ? "device" : "label", target);
		if (err < 0)
			goto done;
		if ((err = prepare(&st, s, "DELETE FROM assignments WHERE kind = ? AND target = ?",
				   "tt", kind, target)) < 0 || (err = run(s, st, NULL)) < 0)
			goto done;
		snprintf(detail, sizeof(detail), "baseline %s unassigned from %s%s", old,
			 device ? "the device" : "label ", device ? "" : target);
		err = audit(s, device ? target : NULL, "unassign", detail, now);
		goto done;
	}
	if ((err = prepare(&st, s, "SELECT 1 FROM baselines WHERE name = ? LIMIT 1", "t",
			   name)) < 0 || (err = exists(s, st)) < 0)
		goto done;
	if (err == 0) {
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no baseline named %s", name);
		goto done;
	}
	/* A pinned version must be there now; versions are never removed, so it
	 * stays there. */
	if (version) {
		if ((err = prepare(&st, s, "SELECT 1 FROM baselines WHERE name = ? AND version = ?",
				   "ti", name, (int64_t)version)) < 0 || (err = exists(s, st)) < 0)
			goto done;
		if (err == 0) {
			err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no baseline %s@%d (baseline list "
					   "shows its versions)", name, version);
			goto done;
		}
	}
	if (device) {
		if ((err = prepare(&st, s, "SELECT 1 FROM devices WHERE id = ?", "t", target)) < 0 ||
		    (err = exists(s, st)) < 0)
			goto done;
		if (err == 0) {
			err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no device with id %.64s", target);
			goto done;
		}
	}
	err = version ? prepare(&st, s, "INSERT INTO assignments(kind, target, baseline, "
				"assigned_at, version) VALUES(?, ?, ?, ?, ?) ON CONFLICT(kind, target) "
				"DO UPDATE SET baseline = excluded.baseline, assigned_at = "
				"excluded.assigned_at, version = excluded.version", "tttii", kind,
				target, name, now, (int64_t)version) :
		prepare(&st, s, "INSERT INTO assignments(kind, target, baseline, assigned_at, "
			"version) VALUES(?, ?, ?, ?, NULL) ON CONFLICT(kind, target) DO UPDATE SET "
			"baseline = excluded.baseline, assigned_at = excluded.assigned_at, "
			"version = NULL", "ttti", kind, target, name, now);
	if (err < 0 || (err = run(s, st, NULL)) < 0)
		goto done;
	snprintf(detail, sizeof(detail), "baseline %s%s assigned to %s%s", name,
		 version ? pin : " (latest)", device ? "the device" : "label ", device ? "" : target);
	err = audit(s, device ? target : NULL, "assign", detail, now);
done:
	err = finish(s, err);
out:
	conn_put(s);
	return err;
}

static int sq_assign(tpa_store *p, const char *kind, const char *target, const char *name,
		     int64_t now)
{
	return sq_assign_version(p, kind, target, name, 0, now);
}

/* Grows a vector by one element (zeroed), doubling its room. */
static void *grow(void *v, size_t *cap, size_t count, size_t size)
{
	void *nv;

	if (count < *cap)
		goto zero;
	if (*cap > SIZE_MAX / 2 / size)
		return NULL;
	*cap = *cap ? 2 * *cap : 16;
	if (!(nv = realloc(v, *cap * size)))
		return NULL;
	v = nv;
zero:
	memset((char *)v + count * size, 0, size);
	return v;
}

static void copy_text(char *dst, size_t cap, sqldb_stmt *st, int col)
{
	const unsigned char *t = sqldb_column_text(st, col);

	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static int sq_baseline_versions(tpa_baseline_info **out, size_t *n, tpa_store *p,
				const char *name)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	tpa_baseline_info *v = NULL, *nv;
	size_t count = 0, cap = 0;
	int err, rc;

	if (!out || !n)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "baseline versions: NULL");
	*out = NULL;
	*n = 0;
	if (name && !valid_token(name, TPA_BASELINE_NAME_MAX))
		return bad_token("baseline versions", "baseline name", TPA_BASELINE_NAME_MAX);
	s = conn_get(s);
	if ((err = prepare(&st, s, "SELECT name, version, added_at FROM baselines "
			   "WHERE ?1 IS NULL OR name = ?1 ORDER BY name, version", "t", name)) < 0)
		goto out;
	while ((rc = sqldb_step(st)) == 1) {
		if (!(nv = grow(v, &cap, count, sizeof(*v)))) {
			err = tpa_err_fail(TPA_ERR_NOMEM, "baseline versions: out of memory");
			break;
		}
		v = nv;
		copy_text(v[count].name, sizeof(v[count].name), st, 0);
		v[count].version = (int)sqldb_column_int(st, 1);
		v[count].added_at = sqldb_column_int(st, 2);
		count++;
	}
	if (!err && rc != 0)
		err = sq_fail(s, "read");
	release(s, st);
	if (!err && name && !count)
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no baseline named %s", name);
	if (err < 0) {
		free(v);
		goto out;
	}
	*out = v;
	*n = count;
out:
	conn_put(s);
	return err;
}

static int sq_assignments(tpa_assignment **out, size_t *n, tpa_store *p, const char *name)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	tpa_assignment *v = NULL, *nv;
	size_t count = 0, cap = 0;
	int err, rc;

	if (!out || !n)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "assignments: NULL");
	*out = NULL;
	*n = 0;
	if (name && !valid_token(name, TPA_BASELINE_NAME_MAX))
		return bad_token("assignments", "baseline name", TPA_BASELINE_NAME_MAX);
	s = conn_get(s);
	/* Labels first, then devices; the rows' types are checked by the schema,
	 * but a NULL or odd version reads as "latest". */
	if ((err = prepare(&st, s, "SELECT kind, target, baseline, version, assigned_at "
			   "FROM assignments WHERE ?1 IS NULL OR baseline = ?1 "
			   "ORDER BY kind DESC, target", "t", name)) < 0)
		goto out;
	while ((rc = sqldb_step(st)) == 1) {
		if (!(nv = grow(v, &cap, count, sizeof(*v)))) {
			err = tpa_err_fail(TPA_ERR_NOMEM, "assignments: out of memory");
			break;
		}
		v = nv;
		copy_text(v[count].kind, sizeof(v[count].kind), st, 0);
		copy_text(v[count].target, sizeof(v[count].target), st, 1);
		copy_text(v[count].name, sizeof(v[count].name), st, 2);
		v[count].version = sqldb_column_type(st, 3) == SQLDB_INTEGER &&
			sqldb_column_int(st, 3) >= 1 && sqldb_column_int(st, 3) <= 999999999 ?
			(int)sqldb_column_int(st, 3) : 0;
		v[count].assigned_at = sqldb_column_int(st, 4);
		count++;
	}
	if (!err && rc != 0)
		err = sq_fail(s, "read");
	release(s, st);
	if (err < 0) {
		free(v);
		goto out;
	}
	*out = v;
	*n = count;
out:
	conn_put(s);
	return err;
}

static int sq_set_label(tpa_store *p, const char *id, const char *label, int64_t now)
{
	char detail[TPA_LABEL_MAX + 32];

	if (!valid_id(id))
		return bad_id("set label");
	if (label && !*label)
		label = NULL;
	if (label && !valid_token(label, TPA_LABEL_MAX))
		return bad_token("set label", "label", TPA_LABEL_MAX);
	snprintf(detail, sizeof(detail), "%s%s", label ? "label " : "label removed",
		 label ? label : "");
	return change((sq_store *)p, id, "UPDATE devices SET label = ? WHERE id = ?", "tt",
		      "label", detail, now, label);
}

static int sq_baseline_for(char *name, size_t name_cap, int *version, tpa_store *p,
			   const char *id)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	const unsigned char *b;
	char cid[TPA_DEVICE_ID_LEN + 1];
	int err;

	if (!name || !name_cap)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "baseline for: no room for the name");
	*name = '\0';
	if (!valid_id(id))
		return bad_id("baseline for");
	s = conn_get(s);
	if ((err = canonical(s, id, cid)) < 0)
		goto out;
	id = cid;
	/* One statement: one consistent read. A row: the device exists. */
	if ((err = prepare(&st, s,
			   "SELECT a.baseline, coalesce(a.version, (SELECT max(version) FROM "
			   "baselines WHERE name = a.baseline)) FROM devices d LEFT JOIN "
			   "assignments a ON (a.kind = 'device' AND a.target = d.id) OR "
			   "(a.kind = 'label' AND a.target = d.label) WHERE d.id = ? "
			   "ORDER BY a.kind = 'device' DESC LIMIT 1", "t", id)) < 0)
		goto out;
	if ((err = step_one(s, st)) == 0) {
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no device with id %.64s", id);
	} else if (err == 1) {
		b = sqldb_column_text(st, 0);
		if (!b || sqldb_column_type(st, 1) == SQLDB_NULL)
			err = tpa_err_fail(TPA_ERR_NOT_FOUND,
					   "no baseline applies to device %.16s... (none assigned "
					   "to it or to its label)", id);
		else if ((size_t)(int)sqldb_column_bytes(st, 0) >= name_cap)
			err = tpa_err_fail(TPA_ERR_LIMIT, "baseline for: the name %s needs %d bytes",
					   (const char *)b, (int)sqldb_column_bytes(st, 0) + 1);
		else {
			memcpy(name, b, (size_t)(int)sqldb_column_bytes(st, 0) + 1);
			if (version)
				*version = (int)sqldb_column_int(st, 1);
			err = 0;
		}
	}
	release(s, st);
out:
	conn_put(s);
	return err;
}

static int sq_last_evidence(uint8_t **event_log, size_t *len, char **pcrs_json, tpa_store *p,
			    const char *id)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	uint8_t *log = NULL;
	char *pcrs = NULL, cid[TPA_DEVICE_ID_LEN + 1];
	size_t n = 0;
	int err;

	if (!event_log || !len || !pcrs_json)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "last evidence: NULL");
	*event_log = NULL;
	*len = 0;
	*pcrs_json = NULL;
	if (!valid_id(id))
		return bad_id("last evidence");
	s = conn_get(s);
	if ((err = canonical(s, id, cid)) < 0)
		goto out;
	id = cid;
	if ((err = prepare(&st, s, "SELECT d.last_attest_at, e.event_log, e.pcrs_json "
			   "FROM devices d LEFT JOIN evidence e ON e.device_id = d.id "
			   "WHERE d.id = ?", "t", id)) < 0)
		goto out;
	if ((err = step_one(s, st)) == 0) {
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no device with id %.64s", id);
	} else if (err == 1) {
		const void *b = sqldb_column_blob(st, 1);

		n = (size_t)(int)sqldb_column_bytes(st, 1);
		err = 0;
		if (sqldb_column_type(st, 0) == SQLDB_NULL) {
			err = tpa_err_fail(TPA_ERR_NOT_FOUND, "device %.16s... never attested", id);
		} else if (b && n && !(log = malloc(n))) {
			err = tpa_err_fail(TPA_ERR_NOMEM, "last evidence: out of memory");
		} else if (sqldb_column_type(st, 2) != SQLDB_NULL &&
			   !(pcrs = dup_column_text(st, 2))) {
			err = tpa_err_fail(TPA_ERR_NOMEM, "last evidence: out of memory");
		}
		if (err == 0 && log)
			memcpy(log, b, n);
	}
	release(s, st);
	if (err < 0) {
		free(log);
		free(pcrs);
		goto out;
	}
	*event_log = log;
	*len = log ? n : 0;
	*pcrs_json = pcrs;
out:
	conn_put(s);
	return err;
}

static int sq_set_manufacturer(tpa_store *p, const char *id, const char *manufacturer)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char cid[TPA_DEVICE_ID_LEN + 1];
	int err, changes = 0;

	if (!valid_id(id))
		return bad_id("set manufacturer");
	if (!valid_printable(manufacturer, TPA_STORE_MANUFACTURER_MAX))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "set manufacturer: the manufacturer must "
				    "be 1 to %d bytes of printable ASCII",
				    TPA_STORE_MANUFACTURER_MAX);
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	if ((err = canonical(s, id, cid)) < 0)
		goto done;
	if ((err = prepare(&st, s, "UPDATE devices SET tpm_manufacturer = ? WHERE id = ?", "tt",
			   manufacturer, cid)) < 0 || (err = run(s, st, &changes)) < 0)
		goto done;
	if (changes == 0)
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no device with id %.64s", id);
done:
	err = finish(s, err);
out:
	conn_put(s);
	return err;
}

static int sq_last_token(char **token, tpa_device *dev, tpa_store *p, const char *id)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char *t = NULL;
	int err;

	if (!token)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "last token: NULL");
	*token = NULL;
	if (!valid_id(id))
		return bad_id("last token");
	s = conn_get(s);
	/* One statement: the device (by its id or an alias, as canonical
	 * reads it) and its token from one consistent read. */
	if ((err = prepare(&st, s, "SELECT " DEVICE_COLUMNS ", d.last_token FROM devices d "
			   "WHERE d.id = " BY_ALIAS, "t", id)) < 0)
		goto out;
	if ((err = step_one(s, st)) == 0) {
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no device with id %.64s", id);
	} else if (err == 1) {
		err = 0;
		if (sqldb_column_type(st, DEVICE_NCOLUMNS) != SQLDB_NULL &&
		    !(t = dup_column_text(st, DEVICE_NCOLUMNS)))
			err = tpa_err_fail(TPA_ERR_NOMEM, "last token: out of memory");
		/* sq_record wrote it printable; SQLite's CHECK no longer says
		 * so (schema_v8): a token edited by hand is refused, not
		 * handed to a policy engine. */
		else if (t && !valid_printable(t, TPA_STORE_TOKEN_MAX))
			err = tpa_err_fail(TPA_ERR_IO, "registry %s: the token of device %.64s is "
					   "not 1 to %u bytes of printable ASCII (edited by hand?)",
					   s->path, id, TPA_STORE_TOKEN_MAX);
		else if (dev)
			row_to_device(dev, st);
	}
	release(s, st);
	if (err < 0) {
		free(t);
		t = NULL;
	}
	if (err == 0)
		*token = t;
out:
	conn_put(s);
	return err;
}

static int sq_audit_state(tpa_audit_state *out, tpa_store *p)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	int err;

	if (!out)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "audit state: NULL");
	memset(out, 0, sizeof(*out));
	s = conn_get(s);
	/* One statement: one consistent read. */
	if ((err = s->pg ?
	     prepare(&st, s, "SELECT coalesce(max(seq), 0), coalesce(max(seq), 0) FROM audit",
		     "") :
	     prepare(&st, s, "SELECT coalesce((SELECT max(seq) FROM audit), 0), "
		     "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'audit' AND "
		     "typeof(seq) = 'integer'), 0)", "")) < 0)
		goto out;
	if ((err = step_one(s, st)) == 1) {
		out->last_seq = sqldb_column_int(st, 0);
		out->high_seq = sqldb_column_int(st, 1);
		if (out->high_seq < out->last_seq)
			out->high_seq = out->last_seq;
		err = 0;
	} else if (err == 0) {
		err = sq_fail(s, "read");
	}
	release(s, st);
out:
	conn_put(s);
	return err;
}

static void head_from(tpa_audit_signed_head *h, sqldb_stmt *st)
{
	memset(h, 0, sizeof(*h));
	h->seq = sqldb_column_int(st, 0);
	if (sqldb_column_type(st, 1) == SQLDB_BLOB)
		h->hash = column_bytes(st, 1, &h->hash_len, 1);
	h->signed_at = sqldb_column_int(st, 2);
	if (sqldb_column_type(st, 3) == SQLDB_TEXT)
		h->kid = (const char *)sqldb_column_text(st, 3);
	if (sqldb_column_type(st, 4) == SQLDB_TEXT)
		h->jws = (const char *)sqldb_column_text(st, 4);
	if (sqldb_column_type(st, 2) != SQLDB_INTEGER)
		h->malformed = "signed_at is not an integer";
	else if (!h->kid || !h->jws)
		h->malformed = "its kid or JWS is not text";
	else if (strlen(h->jws) != (size_t)(int)sqldb_column_bytes(st, 4))
		h->malformed = "its JWS holds a NUL byte";
}

/* Who gets the rows (or the heads) a statement gives. */
typedef struct {
	tpa_audit_row_cb row;
	tpa_audit_head_cb head;
	void *ctx;
} visitor;

/* Steps st, handing each row or head to the visitor until it stops; what
 * it stopped with, 0 at the end, or an error. Finalizes. */
static int each_row(sq_store *s, sqldb_stmt *st, const visitor *v)
{
	tpa_audit_signed_head h;
	tpa_audit_row r;
	int rc, stop = 0;

	while (stop == 0 && (rc = sqldb_step(st)) == 1) {
		if (v->row) {
			row_from(&r, st);
			stop = v->row(v->ctx, &r);
		} else {
			head_from(&h, st);
			stop = v->head(v->ctx, &h);
		}
	}
	release(s, st);
	if (stop == 0 && rc != 0)
		return sq_fail(s, "read");
	return stop;
}

/* Runs sql (a seq bound and a limit: max, 0 for none) under the lock and
 * hands what it gives to v. */
static int visit(sq_store *s, const char *sql, int64_t from, size_t max, const visitor *v)
{
	sqldb_stmt *st;
	int err;

	if (!v->row && !v->head)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "audit: no callback");
	s = conn_get(s);
	if ((err = prepare(&st, s, sql, "ii", from,
			   max == 0 || max > INT64_MAX ? INT64_MAX : (int64_t)max)) == 0)
		err = each_row(s, st, v);
	conn_put(s);
	return err;
}

static int sq_audit_rows(tpa_store *p, int64_t after, size_t max, tpa_audit_row_cb cb,
			 void *ctx)
{
	visitor v = { .row = cb, .ctx = ctx };

	return visit((sq_store *)p, "SELECT " AUDIT_COLUMNS " FROM audit WHERE seq > ? "
		     "ORDER BY seq LIMIT ?", after, max, &v);
}

static int sq_audit_heads(tpa_store *p, int64_t from, int descending, size_t max,
			  tpa_audit_head_cb cb, void *ctx)
{
	visitor v = { .head = cb, .ctx = ctx };

	return visit((sq_store *)p, descending ?
		     "SELECT seq, hash, signed_at, kid, jws FROM audit_heads WHERE seq < ? "
		     "ORDER BY seq DESC LIMIT ?" :
		     "SELECT seq, hash, signed_at, kid, jws FROM audit_heads WHERE seq > ? "
		     "ORDER BY seq LIMIT ?", from, max, &v);
}

static int sq_audit_add_head(tpa_store *p, int64_t seq, const uint8_t *hash, int64_t signed_at,
			     const char *kid, const char *jws)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	int err, changes = 0;

	if (seq < 1 || !hash || !valid_printable(kid, 64) ||
	    !valid_printable(jws, TPA_STORE_TOKEN_MAX))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "audit head: a seq from 1, a hash, a kid "
				    "of 1 to 64 and a JWS of 1 to %u printable bytes",
				    TPA_STORE_TOKEN_MAX);
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	if ((err = prepare(&st, s, "SELECT 1 FROM audit_heads WHERE seq = ?", "i", seq)) < 0 ||
	    (err = exists(s, st)) < 0)
		goto done;
	if (err == 1) {
		err = tpa_err_fail(TPA_ERR_CONFLICT, "audit head: seq %lld is signed already",
				   (long long)seq);
		goto done;
	}
	/* The row still holds what was signed, in the same transaction. */
	if ((err = prepare(&st, s, "INSERT INTO audit_heads(seq, hash, signed_at, kid, jws) "
			   "SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS(SELECT 1 FROM audit "
			   "WHERE seq = ?1 AND hash = ?2)", "ibitt", seq, (const void *)hash,
			   (size_t)TPA_AUDIT_HASH_LEN, signed_at, kid, jws)) < 0 ||
	    (err = run(s, st, &changes)) < 0)
		goto done;
	if (changes == 0)
		err = tpa_err_fail(TPA_ERR_VERIFY, "audit head: row %lld does not hold the hash "
				   "signed", (long long)seq);
done:
	err = finish(s, err);
out:
	conn_put(s);
	return err;
}

static void sq_close(tpa_store *p)
{
	sq_store *s = (sq_store *)p;

	if (s->pg) {
		pg_close(s);
		return;
	}
	sqldb_close(s->db);
	if (s->counted)
		open_files_ref(s, -1);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->q_lock);
	pthread_cond_destroy(&s->q_cv);
	free(s);
}

/* A consistent copy of the registry while a verifier may be writing it
 * (cp of the file alone misses what is still in the WAL): SQLite's online
 * backup, 64 pages a step so writers wait little, into a private file beside
 * OUT, checked, fsync'd, then linked into place, which refuses an OUT that
 * exists (even one made meanwhile). */
static int sq_backup(tpa_store *p, const char *out_path)
{
	sq_store *s = (sq_store *)p;
	sqlite3 *dst = NULL, *src;
	sqlite3_backup *b;
	sqlite3_stmt *st = NULL;
	char tmp[4096];
	int fd, rc, err = 0, ok = 0;

	if (!(src = sqldb__sqlite_handle(s->db)))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "backup: only an SQLite registry is "
				    "backed up here (a PostgreSQL one with pg_dump)");
	if (!out_path || !*out_path)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "backup: no file named");
	if (access(out_path, F_OK) == 0 || errno != ENOENT)
		return tpa_err_fail(TPA_ERR_CONFLICT, "backup %s: exists already", out_path);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", out_path) >= sizeof(tmp))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "backup: path too long");
	{
		unsigned char r[6];
		size_t i, n = strlen(tmp) - 6;

		if (RAND_bytes(r, sizeof(r)) != 1)
			return tpa_err_fail(TPA_ERR_INTERNAL, "backup: no randomness");
		for (i = 0; i < 6; i++)
			tmp[n + i] = "abcdefghijklmnopqrstuvwxyz0123456789"[r[i] % 36];
	}
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return tpa_err_fail(TPA_ERR_IO, "backup %s: cannot create: %s", tmp,
				    strerror(errno));
	close(fd);
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		err = tpa_err_fail(TPA_ERR_IO, "backup %s: cannot open: %s", tmp,
				   dst ? sqlite3_errmsg(dst) : "out of memory");
		goto out;
	}
	if (!(b = sqlite3_backup_init(dst, "main", src, "main"))) {
		err = tpa_err_fail(TPA_ERR_IO, "backup: %s", sqlite3_errmsg(dst));
		goto out;
	}
	do {
		rc = sqlite3_backup_step(b, 64);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(20);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		err = tpa_err_fail(TPA_ERR_IO, "backup: %s", sqlite3_errstr(rc));
		goto out;
	}
	if (sqlite3_prepare_v2(dst, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		err = tpa_err_fail(TPA_ERR_IO, "backup: integrity check: %s", sqlite3_errmsg(dst));
		goto out;
	}
	if (strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
		err = tpa_err_fail(TPA_ERR_IO, "backup: integrity check failed: %.200s",
				   (const char *)sqlite3_column_text(st, 0));
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	sqlite3_close(dst);
	dst = NULL;
	if ((fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || fsync(fd) < 0) {
		err = tpa_err_fail(TPA_ERR_IO, "backup %s: fsync: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	if (link(tmp, out_path) < 0) {
		err = errno == EEXIST ?
			tpa_err_fail(TPA_ERR_CONFLICT, "backup %s: exists already", out_path) :
			tpa_err_fail(TPA_ERR_IO, "backup %s: %s", out_path, strerror(errno));
		goto out;
	}
	ok = 1;
	tpa_file_fsync_dir(out_path);
out:
	sqlite3_finalize(st);
	sqlite3_close(dst);
	unlink(tmp);
	return ok ? 0 : err;
}

static int read_version(int *version, sq_store *s);
static int pg_read_version(int *version, int *tables, sq_store *s);

/* integrity_check's first line: "ok", or what it found first. */
static int integrity(sq_store *s, const char *what)
{
	sqlite3 *db = sqldb__sqlite_handle(s->db);
	sqlite3_stmt *st = NULL;
	int err = 0;

	if (!db)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "%s: only an SQLite registry is checked "
				    "here", what);
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		err = tpa_err_fail(TPA_ERR_PARSE, "%s %s: not an SQLite database, or damaged: %s",
				   what, s->path, sqlite3_errmsg(db));
	else if (strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
		err = tpa_err_fail(TPA_ERR_PARSE, "%s %s: integrity check failed: %.200s", what,
				   s->path, (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return err;
}

static int count_rows(int64_t *n, sq_store *s, const char *sql)
{
	sqldb_stmt *st;
	int err;

	*n = 0;
	if ((err = prepare(&st, s, sql, "")) < 0)
		return err;
	if ((err = step_one(s, st)) == 1)
		*n = sqldb_column_int(st, 0);
	release(s, st);
	return err < 0 ? err : 0;
}

/* The tables of a registry the catalogue lists, by name (a list of
 * quoted names), on either backend. */
#define TABLES_NAMED(names) \
	(s->pg ? "SELECT count(*) FROM information_schema.tables WHERE " \
		 "table_schema = current_schema() AND table_name IN (" names ")" : \
		 "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN (" names ")")

/* PostgreSQL: the triggers that keep the audit log, its signed heads and
 * the baselines append-only are there and enabled. Anyone with the
 * tables' owner's rights can drop or disable them; SQL then rewrites the
 * history unseen until `audit verify` (SQLite's triggers are in the file's
 * schema, which integrity_check reads). */
static int pg_append_only_held(sq_store *s, const char *what)
{
	static const char *const trg[] = { "audit_append_only", "audit_heads_append_only",
					   "baselines_append_only" };
	sqldb_stmt *st;
	size_t i;
	int err;

	for (i = 0; i < sizeof(trg) / sizeof(trg[0]); i++) {
		if ((err = prepare(&st, s, "SELECT t.tgenabled FROM pg_trigger t JOIN pg_class c "
				   "ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = "
				   "c.relnamespace WHERE n.nspname = current_schema() AND "
				   "t.tgname = ?", "t", trg[i])) < 0)
			return err;
		err = step_one(s, st);
		if (err == 1) {
			const char *en = (const char *)sqldb_column_text(st, 0);

			err = en && strcmp(en, "D") != 0 ? 0 :
			      tpa_err_fail(TPA_ERR_PARSE, "%s %s: the trigger %s is disabled: its "
					   "table is not append-only", what, s->path, trg[i]);
		} else if (err == 0) {
			err = tpa_err_fail(TPA_ERR_PARSE, "%s %s: the trigger %s is gone: its table "
					   "is not append-only", what, s->path, trg[i]);
		}
		release(s, st);
		if (err < 0)
			return err;
	}
	return 0;
}

/* What `registry check` reports and restore requires of a backup: SQLite's
 * integrity check (on PostgreSQL, the append-only triggers in force), a
 * registry's schema (not newer than this build's), and the counts, all
 * read under the store's lock. what names the file in errors ("registry",
 * "backup"). */
static int check_locked(tpa_store_check_report *out, sq_store *s, const char *what)
{
	int err, has_devices = 0, tables;
	sqldb_stmt *st;

	memset(out, 0, sizeof(*out));
	snprintf(out->where, sizeof(out->where), "%s", s->path);
	if (!s->pg && (err = integrity(s, what)) < 0)
		return err;
	if ((s->pg ? pg_read_version(&out->schema_version, &tables, s) :
	     read_version(&out->schema_version, s)) < 0)
		return tpa_err_fail(TPA_ERR_PARSE, "%s %s: not a registry (no schema version "
				    "readable)", what, s->path);
	if (out->schema_version > TPA_STORE_SCHEMA_VERSION)
		return tpa_err_fail(TPA_ERR_PARSE, "%s %s: schema version %d is newer than this "
				    "verifier's %d", what, s->path, out->schema_version,
				    TPA_STORE_SCHEMA_VERSION);
	if ((err = prepare(&st, s, TABLES_NAMED("'devices', 'aks', 'audit'"), "")) < 0)
		return err;
	if (step_one(s, st) == 1)
		has_devices = (int)sqldb_column_int(st, 0) == 3;
	release(s, st);
	if (out->schema_version < 1 || !has_devices)
		return tpa_err_fail(TPA_ERR_PARSE, "%s %s: %s, but not a registry (no schema "
				    "version, devices, aks or audit table)", what, s->path,
				    s->pg ? "a PostgreSQL database" : "an SQLite database");
	if ((err = count_rows(&out->devices, s, "SELECT count(*) FROM devices")) < 0 ||
	    (err = count_rows(&out->revoked, s, "SELECT count(*) FROM devices WHERE "
			      "state = 'revoked'")) < 0 ||
	    (err = count_rows(&out->audit_rows, s, "SELECT count(*) FROM audit")) < 0)
		return err;
	if (out->schema_version >= 2 &&
	    (err = count_rows(&out->baselines, s, "SELECT count(DISTINCT name) FROM "
			      "baselines")) < 0)
		return err;
	if (out->schema_version >= 5 &&
	    (err = count_rows(&out->signed_heads, s, "SELECT count(*) FROM audit_heads")) < 0)
		return err;
	if (out->schema_version >= 7) {
		int64_t n = 0;

		if ((err = count_rows(&n, s, TABLES_NAMED("'device_certs', 'sessions', "
							  "'notified', 'outbox'"))) < 0)
			return err;
		if (n != 4)
			return tpa_err_fail(TPA_ERR_PARSE, "%s %s: schema 7 without its tables "
					    "(device_certs, sessions, notified, outbox)", what,
					    s->path);
	}
	return s->pg ? pg_append_only_held(s, what) : 0;
}
#undef TABLES_NAMED

static int sq_check(tpa_store_check_report *out, tpa_store *p)
{
	sq_store *s = (sq_store *)p;
	int err;

	if (!out)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "registry check: NULL");
	s = conn_get(s);
	err = check_locked(out, s, "registry");
	conn_put(s);
	return err;
}

/* ---- admission (issue 14, item 2) ---- */

static int one_of(const char *v, const char *const *set)
{
	for (; v && *set; set++)
		if (strcmp(v, *set) == 0)
			return 1;
	return 0;
}

static int admission_ok(const tpa_store_admission *a)
{
	static const char *const admissions[] = { "open", "approved", "allowlist", NULL };
	static const char *const sources[] = { "nv", "file", "none", NULL };

	if ((a->admission && !one_of(a->admission, admissions)) ||
	    (!a->admission && !a->pending) ||
	    (a->ek_cert_source && !one_of(a->ek_cert_source, sources)))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "enroll: bad admission or EK "
				    "certificate source");
	if (a->name && !valid_printable(a->name, TPA_INVENTORY_NAME_MAX))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "enroll: the inventory name must be 1..%d "
				    "printable ASCII characters", TPA_INVENTORY_NAME_MAX);
	if (a->label && !valid_token(a->label, TPA_LABEL_MAX))
		return bad_token("enroll", "label", TPA_LABEL_MAX);
	return 0;
}

/* In the enrollment's transaction: a new device gets its admission (and
 * the inventory's label and name); every enrollment refreshes where the EK
 * certificate came from, as the certificate itself is refreshed. */
static int write_admission(sq_store *s, const char *id, const tpa_store_admission *a,
			   size_t cert_len, int new_device)
{
	const char *src = a && a->ek_cert_source ? a->ek_cert_source : cert_len ? "nv" : "none";
	sqldb_stmt *st;
	int err;

	/* Without a certificate, a registered device keeps the one it had. */
	if ((new_device || cert_len) &&
	    ((err = prepare(&st, s, "UPDATE devices SET ek_cert_source = ? WHERE id = ?", "tt",
			    src, id)) < 0 || (err = run(s, st, NULL)) < 0))
		return err;
	if (!new_device)
		return 0;
	if ((err = prepare(&st, s, "UPDATE devices SET pending = ?, admission = ? WHERE id = ?",
			   "itt", (int64_t)(a && a->pending), a ? a->admission : "open", id)) < 0 ||
	    (err = run(s, st, NULL)) < 0)
		return err;
	if (a && a->label &&
	    ((err = prepare(&st, s, "UPDATE devices SET label = ? WHERE id = ?", "tt", a->label,
			    id)) < 0 || (err = run(s, st, NULL)) < 0))
		return err;
	if (a && a->name &&
	    ((err = prepare(&st, s, "UPDATE devices SET hostname = ? WHERE id = ?", "tt", a->name,
			    id)) < 0 || (err = run(s, st, NULL)) < 0))
		return err;
	return 0;
}

static int sq_approve(tpa_store *p, const char *id, int64_t now)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char cid[TPA_DEVICE_ID_LEN + 1], state[16] = "";
	int err, rc, pending = 0;

	if (!id)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "approve: NULL");
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	if ((err = canonical(s, id, cid)) < 0)
		goto done;
	if ((err = prepare(&st, s, "SELECT state, pending FROM devices WHERE id = ?", "t",
			   cid)) < 0)
		goto done;
	if ((rc = step_one(s, st)) == 1) {
		snprintf(state, sizeof(state), "%s", (const char *)sqldb_column_text(st, 0));
		pending = (int)sqldb_column_int(st, 1);
	}
	release(s, st);
	if ((err = rc < 0 ? rc : 0) < 0)
		goto done;
	if (rc == 0) {
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no device with id %.64s", cid);
		goto done;
	}
	if (!pending || strcmp(state, "revoked") == 0) {
		err = tpa_err_fail(TPA_ERR_CONFLICT, "device %.16s is %s, not pending approval",
				   cid, pending ? "revoked" : state);
		goto done;
	}
	/* state_changed_at stays: a pending device never had a verdict (Attest
	 * refuses it), so none could count from before; and a verdict in the
	 * second of the approval must count. */
	if ((err = prepare(&st, s, "UPDATE devices SET pending = 0, admission = 'approved' "
			   "WHERE id = ?", "t", cid)) < 0 ||
	    (err = run(s, st, NULL)) < 0)
		goto done;
	err = audit(s, cid, "approve", "pending device approved: it may attest", now);
done:
	err = finish(s, err);
out:
	conn_put(s);
	return err;
}

static int inventory_entry_ok(const tpa_inventory_entry *e, size_t i)
{
	int device = strcmp(e->kind, "device") == 0;

	if (!device && strcmp(e->kind, "ek-cert") != 0)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "inventory entry %zu: kind \"%.8s\" "
				    "(expected device or ek-cert)", i + 1, e->kind);
	if (device ? !valid_id(e->value) : !valid_printable(e->value, TPA_INVENTORY_VALUE_MAX))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "inventory entry %zu: %s", i + 1,
				    device ? "the device id must be 64 lower-case hex digits" :
				    "the EK certificate key must be 1..1024 printable characters");
	if (e->name[0] && !valid_printable(e->name, TPA_INVENTORY_NAME_MAX))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "inventory entry %zu: the name must be "
				    "printable ASCII", i + 1);
	if (e->label[0] && !valid_token(e->label, TPA_LABEL_MAX))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "inventory entry %zu: the label must be 1 "
				    "to %d bytes of A-Z, a-z, 0-9, '.', '_', '-'", i + 1,
				    TPA_LABEL_MAX);
	if (e->no_ek_cert && !device)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "inventory entry %zu: no_ek_cert needs a "
				    "device id (an EK without a certificate has no issuer or serial)",
				    i + 1);
	return 0;
}

static int sq_inventory_put(tpa_store *p, const tpa_inventory_entry *e, size_t n, int64_t now)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char detail[96];
	size_t i;
	int err;

	if (!e && n)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "inventory: NULL");
	for (i = 0; i < n; i++)
		if ((err = inventory_entry_ok(&e[i], i)) < 0)
			return err;
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	for (i = 0; i < n && err == 0; i++)
		if ((err = prepare(&st, s, "INSERT INTO inventory(kind, value, name, label, "
				   "no_ek_cert, added_at) VALUES(?, ?, ?, ?, ?, ?) "
				   "ON CONFLICT(kind, value) DO UPDATE SET name = excluded.name, "
				   "label = excluded.label, no_ek_cert = excluded.no_ek_cert",
				   "ttttii", e[i].kind, e[i].value, e[i].name[0] ? e[i].name : NULL,
				   e[i].label[0] ? e[i].label : NULL, (int64_t)(e[i].no_ek_cert != 0),
				   now)) == 0)
			err = run(s, st, NULL);
	if (err == 0) {
		snprintf(detail, sizeof(detail), "%zu inventory entr%s added or updated", n,
			 n == 1 ? "y" : "ies");
		err = audit(s, NULL, "inventory", detail, now);
	}
	err = finish(s, err);
out:
	conn_put(s);
	return err;
}

static int sq_inventory_remove(tpa_store *p, const char *kind, const char *value, int64_t now)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char detail[TPA_INVENTORY_VALUE_MAX + 64];
	int err, changes = 0;

	if (!kind || !value)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "inventory remove: NULL");
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	if ((err = prepare(&st, s, "DELETE FROM inventory WHERE kind = ? AND value = ?", "tt",
			   kind, value)) < 0 || (err = run(s, st, &changes)) < 0)
		goto done;
	if (!changes) {
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no inventory entry %.8s %.200s", kind, value);
		goto done;
	}
	snprintf(detail, sizeof(detail), "inventory entry removed: %s %s", kind, value);
	err = audit(s, strcmp(kind, "device") == 0 ? value : NULL, "uninventory", detail, now);
done:
	err = finish(s, err);
out:
	conn_put(s);
	return err;
}

static void row_to_entry(tpa_inventory_entry *e, sqldb_stmt *st)
{
	const unsigned char *t;

	memset(e, 0, sizeof(*e));
	if ((t = sqldb_column_text(st, 0)))
		snprintf(e->kind, sizeof(e->kind), "%s", (const char *)t);
	if ((t = sqldb_column_text(st, 1)))
		snprintf(e->value, sizeof(e->value), "%s", (const char *)t);
	if ((t = sqldb_column_text(st, 2)))
		snprintf(e->name, sizeof(e->name), "%s", (const char *)t);
	if ((t = sqldb_column_text(st, 3)))
		snprintf(e->label, sizeof(e->label), "%s", (const char *)t);
	e->no_ek_cert = (int)sqldb_column_int(st, 4) != 0;
	e->added_at = sqldb_column_int(st, 5);
}

#define INVENTORY_COLUMNS "kind, value, name, label, no_ek_cert, added_at"

static int sq_inventory_get(tpa_inventory_entry *out, tpa_store *p, const char *kind,
			    const char *value)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	int err;

	if (!out || !kind || !value)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "inventory: NULL");
	s = conn_get(s);
	if ((err = prepare(&st, s, "SELECT " INVENTORY_COLUMNS " FROM inventory WHERE kind = ? "
			   "AND value = ?", "tt", kind, value)) < 0)
		goto out;
	if ((err = step_one(s, st)) == 1) {
		row_to_entry(out, st);
		err = 0;
	} else if (err == 0) {
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no inventory entry %.8s %.200s", kind, value);
	}
	release(s, st);
out:
	conn_put(s);
	return err;
}

static int sq_inventory_list(tpa_inventory_entry **out, size_t *n, tpa_store *p)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	tpa_inventory_entry *v = NULL, *nv;
	size_t count = 0, cap = 0;
	int err, rc;

	if (!out || !n)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "inventory list: NULL");
	*out = NULL;
	*n = 0;
	s = conn_get(s);
	if ((err = prepare(&st, s, "SELECT " INVENTORY_COLUMNS " FROM inventory "
			   "ORDER BY kind, value", "")) < 0)
		goto out;
	while ((rc = sqldb_step(st)) == 1) {
		if (count == cap) {
			cap = cap ? 2 * cap : 16;
			if (!(nv = realloc(v, cap * sizeof(*v)))) {
				err = tpa_err_fail(TPA_ERR_NOMEM, "inventory list: out of memory");
				break;
			}
			v = nv;
		}
		row_to_entry(&v[count++], st);
	}
	if (!err && rc != 0)
		err = sq_fail(s, "read");
	release(s, st);
	if (err < 0) {
		free(v);
		goto out;
	}
	*out = count ? v : NULL;
	if (!count)
		free(v);
	*n = count;
out:
	conn_put(s);
	return err;
}

/* ---- enforcement (issue 16) ---- */

/* 0..max bytes of printable ASCII (0x20-0x7e): "" too, unlike
 * valid_printable. */
static int printable_upto(const char *v, size_t max)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		if (i >= max || v[i] < 0x20 || v[i] > 0x7e)
			return 0;
	return v != NULL;
}

/* Lower-case hex, an even number of digits, 2..max. */
static int valid_hex_even(const char *v, size_t max)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		if (i >= max || !((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
			return 0;
	return i >= 2 && i % 2 == 0;
}

/* An audit event: 1..32 of lower-case letters and '-'. */
static int valid_event(const char *v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		if (i >= 32 || !((v[i] >= 'a' && v[i] <= 'z') || v[i] == '-'))
			return 0;
	return i > 0;
}

/* An outbox body: 1..TPA_OUTBOX_BODY_MAX bytes of printable ASCII, tab,
 * CR, LF (a SET is printable; JSON may be laid out). */
static int valid_body(const char *v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		if (i >= TPA_OUTBOX_BODY_MAX ||
		    !((v[i] >= 0x20 && v[i] <= 0x7e) || v[i] == '\t' || v[i] == '\n' ||
		      v[i] == '\r'))
			return 0;
	return i > 0;
}

static int valid_kind(const char *kind)
{
	return kind && (strcmp(kind, "caep") == 0 || strcmp(kind, "radius") == 0);
}

/* What another party said (an error, a result), made fit to keep: at most
 * cap - 1 bytes, anything not printable ASCII a '?'. */
static void sanitize(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; src && src[i] && i + 1 < cap; i++)
		dst[i] = src[i] >= 0x20 && src[i] <= 0x7e ? src[i] : '?';
	dst[i] = '\0';
}

/* NULL for "": optional text is kept as NULL (the schema's CHECKs take
 * 1..n bytes). */
static const char *or_null(const char *v)
{
	return v && *v ? v : NULL;
}

/* A text column copied bounded, "" if it is not text. */
static void col_text(char *dst, size_t cap, sqldb_stmt *st, int col)
{
	const unsigned char *t = sqldb_column_type(st, col) == SQLDB_TEXT ?
		sqldb_column_text(st, col) : NULL;
	size_t n = t ? (size_t)(int)sqldb_column_bytes(st, col) : 0;

	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, t, n);
	dst[n] = '\0';
}

/* An integer column, 0 if it is not one. */
static int64_t col_int(sqldb_stmt *st, int col)
{
	return sqldb_column_type(st, col) == SQLDB_INTEGER ? sqldb_column_int(st, col) : 0;
}

static int bad_field(const char *op, const char *field, const char *what)
{
	return tpa_err_fail(TPA_ERR_INVALID_ARG, "%s: the %s must be %s", op, field, what);
}

static int cert_key_ok(const char *op, const char *issuer, const char *serial)
{
	if (!valid_printable(issuer, TPA_CERT_ISSUER_MAX))
		return bad_field(op, "issuer", "1 to 512 bytes of printable ASCII");
	if (!valid_hex_even(serial, TPA_CERT_SERIAL_MAX))
		return bad_field(op, "serial", "an even number (2 to 64) of lower-case hex digits");
	return 0;
}

/* Whether the device exists: 0, TPA_ERR_NOT_FOUND, or an error. */
static int device_known(sq_store *s, const char *id)
{
	sqldb_stmt *st;
	int err;

	if ((err = prepare(&st, s, "SELECT 1 FROM devices WHERE id = ?", "t", id)) < 0 ||
	    (err = exists(s, st)) < 0)
		return err;
	return err ? 0 : tpa_err_fail(TPA_ERR_NOT_FOUND, "no device with id %.64s", id);
}

/* The device_id column of the row a statement with two text keys finds
 * (owner: TPA_DEVICE_ID_LEN + 1 bytes, "" if none): 1 found, 0 not, or an
 * error. */
static int owner_of(char *owner, sq_store *s, const char *sql, const char *a, const char *b)
{
	sqldb_stmt *st;
	int err, rc;

	owner[0] = '\0';
	if ((err = prepare(&st, s, sql, "tt", a, b)) < 0)
		return err;
	if ((rc = step_one(s, st)) == 1)
		col_text(owner, TPA_DEVICE_ID_LEN + 1, st, 0);
	release(s, st);
	return rc;
}

static int sq_cert_bind(tpa_store *p, const tpa_device_cert *c, int64_t now)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char cid[TPA_DEVICE_ID_LEN + 1], owner[TPA_DEVICE_ID_LEN + 1] = "", detail[256];
	int err, rc;

	if (!c)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "cert bind: NULL");
	if ((err = cert_key_ok("cert bind", c->issuer, c->serial)) < 0)
		return err;
	if (!valid_id(c->device_id))
		return bad_id("cert bind");
	if (!valid_id(c->sha256))
		return bad_field("cert bind", "sha256", "64 lower-case hex digits");
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	if ((err = canonical(s, c->device_id, cid)) < 0 || (err = device_known(s, cid)) < 0)
		goto done;
	if ((err = rc = owner_of(owner, s, "SELECT device_id FROM device_certs WHERE issuer = ? "
				 "AND serial = ?", c->issuer, c->serial)) < 0)
		goto done;
	if (owner[0] && strcmp(owner, cid) != 0) {
		err = tpa_err_fail(TPA_ERR_CONFLICT, "certificate serial %.64s is bound to another "
				   "device (%.16s...)", c->serial, owner);
		goto done;
	}
	if ((err = prepare(&st, s, "INSERT INTO device_certs(issuer, serial, device_id, sha256, "
			   "not_after, added_at) VALUES(?, ?, ?, ?, ?, ?) "
			   "ON CONFLICT(issuer, serial) DO UPDATE SET sha256 = excluded.sha256, "
			   "not_after = excluded.not_after, added_at = excluded.added_at", "ttttii",
			   c->issuer, c->serial, cid, c->sha256, c->not_after, now)) < 0 ||
	    (err = run(s, st, NULL)) < 0)
		goto done;
	snprintf(detail, sizeof(detail), "certificate serial %.64s, issuer %.120s%s%s", c->serial,
		 c->issuer, strlen(c->issuer) > 120 ? "..." : "", owner[0] ? " (again)" : "");
	err = audit(s, cid, "cert-bind", detail, now);
done:
	err = finish(s, err);
out:
	conn_put(s);
	return err;
}

static int sq_cert_unbind(tpa_store *p, const char *issuer, const char *serial, int64_t now)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char owner[TPA_DEVICE_ID_LEN + 1] = "", detail[256];
	int err, rc;

	if ((err = cert_key_ok("cert unbind", issuer, serial)) < 0)
		return err;
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	if ((err = rc = owner_of(owner, s, "SELECT device_id FROM device_certs WHERE issuer = ? "
				 "AND serial = ?", issuer, serial)) < 0)
		goto done;
	if (rc == 0) {
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no certificate serial %.64s of that issuer "
				   "is bound", serial);
		goto done;
	}
	if ((err = prepare(&st, s, "DELETE FROM device_certs WHERE issuer = ? AND serial = ?",
			   "tt", issuer, serial)) < 0 || (err = run(s, st, NULL)) < 0)
		goto done;
	snprintf(detail, sizeof(detail), "certificate serial %.64s, issuer %.120s%s", serial,
		 issuer, strlen(issuer) > 120 ? "..." : "");
	err = audit(s, valid_id(owner) ? owner : NULL, "cert-unbind", detail, now);
done:
	err = finish(s, err);
out:
	conn_put(s);
	return err;
}

#define CERT_COLUMNS "issuer, serial, device_id, sha256, not_after, added_at"

static void row_to_cert(tpa_device_cert *c, sqldb_stmt *st)
{
	memset(c, 0, sizeof(*c));
	col_text(c->issuer, sizeof(c->issuer), st, 0);
	col_text(c->serial, sizeof(c->serial), st, 1);
	col_text(c->device_id, sizeof(c->device_id), st, 2);
	col_text(c->sha256, sizeof(c->sha256), st, 3);
	c->not_after = col_int(st, 4);
	c->added_at = col_int(st, 5);
}

static int sq_cert_find(tpa_device_cert *out, tpa_store *p, const char *issuer,
			const char *serial)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	int err;

	if (!out)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "cert find: NULL");
	if ((err = cert_key_ok("cert find", issuer, serial)) < 0)
		return err;
	s = conn_get(s);
	if ((err = prepare(&st, s, "SELECT " CERT_COLUMNS " FROM device_certs WHERE issuer = ? "
			   "AND serial = ?", "tt", issuer, serial)) < 0)
		goto out;
	if ((err = step_one(s, st)) == 1) {
		row_to_cert(out, st);
		err = 0;
	} else if (err == 0) {
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no certificate serial %.64s of that issuer "
				   "is bound", serial);
	}
	release(s, st);
out:
	conn_put(s);
	return err;
}

/* Reads every row of st into a malloc'd vector of elements of size, each
 * filled by fill; *out NULL when none. Gives st back. */
static int read_rows(void **out, size_t *n, sq_store *s, sqldb_stmt *st, size_t size,
		     void (*fill)(void *e, sqldb_stmt *st), const char *op)
{
	void *v = NULL, *nv;
	size_t count = 0, cap = 0;
	int err = 0, rc;

	while ((rc = sqldb_step(st)) == 1) {
		if (!(nv = grow(v, &cap, count, size))) {
			err = tpa_err_fail(TPA_ERR_NOMEM, "%s: out of memory", op);
			break;
		}
		v = nv;
		fill((char *)v + count++ * size, st);
	}
	if (!err && rc != 0)
		err = sq_fail(s, "read");
	release(s, st);
	if (err < 0 || !count) {
		free(v);
		v = NULL;
		count = err < 0 ? 0 : count;
	}
	*out = v;
	*n = count;
	return err;
}

static void fill_cert(void *e, sqldb_stmt *st)
{
	row_to_cert(e, st);
}

/* The rows of one device (canonical id; sql_one binds it) or of all
 * (sql_all), read with read_rows. */
static int list_rows(void **out, size_t *n, tpa_store *p, const char *device_id,
		     const char *sql_one, const char *sql_all, size_t size,
		     void (*fill)(void *e, sqldb_stmt *st), const char *op)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char cid[TPA_DEVICE_ID_LEN + 1];
	int err;

	if (!out || !n)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "%s: NULL", op);
	*out = NULL;
	*n = 0;
	if (device_id && !valid_id(device_id))
		return bad_id(op);
	s = conn_get(s);
	if (device_id && (err = canonical(s, device_id, cid)) < 0)
		goto out;
	err = device_id ? prepare(&st, s, sql_one, "t", cid) : prepare(&st, s, sql_all, "");
	if (err == 0)
		err = read_rows(out, n, s, st, size, fill, op);
out:
	conn_put(s);
	return err;
}

static int sq_cert_list(tpa_device_cert **out, size_t *n, tpa_store *p, const char *device_id)
{
	void *v = NULL;
	int err = list_rows(&v, n, p, device_id, "SELECT " CERT_COLUMNS " FROM device_certs "
			    "WHERE device_id = ? ORDER BY issuer, serial", "SELECT " CERT_COLUMNS
			    " FROM device_certs ORDER BY device_id, issuer, serial",
			    sizeof(**out), fill_cert, "cert list");

	if (out)
		*out = v;
	return err;
}

static int session_key_ok(const char *op, const char *nas_ip, const char *session_id)
{
	if (!valid_printable(nas_ip, sizeof(((tpa_session *)0)->nas_ip) - 1))
		return bad_field(op, "NAS address", "1 to 63 bytes of printable ASCII");
	if (!valid_printable(session_id, TPA_SESSION_FIELD_MAX))
		return bad_field(op, "session id", "1 to 253 bytes of printable ASCII");
	return 0;
}

static int session_ok(const tpa_session *se)
{
	static const char *const names[] = { "NAS identifier", "NAS port", "calling station",
					     "user name" };
	const char *const v[] = { se->nas_identifier, se->nas_port, se->calling_station,
				  se->user_name };
	size_t i;
	int err;

	if ((err = session_key_ok("session", se->nas_ip, se->session_id)) < 0)
		return err;
	if (!valid_id(se->device_id))
		return bad_id("session");
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (!printable_upto(v[i], TPA_SESSION_FIELD_MAX))
			return bad_field("session", names[i], "at most 253 bytes of printable ASCII");
	return 0;
}

static int sq_session_put(tpa_store *p, const tpa_session *se, int64_t now)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char cid[TPA_DEVICE_ID_LEN + 1], had[TPA_DEVICE_ID_LEN + 1] = "", detail[768];
	int err, rc, dropped = 0, fresh;
	int64_t started = se && se->started_at > 0 ? se->started_at : now;

	if (!se)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "session: NULL");
	if ((err = session_ok(se)) < 0)
		return err;
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	if ((err = canonical(s, se->device_id, cid)) < 0 || (err = device_known(s, cid)) < 0)
		goto done;
	if ((err = rc = owner_of(had, s, "SELECT device_id FROM sessions WHERE nas_ip = ? AND "
				 "session_id = ?", se->nas_ip, se->session_id)) < 0)
		goto done;
	/* An Interim-Update keeps when it started; a session id the NAS gave
	 * again to another device is a new session. */
	fresh = rc == 0 || strcmp(had, cid) != 0;
	if ((err = prepare(&st, s, "INSERT INTO sessions(nas_ip, session_id, device_id, "
			   "nas_identifier, nas_port, calling_station, user_name, started_at, "
			   "updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
			   "ON CONFLICT(nas_ip, session_id) DO UPDATE SET "
			   "device_id = excluded.device_id, nas_identifier = excluded.nas_identifier, "
			   "nas_port = excluded.nas_port, calling_station = excluded.calling_station, "
			   "user_name = excluded.user_name, started_at = CASE WHEN ?10 <> 0 THEN "
			   "excluded.started_at ELSE sessions.started_at END, updated_at = excluded.updated_at",
			   "tttttttiii", se->nas_ip, se->session_id, cid, or_null(se->nas_identifier),
			   or_null(se->nas_port), or_null(se->calling_station),
			   or_null(se->user_name), started, now, (int64_t)fresh)) < 0 ||
	    (err = run(s, st, NULL)) < 0)
		goto done;
	/* At most TPA_SESSIONS_PER_DEVICE_MAX: this one and the most recently
	 * updated others. */
	if ((err = prepare(&st, s, "DELETE FROM sessions WHERE device_id = ?1 AND "
			   "NOT (nas_ip = ?2 AND session_id = ?3) AND rowid NOT IN "
			   "(SELECT rowid FROM sessions WHERE device_id = ?1 AND "
			   "NOT (nas_ip = ?2 AND session_id = ?3) "
			   "ORDER BY updated_at DESC, rowid DESC LIMIT ?4)", "ttti", cid, se->nas_ip,
			   se->session_id, (int64_t)(TPA_SESSIONS_PER_DEVICE_MAX - 1))) < 0 ||
	    (err = run(s, st, &dropped)) < 0)
		goto done;
	if (!fresh)
		goto done;
	snprintf(detail, sizeof(detail), "NAS %s session %.64s%s%s%s%s%s", se->nas_ip,
		 se->session_id, strlen(se->session_id) > 64 ? "..." : "",
		 se->calling_station[0] ? ", station " : "", se->calling_station,
		 had[0] ? "; was another device's" : "",
		 dropped ? "; the least recently updated dropped" : "");
	err = audit(s, cid, "session-start", detail, now);
done:
	err = finish(s, err);
out:
	conn_put(s);
	return err;
}

static int sq_session_stop(tpa_store *p, const char *nas_ip, const char *session_id,
			   int64_t now)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char owner[TPA_DEVICE_ID_LEN + 1] = "", detail[512];
	int err, rc;

	if ((err = session_key_ok("session stop", nas_ip, session_id)) < 0)
		return err;
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	if ((err = rc = owner_of(owner, s, "SELECT device_id FROM sessions WHERE nas_ip = ? AND "
				 "session_id = ?", nas_ip, session_id)) < 0)
		goto done;
	if (rc == 0) {
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no open session %.64s at NAS %s", session_id,
				   nas_ip);
		goto done;
	}
	if ((err = prepare(&st, s, "DELETE FROM sessions WHERE nas_ip = ? AND session_id = ?",
			   "tt", nas_ip, session_id)) < 0 || (err = run(s, st, NULL)) < 0)
		goto done;
	snprintf(detail, sizeof(detail), "NAS %s session %.64s%s", nas_ip, session_id,
		 strlen(session_id) > 64 ? "..." : "");
	err = audit(s, valid_id(owner) ? owner : NULL, "session-stop", detail, now);
done:
	err = finish(s, err);
out:
	conn_put(s);
	return err;
}

#define SESSION_COLUMNS "nas_ip, session_id, device_id, nas_identifier, nas_port, " \
	"calling_station, user_name, started_at, updated_at"

static void fill_session(void *e, sqldb_stmt *st)
{
	tpa_session *se = e;

	col_text(se->nas_ip, sizeof(se->nas_ip), st, 0);
	col_text(se->session_id, sizeof(se->session_id), st, 1);
	col_text(se->device_id, sizeof(se->device_id), st, 2);
	col_text(se->nas_identifier, sizeof(se->nas_identifier), st, 3);
	col_text(se->nas_port, sizeof(se->nas_port), st, 4);
	col_text(se->calling_station, sizeof(se->calling_station), st, 5);
	col_text(se->user_name, sizeof(se->user_name), st, 6);
	se->started_at = col_int(st, 7);
	se->updated_at = col_int(st, 8);
}

static int sq_sessions(tpa_session **out, size_t *n, tpa_store *p, const char *device_id)
{
	void *v = NULL;
	int err = list_rows(&v, n, p, device_id, "SELECT " SESSION_COLUMNS " FROM sessions "
			    "WHERE device_id = ? ORDER BY started_at, rowid", "SELECT "
			    SESSION_COLUMNS " FROM sessions ORDER BY started_at, rowid",
			    sizeof(**out), fill_session, "sessions");

	if (out)
		*out = v;
	return err;
}

static void fill_notified(void *e, sqldb_stmt *st)
{
	tpa_notified *nt = e;

	col_text(nt->device_id, sizeof(nt->device_id), st, 0);
	nt->compliant = col_int(st, 1) == 1;
	col_text(nt->reason, sizeof(nt->reason), st, 2);
	nt->at = col_int(st, 3);
}

static int sq_notified_list(tpa_notified **out, size_t *n, tpa_store *p)
{
	void *v = NULL;
	int err = list_rows(&v, n, p, NULL, NULL, "SELECT device_id, compliant, reason, at "
			    "FROM notified ORDER BY device_id", sizeof(**out), fill_notified,
			    "notified list");

	if (out)
		*out = v;
	return err;
}

static int outbox_item_ok(const tpa_outbox_item *it, size_t i)
{
	const char *bad = !valid_kind(it->kind) ? "kind (expected caep or radius)" :
		!valid_printable(it->target, TPA_OUTBOX_TARGET_MAX) ?
		"target (1 to 512 bytes of printable ASCII)" :
		!valid_id(it->device_id) ? "device id (64 lower-case hex digits)" :
		!valid_body(it->body) ? "body (1 to 65536 bytes of printable ASCII, tab, CR, LF)" :
		NULL;

	return bad ? tpa_err_fail(TPA_ERR_INVALID_ARG, "notify: outbox item %zu: the %s", i + 1,
				  bad) : 0;
}

static int sq_notify_commit(tpa_store *p, const tpa_notified *nt, const tpa_outbox_item *items,
			    size_t n, int64_t now)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char detail[TPA_NOTIFY_REASON_MAX + 96];
	size_t i;
	int err, gone;

	if (!nt || (!items && n))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "notify: NULL");
	if (!valid_id(nt->device_id))
		return bad_id("notify");
	if (!printable_upto(nt->reason, TPA_NOTIFY_REASON_MAX))
		return bad_field("notify", "reason", "at most 255 bytes of printable ASCII");
	for (i = 0; i < n; i++)
		if ((err = outbox_item_ok(&items[i], i)) < 0)
			return err;
	gone = strcmp(nt->reason, "deleted") == 0;
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	err = gone ? prepare(&st, s, "DELETE FROM notified WHERE device_id = ?", "t",
			     nt->device_id) :
		prepare(&st, s, "INSERT INTO notified(device_id, compliant, reason, at) "
			"VALUES(?, ?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET "
			"compliant = excluded.compliant, reason = excluded.reason, at = excluded.at",
			"titi", nt->device_id, (int64_t)(nt->compliant != 0), or_null(nt->reason),
			now);
	if (err < 0 || (err = run(s, st, NULL)) < 0)
		goto done;
	for (i = 0; i < n && err == 0; i++)
		if ((err = prepare(&st, s, "INSERT INTO outbox(kind, target, device_id, body, "
				   "created_at, next_at, attempts) VALUES(?, ?, ?, ?, ?, ?, 0)",
				   "ttttii", items[i].kind, items[i].target, items[i].device_id,
				   items[i].body, now, items[i].next_at)) == 0)
			err = run(s, st, NULL);
	if (err < 0)
		goto done;
	snprintf(detail, sizeof(detail), "%s%s%s; %zu deliver%s",
		 nt->compliant ? "compliant" : "not-compliant", nt->reason[0] ? ": " : "",
		 nt->reason, n, n == 1 ? "y" : "ies");
	err = audit(s, nt->device_id, "compliance-change", detail, now);
done:
	err = finish(s, err);
out:
	conn_put(s);
	return err;
}

static int outbox_filter_ok(const char *op, const char *kind, const char *target)
{
	if (!valid_kind(kind))
		return bad_field(op, "kind", "caep or radius");
	if (target && !valid_printable(target, TPA_OUTBOX_TARGET_MAX))
		return bad_field(op, "target", "1 to 512 bytes of printable ASCII");
	return 0;
}

static void fill_item(tpa_outbox_item *it, sqldb_stmt *st)
{
	memset(it, 0, sizeof(*it));
	it->id = col_int(st, 0);
	col_text(it->kind, sizeof(it->kind), st, 1);
	col_text(it->target, sizeof(it->target), st, 2);
	col_text(it->device_id, sizeof(it->device_id), st, 3);
	it->created_at = col_int(st, 5);
	it->next_at = col_int(st, 6);
	it->attempts = col_int(st, 7) < 0 ? 0 : col_int(st, 7) > UINT32_MAX ? UINT32_MAX :
		(unsigned)col_int(st, 7);
	col_text(it->last_error, sizeof(it->last_error), st, 8);
}

static int sq_outbox_due(tpa_outbox_item **out, size_t *n, tpa_store *p, const char *kind,
			 const char *target, int64_t now, size_t max)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	tpa_outbox_item *v = NULL;
	size_t count = 0, cap = 0, len;
	int err, rc;

	if (!out || !n)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "outbox: NULL");
	*out = NULL;
	*n = 0;
	if ((err = outbox_filter_ok("outbox", kind, target)) < 0)
		return err;
	s = conn_get(s);
	if ((err = prepare(&st, s, "SELECT id, kind, target, device_id, body, created_at, "
			   "next_at, attempts, last_error FROM outbox WHERE kind = ?1 AND "
			   "(?2 IS NULL OR target = ?2) AND next_at <= ?3 ORDER BY id LIMIT ?4",
			   "ttii", kind, target, now,
			   max == 0 || max > INT64_MAX ? INT64_MAX : (int64_t)max)) < 0)
		goto out;
	while ((rc = sqldb_step(st)) == 1) {
		tpa_outbox_item *nv;
		const unsigned char *b;

		if (!(nv = grow(v, &cap, count, sizeof(*v)))) {
			err = tpa_err_fail(TPA_ERR_NOMEM, "outbox: out of memory");
			break;
		}
		v = nv;
		fill_item(&v[count], st);
		/* The body as it is, bounded: one the file holds beyond the
		 * limit is cut there (the schema refuses it; a file written by
		 * anyone may hold anything). */
		b = sqldb_column_type(st, 4) == SQLDB_TEXT ? sqldb_column_text(st, 4) : NULL;
		len = b ? (size_t)(int)sqldb_column_bytes(st, 4) : 0;
		if (len > TPA_OUTBOX_BODY_MAX)
			len = TPA_OUTBOX_BODY_MAX;
		if (!(v[count].body = malloc(len + 1))) {
			err = tpa_err_fail(TPA_ERR_NOMEM, "outbox: out of memory");
			break;
		}
		if (len)
			memcpy(v[count].body, b, len);
		v[count].body[len] = '\0';
		count++;
	}
	if (!err && rc != 0)
		err = sq_fail(s, "read");
	release(s, st);
	if (err < 0 || !count) {
		tpa_outbox_items_free(v, count);
		goto out;
	}
	*out = v;
	*n = count;
out:
	conn_put(s);
	return err;
}

/* One integer about the items of kind (and target, or any: NULL) that sql
 * (binding ?1 kind, ?2 target) gives; 0 if none. */
static int outbox_scalar(int64_t *v, tpa_store *p, const char *kind, const char *target,
			 const char *sql, const char *op)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	int err;

	*v = 0;
	if ((err = outbox_filter_ok(op, kind, target)) < 0)
		return err;
	s = conn_get(s);
	if ((err = prepare(&st, s, sql, "tt", kind, target)) == 0) {
		if ((err = step_one(s, st)) == 1)
			*v = col_int(st, 0);
		release(s, st);
		err = err < 0 ? err : 0;
	}
	conn_put(s);
	return err;
}

static int sq_outbox_next(int64_t *next_at, tpa_store *p, const char *kind, const char *target)
{
	if (!next_at)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "outbox next: NULL");
	return outbox_scalar(next_at, p, kind, target, "SELECT min(next_at) FROM outbox WHERE "
			     "kind = ?1 AND (?2 IS NULL OR target = ?2)", "outbox next");
}

static int sq_outbox_count(size_t *n, tpa_store *p, const char *kind, const char *target)
{
	int64_t v = 0;
	int err;

	if (!n)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "outbox count: NULL");
	err = outbox_scalar(&v, p, kind, target, "SELECT count(*) FROM outbox WHERE kind = ?1 AND "
			    "(?2 IS NULL OR target = ?2)", "outbox count");
	*n = v > 0 ? (size_t)v : 0;
	return err;
}

static int sq_outbox_done(tpa_store *p, int64_t id, const char *event, const char *result,
			  int64_t now)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char owner[TPA_DEVICE_ID_LEN + 1] = "", detail[1025];
	int err, rc;

	if (id <= 0)
		return bad_field("outbox done", "id", "an outbox item's (1..)");
	if (!valid_event(event))
		return bad_field("outbox done", "event", "1 to 32 of a-z and '-'");
	sanitize(detail, sizeof(detail), result);
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	if ((err = prepare(&st, s, "SELECT device_id FROM outbox WHERE id = ?", "i", id)) < 0)
		goto done;
	if ((rc = step_one(s, st)) == 1)
		col_text(owner, sizeof(owner), st, 0);
	release(s, st);
	if ((err = rc < 0 ? rc : 0) < 0)
		goto done;
	if (rc == 0) {
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no outbox item %lld", (long long)id);
		goto done;
	}
	if ((err = prepare(&st, s, "DELETE FROM outbox WHERE id = ?", "i", id)) < 0 ||
	    (err = run(s, st, NULL)) < 0)
		goto done;
	err = audit(s, valid_id(owner) ? owner : NULL, event, detail, now);
done:
	err = finish(s, err);
out:
	conn_put(s);
	return err;
}

static int sq_outbox_retry(tpa_store *p, int64_t id, int64_t next_at, const char *error)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char msg[TPA_OUTBOX_ERROR_MAX + 1];
	int err, changes = 0;

	if (id <= 0)
		return bad_field("outbox retry", "id", "an outbox item's (1..)");
	sanitize(msg, sizeof(msg), error);
	s = conn_get(s);
	if ((err = prepare(&st, s, "UPDATE outbox SET attempts = attempts + 1, next_at = ?, "
			   "last_error = ? WHERE id = ?", "iti", next_at, or_null(msg), id)) == 0 &&
	    (err = run(s, st, &changes)) == 0 && !changes)
		err = tpa_err_fail(TPA_ERR_NOT_FOUND, "no outbox item %lld", (long long)id);
	conn_put(s);
	return err;
}

static int sq_audit_note(tpa_store *p, const char *id, const char *event, const char *detail,
			 int64_t now)
{
	sq_store *s = (sq_store *)p;
	int err;

	if (id && !valid_id(id))
		return bad_id("audit note");
	if (!valid_event(event))
		return bad_field("audit note", "event", "1 to 32 of a-z and '-'");
	if (detail && !printable_upto(detail, 1024))
		return bad_field("audit note", "detail", "at most 1024 bytes of printable ASCII");
	s = conn_get(s);
	if ((err = begin(s)) == 0)
		err = finish(s, audit(s, id, event, detail ? detail : "", now));
	conn_put(s);
	return err;
}

/* One integer a single-row query answers (what names it in an error). */
static int scalar(int64_t *v, sq_store *s, const char *sql, const char *what)
{
	sqldb_stmt *st;
	int err;

	if (!v)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "%s: NULL", what);
	s = conn_get(s);
	if ((err = prepare(&st, s, sql, "")) == 0) {
		if ((err = step_one(s, st)) == 1)
			*v = col_int(st, 0);
		else if (err == 0)
			err = sq_fail(s, what);
		release(s, st);
		err = err < 0 ? err : 0;
	}
	conn_put(s);
	return err;
}

/* The rows up to upto leave through one audited transaction (store.h). */
static int sq_audit_prune(int64_t *first_kept, tpa_store *p, int64_t upto, const char *archive,
			  const char *archive_sha256, int64_t now)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	char detail[1024], hex[2 * TPA_AUDIT_HASH_LEN + 1];
	int64_t first = 0, last = 0;
	int err, rc;

	if (!first_kept || !archive || !archive_sha256)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "audit prune: NULL");
	if (!printable_upto(archive, 255) || !*archive)
		return bad_field("audit prune", "archive", "1 to 255 bytes of printable ASCII");
	if (strlen(archive_sha256) != 64 || !is_hex_lower(archive_sha256))
		return bad_field("audit prune", "archive_sha256", "64 lower-case hex digits");
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	if ((err = prepare(&st, s, "SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM audit",
			   "")) < 0)
		goto done;
	if ((rc = step_one(s, st)) == 1) {
		first = sqldb_column_int(st, 0);
		last = sqldb_column_int(st, 1);
	}
	release(s, st);
	if ((err = rc < 0 ? rc : 0) < 0)
		goto done;
	if (upto < first || upto >= last) {
		err = tpa_err_fail(TPA_ERR_INVALID_ARG, "audit prune: row %" PRId64 " is not one "
				   "to prune (the log holds rows %" PRId64 " to %" PRId64 "; the "
				   "last stays)", upto, first, last);
		goto done;
	}
	/* The row the log will start at links to the hash of upto. */
	if ((err = prepare(&st, s, "SELECT hash FROM audit WHERE seq = ?", "i", upto)) < 0)
		goto done;
	if ((rc = step_one(s, st)) == 1 && sqldb_column_type(st, 0) == SQLDB_BLOB &&
	    sqldb_column_bytes(st, 0) == TPA_AUDIT_HASH_LEN)
		tpa_hex(hex, sqldb_column_blob(st, 0), TPA_AUDIT_HASH_LEN);
	else if (rc >= 0)
		rc = tpa_err_fail(TPA_ERR_NOT_FOUND, "audit prune: row %" PRId64 " is not there, "
				  "or has no hash", upto);
	release(s, st);
	if ((err = rc < 0 ? rc : 0) < 0)
		goto done;
	snprintf(detail, sizeof(detail), "rows %" PRId64 " to %" PRId64 " pruned, archived as "
		 "%s sha256 %s; the log starts at row %" PRId64 ", linked to %s", first, upto,
		 archive, archive_sha256, upto + 1, hex);
	if ((err = audit(s, NULL, "audit-prune", detail, now)) < 0)
		goto done;
	/* Past the append-only rule for this transaction alone. */
	err = s->pg ? exec(s, "ALTER TABLE audit DISABLE TRIGGER audit_append_only") :
		exec(s, "DROP TRIGGER audit_no_delete");
	if (err == 0 && (err = prepare(&st, s, "DELETE FROM audit WHERE seq <= ?", "i", upto)) == 0)
		err = run(s, st, NULL);
	if (err == 0)
		err = s->pg ? exec(s, "ALTER TABLE audit ENABLE TRIGGER audit_append_only") :
			exec(s, AUDIT_NO_DELETE);
	if (err == 0)
		*first_kept = upto + 1;
done:
	err = finish(s, err);
out:
	conn_put(s);
	return err;
}

static int sq_evidence_prune(size_t *n, tpa_store *p, int64_t before)
{
	sq_store *s = (sq_store *)p;
	sqldb_stmt *st;
	int err, changes = 0;

	if (!n)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "evidence prune: NULL");
	*n = 0;
	s = conn_get(s);
	if ((err = begin(s)) < 0)
		goto out;
	if ((err = prepare(&st, s, "DELETE FROM evidence WHERE device_id IN (SELECT id FROM "
			   "devices WHERE coalesce(last_attest_at, enrolled_at) < ?)", "i",
			   before)) == 0 &&
	    (err = run(s, st, &changes)) == 0)
		*n = (size_t)changes;
	err = finish(s, err);
out:
	conn_put(s);
	return err;
}

static int sq_data_version(int64_t *v, tpa_store *p)
{
	sq_store *s = (sq_store *)p;

	return scalar(v, s, s->pg ? "SELECT v FROM tpa_data_version" : "PRAGMA data_version",
		      "data version");
}

static int sq_bytes(int64_t *n, tpa_store *p)
{
	sq_store *s = (sq_store *)p;

	/* PostgreSQL: the tables of the registry's schema with their indexes
	 * and TOAST, not the WAL (the server's, shared). */
	return scalar(n, s, s->pg ? "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) "
		      "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
		      "n.nspname = current_schema() AND c.relkind = 'r'" :
		      "SELECT page_count * page_size FROM pragma_page_count(), "
		      "pragma_page_size()", "registry size");
}

static const tpa_store_ops sq_ops = {
	.close = sq_close,
	.enroll = sq_enroll,
	.get = sq_get,
	.find_by_ak = sq_find_by_ak,
	.set_state = sq_set_state,
	.remove = sq_remove,
	.record = sq_record,
	.list = sq_list,
	.audit_count = sq_audit_count,
	.baseline_add = sq_baseline_add,
	.baseline_get = sq_baseline_get,
	.baseline_list = sq_baseline_list,
	.assign = sq_assign,
	.set_label = sq_set_label,
	.baseline_for = sq_baseline_for,
	.last_evidence = sq_last_evidence,
	.set_manufacturer = sq_set_manufacturer,
	.last_token = sq_last_token,
	.seal_key = sq_seal_key,
	.consume = sq_consume,
	.resolve = sq_resolve,
	.audit_state = sq_audit_state,
	.audit_rows = sq_audit_rows,
	.audit_heads = sq_audit_heads,
	.audit_add_head = sq_audit_add_head,
	.find_device = sq_find_device,
	.tombstoned = sq_tombstoned,
	.untombstone = sq_untombstone,
	.backup = sq_backup,
	.set_host = sq_set_host,
	.check = sq_check,
	.assign_version = sq_assign_version,
	.baseline_versions = sq_baseline_versions,
	.assignments = sq_assignments,
	.enroll_admitted = enroll_tx,
	.approve = sq_approve,
	.inventory_put = sq_inventory_put,
	.inventory_remove = sq_inventory_remove,
	.inventory_get = sq_inventory_get,
	.inventory_list = sq_inventory_list,
	.cert_bind = sq_cert_bind,
	.cert_unbind = sq_cert_unbind,
	.cert_find = sq_cert_find,
	.cert_list = sq_cert_list,
	.session_put = sq_session_put,
	.session_stop = sq_session_stop,
	.sessions = sq_sessions,
	.notified_list = sq_notified_list,
	.notify_commit = sq_notify_commit,
	.outbox_due = sq_outbox_due,
	.outbox_next = sq_outbox_next,
	.outbox_done = sq_outbox_done,
	.outbox_retry = sq_outbox_retry,
	.outbox_count = sq_outbox_count,
	.audit_note = sq_audit_note,
	.data_version = sq_data_version,
	.bytes = sq_bytes,
	.audit_prune = sq_audit_prune,
	.evidence_prune = sq_evidence_prune,
};

/* The schema version of the file: 0 for a new one. */
static int read_version(int *version, sq_store *s)
{
	sqldb_stmt *st;
	int err;

	*version = 0;
	if ((err = prepare(&st, s, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
			   "name = 'schema_version'", "")) < 0 || (err = exists(s, st)) <= 0)
		return err;
	if ((err = prepare(&st, s, "SELECT max(version) FROM schema_version", "")) < 0)
		return err;
	if ((err = step_one(s, st)) == 1)
		*version = (int)sqldb_column_int(st, 0);
	release(s, st);
	return err < 0 ? err : 0;
}

static int too_new(sq_store *s, int version)
{
	return tpa_err_fail(TPA_ERR_IO,
			    "registry %s: schema version %d is newer than this verifier's %d",
			    s->path, version, TPA_STORE_SCHEMA_VERSION);
}

static int exec_all(sq_store *s, const char *const *sql, size_t n)
{
	size_t i;
	int err = 0;

	for (i = 0; i < n && err == 0; i++)
		err = exec(s, sql[i]);
	return err;
}

/* One device of a registry before schema 4, and the id its key gives. */
typedef struct {
	char old[TPA_DEVICE_ID_LEN + 1];
	char id[TPA_DEVICE_ID_LEN + 1];
	int revoked, genuine;          /* a TCG EK template, or only the key matches */
	int64_t enrolled_at, last_attest_at, state_changed_at;
} old_device;

static int old_cmp(const void *a, const void *b)
{
	const old_device *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c ? c : strcmp(x->old, y->old);
}

/* Moves what one old id holds to the new id (whose row exists) and keeps
 * the old id as an alias. The first old id moved keeps its last evidence
 * and its baseline assignment; later ones only add what is missing. */
static int move_device(sq_store *s, const char *old, const char *id, int64_t now)
{
	sqldb_stmt *st;
	int err;

	if ((err = prepare(&st, s, "UPDATE aks SET device_id = ? WHERE device_id = ?", "tt", id,
			   old)) < 0 || (err = run(s, st, NULL)) < 0 ||
	    (err = prepare(&st, s, "UPDATE OR IGNORE evidence SET device_id = ? WHERE "
			   "device_id = ?", "tt", id, old)) < 0 || (err = run(s, st, NULL)) < 0 ||
	    (err = prepare(&st, s, "UPDATE OR IGNORE assignments SET target = ? WHERE "
			   "kind = 'device' AND target = ?", "tt", id, old)) < 0 ||
	    (err = run(s, st, NULL)) < 0)
		return err;
	if ((err = prepare(&st, s, "DELETE FROM devices WHERE id = ?", "t", old)) < 0 ||
	    (err = run(s, st, NULL)) < 0)
		return err;
	if ((err = prepare(&st, s, "INSERT INTO device_aliases(alias, device_id, added_at) "
			   "VALUES(?, ?, ?)", "tti", old, id, now)) < 0)
		return err;
	return run(s, st, NULL);
}

/* One device under its new id from the members of a group (same key):
 * the row of the most recent attestation, the EK public area of a genuine
 * template, revoked if any member was. */
static int merge_group(sq_store *s, const old_device *g, size_t n, int64_t now)
{
	size_t i, last = 0, key = 0;
	int revoked = 0, err;
	int64_t enrolled = g[0].enrolled_at, changed = 0;
	char detail[1024];
	size_t o;
	sqldb_stmt *st;

	for (i = 0; i < n; i++) {
		if (g[i].last_attest_at > g[last].last_attest_at)
			last = i;
		if (g[i].genuine && !g[key].genuine)
			key = i;
		revoked |= g[i].revoked;
		if (g[i].enrolled_at < enrolled)
			enrolled = g[i].enrolled_at;
		if (g[i].state_changed_at > changed)
			changed = g[i].state_changed_at;
	}
	if ((err = prepare(&st, s,
			   "INSERT INTO devices(id, ek_public, ek_cert, state, enrolled_at, "
			   "last_attest_at, last_verdict, label, last_outcome, last_baseline, "
			   "tpm_manufacturer, state_changed_at, last_token, last_token_exp) "
			   "SELECT ?1, k.ek_public, k.ek_cert, ?2, ?3, p.last_attest_at, "
			   "p.last_verdict, coalesce(p.label, k.label), p.last_outcome, "
			   "p.last_baseline, coalesce(p.tpm_manufacturer, k.tpm_manufacturer), "
			   "nullif(?4, 0), p.last_token, p.last_token_exp "
			   "FROM devices p, devices k WHERE p.id = ?5 AND k.id = ?6", "ttiitt",
			   g[0].id, revoked ? "revoked" : "active", enrolled, changed, g[last].old,
			   g[key].old)) < 0 || (err = run(s, st, NULL)) < 0)
		return err;
	/* The most recent attestation's evidence and assignment win. */
	if ((err = move_device(s, g[last].old, g[last].id, now)) < 0)
		return err;
	o = (size_t)snprintf(detail, sizeof(detail), "device id from the EK's key; was");
	for (i = 0; i < n; i++) {
		if (i != last && (err = move_device(s, g[i].old, g[i].id, now)) < 0)
			return err;
		if (o < sizeof(detail))
			o += (size_t)snprintf(detail + o, sizeof(detail) - o, "%s %.16s...%s",
					      i ? "," : "", g[i].old, g[i].revoked ? " (revoked)" : "");
	}
	if (n > 1 && o < sizeof(detail))
		snprintf(detail + o, sizeof(detail) - o, ": %zu ids of one TPM merged%s", n,
			 revoked ? ", revoked as one of them was" : "");
	return audit(s, g[0].id, "migrate", detail, now);
}

/* Schema 4: every device gets the id its EK's key gives. */
static int migrate_ids(sq_store *s)
{
	sqldb_stmt *st;
	old_device *v = NULL, *nv;
	size_t n = 0, cap = 0, i, j;
	int64_t now = (int64_t)time(NULL);
	int err = 0, rc;

	if ((err = prepare(&st, s, "SELECT id, ek_public, state, enrolled_at, "
			   "coalesce(last_attest_at, 0), coalesce(state_changed_at, 0) "
			   "FROM devices ORDER BY id", "")) < 0)
		return err;
	while ((rc = sqldb_step(st)) == 1) {
		const uint8_t *ek = sqldb_column_blob(st, 1);
		size_t len = (size_t)(int)sqldb_column_bytes(st, 1);
		TPMT_PUBLIC pub;

		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			if (!(nv = realloc(v, cap * sizeof(*v)))) {
				err = tpa_err_fail(TPA_ERR_NOMEM, "registry migration: out of memory");
				break;
			}
			v = nv;
		}
		memset(&v[n], 0, sizeof(v[n]));
		snprintf(v[n].old, sizeof(v[n].old), "%s", (const char *)sqldb_column_text(st, 0));
		if (!ek || tpa_decode_public(&pub, ek, len) < 0 || tpa_ek_device_id(v[n].id, &pub) < 0) {
			err = tpa_err_fail(TPA_ERR_IO, "registry %s: device %.16s...: its EK public "
					   "area cannot be read: %s", s->path, v[n].old, tpa_err_last());
			break;
		}
		v[n].genuine = tpa_ek_check_template(NULL, &pub) == 0;
		v[n].revoked = strcmp((const char *)sqldb_column_text(st, 2), "revoked") == 0;
		v[n].enrolled_at = sqldb_column_int(st, 3);
		v[n].last_attest_at = sqldb_column_int(st, 4);
		v[n].state_changed_at = sqldb_column_int(st, 5);
		n++;
	}
	if (!err && rc != 0)
		err = sq_fail(s, "read");
	release(s, st);
	tpa_err_clear();
	if (!err && n)
		qsort(v, n, sizeof(*v), old_cmp);
	for (i = 0; !err && i < n; i = j) {
		for (j = i + 1; j < n && strcmp(v[j].id, v[i].id) == 0; j++)
			;
		err = merge_group(s, v + i, j - i, now);
	}
	free(v);
	return err;
}

/* Schema 5: the rows there are chained in seq order, as audit() would
 * have written them (one at a time: the table is written as it is read). */
static int chain_rows(sq_store *s)
{
	uint8_t prev[TPA_AUDIT_HASH_LEN] = { 0 }, hash[TPA_AUDIT_HASH_LEN];
	int64_t after = INT64_MIN;
	tpa_audit_row r;
	sqldb_stmt *st;
	int err, rc;

	if ((err = exec(s, "DROP TRIGGER audit_no_update")) < 0)
		return err;
	for (;;) {
		if ((err = prepare(&st, s, "SELECT " AUDIT_COLUMNS " FROM audit WHERE seq > ? "
				   "ORDER BY seq LIMIT 1", "i", after)) < 0)
			return err;
		if ((rc = step_one(s, st)) == 1) {
			row_from(&r, st);
			r.prev_hash = prev;
			r.prev_hash_len = sizeof(prev);
			if ((err = tpa_audit_row_hash(hash, &r)) < 0)
				rc = err;
			after = r.seq;
		}
		release(s, st);
		if (rc <= 0)
			break;
		if ((err = prepare(&st, s, "UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?",
				   "bbi", (const void *)prev, sizeof(prev), (const void *)hash,
				   sizeof(hash), after)) < 0 || (err = run(s, st, NULL)) < 0)
			return err;
		memcpy(prev, hash, sizeof(prev));
	}
	return rc < 0 ? rc : exec(s, AUDIT_NO_UPDATE);
}

/* Migrates the file to TPA_STORE_SCHEMA_VERSION in one transaction (an
 * empty one through every version); a file already there is not written. */
static int migrate(sq_store *s)
{
	int version, err;

	if ((err = read_version(&version, s)) < 0)
		return err;
	if (version > TPA_STORE_SCHEMA_VERSION)
		return too_new(s, version);
	if (version == TPA_STORE_SCHEMA_VERSION) {
		s->chained = 1;
		return 0;
	}
	if ((err = begin(s)) < 0)
		return err;
	/* Again under the write lock: another process may have migrated it. */
	if ((err = read_version(&version, s)) < 0)
		goto done;
	if (version > TPA_STORE_SCHEMA_VERSION) {
		err = too_new(s, version);
		goto done;
	}
	if (version < 1 &&
	    ((err = exec(s, "CREATE TABLE IF NOT EXISTS schema_version("
			 "version INTEGER NOT NULL)")) < 0 ||
	     (err = exec_all(s, schema_v1, sizeof(schema_v1) / sizeof(schema_v1[0]))) < 0 ||
	     (err = exec(s, "INSERT INTO schema_version(version) VALUES(1)")) < 0))
		goto done;
	if (version < 2 &&
	    ((err = exec_all(s, schema_v2, sizeof(schema_v2) / sizeof(schema_v2[0]))) < 0 ||
	     (err = exec(s, "INSERT INTO schema_version(version) VALUES(2)")) < 0))
		goto done;
	if (version < 3 &&
	    ((err = exec_all(s, schema_v3, sizeof(schema_v3) / sizeof(schema_v3[0]))) < 0 ||
	     (err = exec(s, "INSERT INTO schema_version(version) VALUES(3)")) < 0))
		goto done;
	if (version < 4 &&
	    ((err = exec_all(s, schema_v4, sizeof(schema_v4) / sizeof(schema_v4[0]))) < 0 ||
	     (err = migrate_ids(s)) < 0 ||
	     (err = exec(s, "INSERT INTO schema_version(version) VALUES(4)")) < 0))
		goto done;
	if (version < 5 &&
	    ((err = exec_all(s, schema_v5, sizeof(schema_v5) / sizeof(schema_v5[0]))) < 0 ||
	     (err = chain_rows(s)) < 0 ||
	     (err = exec(s, "INSERT INTO schema_version(version) VALUES(5)")) < 0))
		goto done;
	if (version < 6 &&
	    ((err = exec_all(s, schema_v6, sizeof(schema_v6) / sizeof(schema_v6[0]))) < 0 ||
	     (err = exec(s, "INSERT INTO schema_version(version) VALUES(6)")) < 0))
		goto done;
	if (version < 7 &&
	    ((err = exec_all(s, schema_v7, sizeof(schema_v7) / sizeof(schema_v7[0]))) < 0 ||
	     (err = exec(s, "INSERT INTO schema_version(version) VALUES(7)")) < 0))
		goto done;
	if (version < 8 &&
	    ((err = exec_all(s, schema_v8, sizeof(schema_v8) / sizeof(schema_v8[0]))) < 0 ||
	     (err = exec(s, "INSERT INTO schema_version(version) VALUES(8)")) < 0))
		goto done;
done:
	if ((err = finish(s, err)) == 0)
		s->chained = 1;
	return err;
}

/* The registry holds the sealing key (and EK certificates, tokens): it is
 * created 0600, never through a symlink, and a file from before that is
 * readable by others is made 0600, with its WAL and shared-memory files
 * (SQLite gives those the database file's mode). */
static int private_file(const char *path, int create)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	char p[4096];
	struct stat st;
	size_t i;
	int fd;

	if (create) {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (errno != EEXIST)
			return tpa_err_fail(TPA_ERR_IO, "registry %s: cannot create: %s", path,
					    strerror(errno));
	}
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s%s", path, suffixes[i]) >= sizeof(p))
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "registry: path too long");
		if ((fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			if (errno == ENOENT && i > 0)
				continue;
			/* An admin command's typo must not become a new, empty
			 * registry: only serve creates one. */
			if (errno == ENOENT)
				return tpa_err_fail(TPA_ERR_NOT_FOUND, "registry %s does not exist "
						    "(verifier serve --registry creates one)", path);
			return tpa_err_fail(TPA_ERR_IO, "registry %s: %s", p,
					    errno == ELOOP ? "is a symbolic link" : strerror(errno));
		}
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			return tpa_err_fail(TPA_ERR_IO, "registry %s: not a regular file", p);
		}
		if ((st.st_mode & 077) && fchmod(fd, st.st_mode & 0700) < 0) {
			close(fd);
			return tpa_err_fail(TPA_ERR_IO, "registry %s: others may read it, and "
					    "it cannot be made private: %s", p, strerror(errno));
		}
		close(fd);
	}
	return 0;
}

/* Before anything writes to it: a file with tables but no schema_version
 * is another program's database, never turned into a registry (nor put in
 * WAL mode); an empty one is a registry only for serve, which creates. */
static int registry_or_new(sq_store *s, int create)
{
	sqldb_stmt *st;
	int err, tables = 0, versioned = 0;

	if ((err = prepare(&st, s, "SELECT count(*), coalesce(sum(name = 'schema_version'), 0) "
			   "FROM sqlite_master WHERE type = 'table'", "")) < 0)
		return tpa_err_fail(TPA_ERR_IO, "registry %s: not an SQLite database, or "
				    "damaged: %s", s->path, sqldb_errmsg(s->db));
	if ((err = step_one(s, st)) == 1) {
		tables = (int)sqldb_column_int(st, 0);
		versioned = (int)sqldb_column_int(st, 1);
	}
	release(s, st);
	if (err < 0)
		return err;
	if (versioned)
		return 0;
	if (tables)
		return tpa_err_fail(TPA_ERR_PARSE, "registry %s: an SQLite database, but not a "
				    "registry (no schema_version table): left as it is", s->path);
	if (!create)
		return tpa_err_fail(TPA_ERR_NOT_FOUND, "registry %s is empty, not a registry "
				    "(verifier serve --registry creates one)", s->path);
	return 0;
}

/* The registry files this process has open, by device and inode. POSIX
 * record locks belong to the process, and closing any descriptor of a file
 * drops all of them: private_file's open and close while another
 * connection of this process holds SQLite's locks on the same file would
 * drop those locks and let two writers in (SQLite's "How To Corrupt"
 * section 2.2). So a file open already is not opened again here: it was
 * checked when it was first opened. */
#define OPEN_FILES_MAX 64
static pthread_mutex_t open_files_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	dev_t dev;
	ino_t ino;
	unsigned refs;
} open_files[OPEN_FILES_MAX];

/* 1 if path (not followed) is a file this process has open. */
static int open_already(const char *path)
{
	struct stat st;
	size_t i;
	int found = 0;

	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	pthread_mutex_lock(&open_files_lock);
	for (i = 0; i < OPEN_FILES_MAX && !found; i++)
		found = open_files[i].refs && open_files[i].dev == st.st_dev &&
			open_files[i].ino == st.st_ino;
	pthread_mutex_unlock(&open_files_lock);
	return found;
}

static void open_files_ref(sq_store *s, int delta)
{
	size_t i, free_slot = OPEN_FILES_MAX;

	pthread_mutex_lock(&open_files_lock);
	for (i = 0; i < OPEN_FILES_MAX; i++) {
		if (open_files[i].refs && open_files[i].dev == s->dev &&
		    open_files[i].ino == s->ino) {
			open_files[i].refs = (unsigned)((int)open_files[i].refs + delta);
			pthread_mutex_unlock(&open_files_lock);
			return;
		}
		if (!open_files[i].refs && free_slot == OPEN_FILES_MAX)
			free_slot = i;
	}
	if (delta > 0 && free_slot < OPEN_FILES_MAX) {
		open_files[free_slot].dev = s->dev;
		open_files[free_slot].ino = s->ino;
		open_files[free_slot].refs = 1;
	}
	pthread_mutex_unlock(&open_files_lock);
}

int tpa_store_is_server(const tpa_store *p)
{
	return p && p->ops == &sq_ops && ((const sq_store *)p)->pg;
}

int store_sql__is_pg_url(const char *where)
{
	return strncmp(where, "postgresql://", 13) == 0 || strncmp(where, "postgres://", 11) == 0;
}

/* A file that holds a PostgreSQL connection string (so that a password is
 * in no command line): 1 and *conninfo (to be freed) if path is one, 0 if
 * it is anything else (an SQLite registry, or nothing yet), or an error
 * for one that is not private or too long. A file this process has open
 * as a registry is not opened again to look: closing that descriptor would
 * drop SQLite's locks on it (see open_files). */
#define CONNFILE_MAX 4096
int store_sql__connfile(char **conninfo, const char *path)
{
	char buf[CONNFILE_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd;

	*conninfo = NULL;
	if (open_already(path) || (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	while (len < sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	if (!store_sql__is_pg_url(buf)) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return 0;
	}
	if (len == sizeof(buf) - 1) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return tpa_err_fail(TPA_ERR_LIMIT, "registry %s: a connection string of more than "
				    "%d bytes", path, CONNFILE_MAX - 1);
	}
	if (st.st_mode & 077) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return tpa_err_fail(TPA_ERR_IO, "registry %s: the connection string may hold a "
				    "password and others may read it (chmod 600)", path);
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
		       buf[len - 1] == '\t'))
		buf[--len] = '\0';
	if (memchr(buf, '\n', len)) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return tpa_err_fail(TPA_ERR_PARSE, "registry %s: a connection string is one line",
				    path);
	}
	*conninfo = strdup(buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	return *conninfo ? 1 : tpa_err_fail(TPA_ERR_NOMEM, "registry: out of memory");
}

static int sq_open(tpa_store **out, const char *path, int create)
{
	sq_store *s;
	struct stat st;
	const char *msg;
	int err;

	if (!out || !path || !*path)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "registry: no path");
	if (!(s = calloc(1, sizeof(*s))))
		return tpa_err_fail(TPA_ERR_NOMEM, "registry: out of memory");
	s->public.ops = &sq_ops;
	snprintf(s->path, sizeof(s->path), "%s", path);
	pthread_mutex_init(&s->lock, NULL);
	queue_init(s);
	if (!open_already(path) && (err = private_file(path, create)) < 0)
		goto fail;
	if (sqldb__sqlite_open(&s->db, path, create ? SQLDB_SQLITE_CREATE : 0, &msg) < 0) {
		err = tpa_err_fail(TPA_ERR_IO, "registry %s: cannot open: %s", path, msg);
		goto fail;
	}
	if ((err = registry_or_new(s, create)) < 0 ||
	    (err = exec(s, "PRAGMA foreign_keys = ON")) < 0 ||
	    (err = exec(s, "PRAGMA journal_mode = WAL")) < 0 ||
	    (err = exec(s, "PRAGMA synchronous = FULL")) < 0 ||
	    (err = migrate(s)) < 0)
		goto fail;
	if (lstat(path, &st) == 0) {
		s->dev = st.st_dev;
		s->ino = st.st_ino;
		s->counted = 1;
		open_files_ref(s, 1);
	}
	*out = &s->public;
	return 0;
fail:
	sqldb_close(s->db);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->q_lock);
	pthread_cond_destroy(&s->q_cv);
	free(s);
	return err;
}

/* The registry on PostgreSQL: the schema of TPA_STORE_SCHEMA_VERSION in one
 * step (no PostgreSQL registry of an older schema ever existed; a later
 * version adds its step to both engines). The same tables, columns, keys
 * and checks as the SQLite file's, in PostgreSQL's words: integers are
 * bigint, bytes bytea, a GLOB class a regular expression; the append-only
 * and reference triggers call functions; sessions keep a rowid of their
 * own (SQLite's implicit one orders them). Every write transaction of the
 * verifier advances tpa_data_version as it commits (finish), so that a
 * reader who sees the new number sees what changed (tpa_store_data_version;
 * SQL run by hand beside the verifier does not). */
#define PG_TOKEN_OK(c) "(length(" c ") BETWEEN 1 AND 64 AND " c " !~ '[^A-Za-z0-9._-]')"
#define PG_PRINTABLE(c) c " !~ '[^ -~]'"
#define PG_TEXT_OK(c, n) "(" c " IS NULL OR (octet_length(" c ") BETWEEN 1 AND " #n \
	" AND " PG_PRINTABLE(c) "))"
#define PG_ID_OK(c) "(length(" c ") = 64 AND " c " !~ '[^0-9a-f]')"
#define PG_HASH_OK(c) "(octet_length(" c ") = 32)"
#define PG_REFUSE(trg, tbl, what, msg) \
	"CREATE TRIGGER " trg " BEFORE " what " ON " tbl \
	" FOR EACH STATEMENT EXECUTE FUNCTION tpa_refuse('" msg "')"
static const char *const pg_schema[] = {
	"CREATE TABLE schema_version(version BIGINT NOT NULL)",
	"CREATE TABLE tpa_data_version(v BIGINT NOT NULL)",
	"INSERT INTO tpa_data_version(v) VALUES(1)",
	"CREATE FUNCTION tpa_refuse() RETURNS trigger LANGUAGE plpgsql AS $$"
	" BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$",
	"CREATE TABLE devices("
	" id TEXT PRIMARY KEY CHECK(length(id) = 64),"
	" ek_public BYTEA NOT NULL,"
	" ek_cert BYTEA,"
	" state TEXT NOT NULL CHECK(state IN ('active', 'revoked')),"
	" enrolled_at BIGINT NOT NULL,"
	" last_attest_at BIGINT,"
	" last_verdict TEXT,"
	" label TEXT CHECK(label IS NULL OR " PG_TOKEN_OK("label") "),"
	" last_outcome TEXT CHECK(last_outcome IS NULL OR"
	"  last_outcome IN ('compliant', 'warning', 'non-compliant', 'no-baseline')),"
	" last_baseline TEXT,"
	" tpm_manufacturer TEXT CHECK(tpm_manufacturer IS NULL OR"
	"  (length(tpm_manufacturer) BETWEEN 1 AND 15 AND " PG_PRINTABLE("tpm_manufacturer") ")),"
	" state_changed_at BIGINT,"
	" last_token TEXT CHECK(last_token IS NULL OR (octet_length(last_token) BETWEEN 1 AND"
	"  16384 AND " PG_PRINTABLE("last_token") ")),"
	" last_token_exp BIGINT CHECK((last_token_exp IS NULL) = (last_token IS NULL) AND"
	"  (last_token_exp IS NULL OR last_token_exp >= 0)),"
	" hostname TEXT CHECK" PG_TEXT_OK("hostname", 255) ","
	" machine_id TEXT CHECK(machine_id IS NULL OR (length(machine_id) = 32"
	"  AND machine_id !~ '[^0-9a-f]')),"
	" dmi_product TEXT CHECK" PG_TEXT_OK("dmi_product", 128) ","
	" dmi_serial TEXT CHECK" PG_TEXT_OK("dmi_serial", 128) ","
	" first_seen BIGINT,"
	" last_seen BIGINT,"
	" pending BIGINT NOT NULL DEFAULT 0 CHECK(pending IN (0, 1)),"
	" admission TEXT CHECK(admission IS NULL OR admission IN ('open', 'approved', 'allowlist')),"
	" ek_cert_source TEXT CHECK(ek_cert_source IS NULL OR"
	"  ek_cert_source IN ('nv', 'file', 'none')))",
	"CREATE INDEX devices_hostname ON devices(lower(hostname))",
	"CREATE TABLE aks("
	" name TEXT PRIMARY KEY,"
	" device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
	" public BYTEA NOT NULL,"
	" registered_at BIGINT NOT NULL)",
	"CREATE INDEX aks_device ON aks(device_id)",
	"CREATE TABLE audit("
	" seq BIGINT PRIMARY KEY CHECK(seq >= 1),"
	" at BIGINT NOT NULL,"
	" device_id TEXT,"
	" event TEXT NOT NULL,"
	" detail TEXT NOT NULL,"
	" prev_hash BYTEA NOT NULL CHECK" PG_HASH_OK("prev_hash") ","
	" hash BYTEA NOT NULL CHECK" PG_HASH_OK("hash") ")",
	PG_REFUSE("audit_append_only", "audit", "UPDATE OR DELETE OR TRUNCATE",
		  "the audit log is append-only"),
	"CREATE TABLE baselines("
	" name TEXT NOT NULL CHECK" PG_TOKEN_OK("name") ","
	" version BIGINT NOT NULL CHECK(version >= 1),"
	" body TEXT NOT NULL CHECK(octet_length(body) BETWEEN 1 AND 1048576),"
	" added_at BIGINT NOT NULL,"
	" PRIMARY KEY(name, version))",
	PG_REFUSE("baselines_append_only", "baselines", "UPDATE OR DELETE OR TRUNCATE",
		  "baselines are append-only"),
	"CREATE TABLE assignments("
	" kind TEXT NOT NULL CHECK(kind IN ('device', 'label')),"
	" target TEXT NOT NULL CHECK((kind = 'device' AND " PG_ID_OK("target") ")"
	"  OR (kind = 'label' AND " PG_TOKEN_OK("target") ")),"
	" baseline TEXT NOT NULL CHECK" PG_TOKEN_OK("baseline") ","
	" assigned_at BIGINT NOT NULL,"
	" version BIGINT CHECK(version IS NULL OR version >= 1),"
	" PRIMARY KEY(kind, target))",
	/* Baseline names are not unique rows, so no foreign key: a trigger. */
	"CREATE FUNCTION tpa_assignment_check() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" IF NOT EXISTS(SELECT 1 FROM baselines WHERE name = NEW.baseline) THEN"
	"  RAISE EXCEPTION 'no such baseline'; END IF;"
	" IF NEW.kind = 'device' AND NOT EXISTS(SELECT 1 FROM devices WHERE id = NEW.target) THEN"
	"  RAISE EXCEPTION 'no such device'; END IF;"
	" RETURN NEW; END $$",
	"CREATE TRIGGER assignments_check BEFORE INSERT OR UPDATE ON assignments"
	" FOR EACH ROW EXECUTE FUNCTION tpa_assignment_check()",
	"CREATE FUNCTION tpa_device_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	" DELETE FROM assignments WHERE kind = 'device' AND target = OLD.id; RETURN OLD; END $$",
	"CREATE TRIGGER devices_delete_assignment AFTER DELETE ON devices"
	" FOR EACH ROW EXECUTE FUNCTION tpa_device_deleted()",
	"CREATE TABLE evidence("
	" device_id TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,"
	" event_log BYTEA CHECK(event_log IS NULL OR octet_length(event_log) BETWEEN 1 AND 1048576),"
	" pcrs_json TEXT CHECK(pcrs_json IS NULL OR octet_length(pcrs_json) BETWEEN 1 AND 65536))",
	"CREATE TABLE device_aliases("
	" alias TEXT PRIMARY KEY CHECK" PG_ID_OK("alias") ","
	" device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
	" added_at BIGINT NOT NULL)",
	"CREATE INDEX device_aliases_device ON device_aliases(device_id)",
	"CREATE TABLE used_seals("
	" tag BYTEA PRIMARY KEY CHECK(octet_length(tag) = 16),"
	" expires_at BIGINT NOT NULL)",
	"CREATE INDEX used_seals_expiry ON used_seals(expires_at)",
	"CREATE TABLE secrets("
	" name TEXT PRIMARY KEY,"
	" value BYTEA NOT NULL)",
	"CREATE TABLE audit_heads("
	" seq BIGINT PRIMARY KEY CHECK(seq >= 1),"
	" hash BYTEA NOT NULL CHECK" PG_HASH_OK("hash") ","
	" signed_at BIGINT NOT NULL,"
	" kid TEXT NOT NULL CHECK(length(kid) BETWEEN 1 AND 64),"
	" jws TEXT NOT NULL CHECK(octet_length(jws) BETWEEN 1 AND 16384))",
	PG_REFUSE("audit_heads_append_only", "audit_heads", "UPDATE OR DELETE OR TRUNCATE",
		  "signed heads are append-only"),
	"CREATE TABLE tombstones("
	" device_id TEXT PRIMARY KEY CHECK" PG_ID_OK("device_id") ","
	" revoked_at BIGINT,"
	" deleted_at BIGINT NOT NULL,"
	" hostname TEXT CHECK" PG_TEXT_OK("hostname", 255) ")",
	"CREATE TABLE inventory("
	" kind TEXT NOT NULL CHECK(kind IN ('device', 'ek-cert')),"
	" value TEXT NOT NULL CHECK(octet_length(value) BETWEEN 1 AND 1024 AND "
	PG_PRINTABLE("value") "),"
	" name TEXT CHECK" PG_TEXT_OK("name", 255) ","
	" label TEXT CHECK(label IS NULL OR " PG_TOKEN_OK("label") "),"
	" no_ek_cert BIGINT NOT NULL DEFAULT 0 CHECK(no_ek_cert IN (0, 1)),"
	" added_at BIGINT NOT NULL,"
	" PRIMARY KEY(kind, value),"
	" CHECK(kind <> 'device' OR " PG_ID_OK("value") "),"
	" CHECK(no_ek_cert = 0 OR kind = 'device'))",
	"CREATE TABLE device_certs("
	" issuer TEXT NOT NULL CHECK" PG_TEXT_OK("issuer", 512) ","
	" serial TEXT NOT NULL CHECK(length(serial) BETWEEN 2 AND 64"
	"  AND length(serial) % 2 = 0 AND serial !~ '[^0-9a-f]'),"
	" device_id TEXT NOT NULL CHECK" PG_ID_OK("device_id")
	"  REFERENCES devices(id) ON DELETE CASCADE,"
	" sha256 TEXT NOT NULL CHECK" PG_ID_OK("sha256") ","
	" not_after BIGINT NOT NULL,"
	" added_at BIGINT NOT NULL,"
	" PRIMARY KEY(issuer, serial))",
	"CREATE INDEX device_certs_device ON device_certs(device_id)",
	"CREATE TABLE sessions("
	" rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,"
	" nas_ip TEXT NOT NULL CHECK" PG_TEXT_OK("nas_ip", 63) ","
	" session_id TEXT NOT NULL CHECK" PG_TEXT_OK("session_id", 253) ","
	" device_id TEXT NOT NULL CHECK" PG_ID_OK("device_id") ","
	" nas_identifier TEXT CHECK" PG_TEXT_OK("nas_identifier", 253) ","
	" nas_port TEXT CHECK" PG_TEXT_OK("nas_port", 253) ","
	" calling_station TEXT CHECK" PG_TEXT_OK("calling_station", 253) ","
	" user_name TEXT CHECK" PG_TEXT_OK("user_name", 253) ","
	" started_at BIGINT NOT NULL,"
	" updated_at BIGINT NOT NULL,"
	" PRIMARY KEY(nas_ip, session_id))",
	"CREATE INDEX sessions_device ON sessions(device_id)",
	"CREATE TABLE notified("
	" device_id TEXT PRIMARY KEY CHECK" PG_ID_OK("device_id") ","
	" compliant BIGINT NOT NULL CHECK(compliant IN (0, 1)),"
	" reason TEXT CHECK" PG_TEXT_OK("reason", 255) ","
	" at BIGINT NOT NULL)",
	"CREATE TABLE outbox("
	" id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	" kind TEXT NOT NULL CHECK(kind IN ('caep', 'radius')),"
	" target TEXT NOT NULL CHECK" PG_TEXT_OK("target", 512) ","
	" device_id TEXT NOT NULL CHECK" PG_ID_OK("device_id") ","
	" body TEXT NOT NULL CHECK(octet_length(body) BETWEEN 1 AND 65536 AND"
	"  body !~ ('[^ -~' || chr(9) || chr(10) || chr(13) || ']')),"
	" created_at BIGINT NOT NULL,"
	" next_at BIGINT NOT NULL,"
	" attempts BIGINT NOT NULL DEFAULT 0 CHECK(attempts >= 0),"
	" last_error TEXT CHECK" PG_TEXT_OK("last_error", 255) ")",
	"CREATE INDEX outbox_due ON outbox(kind, target, next_at)",
};
#undef PG_REFUSE
#undef PG_HASH_OK
#undef PG_ID_OK
#undef PG_TEXT_OK
#undef PG_PRINTABLE
#undef PG_TOKEN_OK

/* The schema version in the connection's schema (search_path): 0 for a
 * database with no registry yet; tables there but no schema_version is
 * another program's database, never turned into a registry. */
static int pg_read_version(int *version, int *tables, sq_store *s)
{
	sqldb_stmt *st;
	int err;

	*version = 0;
	*tables = 0;
	if ((err = prepare(&st, s, "SELECT count(*), coalesce(sum(CASE WHEN tablename = "
			   "'schema_version' THEN 1 ELSE 0 END), 0) FROM pg_tables WHERE "
			   "schemaname = current_schema()", "")) < 0)
		return err;
	if ((err = step_one(s, st)) == 1) {
		*tables = (int)sqldb_column_int(st, 0);
		err = (int)sqldb_column_int(st, 1);
	}
	release(s, st);
	if (err <= 0)
		return err;
	if ((err = prepare(&st, s, "SELECT coalesce(max(version), 0) FROM schema_version",
			   "")) < 0)
		return err;
	if ((err = step_one(s, st)) == 1)
		*version = (int)sqldb_column_int(st, 0);
	release(s, st);
	return err < 0 ? err : 0;
}

/* create: 1 makes the schema in an empty one (serve); 0 does not (admin
 * commands); PG_AS_IT_IS migrates nothing either (registry check reads the
 * schema as it finds it and says what a verifier would migrate). The first
 * PostgreSQL registries were of schema 7; 8 changed a CHECK on SQLite only
 * (schema_v8), and is the number alone here. */
#define PG_AS_IT_IS (-1)
#define PG_FIRST_VERSION 7
static int pg_version_known(sq_store *s, int version)
{
	if (version > TPA_STORE_SCHEMA_VERSION)
		return too_new(s, version);
	if (version != 0 && version < PG_FIRST_VERSION)
		return tpa_err_fail(TPA_ERR_PARSE, "registry %s: schema version %d on PostgreSQL "
				    "is none this verifier made (PostgreSQL registries begin at %d)",
				    s->path, version, PG_FIRST_VERSION);
	return 0;
}

static int pg_migrate(sq_store *s, int create)
{
	int version, tables, err;
	char sql[160];

	if ((err = pg_read_version(&version, &tables, s)) < 0)
		return err;
	if (version == TPA_STORE_SCHEMA_VERSION)
		return 0;
	if ((err = pg_version_known(s, version)) < 0)
		return err;
	if (create <= 0 && version == 0)
		return tpa_err_fail(TPA_ERR_NOT_FOUND, "registry %s holds no registry (verifier "
				    "serve --registry creates one)", s->path);
	if (create == PG_AS_IT_IS)
		return 0;
	if ((err = begin(s)) < 0)
		return err;
	/* Again under the write lock: another replica may have created or
	 * migrated it. */
	if ((err = pg_read_version(&version, &tables, s)) < 0 ||
	    version == TPA_STORE_SCHEMA_VERSION || (err = pg_version_known(s, version)) < 0)
		goto done;
	/* Replicas of a verifier before 8 refuse the registry from their
	 * next start: every replica sharing it is upgraded together. */
	if (version == 7) {
		err = exec(s, "INSERT INTO schema_version(version) VALUES(8)");
		goto done;
	}
	if (tables) {
		err = tpa_err_fail(TPA_ERR_PARSE, "registry %s: the schema holds %d tables but no "
				   "schema_version: another program's, left as it is", s->path,
				   tables);
		goto done;
	}
	if ((err = exec_all(s, pg_schema, sizeof(pg_schema) / sizeof(pg_schema[0]))) < 0)
		goto done;
	snprintf(sql, sizeof(sql), "INSERT INTO schema_version(version) VALUES(%d)",
		 TPA_STORE_SCHEMA_VERSION);
	err = exec(s, sql);
done:
	return finish(s, err);
}

/* A connection of the pool: an sq_store of its own with the owner's name. */
static sq_store *pool_open(sq_store *o)
{
	sq_store *c = calloc(1, sizeof(*c));
	char msg[512];

	if (!c)
		return NULL;
	c->public.ops = o->public.ops;
	c->owner = o;
	c->pg = 1;
	c->chained = 1;
	memcpy(c->path, o->path, sizeof(c->path));
	if (sqldb__pg_open(&c->db, o->conninfo, msg, sizeof(msg)) < 0) {
		struct timespec ts;
		int64_t now;
		int say;

		/* conn_get falls back on the first connection: said, at most
		 * once a minute (a server that is down is said by the calls). */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		pthread_mutex_lock(&o->pool_lock);
		say = !o->pool_warned_ms || now - o->pool_warned_ms >= 60000;
		if (say)
			o->pool_warned_ms = now;
		pthread_mutex_unlock(&o->pool_lock);
		if (say) {
			tpa_log_rec r;

			tpa_log_rec_initf(&r, TPA_LOG_WARNING, "registry %s: another pooled "
					  "connection could not be opened: %s; calls share the "
					  "ones open", o->path, msg);
			tpa_log_write(&r);
		}
		free(c);
		return NULL;
	}
	return c;
}

static void pg_close(sq_store *s)
{
	size_t i;

	for (i = 1; i < s->pool_max; i++)
		if (s->conns[i]) {
			sqldb_close(s->conns[i]->db);
			free(s->conns[i]);
		}
	sqldb_close(s->db);
	if (s->conninfo) {
		OPENSSL_cleanse(s->conninfo, strlen(s->conninfo));
		free(s->conninfo);
	}
	pthread_mutex_destroy(&s->pool_lock);
	pthread_cond_destroy(&s->pool_cv);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->q_lock);
	pthread_cond_destroy(&s->q_cv);
	free(s);
}

int tpa_store_open_postgresql(tpa_store **out, const char *conninfo, int create)
{
	sq_store *s;
	char msg[512];
	const char *pool;
	int err;

	if (!out || !conninfo || !*conninfo)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "registry: no connection string");
	if (!(s = calloc(1, sizeof(*s))))
		return tpa_err_fail(TPA_ERR_NOMEM, "registry: out of memory");
	s->public.ops = &sq_ops;
	s->pg = 1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_cond_init(&s->pool_cv, NULL);
	queue_init(s);
	s->pool_max = 8;
	if ((pool = getenv("TPA_REGISTRY_POOL")) && *pool) {
		long v = strtol(pool, NULL, 10);

		s->pool_max = v >= 1 && v <= POOL_MAX ? (size_t)v : s->pool_max;
	}
	sqldb__pg_describe(s->path, sizeof(s->path), conninfo);
	if (!(s->conninfo = strdup(conninfo))) {
		pg_close(s);
		return tpa_err_fail(TPA_ERR_NOMEM, "registry: out of memory");
	}
	if (sqldb__pg_open(&s->db, conninfo, msg, sizeof(msg)) < 0) {
		err = tpa_err_fail(TPA_ERR_UNAVAILABLE, "registry %s: cannot connect: %s", s->path,
				   msg);
		pg_close(s);
		return err;
	}
	s->conns[0] = s;
	if ((err = pg_migrate(s, create)) < 0) {
		pg_close(s);
		return err;
	}
	s->chained = 1;
	*out = &s->public;
	return 0;
}

int tpa_store_open_sqlite(tpa_store **out, const char *path)
{
	return sq_open(out, path, 1);
}

int tpa_store_open_sqlite_existing(tpa_store **out, const char *path)
{
	return sq_open(out, path, 0);
}

/* A name beside path for a private temporary file: path.restore-XXXXXX. */
static int temp_beside(char *tmp, size_t cap, const char *path, const char *what)
{
	unsigned char r[6];
	size_t i, n;

	if ((size_t)snprintf(tmp, cap, "%s.%s-XXXXXX", path, what) >= cap)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "%s: path too long", what);
	if (RAND_bytes(r, sizeof(r)) != 1)
		return tpa_err_fail(TPA_ERR_INTERNAL, "%s: no randomness", what);
	for (i = 0, n = strlen(tmp) - 6; i < 6; i++)
		tmp[n + i] = "abcdefghijklmnopqrstuvwxyz0123456789"[r[i] % 36];
	return 0;
}

/* Copies the backup file, which must be a regular file (not a link), into
 * a new private file tmp; fsync'd. */
static int copy_private(const char *tmp, const char *backup)
{
	char buf[65536];
	struct stat st;
	int in, out, err = 0;
	ssize_t n;

	if ((in = open(backup, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return tpa_err_fail(errno == ENOENT ? TPA_ERR_NOT_FOUND : TPA_ERR_IO,
				    "backup %s: %s", backup,
				    errno == ELOOP ? "is a symbolic link" : strerror(errno));
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(in);
		return tpa_err_fail(TPA_ERR_IO, "backup %s: not a regular file", backup);
	}
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		close(in);
		return tpa_err_fail(TPA_ERR_IO, "restore %s: cannot create: %s", tmp,
				    strerror(errno));
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = tpa_err_fail(TPA_ERR_IO, "backup %s: %s", backup, strerror(errno));
			break;
		}
		for (ssize_t off = 0, w; off < n; off += w) {
			if ((w = write(out, buf + off, (size_t)(n - off))) < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w < 0) {
				err = tpa_err_fail(TPA_ERR_IO, "restore %s: %s", tmp,
						   strerror(errno));
				goto done;
			}
		}
	}
	if (!err && fsync(out) < 0)
		err = tpa_err_fail(TPA_ERR_IO, "restore %s: fsync: %s", tmp, strerror(errno));
done:
	close(in);
	if (close(out) < 0 && !err)
		err = tpa_err_fail(TPA_ERR_IO, "restore %s: %s", tmp, strerror(errno));
	return err;
}

/* Opens a file that already exists without migrating it (restore checks
 * a backup as it is; the verifier migrates it on its next open). */
static int open_plain(sq_store **out, const char *path)
{
	const char *msg;
	sq_store *s;

	if (!(s = calloc(1, sizeof(*s))))
		return tpa_err_fail(TPA_ERR_NOMEM, "registry: out of memory");
	s->public.ops = &sq_ops;
	snprintf(s->path, sizeof(s->path), "%s", path);
	pthread_mutex_init(&s->lock, NULL);
	queue_init(s);
	if (sqldb__sqlite_open(&s->db, path, 0, &msg) < 0) {
		int err = tpa_err_fail(TPA_ERR_IO, "registry %s: cannot open: %s", path, msg);

		sq_close(&s->public);
		return err;
	}
	*out = s;
	return 0;
}

/* Whether a process holds the registry at path open (a verifier serving
 * it): every connection to a WAL database keeps a shared lock on it, so an
 * exclusive lock in exclusive locking mode is refused at once while one is
 * open. 0 free, TPA_ERR_CONFLICT held, or an error. This catches a verifier
 * left running; it is no lock against one started after it. */
static int held(const char *path)
{
	sq_store *s;
	sqlite3 *db;
	int err;

	if ((err = open_plain(&s, path)) < 0)
		return err;
	db = sqldb__sqlite_handle(s->db);
	sqlite3_busy_timeout(db, 200);
	if (sqlite3_exec(db, "PRAGMA locking_mode = EXCLUSIVE", NULL, NULL, NULL) !=
	    SQLITE_OK || sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL) != SQLITE_OK) {
		int rc = sqlite3_errcode(db);

		/* A damaged registry, what a restore is for, no verifier serves. */
		err = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ?
			tpa_err_fail(TPA_ERR_CONFLICT, "restore: registry %s is in use (is a "
				     "verifier serving it?): stop it, restore, then start it",
				     path) :
			rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT ? 0 : sq_fail(s, "lock");
	} else
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sq_close(&s->public);
	return err;
}


/* Restore: the backup is copied into a private file beside the registry
 * and judged there, as it will be used (integrity, a registry's schema not
 * newer than this build's, its audit chain); then the registry, if there is
 * one and force allows replacing it, must not be held by a running
 * verifier; its stale -wal and -shm go (SQLite would otherwise lay the old
 * WAL over the restored file) and the copy is renamed into place. Anything
 * refused leaves the registry as it was. */
int tpa_store_restore_sqlite(tpa_store_check_report *out, const char *path,
			     const char *backup, unsigned flags)
{
	static const char *const side[] = { "-wal", "-shm" };
	tpa_store_check_report rep;
	char tmp[4096], p[4096];
	struct stat st;
	sq_store *s = NULL;
	size_t i;
	int err;

	if (!path || !*path || !backup || !*backup)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "restore: no registry or backup named");
	if (lstat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode))
			return tpa_err_fail(TPA_ERR_IO, "restore: registry %s is not a regular "
					    "file", path);
		if (!(flags & TPA_STORE_RESTORE_FORCE))
			return tpa_err_fail(TPA_ERR_CONFLICT, "restore: registry %s exists: "
					    "restoring replaces it (--force)", path);
	} else if (errno != ENOENT) {
		return tpa_err_fail(TPA_ERR_IO, "restore: registry %s: %s", path,
				    strerror(errno));
	}
	if ((err = temp_beside(tmp, sizeof(tmp), path, "restore")) < 0)
		return err;
	if ((err = copy_private(tmp, backup)) < 0)
		goto out;
	if ((err = open_plain(&s, tmp)) < 0)
		goto out;
	/* Named as the operator knows it, not by the temporary copy. */
	snprintf(s->path, sizeof(s->path), "%s", backup);
	s = conn_get(s);
	err = check_locked(&rep, s, "backup");
	conn_put(s);
	if (err < 0)
		goto out;
	if (rep.schema_version >= 5) {
		tpa_audit_report r;

		s->chained = 1;
		if ((err = tpa_audit_verify(&r, &s->public, NULL, NULL)) < 0) {
			char why[TPA_AUDIT_REASON_MAX];

			/* The message is formatted into tpa_err_last()'s buffer. */
			snprintf(why, sizeof(why), "%s", err == TPA_ERR_VERIFY ? r.reason :
				 tpa_err_last());
			err = tpa_err_fail(err, "backup %s: its audit log does not verify: %s",
					   backup, why);
			goto out;
		}
	}
	/* Closing the last connection checkpoints the copy: no -wal of its own. */
	sq_close(&s->public);
	s = NULL;
	if (lstat(path, &st) == 0 && (err = held(path)) < 0)
		goto out;
	for (i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s%s", path, side[i]) >= sizeof(p)) {
			err = tpa_err_fail(TPA_ERR_INVALID_ARG, "restore: registry path too long");
			goto out;
		}
		if (unlink(p) < 0 && errno != ENOENT) {
			err = tpa_err_fail(TPA_ERR_IO, "restore: %s: %s", p, strerror(errno));
			goto out;
		}
	}
	if (rename(tmp, path) < 0) {
		err = tpa_err_fail(TPA_ERR_IO, "restore: registry %s: %s", path, strerror(errno));
		goto out;
	}
	tpa_file_fsync_dir(path);
	if (out)
		*out = rep;
	return 0;
out:
	if (s)
		sq_close(&s->public);
	unlink(tmp);
	for (i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s%s", tmp, side[i]) < sizeof(p))
			unlink(p);
	}
	return err;
}

/* registry check: the file as it is, opened without creating or migrating
 * it, so that a foreign or older file is reported, not turned into a
 * registry of this version. */
int tpa_store_check_sqlite(tpa_store_check_report *out, const char *path)
{
	tpa_store_check_report rep;
	sq_store *s;
	int err;

	if (!path || !*path)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "registry: no path");
	if ((err = private_file(path, 0)) < 0 || (err = open_plain(&s, path)) < 0)
		return err;
	s = conn_get(s);
	err = check_locked(&rep, s, "registry");
	conn_put(s);
	sq_close(&s->public);
	if (err == 0 && out)
		*out = rep;
	return err;
}
