/* SPDX-License-Identifier: BSD-3-Clause */
/* The endpoint's TPM through tpm2-tss ESYS: attestation key, PCRs, quotes.
 * Every ESYS call of the project lives behind these functions. */
#ifndef TPA_TPM_H
#define TPA_TPM_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/pcr.h"
#include "tpa/tpm_decode.h"

#define TPA_TCTI_DEFAULT "device:/dev/tpmrm0"

typedef struct tpa_tpm tpa_tpm;

typedef enum {
	TPA_AK_ECC_P256 = 1,   /* ECDSA with SHA-256 (default) */
	TPA_AK_RSA_2048 = 2,   /* RSASSA-PKCS1-v1_5 with SHA-256 */
	TPA_AK_RSA_2048_PSS = 3, /* RSASSA-PSS with SHA-256 */
} tpa_ak_type;

/* The endorsement keys of the TCG EK Credential Profile the client can use;
 * the AK is made under the one chosen. */
typedef enum {
	TPA_EK_RSA_2048 = 1,   /* template L-1, certificate NV 0x01c00002 (default) */
	TPA_EK_ECC_P256 = 2,   /* template L-2, certificate NV 0x01c0000a */
	TPA_EK_ECC_P384 = 3,   /* template H-3, certificate NV 0x01c00016 */
} tpa_ek_type;

/* "rsa", "ecc-p256", "ecc-p384" */
const char *tpa_ek_type_label(tpa_ek_type type);
int tpa_ek_type_parse(tpa_ek_type *out, const char *text);

typedef struct {
	uint8_t attest[TPA_ATTEST_MAX];       /* TPMS_ATTEST, marshaled */
	size_t attest_len;
	uint8_t signature[TPA_SIGNATURE_MAX]; /* TPMT_SIGNATURE, marshaled */
	size_t signature_len;
} tpa_tpm_quote_result;

/* A key bound to the AK's TPM: its public area and the AK's TPM2_Certify. */
typedef struct {
	uint8_t key_public[TPA_PUBLIC_MAX];   /* TPMT_PUBLIC, marshaled */
	size_t key_public_len;
	uint8_t attest[TPA_ATTEST_MAX];       /* TPMS_ATTEST of the certify */
	size_t attest_len;
	uint8_t signature[TPA_SIGNATURE_MAX];
	size_t signature_len;
} tpa_tpm_certify_result;

/* Opens the TPM through a TCTI configuration string ("device:/dev/tpmrm0",
 * "swtpm:path=/run/x/tpm.sock", "swtpm:host=127.0.0.1,port=2321") and sends
 * TPM2_Startup(CLEAR) if the TPM needs it. */
int tpa_tpm_open(tpa_tpm **out, const char *tcti);
/* Flushes every transient object and session this handle created. */
void tpa_tpm_close(tpa_tpm *t);

/* Chooses the EK (before any key is loaded; RSA by default). The EK is the
 * persistent one at its usual handle (0x81010001, 0x81010002, 0x81010016) if
 * it is the template's key, else created from the template. */
int tpa_tpm_set_ek(tpa_tpm *t, tpa_ek_type type);
tpa_ek_type tpa_tpm_ek_type(const tpa_tpm *t);
/* The first EK type whose certificate the TPM holds (RSA, ECC P-256, ECC
 * P-384); TPA_ERR_NOT_FOUND if none. */
int tpa_tpm_ek_detect(tpa_tpm *t, tpa_ek_type *out);

/* Loads an attestation key under the endorsement key. With ak_file set, an
 * AK saved there is reloaded under the EK it was made under (the file says
 * which; tpa_tpm_ek_type reports it); if the file does not exist, a new AK
 * of `type` is created under the chosen EK and saved (mode 0600). Without
 * it, a new AK is created for this session only. TPA_ERR_NOT_FOUND if the
 * TPM refuses the saved AK as not its own (cleared, or another TPM). */
int tpa_tpm_ak_load(tpa_tpm *t, tpa_ak_type type, const char *ak_file);

/* The loaded AK's TPMT_PUBLIC, marshaled. */
int tpa_tpm_ak_public(const tpa_tpm *t, uint8_t *buf, size_t cap, size_t *len);

/* Reads the PCRs named in *pcrs (banks and indices; digests are ignored) and
 * fills in their values. */
int tpa_tpm_pcr_read(tpa_tpm *t, tpa_pcr_set *pcrs);

/* A key for the token's cnf claim: loaded from key_file (the AK file's
 * format), or made under the EK and saved there (0600) if the file does not
 * exist, then certified by the loaded AK (TPM2_Certify) with qd, the quote's
 * qualifying data. */
int tpa_tpm_bind_key(tpa_tpm_certify_result *out, tpa_tpm *t, const char *key_file,
		     const uint8_t *qd, size_t qd_len);

/* Quotes the PCRs named in *pcrs with the AK and nonce as qualifyingData, and
 * fills *pcrs with the values the quote covers (read around the quote; a PCR
 * change in between is retried). */
int tpa_tpm_quote(tpa_tpm_quote_result *out, tpa_tpm *t, tpa_pcr_set *pcrs,
		  const uint8_t *nonce, size_t nonce_len);

/* The chosen endorsement key's public area. */
int tpa_tpm_ek_public(tpa_tpm *t, TPMT_PUBLIC *out);

/* The chosen EK's certificate from NV, DER, malloc'd. */
int tpa_tpm_ek_cert(tpa_tpm *t, uint8_t **der, size_t *len);
/* An EK certificate from a file instead (a TPM whose NV holds none): one
 * PEM or DER certificate whose public key must be ek's, as DER, malloc'd.
 * TPA_ERR_PARSE for a file that is not exactly one certificate,
 * TPA_ERR_VERIFY for another key's; the message names the file. */
int tpa_ek_cert_file(uint8_t **der, size_t *len, const char *path, const TPMT_PUBLIC *ek);

/* The CA certificates the TPM keeps for its EK certificates (NV indices
 * 0x01c00100-0x01c001ff, one or more DER certificates each), at most cap;
 * each certs[i] (lens[i] bytes) is malloc'd. *n = 0 if there are none. */
int tpa_tpm_ek_intermediates(tpa_tpm *t, uint8_t **certs, size_t *lens, size_t cap,
			     size_t *n);

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
