/* SPDX-License-Identifier: BSD-3-Clause */
/* The Authenticode digest of PE/COFF images: real and generated images
 * against the digests two independent tools computed (pesign 0.112 "pesign
 * -h -i FILE" and osslsigncode 2.9 "verify", "Calculated message digest",
 * which agree on every file here; tests/data/SOURCES.md), then malformed
 * images, each refused naming what is wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "tpa/authenticode.h"
#include "tpa/err.h"
#include "tpa/tpm_decode.h"

#include "testutil.h"

#define DATA "tests/data/efi/"

static void hex(char *out, const uint8_t *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static uint8_t *slurp(size_t *len, const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (b = malloc((size_t)n)) && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	*len = b ? (size_t)n : 0;
	fclose(f);
	return b;
}

static void test_known_images(void)
{
	static const struct {
		const char *file, *digest;
	} known[] = {
		/* systemd-boot-efi 252.39-1~deb12u2 (Debian), PE32+, unsigned */
		{ "linuxx64.efi.stub",
		  "28fd6b9a39b745449fa2389a31045900804eae49ea7edb0f8c152a131df0002c" },
		/* the same, signed by osslsigncode (padded to 8 bytes, then the
		 * certificate table: both excluded or hashed as the spec says) */
		{ "linuxx64.efi.stub.signed",
		  "32cab00c99673e8b50d5d7f7602b2f8fdb5138aba67d1d2e422fdc8464310bc1" },
		/* mkpe.py --pe32 --trailing 24, signed: PE32, data after the
		 * sections, a certificate table */
		{ "pe32.efi.signed",
		  "0cc0da8afa733eb27a3aceaddba1f4f4891cecb7b94cd4c9e1459a61e2e3b358" },
		/* mkpe.py --sections 4 --trailing 8: PE32+, unsigned */
		{ "pe64.efi", "24ce8efd5d3b44adcb5e7382e18de596586583313f125296cd5dada77c21649a" },
	};
	uint8_t d[64];
	char h[129], path[256];
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		snprintf(path, sizeof(path), DATA "%s", known[i].file);
		memset(d, 0, sizeof(d));
		CU_ASSERT_EQUAL(tpa_authenticode_file(d, NULL, TPM2_ALG_SHA256, path), 0);
		hex(h, d, 32);
		if (strcmp(h, known[i].digest))
			fprintf(stderr, "%s: %s, expected %s (%s)\n", known[i].file, h,
				known[i].digest, tpa_err_last());
		CU_ASSERT_STRING_EQUAL(h, known[i].digest);
	}
	/* With the file's own digest (what GRUB measures), or that alone. */
	{
		uint8_t fd[32], want[32];
		size_t n = 0;
		uint8_t *img = slurp(&n, DATA "pe64.efi");

		CU_ASSERT_PTR_NOT_NULL_FATAL(img);
		CU_ASSERT_EQUAL(tpa_hash(want, TPM2_ALG_SHA256, img, n), 0);
		CU_ASSERT_EQUAL(tpa_authenticode_file(d, fd, TPM2_ALG_SHA256, DATA "pe64.efi"), 0);
		CU_ASSERT_EQUAL(memcmp(fd, want, 32), 0);
		memset(fd, 0, sizeof(fd));
		CU_ASSERT_EQUAL(tpa_authenticode_file(NULL, fd, TPM2_ALG_SHA256, DATA "mkpe.py"), 0);
		CU_ASSERT_EQUAL(tpa_authenticode_file(d, NULL, TPM2_ALG_SHA256, DATA "mkpe.py"),
				TPA_ERR_PARSE);
		CU_ASSERT(strstr(tpa_err_last(), "mkpe.py: no DOS header") != NULL);
		free(img);
	}
	/* Other banks hash the same bytes: SHA-1's is 20 bytes, and different. */
	CU_ASSERT_EQUAL(tpa_authenticode_file(d, NULL, TPM2_ALG_SHA1, DATA "pe64.efi"), 0);
	CU_ASSERT_EQUAL(tpa_authenticode_file(d, NULL, 0x7777, DATA "pe64.efi"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_authenticode_file(d, NULL, TPM2_ALG_SHA256, DATA "no-such.efi"), TPA_ERR_IO);
	CU_ASSERT(strstr(tpa_err_last(), "no-such.efi") != NULL);
	CU_ASSERT_EQUAL(tpa_authenticode_file(d, NULL, TPM2_ALG_SHA256, DATA), TPA_ERR_IO);
	CU_ASSERT(strstr(tpa_err_last(), "not a regular file") != NULL);
}

/* Offsets in the signed PE32 image (mkpe.py's layout). */
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static int refused(const uint8_t *img, size_t len, const char *why)
{
	uint8_t d[32];
	int err = tpa_authenticode_digest(d, TPM2_ALG_SHA256, img, len);

	if (err != TPA_ERR_PARSE || !strstr(tpa_err_last(), why)) {
		fprintf(stderr, "expected '%s', got %d '%s'\n", why, err, tpa_err_last());
		return 0;
	}
	return 1;
}

static void test_malformed(void)
{
	size_t len = 0, n;
	uint8_t *img = slurp(&len, DATA "pe32.efi.signed"), *b, d[32];
	uint32_t pe, opt, certdir, table, cert_off, cert_size;

	CU_ASSERT_PTR_NOT_NULL_FATAL(img);
	CU_ASSERT_FATAL(len > 0x200);
	CU_ASSERT_FATAL((b = malloc(len)) != NULL);
	pe = rd32(img + 0x3c);
	opt = pe + 24;
	certdir = opt + 96 + 4 * 8;
	table = opt + 224;
	cert_off = rd32(img + certdir);
	cert_size = rd32(img + certdir + 4);
	CU_ASSERT_FATAL(cert_size > 0 && cert_off + cert_size == len);

	/* Truncated: every prefix shorter than the headers is refused, none
	 * crashes (ASan and valgrind watch the reads). */
	for (n = 0; n < 0x200; n++)
		CU_ASSERT_EQUAL(tpa_authenticode_digest(d, TPM2_ALG_SHA256, img, n), TPA_ERR_PARSE);
	CU_ASSERT(refused(img, 10, "too short for a DOS header"));
	CU_ASSERT(refused(img, pe + 10, "the PE header at offset"));
	CU_ASSERT(refused(img, opt + 100, "the optional header (224 bytes) runs past the end"));
	/* A file cut inside its certificate table or its last section. */
	CU_ASSERT(refused(img, len - 1, "the certificate table"));
	memcpy(b, img, len);
	memset(b + certdir, 0, 8);
	n = rd32(img + table + 2 * 40 + 20) + rd32(img + table + 2 * 40 + 16);
	CU_ASSERT(refused(b, n - 1, "section 3 runs past the end of the file"));
	CU_ASSERT_EQUAL(tpa_authenticode_digest(d, TPM2_ALG_SHA256, b, n), 0);

	/* Wrong magic: DOS, PE signature, optional header. */
	memcpy(b, img, len);
	b[0] = 'Z';
	CU_ASSERT(refused(b, len, "no DOS header"));
	memcpy(b, img, len);
	b[pe + 1] = 'X';
	CU_ASSERT(refused(b, len, "no PE signature"));
	memcpy(b, img, len);
	b[opt] = 0x07;
	CU_ASSERT(refused(b, len, "magic 0x107 is neither PE32"));
	memcpy(b, img, len);
	wr32(b + 0x3c, 0xfffffff0u);
	CU_ASSERT(refused(b, len, "the PE header at offset 4294967280"));

	/* An oversized certificate table, one not at the end, one in the
	 * headers. */
	memcpy(b, img, len);
	wr32(b + certdir + 4, 0xffffff00u);
	CU_ASSERT(refused(b, len, "runs past the end of the file"));
	memcpy(b, img, len);
	wr32(b + certdir, 0xffffff00u);
	CU_ASSERT(refused(b, len, "runs past the end of the file"));
	memcpy(b, img, len);
	wr32(b + certdir + 4, cert_size - 8);
	CU_ASSERT(refused(b, len, "is not at the end of the file"));
	memcpy(b, img, len);
	wr32(b + certdir, 0x100);
	wr32(b + certdir + 4, (uint32_t)len - 0x100);
	CU_ASSERT(refused(b, len, "lies in the headers"));

	/* Sections: too many, a table past the end, one beyond the file, one
	 * overlapping the certificate table. */
	memcpy(b, img, len);
	b[pe + 6] = 97;
	CU_ASSERT(refused(b, len, "97 sections: more than 96"));
	memcpy(b, img, len);
	b[pe + 6] = 90;
	memset(b + certdir, 0, 8);
	CU_ASSERT(refused(b, 0x400, "the section table (90 sections) runs past the end"));
	memcpy(b, img, len);
	wr32(b + table + 2 * 40 + 20, (uint32_t)len);
	CU_ASSERT(refused(b, len, "section 3 runs past the end of the file"));
	memcpy(b, img, len);
	wr32(b + table + 1 * 40 + 16, 0xfffffe00u);
	CU_ASSERT(refused(b, len, "section 2 runs past the end of the file"));
	memcpy(b, img, len);
	wr32(b + table + 2 * 40 + 20, cert_off - 8);
	CU_ASSERT(refused(b, len, "section 3 overlaps the certificate table"));

	/* Headers: SizeOfHeaders too small or past the file; data directories. */
	memcpy(b, img, len);
	wr32(b + opt + 60, 8);
	CU_ASSERT(refused(b, len, "SizeOfHeaders 8 does not hold the headers"));
	memcpy(b, img, len);
	wr32(b + opt + 60, 0x7fffffff);
	CU_ASSERT(refused(b, len, "SizeOfHeaders 2147483647"));
	memcpy(b, img, len);
	wr32(b + opt + 92, 17);
	CU_ASSERT(refused(b, len, "17 data directories: more than 16"));
	memcpy(b, img, len);
	b[pe + 4 + 16] = 90;
	CU_ASSERT(refused(b, len, "too short for a PE32 header"));

	/* What is not hashed does not change the digest: CheckSum and the
	 * certificate table's bytes; what is hashed does. */
	{
		uint8_t d0[32], d1[32];

		CU_ASSERT_EQUAL(tpa_authenticode_digest(d0, TPM2_ALG_SHA256, img, len), 0);
		memcpy(b, img, len);
		wr32(b + opt + 64, 0x12345678);
		b[len - 5] ^= 0xff;
		CU_ASSERT_EQUAL(tpa_authenticode_digest(d1, TPM2_ALG_SHA256, b, len), 0);
		CU_ASSERT_EQUAL(memcmp(d0, d1, 32), 0);
		b[0x200 + 3] ^= 1;
		CU_ASSERT_EQUAL(tpa_authenticode_digest(d1, TPM2_ALG_SHA256, b, len), 0);
		CU_ASSERT_NOT_EQUAL(memcmp(d0, d1, 32), 0);
	}
	CU_ASSERT_EQUAL(tpa_authenticode_digest(NULL, TPM2_ALG_SHA256, img, len),
			TPA_ERR_INVALID_ARG);
	free(b);
	free(img);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("authenticode", NULL, NULL);
	CU_add_test(s, "real and generated images: the digests pesign and osslsigncode compute",
		    test_known_images);
	CU_add_test(s, "malformed images refused by name, never read out of bounds",
		    test_malformed);
	return test_run_all() ? 1 : 0;
}
