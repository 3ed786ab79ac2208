/*
 * src/fileio.h — the table of file operations the snapshot code goes through.
 *
 * Every system call the snapshot reader and writer make (open, pread,
 * pwrite, fsync, fdatasync, ftruncate, rename, unlink, close, fstat, flock
 * and the directory fsync) is reached through one table, as SQLite's os_unix.c
 * does, so tests can swap in a table that injects short writes, ENOSPC, EIO or
 * a simulated crash at a chosen step. The functions keep POSIX conventions: -1
 * with errno set on failure.
 */
#ifndef SLIP_FILEIO_H
#define SLIP_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct slip__fileio {
	int (*open)(const char *path, int flags, mode_t mode);
	ssize_t (*pread)(int fd, void *buf, size_t len, off_t off);
	ssize_t (*pwrite)(int fd, const void *buf, size_t len, off_t off);
	int (*fsync)(int fd);
	int (*fdatasync)(int fd);
	int (*ftruncate)(int fd, off_t len);
	int (*rename)(const char *from, const char *to);
	int (*unlink)(const char *path);
	int (*close)(int fd);
	/** Size of the open file in bytes. */
	int (*fsize)(int fd, uint64_t *size);
	/** Opens the directory holding @p path, fsyncs it and closes it. */
	int (*dirsync)(const char *path);
	/**
	 * Takes an exclusive advisory lock on the open file without waiting
	 * (flock LOCK_EX | LOCK_NB): EWOULDBLOCK when another holds it.
	 */
	int (*lock)(int fd);
} slip__fileio;

/** The table in use (the real system calls unless a test replaced it). */
const slip__fileio *slip__fileio_get(void);

/**
 * Replaces the table (NULL restores the system calls) and returns the
 * previous one. For tests; not thread-safe against concurrent file I/O.
 */
const slip__fileio *slip__fileio_set(const slip__fileio *ops);

/** The real system calls, for test tables that wrap them. */
const slip__fileio *slip__fileio_system(void);

/**
 * Writes all @p len bytes at @p off, looping over short writes and EINTR.
 * @return 0, or -1 with errno set (a write that makes no progress is EIO).
 */
int slip__fileio_pwrite_all(const slip__fileio *io, int fd, const void *buf,
                            size_t len, uint64_t off);

/**
 * Reads the whole open file into a malloc'd buffer (*out, caller frees;
 * NULL when empty). @return 0 or -1 with errno set.
 */
int slip__fileio_read_all(const slip__fileio *io, int fd, uint8_t **out,
                          size_t *len);

/** Text for errno value @p err in @p buf (strerror_r); returns @p buf. */
const char *slip__fileio_errstr(int err, char *buf, size_t bufsz);

#endif
