/* SPDX-License-Identifier: BSD-3-Clause */
/* attest_client's one attestation: open the TPM and the AK, enroll the AK
 * when needed, ask for a challenge, quote, send the evidence, read the
 * verdict, keep the token. Used by the commands and by the agent. */
#ifndef TPA_CLIENT_ATTEST_H
#define TPA_CLIENT_ATTEST_H

#include <stddef.h>

#include "tpa/evidence.h"

#include "settings.h"

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

/* attest_client enroll: registers the AK (made if --ak-file is absent) with
 * the verifier. Returns a tpa_exit status. */
int attest_enroll(const settings *s);

/* Writes data and a newline to path atomically (a temporary file, fsync,
 * rename). */
int write_file_atomic(const char *path, const char *data, unsigned mode);
/* The token's EAR status, expiry and device id (not verified: read for
 * logs and summaries). */
void token_read(const char *token, char *status, size_t cap, long long *exp, char *device,
		size_t dcap);

/* Where progress and errors go: NULL (the default) prints them to stderr,
 * as the commands do; the agent sets its own to log them as its lines. */
typedef void (*attest_note_fn)(int error, const char *msg);
extern attest_note_fn attest_note;

/* --json: the commands print one JSON object on stdout instead of text
 * (messages still go to stderr). */
extern int attest_json;
/* The last failure's message ("what: why"), for the error object. */
const char *attest_error(void);
/* {"error": msg (NULL: attest_error()), "exit": code} on stdout. */
void attest_print_error(const char *msg, int code);

#endif
