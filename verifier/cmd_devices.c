/* SPDX-License-Identifier: BSD-3-Clause */
/* verifier devices list|show|summary|revoke|reinstate|delete|label|cert: the
 * device registry for an operator. Exit status (tpa/exit.h): 0 done, 1 no
 * such device (or an ambiguous name), 2 usage or an unreadable registry. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "tpa/compliance.h"
#include "tpa/devcert.h"
#include "tpa/err.h"
#include "tpa/store.h"
#include "tpa/timefmt.h"
#include "tpa/token.h"

#include "cmd.h"
#include "cmd_admission.h"
#include "cmd_sessions.h"

static void usage(FILE *f)
{
	fputs("usage: verifier devices list [options] --registry FILE\n"
	      "       verifier devices summary [--json] --registry FILE\n"
	      "       verifier devices show|revoke|reinstate|delete [--json] --registry FILE\n"
	      "                                                     DEVICE\n"
	      "       verifier devices label [--json] --registry FILE DEVICE LABEL\n", f);
	cmd_devices_admission_usage(f);
	fputs("       verifier devices cert add|remove|list [options] --registry FILE ...\n", f);
	fputs("\n"
	      "The device registry. DEVICE is a device id, a unique prefix of it of at\n"
	      "least 8 hex digits (the verifier's log prints 16: device=0123456789abcdef\n"
	      "(alice-laptop)), or the unique host name a device reported (any case); an\n"
	      "id or prefix wins over a host name. Host names, machine-ids and DMI values\n"
	      "are as the device reported them, not attested. Times are ISO 8601 UTC.\n"
	      "Exit 0 done, 1 no such device (or an ambiguous name), 2 usage or a registry\n"
	      "that does not exist. verifier devices VERB --help: a verb's options.\n"
	      "\n"
	      "  --help                this text\n", f);
}

#define STALE_OPTS \
	"  --attest-interval S   the serving verifier's --attest-interval (default\n" \
	"                        3600): this command cannot know it otherwise\n" \
	"  --stale-grace S       the serving verifier's --stale-grace (default 600)\n"

static void usage_list(FILE *f)
{
	fputs("usage: verifier devices list [options] --registry FILE\n"
	      "\n"
	      "Lists the devices, one a line (id, state, host name as reported, enrollment,\n"
	      "last verdict, label, AK), those the filters keep (all of them must), and\n"
	      "ends with a summary line: counts per state, per last outcome, and stale.\n"
	      "A device is stale once its last verdict is older than the attest interval\n"
	      "plus the stale grace (a device that never attested is not stale: it is\n"
	      "never attested); give the serving verifier's settings.\n"
	      "\n"
	      "  --registry FILE       the registry (sqlite:PATH or a file; never created)\n"
	      "  --json                a JSON array of the devices, times ISO 8601 UTC\n"
	      "  --state STATE         only devices in STATE (active, revoked)\n"
	      "  --label L             only devices with group label L\n"
	      "  --stale               only devices that are stale now\n"
	      "  --non-compliant       only devices whose last outcome is neither compliant\n"
	      "                        nor warning (never attested counts), or that are not\n"
	      "                        active\n"
	      "  --secureboot CLAIM=ANSWER\n"
	      "                        only devices whose last token answers a\n"
	      "                        Secure Boot claim so (dbx_current, ca_2023_ready,\n"
	      "                        ca_2011_only, test_platform_key,\n"
	      "                        revoked_component_booted; yes, no or unknown: no\n"
	      "                        token saying it is unknown), e.g. ca_2023_ready=no\n"
	      STALE_OPTS
	      "  --help                this text\n", f);
}

static void usage_summary(FILE *f)
{
	fputs("usage: verifier devices summary [options] --registry FILE\n"
	      "\n"
	      "Counts the fleet: devices per state, per last outcome (never attested\n"
	      "included), and how many are stale (overdue: see devices list --help); and\n"
	      "the Secure Boot hygiene their last tokens say (a verifier with\n"
	      "--secureboot-ref): how many have a dbx not current, are not 2023-ready,\n"
	      "hold only the 2011 CAs, a test platform key, booted a revoked component.\n"
	      "\n"
	      "  --registry FILE       the registry (sqlite:PATH or a file; never created)\n"
	      "  --json                a JSON object instead of a line\n"
	      STALE_OPTS
	      "  --help                this text\n", f);
}

static void usage_show(FILE *f)
{
	fputs("usage: verifier devices show [options] --registry FILE DEVICE\n"
	      "\n"
	      "Shows one device: its state, enrollment, last verdict, token expiry, and\n"
	      "under their own heading the names its host reported (host name,\n"
	      "machine-id, DMI product and serial: reported by the device, not attested)\n"
	      "with when it was first and last seen. DEVICE: an id, a unique prefix of at\n"
	      "least 8 hex digits, or a unique host name. Exit 0 shown, 1 no such device\n"
	      "(or an ambiguous name), 2 usage.\n"
	      "\n"
	      "  --registry FILE       the registry (sqlite:PATH or a file; never created)\n"
	      "  --json                JSON (the names in an object \"reported\")\n"
	      STALE_OPTS
	      "  --help                this text\n", f);
}

#define DEVICE_OPTS \
	"  --registry FILE       the registry (sqlite:PATH or a file; never created)\n" \
	"  --json                the device as JSON (as show --json)\n" \
	"  --help                this text\n"

static void usage_revoke(FILE *f)
{
	fputs("usage: verifier devices revoke [--json] --registry FILE DEVICE\n"
	      "\n"
	      "Revokes a device: its attestations are refused and relying parties asking\n"
	      "GetDeviceCompliance hear it is revoked, until \"devices reinstate\". DEVICE:\n"
	      "an id, a unique prefix of at least 8 hex digits, or a unique host name.\n"
	      "Exit 0 revoked, 1 no such device (or an ambiguous name), 2 usage.\n"
	      "\n" DEVICE_OPTS, f);
}

static void usage_reinstate(FILE *f)
{
	fputs("usage: verifier devices reinstate [--json] --registry FILE DEVICE\n"
	      "\n"
	      "Makes a revoked device active again; for a revoked device that was\n"
	      "deleted, removes its tombstone so that its TPM may enroll again (as a new\n"
	      "device). DEVICE: an id, a unique prefix of at least 8 hex digits, or a\n"
	      "unique host name. Exit 0 reinstated, 1 no such device (or an ambiguous\n"
	      "name), 2 usage.\n"
	      "\n" DEVICE_OPTS, f);
}

static void usage_delete(FILE *f)
{
	fputs("usage: verifier devices delete [--json] --registry FILE DEVICE\n"
	      "\n"
	      "Deletes a device's record. A revoked device leaves a tombstone: its TPM\n"
	      "cannot enroll again until \"devices reinstate\" names it. DEVICE: an id, a\n"
	      "unique prefix of at least 8 hex digits, or a unique host name. Exit 0\n"
	      "deleted, 1 no such device (or an ambiguous name), 2 usage.\n"
	      "\n"
	      "  --registry FILE       the registry (sqlite:PATH or a file; never created)\n"
	      "  --json                {\"deleted\": ID} instead of a line\n"
	      "  --help                this text\n", f);
}

static void usage_label(FILE *f)
{
	fputs("usage: verifier devices label [--json] --registry FILE DEVICE LABEL\n"
	      "\n"
	      "Sets a device's group label, which baselines can be assigned to (\"\"\n"
	      "removes it). DEVICE: an id, a unique prefix of at least 8 hex digits, or a\n"
	      "unique host name. Exit 0 set, 1 no such device (or an ambiguous name),\n"
	      "2 usage.\n"
	      "\n" DEVICE_OPTS, f);
}

/* A usage error: "verifier: devices: why" and the usage lines of the help
 * that help prints (its text up to the first blank line), on stderr. */
static tpa_exit usage_error(void (*help)(FILE *), const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static tpa_exit usage_error(void (*help)(FILE *), const char *fmt, ...)
{
	char why[256], *text = NULL;
	size_t n = 0;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!(f = open_memstream(&text, &n))) {
		fprintf(stderr, "verifier: devices: %s\n", why);
		return TPA_EXIT_USAGE;
	}
	help(f);
	fclose(f);
	cmd_usage_error("devices", text, "%s", why);
	free(text);
	return TPA_EXIT_USAGE;
}

const char *cmd_when(char *b, size_t cap, int64_t t)
{
	if (t == 0 || tpa_time_iso(b, cap, t) < 0)
		snprintf(b, cap, "%s", t == 0 ? "never" : "?");
	return b;
}

json_t *cmd_time_json(int64_t t)
{
	char b[TPA_TIME_ISO_LEN + 1];

	return t && tpa_time_iso(b, sizeof(b), t) == 0 ? json_string(b) : json_null();
}

static json_t *text_json(const char *v)
{
	return v && v[0] ? json_string(v) : json_null();
}

/* Overdue now, by the library's one definition (tpa/compliance.h), so that
 * this and GetDeviceCompliance cannot disagree given the same settings. */
static int is_stale(const tpa_device *d, int64_t now, const tpa_staleness *p)
{
	return tpa_device_stale(d, now, p);
}

static int is_non_compliant(const tpa_device *d)
{
	return d->state != TPA_DEVICE_ACTIVE || (strcmp(d->last_outcome, "compliant") != 0 &&
						 strcmp(d->last_outcome, "warning") != 0);
}

static json_t *device_json(const tpa_device *d, int64_t now, const tpa_staleness *p)
{
	json_t *o = json_object(), *r = json_object();

	json_object_set_new(o, "id", json_string(d->id));
	json_object_set_new(o, "state", json_string(tpa_device_state_name(d->state)));
	json_object_set_new(o, "enrolled_at", cmd_time_json(d->enrolled_at));
	json_object_set_new(o, "ak_name", json_string(d->ak_name));
	json_object_set_new(o, "last_attest_at", cmd_time_json(d->last_attest_at));
	json_object_set_new(o, "last_verdict", text_json(d->last_verdict));
	json_object_set_new(o, "last_outcome", text_json(d->last_outcome));
	json_object_set_new(o, "last_baseline", text_json(d->last_baseline));
	json_object_set_new(o, "label", text_json(d->label));
	json_object_set_new(o, "token_expires_at", cmd_time_json(d->last_token_exp));
	json_object_set_new(o, "state_changed_at", cmd_time_json(d->state_changed_at));
	json_object_set_new(o, "stale", json_boolean(is_stale(d, now, p)));
	json_object_set_new(o, "due_at", cmd_time_json(tpa_device_due(d, p)));
	json_object_set_new(o, "first_seen", cmd_time_json(d->first_seen));
	json_object_set_new(o, "last_seen", cmd_time_json(d->last_seen));
	/* What the host said of itself: apart, and said to be so. */
	json_object_set_new(r, "attested", json_false());
	json_object_set_new(r, "hostname", text_json(d->host.hostname));
	json_object_set_new(r, "machine_id", text_json(d->host.machine_id));
	json_object_set_new(r, "dmi_product", text_json(d->host.dmi_product));
	json_object_set_new(r, "dmi_serial", text_json(d->host.dmi_serial));
	json_object_set_new(o, "reported", r);
	/* Admission (issue 14, item 2). */
	json_object_set_new(o, "admission", text_json(d->admission));
	json_object_set_new(o, "ek_cert_source", text_json(d->ek_cert_source));
	return o;
}

static void print_device(const tpa_device *d)
{
	char e[32], a[32];

	printf("%s  %-8s  %-20s  enrolled %s  last verdict %s (%s%s%s) %s  label %s  ak %.16s...  "
	       "admission %s  ek cert %s\n",
	       d->id, tpa_device_state_name(d->state), d->host.hostname[0] ? d->host.hostname : "-",
	       cmd_when(e, sizeof(e), d->enrolled_at), d->last_verdict[0] ? d->last_verdict : "none",
	       d->last_outcome[0] ? d->last_outcome : "-", d->last_baseline[0] ? ", " : "",
	       d->last_baseline, cmd_when(a, sizeof(a), d->last_attest_at),
	       d->label[0] ? d->label : "-", d->ak_name, d->admission[0] ? d->admission : "-",
	       d->ek_cert_source[0] ? d->ek_cert_source : "-");
}

static void print_show(const tpa_device *d, int64_t now, const tpa_staleness *p)
{
	char b[32];

	print_device(d);
	printf("  state changed   %s\n", cmd_when(b, sizeof(b), d->state_changed_at));
	printf("  last attest     %s\n", cmd_when(b, sizeof(b), d->last_attest_at));
	printf("  token expires   %s\n", cmd_when(b, sizeof(b), d->last_token_exp));
	printf("  due             %s%s\n", cmd_when(b, sizeof(b), tpa_device_due(d, p)),
	       is_stale(d, now, p) ? " (stale)" : "");
	printf("  first seen      %s\n", cmd_when(b, sizeof(b), d->first_seen));
	printf("  last seen       %s\n", cmd_when(b, sizeof(b), d->last_seen));
	printf("reported by the device, not attested:\n");
	printf("  hostname        %s\n", d->host.hostname[0] ? d->host.hostname : "-");
	printf("  machine-id      %s\n", d->host.machine_id[0] ? d->host.machine_id : "-");
	printf("  dmi product     %s\n", d->host.dmi_product[0] ? d->host.dmi_product : "-");
	printf("  dmi serial      %s\n", d->host.dmi_serial[0] ? d->host.dmi_serial : "-");
}

/* Counts by name, the known names first, in their order. */
#define TALLY_MAX 12
typedef struct {
	const char *name[TALLY_MAX];
	size_t count[TALLY_MAX], n;
} tally;

static void tally_add(tally *t, const char *name, size_t k)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->name[i], name) == 0)
			break;
	if (i == t->n) {
		if (t->n == TALLY_MAX)
			i = TALLY_MAX - 1;  /* the last slot holds "other" */
		else
			t->name[t->n++] = name;
	}
	t->count[i] += k;
}

typedef struct {
	size_t devices, stale;
	tally states, outcomes;
	/* Secure Boot hygiene of the devices whose last token says it:
	 * per claim, how many answered yes, no, unknown (tpa_sb_answer). */
	size_t sb[TPA_SBC_COUNT][3], sb_with, sb_without;
} fleet;

static void fleet_init(fleet *f)
{
	static const char *const outcomes[] = { "compliant", "warning", "non-compliant",
						"no-baseline", "never attested" };
	size_t i;

	memset(f, 0, sizeof(*f));
	tally_add(&f->states, tpa_device_state_name(TPA_DEVICE_ACTIVE), 0);
	tally_add(&f->states, tpa_device_state_name(TPA_DEVICE_REVOKED), 0);
	tally_add(&f->states, tpa_device_state_name(TPA_DEVICE_PENDING), 0);
	for (i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		tally_add(&f->outcomes, outcomes[i], 0);
}

static void fleet_add(fleet *f, const tpa_device *d, int64_t now, const tpa_staleness *p)
{
	f->devices++;
	tally_add(&f->states, tpa_device_state_name(d->state), 1);
	tally_add(&f->outcomes, d->last_outcome[0] ? d->last_outcome : "never attested", 1);
	f->stale += is_stale(d, now, p) != 0;
}

/* A device's last token's tpa.secureboot, into the fleet's counts. */
static void fleet_add_secureboot(fleet *f, tpa_store *store, const tpa_device *d)
{
	tpa_sb_answer a[TPA_SBC_COUNT];
	tpa_device again;
	char *tok = NULL;
	size_t i;

	if (!d->last_token_exp || tpa_store_last_token(&tok, &again, store, d->id) < 0 || !tok ||
	    tpa_token_secureboot(a, tok) != 1) {
		f->sb_without++;
		free(tok);
		return;
	}
	free(tok);
	f->sb_with++;
	for (i = 0; i < TPA_SBC_COUNT; i++)
		f->sb[i][a[i]]++;
}

/* "Secure Boot (2 of 3 devices' last tokens): dbx not current 1, ..." */
static void fleet_print_secureboot(const fleet *f)
{
	static const char *const no[TPA_SBC_COUNT] = { "dbx not current", "not 2023-ready",
		NULL, NULL, NULL };
	static const char *const yes[TPA_SBC_COUNT] = { NULL, NULL, "2011 CAs only",
		"test platform key", "revoked component booted" };
	size_t i, unknown = 0;

	if (!f->sb_with)
		return;
	printf("Secure Boot (%zu of %zu devices' last tokens say it):", f->sb_with,
	       f->sb_with + f->sb_without);
	for (i = 0; i < TPA_SBC_COUNT; i++) {
		printf(" %s %zu%s", no[i] ? no[i] : yes[i], f->sb[i][no[i] ? TPA_SBA_NO : TPA_SBA_YES],
		       i + 1 < TPA_SBC_COUNT ? "," : ";");
		unknown += f->sb[i][TPA_SBA_UNKNOWN];
	}
	printf(" %zu answers unknown\n", unknown);
}

/* "3 devices: 2 active, 1 revoked; 1 compliant, 2 never attested; 1 stale" */
static void fleet_print(const fleet *f)
{
	const tally *t[2] = { &f->states, &f->outcomes };
	size_t i, k;

	printf("%zu device%s", f->devices, f->devices == 1 ? "" : "s");
	if (f->devices) {
		for (k = 0; k < 2; k++) {
			const char *sep = k == 0 ? ": " : "; ";

			for (i = 0; i < t[k]->n; i++)
				if (t[k]->count[i]) {
					printf("%s%zu %s", sep, t[k]->count[i], t[k]->name[i]);
					sep = ", ";
				}
		}
		printf("; %zu stale", f->stale);
	}
	printf("\n");
}

static json_t *fleet_json(const fleet *f)
{
	json_t *o = json_object(), *st = json_object(), *oc = json_object();
	size_t i;

	json_object_set_new(o, "devices", json_integer((json_int_t)f->devices));
	for (i = 0; i < f->states.n; i++)
		json_object_set_new(st, f->states.name[i],
				    json_integer((json_int_t)f->states.count[i]));
	for (i = 0; i < f->outcomes.n; i++)
		json_object_set_new(oc, strcmp(f->outcomes.name[i], "never attested") == 0 ?
				    "never-attested" : f->outcomes.name[i],
				    json_integer((json_int_t)f->outcomes.count[i]));
	json_object_set_new(o, "states", st);
	json_object_set_new(o, "outcomes", oc);
	json_object_set_new(o, "stale", json_integer((json_int_t)f->stale));
	{
		json_t *sb = json_object();
		size_t c;

		json_object_set_new(sb, "devices", json_integer((json_int_t)f->sb_with));
		json_object_set_new(sb, "without", json_integer((json_int_t)f->sb_without));
		for (c = 0; c < TPA_SBC_COUNT; c++)
			json_object_set_new(sb, tpa_sb_claim_names[c],
					    json_pack("{s:I,s:I,s:I}", "true",
						      (json_int_t)f->sb[c][TPA_SBA_YES], "false",
						      (json_int_t)f->sb[c][TPA_SBA_NO], "unknown",
						      (json_int_t)f->sb[c][TPA_SBA_UNKNOWN]));
		json_object_set_new(o, "secureboot", sb);
	}
	return o;
}

/* Whether list shows d: every filter given must keep it. */
typedef struct {
	int state_given, stale, non_compliant;
	tpa_device_state state;
	const char *label;
	tpa_staleness pol;          /* what stale means */
	int sb_claim;               /* --secureboot CLAIM=ANSWER: the claim, or -1 */
	tpa_sb_answer sb_answer;
} filters;

/* --secureboot CLAIM=ANSWER: CLAIM one of tpa.secureboot's, ANSWER yes, no
 * or unknown; 0, or -1 naming what is wrong in why. */
static int sb_filter_parse(filters *fl, const char *arg, char *why, size_t cap)
{
	const char *eq = strchr(arg, '=');
	size_t i;

	for (i = 0; eq && i < TPA_SBC_COUNT; i++)
		if (strlen(tpa_sb_claim_names[i]) == (size_t)(eq - arg) &&
		    !strncmp(arg, tpa_sb_claim_names[i], (size_t)(eq - arg)))
			break;
	if (!eq || i == TPA_SBC_COUNT) {
		snprintf(why, cap, "'%.60s' is not CLAIM=ANSWER with CLAIM dbx_current, "
			 "ca_2023_ready, ca_2011_only, test_platform_key or revoked_component_booted",
			 arg);
		return -1;
	}
	fl->sb_claim = (int)i;
	if (!strcmp(eq + 1, "yes"))
		fl->sb_answer = TPA_SBA_YES;
	else if (!strcmp(eq + 1, "no"))
		fl->sb_answer = TPA_SBA_NO;
	else if (!strcmp(eq + 1, "unknown"))
		fl->sb_answer = TPA_SBA_UNKNOWN;
	else {
		snprintf(why, cap, "'%.40s': the answer is yes, no or unknown", eq + 1);
		return -1;
	}
	return 0;
}

/* Whether a device's last token answers the claim as asked: a device whose
 * last token says nothing of it (none, or from a verifier without a
 * bundle) answers unknown. */
static int sb_kept(const filters *fl, tpa_store *store, const tpa_device *d)
{
	tpa_sb_answer a[TPA_SBC_COUNT];
	tpa_device again;
	char *tok = NULL;
	int said;

	if (fl->sb_claim < 0)
		return 1;
	said = d->last_token_exp && tpa_store_last_token(&tok, &again, store, d->id) == 0 && tok &&
	       tpa_token_secureboot(a, tok) == 1;
	free(tok);
	return (said ? a[fl->sb_claim] : TPA_SBA_UNKNOWN) == fl->sb_answer;
}

static int kept(const filters *fl, const tpa_device *d, int64_t now)
{
	return (!fl->state_given || d->state == fl->state) &&
	       (!fl->label || strcmp(d->label, fl->label) == 0) &&
	       (!fl->stale || is_stale(d, now, &fl->pol)) && (!fl->non_compliant || is_non_compliant(d));
}

static tpa_exit list_or_summary(tpa_store *store, const char *verb, const filters *fl, int json)
{
	tpa_device *all = NULL;
	int64_t now = (int64_t)time(NULL);
	json_t *a = NULL;
	fleet f;
	size_t n = 0, i;

	if (tpa_store_list(&all, &n, store) < 0) {
		fprintf(stderr, "verifier: devices %s: %s\n", verb, tpa_err_last());
		return TPA_EXIT_USAGE;
	}
	fleet_init(&f);
	if (json && strcmp(verb, "list") == 0)
		a = json_array();
	for (i = 0; i < n; i++) {
		if (!kept(fl, &all[i], now) || !sb_kept(fl, store, &all[i]))
			continue;
		fleet_add(&f, &all[i], now, &fl->pol);
		if (strcmp(verb, "list") != 0) {
			fleet_add_secureboot(&f, store, &all[i]);
			continue;
		}
		if (a)
			json_array_append_new(a, device_json(&all[i], now, &fl->pol));
		else
			print_device(&all[i]);
	}
	if (a)
		cmd_print_json(a);
	else if (json)
		cmd_print_json(fleet_json(&f));
	else
		fleet_print(&f);
	if (!json && strcmp(verb, "list") != 0)
		fleet_print_secureboot(&f);
	free(all);
	return TPA_EXIT_OK;
}

const char *cmd_device_text(char *b, size_t cap, tpa_store *s, const char *id)
{
	tpa_device d;

	if (!id || !id[0]) {
		snprintf(b, cap, "-");
		return b;
	}
	if (tpa_store_get(&d, s, id) == 0 && d.host.hostname[0])
		snprintf(b, cap, "%.16s (%s)", id, d.host.hostname);
	else
		snprintf(b, cap, "%.16s", id);
	return b;
}

/* ---- devices cert add|remove|list: network-access certificates ---- */

#define CERT_USAGE_ADD \
	"verifier devices cert add [--ca FILE] [--json] --registry FILE DEVICE CERT\n"
#define CERT_USAGE_REMOVE \
	"verifier devices cert remove [--json] --registry FILE DEVICE CERT\n" \
	"       verifier devices cert remove [--json] --registry FILE --issuer I --serial S\n"
#define CERT_USAGE_LIST "verifier devices cert list [--json] --registry FILE [DEVICE]\n"
#define CERT_OPT_REGISTRY \
	"  --registry FILE       the registry (sqlite:PATH or a file; never created)\n"
#define CERT_OPT_CA \
	"  --ca FILE             refuse CERT unless it chains to a certificate in FILE\n" \
	"                        (PEM; each a trust anchor) for TLS client use, now\n"
#define CERT_OPT_KEY \
	"  --issuer I            the issuer, as cert list prints it (/C=US/O=.../CN=...)\n" \
	"  --serial S            the serial in hex (80ff01; 80:FF:01 and serial=80FF01\n" \
	"                        as openssl prints it will do)\n"

static void usage_cert(FILE *f)
{
	fputs("usage: " CERT_USAGE_ADD
	      "       " CERT_USAGE_REMOVE
	      "       " CERT_USAGE_LIST
	      "\n"
	      "A device's network-access certificates: the EAP-TLS client certificates the\n"
	      "enterprise CA issued it, bound to it so that what a RADIUS server asks about\n"
	      "the certificate it verified (its issuer and serial, named as FreeRADIUS\n"
	      "names them: TLS-Client-Cert-Issuer, TLS-Client-Cert-Serial) finds the device\n"
	      "and its compliance. A certificate is bound to one device at a time. CERT: a\n"
	      "PEM or DER file of one certificate (not a chain), at most 64 KiB. Exit 0\n"
	      "done, 1 no such device or binding, a certificate bound to another device or\n"
	      "not from --ca, 2 usage or a certificate file refused. verifier devices cert\n"
	      "VERB --help: a verb's options.\n"
	      "\n"
	      CERT_OPT_REGISTRY
	      "  --ca FILE             (add) refuse CERT unless it chains to a certificate\n"
	      "                        in FILE (PEM) for TLS client use\n"
	      "  --issuer I            (remove) the issuer, as cert list prints it\n"
	      "  --serial S            (remove) the serial in hex\n"
	      "  --json                JSON output\n"
	      "  --help                this text\n", f);
}

static void usage_cert_add(FILE *f)
{
	fputs("usage: " CERT_USAGE_ADD
	      "\n"
	      "Binds CERT (a PEM or DER file of one X.509 certificate, at most 64 KiB) to\n"
	      "DEVICE and prints the binding: the issuer and serial FreeRADIUS will name it\n"
	      "by, its SHA-256 fingerprint and when it expires. A certificate bound to\n"
	      "another device is refused (remove it there first); binding it again to the\n"
	      "same device replaces the binding. Audited. DEVICE: an id, a unique prefix of\n"
	      "at least 8 hex digits, or a unique host name. Exit 0 bound, 1 no such device\n"
	      "(or an ambiguous name), bound to another device, or not from --ca, 2 usage or\n"
	      "CERT refused.\n"
	      "\n"
	      CERT_OPT_REGISTRY
	      CERT_OPT_CA
	      "  --json                the binding as JSON\n"
	      "  --help                this text\n", f);
}

static void usage_cert_remove(FILE *f)
{
	fputs("usage: " CERT_USAGE_REMOVE
	      "\n"
	      "Removes a binding: of CERT (a PEM or DER file) to DEVICE, or of the\n"
	      "certificate with that issuer and serial to whichever device holds it (for a\n"
	      "certificate whose file is gone). Audited. Exit 0 removed, 1 no such device or\n"
	      "binding (or CERT bound to another device), 2 usage or CERT refused.\n"
	      "\n"
	      CERT_OPT_REGISTRY
	      CERT_OPT_KEY
	      "  --json                what was removed as JSON\n"
	      "  --help                this text\n", f);
}

static void usage_cert_list(FILE *f)
{
	fputs("usage: " CERT_USAGE_LIST
	      "\n"
	      "Lists the bound certificates (of DEVICE alone if given), by device, then\n"
	      "issuer and serial: the device, serial, when it expires (\"expired\" once it\n"
	      "has), when it was bound, the SHA-256 fingerprint's first 16 digits, and the\n"
	      "issuer; then a count. Times are ISO 8601 UTC. Exit 0 listed, 1 no such device\n"
	      "(or an ambiguous name), 2 usage.\n"
	      "\n"
	      CERT_OPT_REGISTRY
	      "  --json                a JSON array of the bindings (every field)\n"
	      "  --help                this text\n", f);
}

static json_t *cert_json(const tpa_device_cert *c)
{
	json_t *o = json_object();

	json_object_set_new(o, "device_id", json_string(c->device_id));
	json_object_set_new(o, "issuer", json_string(c->issuer));
	json_object_set_new(o, "serial", json_string(c->serial));
	json_object_set_new(o, "sha256", json_string(c->sha256));
	json_object_set_new(o, "not_after", cmd_time_json(c->not_after));
	json_object_set_new(o, "added_at", cmd_time_json(c->added_at));
	return o;
}

static void cert_print(const tpa_device_cert *c, const char *lead, int64_t now)
{
	char na[32], ad[32];

	printf("%s%sserial %s  not after %s%s  bound %s  sha256 %.16s...  issuer %s\n", lead,
	       lead[0] ? "  " : "", c->serial, cmd_when(na, sizeof(na), c->not_after),
	       c->not_after < now ? " (expired)" : "", cmd_when(ad, sizeof(ad), c->added_at),
	       c->sha256, c->issuer);
}

/* The binding as add and remove print it. */
static void cert_show(const char *what, const tpa_device_cert *c, const char *dev)
{
	char b[32];

	printf("%s %s\n", what, dev);
	printf("  issuer          %s\n", c->issuer);
	printf("  serial          %s\n", c->serial);
	printf("  sha256          %s\n", c->sha256);
	printf("  not after       %s%s\n", cmd_when(b, sizeof(b), c->not_after),
	       c->not_after < (int64_t)time(NULL) ? " (expired)" : "");
}

/* The device's certificates and open sessions, as show prints them. */
static void show_enforcement(tpa_store *s, const char *id)
{
	int64_t now = (int64_t)time(NULL);
	tpa_device_cert *c = NULL;
	tpa_session *se = NULL;
	size_t n = 0, i;

	if (tpa_store_cert_list(&c, &n, s, id) == 0) {
		printf("network-access certificates: %zu\n", n);
		for (i = 0; i < n; i++) {
			printf("  ");
			cert_print(&c[i], "", now);
		}
	}
	free(c);
	n = 0;
	if (tpa_store_sessions(&se, &n, s, id) == 0) {
		printf("open sessions: %zu\n", n);
		for (i = 0; i < n; i++) {
			printf("  ");
			cmd_session_print(&se[i], "");
		}
	}
	free(se);
}

static void show_enforcement_json(json_t *o, tpa_store *s, const char *id)
{
	tpa_device_cert *c = NULL;
	tpa_session *se = NULL;
	size_t n = 0, i;

	if (tpa_store_cert_list(&c, &n, s, id) == 0) {
		json_t *a = json_array();

		for (i = 0; i < n; i++)
			json_array_append_new(a, cert_json(&c[i]));
		json_object_set_new(o, "certificates", a);
	}
	free(c);
	n = 0;
	if (tpa_store_sessions(&se, &n, s, id) == 0) {
		json_t *a = json_array();

		for (i = 0; i < n; i++)
			json_array_append_new(a, cmd_session_json(&se[i]));
		json_object_set_new(o, "sessions", a);
	}
	free(se);
}

/* A store error of a cert verb: said, and its exit status. */
static tpa_exit cert_fail(const char *verb, int err)
{
	fprintf(stderr, "verifier: devices cert %s: %s\n", verb, tpa_err_last());
	return err == TPA_ERR_NOT_FOUND || err == TPA_ERR_INVALID_ARG ||
	       err == TPA_ERR_CONFLICT || err == TPA_ERR_VERIFY ? TPA_EXIT_NO : TPA_EXIT_USAGE;
}

/* CERT read and named; TPA_EXIT_OK, or the usage status (said). */
static tpa_exit cert_file(tpa_device_cert *c, uint8_t **der, size_t *len, const char *verb,
			  const char *path)
{
	if (tpa_devcert_read_file(der, len, path) < 0 || tpa_devcert_read(c, *der, *len) < 0) {
		fprintf(stderr, "verifier: devices cert %s: %s: %s\n", verb, path, tpa_err_last());
		free(*der);
		*der = NULL;
		return TPA_EXIT_USAGE;
	}
	return TPA_EXIT_OK;
}

static tpa_exit cert_add(tpa_store *s, const char *what, const char *path, const char *ca,
			 int json)
{
	tpa_device_cert c, held;
	char dev[128];
	uint8_t *der = NULL;
	size_t len = 0;
	int err;
	tpa_exit rc;

	if ((rc = cert_file(&c, &der, &len, "add", path)) != TPA_EXIT_OK)
		return rc;
	/* Not from the CA is a no (1); a CA file that cannot be read, usage. */
	if (ca && (err = tpa_devcert_check_ca(der, len, ca)) < 0) {
		rc = cert_fail("add", err);
		if (err != TPA_ERR_VERIFY)
			rc = TPA_EXIT_USAGE;
		goto out;
	}
	if ((err = tpa_store_find_device(c.device_id, s, what)) < 0) {
		rc = cert_fail("add", err);
		goto out;
	}
	/* Bound to another device: say which, and how to move it. */
	if (tpa_store_cert_find(&held, s, c.issuer, c.serial) == 0 &&
	    strcmp(held.device_id, c.device_id) != 0) {
		fprintf(stderr, "verifier: devices cert add: %s: the certificate (issuer %s, serial "
			"%s) is bound to device %s already; remove it there first (verifier "
			"devices cert remove)\n", path, c.issuer, c.serial,
			cmd_device_text(dev, sizeof(dev), s, held.device_id));
		rc = TPA_EXIT_NO;
		goto out;
	}
	if ((err = tpa_store_cert_bind(s, &c, (int64_t)time(NULL))) < 0 ||
	    (err = tpa_store_cert_find(&c, s, c.issuer, c.serial)) < 0) {
		rc = cert_fail("add", err);
		goto out;
	}
	if (json)
		cmd_print_json(cert_json(&c));
	else
		cert_show("bound to", &c, cmd_device_text(dev, sizeof(dev), s, c.device_id));
	rc = TPA_EXIT_OK;
out:
	free(der);
	return rc;
}

static tpa_exit cert_remove(tpa_store *s, const char *what, const char *path, const char *issuer,
			    const char *serial, int json)
{
	tpa_device_cert c, held;
	char dev[128], id[TPA_DEVICE_ID_LEN + 1] = "";
	uint8_t *der = NULL;
	int err;
	tpa_exit rc;

	memset(&c, 0, sizeof(c));
	if (path) {
		size_t len = 0;

		if ((rc = cert_file(&c, &der, &len, "remove", path)) != TPA_EXIT_OK)
			return rc;
		free(der);
		if ((err = tpa_store_find_device(id, s, what)) < 0)
			return cert_fail("remove", err);
	} else {
		snprintf(c.issuer, sizeof(c.issuer), "%s", issuer);
		snprintf(c.serial, sizeof(c.serial), "%s", serial);
	}
	if ((err = tpa_store_cert_find(&held, s, c.issuer, c.serial)) < 0)
		return cert_fail("remove", err);
	if (id[0] && strcmp(held.device_id, id) != 0) {
		fprintf(stderr, "verifier: devices cert remove: %s: the certificate is bound to "
			"device %s, not to %s\n", path,
			cmd_device_text(dev, sizeof(dev), s, held.device_id), what);
		return TPA_EXIT_NO;
	}
	if ((err = tpa_store_cert_unbind(s, held.issuer, held.serial, (int64_t)time(NULL))) < 0)
		return cert_fail("remove", err);
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "removed", cert_json(&held));
		cmd_print_json(o);
	} else {
		cert_show("removed from", &held, cmd_device_text(dev, sizeof(dev), s,
								 held.device_id));
	}
	return TPA_EXIT_OK;
}

static tpa_exit cert_list(tpa_store *s, const char *what, int json)
{
	char id[TPA_DEVICE_ID_LEN + 1], dev[128];
	int64_t now = (int64_t)time(NULL);
	tpa_device_cert *all = NULL;
	size_t n = 0, i;
	int err;

	if (what && (err = tpa_store_find_device(id, s, what)) < 0)
		return cert_fail("list", err);
	if ((err = tpa_store_cert_list(&all, &n, s, what ? id : NULL)) < 0) {
		fprintf(stderr, "verifier: devices cert list: %s\n", tpa_err_last());
		return TPA_EXIT_USAGE;
	}
	if (json) {
		json_t *a = json_array();

		for (i = 0; i < n; i++)
			json_array_append_new(a, cert_json(&all[i]));
		cmd_print_json(a);
	} else {
		for (i = 0; i < n; i++)
			cert_print(&all[i], cmd_device_text(dev, sizeof(dev), s, all[i].device_id),
				   now);
		printf("%zu certificate%s\n", n, n == 1 ? "" : "s");
	}
	free(all);
	return TPA_EXIT_OK;
}

/* verifier devices cert VERB ...: argv[0] is "cert". */
static tpa_exit cmd_devices_cert(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "registry", required_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "ca", required_argument, NULL, 'c' },
		{ "issuer", required_argument, NULL, 'I' },
		{ "serial", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *registry = NULL, *ca = NULL, *issuer = NULL, *serial_arg = NULL, *verb;
	char serial[TPA_CERT_SERIAL_MAX + 1];
	void (*help)(FILE *) = usage_cert;
	tpa_store *store = NULL;
	int json = 0, c, args;
	tpa_exit rc;

	if (argc < 2)
		return usage_error(usage_cert, "cert: a verb is required (add, remove, list)");
	verb = argv[1];
	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		usage_cert(stdout);
		return TPA_EXIT_OK;
	}
	if (strcmp(verb, "add") == 0)
		help = usage_cert_add;
	else if (strcmp(verb, "remove") == 0)
		help = usage_cert_remove;
	else if (strcmp(verb, "list") == 0)
		help = usage_cert_list;
	else
		return usage_error(usage_cert, "cert: unknown verb '%.40s'", verb);
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'R': registry = optarg; break;
		case 'j': json = 1; break;
		case 'c': ca = optarg; break;
		case 'I': issuer = optarg; break;
		case 'S': serial_arg = optarg; break;
		case 'h': help(stdout); return TPA_EXIT_OK;
		default:
			return usage_error(help, "cert %s: unknown or incomplete option '%.40s'", verb,
					   argv[optind - 1]);
		}
	}
	args = argc - optind;
	if (ca && strcmp(verb, "add") != 0)
		return usage_error(help, "cert %s: --ca is an option of cert add", verb);
	if ((issuer || serial_arg) && strcmp(verb, "remove") != 0)
		return usage_error(help, "cert %s: --issuer and --serial are options of cert "
				   "remove", verb);
	if (!registry)
		return usage_error(help, "cert %s: --registry FILE is required", verb);
	if (strcmp(verb, "add") == 0 && args != 2)
		return usage_error(help, "cert add: one DEVICE and one CERT are required");
	if (strcmp(verb, "list") == 0 && args > 1)
		return usage_error(help, "cert list: at most one DEVICE");
	if (strcmp(verb, "remove") == 0) {
		if (issuer || serial_arg ? args != 0 || !issuer || !serial_arg : args != 2)
			return usage_error(help, "cert remove: DEVICE and CERT, or --issuer and "
					   "--serial, are required");
		if (issuer && (tpa_devcert_serial_norm(serial, serial_arg) < 0 ||
			       tpa_devcert_key_valid(issuer, serial) < 0))
			return usage_error(help, "cert remove: %s", tpa_err_last());
	}
	if (tpa_store_open_existing(&store, registry) < 0) {
		fprintf(stderr, "verifier: %s\n", tpa_err_last());
		return TPA_EXIT_USAGE;
	}
	if (strcmp(verb, "add") == 0)
		rc = cert_add(store, argv[optind], argv[optind + 1], ca, json);
	else if (strcmp(verb, "remove") == 0)
		rc = cert_remove(store, issuer ? NULL : argv[optind], issuer ? NULL : argv[optind + 1],
				 issuer, issuer ? serial : NULL, json);
	else
		rc = cert_list(store, args ? argv[optind] : NULL, json);
	tpa_store_close(store);
	return rc;
}

tpa_exit cmd_devices(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "registry", required_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "state", required_argument, NULL, 's' },
		{ "label", required_argument, NULL, 'l' },
		{ "stale", no_argument, NULL, 'S' },
		{ "non-compliant", no_argument, NULL, 'N' },
		{ "secureboot", required_argument, NULL, 'b' },
		{ "attest-interval", required_argument, NULL, 'i' },
		{ "stale-grace", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *registry = NULL, *verb;
	tpa_store *store = NULL;
	tpa_device d;
	filters fl = { 0, 0, 0, TPA_DEVICE_ACTIVE, NULL, { 0, 0 }, -1, TPA_SBA_UNKNOWN };
	char why[200];
	char id[TPA_DEVICE_ID_LEN + 1];
	void (*help)(FILE *) = usage;
	int json = 0, c, err, filtered = 0, policy_given = 0;
	tpa_exit rc = TPA_EXIT_USAGE;

	if (!(verb = cmd_verb(&argc, &argv, usage, &rc)))
		return rc;
	if (cmd_devices_admission_verb(verb))
		return cmd_devices_admission(verb, argc, argv);
	if (strcmp(verb, "cert") == 0)
		return cmd_devices_cert(argc, argv);
	if (strcmp(verb, "list") == 0)
		help = usage_list;
	else if (strcmp(verb, "summary") == 0)
		help = usage_summary;
	else if (strcmp(verb, "show") == 0)
		help = usage_show;
	else if (strcmp(verb, "revoke") == 0)
		help = usage_revoke;
	else if (strcmp(verb, "reinstate") == 0)
		help = usage_reinstate;
	else if (strcmp(verb, "delete") == 0)
		help = usage_delete;
	else if (strcmp(verb, "label") == 0)
		help = usage_label;
	if (strcmp(verb, "list") && strcmp(verb, "summary") && strcmp(verb, "show") &&
	    strcmp(verb, "revoke") && strcmp(verb, "reinstate") && strcmp(verb, "delete") &&
	    strcmp(verb, "label"))
		return usage_error(usage, "unknown verb '%.40s'", verb);
	tpa_staleness_default(&fl.pol);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'R': registry = optarg; break;
		case 'j': json = 1; break;
		case 's':
			/* The store's names, so that a state it adds is one here. */
			if (tpa_device_state_parse(&fl.state, optarg) < 0)
				return usage_error(help, "--state: %s", tpa_err_last());
			fl.state_given = filtered = 1;
			break;
		case 'l': fl.label = optarg; filtered = 1; break;
		case 'S': fl.stale = filtered = 1; break;
		case 'N': fl.non_compliant = filtered = 1; break;
		case 'b':
			if (sb_filter_parse(&fl, optarg, why, sizeof(why)) < 0)
				return usage_error(help, "--secureboot: %s", why);
			filtered = 1;
			break;
		case 'i':
		case 'g': {
			const char *name = c == 'i' ? "--attest-interval" : "--stale-grace";
			unsigned long v;
			char *end;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end || errno ||
			    v > TPA_STALE_MAX_S || (c == 'i' && v == 0))
				return usage_error(help, "%s: '%.40s' is not in %d..%d", name,
						   optarg, c == 'i' ? 1 : 0, TPA_STALE_MAX_S);
			if (c == 'i')
				fl.pol.interval_s = (uint32_t)v;
			else
				fl.pol.grace_s = (uint32_t)v;
			policy_given = 1;
			break;
		}
		case 'h': help(stdout); return TPA_EXIT_OK;
		default:
			return usage_error(help, "unknown or incomplete option '%.40s'",
					   argv[optind - 1]);
		}
	}
	if (filtered && strcmp(verb, "list") != 0)
		return usage_error(help, "--state, --label, --stale, --non-compliant and "
				   "--secureboot are options of list");
	if (policy_given && strcmp(verb, "list") && strcmp(verb, "summary") &&
	    strcmp(verb, "show"))
		return usage_error(help, "--attest-interval and --stale-grace are options of "
				   "list, summary and show");
	if (!registry)
		return usage_error(help, "--registry FILE is required");
	if (strcmp(verb, "list") == 0 || strcmp(verb, "summary") == 0 ? optind != argc :
	    strcmp(verb, "label") == 0 ? optind != argc - 2 : optind != argc - 1)
		return usage_error(help, "%s",
				   strcmp(verb, "list") == 0 || strcmp(verb, "summary") == 0 ?
				   "no arguments besides the options" :
				   strcmp(verb, "label") == 0 ?
				   "one DEVICE and one LABEL are required" :
				   "one DEVICE is required");
	if (tpa_store_open_existing(&store, registry) < 0) {
		fprintf(stderr, "verifier: %s\n", tpa_err_last());
		return TPA_EXIT_USAGE;
	}
	if (strcmp(verb, "list") == 0 || strcmp(verb, "summary") == 0) {
		rc = list_or_summary(store, verb, &fl, json);
		goto cleanup;
	}
	/* Every verb names its device the same ways (an id, a unique prefix,
	 * a unique host name); from here on, the full id. */
	if ((err = tpa_store_find_device(id, store, argv[optind])) < 0) {
	} else if (strcmp(verb, "show") == 0) {
		err = tpa_store_get(&d, store, id);
	} else if (strcmp(verb, "delete") == 0) {
		err = tpa_store_remove(store, id, (int64_t)time(NULL));
	} else if (strcmp(verb, "label") == 0) {
		err = tpa_store_set_label(store, id, argv[optind + 1], (int64_t)time(NULL));
		if (err == 0)
			err = tpa_store_get(&d, store, id);
	} else if (strcmp(verb, "reinstate") == 0 && tpa_store_tombstoned(store, id) == 1) {
		/* Deleted while revoked: lifting the tombstone lets it enroll
		 * again (as a new device; there is no row to show). */
		if ((err = tpa_store_untombstone(store, id, (int64_t)time(NULL))) == 0) {
			if (json) {
				json_t *o = json_object();

				json_object_set_new(o, "reinstated", json_string(id));
				json_object_set_new(o, "tombstone", json_true());
				cmd_print_json(o);
			} else {
				printf("reinstated %s (tombstone removed: it may enroll again)\n", id);
			}
			rc = TPA_EXIT_OK;
			goto cleanup;
		}
	} else {
		err = tpa_store_set_state(store, id,
					  strcmp(verb, "revoke") == 0 ? TPA_DEVICE_REVOKED :
					  TPA_DEVICE_ACTIVE, (int64_t)time(NULL));
		if (err == 0)
			err = tpa_store_get(&d, store, id);
	}
	if (err < 0) {
		fprintf(stderr, "verifier: devices %s: %s\n", verb, tpa_err_last());
		rc = err == TPA_ERR_NOT_FOUND || err == TPA_ERR_INVALID_ARG ||
		     err == TPA_ERR_CONFLICT ? TPA_EXIT_NO :
		     TPA_EXIT_USAGE;
		goto cleanup;
	}
	if (strcmp(verb, "delete") == 0) {
		if (json) {
			json_t *o = json_object();

			json_object_set_new(o, "deleted", json_string(id));
			cmd_print_json(o);
		} else {
			printf("deleted %s\n", id);
		}
	} else if (json) {
		json_t *o = device_json(&d, (int64_t)time(NULL), &fl.pol);

		if (strcmp(verb, "show") == 0)
			show_enforcement_json(o, store, id);
		cmd_print_json(o);
	} else if (strcmp(verb, "show") == 0) {
		print_show(&d, (int64_t)time(NULL), &fl.pol);
		show_enforcement(store, id);
	} else {
		print_device(&d);
	}
	rc = TPA_EXIT_OK;
cleanup:
	tpa_store_close(store);
	return rc;
}
