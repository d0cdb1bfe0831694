/* SPDX-License-Identifier: BSD-3-Clause */
/* Continuous enforcement: see tpa/watch.h. */
#include "tpa/watch.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tpa/err.h"
#include "tpa/log.h"

#define MIN_GAP_MS 20          /* between two scans, at least */
#define RADIUS_RETRY_S 2       /* another attempt after 2, 4 s */

/* One delivery thread: a NAS's DAS or a CAEP receiver. */
typedef struct deliverer {
	struct tpa_watch *w;
	const char *kind;          /* "radius" or "caep" */
	size_t index;              /* into w->das or w->receivers */
	const char *target;        /* the outbox's target: addr or url */
	tpa_store *store;
	pthread_t th;
	int started;
	int wake;                  /* under w->lock */
	pthread_cond_t cv;
} deliverer;

struct tpa_watch {
	tpa_watch_opts o;
	tpa_watch_das *das;
	tpa_watch_receiver *receivers;
	char *iss;
	tpa_store *store;          /* the scan's; under scan_lock */
	pthread_mutex_t scan_lock;
	pthread_mutex_t lock;      /* the rest */
	pthread_cond_t cv;
	int stop, kicked;
	pthread_t th;
	int started;
	deliverer *d;
	size_t nd;
	tpa_watch_stats st;
	tpa_metric *m_scans, *m_changes, *m_radius, *m_caep; /* NULL: no metrics */
};

static void publish(tpa_watch *w);

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void deadline(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t a;
	int rc;

	if (pthread_condattr_init(&a) != 0)
		return -1;
	rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC) == 0 ? pthread_cond_init(cv, &a) : -1;
	pthread_condattr_destroy(&a);
	return rc ? -1 : 0;
}

static void say(tpa_log_level lv, const char *msg, const char *device, const char *k1,
		const char *v1, const char *why)
{
	tpa_log_rec r;

	tpa_log_rec_init(&r, lv, msg);
	if (device && device[0])
		tpa_log_strf(&r, "device", "%.16s", device);
	if (k1)
		tpa_log_str(&r, k1, v1);
	if (why)
		tpa_log_str(&r, "reason", why);
	tpa_log_write(&r);
}

/* ---- settings ---- */

static int printable(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

int tpa_watch_das_parse(tpa_watch_das *out, const char *spec)
{
	const char *comma, *host, *host_end, *port = NULL;
	size_t hl;

	memset(out, 0, sizeof(*out));
	if (!spec || !(comma = strchr(spec, ',')) || comma == spec || !comma[1])
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "radius-das: expected NAS_IP[:PORT],"
				    "SECRET_FILE");
	host = spec;
	if (*host == '[') {
		if (!(host_end = memchr(host, ']', (size_t)(comma - host))))
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "radius-das: an IPv6 address "
					    "needs its ']'");
		host++;
		if (host_end + 1 < comma) {
			if (host_end[1] != ':')
				return tpa_err_fail(TPA_ERR_INVALID_ARG, "radius-das: expected ':' "
						    "after ']'");
			port = host_end + 2;
		}
	} else {
		host_end = memchr(host, ':', (size_t)(comma - host));
		if (host_end)
			port = host_end + 1;
		else
			host_end = comma;
	}
	hl = (size_t)(host_end - host);
	if (hl == 0 || hl >= sizeof(out->nas_ip))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "radius-das: a NAS address of 1..%zu "
				    "characters is needed", sizeof(out->nas_ip) - 1);
	memcpy(out->nas_ip, host, hl);
	if (!printable(out->nas_ip, sizeof(out->nas_ip) - 1) || strchr(out->nas_ip, ','))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "radius-das: the NAS address is not "
				    "printable");
	if (port) {
		size_t pl = (size_t)(comma - port), i;
		unsigned long pv = 0;

		if (pl == 0 || pl > 5)
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "radius-das: a port of 1..65535");
		for (i = 0; i < pl; i++) {
			if (port[i] < '0' || port[i] > '9')
				return tpa_err_fail(TPA_ERR_INVALID_ARG, "radius-das: a port of "
						    "1..65535");
			pv = pv * 10 + (unsigned long)(port[i] - '0');
		}
		if (pv < 1 || pv > 65535)
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "radius-das: a port of 1..65535");
		snprintf(out->addr, sizeof(out->addr), strchr(out->nas_ip, ':') ? "[%s]:%lu" :
			 "%s:%lu", out->nas_ip, pv);
	} else {
		snprintf(out->addr, sizeof(out->addr), strchr(out->nas_ip, ':') ? "[%s]:%d" :
			 "%s:%d", out->nas_ip, TPA_RADIUS_DAS_PORT);
	}
	if (tpa_radius_secret_read(out->secret, &out->secret_len, comma + 1) < 0)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "radius-das: secret file %s",
				    tpa_err_last());
	return 0;
}

static char *read_small(const char *path, size_t max)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	if (!(buf = calloc(1, max + 2))) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	fclose(f);
	if (n > max) {
		free(buf);
		return NULL;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	return buf;
}

void tpa_watch_receiver_clear(tpa_watch_receiver *r)
{
	if (!r)
		return;
	if (r->bearer) {
		OPENSSL_cleanse(r->bearer, strlen(r->bearer));
		free(r->bearer);
	}
	memset(r, 0, sizeof(*r));
}

int tpa_watch_receiver_parse(tpa_watch_receiver *out, const char *spec)
{
	char buf[TPA_CAEP_URL_MAX + 4096 * 2 + 64], *p, *next;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!spec || (n = strlen(spec)) == 0 || n >= sizeof(buf))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep-receiver: expected URL[,aud=AUD]"
				    "[,bearer-file=FILE][,ca=FILE]");
	memcpy(buf, spec, n + 1);
	if ((next = strchr(buf, ',')))
		*next++ = '\0';
	if (!printable(buf, TPA_CAEP_URL_MAX) ||
	    (strncmp(buf, "https://", 8) != 0 && strncmp(buf, "http://", 7) != 0))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep-receiver: an http:// or https:// "
				    "URL of at most %d printable characters", TPA_CAEP_URL_MAX);
	n = strlen(buf);	/* printable() bounded it to TPA_CAEP_URL_MAX < sizeof(out->url) */
	memcpy(out->url, buf, n + 1);
	for (p = next; p; p = next) {
		if ((next = strchr(p, ',')))
			*next++ = '\0';
		if (strncmp(p, "aud=", 4) == 0 && printable(p + 4, TPA_CAEP_URL_MAX)) {
			snprintf(out->aud, sizeof(out->aud), "%s", p + 4);
		} else if (strncmp(p, "ca=", 3) == 0 && p[3] && strlen(p + 3) < sizeof(out->ca_file)) {
			snprintf(out->ca_file, sizeof(out->ca_file), "%s", p + 3);
		} else if (strncmp(p, "bearer-file=", 12) == 0 && p[12]) {
			free(out->bearer);
			if (!(out->bearer = read_small(p + 12, 4096)) ||
			    !printable(out->bearer, 4096)) {
				tpa_watch_receiver_clear(out);
				return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep-receiver: bearer-file "
						    "%s: unreadable, or not one line of 1..4096 "
						    "printable characters", p + 12);
			}
		} else {
			tpa_watch_receiver_clear(out);
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "caep-receiver: unknown or empty "
					    "option \"%.32s\" (aud=, bearer-file=, ca=)", p);
		}
	}
	return 0;
}

/* ---- what the outbox keeps ---- */

static void copy_str(char *dst, size_t cap, json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	snprintf(dst, cap, "%s", v ? v : "");
}

int tpa_watch_session_json(char **out, const tpa_session *se)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "nas_ip", se->nas_ip,
			      "session_id", se->session_id, "device_id", se->device_id,
			      "nas_identifier", se->nas_identifier, "nas_port", se->nas_port,
			      "calling_station", se->calling_station, "user_name", se->user_name);

	if (!o)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "session: not JSON text");
	*out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return *out ? 0 : tpa_err_fail(TPA_ERR_NOMEM, "session: out of memory");
}

int tpa_watch_session_from_json(tpa_session *out, const char *json)
{
	json_t *o = json_loadb(json, strnlen(json, TPA_OUTBOX_BODY_MAX), 0, NULL);

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o)) {
		json_decref(o);
		return tpa_err_fail(TPA_ERR_PARSE, "outbox: a RADIUS item is not a JSON object");
	}
	copy_str(out->nas_ip, sizeof(out->nas_ip), o, "nas_ip");
	copy_str(out->session_id, sizeof(out->session_id), o, "session_id");
	copy_str(out->device_id, sizeof(out->device_id), o, "device_id");
	copy_str(out->nas_identifier, sizeof(out->nas_identifier), o, "nas_identifier");
	copy_str(out->nas_port, sizeof(out->nas_port), o, "nas_port");
	copy_str(out->calling_station, sizeof(out->calling_station), o, "calling_station");
	copy_str(out->user_name, sizeof(out->user_name), o, "user_name");
	json_decref(o);
	if (!out->session_id[0] && !out->user_name[0] && !out->calling_station[0])
		return tpa_err_fail(TPA_ERR_PARSE, "outbox: a RADIUS item names no session");
	return 0;
}

/* A CAEP item: the change, signed when it is sent. */
static char *change_json(const char *jti, const char *device, int compliant, int previous,
			 const char *reason, int64_t at)
{
	json_t *o = json_pack("{s:s,s:s,s:b,s:i,s:s,s:I}", "jti", jti, "device_id", device,
			      "compliant", compliant, "previous", previous, "reason", reason,
			      "at", (json_int_t)at);
	char *t;

	if (!o)
		return NULL;
	t = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return t;
}

/* ---- the scan ---- */

static const tpa_watch_das *das_for(const tpa_watch *w, const char *nas_ip)
{
	size_t i;

	for (i = 0; i < w->o.ndas; i++)
		if (strcmp(w->das[i].nas_ip, nas_ip) == 0)
			return &w->das[i];
	return NULL;
}

static int cmp_notified(const void *a, const void *b)
{
	return strcmp(((const tpa_notified *)a)->device_id, ((const tpa_notified *)b)->device_id);
}

typedef struct {
	tpa_outbox_item *v;
	size_t n, cap;
} items;

static void items_clear(items *it)
{
	size_t i;

	for (i = 0; i < it->n; i++)
		free(it->v[i].body);
	free(it->v);
	memset(it, 0, sizeof(*it));
}

static int items_add(items *it, const char *kind, const char *target, const char *device,
		     char *body, int64_t now)
{
	tpa_outbox_item *x;

	if (!body)
		return tpa_err_fail(TPA_ERR_NOMEM, "watch: out of memory");
	if (it->n == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 8;

		if (!(x = realloc(it->v, cap * sizeof(*x)))) {
			free(body);
			return tpa_err_fail(TPA_ERR_NOMEM, "watch: out of memory");
		}
		it->v = x;
		it->cap = cap;
	}
	x = &it->v[it->n++];
	memset(x, 0, sizeof(*x));
	snprintf(x->kind, sizeof(x->kind), "%s", kind);
	snprintf(x->target, sizeof(x->target), "%s", target);
	snprintf(x->device_id, sizeof(x->device_id), "%s", device);
	x->body = body;
	x->next_at = now;
	return 0;
}

/* Disconnects for the device's open sessions at the NASes we can reach. */
/* The device's sessions at known NASes (only: that one alone), but keep:
 * a session that was let in with the standing the change is to. */
static int add_disconnects(tpa_watch *w, items *it, const char *device, int64_t now,
			   const tpa_session *only, const tpa_session *keep)
{
	tpa_session *ss = NULL;
	size_t n = 0, i;
	int err = 0;

	if (!w->o.ndas)
		return 0;
	if (only) {
		ss = (tpa_session *)only;
		n = 1;
	} else if ((err = tpa_store_sessions(&ss, &n, w->store, device)) < 0) {
		return err;
	}
	for (i = 0; i < n && err == 0; i++) {
		const tpa_watch_das *d = das_for(w, ss[i].nas_ip);
		char *body = NULL;

		if (keep && strcmp(ss[i].nas_ip, keep->nas_ip) == 0 &&
		    strcmp(ss[i].session_id, keep->session_id) == 0)
			continue;
		if (!d) {
			say(TPA_LOG_WARNING, "session at a NAS without a DAS secret: not ended",
			    device, "nas_ip", ss[i].nas_ip, NULL);
			continue;
		}
		if ((err = tpa_watch_session_json(&body, &ss[i])) == 0)
			err = items_add(it, "radius", d->addr, device, body, now);
	}
	if (!only)
		free(ss);
	return err;
}

static int add_sets(tpa_watch *w, items *it, const char *device, int compliant, int previous,
		    const char *reason, int64_t now)
{
	char jti[TPA_CAEP_JTI_LEN + 1];
	size_t i;
	int err;

	for (i = 0; i < w->o.nreceivers; i++) {
		if ((err = tpa_caep_jti(jti)) < 0 ||
		    (err = items_add(it, "caep", w->receivers[i].url, device,
				     change_json(jti, device, compliant, previous, reason, now),
				     now)) < 0)
			return err;
	}
	return 0;
}

static void wake_all(tpa_watch *w, const items *it)
{
	size_t i, j;

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->nd; i++)
		for (j = 0; j < it->n; j++)
			if (strcmp(it->v[j].kind, w->d[i].kind) == 0 &&
			    strcmp(it->v[j].target, w->d[i].target) == 0) {
				w->d[i].wake = 1;
				pthread_cond_signal(&w->d[i].cv);
				break;
			}
	pthread_mutex_unlock(&w->lock);
}

/* One device's change acted on: what is owed and the new state, at once. */
static int act(tpa_watch *w, const char *device, int compliant, int previous,
	       const char *reason, int64_t now, int disconnect, int sets, const tpa_session *keep)
{
	tpa_notified st;
	items it = { 0 };
	int err;

	memset(&st, 0, sizeof(st));
	snprintf(st.device_id, sizeof(st.device_id), "%s", device);
	st.compliant = compliant;
	snprintf(st.reason, sizeof(st.reason), "%s", reason);
	st.at = now;
	if ((sets && (err = add_sets(w, &it, device, compliant, previous, reason, now)) < 0) ||
	    (disconnect && (err = add_disconnects(w, &it, device, now, NULL, keep)) < 0) ||
	    (err = tpa_store_notify_commit(w->store, &st, it.v, it.n, now)) < 0) {
		say(TPA_LOG_ERR, "compliance change not recorded: will try again", device,
		    NULL, NULL, tpa_err_last());
		items_clear(&it);
		return err;
	}
	{
		tpa_log_rec r;

		tpa_log_rec_init(&r, TPA_LOG_NOTICE, "compliance changed");
		tpa_log_strf(&r, "device", "%.16s", device);
		tpa_log_str(&r, "compliant", compliant ? "true" : "false");
		if (reason[0])
			tpa_log_str(&r, "reason", reason);
		tpa_log_uint(&r, "deliveries", it.n);
		tpa_log_write(&r);
	}
	wake_all(w, &it);
	items_clear(&it);
	pthread_mutex_lock(&w->lock);
	if (sets || disconnect)     /* a first sight, recorded silently, is no change */
		w->st.changes++;
	publish(w);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

/* Looks at every device; *next_due: the earliest time-based change (0:
 * none). fresh (or NULL): a session just reported, let in as compliant if
 * fresh_ok: a change of its device to that very standing leaves it be (it
 * was authorized after the change, before the watcher acted on it), and
 * *acted_on_it says a change of its device was acted on. Under scan_lock. */
static int scan(tpa_watch *w, int64_t now, int64_t *next_due, const tpa_session *fresh,
		int fresh_ok, int *acted_on_it)
{
	tpa_device *devs = NULL;
	tpa_notified *nt = NULL, key;
	size_t nd = 0, nn = 0, i;
	unsigned char *seen = NULL;
	tpa_staleness pol;
	int accept_warning, err, failed = 0;

	*next_due = 0;
	pthread_mutex_lock(&w->lock);
	pol = w->o.staleness;
	accept_warning = w->o.accept_warning;
	w->st.scans++;
	publish(w);
	pthread_mutex_unlock(&w->lock);
	if ((err = tpa_store_list(&devs, &nd, w->store)) < 0 ||
	    (err = tpa_store_notified_list(&nt, &nn, w->store)) < 0)
		goto out;
	if (nd > TPA_WATCH_DEVICES_MAX) {
		err = tpa_err_fail(TPA_ERR_LIMIT, "watch: more than %d devices", TPA_WATCH_DEVICES_MAX);
		goto out;
	}
	if (nn && !(seen = calloc(nn, 1))) {
		err = tpa_err_fail(TPA_ERR_NOMEM, "watch: out of memory");
		goto out;
	}
	if (nn)         /* nt is NULL for none: qsort wants an array */
		qsort(nt, nn, sizeof(*nt), cmp_notified);
	for (i = 0; i < nd; i++) {
		tpa_compliance_answer a;
		const char *why;
		tpa_notified *prev;
		int now_ok, was_ok, is_fresh;
		int64_t t;

		tpa_compliance_judge(&a, &devs[i], now, &pol);
		now_ok = tpa_compliance_enforced(&a, accept_warning, &why);
		if (now_ok && (t = tpa_compliance_next_change(&a, now)) > 0 &&
		    (!*next_due || t < *next_due))
			*next_due = t;
		snprintf(key.device_id, sizeof(key.device_id), "%s", devs[i].id);
		prev = nn ? bsearch(&key, nt, nn, sizeof(*nt), cmp_notified) : NULL;
		if (prev)
			seen[prev - nt] = 1;
		/* No row: never acted on, as if not compliant (nothing was let
		 * in on its account). */
		was_ok = prev ? prev->compliant : 0;
		if (now_ok == was_ok) {
			/* Its first sight, not compliant: kept, so that becoming
			 * compliant later ends a quarantined session; nothing to
			 * tell anyone yet. */
			if (!prev && act(w, devs[i].id, 0, -1, why, now, 0, 0, NULL) < 0)
				failed = 1;
			continue;
		}
		is_fresh = fresh && strcmp(fresh->device_id, devs[i].id) == 0;
		if (is_fresh)
			*acted_on_it = 1;
		/* A session either way: one let in is ended, and one held in a
		 * quarantine is ended to come back in with its new standing.
		 * Without a row (the first look at a registry kept before the
		 * watcher ran) a compliant device's sessions were let in as
		 * such: receivers are told, sessions are left. */
		if (act(w, devs[i].id, now_ok, prev ? was_ok : -1, now_ok ? "" : why, now,
			prev != NULL, 1, is_fresh && now_ok == fresh_ok ? fresh : NULL) < 0)
			failed = 1;
	}
	/* Devices removed from the registry. */
	for (i = 0; i < nn; i++) {
		if (seen[i])
			continue;
		if (act(w, nt[i].device_id, 0, nt[i].compliant, "deleted", now,
			nt[i].compliant, nt[i].compliant, NULL) < 0)
			failed = 1;
	}
	if (failed && (!*next_due || *next_due > now + 1))
		*next_due = now + 1;    /* try again soon */
out:
	if (err < 0)
		say(TPA_LOG_ERR, "watch: the registry could not be read", NULL, NULL, NULL,
		    tpa_err_last());
	free(seen);
	free(devs);
	free(nt);
	return err;
}

static void *scan_main(void *arg)
{
	tpa_watch *w = arg;
	int64_t last_v = -1, next_due = 0, last_scan = 0;
	int first = 1;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		int64_t v = -1, now;
		int kicked = w->kicked;
		struct timespec ts;

		w->kicked = 0;
		pthread_mutex_unlock(&w->lock);
		now = (int64_t)time(NULL);
		pthread_mutex_lock(&w->scan_lock);
		if (tpa_store_data_version(&v, w->store) < 0)
			v = -2;
		if (first || kicked || v != last_v || v == -2 || (next_due && now >= next_due)) {
			int64_t gap = mono_ms() - last_scan;

			if (!first && gap < MIN_GAP_MS) {
				struct timespec d = { 0, (long)(MIN_GAP_MS - gap) * 1000000L };

				nanosleep(&d, NULL);
				now = (int64_t)time(NULL);
			}
			last_v = v;
			first = 0;
			scan(w, now, &next_due, NULL, 0, NULL);
			last_scan = mono_ms();
		}
		pthread_mutex_unlock(&w->scan_lock);
		pthread_mutex_lock(&w->lock);
		if (w->stop || w->kicked)
			continue;
		deadline(&ts, w->o.tick_ms);
		pthread_cond_timedwait(&w->cv, &w->lock, &ts);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* ---- deliveries ---- */

/* The counts as /metrics shows them: set from w->st, which stays the one
 * count (tpa_watch_stats_get). Under w->lock. */
static void publish(tpa_watch *w)
{
	static const char *const ack = "ack", *const nak = "nak", *const failed = "failed",
			  *const delivered = "delivered", *const retried = "retried",
			  *const gave_up = "gave_up";

	if (!w->m_scans)
		return;
	tpa_metric_set(w->m_scans, NULL, (double)w->st.scans);
	tpa_metric_set(w->m_changes, NULL, (double)w->st.changes);
	tpa_metric_set(w->m_radius, &ack, (double)w->st.radius_ack);
	tpa_metric_set(w->m_radius, &nak, (double)w->st.radius_nak);
	tpa_metric_set(w->m_radius, &failed, (double)w->st.radius_failed);
	tpa_metric_set(w->m_caep, &delivered, (double)w->st.caep_delivered);
	tpa_metric_set(w->m_caep, &retried, (double)w->st.caep_retried);
	tpa_metric_set(w->m_caep, &gave_up, (double)w->st.caep_gave_up);
}

static void count(tpa_watch *w, uint64_t *c)
{
	pthread_mutex_lock(&w->lock);
	(*c)++;
	publish(w);
	pthread_mutex_unlock(&w->lock);
}

static void settle(deliverer *d, const tpa_outbox_item *x, const char *event, const char *detail)
{
	if (tpa_store_outbox_done(d->store, x->id, event, detail, (int64_t)time(NULL)) < 0)
		say(TPA_LOG_ERR, "outbox: a settled delivery not recorded", x->device_id, "event",
		    event, tpa_err_last());
}

static void end_session(deliverer *d, const tpa_session *se, int64_t now)
{
	int err = tpa_store_session_stop(d->store, se->nas_ip, se->session_id, now);

	if (err < 0 && err != TPA_ERR_NOT_FOUND)
		say(TPA_LOG_ERR, "a session ended by the NAS is still kept", se->device_id,
		    "session", se->session_id, tpa_err_last());
}

/* 1: go on with the batch, 0: the target is down (wait). */
static int deliver_radius(deliverer *d, const tpa_outbox_item *x, int64_t now)
{
	tpa_watch *w = d->w;
	const tpa_watch_das *das = &w->das[d->index];
	uint8_t req[TPA_RADIUS_MAX], id;
	size_t len = 0;
	tpa_radius_session rs;
	tpa_radius_response resp;
	tpa_session se;
	char detail[768];
	unsigned dropped = 0;
	int err;

	if (tpa_watch_session_from_json(&se, x->body) < 0) {
		settle(d, x, "radius-gave-up", tpa_err_last());
		count(w, &w->st.radius_failed);
		return 1;
	}
	memset(&rs, 0, sizeof(rs));
	rs.acct_session_id = se.session_id[0] ? se.session_id : NULL;
	rs.user_name = se.user_name[0] ? se.user_name : NULL;
	rs.calling_station_id = rs.acct_session_id || rs.user_name ? NULL :
				se.calling_station;
	rs.event_timestamp = now;
	if (RAND_bytes(&id, 1) != 1)
		id = (uint8_t)now;
	if ((err = tpa_radius_request_build(req, &len, TPA_RADIUS_DISCONNECT_REQUEST, id, &rs,
					    das->secret, das->secret_len)) < 0) {
		settle(d, x, "radius-gave-up", tpa_err_last());
		count(w, &w->st.radius_failed);
		return 1;
	}
	err = tpa_radius_send(&resp, &dropped, das->addr, req, len, das->secret,
			      das->secret_len, w->o.radius_tries, w->o.radius_timeout_ms);
	OPENSSL_cleanse(req, sizeof(req));
	if (err == 0 && resp.code == TPA_RADIUS_DISCONNECT_ACK) {
		snprintf(detail, sizeof(detail), "Disconnect-ACK from %s for session %s of %s",
			 das->addr, se.session_id, se.nas_ip);
		settle(d, x, "radius-ack", detail);
		/* The NAS ended it: no Stop need come for it to be gone. */
		end_session(d, &se, now);
		say(TPA_LOG_NOTICE, "session ended", x->device_id, "nas", das->addr, NULL);
		count(w, &w->st.radius_ack);
		return 1;
	}
	if (err == 0) {
		if (resp.have_error_cause)
			snprintf(detail, sizeof(detail), "Disconnect-NAK from %s for session %s: "
				 "Error-Cause %u (%s)", das->addr, se.session_id,
				 (unsigned)resp.error_cause,
				 tpa_radius_error_cause_name(resp.error_cause));
		else
			snprintf(detail, sizeof(detail), "Disconnect-NAK from %s for session %s",
				 das->addr, se.session_id);
		settle(d, x, "radius-nak", detail);
		if (resp.have_error_cause && resp.error_cause == 503)
			end_session(d, &se, now);   /* Session-Context-Not-Found */
		say(TPA_LOG_WARNING, "the NAS refused to end a session", x->device_id, "nas",
		    das->addr, detail);
		count(w, &w->st.radius_nak);
		return 1;
	}
	snprintf(detail, sizeof(detail), "session %s of %s, attempt %u of %d: %s", se.session_id,
		 se.nas_ip, x->attempts + 1, TPA_WATCH_RADIUS_ATTEMPTS, tpa_err_last());
	if (x->attempts + 1 >= TPA_WATCH_RADIUS_ATTEMPTS) {
		settle(d, x, "radius-gave-up", detail);
		say(TPA_LOG_ERR, "a session could not be ended: the NAS does not answer",
		    x->device_id, "nas", das->addr, detail);
		count(w, &w->st.radius_failed);
		return 1;
	}
	/* From when this attempt gave up, not from when it began. */
	if (tpa_store_outbox_retry(d->store, x->id,
				   (int64_t)time(NULL) + ((int64_t)RADIUS_RETRY_S << x->attempts),
				   detail) < 0)
		say(TPA_LOG_ERR, "outbox: a retry not recorded", x->device_id, NULL, NULL,
		    tpa_err_last());
	return 0;
}

int tpa_watch_change_from_json(tpa_caep_change *c, char *jti, char *device, char *reason,
			       const char *body)
{
	json_t *o = json_loadb(body, strnlen(body, TPA_OUTBOX_BODY_MAX), 0, NULL);
	json_t *prev;

	memset(c, 0, sizeof(*c));
	if (!json_is_object(o)) {
		json_decref(o);
		return tpa_err_fail(TPA_ERR_PARSE, "outbox: a CAEP item is not a JSON object");
	}
	copy_str(jti, TPA_CAEP_JTI_LEN + 1, o, "jti");
	copy_str(device, TPA_DEVICE_ID_LEN + 1, o, "device_id");
	copy_str(reason, TPA_CAEP_REASON_MAX + 1, o, "reason");
	c->compliant = json_is_true(json_object_get(o, "compliant"));
	prev = json_object_get(o, "previous");
	c->have_previous = json_is_integer(prev) && json_integer_value(prev) >= 0;
	c->previous_compliant = c->have_previous && json_integer_value(prev) == 1;
	c->event_timestamp = (int64_t)json_integer_value(json_object_get(o, "at"));
	json_decref(o);
	c->jti = jti;
	c->device_id = device;
	c->reason = reason;
	return 0;
}

static int deliver_caep(deliverer *d, tpa_caep_pusher *p, const tpa_outbox_item *x, int64_t now)
{
	tpa_watch *w = d->w;
	const tpa_watch_receiver *r = &w->receivers[d->index];
	char jti[TPA_CAEP_JTI_LEN + 1], device[TPA_DEVICE_ID_LEN + 1];
	char reason[TPA_CAEP_REASON_MAX + 1], detail[768];
	const tpa_token_key *k;
	tpa_caep_change c;
	char *set = NULL;
	long status = 0;
	int err;

	if (tpa_watch_change_from_json(&c, jti, device, reason, x->body) < 0) {
		settle(d, x, "caep-gave-up", tpa_err_last());
		count(w, &w->st.caep_gave_up);
		return 1;
	}
	c.iss = w->iss;
	c.aud = r->aud[0] ? r->aud : NULL;
	c.iat = now;
	k = w->o.key ? w->o.key(w->o.key_ctx, now) : NULL;
	if (!k || tpa_caep_set_sign(&set, k, &c) < 0) {
		snprintf(detail, sizeof(detail), "jti %s not signed: %s", jti,
			 k ? tpa_err_last() : "no signing key");
		settle(d, x, "caep-gave-up", detail);
		count(w, &w->st.caep_gave_up);
		return 1;
	}
	err = tpa_caep_push(p, set, &status);
	free(set);
	if (err == 0) {
		snprintf(detail, sizeof(detail), "to %s: jti %s %s (HTTP %ld)", r->url, jti,
			 c.compliant ? "compliant" : "not-compliant", status);
		settle(d, x, "caep-delivered", detail);
		count(w, &w->st.caep_delivered);
		return 1;
	}
	snprintf(detail, sizeof(detail), "to %s: jti %s: %s", r->url, jti, tpa_err_last());
	if (err != TPA_ERR_UNAVAILABLE) {
		/* The receiver refuses this SET (a 4xx): sending it again would
		 * not change that. */
		settle(d, x, "caep-refused", detail);
		say(TPA_LOG_ERR, "a CAEP receiver refused an event", x->device_id, "receiver",
		    r->url, detail);
		count(w, &w->st.caep_gave_up);
		return 1;
	}
	if (now - x->created_at >= TPA_WATCH_CAEP_GIVE_UP_S) {
		settle(d, x, "caep-gave-up", detail);
		count(w, &w->st.caep_gave_up);
		return 1;
	}
	{
		int64_t back = (int64_t)1 << (x->attempts < 9 ? x->attempts : 9);

		if (back > TPA_WATCH_CAEP_BACKOFF_MAX_S)
			back = TPA_WATCH_CAEP_BACKOFF_MAX_S;
		if (tpa_store_outbox_retry(d->store, x->id, (int64_t)time(NULL) + back, detail) < 0)
			say(TPA_LOG_ERR, "outbox: a retry not recorded", x->device_id, NULL, NULL,
			    tpa_err_last());
		if (x->attempts == 0)
			say(TPA_LOG_WARNING, "a CAEP receiver does not take events: retrying",
			    x->device_id, "receiver", r->url, detail);
	}
	count(w, &w->st.caep_retried);
	return 0;
}

static void *deliver_main(void *arg)
{
	deliverer *d = arg;
	tpa_watch *w = d->w;
	tpa_caep_pusher *p = NULL;
	int is_caep = strcmp(d->kind, "caep") == 0;

	if (is_caep) {
		const tpa_watch_receiver *r = &w->receivers[d->index];
		tpa_caep_receiver cr = { r->url, r->bearer, r->ca_file[0] ? r->ca_file : NULL, 0,
					 w->o.caep_timeout_ms };

		if (tpa_caep_pusher_new(&p, &cr) < 0) {
			say(TPA_LOG_ERR, "CAEP receiver unusable: no events go to it", NULL,
			    "receiver", r->url, tpa_err_last());
			return NULL;
		}
	}
	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		tpa_outbox_item *v = NULL;
		size_t n = 0, i;
		int64_t now = (int64_t)time(NULL), next = 0;
		unsigned wait_ms = w->o.tick_ms * 5;
		struct timespec ts;

		d->wake = 0;
		pthread_mutex_unlock(&w->lock);
		/* A receiver gets its events in the order they happened: the
		 * oldest first, and none while an older one waits for its
		 * retry (so a CAEP queue is read whole, due or not). A NAS's
		 * sessions are independent: whatever is due. */
		if (tpa_store_outbox_due(&v, &n, d->store, d->kind, d->target,
					 is_caep ? INT64_MAX : now, TPA_WATCH_BATCH) < 0) {
			say(TPA_LOG_ERR, "outbox: could not be read", NULL, "target", d->target,
			    tpa_err_last());
			n = 0;
		}
		for (i = 0; i < n; i++) {
			int go_on;

			if (v[i].next_at > now)
				break;
			go_on = is_caep ? deliver_caep(d, p, &v[i], now) :
				deliver_radius(d, &v[i], now);
			if (!go_on || w->stop)
				break;
		}
		tpa_outbox_items_free(v, n);
		if (tpa_store_outbox_next(&next, d->store, d->kind, d->target) < 0)
			next = 0;
		pthread_mutex_lock(&w->lock);
		if (w->stop)
			break;
		if (n == TPA_WATCH_BATCH && i == n && next && next <= (int64_t)time(NULL))
			continue;    /* more are due now */
		if (d->wake)
			continue;
		if (next) {
			int64_t left = (next - (int64_t)time(NULL)) * 1000;

			if (left < 0)
				left = 0;
			if (left < (int64_t)wait_ms)
				wait_ms = (unsigned)left + 1;
		}
		deadline(&ts, wait_ms);
		pthread_cond_timedwait(&d->cv, &w->lock, &ts);
	}
	pthread_mutex_unlock(&w->lock);
	tpa_caep_pusher_free(p);
	return NULL;
}

/* ---- life ---- */

int tpa_watch_session(tpa_watch *w, const tpa_session *se, int admitted)
{
	tpa_compliance_answer a;
	tpa_device dev;
	tpa_staleness pol;
	const char *why;
	items it = { 0 };
	int64_t now = (int64_t)time(NULL), next;
	int now_ok, accept_warning, err = 0, acted = 0;

	if (!w || admitted < 0)
		return 0;
	pthread_mutex_lock(&w->lock);
	pol = w->o.staleness;
	accept_warning = w->o.accept_warning;
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_lock(&w->scan_lock);
	/* First, every change the watcher has not acted on yet; if it acts on
	 * this device, its other sessions are ended by that, and this one (it
	 * is stored already) too unless it was let in with the new standing:
	 * the authorization read the registry after the change, before the
	 * watcher had acted on it. */
	scan(w, now, &next, se, admitted > 0, &acted);
	if (acted)
		goto out;
	if ((err = tpa_store_get(&dev, w->store, se->device_id)) < 0)
		goto out;
	tpa_compliance_judge(&a, &dev, now, &pol);
	now_ok = tpa_compliance_enforced(&a, accept_warning, &why);
	if (now_ok == (admitted > 0))
		goto out;
	{
		tpa_notified st;

		memset(&st, 0, sizeof(st));
		snprintf(st.device_id, sizeof(st.device_id), "%s", se->device_id);
		st.compliant = now_ok;
		snprintf(st.reason, sizeof(st.reason), "%s", now_ok ? "" : why);
		st.at = now;
		if ((err = add_disconnects(w, &it, se->device_id, now, se, NULL)) < 0 ||
		    (err = tpa_store_notify_commit(w->store, &st, it.v, it.n, now)) < 0)
			goto out;
	}
	say(TPA_LOG_NOTICE, "a session began with a standing that has changed since: ending it",
	    se->device_id, "session", se->session_id, now_ok ? NULL : why);
	wake_all(w, &it);
out:
	pthread_mutex_unlock(&w->scan_lock);
	items_clear(&it);
	return err;
}

void tpa_watch_kick(tpa_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->kicked = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->lock);
}

void tpa_watch_set_policy(tpa_watch *w, const tpa_staleness *p, int accept_warning)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->o.staleness = *p;
	w->o.accept_warning = accept_warning;
	w->kicked = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->lock);
}

void tpa_watch_stats_get(tpa_watch_stats *out, tpa_watch *w)
{
	memset(out, 0, sizeof(*out));
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	*out = w->st;
	pthread_mutex_unlock(&w->lock);
}

void tpa_watch_stop(tpa_watch *w)
{
	size_t i;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_broadcast(&w->cv);
	for (i = 0; i < w->nd; i++)
		pthread_cond_broadcast(&w->d[i].cv);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->th, NULL);
	for (i = 0; i < w->nd; i++) {
		if (w->d[i].started)
			pthread_join(w->d[i].th, NULL);
		tpa_store_close(w->d[i].store);
		pthread_cond_destroy(&w->d[i].cv);
	}
	free(w->d);
	tpa_store_close(w->store);
	for (i = 0; i < w->o.nreceivers; i++)
		tpa_watch_receiver_clear(&w->receivers[i]);
	free(w->receivers);
	if (w->das)
		OPENSSL_cleanse(w->das, w->o.ndas * sizeof(*w->das));
	free(w->das);
	free(w->iss);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->lock);
	pthread_mutex_destroy(&w->scan_lock);
	free(w);
}

/* A family of that name already there (a watcher started again in this
 * process) is taken as it is. */
static int family(tpa_metric **out, tpa_metrics *m, tpa_metric_type type, const char *name,
		  const char *help, const char *const *labels)
{
	if ((*out = tpa_metrics_find(m, name)))
		return 0;
	return tpa_metrics_add(out, m, type, name, help, labels, NULL, 0);
}

static int add_metrics(tpa_watch *w, tpa_metrics *m)
{
	static const char *const result[] = { "result", NULL };
	int err;

	if ((err = family(&w->m_scans, m, TPA_METRIC_COUNTER, "tpa_enforce_scans_total",
			  "Looks of the enforcement watcher at the registry.", NULL)) < 0 ||
	    (err = family(&w->m_changes, m, TPA_METRIC_COUNTER, "tpa_enforce_changes_total",
			  "Compliance changes the watcher recorded and queued for delivery.",
			  NULL)) < 0 ||
	    (err = family(&w->m_radius, m, TPA_METRIC_COUNTER,
			  "tpa_enforce_radius_disconnects_total",
			  "RFC 5176 Disconnect-Requests settled, by how: ack, nak, failed "
			  "(no answer after every try, or not sendable).", result)) < 0 ||
	    (err = family(&w->m_caep, m, TPA_METRIC_COUNTER, "tpa_enforce_caep_events_total",
			  "CAEP SET deliveries: delivered (202), retried (a try that failed "
			  "and will be made again), gave_up.", result)) < 0)
		return err;
	pthread_mutex_lock(&w->lock);
	publish(w);             /* every series from the start, at 0 */
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int tpa_watch_start(tpa_watch **out, const tpa_watch_opts *o)
{
	tpa_watch *w;
	size_t i;
	int err;

	*out = NULL;
	if (!o || !o->registry)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "watch: a registry is needed");
	if (o->ndas > TPA_WATCH_DAS_MAX || o->nreceivers > TPA_WATCH_RECEIVERS_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "watch: at most %d NASes and %d CAEP receivers",
				    TPA_WATCH_DAS_MAX, TPA_WATCH_RECEIVERS_MAX);
	if (!(w = calloc(1, sizeof(*w))))
		return tpa_err_fail(TPA_ERR_NOMEM, "watch: out of memory");
	w->o = *o;
	if (!w->o.tick_ms)
		w->o.tick_ms = TPA_WATCH_TICK_MS;
	if (!w->o.radius_tries)
		w->o.radius_tries = 3;
	if (!w->o.radius_timeout_ms)
		w->o.radius_timeout_ms = 1000;
	if (!w->o.caep_timeout_ms)
		w->o.caep_timeout_ms = 5000;
	pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_init(&w->scan_lock, NULL);
	if (cond_init(&w->cv) < 0) {
		free(w);
		return tpa_err_fail(TPA_ERR_INTERNAL, "watch: no condition variable");
	}
	w->iss = strdup(o->iss ? o->iss : "tpm-attest");
	w->das = o->ndas ? calloc(o->ndas, sizeof(*w->das)) : NULL;
	w->receivers = o->nreceivers ? calloc(o->nreceivers, sizeof(*w->receivers)) : NULL;
	w->nd = o->ndas + o->nreceivers;
	w->d = w->nd ? calloc(w->nd, sizeof(*w->d)) : NULL;
	w->o.ndas = w->o.nreceivers = 0;    /* counted as they are copied, for stop */
	if (!w->iss || (o->ndas && !w->das) || (o->nreceivers && !w->receivers) ||
	    (w->nd && !w->d)) {
		w->nd = 0;
		tpa_watch_stop(w);
		return tpa_err_fail(TPA_ERR_NOMEM, "watch: out of memory");
	}
	if (o->ndas)
		memcpy(w->das, o->das, o->ndas * sizeof(*w->das));
	w->o.ndas = o->ndas;
	for (i = 0; i < o->nreceivers; i++) {
		w->receivers[i] = o->receivers[i];
		w->receivers[i].bearer = NULL;
		w->o.nreceivers = i + 1;
		if (o->receivers[i].bearer &&
		    !(w->receivers[i].bearer = strdup(o->receivers[i].bearer))) {
			w->nd = 0;
			tpa_watch_stop(w);
			return tpa_err_fail(TPA_ERR_NOMEM, "watch: out of memory");
		}
	}
	for (i = 0; i < w->nd; i++) {
		deliverer *d = &w->d[i];

		d->w = w;
		d->kind = i < o->ndas ? "radius" : "caep";
		d->index = i < o->ndas ? i : i - o->ndas;
		d->target = i < o->ndas ? w->das[d->index].addr : w->receivers[d->index].url;
		if (cond_init(&d->cv) < 0) {
			w->nd = i;
			tpa_watch_stop(w);
			return tpa_err_fail(TPA_ERR_INTERNAL, "watch: no condition variable");
		}
	}
	if (o->metrics && (err = add_metrics(w, o->metrics)) < 0)
		goto fail;
	if ((err = tpa_store_open_existing(&w->store, o->registry)) < 0)
		goto fail;
	for (i = 0; i < w->nd; i++)
		if ((err = tpa_store_open_existing(&w->d[i].store, o->registry)) < 0)
			goto fail;
	if (pthread_create(&w->th, NULL, scan_main, w) != 0) {
		err = tpa_err_fail(TPA_ERR_INTERNAL, "watch: no thread");
		goto fail;
	}
	w->started = 1;
	for (i = 0; i < w->nd; i++) {
		if (pthread_create(&w->d[i].th, NULL, deliver_main, &w->d[i]) != 0) {
			err = tpa_err_fail(TPA_ERR_INTERNAL, "watch: no thread");
			goto fail;
		}
		w->d[i].started = 1;
	}
	*out = w;
	return 0;
fail:
	{
		char why[512];

		snprintf(why, sizeof(why), "%s", tpa_err_last());
		tpa_watch_stop(w);
		return tpa_err_fail(err, "%s", why);
	}
}
