/* SPDX-License-Identifier: BSD-3-Clause */
/* verifier audit verify|sign|export: the registry's tamper-evident audit
 * log (lib/audit.c, docs/audit.md) for an operator.
 *
 *   audit verify --registry FILE [--jwks FILE] [--head FILE] [--json]
 *   audit sign --registry FILE --token-key FILE
 *   audit export --registry FILE [--since SEQ|TIME] [--format lines|json]
 *                [--output FILE]
 *   audit prune --registry FILE (--before TIME | --keep-days N) --archive FILE
 *               [--evidence]
 *
 * Exit status (tpa/exit.h): 0 intact / done, 1 the log is broken (the
 * first broken row named), 2 usage or an unreadable registry or key. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "tpa/audit.h"
#include "tpa/err.h"
#include "tpa/fileio.h"
#include "tpa/store.h"
#include "tpa/timefmt.h"
#include "tpa/token.h"

#include "cmd.h"

#define PROG "verifier"

static const char help_verify[] =
"usage: " PROG " audit verify --registry FILE [--jwks FILE] [--head FILE] [--json]\n"
"\n"
"Walks the registry's audit log from its first row: every row's hash against\n"
"its contents, its prev_hash against the row before, seq continuity; then\n"
"every signed head: with --jwks, its signature by a key of that set; the row\n"
"it names still there with its hash. Names the first broken row. Exit 0\n"
"intact, 1 broken, 2 usage or an unreadable registry or key set.\n"
"\n"
"  --registry FILE       the registry (must exist)\n"
"  --jwks FILE           check the heads' signatures against this JWKS (e.g.\n"
"                        from 'verifier keys jwks')\n"
"  --head FILE           also check a head's JWS kept elsewhere (from 'audit\n"
"                        export'); needs --jwks\n"
"  --json                the result as one JSON object\n"
"  --help                this text\n";

static const char help_sign[] =
"usage: " PROG " audit sign --registry FILE --token-key FILE\n"
"\n"
"Signs the audit log's head now with the token key, after checking the rows\n"
"since the last head that key (or FILE.previous) signed; a broken log is\n"
"never signed. Exit 0 signed, 1 broken, 2 usage or unreadable.\n"
"\n"
"  --registry FILE       the registry (must exist)\n"
"  --token-key FILE      the verifier's token signing key (private JWK)\n"
"  --help                this text\n";

static const char help_export[] =
"usage: " PROG " audit export --registry FILE [--since SEQ|TIME] [--format lines|json]\n"
"                    [--output FILE]\n"
"\n"
"The audit log's rows for a SIEM, as JSON lines (the default): one object per\n"
"row (seq, time, device_id, event, detail, an attestation's verdict,\n"
"prev_hash, hash), then a line with the latest signed head, if any; with\n"
"--format json, one document with every row and the head, to recompute the\n"
"chain offline (docs/audit.md). Exit 0 done, 2 usage or unreadable, 7 the\n"
"output could not be written.\n"
"\n"
"  --registry FILE       the registry (must exist)\n"
"  --since SEQ|TIME      (lines) the rows from seq SEQ on, or from TIME on\n"
"                        (ISO 8601: 2026-12-02 or 2026-12-02T15:00:00Z)\n"
"  --format lines|json   JSON lines (the default) or one document\n"
"  --output FILE         into FILE (0600, written atomically), not standard\n"
"                        output\n"
"  --help                this text\n";

static const char help_prune[] =
"usage: " PROG " audit prune --registry FILE (--before TIME | --keep-days N)\n"
"                     --archive FILE [--evidence]\n"
"\n"
"Retention: the audit rows older than the cutoff leave the registry, the\n"
"one way they can (docs/audit.md, \"Retention\"). The log is verified first\n"
"(a broken one is not pruned); the rows are written to the archive as JSON\n"
"lines (as audit export writes them), fsync'd; then, in one transaction, an\n"
"audit-prune row naming them, the archive and its SHA-256 and the row the\n"
"log now starts at is chained to the log and the rows are deleted. audit\n"
"verify then checks the log from that row. The last row always stays.\n"
"Exit 0 done (or nothing to prune), 1 the log is broken, 2 usage, an\n"
"unreadable registry or an archive that exists, 7 the archive could not be\n"
"written.\n"
"\n"
"  --registry FILE       the registry (must exist)\n"
"  --before TIME         rows before this ISO 8601 time (2026-06-01,\n"
"                        2026-06-01T00:00:00Z)\n"
"  --keep-days N         rows older than N days (1 to 36500)\n"
"  --archive FILE        where the rows go: created, never overwritten (0600)\n"
"  --evidence            also the last evidence (event log, PCRs) of devices\n"
"                        not attested since the cutoff, archived first in\n"
"                        FILE.evidence (JSON lines, created, 0600); the\n"
"                        cutoff must not be in the future\n"
"  --help                this text\n";

static const char help_audit[] =
"usage: " PROG " audit verify --registry FILE [--jwks FILE] [--head FILE] [--json]\n"
"       " PROG " audit sign --registry FILE --token-key FILE\n"
"       " PROG " audit export --registry FILE [--since SEQ|TIME] [--format lines|json]\n"
"                    [--output FILE]\n"
"       " PROG " audit prune --registry FILE (--before TIME | --keep-days N)\n"
"                    --archive FILE [--evidence]\n"
"\n"
"The registry's audit log: a hash chain of every change, whose head the\n"
"verifier signs. " PROG " audit VERB --help: a verb's options; docs/audit.md.\n"
"\n"
"  --help                this text\n";

static void usage(FILE *f)
{
	fputs(help_audit, f);
}

/* The registry, which must exist (opening creates a missing one). */
static tpa_store *open_registry(const char *path)
{
	tpa_store *s = NULL;

	if (tpa_store_open_existing(&s, path) < 0) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		return NULL;
	}
	return s;
}

/* A JWS kept in a file: its text without the white space around it. */
static char *read_jws(const char *path)
{
	char *t = cmd_read_text(path), *b;
	size_t n;

	if (!t)
		return NULL;
	for (b = t; isspace((unsigned char)*b); b++)
		;
	n = strlen(b);
	while (n && isspace((unsigned char)b[n - 1]))
		n--;
	memmove(t, b, n);
	t[n] = '\0';
	return t;
}

static void print_report(const tpa_audit_report *r, int json)
{
	if (json) {
		json_t *o = json_object();
		char *t;

		json_object_set_new(o, "intact", json_boolean(r->intact));
		json_object_set_new(o, "broken_seq", r->intact ? json_null() :
				    json_integer(r->broken_seq));
		json_object_set_new(o, "reason", r->intact ? json_null() : json_string(r->reason));
		json_object_set_new(o, "rows", json_integer(r->rows));
		json_object_set_new(o, "last_seq", json_integer(r->last_seq));
		json_object_set_new(o, "signed_heads", json_integer(r->heads));
		json_object_set_new(o, "last_signed_seq", json_integer(r->last_head_seq));
		json_object_set_new(o, "signatures_checked", json_boolean(r->signatures));
		if ((t = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER)))
			printf("%s\n", t);
		free(t);
		json_decref(o);
		return;
	}
	if (!r->intact) {
		printf("audit log BROKEN: %s\n", r->reason);
		return;
	}
	printf("audit log intact: %" PRId64 " row%s, %" PRId64 " signed head%s", r->rows,
	       r->rows == 1 ? "" : "s", r->heads, r->heads == 1 ? "" : "s");
	if (r->heads)
		printf(" (the latest at seq %" PRId64 ")", r->last_head_seq);
	printf("%s\n", r->signatures ? "" : "; signatures NOT checked (no --jwks)");
	if (r->last_seq > r->last_head_seq)
		printf("rows %" PRId64 " to %" PRId64 " are under no signed head yet\n",
		       r->last_head_seq + 1, r->last_seq);
}

static tpa_exit do_verify(tpa_store *s, const char *jwks_file, const char *head_file, int json)
{
	tpa_audit_report r;
	char *jwks = NULL, *head = NULL;
	tpa_exit rc = TPA_EXIT_USAGE;
	int err;

	if ((jwks_file && !(jwks = cmd_read_text(jwks_file))) ||
	    (head_file && !(head = read_jws(head_file))))
		goto out;
	err = tpa_audit_verify(&r, s, jwks, head);
	if (err < 0 && err != TPA_ERR_VERIFY) {
		fprintf(stderr, PROG ": audit verify: %s\n", tpa_err_last());
		goto out;
	}
	print_report(&r, json);
	rc = r.intact ? TPA_EXIT_OK : TPA_EXIT_NO;
out:
	free(jwks);
	free(head);
	return rc;
}

static tpa_exit do_sign(tpa_store *s, const char *key_file)
{
	tpa_token_key *k = NULL, *prev = NULL;
	tpa_audit_signer *g = NULL;
	char prev_file[4096];
	int64_t seq = 0;
	tpa_exit rc;
	int done;

	if ((size_t)snprintf(prev_file, sizeof(prev_file), "%s.previous", key_file) >=
	    sizeof(prev_file) || tpa_token_key_load(&k, key_file, 0) < 0 ||
	    (access(prev_file, F_OK) == 0 && tpa_token_key_load(&prev, prev_file, 0) < 0) ||
	    tpa_audit_signer_new(&g, s, NULL) < 0) {
		fprintf(stderr, PROG ": audit sign: %s\n", tpa_err_last());
		rc = TPA_EXIT_USAGE;
		goto out;
	}
	done = tpa_audit_signer_tick(g, k, prev, (int64_t)time(NULL), 1, &seq);
	rc = TPA_EXIT_OK;
	if (done == 1) {
		printf("signed the head at seq %" PRId64 " (key %s)\n", seq, tpa_token_key_id(k));
	} else if (done == 0) {
		printf("nothing to sign: every row is under a signed head\n");
	} else {
		fprintf(stderr, PROG ": audit sign: %s%s\n", done == TPA_ERR_VERIFY ?
			"the log is broken, nothing signed: " : "", tpa_err_last());
		rc = done == TPA_ERR_VERIFY ? TPA_EXIT_NO : TPA_EXIT_USAGE;
	}
out:
	tpa_audit_signer_free(g);
	tpa_token_key_free(k);
	tpa_token_key_free(prev);
	return rc;
}

static int write_stdout(void *ctx, const char *text, size_t len)
{
	return fwrite(text, 1, len, ctx) == len ? 0 : -1;
}

/* The export collected for --output, written whole (atomically). */
typedef struct {
	char *b;
	size_t len, cap;
} buffer;

#define EXPORT_MAX ((size_t)1 << 32)

static int write_buffer(void *ctx, const char *text, size_t len)
{
	buffer *b = ctx;
	char *n;

	if (len > EXPORT_MAX - b->len)
		return -1;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;

		while (cap < b->len + len)
			cap *= 2;
		if (!(n = realloc(b->b, cap)))
			return -1;
		b->b = n;
		b->cap = cap;
	}
	memcpy(b->b + b->len, text, len);
	b->len += len;
	return 0;
}

/* --since: a seq (digits) or an ISO 8601 time. 0, or -1 said on stderr. */
static int parse_since(tpa_audit_export_opts *o, const char *arg)
{
	const char *p;
	char *end;

	for (p = arg; *p >= '0' && *p <= '9'; p++)
		;
	if (*arg && !*p) {
		errno = 0;
		o->since_seq = strtoll(arg, &end, 10);
		if (errno == 0 && o->since_seq >= 1)
			return 0;
		fprintf(stderr, PROG ": audit export: --since %.64s: a seq is 1 or more, and "
			"at most %" PRId64 "\n", arg, INT64_MAX);
		return -1;
	}
	if (tpa_time_parse_iso(&o->since_at, arg) == 0) {
		o->since_time = 1;
		return 0;
	}
	fprintf(stderr, PROG ": audit export: --since %.64s: neither a seq (1, 2, ...) nor an "
		"ISO 8601 time (2026-12-02, 2026-12-02T15:00:00Z): %s\n", arg, tpa_err_last());
	return -1;
}

static tpa_exit do_export(tpa_store *s, const tpa_audit_export_opts *o, int document,
			  const char *output)
{
	buffer b = { 0 };
	int err;

	if (document)
		err = output ? tpa_audit_export(s, write_buffer, &b) :
			tpa_audit_export(s, write_stdout, stdout);
	else
		err = output ? tpa_audit_export_lines(s, o, write_buffer, &b) :
			tpa_audit_export_lines(s, o, write_stdout, stdout);
	if (err == 0 && output)
		err = tpa_file_write_atomic(output, b.b ? b.b : "", b.len, 0600);
	free(b.b);
	if (err < 0 || (!output && fflush(stdout) != 0)) {
		fprintf(stderr, PROG ": audit export: %s\n", err < 0 ? tpa_err_last() :
			"standard output: write failed");
		return err == TPA_ERR_IO && output ? TPA_EXIT_INTERNAL : TPA_EXIT_USAGE;
	}
	return TPA_EXIT_OK;
}

static tpa_exit do_prune(tpa_store *s, int64_t before, const char *archive, int evidence)
{
	tpa_audit_prune_report r;
	char path[4096];
	struct stat sb;
	size_t n = 0;
	int err;

	/* Refused before anything is done, rows or evidence. */
	if (evidence && before > (int64_t)time(NULL)) {
		fprintf(stderr, PROG ": audit prune: --evidence: the cutoff is in the future: "
			"evidence arriving now would be dropped unarchived\n");
		return TPA_EXIT_USAGE;
	}
	if (evidence && (size_t)snprintf(path, sizeof(path), "%s.evidence", archive) >=
	    sizeof(path)) {
		fprintf(stderr, PROG ": audit prune: --evidence: the archive's path is too long\n");
		return TPA_EXIT_USAGE;
	}
	if (evidence && lstat(path, &sb) == 0) {
		fprintf(stderr, PROG ": audit prune: --evidence: archive %s: exists already\n",
			path);
		return TPA_EXIT_USAGE;
	}
	if ((err = tpa_audit_prune(&r, s, before, archive, (int64_t)time(NULL))) < 0) {
		fprintf(stderr, PROG ": audit prune: %s\n", tpa_err_last());
		return err == TPA_ERR_VERIFY ? TPA_EXIT_NO :
		       err == TPA_ERR_IO ? TPA_EXIT_INTERNAL : TPA_EXIT_USAGE;
	}
	if (r.pruned)
		printf("pruned: rows %" PRId64 " to %" PRId64 " (%" PRId64 "), archived in %s "
		       "(sha256 %s); the log starts at row %" PRId64 "\n", r.first, r.last, r.pruned,
		       archive, r.sha256, r.first_kept);
	else
		printf("pruned: nothing (no row before the cutoff but the last); no archive "
		       "written\n");
	if (evidence) {
		if ((err = tpa_audit_evidence_prune(&n, s, before, path, (int64_t)time(NULL))) < 0) {
			fprintf(stderr, PROG ": audit prune: %s\n", tpa_err_last());
			return err == TPA_ERR_IO ? TPA_EXIT_INTERNAL : TPA_EXIT_USAGE;
		}
		if (n)
			printf("evidence: %zu device%s' last evidence archived in %s and dropped "
			       "(not attested since the cutoff)\n", n, n == 1 ? "" : "s", path);
		else
			printf("evidence: none to drop (every device attested since the cutoff, "
			       "or has none); no archive written\n");
	}
	return TPA_EXIT_OK;
}

tpa_exit cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "registry", required_argument, NULL, 'R' },
		{ "jwks", required_argument, NULL, 'J' },
		{ "head", required_argument, NULL, 'H' },
		{ "token-key", required_argument, NULL, 'K' },
		{ "json", no_argument, NULL, 'j' },
		{ "since", required_argument, NULL, 'S' },
		{ "format", required_argument, NULL, 'F' },
		{ "output", required_argument, NULL, 'o' },
		{ "before", required_argument, NULL, 'B' },
		{ "keep-days", required_argument, NULL, 'D' },
		{ "archive", required_argument, NULL, 'A' },
		{ "evidence", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *registry = NULL, *jwks = NULL, *head = NULL, *key = NULL, *verb, *help;
	const char *since = NULL, *format = NULL, *output = NULL, *before = NULL, *days = NULL;
	const char *archive = NULL;
	tpa_audit_export_opts eo = { 0 };
	int64_t cutoff = 0;
	tpa_store *s;
	int c, json = 0, document = 0, evidence = 0;
	tpa_exit rc;

	if (!(verb = cmd_verb(&argc, &argv, usage, &rc)))
		return rc;
	help = strcmp(verb, "verify") == 0 ? help_verify : strcmp(verb, "sign") == 0 ? help_sign :
	       strcmp(verb, "export") == 0 ? help_export :
	       strcmp(verb, "prune") == 0 ? help_prune : NULL;
	if (!help)
		return cmd_usage_error("audit", help_audit, "unknown verb '%s'", verb);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'R': registry = optarg; break;
		case 'J': jwks = optarg; break;
		case 'H': head = optarg; break;
		case 'K': key = optarg; break;
		case 'j': json = 1; break;
		case 'S': since = optarg; break;
		case 'F': format = optarg; break;
		case 'o': output = optarg; break;
		case 'B': before = optarg; break;
		case 'D': days = optarg; break;
		case 'A': archive = optarg; break;
		case 'E': evidence = 1; break;
		case 'h': return cmd_help(help);
		default: return cmd_bad_option("audit", help, argv);
		}
	}
	if (optind != argc)
		return cmd_usage_error("audit", help, "unexpected argument '%s'", argv[optind]);
	if (!registry)
		return cmd_usage_error("audit", help, "--registry FILE is required");
	if (head && !jwks)
		return cmd_usage_error("audit", help, "--head needs --jwks");
	if (help == help_verify && key)
		return cmd_usage_error("audit", help, "verify takes no --token-key");
	if (help == help_sign && (!key || jwks || head || json))
		return cmd_usage_error("audit", help, "sign takes --token-key and no other option");
	if (help == help_export && (key || jwks || head || json))
		return cmd_usage_error("audit", help, "export takes no --token-key, --jwks, --head "
				       "or --json");
	if ((since || format || output) && help != help_export)
		return cmd_usage_error("audit", help, "--since, --format and --output are for export");
	if ((before || days || archive || evidence) && help != help_prune)
		return cmd_usage_error("audit", help, "--before, --keep-days, --archive and "
				       "--evidence are for prune");
	if (help == help_prune) {
		char *end;
		long d;

		if (key || jwks || head || json)
			return cmd_usage_error("audit", help, "prune takes no --token-key, --jwks, "
					       "--head or --json");
		if (!archive || !*archive)
			return cmd_usage_error("audit", help, "--archive FILE is required");
		if (!before == !days)
			return cmd_usage_error("audit", help, "one of --before TIME and "
					       "--keep-days N");
		if (before && tpa_time_parse_iso(&cutoff, before) < 0)
			return cmd_usage_error("audit", help, "--before %.64s: not an ISO 8601 "
					       "time (2026-06-01, 2026-06-01T00:00:00Z)", before);
		if (days) {
			errno = 0;
			d = strtol(days, &end, 10);
			if (errno || *end || end == days || d < 1 || d > 36500)
				return cmd_usage_error("audit", help, "--keep-days %.32s: a number "
						       "of days from 1 to 36500", days);
			cutoff = (int64_t)time(NULL) - (int64_t)d * 86400;
		}
	}
	if (format && strcmp(format, "lines") && strcmp(format, "json"))
		return cmd_usage_error("audit", help, "--format %.32s: lines or json", format);
	document = format && strcmp(format, "json") == 0;
	if (since && document)
		return cmd_usage_error("audit", help, "--since is for JSON lines: --format json is "
				       "the whole log, to check the chain from its start");
	if (output && !*output)
		return cmd_usage_error("audit", help, "--output: no file named");
	if (since && parse_since(&eo, since) < 0) {
		fputs(help, stderr);
		return TPA_EXIT_USAGE;
	}
	if (!(s = open_registry(registry)))
		return TPA_EXIT_USAGE;
	if (strcmp(verb, "verify") == 0)
		rc = do_verify(s, jwks, head, json);
	else if (strcmp(verb, "sign") == 0)
		rc = do_sign(s, key);
	else if (strcmp(verb, "prune") == 0)
		rc = do_prune(s, cutoff, archive, evidence);
	else
		rc = do_export(s, &eo, document, output);
	tpa_store_close(s);
	return rc;
}
