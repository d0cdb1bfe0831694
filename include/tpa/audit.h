/* SPDX-License-Identifier: BSD-3-Clause */
/* The tamper-evident audit log. Every row of the registry's audit log
 * carries the hash of the row before it (a hash chain), and the chain's head
 * is signed at intervals with the verifier's token key (a "signed head"), so
 * that a row deleted, edited or moved, rows cut off after a signed head, or a
 * head forged, are found and the first broken row named. docs/audit.md gives
 * the encoding, so that the chain can be checked without this code.
 *
 * The registry (tpa/store.h) keeps the rows and the heads; this module
 * hashes, signs, checks and exports them. */
#ifndef TPA_AUDIT_H
#define TPA_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/store.h"

#define TPA_AUDIT_HASH_LEN 32                 /* SHA-256 */
#define TPA_AUDIT_FORMAT "tpa-audit-v1"       /* the encoding's name, hashed first */
#define TPA_AUDIT_HEAD_TYP "tpa-audit-head"   /* the JWS typ of a signed head */
#define TPA_AUDIT_REASON_MAX 256
#define TPA_AUDIT_DEFAULT_SIGN_ROWS 100
#define TPA_AUDIT_DEFAULT_SIGN_INTERVAL_S 300

/* The hash of one row: SHA-256 over the length-prefixed encoding of its
 * seq, at, device_id (or its absence), event, detail and prev_hash
 * (TPA_AUDIT_HASH_LEN bytes; the first row's is all zero). out holds
 * TPA_AUDIT_HASH_LEN bytes. */
int tpa_audit_row_hash(uint8_t *out, const tpa_audit_row *r);

#endif
