/*
 * src/util/hugepage.c — slip__hint_huge() (src/util/hugepage.h).
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#endif
#include "hugepage.h"

#include <stdint.h>
#include <sys/mman.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)
#define HINT_MIN  ((size_t)8 << 20)

void slip__hint_huge(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
	uintptr_t start = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	uintptr_t end = ((uintptr_t)p + len) & ~(HUGE_PAGE - 1);

	if (p == NULL || len < HINT_MIN || end <= start)
		return;
	/* The stretch lies inside the caller's block: advising it changes
	 * how its pages are backed, never what they hold. */
	(void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
	(void)p;
	(void)len;
#endif
}
