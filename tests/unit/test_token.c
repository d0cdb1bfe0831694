/* SPDX-License-Identifier: BSD-3-Clause */
/* Tokens as a relying party checks them: the limits on what the verifier
 * signs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tpa/err.h"
#include "tpa/service.h"
#include "tpa/token.h"

/* ---- what the verifier signs ---- */

static void test_sign_lifetime(void)
{
	tpa_token_key *k = NULL;
	tpa_token_claims c;
	tpa_service_opts so;
	tpa_service *svc = NULL;
	char *tok = NULL;

	CU_ASSERT_EQUAL_FATAL(tpa_token_key_new(&k), 0);
	memset(&c, 0, sizeof(c));
	c.status = "affirming";
	c.iat = 1000;

	c.ttl_s = 0;
	CU_ASSERT_EQUAL(tpa_token_sign(&tok, k, &c), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "lifetime 0 s is not in 1..") != NULL);
	c.ttl_s = TPA_TOKEN_MAX_TTL_S + 1;
	CU_ASSERT_EQUAL(tpa_token_sign(&tok, k, &c), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "lifetime") != NULL);
	CU_ASSERT_PTR_NULL(tok);
	c.ttl_s = 60;
	c.iat = -1;
	CU_ASSERT_EQUAL(tpa_token_sign(&tok, k, &c), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "iat -1 out of range") != NULL);
	c.iat = INT64_MAX - 10;
	CU_ASSERT_EQUAL(tpa_token_sign(&tok, k, &c), TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(tok);
	/* The maximum itself is signed. */
	c.iat = 1000;
	c.ttl_s = TPA_TOKEN_MAX_TTL_S;
	CU_ASSERT_EQUAL(tpa_token_sign(&tok, k, &c), 0);
	CU_ASSERT_PTR_NOT_NULL(tok);
	free(tok);

	/* A service never starts with a lifetime it could not sign. */
	memset(&so, 0, sizeof(so));
	so.key = k;
	so.token_ttl_s = TPA_TOKEN_MAX_TTL_S + 1;
	CU_ASSERT_EQUAL(tpa_service_new(&svc, &so), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "token lifetime") != NULL);
	CU_ASSERT_PTR_NULL(svc);
	so.token_ttl_s = TPA_TOKEN_MAX_TTL_S;
	CU_ASSERT_EQUAL(tpa_service_new(&svc, &so), 0);
	tpa_service_free(svc);
	tpa_token_key_free(k);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("token signing", NULL, NULL);
	CU_add_test(s, "lifetime in 1..TPA_TOKEN_MAX_TTL_S", test_sign_lifetime);
	return test_run_all() ? 1 : 0;
}
