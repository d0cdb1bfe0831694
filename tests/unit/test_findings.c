/* SPDX-License-Identifier: BSD-3-Clause */
/* Findings: a list that is full never reads as a pass. */
#include <string.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tpa/findings.h"

static void test_findings_overflow(void)
{
	tpa_findings f;
	int i;

	memset(&f, 0, sizeof(f));
	for (i = 0; i < TPA_CHECKS_MAX + 5; i++)
		tpa_findings_add(&f, TPA_CHECK_OTHER, 1, "%d", i);
	CU_ASSERT_EQUAL(f.n, TPA_CHECKS_MAX);
	/* Overflow is never a silent pass. */
	CU_ASSERT_EQUAL(tpa_findings_failed(&f), 1);
	CU_ASSERT_PTR_NOT_NULL(tpa_findings_find(&f, "findings.overflow"));
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("findings", NULL, NULL);
	CU_add_test(s, "findings overflow fails closed", test_findings_overflow);
	return test_run_all() ? 1 : 0;
}
