/* SPDX-License-Identifier: BSD-3-Clause */
/* Parse + replay + trusted-launch state per event log, in process, beside
 * SHA-256 over the same bytes with OpenSSL. Two figures per log: every bank
 * replayed with the state of the whole log, and the verifier's path
 * (tpa_boot_evaluate: the strongest bank, every quoted PCR replayed and
 * compared, the separators, the counted state) for a quote of that bank,
 * every PCR but IMA's; and that path again with the Secure Boot reference
 * bundle (packaging/secureboot-ref.json, Microsoft's whole list: the
 * hygiene claims made too), and what the claims add.
 * usage: bench_eventlog LOG... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bench.h"
#include "tpa/boot.h"
#include "tpa/bootstate.h"
#include "tpa/err.h"
#include "tpa/eventlog.h"
#include "tpa/sbref.h"

/* The verifier's path, tpa_boot_evaluate, on in: microseconds a call. */
static double evaluate_us(const tpa_boot_input *in)
{
	double us;

	TIME_US({
		tpa_findings f;
		tpa_boot t;

		memset(&f, 0, sizeof(f));
		tpa_boot_evaluate(&t, &f, in);
		tpa_boot_clear(&t);
	}, 0.2, us);
	return us;
}

int main(int argc, char **argv)
{
	int i, rc = 0;
	EVP_MD *sha256 = EVP_MD_fetch(NULL, "SHA256", NULL); /* as the library does */
	tpa_sbref *ref = NULL;

	if (tpa_sbref_load(&ref, "packaging/secureboot-ref.json") < 0) {
		fprintf(stderr, "bench_eventlog: %s\n", tpa_err_last());
		return 1;
	}

	{
		/* The stack's floor: one EVP SHA-256 call over a 64-byte PCR
		 * extend input. The replay makes one per event, and each data
		 * check (separators, actions, variables, GRUB strings) one more. */
		uint8_t in[64] = { 0 }, out[32];
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
		double call;

		TIME_US({ EVP_DigestInit_ex(ctx, md, NULL); EVP_DigestUpdate(ctx, in, 64);
			  EVP_DigestFinal_ex(ctx, out, NULL); }, 0.2, call);
		EVP_MD_CTX_free(ctx);
		EVP_MD_free(md);
		printf("one EVP SHA-256 call over 64 bytes (context reused): %.3f us\n", call);
	}
	printf("%-36s %7s %6s %9s %10s %9s %7s %8s %9s %7s\n", "log", "bytes", "events",
	       "all_us", "sha256_us", "quoted_us", "ratio", "ratio_q", "q_sb_us", "sb_cost");
	for (i = 1; i < argc; i++) {
		uint8_t *b = NULL, dg[32];
		size_t n = 0, events = 0;
		double ours, sha, quoted, quoted_sb;
		const char *name = strrchr(argv[i], '/');

		if (tpa_eventlog_read_file(&b, &n, argv[i]) < 0) {
			fprintf(stderr, "bench_eventlog: %s\n", tpa_err_last());
			rc = 1;
			continue;
		}
		TIME_US({
			tpa_eventlog *log = NULL;
			tpa_replay r;
			tpa_bootstate bs;

			if (tpa_eventlog_parse(&log, b, n) == 0) {
				events = tpa_eventlog_count(log);
				tpa_eventlog_replay(&r, log);
				tpa_bootstate_derive(&bs, log, 0, TPA_PCR_MASK_ALL);
				tpa_bootstate_clear(&bs);
			}
			tpa_eventlog_free(log);
		}, 0.2, ours);
		tpa_boot_input in;
		tpa_pcr_set q;
		tpa_boot t0;
		tpa_findings f0;

		/* The verifier's path for a quote of the evidence bank, every
		 * PCR but IMA's, with the values the log replays to (what an
		 * honest device's quote says). */
		memset(&in, 0, sizeof(in));
		memset(&f0, 0, sizeof(f0));
		memset(&q, 0, sizeof(q));
		in.event_log = b;
		in.event_log_len = n;
		if (tpa_boot_evaluate(&t0, &f0, &in) == 0 && t0.log)
			q = t0.assumed;
		tpa_boot_clear(&t0);
		in.quoted = &q;
		quoted = evaluate_us(&in);
		in.sbref = ref;
		quoted_sb = evaluate_us(&in);
		in.sbref = NULL;
		TIME_US(EVP_Digest(b, n, dg, NULL, sha256, NULL), 0.2, sha);
		if (getenv("BENCH_SPLIT")) {
			tpa_eventlog *log = NULL;
			tpa_replay r;
			tpa_bootstate bs;
			double p, rp, st;

			TIME_US({ tpa_eventlog *l = NULL; tpa_eventlog_parse(&l, b, n); tpa_eventlog_free(l); }, 0.2, p);
			tpa_eventlog_parse(&log, b, n);
			TIME_US(tpa_eventlog_replay(&r, log), 0.2, rp);
			TIME_US({ tpa_bootstate_derive(&bs, log, 0, TPA_PCR_MASK_ALL);
				  tpa_bootstate_clear(&bs); }, 0.2, st);
			tpa_eventlog_free(log);
			printf("  parse %.1f replay %.1f state %.1f us\n", p, rp, st);
		}
		printf("%-36s %7zu %6zu %9.1f %10.1f %9.1f %7.2f %8.2f %9.1f %6.0f%%\n",
		       name ? name + 1 : argv[i], n, events, ours, sha, quoted, ours / sha,
		       quoted / sha, quoted_sb, 100.0 * (quoted_sb - quoted) / quoted);
		free(b);
	}
	EVP_MD_free(sha256);
	tpa_sbref_free(ref);
	return rc;
}
