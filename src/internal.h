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
 *   prefix sets     slip__prefix_set_* (src/prefixes.c: multi-prefix calls)
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

/* ----------------------------------------------------------- prefix sets */

/**
 * The union of several key prefixes, normalised: sorted, distinct, none a
 * prefix of another (so a key matches at most one member). Never empty:
 * every key is the one member "".
 */
typedef struct slip_prefix_set {
	char **items; /* owned copies */
	size_t count;
} slip_prefix_set;

/**
 * Validates and normalises either @p single (NULL = "") when @p n is 0, or
 * the @p n prefixes of @p list (then @p single must be NULL). Messages
 * name @p op. SLIP_OK (free with slip__prefix_set_free), SLIP_EINVAL,
 * SLIP_ENOMEM.
 */
int slip__prefix_set_init(slip_prefix_set *s, const char *single,
                          const char *const *list, size_t n, const char *op);

/** slip__prefixes_match() (src/util/util.h) over a set. */
bool slip__prefix_set_match(const slip_prefix_set *s, const char *key);

/** True when the set covers every key (its one member is ""). */
bool slip__prefix_set_all(const slip_prefix_set *s);

/** Frees the members; leaves the set empty. */
void slip__prefix_set_free(slip_prefix_set *s);

#endif
