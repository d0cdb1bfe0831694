/* SPDX-License-Identifier: BSD-3-Clause */
/* verifier: the attestation verifier service and its operator commands.
 *
 *   verifier serve --listen ADDR (--cert FILE --key FILE | --insecure) ...
 *   verifier token verify (--jwks FILE | --jwk FILE) [--nonce HEX]
 *                         [--accept-warning] (TOKEN | @FILE | --token-file FILE | -)
 *   verifier eventlog show [--json] FILE
 *   verifier audit verify|sign|export|prune --registry FILE ...
 *
 * Each command returns its exit status, a tpa_exit (tpa/exit.h; README,
 * "Exit status", says which command gives which). serve: 0 stopped by a
 * signal, 2 usage or configuration error, 9 the service failed. */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>

#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "tpa/audit.h"
#include "tpa/config.h"
#include "tpa/err.h"
#include "tpa/fileio.h"
#include "tpa/http.h"
#include "tpa/identity.h"
#include "tpa/log.h"
#include "tpa/rpc.h"
#include "tpa/sbref.h"
#include "tpa/service.h"
#include "tpa/store.h"
#include "tpa/timefmt.h"
#include "tpa/token.h"
#include "tpa/version.h"
#include "tpa/watch.h"

#include "cmd.h"

#define PROG "verifier"
#define DEFAULT_GRACE_MS 5000
#define SBREF_DEFAULT_MAX_AGE_DAYS 180   /* Microsoft updates dbx a few times a year */
/* Memory a request may cost is about its size times the decoder's bound
 * (TPA_SERVICE_DECODE_FACTOR) on each worker at once: these keep the worst
 * case of requests in hand: workers + 2 x writers (include/tpa/rpc.h). */
#define WORKERS_MAX 16
/* Writers by default (--writers): on a PostgreSQL registry a verdict's
 * commit is round trips to a server, and may wait for a standby: 8 let its
 * group hold up to 8 verdicts while the workers go on (a commit of 5 ms: 3x
 * the attestations/s of none, docs/scale.md). An SQLite file commits with
 * one local fdatasync, and there the hand-off cost more CPU than it saved:
 * none. */
#define DEFAULT_WRITERS_SERVER 8
#define MAX_MESSAGE_MAX (16u << 20)
#define WORKERS_X_MESSAGE_MAX (64u << 20)
#define NOFILE_WANTED 65536
#define JWK_MAX 8192

/* Set once serve listens (before any other thread of ours starts): from
 * then on what serve says is a log record (tpa/log.h, --log-format); until
 * then, a person at a terminal reads "verifier: ..." lines and exit 2. */
static int serving;

/* What serve says: a record of this level once serving, else a plain line
 * (the level is then the exit status's business). */
static void say(tpa_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(tpa_log_level level, const char *fmt, ...)
{
	char msg[TPA_LOG_VALUE_MAX + 2];
	tpa_log_rec rec;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!serving) {
		fprintf(stderr, PROG ": %s\n", msg);
		return;
	}
	tpa_log_rec_init(&rec, level, msg);
	tpa_log_write(&rec);
}

/* The same with fields: key, value string pairs ending in NULL (a NULL
 * value is left out); before serving "verifier: MSG key=value ...". */
static void say_fields(tpa_log_level level, const char *msg, ...) __attribute__((sentinel));
static void say_fields(tpa_log_level level, const char *msg, ...)
{
	tpa_log_rec rec;
	const char *k, *v;
	va_list ap;

	tpa_log_rec_init(&rec, level, msg);
	va_start(ap, msg);
	while ((k = va_arg(ap, const char *)) != NULL)
		if ((v = va_arg(ap, const char *)) != NULL)
			tpa_log_str(&rec, k, v);
	va_end(ap);
	if (serving) {
		tpa_log_write(&rec);
	} else {
		char line[TPA_LOG_LINE_MAX];
		const char *tail;

		/* The fields as logfmt writes them: the record again with an
		 * empty message, what follows it. */
		tpa_log_rec_init(&rec, level, "");
		va_start(ap, msg);
		while ((k = va_arg(ap, const char *)) != NULL)
			if ((v = va_arg(ap, const char *)) != NULL)
				tpa_log_str(&rec, k, v);
		va_end(ap);
		tpa_log_format_line(line, sizeof(line), &rec, TPA_LOG_TEXT, 1, 0);
		tail = strstr(line, "msg=\"\"");
		fprintf(stderr, PROG ": %s%s", msg, tail ? tail + 6 : "\n");
	}
}

/* The service's decisions, written where serve logs. */
static void log_rec(void *ctx, const tpa_log_rec *rec)
{
	(void)ctx;
	tpa_log_write(rec);
}

static tpa_exit cmd_serve(int argc, char **argv);

/* The commands, in the order usage lists them. help: each of its forms
 * after "verifier ", one a line; the command's own --help says the rest. */
static const struct {
	const char *name;
	tpa_exit (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "serve", cmd_serve,
	  "serve [--config FILE] --listen ADDR (--cert FILE --key FILE | --insecure) [options]" },
	{ "token", cmd_token, "token verify (--jwks FILE | --jwk FILE) [options] TOKEN|@FILE|-" },
	{ "keys", cmd_keys,
	  "keys rotate --token-key FILE [--activate-after DURATION] [options]\n"
	  "keys activate --token-key FILE [--] [KID]\n"
	  "keys list --token-key FILE [--json]\n"
	  "keys jwks --token-key FILE\n"
	  "keys fetch --verifier ADDR (--ca FILE | --insecure)" },
	{ "compliance", cmd_compliance,
	  "compliance --verifier ADDR --ca FILE --cert FILE --key FILE [--json] DEVICE_ID" },
	{ "eventlog", cmd_eventlog, "eventlog show [--json] [--secureboot-ref FILE] FILE" },
	{ "devices", cmd_devices,
	  "devices list|show|revoke|reinstate|delete|label|cert [options] --registry FILE ..." },
	{ "sessions", cmd_sessions, "sessions list [--json] --registry FILE [DEVICE]" },
	{ "outbox", cmd_outbox, "outbox [--json] --registry FILE" },
	{ "baseline", cmd_baseline,
	  "baseline learn|merge|diff|check|appraise|add|assign|list|show|allow [options] ..." },
	{ "audit", cmd_audit, "audit verify|sign|export|prune --registry FILE [options]" },
	{ "registry", cmd_registry, "registry backup|restore|check --registry FILE [options] ..." },
	{ "secureboot-ref", cmd_sbref,
	  "secureboot-ref build --list FILE --certs DIR --source TEXT --date DATE OUT\n"
	  "secureboot-ref show [--json] FILE" },
	{ "radius", cmd_radius,
	  "radius disconnect|coa --nas HOST:PORT --secret-file FILE SESSION [options]" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* verifier --help: every command's forms, then where the rest is. */
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
			fprintf(f, "%s" PROG " %.*s\n", lead, n, h);
			lead = "       ";
			if (!nl)
				break;
			h = nl + 1;
		}
	}
	fprintf(f, "       " PROG " --version\n");
	if (f == stderr)
		return;
	fprintf(f,
"\n"
"The attestation verifier service (serve) and its operator's commands.\n"
PROG " CMD --help and " PROG " CMD VERB --help: a command's options; man\n"
PROG "(8) and tpm-attest(7): all of it. Exit status: README, \"Exit status\".\n"
"\n"
"  --help                this text\n"
"  --version             the program's version\n");
}

static const char serve_usage_line[] =
"usage: " PROG " serve [--config FILE] --listen ADDR (--cert FILE --key FILE | --insecure) [options]\n";

static void serve_help(FILE *f)
{
	fprintf(f,
"usage: " PROG " serve [--config FILE] --listen ADDR (--cert FILE --key FILE | --insecure) [options]\n"
"\n"
"Answers attest.v1.Verifier over gRPC until SIGTERM or SIGINT, then finishes\n"
"the calls in flight (up to --grace) and exits 0. SIGHUP reads the\n"
"configuration again and applies, all or nothing, the lifetimes, --baseline,\n"
"the relying parties, --ek-ca and the token key set (a next key whose time\n"
"comes signs without it); the rest needs a restart (said, and kept). Exit 2\n"
"usage or configuration (the file, line and key are named), 9 the service\n"
"failed.\n"
"\n"
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
"  --token-key FILE      the token key set (verifier keys --help; or an old\n"
"                        private JWK, P-256); created with mode 0600 and this\n"
"                        --token-ttl if absent; default: a key in memory\n"
"  --public-jwk-out FILE\n"
"                        write the token verification key (public JWK) here\n"
"  --verifier-id TEXT    the tokens' issuer (default tpm-attest)\n"
"  --nonce-ttl MS        challenge lifetime (default %d)\n"
"  --token-ttl S         token lifetime (default %d, at most %d and at most\n"
"                        the key set's token TTL)\n"
"  --attest-interval S   how often devices attest (default %d, the agent's);\n"
"                        a device without a verdict for this plus\n"
"                        --stale-grace is stale: never compliant, and no\n"
"                        token outlives that (its lifetime is capped)\n"
"  --stale-grace S       the slack for a late agent (default %d)\n"
"  --workers N           worker threads (default 2)\n"
"  --writers N           threads for Attest, Enroll and Activate, which wait\n"
"                        on the registry's commit, so that the workers go on\n"
"                        and a group commit holds up to N verdicts (default 8\n"
"                        on PostgreSQL, fewer if the bound below needs it; 0\n"
"                        on SQLite: the workers run them)\n"
"  --max-message BYTES   largest request accepted (default %u)\n"
"  --grace MS            shutdown grace for calls in flight (default %d)\n"
"  --max-connections N   connections open at once, all peers (default %d; fewer\n"
"                        if the descriptor limit allows fewer: 3 each); more\n"
"                        are reset before TLS\n"
"  --max-connections-per-peer N\n"
"                        connections from one address, for IPv6 one /64\n"
"                        (default %d)\n"
"  --handshake-timeout MS\n"
"                        TLS and HTTP/2 set-up (default %d)\n"
"  --idle-timeout MS     a connection without calls is closed (default %d)\n"
"  --max-connection-age MS\n"
"                        and any after this, with 30 s for its calls\n"
"                        (default %d)\n"
"  --max-streams N       concurrent calls on one connection (default %d)\n"
"  --http-listen ADDR    also serve the HTTP face here (TLS with --cert/--key):\n"
"                        GET /v1/devices/ID/compliance and /v1/authz for\n"
"                        relying parties (--client-ca, --relying-party)\n"
"  --http-listen-plain ADDR\n"
"                        /healthz and /readyz without TLS; a loopback\n"
"                        address only\n"
"  --http-max-connections N\n"
"                        HTTP connections open at once, per listener\n"
"                        (default 64; 16 from one address); more are\n"
"                        closed at once on accept, before TLS (gRPC is\n"
"                        not affected)\n"
"  --http-authz-accept-warning\n"
"                        /v1/authz lets a warning through: a token whose\n"
"                        status is warning, a device whose last verdict is\n"
"                        (default: affirming only)\n"
"  --registry WHERE      the device registry: an SQLite file (created if\n"
"                        absent), a postgresql:// URI, or a private file holding\n"
"                        one (replicas share it); with it, Enroll/Activate are\n"
"                        served and Attest takes only registered AKs of active\n"
"                        devices\n"
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
"  --relying-parties FILE\n"
"                        the same, one CN a line ('#' comments)\n"
"  --baseline FILE       the golden baseline for devices the registry assigns\n"
"                        none (every device without --registry); a device\n"
"                        without any baseline is never compliant\n"
"  --secureboot-ref FILE the Secure Boot reference bundle (verifier\n"
"                        secureboot-ref build; packaging/secureboot-ref.json):\n"
"                        Microsoft's revocations and CAs, read and checked\n"
"                        whole at start and on SIGHUP\n"
"  --secureboot-ref-max-age DAYS\n"
"                        a bundle whose data is older is a warning in /readyz\n"
"                        and the log (default %d)\n"
"  --audit-sign-rows N   sign the head of the registry's audit log (hash chain)\n"
"                        with the token key once N rows are under no signed\n"
"                        head (default %d) ...\n"
"  --audit-sign-interval S\n"
"                        ... or S seconds after the last signed head\n"
"                        (default %d); and at shutdown. Rows are checked\n"
"                        before their head is signed: a broken log is never\n"
"                        signed (said on stderr). Go with --registry\n"
"  --radius-das DAS      NAS_IP[:PORT],SECRET_FILE: a NAS's RADIUS Dynamic\n"
"                        Authorization Server (port 3799) and its shared\n"
"                        secret: a device's open session there\n"
"                        is ended (Disconnect-Request) when its compliance\n"
"                        changes; ACK, NAK and giving up audited; repeatable\n"
"  --radius-accounting-from CN\n"
"                        take RADIUS accounting (POST /v1/radius/accounting,\n"
"                        rlm_rest) from this client certificate CN\n"
"  --caep-receiver RECEIVER\n"
"                        URL[,aud=AUD][,bearer-file=FILE][,ca=FILE]: push a\n"
"                        CAEP device-compliance-change SET (RFC 8417,\n"
"                        8935) on every change; at least once, from the\n"
"                        registry's outbox; repeatable. These three need\n"
"                        --registry and a restart to change\n"
"  --log-format FORMAT   text (default: time=... level=info msg=\"...\" key=value)\n"
"                        or json (one object a line); under systemd the\n"
"                        journal's <N> priority prefix and no time\n"
"  --verbose             let gRPC log to stderr\n"
"  --help                this text\n",
		TPA_NONCE_DEFAULT_TTL_MS, TPA_TOKEN_DEFAULT_TTL_S, TPA_TOKEN_MAX_TTL_S,
		TPA_STALE_DEFAULT_INTERVAL_S, TPA_STALE_DEFAULT_GRACE_S,
		TPA_RPC_DEFAULT_MAX_MESSAGE, DEFAULT_GRACE_MS, TPA_RPC_DEFAULT_MAX_CONNECTIONS,
		TPA_RPC_DEFAULT_MAX_PER_PEER, TPA_RPC_DEFAULT_HANDSHAKE_MS, TPA_RPC_DEFAULT_IDLE_MS,
		TPA_RPC_DEFAULT_MAX_AGE_MS, TPA_RPC_DEFAULT_MAX_STREAMS,
		SBREF_DEFAULT_MAX_AGE_DAYS, TPA_AUDIT_DEFAULT_SIGN_ROWS,
		TPA_AUDIT_DEFAULT_SIGN_INTERVAL_S);
}

/* A usage error of serve: "verifier: serve: why" (or "FILE:LINE: why" first
 * when it came from the configuration file) and the usage line. */
static tpa_exit serve_usage_error(const char *src, const char *why, const char *arg)
{
	say(TPA_LOG_ERR, "serve: %s%s%s '%s'", src ? src : "", src ? ": " : "", why, arg);
	if (!serving)
		fputs(serve_usage_line, stderr);
	return TPA_EXIT_USAGE;
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

/* The key set of --token-key FILE (created if absent and create is set,
 * with this verifier's token TTL): a verifier signing tokens of ttl_s must
 * not use a set that drops its retired keys sooner. */
static int load_keyset(tpa_token_keyset **out, const char *path, int create, uint32_t ttl_s)
{
	tpa_token_keyset *ks = NULL;
	int err;

	if ((err = tpa_token_keyset_load(&ks, path, create ? (long)ttl_s : 0)) < 0)
		return err;
	{
		struct stat st;

		if (stat(path, &st) == 0 && (st.st_mode & 077))
			say(TPA_LOG_WARNING, "%sthe token key set %s is open to others "
			    "(mode %03o): chmod 600 it", serving ? "" : "warning: ", path,
			    (unsigned)(st.st_mode & 0777));
	}
	if (ttl_s > tpa_token_keyset_ttl(ks)) {
		err = tpa_err_fail(TPA_ERR_INVALID_ARG, "--token-ttl %u is above the token TTL "
				   "of the key set %s (%u s): its retired keys would leave the "
				   "JWKS before their tokens expire; verifier keys rotate "
				   "--token-ttl %u raises it", ttl_s, path,
				   tpa_token_keyset_ttl(ks), ttl_s);
		tpa_token_keyset_free(ks);
		return err;
	}
	*out = ks;
	return 0;
}

/* The keys of the set by kid and state (never the keys themselves), in one
 * record: keys="active KID, next KID (signs from TIME)". */
static void say_keys(const char *what, const tpa_token_keyset *ks, int64_t now)
{
	char list[TPA_LOG_VALUE_MAX + 1] = "";
	size_t i, n = 0;
	tpa_log_rec rec;

	for (i = 0; i < tpa_token_keyset_count(ks); i++) {
		static const char *const names[] = { "next", "active", "retired", "gone" };
		char when[TPA_TIME_ISO_LEN + 1] = "";
		tpa_token_keyinfo ki;

		if (tpa_token_keyset_info(&ki, ks, i, now) < 0 || ki.state == TPA_KEY_GONE)
			continue;
		if (ki.state == TPA_KEY_NEXT)
			tpa_time_iso(when, sizeof(when), ki.activate_at);
		else if (ki.state == TPA_KEY_RETIRED)
			tpa_time_iso(when, sizeof(when), ki.published_until);
		if (n < sizeof(list))
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s %s%s%s%s",
					      n ? ", " : "", names[ki.state], ki.kid,
					      *when ? (ki.state == TPA_KEY_NEXT ? " (signs from " :
						       " (published until ") : "", when,
					      *when ? ")" : "");
	}
	tpa_log_rec_initf(&rec, TPA_LOG_INFO, "%stoken keys", what);
	tpa_log_str(&rec, "keys", list);
	tpa_log_write(&rec);
}

/* What signs now, and the key before it (for the audit signer). */
static const tpa_token_key *signing_key(const tpa_token_keyset *ks, const tpa_token_key *key,
					const tpa_token_key **prev)
{
	int64_t now = (int64_t)time(NULL);

	*prev = ks ? tpa_token_keyset_previous(ks, now) : NULL;
	return ks ? tpa_token_keyset_signer(ks, now) : key;
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
enum { OPT_HTTP = 280, OPT_HTTP_PLAIN, OPT_HTTP_CONN, OPT_HTTP_WARN };
enum { OPT_ADMISSION = 320, OPT_INTERVAL, OPT_STALE_GRACE };
enum { OPT_LOG_FORMAT = 340, OPT_SBREF, OPT_SBREF_AGE };
enum { OPT_DAS = 360, OPT_CAEP, OPT_ACCT };
enum { OPT_WRITERS = 380 };

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
		say(TPA_LOG_ERR, "%s: a relying party is a certificate's subject CN: 1..%d "
			"printable ASCII characters", where, RP_NAME_MAX);
		return -1;
	}
	if (l->n >= RP_MAX) {
		say(TPA_LOG_ERR, "%s: more than %d relying parties", where, RP_MAX);
		return -1;
	}
	if (!(grown = realloc(l->names, (l->n + 1) * sizeof(*grown))) ||
	    !(grown[l->n] = strdup(name))) {
		if (grown)
			l->names = grown;
		say(TPA_LOG_ERR, "out of memory");
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
		say(TPA_LOG_ERR, "--relying-parties %s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);

		no++;
		snprintf(where, sizeof(where), "%s:%u", path, no);
		if (n && line[n - 1] != '\n' && !feof(f)) {
			say(TPA_LOG_ERR, "%s: line too long", where);
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
			say(TPA_LOG_WARNING, "watchdog: %s", tpa_err_last());
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
		char n[24];

		snprintf(n, sizeof(n), "%lld", (long long)seq);
		say_fields(TPA_LOG_INFO, "audit: signed the head", "seq", n,
			   "kid", tpa_token_key_id(k), NULL);
		said[0] = '\0';
		return;
	}
	if (rc == 0)
		return;
	snprintf(line, sizeof(line), "%s%s", rc == TPA_ERR_VERIFY ?
		 "the log is broken, no head is signed: " : "", tpa_err_last());
	if (strcmp(line, said) != 0)
		say(TPA_LOG_ERR, "audit: %s", line);
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
		{ "attest-interval", required_argument, NULL, OPT_INTERVAL },
		{ "stale-grace", required_argument, NULL, OPT_STALE_GRACE },
		{ "workers", required_argument, NULL, 'w' },
		{ "writers", required_argument, NULL, OPT_WRITERS },
		{ "max-message", required_argument, NULL, 'm' },
		{ "grace", required_argument, NULL, 'g' },
		{ "verbose", no_argument, NULL, 'V' },
		{ "registry", required_argument, NULL, 'R' },
		{ "ek-ca", required_argument, NULL, 'E' },
		{ "admission", required_argument, NULL, OPT_ADMISSION },
		{ "baseline", required_argument, NULL, 'B' },
		{ "secureboot-ref", required_argument, NULL, OPT_SBREF },
		{ "secureboot-ref-max-age", required_argument, NULL, OPT_SBREF_AGE },
		{ "client-ca", required_argument, NULL, 'C' },
		{ "relying-party", required_argument, NULL, OPT_RP },
		{ "relying-parties", required_argument, NULL, OPT_RP_FILE },
		{ "max-connections", required_argument, NULL, OPT_MAX_CONN },
		{ "max-connections-per-peer", required_argument, NULL, OPT_MAX_PEER },
		{ "handshake-timeout", required_argument, NULL, OPT_HANDSHAKE },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "max-connection-age", required_argument, NULL, OPT_AGE },
		{ "max-streams", required_argument, NULL, OPT_STREAMS },
		{ "http-listen", required_argument, NULL, OPT_HTTP },
		{ "http-listen-plain", required_argument, NULL, OPT_HTTP_PLAIN },
		{ "http-max-connections", required_argument, NULL, OPT_HTTP_CONN },
		{ "http-authz-accept-warning", no_argument, NULL, OPT_HTTP_WARN },
		{ "audit-sign-rows", required_argument, NULL, 'A' },
		{ "audit-sign-interval", required_argument, NULL, 'T' },
		{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
		{ "radius-das", required_argument, NULL, OPT_DAS },
		{ "radius-accounting-from", required_argument, NULL, OPT_ACCT },
		{ "caep-receiver", required_argument, NULL, OPT_CAEP },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
};

/* serve's settings: a configuration file's first ("--key=value"), then the
 * command line's, which so override the file's. */
typedef struct {
	tpa_rpc_server_opts so;
	tpa_service_opts sv;
	const char *registry, *baseline, *token_key, *jwk_out, *sbref;
	unsigned long grace;
	int writers;                 /* --writers, -1: by the registry (resolved at serve) */
	int verbose;
	tpa_audit_sign_opts ao;
	rp_list rp;
	tpa_http_opts http;          /* the HTTP face: listen, listen_plain, limits */
	int log_format;              /* a tpa_log_format, --log-format */
	/* Enforcement (tpa/watch.h): restart-only. */
	tpa_watch_das das[TPA_WATCH_DAS_MAX];
	size_t ndas;
	tpa_watch_receiver receivers[TPA_WATCH_RECEIVERS_MAX];
	size_t nreceivers;
	rp_list acct;                /* --radius-accounting-from */
} serve_conf;

static void conf_free(serve_conf *c)
{
	size_t i;

	rp_free(&c->rp);
	rp_free(&c->acct);
	for (i = 0; i < c->nreceivers; i++)
		tpa_watch_receiver_clear(&c->receivers[i]);
	c->nreceivers = 0;
	OPENSSL_cleanse(c->das, sizeof(c->das));
	c->ndas = 0;
}

/* Where serve's arguments come from, read again on SIGHUP. */
typedef struct {
	const char *config;          /* --config FILE, or NULL */
	int argc;                    /* serve's own command line */
	char **argv;
} serve_src;

static const char *const serve_flags[] = { "insecure", "verbose", "http-authz-accept-warning",
					    NULL };
static const char *const serve_not_in_config[] = { "config", "help", NULL };

/* The configuration file (if any) read and checked, and serve's arguments
 * built from it and the command line: 0, or -1 said on stderr (the file
 * and line named). */
static int serve_args(tpa_config **cfg, tpa_config_args *args, const serve_src *src)
{
	*cfg = NULL;
	memset(args, 0, sizeof(*args));
	if ((src->config && (tpa_config_load(cfg, src->config) < 0 ||
			     tpa_config_check_options(*cfg, serve_opts, serve_not_in_config) < 0)) ||
	    tpa_config_args_build(args, *cfg, serve_flags, src->argc, src->argv) < 0) {
		say(TPA_LOG_ERR, "%s", tpa_err_last());
		tpa_config_free(*cfg);
		*cfg = NULL;
		return -1;
	}
	return 0;
}

/* Parses and checks serve's arguments (where[i] names the file and line of
 * argument i, NULL: the command line) into c, whose strings point into
 * argv: 0, 1 after printing --help, or -1 said on stderr naming the option,
 * file and line. Nothing is loaded yet. */
static int parse_serve(serve_conf *c, int argc, char **argv, char **where)
{
	const struct option *opts = serve_opts;
	unsigned long v;
	int o;

	memset(c, 0, sizeof(*c));
	c->sv.sbref_max_age_s = SBREF_DEFAULT_MAX_AGE_DAYS * 86400u;
	c->grace = DEFAULT_GRACE_MS;
	c->so.workers = 2;
	c->writers = -1;
	tpa_staleness_default(&c->sv.staleness);
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *src = optind - 1 < argc && where[optind - 1] ? where[optind - 1] : NULL;

		switch (o) {
		case 'F': break; /* read by cmd_serve */
		case 'l': c->so.listen = optarg; break;
		case 'c': c->so.cert_file = optarg; break;
		case 'k': c->so.key_file = optarg; break;
		case 'I': c->so.insecure = 1; break;
		case 'K': c->token_key = optarg; break;
		case 'P': c->jwk_out = optarg; break;
		case 'i': c->sv.verifier_id = optarg; break;
		case 'V': c->verbose = 1; break;
		case 'R': c->registry = optarg; break;
		case 'E': c->sv.ek_ca = optarg; break;
		case OPT_ADMISSION:
			if (tpa_admission_mode_parse(&c->sv.admission, optarg) < 0) {
				say(TPA_LOG_ERR, "%s: %s", src ? src : "--admission",
					tpa_err_last());
				goto fail;
			}
			break;
		case OPT_LOG_FORMAT: {
			tpa_log_format f;

			if (tpa_log_format_parse(&f, optarg) < 0) {
				say(TPA_LOG_ERR, "%s: %s", src ? src : "--log-format", tpa_err_last());
				goto fail;
			}
			c->log_format = (int)f;
			break;
		}
		case 'B': c->baseline = optarg; break;
		case OPT_SBREF: c->sbref = optarg; break;
		case 'C': c->so.client_ca_file = optarg; break;
		case OPT_HTTP: c->http.listen = optarg; break;
		case OPT_HTTP_PLAIN: c->http.listen_plain = optarg; break;
		case OPT_HTTP_WARN: c->http.authz_accept_warning = 1; break;
		case OPT_RP:
			if (rp_add(&c->rp, optarg, src ? src : "--relying-party") < 0)
				goto fail;
			break;
		case OPT_RP_FILE:
			if (rp_load(&c->rp, optarg) < 0)
				goto fail;
			break;
		case OPT_ACCT:
			if (rp_add(&c->acct, optarg, src ? src : "--radius-accounting-from") < 0)
				goto fail;
			break;
		case OPT_DAS:
			if (c->ndas >= TPA_WATCH_DAS_MAX) {
				say(TPA_LOG_ERR, "%s: more than %d NASes", src ? src : "--radius-das",
				    TPA_WATCH_DAS_MAX);
				goto fail;
			}
			if (tpa_watch_das_parse(&c->das[c->ndas], optarg) < 0) {
				say(TPA_LOG_ERR, "%s: %s", src ? src : "--radius-das", tpa_err_last());
				goto fail;
			}
			c->ndas++;
			break;
		case OPT_CAEP:
			if (c->nreceivers >= TPA_WATCH_RECEIVERS_MAX) {
				say(TPA_LOG_ERR, "%s: more than %d receivers",
				    src ? src : "--caep-receiver", TPA_WATCH_RECEIVERS_MAX);
				goto fail;
			}
			if (tpa_watch_receiver_parse(&c->receivers[c->nreceivers], optarg) < 0) {
				say(TPA_LOG_ERR, "%s: %s", src ? src : "--caep-receiver",
				    tpa_err_last());
				goto fail;
			}
			c->nreceivers++;
			break;
		case 'n':
		case 't':
		case 'w':
		case OPT_WRITERS:
		case 'm':
		case 'g':
		case OPT_MAX_CONN:
		case OPT_MAX_PEER:
		case OPT_HANDSHAKE:
		case OPT_IDLE:
		case OPT_AGE:
		case OPT_STREAMS:
		case OPT_INTERVAL:
		case OPT_STALE_GRACE:
		case OPT_HTTP_CONN:
		case OPT_SBREF_AGE:
		case 'A':
		case 'T': {
			static const struct { int opt; const char *name; unsigned long min, max; } lim[] = {
				{ 'n', "--nonce-ttl", 1000, 3600000 },
				{ 't', "--token-ttl", 1, TPA_TOKEN_MAX_TTL_S },
				{ 'w', "--workers", 1, WORKERS_MAX },
				{ OPT_WRITERS, "--writers", 0, WORKERS_MAX },
				{ 'm', "--max-message", 1024, MAX_MESSAGE_MAX },
				{ 'g', "--grace", 0, 600000 },
				{ OPT_MAX_CONN, "--max-connections", 1, 1000000 },
				{ OPT_MAX_PEER, "--max-connections-per-peer", 1, 1000000 },
				{ OPT_HANDSHAKE, "--handshake-timeout", 100, 600000 },
				{ OPT_IDLE, "--idle-timeout", 1000, 86400000 },
				{ OPT_AGE, "--max-connection-age", 1000, 86400000 },
				{ OPT_STREAMS, "--max-streams", 1, 1000 },
				{ OPT_INTERVAL, "--attest-interval", 1, TPA_STALE_MAX_S },
				{ OPT_STALE_GRACE, "--stale-grace", 0, TPA_STALE_MAX_S },
				{ OPT_HTTP_CONN, "--http-max-connections", 1, 10000 },
				{ OPT_SBREF_AGE, "--secureboot-ref-max-age", 1, 3650 },
				{ 'A', "--audit-sign-rows", 1, 1000000 },
				{ 'T', "--audit-sign-interval", 1, 86400 },
			};
			size_t i;

			for (i = 0; lim[i].opt != o; i++)
				;
			if (parse_ulong(&v, optarg, lim[i].min, lim[i].max) < 0) {
				say(TPA_LOG_ERR, "%s: '%s' is not in %lu..%lu",
					src ? src : lim[i].name, optarg, lim[i].min, lim[i].max);
				goto fail;
			}
			if (o == 'n') c->sv.nonce_ttl_ms = (uint32_t)v;
			if (o == 't') c->sv.token_ttl_s = (uint32_t)v;
			if (o == 'w') c->so.workers = (unsigned)v;
			if (o == OPT_WRITERS) c->writers = (int)v;
			if (o == 'm') c->so.max_message = v;
			if (o == 'g') c->grace = v;
			if (o == OPT_MAX_CONN) c->so.max_connections = (unsigned)v;
			if (o == OPT_MAX_PEER) c->so.max_connections_per_peer = (unsigned)v;
			if (o == OPT_HANDSHAKE) c->so.handshake_timeout_ms = (unsigned)v;
			if (o == OPT_IDLE) c->so.idle_timeout_ms = (unsigned)v;
			if (o == OPT_AGE) c->so.max_age_ms = (unsigned)v;
			if (o == OPT_STREAMS) c->so.max_streams = (unsigned)v;
			if (o == OPT_INTERVAL) c->sv.staleness.interval_s = (uint32_t)v;
			if (o == OPT_STALE_GRACE) c->sv.staleness.grace_s = (uint32_t)v;
			if (o == OPT_HTTP_CONN) c->http.max_connections = (unsigned)v;
			if (o == OPT_SBREF_AGE) c->sv.sbref_max_age_s = (uint32_t)v * 86400u;
			if (o == 'A') c->ao.rows = (uint32_t)v;
			if (o == 'T') c->ao.interval_s = (uint32_t)v;
			break;
		}
		case 'h': serve_help(stdout); conf_free(c); return 1;
		default:
			serve_usage_error(src, "unknown or incomplete option", argv[optind - 1]);
			goto fail;
		}
	}
	if (optind != argc) {
		say(TPA_LOG_ERR, "unexpected argument '%s'", argv[optind]);
		goto fail;
	}
	if (!c->so.listen) {
		say(TPA_LOG_ERR, "--listen ADDR is required");
		goto fail;
	}
	/* Checked first: "localhost" alone would otherwise bind port 443. */
	if (tpa_rpc_check_listen(c->so.listen) < 0) {
		say(TPA_LOG_ERR, "%s", tpa_err_last());
		goto fail;
	}
	/* The HTTP face: decisions over TLS only, health plain on loopback only. */
	if (c->http.listen && (c->so.insecure || tpa_http_check_listen(c->http.listen, 0) < 0)) {
		say(TPA_LOG_ERR, "--http-listen: %s", c->so.insecure ?
			"needs --cert and --key (the decision endpoints are TLS only)" :
			tpa_err_last());
		goto fail;
	}
	if (c->http.listen_plain && tpa_http_check_listen(c->http.listen_plain, 1) < 0) {
		say(TPA_LOG_ERR, "--http-listen-plain: %s", tpa_err_last());
		goto fail;
	}
	if (c->so.insecure && (c->so.cert_file || c->so.key_file)) {
		say(TPA_LOG_ERR, "--insecure excludes --cert and --key");
		goto fail;
	}
	if ((c->registry != NULL) != (c->sv.ek_ca != NULL)) {
		say(TPA_LOG_ERR, "--registry and --ek-ca go together");
		goto fail;
	}
	if (!c->registry && c->sv.admission != TPA_ADMISSION_OPEN) {
		say(TPA_LOG_ERR, "--admission %s needs --registry (it keeps pending devices "
			"and the inventory)", tpa_admission_mode_name(c->sv.admission));
		goto fail;
	}
	if (!c->registry && (c->ao.rows || c->ao.interval_s)) {
		say(TPA_LOG_ERR, "--audit-sign-rows and --audit-sign-interval go with "
			"--registry");
		goto fail;
	}
	if (!c->so.insecure && (!c->so.cert_file || !c->so.key_file)) {
		say(TPA_LOG_ERR, "--cert and --key are required (or --insecure for local tests)");
		goto fail;
	}
	/* The writers by default are as many as fit (serve_writers). */
	if ((uint64_t)(c->so.workers + 2 * (unsigned)(c->writers < 0 ? 0 : c->writers)) *
	    (c->so.max_message ? c->so.max_message : TPA_RPC_DEFAULT_MAX_MESSAGE) >
	    WORKERS_X_MESSAGE_MAX) {
		say(TPA_LOG_ERR, "%s x --max-message is above %u MiB: requests in flight "
			"could cost more memory than that times %u",
			c->writers > 0 ? "(--workers + 2 x --writers)" : "--workers",
			WORKERS_X_MESSAGE_MAX >> 20, TPA_SERVICE_DECODE_FACTOR);
		goto fail;
	}
	if (c->rp.n && !c->so.client_ca_file) {
		say(TPA_LOG_ERR, "--relying-party needs --client-ca");
		goto fail;
	}
	if (c->acct.n && (!c->so.client_ca_file || !c->http.listen || !c->registry)) {
		say(TPA_LOG_ERR, "--radius-accounting-from needs --http-listen, --client-ca and "
			"--registry");
		goto fail;
	}
	if ((c->ndas || c->nreceivers) && !c->registry) {
		say(TPA_LOG_ERR, "--radius-das and --caep-receiver need --registry (it keeps the "
			"sessions and what is owed)");
		goto fail;
	}
	return 0;
fail:
	conf_free(c);
	return -1;
}

/* What the service serves with now, replaced by a SIGHUP that succeeds. */
typedef struct {
	const serve_src *src;
	const serve_conf *run;           /* the settings serve started with */
	tpa_service *svc;
	tpa_rpc_server *srv;
	tpa_http *http;                  /* the HTTP face, NULL if none */
	tpa_watch *watch;                /* enforcement, NULL if none */
	tpa_baseline *bl;                /* --baseline, NULL if none */
	tpa_sbref *sbref;                /* --secureboot-ref, NULL if none */
	rp_list rp;
	const tpa_token_keyset *ks;      /* the service owns it; NULL without --token-key */
	const tpa_token_key *key;        /* without --token-key: the key in memory */
	char signing_kid[80];            /* the kid that signed when last looked at */
} serve_live;

/* The settings that a running verifier cannot change: each one a SIGHUP
 * finds changed is said to need a restart, and kept. */
/* --writers, or by the registry: on PostgreSQL as many as fit, up to
 * DEFAULT_WRITERS_SERVER, within the bound on requests in hand. */
static unsigned serve_writers(const serve_conf *c, const tpa_store *store)
{
	uint64_t msg = c->so.max_message ? c->so.max_message : TPA_RPC_DEFAULT_MAX_MESSAGE;
	uint64_t fit = WORKERS_X_MESSAGE_MAX / msg;

	if (c->writers >= 0)
		return (unsigned)c->writers;
	if (!store || !tpa_store_is_server(store))
		return 0;
	fit = fit > c->so.workers ? (fit - c->so.workers) / 2 : 0;
	return fit < DEFAULT_WRITERS_SERVER ? (unsigned)fit : DEFAULT_WRITERS_SERVER;
}

#define RESTART(opt, field, kind) { opt, offsetof(serve_conf, field), kind }
static const struct {
	const char *opt;
	size_t off;
	char kind;                       /* s string, i int, u unsigned, z size_t,
					  * l unsigned long, w uint32_t */
} restart_only[] = {
	RESTART("--listen", so.listen, 's'),
	RESTART("--insecure", so.insecure, 'i'),
	RESTART("--workers", so.workers, 'u'),
	RESTART("--writers", writers, 'i'),
	RESTART("--max-message", so.max_message, 'z'),
	RESTART("--max-connections", so.max_connections, 'u'),
	RESTART("--max-connections-per-peer", so.max_connections_per_peer, 'u'),
	RESTART("--handshake-timeout", so.handshake_timeout_ms, 'u'),
	RESTART("--idle-timeout", so.idle_timeout_ms, 'u'),
	RESTART("--max-connection-age", so.max_age_ms, 'u'),
	RESTART("--max-streams", so.max_streams, 'u'),
	RESTART("--http-listen", http.listen, 's'),
	RESTART("--http-listen-plain", http.listen_plain, 's'),
	RESTART("--http-max-connections", http.max_connections, 'u'),
	RESTART("--http-authz-accept-warning", http.authz_accept_warning, 'i'),
	RESTART("--grace", grace, 'l'),
	RESTART("--registry", registry, 's'),
	RESTART("--verifier-id", sv.verifier_id, 's'),
	RESTART("--public-jwk-out", jwk_out, 's'),
	RESTART("--verbose", verbose, 'i'),
	RESTART("--audit-sign-rows", ao.rows, 'w'),
	RESTART("--audit-sign-interval", ao.interval_s, 'w'),
	RESTART("--log-format", log_format, 'i'),
};
#undef RESTART

static void setting_text(char *buf, size_t cap, const serve_conf *c, size_t i)
{
	const char *p = (const char *)c + restart_only[i].off;
	const char *s;

	switch (restart_only[i].kind) {
	case 's':
		memcpy(&s, p, sizeof(s));
		snprintf(buf, cap, "%s", s ? s : "(none)");
		break;
	case 'i': snprintf(buf, cap, "%d", *(const int *)(const void *)p); break;
	case 'u': snprintf(buf, cap, "%u", *(const unsigned *)(const void *)p); break;
	case 'z': snprintf(buf, cap, "%zu", *(const size_t *)(const void *)p); break;
	case 'l': snprintf(buf, cap, "%lu", *(const unsigned long *)(const void *)p); break;
	default: snprintf(buf, cap, "%lu", (unsigned long)*(const uint32_t *)(const void *)p);
	}
}

static void say_restart_only(const serve_conf *run, const serve_conf *n)
{
	char was[512], now[512];
	size_t i;

	for (i = 0; i < sizeof(restart_only) / sizeof(restart_only[0]); i++) {
		setting_text(was, sizeof(was), run, i);
		setting_text(now, sizeof(now), n, i);
		if (strcmp(was, now) != 0)
			say(TPA_LOG_WARNING, "SIGHUP: %s changed (%s to %s): needs a restart; "
				"still %s", restart_only[i].opt, was, now, was);
	}
}

/* --secureboot-ref: the bundle read and checked whole, and said; one whose
 * data is older than max_age_s (0: no limit) said as a warning (also
 * /readyz's). 0, or -1 said. */
static int load_sbref(tpa_sbref **out, const char *path, uint32_t max_age_s)
{
	int64_t age;

	if (tpa_sbref_load(out, path) < 0) {
		say(TPA_LOG_ERR, "--secureboot-ref: %s", tpa_err_last());
		return -1;
	}
	age = (int64_t)time(NULL) - (*out)->date_unix;
	say(TPA_LOG_INFO, "--secureboot-ref %s: data of %s (%s), %zu x64 revocations", path,
	    (*out)->date, (*out)->source, (*out)->nimages[TPA_SB_ARCH_X64]);
	if (max_age_s && age > (int64_t)max_age_s)
		say(TPA_LOG_WARNING, "--secureboot-ref %s: its data of %s is %lld days old, over "
		    "the maximum of %u (--secureboot-ref-max-age): rebuild it from Microsoft's "
		    "current list", path, (*out)->date, (long long)(age / 86400),
		    (unsigned)(max_age_s / 86400));
	return 0;
}

/* SIGHUP: the configuration file and the command line read again, and what
 * can change while serving (token and nonce lifetimes, the attest interval
 * and stale grace, --baseline, the
 * relying parties, --ek-ca, the token keys; tpa_service_reload) checked
 * whole, then applied at once; with any error, none of it, the error named
 * by file and line. The rest is kept, said to need a restart if changed. */
static void reload(serve_live *L)
{
	tpa_config *cfg = NULL;
	tpa_config_args args = { 0 };
	serve_conf n;
	int parsed = -1;
	tpa_baseline *bl = NULL;
	tpa_sbref *sbref = NULL;
	tpa_ek_anchors *anchors = NULL;
	tpa_token_keyset *ks = NULL;
	tpa_rpc_tls *tls = NULL;
	int tls_kept = 0;

	say(TPA_LOG_INFO, "SIGHUP: reading %s%s", L->src->config ? L->src->config :
		"the command line", L->src->config ? " and the command line" : "");
	if (serve_args(&cfg, &args, L->src) < 0 ||
	    (parsed = parse_serve(&n, args.argc, args.argv, args.where)) != 0)
		goto refused;
	if ((L->run->registry != NULL) != (n.sv.ek_ca != NULL)) {
		say(TPA_LOG_ERR, "--ek-ca: %s", L->run->registry ?
			"the registry served needs trusted EK CAs" :
			"no registry is served (--registry needs a restart)");
		goto refused;
	}
	if (n.baseline && tpa_baseline_load_file(&bl, n.baseline) < 0) {
		say(TPA_LOG_ERR, "--baseline: %s", tpa_err_last());
		goto refused;
	}
	if (n.sbref && load_sbref(&sbref, n.sbref, n.sv.sbref_max_age_s) < 0)
		goto refused;
	if (n.sv.ek_ca && tpa_ek_anchors_load(&anchors, n.sv.ek_ca) < 0) {
		say(TPA_LOG_ERR, "--ek-ca: %s", tpa_err_last());
		goto refused;
	}
	if (n.token_key && load_keyset(&ks, n.token_key, 0, n.sv.token_ttl_s ? n.sv.token_ttl_s :
				       TPA_TOKEN_DEFAULT_TTL_S) < 0) {
		say(TPA_LOG_ERR, "--token-key: %s", tpa_err_last());
		goto refused;
	}
	if (!n.token_key && L->run->token_key)
		say(TPA_LOG_WARNING, "SIGHUP: --token-key removed: the keys are kept");
	/* The TLS files, for the connections made from now. Whether client
	 * certificates are asked for at all is fixed when serving starts. */
	if (!L->run->so.insecure && !n.so.insecure) {
		if ((n.so.client_ca_file != NULL) != (L->run->so.client_ca_file != NULL))
			tls_kept = 1;
		else if (tpa_rpc_tls_load(&tls, n.so.cert_file, n.so.key_file,
					  n.so.client_ca_file) < 0) {
			say(TPA_LOG_ERR, "%s", tpa_err_last());
			goto refused;
		}
	}
	/* Everything checked: now all of it. */
	if (ks && tpa_service_set_keyset(L->svc, ks) < 0) {
		say(TPA_LOG_ERR, "--token-key: %s", tpa_err_last());
		goto refused;
	}
	if (ks) {
		L->ks = ks;
		ks = NULL;                /* the service's now, until it ends */
	}
	n.sv.baseline = bl;
	n.sv.sbref = sbref;
	n.sv.relying_parties = (const char *const *)n.rp.names;
	n.sv.nrelying_parties = n.rp.n;
	if (tpa_service_reload(L->svc, &n.sv, anchors) < 0) {
		say(TPA_LOG_ERR, "SIGHUP: %s (the token keys were reloaded, nothing "
			"else)", tpa_err_last());
		goto refused;
	}
	anchors = NULL;                   /* the service's now */
	if (tpa_service_set_admission(L->svc, n.sv.admission) < 0)
		say(TPA_LOG_WARNING, "SIGHUP: --admission: %s (kept)", tpa_err_last());
	if (tls && tpa_rpc_server_set_tls(L->srv, tls) < 0) {
		say(TPA_LOG_WARNING, "SIGHUP: TLS files kept: %s", tpa_err_last());
	} else if (tls) {
		say(TPA_LOG_INFO, "SIGHUP: TLS: --cert %s, --key %s%s%s read again: new "
			"connections use them", n.so.cert_file, n.so.key_file,
			n.so.client_ca_file ? ", --client-ca " : "",
			n.so.client_ca_file ? n.so.client_ca_file : "");
		tls = NULL;               /* the server's now */
		/* The HTTP face's TLS listener, from the same files. */
		if (L->http && tpa_http_port(L->http, 0) &&
		    tpa_http_reload_tls(L->http, n.so.cert_file, n.so.key_file,
					n.so.client_ca_file) < 0)
			say(TPA_LOG_WARNING, "SIGHUP: the HTTP face keeps its TLS files: %s",
				tpa_err_last());
		else if (L->http && tpa_http_port(L->http, 0))
			say(TPA_LOG_INFO, "SIGHUP: the HTTP face's TLS: the same files: new "
				"connections use them");
	}
	if (tls_kept)
		say(TPA_LOG_WARNING, "SIGHUP: --client-ca %s: asking for client certificates "
			"or not needs a restart; the TLS files are kept",
			n.so.client_ca_file ? "added" : "removed");
	/* No call uses the old ones any more. */
	tpa_baseline_free(L->bl);
	L->bl = bl;
	bl = NULL;
	tpa_sbref_free(L->sbref);
	L->sbref = sbref;
	sbref = NULL;
	rp_free(&L->rp);
	L->rp = n.rp;
	n.rp.names = NULL;
	n.rp.n = 0;
	say_restart_only(L->run, &n);
	tpa_watch_set_policy(L->watch, &n.sv.staleness, L->run->http.authz_accept_warning);
	if (n.token_key) {
		const tpa_token_key *prev, *cur = signing_key(L->ks, L->key, &prev);

		snprintf(L->signing_kid, sizeof(L->signing_kid), "%s", tpa_token_key_id(cur));
		say_fields(TPA_LOG_NOTICE, "SIGHUP: token key id", "kid", L->signing_kid,
			   "previous", prev ? tpa_token_key_id(prev) : NULL, NULL);
		say_keys("SIGHUP: ", L->ks, (int64_t)time(NULL));
	}
	say(TPA_LOG_NOTICE, "SIGHUP: reloaded: token TTL %u s, attest interval %u s, stale "
		"grace %u s, nonce TTL %u ms, baseline %s, Secure Boot reference %s, %zu "
		"relying part%s, EK CAs %s, admission %s",
		(unsigned)(n.sv.token_ttl_s ? n.sv.token_ttl_s : TPA_TOKEN_DEFAULT_TTL_S),
		(unsigned)n.sv.staleness.interval_s, (unsigned)n.sv.staleness.grace_s,
		(unsigned)(n.sv.nonce_ttl_ms ? n.sv.nonce_ttl_ms : TPA_NONCE_DEFAULT_TTL_MS),
		n.baseline ? n.baseline : "(none)", n.sbref ? n.sbref : "(none)", L->rp.n,
		L->rp.n == 1 ? "y" : "ies",
		n.sv.ek_ca ? n.sv.ek_ca : "(none)", tpa_admission_mode_name(n.sv.admission));
	goto out;
refused:
	say(TPA_LOG_WARNING, "SIGHUP: nothing reloaded: serving with the settings it had");
out:
	if (parsed == 0)
		conf_free(&n);
	tpa_baseline_free(bl);
	tpa_sbref_free(sbref);
	tpa_ek_anchors_free(anchors);
	tpa_token_keyset_free(ks);
	tpa_rpc_tls_free(tls);
	tpa_config_args_free(&args);
	tpa_config_free(cfg);
}

/* The watcher, for the service's verdicts and the HTTP face's sessions
 * (set before either can call). */
static int kick_watch(void *ctx, const tpa_device_change *ch)
{
	(void)ch;
	tpa_watch_kick(*(tpa_watch **)ctx);
	return 0;
}

static int session_started(void *ctx, const tpa_session *se, int admitted)
{
	return tpa_watch_session(*(tpa_watch **)ctx, se, admitted);
}

static const tpa_token_key *watch_key(void *ctx, int64_t now)
{
	(void)now;
	return tpa_service_signing_key(ctx);
}

/* serve with its settings (c, from src). */
static tpa_exit serve(serve_conf *c, const serve_src *src)
{
	tpa_store *store = NULL;
	tpa_baseline *bl = NULL;
	tpa_sbref *sbref = NULL;
	tpa_service_opts sv = c->sv;
	tpa_token_key *key = NULL;
	tpa_token_keyset *keyset = NULL;
	const tpa_token_key *cur_key, *cur_prev;
	tpa_service *svc = NULL;
	tpa_rpc_server *srv = NULL;
	tpa_http *http = NULL;
	tpa_audit_signer *signer = NULL;
	char audit_said[TPA_AUDIT_REASON_MAX + 64] = "";
	sigset_t set;
	int sig = 0, port = 0;
	tpa_exit rc = TPA_EXIT_SERVICE;
	watchdog_t wd = { NULL, 0, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
	serve_live live = { .src = src, .run = c };
	tpa_watch *watch = NULL;
	tpa_notifier kick = { "watch", kick_watch, &watch };
	pthread_t wd_thread;
	int wd_started = 0;

	/* Signals are taken by sigwait below; every thread (gRPC's too)
	 * inherits this mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	tpa_log_open(STDERR_FILENO, (tpa_log_format)c->log_format);
	tpa_rpc_log_init(c->verbose);
	/* tpm2-tss's unmarshaller logs each malformed structure a client
	 * sends; the verdict already says what was wrong. */
	if (!c->verbose)
		setenv("TSS2_LOG", "all+none", 0);

	if ((c->token_key ? load_keyset(&keyset, c->token_key, 1, c->sv.token_ttl_s ?
					 c->sv.token_ttl_s : TPA_TOKEN_DEFAULT_TTL_S) :
	     tpa_token_key_new(&key)) < 0) {
		say(TPA_LOG_ERR, "%s", tpa_err_last());
		rc = TPA_EXIT_USAGE;
		goto cleanup;
	}
	if (c->jwk_out && write_public_jwk(c->jwk_out, signing_key(keyset, key, &cur_prev)) < 0) {
		say(TPA_LOG_ERR, "cannot write %s", c->jwk_out);
		rc = TPA_EXIT_USAGE;
		goto cleanup;
	}
	if (c->registry && (tpa_store_open(&store, c->registry) < 0 ||
			    tpa_audit_signer_new(&signer, store, &c->ao) < 0)) {
		say(TPA_LOG_ERR, "%s", tpa_err_last());
		rc = TPA_EXIT_USAGE;
		goto cleanup;
	}
	if (c->baseline && tpa_baseline_load_file(&bl, c->baseline) < 0) {
		say(TPA_LOG_ERR, "--baseline: %s", tpa_err_last());
		rc = TPA_EXIT_USAGE;
		goto cleanup;
	}
	if (c->sbref && load_sbref(&sbref, c->sbref, c->sv.sbref_max_age_s) < 0) {
		rc = TPA_EXIT_USAGE;
		goto cleanup;
	}
	sv.baseline = bl;
	sv.sbref = sbref;
	sv.store = store;
	sv.key = key;
	sv.keyset = keyset;
	sv.log = log_rec;
	sv.relying_parties = (const char *const *)c->rp.names;
	sv.nrelying_parties = c->rp.n;
	if (c->ndas || c->nreceivers) {
		sv.notifiers = &kick;
		sv.nnotifiers = 1;
	}
	/* The EK CAs are checked here too, to name the option: a missing,
	 * unreadable or empty --ek-ca would refuse every enrollment. */
	if (sv.ek_ca) {
		tpa_ek_anchors *anchors = NULL;

		if (tpa_ek_anchors_load(&anchors, sv.ek_ca) < 0) {
			say(TPA_LOG_ERR, "--ek-ca: %s", tpa_err_last());
			rc = TPA_EXIT_USAGE;
			goto cleanup;
		}
		tpa_ek_anchors_free(anchors);
	}
	c->so.writers = serve_writers(c, store);
	if (tpa_service_new(&svc, &sv) < 0 || tpa_rpc_server_new(&srv, &c->so) < 0 ||
	    tpa_service_register(svc, srv) < 0) {
		say(TPA_LOG_ERR, "%s", tpa_err_last());
		rc = TPA_EXIT_USAGE;
		goto cleanup;
	}
	live.svc = svc;
	live.srv = srv;
	live.ks = keyset;
	live.key = key;
	cur_key = signing_key(live.ks, live.key, &cur_prev);
	snprintf(live.signing_kid, sizeof(live.signing_kid), "%s", tpa_token_key_id(cur_key));
	if (c->ndas || c->nreceivers) {
		tpa_watch_opts wo;

		memset(&wo, 0, sizeof(wo));
		wo.registry = c->registry;
		wo.staleness = c->sv.staleness;
		wo.accept_warning = c->http.authz_accept_warning;
		wo.das = c->das;
		wo.ndas = c->ndas;
		wo.receivers = c->receivers;
		wo.nreceivers = c->nreceivers;
		wo.iss = c->sv.verifier_id ? c->sv.verifier_id : "tpm-attest";
		wo.key = watch_key;
		wo.key_ctx = svc;
		wo.metrics = tpa_service_metrics(svc);
		if (tpa_watch_start(&watch, &wo) < 0) {
			say(TPA_LOG_ERR, "%s", tpa_err_last());
			rc = TPA_EXIT_USAGE;
			goto cleanup;
		}
		live.watch = watch;
		say(TPA_LOG_INFO, "enforcement: %zu NAS%s, %zu CAEP receiver%s", c->ndas,
		    c->ndas == 1 ? "" : "es", c->nreceivers, c->nreceivers == 1 ? "" : "s");
	}
	/* The rows since the last head are checked before serving. */
	audit_tick(signer, cur_key, cur_prev, 0, audit_said, sizeof(audit_said));
	if (tpa_rpc_server_start(srv, &port) < 0) {
		say(TPA_LOG_ERR, "%s", tpa_err_last());
		goto cleanup;
	}
	{
		/* The listen address with the bound port. */
		const char *colon = strrchr(c->so.listen, ':');
		int hl = colon ? (int)(colon - c->so.listen) : (int)strlen(c->so.listen);

		printf("listening on %.*s:%d (%s)\n", hl, c->so.listen, port,
		       c->so.insecure ? "plaintext" : "TLS");
		fflush(stdout);
	}
	/* The HTTP face after gRPC: the same service, its own listeners. */
	if (c->http.listen || c->http.listen_plain) {
		c->http.cert_file = c->so.cert_file;
		c->http.key_file = c->so.key_file;
		c->http.client_ca_file = c->so.client_ca_file;
		c->http.accounting_from = (const char *const *)c->acct.names;
		c->http.naccounting_from = c->acct.n;
		c->http.session_hook = watch ? session_started : NULL;
		c->http.session_ctx = &watch;
		if (tpa_http_start(&http, &c->http, svc) < 0) {
			say(TPA_LOG_ERR, "%s", tpa_err_last());
			tpa_rpc_server_shutdown(srv, 0);
			goto cleanup;
		}
		live.http = http;
		if (c->http.listen)
			printf("http listening on port %d (TLS)\n", tpa_http_port(http, 0));
		if (c->http.listen_plain)
			printf("http health listening on port %d (plaintext, loopback)\n",
			       tpa_http_port(http, 1));
		fflush(stdout);
	}
	/* Listening: from here what serve says is the log's. */
	serving = 1;
	{
		char p[16];

		snprintf(p, sizeof(p), "%d", port);
		say_fields(TPA_LOG_NOTICE, "serving", "version", TPA_VERSION, "port", p,
			   "transport", c->so.insecure ? "plaintext" : "tls",
			   "log_format", tpa_log_format_name((tpa_log_format)c->log_format), NULL);
	}
	say_fields(TPA_LOG_INFO, "token key id", "kid", tpa_token_key_id(cur_key),
		   "previous", cur_prev ? tpa_token_key_id(cur_prev) : NULL, NULL);
	if (live.ks)
		say_keys("", live.ks, (int64_t)time(NULL));
	sd_notify(0, "READY=1");
	if (sd_watchdog_enabled(0, &wd.usec) > 0 && wd.usec >= 200000) {
		wd.srv = srv;
		wd_started = pthread_create(&wd_thread, NULL, watchdog, &wd) == 0;
	}
	/* From here the service has the baseline and the relying parties; a
	 * SIGHUP replaces them (reload), and frees these. */
	live.bl = bl;
	bl = NULL;
	live.sbref = sbref;
	sbref = NULL;
	live.rp = c->rp;
	c->rp.names = NULL;
	c->rp.n = 0;
	/* SIGHUP: the settings again (reload). Once a second, the audit log's
	 * head is signed if due, and a next key whose time came is said to
	 * sign (the service takes it by itself, at its activation time). */
	for (;;) {
		struct timespec tick = { 1, 0 };

		if ((sig = sigtimedwait(&set, NULL, &tick)) < 0) {
			if (errno != EAGAIN && errno != EINTR)
				break;
			cur_key = signing_key(live.ks, live.key, &cur_prev);
			if (strcmp(live.signing_kid, tpa_token_key_id(cur_key)) != 0) {
				snprintf(live.signing_kid, sizeof(live.signing_kid), "%s",
					 tpa_token_key_id(cur_key));
				say_fields(TPA_LOG_NOTICE, "token key signs from now (its "
					   "activation time)", "kid", live.signing_kid, NULL);
			}
			audit_tick(signer, cur_key, cur_prev, 0, audit_said, sizeof(audit_said));
			continue;
		}
		if (sig != SIGHUP)
			break;
		sd_notify(0, "RELOADING=1");
		reload(&live);
		sd_notify(0, "READY=1");
	}
	say_fields(TPA_LOG_NOTICE, "stopping: finishing calls in flight", "signal",
		   sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
	sd_notify(0, "STOPPING=1");
	if (wd_started) {
		pthread_mutex_lock(&wd.lock);
		wd.stop = 1;
		pthread_cond_signal(&wd.cond);
		pthread_mutex_unlock(&wd.lock);
		pthread_join(wd_thread, NULL);
	}
	tpa_http_stop(http);
	http = NULL;
	tpa_rpc_server_shutdown(srv, (unsigned)c->grace);
	tpa_watch_stop(watch);
	watch = NULL;
	/* Every row written is under a signed head when the verifier stops. */
	cur_key = signing_key(live.ks, live.key, &cur_prev);
	audit_tick(signer, cur_key, cur_prev, 1, audit_said, sizeof(audit_said));
	say(TPA_LOG_NOTICE, "stopped");
	rc = TPA_EXIT_OK;
cleanup:
	tpa_http_stop(http);
	tpa_rpc_server_free(srv);
	tpa_watch_stop(watch);
	watch = NULL;
	tpa_service_free(svc);
	tpa_audit_signer_free(signer);
	tpa_store_close(store);
	tpa_baseline_free(bl);
	tpa_baseline_free(live.bl);
	tpa_sbref_free(sbref);
	tpa_sbref_free(live.sbref);
	rp_free(&live.rp);
	conf_free(c);
	tpa_token_key_free(key);
	tpa_token_keyset_free(keyset); /* those SIGHUP gave are the service's */
	return rc;
}

static tpa_exit cmd_serve(int argc, char **argv)
{
	serve_src src = { tpa_config_path_arg(argc, argv), argc, argv };
	tpa_config *cfg = NULL;
	tpa_config_args args;
	serve_conf c;
	tpa_exit rc;
	int parsed;

	if (serve_args(&cfg, &args, &src) < 0)
		return TPA_EXIT_USAGE;
	parsed = parse_serve(&c, args.argc, args.argv, args.where);
	rc = parsed < 0 ? TPA_EXIT_USAGE : parsed > 0 ? TPA_EXIT_OK : serve(&c, &src);
	if (parsed == 0)
		rp_free(&c.rp);
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
