/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tpa/err.h"

#define TPA_ERR_MSG_MAX 512

static _Thread_local char err_msg[TPA_ERR_MSG_MAX];

const char *tpa_err_str(int code)
{
	switch ((tpa_err)code) {
	case TPA_OK: return "success";
	case TPA_ERR_INVALID_ARG: return "invalid argument";
	case TPA_ERR_NOMEM: return "out of memory";
	case TPA_ERR_IO: return "I/O error";
	case TPA_ERR_PARSE: return "malformed input";
	case TPA_ERR_LIMIT: return "limit exceeded";
	case TPA_ERR_TPM: return "TPM error";
	case TPA_ERR_CRYPTO: return "cryptographic error";
	case TPA_ERR_VERIFY: return "verification failed";
	case TPA_ERR_NOT_FOUND: return "not found";
	case TPA_ERR_UNAVAILABLE: return "unavailable";
	case TPA_ERR_DEADLINE: return "deadline exceeded";
	case TPA_ERR_REFUSED: return "request refused";
	case TPA_ERR_RPC: return "RPC failed";
	case TPA_ERR_INTERNAL: return "internal error";
	case TPA_ERR_CONFLICT: return "conflict";
	case TPA_ERR_USED: return "already used";
	}
	return "unknown error";
}

/* Through a buffer of its own: a caller may pass tpa_err_last() itself as
 * an argument ("AK file %s", tpa_err_last()), and vsnprintf into the
 * string it reads is undefined (here: the message came out cut). */
static void err_vset(const char *fmt, va_list ap)
{
	char tmp[TPA_ERR_MSG_MAX];

	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	memcpy(err_msg, tmp, sizeof(err_msg));
}

void tpa_err_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(fmt, ap);
	va_end(ap);
}

int tpa_err_fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(fmt, ap);
	va_end(ap);
	return code;
}

const char *tpa_err_last(void)
{
	return err_msg;
}

void tpa_err_clear(void)
{
	err_msg[0] = '\0';
}
