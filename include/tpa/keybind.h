/* SPDX-License-Identifier: BSD-3-Clause */
/* Key binding: a key the device holds in its TPM, named in the token's
 * "cnf" claim (RFC 7800), so that a relying party can ask the device to
 * prove possession of it. The device shows the key's public area and a
 * TPM2_Certify of it by its AK, made for the challenge's qualifying data:
 * the AK's TPM certifies that it holds the key, fixedTPM and fixedParent
 * say it never leaves that TPM, sensitiveDataOrigin that the TPM made it. */
#ifndef TPA_KEYBIND_H
#define TPA_KEYBIND_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/findings.h"

/* {"kty":"EC","crv":"P-256","x":"...","y":"..."}: 43 characters each. */
#define TPA_JWK_EC_MAX 160
#define TPA_JWK_THUMBPRINT_LEN 43   /* RFC 7638, SHA-256, base64url */

typedef struct {
	char jwk[TPA_JWK_EC_MAX];
	char thumbprint[TPA_JWK_THUMBPRINT_LEN + 1];
} tpa_bound_key;

typedef struct {
	const uint8_t *key_public;     /* the key's TPMT_PUBLIC, marshaled */
	size_t key_public_len;
	const uint8_t *certify;        /* TPM2_Certify's TPMS_ATTEST, marshaled */
	size_t certify_len;
	const uint8_t *signature;      /* its TPMT_SIGNATURE by the AK */
	size_t signature_len;
} tpa_keybind_evidence;

/* The public JWK and its thumbprint of a key the binding allows: an ECC
 * NIST P-256 signing key (not restricted, not for decryption) with nameAlg
 * SHA-256, fixedTPM, fixedParent and sensitiveDataOrigin. TPA_ERR_VERIFY
 * (the message says what) for any other. */
int tpa_keybind_describe(tpa_bound_key *out, const uint8_t *key_public, size_t len);

/* Checks a binding against the AK (whose quote verified) and the quote's
 * qualifying data; adds "key.binding" to f, passed or failed with why.
 * On a pass, out names the key. Negative only for internal failures. */
int tpa_keybind_verify(tpa_findings *f, tpa_bound_key *out, const tpa_keybind_evidence *ev,
		       const uint8_t *ak_public, size_t ak_public_len, const uint8_t *qd,
		       size_t qd_len);

#endif
