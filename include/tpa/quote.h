/* SPDX-License-Identifier: BSD-3-Clause */
/* PCR sets, findings, and TPM quote verification. */
#ifndef TPA_QUOTE_H
#define TPA_QUOTE_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#define TPA_PCR_COUNT    24   /* PCRs 0..23 of a PC Client TPM */
#define TPA_BANKS_MAX    4    /* sha1, sha256, sha384, sha512 */
#define TPA_DIGEST_MAX   64
#define TPA_CHECKS_MAX   32
#define TPA_CHECK_NAME_MAX   40
#define TPA_CHECK_DETAIL_MAX 256

/* The values of some PCRs of some banks, in the order they were selected. */
typedef struct {
	uint16_t hash_alg;                /* TPM2_ALG_SHA256, ... */
	uint32_t count;                   /* PCRs present, ascending index */
	uint8_t index[TPA_PCR_COUNT];
	uint8_t digest[TPA_PCR_COUNT][TPA_DIGEST_MAX];
} tpa_pcr_bank;

typedef struct {
	uint32_t nbanks;
	tpa_pcr_bank banks[TPA_BANKS_MAX];
} tpa_pcr_set;

/* Starts a new bank; a bank's algorithm may appear once. */
int tpa_pcr_set_add_bank(tpa_pcr_set *set, uint16_t hash_alg);
/* Appends a PCR to the last bank: index < 24, strictly ascending, and the
 * digest as long as the bank algorithm's digest. */
int tpa_pcr_set_add(tpa_pcr_set *set, uint32_t index, const uint8_t *digest,
		    size_t len);
/* Parses "sha256:0,1,2,7" or "sha256:0-9" (several banks joined by '+') into
 * a selection: each bank with its indices and zero digests. */
int tpa_pcr_set_parse_selection(tpa_pcr_set *out, const char *spec);

/* The named outcome of every rule that was checked. */
typedef struct {
	char name[TPA_CHECK_NAME_MAX];
	int passed;
	char detail[TPA_CHECK_DETAIL_MAX];
} tpa_check;

typedef struct {
	size_t n;
	tpa_check items[TPA_CHECKS_MAX];
} tpa_findings;

void tpa_findings_add(tpa_findings *f, const char *name, int passed,
		      const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Number of failed checks. */
size_t tpa_findings_failed(const tpa_findings *f);
/* The first check of that name, or NULL. */
const tpa_check *tpa_findings_get(const tpa_findings *f, const char *name);

/* The attributes an attestation key must have: restricted, sign, not
 * decrypt, fixedTPM, fixedParent, sensitiveDataOrigin. TPA_ERR_VERIFY names
 * the first one wrong. */
int tpa_ak_check_attributes(const TPMT_PUBLIC *pub);

/* What a client sent for a quote. All bytes are untrusted. */
typedef struct {
	const uint8_t *attest;      /* TPMS_ATTEST, marshaled */
	size_t attest_len;
	const uint8_t *signature;   /* TPMT_SIGNATURE, marshaled */
	size_t signature_len;
	const uint8_t *ak_public;   /* TPMT_PUBLIC, marshaled */
	size_t ak_public_len;
	const tpa_pcr_set *pcrs;    /* the reported PCR values */
	uint64_t *firmware_out;     /* if not NULL: receives the quote's
				     * firmwareVersion (0 if it does not decode) */
} tpa_quote_evidence;

/* Checks a quote, appending one finding per rule to *out:
 *   quote.structure  TPMS_ATTEST unmarshals exactly, no trailing bytes
 *   quote.magic      TPM_GENERATED_VALUE
 *   quote.type       TPM_ST_ATTEST_QUOTE
 *   quote.nonce      extraData equals nonce (constant time); a NULL nonce
 *                    (no valid challenge) fails this rule
 *   quote.pcr_selection  the quoted selection equals the reported banks
 *   quote.pcr_digest the digest of the reported values equals pcrDigest
 *   ak.public        the AK public area unmarshals and is a usable key
 *   ak.attributes    restricted, sign, not decrypt, fixedTPM, fixedParent,
 *                    sensitiveDataOrigin
 *   quote.signature  the signature verifies with the AK
 * Returns 0 when every rule passed, TPA_ERR_VERIFY when any failed (the
 * findings say which), another negative code when checking itself failed.
 * If ak_name is not NULL it receives the AK's TPM name (TPA_NAME_MAX bytes)
 * and *ak_name_len its length (0 if the AK could not be decoded). */
int tpa_quote_verify(tpa_findings *out, const tpa_quote_evidence *ev,
		     const uint8_t *nonce, size_t nonce_len,
		     uint8_t *ak_name, size_t *ak_name_len);

#endif
