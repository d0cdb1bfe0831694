/* SPDX-License-Identifier: BSD-3-Clause */
/* The tamper-evident audit log on real registry files: the encoding, the
 * chain the registry writes, every kind of tampering (done with python3's
 * sqlite3, triggers dropped first) named at the right row, the signer, the
 * export. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <jansson.h>

#include "testutil.h"
#include "tpa/audit.h"
#include "tpa/err.h"
#include "tpa/store.h"
#include "tpa/token.h"
#include "tpa/tpm_decode.h"

static char dir[] = "/tmp/tpa-audit-XXXXXX";
static tpa_token_key *key, *other;
static char *jwks;                 /* key's alone */

static const char *ID1 = "1111111111111111111111111111111111111111111111111111111111111111";
static const uint8_t EK[] = { 1, 2, 3 }, AKP[] = { 9, 9 };

/* Runs python3 on a registry file: c a connection with the audit log's
 * triggers dropped and check constraints off (as someone with write access
 * could); 0 if it exits 0. */
static int run_py(const char *db, const char *code)
{
	return test_run_py(dir, db, "c.execute('PRAGMA ignore_check_constraints = ON')\n"
			   "for t in ('audit_no_update', 'audit_no_delete', 'audit_chained',\n"
			   "          'audit_heads_no_update', 'audit_heads_no_delete'):\n"
			   "    c.execute('DROP TRIGGER IF EXISTS ' + t)", code);
}

/* A registry of n audit rows (an enrollment, then labels), at dir/name. */
static tpa_store *make_log(const char *name, int n, char *p, size_t cap)
{
	tpa_store *s = NULL;
	char label[16];
	int i;

	snprintf(p, cap, "%s/%s", dir, name);
	unlink(p);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
	CU_ASSERT_EQUAL(tpa_store_enroll(s, ID1, EK, sizeof(EK), NULL, 0, AKP, sizeof(AKP),
					 "000b1111", NULL, 0, 100), 0);
	for (i = 1; i < n; i++) {
		snprintf(label, sizeof(label), "l%d", i);
		CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, label, 100 + i), 0);
	}
	return s;
}

/* Signs a head now (the signer, forced). */
static void sign_now(tpa_store *s, int64_t now, int64_t want_seq)
{
	tpa_audit_signer *g = NULL;
	int64_t seq = 0;

	CU_ASSERT_EQUAL_FATAL(tpa_audit_signer_new(&g, s, NULL), 0);
	CU_ASSERT_EQUAL(tpa_audit_signer_tick(g, key, NULL, now, 1, &seq), 1);
	CU_ASSERT_EQUAL(seq, want_seq);
	tpa_audit_signer_free(g);
}

/* Verifies the file at p (reopened: what is on disk): the report. */
static int verify_file(tpa_audit_report *r, const char *p, const char *keys)
{
	tpa_store *s = NULL;
	int err;

	memset(r, 0, sizeof(*r));
	if (tpa_store_open_sqlite(&s, p) < 0)
		return -100;
	err = tpa_audit_verify(r, s, keys, NULL);
	tpa_store_close(s);
	return err;
}

/* The file at p is broken at seq, for the reason given (a prefix). */
static void expect_broken(const char *p, int64_t seq, const char *reason)
{
	tpa_audit_report r;

	CU_ASSERT_EQUAL(verify_file(&r, p, jwks), TPA_ERR_VERIFY);
	CU_ASSERT_EQUAL(r.intact, 0);
	CU_ASSERT_EQUAL(r.broken_seq, seq);
	if (strncmp(r.reason, reason, strlen(reason)) != 0) {
		fprintf(stderr, "\n  got \"%s\"\n  not \"%s\"\n", r.reason, reason);
		CU_FAIL("the reason");
	}
}

static void test_row_hash(void)
{
	static const uint8_t zeros[32], ones[32] = { [0 ... 31] = 0x11 };
	tpa_audit_row r = { .seq = 1, .at = 100, .event = "enroll", .event_len = 6,
			    .detail = "x", .detail_len = 1, .prev_hash = zeros,
			    .prev_hash_len = 32 };
	uint8_t h[32], h2[32];
	char hex[65];

	/* Vectors from an independent encoder (python3 hashlib, docs/audit.md). */
	CU_ASSERT_EQUAL(tpa_audit_row_hash(h, &r), 0);
	tpa_hex(hex, h, 32);
	CU_ASSERT_STRING_EQUAL(hex, "1b812cf5857b5337c3d0043a56e4f11caee46b0ecd6326e22a401ec195b6b2ae");
	r = (tpa_audit_row){ .seq = 2, .at = -5, .device_id = "", .event = "", .detail = "",
			     .prev_hash = ones, .prev_hash_len = 32 };
	CU_ASSERT_EQUAL(tpa_audit_row_hash(h, &r), 0);
	tpa_hex(hex, h, 32);
	CU_ASSERT_STRING_EQUAL(hex, "37bd904add7cc0ebf3e4c478c10945b5adf080c6196f02160c98239c930b0d52");
	/* Unambiguous: no device differs from an empty one, and bytes moved
	 * from one field to the next change the hash. */
	r.device_id = NULL;
	CU_ASSERT_EQUAL(tpa_audit_row_hash(h2, &r), 0);
	CU_ASSERT(memcmp(h, h2, 32) != 0);
	r = (tpa_audit_row){ .seq = 3, .at = 1, .event = "ab", .event_len = 2, .detail = "c",
			     .detail_len = 1, .prev_hash = zeros, .prev_hash_len = 32 };
	CU_ASSERT_EQUAL(tpa_audit_row_hash(h, &r), 0);
	r.event_len = 1;
	r.detail = "bc";
	r.detail_len = 2;
	CU_ASSERT_EQUAL(tpa_audit_row_hash(h2, &r), 0);
	CU_ASSERT(memcmp(h, h2, 32) != 0);
	/* A prev_hash that is not 32 bytes is refused. */
	r.prev_hash_len = 31;
	CU_ASSERT_EQUAL(tpa_audit_row_hash(h, &r), TPA_ERR_INVALID_ARG);
	r.prev_hash = NULL;
	r.prev_hash_len = 32;
	CU_ASSERT_EQUAL(tpa_audit_row_hash(h, &r), TPA_ERR_INVALID_ARG);
}

static void test_intact_chain(void)
{
	char p[300];
	tpa_audit_report r;
	tpa_audit_state st;
	tpa_store *s = make_log("intact.db", 10, p, sizeof(p));

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_store_audit_state(&st, s), 0);
	CU_ASSERT_EQUAL(st.last_seq, 10);
	CU_ASSERT_EQUAL(st.high_seq, 10);
	/* No head yet: intact, nothing signed. */
	CU_ASSERT_EQUAL(tpa_audit_verify(&r, s, jwks, NULL), 0);
	CU_ASSERT_EQUAL(r.intact, 1);
	CU_ASSERT_EQUAL(r.rows, 10);
	CU_ASSERT_EQUAL(r.heads, 0);
	CU_ASSERT_STRING_EQUAL(r.reason, "");
	sign_now(s, 1000, 10);
	CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "after", 200), 0);
	tpa_store_close(s);
	CU_ASSERT_EQUAL(verify_file(&r, p, jwks), 0);
	CU_ASSERT_EQUAL(r.intact, 1);
	CU_ASSERT_EQUAL(r.rows, 11);
	CU_ASSERT_EQUAL(r.last_seq, 11);
	CU_ASSERT_EQUAL(r.heads, 1);
	CU_ASSERT_EQUAL(r.last_head_seq, 10);
	CU_ASSERT_EQUAL(r.signatures, 1);
	/* A key set that is not one: an error, not a broken log. */
	CU_ASSERT_EQUAL(verify_file(&r, p, "{\"keys\": 5}"), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(verify_file(&r, p, "not json"), TPA_ERR_PARSE);
	/* Without a JWKS the heads are read, their signatures unchecked. */
	CU_ASSERT_EQUAL(verify_file(&r, p, NULL), 0);
	CU_ASSERT_EQUAL(r.heads, 1);
	CU_ASSERT_EQUAL(r.signatures, 0);
	/* Every row written by the registry's own operations is chained. */
	CU_ASSERT_EQUAL(run_py(p,
		"r = c.execute('SELECT count(*) FROM audit WHERE length(hash) = 32 AND "
		"length(prev_hash) = 32').fetchone()[0]\n"
		"z = c.execute('SELECT prev_hash FROM audit WHERE seq = 1').fetchone()[0]\n"
		"l = c.execute('SELECT count(*) FROM audit a JOIN audit b ON b.seq = a.seq + 1 "
		"WHERE b.prev_hash = a.hash').fetchone()[0]\n"
		"sys.exit(0 if r == 11 and z == bytes(32) and l == 10 else 1)"), 0);
}

/* A copy of a signed registry (12 rows, heads at 5 and 10), then tampered. */
static void tampered(char *p, size_t cap, const char *name, const char *code)
{
	static char base[300];
	char cmd[700];

	if (!base[0]) {
		tpa_store *s = make_log("base.db", 5, base, sizeof(base));

		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		sign_now(s, 1000, 5);
		CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "a", 201), 0);
		CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "b", 202), 0);
		CU_ASSERT_EQUAL(tpa_store_set_state(s, ID1, TPA_DEVICE_REVOKED, 203), 0);
		CU_ASSERT_EQUAL(tpa_store_set_state(s, ID1, TPA_DEVICE_ACTIVE, 204), 0);
		CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "c", 205), 0);
		sign_now(s, 2000, 10);
		CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "d", 206), 0);
		CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, NULL, 207), 0);
		tpa_store_close(s);
	}
	snprintf(p, cap, "%s/%s", dir, name);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && rm -f '%s-wal' '%s-shm'", base, p, p, p);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	CU_ASSERT_EQUAL_FATAL(run_py(p, code), 0);
}

static void test_tampering(void)
{
	char p[300];
	tpa_audit_report r;

	/* The untouched copy verifies. */
	tampered(p, sizeof(p), "t0.db", "pass");
	CU_ASSERT_EQUAL(verify_file(&r, p, jwks), 0);
	CU_ASSERT_EQUAL(r.rows, 12);
	CU_ASSERT_EQUAL(r.heads, 2);
	/* (a) a middle row deleted */
	tampered(p, sizeof(p), "ta.db", "c.execute('DELETE FROM audit WHERE seq = 7')");
	expect_broken(p, 8, "row 8: prev_hash does not link to row 6 (row 7 missing?)");
	tampered(p, sizeof(p), "ta2.db", "c.execute('DELETE FROM audit WHERE seq IN (7, 8, 9)')");
	expect_broken(p, 10, "row 10: prev_hash does not link to row 6 (rows 7 to 9 missing?)");
	/* ... the first one */
	tampered(p, sizeof(p), "ta3.db", "c.execute('DELETE FROM audit WHERE seq = 1')");
	expect_broken(p, 2, "row 2: the log starts here, not at row 1 (row 1 missing), and no "
		      "audit-prune row says so");
	/* (b) a row's detail edited */
	tampered(p, sizeof(p), "tb.db", "c.execute(\"UPDATE audit SET detail = 'label x' "
		 "WHERE seq = 7\")");
	expect_broken(p, 7, "row 7: hash does not match its contents");
	tampered(p, sizeof(p), "tb2.db", "c.execute(\"UPDATE audit SET device_id = NULL "
		 "WHERE seq = 3\")");
	expect_broken(p, 3, "row 3: hash does not match its contents");
	tampered(p, sizeof(p), "tb3.db", "c.execute('UPDATE audit SET at = at + 1 WHERE seq = 11')");
	expect_broken(p, 11, "row 11: hash does not match its contents");
	/* (c) two rows swapped (their seqs) */
	tampered(p, sizeof(p), "tc.db", "c.execute('UPDATE audit SET seq = -1 WHERE seq = 3')\n"
		 "c.execute('UPDATE audit SET seq = 3 WHERE seq = 4')\n"
		 "c.execute('UPDATE audit SET seq = 4 WHERE seq = -1')");
	expect_broken(p, 3, "row 3: hash does not match its contents");
	/* (d) the last rows deleted after a signed head */
	tampered(p, sizeof(p), "td.db", "c.execute('DELETE FROM audit WHERE seq >= 9')\n"
		 "c.execute(\"UPDATE sqlite_sequence SET seq = 8 WHERE name = 'audit'\")");
	expect_broken(p, 10, "signed head at seq 10 names a row that is gone (the log ends at row 8)");
	/* ... rows past every head: the sequence's mark still shows them */
	tampered(p, sizeof(p), "td2.db", "c.execute('DELETE FROM audit WHERE seq >= 12')");
	expect_broken(p, 12, "row 12 is gone: the log ends at row 11 but its sequence reached 12");
	/* ... and a row written after rows were cut off links over the gap */
	tampered(p, sizeof(p), "td3.db", "c.execute('DELETE FROM audit WHERE seq >= 11')");
	{
		tpa_store *s = NULL;

		CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
		CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "e", 300), 0);
		tpa_store_close(s);
	}
	expect_broken(p, 13, "row 13: follows row 10 (rows 11 to 12 missing)");
	/* (e) heads forged: one edited, one re-signed with another key, one
	 * whose JWS is another head's */
	tampered(p, sizeof(p), "te.db", "c.execute('UPDATE audit_heads SET hash = zeroblob(32) "
		 "WHERE seq = 10')");
	expect_broken(p, 10, "signed head at seq 10: its seq or hash is not what its JWS signed");
	tampered(p, sizeof(p), "te2.db", "j = c.execute('SELECT jws FROM audit_heads WHERE seq = 5')"
		 ".fetchone()[0]\nc.execute('UPDATE audit_heads SET jws = ? WHERE seq = 10', (j,))");
	expect_broken(p, 10, "signed head at seq 10: its seq or hash is not what its JWS signed "
		      "(seq 5)");
	tampered(p, sizeof(p), "te3.db", "import base64, json\n"
		 "j = c.execute('SELECT jws FROM audit_heads WHERE seq = 10').fetchone()[0]\n"
		 "h, pl, sig = j.split('.')\n"
		 "d = json.loads(base64.urlsafe_b64decode(pl + '=='))\n"
		 "d['iat'] += 1\n"
		 "pl = base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip('=')\n"
		 "c.execute('UPDATE audit_heads SET jws = ? WHERE seq = 10', ('.'.join((h, pl, sig)),))");
	expect_broken(p, 10, "signed head at seq 10: signature does not verify");
	/* A whole rewrite (row 4 edited, every hash after it computed again)
	 * goes past the chain, not past the heads. */
	tampered(p, sizeof(p), "tf.db", "import hashlib, struct\n"
		 "def H(r, prev):\n"
		 "    h = hashlib.sha256()\n"
		 "    def b(x): h.update(struct.pack('>I', len(x)) + x)\n"
		 "    b(b'tpa-audit-v1'); h.update(struct.pack('>qq', r[0], r[1]))\n"
		 "    if r[2] is None: h.update(b'\\0')\n"
		 "    else: h.update(b'\\1'); b(r[2].encode())\n"
		 "    b(r[3].encode()); b(r[4].encode()); h.update(prev); return h.digest()\n"
		 "c.execute(\"UPDATE audit SET detail = 'label forged' WHERE seq = 4\")\n"
		 "prev = bytes(32)\n"
		 "for r in c.execute('SELECT seq, at, device_id, event, detail FROM audit "
		 "ORDER BY seq').fetchall():\n"
		 "    h = H(r, prev)\n"
		 "    c.execute('UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?', "
		 "(prev, h, r[0]))\n"
		 "    prev = h");
	expect_broken(p, 5, "signed head at seq 5 does not match row 5: rows 1 to 5 were "
		      "rewritten after it was signed");
	/* ... and a head then signed by another key is not one of the JWKS's */
	{
		tpa_store *s = NULL;
		tpa_audit_signer *g = NULL;
		int64_t seq = 0;

		tampered(p, sizeof(p), "tg.db", "c.execute('DELETE FROM audit_heads')");
		CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
		CU_ASSERT_EQUAL_FATAL(tpa_audit_signer_new(&g, s, NULL), 0);
		CU_ASSERT_EQUAL(tpa_audit_signer_tick(g, other, NULL, 3000, 1, &seq), 1);
		tpa_audit_signer_free(g);
		tpa_store_close(s);
		CU_ASSERT_EQUAL(verify_file(&r, p, jwks), TPA_ERR_VERIFY);
		CU_ASSERT_EQUAL(r.broken_seq, 12);
		CU_ASSERT(strstr(r.reason, "signed head at seq 12: no key in the JWKS has kid") ==
			  r.reason);
	}
	/* The first broken thing is named: a head before a broken row. */
	tampered(p, sizeof(p), "th.db", "c.execute('UPDATE audit_heads SET hash = zeroblob(32) "
		 "WHERE seq = 5')\nc.execute(\"UPDATE audit SET detail = 'x' WHERE seq = 8\")");
	expect_broken(p, 5, "signed head at seq 5: its seq or hash is not what its JWS signed");
}

/* What nobody's code would write: wrong types and sizes, NULLs. */
static void test_malformed(void)
{
	static const struct { const char *sql; int64_t seq; const char *reason; } cases[] = {
		{ "UPDATE audit SET hash = x'00' WHERE seq = 6", 6,
		  "row 6: its hash is of another size, not 32 bytes" },
		{ "UPDATE audit SET hash = NULL WHERE seq = 6", 6,
		  "row 6: its hash is missing, not 32 bytes" },
		{ "UPDATE audit SET hash = 'text' WHERE seq = 6", 6,
		  "row 6: its hash is missing, not 32 bytes" },
		{ "UPDATE audit SET prev_hash = zeroblob(33) WHERE seq = 2", 2,
		  "row 2: its prev_hash is of another size, not 32 bytes" },
		{ "UPDATE audit SET prev_hash = x'' WHERE seq = 2", 2,
		  "row 2: its prev_hash is of another size, not 32 bytes" },
		{ "UPDATE audit SET at = 'soon' WHERE seq = 3", 3, "row 3: at is not an integer" },
		{ "UPDATE audit SET at = 1.5 WHERE seq = 3", 3, "row 3: at is not an integer" },
		{ "UPDATE audit SET event = x'01' WHERE seq = 4", 4, "row 4: event is not text" },
		{ "UPDATE audit SET detail = x'00ff' WHERE seq = 4", 4, "row 4: detail is not text" },
		{ "UPDATE audit SET device_id = x'07' WHERE seq = 4", 4, "row 4: device_id is not text" },
		{ "UPDATE audit SET seq = 0 WHERE seq = 1", 0, "row 0: out of order" },
		{ "UPDATE audit_heads SET jws = 'abc' WHERE seq = 5", 5,
		  "signed head at seq 5: not a compact JWS" },
		{ "UPDATE audit_heads SET jws = x'3132' WHERE seq = 5", 5,
		  "signed head at seq 5: its kid or JWS is not text" },
		{ "UPDATE audit_heads SET hash = x'0102' WHERE seq = 5", 5,
		  "signed head at seq 5: its hash is not 32 bytes" },
		{ "UPDATE audit_heads SET signed_at = 'x' WHERE seq = 5", 5,
		  "signed head at seq 5: signed_at is not an integer" },
		{ "UPDATE sqlite_sequence SET seq = 'x' WHERE name = 'audit'", -1, NULL },
	};
	char p[300], code[300];
	tpa_audit_report r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(code, sizeof(code), "c.execute(\"%s\")", cases[i].sql);
		tampered(p, sizeof(p), "tm.db", code);
		if (cases[i].reason) {
			expect_broken(p, cases[i].seq, cases[i].reason);
		} else {
			CU_ASSERT_EQUAL(verify_file(&r, p, jwks), 0);
		}
	}
	/* Text that is not UTF-8 is hashed as bytes and exported in hex. */
	tampered(p, sizeof(p), "tm.db", "c.execute(\"UPDATE audit SET detail = "
		 "CAST(x'41ff42' AS TEXT) WHERE seq = 4\")");
	expect_broken(p, 4, "row 4: hash does not match its contents");
}

static void test_signer(void)
{
	tpa_audit_sign_opts o = { .rows = 3, .interval_s = 100 };
	tpa_audit_signer *g = NULL;
	tpa_audit_report r;
	char p[300];
	int64_t seq = 0;
	tpa_store *s = make_log("signer.db", 2, p, sizeof(p));

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(tpa_audit_signer_new(NULL, s, &o), TPA_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL_FATAL(tpa_audit_signer_new(&g, s, &o), 0);
	CU_ASSERT_EQUAL(tpa_audit_signer_tick(g, NULL, NULL, 1, 0, &seq), TPA_ERR_INVALID_ARG);
	/* No head yet: the interval counts from the first call. */
	CU_ASSERT_EQUAL(tpa_audit_signer_tick(g, key, NULL, 900, 0, &seq), 0);
	CU_ASSERT_EQUAL(tpa_audit_signer_tick(g, key, NULL, 999, 0, &seq), 0);
	CU_ASSERT_EQUAL(tpa_audit_signer_tick(g, key, NULL, 1000, 0, &seq), 1);
	CU_ASSERT_EQUAL(seq, 2);
	/* Nothing new: nothing signed, even forced. */
	CU_ASSERT_EQUAL(tpa_audit_signer_tick(g, key, NULL, 5000, 1, &seq), 0);
	/* Two new rows: not due (3 rows, 100 s) ... */
	CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "x", 1001), 0);
	CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "y", 1002), 0);
	CU_ASSERT_EQUAL(tpa_audit_signer_tick(g, key, NULL, 1050, 0, &seq), 0);
	/* ... due after 100 s */
	CU_ASSERT_EQUAL(tpa_audit_signer_tick(g, key, NULL, 1100, 0, &seq), 1);
	CU_ASSERT_EQUAL(seq, 4);
	/* ... or after 3 rows */
	CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "a", 1101), 0);
	CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "b", 1102), 0);
	CU_ASSERT_EQUAL(tpa_audit_signer_tick(g, key, NULL, 1103, 0, &seq), 0);
	CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "c", 1103), 0);
	CU_ASSERT_EQUAL(tpa_audit_signer_tick(g, key, NULL, 1104, 0, &seq), 1);
	CU_ASSERT_EQUAL(seq, 7);
	/* ... or forced (shutdown) */
	CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "d", 1105), 0);
	CU_ASSERT_EQUAL(tpa_audit_signer_tick(g, key, NULL, 1105, 1, &seq), 1);
	CU_ASSERT_EQUAL(seq, 8);
	tpa_audit_signer_free(g);
	/* A head at a seq kept already is refused by the store. */
	{
		uint8_t h[32] = { 0 };

		CU_ASSERT_EQUAL(tpa_store_audit_add_head(s, 8, h, 1, "kid", "a.b.c"),
				TPA_ERR_CONFLICT);
		CU_ASSERT_EQUAL(tpa_store_audit_add_head(s, 7, h, 1, "kid", "a.b.c"),
				TPA_ERR_CONFLICT);
		/* ... and one for a hash the row does not hold */
		CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "e", 1106), 0);
		CU_ASSERT_EQUAL(tpa_store_audit_add_head(s, 9, h, 1, "kid", "a.b.c"),
				TPA_ERR_VERIFY);
		CU_ASSERT_EQUAL(tpa_store_audit_add_head(s, 0, h, 1, "kid", "a.b.c"),
				TPA_ERR_INVALID_ARG);
		CU_ASSERT_EQUAL(tpa_store_audit_add_head(s, 9, h, 1, "", "a.b.c"),
				TPA_ERR_INVALID_ARG);
	}
	tpa_store_close(s);
	CU_ASSERT_EQUAL(verify_file(&r, p, jwks), 0);
	CU_ASSERT_EQUAL(r.heads, 4);
	CU_ASSERT_EQUAL(r.last_head_seq, 8);

	/* A new signer starts from the newest head of its key: a row broken
	 * after it is refused, and stays refused. */
	CU_ASSERT_EQUAL(run_py(p, "c.execute(\"UPDATE audit SET detail = 'x' WHERE seq = 9\")"), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_audit_signer_new(&g, s, &o), 0);
	CU_ASSERT_EQUAL(tpa_audit_signer_tick(g, key, NULL, 2000, 1, &seq), TPA_ERR_VERIFY);
	CU_ASSERT_STRING_EQUAL(tpa_err_last(), "row 9: hash does not match its contents");
	CU_ASSERT_EQUAL(tpa_store_set_label(s, ID1, "f", 2001), 0);
	CU_ASSERT_EQUAL(tpa_audit_signer_tick(g, key, NULL, 2002, 1, &seq), TPA_ERR_VERIFY);
	tpa_audit_signer_free(g);
	tpa_store_close(s);
	/* A head of its own key whose row was rewritten: refused. */
	CU_ASSERT_EQUAL(run_py(p, "c.execute('UPDATE audit SET hash = zeroblob(32) WHERE seq = 8')"),
			0);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_audit_signer_new(&g, s, &o), 0);
	CU_ASSERT_EQUAL(tpa_audit_signer_tick(g, key, NULL, 2003, 1, &seq), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "signed head at seq 8 does not match row 8") != NULL);
	tpa_audit_signer_free(g);
	/* Another key's signer does not start from key's heads: it walks from
	 * the first row, and finds the break there. */
	CU_ASSERT_EQUAL_FATAL(tpa_audit_signer_new(&g, s, &o), 0);
	CU_ASSERT_EQUAL(tpa_audit_signer_tick(g, other, NULL, 2004, 1, &seq), TPA_ERR_VERIFY);
	CU_ASSERT_STRING_EQUAL(tpa_err_last(), "row 8: hash does not match its contents");
	tpa_audit_signer_free(g);
	tpa_store_close(s);
}

static int collect(void *ctx, const char *text, size_t len)
{
	FILE *f = ctx;

	return fwrite(text, 1, len, f) == len ? 0 : -1;
}

static int stop_early(void *ctx, const char *text, size_t len)
{
	(void)text;
	(void)len;
	return ++*(int *)ctx > 3;
}

static void test_export(void)
{
	char p[300], *buf = NULL;
	size_t len = 0, i;
	FILE *f;
	json_t *j, *rows, *row, *head;
	int calls = 0;
	tpa_store *s = make_log("export.db", 3, p, sizeof(p));

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	/* No head: null. */
	CU_ASSERT_FATAL((f = open_memstream(&buf, &len)) != NULL);
	CU_ASSERT_EQUAL(tpa_audit_export(s, collect, f), 0);
	fclose(f);
	j = json_loads(buf, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT(json_is_null(json_object_get(j, "signed_head")));
	CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "rows")), 3);
	json_decref(j);
	free(buf);
	sign_now(s, 1000, 3);
	tpa_store_close(s);
	CU_ASSERT_EQUAL(run_py(p, "c.execute(\"UPDATE audit SET detail = CAST(x'41ff42' AS TEXT) "
			       "WHERE seq = 2\")"), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
	CU_ASSERT_FATAL((f = open_memstream(&buf, &len)) != NULL);
	CU_ASSERT_EQUAL(tpa_audit_export(s, collect, f), 0);
	fclose(f);
	j = json_loads(buf, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "format")), TPA_AUDIT_FORMAT);
	rows = json_object_get(j, "rows");
	CU_ASSERT_EQUAL(json_array_size(rows), 3);
	json_array_foreach(rows, i, row) {
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(row, "seq")), (json_int_t)i + 1);
		CU_ASSERT_EQUAL(strlen(json_string_value(json_object_get(row, "hash"))), 64);
	}
	row = json_array_get(rows, 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(row, "event")), "enroll");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(row, "device_id")), ID1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(row, "prev_hash")),
			       "0000000000000000000000000000000000000000000000000000000000000000");
	/* Not UTF-8: null, and the bytes in hex beside it. */
	row = json_array_get(rows, 1);
	CU_ASSERT(json_is_null(json_object_get(row, "detail")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(row, "detail_hex")), "41ff42");
	head = json_object_get(j, "signed_head");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(head, "seq")), 3);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(head, "kid")), tpa_token_key_id(key));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(head, "hash")),
			       json_string_value(json_object_get(json_array_get(rows, 2), "hash")));
	/* The head's JWS, kept elsewhere, checks out against the registry. */
	{
		tpa_audit_report r;
		const char *jws = json_string_value(json_object_get(head, "jws"));

		CU_ASSERT_EQUAL(tpa_audit_verify(&r, s, jwks, "not.a.head"), TPA_ERR_VERIFY);
		CU_ASSERT(strstr(r.reason, "the head given: ") == r.reason);
		/* (row 2 is broken: a head given for row 3 is not the first
		 * problem) */
		CU_ASSERT_EQUAL(tpa_audit_verify(&r, s, jwks, jws), TPA_ERR_VERIFY);
		CU_ASSERT_EQUAL(r.broken_seq, 2);
		CU_ASSERT_EQUAL(tpa_audit_verify(&r, s, NULL, jws), TPA_ERR_INVALID_ARG);
	}
	json_decref(j);
	free(buf);
	/* A writer that stops: an error, no crash. */
	CU_ASSERT_EQUAL(tpa_audit_export(s, stop_early, &calls), TPA_ERR_IO);
	CU_ASSERT_EQUAL(tpa_audit_export(s, NULL, NULL), TPA_ERR_INVALID_ARG);
	tpa_store_close(s);
}

/* A head kept elsewhere names rows cut off since, even when every head in
 * the registry went with them. */
static void test_head_kept_elsewhere(void)
{
	char p[300], *jws = NULL;
	tpa_audit_report r;
	tpa_store *s = make_log("kept.db", 6, p, sizeof(p));
	int found;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	sign_now(s, 1000, 6);
	tpa_store_close(s);
	CU_ASSERT_EQUAL(run_py(p, "open(sys.argv[1] + '.head', 'w').write(c.execute("
			       "'SELECT jws FROM audit_heads').fetchone()[0])\n"
			       "c.execute('DELETE FROM audit_heads')\n"
			       "c.execute('DELETE FROM audit WHERE seq >= 5')\n"
			       "c.execute(\"UPDATE sqlite_sequence SET seq = 4 WHERE name = 'audit'\")"),
			0);
	/* The registry alone looks whole ... */
	CU_ASSERT_EQUAL(verify_file(&r, p, jwks), 0);
	/* ... the head kept says otherwise. */
	{
		char hp[320];
		FILE *f;
		long n;

		snprintf(hp, sizeof(hp), "%s.head", p);
		f = fopen(hp, "r");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		rewind(f);
		jws = calloc(1, (size_t)n + 1);
		found = jws && fread(jws, 1, (size_t)n, f) == (size_t)n;
		fclose(f);
		CU_ASSERT_FATAL(found);
	}
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
	CU_ASSERT_EQUAL(tpa_audit_verify(&r, s, jwks, jws), TPA_ERR_VERIFY);
	CU_ASSERT_EQUAL(r.broken_seq, 6);
	CU_ASSERT_STRING_EQUAL(r.reason, "the head given (seq 6) names a row that is gone "
			       "(the log ends at row 4)");
	tpa_store_close(s);
	free(jws);
}

/* A head is not a verdict token, nor a token a head. */
static void test_head_is_not_a_token(void)
{
	char *jws = NULL, *out = NULL;

	CU_ASSERT_EQUAL(tpa_token_sign_payload(&jws, key, TPA_AUDIT_HEAD_TYP, "{\"seq\":1}"), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(jws);
	CU_ASSERT_EQUAL(tpa_token_verify_payload(&out, jwks, jws, TPA_AUDIT_HEAD_TYP), 0);
	CU_ASSERT_STRING_EQUAL(out, "{\"seq\":1}");
	free(out);
	out = NULL;
	CU_ASSERT_EQUAL(tpa_token_verify_payload(&out, jwks, jws, "JWT"), TPA_ERR_VERIFY);
	CU_ASSERT_PTR_NULL(out);
	/* Refused by its typ now, before its claims are read. */
	CU_ASSERT_EQUAL(tpa_token_verify_jwks(&out, jwks, jws, 1000, NULL, 0), TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "type " TPA_AUDIT_HEAD_TYP ", JWT required") != NULL);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(tpa_token_peek_payload(&out, jws), 0);
	CU_ASSERT_STRING_EQUAL(out, "{\"seq\":1}");
	free(out);
	free(jws);
	jws = NULL;
	/* A verdict-typed JWS is not a head. */
	CU_ASSERT_EQUAL(tpa_token_sign_payload(&jws, key, "JWT", "{\"seq\":1}"), 0);
	out = NULL;
	CU_ASSERT_EQUAL(tpa_token_verify_payload(&out, jwks, jws, TPA_AUDIT_HEAD_TYP),
			TPA_ERR_VERIFY);
	CU_ASSERT(strstr(tpa_err_last(), "type JWT") != NULL);
	free(jws);
	CU_ASSERT_EQUAL(tpa_token_peek_payload(&out, "nonsense"), TPA_ERR_PARSE);
	CU_ASSERT_EQUAL(tpa_token_sign_payload(&jws, key, NULL, "x"), TPA_ERR_INVALID_ARG);
}

/* The lines of a JSON-lines export, parsed (at most 16). */
static size_t export_lines(json_t **lines, tpa_store *s, const tpa_audit_export_opts *o)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0, n = 0;
	FILE *f;

	CU_ASSERT_FATAL((f = open_memstream(&buf, &len)) != NULL);
	CU_ASSERT_EQUAL(tpa_audit_export_lines(s, o, collect, f), 0);
	fclose(f);
	CU_ASSERT(len == 0 || buf[len - 1] == '\n');
	for (line = strtok_r(buf, "\n", &save); line && n < 16; line = strtok_r(NULL, "\n", &save)) {
		lines[n] = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
		CU_ASSERT_PTR_NOT_NULL(lines[n]);
		if (lines[n])
			n++;
	}
	free(buf);
	return n;
}

static const char *field(json_t *o, const char *path)
{
	char k[32];
	const char *dot = strchr(path, '.');

	if (!dot)
		return json_string_value(json_object_get(o, path));
	snprintf(k, sizeof(k), "%.*s", (int)(dot - path), path);
	return field(json_object_get(o, k), dot + 1);
}

static void test_export_lines(void)
{
	tpa_attest_record warn = { .outcome = "warning", .baseline = "base@1" };
	tpa_audit_export_opts o = { 0 };
	json_t *l[16], *v;
	char p[300];
	size_t n, i;
	int calls = 0;
	int version;
	tpa_store *s = make_log("lines.db", 2, p, sizeof(p));

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(tpa_store_baseline_add(&version, s, "base", "{}", 150), 0);
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, "PCR 7: not the baseline's, but allowed",
					 &warn, 200), 0);
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 0, "quote: bad signature", NULL, 300), 0);
	CU_ASSERT_EQUAL(tpa_store_record(s, ID1, 1, NULL, NULL, 400), 0);
	/* Rows 1 enroll, 2 label, 3 baseline-add, 4..6 attest; no head yet. */
	n = export_lines(l, s, NULL);
	CU_ASSERT_EQUAL_FATAL(n, 6);
	for (i = 0; i < n; i++) {
		CU_ASSERT_STRING_EQUAL(field(l[i], "type"), "row");
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(l[i], "seq")), (json_int_t)i + 1);
		if (i > 0)
			CU_ASSERT_STRING_EQUAL(field(l[i], "prev_hash"), field(l[i - 1], "hash"));
	}
	CU_ASSERT_STRING_EQUAL(field(l[0], "time"), "1970-01-01T00:01:40Z");
	CU_ASSERT_PTR_NULL(json_object_get(l[0], "verdict"));
	CU_ASSERT_PTR_NULL(json_object_get(l[2], "verdict"));
	v = json_object_get(l[3], "verdict");
	CU_ASSERT(json_is_true(json_object_get(v, "compliant")));
	CU_ASSERT_STRING_EQUAL(field(l[3], "verdict.outcome"), "warning");
	CU_ASSERT_STRING_EQUAL(field(l[3], "verdict.baseline"), "base@1");
	CU_ASSERT_STRING_EQUAL(field(l[3], "verdict.reasons"),
			       "PCR 7: not the baseline's, but allowed");
	v = json_object_get(l[4], "verdict");
	CU_ASSERT(json_is_false(json_object_get(v, "compliant")));
	CU_ASSERT_STRING_EQUAL(field(l[4], "verdict.outcome"), "non-compliant");
	CU_ASSERT(json_is_null(json_object_get(v, "baseline")));
	CU_ASSERT_STRING_EQUAL(field(l[4], "verdict.reasons"), "quote: bad signature");
	CU_ASSERT_STRING_EQUAL(field(l[5], "verdict.outcome"), "compliant");
	CU_ASSERT(json_is_null(json_object_get(json_object_get(l[5], "verdict"), "reasons")));
	for (i = 0; i < n; i++)
		json_decref(l[i]);

	/* --since: by seq, by time; the head last. */
	sign_now(s, 1000, 6);
	o.since_seq = 5;
	n = export_lines(l, s, &o);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(l[0], "seq")), 5);
	CU_ASSERT_STRING_EQUAL(field(l[2], "type"), "signed_head");
	CU_ASSERT_STRING_EQUAL(field(l[2], "hash"), field(l[1], "hash"));
	CU_ASSERT_STRING_EQUAL(field(l[2], "time"), "1970-01-01T00:16:40Z");
	for (i = 0; i < n; i++)
		json_decref(l[i]);
	o.since_seq = 0;
	o.since_time = 1;
	o.since_at = 300;
	n = export_lines(l, s, &o);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(l[0], "at")), 300);
	for (i = 0; i < n; i++)
		json_decref(l[i]);
	o.since_seq = -1;
	CU_ASSERT_EQUAL(tpa_audit_export_lines(s, &o, collect, stdout), TPA_ERR_INVALID_ARG);
	tpa_store_close(s);

	/* A detail that is a JSON object is one; a verdict of another form
	 * is no verdict, its text as it is. */
	CU_ASSERT_EQUAL(run_py(p, "c.execute(\"UPDATE audit SET detail = '{\\\"why\\\": 1}' "
			       "WHERE seq = 2\")\n"
			       "c.execute(\"UPDATE audit SET detail = 'compliant, outcome' "
			       "WHERE seq = 6\")"), 0);
	CU_ASSERT_EQUAL_FATAL(tpa_store_open_sqlite(&s, p), 0);
	n = export_lines(l, s, NULL);
	CU_ASSERT_EQUAL_FATAL(n, 7);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(l[1], "detail"),
							   "why")), 1);
	CU_ASSERT_PTR_NULL(json_object_get(l[5], "verdict"));
	CU_ASSERT_STRING_EQUAL(field(l[5], "detail"), "compliant, outcome");
	for (i = 0; i < n; i++)
		json_decref(l[i]);
	CU_ASSERT_EQUAL(tpa_audit_export_lines(s, NULL, stop_early, &calls), TPA_ERR_IO);
	CU_ASSERT_EQUAL(tpa_audit_export_lines(s, NULL, NULL, NULL), TPA_ERR_INVALID_ARG);
	tpa_store_close(s);
}

int main(void)
{
	const tpa_token_key *keys[1];
	CU_pSuite s;
	unsigned failed;
	char cmd[300];

	if (!mkdtemp(dir) || tpa_token_key_new(&key) < 0 || tpa_token_key_new(&other) < 0)
		return 2;
	keys[0] = key;
	if (tpa_token_jwks(&jwks, keys, 1) < 0)
		return 2;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("audit log (hash chain, signed heads)", NULL, NULL);
	CU_add_test(s, "the row hash: vectors, unambiguous, lengths checked", test_row_hash);
	CU_add_test(s, "the registry chains every row; an intact log verifies", test_intact_chain);
	CU_add_test(s, "deleted, edited, swapped, cut off, forged: the first broken row named",
		    test_tampering);
	CU_add_test(s, "wrong types, sizes and NULLs named, never trusted", test_malformed);
	CU_add_test(s, "the signer: when due, never over a broken log", test_signer);
	CU_add_test(s, "export: rows, hashes, the latest head", test_export);
	CU_add_test(s, "export as JSON lines: verdicts, JSON details, --since, the head last",
		    test_export_lines);
	CU_add_test(s, "a head kept elsewhere finds rows cut off with every head",
		    test_head_kept_elsewhere);
	CU_add_test(s, "a head is not a verdict token", test_head_is_not_a_token);
	failed = test_run_all();
	tpa_token_key_free(key);
	tpa_token_key_free(other);
	free(jwks);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_audit: cannot remove %s\n", dir);
	return failed ? 1 : 0;
}
