/* SPDX-License-Identifier: BSD-3-Clause */
/* TPM quote verification (PCR sets: pcr.h; findings: findings.h). */
#ifndef TPA_QUOTE_H
#define TPA_QUOTE_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "tpa/findings.h"
#include "tpa/pcr.h"

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
