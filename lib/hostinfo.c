/* SPDX-License-Identifier: BSD-3-Clause */
/* A host's names as it reports them (tpa/hostinfo.h): collected by the
 * client, checked by the same rules on both sides. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tpa/err.h"
#include "tpa/hostinfo.h"

/* A file is read up to this much: one longer than any valid value is
 * refused as too long, not read on. */
#define READ_MAX 512

static const char *const names[TPA_HOST_NFIELDS] = {
	"hostname", "machine_id", "dmi_product", "dmi_serial",
};

const char *tpa_host_field_name(tpa_host_field f)
{
	return (unsigned)f < TPA_HOST_NFIELDS ? names[f] : "?";
}

char *tpa_host_field_ptr(tpa_host_info *hi, tpa_host_field f)
{
	if (!hi)
		return NULL;
	switch (f) {
	case TPA_HOST_HOSTNAME: return hi->hostname;
	case TPA_HOST_MACHINE_ID: return hi->machine_id;
	case TPA_HOST_DMI_PRODUCT: return hi->dmi_product;
	case TPA_HOST_DMI_SERIAL: return hi->dmi_serial;
	case TPA_HOST_NFIELDS: break;
	}
	return NULL;
}

int tpa_host_info_any(const tpa_host_info *hi)
{
	return hi && (hi->hostname[0] || hi->machine_id[0] || hi->dmi_product[0] ||
		      hi->dmi_serial[0]);
}

int tpa_host_info_set(tpa_host_info *hi, tpa_host_field f, const char *v, size_t len)
{
	char *dst = tpa_host_field_ptr(hi, f);
	const char *name = tpa_host_field_name(f);
	size_t i, max = f == TPA_HOST_HOSTNAME ? TPA_HOSTNAME_MAX :
			f == TPA_HOST_MACHINE_ID ? TPA_MACHINE_ID_LEN : TPA_DMI_MAX;

	if (!dst)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "host info: no such field");
	dst[0] = '\0';
	if (!v)
		len = 0;
	/* What files and tools add at the end; a machine-id is one line, so
	 * only its newline goes (a space before it is an error). */
	if (f == TPA_HOST_MACHINE_ID) {
		if (len && v[len - 1] == '\n')
			len--;
	} else {
		while (len && (v[len - 1] == '\n' || v[len - 1] == ' '))
			len--;
	}
	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "%s: byte %zu is not printable "
					    "(0x%02x)", name, i + 1, (unsigned char)v[i]);
	if (len > max)
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "%s: %zu bytes, longer than %zu", name,
				    len, max);
	if (f == TPA_HOST_MACHINE_ID) {
		if (len != TPA_MACHINE_ID_LEN)
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "%s: %zu characters, not %d",
					    name, len, TPA_MACHINE_ID_LEN);
		for (i = 0; i < len; i++)
			if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
				return tpa_err_fail(TPA_ERR_INVALID_ARG, "%s: byte %zu is not a "
						    "lower-case hex digit", name, i + 1);
	}
	memcpy(dst, v, len);
	dst[len] = '\0';
	return 0;
}

/* Up to cap bytes of a file, never through a symbolic link: the byte count,
 * or -1 if it cannot be read (the caller skips it). */
static ssize_t read_small(char *buf, size_t cap, const char *root, const char *rel)
{
	char path[4096];
	size_t got = 0;
	ssize_t n;
	int fd, saved;

	if (snprintf(path, sizeof(path), "%s%s", root ? root : "", rel) >= (int)sizeof(path))
		return -1;
	/* O_NONBLOCK: a FIFO planted there does not hang the client. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0)
		return -1;
	while (got < cap) {
		n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0) {
				saved = errno;
				close(fd);
				errno = saved;
				return -1;
			}
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
}

static void take(tpa_host_info *out, tpa_host_field f, const char *v, size_t len,
		 tpa_host_invalid_fn invalid, void *ctx)
{
	if (tpa_host_info_set(out, f, v, len) < 0) {
		if (invalid)
			invalid(ctx, f, tpa_err_last());
		tpa_err_clear();
	}
}

static void take_file(tpa_host_info *out, tpa_host_field f, const char *root, const char *rel,
		      tpa_host_invalid_fn invalid, void *ctx)
{
	char buf[READ_MAX];
	ssize_t n = read_small(buf, sizeof(buf), root, rel);

	if (n < 0)
		return;
	take(out, f, buf, (size_t)n, invalid, ctx);
}

void tpa_host_info_collect(tpa_host_info *out, const char *root, tpa_host_invalid_fn invalid,
			   void *ctx)
{
	char buf[READ_MAX];
	ssize_t n = -1;

	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (root && !*root)
		root = NULL;
	if (root)
		n = read_small(buf, sizeof(buf), root, "/etc/hostname");
	if (n < 0) {
		/* gethostname may leave a name cut to fit unterminated. */
		memset(buf, 0, sizeof(buf));
		n = gethostname(buf, sizeof(buf) - 1) == 0 ? (ssize_t)strlen(buf) : -1;
	}
	if (n >= 0)
		take(out, TPA_HOST_HOSTNAME, buf, (size_t)n, invalid, ctx);
	take_file(out, TPA_HOST_MACHINE_ID, root, "/etc/machine-id", invalid, ctx);
	take_file(out, TPA_HOST_DMI_PRODUCT, root, "/sys/class/dmi/id/product_name", invalid, ctx);
	take_file(out, TPA_HOST_DMI_SERIAL, root, "/sys/class/dmi/id/product_serial", invalid,
		  ctx);
}
