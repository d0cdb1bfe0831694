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
#include "tpa/token.h"

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

typedef struct {
	int intact;                        /* 1: nothing is wrong */
	int64_t broken_seq;                /* the first row (or head) found wrong */
	char reason[TPA_AUDIT_REASON_MAX]; /* e.g. "row 17: hash does not match its
					    * contents"; "" if intact */
	int64_t rows;                      /* rows that checked out */
	int64_t last_seq;                  /* the last row's seq, 0 if none */
	int64_t first_seq;                 /* the first row's: 1, or after pruning
					    * the row an audit-prune row names */
	int64_t heads;                     /* signed heads that checked out */
	int64_t last_head_seq;             /* the latest of them, 0 if none */
	int signatures;                    /* 1: their signatures were checked */
} tpa_audit_report;

/* Checks the whole log: from the first row, every row's hash against its
 * contents, its prev_hash against the row before, seq continuity from 1 (or
 * from the row an audit-prune row of the chain names as the log's start,
 * linked to the hash it names: tpa_audit_prune); signed heads of pruned rows
 * are in their archive;
 * then every signed head (with jwks_json, its signature by a key of that
 * JWKS; the row it names still there and holding its hash) and, if given,
 * extra_head: the JWS of a head kept elsewhere (it needs jwks_json); last,
 * that no rows were cut off the end. The report names the first thing
 * wrong, by seq. 0 intact, TPA_ERR_VERIFY broken (tpa_err_last() is the
 * reason), or another error if the check could not be done. */
int tpa_audit_verify(tpa_audit_report *out, tpa_store *s, const char *jwks_json,
		     const char *extra_head);

/* Signs heads at intervals for a running verifier, or once for an admin. */
typedef struct tpa_audit_signer tpa_audit_signer;

typedef struct {
	uint32_t rows;        /* a head after this many new rows (0: the default) */
	uint32_t interval_s;  /* or after this long since the last (0: the default) */
} tpa_audit_sign_opts;

/* The store is borrowed; o may be NULL (the defaults). */
int tpa_audit_signer_new(tpa_audit_signer **out, tpa_store *s, const tpa_audit_sign_opts *o);
void tpa_audit_signer_free(tpa_audit_signer *g);

/* Signs the chain's head with k when it is due: o.rows rows or more since
 * the last head, or o.interval_s since it was signed (since the first call,
 * if k and prev signed none), or with force any row not under it. Never
 * blindly: first it checks every row since the latest head that k or prev
 * (the key before k, or NULL) signed and that still matches its row (the
 * first call finds it; from then on the signer remembers how far it
 * checked). 1 signed (*seq_out, if not NULL, its seq), 0 nothing due,
 * TPA_ERR_VERIFY the chain is broken (nothing is signed, now or later:
 * tpa_err_last() names the row), or an error. */
int tpa_audit_signer_tick(tpa_audit_signer *g, const tpa_token_key *k,
			  const tpa_token_key *prev, int64_t now, int force, int64_t *seq_out);

/* Writes the log as JSON text through write (called with pieces; it
 * returns 0, or anything else to stop): the format, every row with its
 * prev_hash and hash, and the latest signed head (null if none), so that
 * the chain can be checked offline (docs/audit.md). */
typedef int (*tpa_audit_write_fn)(void *ctx, const char *text, size_t len);
int tpa_audit_export(tpa_store *s, tpa_audit_write_fn write, void *ctx);

/* Which rows a JSON-lines export gives (the defaults: all). */
typedef struct {
	int64_t since_seq;    /* rows with seq >= this (0: from the first) */
	int since_time;       /* 1: only rows with at >= since_at */
	int64_t since_at;     /* Unix seconds */
	int64_t until_seq;    /* rows with seq <= this, and no head (0: to the end) */
} tpa_audit_export_opts;

/* The log as JSON lines for a SIEM (docs/audit.md, "Exporting"): one
 * object per row, "type":"row", with seq, time (ISO 8601 UTC), at,
 * device_id, event, detail (an object when the text is a JSON object, else
 * the text), for an attestation a "verdict" object (compliant, outcome,
 * baseline, reasons) read from its detail, prev_hash and hash; then, if
 * the log has one, a last line "type":"signed_head" with the latest head.
 * o may be NULL. */
int tpa_audit_export_lines(tpa_store *s, const tpa_audit_export_opts *o,
			   tpa_audit_write_fn write, void *ctx);

/* Retention (docs/audit.md, "Retention"): the rows older than before (Unix
 * seconds; the last row always stays) leave the registry, archived first.
 * The log must verify (a broken one is refused: pruning must not hide what
 * broke it). The rows are written as JSON lines (tpa_audit_export_lines) to
 * archive_path, created (never overwritten, never through a symlink, 0600)
 * and fsync'd with its directory; then tpa_store_audit_prune deletes them in
 * one transaction with an audit-prune row that names them, the archive's
 * name and SHA-256, and where the log now starts. pruned 0 with nothing to
 * prune (no file is made). */
typedef struct {
	int64_t pruned;            /* rows pruned */
	int64_t first, last;       /* their seqs */
	int64_t first_kept;        /* the row the log starts at now */
	char sha256[65];           /* the archive's */
} tpa_audit_prune_report;
int tpa_audit_prune(tpa_audit_prune_report *out, tpa_store *s, int64_t before,
		    const char *archive_path, int64_t now);

/* Retention of evidence: the last evidence (event log, PCRs) of every
 * device not attested since before (a time not after now) goes to a new
 * archive (JSON lines: {"device", "last_attest_at", "event_log" in base64,
 * "pcrs"}; O_EXCL, O_NOFOLLOW, 0600, fsync'd with its directory), and only
 * then is dropped from the registry (tpa_store_evidence_prune). *n the
 * devices whose evidence was dropped; none to archive makes no file. A
 * device that attests meanwhile keeps its new evidence. */
int tpa_audit_evidence_prune(size_t *n, tpa_store *s, int64_t before,
			     const char *archive_path, int64_t now);

#endif
