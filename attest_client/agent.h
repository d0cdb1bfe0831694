/* SPDX-License-Identifier: BSD-3-Clause */
/* attest_client run: the boot-time agent, one attestation after another. */
#ifndef TPA_CLIENT_AGENT_H
#define TPA_CLIENT_AGENT_H

#include "settings.h"

/* settings_load, then what run needs and defaults: a verifier, the AK,
 * token and status files, auto-enroll. Its answers are settings_load's;
 * free with settings_free in every case. */
int agent_settings_load(settings *s, int argc, char **argv);

/* Runs the agent with s (loaded by agent_settings_load from argc and argv,
 * which SIGHUP loads again) until SIGTERM or SIGINT; frees s. Returns 0. */
int agent_run(settings *s, int argc, char **argv);

#endif
