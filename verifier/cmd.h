/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's commands besides serve: each returns its exit status. */
#ifndef TPA_VERIFIER_CMD_H
#define TPA_VERIFIER_CMD_H

#include <stdio.h>

#include "tpa/exit.h"

tpa_exit cmd_eventlog(int argc, char **argv);
tpa_exit cmd_devices(int argc, char **argv);
tpa_exit cmd_baseline(int argc, char **argv);
tpa_exit cmd_token(int argc, char **argv);
tpa_exit cmd_keys(int argc, char **argv);
tpa_exit cmd_compliance(int argc, char **argv);
tpa_exit cmd_audit(int argc, char **argv);
tpa_exit cmd_registry(int argc, char **argv);
tpa_exit cmd_radius(int argc, char **argv);
tpa_exit cmd_sessions(int argc, char **argv);
tpa_exit cmd_outbox(int argc, char **argv);
tpa_exit cmd_sbref(int argc, char **argv);

/* Prints a JSON value (indented, in its members' order) and a newline on
 * stdout, then frees it. */
struct json_t;
void cmd_print_json(struct json_t *j);

/* A small text file (JWK, JWKS, JWS) read whole: NUL-terminated, malloc'd;
 * NULL (said on stderr) if it cannot be read or is over 64 KiB. */
char *cmd_read_text(const char *path);

/* The token a command was given: ARG itself, or, when ARG is "-", standard
 * input, when it is "@FILE" (or FILE is given, --token-file), that file.
 * Read bounded (16384 bytes), one trailing newline dropped; empty or a
 * byte that is not printable ASCII is refused naming where it came from.
 * malloc'd; NULL said on stderr. */
char *cmd_read_token(const char *arg, const char *file);

/* The verb of "verifier NOUN VERB [options]": returned with argc/argv moved
 * to it and getopt reset, so its options parse next. NULL when there is
 * none or it asks for help: usage is printed and *ret is the exit status. */
const char *cmd_verb(int *argc, char ***argv, void (*usage)(FILE *), tpa_exit *ret);

/* Help in one style for every command and verb: the text is the usage
 * lines ("usage: verifier CMD VERB ...", further forms indented to line up),
 * a blank line, what it does, a blank line, then the options, two spaces in,
 * their text at column 24. */

/* --help: the whole text on stdout; TPA_EXIT_OK. */
tpa_exit cmd_help(const char *help);
/* A usage error: "verifier: CMD: why" and the usage lines (the text up to
 * its first blank line) on stderr; TPA_EXIT_USAGE. */
tpa_exit cmd_usage_error(const char *cmd, const char *help, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* getopt_long's '?' (run with opterr = 0) as a usage error naming the
 * option it stopped at. */
tpa_exit cmd_bad_option(const char *cmd, const char *help, char **argv);

#endif
