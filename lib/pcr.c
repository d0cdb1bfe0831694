/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <string.h>

#include "tpa/err.h"
#include "tpa/pcr.h"
#include "tpa/tpm_decode.h"

int tpa_pcr_set_add_bank(tpa_pcr_set *set, uint16_t hash_alg)
{
	uint32_t i;

	if (!set)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "pcr set: NULL");
	if (tpa_hash_size(hash_alg) == 0)
		return tpa_err_fail(TPA_ERR_PARSE, "PCR bank 0x%04x: unknown hash algorithm",
				    hash_alg);
	if (set->nbanks >= TPA_BANKS_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "more than %d PCR banks",
				    TPA_BANKS_MAX);
	for (i = 0; i < set->nbanks; i++)
		if (set->banks[i].hash_alg == hash_alg)
			return tpa_err_fail(TPA_ERR_PARSE, "PCR bank %s appears twice",
					    tpa_hash_label(hash_alg));
	memset(&set->banks[set->nbanks], 0, sizeof(set->banks[0]));
	set->banks[set->nbanks].hash_alg = hash_alg;
	set->nbanks++;
	return 0;
}

int tpa_pcr_set_add(tpa_pcr_set *set, uint32_t index, const uint8_t *digest,
		    size_t len)
{
	tpa_pcr_bank *b;
	size_t ds;

	if (!set || set->nbanks == 0 || (!digest && len))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "pcr set: no bank");
	b = &set->banks[set->nbanks - 1];
	ds = tpa_hash_size(b->hash_alg);
	if (index >= TPA_PCR_COUNT)
		return tpa_err_fail(TPA_ERR_PARSE, "PCR index %u out of range 0..%d",
				    index, TPA_PCR_COUNT - 1);
	if (b->count > 0 && index <= b->index[b->count - 1])
		return tpa_err_fail(TPA_ERR_PARSE,
				    "%s PCR %u: indices must be strictly ascending",
				    tpa_hash_label(b->hash_alg), index);
	if (len != ds)
		return tpa_err_fail(TPA_ERR_PARSE,
				    "%s PCR %u: digest of %zu bytes, expected %zu",
				    tpa_hash_label(b->hash_alg), index, len, ds);
	b->index[b->count] = (uint8_t)index;
	if (len)
		memcpy(b->digest[b->count], digest, len);
	b->count++;
	return 0;
}

static int alg_from_label(uint16_t *alg, const char *s, size_t n)
{
	static const struct { const char *name; uint16_t alg; } t[] = {
		{ "sha1", TPM2_ALG_SHA1 }, { "sha256", TPM2_ALG_SHA256 },
		{ "sha384", TPM2_ALG_SHA384 }, { "sha512", TPM2_ALG_SHA512 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strlen(t[i].name) == n && memcmp(t[i].name, s, n) == 0) {
			*alg = t[i].alg;
			return 0;
		}
	return tpa_err_fail(TPA_ERR_PARSE, "PCR selection: unknown bank '%.*s'",
			    (int)n, s);
}

/* Reads a decimal number of at most two digits. */
static int read_index(unsigned *out, const char **p)
{
	unsigned v = 0, digits = 0;

	while (**p >= '0' && **p <= '9') {
		if (++digits > 2)
			return tpa_err_fail(TPA_ERR_PARSE, "PCR selection: index too long");
		v = v * 10 + (unsigned)(**p - '0');
		(*p)++;
	}
	if (digits == 0)
		return tpa_err_fail(TPA_ERR_PARSE, "PCR selection: index expected");
	if (v >= TPA_PCR_COUNT)
		return tpa_err_fail(TPA_ERR_PARSE, "PCR selection: index %u out of range 0..%d",
				    v, TPA_PCR_COUNT - 1);
	*out = v;
	return 0;
}

int tpa_pcr_set_parse_selection(tpa_pcr_set *out, const char *spec)
{
	static const uint8_t zero[TPA_DIGEST_MAX];
	tpa_pcr_set set;
	const char *p = spec, *colon;
	int err;

	if (!out || !spec)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "PCR selection: NULL");
	memset(&set, 0, sizeof(set));
	for (;;) {
		uint32_t mask = 0;
		uint16_t alg = 0;
		unsigned i;

		if (!(colon = strchr(p, ':')))
			return tpa_err_fail(TPA_ERR_PARSE,
					    "PCR selection '%s': expected BANK:LIST", spec);
		if ((err = alg_from_label(&alg, p, (size_t)(colon - p))) < 0)
			return err;
		p = colon + 1;
		for (;;) {
			unsigned lo, hi;

			if ((err = read_index(&lo, &p)) < 0)
				return err;
			hi = lo;
			if (*p == '-') {
				p++;
				if ((err = read_index(&hi, &p)) < 0)
					return err;
				if (hi < lo)
					return tpa_err_fail(TPA_ERR_PARSE,
							    "PCR selection: range %u-%u", lo, hi);
			}
			for (i = lo; i <= hi; i++)
				mask |= 1u << i;
			if (*p != ',')
				break;
			p++;
		}
		if ((err = tpa_pcr_set_add_bank(&set, alg)) < 0)
			return err;
		for (i = 0; i < TPA_PCR_COUNT; i++)
			if ((mask & (1u << i)) &&
			    (err = tpa_pcr_set_add(&set, i, zero, tpa_hash_size(alg))) < 0)
				return err;
		if (*p == '\0')
			break;
		if (*p != '+')
			return tpa_err_fail(TPA_ERR_PARSE,
					    "PCR selection '%s': unexpected '%c'", spec, *p);
		p++;
	}
	*out = set;
	return 0;
}

const tpa_pcr_bank *tpa_pcr_set_bank(const tpa_pcr_set *set, uint16_t hash_alg)
{
	uint32_t b;

	for (b = 0; set && b < set->nbanks && b < TPA_BANKS_MAX; b++)
		if (set->banks[b].hash_alg == hash_alg)
			return &set->banks[b];
	return NULL;
}

tpa_pcr_mask tpa_pcr_bank_mask(const tpa_pcr_bank *bank)
{
	tpa_pcr_mask m = 0;
	uint32_t i;

	for (i = 0; bank && i < bank->count && i < TPA_PCR_COUNT; i++)
		if (bank->index[i] < TPA_PCR_COUNT)
			m |= (tpa_pcr_mask)1 << bank->index[i];
	return m;
}

const uint8_t *tpa_pcr_bank_value(const tpa_pcr_bank *bank, uint32_t index)
{
	uint32_t i;

	for (i = 0; bank && i < bank->count && i < TPA_PCR_COUNT; i++)
		if (bank->index[i] == index)
			return bank->digest[i];
	return NULL;
}

void tpa_pcr_mask_text(char *out, size_t cap, tpa_pcr_mask mask)
{
	size_t o = 0;
	unsigned i = 0;

	if (!cap)
		return;
	out[0] = '\0';
	if (!(mask & TPA_PCR_MASK_ALL)) {
		snprintf(out, cap, "none");
		return;
	}
	while (i < TPA_PCR_COUNT) {
		unsigned j;
		int w;

		if (!((mask >> i) & 1)) {
			i++;
			continue;
		}
		for (j = i; j + 1 < TPA_PCR_COUNT && ((mask >> (j + 1)) & 1); j++)
			;
		w = j > i ? snprintf(out + o, cap - o, "%s%u-%u", o ? ", " : "", i, j) :
			snprintf(out + o, cap - o, "%s%u", o ? ", " : "", i);
		if (w < 0 || (size_t)w >= cap - o)
			return;
		o += (size_t)w;
		i = j + 1;
	}
}
