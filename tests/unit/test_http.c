/* SPDX-License-Identifier: BSD-3-Clause */
/* The HTTP face's own parsing: the path router, the Bearer header and the
 * listen addresses. The serving itself is tested end to end
 * (tests/integration/test_http.sh). */
#include <CUnit/CUnit.h>
#include <string.h>

#include "tpa/err.h"
#include "tpa/http.h"
#include "testutil.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_routes(void)
{
	char id[TPA_DEVICE_ID_LEN + 1], big[TPA_HTTP_PATH_MAX + 2];

	CU_ASSERT_EQUAL(tpa_http_route_parse("/healthz", id), TPA_HTTP_ROUTE_HEALTHZ);
	CU_ASSERT_EQUAL(tpa_http_route_parse("/readyz", id), TPA_HTTP_ROUTE_READYZ);
	CU_ASSERT_EQUAL(tpa_http_route_parse("/metrics", id), TPA_HTTP_ROUTE_METRICS);
	CU_ASSERT_EQUAL(tpa_http_route_parse("/v1/authz", id), TPA_HTTP_ROUTE_AUTHZ);
	CU_ASSERT_EQUAL(tpa_http_route_parse("/v1/devices/" ID "/compliance", id),
			TPA_HTTP_ROUTE_COMPLIANCE);
	CU_ASSERT_STRING_EQUAL(id, ID);
	/* Exactly: no trailing slash, no prefix, no case folding, no dots. */
	CU_ASSERT_EQUAL(tpa_http_route_parse("/healthz/", id), TPA_HTTP_ROUTE_NONE);
	CU_ASSERT_EQUAL(tpa_http_route_parse("/v1/authz/x", id), TPA_HTTP_ROUTE_NONE);
	CU_ASSERT_EQUAL(tpa_http_route_parse("/v1/devices/../../etc/passwd", id),
			TPA_HTTP_ROUTE_NONE);
	CU_ASSERT_EQUAL(tpa_http_route_parse("/v1/devices/0123456789ab/compliance", id),
			TPA_HTTP_ROUTE_BAD);
	CU_ASSERT_STRING_EQUAL(id, "");
	CU_ASSERT_EQUAL(tpa_http_route_parse("/v1/devices/0123456789ABCDEF0123456789abcdef"
					     "0123456789abcdef0123456789abcdef/compliance", id),
			TPA_HTTP_ROUTE_BAD);
	CU_ASSERT_EQUAL(tpa_http_route_parse("/v1/devices//compliance", id), TPA_HTTP_ROUTE_BAD);
	CU_ASSERT_EQUAL(tpa_http_route_parse("/v1/devices/" ID "/../" ID "/compliance", id),
			TPA_HTTP_ROUTE_BAD);
	CU_ASSERT_EQUAL(tpa_http_route_parse("", id), TPA_HTTP_ROUTE_NONE);
	CU_ASSERT_EQUAL(tpa_http_route_parse(NULL, id), TPA_HTTP_ROUTE_NONE);
	memset(big, '/', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(tpa_http_route_parse(big, id), TPA_HTTP_ROUTE_NONE);
}

static void test_bearer(void)
{
	static char big[TPA_HTTP_TOKEN_MAX + 16];
	const char *tok;
	size_t len;

	CU_ASSERT_EQUAL(tpa_http_bearer(&tok, &len, "Bearer a.b-_c"), 0);
	CU_ASSERT(len == 6 && strncmp(tok, "a.b-_c", len) == 0);
	CU_ASSERT_EQUAL(tpa_http_bearer(&tok, &len, "bEARER   x"), 0);
	CU_ASSERT(len == 1 && tok[0] == 'x');
	CU_ASSERT_EQUAL(tpa_http_bearer(&tok, &len, NULL), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_http_bearer(&tok, &len, "Basic eDp5"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_http_bearer(&tok, &len, "Bearer"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_http_bearer(&tok, &len, "Bearer "), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_http_bearer(&tok, &len, "Bearer a b"), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_http_bearer(&tok, &len, "Bearer a+b/c="), TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(tok);
	memcpy(big, "Bearer ", 7);
	memset(big + 7, 'a', TPA_HTTP_TOKEN_MAX);
	big[7 + TPA_HTTP_TOKEN_MAX] = '\0';
	CU_ASSERT_EQUAL(tpa_http_bearer(&tok, &len, big), 0);
	CU_ASSERT_EQUAL(len, TPA_HTTP_TOKEN_MAX);
	big[7 + TPA_HTTP_TOKEN_MAX] = 'a';
	big[8 + TPA_HTTP_TOKEN_MAX] = '\0';
	CU_ASSERT_EQUAL(tpa_http_bearer(&tok, &len, big), TPA_ERR_INVALID_ARG);
}

static void test_listen(void)
{
	CU_ASSERT_EQUAL(tpa_http_check_listen("127.0.0.1:8080", 1), 0);
	CU_ASSERT_EQUAL(tpa_http_check_listen("[::1]:0", 1), 0);
	CU_ASSERT_EQUAL(tpa_http_check_listen("0.0.0.0:8080", 0), 0);
	CU_ASSERT_EQUAL(tpa_http_check_listen("0.0.0.0:8080", 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "not a loopback address"));
	CU_ASSERT_EQUAL(tpa_http_check_listen("127.0.0.1", 0), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_http_check_listen("127.0.0.1:", 0), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_http_check_listen("127.0.0.1:65536", 0), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_http_check_listen("127.0.0.1:-1", 0), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_http_check_listen("[::1:80", 0), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_http_check_listen(":80", 0), TPA_ERR_INVALID_ARG);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("the HTTP face's parsing", NULL, NULL);
	CU_add_test(s, "routes: exact paths, the device id whole", test_routes);
	CU_add_test(s, "Authorization: Bearer, bounded, base64url", test_bearer);
	CU_add_test(s, "listen addresses, loopback only for the plain one", test_listen);
	return test_run_all() ? 1 : 0;
}
