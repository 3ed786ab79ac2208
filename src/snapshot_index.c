/*
 * src/snapshot_index.c — the key → size_t hash index behind snapshot
 * replay and the writer's live state (see snapshot_index.h). The table
 * stays at most half full, so probes are short and deletion can shift the
 * following run back instead of leaving tombstones.
 */
#include "snapshot_index.h"

#include <stdlib.h>
#include <string.h>

#include <slipstream/common.h>

/*
 * A small multiply-xorshift hash over 8-byte words. Keys are short (tens
 * of bytes), so this is a few multiplies per key; never returns 0, which
 * marks empty slots.
 */
static uint64_t hash_key(const uint8_t *p, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (len * 0xff51afd7ed558ccdull);
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
		h ^= h >> 29;
		p += 8;
		len -= 8;
	}
	w = 0;
	if (len > 0)
		memcpy(&w, p, len);
	h = (h ^ w) * 0xff51afd7ed558ccdull;
	h ^= h >> 32;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return h == 0 ? 1 : h;
}

static int resize(slip__index *ix, size_t cap)
{
	slip__index_slot *old = ix->slots, *slots;
	size_t old_cap = ix->cap;

	slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return SLIP_ENOMEM;
	for (size_t i = 0; i < old_cap; i++) {
		size_t j;

		if (old[i].hash == 0)
			continue;
		j = (size_t)old[i].hash & (cap - 1);
		while (slots[j].hash != 0)
			j = (j + 1) & (cap - 1);
		slots[j] = old[i];
	}
	free(old);
	ix->slots = slots;
	ix->cap = cap;
	return SLIP_OK;
}

int slip__index_init(slip__index *ix, size_t hint)
{
	size_t cap = 16;

	memset(ix, 0, sizeof(*ix));
	while (cap < hint * 2 && cap < ((size_t)1 << 40))
		cap <<= 1;
	return resize(ix, cap);
}

int slip__index_reserve(slip__index *ix, size_t n)
{
	size_t cap = ix->cap == 0 ? 16 : ix->cap;

	while ((ix->count + n + 1) * 2 > cap)
		cap <<= 1;
	if (cap == ix->cap)
		return SLIP_OK;
	return resize(ix, cap);
}

void slip__index_free(slip__index *ix)
{
	if (ix == NULL)
		return;
	free(ix->slots);
	memset(ix, 0, sizeof(*ix));
}

/* Slot holding @p key, or the empty slot where it would go. */
static size_t find(const slip__index *ix, uint64_t h, const void *key,
                   size_t key_len)
{
	size_t i = (size_t)h & (ix->cap - 1);

	while (ix->slots[i].hash != 0) {
		const slip__index_slot *s = &ix->slots[i];

		if (s->hash == h && s->key_len == key_len &&
		    memcmp(s->key, key, key_len) == 0)
			return i;
		i = (i + 1) & (ix->cap - 1);
	}
	return i;
}

bool slip__index_get(const slip__index *ix, const void *key, size_t key_len,
                     size_t *val)
{
	size_t i;

	if (ix->cap == 0)
		return false;
	i = find(ix, hash_key(key, key_len), key, key_len);
	if (ix->slots[i].hash == 0)
		return false;
	*val = ix->slots[i].val;
	return true;
}

int slip__index_put(slip__index *ix, const void *key, size_t key_len,
                    size_t val, bool *had, size_t *old)
{
	uint64_t h = hash_key(key, key_len);
	slip__index_slot *s;
	size_t i;

	if ((ix->count + 1) * 2 > ix->cap) {
		if (resize(ix, ix->cap == 0 ? 16 : ix->cap * 2) != SLIP_OK)
			return SLIP_ENOMEM;
	}
	i = find(ix, h, key, key_len);
	s = &ix->slots[i];
	if (had != NULL)
		*had = s->hash != 0;
	if (old != NULL)
		*old = s->hash != 0 ? s->val : 0;
	if (s->hash == 0)
		ix->count++;
	s->hash = h;
	s->key = key;
	s->key_len = key_len;
	s->val = val;
	return SLIP_OK;
}

bool slip__index_del(slip__index *ix, const void *key, size_t key_len,
                     size_t *old)
{
	size_t mask, i, j;

	if (ix->cap == 0)
		return false;
	mask = ix->cap - 1;
	i = find(ix, hash_key(key, key_len), key, key_len);
	if (ix->slots[i].hash == 0)
		return false;
	if (old != NULL)
		*old = ix->slots[i].val;
	/*
	 * Backward-shift: move later members of the probe run into the hole
	 * when their home slot is at or before it (cyclically).
	 */
	j = i;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (ix->slots[j].hash == 0)
			break;
		home = (size_t)ix->slots[j].hash & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			ix->slots[i] = ix->slots[j];
			i = j;
		}
	}
	ix->slots[i].hash = 0;
	ix->count--;
	return true;
}
