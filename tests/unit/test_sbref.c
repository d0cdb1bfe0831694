/* SPDX-License-Identifier: BSD-3-Clause */
/* The Secure Boot reference bundle: built from Microsoft's real published
 * list and certificates (tests/data/secureboot), the committed bundle what
 * the builder makes of them, its lookups; and each rule of the reader
 * broken alone, refused naming the field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tpa/err.h"
#include "tpa/sbref.h"
#include "tpa/tpm_decode.h"

#define DATA "tests/data/secureboot/"
#define BUNDLE "packaging/secureboot-ref.json"

static const char *const cert_files[] = {
	"db-MicCorUEFCA2011_2011-06-27.der", "db-MicWinProPCA2011_2011-10-19.der",
	"db-microsoft-option-rom-uefi-ca-2023.der", "db-microsoft-uefi-ca-2023.der",
	"db-windows-uefi-ca-2023.der", "kek-MicCorKEKCA2011_2011-06-24.der",
	"kek-microsoft-corporation-kek-2k-ca-2023.der", "pk-WindowsOEMDevicesPK.der",
};
#define NCERTS (sizeof(cert_files) / sizeof(cert_files[0]))

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = NULL;
	long l;

	*n = 0;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (l = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (b = malloc((size_t)l + 1)) && fread(b, 1, (size_t)l, f) == (size_t)l) {
		b[l] = 0;
		*n = (size_t)l;
	} else {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

typedef struct {
	uint8_t *list;
	size_t nlist;
	tpa_sbref_certfile c[NCERTS];
	uint8_t *der[NCERTS];
} inputs;

static void inputs_load(inputs *in)
{
	char path[256];
	size_t i;

	memset(in, 0, sizeof(*in));
	in->list = slurp(DATA "dbx_info_msft_latest.json", &in->nlist);
	CU_ASSERT_PTR_NOT_NULL_FATAL(in->list);
	for (i = 0; i < NCERTS; i++) {
		snprintf(path, sizeof(path), DATA "certs/%s", cert_files[i]);
		in->der[i] = slurp(path, &in->c[i].len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(in->der[i]);
		in->c[i].name = cert_files[i];
		in->c[i].der = in->der[i];
	}
}

static void inputs_free(inputs *in)
{
	size_t i;

	free(in->list);
	for (i = 0; i < NCERTS; i++)
		free(in->der[i]);
}

static void unhex(uint8_t *out, const char *hex)
{
	size_t i;

	for (i = 0; i < 32; i++)
		out[i] = (uint8_t)(tpa_hex_digit(hex[2 * i]) << 4 | tpa_hex_digit(hex[2 * i + 1]));
}

/* The committed bundle is what the builder makes of the data it names; it
 * holds Microsoft's list whole. */
static void test_committed_bundle(void)
{
	inputs in;
	tpa_sbref *r = NULL;
	uint8_t *committed;
	char *built = NULL;
	size_t n, a, opt = 0;

	inputs_load(&in);
	committed = slurp(BUNDLE, &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(committed);
	CU_ASSERT_EQUAL_FATAL(tpa_sbref_parse(&r, committed, n), 0);
	CU_ASSERT_EQUAL(tpa_sbref_build(&built, in.list, in.nlist, in.c, NCERTS, r->source,
					r->date), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(built);
	CU_ASSERT_EQUAL(strlen(built), n);
	CU_ASSERT(memcmp(built, committed, n) == 0);   /* else: make secureboot-ref */
	CU_ASSERT_STRING_EQUAL(r->date, "2026-07-15");
	CU_ASSERT_EQUAL(r->nimages[TPA_SB_ARCH_X64], 443);
	CU_ASSERT_EQUAL(r->nimages[TPA_SB_ARCH_IA32], 94);
	CU_ASSERT_EQUAL(r->nimages[TPA_SB_ARCH_AARCH64], 26);
	CU_ASSERT_EQUAL(r->nimages[TPA_SB_ARCH_ARM], 110);
	for (a = 0; a < r->nimages[TPA_SB_ARCH_X64]; a++)
		opt += r->images[TPA_SB_ARCH_X64][a].optional != 0;
	CU_ASSERT_EQUAL(opt, 154);   /* "isOptional": "true" in the list */
	CU_ASSERT_EQUAL(r->ncerts, 1);
	CU_ASSERT_EQUAL(r->nsvns, 3);
	CU_ASSERT_EQUAL(r->ncas, NCERTS);
	CU_ASSERT_EQUAL(r->ntest_subjects, 2);
	tpa_sbref_free(r);
	free(built);
	free(committed);
	inputs_free(&in);
}

/* The SHA-256 of one of the certificate files. */
static void fingerprint(uint8_t d[32], const char *file)
{
	char path[256];
	uint8_t *der;
	size_t n;

	snprintf(path, sizeof(path), DATA "certs/%s", file);
	der = slurp(path, &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	tpa_hash(d, TPM2_ALG_SHA256, der, n);
	free(der);
}

/* Lookups answer from the bundle: a revoked shim by its hash on its
 * architecture only, the Windows PCA 2011 as revoked and as a 2011 db CA,
 * the 2023 KEK by its certificate, a test PK by its subject. */
static void test_lookups(void)
{
	tpa_sbref *r = NULL;
	const tpa_sbref_image *im;
	const tpa_sbref_ca *ca;
	uint8_t d[32];

	CU_ASSERT_EQUAL_FATAL(tpa_sbref_load(&r, BUNDLE), 0);
	unhex(d, "80b4d96931bf0d02fd91a61e19d14f1da452e66db2408ca8604d411f92659f0a");
	im = tpa_sbref_image_revoked(r, TPA_SB_ARCH_X64, d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(im);
	CU_ASSERT_STRING_EQUAL(im->file, "shim.efi");
	CU_ASSERT_STRING_EQUAL(im->added, "2018-04-01");
	CU_ASSERT_STRING_EQUAL(im->authority, "Microsoft Corporation UEFI CA 2011");
	CU_ASSERT_PTR_NULL(tpa_sbref_image_revoked(r, TPA_SB_ARCH_ARM, d));
	d[31] ^= 1;
	CU_ASSERT_PTR_NULL(tpa_sbref_image_revoked(r, TPA_SB_ARCH_X64, d));
	CU_ASSERT_PTR_NULL(tpa_sbref_image_revoked(r, TPA_SB_ARCH_COUNT, d));

	fingerprint(d, "db-MicWinProPCA2011_2011-10-19.der");
	CU_ASSERT_PTR_NOT_NULL(tpa_sbref_cert_revoked(r, d));
	ca = tpa_sbref_ca_find(r, d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
	CU_ASSERT_TRUE(ca->revoked);
	CU_ASSERT_EQUAL(ca->store, TPA_SB_STORE_DB);
	CU_ASSERT_EQUAL(ca->generation, 2011);
	CU_ASSERT_STRING_EQUAL(ca->name, "Microsoft Windows Production PCA 2011");
	CU_ASSERT_TRUE_FATAL(ca->has_successor);
	ca = tpa_sbref_ca_find(r, ca->successor);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
	CU_ASSERT_STRING_EQUAL(ca->name, "Windows UEFI CA 2023");
	CU_ASSERT_FALSE(ca->has_successor);

	fingerprint(d, "kek-microsoft-corporation-kek-2k-ca-2023.der");
	CU_ASSERT_PTR_NULL(tpa_sbref_cert_revoked(r, d));
	ca = tpa_sbref_ca_find(r, d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
	CU_ASSERT_FALSE(ca->revoked);
	CU_ASSERT_EQUAL(ca->store, TPA_SB_STORE_KEK);
	CU_ASSERT_EQUAL(ca->generation, 2023);
	CU_ASSERT_STRING_EQUAL(ca->name, "Microsoft Corporation KEK 2K CA 2023");

	CU_ASSERT_TRUE(tpa_sbref_test_subject(r, "DO NOT TRUST - AMI Test PK"));
	CU_ASSERT_TRUE(tpa_sbref_test_subject(r, "Test PK (do not ship)"));
	CU_ASSERT_FALSE(tpa_sbref_test_subject(r, "Windows OEM Devices PK"));
	CU_ASSERT_FALSE(tpa_sbref_test_subject(r, "DO NOT"));
	tpa_sbref_free(r);
}

/* A small valid bundle, and one with `from` replaced by `to` (once). */
static const char small[] =
	"{\"format\":\"tpa-secureboot-ref\",\"version\":1,\"source\":\"test\","
	"\"date\":\"2026-07-15\","
	"\"revoked_images\":{\"x64\":[{\"sha256\":"
	"\"80b4d96931bf0d02fd91a61e19d14f1da452e66db2408ca8604d411f92659f0a\","
	"\"file\":\"shim.efi\",\"added\":\"2018-04-01\",\"optional\":true}]},"
	"\"revoked_certificates\":[{\"sha256\":"
	"\"1111111111111111111111111111111111111111111111111111111111111111\","
	"\"name\":\"A CA\",\"added\":\"2024-02-01\"}],"
	"\"svns\":[{\"value\":"
	"\"01612b139dd5598843ab1c185c3cb2eb92000009000000000000000000000000\","
	"\"file\":\"bootmgfw.efi\",\"version\":\"9.0\"}],"
	"\"cas\":[{\"sha256\":"
	"\"1111111111111111111111111111111111111111111111111111111111111111\","
	"\"name\":\"A CA\",\"store\":\"db\",\"generation\":2011}],"
	"\"test_key_subjects\":[\"DO NOT TRUST\"]}";

static int parse_edited(const char *from, const char *to, char *why, size_t cap)
{
	size_t bcap = sizeof(small) + strlen(to) + 1;
	char *b = malloc(bcap), *at;
	tpa_sbref *r = NULL;
	int err;

	if (!b)
		return TPA_ERR_NOMEM;
	at = strstr(small, from);
	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	snprintf(b, bcap, "%.*s%s%s", (int)(at - small), small, to, at + strlen(from));
	err = tpa_sbref_parse(&r, (const uint8_t *)b, strlen(b));
	snprintf(why, cap, "%s", err < 0 ? tpa_err_last() : "");
	if (err == 0) {
		CU_ASSERT_PTR_NOT_NULL(r);
	} else {
		CU_ASSERT_PTR_NULL(r);
	}
	tpa_sbref_free(r);
	free(b);
	return err;
}

static void test_refused_by_name(void)
{
	static const struct { const char *from, *to, *why; int err; } cases[] = {
		{ "\"tpa-secureboot-ref\"", "\"tpa-baseline\"", "bundle.format", TPA_ERR_PARSE },
		{ "\"version\":1", "\"version\":2", "bundle.version: 2 is newer", TPA_ERR_PARSE },
		{ "\"version\":1", "\"version\":\"1\"", "bundle.version", TPA_ERR_PARSE },
		{ "\"source\":\"test\"", "\"source\":\"\"", "bundle.source: must not be empty",
		  TPA_ERR_PARSE },
		{ "\"source\":\"test\"", "\"source\":\"te\\nst\"", "bundle.source: printable",
		  TPA_ERR_PARSE },
		{ "\"date\":\"2026-07-15\"", "\"date\":\"2026-02-30\"", "bundle.date",
		  TPA_ERR_PARSE },
		{ "\"date\":\"2026-07-15\"", "\"date\":\"2026-07-15T00:00:00Z\"", "bundle.date",
		  TPA_ERR_PARSE },
		{ "\"source\"", "\"extra\":1,\"source\"", "bundle: unknown field 'extra'",
		  TPA_ERR_PARSE },
		{ "\"source\":\"test\",", "", "bundle.source: a string is required", TPA_ERR_PARSE },
		{ "{\"x64\"", "{\"riscv64\"", "unknown architecture 'riscv64'", TPA_ERR_PARSE },
		{ "\"80b4d969", "\"80b4d96g", "revoked_images.x64[0].sha256: 'g' is not a hex",
		  TPA_ERR_PARSE },
		{ "f92659f0a\"", "f92659f0\"", "revoked_images.x64[0].sha256: 64 hex", TPA_ERR_PARSE },
		{ "\"added\":\"2018-04-01\"", "\"added\":\"2018-4-1\"",
		  "revoked_images.x64[0].added", TPA_ERR_PARSE },
		{ "\"optional\":true", "\"optional\":\"true\"", "revoked_images.x64[0].optional",
		  TPA_ERR_PARSE },
		{ "\"optional\":true", "\"signer\":\"x\"", "revoked_images.x64[0]: unknown field 'signer'",
		  TPA_ERR_PARSE },
		{ "\"optional\":true}]", "\"optional\":true},{\"sha256\":"
		  "\"80b4d96931bf0d02fd91a61e19d14f1da452e66db2408ca8604d411f92659f0a\","
		  "\"added\":\"2019-01-01\"}]", "revoked_images.x64: 80b4d969", TPA_ERR_PARSE },
		{ "\"name\":\"A CA\",\"added\"", "\"added\"", "revoked_certificates[0].name",
		  TPA_ERR_PARSE },
		{ "\"version\":\"9.0\"", "\"version\":\"9.0.0.0.0.0.0.0.0\"", "svns[0].version",
		  TPA_ERR_PARSE },
		{ "\"store\":\"db\"", "\"store\":\"DB\"", "cas[0].store: PK, KEK or db, not 'DB'",
		  TPA_ERR_PARSE },
		{ "\"generation\":2011", "\"generation\":11", "cas[0].generation", TPA_ERR_PARSE },
		{ "\"generation\":2011", "\"generation\":2011.0", "cas[0].generation", TPA_ERR_PARSE },
		{ "\"generation\":2011", "\"generation\":2011,\"successor\":"
		  "\"1111111111111111111111111111111111111111111111111111111111111111\"",
		  "cas (A CA): its successor 1111", TPA_ERR_PARSE },
		{ "\"generation\":2011", "\"generation\":2011,\"successor\":\"11\"",
		  "cas[0].successor: 64 hex", TPA_ERR_PARSE },
		{ "[\"DO NOT TRUST\"]", "[\"\"]", "test_key_subjects[0]", TPA_ERR_PARSE },
		{ "[\"DO NOT TRUST\"]", "[7]", "test_key_subjects[0]", TPA_ERR_PARSE },
		{ "\"svns\":[", "\"svns\":{", "not JSON", TPA_ERR_PARSE },
		{ "\"source\":\"test\"", "\"source\":\"test\",\"source\":\"x\"", "not JSON",
		  TPA_ERR_PARSE },
		{ "[\"DO NOT TRUST\"]", "\"DO NOT TRUST\"", "test_key_subjects: an array is required",
		  TPA_ERR_PARSE },
	};
	char why[512];
	size_t i;

	CU_ASSERT_EQUAL(parse_edited("\"test\"", "\"test\"", why, sizeof(why)), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = parse_edited(cases[i].from, cases[i].to, why, sizeof(why));

		CU_ASSERT_EQUAL(err, cases[i].err);
		if (!strstr(why, cases[i].why)) {
			fprintf(stderr, "\n  case %zu: wanted '%s', got '%s'\n", i, cases[i].why, why);
			CU_FAIL("refused for another reason");
		}
	}
}

/* A bundle over the byte cap is refused before it is read. */
static void test_caps(void)
{
	tpa_sbref *r = NULL;
	char *b;

	b = malloc(TPA_SBREF_BYTES_MAX + 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	memset(b, ' ', TPA_SBREF_BYTES_MAX + 1);
	CU_ASSERT_EQUAL(tpa_sbref_parse(&r, (const uint8_t *)b, TPA_SBREF_BYTES_MAX + 1),
			TPA_ERR_LIMIT);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "over the cap of 4194304"));
	CU_ASSERT_PTR_NULL(r);
	free(b);
}

/* The image count cap, reached with a bundle otherwise valid. */
static void test_image_cap(void)
{
	size_t per = 100, cap = 1024 + per * (TPA_SBREF_IMAGES_MAX + 1), n, i, k;
	const char *tail = strstr(small, "]},\"revoked_certificates\"");
	char *b = malloc(cap);
	tpa_sbref *r = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tail);
	for (k = TPA_SBREF_IMAGES_MAX; k <= TPA_SBREF_IMAGES_MAX + 1; k++) {
		n = (size_t)snprintf(b, cap, "{\"format\":\"tpa-secureboot-ref\",\"version\":1,"
				     "\"source\":\"t\",\"date\":\"2026-07-15\","
				     "\"revoked_images\":{\"arm\":[");
		for (i = 0; i < k; i++)
			n += (size_t)snprintf(b + n, cap - n, "%s{\"sha256\":\"%064zx\","
					      "\"added\":\"2020-01-01\"}", i ? "," : "", i);
		n += (size_t)snprintf(b + n, cap - n, "%s", tail);
		if (k == TPA_SBREF_IMAGES_MAX) {
			CU_ASSERT_EQUAL(tpa_sbref_parse(&r, (const uint8_t *)b, n), 0);
			CU_ASSERT_EQUAL(r ? r->nimages[TPA_SB_ARCH_ARM] : 0, TPA_SBREF_IMAGES_MAX);
			tpa_sbref_free(r);
			r = NULL;
		} else {
			CU_ASSERT_EQUAL(tpa_sbref_parse(&r, (const uint8_t *)b, n), TPA_ERR_LIMIT);
			CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(),
						      "revoked_images.arm: 16385 entries, over the cap of 16384"));
			CU_ASSERT_PTR_NULL(r);
		}
	}
	free(b);
}

/* Cut anywhere, the bundle is refused, never half-read. */
static void test_truncated(void)
{
	tpa_sbref *r = NULL;
	size_t n;

	for (n = 0; n < sizeof(small) - 1; n++) {
		CU_ASSERT_NOT_EQUAL(tpa_sbref_parse(&r, (const uint8_t *)small, n), 0);
		CU_ASSERT_PTR_NULL(r);
	}
	CU_ASSERT_EQUAL(tpa_sbref_parse(&r, (const uint8_t *)small, n), 0);
	tpa_sbref_free(r);
}

/* The builder refuses what is not Microsoft's list as it is published:
 * another hash type, a revoked certificate it was not given, a thumbprint
 * that is not the certificate's, a certificate file without its store. */
static void test_build_refused(void)
{
	inputs in;
	tpa_sbref_certfile c[NCERTS];
	char *out = NULL, *edited;
	const char *at;
	size_t i, k;

	inputs_load(&in);
	edited = malloc(in.nlist + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(edited);
	memcpy(edited, in.list, in.nlist + 1);
	at = strstr(edited, "\"hashType\": \"SHA256\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	memcpy((char *)at + 13, "SHA1  ", 6);
	CU_ASSERT_EQUAL(tpa_sbref_build(&out, (uint8_t *)edited, in.nlist, in.c, NCERTS, "t",
					"2026-07-15"), TPA_ERR_PARSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "images.x64[0].hashType: 'SHA1', not SHA256"));
	CU_ASSERT_PTR_NULL(out);

	memcpy(edited, in.list, in.nlist + 1);
	at = strstr(edited, "580a6f4cc4e4b669b9ebdc1b2b3e087b80d0678d");
	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	((char *)at)[39] = 'e';
	CU_ASSERT_EQUAL(tpa_sbref_build(&out, (uint8_t *)edited, in.nlist, in.c, NCERTS, "t",
					"2026-07-15"), TPA_ERR_VERIFY);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "certificates[0]: the thumbprint is not"));

	for (i = k = 0; i < NCERTS; i++)
		if (!strstr(cert_files[i], "MicWinProPCA2011"))
			c[k++] = in.c[i];
	CU_ASSERT_EQUAL(tpa_sbref_build(&out, in.list, in.nlist, c, k, "t", "2026-07-15"),
			TPA_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(),
				      "MicWinProPCA2011_2011-10-19.der is not among the certificates"));

	memcpy(c, in.c, sizeof(c));
	c[0].name = "MicCorUEFCA2011_2011-06-27.der";
	CU_ASSERT_EQUAL(tpa_sbref_build(&out, in.list, in.nlist, c, NCERTS, "t", "2026-07-15"),
			TPA_ERR_PARSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "must start with pk-, kek- or db-"));
	memcpy(c, in.c, sizeof(c));
	c[0].len--;
	CU_ASSERT_EQUAL(tpa_sbref_build(&out, in.list, in.nlist, c, NCERTS, "t", "2026-07-15"),
			TPA_ERR_PARSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "not one DER X.509 certificate"));
	CU_ASSERT_EQUAL(tpa_sbref_build(&out, in.list, in.nlist, in.c, NCERTS, "t", "2026-7-15"),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(out);
	free(edited);
	inputs_free(&in);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("sbref", NULL, NULL);
	CU_add_test(s, "the committed bundle is what the builder makes of Microsoft's list",
		    test_committed_bundle);
	CU_add_test(s, "lookups: revoked images, certificates, CAs, test-key subjects",
		    test_lookups);
	CU_add_test(s, "each rule of the reader broken alone, refused by name",
		    test_refused_by_name);
	CU_add_test(s, "the byte cap", test_caps);
	CU_add_test(s, "the image count cap, at it and one over", test_image_cap);
	CU_add_test(s, "truncated at every byte", test_truncated);
	CU_add_test(s, "the builder refuses what is not the published list", test_build_refused);
	return test_run_all() ? 1 : 0;
}
