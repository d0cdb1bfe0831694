/* SPDX-License-Identifier: BSD-3-Clause */
/* The admission decision and the inventory it reads: see tpa/admission.h. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/x509.h>

#include "tpa/admission.h"
#include "tpa/compliance.h"
#include "tpa/err.h"

static const char *const mode_names[] = { "open", "approve", "allowlist" };

const char *tpa_admission_mode_name(tpa_admission_mode m)
{
	switch (m) {
	case TPA_ADMISSION_OPEN:
	case TPA_ADMISSION_APPROVE:
	case TPA_ADMISSION_ALLOWLIST:
		return mode_names[m];
	}
	return "unknown";
}

int tpa_admission_mode_parse(tpa_admission_mode *out, const char *name)
{
	int i;

	for (i = 0; name && i < 3; i++)
		if (strcmp(name, mode_names[i]) == 0) {
			*out = (tpa_admission_mode)i;
			return 0;
		}
	return tpa_err_fail(TPA_ERR_INVALID_ARG, "admission \"%.32s\": expected open, approve or "
			    "allowlist", name ? name : "");
}

/* ---- inventory keys ---- */

/* The serial's canonical form: lower-case hex, no leading zeros. */
static int serial_hex(char *out, size_t cap, const BIGNUM *bn)
{
	char *h = BN_bn2hex(bn);
	const char *p;
	size_t i, n;

	if (!h)
		return tpa_err_fail(TPA_ERR_NOMEM, "EK certificate serial: out of memory");
	for (p = h; *p == '0' && p[1]; p++)
		;
	n = strlen(p);
	if (n + 1 > cap) {
		OPENSSL_free(h);
		return tpa_err_fail(TPA_ERR_LIMIT, "EK certificate serial is too long");
	}
	for (i = 0; i <= n; i++)
		out[i] = (char)tolower((unsigned char)p[i]);
	OPENSSL_free(h);
	return 0;
}

static int key_join(char *out, size_t cap, const char *issuer, size_t issuer_len,
		    const char *serial)
{
	size_t i;

	if (!issuer_len)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "the EK certificate issuer is empty");
	for (i = 0; i < issuer_len; i++)
		if (issuer[i] < 0x20 || issuer[i] > 0x7e)
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "the EK certificate issuer is not "
					    "printable ASCII (RFC 2253 escapes other bytes)");
	if (issuer_len + 1 + strlen(serial) + 1 > cap ||
	    issuer_len + 1 + strlen(serial) > TPA_INVENTORY_VALUE_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "the EK certificate issuer and serial are longer "
				    "than %d bytes", TPA_INVENTORY_VALUE_MAX);
	snprintf(out, cap, "%.*s:%s", (int)issuer_len, issuer, serial);
	return 0;
}

int tpa_ekcert_inventory_key(char *out, size_t cap, const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = NULL;
	BIO *bio = NULL;
	BIGNUM *bn = NULL;
	char serial[160], *dn;
	long dn_len;
	int err;

	if (!out || !der || !len)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "EK certificate key: no certificate");
	if (!(x = d2i_X509(NULL, &p, (long)len)))
		return tpa_err_fail(TPA_ERR_PARSE, "EK certificate: not DER X.509");
	if (!(bio = BIO_new(BIO_s_mem())) ||
	    X509_NAME_print_ex(bio, X509_get_issuer_name(x), 0, XN_FLAG_RFC2253) < 0 ||
	    !(bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL))) {
		err = tpa_err_fail(TPA_ERR_PARSE, "EK certificate: issuer or serial unreadable");
		goto out;
	}
	if ((err = serial_hex(serial, sizeof(serial), bn)) < 0)
		goto out;
	dn_len = BIO_get_mem_data(bio, &dn);
	err = key_join(out, cap, dn, dn_len > 0 ? (size_t)dn_len : 0, serial);
out:
	BN_free(bn);
	BIO_free(bio);
	X509_free(x);
	return err;
}

int tpa_inventory_key_from(char *out, size_t cap, const char *issuer, const char *serial)
{
	const char *b, *e;
	char digits[160];
	BIGNUM *bn = NULL;
	size_t n = 0;
	int dec = 0, err;

	if (!out || !issuer || !serial)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "an issuer and a serial are needed");
	for (b = issuer; *b == ' ' || *b == '\t'; b++)
		;
	if (strncmp(b, "issuer=", 7) == 0)
		b += 7;
	for (; *b == ' ' || *b == '\t'; b++)
		;
	for (e = b + strlen(b); e > b && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	for (; *serial == ' ' || *serial == '\t'; serial++)
		;
	if (strncmp(serial, "dec:", 4) == 0) {
		dec = 1;
		serial += 4;
	} else if (serial[0] == '0' && (serial[1] == 'x' || serial[1] == 'X')) {
		serial += 2;
	}
	for (; *serial && *serial != ' ' && *serial != '\t'; serial++) {
		if (!dec && *serial == ':')
			continue;
		if (dec ? !isdigit((unsigned char)*serial) : !isxdigit((unsigned char)*serial))
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "the serial has '%c': give it in "
					    "hex (or dec:DIGITS)", isprint((unsigned char)*serial) ?
					    *serial : '?');
		if (n + 1 >= sizeof(digits))
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "the serial is too long");
		digits[n++] = *serial;
	}
	for (; *serial == ' ' || *serial == '\t'; serial++)
		;
	if (*serial)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "the serial has a blank inside it");
	digits[n] = '\0';
	if (!n)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "the serial is empty");
	if ((dec ? BN_dec2bn(&bn, digits) : BN_hex2bn(&bn, digits)) != (int)n)
		err = tpa_err_fail(TPA_ERR_INVALID_ARG, "the serial is not a number");
	else if ((err = serial_hex(digits, sizeof(digits), bn)) == 0)
		err = key_join(out, cap, b, (size_t)(e - b), digits);
	BN_free(bn);
	return err;
}

/* ---- the decision ---- */

static int refused(tpa_admission *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int refused(tpa_admission *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
	return tpa_err_fail(TPA_ERR_REFUSED, "%s", out->reason);
}

static void take_entry(tpa_admission *out, const tpa_inventory_entry *e)
{
	snprintf(out->name, sizeof(out->name), "%s", e->name);
	snprintf(out->label, sizeof(out->label), "%s", e->label);
	out->rec.name = out->name[0] ? out->name : NULL;
	out->rec.label = out->label[0] ? out->label : NULL;
}

int tpa_admission_decide(tpa_admission *out, tpa_admission_mode mode, tpa_store *store,
			 const char *device_id, const uint8_t *ek_cert, size_t ek_cert_len,
			 int from_file)
{
	tpa_inventory_entry e;
	char key[TPA_INVENTORY_VALUE_MAX + 1];
	int certified = ek_cert && ek_cert_len, err;

	if (!out)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "admission: NULL");
	memset(out, 0, sizeof(*out));
	snprintf(out->source, sizeof(out->source), "%s", !certified ? "none" :
		 from_file ? "file" : "nv");
	out->rec.ek_cert_source = out->source;
	out->ek_certified = certified;
	if (!tpa_device_id_valid(device_id))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "admission: bad device id");
	switch (mode) {
	case TPA_ADMISSION_OPEN:
		if (!certified)
			return refused(out, "the EK has no certificate: under open admission only "
				       "an EK whose certificate chains to a trusted TPM vendor "
				       "enrolls (an operator may admit it: approve or allowlist "
				       "admission)");
		out->rec.admission = "open";
		return 0;
	case TPA_ADMISSION_APPROVE:
		/* Chained or not, a person confirms it before it counts. */
		out->rec.pending = 1;
		out->rec.admission = NULL;
		return 0;
	case TPA_ADMISSION_ALLOWLIST:
		if (!store)
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "admission: allowlist needs a "
					    "registry");
		out->rec.admission = "allowlist";
		err = tpa_store_inventory_get(&e, store, "device", device_id);
		if (err == 0) {
			if (!certified && !e.no_ek_cert)
				return refused(out, "the EK has no certificate and its inventory "
					       "entry does not say no_ek_cert (allowlist "
					       "admission)");
			take_entry(out, &e);
			return 0;
		}
		if (err != TPA_ERR_NOT_FOUND)
			return err;
		tpa_err_clear();
		if (!certified)
			return refused(out, "EK not in the inventory (allowlist admission; an EK "
				       "without a certificate is listed by its device id with "
				       "no_ek_cert)");
		if ((err = tpa_ekcert_inventory_key(key, sizeof(key), ek_cert, ek_cert_len)) < 0)
			return err;
		err = tpa_store_inventory_get(&e, store, "ek-cert", key);
		if (err == TPA_ERR_NOT_FOUND) {
			tpa_err_clear();
			return refused(out, "EK not in the inventory (allowlist admission)");
		}
		if (err < 0)
			return err;
		take_entry(out, &e);
		return 0;
	}
	return tpa_err_fail(TPA_ERR_INVALID_ARG, "admission: unknown mode");
}

/* ---- inventory files ---- */

enum { COL_DEVICE, COL_ISSUER, COL_SERIAL, COL_NAME, COL_LABEL, COL_NO_EK_CERT, NCOLS };
static const char *const col_names[NCOLS] = {
	"device_id", "ek_cert_issuer", "ek_cert_serial", "name", "label", "no_ek_cert",
};

#define FIELD_MAX (TPA_INVENTORY_VALUE_MAX + 1)

/* Where a row came from, for its errors: "line N, column C" or "entry N,
 * key K". */
typedef struct {
	int json;
	size_t at;
} origin;

static int row_fail(const origin *o, int col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int row_fail(const origin *o, int col, const char *fmt, ...)
{
	char what[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (col < 0)
		return tpa_err_fail(TPA_ERR_PARSE, "%s %zu: %s", o->json ? "entry" : "line", o->at,
				    what);
	return tpa_err_fail(TPA_ERR_PARSE, "%s %zu, %s %s: %s", o->json ? "entry" : "line", o->at,
			    o->json ? "key" : "column", col_names[col], what);
}

static int label_ok(const char *v)
{
	size_t i;

	for (i = 0; v[i]; i++)
		if (i >= TPA_LABEL_MAX || !(isalnum((unsigned char)v[i]) || v[i] == '.' ||
					    v[i] == '_' || v[i] == '-'))
			return 0;
	return 1;
}

/* One row's fields (NULL: absent or empty) into an entry. */
static int row_to_entry(tpa_inventory_entry *e, char *const f[NCOLS], const origin *o)
{
	size_t i;
	int err;

	memset(e, 0, sizeof(*e));
	if (f[COL_DEVICE] && (f[COL_ISSUER] || f[COL_SERIAL]))
		return row_fail(o, COL_DEVICE, "give a device id or an EK certificate's issuer and "
				"serial, not both");
	if (!f[COL_DEVICE] && !f[COL_ISSUER] && !f[COL_SERIAL])
		return row_fail(o, COL_DEVICE, "missing (or ek_cert_issuer and ek_cert_serial)");
	if (f[COL_DEVICE]) {
		snprintf(e->kind, sizeof(e->kind), "device");
		for (i = 0; f[COL_DEVICE][i] && i <= TPA_DEVICE_ID_LEN; i++)
			e->value[i] = (char)tolower((unsigned char)f[COL_DEVICE][i]);
		if (!tpa_device_id_valid(e->value) || f[COL_DEVICE][i])
			return row_fail(o, COL_DEVICE, "not a device id (64 hex digits: "
					"SHA-256 of the EK's public key, as enrolling prints it)");
	} else {
		if (!f[COL_ISSUER])
			return row_fail(o, COL_ISSUER, "missing (a serial needs its issuer)");
		if (!f[COL_SERIAL])
			return row_fail(o, COL_SERIAL, "missing (an issuer needs a serial)");
		snprintf(e->kind, sizeof(e->kind), "ek-cert");
		if (strchr(f[COL_ISSUER], '\n') || strlen(f[COL_ISSUER]) > TPA_INVENTORY_VALUE_MAX)
			return row_fail(o, COL_ISSUER, "not one line of at most %d bytes",
					TPA_INVENTORY_VALUE_MAX);
		if ((err = tpa_inventory_key_from(e->value, sizeof(e->value), f[COL_ISSUER],
						  f[COL_SERIAL])) < 0) {
			char why[256];

			snprintf(why, sizeof(why), "%s", tpa_err_last());
			return row_fail(o, strstr(why, "serial") ? COL_SERIAL : COL_ISSUER, "%s",
					why);
		}
	}
	if (f[COL_NAME]) {
		for (i = 0; f[COL_NAME][i]; i++)
			if (i >= TPA_INVENTORY_NAME_MAX || f[COL_NAME][i] < 0x20 ||
			    f[COL_NAME][i] > 0x7e)
				return row_fail(o, COL_NAME, "must be at most %d bytes of printable "
						"ASCII", TPA_INVENTORY_NAME_MAX);
		snprintf(e->name, sizeof(e->name), "%s", f[COL_NAME]);
	}
	if (f[COL_LABEL]) {
		if (!label_ok(f[COL_LABEL]))
			return row_fail(o, COL_LABEL, "must be 1 to %d bytes of A-Z, a-z, 0-9, '.', "
					"'_', '-'", TPA_LABEL_MAX);
		snprintf(e->label, sizeof(e->label), "%s", f[COL_LABEL]);
	}
	if (f[COL_NO_EK_CERT]) {
		const char *v = f[COL_NO_EK_CERT];

		if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
			e->no_ek_cert = 1;
		else if (strcmp(v, "false") && strcmp(v, "0") && strcmp(v, "no"))
			return row_fail(o, COL_NO_EK_CERT, "\"%.16s\" is not true/false, 1/0 or "
					"yes/no", v);
		if (e->no_ek_cert && strcmp(e->kind, "device") != 0)
			return row_fail(o, COL_NO_EK_CERT, "needs a device_id: an EK without a "
					"certificate has no issuer or serial");
	}
	return 0;
}

typedef struct {
	tpa_inventory_entry *v;
	size_t *at;                 /* each entry's line or index, for duplicates */
	size_t n, cap;
} entries;

static int entries_add(entries *es, size_t at)
{
	if (es->n >= TPA_INVENTORY_ROWS_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "more than %d inventory entries in one file",
				    TPA_INVENTORY_ROWS_MAX);
	if (es->n == es->cap) {
		size_t cap = es->cap ? 2 * es->cap : 16;
		tpa_inventory_entry *v;
		size_t *a;

		if (!(v = realloc(es->v, cap * sizeof(*v))))
			return tpa_err_fail(TPA_ERR_NOMEM, "inventory: out of memory");
		es->v = v;
		if (!(a = realloc(es->at, cap * sizeof(*a))))
			return tpa_err_fail(TPA_ERR_NOMEM, "inventory: out of memory");
		es->at = a;
		es->cap = cap;
	}
	es->at[es->n] = at;
	return 0;
}

/* The next CSV field from *p (up to end): quoted ("" for a quote) or bare,
 * into buf; *eol says the record ended. */
static int csv_field(char *buf, size_t cap, const char **p, const char *end, int *eol,
		     size_t *line, const origin *o, int col)
{
	const char *s = *p;
	size_t n = 0;

	*eol = 0;
	if (s < end && *s == '"') {
		for (s++;; s++) {
			if (s >= end)
				return row_fail(o, col, "a quoted field does not end");
			if (*s == '"') {
				if (s + 1 < end && s[1] == '"') {
					s++;
				} else {
					s++;
					break;
				}
			}
			if (*s == '\n')
				(*line)++;
			if (n + 1 >= cap)
				return row_fail(o, col, "longer than %zu bytes", cap - 1);
			buf[n++] = *s;
		}
		if (s < end && *s != ',' && *s != '\n' && *s != '\r')
			return row_fail(o, col, "text after a closing quote");
	} else {
		for (; s < end && *s != ',' && *s != '\n' && *s != '\r'; s++) {
			if (*s == '"')
				return row_fail(o, col, "a quote inside an unquoted field");
			if (n + 1 >= cap)
				return row_fail(o, col, "longer than %zu bytes", cap - 1);
			buf[n++] = *s;
		}
	}
	buf[n] = '\0';
	if (s < end && *s == '\r')
		s++;
	if (s >= end || *s == '\n') {
		*eol = 1;
		if (s < end)
			s++;
	} else {
		s++;                    /* the comma */
	}
	*p = s;
	return 0;
}

/* Blanks around a field go. */
static char *trimmed(char *f)
{
	char *e;

	while (*f == ' ' || *f == '\t')
		f++;
	for (e = f + strlen(f); e > f && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = '\0';
	return f;
}

static int parse_csv(entries *es, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	int cols[NCOLS + 8], ncols = 0, i, eol, err;
	char buf[NCOLS][FIELD_MAX];
	char field[FIELD_MAX];
	size_t line = 1;
	origin o = { 0, 1 };

	/* Comments and blank lines before the header are skipped. */
	while (p < end && (*p == '#' || *p == '\n' || *p == '\r')) {
		while (p < end && *p != '\n')
			p++;
		if (p < end) {
			p++;
			line++;
		}
	}
	o.at = line;
	/* The header: known column names, each once, in any order. */
	do {
		char *f;

		if ((err = csv_field(field, sizeof(field), &p, end, &eol, &line, &o, -1)) < 0)
			return err;
		f = trimmed(field);
		for (i = 0; i < NCOLS && strcmp(f, col_names[i]) != 0; i++)
			;
		if (i == NCOLS)
			return row_fail(&o, -1, "column \"%.40s\" is not one of device_id, "
					"ek_cert_issuer, ek_cert_serial, name, label, no_ek_cert", f);
		for (int j = 0; j < ncols; j++)
			if (cols[j] == i)
				return row_fail(&o, i, "named twice in the header");
		if (ncols >= NCOLS)
			return row_fail(&o, -1, "too many columns");
		cols[ncols++] = i;
	} while (!eol);
	line++;
	while (p < end) {
		char *f[NCOLS] = { NULL };
		int k = 0;
		size_t first = line;

		o.at = line;
		/* A blank line, or a comment, is skipped. */
		if (*p == '\n' || *p == '#' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
			while (p < end && *p != '\n')
				p++;
			p += p < end;
			line++;
			continue;
		}
		do {
			int col = k < ncols ? cols[k] : -1;
			char *t;

			if (k >= ncols)
				return row_fail(&o, -1, "more fields than the header's %d columns",
						ncols);
			if ((err = csv_field(buf[col], FIELD_MAX, &p, end, &eol, &line, &o,
					     col)) < 0)
				return err;
			t = trimmed(buf[col]);
			f[col] = *t ? t : NULL;
			k++;
		} while (!eol);
		if (k < ncols)
			return row_fail(&o, cols[k], "missing (the line has %d of %d fields)", k,
					ncols);
		o.at = first;
		if ((err = entries_add(es, first)) < 0 ||
		    (err = row_to_entry(&es->v[es->n], f, &o)) < 0)
			return err;
		es->n++;
		line++;
	}
	return 0;
}

static int parse_json(entries *es, const char *text, size_t len)
{
	json_error_t je;
	json_t *a, *row, *v;
	size_t i;
	int err = 0, c;
	origin o = { 1, 0 };

	if (!(a = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)))
		return tpa_err_fail(TPA_ERR_PARSE, "line %d, column %d: %s", je.line, je.column,
				    je.text);
	if (!json_is_array(a)) {
		json_decref(a);
		return tpa_err_fail(TPA_ERR_PARSE, "a JSON inventory is an array of objects");
	}
	json_array_foreach(a, i, row) {
		char *f[NCOLS] = { NULL };
		char bools[8];
		const char *k;

		o.at = i + 1;
		if (!json_is_object(row)) {
			err = row_fail(&o, -1, "not an object");
			break;
		}
		json_object_foreach(row, k, v) {
			for (c = 0; c < NCOLS && strcmp(k, col_names[c]) != 0; c++)
				;
			if (c == NCOLS) {
				err = row_fail(&o, -1, "key \"%.40s\" is not one of device_id, "
					       "ek_cert_issuer, ek_cert_serial, name, label, "
					       "no_ek_cert", k);
				break;
			}
			if (c == COL_NO_EK_CERT && json_is_boolean(v)) {
				snprintf(bools, sizeof(bools), "%s", json_is_true(v) ? "true" :
					 "false");
				f[c] = bools;
			} else if (json_is_string(v)) {
				if (strlen(json_string_value(v)) != json_string_length(v)) {
					err = row_fail(&o, c, "holds a NUL byte");
					break;
				}
				f[c] = *json_string_value(v) ? (char *)json_string_value(v) : NULL;
			} else if (!json_is_null(v)) {
				err = row_fail(&o, c, "must be a string%s",
					       c == COL_NO_EK_CERT ? " or a boolean" : "");
				break;
			}
		}
		if (err < 0 || (err = entries_add(es, i + 1)) < 0 ||
		    (err = row_to_entry(&es->v[es->n], f, &o)) < 0)
			break;
		es->n++;
	}
	json_decref(a);
	return err;
}

static int by_key(const void *a, const void *b, void *ctx)
{
	const entries *es = ctx;
	const tpa_inventory_entry *x = &es->v[*(const size_t *)a], *y = &es->v[*(const size_t *)b];
	int c = strcmp(x->kind, y->kind);

	return c ? c : strcmp(x->value, y->value);
}

/* The same EK twice in one file is a mistake (which row meant it?). */
static int no_duplicates(const entries *es, int json)
{
	size_t *ix, i;
	int err = 0;

	if (es->n < 2)
		return 0;
	if (!(ix = malloc(es->n * sizeof(*ix))))
		return tpa_err_fail(TPA_ERR_NOMEM, "inventory: out of memory");
	for (i = 0; i < es->n; i++)
		ix[i] = i;
	qsort_r(ix, es->n, sizeof(*ix), by_key, (void *)es);
	for (i = 1; i < es->n && !err; i++)
		if (by_key(&ix[i - 1], &ix[i], (void *)es) == 0) {
			size_t a = es->at[ix[i - 1]], b = es->at[ix[i]];

			err = tpa_err_fail(TPA_ERR_PARSE, "%s %zu: the same %s as %s %zu",
					   json ? "entry" : "line", a > b ? a : b,
					   strcmp(es->v[ix[i]].kind, "device") == 0 ? "device id" :
					   "EK certificate issuer and serial",
					   json ? "entry" : "line", a < b ? a : b);
		}
	free(ix);
	return err;
}

int tpa_inventory_parse(tpa_inventory_entry **out, size_t *n, const char *text, size_t len)
{
	entries es = { 0 };
	size_t i;
	int err, json;

	if (!out || !n || (!text && len))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "inventory: NULL");
	*out = NULL;
	*n = 0;
	if (len > TPA_INVENTORY_FILE_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "larger than %u bytes", TPA_INVENTORY_FILE_MAX);
	if (memchr(text, '\0', len))
		return tpa_err_fail(TPA_ERR_PARSE, "holds a NUL byte: not a CSV or JSON text");
	for (i = 0; i < len && isspace((unsigned char)text[i]); i++)
		;
	if (i == len)
		return tpa_err_fail(TPA_ERR_PARSE, "empty: expected a CSV header line or a JSON "
				    "array");
	json = text[i] == '[';
	err = json ? parse_json(&es, text, len) : parse_csv(&es, text, len);
	if (err == 0)
		err = no_duplicates(&es, json);
	free(es.at);
	if (err < 0) {
		free(es.v);
		return err;
	}
	*out = es.v;
	*n = es.n;
	return 0;
}
