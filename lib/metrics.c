/* SPDX-License-Identifier: BSD-3-Clause */
/* Metrics in the Prometheus text exposition format 0.0.4. One mutex per
 * family: a scrape copies nothing, it renders a family under its lock, and
 * observations of different families never wait for each other. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/err.h"
#include "tpa/metrics.h"

#define NAME_MAX_ 128

typedef struct {
	char values[TPA_METRIC_LABELS_MAX][TPA_METRIC_VALUE_MAX + 1];
	double value;                     /* counter, gauge; histogram: sum */
	unsigned long long count;         /* histogram */
	unsigned long long buckets[TPA_METRIC_BUCKETS_MAX]; /* not cumulative */
} series;

struct tpa_metric {
	pthread_mutex_t lock;
	tpa_metric_type type;
	char name[NAME_MAX_ + 1];
	char *help;
	char labels[TPA_METRIC_LABELS_MAX][NAME_MAX_ + 1];
	size_t nlabels;
	double bounds[TPA_METRIC_BUCKETS_MAX];
	size_t nbounds;
	series s[TPA_METRIC_SERIES_MAX];
	size_t ns;
	series other;                     /* every label "other" */
	int have_other;
};

struct tpa_metrics {
	pthread_mutex_t lock;             /* the family list */
	tpa_metric *f[TPA_METRICS_FAMILIES_MAX];
	size_t n;
};

int tpa_metrics_new(tpa_metrics **out)
{
	tpa_metrics *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return tpa_err_fail(TPA_ERR_NOMEM, "metrics: out of memory");
	pthread_mutex_init(&m->lock, NULL);
	*out = m;
	return 0;
}

void tpa_metrics_free(tpa_metrics *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++) {
		pthread_mutex_destroy(&m->f[i]->lock);
		free(m->f[i]->help);
		free(m->f[i]);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static int name_ok(const char *n, int colon)
{
	size_t i;

	if (!n || !*n || strlen(n) > NAME_MAX_ || (n[0] >= '0' && n[0] <= '9'))
		return 0;
	for (i = 0; n[i]; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
		      (n[i] >= '0' && n[i] <= '9') || n[i] == '_' || (colon && n[i] == ':')))
			return 0;
	return 1;
}

static tpa_metric *find_locked(tpa_metrics *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->f[i]->name, name) == 0)
			return m->f[i];
	return NULL;
}

tpa_metric *tpa_metrics_find(tpa_metrics *m, const char *name)
{
	tpa_metric *f;

	if (!m || !name)
		return NULL;
	pthread_mutex_lock(&m->lock);
	f = find_locked(m, name);
	pthread_mutex_unlock(&m->lock);
	return f;
}

int tpa_metrics_add(tpa_metric **out, tpa_metrics *m, tpa_metric_type type, const char *name,
		    const char *help, const char *const *labels, const double *buckets,
		    size_t nbuckets)
{
	tpa_metric *f;
	size_t i, nl = 0, len;

	if (out)
		*out = NULL;
	if (!m || !name_ok(name, 1))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "metrics: bad metric name");
	len = strlen(name);
	if (type == TPA_METRIC_COUNTER && (len < 6 || strcmp(name + len - 6, "_total") != 0))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "metrics: counter %s must end in _total",
				    name);
	while (labels && labels[nl]) {
		/* "le" is the histogram's own; names with __ are reserved. */
		if (nl >= TPA_METRIC_LABELS_MAX || !name_ok(labels[nl], 0) ||
		    strncmp(labels[nl], "__", 2) == 0 || strcmp(labels[nl], "le") == 0)
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "metrics: %s: bad label", name);
		nl++;
	}
	if (type == TPA_METRIC_HISTOGRAM ? nbuckets > TPA_METRIC_BUCKETS_MAX : nbuckets != 0)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "metrics: %s: bad buckets", name);
	for (i = 0; i < nbuckets; i++)
		if (!isfinite(buckets[i]) || (i && buckets[i] <= buckets[i - 1]))
			return tpa_err_fail(TPA_ERR_INVALID_ARG,
					    "metrics: %s: buckets must ascend", name);
	if (!(f = calloc(1, sizeof(*f))) || !(f->help = strdup(help ? help : ""))) {
		free(f);
		return tpa_err_fail(TPA_ERR_NOMEM, "metrics: out of memory");
	}
	f->type = type;
	memcpy(f->name, name, len + 1);
	for (i = 0; i < nl; i++)
		snprintf(f->labels[i], sizeof(f->labels[i]), "%s", labels[i]);
	f->nlabels = nl;
	for (i = 0; i < nbuckets; i++)
		f->bounds[i] = buckets[i];
	f->nbounds = nbuckets;
	pthread_mutex_init(&f->lock, NULL);

	pthread_mutex_lock(&m->lock);
	if (find_locked(m, name) || m->n >= TPA_METRICS_FAMILIES_MAX) {
		pthread_mutex_unlock(&m->lock);
		pthread_mutex_destroy(&f->lock);
		free(f->help);
		free(f);
		return tpa_err_fail(find_locked(m, name) ? TPA_ERR_CONFLICT : TPA_ERR_LIMIT,
				    "metrics: cannot add %s", name);
	}
	m->f[m->n++] = f;
	pthread_mutex_unlock(&m->lock);
	if (out)
		*out = f;
	return 0;
}

/* The series of those values, made if there is room, else "other". Under
 * the family's lock. */
static series *series_of(tpa_metric *f, const char *const *values)
{
	size_t i, j;
	series *s;

	for (j = 0; j < f->nlabels; j++)
		if (!values || !values[j] || strlen(values[j]) > TPA_METRIC_VALUE_MAX)
			goto other;
	for (i = 0; i < f->ns; i++) {
		for (j = 0; j < f->nlabels && strcmp(f->s[i].values[j], values[j]) == 0; j++)
			;
		if (j == f->nlabels)
			return &f->s[i];
	}
	if (f->ns >= TPA_METRIC_SERIES_MAX)
		goto other;
	s = &f->s[f->ns++];
	memset(s, 0, sizeof(*s));
	for (j = 0; j < f->nlabels; j++)
		snprintf(s->values[j], sizeof(s->values[j]), "%s", values[j]);
	return s;
other:
	if (!f->have_other) {
		memset(&f->other, 0, sizeof(f->other));
		for (j = 0; j < f->nlabels; j++)
			snprintf(f->other.values[j], sizeof(f->other.values[j]), "%s",
				 TPA_METRIC_OTHER);
		f->have_other = 1;
	}
	return &f->other;
}

void tpa_metric_add(tpa_metric *f, const char *const *values, double v)
{
	/* A counter only goes up; NaN would poison it for good. */
	if (!f || f->type == TPA_METRIC_HISTOGRAM || isnan(v) ||
	    (f->type == TPA_METRIC_COUNTER && v < 0))
		return;
	pthread_mutex_lock(&f->lock);
	series_of(f, values)->value += v;
	pthread_mutex_unlock(&f->lock);
}

void tpa_metric_set(tpa_metric *f, const char *const *values, double v)
{
	if (!f || f->type == TPA_METRIC_HISTOGRAM)
		return;
	pthread_mutex_lock(&f->lock);
	series_of(f, values)->value = v;
	pthread_mutex_unlock(&f->lock);
}

void tpa_metric_observe(tpa_metric *f, const char *const *values, double v)
{
	series *s;
	size_t i;

	if (!f || f->type != TPA_METRIC_HISTOGRAM || isnan(v))
		return;
	pthread_mutex_lock(&f->lock);
	s = series_of(f, values);
	for (i = 0; i < f->nbounds && v > f->bounds[i]; i++)
		;
	if (i < f->nbounds)
		s->buckets[i]++;
	s->count++;
	s->value += v;
	pthread_mutex_unlock(&f->lock);
}

void tpa_metric_clear(tpa_metric *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->ns = 0;
	f->have_other = 0;
	pthread_mutex_unlock(&f->lock);
}

void tpa_metric_replace(tpa_metric *f, const char *const *values, double v)
{
	if (!f || f->type == TPA_METRIC_HISTOGRAM)
		return;
	pthread_mutex_lock(&f->lock);
	f->ns = 0;
	f->have_other = 0;
	series_of(f, values)->value = v;
	pthread_mutex_unlock(&f->lock);
}

/* ---- rendering ---- */

typedef struct {
	char *p;
	size_t len, cap;
	int failed;
} buf;

static void put(buf *b, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(p = realloc(b->p, cap))) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Label values escape \, " and newline; HELP text \ and newline. */
static void put_escaped(buf *b, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			puts_(b, "\\\\");
		else if (*s == '\n')
			puts_(b, "\\n");
		else if (quote && *s == '"')
			puts_(b, "\\\"");
		else
			put(b, s, 1);
	}
}

/* The shortest text that reads back as v; Go's spelling of infinities. */
static void put_num(buf *b, double v)
{
	char t[40];

	if (isnan(v))
		snprintf(t, sizeof(t), "NaN");
	else if (isinf(v))
		snprintf(t, sizeof(t), "%s", v > 0 ? "+Inf" : "-Inf");
	else {
		snprintf(t, sizeof(t), "%.15g", v);
		if (strtod(t, NULL) != v)
			snprintf(t, sizeof(t), "%.17g", v);
	}
	puts_(b, t);
}

static void put_labels(buf *b, const tpa_metric *f, const series *s, const char *le)
{
	size_t j;

	if (!f->nlabels && !le)
		return;
	puts_(b, "{");
	for (j = 0; j < f->nlabels; j++) {
		if (j)
			puts_(b, ",");
		puts_(b, f->labels[j]);
		puts_(b, "=\"");
		put_escaped(b, s->values[j], 1);
		puts_(b, "\"");
	}
	if (le) {
		puts_(b, f->nlabels ? ",le=\"" : "le=\"");
		puts_(b, le);
		puts_(b, "\"");
	}
	puts_(b, "}");
}

static void put_series(buf *b, const tpa_metric *f, const series *s)
{
	unsigned long long cum = 0;
	char le[40], n[32];
	buf tb = { 0 };
	size_t i;

	if (f->type != TPA_METRIC_HISTOGRAM) {
		puts_(b, f->name);
		put_labels(b, f, s, NULL);
		puts_(b, " ");
		put_num(b, s->value);
		puts_(b, "\n");
		return;
	}
	for (i = 0; i <= f->nbounds; i++) {
		if (i < f->nbounds) {
			cum += s->buckets[i];
			put_num(&tb, f->bounds[i]);
			snprintf(le, sizeof(le), "%s", tb.failed ? "0" : tb.p);
			tb.len = 0;
		} else {
			cum = s->count;
			snprintf(le, sizeof(le), "+Inf");
		}
		puts_(b, f->name);
		puts_(b, "_bucket");
		put_labels(b, f, s, le);
		snprintf(n, sizeof(n), " %llu\n", cum);
		puts_(b, n);
	}
	free(tb.p);
	puts_(b, f->name);
	puts_(b, "_sum");
	put_labels(b, f, s, NULL);
	puts_(b, " ");
	put_num(b, s->value);
	puts_(b, "\n");
	puts_(b, f->name);
	puts_(b, "_count");
	put_labels(b, f, s, NULL);
	snprintf(n, sizeof(n), " %llu\n", s->count);
	puts_(b, n);
}

static const char *type_name(tpa_metric_type t)
{
	return t == TPA_METRIC_COUNTER ? "counter" : t == TPA_METRIC_GAUGE ? "gauge" : "histogram";
}

int tpa_metrics_text(char **out, tpa_metrics *m)
{
	buf b = { 0 };
	size_t i, k, n;
	tpa_metric *f;

	*out = NULL;
	if (!m)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "metrics: none");
	pthread_mutex_lock(&m->lock);
	n = m->n;
	pthread_mutex_unlock(&m->lock);
	puts_(&b, "");
	for (i = 0; i < n; i++) {
		f = m->f[i];        /* families are only ever appended */
		puts_(&b, "# HELP ");
		puts_(&b, f->name);
		puts_(&b, " ");
		put_escaped(&b, f->help, 0);
		puts_(&b, "\n# TYPE ");
		puts_(&b, f->name);
		puts_(&b, " ");
		puts_(&b, type_name(f->type));
		puts_(&b, "\n");
		pthread_mutex_lock(&f->lock);
		for (k = 0; k < f->ns; k++)
			put_series(&b, f, &f->s[k]);
		if (f->have_other)
			put_series(&b, f, &f->other);
		pthread_mutex_unlock(&f->lock);
	}
	if (b.failed) {
		free(b.p);
		return tpa_err_fail(TPA_ERR_NOMEM, "metrics: out of memory");
	}
	*out = b.p;
	return 0;
}

/* ---- HTTP ---- */

static const double http_buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
					0.25, 0.5, 1, 2.5, 5, 10 };

int tpa_metrics_http_observe(tpa_metrics *m, const char *path, int code, double seconds)
{
	static const char *const total_labels[] = { "path", "code", NULL };
	static const char *const dur_labels[] = { "path", NULL };
	tpa_metric *t, *d;
	char c[16];
	int err;

	if (!m || !path)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "metrics: no path");
	t = tpa_metrics_find(m, TPA_METRICS_HTTP_TOTAL);
	d = tpa_metrics_find(m, TPA_METRICS_HTTP_SECONDS);
	/* Two threads may both add: the loser's CONFLICT is fine. */
	if (!t && (err = tpa_metrics_add(&t, m, TPA_METRIC_COUNTER, TPA_METRICS_HTTP_TOTAL,
					 "HTTP requests answered, by route and status code.",
					 total_labels, NULL, 0)) < 0 &&
	    !(t = tpa_metrics_find(m, TPA_METRICS_HTTP_TOTAL)))
		return err;
	if (!d && (err = tpa_metrics_add(&d, m, TPA_METRIC_HISTOGRAM, TPA_METRICS_HTTP_SECONDS,
					 "Time to answer an HTTP request, by route.", dur_labels,
					 http_buckets,
					 sizeof(http_buckets) / sizeof(http_buckets[0]))) < 0 &&
	    !(d = tpa_metrics_find(m, TPA_METRICS_HTTP_SECONDS)))
		return err;
	if (code < 100 || code > 599)
		snprintf(c, sizeof(c), "%s", TPA_METRIC_OTHER);
	else
		snprintf(c, sizeof(c), "%d", code);
	tpa_err_clear();
	tpa_metric_add(t, (const char *const[]){ path, c }, 1);
	tpa_metric_observe(d, (const char *const[]){ path }, seconds);
	return 0;
}
