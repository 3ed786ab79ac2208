/*
 * src/fileio.c — the default file-operations table (plain POSIX calls) and
 * the two loops built on it: write-everything and read-the-whole-file.
 *
 * Tests replace the table with slip__fileio_set() to inject faults; the
 * snapshot code never calls the system directly.
 */
#include "fileio.h"
#include "util/hugepage.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int sys_open(const char *path, int flags, mode_t mode)
{
	int fd;

	do {
		fd = open(path, flags | O_CLOEXEC, mode);
	} while (fd < 0 && errno == EINTR);
	return fd;
}

static int sys_fsync(int fd)
{
	return fsync(fd);
}

static int sys_fdatasync(int fd)
{
	return fdatasync(fd);
}

static int sys_ftruncate(int fd, off_t len)
{
	return ftruncate(fd, len);
}

static int sys_fsize(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -1;
	*size = (uint64_t)st.st_size;
	return 0;
}

/*
 * The directory entry made by a create or rename is durable only once the
 * directory itself is fsynced. The directory is the part of @p path before
 * its last slash ("." when there is none).
 */
static int sys_dirsync(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd, rc, saved;

	if (slash == NULL) {
		memcpy(dir, ".", 2);
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(dir)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

static int sys_lock(int fd)
{
	int rc;

	do {
		rc = flock(fd, LOCK_EX | LOCK_NB);
	} while (rc != 0 && errno == EINTR);
	return rc;
}

static const slip__fileio system_io = {
        .open = sys_open,
        .pread = pread,
        .pwrite = pwrite,
        .fsync = sys_fsync,
        .fdatasync = sys_fdatasync,
        .ftruncate = sys_ftruncate,
        .rename = rename,
        .unlink = unlink,
        .close = close,
        .fsize = sys_fsize,
        .dirsync = sys_dirsync,
        .lock = sys_lock,
};

static const slip__fileio *current_io = &system_io;

const slip__fileio *slip__fileio_get(void)
{
	return current_io;
}

const slip__fileio *slip__fileio_set(const slip__fileio *ops)
{
	const slip__fileio *prev = current_io;

	current_io = ops != NULL ? ops : &system_io;
	return prev;
}

const slip__fileio *slip__fileio_system(void)
{
	return &system_io;
}

int slip__fileio_pwrite_all(const slip__fileio *io, int fd, const void *buf,
                            size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = io->pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			/* No progress and no error: give up rather than spin.
			 */
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int slip__fileio_read_all(const slip__fileio *io, int fd, uint8_t **out,
                          size_t *len)
{
	uint64_t size;
	uint8_t *buf;
	size_t got = 0;
	ssize_t n;

	*out = NULL;
	*len = 0;
	if (io->fsize(fd, &size) != 0)
		return -1;
	if (size == 0)
		return 0;
	if (size > (uint64_t)SIZE_MAX - 1 || size > (uint64_t)INT64_MAX) {
		errno = EFBIG;
		return -1;
	}
	buf = malloc((size_t)size);
	if (buf == NULL) {
		errno = ENOMEM;
		return -1;
	}
	slip__hint_huge(buf, (size_t)size);
	/* A file that shrinks while we read is read up to its new end. */
	while (got < size) {
		n = io->pread(fd, buf + got, (size_t)size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*out = buf;
	*len = got;
	return 0;
}

const char *slip__fileio_errstr(int err, char *buf, size_t bufsz)
{
	/* The XSI strerror_r: _GNU_SOURCE is not defined in this build. */
	if (strerror_r(err, buf, bufsz) != 0)
		snprintf(buf, bufsz, "errno %d", err);
	return buf;
}
