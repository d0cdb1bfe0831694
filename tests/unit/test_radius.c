/* SPDX-License-Identifier: BSD-3-Clause */
/* RADIUS Dynamic Authorization packets (lib/radius.c): a request's
 * authenticators derived again here from RFC 5176, and every way a
 * response can be wrong refused by name. The real NAS (hostapd's DAS) is
 * in tests/integration/test_radius_das.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "testutil.h"
#include "tpa/err.h"
#include "tpa/radius.h"

static const uint8_t SECRET[] = "das-secret";
#define SLEN (sizeof(SECRET) - 1)

static void md5(uint8_t out[16], const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	unsigned n;

	EVP_DigestInit_ex(m, EVP_md5(), NULL);
	EVP_DigestUpdate(m, a, an);
	EVP_DigestUpdate(m, b, bn);
	EVP_DigestFinal_ex(m, out, &n);
	EVP_MD_CTX_free(m);
}

static size_t find_attr(const uint8_t *p, size_t len, uint8_t type)
{
	size_t off;

	for (off = 20; off + 2 <= len && p[off + 1] >= 2; off += p[off + 1])
		if (p[off] == type)
			return off;
	return 0;
}

static size_t request(uint8_t *req, tpa_radius_code code, uint8_t id)
{
	tpa_radius_session s = { "alice", "sess-1", "02-00-00-00-00-01", NULL, 1700000000 };
	size_t len = 0;

	CU_ASSERT_EQUAL_FATAL(tpa_radius_request_build(req, &len, code, id, &s, SECRET, SLEN), 0);
	return len;
}

/* A response to req: code, then attrs (already encoded), a
 * Message-Authenticator unless no_ma, both authenticators right unless
 * bad_ra / bad_ma. */
static size_t response(uint8_t *out, const uint8_t *req, uint8_t code, const uint8_t *attrs,
		       size_t alen, int no_ma, int bad_ra, int bad_ma)
{
	uint8_t mac[16];
	unsigned n;
	size_t len = 20 + alen, ma = 0;

	out[0] = code;
	out[1] = req[1];
	memcpy(out + 4, req + 4, 16);          /* the Request Authenticator, for the MAC */
	if (alen)
		memcpy(out + 20, attrs, alen);
	if (!no_ma) {
		out[len] = 80;
		out[len + 1] = 18;
		memset(out + len + 2, 0, 16);
		ma = len + 2;
		len += 18;
	}
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	if (!no_ma) {
		HMAC(EVP_md5(), SECRET, (int)SLEN, out, len, mac, &n);
		if (bad_ma)
			mac[0] ^= 1;
		memcpy(out + ma, mac, 16);
	}
	md5(out + 4, out, len, SECRET, SLEN);  /* over the Request Authenticator in place */
	if (bad_ra)
		out[4] ^= 1;
	return len;
}

static void test_request(void)
{
	uint8_t req[TPA_RADIUS_MAX], copy[TPA_RADIUS_MAX], want[16], mac[16];
	size_t len = request(req, TPA_RADIUS_DISCONNECT_REQUEST, 7), ma;
	unsigned n;
	tpa_radius_session none = { NULL, NULL, NULL, "nas", 0 };
	tpa_radius_session big = { NULL, NULL, NULL, NULL, 0 };
	char longname[300];
	size_t l2;

	CU_ASSERT_EQUAL(req[0], 40);
	CU_ASSERT_EQUAL(req[1], 7);
	CU_ASSERT_EQUAL((size_t)(req[2] << 8 | req[3]), len);
	CU_ASSERT(find_attr(req, len, 1) && find_attr(req, len, 44) && find_attr(req, len, 31) &&
		  find_attr(req, len, 55));
	CU_ASSERT_FATAL((ma = find_attr(req, len, 80)) != 0);
	CU_ASSERT_EQUAL(req[ma + 1], 18);
	/* RFC 5176 section 3.3: the MAC over the packet with a zero Request
	 * Authenticator and itself zero; section 2.3: the Request
	 * Authenticator over the packet with a zero one, the MAC in place. */
	memcpy(copy, req, len);
	memset(copy + 4, 0, 16);
	memset(copy + ma + 2, 0, 16);
	HMAC(EVP_md5(), SECRET, (int)SLEN, copy, len, mac, &n);
	CU_ASSERT(memcmp(mac, req + ma + 2, 16) == 0);
	memcpy(copy + ma + 2, mac, 16);
	md5(want, copy, len, SECRET, SLEN);
	CU_ASSERT(memcmp(want, req + 4, 16) == 0);
	/* A CoA-Request is built the same way, code 43. */
	CU_ASSERT_EQUAL(request(copy, TPA_RADIUS_COA_REQUEST, 9) > 20, 1);
	CU_ASSERT_EQUAL(copy[0], 43);
	/* Refused: no session named, another code, no secret, a value too long. */
	CU_ASSERT_EQUAL(tpa_radius_request_build(req, &l2, TPA_RADIUS_DISCONNECT_REQUEST, 1, &none,
						 SECRET, SLEN), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "no session named") != NULL);
	CU_ASSERT_EQUAL(tpa_radius_request_build(req, &l2, TPA_RADIUS_DISCONNECT_ACK, 1, &none,
						 SECRET, SLEN), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_radius_request_build(req, &l2, TPA_RADIUS_DISCONNECT_REQUEST, 1, &none,
						 SECRET, 0), TPA_ERR_INVALID_ARG);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	big.user_name = longname;
	CU_ASSERT_EQUAL(tpa_radius_request_build(req, &l2, TPA_RADIUS_DISCONNECT_REQUEST, 1, &big,
						 SECRET, SLEN), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "User-Name of 299 bytes") != NULL);
}

#define REFUSED(resp, rlen, code_want, words) do { \
		tpa_radius_response r_; \
		int e_ = tpa_radius_response_check(&r_, (resp), (rlen), req, rl, SECRET, SLEN); \
		CU_ASSERT_EQUAL(e_, (code_want)); \
		if (!strstr(tpa_err_last(), (words))) { \
			fprintf(stderr, "\n  expected /%s/, got /%s/\n", (words), tpa_err_last()); \
			CU_FAIL("refused for another reason"); \
		} \
	} while (0)

static void test_response(void)
{
	static const uint8_t cause503[] = { 101, 6, 0, 0, 0x01, 0xf7 };
	static const uint8_t unknown[] = { 5, 6, 0, 0, 0, 1 };           /* NAS-Port */
	static const uint8_t bad_len[] = { 101, 5, 0, 0, 0 };
	static const uint8_t past_end[] = { 18, 40, 'x' };
	static const uint8_t two_ma[] = { 80, 18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	uint8_t req[TPA_RADIUS_MAX], resp[TPA_RADIUS_MAX + 16];
	size_t rl = request(req, TPA_RADIUS_DISCONNECT_REQUEST, 42), n;
	tpa_radius_response r;
	uint8_t other[TPA_RADIUS_MAX];

	/* An ACK; a NAK with its Error-Cause. */
	n = response(resp, req, 41, NULL, 0, 0, 0, 0);
	CU_ASSERT_EQUAL(tpa_radius_response_check(&r, resp, n, req, rl, SECRET, SLEN), 0);
	CU_ASSERT_EQUAL(r.code, TPA_RADIUS_DISCONNECT_ACK);
	CU_ASSERT_FALSE(r.have_error_cause);
	n = response(resp, req, 42, cause503, sizeof(cause503), 0, 0, 0);
	CU_ASSERT_EQUAL(tpa_radius_response_check(&r, resp, n, req, rl, SECRET, SLEN), 0);
	CU_ASSERT_EQUAL(r.code, TPA_RADIUS_DISCONNECT_NAK);
	CU_ASSERT(r.have_error_cause && r.error_cause == 503);
	CU_ASSERT_STRING_EQUAL(tpa_radius_error_cause_name(503), "Session-Context-Not-Found");
	CU_ASSERT_STRING_EQUAL(tpa_radius_error_cause_name(1), "unknown");
	/* Bytes past Length are padding (RFC 2865 section 3). */
	memset(resp + n, 0xee, 16);
	CU_ASSERT_EQUAL(tpa_radius_response_check(&r, resp, n + 16, req, rl, SECRET, SLEN), 0);

	/* The authenticators: wrong, missing, twice; another secret. */
	n = response(resp, req, 41, NULL, 0, 0, 1, 0);
	REFUSED(resp, n, TPA_ERR_VERIFY, "the Response Authenticator is wrong");
	n = response(resp, req, 41, NULL, 0, 0, 0, 1);
	REFUSED(resp, n, TPA_ERR_VERIFY, "the Message-Authenticator is wrong");
	n = response(resp, req, 41, NULL, 0, 1, 0, 0);
	REFUSED(resp, n, TPA_ERR_VERIFY, "0 Message-Authenticators, exactly one is required");
	n = response(resp, req, 41, two_ma, sizeof(two_ma), 0, 0, 0);
	REFUSED(resp, n, TPA_ERR_VERIFY, "2 Message-Authenticators");
	n = response(resp, req, 41, NULL, 0, 0, 0, 0);
	CU_ASSERT(tpa_radius_response_check(&r, resp, n, req, rl, (const uint8_t *)"other", 5) ==
		  TPA_ERR_VERIFY);
	/* Not an answer to this request: another id, code, request. */
	n = response(resp, req, 41, NULL, 0, 0, 0, 0);
	resp[1] ^= 1;
	REFUSED(resp, n, TPA_ERR_VERIFY, "identifier 43, the request's is 42");
	n = response(resp, req, 44, NULL, 0, 0, 0, 0);
	REFUSED(resp, n, TPA_ERR_VERIFY, "code 44, not an ACK (41) or NAK (42)");
	n = response(resp, req, 2, NULL, 0, 0, 0, 0);
	REFUSED(resp, n, TPA_ERR_VERIFY, "code 2");
	/* The same id, another request (the authenticator of a Disconnect-
	 * Request is a function of the packet: another session makes another). */
	{
		tpa_radius_session s2 = { "bob", NULL, NULL, NULL, 0 };
		size_t ol = 0;

		CU_ASSERT_EQUAL_FATAL(tpa_radius_request_build(other, &ol,
							       TPA_RADIUS_DISCONNECT_REQUEST, 42, &s2,
							       SECRET, SLEN), 0);
	}
	n = response(resp, other, 41, NULL, 0, 0, 0, 0);
	REFUSED(resp, n, TPA_ERR_VERIFY, "Response Authenticator is wrong");
	/* The structure: short, its Length, attributes broken or unknown. */
	REFUSED(resp, 19, TPA_ERR_PARSE, "fewer than a header's 20");
	n = response(resp, req, 41, NULL, 0, 0, 0, 0);
	REFUSED(resp, n - 1, TPA_ERR_PARSE, "Length 38, and 37 bytes came");
	resp[2] = 0;
	resp[3] = 19;
	REFUSED(resp, n, TPA_ERR_PARSE, "Length 19");
	n = response(resp, req, 42, bad_len, sizeof(bad_len), 0, 0, 0);
	REFUSED(resp, n, TPA_ERR_PARSE, "attribute 101 of 3 bytes, not 4");
	n = response(resp, req, 42, unknown, sizeof(unknown), 0, 0, 0);
	REFUSED(resp, n, TPA_ERR_PARSE, "attribute 5 is not one an ACK or NAK carries");
	n = response(resp, req, 42, past_end, sizeof(past_end), 1, 0, 0);
	REFUSED(resp, n, TPA_ERR_PARSE, "runs past the packet");
	resp[20] = 18;
	resp[21] = 1;
	REFUSED(resp, n, TPA_ERR_PARSE, "runs past the packet");
	CU_ASSERT_EQUAL(tpa_radius_response_check(&r, resp, n, req, 10, SECRET, SLEN),
			TPA_ERR_INVALID_ARG);
}

/* Nothing listens: no answer, after the tries, in about their time. */
static void test_send_no_answer(void)
{
	uint8_t req[TPA_RADIUS_MAX];
	size_t rl = request(req, TPA_RADIUS_DISCONNECT_REQUEST, 1);
	tpa_radius_response r;
	unsigned dropped = 9;

	CU_ASSERT_EQUAL(tpa_radius_send(&r, &dropped, "127.0.0.1:9", req, rl, SECRET, SLEN, 2, 50),
			TPA_ERR_UNAVAILABLE);
	CU_ASSERT(strstr(tpa_err_last(), "no answer from 127.0.0.1:9 after 2 tries") != NULL);
	CU_ASSERT(strstr(tpa_err_last(), "das-secret") == NULL);
	CU_ASSERT_EQUAL(dropped, 0);
	CU_ASSERT_EQUAL(tpa_radius_send(&r, NULL, "[::1", req, rl, SECRET, SLEN, 1, 50),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_radius_send(&r, NULL, "127.0.0.1", req, rl, SECRET, SLEN, 0, 50),
			TPA_ERR_INVALID_ARG);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("RADIUS dynamic authorization", NULL, NULL);
	CU_add_test(s, "a Disconnect-Request's authenticators, by RFC 5176", test_request);
	CU_add_test(s, "a response: ACK, NAK, and every way to be wrong", test_response);
	CU_add_test(s, "no NAS answering: no answer, the secret unsaid", test_send_no_answer);
	return test_run_all() ? 1 : 0;
}
