/* SPDX-License-Identifier: BSD-3-Clause */
/* The exit status of attest_client and verifier: one number, one meaning,
 * in both programs (README, "Exit status", says which command can give
 * which). Not used by the library, which returns tpa_err codes. */
#ifndef TPA_EXIT_H
#define TPA_EXIT_H

typedef enum {
	TPA_EXIT_OK = 0,          /* done; compliant; valid */
	TPA_EXIT_NO = 1,          /* the answer is no: non-compliant, invalid,
				   * not verified (reasons printed) */
	TPA_EXIT_USAGE = 2,       /* bad flag, argument or configuration; a
				   * file named on the command line unreadable */
	TPA_EXIT_TPM = 3,         /* the TPM cannot be opened, or a TPM
				   * command failed */
	TPA_EXIT_UNREACHABLE = 4, /* the verifier cannot be reached (connection,
				   * TLS, timeout) */
	TPA_EXIT_REFUSED = 5,     /* the verifier refused the request */
	TPA_EXIT_PROTOCOL = 6,    /* a reply that cannot be understood */
	TPA_EXIT_INTERNAL = 7,    /* out of memory, a local write failed, a bug */
	TPA_EXIT_WARNING = 8,     /* the answer is "warning": compliant with
				   * reservations (baseline appraise) */
	TPA_EXIT_SERVICE = 9,     /* serve: the service could not start or
				   * failed while running */
} tpa_exit;

#endif
