/* SPDX-License-Identifier: BSD-3-Clause */
/* Writes the seed corpora from a real attestation against swtpm:
 *   corpora/attest/{ecc,rsa}.bin   AttestRequest messages
 *   corpora/replies/{challenge,verdict-ok,verdict-bad}.bin
 *   corpora/seal/{challenge,enrollment}.txt  sealed ids the seal target opens
 *   corpora/enroll/{intel,swtpm}-{enroll,activate}.bin  a selector byte (0
 *     Enroll, 1 Activate) and the request: the real Intel PTT EK of
 *     tests/data/ekcerts (it chains to the target's CAs) or swtpm's own EK
 *     (it does not), with an AK of swtpm
 * usage: mkseed OUT_DIR (run from the repository root) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/swtpm_fixture.h"
#include "seal_fixture.h"
#include "tpa/err.h"
#include "tpa/evidence.h"
#include "tpa/service.h"
#include "tpa/token.h"
#include "tpa/tpm.h"
#include "tpa/tpm_decode.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

static int save(const char *dir, const char *name, const uint8_t *b, size_t n)
{
	char p[1024];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (!(f = fopen(p, "wb")) || fwrite(b, 1, n, f) != n) {
		fprintf(stderr, "mkseed: cannot write %s\n", p);
		return -1;
	}
	fclose(f);
	return 0;
}

static int one(const char *out, tpa_service *svc, const char *tcti,
	       tpa_ak_type type, const char *name, int replies)
{
	tpa_rpc_reply r = { 0 }, r2 = { 0 };
	tpa_client_challenge ch;
	tpa_tpm_quote_result q;
	tpa_pcr_set pcrs;
	tpa_tpm *t = NULL;
	uint8_t akpub[TPA_PUBLIC_MAX], *req = NULL;
	size_t akpub_len, len;
	char dir[1024];
	tpa_attest_extras extras = { .hint = "seed" };

	tpa_service_get_challenge(&r, NULL, 0, svc);
	if (r.status || tpa_challenge_unpack(&ch, r.data, r.len) < 0 ||
	    tpa_tpm_open(&t, tcti) < 0 || tpa_tpm_ak_load(t, type, NULL) < 0 ||
	    tpa_tpm_ak_public(t, akpub, sizeof(akpub), &akpub_len) < 0 ||
	    tpa_pcr_set_parse_selection(&pcrs, "sha256:0-9") < 0 ||
	    tpa_tpm_quote(&q, t, &pcrs, ch.nonce, ch.nonce_len) < 0 ||
	    tpa_attest_request_pack(&req, &len, ch.id, &q, akpub, akpub_len, &pcrs,
				    &extras) < 0) {
		fprintf(stderr, "mkseed: %s\n", tpa_err_last());
		return -1;
	}
	tpa_tpm_close(t);
	snprintf(dir, sizeof(dir), "%s/attest", out);
	if (save(dir, name, req, len) < 0)
		return -1;
	tpa_service_attest(&r2, req, len, svc);
	snprintf(dir, sizeof(dir), "%s/replies", out);
	if (replies && (save(dir, "challenge.bin", r.data, r.len) < 0 ||
			save(dir, "verdict-ok.bin", r2.data, r2.len) < 0))
		return -1;
	free(r2.data);
	memset(&r2, 0, sizeof(r2));
	/* The same quote for another challenge: a non-compliant verdict with
	 * reasons (the same request again is refused: its challenge is used). */
	free(req);
	req = NULL;
	free(r.data);
	memset(&r, 0, sizeof(r));
	tpa_service_get_challenge(&r, NULL, 0, svc);
	if (r.status || tpa_challenge_unpack(&ch, r.data, r.len) < 0 ||
	    tpa_attest_request_pack(&req, &len, ch.id, &q, akpub, akpub_len, &pcrs,
				    &extras) < 0)
		return -1;
	tpa_service_attest(&r2, req, len, svc);
	if (replies && save(dir, "verdict-bad.bin", r2.data, r2.len) < 0)
		return -1;
	free(r.data);
	free(r2.data);
	free(req);
	return 0;
}

static int save_sel(const char *dir, const char *name, uint8_t sel, const uint8_t *b, size_t n)
{
	uint8_t *buf = malloc(n + 1);
	int rc;

	if (!buf)
		return -1;
	buf[0] = sel;
	memcpy(buf + 1, b, n);
	rc = save(dir, name, buf, n + 1);
	free(buf);
	return rc;
}

static int pem_der(uint8_t **der, size_t *len, const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	int n;

	if (f)
		fclose(f);
	*der = NULL;
	n = x ? i2d_X509(x, der) : -1;
	X509_free(x);
	if (n <= 0)
		return -1;
	*len = (size_t)n;
	return 0;
}

/* One Enroll and one Activate for these keys. */
static int enroll_pair(const char *dir, const char *name, const tpa_enroll_keys *k,
		       const uint8_t *inter, size_t inter_len)
{
	static const uint8_t cred[32] = { 1, 2, 3, 4 };
	char id[TPA_ENROLLMENT_ID_LEN + 1], file[128];
	const uint8_t *iv[1] = { inter };
	uint8_t *req = NULL;
	size_t len = 0;
	int rc;

	memset(id, 'a', TPA_ENROLLMENT_ID_LEN);
	id[TPA_ENROLLMENT_ID_LEN] = '\0';
	snprintf(file, sizeof(file), "%s-enroll.bin", name);
	if (tpa_enroll_request_pack(&req, &len, k, iv, &inter_len, inter ? 1 : 0, 0) < 0 ||
	    save_sel(dir, file, 0, req, len) < 0)
		return -1;
	free(req);
	snprintf(file, sizeof(file), "%s-activate.bin", name);
	rc = tpa_activate_request_pack(&req, &len, id, cred, sizeof(cred), k) < 0 ||
	     save_sel(dir, file, 1, req, len) < 0 ? -1 : 0;
	free(req);
	return rc;
}

static int enroll_seeds(const char *out, const char *tcti)
{
	tpa_enroll_keys k = { 0 };
	tpa_tpm *t = NULL;
	TPMT_PUBLIC ekp;
	uint8_t akpub[TPA_PUBLIC_MAX], ekpub[TPA_PUBLIC_MAX], intel_ek[TPA_PUBLIC_MAX];
	uint8_t *cert = NULL, *inter = NULL, *sw_cert = NULL;
	size_t akpub_len = 0, ekpub_len = 0, cert_len = 0, inter_len = 0, sw_len = 0, n = 0, off = 0;
	char dir[1024], hex[2 * TPA_PUBLIC_MAX + 2];
	FILE *f;
	int rc = -1;

	snprintf(dir, sizeof(dir), "%s/enroll", out);
	if (tpa_tpm_open(&t, tcti) < 0 || tpa_tpm_ak_load(t, TPA_AK_ECC_P256, NULL) < 0 ||
	    tpa_tpm_ak_public(t, akpub, sizeof(akpub), &akpub_len) < 0 ||
	    tpa_tpm_ek_public(t, &ekp) < 0 ||
	    Tss2_MU_TPMT_PUBLIC_Marshal(&ekp, ekpub, sizeof(ekpub), &off) != TSS2_RC_SUCCESS ||
	    tpa_tpm_ek_cert(t, &sw_cert, &sw_len) < 0)
		goto done;
	ekpub_len = off;
	/* The Intel PTT EK: its public area (a TPM2B_PUBLIC in hex) and
	 * certificate chain, from tests/data/ekcerts. */
	if (!(f = fopen("tests/data/ekcerts/intel-ptt-spt-rsa-ek.tpm2b_public.hex", "r")))
		goto done;
	off = fread(hex, 1, sizeof(hex) - 1, f);
	fclose(f);
	hex[off] = '\0';
	{
		size_t i, digits = 0;
		int hi = -1;

		/* Hex over several lines; the first two bytes are the size. */
		for (i = 0; hex[i] && n < sizeof(intel_ek); i++) {
			int d = tpa_hex_digit(hex[i]);

			if (d < 0)
				continue;
			if (hi < 0) {
				hi = d;
				continue;
			}
			if (++digits > 2)
				intel_ek[n++] = (uint8_t)(hi << 4 | d);
			hi = -1;
		}
	}
	if (pem_der(&cert, &cert_len, "tests/data/ekcerts/intel-ptt-spt-rsa-ek.pem") < 0 ||
	    pem_der(&inter, &inter_len, "tests/data/ekcerts/intel-tpm-ek-intermediate-spth.pem") < 0)
		goto done;
	k.ak_public = akpub;
	k.ak_public_len = akpub_len;
	k.ek_public = intel_ek;
	k.ek_public_len = n;
	k.ek_cert = cert;
	k.ek_cert_len = cert_len;
	if (enroll_pair(dir, "intel", &k, inter, inter_len) < 0)
		goto done;
	k.ek_public = ekpub;
	k.ek_public_len = ekpub_len;
	k.ek_cert = sw_cert;
	k.ek_cert_len = sw_len;
	if (enroll_pair(dir, "swtpm", &k, NULL, 0) < 0)
		goto done;
	rc = 0;
done:
	if (rc)
		fprintf(stderr, "mkseed: enroll seeds: %s\n", tpa_err_last());
	free(cert);
	free(inter);
	free(sw_cert);
	tpa_tpm_close(t);
	return rc;
}

/* Sealed ids of the seal target's fixed key, clock and binding. */
static int seal_seeds(const char *out)
{
	tpa_sealer *s = NULL;
	tpa_challenge c;
	tpa_enrollment_seal e;
	char dir[1024];
	int rc = -1;

	snprintf(dir, sizeof(dir), "%s/seal", out);
	if (tpa_sealer_new(&s, seal_fixture_key) < 0)
		return -1;
	tpa_sealer_set_clock(s, seal_fixture_clock, NULL);
	if (tpa_seal_challenge(&c, s, 60000) == 0 &&
	    tpa_seal_enrollment(&e, s, TPA_ENROLLMENT_REPLACE_AKS, 60000,
				seal_fixture_binding) == 0 &&
	    save(dir, "challenge.txt", (const uint8_t *)c.id, strlen(c.id)) == 0 &&
	    save(dir, "enrollment.txt", (const uint8_t *)e.id, strlen(e.id)) == 0)
		rc = 0;
	tpa_sealer_free(s);
	return rc;
}

int main(int argc, char **argv)
{
	tpa_service_opts o = { 0 };
	tpa_service *svc = NULL;
	tpa_token_key *key = NULL;
	swtpm_fixture fx;
	int rc = 1;

	if (argc != 2)
		return 2;
	setenv("TSS2_LOG", "all+none", 1);
	if (swtpm_fixture_start(&fx) < 0)
		return 1;
	if (tpa_token_key_new(&key) == 0) {
		o.key = key;
		if (tpa_service_new(&svc, &o) == 0 &&
		    one(argv[1], svc, fx.tcti, TPA_AK_ECC_P256, "ecc.bin", 1) == 0 &&
		    one(argv[1], svc, fx.tcti, TPA_AK_RSA_2048, "rsa.bin", 0) == 0 &&
		    seal_seeds(argv[1]) == 0 && enroll_seeds(argv[1], fx.tcti) == 0)
			rc = 0;
	}
	tpa_service_free(svc);
	tpa_token_key_free(key);
	swtpm_fixture_stop(&fx);
	return rc;
}
