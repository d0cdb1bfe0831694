/* SPDX-License-Identifier: BSD-3-Clause */
/* The event-log parser and replay on logs built here byte by byte, so that
 * each rule has a log that breaks exactly it (the trusted-launch state has
 * test_bootstate.c, the UEFI structures test_efi.c). The
 * real logs of real machines are checked by
 * tests/integration/test_eventlog_corpus.sh. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tpa/baseline.h"
#include "tpa/boot.h"
#include "tpa/bootstate.h"
#include "tpa/err.h"
#include "tpa/eventlog.h"
#include "tpa/tpm_decode.h"

#include "logwriter.h"

static void good_log(buf *w)
{
	static const uint8_t sep[4] = { 0 }, on = 1;
	uint8_t var[64];
	size_t vn = lw_secureboot_var(var, &on, 1);

	memset(w, 0, sizeof(*w));
	lw_spec_id(w, lw_sha256_only, lw_size32, 1, 2);
	lw_event2(w, 0, TPA_EV_S_CRTM_VERSION, "1\0.\0" "0\0\0\0", 8, NULL, 0);
	lw_event2(w, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, var, (uint32_t)vn, NULL, 0);
	lw_event2(w, 7, TPA_EV_SEPARATOR, sep, 4, NULL, 0);
	lw_event2(w, 4, TPA_EV_EFI_BOOT_SERVICES_APPLICATION, "app", 3, "image", 5);
	lw_event2(w, 5, TPA_EV_EFI_ACTION, "Exit Boot Services Invocation", 29, NULL, 0);
}

static int parse_fails_at(const uint8_t *b, size_t n, int want)
{
	tpa_eventlog *log = NULL;
	int err = tpa_eventlog_parse(&log, b, n);

	tpa_eventlog_free(log);
	if (err == 0)
		return 0;
	if (want && err != want)
		return 0;
	return strstr(tpa_err_last(), "offset ") != NULL;
}

static void test_good(void)
{
	buf w;
	tpa_eventlog *log = NULL;
	tpa_replay r;
	tpa_bootstate bs;
	const tpa_replay_bank *rb;
	uint8_t pcr[32] = { 0 }, d[32], cat[64];
	uint16_t algs[8];

	good_log(&w);
	CU_ASSERT_EQUAL_FATAL(tpa_eventlog_parse(&log, w.b, w.n), 0);
	CU_ASSERT_EQUAL(tpa_eventlog_format(log), TPA_EVLOG_CRYPTO_AGILE);
	CU_ASSERT_EQUAL(tpa_eventlog_count(log), 6);
	CU_ASSERT_EQUAL(tpa_eventlog_banks(log, algs, 8), 1);
	CU_ASSERT_EQUAL(algs[0], TPM2_ALG_SHA256);
	CU_ASSERT_EQUAL(tpa_eventlog_replay(&r, log), 0);
	rb = tpa_replay_bank_get(&r, TPM2_ALG_SHA256);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rb);
	CU_ASSERT_EQUAL(rb->extended, (1u << 0) | (1u << 7) | (1u << 4) | (1u << 5));
	CU_ASSERT_EQUAL(rb->last_event[7], 3);
	/* PCR 4 = H(0^32 || H("image")) */
	tpa_hash(d, TPM2_ALG_SHA256, (const uint8_t *)"image", 5);
	memcpy(cat, pcr, 32);
	memcpy(cat + 32, d, 32);
	tpa_hash(pcr, TPM2_ALG_SHA256, cat, 64);
	CU_ASSERT_EQUAL(memcmp(rb->value[4], pcr, 32), 0);
	/* 17-22 start at all-FF and were not touched */
	memset(pcr, 0xFF, 32);
	CU_ASSERT_EQUAL(memcmp(rb->value[18], pcr, 32), 0);
	CU_ASSERT_EQUAL(tpa_bootstate_derive(&bs, log, 0, TPA_PCR_MASK_ALL), 0);
	CU_ASSERT_EQUAL(bs.secure_boot, TPA_SB_ENABLED);
	CU_ASSERT_TRUE(bs.exit_boot_services);
	CU_ASSERT_EQUAL(bs.separators, 1u << 7);
	CU_ASSERT_EQUAL(bs.digest_mismatches, 0);
	tpa_bootstate_clear(&bs);
	tpa_eventlog_free(log);
}

static void test_truncated_everywhere(void)
{
	buf w;
	size_t cut, boundary[8], nb = 0;
	tpa_eventlog *log = NULL;
	size_t i;

	good_log(&w);
	CU_ASSERT_EQUAL_FATAL(tpa_eventlog_parse(&log, w.b, w.n), 0);
	for (i = 0; i < tpa_eventlog_count(log); i++)
		boundary[nb++] = tpa_eventlog_event(log, i)->offset;
	tpa_eventlog_free(log);
	for (cut = 1; cut < w.n; cut++) {
		int at_boundary = 0;

		for (i = 1; i < nb; i++)
			at_boundary |= boundary[i] == cut;
		if (at_boundary)
			continue; /* a shorter, well-formed log */
		CU_ASSERT(parse_fails_at(w.b, cut, 0));
	}
}

static size_t le_size(const buf *w)
{
	return (size_t)w->b[28] | (size_t)w->b[29] << 8;
}

static void test_bad_sizes(void)
{
	buf w;
	tpa_eventlog *log = NULL;
	size_t first2;

	/* empty */
	CU_ASSERT(parse_fails_at(w.b, 0, TPA_ERR_PARSE));
	/* over the cap */
	CU_ASSERT_EQUAL(tpa_eventlog_parse(&log, w.b, (size_t)TPA_EVLOG_MAX_BYTES + 1),
			TPA_ERR_LIMIT);
	good_log(&w);
	/* the second record (first TCG_PCR_EVENT2) starts after the Spec ID */
	first2 = 32 + le_size(&w);
	/* a digest count above the Spec ID's algorithms */
	w.b[first2 + 8] = 2;
	CU_ASSERT(parse_fails_at(w.b, w.n, TPA_ERR_PARSE));
	CU_ASSERT(strstr(tpa_err_last(), "digest count") != NULL);
	good_log(&w);
	/* a digest algorithm the Spec ID did not declare */
	w.b[first2 + 12] = 0x0C;
	CU_ASSERT(parse_fails_at(w.b, w.n, TPA_ERR_PARSE));
	good_log(&w);
	/* an event size larger than what is left */
	w.b[first2 + 12 + 2 + 32 + 3] = 0x7f;
	CU_ASSERT(parse_fails_at(w.b, w.n, TPA_ERR_PARSE));
	good_log(&w);
	/* an event size just over the cap */
	w.b[first2 + 12 + 2 + 32 + 2] = 0x10; /* 0x00100008 > 1 MiB */
	CU_ASSERT(parse_fails_at(w.b, w.n, TPA_ERR_PARSE));
}


static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* The caps hold with the bytes there: an event whose data is one byte over
 * TPA_EVLOG_MAX_DATA and all present, in either format, and one event more
 * than TPA_EVLOG_MAX_EVENTS, are refused by their cap; at the cap they
 * parse. (A size over the cap with no data behind it fails anyway.) */
static void test_caps_with_data(void)
{
	const size_t hdr2 = 4 + 4 + 4 + 2 + 32 + 4, hdr1 = 4 + 4 + 20 + 4;
	size_t cap = (size_t)TPA_EVLOG_MAX_DATA + 1, n, i, d;
	uint8_t *b = calloc(1, (size_t)TPA_EVLOG_MAX_EVENTS * hdr1 + 2 * cap);
	tpa_eventlog *log = NULL;
	buf w;

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	/* Crypto agile: the Spec ID, then one TCG_PCR_EVENT2 of sha256. */
	for (d = cap - 1; d <= cap; d++) {
		memset(&w, 0, sizeof(w));
		lw_spec_id(&w, lw_sha256_only, lw_size32, 1, 2);
		memcpy(b, w.b, w.n);
		n = w.n;
		put32(b + n, 1);                       /* PCR */
		put32(b + n + 4, TPA_EV_EVENT_TAG);
		put32(b + n + 8, 1);                   /* one digest */
		b[n + 12] = 0x0b;                      /* sha256 */
		b[n + 13] = 0x00;
		put32(b + n + 14 + 32, (uint32_t)d);
		memset(b + n + hdr2, 'x', d);
		n += hdr2 + d;
		if (d < cap) {
			CU_ASSERT_EQUAL(tpa_eventlog_parse(&log, b, n), 0);
			CU_ASSERT_EQUAL(tpa_eventlog_count(log), 2);
			tpa_eventlog_free(log);
			log = NULL;
		} else {
			CU_ASSERT(parse_fails_at(b, n, TPA_ERR_PARSE));
			CU_ASSERT(strstr(tpa_err_last(), "event data size 1048577 exceeds 1048576") !=
				  NULL);
		}
	}
	/* SHA1 format: one TCG_PCR_EVENT. */
	for (d = cap - 1; d <= cap; d++) {
		memset(b, 0, hdr1);
		put32(b, 0);
		put32(b + 4, TPA_EV_POST_CODE);
		put32(b + 28, (uint32_t)d);
		memset(b + hdr1, 'x', d);
		if (d < cap) {
			CU_ASSERT_EQUAL(tpa_eventlog_parse(&log, b, hdr1 + d), 0);
			tpa_eventlog_free(log);
			log = NULL;
		} else {
			CU_ASSERT(parse_fails_at(b, hdr1 + d, TPA_ERR_PARSE));
			CU_ASSERT(strstr(tpa_err_last(), "event data size 1048577 exceeds 1048576") !=
				  NULL);
		}
	}
	/* TPA_EVLOG_MAX_EVENTS empty SHA1-format events, then one more. */
	memset(b, 0, (size_t)TPA_EVLOG_MAX_EVENTS * hdr1 + hdr1);
	for (i = 0; i <= TPA_EVLOG_MAX_EVENTS; i++)
		put32(b + i * hdr1 + 4, TPA_EV_POST_CODE);
	CU_ASSERT_EQUAL(tpa_eventlog_parse(&log, b, (size_t)TPA_EVLOG_MAX_EVENTS * hdr1), 0);
	CU_ASSERT_EQUAL(tpa_eventlog_count(log), TPA_EVLOG_MAX_EVENTS);
	tpa_eventlog_free(log);
	log = NULL;
	CU_ASSERT_EQUAL(tpa_eventlog_parse(&log, b, (size_t)(TPA_EVLOG_MAX_EVENTS + 1) * hdr1),
			TPA_ERR_LIMIT);
	CU_ASSERT(strstr(tpa_err_last(), "more than 100000 events") != NULL);
	CU_ASSERT_PTR_NULL(log);
	free(b);
}

static void test_spec_id_rules(void)
{
	static const uint16_t two[] = { TPM2_ALG_SHA256, TPM2_ALG_SHA256 };
	static const uint16_t twosz[] = { 32, 32 };
	static const uint16_t unk[] = { TPM2_ALG_SHA256, 0x0099 };
	static const uint16_t unksz[] = { 32, 40 };
	static const uint16_t badsz[] = { 20 };
	tpa_eventlog *log = NULL;
	tpa_replay r;
	buf w;

	memset(&w, 0, sizeof(w));
	lw_spec_id(&w, lw_sha256_only, lw_size32, 1, 3);          /* uintnSize 3 */
	CU_ASSERT(parse_fails_at(w.b, w.n, TPA_ERR_PARSE));
	memset(&w, 0, sizeof(w));
	lw_spec_id(&w, two, twosz, 2, 2);                   /* duplicate algorithm */
	CU_ASSERT(parse_fails_at(w.b, w.n, TPA_ERR_PARSE));
	memset(&w, 0, sizeof(w));
	lw_spec_id(&w, lw_sha256_only, badsz, 1, 2);           /* SHA-256 of 20 bytes */
	CU_ASSERT(parse_fails_at(w.b, w.n, TPA_ERR_PARSE));
	memset(&w, 0, sizeof(w));
	lw_spec_id(&w, lw_sha256_only, lw_size32, 0, 2);          /* no algorithm */
	CU_ASSERT(parse_fails_at(w.b, w.n, TPA_ERR_PARSE));

	/* An unknown algorithm is skipped by its declared size. */
	memset(&w, 0, sizeof(w));
	lw_spec_id(&w, unk, unksz, 2, 2);
	lw_u32(&w, 4);
	lw_u32(&w, TPA_EV_SEPARATOR);
	lw_u32(&w, 2);
	lw_u16(&w, 0x0099);
	memset(w.b + w.n, 0xAB, 40);
	w.n += 40;
	lw_u16(&w, TPM2_ALG_SHA256);
	memset(w.b + w.n, 0xCD, 32);
	w.n += 32;
	lw_u32(&w, 4);
	lw_u32(&w, 0);
	CU_ASSERT_EQUAL_FATAL(tpa_eventlog_parse(&log, w.b, w.n), 0);
	CU_ASSERT_EQUAL(tpa_eventlog_count(log), 2);
	CU_ASSERT_EQUAL(tpa_eventlog_replay(&r, log), 0);
	CU_ASSERT_EQUAL(r.nbanks, 1); /* only SHA-256 can be replayed */
	tpa_eventlog_free(log);

	/* A first EV_NO_ACTION that is not a Spec ID: the SHA1 format. */
	memset(&w, 0, sizeof(w));
	lw_u32(&w, 0);
	lw_u32(&w, TPA_EV_NO_ACTION);
	memset(w.b + w.n, 0, 20);
	w.n += 20;
	lw_u32(&w, 17);
	lw_put(&w, "StartupLocality\0\x03", 17);
	CU_ASSERT_EQUAL_FATAL(tpa_eventlog_parse(&log, w.b, w.n), 0);
	CU_ASSERT_EQUAL(tpa_eventlog_format(log), TPA_EVLOG_SHA1);
	CU_ASSERT_EQUAL(tpa_eventlog_replay(&r, log), 0);
	CU_ASSERT_EQUAL(r.startup_locality, 3);
	tpa_eventlog_free(log);
}

/* The log at b is refused, the error naming why. */
static int refused_saying(const uint8_t *b, size_t n, const char *why)
{
	if (!parse_fails_at(b, n, TPA_ERR_PARSE))
		return 0;
	if (!strstr(tpa_err_last(), why)) {
		fprintf(stderr, "refused: %s, not %s\n", tpa_err_last(), why);
		return 0;
	}
	return 1;
}

/* Each Spec ID and digest rule refuses by its own name, not by whatever a
 * misread further on trips over. */
static void test_spec_id_named(void)
{
	static const uint16_t both[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256 };
	static const uint16_t bothsz[] = { 20, 32 };
	buf w;

	/* On index 1: a TDX CCEL/RTMR log, not a TPM's. */
	memset(&w, 0, sizeof(w));
	lw_spec_id(&w, lw_sha256_only, lw_size32, 1, 2);
	w.b[0] = 1;
	CU_ASSERT(refused_saying(w.b, w.n, "Spec ID event on index 1, not PCR 0"));
	/* One byte after its vendor info (vendorInfoSize 0). */
	memset(&w, 0, sizeof(w));
	lw_spec_id(&w, lw_sha256_only, lw_size32, 1, 2);
	w.b[28]++;
	w.b[w.n++] = 0xee;
	lw_event2(&w, 7, TPA_EV_SEPARATOR, "\0\0\0\0", 4, NULL, 0);
	CU_ASSERT(refused_saying(w.b, w.n, "Spec ID: 34 bytes of event data, 33 declared"));
	/* Two SHA-256 digests and no SHA-1 in a log of both. */
	memset(&w, 0, sizeof(w));
	lw_spec_id(&w, both, bothsz, 2, 2);
	lw_u32(&w, 7);
	lw_u32(&w, TPA_EV_SEPARATOR);
	lw_u32(&w, 2);
	lw_u16(&w, TPM2_ALG_SHA256);
	memset(w.b + w.n, 0xCD, 32);
	w.n += 32;
	lw_u16(&w, TPM2_ALG_SHA256);
	memset(w.b + w.n, 0xCD, 32);
	w.n += 32;
	lw_u32(&w, 4);
	lw_u32(&w, 0);
	CU_ASSERT(refused_saying(w.b, w.n, "digest algorithm 0x000b appears twice"));
	/* A SHA-384 digest in a SHA-256 log, its 48 bytes there. */
	memset(&w, 0, sizeof(w));
	lw_spec_id(&w, lw_sha256_only, lw_size32, 1, 2);
	lw_u32(&w, 7);
	lw_u32(&w, TPA_EV_SEPARATOR);
	lw_u32(&w, 1);
	lw_u16(&w, TPM2_ALG_SHA384);
	memset(w.b + w.n, 0xCD, 48);
	w.n += 48;
	lw_u32(&w, 4);
	lw_u32(&w, 0);
	CU_ASSERT(refused_saying(w.b, w.n, "digest algorithm 0x000c is not in the Spec ID"));
}

static void test_locality_and_pcr_index(void)
{
	buf w;
	tpa_eventlog *log = NULL;
	tpa_replay r;
	uint8_t want[32] = { 0 }, cat[64], d[32];

	memset(&w, 0, sizeof(w));
	lw_spec_id(&w, lw_sha256_only, lw_size32, 1, 2);
	/* EV_NO_ACTION StartupLocality 3, on PCR 0 */
	lw_u32(&w, 0);
	lw_u32(&w, TPA_EV_NO_ACTION);
	lw_u32(&w, 1);
	lw_u16(&w, TPM2_ALG_SHA256);
	memset(w.b + w.n, 0, 32);
	w.n += 32;
	lw_u32(&w, 17);
	lw_put(&w, "StartupLocality\0\x03", 17);
	/* an EV_NO_ACTION on index 0xFFFFFFFF: allowed, never extended */
	lw_u32(&w, 0xFFFFFFFFu);
	lw_u32(&w, TPA_EV_NO_ACTION);
	lw_u32(&w, 0);
	lw_u32(&w, 0);
	lw_event2(&w, 0, TPA_EV_POST_CODE, "code", 4, NULL, 0);
	CU_ASSERT_EQUAL_FATAL(tpa_eventlog_parse(&log, w.b, w.n), 0);
	CU_ASSERT_EQUAL(tpa_eventlog_replay(&r, log), 0);
	CU_ASSERT_EQUAL(r.startup_locality, 3);
	want[31] = 3;
	tpa_hash(d, TPM2_ALG_SHA256, (const uint8_t *)"code", 4);
	memcpy(cat, want, 32);
	memcpy(cat + 32, d, 32);
	tpa_hash(want, TPM2_ALG_SHA256, cat, 64);
	CU_ASSERT_EQUAL(memcmp(r.banks[0].value[0], want, 32), 0);
	tpa_eventlog_free(log);

	/* a measurement into PCR 0xFFFFFFFF: parsed, but not replayable */
	lw_event2(&w, 0xFFFFFFFFu, TPA_EV_POST_CODE, "x", 1, NULL, 0);
	CU_ASSERT_EQUAL_FATAL(tpa_eventlog_parse(&log, w.b, w.n), 0);
	CU_ASSERT_EQUAL(tpa_eventlog_replay(&r, log), TPA_ERR_PARSE);
	CU_ASSERT(strstr(tpa_err_last(), "PCR 4294967295") != NULL);
	tpa_eventlog_free(log);
}

static void test_padding(void)
{
	buf w;
	tpa_eventlog *log = NULL;

	good_log(&w);
	memset(w.b + w.n, 0xFF, 100);
	CU_ASSERT_EQUAL(tpa_eventlog_parse(&log, w.b, w.n + 100), 0);
	CU_ASSERT_EQUAL(tpa_eventlog_count(log), 6);
	tpa_eventlog_free(log);
	log = NULL;
	/* Garbage after the last event is not padding. */
	memset(w.b + w.n, 0xFF, 100);
	w.b[w.n + 50] = 0x12;
	CU_ASSERT(parse_fails_at(w.b, w.n + 100, TPA_ERR_PARSE));
}

static void test_compare(void)
{
	static const uint8_t zero20[20];
	buf w;
	tpa_eventlog *log = NULL;
	tpa_replay r;
	tpa_pcr_set q;
	tpa_findings f;
	tpa_pcr_mask m = 0;
	const tpa_replay_bank *rb;

	good_log(&w);
	CU_ASSERT_EQUAL_FATAL(tpa_eventlog_parse(&log, w.b, w.n), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_eventlog_replay(&r, log), 0);
	rb = tpa_replay_bank_get(&r, TPM2_ALG_SHA256);
	memset(&q, 0, sizeof(q));
	tpa_pcr_set_add_bank(&q, TPM2_ALG_SHA256);
	tpa_pcr_set_add(&q, 0, rb->value[0], 32);
	tpa_pcr_set_add(&q, 4, rb->value[4], 32);
	tpa_pcr_set_add(&q, 7, rb->value[7], 32);
	tpa_pcr_set_add(&q, 9, rb->value[9], 32); /* no events: its reset value */
	memset(&f, 0, sizeof(f));
	CU_ASSERT_EQUAL(tpa_eventlog_compare(&f, &r, &q, 0, TPM2_ALG_SHA256, &m), 0);
	CU_ASSERT_EQUAL(tpa_findings_failed(&f), 0);
	CU_ASSERT_EQUAL(m, (1u << 0) | (1u << 4) | (1u << 7) | (1u << 9));
	q.banks[0].digest[2][5] ^= 1; /* PCR 7 */
	memset(&f, 0, sizeof(f));
	CU_ASSERT_EQUAL(tpa_eventlog_compare(&f, &r, &q, 0, TPM2_ALG_SHA256, &m), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(f.items[0].detail, "PCR 7") != NULL);
	CU_ASSERT(strstr(f.items[0].detail, "#3") != NULL);
	CU_ASSERT_EQUAL(m, (1u << 0) | (1u << 4) | (1u << 9)); /* PCR 7 does not count */
	/* ... unless PCR 7 is left out by policy (as IMA's PCR 10 is) */
	memset(&f, 0, sizeof(f));
	CU_ASSERT_EQUAL(tpa_eventlog_compare(&f, &r, &q, 1u << 7, TPM2_ALG_SHA256, &m), 0);
	CU_ASSERT_EQUAL(m & (1u << 7), 0);
	q.banks[0].digest[2][5] ^= 1;
	/* A quoted PCR the log has no event for must hold its reset value: a
	 * log whose events on it were deleted does not replay. */
	q.banks[0].digest[3][0] ^= 1; /* PCR 9 */
	memset(&f, 0, sizeof(f));
	CU_ASSERT_EQUAL(tpa_eventlog_compare(&f, &r, &q, 0, TPM2_ALG_SHA256, &m), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(f.items[0].detail, "PCR 9: the log has no event for it") != NULL);
	q.banks[0].digest[3][0] ^= 1;
	/* Every quoted bank is compared, not only the first: a second bank of
	 * the log, edited, fails too. */
	tpa_pcr_set_add_bank(&q, TPM2_ALG_SHA1);
	tpa_pcr_set_add(&q, 0, zero20, 20);
	memset(&f, 0, sizeof(f));
	CU_ASSERT_EQUAL(tpa_eventlog_compare(&f, &r, &q, 0, TPM2_ALG_SHA256, &m), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(f.items[0].detail, "no sha1 digests") != NULL);
	q.nbanks = 1;
	/* A quoted bank the log does not record. */
	q.banks[0].hash_alg = TPM2_ALG_SHA384;
	memset(&f, 0, sizeof(f));
	CU_ASSERT_EQUAL(tpa_eventlog_compare(&f, &r, &q, 0, TPM2_ALG_SHA256, &m), TPA_ERR_VERIFY);
	CU_ASSERT_EQUAL(m, 0);
	tpa_eventlog_free(log);
}

/* A quote over two banks, each a PCR of which must replay: a real
 * crypto-agile log (go-tpm-tools' arch-linux-workstation, SHA-1 and
 * SHA-256), quoted with both banks in either order, one value of either
 * bank wrong. */
static void test_compare_two_banks(void)
{
	static const uint16_t orders[2][2] = { { TPM2_ALG_SHA256, TPM2_ALG_SHA1 },
					       { TPM2_ALG_SHA1, TPM2_ALG_SHA256 } };
	uint8_t *b = NULL;
	size_t n = 0, o, k;
	tpa_eventlog *log = NULL;
	tpa_replay r;

	CU_ASSERT_EQUAL_FATAL(tpa_eventlog_read_file(&b, &n,
		"tests/data/eventlog/go-tpm-tools/arch-linux-workstation.bin"), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_eventlog_parse(&log, b, n), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_eventlog_replay(&r, log), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tpa_replay_bank_get(&r, TPM2_ALG_SHA1));
	CU_ASSERT_PTR_NOT_NULL_FATAL(tpa_replay_bank_get(&r, TPM2_ALG_SHA256));
	for (o = 0; o < 2; o++) {
		for (k = 0; k < 3; k++) {   /* none wrong, the first bank's, the second's */
			tpa_pcr_set q;
			tpa_findings f;
			tpa_pcr_mask m = 0;
			char want[64];
			size_t bk;
			uint32_t pcr;

			memset(&q, 0, sizeof(q));
			for (bk = 0; bk < 2; bk++) {
				const tpa_replay_bank *rb = tpa_replay_bank_get(&r, orders[o][bk]);

				tpa_pcr_set_add_bank(&q, orders[o][bk]);
				for (pcr = 0; pcr <= 7; pcr++)
					tpa_pcr_set_add(&q, pcr, rb->value[pcr],
							tpa_hash_size(orders[o][bk]));
			}
			if (k)
				q.banks[k - 1].digest[7][3] ^= 0x40;   /* PCR 7 */
			memset(&f, 0, sizeof(f));
			CU_ASSERT_EQUAL(tpa_eventlog_compare(&f, &r, &q, 0, TPM2_ALG_SHA256, &m),
					k ? TPA_ERR_VERIFY : 0);
			if (!k) {
				CU_ASSERT_EQUAL(m, 0xffu);
				continue;
			}
			snprintf(want, sizeof(want), "%s PCR 7: the log replays to another value",
				 tpa_hash_label(orders[o][k - 1]));
			CU_ASSERT_PTR_NOT_NULL(strstr(f.items[0].detail, want));
		}
	}
	tpa_eventlog_free(log);
	free(b);
}

static const uint16_t two_banks[2] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256 };
static const uint16_t two_sizes[2] = { 20, 32 };

/* A boot whose events carry the n banks of algs: SecureBoot on, an
 * EV_SEPARATOR on each PCR of seps, a boot application whose event
 * carries the first bank's digest only if short_app. */
static void boot_log(buf *w, const uint16_t *algs, const uint16_t *sizes, uint32_t n,
		     tpa_pcr_mask seps, int short_app)
{
	static const uint8_t sep[4] = { 0 }, on = 1;
	uint8_t var[64];
	uint32_t vn = (uint32_t)lw_secureboot_var(var, &on, 1), p;

	memset(w, 0, sizeof(*w));
	lw_spec_id(w, algs, sizes, n, 2);
	lw_event_banks(w, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, var, vn, algs, n);
	for (p = 0; p < 8; p++)
		if ((seps >> p) & 1)
			lw_event_banks(w, p, TPA_EV_SEPARATOR, sep, 4, algs, n);
	lw_event_banks(w, 4, TPA_EV_EFI_BOOT_SERVICES_APPLICATION, "app", 3, algs,
		       short_app ? 1 : n);
}

/* A quote of PCRs 0-7 in the n banks of algs, holding what the log of w
 * replays to: a quote that agrees with its log. */
static void quote_as_logged(tpa_pcr_set *q, const buf *w, const uint16_t *algs, uint32_t n)
{
	tpa_eventlog *log = NULL;
	tpa_replay r;
	uint32_t b, p;

	memset(q, 0, sizeof(*q));
	CU_ASSERT_EQUAL_FATAL(tpa_eventlog_parse(&log, w->b, w->n), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_eventlog_replay(&r, log), 0);
	tpa_eventlog_free(log);
	for (b = 0; b < n; b++) {
		const tpa_replay_bank *rb = tpa_replay_bank_get(&r, algs[b]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(rb);
		CU_ASSERT_EQUAL_FATAL(tpa_pcr_set_add_bank(q, algs[b]), 0);
		for (p = 0; p < 8; p++)
			CU_ASSERT_EQUAL_FATAL(tpa_pcr_set_add(q, p, rb->value[p],
							      tpa_hash_size(algs[b])), 0);
	}
}

typedef struct {
	int passed;                    /* the named check's; -1: absent */
	char detail[TPA_CHECK_DETAIL_MAX];
	tpa_pcr_mask counted;
	int log_ok;
} boot_seen;

/* The boot of w as the verifier judges it with quote q, and what one check
 * said of it. */
static void boot_judged(boot_seen *s, const buf *w, const tpa_pcr_set *q, int quote_failed,
			uint16_t baseline_bank, const char *check)
{
	tpa_boot_input in;
	tpa_boot ev;
	tpa_findings f;
	const tpa_check *c;

	memset(&in, 0, sizeof(in));
	memset(&f, 0, sizeof(f));
	memset(s, 0, sizeof(*s));
	in.event_log = w->b;
	in.event_log_len = w->n;
	in.quoted = q;
	in.quote_failed = quote_failed;
	in.baseline_bank = baseline_bank;
	CU_ASSERT_EQUAL(tpa_boot_evaluate(&ev, &f, &in), 0);
	c = tpa_findings_find(&f, check);
	s->passed = c ? c->passed : -1;
	snprintf(s->detail, sizeof(s->detail), "%s", c ? c->detail : "");
	s->counted = ev.counted;
	s->log_ok = ev.log_ok;
	tpa_boot_clear(&ev);
}

#define SEEN_FAILED(s, text) do { \
		CU_ASSERT_EQUAL((s).passed, 0); \
		CU_ASSERT_PTR_NOT_NULL(strstr((s).detail, (text))); \
		CU_ASSERT_FALSE((s).log_ok); \
	} while (0)

/* The bank rules of a measured boot, each broken alone by a quote that
 * agrees with its log in every value: the log's strongest bank unquoted,
 * the baseline's bank unquoted, a crypto-agile log of sha1 alone; and no
 * event counts of a boot whose quote did not verify. */
static void test_boot_banks(void)
{
	static const uint16_t sha1_only[1] = { TPM2_ALG_SHA1 }, size20[1] = { 20 };
	tpa_pcr_set q;
	boot_seen s;
	buf w;

	boot_log(&w, two_banks, two_sizes, 2, 0xff, 0);
	quote_as_logged(&q, &w, two_banks, 2);
	boot_judged(&s, &w, &q, 0, TPM2_ALG_SHA1, "quote.banks");
	CU_ASSERT_EQUAL(s.passed, 1);
	CU_ASSERT_TRUE(s.log_ok);
	CU_ASSERT_EQUAL(s.counted, 0xffu);
	/* sha1 quoted, sha256 (the log's strongest) not */
	quote_as_logged(&q, &w, two_banks, 1);
	boot_judged(&s, &w, &q, 0, TPM2_ALG_SHA1, "quote.banks");
	SEEN_FAILED(s, "its strongest bank, and the quote covers sha1 only");
	CU_ASSERT_EQUAL(s.counted, 0);
	/* sha256 quoted, a baseline of sha1 to judge it */
	quote_as_logged(&q, &w, two_banks + 1, 1);
	boot_judged(&s, &w, &q, 0, TPM2_ALG_SHA256, "quote.banks");
	CU_ASSERT_EQUAL(s.passed, 1);
	CU_ASSERT_EQUAL(s.counted, 0xffu);
	boot_judged(&s, &w, &q, 0, TPM2_ALG_SHA1, "quote.banks");
	SEEN_FAILED(s, "the baseline's bank sha1 is not quoted (the quote covers sha256)");
	CU_ASSERT_EQUAL(s.counted, 0);   /* the values replay, yet are no evidence */
	/* the same quote, its signature or nonce wrong */
	boot_judged(&s, &w, &q, 1, TPM2_ALG_SHA256, "quote.banks");
	CU_ASSERT_EQUAL(s.counted, 0);
	/* a crypto-agile log of sha1 alone, quoted in sha1 */
	boot_log(&w, sha1_only, size20, 1, 0xff, 0);
	quote_as_logged(&q, &w, sha1_only, 1);
	boot_judged(&s, &w, &q, 0, TPM2_ALG_SHA1, "quote.banks");
	SEEN_FAILED(s, "the crypto-agile log's strongest bank is sha1");
	CU_ASSERT_EQUAL(s.counted, 0);
}

/* A log whose boot-application event lacks its sha256 digest cannot tell
 * PCR 4's sha256 value, even when the quote holds what the events that
 * have one replay to; and a log without PCR 7's EV_SEPARATOR, every other
 * rule held, is no whole boot. */
static void test_boot_whole(void)
{
	tpa_pcr_set q;
	boot_seen s;
	buf w;

	boot_log(&w, two_banks, two_sizes, 2, 0xff, 1);
	quote_as_logged(&q, &w, two_banks, 2);
	boot_judged(&s, &w, &q, 0, TPM2_ALG_SHA256, "eventlog.replay");
	SEEN_FAILED(s, "sha256 PCR 4: the log lacks sha256 digests for some of its events");
	CU_ASSERT_EQUAL(s.counted, 0xffu & ~(1u << 4));
	boot_log(&w, two_banks, two_sizes, 2, 0x7f, 0);
	quote_as_logged(&q, &w, two_banks, 2);
	boot_judged(&s, &w, &q, 0, TPM2_ALG_SHA256, "eventlog.replay");
	CU_ASSERT_EQUAL(s.passed, 1);
	boot_judged(&s, &w, &q, 0, TPM2_ALG_SHA256, "eventlog.separators");
	SEEN_FAILED(s, "no EV_SEPARATOR on PCR 7:");
}

static void test_type_names(void)
{
	CU_ASSERT_STRING_EQUAL(tpa_event_type_name(TPA_EV_SEPARATOR), "EV_SEPARATOR");
	CU_ASSERT_STRING_EQUAL(tpa_event_type_name(TPA_EV_EFI_VARIABLE_AUTHORITY),
			       "EV_EFI_VARIABLE_AUTHORITY");
	CU_ASSERT_PTR_NULL(tpa_event_type_name(0x12345678u));
	/* Every name back to its type: a name the writer prints, a baseline
	 * can say (EV_UNUSED and EV_EFI_EVENT_BASE were once missing). */
	{
		static const uint32_t ranges[][2] = { { 0, 0x40 }, { 0x80000000u, 0x80000100u } };
		uint32_t t, back;
		size_t r, named = 0;

		for (r = 0; r < 2; r++)
			for (t = ranges[r][0]; t < ranges[r][1]; t++) {
				const char *n = tpa_event_type_name(t);

				if (!n)
					continue;
				named++;
				back = 0xffffffffu;
				CU_ASSERT_EQUAL(tpa_event_type_from_name(&back, n), 0);
				CU_ASSERT_EQUAL(back, t);
			}
		CU_ASSERT(named >= 35);
		CU_ASSERT_EQUAL(tpa_event_type_from_name(&back, "EV_UNUSED"), 0);
		CU_ASSERT_EQUAL(back, 2);
		CU_ASSERT_EQUAL(tpa_event_type_from_name(&back, "EV_NOTHING"), TPA_ERR_NOT_FOUND);
		CU_ASSERT_EQUAL(tpa_event_type_from_name(&back, NULL), TPA_ERR_NOT_FOUND);
	}
	tpa_eventlog_free(NULL);
}

/* Every real log of tests/data/eventlog, in process (so that the valgrind
 * pass sees the parser, the replay, the launch state and a baseline learned
 * and appraised on each of them): what parses must replay, derive, learn and
 * accept its own boot; what does not parse must fail cleanly. */
static void test_corpus_in_process(void)
{
	static const char *const dirs[] = { "go-attestation", "go-eventlog/ccel", "go-tpm-tools",
					    "keylime", "tpm2-tools", "tpm2-tss" };
	size_t d, parsed = 0, refused = 0, unheld = 0;

	for (d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		char dir[256];
		DIR *dh;
		struct dirent *de;

		snprintf(dir, sizeof(dir), "tests/data/eventlog/%s", dirs[d]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(dh = opendir(dir));
		while ((de = readdir(dh))) {
			char path[600];
			uint8_t *b = NULL;
			size_t n = 0;
			tpa_eventlog *log = NULL;
			tpa_replay r;
			tpa_bootstate st = { 0 };
			const char *dot = strrchr(de->d_name, '.');

			if (de->d_name[0] == '.' || (dot && (!strcmp(dot, ".json") || !strcmp(dot, ".yaml"))))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (tpa_eventlog_read_file(&b, &n, path) < 0)
				continue;
			if (tpa_eventlog_parse(&log, b, n) < 0) {
				refused++;
				CU_ASSERT_PTR_NULL(log);
				free(b);
				continue;
			}
			parsed++;
			if (tpa_eventlog_replay(&r, log) == 0 &&
			    tpa_bootstate_derive(&st, log, 0, TPA_PCR_MASK_ALL) == 0) {
				tpa_boot_input in = { b, n, NULL, 0, TPA_BOOT_BANK_OF_LOG, NULL };
				tpa_baseline *bl = NULL;
				tpa_findings f;
				tpa_boot ev;
				tpa_appraisal a;

				/* A log whose evidence holds learns a baseline that
				 * accepts it, as the verifier judges it. */
				memset(&f, 0, sizeof(f));
				CU_ASSERT_EQUAL(tpa_boot_evaluate(&ev, &f, &in), 0);
				if (ev.log_ok) {
					CU_ASSERT_EQUAL(tpa_baseline_learn(&bl, &ev, "corpus"), 0);
					if (bl) {
						CU_ASSERT_EQUAL(tpa_baseline_appraise(&a, bl, &ev), 0);
						if (a.outcome != TPA_OUTCOME_COMPLIANT)
							fprintf(stderr, "%s: its own baseline: %s\n", path,
								tpa_outcome_name(a.outcome));
						CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_COMPLIANT);
					}
					tpa_baseline_free(bl);
				} else {
					unheld++;
				}
				tpa_boot_clear(&ev);
			}
			tpa_bootstate_clear(&st);
			tpa_eventlog_free(log);
			free(b);
		}
		closedir(dh);
	}
	CU_ASSERT(parsed >= 30);
	CU_ASSERT(refused >= 1); /* tpm2-tools' specid-vendordata.bin, at least */
	/* Logs whose evidence does not hold on its own (no separators on PCRs
	 * 0-7, SHA1-format logs without a sha1 baseline, ...): a few, not most. */
	fprintf(stderr, "\n  %zu of %zu real logs do not hold as a whole boot on their own\n",
		unheld, parsed);
	CU_ASSERT(unheld < parsed / 2);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("eventlog", NULL, NULL);
	CU_add_test(s, "a good crypto-agile log: parse, replay, state", test_good);
	CU_add_test(s, "truncated at every byte", test_truncated_everywhere);
	CU_add_test(s, "lying counts and sizes, caps", test_bad_sizes);
	CU_add_test(s, "caps with the bytes there: data, events", test_caps_with_data);
	CU_add_test(s, "Spec ID rules, unknown algorithms, legacy format", test_spec_id_rules);
	CU_add_test(s, "Spec ID and digest rules, each by name", test_spec_id_named);
	CU_add_test(s, "StartupLocality, PCR index 0xFFFFFFFF", test_locality_and_pcr_index);
	CU_add_test(s, "padding after the last event", test_padding);
	CU_add_test(s, "replay against quoted PCRs", test_compare);
	CU_add_test(s, "a quote of two banks, either wrong", test_compare_two_banks);
	CU_add_test(s, "a boot's banks: strongest, baseline's, sha1-only agile, failed quote",
		    test_boot_banks);
	CU_add_test(s, "a boot's replay incomplete, a separator missing", test_boot_whole);
	CU_add_test(s, "event type names", test_type_names);
	CU_add_test(s, "every real log, in process: parse, replay, state, baseline",
		    test_corpus_in_process);
	failed = test_run_all();
	return failed ? 1 : 0;
}
