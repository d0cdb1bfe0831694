/* SPDX-License-Identifier: BSD-3-Clause */
/* A measured boot as evidence (see boot.h). */
#include <stdio.h>
#include <string.h>

#include "tpa/boot.h"
#include "tpa/err.h"
#include "tpa/tpm_decode.h"

void tpa_boot_clear(tpa_boot *b)
{
	if (!b)
		return;
	tpa_bootstate_clear(&b->state);
	tpa_eventlog_free(b->log);
	memset(b, 0, sizeof(*b));
	b->state.first_mismatch = -1;
}

/* The banks of the quote, for the replay. */
static size_t quoted_algs(uint16_t *algs, const tpa_pcr_set *q)
{
	size_t n = 0;

	for (; n < q->nbanks && n < TPA_BANKS_MAX; n++)
		algs[n] = q->banks[n].hash_alg;
	return n;
}

static const char *banks_text(char *out, size_t cap, const tpa_pcr_set *q)
{
	size_t o = 0;
	uint32_t i;

	out[0] = '\0';
	for (i = 0; q && i < q->nbanks && i < TPA_BANKS_MAX && o + 1 < cap; i++) {
		int w = snprintf(out + o, cap - o, "%s%s", i ? "+" : "",
				 tpa_hash_label(q->banks[i].hash_alg));

		if (w < 0)
			break;
		o += (size_t)w;
	}
	return out;
}

/* The evidence bank and whether the quote covers what it must. */
static int check_banks(tpa_findings *f, tpa_boot *b, const tpa_boot_input *in)
{
	int sha1_format = tpa_eventlog_format(b->log) == TPA_EVLOG_SHA1;
	uint16_t baseline_bank = in->baseline_bank;
	char q[64];

	b->bank = tpa_eventlog_strongest_bank(b->log);
	if (baseline_bank == TPA_BOOT_BANK_OF_LOG)
		baseline_bank = b->bank;
	if (!b->bank) {
		tpa_findings_add(f, TPA_CHECK_QUOTE_BANKS, 0,
				 "the log declares no bank this verifier can compute");
		return 0;
	}
	if (sha1_format && baseline_bank != TPM2_ALG_SHA1) {
		tpa_findings_add(f, TPA_CHECK_QUOTE_BANKS, 0,
				 "a SHA1-format (TPM 1.2-era) log is evidence only for a baseline "
				 "whose bank is sha1");
		return 0;
	}
	if (!sha1_format && b->bank == TPM2_ALG_SHA1) {
		tpa_findings_add(f, TPA_CHECK_QUOTE_BANKS, 0,
				 "the crypto-agile log's strongest bank is sha1: sha1 is accepted "
				 "only for SHA1-format logs");
		return 0;
	}
	if (b->offline) {
		tpa_findings_add(f, TPA_CHECK_QUOTE_BANKS, 1,
				 "evidence bank %s, the log's strongest (no quote)",
				 tpa_hash_label(b->bank));
		return 1;
	}
	if (!tpa_pcr_set_bank(in->quoted, b->bank)) {
		tpa_findings_add(f, TPA_CHECK_QUOTE_BANKS, 0,
				 "the log declares %s, its strongest bank, and the quote covers %s "
				 "only: the quote must cover %s", tpa_hash_label(b->bank),
				 banks_text(q, sizeof(q), in->quoted), tpa_hash_label(b->bank));
		return 0;
	}
	if (baseline_bank && baseline_bank != b->bank &&
	    !tpa_pcr_set_bank(in->quoted, baseline_bank)) {
		tpa_findings_add(f, TPA_CHECK_QUOTE_BANKS, 0,
				 "the baseline's bank %s is not quoted (the quote covers %s)",
				 tpa_hash_label(baseline_bank),
				 banks_text(q, sizeof(q), in->quoted));
		return 0;
	}
	tpa_findings_add(f, TPA_CHECK_QUOTE_BANKS, 1, "the quote covers %s, the log's strongest bank",
			 tpa_hash_label(b->bank));
	return 1;
}

/* Offline: the replay of the evidence bank as if a quote had covered every
 * PCR the firmware's log speaks for. */
static int assume_quoted(tpa_boot *b)
{
	const tpa_replay_bank *rb = tpa_replay_bank_get(&b->replay, b->bank);
	size_t ds = tpa_hash_size(b->bank);
	uint32_t p;
	int err;

	memset(&b->assumed, 0, sizeof(b->assumed));
	if (!rb || (err = tpa_pcr_set_add_bank(&b->assumed, b->bank)) < 0)
		return tpa_err_fail(TPA_ERR_INTERNAL, "boot: the evidence bank was not replayed");
	for (p = 0; p < TPA_PCR_COUNT; p++)
		if (!((TPA_BOOT_OS_PCRS >> p) & 1) &&
		    (err = tpa_pcr_set_add(&b->assumed, p, rb->value[p], ds)) < 0)
			return err;
	b->quoted = &b->assumed;
	return 0;
}

static void check_separators(tpa_findings *f, const tpa_boot *b)
{
	tpa_pcr_mask missing = TPA_BOOT_SEPARATOR_PCRS & ~b->state.log_separators;
	char pcrs[64];

	if (!missing) {
		tpa_findings_add(f, TPA_CHECK_EVENTLOG_SEPARATORS, 1,
				 "PCRs 0-7 each have an EV_SEPARATOR");
		return;
	}
	tpa_pcr_mask_text(pcrs, sizeof(pcrs), missing);
	tpa_findings_add(f, TPA_CHECK_EVENTLOG_SEPARATORS, 0,
			 "no EV_SEPARATOR on PCR%s %s: the log does not hold a whole boot",
			 (missing & (missing - 1)) ? "s" : "", pcrs);
}

static int evaluate(tpa_boot *out, tpa_findings *f, const tpa_boot_input *in)
{
	tpa_boot *b = out;
	uint16_t algs[TPA_BANKS_MAX];
	size_t before = tpa_findings_failed(f), nalgs;
	int banks_ok, err;

	if (!out || !f || !in)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "boot: NULL");
	memset(b, 0, sizeof(*b));
	b->state.first_mismatch = -1;
	b->offline = !in->quoted;
	b->quoted = in->quoted;
	b->have_log = in->event_log && in->event_log_len;
	snprintf(b->state.secure_boot_why, sizeof(b->state.secure_boot_why), "no event log");
	if (!b->have_log)
		return 0;
	nalgs = b->offline ? 0 : quoted_algs(algs, in->quoted);
	/* Only the banks the quote covers are worth replaying; offline, all. */
	if ((err = tpa_eventlog_parse(&b->log, in->event_log, in->event_log_len)) < 0 ||
	    (err = tpa_eventlog_replay_banks(&b->replay, b->log, b->offline ? NULL : algs,
					     nalgs)) < 0) {
		if (err == TPA_ERR_NOMEM || err == TPA_ERR_CRYPTO)
			return err;
		tpa_findings_add(f, TPA_CHECK_EVENTLOG_PARSE, 0, "%s", tpa_err_last());
		snprintf(b->state.secure_boot_why, sizeof(b->state.secure_boot_why),
			 "the event log is malformed");
		tpa_eventlog_free(b->log);
		b->log = NULL;
		return 0;
	}
	tpa_findings_add(f, TPA_CHECK_EVENTLOG_PARSE, 1, "%s log, %zu events",
			 tpa_eventlog_format(b->log) == TPA_EVLOG_CRYPTO_AGILE ? "crypto-agile" :
			 "SHA1", tpa_eventlog_count(b->log));
	banks_ok = check_banks(f, b, in);
	if (!b->bank) {
		snprintf(b->state.secure_boot_why, sizeof(b->state.secure_boot_why),
			 "the log has no bank to check its events with");
		return 0;
	}
	if (b->offline) {
		/* The log alone: every PCR counts, as if quoted. */
		if ((err = assume_quoted(b)) < 0)
			return err;
		b->counted = TPA_PCR_MASK_ALL & ~TPA_BOOT_OS_PCRS;
	} else {
		err = tpa_eventlog_compare(f, &b->replay, in->quoted, TPA_BOOT_OS_PCRS, b->bank,
					   &b->counted);
		if (err < 0 && err != TPA_ERR_VERIFY)
			return err;
		if (!banks_ok || in->quote_failed)
			b->counted = 0; /* nothing of a bank that is not evidence counts */
	}
	if ((err = tpa_bootstate_derive(&b->state, b->log, b->bank, b->counted)) < 0)
		return err;
	if (b->state.digest_mismatches)
		tpa_findings_add(f, TPA_CHECK_EVENTLOG_DIGESTS, 0,
				 "%u event(s) carry data that does not hash to their digest (first: #%d)",
				 b->state.digest_mismatches, b->state.first_mismatch);
	else
		tpa_findings_add(f, TPA_CHECK_EVENTLOG_DIGESTS, 1,
				 "event data hashes to its %s digest wherever it must",
				 tpa_hash_label(b->bank));
	check_separators(f, b);
	b->log_ok = tpa_findings_failed(f) == before;
	return 0;
}

int tpa_boot_evaluate(tpa_boot *out, tpa_findings *f, const tpa_boot_input *in)
{
	int err = evaluate(out, f, in);

	/* Secure Boot hygiene from what counts of it (nothing without a log). */
	if (err == 0)
		tpa_sb_claims_derive(&out->secureboot, &out->state, in->sbref);
	return err;
}

tpa_pcr_mask tpa_boot_fact_pcrs(const tpa_boot *b)
{
	tpa_pcr_mask m = 0;
	int i;

	for (i = 0; b && i < TPA_FACT_COUNT; i++)
		if (b->state.facts[i].status != TPA_FACT_ABSENT)
			m |= b->state.facts[i].pcrs;
	return m;
}

int tpa_boot_quote_selection(tpa_pcr_set *out, const uint8_t *event_log, size_t n)
{
	static const uint8_t zero[TPA_DIGEST_MAX];
	tpa_eventlog *log = NULL;
	tpa_pcr_mask m = 0x3FF;
	uint16_t bank = TPM2_ALG_SHA256;
	uint32_t p;
	size_t i;
	int err;

	if (!out)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "quote selection: NULL");
	memset(out, 0, sizeof(*out));
	if (event_log && n && tpa_eventlog_parse(&log, event_log, n) == 0) {
		if (tpa_eventlog_strongest_bank(log))
			bank = tpa_eventlog_strongest_bank(log);
		for (i = 0; i < tpa_eventlog_count(log); i++) {
			const tpa_event *e = tpa_eventlog_event(log, i);

			if (e->type != TPA_EV_NO_ACTION && e->pcr < TPA_PCR_COUNT)
				m |= ((tpa_pcr_mask)1 << e->pcr) & TPA_BOOT_CHAIN_PCRS;
		}
		tpa_eventlog_free(log);
	}
	tpa_err_clear();
	if ((err = tpa_pcr_set_add_bank(out, bank)) < 0)
		return err;
	for (p = 0; p < TPA_PCR_COUNT; p++)
		if ((m >> p) & 1 && (err = tpa_pcr_set_add(out, p, zero, tpa_hash_size(bank))) < 0)
			return err;
	return 0;
}
