/* SPDX-License-Identifier: BSD-3-Clause */
/* One error enum: every code has its string, and the message slot. */
#include <string.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tpa/err.h"

static void test_err_strings(void)
{
	int c;

	for (c = TPA_OK; c >= TPA_ERR_LAST; c--)
		CU_ASSERT(strcmp(tpa_err_str(c), "unknown error") != 0);
	CU_ASSERT_STRING_EQUAL(tpa_err_str(-999), "unknown error");
	CU_ASSERT_EQUAL(tpa_err_fail(TPA_ERR_IO, "x %d", 7), TPA_ERR_IO);
	CU_ASSERT_STRING_EQUAL(tpa_err_last(), "x 7");
	/* The last message wrapped in a new one, as callers do. */
	tpa_err_fail(TPA_ERR_IO, "AK file %s", tpa_err_last());
	CU_ASSERT_STRING_EQUAL(tpa_err_last(), "AK file x 7");
	tpa_err_clear();
	CU_ASSERT_STRING_EQUAL(tpa_err_last(), "");
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("err", NULL, NULL);
	CU_add_test(s, "strings and message slot", test_err_strings);
	return test_run_all() ? 1 : 0;
}
