/*
 * src/util/hugepage.h — a hint that a large, freshly allocated block is
 * about to be filled: on Linux it asks for transparent huge pages over the
 * block (madvise MADV_HUGEPAGE), so filling 100 MiB takes about fifty page
 * faults instead of twenty-five thousand. Elsewhere it does nothing.
 */
#ifndef SLIP_UTIL_HUGEPAGE_H
#define SLIP_UTIL_HUGEPAGE_H

#include <stddef.h>

/**
 * Hints that @p len bytes at @p p (from malloc, calloc or realloc) are
 * about to be written. Only the whole 2 MiB stretches inside the block are
 * advised, and only for blocks of 8 MiB or more; failures are ignored (it
 * is only a hint).
 */
void slip__hint_huge(void *p, size_t len);

#endif
