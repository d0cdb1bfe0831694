/* SPDX-License-Identifier: BSD-3-Clause */
/* The service's handlers in process: malformed requests refused before any
 * rule runs (and the client's refusal of bad replies), then real quotes
 * from swtpm with live challenges, and event logs that replay or do not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <CUnit/Basic.h>

#include "attest/v1/attest.pb-c.h"
#include "logwriter.h"
#include "swtpm_fixture.h"
#include "testutil.h"
#include "tpa/admission.h"
#include "tpa/baseline.h"
#include "tpa/err.h"
#include "tpa/eventlog.h"
#include "tpa/evidence.h"
#include "tpa/identity.h"
#include "tpa/service.h"
#include "tpa/token.h"
#include "tpa/tpm.h"
#include "tpa/tpm_decode.h"
#include "tpa/version.h"

#include <tss2/tss2_mu.h>

/* The service under test and its signing key, made by each suite's init. */
static tpa_service *svc;
static tpa_token_key *tkey;

/* ---- the service refuses malformed requests ---- */

static void call_attest(tpa_rpc_reply *r, const ProtobufCMessage *m)
{
	uint8_t pb[8192];
	size_t n = protobuf_c_message_pack(m, pb);

	memset(r, 0, sizeof(*r));
	tpa_service_attest(r, pb, n, svc);
}

static void test_service_malformed(void)
{
	static const uint8_t junk[] = { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01 };
	tpa_rpc_reply r;

	memset(&r, 0, sizeof(r));
	tpa_service_attest(&r, junk, sizeof(junk), svc);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_INVALID_ARGUMENT);
	CU_ASSERT(strstr(r.details, "malformed AttestRequest") != NULL);
	memset(&r, 0, sizeof(r));
	tpa_service_get_challenge(&r, junk, sizeof(junk), svc);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_INVALID_ARGUMENT);
	CU_ASSERT_PTR_NULL(r.data);
}

/* A request that costs more to decode than its size allows: 32 768 empty
 * pcr_banks entries, two bytes each on the wire and a whole PcrBank struct
 * each in memory (more than 9 times the 64 KiB), refused before it is
 * decoded whole; a request of the same size that costs little is decoded. */
static void test_service_decode_cost(void)
{
	enum { N = 32768 };
	uint8_t *b = malloc(2 * N);
	tpa_rpc_reply r;
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (i = 0; i < N; i++) {
		b[2 * i] = 0x22;       /* field 4, length-delimited */
		b[2 * i + 1] = 0x00;   /* empty */
	}
	memset(&r, 0, sizeof(r));
	tpa_service_attest(&r, b, 2 * N, svc);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_RESOURCE_EXHAUSTED);
	CU_ASSERT(strstr(r.details, "AttestRequest of 65536 bytes would take more than") != NULL);
	CU_ASSERT_PTR_NULL(r.data);
	/* 64 KiB as one device_hint (field 5) costs its size: decoded, and
	 * refused for what is missing. */
	memset(b, 'h', 2 * N);
	b[0] = 0x2a;
	b[1] = 0xfc;   /* 65532, a varint */
	b[2] = 0xff;
	b[3] = 0x03;
	memset(&r, 0, sizeof(r));
	tpa_service_attest(&r, b, 2 * N, svc);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_INVALID_ARGUMENT);
	CU_ASSERT_STRING_EQUAL(r.details, "challenge_id missing");
	free(b);
}

static void test_service_missing_fields(void)
{
	Attest__V1__AttestRequest req = ATTEST__V1__ATTEST_REQUEST__INIT;
	Attest__V1__Quote q = ATTEST__V1__QUOTE__INIT;
	Attest__V1__PcrBank bank = ATTEST__V1__PCR_BANK__INIT, *bp = &bank;
	Attest__V1__PcrValue pv = ATTEST__V1__PCR_VALUE__INIT, *pvp = &pv;
	uint8_t bytes[64] = { 1 }, big[TPA_ATTEST_MAX + 1];
	char hint[TPA_DEVICE_HINT_MAX + 2];
	tpa_rpc_reply r;

	call_attest(&r, &req.base);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_INVALID_ARGUMENT);
	CU_ASSERT_STRING_EQUAL(r.details, "challenge_id missing");

	req.challenge_id = "00112233445566778899aabbccddeeff";
	call_attest(&r, &req.base);
	CU_ASSERT_STRING_EQUAL(r.details, "quote.attest missing");

	req.quote = &q;
	q.attest.data = bytes;
	q.attest.len = 10;
	call_attest(&r, &req.base);
	CU_ASSERT_STRING_EQUAL(r.details, "quote.signature missing");

	q.signature.data = bytes;
	q.signature.len = 10;
	call_attest(&r, &req.base);
	CU_ASSERT_STRING_EQUAL(r.details, "ak_public missing");

	req.ak_public.data = bytes;
	req.ak_public.len = 10;
	call_attest(&r, &req.base);
	CU_ASSERT_STRING_EQUAL(r.details, "pcr_banks missing");

	req.n_pcr_banks = 1;
	req.pcr_banks = &bp;
	bank.hash_alg = TPM2_ALG_SHA256;
	call_attest(&r, &req.base);
	CU_ASSERT(strstr(r.details, "0 PCRs") != NULL);

	bank.n_pcrs = 1;
	bank.pcrs = &pvp;
	pv.index = 0xFFFFFFFFu;
	pv.digest.data = bytes;
	pv.digest.len = 32;
	call_attest(&r, &req.base);
	CU_ASSERT(strstr(r.details, "out of range") != NULL);

	pv.index = 3;
	pv.digest.len = 20;
	call_attest(&r, &req.base);
	CU_ASSERT(strstr(r.details, "expected 32") != NULL);

	pv.digest.len = 32;
	bank.hash_alg = 0x10000B;
	call_attest(&r, &req.base);
	CU_ASSERT(strstr(r.details, "hash_alg") != NULL);

	bank.hash_alg = TPM2_ALG_SHA256;
	memset(hint, 'h', sizeof(hint) - 1);
	hint[sizeof(hint) - 1] = '\0';
	req.device_hint = hint;
	call_attest(&r, &req.base);
	CU_ASSERT(strstr(r.details, "device_hint") != NULL);

	req.device_hint = NULL;
	memset(big, 0, sizeof(big));
	q.attest.data = big;
	q.attest.len = sizeof(big);
	call_attest(&r, &req.base);
	CU_ASSERT(strstr(r.details, "quote: attest") != NULL);

	/* Well-formed but garbage evidence: a verdict, not an RPC error. */
	q.attest.data = bytes;
	q.attest.len = 10;
	call_attest(&r, &req.base);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_OK);
	{
		tpa_verdict_reply v;

		CU_ASSERT_EQUAL(tpa_verdict_reply_unpack(&v, r.data, r.len), 0);
		CU_ASSERT_FALSE(v.compliant);
		CU_ASSERT_EQUAL(test_check_passed(&v.findings, "challenge"), 0);
		CU_ASSERT_EQUAL(test_check_passed(&v.findings, "quote.structure"), 0);
		CU_ASSERT_EQUAL(test_check_passed(&v.findings, "ak.public"), 0);
		CU_ASSERT_EQUAL(test_check_passed(&v.findings, "quote.signature"), 0);
		tpa_verdict_reply_clear(&v);
	}
	free(r.data);
}

static int requests_init(void)
{
	tpa_service_opts o = { 0 };

	if (tpa_token_key_new(&tkey) < 0)
		return -1;
	o.key = tkey;
	return tpa_service_new(&svc, &o);
}

static int requests_clean(void)
{
	tpa_service_free(svc);
	tpa_token_key_free(tkey);
	svc = NULL;
	tkey = NULL;
	return 0;
}

/* ---- the same rules through the service, with live challenges ---- */

static tpa_baseline *evidence_only; /* tests/data/baselines: judges no boot property */
static uint64_t fake_now;

static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static int service_init(void)
{
	tpa_service_opts o = { 0 };

	if (tpa_token_key_new(&tkey) < 0 ||
	    tpa_baseline_load_file(&evidence_only, "tests/data/baselines/evidence-only.json") < 0)
		return -1;
	o.key = tkey;
	o.baseline = evidence_only;
	o.nonce_ttl_ms = 60000;
	if (tpa_service_new(&svc, &o) < 0)
		return -1;
	fake_now = 1000000;
	tpa_sealer_set_clock(tpa_service_sealer(svc), fake_clock, NULL);
	return 0;
}

static void get_challenge(tpa_client_challenge *ch)
{
	tpa_rpc_reply r;

	memset(&r, 0, sizeof(r));
	tpa_service_get_challenge(&r, NULL, 0, svc);
	CU_ASSERT_EQUAL_FATAL(r.status, TPA_RPC_OK);
	CU_ASSERT_EQUAL_FATAL(tpa_challenge_unpack(ch, r.data, r.len), 0);
	CU_ASSERT_EQUAL(ch->nonce_len, 32);
	CU_ASSERT_EQUAL(ch->valid_for_ms, 60000);
	free(r.data);
}

/* Quotes for the challenge and sends it; returns the verdict. */
static void attest_with(tpa_verdict_reply *v, const tpa_client_challenge *ch, int *status,
			tpa_tpm *t, const tpa_attest_extras *extras)
{
	tpa_tpm_quote_result q;
	tpa_pcr_set pcrs;
	uint8_t akpub[TPA_PUBLIC_MAX], *req = NULL;
	size_t akpub_len, req_len;
	tpa_rpc_reply r;

	CU_ASSERT_EQUAL_FATAL(tpa_pcr_set_parse_selection(&pcrs, "sha256:0-9"), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_tpm_ak_public(t, akpub, sizeof(akpub), &akpub_len), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_tpm_quote(&q, t, &pcrs, ch->nonce, ch->nonce_len), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_attest_request_pack(&req, &req_len, ch->id, &q, akpub,
						      akpub_len, &pcrs, extras), 0);
	memset(&r, 0, sizeof(r));
	tpa_service_attest(&r, req, req_len, svc);
	free(req);
	*status = r.status;
	memset(v, 0, sizeof(*v));
	if (r.status == TPA_RPC_OK)
		CU_ASSERT_EQUAL(tpa_verdict_reply_unpack(v, r.data, r.len), 0);
	free(r.data);
}

/* Each swtpm suite's own swtpm, fresh, with an ECC AK. */
static swtpm_fixture tpm_fx;
static tpa_tpm *tpm;

static void attest(tpa_verdict_reply *v, const tpa_client_challenge *ch, int *status)
{
	tpa_attest_extras extras = { .hint = "unit" };

	attest_with(v, ch, status, tpm, &extras);
}

static int service_clean(void);

static int tpm_suite_init(void)
{
	if (service_init() < 0 || swtpm_fixture_start(&tpm_fx) < 0 ||
	    tpa_tpm_open(&tpm, tpm_fx.tcti) < 0 ||
	    tpa_tpm_ak_load(tpm, TPA_AK_ECC_P256, NULL) < 0) {
		fprintf(stderr, "tpm: %s\n", tpa_err_last());
		return -1;
	}
	return 0;
}

static int tpm_suite_clean(void)
{
	tpa_tpm_close(tpm);
	tpm = NULL;
	swtpm_fixture_stop(&tpm_fx);
	return service_clean();
}

/* ---- event logs through the service ---- */

static buf good_log;

/* Logs an event and extends the same digest into the TPM. */
static int measure(buf *w, uint32_t pcr, uint32_t type, const void *data, uint32_t len)
{
	uint8_t d[32];

	lw_event2(w, pcr, type, data, len, NULL, 0);
	return tpa_hash(d, TPM2_ALG_SHA256, data, len) < 0 ||
	       tpa_tpm_pcr_extend(tpm, pcr, TPM2_ALG_SHA256, d, 32) < 0 ? -1 : 0;
}

static int log_suite_init(void)
{
	static const uint8_t sep[4] = { 0 }, on = 1;
	uint8_t var[64];
	size_t vn = lw_secureboot_var(var, &on, 1);
	uint32_t p;

	if (tpm_suite_init() < 0)
		return -1;
	memset(&good_log, 0, sizeof(good_log));
	lw_spec_id(&good_log, lw_sha256_only, lw_size32, 1, 2);
	if (measure(&good_log, 0, TPA_EV_S_CRTM_VERSION, "1\0.\0" "0\0\0\0", 8) < 0 ||
	    measure(&good_log, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, var, (uint32_t)vn) < 0)
		return -1;
	/* A whole boot: a separator on each of PCRs 0-7. */
	for (p = 0; p < 8; p++)
		if (measure(&good_log, p, TPA_EV_SEPARATOR, sep, 4) < 0)
			return -1;
	if (measure(&good_log, 4, TPA_EV_EFI_BOOT_SERVICES_APPLICATION, "grub", 4) < 0 ||
	    measure(&good_log, 5, TPA_EV_EFI_ACTION, "Exit Boot Services Invocation", 29) < 0)
		return -1;
	return 0;
}

static void attest_log(tpa_verdict_reply *v, const buf *log, const tpa_client_view *view)
{
	tpa_attest_extras extras = { .hint = "unit-log" };
	tpa_client_challenge ch;
	int st;

	extras.event_log = log->b;
	extras.event_log_len = log->n;
	extras.view = view;
	get_challenge(&ch);
	attest_with(v, &ch, &st, tpm, &extras);
	CU_ASSERT_EQUAL(st, TPA_RPC_OK);
}

static void test_log_good(void)
{
	tpa_verdict_reply v;

	attest_log(&v, &good_log, NULL);
	CU_ASSERT_TRUE(v.compliant);
	CU_ASSERT_TRUE(v.measured_boot);
	CU_ASSERT_STRING_EQUAL(v.secure_boot, "enabled");
	CU_ASSERT_EQUAL(v.events, 13);
	CU_ASSERT_EQUAL(test_check_passed(&v.findings, "eventlog.replay"), 1);
	tpa_verdict_reply_clear(&v);
}

static void test_log_extra_event(void)
{
	buf w = good_log;
	tpa_verdict_reply v;

	/* An event the TPM never saw: the log no longer replays. */
	lw_event2(&w, 4, TPA_EV_EFI_BOOT_SERVICES_APPLICATION, "rootkit", 7, NULL, 0);
	attest_log(&v, &w, NULL);
	CU_ASSERT_FALSE(v.compliant);
	CU_ASSERT_FALSE(v.measured_boot);
	CU_ASSERT_EQUAL(test_check_passed(&v.findings, "eventlog.replay"), 0);
	CU_ASSERT(strstr(test_check_detail(&v.findings, "eventlog.replay"), "PCR 4") != NULL);
	CU_ASSERT(strstr(test_check_detail(&v.findings, "eventlog.replay"), "#13") != NULL);
	CU_ASSERT_STRING_EQUAL(v.secure_boot, "unknown");
	tpa_verdict_reply_clear(&v);
}

static void test_log_edited(void)
{
	buf w = good_log;
	tpa_verdict_reply v;
	size_t i;

	/* Secure Boot's value edited in the log after the boot: the digests
	 * (and so the replay) still match, the data no longer does. */
	for (i = 0; i + 20 < w.n; i++)
		if (memcmp(w.b + i, "S\0e\0c\0u\0r\0e\0B\0o\0o\0t\0", 20) == 0)
			break;
	CU_ASSERT_FATAL(i + 20 < w.n);
	w.b[i + 20] = 0; /* the value byte follows the name */
	attest_log(&v, &w, NULL);
	CU_ASSERT_FALSE(v.compliant);
	CU_ASSERT_EQUAL(test_check_passed(&v.findings, "eventlog.replay"), 1);
	CU_ASSERT_EQUAL(test_check_passed(&v.findings, "eventlog.digests"), 0);
	CU_ASSERT_STRING_EQUAL(v.secure_boot, "unknown");
	tpa_verdict_reply_clear(&v);
}

static void test_log_malformed(void)
{
	buf w = good_log;
	tpa_verdict_reply v;

	w.n -= 3; /* truncated */
	attest_log(&v, &w, NULL);
	CU_ASSERT_FALSE(v.compliant);
	CU_ASSERT_EQUAL(test_check_passed(&v.findings, "eventlog.parse"), 0);
	CU_ASSERT(strstr(test_check_detail(&v.findings, "eventlog.parse"), "offset") != NULL);
	CU_ASSERT_FALSE(v.measured_boot);
	tpa_verdict_reply_clear(&v);
}

static void test_log_client_disagrees(void)
{
	tpa_client_view view;
	tpa_verdict_reply v;

	memset(&view, 0, sizeof(view));
	view.secure_boot = TPA_TRI_OFF;
	attest_log(&v, &good_log, &view);
	CU_ASSERT_FALSE(v.compliant);
	CU_ASSERT_EQUAL(test_check_passed(&v.findings, "client.secure_boot"), 0);
	CU_ASSERT(strstr(test_check_detail(&v.findings, "client.secure_boot"), "reports Secure Boot disabled") != NULL);
	/* The log decides, not the client. */
	CU_ASSERT_STRING_EQUAL(v.secure_boot, "enabled");
	tpa_verdict_reply_clear(&v);

	view.secure_boot = TPA_TRI_ON;
	attest_log(&v, &good_log, &view);
	CU_ASSERT_TRUE(v.compliant);
	CU_ASSERT_EQUAL(test_check_passed(&v.findings, "client.secure_boot"), 1);
	tpa_verdict_reply_clear(&v);
}

static void test_log_without_valid_quote(void)
{
	tpa_attest_extras extras = { .hint = "unit-log" };
	tpa_client_challenge a, b;
	tpa_verdict_reply v;
	int st;

	/* A good log with a quote of another challenge's nonce: the PCR
	 * values are nobody's word, so the log proves nothing. */
	extras.event_log = good_log.b;
	extras.event_log_len = good_log.n;
	get_challenge(&a);
	get_challenge(&b);
	memcpy(a.id, b.id, sizeof(a.id));
	attest_with(&v, &a, &st, tpm, &extras);
	CU_ASSERT_EQUAL(st, TPA_RPC_OK);
	CU_ASSERT_FALSE(v.compliant);
	CU_ASSERT_FALSE(v.measured_boot);
	CU_ASSERT_STRING_EQUAL(v.secure_boot, "unknown");
	CU_ASSERT(strstr(v.secure_boot_reason, "did not verify") != NULL);
	tpa_verdict_reply_clear(&v);
}


static void test_service_compliant(void)
{
	tpa_client_challenge ch;
	tpa_verdict_reply v;
	char *jwk = NULL, *claims = NULL;
	int st;

	get_challenge(&ch);
	attest(&v, &ch, &st);
	CU_ASSERT_EQUAL(st, TPA_RPC_OK);
	CU_ASSERT_TRUE(v.compliant);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v.token);
	CU_ASSERT_EQUAL(tpa_token_key_public_jwk(&jwk, tkey), 0);
	CU_ASSERT_EQUAL(tpa_token_verify(&claims, jwk, v.token, (int64_t)time(NULL)), 0);
	/* No registry: the AK is unbound, so no better than a warning. */
	CU_ASSERT(claims && strstr(claims, "\"ear.status\":\"warning\"") &&
		  strstr(claims, "\"tpa.outcome\":\"compliant\""));
	CU_ASSERT_STRING_EQUAL(v.outcome, "compliant");
	CU_ASSERT_STRING_EQUAL(v.baseline, "evidence-only");
	CU_ASSERT_EQUAL(v.nrules, TPA_RULE_COUNT);
	free(jwk);
	free(claims);
	tpa_verdict_reply_clear(&v);
}

/* A verifier with no baseline for the device: every check passes, and the
 * verdict is still not compliant ("no-baseline"), never a silent pass. */
static void test_service_no_baseline(void)
{
	tpa_service *bare = NULL, *keep = svc;
	tpa_service_opts o = { 0 };
	tpa_client_challenge ch;
	tpa_verdict_reply v;
	int st;

	o.key = tkey;
	CU_ASSERT_EQUAL_FATAL(tpa_service_new(&bare, &o), 0);
	svc = bare;
	get_challenge(&ch);
	attest(&v, &ch, &st);
	svc = keep;
	CU_ASSERT_EQUAL(st, TPA_RPC_OK);
	CU_ASSERT_FALSE(v.compliant);
	CU_ASSERT_EQUAL(tpa_findings_failed(&v.findings), 0);
	CU_ASSERT_STRING_EQUAL(v.outcome, "no-baseline");
	CU_ASSERT_EQUAL(v.nrules, 0);
	tpa_verdict_reply_clear(&v);
	tpa_service_free(bare);
}

static void test_service_reused_nonce(void)
{
	tpa_client_challenge ch;
	tpa_verdict_reply v;
	tpa_service_stats a, b;
	int st;

	tpa_service_stats_get(&a, svc);
	get_challenge(&ch);
	attest(&v, &ch, &st);
	CU_ASSERT_TRUE(v.compliant);
	tpa_verdict_reply_clear(&v);
	/* The challenge was used up by evidence that verified: the same
	 * challenge again is refused, with no verdict. */
	attest(&v, &ch, &st);
	CU_ASSERT_EQUAL(st, TPA_RPC_FAILED_PRECONDITION);
	CU_ASSERT_FALSE(v.compliant);
	/* ... and counted as a replay. */
	tpa_service_stats_get(&b, svc);
	CU_ASSERT_EQUAL(b.challenges, a.challenges + 1);
	CU_ASSERT_EQUAL(b.verdicts, a.verdicts + 1);
	CU_ASSERT_EQUAL(b.refused, a.refused + 1);
	CU_ASSERT_EQUAL(b.replays, a.replays + 1);
	CU_ASSERT_EQUAL(b.unverified, a.unverified);
}

static void test_service_expired_nonce(void)
{
	tpa_client_challenge ch;
	tpa_verdict_reply v;
	const tpa_check *c;
	int st;

	get_challenge(&ch);
	fake_now += 60000; /* exactly the lifetime: expired */
	attest(&v, &ch, &st);
	CU_ASSERT_FALSE(v.compliant);
	c = tpa_findings_find(&v.findings, "challenge");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT(strstr(c->detail, "expired") != NULL);
	tpa_verdict_reply_clear(&v);

	get_challenge(&ch);
	fake_now += 59999; /* one millisecond before expiry: still good */
	attest(&v, &ch, &st);
	CU_ASSERT_TRUE(v.compliant);
	tpa_verdict_reply_clear(&v);
}

static void test_service_unknown_challenge(void)
{
	tpa_client_challenge ch;
	tpa_verdict_reply v;
	tpa_service_stats a, b;
	int st;

	tpa_service_stats_get(&a, svc);
	get_challenge(&ch);
	ch.id[40] = ch.id[40] == 'a' ? 'b' : 'a'; /* a nonce byte: under the seal */
	attest(&v, &ch, &st);
	CU_ASSERT_FALSE(v.compliant);
	CU_ASSERT(strstr(test_check_detail(&v.findings, "challenge"), "seal is not this verifier's") != NULL);
	tpa_verdict_reply_clear(&v);
	/* A verdict, counted as unverified evidence, never recorded. */
	tpa_service_stats_get(&b, svc);
	CU_ASSERT_EQUAL(b.verdicts, a.verdicts + 1);
	CU_ASSERT_EQUAL(b.unverified, a.unverified + 1);
	CU_ASSERT_EQUAL(b.recorded, a.recorded);
}

/* ---- metrics: what the counters say after real attestations ---- */

/* The value of a sample line ("name{labels}" exactly), -1 if absent. */
static double metric(const char *text, const char *sample)
{
	size_t n = strlen(sample);
	const char *p;

	for (p = text; (p = strstr(p, sample)); p += n)
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

static void test_service_metrics(void)
{
	tpa_client_challenge ch;
	tpa_verdict_reply v;
	char *a = NULL, *b = NULL, want[256];
	int st;

	CU_ASSERT_EQUAL_FATAL(tpa_service_metrics_text(svc, &a), 0);
	get_challenge(&ch);
	attest(&v, &ch, &st);                   /* compliant */
	CU_ASSERT_TRUE(v.compliant);
	tpa_verdict_reply_clear(&v);
	attest(&v, &ch, &st);                   /* the same challenge: refused */
	CU_ASSERT_EQUAL(st, TPA_RPC_FAILED_PRECONDITION);
	tpa_verdict_reply_clear(&v);
	get_challenge(&ch);
	ch.id[40] = ch.id[40] == 'a' ? 'b' : 'a'; /* not this verifier's: non-compliant */
	attest(&v, &ch, &st);
	CU_ASSERT_FALSE(v.compliant);
	tpa_verdict_reply_clear(&v);
	CU_ASSERT_EQUAL_FATAL(tpa_service_metrics_text(svc, &b), 0);

#define DELTA(sample) (metric(b, sample) - metric(a, sample))
	CU_ASSERT_EQUAL(DELTA("tpa_attestations_total{outcome=\"compliant\"}"), 1);
	CU_ASSERT_EQUAL(DELTA("tpa_attestations_total{outcome=\"refused\"}"), 1);
	CU_ASSERT_EQUAL(DELTA("tpa_attestations_total{outcome=\"non-compliant\"}"), 1);
	CU_ASSERT_EQUAL(DELTA("tpa_attestations_total{outcome=\"warning\"}"), 0);
	CU_ASSERT_EQUAL(DELTA("tpa_challenges_issued_total"), 2);
#undef DELTA
	/* The failed check is named; the series appears at its first failure. */
	CU_ASSERT(metric(b, "tpa_attestation_failed_checks_total{check=\"challenge\"}") -
		  (metric(a, "tpa_attestation_failed_checks_total{check=\"challenge\"}") < 0 ? 0 :
		   metric(a, "tpa_attestation_failed_checks_total{check=\"challenge\"}")) == 1);
	snprintf(want, sizeof(want), "tpa_build_info{version=\"%s\"}", TPA_VERSION);
	CU_ASSERT_EQUAL(metric(b, want), 1);
	snprintf(want, sizeof(want), "tpa_token_signing_key_info{kid=\"%s\"}",
		 tpa_token_key_id(tkey));
	CU_ASSERT_EQUAL(metric(b, want), 1);
	/* Without a registry there are no device gauges to give. */
	CU_ASSERT_EQUAL(metric(b, "tpa_devices{state=\"active\"}"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(b, "# TYPE tpa_rpc_request_duration_seconds histogram\n"));
	free(a);
	free(b);
	CU_ASSERT_EQUAL(tpa_service_metrics_text(NULL, &a), TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(a);
	/* With a key set: the signer's id, and its age from the set. */
	{
		char dir[] = "/tmp/tpa-svc-keys-XXXXXX", path[64];
		tpa_service_opts o = { 0 };
		tpa_token_keyset *ks = NULL;
		tpa_service *ksvc = NULL;
		double age;

		CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
		snprintf(path, sizeof(path), "%s/keys.json", dir);
		CU_ASSERT_EQUAL_FATAL(tpa_token_keyset_load(&ks, path, 3600), 0);
		o.keyset = ks;
		CU_ASSERT_EQUAL_FATAL(tpa_service_new(&ksvc, &o), 0);
		CU_ASSERT_EQUAL_FATAL(tpa_service_metrics_text(ksvc, &a), 0);
		snprintf(want, sizeof(want), "tpa_token_signing_key_info{kid=\"%s\"}",
			 tpa_token_key_id(tpa_token_keyset_signer(ks, (int64_t)time(NULL))));
		CU_ASSERT_EQUAL(metric(a, want), 1);
		age = metric(a, "tpa_token_signing_key_age_seconds");
		CU_ASSERT(age >= 0 && age < 60);
		free(a);
		tpa_service_free(ksvc);
		tpa_token_keyset_free(ks);
		unlink(path);
		rmdir(dir);
	}
}

/* Through a real gRPC server on loopback: the calls are counted by method and
 * status and timed where the server calls the handlers. */
static void test_service_rpc_metrics(void)
{
	tpa_rpc_server_opts so = { 0 };
	tpa_rpc_client_opts co = { 0 };
	tpa_rpc_server *srv = NULL;
	tpa_rpc_client *c = NULL;
	uint8_t *resp = NULL, junk[3] = { 0xff, 0xff, 0xff };
	char target[64], *a = NULL, *b = NULL;
	size_t n = 0;
	int port = 0, st = -1;

	so.listen = "127.0.0.1:0";
	so.insecure = 1;
	so.workers = 2;
	so.max_message = 65536;
	CU_ASSERT_EQUAL_FATAL(tpa_rpc_server_new(&srv, &so), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_service_register(svc, srv), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_rpc_server_start(srv, &port), 0);
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	co.target = target;
	co.insecure = 1;
	CU_ASSERT_EQUAL_FATAL(tpa_rpc_client_new(&c, &co), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_service_metrics_text(svc, &a), 0);
	CU_ASSERT_EQUAL(tpa_rpc_client_call(&resp, &n, &st, c, TPA_RPC_GET_CHALLENGE, NULL, 0,
					    5000), 0);
	CU_ASSERT_EQUAL(st, TPA_RPC_OK);
	free(resp);
	resp = NULL;
	CU_ASSERT_NOT_EQUAL(tpa_rpc_client_call(&resp, &n, &st, c, TPA_RPC_ATTEST, junk,
						sizeof(junk), 5000), 0);
	CU_ASSERT_EQUAL(st, TPA_RPC_INVALID_ARGUMENT);
	free(resp);
	CU_ASSERT_EQUAL_FATAL(tpa_service_metrics_text(svc, &b), 0);
#define DELTA(sample) (metric(b, sample) - (metric(a, sample) < 0 ? 0 : metric(a, sample)))
	CU_ASSERT_EQUAL(DELTA("tpa_rpc_requests_total{method=\"GetChallenge\",code=\"OK\"}"), 1);
	CU_ASSERT_EQUAL(DELTA("tpa_rpc_requests_total{method=\"Attest\","
			      "code=\"INVALID_ARGUMENT\"}"), 1);
	CU_ASSERT_EQUAL(DELTA("tpa_rpc_request_duration_seconds_count"
			      "{method=\"GetChallenge\"}"), 1);
	CU_ASSERT_EQUAL(DELTA("tpa_rpc_request_duration_seconds_bucket"
			      "{method=\"Attest\",le=\"+Inf\"}"), 1);
	CU_ASSERT_EQUAL(DELTA("tpa_attestations_total{outcome=\"refused\"}"), 1);
#undef DELTA
	free(a);
	free(b);
	tpa_rpc_client_free(c);
	tpa_rpc_server_free(srv);
}

static void test_service_nonce_of_other_challenge(void)
{
	tpa_client_challenge a, b;
	tpa_verdict_reply v;
	int st;

	/* Quote with challenge a's nonce but send b's id. */
	get_challenge(&a);
	get_challenge(&b);
	memcpy(a.id, b.id, sizeof(a.id));
	attest(&v, &a, &st);
	CU_ASSERT_FALSE(v.compliant);
	CU_ASSERT_EQUAL(test_check_passed(&v.findings, "challenge"), 1);
	CU_ASSERT_EQUAL(test_check_passed(&v.findings, "quote.nonce"), 0);
	tpa_verdict_reply_clear(&v);
}

static int service_clean(void)
{
	tpa_service_free(svc);
	tpa_token_key_free(tkey);
	tpa_baseline_free(evidence_only);
	return 0;
}


/* ---- admission: an EK without a certificate (issue 14, item 3) ----
 * The suite's swtpm enrolls sending no EK certificate, as a firmware TPM
 * that keeps none does, to a service with a registry: refused under open
 * admission, registered pending under approve, admitted under allowlist by
 * an inventory entry saying no_ek_cert; the tokens say so. */

static char adm_dir[] = "/tmp/tpa-service-adm-XXXXXX";
static char adm_db[300];
static tpa_store *adm_store;

static const char *const relying_parties[] = { "policy-engine" };

static int adm_suite_init(void)
{
	tpa_service_opts o = { 0 };
	char ca[512];

	if (!mkdtemp(adm_dir) || tpa_token_key_new(&tkey) < 0 ||
	    tpa_baseline_load_file(&evidence_only, "tests/data/baselines/evidence-only.json") < 0 ||
	    swtpm_fixture_start(&tpm_fx) < 0 || tpa_tpm_open(&tpm, tpm_fx.tcti) < 0 ||
	    tpa_tpm_ak_load(tpm, TPA_AK_ECC_P256, NULL) < 0) {
		fprintf(stderr, "admission suite: %s\n", tpa_err_last());
		return -1;
	}
	snprintf(adm_db, sizeof(adm_db), "%s/registry.db", adm_dir);
	snprintf(ca, sizeof(ca), "%s/ca/swtpm-localca-rootca-cert.pem", tpm_fx.dir);
	if (tpa_store_open_sqlite(&adm_store, adm_db) < 0)
		return -1;
	o.key = tkey;
	o.baseline = evidence_only;
	o.store = adm_store;
	o.ek_ca = ca;
	o.admission = TPA_ADMISSION_OPEN;
	o.relying_parties = relying_parties;
	o.nrelying_parties = 1;
	if (tpa_service_new(&svc, &o) < 0) {
		fprintf(stderr, "admission suite: %s\n", tpa_err_last());
		return -1;
	}
	return 0;
}

static int adm_suite_clean(void)
{
	tpa_tpm_close(tpm);
	tpm = NULL;
	swtpm_fixture_stop(&tpm_fx);
	service_clean();
	tpa_store_close(adm_store);
	test_registry_remove(adm_db, adm_dir);
	return 0;
}

/* Enroll and Activate with no EK certificate; the Activate status, its
 * details, and (when OK) the device id and whether it is pending. */
/* The swtpm's EK (no certificate) and AK, as an Enroll sends them. */
typedef struct {
	tpa_enroll_keys keys;
	uint8_t ekpub[TPA_PUBLIC_MAX], akpub[TPA_PUBLIC_MAX];
} enroll_keys;

/* Enroll of the swtpm's keys: the reply (r->data malloc'd). */
static void enroll_call(tpa_rpc_reply *r, enroll_keys *k)
{
	TPMT_PUBLIC ek;
	uint8_t *req = NULL;
	size_t req_len = 0;

	memset(k, 0, sizeof(*k));
	CU_ASSERT_EQUAL_FATAL(tpa_tpm_ek_public(tpm, &ek), 0);
	CU_ASSERT_EQUAL_FATAL(Tss2_MU_TPMT_PUBLIC_Marshal(&ek, k->ekpub, sizeof(k->ekpub),
							  &k->keys.ek_public_len),
			      TSS2_RC_SUCCESS);
	CU_ASSERT_EQUAL_FATAL(tpa_tpm_ak_public(tpm, k->akpub, sizeof(k->akpub),
						&k->keys.ak_public_len), 0);
	k->keys.ek_public = k->ekpub;
	k->keys.ek_cert_source = "none";
	k->keys.ak_public = k->akpub;
	CU_ASSERT_EQUAL_FATAL(tpa_enroll_request_pack(&req, &req_len, &k->keys, NULL, NULL, 0, 0),
			      0);
	memset(r, 0, sizeof(*r));
	tpa_service_enroll(r, req, req_len, svc);
	free(req);
}

static int enroll_without_cert(char *details, size_t cap, char *device_id, int *pending)
{
	enroll_keys k;
	tpa_enroll_keys keys;
	tpa_enrollment en;
	tpa_rpc_reply r;
	uint8_t cred[64], *req = NULL;
	size_t req_len = 0, cred_len = sizeof(cred);
	char ak_name[140], admission[32];
	int status;

	*pending = -1;
	device_id[0] = '\0';
	enroll_call(&r, &k);
	keys = k.keys;
	/* Enroll itself decides nothing about admission. */
	CU_ASSERT_EQUAL_FATAL(r.status, TPA_RPC_OK);
	CU_ASSERT_EQUAL_FATAL(tpa_enroll_response_unpack(&en, r.data, r.len), 0);
	free(r.data);
	CU_ASSERT_EQUAL_FATAL(tpa_tpm_activate_credential(cred, &cred_len, tpm, en.blob,
							  en.blob_len, en.secret,
							  en.secret_len), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_activate_request_pack(&req, &req_len, en.id, cred, cred_len,
							&keys), 0);
	memset(&r, 0, sizeof(r));
	tpa_service_activate(&r, req, req_len, svc);
	free(req);
	status = r.status;
	snprintf(details, cap, "%s", r.details);
	if (status == TPA_RPC_OK) {
		CU_ASSERT_EQUAL(tpa_activate_response_unpack(device_id, TPA_DEVICE_ID_LEN + 1,
							     ak_name, sizeof(ak_name), r.data,
							     r.len), 0);
		CU_ASSERT_EQUAL(tpa_activate_response_admission(pending, admission,
								sizeof(admission), r.data,
								r.len), 0);
	}
	free(r.data);
	return status;
}

/* The claims of a fresh attestation's token (malloc'd), or NULL; *status
 * the Attest status. */
static char *attest_claims(int *status)
{
	tpa_client_challenge ch;
	tpa_verdict_reply v;
	char *jwk = NULL, *claims = NULL;

	get_challenge(&ch);
	attest(&v, &ch, status);
	if (*status == TPA_RPC_OK && v.token && tpa_token_key_public_jwk(&jwk, tkey) == 0)
		CU_ASSERT_EQUAL(tpa_token_verify(&claims, jwk, v.token, (int64_t)time(NULL)), 0);
	free(jwk);
	if (*status == TPA_RPC_OK)
		tpa_verdict_reply_clear(&v);
	return claims;
}

/* The device gauges from the registry, the registry's latency, and the whole
 * text read by an independent parser (Debian's python3-prometheus-client). */
static void registry_metrics(const char *dev)
{
	char *t = NULL, path[] = "/tmp/tpa-svc-metrics-XXXXXX", cmd[512];
	FILE *f;
	int fd;

	CU_ASSERT_EQUAL_FATAL(tpa_service_metrics_text(svc, &t), 0);
	CU_ASSERT_EQUAL(metric(t, "tpa_devices{state=\"active\"}"), 1);
	CU_ASSERT_EQUAL(metric(t, "tpa_devices{state=\"compliant\"}"), 1);
	CU_ASSERT_EQUAL(metric(t, "tpa_devices{state=\"revoked\"}"), 0);
	CU_ASSERT(metric(t, "tpa_enrollments_total{result=\"activated\"}") >= 1);
	CU_ASSERT(metric(t, "tpa_registry_operation_duration_seconds_count"
			    "{operation=\"record\"}") >= 1);
	CU_ASSERT(metric(t, "tpa_registry_operation_duration_seconds_count"
			    "{operation=\"find_by_ak\"}") >= 1);
	CU_ASSERT(metric(t, "tpa_registry_operation_duration_seconds_count"
			    "{operation=\"enroll\"}") >= 1);
	free(t);
	CU_ASSERT_EQUAL(tpa_store_set_state(adm_store, dev, TPA_DEVICE_REVOKED, time(NULL)), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_service_metrics_text(svc, &t), 0);
	CU_ASSERT_EQUAL(metric(t, "tpa_devices{state=\"active\"}"), 0);
	CU_ASSERT_EQUAL(metric(t, "tpa_devices{state=\"compliant\"}"), 0);
	CU_ASSERT_EQUAL(metric(t, "tpa_devices{state=\"revoked\"}"), 1);
	CU_ASSERT_FATAL((fd = mkstemp(path)) >= 0);
	CU_ASSERT_FATAL((f = fdopen(fd, "w")) != NULL);
	fputs(t, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -c \"import sys\n"
		 "from prometheus_client.parser import text_string_to_metric_families as p\n"
		 "v = {s.name + repr(sorted(s.labels.items())): s.value\n"
		 "     for f in p(open(sys.argv[1]).read()) for s in f.samples}\n"
		 "assert v[\\\"tpa_devices[('state', 'revoked')]\\\"] == 1, v\n"
		 "assert v[\\\"tpa_build_info[('version', '%s')]\\\"] == 1, v\n\" %s",
		 TPA_VERSION, path);
	CU_ASSERT_EQUAL(system(cmd), 0);
	unlink(path);
	free(t);
}

/* GetDeviceCompliance of dev by a peer: its status and details. */
static int compliance_as(tpa_rpc_reply *r, const char *dev, int authenticated, const char *cn,
			 int exact, int client_auth)
{
	Attest__V1__GetDeviceComplianceRequest req =
		ATTEST__V1__GET_DEVICE_COMPLIANCE_REQUEST__INIT;
	uint8_t pb[256];
	size_t n;

	req.device_id = (char *)dev;
	n = protobuf_c_message_pack(&req.base, pb);
	memset(r, 0, sizeof(*r));
	r->peer_authenticated = authenticated;
	snprintf(r->peer_cn, sizeof(r->peer_cn), "%s", cn);
	r->peer_cn_exact = exact;
	r->peer_client_auth = client_auth;
	tpa_service_compliance(r, pb, n, svc);
	free(r->data);
	r->data = NULL;
	return r->status;
}

/* Who may ask whether dev is compliant (over gRPC, and the HTTP face's
 * question): a client certificate, with the clientAuth EKU, whose CN is
 * an allowed relying party's whole and unaltered (a CN the transport cut
 * or changed to print it is no name). */
static void relying_parties_only(const char *dev)
{
	tpa_rpc_reply r;
	char why[256];

	CU_ASSERT_EQUAL(compliance_as(&r, dev, 1, "policy-engine", 1, 1), TPA_RPC_OK);
	CU_ASSERT_EQUAL(compliance_as(&r, dev, 0, "", 0, 0), TPA_RPC_PERMISSION_DENIED);
	CU_ASSERT(strstr(r.details, "needs a TLS client certificate") != NULL);
	CU_ASSERT_EQUAL(compliance_as(&r, dev, 1, "policy-engine", 1, 0),
			TPA_RPC_PERMISSION_DENIED);
	CU_ASSERT(strstr(r.details, "does not name the clientAuth extended key usage") != NULL);
	CU_ASSERT_EQUAL(compliance_as(&r, dev, 1, "policy-engine", 0, 1),
			TPA_RPC_PERMISSION_DENIED);
	CU_ASSERT(strstr(r.details, "\"policy-engine\" is not an allowed relying party") != NULL);
	CU_ASSERT_EQUAL(compliance_as(&r, dev, 1, "alice-laptop", 1, 1),
			TPA_RPC_PERMISSION_DENIED);
	CU_ASSERT(strstr(r.details, "\"alice-laptop\" is not an allowed relying party") != NULL);

	CU_ASSERT_EQUAL(tpa_service_relying_party(svc, "policy-engine", 1, 1, why, sizeof(why)), 1);
	CU_ASSERT_EQUAL(tpa_service_relying_party(svc, "policy-engine", 1, 0, why, sizeof(why)), 0);
	CU_ASSERT(strstr(why, "clientAuth") != NULL);
	CU_ASSERT_EQUAL(tpa_service_relying_party(svc, "policy-engine", 0, 1, why, sizeof(why)), 0);
	CU_ASSERT(strstr(why, "is not an allowed relying party") != NULL);
	CU_ASSERT_EQUAL(tpa_service_relying_party(svc, "alice-laptop", 1, 1, why, sizeof(why)), 0);
}

/* dev is revoked: its Enroll is refused before a credential is made, by
 * name (a new enrollment must not bring it back); deleted while revoked, the
 * registry forgets it but keeps its tombstone: refused still, saying so. */
static void revoked_refused(const char *dev)
{
	enroll_keys k;
	tpa_rpc_reply r;

	enroll_call(&r, &k);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_PERMISSION_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.details, "is revoked: an operator must reinstate it"));
	CU_ASSERT_PTR_NULL(strstr(r.details, "deleted while revoked"));
	CU_ASSERT_EQUAL(r.len, 0);
	free(r.data);

	CU_ASSERT_EQUAL(tpa_store_remove(adm_store, dev, (int64_t)time(NULL)), 0);
	CU_ASSERT_EQUAL(tpa_store_tombstoned(adm_store, dev), 1);
	enroll_call(&r, &k);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_PERMISSION_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.details, "is revoked (deleted while revoked): an operator "
					       "must reinstate it"));
	CU_ASSERT_EQUAL(r.len, 0);
	free(r.data);
}

static void test_admission_no_ek_cert(void)
{
	tpa_inventory_entry e;
	tpa_device d;
	char details[512], dev[TPA_DEVICE_ID_LEN + 1], *claims;
	int pending, st;

	/* open: refused by name, nothing registered. */
	CU_ASSERT_EQUAL(enroll_without_cert(details, sizeof(details), dev, &pending),
			TPA_RPC_PERMISSION_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(details, "the EK has no certificate: under open admission"));
	CU_ASSERT_PTR_NULL(strstr(details, adm_dir));
	{
		tpa_device *all = NULL;
		size_t n = 9;

		CU_ASSERT_EQUAL(tpa_store_list(&all, &n, adm_store), 0);
		CU_ASSERT_EQUAL(n, 0);
		free(all);
	}

	/* approve: registered pending; it cannot attest, so no token. */
	CU_ASSERT_EQUAL(tpa_service_set_admission(svc, TPA_ADMISSION_APPROVE), 0);
	CU_ASSERT_EQUAL(enroll_without_cert(details, sizeof(details), dev, &pending), TPA_RPC_OK);
	CU_ASSERT_EQUAL(pending, 1);
	CU_ASSERT_EQUAL_FATAL(tpa_store_get(&d, adm_store, dev), 0);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_PENDING);
	CU_ASSERT_STRING_EQUAL(d.ek_cert_source, "none");
	claims = attest_claims(&st);
	CU_ASSERT_EQUAL(st, TPA_RPC_FAILED_PRECONDITION);
	CU_ASSERT_PTR_NULL(claims);
	free(claims);
	/* Approved: it attests; its token says it was approved, its EK not
	 * certified. */
	CU_ASSERT_EQUAL(tpa_store_approve(adm_store, dev, (int64_t)time(NULL)), 0);
	claims = attest_claims(&st);
	CU_ASSERT_EQUAL(st, TPA_RPC_OK);
	CU_ASSERT(claims && strstr(claims, "\"tpa.admission\":\"approved\"") &&
		  strstr(claims, "\"tpa.ek_certified\":false"));
	free(claims);

	/* allowlist: a new device (the registry forgot it) with no entry is
	 * refused; an entry without no_ek_cert is not enough; with it, in. */
	CU_ASSERT_EQUAL(tpa_store_remove(adm_store, dev, (int64_t)time(NULL)), 0);
	CU_ASSERT_EQUAL(tpa_service_set_admission(svc, TPA_ADMISSION_ALLOWLIST), 0);
	CU_ASSERT_EQUAL(enroll_without_cert(details, sizeof(details), dev, &pending),
			TPA_RPC_PERMISSION_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(details, "EK not in the inventory (allowlist admission"));
	CU_ASSERT_EQUAL(tpa_store_get(&d, adm_store, dev), TPA_ERR_NOT_FOUND);
	memset(&e, 0, sizeof(e));
	snprintf(e.kind, sizeof(e.kind), "device");
	{
		TPMT_PUBLIC ek;

		CU_ASSERT_EQUAL_FATAL(tpa_tpm_ek_public(tpm, &ek), 0);
		CU_ASSERT_EQUAL_FATAL(tpa_ek_device_id(e.value, &ek), 0);
	}
	snprintf(e.name, sizeof(e.name), "fw tpm 3");
	snprintf(e.label, sizeof(e.label), "fw");
	CU_ASSERT_EQUAL(tpa_store_inventory_put(adm_store, &e, 1, 1), 0);
	CU_ASSERT_EQUAL(enroll_without_cert(details, sizeof(details), dev, &pending),
			TPA_RPC_PERMISSION_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(details, "does not say no_ek_cert"));
	e.no_ek_cert = 1;
	CU_ASSERT_EQUAL(tpa_store_inventory_put(adm_store, &e, 1, 2), 0);
	CU_ASSERT_EQUAL(enroll_without_cert(details, sizeof(details), dev, &pending), TPA_RPC_OK);
	CU_ASSERT_EQUAL(pending, 0);
	CU_ASSERT_STRING_EQUAL(dev, e.value);
	CU_ASSERT_EQUAL_FATAL(tpa_store_get(&d, adm_store, dev), 0);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_ACTIVE);
	CU_ASSERT_STRING_EQUAL(d.admission, "allowlist");
	CU_ASSERT_STRING_EQUAL(d.label, "fw");
	claims = attest_claims(&st);
	CU_ASSERT_EQUAL(st, TPA_RPC_OK);
	CU_ASSERT(claims && strstr(claims, "\"tpa.admission\":\"allowlist\"") &&
		  strstr(claims, "\"tpa.ek_certified\":false"));
	/* No vendor vouched for the TPM: no hardware claim. */
	CU_ASSERT(claims && strstr(claims, "\"hardware\":0"));
	free(claims);
	/* Approve and allowlist need a registry. */
	{
		tpa_service_opts o = { 0 };
		tpa_service *bare = NULL;

		o.key = tkey;
		o.admission = TPA_ADMISSION_APPROVE;
		CU_ASSERT_EQUAL(tpa_service_new(&bare, &o), TPA_ERR_INVALID_ARG);
		CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "approve admission needs a registry"));
		/* Staleness settings out of bounds, named. */
		o.admission = TPA_ADMISSION_OPEN;
		o.staleness.grace_s = TPA_STALE_MAX_S + 1;
		CU_ASSERT_EQUAL(tpa_service_new(&bare, &o), TPA_ERR_INVALID_ARG);
		CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "stale grace"));
		o.staleness.grace_s = 0;
		o.staleness.interval_s = TPA_STALE_MAX_S + 1;
		CU_ASSERT_EQUAL(tpa_service_new(&bare, &o), TPA_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(tpa_service_reload(svc, &o, NULL), TPA_ERR_INVALID_ARG);
		CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "attest interval"));
	}
	CU_ASSERT_EQUAL(tpa_service_set_admission(svc, (tpa_admission_mode)9), TPA_ERR_INVALID_ARG);
	relying_parties_only(dev);
	registry_metrics(dev);
	revoked_refused(dev);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	setenv("TSS2_LOG", "all+none", 1);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("service requests", requests_init, requests_clean);
	CU_add_test(s, "malformed protobuf", test_service_malformed);
	CU_add_test(s, "missing and oversized fields", test_service_missing_fields);
	CU_add_test(s, "a request that costs more to decode than its size allows",
		    test_service_decode_cost);
	s = CU_add_suite("service (swtpm, in process)", tpm_suite_init, tpm_suite_clean);
	CU_add_test(s, "no baseline: never compliant", test_service_no_baseline);
	CU_add_test(s, "compliant attestation with a valid token", test_service_compliant);
	CU_add_test(s, "reused nonce", test_service_reused_nonce);
	CU_add_test(s, "expired nonce", test_service_expired_nonce);
	CU_add_test(s, "unknown challenge", test_service_unknown_challenge);
	CU_add_test(s, "nonce of another challenge", test_service_nonce_of_other_challenge);
	CU_add_test(s, "metrics count what happened", test_service_metrics);
	CU_add_test(s, "metrics of gRPC calls over loopback", test_service_rpc_metrics);
	s = CU_add_suite("service with event logs (own swtpm)", log_suite_init, tpm_suite_clean);
	CU_add_test(s, "a log that replays: measured boot, Secure Boot on", test_log_good);
	CU_add_test(s, "an event the TPM never measured", test_log_extra_event);
	CU_add_test(s, "a log edited after the boot", test_log_edited);
	CU_add_test(s, "a truncated log", test_log_malformed);
	CU_add_test(s, "the client's view disagrees with the log", test_log_client_disagrees);
	CU_add_test(s, "a good log without a valid quote", test_log_without_valid_quote);
	s = CU_add_suite("admission: an EK without a certificate (own swtpm, registry)",
			 adm_suite_init, adm_suite_clean);
	CU_add_test(s, "refused open, pending approve, admitted by no_ek_cert; the claims say so; "
		    "relying parties only; revoked or deleted while revoked, refused at Enroll",
		    test_admission_no_ek_cert);
	failed = test_run_all();
	return failed ? 1 : 0;
}
