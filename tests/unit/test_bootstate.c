/* SPDX-License-Identifier: BSD-3-Clause */
/* The trusted-launch state from logs built here byte by byte: Secure Boot
 * only from data that hashes to its measured digest. */
#include <stdint.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "logwriter.h"
#include "testutil.h"
#include "tpa/bootstate.h"
#include "tpa/eventlog.h"

/* The state of the log in w: parsed into *log (freed by the caller),
 * derived into *bs. */
static void derive(const buf *w, tpa_eventlog **log, tpa_bootstate *bs)
{
	CU_ASSERT_EQUAL_FATAL(tpa_eventlog_parse(log, w->b, w->n), 0);
	CU_ASSERT_EQUAL(tpa_bootstate_derive(bs, *log, 0, TPA_PCR_MASK_ALL), 0);
}

static void test_secure_boot_rules(void)
{
	static const uint8_t off = 0, on = 1, sep[4] = { 0 };
	uint8_t var[64];
	size_t vn;
	buf w;
	tpa_eventlog *log = NULL;
	tpa_bootstate bs;

	/* disabled */
	memset(&w, 0, sizeof(w));
	lw_spec_id(&w, lw_sha256_only, lw_size32, 1, 2);
	vn = lw_secureboot_var(var, &off, 1);
	lw_event2(&w, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, var, (uint32_t)vn, NULL, 0);
	derive(&w, &log, &bs);
	CU_ASSERT_EQUAL(bs.secure_boot, TPA_SB_DISABLED);
	tpa_bootstate_clear(&bs);
	tpa_eventlog_free(log);

	/* zero-length data: unknown */
	memset(&w, 0, sizeof(w));
	lw_spec_id(&w, lw_sha256_only, lw_size32, 1, 2);
	vn = lw_secureboot_var(var, &on, 0);
	lw_event2(&w, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, var, (uint32_t)vn, NULL, 0);
	derive(&w, &log, &bs);
	CU_ASSERT_EQUAL(bs.secure_boot, TPA_SB_UNKNOWN);
	tpa_bootstate_clear(&bs);
	tpa_eventlog_free(log);

	/* a lying log: the data says on, the measured digest says off */
	memset(&w, 0, sizeof(w));
	lw_spec_id(&w, lw_sha256_only, lw_size32, 1, 2);
	vn = lw_secureboot_var(var, &on, 1);
	{
		uint8_t measured[64];
		size_t mn = lw_secureboot_var(measured, &off, 1);

		lw_event2(&w, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, var, (uint32_t)vn, measured,
		       (uint32_t)mn);
	}
	lw_event2(&w, 7, TPA_EV_SEPARATOR, sep, 4, NULL, 0);
	derive(&w, &log, &bs);
	CU_ASSERT_EQUAL(bs.secure_boot, TPA_SB_UNKNOWN);
	CU_ASSERT_EQUAL(bs.digest_mismatches, 1);
	CU_ASSERT_EQUAL(bs.first_mismatch, 1);
	tpa_bootstate_clear(&bs);
	tpa_eventlog_free(log);

	/* "SecureBoot" under another vendor's GUID is not the UEFI global
	 * variable: it says nothing, and the real one, after it, decides. */
	memset(&w, 0, sizeof(w));
	lw_spec_id(&w, lw_sha256_only, lw_size32, 1, 2);
	vn = lw_secureboot_var(var, &on, 1);
	var[15] ^= 0x01;        /* the GUID's last byte: a vendor's own */
	lw_event2(&w, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, var, (uint32_t)vn, NULL, 0);
	derive(&w, &log, &bs);
	CU_ASSERT_EQUAL(bs.secure_boot, TPA_SB_UNKNOWN);
	tpa_bootstate_clear(&bs);
	tpa_eventlog_free(log);
	vn = lw_secureboot_var(var, &off, 1);
	lw_event2(&w, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, var, (uint32_t)vn, NULL, 0);
	derive(&w, &log, &bs);
	CU_ASSERT_EQUAL(bs.secure_boot, TPA_SB_DISABLED);
	CU_ASSERT(strstr(bs.secure_boot_why, "event 2:") != NULL);
	tpa_bootstate_clear(&bs);
	tpa_eventlog_free(log);

	/* Two SecureBoot events (a firmware that measures it again, or a log
	 * with one added after): the first decides, as firmware measures it
	 * before any boot application runs. Off, then on: off. */
	memset(&w, 0, sizeof(w));
	lw_spec_id(&w, lw_sha256_only, lw_size32, 1, 2);
	vn = lw_secureboot_var(var, &off, 1);
	lw_event2(&w, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, var, (uint32_t)vn, NULL, 0);
	vn = lw_secureboot_var(var, &on, 1);
	lw_event2(&w, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, var, (uint32_t)vn, NULL, 0);
	derive(&w, &log, &bs);
	CU_ASSERT_EQUAL(bs.secure_boot, TPA_SB_DISABLED);
	CU_ASSERT(strstr(bs.secure_boot_why, "event 1:") != NULL);
	tpa_bootstate_clear(&bs);
	tpa_eventlog_free(log);

	/* only the event type, no SecureBoot variable: unknown */
	memset(&w, 0, sizeof(w));
	lw_spec_id(&w, lw_sha256_only, lw_size32, 1, 2);
	lw_event2(&w, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, "\x01", 1, NULL, 0);
	derive(&w, &log, &bs);
	CU_ASSERT_EQUAL(bs.secure_boot, TPA_SB_UNKNOWN);
	tpa_bootstate_clear(&bs);
	tpa_eventlog_free(log);
}

/* A log whose PCR 7 the quote does not cover (counted: PCRs 0-6): its
 * SecureBoot is unverified, never enabled, and every fact with an event on
 * PCR 7 is unverified; a fact with all its events on counted PCRs (the
 * separators of 0-6 only) is verified. */
static void test_uncounted_facts(void)
{
	static const uint8_t on = 1, sep[4] = { 0 };
	uint8_t var[64];
	size_t vn;
	buf w;
	tpa_eventlog *log = NULL;
	tpa_bootstate bs;
	uint32_t pcr;

	memset(&w, 0, sizeof(w));
	lw_spec_id(&w, lw_sha256_only, lw_size32, 1, 2);
	vn = lw_secureboot_var(var, &on, 1);
	lw_event2(&w, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, var, (uint32_t)vn, NULL, 0);
	for (pcr = 0; pcr < 7; pcr++)
		lw_event2(&w, pcr, TPA_EV_SEPARATOR, sep, 4, NULL, 0);
	CU_ASSERT_EQUAL_FATAL(tpa_eventlog_parse(&log, w.b, w.n), 0);

	/* All PCRs count: enabled, verified. */
	CU_ASSERT_EQUAL(tpa_bootstate_derive(&bs, log, 0, TPA_PCR_MASK_ALL), 0);
	CU_ASSERT_EQUAL(bs.secure_boot, TPA_SB_ENABLED);
	CU_ASSERT_EQUAL(bs.facts[TPA_FACT_SECURE_BOOT].status, TPA_FACT_VERIFIED);
	CU_ASSERT_EQUAL(bs.facts[TPA_FACT_SEPARATORS].status, TPA_FACT_VERIFIED);
	tpa_bootstate_clear(&bs);

	/* PCR 7 does not count. */
	CU_ASSERT_EQUAL(tpa_bootstate_derive(&bs, log, 0, 0x7f), 0);
	CU_ASSERT_EQUAL(bs.secure_boot, TPA_SB_UNVERIFIED);
	CU_ASSERT(strstr(bs.secure_boot_why, "event 1: SecureBoot is measured in PCR 7, which "
				     "the quote does not vouch for") != NULL);
	CU_ASSERT_EQUAL(bs.facts[TPA_FACT_SECURE_BOOT].status, TPA_FACT_UNVERIFIED);
	CU_ASSERT_EQUAL(bs.facts[TPA_FACT_SEPARATORS].status, TPA_FACT_VERIFIED);
	CU_ASSERT_EQUAL(bs.uncounted_events, 1);
	tpa_bootstate_clear(&bs);

	/* Nothing counts: the separators are unverified too. */
	CU_ASSERT_EQUAL(tpa_bootstate_derive(&bs, log, 0, 0), 0);
	CU_ASSERT_EQUAL(bs.secure_boot, TPA_SB_UNVERIFIED);
	CU_ASSERT_EQUAL(bs.facts[TPA_FACT_SEPARATORS].status, TPA_FACT_UNVERIFIED);
	CU_ASSERT_EQUAL(bs.uncounted_events, 8);
	tpa_bootstate_clear(&bs);
	tpa_eventlog_free(log);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("bootstate", NULL, NULL);
	CU_add_test(s, "Secure Boot from checked data only", test_secure_boot_rules);
	CU_add_test(s, "facts on PCRs the quote does not cover are unverified",
		    test_uncounted_facts);
	return test_run_all() ? 1 : 0;
}
