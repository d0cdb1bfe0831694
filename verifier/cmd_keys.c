/* SPDX-License-Identifier: BSD-3-Clause */
/* What a relying party and an operator need around the tokens:
 *
 *   token verify (--jwks FILE | --jwk FILE) [--nonce HEX] [--accept-warning] TOKEN
 *                                     a valid token says ear.status affirming
 *                                     (or warning, with --accept-warning)
 *   keys rotate|activate|list|jwks --token-key FILE
 *                                     the key set: publish a next key, make it
 *                                     sign, show the keys, the JWKS published
 *   keys fetch --verifier ADDR (--ca FILE | --insecure)
 *                                     GetVerificationKeys: the JWKS over gRPC
 *   compliance --verifier ADDR --ca FILE --cert FILE --key FILE [--json] ID
 *                                     GetDeviceCompliance (mTLS)
 *
 * Exit status (tpa/exit.h): 0 valid / done / compliant, 1 not valid / not
 * compliant (token verify: also a valid token whose status is not
 * accepted; keys rotate/activate: refused, saying why), 2 usage or
 * unreadable input, 4 verifier unreachable, 5
 * refused, 6 a reply that cannot be understood, 7 internal. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "tpa/err.h"
#include "tpa/evidence.h"
#include "tpa/rpc.h"
#include "tpa/timefmt.h"
#include "tpa/token.h"
#include "tpa/tpm_decode.h"

#include "cmd.h"

#define PROG "verifier"

static int parse_nonce(uint8_t *out, size_t cap, size_t *len, const char *hex)
{
	size_t n = strlen(hex), i;

	if (n == 0 || n % 2 || n / 2 > cap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		int hi = tpa_hex_digit(hex[2 * i]), lo = tpa_hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

static const char help_verify[] =
"usage: " PROG " token verify (--jwks FILE | --jwk FILE) [options] TOKEN\n"
"       " PROG " token verify (--jwks FILE | --jwk FILE) [options] @FILE | -\n"
"       " PROG " token verify (--jwks FILE | --jwk FILE) [options] --token-file FILE\n"
"\n"
"Checks a token (an EAR, as attest_client --token-out writes it) against a\n"
"JWKS (the key its kid names) or one JWK: canonical base64url, the ES256\n"
"signature, no crit header, iat and exp (a lifetime of at most %d s, iat at\n"
"most %d s ahead), the EAR profile, with --nonce the nonce, and ear.status\n"
"affirming (--accept-warning: or warning; never contraindicated); prints the\n"
"claims. The token is the argument, the file after \"@\" or --token-file, or\n"
"standard input for \"-\". Exit 0 accepted, 1 not valid or a status not\n"
"accepted (the message names it), 2 usage or unreadable input.\n"
"\n"
"  --jwks FILE           the verifier's key set (GetVerificationKeys, or\n"
"                        'verifier keys jwks')\n"
"  --jwk FILE            one public key (serve --public-jwk-out)\n"
"  --nonce HEX           the nonce the token must carry (eat_nonce); needs\n"
"                        --jwks\n"
"  --accept-warning      accept ear.status warning too\n"
"  --token-file FILE     read the token from FILE\n"
"  --help                this text\n";

static const char help_token[] =
"usage: " PROG " token verify (--jwks FILE | --jwk FILE) [options] TOKEN\n"
"\n"
"A relying party's check of the verifier's tokens. " PROG " token VERB --help:\n"
"a verb's options.\n"
"\n"
"  --help                this text\n";

static void help_verify_print(FILE *f)
{
	fprintf(f, help_verify, TPA_TOKEN_MAX_TTL_S, TPA_TOKEN_CLOCK_SKEW_S);
}

/* help_verify with its numbers, for cmd_help and cmd_usage_error. */
static const char *help_verify_text(void)
{
	static char text[sizeof(help_verify) + 32];

	snprintf(text, sizeof(text), help_verify, TPA_TOKEN_MAX_TTL_S, TPA_TOKEN_CLOCK_SKEW_S);
	return text;
}

tpa_exit cmd_token(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "jwk", required_argument, NULL, 'j' },
		{ "jwks", required_argument, NULL, 'J' },
		{ "nonce", required_argument, NULL, 'n' },
		{ "accept-warning", no_argument, NULL, 'w' },
		{ "token-file", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *jwk_file = NULL, *jwks_file = NULL, *nonce_hex = NULL, *token_file = NULL;
	char *keys, *claims = NULL, *token;
	uint8_t nonce[64];
	size_t nonce_len = 0;
	int c, err, accept_warning = 0;

	if (argc < 2)
		return cmd_usage_error("token", help_token, "a verb is required");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(help_token);
	if (strcmp(argv[1], "verify") != 0)
		return cmd_usage_error("token", help_token, "unknown verb '%s'", argv[1]);
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': jwk_file = optarg; break;
		case 'J': jwks_file = optarg; break;
		case 'n': nonce_hex = optarg; break;
		case 'w': accept_warning = 1; break;
		case 't': token_file = optarg; break;
		case 'h': help_verify_print(stdout); return TPA_EXIT_OK;
		default: return cmd_bad_option("token", help_verify_text(), argv);
		}
	}
	if (!jwk_file == !jwks_file)
		return cmd_usage_error("token", help_verify_text(), "one of --jwks and --jwk is required");
	if (optind != argc - (token_file ? 0 : 1))
		return cmd_usage_error("token", help_verify_text(), token_file ?
				       "--token-file and a TOKEN argument exclude each other" :
				       "one TOKEN (or @FILE, -, --token-file FILE) is required");
	if (nonce_hex && parse_nonce(nonce, sizeof(nonce), &nonce_len, nonce_hex) < 0) {
		fprintf(stderr, PROG ": --nonce: not hex of at most 64 bytes\n");
		return TPA_EXIT_USAGE;
	}
	if (!(token = cmd_read_token(token_file ? NULL : argv[optind], token_file)))
		return TPA_EXIT_USAGE;
	if (!(keys = cmd_read_text(jwks_file ? jwks_file : jwk_file))) {
		free(token);
		return TPA_EXIT_USAGE;
	}
	if (jwks_file)
		err = tpa_token_verify_jwks(&claims, keys, token, (int64_t)time(NULL),
					    nonce_hex ? nonce : NULL, nonce_len);
	else if (nonce_hex)
		err = tpa_err_fail(TPA_ERR_INVALID_ARG, "--nonce needs --jwks");
	else
		err = tpa_token_verify(&claims, keys, token, (int64_t)time(NULL));
	free(token);
	free(keys);
	if (err < 0) {
		fprintf(stderr, PROG ": token not valid: %s\n", tpa_err_last());
		return err == TPA_ERR_INVALID_ARG ? TPA_EXIT_USAGE : TPA_EXIT_NO;
	}
	/* Authentic is not enough: the verdict it carries must be one to act
	 * on. The claims are printed only for a token that is accepted. */
	if (tpa_token_accept_status(claims, accept_warning) < 0) {
		fprintf(stderr, PROG ": token not accepted: %s\n", tpa_err_last());
		if (!accept_warning && tpa_token_accept_status(claims, 1) == 0)
			fprintf(stderr, PROG ": --accept-warning accepts a warning\n");
		free(claims);
		return TPA_EXIT_NO;
	}
	printf("%s\n", claims);
	free(claims);
	return TPA_EXIT_OK;
}

/* What a failed call to a verifier exits with. */
static tpa_exit call_exit(int err)
{
	switch (err) {
	case TPA_ERR_UNAVAILABLE:
	case TPA_ERR_DEADLINE:
		return TPA_EXIT_UNREACHABLE;
	case TPA_ERR_REFUSED:
		return TPA_EXIT_REFUSED;
	case TPA_ERR_IO:
	case TPA_ERR_PARSE:
	case TPA_ERR_INVALID_ARG:
		return TPA_EXIT_USAGE;   /* the TLS files or options given */
	default:
		return TPA_EXIT_INTERNAL;
	}
}

/* One call to a verifier with a packed request (freed here); an exit
 * status on failure, TPA_EXIT_OK with *resp. */
static tpa_exit call(uint8_t **resp, size_t *len, const tpa_rpc_client_opts *co, const char *method,
		     uint8_t *req, size_t req_len)
{
	tpa_rpc_client *cl = NULL;
	int err;

	tpa_rpc_log_init(0);
	if ((err = tpa_rpc_client_new(&cl, co)) == 0)
		err = tpa_rpc_client_call(resp, len, NULL, cl, method, req, req_len, 10000);
	free(req);
	tpa_rpc_client_free(cl);
	if (err < 0) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		return call_exit(err);
	}
	return TPA_EXIT_OK;
}

/* --help among ARGV (before a "--"): help wins over the other options. */
static int wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

/* The options of a call to a verifier, and at most one operand (*extra).
 * -1 with *why saying what is wrong, or *why NULL for an unknown or
 * incomplete option (optind past it, for cmd_bad_option). */
static int client_opts(tpa_rpc_client_opts *co, int argc, char **argv, const char **extra,
		       int *json, const char **why)
{
	static const struct option opts[] = {
		{ "verifier", required_argument, NULL, 'v' },
		{ "ca", required_argument, NULL, 'c' },
		{ "server-name", required_argument, NULL, 'n' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(co, 0, sizeof(*co));
	*why = NULL;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'v': co->target = optarg; break;
		case 'c': co->ca_file = optarg; break;
		case 'n': co->server_name = optarg; break;
		case 'I': co->insecure = 1; break;
		case 'C': co->cert_file = optarg; break;
		case 'K': co->key_file = optarg; break;
		case 'j': *json = 1; break;
		default: return -1;
		}
	}
	*extra = optind < argc ? argv[optind] : NULL;
	if (!co->target)
		*why = "--verifier ADDR is required";
	else if (!co->insecure == !co->ca_file)
		*why = "exactly one of --ca FILE and --insecure is required";
	else if (optind + (*extra ? 1 : 0) != argc)
		*why = "more than one argument";
	return *why ? -1 : 0;
}

static const char help_rotate[] =
"usage: " PROG " keys rotate --token-key FILE [--activate-after DURATION]\n"
"                            [--replace-next] [--token-ttl S]\n"
"\n"
"Adds a next key to the key set in FILE: published in the JWKS at once, it\n"
"signs from DURATION on. Publish first, sign later: a relying party holding\n"
"the JWKS has the key before its tokens come. A retired key stays published\n"
"until every token it signed has expired (retired + the token TTL + 60 s),\n"
"then it is dropped. Send SIGHUP to every verifier using FILE afterwards;\n"
"they switch to the next key at its time by themselves. FILE.lock is held\n"
"while FILE is rewritten. A FILE holding one JWK (and FILE.previous) from\n"
"before is read as a set, rewritten as one, and FILE.previous removed. Exit\n"
"0 done, 1 refused (a next key pending, a full set: the message says why\n"
"and until when), 2 usage or an unreadable key set, 7 a write failed.\n"
"\n"
"  --token-key FILE      the key set (private: 0600)\n"
"  --activate-after DURATION\n"
"                        the next key signs after DURATION (N, Ns, Nm, Nh or\n"
"                        Nd, at most 366d; default 24h; 0: at once, for a\n"
"                        compromised key: relying parties then meet an\n"
"                        unknown kid and must re-fetch)\n"
"  --replace-next        replace a next key that does not sign yet (without\n"
"                        it, a pending next key is refused)\n"
"  --token-ttl S         the longest token lifetime of verifiers using the set\n"
"                        (default and most: 2592000); serve refuses a larger\n"
"                        --token-ttl; a retired key stays published S s + 60 s\n"
"  --help                this text\n";

static const char help_activate[] =
"usage: " PROG " keys activate --token-key FILE [--] [KID]\n"
"\n"
"Makes the next key (KID, if given) of the key set in FILE sign now; the key\n"
"that signed retires and stays published until its last tokens expire. Send\n"
"SIGHUP to every verifier using FILE afterwards. FILE.lock is held while\n"
"FILE is rewritten. Exit 0 done, 1 refused (no next key, or none with KID),\n"
"2 usage or an unreadable key set, 7 a write failed. A key id is base64url\n"
"and may begin with '-': give it after --.\n"
"\n"
"  --token-key FILE      the key set (private: 0600)\n"
"  --help                this text\n";

static const char help_list[] =
"usage: " PROG " keys list --token-key FILE [--json]\n"
"\n"
"Shows the key set in FILE: its token TTL and each key, next (published, not\n"
"signing yet: from when), active (signing: since when) or retired (published\n"
"until when), times ISO 8601 UTC. Exit 0 done, 2 usage or an unreadable key\n"
"set.\n"
"\n"
"  --token-key FILE      the key set\n"
"  --json                one JSON object: token_ttl_s and the keys\n"
"  --help                this text\n";

static const char help_jwks[] =
"usage: " PROG " keys jwks --token-key FILE\n"
"\n"
"Prints the JWKS a verifier using the key set in FILE publishes now: the\n"
"public keys of the next, active and retired keys, for relying parties\n"
"(token verify --jwks). Exit 0 done, 2 usage or an unreadable key set.\n"
"\n"
"  --token-key FILE      the key set\n"
"  --help                this text\n";

static const char help_fetch[] =
"usage: " PROG " keys fetch --verifier ADDR (--ca FILE | --insecure)\n"
"                           [--server-name NAME]\n"
"\n"
"Asks a verifier for the keys it publishes (GetVerificationKeys) and prints\n"
"the JWKS. Exit 0 done, 2 usage or unreadable TLS files, 4 unreachable,\n"
"5 refused, 6 a reply that cannot be understood, 7 internal.\n"
"\n"
"  --verifier ADDR       the verifier's gRPC address, HOST:PORT\n"
"  --ca FILE             PEM CA the verifier's certificate must chain to\n"
"  --server-name NAME    check the verifier's certificate for NAME\n"
"  --insecure            plaintext gRPC, tests only\n"
"  --help                this text\n";

static const char help_keys[] =
"usage: " PROG " keys rotate --token-key FILE [--activate-after DURATION]\n"
"                            [--replace-next] [--token-ttl S]\n"
"       " PROG " keys activate --token-key FILE [--] [KID]\n"
"       " PROG " keys list --token-key FILE [--json]\n"
"       " PROG " keys jwks --token-key FILE\n"
"       " PROG " keys fetch --verifier ADDR (--ca FILE | --insecure)\n"
"\n"
"The token signing keys: a key set in --token-key FILE (mode 0600) that\n"
"every verifier sharing it reads. A key is next (published in the JWKS, not\n"
"signing), active (signs; one) or retired (published until every token it\n"
"signed has expired: retired + its token TTL + 60 s; then dropped). rotate\n"
"adds a next key, activate makes it sign now, list shows the keys, jwks what\n"
"is published, fetch what a verifier publishes. Running verifiers re-read\n"
"FILE on SIGHUP. " PROG " keys VERB --help: a verb's options.\n"
"\n"
"  --help                this text\n";

static void usage(FILE *f)
{
	fputs(help_keys, f);
}

/* "90", "90s", "15m", "24h", "2d": seconds, at most 366 days. */
static int parse_duration(int64_t *out, const char *s)
{
	unsigned long v;
	char *end;
	int64_t mul = 1;

	if (!s || !(*s >= '0' && *s <= '9'))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || v > 366UL * 86400)
		return -1;
	if (*end) {
		if (end[1])
			return -1;
		switch (*end) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		default: return -1;
		}
	}
	if ((int64_t)v * mul > 366LL * 86400)
		return -1;
	*out = (int64_t)v * mul;
	return 0;
}

static const char *const state_word[] = { "next", "active", "retired", "gone" };

static void iso(char *buf, size_t cap, int64_t t)
{
	if (!t || tpa_time_iso(buf, cap, t) < 0)
		snprintf(buf, cap, "-");
}

static tpa_exit keys_list(const tpa_token_keyset *ks, int json, int64_t now)
{
	json_t *o = json ? json_object() : NULL, *arr = json ? json_array() : NULL;
	size_t i;

	if (json && (!o || !arr)) {
		json_decref(o);
		json_decref(arr);
		return TPA_EXIT_INTERNAL;
	}
	if (!json)
		printf("token TTL %u s\n", tpa_token_keyset_ttl(ks));
	for (i = 0; i < tpa_token_keyset_count(ks); i++) {
		char c[32], a[32], r[32], u[32];
		tpa_token_keyinfo ki;

		if (tpa_token_keyset_info(&ki, ks, i, now) < 0)
			continue;
		iso(c, sizeof(c), ki.created_at);
		iso(a, sizeof(a), ki.activate_at);
		iso(r, sizeof(r), ki.retired_at);
		iso(u, sizeof(u), ki.published_until);
		if (json) {
			json_t *k = json_object();

			json_object_set_new(k, "kid", json_string(ki.kid));
			json_object_set_new(k, "state", json_string(state_word[ki.state]));
			json_object_set_new(k, "created_at", ki.created_at ? json_string(c) :
					    json_null());
			json_object_set_new(k, "activate_at", ki.activate_at ? json_string(a) :
					    json_null());
			json_object_set_new(k, "retired_at", ki.retired_at ? json_string(r) :
					    json_null());
			json_object_set_new(k, "published_until", ki.published_until ?
					    json_string(u) : json_null());
			json_object_set_new(k, "ttl_s", json_integer(ki.ttl_s));
			json_array_append_new(arr, k);
		} else if (ki.state == TPA_KEY_NEXT) {
			printf("next     %s  signs from %s (created %s)\n", ki.kid, a, c);
		} else if (ki.state == TPA_KEY_ACTIVE) {
			printf("active   %s  signs since %s (created %s)\n", ki.kid, a, c);
		} else {
			printf("%-8s %s  retired %s, published until %s\n", state_word[ki.state],
			       ki.kid, r, u);
		}
	}
	if (json) {
		char *t;

		json_object_set_new(o, "token_ttl_s", json_integer(tpa_token_keyset_ttl(ks)));
		json_object_set_new(o, "keys", arr);
		if ((t = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER)))
			printf("%s\n", t);
		free(t);
		json_decref(o);
	}
	return TPA_EXIT_OK;
}

/* What rotate and activate leave: each key kept, and until when. */
static void say_kept(const tpa_token_keyset *ks, int64_t now)
{
	size_t i;

	for (i = 0; i < tpa_token_keyset_count(ks); i++) {
		tpa_token_keyinfo ki;
		char u[32];

		if (tpa_token_keyset_info(&ki, ks, i, now) < 0 || ki.state != TPA_KEY_RETIRED)
			continue;
		iso(u, sizeof(u), ki.published_until);
		printf("retired key %s stays published until %s (its last tokens expire)\n",
		       ki.kid, u);
	}
}

/* rotate and activate read, change and write FILE: one at a time, so that
 * two operators (or two hosts sharing the file) do not lose a key. The
 * lock is FILE.lock (flock); FILE itself is replaced by each write. */
static int lock_keyset(const char *file)
{
	char path[4096];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s.lock", file) >= sizeof(path))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "--token-key: path too long");
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return tpa_err_fail(TPA_ERR_IO, "%s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX) != 0) {
		close(fd);
		return tpa_err_fail(TPA_ERR_IO, "%s: %s", path, strerror(errno));
	}
	return fd;
}

static tpa_exit keys_local(const char *sub, const char *help, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "token-key", required_argument, NULL, 'k' },
		{ "activate-after", required_argument, NULL, 'a' },
		{ "replace-next", no_argument, NULL, 'r' },
		{ "token-ttl", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *kid = NULL;
	int64_t delay = TPA_KEYSET_DEFAULT_DELAY_S, now = (int64_t)time(NULL);
	unsigned long ttl = 0;
	int c, json = 0, replace = 0, rotate = strcmp(sub, "rotate") == 0, err;
	int activate = strcmp(sub, "activate") == 0;
	tpa_token_keyset *ks = NULL;
	char newkid[80], when[32], *end;
	tpa_exit rc = TPA_EXIT_OK;
	int lock = -1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': file = optarg; break;
		case 'a':
			if (!rotate || parse_duration(&delay, optarg) < 0)
				return cmd_usage_error("keys", help, "%s", rotate ?
					"--activate-after: not a duration of at most 366d (N, Ns, "
					"Nm, Nh, Nd)" : "--activate-after is for rotate");
			break;
		case 'r':
			if (!rotate)
				return cmd_usage_error("keys", help,
						       "--replace-next is for rotate");
			replace = 1;
			break;
		case 't':
			errno = 0;
			if (!rotate)
				return cmd_usage_error("keys", help, "--token-ttl is for rotate");
			ttl = strtoul(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || errno || ttl < 1 ||
			    ttl > TPA_TOKEN_MAX_TTL_S)
				return cmd_usage_error("keys", help,
						       "--token-ttl: '%.40s' is not in 1..%d",
						       optarg, TPA_TOKEN_MAX_TTL_S);
			break;
		case 'j':
			if (strcmp(sub, "list") != 0)
				return cmd_usage_error("keys", help, "--json is for list");
			json = 1;
			break;
		case 'h': return cmd_help(help);
		default: return cmd_bad_option("keys", help, argv);
		}
	}
	if (!file)
		return cmd_usage_error("keys", help, "--token-key FILE is required");
	if (activate && optind < argc)
		kid = argv[optind++];
	if (optind != argc)
		return cmd_usage_error("keys", help, "unexpected argument '%.40s'", argv[optind]);
	if ((rotate || activate) && access(file, F_OK) == 0 && (lock = lock_keyset(file)) < 0) {
		fprintf(stderr, PROG ": keys %s: %s\n", sub, tpa_err_last());
		return TPA_EXIT_USAGE;
	}
	if (tpa_token_keyset_load(&ks, file, 0) < 0) {
		fprintf(stderr, PROG ": keys %s: %s\n", sub, tpa_err_last());
		if (lock >= 0)
			close(lock);
		return TPA_EXIT_USAGE;
	}
	if (strcmp(sub, "list") == 0) {
		rc = keys_list(ks, json, now);
	} else if (strcmp(sub, "jwks") == 0) {
		char *jwks = NULL;

		if (tpa_token_keyset_jwks(&jwks, ks, now) < 0) {
			fprintf(stderr, PROG ": keys jwks: %s\n", tpa_err_last());
			rc = TPA_EXIT_INTERNAL;
		} else {
			printf("%s\n", jwks);
		}
		free(jwks);
	} else {
		err = rotate ? tpa_token_keyset_rotate(ks, now, delay, replace, (uint32_t)ttl,
						       newkid, sizeof(newkid)) :
			       tpa_token_keyset_activate(ks, kid, now);
		if (err < 0) {
			fprintf(stderr, PROG ": %s\n", tpa_err_last());
			rc = err == TPA_ERR_CONFLICT || err == TPA_ERR_LIMIT ||
			     err == TPA_ERR_NOT_FOUND ? TPA_EXIT_NO : TPA_EXIT_INTERNAL;
		} else if (tpa_token_keyset_save(ks, file, now) < 0) {
			fprintf(stderr, PROG ": keys %s: %s\n", sub, tpa_err_last());
			rc = TPA_EXIT_INTERNAL;
		} else if (rotate) {
			iso(when, sizeof(when), now + delay);
			printf("next key %s is published; it signs from %s, key %s until then.\n",
			       newkid, when, tpa_token_key_id(tpa_token_keyset_signer(ks, now)));
			say_kept(ks, now);
			if (delay < TPA_JWKS_REFRESH_S)
				printf("warning: relying parties re-fetch the JWKS every %d s: "
				       "some will meet its kid before they hold it and must "
				       "re-fetch\n",
				       TPA_JWKS_REFRESH_S);
			printf("Send SIGHUP to every verifier using %s so that they publish it.\n",
			       file);
		} else {
			printf("key %s signs now.\n",
			       tpa_token_key_id(tpa_token_keyset_signer(ks, now)));
			say_kept(ks, now);
			printf("Send SIGHUP to every verifier using %s.\n", file);
		}
	}
	tpa_token_keyset_free(ks);
	if (lock >= 0)
		close(lock);
	return rc;
}

tpa_exit cmd_keys(int argc, char **argv)
{
	const char *sub;
	tpa_exit ret;

	if (!(sub = cmd_verb(&argc, &argv, usage, &ret)))
		return ret;
	if (strcmp(sub, "rotate") == 0 || strcmp(sub, "activate") == 0 ||
	    strcmp(sub, "list") == 0 || strcmp(sub, "jwks") == 0)
		return keys_local(sub, sub[0] == 'r' ? help_rotate : sub[0] == 'a' ? help_activate :
				  sub[0] == 'l' ? help_list : help_jwks, argc, argv);
	if (strcmp(sub, "fetch") == 0) {
		tpa_rpc_client_opts co;
		const char *extra, *why;
		uint8_t *req = NULL, *resp = NULL;
		size_t req_len = 0, n = 0;
		char *jwks = NULL;
		int json = 0, err;
		tpa_exit rc;

		if (wants_help(argc, argv))
			return cmd_help(help_fetch);
		if (client_opts(&co, argc, argv, &extra, &json, &why) < 0)
			return why ? cmd_usage_error("keys", help_fetch, "%s", why) :
				     cmd_bad_option("keys", help_fetch, argv);
		if (extra)
			return cmd_usage_error("keys", help_fetch, "unexpected argument '%.40s'",
					       extra);
		if (tpa_keys_request_pack(&req, &req_len) < 0) {
			fprintf(stderr, PROG ": %s\n", tpa_err_last());
			return TPA_EXIT_INTERNAL;
		}
		if ((rc = call(&resp, &n, &co, TPA_RPC_GET_KEYS, req, req_len)) != TPA_EXIT_OK)
			return rc;
		err = tpa_keys_response_unpack(&jwks, resp, n);
		free(resp);
		if (err < 0) {
			fprintf(stderr, PROG ": %s\n", tpa_err_last());
			return err == TPA_ERR_NOMEM ? TPA_EXIT_INTERNAL : TPA_EXIT_PROTOCOL;
		}
		printf("%s\n", jwks);
		free(jwks);
		return TPA_EXIT_OK;
	}
	return cmd_usage_error("keys", help_keys, "unknown verb '%.40s'", sub);
}

static const char help_compliance[] =
"usage: " PROG " compliance --verifier ADDR --ca FILE --cert FILE --key FILE [--json] DEVICE_ID\n"
"\n"
"Asks a verifier (GetDeviceCompliance, over mutual TLS) whether a device is\n"
"compliant now: its last verdict, the token's expiry, whether it was revoked\n"
"since, whether it is stale (overdue by the verifier's attest interval and\n"
"stale grace: \"(stale)\"). The client certificate must be one the verifier's\n"
"--client-ca issued with a --relying-party CN. Exit 0 compliant, 1 not\n"
"compliant, 2 usage, 4 unreachable, 5 refused, 6 malformed reply, 7 internal\n"
"error.\n"
"\n"
"  --verifier ADDR       the verifier's gRPC address, HOST:PORT\n"
"  --ca FILE             PEM CA the verifier's certificate must chain to\n"
"  --server-name NAME    check the verifier's certificate for NAME\n"
"  --insecure            plaintext gRPC (no client certificate), tests only\n"
"  --cert FILE           PEM client certificate (the relying party's)\n"
"  --key FILE            its PEM private key\n"
"  --json                the answer as one JSON object\n"
"  --help                this text\n";

tpa_exit cmd_compliance(int argc, char **argv)
{
	tpa_compliance_reply r;
	tpa_rpc_client_opts co;
	const char *id, *why;
	uint8_t *req = NULL, *resp = NULL;
	size_t req_len = 0, n = 0;
	int json = 0, err;
	tpa_exit rc;

	if (wants_help(argc, argv))
		return cmd_help(help_compliance);
	if (client_opts(&co, argc, argv, &id, &json, &why) < 0)
		return why ? cmd_usage_error("compliance", help_compliance, "%s", why) :
			     cmd_bad_option("compliance", help_compliance, argv);
	if (!id)
		return cmd_usage_error("compliance", help_compliance, "one DEVICE_ID is required");
	if (tpa_compliance_request_pack(&req, &req_len, id) < 0) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		return TPA_EXIT_INTERNAL;
	}
	if ((rc = call(&resp, &n, &co, TPA_RPC_COMPLIANCE, req, req_len)) != TPA_EXIT_OK)
		return rc;
	err = tpa_compliance_response_unpack(&r, resp, n);
	free(resp);
	if (err < 0) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		return err == TPA_ERR_NOMEM ? TPA_EXIT_INTERNAL : TPA_EXIT_PROTOCOL;
	}
	if (json) {
		json_t *o = json_object();
		char *t;

		json_object_set_new(o, "device_id", json_string(r.device_id));
		json_object_set_new(o, "compliant", json_boolean(r.compliant));
		json_object_set_new(o, "outcome", json_string(r.outcome));
		json_object_set_new(o, "verdict_at", json_integer(r.verdict_at));
		json_object_set_new(o, "token_expires_at", json_integer(r.token_expires_at));
		json_object_set_new(o, "expired", json_boolean(r.expired));
		json_object_set_new(o, "state", json_string(r.state));
		json_object_set_new(o, "revoked_since_verdict", json_boolean(r.revoked_since_verdict));
		json_object_set_new(o, "baseline", json_string(r.baseline));
		json_object_set_new(o, "reason", json_string(r.reason));
		json_object_set_new(o, "stale", json_boolean(r.stale));
		json_object_set_new(o, "due_at", json_integer(r.due_at));
		json_object_set_new(o, "token", json_string(r.token ? r.token : ""));
		if ((t = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER)))
			printf("%s\n", t);
		free(t);
		json_decref(o);
	} else {
		printf("%s: %s%s%s%s\n", id, r.compliant ? "compliant" : "NOT compliant",
		       r.stale ? " (stale)" : "", r.reason[0] ? ": " : "", r.reason);
	}
	rc = r.compliant ? TPA_EXIT_OK : TPA_EXIT_NO;
	tpa_compliance_reply_clear(&r);
	return rc;
}
