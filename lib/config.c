/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/config.h"
#include "tpa/err.h"

void tpa_config_free(tpa_config *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		free(c->entries[i].value);
	free(c->entries);
	free(c->path);
	free(c);
}

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* One line (NUL-terminated, without its newline) into c. */
static int parse_line(tpa_config *c, char *s, unsigned line)
{
	char *k, *eq, *v, *end;
	size_t kl, i;

	while (is_space(*s))
		s++;
	if (!*s || *s == '#')
		return 0;
	if (!(eq = strchr(s, '=')))
		return tpa_err_fail(TPA_ERR_PARSE, "%s:%u: expected \"key = value\"", c->path, line);
	k = s;
	end = eq;
	while (end > k && is_space(end[-1]))
		end--;
	kl = (size_t)(end - k);
	if (kl == 0 || kl > TPA_CONFIG_KEY_MAX)
		return tpa_err_fail(TPA_ERR_PARSE, "%s:%u: a key of 1..%d characters is needed",
				    c->path, line, TPA_CONFIG_KEY_MAX);
	if (c->n >= TPA_CONFIG_MAX_ENTRIES)
		return tpa_err_fail(TPA_ERR_LIMIT, "%s:%u: more than %d settings", c->path, line,
				    TPA_CONFIG_MAX_ENTRIES);
	{
		tpa_config_entry *e = &c->entries[c->n];

		for (i = 0; i < kl; i++) {
			char ch = k[i];

			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			if (ch == '_')
				ch = '-';
			if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
				return tpa_err_fail(TPA_ERR_PARSE, "%s:%u: key '%.*s': only letters, "
						    "digits, '-' and '_'", c->path, line, (int)kl, k);
			e->key[i] = ch;
		}
		e->key[kl] = '\0';
		for (i = 0; i < c->n; i++)
			if (strcmp(c->entries[i].key, e->key) == 0)
				return tpa_err_fail(TPA_ERR_PARSE, "%s:%u: key '%s' already set on line %u",
						    c->path, line, e->key, c->entries[i].line);
		v = eq + 1;
		while (is_space(*v))
			v++;
		end = v + strlen(v);
		while (end > v && is_space(end[-1]))
			end--;
		*end = '\0';
		if (*v == '"') {
			if (end - v < 2 || end[-1] != '"')
				return tpa_err_fail(TPA_ERR_PARSE, "%s:%u: key '%s': unterminated quote",
						    c->path, line, e->key);
			v++;
			end[-1] = '\0';
		}
		for (end = v; *end; end++)
			if ((unsigned char)*end < 0x20 && *end != '\t')
				return tpa_err_fail(TPA_ERR_PARSE, "%s:%u: key '%s': control character "
						    "in the value", c->path, line, e->key);
		if (!(e->value = strdup(v)))
			return tpa_err_fail(TPA_ERR_NOMEM, "config: out of memory");
		e->line = line;
		c->n++;
	}
	return 0;
}

int tpa_config_load(tpa_config **out, const char *path)
{
	tpa_config *c;
	char *buf, *s, *nl;
	size_t n;
	unsigned line = 0;
	FILE *f;
	int err = 0;

	if (!out || !path)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "config: no path");
	*out = NULL;
	if (!(f = fopen(path, "rb")))
		return tpa_err_fail(TPA_ERR_IO, "%s: %s", path, strerror(errno));
	buf = malloc(TPA_CONFIG_MAX_BYTES + 1);
	n = buf ? fread(buf, 1, TPA_CONFIG_MAX_BYTES + 1, f) : 0;
	if (buf && ferror(f))
		err = tpa_err_fail(TPA_ERR_IO, "%s: read error", path);
	fclose(f);
	if (!buf)
		return tpa_err_fail(TPA_ERR_NOMEM, "config: out of memory");
	if (!err && n > TPA_CONFIG_MAX_BYTES)
		err = tpa_err_fail(TPA_ERR_LIMIT, "%s: larger than %d bytes", path,
				   TPA_CONFIG_MAX_BYTES);
	if (!err && memchr(buf, '\0', n))
		err = tpa_err_fail(TPA_ERR_PARSE, "%s: not a text file (NUL byte)", path);
	if (err) {
		free(buf);
		return err;
	}
	buf[n] = '\0';
	if (!(c = calloc(1, sizeof(*c))) || !(c->path = strdup(path)) ||
	    !(c->entries = calloc(TPA_CONFIG_MAX_ENTRIES, sizeof(*c->entries)))) {
		free(buf);
		tpa_config_free(c);
		return tpa_err_fail(TPA_ERR_NOMEM, "config: out of memory");
	}
	for (s = buf; s && *s && !err; s = nl) {
		line++;
		if ((nl = strchr(s, '\n')))
			*nl++ = '\0';
		err = parse_line(c, s, line);
	}
	free(buf);
	if (err) {
		tpa_config_free(c);
		return err;
	}
	*out = c;
	return 0;
}

void tpa_config_args_free(tpa_config_args *a)
{
	int i;

	if (!a)
		return;
	for (i = 0; a->argv && i < a->argc; i++) {
		if (a->where && a->where[i]) {
			free(a->argv[i]);
			free(a->where[i]);
		}
	}
	free(a->argv);
	free(a->where);
	memset(a, 0, sizeof(*a));
}

static int is_true(const char *v, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

int tpa_config_args_build(tpa_config_args *out, const tpa_config *c, const char *const *flags,
			  int argc, char **argv)
{
	size_t i, max = (size_t)argc + (c ? c->n : 0) + 1;
	int k = 0, err = 0;

	if (!out || argc < 1 || !argv)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "config args: NULL");
	memset(out, 0, sizeof(*out));
	if (!(out->argv = calloc(max, sizeof(char *))) || !(out->where = calloc(max, sizeof(char *)))) {
		tpa_config_args_free(out);
		return tpa_err_fail(TPA_ERR_NOMEM, "config: out of memory");
	}
	out->argv[k++] = argv[0];
	for (i = 0; c && i < c->n && !err; i++) {
		const tpa_config_entry *e = &c->entries[i];
		size_t f;
		int flag = 0, on = 0;
		char *arg, *where;
		size_t alen, wlen;

		for (f = 0; flags && flags[f]; f++)
			if (strcmp(flags[f], e->key) == 0)
				flag = 1;
		if (flag && is_true(e->value, &on) < 0) {
			err = tpa_err_fail(TPA_ERR_PARSE, "%s:%u: %s: '%s' is not true or false",
					   c->path, e->line, e->key, e->value);
			break;
		}
		if (flag && !on)
			continue;
		alen = strlen(e->key) + strlen(e->value) + 4;
		wlen = strlen(c->path) + strlen(e->key) + 24;   /* ":4294967295: " */
		arg = malloc(alen);
		where = malloc(wlen);
		if (!arg || !where) {
			free(arg);
			free(where);
			err = tpa_err_fail(TPA_ERR_NOMEM, "config: out of memory");
			break;
		}
		if (flag)
			snprintf(arg, alen, "--%s", e->key);
		else
			snprintf(arg, alen, "--%s=%s", e->key, e->value);
		snprintf(where, wlen, "%s:%u: %s", c->path, e->line, e->key);
		out->argv[k] = arg;
		out->where[k] = where;
		k++;
	}
	for (i = 1; !err && i < (size_t)argc; i++)
		out->argv[k++] = argv[i];
	out->argc = k;
	if (err) {
		tpa_config_args_free(out);
		return err;
	}
	return 0;
}

const char *tpa_config_path_arg(int argc, char **argv)
{
	int i;

	for (i = 1; argv && i < argc; i++) {
		if (strncmp(argv[i], "--config=", 9) == 0)
			return argv[i] + 9;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			return argv[i + 1];
		if (strcmp(argv[i], "--") == 0)
			break;
	}
	return NULL;
}

int tpa_config_check_options(const tpa_config *c, const struct option *opts,
			     const char *const *excluded)
{
	size_t i, k;

	for (i = 0; c && i < c->n; i++) {
		const tpa_config_entry *e = &c->entries[i];
		int known = 0;

		for (k = 0; opts && opts[k].name; k++)
			known |= strcmp(opts[k].name, e->key) == 0;
		for (k = 0; excluded && excluded[k]; k++)
			known &= strcmp(excluded[k], e->key) != 0;
		if (!known)
			return tpa_err_fail(TPA_ERR_PARSE, "%s:%u: unknown key '%s'", c->path, e->line,
					    e->key);
	}
	return 0;
}

