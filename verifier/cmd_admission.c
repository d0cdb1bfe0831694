/* SPDX-License-Identifier: BSD-3-Clause */
/* verifier devices approve|import|inventory|uninventory: admission for an
 * operator (README "Admission"). Exit status (tpa/exit.h): 0 done, 1 no
 * such device or entry (or a device not pending), 2 usage, an unreadable
 * registry or an inventory file refused (nothing imported). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "tpa/admission.h"
#include "tpa/compliance.h"
#include "tpa/err.h"
#include "tpa/store.h"
#include "tpa/timefmt.h"

#include "cmd.h"
#include "cmd_admission.h"

static const struct {
	const char *verb, *usage, *text, *options;
} verbs[] = {
	{ "approve",
	  "usage: verifier devices approve [--json] --registry FILE DEVICE\n",
	  "Admits a device pending approval (verifier serve --admission approve): it\n"
	  "becomes active, admitted \"approved\", and may attest. Audited.\n",
	  "  --registry FILE       the device registry (must exist)\n"
	  "  --json                print the device as JSON\n" },
	{ "import",
	  "usage: verifier devices import [--json] --registry FILE INVENTORY\n",
	  "Adds the EKs INVENTORY lists to the registry's inventory, which serve\n"
	  "--admission allowlist admits (and no other): CSV with a header line, or a\n"
	  "JSON array of objects; columns or keys device_id, ek_cert_issuer,\n"
	  "ek_cert_serial, name, label, no_ek_cert. A row names a device id (64 hex\n"
	  "digits, as enrolling prints it) or an EK certificate's issuer (RFC 2253, as\n"
	  "openssl x509 -noout -issuer -nameopt RFC2253 prints it) and serial (hex, or\n"
	  "dec:DIGITS); no_ek_cert (true/false) admits a device id whose TPM has no EK\n"
	  "certificate. name and label are given to the device when it enrolls. Every\n"
	  "row is checked first: one error refuses the whole file, naming its line (or\n"
	  "entry) and column, and nothing is imported. An entry there already is\n"
	  "updated. At most 4 MiB and 20000 entries a file.\n",
	  "  --registry FILE       the device registry (must exist)\n"
	  "  --json                print the count as JSON\n" },
	{ "inventory",
	  "usage: verifier devices inventory [--json] --registry FILE\n",
	  "Lists the inventory: each entry's kind (device or ek-cert), its key (a\n"
	  "device id, or ISSUER:SERIAL), name, label and no_ek_cert.\n",
	  "  --registry FILE       the device registry (must exist)\n"
	  "  --json                as a JSON array\n" },
	{ "uninventory",
	  "usage: verifier devices uninventory [--json] --registry FILE ENTRY\n",
	  "Removes one inventory entry: ENTRY is a device id, or an EK certificate's\n"
	  "key exactly as verifier devices inventory prints it (ISSUER:SERIAL). A\n"
	  "device enrolled already stays enrolled (revoke it to stop it). Audited.\n",
	  "  --registry FILE       the device registry (must exist)\n"
	  "  --json                print what was removed as JSON\n" },
};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

int cmd_devices_admission_verb(const char *verb)
{
	size_t i;

	for (i = 0; verb && i < NVERBS; i++)
		if (strcmp(verb, verbs[i].verb) == 0)
			return 1;
	return 0;
}

void cmd_devices_admission_usage(FILE *f)
{
	size_t i;

	for (i = 0; i < NVERBS; i++)
		fprintf(f, "       %s", verbs[i].usage + strlen("usage: "));
}

/* The file, bounded; NULL said on stderr. */
static char *read_inventory(size_t *len, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *b;
	size_t n;

	if (!f) {
		fprintf(stderr, "verifier: devices import: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (!(b = malloc(TPA_INVENTORY_FILE_MAX + 2))) {
		fclose(f);
		fprintf(stderr, "verifier: devices import: out of memory\n");
		return NULL;
	}
	n = fread(b, 1, TPA_INVENTORY_FILE_MAX + 1, f);
	if (ferror(f) || n > TPA_INVENTORY_FILE_MAX) {
		fprintf(stderr, "verifier: devices import: %s: %s\n", path, ferror(f) ?
			"read error" : "larger than 4 MiB (split it)");
		fclose(f);
		free(b);
		return NULL;
	}
	fclose(f);
	b[n] = '\0';
	*len = n;
	return b;
}

static json_t *entry_json(const tpa_inventory_entry *e)
{
	json_t *o = json_object();
	char when[TPA_TIME_ISO_LEN + 1] = "";
	int dev = strcmp(e->kind, "device") == 0;

	tpa_time_iso(when, sizeof(when), e->added_at);
	json_object_set_new(o, "kind", json_string(e->kind));
	json_object_set_new(o, dev ? "device_id" : "ek_cert", json_string(e->value));
	json_object_set_new(o, "name", e->name[0] ? json_string(e->name) : json_null());
	json_object_set_new(o, "label", e->label[0] ? json_string(e->label) : json_null());
	json_object_set_new(o, "no_ek_cert", json_boolean(e->no_ek_cert));
	json_object_set_new(o, "added_at", json_string(when));
	return o;
}

static tpa_exit inventory(tpa_store *store, int json)
{
	tpa_inventory_entry *all = NULL;
	size_t n = 0, i;

	if (tpa_store_inventory_list(&all, &n, store) < 0) {
		fprintf(stderr, "verifier: devices inventory: %s\n", tpa_err_last());
		return TPA_EXIT_USAGE;
	}
	if (json) {
		json_t *a = json_array();

		for (i = 0; i < n; i++)
			json_array_append_new(a, entry_json(&all[i]));
		cmd_print_json(a);
	} else {
		for (i = 0; i < n; i++)
			printf("%-7s  %s  name %s  label %s%s\n", all[i].kind, all[i].value,
			       all[i].name[0] ? all[i].name : "-",
			       all[i].label[0] ? all[i].label : "-",
			       all[i].no_ek_cert ? "  no EK certificate" : "");
	}
	free(all);
	return TPA_EXIT_OK;
}

static tpa_exit import(tpa_store *store, const char *path, int json)
{
	tpa_inventory_entry *e = NULL;
	size_t len = 0, n = 0;
	char *text = read_inventory(&len, path);
	tpa_exit rc = TPA_EXIT_USAGE;

	if (!text)
		return TPA_EXIT_USAGE;
	if (tpa_inventory_parse(&e, &n, text, len) < 0) {
		fprintf(stderr, "verifier: devices import: %s: %s; nothing imported\n", path,
			tpa_err_last());
		goto out;
	}
	if (tpa_store_inventory_put(store, e, n, (int64_t)time(NULL)) < 0) {
		fprintf(stderr, "verifier: devices import: %s; nothing imported\n", tpa_err_last());
		goto out;
	}
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "imported", json_integer((json_int_t)n));
		cmd_print_json(o);
	} else {
		printf("imported %zu inventory entr%s from %s\n", n, n == 1 ? "y" : "ies", path);
	}
	rc = TPA_EXIT_OK;
out:
	free(e);
	free(text);
	return rc;
}

static tpa_exit uninventory(tpa_store *store, const char *entry, int json)
{
	const char *kind = tpa_device_id_valid(entry) ? "device" : "ek-cert";
	int err = tpa_store_inventory_remove(store, kind, entry, (int64_t)time(NULL));

	if (err < 0) {
		fprintf(stderr, "verifier: devices uninventory: %s\n", tpa_err_last());
		return err == TPA_ERR_NOT_FOUND ? TPA_EXIT_NO : TPA_EXIT_USAGE;
	}
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "removed", json_string(entry));
		json_object_set_new(o, "kind", json_string(kind));
		cmd_print_json(o);
	} else {
		printf("removed inventory entry %s %s\n", kind, entry);
	}
	return TPA_EXIT_OK;
}

static tpa_exit approve(tpa_store *store, const char *what, int json)
{
	char id[TPA_DEVICE_ID_LEN + 1];
	tpa_device d;
	int err;

	if ((err = tpa_store_find_device(id, store, what)) == 0 &&
	    (err = tpa_store_approve(store, id, (int64_t)time(NULL))) == 0)
		err = tpa_store_get(&d, store, id);
	if (err < 0) {
		fprintf(stderr, "verifier: devices approve: %s\n", tpa_err_last());
		return err == TPA_ERR_NOT_FOUND || err == TPA_ERR_INVALID_ARG ||
		       err == TPA_ERR_CONFLICT ? TPA_EXIT_NO : TPA_EXIT_USAGE;
	}
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "approved", json_string(id));
		json_object_set_new(o, "state", json_string(tpa_device_state_name(d.state)));
		json_object_set_new(o, "admission", json_string(d.admission));
		cmd_print_json(o);
	} else {
		printf("approved %s: %s, admission %s\n", id, tpa_device_state_name(d.state),
		       d.admission);
	}
	return TPA_EXIT_OK;
}

tpa_exit cmd_devices_admission(const char *verb, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "registry", required_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *registry = NULL;
	tpa_store *store = NULL;
	size_t v;
	int json = 0, c, want;
	tpa_exit rc;

	for (v = 0; v < NVERBS && strcmp(verb, verbs[v].verb) != 0; v++)
		;
	if (v == NVERBS)
		return TPA_EXIT_USAGE;
	want = strcmp(verb, "inventory") == 0 ? 0 : 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'R': registry = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			printf("%s\n%s\n%s", verbs[v].usage, verbs[v].text, verbs[v].options);
			return TPA_EXIT_OK;
		default:
			fprintf(stderr, "verifier: devices: %s: unknown or incomplete option '%s'\n",
				verb, argv[optind - 1]);
			fputs(verbs[v].usage, stderr);
			return TPA_EXIT_USAGE;
		}
	}
	if (!registry || optind != argc - want) {
		fprintf(stderr, "verifier: devices: %s: %s\n", verb, !registry ?
			"--registry FILE is required" : want ? "one argument expected" :
			"no argument expected");
		fputs(verbs[v].usage, stderr);
		return TPA_EXIT_USAGE;
	}
	if (tpa_store_open_existing(&store, registry) < 0) {
		fprintf(stderr, "verifier: %s\n", tpa_err_last());
		return TPA_EXIT_USAGE;
	}
	if (strcmp(verb, "approve") == 0)
		rc = approve(store, argv[optind], json);
	else if (strcmp(verb, "import") == 0)
		rc = import(store, argv[optind], json);
	else if (strcmp(verb, "inventory") == 0)
		rc = inventory(store, json);
	else
		rc = uninventory(store, argv[optind], json);
	tpa_store_close(store);
	return rc;
}
