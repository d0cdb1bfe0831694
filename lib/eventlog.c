/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tpa/err.h"
#include "tpa/eventlog.h"
#include "tpa/tpm_decode.h"

#define SPEC_ID_SIG "Spec ID Event03"      /* 16 bytes with the NUL */
#define STARTUP_LOCALITY_SIG "StartupLocality" /* 16 bytes with the NUL */
#define SHA1_LEN 20
#define LEGACY_HDR (4 + 4 + SHA1_LEN + 4)  /* pcr, type, digest, size */
#define EVENT2_HDR_MIN (4 + 4 + 4)         /* pcr, type, digest count */
#define DECLARED_DIGEST_MAX 128            /* an unknown algorithm's size */
#define EVENTS_INITIAL 256

struct tpa_eventlog {
	uint8_t *bytes;
	size_t len;
	tpa_evlog_format format;
	uint32_t nalgs;
	struct { uint16_t alg, size; } algs[TPA_EVLOG_MAX_ALGS];
	tpa_event *events;
	size_t nevents, cap;
};

static const struct { uint32_t type; const char *name; } type_names[] = {
	{ TPA_EV_PREBOOT_CERT, "EV_PREBOOT_CERT" },
	{ TPA_EV_POST_CODE, "EV_POST_CODE" },
	{ 0x00000002u, "EV_UNUSED" },
	{ TPA_EV_NO_ACTION, "EV_NO_ACTION" },
	{ TPA_EV_SEPARATOR, "EV_SEPARATOR" },
	{ TPA_EV_ACTION, "EV_ACTION" },
	{ TPA_EV_EVENT_TAG, "EV_EVENT_TAG" },
	{ TPA_EV_S_CRTM_CONTENTS, "EV_S_CRTM_CONTENTS" },
	{ TPA_EV_S_CRTM_VERSION, "EV_S_CRTM_VERSION" },
	{ TPA_EV_CPU_MICROCODE, "EV_CPU_MICROCODE" },
	{ TPA_EV_PLATFORM_CONFIG_FLAGS, "EV_PLATFORM_CONFIG_FLAGS" },
	{ TPA_EV_TABLE_OF_DEVICES, "EV_TABLE_OF_DEVICES" },
	{ TPA_EV_COMPACT_HASH, "EV_COMPACT_HASH" },
	{ TPA_EV_IPL, "EV_IPL" },
	{ TPA_EV_IPL_PARTITION_DATA, "EV_IPL_PARTITION_DATA" },
	{ TPA_EV_NONHOST_CODE, "EV_NONHOST_CODE" },
	{ TPA_EV_NONHOST_CONFIG, "EV_NONHOST_CONFIG" },
	{ TPA_EV_NONHOST_INFO, "EV_NONHOST_INFO" },
	{ TPA_EV_OMIT_BOOT_DEVICE_EVENTS, "EV_OMIT_BOOT_DEVICE_EVENTS" },
	{ TPA_EV_EFI_EVENT_BASE, "EV_EFI_EVENT_BASE" },
	{ TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, "EV_EFI_VARIABLE_DRIVER_CONFIG" },
	{ TPA_EV_EFI_VARIABLE_BOOT, "EV_EFI_VARIABLE_BOOT" },
	{ TPA_EV_EFI_BOOT_SERVICES_APPLICATION, "EV_EFI_BOOT_SERVICES_APPLICATION" },
	{ TPA_EV_EFI_BOOT_SERVICES_DRIVER, "EV_EFI_BOOT_SERVICES_DRIVER" },
	{ TPA_EV_EFI_RUNTIME_SERVICES_DRIVER, "EV_EFI_RUNTIME_SERVICES_DRIVER" },
	{ TPA_EV_EFI_GPT_EVENT, "EV_EFI_GPT_EVENT" },
	{ TPA_EV_EFI_ACTION, "EV_EFI_ACTION" },
	{ TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB, "EV_EFI_PLATFORM_FIRMWARE_BLOB" },
	{ TPA_EV_EFI_HANDOFF_TABLES, "EV_EFI_HANDOFF_TABLES" },
	{ TPA_EV_EFI_PLATFORM_FIRMWARE_BLOB2, "EV_EFI_PLATFORM_FIRMWARE_BLOB2" },
	{ TPA_EV_EFI_HANDOFF_TABLES2, "EV_EFI_HANDOFF_TABLES2" },
	{ TPA_EV_EFI_VARIABLE_BOOT2, "EV_EFI_VARIABLE_BOOT2" },
	{ TPA_EV_EFI_HCRTM_EVENT, "EV_EFI_HCRTM_EVENT" },
	{ TPA_EV_EFI_VARIABLE_AUTHORITY, "EV_EFI_VARIABLE_AUTHORITY" },
	{ TPA_EV_EFI_SPDM_FIRMWARE_BLOB, "EV_EFI_SPDM_FIRMWARE_BLOB" },
	{ TPA_EV_EFI_SPDM_FIRMWARE_CONFIG, "EV_EFI_SPDM_FIRMWARE_CONFIG" },
};

const char *tpa_event_type_name(uint32_t type)
{
	size_t i;

	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].type == type)
			return type_names[i].name;
	return NULL;
}

int tpa_event_type_from_name(uint32_t *out, const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(type_names[i].name, name) == 0) {
			*out = type_names[i].type;
			return 0;
		}
	return TPA_ERR_NOT_FOUND;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static int fail_at(size_t off, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail_at(size_t off, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return tpa_err_fail(TPA_ERR_PARSE, "offset %zu: %s", off, msg);
}

static int push_event(tpa_eventlog *log, const tpa_event *ev, size_t off)
{
	if (log->nevents >= TPA_EVLOG_MAX_EVENTS)
		return tpa_err_fail(TPA_ERR_LIMIT, "offset %zu: more than %u events", off,
				    TPA_EVLOG_MAX_EVENTS);
	if (log->nevents == log->cap) {
		size_t cap = log->cap ? log->cap * 2 : EVENTS_INITIAL;
		tpa_event *e;

		if (cap > TPA_EVLOG_MAX_EVENTS)
			cap = TPA_EVLOG_MAX_EVENTS;
		if (!(e = realloc(log->events, cap * sizeof(*e))))
			return tpa_err_fail(TPA_ERR_NOMEM, "event log: out of memory");
		log->events = e;
		log->cap = cap;
	}
	log->events[log->nevents] = *ev;
	log->events[log->nevents].number = (uint32_t)log->nevents;
	log->nevents++;
	return 0;
}

/* The remaining bytes are padding (all 0xFF), as ACPI-table logs leave
 * after the last event. Zero bytes are not taken for padding: a log cut
 * inside a record on PCR 0 would read as one. */
static int is_padding(const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0xFF)
			return 0;
	return n > 0;
}

/* A TCG_PCClientPCREvent (SHA1 format) at off. */
static int read_legacy(tpa_event *ev, const uint8_t *b, size_t n, size_t off,
		       size_t *next)
{
	uint32_t size;

	if (n - off < LEGACY_HDR)
		return fail_at(off, "truncated event header (%zu of %d bytes)", n - off,
			       LEGACY_HDR);
	size = le32(b + off + 28);
	if (size > TPA_EVLOG_MAX_DATA)
		return fail_at(off, "event data size %u exceeds %u", size, TPA_EVLOG_MAX_DATA);
	if (size > n - off - LEGACY_HDR)
		return fail_at(off, "event data size %u exceeds the %zu bytes left", size,
			       n - off - LEGACY_HDR);
	memset(ev, 0, sizeof(*ev));
	ev->offset = off;
	ev->pcr = le32(b + off);
	ev->type = le32(b + off + 4);
	ev->ndigests = 1;
	ev->digests[0].alg = TPM2_ALG_SHA1;
	ev->digests[0].size = SHA1_LEN;
	ev->digests[0].digest = b + off + 8;
	ev->data = b + off + LEGACY_HDR;
	ev->data_len = size;
	*next = off + LEGACY_HDR + size;
	return 0;
}

/* Whether the first event is a real Spec ID Event03, and if so, its banks. */
static int parse_spec_id(tpa_eventlog *log, const tpa_event *first)
{
	const uint8_t *d = first->data;
	size_t n = first->data_len, need, p;
	uint32_t nalgs, i, k;
	uint8_t uintn, vendor;

	if (first->type != TPA_EV_NO_ACTION || n < 16 || memcmp(d, SPEC_ID_SIG, 16) != 0)
		return 0; /* the legacy format */
	if (first->pcr != 0)
		return fail_at(first->offset,
			       "Spec ID event on index %u, not PCR 0 (a TDX CCEL/RTMR log is not a TPM log)",
			       first->pcr);
	/* signature 16, platformClass 4, versions 3, uintnSize 1, count 4 */
	if (n < 28)
		return fail_at(first->offset, "Spec ID event of %zu bytes is too short", n);
	uintn = d[23];
	if (uintn != 1 && uintn != 2)
		return fail_at(first->offset, "Spec ID uintnSize %u is not 1 or 2", uintn);
	nalgs = le32(d + 24);
	if (nalgs == 0 || nalgs > TPA_EVLOG_MAX_ALGS)
		return fail_at(first->offset, "Spec ID declares %u algorithms (1..%u)", nalgs,
			       TPA_EVLOG_MAX_ALGS);
	need = 28 + 4 * (size_t)nalgs + 1;
	if (n < need)
		return fail_at(first->offset, "Spec ID event of %zu bytes is too short for %u algorithms",
			       n, nalgs);
	for (i = 0, p = 28; i < nalgs; i++, p += 4) {
		uint16_t alg = le16(d + p), size = le16(d + p + 2);
		size_t known = tpa_hash_size(alg);

		if (known && size != known)
			return fail_at(first->offset, "Spec ID: algorithm 0x%04x with digest size %u, expected %zu",
				       alg, size, known);
		if (size == 0 || size > DECLARED_DIGEST_MAX)
			return fail_at(first->offset, "Spec ID: algorithm 0x%04x with digest size %u",
				       alg, size);
		for (k = 0; k < i; k++)
			if (log->algs[k].alg == alg)
				return fail_at(first->offset, "Spec ID: algorithm 0x%04x declared twice",
					       alg);
		log->algs[i].alg = alg;
		log->algs[i].size = size;
	}
	vendor = d[p];
	if (n != need + vendor)
		return fail_at(first->offset,
			       "Spec ID: %zu bytes of event data, %zu declared (vendorInfoSize %u)",
			       n, need + vendor, vendor);
	log->nalgs = nalgs;
	return 1;
}

/* A TCG_PCR_EVENT2 at off. */
static int read_event2(tpa_event *ev, const tpa_eventlog *log, const uint8_t *b,
		       size_t n, size_t off, size_t *next)
{
	size_t p = off;
	uint32_t count, i, k, size;

	if (n - off < EVENT2_HDR_MIN)
		return fail_at(off, "truncated event header (%zu of %d bytes)", n - off,
			       EVENT2_HDR_MIN);
	memset(ev, 0, sizeof(*ev));
	ev->offset = off;
	ev->pcr = le32(b + p);
	ev->type = le32(b + p + 4);
	count = le32(b + p + 8);
	p += 12;
	if (count > log->nalgs)
		return fail_at(off, "digest count %u exceeds the %u algorithms of the Spec ID",
			       count, log->nalgs);
	for (i = 0; i < count; i++) {
		uint16_t alg;
		size_t ds = 0;

		if (n - p < 2)
			return fail_at(p, "truncated digest algorithm");
		alg = le16(b + p);
		for (k = 0; k < log->nalgs; k++)
			if (log->algs[k].alg == alg)
				ds = log->algs[k].size;
		if (!ds)
			return fail_at(p, "digest algorithm 0x%04x is not in the Spec ID", alg);
		for (k = 0; k < i; k++)
			if (ev->digests[k].alg == alg)
				return fail_at(p, "digest algorithm 0x%04x appears twice", alg);
		if (n - p - 2 < ds)
			return fail_at(p, "truncated %zu-byte digest", ds);
		ev->digests[i].alg = alg;
		ev->digests[i].size = (uint16_t)ds;
		ev->digests[i].digest = b + p + 2;
		p += 2 + ds;
	}
	ev->ndigests = count;
	if (n - p < 4)
		return fail_at(p, "truncated event size");
	size = le32(b + p);
	p += 4;
	if (size > TPA_EVLOG_MAX_DATA)
		return fail_at(off, "event data size %u exceeds %u", size, TPA_EVLOG_MAX_DATA);
	if (size > n - p)
		return fail_at(off, "event data size %u exceeds the %zu bytes left", size, n - p);
	ev->data = b + p;
	ev->data_len = size;
	*next = p + size;
	return 0;
}

int tpa_eventlog_parse(tpa_eventlog **out, const uint8_t *b, size_t n)
{
	tpa_eventlog *log;
	tpa_event ev;
	size_t off = 0, next = 0;
	int err, agile;

	if (!out || (!b && n))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "event log: NULL");
	if (n == 0)
		return fail_at(0, "empty event log");
	if (n > TPA_EVLOG_MAX_BYTES)
		return tpa_err_fail(TPA_ERR_LIMIT, "offset 0: event log of %zu bytes exceeds %u",
				    n, TPA_EVLOG_MAX_BYTES);
	if (!(log = calloc(1, sizeof(*log))) || !(log->bytes = malloc(n))) {
		free(log);
		return tpa_err_fail(TPA_ERR_NOMEM, "event log: out of memory");
	}
	memcpy(log->bytes, b, n);
	log->len = n;
	b = log->bytes;

	/* The first record is always in the SHA1 format. */
	if ((err = read_legacy(&ev, b, n, 0, &next)) < 0)
		goto fail;
	if ((err = agile = parse_spec_id(log, &ev)) < 0)
		goto fail;
	log->format = agile ? TPA_EVLOG_CRYPTO_AGILE : TPA_EVLOG_SHA1;
	if (!agile) {
		log->nalgs = 1;
		log->algs[0].alg = TPM2_ALG_SHA1;
		log->algs[0].size = SHA1_LEN;
	}
	if ((err = push_event(log, &ev, 0)) < 0)
		goto fail;
	for (off = next; off < n; off = next) {
		if (is_padding(b + off, n - off))
			break;
		err = agile ? read_event2(&ev, log, b, n, off, &next) :
			read_legacy(&ev, b, n, off, &next);
		if (err < 0 || (err = push_event(log, &ev, off)) < 0)
			goto fail;
	}
	*out = log;
	return 0;
fail:
	tpa_eventlog_free(log);
	return err;
}

void tpa_eventlog_free(tpa_eventlog *log)
{
	if (!log)
		return;
	free(log->events);
	free(log->bytes);
	free(log);
}

tpa_evlog_format tpa_eventlog_format(const tpa_eventlog *log)
{
	return log->format;
}

size_t tpa_eventlog_count(const tpa_eventlog *log)
{
	return log ? log->nevents : 0;
}

const tpa_event *tpa_eventlog_event(const tpa_eventlog *log, size_t i)
{
	return log && i < log->nevents ? &log->events[i] : NULL;
}

size_t tpa_eventlog_banks(const tpa_eventlog *log, uint16_t *algs, size_t cap)
{
	size_t i;

	for (i = 0; i < log->nalgs && i < cap; i++)
		algs[i] = log->algs[i].alg;
	return log->nalgs;
}

int tpa_hash_strength(uint16_t alg)
{
	if (!tpa_hash_md(alg))
		return 0;
	switch (alg) {
	case TPM2_ALG_SHA1: return 1;
	case TPM2_ALG_SM3_256: return 2;
	case TPM2_ALG_SHA256: return 3;
	case TPM2_ALG_SHA384: return 4;
	case TPM2_ALG_SHA512: return 5;
	default: return 0;
	}
}

uint16_t tpa_eventlog_strongest_bank(const tpa_eventlog *log)
{
	uint16_t best = 0;
	uint32_t i;

	for (i = 0; log && i < log->nalgs; i++)
		if (tpa_hash_strength(log->algs[i].alg) > tpa_hash_strength(best))
			best = log->algs[i].alg;
	return best;
}

/* StartupLocality: EV_NO_ACTION on PCR 0, "StartupLocality\0" + locality. */
static int startup_locality(const tpa_event *ev)
{
	if (ev->type == TPA_EV_NO_ACTION && ev->pcr == 0 && ev->data_len == 17 &&
	    memcmp(ev->data, STARTUP_LOCALITY_SIG, 16) == 0)
		return ev->data[16];
	return -1;
}

int tpa_eventlog_replay(tpa_replay *out, const tpa_eventlog *log)
{
	return tpa_eventlog_replay_banks(out, log, NULL, 0);
}

static int wanted(const uint16_t *algs, size_t n, uint16_t alg)
{
	size_t i;

	if (!algs)
		return 1;
	for (i = 0; i < n; i++)
		if (algs[i] == alg)
			return 1;
	return 0;
}

int tpa_eventlog_replay_banks(tpa_replay *out, const tpa_eventlog *log,
			      const uint16_t *algs, size_t nalgs)
{
	tpa_replay r;
	/* One context per bank: re-initialising a context for the same
	 * digest keeps its provider state, switching digests does not. */
	EVP_MD_CTX *ctx[TPA_EVLOG_MAX_ALGS] = { NULL };
	size_t i;
	uint32_t b;
	int err = 0;

	if (!out || !log)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "replay: NULL");
	memset(&r, 0, sizeof(r));
	r.startup_locality = -1;
	/* The initial values depend on events anywhere before PCR 0's first
	 * extension; find them first. */
	for (i = 0; i < log->nevents; i++) {
		int loc = startup_locality(&log->events[i]);

		if (loc >= 0 && r.startup_locality < 0)
			r.startup_locality = loc;
		if (log->events[i].type == TPA_EV_EFI_HCRTM_EVENT)
			r.hcrtm = 1;
	}
	for (b = 0; b < log->nalgs; b++) {
		tpa_replay_bank *rb;
		size_t ds = tpa_hash_size(log->algs[b].alg), k;

		if (!ds || !wanted(algs, nalgs, log->algs[b].alg))
			continue; /* an algorithm we cannot, or need not, replay */
		rb = &r.banks[r.nbanks++];
		rb->alg = log->algs[b].alg;
		for (k = 0; k < TPA_EVLOG_PCRS; k++) {
			rb->last_event[k] = -1;
			memset(rb->value[k], (k >= 17 && k <= 22) ? 0xFF : 0x00, ds);
		}
		if (r.hcrtm)
			rb->value[0][ds - 1] = 4;
		else if (r.startup_locality > 0)
			rb->value[0][ds - 1] = (uint8_t)r.startup_locality;
	}
	for (b = 0; b < r.nbanks; b++)
		if (!(ctx[b] = EVP_MD_CTX_new())) {
			err = tpa_err_fail(TPA_ERR_NOMEM, "replay: out of memory");
			goto cleanup;
		}
	for (i = 0; i < log->nevents; i++) {
		const tpa_event *ev = &log->events[i];

		if (ev->type == TPA_EV_NO_ACTION)
			continue;
		if (ev->pcr >= TPA_EVLOG_PCRS) {
			err = tpa_err_fail(TPA_ERR_PARSE,
					   "offset %zu: event %zu extends PCR %u (0..23 exist)",
					   ev->offset, i, ev->pcr);
			goto cleanup;
		}
		for (b = 0; b < r.nbanks; b++) {
			tpa_replay_bank *rb = &r.banks[b];
			const EVP_MD *md = tpa_hash_md(rb->alg);
			size_t ds = tpa_hash_size(rb->alg);
			const uint8_t *dg = NULL;
			uint32_t k;

			for (k = 0; k < ev->ndigests; k++)
				if (ev->digests[k].alg == rb->alg)
					dg = ev->digests[k].digest;
			if (!dg) {
				/* The bank's value of this PCR cannot be known. */
				rb->incomplete |= 1u << ev->pcr;
				continue;
			}
			if (!EVP_DigestInit_ex(ctx[b], md, NULL) ||
			    !EVP_DigestUpdate(ctx[b], rb->value[ev->pcr], ds) ||
			    !EVP_DigestUpdate(ctx[b], dg, ds) ||
			    !EVP_DigestFinal_ex(ctx[b], rb->value[ev->pcr], NULL)) {
				err = tpa_err_fail(TPA_ERR_CRYPTO, "replay: hashing failed");
				goto cleanup;
			}
			rb->extended |= 1u << ev->pcr;
			rb->last_event[ev->pcr] = (int32_t)i;
		}
	}
	*out = r;
cleanup:
	for (b = 0; b < TPA_EVLOG_MAX_ALGS; b++)
		EVP_MD_CTX_free(ctx[b]);
	return err;
}

const tpa_replay_bank *tpa_replay_bank_get(const tpa_replay *r, uint16_t alg)
{
	uint32_t b;

	for (b = 0; r && b < r->nbanks; b++)
		if (r->banks[b].alg == alg)
			return &r->banks[b];
	return NULL;
}

int tpa_eventlog_compare(tpa_findings *f, const tpa_replay *r, const tpa_pcr_set *quoted,
			 uint32_t ignore_mask, uint16_t bank, tpa_pcr_mask *matched)
{
	char first[TPA_CHECK_DETAIL_MAX] = "";
	uint32_t b, i, checked = 0, failed = 0;
	tpa_pcr_mask ok = 0;

	if (!f || !r || !quoted)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "compare: NULL");
	for (b = 0; b < quoted->nbanks && b < TPA_BANKS_MAX; b++) {
		const tpa_pcr_bank *qb = &quoted->banks[b];
		const tpa_replay_bank *rb = tpa_replay_bank_get(r, qb->hash_alg);
		size_t ds = tpa_hash_size(qb->hash_alg);

		for (i = 0; i < qb->count && i < TPA_PCR_COUNT; i++) {
			uint32_t pcr = qb->index[i];
			int bad = 1;

			if (pcr >= TPA_EVLOG_PCRS || (ignore_mask >> pcr) & 1)
				continue;
			if (!rb) {
				/* A quoted bank the log does not record at all. */
				if (!first[0])
					snprintf(first, sizeof(first),
						 "the log records no %s digests for quoted PCR %u",
						 tpa_hash_label(qb->hash_alg), pcr);
			} else if ((rb->incomplete >> pcr) & 1) {
				if (!first[0])
					snprintf(first, sizeof(first),
						 "%s PCR %u: the log lacks %s digests for some of its events",
						 tpa_hash_label(qb->hash_alg), pcr,
						 tpa_hash_label(qb->hash_alg));
			} else if (memcmp(rb->value[pcr], qb->digest[i], ds) != 0) {
				/* The first mismatch is the one named. */
				if (!first[0] && !((rb->extended >> pcr) & 1))
					snprintf(first, sizeof(first),
						 "%s PCR %u: the log has no event for it, yet it is not at "
						 "its reset value: events are missing from the log",
						 tpa_hash_label(qb->hash_alg), pcr);
				else if (!first[0])
					snprintf(first, sizeof(first),
						 "%s PCR %u: the log replays to another value than quoted (last event on it: #%d)",
						 tpa_hash_label(qb->hash_alg), pcr,
						 (int)rb->last_event[pcr]);
			} else {
				bad = 0;
			}
			if (bad) {
				failed++;
				continue;
			}
			checked++;
			if (qb->hash_alg == bank)
				ok |= (tpa_pcr_mask)1 << pcr;
		}
	}
	if (matched)
		*matched = ok;
	if (failed) {
		if (failed > 1) {
			size_t l = strlen(first);

			snprintf(first + l, sizeof(first) - l, " (and %u more)", failed - 1);
		}
		tpa_findings_add(f, TPA_CHECK_EVENTLOG_REPLAY, 0, "%s", first);
		return TPA_ERR_VERIFY;
	}
	tpa_findings_add(f, TPA_CHECK_EVENTLOG_REPLAY, 1,
			 "every quoted PCR replays to its quoted value (%u)", checked);
	return 0;
}

int tpa_eventlog_read_file(uint8_t **out, size_t *len, const char *path)
{
	FILE *f;
	uint8_t *b;
	size_t n;

	if (!out || !len || !path)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "event log: no path");
	if (!(f = fopen(path, "rb")))
		return tpa_err_fail(TPA_ERR_IO, "event log %s: %s", path, strerror(errno));
	if (!(b = malloc((size_t)TPA_EVLOG_MAX_BYTES + 1))) {
		fclose(f);
		return tpa_err_fail(TPA_ERR_NOMEM, "event log: out of memory");
	}
	n = fread(b, 1, (size_t)TPA_EVLOG_MAX_BYTES + 1, f);
	fclose(f);
	if (n > TPA_EVLOG_MAX_BYTES) {
		free(b);
		return tpa_err_fail(TPA_ERR_LIMIT, "event log %s: larger than %u bytes", path,
				    TPA_EVLOG_MAX_BYTES);
	}
	*out = b;
	*len = n;
	return 0;
}
