/* SPDX-License-Identifier: BSD-3-Clause */
/* RADIUS Dynamic Authorization from the command line (RFC 5176):
 *
 *   radius disconnect|coa --nas HOST:PORT --secret-file FILE SESSION...
 *                                     a Disconnect-Request or CoA-Request to
 *                                     the NAS; its ACK or NAK, checked
 *
 * Exit status: 0 ACK, 1 NAK (its Error-Cause said), 2 usage or an
 * unreadable secret, 4 no answer that checks. The secret is read from a
 * file (never an argument: the process list shows those) and never
 * printed. */
#include <errno.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tpa/err.h"
#include "tpa/radius.h"

#include "cmd.h"

#define PROG "verifier"

#define RADIUS_OPTIONS \
"  --nas HOST:PORT       the NAS (a switch, an access point, a VPN gateway);\n" \
"                        port 3799 if only HOST is given\n" \
"  --secret-file FILE    the shared secret: the file's first line\n" \
"  --user-name NAME      User-Name of the session\n" \
"  --session-id ID       Acct-Session-Id of the session\n" \
"  --calling-station-id MAC\n" \
"                        Calling-Station-Id of the session\n" \
"  --nas-identifier ID   NAS-Identifier the NAS expects\n" \
"  --no-event-timestamp  send no Event-Timestamp (sent by default: RFC 5176\n" \
"                        section 3.5, against replays)\n" \
"  --tries N             sends of the same request (default 3)\n" \
"  --timeout MS          wait after each (default 1000)\n" \
"  --help                this text\n"

#define RADIUS_ABOUT \
"checks the answer's Response Authenticator and Message-Authenticator\n" \
"against the shared secret before believing it. SESSION is one or more of\n" \
"--user-name, --session-id, --calling-station-id. Exit 0 ACK, 1 NAK (its\n" \
"Error-Cause printed), 2 usage, 4 no answer that checks.\n"

static const char help_radius[] =
"usage: " PROG " radius disconnect --nas HOST:PORT --secret-file FILE SESSION [options]\n"
"       " PROG " radius coa --nas HOST:PORT --secret-file FILE SESSION [options]\n"
"\n"
"Sends a Disconnect-Request (the session ends: the port closes, the tunnel\n"
"drops) or a CoA-Request (RFC 5176) to the NAS's Dynamic Authorization\n"
"Server, with a Message-Authenticator, and\n" RADIUS_ABOUT
"\n" RADIUS_OPTIONS;

static const char help_disconnect[] =
"usage: " PROG " radius disconnect --nas HOST:PORT --secret-file FILE SESSION [options]\n"
"\n"
"Sends a Disconnect-Request (RFC 5176: the session ends, the port closes,\n"
"the tunnel drops) to the NAS's Dynamic Authorization Server, with a\n"
"Message-Authenticator, and\n" RADIUS_ABOUT
"\n" RADIUS_OPTIONS;

static const char help_coa[] =
"usage: " PROG " radius coa --nas HOST:PORT --secret-file FILE SESSION [options]\n"
"\n"
"Sends a CoA-Request (RFC 5176: the session's authorization changes) to the\n"
"NAS's Dynamic Authorization Server, with a Message-Authenticator, and\n" RADIUS_ABOUT
"\n" RADIUS_OPTIONS;

/* The secret (tpa_radius_secret_read); -1 said on stderr (never the secret). */
static int read_secret(uint8_t *out, size_t *len, const char *path)
{
	if (tpa_radius_secret_read(out, len, path) < 0) {
		fprintf(stderr, PROG ": --secret-file %s\n", tpa_err_last());
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fputs(help_radius, f);
}

tpa_exit cmd_radius(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nas", required_argument, NULL, 'n' },
		{ "secret-file", required_argument, NULL, 's' },
		{ "user-name", required_argument, NULL, 'u' },
		{ "session-id", required_argument, NULL, 'i' },
		{ "calling-station-id", required_argument, NULL, 'c' },
		{ "nas-identifier", required_argument, NULL, 'N' },
		{ "no-event-timestamp", no_argument, NULL, 'E' },
		{ "tries", required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *verb, *nas = NULL, *secret_file = NULL, *help;
	tpa_radius_session sess;
	tpa_radius_response r;
	tpa_radius_code code;
	uint8_t secret[TPA_RADIUS_SECRET_MAX], req[TPA_RADIUS_MAX], id;
	size_t secret_len = 0, req_len = 0;
	unsigned long tries = 3, timeout = 1000;
	unsigned dropped = 0;
	int o, no_ts = 0, err;
	char *end;
	tpa_exit ret;

	if (!(verb = cmd_verb(&argc, &argv, usage, &ret)))
		return ret;
	if (strcmp(verb, "disconnect") == 0) {
		code = TPA_RADIUS_DISCONNECT_REQUEST;
		help = help_disconnect;
	} else if (strcmp(verb, "coa") == 0) {
		code = TPA_RADIUS_COA_REQUEST;
		help = help_coa;
	} else {
		return cmd_usage_error("radius", help_radius, "unknown verb '%s'", verb);
	}
	memset(&sess, 0, sizeof(sess));
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'n': nas = optarg; break;
		case 's': secret_file = optarg; break;
		case 'u': sess.user_name = optarg; break;
		case 'i': sess.acct_session_id = optarg; break;
		case 'c': sess.calling_station_id = optarg; break;
		case 'N': sess.nas_identifier = optarg; break;
		case 'E': no_ts = 1; break;
		case 't':
		case 'T': {
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || optarg[0] == '-' ||
			    (o == 't' ? v < 1 || v > 10 : v < 10 || v > 60000))
				return cmd_usage_error("radius", help, "--%s: '%s' is not in %s",
						       o == 't' ? "tries" : "timeout", optarg,
						       o == 't' ? "1..10" : "10..60000");
			if (o == 't')
				tries = v;
			else
				timeout = v;
			break;
		}
		case 'h': return cmd_help(help);
		default: return cmd_bad_option("radius", help, argv);
		}
	}
	if (optind != argc)
		return cmd_usage_error("radius", help, "unexpected argument '%s'",
				       argv[optind]);
	if (!nas || !secret_file)
		return cmd_usage_error("radius", help, "--nas and --secret-file are required");
	if (!sess.user_name && !sess.acct_session_id && !sess.calling_station_id)
		return cmd_usage_error("radius", help, "name the session: --user-name, "
				       "--session-id or --calling-station-id");
	if (read_secret(secret, &secret_len, secret_file) < 0)
		return TPA_EXIT_USAGE;
	if (!no_ts)
		sess.event_timestamp = (int64_t)time(NULL);
	if (RAND_bytes(&id, 1) != 1)
		id = (uint8_t)time(NULL);
	if (tpa_radius_request_build(req, &req_len, code, id, &sess, secret, secret_len) < 0) {
		OPENSSL_cleanse(secret, sizeof(secret));
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		return TPA_EXIT_USAGE;
	}
	err = tpa_radius_send(&r, &dropped, nas, req, req_len, secret, secret_len,
			      (unsigned)tries, (unsigned)timeout);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (err < 0) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		return err == TPA_ERR_UNAVAILABLE ? TPA_EXIT_UNREACHABLE : TPA_EXIT_USAGE;
	}
	if (dropped)
		fprintf(stderr, PROG ": %u response%s that did not check dropped\n", dropped,
			dropped == 1 ? "" : "s");
	if (r.code == TPA_RADIUS_DISCONNECT_ACK || r.code == TPA_RADIUS_COA_ACK) {
		printf("%s\n", r.code == TPA_RADIUS_DISCONNECT_ACK ? "Disconnect-ACK" : "CoA-ACK");
		return TPA_EXIT_OK;
	}
	if (r.have_error_cause)
		printf("%s: Error-Cause %u (%s)\n", r.code == TPA_RADIUS_DISCONNECT_NAK ?
		       "Disconnect-NAK" : "CoA-NAK", r.error_cause,
		       tpa_radius_error_cause_name(r.error_cause));
	else
		printf("%s\n", r.code == TPA_RADIUS_DISCONNECT_NAK ? "Disconnect-NAK" : "CoA-NAK");
	return TPA_EXIT_NO;
}
