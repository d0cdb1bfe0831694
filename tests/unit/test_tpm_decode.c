/* SPDX-License-Identifier: BSD-3-Clause */
/* The TPM structure decoders on hostile bytes, the hash table, and which
 * signatures tpa_signature_verify accepts from a key. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

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

/* An RSA public area of keyBits bits whose modulus is that of a key of
 * bits bits made here (the TPM's layout: exponent 0 for 65537). */
static int rsa_public(TPMT_PUBLIC *pub, unsigned bits, unsigned key_bits, uint32_t exponent)
{
	EVP_PKEY *key = EVP_RSA_gen(bits);
	BIGNUM *n = NULL;
	int ok;

	memset(pub, 0, sizeof(*pub));
	pub->type = TPM2_ALG_RSA;
	pub->nameAlg = TPM2_ALG_SHA256;
	pub->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	pub->parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
	pub->parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
	pub->parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)key_bits;
	pub->parameters.rsaDetail.exponent = exponent;
	ok = key && EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
	     BN_num_bytes(n) == (int)bits / 8 &&
	     BN_bn2binpad(n, pub->unique.rsa.buffer, (int)bits / 8) == (int)bits / 8;
	pub->unique.rsa.size = (UINT16)(bits / 8);
	BN_free(n);
	EVP_PKEY_free(key);
	return ok ? 0 : -1;
}

/* Which AK keys are accepted (README, ak.public): RSA of 2048, 3072 or
 * 4096 bits with a modulus of that size and an odd exponent of at least 3;
 * NIST P-256/384/521. A weaker key signs quotes just as well. */
static void test_ak_key_policy(void)
{
	static const unsigned refused_bits[] = { 1024, 1536 };
	TPMT_PUBLIC pub;
	EVP_PKEY *key = NULL;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(rsa_public(&pub, 2048, 2048, 0), 0);
	CU_ASSERT_EQUAL(tpa_public_to_pkey(&key, &pub), 0);
	CU_ASSERT_EQUAL(EVP_PKEY_get_bits(key), 2048);
	EVP_PKEY_free(key);
	key = NULL;
	for (i = 0; i < sizeof(refused_bits) / sizeof(refused_bits[0]); i++) {
		char want[64];

		CU_ASSERT_EQUAL_FATAL(rsa_public(&pub, refused_bits[i], refused_bits[i], 0), 0);
		CU_ASSERT_EQUAL(tpa_public_to_pkey(&key, &pub), TPA_ERR_VERIFY);
		snprintf(want, sizeof(want), "AK RSA key of %u bits not accepted", refused_bits[i]);
		CU_ASSERT(strstr(tpa_err_last(), want) != NULL);
		CU_ASSERT_PTR_NULL(key);
	}
	/* A 1024-bit modulus under keyBits 2048: the key is what the modulus is. */
	CU_ASSERT_EQUAL_FATAL(rsa_public(&pub, 1024, 2048, 0), 0);
	CU_ASSERT_EQUAL(tpa_public_to_pkey(&key, &pub), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "modulus of 128 bytes for a 2048-bit key") != NULL);
	CU_ASSERT_PTR_NULL(key);
	/* An even exponent is no RSA key; 1 none either. */
	CU_ASSERT_EQUAL_FATAL(rsa_public(&pub, 2048, 2048, 65536), 0);
	CU_ASSERT_EQUAL(tpa_public_to_pkey(&key, &pub), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "exponent 65536 not accepted") != NULL);
	pub.parameters.rsaDetail.exponent = 1;
	CU_ASSERT_EQUAL(tpa_public_to_pkey(&key, &pub), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "exponent 1 not accepted") != NULL);
	CU_ASSERT_PTR_NULL(key);
	/* A curve other than NIST P-256/384/521 (BN P-256, which TPMs have). */
	memset(&pub, 0, sizeof(pub));
	pub.type = TPM2_ALG_ECC;
	pub.parameters.eccDetail.curveID = TPM2_ECC_BN_P256;
	pub.unique.ecc.x.size = pub.unique.ecc.y.size = 32;
	CU_ASSERT_EQUAL(tpa_public_to_pkey(&key, &pub), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "AK curve 0x0010 not accepted") != NULL);
	CU_ASSERT_PTR_NULL(key);
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
	CU_add_test(s, "AK keys: RSA 2048-4096 with an odd exponent, NIST curves", test_ak_key_policy);
	return test_run_all() ? 1 : 0;
}
