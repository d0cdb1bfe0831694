/* SPDX-License-Identifier: BSD-3-Clause */
/* Secure Boot hygiene claims from verified facts and the reference bundle
 * (see sbclaims.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/efi.h"
#include "tpa/sbclaims.h"
#include "tpa/tpm_decode.h"

const char *const tpa_sb_claim_names[TPA_SBC_COUNT] = {
	"dbx_current", "ca_2023_ready", "ca_2011_only", "test_platform_key",
	"revoked_component_booted",
};

const char *tpa_sb_answer_name(tpa_sb_answer t)
{
	switch (t) {
	case TPA_SBA_YES: return "yes";
	case TPA_SBA_NO: return "no";
	case TPA_SBA_UNKNOWN: break;
	}
	return "unknown";
}

/* Whether a signature database can be judged: its fact verified and the
 * variable measured; else why not, into why. */
static int sigdb_usable(const tpa_bootstate *st, tpa_fact_id f, const tpa_efi_sigdb *db,
			const char *name, char *why, size_t cap)
{
	if (st->facts[f].status == TPA_FACT_UNVERIFIED) {
		snprintf(why, cap, "%s was measured on a PCR the quote does not vouch for", name);
		return 0;
	}
	if (st->facts[f].status != TPA_FACT_VERIFIED || !db->present) {
		/* A variable whose data does not hash to its digest is not kept. */
		if (st->digest_mismatches)
			snprintf(why, cap, "%s was not measured as the log shows it (%u event(s) do "
				 "not hash to their digest)", name, st->digest_mismatches);
		else
			snprintf(why, cap, "%s was not measured", name);
		return 0;
	}
	if (db->truncated) {
		snprintf(why, cap, "%s holds more entries than the verifier keeps", name);
		return 0;
	}
	return 1;
}

static int cmp32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* The SHA-256 fingerprints of a database's certificates (malloc'd, sorted;
 * NULL with n 0 if none). */
static uint8_t (*fingerprints(const tpa_efi_sigdb *db, size_t *n))[32]
{
	uint8_t (*fp)[32];
	size_t i, k = 0;

	*n = 0;
	if (!db->ncerts || !(fp = calloc(db->ncerts, 32)))
		return NULL;
	for (i = 0; i < db->ncerts; i++)
		if (tpa_efi_cert_sha256(fp[k], &db->certs[i]) == 0)
			k++;
	qsort(fp, k, 32, cmp32);
	*n = k;
	return fp;
}

static int has32(uint8_t (*v)[32], size_t n, const uint8_t *d)
{
	return n && bsearch(d, v, n, 32, cmp32) != NULL;
}

/* One missing revocation, kept if among the newest few. */
static void note_missing(tpa_sb_claims *c, char (*dates)[11], const char *added,
			 const char *text)
{
	size_t i, at = c->dbx_missing_nnamed;

	for (i = 0; i < c->dbx_missing_nnamed; i++)
		if (strcmp(added, dates[i]) > 0) {
			at = i;
			break;
		}
	if (at >= TPA_SBC_MISSING_SHOWN)
		return;
	if (c->dbx_missing_nnamed < TPA_SBC_MISSING_SHOWN)
		c->dbx_missing_nnamed++;
	for (i = c->dbx_missing_nnamed - 1; i > at; i--) {
		memcpy(dates[i], dates[i - 1], 11);
		memcpy(c->dbx_missing_named[i], c->dbx_missing_named[i - 1], TPA_SBC_TEXT_MAX);
	}
	snprintf(dates[at], 11, "%s", added);
	snprintf(c->dbx_missing_named[at], TPA_SBC_TEXT_MAX, "%s", text);
}

/* A security version number entry: 0x01, the application's GUID, then
 * its version as two little-endian 16-bit numbers, minor then major. */
static uint32_t svn_version(const uint8_t *v)
{
	return (uint32_t)(v[19] | v[20] << 8) << 16 | (uint32_t)(v[17] | v[18] << 8);
}

/* Whether dbx holds the SVN of s or a higher one for the same application. */
static int svn_met(const tpa_efi_sigdb *dbx, const tpa_sbref_svn *s)
{
	size_t i;

	for (i = 0; i < dbx->nhashes; i++)
		if (memcmp(dbx->hashes[i], s->value, 17) == 0 &&
		    svn_version(dbx->hashes[i]) >= svn_version(s->value))
			return 1;
	return 0;
}

/* The revocations of arch missing from dbx (seen: the bundle's slots its
 * hashes hold, as bits; fp, nf: its certificates' fingerprints, sorted;
 * its SVNs, whatever the architecture); with c, the newest of them named
 * (an SVN has no date in the bundle: named when there is room). */
static size_t missing_of(const tpa_sbref *r, tpa_sb_arch a, const uint8_t *seen,
			 uint8_t (*fp)[32], size_t nf, const tpa_efi_sigdb *dbx, size_t *required,
			 tpa_sb_claims *c)
{
	char dates[TPA_SBC_MISSING_SHOWN][11], text[TPA_SBC_TEXT_MAX];
	size_t i, missing = 0;

	*required = 0;
	for (i = 0; i < r->nimages[a]; i++) {
		const tpa_sbref_image *im = &r->images[a][i];

		if (im->optional)
			continue;
		++*required;
		if ((seen[im->slot / 8] >> (im->slot % 8)) & 1)
			continue;
		missing++;
		/* Only what will be named is written (the newest few). */
		if (c && (c->dbx_missing_nnamed < TPA_SBC_MISSING_SHOWN ||
			  strcmp(im->added, dates[TPA_SBC_MISSING_SHOWN - 1]) > 0)) {
			char hex[17];

			tpa_hex(hex, im->sha256, 8);
			snprintf(text, sizeof(text), "%.60s %s (revoked %s)%s%.80s",
				 im->file[0] ? im->file : "an image", hex, im->added,
				 im->description[0] ? ": " : "", im->description);
			note_missing(c, dates, im->added, text);
		}
	}
	for (i = 0; i < r->ncerts; i++) {
		++*required;
		if (has32(fp, nf, r->certs[i].sha256))
			continue;
		missing++;
		if (c) {
			snprintf(text, sizeof(text), "the certificate %s (revoked %s)",
				 r->certs[i].name, r->certs[i].added);
			note_missing(c, dates, r->certs[i].added, text);
		}
	}
	for (i = 0; i < r->nsvns; i++) {
		++*required;
		if (svn_met(dbx, &r->svns[i]))
			continue;
		missing++;
		if (c) {
			snprintf(text, sizeof(text), "the SVN %s of %s", r->svns[i].version,
				 r->svns[i].file[0] ? r->svns[i].file : "an application");
			note_missing(c, dates, "", text);
		}
	}
	return missing;
}

static void judge_dbx(tpa_sb_claims *c, const tpa_bootstate *st, const tpa_sbref *r)
{
	uint8_t (*fp)[32] = NULL, *seen;
	size_t nh = st->dbx.nhashes, nf = 0, overlap[TPA_SB_ARCH_COUNT] = { 0 }, i, req, best_m;
	int a, best = TPA_SB_ARCH_COUNT;

	c->arch = TPA_SB_ARCH_COUNT;
	if (!sigdb_usable(st, TPA_FACT_DBX, &st->dbx, "dbx", c->dbx_why, sizeof(c->dbx_why)))
		return;
	if (!(seen = calloc(r->nslots / 8 + 1, 1))) {
		snprintf(c->dbx_why, sizeof(c->dbx_why), "out of memory");
		return;
	}
	fp = fingerprints(&st->dbx, &nf);
	/* One lookup per entry; an entry listed twice counts once. The
	 * architecture: the one whose revocations the machine's dbx holds
	 * most of (dbx is measured; a device path is not). */
	for (i = 0; i < nh; i++) {
		long k = tpa_sbref_slot(r, st->dbx.hashes[i]);

		if (k < 0 || ((seen[k / 8] >> (k % 8)) & 1))
			continue;
		seen[k / 8] |= (uint8_t)(1u << (k % 8));
		for (a = 0; a < TPA_SB_ARCH_COUNT; a++)
			overlap[a] += (r->slots[k].archs >> a) & 1;
	}
	for (a = 0; a < TPA_SB_ARCH_COUNT; a++)
		if (overlap[a] && (best == TPA_SB_ARCH_COUNT || overlap[a] > overlap[best]))
			best = a;
	if (best != TPA_SB_ARCH_COUNT) {
		c->arch = (tpa_sb_arch)best;
		snprintf(c->arch_why, sizeof(c->arch_why), "dbx holds %zu %s revocations, more "
			 "than of any other architecture", overlap[best],
			 tpa_sb_arch_name(c->arch));
		c->dbx_missing = missing_of(r, c->arch, seen, fp, nf, &st->dbx, &c->dbx_required,
					    c);
	} else {
		/* None of any architecture: what every one lacks at least. */
		snprintf(c->arch_why, sizeof(c->arch_why), "dbx holds no revocation of the "
			 "bundle's: the architecture cannot be told from it");
		best_m = (size_t)-1;
		for (a = 0; a < TPA_SB_ARCH_COUNT; a++) {
			size_t m = missing_of(r, (tpa_sb_arch)a, seen, fp, nf, &st->dbx, &req, NULL);

			if (m < best_m) {
				best_m = m;
				best = a;
			}
		}
		c->dbx_missing = missing_of(r, (tpa_sb_arch)best, seen, fp, nf, &st->dbx,
					    &c->dbx_required, c);
	}
	c->dbx_current = c->dbx_missing ? TPA_SBA_NO : TPA_SBA_YES;
	if (c->dbx_missing)
		snprintf(c->dbx_why, sizeof(c->dbx_why), "%zu of the %zu revocations of %s are "
			 "not in dbx (%zu entries)", c->dbx_missing, c->dbx_required,
			 c->arch == TPA_SB_ARCH_COUNT ? "any architecture" :
			 tpa_sb_arch_name(c->arch), nh + st->dbx.ncerts);
	else
		snprintf(c->dbx_why, sizeof(c->dbx_why), "all %zu revocations of %s are in dbx",
			 c->dbx_required, tpa_sb_arch_name((tpa_sb_arch)best));
	free(seen);
	free(fp);
}

/* The bundle's CAs found in a database. */
typedef struct {
	const tpa_sbref_ca *v[TPA_SBREF_ENTRIES_MAX];
	size_t n;
} found_cas;

static void cas_in(found_cas *out, const tpa_efi_sigdb *db, const tpa_sbref *r)
{
	uint8_t d[32];
	size_t i;

	out->n = 0;
	for (i = 0; i < db->ncerts && out->n < TPA_SBREF_ENTRIES_MAX; i++) {
		const tpa_sbref_ca *ca;

		if (tpa_efi_cert_sha256(d, &db->certs[i]) == 0 && (ca = tpa_sbref_ca_find(r, d)))
			out->v[out->n++] = ca;
	}
}

static int found_has(const found_cas *f, const uint8_t *sha256)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (memcmp(f->v[i]->sha256, sha256, 32) == 0)
			return 1;
	return 0;
}

static void judge_cas(tpa_sb_claims *c, const tpa_bootstate *st, const tpa_sbref *r)
{
	found_cas kek, db;
	const found_cas *both[2] = { &kek, &db };
	const char *names[2] = { "KEK", "db" };
	size_t g2011 = 0, g2023 = 0, i, s;
	int kek2023 = 0, db2023 = 0;
	const tpa_sbref_ca *lacking = NULL, *of = NULL;
	const char *lacking_in = "";

	if (!sigdb_usable(st, TPA_FACT_KEK, &st->kek, "KEK", c->ca_2023_why,
			  sizeof(c->ca_2023_why)) ||
	    !sigdb_usable(st, TPA_FACT_DB, &st->db, "db", c->ca_2023_why, sizeof(c->ca_2023_why))) {
		snprintf(c->ca_2011_why, sizeof(c->ca_2011_why), "%s", c->ca_2023_why);
		return;
	}
	cas_in(&kek, &st->kek, r);
	cas_in(&db, &st->db, r);
	for (s = 0; s < 2; s++)
		for (i = 0; i < both[s]->n; i++) {
			const tpa_sbref_ca *ca = both[s]->v[i];

			if (ca->generation >= 2023) {
				g2023++;
				if (s == 0 && ca->store == TPA_SB_STORE_KEK)
					kek2023 = 1;
				if (s == 1 && ca->store == TPA_SB_STORE_DB)
					db2023 = 1;
			} else {
				g2011++;
			}
			if (ca->has_successor && !found_has(both[s], ca->successor) && !lacking) {
				lacking = tpa_sbref_ca_find(r, ca->successor);
				of = ca;
				lacking_in = names[s];
			}
		}
	if (!kek2023) {
		c->ca_2023_ready = TPA_SBA_NO;
		snprintf(c->ca_2023_why, sizeof(c->ca_2023_why),
			 "KEK holds no 2023 Microsoft KEK CA: it cannot take db or dbx updates "
			 "signed after the 2011 KEK CA expired");
	} else if (lacking && of) {
		c->ca_2023_ready = TPA_SBA_NO;
		snprintf(c->ca_2023_why, sizeof(c->ca_2023_why), "%s holds %.80s without %.80s",
			 lacking_in, of->name, lacking ? lacking->name : "its successor");
	} else if (!db2023) {
		c->ca_2023_ready = TPA_SBA_NO;
		snprintf(c->ca_2023_why, sizeof(c->ca_2023_why), "db holds no 2023 Microsoft CA");
	} else {
		c->ca_2023_ready = TPA_SBA_YES;
		snprintf(c->ca_2023_why, sizeof(c->ca_2023_why), "KEK and db hold the 2023 "
			 "Microsoft CAs (%zu) beside every 2011 CA they hold", g2023);
	}
	c->ca_2011_only = g2011 && !g2023 ? TPA_SBA_YES : TPA_SBA_NO;
	if (g2011 && !g2023)
		snprintf(c->ca_2011_why, sizeof(c->ca_2011_why), "KEK and db hold %zu Microsoft "
			 "CA%s, all of 2011", g2011, g2011 == 1 ? "" : "s");
	else if (g2023)
		snprintf(c->ca_2011_why, sizeof(c->ca_2011_why), "KEK and db hold %zu 2023 "
			 "Microsoft CA%s", g2023, g2023 == 1 ? "" : "s");
	else
		snprintf(c->ca_2011_why, sizeof(c->ca_2011_why), "KEK and db hold no Microsoft CA "
			 "of the bundle");
}

static void judge_pk(tpa_sb_claims *c, const tpa_bootstate *st, const tpa_sbref *r)
{
	char subject[TPA_EFI_SUBJECT_MAX];
	size_t i;

	if (!sigdb_usable(st, TPA_FACT_PK, &st->pk, "PK", c->test_pk_why, sizeof(c->test_pk_why)))
		return;
	c->test_platform_key = TPA_SBA_NO;
	if (!st->pk.ncerts) {
		snprintf(c->test_pk_why, sizeof(c->test_pk_why), "PK holds no certificate");
		return;
	}
	tpa_efi_cert_subject(c->pk_subject, sizeof(c->pk_subject), &st->pk.certs[0]);
	snprintf(c->test_pk_why, sizeof(c->test_pk_why), "PK: \"%.150s\"", c->pk_subject);
	for (i = 0; i < st->pk.ncerts; i++) {
		tpa_efi_cert_subject(subject, sizeof(subject), &st->pk.certs[i]);
		if (tpa_sbref_test_subject(r, subject)) {
			c->test_platform_key = TPA_SBA_YES;
			snprintf(c->pk_subject, sizeof(c->pk_subject), "%s", subject);
			snprintf(c->test_pk_why, sizeof(c->test_pk_why), "PK \"%.100s\" is a test key: "
				 "its private key is public", subject);
			return;
		}
	}
}

static void judge_components(tpa_sb_claims *c, const tpa_bootstate *st, const tpa_sbref *r)
{
	const tpa_fact *apps = &st->facts[TPA_FACT_BOOT_APPLICATIONS];
	const tpa_fact *auth = &st->facts[TPA_FACT_AUTHORITIES];
	uint8_t d[32];
	size_t i;
	int a;

	if (apps->status != TPA_FACT_VERIFIED || !st->napps) {
		snprintf(c->revoked_why, sizeof(c->revoked_why), "%s",
			 apps->status == TPA_FACT_UNVERIFIED ?
			 "the boot applications were measured on a PCR the quote does not vouch for" :
			 "no boot application was measured");
		return;
	}
	if (st->bank != TPM2_ALG_SHA256) {
		snprintf(c->revoked_why, sizeof(c->revoked_why), "the evidence bank is %s: the "
			 "bundle's revocations are SHA-256 Authenticode digests",
			 tpa_hash_label(st->bank));
		return;
	}
	if (st->truncated) {
		snprintf(c->revoked_why, sizeof(c->revoked_why), "the log holds more boot "
			 "applications or authorities than the verifier keeps");
		return;
	}
	for (i = 0; i < st->napps; i++)
		for (a = 0; a < TPA_SB_ARCH_COUNT; a++) {
			const tpa_sbref_image *im = tpa_sbref_image_revoked(r, (tpa_sb_arch)a,
									     st->apps[i].digest);

			if (!im)
				continue;
			c->revoked_component_booted = TPA_SBA_YES;
			snprintf(c->revoked_why, sizeof(c->revoked_why), "event #%u (%.60s): its "
				 "Authenticode digest is revoked (%s %.60s, %s)", st->apps[i].event,
				 st->apps[i].path[0] ? st->apps[i].path : "a boot application",
				 tpa_sb_arch_name((tpa_sb_arch)a), im->file[0] ? im->file : "an image",
				 im->added);
			return;
		}
	if (auth->status == TPA_FACT_UNVERIFIED) {
		snprintf(c->revoked_why, sizeof(c->revoked_why), "the authorities were measured on a "
			 "PCR the quote does not vouch for");
		return;
	}
	for (i = 0; auth->status == TPA_FACT_VERIFIED && i < st->nauthorities; i++) {
		const tpa_sbref_cert *rc;

		if (tpa_efi_cert_sha256(d, &st->authorities[i]) == 0 &&
		    (rc = tpa_sbref_cert_revoked(r, d))) {
			c->revoked_component_booted = TPA_SBA_YES;
			snprintf(c->revoked_why, sizeof(c->revoked_why), "a boot application was "
				 "verified by %.80s, a revoked certificate (%s)", rc->name, rc->added);
			return;
		}
	}
	c->revoked_component_booted = TPA_SBA_NO;
	snprintf(c->revoked_why, sizeof(c->revoked_why), "none of the %zu boot applications nor "
		 "the authorities that verified them is revoked", st->napps);
}

/* shim's own measurements: SbatLevel (PCR 7), MokSBState and the MOK
 * lists (PCR 14); each only from a PCR that counts. */
static void judge_shim(tpa_sb_claims *c, const tpa_bootstate *st)
{
	static const char *const names[TPA_MOK_LISTS] = { "MokList", "MokListX",
							  "MokListTrusted" };
	size_t k, ds = tpa_hash_size(st->bank);

	if (!((st->counted >> 7) & 1))
		snprintf(c->sbat_why, sizeof(c->sbat_why), "PCR 7 does not count");
	else if (!st->sbat_level[0])
		snprintf(c->sbat_why, sizeof(c->sbat_why), "shim measured no SbatLevel");
	else {
		snprintf(c->sbat_level, sizeof(c->sbat_level), "%s", st->sbat_level);
		snprintf(c->sbat_why, sizeof(c->sbat_why), "shim's SbatLevel");
	}
	if (!((st->counted >> 14) & 1)) {
		snprintf(c->mok_why, sizeof(c->mok_why), "PCR 14 does not count");
		return;
	}
	switch (st->mok_sb_state) {
	case 1:
		c->mok_validation = TPA_SBA_YES;
		snprintf(c->mok_why, sizeof(c->mok_why), "MokSBState is 0: shim validates");
		break;
	case 2:
		c->mok_validation = TPA_SBA_NO;
		snprintf(c->mok_why, sizeof(c->mok_why), "MokSBState is 1: shim validates nothing "
			 "it loads");
		break;
	case 3:
		snprintf(c->mok_why, sizeof(c->mok_why), "MokSBState holds another value");
		break;
	default:
		snprintf(c->mok_why, sizeof(c->mok_why), "MokSBState was not measured");
		break;
	}
	for (k = 0; k < TPA_MOK_LISTS; k++)
		if (st->mok_seen[k] && ds) {
			c->mok[c->nmok].name = names[k];
			tpa_hex(c->mok[c->nmok].digest, st->mok_digest[k], ds);
			c->nmok++;
		}
}

void tpa_sb_claims_derive(tpa_sb_claims *out, const tpa_bootstate *st, const tpa_sbref *ref)
{
	memset(out, 0, sizeof(*out));
	out->arch = TPA_SB_ARCH_COUNT;
	if (!ref || !st) {
		snprintf(out->dbx_why, sizeof(out->dbx_why), "no Secure Boot reference bundle");
		snprintf(out->ca_2023_why, sizeof(out->ca_2023_why), "%s", out->dbx_why);
		snprintf(out->ca_2011_why, sizeof(out->ca_2011_why), "%s", out->dbx_why);
		snprintf(out->test_pk_why, sizeof(out->test_pk_why), "%s", out->dbx_why);
		snprintf(out->revoked_why, sizeof(out->revoked_why), "%s", out->dbx_why);
		return;
	}
	out->judged = 1;
	judge_dbx(out, st, ref);
	judge_cas(out, st, ref);
	judge_pk(out, st, ref);
	judge_components(out, st, ref);
	judge_shim(out, st);
}
