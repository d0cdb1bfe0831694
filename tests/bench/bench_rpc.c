/* SPDX-License-Identifier: BSD-3-Clause */
/* Attestations per second a running verifier sustains over gRPC + TLS on
 * loopback with many concurrent clients. The evidence is made first (one
 * challenge and one swtpm quote per attestation), so the TPM is not the
 * bottleneck; then the Attest calls are sent from T threads at once. With
 * EVENTLOG, each request carries that log (it must be what the TPM measured).
 * With TPA_BENCH_VERIFIER_PID set (a verifier on this machine), also the
 * CPU time that process spent per attestation while the calls ran.
 * usage: bench_rpc TARGET CA_FILE TCTI [COUNT] [THREADS] [EVENTLOG] */
#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "tpa/err.h"
#include "tpa/procstat.h"
#include "tpa/eventlog.h"
#include "tpa/evidence.h"
#include "tpa/rpc.h"
#include "tpa/tpm.h"

typedef struct {
	uint8_t *req;
	size_t len;
} request;

static request *reqs;
static int count, threads;
static int next_req, compliant, errors;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static tpa_rpc_client *client;

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		uint8_t *resp = NULL;
		size_t n = 0;
		tpa_verdict_reply v;
		int i, ok;

		pthread_mutex_lock(&lock);
		i = next_req < count ? next_req++ : -1;
		pthread_mutex_unlock(&lock);
		if (i < 0)
			return NULL;
		ok = tpa_rpc_client_call(&resp, &n, NULL, client, TPA_RPC_ATTEST, reqs[i].req,
					 reqs[i].len, 30000) == 0 &&
		     tpa_verdict_reply_unpack(&v, resp, n) == 0;
		pthread_mutex_lock(&lock);
		if (ok && v.compliant)
			compliant++;
		else
			errors++;
		pthread_mutex_unlock(&lock);
		if (ok)
			tpa_verdict_reply_clear(&v);
		free(resp);
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
	const char *vpid = getenv("TPA_BENCH_VERIFIER_PID");
	double cpu0 = -1, cpu1 = -1;
	tpa_rpc_client_opts co = { 0 };
	tpa_tpm *t = NULL;
	tpa_pcr_set sel;
	uint8_t akpub[TPA_PUBLIC_MAX];
	size_t akpub_len;
	pthread_t th[256];
	double t0, el, prep;
	uint8_t *log = NULL;
	size_t log_len = 0;
	int i;

	if (argc < 4) {
		fprintf(stderr, "usage: bench_rpc TARGET CA_FILE TCTI [COUNT] [THREADS] [EVENTLOG]\n");
		return 2;
	}
	count = argc > 4 ? num(argv[4]) : 2000;
	threads = argc > 5 ? num(argv[5]) : 16;
	if (count < 1 || threads < 1 || threads > 256)
		return 2;
	if (argc > 6 && tpa_eventlog_read_file(&log, &log_len, argv[6]) < 0) {
		fprintf(stderr, "bench_rpc: %s\n", tpa_err_last());
		return 1;
	}
	setenv("TSS2_LOG", "all+none", 1);
	tpa_rpc_log_init(0);
	co.target = argv[1];
	co.ca_file = argv[2];
	if (tpa_rpc_client_new(&client, &co) < 0 || tpa_tpm_open(&t, argv[3]) < 0 ||
	    tpa_tpm_ak_load(t, TPA_AK_ECC_P256, NULL) < 0 ||
	    tpa_tpm_ak_public(t, akpub, sizeof(akpub), &akpub_len) < 0 ||
	    tpa_pcr_set_parse_selection(&sel, "sha256:0-9") < 0) {
		fprintf(stderr, "bench_rpc: %s\n", tpa_err_last());
		return 1;
	}
	reqs = calloc((size_t)count, sizeof(*reqs));
	t0 = now_s();
	for (i = 0; i < count; i++) {
		tpa_client_challenge ch;
		tpa_tpm_quote_result q;
		tpa_pcr_set pcrs = sel;
		uint8_t *req = NULL, *resp = NULL;
		size_t len = 0, n = 0;
		tpa_attest_extras extras = { .hint = "bench", .event_log = log,
					     .event_log_len = log_len };

		if (tpa_challenge_request_pack(&req, &len, "bench", NULL, 0) < 0 ||
		    tpa_rpc_client_call(&resp, &n, NULL, client, TPA_RPC_GET_CHALLENGE, req,
					len, 10000) < 0 ||
		    tpa_challenge_unpack(&ch, resp, n) < 0 ||
		    tpa_tpm_quote(&q, t, &pcrs, ch.nonce, ch.nonce_len) < 0 ||
		    tpa_attest_request_pack(&reqs[i].req, &reqs[i].len, ch.id, &q, akpub,
					    akpub_len, &pcrs, &extras) < 0) {
			fprintf(stderr, "bench_rpc: preparing %d: %s\n", i, tpa_err_last());
			return 1;
		}
		free(req);
		free(resp);
	}
	prep = now_s() - t0;
	tpa_tpm_close(t);

	if (vpid)
		cpu0 = tpa_proc_cpu_seconds(strtol(vpid, NULL, 10));
	t0 = now_s();
	for (i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	el = now_s() - t0;
	if (vpid)
		cpu1 = tpa_proc_cpu_seconds(strtol(vpid, NULL, 10));
	printf("e2e_attest_grpc_tls %.0f attestations/s (%d in %.2f s, %d concurrent "
	       "clients on one channel, %d compliant, %d errors; evidence prepared in %.2f s%s)\n",
	       (double)count / el, count, el, threads, compliant, errors, prep,
	       log ? ", with the event log" : "");
	if (cpu0 >= 0 && cpu1 >= cpu0)
		printf("verifier_cpu_per_attestation %.3f ms (user+system of pid %s over the calls)\n",
		       (cpu1 - cpu0) * 1e3 / (double)count, vpid);
	free(log);
	for (i = 0; i < count; i++)
		free(reqs[i].req);
	free(reqs);
	tpa_rpc_client_free(client);
	return errors ? 1 : 0;
}
