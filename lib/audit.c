/* SPDX-License-Identifier: BSD-3-Clause */
/* The audit log's hash chain and signed heads: the encoding, the check that
 * names the first broken row, the signer, the export. Everything read from
 * the registry is untrusted: every length and type is checked before use. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "tpa/audit.h"
#include "tpa/err.h"
#include "tpa/fileio.h"
#include "tpa/timefmt.h"
#include "tpa/tpm_decode.h"

#define BATCH 512           /* rows read under one lock of the store */
#define HEAD_BATCH 16       /* heads looked at per read, newest first */
#define HEX_LEN (2 * TPA_AUDIT_HASH_LEN)

static const uint8_t genesis[TPA_AUDIT_HASH_LEN];

/* ---- the encoding (docs/audit.md) ---- */

static int put(EVP_MD_CTX *c, const void *b, size_t n)
{
	return n == 0 || EVP_DigestUpdate(c, b, n) == 1 ? 0 : -1;
}

static int put_i64(EVP_MD_CTX *c, int64_t v)
{
	uint64_t u = (uint64_t)v;
	uint8_t b[8];
	int i;

	for (i = 7; i >= 0; i--, u >>= 8)
		b[i] = (uint8_t)u;
	return put(c, b, sizeof(b));
}

/* A byte string: its length (4 bytes, big-endian), then its bytes. */
static int put_bytes(EVP_MD_CTX *c, const void *b, size_t n)
{
	uint8_t len[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
			   (uint8_t)n };

	return put(c, len, sizeof(len)) < 0 || put(c, b, n) < 0 ? -1 : 0;
}

int tpa_audit_row_hash(uint8_t *out, const tpa_audit_row *r)
{
	static const uint8_t absent = 0, present = 1;
	EVP_MD_CTX *c;
	int bad;

	if (!out || !r || !r->prev_hash || r->prev_hash_len != TPA_AUDIT_HASH_LEN ||
	    (!r->event && r->event_len) || (!r->detail && r->detail_len))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "audit hash: a malformed row");
	if (r->device_id_len > UINT32_MAX || r->event_len > UINT32_MAX ||
	    r->detail_len > UINT32_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "a field longer than 4 GiB");
	if (!(c = EVP_MD_CTX_new()))
		return tpa_err_fail(TPA_ERR_NOMEM, "audit hash: out of memory");
	bad = EVP_DigestInit_ex(c, tpa_hash_md(TPM2_ALG_SHA256), NULL) != 1 ||
	      put_bytes(c, TPA_AUDIT_FORMAT, strlen(TPA_AUDIT_FORMAT)) < 0 ||
	      put_i64(c, r->seq) < 0 || put_i64(c, r->at) < 0 ||
	      (r->device_id ? put(c, &present, 1) < 0 ||
	       put_bytes(c, r->device_id, r->device_id_len) < 0 : put(c, &absent, 1) < 0) ||
	      put_bytes(c, r->event, r->event_len) < 0 ||
	      put_bytes(c, r->detail, r->detail_len) < 0 ||
	      put(c, r->prev_hash, TPA_AUDIT_HASH_LEN) < 0 ||
	      EVP_DigestFinal_ex(c, out, NULL) != 1;
	EVP_MD_CTX_free(c);
	return bad ? tpa_err_fail(TPA_ERR_CRYPTO, "audit hash: SHA-256 failed") : 0;
}

/* ---- walking the chain ---- */

/* How far the chain checked out, and the first broken row. */
typedef struct {
	int64_t seq;                        /* the last good row (0: none yet) */
	uint8_t hash[TPA_AUDIT_HASH_LEN];   /* its hash (the genesis value before) */
	int64_t rows;
	int64_t broken;                     /* the first broken row's seq */
	int is_broken;
	char reason[TPA_AUDIT_REASON_MAX];
	int error;                          /* an error that stopped the walk */
	/* A log that does not start at row 1 (pruned): where it starts, the
	 * hash its first row links to, and whether an audit-prune row of the
	 * chain says so (audited pruning: tpa_audit_prune). */
	int64_t anchor;
	uint8_t anchor_hash[TPA_AUDIT_HASH_LEN];
	int anchor_ok;
} chain;

static void chain_start(chain *c, int64_t seq, const uint8_t *hash)
{
	memset(c, 0, sizeof(*c));
	c->seq = seq;
	memcpy(c->hash, hash ? hash : genesis, TPA_AUDIT_HASH_LEN);
}

static int broke(chain *c, int64_t seq, const char *fmt, ...) TPA_PRINTF(3, 4);
static int broke(chain *c, int64_t seq, const char *fmt, ...)
{
	va_list ap;

	c->is_broken = 1;
	c->broken = seq;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	return 1;
}

/* " (row 17 missing?)", " (rows 17 to 19 missing?)" or "" when from > to. */
static const char *missing(char *buf, size_t cap, int64_t from, int64_t to, const char *q)
{
	if (from > to)
		buf[0] = '\0';
	else if (from == to)
		snprintf(buf, cap, " (row %" PRId64 " missing%s)", from, q);
	else
		snprintf(buf, cap, " (rows %" PRId64 " to %" PRId64 " missing%s)", from, to, q);
	return buf;
}

/* Rows cut off the end: the log ends at last, its sequence reached high. */
static void cut_off(chain *c, int64_t last, int64_t high)
{
	char gone[64];

	if (high == last + 1)
		snprintf(gone, sizeof(gone), "row %" PRId64 " is", high);
	else
		snprintf(gone, sizeof(gone), "rows %" PRId64 " to %" PRId64 " are", last + 1, high);
	broke(c, last + 1, "%s gone: the log ends at row %" PRId64 " but its sequence reached %"
	      PRId64, gone, last, high);
}

/* Whether an audit-prune row's detail ("...; the log starts at row N,
 * linked to HEX") names row first and the hash it links to. */
static int prune_names(const tpa_audit_row *r, int64_t first, const uint8_t *hash)
{
	static const char key[] = "; the log starts at row ";
	char buf[1100], hex[HEX_LEN + 1], *p;
	long long n;
	int used = 0;

	if (!r->detail || r->detail_len >= sizeof(buf))
		return 0;
	memcpy(buf, r->detail, r->detail_len);
	buf[r->detail_len] = '\0';
	if (!(p = strstr(buf, key)) ||
	    sscanf(p + sizeof(key) - 1, "%lld, linked to %64[0-9a-f]%n", &n, hex, &used) != 2 ||
	    p[sizeof(key) - 1 + (size_t)used] != '\0' || strlen(hex) != HEX_LEN)
		return 0;
	tpa_hex(buf, hash, TPA_AUDIT_HASH_LEN);
	return n == first && strcmp(buf, hex) == 0;
}

static int chain_row(void *ctx, const tpa_audit_row *r)
{
	chain *c = ctx;
	uint8_t h[TPA_AUDIT_HASH_LEN];
	int64_t want = c->seq + 1, s = r->seq;
	char gap[80];
	int err;

	if (r->malformed)
		return broke(c, s, "row %" PRId64 ": %s", s, r->malformed);
	if (!r->hash || r->hash_len != TPA_AUDIT_HASH_LEN)
		return broke(c, s, "row %" PRId64 ": its hash is %s, not %d bytes", s,
			     r->hash ? "of another size" : "missing", TPA_AUDIT_HASH_LEN);
	if (!r->prev_hash || r->prev_hash_len != TPA_AUDIT_HASH_LEN)
		return broke(c, s, "row %" PRId64 ": its prev_hash is %s, not %d bytes", s,
			     r->prev_hash ? "of another size" : "missing", TPA_AUDIT_HASH_LEN);
	if (s < want)
		return broke(c, s, "row %" PRId64 ": out of order (rows are numbered from 1, "
			     "each one above the one before)", s);
	/* The first row, not row 1: taken as it links, on condition that an
	 * audit-prune row further on names it (checked at the end: anchored). */
	if (c->seq == 0 && c->rows == 0 && s > 1 && !c->anchor) {
		c->anchor = s;
		memcpy(c->anchor_hash, r->prev_hash, TPA_AUDIT_HASH_LEN);
		c->seq = s - 1;
		memcpy(c->hash, r->prev_hash, TPA_AUDIT_HASH_LEN);
		want = s;
	}
	if ((err = tpa_audit_row_hash(h, r)) < 0) {
		if (err != TPA_ERR_LIMIT)
			return c->error = err;
		return broke(c, s, "row %" PRId64 ": %s", s, tpa_err_last());
	}
	if (memcmp(h, r->hash, TPA_AUDIT_HASH_LEN) != 0)
		return broke(c, s, "row %" PRId64 ": hash does not match its contents", s);
	if (memcmp(r->prev_hash, c->hash, TPA_AUDIT_HASH_LEN) != 0) {
		if (c->seq == 0)
			return broke(c, s, "row %" PRId64 ": prev_hash is not the chain's start "
				     "(%d zero bytes)%s", s, TPA_AUDIT_HASH_LEN,
				     missing(gap, sizeof(gap), 1, s - 1, "?"));
		return broke(c, s, "row %" PRId64 ": prev_hash does not link to row %" PRId64 "%s",
			     s, c->seq, missing(gap, sizeof(gap), want, s - 1, "?"));
	}
	/* Linked, yet not the next seq: rows after c->seq went before this
	 * one was written (the writer links to the last row there is). */
	if (s != want && c->seq == 0)
		return broke(c, s, "row %" PRId64 ": the log starts here, not at row 1%s", s,
			     missing(gap, sizeof(gap), 1, s - 1, ""));
	if (s != want)
		return broke(c, s, "row %" PRId64 ": follows row %" PRId64 "%s", s, c->seq,
			     missing(gap, sizeof(gap), want, s - 1, ""));
	c->seq = s;
	memcpy(c->hash, r->hash, TPA_AUDIT_HASH_LEN);
	c->rows++;
	if (c->anchor && !c->anchor_ok && r->event && r->event_len == 11 &&
	    memcmp(r->event, "audit-prune", 11) == 0)
		c->anchor_ok = prune_names(r, c->anchor, c->anchor_hash);
	return 0;
}

/* After a walk: a log that starts past row 1 with no audit-prune row of
 * its chain saying so lost its first rows. */
static void anchored(chain *c)
{
	char gap[80];

	if (!c->anchor || c->anchor_ok || (c->is_broken && c->broken < c->anchor))
		return;
	broke(c, c->anchor, "row %" PRId64 ": the log starts here, not at row 1%s, and no "
	      "audit-prune row says so", c->anchor, missing(gap, sizeof(gap), 1, c->anchor - 1, ""));
}

/* Checks the rows after c->seq (after: where to read from) to the end or
 * the first broken one: 0 (c says which), or an error. */
static int walk(chain *c, tpa_store *s, int64_t after)
{
	int64_t n;
	int rc;

	for (;;) {
		n = c->rows;
		if ((rc = tpa_store_audit_rows(s, after, BATCH, chain_row, c)) < 0)
			return rc;
		if (c->error)
			return c->error;
		if (rc > 0 || c->rows - n < BATCH)
			return 0;
		after = c->seq;
	}
}

/* ---- one row, for the heads ---- */

typedef struct {
	int found;
	int64_t seq;
	uint8_t hash[TPA_AUDIT_HASH_LEN];   /* the stored hash */
	int sound;                          /* well-formed and matching its contents */
} one_row;

static int take_row(void *ctx, const tpa_audit_row *r)
{
	one_row *o = ctx;
	uint8_t h[TPA_AUDIT_HASH_LEN];

	o->found = 1;
	o->seq = r->seq;
	if (!r->malformed && r->hash && r->hash_len == TPA_AUDIT_HASH_LEN) {
		memcpy(o->hash, r->hash, TPA_AUDIT_HASH_LEN);
		o->sound = tpa_audit_row_hash(h, r) == 0 &&
			   memcmp(h, r->hash, TPA_AUDIT_HASH_LEN) == 0;
	}
	return 1;
}

/* Row seq: o->found 0 if there is none. */
static int read_row(one_row *o, tpa_store *s, int64_t seq)
{
	int rc;

	memset(o, 0, sizeof(*o));
	if (seq == INT64_MIN)
		return 0;
	if ((rc = tpa_store_audit_rows(s, seq - 1, 1, take_row, o)) < 0)
		return rc;
	if (o->found && o->seq != seq)
		o->found = 0;
	return 0;
}

/* ---- heads ---- */

/* What a head's JWS says: {"format", "seq", "hash", "iat"}. */
typedef struct {
	int64_t seq, iat;
	uint8_t hash[TPA_AUDIT_HASH_LEN];
} head_claims;

static int parse_hash(uint8_t *out, const char *hex)
{
	size_t i;

	if (!hex || strlen(hex) != HEX_LEN)
		return -1;
	for (i = 0; i < TPA_AUDIT_HASH_LEN; i++) {
		int hi = tpa_hex_digit(hex[2 * i]), lo = tpa_hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int parse_claims(head_claims *hc, const char *payload)
{
	json_t *j = json_loads(payload, JSON_REJECT_DUPLICATES, NULL);
	const char *fmt = NULL, *hex = NULL;
	json_int_t seq = 0, iat = 0;
	int ok;

	ok = j && json_unpack(j, "{s:s, s:I, s:s, s:I}", "format", &fmt, "seq", &seq, "hash",
			      &hex, "iat", &iat) == 0 && strcmp(fmt, TPA_AUDIT_FORMAT) == 0 &&
	     seq >= 1 && parse_hash(hc->hash, hex) == 0;
	hc->seq = seq;
	hc->iat = iat;
	json_decref(j);
	return ok ? 0 : -1;
}

/* The claims of a head's JWS: signed by a key of jwks (or, without one,
 * read unchecked). 0, or -1 with why in why. */
static int head_open(head_claims *hc, const char *jwks, const char *jws, char *why,
		     size_t cap)
{
	char *payload = NULL;
	const char *m;
	int err;

	err = jwks ? tpa_token_verify_payload(&payload, jwks, jws, TPA_AUDIT_HEAD_TYP) :
		tpa_token_peek_payload(&payload, jws);
	if (err < 0) {
		m = tpa_err_last();
		if (strncmp(m, "token: ", 7) == 0)
			m += 7;
		snprintf(why, cap, "%s", m);
		return -1;
	}
	err = parse_claims(hc, payload);
	free(payload);
	if (err < 0)
		snprintf(why, cap, "its JWS is not a head of the " TPA_AUDIT_FORMAT " log");
	return err;
}

/* A copy of a kept head, to look at once the store's lock is given back. */
typedef struct {
	int64_t seq, signed_at;
	uint8_t hash[TPA_AUDIT_HASH_LEN];
	int hash_ok;
	char *jws;
	char malformed[96];
} head_copy;

typedef struct {
	head_copy v[HEAD_BATCH];
	size_t n;
	int error;
} head_batch;

static int take_head(void *ctx, const tpa_audit_signed_head *h)
{
	head_batch *b = ctx;
	head_copy *c = &b->v[b->n];

	memset(c, 0, sizeof(*c));
	c->seq = h->seq;
	c->signed_at = h->signed_at;
	if (h->hash && h->hash_len == TPA_AUDIT_HASH_LEN) {
		memcpy(c->hash, h->hash, TPA_AUDIT_HASH_LEN);
		c->hash_ok = 1;
	}
	if (h->malformed)
		snprintf(c->malformed, sizeof(c->malformed), "%s", h->malformed);
	else if (!h->jws)
		snprintf(c->malformed, sizeof(c->malformed), "it has no JWS");
	else if (!(c->jws = strdup(h->jws)))
		return b->error = tpa_err_fail(TPA_ERR_NOMEM, "audit: out of memory");
	b->n++;
	return b->n == HEAD_BATCH ? 1 : 0;
}

static void batch_clear(head_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->v[i].jws);
	b->n = 0;
}

static int read_heads(head_batch *b, tpa_store *s, int64_t from, int descending)
{
	int rc;

	batch_clear(b);
	b->error = 0;
	rc = tpa_store_audit_heads(s, from, descending, HEAD_BATCH, take_head, b);
	if (b->error)
		return b->error;
	return rc < 0 ? rc : 0;
}

/* ---- verify ---- */

typedef struct {
	tpa_store *s;
	const char *jwks;
	int64_t last_seq;          /* the log's last row */
	int64_t good_head;         /* the last head that checked out (0: none) */
	int64_t first_seq;         /* the log's first row, when pruned (0: row 1) */
	uint8_t anchor_hash[TPA_AUDIT_HASH_LEN];   /* what that row links to */
	chain *c;                  /* the rows' verdict; a head's lands here too */
} verifier;

/* Whether a head (seq, its table hash, its JWS) checks out; records the
 * first problem in v->c (1), 0 if it does, or an error. */
static int check_head(verifier *v, const head_copy *h, int kept)
{
	char why[TPA_AUDIT_REASON_MAX], what[64];
	head_claims hc;
	one_row row;
	int err;

	if (kept)
		snprintf(what, sizeof(what), "signed head at seq %" PRId64, h->seq);
	else
		snprintf(what, sizeof(what), "the head given");
	if (h->malformed[0])
		return broke(v->c, h->seq, "%s: %s", what, h->malformed);
	if (kept && !h->hash_ok)
		return broke(v->c, h->seq, "%s: its hash is not %d bytes", what,
			     TPA_AUDIT_HASH_LEN);
	if (head_open(&hc, v->jwks, h->jws, why, sizeof(why)) < 0)
		return broke(v->c, h->seq, "%s: %s", what, why);
	if (!kept)
		snprintf(what, sizeof(what), "the head given (seq %" PRId64 ")", hc.seq);
	if (kept && (hc.seq != h->seq || memcmp(hc.hash, h->hash, TPA_AUDIT_HASH_LEN) != 0))
		return broke(v->c, h->seq, "%s: its seq or hash is not what its JWS signed "
			     "(seq %" PRId64 ")", what, hc.seq);
	if (hc.seq > v->last_seq)
		return broke(v->c, hc.seq, "%s names a row that is gone (the log ends at %s%"
			     PRId64 ")", what, v->last_seq ? "row " : "", v->last_seq);
	/* A row pruned through tpa_audit_prune is in its archive; the last of
	 * them is the hash the log's first row links to. */
	if (v->first_seq && hc.seq < v->first_seq) {
		if (hc.seq == v->first_seq - 1 &&
		    memcmp(hc.hash, v->anchor_hash, TPA_AUDIT_HASH_LEN) != 0)
			return broke(v->c, v->first_seq, "%s does not match the hash row %" PRId64
				     " (the first kept) links to", what, v->first_seq);
		if (kept)
			v->good_head = hc.seq;
		return 0;
	}
	if ((err = read_row(&row, v->s, hc.seq)) < 0)
		return err;
	if (!row.found)
		return broke(v->c, hc.seq, "%s names a row that is gone", what);
	if (memcmp(row.hash, hc.hash, TPA_AUDIT_HASH_LEN) != 0) {
		char span[80];

		if (v->good_head + 1 < hc.seq)
			snprintf(span, sizeof(span), "rows %" PRId64 " to %" PRId64 " were",
				 v->good_head + 1, hc.seq);
		else
			snprintf(span, sizeof(span), "row %" PRId64 " was", hc.seq);
		return broke(v->c, hc.seq, "%s does not match row %" PRId64 ": %s rewritten "
			     "after it was signed", what, hc.seq, span);
	}
	if (kept)
		v->good_head = hc.seq;
	return 0;
}

/* Every kept head below the first broken row, in seq order. */
static int check_heads(verifier *v, tpa_audit_report *out)
{
	head_batch b = { .n = 0 };
	int64_t from = INT64_MIN;
	size_t i;
	int err = 0, rc = 0;

	for (;;) {
		if ((err = read_heads(&b, v->s, from, 0)) < 0 || b.n == 0)
			break;
		for (i = 0; i < b.n && rc == 0; i++) {
			if (v->c->is_broken && b.v[i].seq >= v->c->broken)
				break;
			if ((rc = check_head(v, &b.v[i], 1)) < 0) {
				err = rc;
				break;
			}
			if (rc == 0) {
				out->heads++;
				out->last_head_seq = b.v[i].seq;
			}
		}
		if (err < 0 || rc != 0 || i < b.n || b.n < HEAD_BATCH)
			break;
		from = b.v[b.n - 1].seq;
	}
	batch_clear(&b);
	return err;
}

int tpa_audit_verify(tpa_audit_report *out, tpa_store *s, const char *jwks_json,
		     const char *extra_head)
{
	tpa_audit_state st;
	verifier v;
	chain c, hc;
	int err;

	if (!out || !s)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "audit verify: NULL");
	memset(out, 0, sizeof(*out));
	if (extra_head && !jwks_json)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "audit verify: a head given needs the "
				    "JWKS to check it with");
	if (jwks_json) {
		/* A key set that is not one is the caller's mistake, not a
		 * broken head. */
		json_t *set = json_loads(jwks_json, JSON_REJECT_DUPLICATES, NULL);
		int ok = json_is_array(json_object_get(set, "keys"));

		json_decref(set);
		if (!ok)
			return tpa_err_fail(TPA_ERR_PARSE,
					    "the key set is not a JWKS ({\"keys\": [...]})");
	}
	if ((err = tpa_store_audit_state(&st, s)) < 0)
		return err;
	chain_start(&c, 0, NULL);
	if ((err = walk(&c, s, INT64_MIN)) < 0)
		return err;
	anchored(&c);
	out->rows = c.rows;
	out->first_seq = c.anchor ? c.anchor : c.rows ? 1 : 0;
	out->last_seq = st.last_seq;
	out->signatures = jwks_json != NULL;
	/* The heads below the first broken row: one of them may break first. */
	memset(&v, 0, sizeof(v));
	v.s = s;
	v.jwks = jwks_json;
	v.last_seq = st.last_seq;
	v.first_seq = c.anchor;
	memcpy(v.anchor_hash, c.anchor_hash, TPA_AUDIT_HASH_LEN);
	chain_start(&hc, 0, NULL);
	v.c = &hc;
	if (c.is_broken) {
		hc.is_broken = 1;
		hc.broken = c.broken;
	}
	if ((err = check_heads(&v, out)) < 0)
		return err;
	if (hc.reason[0])
		c = hc;
	if (extra_head) {
		head_copy h;

		memset(&h, 0, sizeof(h));
		h.jws = (char *)extra_head;
		chain_start(&hc, 0, NULL);
		v.c = &hc;
		if ((err = check_head(&v, &h, 0)) < 0)
			return err;
		if (hc.is_broken && (!c.is_broken || hc.broken < c.broken))
			c = hc;
	}
	/* Rows cut off the end leave the sequence above the last row. */
	if (!c.is_broken && st.high_seq > st.last_seq)
		cut_off(&c, st.last_seq, st.high_seq);
	if (!c.is_broken) {
		out->intact = 1;
		return 0;
	}
	out->broken_seq = c.broken;
	snprintf(out->reason, sizeof(out->reason), "%s", c.reason);
	return tpa_err_fail(TPA_ERR_VERIFY, "%s", c.reason);
}

/* ---- signing ---- */

struct tpa_audit_signer {
	tpa_store *s;
	uint32_t rows, interval_s;
	int started;
	chain c;                   /* checked up to c.seq; broken for good once */
	int64_t signed_seq, signed_at;
};

int tpa_audit_signer_new(tpa_audit_signer **out, tpa_store *s, const tpa_audit_sign_opts *o)
{
	tpa_audit_signer *g;

	if (!out || !s)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "audit signer: NULL");
	if (!(g = calloc(1, sizeof(*g))))
		return tpa_err_fail(TPA_ERR_NOMEM, "audit signer: out of memory");
	g->s = s;
	g->rows = o && o->rows ? o->rows : TPA_AUDIT_DEFAULT_SIGN_ROWS;
	g->interval_s = o && o->interval_s ? o->interval_s : TPA_AUDIT_DEFAULT_SIGN_INTERVAL_S;
	*out = g;
	return 0;
}

void tpa_audit_signer_free(tpa_audit_signer *g)
{
	free(g);
}

/* The seq of the log's first row (INT64_MAX if none or unreadable). */
static int64_t first_row(tpa_store *s)
{
	one_row o;

	memset(&o, 0, sizeof(o));
	if (tpa_store_audit_rows(s, INT64_MIN, 1, take_row, &o) < 0 || !o.found)
		return INT64_MAX;
	return o.seq;
}

/* Where to check from: the newest head that k or prev signed and whose row
 * still holds its hash (and matches its contents); the start if none (the
 * interval then counts from now). A head of ours whose row changed breaks
 * the chain. */
static int signer_start(tpa_audit_signer *g, const tpa_token_key *k, const tpa_token_key *prev,
			int64_t now)
{
	const tpa_token_key *keys[2] = { k, prev };
	head_batch b = { .n = 0 };
	int64_t from = INT64_MAX;
	char *jwks = NULL, why[TPA_AUDIT_REASON_MAX];
	head_claims hc;
	one_row row;
	size_t i;
	int err;

	chain_start(&g->c, 0, NULL);
	g->signed_seq = 0;
	g->signed_at = now;
	if ((err = tpa_token_jwks(&jwks, keys, 2)) < 0)
		return err;
	for (;;) {
		if ((err = read_heads(&b, g->s, from, 1)) < 0 || b.n == 0)
			break;
		for (i = 0; i < b.n; i++) {
			if (b.v[i].malformed[0] || !b.v[i].hash_ok ||
			    head_open(&hc, jwks, b.v[i].jws, why, sizeof(why)) < 0 ||
			    hc.seq != b.v[i].seq ||
			    memcmp(hc.hash, b.v[i].hash, TPA_AUDIT_HASH_LEN) != 0)
				continue; /* not ours, or not as signed: verify says which */
			if ((err = read_row(&row, g->s, hc.seq)) < 0)
				goto out;
			/* Its row pruned (so are the older ones): from the start. */
			if (!row.found && hc.seq < first_row(g->s))
				goto out;
			if (!row.found || !row.sound ||
			    memcmp(row.hash, hc.hash, TPA_AUDIT_HASH_LEN) != 0) {
				broke(&g->c, hc.seq, "signed head at seq %" PRId64 " does not "
				      "match row %" PRId64 " (gone or rewritten)", hc.seq, hc.seq);
				goto out;
			}
			chain_start(&g->c, hc.seq, hc.hash);
			g->signed_seq = hc.seq;
			g->signed_at = hc.iat;
			goto out;
		}
		if (b.n < HEAD_BATCH)
			break;
		from = b.v[b.n - 1].seq;
	}
out:
	batch_clear(&b);
	free(jwks);
	tpa_err_clear();
	return err;
}

static int sign_head(tpa_audit_signer *g, const tpa_token_key *k, int64_t now)
{
	char hex[HEX_LEN + 1], *payload = NULL, *jws = NULL;
	json_t *j;
	int err;

	tpa_hex(hex, g->c.hash, TPA_AUDIT_HASH_LEN);
	j = json_pack("{s:s, s:I, s:s, s:I}", "format", TPA_AUDIT_FORMAT, "seq",
		      (json_int_t)g->c.seq, "hash", hex, "iat", (json_int_t)now);
	if (!j || !(payload = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)))
		err = tpa_err_fail(TPA_ERR_NOMEM, "audit sign: out of memory");
	else if ((err = tpa_token_sign_payload(&jws, k, TPA_AUDIT_HEAD_TYP, payload)) == 0)
		err = tpa_store_audit_add_head(g->s, g->c.seq, g->c.hash, now,
					       tpa_token_key_id(k), jws);
	json_decref(j);
	free(payload);
	free(jws);
	return err;
}

int tpa_audit_signer_tick(tpa_audit_signer *g, const tpa_token_key *k,
			  const tpa_token_key *prev, int64_t now, int force, int64_t *seq_out)
{
	tpa_audit_state st;
	int64_t fresh;
	int err;

	if (!g || !k)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "audit sign: NULL");
	if (!g->started) {
		if ((err = signer_start(g, k, prev, now)) < 0)
			return err;
		g->started = 1;
	}
	if (g->c.is_broken)
		return tpa_err_fail(TPA_ERR_VERIFY, "%s", g->c.reason);
	if ((err = tpa_store_audit_state(&st, g->s)) < 0)
		return err;
	fresh = st.last_seq - g->signed_seq;
	if (fresh <= 0 || (!force && fresh < (int64_t)g->rows &&
			   now - g->signed_at < (int64_t)g->interval_s))
		return 0;
	if ((err = walk(&g->c, g->s, g->c.seq)) < 0)
		return err;
	anchored(&g->c);
	if (!g->c.is_broken && st.high_seq > g->c.seq && st.last_seq <= g->c.seq)
		cut_off(&g->c, g->c.seq, st.high_seq);
	if (g->c.is_broken)
		return tpa_err_fail(TPA_ERR_VERIFY, "%s", g->c.reason);
	if (g->c.seq <= g->signed_seq)
		return 0;
	err = sign_head(g, k, now);
	if (err == TPA_ERR_VERIFY) {
		broke(&g->c, g->c.seq, "row %" PRId64 ": changed while it was being signed",
		      g->c.seq);
		return tpa_err_fail(TPA_ERR_VERIFY, "%s", g->c.reason);
	}
	if (err < 0 && err != TPA_ERR_CONFLICT)
		return err;
	/* Signed (or signed already by another verifier sharing the file). */
	g->signed_seq = g->c.seq;
	g->signed_at = now;
	if (seq_out)
		*seq_out = g->c.seq;
	return err == 0 ? 1 : 0;
}

/* ---- export ---- */

typedef struct {
	tpa_audit_write_fn write;
	void *ctx;
	int64_t seq, n;
	int stopped;                /* the writer said stop, or memory ran out */
	int64_t seen;               /* rows read (lines: some are filtered out) */
	int past;                   /* past until_seq: done */
	const tpa_audit_export_opts *o;
} exporter;

static int emit(exporter *e, const char *text)
{
	if (!e->stopped && e->write(e->ctx, text, strlen(text)) != 0)
		e->stopped = 1;
	return e->stopped;
}

/* A hex string of n bytes, or null without them. */
static json_t *hex_json(const uint8_t *b, size_t n)
{
	char *h;
	json_t *j;

	if (!b)
		return json_null();
	if (!(h = malloc(2 * n + 1)))
		return NULL;
	tpa_hex(h, b, n);
	j = json_string(h);
	free(h);
	return j;
}

/* Text as a string, or (not UTF-8) null and its bytes in hex beside it. */
static int set_text(json_t *o, const char *key, const char *t, size_t n)
{
	char hexkey[32];
	json_t *v;

	if (!t)
		return json_object_set_new(o, key, json_null());
	if ((v = json_stringn(t, n)))
		return json_object_set_new(o, key, v);
	snprintf(hexkey, sizeof(hexkey), "%s_hex", key);
	return json_object_set_new(o, key, json_null()) ||
	       json_object_set_new(o, hexkey, hex_json((const uint8_t *)t, n));
}

static int emit_json(exporter *e, json_t *o, int bad)
{
	char *t = NULL;

	if (bad || !(t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)))
		e->stopped = 1;
	else
		emit(e, t);
	free(t);
	json_decref(o);
	return e->stopped;
}

static int export_row(void *ctx, const tpa_audit_row *r)
{
	exporter *e = ctx;
	json_t *o;
	int bad;

	if (emit(e, e->n ? ",\n" : "\n"))
		return 1;
	o = json_object();
	bad = !o || json_object_set_new(o, "seq", json_integer(r->seq)) ||
	      json_object_set_new(o, "at", json_integer(r->at)) ||
	      set_text(o, "device_id", r->device_id, r->device_id_len) ||
	      set_text(o, "event", r->event, r->event_len) ||
	      set_text(o, "detail", r->detail, r->detail_len) ||
	      json_object_set_new(o, "prev_hash", hex_json(r->prev_hash, r->prev_hash_len)) ||
	      json_object_set_new(o, "hash", hex_json(r->hash, r->hash_len)) ||
	      (r->malformed && json_object_set_new(o, "malformed", json_string(r->malformed)));
	e->seq = r->seq;
	e->n++;
	return emit_json(e, o, bad);
}

static int export_head(void *ctx, const tpa_audit_signed_head *h)
{
	exporter *e = ctx;
	json_t *o = json_object();
	int bad = !o;

	bad = bad || json_object_set_new(o, "seq", json_integer(h->seq)) ||
	      json_object_set_new(o, "hash", hex_json(h->hash, h->hash_len)) ||
	      json_object_set_new(o, "signed_at", json_integer(h->signed_at)) ||
	      json_object_set_new(o, "kid", h->kid ? json_string(h->kid) : json_null()) ||
	      json_object_set_new(o, "jws", h->jws ? json_string(h->jws) : json_null());
	emit_json(e, o, bad);
	return 1;
}

int tpa_audit_export(tpa_store *s, tpa_audit_write_fn write, void *ctx)
{
	char head[160], zeros[HEX_LEN + 1];
	exporter e = { .write = write, .ctx = ctx, .seq = INT64_MIN };
	int64_t n;
	int rc;

	if (!s || !write)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "audit export: NULL");
	tpa_hex(zeros, genesis, TPA_AUDIT_HASH_LEN);
	snprintf(head, sizeof(head), "{\"format\":\"%s\",\"genesis\":\"%s\",\"rows\":[",
		 TPA_AUDIT_FORMAT, zeros);
	emit(&e, head);
	do {
		n = e.n;
		if ((rc = tpa_store_audit_rows(s, e.seq, BATCH, export_row, &e)) < 0)
			return rc;
	} while (!e.stopped && e.n - n == BATCH);
	emit(&e, "\n],\"signed_head\":");
	if ((rc = tpa_store_audit_heads(s, INT64_MAX, 1, 1, export_head, &e)) < 0)
		return rc;
	if (rc == 0)
		emit(&e, "null");
	emit(&e, "}\n");
	return e.stopped ? tpa_err_fail(TPA_ERR_IO, "audit export: the output failed") : 0;
}

/* ---- export as JSON lines, for a SIEM ---- */

/* A word of [a-z-] at *p (advanced past it) into out; 0 if none fits. */
static int take_word(char *out, size_t cap, const char **p, const char *end)
{
	size_t n = 0;

	while (*p + n < end && ((*p)[n] == '-' || ((*p)[n] >= 'a' && (*p)[n] <= 'z')))
		n++;
	if (n == 0 || n >= cap)
		return 0;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
	return 1;
}

static int starts(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

/* An attestation row's detail as lib/store_sqlite.c writes it: "VERDICT[,
 * outcome OUTCOME][, baseline NAME@VERSION][: REASONS]" as an object
 * (compliant, outcome, baseline, reasons), or NULL if the text is not of
 * that form (an older or foreign row: its detail stays as it is). */
static json_t *verdict_of(const char *d, size_t len)
{
	const char *p = d, *end = d + len, *b;
	char verdict[32], outcome[32];
	json_t *o;

	if (!d || !take_word(verdict, sizeof(verdict), &p, end) ||
	    (strcmp(verdict, "compliant") && strcmp(verdict, "non-compliant")))
		return NULL;
	snprintf(outcome, sizeof(outcome), "%s", verdict);
	if (starts(p, end, ", outcome ")) {
		p += 10;
		if (!take_word(outcome, sizeof(outcome), &p, end))
			return NULL;
	}
	if (!(o = json_object()))
		return NULL;
	json_object_set_new(o, "compliant", json_boolean(strcmp(verdict, "compliant") == 0));
	json_object_set_new(o, "outcome", json_string(outcome));
	if (starts(p, end, ", baseline ")) {
		p += 11;
		for (b = p; p < end && *p != ':' && *p != ',' && *p != ' '; p++)
			;
		if (p == b || json_object_set_new(o, "baseline", json_stringn(b, (size_t)(p - b)))) {
			json_decref(o);
			return NULL;
		}
	} else {
		json_object_set_new(o, "baseline", json_null());
	}
	if (starts(p, end, ": ")) {
		p += 2;
		json_object_set_new(o, "reasons", json_stringn(p, (size_t)(end - p)));
		p = end;
	} else {
		json_object_set_new(o, "reasons", json_null());
	}
	if (p != end || !json_object_get(o, "reasons")) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *time_json(int64_t t)
{
	char iso[TPA_TIME_ISO_LEN + 1];

	return tpa_time_iso(iso, sizeof(iso), t) == 0 ? json_string(iso) : json_null();
}

static int line_row(void *ctx, const tpa_audit_row *r)
{
	exporter *e = ctx;
	json_t *o, *detail = NULL, *v = NULL;
	int bad;

	e->seen++;
	e->seq = r->seq;
	if (e->o && e->o->until_seq > 0 && r->seq > e->o->until_seq) {
		e->past = 1;
		return 1;
	}
	if (e->o && e->o->since_time && r->at < e->o->since_at)
		return 0;
	if (r->detail && r->detail_len && r->detail[0] == '{') {
		detail = json_loadb(r->detail, r->detail_len, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(detail)) {
			json_decref(detail);
			detail = NULL;
		}
	}
	if (r->event && r->event_len == 6 && memcmp(r->event, "attest", 6) == 0)
		v = verdict_of(r->detail, r->detail_len);
	o = json_object();
	bad = !o || json_object_set_new(o, "type", json_string("row")) ||
	      json_object_set_new(o, "seq", json_integer(r->seq)) ||
	      json_object_set_new(o, "time", time_json(r->at)) ||
	      json_object_set_new(o, "at", json_integer(r->at)) ||
	      set_text(o, "device_id", r->device_id, r->device_id_len) ||
	      set_text(o, "event", r->event, r->event_len) ||
	      (detail ? json_object_set(o, "detail", detail) :
	       set_text(o, "detail", r->detail, r->detail_len)) ||
	      (v && json_object_set(o, "verdict", v)) ||
	      json_object_set_new(o, "prev_hash", hex_json(r->prev_hash, r->prev_hash_len)) ||
	      json_object_set_new(o, "hash", hex_json(r->hash, r->hash_len)) ||
	      (r->malformed && json_object_set_new(o, "malformed", json_string(r->malformed)));
	json_decref(detail);
	json_decref(v);
	e->n++;
	if (emit_json(e, o, bad))
		return 1;
	return emit(e, "\n");
}

static int line_head(void *ctx, const tpa_audit_signed_head *h)
{
	exporter *e = ctx;
	json_t *o = json_object();
	int bad = !o;

	bad = bad || json_object_set_new(o, "type", json_string("signed_head")) ||
	      json_object_set_new(o, "seq", json_integer(h->seq)) ||
	      json_object_set_new(o, "hash", hex_json(h->hash, h->hash_len)) ||
	      json_object_set_new(o, "time", time_json(h->signed_at)) ||
	      json_object_set_new(o, "signed_at", json_integer(h->signed_at)) ||
	      json_object_set_new(o, "kid", h->kid ? json_string(h->kid) : json_null()) ||
	      json_object_set_new(o, "jws", h->jws ? json_string(h->jws) : json_null()) ||
	      (h->malformed && json_object_set_new(o, "malformed", json_string(h->malformed)));
	if (!emit_json(e, o, bad))
		emit(e, "\n");
	return 1;
}

int tpa_audit_export_lines(tpa_store *s, const tpa_audit_export_opts *o,
			   tpa_audit_write_fn write, void *ctx)
{
	exporter e = { .write = write, .ctx = ctx, .o = o };
	int64_t seen;
	int rc;

	if (!s || !write)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "audit export: NULL");
	if (o && o->since_seq < 0)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "audit export: since seq below 0");
	e.seq = o && o->since_seq > 0 ? o->since_seq - 1 : INT64_MIN;
	do {
		seen = e.seen;
		if ((rc = tpa_store_audit_rows(s, e.seq, BATCH, line_row, &e)) < 0)
			return rc;
	} while (!e.stopped && !e.past && e.seen - seen == BATCH);
	if (!e.stopped && !(o && o->until_seq > 0) &&
	    (rc = tpa_store_audit_heads(s, INT64_MAX, 1, 1, line_head, &e)) < 0)
		return rc;
	return e.stopped ? tpa_err_fail(TPA_ERR_IO, "audit export: the output failed") : 0;
}

/* ---- retention ---- */

typedef struct {
	int fd;
	EVP_MD_CTX *md;
	int failed;
} archive_out;

static int archive_write(void *ctx, const char *text, size_t len)
{
	archive_out *a = ctx;

	if (a->failed)
		return 1;
	if (a->md && EVP_DigestUpdate(a->md, text, len) != 1) {
		a->failed = 1;
		return 1;
	}
	while (len) {
		ssize_t n = write(a->fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			a->failed = 1;
			return 1;
		}
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The archive made durable: synced, closed, its directory synced; else
 * closed and removed, and the error. */
static int archive_close(archive_out *a, const char *what, const char *path)
{
	int bad = fsync(a->fd) < 0, e = errno;

	if (close(a->fd) < 0 && !bad) {
		bad = 1;
		e = errno;
	}
	a->fd = -1;
	if (bad) {
		unlink(path);
		return tpa_err_fail(TPA_ERR_IO, "%s: archive %s: %s", what, path, strerror(e));
	}
	tpa_file_fsync_dir(path);
	return 0;
}

typedef struct {
	int64_t before, upto, first;
	int have_first;
} cutoff;

static int find_cutoff(void *ctx, const tpa_audit_row *r)
{
	cutoff *c = ctx;

	if (!c->have_first) {
		c->first = r->seq;
		c->have_first = 1;
	}
	if (r->at >= c->before)
		return 1;               /* rows are in seq order, times with them */
	c->upto = r->seq;
	return 0;
}

int tpa_audit_prune(tpa_audit_prune_report *out, tpa_store *s, int64_t before,
		    const char *archive_path, int64_t now)
{
	tpa_audit_export_opts o = { .until_seq = 0 };
	tpa_audit_report rep;
	tpa_audit_state st;
	archive_out a = { .fd = -1 };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const char *base;
	cutoff c = { .before = before };
	int64_t after = INT64_MIN, seen;
	int err, rc;

	if (!out || !s || !archive_path || !*archive_path)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "audit prune: NULL");
	memset(out, 0, sizeof(*out));
	/* A log that does not verify is not pruned: the archive would carry
	 * its break away. */
	if ((err = tpa_audit_verify(&rep, s, NULL, NULL)) < 0)
		return err == TPA_ERR_VERIFY ?
			tpa_err_fail(TPA_ERR_VERIFY, "audit prune: the log does not verify, nothing "
				     "pruned: %s", rep.reason) : err;
	if ((err = tpa_store_audit_state(&st, s)) < 0)
		return err;
	/* The rows before the cutoff, in order; the last row always stays. */
	for (;;) {
		seen = c.upto;
		if ((rc = tpa_store_audit_rows(s, after, BATCH, find_cutoff, &c)) < 0)
			return rc;
		if (rc > 0 || c.upto == seen)
			break;
		after = c.upto;
	}
	if (c.upto >= st.last_seq)
		c.upto = st.last_seq - 1;
	if (!c.have_first || c.upto < c.first)
		return 0;
	a.fd = open(archive_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (a.fd < 0)
		return tpa_err_fail(errno == EEXIST ? TPA_ERR_CONFLICT : TPA_ERR_IO,
				    "audit prune: archive %s: %s", archive_path,
				    errno == EEXIST ? "exists already" : strerror(errno));
	if (!(a.md = EVP_MD_CTX_new()) || EVP_DigestInit_ex(a.md, EVP_sha256(), NULL) != 1) {
		err = tpa_err_fail(TPA_ERR_CRYPTO, "audit prune: SHA-256 unavailable");
		goto fail;
	}
	o.until_seq = c.upto;
	if ((err = tpa_audit_export_lines(s, &o, archive_write, &a)) < 0 || a.failed) {
		err = err < 0 ? err : tpa_err_fail(TPA_ERR_IO, "audit prune: archive %s: %s",
						   archive_path, strerror(errno));
		goto fail;
	}
	if (EVP_DigestFinal_ex(a.md, md, &mdlen) != 1 || mdlen != 32) {
		err = tpa_err_fail(TPA_ERR_CRYPTO, "audit prune: SHA-256 failed");
		goto fail;
	}
	if ((err = archive_close(&a, "audit prune", archive_path)) < 0)
		goto fail;
	tpa_hex(out->sha256, md, 32);
	base = strrchr(archive_path, '/');
	base = base ? base + 1 : archive_path;
	if ((err = tpa_store_audit_prune(&out->first_kept, s, c.upto, base, out->sha256, now)) < 0)
		goto fail_kept;
	out->pruned = c.upto - c.first + 1;
	out->first = c.first;
	out->last = c.upto;
	EVP_MD_CTX_free(a.md);
	return 0;
fail:
	if (a.fd >= 0)
		close(a.fd);
	unlink(archive_path);
fail_kept:
	/* An archive written whose rows stayed is left: it is a copy. */
	EVP_MD_CTX_free(a.md);
	return err;
}

/* One device's evidence as a line of the evidence archive. */
static int evidence_line(archive_out *a, const tpa_device *d, const uint8_t *log, size_t len,
			 const char *pcrs)
{
	json_t *o = json_object(), *pj = NULL;
	char *b64 = NULL, *line = NULL;
	int err = 0;

	if (len > TPA_STORE_EVENT_LOG_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "evidence prune: device %.16s: an event log "
				    "of %zu bytes", d->id, len);
	if (len && !(b64 = malloc(4 * ((len + 2) / 3) + 1)))
		err = TPA_ERR_NOMEM;
	if (b64)
		EVP_EncodeBlock((unsigned char *)b64, log, (int)len);
	if (pcrs && !(pj = json_loads(pcrs, 0, NULL)))
		pj = json_string(pcrs);   /* kept as it was stored */
	if (!err && (!o || json_object_set_new(o, "device", json_string(d->id)) ||
		     json_object_set_new(o, "last_attest_at", json_integer(d->last_attest_at)) ||
		     json_object_set_new(o, "event_log", b64 ? json_string(b64) : json_null()) ||
		     json_object_set_new(o, "pcrs", pj ? pj : json_null())))
		err = TPA_ERR_NOMEM;
	pj = NULL;
	if (!err && !(line = json_dumps(o, JSON_COMPACT)))
		err = TPA_ERR_NOMEM;
	if (!err) {
		size_t n = strlen(line);

		line[n] = '\n';
		if (archive_write(a, line, n + 1) != 0 || a->failed)
			err = tpa_err_fail(TPA_ERR_IO, "evidence prune: archive: %s", strerror(errno));
		line[n] = '\0';
	} else if (err == TPA_ERR_NOMEM) {
		tpa_err_fail(err, "evidence prune: out of memory");
	}
	json_decref(pj);
	json_decref(o);
	free(line);
	free(b64);
	return err;
}

int tpa_audit_evidence_prune(size_t *n, tpa_store *s, int64_t before,
			     const char *archive_path, int64_t now)
{
	archive_out a = { .fd = -1 };
	tpa_device *devs = NULL;
	size_t nd = 0, i, pruned = 0;
	int err = 0;

	if (!n || !s || !archive_path || !*archive_path)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "evidence prune: NULL");
	*n = 0;
	/* A cutoff after now would take evidence a device sends meanwhile,
	 * which no archive holds. */
	if (before > now)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "evidence prune: the cutoff is in the "
				    "future: evidence arriving now would be dropped unarchived");
	if ((err = tpa_store_list(&devs, &nd, s)) < 0)
		return err;
	for (i = 0; i < nd; i++) {
		const tpa_device *d = &devs[i];
		uint8_t *log = NULL;
		size_t len = 0;
		char *pcrs = NULL;

		if ((d->last_attest_at ? d->last_attest_at : d->enrolled_at) >= before)
			continue;
		err = tpa_store_last_evidence(&log, &len, &pcrs, s, d->id);
		if (err == TPA_ERR_NOT_FOUND) {
			tpa_err_clear();
			err = 0;
			continue;
		}
		if (err == 0 && !log && !pcrs)
			continue;
		if (err == 0 && a.fd < 0) {
			a.fd = open(archive_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				    O_CLOEXEC, 0600);
			if (a.fd < 0)
				err = tpa_err_fail(errno == EEXIST ? TPA_ERR_CONFLICT : TPA_ERR_IO,
						   "evidence prune: archive %s: %s", archive_path,
						   errno == EEXIST ? "exists already" :
						   strerror(errno));
		}
		if (err == 0)
			err = evidence_line(&a, d, log, len, pcrs);
		free(log);
		free(pcrs);
		if (err < 0)
			goto fail;
	}
	free(devs);
	devs = NULL;
	if (a.fd < 0)
		return 0;
	if ((err = archive_close(&a, "evidence prune", archive_path)) < 0)
		return err;
	/* Only what was archived goes: a device attesting since has a time
	 * after the cutoff, and the store's prune leaves it. */
	if ((err = tpa_store_evidence_prune(&pruned, s, before)) < 0)
		return err;      /* the archive stays: a copy of what stayed */
	*n = pruned;
	return 0;
fail:
	free(devs);
	if (a.fd >= 0) {
		close(a.fd);
		unlink(archive_path);
	}
	return err;
}
