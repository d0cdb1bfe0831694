/* SPDX-License-Identifier: BSD-3-Clause */
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "tpa/err.h"
#include "tpa/tpm_decode.h"

/* Checks the bounds of an input before it is unmarshalled. */
static int check_input(const char *what, const void *out, const uint8_t *b,
		       size_t n, size_t max)
{
	if (!out || (!b && n))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "%s: no buffer", what);
	if (n == 0)
		return tpa_err_fail(TPA_ERR_PARSE, "%s: empty", what);
	if (n > max)
		return tpa_err_fail(TPA_ERR_LIMIT, "%s: %zu bytes exceed %zu", what, n,
				    max);
	return 0;
}

/* The unmarshaller must have succeeded and consumed exactly n bytes. */
static int check_output(const char *what, TSS2_RC rc, size_t off, size_t n)
{
	if (rc != TSS2_RC_SUCCESS)
		return tpa_err_fail(TPA_ERR_PARSE, "%s: malformed (tss2-mu 0x%x)", what,
				    (unsigned)rc);
	if (off != n)
		return tpa_err_fail(TPA_ERR_PARSE, "%s: %zu trailing bytes", what,
				    n - off);
	return 0;
}

int tpa_decode_attest(TPMS_ATTEST *out, const uint8_t *b, size_t n)
{
	TPMS_ATTEST v;
	size_t off = 0;
	TSS2_RC rc;
	int err;

	if ((err = check_input("attest", out, b, n, TPA_ATTEST_MAX)) < 0)
		return err;
	memset(&v, 0, sizeof(v));
	rc = Tss2_MU_TPMS_ATTEST_Unmarshal(b, n, &off, &v);
	if ((err = check_output("attest", rc, off, n)) < 0)
		return err;
	*out = v;
	return 0;
}

int tpa_decode_public(TPMT_PUBLIC *out, const uint8_t *b, size_t n)
{
	TPMT_PUBLIC v;
	size_t off = 0;
	TSS2_RC rc;
	int err;

	if ((err = check_input("AK public", out, b, n, TPA_PUBLIC_MAX)) < 0)
		return err;
	memset(&v, 0, sizeof(v));
	rc = Tss2_MU_TPMT_PUBLIC_Unmarshal(b, n, &off, &v);
	if ((err = check_output("AK public", rc, off, n)) < 0)
		return err;
	*out = v;
	return 0;
}

int tpa_decode_signature(TPMT_SIGNATURE *out, const uint8_t *b, size_t n)
{
	TPMT_SIGNATURE v;
	size_t off = 0;
	TSS2_RC rc;
	int err;

	if ((err = check_input("signature", out, b, n, TPA_SIGNATURE_MAX)) < 0)
		return err;
	memset(&v, 0, sizeof(v));
	rc = Tss2_MU_TPMT_SIGNATURE_Unmarshal(b, n, &off, &v);
	if ((err = check_output("signature", rc, off, n)) < 0)
		return err;
	*out = v;
	return 0;
}

size_t tpa_hash_size(TPM2_ALG_ID alg)
{
	switch (alg) {
	case TPM2_ALG_SHA1: return 20;
	case TPM2_ALG_SHA256: return 32;
	case TPM2_ALG_SHA384: return 48;
	case TPM2_ALG_SHA512: return 64;
	case TPM2_ALG_SM3_256: return 32;
	default: return 0;
	}
}

const char *tpa_hash_name(TPM2_ALG_ID alg)
{
	switch (alg) {
	case TPM2_ALG_SHA1: return "SHA1";
	case TPM2_ALG_SHA256: return "SHA256";
	case TPM2_ALG_SHA384: return "SHA384";
	case TPM2_ALG_SHA512: return "SHA512";
	case TPM2_ALG_SM3_256: return "SM3";
	default: return NULL;
	}
}

const char *tpa_hash_label(TPM2_ALG_ID alg)
{
	switch (alg) {
	case TPM2_ALG_SHA1: return "sha1";
	case TPM2_ALG_SHA256: return "sha256";
	case TPM2_ALG_SHA384: return "sha384";
	case TPM2_ALG_SHA512: return "sha512";
	case TPM2_ALG_SM3_256: return "sm3_256";
	default: return "unknown";
	}
}

/* Fetching an algorithm from the provider takes locks and lookups; the
 * digests are fetched once per process and shared (EVP_MD is immutable). */
static const TPM2_ALG_ID md_algs[] = {
	TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384, TPM2_ALG_SHA512,
	TPM2_ALG_SM3_256,
};
static EVP_MD *md_cache[sizeof(md_algs) / sizeof(md_algs[0])];
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_init(void)
{
	size_t i;

	for (i = 0; i < sizeof(md_algs) / sizeof(md_algs[0]); i++)
		md_cache[i] = EVP_MD_fetch(NULL, tpa_hash_name(md_algs[i]), NULL);
}

const EVP_MD *tpa_hash_md(TPM2_ALG_ID alg)
{
	size_t i;

	pthread_once(&md_once, md_init);
	for (i = 0; i < sizeof(md_algs) / sizeof(md_algs[0]); i++)
		if (md_algs[i] == alg)
			return md_cache[i];
	return NULL;
}

int tpa_hash(uint8_t *out, TPM2_ALG_ID alg, const uint8_t *b, size_t n)
{
	const EVP_MD *md = tpa_hash_md(alg);
	unsigned int len = 0;

	if (!md)
		return tpa_err_fail(TPA_ERR_INVALID_ARG,
				    "hash algorithm 0x%04x not supported", alg);
	if (!EVP_Digest(b, n, out, &len, md, NULL) || len != tpa_hash_size(alg))
		return tpa_err_fail(TPA_ERR_CRYPTO, "%s digest failed",
				    tpa_hash_name(alg));
	return 0;
}

int tpa_public_name(uint8_t *out, size_t *out_len, const TPMT_PUBLIC *pub)
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	size_t off = 0, hs;
	TSS2_RC rc;
	int err;

	if (!out || !out_len || !pub)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "public name: no buffer");
	hs = tpa_hash_size(pub->nameAlg);
	if (hs == 0 || pub->nameAlg == TPM2_ALG_SHA1)
		return tpa_err_fail(TPA_ERR_VERIFY,
				    "AK nameAlg 0x%04x not accepted", pub->nameAlg);
	rc = Tss2_MU_TPMT_PUBLIC_Marshal(pub, buf, sizeof(buf), &off);
	if (rc != TSS2_RC_SUCCESS)
		return tpa_err_fail(TPA_ERR_PARSE, "AK public: cannot marshal (0x%x)",
				    (unsigned)rc);
	out[0] = (uint8_t)(pub->nameAlg >> 8);
	out[1] = (uint8_t)pub->nameAlg;
	if ((err = tpa_hash(out + 2, pub->nameAlg, buf, off)) < 0)
		return err;
	*out_len = 2 + hs;
	return 0;
}

static int ecc_pkey(EVP_PKEY **out, const TPMT_PUBLIC *pub)
{
	const TPMS_ECC_POINT *pt = &pub->unique.ecc;
	uint8_t point[1 + 2 * 66];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	const char *group;
	size_t cs;
	int err = TPA_ERR_CRYPTO;

	switch (pub->parameters.eccDetail.curveID) {
	case TPM2_ECC_NIST_P256: group = "P-256"; cs = 32; break;
	case TPM2_ECC_NIST_P384: group = "P-384"; cs = 48; break;
	case TPM2_ECC_NIST_P521: group = "P-521"; cs = 66; break;
	default:
		return tpa_err_fail(TPA_ERR_VERIFY, "AK curve 0x%04x not accepted",
				    pub->parameters.eccDetail.curveID);
	}
	if (pt->x.size == 0 || pt->x.size > cs || pt->y.size == 0 ||
	    pt->y.size > cs)
		return tpa_err_fail(TPA_ERR_VERIFY,
				    "AK ECC point coordinates of %u/%u bytes for %s",
				    pt->x.size, pt->y.size, group);
	memset(point, 0, sizeof(point));
	point[0] = 0x04;
	memcpy(point + 1 + cs - pt->x.size, pt->x.buffer, pt->x.size);
	memcpy(point + 1 + 2 * cs - pt->y.size, pt->y.buffer, pt->y.size);

	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					     group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
					      1 + 2 * cs) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
	    EVP_PKEY_fromdata_init(ctx) <= 0) {
		tpa_err_set("AK: cannot build EC key");
		goto cleanup;
	}
	if (EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		err = tpa_err_fail(TPA_ERR_VERIFY, "AK: ECC point not on %s", group);
		goto cleanup;
	}
	*out = key;
	key = NULL;
	err = 0;
cleanup:
	ERR_clear_error();
	EVP_PKEY_free(key);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return err;
}

static int rsa_pkey(EVP_PKEY **out, const TPMT_PUBLIC *pub)
{
	const TPMS_RSA_PARMS *rp = &pub->parameters.rsaDetail;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint32_t exp = rp->exponent ? rp->exponent : 65537;
	int err = TPA_ERR_CRYPTO;

	if (rp->keyBits != 2048 && rp->keyBits != 3072 && rp->keyBits != 4096)
		return tpa_err_fail(TPA_ERR_VERIFY, "AK RSA key of %u bits not accepted",
				    rp->keyBits);
	if (pub->unique.rsa.size * 8u != rp->keyBits)
		return tpa_err_fail(TPA_ERR_VERIFY,
				    "AK RSA modulus of %u bytes for a %u-bit key",
				    pub->unique.rsa.size, rp->keyBits);
	if (exp < 3 || (exp & 1) == 0)
		return tpa_err_fail(TPA_ERR_VERIFY, "AK RSA exponent %u not accepted",
				    exp);
	if (!(n = BN_bin2bn(pub->unique.rsa.buffer, pub->unique.rsa.size, NULL)) ||
	    !(e = BN_new()) || !BN_set_word(e, exp) ||
	    !(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		tpa_err_set("AK: cannot build RSA key");
		goto cleanup;
	}
	*out = key;
	key = NULL;
	err = 0;
cleanup:
	ERR_clear_error();
	EVP_PKEY_free(key);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return err;
}

int tpa_public_to_pkey(EVP_PKEY **out, const TPMT_PUBLIC *pub)
{
	if (!out || !pub)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "public key: no input");
	switch (pub->type) {
	case TPM2_ALG_ECC: return ecc_pkey(out, pub);
	case TPM2_ALG_RSA: return rsa_pkey(out, pub);
	default:
		return tpa_err_fail(TPA_ERR_VERIFY, "AK key type 0x%04x not accepted",
				    pub->type);
	}
}

TPM2_ALG_ID tpa_signature_hash(const TPMT_SIGNATURE *sig)
{
	switch (sig->sigAlg) {
	case TPM2_ALG_ECDSA: return sig->signature.ecdsa.hash;
	case TPM2_ALG_RSASSA: return sig->signature.rsassa.hash;
	case TPM2_ALG_RSAPSS: return sig->signature.rsapss.hash;
	default: return TPM2_ALG_NULL;
	}
}

/* The DER ECDSA-Sig-Value for raw r and s. */
static int ecdsa_der(uint8_t **der, int *der_len, const TPMS_SIGNATURE_ECC *e)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p = NULL;
	int len;

	if (e->signatureR.size == 0 || e->signatureS.size == 0)
		return tpa_err_fail(TPA_ERR_VERIFY, "ECDSA signature with empty r or s");
	if (!(es = ECDSA_SIG_new()) ||
	    !(r = BN_bin2bn(e->signatureR.buffer, e->signatureR.size, NULL)) ||
	    !(s = BN_bin2bn(e->signatureS.buffer, e->signatureS.size, NULL)) ||
	    !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return tpa_err_fail(TPA_ERR_CRYPTO, "ECDSA signature: cannot encode");
	}
	len = i2d_ECDSA_SIG(es, &p);
	ECDSA_SIG_free(es);
	if (len <= 0)
		return tpa_err_fail(TPA_ERR_CRYPTO, "ECDSA signature: cannot encode");
	*der = p;
	*der_len = len;
	return 0;
}

int tpa_signature_verify(const TPMT_SIGNATURE *sig, const TPMT_PUBLIC *pub,
			 EVP_PKEY *key, const uint8_t *msg, size_t n)
{
	TPM2_ALG_ID hash = tpa_signature_hash(sig);
	const TPMT_ASYM_SCHEME *ks;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *der = NULL;
	const uint8_t *sb;
	size_t sl;
	int der_len = 0, rc, err;

	if (!sig || !pub || !key || (!msg && n))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "signature: no input");
	if (hash != TPM2_ALG_SHA256 && hash != TPM2_ALG_SHA384 &&
	    hash != TPM2_ALG_SHA512)
		return tpa_err_fail(TPA_ERR_VERIFY,
				    "signature hash 0x%04x not accepted (SHA-256/384/512)",
				    hash);
	if (pub->type == TPM2_ALG_ECC) {
		if (sig->sigAlg != TPM2_ALG_ECDSA)
			return tpa_err_fail(TPA_ERR_VERIFY,
					    "signature scheme 0x%04x with an ECC key (ECDSA expected)",
					    sig->sigAlg);
		ks = (const TPMT_ASYM_SCHEME *)&pub->parameters.eccDetail.scheme;
	} else if (pub->type == TPM2_ALG_RSA) {
		if (sig->sigAlg != TPM2_ALG_RSASSA && sig->sigAlg != TPM2_ALG_RSAPSS)
			return tpa_err_fail(TPA_ERR_VERIFY,
					    "signature scheme 0x%04x with an RSA key (RSASSA or RSAPSS expected)",
					    sig->sigAlg);
		ks = (const TPMT_ASYM_SCHEME *)&pub->parameters.rsaDetail.scheme;
	} else {
		return tpa_err_fail(TPA_ERR_VERIFY, "AK key type 0x%04x not accepted",
				    pub->type);
	}
	if (ks->scheme != TPM2_ALG_NULL &&
	    (ks->scheme != sig->sigAlg || ks->details.anySig.hashAlg != hash))
		return tpa_err_fail(TPA_ERR_VERIFY,
				    "signature scheme 0x%04x/hash 0x%04x differs from the key's 0x%04x/0x%04x",
				    sig->sigAlg, hash, ks->scheme,
				    ks->details.anySig.hashAlg);

	if (sig->sigAlg == TPM2_ALG_ECDSA) {
		if ((err = ecdsa_der(&der, &der_len, &sig->signature.ecdsa)) < 0)
			return err;
		sb = der;
		sl = (size_t)der_len;
	} else {
		const TPM2B_PUBLIC_KEY_RSA *r = sig->sigAlg == TPM2_ALG_RSASSA ?
			&sig->signature.rsassa.sig : &sig->signature.rsapss.sig;
		sb = r->buffer;
		sl = r->size;
	}

	err = TPA_ERR_CRYPTO;
	if (sig->sigAlg == TPM2_ALG_ECDSA) {
		/* ECDSA verifies a digest without knowing its algorithm: hash
		 * with the shared EVP_MD and skip the per-call digest fetch. */
		uint8_t dg[EVP_MAX_MD_SIZE];

		if ((err = tpa_hash(dg, hash, msg, n)) < 0)
			goto cleanup;
		err = TPA_ERR_CRYPTO;
		if (!(pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) ||
		    EVP_PKEY_verify_init(pctx) <= 0) {
			tpa_err_set("signature: cannot start verification");
			goto cleanup;
		}
		rc = EVP_PKEY_verify(pctx, sb, sl, dg, tpa_hash_size(hash));
		EVP_PKEY_CTX_free(pctx);
		pctx = NULL;
	} else {
		if (!(mctx = EVP_MD_CTX_new()) ||
		    EVP_DigestVerifyInit(mctx, &pctx, tpa_hash_md(hash), NULL, key) <= 0) {
			tpa_err_set("signature: cannot start verification");
			goto cleanup;
		}
		if (sig->sigAlg == TPM2_ALG_RSASSA &&
		    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) {
			tpa_err_set("signature: cannot set PKCS#1 padding");
			goto cleanup;
		}
		/* TPMs use either the digest length or the largest salt the key
		 * allows; both are sound, so the salt length is taken from the
		 * signature. */
		if (sig->sigAlg == TPM2_ALG_RSAPSS &&
		    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) <= 0)) {
			tpa_err_set("signature: cannot set PSS padding");
			goto cleanup;
		}
		rc = EVP_DigestVerify(mctx, sb, sl, msg, n);
	}
	if (rc == 1) {
		err = 0;
	} else {
		err = tpa_err_fail(TPA_ERR_VERIFY,
				   "%s signature does not verify with the AK",
				   sig->sigAlg == TPM2_ALG_ECDSA ? "ECDSA" :
				   sig->sigAlg == TPM2_ALG_RSASSA ? "RSASSA" : "RSAPSS");
	}
cleanup:
	ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	OPENSSL_free(der);
	return err;
}

void tpa_hex(char *out, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int tpa_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
