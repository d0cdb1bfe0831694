/* SPDX-License-Identifier: BSD-3-Clause */
/* Decoding TPM structures from untrusted bytes (through tss2-mu) and turning
 * TPM keys and signatures into OpenSSL objects. */
#ifndef TPA_TPM_DECODE_H
#define TPA_TPM_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

/* Largest byte strings accepted for each structure (all far above what a TPM
 * produces; the unmarshaller bounds every inner field). */
#define TPA_ATTEST_MAX     2048
#define TPA_SIGNATURE_MAX  1024
#define TPA_PUBLIC_MAX     1024
#define TPA_NAME_MAX       (2 + 64)

/* Unmarshals exactly n bytes: a short, malformed or over-long input (trailing
 * bytes) is TPA_ERR_PARSE with the reason in tpa_err_last(). */
int tpa_decode_attest(TPMS_ATTEST *out, const uint8_t *b, size_t n);
int tpa_decode_public(TPMT_PUBLIC *out, const uint8_t *b, size_t n);
int tpa_decode_signature(TPMT_SIGNATURE *out, const uint8_t *b, size_t n);

/* Digest size of a TPM hash algorithm (SHA-1, SHA-2, SM3-256), 0 if unknown
 * or unsupported. */
size_t tpa_hash_size(TPM2_ALG_ID alg);
/* OpenSSL name of a TPM hash algorithm ("SHA256"), NULL if unsupported. */
const char *tpa_hash_name(TPM2_ALG_ID alg);
/* Short lower-case name for messages ("sha256"), "unknown" otherwise. */
const char *tpa_hash_label(TPM2_ALG_ID alg);

/* The (shared, process-wide) OpenSSL digest of a TPM hash algorithm, NULL if
 * unsupported. Never free it. */
const EVP_MD *tpa_hash_md(TPM2_ALG_ID alg);

/* One-shot digest: out must hold tpa_hash_size(alg) bytes. */
int tpa_hash(uint8_t *out, TPM2_ALG_ID alg, const uint8_t *b, size_t n);

/* TPM name of a public area: nameAlg (2 bytes, big-endian) || H(TPMT_PUBLIC).
 * out must hold TPA_NAME_MAX bytes; *out_len receives the length. */
int tpa_public_name(uint8_t *out, size_t *out_len, const TPMT_PUBLIC *pub);

/* An EVP_PKEY for an RSA (2048..4096 bits) or ECC (NIST P-256/P-384/P-521)
 * public area. */
int tpa_public_to_pkey(EVP_PKEY **out, const TPMT_PUBLIC *pub);

/* Verifies sig over msg with key (from pub). ECDSA, RSASSA and RSAPSS with
 * SHA-256/384/512; the signature scheme must fit the key type and, where the
 * key fixes a scheme, equal it. TPA_ERR_VERIFY when the signature is wrong. */
int tpa_signature_verify(const TPMT_SIGNATURE *sig, const TPMT_PUBLIC *pub,
			 EVP_PKEY *key, const uint8_t *msg, size_t n);

/* The hash algorithm a signature was made with, TPM2_ALG_NULL if none. */
TPM2_ALG_ID tpa_signature_hash(const TPMT_SIGNATURE *sig);

/* Lower-case hex of b into out (2n+1 bytes). */
void tpa_hex(char *out, const uint8_t *b, size_t n);
/* The value of one hex digit (either case), -1 if c is not one. */
int tpa_hex_digit(char c);

#endif
