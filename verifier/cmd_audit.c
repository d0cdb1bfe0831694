/* SPDX-License-Identifier: BSD-3-Clause */
/* verifier audit verify|sign|export: the registry's tamper-evident audit
 * log (lib/audit.c, docs/audit.md) for an operator.
 *
 *   audit verify --registry FILE [--jwks FILE] [--head FILE] [--json]
 *   audit sign --registry FILE --token-key FILE
 *   audit export --registry FILE [--since SEQ|TIME] [--format lines|json]
 *                [--output FILE]
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

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " audit verify --registry FILE [--jwks FILE] [--head FILE] [--json]\n"
"       " PROG " audit sign --registry FILE --token-key FILE\n"
"       " PROG " audit export --registry FILE [--since SEQ|TIME] [--format lines|json]\n"
"                    [--output FILE]\n"
"\n"
"verify: walks the audit log from its first row: every row's hash against its\n"
"contents, its prev_hash against the row before, seq continuity; then every\n"
"signed head: with --jwks FILE (e.g. from 'verifier keys jwks'), its\n"
"signature by a key of that set; the row it names still there with its hash.\n"
"--head FILE: a head's JWS kept elsewhere (from 'audit export'), checked the\n"
"same way. Names the first broken row. Exit 0 intact, 1 broken, 2 unreadable.\n"
"sign: signs the log's head now with the token key, after checking the rows\n"
"since the last head that key (or FILE.previous) signed.\n"
"export: the rows for a SIEM, as JSON lines (the default): one object per\n"
"row (seq, time, device_id, event, detail, an attestation's verdict,\n"
"prev_hash, hash), then a line with the latest signed head, if any; with\n"
"--format json, one document with every row and the head, to recompute the\n"
"chain offline (docs/audit.md).\n"
"\n"
"  --registry FILE       the registry (must exist)\n"
"  --jwks FILE           verify: check the signed heads with this key set\n"
"  --head FILE           verify: a head's JWS kept elsewhere (needs --jwks)\n"
"  --json                verify: the report as JSON\n"
"  --token-key FILE      sign: the verifier's token key\n"
"  --since SEQ|TIME      export (lines): the rows from seq SEQ on, or from\n"
"                        TIME on (ISO 8601: 2026-12-02 or\n"
"                        2026-12-02T15:00:00Z)\n"
"  --format lines|json   export: JSON lines (the default) or one document\n"
"  --output FILE         export: into FILE (0600, written atomically), not\n"
"                        standard output\n");
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *registry = NULL, *jwks = NULL, *head = NULL, *key = NULL, *verb;
	const char *since = NULL, *format = NULL, *output = NULL;
	tpa_audit_export_opts eo = { 0 };
	tpa_store *s;
	int c, json = 0, document = 0;
	tpa_exit rc;

	if (!(verb = cmd_verb(&argc, &argv, usage, &rc)))
		return rc;
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
		case 'h': usage(stdout); return TPA_EXIT_OK;
		default: usage(stderr); return TPA_EXIT_USAGE;
		}
	}
	if (optind != argc || !registry ||
	    (strcmp(verb, "verify") == 0 ? key != NULL || (head && !jwks) :
	     strcmp(verb, "sign") == 0 ? !key || jwks || head || json :
	     strcmp(verb, "export") == 0 ? key || jwks || head || json : 1)) {
		if (strcmp(verb, "verify") && strcmp(verb, "sign") && strcmp(verb, "export"))
			fprintf(stderr, PROG ": audit: unknown command '%s'\n", verb);
		else if (head && !jwks)
			fprintf(stderr, PROG ": audit verify: --head needs --jwks\n");
		usage(stderr);
		return TPA_EXIT_USAGE;
	}
	if ((since || format || output) && strcmp(verb, "export") != 0) {
		fprintf(stderr, PROG ": audit %s: --since, --format and --output are for export\n",
			verb);
		usage(stderr);
		return TPA_EXIT_USAGE;
	}
	if (format && strcmp(format, "lines") && strcmp(format, "json")) {
		fprintf(stderr, PROG ": audit export: --format %.32s: lines or json\n", format);
		usage(stderr);
		return TPA_EXIT_USAGE;
	}
	document = format && strcmp(format, "json") == 0;
	if (since && document) {
		fprintf(stderr, PROG ": audit export: --since is for JSON lines: --format json is "
			"the whole log, to check the chain from its start\n");
		usage(stderr);
		return TPA_EXIT_USAGE;
	}
	if (output && !*output) {
		fprintf(stderr, PROG ": audit export: --output: no file named\n");
		return TPA_EXIT_USAGE;
	}
	if (since && parse_since(&eo, since) < 0) {
		usage(stderr);
		return TPA_EXIT_USAGE;
	}
	if (!(s = open_registry(registry)))
		return TPA_EXIT_USAGE;
	if (strcmp(verb, "verify") == 0)
		rc = do_verify(s, jwks, head, json);
	else if (strcmp(verb, "sign") == 0)
		rc = do_sign(s, key);
	else
		rc = do_export(s, &eo, document, output);
	tpa_store_close(s);
	return rc;
}
