/* hb_file — small files replaced whole (see hb_file.h). */
#include "hb_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int hb_file_sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc, e;

	if (!copy)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

int hb_file_replace(const char *path, const char *tmp, const char *text, size_t n, char *err,
		    size_t errsz)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	int e;

	if (fd < 0 || write_all(fd, text, n) < 0 || fsync(fd) < 0) {
		e = errno;
		snprintf(err, errsz, "%s: %s", tmp, strerror(e));
		if (fd >= 0)
			close(fd);
		errno = e;
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0 || hb_file_sync_dir(path) < 0) {
		e = errno;
		snprintf(err, errsz, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

int hb_file_lock(const char *path, int *fd, char *err, size_t errsz)
{
	int e;

	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (*fd >= 0 && flock(*fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	e = errno;
	if (*fd >= 0 && e == EWOULDBLOCK)
		return 1;
	snprintf(err, errsz, "%s: %s", path, strerror(e));
	return -1;
}
