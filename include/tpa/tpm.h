/* SPDX-License-Identifier: BSD-3-Clause */
/* The endpoint's TPM through tpm2-tss ESYS: attestation key, PCRs, quotes.
 * Every ESYS call of the project lives behind these functions. */
#ifndef TPA_TPM_H
#define TPA_TPM_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/quote.h"
#include "tpa/tpm_decode.h"

#define TPA_TCTI_DEFAULT "device:/dev/tpmrm0"

typedef struct tpa_tpm tpa_tpm;

typedef enum {
	TPA_AK_ECC_P256 = 1,   /* ECDSA with SHA-256 (default) */
	TPA_AK_RSA_2048 = 2,   /* RSASSA-PKCS1-v1_5 with SHA-256 */
	TPA_AK_RSA_2048_PSS = 3, /* RSASSA-PSS with SHA-256 */
} tpa_ak_type;

typedef struct {
	uint8_t attest[TPA_ATTEST_MAX];       /* TPMS_ATTEST, marshaled */
	size_t attest_len;
	uint8_t signature[TPA_SIGNATURE_MAX]; /* TPMT_SIGNATURE, marshaled */
	size_t signature_len;
} tpa_tpm_quote_result;

/* Opens the TPM through a TCTI configuration string ("device:/dev/tpmrm0",
 * "swtpm:path=/run/x/tpm.sock", "swtpm:host=127.0.0.1,port=2321") and sends
 * TPM2_Startup(CLEAR) if the TPM needs it. */
int tpa_tpm_open(tpa_tpm **out, const char *tcti);
/* Flushes every transient object and session this handle created. */
void tpa_tpm_close(tpa_tpm *t);

/* Loads an attestation key under the endorsement key (RSA-2048 EK from the
 * TCG default template, or the persistent one at 0x81010001). With ak_file
 * set, an AK saved there is reloaded; if the file does not exist, a new AK
 * of `type` is created and saved (mode 0600). Without it, a new AK is created
 * for this session only. */
int tpa_tpm_ak_load(tpa_tpm *t, tpa_ak_type type, const char *ak_file);

/* The loaded AK's TPMT_PUBLIC, marshaled. */
int tpa_tpm_ak_public(const tpa_tpm *t, uint8_t *buf, size_t cap, size_t *len);

/* Reads the PCRs named in *pcrs (banks and indices; digests are ignored) and
 * fills in their values. */
int tpa_tpm_pcr_read(tpa_tpm *t, tpa_pcr_set *pcrs);

/* Quotes the PCRs named in *pcrs with the AK and nonce as qualifyingData, and
 * fills *pcrs with the values the quote covers (read around the quote; a PCR
 * change in between is retried). */
int tpa_tpm_quote(tpa_tpm_quote_result *out, tpa_tpm *t, tpa_pcr_set *pcrs,
		  const uint8_t *nonce, size_t nonce_len);

/* The endorsement key's public area (RSA-2048, TCG template L-1). */
int tpa_tpm_ek_public(tpa_tpm *t, TPMT_PUBLIC *out);

/* The EK certificate from NV (RSA: 0x01c00002), DER, malloc'd. */
int tpa_tpm_ek_cert(tpa_tpm *t, uint8_t **der, size_t *len);

/* TPM2_ActivateCredential with the loaded AK and the EK: releases the
 * credential only if this TPM holds the EK and the AK has the name it was
 * made for. id_object and enc_secret are the marshaled TPM2B_ID_OBJECT and
 * TPM2B_ENCRYPTED_SECRET. */
int tpa_tpm_activate_credential(uint8_t *cred, size_t *cred_len, tpa_tpm *t,
				const uint8_t *id_object, size_t id_len,
				const uint8_t *enc_secret, size_t enc_len);

/* TPM_PT_MANUFACTURER as text (up to 4 characters, trailing NULs and
 * spaces dropped) and the firmware version (VERSION_1 << 32 | VERSION_2). */
int tpa_tpm_properties(tpa_tpm *t, char manufacturer[5], uint64_t *firmware);

/* TPM2_PCR_Extend of one bank of one PCR with a digest. */
int tpa_tpm_pcr_extend(tpa_tpm *t, uint32_t pcr, uint16_t hash_alg,
		       const uint8_t *digest, size_t len);

#endif
