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

#endif
