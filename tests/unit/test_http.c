/* SPDX-License-Identifier: BSD-3-Clause */
/* The HTTP face's own parsing: the path router, the Bearer header and the
 * listen addresses; and its request metrics, over a real libmicrohttpd
 * listener on loopback. The rest of the serving is tested end to end
 * (tests/integration/test_http.sh). */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tpa/err.h"
#include "tpa/http.h"
#include "tpa/metrics.h"
#include "tpa/service.h"
#include "tpa/token.h"
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

/* ---- request metrics, over loopback ---- */

static tpa_token_key *mkey;
static tpa_service *msvc;
static tpa_http *mhttp;

static int metrics_init(void)
{
	tpa_service_opts so = { 0 };
	tpa_http_opts ho = { 0 };

	if (tpa_token_key_new(&mkey) < 0)
		return -1;
	so.key = mkey;
	if (tpa_service_new(&msvc, &so) < 0)
		return -1;
	ho.listen_plain = "127.0.0.1:0";
	return tpa_http_start(&mhttp, &ho, msvc) < 0 ? -1 : 0;
}

static int metrics_clean(void)
{
	tpa_http_stop(mhttp);
	tpa_service_free(msvc);
	tpa_token_key_free(mkey);
	return 0;
}

/* Sends req whole on a new connection; the status of the answer, or -1. */
static int http_status(const char *req)
{
	struct sockaddr_in sa;
	char buf[512];
	size_t n = 0;
	ssize_t r;
	int fd, code = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)tpa_http_port(mhttp, 1));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
		while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
			n += (size_t)r;
		buf[n] = '\0';
		if (sscanf(buf, "HTTP/1.1 %d ", &code) != 1)
			code = -1;
	}
	close(fd);
	return code;
}

static int get(const char *path)
{
	char req[512];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		 path);
	return http_status(req);
}

/* The value of the sample line that starts with name (name and labels as
 * rendered, then a space), or -1 if there is none. */
static double sample(const char *text, const char *name)
{
	const char *p = text;
	size_t n = strlen(name);

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

/* Lines that start with prefix: the series of a family. */
static int lines(const char *text, const char *prefix)
{
	const char *p = text;
	int k = 0;

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		k += strncmp(p, prefix, strlen(prefix)) == 0;
	return k;
}

static char *scrape(void)
{
	char *t = NULL;

	CU_ASSERT_EQUAL(tpa_metrics_text(&t, tpa_service_metrics(msvc)), 0);
	return t ? t : strdup("");
}

#define OK_200 TPA_METRICS_HTTP_TOTAL "{path=\"/healthz\",code=\"200\"}"
#define OTHER_404 TPA_METRICS_HTTP_TOTAL "{path=\"other\",code=\"404\"}"
#define BODY_413 TPA_METRICS_HTTP_TOTAL "{path=\"/healthz\",code=\"413\"}"
#define POST_405 TPA_METRICS_HTTP_TOTAL "{path=\"/healthz\",code=\"405\"}"
#define OK_COUNT TPA_METRICS_HTTP_SECONDS "_count{path=\"/healthz\"}"
#define OTHER_COUNT TPA_METRICS_HTTP_SECONDS "_count{path=\"other\"}"

static void test_metrics_counted(void)
{
	char *t, path[64];
	int i, series;

	CU_ASSERT_EQUAL(get("/healthz"), 200);
	t = scrape();
	CU_ASSERT_EQUAL(sample(t, OK_200), 1);
	CU_ASSERT_EQUAL(sample(t, OK_COUNT), 1);
	CU_ASSERT_EQUAL(sample(t, OTHER_404), -1);
	free(t);
	CU_ASSERT_EQUAL(get("/healthz"), 200);
	CU_ASSERT_EQUAL(get("/nothing-here"), 404);
	t = scrape();
	CU_ASSERT_EQUAL(sample(t, OK_200), 2);
	CU_ASSERT_EQUAL(sample(t, OK_COUNT), 2);
	CU_ASSERT_EQUAL(sample(t, OTHER_404), 1);
	CU_ASSERT_EQUAL(sample(t, OTHER_COUNT), 1);
	series = lines(t, TPA_METRICS_HTTP_TOTAL "{");
	free(t);

	/* 100 paths never seen: one series, "other", counting them all. */
	for (i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "/random/%d/%08x", i, (unsigned)rand());
		CU_ASSERT_EQUAL(get(path), 404);
	}
	t = scrape();
	CU_ASSERT_EQUAL(sample(t, OTHER_404), 101);
	CU_ASSERT_EQUAL(sample(t, OTHER_COUNT), 101);
	CU_ASSERT_EQUAL(lines(t, TPA_METRICS_HTTP_TOTAL "{"), series);
	CU_ASSERT_EQUAL(lines(t, TPA_METRICS_HTTP_SECONDS "_count{"), 2);
	CU_ASSERT_PTR_NULL(strstr(t, "/random/"));
	free(t);

	/* Refused ones too: a body (413), a method (405), a decision route
	 * the plain listener does not serve (404, "other"). */
	CU_ASSERT_EQUAL(http_status("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
				    "Content-Length: 1\r\n\r\nx"), 413);
	CU_ASSERT_EQUAL(http_status("POST /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
				    "Content-Length: 0\r\n\r\n"), 405);
	CU_ASSERT_EQUAL(get("/v1/authz"), 404);
	t = scrape();
	CU_ASSERT_EQUAL(sample(t, BODY_413), 1);
	CU_ASSERT_EQUAL(sample(t, POST_405), 1);
	CU_ASSERT_EQUAL(sample(t, OTHER_404), 102);
	CU_ASSERT_EQUAL(sample(t, OK_COUNT), 4);
	CU_ASSERT_PTR_NULL(strstr(t, "path=\"/v1/authz\""));
	free(t);
}

/* A relying party keeps its connection: two answers on one, neither
 * saying it closes. */
static void test_keepalive(void)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
	struct timeval tv = { .tv_sec = 5 };
	struct sockaddr_in sa;
	char buf[1024];
	int fd, i;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)tpa_http_port(mhttp, 1));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_FATAL((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CU_ASSERT_EQUAL_FATAL(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	for (i = 0; i < 2; i++) {
		size_t n = 0;
		ssize_t r;

		CU_ASSERT_EQUAL(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
		/* The answer ends with its body, "ok\n". */
		while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0) {
			n += (size_t)r;
			buf[n] = '\0';
			if (strstr(buf, "\r\n\r\nok\n"))
				break;
		}
		buf[n] = '\0';
		CU_ASSERT_EQUAL(strncmp(buf, "HTTP/1.1 200 ", 13), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\r\n\r\nok\n"));
		CU_ASSERT_PTR_NULL(strcasestr(buf, "Connection: close"));
	}
	close(fd);
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
	s = CU_add_suite("request metrics (libmicrohttpd on loopback)", metrics_init,
			 metrics_clean);
	CU_add_test(s, "every answer counted by route pattern and code, unknown paths one series",
		    test_metrics_counted);
	CU_add_test(s, "keep-alive: two answers on one connection", test_keepalive);
	return test_run_all() ? 1 : 0;
}
