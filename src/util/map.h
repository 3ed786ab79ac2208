/*
 * src/util/map.h — the library's one hash map: key bytes → a 48-bit value,
 * open addressing with linear probing, at most 3/4 full, backward-shift
 * deletion (no tombstones).
 *
 * The map stores no keys. Each slot is one 64-bit word: a 16-bit hash tag
 * and the value (an index, an arena offset or a pointer, never 0). The
 * owner says where a value's key lives through the key_of callback; the
 * tag rejects nearly every mismatch without calling it. A million keys
 * cost 16 MiB of slots.
 *
 * This header sits in src/util/ so both the core and the built-in backends
 * may include it: it depends on nothing but the C library and the public
 * error codes (<slipstream/common.h>).
 */
#ifndef SLIP_UTIL_MAP_H
#define SLIP_UTIL_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest value a map holds (user-space pointers and offsets fit). */
#define SLIP__MAP_VAL_MAX ((UINT64_C(1) << 48) - 1)

/*
 * Returns the key bytes of value @p val (which the map holds) and sets
 * *len. The bytes must stay put while @p val is in the map.
 */
typedef const void *(*slip__map_key_fn)(const void *ctx, uint64_t val,
                                        size_t *len);

typedef struct slip__map {
	uint64_t *slots; /**< 0 empty, else tag << 48 | value */
	size_t cap;      /**< power of two, or 0 */
	size_t count;
	slip__map_key_fn key_of;
	const void *ctx; /**< passed to key_of */
} slip__map;

/** An empty map (allocates nothing). */
void slip__map_init(slip__map *m, slip__map_key_fn key_of, const void *ctx);

/** Frees the slots; the values are the owner's. @p m stays usable, empty. */
void slip__map_free(slip__map *m);

/**
 * Grows the table so @p n more keys fit without allocating: a put or
 * upsert of up to @p n new keys after it cannot fail. SLIP_OK or
 * SLIP_ENOMEM (the map is unchanged).
 */
int slip__map_reserve(slip__map *m, size_t n);

/** The value stored for @p key, or 0. */
uint64_t slip__map_get(const slip__map *m, const void *key, size_t len);

/**
 * Sets @p key to @p val (1..SLIP__MAP_VAL_MAX); replacing a present key
 * never allocates. *old (optional) gets the
 * value it replaces, or 0. @return SLIP_OK, SLIP_EINVAL (value out of
 * range) or SLIP_ENOMEM (the map is unchanged).
 */
int slip__map_put(slip__map *m, const void *key, size_t len, uint64_t val,
                  uint64_t *old);

/**
 * One probe for "find or add": *val gets the value held for @p key, or
 * @p fresh, which is then stored. @return as slip__map_put().
 */
int slip__map_upsert(slip__map *m, const void *key, size_t len, uint64_t fresh,
                     uint64_t *val);

/** Removes @p key; returns the value it held, or 0. */
uint64_t slip__map_del(slip__map *m, const void *key, size_t len);

/**
 * Empties slot @p i (which holds a value) and returns that value. Later
 * members of the probe run may move into slot @p i, so a loop deleting
 * while it walks the slots examines slot @p i again.
 */
uint64_t slip__map_del_at(slip__map *m, size_t i);

/** The value in slot @p i (< cap), or 0 when the slot is empty. */
static inline uint64_t slip__map_at(const slip__map *m, size_t i)
{
	return m->slots[i] & SLIP__MAP_VAL_MAX;
}

/** Hints that @p key is about to be looked up (prefetches its slot). */
void slip__map_prefetch(const slip__map *m, const void *key, size_t len);

/** The map's hash of @p len bytes at @p key. */
uint64_t slip__map_hash(const void *key, size_t len);

#endif
