/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "tpa/err.h"
#include "tpa/fileio.h"
#include "tpa/timefmt.h"
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
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
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

static int read_secret(char **out, size_t *len, const char *path, size_t max);
static int keyset_signer_copy(tpa_token_key **out, const char *path);

int tpa_token_key_load(tpa_token_key **out, const char *path, int create)
{
	char *buf = NULL;
	cjose_jwk_t *jwk;
	cjose_err e;
	size_t n = 0;
	int err;

	if (!out || !path)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token key: no path");
	if ((err = read_secret(&buf, &n, path, JWK_FILE_MAX)) == 1) {
		tpa_token_key *k = NULL;

		if (!create)
			return tpa_err_fail(TPA_ERR_IO, "token key %s: %s", path, strerror(ENOENT));
		if ((err = tpa_token_key_new(&k)) < 0)
			return err;
		if ((err = write_private(path, k)) < 0) {
			tpa_token_key_free(k);
			return err;
		}
		*out = k;
		return 0;
	}
	if (err == TPA_ERR_LIMIT || (err == 0 && strstr(buf, "\"tpa_token_keys\""))) {
		/* A key set (larger than one JWK may be): the key signing now. */
		if (buf)
			OPENSSL_cleanse(buf, n);
		free(buf);
		return keyset_signer_copy(out, path);
	}
	if (err < 0)
		return err;
	jwk = cjose_jwk_import(buf, n, &e);
	OPENSSL_cleanse(buf, n);
	free(buf);
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

static int add_reason(json_t *reasons, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_reason(json_t *reasons, const char *fmt, ...)
{
	char line[TPA_CHECK_NAME_MAX + TPA_RULE_DETAIL_MAX + 32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return json_array_append_new(reasons, json_string(line));
}

/* json_object_set_new takes the value's reference even when it fails: a
 * failure only needs remembering. */
/* A claim that may be unknown: true, false or null. */
static json_t *answer(tpa_sb_answer t)
{
	return t == TPA_SBA_UNKNOWN ? json_null() : json_boolean(t == TPA_SBA_YES);
}

/* tpa.secureboot: Secure Boot hygiene (docs/claims.md). */
static json_t *secureboot_claims(const tpa_sb_claims *c)
{
	json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:o}", "dbx_current", answer(c->dbx_current),
			      "ca_2023_ready", answer(c->ca_2023_ready), "ca_2011_only",
			      answer(c->ca_2011_only), "test_platform_key", answer(c->test_platform_key),
			      "revoked_component_booted", answer(c->revoked_component_booted));

	if (o && c->dbx_current != TPA_SBA_UNKNOWN &&
	    json_object_set_new(o, "dbx_missing", json_integer((json_int_t)c->dbx_missing)) < 0) {
		json_decref(o);
		return NULL;
	}
	if (o && c->arch != TPA_SB_ARCH_COUNT &&
	    json_object_set_new(o, "arch", json_string(tpa_sb_arch_name(c->arch))) < 0) {
		json_decref(o);
		return NULL;
	}
	/* shim's, only where measured on a PCR that counts. */
	if (o && c->sbat_level[0] &&
	    json_object_set_new(o, "sbat_level", json_string(c->sbat_level)) < 0) {
		json_decref(o);
		return NULL;
	}
	if (o && c->mok_validation != TPA_SBA_UNKNOWN &&
	    json_object_set_new(o, "mok_validation", answer(c->mok_validation)) < 0) {
		json_decref(o);
		return NULL;
	}
	if (o && c->nmok) {
		json_t *m = json_object();
		size_t i;

		for (i = 0; m && i < c->nmok; i++)
			json_object_set_new(m, c->mok[i].name, json_string(c->mok[i].digest));
		if (!m || json_object_set_new(o, "mok_lists", m) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

#define SET(o, k, v) (bad |= json_object_set_new((o), (k), (v)) != 0)

/* A new container attached to parent under key, or NULL (parent intact). */
static json_t *child(json_t *parent, const char *key, json_t *c)
{
	if (!c || json_object_set_new(parent, key, c) != 0)
		return NULL;
	return c;
}

static json_t *claims_json(const tpa_token_claims *c)
{
	json_t *j = json_object(), *submods, *sub, *tv, *vid, *reasons, *rules = NULL;
	char nonce[128], fw[32], policy[128];
	size_t i;
	int bad = 0;

	if (!j)
		return NULL;
	if (!(submods = child(j, "submods", json_object())) ||
	    !(sub = child(submods, TPA_EAR_SUBMOD, json_object())) ||
	    !(tv = child(sub, "ear.trustworthiness-vector", json_object())) ||
	    !(vid = child(j, "ear.verifier-id", json_object())) ||
	    !(reasons = child(sub, "tpa.reasons", json_array())) ||
	    (c->appraisal && !(rules = child(sub, "tpa.rules", json_object())))) {
		json_decref(j);
		return NULL;
	}
	SET(j, "eat_profile", json_string(TPA_EAR_PROFILE));
	SET(j, "iat", json_integer(c->iat));
	SET(j, "exp", json_integer(c->iat + (int64_t)c->ttl_s));
	SET(vid, "developer", json_string(c->developer ? c->developer : "tpm-attest"));
	SET(vid, "build", json_string("tpm-attest " TPA_VERSION));
	if (c->nonce && c->nonce_len) {
		if (b64url(nonce, sizeof(nonce), c->nonce, c->nonce_len) < 0)
			bad = 1;
		else
			SET(j, "eat_nonce", json_string(nonce));
	}
	if (c->device_id)
		SET(j, "tpa.device_id", json_string(c->device_id));
	if (c->cnf_jwk) {
		json_t *jwk = json_loads(c->cnf_jwk, JSON_REJECT_DUPLICATES, NULL);

		if (!json_is_object(jwk)) {
			json_decref(jwk);
			bad = 1;
		} else {
			SET(j, "cnf", json_pack("{s:o}", "jwk", jwk));
		}
	}
	if (c->ak_name_hex)
		SET(j, "tpa.ak_name", json_string(c->ak_name_hex));

	SET(sub, "ear.status", json_string(c->status ? c->status : "none"));
	SET(tv, "instance-identity", json_integer(c->vector.instance_identity));
	SET(tv, "configuration", json_integer(c->vector.configuration));
	SET(tv, "executables", json_integer(c->vector.executables));
	SET(tv, "hardware", json_integer(c->vector.hardware));
	if (c->baseline) {
		snprintf(policy, sizeof(policy), "policy:%s/%s@%d", TPA_EAR_SUBMOD, c->baseline,
			 c->baseline_version);
		SET(sub, "ear.appraisal-policy-id", json_string(policy));
		SET(sub, "tpa.baseline", json_string(c->baseline));
		SET(sub, "tpa.baseline_version", json_integer(c->baseline_version));
	}
	if (c->outcome)
		SET(sub, "tpa.outcome", json_string(c->outcome));
	SET(sub, "tpa.secure_boot", json_string(c->secure_boot ? c->secure_boot : "unknown"));
	SET(sub, "tpa.measured_boot", json_boolean(c->measured_boot));
	if (c->tpm_manufacturer && c->tpm_manufacturer[0])
		SET(sub, "tpa.tpm_manufacturer", json_string(c->tpm_manufacturer));
	/* How the device got in, in every token: a relying party may refuse
	 * an EK that no vendor vouched for, or one only an allowlist named. */
	SET(sub, "tpa.admission", json_string(c->admission ? c->admission : "none"));
	SET(sub, "tpa.ek_certified", json_boolean(c->admission && c->ek_certified));
	if (c->have_tpm_firmware) {
		snprintf(fw, sizeof(fw), "%08x.%08x", c->tpm_firmware[0], c->tpm_firmware[1]);
		SET(sub, "tpa.tpm_firmware", json_string(fw));
	}
	if (c->firmware_version && c->firmware_version[0])
		SET(sub, "tpa.firmware_version", json_string(c->firmware_version));
	if (c->secureboot && c->secureboot->judged)
		SET(sub, "tpa.secureboot", secureboot_claims(c->secureboot));

	/* The reasons for anything that is not affirming. */
	for (i = 0; c->findings && i < c->findings->n; i++)
		if (!c->findings->items[i].passed)
			bad |= add_reason(reasons, "%s: %s", c->findings->items[i].name,
					  c->findings->items[i].detail) != 0;
	for (i = 0; c->appraisal && i < TPA_RULE_COUNT; i++) {
		const tpa_rule_result *r = &c->appraisal->rules[i];

		SET(rules, tpa_rule_name(r->rule), json_string(tpa_rule_status_name(r->status)));
		if (r->status == TPA_RULE_FAIL)
			bad |= add_reason(reasons, "baseline %s (%s): %s", tpa_rule_name(r->rule),
					  r->severity == TPA_SEVERITY_CRITICAL ? "critical" :
					  "warning", r->detail) != 0;
	}
	if (c->outcome && strcmp(c->outcome, "no-baseline") == 0)
		bad |= add_reason(reasons, "no baseline applies to the device") != 0;
	if (c->unbound_ak)
		bad |= add_reason(reasons, "no device registry: the AK is not bound to an EK of a "
				  "genuine TPM (instance-identity and hardware are not claimed)") != 0;
	if (bad) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* payload as a compact JWS: ES256, the key's kid, typ. */
static int sign_payload(char **out, const tpa_token_key *k, const char *typ, const char *payload)
{
	cjose_header_t *hdr = NULL;
	cjose_jws_t *jws = NULL;
	const char *ser = NULL;
	cjose_err e;
	int err = TPA_ERR_CRYPTO;

	if (!(hdr = cjose_header_new(&e)) ||
	    !cjose_header_set(hdr, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, &e) ||
	    !cjose_header_set(hdr, "typ", typ, &e) ||
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
	return err;
}

int tpa_token_sign(char **out, const tpa_token_key *k, const tpa_token_claims *c)
{
	json_t *j = NULL;
	char *payload = NULL;
	int err;

	if (!out || !k || !c)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token sign: NULL");
	/* exp = iat + ttl_s: after iat, never beyond the maximum a verifier
	 * accepts, and no overflow. */
	if (c->ttl_s == 0 || c->ttl_s > TPA_TOKEN_MAX_TTL_S)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token sign: lifetime %u s is not in 1..%d",
				    (unsigned)c->ttl_s, TPA_TOKEN_MAX_TTL_S);
	if (c->iat < 0 || c->iat > INT64_MAX - TPA_TOKEN_MAX_TTL_S)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token sign: iat %lld out of range",
				    (long long)c->iat);
	if (!(j = claims_json(c)) ||
	    !(payload = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)))
		err = tpa_err_fail(TPA_ERR_NOMEM, "token: cannot build claims");
	else
		err = sign_payload(out, k, "JWT", payload);
	free(payload);
	json_decref(j);
	return err;
}

int tpa_token_sign_payload(char **out, const tpa_token_key *k, const char *typ,
			   const char *payload)
{
	if (!out || !k || !typ || !payload)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token sign: NULL");
	return sign_payload(out, k, typ, payload);
}

/* An integer time claim (NumericDate, RFC 7519 2), named when missing. */
static int time_claim(json_int_t *out, json_t *j, const char *name)
{
	json_t *v = json_object_get(j, name);

	if (!v)
		return tpa_err_fail(TPA_ERR_PARSE, "token: no %s claim", name);
	if (!json_is_integer(v))
		return tpa_err_fail(TPA_ERR_PARSE, "token: %s is not an integer", name);
	*out = json_integer_value(v);
	return 0;
}

/* The checks after the signature: iat and exp (exp after iat, a lifetime
 * the verifier could have signed, iat not beyond the clock skew ahead of
 * now, exp after now), the EAR profile, and the nonce if one is asked
 * for. The differences are taken unsigned once their sign is known, so
 * no value of the claims overflows. */
static int check_times(json_int_t iat, json_int_t exp, int64_t now)
{
	if (exp <= iat)
		return tpa_err_fail(TPA_ERR_VERIFY, "token: exp %lld is not after iat %lld",
				    (long long)exp, (long long)iat);
	if ((uint64_t)exp - (uint64_t)iat > TPA_TOKEN_MAX_TTL_S)
		return tpa_err_fail(TPA_ERR_VERIFY, "token: a lifetime of %llu s, above the "
				    "maximum of %d s", (unsigned long long)((uint64_t)exp - (uint64_t)iat),
				    TPA_TOKEN_MAX_TTL_S);
	if ((int64_t)iat > now && (uint64_t)iat - (uint64_t)now > TPA_TOKEN_CLOCK_SKEW_S)
		return tpa_err_fail(TPA_ERR_VERIFY, "token: issued %llu s in the future (the "
				    "clock skew allowed is %d s)",
				    (unsigned long long)((uint64_t)iat - (uint64_t)now),
				    TPA_TOKEN_CLOCK_SKEW_S);
	if ((int64_t)exp <= now)
		return tpa_err_fail(TPA_ERR_VERIFY, "token: expired %llu s ago",
				    (unsigned long long)((uint64_t)now - (uint64_t)exp));
	return 0;
}

static int check_claims(json_t *j, int64_t now, const uint8_t *nonce, size_t nonce_len)
{
	json_int_t exp, iat;
	const char *prof = NULL, *got = NULL;
	char want[128];
	int err;

	if (!json_is_object(j))
		return tpa_err_fail(TPA_ERR_PARSE, "token: the claims are not a JSON object");
	if ((err = time_claim(&iat, j, "iat")) < 0 || (err = time_claim(&exp, j, "exp")) < 0 ||
	    (err = check_times(iat, exp, now)) < 0)
		return err;
	if (json_unpack(j, "{s:s}", "eat_profile", &prof) != 0 || strcmp(prof, TPA_EAR_PROFILE) != 0)
		return tpa_err_fail(TPA_ERR_VERIFY, "token: eat_profile is not %s", TPA_EAR_PROFILE);
	if (nonce) {
		if ((err = b64url(want, sizeof(want), nonce, nonce_len)) < 0)
			return err;
		if (json_unpack(j, "{s:s}", "eat_nonce", &got) != 0 || strcmp(got, want) != 0)
			return tpa_err_fail(TPA_ERR_VERIFY, "token: eat_nonce is not the nonce asked for");
	}
	return 0;
}

/* ---- the compact JWS as it arrives: every byte untrusted ---- */

#define HDR_KID_MAX 256    /* a header's kid, NUL included */
#define HDR_TYP_MAX 64     /* and its typ */
#define ES256_SIG_LEN 64   /* R || S, 32 bytes each (RFC 7518 3.4) */
#define ES256_SIG_B64_LEN 86

static const char *const segment_name[3] = { "header", "payload", "signature" };

/* The checked header: what the verify functions go on. */
typedef struct {
	char kid[HDR_KID_MAX];
	int have_kid;
	char typ[HDR_TYP_MAX];
	int have_typ;
} jws_header;

/* Untrusted text for a message: printable ASCII only (anything else is
 * '?'), cut at cap - 1 bytes. */
static const char *printable(char *buf, size_t cap, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < cap; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

/* The base64url alphabet (RFC 4648 section 5), or -1. */
/* Each byte's base64url value plus one, 0 for a byte not of the alphabet:
 * a token's every byte is looked up. */
#define B64_ROW(c0, v0) [c0] = v0 + 1
static const unsigned char b64url_plus1[256] = {
	B64_ROW('A', 0), B64_ROW('B', 1), B64_ROW('C', 2), B64_ROW('D', 3), B64_ROW('E', 4),
	B64_ROW('F', 5), B64_ROW('G', 6), B64_ROW('H', 7), B64_ROW('I', 8), B64_ROW('J', 9),
	B64_ROW('K', 10), B64_ROW('L', 11), B64_ROW('M', 12), B64_ROW('N', 13),
	B64_ROW('O', 14), B64_ROW('P', 15), B64_ROW('Q', 16), B64_ROW('R', 17),
	B64_ROW('S', 18), B64_ROW('T', 19), B64_ROW('U', 20), B64_ROW('V', 21),
	B64_ROW('W', 22), B64_ROW('X', 23), B64_ROW('Y', 24), B64_ROW('Z', 25),
	B64_ROW('a', 26), B64_ROW('b', 27), B64_ROW('c', 28), B64_ROW('d', 29),
	B64_ROW('e', 30), B64_ROW('f', 31), B64_ROW('g', 32), B64_ROW('h', 33),
	B64_ROW('i', 34), B64_ROW('j', 35), B64_ROW('k', 36), B64_ROW('l', 37),
	B64_ROW('m', 38), B64_ROW('n', 39), B64_ROW('o', 40), B64_ROW('p', 41),
	B64_ROW('q', 42), B64_ROW('r', 43), B64_ROW('s', 44), B64_ROW('t', 45),
	B64_ROW('u', 46), B64_ROW('v', 47), B64_ROW('w', 48), B64_ROW('x', 49),
	B64_ROW('y', 50), B64_ROW('z', 51), B64_ROW('0', 52), B64_ROW('1', 53),
	B64_ROW('2', 54), B64_ROW('3', 55), B64_ROW('4', 56), B64_ROW('5', 57),
	B64_ROW('6', 58), B64_ROW('7', 59), B64_ROW('8', 60), B64_ROW('9', 61),
	B64_ROW('-', 62), B64_ROW('_', 63),
};
#undef B64_ROW

static int b64url_value(unsigned char c)
{
	return (int)b64url_plus1[c] - 1;
}

/* One segment in canonical base64url (RFC 7515 section 2): only the
 * alphabet, no padding, a length that is not 1 mod 4, and the bits of the
 * last character that encode no byte zero. Each byte string then has
 * exactly one encoding; cjose's decoder takes many. */
static int canonical_segment(const char *what, const char *s, size_t n)
{
	size_t i;
	int last;

	if (n == 0)
		return tpa_err_fail(TPA_ERR_PARSE, "token: the %s segment is empty", what);
	for (i = 0; i < n; i++)
		if (b64url_value((unsigned char)s[i]) < 0)
			return tpa_err_fail(TPA_ERR_PARSE, "token: the %s segment has byte 0x%02x at "
					    "offset %zu: not base64url (A-Z a-z 0-9 - _, no padding)",
					    what, (unsigned char)s[i], i);
	if (n % 4 == 1)
		return tpa_err_fail(TPA_ERR_PARSE, "token: the %s segment is %zu characters: "
				    "no base64url has that length", what, n);
	last = b64url_value((unsigned char)s[n - 1]);
	if ((n % 4 == 2 && (last & 0x0f)) || (n % 4 == 3 && (last & 0x03)))
		return tpa_err_fail(TPA_ERR_PARSE, "token: the %s segment is not canonical "
				    "base64url: its last character's unused bits are not zero", what);
	return 0;
}

/* A string member of the header, if present, copied to buf (cap bytes). */
static int header_string(char *buf, size_t cap, int *have, json_t *j, const char *name)
{
	json_t *v = json_object_get(j, name);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return tpa_err_fail(TPA_ERR_PARSE, "token: the header's %s is not a string", name);
	if (json_string_length(v) >= cap)
		return tpa_err_fail(TPA_ERR_LIMIT, "token: the header's %s is longer than %zu "
				    "bytes", name, cap - 1);
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	*have = 1;
	return 0;
}

int tpa_token_secureboot(tpa_sb_answer out[TPA_SBC_COUNT], const char *token)
{
	const char *a, *b;
	uint8_t *raw = NULL;
	size_t rawl = 0, i;
	json_t *j, *sb;
	cjose_err e;
	int rc = 0;

	for (i = 0; i < TPA_SBC_COUNT; i++)
		out[i] = TPA_SBA_UNKNOWN;
	if (!token || !(a = strchr(token, '.')) || !(b = strchr(a + 1, '.')))
		return tpa_err_fail(TPA_ERR_PARSE, "token: not three segments");
	if ((size_t)(b - a - 1) > TPA_TOKEN_MAX ||
	    !cjose_base64url_decode(a + 1, (size_t)(b - a - 1), &raw, &rawl, &e))
		return tpa_err_fail(TPA_ERR_PARSE, "token: the payload is not base64url");
	j = json_loadb((const char *)raw, rawl, JSON_REJECT_DUPLICATES, NULL);
	cjose_get_dealloc()(raw);
	sb = json_object_get(json_object_get(json_object_get(j, "submods"), TPA_EAR_SUBMOD),
			     "tpa.secureboot");
	if (!json_is_object(j))
		rc = tpa_err_fail(TPA_ERR_PARSE, "token: the payload is not a JSON object");
	else if (json_is_object(sb))
		for (rc = 1, i = 0; i < TPA_SBC_COUNT; i++) {
			json_t *v = json_object_get(sb, tpa_sb_claim_names[i]);

			out[i] = json_is_true(v) ? TPA_SBA_YES : json_is_false(v) ? TPA_SBA_NO :
				 TPA_SBA_UNKNOWN;
		}
	json_decref(j);
	return rc;
}

/* The header: a JSON object without duplicate members (cjose's parser
 * would take the last of two "alg"), alg ES256, no crit, a string kid and
 * typ if any. */
static int check_header(jws_header *h, const char *seg, size_t n)
{
	uint8_t *raw = NULL;
	size_t rawl = 0;
	json_t *j, *alg;
	char shown[40];
	cjose_err e;
	int err = 0;

	if (!cjose_base64url_decode(seg, n, &raw, &rawl, &e))
		return tpa_err_fail(TPA_ERR_PARSE, "token: the header is not base64url");
	j = json_loadb((const char *)raw, rawl, JSON_REJECT_DUPLICATES, NULL);
	cjose_get_dealloc()(raw);
	if (!json_is_object(j)) {
		err = tpa_err_fail(TPA_ERR_PARSE, "token: the header is not a JSON object (or "
				   "repeats a member)");
		goto out;
	}
	/* RFC 7515 4.1.11: a crit extension not understood makes the JWS
	 * invalid. This verifier understands none. */
	if (json_object_get(j, "crit")) {
		err = tpa_err_fail(TPA_ERR_VERIFY, "token: the header has crit: no critical "
				   "extension is understood here");
		goto out;
	}
	alg = json_object_get(j, "alg");
	if (!json_is_string(alg) || strcmp(json_string_value(alg), CJOSE_HDR_ALG_ES256) != 0) {
		err = tpa_err_fail(TPA_ERR_VERIFY, "token: algorithm %s, ES256 required",
				   !alg ? "missing" : !json_is_string(alg) ? "not a string" :
				   printable(shown, sizeof(shown), json_string_value(alg)));
		goto out;
	}
	if ((err = header_string(h->kid, sizeof(h->kid), &h->have_kid, j, "kid")) == 0)
		err = header_string(h->typ, sizeof(h->typ), &h->have_typ, j, "typ");
out:
	json_decref(j);
	return err;
}

/* Everything before cjose sees the token: its size, exactly three
 * canonical segments, the header, the length of an ES256 signature. */
static int precheck(jws_header *h, const char *token)
{
	const char *seg[3];
	size_t len[3], tl, i, dots = 0, k = 0, start = 0;
	int err;

	memset(h, 0, sizeof(*h));
	tl = strnlen(token, TPA_TOKEN_MAX + 1);
	if (tl == 0)
		return tpa_err_fail(TPA_ERR_PARSE, "token: empty");
	if (tl > TPA_TOKEN_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "token: longer than %d bytes", TPA_TOKEN_MAX);
	for (i = 0; i < tl; i++)
		dots += token[i] == '.';
	if (dots != 2)
		return tpa_err_fail(TPA_ERR_PARSE, "token: not a compact JWS: %zu segments, not 3",
				    dots + 1);
	for (i = 0; i <= tl; i++) {
		if (i < tl && token[i] != '.')
			continue;
		seg[k] = token + start;
		len[k++] = i - start;
		start = i + 1;
	}
	for (k = 0; k < 3; k++)
		if ((err = canonical_segment(segment_name[k], seg[k], len[k])) < 0)
			return err;
	if ((err = check_header(h, seg[0], len[0])) < 0)
		return err;
	if (len[2] != ES256_SIG_B64_LEN)
		return tpa_err_fail(TPA_ERR_VERIFY, "token: the signature is %zu bytes, ES256 "
				    "makes %d", len[2] * 3 / 4, ES256_SIG_LEN);
	return 0;
}

/* A compact JWS that passed precheck, checked with one public JWK (JSON):
 * the kid if the JWK has one, typ if asked for, the signature. *jws_out
 * holds the payload (*pt, *ptl) until released. */
static int jws_check_jwk(cjose_jws_t **jws_out, uint8_t **pt, size_t *ptl,
			 const cjose_jwk_t *jwk, const char *token, const jws_header *h,
			 const char *typ)
{
	cjose_jws_t *jws = NULL;
	cjose_header_t *hdr;
	const char *alg, *kid;
	char shown[40];
	cjose_err e;
	int err;

	if (!(jws = cjose_jws_import(token, strlen(token), &e))) {
		err = tpa_err_fail(TPA_ERR_PARSE, "token: not a compact JWS");
		goto cleanup;
	}
	/* The same header bytes as precheck read; cjose's reading must agree. */
	hdr = cjose_jws_get_protected(jws);
	alg = hdr ? cjose_header_get(hdr, CJOSE_HDR_ALG, &e) : NULL;
	if (!alg || strcmp(alg, CJOSE_HDR_ALG_ES256) != 0) {
		err = tpa_err_fail(TPA_ERR_VERIFY, "token: algorithm is not ES256");
		goto cleanup;
	}
	kid = cjose_jwk_get_kid(jwk, &e);
	if (kid && (!h->have_kid || strcmp(kid, h->kid) != 0)) {
		err = tpa_err_fail(TPA_ERR_VERIFY, "token: key id does not match");
		goto cleanup;
	}
	if (typ && (!h->have_typ || strcmp(h->typ, typ) != 0)) {
		err = tpa_err_fail(TPA_ERR_VERIFY, "token: type %s, %s required",
				   h->have_typ ? printable(shown, sizeof(shown), h->typ) : "missing",
				   typ);
		goto cleanup;
	}
	if (!cjose_jws_verify(jws, jwk, &e)) {
		err = tpa_err_fail(TPA_ERR_VERIFY, "token: signature does not verify");
		goto cleanup;
	}
	if (!cjose_jws_get_plaintext(jws, pt, ptl, &e)) {
		err = tpa_err_fail(TPA_ERR_PARSE, "token: no payload");
		goto cleanup;
	}
	*jws_out = jws;
	jws = NULL;
	err = 0;
cleanup:
	cjose_jws_release(jws);
	return err;
}

static int jws_check(cjose_jws_t **jws_out, uint8_t **pt, size_t *ptl, const char *jwk_json,
		     const char *token, const jws_header *h, const char *typ)
{
	cjose_jwk_t *jwk;
	cjose_err e;
	int err;

	if (!(jwk = cjose_jwk_import(jwk_json, strlen(jwk_json), &e)))
		return tpa_err_fail(TPA_ERR_PARSE, "token: key is not a JWK");
	err = jws_check_jwk(jws_out, pt, ptl, jwk, token, h, typ);
	cjose_jwk_release(jwk);
	return err;
}

/* A token that passed precheck, with one public JWK: the signature, then
 * the claims. */
static int verify_core(char **claims_out, const char *jwk_json, const char *token,
		       const jws_header *h, int64_t now, const uint8_t *nonce, size_t nonce_len)
{
	cjose_jws_t *jws = NULL;
	uint8_t *pt = NULL;
	size_t ptl = 0;
	json_t *j = NULL;
	int err;

	if ((err = jws_check(&jws, &pt, &ptl, jwk_json, token, h, "JWT")) < 0)
		return err;
	if (!(j = json_loadb((const char *)pt, ptl, JSON_REJECT_DUPLICATES, NULL))) {
		err = tpa_err_fail(TPA_ERR_PARSE, "token: claims are not JSON");
		goto cleanup;
	}
	if ((err = check_claims(j, now, nonce, nonce_len)) < 0)
		goto cleanup;
	if (!(*claims_out = strndup((const char *)pt, ptl))) {
		err = tpa_err_fail(TPA_ERR_NOMEM, "token: out of memory");
		goto cleanup;
	}
	err = 0;
cleanup:
	json_decref(j);
	cjose_jws_release(jws);
	return err;
}

int tpa_token_verify(char **claims_out, const char *jwk_json, const char *token,
		     int64_t now)
{
	jws_header h;
	int err;

	if (!claims_out || !jwk_json || !token)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token verify: NULL");
	if ((err = precheck(&h, token)) < 0)
		return err;
	return verify_core(claims_out, jwk_json, token, &h, now, NULL, 0);
}

/* The JWK (JSON, malloc'd) of the JWKS that the checked header's kid
 * names. */
static int jwks_key(char **one, const char *jwks_json, const jws_header *h)
{
	json_t *set, *keys, *k;
	char shown[72];
	size_t i;
	int err;

	*one = NULL;
	if (!h->have_kid)
		return tpa_err_fail(TPA_ERR_PARSE, "token: no kid in the header to pick a key "
				    "of the JWKS");
	if (!(set = json_loads(jwks_json, JSON_REJECT_DUPLICATES, NULL)) ||
	    !json_is_array(keys = json_object_get(set, "keys"))) {
		json_decref(set);
		return tpa_err_fail(TPA_ERR_PARSE, "token: the key set is not a JWKS");
	}
	err = tpa_err_fail(TPA_ERR_VERIFY, "token: no key in the JWKS has kid %s",
			   printable(shown, sizeof(shown), h->kid));
	json_array_foreach(keys, i, k) {
		const char *kid = json_string_value(json_object_get(k, "kid"));

		if (!kid || strcmp(kid, h->kid) != 0)
			continue;
		err = (*one = json_dumps(k, JSON_COMPACT)) ? 0 :
			tpa_err_fail(TPA_ERR_NOMEM, "token: out of memory");
		break;
	}
	json_decref(set);
	return err;
}

int tpa_token_verify_jwks(char **claims_out, const char *jwks_json, const char *token,
			  int64_t now, const uint8_t *nonce, size_t nonce_len)
{
	jws_header h;
	char *one = NULL;
	int err;

	if (!claims_out || !jwks_json || !token)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token verify: NULL");
	if ((err = precheck(&h, token)) == 0 && (err = jwks_key(&one, jwks_json, &h)) == 0)
		err = verify_core(claims_out, one, token, &h, now, nonce, nonce_len);
	free(one);
	return err;
}

int tpa_token_verify_payload(char **payload_out, const char *jwks_json, const char *jws,
			     const char *typ)
{
	cjose_jws_t *j = NULL;
	jws_header h;
	uint8_t *pt = NULL;
	size_t ptl = 0;
	char *one = NULL;
	int err;

	if (!payload_out || !jwks_json || !jws)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token verify: NULL");
	*payload_out = NULL;
	if ((err = precheck(&h, jws)) == 0 && (err = jwks_key(&one, jwks_json, &h)) == 0 &&
	    (err = jws_check(&j, &pt, &ptl, one, jws, &h, typ)) == 0 &&
	    !(*payload_out = strndup((const char *)pt, ptl)))
		err = tpa_err_fail(TPA_ERR_NOMEM, "token: out of memory");
	cjose_jws_release(j);
	free(one);
	return err;
}

int tpa_token_peek_payload(char **payload_out, const char *jws)
{
	cjose_jws_t *j;
	uint8_t *pt = NULL;
	size_t ptl = 0, tl;
	cjose_err e;
	int err = 0;

	if (!payload_out || !jws)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token peek: NULL");
	*payload_out = NULL;
	tl = strlen(jws);
	if (tl == 0 || tl > TPA_TOKEN_MAX)
		return tpa_err_fail(TPA_ERR_PARSE, "token: %zu bytes", tl);
	if (!(j = cjose_jws_import(jws, tl, &e)) || !cjose_jws_get_plaintext(j, &pt, &ptl, &e))
		err = tpa_err_fail(TPA_ERR_PARSE, "token: not a compact JWS");
	else if (!(*payload_out = strndup((const char *)pt, ptl)))
		err = tpa_err_fail(TPA_ERR_NOMEM, "token: out of memory");
	cjose_jws_release(j);
	return err;
}

/* Why a submodule is not accepted, for the message: where it is if not
 * the device's, its first tpa.reason and how many more (all shown as
 * printable ASCII). */
static void status_why(char *buf, size_t cap, const char *name, json_t *sub)
{
	json_t *r = json_object_get(sub, "tpa.reasons");
	const char *first = json_string_value(json_array_get(r, 0));
	char shown_name[40], shown_first[200];
	size_t n = json_array_size(r);
	int off = 0;

	buf[0] = '\0';
	if (strcmp(name, TPA_EAR_SUBMOD) != 0)
		off = snprintf(buf, cap, " (submodule %s)",
			       printable(shown_name, sizeof(shown_name), name));
	if (!first || off < 0 || (size_t)off >= cap)
		return;
	printable(shown_first, sizeof(shown_first), first);
	if (n > 1)
		snprintf(buf + off, cap - (size_t)off, ": %s (and %zu more)", shown_first, n - 1);
	else
		snprintf(buf + off, cap - (size_t)off, ": %s", shown_first);
}

static int accept_status(json_t *j, int accept_warning)
{
	json_t *submods, *sub;
	const char *name;
	char shown[40], why[300];
	int err = 0;

	submods = json_object_get(j, "submods");
	if (!json_is_object(submods) || !json_object_get(submods, TPA_EAR_SUBMOD))
		return tpa_err_fail(TPA_ERR_VERIFY, "token status: no %s submodule", TPA_EAR_SUBMOD);
	/* Every submodule is an appraisal: the worst of them decides. */
	json_object_foreach(submods, name, sub) {
		const char *st = json_string_value(json_object_get(sub, "ear.status"));

		if (st && (strcmp(st, "affirming") == 0 ||
			   (accept_warning && strcmp(st, "warning") == 0)))
			continue;
		status_why(why, sizeof(why), name, sub);
		err = tpa_err_fail(TPA_ERR_VERIFY, "token status is %s%s",
				   st ? printable(shown, sizeof(shown), st) : "missing", why);
		break;
	}
	return err;
}

int tpa_token_accept_status(const char *claims_json, int accept_warning)
{
	json_t *j;
	int err;

	if (!claims_json)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token status: NULL");
	j = json_loads(claims_json, JSON_REJECT_DUPLICATES, NULL);
	err = accept_status(j, accept_warning);
	json_decref(j);
	return err;
}

/* ---- many tokens checked against one key set ---- */

#define VERIFIER_KEYS_MAX 16
/* Claims read before, by the SHA-256 of their bytes: parsing them is a
 * pure function of those bytes, and jansson takes about 15 us for the
 * 1.2 KB a verdict token holds, a third of the ES256 verify it follows.
 * A device presents the same token with every request until it attests
 * again, so the second reading of its claims is a lookup. Only claims that
 * passed every check are kept; the checks that depend on the time (iat,
 * exp) are made again at every use, and the signature is verified every
 * time. Direct-mapped, 4096 slots (about 512 KB, allocated at the first
 * claims kept). */
#define MEMO_SLOTS 4096

struct memo_slot {
	uint8_t hash[32];
	int used;
	int affirming;              /* every submodule affirming (no warning) */
	json_int_t iat, exp;
	char device_id[65];
};

struct tpa_token_verifier {
	atomic_int refs;
	size_t n;
	struct {
		char kid[HDR_KID_MAX];
		cjose_jwk_t *jwk;
		char *pub;          /* the JWK as cjose writes it: to compare sets */
	} k[VERIFIER_KEYS_MAX];
	pthread_mutex_t memo_lock;
	struct memo_slot *memo;
	uint64_t hits, misses;
};

void tpa_token_verifier_free(tpa_token_verifier *v)
{
	size_t i;

	if (!v || atomic_fetch_sub(&v->refs, 1) != 1)
		return;
	for (i = 0; i < v->n; i++) {
		cjose_jwk_release(v->k[i].jwk);
		free(v->k[i].pub);
	}
	pthread_mutex_destroy(&v->memo_lock);
	free(v->memo);
	free(v);
}

tpa_token_verifier *tpa_token_verifier_ref(tpa_token_verifier *v)
{
	if (v)
		atomic_fetch_add(&v->refs, 1);
	return v;
}

/* One key of the JWKS: a public EC P-256 key with a kid of its own. */
static int verifier_add(tpa_token_verifier *v, json_t *k, size_t i)
{
	const char *kid = json_string_value(json_object_get(k, "kid"));
	char shown[72], *one;
	cjose_err e;
	size_t j;

	if (!kid || !*kid || strlen(kid) >= HDR_KID_MAX)
		return tpa_err_fail(TPA_ERR_PARSE, "JWKS: key %zu has no kid (or one longer than "
				    "%d bytes)", i, HDR_KID_MAX - 1);
	for (j = 0; j < v->n; j++)
		if (strcmp(v->k[j].kid, kid) == 0)
			return tpa_err_fail(TPA_ERR_PARSE, "JWKS: kid %s is there twice",
					    printable(shown, sizeof(shown), kid));
	if (!(one = json_dumps(k, JSON_COMPACT)))
		return tpa_err_fail(TPA_ERR_NOMEM, "JWKS: out of memory");
	v->k[v->n].jwk = cjose_jwk_import(one, strlen(one), &e);
	free(one);
	if (!v->k[v->n].jwk)
		return tpa_err_fail(TPA_ERR_PARSE, "JWKS: key %s is not a JWK",
				    printable(shown, sizeof(shown), kid));
	if (cjose_jwk_get_kty(v->k[v->n].jwk, &e) != CJOSE_JWK_KTY_EC ||
	    cjose_jwk_EC_get_curve(v->k[v->n].jwk, &e) != CJOSE_JWK_EC_P_256) {
		cjose_jwk_release(v->k[v->n].jwk);
		return tpa_err_fail(TPA_ERR_PARSE, "JWKS: key %s is not an EC P-256 key",
				    printable(shown, sizeof(shown), kid));
	}
	if (!(v->k[v->n].pub = cjose_jwk_to_json(v->k[v->n].jwk, false, &e))) {
		cjose_jwk_release(v->k[v->n].jwk);
		return tpa_err_fail(TPA_ERR_NOMEM, "JWKS: out of memory");
	}
	memcpy(v->k[v->n].kid, kid, strlen(kid) + 1);
	v->n++;
	return 0;
}

int tpa_token_verifier_new(tpa_token_verifier **out, const char *jwks_json)
{
	tpa_token_verifier *v;
	json_t *set, *keys, *k;
	size_t i;
	int err = 0;

	if (!out || !jwks_json)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token verifier: NULL");
	*out = NULL;
	if (strnlen(jwks_json, TPA_TOKEN_MAX + 1) > TPA_TOKEN_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "JWKS: longer than %d bytes", TPA_TOKEN_MAX);
	if (!(set = json_loads(jwks_json, JSON_REJECT_DUPLICATES, NULL)) ||
	    !json_is_array(keys = json_object_get(set, "keys"))) {
		json_decref(set);
		return tpa_err_fail(TPA_ERR_PARSE, "token: the key set is not a JWKS");
	}
	if ((i = json_array_size(keys)) > VERIFIER_KEYS_MAX) {
		json_decref(set);
		return tpa_err_fail(TPA_ERR_LIMIT, "JWKS: %zu keys, at most %d", i,
				    VERIFIER_KEYS_MAX);
	}
	if (!(v = calloc(1, sizeof(*v)))) {
		json_decref(set);
		return tpa_err_fail(TPA_ERR_NOMEM, "token verifier: out of memory");
	}
	atomic_init(&v->refs, 1);
	pthread_mutex_init(&v->memo_lock, NULL);
	json_array_foreach(keys, i, k)
		if ((err = verifier_add(v, k, i)) < 0)
			break;
	json_decref(set);
	if (err < 0) {
		tpa_token_verifier_free(v);
		return err;
	}
	*out = v;
	return 0;
}

size_t tpa_token_verifier_count(const tpa_token_verifier *v)
{
	return v ? v->n : 0;
}

int tpa_token_verifier_same_keys(const tpa_token_verifier *a, const tpa_token_verifier *b)
{
	size_t i;

	if (!a || !b || a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->k[i].kid, b->k[i].kid) != 0 || strcmp(a->k[i].pub, b->k[i].pub) != 0)
			return 0;
	return 1;
}

void tpa_token_verifier_stats(const tpa_token_verifier *v, uint64_t *hits, uint64_t *misses)
{
	tpa_token_verifier *w = (tpa_token_verifier *)v;

	*hits = *misses = 0;
	if (!v)
		return;
	pthread_mutex_lock(&w->memo_lock);
	*hits = v->hits;
	*misses = v->misses;
	pthread_mutex_unlock(&w->memo_lock);
}

static size_t memo_index(const uint8_t hash[32])
{
	return ((size_t)hash[0] | (size_t)hash[1] << 8) % MEMO_SLOTS;
}

/* The claims kept for these bytes, if any and usable (all affirming when
 * a warning is not accepted): 1 and *out, else 0. */
static int memo_get(struct memo_slot *out, tpa_token_verifier *v, const uint8_t hash[32],
		    int accept_warning)
{
	struct memo_slot *m;
	int hit = 0;

	pthread_mutex_lock(&v->memo_lock);
	m = v->memo ? &v->memo[memo_index(hash)] : NULL;
	if (m && m->used && CRYPTO_memcmp(m->hash, hash, 32) == 0 &&
	    (accept_warning || m->affirming)) {
		*out = *m;
		hit = 1;
		v->hits++;
	} else {
		v->misses++;
	}
	pthread_mutex_unlock(&v->memo_lock);
	return hit;
}

static void memo_put(tpa_token_verifier *v, const struct memo_slot *in)
{
	pthread_mutex_lock(&v->memo_lock);
	if (!v->memo)
		v->memo = calloc(MEMO_SLOTS, sizeof(*v->memo));
	if (v->memo)   /* without memory, nothing is kept: every use reads */
		v->memo[memo_index(in->hash)] = *in;
	pthread_mutex_unlock(&v->memo_lock);
}

int tpa_token_verifier_accept(tpa_token_accepted *out, const tpa_token_verifier *cv,
			      const char *token, int64_t now, int accept_warning)
{
	tpa_token_verifier *v = (tpa_token_verifier *)cv;   /* its memo changes */
	cjose_jws_t *jws = NULL;
	const cjose_jwk_t *jwk = NULL;
	const char *dev;
	uint8_t *pt = NULL;
	size_t ptl = 0, i;
	struct memo_slot m;
	json_t *j = NULL;
	jws_header h;
	char shown[72];
	int err;

	if (!out || !v || !token)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token accept: NULL");
	memset(out, 0, sizeof(*out));
	if ((err = precheck(&h, token)) < 0)
		return err;
	if (!h.have_kid)
		return tpa_err_fail(TPA_ERR_PARSE, "token: no kid in the header to pick a key "
				    "of the JWKS");
	for (i = 0; i < v->n && !jwk; i++)
		if (strcmp(v->k[i].kid, h.kid) == 0)
			jwk = v->k[i].jwk;
	if (!jwk)
		return tpa_err_fail(TPA_ERR_VERIFY, "token: no key in the JWKS has kid %s",
				    printable(shown, sizeof(shown), h.kid));
	if ((err = jws_check_jwk(&jws, &pt, &ptl, jwk, token, &h, "JWT")) < 0)
		return err;
	memset(&m, 0, sizeof(m));
	if (!SHA256(pt, ptl, m.hash)) {
		err = tpa_err_fail(TPA_ERR_INTERNAL, "token: SHA-256 failed");
		goto out;
	}
	/* Claims read before: only the checks of the time again (and the
	 * status's full reading if a warning is not accepted). */
	if (memo_get(&m, v, m.hash, accept_warning)) {
		if ((err = check_times(m.iat, m.exp, now)) < 0)
			goto out;
		goto accepted;
	}
	if (!(j = json_loadb((const char *)pt, ptl, JSON_REJECT_DUPLICATES, NULL))) {
		err = tpa_err_fail(TPA_ERR_PARSE, "token: claims are not JSON");
		goto out;
	}
	if ((err = check_claims(j, now, NULL, 0)) < 0 || (err = accept_status(j, accept_warning)) < 0)
		goto out;
	time_claim(&m.iat, j, "iat");
	time_claim(&m.exp, j, "exp");
	dev = json_string_value(json_object_get(j, "tpa.device_id"));
	if (dev && strlen(dev) < sizeof(m.device_id))
		memcpy(m.device_id, dev, strlen(dev) + 1);
	m.affirming = !accept_warning || accept_status(j, 0) == 0;
	m.used = 1;
	memo_put(v, &m);
accepted:
	out->iat = (int64_t)m.iat;
	out->exp = (int64_t)m.exp;
	memcpy(out->device_id, m.device_id, sizeof(out->device_id));
	err = 0;
out:
	json_decref(j);
	cjose_jws_release(jws);
	return err;
}

int tpa_token_jwks(char **out, const tpa_token_key *const *keys, size_t n)
{
	json_t *set = json_object(), *arr = json_array();
	size_t i;
	int bad = !set || !arr;

	if (!out)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "JWKS: NULL");
	for (i = 0; !bad && i < n; i++) {
		char *pub = NULL;
		json_t *k;

		if (!keys[i])
			continue;
		if (tpa_token_key_public_jwk(&pub, keys[i]) < 0 || !(k = json_loads(pub, 0, NULL))) {
			free(pub);
			bad = 1;
			break;
		}
		free(pub);
		SET(k, "use", json_string("sig"));
		SET(k, "alg", json_string("ES256"));
		bad |= json_array_append_new(arr, k) != 0;
	}
	if (!bad) {
		bad |= json_object_set_new(set, "keys", arr) != 0;
		arr = NULL;
	}
	if (bad || !(*out = json_dumps(set, JSON_COMPACT))) {
		json_decref(arr);
		json_decref(set);
		return tpa_err_fail(TPA_ERR_NOMEM, "JWKS: cannot build");
	}
	json_decref(set);
	return 0;
}

/* ---- the key set ---- */

#define KEYSET_FILE_MAX (64 * 1024)
#define KEYSET_FORMAT 1

struct keyslot {
	tpa_token_key *k;
	tpa_token_key_state state;   /* as written in the file */
	int64_t created_at, activate_at, retired_at;
	uint32_t ttl_s;
};

struct tpa_token_keyset {
	struct keyslot v[TPA_KEYSET_MAX];
	size_t n;
	uint32_t ttl_s;              /* the set's token lifetime */
	int legacy;                  /* read from a single JWK (+ .previous) */
};

static const char *const state_names[] = { "next", "active", "retired", "gone" };

/* The file's states at now: the next key whose time came is active and the
 * key it replaced retired; a retired key whose tokens have all expired is
 * gone. st[i] receives the state, at[i] the retired_at it implies. */
static void keyset_view(const tpa_token_keyset *ks, int64_t now, tpa_token_key_state *st,
			int64_t *at)
{
	size_t i, a = ks->n, x = ks->n;

	for (i = 0; i < ks->n; i++) {
		st[i] = ks->v[i].state;
		at[i] = ks->v[i].retired_at;
		if (st[i] == TPA_KEY_ACTIVE)
			a = i;
		if (st[i] == TPA_KEY_NEXT)
			x = i;
	}
	if (x < ks->n && a < ks->n && ks->v[x].activate_at <= now) {
		st[x] = TPA_KEY_ACTIVE;
		st[a] = TPA_KEY_RETIRED;
		at[a] = ks->v[x].activate_at;
	}
	for (i = 0; i < ks->n; i++)
		if (st[i] == TPA_KEY_RETIRED &&
		    now >= at[i] + (int64_t)ks->v[i].ttl_s + TPA_TOKEN_CLOCK_SKEW_S)
			st[i] = TPA_KEY_GONE;
}

static size_t keyset_find(const tpa_token_keyset *ks, int64_t now, tpa_token_key_state want)
{
	tpa_token_key_state st[TPA_KEYSET_MAX];
	int64_t at[TPA_KEYSET_MAX];
	size_t i, best = ks->n;

	keyset_view(ks, now, st, at);
	for (i = 0; i < ks->n; i++)
		if (st[i] == want && (best == ks->n || at[i] > at[best]))
			best = i;
	return best;
}

const tpa_token_key *tpa_token_keyset_signer(const tpa_token_keyset *ks, int64_t now)
{
	size_t i;

	if (!ks)
		return NULL;
	i = keyset_find(ks, now, TPA_KEY_ACTIVE);
	return i < ks->n ? ks->v[i].k : NULL;
}

const tpa_token_key *tpa_token_keyset_previous(const tpa_token_keyset *ks, int64_t now)
{
	size_t i;

	if (!ks)
		return NULL;
	i = keyset_find(ks, now, TPA_KEY_RETIRED);
	return i < ks->n ? ks->v[i].k : NULL;
}

uint32_t tpa_token_keyset_ttl(const tpa_token_keyset *ks)
{
	return ks ? ks->ttl_s : 0;
}

size_t tpa_token_keyset_count(const tpa_token_keyset *ks)
{
	return ks ? ks->n : 0;
}

int tpa_token_keyset_info(tpa_token_keyinfo *out, const tpa_token_keyset *ks, size_t i,
			  int64_t now)
{
	tpa_token_key_state st[TPA_KEYSET_MAX];
	int64_t at[TPA_KEYSET_MAX];
	const struct keyslot *e;

	if (!out || !ks || i >= ks->n)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "key set: no key %zu", i);
	keyset_view(ks, now, st, at);
	e = &ks->v[i];
	memset(out, 0, sizeof(*out));
	out->kid = e->k->kid;
	out->state = st[i];
	out->created_at = e->created_at;
	out->activate_at = e->activate_at;
	out->ttl_s = e->ttl_s;
	if (st[i] == TPA_KEY_RETIRED || st[i] == TPA_KEY_GONE) {
		out->retired_at = at[i];
		out->published_until = at[i] + (int64_t)e->ttl_s + TPA_TOKEN_CLOCK_SKEW_S;
	}
	return 0;
}

void tpa_token_keyset_free(tpa_token_keyset *ks)
{
	size_t i;

	if (!ks)
		return;
	for (i = 0; i < ks->n; i++)
		tpa_token_key_free(ks->v[i].k);
	free(ks);
}

/* The file's contents, at most max bytes (NUL-terminated, malloc'd); the
 * caller cleanses them. 1 if there is no file. */
static int read_secret(char **out, size_t *len, const char *path, size_t max)
{
	char *buf;
	size_t n;
	FILE *f;

	if (!(f = fopen(path, "rb"))) {
		if (errno == ENOENT)
			return 1;
		return tpa_err_fail(TPA_ERR_IO, "token key %s: %s", path, strerror(errno));
	}
	if (!(buf = malloc(max + 1))) {
		fclose(f);
		return tpa_err_fail(TPA_ERR_NOMEM, "token key: out of memory");
	}
	n = fread(buf, 1, max + 1, f);
	fclose(f);
	if (n > max) {
		OPENSSL_cleanse(buf, max + 1);
		free(buf);
		return tpa_err_fail(TPA_ERR_LIMIT, "token key %s: larger than %zu bytes", path,
				    max);
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* A private P-256 JWK (a JSON object) as a key; what names it in errors. */
static int key_from_json(tpa_token_key **out, json_t *jwk, const char *what)
{
	const char *crv = NULL;
	char *text;
	cjose_jwk_t *cj;
	cjose_err e;

	if (!json_is_object(jwk) || json_unpack(jwk, "{s:s}", "crv", &crv) != 0 ||
	    strcmp(crv, "P-256") != 0)
		return tpa_err_fail(TPA_ERR_PARSE, "%s: not a P-256 JWK", what);
	if (!(text = json_dumps(jwk, JSON_COMPACT)))
		return tpa_err_fail(TPA_ERR_NOMEM, "%s: out of memory", what);
	cj = cjose_jwk_import(text, strlen(text), &e);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	if (!cj)
		return tpa_err_fail(TPA_ERR_PARSE, "%s: not a JWK", what);
	if (!cjose_jwk_get_keydata(cj, NULL) || !json_object_get(jwk, "d")) {
		cjose_jwk_release(cj);
		return tpa_err_fail(TPA_ERR_PARSE, "%s: no private key", what);
	}
	return key_wrap(out, cj);
}

static int time_member(int64_t *out, json_t *o, const char *name, int required,
		       const char *what)
{
	json_t *v = json_object_get(o, name);

	*out = 0;
	if (!v && !required)
		return 0;
	if (!json_is_string(v) || tpa_time_parse_iso(out, json_string_value(v)) < 0)
		return tpa_err_fail(TPA_ERR_PARSE, "%s: %s is not an ISO 8601 time", what, name);
	return 0;
}

/* One entry of the file's "keys". */
static int slot_from_json(struct keyslot *e, json_t *o, size_t i, const char *path)
{
	static const char *const known[] = { "state", "created_at", "activate_at", "retired_at",
					     "ttl_s", "jwk", NULL };
	char what[4200];
	const char *key, *st;
	json_t *v, *ttl;
	size_t j;
	int err;

	snprintf(what, sizeof(what), "token key set %s: key %zu", path, i + 1);
	if (!json_is_object(o))
		return tpa_err_fail(TPA_ERR_PARSE, "%s: not an object", what);
	json_object_foreach(o, key, v) {
		for (j = 0; known[j] && strcmp(known[j], key) != 0; j++)
			;
		if (!known[j])
			return tpa_err_fail(TPA_ERR_PARSE, "%s: unknown member \"%.40s\"", what,
					    key);
	}
	if (!json_is_string(v = json_object_get(o, "state")))
		return tpa_err_fail(TPA_ERR_PARSE, "%s: no state", what);
	st = json_string_value(v);
	for (j = 0; j < TPA_KEY_GONE && strcmp(st, state_names[j]) != 0; j++)
		;
	if (j == TPA_KEY_GONE)
		return tpa_err_fail(TPA_ERR_PARSE, "%s: state is not next, active or retired",
				    what);
	e->state = (tpa_token_key_state)j;
	ttl = json_object_get(o, "ttl_s");
	if (!json_is_integer(ttl) || json_integer_value(ttl) < 1 ||
	    json_integer_value(ttl) > TPA_TOKEN_MAX_TTL_S)
		return tpa_err_fail(TPA_ERR_PARSE, "%s: ttl_s is not in 1..%d", what,
				    TPA_TOKEN_MAX_TTL_S);
	e->ttl_s = (uint32_t)json_integer_value(ttl);
	if ((err = time_member(&e->created_at, o, "created_at", 0, what)) < 0 ||
	    (err = time_member(&e->activate_at, o, "activate_at", e->state == TPA_KEY_NEXT,
			       what)) < 0 ||
	    (err = time_member(&e->retired_at, o, "retired_at", e->state == TPA_KEY_RETIRED,
			       what)) < 0)
		return err;
	return key_from_json(&e->k, json_object_get(o, "jwk"), what);
}

static int keyset_check(const tpa_token_keyset *ks, const char *path)
{
	size_t i, j, active = 0, next = 0;

	for (i = 0; i < ks->n; i++) {
		active += ks->v[i].state == TPA_KEY_ACTIVE;
		next += ks->v[i].state == TPA_KEY_NEXT;
		for (j = 0; j < i; j++)
			if (strcmp(ks->v[i].k->kid, ks->v[j].k->kid) == 0)
				return tpa_err_fail(TPA_ERR_PARSE, "token key set %s: key %s "
						    "twice", path, ks->v[i].k->kid);
	}
	if (active != 1 || next > 1)
		return tpa_err_fail(TPA_ERR_PARSE, "token key set %s: %zu active and %zu next "
				    "keys (one active, at most one next)", path, active, next);
	return 0;
}

static int keyset_parse(tpa_token_keyset *ks, json_t *j, const char *path)
{
	json_t *keys = json_object_get(j, "keys"), *ttl = json_object_get(j, "token_ttl_s"), *v;
	const char *key;
	size_t i;
	int err;

	json_object_foreach(j, key, v)
		if (strcmp(key, "tpa_token_keys") != 0 && strcmp(key, "token_ttl_s") != 0 &&
		    strcmp(key, "keys") != 0)
			return tpa_err_fail(TPA_ERR_PARSE, "token key set %s: unknown member "
					    "\"%.40s\"", path, key);
	if (!json_is_integer(v = json_object_get(j, "tpa_token_keys")) ||
	    json_integer_value(v) != KEYSET_FORMAT)
		return tpa_err_fail(TPA_ERR_PARSE, "token key set %s: not format %d", path,
				    KEYSET_FORMAT);
	if (!json_is_integer(ttl) || json_integer_value(ttl) < 1 ||
	    json_integer_value(ttl) > TPA_TOKEN_MAX_TTL_S)
		return tpa_err_fail(TPA_ERR_PARSE, "token key set %s: token_ttl_s is not in 1..%d",
				    path, TPA_TOKEN_MAX_TTL_S);
	ks->ttl_s = (uint32_t)json_integer_value(ttl);
	if (!json_is_array(keys) || json_array_size(keys) < 1 ||
	    json_array_size(keys) > TPA_KEYSET_MAX)
		return tpa_err_fail(TPA_ERR_PARSE, "token key set %s: keys is not an array of "
				    "1..%d keys", path, TPA_KEYSET_MAX);
	for (i = 0; i < json_array_size(keys); i++) {
		if ((err = slot_from_json(&ks->v[i], json_array_get(keys, i), i, path)) < 0)
			return err;
		ks->n++;
	}
	return keyset_check(ks, path);
}

/* A file from before key sets: FILE the active key, FILE.previous retired
 * when FILE was written (the rotation that made it). */
static int keyset_legacy(tpa_token_keyset *ks, const char *path)
{
	char prev[4096];
	struct stat sb;
	int err;

	if ((err = tpa_token_key_load(&ks->v[0].k, path, 0)) < 0)
		return err;
	ks->v[0].state = TPA_KEY_ACTIVE;
	ks->v[0].ttl_s = ks->ttl_s;
	ks->n = 1;
	ks->legacy = 1;
	if ((size_t)snprintf(prev, sizeof(prev), "%s.previous", path) >= sizeof(prev))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token key: path too long");
	if (access(prev, F_OK) != 0)
		return 0;
	if ((err = tpa_token_key_load(&ks->v[1].k, prev, 0)) < 0)
		return err;
	ks->v[1].state = TPA_KEY_RETIRED;
	ks->v[1].ttl_s = ks->ttl_s;
	/* Unknown, if FILE cannot be looked at: now, the safe side. */
	ks->v[1].retired_at = stat(path, &sb) == 0 ? (int64_t)sb.st_mtime : (int64_t)time(NULL);
	ks->n = 2;
	if (strcmp(ks->v[0].k->kid, ks->v[1].k->kid) == 0)
		return tpa_err_fail(TPA_ERR_PARSE, "token key %s: the same key as %s", prev, path);
	return 0;
}

static int keyset_signer_copy(tpa_token_key **out, const char *path)
{
	tpa_token_keyset *ks = NULL;
	const tpa_token_key *k;
	cjose_err e;
	int err;

	if ((err = tpa_token_keyset_load(&ks, path, 0)) < 0)
		return err;
	k = tpa_token_keyset_signer(ks, (int64_t)time(NULL));
	if (!cjose_jwk_retain(k->jwk, &e))
		err = cj_fail("token key", &e);
	else
		err = key_wrap(out, k->jwk);
	tpa_token_keyset_free(ks);
	return err;
}

int tpa_token_keyset_load(tpa_token_keyset **out, const char *path, long create)
{
	tpa_token_keyset *ks;
	json_t *j = NULL;
	char *buf = NULL;
	size_t len = 0;
	int err;

	if (!out || !path || !*path)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token key set: no path");
	if (!(ks = calloc(1, sizeof(*ks))))
		return tpa_err_fail(TPA_ERR_NOMEM, "token key set: out of memory");
	ks->ttl_s = TPA_TOKEN_MAX_TTL_S;
	if ((err = read_secret(&buf, &len, path, KEYSET_FILE_MAX)) == 1) {
		int64_t now = (int64_t)time(NULL);

		if (create < 1 || create > TPA_TOKEN_MAX_TTL_S) {
			err = tpa_err_fail(TPA_ERR_NOT_FOUND, "token key %s: no such file", path);
			goto out;
		}
		if ((err = tpa_token_key_new(&ks->v[0].k)) < 0)
			goto out;
		ks->v[0].state = TPA_KEY_ACTIVE;
		ks->v[0].created_at = ks->v[0].activate_at = now;
		ks->ttl_s = (uint32_t)create;
		ks->v[0].ttl_s = ks->ttl_s;
		ks->n = 1;
		err = tpa_token_keyset_save(ks, path, now);
		goto out;
	}
	if (err < 0)
		goto out;
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (!json_is_object(j))
		err = tpa_err_fail(TPA_ERR_PARSE, "token key %s: not JSON (a key set or a JWK)",
				   path);
	else if (json_object_get(j, "kty"))
		err = keyset_legacy(ks, path);
	else
		err = keyset_parse(ks, j, path);
out:
	/* jansson does not cleanse what it frees; the text is cleansed above. */
	json_decref(j);
	if (err < 0) {
		tpa_token_keyset_free(ks);
		return err;
	}
	*out = ks;
	return 0;
}

/* Writes down what time did and drops the keys gone. */
static void keyset_settle(tpa_token_keyset *ks, int64_t now)
{
	tpa_token_key_state st[TPA_KEYSET_MAX];
	int64_t at[TPA_KEYSET_MAX];
	size_t i, n = 0;

	keyset_view(ks, now, st, at);
	for (i = 0; i < ks->n; i++) {
		if (st[i] == TPA_KEY_GONE) {
			tpa_token_key_free(ks->v[i].k);
			continue;
		}
		ks->v[n] = ks->v[i];
		ks->v[n].state = st[i];
		ks->v[n].retired_at = at[i];
		n++;
	}
	ks->n = n;
}

static json_t *iso_json(int64_t t)
{
	char buf[TPA_TIME_ISO_LEN + 1];

	return tpa_time_iso(buf, sizeof(buf), t) < 0 ? NULL : json_string(buf);
}

int tpa_token_keyset_save(tpa_token_keyset *ks, const char *path, int64_t now)
{
	json_t *j = json_object(), *arr = json_array();
	char *text = NULL;
	size_t i;
	int bad = !j || !arr, err;

	if (!ks || !path)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "token key set: NULL");
	keyset_settle(ks, now);
	SET(j, "tpa_token_keys", json_integer(KEYSET_FORMAT));
	SET(j, "token_ttl_s", json_integer(ks->ttl_s));
	for (i = 0; !bad && i < ks->n; i++) {
		const struct keyslot *e = &ks->v[i];
		json_t *o = json_object(), *jwk;
		char *priv;
		cjose_err ce;

		if (!o || !(priv = cjose_jwk_to_json(e->k->jwk, true, &ce))) {
			json_decref(o);
			bad = 1;
			break;
		}
		jwk = json_loads(priv, 0, NULL);
		OPENSSL_cleanse(priv, strlen(priv));
		cjose_get_dealloc()(priv);
		SET(o, "state", json_string(state_names[e->state]));
		if (e->created_at)
			SET(o, "created_at", iso_json(e->created_at));
		if (e->activate_at)
			SET(o, "activate_at", iso_json(e->activate_at));
		if (e->state == TPA_KEY_RETIRED)
			SET(o, "retired_at", iso_json(e->retired_at));
		SET(o, "ttl_s", json_integer(e->ttl_s));
		SET(o, "jwk", jwk);
		bad |= json_array_append_new(arr, o) != 0;
	}
	SET(j, "keys", arr);
	if (bad || !(text = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER))) {
		json_decref(j);
		return tpa_err_fail(TPA_ERR_NOMEM, "token key set: cannot build");
	}
	json_decref(j);
	err = tpa_file_write_atomic(path, text, strlen(text), 0600);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	if (err < 0)
		return err;
	if (ks->legacy) {
		/* FILE now holds the previous key too. */
		char prev[4096];

		if ((size_t)snprintf(prev, sizeof(prev), "%s.previous", path) < sizeof(prev))
			unlink(prev);
		ks->legacy = 0;
	}
	return 0;
}

int tpa_token_keyset_jwks(char **out, const tpa_token_keyset *ks, int64_t now)
{
	tpa_token_key_state st[TPA_KEYSET_MAX];
	int64_t at[TPA_KEYSET_MAX];
	const tpa_token_key *keys[TPA_KEYSET_MAX];
	char *base = NULL;
	json_t *j;
	size_t i, n = 0;
	int64_t refresh;
	int bad = 0, err;

	if (!out || !ks)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "JWKS: NULL");
	keyset_view(ks, now, st, at);
	/* The signing key first, then the next one, then the retired ones. */
	for (i = 0; i < ks->n; i++)
		if (st[i] == TPA_KEY_ACTIVE)
			keys[n++] = ks->v[i].k;
	for (i = 0; i < ks->n; i++)
		if (st[i] == TPA_KEY_NEXT)
			keys[n++] = ks->v[i].k;
	for (i = 0; i < ks->n; i++)
		if (st[i] == TPA_KEY_RETIRED)
			keys[n++] = ks->v[i].k;
	if ((err = tpa_token_jwks(&base, keys, n)) < 0)
		return err;
	j = json_loads(base, 0, NULL);
	free(base);
	if (!j)
		return tpa_err_fail(TPA_ERR_NOMEM, "JWKS: cannot build");
	/* A boundary, not now + an interval: every verifier serving the set
	 * gives the same JWKS. */
	refresh = (now / TPA_JWKS_REFRESH_S + 1) * TPA_JWKS_REFRESH_S;
	SET(j, "tpa_refresh_after", iso_json(refresh));
	if (bad || !(*out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
		json_decref(j);
		return tpa_err_fail(TPA_ERR_NOMEM, "JWKS: cannot build");
	}
	json_decref(j);
	return 0;
}

int tpa_token_keyset_rotate(tpa_token_keyset *ks, int64_t now, int64_t delay_s, int replace,
			    uint32_t ttl_s, char *kid_out, size_t kid_cap)
{
	char when[TPA_TIME_ISO_LEN + 1];
	struct keyslot *e;
	size_t i;
	int err;

	if (!ks || delay_s < 0 || delay_s > 10LL * 366 * 86400 || ttl_s > TPA_TOKEN_MAX_TTL_S)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "key rotate: bad arguments");
	keyset_settle(ks, now);
	for (i = 0; i < ks->n; i++) {
		if (ks->v[i].state != TPA_KEY_NEXT)
			continue;
		tpa_time_iso(when, sizeof(when), ks->v[i].activate_at);
		if (!replace)
			return tpa_err_fail(TPA_ERR_CONFLICT, "key rotate: key %s is next already "
					    "(signs from %s); --replace-next replaces it",
					    ks->v[i].k->kid, when);
		if (ks->v[i].activate_at - now <= TPA_TOKEN_CLOCK_SKEW_S)
			return tpa_err_fail(TPA_ERR_CONFLICT, "key rotate: key %s signs from %s: "
					    "too close to replace (a verifier whose clock is "
					    "ahead may sign with it); keys activate it",
					    ks->v[i].k->kid, when);
		tpa_token_key_free(ks->v[i].k);
		memmove(&ks->v[i], &ks->v[i + 1], (ks->n - i - 1) * sizeof(ks->v[0]));
		ks->n--;
		break;
	}
	if (ks->n >= TPA_KEYSET_MAX) {
		int64_t first = INT64_MAX;

		for (i = 0; i < ks->n; i++)
			if (ks->v[i].state == TPA_KEY_RETIRED &&
			    ks->v[i].retired_at + ks->v[i].ttl_s + TPA_TOKEN_CLOCK_SKEW_S < first)
				first = ks->v[i].retired_at + ks->v[i].ttl_s +
					TPA_TOKEN_CLOCK_SKEW_S;
		tpa_time_iso(when, sizeof(when), first);
		return tpa_err_fail(TPA_ERR_LIMIT, "key rotate: the set holds %d keys, the most; "
				    "its oldest retired key still verifies tokens until %s",
				    TPA_KEYSET_MAX, when);
	}
	if (ttl_s) {
		/* A key keeps the longest lifetime its tokens may have had. */
		for (i = 0; i < ks->n; i++)
			if (ks->v[i].state == TPA_KEY_ACTIVE && ks->v[i].ttl_s < ttl_s)
				ks->v[i].ttl_s = ttl_s;
		ks->ttl_s = ttl_s;
	}
	e = &ks->v[ks->n];
	memset(e, 0, sizeof(*e));
	if ((err = tpa_token_key_new(&e->k)) < 0)
		return err;
	e->state = TPA_KEY_NEXT;
	e->created_at = now;
	e->activate_at = now + delay_s;
	e->ttl_s = ks->ttl_s;
	ks->n++;
	if (kid_out && kid_cap)
		snprintf(kid_out, kid_cap, "%s", e->k->kid);
	return 0;
}

int tpa_token_keyset_activate(tpa_token_keyset *ks, const char *kid, int64_t now)
{
	size_t i, a = 0, x;

	if (!ks)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "key activate: NULL");
	keyset_settle(ks, now);
	for (x = 0; x < ks->n && ks->v[x].state != TPA_KEY_NEXT; x++)
		;
	for (i = 0; i < ks->n; i++)
		if (ks->v[i].state == TPA_KEY_ACTIVE)
			a = i;
	if (kid && strcmp(kid, ks->v[a].k->kid) == 0 && x == ks->n)
		return 0; /* active already */
	if (x == ks->n)
		return tpa_err_fail(TPA_ERR_NOT_FOUND, "key activate: no next key (keys rotate "
				    "adds one)");
	if (kid && strcmp(kid, ks->v[x].k->kid) != 0)
		return tpa_err_fail(TPA_ERR_NOT_FOUND, "key activate: %.64s is not the next key "
				    "(%s is)", kid, ks->v[x].k->kid);
	ks->v[a].state = TPA_KEY_RETIRED;
	ks->v[a].retired_at = now;
	ks->v[x].state = TPA_KEY_ACTIVE;
	ks->v[x].activate_at = now;
	return 0;
}
