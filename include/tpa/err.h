/* SPDX-License-Identifier: BSD-3-Clause */
/* tpm-attest: one error enum and a thread-local message slot.
 *
 * Every library function returns 0 on success or a negative tpa_err code. The
 * failure site records one line with the cause (tpa_err_set); callers read it
 * with tpa_err_last(). Codes are never renumbered or reused. */
#ifndef TPA_ERR_H
#define TPA_ERR_H

#include <stddef.h>

#if defined(__GNUC__)
#define TPA_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TPA_PRINTF(f, a)
#endif

typedef enum {
	TPA_OK = 0,
	TPA_ERR_INVALID_ARG = -1,   /* a caller passed something unusable */
	TPA_ERR_NOMEM = -2,         /* allocation failed */
	TPA_ERR_IO = -3,            /* file or process I/O failed */
	TPA_ERR_PARSE = -4,         /* untrusted bytes are malformed */
	TPA_ERR_LIMIT = -5,         /* a size or count exceeds a cap */
	TPA_ERR_TPM = -6,           /* the TPM or the TSS refused */
	TPA_ERR_CRYPTO = -7,        /* a cryptographic operation failed */
	TPA_ERR_VERIFY = -8,        /* evidence did not verify (see findings) */
	TPA_ERR_NOT_FOUND = -9,     /* no such object */
	TPA_ERR_UNAVAILABLE = -10,  /* peer unreachable, TLS failed, shutting down */
	TPA_ERR_DEADLINE = -11,     /* the call's deadline passed */
	TPA_ERR_REFUSED = -12,      /* the peer rejected the request */
	TPA_ERR_RPC = -13,          /* any other RPC failure */
	TPA_ERR_INTERNAL = -14,     /* a bug or an impossible state */
	TPA_ERR_CONFLICT = -15,     /* the registry holds a conflicting record */
	TPA_ERR_USED = -16,         /* a single-use item was used already */
} tpa_err;

#define TPA_ERR_LAST TPA_ERR_USED   /* the lowest code, for tests */

/* Fixed text for a code ("invalid argument", ...). Never NULL. */
const char *tpa_err_str(int code);

/* Records the message for the current thread, replacing the previous one. */
void tpa_err_set(const char *fmt, ...) TPA_PRINTF(1, 2);

/* Sets the message and returns `code`, for `return tpa_err_fail(...)`. */
int tpa_err_fail(int code, const char *fmt, ...) TPA_PRINTF(2, 3);

/* The current thread's last message, or "" if none. Valid until the next
 * tpa_err_set on this thread. */
const char *tpa_err_last(void);

/* Forgets the current thread's message. */
void tpa_err_clear(void);

#endif
