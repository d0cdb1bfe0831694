/* SPDX-License-Identifier: BSD-3-Clause */
/* The audit log's hash chain: the encoding. */
#include <string.h>

#include <openssl/evp.h>

#include "tpa/audit.h"
#include "tpa/err.h"
#include "tpa/tpm_decode.h"

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
