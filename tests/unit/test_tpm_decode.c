/* SPDX-License-Identifier: BSD-3-Clause */
/* The TPM structure decoders on hostile bytes, the hash table, and which
 * signatures tpa_signature_verify accepts from a key. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "testutil.h"
#include "tpa/err.h"
#include "tpa/tpm_decode.h"

static void test_decode_garbage(void)
{
	uint8_t b[4096] = { 0 };
	TPMS_ATTEST a;
	TPMT_PUBLIC p;
	TPMT_SIGNATURE s;
	size_t n;
	unsigned seed = 12345;

	CU_ASSERT_EQUAL(tpa_decode_attest(&a, b, 0), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_decode_attest(&a, b, TPA_ATTEST_MAX + 1), TPA_ERR_LIMIT);
	CU_ASSERT_EQUAL(tpa_decode_public(&p, b, TPA_PUBLIC_MAX + 1), TPA_ERR_LIMIT);
	CU_ASSERT_EQUAL(tpa_decode_signature(&s, b, TPA_SIGNATURE_MAX + 1), TPA_ERR_LIMIT);
	for (n = 1; n < 600; n++) {
		size_t i;

		for (i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			b[i] = (uint8_t)(seed >> 16);
		}
		/* Must not crash; almost all random inputs are refused. */
		(void)tpa_decode_attest(&a, b, n);
		(void)tpa_decode_public(&p, b, n);
		(void)tpa_decode_signature(&s, b, n);
	}
	/* A signature with an unknown algorithm. */
	b[0] = 0x12;
	b[1] = 0x34;
	CU_ASSERT_EQUAL(tpa_decode_signature(&s, b, 8), TPA_ERR_PARSE);
}

static void test_hash_table(void)
{
	CU_ASSERT_EQUAL(tpa_hash_size(TPM2_ALG_SHA256), 32);
	CU_ASSERT_EQUAL(tpa_hash_size(TPM2_ALG_SM3_256), 32);
	CU_ASSERT_EQUAL(tpa_hash_size(0x0001), 0); /* TPM_ALG_RSA is no hash */
	CU_ASSERT_PTR_NULL(tpa_hash_name(0x9999));
	CU_ASSERT_STRING_EQUAL(tpa_hash_label(TPM2_ALG_SHA384), "sha384");
}

/* An ECDSA signature over msg with hash alg, made here in software as the
 * TPM makes one: r and s of 32 bytes each. */
static int ecdsa_sign(TPMT_SIGNATURE *sig, EVP_PKEY *key, TPM2_ALG_ID alg, const uint8_t *msg,
		      size_t n)
{
	uint8_t dg[64], der[128];
	size_t dl = sizeof(der);
	const uint8_t *p = der;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
	ECDSA_SIG *es = NULL;
	int ok;

	ok = c && tpa_hash(dg, alg, msg, n) == 0 && EVP_PKEY_sign_init(c) > 0 &&
	     EVP_PKEY_sign(c, der, &dl, dg, tpa_hash_size(alg)) > 0 &&
	     (es = d2i_ECDSA_SIG(NULL, &p, (long)dl)) != NULL;
	EVP_PKEY_CTX_free(c);
	if (!ok)
		return -1;
	memset(sig, 0, sizeof(*sig));
	sig->sigAlg = TPM2_ALG_ECDSA;
	sig->signature.ecdsa.hash = alg;
	sig->signature.ecdsa.signatureR.size = 32;
	sig->signature.ecdsa.signatureS.size = 32;
	ok = BN_bn2binpad(ECDSA_SIG_get0_r(es), sig->signature.ecdsa.signatureR.buffer, 32) == 32 &&
	     BN_bn2binpad(ECDSA_SIG_get0_s(es), sig->signature.ecdsa.signatureS.buffer, 32) == 32;
	ECDSA_SIG_free(es);
	return ok ? 0 : -1;
}

static void test_signature_policy(void)
{
	static const uint8_t msg[] = "the bytes of a TPMS_ATTEST";
	EVP_PKEY *key = EVP_EC_gen("P-256");
	TPMT_PUBLIC pub;
	TPMT_SIGNATURE sig;

	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	memset(&pub, 0, sizeof(pub));
	pub.type = TPM2_ALG_ECC;
	pub.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	pub.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	pub.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;

	/* The key's own scheme and hash: it verifies. */
	CU_ASSERT_EQUAL_FATAL(ecdsa_sign(&sig, key, TPM2_ALG_SHA256, msg, sizeof(msg)), 0);
	CU_ASSERT_EQUAL(tpa_signature_verify(&sig, &pub, key, msg, sizeof(msg)), 0);
	/* A valid signature with another hash than the key's scheme names is
	 * not one the TPM made with that key: refused. */
	CU_ASSERT_EQUAL_FATAL(ecdsa_sign(&sig, key, TPM2_ALG_SHA384, msg, sizeof(msg)), 0);
	CU_ASSERT_EQUAL(tpa_signature_verify(&sig, &pub, key, msg, sizeof(msg)), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "differs from the key's") != NULL);
	/* A key with no scheme of its own takes the one the command named ... */
	pub.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	pub.parameters.eccDetail.scheme.details.ecdsa.hashAlg = 0;
	CU_ASSERT_EQUAL(tpa_signature_verify(&sig, &pub, key, msg, sizeof(msg)), 0);
	/* ... but never SHA-1, even valid. */
	CU_ASSERT_EQUAL_FATAL(ecdsa_sign(&sig, key, TPM2_ALG_SHA1, msg, sizeof(msg)), 0);
	CU_ASSERT_EQUAL(tpa_signature_verify(&sig, &pub, key, msg, sizeof(msg)), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "not accepted") != NULL);
	/* And a key of ECDSA/SHA-1 does not make SHA-1 acceptable. */
	pub.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	pub.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA1;
	CU_ASSERT_EQUAL(tpa_signature_verify(&sig, &pub, key, msg, sizeof(msg)), TPA_ERR_VERIFY);
	EVP_PKEY_free(key);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("tpm_decode", NULL, NULL);
	CU_add_test(s, "hostile bytes", test_decode_garbage);
	CU_add_test(s, "hash table", test_hash_table);
	CU_add_test(s, "signature: the key's scheme, no SHA-1", test_signature_policy);
	return test_run_all() ? 1 : 0;
}
