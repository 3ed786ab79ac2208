/*
 * src/applied_resync.c — the key tracker behind watch_applied's resync.
 *
 * A map (src/util/map.h) of owned keys, each with a state: STALE (the
 * caller may hold it, the current replay has not delivered it), LIVE (the
 * replay delivered a Put) or GONE (the replay delivered a Delete or Purge,
 * which the caller applied). See applied_internal.h for how the loop uses
 * it. Keys are never removed.
 */
#include <stdlib.h>
#include <string.h>

#include "applied_internal.h"
#include "util/map.h"

enum key_state { KEY_STALE = 1, KEY_LIVE = 2, KEY_GONE = 3 };

/* One tracked key; the map's value is its address. */
typedef struct tracked {
	enum key_state state;
	size_t len;
	char key[]; /* NUL-terminated */
} tracked;

struct slip__resync {
	slip__map map;
	const slip_prefix_set *scope; /* borrowed from the loop */
};

static tracked *at(const slip__resync *r, size_t i)
{
	return (tracked *)(uintptr_t)slip__map_at(&r->map, i);
}

static const void *tracked_key(const void *ctx, uint64_t val, size_t *len)
{
	const tracked *t = (const tracked *)(uintptr_t)val;

	(void)ctx;
	*len = t->len;
	return t->key;
}

static bool in_scope(const slip__resync *r, const char *key)
{
	return slip__prefix_set_match(r->scope, key);
}

static int no_memory(void)
{
	return slip_set_error(SLIP_ENOMEM, "watch_applied: resync: out of "
	                                   "memory");
}

/* Sets @p key's state, adding the key when it is new. */
static int set_state(slip__resync *r, const char *key, enum key_state st)
{
	size_t len = strlen(key);
	tracked *t = (tracked *)(uintptr_t)slip__map_get(&r->map, key, len);

	if (t == NULL) {
		t = malloc(sizeof(*t) + len + 1);
		if (t == NULL)
			return no_memory();
		t->len = len;
		memcpy(t->key, key, len + 1);
		if (slip__map_put(&r->map, key, len, (uintptr_t)t, NULL) !=
		    SLIP_OK) {
			free(t);
			return no_memory();
		}
	}
	t->state = st;
	return SLIP_OK;
}

static int seed_visit(void *payload, const slip_entry *e)
{
	slip__resync *r = payload;
	if (!in_scope(r, e->key))
		return 0;
	return set_state(r, e->key, KEY_STALE);
}

int slip__resync_new(slip__resync **out, const slip_snapshot_writer *snap,
                     const slip_prefix_set *scope)
{
	slip__resync *r;
	int rc = SLIP_OK;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return slip_set_error(SLIP_ENOMEM, "watch_applied: resync: "
		                                   "out of memory");
	slip__map_init(&r->map, tracked_key, NULL);
	r->scope = scope;
	if (snap != NULL)
		rc = slip_snapshot_writer_foreach(snap, seed_visit, r);
	if (rc != SLIP_OK) {
		slip__resync_free(r);
		return rc;
	}
	*out = r;
	return SLIP_OK;
}

void slip__resync_restart(slip__resync *r)
{
	for (size_t i = 0; i < r->map.cap; i++) {
		if (at(r, i) != NULL && at(r, i)->state == KEY_LIVE)
			at(r, i)->state = KEY_STALE;
	}
}

int slip__resync_note(slip__resync *r, const slip_entry *update)
{
	if (update->op == SLIP_OP_PUT)
		return set_state(r, update->key, KEY_LIVE);
	if (update->op == SLIP_OP_DELETE || update->op == SLIP_OP_PURGE)
		return set_state(r, update->key, KEY_GONE);
	return SLIP_OK;
}

static int cmp_entry_key(const void *a, const void *b)
{
	const slip_entry *const *x = a;
	const slip_entry *const *y = b;
	return strcmp((*x)->key, (*y)->key);
}

int slip__resync_stale(slip__resync *r, slip_entry_list *out)
{
	slip_version none = {0};
	size_t n = 0;
	int rc = SLIP_OK;

	out->count = 0;
	out->entries = NULL;
	for (size_t i = 0; i < r->map.cap; i++)
		n += at(r, i) != NULL && at(r, i)->state == KEY_STALE;
	if (n == 0)
		return SLIP_OK;
	out->entries = calloc(n, sizeof(*out->entries));
	if (out->entries == NULL)
		return slip_set_error(SLIP_ENOMEM, "watch_applied: resync: "
		                                   "out of memory");
	for (size_t i = 0; i < r->map.cap && rc == SLIP_OK; i++) {
		slip_entry *e;
		if (at(r, i) == NULL || at(r, i)->state != KEY_STALE)
			continue;
		rc = slip_entry_new(&e, at(r, i)->key, NULL, 0, &none,
		                    SLIP_OP_DELETE);
		if (rc != SLIP_OK)
			break;
		e->flags |= SLIP_ENTRY_SYNTHETIC;
		out->entries[out->count++] = e;
	}
	if (rc != SLIP_OK) {
		slip_entry_list_free(out);
		return rc;
	}
	qsort(out->entries, out->count, sizeof(*out->entries), cmp_entry_key);
	return SLIP_OK;
}

size_t slip__resync_count(const slip__resync *r)
{
	return r ? r->map.count : 0;
}

void slip__resync_free(slip__resync *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->map.cap; i++)
		free(at(r, i));
	slip__map_free(&r->map);
	free(r);
}
