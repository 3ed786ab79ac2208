/*
 * src/kvarena.h — a compact in-memory key → (value, version, write time)
 * table, the committed state of a snapshot writer and the map of a
 * replica.
 *
 * Records live in one arena, keys and values inline and each followed by
 * a NUL, so an entry view can point straight into it: a 24-byte key with
 * a 100-byte value and an 8-byte revision takes 160 bytes, plus one
 * 8-byte slot of the index (src/util/map.h, at most 3/4 full). Replaced
 * and deleted records stay in the arena as dead bytes until they are half
 * of it; then the live records are slid down over them (compaction), so
 * the arena stays within about twice the live bytes.
 *
 * Views (slip_entry structs pointing into the arena) stay valid until the
 * next change to the table. Not thread-safe: the owner locks.
 */
#ifndef SLIP_KVARENA_H
#define SLIP_KVARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <slipstream/types.h>

#include "util/map.h"

typedef struct slip__kvarena {
	uint8_t *arena;
	size_t used;   /**< bytes of records, live and dead */
	size_t cap;    /**< bytes allocated */
	size_t dead;   /**< bytes of dead records */
	slip__map map; /**< key → record offset / 8 + 1 */
} slip__kvarena;

/** An empty table (allocates nothing). */
void slip__kvarena_init(slip__kvarena *t);

/** Frees everything; @p t is left empty and usable. */
void slip__kvarena_free(slip__kvarena *t);

/** Live keys. */
static inline size_t slip__kvarena_count(const slip__kvarena *t)
{
	return t->map.count;
}

/** Arena bytes one record of these sizes takes. */
size_t slip__kvarena_rec_size(size_t key_len, size_t value_len,
                              size_t version_len);

/**
 * Makes room for @p keys new keys and @p bytes of records (the sum of
 * slip__kvarena_rec_size() over them): the puts that follow cannot fail.
 * SLIP_OK or SLIP_ENOMEM (the table is unchanged).
 */
int slip__kvarena_reserve(slip__kvarena *t, size_t keys, size_t bytes);

/**
 * Sets @p key (at most 65535 bytes) to a copy of @p value, @p version and
 * @p created_ns, and marks it (see slip__kvarena_clear_marks()). @p key and
 * @p value must not point into the table. Views are invalidated. SLIP_OK,
 * SLIP_EINVAL (sizes out of range) or SLIP_ENOMEM (the table is unchanged).
 */
int slip__kvarena_put(slip__kvarena *t, const char *key, size_t key_len,
                      const void *value, size_t value_len,
                      const slip_version *version, int64_t created_ns);

/** Removes @p key; true when it was there. Views are invalidated. */
bool slip__kvarena_del(slip__kvarena *t, const char *key, size_t key_len);

/**
 * Fills @p view (op PUT, no cursor) with @p key's record; false when
 * absent. The view's key and value point into the arena.
 */
bool slip__kvarena_get(const slip__kvarena *t, const char *key, size_t key_len,
                       slip_entry *view);

/**
 * Walks the live records in arena order: start with *@p pos = 0; each
 * call fills @p view and returns true, or returns false at the end.
 */
bool slip__kvarena_next(const slip__kvarena *t, size_t *pos, slip_entry *view);

/**
 * The live records sorted by key (strcmp order), as handles for
 * slip__kvarena_view(), valid until the next change. *out (caller frees)
 * holds slip__kvarena_count() handles. SLIP_OK or SLIP_ENOMEM.
 */
int slip__kvarena_sorted(const slip__kvarena *t, const void ***out);

/** Fills @p view from a handle of slip__kvarena_sorted(). */
void slip__kvarena_view(const void *handle, slip_entry *view);

/** Unmarks every record (a replay that re-puts keys marks them again). */
void slip__kvarena_clear_marks(slip__kvarena *t);

/** Removes every unmarked record; returns how many. */
size_t slip__kvarena_sweep_unmarked(slip__kvarena *t);

#endif
