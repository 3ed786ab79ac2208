/*
 * src/util/grow.h — the library's one growable-array helper: doubles an
 * array's capacity until it holds what is asked for. In src/util/ so the
 * core and the built-in backends may both include it.
 */
#ifndef SLIP_UTIL_GROW_H
#define SLIP_UTIL_GROW_H

#include <stddef.h>

/**
 * Makes the array at *@p arr_ptr (a pointer to any pointer-to-element,
 * e.g. &items) hold at least @p need elements of @p elem bytes. The
 * capacity *@p cap doubles, from 16, until it is enough; nothing changes
 * when it already is. @return SLIP_OK, or SLIP_ENOMEM with the array and
 * *@p cap unchanged (also when the size would overflow).
 */
int slip__grow(void *arr_ptr, size_t *cap, size_t need, size_t elem);

#endif
