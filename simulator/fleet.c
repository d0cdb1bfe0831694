/* SPDX-License-Identifier: BSD-3-Clause */
/* tpa-fleet: a fleet of devices attesting to a verifier at once, for
 * capacity planning (issue 17, item 5).
 *
 *   tpa-fleet --verifier HOST:PORT --ca FILE --device TCTI,AK_FILE,EVENTLOG
 *             [--device ...] [--count N] [--concurrency C] [--warm]
 *             [--verifier-pid PID] [--registry FILE] [--batch N] [--timeout MS]
 *             [--retries N] [--verdicts-out FILE] [--replay HOST:PORT]
 *
 * Each --device is a TPM with an AK already enrolled (attest_client enroll
 * --ak-file) and the event log of its boot. The evidence is made before
 * the clock starts, in batches: a challenge from the verifier and a quote
 * of the device's TPM for it, so the TPMs are not what is measured. Then
 * C workers send the batch, each attestation as a device sends it: a new
 * TLS connection of its own (unless --warm: one channel for all), a
 * GetChallenge (its answer unused: the verifier does that work for every
 * attestation) and the Attest with the evidence made for an earlier
 * challenge of that device. A batch is sent within the challenges'
 * lifetime (the verifier's --nonce-ttl, 60 s by default).
 *
 * Printed: attestations/s, latency percentiles (from the connection to
 * the verdict), verdicts and errors by kind, and with --verifier-pid the
 * verifier's CPU time per attestation (/proc: user + system, all its
 * threads) and with --registry the registry's growth per attestation as
 * its backend counts it (tpa_store_bytes).
 *
 * With --retries, an attestation that failed as an agent retries (the
 * verifier unreachable, UNAVAILABLE, CANCELLED by the other end, a deadline
 * passed; its challenge used or expired by the call that failed) is made again as an agent makes it: a pause, a
 * fresh challenge, a fresh quote; what was retried past is printed apart
 * from what was not. --verdicts-out writes a line per verdict received
 * (the device's number, from 1, and compliant or non-compliant), for a
 * test to hold against the registry; --replay sends one AttestRequest that
 * got a verdict again, to another address, which must refuse it. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tpa/boot.h"
#include "tpa/err.h"
#include "tpa/procstat.h"
#include "tpa/eventlog.h"
#include "tpa/evidence.h"
#include "tpa/pcr.h"
#include "tpa/rpc.h"
#include "tpa/store.h"
#include "tpa/tpm.h"

#define PROG "tpa-fleet"
#define DEVICES_MAX 256
#define WORKERS_MAX 256
#define ERROR_KINDS 8

typedef struct {
	const char *tcti, *ak_file, *log_file;
	tpa_tpm *tpm;
	uint8_t akpub[TPA_PUBLIC_MAX];
	size_t akpub_len;
	uint8_t *log;
	size_t log_len;
	tpa_pcr_set sel;
} device;

typedef struct {
	uint8_t *req;              /* the AttestRequest */
	size_t len;
	double latency;            /* s; < 0: failed */
	int compliant;
	size_t dev;                /* the device's index */
	unsigned retries;
} attempt;

typedef struct {
	int status;                /* the gRPC status, or -1 before one */
	unsigned n;
	char first[200];
} error_kind;

static struct {
	const char *target, *ca, *registry, *verdicts_out, *replay;
	device dev[DEVICES_MAX];
	size_t ndev;
	long count, batch;
	int concurrency, warm, challenge_only;
	int refused;    /* 0, or which refusal --refused asks for (REFUSE_*) */
	unsigned timeout_ms, retries;
	long vpid[8], dbpid;
	size_t nvpid;
} opt;

/* The verifiers' CPU seconds summed (-1 if one is unreadable), their writes. */
static double vcpu(void)
{
	double t = 0, x;
	size_t k;

	for (k = 0; k < opt.nvpid; k++) {
		if ((x = tpa_proc_cpu_seconds(opt.vpid[k])) < 0)
			return -1;
		t += x;
	}
	return t;
}

static double vwrites(void)
{
	double t = 0, x;
	size_t k;

	for (k = 0; k < opt.nvpid; k++) {
		if ((x = tpa_proc_write_bytes(opt.vpid[k])) < 0)
			return -1;
		t += x;
	}
	return t;
}

/* --refused: an Attest as big as the evidence that the verifier must refuse.
 * UNDECODABLE: zeros (field number 0 is no protobuf field), refused before
 * any check: what moving an attestation's bytes costs. BAD_SEAL: the
 * evidence with its challenge id changed: every check made, the
 * verdict and its token too, and nothing recorded: the attestation without
 * its registry write. */
enum { REFUSE_UNDECODABLE = 1, REFUSE_BAD_SEAL };

static pthread_mutex_t dev_lock[DEVICES_MAX];   /* one TPM command stream each */
static error_kind retried[ERROR_KINDS];

static tpa_rpc_client *shared;    /* the channel for preparing, and --warm's */
static attempt *att;
static long next_i, end_i;
static error_kind errs[ERROR_KINDS];
static unsigned other_errors;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " --verifier HOST:PORT --ca FILE --device TCTI,AK_FILE,EVENTLOG\n"
"                 [--device ...] [--count N] [--concurrency C] [--warm]\n"
"                 [--challenge-only | --refused undecodable|bad-seal]\n"
"                 [--verifier-pid PID]... [--db-pid PID] [--registry FILE] [--batch N]\n"
"                 [--timeout MS] [--retries N] [--verdicts-out FILE] [--replay HOST:PORT]\n"
"\n"
"Devices attesting to a verifier at once, as real agents do, for capacity\n"
"planning: prints attestations/s, latency percentiles, errors, and the\n"
"verifier's CPU and registry growth per attestation.\n"
"\n"
"  --verifier HOST:PORT  the verifier's gRPC address (TLS)\n"
"  --ca FILE             the CA its certificate chains to\n"
"  --device TCTI,AK_FILE,EVENTLOG\n"
"                        a device: its TPM, its AK enrolled already\n"
"                        (attest_client enroll --ak-file) and its boot's log;\n"
"                        up to %d, attesting in turn\n"
"  --count N             attestations in all (default 1000)\n"
"  --concurrency C       at once (default 16, at most %d)\n"
"  --warm                over one channel, kept open (default: a new TLS\n"
"                        connection for each attestation)\n"
"  --challenge-only      the connection and the GetChallenge alone, no Attest:\n"
"                        what the connection and one small call cost, the\n"
"                        floor under an attestation\n"
"  --refused undecodable an Attest of the evidence's size that is no protobuf\n"
"                        (zeros), which the verifier refuses before any check\n"
"                        (INVALID_ARGUMENT, counted as done): what moving an\n"
"                        attestation's bytes costs\n"
"  --refused bad-seal    the evidence with its challenge id changed: every\n"
"                        check is made and the verdict signed, but nothing is\n"
"                        recorded: an attestation without its registry write\n"
"  --verifier-pid PID    the verifier's process here: its CPU per attestation\n"
"                        (again for each replica: their CPU summed)\n"
"  --db-pid PID          the database server's main process: its CPU and its\n"
"                        children's per attestation (PostgreSQL's postmaster)\n"
"  --registry FILE       its registry: bytes added per attestation\n"
"  --batch N             evidence made and sent N at a time (default 500): each\n"
"                        batch must be sent within the challenges' lifetime\n"
"  --timeout MS          per call (default 30000)\n"
"  --retries N           an attestation that failed as an agent retries\n"
"                        (unreachable, UNAVAILABLE, CANCELLED, a deadline\n"
"                        passed, its challenge used or expired) made again up\n"
"                        to N times, with a fresh challenge and quote\n"
"                        (default 0)\n"
"  --verdicts-out FILE   a line per verdict received: the device's number\n"
"                        (from 1) and compliant or non-compliant\n"
"  --replay HOST:PORT    one request that got a verdict sent again there,\n"
"                        which must refuse it (exit 1 if it does not)\n"
"\n"
"Evidence is made before the clock starts (a challenge and a quote per\n"
"attestation), so the TPMs are not measured. Exit 0 if every attestation\n"
"got a verdict, 1 if any failed, 2 for a usage error.\n",
		DEVICES_MAX, WORKERS_MAX);
}

static long number(const char *s, long max)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	v = strtol(s, &end, 10);
	return *end || v < 1 || v > max ? -1 : v;
}

static int add_device(const char *spec)
{
	device *d;
	char *a, *b, *c;

	if (opt.ndev >= DEVICES_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "--device: at most %d", DEVICES_MAX);
	if (!(a = strdup(spec)))
		return tpa_err_fail(TPA_ERR_NOMEM, "out of memory");
	if (!(b = strchr(a, ',')) || !(c = strchr(b + 1, ',')) || b == a || c == b + 1 || !c[1]) {
		free(a);
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "--device: expected TCTI,AK_FILE,EVENTLOG");
	}
	*b++ = '\0';
	*c++ = '\0';
	d = &opt.dev[opt.ndev++];
	d->tcti = a;                  /* kept: the three point into it */
	d->ak_file = b;
	d->log_file = c;
	return 0;
}

/* The device's TPM opened, its AK loaded (it must exist: a new one would
 * not be enrolled), its log read and what to quote chosen from it. */
static int open_device(device *d)
{
	if (access(d->ak_file, R_OK) != 0)
		return tpa_err_fail(TPA_ERR_NOT_FOUND, "%s: no AK file (enroll the device first)",
				    d->ak_file);
	if (tpa_tpm_open(&d->tpm, d->tcti) < 0 ||
	    tpa_tpm_ak_load(d->tpm, TPA_AK_ECC_P256, d->ak_file) < 0 ||
	    tpa_tpm_ak_public(d->tpm, d->akpub, sizeof(d->akpub), &d->akpub_len) < 0 ||
	    tpa_eventlog_read_file(&d->log, &d->log_len, d->log_file) < 0 ||
	    tpa_boot_quote_selection(&d->sel, d->log, d->log_len) < 0)
		return tpa_err_fail(TPA_ERR_INTERNAL, "device %s: %s", d->tcti, tpa_err_last());
	return 0;
}

typedef struct {
	device *d;
	long from, to, step;       /* the attempts this device makes evidence for */
	int failed;
	char why[256];
} prep_job;

/* Evidence for one attempt of device d: a challenge (over c) and a quote
 * for it; the device's TPM is used by one thread at a time. */
static int make_evidence(attempt *a, device *d, tpa_rpc_client *c)
{
	tpa_client_challenge ch;
	tpa_tpm_quote_result q;
	tpa_pcr_set pcrs = d->sel;
	uint8_t *req = NULL, *resp = NULL;
	size_t len = 0, n = 0;
	tpa_attest_extras extras = { .hint = "fleet", .event_log = d->log,
				     .event_log_len = d->log_len };
	int err;

	free(a->req);
	a->req = NULL;
	if (tpa_challenge_request_pack(&req, &len, "fleet", NULL, 0) < 0 ||
	    tpa_rpc_client_call(&resp, &n, NULL, c, TPA_RPC_GET_CHALLENGE, req, len,
				opt.timeout_ms) < 0 ||
	    tpa_challenge_unpack(&ch, resp, n) < 0) {
		free(req);
		free(resp);
		return -1;
	}
	free(req);
	free(resp);
	/* A character in the middle carries six whole bits of the sealed bytes
	 * (the last may carry only padding a decoder ignores). */
	if (opt.refused == REFUSE_BAD_SEAL && ch.id[0]) {
		char *k = ch.id + strlen(ch.id) / 2;

		*k = *k == 'A' ? 'B' : 'A';
	}
	pthread_mutex_lock(&dev_lock[a->dev]);
	err = tpa_tpm_quote(&q, d->tpm, &pcrs, ch.nonce, ch.nonce_len) < 0 ||
	      tpa_attest_request_pack(&a->req, &a->len, ch.id, &q, d->akpub, d->akpub_len, &pcrs,
				      &extras) < 0;
	pthread_mutex_unlock(&dev_lock[a->dev]);
	return err ? -1 : 0;
}

static void *prepare(void *arg)
{
	prep_job *j = arg;
	long i;

	for (i = j->from; i < j->to; i += j->step) {
		att[i].dev = (size_t)(j->d - opt.dev);
		if (make_evidence(&att[i], j->d, shared) < 0) {
			j->failed = 1;
			snprintf(j->why, sizeof(j->why), "%s", tpa_err_last());
			return NULL;
		}
	}
	return NULL;
}

/* The evidence of attempts from..to, made by a thread per device. */
static int prepare_batch(prep_job *jobs, pthread_t *th, long from, long to)
{
	size_t k;

	for (k = 0; k < opt.ndev; k++) {
		jobs[k] = (prep_job){ &opt.dev[k], from, to, (long)opt.ndev, 0, "" };
		while (jobs[k].from % (long)opt.ndev != (long)k)
			jobs[k].from++;
		pthread_create(&th[k], NULL, prepare, &jobs[k]);
	}
	for (k = 0; k < opt.ndev; k++)
		pthread_join(th[k], NULL);
	for (k = 0; k < opt.ndev; k++)
		if (jobs[k].failed) {
			fprintf(stderr, PROG ": preparing the evidence of %s: %s\n",
				opt.dev[k].tcti, jobs[k].why);
			return -1;
		}
	return 0;
}

static void tally(error_kind *kinds, int status, const char *why)
{
	size_t k;

	pthread_mutex_lock(&lock);
	for (k = 0; k < ERROR_KINDS; k++) {
		if (kinds[k].n && kinds[k].status != status)
			continue;
		if (!kinds[k].n) {
			kinds[k].status = status;
			snprintf(kinds[k].first, sizeof(kinds[k].first), "%s", why);
		}
		kinds[k].n++;
		break;
	}
	if (k == ERROR_KINDS && kinds == errs)
		other_errors++;
	pthread_mutex_unlock(&lock);
}

static void count_error(int status, const char *why)
{
	tally(errs, status, why);
}

/* What an agent retries: no answer, UNAVAILABLE (a replica going, a
 * database down), CANCELLED by the other end (a replica gone in the middle
 * of its answer: a load balancer can only cut the stream then), a deadline
 * passed, or a challenge the failed call used or outlived. */
static int retryable(int status, const char *why)
{
	return status < 0 || status == TPA_RPC_UNAVAILABLE || status == TPA_RPC_CANCELLED ||
		status == TPA_RPC_DEADLINE_EXCEEDED ||
		(status == TPA_RPC_FAILED_PRECONDITION &&
		 (strstr(why, "challenge already used") || strstr(why, "expired")));
}

/* One try of an attestation as a device makes it: 0 and its latency set,
 * or -1 with *status (-1: none) and why. */
static int attest_try(attempt *a, int *status, char *why, size_t cap)
{
	tpa_rpc_client_opts co = { 0 };
	tpa_rpc_client *c = shared;
	uint8_t *req = NULL, *resp = NULL;
	size_t len = 0, n = 0;
	tpa_verdict_reply v;
	double t0 = now_s();
	int rc = -1;

	*status = -1;
	if (!a->req && !opt.challenge_only) {   /* no evidence was made for it: a bug here */
		snprintf(why, cap, "no evidence prepared for this attestation");
		return -1;
	}
	if (!opt.warm) {
		co.target = opt.target;
		co.ca_file = opt.ca;
		co.own_connection = 1;
		if (tpa_rpc_client_new(&c, &co) < 0) {
			snprintf(why, cap, "%s", tpa_err_last());
			return -1;
		}
	}
	if (tpa_challenge_request_pack(&req, &len, "fleet", NULL, 0) < 0 ||
	    tpa_rpc_client_call(&resp, &n, status, c, TPA_RPC_GET_CHALLENGE, req, len,
				opt.timeout_ms) < 0) {
		snprintf(why, cap, "%s", tpa_err_last());
		goto out;
	}
	free(resp);
	resp = NULL;
	if (opt.challenge_only) {
		a->compliant = 1;
		a->latency = now_s() - t0;
		rc = 0;
		goto out;
	}
	if (opt.refused == REFUSE_UNDECODABLE)
		memset(a->req, 0, a->len);
	*status = -1;
	if (tpa_rpc_client_call(&resp, &n, status, c, TPA_RPC_ATTEST, a->req, a->len,
				opt.timeout_ms) < 0) {
		if (opt.refused == REFUSE_UNDECODABLE && *status == TPA_RPC_INVALID_ARGUMENT &&
		    strstr(tpa_err_last(), "malformed")) {
			a->latency = now_s() - t0;   /* the refusal asked for */
			rc = 0;
		} else {
			snprintf(why, cap, "%s", tpa_err_last());
		}
		goto out;
	}
	if (opt.refused == REFUSE_UNDECODABLE) {
		snprintf(why, cap, "an undecodable Attest was answered");
		goto out;
	}
	if (tpa_verdict_reply_unpack(&v, resp, n) < 0) {
		snprintf(why, cap, "%s", tpa_err_last());
		goto out;
	}
	a->compliant = v.compliant;
	tpa_verdict_reply_clear(&v);
	a->latency = now_s() - t0;
	rc = 0;
out:
	free(req);
	free(resp);
	if (c != shared)
		tpa_rpc_client_free(c);
	return rc;
}

/* An attestation, tried again as an agent would (--retries): after a
 * pause growing to 1 s, with fresh evidence (over a connection of its own
 * unless --warm); its latency is the last try's. */
static void attest_one(attempt *a)
{
	char why[256];
	unsigned tries;
	int status;

	a->latency = -1;
	for (tries = 0;; tries++) {
		if (attest_try(a, &status, why, sizeof(why)) == 0)
			return;
		if (tries >= opt.retries || !retryable(status, why))
			break;
		tally(retried, status, why);
		a->retries++;
		usleep((useconds_t)(tries < 10 ? 100000 * (tries + 1) : 1000000));
		for (;;) {
			tpa_rpc_client_opts co = { .target = opt.target, .ca_file = opt.ca,
						   .own_connection = 1 };
			tpa_rpc_client *c = shared;
			int ok;

			if (!opt.warm && tpa_rpc_client_new(&c, &co) < 0)
				c = NULL;
			ok = c && (opt.challenge_only || make_evidence(a, &opt.dev[a->dev], c) == 0);
			if (c && c != shared)
				tpa_rpc_client_free(c);
			if (ok)
				break;
			/* The challenge itself failed: one more try used up. */
			snprintf(why, sizeof(why), "fresh evidence: %s", tpa_err_last());
			if (++tries > opt.retries)
				goto failed;
			tally(retried, -1, why);
			a->retries++;
			usleep(tries < 10 ? 100000 * (tries + 1) : 1000000);
		}
	}
failed:
	count_error(status, why);
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		long i;

		pthread_mutex_lock(&lock);
		i = next_i < end_i ? next_i++ : -1;
		pthread_mutex_unlock(&lock);
		if (i < 0)
			return NULL;
		attest_one(&att[i]);
	}
}

/* The registry's size as its backend counts it, or -1. */
static double registry_bytes(const char *path)
{
	tpa_store *st = NULL;
	int64_t n = -1;

	if (tpa_store_open_existing(&st, path) < 0 || tpa_store_bytes(&n, st) < 0)
		n = -1;
	tpa_store_close(st);
	return (double)n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
	size_t k = (size_t)(p * (double)(n - 1) + 0.5);

	return v[k < n ? k : n - 1];
}

/* --replay: a request that got a verdict, sent again to another address
 * over a connection of its own; it must be refused, its challenge used. */
static int replay(long i)
{
	tpa_rpc_client_opts co = { .target = opt.replay, .ca_file = opt.ca, .own_connection = 1 };
	tpa_rpc_client *c = NULL;
	uint8_t *resp = NULL;
	size_t n = 0;
	int status = -1, rc;

	if (i < 0) {
		printf("  replay          none: no attestation got a verdict\n");
		return -1;
	}
	if (tpa_rpc_client_new(&c, &co) < 0) {
		printf("  replay          to %s: %s\n", opt.replay, tpa_err_last());
		return -1;
	}
	rc = tpa_rpc_client_call(&resp, &n, &status, c, TPA_RPC_ATTEST, att[i].req, att[i].len,
				 opt.timeout_ms);
	free(resp);
	tpa_rpc_client_free(c);
	if (rc == 0) {
		printf("  replay          ACCEPTED by %s: a challenge used twice\n", opt.replay);
		return -1;
	}
	printf("  replay          refused by %s: %s: %s\n", opt.replay,
	       status >= 0 ? tpa_rpc_status_name(status) : "(no status)", tpa_err_last());
	return status == TPA_RPC_FAILED_PRECONDITION ? 0 : -1;
}

int main(int argc, char **argv)
{
	pthread_t th[WORKERS_MAX];
	prep_job jobs[DEVICES_MAX];
	double prep = 0, run = 0, cpu0 = -1, cpu1 = -1, reg0 = -1, reg1 = -1, wr0 = -1, wr1 = -1;
	double db0 = -1, db1 = -1;
	double *lat;
	tpa_rpc_client_opts co = { 0 };
	long i, done_ok = 0, compliant = 0, from, replay_i = -1, nretries = 0, retried_att = 0;
	FILE *vout = NULL;
	size_t k, nlat = 0;
	int rc = 0;

	opt.count = 1000;
	opt.batch = 500;
	opt.concurrency = 16;
	opt.timeout_ms = 30000;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long x;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--warm") == 0) {
			opt.warm = 1;
			continue;
		} else if (strcmp(a, "--challenge-only") == 0) {
			opt.challenge_only = 1;
			continue;
		} else if (!v) {
			fprintf(stderr, PROG ": %s: needs a value, or is not an option\n", a);
			usage(stderr);
			return 2;
		}
		i++;
		if (strcmp(a, "--verifier") == 0) {
			opt.target = v;
		} else if (strcmp(a, "--ca") == 0) {
			opt.ca = v;
		} else if (strcmp(a, "--registry") == 0) {
			opt.registry = v;
		} else if (strcmp(a, "--device") == 0) {
			if (add_device(v) < 0) {
				fprintf(stderr, PROG ": %s\n", tpa_err_last());
				return 2;
			}
		} else if (strcmp(a, "--count") == 0 && (x = number(v, 10000000)) > 0) {
			opt.count = x;
		} else if (strcmp(a, "--batch") == 0 && (x = number(v, 1000000)) > 0) {
			opt.batch = x;
		} else if (strcmp(a, "--concurrency") == 0 && (x = number(v, WORKERS_MAX)) > 0) {
			opt.concurrency = (int)x;
		} else if (strcmp(a, "--timeout") == 0 && (x = number(v, 600000)) > 0) {
			opt.timeout_ms = (unsigned)x;
		} else if (strcmp(a, "--verifier-pid") == 0 && (x = number(v, INT_MAX)) > 0 &&
			   opt.nvpid < sizeof(opt.vpid) / sizeof(opt.vpid[0])) {
			opt.vpid[opt.nvpid++] = x;
		} else if (strcmp(a, "--db-pid") == 0 && (x = number(v, INT_MAX)) > 0) {
			opt.dbpid = x;
		} else if (strcmp(a, "--retries") == 0 && (x = number(v, 1000)) > 0) {
			opt.retries = (unsigned)x;
		} else if (strcmp(a, "--refused") == 0 && (strcmp(v, "undecodable") == 0 ||
							   strcmp(v, "bad-seal") == 0)) {
			opt.refused = v[0] == 'u' ? REFUSE_UNDECODABLE : REFUSE_BAD_SEAL;
		} else if (strcmp(a, "--verdicts-out") == 0) {
			opt.verdicts_out = v;
		} else if (strcmp(a, "--replay") == 0) {
			opt.replay = v;
		} else {
			fprintf(stderr, PROG ": %s %s: not an option, or not a number in range\n", a, v);
			usage(stderr);
			return 2;
		}
	}
	if (opt.challenge_only && opt.refused) {
		fprintf(stderr, PROG ": --challenge-only sends no Attest to refuse: not with --refused\n");
		return 2;
	}
	if (!opt.target || !opt.ca || !opt.ndev) {
		fprintf(stderr, PROG ": --verifier, --ca and at least one --device are needed\n");
		usage(stderr);
		return 2;
	}
	setenv("TSS2_LOG", "all+none", 1);
	tpa_rpc_log_init(0);
	co.target = opt.target;
	co.ca_file = opt.ca;
	if (tpa_rpc_client_new(&shared, &co) < 0) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		return 1;
	}
	for (k = 0; k < opt.ndev; k++)
		pthread_mutex_init(&dev_lock[k], NULL);
	for (k = 0; k < opt.ndev; k++)
		if (open_device(&opt.dev[k]) < 0) {
			fprintf(stderr, PROG ": %s\n", tpa_err_last());
			return 1;
		}
	if (!(att = calloc((size_t)opt.count, sizeof(*att))) ||
	    !(lat = malloc((size_t)opt.count * sizeof(*lat)))) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	if (opt.nvpid) {
		cpu0 = vcpu();
		wr0 = vwrites();
	}
	if (opt.dbpid)
		db0 = tpa_proc_tree_cpu_seconds(opt.dbpid);
	if (opt.registry)
		reg0 = registry_bytes(opt.registry);
	for (from = 0; from < opt.count; from += opt.batch) {
		long to = from + opt.batch < opt.count ? from + opt.batch : opt.count;
		double t0 = now_s(), c0 = opt.nvpid ? vcpu() : 0, c1, d0, d1;
		int w;

		d0 = opt.dbpid ? tpa_proc_tree_cpu_seconds(opt.dbpid) : 0;
		/* Evidence for this batch: attempt i is device i mod ndev's
		 * (none for --challenge-only: no Attest uses it). */
		if (!opt.challenge_only && prepare_batch(jobs, th, from, to) < 0)
			return 1;
		prep += now_s() - t0;
		/* The preparation's own GetChallenge calls are not the run's. */
		c1 = opt.nvpid ? vcpu() : 0;
		if (cpu0 >= 0)
			cpu0 += c1 - c0;
		d1 = opt.dbpid ? tpa_proc_tree_cpu_seconds(opt.dbpid) : 0;
		if (db0 >= 0)
			db0 += d1 - d0;
		t0 = now_s();
		next_i = from;
		end_i = to;
		/* For whoever waits to act while the fleet attests. */
		fprintf(stderr, PROG ": evidence made, sending %ld to %ld\n", from, to);
		for (w = 0; w < opt.concurrency; w++)
			pthread_create(&th[w], NULL, worker, NULL);
		for (w = 0; w < opt.concurrency; w++)
			pthread_join(th[w], NULL);
		run += now_s() - t0;
	}
	if (opt.nvpid) {
		cpu1 = vcpu();
		wr1 = vwrites();
	}
	if (opt.dbpid)
		db1 = tpa_proc_tree_cpu_seconds(opt.dbpid);
	if (opt.registry)
		reg1 = registry_bytes(opt.registry);
	if (opt.verdicts_out && !(vout = fopen(opt.verdicts_out, "w"))) {
		fprintf(stderr, PROG ": %s: %s\n", opt.verdicts_out, strerror(errno));
		rc = 1;
	}
	for (i = 0; i < opt.count; i++) {
		if (att[i].latency >= 0) {
			lat[nlat++] = att[i].latency;
			done_ok++;
			compliant += att[i].compliant;
			if (vout)
				fprintf(vout, "%zu %s\n", att[i].dev + 1,
					att[i].compliant ? "compliant" : "non-compliant");
			if (replay_i < 0)
				replay_i = i;
		}
		nretries += att[i].retries;
		retried_att += att[i].retries > 0;
	}
	if (vout && fclose(vout) != 0) {
		fprintf(stderr, PROG ": %s: %s\n", opt.verdicts_out, strerror(errno));
		rc = 1;
	}
	qsort(lat, nlat, sizeof(*lat), cmp_double);
	printf("fleet: %zu device%s, %ld attestations, %d at once, %s (%s)\n",
	       opt.ndev, opt.ndev == 1 ? "" : "s", opt.count, opt.concurrency,
	       opt.warm ? "over one channel kept open" : "a new TLS connection each",
	       opt.challenge_only ? "GetChallenge alone, no Attest" :
	       opt.refused == REFUSE_UNDECODABLE ? "GetChallenge, an undecodable Attest" :
	       opt.refused == REFUSE_BAD_SEAL ? "GetChallenge, Attest with a broken seal" :
	       "GetChallenge, Attest");
	printf("  attestations/s  %.1f (%ld verdicts in %.2f s: %ld compliant, %ld not; %ld errors)\n",
	       (double)done_ok / run, done_ok, run, compliant, done_ok - compliant,
	       opt.count - done_ok);
	if (nlat)
		printf("  latency         p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms "
		       "(connection to verdict)\n", pct(lat, nlat, 0.50) * 1e3,
		       pct(lat, nlat, 0.95) * 1e3, pct(lat, nlat, 0.99) * 1e3, lat[nlat - 1] * 1e3);
	if (cpu0 >= 0 && cpu1 >= cpu0)
		printf("  verifier CPU    %.3f ms per attestation (%zu process%s, user + system, all "
		       "threads, during the runs)\n", (cpu1 - cpu0) * 1e3 / (double)opt.count,
		       opt.nvpid, opt.nvpid == 1 ? "" : "es");
	if (db0 >= 0 && db1 >= db0)
		printf("  database CPU    %.3f ms per attestation (pid %ld and its children: the "
		       "server's)\n", (db1 - db0) * 1e3 / (double)opt.count, opt.dbpid);
	if (wr0 >= 0 && wr1 >= wr0)
		printf("  verifier writes %.0f bytes per attestation to storage (/proc/PID/io "
		       "write_bytes, the preparation's included)\n", (wr1 - wr0) / (double)opt.count);
	if (reg0 >= 0 && reg1 >= 0)
		printf("  registry        %.0f bytes per attestation (%.1f MiB now)\n",
		       (reg1 - reg0) / (double)opt.count, reg1 / 1048576.0);
	printf("  evidence        made beforehand in %.2f s (a challenge and a quote each; "
	       "not timed)\n", prep);
	if (nretries) {
		printf("  retried         %ld tr%s in %ld attestation%s, then a verdict or an "
		       "error below:\n", nretries, nretries == 1 ? "y" : "ies", retried_att,
		       retried_att == 1 ? "" : "s");
		for (k = 0; k < ERROR_KINDS && retried[k].n; k++)
			printf("                  %u %s: %s\n", retried[k].n,
			       retried[k].status >= 0 ? tpa_rpc_status_name(retried[k].status) :
			       "(no status)", retried[k].first);
	}
	if (opt.replay && replay(replay_i) < 0)
		rc = 1;
	for (i = 0; i < opt.count; i++)
		free(att[i].req);
	for (k = 0; k < ERROR_KINDS && errs[k].n; k++) {
		printf("  errors          %u %s: %s\n", errs[k].n,
		       errs[k].status >= 0 ? tpa_rpc_status_name(errs[k].status) : "(no status)",
		       errs[k].first);
		rc = 1;
	}
	if (other_errors) {
		printf("  errors          %u of other kinds\n", other_errors);
		rc = 1;
	}
	free(lat);
	free(att);
	for (k = 0; k < opt.ndev; k++) {
		tpa_tpm_close(opt.dev[k].tpm);
		free(opt.dev[k].log);
		free((char *)opt.dev[k].tcti);
	}
	tpa_rpc_client_free(shared);
	return rc;
}
