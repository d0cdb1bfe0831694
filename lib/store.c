/* SPDX-License-Identifier: BSD-3-Clause */
/* The registry interface: dispatch to the backend. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "tpa/err.h"
#include "tpa/log.h"
#include "tpa/store.h"
#include "store_int.h"

#define CHECK(s) do { if (!(s) || !(s)->ops) \
	return tpa_err_fail(TPA_ERR_INVALID_ARG, "store: not open"); } while (0)

/* A transaction the database aborted for a conflict (STORE_ERR_RETRY: it
 * was rolled back whole) is run again after a short random pause, growing
 * with each try; after STORE_RETRIES the caller gets UNAVAILABLE, as for a
 * database that does not answer: an agent retries it later. */
static int retried(int err, unsigned *tries)
{
	unsigned char r = 0;
	struct timespec ts;
	tpa_log_rec rec;

	if (err != STORE_ERR_RETRY)
		return 0;
	if (++*tries > STORE_RETRIES) {
		tpa_err_fail(TPA_ERR_UNAVAILABLE, "%s (aborted %u times, not tried again)",
			     tpa_err_last(), *tries);
		return 0;
	}
	tpa_log_rec_initf(&rec, TPA_LOG_WARNING, "registry: %s; trying again", tpa_err_last());
	tpa_log_uint(&rec, "try", *tries);
	tpa_log_uint(&rec, "of", STORE_RETRIES);
	tpa_log_write(&rec);
	RAND_bytes(&r, 1);
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(1u << *tries) * (1000000L + r * 20000L);
	nanosleep(&ts, NULL);
	return 1;
}

#define RETRY(call) do { unsigned tries_ = 0; int err_; \
	while (retried(err_ = (call), &tries_)) ; \
	return err_ == STORE_ERR_RETRY ? TPA_ERR_UNAVAILABLE : err_; } while (0)

/* An operation that hands rows to a callback as it reads them is not run
 * again (the callback would see them twice): an abort is UNAVAILABLE. */
#define ONCE(call) do { int err_ = (call); \
	return err_ == STORE_ERR_RETRY ? tpa_err_fail(TPA_ERR_UNAVAILABLE, "%s", \
						      tpa_err_last()) : err_; } while (0)

static int open_postgresql(tpa_store **out, const char *conninfo, int create)
{
	RETRY(tpa_store_open_postgresql(out, conninfo, create));
}

const char *tpa_device_state_name(tpa_device_state st)
{
	switch (st) {
	case TPA_DEVICE_ACTIVE: return "active";
	case TPA_DEVICE_REVOKED: return "revoked";
	case TPA_DEVICE_PENDING: return "pending";
	}
	return "unknown";
}

int tpa_device_state_parse(tpa_device_state *out, const char *name)
{
	static const tpa_device_state all[] = { TPA_DEVICE_ACTIVE, TPA_DEVICE_REVOKED,
						TPA_DEVICE_PENDING };
	size_t i;

	for (i = 0; name && i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(name, tpa_device_state_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	return tpa_err_fail(TPA_ERR_INVALID_ARG, "state \"%.32s\": expected active, revoked or "
			    "pending", name ? name : "");
}


static int store_open(tpa_store **out, const char *where, int create)
{
	const char *sep;
	char *conninfo;
	int err;

	if (!out || !where || !*where)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "registry: none named");
	if (strncmp(where, "sqlite:", 7) == 0)
		return create > 0 ? tpa_store_open_sqlite(out, where + 7) :
			 tpa_store_open_sqlite_existing(out, where + 7);
	if (store_sql__is_pg_url(where))
		return open_postgresql(out, where, create);
	if ((sep = strstr(where, "://")) != NULL) {
		size_t n = (size_t)(sep - where);

		return tpa_err_fail(TPA_ERR_INVALID_ARG,
				    "registry: '%.*s://' is not a registry backend (sqlite:PATH, a "
				    "file, or postgresql://...)", (int)(n < 32 ? n : 32), where);
	}
	if ((err = store_sql__connfile(&conninfo, where)) < 0)
		return err;
	if (err == 1) {
		err = open_postgresql(out, conninfo, create);
		OPENSSL_cleanse(conninfo, strlen(conninfo));
		free(conninfo);
		return err;
	}
	return create > 0 ? tpa_store_open_sqlite(out, where) :
		 tpa_store_open_sqlite_existing(out, where);
}

int tpa_store_open(tpa_store **out, const char *where)
{
	return store_open(out, where, 1);
}

int tpa_store_open_existing(tpa_store **out, const char *where)
{
	return store_open(out, where, 0);
}

int tpa_store_backup(tpa_store *s, const char *out_path)
{
	CHECK(s);
	if (!s->ops->backup)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "registry: this backend cannot back up");
	return s->ops->backup(s, out_path);
}

int tpa_store_check(tpa_store_check_report *out, tpa_store *s)
{
	CHECK(s);
	if (!s->ops->check)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "registry: this backend cannot check");
	return s->ops->check(out, s);
}

int tpa_store_check_file(tpa_store_check_report *out, const char *where)
{
	tpa_store *s = NULL;
	char *conninfo = NULL;
	int err = 0;

	if (!where || !*where)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "registry: none named");
	if (strncmp(where, "sqlite:", 7) == 0)
		return tpa_store_check_sqlite(out, where + 7);
	/* A PostgreSQL registry (a URI, or a file holding one) is opened
	 * neither created nor migrated (-1: its schema as it is), as an SQLite
	 * file is read without a migration. */
	if (strstr(where, "://") || (err = store_sql__connfile(&conninfo, where)) != 0) {
		if (err < 0)
			return err;
		err = store_open(&s, conninfo ? conninfo : where, -1);
		if (conninfo) {
			OPENSSL_cleanse(conninfo, strlen(conninfo));
			free(conninfo);
		}
		if (err < 0)
			return err;
		err = tpa_store_check(out, s);
		tpa_store_close(s);
		return err;
	}
	return tpa_store_check_sqlite(out, where);
}

int tpa_store_restore(tpa_store_check_report *out, const char *where, const char *backup,
		      unsigned flags)
{
	if (!where || !*where)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "registry: none named");
	if (strncmp(where, "sqlite:", 7) == 0)
		where += 7;
	else if (strstr(where, "://"))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "restore: only an SQLite registry "
				    "(sqlite:PATH or a file) can be restored");
	return tpa_store_restore_sqlite(out, where, backup, flags);
}

void tpa_store_close(tpa_store *s)
{
	if (s && s->ops)
		s->ops->close(s);
}

int tpa_store_enroll(tpa_store *s, const char *id, const uint8_t *ek_pub,
		     size_t ek_pub_len, const uint8_t *ek_cert, size_t ek_cert_len,
		     const uint8_t *ak_pub, size_t ak_pub_len, const char *ak_name,
		     const char *tpm_manufacturer, int replace_aks, int64_t now)
{
	CHECK(s);
	RETRY(s->ops->enroll(s, id, ek_pub, ek_pub_len, ek_cert, ek_cert_len, ak_pub,
			      ak_pub_len, ak_name, tpm_manufacturer, replace_aks, now));
}

int tpa_store_get(tpa_device *out, tpa_store *s, const char *id)
{
	CHECK(s);
	RETRY(s->ops->get(out, s, id));
}

int tpa_store_find_by_ak(tpa_device *out, tpa_store *s, const char *ak_name)
{
	CHECK(s);
	RETRY(s->ops->find_by_ak(out, s, ak_name));
}

int tpa_store_set_state(tpa_store *s, const char *id, tpa_device_state st, int64_t now)
{
	CHECK(s);
	RETRY(s->ops->set_state(s, id, st, now));
}

int tpa_store_remove(tpa_store *s, const char *id, int64_t now)
{
	CHECK(s);
	RETRY(s->ops->remove(s, id, now));
}

int tpa_store_record(tpa_store *s, const char *id, int compliant, const char *reasons,
		     const tpa_attest_record *rec, int64_t now)
{
	CHECK(s);
	RETRY(s->ops->record(s, id, compliant, reasons, rec, now));
}

int tpa_store_list(tpa_device **out, size_t *n, tpa_store *s)
{
	CHECK(s);
	RETRY(s->ops->list(out, n, s));
}

int tpa_store_audit_count(size_t *n, tpa_store *s, const char *id)
{
	CHECK(s);
	RETRY(s->ops->audit_count(n, s, id));
}

int tpa_store_baseline_add(int *version, tpa_store *s, const char *name, const char *body,
			   int64_t now)
{
	CHECK(s);
	RETRY(s->ops->baseline_add(version, s, name, body, now));
}

int tpa_store_baseline_get(char **body, int *version_out, tpa_store *s, const char *name,
			   int version)
{
	CHECK(s);
	RETRY(s->ops->baseline_get(body, version_out, s, name, version));
}

int tpa_store_baseline_list(tpa_baseline_info **out, size_t *n, tpa_store *s)
{
	CHECK(s);
	RETRY(s->ops->baseline_list(out, n, s));
}

int tpa_store_assign(tpa_store *s, const char *kind, const char *target, const char *name,
		     int64_t now)
{
	CHECK(s);
	RETRY(s->ops->assign(s, kind, target, name, now));
}

int tpa_store_set_label(tpa_store *s, const char *id, const char *label, int64_t now)
{
	CHECK(s);
	RETRY(s->ops->set_label(s, id, label, now));
}

int tpa_store_baseline_for(char *name, size_t name_cap, int *version, tpa_store *s,
			   const char *id)
{
	CHECK(s);
	RETRY(s->ops->baseline_for(name, name_cap, version, s, id));
}

int tpa_store_last_evidence(uint8_t **event_log, size_t *len, char **pcrs_json,
			    tpa_store *s, const char *id)
{
	CHECK(s);
	RETRY(s->ops->last_evidence(event_log, len, pcrs_json, s, id));
}

int tpa_store_set_manufacturer(tpa_store *s, const char *id, const char *manufacturer)
{
	CHECK(s);
	RETRY(s->ops->set_manufacturer(s, id, manufacturer));
}

int tpa_store_last_token(char **token, tpa_device *dev, tpa_store *s, const char *id)
{
	if (token)
		*token = NULL;
	CHECK(s);
	RETRY(s->ops->last_token(token, dev, s, id));
}

int tpa_store_seal_key(uint8_t *key, tpa_store *s)
{
	CHECK(s);
	RETRY(s->ops->seal_key(key, s));
}

int tpa_store_consume(tpa_store *s, const uint8_t *tag, int64_t expires_ms, int64_t now_ms)
{
	CHECK(s);
	RETRY(s->ops->consume(s, tag, expires_ms, now_ms));
}

int tpa_store_resolve(char *id_out, tpa_store *s, const char *id)
{
	CHECK(s);
	RETRY(s->ops->resolve(id_out, s, id));
}

int tpa_store_audit_state(tpa_audit_state *out, tpa_store *s)
{
	CHECK(s);
	RETRY(s->ops->audit_state(out, s));
}

int tpa_store_audit_rows(tpa_store *s, int64_t after, size_t max, tpa_audit_row_cb cb,
			 void *ctx)
{
	CHECK(s);
	ONCE(s->ops->audit_rows(s, after, max, cb, ctx));
}

int tpa_store_audit_heads(tpa_store *s, int64_t from, int descending, size_t max,
			  tpa_audit_head_cb cb, void *ctx)
{
	CHECK(s);
	ONCE(s->ops->audit_heads(s, from, descending, max, cb, ctx));
}

int tpa_store_audit_add_head(tpa_store *s, int64_t seq, const uint8_t *hash,
			     int64_t signed_at, const char *kid, const char *jws)
{
	CHECK(s);
	RETRY(s->ops->audit_add_head(s, seq, hash, signed_at, kid, jws));
}

int tpa_store_find_device(char id_out[TPA_DEVICE_ID_LEN + 1], tpa_store *s, const char *what)
{
	CHECK(s);
	RETRY(s->ops->find_device(id_out, s, what));
}

int tpa_store_tombstoned(tpa_store *s, const char *id)
{
	CHECK(s);
	RETRY(s->ops->tombstoned(s, id));
}

int tpa_store_untombstone(tpa_store *s, const char *id, int64_t now)
{
	CHECK(s);
	RETRY(s->ops->untombstone(s, id, now));
}

int tpa_store_set_host(tpa_store *s, const char *id, const tpa_host_info *host, int64_t now)
{
	CHECK(s);
	if (!s->ops->set_host)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "registry: this backend keeps no host names");
	RETRY(s->ops->set_host(s, id, host, now));
}

int tpa_store_assign_version(tpa_store *s, const char *kind, const char *target,
			     const char *name, int version, int64_t now)
{
	CHECK(s);
	RETRY(s->ops->assign_version(s, kind, target, name, version, now));
}

int tpa_store_baseline_versions(tpa_baseline_info **out, size_t *n, tpa_store *s,
				const char *name)
{
	CHECK(s);
	RETRY(s->ops->baseline_versions(out, n, s, name));
}

int tpa_store_assignments(tpa_assignment **out, size_t *n, tpa_store *s, const char *name)
{
	CHECK(s);
	RETRY(s->ops->assignments(out, n, s, name));
}

/* ---- admission (issue 14, item 2) ---- */

#define CHECK_OP(s, op) do { CHECK(s); if (!(s)->ops->op) \
	return tpa_err_fail(TPA_ERR_INVALID_ARG, "registry: this backend has no " #op); \
	} while (0)

int tpa_store_enroll_admitted(tpa_store *s, const char *id, const uint8_t *ek_pub,
			      size_t ek_pub_len, const uint8_t *ek_cert, size_t ek_cert_len,
			      const uint8_t *ak_pub, size_t ak_pub_len, const char *ak_name,
			      const char *tpm_manufacturer, int replace_aks,
			      const tpa_store_admission *adm, int64_t now)
{
	CHECK_OP(s, enroll_admitted);
	RETRY(s->ops->enroll_admitted(s, id, ek_pub, ek_pub_len, ek_cert, ek_cert_len, ak_pub,
				       ak_pub_len, ak_name, tpm_manufacturer, replace_aks, adm,
				       now));
}

int tpa_store_approve(tpa_store *s, const char *id, int64_t now)
{
	CHECK_OP(s, approve);
	RETRY(s->ops->approve(s, id, now));
}

int tpa_store_inventory_put(tpa_store *s, const tpa_inventory_entry *e, size_t n, int64_t now)
{
	CHECK_OP(s, inventory_put);
	RETRY(s->ops->inventory_put(s, e, n, now));
}

int tpa_store_inventory_remove(tpa_store *s, const char *kind, const char *value, int64_t now)
{
	CHECK_OP(s, inventory_remove);
	RETRY(s->ops->inventory_remove(s, kind, value, now));
}

int tpa_store_inventory_get(tpa_inventory_entry *out, tpa_store *s, const char *kind,
			    const char *value)
{
	CHECK_OP(s, inventory_get);
	RETRY(s->ops->inventory_get(out, s, kind, value));
}

int tpa_store_inventory_list(tpa_inventory_entry **out, size_t *n, tpa_store *s)
{
	CHECK_OP(s, inventory_list);
	RETRY(s->ops->inventory_list(out, n, s));
}

/* ---- enforcement (issue 16) ---- */

int tpa_store_cert_bind(tpa_store *s, const tpa_device_cert *c, int64_t now)
{
	CHECK_OP(s, cert_bind);
	RETRY(s->ops->cert_bind(s, c, now));
}

int tpa_store_cert_unbind(tpa_store *s, const char *issuer, const char *serial, int64_t now)
{
	CHECK_OP(s, cert_unbind);
	RETRY(s->ops->cert_unbind(s, issuer, serial, now));
}

int tpa_store_cert_find(tpa_device_cert *out, tpa_store *s, const char *issuer,
			const char *serial)
{
	CHECK_OP(s, cert_find);
	RETRY(s->ops->cert_find(out, s, issuer, serial));
}

int tpa_store_cert_list(tpa_device_cert **out, size_t *n, tpa_store *s, const char *device_id)
{
	CHECK_OP(s, cert_list);
	RETRY(s->ops->cert_list(out, n, s, device_id));
}

int tpa_store_session_put(tpa_store *s, const tpa_session *se, int64_t now)
{
	CHECK_OP(s, session_put);
	RETRY(s->ops->session_put(s, se, now));
}

int tpa_store_session_stop(tpa_store *s, const char *nas_ip, const char *session_id,
			   int64_t now)
{
	CHECK_OP(s, session_stop);
	RETRY(s->ops->session_stop(s, nas_ip, session_id, now));
}

int tpa_store_sessions(tpa_session **out, size_t *n, tpa_store *s, const char *device_id)
{
	CHECK_OP(s, sessions);
	RETRY(s->ops->sessions(out, n, s, device_id));
}

int tpa_store_notified_list(tpa_notified **out, size_t *n, tpa_store *s)
{
	CHECK_OP(s, notified_list);
	RETRY(s->ops->notified_list(out, n, s));
}

int tpa_store_notify_commit(tpa_store *s, const tpa_notified *st, const tpa_outbox_item *items,
			    size_t n, int64_t now)
{
	CHECK_OP(s, notify_commit);
	RETRY(s->ops->notify_commit(s, st, items, n, now));
}

int tpa_store_outbox_due(tpa_outbox_item **out, size_t *n, tpa_store *s, const char *kind,
			 const char *target, int64_t now, size_t max)
{
	CHECK_OP(s, outbox_due);
	RETRY(s->ops->outbox_due(out, n, s, kind, target, now, max));
}

void tpa_outbox_items_free(tpa_outbox_item *items, size_t n)
{
	size_t i;

	for (i = 0; items && i < n; i++)
		free(items[i].body);
	free(items);
}

int tpa_store_outbox_next(int64_t *next_at, tpa_store *s, const char *kind, const char *target)
{
	CHECK_OP(s, outbox_next);
	RETRY(s->ops->outbox_next(next_at, s, kind, target));
}

int tpa_store_outbox_done(tpa_store *s, int64_t id, const char *event, const char *result,
			  int64_t now)
{
	CHECK_OP(s, outbox_done);
	RETRY(s->ops->outbox_done(s, id, event, result, now));
}

int tpa_store_outbox_retry(tpa_store *s, int64_t id, int64_t next_at, const char *error)
{
	CHECK_OP(s, outbox_retry);
	RETRY(s->ops->outbox_retry(s, id, next_at, error));
}

int tpa_store_outbox_count(size_t *n, tpa_store *s, const char *kind, const char *target)
{
	CHECK_OP(s, outbox_count);
	RETRY(s->ops->outbox_count(n, s, kind, target));
}

int tpa_store_audit_note(tpa_store *s, const char *id, const char *event, const char *detail,
			 int64_t now)
{
	CHECK_OP(s, audit_note);
	RETRY(s->ops->audit_note(s, id, event, detail, now));
}

int tpa_store_audit_prune(int64_t *first_kept, tpa_store *s, int64_t upto, const char *archive,
			  const char *archive_sha256, int64_t now)
{
	CHECK_OP(s, audit_prune);
	RETRY(s->ops->audit_prune(first_kept, s, upto, archive, archive_sha256, now));
}

int tpa_store_evidence_prune(size_t *n, tpa_store *s, int64_t before)
{
	CHECK_OP(s, evidence_prune);
	RETRY(s->ops->evidence_prune(n, s, before));
}

int tpa_store_data_version(int64_t *v, tpa_store *s)
{
	CHECK_OP(s, data_version);
	RETRY(s->ops->data_version(v, s));
}

int tpa_store_bytes(int64_t *n, tpa_store *s)
{
	CHECK_OP(s, bytes);
	RETRY(s->ops->bytes(n, s));
}
