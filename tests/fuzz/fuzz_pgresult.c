/* SPDX-License-Identifier: BSD-3-Clause */
/* Fuzz target: what the PostgreSQL driver decodes from a server's answer
 * (lib/sqldb_pg.c): arbitrary bytes as a result's column types and values,
 * each read as every kind (type, integer, text, blob, length). A bytea
 * value decodes only from its whole hex form ("\x" and pairs of hex
 * digits), to exactly the bytes an independent decoder here makes; an
 * integer only from the whole text of one; nothing is read past a value.
 *
 * Input: byte 0 the number of columns (1 + b % 8), one byte per column
 * choosing its type, a byte for the rows (b % 5), then per value a length
 * byte (255: NULL) and that many bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/sqldb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* bool, bytea, int8, int2, int4, text, oid, float8, numeric, varchar */
static const unsigned oid_of[] = { 16, 17, 20, 21, 23, 25, 26, 701, 1700, 1043 };
#define NOIDS (sizeof(oid_of) / sizeof(oid_of[0]))

static int hex(int ch)
{
	static const char d[] = "0123456789abcdef";
	const char *p;

	if (ch >= 'A' && ch <= 'F')
		ch += 'a' - 'A';
	p = ch ? strchr(d, ch) : NULL;
	return p ? (int)(p - d) : -1;
}

/* The reference: the decoded length, or -1 if v is not a whole hex bytea. */
static long ref_bytea(const char *v, size_t n, unsigned char *out)
{
	size_t i;

	if (n < 2 || v[0] != '\\' || v[1] != 'x' || (n - 2) % 2)
		return -1;
	for (i = 0; i < (n - 2) / 2; i++) {
		int hi = hex((unsigned char)v[2 + 2 * i]), lo = hex((unsigned char)v[3 + 2 * i]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return (long)((n - 2) / 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *vals[8 * 4];
	int lens[8 * 4];
	unsigned oids[8];
	unsigned char ref[256];
	sqldb_stmt *st;
	size_t off = 0;
	int ncols, nrows, r, c, i;

	if (size < 1)
		return 0;
	ncols = 1 + data[off++] % 8;
	for (c = 0; c < ncols; c++)
		oids[c] = off < size ? oid_of[data[off++] % NOIDS] : 25;
	nrows = off < size ? data[off++] % 5 : 0;
	for (i = 0; i < ncols * nrows; i++) {
		size_t n = off < size ? data[off++] : 255;

		if (n == 255 || n > size - off) {
			vals[i] = NULL;
			lens[i] = 0;
			continue;
		}
		vals[i] = (const char *)data + off;
		lens[i] = (int)n;
		off += n;
	}
	if (sqldb__pg_result_stmt(&st, ncols, oids, nrows, vals, lens) < 0)
		return 0;
	for (r = 0; sqldb_step(st) == 1; r++) {
		if (r >= nrows)
			abort();
		for (c = 0; c < ncols + 1; c++) {   /* and one column past the last */
			const char *v = c < ncols ? vals[r * ncols + c] : NULL;
			size_t n = c < ncols ? (size_t)lens[r * ncols + c] : 0;
			sqldb_type t = sqldb_column_type(st, c);
			const unsigned char *txt = sqldb_column_text(st, c);
			const void *b = sqldb_column_blob(st, c);
			size_t bytes = sqldb_column_bytes(st, c);
			int64_t iv = sqldb_column_int(st, c);

			if (!v) {
				if (t != SQLDB_NULL || txt || b || bytes || iv)
					abort();
				continue;
			}
			if (t == SQLDB_NULL || !txt)
				abort();
			if (oids[c] == 17) {
				long want = ref_bytea(v, n, ref);

				if (t != SQLDB_BLOB || (want < 0) != (b == NULL) ||
				    bytes != (want < 0 ? 0 : (size_t)want) ||
				    (want > 0 && memcmp(b, ref, (size_t)want) != 0) ||
				    sqldb_column_blob(st, c) != b)
					abort();
			} else if (bytes != n || memcmp(txt, v, n) != 0 || txt[n] != '\0') {
				abort();
			}
			if (oids[c] == 20 || oids[c] == 21 || oids[c] == 23 || oids[c] == 26) {
				char buf[300], *end;
				long long want;

				memcpy(buf, v, n);
				buf[n] = '\0';
				errno = 0;
				want = strtoll(buf, &end, 10);
				if (end == buf || *end || errno)
					want = 0;
				if (iv != want)
					abort();
			}
		}
	}
	sqldb_release(st);
	return 0;
}
