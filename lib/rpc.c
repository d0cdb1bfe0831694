/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/resource.h>
#include <unistd.h>

#include "rpc_gate.h"
#include "tpa/err.h"
#include "tpa/rpc.h"

#define METHODS_MAX 16
#define PEM_MAX (256 * 1024)
#define WORKERS_MAX 64
#define POSTED_PER_METHOD 4

const char *tpa_rpc_status_name(int status)
{
	static const char *names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
		"RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
		"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
		"UNAUTHENTICATED",
	};

	if (status < 0 || (size_t)status >= sizeof(names) / sizeof(names[0]))
		return "UNKNOWN";
	return names[status];
}

static void log_silent(gpr_log_func_args *args)
{
	(void)args;
}

void tpa_rpc_log_init(int verbose)
{
	if (verbose) {
		gpr_set_log_verbosity(GPR_LOG_SEVERITY_INFO);
		gpr_set_log_function(NULL);
	} else {
		gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
		gpr_set_log_function(log_silent);
	}
}

/* Reads a whole PEM file into a NUL-terminated string. */
static int read_pem(char **out, const char *path, const char *what)
{
	FILE *f;
	char *buf;
	size_t n;

	if (!path)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "%s: no file given", what);
	if (!(f = fopen(path, "rb")))
		return tpa_err_fail(TPA_ERR_IO, "%s %s: %s", what, path, strerror(errno));
	if (!(buf = malloc(PEM_MAX + 1))) {
		fclose(f);
		return tpa_err_fail(TPA_ERR_NOMEM, "%s: out of memory", what);
	}
	n = fread(buf, 1, PEM_MAX + 1, f);
	fclose(f);
	if (n > PEM_MAX) {
		free(buf);
		return tpa_err_fail(TPA_ERR_LIMIT, "%s %s: larger than %d bytes", what,
				    path, PEM_MAX);
	}
	buf[n] = '\0';
	if (n == 0 || !strstr(buf, "-----BEGIN ")) {
		free(buf);
		return tpa_err_fail(TPA_ERR_PARSE, "%s %s: no PEM data", what, path);
	}
	*out = buf;
	return 0;
}

/* A passphrase-protected key is not asked for: the server has no one to ask. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf; (void)size; (void)rwflag; (void)u;
	return 0;
}

/* The first certificate in a PEM text, or NULL. */
static X509 *pem_first_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, no_passphrase, NULL) : NULL;

	BIO_free(b);
	ERR_clear_error();
	return x;
}

/* A CA file (opt "--ca" or "--client-ca") must hold a certificate: gRPC
 * would take one that holds none and fail later, on every connection, with
 * a message that says nothing about the file. */
static int check_ca_pem(const char *pem, const char *opt, const char *path)
{
	X509 *x = pem_first_cert(pem);

	if (!x)
		return tpa_err_fail(TPA_ERR_PARSE, "%s %s: holds no certificate%s", opt, path,
				    strstr(pem, "PRIVATE KEY-----") ? " (a private key?)" : "");
	X509_free(x);
	return 0;
}

/* The server's certificate and key must be a pair; gRPC only finds out at
 * bind time and says "cannot listen". */
static int check_cert_key_pem(const char *cert_pem, const char *cert_path,
			      const char *key_pem, const char *key_path)
{
	X509 *x = pem_first_cert(cert_pem);
	EVP_PKEY *k = NULL;
	BIO *b;
	int err = 0;

	if (!x)
		return tpa_err_fail(TPA_ERR_PARSE, "--cert %s: holds no certificate%s", cert_path,
				    strstr(cert_pem, "PRIVATE KEY-----") ? " (a private key?)" : "");
	if ((b = BIO_new_mem_buf(key_pem, -1)))
		k = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
	BIO_free(b);
	ERR_clear_error();
	if (!k)
		err = tpa_err_fail(TPA_ERR_PARSE, "--key %s: holds no private key (or one with a "
				   "passphrase)", key_path);
	else if (EVP_PKEY_eq(X509_get0_pubkey(x), k) != 1)
		err = tpa_err_fail(TPA_ERR_PARSE, "--cert %s and --key %s do not match",
				   cert_path, key_path);
	ERR_clear_error();
	EVP_PKEY_free(k);
	X509_free(x);
	return err;
}

int tpa_rpc_check_listen(const char *addr)
{
	const char *port, *p;
	unsigned long v = 0;

	if (!addr || !*addr)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "--listen: empty address");
	if (strncmp(addr, "unix:", 5) == 0)
		return addr[5] ? 0 : tpa_err_fail(TPA_ERR_INVALID_ARG, "--listen %s: no path", addr);
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (!end || end == addr + 1)
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "--listen %.64s: an IPv6 address "
					    "is [ADDR]:PORT (e.g. [::1]:50051)", addr);
		if (end[1] == '\0')
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "--listen %.64s: no port (e.g. "
					    "%.*s:50051)", addr, (int)(end - addr + 1), addr);
		if (end[1] != ':')
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "--listen %.64s: an IPv6 address "
					    "is [ADDR]:PORT (e.g. [::1]:50051)", addr);
		port = end + 2;
	} else {
		const char *colon = strchr(addr, ':');

		if (!colon)
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "--listen %.64s: no port (e.g. "
					    "%.64s:50051)", addr, addr);
		if (strchr(colon + 1, ':'))
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "--listen %.64s: an IPv6 address "
					    "goes in brackets (e.g. [::1]:50051)", addr);
		port = colon + 1;
	}
	if (!*port)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "--listen %.64s: no port after ':'", addr);
	for (p = port; *p; p++) {
		if (*p < '0' || *p > '9')
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "--listen %.64s: port '%.16s' is "
					    "not a number (0..65535)", addr, port);
		if (v <= 65535)
			v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > 65535)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "--listen %.64s: port %.16s is out of "
				    "range (0..65535)", addr, port);
	return 0;
}

static void free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* The server's TLS files, read and checked: what the next handshakes use
 * once the server takes it (at start, and on tpa_rpc_server_set_tls). */
struct tpa_rpc_tls {
	char *cert_pem, *key_pem, *client_ca_pem;
};

void tpa_rpc_tls_free(tpa_rpc_tls *t)
{
	if (!t)
		return;
	free(t->cert_pem);
	free_secret(t->key_pem);
	free(t->client_ca_pem);
	free(t);
}

int tpa_rpc_tls_load(tpa_rpc_tls **out, const char *cert_file, const char *key_file,
		     const char *client_ca_file)
{
	tpa_rpc_tls *t;
	int err;

	if (!out)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "rpc: no TLS files");
	*out = NULL;
	if (!(t = calloc(1, sizeof(*t))))
		return tpa_err_fail(TPA_ERR_NOMEM, "rpc: out of memory");
	if ((err = read_pem(&t->cert_pem, cert_file, "--cert")) < 0 ||
	    (err = read_pem(&t->key_pem, key_file, "--key")) < 0 ||
	    (err = check_cert_key_pem(t->cert_pem, cert_file, t->key_pem, key_file)) < 0 ||
	    (client_ca_file &&
	     ((err = read_pem(&t->client_ca_pem, client_ca_file, "--client-ca")) < 0 ||
	      (err = check_ca_pem(t->client_ca_pem, "--client-ca", client_ca_file)) < 0))) {
		tpa_rpc_tls_free(t);
		return err;
	}
	*out = t;
	return 0;
}

/* ================================ server ================================ */

typedef struct {
	char *path;
	void *handle;
	tpa_rpc_handler h;
	void *ctx;
	int writes;                     /* run by a writer thread (below) */
} rpc_method;

enum { PHASE_REQUESTED, PHASE_REPLYING };

typedef struct call_state {
	rpc_method *m;                  /* NULL: the catch-all (unknown method) */
	int phase;
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_call_details details;
	grpc_byte_buffer *payload;
	grpc_byte_buffer *resp;
	grpc_slice status_details;
	int cancelled;
	struct call_state *next;        /* in the writers' queue */
} call_state;

struct tpa_rpc_server {
	grpc_server *server;
	grpc_completion_queue *cq;
	grpc_completion_queue *shutdown_cq;
	pthread_t workers[WORKERS_MAX];
	unsigned nworkers, started_workers;
	/* Writers: the calls of methods that write the registry wait there
	 * for their group's commit. Run on the workers, that wait would keep
	 * the completion queue's few pollers from taking the next call, and a
	 * group would hold at most one verdict per worker. A worker hands such
	 * a call to a writer instead, while fewer than nwriters wait for one;
	 * otherwise it runs it itself (so calls in hand stay bounded). */
	pthread_t writers[WORKERS_MAX];
	unsigned nwriters, started_writers;
	call_state *wq_head, **wq_tail;   /* under lock */
	unsigned wq_len;
	int wq_stop;
	pthread_cond_t wq_cv;
	rpc_method methods[METHODS_MAX];
	size_t nmethods;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned inflight;
	int started, stopping, stopped;
	tpa_rpc_server_opts opts;
	char *listen;
	pthread_mutex_t tls_lock;
	tpa_rpc_tls *tls_next;        /* for the next handshake, NULL: unchanged */
	int client_certs;             /* client certificates asked for (fixed) */
	size_t max_message;
	rpc_gate *gate;               /* NULL for a unix: listener */
	unsigned max_connections;
	char dir[64];                 /* private directory of the inner sockets */
	char inner[96], probe[96];
	rpc_gate_opts gate_opts;
};

static int post(tpa_rpc_server *s, rpc_method *m)
{
	call_state *cs = calloc(1, sizeof(*cs));
	grpc_call_error e;

	if (!cs)
		return tpa_err_fail(TPA_ERR_NOMEM, "rpc: out of memory");
	cs->m = m;
	cs->phase = PHASE_REQUESTED;
	grpc_metadata_array_init(&cs->md);
	if (m) {
		e = grpc_server_request_registered_call(s->server, m->handle, &cs->call,
							&cs->deadline, &cs->md,
							&cs->payload, s->cq, s->cq, cs);
	} else {
		grpc_call_details_init(&cs->details);
		e = grpc_server_request_call(s->server, &cs->call, &cs->details,
					     &cs->md, s->cq, s->cq, cs);
	}
	if (e != GRPC_CALL_OK) {
		grpc_metadata_array_destroy(&cs->md);
		if (!m)
			grpc_call_details_destroy(&cs->details);
		free(cs);
		return tpa_err_fail(TPA_ERR_RPC, "rpc: cannot request a call (%d)", e);
	}
	return 0;
}

static void call_free(call_state *cs)
{
	if (cs->call)
		grpc_call_unref(cs->call);
	if (cs->payload)
		grpc_byte_buffer_destroy(cs->payload);
	if (cs->resp)
		grpc_byte_buffer_destroy(cs->resp);
	if (cs->phase == PHASE_REPLYING)
		grpc_slice_unref(cs->status_details);
	grpc_metadata_array_destroy(&cs->md);
	if (!cs->m)
		grpc_call_details_destroy(&cs->details);
	free(cs);
}

/* Whether a PEM certificate says it is for TLS clients: an extended key
 * usage extension that names clientAuth. No extension is no. */
static int cert_is_client_auth(const char *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	int ok = 0;

	if (x)
		ok = (X509_get_extension_flags(x) & EXFLAG_XKUSAGE) &&
		     (X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	X509_free(x);
	BIO_free(b);
	return ok;
}

/* Whether the peer's TLS client certificate was verified, and its CN.
 * Property values are not NUL-terminated. */
static void peer_identity(grpc_call *call, tpa_rpc_reply *r)
{
	grpc_auth_context *ctx = grpc_call_auth_context(call);
	grpc_auth_property_iterator it;
	const grpc_auth_property *p;

	r->peer_authenticated = 0;
	r->peer_cn[0] = '\0';
	r->peer_cn_exact = 0;
	if (!ctx)
		return;
	if (grpc_auth_context_peer_is_authenticated(ctx)) {
		it = grpc_auth_context_find_properties_by_name(ctx, GRPC_X509_CN_PROPERTY_NAME);
		if ((p = grpc_auth_property_iterator_next(&it)) != NULL && p->value) {
			size_t n = p->value_length < sizeof(r->peer_cn) - 1 ? p->value_length :
				sizeof(r->peer_cn) - 1, i;

			memcpy(r->peer_cn, p->value, n);
			r->peer_cn[n] = '\0';
			r->peer_cn_exact = n == p->value_length;
			for (i = 0; i < n; i++)
				if ((unsigned char)r->peer_cn[i] < 0x20 ||
				    (unsigned char)r->peer_cn[i] >= 0x7f) {
					r->peer_cn[i] = '?';
					r->peer_cn_exact = 0;
				}
		}
		r->peer_authenticated = 1;
		it = grpc_auth_context_find_properties_by_name(ctx, GRPC_X509_PEM_CERT_PROPERTY_NAME);
		if ((p = grpc_auth_property_iterator_next(&it)) != NULL && p->value &&
		    p->value_length < PEM_MAX)
			r->peer_client_auth = cert_is_client_auth(p->value, p->value_length);
	}
	grpc_auth_context_release(ctx);
}

static void run_handler(call_state *cs, tpa_rpc_reply *r)
{
	grpc_byte_buffer_reader rd;
	grpc_slice all;

	if (!cs->m) {
		r->status = TPA_RPC_UNIMPLEMENTED;
		snprintf(r->details, sizeof(r->details), "unknown method");
		return;
	}
	if (!cs->payload) {
		r->status = TPA_RPC_INVALID_ARGUMENT;
		snprintf(r->details, sizeof(r->details), "request message missing");
		return;
	}
	if (!grpc_byte_buffer_reader_init(&rd, cs->payload)) {
		r->status = TPA_RPC_INVALID_ARGUMENT;
		snprintf(r->details, sizeof(r->details), "request cannot be decoded");
		return;
	}
	all = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	peer_identity(cs->call, r);
	r->status = TPA_RPC_INTERNAL;
	cs->m->h(r, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all), cs->m->ctx);
	grpc_slice_unref(all);
}

/* Sends the reply in one batch. Returns 0 if the batch started. */
static int reply(call_state *cs)
{
	tpa_rpc_reply r;
	grpc_op ops[4];
	size_t n = 0;

	memset(&r, 0, sizeof(r));
	run_handler(cs, &r);
	if (r.status == TPA_RPC_OK) {
		grpc_slice sl = grpc_slice_from_copied_buffer((const char *)r.data, r.len);

		cs->resp = grpc_raw_byte_buffer_create(&sl, 1);
		grpc_slice_unref(sl);
	}
	free(r.data);
	r.details[sizeof(r.details) - 1] = '\0';
	cs->status_details = grpc_slice_from_copied_string(r.details);
	cs->phase = PHASE_REPLYING;

	memset(ops, 0, sizeof(ops));
	ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
	n++;
	if (cs->resp) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = cs->resp;
		n++;
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = (grpc_status_code)r.status;
	ops[n].data.send_status_from_server.status_details = &cs->status_details;
	n++;
	ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[n].data.recv_close_on_server.cancelled = &cs->cancelled;
	n++;
	return grpc_call_start_batch(cs->call, ops, n, cs, NULL) == GRPC_CALL_OK ? 0 : -1;
}

static void call_done(tpa_rpc_server *s, call_state *cs)
{
	call_free(cs);
	pthread_mutex_lock(&s->lock);
	s->inflight--;
	if (s->inflight == 0)
		pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

static void *worker(void *arg)
{
	tpa_rpc_server *s = arg;

	for (;;) {
		grpc_event ev = grpc_completion_queue_next(
			s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		call_state *cs;
		int stopping;

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		cs = ev.tag;
		if (cs->phase == PHASE_REPLYING) {
			call_done(s, cs);
			continue;
		}
		if (!ev.success) {
			/* A posted request ended by shutdown. */
			call_free(cs);
			continue;
		}
		pthread_mutex_lock(&s->lock);
		s->inflight++;
		stopping = s->stopping;
		/* Keep the same number of requests posted for this method. */
		if (!stopping)
			post(s, cs->m);
		if (cs->m && cs->m->writes && s->started_writers && !s->wq_stop &&
		    s->wq_len < s->nwriters) {
			cs->next = NULL;
			*s->wq_tail = cs;
			s->wq_tail = &cs->next;
			s->wq_len++;
			pthread_cond_signal(&s->wq_cv);
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		pthread_mutex_unlock(&s->lock);
		if (reply(cs) != 0)
			call_done(s, cs);
	}
	return NULL;
}

static void *writer(void *arg)
{
	tpa_rpc_server *s = arg;
	call_state *cs;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (!s->wq_head) {
			if (s->wq_stop)
				break;
			pthread_cond_wait(&s->wq_cv, &s->lock);
			continue;
		}
		cs = s->wq_head;
		if (!(s->wq_head = cs->next))
			s->wq_tail = &s->wq_head;
		s->wq_len--;
		pthread_mutex_unlock(&s->lock);
		if (reply(cs) != 0)
			call_done(s, cs);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* After the last call in flight is done: the queue is empty. */
static void writers_stop(tpa_rpc_server *s)
{
	unsigned i, n;

	pthread_mutex_lock(&s->lock);
	s->wq_stop = 1;              /* the workers hand no more */
	n = s->started_writers;
	pthread_cond_broadcast(&s->wq_cv);
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < n; i++)
		pthread_join(s->writers[i], NULL);
	pthread_mutex_lock(&s->lock);
	s->started_writers = 0;
	pthread_mutex_unlock(&s->lock);
}

int tpa_rpc_server_new(tpa_rpc_server **out, const tpa_rpc_server_opts *o)
{
	tpa_rpc_server *s;
	int err;

	if (!out || !o || !o->listen)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "rpc server: no listen address");
	if (!o->insecure && (!o->cert_file || !o->key_file))
		return tpa_err_fail(TPA_ERR_INVALID_ARG,
				    "rpc server: TLS needs a certificate and a key (or --insecure)");
	if ((err = tpa_rpc_check_listen(o->listen)) < 0)
		return err;
	if (!(s = calloc(1, sizeof(*s))))
		return tpa_err_fail(TPA_ERR_NOMEM, "rpc server: out of memory");
	s->opts = *o;
	s->nworkers = o->workers ? o->workers : 1;
	if (s->nworkers > WORKERS_MAX)
		s->nworkers = WORKERS_MAX;
	s->nwriters = o->writers > WORKERS_MAX ? WORKERS_MAX : o->writers;
	s->wq_tail = &s->wq_head;
	s->max_message = o->max_message ? o->max_message : TPA_RPC_DEFAULT_MAX_MESSAGE;
	if (s->max_message > (size_t)INT32_MAX)
		s->max_message = INT32_MAX;
	if (!(s->listen = strdup(o->listen))) {
		free(s);
		return tpa_err_fail(TPA_ERR_NOMEM, "rpc server: out of memory");
	}
	if (!o->insecure &&
	    (err = tpa_rpc_tls_load(&s->tls_next, o->cert_file, o->key_file,
				    o->client_ca_file)) < 0) {
		free(s->listen);
		free(s);
		return err;
	}
	s->client_certs = o->client_ca_file != NULL;
	if (o->insecure && o->client_ca_file) {
		free(s->listen);
		free(s);
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "rpc server: client certificates need TLS");
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->tls_lock, NULL);
	pthread_cond_init(&s->idle, NULL);
	pthread_cond_init(&s->wq_cv, NULL);
	grpc_init();
	{
		static const struct { const char *key; unsigned def; size_t off; } lim[] = {
			{ GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, TPA_RPC_DEFAULT_HANDSHAKE_MS,
			  offsetof(tpa_rpc_server_opts, handshake_timeout_ms) },
			{ GRPC_ARG_MAX_CONNECTION_IDLE_MS, TPA_RPC_DEFAULT_IDLE_MS,
			  offsetof(tpa_rpc_server_opts, idle_timeout_ms) },
			{ GRPC_ARG_MAX_CONNECTION_AGE_MS, TPA_RPC_DEFAULT_MAX_AGE_MS,
			  offsetof(tpa_rpc_server_opts, max_age_ms) },
			{ GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, TPA_RPC_DEFAULT_AGE_GRACE_MS,
			  offsetof(tpa_rpc_server_opts, max_age_grace_ms) },
			{ GRPC_ARG_MAX_CONCURRENT_STREAMS, TPA_RPC_DEFAULT_MAX_STREAMS,
			  offsetof(tpa_rpc_server_opts, max_streams) },
		};
		grpc_arg args[3 + sizeof(lim) / sizeof(lim[0])];
		grpc_channel_args ca = { sizeof(args) / sizeof(args[0]), args };
		size_t i;

		args[0].type = GRPC_ARG_INTEGER;
		args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
		args[0].value.integer = (int)s->max_message;
		args[1].type = GRPC_ARG_INTEGER;
		args[1].key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
		args[1].value.integer = (int)s->max_message;
		/* gRPC sets SO_REUSEPORT by default: a second verifier would then
		 * share the port silently instead of failing. */
		args[2].type = GRPC_ARG_INTEGER;
		args[2].key = (char *)GRPC_ARG_ALLOW_REUSEPORT;
		args[2].value.integer = 0;
		/* No connection is held for ever: not in its handshake, not idle,
		 * not past its age. */
		for (i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
			unsigned v = *(const unsigned *)((const char *)o + lim[i].off);

			args[3 + i].type = GRPC_ARG_INTEGER;
			args[3 + i].key = (char *)lim[i].key;
			args[3 + i].value.integer = (int)((v ? v : lim[i].def) & 0x7fffffff);
		}
		s->server = grpc_server_create(&ca, NULL);
	}
	s->cq = grpc_completion_queue_create_for_next(NULL);
	s->shutdown_cq = grpc_completion_queue_create_for_next(NULL);
	grpc_server_register_completion_queue(s->server, s->cq, NULL);
	grpc_server_register_completion_queue(s->server, s->shutdown_cq, NULL);
	*out = s;
	return 0;
}

static int add_method(tpa_rpc_server *s, const char *path, tpa_rpc_handler h, void *ctx,
		      int writes)
{
	rpc_method *m;

	if (!s || !path || path[0] != '/' || !h)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "rpc: bad method");
	if (s->started)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "rpc: server already started");
	if (s->nmethods >= METHODS_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "rpc: more than %d methods", METHODS_MAX);
	m = &s->methods[s->nmethods];
	if (!(m->path = strdup(path)))
		return tpa_err_fail(TPA_ERR_NOMEM, "rpc: out of memory");
	m->handle = grpc_server_register_method(s->server, m->path, NULL,
						GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
						0);
	if (!m->handle) {
		free(m->path);
		return tpa_err_fail(TPA_ERR_RPC, "rpc: cannot register %s", path);
	}
	m->h = h;
	m->ctx = ctx;
	m->writes = writes;
	s->nmethods++;
	return 0;
}

int tpa_rpc_server_add_method(tpa_rpc_server *s, const char *path,
			      tpa_rpc_handler h, void *ctx)
{
	return add_method(s, path, h, ctx, 0);
}

int tpa_rpc_server_add_writing_method(tpa_rpc_server *s, const char *path,
				      tpa_rpc_handler h, void *ctx)
{
	return add_method(s, path, h, ctx, 1);
}

static void gate_dir_remove(tpa_rpc_server *s)
{
	if (!s->dir[0])
		return;
	unlink(s->inner);
	unlink(s->probe);
	rmdir(s->dir);
	s->dir[0] = '\0';
}

/* gRPC listens on two unix sockets in a directory of this process's alone:
 * one with the server's credentials, fed by the gate, and a plaintext one
 * for the probe (reachable only by this user, who holds the keys anyway).
 * Takes creds. Returns 0 or an error. */
static int gate_open(tpa_rpc_server *s, grpc_server_credentials *creds)
{
	grpc_server_credentials *plain;
	const char *tmp = getenv("TMPDIR");
	char addr[128];
	struct rlimit rl;
	unsigned cap;
	int ok;

	if (!tmp || !*tmp || strlen(tmp) > 32)
		tmp = "/tmp";
	snprintf(s->dir, sizeof(s->dir), "%s/tpa-rpc-XXXXXX", tmp);
	if (!mkdtemp(s->dir)) {
		s->dir[0] = '\0';
		grpc_server_credentials_release(creds);
		return tpa_err_fail(TPA_ERR_IO, "rpc: cannot make a private directory in %s: %s",
				    tmp, strerror(errno));
	}
	snprintf(s->inner, sizeof(s->inner), "%s/grpc.sock", s->dir);
	snprintf(s->probe, sizeof(s->probe), "%s/probe.sock", s->dir);
	snprintf(addr, sizeof(addr), "unix:%s", s->inner);
	ok = grpc_server_add_http2_port(s->server, addr, creds) > 0;
	grpc_server_credentials_release(creds);
	snprintf(addr, sizeof(addr), "unix:%s", s->probe);
	plain = grpc_insecure_server_credentials_create();
	ok = ok && grpc_server_add_http2_port(s->server, addr, plain) > 0;
	grpc_server_credentials_release(plain);
	if (!ok) {
		gate_dir_remove(s);
		return tpa_err_fail(TPA_ERR_IO, "rpc: cannot listen on %s", addr);
	}
	/* Three descriptors a connection (the peer's, the relay's, gRPC's),
	 * and room for the rest of the process. */
	cap = s->opts.max_connections ? s->opts.max_connections : TPA_RPC_DEFAULT_MAX_CONNECTIONS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		rlim_t room = rl.rlim_cur > 128 ? (rl.rlim_cur - 128) / 3 : 1;

		if (room < cap)
			cap = room ? (unsigned)room : 1;
	}
	s->max_connections = cap;
	s->gate_opts.listen = s->listen;
	s->gate_opts.inner = s->inner;
	s->gate_opts.max_total = cap;
	s->gate_opts.max_per_peer = s->opts.max_connections_per_peer ?
		s->opts.max_connections_per_peer : TPA_RPC_DEFAULT_MAX_PER_PEER;
	return 0;
}

int tpa_rpc_server_conn_stats(tpa_rpc_server *s, tpa_rpc_conn_stats *st)
{
	rpc_gate_stats g;

	if (!s || !st)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "rpc: NULL server");
	memset(st, 0, sizeof(*st));
	if (!s->gate)
		return 0;
	rpc_gate__stats(s->gate, &g);
	st->accepted = g.accepted;
	st->refused_total = g.refused_total;
	st->refused_peer = g.refused_peer;
	st->refused_inner = g.refused_inner;
	st->out_of_fds = g.out_of_fds;
	st->open = g.open;
	st->max_connections = s->max_connections;
	return 0;
}

int tpa_rpc_server_probe(tpa_rpc_server *s, unsigned timeout_ms)
{
	tpa_rpc_client_opts co = { 0 };
	tpa_rpc_client *c = NULL;
	char target[128];
	uint8_t *resp = NULL;
	size_t len = 0;
	int st = -1, err;

	if (!s || !s->started || s->stopping)
		return tpa_err_fail(TPA_ERR_UNAVAILABLE, "rpc: server not running");
	if (s->gate) {
		rpc_gate_stats g;

		rpc_gate__stats(s->gate, &g);
		if (rpc_gate__now_ms() - g.heartbeat_ms > 2000 + (int64_t)timeout_ms)
			return tpa_err_fail(TPA_ERR_UNAVAILABLE, "rpc: the gate's loop is stuck");
	}
	if (!s->probe[0])
		return 0;
	snprintf(target, sizeof(target), "unix:%s", s->probe);
	co.target = target;
	co.insecure = 1;
	if ((err = tpa_rpc_client_new(&c, &co)) < 0)
		return err;
	/* A fresh channel: gRPC must accept it, and a worker answer. */
	tpa_rpc_client_call(&resp, &len, &st, c, "/tpa.internal.Probe/Check",
			    (const uint8_t *)"", 0, timeout_ms);
	free(resp);
	tpa_rpc_client_free(c);
	if (st != TPA_RPC_UNIMPLEMENTED)
		return tpa_err_fail(TPA_ERR_UNAVAILABLE, "rpc: the server did not answer a probe (%s)",
				    st < 0 ? "no status" : tpa_rpc_status_name(st));
	return 0;
}

/* gRPC asks at each handshake: new files once, after a set_tls (or the
 * first time), else unchanged. The config copies the texts; the key's is
 * wiped as soon as gRPC holds it. */
static grpc_ssl_certificate_config_reload_status tls_fetch(void *arg,
							   grpc_ssl_server_certificate_config **cfg)
{
	tpa_rpc_server *s = arg;
	grpc_ssl_certificate_config_reload_status st = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;

	pthread_mutex_lock(&s->tls_lock);
	if (s->tls_next) {
		grpc_ssl_pem_key_cert_pair pair = { s->tls_next->key_pem, s->tls_next->cert_pem };

		/* gRPC (1.51) asserts that a fetched config has root
		 * certificates even when no client certificate is asked for;
		 * then none is ever verified against them, so the server's own
		 * chain stands in. */
		*cfg = grpc_ssl_server_certificate_config_create(
			s->tls_next->client_ca_pem ? s->tls_next->client_ca_pem :
			s->tls_next->cert_pem, &pair, 1);
		st = *cfg ? GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW :
		     GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_FAIL;
		tpa_rpc_tls_free(s->tls_next);
		s->tls_next = NULL;
	}
	pthread_mutex_unlock(&s->tls_lock);
	return st;
}

int tpa_rpc_server_set_tls(tpa_rpc_server *s, tpa_rpc_tls *t)
{
	if (!s || !t)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "rpc: no TLS files");
	if (s->opts.insecure)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "rpc: a plaintext server has no TLS "
				    "files (--insecure needs a restart)");
	if ((t->client_ca_pem != NULL) != s->client_certs)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "--client-ca %s: asking for client "
				    "certificates or not needs a restart",
				    s->client_certs ? "removed" : "added");
	pthread_mutex_lock(&s->tls_lock);
	tpa_rpc_tls_free(s->tls_next);
	s->tls_next = t;
	pthread_mutex_unlock(&s->tls_lock);
	return 0;
}

int tpa_rpc_server_start(tpa_rpc_server *s, int *port)
{
	grpc_server_credentials *creds;
	size_t i, k;
	int bound;

	if (!s || s->started)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "rpc: server not startable");
	if (s->opts.insecure) {
		creds = grpc_insecure_server_credentials_create();
	} else {
		/* Devices present no certificate; a policy engine does, and it
		 * must then chain to the client CA. The certificate, key and
		 * client CA come from tls_fetch, asked at each handshake, so
		 * that tpa_rpc_server_set_tls replaces them while serving. */
		grpc_ssl_server_credentials_options *so =
			grpc_ssl_server_credentials_create_options_using_config_fetcher(
				s->client_certs ? GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY :
				GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE, tls_fetch, s);

		creds = so ? grpc_ssl_server_credentials_create_with_options(so) : NULL;
		if (!creds)
			return tpa_err_fail(TPA_ERR_CRYPTO,
					    "rpc: TLS certificate or key unusable");
	}
	if (strncmp(s->listen, "unix:", 5) == 0) {
		bound = grpc_server_add_http2_port(s->server, s->listen, creds);
		grpc_server_credentials_release(creds);
		if (bound <= 0)
			return tpa_err_fail(TPA_ERR_IO, "rpc: cannot listen on %s", s->listen);
	} else if ((bound = gate_open(s, creds)) < 0) {
		return bound;
	}
	grpc_server_start(s->server);
	if (s->gate_opts.listen) {
		int err = rpc_gate__start(&s->gate, &s->gate_opts, &bound);

		if (err < 0) {
			s->started = 1;
			tpa_rpc_server_shutdown(s, 0);
			return err;
		}
	}
	s->started = 1;
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nmethods; i++)
		for (k = 0; k < POSTED_PER_METHOD; k++)
			post(s, &s->methods[i]);
	post(s, NULL);
	pthread_mutex_unlock(&s->lock);
	/* Writers first: a worker hands calls only to writers that run. */
	for (i = 0; i < s->nwriters; i++) {
		if (pthread_create(&s->writers[i], NULL, writer, s) != 0)
			break;
		pthread_mutex_lock(&s->lock);
		s->started_writers++;
		pthread_mutex_unlock(&s->lock);
	}
	for (i = 0; i < s->nworkers; i++) {
		if (pthread_create(&s->workers[i], NULL, worker, s) != 0)
			break;
		s->started_workers++;
	}
	if (s->started_workers == 0) {
		tpa_rpc_server_shutdown(s, 0);
		return tpa_err_fail(TPA_ERR_INTERNAL, "rpc: no worker thread");
	}
	if (port)
		*port = bound;
	return 0;
}

int tpa_rpc_server_shutdown(tpa_rpc_server *s, unsigned grace_ms)
{
	grpc_event ev;
	unsigned i;

	if (!s)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "rpc: NULL server");
	if (!s->started || s->stopped)
		return 0;
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_mutex_unlock(&s->lock);

	/* No new connections; those open keep their bytes flowing while
	 * their calls finish. */
	rpc_gate__close_listener(s->gate);
	grpc_server_shutdown_and_notify(s->server, s->shutdown_cq, s);
	ev = grpc_completion_queue_next(
		s->shutdown_cq,
		gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
			     gpr_time_from_millis(grace_ms, GPR_TIMESPAN)),
		NULL);
	if (ev.type == GRPC_QUEUE_TIMEOUT) {
		grpc_server_cancel_all_calls(s->server);
		grpc_completion_queue_next(s->shutdown_cq,
					   gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	}
	/* Every call in progress has sent its reply before the server goes. */
	pthread_mutex_lock(&s->lock);
	while (s->inflight > 0)
		pthread_cond_wait(&s->idle, &s->lock);
	pthread_mutex_unlock(&s->lock);
	writers_stop(s);
	grpc_server_destroy(s->server);
	s->server = NULL;
	rpc_gate__stop(s->gate);
	s->gate = NULL;
	gate_dir_remove(s);

	grpc_completion_queue_shutdown(s->cq);
	for (i = 0; i < s->started_workers; i++)
		pthread_join(s->workers[i], NULL);
	grpc_completion_queue_shutdown(s->shutdown_cq);
	while (grpc_completion_queue_next(s->shutdown_cq,
					  gpr_inf_future(GPR_CLOCK_REALTIME),
					  NULL).type != GRPC_QUEUE_SHUTDOWN)
		;
	s->stopped = 1;
	return 0;
}

void tpa_rpc_server_free(tpa_rpc_server *s)
{
	size_t i;

	if (!s)
		return;
	if (s->started) {
		tpa_rpc_server_shutdown(s, 0);
	} else {
		grpc_server_destroy(s->server);
		grpc_completion_queue_shutdown(s->cq);
		while (grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME),
						  NULL).type != GRPC_QUEUE_SHUTDOWN)
			;
		grpc_completion_queue_shutdown(s->shutdown_cq);
		while (grpc_completion_queue_next(s->shutdown_cq,
						  gpr_inf_future(GPR_CLOCK_REALTIME),
						  NULL).type != GRPC_QUEUE_SHUTDOWN)
			;
	}
	gate_dir_remove(s);
	grpc_completion_queue_destroy(s->cq);
	grpc_completion_queue_destroy(s->shutdown_cq);
	for (i = 0; i < s->nmethods; i++)
		free(s->methods[i].path);
	tpa_rpc_tls_free(s->tls_next);
	free(s->listen);
	pthread_mutex_destroy(&s->tls_lock);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->idle);
	pthread_cond_destroy(&s->wq_cv);
	free(s);
	grpc_shutdown();
}

/* ================================ client ================================ */

struct tpa_rpc_client {
	grpc_channel *channel;
	size_t max_message;
	char *target;
};

int tpa_rpc_client_new(tpa_rpc_client **out, const tpa_rpc_client_opts *o)
{
	grpc_channel_credentials *creds;
	tpa_rpc_client *c;
	grpc_arg args[4];
	grpc_channel_args ca = { 0, args };
	char *ca_pem = NULL, *cert_pem = NULL, *key_pem = NULL;
	int err;

	if (!out || !o || !o->target || !*o->target)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "rpc client: no target");
	if (!o->insecure && !o->ca_file)
		return tpa_err_fail(TPA_ERR_INVALID_ARG,
				    "rpc client: TLS needs a CA file (or --insecure)");
	if (!o->insecure && (err = read_pem(&ca_pem, o->ca_file, "--ca")) < 0)
		return err;
	if (!o->insecure && (err = check_ca_pem(ca_pem, "--ca", o->ca_file)) < 0) {
		free(ca_pem);
		return err;
	}
	if ((o->cert_file != NULL) != (o->key_file != NULL) || (o->insecure && o->cert_file)) {
		free(ca_pem);
		return tpa_err_fail(TPA_ERR_INVALID_ARG,
				    "rpc client: a client certificate needs its key, and TLS");
	}
	if (o->cert_file && ((err = read_pem(&cert_pem, o->cert_file, "--cert")) < 0 ||
			     (err = read_pem(&key_pem, o->key_file, "--key")) < 0)) {
		free(ca_pem);
		free(cert_pem);
		return err;
	}
	if (!(c = calloc(1, sizeof(*c))) || !(c->target = strdup(o->target))) {
		free(c);
		free(ca_pem);
		free(cert_pem);
		free_secret(key_pem);
		return tpa_err_fail(TPA_ERR_NOMEM, "rpc client: out of memory");
	}
	c->max_message = o->max_message ? o->max_message : TPA_RPC_DEFAULT_MAX_MESSAGE;
	if (c->max_message > (size_t)INT32_MAX)
		c->max_message = INT32_MAX;
	grpc_init();
	{
		grpc_ssl_pem_key_cert_pair pair = { key_pem, cert_pem };

		creds = o->insecure ? grpc_insecure_credentials_create() :
			grpc_ssl_credentials_create_ex(ca_pem, cert_pem ? &pair : NULL, NULL, NULL);
	}
	free(ca_pem);
	free(cert_pem);
	free_secret(key_pem);
	args[ca.num_args].type = GRPC_ARG_INTEGER;
	args[ca.num_args].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[ca.num_args].value.integer = (int)c->max_message;
	ca.num_args++;
	if (o->server_name && !o->insecure) {
		args[ca.num_args].type = GRPC_ARG_STRING;
		args[ca.num_args].key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
		args[ca.num_args].value.string = (char *)o->server_name;
		ca.num_args++;
	}
	if (o->own_connection) {
		args[ca.num_args].type = GRPC_ARG_INTEGER;
		args[ca.num_args].key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
		args[ca.num_args].value.integer = 1;
		ca.num_args++;
	}
	c->channel = grpc_channel_create(o->target, creds, &ca);
	grpc_channel_credentials_release(creds);
	if (!c->channel) {
		free(c->target);
		free(c);
		grpc_shutdown();
		return tpa_err_fail(TPA_ERR_RPC, "rpc client: cannot create a channel to %s",
				    o->target);
	}
	*out = c;
	return 0;
}

void tpa_rpc_client_free(tpa_rpc_client *c)
{
	if (!c)
		return;
	grpc_channel_destroy(c->channel);
	free(c->target);
	free(c);
	grpc_shutdown();
}

static int status_to_err(int st)
{
	switch (st) {
	case TPA_RPC_UNAVAILABLE: return TPA_ERR_UNAVAILABLE;
	case TPA_RPC_DEADLINE_EXCEEDED: return TPA_ERR_DEADLINE;
	case TPA_RPC_INVALID_ARGUMENT:
	case TPA_RPC_NOT_FOUND:
	case TPA_RPC_ALREADY_EXISTS:
	case TPA_RPC_PERMISSION_DENIED:
	case TPA_RPC_RESOURCE_EXHAUSTED:
	case TPA_RPC_FAILED_PRECONDITION:
	case TPA_RPC_UNIMPLEMENTED:
		return TPA_ERR_REFUSED;
	default: return TPA_ERR_RPC;
	}
}

int tpa_rpc_client_call(uint8_t **resp, size_t *resp_len, int *status_out,
			tpa_rpc_client *c, const char *method, const uint8_t *req,
			size_t req_len, unsigned deadline_ms)
{
	grpc_completion_queue *cq;
	grpc_call *call;
	grpc_metadata_array md_init, md_trail;
	grpc_byte_buffer *send = NULL, *recv = NULL;
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_slice msl, rsl;
	grpc_op ops[6];
	grpc_event ev;
	gpr_timespec deadline;
	int err = 0;

	if (status_out)
		*status_out = TPA_RPC_UNKNOWN;
	if (!resp || !resp_len || !c || !method || (!req && req_len))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "rpc call: NULL");
	deadline = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
				gpr_time_from_millis(deadline_ms, GPR_TIMESPAN));
	cq = grpc_completion_queue_create_for_pluck(NULL);
	msl = grpc_slice_from_copied_string(method);
	call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
					msl, NULL, deadline, NULL);
	grpc_slice_unref(msl);
	rsl = grpc_slice_from_copied_buffer((const char *)req, req_len);
	send = grpc_raw_byte_buffer_create(&rsl, 1);
	grpc_slice_unref(rsl);
	grpc_metadata_array_init(&md_init);
	grpc_metadata_array_init(&md_trail);

	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &md_init;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &md_trail;
	ops[5].data.recv_status_on_client.status = &status;
	ops[5].data.recv_status_on_client.status_details = &details;

	if (grpc_call_start_batch(call, ops, 6, call, NULL) != GRPC_CALL_OK) {
		err = tpa_err_fail(TPA_ERR_RPC, "rpc %s: cannot start the call", method);
		goto cleanup;
	}
	ev = grpc_completion_queue_pluck(cq, call, gpr_inf_future(GPR_CLOCK_REALTIME),
					 NULL);
	if (ev.type != GRPC_OP_COMPLETE) {
		err = tpa_err_fail(TPA_ERR_RPC, "rpc %s: call did not complete", method);
		goto cleanup;
	}
	if (status_out)
		*status_out = (int)status;
	if (status != GRPC_STATUS_OK) {
		size_t dl = GRPC_SLICE_LENGTH(details);

		err = tpa_err_fail(status_to_err((int)status), "%s from %s: %.*s",
				   tpa_rpc_status_name((int)status), c->target,
				   (int)(dl > 400 ? 400 : dl),
				   (const char *)GRPC_SLICE_START_PTR(details));
		goto cleanup;
	}
	if (!recv) {
		err = tpa_err_fail(TPA_ERR_RPC, "rpc %s: OK without a reply message", method);
		goto cleanup;
	} else {
		grpc_byte_buffer_reader rd;
		grpc_slice all;
		size_t n;

		if (!grpc_byte_buffer_reader_init(&rd, recv)) {
			err = tpa_err_fail(TPA_ERR_RPC, "rpc %s: reply cannot be read", method);
			goto cleanup;
		}
		all = grpc_byte_buffer_reader_readall(&rd);
		grpc_byte_buffer_reader_destroy(&rd);
		n = GRPC_SLICE_LENGTH(all);
		if (n > c->max_message || !(*resp = malloc(n ? n : 1))) {
			grpc_slice_unref(all);
			err = tpa_err_fail(TPA_ERR_NOMEM, "rpc %s: reply of %zu bytes", method, n);
			goto cleanup;
		}
		memcpy(*resp, GRPC_SLICE_START_PTR(all), n);
		*resp_len = n;
		grpc_slice_unref(all);
	}
cleanup:
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&md_init);
	grpc_metadata_array_destroy(&md_trail);
	if (send)
		grpc_byte_buffer_destroy(send);
	if (recv)
		grpc_byte_buffer_destroy(recv);
	grpc_call_unref(call);
	grpc_completion_queue_shutdown(cq);
	grpc_completion_queue_destroy(cq);
	return err;
}
