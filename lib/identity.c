/* SPDX-License-Identifier: BSD-3-Clause */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <tss2/tss2_mu.h>

#include "tpa/err.h"
#include "tpa/identity.h"
#include "tpa/pcr.h"
#include "tpa/tpm_decode.h"

#define CA_FILES_MAX 256
#define CA_FILE_MAX (64 * 1024)

/* Adds every certificate of one file (PEM, several allowed, or DER). */
static int add_ca_file(X509_STORE *store, const char *path, int *added)
{
	uint8_t buf[CA_FILE_MAX];
	const unsigned char *p;
	BIO *bio = NULL;
	X509 *x;
	size_t n;
	FILE *f;

	if (!(f = fopen(path, "rb")))
		return tpa_err_fail(TPA_ERR_IO, "CA %s: cannot open", path);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n == sizeof(buf))
		return tpa_err_fail(TPA_ERR_LIMIT, "CA %s: larger than %d bytes", path,
				    CA_FILE_MAX);
	if (n > 10 && memmem(buf, n, "-----BEGIN CERTIFICATE-----", 27)) {
		if (!(bio = BIO_new_mem_buf(buf, (int)n)))
			return tpa_err_fail(TPA_ERR_NOMEM, "CA: out of memory");
		while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
			X509_STORE_add_cert(store, x);
			X509_free(x);
			(*added)++;
		}
		BIO_free(bio);
		ERR_clear_error();
		return 0;
	}
	p = buf;
	if ((x = d2i_X509(NULL, &p, (long)n))) {
		X509_STORE_add_cert(store, x);
		X509_free(x);
		(*added)++;
	}
	ERR_clear_error();
	return 0;
}

static int load_anchors(X509_STORE *store, const char *ca)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int added = 0, files = 0, is_dir, err;

	if (stat(ca, &st) != 0)
		return tpa_err_fail(TPA_ERR_IO, "CA %s: %s", ca, strerror(errno));
	if (!(is_dir = S_ISDIR(st.st_mode))) {
		if ((err = add_ca_file(store, ca, &added)) < 0)
			return err;
	} else {
		if (!(d = opendir(ca)))
			return tpa_err_fail(TPA_ERR_IO, "CA directory %s: cannot open: %s", ca,
					    strerror(errno));
		while ((de = readdir(d)) && files < CA_FILES_MAX) {
			char path[4096];

			if (de->d_name[0] == '.')
				continue;
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", ca, de->d_name) >=
			    sizeof(path) || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
				continue;
			files++;
			if ((err = add_ca_file(store, path, &added)) < 0) {
				closedir(d);
				return err;
			}
		}
		closedir(d);
	}
	/* A file that is no certificate (a README, a key) is skipped; a
	 * directory where none is one trusts nobody and is refused. */
	if (added == 0)
		return tpa_err_fail(TPA_ERR_NOT_FOUND, files || !is_dir ?
				    "CA %s: no certificate in it (PEM or DER)" :
				    "CA directory %s: empty", ca);
	return 0;
}

/* The time policy for EK certificates: an expired certificate anywhere in the
 * chain is accepted. A vendor issues the EK certificate once, at manufacture,
 * with a validity it chose (ten years for STMicro's ST33, fifteen for
 * Infineon's SLB 9665), and the TPM and its EK stay genuine after that; the
 * key cannot be renewed. Only X509_V_ERR_CERT_HAS_EXPIRED is forgiven: a
 * certificate not yet valid is still refused, and every signature is still
 * checked. */
static int ek_verify_cb(int ok, X509_STORE_CTX *ctx)
{
	if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_CERT_HAS_EXPIRED)
		return 1;
	return ok;
}

struct tpa_ek_anchors {
	X509_STORE *store;
};

int tpa_ek_anchors_load(tpa_ek_anchors **out, const char *ca)
{
	tpa_ek_anchors *a;
	int err;

	if (!out || !ca)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "EK CA: none named");
	if (!(a = calloc(1, sizeof(*a))) || !(a->store = X509_STORE_new())) {
		free(a);
		return tpa_err_fail(TPA_ERR_NOMEM, "EK CA: out of memory");
	}
	if ((err = load_anchors(a->store, ca)) < 0) {
		tpa_ek_anchors_free(a);
		return err;
	}
	*out = a;
	return 0;
}

void tpa_ek_anchors_free(tpa_ek_anchors *a)
{
	if (!a)
		return;
	X509_STORE_free(a->store);
	free(a);
}

int tpa_ekcert_verify(const uint8_t *der, size_t n, const uint8_t *const *inter,
		      const size_t *inter_lens, size_t ninter, const char *ca_dir,
		      const TPMT_PUBLIC *ek)
{
	tpa_ek_anchors *a = NULL;
	int err;

	if (!ca_dir)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "EK certificate: missing input");
	if ((err = tpa_ek_anchors_load(&a, ca_dir)) < 0)
		return err;
	err = tpa_ekcert_verify_anchors(der, n, inter, inter_lens, ninter, a, ek);
	tpa_ek_anchors_free(a);
	return err;
}

int tpa_ekcert_verify_anchors(const uint8_t *der, size_t n, const uint8_t *const *inter,
			      const size_t *inter_lens, size_t ninter, const tpa_ek_anchors *anchors,
			      const TPMT_PUBLIC *ek)
{
	X509_STORE *store = anchors ? anchors->store : NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *chain = NULL;
	X509 *leaf = NULL;
	EVP_PKEY *ek_key = NULL, *cert_key;
	const unsigned char *p = der;
	size_t i;
	int err = TPA_ERR_VERIFY, rc;

	if (!der || !store || !ek || (ninter && (!inter || !inter_lens)))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "EK certificate: missing input");
	if (n == 0 || n > TPA_EKCERT_MAX)
		return tpa_err_fail(TPA_ERR_PARSE, "EK certificate of %zu bytes", n);
	if (!(leaf = d2i_X509(NULL, &p, (long)n)) || p != der + n) {
		err = tpa_err_fail(TPA_ERR_PARSE, "EK certificate: not one DER certificate");
		goto cleanup;
	}
	if (!(chain = sk_X509_new_null()) || !(ctx = X509_STORE_CTX_new())) {
		err = tpa_err_fail(TPA_ERR_NOMEM, "EK certificate: out of memory");
		goto cleanup;
	}
	for (i = 0; i < ninter; i++) {
		const unsigned char *q = inter[i];
		X509 *x;

		if (inter_lens[i] == 0 || inter_lens[i] > TPA_EKCERT_MAX ||
		    !(x = d2i_X509(NULL, &q, (long)inter_lens[i]))) {
			err = tpa_err_fail(TPA_ERR_PARSE, "EK intermediate %zu: not DER", i);
			goto cleanup;
		}
		if (!sk_X509_push(chain, x)) {
			X509_free(x);
			err = tpa_err_fail(TPA_ERR_NOMEM, "EK certificate: out of memory");
			goto cleanup;
		}
	}
	if (!X509_STORE_CTX_init(ctx, store, leaf, chain)) {
		err = tpa_err_fail(TPA_ERR_CRYPTO, "EK certificate: cannot set up verification");
		goto cleanup;
	}
	/* Every certificate in ca_dir is an anchor, self-signed or not: vendors
	 * publish "roots" that another CA cross-certified (STMicro's "STM TPM
	 * ECC Root CA 01" is issued by GlobalSign's TPM ECC root), and an
	 * administrator may trust one vendor intermediate alone. The client's
	 * intermediates stay untrusted and never end a chain. */
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
	X509_STORE_CTX_set_verify_cb(ctx, ek_verify_cb);
	/* EK certificates carry no server/client purpose; the chain and its
	 * signatures are what is checked. */
	rc = X509_verify_cert(ctx);
	if (rc != 1) {
		int e = X509_STORE_CTX_get_error(ctx);

		err = tpa_err_fail(TPA_ERR_VERIFY, "EK certificate does not chain to a trusted CA: %s",
				   X509_verify_cert_error_string(e));
		goto cleanup;
	}
	/* A partial chain may stop at the leaf itself if ca_dir holds it; the
	 * leaf's signature must always be checked by an issuer. */
	if (sk_X509_num(X509_STORE_CTX_get0_chain(ctx)) < 2) {
		err = tpa_err_fail(TPA_ERR_VERIFY, "EK certificate does not chain to a trusted CA: "
				   "it is itself in the CA directory, signed by no CA there");
		goto cleanup;
	}
	if ((err = tpa_public_to_pkey(&ek_key, ek)) < 0) {
		char why[512];

		/* tpa_err_last() is the buffer tpa_err_fail() writes: copy first. */
		snprintf(why, sizeof(why), "%s", tpa_err_last());
		err = tpa_err_fail(TPA_ERR_VERIFY, "EK public: %s", why);
		goto cleanup;
	}
	cert_key = X509_get0_pubkey(leaf);
	if (!cert_key || EVP_PKEY_eq(cert_key, ek_key) != 1) {
		err = tpa_err_fail(TPA_ERR_VERIFY,
				   "the EK certificate's public key is not the EK's");
		goto cleanup;
	}
	err = 0;
cleanup:
	ERR_clear_error();
	EVP_PKEY_free(ek_key);
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(chain, X509_free);
	X509_free(leaf);
	return err;
}

/* The value "id:XXXXXXXX" as the four ASCII letters it spells ("IFX",
 * "STM", "INTC"), or as it is when those are not letters (swtpm's PCI-style
 * "id:00001014"). */
static void manufacturer_text(char *out, size_t cap, const unsigned char *v, size_t n)
{
	char raw[24];
	size_t i, k = 0;
	int letters = 1;

	if (n >= sizeof(raw))
		n = sizeof(raw) - 1;
	for (i = 0; i < n; i++)
		raw[i] = v[i] >= 0x20 && v[i] < 0x7f ? (char)v[i] : '?';
	raw[n] = '\0';
	snprintf(out, cap, "%s", raw);
	if (n != 11 || strncmp(raw, "id:", 3) != 0)
		return;
	for (i = 0; i < 4; i++) {
		int hi = tpa_hex_digit(raw[3 + 2 * i]), lo = tpa_hex_digit(raw[4 + 2 * i]);
		int c = hi < 0 || lo < 0 ? -1 : hi << 4 | lo;

		if (c < 0 || (c && c != ' ' && !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
						 (c >= '0' && c <= '9')))) {
			letters = 0;
			break;
		}
		if (c && c != ' ' && k + 1 < cap)
			out[k++] = (char)c;
	}
	if (letters && k) {
		out[k] = '\0';
		return;
	}
	snprintf(out, cap, "%s", raw);
}

int tpa_ekcert_manufacturer(char *out, size_t cap, const uint8_t *der, size_t n)
{
	const unsigned char *p = der;
	X509 *x = NULL;
	GENERAL_NAMES *gens = NULL;
	ASN1_OBJECT *oid = NULL;
	int i, err = TPA_ERR_NOT_FOUND;

	if (!out || !cap || !der)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "EK certificate manufacturer: NULL");
	out[0] = '\0';
	if (n > TPA_EKCERT_MAX || !(x = d2i_X509(NULL, &p, (long)n)) || p != der + n) {
		X509_free(x);
		ERR_clear_error();
		return tpa_err_fail(TPA_ERR_PARSE, "EK certificate: not one DER certificate");
	}
	/* tcg-at-tpmManufacturer in the SAN's directoryName (TCG EK Credential
	 * Profile). */
	if (!(oid = OBJ_txt2obj("2.23.133.2.1", 1)))
		goto cleanup;
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens) && err; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		int idx;

		if (g->type != GEN_DIRNAME ||
		    (idx = X509_NAME_get_index_by_OBJ(g->d.directoryName, oid, -1)) < 0)
			continue;
		{
			const ASN1_STRING *v = X509_NAME_ENTRY_get_data(
				X509_NAME_get_entry(g->d.directoryName, idx));

			if (v) {
				manufacturer_text(out, cap, ASN1_STRING_get0_data(v),
						  (size_t)ASN1_STRING_length(v));
				err = 0;
			}
		}
	}
cleanup:
	if (err)
		tpa_err_set("EK certificate: no TPM manufacturer in its subject alternative name");
	GENERAL_NAMES_free(gens);
	ASN1_OBJECT_free(oid);
	X509_free(x);
	ERR_clear_error();
	return err;
}

int tpa_kdfa(uint8_t *out, TPM2_ALG_ID hash, const uint8_t *key, size_t key_len,
	     const char *label, const uint8_t *cu, size_t ul, const uint8_t *cv,
	     size_t vl, uint32_t bits)
{
	const char *name = tpa_hash_name(hash);
	size_t hs = tpa_hash_size(hash), done = 0, want = bits / 8;
	uint32_t counter = 0;
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	int err = TPA_ERR_CRYPTO;

	if (!out || !name || !hs || bits == 0 || bits % 8 || !label)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "KDFa: bad arguments");
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)name, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!(mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) || !(ctx = EVP_MAC_CTX_new(mac)))
		goto cleanup;
	while (done < want) {
		uint8_t blk[TPA_DIGEST_MAX], be[4], bb[4];
		size_t outl = 0, take;

		counter++;
		be[0] = (uint8_t)(counter >> 24); be[1] = (uint8_t)(counter >> 16);
		be[2] = (uint8_t)(counter >> 8); be[3] = (uint8_t)counter;
		bb[0] = (uint8_t)(bits >> 24); bb[1] = (uint8_t)(bits >> 16);
		bb[2] = (uint8_t)(bits >> 8); bb[3] = (uint8_t)bits;
		if (!EVP_MAC_init(ctx, key, key_len, params) ||
		    !EVP_MAC_update(ctx, be, 4) ||
		    !EVP_MAC_update(ctx, (const uint8_t *)label, strlen(label) + 1) ||
		    (ul && !EVP_MAC_update(ctx, cu, ul)) ||
		    (vl && !EVP_MAC_update(ctx, cv, vl)) ||
		    !EVP_MAC_update(ctx, bb, 4) ||
		    !EVP_MAC_final(ctx, blk, &outl, sizeof(blk)) || outl != hs)
			goto cleanup;
		take = want - done < hs ? want - done : hs;
		memcpy(out + done, blk, take);
		done += take;
	}
	err = 0;
cleanup:
	if (err)
		tpa_err_set("KDFa: HMAC failed");
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return err;
}

static int hmac(uint8_t *out, TPM2_ALG_ID hash, const uint8_t *key, size_t kl,
		const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	OSSL_PARAM params[2];
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	size_t outl = 0;
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)tpa_hash_name(hash), 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = (mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) && (ctx = EVP_MAC_CTX_new(mac)) &&
	     EVP_MAC_init(ctx, key, kl, params) && EVP_MAC_update(ctx, a, al) &&
	     EVP_MAC_update(ctx, b, bl) &&
	     EVP_MAC_final(ctx, out, &outl, TPA_DIGEST_MAX) && outl == tpa_hash_size(hash);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok ? 0 : tpa_err_fail(TPA_ERR_CRYPTO, "HMAC failed");
}

int tpa_kdfe(uint8_t *out, TPM2_ALG_ID hash, const uint8_t *z, size_t zl,
	     const char *label, const uint8_t *u, size_t ul, const uint8_t *v, size_t vl,
	     uint32_t bits)
{
	const EVP_MD *md = tpa_hash_md(hash);
	size_t hs = tpa_hash_size(hash), done = 0, want = bits / 8;
	uint32_t counter = 0;
	EVP_MD_CTX *ctx = NULL;
	int err = TPA_ERR_CRYPTO;

	if (!out || !md || !hs || !z || bits == 0 || bits % 8 || !label || (ul && !u) ||
	    (vl && !v))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "KDFe: bad arguments");
	if (!(ctx = EVP_MD_CTX_new()))
		goto cleanup;
	while (done < want) {
		uint8_t blk[TPA_DIGEST_MAX], be[4];
		size_t take;

		counter++;
		be[0] = (uint8_t)(counter >> 24); be[1] = (uint8_t)(counter >> 16);
		be[2] = (uint8_t)(counter >> 8); be[3] = (uint8_t)counter;
		if (!EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, be, 4) ||
		    !EVP_DigestUpdate(ctx, z, zl) ||
		    !EVP_DigestUpdate(ctx, label, strlen(label) + 1) ||
		    (ul && !EVP_DigestUpdate(ctx, u, ul)) ||
		    (vl && !EVP_DigestUpdate(ctx, v, vl)) ||
		    !EVP_DigestFinal_ex(ctx, blk, NULL))
			goto cleanup;
		take = want - done < hs ? want - done : hs;
		memcpy(out + done, blk, take);
		OPENSSL_cleanse(blk, sizeof(blk));
		done += take;
	}
	err = 0;
cleanup:
	if (err)
		tpa_err_set("KDFe: hashing failed");
	EVP_MD_CTX_free(ctx);
	return err;
}

/* The seed for an RSA EK: random, wrapped with RSA-OAEP with the EK's
 * nameAlg and the label "IDENTITY" (with its NUL). */
static int seed_rsa(uint8_t *seed, size_t hs, uint8_t *wrapped, size_t *wl,
		    const TPMT_PUBLIC *ek)
{
	EVP_PKEY *key = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	char *label = NULL;
	int err;

	if (RAND_bytes(seed, (int)hs) != 1)
		return tpa_err_fail(TPA_ERR_CRYPTO, "MakeCredential: no random bytes");
	if ((err = tpa_public_to_pkey(&key, ek)) < 0)
		return err;
	err = TPA_ERR_CRYPTO;
	if (!(label = OPENSSL_malloc(9)))
		goto cleanup;
	memcpy(label, "IDENTITY", 9);
	if (!(pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) ||
	    EVP_PKEY_encrypt_init(pctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(pctx, tpa_hash_md(ek->nameAlg)) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, tpa_hash_md(ek->nameAlg)) <= 0 ||
	    EVP_PKEY_CTX_set0_rsa_oaep_label(pctx, label, 9) <= 0)
		goto cleanup;
	label = NULL; /* owned by pctx now */
	if (EVP_PKEY_encrypt(pctx, wrapped, wl, seed, hs) <= 0)
		goto cleanup;
	err = 0;
cleanup:
	if (err)
		tpa_err_set("MakeCredential: RSA-OAEP failed");
	OPENSSL_free(label);
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(key);
	return err;
}

/* The seed for an ECC EK (TPM 2.0 Part 1, C.6.4): one-pass ECDH with an
 * ephemeral key on the EK's curve, seed = KDFe(nameAlg, Z, "IDENTITY",
 * ephemeral x, EK x); the "wrapped" seed is the ephemeral point, a marshaled
 * TPMS_ECC_POINT with coordinates as long as the field. */
static int seed_ecc(uint8_t *seed, size_t hs, uint8_t *point, size_t *pl,
		    const TPMT_PUBLIC *ek)
{
	const char *curve;
	size_t fs, zl = 0;
	uint8_t z[66], x[66], y[66];
	EVP_PKEY *key = NULL, *eph = NULL;
	EVP_PKEY_CTX *dctx = NULL;
	BIGNUM *bx = NULL, *by = NULL;
	int err;

	switch (ek->parameters.eccDetail.curveID) {
	case TPM2_ECC_NIST_P256: curve = "P-256"; fs = 32; break;
	case TPM2_ECC_NIST_P384: curve = "P-384"; fs = 48; break;
	case TPM2_ECC_NIST_P521: curve = "P-521"; fs = 66; break;
	default:
		return tpa_err_fail(TPA_ERR_VERIFY, "EK: curve 0x%04x not accepted",
				    ek->parameters.eccDetail.curveID);
	}
	if (*pl < 4 + 2 * fs)
		return tpa_err_fail(TPA_ERR_INTERNAL, "MakeCredential: point buffer too small");
	if ((err = tpa_public_to_pkey(&key, ek)) < 0)
		return err;
	err = TPA_ERR_CRYPTO;
	if (!(eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve)) ||
	    !(dctx = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL)) ||
	    EVP_PKEY_derive_init(dctx) <= 0 || EVP_PKEY_derive_set_peer(dctx, key) <= 0)
		goto cleanup;
	zl = sizeof(z);
	if (EVP_PKEY_derive(dctx, z, &zl) <= 0 || zl != fs ||
	    !EVP_PKEY_get_bn_param(eph, OSSL_PKEY_PARAM_EC_PUB_X, &bx) ||
	    !EVP_PKEY_get_bn_param(eph, OSSL_PKEY_PARAM_EC_PUB_Y, &by) ||
	    BN_bn2binpad(bx, x, (int)fs) != (int)fs || BN_bn2binpad(by, y, (int)fs) != (int)fs)
		goto cleanup;
	if ((err = tpa_kdfe(seed, ek->nameAlg, z, zl, "IDENTITY", x, fs,
			    ek->unique.ecc.x.buffer, ek->unique.ecc.x.size,
			    (uint32_t)(hs * 8))) < 0)
		goto cleanup;
	point[0] = (uint8_t)(fs >> 8);
	point[1] = (uint8_t)fs;
	memcpy(point + 2, x, fs);
	point[2 + fs] = (uint8_t)(fs >> 8);
	point[3 + fs] = (uint8_t)fs;
	memcpy(point + 4 + fs, y, fs);
	*pl = 4 + 2 * fs;
	err = 0;
cleanup:
	if (err == TPA_ERR_CRYPTO)
		tpa_err_set("MakeCredential: ECDH failed");
	OPENSSL_cleanse(z, sizeof(z));
	BN_free(bx);
	BN_free(by);
	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_free(eph);
	EVP_PKEY_free(key);
	return err;
}

int tpa_credential_make(uint8_t *id_object, size_t *id_len, uint8_t *enc_secret,
			size_t *enc_len, const TPMT_PUBLIC *ek, const uint8_t *ak_name,
			size_t name_len, const uint8_t *cred, size_t cred_len)
{
	TPM2_ALG_ID nh;
	size_t hs, off, sym_bits, el = 0;
	uint8_t seed[TPA_DIGEST_MAX], sym[32], hkey[TPA_DIGEST_MAX];
	uint8_t plain[2 + TPA_CREDENTIAL_MAX], enc[2 + TPA_CREDENTIAL_MAX];
	uint8_t iv[16] = { 0 }, outer[TPA_DIGEST_MAX], wrapped[512];
	const TPMT_SYM_DEF_OBJECT *symdef;
	EVP_CIPHER_CTX *cctx = NULL;
	EVP_CIPHER *cipher = NULL;
	int outl = 0, fin = 0, err = TPA_ERR_CRYPTO;

	if (!id_object || !id_len || !enc_secret || !enc_len || !ek || !ak_name || !cred)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "MakeCredential: missing input");
	if (cred_len == 0 || cred_len > TPA_CREDENTIAL_MAX || name_len < 2 ||
	    name_len > 2 + TPA_DIGEST_MAX)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "MakeCredential: bad sizes");
	if (ek->type != TPM2_ALG_RSA && ek->type != TPM2_ALG_ECC)
		return tpa_err_fail(TPA_ERR_VERIFY, "EK: type 0x%04x is neither RSA nor ECC",
				    ek->type);
	nh = ek->nameAlg;
	hs = tpa_hash_size(nh);
	if (!hs || nh == TPM2_ALG_SHA1)
		return tpa_err_fail(TPA_ERR_VERIFY, "EK nameAlg 0x%04x not accepted", nh);
	symdef = ek->type == TPM2_ALG_RSA ? &ek->parameters.rsaDetail.symmetric :
		&ek->parameters.eccDetail.symmetric;
	if (symdef->algorithm != TPM2_ALG_AES || symdef->mode.aes != TPM2_ALG_CFB ||
	    (symdef->keyBits.aes != 128 && symdef->keyBits.aes != 256))
		return tpa_err_fail(TPA_ERR_VERIFY, "EK: symmetric scheme is not AES-CFB");
	sym_bits = symdef->keyBits.aes;

	/* The seed, and what lets only the EK's TPM recover it. */
	el = sizeof(wrapped);
	if ((err = ek->type == TPM2_ALG_RSA ? seed_rsa(seed, hs, wrapped, &el, ek) :
		   seed_ecc(seed, hs, wrapped, &el, ek)) < 0)
		goto cleanup;

	/* The credential as a TPM2B_DIGEST, encrypted with a key from the seed
	 * bound to the AK's name, then an HMAC over it and the name. */
	if ((err = tpa_kdfa(sym, nh, seed, hs, "STORAGE", ak_name, name_len, NULL, 0,
			    (uint32_t)sym_bits)) < 0 ||
	    (err = tpa_kdfa(hkey, nh, seed, hs, "INTEGRITY", NULL, 0, NULL, 0,
			    (uint32_t)(hs * 8))) < 0)
		goto cleanup;
	plain[0] = (uint8_t)(cred_len >> 8);
	plain[1] = (uint8_t)cred_len;
	memcpy(plain + 2, cred, cred_len);
	if (!(cipher = EVP_CIPHER_fetch(NULL, sym_bits == 128 ? "AES-128-CFB" : "AES-256-CFB",
					NULL)) ||
	    !(cctx = EVP_CIPHER_CTX_new()) ||
	    !EVP_EncryptInit_ex2(cctx, cipher, sym, iv, NULL) ||
	    !EVP_EncryptUpdate(cctx, enc, &outl, plain, (int)(2 + cred_len)) ||
	    !EVP_EncryptFinal_ex(cctx, enc + outl, &fin)) {
		err = tpa_err_fail(TPA_ERR_CRYPTO, "MakeCredential: AES-CFB failed");
		goto cleanup;
	}
	if ((err = hmac(outer, nh, hkey, hs, enc, (size_t)(outl + fin), ak_name, name_len)) < 0)
		goto cleanup;

	/* TPM2B_ID_OBJECT: size, then TPM2B_DIGEST(outer HMAC), then encIdentity. */
	off = 2;
	id_object[off++] = (uint8_t)(hs >> 8);
	id_object[off++] = (uint8_t)hs;
	memcpy(id_object + off, outer, hs);
	off += hs;
	memcpy(id_object + off, enc, (size_t)(outl + fin));
	off += (size_t)(outl + fin);
	id_object[0] = (uint8_t)((off - 2) >> 8);
	id_object[1] = (uint8_t)(off - 2);
	*id_len = off;
	/* TPM2B_ENCRYPTED_SECRET */
	enc_secret[0] = (uint8_t)(el >> 8);
	enc_secret[1] = (uint8_t)el;
	memcpy(enc_secret + 2, wrapped, el);
	*enc_len = 2 + el;
	err = 0;
cleanup:
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(sym, sizeof(sym));
	OPENSSL_cleanse(hkey, sizeof(hkey));
	OPENSSL_cleanse(plain, sizeof(plain));
	EVP_CIPHER_CTX_free(cctx);
	EVP_CIPHER_free(cipher);
	ERR_clear_error();
	return err;
}

/* ---- EK templates (TCG EK Credential Profile, annex B) ---- */

/* Policy A: PolicySecret(TPM_RH_ENDORSEMENT), low range. Policy B: the OR
 * of policy A and policy C, high range, in the template's name algorithm. */
static const uint8_t policy_a_sha256[32] = {
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7,
	0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14,
	0x69, 0xaa,
};
static const uint8_t policy_b_sha256[32] = {
	0xca, 0x3d, 0x0a, 0x99, 0xa2, 0xb9, 0x39, 0x06, 0xf7, 0xa3, 0x34, 0x24, 0x14, 0xef, 0xcf,
	0xb3, 0xa3, 0x85, 0xd4, 0x4c, 0xd1, 0xfd, 0x45, 0x90, 0x89, 0xd1, 0x9b, 0x50, 0x71, 0xc0,
	0xb7, 0xa0,
};
static const uint8_t policy_b_sha384[48] = {
	0xb2, 0x6e, 0x7d, 0x28, 0xd1, 0x1a, 0x50, 0xbc, 0x53, 0xd8, 0x82, 0xbc, 0xf5, 0xfd, 0x3a,
	0x1a, 0x07, 0x41, 0x48, 0xbb, 0x35, 0xd3, 0xb4, 0xe4, 0xcb, 0x1c, 0x0a, 0xd9, 0xbd, 0xe4,
	0x19, 0xca, 0xcb, 0x47, 0xba, 0x09, 0x69, 0x96, 0x46, 0x15, 0x0f, 0x9f, 0xc0, 0x00, 0xf3,
	0xf8, 0x0e, 0x12,
};
static const uint8_t policy_b_sha512[64] = {
	0xb8, 0x22, 0x1c, 0xa6, 0x9e, 0x85, 0x50, 0xa4, 0x91, 0x4d, 0xe3, 0xfa, 0xa6, 0xa1, 0x8c,
	0x07, 0x2c, 0xc0, 0x12, 0x08, 0x07, 0x3a, 0x92, 0x8d, 0x5d, 0x66, 0xd5, 0x9e, 0xf7, 0x9e,
	0x49, 0xa4, 0x29, 0xc4, 0x1a, 0x6b, 0x26, 0x95, 0x71, 0xd5, 0x7e, 0xdb, 0x25, 0xfb, 0xdb,
	0x18, 0x38, 0x42, 0x56, 0x08, 0xb4, 0x13, 0xcd, 0x61, 0x6a, 0x5f, 0x6d, 0xb5, 0xb6, 0x07,
	0x1a, 0xf9, 0x9b, 0xea,
};

static const struct {
	const char *name;
	TPMI_ALG_PUBLIC type;
	TPMI_ALG_HASH name_alg;
	int high;                 /* userWithAuth, policy B, empty unique */
	uint16_t bits;            /* RSA key bits, or the AES key bits for ECC */
	uint16_t aes;
	TPMI_ECC_CURVE curve;
	const uint8_t *policy;
	uint16_t policy_len;
} templates[TPA_EK_TEMPLATE_COUNT] = {
	[TPA_EK_TEMPLATE_L1] = { "L-1", TPM2_ALG_RSA, TPM2_ALG_SHA256, 0, 2048, 128, 0,
				 policy_a_sha256, 32 },
	[TPA_EK_TEMPLATE_L2] = { "L-2", TPM2_ALG_ECC, TPM2_ALG_SHA256, 0, 0, 128,
				 TPM2_ECC_NIST_P256, policy_a_sha256, 32 },
	[TPA_EK_TEMPLATE_H1] = { "H-1", TPM2_ALG_RSA, TPM2_ALG_SHA256, 1, 2048, 128, 0,
				 policy_b_sha256, 32 },
	[TPA_EK_TEMPLATE_H2] = { "H-2", TPM2_ALG_ECC, TPM2_ALG_SHA256, 1, 0, 128,
				 TPM2_ECC_NIST_P256, policy_b_sha256, 32 },
	[TPA_EK_TEMPLATE_H3] = { "H-3", TPM2_ALG_ECC, TPM2_ALG_SHA384, 1, 0, 256,
				 TPM2_ECC_NIST_P384, policy_b_sha384, 48 },
	[TPA_EK_TEMPLATE_H4] = { "H-4", TPM2_ALG_ECC, TPM2_ALG_SHA512, 1, 0, 256,
				 TPM2_ECC_NIST_P521, policy_b_sha512, 64 },
	[TPA_EK_TEMPLATE_H6] = { "H-6", TPM2_ALG_RSA, TPM2_ALG_SHA384, 1, 3072, 256, 0,
				 policy_b_sha384, 48 },
	[TPA_EK_TEMPLATE_H7] = { "H-7", TPM2_ALG_RSA, TPM2_ALG_SHA384, 1, 4096, 256, 0,
				 policy_b_sha384, 48 },
};

const char *tpa_ek_template_name(tpa_ek_template_id id)
{
	return id > TPA_EK_TEMPLATE_NONE && id < TPA_EK_TEMPLATE_COUNT ? templates[id].name :
		"none";
}

int tpa_ek_template(TPMT_PUBLIC *a, tpa_ek_template_id id)
{
	if (!a || id <= TPA_EK_TEMPLATE_NONE || id >= TPA_EK_TEMPLATE_COUNT)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "EK template: unknown");
	memset(a, 0, sizeof(*a));
	a->type = templates[id].type;
	a->nameAlg = templates[id].name_alg;
	a->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
		TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
		TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	if (templates[id].high)
		a->objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	a->authPolicy.size = templates[id].policy_len;
	memcpy(a->authPolicy.buffer, templates[id].policy, templates[id].policy_len);
	if (a->type == TPM2_ALG_ECC) {
		TPMS_ECC_PARMS *e = &a->parameters.eccDetail;

		e->symmetric.algorithm = TPM2_ALG_AES;
		e->symmetric.keyBits.aes = templates[id].aes;
		e->symmetric.mode.aes = TPM2_ALG_CFB;
		e->scheme.scheme = TPM2_ALG_NULL;
		e->curveID = templates[id].curve;
		e->kdf.scheme = TPM2_ALG_NULL;
		/* Low-range templates pad unique with zeros; high-range ones
		 * leave it empty. */
		if (!templates[id].high)
			a->unique.ecc.x.size = a->unique.ecc.y.size = 32;
		return 0;
	}
	a->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
	a->parameters.rsaDetail.symmetric.keyBits.aes = templates[id].aes;
	a->parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	a->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	a->parameters.rsaDetail.keyBits = templates[id].bits;
	a->parameters.rsaDetail.exponent = 0;
	if (!templates[id].high)
		a->unique.rsa.size = 256;
	return 0;
}

/* What differs between an EK and a template, "" if nothing but the key. */
static const char *template_diff(const TPMT_PUBLIC *k, const TPMT_PUBLIC *t)
{
	if (k->type != t->type)
		return "key type";
	if (k->nameAlg != t->nameAlg)
		return "name algorithm";
	if (k->objectAttributes != t->objectAttributes)
		return "object attributes";
	if (k->authPolicy.size != t->authPolicy.size ||
	    memcmp(k->authPolicy.buffer, t->authPolicy.buffer, t->authPolicy.size) != 0)
		return "authPolicy";
	if (t->type == TPM2_ALG_ECC) {
		const TPMS_ECC_PARMS *a = &k->parameters.eccDetail, *b = &t->parameters.eccDetail;

		if (a->curveID != b->curveID)
			return "curve";
		if (a->symmetric.algorithm != b->symmetric.algorithm ||
		    a->symmetric.keyBits.aes != b->symmetric.keyBits.aes ||
		    a->symmetric.mode.aes != b->symmetric.mode.aes)
			return "symmetric algorithm";
		if (a->scheme.scheme != TPM2_ALG_NULL || a->kdf.scheme != TPM2_ALG_NULL)
			return "scheme";
		return "";
	}
	if (k->parameters.rsaDetail.keyBits != t->parameters.rsaDetail.keyBits)
		return "key size";
	if (k->parameters.rsaDetail.symmetric.algorithm != TPM2_ALG_AES ||
	    k->parameters.rsaDetail.symmetric.keyBits.aes !=
		    t->parameters.rsaDetail.symmetric.keyBits.aes ||
	    k->parameters.rsaDetail.symmetric.mode.aes != TPM2_ALG_CFB)
		return "symmetric algorithm";
	if (k->parameters.rsaDetail.scheme.scheme != TPM2_ALG_NULL)
		return "scheme";
	if (k->parameters.rsaDetail.exponent != 0)
		return "exponent (a template's is 0, the default)";
	return "";
}

int tpa_ek_check_template(tpa_ek_template_id *out, const TPMT_PUBLIC *ek)
{
	static const char *const order[] = { "key type", "name algorithm", "curve", "key size",
					     "object attributes", "authPolicy",
					     "symmetric algorithm", "scheme", "exponent" };
	int id, best = TPA_EK_TEMPLATE_NONE, best_rank = -1;
	const char *why = "key type";

	if (!ek)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "EK template: NULL");
	for (id = TPA_EK_TEMPLATE_NONE + 1; id < TPA_EK_TEMPLATE_COUNT; id++) {
		TPMT_PUBLIC t;
		const char *d;
		int rank;
		size_t k;

		tpa_ek_template(&t, (tpa_ek_template_id)id);
		if (!*(d = template_diff(ek, &t))) {
			if (out)
				*out = (tpa_ek_template_id)id;
			return 0;
		}
		/* The closest template is the one that differs latest. */
		for (k = 0, rank = 0; k < sizeof(order) / sizeof(order[0]); k++)
			if (strncmp(d, order[k], strlen(order[k])) == 0)
				rank = (int)k;
		if (rank > best_rank) {
			best_rank = rank;
			best = id;
			why = d;
		}
	}
	if (out)
		*out = TPA_EK_TEMPLATE_NONE;
	if (best == TPA_EK_TEMPLATE_NONE || best_rank == 0)
		return tpa_err_fail(TPA_ERR_VERIFY, "the EK public area follows no TCG EK template "
				    "(its key type or name algorithm is none of theirs)");
	return tpa_err_fail(TPA_ERR_VERIFY, "the EK public area is not a TCG EK template: its %s "
			    "differs from template %s's", why, templates[best].name);
}

int tpa_ek_device_id(char *out, const TPMT_PUBLIC *ek)
{
	EVP_PKEY *key = NULL;
	unsigned char *der = NULL;
	uint8_t dg[32];
	int n, err;

	if (!out || !ek)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "device id: NULL");
	if ((err = tpa_public_to_pkey(&key, ek)) < 0)
		return err;
	n = i2d_PUBKEY(key, &der);
	EVP_PKEY_free(key);
	if (n <= 0) {
		ERR_clear_error();
		return tpa_err_fail(TPA_ERR_CRYPTO, "device id: cannot encode the EK's key");
	}
	err = tpa_hash(dg, TPM2_ALG_SHA256, der, (size_t)n);
	OPENSSL_free(der);
	if (err < 0)
		return err;
	tpa_hex(out, dg, sizeof(dg));
	return 0;
}

int tpa_ek_device_id_of(char *out, const uint8_t *ek_public, size_t n)
{
	TPMT_PUBLIC ek;
	int err;

	if ((err = tpa_decode_public(&ek, ek_public, n)) < 0)
		return err;
	return tpa_ek_device_id(out, &ek);
}
