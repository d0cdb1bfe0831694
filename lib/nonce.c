/* SPDX-License-Identifier: BSD-3-Clause */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "tpa/err.h"
#include "tpa/nonce.h"
#include "tpa/tpm_decode.h"

#define BUCKETS 4096u /* power of two */

typedef struct entry {
	struct entry *chain;      /* next in the hash bucket */
	struct entry *next;       /* next in issue (= expiry) order */
	tpa_challenge c;
	int used;
} entry;

struct tpa_nonce_store {
	pthread_mutex_t lock;
	uint32_t ttl_ms;
	size_t max;
	size_t count;
	entry *head, *tail;       /* oldest first */
	entry *bucket[BUCKETS];
	tpa_clock_fn clock;
	void *clock_ctx;
};

static uint64_t mono_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static unsigned hash_id(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id; id++)
		h = (h ^ (uint8_t)*id) * 16777619u;
	return h & (BUCKETS - 1);
}

int tpa_nonce_store_new(tpa_nonce_store **out, uint32_t ttl_ms,
			size_t max_outstanding)
{
	tpa_nonce_store *s;

	if (!out || ttl_ms == 0 || max_outstanding == 0)
		return tpa_err_fail(TPA_ERR_INVALID_ARG,
				    "nonce store: ttl and capacity must be positive");
	if (!(s = calloc(1, sizeof(*s))))
		return tpa_err_fail(TPA_ERR_NOMEM, "nonce store: out of memory");
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return tpa_err_fail(TPA_ERR_INTERNAL, "nonce store: mutex");
	}
	s->ttl_ms = ttl_ms;
	s->max = max_outstanding;
	s->clock = mono_ms;
	*out = s;
	return 0;
}

void tpa_nonce_store_free(tpa_nonce_store *s)
{
	entry *e, *n;

	if (!s)
		return;
	for (e = s->head; e; e = n) {
		n = e->next;
		OPENSSL_cleanse(e, sizeof(*e));
		free(e);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void tpa_nonce_store_set_clock(tpa_nonce_store *s, tpa_clock_fn fn, void *ctx)
{
	pthread_mutex_lock(&s->lock);
	s->clock = fn ? fn : mono_ms;
	s->clock_ctx = fn ? ctx : NULL;
	pthread_mutex_unlock(&s->lock);
}

uint64_t tpa_nonce_store_now(tpa_nonce_store *s)
{
	return s->clock(s->clock_ctx);
}

uint32_t tpa_nonce_store_ttl(const tpa_nonce_store *s)
{
	return s->ttl_ms;
}

static void unlink_bucket(tpa_nonce_store *s, entry *e)
{
	entry **pp = &s->bucket[hash_id(e->c.id)];

	while (*pp && *pp != e)
		pp = &(*pp)->chain;
	if (*pp)
		*pp = e->chain;
}

/* Drops expired challenges, oldest first. Called with the lock held. */
static void purge(tpa_nonce_store *s, uint64_t now)
{
	while (s->head && s->head->c.expires_ms <= now) {
		entry *e = s->head;

		s->head = e->next;
		if (!s->head)
			s->tail = NULL;
		unlink_bucket(s, e);
		s->count--;
		OPENSSL_cleanse(e, sizeof(*e));
		free(e);
	}
}

int tpa_nonce_issue(tpa_challenge *out, tpa_nonce_store *s)
{
	uint8_t idb[TPA_CHALLENGE_ID_LEN / 2];
	entry *e;
	uint64_t now;
	unsigned h;

	if (!out || !s)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "nonce issue: NULL");
	if (!(e = calloc(1, sizeof(*e))))
		return tpa_err_fail(TPA_ERR_NOMEM, "nonce issue: out of memory");
	if (RAND_bytes(e->c.nonce, sizeof(e->c.nonce)) != 1 ||
	    RAND_bytes(idb, sizeof(idb)) != 1) {
		free(e);
		return tpa_err_fail(TPA_ERR_CRYPTO, "nonce issue: RAND_bytes failed");
	}
	tpa_hex(e->c.id, idb, sizeof(idb));

	pthread_mutex_lock(&s->lock);
	now = s->clock(s->clock_ctx);
	purge(s, now);
	if (s->count >= s->max) {
		pthread_mutex_unlock(&s->lock);
		free(e);
		return tpa_err_fail(TPA_ERR_LIMIT,
				    "too many outstanding challenges (%zu)", s->max);
	}
	e->c.expires_ms = now + s->ttl_ms;
	h = hash_id(e->c.id);
	e->chain = s->bucket[h];
	s->bucket[h] = e;
	if (s->tail)
		s->tail->next = e;
	else
		s->head = e;
	s->tail = e;
	s->count++;
	*out = e->c;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int valid_id(const char *id)
{
	size_t i;

	for (i = 0; i < TPA_CHALLENGE_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return id[i] == '\0';
}

int tpa_nonce_take(uint8_t *nonce_out, tpa_nonce_store *s, const char *id)
{
	entry *e;
	uint64_t now;
	int err;

	if (!nonce_out || !s || !id)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "nonce take: NULL");
	if (!valid_id(id))
		return tpa_err_fail(TPA_ERR_NOT_FOUND,
				    "challenge id is not %d lower-case hex characters",
				    TPA_CHALLENGE_ID_LEN);
	pthread_mutex_lock(&s->lock);
	now = s->clock(s->clock_ctx);
	for (e = s->bucket[hash_id(id)]; e; e = e->chain)
		if (CRYPTO_memcmp(e->c.id, id, TPA_CHALLENGE_ID_LEN) == 0)
			break;
	if (!e) {
		err = tpa_err_fail(TPA_ERR_NOT_FOUND,
				   "challenge unknown or expired long ago");
	} else if (e->c.expires_ms <= now) {
		err = tpa_err_fail(TPA_ERR_VERIFY, "challenge expired %llu ms ago",
				   (unsigned long long)(now - e->c.expires_ms));
	} else if (e->used) {
		err = tpa_err_fail(TPA_ERR_VERIFY, "challenge already used");
	} else {
		e->used = 1;
		memcpy(nonce_out, e->c.nonce, TPA_NONCE_LEN);
		err = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}
