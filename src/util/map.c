/*
 * src/util/map.c — the hash map of src/util/map.h. The table is kept at
 * most 3/4 full: linear probing then stays short while a million keys fit
 * in 2^21 eight-byte slots.
 */
#include "map.h"

#include "hugepage.h"

#include <stdlib.h>
#include <string.h>

#include <slipstream/common.h>

#define TAG_SHIFT 48

/*
 * A multiply-xorshift hash over 8-byte words. Keys are short (tens of
 * bytes), so this is a few multiplies per key.
 */
uint64_t slip__map_hash(const void *key, size_t len)
{
	const uint8_t *p = key;
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

static uint64_t tag_of(uint64_t h)
{
	return h >> TAG_SHIFT << TAG_SHIFT;
}

static uint64_t hash_of_val(const slip__map *m, uint64_t val)
{
	size_t len;
	const void *key = m->key_of(m->ctx, val, &len);

	return slip__map_hash(key, len);
}

void slip__map_init(slip__map *m, slip__map_key_fn key_of, const void *ctx)
{
	memset(m, 0, sizeof(*m));
	m->key_of = key_of;
	m->ctx = ctx;
}

void slip__map_free(slip__map *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
}

static bool fits(size_t count, size_t cap)
{
	return count <= cap / 4 * 3;
}

static int resize(slip__map *m, size_t cap)
{
	uint64_t *slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return SLIP_ENOMEM;
	slip__hint_huge(slots, cap * sizeof(*slots));
	for (size_t i = 0; i < m->cap; i++) {
		uint64_t s = m->slots[i];
		size_t j;

		if (s == 0)
			continue;
		j = (size_t)hash_of_val(m, s & SLIP__MAP_VAL_MAX) & (cap - 1);
		while (slots[j] != 0)
			j = (j + 1) & (cap - 1);
		slots[j] = s;
	}
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return SLIP_OK;
}

int slip__map_reserve(slip__map *m, size_t n)
{
	size_t cap = m->cap == 0 ? 16 : m->cap;

	if (n > SIZE_MAX / 2 - m->count)
		return SLIP_ENOMEM;
	while (!fits(m->count + n, cap)) {
		if (cap > SIZE_MAX / 2 / sizeof(uint64_t))
			return SLIP_ENOMEM;
		cap <<= 1;
	}
	return cap == m->cap ? SLIP_OK : resize(m, cap);
}

/* Slot holding @p key, or the empty slot where it would go (cap > 0). */
static size_t find(const slip__map *m, uint64_t h, const void *key, size_t len)
{
	size_t mask = m->cap - 1, i = (size_t)h & mask;
	uint64_t tag = tag_of(h), s;

	while ((s = m->slots[i]) != 0) {
		if ((s & ~SLIP__MAP_VAL_MAX) == tag) {
			size_t klen;
			const void *k =
			        m->key_of(m->ctx, s & SLIP__MAP_VAL_MAX, &klen);

			if (klen == len && memcmp(k, key, len) == 0)
				return i;
		}
		i = (i + 1) & mask;
	}
	return i;
}

uint64_t slip__map_get(const slip__map *m, const void *key, size_t len)
{
	if (m->count == 0)
		return 0;
	return slip__map_at(m, find(m, slip__map_hash(key, len), key, len));
}

/*
 * Finds @p key's slot; when the key is absent, first makes room for one
 * more key (so replacing a present key never allocates).
 */
static int probe(slip__map *m, const void *key, size_t len, uint64_t val,
                 size_t *at, uint64_t *h)
{
	if (val == 0 || val > SLIP__MAP_VAL_MAX)
		return SLIP_EINVAL;
	*h = slip__map_hash(key, len);
	if (m->cap > 0) {
		*at = find(m, *h, key, len);
		if (m->slots[*at] != 0)
			return SLIP_OK;
	}
	if (slip__map_reserve(m, 1) != SLIP_OK)
		return SLIP_ENOMEM;
	*at = find(m, *h, key, len);
	return SLIP_OK;
}

int slip__map_put(slip__map *m, const void *key, size_t len, uint64_t val,
                  uint64_t *old)
{
	uint64_t h, prev;
	size_t i;
	int rc = probe(m, key, len, val, &i, &h);

	if (rc != SLIP_OK)
		return rc;
	prev = slip__map_at(m, i);
	if (prev == 0)
		m->count++;
	m->slots[i] = tag_of(h) | val;
	if (old != NULL)
		*old = prev;
	return SLIP_OK;
}

int slip__map_upsert(slip__map *m, const void *key, size_t len, uint64_t fresh,
                     uint64_t *val)
{
	uint64_t h;
	size_t i;
	int rc = probe(m, key, len, fresh, &i, &h);

	if (rc != SLIP_OK)
		return rc;
	if (m->slots[i] == 0) {
		m->slots[i] = tag_of(h) | fresh;
		m->count++;
	}
	*val = slip__map_at(m, i);
	return SLIP_OK;
}

uint64_t slip__map_del(slip__map *m, const void *key, size_t len)
{
	size_t i;

	if (m->count == 0)
		return 0;
	i = find(m, slip__map_hash(key, len), key, len);
	return m->slots[i] == 0 ? 0 : slip__map_del_at(m, i);
}

uint64_t slip__map_del_at(slip__map *m, size_t i)
{
	size_t mask = m->cap - 1, hole = i;
	uint64_t gone = slip__map_at(m, i);

	/*
	 * Backward shift: a later member of the run moves into the hole
	 * unless its home lies cyclically in (hole, j], where lookups from
	 * its home still reach it.
	 */
	for (size_t j = (i + 1) & mask; m->slots[j] != 0; j = (j + 1) & mask) {
		size_t home = (size_t)hash_of_val(m, slip__map_at(m, j)) & mask;

		if (((j - home) & mask) < ((j - hole) & mask))
			continue;
		m->slots[hole] = m->slots[j];
		hole = j;
	}
	m->slots[hole] = 0;
	m->count--;
	return gone;
}

void slip__map_prefetch(const slip__map *m, const void *key, size_t len)
{
	if (m->cap == 0)
		return;
#if defined(__GNUC__)
	__builtin_prefetch(
	        &m->slots[(size_t)slip__map_hash(key, len) & (m->cap - 1)]);
#endif
}
