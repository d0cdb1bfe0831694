/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "tpa/err.h"
#include "tpa/token.h"
#include "tpa/tpm_decode.h"

#define JWK_FILE_MAX 8192
#define KID_MAX 64

struct tpa_token_key {
	cjose_jwk_t *jwk;
	char kid[KID_MAX];
};

static int cj_fail(const char *what, const cjose_err *e)
{
	return tpa_err_fail(TPA_ERR_CRYPTO, "%s: %s", what,
			    e && e->message ? e->message : "cjose error");
}

static int b64url(char *out, size_t cap, const uint8_t *b, size_t n)
{
	char *enc = NULL;
	size_t len = 0;
	cjose_err e;

	if (!cjose_base64url_encode(b, n, &enc, &len, &e))
		return cj_fail("base64url", &e);
	if (len >= cap) {
		cjose_get_dealloc()(enc);
		return tpa_err_fail(TPA_ERR_LIMIT, "base64url: too long");
	}
	memcpy(out, enc, len);
	out[len] = '\0';
	cjose_get_dealloc()(enc);
	return 0;
}

/* RFC 7638 thumbprint of an EC key: SHA-256 over the required members in
 * lexicographic order, no white space. */
static int thumbprint(tpa_token_key *k)
{
	char *pub = NULL, canon[512];
	json_t *j = NULL;
	const char *crv, *x, *y;
	uint8_t dg[32];
	cjose_err e;
	int n, err;

	if (!(pub = cjose_jwk_to_json(k->jwk, false, &e)))
		return cj_fail("JWK export", &e);
	j = json_loads(pub, 0, NULL);
	cjose_get_dealloc()(pub);
	if (!j || json_unpack(j, "{s:s, s:s, s:s}", "crv", &crv, "x", &x, "y", &y) != 0) {
		json_decref(j);
		return tpa_err_fail(TPA_ERR_PARSE, "JWK: not an EC key");
	}
	n = snprintf(canon, sizeof(canon),
		     "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", crv, x, y);
	json_decref(j);
	if (n < 0 || (size_t)n >= sizeof(canon))
		return tpa_err_fail(TPA_ERR_LIMIT, "JWK: too long");
	if ((err = tpa_hash(dg, TPM2_ALG_SHA256, (const uint8_t *)canon, (size_t)n)) < 0)
		return err;
	if ((err = b64url(k->kid, sizeof(k->kid), dg, sizeof(dg))) < 0)
		return err;
	if (!cjose_jwk_set_kid(k->jwk, k->kid, strlen(k->kid), &e))
		return cj_fail("JWK kid", &e);
	return 0;
}

static int key_wrap(tpa_token_key **out, cjose_jwk_t *jwk)
{
	tpa_token_key *k;
	int err;

	if (cjose_jwk_get_kty(jwk, NULL) != CJOSE_JWK_KTY_EC) {
		cjose_jwk_release(jwk);
		return tpa_err_fail(TPA_ERR_PARSE, "token key: not an EC key");
	}
	if (!(k = calloc(1, sizeof(*k)))) {
		cjose_jwk_release(jwk);
		return tpa_err_fail(TPA_ERR_NOMEM, "token key: out of memory");
	}
	k->jwk = jwk;
	if ((err = thumbprint(k)) < 0) {
		tpa_token_key_free(k);
		return err;
	}
	*out = k;
	return 0;
}

int tpa_token_key_new(tpa_token_key **out)
{
	cjose_jwk_t *jwk;
	cjose_err e;

	if (!out)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token key: NULL");
	if (!(jwk = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &e)))
		return cj_fail("token key: generate", &e);
	return key_wrap(out, jwk);
}

static int write_private(const char *path, const tpa_token_key *k)
{
	char *json;
	size_t len, done = 0;
	ssize_t w;
	cjose_err e;
	int fd, err = 0;

	if (!(json = cjose_jwk_to_json(k->jwk, true, &e)))
		return cj_fail("token key: export", &e);
	len = strlen(json);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = tpa_err_fail(TPA_ERR_IO, "token key %s: %s", path, strerror(errno));
	} else {
		while (done < len && (w = write(fd, json + done, len - done)) > 0)
			done += (size_t)w;
		if (done != len || fsync(fd) != 0)
			err = tpa_err_fail(TPA_ERR_IO, "token key %s: write failed", path);
		close(fd);
	}
	OPENSSL_cleanse(json, len);
	cjose_get_dealloc()(json);
	return err;
}

int tpa_token_key_load(tpa_token_key **out, const char *path, int create)
{
	char buf[JWK_FILE_MAX + 1];
	cjose_jwk_t *jwk;
	cjose_err e;
	size_t n;
	FILE *f;
	int err;

	if (!out || !path)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token key: no path");
	if (!(f = fopen(path, "rb"))) {
		tpa_token_key *k = NULL;

		if (errno != ENOENT || !create)
			return tpa_err_fail(TPA_ERR_IO, "token key %s: %s", path,
					    strerror(errno));
		if ((err = tpa_token_key_new(&k)) < 0)
			return err;
		if ((err = write_private(path, k)) < 0) {
			tpa_token_key_free(k);
			return err;
		}
		*out = k;
		return 0;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n > JWK_FILE_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "token key %s: larger than %d bytes",
				    path, JWK_FILE_MAX);
	jwk = cjose_jwk_import(buf, n, &e);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (!jwk)
		return tpa_err_fail(TPA_ERR_PARSE, "token key %s: not a JWK", path);
	if (!cjose_jwk_get_keydata(jwk, NULL)) {
		cjose_jwk_release(jwk);
		return tpa_err_fail(TPA_ERR_PARSE, "token key %s: no key", path);
	}
	return key_wrap(out, jwk);
}

void tpa_token_key_free(tpa_token_key *k)
{
	if (!k)
		return;
	cjose_jwk_release(k->jwk);
	free(k);
}

const char *tpa_token_key_id(const tpa_token_key *k)
{
	return k ? k->kid : "";
}

int tpa_token_key_public_jwk(char **out, const tpa_token_key *k)
{
	char *json, *copy;
	cjose_err e;

	if (!out || !k)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "public JWK: NULL");
	if (!(json = cjose_jwk_to_json(k->jwk, false, &e)))
		return cj_fail("public JWK", &e);
	copy = strdup(json);
	cjose_get_dealloc()(json);
	if (!copy)
		return tpa_err_fail(TPA_ERR_NOMEM, "public JWK: out of memory");
	*out = copy;
	return 0;
}

static json_t *claims_json(const tpa_token_claims *c)
{
	json_t *j = json_object(), *failed = json_array();
	char nonce[128];
	size_t i;

	if (!j || !failed)
		goto fail;
	if (json_object_set_new(j, "iss", json_string(c->issuer ? c->issuer : "tpm-attest")) ||
	    json_object_set_new(j, "iat", json_integer(c->iat)) ||
	    json_object_set_new(j, "exp", json_integer(c->iat + (int64_t)c->ttl_s)) ||
	    json_object_set_new(j, "tpa.status",
				json_string(c->compliant ? "compliant" : "non-compliant")))
		goto fail;
	if (c->nonce && c->nonce_len) {
		if (b64url(nonce, sizeof(nonce), c->nonce, c->nonce_len) < 0 ||
		    json_object_set_new(j, "eat_nonce", json_string(nonce)))
			goto fail;
	}
	if (c->ak_name_hex &&
	    json_object_set_new(j, "tpa.ak_name", json_string(c->ak_name_hex)))
		goto fail;
	for (i = 0; c->findings && i < c->findings->n; i++) {
		const tpa_check *k = &c->findings->items[i];
		char line[TPA_CHECK_NAME_MAX + TPA_CHECK_DETAIL_MAX + 4];

		if (k->passed)
			continue;
		snprintf(line, sizeof(line), "%s: %s", k->name, k->detail);
		if (json_array_append_new(failed, json_string(line)))
			goto fail;
	}
	for (i = 0; c->appraisal && i < TPA_RULE_COUNT; i++) {
		const tpa_rule_result *r = &c->appraisal->rules[i];
		char line[32 + TPA_RULE_DETAIL_MAX];

		if (r->status != TPA_RULE_FAIL)
			continue;
		snprintf(line, sizeof(line), "baseline %s: %s", tpa_rule_name(r->rule), r->detail);
		if (json_array_append_new(failed, json_string(line)))
			goto fail;
	}
	if (c->outcome && strcmp(c->outcome, "no-baseline") == 0 &&
	    json_array_append_new(failed, json_string("no baseline applies to the device")))
		goto fail;
	if ((c->outcome && json_object_set_new(j, "tpa.outcome", json_string(c->outcome))) ||
	    (c->baseline && json_object_set_new(j, "tpa.baseline", json_string(c->baseline))))
		goto fail;
	if (json_object_set_new(j, "tpa.reasons", failed))
		goto fail_j;
	return j;
fail:
	json_decref(failed);
fail_j:
	json_decref(j);
	return NULL;
}

int tpa_token_sign(char **out, const tpa_token_key *k, const tpa_token_claims *c)
{
	cjose_header_t *hdr = NULL;
	cjose_jws_t *jws = NULL;
	const char *ser = NULL;
	json_t *j = NULL;
	char *payload = NULL;
	cjose_err e;
	int err = TPA_ERR_CRYPTO;

	if (!out || !k || !c)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token sign: NULL");
	if (!(j = claims_json(c)) ||
	    !(payload = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS))) {
		err = tpa_err_fail(TPA_ERR_NOMEM, "token: cannot build claims");
		goto cleanup;
	}
	if (!(hdr = cjose_header_new(&e)) ||
	    !cjose_header_set(hdr, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, &e) ||
	    !cjose_header_set(hdr, "typ", "JWT", &e) ||
	    !cjose_header_set(hdr, CJOSE_HDR_KID, k->kid, &e)) {
		err = cj_fail("token header", &e);
		goto cleanup;
	}
	if (!(jws = cjose_jws_sign(k->jwk, hdr, (const uint8_t *)payload,
				   strlen(payload), &e)) ||
	    !cjose_jws_export(jws, &ser, &e)) {
		err = cj_fail("token sign", &e);
		goto cleanup;
	}
	if (!(*out = strdup(ser))) {
		err = tpa_err_fail(TPA_ERR_NOMEM, "token: out of memory");
		goto cleanup;
	}
	err = 0;
cleanup:
	cjose_jws_release(jws);
	cjose_header_release(hdr);
	free(payload);
	json_decref(j);
	return err;
}

int tpa_token_verify(char **claims_out, const char *jwk_json, const char *token,
		     int64_t now)
{
	cjose_jwk_t *jwk = NULL;
	cjose_jws_t *jws = NULL;
	cjose_header_t *hdr;
	const char *alg, *kid, *hkid;
	uint8_t *pt = NULL;
	size_t ptl = 0, tl;
	json_t *j = NULL;
	json_int_t exp;
	cjose_err e;
	int err = TPA_ERR_VERIFY;

	if (!claims_out || !jwk_json || !token)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token verify: NULL");
	tl = strlen(token);
	if (tl == 0 || tl > TPA_TOKEN_MAX)
		return tpa_err_fail(TPA_ERR_PARSE, "token: %zu bytes", tl);
	if (!(jwk = cjose_jwk_import(jwk_json, strlen(jwk_json), &e)))
		return tpa_err_fail(TPA_ERR_PARSE, "token: key is not a JWK");
	if (!(jws = cjose_jws_import(token, tl, &e))) {
		err = tpa_err_fail(TPA_ERR_PARSE, "token: not a compact JWS");
		goto cleanup;
	}
	hdr = cjose_jws_get_protected(jws);
	alg = hdr ? cjose_header_get(hdr, CJOSE_HDR_ALG, &e) : NULL;
	if (!alg || strcmp(alg, CJOSE_HDR_ALG_ES256) != 0) {
		err = tpa_err_fail(TPA_ERR_VERIFY, "token: algorithm %s, ES256 required",
				   alg ? alg : "missing");
		goto cleanup;
	}
	kid = cjose_jwk_get_kid(jwk, &e);
	hkid = cjose_header_get(hdr, CJOSE_HDR_KID, &e);
	if (kid && (!hkid || strcmp(kid, hkid) != 0)) {
		err = tpa_err_fail(TPA_ERR_VERIFY, "token: key id does not match");
		goto cleanup;
	}
	if (!cjose_jws_verify(jws, jwk, &e)) {
		err = tpa_err_fail(TPA_ERR_VERIFY, "token: signature does not verify");
		goto cleanup;
	}
	if (!cjose_jws_get_plaintext(jws, &pt, &ptl, &e) ||
	    !(j = json_loadb((const char *)pt, ptl, JSON_REJECT_DUPLICATES, NULL)) ||
	    json_unpack(j, "{s:I}", "exp", &exp) != 0) {
		err = tpa_err_fail(TPA_ERR_PARSE, "token: claims are not JSON with exp");
		goto cleanup;
	}
	if ((int64_t)exp <= now) {
		err = tpa_err_fail(TPA_ERR_VERIFY, "token: expired");
		goto cleanup;
	}
	if (!(*claims_out = strndup((const char *)pt, ptl))) {
		err = tpa_err_fail(TPA_ERR_NOMEM, "token: out of memory");
		goto cleanup;
	}
	err = 0;
cleanup:
	json_decref(j);
	cjose_jws_release(jws);
	cjose_jwk_release(jwk);
	return err;
}
