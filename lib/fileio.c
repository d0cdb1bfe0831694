/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tpa/err.h"
#include "tpa/fileio.h"

#define TRIES 8

int tpa_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
	const uint8_t *p = data;
	char tmp[4096];
	size_t done = 0;
	ssize_t w;
	int fd = -1, i;

	if (!path || (!data && len))
		return tpa_err_fail(TPA_ERR_INVALID_ARG, "write: no path");
	for (i = 0; i < TRIES && fd < 0; i++) {
		uint32_t r;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			return tpa_err_fail(TPA_ERR_IO, "%s: no randomness for a temporary name", path);
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%08x", path, r) >= sizeof(tmp))
			return tpa_err_fail(TPA_ERR_INVALID_ARG, "%s: path too long", path);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
		if (fd < 0 && errno != EEXIST)
			return tpa_err_fail(TPA_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
	}
	if (fd < 0)
		return tpa_err_fail(TPA_ERR_IO, "%s: no free temporary name", path);
	/* The umask may have taken bits; it may not add any. */
	if (fchmod(fd, mode & 0777) != 0)
		goto fail;
	while (done < len && (w = write(fd, p + done, len - done)) > 0)
		done += (size_t)w;
	if (done != len || fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	tpa_file_fsync_dir(path);
	return 0;
fail:
	{
		int e = errno;

		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return tpa_err_fail(TPA_ERR_IO, "%s: cannot write: %s", path, strerror(e));
	}
}

void tpa_file_fsync_dir(const char *path)
{
	char dir[4096], *sl;
	int fd;

	if (!path)
		return;
	snprintf(dir, sizeof(dir), "%s", path);
	sl = strrchr(dir, '/');
	if (sl == dir)
		sl[1] = '\0';
	else if (sl)
		*sl = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
}
