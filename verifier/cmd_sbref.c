/* SPDX-License-Identifier: BSD-3-Clause */
/* verifier secureboot-ref build|show: the Secure Boot reference bundle.
 *
 *   secureboot-ref build --list FILE --certs DIR --source TEXT --date DATE OUT
 *   secureboot-ref show [--json] FILE
 *
 * Exit status (tpa/exit.h): 0 done, 1 show: the bundle is not valid (named),
 * build: the list or a certificate is not what it must be, 2 usage or a
 * file that cannot be read or written, 7 out of memory. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "tpa/err.h"
#include "tpa/fileio.h"
#include "tpa/sbref.h"
#include "tpa/tpm_decode.h"

#include "cmd.h"

#define PROG "verifier"
#define CERT_FILES_MAX 64
#define CERT_BYTES_MAX 65536

static const char help_build[] =
"usage: " PROG " secureboot-ref build --list FILE --certs DIR --source TEXT --date DATE OUT\n"
"\n"
"Builds the Secure Boot reference bundle OUT (mode 0644, written atomically)\n"
"from Microsoft's published dbx list (secureboot_objects'\n"
"PreSignedObjects/DBX/dbx_info_msft_latest.json) and the KEK, db and PK\n"
"certificates of DIR (each FILE.der named pk-, kek- or db- first, for its\n"
"store). A revoked certificate of the list must be among them (by file\n"
"name; its SHA-1 thumbprint is checked). The bundle is read back with\n"
"every rule of the verifier's before it is written.\n"
"\n"
"  --list FILE           dbx_info_msft_latest.json\n"
"  --certs DIR           the certificates (DER)\n"
"  --source TEXT         where the data came from (repository, commit)\n"
"  --date DATE           the data's date, YYYY-MM-DD\n"
"  --help                this text\n";

static const char help_show[] =
"usage: " PROG " secureboot-ref show [--json] FILE\n"
"\n"
"Checks a bundle as the verifier reads it and prints what it holds: its\n"
"source and date (and age), revoked images per architecture, revoked\n"
"certificates, SVNs, the known CAs and test-key subjects. Exit 0 valid,\n"
"1 not (the field named), 2 usage or unreadable.\n"
"\n"
"  --json                as JSON\n"
"  --help                this text\n";

static const char help_sbref[] =
"usage: " PROG " secureboot-ref build --list FILE --certs DIR --source TEXT --date DATE OUT\n"
"       " PROG " secureboot-ref show [--json] FILE\n"
"\n"
"The Secure Boot reference bundle (--secureboot-ref of serve): Microsoft's\n"
"revocations and CAs, to judge a machine's PK, KEK, db and dbx against.\n"
PROG " secureboot-ref VERB --help: a verb's options.\n"
"\n"
"  --help                this text\n";

static const char *help_verb = help_sbref;

static void usage(FILE *f)
{
	fputs(help_sbref, f);
}

static tpa_exit cmd_usage(const char *what)
{
	return cmd_usage_error("secureboot-ref", help_verb, "%s", what);
}

/* A whole file of at most max bytes, malloc'd; NULL said on stderr. */
static uint8_t *read_file(const char *path, size_t max, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;

	if (!f) {
		fprintf(stderr, PROG ": secureboot-ref: cannot open %s\n", path);
		return NULL;
	}
	if (!(b = malloc(max + 1))) {
		fclose(f);
		fprintf(stderr, PROG ": secureboot-ref: out of memory\n");
		return NULL;
	}
	*n = fread(b, 1, max + 1, f);
	if (ferror(f) || *n > max) {
		fprintf(stderr, PROG ": secureboot-ref: %s: %s\n", path,
			ferror(f) ? "cannot be read" : "over its size cap");
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const tpa_sbref_certfile *)a)->name, ((const tpa_sbref_certfile *)b)->name);
}

/* The .der files of dir, sorted by name; the count, -1 said on stderr. */
static int read_certs(tpa_sbref_certfile *c, const char *dir)
{
	char path[4096];
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d) {
		fprintf(stderr, PROG ": secureboot-ref: cannot open the directory %s\n", dir);
		return -1;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		uint8_t *b;

		if (l < 5 || strcmp(de->d_name + l - 4, ".der") != 0)
			continue;
		if (n == CERT_FILES_MAX) {
			fprintf(stderr, PROG ": secureboot-ref: %s: more than %d certificates\n", dir,
				CERT_FILES_MAX);
			goto fail;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!(b = read_file(path, CERT_BYTES_MAX, &c[n].len)) ||
		    !(c[n].name = strdup(de->d_name))) {
			free(b);
			goto fail;
		}
		c[n++].der = b;
	}
	closedir(d);
	qsort(c, (size_t)n, sizeof(*c), by_name);
	return n;
fail:
	closedir(d);
	while (n--) {
		free((void *)c[n].name);
		free((void *)c[n].der);
	}
	return -1;
}

static tpa_exit do_build(const char *list, const char *dir, const char *source, const char *date,
			 const char *out)
{
	tpa_sbref_certfile certs[CERT_FILES_MAX];
	uint8_t *ms;
	char *json = NULL;
	size_t n = 0;
	int nc, err;
	tpa_exit rc = TPA_EXIT_USAGE;

	if (!(ms = read_file(list, TPA_SBREF_BYTES_MAX, &n)))
		return TPA_EXIT_USAGE;
	if ((nc = read_certs(certs, dir)) < 0) {
		free(ms);
		return TPA_EXIT_USAGE;
	}
	err = tpa_sbref_build(&json, ms, n, certs, (size_t)nc, source, date);
	if (err < 0) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		rc = err == TPA_ERR_NOMEM ? TPA_EXIT_INTERNAL :
		     err == TPA_ERR_INVALID_ARG ? TPA_EXIT_USAGE : TPA_EXIT_NO;
	} else if (tpa_file_write_atomic(out, json, strlen(json), 0644) < 0) {
		fprintf(stderr, PROG ": secureboot-ref: %s: %s\n", out, tpa_err_last());
	} else {
		printf("wrote %s\n", out);
		rc = TPA_EXIT_OK;
	}
	free(json);
	free(ms);
	while (nc--) {
		free((void *)certs[nc].name);
		free((void *)certs[nc].der);
	}
	return rc;
}

static json_t *hex32(const uint8_t *d)
{
	char h[65];

	tpa_hex(h, d, 32);
	return json_string(h);
}

static tpa_exit do_show(const char *path, int as_json)
{
	tpa_sbref *r = NULL;
	int err, a;
	size_t i;
	long days;

	if ((err = tpa_sbref_load(&r, path)) < 0) {
		fprintf(stderr, PROG ": %s\n", tpa_err_last());
		return err == TPA_ERR_PARSE || err == TPA_ERR_LIMIT ? TPA_EXIT_NO :
		       err == TPA_ERR_NOMEM ? TPA_EXIT_INTERNAL : TPA_EXIT_USAGE;
	}
	days = (long)(((int64_t)time(NULL) - r->date_unix) / 86400);
	if (as_json) {
		json_t *o = json_pack("{s:s,s:s,s:i,s:{},s:[],s:[],s:[]}", "source", r->source,
				      "date", r->date, "age_days", (json_int_t)days,
				      "revoked_images", "revoked_certificates", "svns", "cas");

		if (!o) {
			tpa_sbref_free(r);
			return TPA_EXIT_INTERNAL;
		}
		for (a = 0; a < TPA_SB_ARCH_COUNT; a++) {
			size_t opt = 0;

			for (i = 0; i < r->nimages[a]; i++)
				opt += r->images[a][i].optional != 0;
			json_object_set_new(json_object_get(o, "revoked_images"),
					    tpa_sb_arch_name((tpa_sb_arch)a),
					    json_pack("{s:I,s:I}", "count", (json_int_t)r->nimages[a],
						      "optional", (json_int_t)opt));
		}
		for (i = 0; i < r->ncerts; i++)
			json_array_append_new(json_object_get(o, "revoked_certificates"),
					      json_pack("{s:s,s:o}", "name", r->certs[i].name,
							"sha256", hex32(r->certs[i].sha256)));
		for (i = 0; i < r->nsvns; i++)
			json_array_append_new(json_object_get(o, "svns"),
					      json_pack("{s:s,s:s}", "file", r->svns[i].file,
							"version", r->svns[i].version));
		for (i = 0; i < r->ncas; i++)
			json_array_append_new(json_object_get(o, "cas"),
					      json_pack("{s:s,s:s,s:i,s:b,s:o}", "name", r->cas[i].name,
							"store", tpa_sb_store_name(r->cas[i].store),
							"generation", r->cas[i].generation,
							"revoked", r->cas[i].revoked,
							"sha256", hex32(r->cas[i].sha256)));
		cmd_print_json(o);
		tpa_sbref_free(r);
		return TPA_EXIT_OK;
	}
	printf("source: %s\ndate: %s (%ld days old)\n", r->source, r->date, days);
	for (a = 0; a < TPA_SB_ARCH_COUNT; a++)
		printf("revoked images %s: %zu\n", tpa_sb_arch_name((tpa_sb_arch)a), r->nimages[a]);
	for (i = 0; i < r->ncerts; i++)
		printf("revoked certificate: %s\n", r->certs[i].name);
	for (i = 0; i < r->nsvns; i++)
		printf("svn: %s %s\n", r->svns[i].file, r->svns[i].version);
	for (i = 0; i < r->ncas; i++)
		printf("ca: %s %s %d%s\n", tpa_sb_store_name(r->cas[i].store), r->cas[i].name,
		       r->cas[i].generation, r->cas[i].revoked ? " (revoked)" : "");
	for (i = 0; i < r->ntest_subjects; i++)
		printf("test-key subject: %s\n", r->test_subjects[i]);
	tpa_sbref_free(r);
	return TPA_EXIT_OK;
}

tpa_exit cmd_sbref(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list", required_argument, NULL, 'l' },
		{ "certs", required_argument, NULL, 'c' },
		{ "source", required_argument, NULL, 's' },
		{ "date", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *list = NULL, *dir = NULL, *source = NULL, *date = NULL, *verb;
	int c, json = 0, build;
	tpa_exit ret;

	if (!(verb = cmd_verb(&argc, &argv, usage, &ret)))
		return ret;
	build = strcmp(verb, "build") == 0;
	if (!build && strcmp(verb, "show") != 0)
		return cmd_usage_error("secureboot-ref", help_sbref, "unknown verb '%s'", verb);
	help_verb = build ? help_build : help_show;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': list = optarg; break;
		case 'c': dir = optarg; break;
		case 's': source = optarg; break;
		case 'd': date = optarg; break;
		case 'j': json = 1; break;
		case 'h': return cmd_help(help_verb);
		default: return cmd_bad_option("secureboot-ref", help_verb, argv);
		}
	}
	if (argc - optind != 1)
		return cmd_usage(build ? "one OUT file is required" : "one FILE is required");
	if (!build) {
		if (list || dir || source || date)
			return cmd_usage("--list, --certs, --source and --date are for build");
		return do_show(argv[optind], json);
	}
	if (json)
		return cmd_usage("--json is for show");
	if (!list || !dir || !source || !date)
		return cmd_usage("--list, --certs, --source and --date are required");
	return do_build(list, dir, source, date, argv[optind]);
}
