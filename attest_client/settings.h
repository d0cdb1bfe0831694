/* SPDX-License-Identifier: BSD-3-Clause */
/* attest_client's settings: the defaults, then --config FILE, then the
 * command line, which overrides the file. Every command reads them here;
 * what a command further requires (a verifier, an AK file) it checks
 * itself. */
#ifndef TPA_CLIENT_SETTINGS_H
#define TPA_CLIENT_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/config.h"
#include "tpa/exit.h"
#include "tpa/pcr.h"
#include "tpa/rpc.h"
#include "tpa/seal.h"
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

/* Every setting of every command. */
typedef struct {
	tpa_rpc_client_opts co;
	const char *tcti, *pcr_spec, *ak_file, *hint, *token_out, *status_file;
	const char *eventlog, *efivars, *bind_key;
	const char *ek_cert_file;     /* --ek-cert: the EK certificate instead of NV's */
	const char *host_info_root;   /* --host-info-root: read the host's names under it */
	int no_host_info;             /* --no-host-info: send none */
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

/* settings_load's answers that ask the command for its usage text: the
 * caller prints it (to stdout for --help, to stderr after a bad option,
 * whose message is already printed) and exits 0 or TPA_EXIT_USAGE. */
enum {
	SETTINGS_HELP = -1,
	SETTINGS_BAD_OPTION = -2,
};

/* 0; TPA_EXIT_USAGE with a message naming the file, line and key; or one
 * of the two above. Free with settings_free in every case. */
int settings_load(settings *s, int argc, char **argv);
void settings_free(settings *s);

#endif
