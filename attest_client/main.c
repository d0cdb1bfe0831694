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

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " attest --verifier HOST:PORT (--ca FILE | --insecure) [options]\n"
"       " PROG " enroll --verifier HOST:PORT (--ca FILE | --insecure) [options]\n"
"       " PROG " run [--config FILE] [options]\n"
"       " PROG " --version\n"
"\n"
"attest: quotes the TPM's PCRs with a fresh challenge from the verifier, sends\n"
"the quote, the event log and the device's own view, and prints the verdict,\n"
"the appraisal against the device's baseline, the signed token (an EAR) and a\n"
"one-line summary.\n"
"\n"
"enroll: registers this device's AK with a verifier that keeps a registry:\n"
"sends the EK (public area, certificate and any CA certificates from NV) and\n"
"the AK, answers the verifier's credential with TPM2_ActivateCredential. Use\n"
"the same --ak-file for enroll and attest.\n"
"\n"
"run: the boot-time agent (see below).\n"
"\n"
"  --config FILE         settings from FILE, one \"key = value\" per line; the\n"
"                        keys are the options below without \"--\" (\"-\" or \"_\");\n"
"                        flags take true or false; the command line overrides\n"
"  --verifier HOST:PORT  the verifier's gRPC address (required)\n"
"  --ca FILE             PEM CA certificate(s) the verifier's TLS certificate\n"
"                        must chain to\n"
"  --server-name NAME    check the verifier's certificate for NAME instead of HOST\n"
"  --insecure            plaintext gRPC, for local tests only\n"
"  --tcti CONF           TPM transport (default " TPA_TCTI_DEFAULT "),\n"
"                        e.g. swtpm:path=/run/swtpm/tpm.sock\n"
"  --pcrs SEL            PCRs to quote, e.g. sha256:0,2,4,7 or sha1:0-7+sha256:0-9;\n"
"                        default " DEFAULT_PCRS ": the event log's strongest bank\n"
"                        (sha256 without a log), PCRs 0-9 and those of 11-14 the\n"
"                        log extends: what the verifier needs for the log to count\n"
"  --ak-type TYPE        ecc (P-256 ECDSA, default), rsa (RSASSA) or rsapss\n"
"  --ak-file FILE        keep the AK here: reloaded if present, else created\n"
"                        and saved (mode 0600); run: default " DEFAULT_AK_FILE "\n"
"  --ek TYPE             the EK a new AK is made under: auto (default: the\n"
"                        first whose certificate is in NV), rsa, ecc-p256 or\n"
"                        ecc-p384; a saved AK stays under its own EK\n"
"  --ek-cert FILE        (enrolling) the EK certificate, PEM or DER, from FILE\n"
"                        instead of the TPM's NV; it must be one certificate\n"
"                        whose key is the EK's, or nothing is sent\n"
"  --auto-enroll         (attest; always on for run) enroll when the verifier\n"
"                        does not know the AK, then attest again; if the TPM\n"
"                        refuses the saved AK (cleared), move it to\n"
"                        FILE.refused, make and enroll a new one\n"
"  --replace             (enroll) the new AK replaces the AKs the verifier holds\n"
"                        for the device; without it, it joins them\n"
"  --timeout MS          deadline of each call to the verifier (default %d)\n"
"  --device-hint TEXT    free text for the verifier's log (at most %d bytes)\n"
"  --no-host-info        send no host names (by default the host name,\n"
"                        /etc/machine-id and the DMI product and serial where\n"
"                        readable go to the verifier, kept as reported, not\n"
"                        attested)\n"
"  --host-info-root DIR  (for tests) read etc/machine-id, etc/hostname and\n"
"                        sys/class/dmi/id/* under DIR\n"
"  --bind-key FILE       attest: a P-256 key of this TPM (made and saved in FILE,\n"
"                        0600, if absent), certified by the AK: the token's cnf\n"
"                        claim names it; its RFC 7638 thumbprint is printed\n"
"  --rp-nonce HEX        attest: a relying party's nonce (8-64 bytes) bound into\n"
"                        the quote with the verifier's; the token's eat_nonce\n"
"  --token-out FILE      write the token to FILE (atomic replace, mode 0600);\n"
"                        run: default " DEFAULT_TOKEN_FILE "\n"
"  --eventlog FILE       the measured-boot event log to send (default\n"
"                        " DEFAULT_EVENTLOG " if readable)\n"
"  --no-eventlog         send no event log\n"
"  --efivars DIR         where to read SecureBoot and SetupMode (default\n"
"                        " DEFAULT_EFIVARS ")\n"
"  --verbose             let tpm2-tss and gRPC log to stderr; run: debug lines\n"
"\n"
"run, the agent: enrolls if needed, attests, writes the token and a status\n"
"file (JSON: last attempt, last success, verdict, expiry, next attempt),\n"
"then attests again --refresh-before the token expires, at least every\n"
"--interval, and after a resume; while the verifier is unreachable or the TPM\n"
"busy it retries after --retry-min seconds, doubling up to --retry-max, with\n"
"+-25%% jitter; refused (e.g. revoked), it asks again every --interval.\n"
"SIGTERM or SIGINT: clean exit (an attestation in flight finishes first);\n"
"SIGHUP: the configuration file is read again. One line per event on stderr\n"
"with a syslog level prefix (<6>info ...) and the device id.\n"
"  --status-file FILE    default " DEFAULT_STATUS_FILE " (mode 0644)\n"
"  --interval S          default %d\n"
"  --retry-min S         default %d\n"
"  --retry-max S         default %d\n"
"  --refresh-before S    default %d\n"
"\n"
"exit status: 0 compliant (run: stopped by a signal), 1 non-compliant, 2 usage\n"
"or configuration (the file, line and key are named), 3 TPM error, 4 verifier\n"
"unreachable (connection, TLS, timeout), 5 request refused by the verifier,\n"
"6 malformed reply, 7 internal error\n",
		DEFAULT_TIMEOUT_MS, TPA_DEVICE_HINT_MAX, DEFAULT_INTERVAL_S, DEFAULT_RETRY_MIN_S,
		DEFAULT_RETRY_MAX_S, DEFAULT_REFRESH_S);
}

/* settings_load's answer, once the settings are freed, as an exit status:
 * --help prints the usage, a bad option adds it to the message. */
static int settings_failed(settings *s, int rc)
{
	settings_free(s);
	if (rc == SETTINGS_HELP) {
		usage(stdout);
		return TPA_EXIT_OK;
	}
	if (rc == SETTINGS_BAD_OPTION) {
		usage(stderr);
		return TPA_EXIT_USAGE;
	}
	return rc;
}

/* The TPM's and gRPC's own logging only with --verbose. */
static void quiet_libraries(const settings *s)
{
	if (!s->verbose && !getenv("TSS2_LOG"))
		setenv("TSS2_LOG", "all+none", 1);
	tpa_rpc_log_init(s->verbose);
}

static int need_verifier(const settings *s, const char *cmd)
{
	if (!s->co.target) {
		fprintf(stderr, PROG ": %s needs --verifier HOST:PORT\n", cmd);
		return TPA_EXIT_USAGE;
	}
	if (!s->co.insecure && !s->co.ca_file) {
		fprintf(stderr, PROG ": --ca FILE is required (or --insecure for local tests)\n");
		return TPA_EXIT_USAGE;
	}
	return 0;
}

static int cmd_attest(int argc, char **argv)
{
	settings s;
	attempt a;
	int rc;

	if ((rc = settings_load(&s, argc, argv)) != 0)
		return settings_failed(&s, rc);
	if ((rc = need_verifier(&s, "attest")) != 0) {
		settings_free(&s);
		return rc;
	}
	if (s.auto_enroll && !s.ak_file) {
		fprintf(stderr, PROG ": --auto-enroll needs --ak-file (an AK to keep)\n");
		settings_free(&s);
		return TPA_EXIT_USAGE;
	}
	quiet_libraries(&s);
	rc = attest_once(&s, &a, 1);
	attempt_clear(&a);
	settings_free(&s);
	return rc;
}

static int cmd_enroll(int argc, char **argv)
{
	settings s;
	int rc;

	if ((rc = settings_load(&s, argc, argv)) != 0)
		return settings_failed(&s, rc);
	if (!s.co.target || (!s.co.insecure && !s.co.ca_file)) {
		fprintf(stderr, PROG ": enroll needs --verifier and one of --ca or --insecure\n");
		settings_free(&s);
		return TPA_EXIT_USAGE;
	}
	quiet_libraries(&s);
	rc = attest_enroll(&s);
	settings_free(&s);
	return rc;
}

static int cmd_run(int argc, char **argv)
{
	settings s;
	int rc;

	if ((rc = agent_settings_load(&s, argc, argv)) != 0)
		return settings_failed(&s, rc);
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
		usage(stderr);
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
	usage(stderr);
	return TPA_EXIT_USAGE;
}
