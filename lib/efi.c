/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tpa/efi.h"
#include "tpa/err.h"
#include "tpa/tpm_decode.h"

/* a5c059a1-94e4-4aa7-87b5-ab155c2bf072 and c1c41626-504c-4092-aca9-41f936934328,
 * as stored. */
static const uint8_t cert_x509_guid[16] = {
	0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a,
	0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72,
};
static const uint8_t cert_sha256_guid[16] = {
	0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40,
	0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28,
};

#define SIGLIST_HDR 28 /* GUID, ListSize, HeaderSize, SignatureSize */
#define OWNER_LEN 16

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

void tpa_efi_utf16_ascii(char *out, size_t cap, const uint8_t *b, size_t n)
{
	size_t i, o = 0;

	if (!cap)
		return;
	for (i = 0; i + 1 < n && o + 1 < cap; i += 2) {
		uint16_t c = (uint16_t)(b[i] | b[i + 1] << 8);

		if (c == 0)
			break;
		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[o] = '\0';
}

/* One DER TLV at *p (end at end): its tag, and its contents in *c and *cl;
 * *p moves past it. -1 if it does not fit. Lengths up to 4 bytes. */
static int der_tlv(const uint8_t **p, const uint8_t *end, uint8_t *tag,
		   const uint8_t **c, size_t *cl)
{
	const uint8_t *q = *p;
	size_t len = 0, nb, i;

	if (end - q < 2)
		return -1;
	*tag = *q++;
	if (*q < 0x80) {
		len = *q++;
	} else {
		nb = *q++ & 0x7f;
		if (nb == 0 || nb > 4 || (size_t)(end - q) < nb)
			return -1;
		for (i = 0; i < nb; i++)
			len = len << 8 | *q++;
	}
	if (len > (size_t)(end - q))
		return -1;
	*c = q;
	*cl = len;
	*p = q + len;
	return 0;
}

/* The subject Name of a certificate, found by walking its DER (decoding the
 * whole certificate would also decode its public key, which costs far more
 * than everything else done with an event log). */
static int cert_subject(const uint8_t **name, size_t *name_len, const uint8_t *der,
			size_t n)
{
	const uint8_t *p = der, *end = der + n, *c, *tbs, *tend, *start;
	size_t cl;
	uint8_t tag;
	int i;

	if (der_tlv(&p, end, &tag, &c, &cl) < 0 || tag != 0x30)
		return -1;
	p = c;
	end = c + cl;
	if (der_tlv(&p, end, &tag, &tbs, &cl) < 0 || tag != 0x30)
		return -1;
	p = tbs;
	tend = tbs + cl;
	/* [0] version (optional), serial, signature, issuer, validity, subject */
	if (tend - p >= 1 && *p == 0xA0 && der_tlv(&p, tend, &tag, &c, &cl) < 0)
		return -1;
	for (i = 0; i < 4; i++)
		if (der_tlv(&p, tend, &tag, &c, &cl) < 0)
			return -1;
	start = p;
	if (der_tlv(&p, tend, &tag, &c, &cl) < 0 || tag != 0x30)
		return -1;
	*name = start;
	*name_len = (size_t)(p - start);
	return 0;
}

int tpa_efi_cert_from_der(tpa_efi_cert *out, const uint8_t *der, size_t n)
{
	if (!out || (!der && n))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "certificate: NULL");
	out->der = der;
	out->der_len = n;
	return 0;
}

int tpa_efi_cert_sha256(uint8_t out[32], const tpa_efi_cert *c)
{
	return tpa_hash(out, TPM2_ALG_SHA256, c->der, c->der_len);
}

void tpa_efi_cert_subject(char *out, size_t cap, const tpa_efi_cert *c)
{
	const uint8_t *nm;
	size_t nl, i;

	if (!cap)
		return;
	out[0] = '\0';
	if (c->der_len > 0 && c->der_len < (1u << 20) &&
	    cert_subject(&nm, &nl, c->der, c->der_len) == 0) {
		const unsigned char *p = nm;
		X509_NAME *name = d2i_X509_NAME(NULL, &p, (long)nl);

		if (name && X509_NAME_get_text_by_NID(name, NID_commonName, out,
						      cap > INT32_MAX ? INT32_MAX : (int)cap) < 0)
			out[0] = '\0';
		X509_NAME_free(name);
	}
	for (i = 0; out[i]; i++)
		if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7f)
			out[i] = '?';
}

static int add_cert(tpa_efi_sigdb *db, const uint8_t *der, size_t n)
{
	tpa_efi_cert *c;
	int err;

	if (db->ncerts >= TPA_EFI_CERTS_MAX) {
		db->truncated = 1;
		return 0;
	}
	if ((db->ncerts & (db->ncerts - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
		if (!(c = realloc(db->certs, (db->ncerts ? 2 * db->ncerts : 1) * sizeof(*c))))
			return tpa_err_fail(TPA_ERR_NOMEM, "signature list: out of memory");
		db->certs = c;
	}
	if ((err = tpa_efi_cert_from_der(&db->certs[db->ncerts], der, n)) < 0)
		return err;
	db->ncerts++;
	return 0;
}

static int add_hash(tpa_efi_sigdb *db, const uint8_t *h)
{
	uint8_t (*hs)[32];

	if (db->nhashes >= TPA_EFI_HASHES_MAX) {
		db->truncated = 1;
		return 0;
	}
	if ((db->nhashes & (db->nhashes - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
		if (!(hs = realloc(db->hashes, (db->nhashes ? 2 * db->nhashes : 1) * sizeof(*hs))))
			return tpa_err_fail(TPA_ERR_NOMEM, "signature list: out of memory");
		db->hashes = hs;
	}
	memcpy(db->hashes[db->nhashes++], h, 32);
	return 0;
}

int tpa_efi_sigdb_add(tpa_efi_sigdb *db, const uint8_t *b, size_t n)
{
	size_t off = 0;
	int err;

	if (!db || (!b && n))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "signature list: NULL");
	db->present = 1;
	while (off < n) {
		uint32_t list, hdr, sig;
		size_t p, end;
		int x509, sha256;

		if (n - off < SIGLIST_HDR)
			return tpa_err_fail(TPA_ERR_PARSE, "signature list at %zu: truncated header",
					    off);
		list = le32(b + off + 16);
		hdr = le32(b + off + 20);
		sig = le32(b + off + 24);
		if (list < SIGLIST_HDR || list > n - off || hdr > list - SIGLIST_HDR ||
		    sig <= OWNER_LEN || (list - SIGLIST_HDR - hdr) % sig != 0)
			return tpa_err_fail(TPA_ERR_PARSE,
					    "signature list at %zu: sizes %u/%u/%u do not fit",
					    off, list, hdr, sig);
		x509 = memcmp(b + off, cert_x509_guid, 16) == 0;
		sha256 = memcmp(b + off, cert_sha256_guid, 16) == 0;
		if (sha256 && sig != OWNER_LEN + 32)
			return tpa_err_fail(TPA_ERR_PARSE,
					    "signature list at %zu: SHA-256 entries of %u bytes", off, sig);
		end = off + list;
		for (p = off + SIGLIST_HDR + hdr; p < end; p += sig) {
			const uint8_t *data = b + p + OWNER_LEN;
			size_t dl = sig - OWNER_LEN;

			if (x509)
				err = add_cert(db, data, dl);
			else if (sha256)
				err = add_hash(db, data);
			else {
				db->other++;
				err = 0;
			}
			if (err < 0)
				return err;
		}
		off = end;
	}
	return 0;
}

void tpa_efi_sigdb_clear(tpa_efi_sigdb *db)
{
	if (!db)
		return;
	free(db->certs);
	free(db->hashes);
	memset(db, 0, sizeof(*db));
}

int tpa_efi_devpath_file(char *out, size_t cap, const uint8_t *b, size_t n)
{
	size_t off = 0, o = 0;

	if (!cap)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "device path: no room");
	out[0] = '\0';
	while (n - off >= 4) {
		uint8_t type = b[off], sub = b[off + 1];
		uint16_t len = (uint16_t)(b[off + 2] | b[off + 3] << 8);

		if (len < 4 || len > n - off)
			return tpa_err_fail(TPA_ERR_PARSE,
					    "device path node at %zu: length %u does not fit", off, len);
		if (type == 0x7f && sub == 0xff)
			break; /* end of the whole path */
		if (type == 0x04 && sub == 0x04 && o + 1 < cap) {
			/* Media / file path: UTF-16LE, NUL-terminated. */
			tpa_efi_utf16_ascii(out + o, cap - o, b + off + 4, len - 4u);
			o += strlen(out + o);
		}
		off += len;
	}
	return 0;
}

/* EFI_GLOBAL_VARIABLE 8be4df61-93ca-11d2-aa0d-00e098032b8c, as stored. */
const uint8_t tpa_efi_global_variable[16] = {
	0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
	0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c,
};

/* EFI_IMAGE_SECURITY_DATABASE_GUID d719b2cb-3d3a-4596-a3bc-dad00e67656f. */
const uint8_t tpa_efi_shim_lock[16] = {      /* 605dab50-e046-4300-abb6-3dd810dd8b23 */
	0x50, 0xab, 0x5d, 0x60, 0x46, 0xe0, 0x00, 0x43,
	0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23,
};

const uint8_t tpa_efi_image_security_db[16] = {
	0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45,
	0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f,
};

static uint64_t var_le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int tpa_efi_var_parse(tpa_efi_var *v, const uint8_t *b, size_t n)
{
	if (!v || !b || n < 32)
		return -1;
	v->guid = b;
	v->name_chars = var_le64(b + 16);
	v->data_len = var_le64(b + 24);
	if (v->name_chars > (n - 32) / 2 || v->data_len != n - 32 - 2 * v->name_chars)
		return -1;
	v->name = b + 32;
	v->data = b + 32 + 2 * v->name_chars;
	return 0;
}

/* UEFI_IMAGE_LOAD_EVENT: location, length and link address in memory, the
 * device path's length (8 bytes each), then the device path. */
#define IMAGE_LOAD_HDR 32

int tpa_efi_image_load_path(char *out, size_t cap, const uint8_t *b, size_t n)
{
	uint64_t pl;

	if (!cap)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "image load event: no room");
	out[0] = '\0';
	if (n < IMAGE_LOAD_HDR)
		return tpa_err_fail(TPA_ERR_PARSE, "image load event: %zu bytes, shorter than %d",
				    n, IMAGE_LOAD_HDR);
	pl = var_le64(b + 24);
	if (pl > n - IMAGE_LOAD_HDR)
		return tpa_err_fail(TPA_ERR_PARSE,
				    "image load event: device path of %llu bytes, %zu left",
				    (unsigned long long)pl, n - IMAGE_LOAD_HDR);
	if (tpa_efi_devpath_file(out, cap, b + IMAGE_LOAD_HDR, (size_t)pl) < 0) {
		out[0] = '\0';
		return TPA_ERR_PARSE;
	}
	return 0;
}

int tpa_efi_var_is(const tpa_efi_var *v, const uint8_t *guid, const char *ascii)
{
	size_t i, len = strlen(ascii);

	if (memcmp(v->guid, guid, 16) != 0 || v->name_chars != len)
		return 0;
	for (i = 0; i < len; i++)
		if (v->name[2 * i] != (uint8_t)ascii[i] || v->name[2 * i + 1] != 0)
			return 0;
	return 1;
}
