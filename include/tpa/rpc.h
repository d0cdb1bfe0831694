/* SPDX-License-Identifier: BSD-3-Clause */
/* A small unary-RPC layer over gRPC core (libgrpc): a TLS server with
 * registered methods, worker threads and graceful shutdown, and a client with
 * deadlines. Messages are opaque bytes here; the service packs protobufs. */
#ifndef TPA_RPC_H
#define TPA_RPC_H

#include <stddef.h>
#include <stdint.h>

/* gRPC status codes (the values of grpc_status_code). */
enum {
	TPA_RPC_OK = 0,
	TPA_RPC_CANCELLED = 1,
	TPA_RPC_UNKNOWN = 2,
	TPA_RPC_INVALID_ARGUMENT = 3,
	TPA_RPC_DEADLINE_EXCEEDED = 4,
	TPA_RPC_NOT_FOUND = 5,
	TPA_RPC_ALREADY_EXISTS = 6,
	TPA_RPC_PERMISSION_DENIED = 7,
	TPA_RPC_RESOURCE_EXHAUSTED = 8,
	TPA_RPC_FAILED_PRECONDITION = 9,
	TPA_RPC_UNIMPLEMENTED = 12,
	TPA_RPC_INTERNAL = 13,
	TPA_RPC_UNAVAILABLE = 14,
};

#define TPA_RPC_DEFAULT_MAX_MESSAGE (1u << 20)
/* Connections: see tpa_rpc_server_opts. */
#define TPA_RPC_DEFAULT_MAX_CONNECTIONS 1024
#define TPA_RPC_DEFAULT_MAX_PER_PEER 64
#define TPA_RPC_DEFAULT_HANDSHAKE_MS 10000
#define TPA_RPC_DEFAULT_IDLE_MS 300000
#define TPA_RPC_DEFAULT_MAX_AGE_MS 1800000
#define TPA_RPC_DEFAULT_AGE_GRACE_MS 30000
#define TPA_RPC_DEFAULT_MAX_STREAMS 32
#define TPA_RPC_DETAILS_MAX 512

/* Name of a status code ("INVALID_ARGUMENT"). */
const char *tpa_rpc_status_name(int status);

/* Keeps gRPC core from writing to stderr unless verbose. */
void tpa_rpc_log_init(int verbose);

/* ---- server ---- */

typedef struct tpa_rpc_server tpa_rpc_server;

/* What a handler answers. On status TPA_RPC_OK the layer sends data (which
 * the handler allocated with malloc; the layer frees it), otherwise the
 * status with details. */
typedef struct {
	int status;
	uint8_t *data;
	size_t len;
	char details[TPA_RPC_DETAILS_MAX];
	/* Set by the layer before the handler runs: the peer presented a client
	 * certificate that chains to the server's client CA (mTLS), and its
	 * subject CN. */
	int peer_authenticated;
	char peer_cn[128];          /* for messages: cut, and '?' for bytes not
				     * printable ASCII */
	int peer_cn_exact;          /* 1 if peer_cn is the CN whole and as it is:
				     * only then may it be matched to a name */
	/* ... and that certificate names clientAuth in an extended key usage
	 * extension (one without the extension, a server's, does not). */
	int peer_client_auth;
} tpa_rpc_reply;

/* Called on a worker thread for each request; req is the whole message. */
typedef void (*tpa_rpc_handler)(tpa_rpc_reply *reply, const uint8_t *req,
				size_t len, void *ctx);

typedef struct {
	const char *listen;        /* "127.0.0.1:0" binds a free port */
	const char *cert_file;     /* PEM certificate chain (TLS) */
	const char *key_file;      /* PEM private key (TLS) */
	int insecure;              /* plaintext: only when explicitly asked */
	size_t max_message;        /* largest request accepted, bytes */
	unsigned workers;          /* worker threads, >= 1 */
	unsigned writers;          /* threads for the calls of writing methods
				    * (below), 0: the workers run them */
	const char *client_ca_file; /* PEM: client certificates are asked for and,
				     * if presented, must chain to it (mTLS); a
				     * handler sees peer_authenticated */
	/* Connections, 0 for the default. A TCP listen address is served by
	 * the layer's own gate: at most max_connections open at once (fewer
	 * if RLIMIT_NOFILE allows fewer: each costs three descriptors) and
	 * max_connections_per_peer from one address; the excess is reset
	 * before TLS. A unix: address goes to gRPC as it is. */
	unsigned max_connections;
	unsigned max_connections_per_peer;
	unsigned handshake_timeout_ms;  /* TLS and HTTP/2 set-up must end by then */
	unsigned idle_timeout_ms;       /* a connection without calls this long goes */
	unsigned max_age_ms;            /* no connection lives longer ... */
	unsigned max_age_grace_ms;      /* ... than this more for its calls to end */
	unsigned max_streams;           /* concurrent calls on one connection */
} tpa_rpc_server_opts;

/* What the gate saw since start. */
typedef struct {
	uint64_t accepted;       /* connections admitted */
	uint64_t refused_total;  /* reset: max_connections open */
	uint64_t refused_peer;   /* reset: max_connections_per_peer open */
	uint64_t refused_inner;  /* reset: the relay could not reach gRPC */
	uint64_t out_of_fds;     /* accept failed for want of descriptors */
	unsigned open;           /* open now */
	unsigned max_connections; /* the cap in force */
} tpa_rpc_conn_stats;

/* Checks before anything is bound: the listen address has a port (HOST:PORT,
 * [V6]:PORT, or unix:PATH), the certificate file holds a certificate whose
 * key is the private key's, and the client CA file holds a certificate.
 * Each error names the option and the file. */
int tpa_rpc_server_new(tpa_rpc_server **out, const tpa_rpc_server_opts *opts);
/* 0 if addr is HOST:PORT, [V6]:PORT with a port 0..65535, or unix:PATH. */
int tpa_rpc_check_listen(const char *addr);
/* path is "/package.Service/Method". Before start. */
int tpa_rpc_server_add_method(tpa_rpc_server *s, const char *path,
			      tpa_rpc_handler h, void *ctx);
/* The same, for a method whose calls wait on a shared resource (the
 * registry's commit): with opts.writers, a worker hands its calls to one of
 * the writer threads while fewer than that many wait for one, and runs
 * them itself otherwise. At most workers + 2 x writers requests are in hand. */
int tpa_rpc_server_add_writing_method(tpa_rpc_server *s, const char *path,
				      tpa_rpc_handler h, void *ctx);
/* Binds and starts serving; *port receives the bound port. Unknown methods
 * are answered UNIMPLEMENTED. */
int tpa_rpc_server_start(tpa_rpc_server *s, int *port);
/* Stops taking calls, lets calls in flight finish for up to grace_ms, then
 * cancels the rest, and joins the workers. */
int tpa_rpc_server_shutdown(tpa_rpc_server *s, unsigned grace_ms);
/* The gate's counters (all zero for a unix: listener). */
int tpa_rpc_server_conn_stats(tpa_rpc_server *s, tpa_rpc_conn_stats *st);
/* Whether the server still serves: the gate's loop turned lately, and gRPC
 * accepted a new connection and a worker answered a call on it, within
 * timeout_ms. 0 if so. For a watchdog. */
int tpa_rpc_server_probe(tpa_rpc_server *s, unsigned timeout_ms);
/* Shuts down (grace 0) if still running, then frees. */
void tpa_rpc_server_free(tpa_rpc_server *s);
/* The server's TLS files (--cert, --key, --client-ca or NULL), read and
 * checked as tpa_rpc_server_new does: a reload loads them first, with the
 * rest of its settings, and applies them only if all of it holds. */
typedef struct tpa_rpc_tls tpa_rpc_tls;
int tpa_rpc_tls_load(tpa_rpc_tls **out, const char *cert_file, const char *key_file,
		     const char *client_ca_file);
void tpa_rpc_tls_free(tpa_rpc_tls *t);
/* New handshakes use t from now (connections open keep theirs); the server
 * owns t once this returns 0. Refused (t still the caller's) for a
 * plaintext server, or when t would start or stop asking for client
 * certificates: gRPC fixes that when the server starts. */
int tpa_rpc_server_set_tls(tpa_rpc_server *s, tpa_rpc_tls *t);

/* ---- client ---- */

typedef struct tpa_rpc_client tpa_rpc_client;

typedef struct {
	const char *target;        /* "host:port" */
	const char *ca_file;       /* PEM roots the server must chain to (TLS) */
	const char *server_name;   /* name to check instead of the host, or NULL */
	int insecure;              /* plaintext: only when explicitly asked */
	size_t max_message;        /* largest reply accepted, bytes */
	const char *cert_file;     /* PEM client certificate for mTLS, or NULL */
	const char *key_file;      /* its private key */
	int own_connection;        /* a connection of its own, never shared with
				    * another client of this process to the same
				    * target (as separate devices have): gRPC's
				    * local subchannel pool */
} tpa_rpc_client_opts;

/* The CA file must hold a certificate (a key file given as --ca is named). */
int tpa_rpc_client_new(tpa_rpc_client **out, const tpa_rpc_client_opts *opts);
void tpa_rpc_client_free(tpa_rpc_client *c);

/* One unary call; thread-safe. On success *resp (malloc'd, caller frees) and
 * *resp_len hold the reply. A non-OK status becomes TPA_ERR_UNAVAILABLE
 * (UNAVAILABLE: unreachable, TLS failure), TPA_ERR_DEADLINE,
 * TPA_ERR_REFUSED (the server rejected the request) or TPA_ERR_RPC, with
 * the status name and details in tpa_err_last(); *status_out (optional)
 * receives the gRPC status code. */
int tpa_rpc_client_call(uint8_t **resp, size_t *resp_len, int *status_out,
			tpa_rpc_client *c, const char *method, const uint8_t *req,
			size_t req_len, unsigned deadline_ms);

#endif
