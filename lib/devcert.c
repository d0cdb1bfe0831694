/* SPDX-License-Identifier: BSD-3-Clause */
/* A device's network-access certificate as FreeRADIUS names it: see
 * tpa/devcert.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "tpa/devcert.h"
#include "tpa/err.h"

#define NOT_X509 "device certificate: not a PEM or DER X.509 certificate"
#define PEM_BEGIN "-----BEGIN "

static const char hexdig[] = "0123456789abcdef";

static const uint8_t *find(const uint8_t *b, size_t n, const char *what)
{
	size_t k = strlen(what);

	return n >= k ? memmem(b, n, what, k) : NULL;
}

/* The one certificate in b: PEM (one block, text before it allowed) or DER
 * (nothing after it). */
static int parse(X509 **out, const uint8_t *b, size_t len)
{
	const uint8_t *pem, *p = b;
	X509 *x = NULL;

	*out = NULL;
	if (!b || !len)
		return tpa_err_fail(TPA_ERR_PARSE, NOT_X509 " (empty)");
	if (len > TPA_DEVCERT_FILE_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "device certificate: larger than %u bytes",
				    TPA_DEVCERT_FILE_MAX);
	if (b[0] != 0x30 && (pem = find(b, len, PEM_BEGIN)) != NULL) {
		BIO *bio;
		size_t rest = len - (size_t)(pem - b) - 1;

		if (find(pem + 1, rest, PEM_BEGIN))
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "device certificate: more than one "
					    "PEM block (give the device's certificate alone, not "
					    "its chain)");
		if (!(bio = BIO_new_mem_buf(b, (int)len)))
			return tpa_err_fail(TPA_ERR_NOMEM, "device certificate: out of memory");
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else {
		x = d2i_X509(NULL, &p, (long)len);
		if (x && p != b + len) {
			X509_free(x);
			ERR_clear_error();
			return tpa_err_fail(TPA_ERR_PARSE, NOT_X509 " (%zu bytes after the DER "
					    "certificate)", len - (size_t)(p - b));
		}
	}
	ERR_clear_error();
	if (!x)
		return tpa_err_fail(TPA_ERR_PARSE, NOT_X509);
	*out = x;
	return 0;
}

static int issuer_of(char *out, const X509 *x)
{
	char *dn = X509_NAME_oneline(X509_get_issuer_name(x), NULL, 0);
	size_t n, i;

	if (!dn) {
		ERR_clear_error();
		return tpa_err_fail(TPA_ERR_LIMIT, "device certificate: the issuer is unreadable "
				    "or too long");
	}
	n = strlen(dn);
	if (n > TPA_CERT_ISSUER_MAX) {
		OPENSSL_free(dn);
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "device certificate: the issuer is %zu "
				    "bytes (at most %d)", n, TPA_CERT_ISSUER_MAX);
	}
	/* X509_NAME_oneline escapes what is not printable ASCII (\xHH);
	 * checked here all the same, since a key is compared byte for byte. */
	for (i = 0; i < n; i++)
		if (dn[i] < 0x20 || dn[i] > 0x7e) {
			OPENSSL_free(dn);
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "device certificate: the issuer "
					    "has a byte that is not printable ASCII (0x%02x)",
					    (unsigned char)dn[i]);
		}
	if (n == 0 || dn[0] != '/') {
		OPENSSL_free(dn);
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "device certificate: the issuer is empty");
	}
	memcpy(out, dn, n + 1);
	OPENSSL_free(dn);
	return 0;
}

/* The octets FreeRADIUS prints ("%02x" each): ASN1_INTEGER content, which
 * holds the magnitude without the DER sign octet. */
static int serial_of(char *out, const X509 *x)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	const unsigned char *d;
	int n, i;

	if (!sn || (n = ASN1_STRING_length(sn)) <= 0 || !(d = ASN1_STRING_get0_data(sn)))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "device certificate: the serial is empty");
	if (ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "device certificate: the serial is "
				    "negative (RFC 5280 wants a positive one)");
	if (n > TPA_DEVCERT_SERIAL_OCTETS_MAX || (size_t)n * 2 > TPA_CERT_SERIAL_MAX)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "device certificate: the serial is %d "
				    "octets (FreeRADIUS names none over %d)", n,
				    TPA_DEVCERT_SERIAL_OCTETS_MAX);
	for (i = 0; i < n; i++) {
		out[2 * i] = hexdig[d[i] >> 4];
		out[2 * i + 1] = hexdig[d[i] & 15];
	}
	out[2 * n] = '\0';
	return 0;
}

static int not_after_of(int64_t *out, const X509 *x)
{
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1 || (t = timegm(&tm)) == (time_t)-1) {
		ERR_clear_error();
		return tpa_err_fail(TPA_ERR_PARSE, "device certificate: its notAfter is unreadable");
	}
	*out = (int64_t)t;
	return 0;
}

int tpa_devcert_read(tpa_device_cert *out, const uint8_t *pem_or_der, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0, i;
	X509 *x = NULL;
	int err;

	if (!out)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "device certificate: nowhere to put it");
	memset(out, 0, sizeof(*out));
	if ((err = parse(&x, pem_or_der, len)) < 0)
		return err;
	if ((err = issuer_of(out->issuer, x)) < 0 || (err = serial_of(out->serial, x)) < 0 ||
	    (err = not_after_of(&out->not_after, x)) < 0)
		goto out;
	if (X509_digest(x, EVP_sha256(), md, &md_len) != 1 || md_len != 32) {
		ERR_clear_error();
		err = tpa_err_fail(TPA_ERR_CRYPTO, "device certificate: SHA-256 failed");
		goto out;
	}
	for (i = 0; i < md_len; i++) {
		out->sha256[2 * i] = hexdig[md[i] >> 4];
		out->sha256[2 * i + 1] = hexdig[md[i] & 15];
	}
	out->sha256[64] = '\0';
out:
	if (err < 0)
		memset(out, 0, sizeof(*out));
	X509_free(x);
	return err;
}

int tpa_devcert_read_file(uint8_t **out, size_t *len, const char *path)
{
	FILE *f;
	uint8_t *b;
	size_t n;
	int bad;

	if (!out || !len || !path)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "device certificate: no path");
	if (!(f = fopen(path, "rb")))
		return tpa_err_fail(TPA_ERR_IO, "device certificate %s: %s", path, strerror(errno));
	if (!(b = malloc((size_t)TPA_DEVCERT_FILE_MAX + 1))) {
		fclose(f);
		return tpa_err_fail(TPA_ERR_NOMEM, "device certificate: out of memory");
	}
	n = fread(b, 1, (size_t)TPA_DEVCERT_FILE_MAX + 1, f);
	bad = ferror(f);
	fclose(f);
	if (bad || n > TPA_DEVCERT_FILE_MAX) {
		free(b);
		return bad ? tpa_err_fail(TPA_ERR_IO, "device certificate %s: read error", path) :
		       tpa_err_fail(TPA_ERR_LIMIT, "device certificate %s: larger than %u bytes",
				    path, TPA_DEVCERT_FILE_MAX);
	}
	*out = b;
	*len = n;
	return 0;
}

int tpa_devcert_check_ca(const uint8_t *cert, size_t len, const char *ca_file)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509 *x = NULL;
	int err;

	if (!ca_file)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "device certificate: no CA file");
	if ((err = parse(&x, cert, len)) < 0)
		return err;
	if (!(store = X509_STORE_new()) || !(ctx = X509_STORE_CTX_new())) {
		err = tpa_err_fail(TPA_ERR_NOMEM, "device certificate: out of memory");
		goto out;
	}
	if (X509_STORE_load_file(store, ca_file) != 1) {
		err = tpa_err_fail(TPA_ERR_IO, "CA file %s: no PEM certificate could be read from it",
				   ca_file);
		goto out;
	}
	/* Each certificate of the file is a trust anchor: the enterprise's
	 * issuing CA alone will do, without its root. */
	X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
	if (X509_STORE_CTX_init(ctx, store, x, NULL) != 1 ||
	    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) != 1) {
		err = tpa_err_fail(TPA_ERR_CRYPTO, "device certificate: cannot set up the check");
		goto out;
	}
	if (X509_verify_cert(ctx) != 1) {
		err = tpa_err_fail(TPA_ERR_VERIFY, "device certificate: does not chain to the CA in "
				   "%s for TLS client use: %s", ca_file,
				   X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	err = 0;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(x);
	return err;
}

int tpa_devcert_key_valid(const char *issuer, const char *serial)
{
	size_t n, i;

	if (!issuer || !serial)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "a certificate issuer and serial are needed");
	n = strlen(issuer);
	if (n == 0 || n > TPA_CERT_ISSUER_MAX || issuer[0] != '/')
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "certificate issuer: expected 1..%d bytes "
				    "in OpenSSL's one-line form (/C=US/O=Example/CN=Name)",
				    TPA_CERT_ISSUER_MAX);
	for (i = 0; i < n; i++)
		if (issuer[i] < 0x20 || issuer[i] > 0x7e)
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "certificate issuer: byte %zu is not "
					    "printable ASCII", i);
	n = strlen(serial);
	if (n < 2 || n > TPA_CERT_SERIAL_MAX || n % 2)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "certificate serial: expected an even "
				    "number (2..%d) of lower-case hex digits", TPA_CERT_SERIAL_MAX);
	for (i = 0; i < n; i++)
		if (!strchr(hexdig, serial[i]))
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "certificate serial: '%c' is not a "
					    "lower-case hex digit", isprint((unsigned char)serial[i]) ?
					    serial[i] : '?');
	return 0;
}

int tpa_devcert_serial_norm(char *out, const char *in)
{
	char digits[TPA_CERT_SERIAL_MAX + 1];
	size_t n = 0;

	if (!out || !in)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "certificate serial: none given");
	if (strncmp(in, "serial=", 7) == 0)
		in += 7;
	if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
		in += 2;
	for (; *in; in++) {
		if (*in == ':')
			continue;
		if (!isxdigit((unsigned char)*in))
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "certificate serial: '%c' is not a "
					    "hex digit", isprint((unsigned char)*in) ? *in : '?');
		if (n + 1 > TPA_CERT_SERIAL_MAX)
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "certificate serial: more than %d "
					    "hex digits", TPA_CERT_SERIAL_MAX);
		digits[n++] = (char)tolower((unsigned char)*in);
	}
	if (!n)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "certificate serial: no hex digits");
	digits[n] = '\0';
	if (n % 2) {
		if (n + 1 > TPA_CERT_SERIAL_MAX)
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "certificate serial: more than %d "
					    "hex digits", TPA_CERT_SERIAL_MAX);
		out[0] = '0';
		memcpy(out + 1, digits, n + 1);
	} else {
		memcpy(out, digits, n + 1);
	}
	return 0;
}
