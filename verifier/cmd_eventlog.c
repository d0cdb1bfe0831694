/* SPDX-License-Identifier: BSD-3-Clause */
/* verifier eventlog show [--json] FILE: the events of a measured-boot log,
 * the replayed PCRs and the trusted-launch state, for a person or a program.
 * The log is judged as the verifier judges it (tpa_verdict_judge), but alone:
 * nothing in it is TPM-signed, so the output says which PCRs a quote must
 * cover for each fact to count, and which checks the log itself fails.
 * Exit status (tpa/exit.h): 0 shown, 2 unreadable or malformed log (one
 * line naming the offset and the rule), 7 internal failure. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tpa/boot.h"
#include "tpa/bootstate.h"
#include "tpa/err.h"
#include "tpa/eventlog.h"
#include "tpa/sbclaims.h"
#include "tpa/sbref.h"
#include "tpa/tpm_decode.h"
#include "tpa/verdict.h"

#include "cmd.h"

static void type_label(char *buf, size_t cap, uint32_t type)
{
	const char *name = tpa_event_type_name(type);

	if (name)
		snprintf(buf, cap, "%s", name);
	else
		snprintf(buf, cap, "0x%08x", type);
}

static json_t *hex_json(const uint8_t *b, size_t n)
{
	char buf[2 * 128 + 1];

	if (n > 128)
		n = 128;
	tpa_hex(buf, b, n);
	return json_string(buf);
}

static json_t *cert_json(const tpa_efi_cert *c)
{
	json_t *o = json_object();
	char subject[TPA_EFI_SUBJECT_MAX];
	uint8_t fp[32];

	if (tpa_efi_cert_sha256(fp, c) == 0)
		json_object_set_new(o, "sha256", hex_json(fp, 32));
	tpa_efi_cert_subject(subject, sizeof(subject), c);
	json_object_set_new(o, "subject", json_string(subject));
	return o;
}

static json_t *sigdb_json(const tpa_efi_sigdb *db)
{
	json_t *o, *certs, *hashes;
	size_t i;

	if (!db->present)
		return json_null();
	o = json_object();
	certs = json_array();
	hashes = json_array();
	for (i = 0; i < db->ncerts; i++)
		json_array_append_new(certs, cert_json(&db->certs[i]));
	for (i = 0; i < db->nhashes; i++)
		json_array_append_new(hashes, hex_json(db->hashes[i], 32));
	json_object_set_new(o, "certificates", certs);
	json_object_set_new(o, "sha256", hashes);
	json_object_set_new(o, "other_entries", json_integer((json_int_t)db->other));
	if (db->truncated)
		json_object_set_new(o, "truncated", json_true());
	return o;
}

static json_t *pcr_list_json(uint32_t mask)
{
	json_t *a = json_array();
	uint32_t k;

	for (k = 0; k < TPA_EVLOG_PCRS; k++)
		if ((mask >> k) & 1)
			json_array_append_new(a, json_integer(k));
	return a;
}

/* The trusted-launch state, for programs. */
static json_t *state_json(const tpa_bootstate *bs)
{
	json_t *o = json_object(), *apps = json_array(), *auths = json_array();
	json_t *actions = json_array();
	size_t i;

	json_object_set_new(o, "firmware_version", json_string(bs->firmware_version));
	json_object_set_new(o, "firmware_version_verified",
			    json_boolean(bs->firmware_version_verified));
	json_object_set_new(o, "secure_boot", json_string(tpa_secure_boot_name(bs->secure_boot)));
	json_object_set_new(o, "pk", sigdb_json(&bs->pk));
	json_object_set_new(o, "kek", sigdb_json(&bs->kek));
	json_object_set_new(o, "db", sigdb_json(&bs->db));
	json_object_set_new(o, "dbx", sigdb_json(&bs->dbx));
	for (i = 0; i < bs->nauthorities; i++)
		json_array_append_new(auths, cert_json(&bs->authorities[i]));
	json_object_set_new(o, "authorities", auths);
	json_object_set_new(o, "uefi_debug_mode", json_boolean(bs->uefi_debug_mode));
	for (i = 0; i < bs->napps; i++) {
		json_t *a = json_object();

		json_object_set_new(a, "event", json_integer(bs->apps[i].event));
		json_object_set_new(a, "digest", hex_json(bs->apps[i].digest,
							   bs->apps[i].digest_len));
		json_object_set_new(a, "path", json_string(bs->apps[i].path));
		json_array_append_new(apps, a);
	}
	json_object_set_new(o, "boot_applications", apps);
	json_object_set_new(o, "kernel", json_string(bs->kernel));
	json_object_set_new(o, "kernel_cmdline", json_string(bs->kernel_cmdline));
	json_object_set_new(o, "kernel_cmdline_source", json_string(bs->cmdline_source));
	for (i = 0; i < bs->nactions; i++)
		json_array_append_new(actions, json_string(bs->actions[i]));
	json_object_set_new(o, "efi_actions", actions);
	json_object_set_new(o, "separators", pcr_list_json(bs->separators));
	json_object_set_new(o, "error_separators", pcr_list_json(bs->error_separators));
	json_object_set_new(o, "exit_boot_services", json_boolean(bs->exit_boot_services));
	json_object_set_new(o, "events_after_exit_boot_services",
			    json_integer(bs->events_after_ebs));
	json_object_set_new(o, "digest_mismatches", json_integer(bs->digest_mismatches));
	if (bs->truncated)
		json_object_set_new(o, "truncated", json_true());
	{
		json_t *facts = json_object();
		int f;

		/* Offline no quote vouches for anything: a fact the log has is
		 * unverified, with the PCRs a quote would have to cover. */
		for (f = 0; f < TPA_FACT_COUNT; f++) {
			json_t *x = json_object();

			json_object_set_new(x, "status", json_string(tpa_fact_status_name(
				bs->facts[f].status == TPA_FACT_ABSENT ? TPA_FACT_ABSENT :
				TPA_FACT_UNVERIFIED)));
			json_object_set_new(x, "pcrs", pcr_list_json(bs->facts[f].pcrs));
			json_object_set_new(facts, tpa_fact_name((tpa_fact_id)f), x);
		}
		json_object_set_new(o, "facts", facts);
	}
	return o;
}

/* What a quote must cover for the log's facts to count: the evidence bank,
 * PCRs 0-7 and every PCR the firmware's log extends. */
static tpa_pcr_mask must_cover(const tpa_eventlog *log)
{
	tpa_pcr_mask m = TPA_BOOT_SEPARATOR_PCRS;
	size_t i;

	for (i = 0; i < tpa_eventlog_count(log); i++) {
		const tpa_event *ev = tpa_eventlog_event(log, i);

		if (ev->type != TPA_EV_NO_ACTION && ev->pcr < TPA_EVLOG_PCRS)
			m |= (tpa_pcr_mask)1 << ev->pcr;
	}
	return m & ~TPA_BOOT_OS_PCRS;
}

static json_t *checks_json(const tpa_findings *f)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < f->n; i++) {
		json_t *c = json_object();

		json_object_set_new(c, "name", json_string(f->items[i].name));
		json_object_set_new(c, "passed", json_boolean(f->items[i].passed));
		json_object_set_new(c, "detail", json_string(f->items[i].detail));
		json_array_append_new(a, c);
	}
	return a;
}

/* One Secure Boot hygiene claim: its answer (true, false, null) and why. */
static json_t *answer_json(tpa_sb_answer a, const char *why)
{
	return json_pack("{s:o,s:s}", "value", a == TPA_SBA_UNKNOWN ? json_null() :
			 json_boolean(a == TPA_SBA_YES), "why", why);
}

static json_t *secureboot_json(const tpa_sb_claims *c)
{
	json_t *o = json_object(), *missing = json_array();
	size_t i;

	if (!o || !missing) {
		json_decref(o);
		json_decref(missing);
		return NULL;
	}
	json_object_set_new(o, "arch", c->arch == TPA_SB_ARCH_COUNT ? json_null() :
			    json_string(tpa_sb_arch_name(c->arch)));
	json_object_set_new(o, "arch_why", json_string(c->arch_why));
	json_object_set_new(o, "dbx_current", answer_json(c->dbx_current, c->dbx_why));
	json_object_set_new(o, "dbx_required", json_integer((json_int_t)c->dbx_required));
	json_object_set_new(o, "dbx_missing", json_integer((json_int_t)c->dbx_missing));
	for (i = 0; i < c->dbx_missing_nnamed; i++)
		json_array_append_new(missing, json_string(c->dbx_missing_named[i]));
	json_object_set_new(o, "dbx_missing_newest", missing);
	json_object_set_new(o, "ca_2023_ready", answer_json(c->ca_2023_ready, c->ca_2023_why));
	json_object_set_new(o, "ca_2011_only", answer_json(c->ca_2011_only, c->ca_2011_why));
	json_object_set_new(o, "test_platform_key",
			    answer_json(c->test_platform_key, c->test_pk_why));
	json_object_set_new(o, "revoked_component_booted",
			    answer_json(c->revoked_component_booted, c->revoked_why));
	json_object_set_new(o, "sbat_level", json_pack("{s:o,s:s}", "value", c->sbat_level[0] ?
			    json_string(c->sbat_level) : json_null(), "why", c->sbat_why));
	json_object_set_new(o, "mok_validation", answer_json(c->mok_validation, c->mok_why));
	{
		json_t *m = json_object();

		for (i = 0; m && i < c->nmok; i++)
			json_object_set_new(m, c->mok[i].name, json_string(c->mok[i].digest));
		json_object_set_new(o, "mok_lists", m);
	}
	return o;
}

static tpa_exit show_json(const tpa_verdict *v)
{
	const tpa_eventlog *log = v->boot.log;
	const tpa_replay *r = &v->boot.replay;
	const tpa_bootstate *bs = &v->boot.state;
	json_t *root = json_object(), *banks = json_array(), *events = json_array();
	json_t *pcrs = json_object();
	uint16_t algs[TPA_EVLOG_MAX_ALGS];
	size_t nb = tpa_eventlog_banks(log, algs, TPA_EVLOG_MAX_ALGS), i;
	uint32_t b, k;
	char *txt;
	tpa_exit rc = TPA_EXIT_INTERNAL;

	if (!root || !banks || !events || !pcrs)
		goto cleanup;
	json_object_set_new(root, "format", json_string(
		tpa_eventlog_format(log) == TPA_EVLOG_CRYPTO_AGILE ? "crypto-agile" : "sha1"));
	for (i = 0; i < nb && i < TPA_EVLOG_MAX_ALGS; i++) {
		char label[16];

		if (tpa_hash_size(algs[i]))
			snprintf(label, sizeof(label), "%s", tpa_hash_label(algs[i]));
		else if (algs[i] == TPM2_ALG_SM3_256)
			snprintf(label, sizeof(label), "sm3_256");
		else
			snprintf(label, sizeof(label), "0x%04x", algs[i]);
		json_array_append_new(banks, json_string(label));
	}
	for (i = 0; i < tpa_eventlog_count(log); i++) {
		const tpa_event *ev = tpa_eventlog_event(log, i);
		json_t *e = json_object(), *dg = json_object();
		char tl[32];

		type_label(tl, sizeof(tl), ev->type);
		json_object_set_new(e, "number", json_integer(ev->number));
		json_object_set_new(e, "offset", json_integer((json_int_t)ev->offset));
		json_object_set_new(e, "pcr", json_integer(ev->pcr));
		json_object_set_new(e, "type", json_string(tl));
		json_object_set_new(e, "type_value", json_integer(ev->type));
		for (k = 0; k < ev->ndigests; k++) {
			char label[16];

			if (tpa_hash_size(ev->digests[k].alg))
				snprintf(label, sizeof(label), "%s",
					 tpa_hash_label(ev->digests[k].alg));
			else
				snprintf(label, sizeof(label), "0x%04x", ev->digests[k].alg);
			json_object_set_new(dg, label, hex_json(ev->digests[k].digest,
								ev->digests[k].size));
		}
		json_object_set_new(e, "digests", dg);
		json_object_set_new(e, "data_len", json_integer(ev->data_len));
		json_array_append_new(events, e);
	}
	for (b = 0; b < r->nbanks; b++) {
		const tpa_replay_bank *rb = &r->banks[b];
		json_t *bank = json_object();

		for (k = 0; k < TPA_EVLOG_PCRS; k++) {
			char key[4];

			if (!((rb->extended >> k) & 1) || ((rb->incomplete >> k) & 1))
				continue;
			snprintf(key, sizeof(key), "%u", k);
			json_object_set_new(bank, key, hex_json(rb->value[k],
								tpa_hash_size(rb->alg)));
		}
		json_object_set_new(pcrs, tpa_hash_label(rb->alg), bank);
	}
	json_object_set_new(root, "banks", banks);
	json_object_set_new(root, "events", events);
	json_object_set_new(root, "pcrs", pcrs);
	banks = events = pcrs = NULL;
	json_object_set_new(root, "secure_boot",
			    json_string(tpa_secure_boot_name(bs->secure_boot)));
	json_object_set_new(root, "secure_boot_reason", json_string(bs->secure_boot_why));
	if (r->startup_locality >= 0)
		json_object_set_new(root, "startup_locality",
				    json_integer(r->startup_locality));
	json_object_set_new(root, "hcrtm", json_boolean(r->hcrtm));
	json_object_set_new(root, "exit_boot_services",
			    json_boolean(bs->exit_boot_services));
	json_object_set_new(root, "events_after_exit_boot_services",
			    json_integer(bs->events_after_ebs));
	json_object_set_new(root, "digest_mismatches", json_integer(bs->digest_mismatches));
	json_object_set_new(root, "evidence",
			    json_string("the log alone: nothing in it is TPM-signed"));
	json_object_set_new(root, "bank", json_string(tpa_hash_label(v->boot.bank)));
	{
		json_t *cover = json_object();

		json_object_set_new(cover, "bank", json_string(tpa_hash_label(v->boot.bank)));
		json_object_set_new(cover, "pcrs", pcr_list_json(must_cover(log)));
		json_object_set_new(root, "quote_must_cover", cover);
	}
	json_object_set_new(root, "checks", checks_json(&v->checks));
	json_object_set_new(root, "state", state_json(bs));
	if (v->boot.secureboot.judged)
		json_object_set_new(root, "secureboot", secureboot_json(&v->boot.secureboot));
	if (!(txt = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER)))
		goto cleanup;
	printf("%s\n", txt);
	free(txt);
	rc = TPA_EXIT_OK;
cleanup:
	json_decref(banks);
	json_decref(events);
	json_decref(pcrs);
	json_decref(root);
	return rc;
}

static void show_text(const tpa_verdict *v)
{
	const tpa_eventlog *log = v->boot.log;
	const tpa_replay *r = &v->boot.replay;
	const tpa_bootstate *bs = &v->boot.state;
	char cover[64];
	uint16_t algs[TPA_EVLOG_MAX_ALGS];
	size_t nb = tpa_eventlog_banks(log, algs, TPA_EVLOG_MAX_ALGS), i;
	uint32_t b, k;

	printf("format: %s, banks:",
	       tpa_eventlog_format(log) == TPA_EVLOG_CRYPTO_AGILE ? "crypto-agile" : "sha1");
	for (i = 0; i < nb && i < TPA_EVLOG_MAX_ALGS; i++)
		printf(" %s", tpa_hash_size(algs[i]) ? tpa_hash_label(algs[i]) : "other");
	printf(", %zu events\n", tpa_eventlog_count(log));
	printf("%5s %8s %4s %-34s %8s  %s\n", "#", "offset", "pcr", "type", "data", "first digest");
	for (i = 0; i < tpa_eventlog_count(log); i++) {
		const tpa_event *ev = tpa_eventlog_event(log, i);
		char tl[40], hex[2 * 16 + 1] = "";

		type_label(tl, sizeof(tl), ev->type);
		if (ev->ndigests)
			tpa_hex(hex, ev->digests[0].digest,
				ev->digests[0].size > 16 ? 16 : ev->digests[0].size);
		printf("%5u %8zu %4d %-34s %8u  %s%s\n", ev->number, ev->offset,
		       ev->pcr == 0xFFFFFFFFu ? -1 : (int)ev->pcr, tl, ev->data_len, hex,
		       ev->ndigests ? "..." : "");
	}
	printf("replayed PCRs:\n");
	for (b = 0; b < r->nbanks; b++)
		for (k = 0; k < TPA_EVLOG_PCRS; k++) {
			char hex[2 * TPA_DIGEST_MAX + 1];

			if (!((r->banks[b].extended >> k) & 1))
				continue;
			tpa_hex(hex, r->banks[b].value[k], tpa_hash_size(r->banks[b].alg));
			printf("  %-6s %2u: %s%s\n", tpa_hash_label(r->banks[b].alg), k, hex,
			       ((r->banks[b].incomplete >> k) & 1) ? " (incomplete)" : "");
		}
	printf("secure boot: %s (%s)\n", tpa_secure_boot_name(bs->secure_boot),
	       bs->secure_boot_why);
	if (r->startup_locality >= 0)
		printf("startup locality: %d\n", r->startup_locality);
	printf("exit boot services: %s, events after it: %u\n",
	       bs->exit_boot_services ? "yes" : "no", bs->events_after_ebs);
	if (bs->digest_mismatches)
		printf("events whose data does not match their digest: %u (first: #%d)\n",
		       bs->digest_mismatches, bs->first_mismatch);
	printf("firmware: %s%s\n", bs->firmware_version[0] ? bs->firmware_version : "?",
	       bs->firmware_version[0] && !bs->firmware_version_verified ? " (unverified)" : "");
	printf("PK/KEK/db/dbx: %zu/%zu/%zu certificates, dbx %zu hashes%s\n",
	       bs->pk.ncerts, bs->kek.ncerts, bs->db.ncerts, bs->dbx.nhashes,
	       bs->dbx.present ? "" : " (dbx not measured)");
	for (i = 0; i < bs->nauthorities; i++) {
		char subject[TPA_EFI_SUBJECT_MAX];

		tpa_efi_cert_subject(subject, sizeof(subject), &bs->authorities[i]);
		printf("authority: %s\n", subject[0] ? subject : "(no subject)");
	}
	printf("UEFI debug mode: %s\n", bs->uefi_debug_mode ? "ON" : "off");
	for (i = 0; i < bs->napps; i++) {
		char hex[2 * TPA_DIGEST_MAX + 1];

		tpa_hex(hex, bs->apps[i].digest, bs->apps[i].digest_len);
		printf("boot application #%u: %s %s\n", bs->apps[i].event,
		       bs->apps[i].path[0] ? bs->apps[i].path : "?", hex);
	}
	if (bs->kernel[0])
		printf("kernel: %s\n", bs->kernel);
	if (bs->kernel_cmdline[0])
		printf("kernel command line (%s): %s\n", bs->cmdline_source, bs->kernel_cmdline);
	tpa_pcr_mask_text(cover, sizeof(cover), must_cover(log));
	printf("evidence: the log alone, nothing TPM-signed; for its facts to count a quote "
	       "must cover %s PCRs %s\n", tpa_hash_label(v->boot.bank), cover);
	for (i = 0; i < TPA_FACT_COUNT; i++) {
		char pcrs[64];

		if (bs->facts[i].status == TPA_FACT_ABSENT)
			continue;
		tpa_pcr_mask_text(pcrs, sizeof(pcrs), bs->facts[i].pcrs);
		printf("  fact %-18s PCR %s\n", tpa_fact_name((tpa_fact_id)i), pcrs);
	}
	for (i = 0; i < v->checks.n; i++)
		printf("check %-4s %s: %s\n", v->checks.items[i].passed ? "ok" : "FAIL",
		       v->checks.items[i].name, v->checks.items[i].detail);
	if (v->boot.secureboot.judged) {
		const tpa_sb_claims *c = &v->boot.secureboot;

		printf("secure boot hygiene (the log's facts, against the reference bundle):\n");
		printf("  dbx current: %s (%s; %s)\n", tpa_sb_answer_name(c->dbx_current),
		       c->dbx_why, c->arch_why[0] ? c->arch_why : "no architecture");
		for (i = 0; i < c->dbx_missing_nnamed; i++)
			printf("    missing: %s\n", c->dbx_missing_named[i]);
		printf("  2023 CAs ready: %s (%s)\n", tpa_sb_answer_name(c->ca_2023_ready),
		       c->ca_2023_why);
		printf("  2011 CAs only: %s (%s)\n", tpa_sb_answer_name(c->ca_2011_only),
		       c->ca_2011_why);
		printf("  test platform key: %s (%s)\n", tpa_sb_answer_name(c->test_platform_key),
		       c->test_pk_why);
		printf("  revoked component booted: %s (%s)\n",
		       tpa_sb_answer_name(c->revoked_component_booted), c->revoked_why);
		printf("  SBAT level: %s (%s)\n", c->sbat_level[0] ? c->sbat_level : "unknown",
		       c->sbat_why);
		printf("  MOK validation: %s (%s)\n", tpa_sb_answer_name(c->mok_validation),
		       c->mok_why);
		for (i = 0; i < c->nmok; i++)
			printf("  %s: %s\n", c->mok[i].name, c->mok[i].digest);
	}
}

static const char help_show[] =
"usage: verifier eventlog show [--json] [--secureboot-ref FILE] FILE\n"
"\n"
"Parses a TCG measured-boot event log (SHA1 or crypto-agile), as the kernel\n"
"exposes it in /sys/kernel/security/tpm0/binary_bios_measurements, and\n"
"prints its events, the PCRs it replays to and the Secure Boot state; with a\n"
"reference bundle, its Secure Boot hygiene (dbx current, 2023 CAs, test\n"
"platform key, revoked components). Exit 0 shown, 2 usage, an unreadable\n"
"or malformed log (the offset is named) or bundle.\n"
"\n"
"  --json                one JSON object for programs\n"
"  --secureboot-ref FILE the Secure Boot reference bundle to judge PCR 7 by\n"
"  --help                this text\n";

static const char help_eventlog[] =
"usage: verifier eventlog show [--json] [--secureboot-ref FILE] FILE\n"
"\n"
"Measured-boot event logs, read offline. verifier eventlog VERB --help: a\n"
"verb's options.\n"
"\n"
"  --help                this text\n";

tpa_exit cmd_eventlog(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "secureboot-ref", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	tpa_verdict_input in;
	tpa_verdict v;
	const tpa_check *parse;
	uint8_t *bytes = NULL;
	size_t len = 0;
	int json = 0, c, err;
	tpa_exit rc = TPA_EXIT_USAGE;
	const char *sbref_path = NULL;
	tpa_sbref *sbref = NULL;

	if (argc < 2)
		return cmd_usage_error("eventlog", help_eventlog, "a verb is required");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(help_eventlog);
	if (strcmp(argv[1], "show") != 0)
		return cmd_usage_error("eventlog", help_eventlog, "unknown verb '%s'", argv[1]);
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'S': sbref_path = optarg; break;
		case 'h': return cmd_help(help_show);
		default: return cmd_bad_option("eventlog", help_show, argv);
		}
	}
	if (optind != argc - 1)
		return cmd_usage_error("eventlog", help_show, "one FILE is required");
	memset(&v, 0, sizeof(v));
	if (sbref_path && tpa_sbref_load(&sbref, sbref_path) < 0) {
		fprintf(stderr, "verifier: eventlog: --secureboot-ref: %s\n", tpa_err_last());
		goto cleanup;
	}
	if ((err = tpa_eventlog_read_file(&bytes, &len, argv[optind])) < 0) {
		fprintf(stderr, "verifier: eventlog %s: %s\n", argv[optind], tpa_err_last());
		if (err == TPA_ERR_NOMEM)
			rc = TPA_EXIT_INTERNAL;
		goto cleanup;
	}
	if (len == 0) {
		fprintf(stderr, "verifier: eventlog %s: offset 0: empty event log\n", argv[optind]);
		goto cleanup;
	}
	/* Judged as the verifier judges a log, with no quote and no baseline. */
	memset(&in, 0, sizeof(in));
	in.event_log = bytes;
	in.event_log_len = len;
	in.sbref = sbref;
	if (tpa_verdict_judge(&v, &in) < 0) {
		fprintf(stderr, "verifier: eventlog %s: %s\n", argv[optind], tpa_err_last());
		rc = TPA_EXIT_INTERNAL;
		goto cleanup;
	}
	parse = tpa_findings_get(&v.checks, TPA_CHECK_EVENTLOG_PARSE);
	if (!v.boot.log || !v.boot.bank) {
		fprintf(stderr, "verifier: eventlog %s: %s\n", argv[optind],
			parse && !parse->passed ? parse->detail :
			"the log declares no bank this verifier can compute");
		goto cleanup;
	}
	if (json) {
		rc = show_json(&v);
	} else {
		show_text(&v);
		rc = TPA_EXIT_OK;
	}
cleanup:
	tpa_verdict_clear(&v);
	tpa_sbref_free(sbref);
	free(bytes);
	return rc;
}
