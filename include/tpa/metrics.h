/* SPDX-License-Identifier: BSD-3-Clause */
/* Metrics: counters, gauges and histograms with labels, rendered in the
 * Prometheus text exposition format 0.0.4. Safe to use from any thread.
 * Bounded: a family holds at most TPA_METRIC_SERIES_MAX label combinations;
 * values beyond that (or longer than TPA_METRIC_VALUE_MAX bytes) all count
 * in one series whose every label is "other", so no value a peer chooses
 * can grow memory. Callers pass label values from fixed sets anyway. */
#ifndef TPA_METRICS_H
#define TPA_METRICS_H

#include <stddef.h>

#define TPA_METRICS_FAMILIES_MAX 32
#define TPA_METRIC_LABELS_MAX 4
#define TPA_METRIC_SERIES_MAX 64      /* label combinations, besides "other" */
#define TPA_METRIC_BUCKETS_MAX 16
#define TPA_METRIC_VALUE_MAX 64       /* bytes of a label value */
#define TPA_METRIC_OTHER "other"

typedef struct tpa_metrics tpa_metrics;
typedef struct tpa_metric tpa_metric; /* one family */

typedef enum {
	TPA_METRIC_COUNTER,
	TPA_METRIC_GAUGE,
	TPA_METRIC_HISTOGRAM,
} tpa_metric_type;

int tpa_metrics_new(tpa_metrics **out);
void tpa_metrics_free(tpa_metrics *m);

/* Adds a family: name by Prometheus rules ([a-zA-Z_:][a-zA-Z0-9_:]*, a
 * counter's ending in _total), label names NULL-terminated (NULL: none),
 * buckets (histograms only; ascending upper bounds, +Inf implied). Families
 * render in the order added. */
int tpa_metrics_add(tpa_metric **out, tpa_metrics *m, tpa_metric_type type, const char *name,
		    const char *help, const char *const *labels, const double *buckets,
		    size_t nbuckets);
/* The family of that name, or NULL. */
tpa_metric *tpa_metrics_find(tpa_metrics *m, const char *name);

/* values: one per label name, in their order (NULL if none). A NULL family
 * is ignored, so callers need not check that metrics are on. */
void tpa_metric_add(tpa_metric *f, const char *const *values, double v); /* counter, gauge */
/* Sets a gauge, or a counter whose count is kept elsewhere (an atomic). */
void tpa_metric_set(tpa_metric *f, const char *const *values, double v);
void tpa_metric_observe(tpa_metric *f, const char *const *values, double v); /* histogram */
/* Forgets every series (a gauge computed afresh at each scrape). */
void tpa_metric_clear(tpa_metric *f);
/* Forgets every series and sets that one, at once: a scrape meanwhile sees
 * the old series or the new one, never none (the signing key's id). */
void tpa_metric_replace(tpa_metric *f, const char *const *values, double v);

/* The exposition text of every family (malloc'd). */
int tpa_metrics_text(char **out, tpa_metrics *m);

/* ---- HTTP requests, fed by the HTTP listener ---- */
#define TPA_METRICS_HTTP_TOTAL "tpa_http_requests_total"        /* {path,code} */
#define TPA_METRICS_HTTP_SECONDS "tpa_http_request_duration_seconds" /* {path} */
/* Counts one request answered with status code after seconds. path must be
 * the route's pattern as the listener knows it ("/v1/devices/{id}/compliance",
 * "/metrics"; TPA_METRIC_OTHER for no route), never the request's own path:
 * the family's bound would still hold, but the series would say nothing. Adds
 * the two families on first use. */
int tpa_metrics_http_observe(tpa_metrics *m, const char *path, int code, double seconds);

#endif
