/*
 * src/snapshot_index.h — a hash index from key bytes to a size_t, used to
 * deduplicate keys while a snapshot is replayed and to hold the writer's
 * committed live state. Open addressing with linear probing and
 * backward-shift deletion; keys (at most 65535 bytes) and values (below
 * 2^32) are borrowed (the caller keeps them alive
 * and updates the pointer with slip__index_put when the owner changes).
 */
#ifndef SLIP_SNAPSHOT_INDEX_H
#define SLIP_SNAPSHOT_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * 16 bytes a slot, so a million keys index in 32 MiB: the key pointer
 * (NULL when empty), a 16-bit hash tag that rejects nearly every mismatch
 * without touching the key, the key length (keys are at most 65535 bytes
 * in the snapshot format) and a 32-bit value.
 */
typedef struct slip__index_slot {
	const uint8_t *key;
	uint16_t tag;
	uint16_t key_len;
	uint32_t val;
} slip__index_slot;

typedef struct slip__index {
	slip__index_slot *slots;
	size_t cap; /**< power of two, or 0 */
	size_t count;
} slip__index;

/** Empties @p ix and sizes it for @p hint keys. SLIP_OK or SLIP_ENOMEM. */
int slip__index_init(slip__index *ix, size_t hint);

/** Grows the table so @p n more keys fit without allocating. */
int slip__index_reserve(slip__index *ix, size_t n);

/** Frees the table; the keys are not the index's. */
void slip__index_free(slip__index *ix);

/** Finds @p key; true with *val set when present. */
bool slip__index_get(const slip__index *ix, const void *key, size_t key_len,
                     size_t *val);

/**
 * Sets @p key to @p val (the stored key pointer becomes @p key). *had
 * (optional) says whether it was present, *old (optional) its value.
 * @return SLIP_OK or SLIP_ENOMEM (the index is unchanged).
 */
int slip__index_put(slip__index *ix, const void *key, size_t key_len,
                    size_t val, bool *had, size_t *old);

/**
 * One probe for "find or add": when @p key is present, *val gets its value
 * and *had true; otherwise it is added with value @p fresh (*val = fresh,
 * *had false). @return SLIP_OK, SLIP_ENOMEM or SLIP_EINVAL (limits).
 */
int slip__index_upsert(slip__index *ix, const void *key, size_t key_len,
                       size_t fresh, size_t *val, bool *had);

/** Hints that @p key is about to be looked up (prefetches its slot). */
void slip__index_prefetch(const slip__index *ix, const void *key,
                          size_t key_len);

/** Removes @p key; true with *old (optional) set when it was present. */
bool slip__index_del(slip__index *ix, const void *key, size_t key_len,
                     size_t *old);

#endif
