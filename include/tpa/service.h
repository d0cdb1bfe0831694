/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier service: the attest.v1.Verifier handlers over the library.
 * It only wires library calls together and maps errors to gRPC statuses. */
#ifndef TPA_SERVICE_H
#define TPA_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/nonce.h"
#include "tpa/baseline.h"
#include "tpa/rpc.h"
#include "tpa/store.h"
#include "tpa/token.h"

typedef struct tpa_service tpa_service;

/* One line per decision, for the program to write where it logs. */
typedef void (*tpa_service_log_fn)(void *ctx, const char *line);

typedef struct {
	uint32_t nonce_ttl_ms;        /* default TPA_NONCE_DEFAULT_TTL_MS */
	size_t max_challenges;        /* default TPA_NONCE_DEFAULT_MAX */
	uint32_t token_ttl_s;         /* default TPA_TOKEN_DEFAULT_TTL_S */
	const char *verifier_id;      /* "iss" of tokens */
	tpa_token_key *key;           /* borrowed; signs the tokens */
	tpa_token_key *previous_key;  /* borrowed, or NULL: the key before a
				       * rotation, still in the JWKS */
	tpa_service_log_fn log;       /* optional */
	void *log_ctx;
	/* Device identity (both or neither): with them, Enroll and Activate
	 * are served and Attest takes only registered, active AKs. */
	tpa_store *store;             /* borrowed */
	const char *ek_ca;            /* trusted TPM manufacturer CAs (dir/file) */
	/* The golden baseline for devices the registry assigns none (or for
	 * every device without a registry); NULL: such a device's outcome is
	 * "no-baseline", never a pass. Borrowed. */
	const tpa_baseline *baseline;
} tpa_service_opts;

int tpa_service_new(tpa_service **out, const tpa_service_opts *opts);
void tpa_service_free(tpa_service *s);
/* Registers GetChallenge and Attest on a server that has not started. */
int tpa_service_register(tpa_service *s, tpa_rpc_server *srv);
/* Replaces the signing key and the previous one (NULL: none), e.g. after
 * `verifier keys rotate` and SIGHUP. The service owns them from here; keys
 * replaced stay alive until the service ends (at most 64 replacements). */
int tpa_service_set_keys(tpa_service *s, tpa_token_key *current, tpa_token_key *previous);
/* The JWKS the GetVerificationKeys RPC serves (malloc'd). */
int tpa_service_jwks(char **out, tpa_service *s);

/* The challenge store, e.g. for a test clock. */
tpa_nonce_store *tpa_service_nonces(tpa_service *s);

/* The handlers, callable in process (ctx is the tpa_service). */
void tpa_service_get_challenge(tpa_rpc_reply *r, const uint8_t *req, size_t len,
			       void *ctx);
void tpa_service_attest(tpa_rpc_reply *r, const uint8_t *req, size_t len,
			void *ctx);
void tpa_service_enroll(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx);
void tpa_service_activate(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx);
void tpa_service_get_keys(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx);
/* Needs r->peer_authenticated (a client certificate the server verified). */
void tpa_service_compliance(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx);

#endif
