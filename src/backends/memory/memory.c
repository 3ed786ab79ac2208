/*
 * src/backends/memory/memory.c — the in-process memory backend ("mem://").
 *
 * Divisions: the namespace registry (mem://NAME → buckets, shared by every
 * connection of the process naming it, freed with the last of them), the
 * connection, store handles (which follow a deleted-and-recreated bucket by
 * name, as a NATS KV handle does), reads, writes, the slip_mem_* extras and
 * the backend table. The data structure and write semantics live in
 * bucket.c, the streaming watch in watch.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "util/grow.h"

/* ------------------------------------------------------ namespace registry */

typedef struct mem_ns {
	struct mem_ns *next;
	int refs;            /* connections holding it (registry lock) */
	mem_bucket *buckets; /* registry lock */
	char name[];
} mem_ns;

/* Guards the namespace list, every namespace's bucket list and refs.
 * Lock order (mem.h): mem_store.mu, then this, then a bucket's lock. */
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static mem_ns *namespaces;
/* Last bucket identity handed out (registry lock): strictly increasing. */
static int64_t last_identity;

static mem_ns *ns_acquire(const char *name)
{
	size_t len = strlen(name);
	mem_ns *ns;

	for (ns = namespaces; ns != NULL; ns = ns->next)
		if (strcmp(ns->name, name) == 0)
			break;
	if (ns == NULL) {
		ns = calloc(1, sizeof(*ns) + len + 1);
		if (ns == NULL)
			return NULL;
		memcpy(ns->name, name, len + 1);
		ns->next = namespaces;
		namespaces = ns;
	}
	ns->refs++;
	return ns;
}

static void ns_release(mem_ns *ns)
{
	mem_ns **pp;

	if (--ns->refs > 0)
		return;
	for (pp = &namespaces; *pp != ns; pp = &(*pp)->next)
		;
	*pp = ns->next;
	while (ns->buckets != NULL) {
		mem_bucket *b = ns->buckets;
		ns->buckets = b->next;
		slip__mem_bucket_unref(b);
	}
	free(ns);
}

static mem_bucket *ns_find(const mem_ns *ns, const char *name)
{
	mem_bucket *b;

	for (b = ns->buckets; b != NULL; b = b->next)
		if (strcmp(b->name, name) == 0)
			break;
	return b;
}

static int64_t next_identity(void)
{
	int64_t now = slip__realtime_ns();

	last_identity = now > last_identity ? now : last_identity + 1;
	return last_identity;
}

/* ------------------------------------------------------------ connection */

typedef struct mem_conn {
	atomic_bool closed;
	mem_ns *ns; /* set by connect */
	char name[];
} mem_conn;

static bool ns_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

static int mem_conn_new(void **out, const slip_conn_options *opts)
{
	const char *p = strstr(opts->url, "://");
	mem_conn *c;
	size_t len;

	*out = NULL;
	if (p == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "connect \"%s\": expected mem://NAME",
		                      opts->url);
	p += 3;
	len = strlen(p);
	if (len > SLIP_NAME_MAX)
		return slip_set_error(SLIP_EINVAL,
		                      "connect: memory namespace of %zu bytes "
		                      "(at most %d)",
		                      len, SLIP_NAME_MAX);
	for (size_t i = 0; i < len; i++)
		if (!ns_char(p[i]))
			return slip_set_error(
			        SLIP_EINVAL,
			        "connect \"%s\": namespace may hold only "
			        "[A-Za-z0-9._-], found '%c' at %zu",
			        opts->url, p[i], i);
	c = calloc(1, sizeof(*c) + (len > 0 ? len : 7) + 1);
	if (c == NULL)
		return slip_set_error(SLIP_ENOMEM, "connect: out of memory");
	atomic_init(&c->closed, false);
	/* "mem://" alone names the default namespace. */
	memcpy(c->name, len > 0 ? p : "default", (len > 0 ? len : 7) + 1);
	*out = c;
	return SLIP_OK;
}

static int mem_connect(void *conn)
{
	mem_conn *c = conn;
	int rc = SLIP_OK;

	pthread_mutex_lock(&registry_mu);
	if (c->ns == NULL) {
		c->ns = ns_acquire(c->name);
		if (c->ns == NULL)
			rc = slip_set_error(SLIP_ENOMEM,
			                    "connect: out of memory");
	}
	pthread_mutex_unlock(&registry_mu);
	return rc;
}

static void mem_close(void *conn)
{
	mem_conn *c = conn;

	atomic_store(&c->closed, true);
	/* Wake this connection's watches now rather than at their next
	 * poll; watches of other connections just go back to sleep. The
	 * registry lock also orders this read of ns after connect's write. */
	pthread_mutex_lock(&registry_mu);
	for (mem_bucket *b = c->ns != NULL ? c->ns->buckets : NULL; b != NULL;
	     b = b->next) {
		pthread_mutex_lock(&b->lock);
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
	}
	pthread_mutex_unlock(&registry_mu);
}

static void mem_conn_free(void *conn)
{
	mem_conn *c = conn;

	if (c == NULL)
		return;
	if (c->ns != NULL) {
		pthread_mutex_lock(&registry_mu);
		ns_release(c->ns);
		pthread_mutex_unlock(&registry_mu);
	}
	free(c);
}

static void mem_capabilities(void *conn, slip_capabilities *out)
{
	(void)conn;
	/* Every feature is native here; there is no server to name. */
	out->cas = true;
	out->streaming_watch = true;
	out->prefix_watch = true;
	out->global_ordering = true;
	out->multi_filter = true;
	out->msg_ttl = true;
	out->batch_get = true;
	out->atomic_batch = true;
}

static int closed_error(const char *op, const char *what)
{
	return slip_set_error(SLIP_ENOTCONNECTED,
	                      "%s \"%s\": connection closed", op, what);
}

/* ---------------------------------------------------------- store handles */

typedef struct mem_store {
	mem_conn *conn;
	pthread_mutex_t mu; /* guards b; outermost: before registry_mu */
	mem_bucket *b;      /* holds a reference */
	char name[];
} mem_store;

static int open_existing(mem_bucket *b, const slip_store_config *cfg,
                         const char *name)
{
	mem_config want;
	char diff[512];
	int rc;

	if (cfg == NULL)
		return SLIP_OK;
	rc = slip__mem_config_from(&want, cfg, name);
	if (rc != SLIP_OK)
		return rc;
	slip__mem_config_diff(&b->cfg, &want, diff, sizeof(diff));
	if (diff[0] != '\0')
		return slip_set_error(SLIP_ECONFIG,
		                      "store_open \"%s\": exists with another "
		                      "configuration: %s",
		                      name, diff);
	return SLIP_OK;
}

static int open_bucket(mem_ns *ns, const char *name,
                       const slip_store_config *cfg, mem_bucket **out)
{
	mem_bucket *b = ns_find(ns, name);
	mem_config mc;
	int rc;

	if (b != NULL) {
		rc = open_existing(b, cfg, name);
		goto done;
	}
	if (cfg == NULL)
		return slip_set_error(SLIP_ENOTFOUND,
		                      "store_open \"%s\": no such bucket",
		                      name);
	rc = slip__mem_config_from(&mc, cfg, name);
	if (rc == SLIP_OK)
		rc = slip__mem_bucket_new(&b, name, &mc, next_identity());
	if (rc != SLIP_OK)
		return rc;
	b->next = ns->buckets;
	ns->buckets = b;
done:
	if (rc == SLIP_OK) {
		slip__mem_bucket_ref(b);
		*out = b;
	}
	return rc;
}

static int mem_store_open(void *conn, const char *name,
                          const slip_store_config *cfg, void **out,
                          unsigned *out_roles)
{
	mem_conn *c = conn;
	size_t len = strlen(name);
	mem_store *s;
	int rc;

	*out = NULL;
	if (atomic_load(&c->closed) || c->ns == NULL)
		return closed_error("store_open", name);
	s = calloc(1, sizeof(*s) + len + 1);
	if (s == NULL)
		return slip_set_error(SLIP_ENOMEM,
		                      "store_open \"%s\": out of memory", name);
	memcpy(s->name, name, len + 1);
	s->conn = c;
	pthread_mutex_lock(&registry_mu);
	rc = open_bucket(c->ns, name, cfg, &s->b);
	pthread_mutex_unlock(&registry_mu);
	if (rc != SLIP_OK) {
		free(s);
		return rc;
	}
	pthread_mutex_init(&s->mu, NULL);
	*out = s;
	*out_roles = SLIP_ROLE_WRITE | SLIP_ROLE_WATCH;
	return SLIP_OK;
}

static void mem_store_free(void *store)
{
	mem_store *s = store;

	if (s == NULL)
		return;
	slip__mem_bucket_unref(s->b);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/*
 * The store's bucket with a reference for the caller. A handle whose
 * bucket was deleted moves to a bucket recreated under the same name (as
 * a NATS handle, which is only a name, would); until then it keeps the
 * deleted one and every call reports it.
 */
static mem_bucket *store_bucket(mem_store *s)
{
	mem_bucket *b, *nb = NULL;

	pthread_mutex_lock(&s->mu);
	b = s->b;
	if (atomic_load(&b->deleted)) {
		pthread_mutex_lock(&registry_mu);
		nb = ns_find(s->conn->ns, s->name);
		if (nb != NULL)
			slip__mem_bucket_ref(nb);
		pthread_mutex_unlock(&registry_mu);
	}
	if (nb != NULL) {
		s->b = nb;
		slip__mem_bucket_unref(b);
		b = nb;
	}
	slip__mem_bucket_ref(b);
	pthread_mutex_unlock(&s->mu);
	return b;
}

/*
 * Locks the store's bucket for @p op on @p what after checking that the
 * connection is open and the bucket exists. On SLIP_OK *out is locked and
 * referenced: release it with unlock_bucket().
 */
static int lock_bucket(mem_store *s, const char *op, const char *what,
                       mem_bucket **out)
{
	mem_bucket *b;

	*out = NULL;
	if (atomic_load(&s->conn->closed))
		return closed_error(op, what);
	b = store_bucket(s);
	pthread_mutex_lock(&b->lock);
	if (atomic_load(&b->deleted)) {
		pthread_mutex_unlock(&b->lock);
		slip__mem_bucket_unref(b);
		return slip_set_error(SLIP_ENOTFOUND,
		                      "%s \"%s\": bucket \"%s\" was deleted",
		                      op, what, s->name);
	}
	slip__mem_expire(b);
	*out = b;
	return SLIP_OK;
}

static void unlock_bucket(mem_bucket *b)
{
	pthread_mutex_unlock(&b->lock);
	slip__mem_bucket_unref(b);
}

static int mem_store_delete(void *conn, const char *name)
{
	mem_conn *c = conn;
	mem_bucket **pp, *b = NULL;

	if (atomic_load(&c->closed) || c->ns == NULL)
		return closed_error("store_delete", name);
	pthread_mutex_lock(&registry_mu);
	for (pp = &c->ns->buckets; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->name, name) == 0) {
			b = *pp;
			*pp = b->next;
			break;
		}
	pthread_mutex_unlock(&registry_mu);
	if (b == NULL)
		return slip_set_error(SLIP_ENOTFOUND,
		                      "store_delete \"%s\": no such bucket",
		                      name);
	slip__mem_bucket_delete(b);
	slip__mem_bucket_unref(b);
	return SLIP_OK;
}

static int mem_store_info(void *store, slip_store_info *out)
{
	mem_store *s = store;
	mem_bucket *b;
	int rc = lock_bucket(s, "store_info", s->name, &b);

	if (rc != SLIP_OK)
		return rc;
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", b->name);
	snprintf(out->description, sizeof(out->description), "%s",
	         b->cfg.description);
	out->storage = b->cfg.storage;
	out->max_bytes = b->cfg.max_bytes;
	out->max_history = b->cfg.max_history;
	out->max_age_ms = b->cfg.max_age_ms;
	out->num_replicas = b->cfg.num_replicas;
	out->max_value_size = b->cfg.max_value_size;
	out->messages = b->messages;
	out->bytes = b->bytes;
	out->first_seq = slip__mem_first_seq(b);
	out->last_seq = b->last_seq;
	out->created_ns = b->identity;
	unlock_bucket(b);
	return SLIP_OK;
}

/* ------------------------------------------------------------------ reads */

static int read_latest(void *store, const char *op, const char *key,
                       bool tombstones, slip_entry **out)
{
	mem_store *s = store;
	mem_bucket *b;
	mem_key *k;
	int rc = lock_bucket(s, op, key, &b);

	*out = NULL;
	if (rc != SLIP_OK)
		return rc;
	k = slip__mem_key_find(b, key);
	/* entry shows every tombstone (Delete, Purge, limit marker) with its
	 * revision, as the NATS backend does; get only live values. */
	if (k != NULL && (k->latest->op == SLIP_OP_PUT || tombstones))
		rc = slip__mem_rec_entry(out, k->latest, true);
	unlock_bucket(b);
	return rc;
}

static int mem_get(void *store, const char *key, slip_entry **out)
{
	return read_latest(store, "get", key, false, out);
}

static int mem_entry(void *store, const char *key, slip_entry **out)
{
	return read_latest(store, "entry", key, true, out);
}

/* Copies the live entries under one of @p count (normalised) prefixes in
 * revision order. */
static int collect_live(mem_bucket *b, const char *const *prefixes,
                        size_t count, bool values, slip_entry ***out,
                        size_t *n_out)
{
	size_t n = 0, cap = 0;
	slip_entry **v = NULL;
	int rc = SLIP_OK;

	for (size_t i = b->log_head; i < b->log_len && rc == SLIP_OK; i++) {
		const mem_rec *r = b->log[i].rec;
		if (r == NULL || r->op != SLIP_OP_PUT || r->key->latest != r ||
		    !slip__prefixes_match(prefixes, count, r->key->name))
			continue;
		rc = slip__grow(&v, &cap, n + 1, sizeof(*v));
		if (rc != SLIP_OK)
			break;
		rc = slip__mem_rec_entry(&v[n], r, values);
		if (rc == SLIP_OK)
			n++;
	}
	if (rc != SLIP_OK) {
		while (n > 0)
			slip_entry_free(v[--n]);
		free(v);
		return slip_set_error(SLIP_ENOMEM, "scan: out of memory");
	}
	*out = v;
	*n_out = n;
	return SLIP_OK;
}

/* One pass: copies under the lock, calls back without it (a callback may
 * well call into the store). */
static int scan_pass(void *store, const char *op, const char *const *prefixes,
                     size_t count, bool values, slip_entry_cb cb, void *payload)
{
	mem_store *s = store;
	slip_entry **v = NULL;
	size_t n = 0, i;
	mem_bucket *b;
	int rc = lock_bucket(s, op, count == 1 ? prefixes[0] : s->name, &b);

	if (rc != SLIP_OK)
		return rc;
	rc = collect_live(b, prefixes, count, values, &v, &n);
	unlock_bucket(b);
	for (i = 0; i < n && rc == SLIP_OK; i++) {
		v[i]->pending = n - i - 1;
		rc = cb(payload, v[i]);
	}
	/* Entries the callback never received are still ours. */
	for (; i < n; i++)
		slip_entry_free(v[i]);
	free(v);
	return rc;
}

static int mem_keys(void *store, const char *prefix, slip_entry_cb cb,
                    void *payload)
{
	return scan_pass(store, "keys", &prefix, 1, false, cb, payload);
}

static int mem_scan(void *store, const char *prefix, slip_entry_cb cb,
                    void *payload)
{
	return scan_pass(store, "scan", &prefix, 1, true, cb, payload);
}

static int mem_scan_prefixes(void *store, const char *const *prefixes,
                             size_t count, bool keys_only, slip_entry_cb cb,
                             void *payload)
{
	return scan_pass(store, keys_only ? "keys" : "scan", prefixes, count,
	                 !keys_only, cb, payload);
}

/* ----------------------------------------------------------------- writes */

static int write_op(void *store, mem_write_kind kind, const char *op,
                    const char *key, const void *value, size_t len,
                    const slip_version *expected, slip_version *out_version)
{
	mem_store *s = store;
	mem_bucket *b;
	int rc = lock_bucket(s, op, key, &b);

	if (rc != SLIP_OK)
		return rc;
	rc = slip__mem_write(b, kind, op, key, value, len, expected,
	                     out_version);
	unlock_bucket(b);
	return rc;
}

static int mem_put(void *store, const char *key, const void *value, size_t len,
                   slip_version *out_version)
{
	return write_op(store, MEM_PUT, "put", key, value, len, NULL,
	                out_version);
}

static int mem_create(void *store, const char *key, const void *value,
                      size_t len, slip_version *out_version)
{
	return write_op(store, MEM_CREATE, "create", key, value, len, NULL,
	                out_version);
}

static int mem_update(void *store, const char *key, const void *value,
                      size_t len, const slip_version *expected,
                      slip_version *out_version)
{
	return write_op(store, MEM_UPDATE, "update", key, value, len, expected,
	                out_version);
}

static int mem_del(void *store, const char *key)
{
	return write_op(store, MEM_DELETE, "delete", key, NULL, 0, NULL, NULL);
}

static int mem_delete_version(void *store, const char *key,
                              const slip_version *expected)
{
	return write_op(store, MEM_DELETE_VERSION, "delete_version", key, NULL,
	                0, expected, NULL);
}

static int mem_purge(void *store, const char *key)
{
	return write_op(store, MEM_PURGE, "purge", key, NULL, 0, NULL, NULL);
}

static int ttl_write_op(void *store, mem_write_kind kind, const char *op,
                        const char *key, const void *value, size_t len,
                        int64_t ttl_ms, slip_version *out_version)
{
	mem_store *s = store;
	mem_bucket *b;
	int rc = lock_bucket(s, op, key, &b);

	if (rc != SLIP_OK)
		return rc;
	rc = slip__mem_write_ttl(b, kind, op, key, value, len, ttl_ms,
	                         out_version);
	unlock_bucket(b);
	return rc;
}

static int mem_put_ttl(void *store, const char *key, const void *value,
                       size_t len, int64_t ttl_ms, slip_version *out_version)
{
	return ttl_write_op(store, MEM_PUT, "put", key, value, len, ttl_ms,
	                    out_version);
}

static int mem_create_ttl(void *store, const char *key, const void *value,
                          size_t len, int64_t ttl_ms, slip_version *out_version)
{
	return ttl_write_op(store, MEM_CREATE, "create", key, value, len,
	                    ttl_ms, out_version);
}

static int mem_purge_ttl(void *store, const char *key, int64_t ttl_ms)
{
	return ttl_write_op(store, MEM_PURGE, "purge", key, NULL, 0, ttl_ms,
	                    NULL);
}

/* ------------------------------------------------------------------ watch */

static int mem_watch(void *store, const slip_watch_options *opts, slip_chan *tx)
{
	mem_store *s = store;
	mem_bucket *b;
	int rc;

	if (atomic_load(&s->conn->closed))
		return closed_error("watch", s->name);
	b = store_bucket(s);
	rc = slip__mem_watch(b, &s->conn->closed, opts, tx);
	slip__mem_bucket_unref(b);
	return rc;
}

/* ----------------------------------------------------------------- extras */

SLIP_EXTERN int slip_mem_drop_before(slip_store *store, uint64_t revision)
{
	mem_store *s = slip_store_impl(store, &slip__backend_memory);
	mem_bucket *b;
	int rc;

	if (s == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "mem_drop_before: not a memory store");
	rc = slip_store_check_connected(store, "mem_drop_before");
	if (rc == SLIP_OK)
		rc = lock_bucket(s, "mem_drop_before", s->name, &b);
	if (rc != SLIP_OK)
		return rc;
	slip__mem_drop_before(b, revision);
	unlock_bucket(b);
	return SLIP_OK;
}

SLIP_EXTERN int slip_mem_advance_clock(slip_store *store, int64_t ms)
{
	mem_store *s = slip_store_impl(store, &slip__backend_memory);
	mem_bucket *b;
	int rc;

	if (s == NULL || ms < 0)
		return slip_set_error(SLIP_EINVAL,
		                      "mem_advance_clock: not a memory store, "
		                      "or a negative step");
	rc = slip_store_check_connected(store, "mem_advance_clock");
	if (rc == SLIP_OK)
		rc = lock_bucket(s, "mem_advance_clock", s->name, &b);
	if (rc != SLIP_OK)
		return rc;
	b->clock_offset_ns += ms * 1000000;
	slip__mem_expire(b);
	pthread_cond_broadcast(&b->cond); /* watchers expire and deliver */
	unlock_bucket(b);
	return SLIP_OK;
}

/* ------------------------------------------------------------------ table */

const slip_backend slip__backend_memory = {
        SLIP_BACKEND_INIT,
        .name = "mem",
        .schemes = "mem",
        .conn_new = mem_conn_new,
        .connect = mem_connect,
        .close = mem_close,
        .conn_free = mem_conn_free,
        .capabilities = mem_capabilities,
        .store_open = mem_store_open,
        .store_free = mem_store_free,
        .store_delete = mem_store_delete,
        .store_info = mem_store_info,
        .get = mem_get,
        .entry = mem_entry,
        .keys = mem_keys,
        .scan = mem_scan,
        .put = mem_put,
        .create = mem_create,
        .update = mem_update,
        .del = mem_del,
        .delete_version = mem_delete_version,
        .purge = mem_purge,
        .watch = mem_watch,
        .cursor_cmp = slip_cursor_seq_cmp,
        .watch_prefixes = mem_watch,
        .scan_prefixes = mem_scan_prefixes,
        .put_ttl = mem_put_ttl,
        .create_ttl = mem_create_ttl,
        .purge_ttl = mem_purge_ttl,
};
