/* SPDX-License-Identifier: BSD-3-Clause */
/* Device identity: EK certificates validated against trusted TPM
 * manufacturer CAs, and credential activation (TPM2_MakeCredential done in
 * software) to prove that an AK lives in the same TPM as an EK. */
#ifndef TPA_IDENTITY_H
#define TPA_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#define TPA_EKCERT_MAX      8192   /* bytes of one certificate */
#define TPA_CREDENTIAL_MAX  32     /* bytes of a credential secret */
#define TPA_ID_OBJECT_MAX   (2 + 2 + 64 + 2 + TPA_CREDENTIAL_MAX + 16)
#define TPA_ENC_SECRET_MAX  (2 + 512)

/* The trusted TPM manufacturer CAs, loaded once: every PEM or DER file in a
 * directory (or the one file named); TPA_ERR_NOT_FOUND if none holds a
 * certificate. Shared by threads for verification. */
typedef struct tpa_ek_anchors tpa_ek_anchors;
int tpa_ek_anchors_load(tpa_ek_anchors **out, const char *ca);
void tpa_ek_anchors_free(tpa_ek_anchors *a);

/* Validates an EK certificate (DER) up to a trusted root: the trusted
 * certificates are every PEM or DER file in ca_dir (or the file ca_dir
 * names); intermediates (DER, may be NULL) only help build the chain and are
 * never anchors. The certificate's public key must be ek's. The signature
 * chain is never skipped; TPA_ERR_VERIFY says which rule failed. */
int tpa_ekcert_verify(const uint8_t *der, size_t n, const uint8_t *const *intermediates,
		      const size_t *intermediate_lens, size_t nintermediates,
		      const char *ca_dir, const TPMT_PUBLIC *ek);
/* The same against anchors loaded once. */
int tpa_ekcert_verify_anchors(const uint8_t *der, size_t n, const uint8_t *const *intermediates,
			      const size_t *intermediate_lens, size_t nintermediates,
			      const tpa_ek_anchors *anchors, const TPMT_PUBLIC *ek);

/* The TPM manufacturer an EK certificate names (tcg-at-tpmManufacturer in
 * its subject alternative name): "IFX", "STM", "NTC", "INTC", or the raw
 * "id:XXXXXXXX" when it spells no letters. TPA_ERR_NOT_FOUND without one. */
int tpa_ekcert_manufacturer(char *out, size_t cap, const uint8_t *der, size_t n);

/* The EK templates of the TCG EK Credential Profile this verifier takes. */
typedef enum {
	TPA_EK_TEMPLATE_NONE = 0,
	TPA_EK_TEMPLATE_L1,   /* RSA 2048, SHA-256, policy A, AES-128-CFB */
	TPA_EK_TEMPLATE_L2,   /* ECC P-256, SHA-256, policy A, AES-128-CFB */
	TPA_EK_TEMPLATE_H1,   /* RSA 2048, SHA-256, policy B, AES-128-CFB, userWithAuth */
	TPA_EK_TEMPLATE_H2,   /* ECC P-256, SHA-256, policy B, AES-128-CFB, userWithAuth */
	TPA_EK_TEMPLATE_H3,   /* ECC P-384, SHA-384, policy B, AES-256-CFB, userWithAuth */
	TPA_EK_TEMPLATE_H4,   /* ECC P-521, SHA-512, policy B, AES-256-CFB, userWithAuth */
	TPA_EK_TEMPLATE_H6,   /* RSA 3072, SHA-384, policy B, AES-256-CFB, userWithAuth */
	TPA_EK_TEMPLATE_H7,   /* RSA 4096, SHA-384, policy B, AES-256-CFB, userWithAuth */
	TPA_EK_TEMPLATE_COUNT
} tpa_ek_template_id;

const char *tpa_ek_template_name(tpa_ek_template_id id); /* "L-1", ... */
/* The template's public area, its unique part as the template has it
 * (zeros for the low range, empty for the high range). */
int tpa_ek_template(TPMT_PUBLIC *out, tpa_ek_template_id id);
/* Which template an EK's public area follows: type, name algorithm,
 * attributes, authPolicy, symmetric algorithm, scheme, key size or curve,
 * all but the key itself. TPA_ERR_VERIFY names what differs from the
 * closest template; *out (may be NULL) gets the template. */
int tpa_ek_check_template(tpa_ek_template_id *out, const TPMT_PUBLIC *ek);

/* The device id: lower-case hex SHA-256 of the EK's SubjectPublicKeyInfo
 * (DER), the same for every encoding of the same key. out holds 65 bytes. */
#define TPA_DEVICE_ID_HEX 64
int tpa_ek_device_id(char *out, const TPMT_PUBLIC *ek);
/* The same from a marshaled TPMT_PUBLIC. */
int tpa_ek_device_id_of(char *out, const uint8_t *ek_public, size_t n);

/* KDFa of TPM 2.0 Part 1 (SP 800-108 counter mode with HMAC); bits must be
 * a multiple of 8 and out must hold bits / 8 bytes. */
int tpa_kdfa(uint8_t *out, TPM2_ALG_ID hash, const uint8_t *key, size_t key_len,
	     const char *label, const uint8_t *context_u, size_t u_len,
	     const uint8_t *context_v, size_t v_len, uint32_t bits);

/* KDFe of TPM 2.0 Part 1 (the SP 800-56A concatenation KDF): digests of
 * counter || Z || label with its NUL || partyU || partyV. */
int tpa_kdfe(uint8_t *out, TPM2_ALG_ID hash, const uint8_t *z, size_t z_len,
	     const char *label, const uint8_t *party_u, size_t u_len,
	     const uint8_t *party_v, size_t v_len, uint32_t bits);

/* TPM2_MakeCredential in software, for an RSA EK (OAEP, label "IDENTITY") or
 * an ECC EK on P-256, P-384 or P-521 (ECDH with an ephemeral key, KDFe):
 * wraps credential so that only the TPM holding ek can release it, and only
 * to the object named ak_name. Outputs the marshaled TPM2B_ID_OBJECT and
 * TPM2B_ENCRYPTED_SECRET. */
int tpa_credential_make(uint8_t *id_object, size_t *id_object_len,
			uint8_t *enc_secret, size_t *enc_secret_len,
			const TPMT_PUBLIC *ek, const uint8_t *ak_name, size_t ak_name_len,
			const uint8_t *credential, size_t credential_len);

#endif
