/* SPDX-License-Identifier: BSD-3-Clause */
/* A device's compliance now, judged from a real SQLite registry: each
 * reason a device is not compliant, and the one way it is. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tpa/compliance.h"
#include "tpa/err.h"
#include "tpa/store.h"

static char dir[] = "/tmp/tpa-compliance-XXXXXX";
static char path[256];
static tpa_store *st;

static const char *ID = "abababababababababababababababababababababababababababababababab";
static const char *ID2 = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";
static const uint8_t EK[] = { 1, 2, 3 }, AKP[] = { 9, 9 };

static int suite_init(void)
{
	int version;

	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/registry.db", dir);
	if (tpa_store_open_sqlite(&st, path) < 0)
		return -1;
	if (tpa_store_baseline_add(&version, st, "fleet", "{\"tpa_baseline\": 1}", 50) < 0)
		return -1;
	return tpa_store_enroll(st, ID, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP), "000b1234",
				NULL, 0, 100) < 0 ? -1 : 0;
}

static int suite_clean(void)
{
	tpa_store_close(st);
	test_registry_remove(path, dir);
	return 0;
}

/* A verdict for id with outcome o (and a token that expires at exp, if exp). */
static void verdict_of(const char *id, const char *o, int64_t at, int64_t exp)
{
	tpa_attest_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.outcome = o;
	rec.baseline = "fleet@1";
	if (exp) {
		rec.token = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln";
		rec.token_exp = exp;
	}
	if (tpa_store_record(st, id, strcmp(o, "non-compliant") != 0, NULL, &rec, at) < 0) {
		fprintf(stderr, "record: %s\n", tpa_err_last());
		CU_FAIL("record");
	}
}

static void verdict(const char *o, int64_t at, int64_t exp)
{
	verdict_of(ID, o, at, exp);
}

/* The decision without the token's text (what /v1/authz asks) is the
 * answer's, field for field. */
static void same_decision(const tpa_compliance_answer *a, const char *id, int64_t now,
			  const tpa_staleness *p)
{
	tpa_compliance_answer b;

	CU_ASSERT_EQUAL_FATAL(tpa_compliance_decide(&b, st, id, now, p), 0);
	CU_ASSERT_PTR_NULL(b.token);
	CU_ASSERT_EQUAL(b.compliant, a->compliant);
	CU_ASSERT_EQUAL(b.expired, a->expired);
	CU_ASSERT_EQUAL(b.stale, a->stale);
	CU_ASSERT_EQUAL(b.revoked_since_verdict, a->revoked_since_verdict);
	CU_ASSERT_EQUAL(b.due_at, a->due_at);
	CU_ASSERT_STRING_EQUAL(b.reason, a->reason);
	CU_ASSERT_STRING_EQUAL(b.device.id, a->device.id);
	tpa_compliance_answer_free(&b);
}

/* The answer at now: compliant or not, and the reason's start. */
static void expect(int64_t now, int compliant, const char *reason)
{
	tpa_compliance_answer a;

	CU_ASSERT_EQUAL_FATAL(tpa_compliance_answer_get(&a, st, ID, now, NULL), 0);
	same_decision(&a, ID, now, NULL);
	CU_ASSERT_EQUAL(a.compliant, compliant);
	CU_ASSERT_STRING_EQUAL(a.device.id, ID);
	if (strncmp(a.reason, reason, strlen(reason)) != 0 || (!*reason && *a.reason)) {
		fprintf(stderr, "at %lld: reason \"%s\", expected \"%s\"\n", (long long)now,
			a.reason, reason);
		CU_FAIL("reason");
	}
	tpa_compliance_answer_free(&a);
}

static void test_bad_ids(void)
{
	tpa_compliance_answer a;
	char upper[65];

	memset(upper, 'A', 64);
	upper[64] = '\0';
	CU_ASSERT_EQUAL(tpa_compliance_answer_get(&a, st, NULL, 0, NULL), TPA_ERR_INVALID_ARG);
	tpa_compliance_answer_free(&a);
	CU_ASSERT_EQUAL(tpa_compliance_answer_get(&a, st, "abab", 0, NULL), TPA_ERR_INVALID_ARG);
	tpa_compliance_answer_free(&a);
	CU_ASSERT_EQUAL(tpa_compliance_answer_get(&a, st, upper, 0, NULL), TPA_ERR_INVALID_ARG);
	tpa_compliance_answer_free(&a);
	CU_ASSERT_FALSE(tpa_device_id_valid(upper));
	CU_ASSERT_TRUE(tpa_device_id_valid(ID));
	/* Well formed, unknown. */
	memset(upper, 'c', 64);
	CU_ASSERT_EQUAL(tpa_compliance_answer_get(&a, st, upper, 0, NULL), TPA_ERR_NOT_FOUND);
	CU_ASSERT_FALSE(a.compliant);
	tpa_compliance_answer_free(&a);
}

static void test_each_reason(void)
{
	tpa_compliance_answer a;

	expect(150, 0, "the device never attested");
	verdict("compliant", 200, 1200);
	expect(300, 1, "");
	CU_ASSERT_EQUAL(tpa_compliance_answer_get(&a, st, ID, 300, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(a.token);
	CU_ASSERT(a.token && strcmp(a.token, "eyJhbGciOiJFUzI1NiJ9.e30.c2ln") == 0);
	CU_ASSERT_STRING_EQUAL(a.device.last_baseline, "fleet@1");
	CU_ASSERT_EQUAL(a.device.last_token_exp, 1200);
	CU_ASSERT_FALSE(a.expired);
	tpa_compliance_answer_free(&a);
	CU_ASSERT_PTR_NULL(a.token);
	/* The token's expiry is the verdict's: at it, no longer. */
	expect(1199, 1, "");
	expect(1200, 0, "the last verdict's token expired");
	verdict("warning", 1300, 2300);
	expect(1400, 1, "");
	verdict("non-compliant", 1500, 2500);
	expect(1600, 0, "the last verdict was non-compliant");
	verdict("no-baseline", 1700, 2700);
	expect(1800, 0, "the last verdict was no-baseline");
	/* A compliant verdict without a token is not enough. */
	verdict("compliant", 1900, 0);
	expect(2000, 0, "the last verdict's token expired");
	verdict("compliant", 2100, 3100);
	expect(2200, 1, "");
	/* Revoked: whatever the verdict. */
	CU_ASSERT_EQUAL(tpa_store_set_state(st, ID, TPA_DEVICE_REVOKED, 2300), 0);
	expect(2400, 0, "the device is revoked");
	/* Reinstated: not until a verdict newer than that. */
	CU_ASSERT_EQUAL(tpa_store_set_state(st, ID, TPA_DEVICE_ACTIVE, 2500), 0);
	expect(2600, 0, "the device was revoked or reinstated after its last verdict");
	CU_ASSERT_EQUAL(tpa_compliance_answer_get(&a, st, ID, 2600, NULL), 0);
	CU_ASSERT_TRUE(a.revoked_since_verdict);
	tpa_compliance_answer_free(&a);
	verdict("compliant", 2700, 3700);
	expect(2800, 1, "");
}

/* A device pending approval is never compliant, whatever its registry row
 * holds (a verdict recorded before an operator set it back to pending, or
 * written by hand): pending is its reason, before any other. */
static void test_pending(void)
{
	static const char *ID3 =
		"efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef";
	static const uint8_t ek3[] = { 3, 3, 3 }, ak3[] = { 7, 7 };
	tpa_store_admission adm = { 1, NULL, "none", NULL, NULL };
	tpa_compliance_answer a;

	CU_ASSERT_EQUAL_FATAL(tpa_store_enroll_admitted(st, ID3, ek3, sizeof(ek3), NULL, 0, ak3,
							sizeof(ak3), "000b3333", NULL, 0, &adm,
							100), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_compliance_answer_get(&a, st, ID3, 150, NULL), 0);
	same_decision(&a, ID3, 150, NULL);
	CU_ASSERT_FALSE(a.compliant);
	CU_ASSERT_STRING_EQUAL(a.reason, "the device is pending approval (verifier devices approve)");
	tpa_compliance_answer_free(&a);
	verdict_of(ID3, "compliant", 200, 1200);
	CU_ASSERT_EQUAL_FATAL(tpa_compliance_answer_get(&a, st, ID3, 300, NULL), 0);
	CU_ASSERT_EQUAL(a.device.state, TPA_DEVICE_PENDING);
	CU_ASSERT_FALSE(a.compliant);
	CU_ASSERT_STRING_EQUAL(a.reason, "the device is pending approval (verifier devices approve)");
	tpa_compliance_answer_free(&a);
}

/* The due time and staleness themselves, at their edges. */
static void test_due(void)
{
	tpa_staleness p = { 100, 10 }, def;
	tpa_device d;

	memset(&d, 0, sizeof(d));
	tpa_staleness_default(&def);
	CU_ASSERT_EQUAL(def.interval_s, 3600);
	CU_ASSERT_EQUAL(def.grace_s, 600);
	/* Never attested: no due time, not stale ("never attested" instead). */
	CU_ASSERT_EQUAL(tpa_device_due(&d, &p), 0);
	CU_ASSERT_FALSE(tpa_device_stale(&d, 1000000, &p));
	d.last_attest_at = 1000;
	CU_ASSERT_EQUAL(tpa_device_due(&d, &p), 1110);
	CU_ASSERT_FALSE(tpa_device_stale(&d, 1109, &p));
	CU_ASSERT_TRUE(tpa_device_stale(&d, 1110, &p));
	CU_ASSERT_TRUE(tpa_device_stale(&d, 1111, &p));
	/* NULL: the defaults; interval 0: the default interval, grace as given. */
	CU_ASSERT_EQUAL(tpa_device_due(&d, NULL), 1000 + 3600 + 600);
	p.interval_s = 0;
	CU_ASSERT_EQUAL(tpa_device_due(&d, &p), 1000 + 3600 + 10);
	p.grace_s = 0;
	CU_ASSERT_EQUAL(tpa_staleness_window(&p), 3600);
	CU_ASSERT_EQUAL(tpa_device_due(NULL, &p), 0);
	/* A registry time at the end of time does not overflow. */
	d.last_attest_at = INT64_MAX - 5;
	CU_ASSERT_EQUAL(tpa_device_due(&d, &p), INT64_MAX);
	CU_ASSERT_FALSE(tpa_device_stale(&d, INT64_MAX - 1, &p));
}

/* An answer's staleness: the reason, the flag and due_at, whatever else
 * stands in the way. */
static void test_stale_answer(void)
{
	static const uint8_t ek2[] = { 4, 5, 6 }, ak2[] = { 8, 8 };
	const tpa_staleness p = { 100, 10 };
	tpa_compliance_answer a;

	CU_ASSERT_EQUAL_FATAL(tpa_store_enroll(st, ID2, ek2, sizeof(ek2), NULL, 0, ak2,
					       sizeof(ak2), "000b5678", NULL, 0, 100), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_compliance_answer_get(&a, st, ID2, 100000, &p), 0);
	same_decision(&a, ID2, 100000, &p);
	CU_ASSERT_FALSE(a.compliant);
	CU_ASSERT_FALSE(a.stale);
	CU_ASSERT_EQUAL(a.due_at, 0);
	CU_ASSERT_STRING_EQUAL(a.reason, "the device never attested");
	tpa_compliance_answer_free(&a);
	/* A good verdict with a token that would hold long after it is due. */
	verdict_of(ID2, "compliant", 1000, 9000);
	CU_ASSERT_EQUAL_FATAL(tpa_compliance_answer_get(&a, st, ID2, 1109, &p), 0);
	same_decision(&a, ID2, 1109, &p);
	CU_ASSERT_TRUE(a.compliant);
	CU_ASSERT_FALSE(a.stale);
	CU_ASSERT_EQUAL(a.due_at, 1110);
	tpa_compliance_answer_free(&a);
	CU_ASSERT_EQUAL_FATAL(tpa_compliance_answer_get(&a, st, ID2, 1110, &p), 0);
	same_decision(&a, ID2, 1110, &p);
	CU_ASSERT_FALSE(a.compliant);
	CU_ASSERT_TRUE(a.stale);
	CU_ASSERT_FALSE(a.expired);
	CU_ASSERT_STRING_EQUAL(a.reason, "the device is overdue: its last good verdict was at "
			       "1970-01-01T00:16:40Z, due by 1970-01-01T00:18:30Z (interval "
			       "100 s + grace 10 s)");
	tpa_compliance_answer_free(&a);
	/* The defaults (NULL): not due for an hour and ten minutes. */
	CU_ASSERT_EQUAL_FATAL(tpa_compliance_answer_get(&a, st, ID2, 1110, NULL), 0);
	same_decision(&a, ID2, 1110, NULL);
	CU_ASSERT_TRUE(a.compliant);
	CU_ASSERT_EQUAL(a.due_at, 1000 + 3600 + 600);
	tpa_compliance_answer_free(&a);
	/* A bad last verdict: due from it, and the verdict is the reason. */
	verdict_of(ID2, "non-compliant", 2000, 9000);
	CU_ASSERT_EQUAL_FATAL(tpa_compliance_answer_get(&a, st, ID2, 2109, &p), 0);
	same_decision(&a, ID2, 2109, &p);
	CU_ASSERT_FALSE(a.compliant);
	CU_ASSERT_FALSE(a.stale);
	CU_ASSERT_STRING_EQUAL(a.reason, "the last verdict was non-compliant");
	tpa_compliance_answer_free(&a);
	CU_ASSERT_EQUAL_FATAL(tpa_compliance_answer_get(&a, st, ID2, 2110, &p), 0);
	same_decision(&a, ID2, 2110, &p);
	CU_ASSERT_FALSE(a.compliant);
	CU_ASSERT_TRUE(a.stale);
	CU_ASSERT_EQUAL(a.due_at, 2110);
	CU_ASSERT_STRING_EQUAL(a.reason, "the last verdict was non-compliant");
	tpa_compliance_answer_free(&a);
	/* Revoked and overdue: revoked says why, stale is still said. */
	verdict_of(ID2, "compliant", 3000, 9000);
	CU_ASSERT_EQUAL(tpa_store_set_state(st, ID2, TPA_DEVICE_REVOKED, 3050), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_compliance_answer_get(&a, st, ID2, 3200, &p), 0);
	same_decision(&a, ID2, 3200, &p);
	CU_ASSERT_FALSE(a.compliant);
	CU_ASSERT_TRUE(a.stale);
	CU_ASSERT_STRING_EQUAL(a.reason, "the device is revoked");
	tpa_compliance_answer_free(&a);
	/* Attesting again makes it current again. */
	CU_ASSERT_EQUAL(tpa_store_set_state(st, ID2, TPA_DEVICE_ACTIVE, 3250), 0);
	verdict_of(ID2, "compliant", 3300, 9000);
	CU_ASSERT_EQUAL_FATAL(tpa_compliance_answer_get(&a, st, ID2, 3409, &p), 0);
	same_decision(&a, ID2, 3409, &p);
	CU_ASSERT_TRUE(a.compliant);
	CU_ASSERT_FALSE(a.stale);
	tpa_compliance_answer_free(&a);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("compliance now (SQLite registry)", suite_init, suite_clean);
	CU_add_test(s, "malformed and unknown device ids", test_bad_ids);
	CU_add_test(s, "each reason, and compliant", test_each_reason);
	CU_add_test(s, "pending approval: never compliant", test_pending);
	CU_add_test(s, "due time and staleness at the edges", test_due);
	CU_add_test(s, "a stale device is never compliant", test_stale_answer);
	return test_run_all() ? 1 : 0;
}
