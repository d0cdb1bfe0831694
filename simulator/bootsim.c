/* SPDX-License-Identifier: BSD-3-Clause */
/* tpa-bootsim: simulates a UEFI measured boot (EDK2 firmware, shim, GRUB,
 * Linux). It writes a TCG PC Client crypto-agile event log (SHA-256 bank) and,
 * with --tcti, extends the same digests into the TPM, so that the log replays
 * to the TPM's PCRs, unless the scenario's faults say otherwise.
 *
 *   tpa-bootsim --scenario FILE --log OUT [--tcti TCTI] [--print-pcrs]
 *
 * --print-pcrs prints the PCR values the extends produce ("PCR:sha256=HEX",
 * one line per PCR touched) on stdout. With --tcti every PCR the scenario
 * touches must be in its reset state (zero) before, and must equal the
 * expected value after. Exit status: 0 success, 1 internal error (OpenSSL,
 * memory), 2 usage, bad scenario or unwritable log, 3 TPM error (the log
 * written before is removed again). The output is deterministic.
 *
 * Scenario file (JSON; unknown keys are errors; strings are printable ASCII):
 * {
 *   "description": "text",                                   required
 *   "firmware": {                                            required
 *     "version": "EDK II ...",          PCR 0 EV_S_CRTM_VERSION (UTF-16LE, NUL)
 *     "volumes": [ { "description": "Fv(...)", "base": N, "length": N,
 *                    "image": "name" } ]  PCR 0 EV_EFI_PLATFORM_FIRMWARE_BLOB2
 *   },
 *   "secure_boot": true,           PCR 7 SecureBoot variable (0x01 / 0x00)
 *   "keys": {                      PCR 7 PK, KEK, db, dbx (all optional)
 *     "owner": "GUID",             SignatureOwner of every EFI_SIGNATURE_DATA
 *     "pk": ["CN", ...], "kek": [...], "db": [...],
 *                                  one EFI_CERT_X509 list per name, holding a
 *                                  self-signed Ed25519 certificate whose key
 *                                  is derived from the name (deterministic)
 *                                  (a name "file:PATH" is that real DER
 *                                  certificate, relative to the scenario)
 *     "dbx": ["image", ...],       one EFI_CERT_SHA256 list of image digests
 *                                  ("sha256:HEX": that digest)
 *     "dbx_ref": { "bundle": PATH, "arch": "x64", "drop_newest": N },
 *                                  ... and a Secure Boot reference bundle's
 *                                  required revocations of arch but its N
 *                                  newest (a dbx of some time ago)
 *     "dbx_certs": ["file:PATH", ...]  X.509 lists in dbx, before the hashes
 *     "vendor": "CN"               shim's built-in vendor certificate
 *   },
 *   "disk": { "esp_guid": "GUID", "root_guid": "GUID" },     optional
 *   "boot_entries": [ { "number": 1, "description": "debian",
 *                       "path": "\\EFI\\debian\\shimx64.efi" } ],
 *   "boot_order": [1],             PCR 1 BootOrder and Boot#### (in order)
 *   "applications": [ { "image": "shim-15.7", "path": "\\EFI\\...",
 *                       "authority": "db:CN" | "vendor",
 *                       "digest": "sha256:HEX" } ],  (the Authenticode
 *                                  digest logged, instead of the image's)
 *                                  PCR 4 EV_EFI_BOOT_SERVICES_APPLICATION,
 *                                  with Secure Boot on preceded (once per
 *                                  certificate) by a PCR 7
 *                                  EV_EFI_VARIABLE_AUTHORITY
 *   "grub": { "files": [ { "path": "(hd0,gpt1)/...", "image": "name" } ],
 *             "commands": ["set root='hd0,gpt2'", ...] },
 *                                  PCR 9 / PCR 8 "grub_cmd: ..." EV_IPL
 *   "kernel": { "image": "name", "path": "/vmlinuz-...", "cmdline": "...",
 *               "initrd_image": "name", "initrd": "/initrd.img-...",
 *               "authority": "vendor", "command": "linux" },
 *                                  PCR 8 "grub_cmd: linux ...",
 *                                  "kernel_cmdline: ...", "grub_cmd: initrd
 *                                  ...", PCR 9 file events, PCR 4 kernel;
 *                                  "command" linuxefi / linux16 (Fedora,
 *                                  RHEL GRUB) logs those with initrdefi /
 *                                  initrd16; "image_file" / "initrd_file"
 *                                  name real files (relative to the
 *                                  scenario): the kernel's PCR 4 digest is
 *                                  then the PE image's Authenticode digest,
 *                                  its PCR 9 digest and the initrd's the
 *                                  SHA-256 of the files' bytes, so that a
 *                                  baseline can allow them from the files
 *   "shim": { "mok_validation": true },  shim's PCR 14 events (MokList,
 *                                  MokListX; MokSBState when validation is
 *                                  false), as it first verifies an image
 *                                  with "authority": "vendor"
 *   "faults": {
 *     "tampered_images": ["image", ...],  these images' bytes are altered
 *     "log_edit": { "pcr": 8, "find": "text", "replace": "text" },
 *                  the first event on that PCR whose data contains "find" is
 *                  edited in the written log only (digest stays the original)
 *     "truncate_last_event": true,  the log ends in the middle of the last event
 *     "unlogged": [ { "pcr": 9, "text": "...", "image": "name" } ]
 *                  EV_IPL events extended into the TPM after the log was
 *                  written, never logged (digest H(image bytes), or H(text))
 *   }
 * }
 * Images are pretend: an image's bytes are its name in ASCII (name plus
 * "\n#tampered" when listed in faults.tampered_images), and its Authenticode
 * digest and file digest are both SHA-256 of those bytes. */
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tpa/authenticode.h"
#include "tpa/err.h"
#include "tpa/eventlog.h"
#include "tpa/pcr.h"
#include "tpa/sbref.h"
#include "tpa/tpm.h"
#include "tpa/tpm_decode.h"

#define SHA256_LEN     32u
#define STR_MAX        1024u  /* longest scenario string */
#define LIST_MAX       512u   /* longest scenario array (a real dbx has ~400) */
#define EVENTS_MAX     1024u
#define KEY_MAX        128u   /* longest key path in messages */
#define CERT_NOT_BEFORE 1672531200L  /* 2023-01-01T00:00:00Z */
#define CERT_NOT_AFTER  2461449600L  /* 2048-01-01T00:00:00Z */

enum { EXIT_INTERNAL = 1, EXIT_USAGE = 2, EXIT_TPM = 3 };

typedef struct {
	uint8_t *b;
	size_t len, cap;
} buf;

typedef struct {
	uint32_t pcr, type;
	uint8_t digest[SHA256_LEN];
	buf data;
	int logged;
} event;

typedef struct {
	const char *file;          /* scenario file, for messages */
	json_t *root;
	json_t *tampered;          /* faults.tampered_images or NULL */
	int secure_boot;
	uint8_t owner[16];
	uint8_t esp_guid[16], root_guid[16];
	json_t *db;                /* keys.db or NULL */
	const char *vendor;        /* keys.vendor or NULL */
	uint32_t authorities_done; /* bit i: db[i] logged; bit 31: vendor */
	json_t *shim;              /* "shim" or NULL */
	int shim_measured;         /* its PCR 14 events are in */
	event *ev;
	size_t nev;
} sim;

/* GUIDs, as stored (first three fields little-endian). */
static const uint8_t GUID_GLOBAL[16] = {   /* 8be4df61-93ca-11d2-aa0d-00e098032b8c */
	0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
	0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c };
static const uint8_t GUID_IMAGE_SECURITY_DB[16] = { /* d719b2cb-3d3a-4596-a3bc-dad00e67656f */
	0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45,
	0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f };
static const uint8_t GUID_CERT_X509[16] = { /* a5c059a1-94e4-4aa7-87b5-ab155c2bf072 */
	0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a,
	0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72 };
static const uint8_t GUID_CERT_SHA256[16] = { /* c1c41626-504c-4092-aca9-41f936934328 */
	0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40,
	0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28 };
static const uint8_t GUID_SHIM_LOCK[16] = { /* 605dab50-e046-4300-abb6-3dd810dd8b23 */
	0x50, 0xab, 0x5d, 0x60, 0x46, 0xe0, 0x00, 0x43,
	0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23 };

#define DEFAULT_OWNER "3b8c8162-188c-46a4-aec9-be43f1d65697"
#define DEFAULT_ESP   "6a5b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
#define DEFAULT_ROOT  "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
#define ESP_START     2048u
#define ESP_SIZE      1048576u
#define ROOT_SIZE     62914560u

/* ---- bounded byte buffer ---- */

static int buf_put(buf *o, const void *p, size_t n)
{
	uint8_t *nb;
	size_t ncap;

	if (n > TPA_EVLOG_MAX_BYTES || o->len > TPA_EVLOG_MAX_BYTES - n)
		return tpa_err_fail(TPA_ERR_LIMIT, "output exceeds %u bytes",
				    TPA_EVLOG_MAX_BYTES);
	if (o->len + n > o->cap) {
		ncap = o->cap ? o->cap : 256;
		while (ncap < o->len + n)
			ncap *= 2;
		nb = realloc(o->b, ncap);
		if (!nb)
			return tpa_err_fail(TPA_ERR_NOMEM, "out of memory");
		o->b = nb;
		o->cap = ncap;
	}
	if (n)
		memcpy(o->b + o->len, p, n);
	o->len += n;
	return 0;
}

static int buf_le(buf *o, uint64_t v, size_t n)
{
	uint8_t b[8];
	size_t i;

	for (i = 0; i < n && i < sizeof(b); i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return buf_put(o, b, i);
}

/* ASCII to UTF-16LE; '/' becomes '\\' when backslash is set. */
static int buf_utf16(buf *o, const char *s, int nul, int backslash)
{
	int rc = 0;

	for (; *s && rc == 0; s++)
		rc = buf_le(o, backslash && *s == '/' ? '\\' : (uint8_t)*s, 2);
	if (rc == 0 && nul)
		rc = buf_le(o, 0, 2);
	return rc;
}

static void buf_free(buf *o)
{
	free(o->b);
	o->b = NULL;
	o->len = o->cap = 0;
}

static int sha256(uint8_t out[SHA256_LEN], const void *p, size_t n)
{
	return tpa_hash(out, TPM2_ALG_SHA256, p, n);
}

/* ---- scenario access ---- */

/* A key path for messages ("applications[1].image"), cut at KEY_MAX. */
static void keyf(char key[KEY_MAX], const char *fmt, ...) TPA_PRINTF(2, 3);
static void keyf(char key[KEY_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(key, KEY_MAX, fmt, ap) < 0)
		key[0] = '\0';
	va_end(ap);
}

static int bad(const sim *s, const char *key, const char *what)
{
	return tpa_err_fail(TPA_ERR_PARSE, "%s: key '%s': %s", s->file, key, what);
}

static int check_keys(const sim *s, json_t *obj, const char *path,
		      const char *const *allowed)
{
	const char *k;
	json_t *v;
	char key[KEY_MAX];
	size_t i;

	if (!json_is_object(obj))
		return bad(s, path, "expected an object");
	json_object_foreach(obj, k, v) {
		for (i = 0; allowed[i] && strcmp(allowed[i], k) != 0; i++)
			;
		if (!allowed[i]) {
			keyf(key, "%s%s%s", path, *path ? "." : "", k);
			return bad(s, key, "unknown key");
		}
	}
	return 0;
}

/* A printable-ASCII string of at most STR_MAX bytes, named key in messages;
 * NULL if v is absent and optional. */
static int str_value(const char **out, const sim *s, json_t *v, const char *key,
		     int required)
{
	const char *str;
	size_t i, n;

	*out = NULL;
	if (!v)
		return required ? bad(s, key, "missing") : 0;
	if (!json_is_string(v))
		return bad(s, key, "expected a string");
	str = json_string_value(v);
	n = json_string_length(v);
	if (n > STR_MAX)
		return bad(s, key, "string too long");
	for (i = 0; i < n; i++)
		if (str[i] < 0x20 || str[i] > 0x7e)
			return bad(s, key, "not printable ASCII");
	*out = str;
	return 0;
}

static int get_str(const char **out, const sim *s, json_t *obj,
		   const char *path, const char *k, int required)
{
	char key[KEY_MAX];

	keyf(key, "%s%s%s", path, *path ? "." : "", k);
	return str_value(out, s, json_object_get(obj, k), key, required);
}

static int get_uint(uint64_t *out, const sim *s, json_t *obj, const char *path,
		    const char *k, uint64_t max)
{
	json_t *v = json_object_get(obj, k);
	char key[KEY_MAX];
	json_int_t n;

	keyf(key, "%s%s%s", path, *path ? "." : "", k);
	if (!v)
		return bad(s, key, "missing");
	if (!json_is_integer(v))
		return bad(s, key, "expected an integer");
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n > max)
		return bad(s, key, "out of range");
	*out = (uint64_t)n;
	return 0;
}

/* An array (NULL if absent) of at most LIST_MAX elements. */
static int get_array(json_t **out, const sim *s, json_t *obj, const char *path,
		     const char *k, int required)
{
	json_t *v = json_object_get(obj, k);
	char key[KEY_MAX];

	keyf(key, "%s%s%s", path, *path ? "." : "", k);
	*out = NULL;
	if (!v)
		return required ? bad(s, key, "missing") : 0;
	if (!json_is_array(v))
		return bad(s, key, "expected an array");
	if (json_array_size(v) > LIST_MAX)
		return bad(s, key, "too many elements");
	*out = v;
	return 0;
}

/* A string element of an array. */
static int get_elem_str(const char **out, const sim *s, json_t *arr,
			const char *path, size_t i)
{
	char key[KEY_MAX];

	keyf(key, "%s[%zu]", path, i);
	return str_value(out, s, json_array_get(arr, i), key, 1);
}

/* "8be4df61-93ca-11d2-aa0d-00e098032b8c" to the stored byte order. */
static int guid_parse(uint8_t out[16], const char *str)
{
	static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6,
					   8, 9, 10, 11, 12, 13, 14, 15 };
	uint8_t raw[16];
	size_t i, j = 0;

	if (strlen(str) != 36)
		return -1;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (str[i] != '-')
				return -1;
			continue;
		}
		if (tpa_hex_digit(str[i]) < 0 || tpa_hex_digit(str[i + 1]) < 0)
			return -1;
		raw[j++] = (uint8_t)(tpa_hex_digit(str[i]) << 4 | tpa_hex_digit(str[i + 1]));
		i++;
	}
	for (i = 0; i < 16; i++)
		out[i] = raw[order[i]];
	return 0;
}

static int get_guid(uint8_t out[16], const sim *s, json_t *obj,
		    const char *path, const char *k, const char *dflt)
{
	const char *str;
	char key[KEY_MAX];
	int rc;

	if ((rc = get_str(&str, s, obj, path, k, 0)) < 0)
		return rc;
	keyf(key, "%s.%s", path, k);
	if (guid_parse(out, str ? str : dflt) < 0)
		return bad(s, key, "expected a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
	return 0;
}

/* ---- events ---- */

static int ev_add(sim *s, uint32_t pcr, uint32_t type, const uint8_t *digest,
		  buf *data, int logged)
{
	event *e;

	if (s->nev >= EVENTS_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "%s: more than %u events",
				    s->file, EVENTS_MAX);
	if (data->len > TPA_EVLOG_MAX_DATA)
		return tpa_err_fail(TPA_ERR_LIMIT, "%s: event data over %u bytes",
				    s->file, TPA_EVLOG_MAX_DATA);
	if (!s->ev) {
		s->ev = calloc(EVENTS_MAX, sizeof(*s->ev));
		if (!s->ev)
			return tpa_err_fail(TPA_ERR_NOMEM, "out of memory");
	}
	e = &s->ev[s->nev++];
	e->pcr = pcr;
	e->type = type;
	memcpy(e->digest, digest, SHA256_LEN);
	e->data = *data;     /* takes the bytes */
	memset(data, 0, sizeof(*data));
	e->logged = logged;
	return 0;
}

/* An event whose digest is SHA-256 of its data. */
static int ev_add_self(sim *s, uint32_t pcr, uint32_t type, buf *data)
{
	uint8_t d[SHA256_LEN];
	int rc;

	if ((rc = sha256(d, data->b, data->len)) < 0)
		return rc;
	return ev_add(s, pcr, type, d, data, 1);
}

static int ev_text(sim *s, uint32_t pcr, uint32_t type, const char *text)
{
	buf d = { 0 };
	int rc;

	if ((rc = buf_put(&d, text, strlen(text))) == 0)
		rc = ev_add_self(s, pcr, type, &d);
	buf_free(&d);
	return rc;
}

static int ev_separator(sim *s, uint32_t pcr)
{
	buf d = { 0 };
	int rc;

	if ((rc = buf_le(&d, 0, 4)) == 0)
		rc = ev_add_self(s, pcr, TPA_EV_SEPARATOR, &d);
	buf_free(&d);
	return rc;
}

/* SHA-256 of a pretend image's bytes. */
static int image_digest(uint8_t out[SHA256_LEN], const sim *s, const char *name)
{
	static const char mark[] = "\n#tampered";
	char bytes[STR_MAX + sizeof(mark)];
	size_t i, n = strlen(name);

	if (n > STR_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "image name too long");
	memcpy(bytes, name, n);
	for (i = 0; s->tampered && i < json_array_size(s->tampered); i++) {
		const char *t = json_string_value(json_array_get(s->tampered, i));

		if (t && strcmp(t, name) == 0) {
			memcpy(bytes + n, mark, sizeof(mark) - 1);
			n += sizeof(mark) - 1;
			break;
		}
	}
	return sha256(out, bytes, n);
}

/* UEFI_VARIABLE_DATA header and name; the caller appends the data. */
static int var_head(buf *o, const uint8_t guid[16], const char *name,
		    size_t data_len)
{
	int rc;

	if ((rc = buf_put(o, guid, 16)) < 0 ||
	    (rc = buf_le(o, strlen(name), 8)) < 0 ||
	    (rc = buf_le(o, data_len, 8)) < 0)
		return rc;
	return buf_utf16(o, name, 0, 0);
}

static int var_event(sim *s, uint32_t pcr, uint32_t type,
		     const uint8_t guid[16], const char *name, const buf *val)
{
	buf d = { 0 };
	uint8_t dg[SHA256_LEN];
	int rc;

	if ((rc = var_head(&d, guid, name, val->len)) < 0 ||
	    (rc = buf_put(&d, val->b, val->len)) < 0)
		goto cleanup;
	/* EDK2: boot variables are measured over their data only. */
	if (type == TPA_EV_EFI_VARIABLE_BOOT)
		rc = sha256(dg, val->b, val->len);
	else
		rc = sha256(dg, d.b, d.len);
	if (rc < 0)
		goto cleanup;
	rc = ev_add(s, pcr, type, dg, &d, 1);
cleanup:
	buf_free(&d);
	return rc;
}

/* ---- certificates ---- */

/* A self-signed Ed25519 CA certificate (DER) whose key derives from cn:
 * the same name gives the same bytes on every run. */
static int cert_make(buf *out, const char *cn)
{
	static const char tag[] = "tpa-bootsim certificate key\n";
	uint8_t seed[SHA256_LEN], ser[SHA256_LEN];
	char mat[sizeof(tag) + STR_MAX];
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	X509_EXTENSION *ext = NULL;
	X509V3_CTX ctx;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	unsigned char *der = NULL;
	size_t n = strlen(cn);
	int len, rc = TPA_ERR_CRYPTO, i;
	static const struct { int nid; const char *val; } exts[] = {
		{ NID_basic_constraints, "critical,CA:TRUE" },
		{ NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign" },
		{ NID_subject_key_identifier, "hash" },
	};

	if (n > STR_MAX)
		return tpa_err_fail(TPA_ERR_LIMIT, "certificate name too long");
	memcpy(mat, tag, sizeof(tag) - 1);
	memcpy(mat + sizeof(tag) - 1, cn, n);
	if ((rc = sha256(seed, mat, sizeof(tag) - 1 + n)) < 0 ||
	    (rc = sha256(ser, seed, sizeof(seed))) < 0)
		goto cleanup;
	rc = TPA_ERR_CRYPTO;
	ser[0] &= 0x7f;
	ser[0] |= 0x40;
	if (!(key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
						 sizeof(seed))) ||
	    !(x = X509_new()) || !X509_set_version(x, 2) ||
	    !(bn = BN_bin2bn(ser, 16, NULL)) ||
	    !(serial = BN_to_ASN1_INTEGER(bn, NULL)) ||
	    !X509_set_serialNumber(x, serial) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)CERT_NOT_BEFORE) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)CERT_NOT_AFTER) ||
	    !(name = X509_get_subject_name(x)) ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
					(const unsigned char *)"tpm-attest simulator",
					-1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key)) {
		tpa_err_set("cannot build the certificate for '%s'", cn);
		goto cleanup;
	}
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	for (i = 0; i < (int)(sizeof(exts) / sizeof(exts[0])); i++) {
		ext = X509V3_EXT_nconf_nid(NULL, &ctx, exts[i].nid, exts[i].val);
		if (!ext || !X509_add_ext(x, ext, -1)) {
			tpa_err_set("cannot add an extension to '%s'", cn);
			goto cleanup;
		}
		X509_EXTENSION_free(ext);
		ext = NULL;
	}
	if (X509_sign(x, key, NULL) <= 0 || (len = i2d_X509(x, &der)) <= 0) {
		tpa_err_set("cannot sign the certificate for '%s'", cn);
		goto cleanup;
	}
	rc = buf_put(out, der, (size_t)len);
cleanup:
	OPENSSL_free(der);
	X509_EXTENSION_free(ext);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/* A path named in the scenario, relative to its directory. */
static int scenario_path(char *out, size_t cap, const sim *s, const char *name, const char *key)
{
	const char *slash = strrchr(s->file, '/');
	int n;

	if (name[0] == '/' || !slash)
		n = snprintf(out, cap, "%s", name);
	else
		n = snprintf(out, cap, "%.*s/%s", (int)(slash - s->file), s->file, name);
	if (n < 0 || (size_t)n >= cap)
		return bad(s, key, "the path is too long");
	return 0;
}

/* The certificate a name stands for: "file:PATH", a real DER certificate
 * (at most 64 KiB, relative to the scenario), or a CN, made by cert_make. */
static int cert_of(buf *out, const sim *s, const char *name, const char *key)
{
	char path[4096];
	uint8_t b[65537];
	size_t n;
	FILE *f;
	int rc;

	if (strncmp(name, "file:", 5) != 0)
		return cert_make(out, name);
	if ((rc = scenario_path(path, sizeof(path), s, name + 5, key)) < 0)
		return rc;
	if (!(f = fopen(path, "rb")))
		return bad(s, key, "cannot open the certificate file");
	n = fread(b, 1, sizeof(b), f);
	fclose(f);
	if (n == 0 || n == sizeof(b))
		return bad(s, key, "the certificate file is empty or over 64 KiB");
	return buf_put(out, b, n);
}

/* One EFI_SIGNATURE_LIST of EFI_CERT_X509 per name in arr. */
static int siglists_x509(buf *o, const sim *s, json_t *arr, const char *path)
{
	buf cert = { 0 };
	const char *cn;
	size_t i;
	int rc = 0;

	for (i = 0; arr && i < json_array_size(arr); i++) {
		if ((rc = get_elem_str(&cn, s, arr, path, i)) < 0 ||
		    (rc = cert_of(&cert, s, cn, path)) < 0 ||
		    (rc = buf_put(o, GUID_CERT_X509, 16)) < 0 ||
		    (rc = buf_le(o, 28 + 16 + cert.len, 4)) < 0 ||
		    (rc = buf_le(o, 0, 4)) < 0 ||
		    (rc = buf_le(o, 16 + cert.len, 4)) < 0 ||
		    (rc = buf_put(o, s->owner, 16)) < 0 ||
		    (rc = buf_put(o, cert.b, cert.len)) < 0)
			goto cleanup;
		buf_free(&cert);
	}
cleanup:
	buf_free(&cert);
	return rc;
}

/* "sha256:HEX" as its 32 bytes: 1, 0 if name is not one, <0 malformed. */
static int named_digest(uint8_t out[SHA256_LEN], const sim *s, const char *name, const char *key)
{
	size_t i;

	if (strncmp(name, "sha256:", 7) != 0)
		return 0;
	if (strlen(name + 7) != 2 * SHA256_LEN)
		return bad(s, key, "\"sha256:\" takes 64 hex digits");
	for (i = 0; i < SHA256_LEN; i++) {
		int hi = tpa_hex_digit(name[7 + 2 * i]), lo = tpa_hex_digit(name[8 + 2 * i]);

		if (hi < 0 || lo < 0)
			return bad(s, key, "\"sha256:\" takes 64 hex digits");
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 1;
}

static int newest_first(const void *a, const void *b)
{
	return -strcmp((*(const tpa_sbref_image *const *)a)->added,
		       (*(const tpa_sbref_image *const *)b)->added);
}

/* keys.dbx_ref {"bundle": PATH, "arch": "x64", "drop_newest": N}: the
 * bundle's revocations of arch not marked optional, but its N newest (a dbx
 * of some time ago), and its SVN entries, appended to *hashes (malloc'd, *n
 * of them). */
static int dbx_ref(uint8_t (**hashes)[SHA256_LEN], size_t *n, const sim *s, json_t *keys)
{
	static const char *const ref_keys[] = { "bundle", "arch", "drop_newest", NULL };
	json_t *r = json_object_get(keys, "dbx_ref");
	const tpa_sbref_image **req = NULL;
	tpa_sbref *ref = NULL;
	const char *bundle, *arch;
	uint64_t drop;
	char path[4096];
	size_t i, k = 0;
	tpa_sb_arch a;
	int rc;

	*hashes = NULL;
	*n = 0;
	if (!r)
		return 0;
	if ((rc = check_keys(s, r, "keys.dbx_ref", ref_keys)) < 0 ||
	    (rc = get_str(&bundle, s, r, "keys.dbx_ref", "bundle", 1)) < 0 ||
	    (rc = get_str(&arch, s, r, "keys.dbx_ref", "arch", 1)) < 0 ||
	    (rc = get_uint(&drop, s, r, "keys.dbx_ref", "drop_newest", TPA_SBREF_IMAGES_MAX)) < 0 ||
	    (rc = scenario_path(path, sizeof(path), s, bundle, "keys.dbx_ref.bundle")) < 0)
		return rc;
	if ((a = tpa_sb_arch_from_name(arch)) == TPA_SB_ARCH_COUNT)
		return bad(s, "keys.dbx_ref.arch", "x64, ia32, aarch64 or arm");
	if (tpa_sbref_load(&ref, path) < 0) {
		char why[512];

		snprintf(why, sizeof(why), "%s", tpa_err_last());
		return bad(s, "keys.dbx_ref.bundle", why);
	}
	rc = tpa_err_fail(TPA_ERR_NOMEM, "out of memory");
	if ((ref->nimages[a] && !(req = calloc(ref->nimages[a], sizeof(*req)))) ||
	    (ref->nimages[a] + ref->nsvns &&
	     !(*hashes = calloc(ref->nimages[a] + ref->nsvns, SHA256_LEN))))
		goto cleanup;
	for (i = 0; i < ref->nimages[a]; i++)
		if (!ref->images[a][i].optional)
			req[k++] = &ref->images[a][i];
	qsort(req, k, sizeof(*req), newest_first);
	for (i = (size_t)drop; i < k; i++)
		memcpy((*hashes)[(*n)++], req[i]->sha256, SHA256_LEN);
	for (i = 0; i < ref->nsvns; i++)
		memcpy((*hashes)[(*n)++], ref->svns[i].value, SHA256_LEN);
	rc = 0;
cleanup:
	free(req);
	tpa_sbref_free(ref);
	return rc;
}

/* One EFI_SIGNATURE_LIST of EFI_CERT_SHA256 with the images' digests (or
 * the "sha256:HEX" digests named), then the n more of extra. */
static int siglist_sha256(buf *o, const sim *s, json_t *arr, const char *path,
			  const uint8_t (*extra)[SHA256_LEN], size_t nextra)
{
	uint8_t dg[SHA256_LEN];
	const char *img;
	size_t i, n = (arr ? json_array_size(arr) : 0) + nextra;
	int rc = 0;

	if (n == 0)
		return 0;
	if ((rc = buf_put(o, GUID_CERT_SHA256, 16)) < 0 ||
	    (rc = buf_le(o, 28 + n * (16 + SHA256_LEN), 4)) < 0 ||
	    (rc = buf_le(o, 0, 4)) < 0 ||
	    (rc = buf_le(o, 16 + SHA256_LEN, 4)) < 0)
		return rc;
	for (i = 0; i < n - nextra && rc == 0; i++) {
		if ((rc = get_elem_str(&img, s, arr, path, i)) < 0 ||
		    (rc = named_digest(dg, s, img, path)) < 0 ||
		    (rc == 0 && (rc = image_digest(dg, s, img)) < 0) ||
		    (rc = buf_put(o, s->owner, 16)) < 0)
			break;
		rc = buf_put(o, dg, sizeof(dg));
	}
	for (i = 0; i < nextra && rc == 0; i++)
		if ((rc = buf_put(o, s->owner, 16)) == 0)
			rc = buf_put(o, extra[i], SHA256_LEN);
	return rc;
}

/* ---- device paths ---- */

/* PciRoot(0x0)/Pci(0x4,0x0)/HD(part,GPT,guid,start,size)/File(path)/End */
static int devpath(buf *o, const sim *s, int root, const char *path)
{
	size_t plen = 2 * (strlen(path) + 1);
	int rc;

	if (plen + 4 > 0xffff)
		return tpa_err_fail(TPA_ERR_LIMIT, "device path too long");
	if ((rc = buf_put(o, "\x02\x01\x0c\x00\xd0\x41\x03\x0a\x00\x00\x00\x00", 12)) < 0 ||
	    (rc = buf_put(o, "\x01\x01\x06\x00\x00\x04", 6)) < 0 ||
	    (rc = buf_put(o, "\x04\x01\x2a\x00", 4)) < 0 ||
	    (rc = buf_le(o, root ? 2 : 1, 4)) < 0 ||
	    (rc = buf_le(o, root ? ESP_START + ESP_SIZE : ESP_START, 8)) < 0 ||
	    (rc = buf_le(o, root ? ROOT_SIZE : ESP_SIZE, 8)) < 0 ||
	    (rc = buf_put(o, root ? s->root_guid : s->esp_guid, 16)) < 0 ||
	    (rc = buf_put(o, "\x02\x02", 2)) < 0 ||
	    (rc = buf_put(o, "\x04\x04", 2)) < 0 ||
	    (rc = buf_le(o, plen + 4, 2)) < 0 ||
	    (rc = buf_utf16(o, path, 1, 1)) < 0)
		return rc;
	return buf_put(o, "\x7f\xff\x04\x00", 4);
}

/* ---- the boot, phase by phase ---- */

static int phase_firmware(sim *s)
{
	static const char *const fw_keys[] = { "version", "volumes", NULL };
	static const char *const vol_keys[] = { "description", "base", "length",
						 "image", NULL };
	json_t *fw = json_object_get(s->root, "firmware"), *vols, *v;
	const char *ver, *desc, *img;
	char path[KEY_MAX];
	uint8_t dg[SHA256_LEN];
	uint64_t base, length;
	buf d = { 0 };
	size_t i;
	int rc;

	if (!fw)
		return bad(s, "firmware", "missing");
	if ((rc = check_keys(s, fw, "firmware", fw_keys)) < 0 ||
	    (rc = get_str(&ver, s, fw, "firmware", "version", 1)) < 0 ||
	    (rc = get_array(&vols, s, fw, "firmware", "volumes", 0)) < 0 ||
	    (rc = buf_utf16(&d, ver, 1, 0)) < 0 ||
	    (rc = ev_add_self(s, 0, TPA_EV_S_CRTM_VERSION, &d)) < 0)
		goto cleanup;
	for (i = 0; vols && i < json_array_size(vols); i++) {
		v = json_array_get(vols, i);
		keyf(path, "firmware.volumes[%zu]", i);
		if ((rc = check_keys(s, v, path, vol_keys)) < 0 ||
		    (rc = get_str(&desc, s, v, path, "description", 1)) < 0 ||
		    (rc = get_str(&img, s, v, path, "image", 1)) < 0 ||
		    (rc = get_uint(&base, s, v, path, "base", UINT64_MAX >> 1)) < 0 ||
		    (rc = get_uint(&length, s, v, path, "length", UINT32_MAX)) < 0)
			goto cleanup;
		if (strlen(desc) > 255) {
			rc = bad(s, path, "description over 255 bytes");
			goto cleanup;
		}
		if ((rc = buf_le(&d, strlen(desc), 1)) < 0 ||
		    (rc = buf_put(&d, desc, strlen(desc))) < 0 ||
		    (rc = buf_le(&d, base, 8)) < 0 || (rc = buf_le(&d, length, 8)) < 0 ||
		    (rc = image_digest(dg, s, img)) < 0 ||
		    (rc = ev_add(s, 0, TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB2, dg, &d, 1)) < 0)
			goto cleanup;
	}
cleanup:
	buf_free(&d);
	return rc;
}

static int phase_secure_boot(sim *s)
{
	static const char *const keys_keys[] = { "owner", "pk", "kek", "db", "dbx",
						 "dbx_ref", "dbx_certs", "vendor", NULL };
	static const struct { const char *k, *var; int global; } vars[] = {
		{ "pk", "PK", 1 }, { "kek", "KEK", 1 }, { "db", "db", 0 },
		{ "dbx", "dbx", 0 },
	};
	json_t *keys = json_object_get(s->root, "keys"), *sb, *arr;
	json_t *empty = json_object(), *certs;
	uint8_t (*extra)[SHA256_LEN] = NULL;
	char path[KEY_MAX];
	buf val = { 0 };
	size_t i, nextra = 0;
	uint8_t on;
	int rc;

	if (!empty)
		return tpa_err_fail(TPA_ERR_NOMEM, "out of memory");
	if (!keys)
		keys = empty;
	sb = json_object_get(s->root, "secure_boot");
	if (!json_is_boolean(sb)) {
		rc = bad(s, "secure_boot", sb ? "expected true or false" : "missing");
		goto cleanup;
	}
	s->secure_boot = json_is_true(sb);
	on = s->secure_boot ? 1 : 0;
	if ((rc = check_keys(s, keys, "keys", keys_keys)) < 0 ||
	    (rc = get_guid(s->owner, s, keys, "keys", "owner", DEFAULT_OWNER)) < 0 ||
	    (rc = get_str(&s->vendor, s, keys, "keys", "vendor", 0)) < 0 ||
	    (rc = get_array(&s->db, s, keys, "keys", "db", 0)) < 0 ||
	    (rc = buf_put(&val, &on, 1)) < 0 ||
	    (rc = var_event(s, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, GUID_GLOBAL,
			    "SecureBoot", &val)) < 0)
		goto cleanup;
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		val.len = 0;
		keyf(path, "keys.%s", vars[i].k);
		if ((rc = get_array(&arr, s, keys, "keys", vars[i].k, 0)) < 0)
			goto cleanup;
		if (strcmp(vars[i].k, "dbx") == 0) {
			/* dbx: revoked certificates (keys.dbx_certs), then hashes. */
			if ((rc = get_array(&certs, s, keys, "keys", "dbx_certs", 0)) < 0 ||
			    (rc = siglists_x509(&val, s, certs, "keys.dbx_certs")) < 0 ||
			    (rc = dbx_ref(&extra, &nextra, s, keys)) < 0)
				goto cleanup;
			rc = siglist_sha256(&val, s, arr, path, (const uint8_t (*)[SHA256_LEN])extra,
					    nextra);
		} else {
			rc = siglists_x509(&val, s, arr, path);
		}
		if (rc < 0 ||
		    (rc = var_event(s, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG,
				    vars[i].global ? GUID_GLOBAL : GUID_IMAGE_SECURITY_DB,
				    vars[i].var, &val)) < 0)
			goto cleanup;
	}
	rc = ev_separator(s, 7);
cleanup:
	free(extra);
	buf_free(&val);
	json_decref(empty);
	return rc;
}

static int phase_boot_vars(sim *s)
{
	static const char *const ent_keys[] = { "number", "description", "path", NULL };
	json_t *order, *ents, *e = NULL;
	char path[KEY_MAX], var[16];
	const char *desc, *fpath;
	uint64_t num, want;
	buf val = { 0 }, dp = { 0 };
	size_t i, j;
	int rc;

	if ((rc = get_array(&order, s, s->root, "", "boot_order", 1)) < 0 ||
	    (rc = get_array(&ents, s, s->root, "", "boot_entries", 1)) < 0)
		goto cleanup;
	for (i = 0; i < json_array_size(order); i++) {
		json_t *o = json_array_get(order, i);

		keyf(path, "boot_order[%zu]", i);
		if (!json_is_integer(o) || json_integer_value(o) < 0 ||
		    json_integer_value(o) > 0xffff) {
			rc = bad(s, path, "expected a number 0-65535");
			goto cleanup;
		}
		if ((rc = buf_le(&val, (uint64_t)json_integer_value(o), 2)) < 0)
			goto cleanup;
	}
	if ((rc = var_event(s, 1, TPA_EV_EFI_VARIABLE_BOOT, GUID_GLOBAL, "BootOrder",
			    &val)) < 0)
		goto cleanup;
	for (i = 0; i < json_array_size(order); i++) {
		want = (uint64_t)json_integer_value(json_array_get(order, i));
		for (j = 0; j < json_array_size(ents); j++) {
			e = json_array_get(ents, j);
			keyf(path, "boot_entries[%zu]", j);
			if ((rc = check_keys(s, e, path, ent_keys)) < 0 ||
			    (rc = get_uint(&num, s, e, path, "number", 0xffff)) < 0)
				goto cleanup;
			if (num == want)
				break;
		}
		if (j == json_array_size(ents)) {
			keyf(path, "boot_order[%zu]", i);
			rc = bad(s, path, "no boot entry with that number");
			goto cleanup;
		}
		if ((rc = get_str(&desc, s, e, path, "description", 1)) < 0 ||
		    (rc = get_str(&fpath, s, e, path, "path", 1)) < 0)
			goto cleanup;
		val.len = dp.len = 0;
		if ((rc = devpath(&dp, s, 0, fpath)) < 0 ||
		    (rc = buf_le(&val, 1, 4)) < 0 ||      /* LOAD_OPTION_ACTIVE */
		    (rc = buf_le(&val, dp.len, 2)) < 0 ||
		    (rc = buf_utf16(&val, desc, 1, 0)) < 0 ||
		    (rc = buf_put(&val, dp.b, dp.len)) < 0)
			goto cleanup;
		snprintf(var, sizeof(var), "Boot%04X", (unsigned)want);
		if ((rc = var_event(s, 1, TPA_EV_EFI_VARIABLE_BOOT, GUID_GLOBAL, var,
				    &val)) < 0)
			goto cleanup;
	}
cleanup:
	buf_free(&val);
	buf_free(&dp);
	return rc;
}

/* shim's PCR 14 EV_IPL events, once, as it starts (before it verifies
 * what it loads): MokList and MokListX (empty lists here), and MokSBState
 * only when validation is off (shim measures it when the variable is set). */
static int shim_measure(sim *s)
{
	static const char *const keys[] = { "mok_validation", NULL };
	static const char *const lists[] = { "MokList", "MokListX" };
	json_t *v;
	uint8_t d[SHA256_LEN], one = 1;
	size_t i;
	int rc;

	if (!s->shim || s->shim_measured)
		return 0;
	s->shim_measured = 1;
	if ((rc = check_keys(s, s->shim, "shim", keys)) < 0)
		return rc;
	v = json_object_get(s->shim, "mok_validation");
	if (v && !json_is_boolean(v))
		return bad(s, "shim.mok_validation", "expected true or false");
	for (i = 0; i < 2; i++) {
		buf data = { 0 };

		if ((rc = buf_put(&data, lists[i], strlen(lists[i]) + 1)) < 0 ||
		    (rc = sha256(d, "", 0)) < 0 || (rc = ev_add(s, 14, TPA_EV_IPL, d, &data, 1)) < 0) {
			buf_free(&data);
			return rc;
		}
	}
	if (v && json_is_false(v)) {
		buf data = { 0 };

		if ((rc = buf_put(&data, "MokSBState", 11)) < 0 || (rc = sha256(d, &one, 1)) < 0 ||
		    (rc = ev_add(s, 14, TPA_EV_IPL, d, &data, 1)) < 0) {
			buf_free(&data);
			return rc;
		}
	}
	return 0;
}

/* With Secure Boot on, the certificate that verified an image, once. */
static int authority(sim *s, const char *auth, const char *key)
{
	const char *cn = NULL;
	buf val = { 0 };
	size_t i, n = s->db ? json_array_size(s->db) : 0;
	int rc = 0;

	if (!auth || !s->secure_boot)
		goto cleanup;
	if (strcmp(auth, "vendor") == 0) {
		if (!s->vendor) {
			rc = bad(s, key, "\"vendor\" but keys.vendor is not set");
			goto cleanup;
		}
		if ((rc = shim_measure(s)) < 0)
			goto cleanup;
		if (s->authorities_done & (1u << 31))
			goto cleanup;
		s->authorities_done |= 1u << 31;
		/* shim logs its vendor certificate as the "Shim" variable. */
		if ((rc = cert_make(&val, s->vendor)) == 0)
			rc = var_event(s, 7, TPA_EV_EFI_VARIABLE_AUTHORITY,
				       GUID_SHIM_LOCK, "Shim", &val);
		goto cleanup;
	}
	if (strncmp(auth, "db:", 3) != 0) {
		rc = bad(s, key, "expected \"db:CN\" or \"vendor\"");
		goto cleanup;
	}
	for (i = 0; i < n && i < 31; i++) {
		cn = json_string_value(json_array_get(s->db, i));
		if (cn && strcmp(cn, auth + 3) == 0)
			break;
	}
	if (i >= n || i >= 31) {
		rc = bad(s, key, "no such certificate in keys.db");
		goto cleanup;
	}
	if (s->authorities_done & (1u << i))
		goto cleanup;
	s->authorities_done |= 1u << i;
	/* EDK2 logs the EFI_SIGNATURE_DATA of db that verified the image. */
	if ((rc = buf_put(&val, s->owner, 16)) < 0 ||
	    (rc = cert_of(&val, s, auth + 3, key)) < 0)
		goto cleanup;
	rc = var_event(s, 7, TPA_EV_EFI_VARIABLE_AUTHORITY, GUID_IMAGE_SECURITY_DB,
		       "db", &val);
cleanup:
	buf_free(&val);
	return rc;
}

/* UEFI_IMAGE_LOAD_EVENT of a pretend image. */
/* An EFI application event; dg_file: its digest from a real image file,
 * else that of the pretend image img. */
static int app_event(sim *s, const char *img, const char *fpath, int root,
		     uint64_t slot, const uint8_t *dg_file)
{
	uint8_t dg[SHA256_LEN];
	buf d = { 0 }, dp = { 0 };
	int rc;

	if ((rc = devpath(&dp, s, root, fpath)) < 0 ||
	    (rc = buf_le(&d, 0x7d000000u - slot * 0x01000000u, 8)) < 0 ||
	    (rc = buf_le(&d, 0x000f0000u + 0x1000u * strlen(img), 8)) < 0 ||
	    (rc = buf_le(&d, 0, 8)) < 0 ||
	    (rc = buf_le(&d, dp.len, 8)) < 0 ||
	    (rc = buf_put(&d, dp.b, dp.len)) < 0 ||
	    (!dg_file && (rc = image_digest(dg, s, img)) < 0))
		goto cleanup;
	rc = ev_add(s, 4, TPA_EV_EFI_BOOT_SERVICES_APPLICATION, dg_file ? dg_file : dg, &d, 1);
cleanup:
	buf_free(&d);
	buf_free(&dp);
	return rc;
}

static int phase_applications(sim *s)
{
	static const char *const app_keys[] = { "image", "path", "authority", "digest", NULL };
	json_t *apps, *a;
	const char *img, *fpath, *auth, *dgs;
	uint8_t dg[SHA256_LEN];
	char path[KEY_MAX], key[KEY_MAX];
	size_t i;
	int rc;

	if ((rc = get_array(&apps, s, s->root, "", "applications", 1)) < 0)
		return rc;
	for (i = 0; i < json_array_size(apps); i++) {
		a = json_array_get(apps, i);
		keyf(path, "applications[%zu]", i);
		keyf(key, "%s.authority", path);
		if ((rc = check_keys(s, a, path, app_keys)) < 0 ||
		    (rc = get_str(&img, s, a, path, "image", 1)) < 0 ||
		    (rc = get_str(&fpath, s, a, path, "path", 1)) < 0 ||
		    (rc = get_str(&auth, s, a, path, "authority", 0)) < 0 ||
		    (rc = get_str(&dgs, s, a, path, "digest", 0)) < 0)
			return rc;
		keyf(key, "%s.digest", path);
		if (dgs && (rc = named_digest(dg, s, dgs, key)) <= 0)
			return rc < 0 ? rc : bad(s, key, "expected \"sha256:HEX\"");
		keyf(key, "%s.authority", path);
		if ((rc = authority(s, auth, key)) < 0 ||
		    (rc = app_event(s, img, fpath, 0, i, dgs ? dg : NULL)) < 0)
			return rc;
	}
	return 0;
}

/* EV_IPL on PCR 8 the way GRUB measures strings: the data is "prefix: text"
 * with a NUL, the digest covers the text only. */
static int grub_string(sim *s, const char *prefix, const char *a,
		       const char *b, const char *c)
{
	uint8_t dg[SHA256_LEN];
	buf d = { 0 };
	size_t skip = strlen(prefix) + 2;
	int rc;

	if ((rc = buf_put(&d, prefix, strlen(prefix))) < 0 ||
	    (rc = buf_put(&d, ": ", 2)) < 0 ||
	    (rc = buf_put(&d, a, strlen(a))) < 0 ||
	    (b && *b && ((rc = buf_put(&d, " ", 1)) < 0 ||
			 (rc = buf_put(&d, b, strlen(b))) < 0)) ||
	    (c && *c && ((rc = buf_put(&d, " ", 1)) < 0 ||
			 (rc = buf_put(&d, c, strlen(c))) < 0)) ||
	    (rc = sha256(dg, d.b + skip, d.len - skip)) < 0 ||
	    (rc = buf_put(&d, "", 1)) < 0)
		goto cleanup;
	rc = ev_add(s, 8, TPA_EV_IPL, dg, &d, 1);
cleanup:
	buf_free(&d);
	return rc;
}

/* EV_IPL on PCR 9: a file GRUB read, named by its path, digest of its bytes
 * (dg_file: of a real file's, else of the pretend image img's). */
static int grub_file(sim *s, const char *fpath, const char *img, const uint8_t *dg_file)
{
	uint8_t dg[SHA256_LEN];
	buf d = { 0 };
	int rc;

	if ((rc = buf_put(&d, fpath, strlen(fpath) + 1)) < 0 ||
	    (!dg_file && (rc = image_digest(dg, s, img)) < 0))
		goto cleanup;
	rc = ev_add(s, 9, TPA_EV_IPL, dg_file ? dg_file : dg, &d, 1);
cleanup:
	buf_free(&d);
	return rc;
}

/* A real file a scenario names (relative to the scenario's directory): its
 * SHA-256 (what GRUB measures of it) into fd and, with ac, its Authenticode
 * digest (what the firmware measures of a PE image it starts). */
static int scenario_file(sim *s, const char *name, const char *key, uint8_t *ac, uint8_t *fd)
{
	char path[4096];
	int rc;

	if (!name)
		return 0;
	if ((rc = scenario_path(path, sizeof(path), s, name, key)) < 0)
		return rc;
	if ((rc = tpa_authenticode_file(ac, fd, TPM2_ALG_SHA256, path)) < 0) {
		char why[512];

		snprintf(why, sizeof(why), "%s", tpa_err_last());
		return tpa_err_fail(rc, "%s: key '%s': %s", s->file, key, why);
	}
	return 0;
}

static int phase_grub_kernel(sim *s)
{
	static const char *const grub_keys[] = { "files", "commands", NULL };
	static const char *const file_keys[] = { "path", "image", NULL };
	static const char *const k_keys[] = { "image", "path", "cmdline", "initrd",
					      "initrd_image", "authority", "command", "image_file",
					      "initrd_file", NULL };
	/* GRUB's kernel commands and the initrd command that goes with each. */
	static const char *const kcmds[][2] = {
		{ "linux", "initrd" }, { "linuxefi", "initrdefi" }, { "linux16", "initrd16" },
	};
	json_t *grub = json_object_get(s->root, "grub"), *k, *files, *cmds;
	json_t *empty = json_object();
	const char *fpath, *img, *cmd, *kimg, *kpath, *cmdline, *iimg, *ipath, *auth, *kcmd;
	const char *iimg_cmd, *kfile, *ifile;
	uint8_t kac[SHA256_LEN], kfd[SHA256_LEN], ifd[SHA256_LEN];
	char path[KEY_MAX];
	size_t i;
	int rc;

	if (!empty)
		return tpa_err_fail(TPA_ERR_NOMEM, "out of memory");
	if (!grub)
		grub = empty;
	k = json_object_get(s->root, "kernel");
	if (!k) {
		rc = bad(s, "kernel", "missing");
		goto cleanup;
	}
	if ((rc = check_keys(s, grub, "grub", grub_keys)) < 0 ||
	    (rc = get_array(&files, s, grub, "grub", "files", 0)) < 0 ||
	    (rc = get_array(&cmds, s, grub, "grub", "commands", 0)) < 0 ||
	    (rc = check_keys(s, k, "kernel", k_keys)) < 0 ||
	    (rc = get_str(&kimg, s, k, "kernel", "image", 1)) < 0 ||
	    (rc = get_str(&kpath, s, k, "kernel", "path", 1)) < 0 ||
	    (rc = get_str(&cmdline, s, k, "kernel", "cmdline", 1)) < 0 ||
	    (rc = get_str(&iimg, s, k, "kernel", "initrd_image", 0)) < 0 ||
	    (rc = get_str(&ipath, s, k, "kernel", "initrd", 0)) < 0 ||
	    (rc = get_str(&auth, s, k, "kernel", "authority", 0)) < 0 ||
	    (rc = get_str(&kcmd, s, k, "kernel", "command", 0)) < 0 ||
	    (rc = get_str(&kfile, s, k, "kernel", "image_file", 0)) < 0 ||
	    (rc = get_str(&ifile, s, k, "kernel", "initrd_file", 0)) < 0)
		goto cleanup;
	if (ifile && !ipath) {
		rc = bad(s, "kernel.initrd_file", "needs initrd (its path)");
		goto cleanup;
	}
	for (i = 0; kcmd && i < sizeof(kcmds) / sizeof(kcmds[0]); i++)
		if (strcmp(kcmd, kcmds[i][0]) == 0)
			break;
	if (!kcmd) {
		i = 0;
	} else if (i == sizeof(kcmds) / sizeof(kcmds[0])) {
		rc = bad(s, "kernel.command", "not linux, linuxefi or linux16");
		goto cleanup;
	}
	kcmd = kcmds[i][0];
	iimg_cmd = kcmds[i][1];
	if (!iimg != !ipath) {
		rc = bad(s, "kernel.initrd", "initrd and initrd_image go together");
		goto cleanup;
	}
	for (i = 0; files && i < json_array_size(files); i++) {
		json_t *f = json_array_get(files, i);

		keyf(path, "grub.files[%zu]", i);
		if ((rc = check_keys(s, f, path, file_keys)) < 0 ||
		    (rc = get_str(&fpath, s, f, path, "path", 1)) < 0 ||
		    (rc = get_str(&img, s, f, path, "image", 1)) < 0 ||
		    (rc = grub_file(s, fpath, img, NULL)) < 0)
			goto cleanup;
	}
	for (i = 0; cmds && i < json_array_size(cmds); i++) {
		if ((rc = get_elem_str(&cmd, s, cmds, "grub.commands", i)) < 0 ||
		    (rc = grub_string(s, "grub_cmd", cmd, NULL, NULL)) < 0)
			goto cleanup;
	}
	if ((rc = scenario_file(s, kfile, "kernel.image_file", kac, kfd)) < 0 ||
	    (rc = scenario_file(s, ifile, "kernel.initrd_file", NULL, ifd)) < 0)
		goto cleanup;
	if ((rc = grub_string(s, "grub_cmd", kcmd, kpath, cmdline)) < 0 ||
	    (rc = grub_file(s, kpath, kimg, kfile ? kfd : NULL)) < 0 ||
	    (rc = grub_string(s, "kernel_cmdline", kpath, cmdline, NULL)) < 0)
		goto cleanup;
	if (ipath && ((rc = grub_string(s, "grub_cmd", iimg_cmd, ipath, NULL)) < 0 ||
		      (rc = grub_file(s, ipath, iimg, ifile ? ifd : NULL)) < 0))
		goto cleanup;
	if ((rc = authority(s, auth, "kernel.authority")) < 0 ||
	    (rc = app_event(s, kimg, kpath, 1, 8, kfile ? kac : NULL)) < 0)
		goto cleanup;
cleanup:
	json_decref(empty);
	return rc;
}

static int phase_faults(sim *s, json_t *faults)
{
	static const char *const un_keys[] = { "pcr", "text", "image", NULL };
	json_t *un;
	const char *text, *img;
	char path[KEY_MAX];
	uint8_t dg[SHA256_LEN];
	uint64_t pcr;
	buf d = { 0 };
	size_t i;
	int rc;

	if ((rc = get_array(&un, s, faults, "faults", "unlogged", 0)) < 0)
		return rc;
	for (i = 0; un && i < json_array_size(un); i++) {
		json_t *u = json_array_get(un, i);

		keyf(path, "faults.unlogged[%zu]", i);
		if ((rc = check_keys(s, u, path, un_keys)) < 0 ||
		    (rc = get_uint(&pcr, s, u, path, "pcr", 23)) < 0 ||
		    (rc = get_str(&text, s, u, path, "text", 1)) < 0 ||
		    (rc = get_str(&img, s, u, path, "image", 0)) < 0)
			goto cleanup;
		if (pcr >= 17 && pcr <= 22) {
			rc = bad(s, path, "pcr 17-22 need another locality");
			goto cleanup;
		}
		if ((rc = buf_put(&d, text, strlen(text) + 1)) < 0 ||
		    (rc = img ? image_digest(dg, s, img)
			      : sha256(dg, text, strlen(text))) < 0 ||
		    (rc = ev_add(s, (uint32_t)pcr, TPA_EV_IPL, dg, &d, 0)) < 0)
			goto cleanup;
	}
cleanup:
	buf_free(&d);
	return rc;
}

/* faults.log_edit: edits the data of one logged event (digest unchanged). */
static int apply_log_edit(sim *s, json_t *faults)
{
	static const char *const edit_keys[] = { "pcr", "find", "replace", NULL };
	json_t *ed = json_object_get(faults, "log_edit");
	const char *find, *repl;
	uint64_t pcr;
	buf nd = { 0 };
	event *e = NULL;
	size_t i, j = 0, fl;
	int rc;

	if (!ed)
		return 0;
	if ((rc = check_keys(s, ed, "faults.log_edit", edit_keys)) < 0 ||
	    (rc = get_uint(&pcr, s, ed, "faults.log_edit", "pcr", 23)) < 0 ||
	    (rc = get_str(&find, s, ed, "faults.log_edit", "find", 1)) < 0 ||
	    (rc = get_str(&repl, s, ed, "faults.log_edit", "replace", 1)) < 0)
		goto cleanup;
	fl = strlen(find);
	if (fl == 0) {
		rc = bad(s, "faults.log_edit.find", "empty");
		goto cleanup;
	}
	for (i = 0; i < s->nev && !e; i++) {
		if (!s->ev[i].logged || s->ev[i].pcr != pcr)
			continue;
		for (j = 0; j + fl <= s->ev[i].data.len; j++)
			if (memcmp(s->ev[i].data.b + j, find, fl) == 0) {
				e = &s->ev[i];
				break;
			}
	}
	if (!e) {
		rc = bad(s, "faults.log_edit.find",
			 "no logged event on that PCR contains it");
		goto cleanup;
	}
	if ((rc = buf_put(&nd, e->data.b, j)) < 0 ||
	    (rc = buf_put(&nd, repl, strlen(repl))) < 0 ||
	    (rc = buf_put(&nd, e->data.b + j + fl, e->data.len - j - fl)) < 0)
		goto cleanup;
	buf_free(&e->data);
	e->data = nd;                 /* the event takes the bytes */
	memset(&nd, 0, sizeof(nd));
cleanup:
	buf_free(&nd);
	return rc;
}

static int build(sim *s, json_t **faults_out)
{
	/* "expect" is the tests' (the verdict the boot should get); ignored. */
	static const char *const top_keys[] = {
		"description", "expect", "firmware", "secure_boot", "keys", "disk",
		"boot_entries", "boot_order", "applications", "grub", "kernel",
		"shim", "faults", NULL };
	static const char *const disk_keys[] = { "esp_guid", "root_guid", NULL };
	static const char *const fault_keys[] = { "tampered_images", "log_edit",
						  "truncate_last_event", "unlogged",
						  NULL };
	json_t *disk, *faults, *empty = json_object();
	const char *desc;
	int rc;
	uint32_t pcr;

	if (!empty)
		return tpa_err_fail(TPA_ERR_NOMEM, "out of memory");
	disk = json_object_get(s->root, "disk");
	faults = json_object_get(s->root, "faults");
	s->shim = json_object_get(s->root, "shim");
	if (s->shim && !json_is_object(s->shim)) {
		rc = bad(s, "shim", "expected an object");
		goto cleanup;
	}
	if (!disk)
		disk = empty;
	if (!faults)
		faults = empty;
	if ((rc = check_keys(s, s->root, "", top_keys)) < 0 ||
	    (rc = get_str(&desc, s, s->root, "", "description", 1)) < 0 ||
	    (rc = check_keys(s, disk, "disk", disk_keys)) < 0 ||
	    (rc = get_guid(s->esp_guid, s, disk, "disk", "esp_guid", DEFAULT_ESP)) < 0 ||
	    (rc = get_guid(s->root_guid, s, disk, "disk", "root_guid",
			   DEFAULT_ROOT)) < 0 ||
	    (rc = check_keys(s, faults, "faults", fault_keys)) < 0 ||
	    (rc = get_array(&s->tampered, s, faults, "faults", "tampered_images",
			    0)) < 0)
		goto cleanup;
	if (json_object_get(faults, "truncate_last_event") &&
	    !json_is_boolean(json_object_get(faults, "truncate_last_event"))) {
		rc = bad(s, "faults.truncate_last_event", "expected true or false");
		goto cleanup;
	}
	if ((rc = phase_firmware(s)) < 0 || (rc = phase_secure_boot(s)) < 0 ||
	    (rc = phase_boot_vars(s)) < 0 ||
	    (rc = ev_text(s, 4, TPA_EV_EFI_ACTION,
			  "Calling EFI Application from Boot Option")) < 0)
		goto cleanup;
	for (pcr = 0; pcr <= 6; pcr++)
		if ((rc = ev_separator(s, pcr)) < 0)
			goto cleanup;
	if ((rc = phase_applications(s)) < 0 || (rc = phase_grub_kernel(s)) < 0 ||
	    (rc = ev_text(s, 5, TPA_EV_EFI_ACTION, "Exit Boot Services Invocation")) < 0 ||
	    (rc = ev_text(s, 5, TPA_EV_EFI_ACTION,
			  "Exit Boot Services Returned with Success")) < 0 ||
	    (rc = apply_log_edit(s, faults)) < 0 || (rc = phase_faults(s, faults)) < 0)
		goto cleanup;
	*faults_out = faults == empty ? NULL : faults;
cleanup:
	json_decref(empty);
	return rc;
}

/* ---- output ---- */

static int serialize(buf *o, const sim *s, int truncate_last)
{
	static const char sig[16] = "Spec ID Event03";
	size_t i, last = 0;
	int rc;

	/* TCG_PCClientPCREvent (SHA1 format) with TCG_EfiSpecIDEvent. */
	if ((rc = buf_le(o, 0, 4)) < 0 || (rc = buf_le(o, TPA_EV_NO_ACTION, 4)) < 0 ||
	    (rc = buf_put(o, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20)) < 0 ||
	    (rc = buf_le(o, 16 + 4 + 4 + 4 + 4 + 1, 4)) < 0 ||
	    (rc = buf_put(o, sig, sizeof(sig))) < 0 ||
	    (rc = buf_le(o, 0, 4)) < 0 ||            /* platformClass: client */
	    (rc = buf_put(o, "\x00\x02\x00\x02", 4)) < 0 || /* 2.0, errata 0, uintn 2 */
	    (rc = buf_le(o, 1, 4)) < 0 ||            /* numberOfAlgorithms */
	    (rc = buf_le(o, TPM2_ALG_SHA256, 2)) < 0 ||
	    (rc = buf_le(o, SHA256_LEN, 2)) < 0 ||
	    (rc = buf_le(o, 0, 1)) < 0)              /* vendorInfoSize */
		return rc;
	for (i = 0; i < s->nev; i++) {
		const event *e = &s->ev[i];

		if (!e->logged)
			continue;
		last = o->len;
		if ((rc = buf_le(o, e->pcr, 4)) < 0 || (rc = buf_le(o, e->type, 4)) < 0 ||
		    (rc = buf_le(o, 1, 4)) < 0 ||
		    (rc = buf_le(o, TPM2_ALG_SHA256, 2)) < 0 ||
		    (rc = buf_put(o, e->digest, SHA256_LEN)) < 0 ||
		    (rc = buf_le(o, e->data.len, 4)) < 0 ||
		    (rc = buf_put(o, e->data.b, e->data.len)) < 0)
			return rc;
	}
	if (truncate_last && last)
		o->len = last + (o->len - last) / 2;
	return 0;
}

static int write_file(const char *path, const buf *o)
{
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (!f)
		return tpa_err_fail(TPA_ERR_IO, "cannot create %s", path);
	if (fwrite(o->b, 1, o->len, f) != o->len)
		rc = tpa_err_fail(TPA_ERR_IO, "cannot write %s", path);
	if (fclose(f) != 0 && rc == 0)
		rc = tpa_err_fail(TPA_ERR_IO, "cannot write %s", path);
	return rc;
}

/* Software replay of every extend (logged or not). */
static int expected_pcrs(uint8_t pcrs[TPA_PCR_COUNT][SHA256_LEN],
			 uint32_t *touched, const sim *s)
{
	uint8_t cat[2 * SHA256_LEN];
	size_t i;
	int rc;

	memset(pcrs, 0, TPA_PCR_COUNT * SHA256_LEN);
	*touched = 0;
	for (i = 0; i < s->nev; i++) {
		const event *e = &s->ev[i];

		memcpy(cat, pcrs[e->pcr], SHA256_LEN);
		memcpy(cat + SHA256_LEN, e->digest, SHA256_LEN);
		if ((rc = sha256(pcrs[e->pcr], cat, sizeof(cat))) < 0)
			return rc;
		*touched |= 1u << e->pcr;
	}
	return 0;
}

static int read_pcrs(tpa_pcr_set *set, tpa_tpm *t, uint32_t touched)
{
	static const uint8_t zero[SHA256_LEN];
	uint32_t i;
	int rc;

	memset(set, 0, sizeof(*set));
	if ((rc = tpa_pcr_set_add_bank(set, TPM2_ALG_SHA256)) < 0)
		return rc;
	for (i = 0; i < TPA_PCR_COUNT; i++)
		if ((touched & (1u << i)) &&
		    (rc = tpa_pcr_set_add(set, i, zero, sizeof(zero))) < 0)
			return rc;
	return tpa_tpm_pcr_read(t, set);
}

static int tpm_apply(const char *tcti, const sim *s,
		     uint8_t want[TPA_PCR_COUNT][SHA256_LEN], uint32_t touched)
{
	static const uint8_t zero[SHA256_LEN];
	tpa_pcr_set *set = calloc(1, sizeof(*set));
	tpa_tpm *t = NULL;
	uint32_t i;
	size_t k;
	int rc;

	if (!set)
		return tpa_err_fail(TPA_ERR_NOMEM, "out of memory");
	if ((rc = tpa_tpm_open(&t, tcti)) < 0 || (rc = read_pcrs(set, t, touched)) < 0)
		goto cleanup;
	for (i = 0; i < set->banks[0].count; i++)
		if (memcmp(set->banks[0].digest[i], zero, SHA256_LEN) != 0) {
			rc = tpa_err_fail(TPA_ERR_TPM, "PCR %u (sha256) is not in its "
					  "reset state: restart the TPM first",
					  set->banks[0].index[i]);
			goto cleanup;
		}
	for (k = 0; k < s->nev; k++)
		if ((rc = tpa_tpm_pcr_extend(t, s->ev[k].pcr, TPM2_ALG_SHA256,
					     s->ev[k].digest, SHA256_LEN)) < 0)
			goto cleanup;
	if ((rc = read_pcrs(set, t, touched)) < 0)
		goto cleanup;
	for (i = 0; i < set->banks[0].count; i++)
		if (memcmp(set->banks[0].digest[i], want[set->banks[0].index[i]],
			   SHA256_LEN) != 0) {
			rc = tpa_err_fail(TPA_ERR_TPM, "PCR %u (sha256) differs from the "
					  "expected value after the extends",
					  set->banks[0].index[i]);
			goto cleanup;
		}
cleanup:
	tpa_tpm_close(t);
	free(set);
	return rc;
}

static int exit_code(int rc)
{
	switch (rc) {
	case TPA_ERR_PARSE:
	case TPA_ERR_INVALID_ARG:
	case TPA_ERR_IO:
	case TPA_ERR_LIMIT:
		return EXIT_USAGE;
	case TPA_ERR_TPM:
		return EXIT_TPM;
	default:
		return EXIT_INTERNAL;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: tpa-bootsim --scenario FILE --log OUT [--tcti TCTI] "
		"[--print-pcrs]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "scenario", required_argument, NULL, 's' },
		{ "log", required_argument, NULL, 'l' },
		{ "tcti", required_argument, NULL, 't' },
		{ "print-pcrs", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *scenario = NULL, *out = NULL, *tcti = NULL;
	int print = 0, c, rc = 0, ret = 0;
	uint8_t (*pcrs)[SHA256_LEN] = NULL;
	char hex[2 * SHA256_LEN + 1];
	json_t *faults = NULL;
	json_error_t jerr;
	sim s = { 0 };
	buf log = { 0 };
	uint32_t touched = 0, i;
	size_t k;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': scenario = optarg; break;
		case 'l': out = optarg; break;
		case 't': tcti = optarg; break;
		case 'p': print = 1; break;
		case 'h': usage(); return 0;
		default: usage(); return EXIT_USAGE;
		}
	}
	if (!scenario || !out || optind != argc) {
		usage();
		return EXIT_USAGE;
	}
	if (!getenv("TSS2_LOG"))
		setenv("TSS2_LOG", "all+none", 1);
	s.file = scenario;
	s.root = json_load_file(scenario, JSON_REJECT_DUPLICATES, &jerr);
	if (!s.root) {
		rc = jerr.line > 0
			? tpa_err_fail(TPA_ERR_PARSE, "%s:%d: %s", scenario, jerr.line,
				       jerr.text)
			: tpa_err_fail(TPA_ERR_PARSE, "%s", jerr.text);
		goto cleanup;
	}
	if (!json_is_object(s.root)) {
		rc = bad(&s, "(top level)", "expected an object");
		goto cleanup;
	}
	pcrs = calloc(TPA_PCR_COUNT, sizeof(*pcrs));
	if (!pcrs) {
		rc = tpa_err_fail(TPA_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	if ((rc = build(&s, &faults)) < 0 ||
	    (rc = serialize(&log, &s, json_is_true(json_object_get(
				  faults, "truncate_last_event")))) < 0 ||
	    (rc = expected_pcrs(pcrs, &touched, &s)) < 0 ||
	    (rc = write_file(out, &log)) < 0)
		goto cleanup;
	/* The log is written first so that a bad path never touches the TPM;
	 * it goes again if the TPM part fails. */
	if (tcti && (rc = tpm_apply(tcti, &s, pcrs, touched)) < 0) {
		unlink(out);
		goto cleanup;
	}
	for (i = 0; print && i < TPA_PCR_COUNT; i++) {
		if (!(touched & (1u << i)))
			continue;
		tpa_hex(hex, pcrs[i], SHA256_LEN);
		printf("%u:sha256=%s\n", i, hex);
	}
	if (print && fflush(stdout) != 0)
		rc = tpa_err_fail(TPA_ERR_IO, "cannot write to stdout");
cleanup:
	if (rc < 0) {
		fprintf(stderr, "tpa-bootsim: %s\n", tpa_err_last());
		ret = exit_code(rc);
	}
	for (k = 0; k < s.nev; k++)
		buf_free(&s.ev[k].data);
	free(s.ev);
	free(pcrs);
	buf_free(&log);
	json_decref(s.root);
	return ret;
}
