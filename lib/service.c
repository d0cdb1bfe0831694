/* SPDX-License-Identifier: BSD-3-Clause */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "attest/v1/attest.pb-c.h"
#include "tpa/bootstate.h"
#include "tpa/err.h"
#include "tpa/eventlog.h"
#include "tpa/evidence.h"
#include "tpa/identity.h"
#include "tpa/quote.h"
#include "tpa/service.h"
#include "tpa/tpm_decode.h"

#define PENDING_MAX 4096  /* enrollments waiting for Activate */
#define INTERMEDIATES_MAX TPA_ENROLL_INTERMEDIATES_MAX
#define BASELINE_CACHE_MAX 256
#define KEYS_OWNED_MAX 64      /* key reloads kept alive until the service ends */

/* An enrollment between Enroll and Activate. Its credential is the nonce
 * of a challenge with the same id (single use, expiring). */
typedef struct pending {
	struct pending *next;
	char id[TPA_CHALLENGE_ID_LEN + 1];
	uint64_t expires_ms;
	char device_id[TPA_DEVICE_ID_LEN + 1];
	char ak_name[2 * TPA_NAME_MAX + 1];
	uint8_t *ek_pub, *ek_cert, *ak_pub;
	size_t ek_pub_len, ek_cert_len, ak_pub_len;
} pending;

struct tpa_service {
	tpa_nonce_store *nonces;
	tpa_service_opts opts;
	char *verifier_id;
	char *ek_ca;
	pthread_mutex_t lock;        /* the pending list, the baselines and the keys */
	const tpa_token_key *key;    /* signs tokens now */
	const tpa_token_key *previous; /* published in the JWKS during a rotation */
	tpa_token_key *owned[KEYS_OWNED_MAX]; /* given by tpa_service_set_keys */
	size_t nowned;
	pending *pending;
	size_t npending;
	/* Registry baselines, parsed once per name and version (versions are
	 * append-only, so an entry never goes stale). */
	struct {
		char name[TPA_BASELINE_NAME_MAX + 1];
		int version;
		tpa_baseline *b;
	} baselines[BASELINE_CACHE_MAX];
	size_t nbaselines;
};

static void pending_free(pending *p)
{
	if (!p)
		return;
	free(p->ek_pub);
	free(p->ek_cert);
	free(p->ak_pub);
	free(p);
}

int tpa_service_new(tpa_service **out, const tpa_service_opts *o)
{
	tpa_service *s;
	int err;

	if (!out || !o || !o->key)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "service: a token key is required");
	if (!(s = calloc(1, sizeof(*s))))
		return tpa_err_fail(TPA_ERR_NOMEM, "service: out of memory");
	s->opts = *o;
	if (!s->opts.nonce_ttl_ms)
		s->opts.nonce_ttl_ms = TPA_NONCE_DEFAULT_TTL_MS;
	if (!s->opts.max_challenges)
		s->opts.max_challenges = TPA_NONCE_DEFAULT_MAX;
	if (!s->opts.token_ttl_s)
		s->opts.token_ttl_s = TPA_TOKEN_DEFAULT_TTL_S;
	if (!(s->verifier_id = strdup(o->verifier_id ? o->verifier_id : "tpm-attest"))) {
		free(s);
		return tpa_err_fail(TPA_ERR_NOMEM, "service: out of memory");
	}
	s->opts.verifier_id = s->verifier_id;
	if ((o->store != NULL) != (o->ek_ca != NULL)) {
		free(s->verifier_id);
		free(s);
		return tpa_err_fail(TPA_ERR_INVALID_ARG,
				    "service: a registry needs trusted EK CAs, and the other way round");
	}
	if (o->ek_ca && !(s->ek_ca = strdup(o->ek_ca))) {
		free(s->verifier_id);
		free(s);
		return tpa_err_fail(TPA_ERR_NOMEM, "service: out of memory");
	}
	s->opts.ek_ca = s->ek_ca;
	pthread_mutex_init(&s->lock, NULL);
	s->key = o->key;
	s->previous = o->previous_key;
	if ((err = tpa_nonce_store_new(&s->nonces, s->opts.nonce_ttl_ms,
				       s->opts.max_challenges)) < 0) {
		pthread_mutex_destroy(&s->lock);
		free(s->ek_ca);
		free(s->verifier_id);
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

void tpa_service_free(tpa_service *s)
{
	pending *p, *n;
	size_t i;

	if (!s)
		return;
	for (p = s->pending; p; p = n) {
		n = p->next;
		pending_free(p);
	}
	for (i = 0; i < s->nbaselines; i++)
		tpa_baseline_free(s->baselines[i].b);
	for (i = 0; i < s->nowned; i++)
		tpa_token_key_free(s->owned[i]);
	pthread_mutex_destroy(&s->lock);
	tpa_nonce_store_free(s->nonces);
	free(s->ek_ca);
	free(s->verifier_id);
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

int tpa_service_jwks(char **out, tpa_service *s)
{
	const tpa_token_key *keys[2];

	if (!out || !s)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "service JWKS: NULL");
	pthread_mutex_lock(&s->lock);
	keys[0] = s->key;
	keys[1] = s->previous;
	pthread_mutex_unlock(&s->lock);
	return tpa_token_jwks(out, keys, 2);
}

tpa_nonce_store *tpa_service_nonces(tpa_service *s)
{
	return s ? s->nonces : NULL;
}

int tpa_service_register(tpa_service *s, tpa_rpc_server *srv)
{
	int err;

	if ((err = tpa_rpc_server_add_method(srv, TPA_RPC_GET_CHALLENGE,
					     tpa_service_get_challenge, s)) < 0 ||
	    (err = tpa_rpc_server_add_method(srv, TPA_RPC_ATTEST, tpa_service_attest,
					     s)) < 0)
		return err;
	if ((err = tpa_rpc_server_add_method(srv, TPA_RPC_GET_KEYS, tpa_service_get_keys, s)) < 0)
		return err;
	if (s->opts.store &&
	    ((err = tpa_rpc_server_add_method(srv, TPA_RPC_ENROLL, tpa_service_enroll, s)) < 0 ||
	     (err = tpa_rpc_server_add_method(srv, TPA_RPC_ACTIVATE, tpa_service_activate,
					      s)) < 0 ||
	     (err = tpa_rpc_server_add_method(srv, TPA_RPC_COMPLIANCE, tpa_service_compliance,
					      s)) < 0))
		return err;
	return 0;
}

static void logf_(tpa_service *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void logf_(tpa_service *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!s->opts.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->opts.log(s->opts.log_ctx, line);
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

/* Copies a client's free text for a log line: printable ASCII only. */
static void safe_text(char *out, size_t cap, const char *in)
{
	size_t i = 0;

	for (; in && *in && i + 1 < cap; in++)
		out[i++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[i] = '\0';
}

void tpa_service_get_challenge(tpa_rpc_reply *r, const uint8_t *req, size_t len,
			       void *ctx)
{
	tpa_service *s = ctx;
	Attest__V1__GetChallengeRequest *in;
	Attest__V1__GetChallengeResponse out = ATTEST__V1__GET_CHALLENGE_RESPONSE__INIT;
	tpa_challenge c;
	char hint[TPA_DEVICE_HINT_MAX + 1];
	int err;

	if (!(in = attest__v1__get_challenge_request__unpack(NULL, len, req))) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "malformed GetChallengeRequest protobuf");
		return;
	}
	if (in->device_hint && strlen(in->device_hint) > TPA_DEVICE_HINT_MAX) {
		attest__v1__get_challenge_request__free_unpacked(in, NULL);
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "device_hint longer than %d bytes",
		       TPA_DEVICE_HINT_MAX);
		return;
	}
	safe_text(hint, sizeof(hint), in->device_hint);
	attest__v1__get_challenge_request__free_unpacked(in, NULL);
	if ((err = tpa_nonce_issue(&c, s->nonces)) < 0) {
		refuse(r, err == TPA_ERR_LIMIT ? TPA_RPC_RESOURCE_EXHAUSTED :
		       TPA_RPC_INTERNAL, "%s", tpa_err_last());
		return;
	}
	out.challenge_id = c.id;
	out.nonce.data = c.nonce;
	out.nonce.len = sizeof(c.nonce);
	out.valid_for_ms = tpa_nonce_store_ttl(s->nonces);
	out.expires_at_unix = (int64_t)time(NULL) + (out.valid_for_ms + 999) / 1000;
	reply_msg(r, &out.base);
	logf_(s, "challenge issued id=%.8s... device_hint=\"%s\"", c.id, hint);
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
	if (strlen(in->challenge_id) > TPA_CHALLENGE_ID_LEN) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "challenge_id longer than %d characters",
		       TPA_CHALLENGE_ID_LEN);
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

/* The detail of a finding, or "". */
static const char *check_detail_of(const tpa_findings *f, tpa_check_id id)
{
	const tpa_check *c = tpa_findings_get(f, id);

	return c ? c->detail : "";
}

/* Whether the last finding added passed. */
static int check_passed_all(const tpa_findings *f)
{
	return f->n > 0 && f->items[f->n - 1].passed;
}

/* PCRs the OS extends after the firmware log ends (IMA): not replayed. */
#define EVENTLOG_IGNORED_PCRS (1u << 10)

static const char *tristate_name(Attest__V1__Tristate t)
{
	switch (t) {
	case ATTEST__V1__TRISTATE__TRISTATE_ON: return "enabled";
	case ATTEST__V1__TRISTATE__TRISTATE_OFF: return "disabled";
	case ATTEST__V1__TRISTATE__TRISTATE_UNKNOWN:
	case _ATTEST__V1__TRISTATE_IS_INT_SIZE:
		break;
	}
	return "unknown";
}

/* The event log: parsed, replayed against the PCR values the quote vouches
 * for, and read for the trusted-launch state. Fills tl; adds findings. */
/* Strings the trusted-launch reply points into. */
typedef struct {
	char sb_reason[TPA_CHECK_DETAIL_MAX];
	char firmware[128];
	char cmdline[TPA_CMDLINE_MAX];
	char apps[TPA_BOOT_APPS_MAX][TPA_PATH_MAX + 2 * TPA_DIGEST_MAX + 16];
	char *app_ptrs[TPA_BOOT_APPS_MAX];
} tl_text;

/* The boot against its baseline, once the evidence holds: the quote and
 * every check so far passed, the log (if any) replays and its data matches
 * its digests. *appraised says whether it ran. */
static int judge_boot(tpa_appraisal *ap, int *appraised, const tpa_baseline *bl,
		      const tpa_findings *f, const tpa_eventlog *log, const tpa_bootstate *bs,
		      const tpa_pcr_set *pcrs)
{
	tpa_boot_evidence ev;

	*appraised = 0;
	if (!bl || !check_passed_all(f) || bs->digest_mismatches)
		return 0;
	ev.log = log;
	ev.state = bs;
	ev.bank = pcrs->banks[0].hash_alg;
	ev.quoted = pcrs;
	if (tpa_baseline_appraise(ap, bl, &ev) < 0)
		return -1;
	*appraised = 1;
	return 0;
}

static int appraise_eventlog(tpa_findings *f, Attest__V1__TrustedLaunch *tl,
			     tl_text *txt, const Attest__V1__AttestRequest *in,
			     const tpa_pcr_set *pcrs, int quote_ok, const tpa_baseline *bl,
			     tpa_appraisal *ap, int *appraised)
{
	tpa_eventlog *log = NULL;
	tpa_replay rp;
	tpa_bootstate bs = { 0 };
	uint16_t quoted[TPA_BANKS_MAX];
	uint32_t b;
	int err;

	char *sb_reason = txt->sb_reason;
	size_t sb_reason_cap = sizeof(txt->sb_reason);

	tl->secure_boot = (char *)"unknown";
	snprintf(sb_reason, sb_reason_cap, "no event log");
	*appraised = 0;
	if (!in->event_log.len) {
		bs.secure_boot = TPA_SB_UNKNOWN;
		bs.first_mismatch = -1;
		return quote_ok ? judge_boot(ap, appraised, bl, f, NULL, &bs, pcrs) : 0;
	}
	for (b = 0; b < pcrs->nbanks; b++)
		quoted[b] = pcrs->banks[b].hash_alg;
	/* Only the banks the quote covers are worth replaying. */
	if ((err = tpa_eventlog_parse(&log, in->event_log.data, in->event_log.len)) < 0 ||
	    (err = tpa_eventlog_replay_banks(&rp, log, quoted, pcrs->nbanks)) < 0) {
		if (err == TPA_ERR_NOMEM || err == TPA_ERR_CRYPTO)
			goto cleanup;
		tpa_findings_add(f, TPA_CHECK_EVENTLOG_PARSE, 0, "%s", tpa_err_last());
		snprintf(sb_reason, sb_reason_cap, "the event log is malformed");
		err = 0;
		goto cleanup;
	}
	tpa_findings_add(f, TPA_CHECK_EVENTLOG_PARSE, 1, "%s log, %zu events",
			 tpa_eventlog_format(log) == TPA_EVLOG_CRYPTO_AGILE ?
			 "crypto-agile" : "SHA1", tpa_eventlog_count(log));
	if ((err = tpa_eventlog_compare(f, &rp, pcrs, EVENTLOG_IGNORED_PCRS)) < 0 &&
	    err != TPA_ERR_VERIFY)
		goto cleanup;
	/* The PCR values are the quote's only if every quote check passed. */
	tl->measured_boot = quote_ok && err == 0 && check_passed_all(f);
	/* Event data is checked against the first quoted bank's digests. */
	if ((err = tpa_bootstate_derive(&bs, log, pcrs->banks[0].hash_alg)) < 0)
		goto cleanup;
	/* Only a log that replays to the quote is evidence. */
	if (tl->measured_boot) {
		size_t i;

		tl->secure_boot = (char *)tpa_secure_boot_name(bs.secure_boot);
		snprintf(sb_reason, sb_reason_cap, "%s", bs.secure_boot_why);
		snprintf(txt->firmware, sizeof(txt->firmware), "%s", bs.firmware_version);
		snprintf(txt->cmdline, sizeof(txt->cmdline), "%s", bs.kernel_cmdline);
		tl->firmware_version = txt->firmware;
		tl->kernel_cmdline = txt->cmdline;
		tl->uefi_debug_mode = bs.uefi_debug_mode;
		for (i = 0; i < bs.napps; i++) {
			char hex[2 * TPA_DIGEST_MAX + 1];

			tpa_hex(hex, bs.apps[i].digest, bs.apps[i].digest_len);
			snprintf(txt->apps[i], sizeof(txt->apps[i]), "%s %s:%s",
				 bs.apps[i].path[0] ? bs.apps[i].path : "?",
				 tpa_hash_label(pcrs->banks[0].hash_alg), hex);
			txt->app_ptrs[i] = txt->apps[i];
		}
		tl->n_boot_applications = bs.napps;
		tl->boot_applications = txt->app_ptrs;
		tl->exit_boot_services = bs.exit_boot_services;
		tl->events_after_exit_boot_services = bs.events_after_ebs;
	} else {
		snprintf(sb_reason, sb_reason_cap, quote_ok ?
			 "the event log does not replay to the quoted PCRs" :
			 "the quote did not verify, so the log proves nothing");
	}
	tl->events = (uint32_t)tpa_eventlog_count(log);
	if (bs.digest_mismatches)
		tpa_findings_add(f, TPA_CHECK_EVENTLOG_DIGESTS, 0,
				 "%u event(s) carry data that does not hash to their digest (first: #%d)",
				 bs.digest_mismatches, bs.first_mismatch);
	if (tl->measured_boot && in->client_view &&
	    in->client_view->secure_boot != ATTEST__V1__TRISTATE__TRISTATE_UNKNOWN &&
	    bs.secure_boot != TPA_SB_UNKNOWN) {
		const char *claimed = tristate_name(in->client_view->secure_boot);
		const char *shown = tpa_secure_boot_name(bs.secure_boot);

		if (strcmp(claimed, shown) != 0)
			tpa_findings_add(f, TPA_CHECK_CLIENT_SECURE_BOOT, 0,
					 "the device reports Secure Boot %s, its event log shows %s",
					 claimed, shown);
		else
			tpa_findings_add(f, TPA_CHECK_CLIENT_SECURE_BOOT, 1,
					 "the device's report agrees with the log (%s)", shown);
	}
	err = tl->measured_boot ? judge_boot(ap, appraised, bl, f, log, &bs, pcrs) : 0;
cleanup:
	tpa_bootstate_clear(&bs);
	tpa_eventlog_free(log);
	return err;
}

/* The AR4SI trustworthiness vector (docs/claims.md): hardware from the quote
 * and the EK chain behind a registered AK, instance identity from the
 * registry, executables and configuration from the evidence and the rules
 * of the baseline that judge them. */
static int rule_claim(const tpa_appraisal *ap, const tpa_rule_id *ids, size_t n, int pass,
		      int warn, int crit)
{
	int seen = 0, worst = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		const tpa_rule_result *r = &ap->rules[ids[i]];

		if (r->status == TPA_RULE_NOT_APPLICABLE)
			continue;
		seen = 1;
		if (r->status == TPA_RULE_FAIL)
			worst = r->severity == TPA_SEVERITY_CRITICAL ? crit :
				(worst == crit ? crit : warn);
	}
	return !seen ? 0 : worst ? worst : pass;
}

static void ar4si_vector(tpa_ar4si *v, const tpa_findings *f, int have_dev, int evidence_ok,
			 const tpa_appraisal *ap)
{
	static const tpa_rule_id exec[] = { TPA_RULE_FIRMWARE_VERSION, TPA_RULE_BOOT_APPLICATIONS,
					    TPA_RULE_KNOWN_EVENTS };
	static const tpa_rule_id conf[] = { TPA_RULE_SECURE_BOOT, TPA_RULE_UEFI_DEBUG_MODE,
					    TPA_RULE_PK, TPA_RULE_KEK, TPA_RULE_DB,
					    TPA_RULE_AUTHORITIES, TPA_RULE_KERNEL_CMDLINE,
					    TPA_RULE_PCRS };
	const tpa_check *sig = tpa_findings_get(f, TPA_CHECK_QUOTE_SIGNATURE);
	int log_bad;

	memset(v, 0, sizeof(*v));
	v->hardware = sig && !sig->passed ? 99 : have_dev ? 2 : 0;
	v->instance_identity = have_dev ? 2 : 0;
	log_bad = tpa_findings_failed_class(f, TPA_CHECK_CLASS_EVENTLOG) > 0;
	if (log_bad) {
		v->executables = 99;
		return;
	}
	if (!evidence_ok || !ap)
		return;
	v->executables = rule_claim(ap, exec, sizeof(exec) / sizeof(exec[0]), 3, 33, 96);
	v->configuration = rule_claim(ap, conf, sizeof(conf) / sizeof(conf[0]), 2, 32, 96);
	/* A stale dbx is a known vulnerability of the configuration. */
	if (ap->rules[TPA_RULE_DBX].status == TPA_RULE_FAIL && v->configuration < 32)
		v->configuration = 32;
	else if (ap->rules[TPA_RULE_DBX].status == TPA_RULE_PASS && v->configuration == 0)
		v->configuration = 2;
}

/* The key that signs tokens now (keys are kept until the service ends). */
static const tpa_token_key *current_key(tpa_service *s)
{
	const tpa_token_key *k;

	pthread_mutex_lock(&s->lock);
	k = s->key;
	pthread_mutex_unlock(&s->lock);
	return k;
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

void tpa_service_attest(tpa_rpc_reply *r, const uint8_t *req, size_t len,
			void *ctx)
{
	tpa_service *s = ctx;
	Attest__V1__AttestRequest *in;
	Attest__V1__AttestResponse out = ATTEST__V1__ATTEST_RESPONSE__INIT;
	Attest__V1__Verdict verdict = ATTEST__V1__VERDICT__INIT;
	Attest__V1__TrustedLaunch tl = ATTEST__V1__TRUSTED_LAUNCH__INIT;
	tl_text *txt = NULL;
	tpa_device dev;
	int have_dev = 0;
	Attest__V1__CheckResult checks[TPA_CHECKS_MAX], *checkp[TPA_CHECKS_MAX];
	tpa_pcr_set pcrs;
	tpa_findings f;
	tpa_quote_evidence ev = { 0 };
	tpa_token_claims claims;
	tpa_appraisal ap;
	Attest__V1__Appraisal apr = ATTEST__V1__APPRAISAL__INIT;
	Attest__V1__RuleResult rules[TPA_RULE_COUNT], *rulep[TPA_RULE_COUNT];
	const tpa_baseline *bl = NULL;
	tpa_baseline *bl_owned = NULL;
	const char *outcome;
	int bl_version = 0, appraised = 0, evidence_ok, compliant;
	char *pcrs_json = NULL;
	const tpa_check *sig;
	uint64_t tpm_firmware = 0;
	uint8_t nonce[TPA_NONCE_LEN], name[TPA_NAME_MAX];
	char name_hex[2 * TPA_NAME_MAX + 1], hint[TPA_DEVICE_HINT_MAX + 1];
	char *token = NULL;
	size_t name_len = 0, i;
	int have_nonce, err;

	if (!(in = attest__v1__attest_request__unpack(NULL, len, req))) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "malformed AttestRequest protobuf");
		return;
	}
	if (check_request(r, &pcrs, in) < 0) {
		logf_(s, "attest refused: %s", r->details);
		goto cleanup;
	}
	safe_text(hint, sizeof(hint), in->device_hint);

	memset(&f, 0, sizeof(f));
	have_nonce = tpa_nonce_take(nonce, s->nonces, in->challenge_id) == 0;
	if (have_nonce)
		tpa_findings_add(&f, TPA_CHECK_CHALLENGE, 1, "issued here, unused, unexpired");
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
	err = tpa_quote_verify(&f, &ev, have_nonce ? nonce : NULL,
			       have_nonce ? sizeof(nonce) : 0, name, &name_len);
	if (err < 0 && err != TPA_ERR_VERIFY) {
		refuse(r, TPA_RPC_INTERNAL, "verification failed: %s", tpa_err_last());
		goto cleanup;
	}
	tpa_hex(name_hex, name, name_len);

	/* With a registry, only a registered AK of an active device. */
	if (s->opts.store) {
		if (name_len == 0) {
			refuse(r, TPA_RPC_PERMISSION_DENIED, "the AK cannot be identified: %s",
			       check_detail_of(&f, TPA_CHECK_AK_PUBLIC));
			goto cleanup;
		}
		if (tpa_store_find_by_ak(&dev, s->opts.store, name_hex) < 0) {
			refuse(r, TPA_RPC_PERMISSION_DENIED,
			       "AK %.16s... is not registered: enroll the device first", name_hex);
			logf_(s, "attest refused: %s", r->details);
			goto cleanup;
		}
		if (dev.state != TPA_DEVICE_ACTIVE) {
			refuse(r, TPA_RPC_FAILED_PRECONDITION, "device %.16s... is %s", dev.id,
			       tpa_device_state_name(dev.state));
			logf_(s, "attest refused: %s", r->details);
			goto cleanup;
		}
		have_dev = 1;
		tpa_findings_add(&f, TPA_CHECK_DEVICE_REGISTERED, 1,
				 "AK registered to device %.16s..., active", dev.id);
	}

	if (!(txt = calloc(1, sizeof(*txt)))) {
		refuse(r, TPA_RPC_RESOURCE_EXHAUSTED, "out of memory");
		goto cleanup;
	}
	tpa_appraisal_none(&ap);
	bl = baseline_for(s, have_dev ? dev.id : NULL, &bl_version, &bl_owned, &f);
	if (appraise_eventlog(&f, &tl, txt, in, &pcrs, tpa_findings_failed(&f) == 0, bl, &ap,
			      &appraised) < 0) {
		refuse(r, TPA_RPC_INTERNAL, "event log: %s", tpa_err_last());
		goto cleanup;
	}
	tl.secure_boot_reason = txt->sb_reason;
	tl.client_view = in->client_view;

	/* Compliant: the evidence holds and the boot matches its baseline (or
	 * breaks only warning rules). Without a baseline: not compliant. */
	evidence_ok = tpa_findings_failed(&f) == 0;
	if (!evidence_ok)
		outcome = "not-appraised";
	else if (!appraised)
		outcome = tpa_outcome_name(TPA_OUTCOME_NO_BASELINE);
	else
		outcome = tpa_outcome_name(ap.outcome);
	compliant = evidence_ok && appraised &&
		    (ap.outcome == TPA_OUTCOME_COMPLIANT || ap.outcome == TPA_OUTCOME_WARNING);
	apr.outcome = (char *)outcome;
	apr.baseline = (char *)(bl ? tpa_baseline_name(bl) : "");
	apr.baseline_version = (uint32_t)bl_version;
	for (i = 0; appraised && i < TPA_RULE_COUNT; i++) {
		const tpa_rule_result *x = &ap.rules[i];

		attest__v1__rule_result__init(&rules[i]);
		rules[i].rule = (char *)tpa_rule_name(x->rule);
		rules[i].severity = (char *)(x->severity == TPA_SEVERITY_CRITICAL ? "critical" :
					     "warning");
		rules[i].status = (char *)tpa_rule_status_name(x->status);
		rules[i].event = x->event;
		rules[i].pcr = x->pcr;
		rules[i].detail = (char *)x->detail;
		rulep[i] = &rules[i];
	}
	apr.n_rules = appraised ? TPA_RULE_COUNT : 0;
	apr.rules = rulep;

	memset(&claims, 0, sizeof(claims));
	claims.status = tpa_ear_status(outcome, evidence_ok);
	/* Without a registry the AK is taken on its word: nothing says the
	 * TPM is genuine or which device it is, so the result is no better
	 * than a warning (its reasons say why). */
	if (!have_dev && strcmp(claims.status, "affirming") == 0) {
		claims.status = "warning";
		claims.unbound_ak = 1;
	}
	ar4si_vector(&claims.vector, &f, have_dev, evidence_ok, appraised ? &ap : NULL);
	claims.outcome = outcome;
	claims.appraisal = appraised ? &ap : NULL;
	if (bl) {
		claims.baseline = tpa_baseline_name(bl);
		claims.baseline_version = bl_version;
	}
	claims.findings = &f;
	claims.nonce = have_nonce ? nonce : NULL;
	claims.nonce_len = have_nonce ? sizeof(nonce) : 0;
	claims.ak_name_hex = name_len ? name_hex : NULL;
	claims.device_id = have_dev ? dev.id : NULL;
	claims.developer = s->verifier_id;
	claims.iat = (int64_t)time(NULL);
	claims.ttl_s = s->opts.token_ttl_s;
	claims.secure_boot = tl.secure_boot;
	claims.measured_boot = tl.measured_boot;
	claims.firmware_version = tl.firmware_version;
	claims.tpm_manufacturer = have_dev ? dev.tpm_manufacturer : NULL;
	/* The TPM's firmware version as the quote it signed says it. */
	sig = tpa_findings_get(&f, TPA_CHECK_QUOTE_SIGNATURE);
	if (sig && sig->passed) {
		claims.tpm_firmware[0] = (uint32_t)(tpm_firmware >> 32);
		claims.tpm_firmware[1] = (uint32_t)tpm_firmware;
		claims.have_tpm_firmware = 1;
	}
	if (tpa_token_sign(&token, current_key(s), &claims) < 0) {
		refuse(r, TPA_RPC_INTERNAL, "token: %s", tpa_err_last());
		goto cleanup;
	}

	for (i = 0; i < f.n; i++) {
		attest__v1__check_result__init(&checks[i]);
		checks[i].name = f.items[i].name;
		checks[i].passed = f.items[i].passed;
		checks[i].detail = f.items[i].detail;
		checkp[i] = &checks[i];
	}
	verdict.status = !compliant ? ATTEST__V1__VERDICT__STATUS__NON_COMPLIANT :
		ap.outcome == TPA_OUTCOME_WARNING ? ATTEST__V1__VERDICT__STATUS__WARNING :
		ATTEST__V1__VERDICT__STATUS__COMPLIANT;
	verdict.appraisal = &apr;
	verdict.n_checks = f.n;
	verdict.checks = checkp;
	verdict.ak_name = name_hex;
	verdict.trusted_launch = &tl;
	out.verdict = &verdict;
	out.token = token;
	reply_msg(r, &out.base);
	if (have_dev) {
		tpa_attest_record rec = { 0 };
		char reasons[512] = "", bl_ref[TPA_BASELINE_NAME_MAX + 16];
		size_t k, o = 0;

		for (k = 0; k < f.n + TPA_RULE_COUNT && o + 2 < sizeof(reasons); k++) {
			const char *what = k < f.n ? (f.items[k].passed ? NULL : f.items[k].name) :
				appraised && ap.rules[k - f.n].status == TPA_RULE_FAIL ?
				tpa_rule_name(ap.rules[k - f.n].rule) : NULL;
			int w;

			if (!what)
				continue;
			w = snprintf(reasons + o, sizeof(reasons) - o, "%s%s", o ? ", " : "", what);
			if (w < 0)
				break;
			o += (size_t)w;
		}
		/* The registry's outcomes: a boot not appraised is non-compliant. */
		rec.outcome = evidence_ok ? outcome : "non-compliant";
		if (bl && bl_version > 0) {
			snprintf(bl_ref, sizeof(bl_ref), "%s@%d", tpa_baseline_name(bl), bl_version);
			rec.baseline = bl_ref;
		}
		/* The evidence is kept to learn a baseline from, only if it held
		 * (and the registry takes its size). */
		if (evidence_ok) {
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
		rec.token_exp = token ? claims.iat + (int64_t)claims.ttl_s : 0;
		if (tpa_store_record(s->opts.store, dev.id, compliant, reasons, &rec,
				     claims.iat) < 0)
			logf_(s, "registry: %s", tpa_err_last());
	}

	if (compliant) {
		logf_(s, "attest %s ak=%.16s... device_hint=\"%s\" baseline=%s@%d", outcome,
		      name_hex, hint, bl ? tpa_baseline_name(bl) : "", bl_version);
	} else {
		logf_(s, "attest non-compliant ak=%.16s... device_hint=\"%s\" outcome=%s baseline=%s@%d",
		      name_hex, hint, outcome, bl ? tpa_baseline_name(bl) : "", bl_version);
		for (i = 0; i < f.n; i++)
			if (!f.items[i].passed)
				logf_(s, "  check %s: %s", f.items[i].name, f.items[i].detail);
		for (i = 0; appraised && i < TPA_RULE_COUNT; i++)
			if (ap.rules[i].status == TPA_RULE_FAIL)
				logf_(s, "  rule %s: %s", tpa_rule_name(ap.rules[i].rule),
				      ap.rules[i].detail);
	}
cleanup:
	free(pcrs_json);
	tpa_baseline_free(bl_owned);
	free(txt);
	free(token);
	attest__v1__attest_request__free_unpacked(in, NULL);
}

/* ---- enrollment ---- */

static uint8_t *dup_bytes(const uint8_t *b, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);

	if (d && n)
		memcpy(d, b, n);
	return d;
}

/* Keeps an enrollment for Activate; drops expired ones first. */
static int pending_add(tpa_service *s, pending *p)
{
	uint64_t now = tpa_nonce_store_now(s->nonces);
	pending **pp;
	int err = 0;

	pthread_mutex_lock(&s->lock);
	for (pp = &s->pending; *pp;) {
		if ((*pp)->expires_ms <= now) {
			pending *dead = *pp;

			*pp = dead->next;
			pending_free(dead);
			s->npending--;
		} else {
			pp = &(*pp)->next;
		}
	}
	if (s->npending >= PENDING_MAX) {
		err = tpa_err_fail(TPA_ERR_LIMIT, "too many enrollments in progress");
	} else {
		p->next = s->pending;
		s->pending = p;
		s->npending++;
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

static pending *pending_take(tpa_service *s, const char *id)
{
	pending **pp, *p = NULL;

	pthread_mutex_lock(&s->lock);
	for (pp = &s->pending; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->id, id) == 0) {
			p = *pp;
			*pp = p->next;
			s->npending--;
			break;
		}
	pthread_mutex_unlock(&s->lock);
	return p;
}

void tpa_service_enroll(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx)
{
	tpa_service *s = ctx;
	Attest__V1__EnrollRequest *in;
	Attest__V1__EnrollResponse out = ATTEST__V1__ENROLL_RESPONSE__INIT;
	TPMT_PUBLIC ek, ak;
	tpa_challenge ch;
	uint8_t name[TPA_NAME_MAX], dg[32], blob[TPA_ID_OBJECT_MAX], sec[TPA_ENC_SECRET_MAX];
	size_t name_len = 0, blob_len = 0, sec_len = 0, i;
	pending *p = NULL;

	if (!(in = attest__v1__enroll_request__unpack(NULL, len, req))) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "malformed EnrollRequest protobuf");
		return;
	}
	if (!in->ek_public.len || !in->ek_certificate.len || !in->ak_public.len) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "%s missing",
		       !in->ek_public.len ? "ek_public" :
		       !in->ek_certificate.len ? "ek_certificate" : "ak_public");
		goto cleanup;
	}
	if (in->n_ek_intermediates > INTERMEDIATES_MAX) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "more than %d ek_intermediates",
		       INTERMEDIATES_MAX);
		goto cleanup;
	}
	if (tpa_decode_public(&ek, in->ek_public.data, in->ek_public.len) < 0 ||
	    tpa_decode_public(&ak, in->ak_public.data, in->ak_public.len) < 0) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "%s", tpa_err_last());
		goto cleanup;
	}
	if (tpa_ak_check_attributes(&ak) < 0 || tpa_public_name(name, &name_len, &ak) < 0) {
		refuse(r, TPA_RPC_PERMISSION_DENIED, "%s", tpa_err_last());
		logf_(s, "enroll refused: %s", r->details);
		goto cleanup;
	}
	{
		const uint8_t *inter[INTERMEDIATES_MAX];
		size_t inter_len[INTERMEDIATES_MAX];

		for (i = 0; i < in->n_ek_intermediates; i++) {
			inter[i] = in->ek_intermediates[i].data;
			inter_len[i] = in->ek_intermediates[i].len;
		}
		if (tpa_ekcert_verify(in->ek_certificate.data, in->ek_certificate.len, inter,
				      inter_len, in->n_ek_intermediates, s->ek_ca, &ek) < 0) {
			refuse(r, TPA_RPC_PERMISSION_DENIED, "%s", tpa_err_last());
			logf_(s, "enroll refused: %s", r->details);
			goto cleanup;
		}
	}
	if (!(p = calloc(1, sizeof(*p))) ||
	    !(p->ek_pub = dup_bytes(in->ek_public.data, in->ek_public.len)) ||
	    !(p->ek_cert = dup_bytes(in->ek_certificate.data, in->ek_certificate.len)) ||
	    !(p->ak_pub = dup_bytes(in->ak_public.data, in->ak_public.len))) {
		refuse(r, TPA_RPC_RESOURCE_EXHAUSTED, "out of memory");
		goto cleanup;
	}
	p->ek_pub_len = in->ek_public.len;
	p->ek_cert_len = in->ek_certificate.len;
	p->ak_pub_len = in->ak_public.len;
	if (tpa_hash(dg, TPM2_ALG_SHA256, in->ek_public.data, in->ek_public.len) < 0 ||
	    tpa_nonce_issue(&ch, s->nonces) < 0 ||
	    tpa_credential_make(blob, &blob_len, sec, &sec_len, &ek, name, name_len, ch.nonce,
				sizeof(ch.nonce)) < 0) {
		refuse(r, TPA_RPC_FAILED_PRECONDITION, "%s", tpa_err_last());
		goto cleanup;
	}
	tpa_hex(p->device_id, dg, sizeof(dg));
	tpa_hex(p->ak_name, name, name_len);
	memcpy(p->id, ch.id, sizeof(p->id));
	p->expires_ms = ch.expires_ms;
	if (pending_add(s, p) < 0) {
		refuse(r, TPA_RPC_RESOURCE_EXHAUSTED, "%s", tpa_err_last());
		goto cleanup;
	}
	logf_(s, "enroll credential issued device=%.16s... ak=%.16s...", p->device_id,
	      p->ak_name);
	p = NULL;
	out.enrollment_id = ch.id;
	out.credential_blob.data = blob;
	out.credential_blob.len = blob_len;
	out.encrypted_secret.data = sec;
	out.encrypted_secret.len = sec_len;
	out.valid_for_ms = tpa_nonce_store_ttl(s->nonces);
	reply_msg(r, &out.base);
cleanup:
	pending_free(p);
	attest__v1__enroll_request__free_unpacked(in, NULL);
}

void tpa_service_activate(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx)
{
	tpa_service *s = ctx;
	Attest__V1__ActivateRequest *in;
	Attest__V1__ActivateResponse out = ATTEST__V1__ACTIVATE_RESPONSE__INIT;
	uint8_t nonce[TPA_NONCE_LEN];
	char mf[16];
	pending *p = NULL;

	if (!(in = attest__v1__activate_request__unpack(NULL, len, req))) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "malformed ActivateRequest protobuf");
		return;
	}
	if (!in->enrollment_id || !*in->enrollment_id || !in->credential.len) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "%s missing",
		       !in->credential.len ? "credential" : "enrollment_id");
		goto cleanup;
	}
	/* The enrollment is used up whatever the answer. */
	if (tpa_nonce_take(nonce, s->nonces, in->enrollment_id) < 0) {
		refuse(r, TPA_RPC_FAILED_PRECONDITION, "enrollment: %s", tpa_err_last());
		goto cleanup;
	}
	if (!(p = pending_take(s, in->enrollment_id))) {
		refuse(r, TPA_RPC_FAILED_PRECONDITION, "enrollment: unknown or expired");
		goto cleanup;
	}
	if (in->credential.len != sizeof(nonce) ||
	    CRYPTO_memcmp(in->credential.data, nonce, sizeof(nonce)) != 0) {
		refuse(r, TPA_RPC_PERMISSION_DENIED,
		       "the credential is wrong: the AK is not in the TPM that holds the EK");
		logf_(s, "activate refused device=%.16s...: wrong credential", p->device_id);
		goto cleanup;
	}
	/* The manufacturer the (verified) EK certificate names, for the tokens;
	 * written with the enrollment, in its transaction. */
	if (tpa_ekcert_manufacturer(mf, sizeof(mf), p->ek_cert, p->ek_cert_len) < 0)
		mf[0] = '\0';
	if (tpa_store_enroll(s->opts.store, p->device_id, p->ek_pub, p->ek_pub_len, p->ek_cert,
			     p->ek_cert_len, p->ak_pub, p->ak_pub_len, p->ak_name,
			     mf[0] ? mf : NULL, (int64_t)time(NULL)) < 0) {
		refuse(r, TPA_RPC_INTERNAL, "registry: %s", tpa_err_last());
		goto cleanup;
	}
	logf_(s, "enrolled device=%.16s... ak=%.16s...", p->device_id, p->ak_name);
	out.device_id = p->device_id;
	out.ak_name = p->ak_name;
	reply_msg(r, &out.base);
cleanup:
	OPENSSL_cleanse(nonce, sizeof(nonce));
	pending_free(p);
	attest__v1__activate_request__free_unpacked(in, NULL);
}

/* ---- for relying parties ---- */

void tpa_service_get_keys(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx)
{
	tpa_service *s = ctx;
	Attest__V1__GetVerificationKeysRequest *in;
	Attest__V1__GetVerificationKeysResponse out =
		ATTEST__V1__GET_VERIFICATION_KEYS_RESPONSE__INIT;
	char *jwks = NULL;

	if (!(in = attest__v1__get_verification_keys_request__unpack(NULL, len, req))) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "malformed GetVerificationKeysRequest protobuf");
		return;
	}
	attest__v1__get_verification_keys_request__free_unpacked(in, NULL);
	if (tpa_service_jwks(&jwks, s) < 0) {
		refuse(r, TPA_RPC_INTERNAL, "%s", tpa_err_last());
		return;
	}
	out.jwks = jwks;
	reply_msg(r, &out.base);
	free(jwks);
}

static int is_device_id(const char *id)
{
	size_t i;

	if (!id || strlen(id) != TPA_DEVICE_ID_LEN)
		return 0;
	for (i = 0; i < TPA_DEVICE_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

void tpa_service_compliance(tpa_rpc_reply *r, const uint8_t *req, size_t len, void *ctx)
{
	tpa_service *s = ctx;
	Attest__V1__GetDeviceComplianceRequest *in;
	Attest__V1__GetDeviceComplianceResponse out =
		ATTEST__V1__GET_DEVICE_COMPLIANCE_RESPONSE__INIT;
	tpa_device dev;
	char *token = NULL, reason[256] = "";
	int64_t now = (int64_t)time(NULL);
	int err, good_verdict;

	/* Compliance is for the policy engine only, which proves itself with a
	 * client certificate; devices have none. */
	if (!r->peer_authenticated) {
		refuse(r, TPA_RPC_PERMISSION_DENIED,
		       "GetDeviceCompliance needs a TLS client certificate from the verifier's "
		       "client CA");
		logf_(s, "compliance refused: no client certificate");
		return;
	}
	if (!(in = attest__v1__get_device_compliance_request__unpack(NULL, len, req))) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "malformed GetDeviceComplianceRequest protobuf");
		return;
	}
	if (!is_device_id(in->device_id)) {
		refuse(r, TPA_RPC_INVALID_ARGUMENT, "device_id: not 64 lower-case hex digits");
		goto cleanup;
	}
	err = tpa_store_last_token(&token, &dev, s->opts.store, in->device_id);
	if (err == TPA_ERR_NOT_FOUND) {
		refuse(r, TPA_RPC_NOT_FOUND, "no device %.16s...", in->device_id);
		goto cleanup;
	}
	if (err < 0) {
		refuse(r, TPA_RPC_INTERNAL, "registry: %s", tpa_err_last());
		goto cleanup;
	}
	out.device_id = dev.id;
	out.outcome = dev.last_outcome;
	out.verdict_at = dev.last_attest_at;
	out.token = token ? token : (char *)"";
	out.token_expires_at = dev.last_token_exp;
	out.expired = !token || dev.last_token_exp <= now;
	out.state = (char *)tpa_device_state_name(dev.state);
	out.revoked_since_verdict = dev.state_changed_at > 0 &&
				    dev.state_changed_at >= dev.last_attest_at;
	out.baseline = dev.last_baseline;
	good_verdict = strcmp(dev.last_outcome, "compliant") == 0 ||
		       strcmp(dev.last_outcome, "warning") == 0;
	if (dev.state != TPA_DEVICE_ACTIVE)
		snprintf(reason, sizeof(reason), "the device is %s", out.state);
	else if (!dev.last_attest_at)
		snprintf(reason, sizeof(reason), "the device never attested");
	else if (out.revoked_since_verdict)
		snprintf(reason, sizeof(reason), "the device was revoked or reinstated after its "
			 "last verdict");
	else if (!good_verdict)
		snprintf(reason, sizeof(reason), "the last verdict was %s", dev.last_outcome);
	else if (out.expired)
		snprintf(reason, sizeof(reason), "the last verdict's token expired");
	out.compliant = reason[0] == '\0';
	out.reason = reason;
	reply_msg(r, &out.base);
	logf_(s, "compliance device=%.16s... asked by \"%s\": %s%s%s", dev.id, r->peer_cn,
	      out.compliant ? "compliant" : "not compliant", reason[0] ? ": " : "", reason);
cleanup:
	free(token);
	attest__v1__get_device_compliance_request__free_unpacked(in, NULL);
}

