/* SPDX-License-Identifier: BSD-3-Clause */
/* The device registry: devices (identified by their EK), their AKs, the
 * last attestation and its evidence, golden baselines (versioned,
 * append-only) assigned to devices or group labels, and an append-only audit
 * log. An interface, so that another backend (PostgreSQL) can replace the
 * embedded SQLite one without touching the code that uses it. */
#ifndef TPA_STORE_H
#define TPA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/hostinfo.h"

#define TPA_DEVICE_ID_LEN 64          /* hex SHA-256 of the EK's SubjectPublicKeyInfo */
#define TPA_STORE_SCHEMA_VERSION 8
#define TPA_LABEL_MAX 64              /* bytes of a group label */
#define TPA_BASELINE_NAME_MAX 64      /* bytes of a baseline name */
#define TPA_BASELINE_BODY_MAX (1u << 20)    /* bytes of a baseline's JSON text */
#define TPA_STORE_EVENT_LOG_MAX (1u << 20)  /* bytes of a kept event log */
#define TPA_STORE_PCRS_JSON_MAX (64u << 10) /* bytes of kept PCR values (JSON) */
#define TPA_STORE_TOKEN_MAX 16384      /* bytes of a stored token */
#define TPA_STORE_MANUFACTURER_MAX 15 /* bytes of a TPM manufacturer */

typedef enum {
	TPA_DEVICE_ACTIVE = 1,
	TPA_DEVICE_REVOKED = 2,
	TPA_DEVICE_PENDING = 3,           /* enrolled, waiting for an operator's approval
					   * (admission "approve"); never compliant */
} tpa_device_state;

#define TPA_INVENTORY_NAME_MAX 255    /* bytes of an inventory entry's name */
#define TPA_INVENTORY_VALUE_MAX 1024  /* bytes of an inventory key */

typedef struct {
	char id[TPA_DEVICE_ID_LEN + 1];
	tpa_device_state state;
	int64_t enrolled_at;              /* Unix seconds */
	char ak_name[2 * 66 + 1];         /* the current AK, hex */
	int64_t last_attest_at;           /* 0 if never */
	char last_verdict[32];            /* "compliant", "non-compliant", "" */
	char label[TPA_LABEL_MAX + 1];    /* group label, "" if none */
	char last_outcome[32];            /* "compliant", "warning", "non-compliant",
					   * "no-baseline", "" */
	char last_baseline[TPA_BASELINE_NAME_MAX + 16]; /* "name@version" that decided
							  * the last verdict, "" */
	char tpm_manufacturer[TPA_STORE_MANUFACTURER_MAX + 1]; /* from the EK certificate
								 * at enrollment, "" if
								 * unknown */
	int64_t state_changed_at;         /* when the state last changed (revoke/reinstate),
					   * 0 if never */
	int64_t last_token_exp;           /* expiry (Unix s) of the last verdict's token,
					   * 0 if none */
	unsigned naks;                    /* AKs registered to the device */
	/* ---- names (issue 14): what the device reports about its host, never
	 * attested; "" where not reported. Times in Unix seconds, 0 if never. */
	tpa_host_info host;
	int64_t first_seen;               /* its enrollment (Activate) */
	int64_t last_seen;                /* its last enrollment or attestation that held */
	/* ---- end of names */
	/* ---- admission (issue 14, item 2) ---- */
	int pending;                      /* 1: waiting for `verifier devices approve` */
	char admission[16];               /* how it was let in: "open", "approved",
					   * "allowlist"; "" while pending */
	char ek_cert_source[8];           /* its EK certificate: "nv", "file", "none" */
	/* ---- end of admission ---- */
} tpa_device;

/* How a device is admitted at enrollment (tpa_store_enroll_admitted). */
typedef struct {
	int pending;                      /* 1: registered pending approval */
	const char *admission;            /* "open", "approved", "allowlist", or NULL
					   * (pending) */
	const char *ek_cert_source;       /* "nv", "file", "none" */
	const char *name;                 /* the inventory entry's name, or NULL */
	const char *label;                /* the inventory entry's label (becomes the
					   * device's group label), or NULL */
} tpa_store_admission;

/* One inventory entry: an EK an allowlist admits. kind "device": value is a
 * device id; kind "ek-cert": value is the EK certificate's issuer and serial
 * in the canonical form of tpa_ekcert_inventory_key (include/tpa/admission.h). */
typedef struct {
	char kind[8];
	char value[TPA_INVENTORY_VALUE_MAX + 1];
	char name[TPA_INVENTORY_NAME_MAX + 1];   /* "" if none */
	char label[TPA_LABEL_MAX + 1];           /* "" if none */
	int no_ek_cert;                          /* a device entry whose EK has no
						  * certificate */
	int64_t added_at;
} tpa_inventory_entry;

typedef struct {
	char name[TPA_BASELINE_NAME_MAX + 1];
	int version;                      /* the latest */
	int64_t added_at;                 /* of the latest version */
} tpa_baseline_info;

/* A baseline assigned to a device or a label. */
typedef struct {
	char kind[8];                     /* "device" or "label" */
	char target[TPA_DEVICE_ID_LEN + 1]; /* the device id or the label */
	char name[TPA_BASELINE_NAME_MAX + 1];
	int version;                      /* pinned, or 0: follows the latest */
	int64_t assigned_at;
} tpa_assignment;

/* What an attestation leaves behind, so that a baseline can be learned from
 * a device's last one. */
typedef struct {
	const char *outcome;              /* "compliant", "warning", "non-compliant",
					   * "no-baseline"; NULL: the verdict's */
	const char *baseline;             /* "name@version" that decided it, or NULL */
	const uint8_t *event_log;         /* the raw event log sent, or NULL */
	size_t event_log_len;             /* at most TPA_STORE_EVENT_LOG_MAX */
	const char *pcrs_json;            /* the quoted PCR values as JSON text, or NULL;
					   * at most TPA_STORE_PCRS_JSON_MAX bytes */
	const char *token;                /* the signed verdict token (compact JWS), or
					   * NULL; printable ASCII, at most
					   * TPA_STORE_TOKEN_MAX bytes */
	int64_t token_exp;                /* its expiry, Unix seconds (0 with no token) */
	const uint8_t *seal_tag;          /* the challenge this attestation used up
					   * (TPA_SEAL_TAG_LEN bytes), or NULL */
	int64_t seal_expires_ms;          /* when that challenge expires (Unix ms) */
	const tpa_host_info *host;        /* what the host reports, or NULL: written with
					   * the verdict as tpa_store_set_host writes it
					   * (its fields that are set; first and last
					   * seen), in the same statement */
} tpa_attest_record;

/* One row of the audit log as the backend holds it. Untrusted: anyone who
 * could write the file could have put anything there. Text is not
 * NUL-terminated; the pointers are valid during the callback only. */
typedef struct {
	int64_t seq;
	int64_t at;
	const char *device_id;            /* NULL: the row names no device */
	size_t device_id_len;
	const char *event;
	size_t event_len;
	const char *detail;
	size_t detail_len;
	const uint8_t *prev_hash;         /* NULL if missing or not bytes */
	size_t prev_hash_len;
	const uint8_t *hash;              /* NULL if missing or not bytes */
	size_t hash_len;
	const char *malformed;            /* a column not of its type ("at is not an
					   * integer"), or NULL */
} tpa_audit_row;

/* A signed head of the audit log as the backend holds it (untrusted). */
typedef struct {
	int64_t seq;                      /* the row it names */
	const uint8_t *hash;              /* NULL if missing or not bytes */
	size_t hash_len;
	int64_t signed_at;
	const char *kid;                  /* NUL-terminated, or NULL */
	const char *jws;                  /* the compact JWS, NUL-terminated, or NULL */
	const char *malformed;            /* or NULL */
} tpa_audit_signed_head;

/* Where the audit log stands. */
typedef struct {
	int64_t last_seq;                 /* the last row's seq, 0 if none */
	int64_t high_seq;                 /* the highest seq the log ever gave out
					   * (above last_seq only if rows were removed) */
	int64_t rows;                     /* how many rows there are */
	int64_t heads;                    /* how many signed heads */
} tpa_audit_state;

/* Called per row or head: 0 goes on, anything else stops the walk and is
 * what the walk returns. Must not call into the store. */
typedef int (*tpa_audit_row_cb)(void *ctx, const tpa_audit_row *r);
typedef int (*tpa_audit_head_cb)(void *ctx, const tpa_audit_signed_head *h);

/* ---- enforcement (issue 16): what the verifier needs to act on a change ---- */

#define TPA_CERT_ISSUER_MAX 512       /* bytes of a certificate issuer (oneline form) */
#define TPA_CERT_SERIAL_MAX 64        /* hex digits of a certificate serial */
#define TPA_SESSION_FIELD_MAX 253     /* bytes of a RADIUS text attribute */
#define TPA_SESSIONS_PER_DEVICE_MAX 16 /* open sessions kept per device; more
					 * replace the least recently updated */
#define TPA_NOTIFY_REASON_MAX 255
#define TPA_OUTBOX_TARGET_MAX 512     /* bytes of a receiver URL or a NAS host:port */
#define TPA_OUTBOX_BODY_MAX (64u << 10) /* bytes of one outbox item's body */
#define TPA_OUTBOX_ERROR_MAX 255

/* A device's network-access certificate (EAP-TLS, from the enterprise CA),
 * bound to it by an operator: the RADIUS server names the certificate it
 * verified by issuer and serial, and the registry says whose it is. */
typedef struct {
	char issuer[TPA_CERT_ISSUER_MAX + 1]; /* X509_NAME_oneline form, printable ASCII */
	char serial[TPA_CERT_SERIAL_MAX + 1]; /* lower-case hex of its octets, even length */
	char device_id[TPA_DEVICE_ID_LEN + 1];
	char sha256[65];                      /* of the DER certificate, lower-case hex */
	int64_t not_after;                    /* Unix s */
	int64_t added_at;
} tpa_device_cert;

/* An open network session of a device, as RADIUS accounting reported it
 * (Start, Interim-Update): the NAS that holds it and what the NAS knows it
 * by. Text fields are printable ASCII, "" where not reported. */
typedef struct {
	char nas_ip[64];                      /* NAS-IP-Address or NAS-IPv6-Address */
	char session_id[TPA_SESSION_FIELD_MAX + 1];   /* Acct-Session-Id (required) */
	char device_id[TPA_DEVICE_ID_LEN + 1];
	char nas_identifier[TPA_SESSION_FIELD_MAX + 1];
	char nas_port[TPA_SESSION_FIELD_MAX + 1];     /* NAS-Port or NAS-Port-Id */
	char calling_station[TPA_SESSION_FIELD_MAX + 1]; /* Calling-Station-Id */
	char user_name[TPA_SESSION_FIELD_MAX + 1];
	int64_t started_at;                   /* Unix s */
	int64_t updated_at;
} tpa_session;

/* The last compliance of a device that the verifier acted on (told its
 * enforcement points about). */
typedef struct {
	char device_id[TPA_DEVICE_ID_LEN + 1];
	int compliant;
	char reason[TPA_NOTIFY_REASON_MAX + 1]; /* why not, "" if compliant */
	int64_t at;
} tpa_notified;

/* One delivery an enforcement point is owed (durable, at least once). */
typedef struct {
	int64_t id;                           /* the registry's; 0 when adding */
	char kind[8];                         /* "caep" or "radius" */
	char target[TPA_OUTBOX_TARGET_MAX + 1]; /* the receiver's URL, the NAS's host[:port] */
	char device_id[TPA_DEVICE_ID_LEN + 1];
	char *body;                           /* malloc'd when read: the SET, or the session
					       * (JSON); at most TPA_OUTBOX_BODY_MAX */
	int64_t created_at;
	int64_t next_at;                      /* not before (Unix s) */
	unsigned attempts;
	char last_error[TPA_OUTBOX_ERROR_MAX + 1];
} tpa_outbox_item;

typedef struct tpa_store tpa_store;

/* What `registry check` finds (tpa_store_check) and restore requires. */
typedef struct {
	int schema_version;
	int64_t devices;
	int64_t revoked;
	int64_t baselines;                /* names */
	int64_t audit_rows;
	int64_t signed_heads;
	char where[512];                  /* the registry, named without secrets */
} tpa_store_check_report;

/* The operations a backend provides; the tpa_store_* functions dispatch. */
typedef struct {
	void (*close)(tpa_store *s);
	int (*enroll)(tpa_store *s, const char *id, const uint8_t *ek_pub, size_t ek_pub_len,
		      const uint8_t *ek_cert, size_t ek_cert_len, const uint8_t *ak_pub,
		      size_t ak_pub_len, const char *ak_name, const char *tpm_manufacturer,
		      int replace_aks, int64_t now);
	int (*get)(tpa_device *out, tpa_store *s, const char *id);
	int (*find_by_ak)(tpa_device *out, tpa_store *s, const char *ak_name);
	int (*set_state)(tpa_store *s, const char *id, tpa_device_state st, int64_t now);
	int (*remove)(tpa_store *s, const char *id, int64_t now);
	int (*record)(tpa_store *s, const char *id, int compliant, const char *reasons,
		      const tpa_attest_record *rec, int64_t now);
	int (*list)(tpa_device **out, size_t *n, tpa_store *s);
	int (*audit_count)(size_t *n, tpa_store *s, const char *id);
	int (*baseline_add)(int *version, tpa_store *s, const char *name, const char *body,
			    int64_t now);
	int (*baseline_get)(char **body, int *version_out, tpa_store *s, const char *name,
			    int version);
	int (*baseline_list)(tpa_baseline_info **out, size_t *n, tpa_store *s);
	int (*assign)(tpa_store *s, const char *kind, const char *target, const char *name,
		      int64_t now);
	int (*set_label)(tpa_store *s, const char *id, const char *label, int64_t now);
	int (*baseline_for)(char *name, size_t name_cap, int *version, tpa_store *s,
			    const char *id);
	int (*last_evidence)(uint8_t **event_log, size_t *len, char **pcrs_json,
			     tpa_store *s, const char *id);
	int (*set_manufacturer)(tpa_store *s, const char *id, const char *manufacturer);
	int (*last_token)(char **token, tpa_device *dev, tpa_store *s, const char *id);
	int (*seal_key)(uint8_t *key, tpa_store *s);
	int (*consume)(tpa_store *s, const uint8_t *tag, int64_t expires_ms, int64_t now_ms);
	int (*resolve)(char *id_out, tpa_store *s, const char *id);
	int (*audit_state)(tpa_audit_state *out, tpa_store *s);
	int (*audit_rows)(tpa_store *s, int64_t after, size_t max, tpa_audit_row_cb cb,
			  void *ctx);
	int (*audit_heads)(tpa_store *s, int64_t from, int descending, size_t max,
			   tpa_audit_head_cb cb, void *ctx);
	int (*audit_add_head)(tpa_store *s, int64_t seq, const uint8_t *hash,
			      int64_t signed_at, const char *kid, const char *jws);
	int (*find_device)(char *id_out, tpa_store *s, const char *what);
	int (*tombstoned)(tpa_store *s, const char *id);
	int (*untombstone)(tpa_store *s, const char *id, int64_t now);
	int (*backup)(tpa_store *s, const char *out_path);
	int (*set_host)(tpa_store *s, const char *id, const tpa_host_info *host, int64_t now);
	int (*check)(tpa_store_check_report *out, tpa_store *s);
	int (*assign_version)(tpa_store *s, const char *kind, const char *target,
			      const char *name, int version, int64_t now);
	int (*baseline_versions)(tpa_baseline_info **out, size_t *n, tpa_store *s,
				 const char *name);
	int (*assignments)(tpa_assignment **out, size_t *n, tpa_store *s, const char *name);
	/* ---- admission (issue 14, item 2) ---- */
	int (*enroll_admitted)(tpa_store *s, const char *id, const uint8_t *ek_pub,
			       size_t ek_pub_len, const uint8_t *ek_cert, size_t ek_cert_len,
			       const uint8_t *ak_pub, size_t ak_pub_len, const char *ak_name,
			       const char *tpm_manufacturer, int replace_aks,
			       const tpa_store_admission *adm, int64_t now);
	int (*approve)(tpa_store *s, const char *id, int64_t now);
	int (*inventory_put)(tpa_store *s, const tpa_inventory_entry *e, size_t n, int64_t now);
	int (*inventory_remove)(tpa_store *s, const char *kind, const char *value, int64_t now);
	int (*inventory_get)(tpa_inventory_entry *out, tpa_store *s, const char *kind,
			     const char *value);
	int (*inventory_list)(tpa_inventory_entry **out, size_t *n, tpa_store *s);
	/* ---- enforcement (issue 16) ---- */
	int (*cert_bind)(tpa_store *s, const tpa_device_cert *c, int64_t now);
	int (*cert_unbind)(tpa_store *s, const char *issuer, const char *serial, int64_t now);
	int (*cert_find)(tpa_device_cert *out, tpa_store *s, const char *issuer,
			 const char *serial);
	int (*cert_list)(tpa_device_cert **out, size_t *n, tpa_store *s, const char *device_id);
	int (*session_put)(tpa_store *s, const tpa_session *se, int64_t now);
	int (*session_stop)(tpa_store *s, const char *nas_ip, const char *session_id,
			    int64_t now);
	int (*sessions)(tpa_session **out, size_t *n, tpa_store *s, const char *device_id);
	int (*notified_list)(tpa_notified **out, size_t *n, tpa_store *s);
	int (*notify_commit)(tpa_store *s, const tpa_notified *st, const tpa_outbox_item *items,
			     size_t n, int64_t now);
	int (*outbox_due)(tpa_outbox_item **out, size_t *n, tpa_store *s, const char *kind,
			  const char *target, int64_t now, size_t max);
	int (*outbox_next)(int64_t *next_at, tpa_store *s, const char *kind, const char *target);
	int (*outbox_done)(tpa_store *s, int64_t id, const char *event, const char *result,
			   int64_t now);
	int (*outbox_retry)(tpa_store *s, int64_t id, int64_t next_at, const char *error);
	int (*outbox_count)(size_t *n, tpa_store *s, const char *kind, const char *target);
	int (*audit_note)(tpa_store *s, const char *id, const char *event, const char *detail,
			  int64_t now);
	int (*data_version)(int64_t *v, tpa_store *s);
	int (*bytes)(int64_t *n, tpa_store *s);
	int (*audit_prune)(int64_t *first_kept, tpa_store *s, int64_t upto, const char *archive,
			   const char *archive_sha256, int64_t now);
	int (*evidence_prune)(size_t *n, tpa_store *s, int64_t before);
} tpa_store_ops;

struct tpa_store {
	const tpa_store_ops *ops;
};

/* Opens (creating if needed) an SQLite registry file: WAL, foreign keys,
 * synchronous FULL, schema migrated to TPA_STORE_SCHEMA_VERSION. A file that
 * is not a database, or has a newer schema, is refused naming the file. */
int tpa_store_open_sqlite(tpa_store **out, const char *path);
/* As above, but never creates: a file that is not there (or is a symbolic
 * link) is refused, TPA_ERR_NOT_FOUND "registry PATH does not exist (verifier
 * serve --registry creates one)", so an admin command's typo'd path does not
 * become a new, empty registry. */
int tpa_store_open_sqlite_existing(tpa_store **out, const char *path);
/* Opens a registry in a PostgreSQL database (a libpq connection string or
 * URI; its search_path's first schema holds the tables), creating the schema
 * if create is 1 and the schema is empty, and migrating an older one unless
 * create is -1 (a check: the schema as it is). Connections are pooled (8, or
 * TPA_REGISTRY_POOL from 1 to 32), each statement prepared once per
 * connection; writers of every replica serialize on one advisory lock. A
 * server that cannot be reached is TPA_ERR_UNAVAILABLE (also for calls
 * while it is down: a broken connection is reset at the next call); bad
 * credentials are refused as libpq says, without the password. */
int tpa_store_open_postgresql(tpa_store **out, const char *conninfo, int create);
/* Opens the registry a --registry option names, through the backend its
 * form says: "sqlite:PATH" or a plain PATH is an SQLite file (as above);
 * "postgresql://..." or "postgres://..." is a libpq connection URI of a
 * PostgreSQL database (tpa_store_open_postgresql), and so is a private file
 * (mode 0600) whose one line is such a URI; another "scheme://" is
 * refused. Programs open registries through this, so that a backend is
 * added here and nowhere else. */
int tpa_store_open(tpa_store **out, const char *where);
/* As tpa_store_open, but refuses a registry that does not exist yet (see
 * tpa_store_open_sqlite_existing): what admin commands open with; only
 * serve creates a registry. */
int tpa_store_open_existing(tpa_store **out, const char *where);
/* A consistent copy of the registry into OUT (created 0600), safe while a
 * verifier serves it; an OUT that exists is refused (TPA_ERR_CONFLICT). */
int tpa_store_backup(tpa_store *s, const char *out_path);
void tpa_store_close(tpa_store *s);
/* 1 if the registry is a server's (PostgreSQL): each statement is a round
 * trip, and a commit may wait for a standby. 0 for an SQLite file. */
int tpa_store_is_server(const tpa_store *s);

/* The registry's SQLite integrity check, schema version and counts
 * (TPA_ERR_PARSE naming what is wrong). */
int tpa_store_check(tpa_store_check_report *out, tpa_store *s);
/* The same of the registry file where names, as it is: never created,
 * migrated or written (a file that is not there is TPA_ERR_NOT_FOUND, a
 * foreign or damaged one TPA_ERR_PARSE naming what is wrong). */
int tpa_store_check_file(tpa_store_check_report *out, const char *where);
int tpa_store_check_sqlite(tpa_store_check_report *out, const char *path);

#define TPA_STORE_RESTORE_FORCE 1u    /* replace a registry that exists */
/* Puts a backup (from tpa_store_backup) in place of the registry where
 * names (a form tpa_store_open takes), never in use: the backup must pass
 * the integrity check, hold a registry's schema not newer than this
 * build's (an older one is migrated on the next open) and an audit chain
 * that verifies (TPA_ERR_PARSE, TPA_ERR_VERIFY, naming the backup); a
 * registry that exists is replaced only with TPA_STORE_RESTORE_FORCE
 * (TPA_ERR_CONFLICT), and never while a process holds it open
 * (TPA_ERR_CONFLICT: stop the verifier first). Atomic: a private copy beside
 * the registry, checked, fsync'd and renamed into place; the registry's
 * stale -wal and -shm files are removed. Refused, the registry is left as
 * it was. out (may be NULL) gets the backup's check. */
int tpa_store_restore(tpa_store_check_report *out, const char *where, const char *backup,
		      unsigned flags);
int tpa_store_restore_sqlite(tpa_store_check_report *out, const char *path,
			     const char *backup, unsigned flags);

/* Registers (or re-registers) a device, an AK and the TPM manufacturer its
 * EK certificate names (NULL: unknown, an earlier value stays) in one
 * transaction. A device may hold several AKs (an ECC and an RSA one, a
 * re-created one): the new AK joins those it holds, or with replace_aks
 * replaces them all. An AK registered to another device is
 * TPA_ERR_CONFLICT. Audited. A revoked device stays revoked; a tombstoned
 * one (deleted while revoked) is refused: TPA_ERR_REFUSED. */
int tpa_store_enroll(tpa_store *s, const char *id, const uint8_t *ek_pub,
		     size_t ek_pub_len, const uint8_t *ek_cert, size_t ek_cert_len,
		     const uint8_t *ak_pub, size_t ak_pub_len, const char *ak_name,
		     const char *tpm_manufacturer, int replace_aks, int64_t now);
/* TPA_ERR_NOT_FOUND if there is no such device (or AK). A device id may be
 * an alias: the id a device had before ids were derived from the EK's key. */
int tpa_store_get(tpa_device *out, tpa_store *s, const char *id);
int tpa_store_find_by_ak(tpa_device *out, tpa_store *s, const char *ak_name);
/* Revokes or reinstates a device. Audited. state_changed_at becomes now when
 * the state actually changes (revoking a revoked device keeps it). */
int tpa_store_set_state(tpa_store *s, const char *id, tpa_device_state st, int64_t now);
/* Deletes a device, its AKs, its last evidence and its baseline assignment;
 * its audit entries stay. A revoked device leaves a tombstone (device id,
 * when it was revoked and deleted, its hostname) in the same transaction:
 * its TPM cannot enroll again (tpa_store_enroll: TPA_ERR_REFUSED) until
 * tpa_store_untombstone. */
int tpa_store_remove(tpa_store *s, const char *id, int64_t now);
/* The last attestation of a device (verdict, outcome, baseline, evidence,
 * token: replacing the previous one) and an audit entry with the reasons and
 * the baseline. rec may be NULL (outcome the verdict's, no baseline, no
 * evidence, no token). A baseline named in rec must exist
 * (TPA_ERR_NOT_FOUND). A record without a token (NULL or "") clears the
 * previous one; a token_exp below 0, or not 0 without a token, is refused.
 * With rec->seal_tag the challenge is used up in the same transaction: if it
 * was already, nothing is recorded and the answer is TPA_ERR_USED. */
int tpa_store_record(tpa_store *s, const char *id, int compliant, const char *reasons,
		     const tpa_attest_record *rec, int64_t now);
/* Every device (without token bodies); *out is malloc'd (free it). */
int tpa_store_list(tpa_device **out, size_t *n, tpa_store *s);
/* Audit entries about a device (all with id NULL). */
int tpa_store_audit_count(size_t *n, tpa_store *s, const char *id);

/* Golden baselines. A name is 1..TPA_BASELINE_NAME_MAX bytes of
 * [A-Za-z0-9._-], a label 1..TPA_LABEL_MAX bytes of the same. Versions are
 * append-only. */

/* Adds a new version of baseline `name` (body: its JSON text, 1 byte to
 * TPA_BASELINE_BODY_MAX; the caller validated it); *version gets 1, 2, ...
 * Audited. */
int tpa_store_baseline_add(int *version, tpa_store *s, const char *name, const char *body,
			   int64_t now);
/* The body (malloc'd, NUL-terminated) of baseline name at version (0: the
 * latest) and the version it is (version_out may be NULL).
 * TPA_ERR_NOT_FOUND if none. */
int tpa_store_baseline_get(char **body, int *version_out, tpa_store *s, const char *name,
			   int version);
/* Every baseline name with its latest version, by name; *out malloc'd (NULL
 * when *n is 0). */
int tpa_store_baseline_list(tpa_baseline_info **out, size_t *n, tpa_store *s);
/* Assigns baseline `name` (which must exist: TPA_ERR_NOT_FOUND otherwise) to
 * a device id (kind "device", the device must exist) or to a group label
 * (kind "label"), replacing an earlier assignment; name NULL removes the
 * assignment (TPA_ERR_NOT_FOUND if there was none). Audited. */
int tpa_store_assign(tpa_store *s, const char *kind, const char *target, const char *name,
		     int64_t now);
/* Sets a device's group label ("" or NULL removes it). Audited. */
int tpa_store_set_label(tpa_store *s, const char *id, const char *label, int64_t now);
/* As tpa_store_assign, pinning version (1..): the device or label is
 * appraised against that version until assigned again, even when newer ones
 * are added (assigning an older one rolls back). 0 follows the latest. A
 * version that does not exist is refused, TPA_ERR_NOT_FOUND "no baseline
 * NAME@N". Audited. */
int tpa_store_assign_version(tpa_store *s, const char *kind, const char *target,
			     const char *name, int version, int64_t now);
/* Every version of baseline name (NULL: of every baseline), by name then
 * version (tpa_baseline_info.version and added_at are each version's);
 * *out malloc'd (NULL when *n is 0). TPA_ERR_NOT_FOUND if name has none. */
int tpa_store_baseline_versions(tpa_baseline_info **out, size_t *n, tpa_store *s,
				const char *name);
/* Every assignment of baseline name (NULL: of any), labels first, then
 * devices, each by target; *out malloc'd (NULL when *n is 0). */
int tpa_store_assignments(tpa_assignment **out, size_t *n, tpa_store *s, const char *name);
/* The baseline that applies to a device: its own assignment, else its
 * label's; the version the assignment pins, else the latest (version may be
 * NULL). TPA_ERR_NOT_FOUND if
 * none applies or there is no such device; TPA_ERR_LIMIT if name_cap is too
 * small. Cheap (no body): called on every attestation. */
int tpa_store_baseline_for(char *name, size_t name_cap, int *version, tpa_store *s,
			   const char *id);
/* The evidence of the device's last attestation: event log (malloc'd, may be
 * NULL with *len 0) and PCR JSON (malloc'd, may be NULL).
 * TPA_ERR_NOT_FOUND if there is no such device or it never attested. */
int tpa_store_last_evidence(uint8_t **event_log, size_t *len, char **pcrs_json,
			    tpa_store *s, const char *id);

/* Sets the TPM manufacturer of an enrolled device (e.g. "IBM", "IFX",
 * "STM"): 1..TPA_STORE_MANUFACTURER_MAX bytes of printable ASCII (0x20-0x7e).
 * TPA_ERR_NOT_FOUND if there is no such device. Not audited (not a
 * decision). Enrolling again keeps it. */
int tpa_store_set_manufacturer(tpa_store *s, const char *id, const char *manufacturer);
/* The last verdict's token (malloc'd, NUL-terminated) of a device, with the
 * device (dev may be NULL), in one read. TPA_ERR_NOT_FOUND if the device is
 * unknown; *token NULL if it never got one (or its last verdict had none). */
int tpa_store_last_token(char **token, tpa_device *dev, tpa_store *s, const char *id);

/* The verifier's sealing key (TPA_SEAL_KEY_LEN bytes), made on first use
 * and kept in the registry, so that sealed challenges hold across restarts
 * and verifiers that share the registry. */
int tpa_store_seal_key(uint8_t *key, tpa_store *s);
/* Uses up a sealed id (its TPA_SEAL_TAG_LEN-byte tag) until it expires:
 * 0, or TPA_ERR_USED if it was used up already. Expired entries go. */
int tpa_store_consume(tpa_store *s, const uint8_t *tag, int64_t expires_ms, int64_t now_ms);
/* The device id an id or alias names (id_out holds TPA_DEVICE_ID_LEN + 1
 * bytes); TPA_ERR_NOT_FOUND if neither. */
int tpa_store_resolve(char *id_out, tpa_store *s, const char *id);

/* The audit log is a hash chain (include/tpa/audit.h, docs/audit.md): every
 * row written carries the hash of the row before it and its own, computed
 * in the transaction that writes it. What follows reads it as it is, for
 * lib/audit.c to judge, and keeps the signed heads it makes. */

/* Where the log stands: the last row, the sequence's high mark, counts. */
int tpa_store_audit_state(tpa_audit_state *out, tpa_store *s);
/* The rows after seq `after`, in seq order, at most max (0: all), each to
 * cb. Returns what cb stopped with, 0 at the end, or an error. */
int tpa_store_audit_rows(tpa_store *s, int64_t after, size_t max, tpa_audit_row_cb cb,
			 void *ctx);
/* The signed heads in seq order (seq > from), or with descending in reverse
 * order (seq < from), at most max (0: all), each to cb. */
int tpa_store_audit_heads(tpa_store *s, int64_t from, int descending, size_t max,
			  tpa_audit_head_cb cb, void *ctx);
/* Keeps a signed head (the JWS of row seq's hash, TPA_AUDIT_HASH_LEN bytes,
 * signed by key kid at signed_at). The row must hold that hash still
 * (TPA_ERR_VERIFY if not); TPA_ERR_CONFLICT if a head at seq is kept
 * already. Not
 * audited (a row about it would never be under a head). */
int tpa_store_audit_add_head(tpa_store *s, int64_t seq, const uint8_t *hash,
			     int64_t signed_at, const char *kid, const char *jws);

/* Fleet naming (issue 14). */

/* The device id (id_out: TPA_DEVICE_ID_LEN + 1 bytes) that what names: a
 * full id (or alias), or a unique prefix of at least 8 lower-case hex digits
 * (the verifier's log prints 16), among the devices and the tombstones; or
 * else a host name a device reported (exact, case-insensitive), among the
 * devices, then the tombstones. An id or prefix that matches wins over a
 * host name that looks like one. TPA_ERR_INVALID_ARG if what is none of
 * these forms, TPA_ERR_NOT_FOUND if nothing matches, TPA_ERR_CONFLICT if
 * several do (naming up to 3 by their 16-digit prefixes). */
int tpa_store_find_device(char id_out[TPA_DEVICE_ID_LEN + 1], tpa_store *s, const char *what);
/* 1 if a revoked device with this id was deleted and not reinstated, 0 if
 * not, or an error. */
int tpa_store_tombstoned(tpa_store *s, const char *id);
/* Removes the tombstone of a deleted revoked device, so that its TPM may
 * enroll again. Audited ("reinstate"). TPA_ERR_NOT_FOUND if there is none. */
int tpa_store_untombstone(tpa_store *s, const char *id, int64_t now);

/* Keeps what a device reported about its host (see tpa/hostinfo.h: each
 * value valid, or "" for not reported, which keeps the value held) and
 * when it was seen: last_seen becomes now, first_seen too if it had none.
 * For an enrollment that the TPM proved and an attestation whose evidence
 * held, never for anything less. Not audited (reported, not a decision).
 * TPA_ERR_NOT_FOUND if there is no such device; TPA_ERR_INVALID_ARG for a
 * value the validator refuses. */
int tpa_store_set_host(tpa_store *s, const char *id, const tpa_host_info *host, int64_t now);

const char *tpa_device_state_name(tpa_device_state st); /* "active", "revoked", "pending" */
/* The state a name says ("active", "revoked", "pending"); TPA_ERR_INVALID_ARG
 * naming the states otherwise. */
int tpa_device_state_parse(tpa_device_state *out, const char *name);

/* Admission (issue 14, item 2; docs: README "Admission"). */

/* As tpa_store_enroll, and how the device is admitted, in the same
 * transaction: a new device is registered pending or not, with its
 * admission, its EK certificate's source and the inventory's label (and
 * name, which becomes the device's host name until the host reports its
 * own). A device registered already keeps its admission and pending state;
 * its EK certificate's source is refreshed. adm NULL: "open", not
 * pending, the source "nv" (or "none" without a certificate). */
int tpa_store_enroll_admitted(tpa_store *s, const char *id, const uint8_t *ek_pub,
			      size_t ek_pub_len, const uint8_t *ek_cert, size_t ek_cert_len,
			      const uint8_t *ak_pub, size_t ak_pub_len, const char *ak_name,
			      const char *tpm_manufacturer, int replace_aks,
			      const tpa_store_admission *adm, int64_t now);
/* A pending device becomes active, admission "approved". Audited
 * ("approve"). TPA_ERR_NOT_FOUND if there is no such device,
 * TPA_ERR_CONFLICT if it is not pending (naming its state). */
int tpa_store_approve(tpa_store *s, const char *id, int64_t now);
/* Adds or updates (same kind and value: name, label, no_ek_cert replaced)
 * n entries in one transaction: all or none. Every entry is checked first
 * (kind, value, name printable ASCII, label a label, no_ek_cert only for a
 * device): TPA_ERR_INVALID_ARG naming the entry's index. Audited (one row). */
int tpa_store_inventory_put(tpa_store *s, const tpa_inventory_entry *e, size_t n, int64_t now);
/* Removes one entry. Audited. TPA_ERR_NOT_FOUND if there is none. */
int tpa_store_inventory_remove(tpa_store *s, const char *kind, const char *value, int64_t now);
/* The entry of that kind and value: 0, or TPA_ERR_NOT_FOUND. */
int tpa_store_inventory_get(tpa_inventory_entry *out, tpa_store *s, const char *kind,
			    const char *value);
/* Every entry by kind and value; *out malloc'd (NULL when *n is 0). */
int tpa_store_inventory_list(tpa_inventory_entry **out, size_t *n, tpa_store *s);

/* Binds c (every field but added_at checked: TPA_ERR_INVALID_ARG naming
 * it) to its device. Audited ("cert-bind"). TPA_ERR_NOT_FOUND without such
 * a device, TPA_ERR_CONFLICT if that issuer and serial are bound to another
 * device (binding it again to the same device replaces the row). */
int tpa_store_cert_bind(tpa_store *s, const tpa_device_cert *c, int64_t now);
/* Audited ("cert-unbind"). TPA_ERR_NOT_FOUND if it is not bound. */
int tpa_store_cert_unbind(tpa_store *s, const char *issuer, const char *serial, int64_t now);
int tpa_store_cert_find(tpa_device_cert *out, tpa_store *s, const char *issuer,
			const char *serial);
/* The bindings of device_id, or of every device (NULL), by device then
 * issuer and serial; *out malloc'd (NULL when *n is 0). */
int tpa_store_cert_list(tpa_device_cert **out, size_t *n, tpa_store *s, const char *device_id);

/* Records a session (Start) or refreshes it (Interim-Update: the same NAS
 * and session id; started_at kept, the rest replaced). A new session is
 * audited ("session-start"); past TPA_SESSIONS_PER_DEVICE_MAX for its
 * device the least recently updated one is dropped. TPA_ERR_NOT_FOUND
 * without such a device; TPA_ERR_INVALID_ARG for a field out of bounds. */
int tpa_store_session_put(tpa_store *s, const tpa_session *se, int64_t now);
/* Ends a session (Stop). Audited ("session-stop"). TPA_ERR_NOT_FOUND if
 * none is open. */
int tpa_store_session_stop(tpa_store *s, const char *nas_ip, const char *session_id,
			   int64_t now);
/* The open sessions of device_id, or all (NULL), oldest first; *out
 * malloc'd (NULL when *n is 0). */
int tpa_store_sessions(tpa_session **out, size_t *n, tpa_store *s, const char *device_id);

/* Every device's last acted-on compliance; *out malloc'd (NULL when *n is 0). */
int tpa_store_notified_list(tpa_notified **out, size_t *n, tpa_store *s);
/* In one transaction: st becomes its device's acted-on compliance (a row
 * for a device the registry no longer has is removed instead when
 * st->reason is "deleted"), the n items join the outbox (kind, target,
 * device_id, body, next_at; the rest ignored), and the change is audited
 * ("compliance-change", naming the reason and the deliveries). All or
 * nothing. */
int tpa_store_notify_commit(tpa_store *s, const tpa_notified *st, const tpa_outbox_item *items,
			    size_t n, int64_t now);
/* Up to max items of kind (and target, or any: NULL) due at now
 * (next_at <= now), oldest first; *out malloc'd, each body malloc'd: free
 * with tpa_outbox_items_free. */
int tpa_store_outbox_due(tpa_outbox_item **out, size_t *n, tpa_store *s, const char *kind,
			 const char *target, int64_t now, size_t max);
void tpa_outbox_items_free(tpa_outbox_item *items, size_t n);
/* The earliest next_at of kind (and target, or any: NULL); 0 if none. */
int tpa_store_outbox_next(int64_t *next_at, tpa_store *s, const char *kind, const char *target);
/* The item is settled: removed, and audited as event ("radius-ack",
 * "caep-delivered", "caep-gave-up", ...) with result as its detail.
 * TPA_ERR_NOT_FOUND if it is not there. */
int tpa_store_outbox_done(tpa_store *s, int64_t id, const char *event, const char *result,
			  int64_t now);
/* Another attempt failed: attempts + 1, next_at, last_error (not audited). */
int tpa_store_outbox_retry(tpa_store *s, int64_t id, int64_t next_at, const char *error);
/* How many items of kind (and target, or any: NULL) wait. */
int tpa_store_outbox_count(size_t *n, tpa_store *s, const char *kind, const char *target);

/* An audit row for something done outside the registry (event: lower-case
 * letters and '-', 1..32; detail printable, at most 1024 bytes; id a device
 * id or NULL). */
int tpa_store_audit_note(tpa_store *s, const char *id, const char *event, const char *detail,
			 int64_t now);
/* A number that changes whenever another connection (another process, or
 * another tpa_store on the same file) commits to the registry: for a
 * watcher to know when to look again. */
int tpa_store_data_version(int64_t *v, tpa_store *s);
/* The registry's size as its backend counts it (SQLite: pages in use,
 * the WAL's included, times the page size): what capacity planning
 * measures per attestation (tpa-fleet --registry). */
int tpa_store_bytes(int64_t *n, tpa_store *s);

/* The one way audit rows leave the registry (lib/audit.c tpa_audit_prune,
 * verifier audit prune, docs/audit.md "Retention"): in one transaction, an
 * "audit-prune" row is chained to the log, naming the rows pruned (from the
 * first there is to upto), the archive they were written to (a name of at
 * most 255 printable bytes and its SHA-256 in hex) and the row the log then
 * starts at with the hash it links to; then rows up to upto are deleted,
 * past the append-only rule for that transaction alone. *first_kept gets
 * the row the log starts at. upto must be a row there is, below the last. */
int tpa_store_audit_prune(int64_t *first_kept, tpa_store *s, int64_t upto, const char *archive,
			  const char *archive_sha256, int64_t now);
/* Retention of evidence: the last evidence of devices whose last
 * attestation is before before (Unix seconds) is deleted; *n how many. */
int tpa_store_evidence_prune(size_t *n, tpa_store *s, int64_t before);

#endif
