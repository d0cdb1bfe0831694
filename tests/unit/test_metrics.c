/* SPDX-License-Identifier: BSD-3-Clause */
/* Metrics: the exposition text (format, escaping, cumulative buckets), the
 * bound on label combinations, exact totals from several threads, and the
 * text read back by an independent parser (Debian's python3-prometheus-client). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tpa/err.h"
#include "tpa/metrics.h"

static const char *const one_label[] = { "outcome", NULL };
static const double bounds[] = { 0.1, 0.5, 1 };

static void test_render(void)
{
	tpa_metrics *m;
	tpa_metric *c, *g, *h;
	char *t = NULL;

	CU_ASSERT_FATAL(tpa_metrics_new(&m) == 0);
	CU_ASSERT_FATAL(tpa_metrics_add(&c, m, TPA_METRIC_COUNTER, "tpa_x_total",
					"Things.\nWith a \\ newline", one_label, NULL, 0) == 0);
	CU_ASSERT_FATAL(tpa_metrics_add(&g, m, TPA_METRIC_GAUGE, "tpa_g", "A gauge.", NULL,
					NULL, 0) == 0);
	CU_ASSERT_FATAL(tpa_metrics_add(&h, m, TPA_METRIC_HISTOGRAM, "tpa_d_seconds", "Time.",
					one_label, bounds, 3) == 0);
	tpa_metric_add(c, (const char *const[]){ "a\"b\\c\nd" }, 2);
	tpa_metric_add(c, (const char *const[]){ "ok" }, 1);
	tpa_metric_add(c, (const char *const[]){ "ok" }, 1);
	tpa_metric_add(c, (const char *const[]){ "ok" }, -5);     /* a counter never falls */
	tpa_metric_set(g, NULL, 0.25);
	tpa_metric_observe(h, (const char *const[]){ "x" }, 0.05);
	tpa_metric_observe(h, (const char *const[]){ "x" }, 0.5);  /* le is inclusive */
	tpa_metric_observe(h, (const char *const[]){ "x" }, 7);
	CU_ASSERT_FATAL(tpa_metrics_text(&t, m) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "# HELP tpa_x_total Things.\\nWith a \\\\ newline\n"
				      "# TYPE tpa_x_total counter\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "tpa_x_total{outcome=\"a\\\"b\\\\c\\nd\"} 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "tpa_x_total{outcome=\"ok\"} 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "# TYPE tpa_g gauge\ntpa_g 0.25\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "# TYPE tpa_d_seconds histogram\n"
				      "tpa_d_seconds_bucket{outcome=\"x\",le=\"0.1\"} 1\n"
				      "tpa_d_seconds_bucket{outcome=\"x\",le=\"0.5\"} 2\n"
				      "tpa_d_seconds_bucket{outcome=\"x\",le=\"1\"} 2\n"
				      "tpa_d_seconds_bucket{outcome=\"x\",le=\"+Inf\"} 3\n"
				      "tpa_d_seconds_sum{outcome=\"x\"} 7.55\n"
				      "tpa_d_seconds_count{outcome=\"x\"} 3\n"));
	free(t);
	tpa_metric_clear(g);
	CU_ASSERT_FATAL(tpa_metrics_text(&t, m) == 0);
	CU_ASSERT_PTR_NULL(strstr(t, "tpa_g 0.25"));
	free(t);
	/* replace: only the new series is left */
	tpa_metric_replace(c, (const char *const[]){ "new" }, 1);
	CU_ASSERT_FATAL(tpa_metrics_text(&t, m) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "tpa_x_total{outcome=\"new\"} 1\n"));
	CU_ASSERT_PTR_NULL(strstr(t, "\"ok\""));
	free(t);
	tpa_metrics_free(m);
}

static void test_bad_families(void)
{
	static const char *const le[] = { "le", NULL };
	static const char *const reserved[] = { "__x", NULL };
	static const double down[] = { 1, 0.5 };
	tpa_metrics *m;
	tpa_metric *f;

	CU_ASSERT_FATAL(tpa_metrics_new(&m) == 0);
	CU_ASSERT_EQUAL(tpa_metrics_add(&f, m, TPA_METRIC_COUNTER, "tpa_x", "", NULL, NULL, 0),
			TPA_ERR_INVALID_ARG);                  /* a counter without _total */
	CU_ASSERT_EQUAL(tpa_metrics_add(&f, m, TPA_METRIC_GAUGE, "9x", "", NULL, NULL, 0),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_metrics_add(&f, m, TPA_METRIC_GAUGE, "a-b", "", NULL, NULL, 0),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_metrics_add(&f, m, TPA_METRIC_HISTOGRAM, "h", "", le, bounds, 3),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_metrics_add(&f, m, TPA_METRIC_GAUGE, "g", "", reserved, NULL, 0),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_metrics_add(&f, m, TPA_METRIC_HISTOGRAM, "h", "", NULL, down, 2),
			TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(tpa_metrics_add(&f, m, TPA_METRIC_GAUGE, "g", "", NULL, NULL, 0), 0);
	CU_ASSERT_EQUAL(tpa_metrics_add(&f, m, TPA_METRIC_GAUGE, "g", "", NULL, NULL, 0),
			TPA_ERR_CONFLICT);
	CU_ASSERT_PTR_NULL(f);
	tpa_metric_add(NULL, NULL, 1);          /* metrics off: nothing happens */
	tpa_metrics_free(m);
}

/* Values an attacker could choose never make more than the bound of series:
 * the rest counts in "other", and the total stays exact. */
static void test_overflow(void)
{
	tpa_metrics *m;
	tpa_metric *c;
	char v[200], *t = NULL, *p;
	size_t lines = 0;
	int i;

	CU_ASSERT_FATAL(tpa_metrics_new(&m) == 0);
	CU_ASSERT_FATAL(tpa_metrics_add(&c, m, TPA_METRIC_COUNTER, "tpa_x_total", "x", one_label,
					NULL, 0) == 0);
	for (i = 0; i < 1000; i++) {
		snprintf(v, sizeof(v), "v%d", i);
		tpa_metric_add(c, (const char *const[]){ v }, 1);
	}
	memset(v, 'a', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	tpa_metric_add(c, (const char *const[]){ v }, 1);       /* too long: other */
	tpa_metric_add(c, NULL, 1);                             /* no values: other */
	CU_ASSERT_FATAL(tpa_metrics_text(&t, m) == 0);
	for (p = t; (p = strstr(p, "tpa_x_total{")); p++)
		lines++;
	CU_ASSERT_EQUAL(lines, TPA_METRIC_SERIES_MAX + 1);
	snprintf(v, sizeof(v), "tpa_x_total{outcome=\"other\"} %d\n",
		 1000 - TPA_METRIC_SERIES_MAX + 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, v));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "tpa_x_total{outcome=\"v63\"} 1\n"));
	CU_ASSERT_PTR_NULL(strstr(t, "\"v64\""));
	CU_ASSERT_PTR_NULL(strstr(t, "aaaa"));
	free(t);
	tpa_metrics_free(m);
}

#define THREADS 8
#define PER_THREAD 20000

static void *observer(void *arg)
{
	tpa_metrics *m = arg;
	tpa_metric *c = tpa_metrics_find(m, "tpa_x_total");
	tpa_metric *h = tpa_metrics_find(m, "tpa_d_seconds");
	const char *v[] = { "a", "b", "c" };
	char *t;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		tpa_metric_add(c, &v[i % 3], 1);
		tpa_metric_observe(h, &v[i % 2], 0.2);
		tpa_metrics_http_observe(m, "/metrics", 200, 0.001);
		if (i % 5000 == 0 && tpa_metrics_text(&t, m) == 0)   /* scrapes meanwhile */
			free(t);
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t th[THREADS];
	tpa_metrics *m;
	char *t = NULL, want[128];
	int i;

	CU_ASSERT_FATAL(tpa_metrics_new(&m) == 0);
	CU_ASSERT_FATAL(tpa_metrics_add(NULL, m, TPA_METRIC_COUNTER, "tpa_x_total", "x",
					one_label, NULL, 0) == 0);
	CU_ASSERT_FATAL(tpa_metrics_add(NULL, m, TPA_METRIC_HISTOGRAM, "tpa_d_seconds", "d",
					one_label, bounds, 3) == 0);
	for (i = 0; i < THREADS; i++)
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, observer, m) == 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_FATAL(tpa_metrics_text(&t, m) == 0);
	/* 20000 = 6667 a + 6667 b + 6666 c per thread */
	snprintf(want, sizeof(want), "tpa_x_total{outcome=\"a\"} %d\n", 6667 * THREADS);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, want));
	snprintf(want, sizeof(want), "tpa_x_total{outcome=\"c\"} %d\n", 6666 * THREADS);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, want));
	snprintf(want, sizeof(want), "tpa_d_seconds_bucket{outcome=\"b\",le=\"0.5\"} %d\n",
		 PER_THREAD / 2 * THREADS);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, want));
	snprintf(want, sizeof(want), "tpa_http_requests_total{path=\"/metrics\",code=\"200\"} %d\n",
		 PER_THREAD * THREADS);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, want));
	free(t);
	tpa_metrics_free(m);
}

/* Runs the independent parser on text: 0 if it reads it and the checks in
 * code (Python, over fams: name -> {labels-tuple+suffix: value}) hold;
 * quiet: the failure is expected, its traceback not shown. */
static int py_check(const char *text, const char *code, int quiet)
{
	char dir[] = "/tmp/tpa-metrics-XXXXXX", path[64], script[64], cmd[256];
	FILE *f;
	int rc;

	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/m.txt", dir);
	snprintf(script, sizeof(script), "%s/c.py", dir);
	if (!(f = fopen(path, "w")))
		return -1;
	fputs(text, f);
	fclose(f);
	if (!(f = fopen(script, "w")))
		return -1;
	fprintf(f, "import sys\nfrom prometheus_client.parser import "
		"text_string_to_metric_families as parse\n"
		"fams = {}\n"
		"for fam in parse(open(sys.argv[1]).read()):\n"
		"    for s in fam.samples:\n"
		"        fams.setdefault(fam.name, {})[(s.name,) + tuple(sorted(s.labels.items()))]"
		" = s.value\n"
		"    fams.setdefault(fam.name + ':type', fam.type)\n"
		"%s\n", code);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s%s", script, path,
		 quiet ? " 2>/dev/null" : "");
	rc = system(cmd);
	unlink(path);
	unlink(script);
	rmdir(dir);
	return rc == 0 ? 0 : -1;
}

static void test_parser(void)
{
	tpa_metrics *m;
	tpa_metric *c, *h;
	char *t = NULL;

	CU_ASSERT_FATAL(tpa_metrics_new(&m) == 0);
	CU_ASSERT_FATAL(tpa_metrics_add(&c, m, TPA_METRIC_COUNTER, "tpa_x_total",
					"Help with \\ and\nnewline.", one_label, NULL, 0) == 0);
	CU_ASSERT_FATAL(tpa_metrics_add(&h, m, TPA_METRIC_HISTOGRAM, "tpa_d_seconds", "Time.",
					one_label, bounds, 3) == 0);
	tpa_metric_add(c, (const char *const[]){ "q\"b\\s\nn" }, 3);
	tpa_metric_observe(h, (const char *const[]){ "x" }, 0.3);
	tpa_metric_observe(h, (const char *const[]){ "x" }, 2);
	CU_ASSERT_EQUAL(tpa_metrics_http_observe(m, "/v1/authz", 403, 0.002), 0);
	CU_ASSERT_EQUAL(tpa_metrics_http_observe(m, "/v1/authz", 99999, 0.002), 0);
	CU_ASSERT_FATAL(tpa_metrics_text(&t, m) == 0);
	CU_ASSERT_EQUAL(py_check(t,
		"x = fams['tpa_x']\n"
		"assert fams['tpa_x:type'] == 'counter', fams\n"
		"assert x[('tpa_x_total', ('outcome', 'q\"b\\\\s\\nn'))] == 3, x\n"
		"d = fams['tpa_d_seconds']\n"
		"assert fams['tpa_d_seconds:type'] == 'histogram'\n"
		"assert d[('tpa_d_seconds_bucket', ('le', '0.1'), ('outcome', 'x'))] == 0, d\n"
		"assert d[('tpa_d_seconds_bucket', ('le', '0.5'), ('outcome', 'x'))] == 1, d\n"
		"assert d[('tpa_d_seconds_bucket', ('le', '+Inf'), ('outcome', 'x'))] == 2, d\n"
		"assert d[('tpa_d_seconds_count', ('outcome', 'x'))] == 2, d\n"
		"assert abs(d[('tpa_d_seconds_sum', ('outcome', 'x'))] - 2.3) < 1e-9, d\n"
		"r = fams['tpa_http_requests']\n"
		"assert r[('tpa_http_requests_total', ('code', '403'), ('path', '/v1/authz'))] == 1\n"
		"assert r[('tpa_http_requests_total', ('code', 'other'), ('path', '/v1/authz'))] == 1\n",
		0), 0);
	/* The check can fail: a wrong count, and text the parser refuses. */
	CU_ASSERT_NOT_EQUAL(py_check(t, "assert fams['tpa_x'][('tpa_x_total', "
				     "('outcome', 'q\"b\\\\s\\nn'))] == 4\n", 1), 0);
	CU_ASSERT_NOT_EQUAL(py_check("tpa_x_total{outcome=\"a\"} one\n", "pass\n", 1), 0);
	free(t);
	tpa_metrics_free(m);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("metrics", NULL, NULL);
	CU_add_test(s, "exposition text", test_render);
	CU_add_test(s, "families refused", test_bad_families);
	CU_add_test(s, "label combinations bounded", test_overflow);
	CU_add_test(s, "threads: totals exact", test_threads);
	CU_add_test(s, "read back by prometheus_client", test_parser);
	return test_run_all() ? 1 : 0;
}
