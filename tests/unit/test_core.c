/* SPDX-License-Identifier: BSD-3-Clause */
/* The parts without a TPM: challenges, PCR selections, decoders on hostile
 * bytes, tokens, errors, and the service's refusals of malformed requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <getopt.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "attest/v1/attest.pb-c.h"
#include "testutil.h"
#include "tpa/config.h"
#include "tpa/err.h"
#include "tpa/evidence.h"
#include "tpa/quote.h"
#include "tpa/service.h"
#include "tpa/token.h"
#include "tpa/tpm_decode.h"


/* A check's outcome, -1 if absent: a missing check fails an assertion
 * instead of crashing the runner. */
static int check_passed(const tpa_findings *f, const char *name)
{
	const tpa_check *c = tpa_findings_find(f, name);

	return c ? c->passed : -1;
}


/* ---- PCR selections ---- */

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

/* ---- decoders on hostile bytes ---- */

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

/* ---- tokens ---- */

/* Rotation: the current key becomes FILE.previous, a new one is written;
 * a file that is not there is not rotated. */
/* Configuration files are untrusted: every rule of the format refused with
 * the file and line, the caps enforced, and the command line after the file. */
static int config_text(tpa_config **c, const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	fwrite(text, 1, n, f);
	fclose(f);
	*c = NULL;
	return tpa_config_load(c, path);
}

static void expect_config_refused(const char *path, const char *text, int code, const char *why)
{
	tpa_config *c = NULL;

	CU_ASSERT_EQUAL(config_text(&c, path, text, strlen(text)), code);
	CU_ASSERT_PTR_NULL(c);
	if (!strstr(tpa_err_last(), why))
		fprintf(stderr, "expected \"%s\" in: %s\n", why, tpa_err_last());
	CU_ASSERT(strstr(tpa_err_last(), why) != NULL);
}

static void test_config_files(void)
{
	static const struct option opts[] = {
		{ "verifier", required_argument, NULL, 'v' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "config", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const flags[] = { "insecure", NULL };
	static const char *const excluded[] = { "config", NULL };
	char path[64], *argv[] = { (char *)"prog", (char *)"--verifier=cli", NULL };
	tpa_config *c = NULL;
	tpa_config_args a;
	char *big;
	size_t i;

	snprintf(path, sizeof(path), "/tmp/tpa-config-%ld.conf", (long)getpid());
	{
		static const char text[] = "# c\n\n Verifier = \"host:1 \"\ninsecure=yes\n";

		CU_ASSERT_EQUAL_FATAL(config_text(&c, path, text, strlen(text)), 0);
	}
	CU_ASSERT_EQUAL(c->n, 2);
	CU_ASSERT_STRING_EQUAL(c->entries[0].key, "verifier");
	CU_ASSERT_STRING_EQUAL(c->entries[0].value, "host:1 ");
	CU_ASSERT_EQUAL(c->entries[0].line, 3);
	CU_ASSERT_EQUAL(tpa_config_check_options(c, opts, excluded), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_config_args_build(&a, c, flags, 2, argv), 0);
	CU_ASSERT_EQUAL(a.argc, 4);
	CU_ASSERT_STRING_EQUAL(a.argv[1], "--verifier=host:1 ");
	CU_ASSERT_STRING_EQUAL(a.argv[2], "--insecure");
	CU_ASSERT_STRING_EQUAL(a.argv[3], "--verifier=cli"); /* the command line last */
	CU_ASSERT(strstr(a.where[1], ":3: verifier") != NULL);
	CU_ASSERT_PTR_NULL(a.where[3]);
	tpa_config_args_free(&a);
	tpa_config_free(c);
	CU_ASSERT_EQUAL(config_text(&c, path, "config = x\n", 11), 0);
	CU_ASSERT_EQUAL(tpa_config_check_options(c, opts, excluded), TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), ":1: unknown key 'config'") != NULL);
	tpa_config_free(c);
	CU_ASSERT_EQUAL(config_text(&c, path, "insecure = maybe\n", 17), 0);
	CU_ASSERT_EQUAL(tpa_config_args_build(&a, c, flags, 2, argv), TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), ":1: insecure: 'maybe' is not true or false") != NULL);
	tpa_config_free(c);

	expect_config_refused(path, "no equals sign\n", TPA_ERR_PARSE, ":1: expected \"key = value\"");
	expect_config_refused(path, " = v\n", TPA_ERR_PARSE, ":1: a key of 1..48");
	expect_config_refused(path, "a.b = v\n", TPA_ERR_PARSE, ":1: key 'a.b': only letters");
	expect_config_refused(path, "a = 1\nA = 2\n", TPA_ERR_PARSE, ":2: key 'a' already set on line 1");
	expect_config_refused(path, "a = \"open\n", TPA_ERR_PARSE, ":1: key 'a': unterminated quote");
	expect_config_refused(path, "a = x\x01y\n", TPA_ERR_PARSE, ":1: key 'a': control character");
	CU_ASSERT_EQUAL(config_text(&c, path, "a = x\0y\n", 8), TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), "NUL byte") != NULL);
	big = malloc(TPA_CONFIG_MAX_BYTES + 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, '#', TPA_CONFIG_MAX_BYTES + 1);
	big[TPA_CONFIG_MAX_BYTES + 1] = '\0';
	expect_config_refused(path, big, TPA_ERR_LIMIT, "larger than");
	for (i = 0, big[0] = '\0'; i <= TPA_CONFIG_MAX_ENTRIES; i++)
		sprintf(big + strlen(big), "k%zu = v\n", i);
	expect_config_refused(path, big, TPA_ERR_LIMIT, "more than 128 settings");
	free(big);
	CU_ASSERT_EQUAL(tpa_config_load(&c, "/nonexistent/x.conf"), TPA_ERR_IO);
	CU_ASSERT_STRING_EQUAL(tpa_config_path_arg(2, (char *[]){ "p", "--config=f", NULL }), "f");
	CU_ASSERT_PTR_NULL(tpa_config_path_arg(2, (char *[]){ "p", "--config", NULL }));
	unlink(path);
}

static void test_token_key_rotate(void)
{
	char dir[] = "/tmp/tpa-keys-XXXXXX", path[300], prev[320], kid[80], cmd[400];
	tpa_token_key *a = NULL, *b = NULL, *p = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/token.jwk", dir);
	snprintf(prev, sizeof(prev), "%s.previous", path);
	CU_ASSERT_EQUAL(tpa_token_key_rotate(path, kid, sizeof(kid)), TPA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_load(&a, path, 1), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_rotate(path, kid, sizeof(kid)), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_load(&b, path, 0), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_load(&p, prev, 0), 0);
	CU_ASSERT_STRING_EQUAL(tpa_token_key_id(b), kid);
	CU_ASSERT_STRING_EQUAL(tpa_token_key_id(p), tpa_token_key_id(a));
	CU_ASSERT(strcmp(tpa_token_key_id(a), tpa_token_key_id(b)) != 0);
	{
		struct stat st;

		CU_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	}
	tpa_token_key_free(a);
	tpa_token_key_free(b);
	tpa_token_key_free(p);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static void test_token_sign_verify(void)
{
	tpa_token_key *k = NULL, *other = NULL;
	tpa_token_claims c;
	tpa_findings f;
	char *tok = NULL, *jwk = NULL, *jwk2 = NULL, *claims = NULL;
	uint8_t nonce[32] = { 1, 2, 3 };

	memset(&f, 0, sizeof(f));
	tpa_findings_add(&f, TPA_CHECK_QUOTE_NONCE, 0, "extraData is not the nonce");
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_new(&k), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_new(&other), 0);
	CU_ASSERT_EQUAL(strlen(tpa_token_key_id(k)), 43);
	memset(&c, 0, sizeof(c));
	c.status = "contraindicated";
	c.vector.hardware = 99;
	c.findings = &f;
	c.nonce = nonce;
	c.nonce_len = sizeof(nonce);
	c.iat = 1000;
	c.ttl_s = 60;
	CU_ASSERT_EQUAL_FATAL(tpa_token_sign(&tok, k, &c), 0);
	CU_ASSERT_EQUAL(tpa_token_key_public_jwk(&jwk, k), 0);
	CU_ASSERT_EQUAL(tpa_token_key_public_jwk(&jwk2, other), 0);
	CU_ASSERT(strstr(jwk, "\"d\"") == NULL); /* public only */

	CU_ASSERT_EQUAL(tpa_token_verify(&claims, jwk, tok, 1059), 0);
	CU_ASSERT(claims && strstr(claims, "\"ear.status\":\"contraindicated\"") &&
		  strstr(claims, "quote.nonce") &&
		  strstr(claims, "\"eat_profile\":\"" TPA_EAR_PROFILE "\"") &&
		  strstr(claims, "\"hardware\":99"));
	free(claims);
	claims = NULL;
	/* Through a JWKS: the key the token's kid names, the nonce if asked. */
	{
		const tpa_token_key *both[2] = { other, k };
		char *jwks = NULL;
		uint8_t wrong[32] = { 9 };

		CU_ASSERT_EQUAL_FATAL(tpa_token_jwks(&jwks, both, 2), 0);
		CU_ASSERT(strstr(jwks, "\"use\":\"sig\"") && strstr(jwks, "\"alg\":\"ES256\""));
		CU_ASSERT_EQUAL(tpa_token_verify_jwks(&claims, jwks, tok, 1000, nonce, sizeof(nonce)), 0);
		free(claims);
		claims = NULL;
		CU_ASSERT_EQUAL(tpa_token_verify_jwks(&claims, jwks, tok, 1000, wrong, sizeof(wrong)),
				TPA_ERR_VERIFY);
		CU_ASSERT(strstr(tpa_err_last(), "eat_nonce") != NULL);
		CU_ASSERT_EQUAL(tpa_token_verify_jwks(&claims, jwks, tok, 1060, NULL, 0), TPA_ERR_VERIFY);
		CU_ASSERT(strstr(tpa_err_last(), "expired") != NULL);
		free(jwks);
		CU_ASSERT_EQUAL_FATAL(tpa_token_jwks(&jwks, both, 1), 0);
		CU_ASSERT_EQUAL(tpa_token_verify_jwks(&claims, jwks, tok, 1000, NULL, 0), TPA_ERR_VERIFY);
		CU_ASSERT(strstr(tpa_err_last(), "no key in the JWKS") != NULL);
		CU_ASSERT(tpa_token_verify_jwks(&claims, "{\"keys\": 3}", tok, 1000, NULL, 0) < 0);
		CU_ASSERT_PTR_NULL(claims);
		free(jwks);
	}
	/* expired */
	CU_ASSERT_EQUAL(tpa_token_verify(&claims, jwk, tok, 1060), TPA_ERR_VERIFY);
	/* another key */
	CU_ASSERT_EQUAL(tpa_token_verify(&claims, jwk2, tok, 1000), TPA_ERR_VERIFY);
	/* tampered payload */
	{
		char *t2 = strdup(tok), *dot = strchr(t2, '.');

		dot[5] = dot[5] == 'A' ? 'B' : 'A';
		CU_ASSERT(tpa_token_verify(&claims, jwk, t2, 1000) < 0);
		free(t2);
	}
	CU_ASSERT(tpa_token_verify(&claims, jwk, "not.a.token", 1000) < 0);
	CU_ASSERT(tpa_token_verify(&claims, jwk, "", 1000) < 0);
	CU_ASSERT(tpa_token_verify(&claims, "{}", tok, 1000) < 0);
	CU_ASSERT_PTR_NULL(claims);
	free(tok);
	free(jwk);
	free(jwk2);
	tpa_token_key_free(k);
	tpa_token_key_free(other);
	tpa_token_key_free(NULL);
}

static void test_token_key_file(void)
{
	char dir[] = "/tmp/tpa-key-XXXXXX", path[256];
	tpa_token_key *a = NULL, *b = NULL;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/key.jwk", dir);
	CU_ASSERT(tpa_token_key_load(&a, path, 0) < 0);      /* absent, no create */
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_load(&a, path, 1), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_load(&b, path, 0), 0);
	CU_ASSERT_STRING_EQUAL(tpa_token_key_id(a), tpa_token_key_id(b));
	tpa_token_key_free(a);
	tpa_token_key_free(b);
	f = fopen(path, "w");
	fputs("{\"kty\":\"oct\",\"k\":\"AAAA\"}", f);
	fclose(f);
	CU_ASSERT(tpa_token_key_load(&a, path, 0) < 0);      /* not an EC key */
	f = fopen(path, "w");
	fputs("garbage", f);
	fclose(f);
	CU_ASSERT(tpa_token_key_load(&a, path, 0) < 0);
	remove(path);
	remove(dir);
}

/* ---- errors ---- */

static void test_err_strings(void)
{
	int c;

	for (c = TPA_OK; c >= TPA_ERR_LAST; c--)
		CU_ASSERT(strcmp(tpa_err_str(c), "unknown error") != 0);
	CU_ASSERT_STRING_EQUAL(tpa_err_str(-999), "unknown error");
	CU_ASSERT_EQUAL(tpa_err_fail(TPA_ERR_IO, "x %d", 7), TPA_ERR_IO);
	CU_ASSERT_STRING_EQUAL(tpa_err_last(), "x 7");
	tpa_err_clear();
	CU_ASSERT_STRING_EQUAL(tpa_err_last(), "");
}

/* ---- the service refuses malformed requests ---- */

static tpa_service *svc;
static tpa_token_key *svc_key;

static void call_attest(tpa_rpc_reply *r, const ProtobufCMessage *m)
{
	uint8_t buf[8192];
	size_t n = protobuf_c_message_pack(m, buf);

	memset(r, 0, sizeof(*r));
	tpa_service_attest(r, buf, n, svc);
}

static void test_service_malformed(void)
{
	static const uint8_t junk[] = { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01 };
	tpa_rpc_reply r;

	memset(&r, 0, sizeof(r));
	tpa_service_attest(&r, junk, sizeof(junk), svc);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_INVALID_ARGUMENT);
	CU_ASSERT(strstr(r.details, "malformed AttestRequest") != NULL);
	memset(&r, 0, sizeof(r));
	tpa_service_get_challenge(&r, junk, sizeof(junk), svc);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_INVALID_ARGUMENT);
	CU_ASSERT_PTR_NULL(r.data);
}

static void test_service_missing_fields(void)
{
	Attest__V1__AttestRequest req = ATTEST__V1__ATTEST_REQUEST__INIT;
	Attest__V1__Quote q = ATTEST__V1__QUOTE__INIT;
	Attest__V1__PcrBank bank = ATTEST__V1__PCR_BANK__INIT, *bp = &bank;
	Attest__V1__PcrValue pv = ATTEST__V1__PCR_VALUE__INIT, *pvp = &pv;
	uint8_t bytes[64] = { 1 }, big[TPA_ATTEST_MAX + 1];
	char hint[TPA_DEVICE_HINT_MAX + 2];
	tpa_rpc_reply r;

	call_attest(&r, &req.base);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_INVALID_ARGUMENT);
	CU_ASSERT_STRING_EQUAL(r.details, "challenge_id missing");

	req.challenge_id = "00112233445566778899aabbccddeeff";
	call_attest(&r, &req.base);
	CU_ASSERT_STRING_EQUAL(r.details, "quote.attest missing");

	req.quote = &q;
	q.attest.data = bytes;
	q.attest.len = 10;
	call_attest(&r, &req.base);
	CU_ASSERT_STRING_EQUAL(r.details, "quote.signature missing");

	q.signature.data = bytes;
	q.signature.len = 10;
	call_attest(&r, &req.base);
	CU_ASSERT_STRING_EQUAL(r.details, "ak_public missing");

	req.ak_public.data = bytes;
	req.ak_public.len = 10;
	call_attest(&r, &req.base);
	CU_ASSERT_STRING_EQUAL(r.details, "pcr_banks missing");

	req.n_pcr_banks = 1;
	req.pcr_banks = &bp;
	bank.hash_alg = TPM2_ALG_SHA256;
	call_attest(&r, &req.base);
	CU_ASSERT(strstr(r.details, "0 PCRs") != NULL);

	bank.n_pcrs = 1;
	bank.pcrs = &pvp;
	pv.index = 0xFFFFFFFFu;
	pv.digest.data = bytes;
	pv.digest.len = 32;
	call_attest(&r, &req.base);
	CU_ASSERT(strstr(r.details, "out of range") != NULL);

	pv.index = 3;
	pv.digest.len = 20;
	call_attest(&r, &req.base);
	CU_ASSERT(strstr(r.details, "expected 32") != NULL);

	pv.digest.len = 32;
	bank.hash_alg = 0x10000B;
	call_attest(&r, &req.base);
	CU_ASSERT(strstr(r.details, "hash_alg") != NULL);

	bank.hash_alg = TPM2_ALG_SHA256;
	memset(hint, 'h', sizeof(hint) - 1);
	hint[sizeof(hint) - 1] = '\0';
	req.device_hint = hint;
	call_attest(&r, &req.base);
	CU_ASSERT(strstr(r.details, "device_hint") != NULL);

	req.device_hint = NULL;
	memset(big, 0, sizeof(big));
	q.attest.data = big;
	q.attest.len = sizeof(big);
	call_attest(&r, &req.base);
	CU_ASSERT(strstr(r.details, "quote: attest") != NULL);

	/* Well-formed but garbage evidence: a verdict, not an RPC error. */
	q.attest.data = bytes;
	q.attest.len = 10;
	call_attest(&r, &req.base);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_OK);
	{
		tpa_verdict_reply v;

		CU_ASSERT_EQUAL(tpa_verdict_reply_unpack(&v, r.data, r.len), 0);
		CU_ASSERT_FALSE(v.compliant);
		CU_ASSERT_EQUAL(check_passed(&v.findings, "challenge"), 0);
		CU_ASSERT_EQUAL(check_passed(&v.findings, "quote.structure"), 0);
		CU_ASSERT_EQUAL(check_passed(&v.findings, "ak.public"), 0);
		CU_ASSERT_EQUAL(check_passed(&v.findings, "quote.signature"), 0);
		tpa_verdict_reply_clear(&v);
	}
	free(r.data);
}

static void test_client_rejects_bad_replies(void)
{
	Attest__V1__GetChallengeResponse ch = ATTEST__V1__GET_CHALLENGE_RESPONSE__INIT;
	Attest__V1__AttestResponse ar = ATTEST__V1__ATTEST_RESPONSE__INIT;
	Attest__V1__Verdict v = ATTEST__V1__VERDICT__INIT;
	Attest__V1__CheckResult cr = ATTEST__V1__CHECK_RESULT__INIT, *crp = &cr;
	tpa_client_challenge c;
	tpa_verdict_reply out;
	uint8_t buf[512], nonce[100] = { 0 };
	size_t n;

	ch.challenge_id = "00112233445566778899aabbccddeeff";
	ch.nonce.data = nonce;
	ch.nonce.len = 8;                         /* too short */
	n = protobuf_c_message_pack(&ch.base, buf);
	CU_ASSERT_EQUAL(tpa_challenge_unpack(&c, buf, n), TPA_ERR_PARSE);
	ch.nonce.len = 65;                        /* too long for TPM2B_DATA */
	n = protobuf_c_message_pack(&ch.base, buf);
	CU_ASSERT_EQUAL(tpa_challenge_unpack(&c, buf, n), TPA_ERR_PARSE);
	ch.nonce.len = 32;
	ch.challenge_id = "../../etc";
	n = protobuf_c_message_pack(&ch.base, buf);
	CU_ASSERT_EQUAL(tpa_challenge_unpack(&c, buf, n), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_challenge_unpack(&c, (const uint8_t *)"\xff\xff", 2), TPA_ERR_PARSE);

	/* A "compliant" verdict that lists a failed check is refused. */
	v.status = ATTEST__V1__VERDICT__STATUS__COMPLIANT;
	cr.name = "quote.nonce";
	cr.passed = 0;
	v.n_checks = 1;
	v.checks = &crp;
	ar.verdict = &v;
	n = protobuf_c_message_pack(&ar.base, buf);
	CU_ASSERT_EQUAL(tpa_verdict_reply_unpack(&out, buf, n), TPA_ERR_PARSE);
	v.status = ATTEST__V1__VERDICT__STATUS__STATUS_UNSPECIFIED;
	n = protobuf_c_message_pack(&ar.base, buf);
	CU_ASSERT_EQUAL(tpa_verdict_reply_unpack(&out, buf, n), TPA_ERR_PARSE);
	ar.verdict = NULL;
	n = protobuf_c_message_pack(&ar.base, buf);
	CU_ASSERT_EQUAL(tpa_verdict_reply_unpack(&out, buf, n), TPA_ERR_PARSE);
}

static int service_init(void)
{
	tpa_service_opts o = { 0 };

	if (tpa_token_key_new(&svc_key) < 0)
		return -1;
	o.key = svc_key;
	return tpa_service_new(&svc, &o);
}

static int service_clean(void)
{
	tpa_service_free(svc);
	tpa_token_key_free(svc_key);
	return 0;
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("pcr", NULL, NULL);
	CU_add_test(s, "selection parser", test_selection_parse);
	CU_add_test(s, "selection parser refuses", test_selection_bad);
	CU_add_test(s, "PCR set rules", test_pcr_set_rules);
	CU_add_test(s, "findings overflow fails closed", test_findings_overflow);
	s = CU_add_suite("tpm_decode", NULL, NULL);
	CU_add_test(s, "hostile bytes", test_decode_garbage);
	CU_add_test(s, "hash table", test_hash_table);
	s = CU_add_suite("token", NULL, NULL);
	CU_add_test(s, "sign and verify, negatives", test_token_sign_verify);
	CU_add_test(s, "key rotation", test_token_key_rotate);
	CU_add_test(s, "configuration files: format, caps, order", test_config_files);
	CU_add_test(s, "key file", test_token_key_file);
	s = CU_add_suite("err", NULL, NULL);
	CU_add_test(s, "strings and message slot", test_err_strings);
	s = CU_add_suite("service requests", service_init, service_clean);
	CU_add_test(s, "malformed protobuf", test_service_malformed);
	CU_add_test(s, "missing and oversized fields", test_service_missing_fields);
	CU_add_test(s, "client refuses bad replies", test_client_rejects_bad_replies);
	failed = test_run_all();
	return failed ? 1 : 0;
}
