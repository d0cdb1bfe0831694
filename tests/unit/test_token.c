/* SPDX-License-Identifier: BSD-3-Clause */
/* Tokens: signing keys (files, rotation), signing and verifying with their
 * negatives, and tokens as a relying party checks them: the limits on what
 * the verifier signs, and tokens built by hand (headers, payloads and
 * encodings the verifier never makes) signed ES256 with a real key through
 * OpenSSL, so that the rule under test is the only reason to refuse each one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <cjose/cjose.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "testutil.h"
#include "tpa/err.h"
#include "tpa/service.h"
#include "tpa/token.h"

/* ---- what the verifier signs ---- */

static void test_sign_lifetime(void)
{
	tpa_token_key *k = NULL;
	tpa_token_claims c;
	tpa_service_opts so;
	tpa_service *svc = NULL;
	char *tok = NULL;

	CU_ASSERT_EQUAL_FATAL(tpa_token_key_new(&k), 0);
	memset(&c, 0, sizeof(c));
	c.status = "affirming";
	c.iat = 1000;

	c.ttl_s = 0;
	CU_ASSERT_EQUAL(tpa_token_sign(&tok, k, &c), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "lifetime 0 s is not in 1..") != NULL);
	c.ttl_s = TPA_TOKEN_MAX_TTL_S + 1;
	CU_ASSERT_EQUAL(tpa_token_sign(&tok, k, &c), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "lifetime") != NULL);
	CU_ASSERT_PTR_NULL(tok);
	c.ttl_s = 60;
	c.iat = -1;
	CU_ASSERT_EQUAL(tpa_token_sign(&tok, k, &c), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "iat -1 out of range") != NULL);
	c.iat = INT64_MAX - 10;
	CU_ASSERT_EQUAL(tpa_token_sign(&tok, k, &c), TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(tok);
	/* The maximum itself is signed. */
	c.iat = 1000;
	c.ttl_s = TPA_TOKEN_MAX_TTL_S;
	CU_ASSERT_EQUAL(tpa_token_sign(&tok, k, &c), 0);
	CU_ASSERT_PTR_NOT_NULL(tok);
	free(tok);

	/* A service never starts with a lifetime it could not sign. */
	memset(&so, 0, sizeof(so));
	so.key = k;
	so.token_ttl_s = TPA_TOKEN_MAX_TTL_S + 1;
	CU_ASSERT_EQUAL(tpa_service_new(&svc, &so), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "token lifetime") != NULL);
	CU_ASSERT_PTR_NULL(svc);
	so.token_ttl_s = TPA_TOKEN_MAX_TTL_S;
	CU_ASSERT_EQUAL(tpa_service_new(&svc, &so), 0);
	tpa_service_free(svc);
	tpa_token_key_free(k);
}

/* ---- tokens by hand ---- */

#define KID "test-key-1"
#define NOW 1700000000LL
#define GOOD_HDR "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"" KID "\"}"

static EVP_PKEY *rp_key;    /* the signer's key */
static char rp_jwk[512];    /* its public JWK, kid KID */
static char rp_jwks[600];   /* a JWKS of it */
static tpa_token_verifier *rp_tv; /* that JWKS imported */

/* base64url of bytes, canonical (cjose's encoder); malloc'd. */
static char *b64(const void *b, size_t n)
{
	char *enc = NULL, *out;
	size_t len = 0;
	cjose_err e;

	if (!cjose_base64url_encode(b, n, &enc, &len, &e))
		return NULL;
	out = strndup(enc, len);
	cjose_get_dealloc()(enc);
	return out;
}

static int keys_init(void)
{
	BIGNUM *x = NULL, *y = NULL;
	uint8_t xb[32], yb[32];
	char *xs = NULL, *ys = NULL;
	int ok;

	if (!(rp_key = EVP_EC_gen("P-256")))
		return -1;
	ok = EVP_PKEY_get_bn_param(rp_key, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
	     EVP_PKEY_get_bn_param(rp_key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
	     BN_bn2binpad(x, xb, 32) == 32 && BN_bn2binpad(y, yb, 32) == 32 &&
	     (xs = b64(xb, 32)) && (ys = b64(yb, 32));
	if (ok) {
		snprintf(rp_jwk, sizeof(rp_jwk), "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\""
			 KID "\",\"x\":\"%s\",\"y\":\"%s\"}", xs, ys);
		snprintf(rp_jwks, sizeof(rp_jwks), "{\"keys\":[%s]}", rp_jwk);
		ok = tpa_token_verifier_new(&rp_tv, rp_jwks) == 0;
	}
	BN_free(x);
	BN_free(y);
	free(xs);
	free(ys);
	return ok ? 0 : -1;
}

static int keys_clean(void)
{
	tpa_token_verifier_free(rp_tv);
	EVP_PKEY_free(rp_key);
	return 0;
}

/* The ES256 signature (R || S, base64url) of input with rp_key; malloc'd. */
static char *es256(const char *input)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[80], rs[64];
	const uint8_t *p = der;
	size_t dl = sizeof(der);
	ECDSA_SIG *sig = NULL;
	char *out = NULL;

	if (md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, rp_key) == 1 &&
	    EVP_DigestSign(md, der, &dl, (const uint8_t *)input, strlen(input)) == 1 &&
	    (sig = d2i_ECDSA_SIG(NULL, &p, (long)dl)) &&
	    BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32) == 32 &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32) == 32)
		out = b64(rs, sizeof(rs));
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	return out;
}

/* "h64.p64.sig": the two segments as given, whatever they hold, and a
 * valid signature over them; malloc'd. */
static char *token_raw(const char *h64, const char *p64)
{
	size_t n = strlen(h64) + strlen(p64) + 2;
	char *t = malloc(n + 90), *sig;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	snprintf(t, n, "%s.%s", h64, p64);
	sig = es256(t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sig);
	snprintf(t + strlen(t), n + 90 - strlen(t), ".%s", sig);
	free(sig);
	return t;
}

/* The same from the header's and the payload's JSON text. */
static char *token_json(const char *hdr, const char *payload)
{
	char *h = b64(hdr, strlen(hdr)), *p = b64(payload, strlen(payload)), *t;

	CU_ASSERT_FATAL(h && p);
	t = token_raw(h, p);
	free(h);
	free(p);
	return t;
}

/* Claims the way the verifier writes them (what matters here). */
static const char *claims_text(long long iat, long long exp, const char *status)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "{\"eat_profile\":\"" TPA_EAR_PROFILE "\",\"iat\":%lld,"
		 "\"exp\":%lld,\"submods\":{\"" TPA_EAR_SUBMOD "\":{\"ear.status\":\"%s\"}}}",
		 iat, exp, status);
	return buf;
}

static char *good_token(void)
{
	return token_json(GOOD_HDR, claims_text(NOW, NOW + 3600, "affirming"));
}

/* The token checked both ways (one JWK, the JWKS): the same code for both,
 * 0 or the error; *why the message. */
static int check(const char *tok, const char **why)
{
	char *claims = NULL, msg[512];
	tpa_token_accepted acc;
	int e1, e2, e3, want3;

	e1 = tpa_token_verify(&claims, rp_jwk, tok, NOW);
	free(claims);
	claims = NULL;
	e2 = tpa_token_verify_jwks(&claims, rp_jwks, tok, NOW, NULL, 0);
	/* The verifier with its keys imported once reads the token the same
	 * way, and judges the status as tpa_token_accept_status does. */
	want3 = e2 < 0 ? e2 : tpa_token_accept_status(claims, 1);
	snprintf(msg, sizeof(msg), "%s", want3 < 0 ? tpa_err_last() : "");
	free(claims);
	e3 = tpa_token_verifier_accept(&acc, rp_tv, tok, NOW, 1);
	CU_ASSERT_EQUAL(e3, want3);
	if (e3 < 0 && strcmp(msg, tpa_err_last()) != 0) {
		fprintf(stderr, "\n  verifier: /%s/, verify: /%s/\n", tpa_err_last(), msg);
		CU_FAIL("the verifier refuses for another reason");
	}
	if (e2 < 0)
		tpa_err_fail(e2, "%s", msg);   /* *why: the verify functions' reason */
	*why = tpa_err_last();
	CU_ASSERT_EQUAL(e1, e2);
	return e2;
}

/* Refused by both, the message naming want. */
#define REFUSED(tok, want) do { \
		const char *why_; \
		CU_ASSERT(check((tok), &why_) < 0); \
		if (!strstr(why_, (want))) { \
			fprintf(stderr, "\n  expected /%s/, got /%s/\n", (want), why_); \
			CU_FAIL("refused for another reason"); \
		} \
	} while (0)

static void test_handmade_good(void)
{
	char *t = good_token(), *claims = NULL;
	const char *why;

	/* The harness makes tokens the verifier accepts: what the tests below
	 * change is the only reason to refuse them. */
	CU_ASSERT_EQUAL(check(t, &why), 0);
	CU_ASSERT_EQUAL(tpa_token_verify_jwks(&claims, rp_jwks, t, NOW, NULL, 0), 0);
	CU_ASSERT(claims && strstr(claims, "\"ear.status\":\"affirming\""));
	free(claims);
	free(t);
}

/* tok with segment idx replaced by seg; malloc'd. */
static char *with_segment(const char *tok, int idx, const char *seg)
{
	const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
	size_t n = strlen(tok) + strlen(seg) + 1;
	char *t = malloc(n);

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	if (idx == 0)
		snprintf(t, n, "%s%s", seg, d1);
	else if (idx == 1)
		snprintf(t, n, "%.*s.%s%s", (int)(d1 - tok), tok, seg, d2);
	else
		snprintf(t, n, "%.*s.%s", (int)(d2 - tok), tok, seg);
	return t;
}

static char *concat(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 1;
	char *t = malloc(n);

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	snprintf(t, n, "%s%s", a, b);
	return t;
}

/* tok with suffix appended is refused for want. */
static void refused_with(const char *tok, const char *suffix, const char *want)
{
	char *v = concat(tok, suffix);

	REFUSED(v, want);
	free(v);
}

/* A token of the good segment and seg (the header if idx is 0, else the
 * payload), signed as it stands, is refused for want. */
static void signed_refused(int idx, const char *good, const char *seg, const char *want)
{
	char *t = idx ? token_raw(good, seg) : token_raw(seg, good);

	REFUSED(t, want);
	free(t);
}

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* s (malloc'd, length n % 4 of 2 or 3) with its last character's unused
 * bits set: the same bytes to a lax decoder, another text. */
static void set_unused_bits(char *s)
{
	size_t n = strlen(s);
	int v = (int)(strchr(b64chars, s[n - 1]) - b64chars);

	CU_ASSERT_FATAL(n % 4 == 2 || n % 4 == 3);
	s[n - 1] = b64chars[v | (n % 4 == 2 ? 0x0f : 0x03)];
}

static void test_canonical_signature(void)
{
	static const char *const extra[] = { "=", "==", " ", "\n", "~", "%3D" };
	char *t = good_token(), *v, *sig, *bad;
	const char *d2 = strrchr(t, '.');
	size_t i;

	/* An extra character: padding, white space, anything else. */
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		refused_with(t, extra[i], "the signature segment has byte 0x");
	/* One more base64url character: 65 bytes, or an impossible length. */
	refused_with(t, "A", "the signature is 65 bytes, ES256 makes 64");
	refused_with(t, "AAA", "the signature segment is 89 characters: no base64url has that "
		     "length");
	/* The same 64 bytes with other bits in the last character. */
	sig = strdup(d2 + 1);
	set_unused_bits(sig);
	v = with_segment(t, 2, sig);
	REFUSED(v, "the signature segment is not canonical base64url");
	free(v);
	free(sig);
	/* '+' and '/', standard base64 for '-' and '_': until a signature has
	 * one of them (almost every one does). */
	for (i = 0; i < 64; i++) {
		char *p;

		free(t);
		t = good_token();
		sig = strdup(strrchr(t, '.') + 1);
		if (!(p = strpbrk(sig, "-_"))) {
			free(sig);
			continue;
		}
		*p = *p == '-' ? '+' : '/';
		bad = with_segment(t, 2, sig);
		REFUSED(bad, "not base64url");
		free(bad);
		free(sig);
		break;
	}
	CU_ASSERT(i < 64);
	/* A short signature. */
	v = with_segment(t, 2, "AAAA");
	REFUSED(v, "the signature is 3 bytes, ES256 makes 64");
	free(v);
	free(t);
}

static void test_canonical_header_payload(void)
{
	const char *pay = claims_text(NOW, NOW + 3600, "affirming");
	char padded[600], *h = b64(GOOD_HDR, strlen(GOOD_HDR)), *p, *t, *seg;
	int i;

	/* A payload whose encoding ends in a partial group. */
	snprintf(padded, sizeof(padded), "%s%s", pay, strlen(pay) % 3 ? "" : " ");
	p = b64(padded, strlen(padded));
	CU_ASSERT_FATAL(h && p && strlen(h) % 4 && strlen(p) % 4);
	t = token_raw(h, p);
	{
		const char *why;

		CU_ASSERT_EQUAL(check(t, &why), 0);
	}
	free(t);

	/* Each variant of the header, then of the payload, signed as it
	 * stands: only the encoding is wrong. */
	for (i = 0; i < 2; i++) {
		static const char *const extra[] = { "=", "==", "===", " ", "\t", "~", "\"" };
		const char *name = i ? "payload" : "header";
		char want[80];
		size_t x;

		seg = strdup(i ? p : h);
		set_unused_bits(seg);
		snprintf(want, sizeof(want), "the %s segment is not canonical base64url", name);
		signed_refused(i, i ? h : p, seg, want);
		free(seg);
		snprintf(want, sizeof(want), "the %s segment has byte 0x", name);
		for (x = 0; x < sizeof(extra) / sizeof(extra[0]); x++) {
			seg = concat(i ? p : h, extra[x]);
			signed_refused(i, i ? h : p, seg, want);
			free(seg);
		}
		/* '+' and '/', where a '-' or '_' could be. */
		for (x = 0; x < 2; x++) {
			seg = strdup(i ? p : h);
			seg[3] = x ? '/' : '+';
			signed_refused(i, i ? h : p, seg, want);
			free(seg);
		}
		/* An impossible length: one character more than a full group. */
		seg = strdup(i ? p : h);
		while (strlen(seg) % 4 != 1) {
			char *longer = concat(seg, "A");

			free(seg);
			seg = longer;
		}
		snprintf(want, sizeof(want), "the %s segment is %zu characters: no base64url",
			 name, strlen(seg));
		signed_refused(i, i ? h : p, seg, want);
		free(seg);
	}
	free(h);
	free(p);
}

static void test_segments(void)
{
	char *t = good_token(), *v, *h, *p;
	const char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');

	h = strndup(t, (size_t)(d1 - t));
	p = strndup(d1 + 1, (size_t)(d2 - d1 - 1));
	CU_ASSERT_FATAL(h && p);
	/* A fourth segment, empty or not. */
	refused_with(t, ".", "not a compact JWS: 4 segments, not 3");
	refused_with(t, ".AAAA", "4 segments");
	refused_with(t, "..", "5 segments");
	/* Two segments, one. */
	v = strndup(t, (size_t)(d2 - t));
	REFUSED(v, "2 segments");
	free(v);
	REFUSED(h, "1 segments");
	/* Empty segments, each signed where it can be. */
	signed_refused(1, h, "", "the payload segment is empty");
	signed_refused(0, p, "", "the header segment is empty");
	v = with_segment(t, 2, "");
	REFUSED(v, "the signature segment is empty");
	free(v);
	REFUSED("..", "the header segment is empty");
	REFUSED("", "token: empty");
	v = malloc(TPA_TOKEN_MAX + 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	memset(v, 'A', TPA_TOKEN_MAX + 1);
	v[TPA_TOKEN_MAX + 1] = '\0';
	REFUSED(v, "token: longer than 65536 bytes");
	free(v);
	free(h);
	free(p);
	free(t);
}

static void test_header_rules(void)
{
	static const struct { const char *hdr, *why; } bad[] = {
		/* crit: this implementation understands no extension */
		{ "{\"alg\":\"ES256\",\"kid\":\"" KID "\",\"crit\":[\"exp\"],\"exp\":1}",
		  "the header has crit" },
		{ "{\"alg\":\"ES256\",\"kid\":\"" KID "\",\"crit\":[\"b64\"],\"b64\":false}",
		  "the header has crit" },
		{ "{\"alg\":\"ES256\",\"kid\":\"" KID "\",\"crit\":[]}", "the header has crit" },
		{ "{\"crit\":null,\"alg\":\"ES256\",\"kid\":\"" KID "\"}", "the header has crit" },
		/* alg: ES256 only, by its exact name */
		{ "{\"alg\":\"none\",\"kid\":\"" KID "\"}", "algorithm none, ES256 required" },
		{ "{\"alg\":\"HS256\",\"kid\":\"" KID "\"}", "algorithm HS256, ES256 required" },
		{ "{\"alg\":\"ES384\",\"kid\":\"" KID "\"}", "algorithm ES384, ES256 required" },
		{ "{\"alg\":\"RS256\",\"kid\":\"" KID "\"}", "algorithm RS256, ES256 required" },
		{ "{\"alg\":\"es256\",\"kid\":\"" KID "\"}", "algorithm es256, ES256 required" },
		{ "{\"alg\":\"ES256 \",\"kid\":\"" KID "\"}", "algorithm ES256 , ES256 required" },
		{ "{\"kid\":\"" KID "\"}", "algorithm missing, ES256 required" },
		{ "{\"alg\":256,\"kid\":\"" KID "\"}", "algorithm not a string, ES256 required" },
		{ "{\"alg\":\"\\u001b[2J\",\"kid\":\"" KID "\"}", "algorithm ?[2J, ES256 required" },
		/* one reading only: a repeated member is refused */
		{ "{\"alg\":\"none\",\"alg\":\"ES256\",\"kid\":\"" KID "\"}", "repeats a member" },
		{ "{\"alg\":\"ES256\",\"alg\":\"ES256\",\"kid\":\"" KID "\"}", "repeats a member" },
		{ "[\"ES256\"]", "not a JSON object" },
		{ "{\"alg\":\"ES256\"", "not a JSON object" },
		{ "{\"alg\":\"ES256\",\"kid\":7}", "kid is not a string" },
	};
	const char *pay = claims_text(NOW, NOW + 3600, "affirming");
	char hdr[400], kid[300];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *t = token_json(bad[i].hdr, pay);

		REFUSED(t, bad[i].why);
		free(t);
	}
	memset(kid, 'k', sizeof(kid) - 1);
	kid[sizeof(kid) - 1] = '\0';
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", kid);
	{
		char *t = token_json(hdr, pay), *claims = NULL;

		REFUSED(t, "kid is longer than 255 bytes");
		free(t);
		/* No kid: one JWK without a kid checks it, a JWKS cannot pick. */
		t = token_json("{\"alg\":\"ES256\"}", pay);
		CU_ASSERT_EQUAL(tpa_token_verify_jwks(&claims, rp_jwks, t, NOW, NULL, 0),
				TPA_ERR_PARSE);
		CU_ASSERT(strstr(tpa_err_last(), "no kid in the header") != NULL);
		CU_ASSERT_PTR_NULL(claims);
		free(t);
		/* Another kid than the JWK's. */
		t = token_json("{\"alg\":\"ES256\",\"kid\":\"other\"}", pay);
		CU_ASSERT_EQUAL(tpa_token_verify(&claims, rp_jwk, t, NOW), TPA_ERR_VERIFY);
		CU_ASSERT(strstr(tpa_err_last(), "key id does not match") != NULL);
		CU_ASSERT_EQUAL(tpa_token_verify_jwks(&claims, rp_jwks, t, NOW, NULL, 0),
				TPA_ERR_VERIFY);
		CU_ASSERT(strstr(tpa_err_last(), "no key in the JWKS has kid other") != NULL);
		free(t);
		/* A token is typ JWT: a signed audit head (same key, another
		 * typ) or a JWS with none is not one, whatever its payload. */
		t = token_json("{\"alg\":\"ES256\",\"typ\":\"tpa-audit-head\",\"kid\":\"" KID "\"}",
			       pay);
		CU_ASSERT_EQUAL(tpa_token_verify(&claims, rp_jwk, t, NOW), TPA_ERR_VERIFY);
		CU_ASSERT(strstr(tpa_err_last(), "type tpa-audit-head, JWT required") != NULL);
		free(t);
		t = token_json("{\"alg\":\"ES256\",\"kid\":\"" KID "\"}", pay);
		CU_ASSERT_EQUAL(tpa_token_verify_jwks(&claims, rp_jwks, t, NOW, NULL, 0),
				TPA_ERR_VERIFY);
		CU_ASSERT(strstr(tpa_err_last(), "type missing, JWT required") != NULL);
		CU_ASSERT_PTR_NULL(claims);
		free(t);
	}
}

/* A JWS of any payload (the audit log's signed heads) is read the same
 * way before its signature is checked. */
static void test_payload_jws(void)
{
	char *t = good_token(), *v, *out = NULL;
	const char *pay = claims_text(NOW, NOW + 3600, "affirming");

	CU_ASSERT_EQUAL(tpa_token_verify_payload(&out, rp_jwks, t, NULL), 0);
	CU_ASSERT(out && strcmp(out, pay) == 0);
	free(out);
	out = NULL;
	CU_ASSERT_EQUAL(tpa_token_verify_payload(&out, rp_jwks, t, "JWT"), 0);
	free(out);
	out = NULL;
	CU_ASSERT_EQUAL(tpa_token_verify_payload(&out, rp_jwks, t, "other+jwt"), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "type JWT, other+jwt required") != NULL);
	v = concat(t, "==");
	CU_ASSERT_EQUAL(tpa_token_verify_payload(&out, rp_jwks, v, NULL), TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), "the signature segment has byte 0x3d") != NULL);
	free(v);
	free(t);
	t = token_json("{\"alg\":\"ES256\",\"kid\":\"" KID "\",\"crit\":[\"x\"],\"x\":1}", pay);
	CU_ASSERT_EQUAL(tpa_token_verify_payload(&out, rp_jwks, t, NULL), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "the header has crit") != NULL);
	free(t);
	t = token_json("{\"alg\":\"ES256\",\"kid\":\"" KID "\",\"typ\":7}", pay);
	CU_ASSERT_EQUAL(tpa_token_verify_payload(&out, rp_jwks, t, NULL), TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), "the header's typ is not a string") != NULL);
	CU_ASSERT_PTR_NULL(out);
	free(t);
}

/* ---- the claims ---- */

#define PROFILE "\"eat_profile\":\"" TPA_EAR_PROFILE "\""

static void accepted(const char *payload)
{
	char *t = token_json(GOOD_HDR, payload);
	const char *why;

	if (check(t, &why) != 0) {
		fprintf(stderr, "\n  %s refused: %s\n", payload, why);
		CU_FAIL("a good token refused");
	}
	free(t);
}

static void refused(const char *payload, const char *want)
{
	char *t = token_json(GOOD_HDR, payload);

	REFUSED(t, want);
	free(t);
}

static void test_time_rules(void)
{
	char buf[512];

	/* Missing or not integers. */
	refused("{" PROFILE ",\"exp\":1700003600}", "no iat claim");
	refused("{" PROFILE ",\"iat\":1700000000}", "no exp claim");
	refused("{" PROFILE "}", "no iat claim");
	refused("{" PROFILE ",\"iat\":1700000000.0,\"exp\":1700003600}", "iat is not an integer");
	refused("{" PROFILE ",\"iat\":\"1700000000\",\"exp\":1700003600}", "iat is not an integer");
	refused("{" PROFILE ",\"iat\":null,\"exp\":1700003600}", "iat is not an integer");
	refused("{" PROFILE ",\"iat\":true,\"exp\":1700003600}", "iat is not an integer");
	refused("{" PROFILE ",\"iat\":1700000000,\"exp\":1.7e9}", "exp is not an integer");
	refused("{" PROFILE ",\"iat\":1700000000,\"exp\":[1700003600]}", "exp is not an integer");
	/* Beyond 64 bits: no JSON number jansson takes. */
	refused("{" PROFILE ",\"iat\":1700000000,\"exp\":99999999999999999999}", "not JSON");
	/* Not an object; a member twice (two readings of exp). */
	refused("[1700000000,1700003600]", "the claims are not a JSON object");
	refused("{" PROFILE ",\"iat\":1700000000,\"exp\":1700003600,\"exp\":1900000000}",
		"not JSON");

	/* exp after iat. */
	refused(claims_text(NOW, NOW, "affirming"), "exp 1700000000 is not after iat 1700000000");
	refused(claims_text(NOW, NOW - 1, "affirming"), "exp 1699999999 is not after iat");
	refused(claims_text(NOW - 7200, NOW - 7201, "affirming"), "is not after iat");
	/* The lifetime: the maximum is taken, a second more is not. */
	accepted(claims_text(NOW - 10, NOW - 10 + TPA_TOKEN_MAX_TTL_S, "affirming"));
	snprintf(buf, sizeof(buf), "a lifetime of %d s, above the maximum of %d s",
		 TPA_TOKEN_MAX_TTL_S + 1, TPA_TOKEN_MAX_TTL_S);
	refused(claims_text(NOW - 10, NOW - 9 + TPA_TOKEN_MAX_TTL_S, "affirming"), buf);
	refused(claims_text(NOW - 10, NOW + 10LL * 365 * 86400, "affirming"), "above the maximum");
	/* iat ahead of now: up to the clock skew. */
	accepted(claims_text(NOW + TPA_TOKEN_CLOCK_SKEW_S, NOW + 3600, "affirming"));
	snprintf(buf, sizeof(buf), "issued %d s in the future (the clock skew allowed is %d s)",
		 TPA_TOKEN_CLOCK_SKEW_S + 1, TPA_TOKEN_CLOCK_SKEW_S);
	refused(claims_text(NOW + TPA_TOKEN_CLOCK_SKEW_S + 1, NOW + 3600, "affirming"), buf);
	/* exp: no skew. */
	accepted(claims_text(NOW - 3599, NOW + 1, "affirming"));
	refused(claims_text(NOW - 3600, NOW, "affirming"), "expired 0 s ago");
	refused(claims_text(NOW - 3601, NOW - 1, "affirming"), "expired 1 s ago");
	/* The extremes of 64 bits: refused, and nothing overflows (UBSan). */
	refused(claims_text(-9223372036854775807LL - 1, 9223372036854775807LL, "affirming"),
		"above the maximum");
	refused(claims_text(9223372036854775806LL, 9223372036854775807LL, "affirming"),
		"in the future");
	refused(claims_text(-9223372036854775807LL - 1, -9223372036854775807LL, "affirming"),
		"expired");
	refused(claims_text(9223372036854775807LL, -9223372036854775807LL - 1, "affirming"),
		"is not after iat");
	/* The profile. */
	snprintf(buf, sizeof(buf), "{\"eat_profile\":\"tag:example.com,2023:other\",\"iat\":%lld,"
		 "\"exp\":%lld}", NOW, NOW + 60);
	refused(buf, "eat_profile is not " TPA_EAR_PROFILE);
}

/* ---- the status a relying party acts on ---- */

/* tpa_token_accept_status of claims with and without accept_warning: 0 or
 * the message must name want. */
static void status_is(const char *claims, int accept_warning, const char *want)
{
	int err = tpa_token_accept_status(claims, accept_warning);

	if (!want) {
		if (err != 0)
			fprintf(stderr, "\n  refused: %s\n", tpa_err_last());
		CU_ASSERT_EQUAL(err, 0);
		return;
	}
	CU_ASSERT_EQUAL(err, TPA_ERR_VERIFY);
	if (!strstr(tpa_err_last(), want)) {
		fprintf(stderr, "\n  expected /%s/, got /%s/\n", want, tpa_err_last());
		CU_FAIL("refused for another reason");
	}
}

#define SUB(body) "{\"submods\":{\"" TPA_EAR_SUBMOD "\":" body "}}"

static void test_status(void)
{
	status_is(SUB("{\"ear.status\":\"affirming\"}"), 0, NULL);
	status_is(SUB("{\"ear.status\":\"affirming\"}"), 1, NULL);
	status_is(SUB("{\"ear.status\":\"warning\"}"), 0, "token status is warning");
	status_is(SUB("{\"ear.status\":\"warning\"}"), 1, NULL);
	status_is(SUB("{\"ear.status\":\"contraindicated\"}"), 0, "token status is contraindicated");
	status_is(SUB("{\"ear.status\":\"contraindicated\"}"), 1, "token status is contraindicated");
	status_is(SUB("{\"ear.status\":\"none\"}"), 1, "token status is none");
	status_is(SUB("{\"ear.status\":\"Affirming\"}"), 1, "token status is Affirming");
	status_is(SUB("{\"ear.status\":\"affirming \"}"), 1, "token status is affirming ");
	status_is(SUB("{\"ear.status\":2}"), 1, "token status is missing");
	status_is(SUB("{}"), 1, "token status is missing");
	status_is(SUB("[]"), 1, "token status is missing");
	status_is("{\"submods\":{}}", 1, "no " TPA_EAR_SUBMOD " submodule");
	status_is("{\"submods\":{\"OTHER\":{\"ear.status\":\"affirming\"}}}", 1,
		  "no " TPA_EAR_SUBMOD " submodule");
	status_is("{\"ear.status\":\"affirming\"}", 1, "no " TPA_EAR_SUBMOD " submodule");
	status_is("not JSON", 1, "no " TPA_EAR_SUBMOD " submodule");
	status_is("{\"submods\":{\"" TPA_EAR_SUBMOD "\":{\"ear.status\":\"affirming\"},"
		  "\"" TPA_EAR_SUBMOD "\":{\"ear.status\":\"contraindicated\"}}}", 1,
		  "no " TPA_EAR_SUBMOD " submodule");
	/* Every submodule counts. */
	status_is("{\"submods\":{\"" TPA_EAR_SUBMOD "\":{\"ear.status\":\"affirming\"},"
		  "\"GPU\":{\"ear.status\":\"contraindicated\"}}}", 1,
		  "token status is contraindicated (submodule GPU)");
	status_is("{\"submods\":{\"" TPA_EAR_SUBMOD "\":{\"ear.status\":\"affirming\"},"
		  "\"GPU\":{\"ear.status\":\"warning\"}}}", 1, NULL);
	/* The reasons, shown as printable text. */
	status_is(SUB("{\"ear.status\":\"contraindicated\",\"tpa.reasons\":[\"quote.nonce: "
		      "extraData is not the nonce\",\"b\",\"c\"]}"), 1,
		  "token status is contraindicated: quote.nonce: extraData is not the nonce "
		  "(and 2 more)");
	status_is(SUB("{\"ear.status\":\"warning\",\"tpa.reasons\":[\"x\\u001b[2Jy\"]}"), 0,
		  "token status is warning: x?[2Jy");
	status_is(SUB("{\"ear.status\":\"\\u001b[2J\"}"), 0, "token status is ?[2J");
	CU_ASSERT_EQUAL(tpa_token_accept_status(NULL, 1), TPA_ERR_INVALID_ARG);
}

/* What the verifier signs, verified and then judged. */
static void test_status_of_signed(void)
{
	static const char *const st[] = { "affirming", "warning", "contraindicated", "none" };
	tpa_token_key *k = NULL;
	tpa_token_claims c;
	char *tok = NULL, *jwk = NULL, *claims = NULL;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(tpa_token_key_new(&k), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_public_jwk(&jwk, k), 0);
	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		memset(&c, 0, sizeof(c));
		c.status = st[i];
		c.iat = NOW;
		c.ttl_s = 60;
		CU_ASSERT_EQUAL_FATAL(tpa_token_sign(&tok, k, &c), 0);
		CU_ASSERT_EQUAL_FATAL(tpa_token_verify(&claims, jwk, tok, NOW), 0);
		CU_ASSERT_EQUAL(tpa_token_accept_status(claims, 0) == 0, i == 0);
		CU_ASSERT_EQUAL(tpa_token_accept_status(claims, 1) == 0, i <= 1);
		if (i > 1)
			CU_ASSERT(strstr(tpa_err_last(), st[i]) != NULL);
		free(claims);
		free(tok);
		claims = tok = NULL;
	}
	free(jwk);
	tpa_token_key_free(k);
}

/* The verifier with the JWKS's keys imported once: which key sets it
 * takes, what it gives of a token it accepts, its references. */
static void test_verifier(void)
{
	static const char *const bad_sets[][2] = {
		{ "not JSON", "not a JWKS" },
		{ "{\"keys\":{}}", "not a JWKS" },
		{ "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\"}]}", "key 0 has no kid" },
		{ "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"c2VjcmV0c2VjcmV0c2VjcmV0c2Vj"
		  "cmV0c2VjcmV0\"}]}", "key h is not an EC P-256 key" },
		{ "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"x\",\"crv\":\"P-256\",\"x\":\"AA\","
		  "\"y\":\"AA\"}]}", "key x is not a JWK" },
	};
	tpa_token_verifier *v = NULL, *v2;
	tpa_token_accepted acc;
	tpa_token_key *k = NULL;
	tpa_token_claims c;
	char *tok = NULL, *jwks = NULL, buf[4096], *tw, *sig;
	const tpa_token_key *keys[1];
	uint64_t hits, misses;
	size_t i, off;

	for (i = 0; i < sizeof(bad_sets) / sizeof(bad_sets[0]); i++) {
		v = (tpa_token_verifier *)1;
		CU_ASSERT(tpa_token_verifier_new(&v, bad_sets[i][0]) < 0);
		CU_ASSERT_PTR_NULL(v);
		if (!strstr(tpa_err_last(), bad_sets[i][1])) {
			fprintf(stderr, "\n  %s: expected /%s/, got /%s/\n", bad_sets[i][0],
				bad_sets[i][1], tpa_err_last());
			CU_FAIL("refused for another reason");
		}
	}
	/* A kid twice; more keys than 16. */
	snprintf(buf, sizeof(buf), "{\"keys\":[%s,%s]}", rp_jwk, rp_jwk);
	CU_ASSERT_EQUAL(tpa_token_verifier_new(&v, buf), TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), "kid " KID " is there twice") != NULL);
	off = (size_t)snprintf(buf, sizeof(buf), "{\"keys\":[");
	for (i = 0; i < 17; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s{\"kid\":\"k%zu\"}",
					i ? "," : "", i);
	snprintf(buf + off, sizeof(buf) - off, "]}");
	CU_ASSERT_EQUAL(tpa_token_verifier_new(&v, buf), TPA_ERR_LIMIT);
	CU_ASSERT(strstr(tpa_err_last(), "17 keys, at most 16") != NULL);
	CU_ASSERT_EQUAL(tpa_token_verifier_new(NULL, rp_jwks), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_token_verifier_new(&v, "{\"keys\":[]}"), 0);
	CU_ASSERT_EQUAL(tpa_token_verifier_count(v), 0);
	CU_ASSERT(tpa_token_verifier_accept(&acc, v, tok = good_token(), NOW, 1) < 0);
	CU_ASSERT(strstr(tpa_err_last(), "no key in the JWKS has kid " KID) != NULL);
	free(tok);
	tpa_token_verifier_free(v);

	/* A token the verifier signs, of a device: accepted with its id and
	 * times; a warning only when asked. */
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_new(&k), 0);
	keys[0] = k;
	CU_ASSERT_EQUAL_FATAL(tpa_token_jwks(&jwks, keys, 1), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_verifier_new(&v, jwks), 0);
	CU_ASSERT_EQUAL(tpa_token_verifier_count(v), 1);
	memset(&c, 0, sizeof(c));
	c.status = "affirming";
	c.iat = NOW;
	c.ttl_s = 600;
	c.device_id = "ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01";
	CU_ASSERT_EQUAL_FATAL(tpa_token_sign(&tok, k, &c), 0);
	v2 = tpa_token_verifier_ref(v);
	CU_ASSERT_PTR_EQUAL(v2, v);
	tpa_token_verifier_free(v);     /* one reference left: still usable */
	CU_ASSERT_EQUAL(tpa_token_verifier_accept(&acc, v2, tok, NOW + 1, 0), 0);
	CU_ASSERT_STRING_EQUAL(acc.device_id, c.device_id);
	CU_ASSERT_EQUAL(acc.iat, NOW);
	CU_ASSERT_EQUAL(acc.exp, NOW + 600);
	/* The claims read before: found, and the time checked again. */
	tpa_token_verifier_stats(v2, &hits, &misses);
	CU_ASSERT_EQUAL(hits, 0);
	CU_ASSERT_EQUAL(misses, 1);
	memset(&acc, 0, sizeof(acc));
	CU_ASSERT_EQUAL(tpa_token_verifier_accept(&acc, v2, tok, NOW + 2, 0), 0);
	CU_ASSERT_STRING_EQUAL(acc.device_id, c.device_id);
	CU_ASSERT_EQUAL(acc.exp, NOW + 600);
	CU_ASSERT_EQUAL(tpa_token_verifier_accept(&acc, v2, tok, NOW + 600, 1), TPA_ERR_VERIFY);
	CU_ASSERT_STRING_EQUAL(tpa_err_last(), "token: expired 0 s ago");
	CU_ASSERT_STRING_EQUAL(acc.device_id, "");
	CU_ASSERT_EQUAL(tpa_token_verifier_accept(&acc, v2, tok, NOW - 61, 1), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "issued 61 s in the future") != NULL);
	tpa_token_verifier_stats(v2, &hits, &misses);
	CU_ASSERT_EQUAL(hits, 3);
	CU_ASSERT_EQUAL(misses, 1);
	/* The same claims under a signature that does not hold: refused, the
	 * claims read before notwithstanding. */
	tw = strdup(tok);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tw);
	sig = strrchr(tw, '.') + 1;
	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	CU_ASSERT_EQUAL(tpa_token_verifier_accept(&acc, v2, tw, NOW, 1), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "signature does not verify") != NULL);
	free(tw);
	/* A token of another key (the test's own, kid KID) is not taken. */
	CU_ASSERT(tpa_token_verifier_accept(&acc, v2, tw = good_token(), NOW, 1) < 0);
	CU_ASSERT(strstr(tpa_err_last(), "no key in the JWKS has kid") != NULL);
	free(tw);
	free(tok);
	c.status = "warning";
	c.device_id = NULL;
	CU_ASSERT_EQUAL_FATAL(tpa_token_sign(&tok, k, &c), 0);
	CU_ASSERT_EQUAL(tpa_token_verifier_accept(&acc, v2, tok, NOW, 0), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "token status is warning") != NULL);
	CU_ASSERT_EQUAL(tpa_token_verifier_accept(&acc, v2, tok, NOW, 1), 0);
	CU_ASSERT_STRING_EQUAL(acc.device_id, "");   /* none named: the caller refuses */
	/* Kept once accepted with a warning: a warning is still refused when
	 * it is not accepted. */
	tpa_token_verifier_stats(v2, &hits, &misses);
	CU_ASSERT_EQUAL(tpa_token_verifier_accept(&acc, v2, tok, NOW, 1), 0);
	CU_ASSERT_EQUAL(tpa_token_verifier_accept(&acc, v2, tok, NOW, 0), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "token status is warning") != NULL);
	{
		uint64_t h2, m2;

		/* The first found; the second, a warning not accepted, read again. */
		tpa_token_verifier_stats(v2, &h2, &m2);
		CU_ASSERT_EQUAL(h2, hits + 1);
		CU_ASSERT_EQUAL(m2, misses + 1);
	}
	/* Which verifiers hold the same keys. */
	CU_ASSERT_EQUAL_FATAL(tpa_token_verifier_new(&v, jwks), 0);
	CU_ASSERT(tpa_token_verifier_same_keys(v, v2));
	CU_ASSERT(!tpa_token_verifier_same_keys(v, rp_tv));
	CU_ASSERT(!tpa_token_verifier_same_keys(v, NULL));
	tpa_token_verifier_free(v);
	CU_ASSERT_EQUAL(tpa_token_verifier_accept(NULL, v2, tok, NOW, 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_token_verifier_accept(&acc, NULL, tok, NOW, 1), TPA_ERR_INVALID_ARG);
	free(tok);
	tpa_token_verifier_free(v2);
	tpa_token_verifier_free(NULL);
	free(jwks);
	tpa_token_key_free(k);
}

/* ---- keys, signing and verifying ---- */

/* ---- the key set ---- */

static int has_kid(const char *jwks, const tpa_token_key *k)
{
	char want[80];

	snprintf(want, sizeof(want), "\"kid\":\"%s\"", tpa_token_key_id(k));
	return strstr(jwks, want) != NULL;
}

static int jwks_has(const tpa_token_keyset *ks, int64_t now, const char *kid)
{
	char *jwks = NULL, want[80];
	int r;

	if (tpa_token_keyset_jwks(&jwks, ks, now) < 0)
		return -1;
	snprintf(want, sizeof(want), "\"kid\":\"%s\"", kid);
	r = strstr(jwks, want) != NULL;
	free(jwks);
	return r;
}

static void tmpdir_rm(const char *dir)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

/* Publish first, sign later, keep until the last token expires. */
static void test_keyset_rotation(void)
{
	char dir[] = "/tmp/tpa-keys-XXXXXX", path[300], k0[80], k1[80], k2[80], k3[80];
	tpa_token_keyset *ks = NULL, *again = NULL;
	tpa_token_keyinfo ki;
	char *jwks = NULL;
	struct stat st;
	int64_t t = 1800000000; /* 2027-01-15T08:00:00Z, after the set's creation */
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/keys.json", dir);
	CU_ASSERT_EQUAL(tpa_token_keyset_load(&ks, path, 0), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_load(&ks, path, 100), 0);
	CU_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CU_ASSERT_EQUAL(tpa_token_keyset_ttl(ks), 100);
	CU_ASSERT_EQUAL(tpa_token_keyset_count(ks), 1);
	snprintf(k0, sizeof(k0), "%s", tpa_token_key_id(tpa_token_keyset_signer(ks, t)));
	CU_ASSERT_PTR_NULL(tpa_token_keyset_previous(ks, t));

	/* rotate: the next key is published at once and signs after the delay */
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_rotate(ks, t, 1000, 0, 0, k1, sizeof(k1)), 0);
	CU_ASSERT_STRING_EQUAL(tpa_token_key_id(tpa_token_keyset_signer(ks, t)), k0);
	CU_ASSERT_STRING_EQUAL(tpa_token_key_id(tpa_token_keyset_signer(ks, t + 999)), k0);
	CU_ASSERT_STRING_EQUAL(tpa_token_key_id(tpa_token_keyset_signer(ks, t + 1000)), k1);
	CU_ASSERT_STRING_EQUAL(tpa_token_key_id(tpa_token_keyset_previous(ks, t + 1000)), k0);
	CU_ASSERT_EQUAL(jwks_has(ks, t, k0), 1);
	CU_ASSERT_EQUAL(jwks_has(ks, t, k1), 1);
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_jwks(&jwks, ks, t), 0);
	/* the next hour boundary: the same on every verifier */
	CU_ASSERT(strstr(jwks, "\"tpa_refresh_after\":\"2027-01-15T09:00:00Z\"") != NULL);
	CU_ASSERT(strstr(jwks, "\"use\":\"sig\"") && strstr(jwks, "\"alg\":\"ES256\""));
	CU_ASSERT(strstr(jwks, "\"d\"") == NULL);
	free(jwks);
	/* a second pending next key: refused; replaced only if asked, not close to its time */
	CU_ASSERT_EQUAL(tpa_token_keyset_rotate(ks, t, 1000, 0, 0, k2, sizeof(k2)),
			TPA_ERR_CONFLICT);
	CU_ASSERT(strstr(tpa_err_last(), "--replace-next") != NULL);
	CU_ASSERT_EQUAL(tpa_token_keyset_rotate(ks, t + 950, 1000, 1, 0, k2, sizeof(k2)),
			TPA_ERR_CONFLICT);
	CU_ASSERT(strstr(tpa_err_last(), "too close") != NULL);
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_rotate(ks, t, 1000, 1, 0, k2, sizeof(k2)), 0);
	CU_ASSERT_EQUAL(jwks_has(ks, t, k1), 0);
	CU_ASSERT_EQUAL(tpa_token_keyset_count(ks), 2);
	/* saved and read again: the same states */
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_save(ks, path, t), 0);
	CU_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_load(&again, path, 0), 0);
	CU_ASSERT_STRING_EQUAL(tpa_token_key_id(tpa_token_keyset_signer(again, t + 999)), k0);
	CU_ASSERT_STRING_EQUAL(tpa_token_key_id(tpa_token_keyset_signer(again, t + 1000)), k2);
	tpa_token_keyset_free(again);
	again = NULL;

	/* activate: now; the old key retires and is kept TTL + skew */
	CU_ASSERT_EQUAL(tpa_token_keyset_activate(ks, "nosuchkid", t + 10), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_activate(ks, k2, t + 10), 0);
	CU_ASSERT_STRING_EQUAL(tpa_token_key_id(tpa_token_keyset_signer(ks, t + 10)), k2);
	CU_ASSERT_EQUAL(tpa_token_keyset_activate(ks, NULL, t + 11), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(tpa_token_keyset_activate(ks, k2, t + 11), 0); /* active already */
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_info(&ki, ks, 0, t + 10), 0);
	CU_ASSERT_STRING_EQUAL(ki.kid, k0);
	CU_ASSERT_EQUAL(ki.state, TPA_KEY_RETIRED);
	CU_ASSERT_EQUAL(ki.retired_at, t + 10);
	CU_ASSERT_EQUAL(ki.published_until, t + 10 + 100 + TPA_TOKEN_CLOCK_SKEW_S);
	/* a second rotation right after keeps it */
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_rotate(ks, t + 11, 0, 0, 0, k3, sizeof(k3)), 0);
	CU_ASSERT_STRING_EQUAL(tpa_token_key_id(tpa_token_keyset_signer(ks, t + 11)), k3);
	CU_ASSERT_EQUAL(jwks_has(ks, t + 11, k0), 1);
	CU_ASSERT_EQUAL(jwks_has(ks, t + 169, k0), 1);
	CU_ASSERT_EQUAL(jwks_has(ks, t + 170, k0), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_info(&ki, ks, 0, t + 170), 0);
	CU_ASSERT_EQUAL(ki.state, TPA_KEY_GONE);
	CU_ASSERT_EQUAL(tpa_token_keyset_count(ks), 3);
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_save(ks, path, t + 170), 0);
	CU_ASSERT_EQUAL(tpa_token_keyset_count(ks), 2);   /* gone from the file */
	CU_ASSERT_EQUAL(jwks_has(ks, t + 170, k2), 1);    /* retired at t + 11 */

	/* a raised TTL applies to the active key too; a lowered one not */
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_rotate(ks, t + 200, 1000, 0, 500, NULL, 0), 0);
	CU_ASSERT_EQUAL(tpa_token_keyset_ttl(ks), 500);
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_activate(ks, NULL, t + 300), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_rotate(ks, t + 300, 10, 0, 50, NULL, 0), 0);
	for (i = 0; i < (int)tpa_token_keyset_count(ks); i++) {
		CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_info(&ki, ks, (size_t)i, t + 300), 0);
		if (strcmp(ki.kid, k3) == 0)
			CU_ASSERT_EQUAL(ki.published_until, t + 300 + 500 + TPA_TOKEN_CLOCK_SKEW_S);
		if (ki.state == TPA_KEY_ACTIVE)
			CU_ASSERT_EQUAL(ki.ttl_s, 500);
		if (ki.state == TPA_KEY_NEXT)
			CU_ASSERT_EQUAL(ki.ttl_s, 50);
	}

	/* a full set is refused, never emptied of a key whose tokens may be valid */
	for (i = 0; i < 2 * TPA_KEYSET_MAX; i++) {
		int err = tpa_token_keyset_rotate(ks, t + 400, 0, 0, 0, NULL, 0);

		CU_ASSERT(err == 0 || err == TPA_ERR_LIMIT);
		if (err == TPA_ERR_LIMIT) {
			CU_ASSERT(strstr(tpa_err_last(), "until 2027-01-15T") != NULL);
			break;
		}
	}
	CU_ASSERT_EQUAL(tpa_token_keyset_count(ks), TPA_KEYSET_MAX);
	CU_ASSERT_EQUAL(tpa_token_keyset_rotate(ks, t, -1, 0, 0, NULL, 0), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_token_keyset_rotate(ks, t, 0, 0, TPA_TOKEN_MAX_TTL_S + 1, NULL, 0),
			TPA_ERR_INVALID_ARG);
	tpa_token_keyset_free(ks);
	tmpdir_rm(dir);
}

/* The service publishes the set's JWKS at the time asked, the signing key
 * first: a next key whose time has come without any reload; a set given
 * later replaces it. */
static void test_keyset_service(void)
{
	char dir[] = "/tmp/tpa-keys-XXXXXX", path[300], k1[80], k2[80], want[160];
	tpa_token_keyset *ks = NULL, *ks2 = NULL;
	tpa_service_opts so;
	tpa_service *svc = NULL;
	char *jwks = NULL, *tok = NULL;
	int64_t now = (int64_t)time(NULL);
	tpa_token_verifier *tv = NULL, *tv2 = NULL;
	tpa_token_accepted acc;
	tpa_token_claims c;
	const char *k0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/keys.json", dir);
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_load(&ks, path, 3600), 0);
	k0 = tpa_token_key_id(tpa_token_keyset_signer(ks, now));
	/* next since 5 s ago: it signs now */
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_rotate(ks, now - 10, 5, 0, 0, k1, sizeof(k1)), 0);
	memset(&so, 0, sizeof(so));
	so.keyset = ks;
	CU_ASSERT_EQUAL_FATAL(tpa_service_new(&svc, &so), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_service_jwks(&jwks, svc), 0);
	snprintf(want, sizeof(want), "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"%s\"", k1);
	CU_ASSERT(strncmp(jwks, want, strlen(want)) == 0);
	snprintf(want, sizeof(want), "\"kid\":\"%s\"", k0);
	CU_ASSERT(strstr(jwks, want) != NULL);       /* retired, still published */
	CU_ASSERT(strstr(jwks, "\"tpa_refresh_after\":\"") != NULL);
	free(jwks);
	jwks = NULL;
	/* The same keys imported, for the tokens of relying parties. */
	CU_ASSERT_EQUAL_FATAL(tpa_service_token_verifier(&tv, svc), 0);
	CU_ASSERT_EQUAL(tpa_token_verifier_count(tv), 2);
	memset(&c, 0, sizeof(c));
	c.status = "affirming";
	c.iat = now;
	c.ttl_s = 60;
	CU_ASSERT_EQUAL_FATAL(tpa_token_sign(&tok, tpa_token_keyset_signer(ks, now), &c), 0);
	CU_ASSERT_EQUAL(tpa_token_verifier_accept(&acc, tv, tok, now, 0), 0);
	/* a reload: the next key of the new set is published, not signing */
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_save(ks, path, now), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_load(&ks2, path, 0), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_rotate(ks2, now, 3600, 0, 0, k2, sizeof(k2)), 0);
	CU_ASSERT_EQUAL(tpa_service_set_keyset(svc, NULL), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL_FATAL(tpa_service_set_keyset(svc, ks2), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_service_jwks(&jwks, svc), 0);
	snprintf(want, sizeof(want), "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"%s\"", k1);
	CU_ASSERT(strncmp(jwks, want, strlen(want)) == 0);
	snprintf(want, sizeof(want), "\"kid\":\"%s\"", k2);
	CU_ASSERT(strstr(jwks, want) != NULL);
	free(jwks);
	/* A new key set: a new verifier at once; the one held still works. */
	CU_ASSERT_EQUAL_FATAL(tpa_service_token_verifier(&tv2, svc), 0);
	CU_ASSERT_PTR_NOT_EQUAL(tv2, tv);
	CU_ASSERT_EQUAL(tpa_token_verifier_count(tv2), 3);
	CU_ASSERT_EQUAL(tpa_token_verifier_accept(&acc, tv2, tok, now, 0), 0);
	CU_ASSERT_EQUAL(tpa_token_verifier_accept(&acc, tv, tok, now, 0), 0);
	tpa_token_verifier_free(tv);
	tpa_token_verifier_free(tv2);
	free(tok);
	tpa_service_free(svc);                       /* frees ks2, the service's */
	tpa_token_keyset_free(ks);
	tmpdir_rm(dir);
}

/* A file from before key sets: FILE one JWK (active), FILE.previous
 * retired; the first save writes a set and removes FILE.previous. */
static void test_keyset_legacy(void)
{
	char dir[] = "/tmp/tpa-keys-XXXXXX", path[300], prev[320];
	tpa_token_key *a = NULL, *p = NULL, *k = NULL;
	tpa_token_keyset *ks = NULL;
	tpa_token_keyinfo ki;
	int64_t now = (int64_t)time(NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/token.jwk", dir);
	snprintf(prev, sizeof(prev), "%s.previous", path);
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_load(&a, path, 1), 0);
	/* one file: one active key */
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_load(&ks, path, 0), 0);
	CU_ASSERT_EQUAL(tpa_token_keyset_count(ks), 1);
	CU_ASSERT_STRING_EQUAL(tpa_token_key_id(tpa_token_keyset_signer(ks, now)),
			       tpa_token_key_id(a));
	CU_ASSERT_EQUAL(tpa_token_keyset_ttl(ks), TPA_TOKEN_MAX_TTL_S);
	tpa_token_keyset_free(ks);
	ks = NULL;
	/* with FILE.previous: retired, still published */
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_load(&p, prev, 1), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_load(&ks, path, 0), 0);
	CU_ASSERT_EQUAL(tpa_token_keyset_count(ks), 2);
	CU_ASSERT_STRING_EQUAL(tpa_token_key_id(tpa_token_keyset_signer(ks, now)),
			       tpa_token_key_id(a));
	CU_ASSERT_STRING_EQUAL(tpa_token_key_id(tpa_token_keyset_previous(ks, now)),
			       tpa_token_key_id(p));
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_info(&ki, ks, 1, now), 0);
	CU_ASSERT_EQUAL(ki.state, TPA_KEY_RETIRED);
	CU_ASSERT(ki.published_until >= now + TPA_TOKEN_MAX_TTL_S);
	{
		char *jwks = NULL;

		CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_jwks(&jwks, ks, now), 0);
		CU_ASSERT(has_kid(jwks, a) && has_kid(jwks, p));
		free(jwks);
	}
	/* the first save: a set in FILE, FILE.previous gone, the same keys */
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_save(ks, path, now), 0);
	CU_ASSERT(access(prev, F_OK) != 0);
	tpa_token_keyset_free(ks);
	ks = NULL;
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_load(&ks, path, 0), 0);
	CU_ASSERT_EQUAL(tpa_token_keyset_count(ks), 2);
	CU_ASSERT_STRING_EQUAL(tpa_token_key_id(tpa_token_keyset_previous(ks, now)),
			       tpa_token_key_id(p));
	/* tpa_token_key_load reads a set as the key signing now */
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_load(&k, path, 0), 0);
	CU_ASSERT_STRING_EQUAL(tpa_token_key_id(k), tpa_token_key_id(a));
	tpa_token_key_free(k);
	tpa_token_keyset_free(ks);
	tpa_token_key_free(a);
	tpa_token_key_free(p);
	tmpdir_rm(dir);
}

/* A key set file that breaks one rule is refused, saying which. */
static void test_keyset_malformed(void)
{
	static const struct { const char *from, *to, *why; } cases[] = {
		{ "\"tpa_token_keys\": 1", "\"tpa_token_keys\": 2", "not format 1" },
		{ "\"token_ttl_s\": 100", "\"token_ttl_s\": 0", "token_ttl_s is not in" },
		{ "\"token_ttl_s\": 100", "\"token_ttl_s\": 100, \"x\": 1",
		  "unknown member \"x\"" },
		{ "\"state\": \"next\"", "\"state\": \"active\"", "2 active and 0 next" },
		{ "\"state\": \"next\"", "\"state\": \"soon\"", "state is not next" },
		{ "\"state\": \"next\"", "\"state\": \"next\", \"y\": 1", "unknown member \"y\"" },
		{ "\"ttl_s\": 100", "\"ttl_s\": -1", "ttl_s is not in" },
		{ "\"activate_at\": \"", "\"activate_at\": \"x", "activate_at is not an ISO" },
		{ "\"crv\": \"P-256\"", "\"crv\": \"P-384\"", "not a P-256 JWK" },
		{ "\"d\": \"", "\"e\": \"", "no private key" }, /* a public key */
		{ "\"keys\": [", "\"keys\": 7, \"z\": [", "unknown member" },
	};
	char dir[] = "/tmp/tpa-keys-XXXXXX", path[300], bad[320], *text;
	tpa_token_keyset *ks = NULL;
	size_t i, n;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/keys.json", dir);
	snprintf(bad, sizeof(bad), "%s/bad.json", dir);
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_load(&ks, path, 100), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_rotate(ks, (int64_t)time(NULL), 100, 0, 0, NULL, 0),
			      0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_save(ks, path, (int64_t)time(NULL)), 0);
	tpa_token_keyset_free(ks);
	ks = NULL;
	f = fopen(path, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	text = calloc(1, 65536);
	n = fread(text, 1, 65535, f);
	fclose(f);
	CU_ASSERT_FATAL(n > 0 && n < 65535);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *at = strstr(text, cases[i].from);

		CU_ASSERT_PTR_NOT_NULL_FATAL(at);
		f = fopen(bad, "wb");
		fprintf(f, "%.*s%s%s", (int)(at - text), text, cases[i].to,
			at + strlen(cases[i].from));
		fclose(f);
		CU_ASSERT(tpa_token_keyset_load(&ks, bad, 0) < 0);
		if (!strstr(tpa_err_last(), cases[i].why))
			fprintf(stderr, "case %zu: %s\n", i, tpa_err_last());
		CU_ASSERT(strstr(tpa_err_last(), cases[i].why) != NULL);
		CU_ASSERT_PTR_NULL(ks);
	}
	/* not JSON, and a file larger than a set may be */
	f = fopen(bad, "wb");
	fputs("garbage", f);
	fclose(f);
	CU_ASSERT_EQUAL(tpa_token_keyset_load(&ks, bad, 0), TPA_ERR_PARSE);
	f = fopen(bad, "wb");
	for (i = 0; i < 70000; i++)
		fputc(' ', f);
	fclose(f);
	CU_ASSERT_EQUAL(tpa_token_keyset_load(&ks, bad, 0), TPA_ERR_LIMIT);
	/* the same key twice */
	{
		char *k1 = strstr(text, "\"jwk\""), *k2 = k1 ? strstr(k1 + 1, "\"jwk\"") : NULL;
		char *e1 = k1 ? strchr(k1, '}') : NULL, *e2 = k2 ? strchr(k2, '}') : NULL;

		CU_ASSERT_FATAL(k1 && k2 && e1 && e2);
		f = fopen(bad, "wb");
		fprintf(f, "%.*s%.*s%s", (int)(k2 - text), text, (int)(e1 - k1), k1, e2);
		fclose(f);
		CU_ASSERT(tpa_token_keyset_load(&ks, bad, 0) < 0);
		CU_ASSERT(strstr(tpa_err_last(), "twice") != NULL);
	}
	free(text);
	tmpdir_rm(dir);
}

/* tpa.secureboot: each answer true, false or null (unknown), the count
 * and architecture only when known; absent unless judged. */
static void test_secureboot_claims(void)
{
	tpa_token_key *k = NULL;
	tpa_token_claims c;
	tpa_sb_claims sb;
	char *tok = NULL, *jwk = NULL, *claims = NULL;

	CU_ASSERT_EQUAL_FATAL(tpa_token_key_new(&k), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_public_jwk(&jwk, k), 0);
	memset(&c, 0, sizeof(c));
	memset(&sb, 0, sizeof(sb));
	c.status = "affirming";
	c.iat = 1000;
	c.ttl_s = 60;
	c.secureboot = &sb;
	sb.arch = TPA_SB_ARCH_COUNT;
	CU_ASSERT_EQUAL_FATAL(tpa_token_sign(&tok, k, &c), 0);
	CU_ASSERT_EQUAL(tpa_token_verify(&claims, jwk, tok, 1000), 0);
	CU_ASSERT_PTR_NULL(strstr(claims, "tpa.secureboot"));   /* not judged */
	free(claims);
	free(tok);
	sb.judged = 1;
	sb.dbx_current = TPA_SBA_NO;
	sb.dbx_missing = 70;
	sb.arch = TPA_SB_ARCH_AARCH64;
	sb.ca_2023_ready = TPA_SBA_YES;
	sb.ca_2011_only = TPA_SBA_NO;
	sb.test_platform_key = TPA_SBA_UNKNOWN;
	sb.revoked_component_booted = TPA_SBA_YES;
	CU_ASSERT_EQUAL_FATAL(tpa_token_sign(&tok, k, &c), 0);
	CU_ASSERT_EQUAL(tpa_token_verify(&claims, jwk, tok, 1000), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(claims, "\"tpa.secureboot\":{\"arch\":\"aarch64\","
				      "\"ca_2011_only\":false,\"ca_2023_ready\":true,"
				      "\"dbx_current\":false,\"dbx_missing\":70,"
				      "\"revoked_component_booted\":true,\"test_platform_key\":null}"));
	free(claims);
	free(tok);
	sb.dbx_current = TPA_SBA_UNKNOWN;
	sb.arch = TPA_SB_ARCH_COUNT;
	CU_ASSERT_EQUAL_FATAL(tpa_token_sign(&tok, k, &c), 0);
	CU_ASSERT_EQUAL(tpa_token_verify(&claims, jwk, tok, 1000), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(claims, "\"dbx_current\":null"));
	CU_ASSERT_PTR_NULL(strstr(claims, "dbx_missing"));
	CU_ASSERT_PTR_NULL(strstr(claims, "\"arch\""));
	free(claims);
	free(tok);
	free(jwk);
	tpa_token_key_free(k);
}

static void test_token_sign_verify(void)
{
	tpa_token_key *k = NULL, *other = NULL;
	tpa_token_claims c;
	tpa_findings f;
	char *tok = NULL, *jwk = NULL, *jwk2 = NULL, *claims = NULL;
	uint8_t nonce[32] = { 1, 2, 3 };

	memset(&f, 0, sizeof(f));
	tpa_findings_add(&f, TPA_CHECK_QUOTE_NONCE, 0, "extraData is not the nonce");
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_new(&k), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_new(&other), 0);
	CU_ASSERT_EQUAL(strlen(tpa_token_key_id(k)), 43);
	memset(&c, 0, sizeof(c));
	c.status = "contraindicated";
	c.vector.hardware = 99;
	c.findings = &f;
	c.nonce = nonce;
	c.nonce_len = sizeof(nonce);
	c.iat = 1000;
	c.ttl_s = 60;
	CU_ASSERT_EQUAL_FATAL(tpa_token_sign(&tok, k, &c), 0);
	CU_ASSERT_EQUAL(tpa_token_key_public_jwk(&jwk, k), 0);
	CU_ASSERT_EQUAL(tpa_token_key_public_jwk(&jwk2, other), 0);
	CU_ASSERT(strstr(jwk, "\"d\"") == NULL); /* public only */

	CU_ASSERT_EQUAL(tpa_token_verify(&claims, jwk, tok, 1059), 0);
	CU_ASSERT(claims && strstr(claims, "\"ear.status\":\"contraindicated\"") &&
		  strstr(claims, "quote.nonce") &&
		  strstr(claims, "\"eat_profile\":\"" TPA_EAR_PROFILE "\"") &&
		  strstr(claims, "\"hardware\":99"));
	free(claims);
	claims = NULL;
	/* Through a JWKS: the key the token's kid names, the nonce if asked. */
	{
		const tpa_token_key *both[2] = { other, k };
		char *jwks = NULL;
		uint8_t wrong[32] = { 9 };

		CU_ASSERT_EQUAL_FATAL(tpa_token_jwks(&jwks, both, 2), 0);
		CU_ASSERT(strstr(jwks, "\"use\":\"sig\"") && strstr(jwks, "\"alg\":\"ES256\""));
		CU_ASSERT_EQUAL(tpa_token_verify_jwks(&claims, jwks, tok, 1000, nonce, sizeof(nonce)), 0);
		free(claims);
		claims = NULL;
		CU_ASSERT_EQUAL(tpa_token_verify_jwks(&claims, jwks, tok, 1000, wrong, sizeof(wrong)),
				TPA_ERR_VERIFY);
		CU_ASSERT(strstr(tpa_err_last(), "eat_nonce") != NULL);
		CU_ASSERT_EQUAL(tpa_token_verify_jwks(&claims, jwks, tok, 1060, NULL, 0), TPA_ERR_VERIFY);
		CU_ASSERT(strstr(tpa_err_last(), "expired") != NULL);
		free(jwks);
		CU_ASSERT_EQUAL_FATAL(tpa_token_jwks(&jwks, both, 1), 0);
		CU_ASSERT_EQUAL(tpa_token_verify_jwks(&claims, jwks, tok, 1000, NULL, 0), TPA_ERR_VERIFY);
		CU_ASSERT(strstr(tpa_err_last(), "no key in the JWKS") != NULL);
		CU_ASSERT(tpa_token_verify_jwks(&claims, "{\"keys\": 3}", tok, 1000, NULL, 0) < 0);
		CU_ASSERT_PTR_NULL(claims);
		free(jwks);
	}
	/* expired */
	CU_ASSERT_EQUAL(tpa_token_verify(&claims, jwk, tok, 1060), TPA_ERR_VERIFY);
	/* another key */
	CU_ASSERT_EQUAL(tpa_token_verify(&claims, jwk2, tok, 1000), TPA_ERR_VERIFY);
	/* tampered payload */
	{
		char *t2 = strdup(tok), *dot = strchr(t2, '.');

		dot[5] = dot[5] == 'A' ? 'B' : 'A';
		CU_ASSERT(tpa_token_verify(&claims, jwk, t2, 1000) < 0);
		free(t2);
	}
	CU_ASSERT(tpa_token_verify(&claims, jwk, "not.a.token", 1000) < 0);
	CU_ASSERT(tpa_token_verify(&claims, jwk, "", 1000) < 0);
	CU_ASSERT(tpa_token_verify(&claims, "{}", tok, 1000) < 0);
	CU_ASSERT_PTR_NULL(claims);
	free(tok);
	free(jwk);
	free(jwk2);
	tpa_token_key_free(k);
	tpa_token_key_free(other);
	tpa_token_key_free(NULL);
}

static void test_token_key_file(void)
{
	char dir[] = "/tmp/tpa-key-XXXXXX", path[256];
	tpa_token_key *a = NULL, *b = NULL;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/key.jwk", dir);
	CU_ASSERT(tpa_token_key_load(&a, path, 0) < 0);      /* absent, no create */
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_load(&a, path, 1), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_load(&b, path, 0), 0);
	CU_ASSERT_STRING_EQUAL(tpa_token_key_id(a), tpa_token_key_id(b));
	tpa_token_key_free(a);
	tpa_token_key_free(b);
	f = fopen(path, "w");
	fputs("{\"kty\":\"oct\",\"k\":\"AAAA\"}", f);
	fclose(f);
	CU_ASSERT(tpa_token_key_load(&a, path, 0) < 0);      /* not an EC key */
	f = fopen(path, "w");
	fputs("garbage", f);
	fclose(f);
	CU_ASSERT(tpa_token_key_load(&a, path, 0) < 0);
	remove(path);
	remove(dir);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("token signing", NULL, NULL);
	CU_add_test(s, "tpa.secureboot: true, false or null; only when judged",
		    test_secureboot_claims);
	CU_add_test(s, "lifetime in 1..TPA_TOKEN_MAX_TTL_S", test_sign_lifetime);
	s = CU_add_suite("token encoding and header", keys_init, keys_clean);
	CU_add_test(s, "a token made by hand verifies", test_handmade_good);
	CU_add_test(s, "signature: canonical base64url only", test_canonical_signature);
	CU_add_test(s, "header and payload: canonical base64url only", test_canonical_header_payload);
	CU_add_test(s, "exactly three non-empty segments", test_segments);
	CU_add_test(s, "header: ES256, no crit, one reading", test_header_rules);
	CU_add_test(s, "a JWS of any payload: the same reading", test_payload_jws);
	CU_add_test(s, "iat and exp: present, ordered, bounded, skew", test_time_rules);
	CU_add_test(s, "a verifier of a JWKS: its keys imported once, the same reading",
		    test_verifier);
	s = CU_add_suite("token keys, signing and verifying", NULL, NULL);
	CU_add_test(s, "sign and verify, negatives", test_token_sign_verify);
	CU_add_test(s, "key set: next, active, retired", test_keyset_rotation);
	CU_add_test(s, "key set: a single JWK and FILE.previous", test_keyset_legacy);
	CU_add_test(s, "key set: the service's JWKS and signer", test_keyset_service);
	CU_add_test(s, "key set: a malformed file is refused", test_keyset_malformed);
	CU_add_test(s, "key file", test_token_key_file);
	s = CU_add_suite("token status", NULL, NULL);
	CU_add_test(s, "affirming; warning only if asked; never contraindicated", test_status);
	CU_add_test(s, "the statuses the verifier signs", test_status_of_signed);
	return test_run_all() ? 1 : 0;
}
