/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "tpa/err.h"
#include "tpa/keybind.h"
#include "tpa/tpm_decode.h"

/* base64url without padding of n <= 48 bytes. */
static void b64url(char *out, const uint8_t *b, size_t n)
{
	unsigned char tmp[72];
	int len = EVP_EncodeBlock(tmp, b, (int)n), i, o = 0;

	for (i = 0; i < len && tmp[i] != '='; i++)
		out[o++] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : (char)tmp[i];
	out[o] = '\0';
}

/* A P-256 coordinate: at most 32 bytes, left-padded to 32. */
static int coord(char *out, const TPM2B_ECC_PARAMETER *p, const char *which)
{
	uint8_t c[32] = { 0 };

	if (p->size == 0 || p->size > sizeof(c))
		return tpa_err_fail(TPA_ERR_VERIFY, "bound key: %s of %u bytes", which, p->size);
	memcpy(c + sizeof(c) - p->size, p->buffer, p->size);
	b64url(out, c, sizeof(c));
	return 0;
}

int tpa_keybind_describe(tpa_bound_key *out, const uint8_t *key_public, size_t len)
{
	static const struct { TPMA_OBJECT bit; int want; const char *name; } rules[] = {
		{ TPMA_OBJECT_SIGN_ENCRYPT, 1, "sign" },
		{ TPMA_OBJECT_RESTRICTED, 0, "restricted" },
		{ TPMA_OBJECT_DECRYPT, 0, "decrypt" },
		{ TPMA_OBJECT_FIXEDTPM, 1, "fixedTPM" },
		{ TPMA_OBJECT_FIXEDPARENT, 1, "fixedParent" },
		{ TPMA_OBJECT_SENSITIVEDATAORIGIN, 1, "sensitiveDataOrigin" },
	};
	TPMT_PUBLIC pub;
	char x[48], y[48], canon[TPA_JWK_EC_MAX];
	uint8_t dg[32];
	size_t i;
	int n;

	if (!out || !key_public)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "bound key: NULL");
	if (tpa_decode_public(&pub, key_public, len) < 0)
		return tpa_err_fail(TPA_ERR_VERIFY, "bound key: %s", tpa_err_last());
	if (pub.type != TPM2_ALG_ECC || pub.parameters.eccDetail.curveID != TPM2_ECC_NIST_P256)
		return tpa_err_fail(TPA_ERR_VERIFY, "bound key: not an ECC NIST P-256 key");
	if (pub.nameAlg != TPM2_ALG_SHA256)
		return tpa_err_fail(TPA_ERR_VERIFY, "bound key: nameAlg 0x%04x is not SHA-256",
				    pub.nameAlg);
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (((pub.objectAttributes & rules[i].bit) != 0) != rules[i].want)
			return tpa_err_fail(TPA_ERR_VERIFY, "bound key: %s %s",
					    rules[i].want ? "lacks" : "must not have", rules[i].name);
	if (coord(x, &pub.unique.ecc.x, "x") < 0 || coord(y, &pub.unique.ecc.y, "y") < 0)
		return TPA_ERR_VERIFY;
	/* RFC 7638: the required members, in lexical order, no spaces. */
	n = snprintf(canon, sizeof(canon), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		     x, y);
	if (n < 0 || (size_t)n >= sizeof(canon) ||
	    tpa_hash(dg, TPM2_ALG_SHA256, (const uint8_t *)canon, (size_t)n) < 0)
		return tpa_err_fail(TPA_ERR_INTERNAL, "bound key: thumbprint");
	b64url(out->thumbprint, dg, sizeof(dg));
	snprintf(out->jwk, sizeof(out->jwk), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}",
		 x, y);
	return 0;
}

/* Why the binding does not hold, or NULL if it does. */
static const char *judge(char *why, size_t cap, tpa_bound_key *out, const tpa_keybind_evidence *ev,
			 const uint8_t *ak_public, size_t ak_public_len, const uint8_t *qd,
			 size_t qd_len)
{
	TPMT_PUBLIC ak, key;
	TPMS_ATTEST at;
	TPMT_SIGNATURE sig;
	EVP_PKEY *pk = NULL;
	uint8_t name[TPA_NAME_MAX];
	size_t name_len = 0;
	int rc;

	if (tpa_keybind_describe(out, ev->key_public, ev->key_public_len) < 0 ||
	    tpa_decode_public(&key, ev->key_public, ev->key_public_len) < 0 ||
	    tpa_public_name(name, &name_len, &key) < 0) {
		snprintf(why, cap, "%s", tpa_err_last());
		return why;
	}
	if (tpa_decode_attest(&at, ev->certify, ev->certify_len) < 0) {
		snprintf(why, cap, "certify: %s", tpa_err_last());
		return why;
	}
	if (at.magic != TPM2_GENERATED_VALUE) {
		snprintf(why, cap, "certify: magic 0x%08x is not TPM_GENERATED_VALUE", at.magic);
		return why;
	}
	if (at.type != TPM2_ST_ATTEST_CERTIFY) {
		snprintf(why, cap, "certify: type 0x%04x is not TPM_ST_ATTEST_CERTIFY", at.type);
		return why;
	}
	if (at.extraData.size != qd_len || CRYPTO_memcmp(at.extraData.buffer, qd, qd_len) != 0) {
		snprintf(why, cap, "certify: extraData is not this challenge's (a stale binding)");
		return why;
	}
	if (at.attested.certify.name.size != name_len ||
	    memcmp(at.attested.certify.name.name, name, name_len) != 0) {
		snprintf(why, cap, "certify: it names another key than the public area sent");
		return why;
	}
	if (tpa_decode_public(&ak, ak_public, ak_public_len) < 0) {
		snprintf(why, cap, "AK: %s", tpa_err_last());
		return why;
	}
	if (tpa_decode_signature(&sig, ev->signature, ev->signature_len) < 0) {
		snprintf(why, cap, "certify signature: %s", tpa_err_last());
		return why;
	}
	if (tpa_public_to_pkey(&pk, &ak) < 0) {
		snprintf(why, cap, "AK: %s", tpa_err_last());
		return why;
	}
	rc = tpa_signature_verify(&sig, &ak, pk, ev->certify, ev->certify_len);
	EVP_PKEY_free(pk);
	if (rc < 0) {
		snprintf(why, cap, "certify signature: not the AK's (%s)", tpa_err_last());
		return why;
	}
	return NULL;
}

int tpa_keybind_verify(tpa_findings *f, tpa_bound_key *out, const tpa_keybind_evidence *ev,
		       const uint8_t *ak_public, size_t ak_public_len, const uint8_t *qd,
		       size_t qd_len)
{
	char why[TPA_CHECK_DETAIL_MAX];
	tpa_bound_key k;

	if (!f || !out || !ev || !ak_public || (!qd && qd_len))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "key binding: NULL");
	memset(out, 0, sizeof(*out));
	if (!qd) {
		tpa_findings_add(f, TPA_CHECK_KEY_BINDING, 0, "no valid challenge to bind the key to");
		return 0;
	}
	if (judge(why, sizeof(why), &k, ev, ak_public, ak_public_len, qd, qd_len)) {
		tpa_findings_add(f, TPA_CHECK_KEY_BINDING, 0, "%s", why);
		return 0;
	}
	*out = k;
	tpa_findings_add(f, TPA_CHECK_KEY_BINDING, 1, "P-256 key %s certified by the AK for this "
			 "challenge", k.thumbprint);
	return 0;
}
