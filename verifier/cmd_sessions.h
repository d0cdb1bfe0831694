/* SPDX-License-Identifier: BSD-3-Clause */
/* What verifier sessions, verifier outbox (cmd_sessions.c) and verifier
 * devices (cmd_devices.c) share: a device's open sessions, and times as the
 * devices commands print them. */
#ifndef TPA_VERIFIER_CMD_SESSIONS_H
#define TPA_VERIFIER_CMD_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tpa/store.h"

/* A time for people: ISO 8601 UTC, or "never" for 0 (cmd_devices.c). */
const char *cmd_when(char *b, size_t cap, int64_t t);
/* The same for JSON: an ISO 8601 string, or null for 0 (cmd_devices.c). */
json_t *cmd_time_json(int64_t t);
/* The device a row names, for people: its 16-digit prefix and, if it
 * reported one, "(host name)" (cmd_devices.c). */
const char *cmd_device_text(char *b, size_t cap, tpa_store *s, const char *id);

/* A session as JSON (every field, "" as null). */
json_t *cmd_session_json(const tpa_session *se);
/* A session as one line, led by lead (device text, or "" for none). */
void cmd_session_print(const tpa_session *se, const char *lead);

#endif
