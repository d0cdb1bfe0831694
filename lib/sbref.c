/* SPDX-License-Identifier: BSD-3-Clause */
/* The Secure Boot reference bundle (see sbref.h): built from Microsoft's
 * published list, read back with every field checked. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tpa/efi.h"
#include "tpa/err.h"
#include "tpa/sbref.h"
#include "tpa/timefmt.h"
#include "tpa/tpm_decode.h"

static const char *const arch_names[TPA_SB_ARCH_COUNT] = { "x64", "ia32", "aarch64", "arm" };
static const char *const store_names[] = { "PK", "KEK", "db" };

const char *tpa_sb_arch_name(tpa_sb_arch a)
{
	return (unsigned)a < TPA_SB_ARCH_COUNT ? arch_names[a] : "?";
}

tpa_sb_arch tpa_sb_arch_from_name(const char *name)
{
	int a;

	for (a = 0; name && a < TPA_SB_ARCH_COUNT; a++)
		if (strcmp(name, arch_names[a]) == 0)
			return (tpa_sb_arch)a;
	return TPA_SB_ARCH_COUNT;
}

const char *tpa_sb_store_name(tpa_sb_store s)
{
	return (unsigned)s <= TPA_SB_STORE_DB ? store_names[s] : "?";
}

void tpa_sbref_free(tpa_sbref *r)
{
	int a;

	if (!r)
		return;
	for (a = 0; a < TPA_SB_ARCH_COUNT; a++)
		free(r->images[a]);
	free(r->certs);
	free(r->svns);
	free(r->cas);
	free(r->test_subjects);
	free(r->slots);
	free(r);
}

/* ---- checked fields, each error naming its path ---- */

#define ref_fail(code, ...) tpa_err_fail(code, "secureboot-ref: " __VA_ARGS__)

static int text_ok(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	if (n >= max)
		return 0;
	for (i = 0; i < n; i++)
		if (!isprint((unsigned char)s[i]))
			return 0;
	return 1;
}

/* A string field of o into out (cap bytes): required unless empty_ok
 * allows it missing or "". */
static int get_text(char *out, size_t cap, json_t *o, const char *key, const char *path,
		    int empty_ok)
{
	json_t *v = json_object_get(o, key);
	const char *s;

	out[0] = '\0';
	if (!v && empty_ok)
		return 0;
	if (!v || !json_is_string(v))
		return ref_fail(TPA_ERR_PARSE, "%s.%s: a string is required", path, key);
	s = json_string_value(v);
	if (!text_ok(s, cap))
		return ref_fail(TPA_ERR_PARSE, "%s.%s: printable text of at most %zu characters is required",
				path, key, cap - 1);
	if (!s[0] && !empty_ok)
		return ref_fail(TPA_ERR_PARSE, "%s.%s: must not be empty", path, key);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int get_hex32(uint8_t out[32], json_t *o, const char *key, const char *path)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;
	size_t i;

	if (!s || strlen(s) != 64)
		return ref_fail(TPA_ERR_PARSE, "%s.%s: 64 hex digits are required", path, key);
	for (i = 0; i < 32; i++) {
		int hi = tpa_hex_digit(s[2 * i]), lo = tpa_hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return ref_fail(TPA_ERR_PARSE, "%s.%s: '%c' is not a hex digit", path, key,
					hi < 0 ? s[2 * i] : s[2 * i + 1]);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int get_date(char out[11], json_t *o, const char *key, const char *path, int64_t *unix_out)
{
	int64_t t;
	int err;

	if ((err = get_text(out, 11, o, key, path, 0)) < 0)
		return err;
	if (strlen(out) != 10 || tpa_time_parse_iso(&t, out) < 0)
		return ref_fail(TPA_ERR_PARSE, "%s.%s: a date YYYY-MM-DD is required, not '%s'", path,
				key, out);
	if (unix_out)
		*unix_out = t;
	return 0;
}

/* Every key of o is one of keys (NULL-terminated). */
static int only_keys(json_t *o, const char *const *keys, const char *path)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach(o, k, v) {
		for (i = 0; keys[i] && strcmp(keys[i], k) != 0; i++)
			;
		if (!keys[i])
			return ref_fail(TPA_ERR_PARSE, "%s: unknown field '%.64s'", path, k);
	}
	return 0;
}

/* The array field key of o, of at most max objects (or strings). */
static int get_array(json_t **out, json_t *o, const char *key, size_t max, const char *path)
{
	json_t *v = json_object_get(o, key);

	if (!v || !json_is_array(v))
		return ref_fail(TPA_ERR_PARSE, "%s%s%s: an array is required", path, *path ? "." : "",
				key);
	if (json_array_size(v) > max)
		return ref_fail(TPA_ERR_LIMIT, "%s%s%s: %zu entries, over the cap of %zu", path,
				*path ? "." : "", key, json_array_size(v), max);
	*out = v;
	return 0;
}

static int cmp32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* Sorts n entries of size sz whose first 32 bytes are their key; refuses
 * a key given twice. */
static int sort_unique(void *v, size_t n, size_t sz, const char *what)
{
	char hex[65];
	size_t i;

	if (n < 2)
		return 0;
	qsort(v, n, sz, cmp32);
	for (i = 1; i < n; i++)
		if (memcmp((char *)v + (i - 1) * sz, (char *)v + i * sz, 32) == 0) {
			tpa_hex(hex, (const uint8_t *)v + i * sz, 32);
			return ref_fail(TPA_ERR_PARSE, "%s: %s is listed twice", what, hex);
		}
	return 0;
}

static int parse_images(tpa_sbref *r, json_t *root)
{
	static const char *const keys[] = { "sha256", "file", "added", "optional", "authority",
					    "description", NULL };
	json_t *all = json_object_get(root, "revoked_images"), *arr, *e;
	const char *arch;
	char path[64];
	size_t i;
	int err;

	if (!all || !json_is_object(all))
		return ref_fail(TPA_ERR_PARSE, "revoked_images: an object of architectures is required");
	json_object_foreach(all, arch, arr) {
		tpa_sb_arch a = tpa_sb_arch_from_name(arch);

		if (a == TPA_SB_ARCH_COUNT)
			return ref_fail(TPA_ERR_PARSE, "revoked_images: unknown architecture '%.32s' "
					"(x64, ia32, aarch64 or arm)", arch);
		snprintf(path, sizeof(path), "revoked_images");
		if ((err = get_array(&arr, all, arch, TPA_SBREF_IMAGES_MAX, path)) < 0)
			return err;
		if (json_array_size(arr) &&
		    !(r->images[a] = calloc(json_array_size(arr), sizeof(*r->images[a]))))
			return ref_fail(TPA_ERR_NOMEM, "out of memory");
		json_array_foreach(arr, i, e) {
			tpa_sbref_image *im = &r->images[a][i];
			json_t *opt;

			snprintf(path, sizeof(path), "revoked_images.%s[%zu]", arch, i);
			if (!json_is_object(e))
				return ref_fail(TPA_ERR_PARSE, "%s: an object is required", path);
			if ((err = only_keys(e, keys, path)) < 0 ||
			    (err = get_hex32(im->sha256, e, "sha256", path)) < 0 ||
			    (err = get_text(im->file, sizeof(im->file), e, "file", path, 1)) < 0 ||
			    (err = get_date(im->added, e, "added", path, NULL)) < 0 ||
			    (err = get_text(im->authority, sizeof(im->authority), e, "authority",
					    path, 1)) < 0 ||
			    (err = get_text(im->description, sizeof(im->description), e,
					    "description", path, 1)) < 0)
				return err;
			opt = json_object_get(e, "optional");
			if (opt && !json_is_boolean(opt))
				return ref_fail(TPA_ERR_PARSE, "%s.optional: true or false is required",
						path);
			im->optional = json_is_true(opt);
			r->nimages[a]++;
		}
		snprintf(path, sizeof(path), "revoked_images.%s", arch);
		if ((err = sort_unique(r->images[a], r->nimages[a], sizeof(tpa_sbref_image), path)) < 0)
			return err;
	}
	return 0;
}

static int parse_certs(tpa_sbref *r, json_t *root)
{
	static const char *const keys[] = { "sha256", "name", "added", NULL };
	json_t *arr, *e;
	char path[64];
	size_t i;
	int err;

	if ((err = get_array(&arr, root, "revoked_certificates", TPA_SBREF_ENTRIES_MAX, "")) < 0)
		return err;
	if (json_array_size(arr) && !(r->certs = calloc(json_array_size(arr), sizeof(*r->certs))))
		return ref_fail(TPA_ERR_NOMEM, "out of memory");
	json_array_foreach(arr, i, e) {
		tpa_sbref_cert *c = &r->certs[i];

		snprintf(path, sizeof(path), "revoked_certificates[%zu]", i);
		if (!json_is_object(e))
			return ref_fail(TPA_ERR_PARSE, "%s: an object is required", path);
		if ((err = only_keys(e, keys, path)) < 0 ||
		    (err = get_hex32(c->sha256, e, "sha256", path)) < 0 ||
		    (err = get_text(c->name, sizeof(c->name), e, "name", path, 0)) < 0 ||
		    (err = get_date(c->added, e, "added", path, NULL)) < 0)
			return err;
		r->ncerts++;
	}
	return sort_unique(r->certs, r->ncerts, sizeof(*r->certs), "revoked_certificates");
}

static int parse_svns(tpa_sbref *r, json_t *root)
{
	static const char *const keys[] = { "value", "file", "version", NULL };
	json_t *arr, *e;
	char path[64];
	size_t i;
	int err;

	if ((err = get_array(&arr, root, "svns", TPA_SBREF_ENTRIES_MAX, "")) < 0)
		return err;
	if (json_array_size(arr) && !(r->svns = calloc(json_array_size(arr), sizeof(*r->svns))))
		return ref_fail(TPA_ERR_NOMEM, "out of memory");
	json_array_foreach(arr, i, e) {
		tpa_sbref_svn *s = &r->svns[i];

		snprintf(path, sizeof(path), "svns[%zu]", i);
		if (!json_is_object(e))
			return ref_fail(TPA_ERR_PARSE, "%s: an object is required", path);
		if ((err = only_keys(e, keys, path)) < 0 ||
		    (err = get_hex32(s->value, e, "value", path)) < 0 ||
		    (err = get_text(s->file, sizeof(s->file), e, "file", path, 0)) < 0 ||
		    (err = get_text(s->version, sizeof(s->version), e, "version", path, 0)) < 0)
			return err;
		r->nsvns++;
	}
	return sort_unique(r->svns, r->nsvns, sizeof(*r->svns), "svns");
}

static int parse_cas(tpa_sbref *r, json_t *root)
{
	static const char *const keys[] = { "sha256", "name", "store", "generation", "successor",
					    NULL };
	json_t *arr, *e, *g;
	char path[64], store[8];
	size_t i;
	int err, s;

	if ((err = get_array(&arr, root, "cas", TPA_SBREF_ENTRIES_MAX, "")) < 0)
		return err;
	if (json_array_size(arr) && !(r->cas = calloc(json_array_size(arr), sizeof(*r->cas))))
		return ref_fail(TPA_ERR_NOMEM, "out of memory");
	json_array_foreach(arr, i, e) {
		tpa_sbref_ca *c = &r->cas[i];

		snprintf(path, sizeof(path), "cas[%zu]", i);
		if (!json_is_object(e))
			return ref_fail(TPA_ERR_PARSE, "%s: an object is required", path);
		if ((err = only_keys(e, keys, path)) < 0 ||
		    (err = get_hex32(c->sha256, e, "sha256", path)) < 0 ||
		    (err = get_text(c->name, sizeof(c->name), e, "name", path, 0)) < 0 ||
		    (err = get_text(store, sizeof(store), e, "store", path, 0)) < 0)
			return err;
		for (s = TPA_SB_STORE_PK; s <= TPA_SB_STORE_DB && strcmp(store, store_names[s]); s++)
			;
		if (s > TPA_SB_STORE_DB)
			return ref_fail(TPA_ERR_PARSE, "%s.store: PK, KEK or db, not '%s'", path, store);
		c->store = (tpa_sb_store)s;
		g = json_object_get(e, "generation");
		if (!json_is_integer(g) || json_integer_value(g) < 1995 ||
		    json_integer_value(g) > 2100)
			return ref_fail(TPA_ERR_PARSE, "%s.generation: a year (1995-2100) is required",
					path);
		c->generation = (int)json_integer_value(g);
		if (json_object_get(e, "successor")) {
			if ((err = get_hex32(c->successor, e, "successor", path)) < 0)
				return err;
			c->has_successor = 1;
		}
		r->ncas++;
	}
	if ((err = sort_unique(r->cas, r->ncas, sizeof(*r->cas), "cas")) < 0)
		return err;
	for (i = 0; i < r->ncas; i++) {
		const tpa_sbref_ca *next;
		char hex[65];

		r->cas[i].revoked = tpa_sbref_cert_revoked(r, r->cas[i].sha256) != NULL;
		if (!r->cas[i].has_successor)
			continue;
		next = tpa_sbref_ca_find(r, r->cas[i].successor);
		if (!next || next == &r->cas[i] || next->store != r->cas[i].store) {
			tpa_hex(hex, r->cas[i].successor, 32);
			return ref_fail(TPA_ERR_PARSE, "cas (%s): its successor %s is not another CA "
					"of the bundle in the same store", r->cas[i].name, hex);
		}
	}
	return 0;
}

static int parse_subjects(tpa_sbref *r, json_t *root)
{
	json_t *arr, *e;
	size_t i;
	int err;

	if ((err = get_array(&arr, root, "test_key_subjects", TPA_SBREF_ENTRIES_MAX, "")) < 0)
		return err;
	if (json_array_size(arr) &&
	    !(r->test_subjects = calloc(json_array_size(arr), sizeof(*r->test_subjects))))
		return ref_fail(TPA_ERR_NOMEM, "out of memory");
	json_array_foreach(arr, i, e) {
		const char *s = json_is_string(e) ? json_string_value(e) : NULL;

		if (!s || !*s || !text_ok(s, TPA_SBREF_NAME_MAX))
			return ref_fail(TPA_ERR_PARSE, "test_key_subjects[%zu]: printable text of 1 "
					"to %d characters is required", i, TPA_SBREF_NAME_MAX - 1);
		memcpy(r->test_subjects[i], s, strlen(s) + 1);
		r->ntest_subjects++;
	}
	return 0;
}

static size_t slot_hash(const uint8_t *d, size_t mask)
{
	uint64_t h;

	memcpy(&h, d, sizeof(h));   /* a SHA-256: its bytes are uniform */
	return (size_t)h & mask;
}

/* The slots of every image hash (see tpa_sbref). */
static int build_slots(tpa_sbref *r)
{
	size_t total = 0, cap = 16, i, k;
	int a;

	for (a = 0; a < TPA_SB_ARCH_COUNT; a++)
		total += r->nimages[a];
	while (cap < 2 * total + 2)
		cap *= 2;
	if (!(r->slots = calloc(cap, sizeof(*r->slots))))
		return ref_fail(TPA_ERR_NOMEM, "out of memory");
	r->nslots = cap;
	for (a = 0; a < TPA_SB_ARCH_COUNT; a++)
		for (i = 0; i < r->nimages[a]; i++) {
			const uint8_t *d = r->images[a][i].sha256;

			for (k = slot_hash(d, cap - 1); r->slots[k].used &&
			     memcmp(r->slots[k].sha256, d, 32) != 0; k = (k + 1) & (cap - 1))
				;
			r->slots[k].used = 1;
			memcpy(r->slots[k].sha256, d, 32);
			r->slots[k].archs |= (uint8_t)(1u << a);
			r->images[a][i].slot = (uint32_t)k;
		}
	return 0;
}

long tpa_sbref_slot(const tpa_sbref *r, const uint8_t sha256[32])
{
	size_t k;

	if (!r || !r->nslots)
		return -1;
	for (k = slot_hash(sha256, r->nslots - 1); r->slots[k].used;
	     k = (k + 1) & (r->nslots - 1))
		if (memcmp(r->slots[k].sha256, sha256, 32) == 0)
			return (long)k;
	return -1;
}

int tpa_sbref_parse(tpa_sbref **out, const uint8_t *b, size_t n)
{
	static const char *const keys[] = { "format", "version", "source", "date",
					    "revoked_images", "revoked_certificates", "svns",
					    "cas", "test_key_subjects", NULL };
	json_error_t je;
	json_t *root = NULL, *v;
	tpa_sbref *r = NULL;
	char fmt[32];
	int err;

	if (!out || (!b && n))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "secureboot-ref: NULL");
	*out = NULL;
	if (n > TPA_SBREF_BYTES_MAX)
		return ref_fail(TPA_ERR_LIMIT, "%zu bytes, over the cap of %u", n,
				TPA_SBREF_BYTES_MAX);
	if (!(root = json_loadb((const char *)b, n, JSON_REJECT_DUPLICATES, &je))) {
		err = ref_fail(TPA_ERR_PARSE, "not JSON: %s at line %d", je.text, je.line);
		goto done;
	}
	err = ref_fail(TPA_ERR_NOMEM, "out of memory");
	if (!json_is_object(root)) {
		err = ref_fail(TPA_ERR_PARSE, "an object is required");
		goto done;
	}
	if (!(r = calloc(1, sizeof(*r))))
		goto done;
	if ((err = only_keys(root, keys, "bundle")) < 0 ||
	    (err = get_text(fmt, sizeof(fmt), root, "format", "bundle", 0)) < 0)
		goto done;
	if (strcmp(fmt, TPA_SBREF_FORMAT) != 0) {
		err = ref_fail(TPA_ERR_PARSE, "bundle.format: '%s', not " TPA_SBREF_FORMAT, fmt);
		goto done;
	}
	v = json_object_get(root, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		err = ref_fail(TPA_ERR_PARSE, "bundle.version: a positive integer is required");
		goto done;
	}
	if (json_integer_value(v) != TPA_SBREF_VERSION) {
		err = ref_fail(TPA_ERR_PARSE, "bundle.version: %lld is newer than this verifier reads "
			       "(%d)", (long long)json_integer_value(v), TPA_SBREF_VERSION);
		goto done;
	}
	if ((err = get_text(r->source, sizeof(r->source), root, "source", "bundle", 0)) < 0 ||
	    (err = get_date(r->date, root, "date", "bundle", &r->date_unix)) < 0 ||
	    (err = parse_images(r, root)) < 0 || (err = parse_certs(r, root)) < 0 ||
	    (err = parse_svns(r, root)) < 0 || (err = parse_cas(r, root)) < 0 ||
	    (err = parse_subjects(r, root)) < 0 || (err = build_slots(r)) < 0)
		goto done;
	*out = r;
	r = NULL;
	err = 0;
done:
	json_decref(root);
	tpa_sbref_free(r);
	return err;
}

int tpa_sbref_load(tpa_sbref **out, const char *path)
{
	uint8_t *b = NULL;
	size_t n = 0;
	FILE *f;
	int err;

	if (!out || !path)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "secureboot-ref: NULL");
	*out = NULL;
	if (!(f = fopen(path, "rb")))
		return tpa_err_fail(TPA_ERR_IO, "secureboot-ref: cannot open %s", path);
	if (!(b = malloc(TPA_SBREF_BYTES_MAX + 1))) {
		fclose(f);
		return ref_fail(TPA_ERR_NOMEM, "out of memory");
	}
	n = fread(b, 1, TPA_SBREF_BYTES_MAX + 1, f);
	if (ferror(f))
		err = tpa_err_fail(TPA_ERR_IO, "secureboot-ref: cannot read %s", path);
	else if (n > TPA_SBREF_BYTES_MAX)
		err = tpa_err_fail(TPA_ERR_LIMIT, "secureboot-ref: %s is over the cap of %u bytes",
				   path, TPA_SBREF_BYTES_MAX);
	else if ((err = tpa_sbref_parse(out, b, n)) < 0)
		tpa_err_set("%s: %s", path, tpa_err_last());
	fclose(f);
	free(b);
	return err;
}

/* ---- lookups ---- */

const tpa_sbref_image *tpa_sbref_image_revoked(const tpa_sbref *r, tpa_sb_arch a,
					       const uint8_t sha256[32])
{
	if (!r || (unsigned)a >= TPA_SB_ARCH_COUNT || !r->nimages[a])
		return NULL;
	return bsearch(sha256, r->images[a], r->nimages[a], sizeof(tpa_sbref_image), cmp32);
}

const tpa_sbref_cert *tpa_sbref_cert_revoked(const tpa_sbref *r, const uint8_t sha256[32])
{
	if (!r || !r->ncerts)
		return NULL;
	return bsearch(sha256, r->certs, r->ncerts, sizeof(*r->certs), cmp32);
}

const tpa_sbref_ca *tpa_sbref_ca_find(const tpa_sbref *r, const uint8_t sha256[32])
{
	if (!r || !r->ncas)
		return NULL;
	return bsearch(sha256, r->cas, r->ncas, sizeof(*r->cas), cmp32);
}

int tpa_sbref_test_subject(const tpa_sbref *r, const char *subject)
{
	size_t i, j, n, sn;

	if (!r || !subject)
		return 0;
	sn = strlen(subject);
	for (i = 0; i < r->ntest_subjects; i++) {
		n = strlen(r->test_subjects[i]);
		for (j = 0; n <= sn && j <= sn - n; j++)
			if (strncasecmp(subject + j, r->test_subjects[i], n) == 0)
				return 1;
	}
	return 0;
}

/* ---- the builder ---- */

static json_t *hex_str(const uint8_t *d, size_t n)
{
	char hex[2 * 32 + 1];

	tpa_hex(hex, d, n);
	return json_string(hex);
}

/* A text field of Microsoft's list, trimmed, or "" when absent. */
static int ms_text(char *out, size_t cap, json_t *o, const char *key, const char *path)
{
	json_t *v = json_object_get(o, key);
	const char *s;
	size_t n;

	out[0] = '\0';
	if (!v)
		return 0;
	if (!json_is_string(v))
		return ref_fail(TPA_ERR_PARSE, "the list's %s.%s: a string is required", path, key);
	s = json_string_value(v);
	while (*s == ' ')
		s++;
	n = strlen(s);
	while (n && s[n - 1] == ' ')
		n--;
	if (n >= cap)
		return ref_fail(TPA_ERR_LIMIT, "the list's %s.%s: over %zu characters", path, key,
				cap - 1);
	memcpy(out, s, n);
	out[n] = '\0';
	if (!text_ok(out, cap))
		return ref_fail(TPA_ERR_PARSE, "the list's %s.%s: not printable text", path, key);
	return 0;
}

/* "CN = Microsoft Corporation UEFI CA 2011" as its name. */
static const char *cn_of(const char *s)
{
	return strncmp(s, "CN = ", 5) == 0 ? s + 5 : s;
}

static int build_images(json_t *out, json_t *ms)
{
	json_t *all = json_object_get(ms, "images"), *arr, *e;
	const char *arch;
	char path[64], t[TPA_SBREF_DESC_MAX];
	size_t i;
	int err;

	if (!json_is_object(all))
		return ref_fail(TPA_ERR_PARSE, "the list has no images object");
	json_object_foreach(all, arch, arr) {
		json_t *oa = json_array();

		if (!oa || json_object_set_new(out, arch, oa) < 0)
			return ref_fail(TPA_ERR_NOMEM, "out of memory");
		if (tpa_sb_arch_from_name(arch) == TPA_SB_ARCH_COUNT)
			return ref_fail(TPA_ERR_PARSE, "the list's images: unknown architecture '%.32s'",
					arch);
		if (!json_is_array(arr) || json_array_size(arr) > TPA_SBREF_IMAGES_MAX)
			return ref_fail(TPA_ERR_PARSE, "the list's images.%s: an array of at most %d",
					arch, TPA_SBREF_IMAGES_MAX);
		json_array_foreach(arr, i, e) {
			json_t *o = json_object(), *opt;
			uint8_t d[32];
			char file[TPA_SBREF_NAME_MAX], date[11];

			snprintf(path, sizeof(path), "images.%s[%zu]", arch, i);
			if (!o || json_array_append_new(oa, o) < 0)
				return ref_fail(TPA_ERR_NOMEM, "out of memory");
			if (!json_is_object(e))
				return ref_fail(TPA_ERR_PARSE, "the list's %s: an object is required",
						path);
			if ((err = ms_text(t, sizeof(t), e, "hashType", path)) < 0)
				return err;
			if (strcmp(t, "SHA256") != 0)
				return ref_fail(TPA_ERR_PARSE, "the list's %s.hashType: '%s', not SHA256",
						path, t);
			if ((err = get_hex32(d, e, "authenticodeHash", path)) < 0 ||
			    (err = ms_text(file, sizeof(file), e, "filename", path)) < 0 ||
			    (err = get_date(date, e, "dateOfAddition", path, NULL)) < 0)
				return err;
			json_object_set_new(o, "sha256", hex_str(d, 32));
			json_object_set_new(o, "file", json_string(file));
			json_object_set_new(o, "added", json_string(date));
			/* Microsoft writes it as the string "true" (or a boolean). */
			opt = json_object_get(e, "isOptional");
			if (opt && !json_is_boolean(opt) &&
			    !(json_is_string(opt) && (!strcmp(json_string_value(opt), "true") ||
						      !strcmp(json_string_value(opt), "false"))))
				return ref_fail(TPA_ERR_PARSE, "the list's %s.isOptional: true or false "
						"is required", path);
			if (json_is_true(opt) ||
			    (json_is_string(opt) && !strcmp(json_string_value(opt), "true")))
				json_object_set_new(o, "optional", json_true());
			if ((err = ms_text(t, TPA_SBREF_NAME_MAX, e, "signingAuthority", path)) < 0)
				return err;
			if (t[0])
				json_object_set_new(o, "authority", json_string(cn_of(t)));
			if ((err = ms_text(t, sizeof(t), e, "description", path)) < 0)
				return err;
			if (t[0])
				json_object_set_new(o, "description", json_string(t));
		}
	}
	return 0;
}

/* The SHA-1 and SHA-256 of a DER certificate, its CN and the year it was
 * issued. */
static int cert_facts(const tpa_sbref_certfile *c, uint8_t sha1[20], uint8_t sha256[32],
		      char *cn, size_t cap, int *year)
{
	const unsigned char *p = c->der;
	X509 *x = NULL;
	struct tm tm;
	tpa_efi_cert ec;

	if (c->len > 65536 || !(x = d2i_X509(NULL, &p, (long)c->len)) || p != c->der + c->len) {
		X509_free(x);
		return ref_fail(TPA_ERR_PARSE, "certificate %s: not one DER X.509 certificate",
				c->name);
	}
	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) != 1) {
		X509_free(x);
		return ref_fail(TPA_ERR_PARSE, "certificate %s: its notBefore does not read", c->name);
	}
	X509_free(x);
	*year = tm.tm_year + 1900;
	tpa_hash(sha1, TPM2_ALG_SHA1, c->der, c->len);
	tpa_hash(sha256, TPM2_ALG_SHA256, c->der, c->len);
	if (tpa_efi_cert_from_der(&ec, c->der, c->len) < 0)
		return ref_fail(TPA_ERR_PARSE, "certificate %s: not a certificate", c->name);
	tpa_efi_cert_subject(cn, cap, &ec);
	if (!cn[0])
		return ref_fail(TPA_ERR_PARSE, "certificate %s: its subject has no CN", c->name);
	return 0;
}

/* The 2023 CA that takes each 2011 Microsoft CA's place (Microsoft's
 * "Windows Secure Boot certificate expiration" guidance). */
static const struct { const char *old_cn, *new_cn; } successors[] = {
	{ "Microsoft Corporation KEK CA 2011", "Microsoft Corporation KEK 2K CA 2023" },
	{ "Microsoft Corporation UEFI CA 2011", "Microsoft UEFI CA 2023" },
	{ "Microsoft Windows Production PCA 2011", "Windows UEFI CA 2023" },
};

/* Each CA of cas whose successor is among them names it. */
static void link_successors(json_t *cas)
{
	json_t *a, *b;
	size_t i, j, k;

	json_array_foreach(cas, i, a) {
		const char *cn = json_string_value(json_object_get(a, "name"));

		for (k = 0; cn && k < sizeof(successors) / sizeof(successors[0]); k++) {
			if (strcmp(cn, successors[k].old_cn) != 0)
				continue;
			json_array_foreach(cas, j, b)
				if (!strcmp(json_string_value(json_object_get(b, "name")),
					    successors[k].new_cn))
					json_object_set(a, "successor", json_object_get(b, "sha256"));
		}
	}
}

static int build_certs(json_t *revoked, json_t *cas, json_t *ms,
		       const tpa_sbref_certfile *certs, size_t ncerts)
{
	json_t *arr = json_object_get(ms, "certificates"), *e;
	char path[64], value[TPA_SBREF_NAME_MAX], cn[TPA_SBREF_NAME_MAX], date[11];
	uint8_t sha1[20], sha256[32], want[20];
	size_t i, k;
	int err, year;

	for (k = 0; k < ncerts; k++) {
		static const char *const prefix[] = { "pk-", "kek-", "db-" };
		json_t *o;
		int s;

		for (s = 0; s < 3 && strncmp(certs[k].name, prefix[s], strlen(prefix[s])); s++)
			;
		if (s == 3)
			return ref_fail(TPA_ERR_PARSE, "certificate %s: its name must start with pk-, "
					"kek- or db- (its store)", certs[k].name);
		if ((err = cert_facts(&certs[k], sha1, sha256, cn, sizeof(cn), &year)) < 0)
			return err;
		if (!(o = json_pack("{s:o,s:s,s:s,s:i}", "sha256", hex_str(sha256, 32), "name", cn,
				    "store", store_names[s], "generation", year)) ||
		    json_array_append_new(cas, o) < 0)
			return ref_fail(TPA_ERR_NOMEM, "out of memory");
	}
	link_successors(cas);
	if (!json_is_array(arr) || json_array_size(arr) > TPA_SBREF_ENTRIES_MAX)
		return ref_fail(TPA_ERR_PARSE, "the list's certificates: an array of at most %d",
				TPA_SBREF_ENTRIES_MAX);
	json_array_foreach(arr, i, e) {
		json_t *o, *tp;
		const char *hex;

		snprintf(path, sizeof(path), "certificates[%zu]", i);
		if (!json_is_object(e) || (err = ms_text(value, sizeof(value), e, "value", path)) < 0)
			return ref_fail(TPA_ERR_PARSE, "the list's %s: an object with a value", path);
		for (k = 0; k < ncerts; k++) {
			size_t nl = strlen(certs[k].name), vl = strlen(value);

			if (vl && nl >= vl && strcmp(certs[k].name + nl - vl, value) == 0)
				break;
		}
		if (k == ncerts)
			return ref_fail(TPA_ERR_NOT_FOUND, "the list's %s: %s is not among the "
					"certificates given (its fingerprint is needed)", path, value);
		if ((err = cert_facts(&certs[k], sha1, sha256, cn, sizeof(cn), &year)) < 0)
			return err;
		tp = json_object_get(e, "thumbprint");
		hex = json_is_string(tp) ? json_string_value(tp) : "";
		for (k = 0; strlen(hex) == 40 && k < 20; k++) {
			int hi = tpa_hex_digit(hex[2 * k]), lo = tpa_hex_digit(hex[2 * k + 1]);

			if (hi < 0 || lo < 0)
				break;
			want[k] = (uint8_t)(hi << 4 | lo);
		}
		if (k != 20 || memcmp(want, sha1, 20) != 0)
			return ref_fail(TPA_ERR_VERIFY, "the list's %s: the thumbprint is not the "
					"SHA-1 of %s", path, value);
		if ((err = get_date(date, e, "dateOfAddition", path, NULL)) < 0)
			return err;
		if (!(o = json_pack("{s:o,s:s,s:s}", "sha256", hex_str(sha256, 32), "name", cn,
				    "added", date)) || json_array_append_new(revoked, o) < 0)
			return ref_fail(TPA_ERR_NOMEM, "out of memory");
	}
	return 0;
}

static int build_svns(json_t *out, json_t *ms)
{
	json_t *arr = json_object_get(ms, "svns"), *e;
	char path[64], file[TPA_SBREF_NAME_MAX], version[16];
	uint8_t v[32];
	size_t i;
	int err;

	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > TPA_SBREF_ENTRIES_MAX)
		return ref_fail(TPA_ERR_PARSE, "the list's svns: an array of at most %d",
				TPA_SBREF_ENTRIES_MAX);
	json_array_foreach(arr, i, e) {
		json_t *o;

		snprintf(path, sizeof(path), "svns[%zu]", i);
		if (!json_is_object(e))
			return ref_fail(TPA_ERR_PARSE, "the list's %s: an object is required", path);
		if ((err = get_hex32(v, e, "value", path)) < 0 ||
		    (err = ms_text(file, sizeof(file), e, "filename", path)) < 0 ||
		    (err = ms_text(version, sizeof(version), e, "version", path)) < 0)
			return err;
		if (!file[0] || !version[0])
			return ref_fail(TPA_ERR_PARSE, "the list's %s: filename and version are "
					"required", path);
		if (!(o = json_pack("{s:o,s:s,s:s}", "value", hex_str(v, 32), "file", file,
				    "version", version)) || json_array_append_new(out, o) < 0)
			return ref_fail(TPA_ERR_NOMEM, "out of memory");
	}
	return 0;
}

int tpa_sbref_build(char **out, const uint8_t *msft, size_t n, const tpa_sbref_certfile *certs,
		    size_t ncerts, const char *source, const char *date)
{
	json_t *ms = NULL, *o = NULL, *images, *revoked, *svns, *cas;
	json_error_t je;
	tpa_sbref *check = NULL;
	int64_t t;
	int err;

	if (!out || !msft || (!certs && ncerts) || !source || !date)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "secureboot-ref: NULL");
	*out = NULL;
	if (n > TPA_SBREF_BYTES_MAX)
		return ref_fail(TPA_ERR_LIMIT, "the list is %zu bytes, over the cap of %u", n,
				TPA_SBREF_BYTES_MAX);
	if (!text_ok(source, TPA_SBREF_TEXT_MAX) || !source[0])
		return ref_fail(TPA_ERR_INVALID_ARG, "the source must be printable text");
	if (strlen(date) != 10 || tpa_time_parse_iso(&t, date) < 0)
		return ref_fail(TPA_ERR_INVALID_ARG, "the date must be YYYY-MM-DD, not '%.32s'", date);
	if (!(ms = json_loadb((const char *)msft, n, JSON_REJECT_DUPLICATES, &je)))
		return ref_fail(TPA_ERR_PARSE, "the list is not JSON: %s at line %d", je.text,
				je.line);
	err = ref_fail(TPA_ERR_NOMEM, "out of memory");
	if (!(o = json_pack("{s:s,s:i,s:s,s:s,s:{},s:[],s:[],s:[],s:[ss]}", "format",
			    TPA_SBREF_FORMAT, "version", TPA_SBREF_VERSION, "source", source,
			    "date", date, "revoked_images", "revoked_certificates", "svns", "cas",
			    "test_key_subjects", "DO NOT TRUST", "DO NOT SHIP")))
		goto done;
	images = json_object_get(o, "revoked_images");
	revoked = json_object_get(o, "revoked_certificates");
	svns = json_object_get(o, "svns");
	cas = json_object_get(o, "cas");
	if (!json_is_object(ms)) {
		err = ref_fail(TPA_ERR_PARSE, "the list: an object is required");
		goto done;
	}
	if ((err = build_images(images, ms)) < 0 ||
	    (err = build_certs(revoked, cas, ms, certs, ncerts)) < 0 ||
	    (err = build_svns(svns, ms)) < 0)
		goto done;
	err = ref_fail(TPA_ERR_NOMEM, "out of memory");
	if (!(*out = json_dumps(o, JSON_INDENT(1))))
		goto done;
	/* What was built reads back: the same rules as any bundle. */
	if ((err = tpa_sbref_parse(&check, (const uint8_t *)*out, strlen(*out))) < 0) {
		free(*out);
		*out = NULL;
		goto done;
	}
	err = 0;
done:
	tpa_sbref_free(check);
	json_decref(o);
	json_decref(ms);
	return err;
}
