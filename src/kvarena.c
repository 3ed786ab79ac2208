/*
 * src/kvarena.c — the compact key → value table of src/kvarena.h: record
 * layout, arena growth and compaction, and the views.
 */
#include "kvarena.h"

#include <stdlib.h>
#include <string.h>

#include "util/grow.h"
#include "util/hugepage.h"

/* Dead bytes tolerated before compaction is considered at all. */
#define COMPACT_MIN_DEAD (64u * 1024u)

enum { REC_DEAD = 1, REC_MARK = 2 };

/* A record's fixed part; version, key + NUL, value + NUL follow. */
typedef struct rec {
	uint32_t value_len;
	uint16_t key_len;
	uint8_t version_len;
	uint8_t flags;
	int64_t created_ns;
	uint8_t data[];
} rec;

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

size_t slip__kvarena_rec_size(size_t key_len, size_t value_len,
                              size_t version_len)
{
	return align8(sizeof(rec) + version_len + key_len + 1 + value_len + 1);
}

static size_t rec_size(const rec *r)
{
	return slip__kvarena_rec_size(r->key_len, r->value_len, r->version_len);
}

static rec *rec_at(const slip__kvarena *t, size_t off)
{
	return (rec *)(void *)(t->arena + off);
}

static const char *rec_key(const rec *r)
{
	return (const char *)r->data + r->version_len;
}

/* The index holds offset / 8 + 1 (records are 8-byte aligned). */
static rec *rec_of(const slip__kvarena *t, uint64_t val)
{
	return rec_at(t, (size_t)(val - 1) * 8);
}

static const void *key_of(const void *ctx, uint64_t val, size_t *len)
{
	const rec *r = rec_of(ctx, val);

	*len = r->key_len;
	return rec_key(r);
}

void slip__kvarena_init(slip__kvarena *t)
{
	memset(t, 0, sizeof(*t));
	slip__map_init(&t->map, key_of, t);
}

void slip__kvarena_free(slip__kvarena *t)
{
	free(t->arena);
	slip__map_free(&t->map);
	slip__kvarena_init(t);
}

int slip__kvarena_reserve(slip__kvarena *t, size_t keys, size_t bytes)
{
	size_t cap = t->cap;

	if (bytes > SIZE_MAX - t->used ||
	    slip__grow(&t->arena, &t->cap, t->used + bytes, 1) != SLIP_OK)
		return SLIP_ENOMEM;
	if (t->cap != cap)
		slip__hint_huge(t->arena + t->used, t->cap - t->used);
	return slip__map_reserve(&t->map, keys);
}

static void fill_view(const rec *r, slip_entry *view)
{
	memset(view, 0, sizeof(*view));
	view->key = rec_key(r);
	view->value = (const uint8_t *)view->key + r->key_len + 1;
	view->value_len = r->value_len;
	view->version.len = r->version_len;
	memcpy(view->version.bytes, r->data, r->version_len);
	view->op = SLIP_OP_PUT;
	view->cursor = slip_cursor_none();
	view->created_ns = r->created_ns;
}

/*
 * Slides the live records down over the dead ones. Each record's index
 * value is updated before it moves, while its key is still readable at
 * the old offset; records not yet moved are never overwritten (the write
 * position trails the read position), so every index value stays
 * readable throughout. Replacing a present key does not allocate.
 */
static void compact(slip__kvarena *t)
{
	size_t from = 0, to = 0;

	while (from < t->used) {
		rec *r = rec_at(t, from);
		size_t n = rec_size(r);

		if ((r->flags & REC_DEAD) == 0) {
			if (to != from) {
				(void)slip__map_put(&t->map, rec_key(r),
				                    r->key_len, to / 8 + 1,
				                    NULL);
				memmove(t->arena + to, r, n);
			}
			to += n;
		}
		from += n;
	}
	t->used = to;
	t->dead = 0;
}

static void kill(slip__kvarena *t, uint64_t val)
{
	rec *r = rec_of(t, val);

	r->flags |= REC_DEAD;
	t->dead += rec_size(r);
}

static void maybe_compact(slip__kvarena *t)
{
	if (t->dead >= COMPACT_MIN_DEAD && t->dead * 2 >= t->used)
		compact(t);
}

int slip__kvarena_put(slip__kvarena *t, const char *key, size_t key_len,
                      const void *value, size_t value_len,
                      const slip_version *version, int64_t created_ns)
{
	size_t n = slip__kvarena_rec_size(key_len, value_len, version->len);
	size_t off = t->used;
	uint64_t old = 0;
	rec *r;

	if (key_len > UINT16_MAX || value_len > UINT32_MAX ||
	    version->len > SLIP_VERSION_MAX || off / 8 + 1 > SLIP__MAP_VAL_MAX)
		return SLIP_EINVAL;
	if (slip__kvarena_reserve(t, 1, n) != SLIP_OK)
		return SLIP_ENOMEM;
	r = rec_at(t, off);
	r->value_len = (uint32_t)value_len;
	r->key_len = (uint16_t)key_len;
	r->version_len = version->len;
	r->flags = REC_MARK;
	r->created_ns = created_ns;
	memcpy(r->data, version->bytes, version->len);
	memcpy(r->data + version->len, key, key_len);
	r->data[version->len + key_len] = '\0';
	if (value_len > 0)
		memcpy(r->data + version->len + key_len + 1, value, value_len);
	r->data[version->len + key_len + 1 + value_len] = '\0';
	/* Cannot fail: reserve made room and the value is in range. */
	(void)slip__map_put(&t->map, key, key_len, off / 8 + 1, &old);
	t->used += n;
	if (old != 0) {
		kill(t, old);
		maybe_compact(t);
	}
	return SLIP_OK;
}

bool slip__kvarena_del(slip__kvarena *t, const char *key, size_t key_len)
{
	uint64_t old = slip__map_del(&t->map, key, key_len);

	if (old == 0)
		return false;
	kill(t, old);
	maybe_compact(t);
	return true;
}

bool slip__kvarena_get(const slip__kvarena *t, const char *key, size_t key_len,
                       slip_entry *view)
{
	uint64_t val = slip__map_get(&t->map, key, key_len);

	if (val == 0)
		return false;
	fill_view(rec_of(t, val), view);
	return true;
}

bool slip__kvarena_next(const slip__kvarena *t, size_t *pos, slip_entry *view)
{
	while (*pos < t->used) {
		const rec *r = rec_at(t, *pos);

		*pos += rec_size(r);
		if ((r->flags & REC_DEAD) == 0) {
			fill_view(r, view);
			return true;
		}
	}
	return false;
}

static int cmp_rec(const void *a, const void *b)
{
	const rec *x = *(const rec *const *)a;
	const rec *y = *(const rec *const *)b;

	return strcmp(rec_key(x), rec_key(y));
}

int slip__kvarena_sorted(const slip__kvarena *t, const void ***out)
{
	size_t n = 0;
	const void **v = malloc((slip__kvarena_count(t) + 1) * sizeof(*v));

	*out = v;
	if (v == NULL)
		return SLIP_ENOMEM;
	for (size_t pos = 0; pos < t->used;) {
		const rec *r = rec_at(t, pos);

		pos += rec_size(r);
		if ((r->flags & REC_DEAD) == 0)
			v[n++] = r;
	}
	qsort(v, n, sizeof(*v), cmp_rec);
	return SLIP_OK;
}

void slip__kvarena_view(const void *handle, slip_entry *view)
{
	fill_view(handle, view);
}

void slip__kvarena_clear_marks(slip__kvarena *t)
{
	for (size_t pos = 0; pos < t->used;) {
		rec *r = rec_at(t, pos);

		r->flags &= (uint8_t)~REC_MARK;
		pos += rec_size(r);
	}
}

size_t slip__kvarena_sweep_unmarked(slip__kvarena *t)
{
	size_t gone = 0;

	for (size_t pos = 0; pos < t->used;) {
		rec *r = rec_at(t, pos);

		pos += rec_size(r);
		if ((r->flags & (REC_DEAD | REC_MARK)) != 0)
			continue;
		(void)slip__map_del(&t->map, rec_key(r), r->key_len);
		r->flags |= REC_DEAD;
		t->dead += rec_size(r);
		gone++;
	}
	maybe_compact(t);
	return gone;
}
