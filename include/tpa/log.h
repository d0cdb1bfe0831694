/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's service log: one line per event, with a time, a level and
 * key=value fields, as logfmt text or as one JSON object a line; under
 * systemd (JOURNAL_STREAM names the log's descriptor) each line starts
 * with the sd-daemon(3) priority prefix "<N>" and leaves the time to the
 * journal.
 *
 * The caller names every field: nothing is parsed out of a message, so a
 * value a client chose (a device hint, a host name, a certificate's CN) is
 * only ever the value of its field, escaped so that it can neither end
 * the line nor start another field. Process-wide, thread-safe: a line is
 * formatted whole, then written with one write() under a mutex. */
#ifndef TPA_LOG_H
#define TPA_LOG_H

#include <stddef.h>
#include <stdint.h>

/* Levels are syslog priorities (sd-daemon(3)'s prefixes). */
typedef enum {
	TPA_LOG_ERR = 3,
	TPA_LOG_WARNING = 4,
	TPA_LOG_NOTICE = 5,
	TPA_LOG_INFO = 6,
	TPA_LOG_DEBUG = 7,
} tpa_log_level;

typedef enum {
	TPA_LOG_TEXT = 0,             /* logfmt: time=... level=info msg="..." k=v */
	TPA_LOG_JSON = 1,             /* {"time":...,"level":...,"msg":...,"k":"v"} */
} tpa_log_format;

/* Bounds: a value (and the message) longer than TPA_LOG_VALUE_MAX bytes is
 * cut and ends "..."; a record takes TPA_LOG_FIELDS_MAX fields; a line is
 * at most TPA_LOG_LINE_MAX bytes with its newline. What does not fit is
 * left out and the line says truncated=true. */
#define TPA_LOG_VALUE_MAX 512
#define TPA_LOG_FIELDS_MAX 16
#define TPA_LOG_LINE_MAX 4096
#define TPA_LOG_KEY_MAX 31

/* One line being built: a level, a message and fields, in order. */
typedef struct {
	tpa_log_level level;
	char msg[TPA_LOG_VALUE_MAX + 1];
	size_t n;
	int truncated;
	struct {
		char key[TPA_LOG_KEY_MAX + 1];
		char val[TPA_LOG_VALUE_MAX + 1];
		int is_num;
	} f[TPA_LOG_FIELDS_MAX];
} tpa_log_rec;

/* "text" or "json": 0, or TPA_ERR_INVALID_ARG naming the value. */
int tpa_log_format_parse(tpa_log_format *out, const char *s);
const char *tpa_log_format_name(tpa_log_format f);
/* "err", "warning", "notice", "info", "debug". */
const char *tpa_log_level_name(tpa_log_level l);

/* Where and how the process logs from now (before: stderr, text, no
 * journal). The journal prefix is used when JOURNAL_STREAM is the
 * "st_dev:st_ino" (decimal) of fd. */
void tpa_log_open(int fd, tpa_log_format fmt);
/* Whether lines go to the journal (tpa_log_open found JOURNAL_STREAM). */
int tpa_log_journal(void);

void tpa_log_rec_init(tpa_log_rec *r, tpa_log_level level, const char *msg);
void tpa_log_rec_initf(tpa_log_rec *r, tpa_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A field: key is [a-z0-9_], 1..TPA_LOG_KEY_MAX, and not time, level or
 * msg (else it is written with "x_" before it); val NULL is left out. */
void tpa_log_str(tpa_log_rec *r, const char *key, const char *val);
void tpa_log_strf(tpa_log_rec *r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Written unquoted in text, as a JSON number. */
void tpa_log_int(tpa_log_rec *r, const char *key, long long v);
void tpa_log_uint(tpa_log_rec *r, const char *key, unsigned long long v);

/* The line for r, ending in '\n', into out (cap >= TPA_LOG_LINE_MAX):
 * its length. journal: the "<N>" prefix and no time; time_ms: Unix ms. */
size_t tpa_log_format_line(char *out, size_t cap, const tpa_log_rec *r, tpa_log_format fmt,
			   int journal, int64_t time_ms);
/* r written where tpa_log_open said, stamped now. */
void tpa_log_write(const tpa_log_rec *r);
/* One line: level, message, then key, value string pairs ending in NULL
 * (a NULL value is left out, its key still taken). */
void tpa_log(tpa_log_level level, const char *msg, ...) __attribute__((sentinel));

#endif
