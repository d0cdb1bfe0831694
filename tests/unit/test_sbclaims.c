/* SPDX-License-Identifier: BSD-3-Clause */
/* Secure Boot hygiene claims: boots written here with Microsoft's real
 * KEK, db and PK certificates and the real revocations of the shipped
 * bundle (a 2023-ready machine, a stale dbx, 2011-only CAs, a test PK, a
 * revoked image booted, one verified by a revoked CA), each claim's answer
 * and why; the same boots with PCR 7 or 4 not counted say unknown; and
 * every real log of tests/data/eventlog judged, none of them crashing it. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tpa/baseline.h"
#include "tpa/boot.h"
#include "tpa/bootstate.h"
#include "tpa/efi.h"
#include "tpa/err.h"
#include "tpa/eventlog.h"
#include "tpa/sbclaims.h"
#include "tpa/sbref.h"
#include "tpa/tpm_decode.h"

#include "logwriter.h"

#define CERTS "tests/data/secureboot/certs/"

static tpa_sbref *ref;

typedef struct {
	uint8_t *der;
	size_t len;
} der;

static der pk_oem, pk_test, kek2011, kek2023, uefi2011, pca2011, wuefi2023, muefi2023;

static der load_der(const char *path)
{
	der d = { NULL, 0 };
	FILE *f = fopen(path, "rb");

	if (f && (d.der = malloc(65536)))
		d.len = fread(d.der, 1, 65536, f);
	if (f)
		fclose(f);
	return d;
}

static int suite_init(void)
{
	if (tpa_sbref_load(&ref, "packaging/secureboot-ref.json") < 0) {
		fprintf(stderr, "%s\n", tpa_err_last());
		return -1;
	}
	pk_oem = load_der(CERTS "pk-WindowsOEMDevicesPK.der");
	pk_test = load_der("tests/data/secureboot/test-pk-do-not-trust.der");
	kek2011 = load_der(CERTS "kek-MicCorKEKCA2011_2011-06-24.der");
	kek2023 = load_der(CERTS "kek-microsoft-corporation-kek-2k-ca-2023.der");
	uefi2011 = load_der(CERTS "db-MicCorUEFCA2011_2011-06-27.der");
	pca2011 = load_der(CERTS "db-MicWinProPCA2011_2011-10-19.der");
	wuefi2023 = load_der(CERTS "db-windows-uefi-ca-2023.der");
	muefi2023 = load_der(CERTS "db-microsoft-uefi-ca-2023.der");
	return pk_oem.len && pk_test.len && kek2011.len && kek2023.len && uefi2011.len &&
	       pca2011.len && wuefi2023.len && muefi2023.len ? 0 : -1;
}

static int suite_clean(void)
{
	der *all[] = { &pk_oem, &pk_test, &kek2011, &kek2023, &uefi2011, &pca2011, &wuefi2023,
		       &muefi2023 };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		free(all[i]->der);
	tpa_sbref_free(ref);
	return 0;
}

/* A machine: its databases and what it booted. */
typedef struct {
	const der *pk, *kek[3], *db[5];
	int dbx_all_x64;             /* every required x64 revocation and SVN ... */
	size_t dbx_drop_newest;      /* ... but the n newest revocations */
	int dbx_pca2011;             /* the revoked Windows PCA 2011 in dbx */
	const uint8_t *app_digest;   /* the boot application's Authenticode SHA-256 */
	const der *authority;        /* the CA that verified it (EV_EFI_VARIABLE_AUTHORITY) */
	int moksb;                   /* shim's MokSBState on PCR 14: 0 none, else value + 1 */
} machine;

static int svn_bootmgr;              /* bootmgfw's SVN in dbx: the bundle's major + this */

static void put_event(buf *w, uint32_t pcr, uint32_t type, const uint8_t *digest,
		      const void *data, uint32_t len)
{
	lw_u32(w, pcr);
	lw_u32(w, type);
	lw_u32(w, 1);
	lw_u16(w, TPM2_ALG_SHA256);
	lw_put(w, digest, 32);
	lw_u32(w, len);
	lw_put(w, data, len);
}

static int newest_first(const void *a, const void *b)
{
	return -strcmp((*(const tpa_sbref_image *const *)a)->added,
		       (*(const tpa_sbref_image *const *)b)->added);
}

/* The required x64 revocations, newest first (the order a stale dbx
 * lacks them in). */
static size_t required_x64(const tpa_sbref_image **out)
{
	size_t i, n = 0;

	for (i = 0; i < ref->nimages[TPA_SB_ARCH_X64]; i++)
		if (!ref->images[TPA_SB_ARCH_X64][i].optional)
			out[n++] = &ref->images[TPA_SB_ARCH_X64][i];
	qsort(out, n, sizeof(*out), newest_first);
	return n;
}

static void write_db(buf *w, const uint8_t *guid, const char *name, const der *const *certs,
		     size_t n, const uint8_t (*hashes)[32], size_t nh)
{
	static uint8_t lists[40000], var[41000];
	size_t ln = 0, i, vn;

	for (i = 0; i < n && certs[i]; i++)
		lw_siglist_x509(lists, &ln, certs[i]->der, certs[i]->len);
	if (nh)
		lw_siglist_sha256(lists, &ln, hashes, nh);
	vn = lw_efi_var(var, guid, name, lists, ln);
	lw_event2(w, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, var, (uint32_t)vn, NULL, 0);
}

static void write_boot(buf *w, const machine *m)
{
	static const uint8_t sep[4] = { 0 }, on = 1;
	static uint8_t hashes[TPA_SBREF_IMAGES_MAX][32], var[4096];
	const tpa_sbref_image *req[TPA_SBREF_IMAGES_MAX];
	const der *dbx_certs[1] = { &pca2011 };
	size_t vn, nh = 0, i, n;
	uint32_t p;

	memset(w, 0, sizeof(*w));
	lw_spec_id(w, lw_sha256_only, lw_size32, 1, 2);
	vn = lw_secureboot_var(var, &on, 1);
	lw_event2(w, 7, TPA_EV_EFI_VARIABLE_DRIVER_CONFIG, var, (uint32_t)vn, NULL, 0);
	write_db(w, tpa_efi_global_variable, "PK", &m->pk, m->pk ? 1 : 0, NULL, 0);
	write_db(w, tpa_efi_global_variable, "KEK", m->kek, 3, NULL, 0);
	write_db(w, tpa_efi_image_security_db, "db", m->db, 5, NULL, 0);
	if (m->dbx_all_x64) {
		n = required_x64(req);
		for (i = m->dbx_drop_newest; i < n; i++)
			memcpy(hashes[nh++], req[i]->sha256, 32);
		for (i = 0; i < ref->nsvns; i++) {
			memcpy(hashes[nh], ref->svns[i].value, 32);
			if (!strcmp(ref->svns[i].file, "bootmgfw.efi"))
				hashes[nh][19] = (uint8_t)(hashes[nh][19] + svn_bootmgr);
			nh++;
		}
	}
	write_db(w, tpa_efi_image_security_db, "dbx", dbx_certs, m->dbx_pca2011 ? 1 : 0,
		 (const uint8_t (*)[32])hashes, nh);
	for (p = 0; p < 8; p++)
		lw_event2(w, p, TPA_EV_SEPARATOR, sep, 4, NULL, 0);
	if (m->authority) {
		uint8_t sd[2048];

		memset(sd, 0, 16);
		memcpy(sd + 16, m->authority->der, m->authority->len);
		vn = lw_efi_var(var, tpa_efi_image_security_db, "db", sd, 16 + m->authority->len);
		lw_event2(w, 7, TPA_EV_EFI_VARIABLE_AUTHORITY, var, (uint32_t)vn, NULL, 0);
	}
	if (m->app_digest)
		put_event(w, 4, TPA_EV_EFI_BOOT_SERVICES_APPLICATION, m->app_digest, "app", 3);
	if (m->moksb) {
		uint8_t v = (uint8_t)(m->moksb - 1), d[32];

		/* shim's PCR 14 event: its name as data, the value's digest. */
		tpa_hash(d, TPM2_ALG_SHA256, &v, 1);
		put_event(w, 14, TPA_EV_IPL, d, "MokSBState", 11);
	}
	lw_event2(w, 5, TPA_EV_EFI_ACTION, "Exit Boot Services Invocation", 29, NULL, 0);
}

/* The claims of m's boot with the PCRs of counted counting. */
static void judge(tpa_sb_claims *c, const machine *m, tpa_pcr_mask counted)
{
	static buf w;
	tpa_eventlog *log = NULL;
	tpa_bootstate st;

	write_boot(&w, m);
	memset(&st, 0, sizeof(st));
	CU_ASSERT_EQUAL_FATAL(tpa_eventlog_parse(&log, w.b, w.n), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_bootstate_derive(&st, log, TPM2_ALG_SHA256, counted), 0);
	CU_ASSERT_EQUAL(st.digest_mismatches, 0);
	tpa_sb_claims_derive(c, &st, ref);
	tpa_bootstate_clear(&st);
	tpa_eventlog_free(log);
}

static const uint8_t clean_app[32] = { 0x11, 0x22, 0x33 };

#define WHY_HAS(field, text) do { \
		if (!strstr((field), (text))) { \
			fprintf(stderr, "\n  wanted '%s' in '%s'\n", (text), (field)); \
			CU_FAIL(#field " does not say it"); \
		} \
	} while (0)

/* Everything a machine should have in 2026: every claim good. */
static void test_ready_machine(void)
{
	machine m = { &pk_oem, { &kek2011, &kek2023 }, { &uefi2011, &pca2011, &wuefi2023, &muefi2023 },
		      1, 0, 1, clean_app, &wuefi2023, 0 };
	tpa_sb_claims c;

	judge(&c, &m, TPA_PCR_MASK_ALL);
	CU_ASSERT_TRUE(c.judged);
	CU_ASSERT_EQUAL(c.arch, TPA_SB_ARCH_X64);
	CU_ASSERT_EQUAL(c.dbx_current, TPA_SBA_YES);
	CU_ASSERT_EQUAL(c.dbx_missing, 0);
	/* x64's not optional, PCA 2011, the SVNs of bootmgfw, cdboot, wdsmgfw */
	CU_ASSERT_EQUAL(c.dbx_required, 289 + 1 + 3);
	WHY_HAS(c.dbx_why, "all 293 revocations of x64 are in dbx");
	CU_ASSERT_EQUAL(c.ca_2023_ready, TPA_SBA_YES);
	CU_ASSERT_EQUAL(c.ca_2011_only, TPA_SBA_NO);
	CU_ASSERT_EQUAL(c.test_platform_key, TPA_SBA_NO);
	CU_ASSERT_STRING_EQUAL(c.pk_subject, "Windows OEM Devices PK");
	CU_ASSERT_EQUAL(c.revoked_component_booted, TPA_SBA_NO);
}

/* A dbx of a year ago: the newest revocations missing, named newest first. */
static void test_stale_dbx(void)
{
	machine m = { &pk_oem, { &kek2023 }, { &wuefi2023, &muefi2023 }, 1, 3, 0, clean_app,
		      &wuefi2023, 0 };
	const tpa_sbref_image *req[TPA_SBREF_IMAGES_MAX];
	tpa_sb_claims c;

	required_x64(req);
	judge(&c, &m, TPA_PCR_MASK_ALL);
	CU_ASSERT_EQUAL(c.arch, TPA_SB_ARCH_X64);
	CU_ASSERT_EQUAL(c.dbx_current, TPA_SBA_NO);
	CU_ASSERT_EQUAL(c.dbx_missing, 3 + 1);
	WHY_HAS(c.dbx_why, "4 of the 293 revocations of x64 are not in dbx");
	CU_ASSERT_EQUAL(c.dbx_missing_nnamed, TPA_SBC_MISSING_SHOWN);
	WHY_HAS(c.dbx_missing_named[0], req[0]->added);
	CU_ASSERT(strcmp(req[0]->added, "2026-01-01") >= 0);   /* this year's */
	CU_ASSERT_EQUAL(c.ca_2023_ready, TPA_SBA_YES);   /* the CAs are not the dbx */
}

/* Security version numbers: dbx holds the bundle's SVN of an application,
 * or a higher one; a lower one is missing, named. */
static void test_svn(void)
{
	machine m = { &pk_oem, { &kek2011, &kek2023 }, { &uefi2011, &pca2011, &wuefi2023, &muefi2023 },
		      1, 0, 1, clean_app, &wuefi2023, 0 };
	tpa_sb_claims c;

	svn_bootmgr = 1;
	judge(&c, &m, TPA_PCR_MASK_ALL);
	CU_ASSERT_EQUAL(c.dbx_current, TPA_SBA_YES);       /* 10.0 where 9.0 is asked */
	svn_bootmgr = -1;
	judge(&c, &m, TPA_PCR_MASK_ALL);
	svn_bootmgr = 0;
	CU_ASSERT_EQUAL(c.dbx_current, TPA_SBA_NO);        /* 8.0: BlackLotus's fix not in */
	CU_ASSERT_EQUAL(c.dbx_missing, 1);
	WHY_HAS(c.dbx_missing_named[0], "the SVN 9.0 of bootmgfw.efi");
}

/* A dbx holding nothing of the bundle's: not current on any architecture. */
static void test_empty_dbx(void)
{
	machine m = { &pk_oem, { &kek2011 }, { &uefi2011 }, 0, 0, 0, clean_app, &uefi2011, 0 };
	tpa_sb_claims c;
	size_t a, least = (size_t)-1;

	for (a = 0; a < TPA_SB_ARCH_COUNT; a++) {
		size_t i, n = ref->ncerts + ref->nsvns;

		for (i = 0; i < ref->nimages[a]; i++)
			n += !ref->images[a][i].optional;
		if (n < least)
			least = n;
	}
	judge(&c, &m, TPA_PCR_MASK_ALL);
	CU_ASSERT_EQUAL(c.arch, TPA_SB_ARCH_COUNT);
	CU_ASSERT_EQUAL(c.dbx_current, TPA_SBA_NO);
	CU_ASSERT_EQUAL(c.dbx_missing, least);
	WHY_HAS(c.arch_why, "the architecture cannot be told");
	WHY_HAS(c.dbx_why, "of any architecture");
}

/* Only the 2011 CAs, which expired in 2026; and a KEK updated but a db
 * that holds the Windows PCA 2011 without its successor. */
static void test_ca_2011(void)
{
	machine m = { &pk_oem, { &kek2011 }, { &uefi2011, &pca2011 }, 1, 0, 1, clean_app,
		      &uefi2011, 0 };
	tpa_sb_claims c;

	judge(&c, &m, TPA_PCR_MASK_ALL);
	CU_ASSERT_EQUAL(c.ca_2023_ready, TPA_SBA_NO);
	WHY_HAS(c.ca_2023_why, "KEK holds no 2023 Microsoft KEK CA");
	CU_ASSERT_EQUAL(c.ca_2011_only, TPA_SBA_YES);
	WHY_HAS(c.ca_2011_why, "KEK and db hold 3 Microsoft CAs, all of 2011");

	m.kek[1] = &kek2023;
	m.db[2] = &muefi2023;
	judge(&c, &m, TPA_PCR_MASK_ALL);
	CU_ASSERT_EQUAL(c.ca_2023_ready, TPA_SBA_NO);
	WHY_HAS(c.ca_2023_why, "db holds Microsoft Windows Production PCA 2011 without Windows "
		"UEFI CA 2023");
	CU_ASSERT_EQUAL(c.ca_2011_only, TPA_SBA_NO);
	m.db[3] = &wuefi2023;
	judge(&c, &m, TPA_PCR_MASK_ALL);
	CU_ASSERT_EQUAL(c.ca_2023_ready, TPA_SBA_YES);
	/* KEK 2023 alone, db of 2011 only */
	m.kek[0] = &kek2023;
	m.kek[1] = NULL;
	m.db[2] = m.db[3] = NULL;
	judge(&c, &m, TPA_PCR_MASK_ALL);
	CU_ASSERT_EQUAL(c.ca_2023_ready, TPA_SBA_NO);
	WHY_HAS(c.ca_2023_why, "db holds Microsoft Corporation UEFI CA 2011 without Microsoft "
		"UEFI CA 2023");
}

/* A vendor's test PK ("DO NOT TRUST - AMI Test PK", CVE-2024-8105). */
static void test_test_pk(void)
{
	machine m = { &pk_test, { &kek2023 }, { &wuefi2023 }, 1, 0, 1, clean_app, &wuefi2023, 0 };
	tpa_sb_claims c;

	judge(&c, &m, TPA_PCR_MASK_ALL);
	CU_ASSERT_EQUAL(c.test_platform_key, TPA_SBA_YES);
	CU_ASSERT_STRING_EQUAL(c.pk_subject, "DO NOT TRUST - AMI Test PK");
	WHY_HAS(c.test_pk_why, "is a test key");
	m.pk = NULL;
	judge(&c, &m, TPA_PCR_MASK_ALL);
	CU_ASSERT_EQUAL(c.test_platform_key, TPA_SBA_NO);
	WHY_HAS(c.test_pk_why, "PK holds no certificate");
}

/* A revoked shim booted, though the machine's dbx (current in this test
 * but for it) lacks nothing else; and a clean image verified by the revoked
 * Windows PCA 2011. */
static void test_revoked_booted(void)
{
	uint8_t shim[32];
	machine m = { &pk_oem, { &kek2023 }, { &wuefi2023, &muefi2023 }, 0, 0, 0, shim,
		      &muefi2023, 0 };
	tpa_sb_claims c;
	size_t i;

	for (i = 0; i < 32; i++)
		shim[i] = (uint8_t)(tpa_hex_digit("80b4d96931bf0d02fd91a61e19d14f1da452e66db2408ca8604d411f92659f0a"[2 * i]) << 4 |
				    tpa_hex_digit("80b4d96931bf0d02fd91a61e19d14f1da452e66db2408ca8604d411f92659f0a"[2 * i + 1]));
	judge(&c, &m, TPA_PCR_MASK_ALL);
	CU_ASSERT_EQUAL(c.revoked_component_booted, TPA_SBA_YES);
	WHY_HAS(c.revoked_why, "its Authenticode digest is revoked (x64 shim.efi, 2018-04-01)");
	m.app_digest = clean_app;
	m.authority = &pca2011;
	judge(&c, &m, TPA_PCR_MASK_ALL);
	CU_ASSERT_EQUAL(c.revoked_component_booted, TPA_SBA_YES);
	WHY_HAS(c.revoked_why, "verified by Microsoft Windows Production PCA 2011, a revoked "
		"certificate");
	m.authority = &muefi2023;
	judge(&c, &m, TPA_PCR_MASK_ALL);
	CU_ASSERT_EQUAL(c.revoked_component_booted, TPA_SBA_NO);
}

/* Facts the quote does not vouch for are no evidence: unknown, never yes
 * or no; and without a bundle nothing is judged. */
static void test_unvouched(void)
{
	machine m = { &pk_test, { &kek2011 }, { &uefi2011 }, 1, 3, 0, clean_app, &pca2011, 0 };
	tpa_sb_claims c;

	judge(&c, &m, TPA_PCR_MASK_ALL & ~(1u << 7));
	CU_ASSERT_EQUAL(c.dbx_current, TPA_SBA_UNKNOWN);
	WHY_HAS(c.dbx_why, "dbx was measured on a PCR the quote does not vouch for");
	CU_ASSERT_EQUAL(c.ca_2023_ready, TPA_SBA_UNKNOWN);
	CU_ASSERT_EQUAL(c.ca_2011_only, TPA_SBA_UNKNOWN);
	CU_ASSERT_EQUAL(c.test_platform_key, TPA_SBA_UNKNOWN);
	CU_ASSERT_EQUAL(c.revoked_component_booted, TPA_SBA_UNKNOWN);  /* its authority */
	WHY_HAS(c.revoked_why, "authorities were measured on a PCR the quote does not vouch for");
	judge(&c, &m, TPA_PCR_MASK_ALL & ~(1u << 4));
	CU_ASSERT_EQUAL(c.revoked_component_booted, TPA_SBA_UNKNOWN);
	WHY_HAS(c.revoked_why, "boot applications were measured on a PCR the quote does not");
	CU_ASSERT_EQUAL(c.test_platform_key, TPA_SBA_YES);   /* PCR 7 counts */
	m.app_digest = NULL;
	judge(&c, &m, TPA_PCR_MASK_ALL);
	CU_ASSERT_EQUAL(c.revoked_component_booted, TPA_SBA_UNKNOWN);
	WHY_HAS(c.revoked_why, "no boot application was measured");
	{
		tpa_bootstate st;

		memset(&st, 0, sizeof(st));
		tpa_sb_claims_derive(&c, &st, NULL);
		CU_ASSERT_FALSE(c.judged);
		CU_ASSERT_EQUAL(c.dbx_current, TPA_SBA_UNKNOWN);
		CU_ASSERT_EQUAL(c.test_platform_key, TPA_SBA_UNKNOWN);
		WHY_HAS(c.dbx_why, "no Secure Boot reference bundle");
	}
}

/* What some real logs' PCR 7 holds, as this bundle (data of 2026-07-15)
 * judges it: dbx missing so many x64 revocations, and the CAs. */
static const struct {
	const char *file;
	size_t missing;                /* of x64's 293 */
	tpa_sb_answer ready, only2011;
} expected[] = {
	{ "tests/data/eventlog/go-tpm-tools/rhel8-uefi.bin", 113, TPA_SBA_NO, TPA_SBA_YES },
	{ "tests/data/eventlog/go-tpm-tools/gdc-host.bin", 73, TPA_SBA_NO, TPA_SBA_YES },
	{ "tests/data/eventlog/go-attestation/windows_gcp_shielded_vm.bin", 266, TPA_SBA_NO,
	  TPA_SBA_YES },
	{ "tests/data/eventlog/keylime/binary_bios_measurements-secureboot", 73, TPA_SBA_YES,
	  TPA_SBA_NO },
};

/* The baseline rules of the claims: each fails by its claim's reason with
 * its severity, passes when the claim is good, and fails, never passes,
 * when it cannot be told (PCR 7 not counted, no bundle). */
static const char hygiene[] =
	"{\"tpa_baseline\": 1, \"name\": \"hygiene\", \"bank\": \"sha256\", "
	"\"required_pcrs\": [], \"rules\": {"
	"\"dbx-current\": {\"severity\": \"warning\"}, "
	"\"ca-2023\": {\"severity\": \"critical\"}, "
	"\"no-test-keys\": {\"severity\": \"critical\"}, "
	"\"no-revoked-components\": {\"severity\": \"critical\"}}}";

static void appraise(tpa_appraisal *a, const machine *m, const tpa_sbref *r, int quote_pcr7)
{
	static buf w;
	tpa_boot_input in;
	tpa_findings f;
	tpa_baseline *b = NULL;
	tpa_pcr_set q;
	tpa_boot ev;
	tpa_eventlog *log = NULL;
	tpa_replay rp;
	uint32_t p;

	write_boot(&w, m);
	memset(&in, 0, sizeof(in));
	memset(&f, 0, sizeof(f));
	in.event_log = w.b;
	in.event_log_len = w.n;
	in.sbref = r;
	in.baseline_bank = TPM2_ALG_SHA256;
	/* A quote of what the log replays to: PCRs 0-7 but 7 unless asked. */
	CU_ASSERT_EQUAL_FATAL(tpa_eventlog_parse(&log, w.b, w.n), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_eventlog_replay(&rp, log), 0);
	tpa_eventlog_free(log);
	memset(&q, 0, sizeof(q));
	tpa_pcr_set_add_bank(&q, TPM2_ALG_SHA256);
	for (p = 0; p < 8; p++)
		if (p != 7 || quote_pcr7)
			tpa_pcr_set_add(&q, p, tpa_replay_bank_get(&rp, TPM2_ALG_SHA256)->value[p], 32);
	in.quoted = &q;
	CU_ASSERT_EQUAL_FATAL(tpa_boot_evaluate(&ev, &f, &in), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_baseline_parse(&b, hygiene, sizeof(hygiene) - 1, "hygiene"), 0);
	CU_ASSERT_EQUAL(tpa_baseline_appraise(a, b, &ev), 0);
	tpa_baseline_free(b);
	tpa_boot_clear(&ev);
}

static const tpa_rule_result *rule(const tpa_appraisal *a, tpa_rule_id id)
{
	return &a->rules[id];
}

static void test_rules(void)
{
	machine good = { &pk_oem, { &kek2011, &kek2023 },
			 { &uefi2011, &pca2011, &wuefi2023, &muefi2023 }, 1, 0, 1, clean_app,
			 &wuefi2023, 0 };
	machine m = good;
	tpa_appraisal a;

	appraise(&a, &good, ref, 1);
	CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_COMPLIANT);
	CU_ASSERT_EQUAL(rule(&a, TPA_RULE_DBX_CURRENT)->status, TPA_RULE_PASS);
	WHY_HAS(rule(&a, TPA_RULE_DBX_CURRENT)->detail, "all 293 revocations of x64 are in dbx");
	CU_ASSERT_EQUAL(rule(&a, TPA_RULE_CA_2023)->status, TPA_RULE_PASS);
	CU_ASSERT_EQUAL(rule(&a, TPA_RULE_NO_TEST_KEYS)->status, TPA_RULE_PASS);
	CU_ASSERT_EQUAL(rule(&a, TPA_RULE_NO_REVOKED_COMPONENTS)->status, TPA_RULE_PASS);
	tpa_appraisal_clear(&a);
	/* a stale dbx: a warning, the newest missing named */
	m.dbx_drop_newest = 1;
	appraise(&a, &m, ref, 1);
	CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_WARNING);
	CU_ASSERT_EQUAL(rule(&a, TPA_RULE_DBX_CURRENT)->status, TPA_RULE_FAIL);
	WHY_HAS(rule(&a, TPA_RULE_DBX_CURRENT)->detail, "1 of the 293 revocations of x64 are not "
		"in dbx (292 entries); the newest missing: ");
	tpa_appraisal_clear(&a);
	/* a test PK, 2011 CAs only: critical */
	m = good;
	m.pk = &pk_test;
	m.kek[1] = NULL;
	m.db[2] = m.db[3] = NULL;
	appraise(&a, &m, ref, 1);
	CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_NON_COMPLIANT);
	CU_ASSERT_EQUAL(rule(&a, TPA_RULE_NO_TEST_KEYS)->status, TPA_RULE_FAIL);
	WHY_HAS(rule(&a, TPA_RULE_NO_TEST_KEYS)->detail, "DO NOT TRUST - AMI Test PK");
	CU_ASSERT_EQUAL(rule(&a, TPA_RULE_CA_2023)->status, TPA_RULE_FAIL);
	WHY_HAS(rule(&a, TPA_RULE_CA_2023)->detail, "KEK holds no 2023 Microsoft KEK CA");
	CU_ASSERT_EQUAL(rule(&a, TPA_RULE_NO_REVOKED_COMPONENTS)->status, TPA_RULE_PASS);
	tpa_appraisal_clear(&a);
	/* verified by the revoked Windows PCA 2011 */
	m = good;
	m.authority = &pca2011;
	appraise(&a, &m, ref, 1);
	CU_ASSERT_EQUAL(rule(&a, TPA_RULE_NO_REVOKED_COMPONENTS)->status, TPA_RULE_FAIL);
	WHY_HAS(rule(&a, TPA_RULE_NO_REVOKED_COMPONENTS)->detail,
		"verified by Microsoft Windows Production PCA 2011");
	CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_NON_COMPLIANT);
	tpa_appraisal_clear(&a);
	/* PCR 7 not quoted: every rule of it fails, none passes on silence */
	appraise(&a, &good, ref, 0);
	CU_ASSERT_EQUAL(rule(&a, TPA_RULE_DBX_CURRENT)->status, TPA_RULE_FAIL);
	CU_ASSERT_EQUAL(rule(&a, TPA_RULE_CA_2023)->status, TPA_RULE_FAIL);
	CU_ASSERT_EQUAL(rule(&a, TPA_RULE_NO_TEST_KEYS)->status, TPA_RULE_FAIL);
	CU_ASSERT_EQUAL(rule(&a, TPA_RULE_NO_REVOKED_COMPONENTS)->status, TPA_RULE_FAIL);
	WHY_HAS(rule(&a, TPA_RULE_NO_TEST_KEYS)->detail, "PCR 7 is not vouched for by the quote");
	tpa_appraisal_clear(&a);
	/* no bundle: no evidence */
	appraise(&a, &good, NULL, 1);
	CU_ASSERT_EQUAL(rule(&a, TPA_RULE_NO_TEST_KEYS)->status, TPA_RULE_FAIL);
	WHY_HAS(rule(&a, TPA_RULE_NO_TEST_KEYS)->detail, "no Secure Boot reference bundle");
	CU_ASSERT_EQUAL(a.outcome, TPA_OUTCOME_NON_COMPLIANT);
	tpa_appraisal_clear(&a);
}

/* shim's MokSBState: 0 validates, 1 validates nothing; PCR 14 not counted
 * or not measured: unknown. */
static void test_mok_validation(void)
{
	machine m = { &pk_oem, { &kek2023 }, { &wuefi2023 }, 1, 0, 1, clean_app, &wuefi2023, 1 };
	tpa_sb_claims c;

	judge(&c, &m, TPA_PCR_MASK_ALL);
	CU_ASSERT_EQUAL(c.mok_validation, TPA_SBA_YES);
	WHY_HAS(c.mok_why, "MokSBState is 0");
	m.moksb = 2;
	judge(&c, &m, TPA_PCR_MASK_ALL);
	CU_ASSERT_EQUAL(c.mok_validation, TPA_SBA_NO);
	WHY_HAS(c.mok_why, "shim validates nothing it loads");
	judge(&c, &m, TPA_PCR_MASK_ALL & ~(1u << 14));
	CU_ASSERT_EQUAL(c.mok_validation, TPA_SBA_UNKNOWN);
	WHY_HAS(c.mok_why, "PCR 14 does not count");
	m.moksb = 0;
	judge(&c, &m, TPA_PCR_MASK_ALL);
	CU_ASSERT_EQUAL(c.mok_validation, TPA_SBA_UNKNOWN);
	WHY_HAS(c.mok_why, "MokSBState was not measured");
	CU_ASSERT_STRING_EQUAL(c.sbat_level, "");
	WHY_HAS(c.sbat_why, "shim measured no SbatLevel");
}

/* Every real log, judged as if its PCRs were quoted: what its PCR 7 holds. */
static void test_real_logs(void)
{
	static const char *const dirs[] = { "tests/data/eventlog/go-attestation",
					    "tests/data/eventlog/go-tpm-tools",
					    "tests/data/eventlog/keylime",
					    "tests/data/eventlog/tpm2-tools" };
	char path[512];
	size_t d, k, judged = 0, current = 0, ready = 0, only2011 = 0, seen = 0;

	for (d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		DIR *dir = opendir(dirs[d]);
		struct dirent *de;

		while (dir && (de = readdir(dir))) {
			const char *dot = strrchr(de->d_name, '.');
			uint8_t *b = NULL;
			size_t n = 0;
			tpa_eventlog *log = NULL;
			tpa_bootstate st;
			tpa_sb_claims c;

			if (de->d_name[0] == '.' || (dot && (!strcmp(dot, ".json") ||
							     !strcmp(dot, ".yaml"))))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[d], de->d_name);
			memset(&st, 0, sizeof(st));
			if (tpa_eventlog_read_file(&b, &n, path) < 0 ||
			    tpa_eventlog_parse(&log, b, n) < 0 ||
			    tpa_bootstate_derive(&st, log, 0, TPA_PCR_MASK_ALL) < 0) {
				tpa_bootstate_clear(&st);
				tpa_eventlog_free(log);
				free(b);
				continue;
			}
			tpa_sb_claims_derive(&c, &st, ref);
			for (k = 0; k < sizeof(expected) / sizeof(expected[0]); k++) {
				if (strcmp(path, expected[k].file) != 0)
					continue;
				seen++;
				CU_ASSERT_EQUAL(c.arch, TPA_SB_ARCH_X64);
				CU_ASSERT_EQUAL(c.dbx_current, TPA_SBA_NO);
				CU_ASSERT_EQUAL(c.dbx_missing, expected[k].missing);
				CU_ASSERT_EQUAL(c.ca_2023_ready, expected[k].ready);
				CU_ASSERT_EQUAL(c.ca_2011_only, expected[k].only2011);
			}
			/* shim's SbatLevel and MOK lists of a real Fedora boot. */
			if (strstr(path, "binary_bios_measurements-secureboot")) {
				CU_ASSERT_STRING_EQUAL(c.sbat_level, "sbat,1,2023012900 shim,2 grub,3 "
						       "grub.debian,4");
				CU_ASSERT_EQUAL(c.nmok, 3);
				CU_ASSERT_STRING_EQUAL(c.mok[0].name, "MokList");
				CU_ASSERT_STRING_EQUAL(c.mok[0].digest, "c9531063a008ed66ab48b0b1dcd2b9ac"
						       "a25ff47cde33f3cb054ce06965f79449");
				CU_ASSERT_EQUAL(c.mok_validation, TPA_SBA_UNKNOWN);
				seen++;
			}
			if (c.dbx_current != TPA_SBA_UNKNOWN) {
				judged++;
				current += c.dbx_current == TPA_SBA_YES;
				ready += c.ca_2023_ready == TPA_SBA_YES;
				only2011 += c.ca_2011_only == TPA_SBA_YES;
				printf("\n  %s: dbx %s (%s; %s), 2023-ready %s, 2011-only %s, "
				       "test PK %s", path, tpa_sb_answer_name(c.dbx_current), c.dbx_why,
				       c.arch_why, tpa_sb_answer_name(c.ca_2023_ready),
				       tpa_sb_answer_name(c.ca_2011_only),
				       tpa_sb_answer_name(c.test_platform_key));
			}
			tpa_bootstate_clear(&st);
			tpa_eventlog_free(log);
			free(b);
		}
		if (dir)
			closedir(dir);
	}
	printf("\n  %zu real logs with a dbx: %zu current, %zu 2023-ready, %zu 2011-only\n",
	       judged, current, ready, only2011);
	CU_ASSERT(judged >= 20);
	CU_ASSERT_EQUAL(seen, sizeof(expected) / sizeof(expected[0]) + 1);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("sbclaims", suite_init, suite_clean);
	CU_add_test(s, "a 2023-ready machine, dbx current: every claim good", test_ready_machine);
	CU_add_test(s, "a stale dbx: the newest revocations missing, named", test_stale_dbx);
	CU_add_test(s, "SVNs: the bundle's or a higher one, a lower one missing", test_svn);
	CU_add_test(s, "an empty dbx: not current on any architecture", test_empty_dbx);
	CU_add_test(s, "2011-only CAs, a 2011 CA without its successor", test_ca_2011);
	CU_add_test(s, "a test platform key, no platform key", test_test_pk);
	CU_add_test(s, "a revoked image booted, one verified by a revoked CA",
		    test_revoked_booted);
	CU_add_test(s, "facts the quote does not vouch for: unknown; no bundle",
		    test_unvouched);
	CU_add_test(s, "the baseline rules: dbx-current, ca-2023, no-test-keys, "
		    "no-revoked-components", test_rules);
	CU_add_test(s, "shim's MokSBState: validating or not, unknown", test_mok_validation);
	CU_add_test(s, "every real log: what its PCR 7 holds", test_real_logs);
	return test_run_all() ? 1 : 0;
}
