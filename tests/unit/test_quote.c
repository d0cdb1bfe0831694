/* SPDX-License-Identifier: BSD-3-Clause */
/* Quote verification against real quotes from swtpm: the good quote passes
 * for every AK kind, and each rule has a negative test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>
#include <tss2/tss2_mu.h>

#include "attest/v1/attest.pb-c.h"
#include "logwriter.h"
#include "swtpm_fixture.h"
#include "testutil.h"
#include "tpa/baseline.h"
#include "tpa/err.h"
#include "tpa/eventlog.h"
#include "tpa/evidence.h"
#include "tpa/quote.h"
#include "tpa/service.h"
#include "tpa/token.h"
#include "tpa/tpm.h"

typedef struct {
	tpa_tpm_quote_result q;
	uint8_t akpub[TPA_PUBLIC_MAX];
	size_t akpub_len;
	tpa_pcr_set pcrs;
	uint8_t nonce[32];
} fixture;


/* A check's outcome (-1 if absent) and detail ("" if absent): a missing
 * check fails an assertion instead of crashing the runner. */
static int check_passed(const tpa_findings *f, const char *name)
{
	const tpa_check *c = tpa_findings_find(f, name);

	return c ? c->passed : -1;
}

static const char *check_detail(const tpa_findings *f, const char *name)
{
	const tpa_check *c = tpa_findings_find(f, name);

	return c ? c->detail : "";
}

static swtpm_fixture tpm_fx;
static tpa_tpm *tpm_ecc;           /* stays open: ECC AK for live tests */
static fixture fx_ecc, fx_rsa, fx_pss, fx_ecc2;

static int make_fixture(fixture *f, tpa_tpm *t, const char *sel, uint8_t seed)
{
	memset(f, 0, sizeof(*f));
	memset(f->nonce, seed, sizeof(f->nonce));
	if (tpa_pcr_set_parse_selection(&f->pcrs, sel) < 0 ||
	    tpa_tpm_ak_public(t, f->akpub, sizeof(f->akpub), &f->akpub_len) < 0 ||
	    tpa_tpm_quote(&f->q, t, &f->pcrs, f->nonce, sizeof(f->nonce)) < 0) {
		fprintf(stderr, "fixture: %s\n", tpa_err_last());
		return -1;
	}
	return 0;
}

static int fixture_with_new_tpm(fixture *f, tpa_ak_type type, const char *sel,
				uint8_t seed)
{
	tpa_tpm *t = NULL;
	int rc = -1;

	if (tpa_tpm_open(&t, tpm_fx.tcti) == 0 && tpa_tpm_ak_load(t, type, NULL) == 0)
		rc = make_fixture(f, t, sel, seed);
	else
		fprintf(stderr, "fixture: %s\n", tpa_err_last());
	tpa_tpm_close(t);
	return rc;
}

static int suite_init(void)
{
	uint8_t d[32];

	if (tpa_tpm_open(&tpm_ecc, tpm_fx.tcti) < 0 ||
	    tpa_tpm_ak_load(tpm_ecc, TPA_AK_ECC_P256, NULL) < 0) {
		fprintf(stderr, "tpm: %s\n", tpa_err_last());
		return -1;
	}
	/* A measured PCR 7 so that values are not all zero. */
	memset(d, 0x5a, sizeof(d));
	if (tpa_tpm_pcr_extend(tpm_ecc, 7, TPM2_ALG_SHA256, d, sizeof(d)) < 0)
		return -1;
	if (make_fixture(&fx_ecc, tpm_ecc, "sha256:0-9", 1) < 0 ||
	    fixture_with_new_tpm(&fx_rsa, TPA_AK_RSA_2048, "sha256:0,7", 2) < 0 ||
	    fixture_with_new_tpm(&fx_pss, TPA_AK_RSA_2048_PSS, "sha256:7", 3) < 0 ||
	    fixture_with_new_tpm(&fx_ecc2, TPA_AK_ECC_P256, "sha256:0-9", 4) < 0)
		return -1;
	return 0;
}

static int suite_clean(void)
{
	return 0;
}

static tpa_quote_evidence ev_of(const fixture *f)
{
	tpa_quote_evidence ev = {
		f->q.attest, f->q.attest_len, f->q.signature, f->q.signature_len,
		f->akpub, f->akpub_len, &f->pcrs, NULL,
	};
	return ev;
}

/* Verifies and returns whether the named check passed (-1: absent). */
static int verify_check(const tpa_quote_evidence *ev, const uint8_t *nonce,
			size_t nlen, const char *check, int *rc)
{
	tpa_findings f;
	const tpa_check *c;

	memset(&f, 0, sizeof(f));
	*rc = tpa_quote_verify(&f, ev, nonce, nlen, NULL, NULL);
	c = tpa_findings_find(&f, check);
	return c ? c->passed : -1;
}

static void expect_only_failure(const tpa_quote_evidence *ev, const uint8_t *nonce,
				size_t nlen, const char *check)
{
	tpa_findings f;
	const tpa_check *c;
	size_t i;

	memset(&f, 0, sizeof(f));
	CU_ASSERT_EQUAL(tpa_quote_verify(&f, ev, nonce, nlen, NULL, NULL), TPA_ERR_VERIFY);
	c = tpa_findings_find(&f, check);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_FALSE(c->passed);
	CU_ASSERT(strlen(c->detail) > 0);
	/* Every other failure is a consequence ("not checked: ..."). */
	for (i = 0; i < f.n; i++)
		if (!f.items[i].passed && strcmp(f.items[i].name, check) != 0)
			CU_ASSERT(strncmp(f.items[i].detail, "not checked", 11) == 0);
}

static void all_pass(const fixture *fx, const char *sig)
{
	tpa_quote_evidence ev = ev_of(fx);
	uint8_t name[TPA_NAME_MAX];
	size_t name_len = 0, i;
	tpa_findings f;

	memset(&f, 0, sizeof(f));
	CU_ASSERT_EQUAL(tpa_quote_verify(&f, &ev, fx->nonce, sizeof(fx->nonce), name,
					 &name_len), 0);
	CU_ASSERT_EQUAL(tpa_findings_failed(&f), 0);
	CU_ASSERT_EQUAL(name_len, 34);
	CU_ASSERT(tpa_findings_find(&f, "quote.signature") != NULL);
	CU_ASSERT(strstr(check_detail(&f, "quote.signature"), sig) != NULL);
	for (i = 0; i < f.n; i++)
		if (!f.items[i].passed)
			fprintf(stderr, "\n  failed: %s: %s", f.items[i].name, f.items[i].detail);
}

static void test_valid_ecc(void) { all_pass(&fx_ecc, "ECDSA"); }
static void test_valid_rsassa(void) { all_pass(&fx_rsa, "RSASSA"); }
static void test_valid_rsapss(void) { all_pass(&fx_pss, "RSAPSS"); }

static void test_wrong_nonce(void)
{
	tpa_quote_evidence ev = ev_of(&fx_ecc);
	uint8_t other[32];
	int rc;

	memcpy(other, fx_ecc.nonce, sizeof(other));
	other[31] ^= 1;
	expect_only_failure(&ev, other, sizeof(other), "quote.nonce");
	/* A shorter nonce with the same prefix is not the nonce either. */
	CU_ASSERT_EQUAL(verify_check(&ev, fx_ecc.nonce, 16, "quote.nonce", &rc), 0);
	/* No valid challenge: the nonce rule fails closed. */
	CU_ASSERT_EQUAL(verify_check(&ev, NULL, 0, "quote.nonce", &rc), 0);
	CU_ASSERT_EQUAL(rc, TPA_ERR_VERIFY);
}

static void test_pcr_value_changed(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;

	f.pcrs.banks[0].digest[7][0] ^= 0x80;
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "quote.pcr_digest");
}

static void test_attest_tampered(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;
	int rc;

	/* The last byte is inside pcrDigest: the structure stays valid. */
	f.q.attest[f.q.attest_len - 1] ^= 0x01;
	ev = ev_of(&f);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.signature",
				     &rc), 0);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.structure",
				     &rc), 1);
	CU_ASSERT_EQUAL(rc, TPA_ERR_VERIFY);
}

static void test_magic_tampered(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;
	int rc;

	f.q.attest[0] ^= 0x01; /* magic is the first field */
	ev = ev_of(&f);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.magic", &rc), 0);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.signature",
				     &rc), 0);
}

static void test_type_tampered(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;
	int rc;

	/* type 0x8017 = TPM_ST_ATTEST_CERTIFY: the union then decodes as a
	 * certification, so the quote is refused by its type or its shape. */
	f.q.attest[5] = 0x17;
	ev = ev_of(&f);
	CU_ASSERT_NOT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.type", &rc), 1);
	CU_ASSERT_EQUAL(rc, TPA_ERR_VERIFY);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.pcr_digest", &rc), -1);
}

static void test_signature_tampered(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;

	/* The last byte of the signature is the end of ECDSA s. */
	f.q.signature[f.q.signature_len - 1] ^= 0x01;
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "quote.signature");

	f = fx_rsa;
	f.q.signature[f.q.signature_len - 1] ^= 0x01;
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "quote.signature");
}

static void test_signature_malformed(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;
	int rc;

	f.q.signature_len -= 3;
	ev = ev_of(&f);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.signature",
				     &rc), 0);
	/* An ECDSA signature presented for an RSA key. */
	f = fx_rsa;
	memcpy(f.q.signature, fx_ecc.q.signature, fx_ecc.q.signature_len);
	f.q.signature_len = fx_ecc.q.signature_len;
	ev = ev_of(&f);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.signature",
				     &rc), 0);
}

static void test_other_ak(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;

	memcpy(f.akpub, fx_ecc2.akpub, fx_ecc2.akpub_len);
	f.akpub_len = fx_ecc2.akpub_len;
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "quote.signature");
	/* And an RSA AK for an ECDSA quote. */
	memcpy(f.akpub, fx_rsa.akpub, fx_rsa.akpub_len);
	f.akpub_len = fx_rsa.akpub_len;
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "quote.signature");
}

static void test_other_selection(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;
	int rc;

	/* Report PCRs 0-8 for a quote over 0-9. */
	f.pcrs.banks[0].count = 9;
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "quote.pcr_selection");
	/* Report another bank. */
	f = fx_ecc;
	f.pcrs.banks[0].hash_alg = TPM2_ALG_SHA384;
	ev = ev_of(&f);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.pcr_selection",
				     &rc), 0);
	/* Report an extra bank. */
	f = fx_ecc;
	CU_ASSERT_EQUAL(tpa_pcr_set_add_bank(&f.pcrs, TPM2_ALG_SHA1), 0);
	CU_ASSERT_EQUAL(tpa_pcr_set_add(&f.pcrs, 0, f.pcrs.banks[0].digest[0], 20), 0);
	ev = ev_of(&f);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.pcr_selection",
				     &rc), 0);
	/* Report the values of another quote's PCRs with the same count. */
	f = fx_ecc;
	f.pcrs.banks[0].index[9] = 10;
	ev = ev_of(&f);
	CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "quote.pcr_selection",
				     &rc), 0);
}

static void test_trailing_bytes(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;
	tpa_findings fs;

	f.q.attest[f.q.attest_len] = 0;
	f.q.attest[f.q.attest_len + 1] = 0;
	f.q.attest_len += 2;
	ev = ev_of(&f);
	memset(&fs, 0, sizeof(fs));
	CU_ASSERT_EQUAL(tpa_quote_verify(&fs, &ev, f.nonce, sizeof(f.nonce), NULL, NULL),
			TPA_ERR_VERIFY);
	CU_ASSERT_EQUAL(check_passed(&fs, "quote.structure"), 0);
	CU_ASSERT(strstr(check_detail(&fs, "quote.structure"),
			 "2 trailing bytes") != NULL);
	/* The bytes as signed are not the bytes as sent either. */
	CU_ASSERT_EQUAL(check_passed(&fs, "quote.signature"), 0);

	/* Trailing bytes after the AK public area and the signature. */
	f = fx_ecc;
	f.akpub[f.akpub_len++] = 0;
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "ak.public");
	f = fx_ecc;
	f.q.signature[f.q.signature_len++] = 0;
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "quote.signature");
}

static void test_truncated(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;
	size_t n;
	int rc;

	for (n = 0; n < fx_ecc.q.attest_len; n++) {
		f.q.attest_len = n;
		ev = ev_of(&f);
		CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce),
					     "quote.structure", &rc), 0);
		CU_ASSERT_EQUAL(rc, TPA_ERR_VERIFY);
	}
	f = fx_ecc;
	for (n = 0; n < fx_ecc.akpub_len; n++) {
		f.akpub_len = n;
		ev = ev_of(&f);
		CU_ASSERT_EQUAL(verify_check(&ev, f.nonce, sizeof(f.nonce), "ak.public",
					     &rc), 0);
	}
}

static void test_unrestricted_ak(void)
{
	fixture f = fx_ecc;
	tpa_quote_evidence ev;
	TPMT_PUBLIC pub;
	size_t off = 0;

	/* The same key claimed as unrestricted: such a key could sign a forged
	 * TPMS_ATTEST, so it must be refused even though the signature holds. */
	CU_ASSERT_EQUAL_FATAL(tpa_decode_public(&pub, f.akpub, f.akpub_len), 0);
	pub.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
	CU_ASSERT_EQUAL_FATAL(Tss2_MU_TPMT_PUBLIC_Marshal(&pub, f.akpub,
							 sizeof(f.akpub), &off), 0);
	f.akpub_len = off;
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "ak.attributes");

	CU_ASSERT_EQUAL_FATAL(tpa_decode_public(&pub, fx_ecc.akpub, fx_ecc.akpub_len), 0);
	pub.objectAttributes |= TPMA_OBJECT_DECRYPT;
	off = 0;
	CU_ASSERT_EQUAL_FATAL(Tss2_MU_TPMT_PUBLIC_Marshal(&pub, f.akpub,
							 sizeof(f.akpub), &off), 0);
	f.akpub_len = off;
	ev = ev_of(&f);
	expect_only_failure(&ev, f.nonce, sizeof(f.nonce), "ak.attributes");
}

/* ---- the same rules through the service, with live challenges ---- */

static tpa_service *svc;
static tpa_token_key *tkey;
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

static void attest(tpa_verdict_reply *v, const tpa_client_challenge *ch, int *status)
{
	tpa_attest_extras extras = { .hint = "unit" };

	attest_with(v, ch, status, tpm_ecc, &extras);
}

/* ---- event logs through the service, against a swtpm of their own ---- */

static int service_clean(void);

static swtpm_fixture log_fx;
static tpa_tpm *tpm_log;
static buf good_log;

/* Logs an event and extends the same digest into the TPM. */
static int measure(buf *w, uint32_t pcr, uint32_t type, const void *data, uint32_t len)
{
	uint8_t d[32];

	lw_event2(w, pcr, type, data, len, NULL, 0);
	return tpa_hash(d, TPM2_ALG_SHA256, data, len) < 0 ||
	       tpa_tpm_pcr_extend(tpm_log, pcr, TPM2_ALG_SHA256, d, 32) < 0 ? -1 : 0;
}

static int log_suite_init(void)
{
	static const uint8_t sep[4] = { 0 }, on = 1;
	uint8_t var[64];
	size_t vn = lw_secureboot_var(var, &on, 1);
	uint32_t p;

	if (service_init() < 0 || swtpm_fixture_start(&log_fx) < 0 ||
	    tpa_tpm_open(&tpm_log, log_fx.tcti) < 0 ||
	    tpa_tpm_ak_load(tpm_log, TPA_AK_ECC_P256, NULL) < 0)
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

static int log_suite_clean(void)
{
	tpa_tpm_close(tpm_log);
	tpm_log = NULL;
	swtpm_fixture_stop(&log_fx);
	return service_clean();
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
	attest_with(v, &ch, &st, tpm_log, &extras);
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
	CU_ASSERT_EQUAL(check_passed(&v.findings, "eventlog.replay"), 1);
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
	CU_ASSERT_EQUAL(check_passed(&v.findings, "eventlog.replay"), 0);
	CU_ASSERT(strstr(check_detail(&v.findings, "eventlog.replay"), "PCR 4") != NULL);
	CU_ASSERT(strstr(check_detail(&v.findings, "eventlog.replay"), "#13") != NULL);
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
	CU_ASSERT_EQUAL(check_passed(&v.findings, "eventlog.replay"), 1);
	CU_ASSERT_EQUAL(check_passed(&v.findings, "eventlog.digests"), 0);
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
	CU_ASSERT_EQUAL(check_passed(&v.findings, "eventlog.parse"), 0);
	CU_ASSERT(strstr(check_detail(&v.findings, "eventlog.parse"), "offset") != NULL);
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
	CU_ASSERT_EQUAL(check_passed(&v.findings, "client.secure_boot"), 0);
	CU_ASSERT(strstr(check_detail(&v.findings, "client.secure_boot"), "reports Secure Boot disabled") != NULL);
	/* The log decides, not the client. */
	CU_ASSERT_STRING_EQUAL(v.secure_boot, "enabled");
	tpa_verdict_reply_clear(&v);

	view.secure_boot = TPA_TRI_ON;
	attest_log(&v, &good_log, &view);
	CU_ASSERT_TRUE(v.compliant);
	CU_ASSERT_EQUAL(check_passed(&v.findings, "client.secure_boot"), 1);
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
	attest_with(&v, &a, &st, tpm_log, &extras);
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
	CU_ASSERT(strstr(check_detail(&v.findings, "challenge"), "seal is not this verifier's") != NULL);
	tpa_verdict_reply_clear(&v);
	/* A verdict, counted as unverified evidence, never recorded. */
	tpa_service_stats_get(&b, svc);
	CU_ASSERT_EQUAL(b.verdicts, a.verdicts + 1);
	CU_ASSERT_EQUAL(b.unverified, a.unverified + 1);
	CU_ASSERT_EQUAL(b.recorded, a.recorded);
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
	CU_ASSERT_EQUAL(check_passed(&v.findings, "challenge"), 1);
	CU_ASSERT_EQUAL(check_passed(&v.findings, "quote.nonce"), 0);
	tpa_verdict_reply_clear(&v);
}

static int service_clean(void)
{
	tpa_service_free(svc);
	tpa_token_key_free(tkey);
	tpa_baseline_free(evidence_only);
	return 0;
}

int main(void)
{
	CU_pSuite s, s2;
	unsigned failed;

	setenv("TSS2_LOG", "all+none", 1);
	if (swtpm_fixture_start(&tpm_fx) < 0) {
		fprintf(stderr, "test_quote: cannot start swtpm\n");
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("quote (swtpm)", suite_init, suite_clean);
	CU_add_test(s, "valid ECDSA P-256 quote", test_valid_ecc);
	CU_add_test(s, "valid RSASSA quote", test_valid_rsassa);
	CU_add_test(s, "valid RSAPSS quote", test_valid_rsapss);
	CU_add_test(s, "wrong nonce", test_wrong_nonce);
	CU_add_test(s, "PCR value changed", test_pcr_value_changed);
	CU_add_test(s, "attestation bytes tampered", test_attest_tampered);
	CU_add_test(s, "magic tampered", test_magic_tampered);
	CU_add_test(s, "type tampered", test_type_tampered);
	CU_add_test(s, "signature tampered", test_signature_tampered);
	CU_add_test(s, "signature malformed or of the wrong kind", test_signature_malformed);
	CU_add_test(s, "another AK's key", test_other_ak);
	CU_add_test(s, "another PCR selection", test_other_selection);
	CU_add_test(s, "trailing bytes", test_trailing_bytes);
	CU_add_test(s, "truncated structures", test_truncated);
	CU_add_test(s, "unrestricted or decrypting AK", test_unrestricted_ak);
	s2 = CU_add_suite("service (swtpm, in process)", service_init, service_clean);
	CU_add_test(s2, "no baseline: never compliant", test_service_no_baseline);
	CU_add_test(s2, "compliant attestation with a valid token", test_service_compliant);
	CU_add_test(s2, "reused nonce", test_service_reused_nonce);
	CU_add_test(s2, "expired nonce", test_service_expired_nonce);
	CU_add_test(s2, "unknown challenge", test_service_unknown_challenge);
	CU_add_test(s2, "nonce of another challenge", test_service_nonce_of_other_challenge);
	s2 = CU_add_suite("service with event logs (own swtpm)", log_suite_init, log_suite_clean);
	CU_add_test(s2, "a log that replays: measured boot, Secure Boot on", test_log_good);
	CU_add_test(s2, "an event the TPM never measured", test_log_extra_event);
	CU_add_test(s2, "a log edited after the boot", test_log_edited);
	CU_add_test(s2, "a truncated log", test_log_malformed);
	CU_add_test(s2, "the client's view disagrees with the log", test_log_client_disagrees);
	CU_add_test(s2, "a good log without a valid quote", test_log_without_valid_quote);
	failed = test_run_all();
	tpa_tpm_close(tpm_ecc);
	swtpm_fixture_stop(&tpm_fx);
	return failed ? 1 : 0;
}
