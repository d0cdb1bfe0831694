/* SPDX-License-Identifier: BSD-3-Clause */
/* The verdict token: an EAT Attestation Result (EAR, Veraison profile) as a
 * compact JWS (JWT, ES256) signed with the verifier's key, built and checked
 * with cjose. docs/claims.md lists every claim. */
#ifndef TPA_TOKEN_H
#define TPA_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/baseline.h"
#include "tpa/findings.h"
#include "tpa/verdict.h"

#define TPA_TOKEN_DEFAULT_TTL_S 3600
/* The longest lifetime (exp - iat) a token may have: serve's --token-ttl
 * stops here, tpa_token_sign refuses more and the verify functions refuse
 * a token that claims more (30 days). */
#define TPA_TOKEN_MAX_TTL_S (30 * 86400)
/* How far in the future iat may be when a token is checked: the clocks of
 * the verifier and of the one who checks may differ by this much (60 s).
 * exp gets no such allowance. */
#define TPA_TOKEN_CLOCK_SKEW_S 60
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

#define TPA_EAR_PROFILE "tag:github.com,2023:veraison/ear"
#define TPA_EAR_SUBMOD "TPM_DEVICE"   /* the one appraisal's label */
#include "tpa/version.h"   /* TPA_VERSION, the tokens' build info */

typedef struct {
	const char *status;         /* ear.status: "affirming", "warning",
				     * "contraindicated" or "none" */
	tpa_ar4si vector;
	const uint8_t *nonce;       /* the challenge nonce (eat_nonce), or NULL */
	size_t nonce_len;
	const char *developer;      /* ear.verifier-id developer (the verifier id) */
	int64_t iat;                /* Unix seconds */
	uint32_t ttl_s;
	const char *device_id;      /* the EK-derived device id, or NULL */
	const char *ak_name_hex;    /* or NULL */
	/* The project's own claims, in the submodule. */
	const char *outcome;        /* the appraisal's outcome */
	const char *baseline;       /* its baseline name, or NULL */
	int baseline_version;
	const tpa_appraisal *appraisal; /* rules: summary and reasons; or NULL */
	const tpa_findings *findings;   /* failed checks are reasons; or NULL */
	const char *secure_boot;    /* "enabled", "disabled", "unknown" */
	int measured_boot;
	const char *tpm_manufacturer; /* from the EK certificate, or NULL */
	uint32_t tpm_firmware[2];   /* the quote's firmwareVersion (TPM-signed) */
	int have_tpm_firmware;
	const char *firmware_version; /* S-CRTM version from the log, or NULL */
	int unbound_ak;             /* no registry bound the AK to an EK: a reason */
	const char *cnf_jwk;        /* a public JWK (JSON object) of a key the AK
				     * certified: "cnf": {"jwk": ...} (RFC 7800); or NULL */
	const char *admission;      /* tpa.admission: how the device was admitted
				     * ("open", "approved", "allowlist"); NULL: "none"
				     * (no registered device proved itself) */
	int ek_certified;           /* tpa.ek_certified: its EK came with a certificate
				     * that chained to a trusted vendor CA */
	const tpa_sb_claims *secureboot; /* tpa.secureboot when judged, or NULL */
} tpa_token_claims;

/* The tpa.secureboot answers of a token of this verifier's, read without
 * verifying it (the registry's own copy of what it signed, for the fleet
 * view): out[TPA_SBC_*]. 1 if it has them, 0 if it has none, <0 if the
 * token is malformed (named). */
int tpa_token_secureboot(tpa_sb_answer out[TPA_SBC_COUNT], const char *token);

/* Signs the claims; *out is a malloc'd compact JWS. ttl_s must be in
 * 1..TPA_TOKEN_MAX_TTL_S and iat not negative. */
int tpa_token_sign(char **out, const tpa_token_key *k, const tpa_token_claims *c);

/* Verifies a compact JWS with a public JWK (JSON). Before cjose sees it:
 * exactly three segments, each canonical base64url (only A-Z a-z 0-9 - _,
 * no padding, a length that is not 1 mod 4, the unused bits of the last
 * character zero: one encoding for each byte string); a header that is a
 * JSON object without repeated members, alg ES256, no crit (no extension
 * is understood, so none may be critical); a 64-byte signature. Then the
 * kid if the JWK has one, the signature, and the claims: a JSON object
 * with integer iat and exp, exp after iat, a lifetime of at most
 * TPA_TOKEN_MAX_TTL_S, iat at most TPA_TOKEN_CLOCK_SKEW_S after now (Unix
 * seconds), exp after now, the EAR profile TPA_EAR_PROFILE. *claims_out
 * (malloc'd JSON) receives the payload. ear.status is not judged here:
 * see tpa_token_accept_status. */
int tpa_token_verify(char **claims_out, const char *jwk_json, const char *token,
		     int64_t now);

/* The same with a JWKS ({"keys": [...]}): the key is the one the token's
 * kid names. With nonce set, eat_nonce must be it (base64url). */
int tpa_token_verify_jwks(char **claims_out, const char *jwks_json, const char *token,
			  int64_t now, const uint8_t *nonce, size_t nonce_len);

/* Signs payload (any text, e.g. JSON) as a compact JWS: ES256, the key's
 * kid, the type typ; *out malloc'd. For what is not a verdict token (the
 * audit log's signed heads): a typ of its own keeps the two apart. */
int tpa_token_sign_payload(char **out, const tpa_token_key *k, const char *typ,
			   const char *payload);
/* Verifies such a JWS with the key of the JWKS its kid names: read as
 * tpa_token_verify reads a token (canonical segments, a header without
 * crit, ES256), the type (typ; NULL: any) and the signature; no claim is
 * looked at.
 * *payload_out (malloc'd, NUL-terminated) receives the payload. */
int tpa_token_verify_payload(char **payload_out, const char *jwks_json, const char *jws,
			     const char *typ);

/* The payload of a compact JWS, NOT verified (malloc'd): for a report that
 * has no key to check it with. */
int tpa_token_peek_payload(char **payload_out, const char *jws);

/* What a relying party accepts of verified claims (the JSON a verify
 * function gave): ear.status "affirming" in every submodule, TPA_EAR_SUBMOD
 * among them; with accept_warning "warning" too; never "contraindicated",
 * "none", a missing status or anything else. The verify functions do not
 * judge the status: a relying party calls this too. TPA_ERR_VERIFY names
 * the status ("token status is contraindicated") and the first reason. */
int tpa_token_accept_status(const char *claims_json, int accept_warning);

/* ---- many tokens checked against one key set ----
 * A relying party that checks a token per request (the HTTP face's
 * /v1/authz) imports the JWKS's keys once: a verifier holds them by kid,
 * read-only, so threads share it; it is counted (tpa_token_verifier_ref,
 * and _free drops one reference). A JWKS with more than 16 keys, a key
 * without a kid or one twice, or a key that is not EC P-256 is refused. */
typedef struct tpa_token_verifier tpa_token_verifier;

int tpa_token_verifier_new(tpa_token_verifier **out, const char *jwks_json);
tpa_token_verifier *tpa_token_verifier_ref(tpa_token_verifier *v);
void tpa_token_verifier_free(tpa_token_verifier *v);
size_t tpa_token_verifier_count(const tpa_token_verifier *v);
/* 1 if both hold the same keys (kids and public keys, in order). */
int tpa_token_verifier_same_keys(const tpa_token_verifier *a, const tpa_token_verifier *b);
/* How often accept found the claims read before (hits) or read them. */
void tpa_token_verifier_stats(const tpa_token_verifier *v, uint64_t *hits, uint64_t *misses);

/* What a relying party learns of a token it accepts. */
typedef struct {
	char device_id[65];         /* tpa.device_id; "" if absent or longer */
	int64_t iat, exp;
} tpa_token_accepted;

/* tpa_token_verify_jwks (no nonce) and tpa_token_accept_status, with the
 * claims read once: the same checks, the same refusals. The signature is
 * verified at every call; claims that passed are kept by the SHA-256 of
 * their bytes, and a token with the same claims again has only its iat and
 * exp checked against now (and its status read again if it warns and
 * accept_warning is 0). */
int tpa_token_verifier_accept(tpa_token_accepted *out, const tpa_token_verifier *v,
			      const char *token, int64_t now, int accept_warning);

/* A JWKS of the public keys (NULLs skipped): "use" sig, "alg" ES256, kid. */
int tpa_token_jwks(char **out, const tpa_token_key *const *keys, size_t n);

/* ---- the key set: rotation without an outage ----
 *
 * The --token-key FILE holds a key set (JSON, mode 0600): every key with a
 * state. "next" is published in the JWKS but does not sign until its
 * activate_at; "active" signs (exactly one); "retired" stopped signing at
 * its retired_at and stays published until every token it signed has
 * expired: retired_at + its ttl_s + TPA_TOKEN_CLOCK_SKEW_S. The states are
 * a function of the file and the time, so verifiers sharing one file
 * switch keys at the same instant without being told. docs/claims.md.
 *
 * A FILE that is one private JWK (before key sets) is read as a set with
 * that key active, and FILE.previous, if present, as a retired key (since
 * FILE's mtime); the first save writes the set and removes FILE.previous. */
#define TPA_KEYSET_MAX 8                /* keys in one set */
#define TPA_KEYSET_DEFAULT_DELAY_S 86400 /* keys rotate: next signs after 24 h */
/* Consumers re-fetch the JWKS at least this often (tpa_refresh_after). */
#define TPA_JWKS_REFRESH_S 3600

typedef struct tpa_token_keyset tpa_token_keyset;

typedef enum { TPA_KEY_NEXT, TPA_KEY_ACTIVE, TPA_KEY_RETIRED, TPA_KEY_GONE } tpa_token_key_state;

typedef struct {
	const char *kid;
	tpa_token_key_state state;  /* at the time asked about */
	int64_t created_at;
	int64_t activate_at;        /* when it signs (next) or began to (0: unknown) */
	int64_t retired_at;         /* retired: when it stopped signing */
	int64_t published_until;    /* retired: when it leaves the JWKS */
	uint32_t ttl_s;             /* the longest token it may have signed */
} tpa_token_keyinfo;

/* Reads the key set at path (or a single JWK, see above). Without a file,
 * with create (1..TPA_TOKEN_MAX_TTL_S: the new set's token TTL; 0: refuse)
 * a new set with one active key is written (0600). A set read from a
 * single JWK has the TTL TPA_TOKEN_MAX_TTL_S: nobody knows a shorter one. */
int tpa_token_keyset_load(tpa_token_keyset **out, const char *path, long create);
/* Writes the set to path (0600, atomically), first dropping keys whose
 * tokens have all expired and writing down what time did (a next key whose
 * time came is active, the key it replaced retired). */
int tpa_token_keyset_save(tpa_token_keyset *ks, const char *path, int64_t now);
void tpa_token_keyset_free(tpa_token_keyset *ks);
/* The key that signs at now: the next key once its activate_at has come,
 * else the active one. Never NULL for a loaded set. */
const tpa_token_key *tpa_token_keyset_signer(const tpa_token_keyset *ks, int64_t now);
/* The key that signed before it (the newest retired key still published),
 * or NULL. */
const tpa_token_key *tpa_token_keyset_previous(const tpa_token_keyset *ks, int64_t now);
/* The longest token lifetime the set's keys are kept published for: a
 * verifier must not sign longer tokens with it. */
uint32_t tpa_token_keyset_ttl(const tpa_token_keyset *ks);
/* The keys (also those GONE at now, until the next save), in file order. */
size_t tpa_token_keyset_count(const tpa_token_keyset *ks);
int tpa_token_keyset_info(tpa_token_keyinfo *out, const tpa_token_keyset *ks, size_t i,
			  int64_t now);
/* The JWKS published at now: every next, active and retired key not yet
 * gone ("use" sig, "alg" ES256, kid) and "tpa_refresh_after", the time
 * (ISO 8601) by which a consumer should fetch it again: the next multiple
 * of TPA_JWKS_REFRESH_S after now, the same on every verifier. */
int tpa_token_keyset_jwks(char **out, const tpa_token_keyset *ks, int64_t now);
/* Adds a new next key that signs at now + delay_s (0: at once). A pending
 * next key is refused (TPA_ERR_CONFLICT) unless replace is set, and even
 * then within TPA_TOKEN_CLOCK_SKEW_S of its activation (a verifier whose
 * clock is ahead may sign with it). ttl_s (0: keep) sets the set's token
 * lifetime. A full set is refused, naming when its oldest key goes: no
 * key whose tokens may still be valid is ever dropped. */
int tpa_token_keyset_rotate(tpa_token_keyset *ks, int64_t now, int64_t delay_s, int replace,
			    uint32_t ttl_s, char *kid_out, size_t kid_cap);
/* Makes the next key active now (kid NULL, or it must name the next key);
 * the active key retires. */
int tpa_token_keyset_activate(tpa_token_keyset *ks, const char *kid, int64_t now);

#endif
