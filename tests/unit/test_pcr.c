/* SPDX-License-Identifier: BSD-3-Clause */
/* PCR sets: the selection parser (a command-line and configuration string)
 * and the rules of a set built from untrusted evidence. */
#include <string.h>

#include <CUnit/Basic.h>
#include <tss2/tss2_tpm2_types.h>

#include "testutil.h"
#include "tpa/err.h"
#include "tpa/pcr.h"

static void test_selection_parse(void)
{
	tpa_pcr_set s;

	CU_ASSERT_EQUAL(tpa_pcr_set_parse_selection(&s, "sha256:0-9"), 0);
	CU_ASSERT_EQUAL(s.nbanks, 1);
	CU_ASSERT_EQUAL(s.banks[0].count, 10);
	CU_ASSERT_EQUAL(s.banks[0].hash_alg, TPM2_ALG_SHA256);
	CU_ASSERT_EQUAL(tpa_pcr_set_parse_selection(&s, "sha1:0,7+sha256:23,2,2"), 0);
	CU_ASSERT_EQUAL(s.nbanks, 2);
	CU_ASSERT_EQUAL(s.banks[1].count, 2);
	CU_ASSERT_EQUAL(s.banks[1].index[0], 2);
	CU_ASSERT_EQUAL(s.banks[1].index[1], 23);
	CU_ASSERT_EQUAL(tpa_pcr_set_parse_selection(&s, "sha384:0-23"), 0);
	CU_ASSERT_EQUAL(s.banks[0].count, 24);
}

static void test_selection_bad(void)
{
	static const char *bad[] = {
		"", "sha256", "sha256:", "sha256:24", "sha256:9-3", "md5:0",
		"sha256:0,", "sha256:0-", "sha256:-1", "sha256:0+", "sha256:0 1",
		"sha256:100", "sha256:0+sha256:1", "sha256:007",
		"sha1:0+sha256:0+sha384:0+sha512:0+sha1:1",
	};
	tpa_pcr_set s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT(tpa_pcr_set_parse_selection(&s, bad[i]) < 0);
		CU_ASSERT(strlen(tpa_err_last()) > 0);
	}
}

static void test_pcr_set_rules(void)
{
	tpa_pcr_set s;
	uint8_t d[64] = { 0 };

	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(tpa_pcr_set_add(&s, 0, d, 32), TPA_ERR_INVALID_ARG); /* no bank */
	CU_ASSERT_EQUAL(tpa_pcr_set_add_bank(&s, 0x1234), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_pcr_set_add_bank(&s, TPM2_ALG_SHA256), 0);
	CU_ASSERT_EQUAL(tpa_pcr_set_add(&s, 1, d, 31), TPA_ERR_PARSE);  /* short */
	CU_ASSERT_EQUAL(tpa_pcr_set_add(&s, 24, d, 32), TPA_ERR_PARSE); /* range */
	CU_ASSERT_EQUAL(tpa_pcr_set_add(&s, 0xFFFFFFFFu, d, 32), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_pcr_set_add(&s, 5, d, 32), 0);
	CU_ASSERT_EQUAL(tpa_pcr_set_add(&s, 5, d, 32), TPA_ERR_PARSE);  /* duplicate */
	CU_ASSERT_EQUAL(tpa_pcr_set_add(&s, 4, d, 32), TPA_ERR_PARSE);  /* order */
	CU_ASSERT_EQUAL(tpa_pcr_set_add_bank(&s, TPM2_ALG_SHA256), TPA_ERR_PARSE);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("pcr", NULL, NULL);
	CU_add_test(s, "selection parser", test_selection_parse);
	CU_add_test(s, "selection parser refuses", test_selection_bad);
	CU_add_test(s, "PCR set rules", test_pcr_set_rules);
	return test_run_all() ? 1 : 0;
}
