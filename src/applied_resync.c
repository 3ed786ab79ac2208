/*
 * src/applied_resync.c — the key tracker behind watch_applied's resync.
 *
 * An open-addressing hash table of owned key strings, each with a state:
 * STALE (the caller may hold it, the current replay has not delivered it),
 * LIVE (the replay delivered a Put) or GONE (the replay delivered a Delete or
 * Purge, which the caller applied). See applied_internal.h for how the loop
 * uses it. Keys are never removed, so there are no tombstone slots.
 */
#include <stdlib.h>
#include <string.h>

#include "applied_internal.h"

enum key_state { KEY_STALE = 1, KEY_LIVE = 2, KEY_GONE = 3 };

typedef struct slot {
	char *key; /* NULL: empty slot */
	uint64_t hash;
	enum key_state state;
} slot;

struct slip__resync {
	slot *slots;
	size_t cap; /* power of two */
	size_t count;
	const char *prefix; /* borrowed from the options; NULL = all keys */
	size_t prefix_len;
};

static bool in_scope(const slip__resync *r, const char *key)
{
	return r->prefix_len == 0 ||
	       strncmp(key, r->prefix, r->prefix_len) == 0;
}

static slot *find_slot(slot *slots, size_t cap, const char *key, uint64_t h)
{
	size_t i = (size_t)h & (cap - 1);
	while (slots[i].key != NULL &&
	       (slots[i].hash != h || strcmp(slots[i].key, key) != 0))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int grow(slip__resync *r)
{
	size_t cap = r->cap ? r->cap * 2 : 64;
	slot *slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return slip_set_error(SLIP_ENOMEM, "watch_applied: resync: "
		                                   "out of memory");
	for (size_t i = 0; i < r->cap; i++) {
		if (r->slots[i].key != NULL)
			*find_slot(slots, cap, r->slots[i].key,
			           r->slots[i].hash) = r->slots[i];
	}
	free(r->slots);
	r->slots = slots;
	r->cap = cap;
	return SLIP_OK;
}

/* Sets @p key's state, adding the key when it is new. */
static int set_state(slip__resync *r, const char *key, enum key_state st)
{
	uint64_t h = slip__hash_key(key, strlen(key));
	slot *s;

	if ((r->count + 1) * 2 > r->cap && grow(r) != SLIP_OK)
		return SLIP_ENOMEM;
	s = find_slot(r->slots, r->cap, key, h);
	if (s->key == NULL) {
		size_t len = strlen(key);
		s->key = malloc(len + 1);
		if (s->key == NULL)
			return slip_set_error(SLIP_ENOMEM,
			                      "watch_applied: resync: out of "
			                      "memory");
		memcpy(s->key, key, len + 1);
		s->hash = h;
		r->count++;
	}
	s->state = st;
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
                     const char *prefix)
{
	slip__resync *r;
	int rc = SLIP_OK;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return slip_set_error(SLIP_ENOMEM, "watch_applied: resync: "
		                                   "out of memory");
	r->prefix = prefix;
	r->prefix_len = prefix ? strlen(prefix) : 0;
	rc = grow(r);
	if (rc == SLIP_OK && snap != NULL)
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
	for (size_t i = 0; i < r->cap; i++) {
		if (r->slots[i].key != NULL && r->slots[i].state == KEY_LIVE)
			r->slots[i].state = KEY_STALE;
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
	for (size_t i = 0; i < r->cap; i++)
		n += r->slots[i].key != NULL && r->slots[i].state == KEY_STALE;
	if (n == 0)
		return SLIP_OK;
	out->entries = calloc(n, sizeof(*out->entries));
	if (out->entries == NULL)
		return slip_set_error(SLIP_ENOMEM, "watch_applied: resync: "
		                                   "out of memory");
	for (size_t i = 0; i < r->cap && rc == SLIP_OK; i++) {
		slip_entry *e;
		if (r->slots[i].key == NULL || r->slots[i].state != KEY_STALE)
			continue;
		rc = slip_entry_new(&e, r->slots[i].key, NULL, 0, &none,
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
	return r ? r->count : 0;
}

void slip__resync_free(slip__resync *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->cap; i++)
		free(r->slots[i].key);
	free(r->slots);
	free(r);
}
