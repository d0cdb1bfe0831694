/* SPDX-License-Identifier: BSD-3-Clause */
/* The device registry: devices (identified by their EK), their AKs, the
 * last attestation, and an append-only audit log. An interface, so that
 * another backend (PostgreSQL) can replace the embedded SQLite one without
 * touching the code that uses it. */
#ifndef TPA_STORE_H
#define TPA_STORE_H

#include <stddef.h>
#include <stdint.h>

#define TPA_DEVICE_ID_LEN 64          /* hex SHA-256 of the EK's TPMT_PUBLIC */
#define TPA_STORE_SCHEMA_VERSION 1

typedef enum {
	TPA_DEVICE_ACTIVE = 1,
	TPA_DEVICE_REVOKED = 2,
} tpa_device_state;

typedef struct {
	char id[TPA_DEVICE_ID_LEN + 1];
	tpa_device_state state;
	int64_t enrolled_at;              /* Unix seconds */
	char ak_name[2 * 66 + 1];         /* the current AK, hex */
	int64_t last_attest_at;           /* 0 if never */
	char last_verdict[32];            /* "compliant", "non-compliant", "" */
} tpa_device;

typedef struct tpa_store tpa_store;

/* The operations a backend provides; the tpa_store_* functions dispatch. */
typedef struct {
	void (*close)(tpa_store *s);
	int (*enroll)(tpa_store *s, const char *id, const uint8_t *ek_pub, size_t ek_pub_len,
		      const uint8_t *ek_cert, size_t ek_cert_len, const uint8_t *ak_pub,
		      size_t ak_pub_len, const char *ak_name, int64_t now);
	int (*get)(tpa_device *out, tpa_store *s, const char *id);
	int (*find_by_ak)(tpa_device *out, tpa_store *s, const char *ak_name);
	int (*set_state)(tpa_store *s, const char *id, tpa_device_state st, int64_t now);
	int (*remove)(tpa_store *s, const char *id, int64_t now);
	int (*record)(tpa_store *s, const char *id, int compliant, const char *reasons,
		      int64_t now);
	int (*list)(tpa_device **out, size_t *n, tpa_store *s);
	int (*audit_count)(size_t *n, tpa_store *s, const char *id);
} tpa_store_ops;

struct tpa_store {
	const tpa_store_ops *ops;
};

/* Opens (creating if needed) an SQLite registry file: WAL, foreign keys,
 * synchronous FULL, schema migrated to TPA_STORE_SCHEMA_VERSION. A file that
 * is not a database, or has a newer schema, is refused naming the file. */
int tpa_store_open_sqlite(tpa_store **out, const char *path);
void tpa_store_close(tpa_store *s);

/* Registers (or re-registers) a device and its current AK in one
 * transaction; an older AK of the device is replaced. Audited. A revoked
 * device stays revoked. */
int tpa_store_enroll(tpa_store *s, const char *id, const uint8_t *ek_pub,
		     size_t ek_pub_len, const uint8_t *ek_cert, size_t ek_cert_len,
		     const uint8_t *ak_pub, size_t ak_pub_len, const char *ak_name,
		     int64_t now);
/* TPA_ERR_NOT_FOUND if there is no such device (or AK). */
int tpa_store_get(tpa_device *out, tpa_store *s, const char *id);
int tpa_store_find_by_ak(tpa_device *out, tpa_store *s, const char *ak_name);
int tpa_store_set_state(tpa_store *s, const char *id, tpa_device_state st, int64_t now);
/* Deletes a device and its AKs; its audit entries stay. */
int tpa_store_remove(tpa_store *s, const char *id, int64_t now);
/* The last attestation of a device, and an audit entry with the reasons. */
int tpa_store_record(tpa_store *s, const char *id, int compliant, const char *reasons,
		     int64_t now);
/* Every device; *out is malloc'd (free it). */
int tpa_store_list(tpa_device **out, size_t *n, tpa_store *s);
/* Audit entries about a device (all with id NULL). */
int tpa_store_audit_count(size_t *n, tpa_store *s, const char *id);

const char *tpa_device_state_name(tpa_device_state st); /* "active", "revoked" */

#endif
