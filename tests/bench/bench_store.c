/* SPDX-License-Identifier: BSD-3-Clause */
/* The registry's write of one verdict, in process, one thread, on SQLite
 * (synchronous FULL, WAL): tpa_store_record of a compliant verdict with
 * what the verifier writes (its ~1.1 KB token, the challenge used up, the
 * baseline it names, the same evidence as before, the audit row), one at a
 * time, so each is its own group commit. The CPU it costs (the process's,
 * user + system) and the wall time (the fdatasync is most of it), beside
 * the same on a registry whose token columns carry schema 7's CHECK (a
 * GLOB class over the token), rebuilt by SQL as schema 3 added them: the
 * figure schema 8 was made for. Prints "name value unit" lines.
 * usage: bench_store [SECONDS] */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "tpa/err.h"
#include "tpa/seal.h"
#include "tpa/store.h"

#define ID "ea3c8f05cd9efd3797893259068058dd67071e8de390c3e122e69cdc6afffa7f"
#define NOW 1800000000LL

static const uint8_t EK[] = { 1, 2, 3 }, CERT[] = { 0x30, 0 }, AKP[] = { 9, 9 };

/* Schema 7's token columns, by schema 3's statements. */
static const char *const schema7_token =
	"BEGIN;"
	"ALTER TABLE devices DROP COLUMN last_token_exp;"
	"ALTER TABLE devices DROP COLUMN last_token;"
	"ALTER TABLE devices ADD COLUMN last_token TEXT CHECK(last_token IS NULL OR"
	" (typeof(last_token) = 'text' AND length(CAST(last_token AS BLOB)) BETWEEN 1 AND 16384"
	" AND last_token NOT GLOB '*[^ -~]*'));"
	"ALTER TABLE devices ADD COLUMN last_token_exp INTEGER CHECK((last_token_exp IS NULL) ="
	" (last_token IS NULL) AND (last_token_exp IS NULL OR"
	" (typeof(last_token_exp) = 'integer' AND last_token_exp >= 0)));"
	"COMMIT;";

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A registry file and the WAL and shared-memory files beside it, gone. */
static void remove_registry(const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	char p[128];
	size_t i;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
		unlink(p);
	}
}

/* A new registry at path (in a directory of its own): one device, one
 * baseline. */
static int make_registry(const char *path, int schema7)
{
	tpa_store *s = NULL;
	sqlite3 *db = NULL;
	char *msg = NULL;
	int version = 0, ok;

	if (tpa_store_open_sqlite(&s, path) < 0 ||
	    tpa_store_enroll(s, ID, EK, sizeof(EK), CERT, sizeof(CERT), AKP, sizeof(AKP),
			     "000b7001", NULL, 0, NOW) < 0 ||
	    tpa_store_baseline_add(&version, s, "fleet", "{\"name\": \"fleet\"}", NOW) < 0) {
		fprintf(stderr, "bench_store: %s\n", tpa_err_last());
		tpa_store_close(s);
		return -1;
	}
	tpa_store_close(s);
	if (!schema7)
		return 0;
	ok = sqlite3_open(path, &db) == SQLITE_OK &&
	     sqlite3_exec(db, schema7_token, NULL, NULL, &msg) == SQLITE_OK;
	if (!ok)
		fprintf(stderr, "bench_store: schema 7's columns: %s\n",
			msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	sqlite3_close(db);
	return ok ? 0 : -1;
}

/* A verdict's record as the verifier writes one; n makes it its own. */
static void set_record(tpa_attest_record *rec, uint8_t *tag, long n)
{
	memcpy(tag, &n, sizeof(n));
	rec->token_exp = NOW + 3600 + n;
	rec->seal_expires_ms = (NOW + 300) * 1000 + n;
}

/* Verdicts recorded one at a time, in turns of ROUND on each registry (so
 * that the machine's drift falls on both alike) for secs: CPU and wall us
 * per verdict of each. */
#define ROUND 100
static int run(double cpu_us[2], double wall_us[2], const char *const path[2],
	       const char *token, const uint8_t *log, size_t log_len, double secs)
{
	tpa_attest_record rec;
	tpa_store *s[2] = { NULL, NULL };
	uint8_t tag[TPA_SEAL_TAG_LEN] = { 0 };
	double t0 = now_s(), cpu[2] = { 0, 0 }, wall[2] = { 0, 0 };
	long n = 0, done[2] = { 0, 0 };
	int i, k, err = 0;

	for (i = 0; i < 2 && !err; i++)
		if ((err = tpa_store_open_sqlite(&s[i], path[i])) < 0)
			fprintf(stderr, "bench_store: %s\n", tpa_err_last());
	memset(&rec, 0, sizeof(rec));
	rec.outcome = "compliant";
	rec.baseline = "fleet@1";
	rec.event_log = log;
	rec.event_log_len = log_len;
	rec.pcrs_json = "{\"sha256\":{\"0\":\"3d458cfe55cc03ea1f443f1562beec8df51c75e14a9fcf9a7234"
			"a13f198e7969\",\"7\":\"b5710bf57d25623e4019027da116821fa99f5c81e9e38b87671cc"
			"574f9281439\"}}";
	rec.token = token;
	rec.seal_tag = tag;
	while (!err && now_s() - t0 < secs) {
		for (i = 0; i < 2 && !err; i++) {
			double w0 = now_s(), c0 = cpu_s();

			for (k = 0; k < ROUND && !err; k++, n++) {
				set_record(&rec, tag, n);
				if ((err = tpa_store_record(s[i], ID, 1, NULL, &rec,
							    NOW + n / 1000)) < 0)
					fprintf(stderr, "bench_store: record: %s\n",
						tpa_err_last());
			}
			cpu[i] += cpu_s() - c0;
			wall[i] += now_s() - w0;
			done[i] += ROUND;
		}
	}
	for (i = 0; i < 2; i++) {
		tpa_store_close(s[i]);
		cpu_us[i] = done[i] ? cpu[i] * 1e6 / (double)done[i] : 0;
		wall_us[i] = done[i] ? wall[i] * 1e6 / (double)done[i] : 0;
	}
	return err;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0, c[2], w[2];
	char dir[] = "/tmp/tpa-bench-store-XXXXXX", p8[64], p7[64], *token;
	const char *const paths[2] = { p8, p7 };
	uint8_t *log;
	size_t i, log_len = 24 * 1024;
	int rc = 1;

	/* A compact JWS of the verifier's size, and an event log of a boot's
	 * size (its bytes do not matter: the same each time, so not written
	 * again after the first verdict, as for a device that boots alike). */
	token = malloc(1101);
	log = malloc(log_len);
	if (!token || !log || !mkdtemp(dir)) {
		free(token);
		free(log);
		return 2;
	}
	for (i = 0; i < 1100; i++)
		token[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[i % 64];
	token[20] = token[1000] = '.';
	token[1100] = '\0';
	for (i = 0; i < log_len; i++)
		log[i] = (uint8_t)(i * 31);
	snprintf(p8, sizeof(p8), "%s/schema8.db", dir);
	snprintf(p7, sizeof(p7), "%s/schema7.db", dir);
	if (make_registry(p8, 0) < 0 || make_registry(p7, 1) < 0 ||
	    run(c, w, paths, token, log, log_len, secs) < 0)
		goto out;
	printf("record_cpu %.1f us (a verdict's write: CPU, user + system)\n", c[0]);
	printf("record_wall %.1f us (its wall time, the fdatasync in it)\n", w[0]);
	printf("record_cpu_schema7_check %.1f us (the same with schema 7's token CHECK)\n", c[1]);
	printf("record_wall_schema7_check %.1f us\n", w[1]);
	rc = 0;
out:
	remove_registry(p8);
	remove_registry(p7);
	rmdir(dir);
	free(token);
	free(log);
	return rc;
}
