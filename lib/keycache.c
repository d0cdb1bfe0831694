/* SPDX-License-Identifier: BSD-3-Clause */
#include <pthread.h>
#include <string.h>

#include "keycache.h"
#include "tpa/tpm_decode.h"

#define SLOTS 256u /* direct-mapped; bounded memory (~280 KiB) */

typedef struct {
	size_t len;
	uint8_t pub[TPA_PUBLIC_MAX];
	EVP_PKEY *key;
} slot;

static slot slots[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned index_of(const uint8_t *h)
{
	return ((unsigned)h[0] << 8 | h[1]) % SLOTS;
}

EVP_PKEY *keycache__get(const uint8_t *pub, size_t len, const uint8_t *slot_hash)
{
	EVP_PKEY *key = NULL;
	slot *s;

	if (len == 0 || len > TPA_PUBLIC_MAX)
		return NULL;
	s = &slots[index_of(slot_hash)];
	pthread_mutex_lock(&lock);
	if (s->key && s->len == len && memcmp(s->pub, pub, len) == 0 &&
	    EVP_PKEY_up_ref(s->key))
		key = s->key;
	pthread_mutex_unlock(&lock);
	return key;
}

void keycache__put(const uint8_t *pub, size_t len, const uint8_t *slot_hash,
		   EVP_PKEY *key)
{
	EVP_PKEY *old;
	slot *s;

	if (len == 0 || len > TPA_PUBLIC_MAX || !EVP_PKEY_up_ref(key))
		return;
	s = &slots[index_of(slot_hash)];
	pthread_mutex_lock(&lock);
	old = s->key;
	s->key = key;
	s->len = len;
	memcpy(s->pub, pub, len);
	pthread_mutex_unlock(&lock);
	EVP_PKEY_free(old);
}
