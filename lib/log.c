/* SPDX-License-Identifier: BSD-3-Clause */
/* The service log (tpa/log.h): records of named fields, formatted as
 * logfmt or JSON, one write() a line. Values are escaped here, whatever
 * the caller passed, so no byte a client chose can end a line or make a
 * field of its own. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "tpa/err.h"
#include "tpa/log.h"
#include "tpa/timefmt.h"

#define TRUNC_MARK "..."
/* What text keeps free at the end of a line for " truncated=true\n". */
#define TEXT_TAIL (sizeof(" truncated=true\n"))

static struct {
	pthread_mutex_t lock;
	int fd;
	tpa_log_format fmt;
	int journal;
} L = { PTHREAD_MUTEX_INITIALIZER, 2, TPA_LOG_TEXT, 0 };

int tpa_log_format_parse(tpa_log_format *out, const char *s)
{
	if (s && strcmp(s, "text") == 0)
		*out = TPA_LOG_TEXT;
	else if (s && strcmp(s, "json") == 0)
		*out = TPA_LOG_JSON;
	else
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "log format '%s': expected text or json",
				    s ? s : "");
	return 0;
}

const char *tpa_log_format_name(tpa_log_format f)
{
	switch (f) {
	case TPA_LOG_TEXT: return "text";
	case TPA_LOG_JSON: return "json";
	}
	return "?";
}

const char *tpa_log_level_name(tpa_log_level l)
{
	switch (l) {
	case TPA_LOG_ERR: return "err";
	case TPA_LOG_WARNING: return "warning";
	case TPA_LOG_NOTICE: return "notice";
	case TPA_LOG_INFO: return "info";
	case TPA_LOG_DEBUG: return "debug";
	}
	return "?";
}

/* JOURNAL_STREAM=DEV:INO (decimal), as systemd sets it for a service whose
 * stderr is the journal's stream: only if it names fd itself, so a child
 * whose stderr was redirected elsewhere does not prefix its lines. */
static int journal_of(int fd)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	if (!e || *e < '0' || *e > '9')
		return 0;
	errno = 0;
	dev = strtoull(e, &end, 10);
	if (errno || *end != ':' || end[1] < '0' || end[1] > '9')
		return 0;
	ino = strtoull(end + 1, &end, 10);
	if (errno || *end || fstat(fd, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void tpa_log_open(int fd, tpa_log_format fmt)
{
	int journal = journal_of(fd);

	pthread_mutex_lock(&L.lock);
	L.fd = fd;
	L.fmt = fmt;
	L.journal = journal;
	pthread_mutex_unlock(&L.lock);
}

int tpa_log_journal(void)
{
	int j;

	pthread_mutex_lock(&L.lock);
	j = L.journal;
	pthread_mutex_unlock(&L.lock);
	return j;
}

/* A bounded copy; a value cut ends in TRUNC_MARK and marks the record. */
static void copy_val(tpa_log_rec *r, char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n <= TPA_LOG_VALUE_MAX) {
		memcpy(dst, src, n + 1);
		return;
	}
	n = TPA_LOG_VALUE_MAX - (sizeof(TRUNC_MARK) - 1);
	memcpy(dst, src, n);
	memcpy(dst + n, TRUNC_MARK, sizeof(TRUNC_MARK));
	r->truncated = 1;
}

void tpa_log_rec_init(tpa_log_rec *r, tpa_log_level level, const char *msg)
{
	r->level = level;
	r->n = 0;
	r->truncated = 0;
	copy_val(r, r->msg, msg ? msg : "");
}

void tpa_log_rec_initf(tpa_log_rec *r, tpa_log_level level, const char *fmt, ...)
{
	char msg[TPA_LOG_VALUE_MAX + 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One byte over the bound: copy_val cuts it and marks it. */
	tpa_log_rec_init(r, level, n < 0 ? "" : msg);
}

/* The next field's slot with its key, or NULL (full: truncated). Keys are
 * the program's, but checked all the same: a bad byte becomes '_', and
 * time, level and msg are never a field's name. */
static int add_key(tpa_log_rec *r, const char *key)
{
	char *k;
	size_t i, off = 0;

	if (r->n >= TPA_LOG_FIELDS_MAX) {
		r->truncated = 1;
		return -1;
	}
	k = r->f[r->n].key;
	if (!key || !*key || strcmp(key, "time") == 0 || strcmp(key, "level") == 0 ||
	    strcmp(key, "msg") == 0 || strcmp(key, "truncated") == 0) {
		memcpy(k, "x_", 2);
		off = 2;
	}
	for (i = 0; key && key[i] && off + i < TPA_LOG_KEY_MAX; i++) {
		char c = key[i];

		k[off + i] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ? c : '_';
	}
	k[off + i] = '\0';
	return 0;
}

void tpa_log_str(tpa_log_rec *r, const char *key, const char *val)
{
	if (!val || add_key(r, key) < 0)
		return;
	copy_val(r, r->f[r->n].val, val);
	r->f[r->n].is_num = 0;
	r->n++;
}

void tpa_log_strf(tpa_log_rec *r, const char *key, const char *fmt, ...)
{
	char v[TPA_LOG_VALUE_MAX + 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	tpa_log_str(r, key, n < 0 ? "" : v);
}

void tpa_log_int(tpa_log_rec *r, const char *key, long long v)
{
	if (add_key(r, key) < 0)
		return;
	snprintf(r->f[r->n].val, sizeof(r->f[r->n].val), "%lld", v);
	r->f[r->n].is_num = 1;
	r->n++;
}

void tpa_log_uint(tpa_log_rec *r, const char *key, unsigned long long v)
{
	if (add_key(r, key) < 0)
		return;
	snprintf(r->f[r->n].val, sizeof(r->f[r->n].val), "%llu", v);
	r->f[r->n].is_num = 1;
	r->n++;
}

/* 2026-12-02T20:01:14.123Z */
static void stamp(char *out, size_t cap, int64_t ms)
{
	char iso[32];
	int64_t s = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int frac = (int)(ms - s * 1000);
	size_t n;

	if (tpa_time_iso(iso, sizeof(iso), s) < 0 || (n = strlen(iso)) < 2 ||
	    iso[n - 1] != 'Z') {
		snprintf(out, cap, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(out, cap, "%.*s.%03dZ", (int)(n - 1), iso, frac);
}

/* ---- text (logfmt) ---- */

static int needs_quotes(const char *v)
{
	const unsigned char *p = (const unsigned char *)v;

	if (!*p)
		return 1;
	for (; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '=' || *p == '\\')
			return 1;
	return 0;
}

/* v escaped (quoted if it needs it) into out: its length, or 0 if it does
 * not fit in cap (nothing is cut mid-escape). */
static size_t text_value(char *out, size_t cap, const char *v)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)v;
	size_t i = 0;

	if (!needs_quotes(v)) {
		size_t n = strlen(v);

		if (n >= cap)
			return 0;
		memcpy(out, v, n + 1);
		return n;
	}
	if (cap < 3)
		return 0;
	out[i++] = '"';
	for (; *p; p++) {
		char e[4];
		size_t en = 2;

		e[0] = '\\';
		switch (*p) {
		case '"': e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		default:
			if (*p < 0x20 || *p >= 0x7f) {
				e[1] = 'x';
				e[2] = hex[*p >> 4];
				e[3] = hex[*p & 15];
				en = 4;
			} else {
				e[0] = (char)*p;
				en = 1;
			}
		}
		if (i + en + 2 > cap)       /* the closing quote and the NUL */
			return 0;
		memcpy(out + i, e, en);
		i += en;
	}
	out[i++] = '"';
	out[i] = '\0';
	return i;
}

/* " key=value" appended at *len if it fits before cap - TEXT_TAIL. */
static int text_field(char *out, size_t cap, size_t *len, const char *key, const char *val)
{
	size_t kn = strlen(key), room, vn;

	if (*len + TEXT_TAIL + kn + 2 >= cap)
		return -1;
	room = cap - TEXT_TAIL - *len - kn - 2;
	if (!(vn = text_value(out + *len + kn + 2, room, val)))
		return -1;
	out[*len] = ' ';
	memcpy(out + *len + 1, key, kn);
	out[*len + 1 + kn] = '=';
	*len += kn + 2 + vn;
	return 0;
}

static size_t format_text(char *out, size_t cap, const tpa_log_rec *r, int journal,
			  const char *when)
{
	int truncated = r->truncated;
	size_t len, i;

	if (journal)
		len = (size_t)snprintf(out, cap, "<%d>level=%s", (int)r->level,
				       tpa_log_level_name(r->level));
	else
		len = (size_t)snprintf(out, cap, "time=%s level=%s", when,
				       tpa_log_level_name(r->level));
	/* The message always fits: at most 4 bytes an input byte. */
	if (text_field(out, cap, &len, "msg", r->msg) < 0)
		truncated = 1;
	for (i = 0; i < r->n; i++)
		if (text_field(out, cap, &len, r->f[i].key, r->f[i].val) < 0) {
			truncated = 1;
			break;
		}
	if (truncated) {
		memcpy(out + len, " truncated=true", sizeof(" truncated=true") - 1);
		len += sizeof(" truncated=true") - 1;
	}
	out[len++] = '\n';
	out[len] = '\0';
	return len;
}

/* ---- JSON ---- */

/* For JSON, which must be UTF-8: ASCII kept (jansson escapes the control
 * bytes), every other byte written as the text \xNN. */
static json_t *json_value(const char *v)
{
	static const char hex[] = "0123456789abcdef";
	char buf[TPA_LOG_VALUE_MAX * 4 + 1];
	const unsigned char *p = (const unsigned char *)v;
	size_t i = 0;

	for (; *p && i + 4 < sizeof(buf); p++) {
		if (*p < 0x80) {
			buf[i++] = (char)*p;
			continue;
		}
		buf[i++] = '\\';
		buf[i++] = 'x';
		buf[i++] = hex[*p >> 4];
		buf[i++] = hex[*p & 15];
	}
	buf[i] = '\0';
	return json_string(buf);
}

static size_t format_json(char *out, size_t cap, const tpa_log_rec *r, int journal,
			  const char *when)
{
	size_t keep = r->n, len = 0, pre;
	int truncated = r->truncated;
	char *s = NULL;

	pre = journal ? (size_t)snprintf(out, cap, "<%d>", (int)r->level) : 0;
	/* Fields from the end are left out until the line fits. */
	for (;;) {
		json_t *o = json_object();
		size_t i;

		if (!o)
			break;
		if (!journal)
			json_object_set_new(o, "time", json_string(when));
		json_object_set_new(o, "level", json_string(tpa_log_level_name(r->level)));
		json_object_set_new(o, "msg", json_value(r->msg));
		for (i = 0; i < keep; i++) {
			json_t *v;

			if (r->f[i].is_num)
				v = json_integer(strtoll(r->f[i].val, NULL, 10));
			else
				v = json_value(r->f[i].val);
			json_object_set_new(o, r->f[i].key, v);
		}
		if (truncated)
			json_object_set_new(o, "truncated", json_true());
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
		json_decref(o);
		if (s && (len = strlen(s)) + pre + 2 <= cap)
			break;
		free(s);
		s = NULL;
		if (!keep)
			break;
		keep--;
		truncated = 1;
	}
	if (!s) {
		len = (size_t)snprintf(out + pre, cap - pre, "{\"level\":\"%s\",\"msg\":\"(unwritable)\","
				       "\"truncated\":true}", tpa_log_level_name(r->level));
		len += pre;
	} else {
		memcpy(out + pre, s, len);
		len += pre;
		free(s);
	}
	out[len++] = '\n';
	out[len] = '\0';
	return len;
}

size_t tpa_log_format_line(char *out, size_t cap, const tpa_log_rec *r, tpa_log_format fmt,
			   int journal, int64_t time_ms)
{
	char when[40];

	if (!out || cap < TPA_LOG_LINE_MAX)
		return 0;
	stamp(when, sizeof(when), time_ms);
	switch (fmt) {
	case TPA_LOG_JSON: return format_json(out, cap, r, journal, when);
	case TPA_LOG_TEXT: break;
	}
	return format_text(out, cap, r, journal, when);
}

void tpa_log_write(const tpa_log_rec *r)
{
	char line[TPA_LOG_LINE_MAX];
	struct timespec ts;
	tpa_log_format fmt;
	int journal;
	size_t n, off = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&L.lock);
	fmt = L.fmt;
	journal = L.journal;
	pthread_mutex_unlock(&L.lock);
	n = tpa_log_format_line(line, sizeof(line), r, fmt, journal,
				(int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	/* One write() a line, under the lock: lines of threads never mix. */
	pthread_mutex_lock(&L.lock);
	while (off < n) {
		ssize_t w = write(L.fd, line + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	pthread_mutex_unlock(&L.lock);
}

void tpa_log(tpa_log_level level, const char *msg, ...)
{
	tpa_log_rec r;
	const char *k;
	va_list ap;

	tpa_log_rec_init(&r, level, msg);
	va_start(ap, msg);
	while ((k = va_arg(ap, const char *)) != NULL)
		tpa_log_str(&r, k, va_arg(ap, const char *));
	va_end(ap);
	tpa_log_write(&r);
}
