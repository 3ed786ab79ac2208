/*
 * src/dispatch.c — the reader, writer and watcher calls of conn.h.
 *
 * Each call validates every argument (handle, key or prefix, value, version,
 * options) and the connection state before the backend sees it, so backends
 * only ever receive well-formed input. keys and scan build their lists here
 * on top of the backend's one-pass callbacks; slip_watch() always closes the
 * sending side of the channel before it returns.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "quote.h"
#include "util/grow.h"

/* ================================================================= reader */

/*
 * Common checks of a keyed call: handle, key, connection. Returns the
 * store through @p out.
 */
static int keyed(slip_store *s, const char *op, const char *key)
{
	if (s == NULL)
		return slip_set_error(SLIP_EINVAL, "%s: NULL handle", op);
	if (slip_key_validate(key) != SLIP_OK)
		return slip__with_op(SLIP_EINVAL, op);
	return slip__conn_check(s->conn, op, key);
}

static int read_one(slip_reader *r, const char *op, const char *key,
                    slip_entry **out, bool tombstones)
{
	slip_store *s = r == NULL ? NULL : r->store;
	int rc;

	if (out == NULL)
		return slip_set_error(SLIP_EINVAL, "%s: NULL out", op);
	*out = NULL;
	rc = keyed(s, op, key);
	if (rc != SLIP_OK)
		return rc;
	if (tombstones)
		return s->conn->be->entry(s->impl, key, out);
	return s->conn->be->get(s->impl, key, out);
}

SLIP_EXTERN int slip_reader_get(slip_reader *r, const char *key,
                                slip_entry **out)
{
	return read_one(r, "get", key, out, false);
}

SLIP_EXTERN int slip_reader_entry(slip_reader *r, const char *key,
                                  slip_entry **out)
{
	return read_one(r, "entry", key, out, true);
}

/* Common checks of a prefixed call; NULL prefix becomes "". */
static int prefixed(slip_reader *r, const char *op, const char **prefix)
{
	if (r == NULL)
		return slip_set_error(SLIP_EINVAL, "%s: NULL reader", op);
	if (*prefix == NULL)
		*prefix = "";
	if (slip_prefix_validate(*prefix) != SLIP_OK)
		return slip__with_op(SLIP_EINVAL, op);
	return slip__conn_check(r->store->conn, op, r->store->name);
}

/*
 * What slip_reader_keys() and slip_reader_scan() gather: key strings or
 * entries, one per callback from the backend's keys or scan.
 */
struct collect {
	bool keys;
	void **items;
	size_t count, cap;
};

static void collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->count; i++) {
		if (c->keys)
			free(c->items[i]);
		else
			slip_entry_free(c->items[i]);
	}
	free(c->items);
}

static int collect_one(void *payload, slip_entry *e)
{
	struct collect *c = payload;
	void *item = e;
	size_t len;

	if (slip__grow(&c->items, &c->cap, c->count + 1, sizeof(*c->items)) !=
	    SLIP_OK) {
		item = NULL;
	} else if (c->keys) {
		len = strlen(e->key) + 1;
		item = malloc(len);
		if (item != NULL)
			memcpy(item, e->key, len);
		slip_entry_free(e);
	}
	if (item == NULL) {
		if (!c->keys)
			slip_entry_free(e);
		return slip_set_error(SLIP_ENOMEM,
		                      "%s: out of memory listing %zu entries",
		                      c->keys ? "keys" : "scan", c->count);
	}
	c->items[c->count++] = item;
	return SLIP_OK;
}

/* Gathers the keys (or entries) under @p prefix into @p c. */
static int collect_all(slip_reader *r, const char *prefix, struct collect *c)
{
	const char *op = c->keys ? "keys" : "scan";
	const slip_backend *be;
	int rc = prefixed(r, op, &prefix);

	if (rc != SLIP_OK)
		return rc;
	be = r->store->conn->be;
	rc = (c->keys ? be->keys : be->scan)(r->store->impl, prefix,
	                                     collect_one, c);
	if (rc != SLIP_OK) {
		collect_free(c);
		c->items = NULL;
		c->count = 0;
	}
	return rc;
}

SLIP_EXTERN int slip_reader_keys(slip_reader *r, const char *prefix,
                                 slip_key_list *out)
{
	struct collect c = {true, NULL, 0, 0};
	int rc;

	if (out == NULL)
		return slip_set_error(SLIP_EINVAL, "keys: NULL out");
	rc = collect_all(r, prefix, &c);
	out->count = c.count;
	out->keys = (char **)c.items;
	return rc;
}

SLIP_EXTERN int slip_reader_scan(slip_reader *r, const char *prefix,
                                 slip_entry_list *out)
{
	struct collect c = {false, NULL, 0, 0};
	int rc;

	if (out == NULL)
		return slip_set_error(SLIP_EINVAL, "scan: NULL out");
	rc = collect_all(r, prefix, &c);
	out->count = c.count;
	out->entries = (slip_entry **)c.items;
	return rc;
}

SLIP_EXTERN int slip_reader_scan_each(slip_reader *r, const char *prefix,
                                      bool keys_only, slip_entry_cb cb,
                                      void *payload)
{
	const slip_backend *be;
	int rc;

	if (cb == NULL)
		return slip_set_error(SLIP_EINVAL, "scan: NULL callback");
	rc = prefixed(r, "scan", &prefix);
	if (rc != SLIP_OK)
		return rc;
	be = r->store->conn->be;
	if (keys_only)
		return be->keys(r->store->impl, prefix, cb, payload);
	return be->scan(r->store->impl, prefix, cb, payload);
}

/* The backend call of a multi-prefix scan once @p set is normalised. */
static int scan_set(slip_reader *r, const slip_prefix_set *set, bool keys_only,
                    slip_entry_cb cb, void *payload)
{
	const slip_backend *be = r->store->conn->be;
	void *impl = r->store->impl;

	if (set->count == 1)
		return keys_only ? be->keys(impl, set->items[0], cb, payload)
		                 : be->scan(impl, set->items[0], cb, payload);
	if (be->scan_prefixes == NULL)
		return slip_set_error(
		        SLIP_EUNSUPPORTED,
		        "scan: the %s backend cannot scan several "
		        "prefixes at once",
		        be->name);
	return be->scan_prefixes(impl, (const char *const *)set->items,
	                         set->count, keys_only, cb, payload);
}

SLIP_EXTERN int slip_reader_scan_each_prefixes(slip_reader *r,
                                               const char *const *prefixes,
                                               size_t count, bool keys_only,
                                               slip_entry_cb cb, void *payload)
{
	slip_prefix_set set;
	const char *none = "";
	int rc;

	if (cb == NULL)
		return slip_set_error(SLIP_EINVAL, "scan: NULL callback");
	rc = prefixed(r, "scan", &none);
	if (rc != SLIP_OK)
		return rc;
	if (count == 0)
		return slip_set_error(SLIP_EINVAL, "scan: no prefixes");
	rc = slip__prefix_set_init(&set, NULL, prefixes, count, "scan");
	if (rc != SLIP_OK)
		return rc;
	rc = scan_set(r, &set, keys_only, cb, payload);
	slip__prefix_set_free(&set);
	return rc;
}

/* ================================================================= writer */

static int check_value(const char *op, const char *key, const void *value,
                       size_t len)
{
	char q[SLIP_QUOTE_BUF];

	if (value == NULL && len > 0)
		return slip_set_error(SLIP_EINVAL,
		                      "%s \"%s\": NULL value with length %zu",
		                      op, slip__quote(q, key), len);
	return SLIP_OK;
}

static int check_expected(const char *op, const char *key,
                          const slip_version *v)
{
	char q[SLIP_QUOTE_BUF];

	if (v == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "%s \"%s\": NULL expected version", op,
		                      slip__quote(q, key));
	if (v->len < 1 || v->len > SLIP_VERSION_MAX)
		return slip_set_error(SLIP_EINVAL,
		                      "%s \"%s\": expected version of %u bytes "
		                      "(must be 1..%d)",
		                      op, slip__quote(q, key), (unsigned)v->len,
		                      SLIP_VERSION_MAX);
	return SLIP_OK;
}

/* Handle, key and value checks shared by every write. */
static int writable(slip_writer *w, const char *op, const char *key,
                    const void *value, size_t len)
{
	if (w == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "%s: NULL writer (read-only store?)", op);
	if (slip_key_validate(key) != SLIP_OK)
		return slip__with_op(SLIP_EINVAL, op);
	if (check_value(op, key, value, len) != SLIP_OK)
		return SLIP_EINVAL;
	return SLIP_OK;
}

SLIP_EXTERN int slip_writer_put(slip_writer *w, const char *key,
                                const void *value, size_t len,
                                slip_version *out_version)
{
	int rc = writable(w, "put", key, value, len);

	if (rc == SLIP_OK)
		rc = slip__conn_check(w->store->conn, "put", key);
	if (rc != SLIP_OK)
		return rc;
	return w->store->conn->be->put(w->store->impl, key, value, len,
	                               out_version);
}

SLIP_EXTERN int slip_writer_create(slip_writer *w, const char *key,
                                   const void *value, size_t len,
                                   slip_version *out_version)
{
	int rc = writable(w, "create", key, value, len);

	if (rc == SLIP_OK)
		rc = slip__conn_check(w->store->conn, "create", key);
	if (rc != SLIP_OK)
		return rc;
	return w->store->conn->be->create(w->store->impl, key, value, len,
	                                  out_version);
}

SLIP_EXTERN int slip_writer_update(slip_writer *w, const char *key,
                                   const void *value, size_t len,
                                   const slip_version *expected,
                                   slip_version *out_version)
{
	int rc = writable(w, "update", key, value, len);

	if (rc == SLIP_OK)
		rc = check_expected("update", key, expected);
	if (rc == SLIP_OK)
		rc = slip__conn_check(w->store->conn, "update", key);
	if (rc != SLIP_OK)
		return rc;
	return w->store->conn->be->update(w->store->impl, key, value, len,
	                                  expected, out_version);
}

SLIP_EXTERN int slip_writer_delete(slip_writer *w, const char *key)
{
	int rc = writable(w, "delete", key, NULL, 0);

	if (rc == SLIP_OK)
		rc = slip__conn_check(w->store->conn, "delete", key);
	if (rc != SLIP_OK)
		return rc;
	return w->store->conn->be->del(w->store->impl, key);
}

SLIP_EXTERN int slip_writer_delete_version(slip_writer *w, const char *key,
                                           const slip_version *expected)
{
	int rc = writable(w, "delete_version", key, NULL, 0);

	if (rc == SLIP_OK)
		rc = check_expected("delete_version", key, expected);
	if (rc == SLIP_OK)
		rc = slip__conn_check(w->store->conn, "delete_version", key);
	if (rc != SLIP_OK)
		return rc;
	return w->store->conn->be->delete_version(w->store->impl, key,
	                                          expected);
}

SLIP_EXTERN int slip_writer_purge(slip_writer *w, const char *key)
{
	int rc = writable(w, "purge", key, NULL, 0);

	if (rc == SLIP_OK)
		rc = slip__conn_check(w->store->conn, "purge", key);
	if (rc != SLIP_OK)
		return rc;
	return w->store->conn->be->purge(w->store->impl, key);
}

/* ============================================================ per-key TTL */

/* Writer, key, value and TTL checks, then the backend's optional member. */
static int ttl_writable(slip_writer *w, const char *op, const char *key,
                        const void *value, size_t len, int64_t ttl_ms,
                        bool supported)
{
	int rc = writable(w, op, key, value, len);

	if (rc == SLIP_OK && ttl_ms < SLIP_TTL_MIN_MS)
		rc = slip_set_error(SLIP_EINVAL,
		                    "%s \"%s\": TTL of %lld ms is below the "
		                    "minimum of %d ms",
		                    op, key, (long long)ttl_ms,
		                    SLIP_TTL_MIN_MS);
	if (rc == SLIP_OK)
		rc = slip__conn_check(w->store->conn, op, key);
	if (rc == SLIP_OK && !supported)
		rc = slip_set_error(SLIP_EUNSUPPORTED,
		                    "%s \"%s\": the %s backend has no per-key "
		                    "TTL",
		                    op, key, w->store->conn->be->name);
	return rc;
}

SLIP_EXTERN int slip_writer_put_ttl(slip_writer *w, const char *key,
                                    const void *value, size_t len,
                                    int64_t ttl_ms, slip_version *out_version)
{
	int rc = ttl_writable(w, "put", key, value, len, ttl_ms,
	                      w != NULL && w->store->conn->be->put_ttl != NULL);

	if (rc != SLIP_OK)
		return rc;
	return w->store->conn->be->put_ttl(w->store->impl, key, value, len,
	                                   ttl_ms, out_version);
}

SLIP_EXTERN int slip_writer_create_ttl(slip_writer *w, const char *key,
                                       const void *value, size_t len,
                                       int64_t ttl_ms,
                                       slip_version *out_version)
{
	int rc = ttl_writable(w, "create", key, value, len, ttl_ms,
	                      w != NULL &&
	                              w->store->conn->be->create_ttl != NULL);

	if (rc != SLIP_OK)
		return rc;
	return w->store->conn->be->create_ttl(w->store->impl, key, value, len,
	                                      ttl_ms, out_version);
}

SLIP_EXTERN int slip_writer_purge_ttl(slip_writer *w, const char *key,
                                      int64_t marker_ttl_ms)
{
	int rc = ttl_writable(w, "purge", key, NULL, 0, marker_ttl_ms,
	                      w != NULL &&
	                              w->store->conn->be->purge_ttl != NULL);

	if (rc != SLIP_OK)
		return rc;
	return w->store->conn->be->purge_ttl(w->store->impl, key,
	                                     marker_ttl_ms);
}

/* ================================================================ watcher */

/* The size of a version-1 options struct: what callers built against the
 * first header pass (it ends before the prefix list). */
#define WATCH_OPTIONS_V1_SIZE offsetof(slip_watch_options, prefixes)

/* Validates @p opts (NULL = defaults) into @p o and its prefixes into
 * @p set (free it once the watch is over, whatever the result). */
static int check_watch(const slip_watch_options *opts, slip_watch_options *o,
                       slip_prefix_set *set)
{
	memset(set, 0, sizeof(*set));
	if (opts != NULL && opts->version == 1)
		memcpy(o, opts, WATCH_OPTIONS_V1_SIZE); /* the rest stays 0 */
	else if (opts != NULL)
		*o = *opts;
	if (slip__version_check(o->version, SLIP_WATCH_OPTIONS_VERSION,
	                        "watch: options",
	                        "SLIP_WATCH_OPTIONS_INIT") != SLIP_OK)
		return SLIP_EINVAL;
	if (o->from != NULL && o->from->len > SLIP_CURSOR_MAX)
		return slip_set_error(SLIP_EINVAL,
		                      "watch: cursor of %u bytes (at most %d)",
		                      (unsigned)o->from->len, SLIP_CURSOR_MAX);
	if ((o->flags & ~SLIP_WATCH_MARKERS) != 0)
		return slip_set_error(SLIP_EINVAL, "watch: unknown flags 0x%x",
		                      o->flags & ~SLIP_WATCH_MARKERS);
	int rc = slip__prefix_set_init(set, o->prefix, o->prefixes,
	                               o->prefix_count, "watch");
	if (rc != SLIP_OK)
		return rc;
	/* Backends see one prefix in o->prefix, or at least two in the list. */
	o->version = SLIP_WATCH_OPTIONS_VERSION;
	o->prefix = set->count == 1 ? set->items[0] : NULL;
	o->prefixes = set->count == 1 ? NULL : (const char *const *)set->items;
	o->prefix_count = set->count == 1 ? 0 : set->count;
	return SLIP_OK;
}

static int watch_backend(slip_watcher *w, const slip_watch_options *o,
                         slip_chan *tx)
{
	const slip_backend *be = w->store->conn->be;

	if (o->prefix_count == 0)
		return be->watch(w->store->impl, o, tx);
	if (be->watch_prefixes == NULL)
		return slip_set_error(SLIP_EUNSUPPORTED,
		                      "watch: the %s backend cannot watch "
		                      "several prefixes at once",
		                      be->name);
	return be->watch_prefixes(w->store->impl, o, tx);
}

SLIP_EXTERN int slip_watch(slip_watcher *w, const slip_watch_options *opts,
                           slip_chan *tx)
{
	slip_watch_options o = SLIP_WATCH_OPTIONS_INIT;
	slip_prefix_set set = {NULL, 0};
	int rc;

	if (tx == NULL)
		return slip_set_error(SLIP_EINVAL, "watch: NULL channel");
	if (w == NULL) {
		rc = slip_set_error(SLIP_EINVAL, "watch: NULL watcher (the "
		                                 "backend cannot stream?)");
		goto done;
	}
	rc = check_watch(opts, &o, &set);
	if (rc == SLIP_OK)
		rc = slip__conn_check(w->store->conn, "watch", w->store->name);
	if (rc == SLIP_OK)
		rc = watch_backend(w, &o, tx);
	slip__prefix_set_free(&set);
done:
	/* The receiver learns the watch is over, whatever the outcome. */
	slip_chan_close_send(tx);
	return rc;
}

SLIP_EXTERN int slip_watch_all(slip_watcher *w, slip_chan *tx)
{
	return slip_watch(w, NULL, tx);
}

SLIP_EXTERN int slip_watch_prefix(slip_watcher *w, const char *prefix,
                                  slip_chan *tx)
{
	slip_watch_options o = SLIP_WATCH_OPTIONS_INIT;

	o.prefix = prefix;
	return slip_watch(w, &o, tx);
}

SLIP_EXTERN int slip_watch_all_from(slip_watcher *w, const slip_cursor *cursor,
                                    slip_chan *tx)
{
	slip_watch_options o = SLIP_WATCH_OPTIONS_INIT;

	o.from = cursor;
	return slip_watch(w, &o, tx);
}

SLIP_EXTERN int slip_watch_prefix_from(slip_watcher *w, const char *prefix,
                                       const slip_cursor *cursor, slip_chan *tx)
{
	slip_watch_options o = SLIP_WATCH_OPTIONS_INIT;

	o.prefix = prefix;
	o.from = cursor;
	return slip_watch(w, &o, tx);
}

/* ------------------------------------------------------- cursor order */

int slip__watcher_cursor_cmp(const slip_watcher *w, const slip_cursor *a,
                             const slip_cursor *b)
{
	const slip_backend *be = w->store->conn->be;

	if (be->cursor_cmp == NULL)
		return slip_cursor_seq_cmp(a, b);
	return be->cursor_cmp(a, b);
}

SLIP_EXTERN int slip_watch_prefixes(slip_watcher *w,
                                    const char *const *prefixes, size_t count,
                                    const slip_cursor *cursor, slip_chan *tx)
{
	slip_watch_options o = SLIP_WATCH_OPTIONS_INIT;

	if (count == 0 && tx != NULL) {
		slip_chan_close_send(tx);
		return slip_set_error(SLIP_EINVAL, "watch: no prefixes");
	}
	o.prefixes = prefixes;
	o.prefix_count = count;
	o.from = cursor;
	return slip_watch(w, &o, tx);
}
