/* SPDX-License-Identifier: BSD-3-Clause */
/* Quote verification against real quotes from swtpm: the good quote passes
 * for every AK kind, and each rule has a negative test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <tss2/tss2_mu.h>

#include "swtpm_fixture.h"
#include "testutil.h"
#include "tpa/err.h"
#include "tpa/keybind.h"
#include "tpa/quote.h"
#include "tpa/tpm.h"
#include "tpa/tpm_decode.h"

typedef struct {
	tpa_tpm_quote_result q;
	uint8_t akpub[TPA_PUBLIC_MAX];
	size_t akpub_len;
	tpa_pcr_set pcrs;
	uint8_t nonce[32];
} fixture;

static swtpm_fixture tpm_fx;
static tpa_tpm *tpm_ecc;           /* stays open: its AK quotes in the tests */
static fixture fx_ecc, fx_rsa, fx_pss, fx_ecc2;

static int make_fixture(fixture *f, tpa_tpm *t, const char *sel, uint8_t seed)
{
	memset(f, 0, sizeof(*f));
	memset(f->nonce, seed, sizeof(f->nonce));
	if (tpa_pcr_set_parse_selection(&f->pcrs, sel) < 0 ||
	    tpa_tpm_ak_public(t, f->akpub, sizeof(f->akpub), &f->akpub_len) < 0 ||
	    tpa_tpm_quote(&f->q, t, &f->pcrs, f->nonce, sizeof(f->nonce)) < 0) {
		fprintf(stderr, "fixture: %s\n", tpa_err_last());
		return -1;
	}
	return 0;
}

static int fixture_with_new_tpm(fixture *f, tpa_ak_type type, const char *sel,
				uint8_t seed)
{
	tpa_tpm *t = NULL;
	int rc = -1;

	if (tpa_tpm_open(&t, tpm_fx.tcti) == 0 && tpa_tpm_ak_load(t, type, NULL) == 0)
		rc = make_fixture(f, t, sel, seed);
	else
		fprintf(stderr, "fixture: %s\n", tpa_err_last());
	tpa_tpm_close(t);
	return rc;
}

static int suite_init(void)
{
	uint8_t d[32];

	if (tpa_tpm_open(&tpm_ecc, tpm_fx.tcti) < 0 ||
	    tpa_tpm_ak_load(tpm_ecc, TPA_AK_ECC_P256, NULL) < 0) {
		fprintf(stderr, "tpm: %s\n", tpa_err_last());
		return -1;
	}
	/* A measured PCR 7 so that values are not all zero. */
	memset(d, 0x5a, sizeof(d));
	if (tpa_tpm_pcr_extend(tpm_ecc, 7, TPM2_ALG_SHA256, d, sizeof(d)) < 0)
		return -1;
	if (make_fixture(&fx_ecc, tpm_ecc, "sha256:0-9", 1) < 0 ||
	    fixture_with_new_tpm(&fx_rsa, TPA_AK_RSA_2048, "sha256:0,7", 2) < 0 ||
	    fixture_with_new_tpm(&fx_pss, TPA_AK_RSA_2048_PSS, "sha256:7", 3) < 0 ||
	    fixture_with_new_tpm(&fx_ecc2, TPA_AK_ECC_P256, "sha256:0-9", 4) < 0)
		return -1;
	return 0;
}

static int suite_clean(void)
{
	return 0;
}

static tpa_quote_evidence ev_of(const fixture *f)
{
	tpa_quote_evidence ev = {
		f->q.attest, f->q.attest_len, f->q.signature, f->q.signature_len,
		f->akpub, f->akpub_len, &f->pcrs, NULL,
	};
	return ev;
}

/* Verifies and returns whether the named check passed (-1: absent). */
static int verify_check(const tpa_quote_evidence *ev, const uint8_t *nonce,
			size_t nlen, const char *check, int *rc)
{
	tpa_findings f;
	const tpa_check *c;

	memset(&f, 0, sizeof(f));
	*rc = tpa_quote_verify(&f, ev, nonce, nlen, NULL, NULL);
	c = tpa_findings_find(&f, check);
	return c ? c->passed : -1;
}

static void expect_only_failure(const tpa_quote_evidence *ev, const uint8_t *nonce,
				size_t nlen, const char *check)
{
	tpa_findings f;
	const tpa_check *c;
	size_t i;

	memset(&f, 0, sizeof(f));
	CU_ASSERT_EQUAL(tpa_quote_verify(&f, ev, nonce, nlen, NULL, NULL), TPA_ERR_VERIFY);
	c = tpa_findings_find(&f, check);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_FALSE(c->passed);
	CU_ASSERT(strlen(c->detail) > 0);
	/* Every other failure is a consequence ("not checked: ..."). */
	for (i = 0; i < f.n; i++)
		if (!f.items[i].passed && strcmp(f.items[i].name, check) != 0)
			CU_ASSERT(strncmp(f.items[i].detail, "not checked", 11) == 0);
}

static void all_pass(const fixture *fx, const char *sig)
{
	tpa_quote_evidence ev = ev_of(fx);
	uint8_t name[TPA_NAME_MAX];
	size_t name_len = 0, i;
	tpa_findings f;

	memset(&f, 0, sizeof(f));
	CU_ASSERT_EQUAL(tpa_quote_verify(&f, &ev, fx->nonce, sizeof(fx->nonce), name,
					 &name_len), 0);
	CU_ASSERT_EQUAL(tpa_findings_failed(&f), 0);
	CU_ASSERT_EQUAL(name_len, 34);
	CU_ASSERT(tpa_findings_find(&f, "quote.signature") != NULL);
	CU_ASSERT(strstr(test_check_detail(&f, "quote.signature"), sig) != NULL);
	for (i = 0; i < f.n; i++)
		if (!f.items[i].passed)
			fprintf(stderr, "\n  failed: %s: %s", f.items[i].name, f.items[i].detail);
}

static void test_valid_ecc(void) { all_pass(&fx_ecc, "ECDSA"); }
static void test_valid_rsassa(void) { all_pass(&fx_rsa, "RSASSA"); }
static void test_valid_rsapss(void) { all_pass(&fx_pss, "RSAPSS"); }

static void test_wrong_nonce(void)
{
	tpa_quote_evidence ev = ev_of(&fx_ecc);
	uint8_t other[32];
	int rc;

	memcpy(other, fx_ecc.nonce, sizeof(other));
	other[31] ^= 1;
	expect_only_failure(&ev, other, sizeof(other), "quote.nonce");
	/* A shorter nonce with the same prefix is not the nonce either. */
	CU_ASSERT_EQUAL(verify_check(&ev, fx_ecc.nonce, 16, "quote.nonce", &rc), 0);
	/* No valid challenge: the nonce rule fails closed. */
	CU_ASSERT_EQUAL(verify_check(&ev, NULL, 0, "quote.nonce", &rc), 0);
	CU_ASSERT_EQUAL(rc, TPA_ERR_VERIFY);
}

static void test_pcr_value_changed(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;

	f.pcrs.banks[0].digest[7][0] ^= 0x80;
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "quote.pcr_digest");
}

/* The SHA-256 of the reported values, as the quote's pcrDigest is made. */
static void values_digest(uint8_t d[32], const tpa_pcr_set *s)
{
	uint8_t cat[TPA_PCR_COUNT * 32];
	uint32_t i;

	for (i = 0; i < s->banks[0].count; i++)
		memcpy(cat + 32 * i, s->banks[0].digest[i], 32);
	tpa_hash(d, TPM2_ALG_SHA256, cat, 32 * s->banks[0].count);
}

/* The whole pcrDigest is compared: reported values whose digest agrees
 * with the quoted one in its first byte (found by trying values of PCR 7)
 * are refused as well. */
static void test_pcr_digest_whole(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;
	uint8_t want[32], got[32];
	unsigned k;

	CU_ASSERT_EQUAL_FATAL(f.pcrs.banks[0].hash_alg, TPM2_ALG_SHA256);
	values_digest(want, &f.pcrs);
	for (k = 1; k < 65536; k++) {
		f.pcrs.banks[0].digest[7][0] = fx_ecc.pcrs.banks[0].digest[7][0] ^ (uint8_t)k;
		f.pcrs.banks[0].digest[7][1] = fx_ecc.pcrs.banks[0].digest[7][1] ^ (uint8_t)(k >> 8);
		values_digest(got, &f.pcrs);
		if (got[0] == want[0])
			break;
	}
	CU_ASSERT_FATAL(k < 65536);
	CU_ASSERT(memcmp(got, want, 32) != 0);
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "quote.pcr_digest");
}

static void test_attest_tampered(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;
	int rc;

	/* The last byte is inside pcrDigest: the structure stays valid. */
	f.q.attest[f.q.attest_len - 1] ^= 0x01;
	ev = ev_of(&f);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.signature",
				     &rc), 0);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.structure",
				     &rc), 1);
	CU_ASSERT_EQUAL(rc, TPA_ERR_VERIFY);
}

static void test_magic_tampered(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;
	int rc;

	f.q.attest[0] ^= 0x01; /* magic is the first field */
	ev = ev_of(&f);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.magic", &rc), 0);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.signature",
				     &rc), 0);
}

static void test_type_tampered(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;
	int rc;

	/* type 0x8017 = TPM_ST_ATTEST_CERTIFY: the union then decodes as a
	 * certification, so the quote is refused by its type or its shape. */
	f.q.attest[5] = 0x17;
	ev = ev_of(&f);
	CU_ASSERT_NOT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.type", &rc), 1);
	CU_ASSERT_EQUAL(rc, TPA_ERR_VERIFY);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.pcr_digest", &rc), -1);
}

/* A real TPM2_Certify by the same AK, over the challenge's nonce: signed,
 * its nonce right, but not a quote. It is refused by its type alone, and
 * none of the PCR checks it cannot answer passes. */
static void test_certify_not_quote(void)
{
	tpa_tpm_certify_result cr;
	tpa_quote_evidence ev = ev_of(&fx_ecc);
	tpa_findings f;
	char path[512];

	snprintf(path, sizeof(path), "%s/bound.key", tpm_fx.dir);
	CU_ASSERT_EQUAL_FATAL(tpa_tpm_bind_key(&cr, tpm_ecc, path, fx_ecc.nonce,
					       sizeof(fx_ecc.nonce)), 0);
	ev.attest = cr.attest;
	ev.attest_len = cr.attest_len;
	ev.signature = cr.signature;
	ev.signature_len = cr.signature_len;
	memset(&f, 0, sizeof(f));
	CU_ASSERT_EQUAL(tpa_quote_verify(&f, &ev, fx_ecc.nonce, sizeof(fx_ecc.nonce), NULL, NULL),
			TPA_ERR_VERIFY);
	CU_ASSERT_EQUAL(test_check_passed(&f, "quote.signature"), 1);
	CU_ASSERT_EQUAL(test_check_passed(&f, "quote.nonce"), 1);
	CU_ASSERT_EQUAL(test_check_passed(&f, "quote.type"), 0);
	CU_ASSERT(strstr(test_check_detail(&f, "quote.type"), "0x8017") != NULL);
	CU_ASSERT_NOT_EQUAL(test_check_passed(&f, "quote.pcr_digest"), 1);
	CU_ASSERT_NOT_EQUAL(test_check_passed(&f, "quote.pcr_selection"), 1);
}

/* The binding of ev against the ECC fixture's AK and nonce: 1 passed, 0
 * failed (its detail must hold want), -1 not reported. */
static int kb_expect(const tpa_keybind_evidence *ev, const uint8_t *qd, const char *want)
{
	tpa_findings f;
	tpa_bound_key k;
	int passed;

	memset(&f, 0, sizeof(f));
	memset(&k, 0, sizeof(k));
	CU_ASSERT_EQUAL_FATAL(tpa_keybind_verify(&f, &k, ev, fx_ecc.akpub, fx_ecc.akpub_len, qd,
						 sizeof(fx_ecc.nonce)), 0);
	passed = test_check_passed(&f, "key.binding");
	if (passed == 1)
		CU_ASSERT_EQUAL(strlen(k.thumbprint), TPA_JWK_THUMBPRINT_LEN);
	if (passed == 0 && want && !strstr(test_check_detail(&f, "key.binding"), want)) {
		fprintf(stderr, "key.binding: %s, not %s\n", test_check_detail(&f, "key.binding"),
			want);
		return -2;
	}
	return passed;
}

/* Key binding (the token's cnf) from real TPM2_Certify by the AK: a key is
 * bound only by a certification of that very key, by this AK, for this
 * challenge; each other one is refused by what is wrong with it. */
static void test_key_binding(void)
{
	tpa_tpm_certify_result a, b;
	tpa_tpm_quote_result *q = &fx_ecc.q;
	tpa_keybind_evidence ev;
	uint8_t other[32];
	char path[512];

	snprintf(path, sizeof(path), "%s/bound-a.key", tpm_fx.dir);
	CU_ASSERT_EQUAL_FATAL(tpa_tpm_bind_key(&a, tpm_ecc, path, fx_ecc.nonce,
					       sizeof(fx_ecc.nonce)), 0);
	snprintf(path, sizeof(path), "%s/bound-b.key", tpm_fx.dir);
	memset(other, 0x77, sizeof(other));
	CU_ASSERT_EQUAL_FATAL(tpa_tpm_bind_key(&b, tpm_ecc, path, other, sizeof(other)), 0);
	ev.key_public = a.key_public;
	ev.key_public_len = a.key_public_len;
	ev.certify = a.attest;
	ev.certify_len = a.attest_len;
	ev.signature = a.signature;
	ev.signature_len = a.signature_len;
	CU_ASSERT_EQUAL(kb_expect(&ev, fx_ecc.nonce, NULL), 1);
	/* Made for another challenge: a stale binding. */
	CU_ASSERT_EQUAL(kb_expect(&ev, other, "extraData is not this challenge's"), 0);
	/* Key b's public area with key a's certification. */
	ev.key_public = b.key_public;
	ev.key_public_len = b.key_public_len;
	CU_ASSERT_EQUAL(kb_expect(&ev, fx_ecc.nonce, "names another key"), 0);
	/* The AK's quote for this challenge, signed and fresh, is no
	 * certification of any key. */
	ev.key_public = a.key_public;
	ev.key_public_len = a.key_public_len;
	ev.certify = q->attest;
	ev.certify_len = q->attest_len;
	ev.signature = q->signature;
	ev.signature_len = q->signature_len;
	CU_ASSERT_EQUAL(kb_expect(&ev, fx_ecc.nonce, "is not TPM_ST_ATTEST_CERTIFY"), 0);
	/* Key a's certification with its signature's last byte changed. */
	ev.certify = a.attest;
	ev.certify_len = a.attest_len;
	ev.signature = a.signature;
	ev.signature_len = a.signature_len;
	a.signature[a.signature_len - 1] ^= 1;
	CU_ASSERT_EQUAL(kb_expect(&ev, fx_ecc.nonce, "not the AK's"), 0);
}

static void test_signature_tampered(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;

	/* The last byte of the signature is the end of ECDSA s. */
	f.q.signature[f.q.signature_len - 1] ^= 0x01;
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "quote.signature");

	f = fx_rsa;
	f.q.signature[f.q.signature_len - 1] ^= 0x01;
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "quote.signature");
}

static void test_signature_malformed(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;
	int rc;

	f.q.signature_len -= 3;
	ev = ev_of(&f);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.signature",
				     &rc), 0);
	/* An ECDSA signature presented for an RSA key. */
	f = fx_rsa;
	memcpy(f.q.signature, fx_ecc.q.signature, fx_ecc.q.signature_len);
	f.q.signature_len = fx_ecc.q.signature_len;
	ev = ev_of(&f);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.signature",
				     &rc), 0);
}

static void test_other_ak(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;

	memcpy(f.akpub, fx_ecc2.akpub, fx_ecc2.akpub_len);
	f.akpub_len = fx_ecc2.akpub_len;
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "quote.signature");
	/* And an RSA AK for an ECDSA quote. */
	memcpy(f.akpub, fx_rsa.akpub, fx_rsa.akpub_len);
	f.akpub_len = fx_rsa.akpub_len;
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "quote.signature");
}

static void test_other_selection(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;
	int rc;

	/* Report PCRs 0-8 for a quote over 0-9. */
	f.pcrs.banks[0].count = 9;
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "quote.pcr_selection");
	/* Report another bank. */
	f = fx_ecc;
	f.pcrs.banks[0].hash_alg = TPM2_ALG_SHA384;
	ev = ev_of(&f);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.pcr_selection",
				     &rc), 0);
	/* Report an extra bank. */
	f = fx_ecc;
	CU_ASSERT_EQUAL(tpa_pcr_set_add_bank(&f.pcrs, TPM2_ALG_SHA1), 0);
	CU_ASSERT_EQUAL(tpa_pcr_set_add(&f.pcrs, 0, f.pcrs.banks[0].digest[0], 20), 0);
	ev = ev_of(&f);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.pcr_selection",
				     &rc), 0);
	/* Report the values of another quote's PCRs with the same count. */
	f = fx_ecc;
	f.pcrs.banks[0].index[9] = 10;
	ev = ev_of(&f);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.pcr_selection",
				     &rc), 0);
}

static void test_trailing_bytes(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;
	tpa_findings fs;

	f.q.attest[f.q.attest_len] = 0;
	f.q.attest[f.q.attest_len + 1] = 0;
	f.q.attest_len += 2;
	ev = ev_of(&f);
	memset(&fs, 0, sizeof(fs));
	CU_ASSERT_EQUAL(tpa_quote_verify(&fs, &ev, f.nonce, sizeof(f.nonce), NULL, NULL),
			TPA_ERR_VERIFY);
	CU_ASSERT_EQUAL(test_check_passed(&fs, "quote.structure"), 0);
	CU_ASSERT(strstr(test_check_detail(&fs, "quote.structure"),
			 "2 trailing bytes") != NULL);
	/* The bytes as signed are not the bytes as sent either. */
	CU_ASSERT_EQUAL(test_check_passed(&fs, "quote.signature"), 0);

	/* Trailing bytes after the AK public area and the signature. */
	f = fx_ecc;
	f.akpub[f.akpub_len++] = 0;
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "ak.public");
	f = fx_ecc;
	f.q.signature[f.q.signature_len++] = 0;
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "quote.signature");
}

static void test_truncated(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;
	size_t n;
	int rc;

	for (n = 0; n < fx_ecc.q.attest_len; n++) {
		f.q.attest_len = n;
		ev = ev_of(&f);
		CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce),
					     "quote.structure", &rc), 0);
		CU_ASSERT_EQUAL(rc, TPA_ERR_VERIFY);
	}
	f = fx_ecc;
	for (n = 0; n < fx_ecc.akpub_len; n++) {
		f.akpub_len = n;
		ev = ev_of(&f);
		CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "ak.public",
					     &rc), 0);
	}
}

/* Each of the AK's required attributes, flipped in the public area it
 * claims while its key stays the TPM's: the signature still holds, so only
 * the attribute rule can refuse it. Unrestricted, it could sign a forged
 * TPMS_ATTEST; a decrypt key, not a signing key, or one that could be
 * duplicated (fixedParent) or was imported (sensitiveDataOrigin) is no AK. */
static void test_ak_attribute_flips(void)
{
	static const struct { TPMA_OBJECT bit; const char *why; } flips[] = {
		{ TPMA_OBJECT_RESTRICTED, "lacks restricted" },
		{ TPMA_OBJECT_SIGN_ENCRYPT, "lacks sign" },
		{ TPMA_OBJECT_DECRYPT, "must not have decrypt" },
		{ TPMA_OBJECT_FIXEDTPM, "lacks fixedTPM" },
		{ TPMA_OBJECT_FIXEDPARENT, "lacks fixedParent" },
		{ TPMA_OBJECT_SENSITIVEDATAORIGIN, "lacks sensitiveDataOrigin" },
	};
	size_t i;

	for (i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		fixture f = fx_ecc;
		tpa_quote_evidence ev;
		tpa_findings out;
		const tpa_check *c;
		TPMT_PUBLIC pub;
		size_t off = 0;

		CU_ASSERT_EQUAL_FATAL(tpa_decode_public(&pub, f.akpub, f.akpub_len), 0);
		pub.objectAttributes ^= flips[i].bit;
		CU_ASSERT_EQUAL_FATAL(Tss2_MU_TPMT_PUBLIC_Marshal(&pub, f.akpub,
								 sizeof(f.akpub), &off), 0);
		f.akpub_len = off;
		ev = ev_of(&f);
		expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "ak.attributes");
		memset(&out, 0, sizeof(out));
		tpa_quote_verify(&out, &ev, f.nonce, sizeof(f.nonce), NULL, NULL);
		c = tpa_findings_get(&out, TPA_CHECK_AK_ATTRIBUTES);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		CU_ASSERT_PTR_NOT_NULL(strstr(c->detail, flips[i].why));
	}
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	setenv("TSS2_LOG", "all+none", 1);
	if (swtpm_fixture_start(&tpm_fx) < 0) {
		fprintf(stderr, "test_quote: cannot start swtpm\n");
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("quote (swtpm)", suite_init, suite_clean);
	CU_add_test(s, "valid ECDSA P-256 quote", test_valid_ecc);
	CU_add_test(s, "valid RSASSA quote", test_valid_rsassa);
	CU_add_test(s, "valid RSAPSS quote", test_valid_rsapss);
	CU_add_test(s, "wrong nonce", test_wrong_nonce);
	CU_add_test(s, "PCR value changed", test_pcr_value_changed);
	CU_add_test(s, "PCR values whose digest shares its first byte", test_pcr_digest_whole);
	CU_add_test(s, "attestation bytes tampered", test_attest_tampered);
	CU_add_test(s, "magic tampered", test_magic_tampered);
	CU_add_test(s, "type tampered", test_type_tampered);
	CU_add_test(s, "a TPM2_Certify of the AK is no quote", test_certify_not_quote);
	CU_add_test(s, "key binding: that key, this AK, this challenge", test_key_binding);
	CU_add_test(s, "signature tampered", test_signature_tampered);
	CU_add_test(s, "signature malformed or of the wrong kind", test_signature_malformed);
	CU_add_test(s, "another AK's key", test_other_ak);
	CU_add_test(s, "another PCR selection", test_other_selection);
	CU_add_test(s, "trailing bytes", test_trailing_bytes);
	CU_add_test(s, "truncated structures", test_truncated);
	CU_add_test(s, "each AK attribute rule, flipped", test_ak_attribute_flips);
	failed = test_run_all();
	tpa_tpm_close(tpm_ecc);
	swtpm_fixture_stop(&tpm_fx);
	return failed ? 1 : 0;
}
