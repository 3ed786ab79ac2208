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
 * of bytes), so this is a few multiplies per key.
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
	return h;
}

static size_t home_of(const slip__index *ix, const slip__index_slot *s)
{
	return (size_t)hash_key(s->key, s->key_len) & (ix->cap - 1);
}

static int resize(slip__index *ix, size_t cap)
{
	slip__index_slot *old = ix->slots, *slots;
	size_t old_cap = ix->cap;

	slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return SLIP_ENOMEM;
	ix->slots = slots;
	ix->cap = cap;
	for (size_t i = 0; i < old_cap; i++) {
		size_t j;

		if (old[i].key == NULL)
			continue;
		j = home_of(ix, &old[i]);
		while (slots[j].key != NULL)
			j = (j + 1) & (cap - 1);
		slots[j] = old[i];
	}
	free(old);
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

static uint16_t tag_of(uint64_t h)
{
	return (uint16_t)(h >> 48);
}

/* Slot holding @p key, or the empty slot where it would go. */
static size_t find(const slip__index *ix, uint64_t h, const void *key,
                   size_t key_len)
{
	size_t i = (size_t)h & (ix->cap - 1);
	uint16_t tag = tag_of(h);

	while (ix->slots[i].key != NULL) {
		const slip__index_slot *s = &ix->slots[i];

		if (s->tag == tag && s->key_len == key_len &&
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

	if (ix->cap == 0 || key_len > UINT16_MAX)
		return false;
	i = find(ix, hash_key(key, key_len), key, key_len);
	if (ix->slots[i].key == NULL)
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

	if (key_len > UINT16_MAX || val > UINT32_MAX || key == NULL)
		return SLIP_EINVAL;
	if ((ix->count + 1) * 2 > ix->cap) {
		if (resize(ix, ix->cap == 0 ? 16 : ix->cap * 2) != SLIP_OK)
			return SLIP_ENOMEM;
	}
	i = find(ix, h, key, key_len);
	s = &ix->slots[i];
	if (had != NULL)
		*had = s->key != NULL;
	if (old != NULL)
		*old = s->key != NULL ? s->val : 0;
	if (s->key == NULL)
		ix->count++;
	s->key = key;
	s->tag = tag_of(h);
	s->key_len = (uint16_t)key_len;
	s->val = (uint32_t)val;
	return SLIP_OK;
}

int slip__index_upsert(slip__index *ix, const void *key, size_t key_len,
                       size_t fresh, size_t *val, bool *had)
{
	uint64_t h = hash_key(key, key_len);
	slip__index_slot *s;

	if (key_len > UINT16_MAX || fresh > UINT32_MAX || key == NULL)
		return SLIP_EINVAL;
	if ((ix->count + 1) * 2 > ix->cap) {
		if (resize(ix, ix->cap == 0 ? 16 : ix->cap * 2) != SLIP_OK)
			return SLIP_ENOMEM;
	}
	s = &ix->slots[find(ix, h, key, key_len)];
	*had = s->key != NULL;
	if (!*had) {
		s->key = key;
		s->tag = tag_of(h);
		s->key_len = (uint16_t)key_len;
		s->val = (uint32_t)fresh;
		ix->count++;
	}
	*val = s->val;
	return SLIP_OK;
}

void slip__index_prefetch(const slip__index *ix, const void *key,
                          size_t key_len)
{
	if (ix->cap == 0)
		return;
#if defined(__GNUC__)
	__builtin_prefetch(
	        &ix->slots[(size_t)hash_key(key, key_len) & (ix->cap - 1)]);
#endif
}

bool slip__index_del(slip__index *ix, const void *key, size_t key_len,
                     size_t *old)
{
	size_t mask, i, j;

	if (ix->cap == 0 || key_len > UINT16_MAX)
		return false;
	mask = ix->cap - 1;
	i = find(ix, hash_key(key, key_len), key, key_len);
	if (ix->slots[i].key == NULL)
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
		if (ix->slots[j].key == NULL)
			break;
		home = home_of(ix, &ix->slots[j]);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			ix->slots[i] = ix->slots[j];
			i = j;
		}
	}
	ix->slots[i].key = NULL;
	ix->count--;
	return true;
}
