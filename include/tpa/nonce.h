/* SPDX-License-Identifier: BSD-3-Clause */
/* Challenges: fresh random nonces, bound to an id, single use, expiring. */
#ifndef TPA_NONCE_H
#define TPA_NONCE_H

#include <stddef.h>
#include <stdint.h>

#define TPA_NONCE_LEN        32   /* bytes of OpenSSL RAND per nonce */
#define TPA_CHALLENGE_ID_LEN 32   /* hex characters (16 random bytes) */
#define TPA_NONCE_DEFAULT_TTL_MS 60000
#define TPA_NONCE_DEFAULT_MAX    100000 /* outstanding challenges */

typedef struct tpa_nonce_store tpa_nonce_store;

typedef struct {
	char id[TPA_CHALLENGE_ID_LEN + 1];
	uint8_t nonce[TPA_NONCE_LEN];
	uint64_t expires_ms;       /* on the store's clock */
} tpa_challenge;

/* Clock in milliseconds; the default is CLOCK_MONOTONIC. Tests set their
 * own to step past expiry without sleeping. */
typedef uint64_t (*tpa_clock_fn)(void *ctx);

/* A thread-safe store: ttl_ms > 0; at most max_outstanding unexpired
 * challenges (issue fails with TPA_ERR_LIMIT beyond that). */
int tpa_nonce_store_new(tpa_nonce_store **out, uint32_t ttl_ms,
			size_t max_outstanding);
void tpa_nonce_store_free(tpa_nonce_store *s);
void tpa_nonce_store_set_clock(tpa_nonce_store *s, tpa_clock_fn fn, void *ctx);
uint64_t tpa_nonce_store_now(tpa_nonce_store *s);
uint32_t tpa_nonce_store_ttl(const tpa_nonce_store *s);

/* Issues a new challenge. */
int tpa_nonce_issue(tpa_challenge *out, tpa_nonce_store *s);

/* Takes the challenge `id` for use: copies its nonce to nonce_out
 * (TPA_NONCE_LEN bytes) and marks it used. Fails with TPA_ERR_NOT_FOUND for
 * an unknown id, TPA_ERR_VERIFY for one already used or expired; the message
 * says which. */
int tpa_nonce_take(uint8_t *nonce_out, tpa_nonce_store *s, const char *id);

#endif
