/* SPDX-License-Identifier: BSD-3-Clause */
/* ISO 8601 UTC times (tpa/timefmt.h), by arithmetic rather than gmtime_r/
 * timegm, so that the answer does not hang on TZ or on time_t's width. */
#include <stdio.h>
#include <string.h>

#include "tpa/err.h"
#include "tpa/timefmt.h"

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

int tpa_time_iso(char *buf, size_t cap, int64_t t)
{
	int64_t days, secs, y;
	int m, d;

	if (!buf || cap < TPA_TIME_ISO_LEN + 1)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "time: no room for an ISO 8601 time");
	buf[0] = '\0';
	/* 0000-01-01 .. 9999-12-31T23:59:59Z */
	if (t < -62167219200LL || t > 253402300799LL)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "time: %lld is outside years 0 to 9999",
				    (long long)t);
	days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	secs = t - days * 86400;
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, cap, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d,
		 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
	return 0;
}

/* n decimal digits at p into *v; 0 or -1. */
static int digits(int *v, const char *p, int n)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		*v = *v * 10 + (p[i] - '0');
	}
	return 0;
}

static int month_days(int y, int m)
{
	static const int n[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : n[m - 1];
}

int tpa_time_parse_iso(int64_t *out, const char *text)
{
	int y, mo, d, h = 0, mi = 0, s = 0, oh = 0, om = 0, sign = 0;
	size_t len;

	if (!out || !text)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "time: none given");
	len = strlen(text);
	if ((len != 10 && len != 20 && len != 25) || digits(&y, text, 4) ||
	    text[4] != '-' || digits(&mo, text + 5, 2) || text[7] != '-' ||
	    digits(&d, text + 8, 2))
		goto bad;
	if (len > 10) {
		if (text[10] != 'T' || digits(&h, text + 11, 2) || text[13] != ':' ||
		    digits(&mi, text + 14, 2) || text[16] != ':' || digits(&s, text + 17, 2))
			goto bad;
		if (len == 20 && text[19] != 'Z')
			goto bad;
		if (len == 25) {
			if ((text[19] != '+' && text[19] != '-') || digits(&oh, text + 20, 2) ||
			    text[22] != ':' || digits(&om, text + 23, 2))
				goto bad;
			sign = text[19] == '+' ? 1 : -1;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 ||
	    s > 59 || oh > 23 || om > 59)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "time '%.32s': a field is out of range",
				    text);
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s -
	       sign * (oh * 3600 + om * 60);
	return 0;
bad:
	return tpa_err_fail(TPA_ERR_INVALID_ARG, "time '%.32s': not YYYY-MM-DD or "
			    "YYYY-MM-DDTHH:MM:SSZ (or with +HH:MM)", text);
}
