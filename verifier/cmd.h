/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's commands besides serve. */
#ifndef TPA_VERIFIER_CMD_H
#define TPA_VERIFIER_CMD_H

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

#endif
