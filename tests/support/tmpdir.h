/*
 * tests/support/tmpdir.h — temporary directories for tests: one made fresh
 * under $TMPDIR (or /tmp) per use, and removed with everything in it.
 */
#ifndef SLIP_TEST_TMPDIR_H
#define SLIP_TEST_TMPDIR_H

#include <stddef.h>

/**
 * Makes a fresh directory $TMPDIR/slip-@p tag-XXXXXX (mkdtemp) and writes
 * its path into @p buf. @return 0, or -1 (buffer too small, mkdtemp failed).
 */
int slip_test_tmpdir(char *buf, size_t bufsz, const char *tag);

/**
 * Removes @p dir and everything below it (no symlinks followed), going on
 * past errors. NULL or "" does nothing.
 */
void slip_test_rmdir(const char *dir);

#endif
