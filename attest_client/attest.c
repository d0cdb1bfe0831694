/* SPDX-License-Identifier: BSD-3-Clause */
/* attest_client's one attestation and its enrollment: the TPM, the calls to
 * the verifier, the token. Every failure becomes a tpa_exit status; the
 * message goes to stderr, or to the agent's log through attest_note. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjose/cjose.h>
#include <jansson.h>

#include "tpa/boot.h"
#include "tpa/err.h"
#include "tpa/eventlog.h"
#include "tpa/evidence.h"
#include "tpa/fileio.h"
#include "tpa/keybind.h"
#include "tpa/rpc.h"
#include "tpa/timefmt.h"
#include "tpa/token.h"
#include "tpa/tpm.h"

#include <tss2/tss2_mu.h>

#include "attest.h"
#include "view.h"

/* The exit status for a failed call to the verifier. */
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

attest_note_fn attest_note;
int attest_json;

/* The last failure's message, for --json's error object. */
static char last_error[1024];

const char *attest_error(void)
{
	return last_error[0] ? last_error : "failed";
}

/* What the last enrollment registered, for --json. */
static struct {
	int done;
	tpa_activation act;
	char ek[16];
	const char *cert_source;
	char admission[32];            /* "open", "approved", "allowlist", or
					* "pending approval" */
} enrolled;

/* Progress worth a line: the agent logs it, the commands print it. */
static void note(int error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(int error, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (error)
		snprintf(last_error, sizeof(last_error), "%s", msg);
	if (attest_note)
		attest_note(error, msg);
	else
		fprintf(stderr, PROG ": %s\n", msg);
}

static int fail(int code, const char *what)
{
	snprintf(last_error, sizeof(last_error), "%s: %s", what, tpa_err_last());
	/* The agent logs the attempt's error once, from the attempt. */
	if (!attest_note)
		fprintf(stderr, PROG ": %s: %s\n", what, tpa_err_last());
	return code;
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
	/* With no EK certificate in NV at all, the choice is fixed: RSA 2048,
	 * else (a TPM that cannot make one) ECC P-256; enrollment says that
	 * such an EK is admitted only by an operator. */
	if (ek_auto && tpa_tpm_ek_detect(*tpm, &ek) < 0) {
		tpa_err_clear();
		ek = tpa_tpm_set_ek(*tpm, TPA_EK_RSA_2048) == 0 ? TPA_EK_RSA_2048 :
			TPA_EK_ECC_P256;
	}
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

/* A client for the verifier; a bad --ca or address is the user's. */
static int open_verifier(tpa_rpc_client **cl, const settings *s)
{
	int err = tpa_rpc_client_new(cl, &s->co);

	if (err < 0)
		return fail(err == TPA_ERR_IO || err == TPA_ERR_PARSE ? TPA_EXIT_USAGE :
			    TPA_EXIT_INTERNAL, "verifier");
	return 0;
}

#define EK_INTERMEDIATES_MAX TPA_ENROLL_INTERMEDIATES_MAX

/* A value the verifier would refuse is left out and said once a process
 * (the agent collects on every attestation). */
static unsigned host_warned;

static void host_invalid(void *ctx, tpa_host_field f, const char *why)
{
	(void)ctx;
	if (host_warned & (1u << f))
		return;
	host_warned |= 1u << f;
	note(1, "host info: %s: not sent", why);
}

/* What names this host to a person, to send with the evidence (reported,
 * not attested); NULL with --no-host-info. */
static const tpa_host_info *host_collect(tpa_host_info *hi, const settings *s)
{
	if (s->no_host_info)
		return NULL;
	tpa_host_info_collect(hi, s->host_info_root, host_invalid, NULL);
	return hi;
}

/* Enrolls the loaded AK: the EK, its certificate and the intermediates the
 * TPM keeps go to the verifier, whose credential the TPM releases only to
 * this AK beside this EK. Prints the device id. An exit status. */
static int enroll(tpa_tpm *tpm, tpa_rpc_client *cl, const uint8_t *akpub, size_t akpub_len,
		  const char *ek_cert_file, unsigned timeout, int replace, const tpa_host_info *host)
{
	tpa_enroll_keys keys;
	TPMT_PUBLIC ek;
	tpa_enrollment en;
	uint8_t ekpub[TPA_PUBLIC_MAX], *cert = NULL, *req = NULL, *resp = NULL, cred[64];
	uint8_t *inter[EK_INTERMEDIATES_MAX] = { NULL };
	size_t inter_len[EK_INTERMEDIATES_MAX] = { 0 }, ninter = 0, i;
	size_t ekpub_len = 0, cert_len = 0, req_len = 0, resp_len = 0;
	size_t cred_len = sizeof(cred), off = 0;
	char device_id[80], ak_name[140], admission[32] = "";
	int rc, err, pending = 0;

	if (tpa_tpm_ek_public(tpm, &ek) < 0 ||
	    Tss2_MU_TPMT_PUBLIC_Marshal(&ek, ekpub, sizeof(ekpub), &off) != TSS2_RC_SUCCESS) {
		rc = fail(TPA_EXIT_TPM, "endorsement key");
		goto cleanup;
	}
	ekpub_len = off;
	if (ek_cert_file) {
		/* The user's file: a mistake in it is theirs, refused before it is sent. */
		if (tpa_ek_cert_file(&cert, &cert_len, ek_cert_file, &ek) < 0) {
			rc = fail(TPA_EXIT_USAGE, "--ek-cert");
			goto cleanup;
		}
	} else if ((err = tpa_tpm_ek_cert(tpm, &cert, &cert_len)) == TPA_ERR_NOT_FOUND) {
		/* Many firmware TPMs keep none: the EK goes without one, and only
		 * an operator can let it in (approve or allowlist admission). */
		note(0, "%s: the TPM has no EK certificate; enrolling without one: the verifier "
		     "admits it only if an operator does (--ek-cert FILE sends one)",
		     tpa_err_last());
		tpa_err_clear();
		cert = NULL;
		cert_len = 0;
	} else if (err < 0) {
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
	keys.ek_cert_source = ek_cert_file ? "file" : cert ? "nv" : "none";
	keys.ak_public = akpub;
	keys.ak_public_len = akpub_len;
	keys.host = host;
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
	if (tpa_activation_unpack(&enrolled.act, resp, resp_len) < 0 ||
	    tpa_activate_response_admission(&pending, admission, sizeof(admission), resp,
					    resp_len) < 0) {
		rc = fail(TPA_EXIT_PROTOCOL, "Activate");
		goto cleanup;
	}
	snprintf(device_id, sizeof(device_id), "%s", enrolled.act.device_id);
	snprintf(ak_name, sizeof(ak_name), "%s", enrolled.act.ak_name);
	snprintf(enrolled.ek, sizeof(enrolled.ek), "%s", tpa_ek_type_label(tpa_tpm_ek_type(tpm)));
	enrolled.cert_source = keys.ek_cert_source;
	snprintf(enrolled.admission, sizeof(enrolled.admission), "%s",
		 pending ? "pending approval" : admission[0] ? admission : "unknown");
	enrolled.done = 1;
	if (pending)
		note(0, "device %s is pending approval: it cannot attest until an operator "
		     "approves it (verifier devices approve %.16s)", device_id, device_id);
	if (attest_note)
		note(0, "enrolled: device %s, AK %s, EK %s", device_id, ak_name, enrolled.ek);
	else if (attest_json) /* stdout holds one JSON object: the command's */
		fprintf(stderr, PROG ": enrolled: device %s\n", device_id);
	else
		printf("enrolled: device %s\nak_name: %s\nek: %s\nadmission: %s\n", device_id,
		       ak_name, enrolled.ek,
		       pending ? "pending approval" : admission[0] ? admission : "unknown");
	rc = TPA_EXIT_OK;
cleanup:
	memset(cred, 0, sizeof(cred));
	for (i = 0; i < ninter; i++)
		free(inter[i]);
	free(resp);
	free(cert);
	return rc;
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

/* --json: the object on stdout, one line; a failure to build it is ours. */
static int json_print(json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

	json_decref(o);
	if (!text) {
		snprintf(last_error, sizeof(last_error), "cannot build the JSON output");
		fprintf(stderr, PROG ": %s\n", last_error);
		return TPA_EXIT_INTERNAL;
	}
	printf("%s\n", text);
	free(text);
	return 0;
}

void attest_print_error(const char *msg, int code)
{
	json_print(json_pack("{s:s, s:i}", "error", msg ? msg : attest_error(), "exit", code));
}

static json_t *json_enrolled(void)
{
	return json_pack("{s:s, s:s, s:I, s:s, s:s?, s:s, s:b}", "device_id",
			 enrolled.act.device_id, "ak_name", enrolled.act.ak_name, "aks",
			 (json_int_t)enrolled.act.aks, "ek", enrolled.ek, "ek_cert_source",
			 enrolled.cert_source, "admission", enrolled.admission, "pending",
			 strcmp(enrolled.admission, "pending approval") == 0);
}

/* A number the reply leaves unset (-1) is null. */
static json_t *json_index(int32_t v)
{
	return v < 0 ? json_null() : json_integer(v);
}

static json_t *json_rules(const tpa_verdict_reply *v)
{
	json_t *rules = json_array(), *r, *exp;
	size_t i, k;

	for (i = 0; rules && i < v->nrules; i++) {
		exp = json_array();
		for (k = 0; exp && k < v->rules[i].nexpected; k++)
			if (json_array_append_new(exp, json_string(v->rules[i].expected[k])) < 0) {
				json_decref(exp);
				exp = NULL;
			}
		r = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s?, s:o}", "rule", v->rules[i].rule,
			      "severity", v->rules[i].severity, "status", v->rules[i].status,
			      "event", json_index(v->rules[i].event), "pcr",
			      json_index(v->rules[i].pcr), "detail", v->rules[i].detail, "seen",
			      v->rules[i].seen, "expected", exp);
		if (json_array_append_new(rules, r) < 0) {
			json_decref(rules);
			return NULL;
		}
	}
	return rules;
}

/* attest --json: the verdict, every check and rule, both views of the
 * launch, the token and when it expires. */
static int print_verdict_json(const tpa_verdict_reply *v, const tpa_client_view *view,
			      const char *bound, const char *token_out)
{
	json_t *checks = json_array(), *o;
	char status[32], when[TPA_TIME_ISO_LEN + 1] = "", fw[20];
	long long exp;
	size_t i;

	token_read(v->token, status, sizeof(status), &exp, NULL, 0);
	if (exp)
		tpa_time_iso(when, sizeof(when), exp);
	for (i = 0; checks && i < v->findings.n; i++)
		if (json_array_append_new(checks, json_pack("{s:s, s:b, s:s}", "name",
							    v->findings.items[i].name, "passed",
							    v->findings.items[i].passed, "detail",
							    v->findings.items[i].detail)) < 0) {
			json_decref(checks);
			checks = NULL;
		}
	snprintf(fw, sizeof(fw), "%08llx.%08llx",
		 (unsigned long long)(view->tpm_firmware_version >> 32),
		 (unsigned long long)(view->tpm_firmware_version & 0xffffffffu));
	o = json_pack("{s:s, s:s, s:o, s:{s:b, s:i, s:s, s:s, s:s, s:s, s:b},"
		      " s:{s:s, s:b, s:s}, s:{s:s, s:s, s:i, s:o}, s:s, s:s?, s:o, s:s?, s:s?}",
		      "verdict", v->warning ? "warning" : v->compliant ? "compliant" :
		      "non-compliant",
		      "ear_status", status,
		      "checks", checks,
		      "trusted_launch",
		      "measured_boot", v->measured_boot, "events", (int)v->events,
		      "secure_boot", v->secure_boot, "secure_boot_reason", v->secure_boot_reason,
		      "firmware_version", v->firmware_version, "kernel_cmdline", v->kernel_cmdline,
		      "uefi_debug_mode", v->uefi_debug_mode,
		      "tpm", "manufacturer", view->tpm_manufacturer, "virtual", view->virtual_tpm,
		      "firmware_version", fw,
		      "appraisal", "outcome", v->outcome, "baseline", v->baseline,
		      "baseline_version", (int)v->baseline_version, "rules", json_rules(v),
		      "ak_name", v->ak_name,
		      "bound_key", bound,
		      "token_expires", when[0] ? json_string(when) : json_null(),
		      "token", v->token, "token_file", token_out);
	if (o && v->nhygiene) {
		json_t *h = json_object();
		size_t k;

		for (k = 0; h && k < v->nhygiene; k++)
			json_object_set_new(h, v->hygiene[k].name,
					    json_pack("{s:s,s:s}", "value", v->hygiene[k].value,
						      "reason", v->hygiene[k].reason));
		if (!h || json_object_set_new(json_object_get(o, "trusted_launch"),
					      "secure_boot_hygiene", h) < 0) {
			json_decref(o);
			o = NULL;
		}
	}
	if (o && enrolled.done && json_object_set_new(o, "enrolled", json_enrolled()) < 0) {
		json_decref(o);
		o = NULL;
	}
	return json_print(o);
}

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
	for (i = 0; i < v->nhygiene; i++)
		printf("secure boot hygiene: %s %s (%s)\n", v->hygiene[i].name, v->hygiene[i].value,
		       v->hygiene[i].reason);
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
	tpa_host_info hi;
	const tpa_host_info *host;
	char thumbprint[sizeof(((tpa_bound_key *)0)->thumbprint)] = "";
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
	host = host_collect(&hi, s);
	if ((rc = open_verifier(&cl, s)) != 0)
		goto done;
	/* A new AK (the old one refused by the TPM) is enrolled first; an AK
	 * the verifier does not know (its registry lost it, or the AK file is
	 * new) is enrolled and the attestation tried once more. A revoked
	 * device is refused with FAILED_PRECONDITION and stays refused. */
	/* The TPM refused the old AK: the new one replaces it. */
	if (renewed && (rc = enroll(tpm, cl, akpub, akpub_len, s->ek_cert_file, s->timeout, 1,
				    host)) != 0)
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
		extras.host = host;
		if (s->bind_key) {
			tpa_bound_key named;

			if (tpa_tpm_bind_key(&bound, tpm, s->bind_key, ch.nonce, ch.nonce_len) < 0) {
				rc = fail(TPA_EXIT_TPM, "bind key");
				goto done;
			}
			extras.bound_key = &bound;
			if (print && tpa_keybind_describe(&named, bound.key_public,
							  bound.key_public_len) == 0) {
				snprintf(thumbprint, sizeof(thumbprint), "%s", named.thumbprint);
				if (!attest_json)
					printf("bound_key: %s\n", named.thumbprint);
			}
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
			if ((rc = enroll(tpm, cl, akpub, akpub_len, s->ek_cert_file, s->timeout, 0,
					 host)) != 0)
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
		snprintf(last_error, sizeof(last_error), "cannot write the token to %s",
			 s->token_out);
		fprintf(stderr, PROG ": %s\n", last_error);
		rc = TPA_EXIT_INTERNAL;
		goto done;
	}
	rc = a->v.compliant ? TPA_EXIT_OK : TPA_EXIT_NO;
	if (print && attest_json) {
		if (print_verdict_json(&a->v, &view, thumbprint[0] ? thumbprint : NULL,
				       s->token_out) != 0)
			rc = TPA_EXIT_INTERNAL;
	} else if (print) {
		print_verdict(&a->v, &view, log_len, s->token_out);
	}
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

int attest_enroll(const settings *s)
{
	tpa_rpc_client *cl = NULL;
	tpa_tpm *tpm = NULL;
	uint8_t akpub[TPA_PUBLIC_MAX];
	size_t akpub_len = 0;
	tpa_host_info hi;
	int rc;

	if ((rc = open_tpm_ak(&tpm, akpub, sizeof(akpub), &akpub_len, s->tcti, s->ak_type,
			      s->ak_file, s->ek_auto, s->ek, 1, NULL)) != 0 ||
	    (rc = open_verifier(&cl, s)) != 0)
		goto cleanup;
	rc = enroll(tpm, cl, akpub, akpub_len, s->ek_cert_file, s->timeout, s->replace,
		    host_collect(&hi, s));
	if (rc == TPA_EXIT_OK && attest_json && json_print(json_enrolled()) != 0)
		rc = TPA_EXIT_INTERNAL;
cleanup:
	tpa_rpc_client_free(cl);
	tpa_tpm_close(tpm);
	return rc;
}
