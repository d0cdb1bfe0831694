/* SPDX-License-Identifier: BSD-3-Clause */
/* attest_client run: the boot-time agent. Enrolls if needed, attests, keeps
 * the current token and a status file where local consumers read them, and
 * attests again before the token expires, on an interval, and after a
 * resume; while the verifier is unreachable or the TPM busy it retries with
 * exponential backoff and jitter. SIGTERM/SIGINT stop it cleanly (an
 * attestation in flight finishes first, bounded by --timeout); SIGHUP
 * re-reads its configuration. One log line per event on stderr, with a
 * syslog level prefix journald understands, and the device id. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sys/wait.h>

#include "agent.h"
#include "attest.h"

enum { LOG_ERR = 3, LOG_WARNING = 4, LOG_INFO = 6, LOG_DEBUG = 7 };

static char device_id[80] = "-";
static int verbose;

static void logline(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logline(int level, const char *fmt, ...)
{
	static const char *const names[] = { [LOG_ERR] = "error", [LOG_WARNING] = "warning",
					     [LOG_INFO] = "info", [LOG_DEBUG] = "debug" };
	char msg[1024];
	va_list ap;
	size_t i;

	if (level == LOG_DEBUG && !verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (i = 0; msg[i]; i++)
		if ((unsigned char)msg[i] < 0x20)
			msg[i] = ' ';
	fprintf(stderr, "<%d>%s device=%.16s %s\n", level, names[level], device_id, msg);
	fflush(stderr);
}

static void agent_note(int error, const char *msg)
{
	logline(error ? LOG_ERR : LOG_INFO, "%s", msg);
}

static double mono(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void iso(char *out, size_t cap, long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm))
		snprintf(out, cap, "-");
	else
		strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

typedef struct {
	long long last_attempt, last_success, expires, next_attempt;
	char verdict[16], outcome[16], ear_status[24], error[512];
	unsigned failures;
} status;

static void write_status(const settings *s, const status *st)
{
	json_t *o = json_object();
	char *t;

	json_object_set_new(o, "device_id", json_string(device_id));
	json_object_set_new(o, "last_attempt", json_integer(st->last_attempt));
	json_object_set_new(o, "last_success", st->last_success ?
			    json_integer(st->last_success) : json_null());
	json_object_set_new(o, "verdict", st->verdict[0] ? json_string(st->verdict) : json_null());
	json_object_set_new(o, "outcome", st->outcome[0] ? json_string(st->outcome) : json_null());
	json_object_set_new(o, "ear_status", st->ear_status[0] ? json_string(st->ear_status) :
			    json_null());
	json_object_set_new(o, "expires", st->expires ? json_integer(st->expires) : json_null());
	json_object_set_new(o, "next_attempt", json_integer(st->next_attempt));
	json_object_set_new(o, "failures", json_integer(st->failures));
	json_object_set_new(o, "error", st->error[0] ? json_string(st->error) : json_null());
	if ((t = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER)) &&
	    write_file_atomic(s->status_file, t, 0640) < 0)
		logline(LOG_ERR, "cannot write the status file %s: %s", s->status_file,
			strerror(errno));
	free(t);
	json_decref(o);
}

/* Seconds until the next attempt after a failure: min(max, min * 2^n),
 * then +-25% jitter so a fleet does not retry in step. */
static unsigned backoff(const settings *s, unsigned failures)
{
	double d = s->retry_min;
	unsigned i;

	for (i = 1; i < failures && d < s->retry_max; i++)
		d *= 2;
	if (d > s->retry_max)
		d = s->retry_max;
	d *= 0.75 + 0.5 * ((double)rand() / RAND_MAX);
	return d < 1 ? 1 : (unsigned)d;
}

/* What an attempt run in a child process reports back through a pipe. */
typedef struct {
	int code, have_verdict, have_token, compliant, warning;
	char outcome[16], baseline[100], ear_status[24], device[80], error[512];
	long long exp;
} result;

/* One attestation in a child process: gRPC, TLS and the TSS touch megabytes
 * the agent need not keep while it waits, and a crash in an attempt stays
 * in the attempt. The child inherits the blocked signals: a SIGTERM sent to
 * the service's cgroup waits for the attempt (bounded by --timeout). */
static void attempt_in_child(const settings *s, result *r)
{
	int fds[2], wstatus = 0;
	pid_t pid;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	r->code = TPA_EXIT_INTERNAL;
	if (pipe(fds) != 0) {
		snprintf(r->error, sizeof(r->error), "pipe: %s", strerror(errno));
		return;
	}
	if ((pid = fork()) < 0) {
		snprintf(r->error, sizeof(r->error), "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		attempt a;
		result out;
		size_t done = 0;

		close(fds[0]);
		memset(&out, 0, sizeof(out));
		tpa_rpc_log_init(s->verbose);
		attest_once(s, &a, 0);
		out.code = a.code;
		out.have_verdict = a.have_verdict;
		if (a.have_verdict) {
			out.compliant = a.v.compliant;
			out.warning = a.v.warning;
			snprintf(out.outcome, sizeof(out.outcome), "%s", a.v.outcome);
			if (a.v.baseline[0])
				snprintf(out.baseline, sizeof(out.baseline), "%.80s@%u",
					 a.v.baseline, a.v.baseline_version);
			out.have_token = a.v.token != NULL;
			token_read(a.v.token, out.ear_status, sizeof(out.ear_status), &out.exp,
				   out.device, sizeof(out.device));
		}
		snprintf(out.error, sizeof(out.error), "%s", a.error);
		attempt_clear(&a);
		while (done < sizeof(out) &&
		       (n = write(fds[1], (char *)&out + done, sizeof(out) - done)) > 0)
			done += (size_t)n;
		_exit(done == sizeof(out) ? 0 : 1);
	}
	close(fds[1]);
	{
		size_t done = 0;

		while (done < sizeof(*r) && (n = read(fds[0], (char *)r + done, sizeof(*r) - done)) > 0)
			done += (size_t)n;
		close(fds[0]);
		while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
			;
		if (done != sizeof(*r)) {
			memset(r, 0, sizeof(*r));
			r->code = TPA_EXIT_INTERNAL;
			snprintf(r->error, sizeof(r->error), "the attempt ended without a result (%s %d)",
				 WIFSIGNALED(wstatus) ? "signal" : "exit",
				 WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : WEXITSTATUS(wstatus));
		}
	}
	r->outcome[sizeof(r->outcome) - 1] = r->baseline[sizeof(r->baseline) - 1] = '\0';
	r->ear_status[sizeof(r->ear_status) - 1] = r->device[sizeof(r->device) - 1] = '\0';
	r->error[sizeof(r->error) - 1] = '\0';
}

/* The token file removed: what it held no longer stands (revoked, a
 * verdict without a token, expired). Local consumers read "no token", not
 * an old compliant one. */
static void drop_token(const settings *s, const char *why)
{
	if (unlink(s->token_out) == 0)
		logline(LOG_WARNING, "token file %s removed: %s", s->token_out, why);
	else if (errno != ENOENT)
		logline(LOG_ERR, "cannot remove the token file %s (%s): %s", s->token_out, why,
			strerror(errno));
}

/* What the device holds no longer: no verdict, status, expiry. */
static void forget_verdict(status *st, const char *verdict)
{
	snprintf(st->verdict, sizeof(st->verdict), "%s", verdict);
	st->outcome[0] = st->ear_status[0] = '\0';
	st->expires = 0;
}

/* One attempt, its status and log line; returns seconds to the next. The
 * status file is written before the line is logged, so whoever reads the
 * log line finds the status that goes with it. */
static unsigned run_once(const settings *s, status *st)
{
	result r;
	long long now = (long long)time(NULL);
	unsigned next;
	char when[32], line[1024];
	int level;

	st->last_attempt = now;
	attempt_in_child(s, &r);
	if (r.have_verdict) {
		if (r.device[0])
			snprintf(device_id, sizeof(device_id), "%s", r.device);
		snprintf(st->ear_status, sizeof(st->ear_status), "%s", r.ear_status);
		snprintf(st->verdict, sizeof(st->verdict), "%s", r.warning ? "warning" :
			 r.compliant ? "compliant" : "non-compliant");
		snprintf(st->outcome, sizeof(st->outcome), "%s", r.outcome);
		st->expires = r.exp;
		st->error[0] = '\0';
		st->failures = 0;
		/* A verdict without a token leaves no earlier one in place. */
		if (!r.have_token)
			drop_token(s, "the verdict came without a token");
		if (r.compliant)
			st->last_success = now;
		/* Again before the token expires, and at least every interval. */
		next = s->interval;
		if (r.exp && r.exp - (long long)s->refresh_before - now < (long long)next)
			next = r.exp - (long long)s->refresh_before - now > 1 ?
			       (unsigned)(r.exp - (long long)s->refresh_before - now) : 1;
		iso(when, sizeof(when), r.exp);
		level = r.compliant ? LOG_INFO : LOG_WARNING;
		snprintf(line, sizeof(line),
			 "attested: %s (%s, outcome %s%s%s), token expires %s, next in %u s",
			 st->ear_status, st->verdict, r.outcome, r.baseline[0] ? ", baseline " : "",
			 r.baseline, when, next);
	} else if (r.code == TPA_EXIT_REFUSED) {
		/* A decision (revoked, not enrollable): ask again, but slowly.
		 * Whatever the device held before does not stand. */
		st->failures++;
		snprintf(st->error, sizeof(st->error), "%s", r.error);
		forget_verdict(st, "refused");
		drop_token(s, "refused by the verifier");
		next = s->interval;
		level = LOG_WARNING;
		snprintf(line, sizeof(line), "refused by the verifier: %s; next in %u s", r.error,
			 next);
	} else {
		/* Unreachable, TPM busy, a malformed reply: back off. The last
		 * verdict stands until its token expires, not after. */
		st->failures++;
		snprintf(st->error, sizeof(st->error), "%s", r.error);
		if (st->expires && now >= st->expires) {
			forget_verdict(st, "expired");
			drop_token(s, "the token expired with no new verdict");
		}
		next = backoff(s, st->failures);
		level = r.code == TPA_EXIT_USAGE ? LOG_ERR : LOG_WARNING;
		snprintf(line, sizeof(line), "attempt %u failed (exit %d): %s; retry in %u s",
			 st->failures, r.code, r.error, next);
	}
	st->next_attempt = (long long)time(NULL) + next;
	write_status(s, st);
	logline(level, "%s", line);
	return next;
}

int agent_settings_load(settings *s, int argc, char **argv)
{
	int rc = settings_load(s, argc, argv);

	if (rc != 0)
		return rc;
	if (!s->co.target || (!s->co.insecure && !s->co.ca_file)) {
		fprintf(stderr, PROG ": run needs --verifier and one of --ca or --insecure\n");
		return TPA_EXIT_USAGE;
	}
	if (!s->ak_file)
		s->ak_file = DEFAULT_AK_FILE;
	if (!s->token_out)
		s->token_out = DEFAULT_TOKEN_FILE;
	if (!s->status_file)
		s->status_file = DEFAULT_STATUS_FILE;
	s->auto_enroll = 1; /* the agent enrolls by itself */
	verbose = s->verbose;
	return 0;
}

int agent_run(settings *s, int argc, char **argv)
{
	status st;
	sigset_t set;
	siginfo_t info;
	int sig;
	unsigned next;
	double deadline, drift;

	if (!s->verbose && !getenv("TSS2_LOG"))
		setenv("TSS2_LOG", "all+none", 1);
	attest_note = agent_note;
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(&st, 0, sizeof(st));
	logline(LOG_INFO, "started: verifier %s, token %s, status %s, AK %s", s->co.target,
		s->token_out, s->status_file, s->ak_file);
	for (;;) {
		next = run_once(s, &st);
		/* Sleep until the next attempt, a signal, or a resume: the boot
		 * clock runs through a suspend, the monotonic one does not. */
		deadline = mono(CLOCK_BOOTTIME) + next;
		drift = mono(CLOCK_BOOTTIME) - mono(CLOCK_MONOTONIC);
		sig = 0;
		for (;;) {
			double left = deadline - mono(CLOCK_BOOTTIME), d;
			struct timespec ts;

			if (left <= 0)
				break;
			if (left > 5)
				left = 5;
			ts.tv_sec = (time_t)left;
			ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
			sig = sigtimedwait(&set, &info, &ts);
			if (sig > 0)
				break;
			d = mono(CLOCK_BOOTTIME) - mono(CLOCK_MONOTONIC);
			if (d - drift > 2) {
				logline(LOG_INFO, "resumed after %.0f s asleep: attesting", d - drift);
				break;
			}
		}
		if (sig == SIGTERM || sig == SIGINT) {
			logline(LOG_INFO, "%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		}
		if (sig == SIGHUP) {
			settings fresh;

			if (agent_settings_load(&fresh, argc, argv) != 0) {
				logline(LOG_ERR, "SIGHUP: the configuration has errors (above); keeping "
					"the old one");
				settings_free(&fresh);
			} else {
				settings_free(s);
				*s = fresh;
				logline(LOG_INFO, "SIGHUP: configuration re-read; attesting");
			}
		}
	}
	settings_free(s);
	return 0;
}
