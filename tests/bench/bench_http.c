/* SPDX-License-Identifier: BSD-3-Clause */
/* Decisions per second a running verifier's GET /v1/authz sustains over TLS
 * with keep-alive and the relying party's client certificate. CONNS
 * connections, each in its own thread, are set up (TCP, TLS handshake) and
 * then all start at once; each sends the same request back to back for
 * SECONDS and times every answer, from the request's first byte written to
 * the answer's last byte read. The handshakes are outside the measurement:
 * a relying party (nginx auth_request) keeps its connections. With
 * TPA_BENCH_VERIFIER_PID set, also the CPU time that process spent over the
 * measurement (utime + stime from /proc/PID/stat), so decisions per CPU
 * second, i.e. per core, whatever else shares the machine.
 * TOKEN_FILE "-": no Authorization header (the 401 path, for contrast).
 * Curl is not used: it times a request with its connection set up, and
 * running one process per request would measure the process, not the face.
 * usage: bench_http HOST:PORT CA CERT KEY TOKEN_FILE [CONNS] [SECONDS] [EXPECT] */
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "tpa/procstat.h"

#define CONNS_MAX 64
#define LAT_MAX (1u << 22)       /* latencies kept per connection, at most */
#define RESP_MAX (64u << 10)     /* an answer's bytes, at most */

typedef struct {
	pthread_t th;
	SSL *ssl;
	int fd;
	double *lat;                 /* seconds */
	size_t n;
	long bad;                    /* answers not of the expected status */
	int failed;                  /* the connection broke */
} conn;

static const char *host, *port;
static char *request;
static size_t request_len;
static int expect = 200;
static double seconds = 5;
static pthread_barrier_t start;
static volatile int stop_now;

static int dial(void)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype, 0)) < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* One answer read whole: its status, or -1 if the connection broke or the
 * answer is not HTTP/1.1 with a Content-Length (what the verifier sends). */
static int read_answer(SSL *ssl)
{
	static __thread char buf[RESP_MAX + 1];
	size_t n = 0, need = 0;
	char *end, *cl;
	int r, status;

	for (;;) {
		if (n >= RESP_MAX || (r = SSL_read(ssl, buf + n, (int)(RESP_MAX - n))) <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		if (!need && (end = strstr(buf, "\r\n\r\n"))) {
			if (sscanf(buf, "HTTP/1.1 %d ", &status) != 1 ||
			    !(cl = strcasestr(buf, "\r\nContent-Length:")) || cl > end)
				return -1;
			need = (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10);
		}
		if (need && n >= need)
			return n == need ? status : -1; /* nothing sent unasked */
	}
}

static void *run(void *arg)
{
	conn *c = arg;
	double t0;
	int st;

	pthread_barrier_wait(&start);
	while (!stop_now && !c->failed && c->n < LAT_MAX) {
		t0 = now_s();
		if (SSL_write(c->ssl, request, (int)request_len) != (int)request_len ||
		    (st = read_answer(c->ssl)) < 0) {
			c->failed = 1;
			break;
		}
		c->lat[c->n++] = now_s() - t0;
		c->bad += st != expect;
	}
	return NULL;
}

/* A positive decimal number, or -1. */
static int num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end && v > 0 && v <= 100000 ? (int)v : -1;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *b = calloc(1, 16384);
	size_t n;

	if (!f || !b) {
		if (f)
			fclose(f);
		free(b);
		return NULL;
	}
	n = fread(b, 1, 16383, f);
	fclose(f);
	while (n && (b[n - 1] == '\n' || b[n - 1] == '\r'))
		b[--n] = '\0';
	return b;
}

int main(int argc, char **argv)
{
	const char *vpid = getenv("TPA_BENCH_VERIFIER_PID");
	static conn cs[CONNS_MAX];
	char *colon, *token = NULL;
	SSL_CTX *ctx;
	double t0, el, cpu0 = -1, cpu1 = -1, *all;
	size_t total = 0, k;
	long bad = 0;
	int i, nconn = 4, broke = 0;

	if (argc < 6) {
		fprintf(stderr, "usage: bench_http HOST:PORT CA CERT KEY TOKEN_FILE [CONNS] "
			"[SECONDS] [EXPECT]\n");
		return 2;
	}
	if (argc > 6)
		nconn = num(argv[6]);
	if (argc > 7)
		seconds = num(argv[7]);
	if (argc > 8)
		expect = num(argv[8]);
	if (nconn < 1 || nconn > CONNS_MAX || !(seconds > 0) || expect < 100 || expect > 599 ||
	    !(colon = strrchr(argv[1], ':'))) {
		fprintf(stderr, "bench_http: bad arguments\n");
		return 2;
	}
	*colon = '\0';
	host = argv[1];
	port = colon + 1;
	if (strcmp(argv[5], "-") != 0 && !(token = slurp(argv[5]))) {
		fprintf(stderr, "bench_http: %s: cannot read the token\n", argv[5]);
		return 1;
	}
	request_len = strlen(token ? token : "") + 256;
	if (!(request = malloc(request_len)))
		return 1;
	request_len = (size_t)snprintf(request, request_len, "GET /v1/authz HTTP/1.1\r\n"
				       "Host: localhost\r\n%s%s%s\r\n",
				       token ? "Authorization: Bearer " : "", token ? token : "",
				       token ? "\r\n" : "");
	if (!(ctx = SSL_CTX_new(TLS_client_method())) ||
	    SSL_CTX_load_verify_locations(ctx, argv[2], NULL) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, argv[3]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, argv[4], SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "bench_http: TLS set-up: %s\n",
			ERR_error_string(ERR_get_error(), NULL));
		return 1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	pthread_barrier_init(&start, NULL, (unsigned)nconn + 1);
	for (i = 0; i < nconn; i++) {
		conn *c = &cs[i];

		if ((c->fd = dial()) < 0 || !(c->ssl = SSL_new(ctx)) ||
		    SSL_set1_host(c->ssl, "localhost") != 1 ||
		    SSL_set_tlsext_host_name(c->ssl, "localhost") != 1 ||
		    SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1 ||
		    !(c->lat = malloc(LAT_MAX * sizeof(double)))) {
			fprintf(stderr, "bench_http: connection %d: %s\n", i,
				ERR_error_string(ERR_get_error(), NULL));
			return 1;
		}
		pthread_create(&c->th, NULL, run, c);
	}
	if (vpid)
		cpu0 = tpa_proc_cpu_seconds(strtol(vpid, NULL, 10));
	t0 = now_s();
	pthread_barrier_wait(&start);
	while (now_s() - t0 < seconds)
		usleep(10000);
	stop_now = 1;
	for (i = 0; i < nconn; i++)
		pthread_join(cs[i].th, NULL);
	el = now_s() - t0;
	if (vpid)
		cpu1 = tpa_proc_cpu_seconds(strtol(vpid, NULL, 10));
	for (i = 0; i < nconn; i++) {
		total += cs[i].n;
		bad += cs[i].bad;
		broke += cs[i].failed;
	}
	if (!total || !(all = malloc(total * sizeof(double)))) {
		fprintf(stderr, "bench_http: no answer at all\n");
		return 1;
	}
	for (i = 0, k = 0; i < nconn; i++) {
		memcpy(all + k, cs[i].lat, cs[i].n * sizeof(double));
		k += cs[i].n;
	}
	qsort(all, total, sizeof(double), cmp);
	printf("http_authz_%s %.0f decisions/s wall (%zu in %.2f s over %d keep-alive TLS "
	       "connections; %ld not %d, %d connections broken), p50 %.3f ms, p99 %.3f ms\n",
	       token ? "token" : "notoken", (double)total / el, total, el, nconn, bad, expect,
	       broke, all[total / 2] * 1e3, all[(size_t)((double)total * 0.99)] * 1e3);
	if (cpu0 >= 0 && cpu1 > cpu0)
		printf("http_authz_%s_per_cpu_second %.0f decisions (verifier pid %s: %.2f s CPU, "
		       "%.3f ms per decision)\n", token ? "token" : "notoken",
		       (double)total / (cpu1 - cpu0), vpid, cpu1 - cpu0,
		       (cpu1 - cpu0) * 1e3 / (double)total);
	for (i = 0; i < nconn; i++) {
		SSL_free(cs[i].ssl);
		close(cs[i].fd);
		free(cs[i].lat);
	}
	SSL_CTX_free(ctx);
	free(all);
	free(request);
	free(token);
	return bad || broke ? 1 : 0;
}
