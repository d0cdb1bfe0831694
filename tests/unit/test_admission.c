/* SPDX-License-Identifier: BSD-3-Clause */
/* Admission (issue 14, items 2 and 3): the decision under each mode against
 * a real SQLite inventory, the canonical inventory key of an EK certificate
 * made here with OpenSSL, and inventory files, each bad row named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "testutil.h"
#include "tpa/admission.h"
#include "tpa/err.h"
#include "tpa/store.h"

static char dir[] = "/tmp/tpa-admission-XXXXXX";
static char path[256];
static tpa_store *st;
static uint8_t *cert;         /* DER, issuer O=Example Vendor,CN=Vendor EK CA 1, serial 0x00ab01 */
static size_t cert_len;

static const char *ID = "abababababababababababababababababababababababababababababababab";
static const char *KEY = "CN=Vendor EK CA 1,O=Example Vendor:ab01";

static int make_cert(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	ASN1_INTEGER *serial = ASN1_INTEGER_new();
	unsigned char *out = NULL;
	int len, ok;

	ok = k && x && n && serial && ASN1_INTEGER_set_int64(serial, 0xab01) == 1 &&
	     X509_set_serialNumber(x, serial) == 1 &&
	     X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Example Vendor",
					-1, -1, 0) == 1 &&
	     X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
					(const unsigned char *)"Vendor EK CA 1", -1, -1, 0) == 1 &&
	     X509_set_issuer_name(x, n) == 1 && X509_set_subject_name(x, n) == 1 &&
	     X509_gmtime_adj(X509_getm_notBefore(x), 0) && X509_gmtime_adj(X509_getm_notAfter(x), 60) &&
	     X509_set_pubkey(x, k) == 1 && X509_sign(x, k, EVP_sha256()) > 0 &&
	     (len = i2d_X509(x, &out)) > 0;
	if (ok && (cert = malloc((size_t)len))) {
		memcpy(cert, out, (size_t)len);
		cert_len = (size_t)len;
	}
	OPENSSL_free(out);
	ASN1_INTEGER_free(serial);
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(k);
	return cert ? 0 : -1;
}

static int suite_init(void)
{
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/registry.db", dir);
	return tpa_store_open_sqlite(&st, path) < 0 || make_cert() < 0 ? -1 : 0;
}

static int suite_clean(void)
{
	tpa_store_close(st);
	test_registry_remove(path, dir);
	free(cert);
	return 0;
}

static void test_modes(void)
{
	tpa_admission_mode m = TPA_ADMISSION_OPEN;

	CU_ASSERT_EQUAL(tpa_admission_mode_parse(&m, "allowlist"), 0);
	CU_ASSERT_EQUAL(m, TPA_ADMISSION_ALLOWLIST);
	CU_ASSERT_EQUAL(tpa_admission_mode_parse(&m, "approve"), 0);
	CU_ASSERT_EQUAL(m, TPA_ADMISSION_APPROVE);
	CU_ASSERT_STRING_EQUAL(tpa_admission_mode_name(TPA_ADMISSION_OPEN), "open");
	CU_ASSERT_EQUAL(tpa_admission_mode_parse(&m, "Open"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "expected open, approve or allowlist"));
	CU_ASSERT_EQUAL(tpa_admission_mode_parse(&m, NULL), TPA_ERR_INVALID_ARG);
}

static void test_keys(void)
{
	char k[TPA_INVENTORY_VALUE_MAX + 1];

	/* RFC 2253 lists the most specific RDN first. */
	CU_ASSERT_EQUAL(tpa_ekcert_inventory_key(k, sizeof(k), cert, cert_len), 0);
	CU_ASSERT_STRING_EQUAL(k, KEY);
	/* An operator's forms: the same key. */
	CU_ASSERT_EQUAL(tpa_inventory_key_from(k, sizeof(k), " issuer=CN=Vendor EK CA 1,O=Example "
					       "Vendor ", "00:AB:01"), 0);
	CU_ASSERT_STRING_EQUAL(k, KEY);
	CU_ASSERT_EQUAL(tpa_inventory_key_from(k, sizeof(k), "CN=Vendor EK CA 1,O=Example Vendor",
					       "0xAB01"), 0);
	CU_ASSERT_STRING_EQUAL(k, KEY);
	CU_ASSERT_EQUAL(tpa_inventory_key_from(k, sizeof(k), "CN=Vendor EK CA 1,O=Example Vendor",
					       "dec:43777"), 0);
	CU_ASSERT_STRING_EQUAL(k, KEY);
	CU_ASSERT_EQUAL(tpa_inventory_key_from(k, sizeof(k), "CN=x", "0"), 0);
	CU_ASSERT_STRING_EQUAL(k, "CN=x:0");
	/* Refused, saying what. */
	CU_ASSERT_EQUAL(tpa_inventory_key_from(k, sizeof(k), "CN=x", "12g4"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "the serial has 'g'"));
	CU_ASSERT_EQUAL(tpa_inventory_key_from(k, sizeof(k), "CN=x", ""), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_inventory_key_from(k, sizeof(k), "CN=x", "ab cd"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_inventory_key_from(k, sizeof(k), "issuer= ", "ab"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "issuer is empty"));
	CU_ASSERT_EQUAL(tpa_inventory_key_from(k, sizeof(k), "CN=\x01", "ab"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_ekcert_inventory_key(k, sizeof(k), (const uint8_t *)"\x30\x03\x02\x01\x01",
						 5), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_ekcert_inventory_key(k, 8, cert, cert_len), TPA_ERR_LIMIT);
}

static void put(const char *kind, const char *value, const char *name, const char *label,
		int no_ek_cert)
{
	tpa_inventory_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.kind, sizeof(e.kind), "%s", kind);
	snprintf(e.value, sizeof(e.value), "%s", value);
	snprintf(e.name, sizeof(e.name), "%s", name);
	snprintf(e.label, sizeof(e.label), "%s", label);
	e.no_ek_cert = no_ek_cert;
	CU_ASSERT_EQUAL(tpa_store_inventory_put(st, &e, 1, 100), 0);
}

static void test_decide(void)
{
	tpa_admission a;

	/* open: a certificate (chained by the caller), never none. */
	CU_ASSERT_EQUAL(tpa_admission_decide(&a, TPA_ADMISSION_OPEN, st, ID, cert, cert_len, 0), 0);
	CU_ASSERT_STRING_EQUAL(a.rec.admission, "open");
	CU_ASSERT_EQUAL(a.rec.pending, 0);
	CU_ASSERT_STRING_EQUAL(a.rec.ek_cert_source, "nv");
	CU_ASSERT_EQUAL(a.ek_certified, 1);
	CU_ASSERT_EQUAL(tpa_admission_decide(&a, TPA_ADMISSION_OPEN, st, ID, NULL, 0, 0),
			TPA_ERR_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.reason, "the EK has no certificate: under open admission"));
	/* approve: pending either way; the source is kept. */
	CU_ASSERT_EQUAL(tpa_admission_decide(&a, TPA_ADMISSION_APPROVE, st, ID, NULL, 0, 0), 0);
	CU_ASSERT_EQUAL(a.rec.pending, 1);
	CU_ASSERT_PTR_NULL(a.rec.admission);
	CU_ASSERT_STRING_EQUAL(a.rec.ek_cert_source, "none");
	CU_ASSERT_EQUAL(a.ek_certified, 0);
	CU_ASSERT_EQUAL(tpa_admission_decide(&a, TPA_ADMISSION_APPROVE, st, ID, cert, cert_len, 1),
			0);
	CU_ASSERT_EQUAL(a.rec.pending, 1);
	CU_ASSERT_STRING_EQUAL(a.rec.ek_cert_source, "file");
	/* allowlist: nothing listed, nothing admitted. */
	CU_ASSERT_EQUAL(tpa_admission_decide(&a, TPA_ADMISSION_ALLOWLIST, st, ID, cert, cert_len, 0),
			TPA_ERR_REFUSED);
	CU_ASSERT_STRING_EQUAL(a.reason, "EK not in the inventory (allowlist admission)");
	CU_ASSERT_EQUAL(tpa_admission_decide(&a, TPA_ADMISSION_ALLOWLIST, st, ID, NULL, 0, 0),
			TPA_ERR_REFUSED);
	/* By the certificate's issuer and serial. */
	put("ek-cert", KEY, "desk 12", "lab", 0);
	CU_ASSERT_EQUAL(tpa_admission_decide(&a, TPA_ADMISSION_ALLOWLIST, st, ID, cert, cert_len, 0),
			0);
	CU_ASSERT_STRING_EQUAL(a.rec.admission, "allowlist");
	CU_ASSERT_STRING_EQUAL(a.rec.name, "desk 12");
	CU_ASSERT_STRING_EQUAL(a.rec.label, "lab");
	CU_ASSERT_EQUAL(a.rec.pending, 0);
	/* ... which an EK without a certificate cannot use. */
	CU_ASSERT_EQUAL(tpa_admission_decide(&a, TPA_ADMISSION_ALLOWLIST, st, ID, NULL, 0, 0),
			TPA_ERR_REFUSED);
	/* By device id: without no_ek_cert only a certified EK ... */
	put("device", ID, "", "", 0);
	CU_ASSERT_EQUAL(tpa_admission_decide(&a, TPA_ADMISSION_ALLOWLIST, st, ID, NULL, 0, 0),
			TPA_ERR_REFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.reason, "does not say no_ek_cert"));
	CU_ASSERT_EQUAL(tpa_admission_decide(&a, TPA_ADMISSION_ALLOWLIST, st, ID, cert, cert_len, 0),
			0);
	CU_ASSERT_PTR_NULL(a.rec.name);       /* the device entry wins: it has none */
	/* ... with it, one without a certificate too (updated in place). */
	put("device", ID, "fw tpm", "fw", 1);
	CU_ASSERT_EQUAL(tpa_admission_decide(&a, TPA_ADMISSION_ALLOWLIST, st, ID, NULL, 0, 0), 0);
	CU_ASSERT_STRING_EQUAL(a.rec.ek_cert_source, "none");
	CU_ASSERT_STRING_EQUAL(a.rec.name, "fw tpm");
	CU_ASSERT_EQUAL(a.ek_certified, 0);
	/* Not a decision about anything else. */
	CU_ASSERT_EQUAL(tpa_admission_decide(&a, TPA_ADMISSION_OPEN, st, "abc", cert, cert_len, 0),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_admission_decide(&a, (tpa_admission_mode)7, st, ID, cert, cert_len, 0),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_store_inventory_remove(st, "device", ID, 101), 0);
	CU_ASSERT_EQUAL(tpa_store_inventory_remove(st, "ek-cert", KEY, 101), 0);
}

/* Parses text: 0, or the error, with its message in why. */
static int parse(const char *text, size_t *n, tpa_inventory_entry **e, char *why, size_t cap)
{
	int err = tpa_inventory_parse(e, n, text, strlen(text));

	snprintf(why, cap, "%s", err < 0 ? tpa_err_last() : "");
	return err;
}

#define DEVID "ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB"

static void test_parse_good(void)
{
	tpa_inventory_entry *e = NULL;
	size_t n = 0;
	char why[400];

	CU_ASSERT_EQUAL(parse("# inventory\r\n\r\nname,device_id,label,no_ek_cert\r\n"
			      "\"desk, 12\"," DEVID ",lab,yes\r\n"
			      "\n# a comment\n"
			      "\"say \"\"hi\"\"\"," "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
			      ",,\n", &n, &e, why, sizeof(why)), 0);
	CU_ASSERT_STRING_EQUAL(why, "");
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(e[0].kind, "device");
	CU_ASSERT_STRING_EQUAL(e[0].value, ID);       /* lower-cased */
	CU_ASSERT_STRING_EQUAL(e[0].name, "desk, 12");
	CU_ASSERT_STRING_EQUAL(e[0].label, "lab");
	CU_ASSERT_EQUAL(e[0].no_ek_cert, 1);
	CU_ASSERT_STRING_EQUAL(e[1].name, "say \"hi\"");
	CU_ASSERT_STRING_EQUAL(e[1].label, "");
	CU_ASSERT_EQUAL(e[1].no_ek_cert, 0);
	free(e);
	CU_ASSERT_EQUAL(parse("ek_cert_issuer,ek_cert_serial\n\"CN=Vendor EK CA 1,O=Example Vendor\","
			      "00:ab:01", &n, &e, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(e[0].kind, "ek-cert");
	CU_ASSERT_STRING_EQUAL(e[0].value, KEY);
	free(e);
	CU_ASSERT_EQUAL(parse(" [{\"device_id\": \"" DEVID "\", \"no_ek_cert\": true, \"name\": null},"
			      " {\"ek_cert_issuer\": \"CN=Vendor EK CA 1,O=Example Vendor\","
			      " \"ek_cert_serial\": \"0xab01\", \"label\": \"lab\"}]", &n, &e, why,
			      sizeof(why)), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(e[0].no_ek_cert, 1);
	CU_ASSERT_STRING_EQUAL(e[1].value, KEY);
	CU_ASSERT_STRING_EQUAL(e[1].label, "lab");
	free(e);
	CU_ASSERT_EQUAL(parse("[]", &n, &e, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(n, 0);
	free(e);
	CU_ASSERT_EQUAL(parse("device_id\n", &n, &e, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(n, 0);
	free(e);
}

/* Each mistake refuses the whole file, naming where. */
static void test_parse_bad(void)
{
	static const struct { const char *text, *why; } bad[] = {
		{ "", "empty" },
		{ "device_id,colour\n", "line 1: column \"colour\" is not one of" },
		{ "device_id,device_id\n", "line 1, column device_id: named twice" },
		{ "device_id,name\n" DEVID ",a\nabc,b\n", "line 3, column device_id: not a device id" },
		{ "name,device_id\n\n# c\nx\n", "line 4, column device_id: missing (the line has 1 of 2" },
		{ "device_id\n" DEVID ",x\n", "line 2: more fields than the header's 1 columns" },
		{ "device_id,ek_cert_issuer,ek_cert_serial\n" DEVID ",CN=x,01\n",
		  "line 2, column device_id: give a device id or" },
		{ "ek_cert_issuer,ek_cert_serial\nCN=x,\n",
		  "line 2, column ek_cert_serial: missing (an issuer needs a serial)" },
		{ "ek_cert_issuer,ek_cert_serial\n,01\n",
		  "line 2, column ek_cert_issuer: missing (a serial needs its issuer)" },
		{ "ek_cert_issuer,ek_cert_serial\nCN=x,0x1g\n",
		  "line 2, column ek_cert_serial: the serial has 'g'" },
		{ "ek_cert_issuer,ek_cert_serial,no_ek_cert\nCN=x,01,true\n",
		  "line 2, column no_ek_cert: needs a device_id" },
		{ "device_id,no_ek_cert\n" DEVID ",maybe\n", "line 2, column no_ek_cert: \"maybe\"" },
		{ "device_id,label\n" DEVID ",two words\n", "line 2, column label: must be 1 to 64" },
		{ "device_id,name\n" DEVID ",\"tab\there\"\n", "line 2, column name: must be at most" },
		{ "device_id,name\n" DEVID ",\"open\n", "line 2, column name: a quoted field does not end" },
		{ "device_id,name\n" DEVID ",\"x\"y\n", "line 2, column name: text after a closing quote" },
		{ "device_id,name\n" DEVID ",a\"b\n", "line 2, column name: a quote inside" },
		{ "device_id\n" DEVID "\n\n" DEVID "\n", "line 4: the same device id as line 2" },
		{ "[{\"device_id\": \"" DEVID "\"}, 3]", "entry 2: not an object" },
		{ "[{\"device\": \"" DEVID "\"}]", "entry 1: key \"device\" is not one of" },
		{ "[{\"device_id\": 5}]", "entry 1, key device_id: must be a string" },
		{ "[{\"name\": \"x\"}]", "entry 1, key device_id: missing" },
		{ "[{\"device_id\": \"" DEVID "\", \"device_id\": \"" DEVID "\"}]", "duplicate" },
		{ "[{\"device_id\": \"" DEVID "\"}, {\"device_id\": \"" DEVID "\"}]",
		  "entry 2: the same device id as entry 1" },
		{ "{\"device_id\": 1}", "line 1" },
		{ "[{\"device_id\": \"" DEVID "\"", "line 1" },
		{ "{}", "line 1: column \"{}\" is not one of" },
		{ "device_id,name\n" DEVID ", \"x\"\n", "line 2, column name: a quote inside" },
	};
	tpa_inventory_entry *e = NULL;
	size_t n = 7, i;
	char why[400];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e = NULL;
		CU_ASSERT(parse(bad[i].text, &n, &e, why, sizeof(why)) < 0);
		CU_ASSERT_PTR_NULL(e);
		CU_ASSERT_EQUAL(n, 0);
		if (!strstr(why, bad[i].why)) {
			fprintf(stderr, "case %zu: \"%s\" does not say \"%s\"\n", i, why, bad[i].why);
			CU_FAIL("the error names the row and column");
		}
		free(e);
	}
	/* More rows than a file may hold. */
	{
		size_t rows = TPA_INVENTORY_ROWS_MAX + 1, i2, at = 0;
		size_t cap = 10 + rows * (TPA_DEVICE_ID_LEN + 1) + 1;
		char *big = malloc(cap);

		CU_ASSERT_PTR_NOT_NULL_FATAL(big);
		at += (size_t)snprintf(big, cap, "device_id\n");
		for (i2 = 0; i2 < rows; i2++)
			at += (size_t)snprintf(big + at, cap - at, "%s\n", ID);
		CU_ASSERT_EQUAL(tpa_inventory_parse(&e, &n, big, at), TPA_ERR_LIMIT);
		CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "more than 20000 inventory entries"));
		free(big);
	}
	/* A NUL byte, and a file over the bound. */
	CU_ASSERT_EQUAL(tpa_inventory_parse(&e, &n, "device_id\n\0", 11), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_inventory_parse(&e, &n, "x", TPA_INVENTORY_FILE_MAX + 1),
			TPA_ERR_LIMIT);
}

/* The registry refuses a bad entry among good ones: none is written. */
static void test_put_all_or_none(void)
{
	tpa_inventory_entry e[2], *all = NULL;
	size_t n = 9;

	memset(e, 0, sizeof(e));
	snprintf(e[0].kind, sizeof(e[0].kind), "device");
	snprintf(e[0].value, sizeof(e[0].value), "%s", ID);
	snprintf(e[1].kind, sizeof(e[1].kind), "ek-cert");
	snprintf(e[1].value, sizeof(e[1].value), "%s", KEY);
	e[1].no_ek_cert = 1;
	CU_ASSERT_EQUAL(tpa_store_inventory_put(st, e, 2, 5), TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "inventory entry 2: no_ek_cert needs a device"));
	CU_ASSERT_EQUAL(tpa_store_inventory_list(&all, &n, st), 0);
	CU_ASSERT_EQUAL(n, 0);
	free(all);
	e[1].no_ek_cert = 0;
	CU_ASSERT_EQUAL(tpa_store_inventory_put(st, e, 2, 5), 0);
	CU_ASSERT_EQUAL(tpa_store_inventory_list(&all, &n, st), 0);
	CU_ASSERT_EQUAL(n, 2);
	free(all);
	CU_ASSERT_EQUAL(tpa_store_inventory_remove(st, "device", ID, 6), 0);
	CU_ASSERT_EQUAL(tpa_store_inventory_remove(st, "device", ID, 6), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_store_inventory_remove(st, "ek-cert", KEY, 6), 0);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("admission (real SQLite inventory)", suite_init, suite_clean);
	CU_add_test(s, "modes by name", test_modes);
	CU_add_test(s, "inventory keys: a certificate's issuer and serial, an operator's forms",
		    test_keys);
	CU_add_test(s, "the decision under open, approve, allowlist", test_decide);
	CU_add_test(s, "inventory files: CSV and JSON", test_parse_good);
	CU_add_test(s, "inventory files: each mistake named by line or entry and column",
		    test_parse_bad);
	CU_add_test(s, "the registry takes a whole inventory or none of it", test_put_all_or_none);
	return test_run_all() ? 1 : 0;
}
