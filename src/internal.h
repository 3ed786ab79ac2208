/*
 * src/internal.h — helpers private to the core (the .c files directly in
 * src/). Backends never include this header (scripts/check-layers.sh):
 * what they need from the core is in <slipstream/sys/backend.h>, and the
 * portable helpers both use (byte order, clocks, hashing, base64, wiping)
 * are in src/util/util.h, included from here. Nothing here is exported: names
 * carry the slip__ prefix and the library is built with -fvisibility=hidden.
 *
 *   versions        slip__version_check (every version up to the current)
 *   cursors         slip__watcher_cursor_cmp (the backend's cursor order)
 */
#ifndef SLIP_INTERNAL_H
#define SLIP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <slipstream.h>
#include <slipstream/sys/backend.h>

#include "util/util.h"

/* Error reporting: slip_set_error() (sys/backend.h) sets code + message. */

/* ------------------------------------------------------------- versions */

/**
 * Checks the version field of a caller's versioned struct (an options
 * struct, a store config, a backend table). Members are only ever appended,
 * so every version from 1 up to @p current is accepted, as libgit2 does; a
 * caller that reads a struct of an older version must read only the
 * members that version had. 0 (not initialised) and versions newer than
 * this library are SLIP_EINVAL with a message naming @p what and, when not
 * NULL, the @p init macro to use.
 */
int slip__version_check(unsigned version, unsigned current, const char *what,
                        const char *init);

/* --------------------------------------------------------------- cursors */

/**
 * Orders two cursors of @p w's store with its backend's cursor_cmp (the
 * sequence layout for a version-1 table without one): -1, 0, 1, or
 * SLIP_CURSOR_UNORDERED. Neither may be the none cursor.
 */
int slip__watcher_cursor_cmp(const slip_watcher *w, const slip_cursor *a,
                             const slip_cursor *b);

#endif
