/* SPDX-License-Identifier: BSD-3-Clause */
/* Sealed challenges and enrollments, and the used set: every way a sealed
 * id can be wrong is refused with its reason, and nothing is kept for one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tpa/err.h"
#include "tpa/seal.h"

static uint64_t now_ms;

static uint64_t test_clock(void *ctx)
{
	(void)ctx;
	return now_ms;
}

static tpa_sealer *sealer(const uint8_t *key)
{
	tpa_sealer *s = NULL;

	CU_ASSERT_EQUAL_FATAL(tpa_sealer_new(&s, key), 0);
	tpa_sealer_set_clock(s, test_clock, NULL);
	return s;
}

static void test_challenge_roundtrip(void)
{
	tpa_sealer *s = sealer(NULL);
	tpa_challenge a, b, got;

	now_ms = 1800000000000ull;
	CU_ASSERT_EQUAL(tpa_seal_challenge(&a, s, 1000), 0);
	CU_ASSERT_EQUAL(tpa_seal_challenge(&b, s, 1000), 0);
	CU_ASSERT_EQUAL(strlen(a.id), TPA_CHALLENGE_ID_LEN);
	CU_ASSERT(strcmp(a.id, b.id) != 0);
	CU_ASSERT(memcmp(a.nonce, b.nonce, TPA_NONCE_LEN) != 0);
	CU_ASSERT_EQUAL(a.expires_ms, now_ms + 1000);
	CU_ASSERT_EQUAL(tpa_unseal_challenge(&got, s, a.id), 0);
	CU_ASSERT_EQUAL(memcmp(got.nonce, a.nonce, TPA_NONCE_LEN), 0);
	CU_ASSERT_EQUAL(memcmp(got.tag, a.tag, TPA_SEAL_TAG_LEN), 0);
	CU_ASSERT_EQUAL(got.expires_ms, a.expires_ms);
	/* Unsealing keeps nothing: the same id opens again (single use is
	 * the used set's, for evidence that proved itself). */
	CU_ASSERT_EQUAL(tpa_unseal_challenge(&got, s, a.id), 0);
	/* Expiry is exact. */
	now_ms += 999;
	CU_ASSERT_EQUAL(tpa_unseal_challenge(&got, s, a.id), 0);
	now_ms += 1;
	CU_ASSERT_EQUAL(tpa_unseal_challenge(&got, s, a.id), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "expired") != NULL);
	tpa_sealer_free(s);
}

static void test_challenge_refused(void)
{
	static const uint8_t key[TPA_SEAL_KEY_LEN] = { 7 };
	tpa_sealer *s = sealer(key), *same = sealer(key), *other = sealer(NULL);
	tpa_challenge a, got;
	char id[TPA_SEALED_ID_MAX + 8];
	size_t i;

	now_ms = 1800000000000ull;
	CU_ASSERT_EQUAL_FATAL(tpa_seal_challenge(&a, s, 60000), 0);
	/* The key is the registry's: another verifier with it opens it. */
	CU_ASSERT_EQUAL(tpa_unseal_challenge(&got, same, a.id), 0);
	CU_ASSERT_EQUAL(tpa_unseal_challenge(&got, other, a.id), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "not this verifier's") != NULL);
	CU_ASSERT_EQUAL(tpa_unseal_challenge(&got, s, NULL), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_unseal_challenge(&got, s, ""), TPA_ERR_PARSE);
	snprintf(id, sizeof(id), "%s0", a.id);                 /* too long */
	CU_ASSERT_EQUAL(tpa_unseal_challenge(&got, s, id), TPA_ERR_PARSE);
	snprintf(id, sizeof(id), "%.*s", TPA_CHALLENGE_ID_LEN - 2, a.id); /* too short */
	CU_ASSERT_EQUAL(tpa_unseal_challenge(&got, s, id), TPA_ERR_PARSE);
	snprintf(id, sizeof(id), "%s", a.id);
	for (i = 0; id[i] && (id[i] < 'a' || id[i] > 'f'); i++)
		;
	if (id[i]) {
		id[i] = (char)(id[i] - 32);                        /* upper case */
		CU_ASSERT_EQUAL(tpa_unseal_challenge(&got, s, id), TPA_ERR_PARSE);
	}
	snprintf(id, sizeof(id), "%s", a.id);
	id[1] = '2';                                           /* version 2 */
	CU_ASSERT_EQUAL(tpa_unseal_challenge(&got, s, id), TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), "version") != NULL);
	/* Every other byte (purpose, expiry, nonce, tag) is under the seal. */
	for (i = 2; i < TPA_CHALLENGE_ID_LEN; i++) {
		snprintf(id, sizeof(id), "%s", a.id);
		id[i] = id[i] == '0' ? '1' : '0';
		CU_ASSERT_EQUAL(tpa_unseal_challenge(&got, s, id), TPA_ERR_VERIFY);
	}
	tpa_sealer_free(s);
	tpa_sealer_free(same);
	tpa_sealer_free(other);
}

static void test_enrollment(void)
{
	tpa_sealer *s = sealer(NULL);
	tpa_enrollment_seal e, got;
	tpa_challenge c;
	uint8_t bind[TPA_SEAL_BINDING_LEN], other[TPA_SEAL_BINDING_LEN];
	char id[TPA_SEALED_ID_MAX + 8];
	size_t i;

	now_ms = 1800000000000ull;
	CU_ASSERT_EQUAL(tpa_seal_binding(bind, (const uint8_t *)"ek", 2, (const uint8_t *)"cert",
					 4, (const uint8_t *)"ak", 2), 0);
	/* The parts are length-prefixed: moving a byte between them binds
	 * something else. */
	CU_ASSERT_EQUAL(tpa_seal_binding(other, (const uint8_t *)"ekc", 3,
					 (const uint8_t *)"ert", 3, (const uint8_t *)"ak", 2), 0);
	CU_ASSERT(memcmp(bind, other, sizeof(bind)) != 0);
	CU_ASSERT_EQUAL_FATAL(tpa_seal_enrollment(&e, s, TPA_ENROLLMENT_REPLACE_AKS, 1000, bind), 0);
	CU_ASSERT_EQUAL(strlen(e.id), TPA_ENROLLMENT_ID_LEN);
	CU_ASSERT_EQUAL(tpa_unseal_enrollment(&got, s, e.id, bind), 0);
	CU_ASSERT_EQUAL(memcmp(got.secret, e.secret, sizeof(e.secret)), 0);
	CU_ASSERT_EQUAL(got.flags, TPA_ENROLLMENT_REPLACE_AKS);
	/* The secret travels encrypted: it is not in the id. */
	{
		char hex[2 * TPA_CREDENTIAL_SECRET_LEN + 1];
		static const char digits[] = "0123456789abcdef";

		for (i = 0; i < sizeof(e.secret); i++) {
			hex[2 * i] = digits[e.secret[i] >> 4];
			hex[2 * i + 1] = digits[e.secret[i] & 15];
		}
		hex[2 * sizeof(e.secret)] = '\0';
		CU_ASSERT_PTR_NULL(strstr(e.id, hex));
	}
	/* Another EK or AK: refused. */
	CU_ASSERT_EQUAL(tpa_unseal_enrollment(&got, s, e.id, other), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "another EK or AK") != NULL);
	/* Flags, expiry, IV, secret and tag are all under the seal. */
	for (i = 2; i < TPA_ENROLLMENT_ID_LEN; i++) {
		snprintf(id, sizeof(id), "%s", e.id);
		id[i] = id[i] == '0' ? '1' : '0';
		CU_ASSERT_EQUAL(tpa_unseal_enrollment(&got, s, id, bind), TPA_ERR_VERIFY);
	}
	now_ms += 1000;
	CU_ASSERT_EQUAL(tpa_unseal_enrollment(&got, s, e.id, bind), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "expired") != NULL);
	/* A challenge and an enrollment never stand for each other. */
	CU_ASSERT_EQUAL_FATAL(tpa_seal_challenge(&c, s, 1000), 0);
	CU_ASSERT_EQUAL(tpa_unseal_enrollment(&got, s, c.id, bind), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "a challenge's") != NULL);
	CU_ASSERT_EQUAL_FATAL(tpa_seal_enrollment(&e, s, 0, 1000, bind), 0);
	CU_ASSERT_EQUAL(tpa_unseal_challenge(&c, s, e.id), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "an enrollment's") != NULL);
	tpa_sealer_free(s);
}

static void test_used_set(void)
{
	tpa_used_set *u = NULL;
	uint8_t a[TPA_SEAL_TAG_LEN] = { 1 }, b[TPA_SEAL_TAG_LEN] = { 2 }, c[TPA_SEAL_TAG_LEN] = { 3 };

	CU_ASSERT_EQUAL(tpa_used_set_new(&u, 0), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL_FATAL(tpa_used_set_new(&u, 2), 0);
	CU_ASSERT_EQUAL(tpa_used_set_take(u, a, 1000, 0), 0);
	CU_ASSERT_EQUAL(tpa_used_set_take(u, a, 1000, 10), TPA_ERR_USED);
	CU_ASSERT_EQUAL(tpa_used_set_take(u, b, 2000, 10), 0);
	CU_ASSERT_EQUAL(tpa_used_set_take(u, c, 2000, 10), TPA_ERR_LIMIT);
	CU_ASSERT_EQUAL(tpa_used_set_count(u), 2);
	/* Expired entries go: the set is bounded by what is still valid. */
	CU_ASSERT_EQUAL(tpa_used_set_take(u, c, 3000, 1000), 0);
	CU_ASSERT_EQUAL(tpa_used_set_count(u), 2);
	CU_ASSERT_EQUAL(tpa_used_set_take(u, b, 3000, 1500), TPA_ERR_USED);
	tpa_used_set_free(u);
	tpa_used_set_free(NULL);
	tpa_sealer_free(NULL);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("seal", NULL, NULL);
	CU_add_test(s, "challenges: sealed, opened, expiring exactly", test_challenge_roundtrip);
	CU_add_test(s, "challenges: every wrong id refused with its reason", test_challenge_refused);
	CU_add_test(s, "enrollments: encrypted, bound, of their own purpose", test_enrollment);
	CU_add_test(s, "the used set: single use, bounded by expiry", test_used_set);
	return test_run_all() ? 1 : 0;
}
