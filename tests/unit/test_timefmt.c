/* SPDX-License-Identifier: BSD-3-Clause */
/* ISO 8601 UTC times: known instants both ways, and what is refused. */
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tpa/err.h"
#include "tpa/timefmt.h"

static void test_format(void)
{
	char b[TPA_TIME_ISO_LEN + 1];

	CU_ASSERT_EQUAL(tpa_time_iso(b, sizeof(b), 0), 0);
	CU_ASSERT_STRING_EQUAL(b, "1970-01-01T00:00:00Z");
	CU_ASSERT_EQUAL(tpa_time_iso(b, sizeof(b), 951782400), 0);
	CU_ASSERT_STRING_EQUAL(b, "2000-02-29T00:00:00Z");
	CU_ASSERT_EQUAL(tpa_time_iso(b, sizeof(b), 1796214896), 0);
	CU_ASSERT_STRING_EQUAL(b, "2026-12-02T12:34:56Z");
	CU_ASSERT_EQUAL(tpa_time_iso(b, sizeof(b), -1), 0);
	CU_ASSERT_STRING_EQUAL(b, "1969-12-31T23:59:59Z");
	CU_ASSERT_EQUAL(tpa_time_iso(b, sizeof(b), 253402300800LL), TPA_ERR_INVALID_ARG);
	CU_ASSERT_STRING_EQUAL(b, "");
	CU_ASSERT_EQUAL(tpa_time_iso(b, TPA_TIME_ISO_LEN, 0), TPA_ERR_INVALID_ARG);
}

/* Every day of 1900..2100 against gmtime_r, both ways. */
static void test_against_libc(void)
{
	char b[TPA_TIME_ISO_LEN + 1], want[TPA_TIME_ISO_LEN + 1];
	int64_t t, back;
	struct tm tm;
	time_t tt;
	int bad = 0;

	for (t = -2208988800LL; t < 4133980800LL; t += 86400 + 3661) {
		tt = (time_t)t;
		gmtime_r(&tt, &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (tpa_time_iso(b, sizeof(b), t) || strcmp(b, want) ||
		    tpa_time_parse_iso(&back, b) || back != t)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static void test_parse(void)
{
	static const char *const refused[] = {
		"", "2026", "2026-1-01", "2026-13-01", "2026-02-29", "2026-12-02T24:00:00Z",
		"2026-12-02T12:00:00", "2026-12-02 12:00:00Z", "2026-12-02T12:00:00+0100",
		"2026-12-02T12:00:60Z", "2026-12-02T12:00:00Zx", "+026-12-02", "2026-12-02T12:00:00+24:00",
	};
	int64_t t;
	size_t i;

	CU_ASSERT_EQUAL(tpa_time_parse_iso(&t, "2026-12-02"), 0);
	CU_ASSERT_EQUAL(t, 1796169600);
	CU_ASSERT_EQUAL(tpa_time_parse_iso(&t, "2026-12-02T13:34:56+01:00"), 0);
	CU_ASSERT_EQUAL(t, 1796214896);
	CU_ASSERT_EQUAL(tpa_time_parse_iso(&t, "2026-12-02T11:34:56-01:00"), 0);
	CU_ASSERT_EQUAL(t, 1796214896);
	CU_ASSERT_EQUAL(tpa_time_parse_iso(&t, "2024-02-29"), 0);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		CU_ASSERT_EQUAL(tpa_time_parse_iso(&t, refused[i]), TPA_ERR_INVALID_ARG);
		CU_ASSERT(strstr(tpa_err_last(), "time") != NULL);
	}
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("timefmt", NULL, NULL);
	CU_add_test(s, "formats known instants, refuses years past 9999", test_format);
	CU_add_test(s, "agrees with gmtime_r over 1900..2100, both ways", test_against_libc);
	CU_add_test(s, "parses dates, Z and offsets; refuses the rest by name", test_parse);
	return test_run_all() ? 1 : 0;
}
