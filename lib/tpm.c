/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "tpa/err.h"
#include "tpa/fileio.h"
#include "tpa/identity.h"
#include "tpa/tpm.h"
#include "tpa/tpm_decode.h"

#define TPA_EKCERT_NV_MAX 8192
#define AK_FILE_MAGIC_V1 "TPAAK\x01\x00\x00"
#define AK_FILE_MAGIC "TPAAK\x02\x00\x00"
#define AK_MAGIC_LEN 8
#define AK_FILE_MAX 4096
#define QUOTE_RETRIES 3

struct tpa_tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	ESYS_TR ek;
	int ek_transient;
	int ek_userauth;           /* the EK's user role takes its (empty) password */
	tpa_ek_type ek_type;
	ESYS_TR ak;
	TPM2B_PUBLIC ak_pub;
};

static int tss_fail(const char *what, TSS2_RC rc)
{
	return tpa_err_fail(TPA_ERR_TPM, "%s: %s", what, Tss2_RC_Decode(rc));
}

int tpa_tpm_open(tpa_tpm **out, const char *tcti)
{
	tpa_tpm *t;
	TSS2_RC rc;

	if (!out)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "tpm open: NULL");
	if (!tcti || !*tcti)
		tcti = TPA_TCTI_DEFAULT;
	if (!(t = calloc(1, sizeof(*t))))
		return tpa_err_fail(TPA_ERR_NOMEM, "tpm open: out of memory");
	t->ek = t->ak = ESYS_TR_NONE;
	t->ek_type = TPA_EK_RSA_2048;
	rc = Tss2_TctiLdr_Initialize(tcti, &t->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		free(t);
		return tpa_err_fail(TPA_ERR_TPM, "TCTI '%s' cannot be opened: %s", tcti,
				    Tss2_RC_Decode(rc));
	}
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		Tss2_TctiLdr_Finalize(&t->tcti);
		free(t);
		return tss_fail("Esys_Initialize", rc);
	}
	rc = Esys_Startup(t->esys, TPM2_SU_CLEAR);
	if (rc != TSS2_RC_SUCCESS && rc != TPM2_RC_INITIALIZE) {
		tpa_tpm_close(t);
		return tpa_err_fail(TPA_ERR_TPM, "TPM on '%s' does not answer: %s",
				    tcti, Tss2_RC_Decode(rc));
	}
	*out = t;
	return 0;
}

void tpa_tpm_close(tpa_tpm *t)
{
	if (!t)
		return;
	if (t->esys) {
		if (t->ak != ESYS_TR_NONE)
			Esys_FlushContext(t->esys, t->ak);
		if (t->ek != ESYS_TR_NONE && t->ek_transient)
			Esys_FlushContext(t->esys, t->ek);
		Esys_Finalize(&t->esys);
	}
	if (t->tcti)
		Tss2_TctiLdr_Finalize(&t->tcti);
	free(t);
}

/* Where each kind of EK lives (TCG EK Credential Profile 2.3 and the TCG
 * provisioning guidance; 0x81010016 is where swtpm and tpm2-tools keep the
 * H-3 key). */
static const struct {
	tpa_ek_type type;
	const char *label;
	TPM2_HANDLE persistent;
	TPM2_HANDLE cert_nv;
} ek_kinds[] = {
	{ TPA_EK_RSA_2048, "rsa", 0x81010001u, 0x01c00002u },
	{ TPA_EK_ECC_P256, "ecc-p256", 0x81010002u, 0x01c0000au },
	{ TPA_EK_ECC_P384, "ecc-p384", 0x81010016u, 0x01c00016u },
};

static int ek_kind(tpa_ek_type type)
{
	size_t i;

	for (i = 0; i < sizeof(ek_kinds) / sizeof(ek_kinds[0]); i++)
		if (ek_kinds[i].type == type)
			return (int)i;
	return -1;
}

const char *tpa_ek_type_label(tpa_ek_type type)
{
	int k = ek_kind(type);

	return k < 0 ? "unknown" : ek_kinds[k].label;
}

int tpa_ek_type_parse(tpa_ek_type *out, const char *text)
{
	size_t i;

	for (i = 0; text && i < sizeof(ek_kinds) / sizeof(ek_kinds[0]); i++)
		if (strcmp(text, ek_kinds[i].label) == 0) {
			*out = ek_kinds[i].type;
			return 0;
		}
	return tpa_err_fail(TPA_ERR_INVALID_ARG, "unknown EK type '%s' (rsa, ecc-p256, ecc-p384)",
			    text ? text : "");
}

/* The TCG EK Credential Profile templates of the EKs the client makes:
 * L-1 (RSA 2048), L-2 (ECC P-256), H-3 (ECC P-384); identity.c has them. */
static void ek_template(TPM2B_PUBLIC *p, tpa_ek_type type)
{
	memset(p, 0, sizeof(*p));
	tpa_ek_template(&p->publicArea, type == TPA_EK_ECC_P256 ? TPA_EK_TEMPLATE_L2 :
			type == TPA_EK_ECC_P384 ? TPA_EK_TEMPLATE_H3 : TPA_EK_TEMPLATE_L1);
}

/* Whether a provisioned key is the EK the template describes (its unique
 * part aside): same type, name algorithm, attributes, policy, parameters. */
static int ek_matches(const TPMT_PUBLIC *k, const TPMT_PUBLIC *t)
{
	if (k->type != t->type || k->nameAlg != t->nameAlg ||
	    k->objectAttributes != t->objectAttributes ||
	    k->authPolicy.size != t->authPolicy.size ||
	    memcmp(k->authPolicy.buffer, t->authPolicy.buffer, t->authPolicy.size) != 0)
		return 0;
	if (t->type == TPM2_ALG_ECC)
		return k->parameters.eccDetail.curveID == t->parameters.eccDetail.curveID &&
		       k->parameters.eccDetail.symmetric.algorithm == TPM2_ALG_AES &&
		       k->parameters.eccDetail.symmetric.keyBits.aes ==
			       t->parameters.eccDetail.symmetric.keyBits.aes &&
		       k->parameters.eccDetail.symmetric.mode.aes == TPM2_ALG_CFB;
	return k->parameters.rsaDetail.keyBits == t->parameters.rsaDetail.keyBits &&
	       k->parameters.rsaDetail.symmetric.algorithm == TPM2_ALG_AES &&
	       k->parameters.rsaDetail.symmetric.keyBits.aes ==
		       t->parameters.rsaDetail.symmetric.keyBits.aes &&
	       k->parameters.rsaDetail.symmetric.mode.aes == TPM2_ALG_CFB;
}

static int ek_load(tpa_tpm *t)
{
	TPM2B_PUBLIC tmpl, *pub = NULL;
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_DATA outside = { .size = 0 };
	TPML_PCR_SELECTION pcrs = { .count = 0 };
	int k = ek_kind(t->ek_type);
	TSS2_RC rc;

	if (t->ek != ESYS_TR_NONE)
		return 0;
	if (k < 0)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "unknown EK type %d", (int)t->ek_type);
	ek_template(&tmpl, t->ek_type);
	t->ek_userauth = (tmpl.publicArea.objectAttributes & TPMA_OBJECT_USERWITHAUTH) != 0;
	/* A provisioned EK at the usual handle, if it is the template's key. */
	rc = Esys_TR_FromTPMPublic(t->esys, ek_kinds[k].persistent, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, &t->ek);
	if (rc == TSS2_RC_SUCCESS) {
		rc = Esys_ReadPublic(t->esys, t->ek, ESYS_TR_NONE, ESYS_TR_NONE,
				     ESYS_TR_NONE, &pub, NULL, NULL);
		if (rc == TSS2_RC_SUCCESS && ek_matches(&pub->publicArea, &tmpl.publicArea)) {
			Esys_Free(pub);
			t->ek_transient = 0;
			return 0;
		}
		Esys_Free(pub);
		Esys_TR_Close(t->esys, &t->ek);
		t->ek = ESYS_TR_NONE;
	}
	memset(&sens, 0, sizeof(sens));
	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD,
				ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside,
				&pcrs, &t->ek, NULL, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		t->ek = ESYS_TR_NONE;
		return tss_fail("creating the endorsement key", rc);
	}
	t->ek_transient = 1;
	return 0;
}

/* Frees the EK's slot (a transient EK) or its ESYS handle (a persistent one). */
static void ek_release(tpa_tpm *t)
{
	if (t->ek == ESYS_TR_NONE)
		return;
	if (t->ek_transient)
		Esys_FlushContext(t->esys, t->ek);
	else
		Esys_TR_Close(t->esys, &t->ek);
	t->ek = ESYS_TR_NONE;
}

/* The authorization for the EK's user role: its empty password for a
 * userWithAuth EK (H-3), else a policy session satisfying policy A
 * (PolicySecret(endorsement)). End it with ek_session_end. */
static int ek_session(tpa_tpm *t, ESYS_TR *out)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
	ESYS_TR s = ESYS_TR_NONE;
	TSS2_RC rc;

	if (t->ek_userauth) {
		*out = ESYS_TR_PASSWORD;
		return 0;
	}
	rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL,
				   TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, &s);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail("starting an EK policy session", rc);
	rc = Esys_PolicySecret(t->esys, ESYS_TR_RH_ENDORSEMENT, s,
			       ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			       NULL, NULL, NULL, 0, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		Esys_FlushContext(t->esys, s);
		return tss_fail("PolicySecret(endorsement)", rc);
	}
	*out = s;
	return 0;
}

static void ek_session_end(tpa_tpm *t, ESYS_TR s)
{
	if (s != ESYS_TR_PASSWORD && s != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, s);
}

/* The AK has an empty authValue, so dictionary-attack protection guards
 * nothing; without noDA a TPM in lockout (after a few unclean restarts)
 * would refuse to quote at all. */
static void ak_template(TPM2B_PUBLIC *p, tpa_ak_type type)
{
	memset(p, 0, sizeof(*p));
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM |
		TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
		TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED |
		TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_NODA;
	if (type == TPA_AK_ECC_P256) {
		TPMS_ECC_PARMS *e = &p->publicArea.parameters.eccDetail;

		p->publicArea.type = TPM2_ALG_ECC;
		e->symmetric.algorithm = TPM2_ALG_NULL;
		e->scheme.scheme = TPM2_ALG_ECDSA;
		e->scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
		e->curveID = TPM2_ECC_NIST_P256;
		e->kdf.scheme = TPM2_ALG_NULL;
	} else {
		TPMS_RSA_PARMS *r = &p->publicArea.parameters.rsaDetail;

		p->publicArea.type = TPM2_ALG_RSA;
		r->symmetric.algorithm = TPM2_ALG_NULL;
		r->scheme.scheme = type == TPA_AK_RSA_2048_PSS ? TPM2_ALG_RSAPSS :
			TPM2_ALG_RSASSA;
		r->scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
		r->keyBits = 2048;
		r->exponent = 0;
	}
}

/* The AK file: magic (8 bytes), the EK type it was made under (1 byte),
 * TPM2B_PUBLIC, TPM2B_PRIVATE, all marshaled. Version 1 files (no EK type)
 * were made under the RSA EK. */
static int ak_file_read(TPM2B_PUBLIC *pub, TPM2B_PRIVATE *priv, tpa_ek_type *ek,
			const char *path, int *missing)
{
	uint8_t buf[AK_FILE_MAX];
	size_t n = 0, off = AK_MAGIC_LEN;
	ssize_t r;
	int fd;

	*missing = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			*missing = 1;
			return 0;
		}
		return tpa_err_fail(TPA_ERR_IO, "AK file %s: %s", path,
				    errno == ELOOP ? "is a symbolic link" : strerror(errno));
	}
	while (n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - n)) > 0)
		n += (size_t)r;
	close(fd);
	if (n >= sizeof(buf))
		return tpa_err_fail(TPA_ERR_LIMIT, "AK file %s: larger than %d bytes",
				    path, AK_FILE_MAX);
	if (n > off && memcmp(buf, AK_FILE_MAGIC, off) == 0) {
		*ek = (tpa_ek_type)buf[off++];
		if (ek_kind(*ek) < 0)
			return tpa_err_fail(TPA_ERR_PARSE, "AK file %s: unknown EK type %u",
					    path, buf[off - 1]);
	} else if (n >= off && memcmp(buf, AK_FILE_MAGIC_V1, off) == 0) {
		*ek = TPA_EK_RSA_2048;
	} else {
		return tpa_err_fail(TPA_ERR_PARSE, "AK file %s: not a tpm-attest AK file",
				    path);
	}
	memset(pub, 0, sizeof(*pub));
	memset(priv, 0, sizeof(*priv));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, n, &off, pub) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(buf, n, &off, priv) != TSS2_RC_SUCCESS ||
	    off != n)
		return tpa_err_fail(TPA_ERR_PARSE, "AK file %s: malformed", path);
	return 0;
}

static int ak_file_write(const char *path, tpa_ek_type ek, const TPM2B_PUBLIC *pub,
			 const TPM2B_PRIVATE *priv)
{
	uint8_t buf[AK_FILE_MAX];
	size_t off = AK_MAGIC_LEN;

	memcpy(buf, AK_FILE_MAGIC, off);
	buf[off++] = (uint8_t)ek;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
		return tpa_err_fail(TPA_ERR_INTERNAL, "AK file: cannot marshal");
	if (tpa_file_write_atomic(path, buf, off, 0600) < 0)
		return tpa_err_fail(TPA_ERR_IO, "AK file %s", tpa_err_last());
	return 0;
}

int tpa_tpm_set_ek(tpa_tpm *t, tpa_ek_type type)
{
	if (!t || ek_kind(type) < 0)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "EK type: unknown");
	if (t->ak != ESYS_TR_NONE || t->ek != ESYS_TR_NONE)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "EK type: keys are loaded already");
	t->ek_type = type;
	return 0;
}

tpa_ek_type tpa_tpm_ek_type(const tpa_tpm *t)
{
	return t ? t->ek_type : TPA_EK_RSA_2048;
}

/* Whether Load refused the AK's blobs as not made by this TPM under this
 * parent (the TPM was cleared, or the file comes from another TPM). */
static int ak_foreign(TSS2_RC rc)
{
	TSS2_RC base;

	if ((rc & 0xffff0000u) != 0 || !(rc & TPM2_RC_FMT1)) /* not the TPM's, or format 0 */
		return 0;
	base = rc & (TPM2_RC_FMT1 | 0x3fu); /* without the parameter number */
	return base == TPM2_RC_INTEGRITY || base == TPM2_RC_BINDING || base == TPM2_RC_KEY ||
	       base == TPM2_RC_SIZE;
}

/* A new key from tmpl under the EK (loaded). */
static int ek_child_create(tpa_tpm *t, const TPM2B_PUBLIC *tmpl, TPM2B_PUBLIC *pub,
			   TPM2B_PRIVATE *priv, const char *what)
{
	TPM2B_PUBLIC *out_pub = NULL;
	TPM2B_PRIVATE *out_priv = NULL;
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_DATA outside = { .size = 0 };
	TPML_PCR_SELECTION pcrs = { .count = 0 };
	ESYS_TR session = ESYS_TR_NONE;
	TSS2_RC rc;
	int err;

	memset(&sens, 0, sizeof(sens));
	if ((err = ek_session(t, &session)) < 0)
		return err;
	rc = Esys_Create(t->esys, t->ek, session, ESYS_TR_NONE, ESYS_TR_NONE, &sens, tmpl,
			 &outside, &pcrs, &out_priv, &out_pub, NULL, NULL, NULL);
	ek_session_end(t, session);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail(what, rc);
	*pub = *out_pub;
	*priv = *out_priv;
	Esys_Free(out_pub);
	Esys_Free(out_priv);
	return 0;
}

/* Loads a key made under the EK (loaded); the TPM's response code. */
static TSS2_RC ek_child_load(tpa_tpm *t, const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv,
			     ESYS_TR *out)
{
	ESYS_TR session = ESYS_TR_NONE;
	TSS2_RC rc;

	if (ek_session(t, &session) < 0)
		return TSS2_ESYS_RC_GENERAL_FAILURE;
	rc = Esys_Load(t->esys, t->ek, session, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, out);
	ek_session_end(t, session);
	if (rc != TSS2_RC_SUCCESS)
		*out = ESYS_TR_NONE;
	return rc;
}

int tpa_tpm_ak_load(tpa_tpm *t, tpa_ak_type type, const char *ak_file)
{
	TPM2B_PUBLIC tmpl, saved_pub;
	TPM2B_PRIVATE saved_priv;
	tpa_ek_type file_ek = TPA_EK_RSA_2048;
	int missing = 1, err;
	TSS2_RC rc;

	if (!t)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "AK load: no TPM");
	if (type != TPA_AK_ECC_P256 && type != TPA_AK_RSA_2048 &&
	    type != TPA_AK_RSA_2048_PSS)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "AK load: unknown key type");
	if (t->ak != ESYS_TR_NONE)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "AK load: an AK is loaded");
	if (ak_file && (err = ak_file_read(&saved_pub, &saved_priv, &file_ek, ak_file,
					   &missing)) < 0)
		return err;
	/* A saved AK lives under the EK it was made under. */
	if (!missing && file_ek != t->ek_type) {
		if (t->ek != ESYS_TR_NONE)
			ek_release(t);
		t->ek_type = file_ek;
	}
	if ((err = ek_load(t)) < 0)
		return err;

	if (missing) {
		ak_template(&tmpl, type);
		if ((err = ek_child_create(t, &tmpl, &saved_pub, &saved_priv,
					   "creating the attestation key")) < 0)
			return err;
		if (ak_file &&
		    (err = ak_file_write(ak_file, t->ek_type, &saved_pub, &saved_priv)) < 0)
			return err;
	}

	rc = ek_child_load(t, &saved_pub, &saved_priv, &t->ak);
	memset(&saved_priv, 0, sizeof(saved_priv));
	if (rc != TSS2_RC_SUCCESS) {
		t->ak = ESYS_TR_NONE;
		return tpa_err_fail(ak_foreign(rc) ? TPA_ERR_NOT_FOUND : TPA_ERR_TPM,
				    "loading the attestation key%s%s: %s%s",
				    ak_file ? " from " : "", ak_file ? ak_file : "",
				    Tss2_RC_Decode(rc),
				    ak_foreign(rc) ? " (not made by this TPM's EK)" : "");
	}
	t->ak_pub = saved_pub;
	/* The EK is not needed again in this session: free its slot. */
	ek_release(t);
	return 0;
}

int tpa_tpm_ak_public(const tpa_tpm *t, uint8_t *buf, size_t cap, size_t *len)
{
	size_t off = 0;

	if (!t || !buf || !len || t->ak == ESYS_TR_NONE)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "AK public: no AK loaded");
	if (Tss2_MU_TPMT_PUBLIC_Marshal(&t->ak_pub.publicArea, buf, cap, &off) !=
	    TSS2_RC_SUCCESS)
		return tpa_err_fail(TPA_ERR_LIMIT, "AK public: buffer too small");
	*len = off;
	return 0;
}

static void to_selection(TPML_PCR_SELECTION *sel, const tpa_pcr_set *set)
{
	uint32_t b, i;

	memset(sel, 0, sizeof(*sel));
	sel->count = set->nbanks;
	for (b = 0; b < set->nbanks; b++) {
		sel->pcrSelections[b].hash = set->banks[b].hash_alg;
		sel->pcrSelections[b].sizeofSelect = 3;
		for (i = 0; i < set->banks[b].count; i++) {
			uint8_t k = set->banks[b].index[i];

			sel->pcrSelections[b].pcrSelect[k / 8] |= (uint8_t)(1u << (k % 8));
		}
	}
}

static int pcr_read_counter(tpa_tpm *t, tpa_pcr_set *set, uint32_t *counter)
{
	TPML_PCR_SELECTION want, *got = NULL;
	TPML_DIGEST *vals = NULL;
	uint32_t cnt = 0, b, i, round;
	int have_cnt = 0, err = 0;
	TSS2_RC rc;

	if (set->nbanks == 0 || set->nbanks > TPA_BANKS_MAX)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "PCR read: empty selection");
	to_selection(&want, set);
	for (round = 0; round < TPA_PCR_COUNT * TPA_BANKS_MAX; round++) {
		uint32_t k = 0, left = 0;

		for (b = 0; b < want.count; b++)
			for (i = 0; i < 3; i++)
				left |= want.pcrSelections[b].pcrSelect[i];
		if (!left)
			break;
		rc = Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   &want, &cnt, &got, &vals);
		if (rc != TSS2_RC_SUCCESS)
			return tss_fail("PCR_Read", rc);
		if (have_cnt && cnt != *counter) {
			err = tpa_err_fail(TPA_ERR_TPM, "PCRs changed while being read");
			goto next;
		}
		*counter = cnt;
		have_cnt = 1;
		if (vals->count == 0) {
			err = tpa_err_fail(TPA_ERR_TPM, "PCR_Read returned no value");
			goto next;
		}
		for (b = 0; b < got->count && !err; b++) {
			const TPMS_PCR_SELECTION *gs = &got->pcrSelections[b];
			uint32_t sb;

			for (sb = 0; sb < set->nbanks; sb++)
				if (set->banks[sb].hash_alg == gs->hash)
					break;
			if (sb == set->nbanks) {
				err = tpa_err_fail(TPA_ERR_TPM, "PCR_Read returned bank 0x%04x",
						   gs->hash);
				break;
			}
			for (i = 0; i < 8u * gs->sizeofSelect && i < TPA_PCR_COUNT; i++) {
				tpa_pcr_bank *pb = &set->banks[sb];
				size_t ds = tpa_hash_size(pb->hash_alg);
				uint32_t j;

				if (!((gs->pcrSelect[i / 8] >> (i % 8)) & 1))
					continue;
				for (j = 0; j < pb->count && pb->index[j] != i; j++)
					;
				if (j == pb->count || k >= vals->count ||
				    vals->digests[k].size != ds ||
				    !((want.pcrSelections[sb].pcrSelect[i / 8] >> (i % 8)) & 1)) {
					err = tpa_err_fail(TPA_ERR_TPM,
							   "PCR_Read returned an unexpected %s PCR %u",
							   tpa_hash_label(pb->hash_alg), i);
					break;
				}
				memcpy(pb->digest[j], vals->digests[k].buffer, ds);
				k++;
				want.pcrSelections[sb].pcrSelect[i / 8] &=
					(uint8_t)~(1u << (i % 8));
			}
		}
next:
		Esys_Free(got);
		Esys_Free(vals);
		got = NULL;
		vals = NULL;
		if (err)
			return err;
	}
	return 0;
}

int tpa_tpm_pcr_read(tpa_tpm *t, tpa_pcr_set *pcrs)
{
	uint32_t counter;

	if (!t || !pcrs)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "PCR read: NULL");
	return pcr_read_counter(t, pcrs, &counter);
}

int tpa_tpm_quote(tpa_tpm_quote_result *out, tpa_tpm *t, tpa_pcr_set *pcrs,
		  const uint8_t *nonce, size_t nonce_len)
{
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL };
	TPML_PCR_SELECTION sel;
	TPM2B_DATA qd;
	int attempt, err;

	if (!out || !t || !pcrs || (!nonce && nonce_len))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "quote: NULL");
	if (t->ak == ESYS_TR_NONE)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "quote: no AK loaded");
	if (nonce_len > sizeof(qd.buffer))
		return tpa_err_fail(TPA_ERR_LIMIT, "quote: nonce of %zu bytes exceeds %zu",
				    nonce_len, sizeof(qd.buffer));
	qd.size = (UINT16)nonce_len;
	if (nonce_len)
		memcpy(qd.buffer, nonce, nonce_len);
	to_selection(&sel, pcrs);

	for (attempt = 0; attempt < QUOTE_RETRIES; attempt++) {
		TPM2B_ATTEST *quoted = NULL;
		TPMT_SIGNATURE *sig = NULL;
		tpa_pcr_set after = *pcrs;
		uint32_t c1 = 0, c2 = 0;
		size_t off = 0;
		TSS2_RC rc;

		if ((err = pcr_read_counter(t, pcrs, &c1)) < 0)
			return err;
		rc = Esys_Quote(t->esys, t->ak, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &qd, &scheme, &sel, &quoted, &sig);
		if (rc != TSS2_RC_SUCCESS)
			return tss_fail("Quote", rc);
		if ((err = pcr_read_counter(t, &after, &c2)) < 0) {
			Esys_Free(quoted);
			Esys_Free(sig);
			return err;
		}
		if (c1 != c2) {
			Esys_Free(quoted);
			Esys_Free(sig);
			continue;
		}
		if (quoted->size > sizeof(out->attest) ||
		    Tss2_MU_TPMT_SIGNATURE_Marshal(sig, out->signature,
						   sizeof(out->signature), &off) !=
			    TSS2_RC_SUCCESS) {
			Esys_Free(quoted);
			Esys_Free(sig);
			return tpa_err_fail(TPA_ERR_LIMIT, "quote: output too large");
		}
		memcpy(out->attest, quoted->attestationData, quoted->size);
		out->attest_len = quoted->size;
		out->signature_len = off;
		Esys_Free(quoted);
		Esys_Free(sig);
		return 0;
	}
	return tpa_err_fail(TPA_ERR_TPM, "PCRs kept changing during %d quotes",
			    QUOTE_RETRIES);
}

/* The bound key: ECDSA P-256 signing, made by this TPM and never leaving it.
 * noDA for the AK's reason (an empty authValue). */
static void bound_template(TPM2B_PUBLIC *p)
{
	TPMS_ECC_PARMS *e = &p->publicArea.parameters.eccDetail;

	memset(p, 0, sizeof(*p));
	p->publicArea.type = TPM2_ALG_ECC;
	p->publicArea.nameAlg = TPM2_ALG_SHA256;
	p->publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
		TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
		TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_NODA;
	e->symmetric.algorithm = TPM2_ALG_NULL;
	e->scheme.scheme = TPM2_ALG_ECDSA;
	e->scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	e->curveID = TPM2_ECC_NIST_P256;
	e->kdf.scheme = TPM2_ALG_NULL;
}

int tpa_tpm_bind_key(tpa_tpm_certify_result *out, tpa_tpm *t, const char *key_file,
		     const uint8_t *qd, size_t qd_len)
{
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL };
	TPM2B_PUBLIC pub, tmpl;
	TPM2B_PRIVATE priv;
	TPM2B_DATA q;
	TPM2B_ATTEST *info = NULL;
	TPMT_SIGNATURE *sig = NULL;
	ESYS_TR key = ESYS_TR_NONE;
	tpa_ek_type file_ek = t ? t->ek_type : TPA_EK_RSA_2048;
	size_t off = 0;
	int missing = 1, err;
	TSS2_RC rc;

	if (!out || !t || !key_file || (!qd && qd_len))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "bind key: NULL");
	if (t->ak == ESYS_TR_NONE)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "bind key: no AK loaded");
	if (qd_len > sizeof(q.buffer))
		return tpa_err_fail(TPA_ERR_LIMIT, "bind key: qualifying data too long");
	if ((err = ak_file_read(&pub, &priv, &file_ek, key_file, &missing)) < 0)
		return err;
	if (!missing && file_ek != t->ek_type)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "bound key %s: made under the %s EK, "
				    "the AK under the %s one", key_file, tpa_ek_type_label(file_ek),
				    tpa_ek_type_label(t->ek_type));
	if ((err = ek_load(t)) < 0)
		return err;
	if (missing) {
		bound_template(&tmpl);
		if ((err = ek_child_create(t, &tmpl, &pub, &priv, "creating the bound key")) < 0 ||
		    (err = ak_file_write(key_file, t->ek_type, &pub, &priv)) < 0) {
			ek_release(t);
			return err;
		}
	}
	rc = ek_child_load(t, &pub, &priv, &key);
	memset(&priv, 0, sizeof(priv));
	ek_release(t);
	if (rc != TSS2_RC_SUCCESS)
		return tpa_err_fail(ak_foreign(rc) ? TPA_ERR_NOT_FOUND : TPA_ERR_TPM,
				    "loading the bound key from %s: %s%s", key_file,
				    Tss2_RC_Decode(rc), ak_foreign(rc) ? " (not made by this TPM)" : "");
	q.size = (UINT16)qd_len;
	if (qd_len)
		memcpy(q.buffer, qd, qd_len);
	rc = Esys_Certify(t->esys, key, t->ak, ESYS_TR_PASSWORD, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			  &q, &scheme, &info, &sig);
	Esys_FlushContext(t->esys, key);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail("Certify (the bound key by the AK)", rc);
	err = 0;
	if (info->size > sizeof(out->attest) ||
	    Tss2_MU_TPMT_SIGNATURE_Marshal(sig, out->signature, sizeof(out->signature), &off) !=
		    TSS2_RC_SUCCESS)
		err = tpa_err_fail(TPA_ERR_LIMIT, "bind key: certify output too large");
	if (!err) {
		memcpy(out->attest, info->attestationData, info->size);
		out->attest_len = info->size;
		out->signature_len = off;
		off = 0;
		if (Tss2_MU_TPMT_PUBLIC_Marshal(&pub.publicArea, out->key_public,
						sizeof(out->key_public), &off) != TSS2_RC_SUCCESS)
			err = tpa_err_fail(TPA_ERR_LIMIT, "bind key: public area too large");
		out->key_public_len = off;
	}
	Esys_Free(info);
	Esys_Free(sig);
	return err;
}

int tpa_tpm_pcr_extend(tpa_tpm *t, uint32_t pcr, uint16_t hash_alg,
		       const uint8_t *digest, size_t len)
{
	TPML_DIGEST_VALUES v;
	TSS2_RC rc;

	if (!t || !digest)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "extend: NULL");
	if (pcr >= TPA_PCR_COUNT)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "extend: PCR %u out of range", pcr);
	if (tpa_hash_size(hash_alg) == 0 || len != tpa_hash_size(hash_alg))
		return tpa_err_fail(TPA_ERR_INVALID_ARG,
				    "extend: %zu-byte digest for bank 0x%04x", len,
				    hash_alg);
	memset(&v, 0, sizeof(v));
	v.count = 1;
	v.digests[0].hashAlg = hash_alg;
	memcpy(&v.digests[0].digest, digest, len);
	rc = Esys_PCR_Extend(t->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD,
			     ESYS_TR_NONE, ESYS_TR_NONE, &v);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail("PCR_Extend", rc);
	return 0;
}

int tpa_tpm_properties(tpa_tpm *t, char manufacturer[5], uint64_t *firmware)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	uint32_t v1 = 0, v2 = 0, mf = 0, i;
	TPMI_YES_NO more;
	TSS2_RC rc;
	int k;

	if (!t || !manufacturer || !firmware)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "properties: NULL");
	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				TPM2_CAP_TPM_PROPERTIES, TPM2_PT_MANUFACTURER, 8, &more,
				&cap);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail("GetCapability(TPM_PROPERTIES)", rc);
	for (i = 0; i < cap->data.tpmProperties.count && i < TPM2_MAX_TPM_PROPERTIES; i++) {
		const TPMS_TAGGED_PROPERTY *p = &cap->data.tpmProperties.tpmProperty[i];

		if (p->property == TPM2_PT_MANUFACTURER)
			mf = p->value;
		else if (p->property == TPM2_PT_FIRMWARE_VERSION_1)
			v1 = p->value;
		else if (p->property == TPM2_PT_FIRMWARE_VERSION_2)
			v2 = p->value;
	}
	Esys_Free(cap);
	for (k = 0; k < 4; k++) {
		char c = (char)(mf >> (24 - 8 * k));

		manufacturer[k] = (c >= 0x21 && c < 0x7f) ? c : '\0';
	}
	manufacturer[4] = '\0';
	/* "IBM\0" stays "IBM"; a NUL in the middle ends the text too. */
	for (k = 0; k < 4 && manufacturer[k]; k++)
		;
	manufacturer[k] = '\0';
	*firmware = (uint64_t)v1 << 32 | v2;
	return 0;
}

#define NV_CHUNK 512

int tpa_tpm_ek_public(tpa_tpm *t, TPMT_PUBLIC *out)
{
	TPM2B_PUBLIC *pub = NULL;
	TSS2_RC rc;
	int err;

	if (!t || !out)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "EK public: NULL");
	if ((err = ek_load(t)) < 0)
		return err;
	rc = Esys_ReadPublic(t->esys, t->ek, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
			     &pub, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail("ReadPublic(EK)", rc);
	*out = pub->publicArea;
	Esys_Free(pub);
	return 0;
}

/* The contents of an NV index (readable with its own empty password, as EK
 * certificate indices are), malloc'd. TPA_ERR_NOT_FOUND if it is not
 * defined. */
static int nv_read(tpa_tpm *t, TPM2_HANDLE index, uint8_t **out, size_t *out_len)
{
	TPM2B_NV_PUBLIC *nvpub = NULL;
	ESYS_TR nv = ESYS_TR_NONE;
	uint8_t *b = NULL;
	size_t size, off = 0;
	TSS2_RC rc;
	int err = TPA_ERR_TPM;

	rc = Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, &nv);
	if (rc != TSS2_RC_SUCCESS)
		return tpa_err_fail(TPA_ERR_NOT_FOUND, "NV index 0x%08x: %s", index,
				    Tss2_RC_Decode(rc));
	rc = Esys_NV_ReadPublic(t->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				&nvpub, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		err = tpa_err_fail(TPA_ERR_TPM, "NV_ReadPublic(0x%08x): %s", index,
				   Tss2_RC_Decode(rc));
		goto cleanup;
	}
	size = nvpub->nvPublic.dataSize;
	Esys_Free(nvpub);
	if (size == 0 || size > TPA_EKCERT_NV_MAX) {
		err = tpa_err_fail(TPA_ERR_LIMIT, "NV index 0x%08x of %zu bytes", index, size);
		goto cleanup;
	}
	if (!(b = malloc(size))) {
		err = tpa_err_fail(TPA_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	while (off < size) {
		TPM2B_MAX_NV_BUFFER *data = NULL;
		UINT16 chunk = (UINT16)(size - off > NV_CHUNK ? NV_CHUNK : size - off);

		rc = Esys_NV_Read(t->esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
				  chunk, (UINT16)off, &data);
		if (rc != TSS2_RC_SUCCESS || data->size != chunk) {
			Esys_Free(data);
			err = rc != TSS2_RC_SUCCESS ?
				tpa_err_fail(TPA_ERR_TPM, "NV_Read(0x%08x): %s", index,
					     Tss2_RC_Decode(rc)) :
				tpa_err_fail(TPA_ERR_TPM, "NV_Read(0x%08x) returned a short chunk",
					     index);
			goto cleanup;
		}
		memcpy(b + off, data->buffer, chunk);
		off += chunk;
		Esys_Free(data);
	}
	*out = b;
	*out_len = size;
	b = NULL;
	err = 0;
cleanup:
	free(b);
	Esys_TR_Close(t->esys, &nv);
	return err;
}

/* The length of the DER SEQUENCE at the start of b (n bytes), or 0 if b
 * does not start with one that fits. */
static size_t der_seq_len(const uint8_t *b, size_t n)
{
	size_t len;

	if (n < 2 || b[0] != 0x30)
		return 0;
	if (b[1] < 0x80)
		len = 2 + (size_t)b[1];
	else if (b[1] == 0x81 && n >= 3)
		len = 3 + (size_t)b[2];
	else if (b[1] == 0x82 && n >= 4)
		len = 4 + ((size_t)b[2] << 8 | b[3]);
	else
		return 0;
	return len <= n ? len : 0;
}

/* One certificate from PEM or DER bytes; NULL if they are not exactly one. */
static X509 *one_cert(const uint8_t *b, size_t n)
{
	const unsigned char *p = b;
	X509 *x = NULL, *more = NULL;
	BIO *bio;

	/* DER: one certificate that is the whole file. */
	if (n && b[0] == 0x30) {
		x = d2i_X509(NULL, &p, (long)n);
		if (x && p != b + n) {
			X509_free(x);
			x = NULL;
		}
		return x;
	}
	if (!(bio = BIO_new_mem_buf(b, (int)n)))
		return NULL;
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	/* A second certificate makes the file ambiguous: refuse it. */
	if (x && (more = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		X509_free(more);
		X509_free(x);
		x = NULL;
	}
	BIO_free(bio);
	return x;
}

int tpa_ek_cert_file(uint8_t **der, size_t *len, const char *path, const TPMT_PUBLIC *ek)
{
	uint8_t *b = NULL;
	unsigned char *out = NULL;
	EVP_PKEY *ek_key = NULL;
	X509 *x = NULL;
	size_t n = 0;
	FILE *f;
	int err, dl;

	if (!der || !len || !path || !ek)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "EK certificate file: NULL");
	if (!(f = fopen(path, "rb")))
		return tpa_err_fail(TPA_ERR_IO, "%s: %s", path, strerror(errno));
	/* Bounded: an EK certificate is a few kilobytes, PEM a third more. */
	b = malloc(2 * TPA_EKCERT_MAX + 1);
	if (b)
		n = fread(b, 1, 2 * TPA_EKCERT_MAX + 1, f);
	err = ferror(f);
	fclose(f);
	if (!b)
		return tpa_err_fail(TPA_ERR_NOMEM, "%s: out of memory", path);
	if (err) {
		free(b);
		return tpa_err_fail(TPA_ERR_IO, "%s: read error", path);
	}
	if (n > 2 * TPA_EKCERT_MAX) {
		free(b);
		return tpa_err_fail(TPA_ERR_LIMIT, "%s: larger than an EK certificate can be", path);
	}
	x = one_cert(b, n);
	free(b);
	if (!x)
		return tpa_err_fail(TPA_ERR_PARSE, "%s: not one PEM or DER X.509 certificate", path);
	if ((err = tpa_public_to_pkey(&ek_key, ek)) < 0)
		goto cleanup;
	if (!X509_get0_pubkey(x) || EVP_PKEY_eq(X509_get0_pubkey(x), ek_key) != 1) {
		err = tpa_err_fail(TPA_ERR_VERIFY, "%s: the certificate's public key is not "
				   "this TPM's EK (another TPM's certificate?)", path);
		goto cleanup;
	}
	if ((dl = i2d_X509(x, &out)) <= 0 || dl > TPA_EKCERT_MAX) {
		err = tpa_err_fail(TPA_ERR_LIMIT, "%s: certificate larger than %d bytes", path,
				   TPA_EKCERT_MAX);
		goto cleanup;
	}
	if (!(*der = malloc((size_t)dl))) {
		err = tpa_err_fail(TPA_ERR_NOMEM, "%s: out of memory", path);
		goto cleanup;
	}
	memcpy(*der, out, (size_t)dl);
	*len = (size_t)dl;
	err = 0;
cleanup:
	OPENSSL_free(out);
	EVP_PKEY_free(ek_key);
	X509_free(x);
	return err;
}

int tpa_tpm_ek_cert(tpa_tpm *t, uint8_t **der, size_t *len)
{
	uint8_t *b = NULL;
	size_t size = 0, dl;
	int k, err;

	if (!t || !der || !len)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "EK certificate: NULL");
	if ((k = ek_kind(t->ek_type)) < 0)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "EK certificate: unknown EK type");
	if ((err = nv_read(t, ek_kinds[k].cert_nv, &b, &size)) < 0)
		return err == TPA_ERR_NOT_FOUND ?
			tpa_err_fail(TPA_ERR_NOT_FOUND, "no %s EK certificate in NV 0x%08x",
				     ek_kinds[k].label, ek_kinds[k].cert_nv) : err;
	/* The NV index may be larger than the certificate: keep its DER. */
	if ((dl = der_seq_len(b, size)) != 0)
		size = dl;
	*der = b;
	*len = size;
	return 0;
}

int tpa_tpm_ek_detect(tpa_tpm *t, tpa_ek_type *out)
{
	size_t i;

	if (!t || !out)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "EK detect: NULL");
	for (i = 0; i < sizeof(ek_kinds) / sizeof(ek_kinds[0]); i++) {
		ESYS_TR nv = ESYS_TR_NONE;

		if (Esys_TR_FromTPMPublic(t->esys, ek_kinds[i].cert_nv, ESYS_TR_NONE,
					  ESYS_TR_NONE, ESYS_TR_NONE, &nv) == TSS2_RC_SUCCESS) {
			Esys_TR_Close(t->esys, &nv);
			*out = ek_kinds[i].type;
			return 0;
		}
	}
	return tpa_err_fail(TPA_ERR_NOT_FOUND,
			    "no EK certificate in NV (0x01c00002, 0x01c0000a, 0x01c00016)");
}

#define EK_CHAIN_FIRST 0x01c00100u
#define EK_CHAIN_LAST  0x01c001ffu

int tpa_tpm_ek_intermediates(tpa_tpm *t, uint8_t **certs, size_t *lens, size_t cap,
			     size_t *n)
{
	TPMS_CAPABILITY_DATA *cd = NULL;
	TPMI_YES_NO more = TPM2_NO;
	size_t got = 0;
	uint32_t i;
	TSS2_RC rc;
	int err = 0;

	if (!t || !certs || !lens || !n)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "EK intermediates: NULL");
	*n = 0;
	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				TPM2_CAP_HANDLES, EK_CHAIN_FIRST,
				EK_CHAIN_LAST - EK_CHAIN_FIRST + 1, &more, &cd);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail("GetCapability(NV indices)", rc);
	/* In ascending order, each index one or more DER certificates. */
	for (i = 0; i < cd->data.handles.count && i < TPM2_MAX_CAP_HANDLES && got < cap; i++) {
		TPM2_HANDLE h = cd->data.handles.handle[i];
		uint8_t *b = NULL;
		size_t size = 0, off = 0, dl;

		if (h < EK_CHAIN_FIRST || h > EK_CHAIN_LAST)
			break;
		if ((err = nv_read(t, h, &b, &size)) < 0)
			goto cleanup;
		while (got < cap && (dl = der_seq_len(b + off, size - off)) != 0) {
			if (!(certs[got] = malloc(dl))) {
				free(b);
				err = tpa_err_fail(TPA_ERR_NOMEM, "out of memory");
				goto cleanup;
			}
			memcpy(certs[got], b + off, dl);
			lens[got++] = dl;
			off += dl;
		}
		free(b);
	}
cleanup:
	Esys_Free(cd);
	if (err < 0) {
		while (got)
			free(certs[--got]);
		return err;
	}
	*n = got;
	return 0;
}

int tpa_tpm_activate_credential(uint8_t *cred, size_t *cred_len, tpa_tpm *t,
				const uint8_t *id_object, size_t id_len,
				const uint8_t *enc_secret, size_t enc_len)
{
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET secret;
	TPM2B_DIGEST *out = NULL;
	ESYS_TR session = ESYS_TR_NONE;
	size_t off = 0;
	TSS2_RC rc;
	int err;

	if (!cred || !cred_len || !t || !id_object || !enc_secret)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "ActivateCredential: NULL");
	if (t->ak == ESYS_TR_NONE)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "ActivateCredential: no AK loaded");
	memset(&blob, 0, sizeof(blob));
	memset(&secret, 0, sizeof(secret));
	if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(id_object, id_len, &off, &blob) !=
		    TSS2_RC_SUCCESS || off != id_len)
		return tpa_err_fail(TPA_ERR_PARSE, "credential blob: malformed");
	off = 0;
	if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(enc_secret, enc_len, &off, &secret) !=
		    TSS2_RC_SUCCESS || off != enc_len)
		return tpa_err_fail(TPA_ERR_PARSE, "credential secret: malformed");
	if ((err = ek_load(t)) < 0 || (err = ek_session(t, &session)) < 0)
		return err;
	rc = Esys_ActivateCredential(t->esys, t->ak, t->ek, ESYS_TR_PASSWORD, session,
				     ESYS_TR_NONE, &blob, &secret, &out);
	ek_session_end(t, session);
	ek_release(t);
	if (rc != TSS2_RC_SUCCESS)
		return tpa_err_fail(TPA_ERR_VERIFY, "ActivateCredential refused: %s",
				    Tss2_RC_Decode(rc));
	if (out->size > *cred_len) {
		Esys_Free(out);
		return tpa_err_fail(TPA_ERR_LIMIT, "credential of %u bytes", out->size);
	}
	memcpy(cred, out->buffer, out->size);
	*cred_len = out->size;
	memset(out->buffer, 0, out->size);
	Esys_Free(out);
	return 0;
}
