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

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

size_t lw_efi_var(uint8_t *out, const uint8_t *guid, const char *name, const void *data,
		  size_t len)
{
	size_t i, n, nl = strlen(name);

	memcpy(out, guid, 16);
	memset(out + 16, 0, 16);
	put_le32(out + 16, (uint32_t)nl);
	put_le32(out + 24, (uint32_t)len);
	n = 32;
	for (i = 0; i < nl; i++) {
		out[n++] = (uint8_t)name[i];
		out[n++] = 0;
	}
	memcpy(out + n, data, len);
	return n + len;
}

static const uint8_t x509_guid[16] = { 0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a,
				       0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72 };
static const uint8_t sha256_guid[16] = { 0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40,
					 0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28 };

void lw_siglist_x509(uint8_t *out, size_t *n, const uint8_t *der, size_t len)
{
	uint8_t *l = out + *n;

	memcpy(l, x509_guid, 16);
	put_le32(l + 16, (uint32_t)(28 + 16 + len));
	put_le32(l + 20, 0);
	put_le32(l + 24, (uint32_t)(16 + len));
	memset(l + 28, 0, 16);
	memcpy(l + 44, der, len);
	*n += 28 + 16 + len;
}

void lw_siglist_sha256(uint8_t *out, size_t *n, const uint8_t (*h)[32], size_t count)
{
	uint8_t *l = out + *n;
	size_t i;

	memcpy(l, sha256_guid, 16);
	put_le32(l + 16, (uint32_t)(28 + 48 * count));
	put_le32(l + 20, 0);
	put_le32(l + 24, 48);
	for (i = 0; i < count; i++) {
		memset(l + 28 + 48 * i, 0, 16);
		memcpy(l + 28 + 48 * i + 16, h[i], 32);
	}
	*n += 28 + 48 * count;
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

