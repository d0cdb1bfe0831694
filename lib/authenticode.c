/* SPDX-License-Identifier: BSD-3-Clause */
/* The Authenticode digest of a PE/COFF image (include/tpa/authenticode.h).
 * Every field read comes from the untrusted image: each is bounded against
 * the image's length before it is used, in 64-bit arithmetic so that no sum
 * wraps. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "tpa/authenticode.h"
#include "tpa/err.h"
#include "tpa/tpm_decode.h"

#define PE_MAGIC_32 0x10b
#define PE_MAGIC_64 0x20b
#define COFF_HEADER_LEN 20
#define SECTION_HEADER_LEN 40
#define DIR_SECURITY 4      /* the Certificate Table's data directory */

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

typedef struct {
	uint32_t index;     /* 1-based, as a person counts them in the table */
	uint32_t offset;    /* PointerToRawData */
	uint32_t size;      /* SizeOfRawData */
} raw_section;

static int by_offset(const void *a, const void *b)
{
	const raw_section *x = a, *y = b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Offsets and sizes are printed as unsigned long long. */
#define U(x) ((unsigned long long)(x))
#define BAD(...) tpa_err_fail(TPA_ERR_PARSE, "PE image: " __VA_ARGS__)

/* The parts of the image that are hashed, in order, checked. */
typedef struct {
	uint64_t checksum;       /* offset of the CheckSum field */
	uint64_t certdir;        /* offset of the Certificate Table entry, 0 if none */
	uint64_t headers;        /* SizeOfHeaders */
	uint64_t cert_off, cert_size; /* the attribute certificate table, size 0 if none */
	raw_section sec[TPA_AUTHENTICODE_SECTIONS_MAX];
	uint32_t nsec;
} layout;

static int parse_layout(layout *l, const uint8_t *img, size_t len)
{
	uint64_t pe, opt, opt_len, ndirs, dirs, table, end;
	uint32_t nsec, i;
	uint16_t magic;

	memset(l, 0, sizeof(*l));
	if (len < 64)
		return BAD("%llu bytes: too short for a DOS header (64)", U(len));
	if (img[0] != 'M' || img[1] != 'Z')
		return tpa_err_fail(TPA_ERR_PARSE, "PE image: no DOS header (\"MZ\"): not a "
				    "PE/COFF image");
	pe = le32(img + 0x3c);
	if (pe > len || len - pe < 4 + COFF_HEADER_LEN)
		return BAD("the PE header at offset %llu runs past the end of the file "
			   "(%llu bytes)", U(pe), U(len));
	if (memcmp(img + pe, "PE\0\0", 4) != 0)
		return BAD("no PE signature at offset %llu", U(pe));
	nsec = le16(img + pe + 4 + 2);
	opt_len = le16(img + pe + 4 + 16);
	opt = pe + 4 + COFF_HEADER_LEN;
	if (nsec > TPA_AUTHENTICODE_SECTIONS_MAX)
		return BAD("%llu sections: more than %llu", U(nsec),
			   U(TPA_AUTHENTICODE_SECTIONS_MAX));
	if (opt_len < 2 || opt + opt_len > len)
		return BAD("the optional header (%llu bytes) runs past the end of the "
			   "file (%llu bytes)", U(opt_len), U(len));
	magic = le16(img + opt);
	if (magic != PE_MAGIC_32 && magic != PE_MAGIC_64)
		return BAD("optional header magic 0x%llx is neither PE32 (0x10b) nor "
			   "PE32+ (0x20b)", U(magic));
	/* CheckSum and SizeOfHeaders are at the same offsets in both; the
	 * data directories follow NumberOfRvaAndSizes. */
	ndirs = magic == PE_MAGIC_32 ? 92 : 108;
	dirs = ndirs + 4;
	if (opt_len < dirs)
		return BAD("the optional header is %llu bytes: too short for a %s header",
			   U(opt_len), magic == PE_MAGIC_32 ? "PE32" : "PE32+");
	l->checksum = opt + 64;
	l->headers = le32(img + opt + 60);
	ndirs = le32(img + opt + ndirs);
	if (ndirs > 16)
		return BAD("%llu data directories: more than %llu", U(ndirs), U(16));
	if (dirs + 8 * ndirs > opt_len)
		return BAD("%llu data directories do not fit its optional header "
			   "(%llu bytes)", U(ndirs), U(opt_len));
	if (ndirs > DIR_SECURITY) {
		l->certdir = opt + dirs + 8 * DIR_SECURITY;
		l->cert_off = le32(img + l->certdir);
		l->cert_size = le32(img + l->certdir + 4);
		if (l->cert_size && (l->cert_off > len || l->cert_size > len - l->cert_off))
			return BAD("the certificate table (%llu bytes at offset %llu) runs "
				   "past the end of the file", U(l->cert_size), U(l->cert_off));
		if (!l->cert_size)
			l->cert_off = 0;
		else if (l->cert_off + l->cert_size != len)
			return BAD("the certificate table (%llu bytes at offset %llu) is not at the "
				   "end of the file (%llu bytes)", U(l->cert_size), U(l->cert_off),
				   U(len));
	}
	table = opt + opt_len;
	end = table + (uint64_t)nsec * SECTION_HEADER_LEN;
	if (end > len)
		return BAD("the section table (%llu sections) runs past the end of the "
			   "file (%llu bytes)", U(nsec), U(len));
	if (l->headers < (l->certdir ? l->certdir + 8 : l->checksum + 4) || l->headers > len)
		return BAD("SizeOfHeaders %llu does not hold the headers or runs past the "
			   "end of the file (%llu bytes)", U(l->headers), U(len));
	if (l->cert_size && l->cert_off < l->headers)
		return BAD("the certificate table at offset %llu lies in the headers "
			   "(%llu bytes)", U(l->cert_off), U(l->headers));
	for (i = 0; i < nsec; i++) {
		const uint8_t *h = img + table + (uint64_t)i * SECTION_HEADER_LEN;
		uint64_t size = le32(h + 16), off = le32(h + 20);

		if (!size)
			continue;
		if (off > len || size > len - off)
			return BAD("section %llu runs past the end of the file (%llu bytes)",
				   U(i + 1), U(len));
		if (l->cert_size && off < l->cert_off + l->cert_size && l->cert_off < off + size)
			return BAD("section %llu overlaps the certificate table at offset "
				   "%llu", U(i + 1), U(l->cert_off));
		l->sec[l->nsec].index = i + 1;
		l->sec[l->nsec].offset = (uint32_t)off;
		l->sec[l->nsec].size = (uint32_t)size;
		l->nsec++;
	}
	qsort(l->sec, l->nsec, sizeof(l->sec[0]), by_offset);
	return 0;
}

int tpa_authenticode_digest(uint8_t *out, uint16_t alg, const uint8_t *image, size_t len)
{
	const EVP_MD *md = tpa_hash_md(alg);
	EVP_MD_CTX *ctx;
	layout l;
	uint64_t hashed, tail, stop;
	uint32_t i;
	int ok, err;

	if (!out || (!image && len))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "authenticode: NULL");
	if (!md)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "authenticode: hash algorithm 0x%04x is "
				    "not supported", alg);
	if ((err = parse_layout(&l, image, len)) < 0)
		return err;
	if (!(ctx = EVP_MD_CTX_new()))
		return tpa_err_fail(TPA_ERR_NOMEM, "authenticode: out of memory");
	/* The headers, less CheckSum and the Certificate Table entry. */
	ok = EVP_DigestInit_ex(ctx, md, NULL) &&
		EVP_DigestUpdate(ctx, image, l.checksum);
	if (l.certdir)
		ok = ok && EVP_DigestUpdate(ctx, image + l.checksum + 4,
					    l.certdir - (l.checksum + 4)) &&
			EVP_DigestUpdate(ctx, image + l.certdir + 8, l.headers - (l.certdir + 8));
	else
		ok = ok && EVP_DigestUpdate(ctx, image + l.checksum + 4,
					    l.headers - (l.checksum + 4));
	hashed = l.headers;
	for (i = 0; ok && i < l.nsec; i++) {
		ok = EVP_DigestUpdate(ctx, image + l.sec[i].offset, l.sec[i].size);
		hashed += l.sec[i].size;
	}
	/* What follows the sections, less the certificate table: the spec's
	 * FILE_SIZE - (certificate size + SUM_OF_BYTES_HASHED), which holds for
	 * the table last in the file (parse_layout refuses it elsewhere). */
	stop = len - l.cert_size;
	if (ok && hashed < stop) {
		tail = stop - hashed;
		ok = EVP_DigestUpdate(ctx, image + hashed, tail);
	}
	ok = ok && EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : tpa_err_fail(TPA_ERR_CRYPTO, "authenticode: the digest failed");
}

int tpa_authenticode_file(uint8_t *out, uint8_t *file_digest, uint16_t alg, const char *path)
{
	struct stat sb;
	uint8_t *b = NULL;
	size_t n = 0;
	ssize_t r;
	char why[512];
	int fd, err = 0;

	if (!path || (!out && !file_digest))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "authenticode: no path");
	if (!tpa_hash_md(alg))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "authenticode: hash algorithm 0x%04x is "
				    "not supported", alg);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return tpa_err_fail(TPA_ERR_IO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return tpa_err_fail(TPA_ERR_IO, "%s: not a regular file", path);
	}
	if ((uint64_t)sb.st_size > TPA_AUTHENTICODE_IMAGE_MAX) {
		close(fd);
		return tpa_err_fail(TPA_ERR_LIMIT, "%s: larger than %u bytes", path,
				    TPA_AUTHENTICODE_IMAGE_MAX);
	}
	/* Read to the end, never past the cap, whatever st_size said. */
	if (!(b = malloc((size_t)sb.st_size + 1))) {
		close(fd);
		return tpa_err_fail(TPA_ERR_NOMEM, "%s: out of memory", path);
	}
	while (n <= (size_t)sb.st_size &&
	       (r = read(fd, b + n, (size_t)sb.st_size + 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = tpa_err_fail(TPA_ERR_IO, "%s: %s", path, strerror(errno));
			goto out;
		}
		n += (size_t)r;
	}
	if (n > (size_t)sb.st_size) {
		err = tpa_err_fail(TPA_ERR_IO, "%s: grew while it was read", path);
		goto out;
	}
	if (file_digest && (err = tpa_hash(file_digest, alg, b, n)) < 0)
		goto out;
	if (out && (err = tpa_authenticode_digest(out, alg, b, n)) < 0) {
		/* "PE image: ..." becomes "FILE: ...". */
		const char *m = tpa_err_last();

		snprintf(why, sizeof(why), "%s", strncmp(m, "PE image: ", 10) ? m : m + 10);
		err = tpa_err_fail(err, "%s: %s", path, why);
	}
out:
	close(fd);
	free(b);
	return err;
}
