/* SPDX-License-Identifier: BSD-3-Clause */
/* Outbound notifications: what the verifier tells others (a RADIUS server's
 * disconnect, an identity provider's CAEP stream, a webhook) when a device's
 * standing changes. The service calls each notifier it was given; a
 * notifier decides what to send and sends it elsewhere (a queue, a thread),
 * since it is called on the thread that made the change. */
#ifndef TPA_NOTIFY_H
#define TPA_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
	/* A recorded verdict's outcome differs from the device's last one
	 * (or it is the device's first). */
	TPA_CHANGE_OUTCOME = 1,
} tpa_change_kind;

typedef struct {
	tpa_change_kind kind;
	const char *device_id;        /* 64 hex digits */
	const char *outcome;          /* now: "compliant", "warning",
				       * "non-compliant", "no-baseline" */
	const char *previous;         /* before, "" if none */
	int64_t at;                   /* Unix seconds */
} tpa_device_change;

/* 0, or a tpa_err code: the service logs a failure and goes on; a change
 * is never undone because a notifier failed. */
typedef int (*tpa_notify_fn)(void *ctx, const tpa_device_change *c);

typedef struct {
	const char *name;             /* for the log: "radius", "caep", ... */
	tpa_notify_fn changed;
	void *ctx;
} tpa_notifier;

/* Calls each of n notifiers with c; returns how many failed. */
size_t tpa_notify_all(const tpa_notifier *n, size_t count, const tpa_device_change *c,
		      void (*on_fail)(void *ctx, const char *name, const char *why),
		      void *fail_ctx);

#endif
