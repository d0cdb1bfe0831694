/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier service: the attest.v1.Verifier handlers over the library.
 * It only wires library calls together and maps errors to gRPC statuses. */
#ifndef TPA_SERVICE_H
#define TPA_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/admission.h"
#include "tpa/compliance.h"
#include "tpa/seal.h"
#include "tpa/baseline.h"
#include "tpa/identity.h"
#include "tpa/log.h"
#include "tpa/metrics.h"
#include "tpa/notify.h"
#include "tpa/rpc.h"
#include "tpa/sbref.h"
#include "tpa/store.h"
#include "tpa/token.h"

/* A request may take at most FACTOR times its size, plus SLACK, to decode;
 * more is refused RESOURCE_EXHAUSTED before it is spent. Real requests take
 * about one to two times (an event log is one bytes field). */
#define TPA_SERVICE_DECODE_FACTOR 8u
#define TPA_SERVICE_DECODE_SLACK (64u << 10)

typedef struct tpa_service tpa_service;

/* One record per decision (tpa/log.h: a level, a message, named fields),
 * for the program to write where it logs (tpa_log_write). */
typedef void (*tpa_service_log_fn)(void *ctx, const tpa_log_rec *rec);

typedef struct {
	uint32_t nonce_ttl_ms;        /* challenge and enrollment lifetime, default
				       * TPA_NONCE_DEFAULT_TTL_MS */
	size_t max_used;              /* challenges used up and not yet expired that
				       * the in-memory used set keeps (without a
				       * registry), default TPA_USED_DEFAULT_MAX */
	uint32_t token_ttl_s;         /* default TPA_TOKEN_DEFAULT_TTL_S, at most
				       * TPA_TOKEN_MAX_TTL_S */
	const char *verifier_id;      /* "iss" of tokens */
	tpa_token_key *key;           /* borrowed; signs the tokens */
	tpa_token_key *previous_key;  /* borrowed, or NULL: the key before a
				       * rotation, still in the JWKS */
	const tpa_token_keyset *keyset; /* borrowed, or NULL; if set, used
				       * instead of key and previous_key: its
				       * signer at each signing, its JWKS */
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
	/* Who may ask for a device's compliance: subject CNs of relying
	 * parties' client certificates, which must also name the clientAuth
	 * extended key usage. None: nobody. Borrowed. */
	const char *const *relying_parties;
	size_t nrelying_parties;
	/* Told of each device whose outcome a recorded verdict changes.
	 * Borrowed; called on the thread serving the Attest. */
	const tpa_notifier *notifiers;
	size_t nnotifiers;
	/* Who may enroll (tpa/admission.h): TPA_ADMISSION_OPEN (the default),
	 * APPROVE or ALLOWLIST (these two need a registry). Changed while
	 * serving with tpa_service_set_admission. */
	tpa_admission_mode admission;
	/* When a device that stops attesting stops being compliant
	 * (tpa/compliance.h): interval 0 is the default, each at most
	 * TPA_STALE_MAX_S. A token never outlives it: its lifetime is capped
	 * at interval + grace. */
	tpa_staleness staleness;
	/* The Secure Boot reference bundle (tpa/sbref.h), borrowed, or NULL;
	 * one whose data is older than sbref_max_age_s (0: no limit) makes
	 * tpa_service_ready's answer a warning. */
	const tpa_sbref *sbref;
	uint32_t sbref_max_age_s;
} tpa_service_opts;

int tpa_service_new(tpa_service **out, const tpa_service_opts *opts);
void tpa_service_free(tpa_service *s);
/* Registers GetChallenge and Attest on a server that has not started. */
int tpa_service_register(tpa_service *s, tpa_rpc_server *srv);
/* Replaces the signing key and the previous one (NULL: none), e.g. after
 * `verifier keys rotate` and SIGHUP. The service owns them from here; keys
 * replaced stay alive until the service ends (at most 64 replacements). */
int tpa_service_set_keys(tpa_service *s, tpa_token_key *current, tpa_token_key *previous);
/* Replaces the key set (after SIGHUP); the service owns it from here, and
 * sets replaced stay alive until the service ends (at most 64). */
int tpa_service_set_keyset(tpa_service *s, tpa_token_keyset *ks);

/* Replaces, while serving, the settings that can change without a restart
 * (SIGHUP): nonce_ttl_ms, token_ttl_s, staleness, baseline, sbref and its
 * maximum age, relying_parties (borrowed
 * from here: the caller frees the ones they replace once this returns) and
 * the EK CAs: ek_ca and anchors, loaded from it by the caller (owned by the
 * service from here; NULL without a registry). The rest of o is ignored.
 * It waits for the calls in flight, which finish with the old settings;
 * the calls after it use the new ones, all of them. Fails (nothing
 * changed) only on arguments that could not have come from a valid
 * configuration. */
int tpa_service_reload(tpa_service *s, const tpa_service_opts *o, tpa_ek_anchors *anchors);

/* Replaces the admission mode (e.g. after a configuration reload): the next
 * Activate decides by it. Approve and allowlist need the registry the
 * service was made with (TPA_ERR_INVALID_ARG). */
int tpa_service_set_admission(tpa_service *s, tpa_admission_mode mode);
/* The JWKS the GetVerificationKeys RPC serves (malloc'd). */
int tpa_service_jwks(char **out, tpa_service *s);
/* That JWKS's keys imported, to check tokens with (a reference: the caller
 * frees it with tpa_token_verifier_free). Both are built once a second at
 * most, and again when the keys change. */
int tpa_service_token_verifier(tpa_token_verifier **out, tpa_service *s);

/* The key that signs now (for what else the verifier signs: CAEP SETs).
 * Keys replaced stay alive until the service ends. Any thread. */
const tpa_token_key *tpa_service_signing_key(tpa_service *s);

/* The sealer, e.g. for a test clock. */
tpa_sealer *tpa_service_sealer(tpa_service *s);

/* What the service did, counted (for logs and metrics): nothing here is
 * written against a device. */
typedef struct {
	uint64_t challenges;          /* issued */
	uint64_t verdicts;            /* Attest answered with a verdict */
	uint64_t recorded;            /* ... recorded against a device */
	uint64_t unverified;          /* ... whose challenge or quote did not hold:
				       * never recorded */
	uint64_t refused;             /* Attest refused (malformed, unknown AK,
				       * revoked device, challenge used up) */
	uint64_t replays;             /* ... of those, a challenge used up already */
	uint64_t enrollments;         /* Enroll answered with a credential */
	uint64_t enroll_refused;
	uint64_t activations;         /* an AK registered */
	uint64_t activate_refused;
} tpa_service_stats;

void tpa_service_stats_get(tpa_service_stats *out, tpa_service *s);

/* The metrics in the Prometheus text exposition format 0.0.4 (malloc'd),
 * what GET /metrics serves; docs/metrics.md lists them. The registry's
 * gauges are computed here, with one list of the devices. */
int tpa_service_metrics_text(tpa_service *s, char **out);
/* The service's metrics, for the HTTP listener to count its requests in
 * (tpa_metrics_http_observe). Lives as long as the service. */
tpa_metrics *tpa_service_metrics(tpa_service *s);

/* The handlers, callable in process (ctx is the tpa_service). */
void tpa_service_get_challenge(tpa_rpc_reply *r, const uint8_t *req, size_t len,
			       void *ctx);
void tpa_service_attest(tpa_rpc_reply *r, const uint8_t *req, size_t len,
			void *ctx);
void tpa_service_enroll(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx);
void tpa_service_activate(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx);
void tpa_service_get_keys(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx);
/* Whether the service can answer (the HTTP face's /readyz, the gRPC health
 * service): the token keys are loaded and, with a registry, the registry
 * answers a cheap read and the EK anchors are loaded. 1 ready, 0 not (why
 * says what, without a server path), never an error. Ready, why is
 * "ready", or a warning that starts "warning: " (a Secure Boot reference
 * bundle older than its maximum age). */
int tpa_service_ready(tpa_service *s, char *why, size_t cap);
/* Whether a client certificate with subject CN cn (cn_exact: read whole and
 * unaltered) and, client_auth, the clientAuth EKU is an allowed relying
 * party (the GetDeviceCompliance rule): 1 yes, 0 no (why says which). */
int tpa_service_relying_party(tpa_service *s, const char *cn, int cn_exact, int client_auth,
			      char *why, size_t cap);
/* The registry the service was made with, or NULL. */
/* The staleness settings in force (a copy: a SIGHUP may replace them). */
void tpa_service_staleness(tpa_service *s, tpa_staleness *out);
tpa_store *tpa_service_store(tpa_service *s);
/* Logs a record as the service logs its decisions. */
void tpa_service_log(tpa_service *s, const tpa_log_rec *rec);

/* grpc.health.v1.Health/Check (tpa_service_ready's answer). */
#define TPA_RPC_HEALTH_CHECK "/grpc.health.v1.Health/Check"
void tpa_service_health_check(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx);
/* Needs r->peer_authenticated (a client certificate the server verified). */
void tpa_service_compliance(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx);

#endif
