/* SPDX-License-Identifier: BSD-3-Clause */
/* Continuous enforcement: the verifier tells the places where access is
 * decided when a device's compliance changes, whoever changed it (a verdict
 * of this process, `verifier devices revoke` in another, or time: a device
 * gone stale, a token expired).
 *
 * A watcher thread compares every device's compliance now (tpa/compliance.h,
 * as an enforcement point is told it) with the last one acted on, which the
 * registry keeps. On a change it writes, in one transaction, the new
 * acted-on compliance and what is owed: a CAEP SET for each receiver, and
 * an RFC 5176 Disconnect-Request for each open RADIUS session of the
 * device at a NAS this verifier has a secret for (the outbox, durable:
 * a restart loses nothing). It looks when the registry changes (another
 * connection committed), when the earliest time-based change comes, when
 * kicked, and at most every tick.
 *
 * One delivery thread per target (a NAS, a receiver) drains the outbox:
 * a NAS that never answers or a receiver that hangs holds up only its own
 * queue. RADIUS: the request retried on its own (tries x timeout), then a
 * few more attempts; ACK, NAK and giving up are audited. CAEP: retried
 * with backoff until TPA_WATCH_CAEP_GIVE_UP_S, each SET signed when sent
 * with the verifier's current key, its jti fixed when the change was
 * recorded (receivers drop duplicates). */
#ifndef TPA_WATCH_H
#define TPA_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/caep.h"
#include "tpa/metrics.h"
#include "tpa/compliance.h"
#include "tpa/radius.h"
#include "tpa/store.h"
#include "tpa/token.h"

#define TPA_WATCH_TICK_MS 200            /* looks at least this often for a change */
#define TPA_WATCH_DAS_MAX 16             /* NASes */
#define TPA_WATCH_RECEIVERS_MAX 16       /* CAEP receivers */
#define TPA_WATCH_RADIUS_ATTEMPTS 3      /* each of tries sends */
#define TPA_WATCH_CAEP_BACKOFF_MAX_S 300
#define TPA_WATCH_CAEP_GIVE_UP_S (7 * 86400)
#define TPA_WATCH_BATCH 64               /* outbox items read at once */
#define TPA_WATCH_DEVICES_MAX 1000000    /* a registry listed at once, at most */

/* A NAS's Dynamic Authorization Server: the sessions whose NAS-IP-Address
 * is nas_ip are ended by a Disconnect-Request to addr ("host:port"). */
typedef struct {
	char nas_ip[64];
	char addr[128];
	uint8_t secret[TPA_RADIUS_SECRET_MAX];
	size_t secret_len;
} tpa_watch_das;

/* Parses "NAS_IP[:PORT],SECRET_FILE" (IPv6 "[addr]:port"; port 3799 by
 * default) and reads the secret (tpa_radius's rules: at most 128
 * printable characters, a final newline dropped). */
int tpa_watch_das_parse(tpa_watch_das *out, const char *spec);

/* A CAEP receiver: "URL[,aud=AUDIENCE][,bearer-file=FILE][,ca=FILE]". */
typedef struct {
	char url[TPA_CAEP_URL_MAX + 1];
	char aud[TPA_CAEP_URL_MAX + 1];      /* "" : the SETs carry no aud */
	char *bearer;                        /* malloc'd, or NULL */
	char ca_file[4096];                  /* "" : the system's */
} tpa_watch_receiver;

int tpa_watch_receiver_parse(tpa_watch_receiver *out, const char *spec);
void tpa_watch_receiver_clear(tpa_watch_receiver *r);

/* The SET signer: the verifier's current token key (called on a delivery
 * thread; must be thread-safe). NULL: CAEP cannot be sent. */
typedef const tpa_token_key *(*tpa_watch_key_fn)(void *ctx, int64_t now);

typedef struct {
	const char *registry;                /* where: the watcher opens its own */
	tpa_staleness staleness;
	int accept_warning;                  /* as /v1/authz */
	const tpa_watch_das *das;            /* copied */
	size_t ndas;
	const tpa_watch_receiver *receivers; /* copied */
	size_t nreceivers;
	const char *iss;                     /* the SETs' iss (the tokens') */
	tpa_watch_key_fn key;
	void *key_ctx;
	unsigned tick_ms;                    /* 0: TPA_WATCH_TICK_MS */
	unsigned radius_tries;               /* 0: 3 */
	unsigned radius_timeout_ms;          /* 0: 1000 */
	unsigned caep_timeout_ms;            /* 0: 5000 */
	tpa_metrics *metrics;                /* NULL: none; the tpa_enforce_* families
					      * are added to it (docs/metrics.md) */
} tpa_watch_opts;

typedef struct tpa_watch tpa_watch;

/* Opens the registry connections and starts the threads. */
int tpa_watch_start(tpa_watch **out, const tpa_watch_opts *o);
/* Something changed (a verdict recorded here): look now. Any thread. */
void tpa_watch_kick(tpa_watch *w);
/* A RADIUS session began (accounting Start or Interim-Update): admitted
 * says what the RADIUS server was told at its authentication (1 compliant,
 * 0 not, -1 unknown). If the device's compliance now differs (it changed
 * between the authentication and the accounting), the session is ended
 * at once, as the watcher would have if it had known of it. */
int tpa_watch_session(tpa_watch *w, const tpa_session *se, int admitted);
/* Changes the staleness and warning policy (a reload). */
void tpa_watch_set_policy(tpa_watch *w, const tpa_staleness *p, int accept_warning);
/* Stops the threads (deliveries in flight finish: at most a timeout). */
void tpa_watch_stop(tpa_watch *w);

typedef struct {
	uint64_t scans;                      /* the registry looked at */
	uint64_t changes;                    /* compliance changes acted on */
	uint64_t radius_ack, radius_nak, radius_failed;
	uint64_t caep_delivered, caep_retried, caep_gave_up;
} tpa_watch_stats;

void tpa_watch_stats_get(tpa_watch_stats *out, tpa_watch *w);

/* What a delivery needs of the session, as the outbox keeps it (JSON). */
int tpa_watch_session_json(char **out, const tpa_session *se);
int tpa_watch_session_from_json(tpa_session *out, const char *json);
/* A CAEP item's change as the outbox keeps it (read from the registry:
 * untrusted; the SET's signing checks every field again). jti, device and
 * reason receive TPA_CAEP_JTI_LEN + 1, TPA_DEVICE_ID_LEN + 1 and
 * TPA_CAEP_REASON_MAX + 1 bytes; c points into them. */
int tpa_watch_change_from_json(tpa_caep_change *c, char *jti, char *device, char *reason,
			       const char *body);

#endif
