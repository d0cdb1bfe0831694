/* SPDX-License-Identifier: BSD-3-Clause */
#include <CUnit/Basic.h>

#include "testutil.h"

unsigned test_run_all(void)
{
	unsigned failed;

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed() +
		 CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed;
}
