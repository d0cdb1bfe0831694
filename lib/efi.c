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

int tpa_efi_cert_from_der(tpa_efi_cert *out, const uint8_t *der, size_t n)
{
	const unsigned char *p = der;
	X509 *x;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = tpa_hash(out->sha256, TPM2_ALG_SHA256, der, n)) < 0)
		return err;
	if (n > 0 && n < (1u << 20) && (x = d2i_X509(NULL, &p, (long)n))) {
		X509_NAME *name = X509_get_subject_name(x);

		if (name && X509_NAME_get_text_by_NID(name, NID_commonName, out->subject,
						      sizeof(out->subject)) < 0)
			out->subject[0] = '\0';
		X509_free(x);
	}
	/* Keep only printable ASCII of the subject. */
	for (p = (const unsigned char *)out->subject; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			out->subject[p - (const unsigned char *)out->subject] = '?';
	return 0;
}

static int add_cert(tpa_efi_sigdb *db, const uint8_t *der, size_t n)
{
	tpa_efi_cert *c;
	int err;

	if (db->ncerts >= TPA_EFI_CERTS_MAX) {
		db->truncated = 1;
		return 0;
	}
	if (!(c = realloc(db->certs, (db->ncerts + 1) * sizeof(*c))))
		return tpa_err_fail(TPA_ERR_NOMEM, "signature list: out of memory");
	db->certs = c;
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
	if (!(hs = realloc(db->hashes, (db->nhashes + 1) * sizeof(*hs))))
		return tpa_err_fail(TPA_ERR_NOMEM, "signature list: out of memory");
	db->hashes = hs;
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
