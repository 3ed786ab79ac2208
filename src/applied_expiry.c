/*
 * src/applied_expiry.c — the silent-removal check behind watch_applied.
 *
 * A server's limits (max_age, max_msgs, max_bytes with discard-old, and
 * per-key TTL on buckets without limit markers) remove messages without
 * writing anything a watch could deliver. A key whose latest revision lies
 * below the stream's first sequence can no longer exist on the server. The
 * tracker holds the latest applied revision of every in-scope key the
 * caller holds (seeded from the snapshot's committed keys, then kept by
 * every applied update) and, when asked, lists such keys as synthetic
 * Deletes. Each candidate is confirmed with one read of the key first: a
 * key the server still holds (rewritten while the check ran, its newer
 * revision still on its way through the watch) is never dropped. See
 * docs/applied.md, "Silent removals".
 */
#include <stdlib.h>
#include <string.h>

#include "applied_internal.h"
#include "conn_internal.h"
#include "util/map.h"

/* One tracked key; the map's value is its address. */
typedef struct held {
	uint64_t rev;
	size_t len;
	char key[]; /* NUL-terminated */
} held;

struct slip__expiry {
	slip__map map;
	const char *prefix; /* borrowed from the options; NULL = all keys */
	size_t prefix_len;
};

static held *held_at(const slip__expiry *x, size_t i)
{
	return (held *)(uintptr_t)slip__map_at(&x->map, i);
}

static const void *held_key(const void *ctx, uint64_t val, size_t *len)
{
	const held *h = (const held *)(uintptr_t)val;

	(void)ctx;
	*len = h->len;
	return h->key;
}

static int no_memory(void)
{
	return slip_set_error(SLIP_ENOMEM, "watch_applied: expiry check: "
	                                   "out of memory");
}

/* Sets @p key's revision, adding the key when it is new. */
static int set_rev(slip__expiry *x, const char *key, uint64_t rev)
{
	size_t len = strlen(key);
	held *h = (held *)(uintptr_t)slip__map_get(&x->map, key, len);

	if (h == NULL) {
		h = malloc(sizeof(*h) + len + 1);
		if (h == NULL)
			return no_memory();
		h->len = len;
		memcpy(h->key, key, len + 1);
		if (slip__map_put(&x->map, key, len, (uintptr_t)h, NULL) !=
		    SLIP_OK) {
			free(h);
			return no_memory();
		}
	}
	h->rev = rev;
	return SLIP_OK;
}

static void forget(slip__expiry *x, const char *key)
{
	free((held *)(uintptr_t)slip__map_del(&x->map, key, strlen(key)));
}

static bool in_scope(const slip__expiry *x, const char *key)
{
	return x->prefix_len == 0 ||
	       strncmp(key, x->prefix, x->prefix_len) == 0;
}

int slip__expiry_note(slip__expiry *x, const slip_entry *update)
{
	uint64_t rev = 0;

	if (!in_scope(x, update->key))
		return SLIP_OK;
	if (update->op == SLIP_OP_DELETE || update->op == SLIP_OP_PURGE) {
		forget(x, update->key);
		return SLIP_OK;
	}
	if (update->op != SLIP_OP_PUT ||
	    slip_version_to_u64(&update->version, &rev) != SLIP_OK)
		return SLIP_OK; /* not an 8-byte revision: nothing to compare */
	return set_rev(x, update->key, rev);
}

static int seed_visit(void *payload, const slip_entry *e)
{
	return slip__expiry_note(payload, e);
}

int slip__expiry_new(slip__expiry **out, const slip_snapshot_writer *snap,
                     const char *prefix)
{
	slip__expiry *x = calloc(1, sizeof(*x));
	int rc = SLIP_OK;

	*out = NULL;
	if (x == NULL)
		return no_memory();
	slip__map_init(&x->map, held_key, NULL);
	x->prefix = prefix;
	x->prefix_len = prefix != NULL ? strlen(prefix) : 0;
	if (snap != NULL)
		rc = slip_snapshot_writer_foreach(snap, seed_visit, x);
	if (rc != SLIP_OK) {
		slip__expiry_free(x);
		return rc;
	}
	*out = x;
	return SLIP_OK;
}

/*
 * True when the server holds no message at all for @p h's key. Any entry
 * it holds (a newer value, a tombstone, a limit marker) is newer than what
 * the caller has and reaches it through the watch. A read error keeps the
 * key; the next check asks again.
 */
static bool server_lost(slip_store *store, const held *h)
{
	slip_entry *e = NULL;
	int rc = store->conn->be->entry(store->impl, h->key, &e);

	slip_entry_free(e);
	return rc == SLIP_OK && e == NULL;
}

static int add_delete(slip_entry_list *out, size_t *cap, const char *key)
{
	slip_version none = {0};
	slip_entry *e;

	if (out->count == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		slip_entry **v = realloc(out->entries, nc * sizeof(*v));
		if (v == NULL)
			return no_memory();
		out->entries = v;
		*cap = nc;
	}
	if (slip_entry_new(&e, key, NULL, 0, &none, SLIP_OP_DELETE) != SLIP_OK)
		return no_memory();
	e->flags |= SLIP_ENTRY_SYNTHETIC;
	out->entries[out->count++] = e;
	return SLIP_OK;
}

int slip__expiry_check(slip__expiry *x, const slip_watcher *w,
                       slip_entry_list *out)
{
	slip_store *store = w->store;
	slip_store_info info;
	size_t cap = 0;
	int rc;

	out->count = 0;
	out->entries = NULL;
	if (x->map.count == 0 || store->conn->be->store_info == NULL)
		return SLIP_OK;
	rc = store->conn->be->store_info(store->impl, &info);
	if (rc != SLIP_OK)
		return rc;
	for (size_t i = 0; i < x->map.cap && rc == SLIP_OK; i++) {
		const held *h = held_at(x, i);
		if (h == NULL || h->rev >= info.first_seq)
			continue;
		if (server_lost(store, h))
			rc = add_delete(out, &cap, h->key);
	}
	if (rc != SLIP_OK)
		slip_entry_list_free(out);
	return rc;
}

size_t slip__expiry_count(const slip__expiry *x)
{
	return x != NULL ? x->map.count : 0;
}

void slip__expiry_free(slip__expiry *x)
{
	if (x == NULL)
		return;
	for (size_t i = 0; i < x->map.cap; i++)
		free(held_at(x, i));
	slip__map_free(&x->map);
	free(x);
}
