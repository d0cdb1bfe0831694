/* SPDX-License-Identifier: BSD-3-Clause */
/* Outbound notifications: see tpa/notify.h. */
#include "tpa/err.h"
#include "tpa/notify.h"

size_t tpa_notify_all(const tpa_notifier *n, size_t count, const tpa_device_change *c,
		      void (*on_fail)(void *ctx, const char *name, const char *why),
		      void *fail_ctx)
{
	size_t i, failed = 0;

	for (i = 0; n && i < count; i++) {
		if (!n[i].changed)
			continue;
		if (n[i].changed(n[i].ctx, c) < 0) {
			failed++;
			if (on_fail)
				on_fail(fail_ctx, n[i].name ? n[i].name : "?", tpa_err_last());
		}
	}
	return failed;
}
