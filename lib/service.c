/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's handlers: each unpacks a request, calls the library (seal,
 * quote, identity, store, verdict) and packs the answer. No rule is decided
 * here: the verdict is lib/verdict.c's. Nothing a caller sends before it
 * proves something holds server state: challenges and enrollments are
 * sealed (lib/seal.c), and only what a verified quote or a released
 * credential vouches for is written to the registry. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "attest/v1/attest.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "tpa/admission.h"
#include "tpa/bootstate.h"
#include "tpa/compliance.h"
#include "tpa/err.h"
#include "tpa/eventlog.h"
#include "tpa/evidence.h"
#include "tpa/identity.h"
#include "tpa/keybind.h"
#include "tpa/metrics.h"
#include "tpa/quote.h"
#include "pbarena.h"
#include "tpa/service.h"
#include "tpa/tpm_decode.h"
#include "tpa/verdict.h"
#include "tpa/version.h"

#define INTERMEDIATES_MAX TPA_ENROLL_INTERMEDIATES_MAX
#define BASELINE_CACHE_MAX 256
#define KEYS_OWNED_MAX 64      /* key reloads kept alive until the service ends */
#define QUIET_LOG_MS 1000      /* at most one line a second about strangers */
/* A sealed enrollment's flag (beside TPA_ENROLLMENT_REPLACE_AKS): the EK
 * certificate Enroll was sent came from a file, not the TPM's NV. Kept for
 * the registry (ActivateRequest does not repeat the source); never a
 * decision's input. */
#define ENROLLMENT_EK_CERT_FILE 0x100u

struct tpa_service {
	tpa_sealer *sealer;
	tpa_used_set *used;          /* challenges used up, without a registry */
	tpa_service_opts opts;
	char *verifier_id;
	char *ek_ca;
	tpa_ek_anchors *anchors;     /* --ek-ca, loaded at start and by a reload */
	pthread_mutex_t lock;        /* the baselines, the keys, the quiet log */
	/* The settings a reload replaces (tpa_service_reload): every RPC runs
	 * under its read side, a reload under its write side, so a call reads
	 * one set of them from start to end and nothing it uses is freed
	 * under it. */
	pthread_rwlock_t live;
	const tpa_token_key *key;    /* signs tokens now */
	const tpa_token_key *previous; /* published in the JWKS during a rotation */
	tpa_token_key *owned[KEYS_OWNED_MAX]; /* given by tpa_service_set_keys */
	size_t nowned;
	/* With a key set, the keys come from it, read at each use: a next
	 * key signs once its time comes, without a reload. */
	const tpa_token_keyset *keyset;
	tpa_token_keyset *owned_sets[KEYS_OWNED_MAX]; /* tpa_service_set_keyset */
	size_t nsets;
	/* The JWKS as published this second and its keys imported (for
	 * /v1/authz): rebuilt when the keys or the second change, since the
	 * key set's states are a function of the time. */
	pthread_mutex_t pub_lock;
	char *pub_jwks;
	tpa_token_verifier *pub_tv;
	const void *pub_key, *pub_prev, *pub_ks;
	int64_t pub_at;
	/* Registry baselines, parsed once per name and version (versions are
	 * append-only, so an entry never goes stale). */
	struct {
		char name[TPA_BASELINE_NAME_MAX + 1];
		int version;
		tpa_baseline *b;
	} baselines[BASELINE_CACHE_MAX];
	size_t nbaselines;
	uint64_t quiet_until;        /* the quiet log's next line, ms */
	unsigned long quiet_dropped;
	atomic_int admission;        /* tpa_admission_mode: tpa_service_set_admission */
	atomic_int registry_down;    /* the readiness check's last answer: said when it changes */
	struct {
		atomic_ullong challenges, verdicts, recorded, unverified, refused, replays,
			enrollments, enroll_refused, activations, activate_refused;
	} n;
	/* Metrics: what n does not count already; n's counts are copied in
	 * at each scrape (tpa_service_metrics_text). */
	tpa_metrics *metrics;
	tpa_metric *m_attest, *m_failed, *m_rpc, *m_rpc_s, *m_chal, *m_enroll, *m_devices,
		*m_store_s, *m_key, *m_key_age, *m_build, *m_sb;
	/* The Secure Boot answers of each device's last token, as the last
	 * scrape read them (by id, the registry's order): a token is read again
	 * only when the device's last attestation changed. */
	pthread_mutex_t sb_lock;
	struct sb_seen {
		char id[TPA_DEVICE_ID_LEN + 1];
		int64_t at, exp;
		int has;
		tpa_sb_answer a[TPA_SBC_COUNT];
	} *sb_seen;
	size_t nsb_seen;
};

static int metrics_init(tpa_service *s);
static void metrics_verdict(tpa_service *s, const tpa_verdict *v, int quote_ok);

/* The staleness settings within their bounds (what names them). */
static int staleness_ok(const tpa_staleness *p, const char *what)
{
	if (p->interval_s > TPA_STALE_MAX_S || p->grace_s > TPA_STALE_MAX_S)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "%s: attest interval %u s or stale grace "
				    "%u s is above the maximum of %d s", what,
				    (unsigned)p->interval_s, (unsigned)p->grace_s, TPA_STALE_MAX_S);
	return 0;
}

int tpa_service_new(tpa_service **out, const tpa_service_opts *o)
{
	uint8_t key[TPA_SEAL_KEY_LEN];
	tpa_service *s;
	int err;

	if (!out || !o || (!o->key && !o->keyset))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "service: a token key is required");
	if ((o->store != NULL) != (o->ek_ca != NULL))
		return tpa_err_fail(TPA_ERR_INVALID_ARG,
				    "service: a registry needs trusted EK CAs, and the other way round");
	if (o->admission != TPA_ADMISSION_OPEN && o->admission != TPA_ADMISSION_APPROVE &&
	    o->admission != TPA_ADMISSION_ALLOWLIST)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "service: unknown admission mode");
	if (o->admission != TPA_ADMISSION_OPEN && !o->store)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "service: %s admission needs a registry",
				    tpa_admission_mode_name(o->admission));
	if (o->token_ttl_s > TPA_TOKEN_MAX_TTL_S)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "service: token lifetime %u s is above "
				    "the maximum of %d s", (unsigned)o->token_ttl_s,
				    TPA_TOKEN_MAX_TTL_S);
	if ((err = staleness_ok(&o->staleness, "service")) < 0)
		return err;
	if (!(s = calloc(1, sizeof(*s))))
		return tpa_err_fail(TPA_ERR_NOMEM, "service: out of memory");
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->sb_lock, NULL);
	pthread_mutex_init(&s->pub_lock, NULL);
	{
		pthread_rwlockattr_t a;

		/* A reload waits for the calls in flight, not for every call
		 * that comes after it. */
		pthread_rwlockattr_init(&a);
		pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		pthread_rwlock_init(&s->live, &a);
		pthread_rwlockattr_destroy(&a);
	}
	s->opts = *o;
	atomic_store(&s->admission, (int)o->admission);
	if (!s->opts.nonce_ttl_ms)
		s->opts.nonce_ttl_ms = TPA_NONCE_DEFAULT_TTL_MS;
	if (!s->opts.max_used)
		s->opts.max_used = TPA_USED_DEFAULT_MAX;
	if (!s->opts.token_ttl_s)
		s->opts.token_ttl_s = TPA_TOKEN_DEFAULT_TTL_S;
	if (!(s->verifier_id = strdup(o->verifier_id ? o->verifier_id : "tpm-attest")) ||
	    (o->ek_ca && !(s->ek_ca = strdup(o->ek_ca)))) {
		err = tpa_err_fail(TPA_ERR_NOMEM, "service: out of memory");
		goto fail;
	}
	s->opts.verifier_id = s->verifier_id;
	s->opts.ek_ca = s->ek_ca;
	/* The EK CAs once, at start: a missing or empty --ek-ca is an error
	 * now, not an enrollment refused later; and no request reads them. */
	if (s->ek_ca && (err = tpa_ek_anchors_load(&s->anchors, s->ek_ca)) < 0)
		goto fail;
	s->key = o->key;
	s->previous = o->previous_key;
	s->keyset = o->keyset;
	/* The sealing key: the registry's, so that sealed ids hold across
	 * restarts and verifiers sharing it; else one held in memory. */
	if (o->store && (err = tpa_store_seal_key(key, o->store)) < 0)
		goto fail;
	err = tpa_sealer_new(&s->sealer, o->store ? key : NULL);
	OPENSSL_cleanse(key, sizeof(key));
	if (err < 0 || (!o->store && (err = tpa_used_set_new(&s->used, s->opts.max_used)) < 0) ||
	    (err = metrics_init(s)) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	tpa_service_free(s);
	return err;
}

void tpa_service_free(tpa_service *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nbaselines; i++)
		tpa_baseline_free(s->baselines[i].b);
	for (i = 0; i < s->nowned; i++)
		tpa_token_key_free(s->owned[i]);
	for (i = 0; i < s->nsets; i++)
		tpa_token_keyset_free(s->owned_sets[i]);
	free(s->pub_jwks);
	tpa_token_verifier_free(s->pub_tv);
	pthread_mutex_destroy(&s->pub_lock);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->sb_lock);
	free(s->sb_seen);
	pthread_rwlock_destroy(&s->live);
	tpa_sealer_free(s->sealer);
	tpa_used_set_free(s->used);
	free(s->ek_ca);
	tpa_ek_anchors_free(s->anchors);
	free(s->verifier_id);
	tpa_metrics_free(s->metrics);
	free(s);
}

int tpa_service_set_keys(tpa_service *s, tpa_token_key *current, tpa_token_key *previous)
{
	int err = 0;

	if (!s || !current)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "service keys: no current key");
	pthread_mutex_lock(&s->lock);
	if (s->nowned + 2 > KEYS_OWNED_MAX) {
		err = tpa_err_fail(TPA_ERR_LIMIT, "service keys: more than %d reloads",
				   KEYS_OWNED_MAX / 2);
	} else {
		s->owned[s->nowned++] = current;
		if (previous)
			s->owned[s->nowned++] = previous;
		s->key = current;
		s->previous = previous;
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

int tpa_service_set_keyset(tpa_service *s, tpa_token_keyset *ks)
{
	int err = 0;

	if (!s || !ks)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "service keys: no key set");
	pthread_mutex_lock(&s->lock);
	if (s->nsets >= KEYS_OWNED_MAX) {
		err = tpa_err_fail(TPA_ERR_LIMIT, "service keys: more than %d reloads",
				   KEYS_OWNED_MAX);
	} else {
		s->owned_sets[s->nsets++] = ks;
		s->keyset = ks;
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

int tpa_service_set_admission(tpa_service *s, tpa_admission_mode mode)
{
	if (!s || (mode != TPA_ADMISSION_OPEN && mode != TPA_ADMISSION_APPROVE &&
		   mode != TPA_ADMISSION_ALLOWLIST))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "service admission: unknown mode");
	if (mode != TPA_ADMISSION_OPEN && !s->opts.store)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "service: %s admission needs a registry",
				    tpa_admission_mode_name(mode));
	atomic_store(&s->admission, (int)mode);
	return 0;
}

/* The published JWKS and its verifier, current for now; under pub_lock. */
static int published(tpa_service *s, int64_t now)
{
	const tpa_token_key *keys[2];
	const tpa_token_keyset *ks;
	tpa_token_verifier *tv = NULL;
	char *jwks = NULL;
	int err;

	pthread_mutex_lock(&s->lock);
	keys[0] = s->key;
	keys[1] = s->previous;
	ks = s->keyset;
	pthread_mutex_unlock(&s->lock);
	if (s->pub_jwks && s->pub_at == now && s->pub_ks == ks && s->pub_key == keys[0] &&
	    s->pub_prev == keys[1])
		return 0;
	if ((err = ks ? tpa_token_keyset_jwks(&jwks, ks, now) : tpa_token_jwks(&jwks, keys, 2)) < 0)
		return err;
	if (s->pub_jwks && strcmp(jwks, s->pub_jwks) == 0) {
		free(jwks);
		goto same;
	}
	if ((err = tpa_token_verifier_new(&tv, jwks)) < 0) {
		free(jwks);
		return err;
	}
	/* The same keys (the JWKS changed its refresh time): the verifier
	 * kept, with the claims it has read. */
	if (tpa_token_verifier_same_keys(tv, s->pub_tv)) {
		tpa_token_verifier_free(tv);
		tv = tpa_token_verifier_ref(s->pub_tv);
	}
	free(s->pub_jwks);
	tpa_token_verifier_free(s->pub_tv);
	s->pub_jwks = jwks;
	s->pub_tv = tv;
same:
	s->pub_at = now;
	s->pub_ks = ks;
	s->pub_key = keys[0];
	s->pub_prev = keys[1];
	return 0;
}

int tpa_service_jwks(char **out, tpa_service *s)
{
	int err;

	if (!out || !s)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "service JWKS: NULL");
	*out = NULL;
	pthread_mutex_lock(&s->pub_lock);
	if ((err = published(s, (int64_t)time(NULL))) == 0 && !(*out = strdup(s->pub_jwks)))
		err = tpa_err_fail(TPA_ERR_NOMEM, "service JWKS: out of memory");
	pthread_mutex_unlock(&s->pub_lock);
	return err;
}

int tpa_service_token_verifier(tpa_token_verifier **out, tpa_service *s)
{
	int err;

	if (!out || !s)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "service token verifier: NULL");
	*out = NULL;
	pthread_mutex_lock(&s->pub_lock);
	if ((err = published(s, (int64_t)time(NULL))) == 0)
		*out = tpa_token_verifier_ref(s->pub_tv);
	pthread_mutex_unlock(&s->pub_lock);
	return err;
}

tpa_sealer *tpa_service_sealer(tpa_service *s)
{
	return s ? s->sealer : NULL;
}

void tpa_service_stats_get(tpa_service_stats *o, tpa_service *s)
{
	o->challenges = atomic_load(&s->n.challenges);
	o->verdicts = atomic_load(&s->n.verdicts);
	o->recorded = atomic_load(&s->n.recorded);
	o->unverified = atomic_load(&s->n.unverified);
	o->refused = atomic_load(&s->n.refused);
	o->replays = atomic_load(&s->n.replays);
	o->enrollments = atomic_load(&s->n.enrollments);
	o->enroll_refused = atomic_load(&s->n.enroll_refused);
	o->activations = atomic_load(&s->n.activations);
	o->activate_refused = atomic_load(&s->n.activate_refused);
}

int tpa_service_reload(tpa_service *s, const tpa_service_opts *o, tpa_ek_anchors *anchors)
{
	tpa_ek_anchors *old_anchors;
	char *ek_ca = NULL;

	if (!s || !o)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "service reload: NULL");
	if (staleness_ok(&o->staleness, "service reload") < 0)
		return TPA_ERR_INVALID_ARG;
	if ((s->opts.store != NULL) != (anchors != NULL) || (anchors && !o->ek_ca))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "service reload: a registry needs "
				    "trusted EK CAs, and the other way round");
	if (o->token_ttl_s > TPA_TOKEN_MAX_TTL_S)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "service reload: token lifetime %u s is "
				    "above the maximum of %d s", (unsigned)o->token_ttl_s,
				    TPA_TOKEN_MAX_TTL_S);
	if (o->ek_ca && !(ek_ca = strdup(o->ek_ca)))
		return tpa_err_fail(TPA_ERR_NOMEM, "service reload: out of memory");
	pthread_rwlock_wrlock(&s->live);
	/* One line per setting that can change while serving. */
	s->opts.nonce_ttl_ms = o->nonce_ttl_ms ? o->nonce_ttl_ms : TPA_NONCE_DEFAULT_TTL_MS;
	s->opts.token_ttl_s = o->token_ttl_s ? o->token_ttl_s : TPA_TOKEN_DEFAULT_TTL_S;
	s->opts.staleness = o->staleness;
	s->opts.baseline = o->baseline;
	s->opts.sbref = o->sbref;
	s->opts.sbref_max_age_s = o->sbref_max_age_s;
	s->opts.relying_parties = o->relying_parties;
	s->opts.nrelying_parties = o->nrelying_parties;
	old_anchors = s->anchors;
	s->anchors = anchors;
	free(s->ek_ca);
	s->ek_ca = ek_ca;
	s->opts.ek_ca = ek_ca;
	pthread_rwlock_unlock(&s->live);
	tpa_ek_anchors_free(old_anchors);
	return 0;
}

static double mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Counts a call by method and status and times it, the wait for a reload
 * included: what the caller waited. */
static void rpc_observe(tpa_service *s, const char *method, int status, double t0)
{
	tpa_metric_add(s->m_rpc, (const char *const[]){ method, tpa_rpc_status_name(status) }, 1);
	tpa_metric_observe(s->m_rpc_s, (const char *const[]){ method }, mono_s() - t0);
}

/* A registry call's time, by the kind of operation. */
static void store_observe(tpa_service *s, const char *op, double t0)
{
	tpa_metric_observe(s->m_store_s, (const char *const[]){ op }, mono_s() - t0);
}

/* The handlers as the server calls them: under the settings' read lock. */
#define LIVE(name, method) \
	static void live_##name(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx) \
	{ \
		tpa_service *s = ctx; \
		double t0 = mono_s(); \
		pthread_rwlock_rdlock(&s->live); \
		tpa_service_##name(r, req, len, ctx); \
		pthread_rwlock_unlock(&s->live); \
		rpc_observe(s, method, r->status, t0); \
	}
LIVE(get_challenge, "GetChallenge")
LIVE(attest, "Attest")
LIVE(get_keys, "GetVerificationKeys")
LIVE(enroll, "Enroll")
LIVE(activate, "Activate")
LIVE(compliance, "GetDeviceCompliance")
LIVE(health_check, "Check")
#undef LIVE

int tpa_service_register(tpa_service *s, tpa_rpc_server *srv)
{
	int err;

	if ((err = tpa_rpc_server_add_method(srv, TPA_RPC_GET_CHALLENGE,
					     live_get_challenge, s)) < 0 ||
	    (err = tpa_rpc_server_add_writing_method(srv, TPA_RPC_ATTEST, live_attest, s)) < 0)
		return err;
	if ((err = tpa_rpc_server_add_method(srv, TPA_RPC_HEALTH_CHECK, live_health_check, s)) < 0)
		return err;
	if ((err = tpa_rpc_server_add_method(srv, TPA_RPC_GET_KEYS, live_get_keys, s)) < 0)
		return err;
	if (s->opts.store &&
	    ((err = tpa_rpc_server_add_writing_method(srv, TPA_RPC_ENROLL, live_enroll, s)) < 0 ||
	     (err = tpa_rpc_server_add_writing_method(srv, TPA_RPC_ACTIVATE, live_activate, s)) < 0 ||
	     (err = tpa_rpc_server_add_method(srv, TPA_RPC_COMPLIANCE, live_compliance,
					      s)) < 0))
		return err;
	return 0;
}

/* ---- metrics ---- */

static const double rpc_buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
				       0.5, 1, 2.5, 5, 10 };
static const double store_buckets[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
					 0.025, 0.05, 0.1, 0.25, 1 };
static const char *const outcomes[] = { "compliant", "warning", "non-compliant",
					 "no-baseline", "refused" };
static const char *const enroll_results[] = { "enrolled", "enroll-refused", "activated",
					       "activate-refused" };
static const char *const dev_states[] = { "active", "pending", "revoked", "stale",
					   "compliant" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int metrics_init(tpa_service *s)
{
	static const char *const l_outcome[] = { "outcome", NULL };
	static const char *const l_check[] = { "check", NULL };
	static const char *const l_rpc[] = { "method", "code", NULL };
	static const char *const l_method[] = { "method", NULL };
	static const char *const l_result[] = { "result", NULL };
	static const char *const l_state[] = { "state", NULL };
	static const char *const l_sb[] = { "claim", "answer", NULL };
	static const char *const l_op[] = { "operation", NULL };
	static const char *const l_kid[] = { "kid", NULL };
	static const char *const l_version[] = { "version", NULL };
	tpa_metrics *m;
	size_t i;
	int err;

	if ((err = tpa_metrics_new(&s->metrics)) < 0)
		return err;
	m = s->metrics;
	if ((err = tpa_metrics_add(&s->m_attest, m, TPA_METRIC_COUNTER, "tpa_attestations_total",
				   "Attest calls by outcome: the verdict's, or refused without one.",
				   l_outcome, NULL, 0)) < 0 ||
	    (err = tpa_metrics_add(&s->m_failed, m, TPA_METRIC_COUNTER,
				   "tpa_attestation_failed_checks_total",
				   "Checks and baseline rules that failed in non-compliant verdicts.",
				   l_check, NULL, 0)) < 0 ||
	    (err = tpa_metrics_add(&s->m_rpc, m, TPA_METRIC_COUNTER, "tpa_rpc_requests_total",
				   "gRPC calls answered, by method and status code.", l_rpc, NULL,
				   0)) < 0 ||
	    (err = tpa_metrics_add(&s->m_rpc_s, m, TPA_METRIC_HISTOGRAM,
				   "tpa_rpc_request_duration_seconds",
				   "Time to answer a gRPC call, by method.", l_method, rpc_buckets,
				   NELEM(rpc_buckets))) < 0 ||
	    (err = tpa_metrics_add(&s->m_chal, m, TPA_METRIC_COUNTER, "tpa_challenges_issued_total",
				   "Challenges issued by GetChallenge.", NULL, NULL, 0)) < 0 ||
	    (err = tpa_metrics_add(&s->m_enroll, m, TPA_METRIC_COUNTER, "tpa_enrollments_total",
				   "Enroll and Activate calls by result.", l_result, NULL, 0)) < 0 ||
	    (err = tpa_metrics_add(&s->m_devices, m, TPA_METRIC_GAUGE, "tpa_devices",
				   "Devices in the registry by state (compliant: active, with a "
				   "compliant last verdict).", l_state, NULL, 0)) < 0 ||
	    (err = tpa_metrics_add(&s->m_store_s, m, TPA_METRIC_HISTOGRAM,
				   "tpa_registry_operation_duration_seconds",
				   "Time of a registry call, by operation.", l_op, store_buckets,
				   NELEM(store_buckets))) < 0 ||
	    (err = tpa_metrics_add(&s->m_key, m, TPA_METRIC_GAUGE, "tpa_token_signing_key_info",
				   "The key that signs tokens now, by key id (always 1).", l_kid,
				   NULL, 0)) < 0 ||
	    (err = tpa_metrics_add(&s->m_key_age, m, TPA_METRIC_GAUGE,
				   "tpa_token_signing_key_age_seconds",
				   "Age of the key that signs tokens now (with a key set).", NULL,
				   NULL, 0)) < 0 ||
	    (err = tpa_metrics_add(&s->m_build, m, TPA_METRIC_GAUGE, "tpa_build_info",
				   "The verifier's version (always 1).", l_version, NULL, 0)) < 0 ||
	    (err = tpa_metrics_add(&s->m_sb, m, TPA_METRIC_GAUGE, "tpa_devices_secureboot",
				   "Active devices by the Secure Boot hygiene their last token "
				   "says (with --secureboot-ref), by claim and answer.", l_sb, NULL,
				   0)) < 0)
		return err;
	for (i = 0; i < TPA_SBC_COUNT; i++) {
		tpa_metric_set(s->m_sb, (const char *const[]){ tpa_sb_claim_names[i], "yes" }, 0);
		tpa_metric_set(s->m_sb, (const char *const[]){ tpa_sb_claim_names[i], "no" }, 0);
		tpa_metric_set(s->m_sb, (const char *const[]){ tpa_sb_claim_names[i], "unknown" },
			       0);
	}
	/* Every series of a fixed set from the start: a rate over a series
	 * that appears only at its first event misses that event. */
	for (i = 0; i < NELEM(outcomes); i++)
		tpa_metric_add(s->m_attest, &outcomes[i], 0);
	tpa_metric_set(s->m_build, (const char *const[]){ TPA_VERSION }, 1);
	return 0;
}

/* A verdict answered: its outcome, and what failed in a verdict that
 * failed (a stranger's evidence too: its quote is what failed). */
static void metrics_verdict(tpa_service *s, const tpa_verdict *v, int quote_ok)
{
	const char *o;
	size_t i;

	o = !quote_ok || v->outcome == TPA_OUTCOME_NOT_APPRAISED ? "non-compliant"
								   : tpa_outcome_name(v->outcome);
	tpa_metric_add(s->m_attest, &o, 1);
	if (quote_ok && v->status != TPA_STATUS_NON_COMPLIANT)
		return;
	for (i = 0; i < v->checks.n; i++)
		if (!v->checks.items[i].passed) {
			o = v->checks.items[i].name;
			tpa_metric_add(s->m_failed, &o, 1);
		}
	for (i = 0; v->appraised && i < TPA_RULE_COUNT; i++)
		if (v->appraisal.rules[i].status == TPA_RULE_FAIL) {
			o = tpa_rule_name(v->appraisal.rules[i].rule);
			tpa_metric_add(s->m_failed, &o, 1);
		}
}

/* tpa_devices_secureboot from the devices (sorted by id): what each one's
 * last token said, read again only for a device that attested since. */
static void metrics_secureboot(tpa_service *s, const tpa_device *d, size_t nd)
{
	static const char *const answer[3] = { "unknown", "yes", "no" };
	double count[TPA_SBC_COUNT][3] = { { 0 } };
	struct sb_seen *next;
	size_t i, k = 0, c;

	if (!(next = calloc(nd ? nd : 1, sizeof(*next))))
		return;
	pthread_mutex_lock(&s->sb_lock);
	for (i = 0; i < nd; i++) {
		struct sb_seen *n = &next[i];

		while (k < s->nsb_seen && strcmp(s->sb_seen[k].id, d[i].id) < 0)
			k++;
		if (k < s->nsb_seen && strcmp(s->sb_seen[k].id, d[i].id) == 0 &&
		    s->sb_seen[k].at == d[i].last_attest_at &&
		    s->sb_seen[k].exp == d[i].last_token_exp) {
			*n = s->sb_seen[k];
		} else {
			char *tok = NULL;
			tpa_device again;

			snprintf(n->id, sizeof(n->id), "%s", d[i].id);
			n->at = d[i].last_attest_at;
			n->exp = d[i].last_token_exp;
			n->has = d[i].last_token_exp &&
				 tpa_store_last_token(&tok, &again, s->opts.store, d[i].id) == 0 &&
				 tok && tpa_token_secureboot(n->a, tok) == 1;
			free(tok);
		}
		for (c = 0; n->has && d[i].state == TPA_DEVICE_ACTIVE && c < TPA_SBC_COUNT; c++)
			count[c][n->a[c]]++;
	}
	free(s->sb_seen);
	s->sb_seen = next;
	s->nsb_seen = nd;
	pthread_mutex_unlock(&s->sb_lock);
	for (c = 0; c < TPA_SBC_COUNT; c++)
		for (i = 0; i < 3; i++)
			tpa_metric_set(s->m_sb, (const char *const[]){ tpa_sb_claim_names[c],
								 answer[i] }, count[c][i]);
}

/* The gauges of the registry: one list of the devices, so a scrape costs
 * one query however often it comes. */
static void metrics_devices(tpa_service *s)
{
	double n[NELEM(dev_states)] = { 0 };
	tpa_device *d = NULL;
	size_t i, nd = 0;
	double t0;
	int err;

	if (!s->opts.store)
		return;
	t0 = mono_s();
	err = tpa_store_list(&d, &nd, s->opts.store);
	store_observe(s, "list", t0);
	if (err < 0)
		return;       /* the last scrape's values stay; /readyz tells */
	for (i = 0; i < nd; i++) {
		int stale = d[i].last_attest_at &&
			    tpa_device_stale(&d[i], (int64_t)time(NULL), &s->opts.staleness);

		if (d[i].state == TPA_DEVICE_ACTIVE)
			n[0]++;
		else if (d[i].state == TPA_DEVICE_PENDING)
			n[1]++;
		else if (d[i].state == TPA_DEVICE_REVOKED)
			n[2]++;
		n[3] += stale;
		/* Compliant as the answer is: active, a compliant verdict, not overdue. */
		if (d[i].state == TPA_DEVICE_ACTIVE && !stale &&
		    strcmp(d[i].last_verdict, "compliant") == 0)
			n[4]++;
	}
	if (s->opts.sbref)
		metrics_secureboot(s, d, nd);
	free(d);
	for (i = 0; i < NELEM(dev_states); i++)
		tpa_metric_set(s->m_devices, &dev_states[i], n[i]);
}

static void metrics_key(tpa_service *s)
{
	const tpa_token_key *k;
	tpa_token_keyinfo ki;
	int64_t now = (int64_t)time(NULL);
	const char *kid;
	size_t i;

	pthread_mutex_lock(&s->lock);
	k = s->keyset ? tpa_token_keyset_signer(s->keyset, now) : s->key;
	kid = k ? tpa_token_key_id(k) : NULL;
	/* Only the key signing now: a rotation replaces the series. */
	if (kid)
		tpa_metric_replace(s->m_key, &kid, 1);
	else
		tpa_metric_clear(s->m_key);
	for (i = 0; kid && s->keyset && i < tpa_token_keyset_count(s->keyset); i++)
		if (tpa_token_keyset_info(&ki, s->keyset, i, now) == 0 &&
		    strcmp(ki.kid, kid) == 0 && ki.created_at > 0)
			break;
	if (kid && s->keyset && i < tpa_token_keyset_count(s->keyset))
		tpa_metric_set(s->m_key_age, NULL, (double)(now - ki.created_at));
	else
		tpa_metric_clear(s->m_key_age);
	pthread_mutex_unlock(&s->lock);
}

int tpa_service_metrics_text(tpa_service *s, char **out)
{
	static const char *const refused = "refused";
	tpa_service_stats st;
	int err;

	if (!out)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "service: no output");
	*out = NULL;
	if (!s)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "service: none");
	/* The counts s->n keeps already, copied rather than counted twice. */
	tpa_service_stats_get(&st, s);
	tpa_metric_set(s->m_attest, &refused, (double)st.refused);
	tpa_metric_set(s->m_chal, NULL, (double)st.challenges);
	tpa_metric_set(s->m_enroll, &enroll_results[0], (double)st.enrollments);
	tpa_metric_set(s->m_enroll, &enroll_results[1], (double)st.enroll_refused);
	tpa_metric_set(s->m_enroll, &enroll_results[2], (double)st.activations);
	tpa_metric_set(s->m_enroll, &enroll_results[3], (double)st.activate_refused);
	pthread_rwlock_rdlock(&s->live);    /* the store and keys stay put */
	metrics_devices(s);
	metrics_key(s);
	pthread_rwlock_unlock(&s->live);
	if ((err = tpa_metrics_text(out, s->metrics)) < 0)
		return err;
	return 0;
}

tpa_metrics *tpa_service_metrics(tpa_service *s)
{
	return s ? s->metrics : NULL;
}

/* A record to the program's log (opts.log), if it has one. */
static void say(tpa_service *s, const tpa_log_rec *rec)
{
	if (s->opts.log)
		s->opts.log(s->opts.log_ctx, rec);
}

/* How a record names a device: as every `verifier devices` verb accepts
 * it, by the 16-digit prefix of its id, with the host name it reported
 * (not attested: for a person reading the log) when one is known;
 * host_claimed when only an unproven request says it. */
typedef struct {
	char id[17];
	char host[TPA_HOSTNAME_MAX + 1];
	int claimed;
} dev_ref;

static void dev_set(dev_ref *d, const char *id, const char *hostname, int claimed)
{
	snprintf(d->id, sizeof(d->id), "%.16s", id ? id : "");
	snprintf(d->host, sizeof(d->host), "%s", hostname ? hostname : "");
	d->claimed = claimed;
}

static void dev_fields(tpa_log_rec *rec, const dev_ref *d)
{
	if (d->id[0])
		tpa_log_str(rec, "device", d->id);
	if (d->host[0])
		tpa_log_str(rec, d->claimed ? "host_claimed" : "host", d->host);
}

static void notify_failed(void *ctx, const char *name, const char *why)
{
	tpa_log_rec rec;

	tpa_log_rec_init(&rec, TPA_LOG_WARNING, "notify failed");
	tpa_log_str(&rec, "notifier", name);
	tpa_log_str(&rec, "error", why);
	say(ctx, &rec);
}

/* A record about a caller that proved nothing: at most one a second, so
 * that a stranger cannot flood the log; the next one says how many were
 * not written (dropped=N). */
static void quiet_say(tpa_service *s, tpa_log_rec *rec)
{
	uint64_t now = tpa_sealer_now(s->sealer);
	unsigned long dropped;

	if (!s->opts.log)
		return;
	pthread_mutex_lock(&s->lock);
	if (now < s->quiet_until) {
		s->quiet_dropped++;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	s->quiet_until = now + QUIET_LOG_MS;
	dropped = s->quiet_dropped;
	s->quiet_dropped = 0;
	pthread_mutex_unlock(&s->lock);
	if (dropped)
		tpa_log_uint(rec, "dropped", dropped);
	say(s, rec);
}

/* "<what> refused" with the device (if known) and the reason a client is
 * told; quiet for a caller that proved nothing. */
static void say_refused(tpa_service *s, int quiet, const char *what, const dev_ref *d,
			const char *ak, const char *reason)
{
	tpa_log_rec rec;

	tpa_log_rec_initf(&rec, TPA_LOG_WARNING, "%s refused", what);
	if (d)
		dev_fields(&rec, d);
	if (ak && ak[0])
		tpa_log_strf(&rec, "ak", "%.16s", ak);
	tpa_log_str(&rec, "reason", reason);
	if (quiet)
		quiet_say(s, &rec);
	else
		say(s, &rec);
}

/* An internal failure (the registry, admission): an error of the verifier,
 * not of the caller. */
static void say_error(tpa_service *s, const char *msg, const dev_ref *d, const char *why)
{
	tpa_log_rec rec;

	tpa_log_rec_init(&rec, TPA_LOG_ERR, msg);
	if (d)
		dev_fields(&rec, d);
	tpa_log_str(&rec, "error", why);
	say(s, &rec);
}

/* The status a registry failure is answered with: a registry that did not
 * answer (a database server down or unreachable) is UNAVAILABLE, which an
 * agent retries, perhaps at another replica; anything else is INTERNAL. */
static int store_status(int err)
{
	return err == TPA_ERR_UNAVAILABLE ? TPA_RPC_UNAVAILABLE : TPA_RPC_INTERNAL;
}

static void refuse(tpa_rpc_reply *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void refuse(tpa_rpc_reply *r, int status, const char *fmt, ...)
{
	va_list ap;

	r->status = status;
	va_start(ap, fmt);
	vsnprintf(r->details, sizeof(r->details), fmt, ap);
	va_end(ap);
}

/* Decodes a request into a bounded arena (pbarena.h): a request may cost
 * TPA_SERVICE_DECODE_FACTOR times its size and a little more, not the ~50
 * times a crafted one costs protobuf-c's own allocator. NULL (and r says
 * why) if it is malformed or would cost more; else pbarena__release frees. */
static void *unpack(tpa_rpc_reply *r, pbarena *a, const ProtobufCMessageDescriptor *d,
		    const uint8_t *req, size_t len, const char *what)
{
	ProtobufCMessage *m;

	pbarena__init(a, len * TPA_SERVICE_DECODE_FACTOR + TPA_SERVICE_DECODE_SLACK);
	if ((m = protobuf_c_message_unpack(d, &a->alloc, len, req)))
		return m;
	if (a->exceeded)
		refuse(r, TPA_RPC_RESOURCE_EXHAUSTED, "%s of %zu bytes would take more than "
		       "%zu bytes to decode", what, len, a->budget);
	else
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "malformed %s protobuf", what);
	pbarena__release(a);
	return NULL;
}

static void reply_msg(tpa_rpc_reply *r, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);

	if (!(r->data = malloc(n ? n : 1))) {
		refuse(r, TPA_RPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	r->len = protobuf_c_message_pack(m, r->data);
	r->status = TPA_RPC_OK;
}


/* What a request says names its host, checked by the validator the client
 * uses (tpa/hostinfo.h): 0, or an INVALID_ARGUMENT refusal naming the
 * field ("host.hostname: byte 3 is not printable (0x07)"). Reported, never
 * attested: kept only by the callers that proved a TPM. */
static int host_of(tpa_rpc_reply *r, tpa_host_info *out, const Attest__V1__HostInfo *h)
{
	const char *v[TPA_HOST_NFIELDS];
	unsigned f;

	memset(out, 0, sizeof(*out));
	if (!h)
		return 0;
	v[TPA_HOST_HOSTNAME] = h->hostname;
	v[TPA_HOST_MACHINE_ID] = h->machine_id;
	v[TPA_HOST_DMI_PRODUCT] = h->dmi_product;
	v[TPA_HOST_DMI_SERIAL] = h->dmi_serial;
	for (f = 0; f < TPA_HOST_NFIELDS; f++)
		if (v[f] && tpa_host_info_set(out, (tpa_host_field)f, v[f], strlen(v[f])) < 0) {
			refuse(r, TPA_RPC_INVALID_ARGUMENT, "host.%s", tpa_err_last());
			memset(out, 0, sizeof(*out));
			return -1;
		}
	return 0;
}

void tpa_service_get_challenge(tpa_rpc_reply *r, const uint8_t *req, size_t len,
			       void *ctx)
{
	tpa_service *s = ctx;
	pbarena arena;
	Attest__V1__GetChallengeRequest *in;
	Attest__V1__GetChallengeResponse out = ATTEST__V1__GET_CHALLENGE_RESPONSE__INIT;
	tpa_challenge c;
	uint8_t rp[TPA_RP_NONCE_MAX], qd[TPA_NONCE_LEN];
	size_t hint_len, rp_len;
	int err;

	if (!(in = unpack(r, &arena, &attest__v1__get_challenge_request__descriptor, req, len,
			   "GetChallengeRequest"))) {
		return;
	}
	hint_len = in->device_hint ? strlen(in->device_hint) : 0;
	rp_len = in->relying_party_nonce.len;
	if (rp_len && rp_len <= sizeof(rp))
		memcpy(rp, in->relying_party_nonce.data, rp_len);
	pbarena__release(&arena);
	if (rp_len && (rp_len < TPA_RP_NONCE_MIN || rp_len > TPA_RP_NONCE_MAX)) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "relying_party_nonce of %zu bytes (expected "
		       "%d..%d)", rp_len, TPA_RP_NONCE_MIN, TPA_RP_NONCE_MAX);
		return;
	}
	if (hint_len > TPA_DEVICE_HINT_MAX) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "device_hint longer than %d bytes",
		       TPA_DEVICE_HINT_MAX);
		return;
	}
	/* Sealed: nothing is kept for it. */
	if ((err = tpa_seal_challenge(&c, s->sealer, s->opts.nonce_ttl_ms)) < 0) {
		refuse(r, TPA_RPC_INTERNAL, "%s", tpa_err_last());
		return;
	}
	/* With a relying party's nonce, the quote carries both. */
	if (tpa_challenge_qualifying_data(qd, &c, rp, rp_len) < 0) {
		refuse(r, TPA_RPC_INTERNAL, "%s", tpa_err_last());
		return;
	}
	out.challenge_id = c.id;
	out.nonce.data = qd;
	out.nonce.len = sizeof(qd);
	out.valid_for_ms = s->opts.nonce_ttl_ms;
	out.expires_at_unix = (int64_t)(c.expires_ms / 1000);
	reply_msg(r, &out.base);
	atomic_fetch_add(&s->n.challenges, 1);
}

/* Checks the request's shape and fills the PCR set; 0 or a refusal. */
static int check_request(tpa_rpc_reply *r, tpa_pcr_set *pcrs,
			 const Attest__V1__AttestRequest *in)
{
	size_t b, i;

	if (!in->challenge_id || !*in->challenge_id) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "challenge_id missing");
		return -1;
	}
	if (strlen(in->challenge_id) > TPA_SEALED_ID_MAX) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "challenge_id longer than %d characters",
		       TPA_SEALED_ID_MAX);
		return -1;
	}
	if (!in->quote || !in->quote->attest.len) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "quote.attest missing");
		return -1;
	}
	if (!in->quote->signature.len) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "quote.signature missing");
		return -1;
	}
	if (in->quote->attest.len > TPA_ATTEST_MAX ||
	    in->quote->signature.len > TPA_SIGNATURE_MAX) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT,
		       "quote: attest (%zu bytes) or signature (%zu bytes) over %d/%d",
		       in->quote->attest.len, in->quote->signature.len, TPA_ATTEST_MAX,
		       TPA_SIGNATURE_MAX);
		return -1;
	}
	if (!in->ak_public.len) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "ak_public missing");
		return -1;
	}
	if (in->ak_public.len > TPA_PUBLIC_MAX) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "ak_public of %zu bytes exceeds %d",
		       in->ak_public.len, TPA_PUBLIC_MAX);
		return -1;
	}
	if (in->device_hint && strlen(in->device_hint) > TPA_DEVICE_HINT_MAX) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "device_hint longer than %d bytes",
		       TPA_DEVICE_HINT_MAX);
		return -1;
	}
	if (in->event_log.len > TPA_EVLOG_MAX_BYTES) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "event_log of %zu bytes exceeds %u",
		       in->event_log.len, TPA_EVLOG_MAX_BYTES);
		return -1;
	}
	if (in->client_view && in->client_view->tpm_manufacturer &&
	    strlen(in->client_view->tpm_manufacturer) > 4) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "client_view.tpm_manufacturer longer than 4 bytes");
		return -1;
	}
	if (in->n_pcr_banks == 0) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "pcr_banks missing");
		return -1;
	}
	if (in->n_pcr_banks > TPA_BANKS_MAX) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "pcr_banks: %zu banks exceed %d",
		       in->n_pcr_banks, TPA_BANKS_MAX);
		return -1;
	}
	memset(pcrs, 0, sizeof(*pcrs));
	for (b = 0; b < in->n_pcr_banks; b++) {
		const Attest__V1__PcrBank *pb = in->pcr_banks[b];

		if (pb->hash_alg > 0xffff ||
		    tpa_pcr_set_add_bank(pcrs, (uint16_t)pb->hash_alg) < 0) {
			refuse(r, TPA_RPC_INVALID_ARGUMENT, "pcr_banks[%zu]: %s", b,
			       pb->hash_alg > 0xffff ? "hash_alg out of range" :
			       tpa_err_last());
			return -1;
		}
		if (pb->n_pcrs == 0 || pb->n_pcrs > TPA_PCR_COUNT) {
			refuse(r, TPA_RPC_INVALID_ARGUMENT,
			       "pcr_banks[%zu]: %zu PCRs (expected 1..%d)", b, pb->n_pcrs,
			       TPA_PCR_COUNT);
			return -1;
		}
		for (i = 0; i < pb->n_pcrs; i++)
			if (tpa_pcr_set_add(pcrs, pb->pcrs[i]->index, pb->pcrs[i]->digest.data,
					    pb->pcrs[i]->digest.len) < 0) {
				refuse(r, TPA_RPC_INVALID_ARGUMENT, "pcr_banks[%zu]: %s", b,
				       tpa_err_last());
				return -1;
			}
	}
	return 0;
}

/* The baseline that applies to a device: its registry assignment (parsed
 * once, cached), else the verifier's default. NULL if none applies, or if
 * the assigned one cannot be used (a failed "baseline" finding then says
 * why). A baseline the full cache cannot keep is returned in *owned too:
 * the caller frees it. */
static const tpa_baseline *baseline_for(tpa_service *s, const char *device_id, int *version,
					tpa_baseline **owned, tpa_findings *f)
{
	char name[TPA_BASELINE_NAME_MAX + 1], *body = NULL;
	tpa_baseline *b = NULL;
	int v = 0, err;
	size_t i;

	*version = 0;
	*owned = NULL;
	if (!s->opts.store || !device_id)
		return s->opts.baseline;
	err = tpa_store_baseline_for(name, sizeof(name), &v, s->opts.store, device_id);
	if (err == TPA_ERR_NOT_FOUND)
		return s->opts.baseline;
	if (err < 0) {
		tpa_findings_add(f, TPA_CHECK_BASELINE, 0, "registry: %s", tpa_err_last());
		return NULL;
	}
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nbaselines && !b; i++)
		if (s->baselines[i].version == v && strcmp(s->baselines[i].name, name) == 0)
			b = s->baselines[i].b;
	pthread_mutex_unlock(&s->lock);
	if (b) {
		*version = v;
		return b;
	}
	if (tpa_store_baseline_get(&body, NULL, s->opts.store, name, v) < 0 ||
	    tpa_baseline_parse(&b, body, strlen(body), name) < 0) {
		tpa_findings_add(f, TPA_CHECK_BASELINE, 0, "baseline %s@%d cannot be used: %s", name, v,
				 tpa_err_last());
		free(body);
		return NULL;
	}
	free(body);
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nbaselines; i++)
		if (s->baselines[i].version == v && strcmp(s->baselines[i].name, name) == 0)
			break;
	if (i < s->nbaselines) {            /* another call parsed it meanwhile */
		tpa_baseline_free(b);
		b = s->baselines[i].b;
	} else if (s->nbaselines < BASELINE_CACHE_MAX) {
		snprintf(s->baselines[i].name, sizeof(s->baselines[i].name), "%s", name);
		s->baselines[i].version = v;
		s->baselines[i].b = b;
		s->nbaselines++;
	} else {
		*owned = b;
	}
	pthread_mutex_unlock(&s->lock);
	*version = v;
	return b;
}

/* The key that signs tokens now (keys are kept until the service ends). */
static const tpa_token_key *current_key(tpa_service *s)
{
	const tpa_token_key *k;

	pthread_mutex_lock(&s->lock);
	k = s->keyset ? tpa_token_keyset_signer(s->keyset, (int64_t)time(NULL)) : s->key;
	pthread_mutex_unlock(&s->lock);
	return k;
}

const tpa_token_key *tpa_service_signing_key(tpa_service *s)
{
	return current_key(s);
}

/* Strings the trusted-launch reply points into. */
typedef struct {
	char sb_reason[TPA_CHECK_DETAIL_MAX];
	char firmware[128];
	char cmdline[TPA_CMDLINE_MAX];
	char apps[TPA_BOOT_APPS_MAX][TPA_PATH_MAX + 2 * TPA_DIGEST_MAX + 16];
	char *app_ptrs[TPA_BOOT_APPS_MAX];
	uint32_t verified[TPA_PCR_COUNT];
	Attest__V1__Fact facts[TPA_FACT_COUNT];
	Attest__V1__Fact *fact_ptrs[TPA_FACT_COUNT];
	uint32_t fact_pcrs[TPA_FACT_COUNT][TPA_PCR_COUNT];
	Attest__V1__HygieneClaim hyg[TPA_SBC_COUNT + 2];
	Attest__V1__HygieneClaim *hyg_ptrs[TPA_SBC_COUNT + 2];
	Attest__V1__CheckResult checks[TPA_CHECKS_MAX];
	Attest__V1__CheckResult *check_ptrs[TPA_CHECKS_MAX];
	Attest__V1__RuleResult rules[TPA_RULE_COUNT];
	Attest__V1__RuleResult *rule_ptrs[TPA_RULE_COUNT];
} reply_text;

static size_t mask_list(uint32_t *out, tpa_pcr_mask m)
{
	size_t n = 0;
	uint32_t p;

	for (p = 0; p < TPA_PCR_COUNT; p++)
		if ((m >> p) & 1)
			out[n++] = p;
	return n;
}

/* The trusted-launch state for the reply: what the verdict shows of the
 * boot. Without a log that replays to a verified quote it says why not. */
static void pack_launch(Attest__V1__TrustedLaunch *tl, reply_text *t, const tpa_verdict *v,
			const Attest__V1__ClientView *view)
{
	const tpa_bootstate *bs = &v->boot.state;
	size_t i;

	tl->secure_boot = (char *)"unknown";
	tl->secure_boot_reason = t->sb_reason;
	tl->client_view = (Attest__V1__ClientView *)view;
	tl->events = (uint32_t)tpa_eventlog_count(v->boot.log);
	tl->measured_boot = v->measured_boot;
	if (!v->boot.have_log) {
		snprintf(t->sb_reason, sizeof(t->sb_reason), "no event log");
		return;
	}
	if (!v->replayed) {
		snprintf(t->sb_reason, sizeof(t->sb_reason), "%s",
			 !v->boot.log ? "the event log is malformed" :
			 !v->quote_ok ? "the quote did not verify, so the log proves nothing" :
			 "the event log does not replay to the quoted PCRs");
		return;
	}
	tl->secure_boot = (char *)tpa_secure_boot_name(bs->secure_boot);
	snprintf(t->sb_reason, sizeof(t->sb_reason), "%s", bs->secure_boot_why);
	/* Text for people too: only what its digest binds. */
	if (bs->firmware_version_verified)
		snprintf(t->firmware, sizeof(t->firmware), "%s", bs->firmware_version);
	snprintf(t->cmdline, sizeof(t->cmdline), "%s", bs->kernel_cmdline);
	tl->firmware_version = t->firmware;
	tl->kernel_cmdline = t->cmdline;
	tl->uefi_debug_mode = bs->uefi_debug_mode;
	for (i = 0; i < bs->napps; i++) {
		char hex[2 * TPA_DIGEST_MAX + 1];

		tpa_hex(hex, bs->apps[i].digest, bs->apps[i].digest_len);
		snprintf(t->apps[i], sizeof(t->apps[i]), "%s %s:%s",
			 bs->apps[i].path[0] ? bs->apps[i].path : "?", tpa_hash_label(bs->bank),
			 hex);
		t->app_ptrs[i] = t->apps[i];
	}
	tl->n_boot_applications = bs->napps;
	tl->boot_applications = t->app_ptrs;
	tl->exit_boot_services = bs->exit_boot_services;
	tl->events_after_exit_boot_services = bs->events_after_ebs;
	tl->bank = (char *)tpa_hash_label(bs->bank);
	tl->n_verified_pcrs = mask_list(t->verified, bs->counted);
	tl->verified_pcrs = t->verified;
	for (i = 0; i < TPA_FACT_COUNT; i++) {
		attest__v1__fact__init(&t->facts[i]);
		t->facts[i].name = (char *)tpa_fact_name((tpa_fact_id)i);
		t->facts[i].status = (char *)tpa_fact_status_name(bs->facts[i].status);
		t->facts[i].n_pcrs = mask_list(t->fact_pcrs[i], bs->facts[i].pcrs);
		t->facts[i].pcrs = t->fact_pcrs[i];
		t->fact_ptrs[i] = &t->facts[i];
	}
	tl->n_facts = TPA_FACT_COUNT;
	tl->facts = t->fact_ptrs;
	if (v->boot.secureboot.judged) {
		const tpa_sb_claims *c = &v->boot.secureboot;
		const tpa_sb_answer a[TPA_SBC_COUNT] = { c->dbx_current, c->ca_2023_ready,
			c->ca_2011_only, c->test_platform_key, c->revoked_component_booted };
		const char *why[TPA_SBC_COUNT] = { c->dbx_why, c->ca_2023_why, c->ca_2011_why,
			c->test_pk_why, c->revoked_why };

		for (i = 0; i < TPA_SBC_COUNT + 2; i++) {
			attest__v1__hygiene_claim__init(&t->hyg[i]);
			t->hyg_ptrs[i] = &t->hyg[i];
		}
		for (i = 0; i < TPA_SBC_COUNT; i++) {
			t->hyg[i].name = (char *)tpa_sb_claim_names[i];
			t->hyg[i].value = (char *)tpa_sb_answer_name(a[i]);
			t->hyg[i].reason = (char *)why[i];
		}
		t->hyg[i].name = (char *)"mok_validation";
		t->hyg[i].value = (char *)tpa_sb_answer_name(c->mok_validation);
		t->hyg[i++].reason = (char *)c->mok_why;
		t->hyg[i].name = (char *)"sbat_level";
		t->hyg[i].value = (char *)(c->sbat_level[0] ? c->sbat_level : "unknown");
		t->hyg[i++].reason = (char *)c->sbat_why;
		tl->n_secure_boot_hygiene = i;
		tl->secure_boot_hygiene = t->hyg_ptrs;
	}
}

static void pack_verdict(Attest__V1__Verdict *out, Attest__V1__Appraisal *apr, reply_text *t,
			 const tpa_verdict *v, const tpa_baseline *bl, int bl_version,
			 char *name_hex)
{
	size_t i;

	for (i = 0; i < v->checks.n; i++) {
		attest__v1__check_result__init(&t->checks[i]);
		t->checks[i].name = (char *)v->checks.items[i].name;
		t->checks[i].passed = v->checks.items[i].passed;
		t->checks[i].detail = (char *)v->checks.items[i].detail;
		t->check_ptrs[i] = &t->checks[i];
	}
	apr->outcome = (char *)tpa_outcome_name(v->outcome);
	apr->baseline = (char *)(bl ? tpa_baseline_name(bl) : "");
	apr->baseline_version = (uint32_t)bl_version;
	for (i = 0; v->appraised && i < TPA_RULE_COUNT; i++) {
		const tpa_rule_result *x = &v->appraisal.rules[i];

		attest__v1__rule_result__init(&t->rules[i]);
		t->rules[i].rule = (char *)tpa_rule_name(x->rule);
		t->rules[i].severity = (char *)(x->severity == TPA_SEVERITY_CRITICAL ? "critical" :
						"warning");
		t->rules[i].status = (char *)tpa_rule_status_name(x->status);
		t->rules[i].event = x->event;
		t->rules[i].pcr = x->pcr;
		t->rules[i].detail = (char *)x->detail;
		/* Every failing event, and what the baseline allows there. */
		t->rules[i].seen = x->seen ? x->seen : (char *)"";
		t->rules[i].n_expected = x->nexpected;
		t->rules[i].expected = x->expected;
		t->rule_ptrs[i] = &t->rules[i];
	}
	apr->n_rules = v->appraised ? TPA_RULE_COUNT : 0;
	apr->rules = t->rule_ptrs;
	out->status = v->status == TPA_STATUS_COMPLIANT ? ATTEST__V1__VERDICT__STATUS__COMPLIANT :
		v->status == TPA_STATUS_WARNING ? ATTEST__V1__VERDICT__STATUS__WARNING :
		ATTEST__V1__VERDICT__STATUS__NON_COMPLIANT;
	out->appraisal = apr;
	out->n_checks = v->checks.n;
	out->checks = t->check_ptrs;
	out->ak_name = name_hex;
}

static tpa_claimed claimed_of(const Attest__V1__ClientView *view)
{
	if (!view)
		return TPA_CLAIMED_UNKNOWN;
	switch (view->secure_boot) {
	case ATTEST__V1__TRISTATE__TRISTATE_ON: return TPA_CLAIMED_ON;
	case ATTEST__V1__TRISTATE__TRISTATE_OFF: return TPA_CLAIMED_OFF;
	case ATTEST__V1__TRISTATE__TRISTATE_UNKNOWN:
	case _ATTEST__V1__TRISTATE_IS_INT_SIZE:
		break;
	}
	return TPA_CLAIMED_UNKNOWN;
}

/* The token's claims from the verdict. */
static void claims_of(tpa_token_claims *c, const tpa_verdict *v, const tpa_baseline *bl,
		      int bl_version)
{
	memset(c, 0, sizeof(*c));
	c->status = tpa_ear_status_name(v->ear);
	c->unbound_ak = v->unbound_ak;
	c->vector = v->vector;
	c->outcome = tpa_outcome_name(v->outcome);
	c->appraisal = v->appraised ? &v->appraisal : NULL;
	if (bl) {
		c->baseline = tpa_baseline_name(bl);
		c->baseline_version = bl_version;
	}
	c->findings = &v->checks;
	c->measured_boot = v->measured_boot;
	c->secure_boot = v->replayed ? tpa_secure_boot_name(v->boot.state.secure_boot) :
		"unknown";
	/* The S-CRTM text only when its PCR counts and it hashes to its digest
	 * (some firmware measures something else: then the text is unbound). */
	if (v->replayed && v->boot.state.facts[TPA_FACT_FIRMWARE_VERSION].status ==
	    TPA_FACT_VERIFIED && v->boot.state.firmware_version_verified)
		c->firmware_version = v->boot.state.firmware_version;
	c->secureboot = v->replayed ? &v->boot.secureboot : NULL;
}

void tpa_service_attest(tpa_rpc_reply *r, const uint8_t *req, size_t len,
			void *ctx)
{
	tpa_service *s = ctx;
	pbarena arena;
	Attest__V1__AttestRequest *in;
	Attest__V1__AttestResponse out = ATTEST__V1__ATTEST_RESPONSE__INIT;
	Attest__V1__Verdict reply = ATTEST__V1__VERDICT__INIT;
	Attest__V1__TrustedLaunch tl = ATTEST__V1__TRUSTED_LAUNCH__INIT;
	Attest__V1__Appraisal apr = ATTEST__V1__APPRAISAL__INIT;
	reply_text *txt = NULL;
	tpa_device dev;
	tpa_pcr_set pcrs;
	tpa_findings f;
	tpa_quote_evidence ev = { 0 };
	tpa_token_claims claims;
	tpa_verdict_input vin;
	tpa_verdict v;
	tpa_challenge ch;
	const tpa_baseline *bl = NULL;
	tpa_baseline *bl_owned = NULL;
	uint64_t tpm_firmware = 0;
	uint8_t name[TPA_NAME_MAX], qd[TPA_NONCE_LEN];
	tpa_bound_key bound = { "", "" };
	tpa_host_info host;
	char name_hex[2 * TPA_NAME_MAX + 1], hint[TPA_DEVICE_HINT_MAX + 1];
	dev_ref who = { "", "", 0 };
	tpa_log_rec lr;
	char *token = NULL, *pcrs_json = NULL;
	size_t name_len = 0, i;
	int have_dev = 0, have_ch, quote_ok, judged = 0, err;
	double t0;

	memset(&v, 0, sizeof(v));
	if (!(in = unpack(r, &arena, &attest__v1__attest_request__descriptor, req, len,
			   "AttestRequest"))) {
		atomic_fetch_add(&s->n.refused, 1);
		return;
	}
	if (check_request(r, &pcrs, in) < 0) {
		say_refused(s, 1, "attest", NULL, NULL, r->details);
		atomic_fetch_add(&s->n.refused, 1);
		goto cleanup;
	}
	/* Escaped when logged, like every value (tpa/log.h). */
	snprintf(hint, sizeof(hint), "%s", in->device_hint ? in->device_hint : "");
	if (host_of(r, &host, in->host) < 0) {
		say_refused(s, 1, "attest", NULL, NULL, r->details);
		atomic_fetch_add(&s->n.refused, 1);
		goto cleanup;
	}

	/* The challenge: sealed here, unexpired. Whether it is used up already
	 * is asked only of evidence that proves something (below). */
	memset(&f, 0, sizeof(f));
	have_ch = tpa_unseal_challenge(&ch, s->sealer, in->challenge_id) == 0;
	if (have_ch)
		tpa_findings_add(&f, TPA_CHECK_CHALLENGE, 1, "sealed by this verifier, unexpired");
	else
		tpa_findings_add(&f, TPA_CHECK_CHALLENGE, 0, "%s", tpa_err_last());

	ev.attest = in->quote->attest.data;
	ev.attest_len = in->quote->attest.len;
	ev.signature = in->quote->signature.data;
	ev.signature_len = in->quote->signature.len;
	ev.ak_public = in->ak_public.data;
	ev.ak_public_len = in->ak_public.len;
	ev.pcrs = &pcrs;
	ev.firmware_out = &tpm_firmware;
	/* What the quote must carry: the challenge's nonce, with the relying
	 * party's if one was given. */
	if (have_ch && tpa_challenge_qualifying_data(qd, &ch, in->relying_party_nonce.data,
						     in->relying_party_nonce.len) < 0) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "%s", tpa_err_last());
		atomic_fetch_add(&s->n.refused, 1);
		goto cleanup;
	}
	err = tpa_quote_verify(&f, &ev, have_ch ? qd : NULL, have_ch ? sizeof(qd) : 0,
			       name, &name_len);
	if (err < 0 && err != TPA_ERR_VERIFY) {
		refuse(r, TPA_RPC_INTERNAL, "verification failed: %s", tpa_err_last());
		goto cleanup;
	}
	/* A key to bind: certified by this AK for this challenge, or the
	 * evidence fails by name. */
	if (in->bound_key) {
		tpa_keybind_evidence kb = {
			in->bound_key->public_.data, in->bound_key->public_.len,
			in->bound_key->certify_info.data, in->bound_key->certify_info.len,
			in->bound_key->signature.data, in->bound_key->signature.len,
		};

		if (tpa_keybind_verify(&f, &bound, &kb, in->ak_public.data, in->ak_public.len,
				       have_ch ? qd : NULL, have_ch ? sizeof(qd) : 0) < 0) {
			refuse(r, TPA_RPC_INTERNAL, "key binding: %s", tpa_err_last());
			goto cleanup;
		}
	}
	tpa_hex(name_hex, name, name_len);
	/* A valid challenge and a quote that verified: the TPM signed these
	 * PCR values for this nonce. */
	quote_ok = tpa_findings_failed(&f) == 0;

	/* With a registry, only a registered AK of an active device. */
	if (s->opts.store) {
		if (name_len == 0) {
			const tpa_check *c = tpa_findings_get(&f, TPA_CHECK_AK_PUBLIC);

			refuse(r, TPA_RPC_PERMISSION_DENIED, "the AK cannot be identified: %s",
			       c ? c->detail : "");
			say_refused(s, 1, "attest", NULL, name_hex, r->details);
			atomic_fetch_add(&s->n.refused, 1);
			goto cleanup;
		}
		t0 = mono_s();
		err = tpa_store_find_by_ak(&dev, s->opts.store, name_hex);
		store_observe(s, "find_by_ak", t0);
		if (err < 0 && err != TPA_ERR_NOT_FOUND) {
			/* The registry did not answer: nothing is known of the
			 * AK, and the device is told to come back, not to enroll. */
			refuse(r, store_status(err), "registry: %s", tpa_err_last());
			say_error(s, "the registry did not answer", NULL, tpa_err_last());
			goto cleanup;
		}
		if (err < 0) {
			refuse(r, TPA_RPC_PERMISSION_DENIED,
			       "AK %.16s... is not registered: enroll the device first", name_hex);
			say_refused(s, 1, "attest", NULL, name_hex, r->details);
			atomic_fetch_add(&s->n.refused, 1);
			goto cleanup;
		}
		dev_set(&who, dev.id, dev.host.hostname, 0);
		if (dev.state == TPA_DEVICE_PENDING) {
			/* Registered, not yet admitted: no verdict, so no token. */
			refuse(r, TPA_RPC_FAILED_PRECONDITION, "device %.16s is pending approval: "
			       "an operator approves it: verifier devices approve %.16s", dev.id,
			       dev.id);
			say_refused(s, 1, "attest", &who, name_hex, r->details);
			atomic_fetch_add(&s->n.refused, 1);
			goto cleanup;
		}
		if (dev.state != TPA_DEVICE_ACTIVE) {
			refuse(r, TPA_RPC_FAILED_PRECONDITION, "device %.16s... is %s", dev.id,
			       tpa_device_state_name(dev.state));
			say_refused(s, 1, "attest", &who, name_hex, r->details);
			atomic_fetch_add(&s->n.refused, 1);
			goto cleanup;
		}
		have_dev = 1;
		tpa_findings_add(&f, TPA_CHECK_DEVICE_REGISTERED, 1,
				 "AK registered to device %.16s..., active", dev.id);
	} else if (quote_ok) {
		/* No registry: the challenge is used up here, by the first
		 * evidence that proves it was quoted. */
		err = tpa_used_set_take(s->used, ch.tag, ch.expires_ms,
					tpa_sealer_now(s->sealer));
		if (err < 0) {
			refuse(r, err == TPA_ERR_USED ? TPA_RPC_FAILED_PRECONDITION :
			       TPA_RPC_RESOURCE_EXHAUSTED, "challenge: %s", tpa_err_last());
			say_refused(s, 1, "attest", NULL, name_hex, r->details);
			atomic_fetch_add(&s->n.refused, 1);
			if (err == TPA_ERR_USED)
				atomic_fetch_add(&s->n.replays, 1);
			goto cleanup;
		}
	}

	if (!(txt = calloc(1, sizeof(*txt)))) {
		refuse(r, TPA_RPC_RESOURCE_EXHAUSTED, "out of memory");
		goto cleanup;
	}
	{
		int bl_version = 0;

		bl = baseline_for(s, have_dev ? dev.id : NULL, &bl_version, &bl_owned, &f);
		memset(&vin, 0, sizeof(vin));
		vin.checks = &f;
		vin.quoted = &pcrs;
		vin.event_log = in->event_log.len ? in->event_log.data : NULL;
		vin.event_log_len = in->event_log.len;
		vin.baseline = bl;
		vin.registered = have_dev;
		vin.client_secure_boot = claimed_of(in->client_view);
		vin.sbref = s->opts.sbref;
		if (tpa_verdict_judge(&v, &vin) < 0) {
			refuse(r, TPA_RPC_INTERNAL, "verdict: %s", tpa_err_last());
			goto cleanup;
		}
		judged = 1;

		claims_of(&claims, &v, bl, bl_version);
		/* eat_nonce: the relying party's, which it checks, once the
		 * quote proved it was bound; else ours. */
		if (quote_ok && in->relying_party_nonce.len) {
			claims.nonce = in->relying_party_nonce.data;
			claims.nonce_len = in->relying_party_nonce.len;
		} else {
			claims.nonce = have_ch ? ch.nonce : NULL;
			claims.nonce_len = have_ch ? sizeof(ch.nonce) : 0;
		}
		/* A bound key, only if the AK certified it and the quote held. */
		claims.cnf_jwk = quote_ok && bound.jwk[0] ? bound.jwk : NULL;
		/* Who attested, only if the quote proves it. */
		claims.ak_name_hex = quote_ok && name_len ? name_hex : NULL;
		claims.device_id = quote_ok && have_dev ? dev.id : NULL;
		claims.tpm_manufacturer = quote_ok && have_dev ? dev.tpm_manufacturer : NULL;
		/* How it was admitted: only for a device the quote proves. */
		claims.admission = quote_ok && have_dev && dev.admission[0] ? dev.admission : NULL;
		claims.ek_certified = claims.admission && dev.ek_cert_source[0] &&
				      strcmp(dev.ek_cert_source, "none") != 0;
		/* hardware 2 says a vendor vouched for the TPM: for an EK without
		 * a certificate, only an operator did, so no claim (0). */
		if (claims.admission && !claims.ek_certified)
			claims.vector.hardware = 0;
		claims.developer = s->verifier_id;
		claims.iat = (int64_t)time(NULL);
		/* A token must not outlive the device's due time (iat is the
		 * verdict's time, the registry's last_attest_at), or a stale
		 * device would keep a valid one. */
		claims.ttl_s = s->opts.token_ttl_s;
		if ((int64_t)claims.ttl_s > tpa_staleness_window(&s->opts.staleness))
			claims.ttl_s = (uint32_t)tpa_staleness_window(&s->opts.staleness);
		/* The TPM's firmware version as the quote it signed says it. */
		if (tpa_findings_passed(&v.checks, TPA_CHECK_QUOTE_SIGNATURE)) {
			claims.tpm_firmware[0] = (uint32_t)(tpm_firmware >> 32);
			claims.tpm_firmware[1] = (uint32_t)tpm_firmware;
			claims.have_tpm_firmware = 1;
		}
		if (tpa_token_sign(&token, current_key(s), &claims) < 0) {
			refuse(r, TPA_RPC_INTERNAL, "token: %s", tpa_err_last());
			goto cleanup;
		}

		/* Only evidence that proves itself is recorded against the
		 * device, with its challenge used up in the same transaction. */
		if (have_dev && quote_ok) {
			tpa_attest_record rec = { 0 };
			char reasons[512], bl_ref[TPA_BASELINE_NAME_MAX + 16];

			tpa_verdict_reasons(&v, reasons, sizeof(reasons));
			/* The registry's outcomes: a boot not appraised is non-compliant. */
			rec.outcome = tpa_outcome_name(v.evidence_ok ? v.outcome :
						       TPA_OUTCOME_NON_COMPLIANT);
			if (bl && bl_version > 0) {
				snprintf(bl_ref, sizeof(bl_ref), "%s@%d", tpa_baseline_name(bl),
					 bl_version);
				rec.baseline = bl_ref;
			}
			/* The evidence is kept to learn a baseline from, only if it
			 * held (and the registry takes its size). */
			if (v.evidence_ok) {
				if (in->event_log.len && in->event_log.len <= TPA_STORE_EVENT_LOG_MAX) {
					rec.event_log = in->event_log.data;
					rec.event_log_len = in->event_log.len;
				}
				if ((pcrs_json = tpa_pcr_set_to_json(&pcrs)) &&
				    strlen(pcrs_json) <= TPA_STORE_PCRS_JSON_MAX)
					rec.pcrs_json = pcrs_json;
			}
			/* The token, for GetDeviceCompliance. */
			rec.token = token;
			rec.token_exp = claims.iat + (int64_t)claims.ttl_s;
			rec.seal_tag = ch.tag;
			rec.seal_expires_ms = (int64_t)ch.expires_ms;
			/* The names the host reports, and that it was seen: with
			 * the verdict, so only with evidence held and recorded;
			 * never from a stranger's or a refused attempt. */
			rec.host = &host;
			t0 = mono_s();
			err = tpa_store_record(s->opts.store, dev.id,
					       v.status != TPA_STATUS_NON_COMPLIANT, reasons, &rec,
					       claims.iat);
			store_observe(s, "record", t0);
			if (err == TPA_ERR_USED) {
				refuse(r, TPA_RPC_FAILED_PRECONDITION,
				       "challenge already used: another Attest took it");
				say_refused(s, 0, "attest", &who, name_hex, r->details);
				atomic_fetch_add(&s->n.refused, 1);
				atomic_fetch_add(&s->n.replays, 1);
				goto cleanup;
			}
			if (err < 0) {
				refuse(r, store_status(err), "the verdict cannot be recorded: %s",
				       tpa_err_last());
				say_error(s, "the verdict cannot be recorded", &who,
					  tpa_err_last());
				goto cleanup;
			}
			atomic_fetch_add(&s->n.recorded, 1);
			if (host.hostname[0])
				dev_set(&who, dev.id, host.hostname, 0);
			if (strcmp(dev.last_outcome, rec.outcome) != 0) {
				tpa_device_change c = { TPA_CHANGE_OUTCOME, dev.id, rec.outcome,
							dev.last_outcome, claims.iat };

				tpa_notify_all(s->opts.notifiers, s->opts.nnotifiers, &c,
					       notify_failed, s);
			}
		}

		pack_launch(&tl, txt, &v, in->client_view);
		pack_verdict(&reply, &apr, txt, &v, bl, bl_version, name_hex);
		reply.trusted_launch = &tl;
		out.verdict = &reply;
		out.token = token;
		reply_msg(r, &out.base);
		atomic_fetch_add(&s->n.verdicts, 1);
		metrics_verdict(s, &v, quote_ok);

		if (!quote_ok) {
			/* A stranger's evidence: counted and logged quietly, never
			 * recorded against anyone. */
			atomic_fetch_add(&s->n.unverified, 1);
			tpa_log_rec_init(&lr, TPA_LOG_WARNING, "attest non-compliant, unverified");
			tpa_log_strf(&lr, "ak", "%.16s", name_hex);
			tpa_log_str(&lr, "device_hint", hint);
			quiet_say(s, &lr);
		} else {
			int failed = v.status == TPA_STATUS_NON_COMPLIANT;

			/* One record a decision; each failed check and rule
			 * in a record of its own, naming the device again. */
			tpa_log_rec_initf(&lr, failed ? TPA_LOG_WARNING : TPA_LOG_INFO,
					  "attest %s", failed ? "non-compliant" :
					  tpa_outcome_name(v.outcome));
			if (have_dev)
				dev_fields(&lr, &who);
			tpa_log_strf(&lr, "ak", "%.16s", name_hex);
			tpa_log_str(&lr, "device_hint", hint);
			tpa_log_str(&lr, "outcome", tpa_outcome_name(v.outcome));
			tpa_log_strf(&lr, "baseline", "%s@%d", bl ? tpa_baseline_name(bl) : "",
				     bl_version);
			say(s, &lr);
			for (i = 0; failed && i < v.checks.n; i++) {
				if (v.checks.items[i].passed)
					continue;
				tpa_log_rec_init(&lr, TPA_LOG_WARNING, "attest check failed");
				if (have_dev)
					dev_fields(&lr, &who);
				tpa_log_strf(&lr, "ak", "%.16s", name_hex);
				tpa_log_str(&lr, "check", v.checks.items[i].name);
				tpa_log_str(&lr, "reason", v.checks.items[i].detail);
				say(s, &lr);
			}
			for (i = 0; failed && v.appraised && i < TPA_RULE_COUNT; i++) {
				if (v.appraisal.rules[i].status != TPA_RULE_FAIL)
					continue;
				tpa_log_rec_init(&lr, TPA_LOG_WARNING, "attest rule failed");
				if (have_dev)
					dev_fields(&lr, &who);
				tpa_log_strf(&lr, "ak", "%.16s", name_hex);
				tpa_log_str(&lr, "rule", tpa_rule_name(v.appraisal.rules[i].rule));
				tpa_log_str(&lr, "reason", v.appraisal.rules[i].detail);
				say(s, &lr);
			}
		}
	}
cleanup:
	if (judged)
		tpa_verdict_clear(&v);
	free(pcrs_json);
	tpa_baseline_free(bl_owned);
	free(txt);
	free(token);
	pbarena__release(&arena);
}

/* ---- enrollment ---- */

/* What Enroll and Activate both check of the EK and AK: the public areas
 * decode, the AK is fit to attest, the EK is a TCG template. 0 or a
 * refusal. */
static int check_keys(tpa_rpc_reply *r, TPMT_PUBLIC *ek, TPMT_PUBLIC *ak, uint8_t *name,
		      size_t *name_len, const ProtobufCBinaryData *ek_pub,
		      const ProtobufCBinaryData *ak_pub)
{
	if (ek_pub->len > TPA_PUBLIC_MAX || ak_pub->len > TPA_PUBLIC_MAX ||
	    tpa_decode_public(ek, ek_pub->data, ek_pub->len) < 0 ||
	    tpa_decode_public(ak, ak_pub->data, ak_pub->len) < 0) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "%s", ek_pub->len > TPA_PUBLIC_MAX ||
		       ak_pub->len > TPA_PUBLIC_MAX ? "a public area is too long" : tpa_err_last());
		return -1;
	}
	if (tpa_ak_check_attributes(ak) < 0 || tpa_public_name(name, name_len, ak) < 0 ||
	    tpa_ek_check_template(NULL, ek) < 0) {
		refuse(r, TPA_RPC_PERMISSION_DENIED, "%s", tpa_err_last());
		return -1;
	}
	return 0;
}

/* A revoked device stays revoked whatever AK it comes back with: refused
 * before a credential is made for it, and again before an AK is
 * registered, by name, PERMISSION_DENIED, with what an operator does about
 * it; so is one deleted while revoked (a tombstone). */
static void refuse_tombstoned(tpa_rpc_reply *r, const char *device_id, int deleted)
{
	refuse(r, TPA_RPC_PERMISSION_DENIED, "device %.16s is revoked%s: an operator must "
	       "reinstate it: verifier devices reinstate %.16s", device_id,
	       deleted ? " (deleted while revoked)" : "", device_id);
}

/* 0 (*known says whether the device is registered), or a refusal. */
static int refuse_revoked(tpa_rpc_reply *r, tpa_service *s, const char *device_id, int *known)
{
	double t0 = mono_s();
	tpa_device dev;
	int err = tpa_store_get(&dev, s->opts.store, device_id);

	store_observe(s, "get", t0);
	*known = 0;
	if (err == TPA_ERR_NOT_FOUND) {
		tpa_err_clear();
		if ((err = tpa_store_tombstoned(s->opts.store, device_id)) < 0) {
			refuse(r, store_status(err), "registry: %s", tpa_err_last());
			return -1;
		}
		if (err == 1) {
			refuse_tombstoned(r, device_id, 1);
			return -1;
		}
		return 0;
	}
	if (err < 0) {
		refuse(r, store_status(err), "registry: %s", tpa_err_last());
		return -1;
	}
	if (dev.state == TPA_DEVICE_REVOKED) {
		refuse_tombstoned(r, dev.id, 0);
		return -1;
	}
	/* Active, or pending approval (a new AK for it stays pending). */
	*known = 1;
	return 0;
}

void tpa_service_enroll(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx)
{
	tpa_service *s = ctx;
	pbarena arena;
	Attest__V1__EnrollRequest *in;
	Attest__V1__EnrollResponse out = ATTEST__V1__ENROLL_RESPONSE__INIT;
	TPMT_PUBLIC ek, ak;
	tpa_enrollment_seal seal;
	uint8_t name[TPA_NAME_MAX], blob[TPA_ID_OBJECT_MAX], sec[TPA_ENC_SECRET_MAX];
	uint8_t binding[TPA_SEAL_BINDING_LEN];
	size_t name_len = 0, blob_len = 0, sec_len = 0, i;
	char device_id[TPA_DEVICE_ID_HEX + 1] = "";
	dev_ref who = { "", "", 0 };
	tpa_host_info host;
	const char *src;
	uint32_t flags;
	int known;

	memset(&seal, 0, sizeof(seal));
	memset(&host, 0, sizeof(host));
	if (!(in = unpack(r, &arena, &attest__v1__enroll_request__descriptor, req, len,
			   "EnrollRequest"))) {
		atomic_fetch_add(&s->n.enroll_refused, 1);
		return;
	}
	/* An empty ek_certificate: the TPM has none. Whether such an EK gets
	 * in is the admission's decision, at Activate, once the TPM proved it
	 * holds the EK; nothing here writes state. */
	if (!in->ek_public.len || !in->ak_public.len) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "%s missing",
		       !in->ek_public.len ? "ek_public" : "ak_public");
		goto refused;
	}
	src = in->ek_certificate_source ? in->ek_certificate_source : "";
	if (strcmp(src, "") != 0 && strcmp(src, "nv") != 0 && strcmp(src, "file") != 0 &&
	    strcmp(src, "none") != 0) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "ek_certificate_source: expected \"nv\", "
		       "\"file\" or \"none\"");
		goto refused;
	}
	if (strcmp(src, "none") == 0 && in->ek_certificate.len) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "ek_certificate_source \"none\" with an "
		       "ek_certificate");
		goto refused;
	}
	if (in->ek_certificate.len > TPA_EKCERT_MAX) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "ek_certificate of %zu bytes exceeds %d",
		       in->ek_certificate.len, TPA_EKCERT_MAX);
		goto refused;
	}
	/* Enroll proves nothing: what it reports is checked (a client that
	 * sends what Activate would refuse learns it now) and named in the
	 * log, never kept. */
	if (host_of(r, &host, in->host) < 0)
		goto refused;
	if (in->n_ek_intermediates > INTERMEDIATES_MAX) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "more than %d ek_intermediates",
		       INTERMEDIATES_MAX);
		goto refused;
	}
	if (check_keys(r, &ek, &ak, name, &name_len, &in->ek_public, &in->ak_public) < 0)
		goto refused;
	{
		const uint8_t *inter[INTERMEDIATES_MAX];
		size_t inter_len[INTERMEDIATES_MAX];

		for (i = 0; i < in->n_ek_intermediates; i++) {
			inter[i] = in->ek_intermediates[i].data;
			inter_len[i] = in->ek_intermediates[i].len;
		}
		/* A certificate sent must chain, whatever the admission. */
		if (in->ek_certificate.len &&
		    tpa_ekcert_verify_anchors(in->ek_certificate.data, in->ek_certificate.len,
					      inter, inter_len, in->n_ek_intermediates, s->anchors,
					      &ek) < 0) {
			refuse(r, TPA_RPC_PERMISSION_DENIED, "%s", tpa_err_last());
			goto refused;
		}
	}
	/* The credential secret is sealed into the enrollment id, bound to
	 * this EK and AK: nothing is kept until Activate proves the TPM. */
	if (tpa_ek_device_id(device_id, &ek) < 0) {
		refuse(r, TPA_RPC_INTERNAL, "%s", tpa_err_last());
		goto refused;
	}
	if (refuse_revoked(r, s, device_id, &known) < 0)
		goto refused;
	flags = (in->replace_aks ? TPA_ENROLLMENT_REPLACE_AKS : 0) |
		(in->ek_certificate.len && strcmp(src, "file") == 0 ? ENROLLMENT_EK_CERT_FILE : 0);
	if (tpa_seal_binding(binding, in->ek_public.data, in->ek_public.len,
			     in->ek_certificate.data, in->ek_certificate.len, in->ak_public.data,
			     in->ak_public.len) < 0 ||
	    tpa_seal_enrollment(&seal, s->sealer, flags, s->opts.nonce_ttl_ms, binding) < 0 ||
	    tpa_credential_make(blob, &blob_len, sec, &sec_len, &ek, name, name_len, seal.secret,
				sizeof(seal.secret)) < 0) {
		refuse(r, TPA_RPC_FAILED_PRECONDITION, "%s", tpa_err_last());
		goto refused;
	}
	out.enrollment_id = seal.id;
	out.credential_blob.data = blob;
	out.credential_blob.len = blob_len;
	out.encrypted_secret.data = sec;
	out.encrypted_secret.len = sec_len;
	out.valid_for_ms = s->opts.nonce_ttl_ms;
	reply_msg(r, &out.base);
	atomic_fetch_add(&s->n.enrollments, 1);
	goto cleanup;
refused:
	/* A device the request names; its host name here is only what an
	 * unproven request says, and is said so. */
	if (device_id[0])
		dev_set(&who, device_id, host.hostname, 1);
	say_refused(s, 1, "enroll", &who, NULL, r->details);
	atomic_fetch_add(&s->n.enroll_refused, 1);
cleanup:
	OPENSSL_cleanse(&seal, sizeof(seal));
	pbarena__release(&arena);
}

void tpa_service_activate(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx)
{
	tpa_service *s = ctx;
	pbarena arena;
	Attest__V1__ActivateRequest *in;
	Attest__V1__ActivateResponse out = ATTEST__V1__ACTIVATE_RESPONSE__INIT;
	TPMT_PUBLIC ek, ak;
	tpa_enrollment_seal seal;
	tpa_device dev;
	uint8_t binding[TPA_SEAL_BINDING_LEN], name[TPA_NAME_MAX];
	size_t name_len = 0;
	char mf[16], device_id[TPA_DEVICE_ID_HEX + 1] = "", ak_name[2 * TPA_NAME_MAX + 1];
	dev_ref who = { "", "", 0 };
	tpa_log_rec rec;
	tpa_host_info host;
	tpa_admission adm;
	int err, known = 0;
	double t0;

	memset(&seal, 0, sizeof(seal));
	if (!(in = unpack(r, &arena, &attest__v1__activate_request__descriptor, req, len,
			   "ActivateRequest"))) {
		atomic_fetch_add(&s->n.activate_refused, 1);
		return;
	}
	/* An empty ek_certificate is what Enroll was sent for a TPM without
	 * one (the seal is bound to it, empty or not). */
	if (!in->enrollment_id || !*in->enrollment_id || !in->credential.len ||
	    !in->ek_public.len || !in->ak_public.len) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "%s missing",
		       !in->credential.len ? "credential" :
		       !in->enrollment_id || !*in->enrollment_id ? "enrollment_id" :
		       !in->ek_public.len ? "ek_public (what Enroll was sent)" :
		       "ak_public (what Enroll was sent)");
		goto refused;
	}
	/* Checked before the enrollment is used up: a refusal leaves it. */
	if (host_of(r, &host, in->host) < 0)
		goto refused;
	if (in->ek_certificate.len > TPA_EKCERT_MAX) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "ek_certificate of %zu bytes exceeds %d",
		       in->ek_certificate.len, TPA_EKCERT_MAX);
		goto refused;
	}
	/* The seal vouches for what Enroll checked: the same EK, certificate
	 * and AK, within its lifetime. */
	if (tpa_seal_binding(binding, in->ek_public.data, in->ek_public.len,
			     in->ek_certificate.data, in->ek_certificate.len, in->ak_public.data,
			     in->ak_public.len) < 0) {
		refuse(r, TPA_RPC_INTERNAL, "%s", tpa_err_last());
		goto refused;
	}
	if ((err = tpa_unseal_enrollment(&seal, s->sealer, in->enrollment_id, binding)) < 0) {
		refuse(r, err == TPA_ERR_PARSE ? TPA_RPC_INVALID_ARGUMENT :
		       TPA_RPC_FAILED_PRECONDITION, "enrollment: %s", tpa_err_last());
		goto refused;
	}
	if (in->credential.len != sizeof(seal.secret) ||
	    CRYPTO_memcmp(in->credential.data, seal.secret, sizeof(seal.secret)) != 0) {
		refuse(r, TPA_RPC_PERMISSION_DENIED,
		       "the credential is wrong: the AK is not in the TPM that holds the EK");
		goto refused;
	}
	if (check_keys(r, &ek, &ak, name, &name_len, &in->ek_public, &in->ak_public) < 0 ||
	    tpa_ek_device_id(device_id, &ek) < 0) {
		if (!r->status)
			refuse(r, TPA_RPC_INTERNAL, "%s", tpa_err_last());
		goto refused;
	}
	if (refuse_revoked(r, s, device_id, &known) < 0)
		goto refused;
	/* Admission, here and only here: the TPM proved it holds the EK (and
	 * Enroll checked that a certificate it came with chains). A device
	 * registered already keeps how it was admitted. */
	if (known) {
		/* Kept (the registry refreshes only the certificate's source). */
		memset(&adm, 0, sizeof(adm));
		snprintf(adm.source, sizeof(adm.source), "%s", !in->ek_certificate.len ? "none" :
			 seal.flags & ENROLLMENT_EK_CERT_FILE ? "file" : "nv");
		adm.rec.ek_cert_source = adm.source;
		adm.rec.admission = "open";
		err = 0;
	} else {
		err = tpa_admission_decide(&adm, (tpa_admission_mode)atomic_load(&s->admission),
					   s->opts.store, device_id, in->ek_certificate.data,
					   in->ek_certificate.len,
					   (seal.flags & ENROLLMENT_EK_CERT_FILE) != 0);
	}
	if (err == TPA_ERR_REFUSED) {
		/* The whole id: what an operator puts in the inventory. */
		refuse(r, TPA_RPC_PERMISSION_DENIED, "device %s: %s", device_id, adm.reason);
		goto refused;
	}
	if (err < 0) {
		refuse(r, TPA_RPC_INTERNAL, "admission cannot be decided (the verifier logs why)");
		say_error(s, "admission cannot be decided", NULL, tpa_err_last());
		goto refused;
	}
	tpa_hex(ak_name, name, name_len);
	/* The TPM proved it holds the EK: the enrollment is used up now. */
	if ((err = tpa_store_consume(s->opts.store, seal.tag, (int64_t)seal.expires_ms,
				     (int64_t)tpa_sealer_now(s->sealer))) < 0) {
		refuse(r, err == TPA_ERR_USED ? TPA_RPC_FAILED_PRECONDITION : store_status(err),
		       "enrollment: %s", err == TPA_ERR_USED ? "already activated" : tpa_err_last());
		goto refused;
	}
	/* The manufacturer the (verified) EK certificate names, for the tokens;
	 * written with the enrollment, in its transaction. */
	if (tpa_ekcert_manufacturer(mf, sizeof(mf), in->ek_certificate.data,
				    in->ek_certificate.len) < 0)
		mf[0] = '\0';
	t0 = mono_s();
	err = tpa_store_enroll_admitted(s->opts.store, device_id, in->ek_public.data,
					in->ek_public.len, in->ek_certificate.data,
					in->ek_certificate.len, in->ak_public.data,
					in->ak_public.len, ak_name, mf[0] ? mf : NULL,
					(seal.flags & TPA_ENROLLMENT_REPLACE_AKS) != 0, &adm.rec,
					(int64_t)time(NULL));
	store_observe(s, "enroll", t0);
	if (err == TPA_ERR_REFUSED) {
		refuse_tombstoned(r, device_id, 1);
		goto refused;
	}
	if (err < 0) {
		refuse(r, err == TPA_ERR_CONFLICT ? TPA_RPC_ALREADY_EXISTS : store_status(err),
		       "registry: %s", tpa_err_last());
		goto refused;
	}
	/* The TPM proved its EK: what the host reports is kept, first seen now.
	 * Names are not a decision; one the registry could not keep is
	 * logged, the enrollment stands. */
	if (tpa_store_set_host(s->opts.store, device_id, &host, (int64_t)time(NULL)) < 0) {
		dev_set(&who, device_id, NULL, 0);
		say_error(s, "the host names cannot be recorded", &who, tpa_err_last());
	}
	if (tpa_store_get(&dev, s->opts.store, device_id) == 0) {
		out.aks = dev.naks;
		out.pending = dev.pending;
		out.admission = dev.admission;
		dev_set(&who, device_id, dev.host.hostname, 0);
	} else {
		out.aks = 1;
		out.pending = adm.rec.pending;
		out.admission = (char *)(adm.rec.admission ? adm.rec.admission : "");
		dev_set(&who, device_id, host.hostname, 0);
	}
	tpa_log_rec_init(&rec, out.pending ? TPA_LOG_NOTICE : TPA_LOG_INFO,
			 out.pending ? "enrolled, pending approval" : "enrolled");
	dev_fields(&rec, &who);
	tpa_log_strf(&rec, "ak", "%.16s", ak_name);
	tpa_log_uint(&rec, "aks", out.aks);
	if (seal.flags & TPA_ENROLLMENT_REPLACE_AKS)
		tpa_log_str(&rec, "replaced_aks", "true");
	tpa_log_str(&rec, "admission", out.pending ? "pending" : out.admission);
	tpa_log_str(&rec, "ek_cert", in->ek_certificate.len ? "true" : "false");
	say(s, &rec);
	out.device_id = device_id;
	out.ak_name = ak_name;
	reply_msg(r, &out.base);
	atomic_fetch_add(&s->n.activations, 1);
	goto cleanup;
refused:
	if (device_id[0])
		dev_set(&who, device_id, NULL, 0);
	say_refused(s, 1, "activate", &who, NULL, r->details);
	atomic_fetch_add(&s->n.activate_refused, 1);
cleanup:
	OPENSSL_cleanse(&seal, sizeof(seal));
	pbarena__release(&arena);
}

/* ---- for relying parties ---- */

void tpa_service_get_keys(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx)
{
	tpa_service *s = ctx;
	pbarena arena;
	Attest__V1__GetVerificationKeysRequest *in;
	Attest__V1__GetVerificationKeysResponse out =
		ATTEST__V1__GET_VERIFICATION_KEYS_RESPONSE__INIT;
	char *jwks = NULL;

	if (!(in = unpack(r, &arena, &attest__v1__get_verification_keys_request__descriptor, req, len,
			   "GetVerificationKeysRequest"))) {
		return;
	}
	pbarena__release(&arena);
	if (tpa_service_jwks(&jwks, s) < 0) {
		refuse(r, TPA_RPC_INTERNAL, "%s", tpa_err_last());
		return;
	}
	out.jwks = jwks;
	reply_msg(r, &out.base);
	free(jwks);
}

/* A relying party (peer: its certificate's CN, a client's choice) refused. */
static void say_compliance_refused(tpa_service *s, const char *peer, const char *reason)
{
	tpa_log_rec rec;

	tpa_log_rec_init(&rec, TPA_LOG_WARNING, "compliance refused");
	tpa_log_str(&rec, "peer", peer);
	tpa_log_str(&rec, "reason", reason);
	say(s, &rec);
}

/* A decision is for the relying parties named, each with a certificate
 * made for a TLS client: a device's or a laptop's certificate from the same
 * CA, or the verifier's own server certificate, reads nothing. */
static int relying_party_ok(tpa_service *s, tpa_rpc_reply *r)
{
	size_t i;

	if (!r->peer_client_auth) {
		refuse(r, TPA_RPC_PERMISSION_DENIED, "client certificate \"%s\" does not name the "
		       "clientAuth extended key usage", r->peer_cn);
		say_compliance_refused(s, r->peer_cn, "no clientAuth extended key usage");
		return 0;
	}
	/* Only a CN read whole and unaltered is matched: one cut to fit, or
	 * with '?' for a byte it had, could equal a name it is not. */
	for (i = 0; r->peer_cn_exact && i < s->opts.nrelying_parties; i++)
		if (strcmp(s->opts.relying_parties[i], r->peer_cn) == 0)
			return 1;
	refuse(r, TPA_RPC_PERMISSION_DENIED, "\"%s\" is not an allowed relying party%s", r->peer_cn,
	       s->opts.nrelying_parties ? "" : " (the verifier allows none: --relying-party)");
	say_compliance_refused(s, r->peer_cn, "not an allowed relying party");
	return 0;
}

void tpa_service_compliance(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx)
{
	tpa_service *s = ctx;
	pbarena arena;
	Attest__V1__GetDeviceComplianceRequest *in;
	Attest__V1__GetDeviceComplianceResponse out =
		ATTEST__V1__GET_DEVICE_COMPLIANCE_RESPONSE__INIT;
	tpa_compliance_answer a;
	const tpa_device *dev = &a.device;
	dev_ref who;
	tpa_log_rec rec;
	int err;

	memset(&a, 0, sizeof(a));
	/* Compliance is for the policy engine only, which proves itself with a
	 * client certificate; devices have none. */
	if (!r->peer_authenticated) {
		refuse(r, TPA_RPC_PERMISSION_DENIED,
		       "GetDeviceCompliance needs a TLS client certificate from the verifier's "
		       "client CA");
		say_compliance_refused(s, NULL, "no client certificate");
		return;
	}
	if (!relying_party_ok(s, r))
		return;
	if (!(in = unpack(r, &arena, &attest__v1__get_device_compliance_request__descriptor, req, len,
			   "GetDeviceComplianceRequest"))) {
		return;
	}
	err = tpa_compliance_answer_get(&a, s->opts.store, in->device_id, (int64_t)time(NULL),
					&s->opts.staleness);
	if (err == TPA_ERR_INVALID_ARG) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "device_id: not 64 lower-case hex digits");
		goto cleanup;
	}
	if (err == TPA_ERR_NOT_FOUND) {
		refuse(r, TPA_RPC_NOT_FOUND, "no device %.16s...", in->device_id);
		goto cleanup;
	}
	if (err < 0) {
		refuse(r, TPA_RPC_INTERNAL, "registry: %s", tpa_err_last());
		goto cleanup;
	}
	out.device_id = (char *)dev->id;
	out.outcome = (char *)dev->last_outcome;
	out.verdict_at = dev->last_attest_at;
	out.token = a.token ? a.token : (char *)"";
	out.token_expires_at = dev->last_token_exp;
	out.expired = a.expired;
	out.state = (char *)tpa_device_state_name(dev->state);
	out.revoked_since_verdict = a.revoked_since_verdict;
	out.baseline = (char *)dev->last_baseline;
	out.compliant = a.compliant;
	out.reason = a.reason;
	out.stale = a.stale;
	out.due_at = a.due_at;
	reply_msg(r, &out.base);
	dev_set(&who, dev->id, dev->host.hostname, 0);
	tpa_log_rec_init(&rec, TPA_LOG_INFO, "compliance asked");
	dev_fields(&rec, &who);
	tpa_log_str(&rec, "peer", r->peer_cn);
	tpa_log_str(&rec, "compliant", a.compliant ? "true" : "false");
	if (a.reason[0])
		tpa_log_str(&rec, "reason", a.reason);
	say(s, &rec);
cleanup:
	tpa_compliance_answer_free(&a);
	pbarena__release(&arena);
}


/* tpa_service_ready's rule, under the read lock the caller holds. */
static int ready_locked(tpa_service *s, char *why, size_t cap)
{
	static const char zero_id[TPA_DEVICE_ID_LEN + 1] =
		"0000000000000000000000000000000000000000000000000000000000000000";
	tpa_device d;
	int err;

	snprintf(why, cap, "ready");
	if (!s->keyset && !s->key) {
		snprintf(why, cap, "no token signing key loaded");
		return 0;
	}
	if (s->opts.store && !s->anchors) {
		snprintf(why, cap, "the EK anchors are not loaded");
		return 0;
	}
	/* A device that cannot exist: not found is a registry that answered. */
	if (s->opts.store && (err = tpa_store_get(&d, s->opts.store, zero_id)) < 0 &&
	    err != TPA_ERR_NOT_FOUND) {
		/* The cause is the log's (it may name hosts and paths), said once
		 * when the registry stops answering, not to every probe. */
		if (!atomic_exchange(&s->registry_down, 1)) {
			tpa_log_rec rec;

			tpa_log_rec_initf(&rec, TPA_LOG_ERR, "not ready: the registry does not "
					  "answer: %s", tpa_err_last());
			say(s, &rec);
		}
		snprintf(why, cap, "the registry does not answer");
		return 0;
	}
	if (s->opts.store && atomic_exchange(&s->registry_down, 0)) {
		tpa_log_rec rec;

		tpa_log_rec_initf(&rec, TPA_LOG_INFO, "ready: the registry answers again");
		say(s, &rec);
	}
	/* Ready, but judging Secure Boot by revocations that may be stale. */
	if (s->opts.sbref && s->opts.sbref_max_age_s) {
		int64_t age = (int64_t)time(NULL) - s->opts.sbref->date_unix;

		if (age > (int64_t)s->opts.sbref_max_age_s)
			snprintf(why, cap, "warning: the Secure Boot reference bundle is %lld days "
				 "old (its data of %s; the maximum is %u days)",
				 (long long)(age / 86400), s->opts.sbref->date,
				 (unsigned)(s->opts.sbref_max_age_s / 86400));
	}
	return 1;
}

/* grpc.health.v1.Health/Check: SERVING when tpa_service_ready says so,
 * for the server ("") and attest.v1.Verifier; any other name NOT_FOUND,
 * as the health protocol asks. */
void tpa_service_health_check(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx)
{
	tpa_service *s = ctx;
	pbarena arena;
	Grpc__Health__V1__HealthCheckRequest *in;
	Grpc__Health__V1__HealthCheckResponse out = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
	char why[128];

	if (!(in = unpack(r, &arena, &grpc__health__v1__health_check_request__descriptor, req, len,
			   "HealthCheckRequest")))
		return;
	if (strcmp(in->service, "") != 0 && strcmp(in->service, "attest.v1.Verifier") != 0) {
		refuse(r, TPA_RPC_NOT_FOUND, "unknown service");
	} else {
		out.status = ready_locked(s, why, sizeof(why)) ?
			GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING :
			GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
		reply_msg(r, &out.base);
	}
	pbarena__release(&arena);
}

/* The HTTP face's share of the service: the same rules, read under the
 * settings' read lock like every RPC. */
int tpa_service_ready(tpa_service *s, char *why, size_t cap)
{
	int ok;

	pthread_rwlock_rdlock(&s->live);
	ok = ready_locked(s, why, cap);
	pthread_rwlock_unlock(&s->live);
	return ok;
}

int tpa_service_relying_party(tpa_service *s, const char *cn, int cn_exact, int client_auth,
			      char *why, size_t cap)
{
	size_t i;
	int ok = 0;

	if (!client_auth) {
		snprintf(why, cap, "client certificate \"%s\" does not name the clientAuth "
			 "extended key usage", cn);
		return 0;
	}
	pthread_rwlock_rdlock(&s->live);
	for (i = 0; cn_exact && i < s->opts.nrelying_parties; i++)
		if (strcmp(s->opts.relying_parties[i], cn) == 0)
			ok = 1;
	if (!ok)
		snprintf(why, cap, "\"%s\" is not an allowed relying party%s", cn,
			 s->opts.nrelying_parties ? "" :
			 " (the verifier allows none: --relying-party)");
	pthread_rwlock_unlock(&s->live);
	return ok;
}

tpa_store *tpa_service_store(tpa_service *s)
{
	return s->opts.store;
}

void tpa_service_staleness(tpa_service *s, tpa_staleness *out)
{
	/* A SIGHUP replaces it under the write side. */
	pthread_rwlock_rdlock(&s->live);
	*out = s->opts.staleness;
	pthread_rwlock_unlock(&s->live);
}

void tpa_service_log(tpa_service *s, const tpa_log_rec *rec)
{
	say(s, rec);
}
