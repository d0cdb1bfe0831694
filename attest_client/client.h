/* SPDX-License-Identifier: BSD-3-Clause */
/* attest_client's parts shared by its commands (main.c) and its agent
 * (agent.c). */
#ifndef TPA_ATTEST_CLIENT_H
#define TPA_ATTEST_CLIENT_H

#include "tpa/config.h"
#include "tpa/evidence.h"
#include "tpa/exit.h"
#include "tpa/quote.h"
#include "tpa/rpc.h"
#include "tpa/tpm.h"

#define PROG "attest_client"
#define DEFAULT_PCRS "auto"
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_EVENTLOG "/sys/kernel/security/tpm0/binary_bios_measurements"
#define DEFAULT_EFIVARS "/sys/firmware/efi/efivars"
/* The agent (attest_client run). */
#define DEFAULT_INTERVAL_S 3600       /* re-attest at least this often */
#define DEFAULT_RETRY_MIN_S 5         /* first retry after a failure */
#define DEFAULT_RETRY_MAX_S 600       /* backoff cap */
#define DEFAULT_REFRESH_S 300         /* re-attest this long before the token expires */
#define DEFAULT_AK_FILE "/var/lib/attest-client/ak.bin"
#define DEFAULT_TOKEN_FILE "/run/attest-client/token"
#define DEFAULT_STATUS_FILE "/run/attest-client/status.json"

/* Every setting of every command, from --config FILE and the command line
 * (which overrides the file). */
typedef struct {
	tpa_rpc_client_opts co;
	const char *tcti, *pcr_spec, *ak_file, *hint, *token_out, *status_file;
	const char *eventlog, *efivars, *bind_key;
	tpa_ak_type ak_type;
	tpa_ek_type ek;
	int ek_auto;
	unsigned timeout;             /* ms, each call to the verifier */
	int no_eventlog, auto_enroll, replace, verbose;
	unsigned interval, retry_min, retry_max, refresh_before; /* seconds */
	tpa_pcr_set pcrs;
	uint8_t rp_nonce[TPA_RP_NONCE_MAX]; /* --rp-nonce: a relying party's */
	size_t rp_nonce_len;
	tpa_config *cfg;              /* owned: the strings above point into it */
	tpa_config_args args;
} settings;

/* 0, TPA_EXIT_USAGE with a message naming the file, line and key, or -1 after
 * printing --help. Free with settings_free in every case. */
int settings_load(settings *s, int argc, char **argv);
void settings_free(settings *s);

typedef struct {
	int code;                     /* a tpa_exit status */
	int grpc_status;              /* of the last call */
	int have_verdict;
	tpa_verdict_reply v;
	char error[512];              /* why, when there is no verdict */
} attempt;

/* One attestation (enrolling first if needed with --auto-enroll); writes the
 * token file; prints the verdict if print. Returns a->code. */
int attest_once(const settings *s, attempt *a, int print);
void attempt_clear(attempt *a);

/* Writes data to path atomically (a temporary file, fsync, rename). */
int write_file_atomic(const char *path, const char *data, unsigned mode);
/* The token's EAR status, expiry and device id (not verified: read for
 * logs and summaries). */
void token_read(const char *token, char *status, size_t cap, long long *exp, char *device,
		size_t dcap);

/* Where progress and errors go: NULL prints them to stderr (the commands);
 * the agent logs them as its lines. */
typedef void (*client_note_fn)(int error, const char *msg);
extern client_note_fn client_note;

int cmd_run(int argc, char **argv);

#endif
