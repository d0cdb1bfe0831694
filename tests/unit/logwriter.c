/* SPDX-License-Identifier: BSD-3-Clause */
/* A tiny TCG event-log writer for tests. */
#include <string.h>

#include "tpa/eventlog.h"
#include "tpa/tpm_decode.h"

#include "logwriter.h"


void lw_put(buf *w, const void *p, size_t n)
{
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

void lw_u32(buf *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	lw_put(w, b, 4);
}

void lw_u16(buf *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	lw_put(w, b, 2);
}

/* Spec ID Event03 declaring the given algorithms (alg, size pairs). */
void lw_spec_id(buf *w, const uint16_t *algs, const uint16_t *sizes, uint32_t n,
		    uint8_t uintn)
{
	uint8_t zero[20] = { 0 };
	uint32_t i;

	lw_u32(w, 0);
	lw_u32(w, TPA_EV_NO_ACTION);
	lw_put(w, zero, 20);
	lw_u32(w, 16 + 4 + 3 + 1 + 4 + 4 * n + 1);
	lw_put(w, "Spec ID Event03", 16);
	lw_u32(w, 0);           /* platformClass */
	lw_put(w, "\x00\x02\x00", 3);
	lw_put(w, &uintn, 1);
	lw_u32(w, n);
	for (i = 0; i < n; i++) {
		lw_u16(w, algs[i]);
		lw_u16(w, sizes[i]);
	}
	lw_put(w, "\x00", 1);   /* vendorInfoSize */
}

/* A TCG_PCR_EVENT2 with a SHA-256 digest of data (or of digest_of). */
void lw_event2(buf *w, uint32_t pcr, uint32_t type, const void *data, uint32_t len,
		   const void *digest_of, uint32_t digest_len)
{
	uint8_t d[32];

	tpa_hash(d, TPM2_ALG_SHA256, digest_of ? digest_of : data,
		 digest_of ? digest_len : len);
	lw_u32(w, pcr);
	lw_u32(w, type);
	lw_u32(w, 1);
	lw_u16(w, TPM2_ALG_SHA256);
	lw_put(w, d, 32);
	lw_u32(w, len);
	lw_put(w, data, len);
}

/* A TCG_PCR_EVENT2 with a digest of data in each of the given banks. */
void lw_event_banks(buf *w, uint32_t pcr, uint32_t type, const void *data, uint32_t len,
		    const uint16_t *algs, uint32_t n)
{
	uint8_t d[64];
	uint32_t i;

	lw_u32(w, pcr);
	lw_u32(w, type);
	lw_u32(w, n);
	for (i = 0; i < n; i++) {
		tpa_hash(d, algs[i], data, len);
		lw_u16(w, algs[i]);
		lw_put(w, d, tpa_hash_size(algs[i]));
	}
	lw_u32(w, len);
	lw_put(w, data, len);
}

const uint16_t lw_sha256_only[1] = { TPM2_ALG_SHA256 };
const uint16_t lw_size32[1] = { 32 };

/* UEFI_VARIABLE_DATA of SecureBoot with the given value bytes. */
size_t lw_secureboot_var(uint8_t *out, const uint8_t *val, size_t vlen)
{
	static const uint8_t guid[16] = { 0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
					  0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c };
	const char *name = "SecureBoot";
	size_t i, n = 0;

	memcpy(out, guid, 16);
	n = 16;
	memset(out + n, 0, 16);
	out[n] = 10;
	out[n + 8] = (uint8_t)vlen;
	n += 16;
	for (i = 0; i < 10; i++) {
		out[n++] = (uint8_t)name[i];
		out[n++] = 0;
	}
	memcpy(out + n, val, vlen);
	return n + vlen;
}

