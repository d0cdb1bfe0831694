/* SPDX-License-Identifier: BSD-3-Clause */
/* The gRPC layer over real loopback connections: replies, status mapping,
 * deadlines, message limits, unknown methods, and a graceful shutdown that
 * finishes the calls in flight. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../../lib/rpc_gate.h"
#include "testutil.h"
#include "tpa/err.h"
#include "tpa/rpc.h"

static void h_echo(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx)
{
	(void)ctx;
	r->data = malloc(len + 1);
	r->data[0] = 'E';
	memcpy(r->data + 1, req, len);
	r->len = len + 1;
	r->status = TPA_RPC_OK;
}

static void h_refuse(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx)
{
	(void)req;
	(void)len;
	(void)ctx;
	r->status = TPA_RPC_INVALID_ARGUMENT;
	snprintf(r->details, sizeof(r->details), "field x is missing");
}

static pthread_mutex_t entered_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t entered_cond = PTHREAD_COND_INITIALIZER;
static int entered;

/* Waits until n slow handlers have started (no sleeping on timing). */
static void wait_entered(int n)
{
	pthread_mutex_lock(&entered_lock);
	while (entered < n)
		pthread_cond_wait(&entered_cond, &entered_lock);
	pthread_mutex_unlock(&entered_lock);
}

static void h_slow(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx)
{
	unsigned ms = *(unsigned *)ctx;

	pthread_mutex_lock(&entered_lock);
	entered++;
	pthread_cond_broadcast(&entered_cond);
	pthread_mutex_unlock(&entered_lock);
	usleep(ms * 1000);
	h_echo(r, req, len, NULL);
}

static tpa_rpc_server *start(int *port, unsigned *slow_ms)
{
	tpa_rpc_server_opts o = { 0 };
	tpa_rpc_server *s = NULL;

	o.listen = "127.0.0.1:0";
	o.insecure = 1;
	o.workers = 2;
	o.max_message = 4096;
	if (tpa_rpc_server_new(&s, &o) < 0 ||
	    tpa_rpc_server_add_method(s, "/t.T/Echo", h_echo, NULL) < 0 ||
	    tpa_rpc_server_add_method(s, "/t.T/Refuse", h_refuse, NULL) < 0 ||
	    tpa_rpc_server_add_method(s, "/t.T/Slow", h_slow, slow_ms) < 0 ||
	    tpa_rpc_server_start(s, port) < 0) {
		fprintf(stderr, "server: %s\n", tpa_err_last());
		tpa_rpc_server_free(s);
		return NULL;
	}
	return s;
}

static tpa_rpc_client *connect_to(int port)
{
	tpa_rpc_client_opts o = { 0 };
	tpa_rpc_client *c = NULL;
	char target[64];

	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	o.target = target;
	o.insecure = 1;
	if (tpa_rpc_client_new(&c, &o) < 0)
		return NULL;
	return c;
}

static void test_roundtrip_and_status(void)
{
	unsigned slow = 1;
	int port = 0, st;
	tpa_rpc_server *s = start(&port, &slow);
	tpa_rpc_client *c;
	uint8_t *resp = NULL, big[8192];
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT(port > 0);
	c = connect_to(port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);

	CU_ASSERT_EQUAL(tpa_rpc_client_call(&resp, &n, &st, c, "/t.T/Echo",
					    (const uint8_t *)"hi", 2, 5000), 0);
	CU_ASSERT_EQUAL(st, TPA_RPC_OK);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT(resp && memcmp(resp, "Ehi", 3) == 0);
	free(resp);
	resp = NULL;

	/* An empty message is a message. */
	CU_ASSERT_EQUAL(tpa_rpc_client_call(&resp, &n, &st, c, "/t.T/Echo", NULL, 0, 5000), 0);
	CU_ASSERT_EQUAL(n, 1);
	free(resp);
	resp = NULL;

	CU_ASSERT_EQUAL(tpa_rpc_client_call(&resp, &n, &st, c, "/t.T/Refuse",
					    (const uint8_t *)"x", 1, 5000), TPA_ERR_REFUSED);
	CU_ASSERT_EQUAL(st, TPA_RPC_INVALID_ARGUMENT);
	CU_ASSERT(strstr(tpa_err_last(), "INVALID_ARGUMENT") != NULL);
	CU_ASSERT(strstr(tpa_err_last(), "field x is missing") != NULL);
	CU_ASSERT_PTR_NULL(resp);

	CU_ASSERT_EQUAL(tpa_rpc_client_call(&resp, &n, &st, c, "/t.T/Nope",
					    (const uint8_t *)"x", 1, 5000), TPA_ERR_REFUSED);
	CU_ASSERT_EQUAL(st, TPA_RPC_UNIMPLEMENTED);

	memset(big, 'b', sizeof(big));
	CU_ASSERT_EQUAL(tpa_rpc_client_call(&resp, &n, &st, c, "/t.T/Echo", big,
					    sizeof(big), 5000), TPA_ERR_REFUSED);
	CU_ASSERT_EQUAL(st, TPA_RPC_RESOURCE_EXHAUSTED);

	/* And still serving. */
	CU_ASSERT_EQUAL(tpa_rpc_client_call(&resp, &n, &st, c, "/t.T/Echo",
					    (const uint8_t *)"ok", 2, 5000), 0);
	free(resp);
	tpa_rpc_client_free(c);
	CU_ASSERT_EQUAL(tpa_rpc_server_shutdown(s, 1000), 0);
	tpa_rpc_server_free(s);
}

static void test_deadline(void)
{
	unsigned slow = 1500;
	int port = 0, st;
	tpa_rpc_server *s = start(&port, &slow);
	tpa_rpc_client *c = connect_to(port);
	uint8_t *resp = NULL;
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(tpa_rpc_client_call(&resp, &n, &st, c, "/t.T/Slow",
					    (const uint8_t *)"x", 1, 200), TPA_ERR_DEADLINE);
	CU_ASSERT_EQUAL(st, TPA_RPC_DEADLINE_EXCEEDED);
	tpa_rpc_client_free(c);
	tpa_rpc_server_free(s);
}

typedef struct {
	int port;
	int rc, status;
	size_t len;
	char err[256];
} call_arg;

/* One call on a connection of its own, its outcome in a. */
static void call_on_own(call_arg *a, const char *method, const char *msg, int timeout_ms)
{
	tpa_rpc_client *c = connect_to(a->port);
	uint8_t *resp = NULL;

	a->rc = tpa_rpc_client_call(&resp, &a->len, &a->status, c, method,
				    (const uint8_t *)msg, strlen(msg), timeout_ms);
	if (a->rc < 0)
		snprintf(a->err, sizeof(a->err), "%s", tpa_err_last());
	free(resp);
	tpa_rpc_client_free(c);
}

static void *slow_call(void *p)
{
	call_on_own(p, "/t.T/Slow", "inflight", 10000);
	return NULL;
}

/* Calls from..to-1, each on a thread of its own running fn. */
static void start_calls(pthread_t *th, call_arg *a, int from, int to, int port,
			void *(*fn)(void *))
{
	int i;

	for (i = from; i < to; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].port = port;
		a[i].rc = -999;
		pthread_create(&th[i], NULL, fn, &a[i]);
	}
}

/* Joins n calls: each answered OK with a reply of len bytes. */
static void join_calls(pthread_t *th, call_arg *a, int n, size_t len, const char *what)
{
	int i;

	for (i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		if (a[i].rc != 0)
			fprintf(stderr, "%s %d: %s\n", what, i, a[i].err);
		CU_ASSERT_EQUAL(a[i].rc, 0);
		CU_ASSERT_EQUAL(a[i].status, TPA_RPC_OK);
		CU_ASSERT_EQUAL(a[i].len, len);
	}
}

static void test_graceful_shutdown(void)
{
	unsigned slow = 600;
	int port = 0;
	tpa_rpc_server *s = start(&port, &slow);
	call_arg a[2];
	pthread_t th[2];

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	entered = 0;
	start_calls(th, a, 0, 2, port, slow_call);
	wait_entered(2); /* both calls are in the handler now */
	CU_ASSERT_EQUAL(tpa_rpc_server_shutdown(s, 5000), 0);
	join_calls(th, a, 2, 9, "call in flight");
	tpa_rpc_server_free(s);
}

static void test_shutdown_cancels_after_grace(void)
{
	unsigned slow = 1500;
	int port = 0;
	tpa_rpc_server *s = start(&port, &slow);
	struct timespec t0, t1;
	call_arg a;
	pthread_t th;
	double secs;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(&a, 0, sizeof(a));
	a.port = port;
	entered = 0;
	pthread_create(&th, NULL, slow_call, &a);
	wait_entered(1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT_EQUAL(tpa_rpc_server_shutdown(s, 100), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(th, NULL);
	/* The handler may finish its work, but the call is cancelled. */
	CU_ASSERT(a.rc < 0);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CU_ASSERT(secs < 5.0);
	tpa_rpc_server_free(s);
}

/* Writing methods: a handler that holds its call until told (as a verdict
 * waits for its group's commit), counting how many are held at once. */
static pthread_mutex_t hold_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cond = PTHREAD_COND_INITIALIZER;
static int held, held_max, hold_released;

static void h_hold(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&hold_lock);
	if (++held > held_max)
		held_max = held;
	pthread_cond_broadcast(&hold_cond);
	while (!hold_released)
		pthread_cond_wait(&hold_cond, &hold_lock);
	held--;
	pthread_mutex_unlock(&hold_lock);
	h_echo(r, req, len, NULL);
}

/* Whether n calls are held within ms (then, at once, no more than n). */
static int wait_held(int n, int ms)
{
	struct timespec until;
	int ok;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&hold_lock);
	while (held < n && pthread_cond_timedwait(&hold_cond, &hold_lock, &until) == 0)
		;
	ok = held >= n;
	pthread_mutex_unlock(&hold_lock);
	return ok;
}

static void *hold_call(void *p)
{
	call_on_own(p, "/t.T/Hold", "held", 30000);
	return NULL;
}

/* Two workers and two writers. The first two calls of a writing method go
 * to the writers, and the workers still answer the other methods; two more
 * wait in the writers' queue; beyond that a worker runs the call itself, so
 * at most workers + writers run at once (and 2 x writers + workers are in
 * hand). When the holds are released, each of the eight is answered. */
static void test_writers(void)
{
	tpa_rpc_server_opts o = { 0 };
	tpa_rpc_server *s = NULL;
	tpa_rpc_client *c;
	uint8_t *resp = NULL;
	size_t len = 0;
	int port = 0, status = -1;
	call_arg a[8];
	pthread_t th[8];

	o.listen = "127.0.0.1:0";
	o.insecure = 1;
	o.workers = 2;
	o.writers = 2;
	o.max_message = 4096;
	held = held_max = hold_released = 0;
	if (tpa_rpc_server_new(&s, &o) < 0 ||
	    tpa_rpc_server_add_method(s, "/t.T/Echo", h_echo, NULL) < 0 ||
	    tpa_rpc_server_add_writing_method(s, "/t.T/Hold", h_hold, NULL) < 0 ||
	    tpa_rpc_server_start(s, &port) < 0) {
		fprintf(stderr, "server: %s\n", tpa_err_last());
		tpa_rpc_server_free(s);
		CU_FAIL_FATAL("server");
	}
	start_calls(th, a, 0, 2, port, hold_call);
	CU_ASSERT_FATAL(wait_held(2, 10000));
	/* Both writers hold a call: the workers answer. */
	c = connect_to(port);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(tpa_rpc_client_call(&resp, &len, &status, c, "/t.T/Echo",
					    (const uint8_t *)"x", 1, 5000), 0);
	CU_ASSERT_EQUAL(status, TPA_RPC_OK);
	free(resp);
	tpa_rpc_client_free(c);
	start_calls(th, a, 2, 8, port, hold_call);
	/* Two queued for the writers, then the workers run one each. */
	CU_ASSERT(wait_held(4, 10000));
	usleep(200 * 1000);
	pthread_mutex_lock(&hold_lock);
	CU_ASSERT_EQUAL(held, 4);
	hold_released = 1;
	pthread_cond_broadcast(&hold_cond);
	pthread_mutex_unlock(&hold_lock);
	join_calls(th, a, 8, 5, "held call");
	CU_ASSERT_EQUAL(held_max, 4);
	CU_ASSERT_EQUAL(tpa_rpc_server_shutdown(s, 5000), 0);
	tpa_rpc_server_free(s);
}

static void test_bad_options(void)
{
	tpa_rpc_server_opts o = { 0 };
	tpa_rpc_client_opts co = { 0 };
	tpa_rpc_server *s = NULL;
	tpa_rpc_client *c = NULL;

	o.listen = "127.0.0.1:0";
	CU_ASSERT_EQUAL(tpa_rpc_server_new(&s, &o), TPA_ERR_INVALID_ARG); /* TLS without cert */
	o.cert_file = "/nonexistent.pem";
	o.key_file = "/nonexistent.key";
	CU_ASSERT_EQUAL(tpa_rpc_server_new(&s, &o), TPA_ERR_IO);
	CU_ASSERT(strstr(tpa_err_last(), "/nonexistent.pem") != NULL);
	co.target = "127.0.0.1:1";
	CU_ASSERT_EQUAL(tpa_rpc_client_new(&c, &co), TPA_ERR_INVALID_ARG); /* TLS without CA */
	co.ca_file = "/etc/hostname";
	CU_ASSERT_EQUAL(tpa_rpc_client_new(&c, &co), TPA_ERR_PARSE);       /* not PEM */
	tpa_rpc_server_free(NULL);
	tpa_rpc_client_free(NULL);
	CU_ASSERT_STRING_EQUAL(tpa_rpc_status_name(12), "UNIMPLEMENTED");
	CU_ASSERT_STRING_EQUAL(tpa_rpc_status_name(99), "UNKNOWN");
}

/* Listen addresses without a port ("localhost" bound 443) or with a bad one
 * are refused before anything is bound, and named. */
static void test_listen_address(void)
{
	static const char *good[] = { "127.0.0.1:0", "localhost:50051", "[::1]:65535",
				      "[::]:0", "unix:/tmp/x.sock" };
	static const struct { const char *addr, *msg; } bad[] = {
		{ "localhost", "--listen localhost: no port (e.g. localhost:50051)" },
		{ "127.0.0.1", "--listen 127.0.0.1: no port (e.g. 127.0.0.1:50051)" },
		{ "[::1]", "--listen [::1]: no port (e.g. [::1]:50051)" },
		{ "127.0.0.1:", "no port after ':'" },
		{ "::1", "in brackets" },
		{ "[::1", "[ADDR]:PORT" },
		{ "[::1]50051", "[ADDR]:PORT" },
		{ "127.0.0.1:65536", "port 65536 is out of range" },
		{ "127.0.0.1:99999999999999999999", "out of range" },
		{ "127.0.0.1:http", "port 'http' is not a number" },
		{ "127.0.0.1:-1", "not a number" },
		{ "", "empty address" },
		{ "unix:", "no path" },
	};
	tpa_rpc_server_opts o = { 0 };
	tpa_rpc_server *s = NULL;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CU_ASSERT_EQUAL(tpa_rpc_check_listen(good[i]), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(tpa_rpc_check_listen(bad[i].addr), TPA_ERR_INVALID_ARG);
		if (!strstr(tpa_err_last(), bad[i].msg))
			fprintf(stderr, "\n%s: got '%s'\n", bad[i].addr, tpa_err_last());
		CU_ASSERT(strstr(tpa_err_last(), bad[i].msg) != NULL);
	}
	/* The server takes the same check, before it reads any file. */
	o.listen = "localhost";
	o.insecure = 1;
	CU_ASSERT_EQUAL(tpa_rpc_server_new(&s, &o), TPA_ERR_INVALID_ARG);
	CU_ASSERT(s == NULL);
}

/* A private key given as a CA file, or as the certificate, is named so. */
static void test_key_as_certificate(void)
{
	char path[] = "/tmp/tpa-rpc-key-XXXXXX";
	tpa_rpc_server_opts o = { 0 };
	tpa_rpc_client_opts co = { 0 };
	tpa_rpc_server *s = NULL;
	tpa_rpc_client *c = NULL;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	CU_ASSERT_FATAL(k != NULL && f != NULL);
	CU_ASSERT_FATAL(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
	fclose(f);
	EVP_PKEY_free(k);
	co.target = "127.0.0.1:1";
	co.ca_file = path;
	CU_ASSERT_EQUAL(tpa_rpc_client_new(&c, &co), TPA_ERR_PARSE);
	CU_ASSERT(c == NULL);
	CU_ASSERT(strstr(tpa_err_last(), "--ca ") != NULL);
	CU_ASSERT(strstr(tpa_err_last(), path) != NULL);
	CU_ASSERT(strstr(tpa_err_last(), "holds no certificate (a private key?)") != NULL);
	o.listen = "127.0.0.1:0";
	o.cert_file = path;
	o.key_file = path;
	CU_ASSERT_EQUAL(tpa_rpc_server_new(&s, &o), TPA_ERR_PARSE);
	CU_ASSERT(s == NULL);
	CU_ASSERT(strstr(tpa_err_last(), "--cert ") != NULL);
	CU_ASSERT(strstr(tpa_err_last(), "holds no certificate (a private key?)") != NULL);
	unlink(path);
}

/* A TCP connection to 127.0.0.1:port from the address src. */
static int tcp_from(const char *src, int port)
{
	struct sockaddr_in a = { 0 }, b = { 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	a.sin_family = b.sin_family = AF_INET;
	inet_pton(AF_INET, src, &a.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &b.sin_addr);
	b.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    connect(fd, (struct sockaddr *)&b, sizeof(b)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Whether the gate closed fd (EOF or reset) within ms. */
static int closed_within(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char c;

	if (poll(&p, 1, ms) <= 0)
		return 0;
	return recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

static int call_echo(int port)
{
	tpa_rpc_client *c = connect_to(port);
	uint8_t *resp = NULL;
	size_t len = 0;
	int st = -1, ok;

	if (!c)
		return 0;
	ok = tpa_rpc_client_call(&resp, &len, &st, c, "/t.T/Echo", (const uint8_t *)"x", 1,
				 5000) == 0 && st == TPA_RPC_OK && len == 2;
	free(resp);
	tpa_rpc_client_free(c);
	return ok;
}

/* Caps on connections per peer address and in total: the excess is reset
 * before anything is read; when the holders go, everyone gets in again. */
static void test_connection_caps(void)
{
	tpa_rpc_server_opts o = { 0 };
	tpa_rpc_server *s = NULL;
	tpa_rpc_conn_stats st;
	int port = 0, fds[8], extra, i, n = 0;

	o.listen = "127.0.0.1:0";
	o.insecure = 1;
	o.workers = 1;
	o.max_connections = 6;
	o.max_connections_per_peer = 3;
	CU_ASSERT_FATAL(tpa_rpc_server_new(&s, &o) == 0);
	CU_ASSERT_FATAL(tpa_rpc_server_add_method(s, "/t.T/Echo", h_echo, NULL) == 0);
	CU_ASSERT_FATAL(tpa_rpc_server_start(s, &port) == 0);
	for (i = 0; i < 3; i++)
		if ((fds[n] = tcp_from("127.0.0.2", port)) >= 0)
			n++;
	CU_ASSERT_EQUAL(n, 3);
	extra = tcp_from("127.0.0.2", port);
	CU_ASSERT(extra >= 0 && closed_within(extra, 2000));
	if (extra >= 0)
		close(extra);
	for (i = 0; i < 3; i++)
		if ((fds[n] = tcp_from("127.0.0.3", port)) >= 0)
			n++;
	CU_ASSERT_EQUAL(n, 6);
	for (i = 0; i < n; i++)
		CU_ASSERT(!closed_within(fds[i], 50));     /* the admitted stay */
	CU_ASSERT(!call_echo(port));                   /* 6 open: no seventh */
	tpa_rpc_server_conn_stats(s, &st);
	CU_ASSERT_EQUAL(st.refused_peer, 1);
	CU_ASSERT(st.refused_total >= 1);
	CU_ASSERT_EQUAL(st.max_connections, 6);
	for (i = 0; i < n; i++)
		close(fds[i]);
	usleep(100000);
	CU_ASSERT(call_echo(port));
	tpa_rpc_server_free(s);
}

/* An inner "server" for the gate alone: echoes on a unix socket. */
typedef struct {
	int lfd, stop;
} echo_srv;

static void *echo_loop(void *arg)
{
	echo_srv *e = arg;
	struct pollfd p[64];
	nfds_t n = 1, i;

	p[0].fd = e->lfd;
	p[0].events = POLLIN;
	while (!e->stop) {
		if (poll(p, n, 50) <= 0)
			continue;
		if ((p[0].revents & POLLIN) && n < 64) {
			int fd = accept(e->lfd, NULL, NULL);

			if (fd >= 0) {
				p[n].fd = fd;
				p[n].events = POLLIN;
				p[n++].revents = 0;
			}
		}
		for (i = 1; i < n; i++) {
			char buf[256];
			ssize_t r;

			if (!(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			if ((r = read(p[i].fd, buf, sizeof(buf))) <= 0) {
				close(p[i].fd);
				p[i--] = p[--n];
				continue;
			}
			if (write(p[i].fd, buf, (size_t)r) != r) {
				/* the test sees what arrived */
			}
		}
	}
	for (i = 1; i < n; i++)
		close(p[i].fd);
	return NULL;
}

/* The gate runs out of descriptors (the process's limit lowered under it),
 * keeps turning, and relays again once descriptors are free: gRPC 1.51's
 * own listener stops for good at its first EMFILE. */
static void test_gate_survives_emfile(void)
{
	char dir[] = "/tmp/tpa-gate-XXXXXX", path[64];
	struct sockaddr_un un = { 0 };
	struct rlimit old, low;
	rpc_gate_opts go = { 0 };
	rpc_gate_stats st;
	rpc_gate *g = NULL;
	echo_srv e = { -1, 0 };
	pthread_t thr;
	int fds[400], n = 0, port = 0, fd, i, top;
	char buf[8];

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/echo.sock", dir);
	un.sun_family = AF_UNIX;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	e.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(bind(e.lfd, (struct sockaddr *)&un, sizeof(un)) == 0 &&
			listen(e.lfd, 64) == 0);
	pthread_create(&thr, NULL, echo_loop, &e);
	go.listen = "127.0.0.1:0";
	go.inner = path;
	go.max_total = 1000;
	go.max_per_peer = 1000;
	CU_ASSERT_FATAL(rpc_gate__start(&g, &go, &port) == 0);

	/* Leave 24 descriptors free, then open connections until the gate
	 * finds none, giving this test one more whenever it finds none first. */
	getrlimit(RLIMIT_NOFILE, &old);
	top = dup(0);
	close(top);
	low = old;
	low.rlim_cur = (rlim_t)top + 24;
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &low) == 0);
	for (i = 0; i < 300 && n < 400; i++) {
		if ((fd = tcp_from("127.0.0.1", port)) < 0) {
			if (errno != EMFILE)
				break;
			low.rlim_cur++;
			setrlimit(RLIMIT_NOFILE, &low);
			continue;
		}
		fds[n++] = fd;
		usleep(2000);
		rpc_gate__stats(g, &st);
		if (st.out_of_fds > 0 && st.refused_inner + st.out_of_fds >= 3)
			break;
	}
	rpc_gate__stats(g, &st);
	CU_ASSERT(st.out_of_fds > 0);
	for (i = 0; i < n; i++)
		close(fds[i]);
	setrlimit(RLIMIT_NOFILE, &old);
	usleep(300000);     /* past the gate's pause */
	fd = tcp_from("127.0.0.1", port);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, "ping", 4) == 4);
	{
		struct pollfd p = { fd, POLLIN, 0 };

		CU_ASSERT(poll(&p, 1, 2000) == 1 && read(fd, buf, sizeof(buf)) == 4 &&
			  memcmp(buf, "ping", 4) == 0);
	}
	close(fd);
	rpc_gate__stop(g);
	e.stop = 1;
	pthread_join(thr, NULL);
	close(e.lfd);
	unlink(path);
	rmdir(dir);
}

/* A gate relaying to a unix listener of the test's own in a new directory
 * (dir is the mkdtemp template): returns the listener, sets *g and *port. */
static int gate_to_own_inner(rpc_gate **g, int *port, char *dir, char *path, size_t cap)
{
	struct sockaddr_un un = { 0 };
	rpc_gate_opts go = { 0 };
	int lfd;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(path, cap, "%s/inner.sock", dir);
	un.sun_family = AF_UNIX;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(bind(lfd, (struct sockaddr *)&un, sizeof(un)) == 0 &&
			listen(lfd, 4) == 0);
	go.listen = "127.0.0.1:0";
	go.inner = path;
	go.max_total = 8;
	go.max_per_peer = 8;
	CU_ASSERT_FATAL(rpc_gate__start(g, &go, port) == 0);
	return lfd;
}

/* gRPC's side stops reading (its endpoint shut down) while its last reply
 * is still on the way: the peer's next bytes cannot be delivered, and are
 * dropped, but the reply still reaches the peer, then its end of file. Seen
 * as "Socket closed" in a graceful shutdown with two calls on one
 * connection. */
static void test_gate_reply_after_inner_stops_reading(void)
{
	char dir[] = "/tmp/tpa-gate-XXXXXX", path[64], buf[16];
	rpc_gate *g = NULL;
	int lfd, ifd, fd, port = 0;
	size_t got = 0;
	ssize_t n;

	lfd = gate_to_own_inner(&g, &port, dir, path, sizeof(path));
	fd = tcp_from("127.0.0.1", port);
	CU_ASSERT_FATAL(fd >= 0);
	ifd = accept(lfd, NULL, NULL);
	CU_ASSERT_FATAL(ifd >= 0);
	CU_ASSERT(shutdown(ifd, SHUT_RD) == 0);
	CU_ASSERT(write(fd, "late", 4) == 4);
	usleep(100000);     /* the gate tries to deliver it, and cannot */
	CU_ASSERT(write(ifd, "reply", 5) == 5);
	close(ifd);
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };

		if (poll(&p, 1, 3000) != 1 || (n = read(fd, buf + got, sizeof(buf) - got)) <= 0)
			break;
		got += (size_t)n;
	}
	CU_ASSERT_EQUAL(got, 5);
	CU_ASSERT(got == 5 && memcmp(buf, "reply", 5) == 0);
	close(fd);
	rpc_gate__stop(g);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

/* A peer that never reads while gRPC writes, then gRPC closes (its idle
 * timeout, its connection age): the bytes held for the peer cannot go, and
 * the connection would be held for ever, a slot lost to anyone who can
 * finish TLS. It is closed a few seconds after gRPC left. */
static void test_gate_closes_a_peer_that_never_reads(void)
{
	char dir[] = "/tmp/tpa-gate-XXXXXX", path[64], big[65536];
	struct sockaddr_in to = { 0 };
	rpc_gate_stats st;
	rpc_gate *g = NULL;
	int lfd, ifd, fd, port = 0, small = 1024, i;
	size_t sent = 0;
	ssize_t n;

	lfd = gate_to_own_inner(&g, &port, dir, path, sizeof(path));
	/* A small receive window, and never a read. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	to.sin_family = AF_INET;
	to.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&to, sizeof(to)) == 0);
	ifd = accept(lfd, NULL, NULL);
	CU_ASSERT_FATAL(ifd >= 0);
	/* "gRPC" writes until nothing more is taken, then goes. */
	memset(big, 'r', sizeof(big));
	fcntl(ifd, F_SETFL, O_NONBLOCK);
	for (i = 0; i < 2000; i++) {
		if ((n = write(ifd, big, sizeof(big))) > 0) {
			sent += (size_t)n;
			continue;
		}
		if (errno != EAGAIN)
			break;
		usleep(2000);
		if ((n = write(ifd, big, sizeof(big))) <= 0)
			break;
		sent += (size_t)n;
	}
	CU_ASSERT(sent > 4 * sizeof(big));
	close(ifd);
	for (i = 0; i < 100; i++) {     /* 10 s at most */
		rpc_gate__stats(g, &st);
		if (st.open == 0)
			break;
		usleep(100000);
	}
	CU_ASSERT_EQUAL(st.open, 0);
	close(fd);
	rpc_gate__stop(g);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

/* The watchdog's probe: passes while serving, fails once stopped. */
static void test_probe(void)
{
	unsigned slow = 1;
	int port = 0;
	tpa_rpc_server *s = start(&port, &slow);

	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(tpa_rpc_server_probe(s, 2000), 0);
	tpa_rpc_server_shutdown(s, 0);
	CU_ASSERT_NOT_EQUAL(tpa_rpc_server_probe(s, 2000), 0);
	tpa_rpc_server_free(s);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	tpa_rpc_log_init(0);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("rpc (loopback gRPC)", NULL, NULL);
	CU_add_test(s, "round trip, status details, unknown method, size limit",
		    test_roundtrip_and_status);
	CU_add_test(s, "client deadline", test_deadline);
	CU_add_test(s, "shutdown finishes calls in flight", test_graceful_shutdown);
	CU_add_test(s, "shutdown cancels after the grace period",
		    test_shutdown_cancels_after_grace);
	CU_add_test(s, "writing methods: on the writers, bounded, the workers free",
		    test_writers);
	CU_add_test(s, "bad options", test_bad_options);
	CU_add_test(s, "listen address: a port, in range", test_listen_address);
	CU_add_test(s, "a private key as CA file or certificate", test_key_as_certificate);
	CU_add_test(s, "connection caps per peer and in total", test_connection_caps);
	CU_add_test(s, "the gate survives running out of descriptors", test_gate_survives_emfile);
	CU_add_test(s, "the gate relays a reply after gRPC stops reading",
		    test_gate_reply_after_inner_stops_reading);
	CU_add_test(s, "the gate closes a peer that never reads once gRPC has gone",
		    test_gate_closes_a_peer_that_never_reads);
	CU_add_test(s, "watchdog probe", test_probe);
	failed = test_run_all();
	return failed ? 1 : 0;
}
