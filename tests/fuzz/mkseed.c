/* SPDX-License-Identifier: BSD-3-Clause */
/* Writes the seed corpora from a real attestation against swtpm:
 *   corpora/attest/{ecc,rsa}.bin   AttestRequest messages
 *   corpora/replies/{challenge,verdict-ok,verdict-bad}.bin
 *   corpora/seal/{challenge,enrollment}.txt  sealed ids the seal target opens
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
		    seal_seeds(argv[1]) == 0)
			rc = 0;
	}
	tpa_service_free(svc);
	tpa_token_key_free(key);
	swtpm_fixture_stop(&fx);
	return rc;
}
