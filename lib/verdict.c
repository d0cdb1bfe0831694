/* SPDX-License-Identifier: BSD-3-Clause */
/* The one decision (see verdict.h). */
#include <stdio.h>
#include <string.h>

#include "tpa/err.h"
#include "tpa/verdict.h"

const char *tpa_ear_status_name(tpa_ear_status s)
{
	switch (s) {
	case TPA_EAR_AFFIRMING: return "affirming";
	case TPA_EAR_WARNING: return "warning";
	case TPA_EAR_CONTRAINDICATED: return "contraindicated";
	case TPA_EAR_NONE: return "none";
	}
	return "none";
}

const char *tpa_verdict_status_name(tpa_verdict_status s)
{
	switch (s) {
	case TPA_STATUS_COMPLIANT: return "COMPLIANT";
	case TPA_STATUS_WARNING: return "WARNING";
	case TPA_STATUS_NON_COMPLIANT: return "NON_COMPLIANT";
	}
	return "NON_COMPLIANT";
}

void tpa_verdict_clear(tpa_verdict *v)
{
	if (!v)
		return;
	tpa_boot_clear(&v->boot);
	tpa_appraisal_clear(&v->appraisal);
	memset(v, 0, sizeof(*v));
}

/* The device's word against the log's, where both say something. */
static void check_client(tpa_verdict *v, tpa_claimed claimed)
{
	tpa_secure_boot shown = v->boot.state.secure_boot;
	const char *said;

	if (!v->replayed || claimed == TPA_CLAIMED_UNKNOWN ||
	    (shown != TPA_SB_ENABLED && shown != TPA_SB_DISABLED))
		return;
	said = claimed == TPA_CLAIMED_ON ? "enabled" : "disabled";
	if ((claimed == TPA_CLAIMED_ON) != (shown == TPA_SB_ENABLED))
		tpa_findings_add(&v->checks, TPA_CHECK_CLIENT_SECURE_BOOT, 0,
				 "the device reports Secure Boot %s, its event log shows %s", said,
				 tpa_secure_boot_name(shown));
	else
		tpa_findings_add(&v->checks, TPA_CHECK_CLIENT_SECURE_BOOT, 1,
				 "the device's report agrees with the log (%s)", said);
}

/* The worst result of some rules: 0 when none applied, pass when all that
 * applied passed, else warn or crit by the worst severity that failed. */
static int rule_claim(const tpa_appraisal *ap, const tpa_rule_id *ids, size_t n, int pass,
		      int warn, int crit)
{
	int seen = 0, worst = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		const tpa_rule_result *r = &ap->rules[ids[i]];

		if (r->status == TPA_RULE_NOT_APPLICABLE)
			continue;
		seen = 1;
		if (r->status == TPA_RULE_FAIL)
			worst = r->severity == TPA_SEVERITY_CRITICAL ? crit :
				(worst == crit ? crit : warn);
	}
	return !seen ? 0 : worst ? worst : pass;
}

/* The AR4SI vector (docs/claims.md): hardware from the quote and the EK
 * chain behind a registered AK, instance identity from the registry,
 * executables and configuration from the evidence and the rules of the
 * baseline that judge them. */
static void ar4si_vector(tpa_verdict *v, int registered)
{
	static const tpa_rule_id exec[] = { TPA_RULE_FIRMWARE_VERSION, TPA_RULE_BOOT_APPLICATIONS,
					    TPA_RULE_KNOWN_EVENTS, TPA_RULE_NO_REVOKED_COMPONENTS };
	static const tpa_rule_id conf[] = { TPA_RULE_SECURE_BOOT, TPA_RULE_UEFI_DEBUG_MODE,
					    TPA_RULE_PK, TPA_RULE_KEK, TPA_RULE_DB,
					    TPA_RULE_AUTHORITIES, TPA_RULE_KERNEL_CMDLINE,
					    TPA_RULE_PCRS, TPA_RULE_REQUIRED_PCRS,
					    TPA_RULE_DBX_CURRENT, TPA_RULE_CA_2023,
					    TPA_RULE_NO_TEST_KEYS };
	const tpa_check *sig = tpa_findings_get(&v->checks, TPA_CHECK_QUOTE_SIGNATURE);
	tpa_ar4si *a = &v->vector;

	memset(a, 0, sizeof(*a));
	a->hardware = sig && !sig->passed ? 99 : registered ? 2 : 0;
	a->instance_identity = registered ? 2 : 0;
	if (tpa_findings_failed_class(&v->checks, TPA_CHECK_CLASS_EVENTLOG)) {
		a->executables = 99;
		return;
	}
	if (!v->evidence_ok || !v->appraised)
		return;
	a->executables = rule_claim(&v->appraisal, exec, sizeof(exec) / sizeof(exec[0]), 3, 33,
				    96);
	a->configuration = rule_claim(&v->appraisal, conf, sizeof(conf) / sizeof(conf[0]), 2, 32,
				      96);
	/* A stale dbx is a known vulnerability of the configuration. */
	if (v->appraisal.rules[TPA_RULE_DBX].status == TPA_RULE_FAIL && a->configuration < 32)
		a->configuration = 32;
	else if (v->appraisal.rules[TPA_RULE_DBX].status == TPA_RULE_PASS && a->configuration == 0)
		a->configuration = 2;
}

int tpa_verdict_judge(tpa_verdict *out, const tpa_verdict_input *in)
{
	tpa_verdict *v = out;
	tpa_boot_input bi;
	int err;

	if (!out || !in)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "verdict: NULL");
	memset(v, 0, sizeof(*v));
	v->offline = !in->checks;
	if (in->checks)
		v->checks = *in->checks;
	/* The PCR values are the TPM's only if every check so far held. */
	v->quote_ok = tpa_findings_failed(&v->checks) == 0;

	memset(&bi, 0, sizeof(bi));
	bi.event_log = in->event_log;
	bi.event_log_len = in->event_log_len;
	bi.quoted = v->offline ? NULL : in->quoted;
	bi.quote_failed = !v->quote_ok;
	bi.baseline_bank = tpa_baseline_bank(in->baseline);
	bi.sbref = in->sbref;
	if ((err = tpa_boot_evaluate(&v->boot, &v->checks, &bi)) < 0) {
		tpa_boot_clear(&v->boot);
		return err;
	}
	/* The state is shown for a log that replays to a verified quote (its
	 * facts each verified or not); a measured boot also needs the
	 * firmware's PCRs 0-7 among those replayed (a quote of PCR 23 alone
	 * replays too, and proves nothing of the boot). */
	v->replayed = !v->offline && v->quote_ok && v->boot.log &&
		      tpa_findings_passed(&v->checks, TPA_CHECK_QUOTE_BANKS) &&
		      tpa_findings_passed(&v->checks, TPA_CHECK_EVENTLOG_REPLAY);
	v->measured_boot = v->replayed &&
			   (v->boot.counted & TPA_BOOT_SEPARATOR_PCRS) == TPA_BOOT_SEPARATOR_PCRS;
	check_client(v, in->client_secure_boot);
	v->evidence_ok = tpa_findings_failed(&v->checks) == 0;

	tpa_appraisal_none(&v->appraisal);
	if (in->baseline && v->evidence_ok) {
		if ((err = tpa_baseline_appraise(&v->appraisal, in->baseline, &v->boot)) < 0) {
			tpa_boot_clear(&v->boot);
			return err;
		}
		v->appraised = 1;
	}
	v->outcome = !v->evidence_ok ? TPA_OUTCOME_NOT_APPRAISED :
		!v->appraised ? TPA_OUTCOME_NO_BASELINE : v->appraisal.outcome;
	v->status = v->outcome == TPA_OUTCOME_COMPLIANT ? TPA_STATUS_COMPLIANT :
		v->outcome == TPA_OUTCOME_WARNING ? TPA_STATUS_WARNING : TPA_STATUS_NON_COMPLIANT;
	switch (v->outcome) {
	case TPA_OUTCOME_COMPLIANT: v->ear = TPA_EAR_AFFIRMING; break;
	case TPA_OUTCOME_WARNING: v->ear = TPA_EAR_WARNING; break;
	case TPA_OUTCOME_NO_BASELINE: v->ear = TPA_EAR_NONE; break;
	case TPA_OUTCOME_NON_COMPLIANT:
	case TPA_OUTCOME_NOT_APPRAISED: v->ear = TPA_EAR_CONTRAINDICATED; break;
	}
	/* Without a registry the AK is taken on its word: nothing says the TPM
	 * is genuine or which device it is, so the result is no better than a
	 * warning (its reasons say why). */
	if (!v->offline && !in->registered && v->ear == TPA_EAR_AFFIRMING) {
		v->ear = TPA_EAR_WARNING;
		v->unbound_ak = 1;
	}
	ar4si_vector(v, !v->offline && in->registered);
	return 0;
}

void tpa_verdict_reasons(const tpa_verdict *v, char *out, size_t cap)
{
	size_t k, o = 0;

	if (!cap)
		return;
	out[0] = '\0';
	for (k = 0; v && k < v->checks.n + TPA_RULE_COUNT && o + 2 < cap; k++) {
		const char *what = NULL;
		int w;

		if (k < v->checks.n)
			what = v->checks.items[k].passed ? NULL : v->checks.items[k].name;
		else if (v->appraised && v->appraisal.rules[k - v->checks.n].status == TPA_RULE_FAIL)
			what = tpa_rule_name(v->appraisal.rules[k - v->checks.n].rule);
		if (!what)
			continue;
		w = snprintf(out + o, cap - o, "%s%s", o ? ", " : "", what);
		if (w < 0 || (size_t)w >= cap - o)
			break;
		o += (size_t)w;
	}
}
