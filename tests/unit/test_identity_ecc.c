/* SPDX-License-Identifier: BSD-3-Clause */
/* ECC endorsement keys against real swtpm instances: the P-384 EK (template
 * H-3) swtpm provisions with a certificate, the P-256 EK (template L-2) made
 * from its template, MakeCredential with ECDH and KDFe answered by the TPM,
 * AK files that remember their EK, and EK intermediates kept in NV. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <CUnit/Basic.h>

#include "swtpm_fixture.h"
#include "testutil.h"
#include "tpa/err.h"
#include "tpa/identity.h"
#include "tpa/tpm.h"
#include "tpa/tpm_decode.h"

typedef struct {
	swtpm_fixture fx;
	tpa_tpm *tpm;                /* P-384 EK, an ECC AK under it */
	TPMT_PUBLIC ek;
	uint8_t *cert;
	size_t cert_len;
	char ekca[512];              /* root and issuer of the local CA */
	char roots[512];             /* the root only */
	char ak_file[512];
	uint8_t ak_name[TPA_NAME_MAX];
	size_t ak_name_len;
} side;

static side A, B;

static int name_of(tpa_tpm *t, uint8_t *name, size_t *len)
{
	uint8_t pub[TPA_PUBLIC_MAX];
	size_t n;
	TPMT_PUBLIC p;

	return tpa_tpm_ak_public(t, pub, sizeof(pub), &n) < 0 ||
	       tpa_decode_public(&p, pub, n) < 0 || tpa_public_name(name, len, &p) < 0 ? -1 : 0;
}

static int side_start(side *s)
{
	memset(s, 0, sizeof(*s));
	if (swtpm_fixture_start(&s->fx) < 0 || tpa_tpm_open(&s->tpm, s->fx.tcti) < 0 ||
	    tpa_tpm_set_ek(s->tpm, TPA_EK_ECC_P384) < 0 ||
	    tpa_tpm_ek_public(s->tpm, &s->ek) < 0 ||
	    tpa_tpm_ek_cert(s->tpm, &s->cert, &s->cert_len) < 0)
		goto fail;
	snprintf(s->ak_file, sizeof(s->ak_file), "%s/ak-ecc.bin", s->fx.dir);
	if (tpa_tpm_ak_load(s->tpm, TPA_AK_ECC_P256, s->ak_file) < 0 ||
	    name_of(s->tpm, s->ak_name, &s->ak_name_len) < 0)
		goto fail;
	snprintf(s->ekca, sizeof(s->ekca), "%s/ekca", s->fx.dir);
	snprintf(s->roots, sizeof(s->roots), "%s/roots", s->fx.dir);
	{
		char cmd[4096];

		snprintf(cmd, sizeof(cmd),
			 "mkdir -p %s %s && cp %s/ca/swtpm-localca-rootca-cert.pem %s/ && "
			 "cp %s/ca/swtpm-localca-rootca-cert.pem %s/ca/issuercert.pem %s/",
			 s->ekca, s->roots, s->fx.dir, s->roots, s->fx.dir, s->fx.dir, s->ekca);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
fail:
	fprintf(stderr, "identity ecc: %s\n", tpa_err_last());
	return -1;
}

static void side_stop(side *s)
{
	tpa_tpm_close(s->tpm);
	free(s->cert);
	swtpm_fixture_stop(&s->fx);
}

static void test_p384_ek_and_certificate(void)
{
	tpa_ek_type t;

	CU_ASSERT_EQUAL(A.ek.type, TPM2_ALG_ECC);
	CU_ASSERT_EQUAL(A.ek.nameAlg, TPM2_ALG_SHA384);
	CU_ASSERT_EQUAL(A.ek.parameters.eccDetail.curveID, TPM2_ECC_NIST_P384);
	CU_ASSERT_EQUAL(A.ek.unique.ecc.x.size, 48);
	CU_ASSERT(A.cert_len > 300);
	/* swtpm keeps the RSA certificate too: detection takes RSA first. */
	CU_ASSERT_EQUAL(tpa_tpm_ek_detect(A.tpm, &t), 0);
	CU_ASSERT_EQUAL(t, TPA_EK_RSA_2048);
	CU_ASSERT_EQUAL(tpa_ekcert_verify(A.cert, A.cert_len, NULL, NULL, 0, A.ekca, &A.ek), 0);
	/* The certificate is A's ECC EK's, not B's. */
	CU_ASSERT_EQUAL(tpa_ekcert_verify(A.cert, A.cert_len, NULL, NULL, 0, A.ekca, &B.ek),
			TPA_ERR_VERIFY);
	CU_ASSERT_EQUAL(tpa_ekcert_verify(A.cert, A.cert_len, NULL, NULL, 0, B.ekca, &A.ek),
			TPA_ERR_VERIFY);
}

static void test_ecc_activation(void)
{
	uint8_t id[TPA_ID_OBJECT_MAX], sec[TPA_ENC_SECRET_MAX], cred[32], out[64];
	size_t idl, secl, outl = sizeof(out);

	memset(cred, 0x5a, sizeof(cred));
	CU_ASSERT_EQUAL_FATAL(tpa_credential_make(id, &idl, sec, &secl, &A.ek, A.ak_name,
						  A.ak_name_len, cred, sizeof(cred)), 0);
	/* TPM2B_ENCRYPTED_SECRET holding a P-384 point: 2 + (2 + 48) * 2. */
	CU_ASSERT_EQUAL(secl, 102);
	CU_ASSERT_EQUAL(tpa_tpm_activate_credential(out, &outl, A.tpm, id, idl, sec, secl), 0);
	CU_ASSERT_EQUAL(outl, sizeof(cred));
	CU_ASSERT_EQUAL(memcmp(out, cred, sizeof(cred)), 0);
	/* A fresh ephemeral key each time: the secrets differ. */
	{
		uint8_t sec2[TPA_ENC_SECRET_MAX], id2[TPA_ID_OBJECT_MAX];
		size_t secl2, idl2;

		CU_ASSERT_EQUAL(tpa_credential_make(id2, &idl2, sec2, &secl2, &A.ek, A.ak_name,
						    A.ak_name_len, cred, sizeof(cred)), 0);
		CU_ASSERT(memcmp(sec, sec2, secl) != 0);
	}
}

static void test_ecc_activation_refused(void)
{
	uint8_t id[TPA_ID_OBJECT_MAX], sec[TPA_ENC_SECRET_MAX], cred[32], out[64];
	size_t idl, secl, outl = sizeof(out);

	memset(cred, 0x33, sizeof(cred));
	/* Made for A's ECC EK and B's AK name: neither TPM releases it. */
	CU_ASSERT_EQUAL_FATAL(tpa_credential_make(id, &idl, sec, &secl, &A.ek, B.ak_name,
						  B.ak_name_len, cred, sizeof(cred)), 0);
	CU_ASSERT_EQUAL(tpa_tpm_activate_credential(out, &outl, B.tpm, id, idl, sec, secl),
			TPA_ERR_VERIFY);
	CU_ASSERT_EQUAL(tpa_tpm_activate_credential(out, &outl, A.tpm, id, idl, sec, secl),
			TPA_ERR_VERIFY);
	/* For A's AK and EK, but the ephemeral point moved off the curve. */
	CU_ASSERT_EQUAL_FATAL(tpa_credential_make(id, &idl, sec, &secl, &A.ek, A.ak_name,
						  A.ak_name_len, cred, sizeof(cred)), 0);
	sec[10] ^= 1;
	CU_ASSERT_EQUAL(tpa_tpm_activate_credential(out, &outl, A.tpm, id, idl, sec, secl),
			TPA_ERR_VERIFY);
	sec[10] ^= 1;
	id[idl - 1] ^= 1;
	CU_ASSERT_EQUAL(tpa_tpm_activate_credential(out, &outl, A.tpm, id, idl, sec, secl),
			TPA_ERR_VERIFY);
	id[idl - 1] ^= 1;
	CU_ASSERT_EQUAL(tpa_tpm_activate_credential(out, &outl, A.tpm, id, idl, sec, secl), 0);
}

/* Template L-2: swtpm keeps no P-256 EK, so it is made from the template;
 * the credential round trip shows ECDH and KDFe on P-256 as well. */
static void test_p256_ek_from_template(void)
{
	tpa_tpm *t = NULL;
	TPMT_PUBLIC ek, again;
	uint8_t id[TPA_ID_OBJECT_MAX], sec[TPA_ENC_SECRET_MAX], cred[16], out[64], name[TPA_NAME_MAX];
	size_t idl, secl, outl = sizeof(out), nl;
	uint8_t *der = NULL;
	size_t dl = 0;

	CU_ASSERT_EQUAL_FATAL(tpa_tpm_open(&t, A.fx.tcti), 0);
	CU_ASSERT_EQUAL(tpa_tpm_set_ek(t, TPA_EK_ECC_P256), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_tpm_ek_public(t, &ek), 0);
	CU_ASSERT_EQUAL(ek.parameters.eccDetail.curveID, TPM2_ECC_NIST_P256);
	CU_ASSERT_EQUAL(ek.nameAlg, TPM2_ALG_SHA256);
	CU_ASSERT_EQUAL(tpa_tpm_ek_cert(t, &der, &dl), TPA_ERR_NOT_FOUND);
	CU_ASSERT(strstr(tpa_err_last(), "0x01c0000a") != NULL);
	CU_ASSERT_EQUAL_FATAL(tpa_tpm_ak_load(t, TPA_AK_ECC_P256, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(name_of(t, name, &nl), 0);
	memset(cred, 0x61, sizeof(cred));
	CU_ASSERT_EQUAL_FATAL(tpa_credential_make(id, &idl, sec, &secl, &ek, name, nl, cred,
						  sizeof(cred)), 0);
	CU_ASSERT_EQUAL(secl, 2 + 2 * (2 + 32));
	CU_ASSERT_EQUAL(tpa_tpm_activate_credential(out, &outl, t, id, idl, sec, secl), 0);
	CU_ASSERT_EQUAL(outl, sizeof(cred));
	CU_ASSERT_EQUAL(memcmp(out, cred, sizeof(cred)), 0);
	tpa_tpm_close(t);
	/* The template makes the same key again: a stable device id. */
	CU_ASSERT_EQUAL_FATAL(tpa_tpm_open(&t, A.fx.tcti), 0);
	CU_ASSERT_EQUAL(tpa_tpm_set_ek(t, TPA_EK_ECC_P256), 0);
	CU_ASSERT_EQUAL(tpa_tpm_ek_public(t, &again), 0);
	CU_ASSERT_EQUAL(memcmp(&again.unique.ecc, &ek.unique.ecc, sizeof(ek.unique.ecc)), 0);
	tpa_tpm_close(t);
}

/* The AK file remembers its EK: a client that does not say which EK still
 * loads the AK under the right one; another TPM refuses it as not its own. */
static void test_ak_file_keeps_its_ek(void)
{
	tpa_tpm *t = NULL;
	uint8_t name[TPA_NAME_MAX];
	size_t nl;

	CU_ASSERT_EQUAL_FATAL(tpa_tpm_open(&t, A.fx.tcti), 0);
	CU_ASSERT_EQUAL(tpa_tpm_ek_type(t), TPA_EK_RSA_2048);
	CU_ASSERT_EQUAL(tpa_tpm_ak_load(t, TPA_AK_ECC_P256, A.ak_file), 0);
	CU_ASSERT_EQUAL(tpa_tpm_ek_type(t), TPA_EK_ECC_P384);
	CU_ASSERT_EQUAL(name_of(t, name, &nl), 0);
	CU_ASSERT_EQUAL(nl, A.ak_name_len);
	CU_ASSERT_EQUAL(memcmp(name, A.ak_name, nl), 0);
	tpa_tpm_close(t);

	CU_ASSERT_EQUAL_FATAL(tpa_tpm_open(&t, B.fx.tcti), 0);
	CU_ASSERT_EQUAL(tpa_tpm_ak_load(t, TPA_AK_ECC_P256, A.ak_file), TPA_ERR_NOT_FOUND);
	CU_ASSERT(strstr(tpa_err_last(), "not made by this TPM") != NULL);
	tpa_tpm_close(t);
}

/* Intermediates a TPM keeps in NV 0x01c00100-0x01c001ff, in index order:
 * one certificate per index, two concatenated in one, padding after the
 * last; with them a root alone validates the chain. */
static void test_intermediates_from_nv(void)
{
	uint8_t *certs[5] = { NULL };
	size_t lens[5] = { 0 }, n = 9, i;
	char cmd[4096];
	const uint8_t *const *list;

	CU_ASSERT_EQUAL(tpa_tpm_ek_intermediates(A.tpm, certs, lens, 5, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && export TPM2TOOLS_TCTI='%s' TSS2_LOG=all+none && "
		 "openssl x509 -in ca/issuercert.pem -outform DER -out iss.der && "
		 "openssl x509 -in ca/swtpm-localca-rootca-cert.pem -outform DER -out root.der && "
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout /dev/null -subj /CN=extra -days 1 -outform DER -out extra.der 2>/dev/null && "
		 "cat extra.der iss.der > two.der && printf '\\377\\377\\377\\377' >> root.der && "
		 "for x in '0x01c00100 iss.der' '0x01c00101 root.der' '0x01c00102 two.der'; do "
		 "set -- $x; tpm2_nvdefine $1 -C p -s $(stat -c %%s $2) "
		 "-a 'ppwrite|ppread|ownerread|authread|platformcreate|no_da' >/dev/null && "
		 "tpm2_nvwrite $1 -C p -i $2 || exit 1; done", A.fx.dir, A.fx.tcti);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_tpm_ek_intermediates(A.tpm, certs, lens, 5, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	/* iss, root (its padding dropped), extra, iss */
	CU_ASSERT(lens[0] == lens[3] && memcmp(certs[0], certs[3], lens[0]) == 0);
	/* Exactly the certificate's own DER length (SEQUENCE, 2 length bytes):
	 * its last byte is a signature's and may itself be 0xff. */
	CU_ASSERT(lens[1] > 300 && certs[1][0] == 0x30 && certs[1][1] == 0x82 &&
		  lens[1] == 4 + ((size_t)certs[1][2] << 8 | certs[1][3]));
	CU_ASSERT(lens[2] < lens[0]);
	list = (const uint8_t *const *)certs;
	CU_ASSERT_EQUAL(tpa_ekcert_verify(A.cert, A.cert_len, list, lens, 1, A.roots, &A.ek), 0);
	/* Every one of them, the root among them, only helps build the chain. */
	CU_ASSERT_EQUAL(tpa_ekcert_verify(A.cert, A.cert_len, list, lens, 4, B.roots, &A.ek),
			TPA_ERR_VERIFY);
	CU_ASSERT_EQUAL(tpa_ekcert_verify(A.cert, A.cert_len, NULL, NULL, 0, A.roots, &A.ek),
			TPA_ERR_VERIFY);
	for (i = 0; i < n; i++)
		free(certs[i]);
	/* At most cap certificates are returned. */
	CU_ASSERT_EQUAL(tpa_tpm_ek_intermediates(A.tpm, certs, lens, 2, &n), 0);
	CU_ASSERT_EQUAL(n, 2);
	for (i = 0; i < n; i++)
		free(certs[i]);
}

static void test_kdfe(void)
{
	uint8_t a[96], b[96], z[48] = { 7 }, u[48] = { 1 }, v[48] = { 2 };

	CU_ASSERT_EQUAL(tpa_kdfe(a, TPM2_ALG_SHA384, z, 48, "IDENTITY", u, 48, v, 48, 768), 0);
	CU_ASSERT_EQUAL(tpa_kdfe(b, TPM2_ALG_SHA384, z, 48, "IDENTITY", u, 48, v, 48, 384), 0);
	/* Unlike KDFa, the length is not an input: a prefix is a prefix. */
	CU_ASSERT_EQUAL(memcmp(a, b, 48), 0);
	CU_ASSERT(memcmp(a, a + 48, 48) != 0);
	CU_ASSERT_EQUAL(tpa_kdfe(b, TPM2_ALG_SHA384, z, 48, "IDENTITY", v, 48, u, 48, 384), 0);
	CU_ASSERT(memcmp(a, b, 48) != 0);
	CU_ASSERT_EQUAL(tpa_kdfe(a, TPM2_ALG_SHA384, z, 48, "X", u, 48, v, 48, 12),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_kdfe(a, 0x7777, z, 48, "X", u, 48, v, 48, 256), TPA_ERR_INVALID_ARG);
}

static void test_make_credential_ecc_refuses(void)
{
	uint8_t id[TPA_ID_OBJECT_MAX], sec[TPA_ENC_SECRET_MAX], cred[16] = { 0 };
	size_t idl, secl;
	TPMT_PUBLIC ek = A.ek;

	ek.parameters.eccDetail.curveID = TPM2_ECC_BN_P256;
	CU_ASSERT_EQUAL(tpa_credential_make(id, &idl, sec, &secl, &ek, A.ak_name, A.ak_name_len,
					    cred, sizeof(cred)), TPA_ERR_VERIFY);
	ek = A.ek;
	ek.unique.ecc.y.buffer[5] ^= 1; /* not a point of the curve */
	CU_ASSERT(tpa_credential_make(id, &idl, sec, &secl, &ek, A.ak_name, A.ak_name_len,
				      cred, sizeof(cred)) < 0);
	ek = A.ek;
	ek.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CBC;
	CU_ASSERT_EQUAL(tpa_credential_make(id, &idl, sec, &secl, &ek, A.ak_name, A.ak_name_len,
					    cred, sizeof(cred)), TPA_ERR_VERIFY);
	ek = A.ek;
	ek.type = TPM2_ALG_KEYEDHASH;
	CU_ASSERT_EQUAL(tpa_credential_make(id, &idl, sec, &secl, &ek, A.ak_name, A.ak_name_len,
					    cred, sizeof(cred)), TPA_ERR_VERIFY);
}

int main(void)
{
	CU_pSuite s;
	int failed;

	/* tpm2-tss logs every TPM error; the refusals here are expected. */
	setenv("TSS2_LOG", "all+none", 0);
	if (side_start(&A) < 0 || side_start(&B) < 0) {
		side_stop(&A);
		side_stop(&B);
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("identity with ECC EKs (two swtpm)", NULL, NULL);
	CU_add_test(s, "the P-384 EK and its certificate", test_p384_ek_and_certificate);
	CU_add_test(s, "MakeCredential with ECDH, ActivateCredential in the TPM",
		    test_ecc_activation);
	CU_add_test(s, "an ECC credential for another AK, TPM or point", test_ecc_activation_refused);
	CU_add_test(s, "the P-256 EK from template L-2", test_p256_ek_from_template);
	CU_add_test(s, "an AK file keeps its EK; another TPM refuses it", test_ak_file_keeps_its_ek);
	CU_add_test(s, "EK intermediates kept in NV", test_intermediates_from_nv);
	CU_add_test(s, "KDFe", test_kdfe);
	CU_add_test(s, "MakeCredential refuses bad ECC EKs", test_make_credential_ecc_refuses);
	failed = test_run_all();
	side_stop(&A);
	side_stop(&B);
	return failed ? 1 : 0;
}
