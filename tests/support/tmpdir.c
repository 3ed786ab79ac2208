/*
 * tests/support/tmpdir.c — the temporary directories of tmpdir.h.
 */
/* nftw() is an X/Open interface. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif

#include "tmpdir.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

int slip_test_tmpdir(char *buf, size_t bufsz, const char *tag)
{
	const char *base = getenv("TMPDIR");
	int n = snprintf(buf, bufsz, "%s/slip-%s-XXXXXX",
	                 base != NULL && base[0] != '\0' ? base : "/tmp", tag);

	if (n < 0 || (size_t)n >= bufsz)
		return -1;
	return mkdtemp(buf) != NULL ? 0 : -1;
}

static int remove_one(const char *path, const struct stat *sb, int flag,
                      struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path); /* keep going: clean up as much as possible */
	return 0;
}

void slip_test_rmdir(const char *dir)
{
	if (dir != NULL && dir[0] != '\0')
		nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
