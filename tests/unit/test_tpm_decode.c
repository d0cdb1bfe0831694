/* SPDX-License-Identifier: BSD-3-Clause */
/* The TPM structure decoders on hostile bytes, and the hash table. */
#include <stddef.h>
#include <stdint.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tpa/err.h"
#include "tpa/tpm_decode.h"

static void test_decode_garbage(void)
{
	uint8_t b[4096] = { 0 };
	TPMS_ATTEST a;
	TPMT_PUBLIC p;
	TPMT_SIGNATURE s;
	size_t n;
	unsigned seed = 12345;

	CU_ASSERT_EQUAL(tpa_decode_attest(&a, b, 0), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_decode_attest(&a, b, TPA_ATTEST_MAX + 1), TPA_ERR_LIMIT);
	CU_ASSERT_EQUAL(tpa_decode_public(&p, b, TPA_PUBLIC_MAX + 1), TPA_ERR_LIMIT);
	CU_ASSERT_EQUAL(tpa_decode_signature(&s, b, TPA_SIGNATURE_MAX + 1), TPA_ERR_LIMIT);
	for (n = 1; n < 600; n++) {
		size_t i;

		for (i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			b[i] = (uint8_t)(seed >> 16);
		}
		/* Must not crash; almost all random inputs are refused. */
		(void)tpa_decode_attest(&a, b, n);
		(void)tpa_decode_public(&p, b, n);
		(void)tpa_decode_signature(&s, b, n);
	}
	/* A signature with an unknown algorithm. */
	b[0] = 0x12;
	b[1] = 0x34;
	CU_ASSERT_EQUAL(tpa_decode_signature(&s, b, 8), TPA_ERR_PARSE);
}

static void test_hash_table(void)
{
	CU_ASSERT_EQUAL(tpa_hash_size(TPM2_ALG_SHA256), 32);
	CU_ASSERT_EQUAL(tpa_hash_size(TPM2_ALG_SM3_256), 32);
	CU_ASSERT_EQUAL(tpa_hash_size(0x0001), 0); /* TPM_ALG_RSA is no hash */
	CU_ASSERT_PTR_NULL(tpa_hash_name(0x9999));
	CU_ASSERT_STRING_EQUAL(tpa_hash_label(TPM2_ALG_SHA384), "sha384");
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("tpm_decode", NULL, NULL);
	CU_add_test(s, "hostile bytes", test_decode_garbage);
	CU_add_test(s, "hash table", test_hash_table);
	return test_run_all() ? 1 : 0;
}
