/* SPDX-License-Identifier: BSD-3-Clause */
/* Sealed challenges and enrollments, and the used set (see seal.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "tpa/err.h"
#include "tpa/seal.h"
#include "tpa/tpm_decode.h"

#define CH_BODY (2 + 8 + TPA_NONCE_LEN)                 /* what the MAC covers */
#define CH_LEN (CH_BODY + TPA_SEAL_TAG_LEN)
#define EN_HDR (2 + 8 + 4)                              /* version, purpose, expiry, flags */
#define EN_IV 12
#define EN_LEN (EN_HDR + EN_IV + TPA_CREDENTIAL_SECRET_LEN + TPA_SEAL_TAG_LEN)
#define MAC_POOL 16                                     /* idle MAC contexts kept */

struct tpa_sealer {
	uint8_t mac_key[32];       /* challenges */
	uint8_t aead_key[32];      /* enrollments */
	EVP_MAC *hmac;
	EVP_MAC_CTX *tmpl;         /* keyed with mac_key, never used itself */
	pthread_mutex_t lock;      /* the pool */
	EVP_MAC_CTX *pool[MAC_POOL];
	size_t npool;
	tpa_clock_fn clock;
	void *clock_ctx;
};

static uint64_t wall_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One key of the master key's, for a purpose (HKDF-SHA256). */
static int derive(uint8_t *out, const uint8_t *master, const char *info)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *k = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[5];
	int ok;

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)master,
						 TPA_SEAL_KEY_LEN);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)"tpm-attest seal",
						 15);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
						 strlen(info));
	p[4] = OSSL_PARAM_construct_end();
	ok = k && EVP_KDF_derive(k, out, 32, p) == 1;
	EVP_KDF_CTX_free(k);
	EVP_KDF_free(kdf);
	return ok ? 0 : tpa_err_fail(TPA_ERR_CRYPTO, "seal: key derivation failed");
}

int tpa_sealer_new(tpa_sealer **out, const uint8_t *key)
{
	uint8_t master[TPA_SEAL_KEY_LEN];
	OSSL_PARAM p[2];
	tpa_sealer *s;
	int err;

	if (!out)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "sealer: NULL");
	if (key)
		memcpy(master, key, sizeof(master));
	else if (RAND_bytes(master, sizeof(master)) != 1)
		return tpa_err_fail(TPA_ERR_CRYPTO, "sealer: RAND_bytes failed");
	if (!(s = calloc(1, sizeof(*s)))) {
		OPENSSL_cleanse(master, sizeof(master));
		return tpa_err_fail(TPA_ERR_NOMEM, "sealer: out of memory");
	}
	s->clock = wall_ms;
	pthread_mutex_init(&s->lock, NULL);
	if ((err = derive(s->mac_key, master, "challenge v1")) < 0 ||
	    (err = derive(s->aead_key, master, "enrollment v1")) < 0)
		goto fail;
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_end();
	if (!(s->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) || !(s->tmpl = EVP_MAC_CTX_new(s->hmac)) ||
	    EVP_MAC_init(s->tmpl, s->mac_key, sizeof(s->mac_key), p) != 1) {
		err = tpa_err_fail(TPA_ERR_CRYPTO, "sealer: HMAC unavailable");
		goto fail;
	}
	OPENSSL_cleanse(master, sizeof(master));
	*out = s;
	return 0;
fail:
	OPENSSL_cleanse(master, sizeof(master));
	tpa_sealer_free(s);
	return err;
}

void tpa_sealer_free(tpa_sealer *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->npool; i++)
		EVP_MAC_CTX_free(s->pool[i]);
	EVP_MAC_CTX_free(s->tmpl);
	EVP_MAC_free(s->hmac);
	pthread_mutex_destroy(&s->lock);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

void tpa_sealer_set_clock(tpa_sealer *s, tpa_clock_fn fn, void *ctx)
{
	s->clock = fn ? fn : wall_ms;
	s->clock_ctx = fn ? ctx : NULL;
}

uint64_t tpa_sealer_now(const tpa_sealer *s)
{
	return s->clock(s->clock_ctx);
}

/* HMAC-SHA256 of b under the challenge key, truncated to the tag. A keyed
 * context comes from a small pool: keying one costs more than the MAC. */
static int mac(uint8_t *tag, tpa_sealer *s, const uint8_t *b, size_t n)
{
	uint8_t full[32];
	size_t len = 0;
	EVP_MAC_CTX *c = NULL;
	int ok;

	pthread_mutex_lock(&s->lock);
	if (s->npool)
		c = s->pool[--s->npool];
	pthread_mutex_unlock(&s->lock);
	if (!c && !(c = EVP_MAC_CTX_dup(s->tmpl)))
		return tpa_err_fail(TPA_ERR_NOMEM, "seal: out of memory");
	ok = EVP_MAC_init(c, NULL, 0, NULL) == 1 && EVP_MAC_update(c, b, n) == 1 &&
	     EVP_MAC_final(c, full, &len, sizeof(full)) == 1 && len == sizeof(full);
	pthread_mutex_lock(&s->lock);
	if (s->npool < MAC_POOL) {
		s->pool[s->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	EVP_MAC_CTX_free(c);
	if (!ok)
		return tpa_err_fail(TPA_ERR_CRYPTO, "seal: HMAC failed");
	memcpy(tag, full, TPA_SEAL_TAG_LEN);
	return 0;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Exactly len bytes of lower-case hex into out. */
static int unhex(uint8_t *out, size_t len, const char *id, const char *what)
{
	size_t i;

	if (!id || strnlen(id, 2 * len + 1) != 2 * len)
		return tpa_err_fail(TPA_ERR_PARSE, "%s id is not %zu hex characters", what, 2 * len);
	for (i = 0; i < len; i++) {
		int hi = tpa_hex_digit(id[2 * i]), lo = tpa_hex_digit(id[2 * i + 1]);

		if (hi < 0 || lo < 0 || (id[2 * i] >= 'A' && id[2 * i] <= 'F') ||
		    (id[2 * i + 1] >= 'A' && id[2 * i + 1] <= 'F'))
			return tpa_err_fail(TPA_ERR_PARSE, "%s id is not lower-case hex", what);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* The header both kinds share: version and purpose, then expiry. Only the
 * version is read before the seal is checked: a forged purpose or expiry is
 * a bad seal. */
static int check_version(const uint8_t *b, const char *what, uint64_t *expires)
{
	if (b[0] != TPA_SEAL_VERSION)
		return tpa_err_fail(TPA_ERR_PARSE, "%s id of version %u, not %u", what, b[0],
				    TPA_SEAL_VERSION);
	*expires = get_be64(b + 2);
	return 0;
}

int tpa_seal_challenge(tpa_challenge *out, tpa_sealer *s, uint32_t ttl_ms)
{
	uint8_t b[CH_LEN];
	int err;

	if (!out || !s || !ttl_ms)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "seal challenge: bad arguments");
	b[0] = TPA_SEAL_VERSION;
	b[1] = TPA_SEAL_CHALLENGE;
	out->expires_ms = tpa_sealer_now(s) + ttl_ms;
	put_be64(b + 2, out->expires_ms);
	if (RAND_bytes(b + 10, TPA_NONCE_LEN) != 1)
		return tpa_err_fail(TPA_ERR_CRYPTO, "seal challenge: RAND_bytes failed");
	if ((err = mac(b + CH_BODY, s, b, CH_BODY)) < 0)
		return err;
	memcpy(out->nonce, b + 10, TPA_NONCE_LEN);
	memcpy(out->tag, b + CH_BODY, TPA_SEAL_TAG_LEN);
	tpa_hex(out->id, b, sizeof(b));
	return 0;
}

static const char *purpose_name(unsigned p)
{
	return p == TPA_SEAL_CHALLENGE ? "a challenge" : p == TPA_SEAL_ENROLLMENT ?
		"an enrollment" : "something else";
}

int tpa_unseal_challenge(tpa_challenge *out, const tpa_sealer *s, const char *id)
{
	uint8_t b[CH_LEN], tag[TPA_SEAL_TAG_LEN];
	uint64_t now, expires = 0;
	int err;

	if (!out || !s)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "unseal challenge: NULL");
	if (id && strnlen(id, TPA_ENROLLMENT_ID_LEN + 1) == TPA_ENROLLMENT_ID_LEN)
		return tpa_err_fail(TPA_ERR_VERIFY, "the id is an enrollment's, not a challenge's");
	if ((err = unhex(b, sizeof(b), id, "challenge")) < 0 ||
	    (err = check_version(b, "challenge", &expires)) < 0)
		return err;
	if ((err = mac(tag, (tpa_sealer *)s, b, CH_BODY)) < 0)
		return err;
	if (CRYPTO_memcmp(tag, b + CH_BODY, TPA_SEAL_TAG_LEN) != 0)
		return tpa_err_fail(TPA_ERR_VERIFY, "the challenge's seal is not this verifier's");
	if (b[1] != TPA_SEAL_CHALLENGE)
		return tpa_err_fail(TPA_ERR_VERIFY, "the id seals %s, not a challenge",
				    purpose_name(b[1]));
	now = tpa_sealer_now(s);
	if (expires <= now)
		return tpa_err_fail(TPA_ERR_VERIFY, "challenge expired %llu ms ago",
				    (unsigned long long)(now - expires));
	memcpy(out->id, id, TPA_CHALLENGE_ID_LEN);
	out->id[TPA_CHALLENGE_ID_LEN] = '\0';
	memcpy(out->nonce, b + 10, TPA_NONCE_LEN);
	memcpy(out->tag, tag, TPA_SEAL_TAG_LEN);
	out->expires_ms = expires;
	return 0;
}

int tpa_seal_binding(uint8_t *out, const uint8_t *ek_pub, size_t ek_pub_len,
		     const uint8_t *ek_cert, size_t ek_cert_len, const uint8_t *ak_pub,
		     size_t ak_pub_len)
{
	const uint8_t *parts[3] = { ek_pub, ek_cert, ak_pub };
	size_t lens[3] = { ek_pub_len, ek_cert_len, ak_pub_len }, i;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;

	for (i = 0; ok && i < 3; i++) {
		uint8_t l[8];

		put_be64(l, (uint64_t)lens[i]);
		ok = EVP_DigestUpdate(c, l, sizeof(l)) == 1 &&
		     (!lens[i] || EVP_DigestUpdate(c, parts[i], lens[i]) == 1);
	}
	ok = ok && EVP_DigestFinal_ex(c, out, NULL) == 1;
	EVP_MD_CTX_free(c);
	return ok ? 0 : tpa_err_fail(TPA_ERR_CRYPTO, "seal binding: hashing failed");
}

/* AES-256-GCM over the secret, with the header and the binding as AAD. */
static int aead(int enc, uint8_t *b, const tpa_sealer *s, const uint8_t *binding)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t *iv = b + EN_HDR, *data = iv + EN_IV, *tag = data + TPA_CREDENTIAL_SECRET_LEN;
	uint8_t out[TPA_CREDENTIAL_SECRET_LEN];
	int n = 0, ok;

	ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, EN_IV, NULL) == 1 &&
	     EVP_CipherInit_ex(c, NULL, NULL, s->aead_key, iv, enc) == 1 &&
	     EVP_CipherUpdate(c, NULL, &n, b, EN_HDR) == 1 &&
	     EVP_CipherUpdate(c, NULL, &n, binding, TPA_SEAL_BINDING_LEN) == 1 &&
	     EVP_CipherUpdate(c, out, &n, data, TPA_CREDENTIAL_SECRET_LEN) == 1 &&
	     n == TPA_CREDENTIAL_SECRET_LEN &&
	     (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TPA_SEAL_TAG_LEN, tag) == 1) &&
	     EVP_CipherFinal_ex(c, out + n, &n) == 1 &&
	     (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TPA_SEAL_TAG_LEN, tag) == 1);
	if (ok)
		memcpy(data, out, sizeof(out));
	OPENSSL_cleanse(out, sizeof(out));
	EVP_CIPHER_CTX_free(c);
	return ok;
}

int tpa_seal_enrollment(tpa_enrollment_seal *out, tpa_sealer *s, uint32_t flags,
			uint32_t ttl_ms, const uint8_t *binding)
{
	uint8_t b[EN_LEN];

	if (!out || !s || !binding || !ttl_ms)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "seal enrollment: bad arguments");
	b[0] = TPA_SEAL_VERSION;
	b[1] = TPA_SEAL_ENROLLMENT;
	out->expires_ms = tpa_sealer_now(s) + ttl_ms;
	out->flags = flags;
	put_be64(b + 2, out->expires_ms);
	put_be32(b + 10, flags);
	if (RAND_bytes(b + EN_HDR, EN_IV) != 1 ||
	    RAND_bytes(out->secret, sizeof(out->secret)) != 1)
		return tpa_err_fail(TPA_ERR_CRYPTO, "seal enrollment: RAND_bytes failed");
	memcpy(b + EN_HDR + EN_IV, out->secret, sizeof(out->secret));
	if (!aead(1, b, s, binding)) {
		OPENSSL_cleanse(b, sizeof(b));
		return tpa_err_fail(TPA_ERR_CRYPTO, "seal enrollment: encryption failed");
	}
	memcpy(out->tag, b + EN_LEN - TPA_SEAL_TAG_LEN, TPA_SEAL_TAG_LEN);
	tpa_hex(out->id, b, sizeof(b));
	return 0;
}

int tpa_unseal_enrollment(tpa_enrollment_seal *out, const tpa_sealer *s, const char *id,
			  const uint8_t *binding)
{
	uint8_t b[EN_LEN];
	uint64_t now, expires = 0;
	int err;

	if (!out || !s || !binding)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "unseal enrollment: NULL");
	if (id && strnlen(id, TPA_CHALLENGE_ID_LEN + 1) == TPA_CHALLENGE_ID_LEN)
		return tpa_err_fail(TPA_ERR_VERIFY, "the id is a challenge's, not an enrollment's");
	if ((err = unhex(b, sizeof(b), id, "enrollment")) < 0 ||
	    (err = check_version(b, "enrollment", &expires)) < 0)
		return err;
	if (!aead(0, b, s, binding)) {
		OPENSSL_cleanse(b, sizeof(b));
		return tpa_err_fail(TPA_ERR_VERIFY, "the enrollment's seal is not this verifier's, "
				    "or it was made for another EK or AK");
	}
	if (b[1] != TPA_SEAL_ENROLLMENT) {
		OPENSSL_cleanse(b, sizeof(b));
		return tpa_err_fail(TPA_ERR_VERIFY, "the id seals %s, not an enrollment",
				    purpose_name(b[1]));
	}
	now = tpa_sealer_now(s);
	if (expires <= now) {
		OPENSSL_cleanse(b, sizeof(b));
		return tpa_err_fail(TPA_ERR_VERIFY, "enrollment expired %llu ms ago",
				    (unsigned long long)(now - expires));
	}
	memcpy(out->id, id, TPA_ENROLLMENT_ID_LEN);
	out->id[TPA_ENROLLMENT_ID_LEN] = '\0';
	memcpy(out->secret, b + EN_HDR + EN_IV, sizeof(out->secret));
	memcpy(out->tag, b + EN_LEN - TPA_SEAL_TAG_LEN, TPA_SEAL_TAG_LEN);
	out->expires_ms = expires;
	out->flags = (uint32_t)b[10] << 24 | (uint32_t)b[11] << 16 | (uint32_t)b[12] << 8 | b[13];
	OPENSSL_cleanse(b, sizeof(b));
	return 0;
}

/* ---- the used set ---- */

#define USED_BUCKETS 65536u /* power of two */

typedef struct used {
	struct used *chain;        /* next in the bucket */
	struct used *next;         /* next in the order of use */
	uint64_t expires_ms;
	uint8_t tag[TPA_SEAL_TAG_LEN];
} used;

struct tpa_used_set {
	pthread_mutex_t lock;
	size_t max, count;
	used *head, *tail;         /* in the order of use */
	used **bucket;
};

int tpa_used_set_new(tpa_used_set **out, size_t max)
{
	tpa_used_set *u;

	if (!out || !max)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "used set: bad arguments");
	if (!(u = calloc(1, sizeof(*u))) || !(u->bucket = calloc(USED_BUCKETS, sizeof(*u->bucket)))) {
		free(u);
		return tpa_err_fail(TPA_ERR_NOMEM, "used set: out of memory");
	}
	pthread_mutex_init(&u->lock, NULL);
	u->max = max;
	*out = u;
	return 0;
}

void tpa_used_set_free(tpa_used_set *u)
{
	used *e, *n;

	if (!u)
		return;
	for (e = u->head; e; e = n) {
		n = e->next;
		free(e);
	}
	pthread_mutex_destroy(&u->lock);
	free(u->bucket);
	free(u);
}

/* Tags are MACs: their first bytes index well. */
static size_t used_bucket(const uint8_t *tag)
{
	return ((size_t)tag[0] | (size_t)tag[1] << 8) & (USED_BUCKETS - 1);
}

/* Drops entries from the oldest use on while they have expired. Every
 * entry expires within a sealed id's lifetime of its use, so none outlives
 * its expiry by more than that. Called with the lock held. */
static void used_purge(tpa_used_set *u, uint64_t now)
{
	while (u->head && u->head->expires_ms <= now) {
		used *e = u->head, **pp = &u->bucket[used_bucket(e->tag)];

		while (*pp && *pp != e)
			pp = &(*pp)->chain;
		if (*pp)
			*pp = e->chain;
		u->head = e->next;
		if (!u->head)
			u->tail = NULL;
		u->count--;
		free(e);
	}
}

int tpa_used_set_take(tpa_used_set *u, const uint8_t *tag, uint64_t expires_ms, uint64_t now)
{
	used *e;
	size_t h;
	int err = 0;

	if (!u || !tag)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "used set: NULL");
	h = used_bucket(tag);
	pthread_mutex_lock(&u->lock);
	used_purge(u, now);
	for (e = u->bucket[h]; e; e = e->chain)
		if (memcmp(e->tag, tag, TPA_SEAL_TAG_LEN) == 0)
			break;
	if (e) {
		err = tpa_err_fail(TPA_ERR_USED, "already used");
	} else if (u->count >= u->max) {
		err = tpa_err_fail(TPA_ERR_LIMIT, "more than %zu sealed ids in use", u->max);
	} else if (!(e = calloc(1, sizeof(*e)))) {
		err = tpa_err_fail(TPA_ERR_NOMEM, "used set: out of memory");
	} else {
		memcpy(e->tag, tag, TPA_SEAL_TAG_LEN);
		e->expires_ms = expires_ms;
		e->chain = u->bucket[h];
		u->bucket[h] = e;
		if (u->tail)
			u->tail->next = e;
		else
			u->head = e;
		u->tail = e;
		u->count++;
	}
	pthread_mutex_unlock(&u->lock);
	return err;
}

size_t tpa_used_set_count(tpa_used_set *u)
{
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = u->count;
	pthread_mutex_unlock(&u->lock);
	return n;
}

int tpa_challenge_qualifying_data(uint8_t *out, const tpa_challenge *c, const uint8_t *rp,
				  size_t rp_len)
{
	static const char label[] = "tpa rp-nonce v1";
	EVP_MD_CTX *md;
	unsigned n = 0;
	int ok;

	if (!out || !c || (rp_len && !rp))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "qualifying data: NULL");
	if (!rp_len) {
		memcpy(out, c->nonce, TPA_NONCE_LEN);
		return 0;
	}
	if (rp_len < TPA_RP_NONCE_MIN || rp_len > TPA_RP_NONCE_MAX)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "relying_party_nonce of %zu bytes "
				    "(expected %d..%d)", rp_len, TPA_RP_NONCE_MIN, TPA_RP_NONCE_MAX);
	if (!(md = EVP_MD_CTX_new()))
		return tpa_err_fail(TPA_ERR_NOMEM, "qualifying data: out of memory");
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(md, label, sizeof(label) - 1) == 1 &&
	     EVP_DigestUpdate(md, c->nonce, TPA_NONCE_LEN) == 1 &&
	     EVP_DigestUpdate(md, rp, rp_len) == 1 &&
	     EVP_DigestFinal_ex(md, out, &n) == 1 && n == TPA_NONCE_LEN;
	EVP_MD_CTX_free(md);
	return ok ? 0 : tpa_err_fail(TPA_ERR_CRYPTO, "qualifying data: SHA-256 failed");
}
