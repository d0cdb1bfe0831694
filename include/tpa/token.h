/* SPDX-License-Identifier: BSD-3-Clause */
/* The verdict token: a compact JWS (JWT, ES256) signed with the verifier's
 * key, built and checked with cjose. This is the first form; the EAR claim
 * set replaces its payload in the claims issue. */
#ifndef TPA_TOKEN_H
#define TPA_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/baseline.h"
#include "tpa/quote.h"

#define TPA_TOKEN_DEFAULT_TTL_S 3600
#define TPA_TOKEN_MAX (64 * 1024)

typedef struct tpa_token_key tpa_token_key;

/* A fresh P-256 signing key held in memory. */
int tpa_token_key_new(tpa_token_key **out);
/* Loads a private JWK (JSON) from path; if the file does not exist and
 * create is set, makes a new key and writes it there with mode 0600. */
int tpa_token_key_load(tpa_token_key **out, const char *path, int create);
void tpa_token_key_free(tpa_token_key *k);
/* The key id: the RFC 7638 JWK thumbprint (SHA-256, base64url). */
const char *tpa_token_key_id(const tpa_token_key *k);
/* The public JWK as JSON (malloc'd; caller frees). */
int tpa_token_key_public_jwk(char **out, const tpa_token_key *k);

typedef struct {
	int compliant;
	const tpa_findings *findings;
	const uint8_t *nonce;       /* the challenge nonce, or NULL */
	size_t nonce_len;
	const char *ak_name_hex;    /* or NULL */
	const char *issuer;         /* verifier id */
	int64_t iat;                /* Unix seconds */
	uint32_t ttl_s;
	const char *outcome;        /* the appraisal's outcome, or NULL */
	const char *baseline;       /* "name@version" that decided it, or NULL */
	const tpa_appraisal *appraisal; /* its rules (failed ones are reasons), or NULL */
} tpa_token_claims;

/* Signs the claims; *out is a malloc'd compact JWS. */
int tpa_token_sign(char **out, const tpa_token_key *k, const tpa_token_claims *c);

/* Verifies a compact JWS with a public JWK (JSON): algorithm ES256, the kid
 * if the JWK has one, the signature, and exp against now (Unix seconds).
 * *claims_out (malloc'd JSON) receives the payload. */
int tpa_token_verify(char **claims_out, const char *jwk_json, const char *token,
		     int64_t now);

#endif
