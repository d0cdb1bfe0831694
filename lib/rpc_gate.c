/* SPDX-License-Identifier: BSD-3-Clause */
/* The RPC server's front door: see rpc_gate.h. One thread, level-triggered
 * epoll. An idle connection costs two descriptors here (and one in gRPC)
 * and no buffer: bytes are read into the stack and written on at once; only
 * what the other side cannot take yet is kept, and then the side that sent
 * it is not read until it is gone. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rpc_gate.h"
#include "tpa/err.h"

#define LISTENERS_MAX 4
#define CHUNK 16384
#define EVENTS 64
#define PAUSE_MS 100        /* listener paused after an EMFILE it could not absorb */
#define TURN_MS 500         /* the loop turns at least this often (heartbeat) */
#define LINGER_MS 2000      /* a peer's time to read its last reply and close */
#define DRAIN_MS 1000       /* at stop, time for replies already written to reach peers */
#define GONE_MS 5000        /* gRPC gone, what it wrote still held here for a peer
			     * that does not read: the connection's time to end */

typedef struct conn conn;

typedef struct {
	conn *c;
	int fd;
	uint8_t *pend;      /* bytes for this fd that it did not take yet */
	size_t pend_len, pend_off;
	int parked;         /* hung up while the other side held its bytes: out
			     * of epoll (a hang-up is reported whatever is asked)
			     * until they are sent, then read to its end */
} side;

struct conn {
	side s[2];          /* 0: the peer, 1: gRPC */
	int family;
	uint8_t addr[16];        /* the peer: IPv4, or an IPv6 /64 (peer_key) */
	unsigned slot;
	int dead;
	int inner_shut;         /* gRPC takes no more bytes: the peer's are dropped */
	int64_t linger_until;   /* gRPC closed: the peer's write side is shut
				 * and what it still sends is read and dropped
				 * (a close with unread input would be a reset,
				 * and a reset makes the peer drop the reply it
				 * has not read yet); 0 otherwise */
	int64_t gone_until;     /* gRPC hung up or stopped reading while bytes
				 * for the peer wait here: closed then, read
				 * or not (else a peer that never reads holds
				 * the connection for ever); 0 otherwise */
	conn *next_dead;
};

struct rpc_gate {
	int lfd[LISTENERS_MAX];
	size_t nlfd;
	int epfd, wakefd, spare;
	int64_t paused_until;
	pthread_t thr;
	pthread_mutex_t lock;
	int stop, close_listeners, listeners_closed;
	int64_t drain_until;        /* stopping: relay until every conn ends, or then */
	int64_t swept_ms;           /* lingering connections last looked at */
	conn **conns;
	unsigned nconns, max_total, max_per_peer;
	conn *dead;
	struct sockaddr_un inner;
	rpc_gate_stats st;
};

int64_t rpc_gate__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Closes with a reset: no FIN handshake, no TIME_WAIT for a refused peer. */
static void reset_close(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static void peer_key(conn *c, const struct sockaddr_storage *ss)
{
	memset(c->addr, 0, sizeof(c->addr));
	c->family = ss->ss_family;
	if (ss->ss_family == AF_INET) {
		memcpy(c->addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {     /* one peer, whichever stack */
			c->family = AF_INET;
			memcpy(c->addr, a->s6_addr + 12, 4);
		} else {
			/* One peer per /64: a host is given a /64 (RFC 6177, SLAAC
			 * picks its 64 low bits at will), so counting /128s would let
			 * one machine take every slot from as many addresses. */
			memcpy(c->addr, a->s6_addr, 8);
		}
	}
}

static unsigned peer_count(const rpc_gate *g, const conn *c)
{
	unsigned i, n = 0;

	for (i = 0; i < g->nconns; i++)
		if (g->conns[i]->family == c->family &&
		    memcmp(g->conns[i]->addr, c->addr, sizeof(c->addr)) == 0)
			n++;
	return n;
}

/* What side x waits for: input unless the other side still holds bytes
 * from it, output while it holds bytes of its own. */
static void want(rpc_gate *g, side *x)
{
	side *o = &x->c->s[x == &x->c->s[0]];
	struct epoll_event ev;

	ev.events = (o->pend_len ? 0 : EPOLLIN) | (x->pend_len ? EPOLLOUT : 0);
	ev.data.ptr = x;
	epoll_ctl(g->epfd, EPOLL_CTL_MOD, x->fd, &ev);
}

static void conn_kill(rpc_gate *g, conn *c)
{
	unsigned i;

	if (c->dead)
		return;
	c->dead = 1;
	for (i = 0; i < 2; i++) {
		if (!c->s[i].parked)
			epoll_ctl(g->epfd, EPOLL_CTL_DEL, c->s[i].fd, NULL);
		close(c->s[i].fd);
		free(c->s[i].pend);
		c->s[i].pend = NULL;
	}
	g->conns[c->slot] = g->conns[--g->nconns];
	g->conns[c->slot]->slot = c->slot;
	/* Freed after this batch of events, which may still name it. */
	c->next_dead = g->dead;
	g->dead = c;
}

/* gRPC has gone from c: it must end within GONE_MS. */
static void gone(conn *c)
{
	if (!c->gone_until)
		c->gone_until = rpc_gate__now_ms() + GONE_MS;
}

/* src is readable: move one chunk to the other side. */
static void relay(rpc_gate *g, side *src)
{
	conn *c = src->c;
	side *dst = &c->s[src == &c->s[0]];
	uint8_t buf[CHUNK];
	ssize_t n, w;

	if (dst->pend_len)
		return;
	n = read(src->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 && src == &c->s[1] && !c->linger_until) {
		/* gRPC is done, and all it wrote is with the peer's kernel:
		 * a FIN after it, then wait for the peer's. A unix socket
		 * closed with unread input reads as a reset here, after its
		 * last bytes: that is an end too, and closing the peer at once
		 * would reset it, and a reset peer drops the reply it has not
		 * read yet. */
		epoll_ctl(g->epfd, EPOLL_CTL_DEL, src->fd, NULL);
		src->parked = 1;
		shutdown(dst->fd, SHUT_WR);
		c->linger_until = rpc_gate__now_ms() + LINGER_MS;
		return;
	}
	if (n <= 0) {
		conn_kill(g, c);
		return;
	}
	if (src == &c->s[0] && (c->linger_until || c->inner_shut))
		return;   /* dropped: gRPC has gone; what it wrote still goes */
	w = send(dst->fd, buf, (size_t)n, MSG_NOSIGNAL);
	if (w < 0 && errno != EAGAIN && errno != EINTR) {
		/* gRPC closed its end: what it wrote before may still be
		 * waiting to be read, and its end of file comes after. */
		if (dst == &c->s[1]) {
			c->inner_shut = 1;
			gone(c);
			return;
		}
		conn_kill(g, c);
		return;
	}
	if (w < 0)
		w = 0;
	if (w < n) {
		if (!(dst->pend = malloc((size_t)(n - w)))) {
			conn_kill(g, c);
			return;
		}
		memcpy(dst->pend, buf + w, (size_t)(n - w));
		dst->pend_len = (size_t)(n - w);
		dst->pend_off = 0;
		want(g, src);
		want(g, dst);
	}
}

/* x is writable: send what it holds. */
static void flush(rpc_gate *g, side *x)
{
	ssize_t w;

	if (!x->pend_len)
		return;
	w = send(x->fd, x->pend + x->pend_off, x->pend_len, MSG_NOSIGNAL);
	if (w < 0 && errno != EAGAIN && errno != EINTR && x == &x->c->s[1]) {
		/* gRPC closed its end: drop what was for it, keep reading
		 * what it wrote before. */
		x->c->inner_shut = 1;
		gone(x->c);
		w = (ssize_t)x->pend_len;
	}
	if (w < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_kill(g, x->c);
		return;
	}
	x->pend_off += (size_t)w;
	x->pend_len -= (size_t)w;
	if (x->pend_len == 0) {
		side *o = &x->c->s[x == &x->c->s[0]];

		free(x->pend);
		x->pend = NULL;
		x->pend_off = 0;
		want(g, x);
		if (o->parked) {
			/* Back in, to read what it sent before hanging up. */
			struct epoll_event ev = { EPOLLIN, { .ptr = o } };

			o->parked = 0;
			if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, o->fd, &ev) < 0)
				conn_kill(g, x->c);
		} else {
			want(g, o);
		}
	}
}

static int add_fd(rpc_gate *g, int fd, void *ptr)
{
	struct epoll_event ev;

	ev.events = EPOLLIN;
	ev.data.ptr = ptr;
	return epoll_ctl(g->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void admit(rpc_gate *g, int fd, const struct sockaddr_storage *ss)
{
	conn probe, *c;
	int in, one = 1;
	uint64_t *refused = NULL;

	memset(&probe, 0, sizeof(probe));
	peer_key(&probe, ss);
	if (g->nconns >= g->max_total)
		refused = &g->st.refused_total;
	else if (peer_count(g, &probe) >= g->max_per_peer)
		refused = &g->st.refused_peer;
	if (refused) {
		pthread_mutex_lock(&g->lock);
		(*refused)++;
		pthread_mutex_unlock(&g->lock);
		reset_close(fd);
		return;
	}
	in = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (in < 0 || (connect(in, (struct sockaddr *)&g->inner, sizeof(g->inner)) < 0 &&
		       errno != EINPROGRESS) || !(c = calloc(1, sizeof(*c)))) {
		if (in >= 0)
			close(in);
		pthread_mutex_lock(&g->lock);
		g->st.refused_inner++;
		pthread_mutex_unlock(&g->lock);
		reset_close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*c = probe;
	c->s[0].c = c->s[1].c = c;
	c->s[0].fd = fd;
	c->s[1].fd = in;
	if (add_fd(g, fd, &c->s[0]) < 0 || add_fd(g, in, &c->s[1]) < 0) {
		epoll_ctl(g->epfd, EPOLL_CTL_DEL, fd, NULL);
		reset_close(fd);
		close(in);
		free(c);
		return;
	}
	c->slot = g->nconns;
	g->conns[g->nconns++] = c;
	pthread_mutex_lock(&g->lock);
	g->st.accepted++;
	pthread_mutex_unlock(&g->lock);
}

static void pause_listeners(rpc_gate *g, int paused)
{
	size_t i;

	for (i = 0; i < g->nlfd; i++) {
		struct epoll_event ev = { paused ? 0 : EPOLLIN, { .ptr = &g->lfd[i] } };

		epoll_ctl(g->epfd, EPOLL_CTL_MOD, g->lfd[i], &ev);
	}
}

static void accept_all(rpc_gate *g, int lfd)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			admit(g, fd, &ss);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			pthread_mutex_lock(&g->lock);
			g->st.out_of_fds++;
			pthread_mutex_unlock(&g->lock);
			/* The spare descriptor takes one waiting peer off the
			 * queue, with a reset, so the queue does not stay full
			 * and the loop does not spin. */
			if (g->spare >= 0) {
				close(g->spare);
				g->spare = -1;
				if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
					reset_close(fd);
				g->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
			}
			if (g->spare < 0 || fd < 0) {
				pause_listeners(g, 1);
				g->paused_until = rpc_gate__now_ms() + PAUSE_MS;
			}
		}
		return;   /* EAGAIN, or wait for descriptors */
	}
}

static void close_listeners(rpc_gate *g)
{
	size_t i;

	for (i = 0; i < g->nlfd; i++) {
		epoll_ctl(g->epfd, EPOLL_CTL_DEL, g->lfd[i], NULL);
		close(g->lfd[i]);
		g->lfd[i] = -1;
	}
	g->listeners_closed = 1;
}

static void *loop(void *arg)
{
	rpc_gate *g = arg;
	struct epoll_event ev[EVENTS];

	for (;;) {
		int n, i, timeout = TURN_MS, stop, closing;
		int64_t now = rpc_gate__now_ms();

		pthread_mutex_lock(&g->lock);
		g->st.heartbeat_ms = now;
		g->st.open = g->nconns;
		stop = g->stop;
		closing = g->close_listeners || stop;
		pthread_mutex_unlock(&g->lock);
		/* Stopping: gRPC has closed its ends; what it wrote before is still
		 * relayed, each connection closing on its end of file. */
		if (stop && (g->nconns == 0 || now >= g->drain_until))
			break;
		if (stop && g->drain_until - now < timeout)
			timeout = (int)(g->drain_until - now);
		if (closing && !g->listeners_closed)
			close_listeners(g);
		if (g->paused_until) {
			if (now >= g->paused_until) {
				g->paused_until = 0;
				if (!g->listeners_closed)
					pause_listeners(g, 0);
			} else if (g->paused_until - now < timeout) {
				timeout = (int)(g->paused_until - now);
			}
		}
		n = epoll_wait(g->epfd, ev, EVENTS, timeout);
		for (i = 0; i < n; i++) {
			void *p = ev[i].data.ptr;
			side *x;

			if (p == &g->wakefd) {
				uint64_t v;

				if (read(g->wakefd, &v, sizeof(v)) < 0)
					continue;
				continue;
			}
			if (p >= (void *)&g->lfd[0] && p < (void *)&g->lfd[LISTENERS_MAX]) {
				if (!g->listeners_closed)
					accept_all(g, *(int *)p);
				continue;
			}
			x = p;
			if (x->c->dead)
				continue;
			if ((ev[i].events & EPOLLERR) && x == &x->c->s[0]) {
				conn_kill(g, x->c);
				continue;
			}
			if (ev[i].events & EPOLLOUT)
				flush(g, x);
			if (x->c->dead || !(ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				continue;
			/* A hang-up is reported whether asked for or not: a side
			 * that cannot be read now (the other holds its bytes)
			 * is parked, so the loop does not turn on it, and its
			 * last bytes still reach the other side. */
			if ((ev[i].events & (EPOLLHUP | EPOLLERR)) && x->c->s[x == &x->c->s[0]].pend_len) {
				epoll_ctl(g->epfd, EPOLL_CTL_DEL, x->fd, NULL);
				x->parked = 1;
				if (x == &x->c->s[1])
					gone(x->c);
			} else {
				relay(g, x);
			}
		}
		if (now - g->swept_ms >= TURN_MS) {
			unsigned k;

			g->swept_ms = now;
			for (k = g->nconns; k-- > 0;)
				if ((g->conns[k]->linger_until && now >= g->conns[k]->linger_until) ||
				    (g->conns[k]->gone_until && now >= g->conns[k]->gone_until))
					conn_kill(g, g->conns[k]);
		}
		while (g->dead) {
			conn *c = g->dead;

			g->dead = c->next_dead;
			free(c);
		}
	}
	while (g->nconns)
		conn_kill(g, g->conns[0]);
	while (g->dead) {
		conn *c = g->dead;

		g->dead = c->next_dead;
		free(c);
	}
	if (!g->listeners_closed)
		close_listeners(g);
	return NULL;
}

/* "host:port" or "[v6]:port" into host and port. */
static int split_addr(char *host, size_t hmax, char *port, size_t pmax, const char *a)
{
	const char *colon, *h = a;
	size_t hl;

	if (a[0] == '[') {
		const char *e = strchr(a, ']');

		if (!e || e[1] != ':')
			return -1;
		h = a + 1;
		hl = (size_t)(e - h);
		colon = e + 1;
	} else {
		if (!(colon = strrchr(a, ':')))
			return -1;
		hl = (size_t)(colon - a);
	}
	if (hl >= hmax || strlen(colon + 1) >= pmax || !colon[1])
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	memcpy(port, colon + 1, strlen(colon + 1) + 1);   /* < pmax, above */
	return 0;
}

static int bind_all(rpc_gate *g, const char *listen_addr, int *port)
{
	char host[256], serv[16];
	struct addrinfo hints, *res = NULL, *ai;
	int rc, bound = 0;

	if (split_addr(host, sizeof(host), serv, sizeof(serv), listen_addr) < 0)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "rpc: listen address '%s' is not host:port",
				    listen_addr);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, serv, &hints, &res)) != 0)
		return tpa_err_fail(TPA_ERR_IO, "rpc: cannot resolve %s: %s", listen_addr,
				    gai_strerror(rc));
	for (ai = res; ai && g->nlfd < LISTENERS_MAX; ai = ai->ai_next) {
		int fd, one = 1, zero = 0;

		if (bound) {      /* port 0: every address gets the first one's port */
			if (ai->ai_family == AF_INET)
				((struct sockaddr_in *)ai->ai_addr)->sin_port = htons((uint16_t)bound);
			else if (ai->ai_family == AF_INET6)
				((struct sockaddr_in6 *)ai->ai_addr)->sin6_port = htons((uint16_t)bound);
		}
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)   /* [::] takes IPv4 too, as gRPC's did */
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
			close(fd);
			continue;
		}
		if (!bound) {
			struct sockaddr_storage ss;
			socklen_t len = sizeof(ss);

			if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
				bound = ntohs(ss.ss_family == AF_INET6 ?
					      ((struct sockaddr_in6 *)&ss)->sin6_port :
					      ((struct sockaddr_in *)&ss)->sin_port);
		}
		g->lfd[g->nlfd++] = fd;
	}
	freeaddrinfo(res);
	if (!g->nlfd)
		return tpa_err_fail(TPA_ERR_IO, "rpc: cannot listen on %s: %s", listen_addr,
				    strerror(errno));
	*port = bound;
	return 0;
}

static void gate_free(rpc_gate *g)
{
	size_t i;

	for (i = 0; i < g->nlfd; i++)
		if (g->lfd[i] >= 0)
			close(g->lfd[i]);
	if (g->epfd >= 0)
		close(g->epfd);
	if (g->wakefd >= 0)
		close(g->wakefd);
	if (g->spare >= 0)
		close(g->spare);
	pthread_mutex_destroy(&g->lock);
	free(g->conns);
	free(g);
}

int rpc_gate__start(rpc_gate **out, const rpc_gate_opts *o, int *port)
{
	rpc_gate *g;
	size_t i;
	int err;

	if (!o->max_total || !o->max_per_peer)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "rpc: connection caps must be >= 1");
	if (strlen(o->inner) >= sizeof(g->inner.sun_path))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "rpc: inner socket path too long");
	if (!(g = calloc(1, sizeof(*g))))
		return tpa_err_fail(TPA_ERR_NOMEM, "rpc: out of memory");
	pthread_mutex_init(&g->lock, NULL);
	g->epfd = g->wakefd = g->spare = -1;
	g->max_total = o->max_total;
	g->max_per_peer = o->max_per_peer;
	g->inner.sun_family = AF_UNIX;
	memcpy(g->inner.sun_path, o->inner, strlen(o->inner) + 1);   /* fits, above */
	if (!(g->conns = calloc(o->max_total, sizeof(*g->conns)))) {
		gate_free(g);
		return tpa_err_fail(TPA_ERR_NOMEM, "rpc: out of memory");
	}
	if ((err = bind_all(g, o->listen, port)) < 0) {
		gate_free(g);
		return err;
	}
	g->epfd = epoll_create1(EPOLL_CLOEXEC);
	g->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	g->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (g->epfd < 0 || g->wakefd < 0 || g->spare < 0 || add_fd(g, g->wakefd, &g->wakefd) < 0) {
		gate_free(g);
		return tpa_err_fail(TPA_ERR_IO, "rpc: gate: %s", strerror(errno));
	}
	for (i = 0; i < g->nlfd; i++)
		if (add_fd(g, g->lfd[i], &g->lfd[i]) < 0) {
			gate_free(g);
			return tpa_err_fail(TPA_ERR_IO, "rpc: gate: %s", strerror(errno));
		}
	g->st.heartbeat_ms = rpc_gate__now_ms();
	if (pthread_create(&g->thr, NULL, loop, g) != 0) {
		gate_free(g);
		return tpa_err_fail(TPA_ERR_INTERNAL, "rpc: no gate thread");
	}
	*out = g;
	return 0;
}

static void wake(rpc_gate *g)
{
	uint64_t one = 1;

	if (write(g->wakefd, &one, sizeof(one)) < 0) {
		/* the counter is full: the loop is awake anyway */
	}
}

void rpc_gate__close_listener(rpc_gate *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->close_listeners = 1;
	pthread_mutex_unlock(&g->lock);
	wake(g);
}

void rpc_gate__stop(rpc_gate *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = 1;
	g->drain_until = rpc_gate__now_ms() + DRAIN_MS;
	pthread_mutex_unlock(&g->lock);
	wake(g);
	pthread_join(g->thr, NULL);
	gate_free(g);
}

void rpc_gate__stats(rpc_gate *g, rpc_gate_stats *st)
{
	pthread_mutex_lock(&g->lock);
	*st = g->st;
	pthread_mutex_unlock(&g->lock);
}
