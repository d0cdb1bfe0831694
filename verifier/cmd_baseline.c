/* SPDX-License-Identifier: BSD-3-Clause */
/* verifier baseline: golden baselines for a policy author.
 *
 *   learn (--eventlog FILE | --registry DB --device ID) [--name N] [--out F]
 *   merge A B... [--name N] [--out F]     accept what any of them accepts
 *   diff A B                              what differs (exit 1 if anything)
 *   check FILE                            validate and summarize
 *   appraise --baseline F --eventlog LOG [--json]
 *   add --registry DB FILE                store a new version
 *   assign --registry DB (--device ID | --label L) NAME[@N]   (NAME "-" removes;
 *                                         @N pins a version)
 *   list --registry DB [--json]           every version and assignment
 *   show --registry DB NAME[@N] [--json]  a version's body, the assignments
 *   allow (--registry DB NAME | --in F --out F) (--file IMAGE... | --package P)
 *                                         allow boot images before any device
 *                                         boots them, until an expiry
 *
 * Exit status (tpa/exit.h): 0 done (appraise: compliant), 1 diff found
 * differences, appraise: non-compliant, or no such baseline, version or
 * device, 2 usage or invalid input (one line naming the file, the field and
 * why), 7 a write failed, 8 appraise: warning. */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "tpa/baseline.h"
#include "tpa/boot.h"
#include "tpa/bootstate.h"
#include "tpa/err.h"
#include "tpa/fileio.h"
#include "tpa/eventlog.h"
#include "tpa/store.h"
#include "tpa/timefmt.h"
#include "tpa/tpm_decode.h"
#include "tpa/verdict.h"

#include "cmd.h"

#define PROG "verifier: baseline"

static const char help_learn[] =
"usage: verifier baseline learn (--eventlog FILE | --registry FILE --device ID)\n"
"                               [--name NAME] [--bank ALG] [--by-signer] [--out FILE]\n"
"\n"
"Learns a baseline that accepts exactly one known-good boot: from a binary\n"
"TCG event log, or from the log device ID (an id, alias or unique prefix of\n"
"8+ hex digits) sent with its last attestation. The boot's evidence must\n"
"hold (the log replays, the quoted PCRs match it): a log that does not is\n"
"named with what failed. The baseline (JSON) goes to stdout or --out FILE, a\n"
"summary to stderr (with --out, to stdout). Exit 0 done, 2 usage, an\n"
"unreadable log, evidence that does not hold or no such device, 7 a write\n"
"failed.\n"
"\n"
"  --eventlog FILE       a binary TCG event log\n"
"                        (/sys/kernel/security/tpm0/binary_bios_measurements)\n"
"  --registry FILE       the registry (must exist), with --device\n"
"  --device DEVICE       the device whose last event log to learn from: an\n"
"                        id, a unique prefix or a unique host name\n"
"  --name NAME           the baseline's name (default \"learned\")\n"
"  --bank ALG            sha1, sha256, sha384 or sha512: must be the log's\n"
"                        strongest bank, which is the default\n"
"  --by-signer           accept the boot applications by the authorities that\n"
"                        verified them (Secure Boot on), not by digest, so that\n"
"                        a kernel update signed by them passes: PCR 9 and 11\n"
"                        unpinned, GRUB's commands naming the kernel's version\n"
"                        kept as templates (docs/baseline.md)\n"
"  --out FILE            write the baseline there (atomically), not to stdout\n"
"  --help                this text\n";

static const char help_merge[] =
"usage: verifier baseline merge [--name NAME] [--out FILE] A.json B.json...\n"
"\n"
"Merges two or more baselines (of one bank) into one that accepts what any\n"
"of them accepts: allowed sets joined, dbx requirements intersected, a rule\n"
"only one of them has dropped. The baseline (JSON) goes to stdout or --out\n"
"FILE, a summary to stderr (with --out, to stdout).\n"
"Exit 0 done, 2 usage or a baseline that is not valid (named with the\n"
"field and why), 7 a write failed.\n"
"\n"
"  --name NAME           the merged baseline's name (default: the first's)\n"
"  --out FILE            write the baseline there (atomically), not to stdout\n"
"  --help                this text\n";

static const char help_diff[] =
"usage: verifier baseline diff A.json B.json\n"
"\n"
"What differs from A to B, one line each: \"+ \" what B adds, \"- \" what it\n"
"drops, \"~ \" what it changes. Exit 0 the same, 1 they differ, 2 usage or\n"
"a baseline that is not valid.\n"
"\n"
"  --help                this text\n";

static const char help_check[] =
"usage: verifier baseline check FILE\n"
"\n"
"Validates a baseline and summarizes it: its rules, their severity and what\n"
"each accepts. A baseline that is not valid is named with the file, the\n"
"field and why (docs/baseline.schema.json). Exit 0 valid, 2 usage or not\n"
"valid.\n"
"\n"
"  --help                this text\n";

static const char help_appraise[] =
"usage: verifier baseline appraise --baseline FILE --eventlog LOG [--pcrs JSON]\n"
"                                  [--json]\n"
"\n"
"Appraises a boot offline as the verifier would: the event log against the\n"
"baseline, rule by rule, each failing event with what the baseline allows\n"
"there. The log's evidence must hold first (it replays; with --pcrs, to\n"
"those values). Exit 0 compliant, 1 non-compliant or evidence that does not\n"
"hold, 2 usage or unreadable input, 8 warning (only warning rules failed).\n"
"\n"
"  --baseline FILE       the baseline to appraise against\n"
"  --eventlog LOG        a binary TCG event log\n"
"  --pcrs JSON           a file of PCR values: appraise as if a quote had\n"
"                        covered them\n"
"  --json                the appraisal as JSON\n"
"  --help                this text\n";

static const char help_add[] =
"usage: verifier baseline add --registry FILE BASELINE.json\n"
"\n"
"Stores a baseline in the registry as the next version of its name (NAME@N,\n"
"append-only: a version is never changed). Devices and labels assigned NAME\n"
"follow it at their next attestation; those pinned to NAME@N do not. Exit 0\n"
"added, 2 usage, a registry that does not exist or a baseline that is not\n"
"valid.\n"
"\n"
"  --registry FILE       the registry (must exist)\n"
"  --help                this text\n";

static const char help_assign[] =
"usage: verifier baseline assign --registry FILE (--device ID | --label LABEL)\n"
"                                NAME[@N]|-\n"
"\n"
"Assigns a baseline to a device or to a group label (a device's own\n"
"assignment wins over its label's). NAME follows the baseline's latest\n"
"version; NAME@N pins version N (an older one rolls back); \"-\" removes the\n"
"assignment. ID is a device id, alias or unique prefix of 8+ hex digits.\n"
"Exit 0 assigned, 1 no such device, baseline or version, 2 usage.\n"
"\n"
"  --registry FILE       the registry (must exist)\n"
"  --device DEVICE       assign to this device: an id, a unique prefix or a\n"
"                        unique host name\n"
"  --label LABEL         assign to every device with this label (a label no\n"
"                        device has is assigned, with a warning naming the\n"
"                        labels in use)\n"
"  --help                this text\n";

static const char help_list[] =
"usage: verifier baseline list --registry FILE [--json]\n"
"\n"
"Every version of every baseline in the registry, with when it was added\n"
"(ISO 8601 UTC) and a summary, then every assignment: to what, NAME or\n"
"NAME@N (pinned), the version it resolves to now, and when it was made.\n"
"Exit 0 done, 2 usage or a registry that does not exist.\n"
"\n"
"  --registry FILE       the registry (must exist)\n"
"  --json                one JSON object: baselines and assignments\n"
"  --help                this text\n";

static const char help_show[] =
"usage: verifier baseline show --registry FILE NAME[@N] [--json]\n"
"\n"
"One version of a baseline (NAME: its latest; NAME@N: version N): when it\n"
"was added, the latest version, its body, and the assignments of NAME.\n"
"Exit 0 done, 1 no such baseline or version, 2 usage or a registry that\n"
"does not exist.\n"
"\n"
"  --registry FILE       the registry (must exist)\n"
"  --json                one JSON object (the body in \"body\")\n"
"  --help                this text\n";

static const char help_allow[] =
"usage: verifier baseline allow (--registry FILE NAME | --in FILE --out FILE)\n"
"                               (--file IMAGE... | --package DIR_OR_DEB)\n"
"                               [--kind KIND] [--path PATH] [--expires DATE]\n"
"                               [--note TEXT]\n"
"\n"
"Lets a baseline accept boot images before any device boots them (a kernel\n"
"update without an outage): what the firmware and GRUB will measure of each\n"
"image (its Authenticode digest on PCR 4, the file and GRUB's commands on\n"
"PCRs 8 and 9), computed from the file, until the allowance expires; after\n"
"that the image fails \"allowed until ..., expired\". With --registry the\n"
"result is a new version of NAME (its latest plus the allowances); with --in\n"
"a file. Exit 0 done, 1 no such baseline, 2 usage or an image or package that\n"
"cannot be read, 7 a write failed.\n"
"\n"
"  --registry FILE       the registry (must exist); NAME is the baseline\n"
"  --in FILE             the baseline file to start from (with --out)\n"
"  --out FILE            write the new baseline there (atomically)\n"
"  --file IMAGE          a kernel, shim, GRUB or EFI application image\n"
"                        (PE/COFF), or an initrd; repeatable\n"
"  --package DIR_OR_DEB  every boot image of a package (.deb, or unpacked):\n"
"                        boot/vmlinuz-*, *.efi, *.efi.signed\n"
"  --kind KIND           kernel, shim, grub, app or initrd (default: from the\n"
"                        file's name: vmlinuz-*, initrd*, shim*, grub*, else\n"
"                        app)\n"
"  --path PATH           where the device's boot loader finds the one --file\n"
"                        (default /boot/NAME for a kernel or initrd)\n"
"  --expires DATE        when the allowance ends (ISO 8601; default 30 days\n"
"                        from now)\n"
"  --note TEXT           why, recorded with the allowance\n"
"  --help                this text\n";

static const char help_baseline[] =
"usage: verifier baseline learn (--eventlog FILE | --registry FILE --device ID)\n"
"                               [--name NAME] [--bank ALG] [--by-signer] [--out FILE]\n"
"       verifier baseline merge [--name NAME] [--out FILE] A.json B.json...\n"
"       verifier baseline diff A.json B.json\n"
"       verifier baseline check FILE\n"
"       verifier baseline appraise --baseline FILE --eventlog LOG [--pcrs JSON]\n"
"                                  [--json]\n"
"       verifier baseline add --registry FILE BASELINE.json\n"
"       verifier baseline assign --registry FILE (--device ID | --label LABEL)\n"
"                                NAME[@N]|-\n"
"       verifier baseline list --registry FILE [--json]\n"
"       verifier baseline show --registry FILE NAME[@N] [--json]\n"
"       verifier baseline allow (--registry FILE NAME | --in FILE --out FILE)\n"
"                               (--file IMAGE... | --package DIR_OR_DEB)\n"
"                               [--kind KIND] [--path PATH] [--expires DATE]\n"
"                               [--note TEXT]\n"
"\n"
"Golden baselines (docs/baseline.md): learn one from a known-good boot, merge,\n"
"compare, appraise a log against one; keep versions of them in the registry\n"
"(append-only) and assign a baseline to a device or a group label. NAME\n"
"follows the baseline's latest version; NAME@N pins version N (assigning an\n"
"older one rolls back). allow lets a baseline accept boot images before any\n"
"device boots them, until an expiry. Exit status: 0 done (appraise:\n"
"compliant), 1 diff found differences, appraise non-compliant, or no such\n"
"baseline, device or version, 2 usage or invalid input, 7 a write failed,\n"
"8 appraise: warning. verifier baseline VERB --help: a verb's options.\n"
"\n"
"  --help                this text\n";

/* The help of the verb being run: its usage lines go with a usage error. */
static const char *help_verb = help_baseline;

static void usage(FILE *f)
{
	fputs(help_baseline, f);
}

#define usage_error(...) cmd_usage_error("baseline", help_verb, __VA_ARGS__)

static tpa_exit fail(const char *what)
{
	fprintf(stderr, PROG ": %s: %s\n", what, tpa_err_last());
	return TPA_EXIT_USAGE;
}

/* Writes text to path (atomically, 0644, through no link) or stdout, with a
 * final newline. */
static tpa_exit write_out(const char *path, const char *text)
{
	size_t n = strlen(text);
	char *line;
	int bad;

	if (!path) {
		if (fputs(text, stdout) < 0 || fputs("\n", stdout) < 0) {
			fprintf(stderr, PROG ": stdout: write failed\n");
			return TPA_EXIT_INTERNAL;
		}
		return TPA_EXIT_OK;
	}
	if (!(line = malloc(n + 2))) {
		fprintf(stderr, PROG ": out of memory\n");
		return TPA_EXIT_INTERNAL;
	}
	memcpy(line, text, n);
	line[n] = '\n';
	bad = tpa_file_write_atomic(path, line, n + 1, 0644) < 0;
	free(line);
	if (bad) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		return TPA_EXIT_INTERNAL;
	}
	return TPA_EXIT_OK;
}

/* A boot from an event log (and optionally the PCR values a quote covered),
 * evaluated as the verifier evaluates evidence. */
typedef struct {
	uint8_t *bytes;
	tpa_pcr_set pcrs;
	int have_pcrs;
	tpa_findings checks;
	tpa_boot boot;
} boot;

static void boot_free(boot *b)
{
	tpa_boot_clear(&b->boot);
	free(b->bytes);
}

static void print_failed(const tpa_findings *f, const char *what)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (!f->items[i].passed)
			fprintf(stderr, PROG ": %s: %s: %s\n", what, f->items[i].name,
				f->items[i].detail);
}

/* For learning: the boot's evidence must hold, in its evidence bank (the
 * log's strongest; bank, if given, must be it). */
static tpa_exit boot_from(boot *b, const uint8_t *bytes, size_t len, uint16_t bank,
			  const char *what)
{
	tpa_boot_input in;

	memset(&in, 0, sizeof(in));
	in.event_log = bytes;
	in.event_log_len = len;
	in.quoted = b->have_pcrs ? &b->pcrs : NULL;
	in.baseline_bank = bank ? bank : TPA_BOOT_BANK_OF_LOG;
	if (tpa_boot_evaluate(&b->boot, &b->checks, &in) < 0)
		return fail(what);
	if (!b->boot.log) {
		print_failed(&b->checks, what);
		return TPA_EXIT_USAGE;
	}
	if (bank && b->boot.bank != bank) {
		fprintf(stderr, PROG ": %s: the log's strongest bank is %s: a baseline must be in it, "
			"not in %s\n", what, tpa_hash_label(b->boot.bank), tpa_hash_label(bank));
		return TPA_EXIT_USAGE;
	}
	if (!b->boot.log_ok) {
		print_failed(&b->checks, what);
		fprintf(stderr, PROG ": %s: the evidence does not hold: not a boot to learn from\n",
			what);
		return TPA_EXIT_USAGE;
	}
	return TPA_EXIT_OK;
}

static tpa_exit boot_from_file(boot *b, const char *path, uint16_t bank)
{
	size_t len = 0;

	if (tpa_eventlog_read_file(&b->bytes, &len, path) < 0)
		return fail(path);
	return boot_from(b, b->bytes, len, bank, path);
}

static uint16_t parse_bank(const char *s)
{
	if (strcmp(s, "sha1") == 0)
		return TPM2_ALG_SHA1;
	if (strcmp(s, "sha256") == 0)
		return TPM2_ALG_SHA256;
	if (strcmp(s, "sha384") == 0)
		return TPM2_ALG_SHA384;
	if (strcmp(s, "sha512") == 0)
		return TPM2_ALG_SHA512;
	return TPA_EXIT_OK;
}

static tpa_exit open_registry(tpa_store **s, const char *path)
{
	if (!path)
		return usage_error("--registry FILE is required");
	if (tpa_store_open_existing(s, path) < 0)
		return fail("registry");
	return TPA_EXIT_OK;
}

static tpa_exit do_learn(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "eventlog", required_argument, NULL, 'e' },
		{ "registry", required_argument, NULL, 'R' },
		{ "device", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "bank", required_argument, NULL, 'b' },
		{ "by-signer", no_argument, NULL, 'S' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *eventlog = NULL, *registry = NULL, *device = NULL, *name = "learned";
	const char *out = NULL;
	uint16_t bank = 0;
	int by_signer = 0;
	boot b;
	tpa_baseline *bl = NULL;
	tpa_store *st = NULL;
	char *json = NULL, *summary = NULL;
	int c;
	tpa_exit rc = TPA_EXIT_USAGE;

	memset(&b, 0, sizeof(b));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e': eventlog = optarg; break;
		case 'R': registry = optarg; break;
		case 'd': device = optarg; break;
		case 'n': name = optarg; break;
		case 'o': out = optarg; break;
		case 'S': by_signer = 1; break;
		case 'b':
			if (!(bank = parse_bank(optarg)))
				return usage_error("--bank: '%.40s' is not sha1, sha256, sha384 or "
						   "sha512", optarg);
			break;
		default: return cmd_bad_option("baseline", help_verb, argv);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%.40s'", argv[optind]);
	if (!eventlog == !device || (device && !registry))
		return usage_error("learn takes --eventlog FILE, or --registry FILE and "
				   "--device ID");
	if (eventlog) {
		if ((rc = boot_from_file(&b, eventlog, bank)) != TPA_EXIT_OK)
			goto cleanup;
	} else {
		uint8_t *log = NULL;
		size_t len = 0;
		char *pcrs = NULL;

		char id[TPA_DEVICE_ID_LEN + 1];

		if ((rc = open_registry(&st, registry)) != TPA_EXIT_OK)
			goto cleanup;
		/* DEVICE as every devices verb takes it: id, prefix or host name. */
		if (tpa_store_find_device(id, st, device) < 0 ||
		    tpa_store_last_evidence(&log, &len, &pcrs, st, id) < 0) {
			rc = fail(device);
			goto cleanup;
		}
		if (pcrs && tpa_pcr_set_from_json(&b.pcrs, pcrs) == 0)
			b.have_pcrs = 1;
		free(pcrs);
		if (!log) {
			fprintf(stderr, PROG ": device %s: no event log kept from its last "
				"attestation (none sent, or its evidence did not hold): "
				"nothing to learn the boot from\n", device);
			rc = TPA_EXIT_USAGE;
			goto cleanup;
		}
		b.bytes = log;
		if ((rc = boot_from(&b, log, len, bank, device)) != TPA_EXIT_OK)
			goto cleanup;
	}
	rc = TPA_EXIT_USAGE;
	if ((by_signer ? tpa_baseline_learn_by_signer(&bl, &b.boot, name) :
	     tpa_baseline_learn(&bl, &b.boot, name)) < 0) {
		rc = fail("learn");
		goto cleanup;
	}
	if (!(json = tpa_baseline_to_json(bl)) || !(summary = tpa_baseline_summary(bl)))
		goto cleanup;
	if ((rc = write_out(out, json)) != TPA_EXIT_OK)
		goto cleanup;
	fputs(summary, out ? stdout : stderr);
cleanup:
	free(json);
	free(summary);
	tpa_baseline_free(bl);
	tpa_store_close(st);
	boot_free(&b);
	return rc;
}

static tpa_exit do_merge(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *name = NULL;
	tpa_baseline *acc = NULL;
	char *json = NULL, *summary = NULL;
	int c, i;
	tpa_exit rc = TPA_EXIT_USAGE;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'o': out = optarg; break;
		default: return cmd_bad_option("baseline", help_verb, argv);
		}
	}
	if (argc - optind < 2)
		return usage_error("merge takes two or more baselines");
	for (i = optind; i < argc; i++) {
		tpa_baseline *next = NULL, *m = NULL;

		if (tpa_baseline_load_file(&next, argv[i]) < 0) {
			rc = fail("merge");
			goto cleanup;
		}
		if (!acc) {
			acc = next;
			continue;
		}
		if (tpa_baseline_merge(&m, acc, next) < 0) {
			tpa_baseline_free(next);
			rc = fail("merge");
			goto cleanup;
		}
		tpa_baseline_free(next);
		tpa_baseline_free(acc);
		acc = m;
	}
	if (name) {
		/* Rename through the JSON, validated again. */
		json_t *j;
		char *txt = tpa_baseline_to_json(acc);
		tpa_baseline *renamed = NULL;

		j = txt ? json_loads(txt, 0, NULL) : NULL;
		free(txt);
		txt = NULL;
		if (j) {
			json_object_set_new(j, "name", json_string(name));
			txt = json_dumps(j, JSON_PRESERVE_ORDER);
			json_decref(j);
		}
		if (!txt || tpa_baseline_parse(&renamed, txt, strlen(txt), "--name") < 0) {
			free(txt);
			rc = fail("merge");
			goto cleanup;
		}
		free(txt);
		tpa_baseline_free(acc);
		acc = renamed;
	}
	if (!(json = tpa_baseline_to_json(acc)) || !(summary = tpa_baseline_summary(acc)))
		goto cleanup;
	if ((rc = write_out(out, json)) != TPA_EXIT_OK)
		goto cleanup;
	fputs(summary, out ? stdout : stderr);
cleanup:
	free(json);
	free(summary);
	tpa_baseline_free(acc);
	return rc;
}

/* A verb without options: an argument that looks like one is refused
 * (-1, optind past it), "--" ends them; the operands start at optind. */
static int no_options(int argc, char **argv)
{
	static const struct option none[] = { { NULL, 0, NULL, 0 } };

	optind = 1;
	opterr = 0;
	return getopt_long(argc, argv, "+", none, NULL) == -1 ? 0 : -1;
}

static tpa_exit do_diff(int argc, char **argv)
{
	tpa_baseline *a = NULL, *b = NULL;
	char *d = NULL;
	tpa_exit rc = TPA_EXIT_USAGE;

	if (no_options(argc, argv) < 0)
		return cmd_bad_option("baseline", help_verb, argv);
	if (argc - optind != 2)
		return usage_error("diff takes two baselines");
	if (tpa_baseline_load_file(&a, argv[optind]) < 0 ||
	    tpa_baseline_load_file(&b, argv[optind + 1]) < 0 ||
	    tpa_baseline_diff(&d, a, b) < 0) {
		rc = fail("diff");
	} else {
		fputs(d, stdout);
		rc = d[0] ? TPA_EXIT_NO : TPA_EXIT_OK;
	}
	free(d);
	tpa_baseline_free(a);
	tpa_baseline_free(b);
	return rc;
}

static tpa_exit do_check(int argc, char **argv)
{
	tpa_baseline *b = NULL;
	char *s;

	if (no_options(argc, argv) < 0)
		return cmd_bad_option("baseline", help_verb, argv);
	if (argc - optind != 1)
		return usage_error("check takes one baseline");
	if (tpa_baseline_load_file(&b, argv[optind]) < 0)
		return fail("check");
	if ((s = tpa_baseline_summary(b)))
		fputs(s, stdout);
	free(s);
	tpa_baseline_free(b);
	return TPA_EXIT_OK;
}

static tpa_exit outcome_status(tpa_outcome o)
{
	switch (o) {
	case TPA_OUTCOME_COMPLIANT: return TPA_EXIT_OK;
	case TPA_OUTCOME_WARNING: return TPA_EXIT_WARNING;
	case TPA_OUTCOME_NON_COMPLIANT:
	case TPA_OUTCOME_NO_BASELINE:
	case TPA_OUTCOME_NOT_APPRAISED: return TPA_EXIT_NO;
	}
	return TPA_EXIT_NO;
}

static tpa_exit do_appraise(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "baseline", required_argument, NULL, 'b' },
		{ "eventlog", required_argument, NULL, 'e' },
		{ "pcrs", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bpath = NULL, *eventlog = NULL, *pcrs_file = NULL;
	tpa_baseline *bl = NULL;
	tpa_verdict_input in;
	tpa_verdict v;
	tpa_findings none;
	tpa_pcr_set pcrs;
	uint8_t *bytes = NULL;
	size_t len = 0, i;
	int c, json = 0, id, err;
	tpa_exit rc = TPA_EXIT_USAGE;

	memset(&v, 0, sizeof(v));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b': bpath = optarg; break;
		case 'e': eventlog = optarg; break;
		case 'p': pcrs_file = optarg; break;
		case 'j': json = 1; break;
		default: return cmd_bad_option("baseline", help_verb, argv);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%.40s'", argv[optind]);
	if (!bpath || !eventlog)
		return usage_error("appraise takes --baseline FILE and --eventlog LOG");
	if (tpa_baseline_load_file(&bl, bpath) < 0) {
		rc = fail("appraise");
		goto cleanup;
	}
	if (tpa_eventlog_read_file(&bytes, &len, eventlog) < 0) {
		rc = fail(eventlog);
		goto cleanup;
	}
	memset(&in, 0, sizeof(in));
	in.event_log = bytes;
	in.event_log_len = len;
	in.baseline = bl;
	/* With --pcrs, the log against those values as if a quote had covered
	 * them; without, the log alone. */
	if (pcrs_file) {
		char *text = NULL;
		size_t n = 0;

		if (tpa_eventlog_read_file((uint8_t **)&text, &n, pcrs_file) < 0 ||
		    !(text = realloc(text, n + 1))) {
			rc = fail(pcrs_file);
			goto cleanup;
		}
		text[n] = '\0';
		err = tpa_pcr_set_from_json(&pcrs, text);
		free(text);
		if (err < 0) {
			rc = fail(pcrs_file);
			goto cleanup;
		}
		memset(&none, 0, sizeof(none));
		in.checks = &none;
		in.quoted = &pcrs;
		in.registered = 1;
	}
	rc = TPA_EXIT_USAGE;
	if (tpa_verdict_judge(&v, &in) < 0) {
		rc = fail("appraise");
		goto cleanup;
	}
	if (!v.evidence_ok) {
		print_failed(&v.checks, eventlog);
		fprintf(stderr, PROG ": %s: the evidence does not hold: the boot is not appraised\n",
			eventlog);
		rc = TPA_EXIT_NO;
		goto cleanup;
	}
	if (json) {
		char *t = tpa_appraisal_to_json(&v.appraisal, tpa_baseline_name(bl), 0);

		if (t)
			printf("%s\n", t);
		free(t);
	} else {
		printf("outcome: %s (baseline %s)\n", tpa_outcome_name(v.appraisal.outcome),
		       tpa_baseline_name(bl));
		for (id = 0; id < TPA_RULE_COUNT; id++) {
			const tpa_rule_result *r = &v.appraisal.rules[id];
			size_t k;

			printf("  %-4s %-18s %s\n", tpa_rule_status_name(r->status),
			       tpa_rule_name(r->rule), r->detail);
			/* Every failing event, then what the baseline allows there. */
			for (k = 0; k < r->nfailed; k++) {
				if (r->failed[k].event >= 0)
					printf("         seen: event %d (PCR %d): %s\n",
					       r->failed[k].event, r->failed[k].pcr, r->failed[k].seen);
				else
					printf("         seen: PCR %d: %s\n", r->failed[k].pcr,
					       r->failed[k].seen);
			}
			for (k = 0; k < r->nexpected; k++)
				printf("         expected: %s\n", r->expected[k]);
		}
		for (i = 0; i < v.checks.n; i++)
			printf("  check %s: %s\n", v.checks.items[i].name, v.checks.items[i].detail);
	}
	rc = outcome_status(v.appraisal.outcome);
cleanup:
	tpa_verdict_clear(&v);
	tpa_baseline_free(bl);
	free(bytes);
	return rc;
}

/* A label no device carries is most likely a typo ("flet" for "fleet"):
 * say so, with the labels that are in use, but assign all the same (a label
 * may be assigned before its devices are labelled). */
static void warn_unused_label(tpa_store *st, const char *label)
{
	tpa_device *devs = NULL;
	size_t n = 0, i, k;
	int first = 1;

	if (tpa_store_list(&devs, &n, st) < 0) {
		free(devs);
		return;
	}
	for (i = 0; i < n; i++)
		if (strcmp(devs[i].label, label) == 0)
			break;
	if (i == n) {
		fprintf(stderr, "verifier: warning: no device has label '%s' (labels in use: ", label);
		/* Each label once, in the order of the first device carrying it. */
		for (i = 0; i < n; i++) {
			if (!devs[i].label[0])
				continue;
			for (k = 0; k < i; k++)
				if (strcmp(devs[k].label, devs[i].label) == 0)
					break;
			if (k < i)
				continue;
			fprintf(stderr, "%s%s", first ? "" : ", ", devs[i].label);
			first = 0;
		}
		fprintf(stderr, "%s)\n", first ? "none" : "");
	}
	free(devs);
}

/* "NAME" or "NAME@N": the name into name (TPA_BASELINE_NAME_MAX + 1 bytes),
 * N into *version (0 without one). N is 1 to 999999999 in decimal digits. */
static int parse_ref(char *name, int *version, const char *arg)
{
	const char *at = strrchr(arg, '@');
	size_t n = at ? (size_t)(at - arg) : strlen(arg);
	long v = 0;
	const char *p;

	*version = 0;
	if (n == 0 || n > TPA_BASELINE_NAME_MAX) {
		usage_error("'%.80s': a baseline name is 1 to %d bytes", arg,
			    TPA_BASELINE_NAME_MAX);
		return -1;
	}
	memcpy(name, arg, n);
	name[n] = '\0';
	if (!at)
		return 0;
	for (p = at + 1; *p; p++) {
		if (*p < '0' || *p > '9' || v > 99999999) {
			v = 0;
			break;
		}
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || at[1] == '0') {
		usage_error("'%.80s': the version after '@' must be a number from 1 to "
			    "999999999", arg);
		return -1;
	}
	*version = (int)v;
	return 0;
}

static void iso(char *buf, size_t cap, int64_t t)
{
	if (tpa_time_iso(buf, cap, t) < 0)
		snprintf(buf, cap, "%lld", (long long)t);
}

/* A stored version's one-line summary, or why it cannot be read (the
 * registry is untrusted: a row may not parse). malloc'd. */
static char *brief_of(tpa_store *st, const char *name, int version)
{
	tpa_baseline *b = NULL;
	char *body = NULL, *s = NULL, src[TPA_BASELINE_NAME_MAX + 16];

	snprintf(src, sizeof(src), "%s@%d", name, version);
	if (tpa_store_baseline_get(&body, NULL, st, name, version) == 0 &&
	    tpa_baseline_parse(&b, body, strlen(body), src) == 0)
		s = tpa_baseline_brief(b);
	else {
		size_t n = strlen(tpa_err_last()) + 32;

		if ((s = malloc(n)))
			snprintf(s, n, "unreadable: %s", tpa_err_last());
	}
	tpa_baseline_free(b);
	free(body);
	return s;
}

/* The version an assignment resolves to now. */
static int resolved(const tpa_assignment *a, const tpa_baseline_info *vs, size_t n)
{
	int latest = 0;
	size_t i;

	if (a->version)
		return a->version;
	for (i = 0; i < n; i++)
		if (strcmp(vs[i].name, a->name) == 0 && vs[i].version > latest)
			latest = vs[i].version;
	return latest;
}

static json_t *assignment_json(const tpa_assignment *a, int now_version)
{
	json_t *o = json_object();
	char t[TPA_TIME_ISO_LEN + 24];

	iso(t, sizeof(t), a->assigned_at);
	json_object_set_new(o, "kind", json_string(a->kind));
	json_object_set_new(o, "target", json_string(a->target));
	json_object_set_new(o, "name", json_string(a->name));
	json_object_set_new(o, "version", a->version ? json_integer(a->version) :
			    json_string("latest"));
	json_object_set_new(o, "resolves_to", json_integer(now_version));
	json_object_set_new(o, "assigned_at", json_string(t));
	return o;
}

static void print_assignment(const tpa_assignment *a, int now_version)
{
	char t[TPA_TIME_ISO_LEN + 24];

	iso(t, sizeof(t), a->assigned_at);
	if (a->version)
		printf("%s %s: %s@%d (pinned)  assigned %s\n", a->kind, a->target, a->name,
		       a->version, t);
	else
		printf("%s %s: %s (latest, now %s@%d)  assigned %s\n", a->kind, a->target, a->name,
		       a->name, now_version, t);
}

static tpa_exit print_json_out(json_t *j)
{
	char *txt = j ? json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
	tpa_exit rc = TPA_EXIT_INTERNAL;

	if (txt && printf("%s\n", txt) > 0)
		rc = TPA_EXIT_OK;
	else
		fprintf(stderr, "verifier: baseline: cannot write the JSON\n");
	free(txt);
	json_decref(j);
	return rc;
}

/* baseline list: every version of every baseline, then every assignment. */
static tpa_exit list_baselines(tpa_store *st, int json)
{
	tpa_baseline_info *vs = NULL;
	tpa_assignment *as = NULL;
	size_t nv = 0, na = 0, i;
	json_t *j = NULL, *bl = NULL, *cur = NULL, *arr = NULL;
	tpa_exit rc = TPA_EXIT_USAGE;

	if (tpa_store_baseline_versions(&vs, &nv, st, NULL) < 0 ||
	    tpa_store_assignments(&as, &na, st, NULL) < 0) {
		rc = fail("list");
		goto out;
	}
	if (json) {
		j = json_object();
		bl = json_array();
		json_object_set_new(j, "baselines", bl);
	}
	for (i = 0; i < nv; i++) {
		char t[TPA_TIME_ISO_LEN + 24], *brief = brief_of(st, vs[i].name, vs[i].version);

		iso(t, sizeof(t), vs[i].added_at);
		if (!json) {
			printf("%s@%d  added %s  %s\n", vs[i].name, vs[i].version, t,
			       brief ? brief : "?");
		} else {
			json_t *v = json_object();

			if (i == 0 || strcmp(vs[i].name, vs[i - 1].name)) {
				cur = json_object();
				arr = json_array();
				json_object_set_new(cur, "name", json_string(vs[i].name));
				json_object_set_new(cur, "versions", arr);
				json_array_append_new(bl, cur);
			}
			json_object_set_new(cur, "latest", json_integer(vs[i].version));
			json_object_set_new(v, "version", json_integer(vs[i].version));
			json_object_set_new(v, "added_at", json_string(t));
			json_object_set_new(v, "summary", brief ? json_string(brief) : json_null());
			json_array_append_new(arr, v);
		}
		free(brief);
	}
	if (json) {
		arr = json_array();
		for (i = 0; i < na; i++)
			json_array_append_new(arr, assignment_json(&as[i], resolved(&as[i], vs, nv)));
		json_object_set_new(j, "assignments", arr);
		rc = print_json_out(j);
		goto out;
	}
	if (!nv)
		printf("no baselines\n");
	if (!na)
		printf("no assignments\n");
	for (i = 0; i < na; i++)
		print_assignment(&as[i], resolved(&as[i], vs, nv));
	rc = TPA_EXIT_OK;
out:
	free(vs);
	free(as);
	return rc;
}

/* baseline show NAME[@N]: that version's body and the assignments of NAME. */
static tpa_exit show_baseline(tpa_store *st, const char *ref, int json)
{
	char name[TPA_BASELINE_NAME_MAX + 1], t[TPA_TIME_ISO_LEN + 24], *body = NULL;
	tpa_baseline_info *vs = NULL;
	tpa_assignment *as = NULL;
	size_t nv = 0, na = 0, i;
	int version, got = 0;
	int64_t added = 0;
	tpa_exit rc = TPA_EXIT_USAGE;

	if (parse_ref(name, &version, ref) < 0)
		return TPA_EXIT_USAGE;
	if (tpa_store_baseline_get(&body, &got, st, name, version) < 0) {
		fail("show");
		rc = TPA_EXIT_NO;
		goto out;
	}
	if (tpa_store_baseline_versions(&vs, &nv, st, name) < 0 ||
	    tpa_store_assignments(&as, &na, st, name) < 0) {
		rc = fail("show");
		goto out;
	}
	for (i = 0; i < nv; i++)
		if (vs[i].version == got)
			added = vs[i].added_at;
	iso(t, sizeof(t), added);
	if (json) {
		json_t *j = json_object(), *arr = json_array(), *b;
		json_error_t e;

		if (!(b = json_loads(body, JSON_REJECT_DUPLICATES, &e))) {
			fprintf(stderr, "verifier: baseline: show: %s@%d is not JSON: %s\n", name, got,
				e.text);
			json_decref(j);
			json_decref(arr);
			goto out;
		}
		json_object_set_new(j, "name", json_string(name));
		json_object_set_new(j, "version", json_integer(got));
		json_object_set_new(j, "latest", json_integer(nv ? vs[nv - 1].version : got));
		json_object_set_new(j, "added_at", json_string(t));
		for (i = 0; i < na; i++)
			json_array_append_new(arr, assignment_json(&as[i], resolved(&as[i], vs, nv)));
		json_object_set_new(j, "assignments", arr);
		json_object_set_new(j, "body", b);
		rc = print_json_out(j);
		goto out;
	}
	printf("%s@%d  added %s  (latest %s@%d)\n", name, got, t, name,
	       nv ? vs[nv - 1].version : got);
	printf("%s\n", body);
	if (!na)
		printf("assigned to nothing\n");
	for (i = 0; i < na; i++)
		print_assignment(&as[i], resolved(&as[i], vs, nv));
	rc = TPA_EXIT_OK;
out:
	free(body);
	free(vs);
	free(as);
	return rc;
}

static tpa_exit do_registry(const char *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "registry", required_argument, NULL, 'R' },
		{ "device", required_argument, NULL, 'd' },
		{ "label", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *registry = NULL, *device = NULL, *label = NULL;
	tpa_store *st = NULL;
	int c, json = 0;
	tpa_exit rc = TPA_EXIT_USAGE;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'R': registry = optarg; break;
		case 'd': device = optarg; break;
		case 'l': label = optarg; break;
		case 'j': json = 1; break;
		default: return cmd_bad_option("baseline", help_verb, argv);
		}
	}
	if (json && strcmp(cmd, "list") && strcmp(cmd, "show"))
		return usage_error("--json is for list and show");
	if ((rc = open_registry(&st, registry)) != TPA_EXIT_OK)
		return rc;
	rc = TPA_EXIT_USAGE;
	if (strcmp(cmd, "add") == 0) {
		tpa_baseline *b = NULL;
		char *json_text = NULL;
		int version = 0;

		if (optind != argc - 1 || device || label) {
			usage_error("add takes --registry FILE and one baseline file");
		} else if (tpa_baseline_load_file(&b, argv[optind]) < 0 ||
			   !(json_text = tpa_baseline_to_json(b)) ||
			   tpa_store_baseline_add(&version, st, tpa_baseline_name(b), json_text,
						  (int64_t)time(NULL)) < 0) {
			rc = fail("add");
		} else {
			printf("added: %s@%d\n", tpa_baseline_name(b), version);
			rc = TPA_EXIT_OK;
		}
		free(json_text);
		tpa_baseline_free(b);
	} else if (strcmp(cmd, "assign") == 0) {
		char name[TPA_BASELINE_NAME_MAX + 1], id[TPA_DEVICE_ID_LEN + 1];
		int version = 0, none, err;

		if (optind != argc - 1 || !device == !label) {
			usage_error("assign takes --device ID or --label LABEL, and a baseline "
				    "NAME or NAME@N (\"-\" removes the assignment)");
			goto close;
		}
		none = strcmp(argv[optind], "-") == 0;
		if (!none && parse_ref(name, &version, argv[optind]) < 0)
			goto close;
		if (device) {
			if (tpa_store_find_device(id, st, device) < 0) {
				fail("assign");
				rc = TPA_EXIT_NO;
				goto close;
			}
			device = id;
		}
		err = tpa_store_assign_version(st, device ? "device" : "label",
					       device ? device : label, none ? NULL : name,
					       version, (int64_t)time(NULL));
		if (err < 0) {
			fail("assign");
			rc = err == TPA_ERR_NOT_FOUND ? TPA_EXIT_NO : TPA_EXIT_USAGE;
			goto close;
		}
		if (label && !none)
			warn_unused_label(st, label);
		if (none)
			printf("%s %s: (none)\n", device ? "device" : "label", device ? device : label);
		else if (version)
			printf("%s %s: %s@%d (pinned)\n", device ? "device" : "label",
			       device ? device : label, name, version);
		else
			printf("%s %s: %s\n", device ? "device" : "label", device ? device : label,
			       name);
		rc = TPA_EXIT_OK;
	} else if (strcmp(cmd, "show") == 0) {
		if (optind != argc - 1 || device || label) {
			usage_error("show takes --registry FILE and one NAME or NAME@N");
		} else {
			rc = show_baseline(st, argv[optind], json);
		}
	} else {
		if (optind != argc || device || label) {
			usage_error("list takes --registry FILE and no arguments");
		} else {
			rc = list_baselines(st, json);
		}
	}
close:
	tpa_store_close(st);
	return rc;
}

/* ---- allow: images before any device boots them ---- */

typedef struct {
	tpa_allow_image v[TPA_ALLOW_IMAGES_MAX];
	char *owned[TPA_ALLOW_IMAGES_MAX];     /* the paths allocated here */
	size_t n;
	const char *kind;                      /* --kind, or NULL: from the name */
	int full;
} image_list;

static void images_free(image_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->owned[i]);
	l->n = 0;
}

/* The kind an image's name says: vmlinuz-* a kernel, initrd* an initrd,
 * shim* and grub* those, any other an EFI application. */
static const char *kind_of(const char *file)
{
	const char *b = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;

	if (strncmp(b, "vmlinuz", 7) == 0 || strncmp(b, "vmlinux", 7) == 0)
		return "kernel";
	if (strncmp(b, "initrd", 6) == 0)
		return "initrd";
	if (strncmp(b, "shim", 4) == 0)
		return "shim";
	if (strncmp(b, "grub", 4) == 0)
		return "grub";
	return "app";
}

/* Adds an image; own: file and path are copied (one allocation). */
static int image_add(image_list *l, const char *file, const char *path, int own)
{
	size_t nf = strlen(file) + 1, np = path ? strlen(path) + 1 : 0;
	char *m = NULL;

	if (l->n == TPA_ALLOW_IMAGES_MAX) {
		l->full = 1;
		return -1;
	}
	if (own) {
		if (!(m = malloc(nf + np)))
			return -1;
		memcpy(m, file, nf);
		file = m;
		if (path) {
			memcpy(m + nf, path, np);
			path = m + nf;
		}
	}
	l->owned[l->n] = m;
	l->v[l->n].file = file;
	l->v[l->n].path = path;
	l->v[l->n].kind = l->kind ? l->kind : kind_of(file);
	l->n++;
	return 0;
}

static image_list *walk_list;
static const char *walk_root;

/* A package's boot images: its kernels (boot/vmlinuz-*, at that path on the
 * device) and its EFI applications (*.efi, *.efi.signed). */
static int walk_one(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
	const char *b = fpath + ftw->base, *rel = fpath + strlen(walk_root);
	size_t n = strlen(b);
	int efi = (n > 4 && strcmp(b + n - 4, ".efi") == 0) ||
		(n > 11 && strcmp(b + n - 11, ".efi.signed") == 0);
	int kernel = strncmp(b, "vmlinuz-", 8) == 0 && strstr(rel, "/boot/") == rel;

	(void)sb;
	if (type != FTW_F || (!efi && !kernel))
		return 0;
	return image_add(walk_list, fpath, kernel ? rel : NULL, 1) < 0 ? 1 : 0;
}

static int rm_one(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(fpath) < 0 ? -1 : 0;
}

/* --package: a directory (an unpacked package) or a .deb, unpacked by
 * dpkg-deb into a private temporary directory (tmp, removed by the caller). */
static tpa_exit package_images(image_list *l, const char *pkg, char *tmp, size_t tmp_cap)
{
	struct stat sb;
	const char *dir = pkg;
	char root[4096];
	size_t before = l->n;

	*tmp = '\0';
	if (stat(pkg, &sb) < 0) {
		fprintf(stderr, "verifier: baseline: --package %s: %s\n", pkg, strerror(errno));
		return TPA_EXIT_USAGE;
	}
	if (S_ISREG(sb.st_mode)) {
		char *argv[] = { "dpkg-deb", "-x", (char *)pkg, tmp, NULL };
		const char *t = getenv("TMPDIR");
		pid_t pid;
		int st;

		snprintf(tmp, tmp_cap, "%s/tpa-allow-XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(tmp)) {
			fprintf(stderr, "verifier: baseline: %s: %s\n", tmp, strerror(errno));
			*tmp = '\0';
			return TPA_EXIT_INTERNAL;
		}
		if (posix_spawnp(&pid, "dpkg-deb", NULL, NULL, argv, environ) != 0 ||
		    waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "verifier: baseline: --package %s: dpkg-deb -x could not "
				"unpack it (is it a .deb?)\n", pkg);
			return TPA_EXIT_USAGE;
		}
		dir = tmp;
	} else if (!S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "verifier: baseline: --package %s: neither a directory nor a "
			"file\n", pkg);
		return TPA_EXIT_USAGE;
	}
	/* Paths in the package are what follows dir ("/boot/vmlinuz-..."). */
	{
		size_t n = strlen(dir);

		while (n > 1 && dir[n - 1] == '/')
			n--;
		if (n >= sizeof(root)) {
			fprintf(stderr, "verifier: baseline: --package %s: the path is too long\n", pkg);
			return TPA_EXIT_USAGE;
		}
		memcpy(root, dir, n);
		root[n] = '\0';
	}
	walk_list = l;
	walk_root = root;
	if (nftw(root, walk_one, 16, FTW_PHYS) != 0 || l->full) {
		fprintf(stderr, "verifier: baseline: --package %s: %s\n", pkg, l->full ?
			"more than 64 boot images" : "cannot read it all");
		return TPA_EXIT_USAGE;
	}
	if (l->n == before) {
		fprintf(stderr, "verifier: baseline: --package %s: no boot image in it (boot/vmlinuz-*, "
			"*.efi, *.efi.signed)\n", pkg);
		return TPA_EXIT_USAGE;
	}
	return TPA_EXIT_OK;
}

static void print_allowances(const tpa_baseline *b, size_t from)
{
	char *txt = tpa_baseline_to_json(b);
	json_t *j = txt ? json_loads(txt, 0, NULL) : NULL, *rule, *list, *a, *e;
	size_t i, k;
	int cmds = 0, judges_pcr8 = 0;

	free(txt);
	rule = json_object_get(json_object_get(j, "rules"), "boot-applications");
	list = json_object_get(rule, "allowances");
	json_array_foreach(json_object_get(rule, "boot_loader"), k, e)
		judges_pcr8 |= json_integer_value(json_object_get(e, "pcr")) == 8;
	for (i = from; i < json_array_size(list); i++) {
		a = json_array_get(list, i);
		printf("allowed: %s %s until %s\n", json_string_value(json_object_get(a, "kind")),
		       json_string_value(json_object_get(a, "source")),
		       json_string_value(json_object_get(a, "expires")));
		json_array_foreach(json_object_get(a, "applications"), k, e)
			printf("  PCR 4 application %s  %s\n",
			       json_string_value(json_object_get(e, "digest")),
			       json_string_value(json_object_get(e, "path")));
		json_array_foreach(json_object_get(a, "boot_loader"), k, e) {
			printf("  PCR %lld %s  %s\n",
			       (long long)json_integer_value(json_object_get(e, "pcr")),
			       json_string_value(json_object_get(e, "digest")),
			       json_string_value(json_object_get(e, "text")));
			cmds += json_integer_value(json_object_get(e, "pcr")) == 8;
		}
		/* A GRUB boot also runs commands that name the kernel: without
		 * them allowed, its boot fails there. */
		if (!cmds && strcmp(json_string_value(json_object_get(a, "kind")), "kernel") == 0 &&
		    judges_pcr8)
			fprintf(stderr, "verifier: warning: %s: no GRUB command allowed for it (its "
				"path is not .../vmlinuz-VERSION; --path gives it), so a GRUB boot of it "
				"still fails there\n", json_string_value(json_object_get(a, "source")));
		cmds = 0;
	}
	json_decref(j);
}

static size_t allowances_in(const tpa_baseline *b)
{
	char *txt = tpa_baseline_to_json(b);
	json_t *j = txt ? json_loads(txt, 0, NULL) : NULL;
	size_t n = json_array_size(json_object_get(json_object_get(json_object_get(j, "rules"),
								   "boot-applications"),
						   "allowances"));

	free(txt);
	json_decref(j);
	return n;
}

#define ALLOW_DAYS_DEFAULT 30

static tpa_exit do_allow(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "registry", required_argument, NULL, 'R' },
		{ "in", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "file", required_argument, NULL, 'f' },
		{ "package", required_argument, NULL, 'P' },
		{ "kind", required_argument, NULL, 'k' },
		{ "path", required_argument, NULL, 'p' },
		{ "expires", required_argument, NULL, 'x' },
		{ "note", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	const char *registry = NULL, *in = NULL, *out = NULL, *package = NULL, *path = NULL;
	const char *expires_s = NULL, *note = NULL, *files[TPA_ALLOW_IMAGES_MAX];
	char tmp[512] = "", name[TPA_BASELINE_NAME_MAX + 1];
	image_list l;
	tpa_baseline *b = NULL, *nb = NULL;
	tpa_store *st = NULL;
	char *body = NULL, *json = NULL;
	size_t nfiles = 0, i, had;
	int64_t now = (int64_t)time(NULL), expires;
	int c, version = 0, pinned;
	tpa_exit rc = TPA_EXIT_USAGE;

	memset(&l, 0, sizeof(l));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'R': registry = optarg; break;
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case 'P': package = optarg; break;
		case 'k': l.kind = optarg; break;
		case 'p': path = optarg; break;
		case 'x': expires_s = optarg; break;
		case 'N': note = optarg; break;
		case 'f':
			if (nfiles == TPA_ALLOW_IMAGES_MAX) {
				return usage_error("allow: more than %d --file",
						   TPA_ALLOW_IMAGES_MAX);
			}
			files[nfiles++] = optarg;
			break;
		default: return cmd_bad_option("baseline", help_verb, argv);
		}
	}
	if (!registry == !in || (in && (!out || optind != argc)) ||
	    (registry && (out || optind != argc - 1)) || !nfiles == !package ||
	    (path && nfiles != 1)) {
		return usage_error("allow takes --registry FILE NAME or --in FILE --out "
				   "FILE, and --file IMAGE... or --package DIR_OR_DEB (--path "
				   "with one --file only)");
	}
	expires = now + ALLOW_DAYS_DEFAULT * 86400;
	if (expires_s && tpa_time_parse_iso(&expires, expires_s) < 0) {
		return usage_error("allow: --expires: %s", tpa_err_last());
	}
	if (expires <= now) {
		return usage_error("allow: --expires %.40s is not in the future", expires_s);
	}
	for (i = 0; i < nfiles; i++)
		if (image_add(&l, files[i], path, 0) < 0)
			goto cleanup;
	if (package && (rc = package_images(&l, package, tmp, sizeof(tmp))) != TPA_EXIT_OK)
		goto cleanup;
	rc = TPA_EXIT_USAGE;
	if (in) {
		if (tpa_baseline_load_file(&b, in) < 0) {
			rc = fail("allow");
			goto cleanup;
		}
	} else {
		if (parse_ref(name, &pinned, argv[optind]) < 0)
			goto cleanup;
		if (pinned) {
			fprintf(stderr, "verifier: baseline: allow: %s: a new version is made from "
				"the latest; name the baseline without @N\n", argv[optind]);
			goto cleanup;
		}
		if ((rc = open_registry(&st, registry)) != TPA_EXIT_OK)
			goto cleanup;
		rc = TPA_EXIT_USAGE;
		if (tpa_store_baseline_get(&body, &version, st, name, 0) < 0) {
			fail("allow");
			rc = TPA_EXIT_NO;
			goto cleanup;
		}
		if (tpa_baseline_parse(&b, body, strlen(body), name) < 0) {
			rc = fail("allow");
			goto cleanup;
		}
	}
	had = allowances_in(b);
	if (tpa_baseline_allow(&nb, b, l.v, l.n, expires, note, now) < 0) {
		rc = fail("allow");
		goto cleanup;
	}
	if (!(json = tpa_baseline_to_json(nb))) {
		rc = TPA_EXIT_INTERNAL;
		goto cleanup;
	}
	if (in) {
		if ((rc = write_out(out, json)) != TPA_EXIT_OK)
			goto cleanup;
	} else {
		if (tpa_store_baseline_add(&version, st, name, json, now) < 0) {
			rc = fail("allow");
			goto cleanup;
		}
		printf("added: %s@%d\n", name, version);
	}
	print_allowances(nb, had);
	rc = TPA_EXIT_OK;
cleanup:
	if (tmp[0] && nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "verifier: baseline: cannot remove %s\n", tmp);
	images_free(&l);
	free(json);
	free(body);
	tpa_baseline_free(nb);
	tpa_baseline_free(b);
	tpa_store_close(st);
	return rc;
}

tpa_exit cmd_baseline(int argc, char **argv)
{
	static const struct {
		const char *verb, *help;
		tpa_exit (*run)(int argc, char **argv);
	} verbs[] = {
		{ "learn", help_learn, do_learn },
		{ "merge", help_merge, do_merge },
		{ "diff", help_diff, do_diff },
		{ "check", help_check, do_check },
		{ "appraise", help_appraise, do_appraise },
		{ "add", help_add, NULL },
		{ "assign", help_assign, NULL },
		{ "list", help_list, NULL },
		{ "show", help_show, NULL },
		{ "allow", help_allow, do_allow },
	};
	const char *verb;
	size_t v;
	tpa_exit rc;
	int i;

	if (!(verb = cmd_verb(&argc, &argv, usage, &rc)))
		return rc;
	for (v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++)
		if (strcmp(verb, verbs[v].verb) == 0)
			break;
	if (v == sizeof(verbs) / sizeof(verbs[0]))
		return usage_error("unknown verb '%.40s'", verb);
	help_verb = verbs[v].help;
	/* "verifier baseline VERB ... --help": before any option is parsed. */
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return cmd_help(help_verb);
	return verbs[v].run ? verbs[v].run(argc, argv) : do_registry(verb, argc, argv);
}
