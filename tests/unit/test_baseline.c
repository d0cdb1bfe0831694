/* SPDX-License-Identifier: BSD-3-Clause */
/* Golden baselines on real event logs (tests/data/eventlog, from real
 * machines): learned baselines accept their own boot and explain the
 * differences of others rule by rule; baselines are validated like any
 * other untrusted input. The boot simulator's scenarios are the subject of
 * tests/integration/test_baselines.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <jansson.h>

#include "logwriter.h"
#include "testutil.h"
#include "tpa/baseline.h"
#include "tpa/err.h"
#include "tpa/timefmt.h"
#include "tpa/tpm_decode.h"

#define DATA "tests/data/eventlog/"

/* A boot as the verifier evaluates evidence, from a log alone (or with the
 * PCR values of a quote, set by the test). */
typedef struct {
	uint8_t *bytes;
	size_t n;
	tpa_findings checks;
	tpa_boot ev;
} boot;

/* bank: the bank of the baseline that will judge it (sha1 for a SHA1-format
 * log), or 0 for one learned from it. */
static int boot_eval(boot *b, const tpa_pcr_set *quoted, uint16_t bank)
{
	tpa_boot_input in;

	memset(&in, 0, sizeof(in));
	in.event_log = b->bytes;
	in.event_log_len = b->n;
	in.quoted = quoted;
	in.baseline_bank = bank ? bank : TPA_BOOT_BANK_OF_LOG;
	tpa_boot_clear(&b->ev);
	memset(&b->checks, 0, sizeof(b->checks));
	return tpa_boot_evaluate(&b->ev, &b->checks, &in);
}

static int boot_load(boot *b, const char *file, uint16_t bank)
{
	memset(b, 0, sizeof(*b));
	if (tpa_eventlog_read_file(&b->bytes, &b->n, file) < 0 || boot_eval(b, NULL, bank) < 0 ||
	    !b->ev.log) {
		fprintf(stderr, "%s: %s\n", file, tpa_err_last());
		return -1;
	}
	return 0;
}

static void boot_free(boot *b)
{
	tpa_boot_clear(&b->ev);
	free(b->bytes);
}

static tpa_baseline *learn(const char *file, uint16_t bank, const char *name)
{
	boot b;
	tpa_baseline *bl = NULL;

	if (boot_load(&b, file, bank) < 0)
		return NULL;
	if (tpa_baseline_learn(&bl, &b.ev, name) < 0)
		fprintf(stderr, "learn %s: %s\n", file, tpa_err_last());
	boot_free(&b);
	return bl;
}

static tpa_outcome appraise(tpa_appraisal *a, const tpa_baseline *bl, const char *file,
			    uint16_t bank)
{
	boot b;

	tpa_appraisal_clear(a);
	a->outcome = TPA_OUTCOME_NO_BASELINE;
	(void)bank;
	if (boot_load(&b, file, tpa_baseline_bank(bl)) < 0)
		return TPA_OUTCOME_NO_BASELINE;
	CU_ASSERT_EQUAL(tpa_baseline_appraise(a, bl, &b.ev), 0);
	boot_free(&b);
	return a->outcome;
}

static const struct {
	const char *file;
	uint16_t bank;
} sb_on[] = {
	{ DATA "go-tpm-tools/cos-93-amd-sev.bin", TPM2_ALG_SHA256 },
	{ DATA "go-tpm-tools/cos-85-amd-sev.bin", TPM2_ALG_SHA256 },
	{ DATA "go-tpm-tools/debian-10.bin", TPM2_ALG_SHA1 },
	{ DATA "go-tpm-tools/rhel8-uefi.bin", TPM2_ALG_SHA256 },
	{ DATA "keylime/mb_log.bin", TPM2_ALG_SHA256 },
	{ DATA "tpm2-tools/event-moklisttrusted.bin", TPM2_ALG_SHA256 },
};

/* A baseline learned from a boot accepts exactly that boot, and survives
 * being written and read again. */
static void test_learn_accepts_its_boot(void)
{
	size_t i;

	for (i = 0; i < sizeof(sb_on) / sizeof(sb_on[0]); i++) {
		tpa_baseline *bl = learn(sb_on[i].file, sb_on[i].bank, "learned"), *again = NULL;
		tpa_appraisal a = { 0 };
		char *json;
		int id;

		CU_ASSERT_PTR_NOT_NULL_FATAL(bl);
		CU_ASSERT_EQUAL(appraise(&a, bl, sb_on[i].file, sb_on[i].bank),
				TPA_OUTCOME_COMPLIANT);
		for (id = 0; id < TPA_RULE_COUNT; id++)
			if (a.rules[id].status == TPA_RULE_FAIL)
				fprintf(stderr, "%s: %s: %s\n", sb_on[i].file,
					tpa_rule_name(a.rules[id].rule), a.rules[id].detail);
		CU_ASSERT_EQUAL(a.rules[TPA_RULE_SECURE_BOOT].status, TPA_RULE_PASS);
		CU_ASSERT_EQUAL(a.rules[TPA_RULE_BOOT_APPLICATIONS].status, TPA_RULE_PASS);
		/* Offline (no quote): the fixed PCRs cannot be judged. */
		CU_ASSERT_EQUAL(a.rules[TPA_RULE_PCRS].status, TPA_RULE_NOT_APPLICABLE);
		json = tpa_baseline_to_json(bl);
		CU_ASSERT_PTR_NOT_NULL_FATAL(json);
		CU_ASSERT_EQUAL(tpa_baseline_parse(&again, json, strlen(json), "round trip"), 0);
		{
			char *d = NULL;

			CU_ASSERT_EQUAL(tpa_baseline_diff(&d, bl, again), 0);
			CU_ASSERT_STRING_EQUAL(d ? d : "x", "");
			free(d);
		}
		free(json);
		tpa_appraisal_clear(&a);
		tpa_baseline_free(again);
		tpa_baseline_free(bl);
	}
}

/* Google's Secure Boot off COS/CoreOS shielded VM against the Secure Boot
 * on baseline of another: the Secure Boot rule fails and says why; the
 * databases are not judged without Secure Boot. */
static void test_secure_boot_off_against_on(void)
{
	tpa_baseline *bl = learn(DATA "go-tpm-tools/cos-93-amd-sev.bin", TPM2_ALG_SHA256, "cos93");
	tpa_appraisal a = { 0 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(bl);
	CU_ASSERT_EQUAL(appraise(&a, bl,
				 DATA "go-attestation/coreos_36_shielded_vm_no_secure_boot_eventlog",
				 TPM2_ALG_SHA256), TPA_OUTCOME_NON_COMPLIANT);
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_SECURE_BOOT].status, TPA_RULE_FAIL);
	CU_ASSERT(strstr(a.rules[TPA_RULE_SECURE_BOOT].detail, "disabled") != NULL);
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_DB].status, TPA_RULE_NOT_APPLICABLE);
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_UEFI_DEBUG_MODE].status, TPA_RULE_PASS);
	/* The same machine type with Secure Boot on passes that rule. */
	CU_ASSERT_EQUAL(appraise(&a, bl, DATA "go-tpm-tools/cos-85-amd-sev.bin", TPM2_ALG_SHA256),
			TPA_OUTCOME_NON_COMPLIANT);
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_SECURE_BOOT].status, TPA_RULE_PASS);
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_DB].status, TPA_RULE_PASS);
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_BOOT_APPLICATIONS].status, TPA_RULE_FAIL);
	CU_ASSERT(a.rules[TPA_RULE_BOOT_APPLICATIONS].event >= 0);
	CU_ASSERT(strstr(a.rules[TPA_RULE_BOOT_APPLICATIONS].detail, "not among") != NULL);
	tpa_appraisal_clear(&a);
	tpa_baseline_free(bl);
}

/* Merged baselines accept both boots; dbx requirements shrink to what both
 * have, a rule only one baseline has is dropped. */
static void test_merge_and_diff(void)
{
	tpa_baseline *a = learn(DATA "go-tpm-tools/cos-93-amd-sev.bin", TPM2_ALG_SHA256, "fleet");
	tpa_baseline *b = learn(DATA "go-tpm-tools/cos-85-amd-sev.bin", TPM2_ALG_SHA256, "other");
	tpa_baseline *m = NULL, *sha1 = learn(DATA "go-tpm-tools/debian-10.bin", TPM2_ALG_SHA1, "s");
	boot x;

	/* A SHA1-format log is evidence only for a baseline in sha1: for any
	 * other, its evidence does not hold and it teaches nothing. */
	CU_ASSERT_EQUAL_FATAL(boot_load(&x, DATA "go-tpm-tools/debian-10.bin", TPM2_ALG_SHA256), 0);
	CU_ASSERT_FALSE(x.ev.log_ok);
	CU_ASSERT(strstr(tpa_findings_get(&x.checks, TPA_CHECK_QUOTE_BANKS)->detail,
			 "only for a baseline whose bank is sha1") != NULL);
	CU_ASSERT_EQUAL(tpa_baseline_learn(&m, &x.ev, "x"), TPA_ERR_VERIFY);
	boot_free(&x);
	tpa_appraisal r = { 0 };
	char *d = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sha1);
	CU_ASSERT_EQUAL_FATAL(tpa_baseline_merge(&m, a, b), 0);
	CU_ASSERT_STRING_EQUAL(tpa_baseline_name(m), "fleet");
	CU_ASSERT_EQUAL(appraise(&r, m, DATA "go-tpm-tools/cos-93-amd-sev.bin", TPM2_ALG_SHA256),
			TPA_OUTCOME_COMPLIANT);
	CU_ASSERT_EQUAL(appraise(&r, m, DATA "go-tpm-tools/cos-85-amd-sev.bin", TPM2_ALG_SHA256),
			TPA_OUTCOME_COMPLIANT);
	CU_ASSERT_EQUAL(appraise(&r, m, DATA "go-tpm-tools/debian-10.bin", TPM2_ALG_SHA256),
			TPA_OUTCOME_NON_COMPLIANT);
	CU_ASSERT_EQUAL(tpa_baseline_diff(&d, a, m), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT(strstr(d, "+ boot-applications.applications: ") != NULL);
	CU_ASSERT(strstr(d, "+ kernel-cmdline.allowed: ") != NULL);
	CU_ASSERT(strstr(d, "- ") == NULL || strstr(d, "- dbx") != NULL);
	free(d);
	/* Different banks do not merge. */
	tpa_appraisal_clear(&r);
	tpa_baseline_free(m);
	m = NULL;
	CU_ASSERT_EQUAL(tpa_baseline_merge(&m, a, sha1), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "sha1") != NULL);
	CU_ASSERT_PTR_NULL(m);
	tpa_baseline_free(a);
	tpa_baseline_free(b);
	tpa_baseline_free(sha1);
}

/* A small hand-written baseline: the smallest thing a policy author
 * writes. */
#define HEX64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define MINI_HEAD "{\"tpa_baseline\": 1, \"name\": \"mini\", \"bank\": \"sha256\", \"rules\": {"
/* The bank of the COS logs' evidence: their strongest. */
#define MINI384_HEAD "{\"tpa_baseline\": 1, \"name\": \"mini\", \"bank\": \"sha384\", \"rules\": {"

static int parse_text(tpa_baseline **b, const char *text)
{
	*b = NULL;
	return tpa_baseline_parse(b, text, strlen(text), "mini.json");
}

static void expect_refused(const char *text, int code, const char *where)
{
	tpa_baseline *b = NULL;

	CU_ASSERT_EQUAL(parse_text(&b, text), code);
	CU_ASSERT_PTR_NULL(b);
	if (!strstr(tpa_err_last(), where))
		fprintf(stderr, "expected \"%s\" in: %s\n", where, tpa_err_last());
	CU_ASSERT(strstr(tpa_err_last(), where) != NULL);
	CU_ASSERT(strstr(tpa_err_last(), "mini.json") != NULL);
	tpa_baseline_free(b);
}

static void test_untrusted_baselines(void)
{
	char *big;

	expect_refused("{ not json", TPA_ERR_PARSE, "line 1");
	expect_refused("[]", TPA_ERR_VERIFY, "must be an object");
	expect_refused("{\"name\": \"x\", \"bank\": \"sha256\", \"rules\": {}}", TPA_ERR_VERIFY,
		       "tpa_baseline: missing");
	expect_refused("{\"tpa_baseline\": 2, \"name\": \"x\", \"bank\": \"sha256\", \"rules\": {}}",
		       TPA_ERR_VERIFY, "format 2");
	expect_refused("{\"tpa_baseline\": 1, \"name\": \"a b\", \"bank\": \"sha256\", \"rules\": {}}",
		       TPA_ERR_VERIFY, "name: only letters");
	expect_refused("{\"tpa_baseline\": 1, \"name\": \"x\", \"bank\": \"md5\", \"rules\": {}}",
		       TPA_ERR_VERIFY, "bank: must be");
	expect_refused("{\"tpa_baseline\": 1, \"name\": \"x\", \"bank\": \"sha256\", \"rules\": {},"
		       " \"extra\": 1}", TPA_ERR_VERIFY, "(top).extra: unknown field");
	expect_refused(MINI_HEAD "\"secure-bot\": {\"severity\": \"critical\", \"required\": true}}}",
		       TPA_ERR_VERIFY, "rules.secure-bot: unknown rule (known: secure-boot,");
	expect_refused(MINI_HEAD "\"secure-boot\": {\"required\": true}}}", TPA_ERR_VERIFY,
		       "rules.secure-boot.severity: missing");
	expect_refused(MINI_HEAD "\"secure-boot\": {\"severity\": \"high\", \"required\": true}}}",
		       TPA_ERR_VERIFY, "rules.secure-boot.severity: must be");
	expect_refused(MINI_HEAD "\"secure-boot\": {\"severity\": \"critical\", \"required\": 1}}}",
		       TPA_ERR_VERIFY, "\"required\" must be true or false");
	expect_refused(MINI_HEAD "\"secure-boot\": {\"severity\": \"critical\", \"required\": true,"
		       " \"enforce\": true}}}", TPA_ERR_VERIFY, "rules.secure-boot.enforce: unknown field");
	expect_refused(MINI_HEAD "\"boot-applications\": {\"severity\": \"critical\", \"applications\":"
		       " [{\"digest\": \"" "00000000000000000000000000000000"
		       "00000000000000000000000000000000\"}, {\"digest\": \"00\"}], \"boot_loader\": []}}}",
		       TPA_ERR_VERIFY, "rules.boot-applications.applications[1].digest: not 64 lower-case hex");
	expect_refused(MINI_HEAD "\"boot-applications\": {\"severity\": \"critical\", \"applications\":"
		       " [{\"digest\": \"" "ABCDEF0000000000000000000000000000000000000000000000000000000000"
		       "\"}], \"boot_loader\": []}}}", TPA_ERR_VERIFY, "applications[0].digest");
	expect_refused(MINI_HEAD "\"boot-applications\": {\"severity\": \"critical\", \"applications\":"
		       " [], \"boot_loader\": [{\"pcr\": 24, \"digest\": \"00\"}]}}}", TPA_ERR_VERIFY,
		       "boot_loader[0].pcr: must be a PCR number");
	expect_refused(MINI_HEAD "\"known-events\": {\"severity\": \"warning\", \"events\": [{\"pcr\": 1,"
		       " \"type\": \"EV_NOTHING\", \"digest\": \"00\"}]}}}", TPA_ERR_VERIFY,
		       "events[0].type: must be an event type name");
	/* Every name the event log gives a type, a baseline may use. */
	{
		tpa_baseline *b = NULL;

		CU_ASSERT_EQUAL(parse_text(&b, MINI_HEAD "\"known-events\": {\"severity\": "
					   "\"warning\", \"events\": [{\"pcr\": 1, \"type\": "
					   "\"EV_UNUSED\", \"digest\": \"" HEX64 "\"}, {\"pcr\": 2, "
					   "\"type\": \"EV_EFI_EVENT_BASE\", \"digest\": \"" HEX64
					   "\"}]}}}"), 0);
		if (!b)
			fprintf(stderr, "EV_UNUSED: %s\n", tpa_err_last());
		tpa_baseline_free(b);
	}
	expect_refused(MINI_HEAD "\"pcrs\": {\"severity\": \"critical\", \"values\": {\"07\": [\"00\"]}}}}",
		       TPA_ERR_VERIFY, "rules.pcrs.values.07: not a PCR number");
	expect_refused(MINI_HEAD "\"kernel-cmdline\": {\"severity\": \"critical\", \"allowed\": "
		       "[{\"exact\": \"ro\", \"pattern\": \"*\"}]}}}", TPA_ERR_VERIFY,
		       "rules.kernel-cmdline.allowed[0]: must be");
	expect_refused(MINI_HEAD "\"kernel-cmdline\": {\"severity\": \"critical\", \"allowed\": "
		       "[{\"pattern\": \"*a*a*a*a*a*a*a*a*a*b\"}]}}}", TPA_ERR_VERIFY,
		       "allowed[0]: more than 8 '*' in a pattern");
	expect_refused(MINI_HEAD "\"secure-boot\": {\"severity\": \"critical\", \"required\": true},"
		       " \"secure-boot\": {\"severity\": \"warning\", \"required\": false}}}",
		       TPA_ERR_PARSE, "duplicate");
	/* More list entries than the cap, in a file under the size cap. */
	{
		size_t cap = TPA_BASELINE_ENTRIES_MAX + 1, i, o;
		size_t room = cap * 44 + 512;	/* ,"<40 hex>" */
		char *many = malloc(room);

		CU_ASSERT_PTR_NOT_NULL_FATAL(many);
		/* SHA-1 PCR values: the shortest entries, so the count cap
		 * is what is hit, not the size cap. */
		o = (size_t)snprintf(many, room, "{\"tpa_baseline\": 1, \"name\": \"m\", \"bank\": \"sha1\", "
				    "\"rules\": {\"pcrs\": {\"severity\": \"critical\", \"values\": "
				    "{\"0\": [");
		for (i = 0; i < cap; i++)
			o += (size_t)snprintf(many + o, room - o, "%s\"%040zx\"", i ? "," : "", i);
		snprintf(many + o, room - o, "]}}}}");
		expect_refused(many, TPA_ERR_LIMIT, "more than 20000 entries");
		free(many);
	}
	big = malloc(TPA_BASELINE_MAX_BYTES + 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, ' ', TPA_BASELINE_MAX_BYTES + 1);
	big[TPA_BASELINE_MAX_BYTES + 1] = '\0';
	expect_refused(big, TPA_ERR_LIMIT, "larger than");
	free(big);
	CU_ASSERT(tpa_baseline_load_file(&(tpa_baseline *){ NULL }, "/nonexistent/b.json") < 0);
}

/* Patterns, severities and the outcome they make; rules the baseline does
 * not have are n/a, never a silent pass. */
static void test_rules_and_outcomes(void)
{
	tpa_baseline *b = NULL;
	tpa_appraisal a = { 0 };
	const char *log = DATA "go-tpm-tools/cos-93-amd-sev.bin";

	/* Only a command line pattern, as a warning. */
	CU_ASSERT_EQUAL_FATAL(parse_text(&b, MINI384_HEAD "\"kernel-cmdline\": {\"severity\": \"warning\","
					 " \"allowed\": [{\"pattern\": \"*console=ttyS0*\"}]}}}"), 0);
	CU_ASSERT_EQUAL(appraise(&a, b, log, TPM2_ALG_SHA256), TPA_OUTCOME_COMPLIANT);
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_KERNEL_CMDLINE].status, TPA_RULE_PASS);
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_SECURE_BOOT].status, TPA_RULE_NOT_APPLICABLE);
	CU_ASSERT_STRING_EQUAL(a.rules[TPA_RULE_SECURE_BOOT].detail, "not in the baseline");
	tpa_baseline_free(b);
	CU_ASSERT_EQUAL_FATAL(parse_text(&b, MINI384_HEAD "\"kernel-cmdline\": {\"severity\": \"warning\","
					 " \"allowed\": [{\"pattern\": \"*console=tty9*\"}]}}}"), 0);
	CU_ASSERT_EQUAL(appraise(&a, b, log, TPM2_ALG_SHA256), TPA_OUTCOME_WARNING);
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_KERNEL_CMDLINE].status, TPA_RULE_FAIL);
	CU_ASSERT_EQUAL(a.failed, 1);
	tpa_baseline_free(b);
	/* Secure Boot required but the log's bank is another: not judged as
	 * passing. */
	CU_ASSERT_EQUAL_FATAL(parse_text(&b, "{\"tpa_baseline\": 1, \"name\": \"m\", \"bank\": "
					 "\"sha256\", \"rules\": {\"secure-boot\": {\"severity\": "
					 "\"critical\", \"required\": true}}}"), 0);
	CU_ASSERT_EQUAL(appraise(&a, b, log, TPM2_ALG_SHA256), TPA_OUTCOME_NON_COMPLIANT);
	CU_ASSERT(strstr(a.rules[TPA_RULE_SECURE_BOOT].detail,
			 "the evidence is in sha384, the baseline in sha256") != NULL);
	tpa_baseline_free(b);
	/* No appraisal at all: explicit. */
	tpa_appraisal_clear(&a);
	tpa_appraisal_none(&a);
	CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_NO_BASELINE);
	CU_ASSERT_STRING_EQUAL(tpa_outcome_name(a.outcome), "no-baseline");
}

/* Quoted PCRs: those the firmware's log speaks for are replayed, from
 * their reset value when it has no event for them; the pcrs rule judges the
 * others (IMA's PCR 10) by value; and a baseline requires its PCRs. */
static void test_fixed_pcrs(void)
{
	static const char *fixed_json =
		"{\"tpa_baseline\": 1, \"name\": \"ima\", \"bank\": \"sha256\", \"rules\": "
		"{\"pcrs\": {\"severity\": \"critical\", \"values\": {\"10\": "
		"[\"1111111111111111111111111111111111111111111111111111111111111111\"]}}}}";
	boot bt;
	tpa_pcr_set q, back;
	tpa_baseline *bl = NULL, *fixed = NULL;
	tpa_appraisal a = { 0 };
	tpa_eventlog *keep;
	uint8_t v[32];
	uint32_t p;
	char *json;

	CU_ASSERT_EQUAL_FATAL(boot_load(&bt, DATA "keylime/mb_log.bin", 0), 0);
	/* A quote of PCRs 0-10, 14 and 15 with the values the log replays to
	 * (15, no events: its reset value), and IMA's PCR 10. */
	memset(&q, 0, sizeof(q));
	CU_ASSERT_EQUAL(tpa_pcr_set_add_bank(&q, TPM2_ALG_SHA256), 0);
	for (p = 0; p <= 15; p++) {
		const uint8_t *rv = tpa_pcr_bank_value(&bt.ev.assumed.banks[0], p);

		if (p == 10) {
			memset(v, 0x11, sizeof(v));
			CU_ASSERT_EQUAL(tpa_pcr_set_add(&q, p, v, 32), 0);
		} else if (p <= 9 || p >= 14) {
			CU_ASSERT_PTR_NOT_NULL_FATAL(rv);
			CU_ASSERT_EQUAL(tpa_pcr_set_add(&q, p, rv, 32), 0);
		}
	}
	CU_ASSERT_EQUAL_FATAL(boot_eval(&bt, &q, 0), 0);
	CU_ASSERT_TRUE(bt.ev.log_ok);
	CU_ASSERT_EQUAL(bt.ev.counted, 0x3FFu | (1u << 14) | (1u << 15));
	/* Learned: nothing is left for the pcrs rule, every PCR is replayed. */
	CU_ASSERT_EQUAL_FATAL(tpa_baseline_learn(&bl, &bt.ev, "learned"), 0);
	json = tpa_baseline_to_json(bl);
	CU_ASSERT(json && strstr(json, "\"pcrs\"") == NULL);
	free(json);
	CU_ASSERT_EQUAL(tpa_baseline_required_pcrs(bl, bt.ev.log), 0x3FFu | (1u << 14));
	tpa_appraisal_clear(&a);
	CU_ASSERT_EQUAL(tpa_baseline_appraise(&a, bl, &bt.ev), 0);
	CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_COMPLIANT);
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_REQUIRED_PCRS].status, TPA_RULE_PASS);
	/* PCR 10 by value. */
	CU_ASSERT_EQUAL_FATAL(tpa_baseline_parse(&fixed, fixed_json, strlen(fixed_json), "t"), 0);
	tpa_appraisal_clear(&a);
	CU_ASSERT_EQUAL(tpa_baseline_appraise(&a, fixed, &bt.ev), 0);
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_PCRS].status, TPA_RULE_PASS);
	q.banks[0].digest[10][0] ^= 1;             /* PCR 10 changed */
	tpa_appraisal_clear(&a);
	CU_ASSERT_EQUAL(tpa_baseline_appraise(&a, fixed, &bt.ev), 0);
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_PCRS].status, TPA_RULE_FAIL);
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_PCRS].pcr, 10);
	/* PCR 10 left out: the pcrs rule and required-pcrs both fail. */
	{
		tpa_pcr_set q2;

		memset(&q2, 0, sizeof(q2));
		CU_ASSERT_EQUAL(tpa_pcr_set_add_bank(&q2, TPM2_ALG_SHA256), 0);
		for (p = 0; p < q.banks[0].count; p++)
			if (q.banks[0].index[p] != 10)
				tpa_pcr_set_add(&q2, q.banks[0].index[p], q.banks[0].digest[p], 32);
		CU_ASSERT_EQUAL_FATAL(boot_eval(&bt, &q2, 0), 0);
		tpa_appraisal_clear(&a);
		CU_ASSERT_EQUAL(tpa_baseline_appraise(&a, fixed, &bt.ev), 0);
		CU_ASSERT(strstr(a.rules[TPA_RULE_PCRS].detail, "not quoted") != NULL);
		CU_ASSERT_EQUAL(a.rules[TPA_RULE_REQUIRED_PCRS].status, TPA_RULE_FAIL);
		CU_ASSERT(strstr(a.rules[TPA_RULE_REQUIRED_PCRS].detail, "PCR 10 is not in the quote") !=
			  NULL);
	}
	/* PCR 15 moved with no event in the log: the log is incomplete. */
	q.banks[0].digest[10][0] ^= 1;
	q.banks[0].digest[12][0] ^= 1;             /* PCR 15 */
	CU_ASSERT_EQUAL_FATAL(boot_eval(&bt, &q, 0), 0);
	CU_ASSERT_FALSE(bt.ev.log_ok);
	CU_ASSERT(strstr(tpa_findings_get(&bt.checks, TPA_CHECK_EVENTLOG_REPLAY)->detail,
			 "PCR 15: the log has no event for it") != NULL);
	/* The registry's form of quoted values round-trips. */
	json = tpa_pcr_set_to_json(&q);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	CU_ASSERT_EQUAL(tpa_pcr_set_from_json(&back, json), 0);
	CU_ASSERT_EQUAL(back.nbanks, 1);
	CU_ASSERT_EQUAL(back.banks[0].count, q.banks[0].count);
	CU_ASSERT_EQUAL(memcmp(back.banks[0].digest[12], q.banks[0].digest[12], 32), 0);
	CU_ASSERT(tpa_pcr_set_from_json(&back, "{\"sha256\": {\"3\": \"zz\"}}") < 0);
	free(json);
	/* Without a log the log's rules fail, they do not pass. */
	CU_ASSERT_EQUAL_FATAL(boot_eval(&bt, &q, 0), 0);
	keep = bt.ev.log;
	bt.ev.log = NULL;
	tpa_appraisal_clear(&a);
	CU_ASSERT_EQUAL(tpa_baseline_appraise(&a, bl, &bt.ev), 0);
	CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_NON_COMPLIANT);
	CU_ASSERT(strstr(a.rules[TPA_RULE_BOOT_APPLICATIONS].detail, "no event log") != NULL);
	bt.ev.log = keep;
	tpa_appraisal_clear(&a);
	tpa_baseline_free(fixed);
	tpa_baseline_free(bl);
	boot_free(&bt);
}

/* A boot with several unexpected applications: every one is listed (event,
 * PCR, the digest seen) with the digests the baseline allows, in the result
 * and in JSON, and no "and N more" hides any of them. */
static void test_every_failure_listed(void)
{
	static const char *apps[] = {
		"cb994b400590b66cbf55fc663555caf0d4f1ce267464d0452c2361e05ee1cd50",
		"8a4af74576143e8ddfcfd46646b2734f32dc57cea4feaadd00f245625c3933a2",
		"c6ffd33076d66d41be67125c7614c3c9ff56b4107194cc2d3a0491dfa069445b",
	};
	const char *log = DATA "keylime/mb_log.bin", *fake =
		"abababababababababababababababababababababababababababababababab";
	tpa_baseline *bl = learn(log, TPM2_ALG_SHA256, "one-app"), *b = NULL;
	tpa_appraisal a = { 0 };
	const tpa_rule_result *r = &a.rules[TPA_RULE_BOOT_APPLICATIONS];
	char *json, *from, *to, *text, *out;
	size_t i, k;

	CU_ASSERT_PTR_NOT_NULL_FATAL(bl);
	json = tpa_baseline_to_json(bl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	/* The applications the boot ran replaced by one it did not. */
	from = strstr(json, "\"applications\": [");
	CU_ASSERT_PTR_NOT_NULL_FATAL(from);
	to = strchr(from, ']');
	CU_ASSERT_PTR_NOT_NULL_FATAL(to);
	text = malloc(strlen(json) + 200);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	snprintf(text, strlen(json) + 200, "%.*s\"applications\": [{\"digest\": \"%s\", \"path\": \"\"}%s",
		(int)(from - json), json, fake, to);
	CU_ASSERT_EQUAL_FATAL(tpa_baseline_parse(&b, text, strlen(text), "one-app"), 0);
	CU_ASSERT_EQUAL(appraise(&a, b, log, TPM2_ALG_SHA256), TPA_OUTCOME_NON_COMPLIANT);
	CU_ASSERT_EQUAL(r->status, TPA_RULE_FAIL);
	CU_ASSERT(r->nfailed >= 3);
	for (i = 0; i < 3; i++) {
		for (k = 0; k < r->nfailed; k++)
			if (strcmp(r->failed[k].seen, apps[i]) == 0)
				break;
		CU_ASSERT(k < r->nfailed);
		if (k < r->nfailed) {
			CU_ASSERT_EQUAL(r->failed[k].pcr, 4);
			CU_ASSERT(r->failed[k].event >= 0);
		}
		CU_ASSERT(r->seen && strstr(r->seen, apps[i]) != NULL);
	}
	CU_ASSERT_EQUAL_FATAL(r->nexpected, 1);
	CU_ASSERT_STRING_EQUAL(r->expected[0], fake);
	CU_ASSERT(strstr(r->detail, "more)") == NULL);
	out = tpa_appraisal_to_json(&a, "one-app", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	for (i = 0; i < 3; i++)
		CU_ASSERT(strstr(out, apps[i]) != NULL);
	CU_ASSERT(strstr(out, "\"expected\"") != NULL);
	CU_ASSERT(strstr(out, fake) != NULL);
	CU_ASSERT(strstr(out, "more)") == NULL);
	free(out);
	tpa_appraisal_clear(&a);
	tpa_baseline_free(b);
	free(text);
	free(json);
	tpa_baseline_free(bl);
}

/* The boot of file (in bl's bank) appraised at time now. */
static tpa_outcome appraise_at(tpa_appraisal *a, const tpa_baseline *bl, const char *file,
			       int64_t now)
{
	boot b;

	tpa_appraisal_clear(a);
	a->outcome = TPA_OUTCOME_NO_BASELINE;
	if (boot_load(&b, file, tpa_baseline_bank(bl)) < 0)
		return TPA_OUTCOME_NO_BASELINE;
	CU_ASSERT_EQUAL(tpa_baseline_appraise_at(a, bl, &b.ev, now), 0);
	boot_free(&b);
	return a->outcome;
}

/* A baseline (JSON) edited by f, parsed: NULL (said) if it does not parse. */
static tpa_baseline *edited(const tpa_baseline *bl, void (*f)(json_t *root, void *ctx),
			    void *ctx)
{
	char *text = tpa_baseline_to_json(bl), *out;
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;
	tpa_baseline *b = NULL;

	free(text);
	if (!j)
		return NULL;
	f(j, ctx);
	out = json_dumps(j, JSON_PRESERVE_ORDER);
	json_decref(j);
	if (out && tpa_baseline_parse(&b, out, strlen(out), "edited") < 0)
		fprintf(stderr, "edited: %s\n", tpa_err_last());
	free(out);
	return b;
}

/* The boot's applications moved from the allowed list into an allowance
 * that expires at ctx ("2030-01-01T00:00:00Z"). */
static void apps_to_allowance(json_t *root, void *ctx)
{
	json_t *r = json_object_get(json_object_get(root, "rules"), "boot-applications");
	json_t *a = json_object(), *list = json_array();

	json_object_set_new(a, "kind", json_string("shim"));
	json_object_set_new(a, "source", json_string("shimx64.efi.signed"));
	json_object_set_new(a, "expires", json_string((const char *)ctx));
	json_object_set(a, "applications", json_object_get(r, "applications"));
	json_array_append_new(list, a);
	json_object_set_new(r, "applications", json_array());
	json_object_set_new(r, "allowances", list);
}

/* The applications replaced by an allowance of an image the boot did not run. */
static void wrong_allowance(json_t *root, void *ctx)
{
	json_t *r = json_object_get(json_object_get(root, "rules"), "boot-applications");
	json_t *a = json_object(), *list = json_array(), *apps = json_array(), *e = json_object();

	(void)ctx;
	json_object_set_new(e, "digest", json_string("cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
						     "cdcdcdcdcdcdcdcdcdcdcdcd"));
	json_array_append_new(apps, e);
	json_object_set_new(a, "kind", json_string("kernel"));
	json_object_set_new(a, "expires", json_string("2030-01-01"));
	json_object_set_new(a, "applications", apps);
	json_array_append_new(list, a);
	json_object_set_new(r, "applications", json_array());
	json_object_set_new(r, "allowances", list);
}

/* An allowance lets an image pass until it expires; after, the rule fails
 * naming the expiry; an image no allowance holds still fails. */
static void test_allowances_expire(void)
{
	const char *log = DATA "keylime/mb_log.bin";
	tpa_baseline *bl = learn(log, TPM2_ALG_SHA256, "allowed"), *b;
	tpa_appraisal a = { 0 };
	const tpa_rule_result *r = &a.rules[TPA_RULE_BOOT_APPLICATIONS];
	int64_t until = 0;
	char *json;

	CU_ASSERT_PTR_NOT_NULL_FATAL(bl);
	CU_ASSERT_EQUAL_FATAL(tpa_time_parse_iso(&until, "2030-01-01T00:00:00Z"), 0);
	b = edited(bl, apps_to_allowance, "2030-01-01T00:00:00Z");
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(appraise_at(&a, b, log, until - 1), TPA_OUTCOME_COMPLIANT);
	CU_ASSERT_EQUAL(appraise_at(&a, b, log, until), TPA_OUTCOME_NON_COMPLIANT);
	CU_ASSERT_EQUAL(r->status, TPA_RULE_FAIL);
	if (!strstr(r->detail, "allowed until 2030-01-01T00:00:00Z (shim shimx64.efi.signed), "
		    "expired"))
		fprintf(stderr, "detail: %s\n", r->detail);
	CU_ASSERT(strstr(r->detail, "allowed until 2030-01-01T00:00:00Z (shim "
			 "shimx64.efi.signed), expired") != NULL);
	CU_ASSERT(r->nfailed >= 3);
	/* Written and read again, it means the same; merge keeps it. */
	json = tpa_baseline_to_json(b);
	CU_ASSERT(json && strstr(json, "\"allowances\"") != NULL);
	free(json);
	{
		tpa_baseline *m = NULL;

		CU_ASSERT_EQUAL(tpa_baseline_merge(&m, b, b), 0);
		CU_ASSERT_EQUAL(appraise_at(&a, m, log, until - 1), TPA_OUTCOME_COMPLIANT);
		tpa_baseline_free(m);
	}
	/* Another image allowed by mistake: the boot's still fail, "not among". */
	tpa_baseline_free(b);
	b = edited(bl, wrong_allowance, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(appraise_at(&a, b, log, until - 1), TPA_OUTCOME_NON_COMPLIANT);
	CU_ASSERT(strstr(r->detail, "is not among the 0 allowed") != NULL);
	CU_ASSERT(strstr(r->detail, "expired") == NULL);
	/* What the allowance in force accepts is listed as expected; once it
	 * expired, it is not. */
	CU_ASSERT_EQUAL(r->nexpected, 1);
	if (r->nexpected == 1)
		CU_ASSERT_STRING_EQUAL(r->expected[0], "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
				       "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd");
	CU_ASSERT_EQUAL(appraise_at(&a, b, log, until + 1), TPA_OUTCOME_NON_COMPLIANT);
	CU_ASSERT_EQUAL(r->nexpected, 0);
	tpa_appraisal_clear(&a);
	tpa_baseline_free(b);
	tpa_baseline_free(bl);
}

/* baseline allow from image files: the digests pesign computes, the file's
 * own on PCR 9 for a kernel, GRUB's commands derived from its version only
 * when the baseline judges PCR 8; refusals by name. */
static void test_allow_from_files(void)
{
	static const char mini[] =
		"{\"tpa_baseline\": 1, \"name\": \"mini\", \"bank\": \"sha256\", \"rules\": {"
		"\"boot-applications\": {\"severity\": \"critical\", \"applications\": [],"
		" \"boot_loader\": [%s]}}}";
	static const char pcr8[] = "{\"pcr\": 8, \"digest\": \"0101010101010101010101010101"
		"010101010101010101010101010101010101\"}";
	char text[1024], *json;
	tpa_baseline *b = NULL, *nb = NULL;
	tpa_allow_image im[2] = {
		{ "kernel", "tests/data/efi/vmlinuz-6.1.0-15-amd64", NULL },
		{ NULL, "tests/data/efi/initrd.img-6.1.0-15-amd64", NULL },
	};
	int64_t now = 1796169600; /* 2026-12-02 */

	im[1].kind = "initrd";
	snprintf(text, sizeof(text), mini, pcr8);
	CU_ASSERT_EQUAL_FATAL(parse_text(&b, text), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_baseline_allow(&nb, b, im, 2, now + 86400, "point release",
						 now), 0);
	json = tpa_baseline_to_json(nb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	/* pesign -h -i tests/data/efi/vmlinuz-6.1.0-15-amd64 */
	CU_ASSERT(strstr(json, "9d8132c3b51137cfb7c628a1f7fe3b4ede75df98d49babca610439911b15e285")
		  != NULL);
	CU_ASSERT(strstr(json, "\"expires\": \"2026-12-03T00:00:00Z\"") != NULL);
	CU_ASSERT(strstr(json, "\"added\": \"2026-12-02T00:00:00Z\"") != NULL);
	CU_ASSERT(strstr(json, "echo Loading Linux 6.1.0-15-amd64 ...") != NULL);
	CU_ASSERT(strstr(json, "initrd /boot/initrd.img-6.1.0-15-amd64") != NULL);
	CU_ASSERT(strstr(json, "\"kind\": \"initrd\"") != NULL);
	CU_ASSERT(strstr(json, "\"note\": \"point release\"") != NULL);
	free(json);
	tpa_baseline_free(nb);
	nb = NULL;
	tpa_baseline_free(b);
	b = NULL;
	/* A baseline that does not judge GRUB's commands gets none. */
	snprintf(text, sizeof(text), mini, "");
	CU_ASSERT_EQUAL_FATAL(parse_text(&b, text), 0);
	CU_ASSERT_EQUAL(tpa_baseline_allow(&nb, b, im, 1, now + 86400, NULL, now), 0);
	json = tpa_baseline_to_json(nb);
	CU_ASSERT(json && strstr(json, "echo Loading") == NULL && strstr(json, "\"pcr\": 9"));
	free(json);
	tpa_baseline_free(nb);
	nb = NULL;
	/* Refused: an expiry not in the future, an image that is no PE image
	 * (as a kernel), a file that is not there, an unknown kind, a bad note. */
	CU_ASSERT_EQUAL(tpa_baseline_allow(&nb, b, im, 1, now, NULL, now), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "not in the future") != NULL);
	im[1].kind = "kernel";
	CU_ASSERT_EQUAL(tpa_baseline_allow(&nb, b, im, 2, now + 1, NULL, now), TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), "initrd.img-6.1.0-15-amd64: 46 bytes: too short") != NULL);
	im[1].kind = "firmware";
	CU_ASSERT_EQUAL(tpa_baseline_allow(&nb, b, im, 2, now + 1, NULL, now), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "kind 'firmware'") != NULL);
	im[1].kind = "app";
	im[1].file = "tests/data/efi/nothere.efi";
	CU_ASSERT_EQUAL(tpa_baseline_allow(&nb, b, im, 2, now + 1, NULL, now), TPA_ERR_IO);
	CU_ASSERT(strstr(tpa_err_last(), "nothere.efi") != NULL);
	CU_ASSERT_EQUAL(tpa_baseline_allow(&nb, b, im, 1, now + 1, "a\nb", now),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(nb);
	tpa_baseline_free(b);
	b = NULL;
	/* A baseline without boot-applications cannot allow an image. */
	CU_ASSERT_EQUAL_FATAL(parse_text(&b, "{\"tpa_baseline\": 1, \"name\": \"x\", \"bank\": "
					 "\"sha256\", \"rules\": {}}"), 0);
	CU_ASSERT_EQUAL(tpa_baseline_allow(&nb, b, im, 1, now + 1, NULL, now), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "no boot-applications rule") != NULL);
	tpa_baseline_free(b);
}

/* Allowances are untrusted input too: each field checked, by name. */
static void test_allowances_untrusted(void)
{
	static const char head[] =
		"{\"tpa_baseline\": 1, \"name\": \"x\", \"bank\": \"sha256\", \"rules\": {"
		"\"boot-applications\": {\"severity\": \"critical\", \"applications\": [],"
		" \"boot_loader\": [], \"allowances\": %s}}}";
	static const char app[] = "\"applications\": [{\"digest\": \"0202020202020202020202020202"
		"020202020202020202020202020202020202\"}]";
	static const struct {
		const char *allowances, *where;
	} bad[] = {
		{ "{}", "allowances: must be a list" },
		{ "[{\"kind\": \"kernel\", %s}]", "allowances[0].expires: missing" },
		{ "[{\"kind\": \"kernel\", \"expires\": \"soon\", %s}]",
		  "allowances[0].expires: not an ISO 8601 time" },
		{ "[{\"kind\": \"kernel\", \"expires\": \"2027-02-30\", %s}]",
		  "allowances[0].expires: not an ISO 8601 time" },
		{ "[{\"kind\": \"bios\", \"expires\": \"2027-01-01\", %s}]",
		  "allowances[0].kind: must be kernel" },
		{ "[{\"expires\": \"2027-01-01\", %s}]", "allowances[0].kind: must be kernel" },
		{ "[{\"kind\": \"app\", \"expires\": \"2027-01-01\", \"until\": 1, %s}]",
		  "allowances[0].until: unknown field" },
		{ "[{\"kind\": \"app\", \"expires\": \"2027-01-01\", \"source\": \"a\\nb\", %s}]",
		  "allowances[0].source: must be printable ASCII" },
		{ "[{\"kind\": \"app\", \"expires\": \"2027-01-01\", \"note\": 5, %s}]",
		  "allowances[0].note: must be text" },
		{ "[{\"kind\": \"app\", \"expires\": \"2027-01-01\"}]",
		  "allowances[0]: allows nothing" },
		{ "[{\"kind\": \"app\", \"expires\": \"2027-01-01\", \"applications\": "
		  "[{\"digest\": \"xyz\"}]}]", "allowances[0].applications[0].digest: not 64" },
		{ "[{\"kind\": \"app\", \"expires\": \"2027-01-01\", \"boot_loader\": "
		  "[{\"pcr\": 24, \"digest\": \"00\"}]}]", "allowances[0].boot_loader[0].pcr" },
	};
	char a[600], text[1200];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(a, sizeof(a), bad[i].allowances, app);
		snprintf(text, sizeof(text), head, a);
		expect_refused(text, TPA_ERR_VERIFY, bad[i].where);
	}
	/* Old baselines (no allowances) and a valid one parse. */
	snprintf(a, sizeof(a), "[{\"kind\": \"app\", \"expires\": \"2027-01-01\", %s}]", app);
	snprintf(text, sizeof(text), head, a);
	{
		tpa_baseline *b = NULL;

		CU_ASSERT_EQUAL(parse_text(&b, text), 0);
		tpa_baseline_free(b);
	}
	/* Bounded: more than 256 allowances is refused. */
	{
		size_t cap = 300 * 200, at = 0, k;
		char *big = malloc(cap), *t2 = malloc(cap + 400);
		tpa_baseline *b = NULL;

		CU_ASSERT_PTR_NOT_NULL_FATAL(big);
		CU_ASSERT_PTR_NOT_NULL_FATAL(t2);
		at += (size_t)snprintf(big + at, cap - at, "[");
		for (k = 0; k < 257; k++)
			at += (size_t)snprintf(big + at, cap - at, "%s{\"kind\": \"app\", \"expires\": "
					       "\"2027-01-01\", %s}", k ? ", " : "", app);
		snprintf(big + at, cap - at, "]");
		snprintf(t2, cap + 400, head, big);
		CU_ASSERT_EQUAL(tpa_baseline_parse(&b, t2, strlen(t2), "mini.json"), TPA_ERR_LIMIT);
		CU_ASSERT(strstr(tpa_err_last(), "more than 256 allowances") != NULL);
		free(big);
		free(t2);
	}
}

/* The boot of file (offline, then quoted) with every PCR its log replays
 * to in the quote but left_out (TPA_PCR_COUNT: none): the quote does not
 * vouch for that one. */
static int quoted_but(boot *bt, tpa_pcr_set *q, const char *file, uint32_t left_out)
{
	const tpa_pcr_bank *rb;
	uint32_t k;

	if (boot_load(bt, file, TPM2_ALG_SHA256) < 0)
		return -1;
	rb = &bt->ev.assumed.banks[0];
	memset(q, 0, sizeof(*q));
	if (tpa_pcr_set_add_bank(q, TPM2_ALG_SHA256) < 0)
		return -1;
	for (k = 0; k < rb->count; k++)
		if (rb->index[k] != left_out &&
		    tpa_pcr_set_add(q, rb->index[k], rb->digest[k], 32) < 0)
			return -1;
	return boot_eval(bt, q, TPM2_ALG_SHA256);
}

/* A rule whose evidence lies on a PCR the quote leaves out has none: the
 * uefi-debug-mode rule of a boot whose PCR 7 is not quoted fails naming
 * the PCR, though no event of the log is a debug-mode action. */
static void test_unquoted_rule_pcr(void)
{
	const char *log = DATA "keylime/mb_log.bin";
	tpa_baseline *bl = learn(log, TPM2_ALG_SHA256, "mb");
	const tpa_rule_result *r;
	tpa_appraisal a = { 0 };
	tpa_pcr_set q;
	boot bt;

	CU_ASSERT_PTR_NOT_NULL_FATAL(bl);
	/* Every PCR quoted: the rule passes. */
	CU_ASSERT_EQUAL_FATAL(quoted_but(&bt, &q, log, TPA_PCR_COUNT), 0);
	CU_ASSERT_EQUAL(bt.ev.counted & (1u << 7), 1u << 7);
	CU_ASSERT_EQUAL(tpa_baseline_appraise(&a, bl, &bt.ev), 0);
	CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_COMPLIANT);
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_UEFI_DEBUG_MODE].status, TPA_RULE_PASS);
	tpa_appraisal_clear(&a);
	boot_free(&bt);
	/* PCR 7 left out. */
	CU_ASSERT_EQUAL_FATAL(quoted_but(&bt, &q, log, 7), 0);
	CU_ASSERT_EQUAL(bt.ev.counted & (1u << 7), 0);
	CU_ASSERT_EQUAL(bt.ev.state.uefi_debug_mode, 0);
	CU_ASSERT_EQUAL(tpa_baseline_appraise(&a, bl, &bt.ev), 0);
	r = &a.rules[TPA_RULE_UEFI_DEBUG_MODE];
	CU_ASSERT_EQUAL(r->status, TPA_RULE_FAIL);
	CU_ASSERT_EQUAL(r->pcr, 7);
	CU_ASSERT_EQUAL(r->event, -1);
	if (strcmp(r->detail, "sha256 PCR 7 is not vouched for by the quote: this rule has no "
		   "evidence") != 0)
		fprintf(stderr, "detail: %s\n", r->detail);
	CU_ASSERT_STRING_EQUAL(r->detail, "sha256 PCR 7 is not vouched for by the quote: this "
			       "rule has no evidence");
	tpa_appraisal_clear(&a);
	boot_free(&bt);
	tpa_baseline_free(bl);
}

/* An event on a PCR the quote leaves out is no evidence, also for a rule
 * whose PCRs are not fixed: GRUB's kernel command line (PCR 8), which the
 * baseline allows word for word, fails on its event. */
static void test_unquoted_event(void)
{
	const char *log = DATA "keylime/mb_log.bin";
	tpa_baseline *bl = learn(log, TPM2_ALG_SHA256, "mb");
	const tpa_rule_result *r = NULL;
	tpa_appraisal a = { 0 };
	tpa_pcr_set q;
	boot bt;

	CU_ASSERT_PTR_NOT_NULL_FATAL(bl);
	CU_ASSERT_EQUAL_FATAL(quoted_but(&bt, &q, log, TPA_PCR_COUNT), 0);
	CU_ASSERT_EQUAL(tpa_baseline_appraise(&a, bl, &bt.ev), 0);
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_KERNEL_CMDLINE].status, TPA_RULE_PASS);
	tpa_appraisal_clear(&a);
	boot_free(&bt);
	CU_ASSERT_EQUAL_FATAL(quoted_but(&bt, &q, log, 8), 0);
	CU_ASSERT_EQUAL(bt.ev.counted & (1u << 8), 0);
	CU_ASSERT_EQUAL(tpa_baseline_appraise(&a, bl, &bt.ev), 0);
	r = &a.rules[TPA_RULE_KERNEL_CMDLINE];
	CU_ASSERT_EQUAL(r->status, TPA_RULE_FAIL);
	CU_ASSERT_EQUAL(r->pcr, 8);
	CU_ASSERT(r->event > 0);
	{
		char want[160];

		snprintf(want, sizeof(want), "event %d (PCR 8): the quote does not vouch for "
			 "PCR 8, so the event is no evidence", r->event);
		if (strncmp(r->detail, want, strlen(want)) != 0)
			fprintf(stderr, "detail: %s\n", r->detail);
		CU_ASSERT_NSTRING_EQUAL(r->detail, want, strlen(want));
	}
	CU_ASSERT(strstr(r->detail, "not allowed") == NULL);
	tpa_appraisal_clear(&a);
	boot_free(&bt);
	tpa_baseline_free(bl);
}

/* The first application digest taken out of the baseline's. */
static void drop_first_app(json_t *root, void *ctx)
{
	json_t *apps = json_object_get(json_object_get(json_object_get(root, "rules"),
						       "boot-applications"), "applications");

	(void)ctx;
	json_array_remove(apps, 0);
}

/* A rule that has no evidence keeps saying so: a boot whose boot-loader
 * PCR 9 the quote leaves out fails boot-applications on PCR 9 as not
 * vouched for, and an application the baseline lacks, judged after it,
 * does not take that reason's place. */
static void test_no_evidence_stays_the_reason(void)
{
	const char *log = DATA "keylime/mb_log.bin";
	tpa_baseline *bl = learn(log, TPM2_ALG_SHA256, "mb"), *b;
	const tpa_rule_result *r;
	tpa_appraisal a = { 0 };
	tpa_pcr_set q;
	boot bt;

	CU_ASSERT_PTR_NOT_NULL_FATAL(bl);
	b = edited(bl, drop_first_app, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL_FATAL(quoted_but(&bt, &q, log, 9), 0);
	CU_ASSERT_EQUAL(tpa_baseline_appraise(&a, b, &bt.ev), 0);
	r = &a.rules[TPA_RULE_BOOT_APPLICATIONS];
	CU_ASSERT_EQUAL(r->status, TPA_RULE_FAIL);
	CU_ASSERT_EQUAL(r->pcr, 9);
	CU_ASSERT_EQUAL(r->event, -1);
	if (!strstr(r->detail, "PCR 9 is not vouched for by the quote"))
		fprintf(stderr, "\n  detail: %s\n", r->detail);
	CU_ASSERT_PTR_NOT_NULL(strstr(r->detail, "PCR 9 is not vouched for by the quote"));
	tpa_appraisal_clear(&a);
	boot_free(&bt);
	/* with PCR 9 quoted, the application is the reason */
	CU_ASSERT_EQUAL_FATAL(quoted_but(&bt, &q, log, TPA_PCR_COUNT), 0);
	CU_ASSERT_EQUAL(tpa_baseline_appraise(&a, b, &bt.ev), 0);
	CU_ASSERT_EQUAL(r->status, TPA_RULE_FAIL);
	CU_ASSERT_EQUAL(r->pcr, 4);
	CU_ASSERT_PTR_NOT_NULL(strstr(r->detail, "is not among the"));
	tpa_appraisal_clear(&a);
	boot_free(&bt);
	tpa_baseline_free(b);
	tpa_baseline_free(bl);
}

/* The certificate ctx (its SHA-256, hex) taken out of the authorities the
 * baseline allows. */
static void drop_authority(json_t *root, void *ctx)
{
	json_t *c = json_object_get(json_object_get(json_object_get(root, "rules"),
						    "authorities"), "certificates");
	size_t i;

	for (i = 0; i < json_array_size(c); i++)
		if (strcmp(json_string_value(json_array_get(c, i)), (const char *)ctx) == 0) {
			json_array_remove(c, i);
			return;
		}
}

/* An image verified by a certificate the baseline does not allow: the
 * authorities rule fails naming that certificate, though the other one
 * the boot measured is allowed. */
static void test_authority_not_allowed(void)
{
	static const char shim_ca[] =
		"f1fdf7ae3924a187e0f30a502271cb8369f5f26b8032f026aef6fce7a113d1c4";
	const char *log = DATA "keylime/mb_log.bin";
	tpa_baseline *bl = learn(log, TPM2_ALG_SHA256, "mb"), *b;
	tpa_appraisal a = { 0 };
	const tpa_rule_result *r = &a.rules[TPA_RULE_AUTHORITIES];
	char *json;

	CU_ASSERT_PTR_NOT_NULL_FATAL(bl);
	json = tpa_baseline_to_json(bl);
	CU_ASSERT(json && strstr(json, shim_ca) != NULL);
	free(json);
	CU_ASSERT_EQUAL(appraise(&a, bl, log, TPM2_ALG_SHA256), TPA_OUTCOME_COMPLIANT);
	CU_ASSERT_EQUAL(r->status, TPA_RULE_PASS);
	b = edited(bl, drop_authority, (void *)shim_ca);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	json = tpa_baseline_to_json(b);
	CU_ASSERT(json && strstr(json, shim_ca) == NULL);
	free(json);
	CU_ASSERT_EQUAL(appraise(&a, b, log, TPM2_ALG_SHA256), TPA_OUTCOME_NON_COMPLIANT);
	CU_ASSERT_EQUAL(r->status, TPA_RULE_FAIL);
	CU_ASSERT_EQUAL(r->pcr, 7);
	CU_ASSERT_STRING_EQUAL(r->detail, "an image was verified by a certificate not in the "
			       "baseline: f1fdf7ae3924a187... (CentOS Secure Boot CA 2)");
	CU_ASSERT_EQUAL(a.failed, 1);
	tpa_appraisal_clear(&a);
	tpa_baseline_free(b);
	tpa_baseline_free(bl);
}

/* The firmware versions the baseline allows replaced by one (ctx, hex)
 * that is not the boot's. */
static void other_firmware(json_t *root, void *ctx)
{
	json_t *r = json_object_get(json_object_get(root, "rules"), "firmware-version");
	json_t *list = json_array(), *e = json_object();

	json_object_set_new(e, "digest", json_string((const char *)ctx));
	json_object_set_new(e, "version", json_string("1.0"));
	json_array_append_new(list, e);
	json_object_set_new(r, "allowed", list);
}

/* An S-CRTM version the baseline does not list: the firmware-version rule
 * fails on its event, with the digest seen and the one allowed. */
static void test_firmware_not_allowed(void)
{
	const char *log = DATA "keylime/mb_log.bin";
	tpa_baseline *bl = learn(log, TPM2_ALG_SHA256, "mb"), *b;
	tpa_appraisal a = { 0 };
	const tpa_rule_result *r = &a.rules[TPA_RULE_FIRMWARE_VERSION];

	CU_ASSERT_PTR_NOT_NULL_FATAL(bl);
	CU_ASSERT_EQUAL(appraise(&a, bl, log, TPM2_ALG_SHA256), TPA_OUTCOME_COMPLIANT);
	CU_ASSERT_EQUAL(r->status, TPA_RULE_PASS);
	b = edited(bl, other_firmware, HEX64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	/* The rule is a warning in a learned baseline. */
	CU_ASSERT_EQUAL(appraise(&a, b, log, TPM2_ALG_SHA256), TPA_OUTCOME_WARNING);
	CU_ASSERT_EQUAL(r->status, TPA_RULE_FAIL);
	CU_ASSERT_EQUAL(r->event, 1);
	CU_ASSERT_EQUAL(r->pcr, 0);
	CU_ASSERT_STRING_EQUAL(r->detail, "event 1: firmware \"\" (96a296d224f285c6...) is not "
			       "among the 1 allowed");
	CU_ASSERT_EQUAL_FATAL(r->nfailed, 1);
	CU_ASSERT_STRING_EQUAL(r->failed[0].seen, "96a296d224f285c67bee93c30f8a3091"
			       "57f0daa35dc5b87e410b78630a09cfc7");
	CU_ASSERT_EQUAL_FATAL(r->nexpected, 1);
	CU_ASSERT_STRING_EQUAL(r->expected[0], HEX64);
	CU_ASSERT_EQUAL(a.failed, 1);
	tpa_appraisal_clear(&a);
	tpa_baseline_free(b);
	tpa_baseline_free(bl);
}

/* Boots written here event by event (logwriter): the log being written. */
static buf lw;

/* A log's start as firmware writes it: the Spec ID event (SHA-256 only),
 * then SecureBoot = 1 on PCR 7. */
static void lw_begin(void)
{
	static const uint8_t on = 1;
	uint8_t var[64];
	size_t vn;

	memset(&lw, 0, sizeof(lw));
	lw_spec_id(&lw, lw_sha256_only, lw_size32, 1, 2);
	vn = lw_secureboot_var(var, &on, 1);
	lw_event2(&lw, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, var, (uint32_t)vn, NULL, 0);
}

/* The end of the firmware's part: an EV_SEPARATOR on each of PCRs 0-7. */
static void lw_separators(void)
{
	static const uint8_t sep[4] = { 0 };
	uint32_t pcr;

	for (pcr = 0; pcr < 8; pcr++)
		lw_event2(&lw, pcr, TPA_EV_SEPARATOR, sep, 4, NULL, 0);
}

/* The boot lw holds (offline: every PCR counts) appraised by the baseline
 * MINI_HEAD rules. */
static void appraise_lw(tpa_appraisal *a, const char *rules)
{
	tpa_baseline *bl = NULL;
	char text[1024];
	boot b;

	tpa_appraisal_clear(a);
	snprintf(text, sizeof(text), MINI_HEAD "%s}}", rules);
	CU_ASSERT_EQUAL_FATAL(parse_text(&bl, text), 0);
	memset(&b, 0, sizeof(b));
	b.bytes = malloc(lw.n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b.bytes);
	memcpy(b.bytes, lw.b, lw.n);
	b.n = lw.n;
	CU_ASSERT_EQUAL_FATAL(boot_eval(&b, NULL, TPM2_ALG_SHA256), 0);
	/* The evidence holds: only the baseline can refuse it. */
	CU_ASSERT_TRUE(b.ev.log_ok);
	CU_ASSERT_EQUAL(b.ev.state.secure_boot, TPA_SB_ENABLED);
	CU_ASSERT_EQUAL(tpa_baseline_appraise(a, bl, &b.ev), 0);
	boot_free(&b);
	tpa_baseline_free(bl);
}

/* A firmware in UEFI debug mode (its "UEFI Debug Mode" EV_EFI_ACTION on
 * PCR 7) fails a baseline that forbids it; the same boot without that
 * action passes. */
static void test_debug_mode_forbidden(void)
{
	static const char rule[] = "\"uefi-debug-mode\": {\"severity\": \"critical\", "
		"\"forbidden\": true}";
	static const char dbg[] = "UEFI Debug Mode";
	tpa_appraisal a = { 0 };
	const tpa_rule_result *r = &a.rules[TPA_RULE_UEFI_DEBUG_MODE];

	lw_begin();
	lw_separators();
	appraise_lw(&a, rule);
	CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_COMPLIANT);
	CU_ASSERT_EQUAL(r->status, TPA_RULE_PASS);
	CU_ASSERT_STRING_EQUAL(r->detail, "no UEFI debug mode");

	lw_begin();
	lw_event2(&lw, 7, TPA_EV_EFI_ACTION, dbg, (uint32_t)strlen(dbg), NULL, 0);
	lw_separators();
	appraise_lw(&a, rule);
	CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_NON_COMPLIANT);
	CU_ASSERT_EQUAL(r->status, TPA_RULE_FAIL);
	CU_ASSERT_EQUAL(r->pcr, 7);
	CU_ASSERT_STRING_EQUAL(r->detail, "the firmware ran in UEFI debug mode (a \"UEFI Debug "
			       "Mode\" action in PCR 7)");
	tpa_appraisal_clear(&a);
}

/* A boot with Secure Boot on that measures no PK and no db: each rule
 * fails for its variable, it does not judge an empty database as holding
 * only allowed entries. */
static void test_sigdb_unmeasured(void)
{
	tpa_appraisal a = { 0 };

	lw_begin();
	lw_separators();
	appraise_lw(&a, "\"pk\": {\"severity\": \"critical\", \"certificates\": [\"" HEX64 "\"], "
		    "\"hashes\": []}, \"db\": {\"severity\": \"warning\", \"certificates\": [], "
		    "\"hashes\": [\"" HEX64 "\"]}");
	CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_NON_COMPLIANT);
	CU_ASSERT_EQUAL(a.failed, 2);
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_PK].status, TPA_RULE_FAIL);
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_PK].pcr, 7);
	CU_ASSERT_STRING_EQUAL(a.rules[TPA_RULE_PK].detail, "pk was not measured in PCR 7");
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_DB].status, TPA_RULE_FAIL);
	CU_ASSERT_STRING_EQUAL(a.rules[TPA_RULE_DB].detail, "db was not measured in PCR 7");
	CU_ASSERT_EQUAL(a.rules[TPA_RULE_KEK].status, TPA_RULE_NOT_APPLICABLE);
	tpa_appraisal_clear(&a);
}

/* s as systemd-stub measures a command line: UTF-16LE with its NUL. */
static uint32_t utf16(uint8_t *out, const char *s)
{
	uint32_t n = 0;

	do {
		out[n++] = (uint8_t)*s;
		out[n++] = 0;
	} while (*s++);
	return n;
}

/* systemd-stub's command line (PCR 12) is believed only when it hashes to
 * its digest: one that does not fails kernel-cmdline for that, though its
 * text is the one the baseline allows. */
static void test_cmdline_unbound(void)
{
	static const char rule[] = "\"kernel-cmdline\": {\"severity\": \"critical\", "
		"\"allowed\": [{\"exact\": \"root=/dev/vda2 ro quiet\"}]}";
	const tpa_rule_result *r;
	tpa_appraisal a = { 0 };
	uint8_t text[128], measured[128];
	uint32_t tn = utf16(text, "root=/dev/vda2 ro quiet");
	uint32_t mn = utf16(measured, "root=/dev/vda2 ro init=/bin/sh");

	r = &a.rules[TPA_RULE_KERNEL_CMDLINE];
	/* The text is what was measured: allowed. */
	lw_begin();
	lw_separators();
	lw_event2(&lw, 12, TPA_EV_IPL, text, tn, NULL, 0);
	appraise_lw(&a, rule);
	CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_COMPLIANT);
	CU_ASSERT_EQUAL(r->status, TPA_RULE_PASS);
	/* The same text over another line's digest. */
	lw_begin();
	lw_separators();
	lw_event2(&lw, 12, TPA_EV_IPL, text, tn, measured, mn);
	appraise_lw(&a, rule);
	CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_NON_COMPLIANT);
	CU_ASSERT_EQUAL(r->status, TPA_RULE_FAIL);
	CU_ASSERT_EQUAL(r->event, 10);
	CU_ASSERT_EQUAL(r->pcr, 12);
	CU_ASSERT_STRING_EQUAL(r->detail, "event 10 (PCR 12): the kernel command line does not "
			       "hash to its digest: the text is not what was measured");
	tpa_appraisal_clear(&a);
}

/* Silence is no pass: a boot that measured no boot application fails a
 * baseline that lists one, saying so. */
static void test_no_application_measured(void)
{
	tpa_appraisal a = { 0 };
	const tpa_rule_result *r = &a.rules[TPA_RULE_BOOT_APPLICATIONS];

	lw_begin();
	lw_separators();
	appraise_lw(&a, "\"boot-applications\": {\"severity\": \"critical\", \"applications\": "
		    "[{\"digest\": \"" HEX64 "\"}], \"boot_loader\": []}");
	CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_NON_COMPLIANT);
	CU_ASSERT_EQUAL(r->status, TPA_RULE_FAIL);
	CU_ASSERT_EQUAL(r->event, -1);
	CU_ASSERT_EQUAL(r->pcr, 4);
	CU_ASSERT_STRING_EQUAL(r->detail, "no boot application was measured on PCR 4 (the "
			       "baseline allows 1)");
	tpa_appraisal_clear(&a);
}

/* ... nor one against a baseline whose applications are all allowances
 * (what `baseline allow` makes before any device booted them). */
static void test_no_application_allowances_only(void)
{
	tpa_appraisal a = { 0 };
	const tpa_rule_result *r = &a.rules[TPA_RULE_BOOT_APPLICATIONS];

	lw_begin();
	lw_separators();
	appraise_lw(&a, "\"boot-applications\": {\"severity\": \"critical\", \"applications\": "
		    "[], \"boot_loader\": [], \"allowances\": [{\"kind\": \"kernel\", \"expires\": "
		    "\"2099-01-01\", \"applications\": [{\"digest\": \"" HEX64 "\"}]}]}");
	CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_NON_COMPLIANT);
	CU_ASSERT_EQUAL(r->status, TPA_RULE_FAIL);
	CU_ASSERT_STRING_EQUAL(r->detail, "no boot application was measured on PCR 4 (the "
			       "baseline allows 1)");
	tpa_appraisal_clear(&a);
}

/* Boot applications by signer on the real logs with Secure Boot on: learned
 * by signer, each accepts its own boot with no application digest; a
 * signer list that lacks one of the boot's authorities fails the rule,
 * naming that authority's event; a log with Secure Boot off cannot be
 * learned by signer. */
static void test_by_signer_real_logs(void)
{
	size_t i;
	int judged = 0;

	for (i = 0; i < sizeof(sb_on) / sizeof(sb_on[0]); i++) {
		tpa_baseline *bl = NULL, *cut = NULL;
		tpa_appraisal a = { 0 };
		json_t *root, *signers;
		char *text;
		boot b;

		if (sb_on[i].bank != TPM2_ALG_SHA256)
			continue;
		CU_ASSERT_EQUAL_FATAL(boot_load(&b, sb_on[i].file, 0), 0);
		if (tpa_baseline_learn_by_signer(&bl, &b.ev, "signed") < 0) {
			fprintf(stderr, "%s: %s\n", sb_on[i].file, tpa_err_last());
			CU_FAIL("learn --by-signer");
			boot_free(&b);
			continue;
		}
		judged++;
		CU_ASSERT_EQUAL(tpa_baseline_appraise(&a, bl, &b.ev), 0);
		CU_ASSERT_EQUAL(a.rules[TPA_RULE_BOOT_APPLICATIONS].status, TPA_RULE_PASS);
		if (a.rules[TPA_RULE_BOOT_APPLICATIONS].status != TPA_RULE_PASS)
			fprintf(stderr, "%s: %s\n", sb_on[i].file,
				a.rules[TPA_RULE_BOOT_APPLICATIONS].detail);
		tpa_appraisal_clear(&a);
		/* The last signer dropped: the rule fails on that authority. */
		text = tpa_baseline_to_json(bl);
		root = json_loads(text, 0, NULL);
		signers = json_object_get(json_object_get(json_object_get(root, "rules"),
							  "boot-applications"), "signers");
		CU_ASSERT_TRUE_FATAL(json_array_size(signers) >= 1);
		if (json_array_size(signers) > 1) {
			char *t2;

			json_array_remove(signers, json_array_size(signers) - 1);
			t2 = json_dumps(root, 0);
			CU_ASSERT_EQUAL(tpa_baseline_parse(&cut, t2, strlen(t2), "cut"), 0);
			CU_ASSERT_EQUAL(tpa_baseline_appraise(&a, cut, &b.ev), 0);
			CU_ASSERT_EQUAL(a.rules[TPA_RULE_BOOT_APPLICATIONS].status, TPA_RULE_FAIL);
			CU_ASSERT_PTR_NOT_NULL(strstr(a.rules[TPA_RULE_BOOT_APPLICATIONS].detail,
						      "is not a signer of the baseline"));
			CU_ASSERT_EQUAL(a.rules[TPA_RULE_BOOT_APPLICATIONS].pcr, 4);
			/* shim 15.4 measures GRUB (event 26), then the vendor
			 * certificate that verified it (27), then the kernel (77):
			 * both are bounded by that authority. */
			if (strstr(sb_on[i].file, "rhel8")) {
				const tpa_rule_result *r = &a.rules[TPA_RULE_BOOT_APPLICATIONS];
				int got26 = 0, got77 = 0;
				size_t k;

				for (k = 0; k < r->nfailed; k++) {
					got26 |= r->failed[k].event == 26;
					got77 |= r->failed[k].event == 77;
				}
				CU_ASSERT_TRUE(got26 && got77);
				CU_ASSERT_PTR_NOT_NULL(strstr(r->detail, "event 27: authority Shim"));
			}
			tpa_appraisal_clear(&a);
			tpa_baseline_free(cut);
			free(t2);
		}
		json_decref(root);
		free(text);
		tpa_baseline_free(bl);
		boot_free(&b);
	}
	CU_ASSERT_TRUE(judged >= 4);
	/* A boot with Secure Boot off: no signer vouches for anything. */
	{
		tpa_baseline *bl = NULL;
		tpa_appraisal a = { 0 };
		boot b, off;

		CU_ASSERT_EQUAL_FATAL(boot_load(&b, DATA "keylime/mb_log.bin", 0), 0);
		CU_ASSERT_EQUAL_FATAL(tpa_baseline_learn_by_signer(&bl, &b.ev, "signed"), 0);
		CU_ASSERT_EQUAL_FATAL(boot_load(&off, DATA "go-tpm-tools/gdc-host.bin", 0), 0);
		CU_ASSERT_EQUAL(tpa_baseline_appraise(&a, bl, &off.ev), 0);
		CU_ASSERT_EQUAL(a.rules[TPA_RULE_BOOT_APPLICATIONS].status, TPA_RULE_FAIL);
		CU_ASSERT_PTR_NOT_NULL(strstr(a.rules[TPA_RULE_BOOT_APPLICATIONS].detail,
					      "no signer vouches for it: Secure Boot is disabled: no "
					      "signature was checked"));
		if (!strstr(a.rules[TPA_RULE_BOOT_APPLICATIONS].detail, "no signature was checked"))
			fprintf(stderr, "gdc-host: %s\n", a.rules[TPA_RULE_BOOT_APPLICATIONS].detail);
		tpa_appraisal_clear(&a);
		tpa_baseline_free(bl);
		boot_free(&off);
		boot_free(&b);
	}
	{
		tpa_baseline *bl = NULL;
		boot b;

		CU_ASSERT_EQUAL_FATAL(boot_load(&b, DATA "go-tpm-tools/ubuntu-2104-no-secure-boot.bin",
						0), 0);
		CU_ASSERT_EQUAL(tpa_baseline_learn_by_signer(&bl, &b.ev, "x"), TPA_ERR_VERIFY);
		CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "Secure Boot is disabled"));
		CU_ASSERT_PTR_NULL(bl);
		boot_free(&b);
	}
}

/* The signer fields are untrusted input like the rest. */
static void test_by_signer_untrusted(void)
{
	static const char head[] = MINI_HEAD "\"boot-applications\": {\"severity\": \"critical\", "
		"\"applications\": [], \"boot_loader\": [], %s}}}";
	static const char sig[] = "\"signers\": [{\"certificate\": \"" HEX64 "\"}]";
	static const struct {
		const char *fields, *where;
	} bad[] = {
		{ "\"signers\": {}", "boot-applications.signers: must be a list" },
		{ "\"signers\": [5]", "boot-applications.signers[0]: must be an object" },
		{ "\"signers\": [{}]", "boot-applications.signers[0].certificate: missing" },
		{ "\"signers\": [{\"certificate\": \"00\"}]",
		  "boot-applications.signers[0].certificate: not 64" },
		{ "\"signers\": [{\"certificate\": \"" HEX64 "\", \"cn\": \"x\"}]",
		  "boot-applications.signers[0].cn: unknown field" },
		{ "\"signers\": [{\"certificate\": \"" HEX64 "\", \"subject\": \"a\\tb\"}]",
		  "boot-applications.signers[0].subject: must be printable ASCII" },
		{ "%s, \"kernel_commands\": [\"echo Loading Linux\"]",
		  "boot-applications.kernel_commands[0]: must name the kernel's version exactly once" },
		{ "%s, \"kernel_commands\": [\"initrd /{version}/{version}\"]",
		  "boot-applications.kernel_commands[0]: must name the kernel's version exactly once" },
		{ "%s, \"kernel_commands\": [7]",
		  "boot-applications.kernel_commands[0]: must be text" },
		{ "%s, \"unpinned_pcrs\": [4]",
		  "boot-applications.unpinned_pcrs[0]: PCR 4 holds no boot loader events" },
		{ "%s, \"unpinned_pcrs\": [24]", "boot-applications.unpinned_pcrs[0]: must be a PCR" },
		{ "\"unpinned_pcrs\": [9]", "boot-applications.unpinned_pcrs: needs signers" },
	};
	char f[400], text[1000];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(f, sizeof(f), bad[i].fields, sig);
		snprintf(text, sizeof(text), head, f);
		expect_refused(text, TPA_ERR_VERIFY, bad[i].where);
	}
	/* Bounded: more than 64 templates. */
	{
		char big[8000];
		size_t at = 0, k;

		at += (size_t)snprintf(big + at, sizeof(big) - at, "%s, \"kernel_commands\": [", sig);
		for (k = 0; k < 65; k++)
			at += (size_t)snprintf(big + at, sizeof(big) - at, "%s\"echo {version} %zu\"",
					       k ? ", " : "", k);
		snprintf(big + at, sizeof(big) - at, "]");
		{
			char t2[9000];

			snprintf(t2, sizeof(t2), head, big);
			expect_refused(t2, TPA_ERR_LIMIT, "more than 64 commands");
		}
	}
	{
		tpa_baseline *b = NULL;

		snprintf(f, sizeof(f), "%s, \"kernel_commands\": [\"echo Loading Linux {version} ...\"], "
			 "\"unpinned_pcrs\": [9, 11]", sig);
		snprintf(text, sizeof(text), head, f);
		CU_ASSERT_EQUAL(parse_text(&b, text), 0);
		tpa_baseline_free(b);
	}
}

/* A signer rule and no application measured: silence is no pass. */
static void test_no_application_by_signer(void)
{
	tpa_appraisal a = { 0 };
	const tpa_rule_result *r = &a.rules[TPA_RULE_BOOT_APPLICATIONS];

	lw_begin();
	lw_separators();
	appraise_lw(&a, "\"boot-applications\": {\"severity\": \"critical\", \"applications\": "
		    "[], \"boot_loader\": [], \"signers\": [{\"certificate\": \"" HEX64 "\"}]}");
	CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_NON_COMPLIANT);
	CU_ASSERT_EQUAL(r->status, TPA_RULE_FAIL);
	CU_ASSERT_STRING_EQUAL(r->detail, "no boot application was measured on PCR 4 (the "
			       "baseline allows them by signer)");
	tpa_appraisal_clear(&a);
}

/* ... nor a boot that measured no kernel command line, against a baseline
 * that allows some. */
static void test_no_cmdline_measured(void)
{
	tpa_appraisal a = { 0 };
	const tpa_rule_result *r = &a.rules[TPA_RULE_KERNEL_CMDLINE];

	lw_begin();
	lw_separators();
	appraise_lw(&a, "\"kernel-cmdline\": {\"severity\": \"warning\", \"allowed\": "
		    "[{\"exact\": \"ro quiet\"}, {\"pattern\": \"*console=ttyS0*\"}]}");
	CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_WARNING);
	CU_ASSERT_EQUAL(r->status, TPA_RULE_FAIL);
	CU_ASSERT_EQUAL(r->event, -1);
	CU_ASSERT_STRING_EQUAL(r->detail, "no kernel command line was measured (the baseline "
			       "allows 2)");
	tpa_appraisal_clear(&a);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("baselines (real event logs)", NULL, NULL);
	CU_add_test(s, "a learned baseline accepts its own boot", test_learn_accepts_its_boot);
	CU_add_test(s, "Secure Boot off against a Secure Boot on baseline",
		    test_secure_boot_off_against_on);
	CU_add_test(s, "merge and diff", test_merge_and_diff);
	CU_add_test(s, "every failing event listed, with the expected values",
		    test_every_failure_listed);
	CU_add_test(s, "baselines are untrusted input", test_untrusted_baselines);
	CU_add_test(s, "patterns, severities, outcomes", test_rules_and_outcomes);
	CU_add_test(s, "quoted PCRs: replayed, fixed, required", test_fixed_pcrs);
	CU_add_test(s, "allowances allow until they expire, then fail naming the expiry",
		    test_allowances_expire);
	CU_add_test(s, "baseline allow from image files", test_allow_from_files);
	CU_add_test(s, "allowances are untrusted input", test_allowances_untrusted);
	CU_add_test(s, "a rule on a PCR the quote leaves out has no evidence",
		    test_unquoted_rule_pcr);
	CU_add_test(s, "an event on a PCR the quote leaves out is no evidence",
		    test_unquoted_event);
	CU_add_test(s, "an image verified by a certificate not in the baseline",
		    test_authority_not_allowed);
	CU_add_test(s, "a firmware version not in the baseline", test_firmware_not_allowed);
	CU_add_test(s, "UEFI debug mode forbidden", test_debug_mode_forbidden);
	CU_add_test(s, "a signature database not measured", test_sigdb_unmeasured);
	CU_add_test(s, "a kernel command line that does not hash to its digest",
		    test_cmdline_unbound);
	CU_add_test(s, "no boot application measured", test_no_application_measured);
	CU_add_test(s, "no kernel command line measured", test_no_cmdline_measured);
	CU_add_test(s, "boot applications by signer on real logs", test_by_signer_real_logs);
	CU_add_test(s, "the signer fields are untrusted input", test_by_signer_untrusted);
	CU_add_test(s, "a signer rule and no application measured", test_no_application_by_signer);
	CU_add_test(s, "no application measured, the baseline's all allowances",
		    test_no_application_allowances_only);
	CU_add_test(s, "a rule without evidence keeps that reason", test_no_evidence_stays_the_reason);
	return test_run_all() ? 1 : 0;
}
