/* SPDX-License-Identifier: BSD-3-Clause */
/* What a relying party and an operator need around the tokens:
 *
 *   token verify (--jwks FILE | --jwk FILE) [--nonce HEX] [--accept-warning] TOKEN
 *                                     a valid token says ear.status affirming
 *                                     (or warning, with --accept-warning)
 *   keys rotate --token-key FILE      the current key becomes FILE.previous
 *   keys jwks --token-key FILE        the JWKS a running verifier publishes
 *   keys fetch --verifier ADDR (--ca FILE | --insecure)
 *                                     GetVerificationKeys: the JWKS over gRPC
 *   compliance --verifier ADDR --ca FILE --cert FILE --key FILE [--json] ID
 *                                     GetDeviceCompliance (mTLS)
 *
 * Exit status (tpa/exit.h): 0 valid / done / compliant, 1 not valid / not
 * compliant (token verify: also a valid token whose status is not
 * accepted), 2 usage or unreadable input, 4 verifier unreachable, 5
 * refused, 6 a reply that cannot be understood, 7 internal. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "tpa/err.h"
#include "tpa/evidence.h"
#include "tpa/rpc.h"
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

static int client_opts(tpa_rpc_client_opts *co, int argc, char **argv, const char **extra,
		       int *json)
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
	optind = 1;
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
	if (!co->target || (!co->insecure == !co->ca_file))
		return -1;
	*extra = optind < argc ? argv[optind] : NULL;
	return optind + (*extra ? 1 : 0) == argc ? 0 : -1;
}

tpa_exit cmd_keys(int argc, char **argv)
{
	const char *sub = argc >= 2 ? argv[1] : "";

	if (strcmp(sub, "rotate") == 0 || strcmp(sub, "jwks") == 0) {
		char kid[80];

		if (argc != 4 || strcmp(argv[2], "--token-key") != 0) {
			fprintf(stderr, "usage: " PROG " keys %s --token-key FILE\n", sub);
			return TPA_EXIT_USAGE;
		}
		if (strcmp(sub, "rotate") == 0) {
			if (tpa_token_key_rotate(argv[3], kid, sizeof(kid)) < 0) {
				fprintf(stderr, PROG ": %s\n", tpa_err_last());
				return TPA_EXIT_USAGE;
			}
			printf("new key id %s; the old key is %s.previous and stays in the JWKS. "
			       "Send SIGHUP to a running verifier to take it.\n", kid, argv[3]);
			return TPA_EXIT_OK;
		} else {
			tpa_token_key *k[2] = { NULL, NULL };
			char prev[4096], *jwks = NULL;
			tpa_exit rc = TPA_EXIT_USAGE;

			snprintf(prev, sizeof(prev), "%s.previous", argv[3]);
			if (tpa_token_key_load(&k[0], argv[3], 0) < 0 ||
			    (access(prev, F_OK) == 0 && tpa_token_key_load(&k[1], prev, 0) < 0) ||
			    tpa_token_jwks(&jwks, (const tpa_token_key *const *)k, 2) < 0) {
				fprintf(stderr, PROG ": %s\n", tpa_err_last());
			} else {
				printf("%s\n", jwks);
				rc = TPA_EXIT_OK;
			}
			free(jwks);
			tpa_token_key_free(k[0]);
			tpa_token_key_free(k[1]);
			return rc;
		}
	}
	if (strcmp(sub, "fetch") == 0) {
		tpa_rpc_client_opts co;
		const char *extra;
		uint8_t *req = NULL, *resp = NULL;
		size_t req_len = 0, n = 0;
		char *jwks = NULL;
		int json = 0, err;
		tpa_exit rc;

		if (client_opts(&co, argc - 1, argv + 1, &extra, &json) < 0 || extra) {
			fprintf(stderr, "usage: " PROG " keys fetch --verifier ADDR (--ca FILE | "
				"--insecure)\n");
			return TPA_EXIT_USAGE;
		}
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
	fprintf(stderr, "usage: " PROG " keys rotate|jwks --token-key FILE\n"
		"       " PROG " keys fetch --verifier ADDR (--ca FILE | --insecure)\n");
	return TPA_EXIT_USAGE;
}

static const char help_compliance[] =
"usage: " PROG " compliance --verifier ADDR --ca FILE --cert FILE --key FILE [--json] DEVICE_ID\n"
"\n"
"Asks a verifier (GetDeviceCompliance, over mutual TLS) whether a device is\n"
"compliant now: its last verdict, the token's expiry, whether it was revoked\n"
"since. The client certificate must be one the verifier's --client-ca issued\n"
"with a --relying-party CN. Exit 0 compliant, 1 not compliant, 2 usage,\n"
"4 unreachable, 5 refused, 6 malformed reply, 7 internal error.\n"
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
	const char *id;
	uint8_t *req = NULL, *resp = NULL;
	size_t req_len = 0, n = 0;
	int json = 0, err, i;
	tpa_exit rc;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return cmd_help(help_compliance);
	opterr = 0;
	if (client_opts(&co, argc, argv, &id, &json) < 0 || !id)
		return cmd_usage_error("compliance", help_compliance,
				       "--verifier, one of --ca and --insecure, --cert, --key and "
				       "one DEVICE_ID are required (an option is unknown or incomplete?)");
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
		json_object_set_new(o, "token", json_string(r.token ? r.token : ""));
		if ((t = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER)))
			printf("%s\n", t);
		free(t);
		json_decref(o);
	} else {
		printf("%s: %s%s%s\n", id, r.compliant ? "compliant" : "NOT compliant",
		       r.reason[0] ? ": " : "", r.reason);
	}
	rc = r.compliant ? TPA_EXIT_OK : TPA_EXIT_NO;
	tpa_compliance_reply_clear(&r);
	return rc;
}
