/* SPDX-License-Identifier: BSD-3-Clause */
/* attest_client's settings: defaults, the configuration file and the
 * command line, checked value by value; every error names where the value
 * came from ("FILE:LINE: key: " or "--key: "). */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/err.h"
#include "tpa/evidence.h"

#include "settings.h"

/* Where the option being handled came from: "FILE:LINE: key: " or "--key: ". */
static char where[600] = "";

static int parse_uint(unsigned *out, const char *s, unsigned max)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_ak_type(tpa_ak_type *out, const char *s)
{
	if (strcmp(s, "ecc") == 0)
		*out = TPA_AK_ECC_P256;
	else if (strcmp(s, "rsa") == 0)
		*out = TPA_AK_RSA_2048;
	else if (strcmp(s, "rsapss") == 0)
		*out = TPA_AK_RSA_2048_PSS;
	else {
		fprintf(stderr, PROG ": %s'%s' is not ecc, rsa or rsapss\n", where[0] ? where : "--ak-type: ", s);
		return -1;
	}
	return 0;
}

static int parse_timeout(unsigned *out, const char *s)
{
	if (parse_uint(out, s, 3600000) < 0 || *out == 0) {
		fprintf(stderr, PROG ": %s'%s' is not 1..3600000 ms\n", where[0] ? where : "--timeout: ", s);
		return -1;
	}
	return 0;
}

static int parse_ek(int *ek_auto, tpa_ek_type *ek, const char *s)
{
	if (strcmp(s, "auto") == 0) {
		*ek_auto = 1;
		return 0;
	}
	*ek_auto = 0;
	if (tpa_ek_type_parse(ek, s) < 0) {
		fprintf(stderr, PROG ": %s'%s' is not auto, rsa, ecc-p256 or ecc-p384\n",
			where[0] ? where : "--ek: ", s);
		return -1;
	}
	return 0;
}

/* A relying party's nonce: 8 to 64 bytes in hex. */
static int parse_rp_nonce(settings *s, const char *hex)
{
	size_t n = strlen(hex), i;

	if (n % 2 || n / 2 < TPA_RP_NONCE_MIN || n / 2 > TPA_RP_NONCE_MAX) {
		fprintf(stderr, PROG ": --rp-nonce: %d to %d bytes in hex\n", TPA_RP_NONCE_MIN,
			TPA_RP_NONCE_MAX);
		return -1;
	}
	for (i = 0; i < n / 2; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &v) != 1) {
			fprintf(stderr, PROG ": --rp-nonce: '%s' is not hex\n", hex);
			return -1;
		}
		s->rp_nonce[i] = (uint8_t)v;
	}
	s->rp_nonce_len = n / 2;
	return 0;
}

static const struct option options[] = {
	{ "config", required_argument, NULL, 'C' },
	{ "verifier", required_argument, NULL, 'v' },
	{ "ca", required_argument, NULL, 'c' },
	{ "server-name", required_argument, NULL, 'n' },
	{ "insecure", no_argument, NULL, 'I' },
	{ "tcti", required_argument, NULL, 't' },
	{ "pcrs", required_argument, NULL, 'p' },
	{ "ak-type", required_argument, NULL, 'k' },
	{ "ak-file", required_argument, NULL, 'a' },
	{ "ek", required_argument, NULL, 'K' },
	{ "ek-cert", required_argument, NULL, 'X' },
	{ "timeout", required_argument, NULL, 'T' },
	{ "device-hint", required_argument, NULL, 'd' },
	{ "rp-nonce", required_argument, NULL, 'N' },
	{ "bind-key", required_argument, NULL, 'b' },
	{ "token-out", required_argument, NULL, 'o' },
	{ "status-file", required_argument, NULL, 's' },
	{ "eventlog", required_argument, NULL, 'e' },
	{ "no-eventlog", no_argument, NULL, 'E' },
	{ "efivars", required_argument, NULL, 'f' },
	{ "auto-enroll", no_argument, NULL, 'A' },
	{ "replace", no_argument, NULL, 'P' },
	{ "interval", required_argument, NULL, 'i' },
	{ "retry-min", required_argument, NULL, 'r' },
	{ "retry-max", required_argument, NULL, 'R' },
	{ "refresh-before", required_argument, NULL, 'B' },
	{ "verbose", no_argument, NULL, 'V' },
	{ "no-host-info", no_argument, NULL, 'H' },
	{ "host-info-root", required_argument, NULL, 'O' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Keys a configuration file may not set. */
static const char *const not_in_config[] = { "config", "help", NULL };
static const char *const flags[] = { "insecure", "no-eventlog", "auto-enroll", "replace",
				     "verbose", "no-host-info", NULL };

static void set_where(const tpa_config_args *a, int idx, const char *name)
{
	if (idx > 0 && idx < a->argc && a->where[idx])
		snprintf(where, sizeof(where), "%s: ", a->where[idx]);
	else
		snprintf(where, sizeof(where), "--%s: ", name);
}

static int bad_value(const char *why, const char *value)
{
	fprintf(stderr, PROG ": %s'%s' %s\n", where, value, why);
	return TPA_EXIT_USAGE;
}

static int parse_seconds(unsigned *out, const char *v, unsigned min, unsigned max)
{
	if (parse_uint(out, v, max) < 0 || *out < min) {
		char why[64];

		snprintf(why, sizeof(why), "is not %u..%u seconds", min, max);
		return bad_value(why, v);
	}
	return 0;
}

void settings_free(settings *s)
{
	if (!s)
		return;
	tpa_config_args_free(&s->args);
	tpa_config_free(s->cfg);
	s->cfg = NULL;
}

int settings_load(settings *s, int argc, char **argv)
{
	const char *path = tpa_config_path_arg(argc, argv);
	size_t k;
	int c, rc;

	memset(s, 0, sizeof(*s));
	s->tcti = TPA_TCTI_DEFAULT;
	s->pcr_spec = DEFAULT_PCRS;
	s->efivars = DEFAULT_EFIVARS;
	s->ak_type = TPA_AK_ECC_P256;
	s->ek = TPA_EK_RSA_2048;
	s->ek_auto = 1;
	s->timeout = DEFAULT_TIMEOUT_MS;
	s->interval = DEFAULT_INTERVAL_S;
	s->retry_min = DEFAULT_RETRY_MIN_S;
	s->retry_max = DEFAULT_RETRY_MAX_S;
	s->refresh_before = DEFAULT_REFRESH_S;
	if (path && tpa_config_load(&s->cfg, path) < 0) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		return TPA_EXIT_USAGE;
	}
	/* Every key of the file must be an option the program knows. */
	if (tpa_config_check_options(s->cfg, options, not_in_config) < 0) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		return TPA_EXIT_USAGE;
	}
	if (tpa_config_args_build(&s->args, s->cfg, flags, argc, argv) < 0) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		return TPA_EXIT_USAGE;
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(s->args.argc, s->args.argv, "h", options, NULL)) != -1) {
		const char *name = "?";

		for (k = 0; options[k].name; k++)
			if (options[k].val == c)
				name = options[k].name;
		set_where(&s->args, optind - 1, name);
		switch (c) {
		case 'C': break; /* read above */
		case 'v': s->co.target = optarg; break;
		case 'c': s->co.ca_file = optarg; break;
		case 'n': s->co.server_name = optarg; break;
		case 'I': s->co.insecure = 1; break;
		case 't': s->tcti = optarg; break;
		case 'p': s->pcr_spec = optarg; break;
		case 'a': s->ak_file = optarg; break;
		case 'd': s->hint = optarg; break;
		case 'b': s->bind_key = optarg; break;
		case 'X': s->ek_cert_file = optarg; break;
		case 'N':
			if (parse_rp_nonce(s, optarg) < 0)
				return TPA_EXIT_USAGE;
			break;
		case 'o': s->token_out = optarg; break;
		case 's': s->status_file = optarg; break;
		case 'e': s->eventlog = optarg; break;
		case 'E': s->no_eventlog = 1; break;
		case 'f': s->efivars = optarg; break;
		case 'A': s->auto_enroll = 1; break;
		case 'P': s->replace = 1; break;
		case 'V': s->verbose = 1; break;
		case 'H': s->no_host_info = 1; break;
		case 'O': s->host_info_root = optarg; break;
		case 'K':
			if (parse_ek(&s->ek_auto, &s->ek, optarg) < 0)
				return TPA_EXIT_USAGE;
			break;
		case 'k':
			if (parse_ak_type(&s->ak_type, optarg) < 0)
				return TPA_EXIT_USAGE;
			break;
		case 'T':
			if (parse_timeout(&s->timeout, optarg) < 0)
				return TPA_EXIT_USAGE;
			break;
		case 'i':
			if ((rc = parse_seconds(&s->interval, optarg, 1, 7 * 86400)) != 0)
				return rc;
			break;
		case 'r':
			if ((rc = parse_seconds(&s->retry_min, optarg, 1, 86400)) != 0)
				return rc;
			break;
		case 'R':
			if ((rc = parse_seconds(&s->retry_max, optarg, 1, 7 * 86400)) != 0)
				return rc;
			break;
		case 'B':
			if ((rc = parse_seconds(&s->refresh_before, optarg, 0, 86400)) != 0)
				return rc;
			break;
		case 'h': return SETTINGS_HELP;
		default:
			set_where(&s->args, optind - 1, "?");
			fprintf(stderr, PROG ": %sunknown or incomplete option '%s'\n",
				optind - 1 < s->args.argc && s->args.where[optind - 1] ? where : "",
				s->args.argv[optind - 1]);
			return SETTINGS_BAD_OPTION;
		}
	}
	if (optind != s->args.argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", s->args.argv[optind]);
		return TPA_EXIT_USAGE;
	}
	if (s->co.insecure && s->co.ca_file) {
		fprintf(stderr, PROG ": --ca and --insecure exclude each other\n");
		return TPA_EXIT_USAGE;
	}
	if (s->eventlog && s->no_eventlog) {
		fprintf(stderr, PROG ": --eventlog and --no-eventlog exclude each other\n");
		return TPA_EXIT_USAGE;
	}
	if (s->no_host_info && s->host_info_root) {
		fprintf(stderr, PROG ": --host-info-root and --no-host-info exclude each other\n");
		return TPA_EXIT_USAGE;
	}
	if (s->hint && strlen(s->hint) > TPA_DEVICE_HINT_MAX) {
		fprintf(stderr, PROG ": --device-hint: longer than %d bytes\n", TPA_DEVICE_HINT_MAX);
		return TPA_EXIT_USAGE;
	}
	if (s->retry_min > s->retry_max) {
		fprintf(stderr, PROG ": retry-min (%u s) is above retry-max (%u s)\n", s->retry_min,
			s->retry_max);
		return TPA_EXIT_USAGE;
	}
	/* "auto": chosen from the event log when it is read. */
	if (strcmp(s->pcr_spec, "auto") != 0 &&
	    tpa_pcr_set_parse_selection(&s->pcrs, s->pcr_spec) < 0) {
		fprintf(stderr, PROG ": --pcrs: %s\n", tpa_err_last());
		return TPA_EXIT_USAGE;
	}
	return 0;
}
