/* SPDX-License-Identifier: BSD-3-Clause */
/* Times as people read and write them: ISO 8601 in UTC,
 * "2026-12-02T12:35:00Z". One format for every program's output. */
#ifndef TPA_TIMEFMT_H
#define TPA_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define TPA_TIME_ISO_LEN 20 /* "YYYY-MM-DDTHH:MM:SSZ" without its NUL */

/* Unix seconds t as ISO 8601 UTC into buf (at least TPA_TIME_ISO_LEN + 1
 * bytes). Years outside 0000..9999 are refused (TPA_ERR_INVALID_ARG), and
 * buf then holds "". */
int tpa_time_iso(char *buf, size_t cap, int64_t t);
/* Reads "YYYY-MM-DD" (midnight UTC), "YYYY-MM-DDTHH:MM:SSZ" or
 * "YYYY-MM-DDTHH:MM:SS+HH:MM" / "-HH:MM" into Unix seconds. Anything else,
 * or a field out of range (month 13, February 30, hour 24), is refused
 * naming what was wrong. */
int tpa_time_parse_iso(int64_t *out, const char *text);

#endif
