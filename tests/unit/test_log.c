/* SPDX-License-Identifier: BSD-3-Clause */
/* The service log: logfmt escaping read back by a logfmt reader, hostile
 * values that try to forge a field or a line, JSON read back by jansson,
 * the bounds, the journal's prefix, and lines of many threads at once. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <jansson.h>

#include "testutil.h"
#include "tpa/err.h"
#include "tpa/log.h"

/* 2026-12-02T12:34:56.123Z */
#define T_MS 1796214896123LL
#define HOSTILE "x\" level=err forged=1\nlevel=err msg=\"forged\\ \x01\x7f\xff="

/* A logfmt reader, as a log shipper reads a line: key=value pairs split
 * on spaces, values maybe quoted with \" \\ \n \r \t \xNN. Fills keys and
 * vals (unescaped): the number of pairs, or -1 if the line is not logfmt
 * (or holds a newline before its end). */
#define PAIRS_MAX 40
static char keys[PAIRS_MAX][64], vals[PAIRS_MAX][TPA_LOG_LINE_MAX];

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int logfmt_read(const char *line)
{
	const char *p = line;
	int n = 0;

	if (*p == '<')          /* the journal's <N> */
		p += 3;
	while (*p && *p != '\n') {
		size_t k = 0, v = 0;

		if (n >= PAIRS_MAX)
			return -1;
		while (*p && *p != '=' && *p != ' ' && *p != '\n' && k < sizeof(keys[0]) - 1)
			keys[n][k++] = *p++;
		keys[n][k] = '\0';
		if (*p++ != '=' || !k)
			return -1;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (!*p || *p == '\n')
					return -1;
				if (*p == '\\') {
					p++;
					if (*p == 'n') vals[n][v++] = '\n';
					else if (*p == 'r') vals[n][v++] = '\r';
					else if (*p == 't') vals[n][v++] = '\t';
					else if (*p == '"' || *p == '\\') vals[n][v++] = *p;
					else if (*p == 'x' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
						vals[n][v++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
						p += 2;
					} else
						return -1;
				} else {
					vals[n][v++] = *p;
				}
			}
			p++;
		} else {
			while (*p && *p != ' ' && *p != '\n') {
				if (*p == '"' || *p == '=' || *p == '\\')
					return -1;
				vals[n][v++] = *p++;
			}
		}
		vals[n][v] = '\0';
		n++;
		if (*p == ' ')
			p++;
		else if (*p != '\n')
			return -1;
	}
	/* Exactly one newline, the last byte. */
	if (*p != '\n' || p[1])
		return -1;
	return n;
}

static size_t text_line(char *out, const tpa_log_rec *r, int journal)
{
	return tpa_log_format_line(out, TPA_LOG_LINE_MAX, r, TPA_LOG_TEXT, journal, T_MS);
}

static void test_text(void)
{
	char line[TPA_LOG_LINE_MAX];
	tpa_log_rec r;

	tpa_log_rec_init(&r, TPA_LOG_INFO, "attest compliant");
	tpa_log_str(&r, "device", "0123456789abcdef");
	tpa_log_str(&r, "host", "alice-laptop");
	tpa_log_str(&r, "device_hint", "");
	tpa_log_str(&r, "reason", "a=b c\\d");
	tpa_log_int(&r, "n", -3);
	tpa_log_uint(&r, "aks", 2);
	tpa_log_str(&r, "skipped", NULL);
	text_line(line, &r, 0);
	CU_ASSERT_STRING_EQUAL(line, "time=2026-12-02T12:34:56.123Z level=info "
			       "msg=\"attest compliant\" device=0123456789abcdef host=alice-laptop "
			       "device_hint=\"\" reason=\"a=b c\\\\d\" n=-3 aks=2\n");
	CU_ASSERT_EQUAL(logfmt_read(line), 9);

	/* Control and non-ASCII bytes as \xNN, \n \r \t by name. */
	tpa_log_rec_init(&r, TPA_LOG_ERR, "x");
	tpa_log_str(&r, "v", "a\nb\rc\td\x01" "e\x7f\xff");
	text_line(line, &r, 0);
	CU_ASSERT(strstr(line, " level=err msg=x v=\"a\\nb\\rc\\td\\x01e\\x7f\\xff\"\n") != NULL);

	/* Keys are the program's, checked anyway: no field named like the
	 * line's own, no byte that would end a key. */
	tpa_log_rec_init(&r, TPA_LOG_DEBUG, "k");
	tpa_log_str(&r, "msg", "1");
	tpa_log_str(&r, "level", "2");
	tpa_log_str(&r, "Bad Key=", "3");
	text_line(line, &r, 0);
	CU_ASSERT(strstr(line, " level=debug msg=k x_msg=1 x_level=2 _ad__ey_=3\n") != NULL);
	CU_ASSERT_STRING_EQUAL(tpa_log_level_name(TPA_LOG_WARNING), "warning");
	CU_ASSERT_STRING_EQUAL(tpa_log_level_name(TPA_LOG_NOTICE), "notice");
}

/* A client's string with quotes, '=', a newline and a forged "level=err"
 * stays the value of its one field: the reader finds the same four keys
 * and the value read back is the value given. */
static void test_hostile(void)
{
	char line[TPA_LOG_LINE_MAX];
	tpa_log_rec r;
	int n;

	tpa_log_rec_init(&r, TPA_LOG_WARNING, HOSTILE);
	tpa_log_str(&r, "device_hint", HOSTILE);
	text_line(line, &r, 0);
	CU_ASSERT_PTR_EQUAL(strchr(line, '\n'), line + strlen(line) - 1);
	n = logfmt_read(line);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_STRING_EQUAL(keys[0], "time");
	CU_ASSERT_STRING_EQUAL(keys[1], "level");
	CU_ASSERT_STRING_EQUAL(vals[1], "warning");
	CU_ASSERT_STRING_EQUAL(keys[2], "msg");
	CU_ASSERT_STRING_EQUAL(vals[2], HOSTILE);
	CU_ASSERT_STRING_EQUAL(keys[3], "device_hint");
	CU_ASSERT_STRING_EQUAL(vals[3], HOSTILE);
}

static void test_json(void)
{
	char line[TPA_LOG_LINE_MAX];
	json_error_t e;
	tpa_log_rec r;
	json_t *j;

	tpa_log_rec_init(&r, TPA_LOG_INFO, "attest compliant");
	tpa_log_str(&r, "device", "0123456789abcdef");
	tpa_log_str(&r, "device_hint", HOSTILE);
	tpa_log_uint(&r, "aks", 2);
	tpa_log_format_line(line, sizeof(line), &r, TPA_LOG_JSON, 0, T_MS);
	CU_ASSERT_PTR_EQUAL(strchr(line, '\n'), line + strlen(line) - 1);
	CU_ASSERT_EQUAL(strncmp(line, "{\"time\":\"2026-12-02T12:34:56.123Z\",\"level\":\"info\","
				"\"msg\":\"attest compliant\",", 75), 0);
	j = json_loads(line, 0, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "level")), "info");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "device")),
			       "0123456789abcdef");
	/* ASCII as given; the byte 0xff (not UTF-8) as the text \xff. */
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "device_hint")),
			       "x\" level=err forged=1\nlevel=err msg=\"forged\\ \x01\x7f\\xff=");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "aks")), 2);
	CU_ASSERT_EQUAL(json_object_size(j), 6);
	json_decref(j);

	/* The journal's prefix, and no time. */
	tpa_log_format_line(line, sizeof(line), &r, TPA_LOG_JSON, 1, T_MS);
	CU_ASSERT_EQUAL(strncmp(line, "<6>{\"level\":\"info\",", 19), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL((j = json_loads(line + 3, 0, &e)));
	CU_ASSERT_PTR_NULL(json_object_get(j, "time"));
	json_decref(j);
}

static void test_bounds(void)
{
	char line[TPA_LOG_LINE_MAX], big[2000];
	json_error_t e;
	tpa_log_rec r;
	json_t *j;
	size_t i, n;

	/* A value over TPA_LOG_VALUE_MAX: cut, "...", said. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tpa_log_rec_init(&r, TPA_LOG_INFO, "m");
	tpa_log_str(&r, "v", big);
	n = text_line(line, &r, 0);
	CU_ASSERT_EQUAL(logfmt_read(line), 5);
	CU_ASSERT_EQUAL(strlen(vals[3]), TPA_LOG_VALUE_MAX);
	CU_ASSERT_STRING_EQUAL(vals[3] + TPA_LOG_VALUE_MAX - 3, "...");
	CU_ASSERT_STRING_EQUAL(keys[4], "truncated");
	CU_ASSERT(n < sizeof(line));

	/* The most a record holds, every byte escaped four times over: the
	 * line stays in bounds, whole fields only, and says it was cut. */
	memset(big, 1, TPA_LOG_VALUE_MAX + 10);
	big[TPA_LOG_VALUE_MAX + 10] = '\0';
	tpa_log_rec_init(&r, TPA_LOG_ERR, big);
	for (i = 0; i < TPA_LOG_FIELDS_MAX + 3; i++)
		tpa_log_str(&r, "f", big);
	CU_ASSERT_EQUAL(r.n, TPA_LOG_FIELDS_MAX);
	n = text_line(line, &r, 0);
	CU_ASSERT(n < TPA_LOG_LINE_MAX);
	CU_ASSERT_EQUAL(strlen(line), n);
	CU_ASSERT(n > 16 && strcmp(line + n - 16, " truncated=true\n") == 0);
	CU_ASSERT(logfmt_read(line) >= 4);
	n = tpa_log_format_line(line, sizeof(line), &r, TPA_LOG_JSON, 0, T_MS);
	CU_ASSERT(n < TPA_LOG_LINE_MAX);
	CU_ASSERT_PTR_NOT_NULL_FATAL((j = json_loads(line, 0, &e)));
	CU_ASSERT(json_is_true(json_object_get(j, "truncated")));
	json_decref(j);
	/* Too small a buffer is refused, not overrun. */
	CU_ASSERT_EQUAL(tpa_log_format_line(line, 100, &r, TPA_LOG_TEXT, 0, T_MS), 0);
}

static void test_format_names(void)
{
	tpa_log_format f = TPA_LOG_TEXT;

	CU_ASSERT_EQUAL(tpa_log_format_parse(&f, "json"), 0);
	CU_ASSERT_EQUAL(f, TPA_LOG_JSON);
	CU_ASSERT_EQUAL(tpa_log_format_parse(&f, "text"), 0);
	CU_ASSERT_EQUAL(f, TPA_LOG_TEXT);
	CU_ASSERT_EQUAL(tpa_log_format_parse(&f, "JSON"), TPA_ERR_INVALID_ARG);
	CU_ASSERT(strstr(tpa_err_last(), "'JSON'") != NULL);
	CU_ASSERT_EQUAL(tpa_log_format_parse(&f, ""), TPA_ERR_INVALID_ARG);
}

/* The file's content (up to cap), from its start. */
static size_t slurp(int fd, char *out, size_t cap)
{
	ssize_t n = pread(fd, out, cap - 1, 0);

	out[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

/* JOURNAL_STREAM naming the log's descriptor: "<N>", no time; naming any
 * other file, or malformed: plain lines. */
static void test_journal(void)
{
	char path[] = "/tmp/tpa-log-XXXXXX", env[64], buf[4096];
	struct stat st;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0 && fstat(fd, &st) == 0);
	unlink(path);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	tpa_log_open(fd, TPA_LOG_TEXT);
	CU_ASSERT_EQUAL(tpa_log_journal(), 1);
	tpa_log(TPA_LOG_WARNING, "SIGHUP: nothing reloaded", "reason", "a b", NULL);
	tpa_log_open(fd, TPA_LOG_JSON);
	tpa_log(TPA_LOG_ERR, "e", NULL);
	slurp(fd, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "<4>level=warning msg=\"SIGHUP: nothing reloaded\" "
			       "reason=\"a b\"\n<3>{\"level\":\"err\",\"msg\":\"e\"}\n");

	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	tpa_log_open(fd, TPA_LOG_TEXT);
	CU_ASSERT_EQUAL(tpa_log_journal(), 0);
	setenv("JOURNAL_STREAM", "garbage:1", 1);
	tpa_log_open(fd, TPA_LOG_TEXT);
	CU_ASSERT_EQUAL(tpa_log_journal(), 0);
	unsetenv("JOURNAL_STREAM");
	tpa_log_open(fd, TPA_LOG_TEXT);
	CU_ASSERT_EQUAL(tpa_log_journal(), 0);
	CU_ASSERT_EQUAL(ftruncate(fd, 0), 0);
	CU_ASSERT_EQUAL(lseek(fd, 0, SEEK_SET), 0);
	tpa_log(TPA_LOG_INFO, "plain", NULL);
	slurp(fd, buf, sizeof(buf));
	CU_ASSERT_EQUAL(strncmp(buf, "time=20", 7), 0);
	CU_ASSERT(strstr(buf, " level=info msg=plain\n") != NULL);
	tpa_log_open(2, TPA_LOG_TEXT);
	close(fd);
}

/* Threads logging at once: every line whole, none lost. */
#define THREADS 4
#define LINES 300

static void *writer(void *arg)
{
	char id[8];
	int i;

	snprintf(id, sizeof(id), "%d", (int)(long)arg);
	for (i = 0; i < LINES; i++)
		tpa_log(TPA_LOG_INFO, "a line from a thread with some text", "thread", id,
			"pad", "0123456789012345678901234567890123456789", NULL);
	return NULL;
}

static void test_threads(void)
{
	char path[] = "/tmp/tpa-log-XXXXXX";
	static char buf[THREADS * LINES * 200];
	pthread_t t[THREADS];
	int fd = mkstemp(path), lines = 0, good = 0;
	char *p, *nl;
	long i;

	CU_ASSERT_FATAL(fd >= 0);
	unlink(path);
	tpa_log_open(fd, TPA_LOG_TEXT);
	for (i = 0; i < THREADS; i++)
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, writer, (void *)i) == 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	tpa_log_open(2, TPA_LOG_TEXT);
	slurp(fd, buf, sizeof(buf));
	for (p = buf; (nl = strchr(p, '\n')); p = nl + 1) {
		char one[TPA_LOG_LINE_MAX];

		lines++;
		snprintf(one, sizeof(one), "%.*s", (int)(nl - p + 1), p);
		good += logfmt_read(one) == 5 && strcmp(keys[4], "pad") == 0;
	}
	CU_ASSERT_EQUAL(lines, THREADS * LINES);
	CU_ASSERT_EQUAL(good, THREADS * LINES);
	CU_ASSERT_EQUAL(*p, '\0');
	close(fd);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("log", NULL, NULL);
	CU_add_test(s, "logfmt: quoted and escaped only as needed, keys checked", test_text);
	CU_add_test(s, "a hostile value forges neither a field nor a line", test_hostile);
	CU_add_test(s, "json: one object a line, read back by jansson", test_json);
	CU_add_test(s, "values, fields and lines bounded, truncation said", test_bounds);
	CU_add_test(s, "--log-format: text or json, anything else refused by name",
		    test_format_names);
	CU_add_test(s, "JOURNAL_STREAM of the log's fd: <N> prefix, no time", test_journal);
	CU_add_test(s, "threads at once: every line whole", test_threads);
	return test_run_all() ? 1 : 0;
}
