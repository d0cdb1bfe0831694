/* SPDX-License-Identifier: BSD-3-Clause */
/* Device (EAP-TLS) certificates named as FreeRADIUS names them: issuer in
 * X509_NAME_oneline form and serial as the ASN1_INTEGER's octets in hex,
 * each compared with what the openssl CLI prints of the same file
 * (-nameopt compat is the oneline form), on the certificates of
 * tests/data/devcert (made by its make.sh) and on certificates made here
 * with OpenSSL for the bounds; bad input refused by name; the chain to a
 * CA; the key a RADIUS server sends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "testutil.h"
#include "tpa/devcert.h"
#include "tpa/err.h"

#define DATA "tests/data/devcert/"
#define EXAMPLE_CA "/C=US/O=Example, Inc./OU=Network Access/CN=Example Device CA 1"

static uint8_t *load(size_t *len, const char *name)
{
	uint8_t *b = NULL;

	if (tpa_devcert_read_file(&b, len, name) < 0) {
		fprintf(stderr, "%s: %s\n", name, tpa_err_last());
		return NULL;
	}
	return b;
}

/* The first line the shell command prints, its newline dropped ("" if
 * none). */
static void run(char *out, size_t cap, const char *cmd)
{
	FILE *p = popen(cmd, "r");

	out[0] = '\0';
	if (!p)
		return;
	if (!fgets(out, (int)cap, p))
		out[0] = '\0';
	pclose(p);
	out[strcspn(out, "\n")] = '\0';
}

/* What openssl x509 prints of file: issuer (-nameopt compat, "issuer="
 * dropped), serial (lower-cased), the SHA-256 fingerprint (colons dropped,
 * lower-cased) and notAfter (Unix s). */
static void openssl_says(tpa_device_cert *c, const char *file)
{
	char cmd[512], b[1024];
	size_t i, k;

	memset(c, 0, sizeof(*c));
	snprintf(cmd, sizeof(cmd), "openssl x509 -in %s -noout -issuer -nameopt compat", file);
	run(b, sizeof(b), cmd);
	if (strncmp(b, "issuer=", 7) == 0 && strlen(b + 7) < sizeof(c->issuer))
		memcpy(c->issuer, b + 7, strlen(b + 7) + 1);
	snprintf(cmd, sizeof(cmd), "openssl x509 -in %s -noout -serial", file);
	run(b, sizeof(b), cmd);
	for (i = 0, k = 0; b[i] && k < TPA_CERT_SERIAL_MAX; i++)
		if (i >= 7)
			c->serial[k++] = (char)(b[i] >= 'A' && b[i] <= 'F' ? b[i] + 32 : b[i]);
	snprintf(cmd, sizeof(cmd), "openssl x509 -in %s -noout -fingerprint -sha256", file);
	run(b, sizeof(b), cmd);
	for (i = (size_t)(strchr(b, '=') ? strchr(b, '=') - b : 0), k = 0; b[i] && k < 64; i++)
		if (strchr("0123456789ABCDEF", b[i]))
			c->sha256[k++] = (char)(b[i] >= 'A' ? b[i] + 32 : b[i]);
	snprintf(cmd, sizeof(cmd), "date -u -d \"$(openssl x509 -in %s -noout -enddate | "
		 "cut -d= -f2)\" +%%s", file);
	run(b, sizeof(b), cmd);
	c->not_after = strtoll(b, NULL, 10);
}

static void same_as_openssl(const char *file, const char *issuer, const char *serial)
{
	tpa_device_cert got, want;
	uint8_t *b;
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(b = load(&len, file));
	CU_ASSERT_EQUAL_FATAL(tpa_devcert_read(&got, b, len), 0);
	openssl_says(&want, file);
	CU_ASSERT_STRING_EQUAL(got.issuer, want.issuer);
	CU_ASSERT_STRING_EQUAL(got.serial, want.serial);
	CU_ASSERT_STRING_EQUAL(got.sha256, want.sha256);
	CU_ASSERT_EQUAL(got.not_after, want.not_after);
	CU_ASSERT(got.not_after > 4000000000LL);
	CU_ASSERT_STRING_EQUAL(got.issuer, issuer);
	CU_ASSERT_STRING_EQUAL(got.serial, serial);
	CU_ASSERT_EQUAL(tpa_devcert_key_valid(got.issuer, got.serial), 0);
	CU_ASSERT_STRING_EQUAL(got.device_id, "");
	free(b);
}

/* A serial with its high bit set: DER 02 04 00 80 ff 01 (the sign octet),
 * the ASN1_INTEGER's octets 80 ff 01, FreeRADIUS's and openssl's "80ff01". */
static void test_high_bit(void)
{
	static const uint8_t der_serial[] = { 0x02, 0x04, 0x00, 0x80, 0xff, 0x01 };
	uint8_t *pem, *der = NULL;
	size_t len = 0;
	BIO *bio;
	X509 *x;
	int n;

	same_as_openssl(DATA "dev-highbit.pem", EXAMPLE_CA, "80ff01");
	CU_ASSERT_PTR_NOT_NULL_FATAL(pem = load(&len, DATA "dev-highbit.pem"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(bio = BIO_new_mem_buf(pem, (int)len));
	CU_ASSERT_PTR_NOT_NULL_FATAL(x = PEM_read_bio_X509(bio, NULL, NULL, NULL));
	CU_ASSERT((n = i2d_X509(x, &der)) > 0);
	CU_ASSERT_PTR_NOT_NULL(memmem(der, (size_t)n, der_serial, sizeof(der_serial)));
	CU_ASSERT_EQUAL(ASN1_STRING_length(X509_get0_serialNumber(x)), 3);
	OPENSSL_free(der);
	X509_free(x);
	BIO_free(bio);
	free(pem);
}

/* 20 octets (RFC 5280's most), the same from PEM and from DER. */
static void test_twenty_octets(void)
{
	tpa_device_cert a, b;
	uint8_t *pem, *der;
	size_t pl = 0, dl = 0;

	same_as_openssl(DATA "dev-20.pem", EXAMPLE_CA, "7a0102030405060708090a0b0c0d0e0f10111213");
	CU_ASSERT_PTR_NOT_NULL_FATAL(pem = load(&pl, DATA "dev-20.pem"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(der = load(&dl, DATA "dev-20.der"));
	CU_ASSERT_EQUAL(tpa_devcert_read(&a, pem, pl), 0);
	CU_ASSERT_EQUAL(tpa_devcert_read(&b, der, dl), 0);
	CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof(a)), 0);
	CU_ASSERT_EQUAL(strlen(a.serial), 40);
	free(pem);
	free(der);
}

/* UTF-8 in the issuer comes escaped, as openssl prints it: printable. */
static void test_utf8_issuer(void)
{
	same_as_openssl(DATA "dev-utf8.pem", "/C=DE/O=\\xC3\\x9Cbung GmbH/CN=Ger\\xC3\\xA4t CA",
			"01");
	same_as_openssl(DATA "dev-other.pem", "/C=US/O=Other/CN=Other CA", "0102");
}

/* A certificate made here: serial of n octets (first 0x7f; -0x7f01 if
 * neg), issuer seven "/OU=" of 60 'a's then "/CN=" and cn_len 'a's (an
 * attribute holds 64 at most): 452 + cn_len bytes. DER, malloc'd. */
static uint8_t *make_cert(size_t *len, size_t n, int neg, size_t cn_len)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	unsigned char oct[64], a[64], *out = NULL;
	int l = -1, ok;
	size_t i;

	for (i = 0; i < n && i < sizeof(oct); i++)
		oct[i] = (unsigned char)(i == 0 ? 0x7f : i);
	memset(a, 'a', sizeof(a));
	ok = k && x && nm && sn && cn_len <= sizeof(a) &&
	     (neg ? ASN1_INTEGER_set_int64(sn, -0x7f01) : ASN1_STRING_set(sn, oct, (int)n)) == 1;
	for (i = 0; ok && i < 7; i++)
		ok = X509_NAME_add_entry_by_txt(nm, "OU", MBSTRING_ASC, a, 60, -1, 0) == 1;
	if (ok && X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, a, (int)cn_len, -1, 0) == 1 &&
	    X509_set_serialNumber(x, sn) == 1 && X509_set_issuer_name(x, nm) == 1 &&
	    X509_set_subject_name(x, nm) == 1 && X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 3600) && X509_set_pubkey(x, k) == 1 &&
	    X509_sign(x, k, EVP_sha256()) > 0)
		l = i2d_X509(x, &out);
	ASN1_INTEGER_free(sn);
	X509_NAME_free(nm);
	X509_free(x);
	EVP_PKEY_free(k);
	if (l <= 0)
		return NULL;
	*len = (size_t)l;
	return out;
}

static void test_bounds(void)
{
	tpa_device_cert c;
	uint8_t *d;
	size_t len = 0;

	/* 31 octets, the most FreeRADIUS names (its buffer is 64 bytes, the
	 * serial must be shorter than 32 octets); 32 are refused. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(d = make_cert(&len, 31, 0, 8));
	CU_ASSERT_EQUAL(tpa_devcert_read(&c, d, len), 0);
	CU_ASSERT_EQUAL(strlen(c.serial), 62);
	CU_ASSERT_EQUAL(tpa_devcert_key_valid(c.issuer, c.serial), 0);
	CU_ASSERT_EQUAL(strlen(c.issuer), 452 + 8);
	CU_ASSERT_EQUAL(strncmp(c.issuer, "/OU=aaaa", 8), 0);
	OPENSSL_free(d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d = make_cert(&len, 32, 0, 8));
	CU_ASSERT_EQUAL(tpa_devcert_read(&c, d, len), TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(),
				      "the serial is 32 octets (FreeRADIUS names none over 31)"));
	CU_ASSERT_STRING_EQUAL(c.serial, "");
	OPENSSL_free(d);
	/* 512 bytes, the most; 513 are one too many. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(d = make_cert(&len, 1, 0, 60));
	CU_ASSERT_EQUAL(tpa_devcert_read(&c, d, len), 0);
	CU_ASSERT_EQUAL(strlen(c.issuer), TPA_CERT_ISSUER_MAX);
	OPENSSL_free(d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d = make_cert(&len, 1, 0, 61));
	CU_ASSERT_EQUAL(tpa_devcert_read(&c, d, len), TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "the issuer is 513 bytes (at most 512)"));
	OPENSSL_free(d);
	/* A negative serial: FreeRADIUS would print its magnitude alone. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(d = make_cert(&len, 2, 1, 8));
	CU_ASSERT_EQUAL(tpa_devcert_read(&c, d, len), TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "negative"));
	OPENSSL_free(d);
}

static void test_refused(void)
{
	static const char *const not_x509 = "device certificate: not a PEM or DER X.509 certificate";
	tpa_device_cert c;
	uint8_t *b, *big;
	size_t len = 0;
	char *cut;

	CU_ASSERT_EQUAL(tpa_devcert_read(&c, (const uint8_t *)"", 0), TPA_ERR_PARSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), not_x509));
	CU_ASSERT_EQUAL(tpa_devcert_read(&c, NULL, 0), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_devcert_read(&c, (const uint8_t *)"hello, world\n", 13),
			TPA_ERR_PARSE);
	CU_ASSERT_STRING_EQUAL(tpa_err_last(), not_x509);
	CU_ASSERT_EQUAL(tpa_devcert_read(&c, (const uint8_t *)"\x30\x82\x01", 3), TPA_ERR_PARSE);
	CU_ASSERT_STRING_EQUAL(tpa_err_last(), not_x509);
	/* Over 64 KiB, whatever it holds. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(big = calloc(1, TPA_DEVCERT_FILE_MAX + 1));
	CU_ASSERT_EQUAL(tpa_devcert_read(&c, big, TPA_DEVCERT_FILE_MAX + 1), TPA_ERR_LIMIT);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "larger than 65536 bytes"));
	free(big);
	/* DER with a byte after it. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(b = load(&len, DATA "dev-20.der"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(big = malloc(len + 1));
	memcpy(big, b, len);
	big[len] = 0;
	CU_ASSERT_EQUAL(tpa_devcert_read(&c, big, len + 1), TPA_ERR_PARSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "1 bytes after the DER certificate"));
	CU_ASSERT_EQUAL(tpa_devcert_read(&c, big, len - 1), TPA_ERR_PARSE);
	free(big);
	free(b);
	/* PEM cut short. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(b = load(&len, DATA "dev-20.pem"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(cut = strstr((char *)b, "-----END"));
	CU_ASSERT_EQUAL(tpa_devcert_read(&c, b, (size_t)(cut - (char *)b)), TPA_ERR_PARSE);
	CU_ASSERT_STRING_EQUAL(tpa_err_last(), not_x509);
	free(b);
	/* Two PEM blocks (a certificate and its chain, a bundle): refused, not
	 * the first taken, so that nobody binds a CA by mistake. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(b = load(&len, DATA "two.pem"));
	CU_ASSERT_EQUAL(tpa_devcert_read(&c, b, len), TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "more than one PEM block"));
	free(b);
	/* Files: none there, over the bound. */
	CU_ASSERT_EQUAL(tpa_devcert_read_file(&b, &len, DATA "no-such.pem"), TPA_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "no-such.pem"));
	{
		char dir[] = "/tmp/tpa-devcert-XXXXXX", path[64];
		FILE *f;

		CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
		snprintf(path, sizeof(path), "%s/big.pem", dir);
		CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(path, "wb"));
		CU_ASSERT_EQUAL(fseek(f, TPA_DEVCERT_FILE_MAX, SEEK_SET), 0);
		fputc('x', f);
		fclose(f);
		CU_ASSERT_EQUAL(tpa_devcert_read_file(&b, &len, path), TPA_ERR_LIMIT);
		CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "larger than 65536 bytes"));
		remove(path);
		rmdir(dir);
	}
}

static void test_ca(void)
{
	uint8_t *b;
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(b = load(&len, DATA "dev-highbit.pem"));
	CU_ASSERT_EQUAL(tpa_devcert_check_ca(b, len, DATA "ca.pem"), 0);
	CU_ASSERT_EQUAL(tpa_devcert_check_ca(b, len, DATA "other-ca.pem"), TPA_ERR_VERIFY);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "does not chain to the CA in "
				      DATA "other-ca.pem"));
	CU_ASSERT_EQUAL(tpa_devcert_check_ca(b, len, DATA "no-such-ca.pem"), TPA_ERR_IO);
	CU_ASSERT_EQUAL(tpa_devcert_check_ca(b, len, DATA "dev-20.der"), TPA_ERR_IO);
	free(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b = load(&len, DATA "dev-20.der"));
	CU_ASSERT_EQUAL(tpa_devcert_check_ca(b, len, DATA "ca.pem"), 0);
	free(b);
	/* Not from that CA. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(b = load(&len, DATA "dev-other.pem"));
	CU_ASSERT_EQUAL(tpa_devcert_check_ca(b, len, DATA "ca.pem"), TPA_ERR_VERIFY);
	CU_ASSERT_EQUAL(tpa_devcert_check_ca(b, len, DATA "other-ca.pem"), 0);
	free(b);
	/* From the CA, but for a TLS server only. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(b = load(&len, DATA "dev-server.pem"));
	CU_ASSERT_EQUAL(tpa_devcert_check_ca(b, len, DATA "ca.pem"), TPA_ERR_VERIFY);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "unsuitable certificate purpose"));
	free(b);
	CU_ASSERT_EQUAL(tpa_devcert_check_ca((const uint8_t *)"x", 1, DATA "ca.pem"),
			TPA_ERR_PARSE);
}

static void test_key_valid(void)
{
	char issuer[TPA_CERT_ISSUER_MAX + 2], serial[TPA_CERT_SERIAL_MAX + 3];

	CU_ASSERT_EQUAL(tpa_devcert_key_valid(EXAMPLE_CA, "80ff01"), 0);
	CU_ASSERT_EQUAL(tpa_devcert_key_valid("/CN=x", "00"), 0);
	CU_ASSERT_EQUAL(tpa_devcert_key_valid("CN=x", "00"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "certificate issuer"));
	CU_ASSERT_EQUAL(tpa_devcert_key_valid("", "00"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_devcert_key_valid("/CN=a\tb", "00"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_devcert_key_valid("/CN=\xc3\xa4", "00"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_devcert_key_valid(NULL, "00"), TPA_ERR_INVALID_ARG);
	memset(issuer, 'a', sizeof(issuer));
	issuer[0] = '/';
	issuer[TPA_CERT_ISSUER_MAX] = '\0';
	CU_ASSERT_EQUAL(tpa_devcert_key_valid(issuer, "00"), 0);
	issuer[TPA_CERT_ISSUER_MAX] = 'a';
	issuer[TPA_CERT_ISSUER_MAX + 1] = '\0';
	CU_ASSERT_EQUAL(tpa_devcert_key_valid(issuer, "00"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_devcert_key_valid("/CN=x", "0"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "certificate serial"));
	CU_ASSERT_EQUAL(tpa_devcert_key_valid("/CN=x", ""), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_devcert_key_valid("/CN=x", "80FF"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_devcert_key_valid("/CN=x", "80:f"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_devcert_key_valid("/CN=x", "zz"), TPA_ERR_INVALID_ARG);
	memset(serial, 'a', sizeof(serial));
	serial[TPA_CERT_SERIAL_MAX] = '\0';
	CU_ASSERT_EQUAL(tpa_devcert_key_valid("/CN=x", serial), 0);
	serial[TPA_CERT_SERIAL_MAX] = 'a';
	serial[TPA_CERT_SERIAL_MAX + 2] = '\0';
	CU_ASSERT_EQUAL(tpa_devcert_key_valid("/CN=x", serial), TPA_ERR_INVALID_ARG);
}

static void test_serial_norm(void)
{
	char out[TPA_CERT_SERIAL_MAX + 1], in[TPA_CERT_SERIAL_MAX + 2];

	CU_ASSERT_EQUAL(tpa_devcert_serial_norm(out, "serial=80FF01"), 0);
	CU_ASSERT_STRING_EQUAL(out, "80ff01");
	CU_ASSERT_EQUAL(tpa_devcert_serial_norm(out, "0x1ab"), 0);
	CU_ASSERT_STRING_EQUAL(out, "01ab");
	CU_ASSERT_EQUAL(tpa_devcert_serial_norm(out, "80:ff:01"), 0);
	CU_ASSERT_STRING_EQUAL(out, "80ff01");
	CU_ASSERT_EQUAL(tpa_devcert_serial_norm(out, "zz"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_devcert_serial_norm(out, ""), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_devcert_serial_norm(out, "0x"), TPA_ERR_INVALID_ARG);
	memset(in, 'f', sizeof(in));
	in[TPA_CERT_SERIAL_MAX] = '\0';
	CU_ASSERT_EQUAL(tpa_devcert_serial_norm(out, in), 0);
	in[TPA_CERT_SERIAL_MAX - 1] = '\0';
	CU_ASSERT_EQUAL(tpa_devcert_serial_norm(out, in), 0);   /* 63: led by a 0 */
	CU_ASSERT_EQUAL(out[0], '0');
	CU_ASSERT_EQUAL(strlen(out), TPA_CERT_SERIAL_MAX);
	in[TPA_CERT_SERIAL_MAX - 1] = 'f';
	in[TPA_CERT_SERIAL_MAX] = 'f';
	in[TPA_CERT_SERIAL_MAX + 1] = '\0';
	CU_ASSERT_EQUAL(tpa_devcert_serial_norm(out, in), TPA_ERR_INVALID_ARG);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("device certificates (FreeRADIUS's names)", NULL, NULL);
	CU_add_test(s, "a serial with its high bit set: no sign octet, as openssl prints",
		    test_high_bit);
	CU_add_test(s, "a 20-octet serial, PEM and DER alike", test_twenty_octets);
	CU_add_test(s, "a UTF-8 issuer, escaped as openssl prints it", test_utf8_issuer);
	CU_add_test(s, "the issuer's and serial's bounds", test_bounds);
	CU_add_test(s, "garbage, empty, oversized, trailing, two PEMs: refused by name",
		    test_refused);
	CU_add_test(s, "the chain to the enterprise CA, for TLS clients", test_ca);
	CU_add_test(s, "the key a RADIUS server sends", test_key_valid);
	CU_add_test(s, "a serial as an operator gives it", test_serial_norm);
	return test_run_all() ? 1 : 0;
}
