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
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "tpa/err.h"
#include "tpa/eventlog.h"
#include "tpa/evidence.h"
#include "tpa/quote.h"
#include "tpa/rpc.h"
#include "tpa/tpm.h"
#include "tpa/token.h"

#include <cjose/cjose.h>
#include <jansson.h>
#include <time.h>

#include <tss2/tss2_mu.h>

enum {
	EXIT_COMPLIANT = 0,
	EXIT_NON_COMPLIANT = 1,
	EXIT_USAGE = 2,
	EXIT_TPM = 3,
	EXIT_UNREACHABLE = 4,
	EXIT_REFUSED = 5,
	EXIT_PROTOCOL = 6,
	EXIT_INTERNAL = 7,
};

#define PROG "attest_client"
#define DEFAULT_PCRS "sha256:0-9"
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_EVENTLOG "/sys/kernel/security/tpm0/binary_bios_measurements"
#define DEFAULT_EFIVARS "/sys/firmware/efi/efivars"

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " attest --verifier HOST:PORT (--ca FILE | --insecure) [options]\n"
"       " PROG " enroll --verifier HOST:PORT (--ca FILE | --insecure) [options]\n"
"\n"
"enroll: registers this device's AK with a verifier that keeps a registry:\n"
"sends the EK (public area, certificate and any CA certificates from NV) and\n"
"the AK, answers the verifier's credential with TPM2_ActivateCredential. Use\n"
"the same --ak-file for enroll and attest. Takes --verifier, --ca,\n"
"--server-name, --insecure, --tcti, --ak-type, --ak-file, --ek, --timeout and\n"
"--verbose.\n"
"\n"
"Quotes the TPM's PCRs with a fresh challenge from the verifier and prints\n"
"the verdict and its signed token.\n"
"\n"
"  --verifier HOST:PORT  the verifier's gRPC address (required)\n"
"  --ca FILE             PEM CA certificate(s) the verifier's TLS certificate\n"
"                        must chain to\n"
"  --server-name NAME    check the verifier's certificate for NAME instead of HOST\n"
"  --insecure            plaintext gRPC, for local tests only\n"
"  --tcti CONF           TPM transport (default " TPA_TCTI_DEFAULT "),\n"
"                        e.g. swtpm:path=/run/swtpm/tpm.sock\n"
"  --pcrs SEL            PCRs to quote (default " DEFAULT_PCRS "), e.g.\n"
"                        sha256:0,2,4,7 or sha1:0-7+sha256:0-9\n"
"  --ak-type TYPE        ecc (P-256 ECDSA, default), rsa (RSASSA) or rsapss\n"
"  --ak-file FILE        keep the AK here: reloaded if present, else created\n"
"                        and saved (mode 0600)\n"
"  --ek TYPE             the EK a new AK is made under: auto (default: the\n"
"                        first whose certificate is in NV), rsa, ecc-p256 or\n"
"                        ecc-p384; a saved AK stays under its own EK\n"
"  --auto-enroll         (attest) enroll when the verifier does not know the\n"
"                        AK, then attest again; if the TPM refuses the saved\n"
"                        AK (cleared), move it to FILE.refused, make and\n"
"                        enroll a new one. Needs --ak-file\n"
"  --timeout MS          deadline of each call to the verifier (default %d)\n"
"  --device-hint TEXT    free text for the verifier's log (at most %d bytes)\n"
"  --token-out FILE      also write the token to FILE (mode 0600)\n"
"  --eventlog FILE       the measured-boot event log to send (default\n"
"                        " DEFAULT_EVENTLOG " if readable)\n"
"  --no-eventlog         send no event log\n"
"  --efivars DIR         where to read SecureBoot and SetupMode (default\n"
"                        " DEFAULT_EFIVARS ")\n"
"  --verbose             let tpm2-tss and gRPC log to stderr\n"
"\n"
"exit status: 0 compliant, 1 non-compliant, 2 usage, 3 TPM error,\n"
"4 verifier unreachable (connection, TLS, timeout), 5 request refused by the\n"
"verifier, 6 malformed reply, 7 internal error\n",
		DEFAULT_TIMEOUT_MS, TPA_DEVICE_HINT_MAX);
}

static int exit_for(int err)
{
	switch (err) {
	case TPA_ERR_UNAVAILABLE:
	case TPA_ERR_DEADLINE:
		return EXIT_UNREACHABLE;
	case TPA_ERR_REFUSED:
		return EXIT_REFUSED;
	case TPA_ERR_PARSE:
	case TPA_ERR_LIMIT:
		return EXIT_PROTOCOL;
	default:
		return EXIT_INTERNAL;
	}
}

static int fail(int code, const char *what)
{
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
		fprintf(stderr, PROG ": --ak-type: '%s' is not ecc, rsa or rsapss\n", s);
		return -1;
	}
	return 0;
}

static int parse_timeout(unsigned *out, const char *s)
{
	if (parse_uint(out, s, 3600000) < 0 || *out == 0) {
		fprintf(stderr, PROG ": --timeout: '%s' is not 1..3600000 ms\n", s);
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
		return fail(EXIT_TPM, "TPM");
	if (ek_auto && tpa_tpm_ek_detect(*tpm, &ek) < 0)
		ek = TPA_EK_RSA_2048; /* no certificate at all: enrollment will say so */
	if (tpa_tpm_set_ek(*tpm, ek) < 0)
		return fail(EXIT_INTERNAL, "EK");
	err = tpa_tpm_ak_load(*tpm, ak_type, ak_file);
	if (err == TPA_ERR_NOT_FOUND && renew && ak_file) {
		char aside[4096];

		fprintf(stderr, PROG ": %s; making a new AK\n", tpa_err_last());
		if ((size_t)snprintf(aside, sizeof(aside), "%s.refused", ak_file) >= sizeof(aside) ||
		    rename(ak_file, aside) != 0) {
			fprintf(stderr, PROG ": cannot move %s aside: %s\n", ak_file,
				strerror(errno));
			return EXIT_INTERNAL;
		}
		if (renewed)
			*renewed = 1;
		err = tpa_tpm_ak_load(*tpm, ak_type, ak_file);
	}
	if (err < 0 || (err = tpa_tpm_ak_public(*tpm, akpub, cap, akpub_len)) < 0)
		/* A bad --ak-file is a configuration error, the rest the TPM's. */
		return fail(err == TPA_ERR_TPM ? EXIT_TPM : EXIT_USAGE, "attestation key");
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
		  unsigned timeout)
{
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
		rc = fail(EXIT_TPM, "endorsement key");
		goto cleanup;
	}
	ekpub_len = off;
	if (tpa_tpm_ek_cert(tpm, &cert, &cert_len) < 0) {
		rc = fail(EXIT_TPM, "EK certificate");
		goto cleanup;
	}
	if (tpa_tpm_ek_intermediates(tpm, inter, inter_len, EK_INTERMEDIATES_MAX, &ninter) < 0) {
		rc = fail(EXIT_TPM, "EK intermediates");
		goto cleanup;
	}
	if (tpa_enroll_request_pack(&req, &req_len, ekpub, ekpub_len, cert, cert_len,
				    (const uint8_t *const *)inter, inter_len, ninter, akpub,
				    akpub_len) < 0) {
		rc = fail(EXIT_INTERNAL, "enroll");
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
		rc = fail(EXIT_PROTOCOL, "Enroll");
		goto cleanup;
	}
	/* Only the TPM that holds the EK releases the credential to this AK. */
	if (tpa_tpm_activate_credential(cred, &cred_len, tpm, en.blob, en.blob_len, en.secret,
					en.secret_len) < 0) {
		rc = fail(EXIT_TPM, "ActivateCredential");
		goto cleanup;
	}
	if (tpa_activate_request_pack(&req, &req_len, en.id, cred, cred_len) < 0) {
		rc = fail(EXIT_INTERNAL, "activate");
		goto cleanup;
	}
	if ((err = call(&resp, &resp_len, NULL, cl, TPA_RPC_ACTIVATE, req, req_len,
			timeout)) < 0) {
		rc = fail(exit_for(err), "Activate");
		goto cleanup;
	}
	if (tpa_activate_response_unpack(device_id, sizeof(device_id), ak_name,
					 sizeof(ak_name), resp, resp_len) < 0) {
		rc = fail(EXIT_PROTOCOL, "Activate");
		goto cleanup;
	}
	printf("enrolled: device %s\nak_name: %s\nek: %s\n", device_id, ak_name,
	       tpa_ek_type_label(tpa_tpm_ek_type(tpm)));
	rc = EXIT_COMPLIANT;
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
		fprintf(stderr, PROG ": --ek: '%s' is not auto, rsa, ecc-p256 or ecc-p384\n", s);
		return -1;
	}
	return 0;
}

static int write_token(const char *path, const char *token)
{
	size_t len = strlen(token), done = 0;
	char tmp[4096];
	ssize_t w;
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (done < len && (w = write(fd, token + done, len - done)) > 0)
		done += (size_t)w;
	if (done != len || write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The token's EAR status and expiry, read (not verified: relying parties
 * verify) for the one-line summary. */
static void token_status(const char *token, char *status, size_t cap, long long *exp)
{
	const char *a = token ? strchr(token, '.') : NULL, *b = a ? strchr(a + 1, '.') : NULL;
	uint8_t *pl = NULL;
	size_t n = 0;
	cjose_err e;
	json_t *j;
	const char *st = NULL;
	json_int_t x = 0;

	snprintf(status, cap, "?");
	*exp = 0;
	if (!a || !b || !cjose_base64url_decode(a + 1, (size_t)(b - a - 1), &pl, &n, &e))
		return;
	if ((j = json_loadb((const char *)pl, n, 0, NULL))) {
		if (json_unpack(j, "{s:I, s:{s:{s:s}}}", "exp", &x, "submods", TPA_EAR_SUBMOD,
				"ear.status", &st) == 0) {
			snprintf(status, cap, "%s", st);
			*exp = (long long)x;
		}
		json_decref(j);
	}
	cjose_get_dealloc()(pl);
}

/* One line for a person or a log: the EAR status, why, and the token. */
static void print_summary(const tpa_verdict *v, const char *token_out)
{
	char status[32], when[32] = "?", bl[100] = "none";
	long long exp;
	size_t i, failed = 0;

	token_status(v->token, status, sizeof(status), &exp);
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
	if (v->baseline[0])
		snprintf(bl, sizeof(bl), "%s@%u", v->baseline, v->baseline_version);
	printf("summary: %s, %s, secure boot %s, baseline %s, %zu problem(s); token expires %s%s%s\n",
	       status, v->warning ? "WARNING" : v->compliant ? "COMPLIANT" : "NON-COMPLIANT",
	       v->secure_boot, bl, failed, when, token_out ? ", written to " : "",
	       token_out ? token_out : "");
}

static int cmd_attest(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verifier", required_argument, NULL, 'v' },
		{ "ca", required_argument, NULL, 'c' },
		{ "server-name", required_argument, NULL, 'n' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "tcti", required_argument, NULL, 't' },
		{ "pcrs", required_argument, NULL, 'p' },
		{ "ak-type", required_argument, NULL, 'k' },
		{ "ak-file", required_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "device-hint", required_argument, NULL, 'd' },
		{ "token-out", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'V' },
		{ "eventlog", required_argument, NULL, 'e' },
		{ "no-eventlog", no_argument, NULL, 'E' },
		{ "efivars", required_argument, NULL, 'f' },
		{ "ek", required_argument, NULL, 'K' },
		{ "auto-enroll", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	tpa_rpc_client_opts co = { 0 };
	const char *eventlog = NULL, *efivars = DEFAULT_EFIVARS;
	int no_eventlog = 0;
	uint8_t *log = NULL;
	size_t log_len = 0;
	tpa_client_view view;
	tpa_attest_extras extras;
	const char *tcti = TPA_TCTI_DEFAULT, *pcr_spec = DEFAULT_PCRS;
	const char *ak_file = NULL, *hint = NULL, *token_out = NULL;
	tpa_ak_type ak_type = TPA_AK_ECC_P256;
	tpa_ek_type ek = TPA_EK_RSA_2048;
	unsigned timeout = DEFAULT_TIMEOUT_MS;
	int verbose = 0, c, rc = EXIT_INTERNAL, err, ek_auto = 1, auto_enroll = 0;
	int renewed = 0, attempt, status = 0;
	tpa_rpc_client *cl = NULL;
	tpa_tpm *tpm = NULL;
	tpa_pcr_set pcrs;
	tpa_client_challenge ch;
	tpa_tpm_quote_result q;
	tpa_verdict v;
	uint8_t akpub[TPA_PUBLIC_MAX], *req = NULL, *resp = NULL;
	size_t akpub_len = 0, req_len = 0, resp_len = 0, i;

	memset(&v, 0, sizeof(v));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'v': co.target = optarg; break;
		case 'c': co.ca_file = optarg; break;
		case 'n': co.server_name = optarg; break;
		case 'I': co.insecure = 1; break;
		case 't': tcti = optarg; break;
		case 'p': pcr_spec = optarg; break;
		case 'a': ak_file = optarg; break;
		case 'd': hint = optarg; break;
		case 'o': token_out = optarg; break;
		case 'V': verbose = 1; break;
		case 'e': eventlog = optarg; break;
		case 'E': no_eventlog = 1; break;
		case 'f': efivars = optarg; break;
		case 'A': auto_enroll = 1; break;
		case 'K':
			if (parse_ek(&ek_auto, &ek, optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'k':
			if (parse_ak_type(&ak_type, optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'T':
			if (parse_timeout(&timeout, optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (!co.target) {
		fprintf(stderr, PROG ": --verifier HOST:PORT is required\n");
		return EXIT_USAGE;
	}
	if (!co.insecure && !co.ca_file) {
		fprintf(stderr, PROG ": --ca FILE is required (or --insecure for local tests)\n");
		return EXIT_USAGE;
	}
	if (co.insecure && co.ca_file) {
		fprintf(stderr, PROG ": --ca and --insecure exclude each other\n");
		return EXIT_USAGE;
	}
	if (tpa_pcr_set_parse_selection(&pcrs, pcr_spec) < 0) {
		fprintf(stderr, PROG ": --pcrs: %s\n", tpa_err_last());
		return EXIT_USAGE;
	}
	if (eventlog && no_eventlog) {
		fprintf(stderr, PROG ": --eventlog and --no-eventlog exclude each other\n");
		return EXIT_USAGE;
	}
	if (hint && strlen(hint) > TPA_DEVICE_HINT_MAX) {
		fprintf(stderr, PROG ": --device-hint: longer than %d bytes\n",
			TPA_DEVICE_HINT_MAX);
		return EXIT_USAGE;
	}
	if (!verbose && !getenv("TSS2_LOG"))
		setenv("TSS2_LOG", "all+none", 1);
	tpa_rpc_log_init(verbose);

	/* The TPM first: no verifier round trip for a device without one. */
	if (auto_enroll && !ak_file) {
		fprintf(stderr, PROG ": --auto-enroll needs --ak-file (an AK to keep)\n");
		return EXIT_USAGE;
	}
	if ((rc = open_tpm_ak(&tpm, akpub, sizeof(akpub), &akpub_len, tcti, ak_type, ak_file,
			      ek_auto, ek, auto_enroll, &renewed)) != 0)
		goto cleanup;
	rc = EXIT_INTERNAL;
	/* What the device believes about itself (the verifier checks it). */
	memset(&view, 0, sizeof(view));
	tpa_client_view_read_efivars(&view, efivars);
	if (tpa_tpm_properties(tpm, view.tpm_manufacturer, &view.tpm_firmware_version) < 0) {
		rc = fail(EXIT_TPM, "TPM properties");
		goto cleanup;
	}
	view.virtual_tpm = tpa_manufacturer_is_virtual(view.tpm_manufacturer);
	/* The default log may be absent (no TPM event log exposed); a log
	 * asked for by name must be there. */
	if (!no_eventlog && (eventlog || access(DEFAULT_EVENTLOG, R_OK) == 0) &&
	    tpa_eventlog_read_file(&log, &log_len, eventlog ? eventlog : DEFAULT_EVENTLOG) < 0) {
		rc = fail(EXIT_USAGE, "event log");
		goto cleanup;
	}
	if ((err = tpa_rpc_client_new(&cl, &co)) < 0) {
		rc = fail(err == TPA_ERR_IO || err == TPA_ERR_PARSE ? EXIT_USAGE :
			  EXIT_INTERNAL, "verifier");
		goto cleanup;
	}

	/* A new AK (the old one refused by the TPM) is enrolled first; an AK
	 * the verifier does not know (its registry lost it, or the AK file is
	 * new) is enrolled and the attestation tried once more. A revoked
	 * device is refused with FAILED_PRECONDITION and stays refused. */
	if (renewed && (rc = enroll(tpm, cl, akpub, akpub_len, timeout)) != 0)
		goto cleanup;
	for (attempt = 0;; attempt++) {
		if (tpa_challenge_request_pack(&req, &req_len, hint) < 0) {
			rc = fail(EXIT_INTERNAL, "challenge");
			goto cleanup;
		}
		err = call(&resp, &resp_len, NULL, cl, TPA_RPC_GET_CHALLENGE, req, req_len,
			   timeout);
		req = NULL;
		if (err < 0) {
			rc = fail(exit_for(err), "GetChallenge");
			goto cleanup;
		}
		err = tpa_challenge_unpack(&ch, resp, resp_len);
		free(resp);
		resp = NULL;
		if (err < 0) {
			rc = fail(EXIT_PROTOCOL, "GetChallenge");
			goto cleanup;
		}
		if (tpa_tpm_quote(&q, tpm, &pcrs, ch.nonce, ch.nonce_len) < 0) {
			rc = fail(EXIT_TPM, "quote");
			goto cleanup;
		}
		extras.event_log = log;
		extras.event_log_len = log_len;
		extras.view = &view;
		extras.hint = hint;
		if (tpa_attest_request_pack(&req, &req_len, ch.id, &q, akpub, akpub_len, &pcrs,
					    &extras) < 0) {
			rc = fail(EXIT_INTERNAL, "evidence");
			goto cleanup;
		}
		err = call(&resp, &resp_len, &status, cl, TPA_RPC_ATTEST, req, req_len, timeout);
		req = NULL;
		if (err == TPA_ERR_REFUSED && status == TPA_RPC_PERMISSION_DENIED &&
		    auto_enroll && attempt == 0) {
			fprintf(stderr, PROG ": %s; enrolling\n", tpa_err_last());
			if ((rc = enroll(tpm, cl, akpub, akpub_len, timeout)) != 0)
				goto cleanup;
			continue;
		}
		if (err < 0) {
			rc = fail(exit_for(err), "Attest");
			goto cleanup;
		}
		break;
	}
	if (tpa_verdict_unpack(&v, resp, resp_len) < 0) {
		rc = fail(EXIT_PROTOCOL, "Attest");
		goto cleanup;
	}

	printf("verdict: %s\n", v.warning ? "WARNING" : v.compliant ? "COMPLIANT" :
	       "NON-COMPLIANT");
	for (i = 0; i < v.findings.n; i++)
		printf("  %-4s %s: %s\n", v.findings.items[i].passed ? "ok" : "FAIL",
		       v.findings.items[i].name, v.findings.items[i].detail);
	printf("appraisal: %s", v.outcome);
	if (v.baseline[0])
		printf(" (baseline %s@%u)", v.baseline, v.baseline_version);
	printf("\n");
	for (i = 0; i < v.nrules; i++)
		if (strcmp(v.rules[i].status, "fail") == 0)
			printf("  FAIL %s (%s): %s\n", v.rules[i].rule, v.rules[i].severity,
			       v.rules[i].detail);
	printf("measured boot: %s", v.measured_boot ? "yes" : "no");
	if (log_len)
		printf(" (%u events)", v.events);
	printf("\nsecure boot: %s (%s)\n", v.secure_boot, v.secure_boot_reason);
	if (v.firmware_version[0])
		printf("firmware: %s\n", v.firmware_version);
	if (v.kernel_cmdline[0])
		printf("kernel command line: %s\n", v.kernel_cmdline);
	if (v.uefi_debug_mode)
		printf("UEFI debug mode: ON\n");
	printf("tpm: %s%s, firmware %08llx.%08llx\n",
	       view.tpm_manufacturer[0] ? view.tpm_manufacturer : "?",
	       view.virtual_tpm ? " (virtual)" : "",
	       (unsigned long long)(view.tpm_firmware_version >> 32),
	       (unsigned long long)(view.tpm_firmware_version & 0xffffffffu));
	printf("ak_name: %s\n", v.ak_name);
	printf("token: %s\n", v.token ? v.token : "");
	if (token_out && v.token && write_token(token_out, v.token) < 0) {
		fprintf(stderr, PROG ": cannot write the token to %s\n", token_out);
		rc = EXIT_INTERNAL;
		goto cleanup;
	}
	print_summary(&v, token_out);
	rc = v.compliant ? EXIT_COMPLIANT : EXIT_NON_COMPLIANT;
cleanup:
	tpa_verdict_clear(&v);
	free(log);
	free(req);
	free(resp);
	tpa_rpc_client_free(cl);
	tpa_tpm_close(tpm);
	return rc;
}

static int cmd_enroll(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verifier", required_argument, NULL, 'v' },
		{ "ca", required_argument, NULL, 'c' },
		{ "server-name", required_argument, NULL, 'n' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "tcti", required_argument, NULL, 't' },
		{ "ak-type", required_argument, NULL, 'k' },
		{ "ak-file", required_argument, NULL, 'a' },
		{ "ek", required_argument, NULL, 'K' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	tpa_rpc_client_opts co = { 0 };
	const char *tcti = TPA_TCTI_DEFAULT, *ak_file = NULL;
	tpa_ak_type ak_type = TPA_AK_ECC_P256;
	tpa_ek_type ek = TPA_EK_RSA_2048;
	unsigned timeout = DEFAULT_TIMEOUT_MS;
	int verbose = 0, ek_auto = 1, c, rc = EXIT_INTERNAL, err;
	tpa_rpc_client *cl = NULL;
	tpa_tpm *tpm = NULL;
	uint8_t akpub[TPA_PUBLIC_MAX];
	size_t akpub_len = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'v': co.target = optarg; break;
		case 'c': co.ca_file = optarg; break;
		case 'n': co.server_name = optarg; break;
		case 'I': co.insecure = 1; break;
		case 't': tcti = optarg; break;
		case 'a': ak_file = optarg; break;
		case 'V': verbose = 1; break;
		case 'k':
			if (parse_ak_type(&ak_type, optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'K':
			if (parse_ek(&ek_auto, &ek, optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'T':
			if (parse_timeout(&timeout, optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc || !co.target || (!co.insecure && !co.ca_file) ||
	    (co.insecure && co.ca_file)) {
		fprintf(stderr, PROG ": enroll needs --verifier and one of --ca or --insecure\n");
		return EXIT_USAGE;
	}
	if (!verbose && !getenv("TSS2_LOG"))
		setenv("TSS2_LOG", "all+none", 1);
	tpa_rpc_log_init(verbose);

	if ((rc = open_tpm_ak(&tpm, akpub, sizeof(akpub), &akpub_len, tcti, ak_type, ak_file,
			      ek_auto, ek, 1, NULL)) != 0)
		goto cleanup;
	if ((err = tpa_rpc_client_new(&cl, &co)) < 0) {
		rc = fail(err == TPA_ERR_IO || err == TPA_ERR_PARSE ? EXIT_USAGE : EXIT_INTERNAL,
			  "verifier");
		goto cleanup;
	}
	rc = enroll(tpm, cl, akpub, akpub_len, timeout);
cleanup:
	tpa_rpc_client_free(cl);
	tpa_tpm_close(tpm);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "attest") == 0)
		return cmd_attest(argc - 1, argv + 1);
	if (strcmp(argv[1], "enroll") == 0)
		return cmd_enroll(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, PROG ": unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
