/* SPDX-License-Identifier: BSD-3-Clause */
/* Device identity against two real swtpm instances, each with its own local
 * CA: EK certificates validated to a trusted root, and credential
 * activation proving that an AK lives beside an EK. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "swtpm_fixture.h"
#include "testutil.h"
#include "tpa/err.h"
#include "tpa/evidence.h"
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
	enroll_now = 1800000000000ull;
	tpa_sealer_set_clock(tpa_service_sealer(e->svc), enroll_clock, NULL);
	return 0;
}

static void env_close(enroll_env *e)
{
	tpa_service_free(e->svc);
	tpa_token_key_free(e->key);
	tpa_store_close(e->store);
}

/* Enroll side A's EK and AK with n copies of A's intermediate; the AK's
 * attributes in clear are cleared first (a key the verifier must refuse). */
static int enroll_a_attrs(tpa_rpc_reply *r, enroll_env *e, size_t n_inter, TPMA_OBJECT clear)
{
	Attest__V1__EnrollRequest req = ATTEST__V1__ENROLL_REQUEST__INIT;
	ProtobufCBinaryData inter[8];
	uint8_t ek[TPA_PUBLIC_MAX], ak[TPA_PUBLIC_MAX], buf[16384];
	size_t ek_len = 0, ak_len = 0, i;

	if (Tss2_MU_TPMT_PUBLIC_Marshal(&A.ek, ek, sizeof(ek), &ek_len) != 0 ||
	    tpa_tpm_ak_public(A.tpm, ak, sizeof(ak), &ak_len) < 0)
		return -1;
	if (clear) {
		TPMT_PUBLIC p;
		size_t off = 0;

		if (tpa_decode_public(&p, ak, ak_len) < 0)
			return -1;
		p.objectAttributes &= ~clear;
		if (Tss2_MU_TPMT_PUBLIC_Marshal(&p, ak, sizeof(ak), &off) != 0)
			return -1;
		ak_len = off;
	}
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

static int enroll_a(tpa_rpc_reply *r, enroll_env *e, size_t n_inter)
{
	return enroll_a_attrs(r, e, n_inter, 0);
}

/* Activate, sending what Enroll was sent again (the verifier kept nothing). */
static void activate(tpa_rpc_reply *r, enroll_env *e, const char *id, const uint8_t *cred,
		     size_t n)
{
	Attest__V1__ActivateRequest req = ATTEST__V1__ACTIVATE_REQUEST__INIT;
	uint8_t ek[TPA_PUBLIC_MAX], ak[TPA_PUBLIC_MAX], buf[16384];
	size_t ek_len = 0, ak_len = 0;

	memset(r, 0, sizeof(*r));
	CU_ASSERT_FATAL(Tss2_MU_TPMT_PUBLIC_Marshal(&A.ek, ek, sizeof(ek), &ek_len) == 0 &&
			tpa_tpm_ak_public(A.tpm, ak, sizeof(ak), &ak_len) == 0);
	req.enrollment_id = (char *)id;
	req.credential.data = (uint8_t *)cred;
	req.credential.len = n;
	req.ek_public.data = ek;
	req.ek_public.len = ek_len;
	req.ek_certificate.data = A.cert;
	req.ek_certificate.len = A.cert_len;
	req.ak_public.data = ak;
	req.ak_public.len = ak_len;
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
	snprintf(id, TPA_ENROLLMENT_ID_LEN + 1, "%s", er->enrollment_id);
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
	char id[TPA_ENROLLMENT_ID_LEN + 1];
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
	/* Nothing was registered, nothing used up: a wrong answer proves
	 * nothing and holds nothing. */
	CU_ASSERT_EQUAL(tpa_store_list(&all, &ndev, e.store), 0);
	CU_ASSERT_EQUAL(ndev, 0);
	free(all);
	cred[0] ^= 1;
	activate(&r, &e, id, cred, n);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_OK);
	free(r.data);
	env_close(&e);
}

static void test_enroll_replayed_and_expired(void)
{
	enroll_env e;
	tpa_rpc_reply r;
	char id[TPA_ENROLLMENT_ID_LEN + 1];
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
	/* AKs that do not deserve a credential: not restricted (it could sign
	 * a forged TPMS_ATTEST), not fixedTPM (it could be moved out of the
	 * TPM), a decryption key too. */
	CU_ASSERT_EQUAL_FATAL(enroll_a_attrs(&r, &e, 1, TPMA_OBJECT_RESTRICTED), 0);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_PERMISSION_DENIED);
	CU_ASSERT(strstr(r.details, "restricted") != NULL);
	CU_ASSERT_EQUAL_FATAL(enroll_a_attrs(&r, &e, 1, TPMA_OBJECT_FIXEDTPM), 0);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_PERMISSION_DENIED);
	CU_ASSERT(strstr(r.details, "fixedTPM") != NULL);
	CU_ASSERT_EQUAL_FATAL(enroll_a_attrs(&r, &e, 1, TPMA_OBJECT_SENSITIVEDATAORIGIN), 0);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_PERMISSION_DENIED);
	env_close(&e);
}

/* A device revoked between Enroll and Activate, or deleted while revoked
 * (a tombstone), is refused at Activate by name (never answered
 * "enrolled"); the refusal uses nothing up, so once an operator reinstates
 * it the same answer activates. */
static void test_activate_revoked_or_tombstoned(void)
{
	enroll_env e;
	tpa_rpc_reply r;
	tpa_device d;
	char id[TPA_ENROLLMENT_ID_LEN + 1], dev[TPA_DEVICE_ID_LEN + 1], want[200];
	uint8_t cred[64];
	size_t n = sizeof(cred);

	CU_ASSERT_EQUAL_FATAL(env_open(&e), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_ek_device_id(dev, &A.ek), 0);
	CU_ASSERT_EQUAL_FATAL(enroll_and_release(&e, id, cred, &n), 0);
	activate(&r, &e, id, cred, n);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_OK);
	free(r.data);
	n = sizeof(cred);
	CU_ASSERT_EQUAL_FATAL(enroll_and_release(&e, id, cred, &n), 0);
	CU_ASSERT_EQUAL(tpa_store_set_state(e.store, dev, TPA_DEVICE_REVOKED, 1), 0);
	activate(&r, &e, id, cred, n);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_PERMISSION_DENIED);
	snprintf(want, sizeof(want), "device %.16s is revoked: an operator must reinstate it: "
		 "verifier devices reinstate %.16s", dev, dev);
	CU_ASSERT_STRING_EQUAL(r.details, want);
	free(r.data);
	/* Deleted while revoked: a tombstone, refused the same way. */
	CU_ASSERT_EQUAL(tpa_store_remove(e.store, dev, 2), 0);
	activate(&r, &e, id, cred, n);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_PERMISSION_DENIED);
	snprintf(want, sizeof(want), "device %.16s is revoked (deleted while revoked): an "
		 "operator must reinstate it: verifier devices reinstate %.16s", dev, dev);
	CU_ASSERT_STRING_EQUAL(r.details, want);
	free(r.data);
	CU_ASSERT_EQUAL(tpa_store_get(&d, e.store, dev), TPA_ERR_NOT_FOUND);
	/* Reinstated: the same credential activates (nothing was used up). */
	CU_ASSERT_EQUAL(tpa_store_untombstone(e.store, dev, 3), 0);
	activate(&r, &e, id, cred, n);
	CU_ASSERT_EQUAL(r.status, TPA_RPC_OK);
	free(r.data);
	CU_ASSERT_EQUAL(tpa_store_get(&d, e.store, dev), 0);
	CU_ASSERT_EQUAL(d.state, TPA_DEVICE_ACTIVE);
	env_close(&e);
}

/* ---- real EK certificates from TPM vendors (tests/data/ekcerts) ----
 * Leaves, intermediates and roots copied from public repositories (see
 * tests/data/SOURCES.md), the cases listed in tests/data/ekcerts/cases.txt;
 * each leaf is checked against its own chain, without its root, with a
 * flipped byte and with a key that is not its own. */

#define REAL_MAX 32                  /* cases in cases.txt */
#define REAL_INTER_MAX TPA_ENROLL_INTERMEDIATES_MAX
#define REAL_FILE_MAX 128            /* a file name in cases.txt */

typedef enum { REAL_RSA2048, REAL_ECC_P256, REAL_ECC_P384 } real_key;

typedef struct {
	char name[160];              /* vendor, TPM, what the case shows */
	char leaf[REAL_FILE_MAX];    /* PEM as stored; may carry NV padding */
	char inter[REAL_INTER_MAX][REAL_FILE_MAX]; /* sent as ek_intermediates */
	char root[REAL_FILE_MAX];    /* the anchor */
	int ok;                      /* 1: verifies; 0: refused even so */
	real_key key;
} real_case;

static real_case real_cases[REAL_MAX];
static size_t real_n;

typedef struct {
	uint8_t *raw;                /* the first PEM block, as stored */
	size_t raw_len;
	uint8_t *leaf;               /* the certificate alone (NV padding cut) */
	size_t leaf_len;
	uint8_t *inter[REAL_INTER_MAX];
	size_t inter_len[REAL_INTER_MAX];
	size_t ninter;
	TPMT_PUBLIC ek;              /* derived from the certificate's key */
	char root[1024];             /* path of the anchor file */
	char others[512];            /* a CA directory with every root but this one */
} real_side;

static real_side R[REAL_MAX];
static char real_tmp[256];

static const char *ekcerts_dir(void)
{
	const char *d = getenv("TPA_EKCERTS");

	return d && *d ? d : "tests/data/ekcerts";
}

/* A file name of cases.txt into out: a plain name in the directory. */
static int real_file(char out[REAL_FILE_MAX], const char *tok)
{
	size_t n = tok ? strlen(tok) : 0;

	if (n == 0 || n >= REAL_FILE_MAX || strchr(tok, '/') || tok[0] == '.')
		return -1;
	memcpy(out, tok, n + 1);
	return 0;
}

static int real_key_of(real_key *out, const char *tok)
{
	static const struct { const char *name; real_key key; } keys[] = {
		{ "rsa2048", REAL_RSA2048 }, { "ecc-p256", REAL_ECC_P256 },
		{ "ecc-p384", REAL_ECC_P384 },
	};
	size_t i;

	for (i = 0; tok && i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(tok, keys[i].name) == 0) {
			*out = keys[i].key;
			return 0;
		}
	return -1;
}

/* One line of cases.txt: leaf, expect, key, intermediates, root, name. */
static int real_parse_line(real_case *c, char *line)
{
	char *tok[5], *save = NULL, *name;
	size_t i, n;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < 5; i++)
		if (!(tok[i] = strtok_r(i ? NULL : line, " \t\n", &save)))
			return -1;
	name = save + strspn(save, " \t");
	name[strcspn(name, "\n")] = '\0';
	n = strlen(name);
	if (n == 0 || n >= sizeof(c->name) || real_file(c->leaf, tok[0]) < 0 ||
	    real_key_of(&c->key, tok[2]) < 0 || real_file(c->root, tok[4]) < 0)
		return -1;
	memcpy(c->name, name, n + 1);
	if (strcmp(tok[1], "ok") == 0)
		c->ok = 1;
	else if (strcmp(tok[1], "refused") != 0)
		return -1;
	if (strcmp(tok[3], "-") == 0)
		return 0;
	for (i = 0, save = NULL; (tok[0] = strtok_r(i ? NULL : tok[3], ",", &save)); i++)
		if (i == REAL_INTER_MAX || real_file(c->inter[i], tok[0]) < 0)
			return -1;
	return 0;
}

/* Reads cases.txt: '#' starts a comment line, blank lines are skipped. */
static int real_load_cases(void)
{
	char path[1024], line[1024];
	unsigned lineno = 0;
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/cases.txt", ekcerts_dir());
	if (!(f = fopen(path, "r"))) {
		fprintf(stderr, "real EK certificates: cannot open %s\n", path);
		return -1;
	}
	real_n = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f))
			rc = -1;                 /* longer than the buffer */
		else if (line[strspn(line, " \t")] == '#' || line[strspn(line, " \t\n")] == '\0')
			continue;
		else if (real_n == REAL_MAX || real_parse_line(&real_cases[real_n], line) < 0)
			rc = -1;
		else
			real_n++;
	}
	fclose(f);
	if (rc < 0)
		fprintf(stderr, "real EK certificates: %s:%u: not a case\n", path, lineno);
	else if (real_n < 3)                 /* the negatives borrow other cases' keys */
		rc = -1, fprintf(stderr, "real EK certificates: %s: fewer than 3 cases\n", path);
	return rc;
}

/* The case of a leaf file, for the tests of one certificate's quirk. */
static size_t real_index(const char *leaf)
{
	size_t i;

	for (i = 0; i < real_n; i++)
		if (strcmp(real_cases[i].leaf, leaf) == 0)
			return i;
	CU_FAIL_FATAL("a case of cases.txt is missing");
	return 0;
}

/* The bytes of the first PEM block of a file, never re-encoded. */
static int pem_raw(uint8_t **out, size_t *len, const char *name)
{
	char path[1024], *nm = NULL, *hdr = NULL;
	unsigned char *data = NULL;
	long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", ekcerts_dir(), name);
	if (!(f = fopen(path, "r")))
		return -1;
	if (!PEM_read(f, &nm, &hdr, &data, &n) || n <= 0) {
		fclose(f);
		return -1;
	}
	fclose(f);
	OPENSSL_free(nm);
	OPENSSL_free(hdr);
	if (!(*out = malloc((size_t)n))) {
		OPENSSL_free(data);
		return -1;
	}
	memcpy(*out, data, (size_t)n);
	OPENSSL_free(data);
	*len = (size_t)n;
	return 0;
}

/* Offset and length of the content of the DER element at der[off]. */
static int tlv(const uint8_t *der, size_t n, size_t off, size_t *hdr, size_t *len)
{
	size_t i, k;

	if (off + 2 > n)
		return -1;
	if (der[off + 1] < 0x80) {
		*hdr = 2;
		*len = der[off + 1];
	} else {
		k = der[off + 1] & 0x7f;
		if (k == 0 || k > 3 || off + 2 + k > n)
			return -1;
		*len = 0;
		for (i = 0; i < k; i++)
			*len = *len << 8 | der[off + 2 + i];
		*hdr = 2 + k;
	}
	return off + *hdr + *len <= n ? 0 : -1;
}

/* The TPMT_PUBLIC a TPM would report for the certificate's key. */
static int ek_public_of(TPMT_PUBLIC *pub, const uint8_t *der, size_t n)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)n);
	EVP_PKEY *k = x ? X509_get0_pubkey(x) : NULL;
	BIGNUM *a = NULL, *b = NULL;
	char group[64];
	int rc = -1;

	memset(pub, 0, sizeof(*pub));
	pub->nameAlg = TPM2_ALG_SHA256;
	if (!k)
		goto out;
	if (EVP_PKEY_is_a(k, "RSA")) {
		int len;

		if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &a) ||
		    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &b) ||
		    (len = BN_num_bytes(a)) > (int)sizeof(pub->unique.rsa.buffer))
			goto out;
		pub->type = TPM2_ALG_RSA;
		pub->parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)BN_num_bits(a);
		pub->parameters.rsaDetail.exponent =
			BN_is_word(b, 65537) ? 0 : (UINT32)BN_get_word(b);
		pub->unique.rsa.size = (UINT16)BN_bn2bin(a, pub->unique.rsa.buffer);
		rc = 0;
	} else if (EVP_PKEY_is_a(k, "EC")) {
		int fs;

		if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
						    sizeof(group), NULL))
			goto out;
		if (strcmp(group, "prime256v1") == 0) {
			pub->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
			fs = 32;
		} else if (strcmp(group, "secp384r1") == 0) {
			pub->parameters.eccDetail.curveID = TPM2_ECC_NIST_P384;
			fs = 48;
		} else {
			goto out;
		}
		if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &a) ||
		    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &b) ||
		    BN_bn2binpad(a, pub->unique.ecc.x.buffer, fs) != fs ||
		    BN_bn2binpad(b, pub->unique.ecc.y.buffer, fs) != fs)
			goto out;
		pub->type = TPM2_ALG_ECC;
		pub->unique.ecc.x.size = (UINT16)fs;
		pub->unique.ecc.y.size = (UINT16)fs;
		rc = 0;
	}
out:
	BN_free(a);
	BN_free(b);
	X509_free(x);
	return rc;
}

static int copy_file(const char *from, const char *to)
{
	char buf[8192];
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	size_t n;
	int rc = 0;

	if (!in || !out)
		rc = -1;
	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			rc = -1;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		rc = -1;
	return rc;
}

static int real_init(void)
{
	size_t i, j, k, hdr, len;

	if (real_load_cases() < 0)
		return -1;
	snprintf(real_tmp, sizeof(real_tmp), "/tmp/tpa-ekcerts-XXXXXX");
	if (!mkdtemp(real_tmp))
		return -1;
	for (i = 0; i < real_n; i++) {
		const real_case *c = &real_cases[i];
		real_side *s = &R[i];

		if (pem_raw(&s->raw, &s->raw_len, c->leaf) < 0 ||
		    tlv(s->raw, s->raw_len, 0, &hdr, &len) < 0 || !(s->leaf = malloc(hdr + len)))
			goto fail;
		/* What tpa_tpm_ek_cert() keeps of an NV index: the DER alone. */
		s->leaf_len = hdr + len;
		memcpy(s->leaf, s->raw, s->leaf_len);
		if (ek_public_of(&s->ek, s->leaf, s->leaf_len) < 0)
			goto fail;
		for (j = 0; j < REAL_INTER_MAX && c->inter[j][0]; j++)
			if (pem_raw(&s->inter[j], &s->inter_len[j], c->inter[j]) < 0)
				goto fail;
		s->ninter = j;
		snprintf(s->root, sizeof(s->root), "%s/%s", ekcerts_dir(), c->root);
		snprintf(s->others, sizeof(s->others), "%s/others-%zu", real_tmp, i);
		if (mkdir(s->others, 0700) != 0)
			goto fail;
		for (k = 0; k < real_n; k++) {
			char from[1024], to[600];

			if (strcmp(real_cases[k].root, c->root) == 0)
				continue;
			snprintf(from, sizeof(from), "%s/%s", ekcerts_dir(), real_cases[k].root);
			snprintf(to, sizeof(to), "%s/%s", s->others, real_cases[k].root);
			if (copy_file(from, to) < 0)
				goto fail;
		}
	}
	return 0;
fail:
	fprintf(stderr, "real EK certificates: cannot load case %zu from %s\n", i, ekcerts_dir());
	return -1;
}

static int real_cleanup(void)
{
	char cmd[600];
	size_t i;

	for (i = 0; i < REAL_MAX; i++) {
		size_t j;

		free(R[i].raw);
		free(R[i].leaf);
		for (j = 0; j < REAL_INTER_MAX; j++)
			free(R[i].inter[j]);
	}
	memset(R, 0, sizeof(R));
	if (real_tmp[0] && strncmp(real_tmp, "/tmp/tpa-ekcerts-", 17) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", real_tmp);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

static int real_verify(const real_side *s, const uint8_t *leaf, size_t leaf_len,
		       const char *ca, const TPMT_PUBLIC *ek)
{
	const uint8_t *list[REAL_INTER_MAX];
	size_t j;

	for (j = 0; j < REAL_INTER_MAX; j++)
		list[j] = s->inter[j];
	return tpa_ekcert_verify(leaf, leaf_len, list, s->inter_len, s->ninter, ca, ek);
}

/* The case's leaf, as the client sends it, against its own root. */
static int real_verify_leaf(const real_side *s, const TPMT_PUBLIC *ek)
{
	return real_verify(s, s->leaf, s->leaf_len, s->root, ek);
}

static void test_real_accepted(void)
{
	size_t i, rsa = 0, ecc = 0;

	for (i = 0; i < real_n; i++) {
		const real_case *c = &real_cases[i];
		int rc = real_verify(&R[i], R[i].leaf, R[i].leaf_len, R[i].root, &R[i].ek);

		if (rc != (c->ok ? 0 : TPA_ERR_VERIFY))
			fprintf(stderr, "\n  %s: %s\n", c->name,
				rc == 0 ? "verifies, expected refused" : tpa_err_last());
		CU_ASSERT_EQUAL(rc, c->ok ? 0 : TPA_ERR_VERIFY);
		/* Each EK of the kind its line names. */
		if (c->key == REAL_RSA2048) {
			CU_ASSERT_EQUAL(R[i].ek.type, TPM2_ALG_RSA);
			CU_ASSERT_EQUAL(R[i].ek.parameters.rsaDetail.keyBits, 2048);
			rsa++;
		} else {
			CU_ASSERT_EQUAL(R[i].ek.type, TPM2_ALG_ECC);
			CU_ASSERT_EQUAL(R[i].ek.parameters.eccDetail.curveID,
					c->key == REAL_ECC_P256 ? TPM2_ECC_NIST_P256
								: TPM2_ECC_NIST_P384);
			ecc++;
		}
	}
	/* The EKs are of both kinds. */
	CU_ASSERT(rsa > 0 && ecc > 0);
}

static void test_real_without_root(void)
{
	size_t i;

	/* Every other vendor's root, but not this one's. */
	for (i = 0; i < real_n; i++) {
		if (!real_cases[i].ok)
			continue;
		CU_ASSERT_EQUAL(real_verify(&R[i], R[i].leaf, R[i].leaf_len, R[i].others, &R[i].ek),
				TPA_ERR_VERIFY);
		CU_ASSERT(strstr(tpa_err_last(), "trusted CA") != NULL);
	}
	/* Sending the root along as an "intermediate" does not make it trusted. */
	{
		size_t k = real_index("infineon-slb9665-rsa-ek.pem");
		const uint8_t *list[2] = { R[k].inter[0], NULL };
		size_t lens[2] = { R[k].inter_len[0], 0 };
		uint8_t *root = NULL;

		CU_ASSERT_EQUAL_FATAL(pem_raw(&root, &lens[1], real_cases[k].root), 0);
		list[1] = root;
		CU_ASSERT_EQUAL(tpa_ekcert_verify(R[k].leaf, R[k].leaf_len, list, lens, 2,
						  R[k].others, &R[k].ek), TPA_ERR_VERIFY);
		free(root);
	}
}

static void test_real_flipped_bytes(void)
{
	size_t i, hdr, len;

	for (i = 0; i < real_n; i++) {
		real_side *s = &R[i];
		uint8_t *c;

		if (!real_cases[i].ok)
			continue;
		c = malloc(s->leaf_len);

		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		/* The last byte of the signature. */
		memcpy(c, s->leaf, s->leaf_len);
		c[s->leaf_len - 1] ^= 0x01;
		CU_ASSERT_EQUAL(real_verify(s, c, s->leaf_len, s->root, &s->ek), TPA_ERR_VERIFY);
		CU_ASSERT(strstr(tpa_err_last(), "signature") != NULL);
		/* The last byte of the signed part (inside the last extension). */
		memcpy(c, s->leaf, s->leaf_len);
		CU_ASSERT_EQUAL_FATAL(tlv(c, s->leaf_len, 0, &hdr, &len), 0);
		{
			size_t tbs = hdr, th, tl;

			CU_ASSERT_EQUAL_FATAL(tlv(c, s->leaf_len, tbs, &th, &tl), 0);
			c[tbs + th + tl - 1] ^= 0x01;
		}
		CU_ASSERT_EQUAL(real_verify(s, c, s->leaf_len, s->root, &s->ek), TPA_ERR_VERIFY);
		CU_ASSERT(strstr(tpa_err_last(), "signature") != NULL);
		free(c);
		/* The last byte of the first intermediate's signature. */
		if (s->ninter) {
			const uint8_t *list[REAL_INTER_MAX];
			uint8_t *m = malloc(s->inter_len[0]);
			size_t j;

			CU_ASSERT_PTR_NOT_NULL_FATAL(m);
			memcpy(m, s->inter[0], s->inter_len[0]);
			m[s->inter_len[0] - 1] ^= 0x01;
			list[0] = m;
			for (j = 1; j < REAL_INTER_MAX; j++)
				list[j] = s->inter[j];
			CU_ASSERT_EQUAL(tpa_ekcert_verify(s->leaf, s->leaf_len, list, s->inter_len,
							  s->ninter, s->root, &s->ek),
					TPA_ERR_VERIFY);
			free(m);
		}
	}
}

static void test_real_wrong_key(void)
{
	size_t i;

	for (i = 0; i < real_n; i++) {
		const TPMT_PUBLIC *other = &R[(i + 2) % real_n].ek;
		TPMT_PUBLIC ek = R[i].ek;

		if (!real_cases[i].ok)
			continue;
		CU_ASSERT_EQUAL(real_verify(&R[i], R[i].leaf, R[i].leaf_len, R[i].root, other),
				TPA_ERR_VERIFY);
		CU_ASSERT(strstr(tpa_err_last(), "not the EK's") != NULL);
		/* One bit of the key itself. */
		if (ek.type == TPM2_ALG_RSA)
			ek.unique.rsa.buffer[ek.unique.rsa.size / 2] ^= 0x01;
		else
			ek.unique.ecc.x.buffer[0] ^= 0x01;
		CU_ASSERT_EQUAL(real_verify(&R[i], R[i].leaf, R[i].leaf_len, R[i].root, &ek),
				TPA_ERR_VERIFY);
	}
}

static void test_real_nv_padding(void)
{
	size_t st = real_index("stmicro-st33-rsa-ek.nv.pem");

	/* STMicro's NV index is 1600 bytes for a 1169-byte certificate, the
	 * rest 0xff: the verifier takes exactly one certificate, the client cuts
	 * the padding (tpa_tpm_ek_cert). */
	CU_ASSERT_EQUAL(R[st].raw_len, 1600);
	CU_ASSERT_EQUAL(R[st].leaf_len, 1169);
	CU_ASSERT_EQUAL(R[st].raw[R[st].raw_len - 1], 0xff);
	CU_ASSERT_EQUAL(real_verify(&R[st], R[st].raw, R[st].raw_len, R[st].root, &R[st].ek),
			TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(real_verify(&R[st], R[st].leaf, R[st].leaf_len, R[st].root, &R[st].ek), 0);
}

static void test_real_anchors(void)
{
	char path[1024];
	size_t ecc = real_index("stmicro-st33-ecc-ek.pem");
	size_t ifx = real_index("infineon-slb9665-rsa-ek.pem");
	size_t nuv = real_index("nuvoton-npct75x-rsa-ek.pem");

	/* STMicro's ECC "root" is cross-signed by GlobalSign (not kept here):
	 * an anchor that is not self-signed. */
	CU_ASSERT_EQUAL(real_verify_leaf(&R[ecc], &R[ecc].ek), 0);
	/* Trusting one intermediate alone is the administrator's choice. */
	snprintf(path, sizeof(path), "%s/%s", ekcerts_dir(), real_cases[ifx].inter[0]);
	CU_ASSERT_EQUAL(tpa_ekcert_verify(R[ifx].leaf, R[ifx].leaf_len, NULL, NULL, 0, path,
					  &R[ifx].ek),
			0);
	/* The leaf itself in the CA directory is no issuer: its signature is
	 * still checked by one. */
	snprintf(path, sizeof(path), "%s/%s", ekcerts_dir(), real_cases[nuv].leaf);
	CU_ASSERT_EQUAL(tpa_ekcert_verify(R[nuv].leaf, R[nuv].leaf_len, NULL, NULL, 0, path,
					  &R[nuv].ek),
			TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "itself") != NULL);
}

/* Shortens by cut every element of der[start, end) whose content holds off,
 * the element that starts at off excepted (the lengths keep their form). */
static int der_shrink(uint8_t *der, size_t n, size_t start, size_t end, size_t off, size_t cut)
{
	size_t at = start, hdr, len;

	while (at < end) {
		if (tlv(der, n, at, &hdr, &len) < 0)
			return -1;
		if (at == off)
			return hdr + len == cut ? 0 : -1;
		if (off > at && off < at + hdr + len) {
			size_t k = hdr - 2, i, nl = len - cut;

			if (off < at + hdr || !(der[at] & 0x20) ||
			    (hdr == 2 ? nl >= 0x80 : (k == 1 && nl < 0x80)))
				return -1;
			if (hdr == 2)
				der[at + 1] = (uint8_t)nl;
			for (i = 0; hdr > 2 && i < k; i++)
				der[at + 2 + i] = (uint8_t)(nl >> (8 * (k - 1 - i)));
			return der_shrink(der, n, at + hdr, at + hdr + len, off, cut);
		}
		at += hdr + len;
	}
	return -1;
}

/* Removes the element of cut bytes at off, as a DER encoder would. */
static int der_cut(uint8_t *der, size_t *n, size_t off, size_t cut)
{
	if (der_shrink(der, *n, 0, *n, off, cut) < 0)
		return -1;
	memmove(der + off, der + off + cut, *n - off - cut);
	*n -= cut;
	return 0;
}

static void test_real_non_der(void)
{
	static const uint8_t sda_false[] = { 0x06, 0x03, 0x55, 0x1d, 0x09, 0x01, 0x01, 0x00 };
	static const uint8_t cn_first[] = { 0x31, 0x53, 0x30, 0x1f, 0x06, 0x03, 0x55, 0x04, 0x03 };
	const uint8_t *at;
	uint8_t *c;
	size_t n;
	size_t nuv = real_index("nuvoton-npct75x-rsa-ek.pem");
	size_t intel = real_index("intel-ptt-spt-rsa-ek.pem");

	/* Intel: Subject Directory Attributes with critical FALSE spelt out
	 * (a DEFAULT value, which DER omits). Nuvoton: a multi-valued RDN whose
	 * SET is not in DER order (CN, O, C). Both verify on their own bytes. */
	at = memmem(R[intel].leaf, R[intel].leaf_len, sda_false, sizeof(sda_false));
	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	CU_ASSERT_PTR_NOT_NULL(memmem(R[nuv].leaf, R[nuv].leaf_len, cn_first, sizeof(cn_first)));
	CU_ASSERT_EQUAL(real_verify_leaf(&R[intel], &R[intel].ek), 0);
	CU_ASSERT_EQUAL(real_verify_leaf(&R[nuv], &R[nuv].ek), 0);
	/* Made DER (the BOOLEAN dropped), the certificate means the same but
	 * its signature no longer matches: nothing may re-encode it. */
	n = R[intel].leaf_len;
	c = malloc(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	memcpy(c, R[intel].leaf, n);
	CU_ASSERT_EQUAL_FATAL(der_cut(c, &n, (size_t)(at - R[intel].leaf) + 5, 3), 0);
	CU_ASSERT_EQUAL(n, R[intel].leaf_len - 3);
	CU_ASSERT_EQUAL(real_verify(&R[intel], c, n, R[intel].root, &R[intel].ek), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "signature") != NULL);
	free(c);
}

/* The EK public area of the same Intel PTT, as tpm2-tools' test has it:
 * what a real client sends. */
static void intel_ek_public(TPM2B_PUBLIC *tp)
{
	char path[1024], hex[1024];
	uint8_t buf[512];
	size_t n = 0, off = 0, i;
	FILE *f;
	int ch;

	snprintf(path, sizeof(path), "%s/intel-ptt-spt-rsa-ek.tpm2b_public.hex", ekcerts_dir());
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while ((ch = fgetc(f)) != EOF && n < sizeof(hex) - 1)
		if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))
			hex[n++] = (char)ch;
	fclose(f);
	hex[n] = 0;
	CU_ASSERT_EQUAL_FATAL(n % 2, 0);
	for (i = 0; i < n / 2; i++) {
		unsigned v;

		CU_ASSERT_EQUAL_FATAL(sscanf(hex + 2 * i, "%2x", &v), 1);
		buf[i] = (uint8_t)v;
	}
	memset(tp, 0, sizeof(*tp));
	CU_ASSERT_EQUAL_FATAL(Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, n / 2, &off, tp), 0);
	CU_ASSERT_EQUAL(off, n / 2);
}

static void test_real_intel_ek_public(void)
{
	TPM2B_PUBLIC tp;
	size_t ifx = real_index("infineon-slb9665-rsa-ek.pem");
	size_t intel = real_index("intel-ptt-spt-rsa-ek.pem");

	intel_ek_public(&tp);
	CU_ASSERT_EQUAL(tp.publicArea.type, TPM2_ALG_RSA);
	CU_ASSERT_EQUAL(tp.publicArea.parameters.rsaDetail.keyBits, 2048);
	CU_ASSERT_EQUAL(tp.publicArea.unique.rsa.size, R[intel].ek.unique.rsa.size);
	CU_ASSERT_EQUAL(memcmp(tp.publicArea.unique.rsa.buffer, R[intel].ek.unique.rsa.buffer,
			       R[intel].ek.unique.rsa.size), 0);
	CU_ASSERT_EQUAL(real_verify_leaf(&R[intel], &tp.publicArea), 0);
	CU_ASSERT_EQUAL(real_verify_leaf(&R[ifx], &tp.publicArea), TPA_ERR_VERIFY);
}

/* The real Intel PTT EK follows template L-1; the same key with one more
 * attribute, or another authPolicy of the same size, follows none: the
 * template is what makes the EK a decryption-only key under the
 * endorsement policy, whatever its certificate says. */
static void test_real_ek_template(void)
{
	TPM2B_PUBLIC tp;
	TPMT_PUBLIC k;
	tpa_ek_template_id id = TPA_EK_TEMPLATE_NONE;

	intel_ek_public(&tp);
	CU_ASSERT_EQUAL(tpa_ek_check_template(&id, &tp.publicArea), 0);
	CU_ASSERT_EQUAL(id, TPA_EK_TEMPLATE_L1);

	k = tp.publicArea;
	k.objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT;
	CU_ASSERT_EQUAL(tpa_ek_check_template(&id, &k), TPA_ERR_VERIFY);
	CU_ASSERT_EQUAL(id, TPA_EK_TEMPLATE_NONE);
	CU_ASSERT(strstr(tpa_err_last(), "its object attributes differs from template L-1") !=
		  NULL);

	k = tp.publicArea;
	CU_ASSERT_EQUAL_FATAL(k.authPolicy.size, 32);
	k.authPolicy.buffer[31] ^= 1;
	CU_ASSERT_EQUAL(tpa_ek_check_template(&id, &k), TPA_ERR_VERIFY);
	CU_ASSERT_EQUAL(id, TPA_EK_TEMPLATE_NONE);
	CU_ASSERT(strstr(tpa_err_last(), "its authPolicy differs from template L-1") != NULL);
}

/* ---- the time policy, on a chain made here ---- */

static X509 *gen_cert(const char *cn, X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key,
		      long from_days, long to_days, int ca)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	X509_NAME *nm;

	if (!x)
		return NULL;
	nm = X509_get_subject_name(x);
	if (!X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400) ||
	    !X509_set_pubkey(x, key) ||
	    (*cn && !X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
						(const unsigned char *)cn, -1, -1, 0)) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm))
		goto fail;
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	if (!(ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
					ca ? "critical,CA:TRUE" : "critical,CA:FALSE")))
		goto fail;
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (!(ext = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage,
					ca ? "critical,keyCertSign" : "critical,keyAgreement")))
		goto fail;
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (X509_sign(x, issuer_key, EVP_sha256()) <= 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

static int der_of(uint8_t *out, size_t cap, size_t *len, X509 *x)
{
	unsigned char *p = out;
	int n = i2d_X509(x, NULL);

	if (n <= 0 || (size_t)n > cap)
		return -1;
	i2d_X509(x, &p);
	*len = (size_t)n;
	return 0;
}

static int pem_to(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = PEM_write_X509(f, x);
	return fclose(f) == 0 && ok ? 0 : -1;
}

static void test_time_policy(void)
{
	EVP_PKEY *rk = EVP_EC_gen("P-256"), *ik = EVP_EC_gen("P-256"), *lk = EVP_EC_gen("P-256");
	X509 *root = NULL, *old_root = NULL, *inter = NULL, *x = NULL;
	uint8_t der[2048], ider[2048];
	size_t n = 0, in = 0;
	const uint8_t *list[1] = { ider };
	char ca[600], old_ca[600];
	TPMT_PUBLIC ek;

	CU_ASSERT_FATAL(rk && ik && lk);
	snprintf(ca, sizeof(ca), "%s/time-root.pem", real_tmp);
	snprintf(old_ca, sizeof(old_ca), "%s/time-old-root.pem", real_tmp);
	root = gen_cert("tpa time root", NULL, rk, rk, -3650, 3650, 1);
	old_root = gen_cert("tpa expired root", NULL, rk, rk, -3650, -30, 1);
	CU_ASSERT_FATAL(root && old_root && pem_to(ca, root) == 0 && pem_to(old_ca, old_root) == 0);

	/* An expired leaf. */
	x = gen_cert("", root, rk, lk, -3000, -400, 0);
	CU_ASSERT_FATAL(x && der_of(der, sizeof(der), &n, x) == 0);
	CU_ASSERT_EQUAL_FATAL(ek_public_of(&ek, der, n), 0);
	CU_ASSERT_EQUAL(tpa_ekcert_verify(der, n, NULL, NULL, 0, ca, &ek), 0);
	/* ... whose signature is still checked. */
	der[n - 1] ^= 0x01;
	CU_ASSERT_EQUAL(tpa_ekcert_verify(der, n, NULL, NULL, 0, ca, &ek), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "signature") != NULL);
	X509_free(x);

	/* An expired intermediate above a valid leaf. */
	inter = gen_cert("tpa expired intermediate", root, rk, ik, -3000, -10, 1);
	x = inter ? gen_cert("", inter, ik, lk, -100, 3000, 0) : NULL;
	CU_ASSERT_FATAL(x && der_of(der, sizeof(der), &n, x) == 0 &&
			der_of(ider, sizeof(ider), &in, inter) == 0);
	CU_ASSERT_EQUAL(tpa_ekcert_verify(der, n, list, &in, 1, ca, &ek), 0);
	X509_free(x);

	/* An expired anchor. */
	x = gen_cert("", old_root, rk, lk, -100, 3000, 0);
	CU_ASSERT_FATAL(x && der_of(der, sizeof(der), &n, x) == 0);
	CU_ASSERT_EQUAL(tpa_ekcert_verify(der, n, NULL, NULL, 0, old_ca, &ek), 0);
	X509_free(x);

	/* Not valid yet: refused. */
	x = gen_cert("", root, rk, lk, 2, 3000, 0);
	CU_ASSERT_FATAL(x && der_of(der, sizeof(der), &n, x) == 0);
	CU_ASSERT_EQUAL(tpa_ekcert_verify(der, n, NULL, NULL, 0, ca, &ek), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "not yet valid") != NULL);
	X509_free(x);

	X509_free(inter);
	X509_free(root);
	X509_free(old_root);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(lk);
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
	CU_add_test(s, "Enroll refusals: no chain, too many intermediates, unfit AKs",
		    test_enroll_refusals);
	CU_add_test(s, "Activate of a revoked or tombstoned device: refused by name",
		    test_activate_revoked_or_tombstoned);
	s = CU_add_suite("EK certificates from real TPMs (tests/data/ekcerts)", real_init,
			 real_cleanup);
	CU_add_test(s, "each vendor's certificate chains to its root", test_real_accepted);
	CU_add_test(s, "refused without the vendor's root", test_real_without_root);
	CU_add_test(s, "a flipped byte in a signature or a signed part", test_real_flipped_bytes);
	CU_add_test(s, "a key that is not the certificate's", test_real_wrong_key);
	CU_add_test(s, "NV padding after the certificate", test_real_nv_padding);
	CU_add_test(s, "anchors: cross-signed root, lone intermediate, not the leaf",
		    test_real_anchors);
	CU_add_test(s, "non-DER encodings verify on their own bytes", test_real_non_der);
	CU_add_test(s, "Intel PTT: the EK public area the TPM reports", test_real_intel_ek_public);
	CU_add_test(s, "Intel PTT: its EK template, not one attribute or policy bit more",
		    test_real_ek_template);
	CU_add_test(s, "time policy: expired accepted, not yet valid refused", test_time_policy);
	failed = test_run_all();
	side_stop(&A);
	side_stop(&B);
	return failed ? 1 : 0;
}
