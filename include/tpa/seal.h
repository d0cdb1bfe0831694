/* SPDX-License-Identifier: BSD-3-Clause */
/* Sealed state: what the verifier hands a client between two calls, so that
 * it keeps nothing for a caller it does not know yet.
 *
 * A challenge id carries its own nonce and expiry under a MAC (HMAC-SHA256
 * through EVP_MAC, truncated to 128 bits) with a key only the verifier holds:
 * GetChallenge stores nothing. An enrollment id carries the credential secret
 * encrypted (AES-256-GCM) with its expiry and flags, bound to the EK and AK
 * it was made for. Each has its own purpose byte, authenticated, and its own
 * key derived from one master key (HKDF-SHA256), so neither can stand for
 * the other. Single use is enforced when a sealed id is used up: a used set,
 * bounded by expiry, that takes an entry only for what a caller proved
 * (a verified quote, a released credential). */
#ifndef TPA_SEAL_H
#define TPA_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define TPA_SEAL_KEY_LEN     32
#define TPA_NONCE_LEN        32   /* bytes of OpenSSL RAND per nonce */
#define TPA_SEAL_TAG_LEN     16
#define TPA_SEAL_VERSION     1
/* hex characters of a challenge id: version, purpose, expiry, nonce, tag */
#define TPA_CHALLENGE_ID_LEN (2 * (2 + 8 + TPA_NONCE_LEN + TPA_SEAL_TAG_LEN))
#define TPA_CREDENTIAL_SECRET_LEN 32
/* ... of an enrollment id: version, purpose, expiry, flags, IV, secret, tag */
#define TPA_ENROLLMENT_ID_LEN (2 * (2 + 8 + 4 + 12 + TPA_CREDENTIAL_SECRET_LEN + 16))
#define TPA_SEALED_ID_MAX    TPA_ENROLLMENT_ID_LEN  /* the longer of the two */
#define TPA_NONCE_DEFAULT_TTL_MS 60000

typedef enum {
	TPA_SEAL_CHALLENGE = 1,
	TPA_SEAL_ENROLLMENT = 2,
} tpa_seal_purpose;

/* Clock in milliseconds since the Unix epoch (sealed ids outlive a restart
 * and may cross verifiers); tests set their own. */
typedef uint64_t (*tpa_clock_fn)(void *ctx);

typedef struct tpa_sealer tpa_sealer;

/* A sealer with a master key (TPA_SEAL_KEY_LEN bytes), or a fresh random one
 * held in memory when key is NULL. Thread-safe. */
int tpa_sealer_new(tpa_sealer **out, const uint8_t *key);
void tpa_sealer_free(tpa_sealer *s);
void tpa_sealer_set_clock(tpa_sealer *s, tpa_clock_fn fn, void *ctx);
uint64_t tpa_sealer_now(const tpa_sealer *s);

typedef struct {
	char id[TPA_CHALLENGE_ID_LEN + 1];    /* lower-case hex */
	uint8_t nonce[TPA_NONCE_LEN];
	uint64_t expires_ms;
	uint8_t tag[TPA_SEAL_TAG_LEN];        /* what single use is kept by */
} tpa_challenge;

/* A relying party's own nonce: bytes it chose, bound into the quote with
 * the verifier's. */
#define TPA_RP_NONCE_MIN 8
#define TPA_RP_NONCE_MAX 64

/* The qualifying data a quote for challenge c must carry (TPA_NONCE_LEN
 * bytes): its nonce, or with a relying party's nonce (rp_len 8..64),
 * SHA-256("tpa rp-nonce v1" || c->nonce || rp). */
int tpa_challenge_qualifying_data(uint8_t *out, const tpa_challenge *c, const uint8_t *rp,
				  size_t rp_len);

/* A fresh challenge valid for ttl_ms. */
int tpa_seal_challenge(tpa_challenge *out, tpa_sealer *s, uint32_t ttl_ms);
/* Opens a challenge id: TPA_ERR_PARSE for one of the wrong length or not
 * lower-case hex or of another version, TPA_ERR_VERIFY for a bad seal,
 * another purpose or an expired one; the message says which. Whether it was
 * used already is the used set's to say. */
int tpa_unseal_challenge(tpa_challenge *out, const tpa_sealer *s, const char *id);

#define TPA_ENROLLMENT_REPLACE_AKS 1u    /* the new AK replaces the device's others */

typedef struct {
	char id[TPA_ENROLLMENT_ID_LEN + 1];   /* lower-case hex */
	uint8_t secret[TPA_CREDENTIAL_SECRET_LEN];
	uint64_t expires_ms;
	uint32_t flags;
	uint8_t tag[TPA_SEAL_TAG_LEN];
} tpa_enrollment_seal;

/* Seals a fresh random credential secret (returned in out->secret) with the
 * flags, for ttl_ms, bound to binding (TPA_SEAL_BINDING_LEN bytes: what the
 * enrollment is for, see tpa_seal_binding). */
#define TPA_SEAL_BINDING_LEN 32
int tpa_seal_enrollment(tpa_enrollment_seal *out, tpa_sealer *s, uint32_t flags,
			uint32_t ttl_ms, const uint8_t *binding);
/* Opens an enrollment id for the same binding; errors as for challenges. */
int tpa_unseal_enrollment(tpa_enrollment_seal *out, const tpa_sealer *s, const char *id,
			  const uint8_t *binding);
/* The binding of an enrollment: SHA-256 over the length-prefixed EK public
 * area, EK certificate and AK public area. */
int tpa_seal_binding(uint8_t *out, const uint8_t *ek_pub, size_t ek_pub_len,
		     const uint8_t *ek_cert, size_t ek_cert_len, const uint8_t *ak_pub,
		     size_t ak_pub_len);

/* The used set: sealed ids already used up, each kept until it expires.
 * Thread-safe; at most max entries (TPA_ERR_LIMIT beyond). */
typedef struct tpa_used_set tpa_used_set;
#define TPA_USED_DEFAULT_MAX 1000000
int tpa_used_set_new(tpa_used_set **out, size_t max);
void tpa_used_set_free(tpa_used_set *u);
/* Uses up tag (expiring at expires_ms): 0 if it was not used,
 * TPA_ERR_USED if it was. Drops expired entries first. */
int tpa_used_set_take(tpa_used_set *u, const uint8_t *tag, uint64_t expires_ms, uint64_t now);
size_t tpa_used_set_count(tpa_used_set *u);

#endif
