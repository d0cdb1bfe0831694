/* SPDX-License-Identifier: BSD-3-Clause */
/* verifier: the attestation verifier service and its operator commands.
 *
 *   verifier serve --listen ADDR (--cert FILE --key FILE | --insecure) ...
 *   verifier token verify (--jwks FILE | --jwk FILE) [--nonce HEX]
 *                         [--accept-warning] (TOKEN | @FILE | --token-file FILE | -)
 *   verifier eventlog show [--json] FILE
 *   verifier audit verify|sign|export --registry FILE ...
 *
 * Each command returns its exit status, a tpa_exit (tpa/exit.h; README,
 * "Exit status", says which command gives which). serve: 0 stopped by a
 * signal, 2 usage or configuration error, 9 the service failed. */
#include <errno.h>
#include <getopt.h>

#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "tpa/audit.h"
#include "tpa/config.h"
#include "tpa/err.h"
#include "tpa/fileio.h"
#include "tpa/identity.h"
#include "tpa/rpc.h"
#include "tpa/service.h"
#include "tpa/store.h"
#include "tpa/token.h"
#include "tpa/version.h"

#include "cmd.h"

#define PROG "verifier"
#define DEFAULT_GRACE_MS 5000
/* Memory a request may cost is about its size times the decoder's bound
 * (TPA_SERVICE_DECODE_FACTOR) on each worker at once: these keep the worst
 * case of workers x message in hand. */
#define WORKERS_MAX 16
#define MAX_MESSAGE_MAX (16u << 20)
#define WORKERS_X_MESSAGE_MAX (64u << 20)
#define NOFILE_WANTED 65536
#define JWK_MAX 8192

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void log_line(void *ctx, const char *line)
{
	(void)ctx;
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, PROG ": %s\n", line);
	pthread_mutex_unlock(&log_lock);
}

static tpa_exit cmd_serve(int argc, char **argv);

/* The commands, in the order usage lists them. help: the synopsis after
 * "verifier "; a further line of it starts with the command again, or with
 * a space to continue the line before. */
static const struct {
	const char *name;
	tpa_exit (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "serve", cmd_serve,
	  "serve [--config FILE] --listen ADDR (--cert FILE --key FILE | --insecure) [options]" },
	{ "token", cmd_token,
	  "token verify (--jwks FILE | --jwk FILE) [--nonce HEX] [--accept-warning]\n"
	  "                         (TOKEN | @FILE | --token-file FILE | -)" },
	{ "keys", cmd_keys,
	  "keys rotate|jwks --token-key FILE\n"
	  "keys fetch --verifier ADDR (--ca FILE | --insecure)" },
	{ "compliance", cmd_compliance,
	  "compliance --verifier ADDR --ca FILE --cert FILE --key FILE [--json] ID" },
	{ "eventlog", cmd_eventlog, "eventlog show [--json] FILE" },
	{ "devices", cmd_devices,
	  "devices list|show|revoke|reinstate|delete [--json] --registry FILE [ID]\n"
	  "devices label --registry FILE ID LABEL" },
	{ "baseline", cmd_baseline,
	  "baseline learn|merge|diff|check|appraise|add|assign|list ... (see\n"
	  "                         " PROG " baseline --help, docs/baseline.md)" },
	{ "audit", cmd_audit,
	  "audit verify --registry FILE [--jwks FILE] [--head FILE] [--json]\n"
	  "audit sign --registry FILE --token-key FILE\n"
	  "audit export --registry FILE" },
	{ "registry", cmd_registry, "registry backup --registry FILE OUT" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	const char *lead = "usage: ";
	size_t i;

	for (i = 0; i < NCOMMANDS; i++) {
		const char *h = commands[i].help, *nl;

		for (;;) {
			int n;

			nl = strchr(h, '\n');
			n = nl ? (int)(nl - h) : (int)strlen(h);
			if (h[0] == ' ')
				fprintf(f, "%.*s\n", n, h);
			else
				fprintf(f, "%s" PROG " %.*s\n", lead, n, h);
			lead = "       ";
			if (!nl)
				break;
			h = nl + 1;
		}
	}
	fprintf(f, "       " PROG " --version\n");
	fprintf(f,
"\n"
"serve: answers attest.v1.Verifier over gRPC until SIGTERM or SIGINT, then\n"
"finishes the calls in flight (up to --grace) and exits 0; SIGHUP reloads\n"
"the token keys.\n"
"  --config FILE         settings from FILE, one \"key = value\" per line: the\n"
"                        options below without \"--\"; flags take true or\n"
"                        false; the command line overrides; errors name the\n"
"                        file, line and key\n"
"  --listen ADDR         HOST:PORT, e.g. 127.0.0.1:50051, [::]:50051 (a port is\n"
"                        required); port 0 picks a free port; the bound\n"
"                        address is printed on stdout\n"
"  --cert FILE           PEM server certificate chain\n"
"  --key FILE            PEM private key of the certificate\n"
"  --insecure            plaintext gRPC, for local tests only\n"
"  --token-key FILE      the token signing key (private JWK, P-256); created\n"
"                        with mode 0600 if absent; default: a key in memory\n"
"  --public-jwk-out FILE write the token verification key (public JWK) here\n"
"  --verifier-id TEXT    the tokens' issuer (default tpm-attest)\n"
"  --nonce-ttl MS        challenge lifetime (default %d)\n"
"  --token-ttl S         token lifetime (default %d, at most %d)\n"
"  --workers N           worker threads (default 2)\n"
"  --max-message BYTES   largest request accepted (default %u)\n"
"  --grace MS            shutdown grace for calls in flight (default %d)\n"
"  --max-connections N   connections open at once, all peers (default %d; fewer\n"
"                        if the descriptor limit allows fewer: 3 each); more\n"
"                        are reset before TLS\n"
"  --max-connections-per-peer N  from one address (default %d)\n"
"  --handshake-timeout MS  TLS and HTTP/2 set-up (default %d)\n"
"  --idle-timeout MS     a connection without calls is closed (default %d)\n"
"  --max-connection-age MS  and any after this, with 30 s for its calls\n"
"                        (default %d)\n"
"  --max-streams N       concurrent calls on one connection (default %d)\n"
"  --registry FILE       the device registry (SQLite, created if absent); with\n"
"                        it, Enroll/Activate are served and Attest takes only\n"
"                        registered AKs of active devices\n"
"  --ek-ca DIR           trusted TPM manufacturer CA certificates (PEM or DER\n"
"                        files) for EK certificates; goes with --registry\n"
"  --admission MODE      who may enroll: open (default: an EK certificate that\n"
"                        chains to --ek-ca), approve (also an EK without one;\n"
"                        new devices wait for verifier devices approve) or\n"
"                        allowlist (only EKs verifier devices import listed);\n"
"                        approve and allowlist need --registry\n"
"  --client-ca FILE      PEM CA of relying parties' client certificates (mTLS);\n"
"                        never the CA that issues devices' or users'\n"
"                        certificates\n"
"  --relying-party CN    GetDeviceCompliance answers a certificate from\n"
"                        --client-ca with this subject CN and the clientAuth\n"
"                        extended key usage; repeatable; none: nobody\n"
"  --relying-parties FILE  the same, one CN a line ('#' comments)\n"
"  --baseline FILE       the golden baseline for devices the registry assigns\n"
"                        none (every device without --registry); a device\n"
"                        without any baseline is never compliant\n"
"  --audit-sign-rows N   sign the head of the registry's audit log (hash chain)\n"
"                        with the token key once N rows are under no signed\n"
"                        head (default %d) ...\n"
"  --audit-sign-interval S  ... or S seconds after the last signed head\n"
"                        (default %d); and at shutdown. Rows are checked\n"
"                        before their head is signed: a broken log is never\n"
"                        signed (said on stderr). Go with --registry\n"
"  --verbose             let gRPC log to stderr\n"
"\n"
"token verify: checks a token (EAR) against a JWKS (the key its kid names) or\n"
"one JWK: canonical base64url, ES256 signature, no crit header, iat and exp\n"
"(a lifetime of at most %d s, iat at most %d s ahead), the EAR profile, with\n"
"--nonce the nonce, and ear.status affirming (--accept-warning: or warning;\n"
"never contraindicated); prints the claims; exit 0 accepted, 1 not valid or\n"
"a status not accepted (the message names it).\n"
"keys rotate: the key in FILE becomes FILE.previous (still published), a new\n"
"key signs; SIGHUP makes a running verifier take it.\n"
"\n"
"eventlog show: parses a TCG measured-boot event log (SHA1 or crypto-agile),\n"
"prints its events, the replayed PCRs and the Secure Boot state; --json for\n"
"programs. Exit 0 shown, 2 unreadable or malformed (the offset is named).\n"
"\n"
"audit verify: walks the registry's audit log from its first row (each row's\n"
"hash, its link to the row before, seq continuity) and checks the signed\n"
"heads (with --jwks, their signatures); names the first broken row. Exit 0\n"
"intact, 1 broken, 2 unreadable. audit sign: signs the head now. audit\n"
"export: the rows, their hashes and the latest signed head as JSON. See\n"
"verifier audit --help, docs/audit.md.\n",
		TPA_NONCE_DEFAULT_TTL_MS, TPA_TOKEN_DEFAULT_TTL_S, TPA_TOKEN_MAX_TTL_S,
		TPA_RPC_DEFAULT_MAX_MESSAGE, DEFAULT_GRACE_MS, TPA_RPC_DEFAULT_MAX_CONNECTIONS,
		TPA_RPC_DEFAULT_MAX_PER_PEER, TPA_RPC_DEFAULT_HANDSHAKE_MS, TPA_RPC_DEFAULT_IDLE_MS,
		TPA_RPC_DEFAULT_MAX_AGE_MS, TPA_RPC_DEFAULT_MAX_STREAMS,
		TPA_AUDIT_DEFAULT_SIGN_ROWS, TPA_AUDIT_DEFAULT_SIGN_INTERVAL_S,
		TPA_TOKEN_MAX_TTL_S, TPA_TOKEN_CLOCK_SKEW_S);
}

static int parse_ulong(unsigned long *out, const char *s, unsigned long min,
		       unsigned long max)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* FILE.previous, the key before the last rotation, if there is one. */
static int load_previous(tpa_token_key **out, const char *path)
{
	char prev[4096];

	*out = NULL;
	if ((size_t)snprintf(prev, sizeof(prev), "%s.previous", path) >= sizeof(prev))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "--token-key: path too long");
	if (access(prev, F_OK) != 0)
		return 0;
	return tpa_token_key_load(out, prev, 0);
}

/* Public, for relying parties: 0644, through no link. */
static int write_public_jwk(const char *path, const tpa_token_key *k)
{
	char *jwk = NULL, *line;
	size_t n;
	int rc;

	if (tpa_token_key_public_jwk(&jwk, k) < 0)
		return -1;
	n = strlen(jwk);
	if (!(line = malloc(n + 2))) {
		free(jwk);
		return -1;
	}
	memcpy(line, jwk, n);
	line[n] = '\n';
	rc = tpa_file_write_atomic(path, line, n + 1, 0644);
	free(line);
	free(jwk);
	return rc;
}

enum { OPT_RP = 250, OPT_RP_FILE, OPT_MAX_CONN = 256, OPT_MAX_PEER, OPT_HANDSHAKE, OPT_IDLE, OPT_AGE,
       OPT_STREAMS };
enum { OPT_ADMISSION = 320 };

/* The relying parties GetDeviceCompliance answers: subject CNs. */
#define RP_MAX 256
#define RP_NAME_MAX 127

typedef struct {
	char **names;
	size_t n;
} rp_list;

static void rp_free(rp_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	l->names = NULL;
	l->n = 0;
}

static int rp_add(rp_list *l, const char *name, const char *where)
{
	size_t i, len = strlen(name);
	char **grown;

	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] >= 0x7f)
			break;
	if (!len || len > RP_NAME_MAX || i < len) {
		fprintf(stderr, PROG ": %s: a relying party is a certificate's subject CN: 1..%d "
			"printable ASCII characters\n", where, RP_NAME_MAX);
		return -1;
	}
	if (l->n >= RP_MAX) {
		fprintf(stderr, PROG ": %s: more than %d relying parties\n", where, RP_MAX);
		return -1;
	}
	if (!(grown = realloc(l->names, (l->n + 1) * sizeof(*grown))) ||
	    !(grown[l->n] = strdup(name))) {
		if (grown)
			l->names = grown;
		fprintf(stderr, PROG ": out of memory\n");
		return -1;
	}
	l->names = grown;
	l->n++;
	return 0;
}

/* One CN a line; blank lines and lines starting with '#' are skipped. */
static int rp_load(rp_list *l, const char *path)
{
	char line[512], where[4200];
	FILE *f = fopen(path, "re");
	unsigned no = 0;
	int rc = 0;

	if (!f) {
		fprintf(stderr, PROG ": --relying-parties %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);

		no++;
		snprintf(where, sizeof(where), "%s:%u", path, no);
		if (n && line[n - 1] != '\n' && !feof(f)) {
			fprintf(stderr, PROG ": %s: line too long\n", where);
			rc = -1;
			break;
		}
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
			line[--n] = '\0';
		if (!n || line[0] == '#')
			continue;
		rc = rp_add(l, line, where);
	}
	fclose(f);
	return rc;
}

/* Each connection costs three descriptors: take what the hard limit allows
 * (up to NOFILE_WANTED) rather than the soft limit's 1024. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= NOFILE_WANTED)
		return;
	rl.rlim_cur = rl.rlim_max < NOFILE_WANTED ? rl.rlim_max : NOFILE_WANTED;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/* systemd's watchdog (WatchdogSec=): pinged only while the server still
 * accepts a connection and answers on it, so a listener that died is
 * restarted rather than left listening to no one. */
typedef struct {
	tpa_rpc_server *srv;
	uint64_t usec;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
} watchdog_t;

static void *watchdog(void *arg)
{
	watchdog_t *w = arg;
	/* A probe and a pause take at most a quarter of the watchdog's time,
	 * so one probe that fails (a slow moment, every worker busy) leaves two
	 * more chances before systemd gives up on the verifier. */
	unsigned probe_ms = (unsigned)(w->usec / 8000);

	if (probe_ms > 5000)
		probe_ms = 5000;
	if (probe_ms < 100)
		probe_ms = 100;
	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		struct timespec ts;
		uint64_t ns;

		pthread_mutex_unlock(&w->lock);
		if (tpa_rpc_server_probe(w->srv, probe_ms) == 0)
			sd_notify(0, "WATCHDOG=1");
		else
			fprintf(stderr, PROG ": watchdog: %s\n", tpa_err_last());
		pthread_mutex_lock(&w->lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ns = (uint64_t)ts.tv_nsec + w->usec / 8 * 1000;
		ts.tv_sec += (time_t)(ns / 1000000000u);
		ts.tv_nsec = (long)(ns % 1000000000u);
		while (!w->stop && pthread_cond_timedwait(&w->cond, &w->lock, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Signs the audit log's head if due (or, with force, if any row is under
 * none); says what happened on stderr, a problem once until it changes. */
static void audit_tick(tpa_audit_signer *g, const tpa_token_key *k, const tpa_token_key *prev,
		       int force, char *said, size_t cap)
{
	char line[TPA_AUDIT_REASON_MAX + 64];
	int64_t seq = 0;
	int rc;

	if (!g)
		return;
	rc = tpa_audit_signer_tick(g, k, prev, (int64_t)time(NULL), force, &seq);
	if (rc == 1) {
		fprintf(stderr, PROG ": audit: signed the head at seq %lld (key %s)\n",
			(long long)seq, tpa_token_key_id(k));
		said[0] = '\0';
		return;
	}
	if (rc == 0)
		return;
	snprintf(line, sizeof(line), "%s%s", rc == TPA_ERR_VERIFY ?
		 "the log is broken, no head is signed: " : "", tpa_err_last());
	if (strcmp(line, said) != 0)
		fprintf(stderr, PROG ": audit: %s\n", line);
	snprintf(said, cap, "%s", line);
}

static const struct option serve_opts[] = {
		{ "config", required_argument, NULL, 'F' },
		{ "listen", required_argument, NULL, 'l' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "token-key", required_argument, NULL, 'K' },
		{ "public-jwk-out", required_argument, NULL, 'P' },
		{ "verifier-id", required_argument, NULL, 'i' },
		{ "nonce-ttl", required_argument, NULL, 'n' },
		{ "token-ttl", required_argument, NULL, 't' },
		{ "workers", required_argument, NULL, 'w' },
		{ "max-message", required_argument, NULL, 'm' },
		{ "grace", required_argument, NULL, 'g' },
		{ "verbose", no_argument, NULL, 'V' },
		{ "registry", required_argument, NULL, 'R' },
		{ "ek-ca", required_argument, NULL, 'E' },
		{ "admission", required_argument, NULL, OPT_ADMISSION },
		{ "baseline", required_argument, NULL, 'B' },
		{ "client-ca", required_argument, NULL, 'C' },
		{ "relying-party", required_argument, NULL, OPT_RP },
		{ "relying-parties", required_argument, NULL, OPT_RP_FILE },
		{ "max-connections", required_argument, NULL, OPT_MAX_CONN },
		{ "max-connections-per-peer", required_argument, NULL, OPT_MAX_PEER },
		{ "handshake-timeout", required_argument, NULL, OPT_HANDSHAKE },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "max-connection-age", required_argument, NULL, OPT_AGE },
		{ "max-streams", required_argument, NULL, OPT_STREAMS },
		{ "audit-sign-rows", required_argument, NULL, 'A' },
		{ "audit-sign-interval", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
};

/* serve with its arguments: a configuration file's first ("--key=value"),
 * where[i] naming the file and line of argument i (NULL: the command line). */
static tpa_exit serve(int argc, char **argv, char **where)
{
	const struct option *opts = serve_opts;
	tpa_rpc_server_opts so = { 0 };
	const char *registry = NULL, *baseline = NULL;
	tpa_store *store = NULL;
	tpa_baseline *bl = NULL;
	tpa_service_opts sv = { 0 };
	const char *token_key = NULL, *jwk_out = NULL;
	unsigned long v, grace = DEFAULT_GRACE_MS;
	tpa_token_key *key = NULL, *prev_key = NULL;
	const tpa_token_key *cur_key, *cur_prev;
	tpa_service *svc = NULL;
	tpa_rpc_server *srv = NULL;
	tpa_audit_sign_opts ao = { 0 };
	tpa_audit_signer *signer = NULL;
	char audit_said[TPA_AUDIT_REASON_MAX + 64] = "";
	sigset_t set;
	int c, sig = 0, port = 0, verbose = 0;
	tpa_exit rc = TPA_EXIT_SERVICE;
	watchdog_t wd = { NULL, 0, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
	rp_list rp = { NULL, 0 };
	pthread_t wd_thread;
	int wd_started = 0;

	so.workers = 2;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *src = optind - 1 < argc && where[optind - 1] ? where[optind - 1] : NULL;

		switch (c) {
		case 'F': break; /* read by cmd_serve */
		case 'l': so.listen = optarg; break;
		case 'c': so.cert_file = optarg; break;
		case 'k': so.key_file = optarg; break;
		case 'I': so.insecure = 1; break;
		case 'K': token_key = optarg; break;
		case 'P': jwk_out = optarg; break;
		case 'i': sv.verifier_id = optarg; break;
		case 'V': verbose = 1; break;
		case 'R': registry = optarg; break;
		case 'E': sv.ek_ca = optarg; break;
		case OPT_ADMISSION:
			if (tpa_admission_mode_parse(&sv.admission, optarg) < 0) {
				fprintf(stderr, PROG ": %s: %s\n", src ? src : "--admission",
					tpa_err_last());
				return TPA_EXIT_USAGE;
			}
			break;
		case 'B': baseline = optarg; break;
		case 'C': so.client_ca_file = optarg; break;
		case OPT_RP:
			if (rp_add(&rp, optarg, src ? src : "--relying-party") < 0)
				return TPA_EXIT_USAGE;
			break;
		case OPT_RP_FILE:
			if (rp_load(&rp, optarg) < 0) {
				rp_free(&rp);
				return TPA_EXIT_USAGE;
			}
			break;
		case 'n':
		case 't':
		case 'w':
		case 'm':
		case 'g':
		case OPT_MAX_CONN:
		case OPT_MAX_PEER:
		case OPT_HANDSHAKE:
		case OPT_IDLE:
		case OPT_AGE:
		case OPT_STREAMS:
		case 'A':
		case 'T': {
			static const struct { int opt; const char *name; unsigned long min, max; } lim[] = {
				{ 'n', "--nonce-ttl", 1000, 3600000 },
				{ 't', "--token-ttl", 1, TPA_TOKEN_MAX_TTL_S },
				{ 'w', "--workers", 1, WORKERS_MAX },
				{ 'm', "--max-message", 1024, MAX_MESSAGE_MAX },
				{ 'g', "--grace", 0, 600000 },
				{ OPT_MAX_CONN, "--max-connections", 1, 1000000 },
				{ OPT_MAX_PEER, "--max-connections-per-peer", 1, 1000000 },
				{ OPT_HANDSHAKE, "--handshake-timeout", 100, 600000 },
				{ OPT_IDLE, "--idle-timeout", 1000, 86400000 },
				{ OPT_AGE, "--max-connection-age", 1000, 86400000 },
				{ OPT_STREAMS, "--max-streams", 1, 1000 },
				{ 'A', "--audit-sign-rows", 1, 1000000 },
				{ 'T', "--audit-sign-interval", 1, 86400 },
			};
			size_t i;

			for (i = 0; lim[i].opt != c; i++)
				;
			if (parse_ulong(&v, optarg, lim[i].min, lim[i].max) < 0) {
				fprintf(stderr, PROG ": %s: '%s' is not in %lu..%lu\n",
					src ? src : lim[i].name, optarg, lim[i].min, lim[i].max);
				return TPA_EXIT_USAGE;
			}
			if (c == 'n') sv.nonce_ttl_ms = (uint32_t)v;
			if (c == 't') sv.token_ttl_s = (uint32_t)v;
			if (c == 'w') so.workers = (unsigned)v;
			if (c == 'm') so.max_message = v;
			if (c == 'g') grace = v;
			if (c == OPT_MAX_CONN) so.max_connections = (unsigned)v;
			if (c == OPT_MAX_PEER) so.max_connections_per_peer = (unsigned)v;
			if (c == OPT_HANDSHAKE) so.handshake_timeout_ms = (unsigned)v;
			if (c == OPT_IDLE) so.idle_timeout_ms = (unsigned)v;
			if (c == OPT_AGE) so.max_age_ms = (unsigned)v;
			if (c == OPT_STREAMS) so.max_streams = (unsigned)v;
			if (c == 'A') ao.rows = (uint32_t)v;
			if (c == 'T') ao.interval_s = (uint32_t)v;
			break;
		}
		case 'h': usage(stdout); return TPA_EXIT_OK;
		default:
			fprintf(stderr, PROG ": %s%sunknown or incomplete option '%s'\n", src ? src : "",
				src ? ": " : "", argv[optind - 1]);
			usage(stderr);
			return TPA_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return TPA_EXIT_USAGE;
	}
	if (!so.listen) {
		fprintf(stderr, PROG ": --listen ADDR is required\n");
		return TPA_EXIT_USAGE;
	}
	/* Checked first: "localhost" alone would otherwise bind port 443. */
	if (tpa_rpc_check_listen(so.listen) < 0) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		return TPA_EXIT_USAGE;
	}
	if (so.insecure && (so.cert_file || so.key_file)) {
		fprintf(stderr, PROG ": --insecure excludes --cert and --key\n");
		return TPA_EXIT_USAGE;
	}
	if ((registry != NULL) != (sv.ek_ca != NULL)) {
		fprintf(stderr, PROG ": --registry and --ek-ca go together\n");
		return TPA_EXIT_USAGE;
	}
	if (!registry && sv.admission != TPA_ADMISSION_OPEN) {
		fprintf(stderr, PROG ": --admission %s needs --registry (it keeps pending devices "
			"and the inventory)\n", tpa_admission_mode_name(sv.admission));
		return TPA_EXIT_USAGE;
	}
	if (!registry && (ao.rows || ao.interval_s)) {
		fprintf(stderr, PROG ": --audit-sign-rows and --audit-sign-interval go with "
			"--registry\n");
		return TPA_EXIT_USAGE;
	}
	if (!so.insecure && (!so.cert_file || !so.key_file)) {
		fprintf(stderr, PROG ": --cert and --key are required (or --insecure for local tests)\n");
		return TPA_EXIT_USAGE;
	}
	if ((uint64_t)so.workers * (so.max_message ? so.max_message : TPA_RPC_DEFAULT_MAX_MESSAGE) >
	    WORKERS_X_MESSAGE_MAX) {
		fprintf(stderr, PROG ": --workers x --max-message is above %u MiB: requests in flight "
			"could cost more memory than that times %u\n", WORKERS_X_MESSAGE_MAX >> 20,
			TPA_SERVICE_DECODE_FACTOR);
		return TPA_EXIT_USAGE;
	}

	/* Signals are taken by sigwait below; every thread (gRPC's too)
	 * inherits this mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	tpa_rpc_log_init(verbose);
	/* tpm2-tss's unmarshaller logs each malformed structure a client
	 * sends; the verdict already says what was wrong. */
	if (!verbose)
		setenv("TSS2_LOG", "all+none", 0);

	if ((token_key ? tpa_token_key_load(&key, token_key, 1) :
	     tpa_token_key_new(&key)) < 0 ||
	    (token_key && load_previous(&prev_key, token_key) < 0)) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		rc = TPA_EXIT_USAGE;
		goto cleanup;
	}
	if (jwk_out && write_public_jwk(jwk_out, key) < 0) {
		fprintf(stderr, PROG ": cannot write %s\n", jwk_out);
		rc = TPA_EXIT_USAGE;
		goto cleanup;
	}
	if (registry && (tpa_store_open(&store, registry) < 0 ||
			 tpa_audit_signer_new(&signer, store, &ao) < 0)) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		rc = TPA_EXIT_USAGE;
		goto cleanup;
	}
	if (baseline && tpa_baseline_load_file(&bl, baseline) < 0) {
		fprintf(stderr, PROG ": --baseline: %s\n", tpa_err_last());
		rc = TPA_EXIT_USAGE;
		goto cleanup;
	}
	sv.baseline = bl;
	sv.store = store;
	sv.key = key;
	sv.previous_key = prev_key;
	sv.log = log_line;
	sv.relying_parties = (const char *const *)rp.names;
	sv.nrelying_parties = rp.n;
	if (rp.n && !so.client_ca_file) {
		fprintf(stderr, PROG ": --relying-party needs --client-ca\n");
		rc = TPA_EXIT_USAGE;
		goto cleanup;
	}
	/* The EK CAs are checked here too, to name the option: a missing,
	 * unreadable or empty --ek-ca would refuse every enrollment. */
	if (sv.ek_ca) {
		tpa_ek_anchors *anchors = NULL;

		if (tpa_ek_anchors_load(&anchors, sv.ek_ca) < 0) {
			fprintf(stderr, PROG ": --ek-ca: %s\n", tpa_err_last());
			rc = TPA_EXIT_USAGE;
			goto cleanup;
		}
		tpa_ek_anchors_free(anchors);
	}
	if (tpa_service_new(&svc, &sv) < 0 || tpa_rpc_server_new(&srv, &so) < 0 ||
	    tpa_service_register(svc, srv) < 0) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		rc = TPA_EXIT_USAGE;
		goto cleanup;
	}
	cur_key = key;
	cur_prev = prev_key;
	/* The rows since the last head are checked before serving. */
	audit_tick(signer, cur_key, cur_prev, 0, audit_said, sizeof(audit_said));
	if (tpa_rpc_server_start(srv, &port) < 0) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		goto cleanup;
	}
	{
		/* The listen address with the bound port. */
		const char *colon = strrchr(so.listen, ':');
		int hl = colon ? (int)(colon - so.listen) : (int)strlen(so.listen);

		printf("listening on %.*s:%d (%s)\n", hl, so.listen, port,
		       so.insecure ? "plaintext" : "TLS");
		fflush(stdout);
	}
	fprintf(stderr, PROG ": token key id %s%s%s\n", tpa_token_key_id(key),
		prev_key ? ", previous " : "", prev_key ? tpa_token_key_id(prev_key) : "");
	sd_notify(0, "READY=1");
	if (sd_watchdog_enabled(0, &wd.usec) > 0 && wd.usec >= 200000) {
		wd.srv = srv;
		wd_started = pthread_create(&wd_thread, NULL, watchdog, &wd) == 0;
	}
	/* SIGHUP: the token keys again (after `verifier keys rotate`). Once a
	 * second, the audit log's head is signed if due. */
	for (;;) {
		struct timespec tick = { 1, 0 };
		tpa_token_key *k = NULL, *p = NULL;

		if ((sig = sigtimedwait(&set, NULL, &tick)) < 0) {
			if (errno != EAGAIN && errno != EINTR)
				break;
			audit_tick(signer, cur_key, cur_prev, 0, audit_said, sizeof(audit_said));
			continue;
		}
		if (sig != SIGHUP)
			break;
		if (!token_key) {
			fprintf(stderr, PROG ": SIGHUP: no --token-key to reload\n");
			continue;
		}
		if (tpa_token_key_load(&k, token_key, 0) < 0 || load_previous(&p, token_key) < 0 ||
		    tpa_service_set_keys(svc, k, p) < 0) {
			fprintf(stderr, PROG ": SIGHUP: keys not reloaded: %s\n", tpa_err_last());
			tpa_token_key_free(k);
			tpa_token_key_free(p);
			continue;
		}
		fprintf(stderr, PROG ": SIGHUP: token key id %s%s%s\n", tpa_token_key_id(k),
			p ? ", previous " : "", p ? tpa_token_key_id(p) : "");
		/* The service owns them now, until it is freed. */
		cur_key = k;
		cur_prev = p;
	}
	fprintf(stderr, PROG ": %s received, finishing calls in flight\n",
		sig == SIGTERM ? "SIGTERM" : "SIGINT");
	sd_notify(0, "STOPPING=1");
	if (wd_started) {
		pthread_mutex_lock(&wd.lock);
		wd.stop = 1;
		pthread_cond_signal(&wd.cond);
		pthread_mutex_unlock(&wd.lock);
		pthread_join(wd_thread, NULL);
	}
	tpa_rpc_server_shutdown(srv, (unsigned)grace);
	/* Every row written is under a signed head when the verifier stops. */
	audit_tick(signer, cur_key, cur_prev, 1, audit_said, sizeof(audit_said));
	fprintf(stderr, PROG ": stopped\n");
	rc = TPA_EXIT_OK;
cleanup:
	tpa_rpc_server_free(srv);
	tpa_service_free(svc);
	tpa_audit_signer_free(signer);
	tpa_store_close(store);
	tpa_baseline_free(bl);
	tpa_token_key_free(key);
	tpa_token_key_free(prev_key);
	rp_free(&rp);
	return rc;
}

static tpa_exit cmd_serve(int argc, char **argv)
{
	static const char *const flags[] = { "insecure", "verbose", NULL };
	static const char *const not_in_config[] = { "config", "help", NULL };
	const char *path = tpa_config_path_arg(argc, argv);
	tpa_config *cfg = NULL;
	tpa_config_args args;
	tpa_exit rc;

	if (path && (tpa_config_load(&cfg, path) < 0 ||
		     tpa_config_check_options(cfg, serve_opts, not_in_config) < 0)) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		tpa_config_free(cfg);
		return TPA_EXIT_USAGE;
	}
	if (tpa_config_args_build(&args, cfg, flags, argc, argv) < 0) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		tpa_config_free(cfg);
		return TPA_EXIT_USAGE;
	}
	rc = serve(args.argc, args.argv, args.where);
	tpa_config_args_free(&args);
	tpa_config_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	size_t i;

	/* No OpenSSL cleanup at exit: gRPC's threads may still be finishing
	 * then, and their thread-local OpenSSL state would touch freed locks.
	 * The process's exit frees the memory anyway. */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	if (argc < 2) {
		usage(stderr);
		return TPA_EXIT_USAGE;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return TPA_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf(PROG " " TPA_VERSION "\n");
		return TPA_EXIT_OK;
	}
	fprintf(stderr, PROG ": unknown command '%s'\n", argv[1]);
	usage(stderr);
	return TPA_EXIT_USAGE;
}
