/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal: a small process-wide cache of AK public keys as EVP_PKEYs, so
 * that a device attesting again does not pay for building its key. Entries
 * are keyed by the exact marshaled TPMT_PUBLIC bytes. */
#ifndef TPA_KEYCACHE_H
#define TPA_KEYCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* A new reference to the key for these public bytes, or NULL. slot_hash is
 * any well-mixed digest of the bytes (the AK name's). */
EVP_PKEY *keycache__get(const uint8_t *pub, size_t len, const uint8_t *slot_hash);
/* Remembers key (takes a reference of its own) for these bytes. */
void keycache__put(const uint8_t *pub, size_t len, const uint8_t *slot_hash,
		   EVP_PKEY *key);

#endif
