/* SPDX-License-Identifier: BSD-3-Clause */
/* What a relying party's check of a verdict token costs, in process, one
 * thread, beside the ES256 verify it cannot do without (EVP, the same key,
 * the same signing input): tpa_token_verifier_accept on a token whose
 * claims it read before (a device presenting its token again), on tokens
 * new to it (claims read every time), and the path of one JWKS per call
 * (tpa_token_verify_jwks + tpa_token_accept_status: a key imported and the
 * claims parsed twice per token). Prints "name value unit" lines.
 * usage: bench_token [SECONDS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "bench.h"
#include "tpa/err.h"
#include "tpa/token.h"

#define NEW_TOKENS 2048
#define NOW 1800000000LL

static const uint8_t nonce[32] = { 7, 7, 7, 7 };

/* A token as the verifier signs one for a compliant device (no rules:
 * about 0.8 KB of claims); iat differs per i, so the claims do. */
static char *make_token(const tpa_token_key *k, long i)
{
	tpa_token_claims c;
	char *tok = NULL;

	memset(&c, 0, sizeof(c));
	c.status = "affirming";
	c.vector.instance_identity = 2;
	c.vector.configuration = 2;
	c.vector.executables = 3;
	c.vector.hardware = 2;
	c.nonce = nonce;
	c.nonce_len = sizeof(nonce);
	c.developer = "tpm-attest";
	c.iat = NOW - 60 - i;
	c.ttl_s = 3600;
	c.device_id = "ea3c8f05cd9efd3797893259068058dd67071e8de390c3e122e69cdc6afffa7f";
	c.ak_name_hex = "000b5400e0c520c22c0c390913ce23cac85f9101bb1f532a5ebf088062dfaa375e92";
	c.outcome = "compliant";
	c.baseline = "fleet";
	c.baseline_version = 1;
	c.secure_boot = "enabled";
	c.measured_boot = 1;
	c.tpm_manufacturer = "id:00001014";
	c.firmware_version = "EDK II 2023.05-tpa (OVMF)";
	c.admission = "open";
	c.ek_certified = 1;
	if (tpa_token_sign(&tok, k, &c) < 0)
		fprintf(stderr, "bench_token: sign: %s\n", tpa_err_last());
	return tok;
}

/* The token's signature as DER and the JWKS's one key as an EVP_PKEY, for
 * the reference: one ES256 verify of the token's signing input. */
static int reference(EVP_PKEY **pk, uint8_t *der, size_t *der_len, const char *jwks,
		     const char *tok)
{
	const char *dot = strrchr(tok, '.'), *x, *y;
	uint8_t *sig = NULL, *xb = NULL, *yb = NULL, *p = der, pub[65];
	size_t sig_len = 0, xl = 0, yl = 0;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	ECDSA_SIG *es = NULL;
	json_t *j = json_loads(jwks, 0, NULL), *k;
	cjose_err e;
	int ok = 0, n;

	k = json_array_get(json_object_get(j, "keys"), 0);
	x = json_string_value(json_object_get(k, "x"));
	y = json_string_value(json_object_get(k, "y"));
	if (!x || !y || !cjose_base64url_decode(x, strlen(x), &xb, &xl, &e) ||
	    !cjose_base64url_decode(y, strlen(y), &yb, &yl, &e) || xl != 32 || yl != 32 ||
	    !cjose_base64url_decode(dot + 1, strlen(dot + 1), &sig, &sig_len, &e) || sig_len != 64)
		goto out;
	pub[0] = 0x04;
	memcpy(pub + 1, xb, 32);
	memcpy(pub + 33, yb, 32);
	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	if (!(es = ECDSA_SIG_new()) ||
	    ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)) != 1)
		goto out;
	if ((n = i2d_ECDSA_SIG(es, &p)) <= 0)
		goto out;
	*der_len = (size_t)n;
	ok = 1;
out:
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	cjose_get_dealloc()(sig);
	cjose_get_dealloc()(xb);
	cjose_get_dealloc()(yb);
	json_decref(j);
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0, us_ref, us_hit, us_new, us_jwks;
	tpa_token_key *k = NULL;
	const tpa_token_key *keys[1];
	tpa_token_verifier *v = NULL, *v2 = NULL;
	tpa_token_accepted acc;
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char *jwks = NULL, *tok, **fresh, *claims;
	const char *dot;
	uint8_t der[80];
	size_t der_len = 0, payload_len;
	long i, bad = 0, next = 0;

	if (secs <= 0)
		secs = 2.0;
	fresh = calloc(NEW_TOKENS, sizeof(*fresh));
	if (!fresh || !md || tpa_token_key_new(&k) < 0)
		return 1;
	keys[0] = k;
	if (tpa_token_jwks(&jwks, keys, 1) < 0 || tpa_token_verifier_new(&v, jwks) < 0 ||
	    tpa_token_verifier_new(&v2, jwks) < 0 || !(tok = make_token(k, 0))) {
		fprintf(stderr, "bench_token: %s\n", tpa_err_last());
		return 1;
	}
	for (i = 0; i < NEW_TOKENS; i++)
		if (!(fresh[i] = make_token(k, i + 1)))
			return 1;
	dot = strrchr(tok, '.');
	payload_len = (size_t)(dot - strchr(tok, '.') - 1) * 3 / 4;
	if (reference(&pk, der, &der_len, jwks, tok) < 0) {
		fprintf(stderr, "bench_token: no reference key\n");
		return 1;
	}
	if (tpa_token_verifier_accept(&acc, v, tok, NOW, 1) < 0) {
		fprintf(stderr, "bench_token: accept: %s\n", tpa_err_last());
		return 1;
	}
	TIME_US(bad += !(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
			 EVP_DigestVerify(md, der, der_len, (const uint8_t *)tok,
					  (size_t)(dot - tok)) == 1), secs, us_ref);
	TIME_US(bad += tpa_token_verifier_accept(&acc, v, tok, NOW, 1) != 0, secs, us_hit);
	/* Tokens the second verifier has not seen: its claims memo misses
	 * (NEW_TOKENS distinct claims, fewer than its slots, each used once;
	 * more rounds than that are not made). */
	us_new = 0;
	{
		double t0 = now_s();

		for (next = 0; next < NEW_TOKENS && now_s() - t0 < secs; next++)
			bad += tpa_token_verifier_accept(&acc, v2, fresh[next], NOW, 1) != 0;
		us_new = (now_s() - t0) * 1e6 / (double)(next ? next : 1);
	}
	TIME_US((claims = NULL,
		 bad += tpa_token_verify_jwks(&claims, jwks, tok, NOW, NULL, 0) != 0 ||
			tpa_token_accept_status(claims, 1) != 0,
		 free(claims)), secs, us_jwks);
	if (bad)
		fprintf(stderr, "bench_token: %ld checks failed\n", bad);
	printf("token_claims_bytes %zu bytes\n", payload_len);
	printf("token_es256_verify_evp %.1f us (the bound: EVP_DigestVerify of the signing input)\n",
	       us_ref);
	printf("token_accept_claims_read_before %.1f us (%.2f x the bound)\n", us_hit,
	       us_hit / us_ref);
	printf("token_accept_claims_new %.1f us (%.2f x the bound; %ld tokens)\n", us_new,
	       us_new / us_ref, next);
	printf("token_verify_jwks_and_status %.1f us (%.2f x the bound; a JWKS per call)\n",
	       us_jwks, us_jwks / us_ref);
	for (i = 0; i < NEW_TOKENS; i++)
		free(fresh[i]);
	free(fresh);
	free(tok);
	free(jwks);
	EVP_PKEY_free(pk);
	EVP_MD_CTX_free(md);
	tpa_token_verifier_free(v);
	tpa_token_verifier_free(v2);
	tpa_token_key_free(k);
	return bad ? 1 : 0;
}
