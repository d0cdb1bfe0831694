/* SPDX-License-Identifier: BSD-3-Clause */
/* attest_client: proves to a verifier how this device booted.
 *
 * Exit status (stable; scripts depend on it):
 *   0  compliant: the verifier accepted the evidence
 *   1  non-compliant: the verifier rejected the evidence (reasons printed)
 *   2  usage: bad command line
 *   3  TPM: the TCTI cannot be opened or a TPM command failed
 *   4  unreachable: no connection, TLS failure (wrong CA, name) or timeout
 *   5  refused: the verifier answered the request with an error status
 *   6  protocol: the verifier's reply is malformed
 *   7  internal: out of memory or another local failure
 * (the numbers of tpa/exit.h, which the verifier shares).
 *
 * This file holds the commands: which one runs, what each requires beyond
 * the settings, and --help. settings.c reads the settings, attest.c does
 * one attestation or enrollment, agent.c runs the agent, view.c collects
 * the device's own view.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "tpa/evidence.h"
#include "tpa/exit.h"
#include "tpa/rpc.h"
#include "tpa/tpm.h"
#include "tpa/version.h"

#include "agent.h"
#include "attest.h"
#include "settings.h"

/* Every command's help in the shared style: usage lines, a blank line, what
 * it does, a blank line, its options at two spaces with their text at
 * column 24. The option texts are shared where commands share options. */
#define OPT_CONFIG \
"  --config FILE         settings from FILE, one \"key = value\" per line; the\n" \
"                        keys are the options without \"--\" (\"-\" or \"_\");\n" \
"                        flags take true or false; the command line overrides\n"
#define OPT_VERIFIER \
"  --verifier HOST:PORT  the verifier's gRPC address (required)\n" \
"  --ca FILE             PEM CA certificate(s) the verifier's TLS certificate\n" \
"                        must chain to\n" \
"  --server-name NAME    check the verifier's certificate for NAME instead of\n" \
"                        HOST\n" \
"  --insecure            plaintext gRPC, for local tests only\n" \
"  --timeout MS          deadline of each call to the verifier (default %d)\n"
#define OPT_TPM \
"  --tcti CONF           TPM transport (default " TPA_TCTI_DEFAULT "),\n" \
"                        e.g. swtpm:path=/run/swtpm/tpm.sock\n" \
"  --ak-type TYPE        ecc (P-256 ECDSA, default), rsa (RSASSA) or rsapss\n" \
"  --ak-file FILE        keep the AK here: reloaded if present, else created\n" \
"                        and saved (mode 0600)\n%s" \
"  --ek TYPE             the EK a new AK is made under: auto (default: the\n" \
"                        first whose certificate is in NV; with none, RSA\n" \
"                        2048, else ECC P-256), rsa, ecc-p256 or ecc-p384; a\n" \
"                        saved AK stays under its own EK\n" \
"  --ek-cert FILE        (enrolling) the EK certificate, PEM or DER, from FILE\n" \
"                        instead of the TPM's NV; it must be one certificate\n" \
"                        whose key is the EK's, or nothing is sent\n" \
"  --no-host-info        send no host names (by default the host name,\n" \
"                        /etc/machine-id and the DMI product and serial where\n" \
"                        readable go to the verifier, kept as reported, not\n" \
"                        attested)\n" \
"  --host-info-root DIR  (for tests) read etc/machine-id, etc/hostname and\n" \
"                        sys/class/dmi/id/* under DIR\n"
#define OPT_EVIDENCE \
"  --pcrs SEL            PCRs to quote, e.g. sha256:0,2,4,7 or\n" \
"                        sha1:0-7+sha256:0-9; default " DEFAULT_PCRS ": the event\n" \
"                        log's strongest bank (sha256 without a log), PCRs 0-9\n" \
"                        and those of 11-14 the log extends: what the verifier\n" \
"                        needs for the log to count\n" \
"  --auto-enroll         enroll when the verifier does not know the AK, then\n" \
"                        attest again; if the TPM refuses the saved AK\n" \
"                        (cleared), move it to FILE.refused, make and enroll a\n" \
"                        new one%s\n" \
"  --device-hint TEXT    free text for the verifier's log (at most %d bytes)\n" \
"  --bind-key FILE       a P-256 key of this TPM (made and saved in FILE, 0600,\n" \
"                        if absent), certified by the AK: the token's cnf\n" \
"                        claim names it; its RFC 7638 thumbprint is printed\n" \
"  --rp-nonce HEX        a relying party's nonce (8-64 bytes) bound into the\n" \
"                        quote with the verifier's; the token's eat_nonce\n" \
"  --token-out FILE      write the token to FILE (atomic replace, mode 0600)\n%s" \
"  --eventlog FILE       the measured-boot event log to send (default\n" \
"                        " DEFAULT_EVENTLOG "\n" \
"                        if readable)\n" \
"  --no-eventlog         send no event log\n" \
"  --efivars DIR         where to read SecureBoot and SetupMode (default\n" \
"                        " DEFAULT_EFIVARS ")\n"
#define OPT_JSON \
"  --json                one JSON object on stdout instead of text (README,\n" \
"                        \"attest_client --json\"); a failure is\n" \
"                        {\"error\": MESSAGE, \"exit\": STATUS}\n"
#define OPT_TAIL \
"  --verbose             let tpm2-tss and gRPC log to stderr%s\n" \
"  --help                this text\n"

#define USAGE_ATTEST "usage: " PROG " attest --verifier HOST:PORT (--ca FILE | --insecure) [options]\n"
#define USAGE_ENROLL "usage: " PROG " enroll --verifier HOST:PORT (--ca FILE | --insecure) [options]\n"
#define USAGE_RUN    "usage: " PROG " run [--config FILE] [options]\n"

static void help_attest(FILE *f)
{
	fprintf(f, USAGE_ATTEST
"\n"
"Quotes the TPM's PCRs with a fresh challenge from the verifier, sends the\n"
"quote, the event log and the device's own view, and prints the verdict, the\n"
"appraisal against the device's baseline, the signed token (an EAR) and a\n"
"one-line summary. Exit 0 compliant, 1 non-compliant, 3 TPM error, 4 verifier\n"
"unreachable, 5 refused, 6 malformed reply, 7 internal error.\n"
"\n"
OPT_CONFIG OPT_VERIFIER OPT_TPM OPT_EVIDENCE OPT_JSON OPT_TAIL,
		DEFAULT_TIMEOUT_MS, "", "; needs --ak-file", TPA_DEVICE_HINT_MAX, "", "");
}

static void help_enroll(FILE *f)
{
	fprintf(f, USAGE_ENROLL
"\n"
"Registers this device's AK with a verifier that keeps a registry: sends the\n"
"EK (public area, certificate and any CA certificates from NV) and the AK,\n"
"answers the verifier's credential with TPM2_ActivateCredential, and prints\n"
"the device id and the AK's name. Use the same --ak-file for enroll and\n"
"attest.\n"
"\n"
OPT_CONFIG OPT_VERIFIER OPT_TPM
"  --replace             the new AK replaces the AKs the verifier holds for the\n"
"                        device; without it, it joins them\n"
OPT_JSON OPT_TAIL,
		DEFAULT_TIMEOUT_MS, "", "");
}

static void help_run(FILE *f)
{
	fprintf(f, USAGE_RUN
"\n"
"The boot-time agent: enrolls if needed, attests, writes the token and a\n"
"status file (JSON: last attempt, last success, verdict, expiry, next\n"
"attempt), then attests again --refresh-before the token expires, at least\n"
"every --interval, and after a resume; while the verifier is unreachable or\n"
"the TPM busy it retries after --retry-min seconds, doubling up to\n"
"--retry-max, with +-25%% jitter; refused (e.g. revoked), it asks again every\n"
"--interval. SIGTERM or SIGINT: clean exit (an attestation in flight\n"
"finishes first); SIGHUP: the configuration file is read again. One line per\n"
"event on stderr with a syslog level prefix (<6>info ...) and the device id.\n"
"--auto-enroll is always on. Exit 0 stopped by a signal, 2 configuration.\n"
"\n"
OPT_CONFIG OPT_VERIFIER OPT_TPM OPT_EVIDENCE
"  --status-file FILE    default " DEFAULT_STATUS_FILE " (mode 0644)\n"
"  --interval S          re-attest at least this often (default %d)\n"
"  --retry-min S         first retry after a failure (default %d)\n"
"  --retry-max S         longest wait between retries (default %d)\n"
"  --refresh-before S    re-attest this long before the token expires\n"
"                        (default %d)\n"
OPT_TAIL,
		DEFAULT_TIMEOUT_MS, "                        (default " DEFAULT_AK_FILE ")\n", "",
		TPA_DEVICE_HINT_MAX, "                        (default " DEFAULT_TOKEN_FILE ")\n",
		DEFAULT_INTERVAL_S, DEFAULT_RETRY_MIN_S,
		DEFAULT_RETRY_MAX_S, DEFAULT_REFRESH_S, "; debug lines");
}

static void usage(FILE *f)
{
	fprintf(f, USAGE_ATTEST
"       " PROG " enroll --verifier HOST:PORT (--ca FILE | --insecure) [options]\n"
"       " PROG " run [--config FILE] [options]\n"
"       " PROG " --version\n"
"\n"
"Proves to a verifier how this device booted, with its TPM. attest: one\n"
"attestation, the verdict printed; enroll: registers the device's AK; run:\n"
"the boot-time agent. " PROG " CMD --help: a command's options; man\n"
PROG "(8): all of it.\n"
"\n"
"Exit status: 0 compliant (run: stopped by a signal), 1 non-compliant, 2 usage\n"
"or configuration (the file, line and key are named), 3 TPM error, 4 verifier\n"
"unreachable (connection, TLS, timeout), 5 request refused by the verifier,\n"
"6 malformed reply, 7 internal error.\n"
"\n"
"  --help                this text\n"
"  --version             the program's version\n");
}

/* The usage lines of a help text: up to its first blank line. */
static void usage_lines(FILE *f, void (*help)(FILE *))
{
	char *text = NULL, *blank;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	if (!m)
		return;
	help(m);
	fclose(m);
	if (text && (blank = strstr(text, "\n\n")))
		blank[1] = '\0';
	fputs(text ? text : "", f);
	free(text);
}

/* A usage error: "attest_client: CMD: why" and the command's usage lines on
 * stderr; with --json also the error object on stdout. */
static int usage_error(const char *cmd, void (*help)(FILE *), const char *why)
{
	fprintf(stderr, PROG ": %s: %s\n", cmd, why);
	usage_lines(stderr, help);
	if (attest_json) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s: %s", cmd, why);
		attest_print_error(msg, TPA_EXIT_USAGE);
	}
	return TPA_EXIT_USAGE;
}

/* settings_load's answer, once the settings are freed, as an exit status:
 * --help prints the help, a bad option (said by settings_load) the usage
 * lines; a configuration error (said too) stays what it is. */
static int settings_failed(settings *s, int rc, const char *cmd, void (*help)(FILE *))
{
	settings_free(s);
	if (rc == SETTINGS_HELP) {
		help(stdout);
		return TPA_EXIT_OK;
	}
	if (rc == SETTINGS_BAD_OPTION)
		return usage_error(cmd, help, "bad option (see above)");
	if (attest_json) {
		char msg[128];

		snprintf(msg, sizeof(msg), "%s: invalid settings (said on stderr)", cmd);
		attest_print_error(msg, rc);
	}
	return rc;
}

/* --json is an output choice of attest and enroll, not a setting: taken off
 * the command line here (before "--", which ends the options) so the
 * settings (and a configuration file) never see it. */
static void take_json(int *argc, char **argv)
{
	int i, j;

	for (i = j = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[j++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--json") == 0)
			attest_json = 1;
		else
			argv[j++] = argv[i];
	}
	*argc = j;
	argv[j] = NULL;
}

/* The TPM's and gRPC's own logging only with --verbose. */
static void quiet_libraries(const settings *s)
{
	if (!s->verbose && !getenv("TSS2_LOG"))
		setenv("TSS2_LOG", "all+none", 1);
	tpa_rpc_log_init(s->verbose);
}

static int need_verifier(const settings *s, const char *cmd, void (*help)(FILE *))
{
	if (!s->co.target)
		return usage_error(cmd, help, "--verifier HOST:PORT is required");
	if (!s->co.insecure && !s->co.ca_file)
		return usage_error(cmd, help, "--ca FILE is required (or --insecure for local tests)");
	return 0;
}

/* The exit status of attest or enroll; with --json a failure's object. */
static int finish(int rc)
{
	if (attest_json && rc != TPA_EXIT_OK && rc != TPA_EXIT_NO)
		attest_print_error(NULL, rc);
	return rc;
}

static int cmd_attest(int argc, char **argv)
{
	settings s;
	attempt a;
	int rc;

	take_json(&argc, argv);
	if ((rc = settings_load(&s, argc, argv)) != 0)
		return settings_failed(&s, rc, "attest", help_attest);
	if ((rc = need_verifier(&s, "attest", help_attest)) != 0) {
		settings_free(&s);
		return rc;
	}
	if (s.auto_enroll && !s.ak_file) {
		settings_free(&s);
		return usage_error("attest", help_attest, "--auto-enroll needs --ak-file (an AK to keep)");
	}
	quiet_libraries(&s);
	rc = attest_once(&s, &a, 1);
	attempt_clear(&a);
	settings_free(&s);
	return finish(rc);
}

static int cmd_enroll(int argc, char **argv)
{
	settings s;
	int rc;

	take_json(&argc, argv);
	if ((rc = settings_load(&s, argc, argv)) != 0)
		return settings_failed(&s, rc, "enroll", help_enroll);
	if ((rc = need_verifier(&s, "enroll", help_enroll)) != 0) {
		settings_free(&s);
		return rc;
	}
	quiet_libraries(&s);
	rc = attest_enroll(&s);
	settings_free(&s);
	return finish(rc);
}

static int cmd_run(int argc, char **argv)
{
	settings s;
	int rc;

	if ((rc = agent_settings_load(&s, argc, argv)) != 0)
		return settings_failed(&s, rc, "run", help_run);
	return agent_run(&s, argc, argv);
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "attest", cmd_attest },
	{ "enroll", cmd_enroll },
	{ "run", cmd_run },
};

int main(int argc, char **argv)
{
	size_t i;

	/* No OpenSSL cleanup at exit: gRPC's threads may still be finishing
	 * then, and their thread-local OpenSSL state would touch freed locks.
	 * The process's exit frees the memory anyway. */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	if (argc < 2) {
		usage_lines(stderr, usage);
		return TPA_EXIT_USAGE;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
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
	usage_lines(stderr, usage);
	return TPA_EXIT_USAGE;
}
