/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared by the CUnit test programs. */
#ifndef TPA_TEST_TESTUTIL_H
#define TPA_TEST_TESTUTIL_H

/* Runs every registered suite verbosely, cleans the registry up and returns
 * the number of failures (asserts, suites and tests). */
unsigned test_run_all(void);

#endif
