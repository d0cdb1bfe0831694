/* SPDX-License-Identifier: BSD-3-Clause */
/* Outbound notifications from the service, with a real swtpm quoting and a
 * real SQLite registry: a device's first verdict and each change of its
 * outcome reach every notifier once; an unchanged outcome and evidence that
 * does not hold reach none; a failing notifier is logged and stops no
 * other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <tss2/tss2_mu.h>

#include "swtpm_fixture.h"
#include "testutil.h"
#include "tpa/baseline.h"
#include "tpa/err.h"
#include "tpa/evidence.h"
#include "tpa/notify.h"
#include "tpa/pcr.h"
#include "tpa/service.h"
#include "tpa/store.h"
#include "tpa/token.h"
#include "tpa/tpm.h"
#include "tpa/tpm_decode.h"

#define CHANGES_MAX 8

typedef struct {
	int fail;
	size_t n;
	struct {
		tpa_change_kind kind;
		char device[65], outcome[32], previous[32];
	} got[CHANGES_MAX];
} sink;

static swtpm_fixture fx;
static tpa_tpm *tpm;
static tpa_store *st;
static tpa_token_key *key;
static tpa_baseline *lenient, *strict;
static tpa_service *svc, *svc_strict;
static sink broken = { 1, 0, { { 0, "", "", "" } } }, good;
static tpa_notifier notifiers[2];
static char dir[] = "/tmp/tpa-notify-XXXXXX", path[256], device_id[65], log_lines[4096];

static int remember(void *ctx, const tpa_device_change *c)
{
	sink *k = ctx;

	if (k->n < CHANGES_MAX) {
		k->got[k->n].kind = c->kind;
		snprintf(k->got[k->n].device, sizeof(k->got[0].device), "%s", c->device_id);
		snprintf(k->got[k->n].outcome, sizeof(k->got[0].outcome), "%s", c->outcome);
		snprintf(k->got[k->n].previous, sizeof(k->got[0].previous), "%s", c->previous);
	}
	k->n++;
	return k->fail ? tpa_err_fail(TPA_ERR_IO, "the sink is down") : 0;
}

/* The service's records as the verifier writes them (logfmt, no time). */
static void log_line(void *ctx, const tpa_log_rec *rec)
{
	char line[TPA_LOG_LINE_MAX];

	(void)ctx;
	tpa_log_format_line(line, sizeof(line), rec, TPA_LOG_TEXT, 1, 0);
	if (strlen(log_lines) + strlen(line) + 1 < sizeof(log_lines))
		strncat(log_lines, line, sizeof(log_lines) - strlen(log_lines) - 1);
}

static int service_with(tpa_service **out, const tpa_baseline *b)
{
	tpa_service_opts o = { 0 };

	o.key = key;
	o.baseline = b;
	o.store = st;
	o.ek_ca = "tests/data/ekcerts/intel-tpm-ek-root.pem";
	o.nonce_ttl_ms = 60000;
	o.notifiers = notifiers;
	o.nnotifiers = 2;
	o.log = log_line;
	return tpa_service_new(out, &o);
}

static int suite_init(void)
{
	static const char strict_json[] =
		"{\"tpa_baseline\": 1, \"name\": \"strict\", \"bank\": \"sha256\","
		" \"required_pcrs\": [23], \"rules\": {}}";
	uint8_t akpub[TPA_PUBLIC_MAX], name[TPA_NAME_MAX];
	size_t akpub_len, name_len, off = 0;
	char name_hex[2 * TPA_NAME_MAX + 1];
	TPMT_PUBLIC pub = { 0 };
	const uint8_t ek[] = { 1, 2, 3 };

	if (!mkdtemp(dir) || swtpm_fixture_start(&fx) < 0 ||
	    tpa_tpm_open(&tpm, fx.tcti) < 0 || tpa_tpm_ak_load(tpm, TPA_AK_ECC_P256, NULL) < 0 ||
	    tpa_tpm_ak_public(tpm, akpub, sizeof(akpub), &akpub_len) < 0 ||
	    Tss2_MU_TPMT_PUBLIC_Unmarshal(akpub, akpub_len, &off, &pub) != TSS2_RC_SUCCESS ||
	    tpa_public_name(name, &name_len, &pub) < 0) {
		fprintf(stderr, "notify: %s\n", tpa_err_last());
		return -1;
	}
	tpa_hex(name_hex, name, name_len);
	memset(device_id, 'd', 64);
	snprintf(path, sizeof(path), "%s/registry.db", dir);
	notifiers[0] = (tpa_notifier){ "broken", remember, &broken };
	notifiers[1] = (tpa_notifier){ "good", remember, &good };
	if (tpa_store_open_sqlite(&st, path) < 0 ||
	    tpa_store_enroll(st, device_id, ek, sizeof(ek), NULL, 0, akpub, akpub_len, name_hex,
			     NULL, 0, 100) < 0 ||
	    tpa_token_key_new(&key) < 0 ||
	    tpa_baseline_load_file(&lenient, "tests/data/baselines/evidence-only.json") < 0 ||
	    tpa_baseline_parse(&strict, strict_json, sizeof(strict_json) - 1, "strict") < 0 ||
	    service_with(&svc, lenient) < 0 || service_with(&svc_strict, strict) < 0) {
		fprintf(stderr, "notify: %s\n", tpa_err_last());
		return -1;
	}
	return 0;
}

static int suite_clean(void)
{
	tpa_service_free(svc);
	tpa_service_free(svc_strict);
	tpa_baseline_free(lenient);
	tpa_baseline_free(strict);
	tpa_token_key_free(key);
	tpa_store_close(st);
	tpa_tpm_close(tpm);
	swtpm_fixture_stop(&fx);
	test_registry_remove(path, dir);
	return 0;
}

/* One attestation to s; the quote signs the challenge's nonce, or, with
 * wrong_nonce, another one. Returns the outcome the verdict says. */
static void attest(char *outcome, size_t cap, tpa_service *s, int wrong_nonce)
{
	tpa_client_challenge ch;
	tpa_tpm_quote_result q;
	tpa_verdict_reply v;
	tpa_pcr_set pcrs;
	uint8_t akpub[TPA_PUBLIC_MAX], *req = NULL;
	size_t akpub_len, req_len;
	tpa_rpc_reply r;

	memset(&r, 0, sizeof(r));
	tpa_service_get_challenge(&r, NULL, 0, s);
	CU_ASSERT_EQUAL_FATAL(r.status, TPA_RPC_OK);
	CU_ASSERT_EQUAL_FATAL(tpa_challenge_unpack(&ch, r.data, r.len), 0);
	free(r.data);
	if (wrong_nonce)
		ch.nonce[0] ^= 1;
	CU_ASSERT_EQUAL_FATAL(tpa_pcr_set_parse_selection(&pcrs, "sha256:0-9"), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_tpm_ak_public(tpm, akpub, sizeof(akpub), &akpub_len), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_tpm_quote(&q, tpm, &pcrs, ch.nonce, ch.nonce_len), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_attest_request_pack(&req, &req_len, ch.id, &q, akpub,
						      akpub_len, &pcrs, NULL), 0);
	memset(&r, 0, sizeof(r));
	tpa_service_attest(&r, req, req_len, s);
	free(req);
	CU_ASSERT_EQUAL_FATAL(r.status, TPA_RPC_OK);
	CU_ASSERT_EQUAL_FATAL(tpa_verdict_reply_unpack(&v, r.data, r.len), 0);
	free(r.data);
	snprintf(outcome, cap, "%s", v.outcome);
	tpa_verdict_reply_clear(&v);
}

static void expect_change(size_t i, const char *outcome, const char *previous)
{
	const sink *k[2] = { &broken, &good };
	int j;

	for (j = 0; j < 2; j++) {
		CU_ASSERT_EQUAL(k[j]->n, i + 1);
		if (k[j]->n != i + 1)
			continue;
		CU_ASSERT_EQUAL(k[j]->got[i].kind, TPA_CHANGE_OUTCOME);
		CU_ASSERT_STRING_EQUAL(k[j]->got[i].device, device_id);
		CU_ASSERT_STRING_EQUAL(k[j]->got[i].outcome, outcome);
		CU_ASSERT_STRING_EQUAL(k[j]->got[i].previous, previous);
	}
}

static void test_changes(void)
{
	char o[32];

	/* The first verdict is a change; the broken notifier's failure is
	 * logged, and the good one is still told. */
	attest(o, sizeof(o), svc, 0);
	CU_ASSERT_STRING_EQUAL(o, "compliant");
	expect_change(0, "compliant", "");
	CU_ASSERT(strstr(log_lines, "<4>level=warning msg=\"notify failed\" notifier=broken "
			 "error=\"the sink is down\"\n") != NULL);
	/* The same outcome again: nobody is told. */
	attest(o, sizeof(o), svc, 0);
	expect_change(0, "compliant", "");
	/* Another replica, with a baseline this boot fails. */
	attest(o, sizeof(o), svc_strict, 0);
	CU_ASSERT_STRING_EQUAL(o, "non-compliant");
	expect_change(1, "non-compliant", "compliant");
	attest(o, sizeof(o), svc_strict, 0);
	expect_change(1, "non-compliant", "compliant");
	/* Evidence that does not hold changes no record, and tells nobody. */
	attest(o, sizeof(o), svc, 1);
	CU_ASSERT_STRING_EQUAL(o, "not-appraised");
	expect_change(1, "non-compliant", "compliant");
	attest(o, sizeof(o), svc, 0);
	expect_change(2, "compliant", "non-compliant");
}

static void test_notify_all(void)
{
	tpa_device_change c = { TPA_CHANGE_OUTCOME, "x", "compliant", "", 1 };
	sink a = { 0, 0, { { 0, "", "", "" } } };
	tpa_notifier n[3] = { { "a", remember, &a }, { "none", NULL, NULL }, { NULL, remember, &a } };

	CU_ASSERT_EQUAL(tpa_notify_all(n, 3, &c, NULL, NULL), 0);
	CU_ASSERT_EQUAL(a.n, 2);
	a.fail = 1;
	CU_ASSERT_EQUAL(tpa_notify_all(n, 3, &c, NULL, NULL), 2);
	CU_ASSERT_EQUAL(tpa_notify_all(NULL, 3, &c, NULL, NULL), 0);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("notify (fan-out)", NULL, NULL);
	CU_add_test(s, "every notifier, failures counted", test_notify_all);
	s = CU_add_suite("notify from the service (swtpm, SQLite)", suite_init, suite_clean);
	CU_add_test(s, "first verdict and each change, once; nothing else", test_changes);
	return test_run_all() ? 1 : 0;
}
