/* SPDX-License-Identifier: BSD-3-Clause */
/* Configuration files of the programs: one "key = value" per line, '#'
 * starts a comment line, blank lines are ignored; a value may be quoted
 * ("...") to keep spaces at its ends. Keys are the programs' long options
 * without the dashes ("ak_file" and "ak-file" are the same key); the
 * programs check which keys exist and what values mean, and name the file,
 * line and key in every error. A file is untrusted input: its size, its
 * lines and its entries are bounded. */
#ifndef TPA_CONFIG_H
#define TPA_CONFIG_H

#include <stddef.h>

#define TPA_CONFIG_MAX_BYTES (64 * 1024)
#define TPA_CONFIG_MAX_ENTRIES 128
#define TPA_CONFIG_KEY_MAX 48

typedef struct {
	char key[TPA_CONFIG_KEY_MAX + 1]; /* lower case, '_' written as '-' */
	char *value;
	unsigned line;
} tpa_config_entry;

typedef struct {
	char *path;
	tpa_config_entry *entries;
	size_t n;
} tpa_config;

/* Reads and parses a file. TPA_ERR_IO if it cannot be read, TPA_ERR_PARSE
 * with "FILE:LINE: why" for a malformed line or a key given twice,
 * TPA_ERR_LIMIT beyond the caps. */
int tpa_config_load(tpa_config **out, const char *path);
void tpa_config_free(tpa_config *c);

struct option;

/* The file named by the command line's first --config (--config=FILE or
 * --config FILE), or NULL. */
const char *tpa_config_path_arg(int argc, char **argv);
/* Every key must be one of the long options (getopt_long's table) and not
 * one of excluded (NULL-ended, e.g. "config", "help"): TPA_ERR_PARSE with
 * "FILE:LINE: unknown key 'k'" otherwise. */
int tpa_config_check_options(const tpa_config *c, const struct option *opts,
			     const char *const *excluded);

typedef struct {
	int argc;
	char **argv;               /* argv[argc] is NULL */
	char **where;              /* "FILE:LINE: key", or NULL: the command line's */
} tpa_config_args;

/* For getopt_long: argv[0], then "--key=value" per entry (flags: "--key"
 * for a true value, nothing for a false one; any other value is an error
 * naming the file and line), then the command line's own arguments, which so
 * override the file. flags lists the keys that take no value (NULL-ended). */
int tpa_config_args_build(tpa_config_args *out, const tpa_config *c, const char *const *flags,
			  int argc, char **argv);
void tpa_config_args_free(tpa_config_args *a);

#endif
