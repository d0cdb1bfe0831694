/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's commands besides serve. */
#ifndef TPA_VERIFIER_CMD_H
#define TPA_VERIFIER_CMD_H

#include <stdio.h>

int cmd_eventlog(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_baseline(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_compliance(int argc, char **argv);
int cmd_audit(int argc, char **argv);

/* A small text file (JWK, JWKS, JWS) read whole: NUL-terminated, malloc'd;
 * NULL (said on stderr) if it cannot be read or is over 64 KiB. */
char *cmd_read_text(const char *path);

/* The verb of "verifier NOUN VERB [options]": returned with argc/argv moved
 * to it and getopt reset, so its options parse next. NULL when there is
 * none or it asks for help: usage is printed and *ret is the exit code. */
const char *cmd_verb(int *argc, char ***argv, void (*usage)(FILE *), int *ret);

#endif
