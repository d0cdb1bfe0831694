/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "tpa/err.h"
#include "tpa/quote.h"
#include "tpa/tpm_decode.h"
#include "keycache.h"

static int bit_set(const TPMS_PCR_SELECTION *s, unsigned i)
{
	return i / 8 < s->sizeofSelect && (s->pcrSelect[i / 8] >> (i % 8)) & 1;
}

/* Whether the quoted selection equals the reported banks; why not in msg. */
static int selection_equal(const TPML_PCR_SELECTION *q, const tpa_pcr_set *r,
			   char *msg, size_t cap)
{
	uint32_t b, k;
	unsigned i;

	if (q->count == 0) {
		snprintf(msg, cap, "the quote selects no PCR");
		return 0;
	}
	if (q->count != r->nbanks) {
		snprintf(msg, cap, "the quote selects %u bank(s), %u reported",
			 q->count, r->nbanks);
		return 0;
	}
	for (b = 0; b < q->count; b++) {
		const TPMS_PCR_SELECTION *s = &q->pcrSelections[b];
		const tpa_pcr_bank *rb = &r->banks[b];

		if (s->hash != rb->hash_alg) {
			snprintf(msg, cap, "bank %u: quoted 0x%04x, reported %s", b,
				 s->hash, tpa_hash_label(rb->hash_alg));
			return 0;
		}
		for (i = TPA_PCR_COUNT; i < 8u * s->sizeofSelect; i++)
			if (bit_set(s, i)) {
				snprintf(msg, cap, "%s: quoted PCR %u is out of range",
					 tpa_hash_label(s->hash), i);
				return 0;
			}
		for (i = 0, k = 0; i < TPA_PCR_COUNT; i++) {
			int rep = k < rb->count && rb->index[k] == i;

			if (bit_set(s, i) != rep) {
				snprintf(msg, cap, "%s PCR %u: %s", tpa_hash_label(s->hash), i,
					 rep ? "reported but not quoted" :
					 "quoted but not reported");
				return 0;
			}
			k += rep;
		}
		if (rb->count == 0) {
			snprintf(msg, cap, "%s: bank selects no PCR",
				 tpa_hash_label(s->hash));
			return 0;
		}
	}
	snprintf(msg, cap, "%u bank(s) as reported", q->count);
	return 1;
}

static int pcr_digest(uint8_t *out, TPM2_ALG_ID alg, const tpa_pcr_set *r)
{
	EVP_MD_CTX *ctx = NULL;
	const EVP_MD *md;
	uint32_t b, i;
	int err = TPA_ERR_CRYPTO;

	if (!(md = tpa_hash_md(alg)) ||
	    !(ctx = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(ctx, md, NULL))
		goto cleanup;
	for (b = 0; b < r->nbanks; b++) {
		size_t ds = tpa_hash_size(r->banks[b].hash_alg);

		for (i = 0; i < r->banks[b].count; i++)
			if (!EVP_DigestUpdate(ctx, r->banks[b].digest[i], ds))
				goto cleanup;
	}
	if (!EVP_DigestFinal_ex(ctx, out, NULL))
		goto cleanup;
	err = 0;
cleanup:
	if (err)
		tpa_err_set("PCR digest: hashing failed");
	EVP_MD_CTX_free(ctx);
	return err;
}

int tpa_ak_check_attributes(const TPMT_PUBLIC *pub)
{
	static const struct { TPMA_OBJECT bit; int want; const char *name; } rules[] = {
		{ TPMA_OBJECT_RESTRICTED, 1, "restricted" },
		{ TPMA_OBJECT_SIGN_ENCRYPT, 1, "sign" },
		{ TPMA_OBJECT_DECRYPT, 0, "decrypt" },
		{ TPMA_OBJECT_FIXEDTPM, 1, "fixedTPM" },
		{ TPMA_OBJECT_FIXEDPARENT, 1, "fixedParent" },
		{ TPMA_OBJECT_SENSITIVEDATAORIGIN, 1, "sensitiveDataOrigin" },
	};
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		int has = (pub->objectAttributes & rules[i].bit) != 0;

		if (has != rules[i].want)
			return tpa_err_fail(TPA_ERR_VERIFY, "the AK %s %s",
					    rules[i].want ? "lacks" : "must not have",
					    rules[i].name);
	}
	return 0;
}

static int check_ak_attributes(tpa_findings *f, const TPMT_PUBLIC *pub)
{
	if (tpa_ak_check_attributes(pub) < 0) {
		tpa_findings_add(f, TPA_CHECK_AK_ATTRIBUTES, 0, "%s", tpa_err_last());
		return 0;
	}
	tpa_findings_add(f, TPA_CHECK_AK_ATTRIBUTES, 1,
			 "restricted signing key, fixedTPM, fixedParent, sensitiveDataOrigin");
	return 1;
}

int tpa_quote_verify(tpa_findings *out, const tpa_quote_evidence *ev,
		     const uint8_t *nonce, size_t nonce_len,
		     uint8_t *ak_name, size_t *ak_name_len)
{
	TPMS_ATTEST attest;
	TPMT_SIGNATURE sig;
	TPMT_PUBLIC pub;
	EVP_PKEY *key = NULL;
	uint8_t digest[TPA_DIGEST_MAX];
	char msg[TPA_CHECK_DETAIL_MAX];
	int have_attest = 0, have_pub = 0, have_sig = 0, err;
	size_t before;

	if (!out || !ev || !ev->pcrs || (!nonce && nonce_len))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "quote verify: missing input");
	before = tpa_findings_failed(out);
	if (ak_name_len)
		*ak_name_len = 0;

	/* The AK: decoded, named, usable, and of the right kind. The key
	 * object of an AK seen before comes from the cache (same bytes). */
	if (tpa_decode_public(&pub, ev->ak_public, ev->ak_public_len) < 0) {
		tpa_findings_add(out, TPA_CHECK_AK_PUBLIC, 0, "%s", tpa_err_last());
	} else {
		uint8_t name[TPA_NAME_MAX];
		size_t name_len = 0;

		if (tpa_public_name(name, &name_len, &pub) < 0) {
			tpa_findings_add(out, TPA_CHECK_AK_PUBLIC, 0, "%s", tpa_err_last());
		} else if (!(key = keycache__get(ev->ak_public, ev->ak_public_len,
						 name + 2)) &&
			   tpa_public_to_pkey(&key, &pub) < 0) {
			tpa_findings_add(out, TPA_CHECK_AK_PUBLIC, 0, "%s", tpa_err_last());
		} else {
			keycache__put(ev->ak_public, ev->ak_public_len, name + 2, key);
			have_pub = 1;
			tpa_findings_add(out, TPA_CHECK_AK_PUBLIC, 1, "%s key",
					 pub.type == TPM2_ALG_ECC ? "ECC" : "RSA");
			if (ak_name && ak_name_len) {
				memcpy(ak_name, name, name_len);
				*ak_name_len = name_len;
			}
			check_ak_attributes(out, &pub);
		}
	}

	/* The attestation structure. */
	if (ev->firmware_out)
		*ev->firmware_out = 0;
	if (tpa_decode_attest(&attest, ev->attest, ev->attest_len) < 0) {
		tpa_findings_add(out, TPA_CHECK_QUOTE_STRUCTURE, 0, "%s", tpa_err_last());
	} else {
		have_attest = 1;
		if (ev->firmware_out)
			*ev->firmware_out = attest.firmwareVersion;
		tpa_findings_add(out, TPA_CHECK_QUOTE_STRUCTURE, 1, "TPMS_ATTEST of %zu bytes",
				 ev->attest_len);
		if (attest.magic == TPM2_GENERATED_VALUE)
			tpa_findings_add(out, TPA_CHECK_QUOTE_MAGIC, 1, "TPM_GENERATED_VALUE");
		else
			tpa_findings_add(out, TPA_CHECK_QUOTE_MAGIC, 0,
					 "magic 0x%08x is not TPM_GENERATED_VALUE",
					 attest.magic);
		if (attest.type == TPM2_ST_ATTEST_QUOTE)
			tpa_findings_add(out, TPA_CHECK_QUOTE_TYPE, 1, "TPM_ST_ATTEST_QUOTE");
		else
			tpa_findings_add(out, TPA_CHECK_QUOTE_TYPE, 0,
					 "type 0x%04x is not TPM_ST_ATTEST_QUOTE",
					 attest.type);
	}

	if (have_attest) {
		if (!nonce)
			tpa_findings_add(out, TPA_CHECK_QUOTE_NONCE, 0,
					 "no valid challenge to compare extraData with");
		else if (attest.extraData.size != nonce_len ||
			 CRYPTO_memcmp(attest.extraData.buffer, nonce, nonce_len) != 0)
			tpa_findings_add(out, TPA_CHECK_QUOTE_NONCE, 0,
					 "extraData (%u bytes) is not the challenge nonce",
					 attest.extraData.size);
		else
			tpa_findings_add(out, TPA_CHECK_QUOTE_NONCE, 1,
					 "extraData is the challenge nonce");
	}

	if (tpa_decode_signature(&sig, ev->signature, ev->signature_len) == 0)
		have_sig = 1;
	else
		tpa_findings_add(out, TPA_CHECK_QUOTE_SIGNATURE, 0, "%s", tpa_err_last());

	if (have_attest && attest.type == TPM2_ST_ATTEST_QUOTE) {
		const TPMS_QUOTE_INFO *qi = &attest.attested.quote;
		int sel_ok = selection_equal(&qi->pcrSelect, ev->pcrs, msg, sizeof(msg));

		tpa_findings_add(out, TPA_CHECK_QUOTE_PCR_SELECTION, sel_ok, "%s", msg);

		/* Only a signature made with a known hash tells which hash the
		 * PCR digest uses; the signature rule reports a bad one. */
		if (sel_ok && have_sig) {
			TPM2_ALG_ID h = tpa_signature_hash(&sig);
			size_t hs = tpa_hash_size(h);

			if (hs == 0) {
				tpa_findings_add(out, TPA_CHECK_QUOTE_PCR_DIGEST, 0,
						 "signature hash 0x%04x unknown", h);
			} else if ((err = pcr_digest(digest, h, ev->pcrs)) < 0) {
				goto cleanup;
			} else if (qi->pcrDigest.size != hs ||
				   memcmp(qi->pcrDigest.buffer, digest, hs) != 0) {
				tpa_findings_add(out, TPA_CHECK_QUOTE_PCR_DIGEST, 0,
						 "the reported PCR values do not hash to the quoted pcrDigest");
			} else {
				tpa_findings_add(out, TPA_CHECK_QUOTE_PCR_DIGEST, 1,
						 "reported PCR values match the quoted pcrDigest (%s)",
						 tpa_hash_label(h));
			}
		} else if (!sel_ok) {
			tpa_findings_add(out, TPA_CHECK_QUOTE_PCR_DIGEST, 0,
					 "not checked: the PCR selection differs");
		} else {
			tpa_findings_add(out, TPA_CHECK_QUOTE_PCR_DIGEST, 0,
					 "not checked: the signature is malformed");
		}
	}

	/* The signature over the exact attestation bytes. */
	if (!have_sig) {
		/* already reported */
	} else if (!have_pub) {
		tpa_findings_add(out, TPA_CHECK_QUOTE_SIGNATURE, 0,
				 "not checked: no usable AK public key");
	} else if (!ev->attest || ev->attest_len == 0) {
		tpa_findings_add(out, TPA_CHECK_QUOTE_SIGNATURE, 0, "no attestation data");
	} else if ((err = tpa_signature_verify(&sig, &pub, key, ev->attest,
					       ev->attest_len)) < 0) {
		if (err != TPA_ERR_VERIFY)
			goto cleanup;
		tpa_findings_add(out, TPA_CHECK_QUOTE_SIGNATURE, 0, "%s", tpa_err_last());
	} else {
		tpa_findings_add(out, TPA_CHECK_QUOTE_SIGNATURE, 1, "%s/%s signature verifies",
				 sig.sigAlg == TPM2_ALG_ECDSA ? "ECDSA" :
				 sig.sigAlg == TPM2_ALG_RSASSA ? "RSASSA" : "RSAPSS",
				 tpa_hash_label(tpa_signature_hash(&sig)));
	}
	err = tpa_findings_failed(out) > before ? TPA_ERR_VERIFY : 0;
	if (err)
		tpa_err_set("%zu check(s) failed", tpa_findings_failed(out) - before);
cleanup:
	EVP_PKEY_free(key);
	return err;
}
