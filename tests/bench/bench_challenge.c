/* SPDX-License-Identifier: BSD-3-Clause */
/* GetChallenge calls per second a running verifier answers over gRPC + TLS
 * on loopback, from T threads on one channel; none of the challenges is
 * used, so all of them are outstanding at the end. Counts the refusals (a
 * verifier that keeps challenges refuses once its store is full).
 * usage: bench_challenge TARGET CA_FILE [COUNT] [THREADS] */
#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "tpa/err.h"
#include "tpa/evidence.h"
#include "tpa/rpc.h"

static int count, next_call, answered, refused;
static uint8_t *req;
static size_t req_len;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static tpa_rpc_client *client;

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		uint8_t *resp = NULL;
		size_t n = 0;
		tpa_client_challenge ch;
		int ok, go;

		pthread_mutex_lock(&lock);
		go = next_call < count;
		next_call += go;
		pthread_mutex_unlock(&lock);
		if (!go)
			return NULL;
		ok = tpa_rpc_client_call(&resp, &n, NULL, client, TPA_RPC_GET_CHALLENGE, req,
					 req_len, 30000) == 0 &&
		     tpa_challenge_unpack(&ch, resp, n) == 0;
		free(resp);
		pthread_mutex_lock(&lock);
		if (ok)
			answered++;
		else
			refused++;
		pthread_mutex_unlock(&lock);
	}
}

/* A positive decimal number, or -1. */
static int num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end && v > 0 && v <= INT_MAX ? (int)v : -1;
}

int main(int argc, char **argv)
{
	tpa_rpc_client_opts co = { 0 };
	pthread_t th[256];
	int threads, i;
	double t0, el;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_challenge TARGET CA_FILE [COUNT] [THREADS]\n");
		return 2;
	}
	count = argc > 3 ? num(argv[3]) : 100000;
	threads = argc > 4 ? num(argv[4]) : 16;
	if (count < 1 || threads < 1 || threads > 256)
		return 2;
	tpa_rpc_log_init(0);
	co.target = argv[1];
	co.ca_file = argv[2];
	if (tpa_rpc_client_new(&client, &co) < 0 ||
	    tpa_challenge_request_pack(&req, &req_len, "bench", NULL, 0) < 0) {
		fprintf(stderr, "bench_challenge: %s\n", tpa_err_last());
		return 1;
	}
	t0 = now_s();
	for (i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	el = now_s() - t0;
	printf("get_challenge_grpc_tls %.0f calls/s (%d in %.2f s, %d concurrent clients on one "
	       "channel, %d answered, %d refused)\n", (double)count / el, count, el, threads,
	       answered, refused);
	free(req);
	tpa_rpc_client_free(client);
	return 0;
}
