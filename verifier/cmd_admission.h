/* SPDX-License-Identifier: BSD-3-Clause */
/* verifier devices approve|import|inventory|uninventory (cmd_admission.c). */
#ifndef TPA_VERIFIER_CMD_ADMISSION_H
#define TPA_VERIFIER_CMD_ADMISSION_H

#include <stdio.h>

#include "tpa/exit.h"

/* 1 if verb is one of these. */
int cmd_devices_admission_verb(const char *verb);
/* Their usage lines (each "       verifier devices ..."), for devices --help. */
void cmd_devices_admission_usage(FILE *f);
/* Runs one, argv as cmd_verb left it (argv[0] the verb). */
tpa_exit cmd_devices_admission(const char *verb, int argc, char **argv);

#endif
