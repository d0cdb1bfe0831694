/* SPDX-License-Identifier: BSD-3-Clause */
/* The client side of the wire (lib/evidence.c) for a relying party:
 * GetVerificationKeys and GetDeviceCompliance. Requests as the service reads
 * them, replies the real service sends, then replies a hostile verifier
 * could send: malformed, oversized, contradictory, unprintable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "attest/v1/attest.pb-c.h"
#include "testutil.h"
#include "tpa/err.h"
#include "tpa/evidence.h"
#include "tpa/rpc.h"
#include "tpa/service.h"
#include "tpa/store.h"
#include "tpa/token.h"

static char dir[] = "/tmp/tpa-evidence-XXXXXX";
static const char *ID1 = "1111111111111111111111111111111111111111111111111111111111111111";

/* A message packed into a malloc'd buffer. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *n)
{
	uint8_t *b;

	*n = protobuf_c_message_get_packed_size(m);
	b = malloc(*n ? *n : 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	protobuf_c_message_pack(m, b);
	return b;
}

/* A string of n copies of c; malloc'd. */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* ---- GetVerificationKeys ---- */

static void test_keys_round_trip(void)
{
	Attest__V1__GetVerificationKeysRequest *in;
	tpa_service_opts o = { 0 };
	tpa_service *svc = NULL;
	tpa_token_key *k = NULL;
	tpa_rpc_reply r = { 0 };
	uint8_t *req = NULL;
	size_t len = 0;
	char *jwks = NULL, *want = NULL;

	CU_ASSERT_EQUAL(tpa_keys_request_pack(NULL, &len), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL_FATAL(tpa_keys_request_pack(&req, &len), 0);
	in = attest__v1__get_verification_keys_request__unpack(NULL, len, req);
	CU_ASSERT_PTR_NOT_NULL(in);
	attest__v1__get_verification_keys_request__free_unpacked(in, NULL);

	/* What the service publishes is what the client reads. */
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_new(&k), 0);
	o.key = k;
	CU_ASSERT_EQUAL_FATAL(tpa_service_new(&svc, &o), 0);
	tpa_service_get_keys(&r, req, len, svc);
	CU_ASSERT_EQUAL_FATAL(r.status, TPA_RPC_OK);
	CU_ASSERT_EQUAL(tpa_keys_response_unpack(&jwks, r.data, r.len), 0);
	CU_ASSERT_EQUAL(tpa_service_jwks(&want, svc), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(jwks);
	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	CU_ASSERT_STRING_EQUAL(jwks, want);
	CU_ASSERT(strstr(jwks, tpa_token_key_id(k)) != NULL);
	free(jwks);
	free(want);
	free(r.data);
	free(req);
	tpa_service_free(svc);
	tpa_token_key_free(k);
}

static void test_keys_malformed(void)
{
	Attest__V1__GetVerificationKeysResponse m = ATTEST__V1__GET_VERIFICATION_KEYS_RESPONSE__INIT;
	uint8_t *b;
	size_t n;
	char *jwks = NULL, *big;

	CU_ASSERT_EQUAL(tpa_keys_response_unpack(NULL, (const uint8_t *)"", 0), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_keys_response_unpack(&jwks, NULL, 3), TPA_ERR_INVALID_ARG);
	/* Not protobuf: a truncated length, a bad wire type. */
	CU_ASSERT_EQUAL(tpa_keys_response_unpack(&jwks, (const uint8_t *)"\x0a\x05{}", 4),
			TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), "malformed GetVerificationKeys reply") != NULL);
	CU_ASSERT_EQUAL(tpa_keys_response_unpack(&jwks, (const uint8_t *)"\x0f\xff", 2),
			TPA_ERR_PARSE);
	/* Empty: no JWKS, nothing to verify a token with. */
	CU_ASSERT_EQUAL(tpa_keys_response_unpack(&jwks, (const uint8_t *)"", 0), TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), "no JWKS") != NULL);
	CU_ASSERT_PTR_NULL(jwks);

	/* At the cap it is taken, past it refused. */
	big = repeat('k', TPA_JWKS_MAX);
	m.jwks = big;
	b = pack(&m.base, &n);
	CU_ASSERT_EQUAL(tpa_keys_response_unpack(&jwks, b, n), 0);
	CU_ASSERT_PTR_NOT_NULL(jwks);
	CU_ASSERT_EQUAL(jwks ? strlen(jwks) : 0, TPA_JWKS_MAX);
	free(jwks);
	jwks = NULL;
	free(b);
	free(big);
	big = repeat('k', TPA_JWKS_MAX + 1);
	m.jwks = big;
	b = pack(&m.base, &n);
	CU_ASSERT_EQUAL(tpa_keys_response_unpack(&jwks, b, n), TPA_ERR_LIMIT);
	CU_ASSERT(strstr(tpa_err_last(), "a JWKS of 65537 bytes") != NULL);
	CU_ASSERT_PTR_NULL(jwks);
	free(b);
	free(big);

	/* A terminal escape from the network is not printed as such. */
	m.jwks = "{\"keys\":[]}\x1b[2J";
	b = pack(&m.base, &n);
	CU_ASSERT_EQUAL(tpa_keys_response_unpack(&jwks, b, n), 0);
	CU_ASSERT_STRING_EQUAL(jwks ? jwks : "", "{\"keys\":[]}?[2J");
	free(jwks);
	free(b);
}

/* ---- GetDeviceCompliance ---- */

/* The service's answer for ID1, asked by relying party "rp". */
static void test_compliance_round_trip(void)
{
	static const char *const rps[] = { "rp" };
	static const uint8_t EK[] = { 1, 2, 3 }, AKP[] = { 9, 9 };
	Attest__V1__GetDeviceComplianceRequest *in;
	tpa_service_opts o = { 0 };
	tpa_compliance_reply c;
	tpa_service *svc = NULL;
	tpa_token_key *k = NULL;
	tpa_store *st = NULL;
	tpa_rpc_reply r = { 0 };
	uint8_t *req = NULL;
	size_t len = 0;
	char db[64];

	CU_ASSERT_EQUAL(tpa_compliance_request_pack(&req, &len, NULL), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL_FATAL(tpa_compliance_request_pack(&req, &len, ID1), 0);
	in = attest__v1__get_device_compliance_request__unpack(NULL, len, req);
	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	CU_ASSERT_STRING_EQUAL(in->device_id, ID1);
	attest__v1__get_device_compliance_request__free_unpacked(in, NULL);

	snprintf(db, sizeof(db), "%s/registry.db", dir);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&st, db), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_store_enroll(st, ID1, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					       "000b1111", NULL, 0, 100), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_token_key_new(&k), 0);
	o.key = k;
	o.store = st;
	o.ek_ca = "tests/data/ekcerts"; /* goes with a registry; not used here */
	o.relying_parties = rps;
	o.nrelying_parties = 1;
	CU_ASSERT_EQUAL_FATAL(tpa_service_new(&svc, &o), 0);
	r.peer_authenticated = 1;
	r.peer_client_auth = 1;
	snprintf(r.peer_cn, sizeof(r.peer_cn), "rp");
	/* A CN that was cut or had a byte replaced is matched to no name,
	 * even when what is left equals one. */
	r.peer_cn_exact = 0;
	tpa_service_compliance(&r, req, len, svc);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_PERMISSION_DENIED);
	free(r.data);
	r.data = NULL;
	r.len = 0;
	r.status = TPA_RPC_OK;
	r.peer_cn_exact = 1;
	tpa_service_compliance(&r, req, len, svc);
	CU_ASSERT_EQUAL_FATAL(r.status, TPA_RPC_OK);
	CU_ASSERT_EQUAL_FATAL(tpa_compliance_response_unpack(&c, r.data, r.len), 0);
	CU_ASSERT_STRING_EQUAL(c.device_id, ID1);
	CU_ASSERT_FALSE(c.compliant);
	CU_ASSERT_STRING_EQUAL(c.state, "active");
	CU_ASSERT_STRING_EQUAL(c.reason, "the device never attested");
	CU_ASSERT_STRING_EQUAL(c.outcome, "");
	CU_ASSERT_EQUAL(c.verdict_at, 0);
	CU_ASSERT_PTR_NULL(c.token);
	CU_ASSERT_TRUE(c.expired);
	CU_ASSERT_FALSE(c.stale);
	CU_ASSERT_EQUAL(c.due_at, 0);
	tpa_compliance_reply_clear(&c);
	tpa_compliance_reply_clear(NULL);
	free(r.data);
	free(req);
	tpa_service_free(svc);
	tpa_store_close(st);
	tpa_token_key_free(k);
}

/* A compliant reply, every field set. */
static void compliant_reply(Attest__V1__GetDeviceComplianceResponse *m)
{
	attest__v1__get_device_compliance_response__init(m);
	m->device_id = (char *)ID1;
	m->compliant = 1;
	m->outcome = "warning";
	m->verdict_at = 1700000000;
	m->token = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln";
	m->token_expires_at = 1700003600;
	m->state = "active";
	m->baseline = "fleet@3";
	m->due_at = 1700004200;
}

static void test_compliance_fields(void)
{
	Attest__V1__GetDeviceComplianceResponse m;
	tpa_compliance_reply c;
	uint8_t *b;
	size_t n;

	compliant_reply(&m);
	b = pack(&m.base, &n);
	CU_ASSERT_EQUAL_FATAL(tpa_compliance_response_unpack(&c, b, n), 0);
	CU_ASSERT_TRUE(c.compliant);
	CU_ASSERT_STRING_EQUAL(c.device_id, ID1);
	CU_ASSERT_STRING_EQUAL(c.outcome, "warning");
	CU_ASSERT_EQUAL(c.verdict_at, 1700000000);
	CU_ASSERT_STRING_EQUAL(c.token ? c.token : "", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln");
	CU_ASSERT_EQUAL(c.token_expires_at, 1700003600);
	CU_ASSERT_FALSE(c.expired);
	CU_ASSERT_STRING_EQUAL(c.state, "active");
	CU_ASSERT_FALSE(c.revoked_since_verdict);
	CU_ASSERT_STRING_EQUAL(c.baseline, "fleet@3");
	CU_ASSERT_STRING_EQUAL(c.reason, "");
	CU_ASSERT_FALSE(c.stale);
	CU_ASSERT_EQUAL(c.due_at, 1700004200);
	tpa_compliance_reply_clear(&c);
	CU_ASSERT_PTR_NULL(c.token);
	free(b);

	/* Not compliant, revoked: said as it is. */
	m.compliant = 0;
	m.state = "revoked";
	m.revoked_since_verdict = 1;
	m.stale = 1;
	m.reason = "the device is revoked\n\x1b[1m";
	b = pack(&m.base, &n);
	CU_ASSERT_EQUAL_FATAL(tpa_compliance_response_unpack(&c, b, n), 0);
	CU_ASSERT_FALSE(c.compliant);
	CU_ASSERT_TRUE(c.stale);
	CU_ASSERT_TRUE(c.revoked_since_verdict);
	CU_ASSERT_STRING_EQUAL(c.state, "revoked");
	CU_ASSERT_STRING_EQUAL(c.reason, "the device is revoked??[1m");
	tpa_compliance_reply_clear(&c);
	free(b);
}

static void test_compliance_malformed(void)
{
	Attest__V1__GetDeviceComplianceResponse m;
	tpa_compliance_reply c;
	uint8_t *b;
	size_t n, i;

	memset(&c, 0x55, sizeof(c));
	CU_ASSERT_EQUAL(tpa_compliance_response_unpack(NULL, (const uint8_t *)"", 0),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_compliance_response_unpack(&c, NULL, 1), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_compliance_response_unpack(&c, (const uint8_t *)"\x0a\x40" "abc", 5),
			TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), "malformed GetDeviceCompliance reply") != NULL);
	/* compliant (field 2) as a length-delimited field: wrong wire type */
	CU_ASSERT_EQUAL(tpa_compliance_response_unpack(&c, (const uint8_t *)"\x12\x01\x01", 3),
			TPA_ERR_PARSE);
	/* Nothing was written on failure. */
	CU_ASSERT_EQUAL(((unsigned char *)&c)[0], 0x55);

	/* An empty reply is a device nobody knows about, not compliant. */
	CU_ASSERT_EQUAL_FATAL(tpa_compliance_response_unpack(&c, (const uint8_t *)"", 0), 0);
	CU_ASSERT_FALSE(c.compliant);
	CU_ASSERT_STRING_EQUAL(c.device_id, "");
	CU_ASSERT_PTR_NULL(c.token);
	tpa_compliance_reply_clear(&c);

	/* "Compliant", and a reason not to be, an expired token, a device
	 * revoked since, not active or stale: a reply that contradicts itself. */
	for (i = 0; i < 5; i++) {
		static const char *const why[] = { "with a reason not to be", "its token expired",
						   "revoked since its verdict", "not active",
						   "the device is stale" };

		compliant_reply(&m);
		if (i == 0)
			m.reason = "the last verdict was non-compliant";
		m.expired = i == 1;
		m.revoked_since_verdict = i == 2;
		if (i == 3)
			m.state = "revoked";
		m.stale = i == 4;
		b = pack(&m.base, &n);
		CU_ASSERT_EQUAL(tpa_compliance_response_unpack(&c, b, n), TPA_ERR_PARSE);
		CU_ASSERT(strstr(tpa_err_last(), why[i]) != NULL);
		free(b);
	}
}

static void test_compliance_oversized(void)
{
	Attest__V1__GetDeviceComplianceResponse m;
	tpa_compliance_reply c;
	char *max = repeat('a', TPA_COMPLIANCE_TEXT_MAX), *over = repeat('a',
		TPA_COMPLIANCE_TEXT_MAX + 1);
	char *tok = repeat('t', TPA_TOKEN_MAX), *tok_over = repeat('t', TPA_TOKEN_MAX + 1);
	char **field[5];
	const char *name[5] = { "device_id", "outcome", "state", "baseline", "reason" };
	uint8_t *b;
	size_t n, i;

	/* Each text field at its cap is taken whole (not compliant, so a
	 * reason and any state are fine), one byte more refused by name. */
	field[0] = &m.device_id;
	field[1] = &m.outcome;
	field[2] = &m.state;
	field[3] = &m.baseline;
	field[4] = &m.reason;
	for (i = 0; i < 5; i++) {
		compliant_reply(&m);
		m.compliant = 0;
		*field[i] = max;
		b = pack(&m.base, &n);
		CU_ASSERT_EQUAL(tpa_compliance_response_unpack(&c, b, n), 0);
		CU_ASSERT_EQUAL(strlen(i == 0 ? c.device_id : i == 1 ? c.outcome : i == 2 ?
				       c.state : i == 3 ? c.baseline : c.reason),
				TPA_COMPLIANCE_TEXT_MAX);
		tpa_compliance_reply_clear(&c);
		free(b);
		*field[i] = over;
		b = pack(&m.base, &n);
		CU_ASSERT_EQUAL(tpa_compliance_response_unpack(&c, b, n), TPA_ERR_LIMIT);
		CU_ASSERT(strstr(tpa_err_last(), name[i]) != NULL);
		free(b);
	}
	compliant_reply(&m);
	m.token = tok;
	b = pack(&m.base, &n);
	CU_ASSERT_EQUAL(tpa_compliance_response_unpack(&c, b, n), 0);
	CU_ASSERT_EQUAL(c.token ? strlen(c.token) : 0, TPA_TOKEN_MAX);
	tpa_compliance_reply_clear(&c);
	free(b);
	m.token = tok_over;
	b = pack(&m.base, &n);
	CU_ASSERT_EQUAL(tpa_compliance_response_unpack(&c, b, n), TPA_ERR_LIMIT);
	CU_ASSERT(strstr(tpa_err_last(), "token") != NULL);
	free(b);
	free(max);
	free(over);
	free(tok);
	free(tok_over);
}

/* Challenge and Attest replies a client must refuse (moved from the
 * service tests: this is the client side). */
static void test_client_rejects_bad_replies(void)
{
	Attest__V1__GetChallengeResponse ch = ATTEST__V1__GET_CHALLENGE_RESPONSE__INIT;
	Attest__V1__AttestResponse ar = ATTEST__V1__ATTEST_RESPONSE__INIT;
	Attest__V1__Verdict v = ATTEST__V1__VERDICT__INIT;
	Attest__V1__CheckResult cr = ATTEST__V1__CHECK_RESULT__INIT, *crp = &cr;
	tpa_client_challenge c;
	tpa_verdict_reply out;
	uint8_t pb[512], nonce[100] = { 0 };
	size_t n;

	ch.challenge_id = "00112233445566778899aabbccddeeff";
	ch.nonce.data = nonce;
	ch.nonce.len = 8;                         /* too short */
	n = protobuf_c_message_pack(&ch.base, pb);
	CU_ASSERT_EQUAL(tpa_challenge_unpack(&c, pb, n), TPA_ERR_PARSE);
	ch.nonce.len = 65;                        /* too long for TPM2B_DATA */
	n = protobuf_c_message_pack(&ch.base, pb);
	CU_ASSERT_EQUAL(tpa_challenge_unpack(&c, pb, n), TPA_ERR_PARSE);
	ch.nonce.len = 32;
	ch.challenge_id = "../../etc";
	n = protobuf_c_message_pack(&ch.base, pb);
	CU_ASSERT_EQUAL(tpa_challenge_unpack(&c, pb, n), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_challenge_unpack(&c, (const uint8_t *)"\xff\xff", 2), TPA_ERR_PARSE);

	/* A "compliant" verdict that lists a failed check is refused. */
	v.status = ATTEST__V1__VERDICT__STATUS__COMPLIANT;
	cr.name = "quote.nonce";
	cr.passed = 0;
	v.n_checks = 1;
	v.checks = &crp;
	ar.verdict = &v;
	n = protobuf_c_message_pack(&ar.base, pb);
	CU_ASSERT_EQUAL(tpa_verdict_reply_unpack(&out, pb, n), TPA_ERR_PARSE);
	v.status = ATTEST__V1__VERDICT__STATUS__STATUS_UNSPECIFIED;
	n = protobuf_c_message_pack(&ar.base, pb);
	CU_ASSERT_EQUAL(tpa_verdict_reply_unpack(&out, pb, n), TPA_ERR_PARSE);
	ar.verdict = NULL;
	n = protobuf_c_message_pack(&ar.base, pb);
	CU_ASSERT_EQUAL(tpa_verdict_reply_unpack(&out, pb, n), TPA_ERR_PARSE);
}

/* The Secure Boot hygiene of a verdict: at most 8 claims, each text kept
 * printable and within its size. */
static void test_verdict_hygiene(void)
{
	Attest__V1__AttestResponse ar = ATTEST__V1__ATTEST_RESPONSE__INIT;
	Attest__V1__Verdict v = ATTEST__V1__VERDICT__INIT;
	Attest__V1__TrustedLaunch tl = ATTEST__V1__TRUSTED_LAUNCH__INIT;
	Attest__V1__HygieneClaim h[9], *hp[9];
	tpa_verdict_reply out;
	char *long_reason = repeat('r', 500);
	uint8_t pb[8192];
	size_t n, i;

	for (i = 0; i < 9; i++) {
		attest__v1__hygiene_claim__init(&h[i]);
		h[i].name = "dbx_current";
		h[i].value = "no\x1b[2J";
		h[i].reason = long_reason;
		hp[i] = &h[i];
	}
	v.status = ATTEST__V1__VERDICT__STATUS__NON_COMPLIANT;
	v.trusted_launch = &tl;
	tl.secure_boot_hygiene = hp;
	tl.n_secure_boot_hygiene = 2;
	ar.verdict = &v;
	n = protobuf_c_message_pack(&ar.base, pb);
	CU_ASSERT_EQUAL_FATAL(tpa_verdict_reply_unpack(&out, pb, n), 0);
	CU_ASSERT_EQUAL(out.nhygiene, 2);
	CU_ASSERT_STRING_EQUAL(out.hygiene[0].name, "dbx_current");
	CU_ASSERT_PTR_NULL(strchr(out.hygiene[0].value, '\x1b'));
	CU_ASSERT_EQUAL(strlen(out.hygiene[1].reason), sizeof(out.hygiene[1].reason) - 1);
	tpa_verdict_reply_clear(&out);
	tl.n_secure_boot_hygiene = 9;
	n = protobuf_c_message_pack(&ar.base, pb);
	CU_ASSERT_EQUAL(tpa_verdict_reply_unpack(&out, pb, n), TPA_ERR_PARSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(tpa_err_last(), "9 Secure Boot hygiene claims exceed 8"));
	free(long_reason);
}

/* Enroll carries where the EK certificate came from, and says nothing when
 * the caller does not know. */
static void test_enroll_cert_source(void)
{
	const uint8_t ek[4] = { 1, 2, 3, 4 }, ak[4] = { 5, 6, 7, 8 }, cert[3] = { 0x30, 1, 0 };
	tpa_enroll_keys k = { ek, sizeof(ek), cert, sizeof(cert), ak, sizeof(ak), "file", NULL };
	Attest__V1__EnrollRequest *r;
	uint8_t *b = NULL;
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(tpa_enroll_request_pack(&b, &n, &k, NULL, NULL, 0, 0), 0);
	r = attest__v1__enroll_request__unpack(NULL, n, b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(r->ek_certificate_source, "file");
	CU_ASSERT_EQUAL(r->ek_certificate.len, sizeof(cert));
	attest__v1__enroll_request__free_unpacked(r, NULL);
	free(b);
	k.ek_cert_source = NULL;
	CU_ASSERT_EQUAL_FATAL(tpa_enroll_request_pack(&b, &n, &k, NULL, NULL, 0, 0), 0);
	r = attest__v1__enroll_request__unpack(NULL, n, b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(r->ek_certificate_source, "");
	attest__v1__enroll_request__free_unpacked(r, NULL);
	free(b);
}

/* Enroll and Activate carry what names the host; nothing when there is
 * nothing to say; a value the verifier would refuse is never sent. */
static void test_enroll_host(void)
{
	const uint8_t ek[4] = { 1, 2, 3, 4 }, ak[4] = { 5, 6, 7, 8 }, cert[3] = { 0x30, 1, 0 };
	const uint8_t cred[4] = { 9, 9, 9, 9 };
	tpa_host_info hi;
	tpa_enroll_keys k = { ek, sizeof(ek), cert, sizeof(cert), ak, sizeof(ak), "nv", &hi };
	Attest__V1__EnrollRequest *r;
	Attest__V1__ActivateRequest *a;
	uint8_t *b = NULL;
	size_t n = 0;

	memset(&hi, 0, sizeof(hi));
	snprintf(hi.hostname, sizeof(hi.hostname), "alice-laptop");
	snprintf(hi.dmi_serial, sizeof(hi.dmi_serial), "SN-0042");
	CU_ASSERT_EQUAL_FATAL(tpa_enroll_request_pack(&b, &n, &k, NULL, NULL, 0, 0), 0);
	r = attest__v1__enroll_request__unpack(NULL, n, b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->host);
	CU_ASSERT_STRING_EQUAL(r->host->hostname, "alice-laptop");
	CU_ASSERT_STRING_EQUAL(r->host->dmi_serial, "SN-0042");
	CU_ASSERT_STRING_EQUAL(r->host->machine_id, "");
	attest__v1__enroll_request__free_unpacked(r, NULL);
	free(b);
	CU_ASSERT_EQUAL_FATAL(tpa_activate_request_pack(&b, &n, "00", cred, sizeof(cred), &k), 0);
	a = attest__v1__activate_request__unpack(NULL, n, b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a->host);
	CU_ASSERT_STRING_EQUAL(a->host->hostname, "alice-laptop");
	attest__v1__activate_request__free_unpacked(a, NULL);
	free(b);
	/* Nothing known: no HostInfo at all. */
	memset(&hi, 0, sizeof(hi));
	CU_ASSERT_EQUAL_FATAL(tpa_enroll_request_pack(&b, &n, &k, NULL, NULL, 0, 0), 0);
	r = attest__v1__enroll_request__unpack(NULL, n, b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_PTR_NULL(r->host);
	attest__v1__enroll_request__free_unpacked(r, NULL);
	free(b);
	/* A value that did not pass the validator: refused, nothing packed. */
	b = NULL;
	snprintf(hi.hostname, sizeof(hi.hostname), "bad\x01");
	CU_ASSERT_EQUAL(tpa_enroll_request_pack(&b, &n, &k, NULL, NULL, 0, 0), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "hostname") != NULL);
	CU_ASSERT_PTR_NULL(b);
	snprintf(hi.hostname, sizeof(hi.hostname), "trailing ");
	CU_ASSERT_EQUAL(tpa_activate_request_pack(&b, &n, "00", cred, sizeof(cred), &k),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_PTR_NULL(b);
}

/* A rule's evidence (what was seen, what the baseline allows) is read
 * back printable; a rule listing more expected values than the cap is
 * refused and nothing leaks (valgrind). Activate's AK count is read. */
static void test_verdict_rule_evidence(void)
{
	Attest__V1__AttestResponse ar = ATTEST__V1__ATTEST_RESPONSE__INIT;
	Attest__V1__Verdict v = ATTEST__V1__VERDICT__INIT;
	Attest__V1__Appraisal ap = ATTEST__V1__APPRAISAL__INIT;
	Attest__V1__RuleResult rr = ATTEST__V1__RULE_RESULT__INIT, *rrp = &rr;
	Attest__V1__ActivateResponse act = ATTEST__V1__ACTIVATE_RESPONSE__INIT;
	char *expected[2] = { "aa\001bb", "ccdd" }, **many;
	tpa_verdict_reply out;
	tpa_activation a;
	uint8_t *b;
	size_t n, i;

	v.status = ATTEST__V1__VERDICT__STATUS__NON_COMPLIANT;
	ap.outcome = "non-compliant";
	rr.rule = "boot-applications";
	rr.severity = "critical";
	rr.status = "fail";
	rr.event = 7;
	rr.pcr = 4;
	rr.seen = "event 7 (PCR 4): 00ff\n";
	rr.n_expected = 2;
	rr.expected = expected;
	ap.n_rules = 1;
	ap.rules = &rrp;
	v.appraisal = &ap;
	ar.verdict = &v;
	b = pack(&ar.base, &n);
	CU_ASSERT_EQUAL_FATAL(tpa_verdict_reply_unpack(&out, b, n), 0);
	CU_ASSERT_EQUAL(out.nrules, 1);
	CU_ASSERT_STRING_EQUAL(out.rules[0].seen, "event 7 (PCR 4): 00ff?");
	CU_ASSERT_EQUAL_FATAL(out.rules[0].nexpected, 2);
	CU_ASSERT_STRING_EQUAL(out.rules[0].expected[0], "aa?bb");
	CU_ASSERT_STRING_EQUAL(out.rules[0].expected[1], "ccdd");
	tpa_verdict_reply_clear(&out);
	free(b);
	/* Unsaid: no allocation, NULL. */
	rr.seen = "";
	rr.n_expected = 0;
	b = pack(&ar.base, &n);
	CU_ASSERT_EQUAL_FATAL(tpa_verdict_reply_unpack(&out, b, n), 0);
	CU_ASSERT_PTR_NULL(out.rules[0].seen);
	CU_ASSERT_EQUAL(out.rules[0].nexpected, 0);
	tpa_verdict_reply_clear(&out);
	free(b);
	many = calloc(TPA_VERDICT_EXPECTED_MAX + 1, sizeof(*many));
	CU_ASSERT_PTR_NOT_NULL_FATAL(many);
	for (i = 0; i <= TPA_VERDICT_EXPECTED_MAX; i++)
		many[i] = "ab";
	rr.seen = "x";
	rr.expected = many;
	rr.n_expected = TPA_VERDICT_EXPECTED_MAX + 1;
	b = pack(&ar.base, &n);
	CU_ASSERT_EQUAL(tpa_verdict_reply_unpack(&out, b, n), TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), "expected values exceed") != NULL);
	CU_ASSERT_PTR_NULL(out.rules[0].seen);
	free(b);
	rr.n_expected = TPA_VERDICT_EXPECTED_MAX;
	b = pack(&ar.base, &n);
	CU_ASSERT_EQUAL(tpa_verdict_reply_unpack(&out, b, n), 0);
	CU_ASSERT_EQUAL(out.rules[0].nexpected, TPA_VERDICT_EXPECTED_MAX);
	tpa_verdict_reply_clear(&out);
	free(b);
	free(many);

	act.device_id = "ab01";
	act.ak_name = "000b";
	act.aks = 3;
	b = pack(&act.base, &n);
	CU_ASSERT_EQUAL_FATAL(tpa_activation_unpack(&a, b, n), 0);
	CU_ASSERT_STRING_EQUAL(a.device_id, "ab01");
	CU_ASSERT_STRING_EQUAL(a.ak_name, "000b");
	CU_ASSERT_EQUAL(a.aks, 3);
	free(b);
	CU_ASSERT_EQUAL(tpa_activation_unpack(&a, (const uint8_t *)"\xff\xff", 2), TPA_ERR_PARSE);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;
	char cmd[300];

	if (!mkdtemp(dir))
		return 2;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("evidence (client-side wire: keys, compliance)", NULL, NULL);
	CU_add_test(s, "Enroll: the EK certificate's source sent", test_enroll_cert_source);
	CU_add_test(s, "Attest: the verdict's Secure Boot hygiene, bounded, printable",
		    test_verdict_hygiene);
	CU_add_test(s, "GetChallenge and Attest: bad replies refused",
		    test_client_rejects_bad_replies);
	CU_add_test(s, "Attest and Activate: a rule's seen and expected, the AK count",
		    test_verdict_rule_evidence);
	CU_add_test(s, "GetVerificationKeys: the request, the service's JWKS read back",
		    test_keys_round_trip);
	CU_add_test(s, "GetVerificationKeys: malformed, empty, oversized, unprintable replies",
		    test_keys_malformed);
	CU_add_test(s, "GetDeviceCompliance: the request, the service's answer read back",
		    test_compliance_round_trip);
	CU_add_test(s, "GetDeviceCompliance: every field, text kept printable",
		    test_compliance_fields);
	CU_add_test(s, "GetDeviceCompliance: malformed and self-contradicting replies",
		    test_compliance_malformed);
	CU_add_test(s, "GetDeviceCompliance: each field at its cap and one byte over",
		    test_compliance_oversized);
	CU_add_test(s, "Enroll and Activate carry the host names, only valid ones", test_enroll_host);
	failed = test_run_all();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_evidence: cannot remove %s\n", dir);
	return failed ? 1 : 0;
}
