/* SPDX-License-Identifier: BSD-3-Clause */
/* Device identity against two real swtpm instances, each with its own local
 * CA: EK certificates validated to a trusted root, and credential
 * activation proving that an AK lives beside an EK. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "swtpm_fixture.h"
#include "testutil.h"
#include "tpa/err.h"
#include "tpa/identity.h"
#include "tpa/service.h"
#include "tpa/store.h"
#include "tpa/token.h"
#include "attest/v1/attest.pb-c.h"
#include <tss2/tss2_mu.h>
#include "tpa/tpm.h"
#include "tpa/tpm_decode.h"

typedef struct {
	swtpm_fixture fx;
	tpa_tpm *tpm;
	TPMT_PUBLIC ek;
	uint8_t *cert;
	size_t cert_len;
	uint8_t issuer[4096];        /* the local CA's intermediate, DER */
	size_t issuer_len;
	char roots[512];             /* a directory holding only the root */
	uint8_t ak_name[TPA_NAME_MAX];
	size_t ak_name_len;
} tpm_side;

static tpm_side A, B;

static int der_of_pem(uint8_t *out, size_t cap, size_t *len, const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;
	unsigned char *p = out;
	int n;

	if (!f)
		return -1;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		return -1;
	n = i2d_X509(x, NULL);
	if (n <= 0 || (size_t)n > cap) {
		X509_free(x);
		return -1;
	}
	i2d_X509(x, &p);
	X509_free(x);
	*len = (size_t)n;
	return 0;
}

static int ak_name_of(tpm_side *s)
{
	uint8_t pub[TPA_PUBLIC_MAX];
	size_t n;
	TPMT_PUBLIC p;

	return tpa_tpm_ak_public(s->tpm, pub, sizeof(pub), &n) < 0 ||
	       tpa_decode_public(&p, pub, n) < 0 ||
	       tpa_public_name(s->ak_name, &s->ak_name_len, &p) < 0 ? -1 : 0;
}

static int side_start(tpm_side *s)
{
	char cmd[2048], path[512];

	memset(s, 0, sizeof(*s));
	if (swtpm_fixture_start(&s->fx) < 0 || tpa_tpm_open(&s->tpm, s->fx.tcti) < 0 ||
	    tpa_tpm_ek_public(s->tpm, &s->ek) < 0 ||
	    tpa_tpm_ek_cert(s->tpm, &s->cert, &s->cert_len) < 0 ||
	    tpa_tpm_ak_load(s->tpm, TPA_AK_ECC_P256, NULL) < 0 || ak_name_of(s) < 0) {
		fprintf(stderr, "identity: %s\n", tpa_err_last());
		return -1;
	}
	snprintf(path, sizeof(path), "%s/ca/issuercert.pem", s->fx.dir);
	if (der_of_pem(s->issuer, sizeof(s->issuer), &s->issuer_len, path) < 0)
		return -1;
	snprintf(s->roots, sizeof(s->roots), "%s/roots", s->fx.dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s && cp %s/ca/swtpm-localca-rootca-cert.pem %s/",
		 s->roots, s->fx.dir, s->roots);
	return system(cmd) == 0 ? 0 : -1;
}

static void side_stop(tpm_side *s)
{
	tpa_tpm_close(s->tpm);
	free(s->cert);
	swtpm_fixture_stop(&s->fx);
}

static int verify(const tpm_side *cert_of, const uint8_t *inter, size_t inter_len,
		  const char *roots, const TPMT_PUBLIC *ek)
{
	const uint8_t *list[1] = { inter };
	size_t lens[1] = { inter_len };

	return tpa_ekcert_verify(cert_of->cert, cert_of->cert_len, list, lens, inter ? 1 : 0,
				 roots, ek);
}

static void test_ekcert_chain(void)
{
	CU_ASSERT(A.cert_len > 500);
	CU_ASSERT_EQUAL(A.ek.type, TPM2_ALG_RSA);
	CU_ASSERT_EQUAL(verify(&A, A.issuer, A.issuer_len, A.roots, &A.ek), 0);
	/* Without the intermediate the chain cannot be built. */
	CU_ASSERT_EQUAL(verify(&A, NULL, 0, A.roots, &A.ek), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "issuer") != NULL);
}

static void test_ekcert_untrusted_ca(void)
{
	/* A's certificate against B's root, even with A's intermediate. */
	CU_ASSERT_EQUAL(verify(&A, A.issuer, A.issuer_len, B.roots, &A.ek), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "trusted CA") != NULL);
}

static void test_ekcert_intermediate_is_no_anchor(void)
{
	uint8_t root[4096];
	size_t root_len;
	char path[600];
	const uint8_t *list[2];
	size_t lens[2];

	/* A client sending A's root among its "intermediates" does not make it
	 * trusted by a verifier that trusts only B's root. */
	snprintf(path, sizeof(path), "%s/ca/swtpm-localca-rootca-cert.pem", A.fx.dir);
	CU_ASSERT_EQUAL_FATAL(der_of_pem(root, sizeof(root), &root_len, path), 0);
	list[0] = A.issuer;
	lens[0] = A.issuer_len;
	list[1] = root;
	lens[1] = root_len;
	CU_ASSERT_EQUAL(tpa_ekcert_verify(A.cert, A.cert_len, list, lens, 2, B.roots, &A.ek),
			TPA_ERR_VERIFY);
}

static void test_ekcert_wrong_ek(void)
{
	CU_ASSERT_EQUAL(verify(&A, A.issuer, A.issuer_len, A.roots, &B.ek), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "not the EK's") != NULL);
}

static void test_ekcert_malformed(void)
{
	uint8_t bad[64];

	memset(bad, 0x30, sizeof(bad));
	CU_ASSERT_EQUAL(tpa_ekcert_verify(bad, sizeof(bad), NULL, NULL, 0, A.roots, &A.ek),
			TPA_ERR_PARSE);
	/* trailing bytes after the certificate */
	{
		uint8_t *c = malloc(A.cert_len + 1);

		memcpy(c, A.cert, A.cert_len);
		c[A.cert_len] = 0;
		CU_ASSERT_EQUAL(tpa_ekcert_verify(c, A.cert_len + 1, NULL, NULL, 0, A.roots, &A.ek),
				TPA_ERR_PARSE);
		free(c);
	}
	CU_ASSERT(tpa_ekcert_verify(A.cert, A.cert_len, NULL, NULL, 0, "/nonexistent", &A.ek) < 0);
}

static void test_activation(void)
{
	uint8_t id[TPA_ID_OBJECT_MAX], sec[TPA_ENC_SECRET_MAX], cred[64], out[64];
	size_t idl, secl, outl = sizeof(out);

	memset(cred, 0x42, 32);
	CU_ASSERT_EQUAL_FATAL(tpa_credential_make(id, &idl, sec, &secl, &A.ek, A.ak_name,
						  A.ak_name_len, cred, 32), 0);
	CU_ASSERT_EQUAL(tpa_tpm_activate_credential(out, &outl, A.tpm, id, idl, sec, secl), 0);
	CU_ASSERT_EQUAL(outl, 32);
	CU_ASSERT_EQUAL(memcmp(out, cred, 32), 0);
}

static void test_activation_other_tpm(void)
{
	uint8_t id[TPA_ID_OBJECT_MAX], sec[TPA_ENC_SECRET_MAX], cred[32], out[64];
	size_t idl, secl, outl = sizeof(out);

	/* Made for A's EK, answered by B (with an AK of the same name claim). */
	memset(cred, 0x17, sizeof(cred));
	CU_ASSERT_EQUAL_FATAL(tpa_credential_make(id, &idl, sec, &secl, &A.ek, B.ak_name,
						  B.ak_name_len, cred, sizeof(cred)), 0);
	CU_ASSERT_EQUAL(tpa_tpm_activate_credential(out, &outl, B.tpm, id, idl, sec, secl),
			TPA_ERR_VERIFY);
}

static void test_activation_other_ak(void)
{
	uint8_t id[TPA_ID_OBJECT_MAX], sec[TPA_ENC_SECRET_MAX], cred[32], out[64];
	size_t idl, secl, outl = sizeof(out);

	/* Made for B's AK name but A's EK: A's AK cannot take it. */
	memset(cred, 0x23, sizeof(cred));
	CU_ASSERT_EQUAL_FATAL(tpa_credential_make(id, &idl, sec, &secl, &A.ek, B.ak_name,
						  B.ak_name_len, cred, sizeof(cred)), 0);
	CU_ASSERT_EQUAL(tpa_tpm_activate_credential(out, &outl, A.tpm, id, idl, sec, secl),
			TPA_ERR_VERIFY);
}

static void test_activation_tampered(void)
{
	uint8_t id[TPA_ID_OBJECT_MAX], sec[TPA_ENC_SECRET_MAX], cred[32], out[64];
	size_t idl, secl, outl = sizeof(out);

	memset(cred, 0x99, sizeof(cred));
	CU_ASSERT_EQUAL_FATAL(tpa_credential_make(id, &idl, sec, &secl, &A.ek, A.ak_name,
						  A.ak_name_len, cred, sizeof(cred)), 0);
	id[idl - 1] ^= 1;                      /* the encrypted credential */
	CU_ASSERT_EQUAL(tpa_tpm_activate_credential(out, &outl, A.tpm, id, idl, sec, secl),
			TPA_ERR_VERIFY);
	id[idl - 1] ^= 1;
	sec[10] ^= 1;                          /* the wrapped seed */
	CU_ASSERT_EQUAL(tpa_tpm_activate_credential(out, &outl, A.tpm, id, idl, sec, secl),
			TPA_ERR_VERIFY);
	sec[10] ^= 1;
	CU_ASSERT_EQUAL(tpa_tpm_activate_credential(out, &outl, A.tpm, id, idl - 1, sec, secl),
			TPA_ERR_PARSE);
	/* The good one still works afterwards. */
	CU_ASSERT_EQUAL(tpa_tpm_activate_credential(out, &outl, A.tpm, id, idl, sec, secl), 0);
}

static void test_make_credential_refuses(void)
{
	uint8_t id[TPA_ID_OBJECT_MAX], sec[TPA_ENC_SECRET_MAX], cred[64] = { 0 };
	size_t idl, secl;
	TPMT_PUBLIC ek = A.ek;

	CU_ASSERT_EQUAL(tpa_credential_make(id, &idl, sec, &secl, &A.ek, A.ak_name,
					    A.ak_name_len, cred, 33), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_credential_make(id, &idl, sec, &secl, &A.ek, A.ak_name, 1, cred, 16),
			TPA_ERR_INVALID_ARG);
	ek.type = TPM2_ALG_ECC; /* an RSA key read as ECC: no curve of ours */
	CU_ASSERT_EQUAL(tpa_credential_make(id, &idl, sec, &secl, &ek, A.ak_name,
					    A.ak_name_len, cred, 16), TPA_ERR_VERIFY);
	ek = A.ek;
	ek.nameAlg = TPM2_ALG_SHA1;
	CU_ASSERT_EQUAL(tpa_credential_make(id, &idl, sec, &secl, &ek, A.ak_name,
					    A.ak_name_len, cred, 16), TPA_ERR_VERIFY);
}

static void test_kdfa_shape(void)
{
	uint8_t a[64], b[64], k[32] = { 1 };

	CU_ASSERT_EQUAL(tpa_kdfa(a, TPM2_ALG_SHA256, k, 32, "STORAGE", NULL, 0, NULL, 0, 512), 0);
	CU_ASSERT_EQUAL(tpa_kdfa(b, TPM2_ALG_SHA256, k, 32, "STORAGE", NULL, 0, NULL, 0, 128), 0);
	/* The counter makes blocks differ, and the length is part of the input. */
	CU_ASSERT(memcmp(a, a + 32, 32) != 0);
	CU_ASSERT(memcmp(a, b, 16) != 0);
	CU_ASSERT_EQUAL(tpa_kdfa(a, TPM2_ALG_SHA256, k, 32, "X", NULL, 0, NULL, 0, 12),
			TPA_ERR_INVALID_ARG);
}

/* ---- the Enroll/Activate rules, in process ---- */

static uint64_t enroll_now;
static uint64_t enroll_clock(void *ctx)
{
	(void)ctx;
	return enroll_now;
}

typedef struct {
	tpa_store *store;
	tpa_token_key *key;
	tpa_service *svc;
	char db[600];
} enroll_env;

static int env_open(enroll_env *e)
{
	tpa_service_opts o = { 0 };

	memset(e, 0, sizeof(*e));
	snprintf(e->db, sizeof(e->db), "%s/registry.db", A.fx.dir);
	if (tpa_store_open_sqlite(&e->store, e->db) < 0 || tpa_token_key_new(&e->key) < 0)
		return -1;
	o.key = e->key;
	o.store = e->store;
	o.ek_ca = A.roots;
	o.nonce_ttl_ms = 60000;
	if (tpa_service_new(&e->svc, &o) < 0)
		return -1;
	enroll_now = 1000;
	tpa_nonce_store_set_clock(tpa_service_nonces(e->svc), enroll_clock, NULL);
	return 0;
}

static void env_close(enroll_env *e)
{
	tpa_service_free(e->svc);
	tpa_token_key_free(e->key);
	tpa_store_close(e->store);
}

/* Enroll side A's EK and AK with n copies of A's intermediate. */
static int enroll_a(tpa_rpc_reply *r, enroll_env *e, size_t n_inter)
{
	Attest__V1__EnrollRequest req = ATTEST__V1__ENROLL_REQUEST__INIT;
	ProtobufCBinaryData inter[8];
	uint8_t ek[TPA_PUBLIC_MAX], ak[TPA_PUBLIC_MAX], buf[16384];
	size_t ek_len = 0, ak_len = 0, i;

	if (Tss2_MU_TPMT_PUBLIC_Marshal(&A.ek, ek, sizeof(ek), &ek_len) != 0 ||
	    tpa_tpm_ak_public(A.tpm, ak, sizeof(ak), &ak_len) < 0)
		return -1;
	for (i = 0; i < n_inter && i < 8; i++) {
		inter[i].data = A.issuer;
		inter[i].len = A.issuer_len;
	}
	req.ek_public.data = ek;
	req.ek_public.len = ek_len;
	req.ek_certificate.data = A.cert;
	req.ek_certificate.len = A.cert_len;
	req.n_ek_intermediates = n_inter;
	req.ek_intermediates = inter;
	req.ak_public.data = ak;
	req.ak_public.len = ak_len;
	memset(r, 0, sizeof(*r));
	tpa_service_enroll(r, buf, protobuf_c_message_pack(&req.base, buf), e->svc);
	return 0;
}

static void activate(tpa_rpc_reply *r, enroll_env *e, const char *id, const uint8_t *cred,
		     size_t n)
{
	Attest__V1__ActivateRequest req = ATTEST__V1__ACTIVATE_REQUEST__INIT;
	uint8_t buf[256];

	req.enrollment_id = (char *)id;
	req.credential.data = (uint8_t *)cred;
	req.credential.len = n;
	memset(r, 0, sizeof(*r));
	tpa_service_activate(r, buf, protobuf_c_message_pack(&req.base, buf), e->svc);
}

/* Enrolls and returns the credential A's TPM releases. */
static int enroll_and_release(enroll_env *e, char *id, uint8_t *cred, size_t *cred_len)
{
	Attest__V1__EnrollResponse *er;
	tpa_rpc_reply r;
	int rc = -1;

	if (enroll_a(&r, e, 1) < 0 || r.status != TPA_RPC_OK)
		goto out;
	if (!(er = attest__v1__enroll_response__unpack(NULL, r.len, r.data)))
		goto out;
	snprintf(id, TPA_CHALLENGE_ID_LEN + 1, "%s", er->enrollment_id);
	rc = tpa_tpm_activate_credential(cred, cred_len, A.tpm, er->credential_blob.data,
					 er->credential_blob.len, er->encrypted_secret.data,
					 er->encrypted_secret.len);
	attest__v1__enroll_response__free_unpacked(er, NULL);
out:
	free(r.data);
	return rc;
}

static void test_enroll_wrong_credential(void)
{
	enroll_env e;
	tpa_rpc_reply r;
	char id[TPA_CHALLENGE_ID_LEN + 1];
	uint8_t cred[64];
	size_t n = sizeof(cred), ndev = 1;
	tpa_device *all = NULL;

	CU_ASSERT_EQUAL_FATAL(env_open(&e), 0);
	CU_ASSERT_EQUAL_FATAL(enroll_and_release(&e, id, cred, &n), 0);
	cred[0] ^= 1; /* not what the TPM released */
	activate(&r, &e, id, cred, n);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_PERMISSION_DENIED);
	CU_ASSERT(strstr(r.details, "credential is wrong") != NULL);
	free(r.data);
	cred[0] ^= 1;
	/* The enrollment was used up by the wrong answer: a replay is refused. */
	activate(&r, &e, id, cred, n);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_FAILED_PRECONDITION);
	CU_ASSERT(strstr(r.details, "already used") != NULL);
	free(r.data);
	/* Nothing was registered. */
	CU_ASSERT_EQUAL(tpa_store_list(&all, &ndev, e.store), 0);
	CU_ASSERT_EQUAL(ndev, 0);
	free(all);
	env_close(&e);
}

static void test_enroll_replayed_and_expired(void)
{
	enroll_env e;
	tpa_rpc_reply r;
	char id[TPA_CHALLENGE_ID_LEN + 1];
	uint8_t cred[64];
	size_t n = sizeof(cred);

	CU_ASSERT_EQUAL_FATAL(env_open(&e), 0);
	CU_ASSERT_EQUAL_FATAL(enroll_and_release(&e, id, cred, &n), 0);
	activate(&r, &e, id, cred, n);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_OK);
	free(r.data);
	activate(&r, &e, id, cred, n); /* replayed */
	CU_ASSERT_EQUAL(r.status, TPA_RPC_FAILED_PRECONDITION);
	free(r.data);
	n = sizeof(cred);
	CU_ASSERT_EQUAL_FATAL(enroll_and_release(&e, id, cred, &n), 0);
	enroll_now += 60000; /* the enrollment's lifetime */
	activate(&r, &e, id, cred, n);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_FAILED_PRECONDITION);
	CU_ASSERT(strstr(r.details, "expired") != NULL);
	free(r.data);
	env_close(&e);
}

static void test_enroll_refusals(void)
{
	enroll_env e;
	tpa_rpc_reply r;

	CU_ASSERT_EQUAL_FATAL(env_open(&e), 0);
	/* Without the intermediate the chain to A's root cannot be built. */
	CU_ASSERT_EQUAL_FATAL(enroll_a(&r, &e, 0), 0);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_PERMISSION_DENIED);
	CU_ASSERT(strstr(r.details, "trusted CA") != NULL);
	/* More intermediates than allowed. */
	CU_ASSERT_EQUAL_FATAL(enroll_a(&r, &e, 5), 0);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_INVALID_ARGUMENT);
	CU_ASSERT(strstr(r.details, "ek_intermediates") != NULL);
	env_close(&e);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	setenv("TSS2_LOG", "all+none", 1);
	if (side_start(&A) < 0 || side_start(&B) < 0) {
		fprintf(stderr, "test_identity: cannot set up two swtpm instances\n");
		side_stop(&A);
		side_stop(&B);
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("identity (two swtpm, two local CAs)", NULL, NULL);
	CU_add_test(s, "EK certificate chains to the local CA's root", test_ekcert_chain);
	CU_add_test(s, "EK certificate from an untrusted CA", test_ekcert_untrusted_ca);
	CU_add_test(s, "an intermediate is never an anchor", test_ekcert_intermediate_is_no_anchor);
	CU_add_test(s, "EK certificate that does not match the EK", test_ekcert_wrong_ek);
	CU_add_test(s, "malformed EK certificates", test_ekcert_malformed);
	CU_add_test(s, "MakeCredential in software, ActivateCredential in the TPM", test_activation);
	CU_add_test(s, "a credential answered by a different TPM", test_activation_other_tpm);
	CU_add_test(s, "a credential for another AK", test_activation_other_ak);
	CU_add_test(s, "tampered credential blobs", test_activation_tampered);
	CU_add_test(s, "MakeCredential refuses bad input", test_make_credential_refuses);
	CU_add_test(s, "KDFa", test_kdfa_shape);
	CU_add_test(s, "Activate with a wrong credential, then replayed",
		    test_enroll_wrong_credential);
	CU_add_test(s, "Activate replayed or expired", test_enroll_replayed_and_expired);
	CU_add_test(s, "Enroll refusals: no chain, too many intermediates", test_enroll_refusals);
	failed = test_run_all();
	side_stop(&A);
	side_stop(&B);
	return failed ? 1 : 0;
}
