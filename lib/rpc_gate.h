/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal: the front door of the RPC server. gRPC core 1.51 sets no cap on
 * connections and closes its listener for good on the first EMFILE; the gate
 * owns the public TCP listener instead, admits a connection only while the
 * peer address and the whole server are under their caps (the excess is
 * reset at once, before TLS), survives running out of descriptors, and
 * relays the bytes of each admitted connection, untouched (TLS is still
 * gRPC's), to gRPC listening on a unix socket in a private directory. */
#ifndef TPA_RPC_GATE_H
#define TPA_RPC_GATE_H

#include <stdint.h>

typedef struct rpc_gate rpc_gate;

typedef struct {
	const char *listen;        /* "host:port", "[v6]:port"; port 0 picks one */
	const char *inner;         /* unix socket path gRPC listens on */
	unsigned max_total;        /* connections open at once, all peers */
	unsigned max_per_peer;     /* connections open at once from one address */
} rpc_gate_opts;

typedef struct {
	uint64_t accepted;         /* admitted and relayed */
	uint64_t refused_total;    /* reset: the server was at max_total */
	uint64_t refused_peer;     /* reset: the peer was at max_per_peer */
	uint64_t refused_inner;    /* reset: gRPC's socket took no more */
	uint64_t out_of_fds;       /* accept failed for want of descriptors */
	unsigned open;             /* relayed connections open now */
	int64_t heartbeat_ms;      /* CLOCK_MONOTONIC of the loop's last turn */
} rpc_gate_stats;

/* Binds, and starts the relay thread; *port gets the bound port. */
int rpc_gate__start(rpc_gate **out, const rpc_gate_opts *o, int *port);
/* Stops admitting (the listener is closed); open connections keep going. */
void rpc_gate__close_listener(rpc_gate *g);
/* Relays what is in flight until each connection ends (gRPC has closed its
 * side) or a second passes, closes the rest, joins the thread, frees. */
void rpc_gate__stop(rpc_gate *g);
void rpc_gate__stats(rpc_gate *g, rpc_gate_stats *st);
int64_t rpc_gate__now_ms(void);

#endif
