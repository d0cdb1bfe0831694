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
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "tpa/err.h"
#include "tpa/fileio.h"
#include "tpa/keybind.h"
#include "tpa/eventlog.h"
#include "tpa/evidence.h"
#include "tpa/quote.h"
#include "tpa/rpc.h"
#include "tpa/tpm.h"
#include "tpa/token.h"
#include "tpa/config.h"

#include <cjose/cjose.h>
#include <jansson.h>
#include <time.h>

#include <tss2/tss2_mu.h>

#include "client.h"
#include "view.h"
#include "tpa/boot.h"

/* Where the option being handled came from: "FILE:LINE: key: " or "--key: ". */
static char where[600] = "";

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " attest --verifier HOST:PORT (--ca FILE | --insecure) [options]\n"
"       " PROG " enroll --verifier HOST:PORT (--ca FILE | --insecure) [options]\n"
"       " PROG " run [--config FILE] [options]\n"
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
"  --auto-enroll         (attest; always on for run) enroll when the verifier\n"
"                        does not know the AK, then attest again; if the TPM\n"
"                        refuses the saved AK (cleared), move it to\n"
"                        FILE.refused, make and enroll a new one\n"
"  --replace             (enroll) the new AK replaces the AKs the verifier holds\n"
"                        for the device; without it, it joins them\n"
"  --timeout MS          deadline of each call to the verifier (default %d)\n"
"  --device-hint TEXT    free text for the verifier's log (at most %d bytes)\n"
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

static int exit_for(int err)
{
	switch (err) {
	case TPA_ERR_UNAVAILABLE:
	case TPA_ERR_DEADLINE:
		return TPA_EXIT_UNREACHABLE;
	case TPA_ERR_REFUSED:
		return TPA_EXIT_REFUSED;
	case TPA_ERR_PARSE:
	case TPA_ERR_LIMIT:
		return TPA_EXIT_PROTOCOL;
	default:
		return TPA_EXIT_INTERNAL;
	}
}

client_note_fn client_note;

/* Progress worth a line: the agent logs it, the commands print it. */
static void note(int error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(int error, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (client_note)
		client_note(error, msg);
	else
		fprintf(stderr, PROG ": %s\n", msg);
}

static int fail(int code, const char *what)
{
	/* The agent logs the attempt's error once, from the attempt. */
	if (!client_note)
		fprintf(stderr, PROG ": %s: %s\n", what, tpa_err_last());
	return code;
}

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

/* Opens the TPM and loads the AK; its public area into akpub. A new AK is
 * made under the EK asked for, or with ek_auto under the first EK whose
 * certificate the TPM holds; a saved AK under the EK it was made under.
 * With renew, an AK file the TPM refuses as not its own (the TPM was
 * cleared) is moved aside to FILE.refused and a new AK made: *renewed says
 * so. An exit status on failure, 0 on success. */
static int open_tpm_ak(tpa_tpm **tpm, uint8_t *akpub, size_t cap, size_t *akpub_len,
		       const char *tcti, tpa_ak_type ak_type, const char *ak_file,
		       int ek_auto, tpa_ek_type ek, int renew, int *renewed)
{
	int err;

	if (renewed)
		*renewed = 0;
	if (tpa_tpm_open(tpm, tcti) < 0)
		return fail(TPA_EXIT_TPM, "TPM");
	if (ek_auto && tpa_tpm_ek_detect(*tpm, &ek) < 0)
		ek = TPA_EK_RSA_2048; /* no certificate at all: enrollment will say so */
	if (tpa_tpm_set_ek(*tpm, ek) < 0)
		return fail(TPA_EXIT_INTERNAL, "EK");
	err = tpa_tpm_ak_load(*tpm, ak_type, ak_file);
	if (err == TPA_ERR_NOT_FOUND && renew && ak_file) {
		char aside[4096];

		note(0, "%s; making a new AK", tpa_err_last());
		if ((size_t)snprintf(aside, sizeof(aside), "%s.refused", ak_file) >= sizeof(aside) ||
		    rename(ak_file, aside) != 0) {
			note(1, "cannot move %s aside: %s", ak_file, strerror(errno));
			return TPA_EXIT_INTERNAL;
		}
		if (renewed)
			*renewed = 1;
		err = tpa_tpm_ak_load(*tpm, ak_type, ak_file);
	}
	if (err < 0 || (err = tpa_tpm_ak_public(*tpm, akpub, cap, akpub_len)) < 0)
		/* A bad --ak-file is a configuration error, the rest the TPM's. */
		return fail(err == TPA_ERR_TPM ? TPA_EXIT_TPM : TPA_EXIT_USAGE, "attestation key");
	return 0;
}

/* One unary call with a packed request; the reply in *resp. */
static int call(uint8_t **resp, size_t *resp_len, int *status, tpa_rpc_client *cl,
		const char *method, uint8_t *req, size_t req_len, unsigned timeout)
{
	int err = tpa_rpc_client_call(resp, resp_len, status, cl, method, req, req_len, timeout);

	free(req);
	return err;
}

#define EK_INTERMEDIATES_MAX TPA_ENROLL_INTERMEDIATES_MAX

/* Enrolls the loaded AK: the EK, its certificate and the intermediates the
 * TPM keeps go to the verifier, whose credential the TPM releases only to
 * this AK beside this EK. Prints the device id. An exit status. */
static int enroll(tpa_tpm *tpm, tpa_rpc_client *cl, const uint8_t *akpub, size_t akpub_len,
		  unsigned timeout, int replace)
{
	tpa_enroll_keys keys;
	TPMT_PUBLIC ek;
	tpa_enrollment en;
	uint8_t ekpub[TPA_PUBLIC_MAX], *cert = NULL, *req = NULL, *resp = NULL, cred[64];
	uint8_t *inter[EK_INTERMEDIATES_MAX] = { NULL };
	size_t inter_len[EK_INTERMEDIATES_MAX] = { 0 }, ninter = 0, i;
	size_t ekpub_len = 0, cert_len = 0, req_len = 0, resp_len = 0;
	size_t cred_len = sizeof(cred), off = 0;
	char device_id[80], ak_name[140];
	int rc, err;

	if (tpa_tpm_ek_public(tpm, &ek) < 0 ||
	    Tss2_MU_TPMT_PUBLIC_Marshal(&ek, ekpub, sizeof(ekpub), &off) != TSS2_RC_SUCCESS) {
		rc = fail(TPA_EXIT_TPM, "endorsement key");
		goto cleanup;
	}
	ekpub_len = off;
	if (tpa_tpm_ek_cert(tpm, &cert, &cert_len) < 0) {
		rc = fail(TPA_EXIT_TPM, "EK certificate");
		goto cleanup;
	}
	if (tpa_tpm_ek_intermediates(tpm, inter, inter_len, EK_INTERMEDIATES_MAX, &ninter) < 0) {
		rc = fail(TPA_EXIT_TPM, "EK intermediates");
		goto cleanup;
	}
	keys.ek_public = ekpub;
	keys.ek_public_len = ekpub_len;
	keys.ek_cert = cert;
	keys.ek_cert_len = cert_len;
	keys.ak_public = akpub;
	keys.ak_public_len = akpub_len;
	if (tpa_enroll_request_pack(&req, &req_len, &keys, (const uint8_t *const *)inter,
				    inter_len, ninter, replace) < 0) {
		rc = fail(TPA_EXIT_INTERNAL, "enroll");
		goto cleanup;
	}
	if ((err = call(&resp, &resp_len, NULL, cl, TPA_RPC_ENROLL, req, req_len, timeout)) < 0) {
		rc = fail(exit_for(err), "Enroll");
		goto cleanup;
	}
	err = tpa_enroll_response_unpack(&en, resp, resp_len);
	free(resp);
	resp = NULL;
	if (err < 0) {
		rc = fail(TPA_EXIT_PROTOCOL, "Enroll");
		goto cleanup;
	}
	/* Only the TPM that holds the EK releases the credential to this AK. */
	if (tpa_tpm_activate_credential(cred, &cred_len, tpm, en.blob, en.blob_len, en.secret,
					en.secret_len) < 0) {
		rc = fail(TPA_EXIT_TPM, "ActivateCredential");
		goto cleanup;
	}
	/* The verifier keeps nothing between the calls: the EK and AK again. */
	if (tpa_activate_request_pack(&req, &req_len, en.id, cred, cred_len, &keys) < 0) {
		rc = fail(TPA_EXIT_INTERNAL, "activate");
		goto cleanup;
	}
	if ((err = call(&resp, &resp_len, NULL, cl, TPA_RPC_ACTIVATE, req, req_len,
			timeout)) < 0) {
		rc = fail(exit_for(err), "Activate");
		goto cleanup;
	}
	if (tpa_activate_response_unpack(device_id, sizeof(device_id), ak_name,
					 sizeof(ak_name), resp, resp_len) < 0) {
		rc = fail(TPA_EXIT_PROTOCOL, "Activate");
		goto cleanup;
	}
	if (client_note)
		note(0, "enrolled: device %s, AK %s, EK %s", device_id, ak_name,
		     tpa_ek_type_label(tpa_tpm_ek_type(tpm)));
	else
		printf("enrolled: device %s\nak_name: %s\nek: %s\n", device_id, ak_name,
		       tpa_ek_type_label(tpa_tpm_ek_type(tpm)));
	rc = TPA_EXIT_OK;
cleanup:
	memset(cred, 0, sizeof(cred));
	for (i = 0; i < ninter; i++)
		free(inter[i]);
	free(resp);
	free(cert);
	return rc;
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

int write_file_atomic(const char *path, const char *data, unsigned mode)
{
	size_t len = strlen(data);
	char *line = malloc(len + 2);
	int rc;

	if (!line)
		return -1;
	memcpy(line, data, len);
	line[len] = '\n';
	rc = tpa_file_write_atomic(path, line, len + 1, mode);
	free(line);
	return rc < 0 ? -1 : 0;
}

static int write_token(const char *path, const char *token)
{
	return write_file_atomic(path, token, 0600);
}

void token_read(const char *token, char *status, size_t cap, long long *exp, char *device,
		size_t dcap)
{
	const char *a = token ? strchr(token, '.') : NULL, *b = a ? strchr(a + 1, '.') : NULL;
	uint8_t *pl = NULL;
	size_t n = 0;
	cjose_err e;
	json_t *j;
	const char *st = NULL, *dev = NULL;
	json_int_t x = 0;

	snprintf(status, cap, "?");
	if (device && dcap)
		device[0] = '\0';
	*exp = 0;
	if (!a || !b || !cjose_base64url_decode(a + 1, (size_t)(b - a - 1), &pl, &n, &e))
		return;
	if ((j = json_loadb((const char *)pl, n, 0, NULL))) {
		if (json_unpack(j, "{s:I, s:{s:{s:s}}}", "exp", &x, "submods", TPA_EAR_SUBMOD,
				"ear.status", &st) == 0) {
			snprintf(status, cap, "%s", st);
			*exp = (long long)x;
		}
		if (device && dcap && json_unpack(j, "{s:s}", "tpa.device_id", &dev) == 0)
			snprintf(device, dcap, "%s", dev);
		json_decref(j);
	}
	cjose_get_dealloc()(pl);
}

/* One line for a person or a log: the EAR status, why, and the token. */
static void print_summary(const tpa_verdict_reply *v, const char *token_out)
{
	char status[32], when[32] = "?", bl[100] = "none";
	long long exp;
	size_t i, failed = 0;

	token_read(v->token, status, sizeof(status), &exp, NULL, 0);
	if (exp) {
		time_t t = (time_t)exp;
		struct tm tm;

		if (gmtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	for (i = 0; i < v->findings.n; i++)
		failed += !v->findings.items[i].passed;
	for (i = 0; i < v->nrules; i++)
		failed += strcmp(v->rules[i].status, "fail") == 0;
	failed += strcmp(v->outcome, "no-baseline") == 0; /* never a silent pass */
	if (v->baseline[0])
		snprintf(bl, sizeof(bl), "%s@%u", v->baseline, v->baseline_version);
	printf("summary: %s, %s, secure boot %s, baseline %s, %zu problem(s); token expires %s%s%s\n",
	       status, v->warning ? "WARNING" : v->compliant ? "COMPLIANT" : "NON-COMPLIANT",
	       v->secure_boot, bl, failed, when, token_out ? ", written to " : "",
	       token_out ? token_out : "");
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

/* ---- settings: command line and configuration file ---- */

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
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Keys a configuration file may not set. */
static const char *const not_in_config[] = { "config", "help", NULL };
static const char *const flags[] = { "insecure", "no-eventlog", "auto-enroll", "replace",
				     "verbose", NULL };


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
		case 'h': usage(stdout); return -1;
		default:
			set_where(&s->args, optind - 1, "?");
			fprintf(stderr, PROG ": %sunknown or incomplete option '%s'\n",
				optind - 1 < s->args.argc && s->args.where[optind - 1] ? where : "",
				s->args.argv[optind - 1]);
			usage(stderr);
			return TPA_EXIT_USAGE;
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

/* ---- one attestation ---- */

void attempt_clear(attempt *a)
{
	tpa_verdict_reply_clear(&a->v);
	memset(a, 0, sizeof(*a));
}

static void print_verdict(const tpa_verdict_reply *v, const tpa_client_view *view, size_t log_len,
			  const char *token_out)
{
	size_t i;

	printf("verdict: %s\n", v->warning ? "WARNING" : v->compliant ? "COMPLIANT" :
	       "NON-COMPLIANT");
	for (i = 0; i < v->findings.n; i++)
		printf("  %-4s %s: %s\n", v->findings.items[i].passed ? "ok" : "FAIL",
		       v->findings.items[i].name, v->findings.items[i].detail);
	printf("appraisal: %s", v->outcome);
	if (v->baseline[0])
		printf(" (baseline %s@%u)", v->baseline, v->baseline_version);
	printf("\n");
	for (i = 0; i < v->nrules; i++)
		if (strcmp(v->rules[i].status, "fail") == 0)
			printf("  FAIL %s (%s): %s\n", v->rules[i].rule, v->rules[i].severity,
			       v->rules[i].detail);
	printf("measured boot: %s", v->measured_boot ? "yes" : "no");
	if (log_len)
		printf(" (%u events)", v->events);
	printf("\nsecure boot: %s (%s)\n", v->secure_boot, v->secure_boot_reason);
	if (v->firmware_version[0])
		printf("firmware: %s\n", v->firmware_version);
	if (v->kernel_cmdline[0])
		printf("kernel command line: %s\n", v->kernel_cmdline);
	if (v->uefi_debug_mode)
		printf("UEFI debug mode: ON\n");
	printf("tpm: %s%s, firmware %08llx.%08llx\n",
	       view->tpm_manufacturer[0] ? view->tpm_manufacturer : "?",
	       view->virtual_tpm ? " (virtual)" : "",
	       (unsigned long long)(view->tpm_firmware_version >> 32),
	       (unsigned long long)(view->tpm_firmware_version & 0xffffffffu));
	printf("ak_name: %s\n", v->ak_name);
	printf("token: %s\n", v->token ? v->token : "");
	print_summary(v, token_out);
}

int attest_once(const settings *s, attempt *a, int print)
{
	tpa_rpc_client *cl = NULL;
	tpa_tpm *tpm = NULL;
	tpa_pcr_set pcrs = s->pcrs;
	tpa_client_challenge ch;
	tpa_tpm_quote_result q;
	tpa_client_view view;
	tpa_attest_extras extras;
	tpa_tpm_certify_result bound;
	uint8_t akpub[TPA_PUBLIC_MAX], *req = NULL, *resp = NULL, *log = NULL;
	size_t akpub_len = 0, req_len = 0, resp_len = 0, log_len = 0;
	int rc, err, renewed = 0, attempt_no;

	memset(a, 0, sizeof(*a));
	/* The TPM first: no verifier round trip for a device without one. */
	if ((rc = open_tpm_ak(&tpm, akpub, sizeof(akpub), &akpub_len, s->tcti, s->ak_type,
			      s->ak_file, s->ek_auto, s->ek, s->auto_enroll, &renewed)) != 0)
		goto done;
	rc = TPA_EXIT_INTERNAL;
	/* What the device believes about itself (the verifier checks it). */
	if (view_collect(&view, tpm, s->efivars) < 0) {
		rc = fail(TPA_EXIT_TPM, "TPM properties");
		goto done;
	}
	/* The default log may be absent (no TPM event log exposed); a log
	 * asked for by name must be there. */
	if (!s->no_eventlog && (s->eventlog || access(DEFAULT_EVENTLOG, R_OK) == 0) &&
	    tpa_eventlog_read_file(&log, &log_len, s->eventlog ? s->eventlog : DEFAULT_EVENTLOG) < 0) {
		rc = fail(TPA_EXIT_USAGE, "event log");
		goto done;
	}
	/* What the verifier needs quoted for the log to count: its strongest
	 * bank, PCRs 0-9 and the boot chain's it extends. */
	if (strcmp(s->pcr_spec, "auto") == 0 &&
	    tpa_boot_quote_selection(&pcrs, log, log_len) < 0) {
		rc = fail(TPA_EXIT_INTERNAL, "PCR selection");
		goto done;
	}
	if ((err = tpa_rpc_client_new(&cl, &s->co)) < 0) {
		rc = fail(err == TPA_ERR_IO || err == TPA_ERR_PARSE ? TPA_EXIT_USAGE : TPA_EXIT_INTERNAL,
			  "verifier");
		goto done;
	}
	/* A new AK (the old one refused by the TPM) is enrolled first; an AK
	 * the verifier does not know (its registry lost it, or the AK file is
	 * new) is enrolled and the attestation tried once more. A revoked
	 * device is refused with FAILED_PRECONDITION and stays refused. */
	/* The TPM refused the old AK: the new one replaces it. */
	if (renewed && (rc = enroll(tpm, cl, akpub, akpub_len, s->timeout, 1)) != 0)
		goto done;
	for (attempt_no = 0;; attempt_no++) {
		if (tpa_challenge_request_pack(&req, &req_len, s->hint, s->rp_nonce_len ? s->rp_nonce :
					       NULL, s->rp_nonce_len) < 0) {
			rc = fail(TPA_EXIT_INTERNAL, "challenge");
			goto done;
		}
		err = call(&resp, &resp_len, &a->grpc_status, cl, TPA_RPC_GET_CHALLENGE, req,
			   req_len, s->timeout);
		req = NULL;
		if (err < 0) {
			rc = fail(exit_for(err), "GetChallenge");
			goto done;
		}
		err = tpa_challenge_unpack(&ch, resp, resp_len);
		free(resp);
		resp = NULL;
		if (err < 0) {
			rc = fail(TPA_EXIT_PROTOCOL, "GetChallenge");
			goto done;
		}
		if (tpa_tpm_quote(&q, tpm, &pcrs, ch.nonce, ch.nonce_len) < 0) {
			rc = fail(TPA_EXIT_TPM, "quote");
			goto done;
		}
		extras.event_log = log;
		extras.event_log_len = log_len;
		extras.view = &view;
		extras.hint = s->hint;
		extras.bound_key = NULL;
		if (s->bind_key) {
			tpa_bound_key named;

			if (tpa_tpm_bind_key(&bound, tpm, s->bind_key, ch.nonce, ch.nonce_len) < 0) {
				rc = fail(TPA_EXIT_TPM, "bind key");
				goto done;
			}
			extras.bound_key = &bound;
			if (print && tpa_keybind_describe(&named, bound.key_public,
							  bound.key_public_len) == 0)
				printf("bound_key: %s\n", named.thumbprint);
		}
		extras.rp_nonce = s->rp_nonce_len ? s->rp_nonce : NULL;
		extras.rp_nonce_len = s->rp_nonce_len;
		if (tpa_attest_request_pack(&req, &req_len, ch.id, &q, akpub, akpub_len, &pcrs,
					    &extras) < 0) {
			rc = fail(TPA_EXIT_INTERNAL, "evidence");
			goto done;
		}
		err = call(&resp, &resp_len, &a->grpc_status, cl, TPA_RPC_ATTEST, req, req_len,
			   s->timeout);
		req = NULL;
		if (err == TPA_ERR_REFUSED && a->grpc_status == TPA_RPC_PERMISSION_DENIED &&
		    s->auto_enroll && attempt_no == 0) {
			note(0, "%s; enrolling", tpa_err_last());
			if ((rc = enroll(tpm, cl, akpub, akpub_len, s->timeout, 0)) != 0)
				goto done;
			continue;
		}
		if (err < 0) {
			rc = fail(exit_for(err), "Attest");
			goto done;
		}
		break;
	}
	if (tpa_verdict_reply_unpack(&a->v, resp, resp_len) < 0) {
		rc = fail(TPA_EXIT_PROTOCOL, "Attest");
		goto done;
	}
	a->have_verdict = 1;
	if (s->token_out && a->v.token && write_token(s->token_out, a->v.token) < 0) {
		fprintf(stderr, PROG ": cannot write the token to %s\n", s->token_out);
		rc = TPA_EXIT_INTERNAL;
		goto done;
	}
	if (print)
		print_verdict(&a->v, &view, log_len, s->token_out);
	rc = a->v.compliant ? TPA_EXIT_OK : TPA_EXIT_NO;
done:
	if (rc != TPA_EXIT_OK && rc != TPA_EXIT_NO)
		snprintf(a->error, sizeof(a->error), "%s", tpa_err_last());
	a->code = rc;
	free(log);
	free(req);
	free(resp);
	tpa_rpc_client_free(cl);
	tpa_tpm_close(tpm);
	return rc;
}

static int cmd_attest(int argc, char **argv)
{
	settings s;
	attempt a;
	int rc;

	if ((rc = settings_load(&s, argc, argv)) != 0 || (rc = need_verifier(&s, "attest")) != 0) {
		settings_free(&s);
		return rc < 0 ? 0 : rc;
	}
	if (s.auto_enroll && !s.ak_file) {
		fprintf(stderr, PROG ": --auto-enroll needs --ak-file (an AK to keep)\n");
		settings_free(&s);
		return TPA_EXIT_USAGE;
	}
	if (!s.verbose && !getenv("TSS2_LOG"))
		setenv("TSS2_LOG", "all+none", 1);
	tpa_rpc_log_init(s.verbose);
	rc = attest_once(&s, &a, 1);
	attempt_clear(&a);
	settings_free(&s);
	return rc;
}

static int cmd_enroll(int argc, char **argv)
{
	settings s;
	tpa_rpc_client *cl = NULL;
	tpa_tpm *tpm = NULL;
	uint8_t akpub[TPA_PUBLIC_MAX];
	size_t akpub_len = 0;
	int rc, err;

	if ((rc = settings_load(&s, argc, argv)) != 0) {
		settings_free(&s);
		return rc < 0 ? 0 : rc;
	}
	if (!s.co.target || (!s.co.insecure && !s.co.ca_file)) {
		fprintf(stderr, PROG ": enroll needs --verifier and one of --ca or --insecure\n");
		settings_free(&s);
		return TPA_EXIT_USAGE;
	}
	if (!s.verbose && !getenv("TSS2_LOG"))
		setenv("TSS2_LOG", "all+none", 1);
	tpa_rpc_log_init(s.verbose);
	if ((rc = open_tpm_ak(&tpm, akpub, sizeof(akpub), &akpub_len, s.tcti, s.ak_type, s.ak_file,
			      s.ek_auto, s.ek, 1, NULL)) != 0)
		goto cleanup;
	if ((err = tpa_rpc_client_new(&cl, &s.co)) < 0) {
		rc = fail(err == TPA_ERR_IO || err == TPA_ERR_PARSE ? TPA_EXIT_USAGE : TPA_EXIT_INTERNAL,
			  "verifier");
		goto cleanup;
	}
	rc = enroll(tpm, cl, akpub, akpub_len, s.timeout, s.replace);
cleanup:
	tpa_rpc_client_free(cl);
	tpa_tpm_close(tpm);
	settings_free(&s);
	return rc;
}

int main(int argc, char **argv)
{
	/* No OpenSSL cleanup at exit: gRPC's threads may still be finishing
	 * then, and their thread-local OpenSSL state would touch freed locks.
	 * The process's exit frees the memory anyway. */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	if (argc < 2) {
		usage(stderr);
		return TPA_EXIT_USAGE;
	}
	if (strcmp(argv[1], "attest") == 0)
		return cmd_attest(argc - 1, argv + 1);
	if (strcmp(argv[1], "enroll") == 0)
		return cmd_enroll(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, PROG ": unknown command '%s'\n", argv[1]);
	usage(stderr);
	return TPA_EXIT_USAGE;
}
