/* SPDX-License-Identifier: BSD-3-Clause */
/* PCR sets: the values of some PCRs of some banks, as a quote covers them,
 * and masks of PCR indices. */
#ifndef TPA_PCR_H
#define TPA_PCR_H

#include <stddef.h>
#include <stdint.h>

#define TPA_PCR_COUNT    24   /* PCRs 0..23 of a PC Client TPM */
#define TPA_BANKS_MAX    4    /* sha1, sha256, sha384, sha512 */
#define TPA_DIGEST_MAX   64

/* A set of PCR indices: bit i is PCR i. */
typedef uint32_t tpa_pcr_mask;
#define TPA_PCR_MASK_ALL ((tpa_pcr_mask)0xFFFFFFu)

/* The values of some PCRs of some banks, in the order they were selected. */
typedef struct {
	uint16_t hash_alg;                /* TPM2_ALG_SHA256, ... */
	uint32_t count;                   /* PCRs present, ascending index */
	uint8_t index[TPA_PCR_COUNT];
	uint8_t digest[TPA_PCR_COUNT][TPA_DIGEST_MAX];
} tpa_pcr_bank;

typedef struct {
	uint32_t nbanks;
	tpa_pcr_bank banks[TPA_BANKS_MAX];
} tpa_pcr_set;

/* Starts a new bank; a bank's algorithm may appear once. */
int tpa_pcr_set_add_bank(tpa_pcr_set *set, uint16_t hash_alg);
/* Appends a PCR to the last bank: index < 24, strictly ascending, and the
 * digest as long as the bank algorithm's digest. */
int tpa_pcr_set_add(tpa_pcr_set *set, uint32_t index, const uint8_t *digest,
		    size_t len);
/* Parses "sha256:0,1,2,7" or "sha256:0-9" (several banks joined by '+') into
 * a selection: each bank with its indices and zero digests. */
int tpa_pcr_set_parse_selection(tpa_pcr_set *out, const char *spec);

/* The bank of an algorithm in a set, or NULL. */
const tpa_pcr_bank *tpa_pcr_set_bank(const tpa_pcr_set *set, uint16_t hash_alg);
/* The PCRs a bank holds, as a mask. */
tpa_pcr_mask tpa_pcr_bank_mask(const tpa_pcr_bank *bank);
/* The value of PCR index in a bank, or NULL. */
const uint8_t *tpa_pcr_bank_value(const tpa_pcr_bank *bank, uint32_t index);

/* "0-7, 9, 14" for a mask ("none" if empty), into out (cap bytes). */
void tpa_pcr_mask_text(char *out, size_t cap, tpa_pcr_mask mask);

#endif
