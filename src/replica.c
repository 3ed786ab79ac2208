/*
 * src/replica.c — slip_replica: a key → entry hash map kept current by a
 * background slip_watch_applied() loop, read at memory speed from any
 * thread (include/slipstream/replica.h, docs/replica.md).
 *
 * Divisions: the map (open addressing, linear probing, backward-shift
 * deletion); the loop's callbacks (apply under the write lock, the cursor
 * and caught-up state under a mutex + condition variable); open / close;
 * the read calls; the waits.
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <slipstream/replica.h>

#include "internal.h"

/* slip_watch_applied() refuses a larger batch_max (src/applied.c). */
#define BATCH_MAX_LIMIT ((size_t)1 << 20)

/* ------------------------------------------------------------------ map */

typedef struct slot {
	slip_entry *e; /* NULL: empty */
	uint64_t hash;
	uint64_t epoch; /* resync epoch that last wrote it */
} slot;

typedef struct map {
	slot *slots;
	size_t cap; /* power of two, or 0 */
	size_t count;
} map;

/* Index of @p key's slot, or SIZE_MAX. */
static size_t map_find(const map *m, const char *key, uint64_t h)
{
	if (m->cap == 0)
		return SIZE_MAX;
	for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		const slot *s = &m->slots[i];
		if (s->e == NULL)
			return SIZE_MAX;
		if (s->hash == h && strcmp(s->e->key, key) == 0)
			return i;
	}
}

/* Index where @p key lives or would go (the table has a free slot). */
static size_t map_probe(const map *m, const char *key, uint64_t h)
{
	size_t i = h & (m->cap - 1);

	while (m->slots[i].e != NULL &&
	       (m->slots[i].hash != h || strcmp(m->slots[i].e->key, key) != 0))
		i = (i + 1) & (m->cap - 1);
	return i;
}

/*
 * Makes room for @p want keys at a load of at most 70 %. Done before any
 * change of a batch so that a failed allocation leaves the map untouched.
 */
static int map_reserve(map *m, size_t want)
{
	size_t cap = m->cap ? m->cap : 16;
	slot *fresh;

	while (want * 10 > cap * 7)
		cap *= 2;
	if (cap == m->cap)
		return SLIP_OK;
	fresh = calloc(cap, sizeof(*fresh));
	if (fresh == NULL)
		return SLIP_ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		const slot *s = &m->slots[i];
		size_t j;
		if (s->e == NULL)
			continue;
		j = s->hash & (cap - 1);
		while (fresh[j].e != NULL)
			j = (j + 1) & (cap - 1);
		fresh[j] = *s;
	}
	free(m->slots);
	m->slots = fresh;
	m->cap = cap;
	return SLIP_OK;
}

/* Stores @p e (owned); returns the entry it replaces (or NULL). */
static slip_entry *map_put(map *m, slip_entry *e, uint64_t epoch)
{
	uint64_t h = slip__hash_key(e->key, strlen(e->key));
	size_t i = map_probe(m, e->key, h);
	slip_entry *old = m->slots[i].e;

	if (old == NULL)
		m->count++;
	m->slots[i].e = e;
	m->slots[i].hash = h;
	m->slots[i].epoch = epoch;
	return old;
}

/*
 * Empties slot @p i and shifts the rest of its probe run back so lookups
 * never stop at a hole. Returns the removed entry.
 */
static slip_entry *map_remove_at(map *m, size_t i)
{
	slip_entry *old = m->slots[i].e;
	size_t mask = m->cap - 1;
	size_t hole = i;

	for (size_t j = (i + 1) & mask; m->slots[j].e != NULL;
	     j = (j + 1) & mask) {
		size_t home = m->slots[j].hash & mask;
		/* Move j into the hole unless its home lies cyclically in
		 * (hole, j]: then it is already reachable from home. */
		bool reachable = hole <= j ? (home > hole && home <= j)
		                           : (home > hole || home <= j);
		if (reachable)
			continue;
		m->slots[hole] = m->slots[j];
		hole = j;
	}
	memset(&m->slots[hole], 0, sizeof(m->slots[hole]));
	m->count--;
	return old;
}

static void map_free(map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		slip_entry_free(m->slots[i].e);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------- replica */

struct slip_replica {
	/* The map; readers take the read lock, the loop the write lock. */
	pthread_rwlock_t lock;
	map m;

	/* Loop thread only. */
	uint64_t epoch;     /* bumped by every no-snapshot resync */
	bool sweep_pending; /* remove keys of older epochs at next commit */

	/* Progress, guarded by mu; cond signals every change. */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	slip_cursor applied;
	bool caught_up;
	bool resyncing;
	bool stopped; /* the loop has returned */
	bool closed;  /* slip_replica_close() ran */
	int loop_rc;
	char loop_msg[256];

	/* Lifetime. close_mu serialises concurrent closes. */
	pthread_mutex_t close_mu;
	slip_applied_options ao;
	slip_shutdown *sd;
	slip_snapshot_writer *snap;
	slip_prefix_set scope; /* the prefixes replicated, normalised */
	pthread_t tid;
	bool started, joined;
};

static bool in_scope(const slip_replica *r, const char *key)
{
	return slip__prefix_set_match(&r->scope, key);
}

/* A private copy for the map: no watch cursor or progress in it. */
static int copy_entry(slip_entry **out, const slip_entry *e)
{
	int rc = slip_entry_dup(out, e);

	if (rc == SLIP_OK) {
		(*out)->cursor = slip_cursor_none();
		(*out)->pending = 0;
		(*out)->flags = 0;
	}
	return rc;
}

/* ------------------------------------------------------ loop callbacks */

/*
 * Applies a batch: copies are made before the write lock is taken, the
 * lock is held only to swap pointers, and the replaced entries are freed
 * after it is released.
 */
static int cb_apply(void *payload, void *const *items, size_t count)
{
	slip_replica *r = payload;
	slip_entry **held = NULL;
	size_t puts = 0;
	int rc = SLIP_OK;

	if (count == 0)
		return SLIP_OK;
	held = calloc(count, sizeof(*held));
	if (held == NULL)
		return SLIP_ENOMEM;
	for (size_t i = 0; i < count && rc == SLIP_OK; i++) {
		const slip_entry *e = items[i];
		if (e->op == SLIP_OP_PUT) {
			rc = copy_entry(&held[i], e);
			puts++;
		}
	}
	if (rc != SLIP_OK)
		goto done;
	pthread_rwlock_wrlock(&r->lock);
	rc = map_reserve(&r->m, r->m.count + puts);
	for (size_t i = 0; i < count && rc == SLIP_OK; i++) {
		const slip_entry *e = items[i];
		size_t at;
		if (held[i] != NULL) {
			held[i] = map_put(&r->m, held[i], r->epoch);
			continue;
		}
		at = map_find(&r->m, e->key,
		              slip__hash_key(e->key, strlen(e->key)));
		if (at != SIZE_MAX)
			held[i] = map_remove_at(&r->m, at);
	}
	pthread_rwlock_unlock(&r->lock);
done:
	for (size_t i = 0; i < count; i++)
		slip_entry_free(held[i]);
	free(held);
	return rc;
}

/*
 * A resync without a snapshot has completed: keys no replay delivered are
 * gone from the server. Removing an entry shifts later ones back into the
 * current slot, so the slot is examined again before moving on.
 */
static void sweep_stale(slip_replica *r)
{
	slip_entry *gone = NULL;

	pthread_rwlock_wrlock(&r->lock);
	for (size_t i = 0; i < r->m.cap;) {
		slot *s = &r->m.slots[i];
		if (s->e == NULL || s->epoch == r->epoch) {
			i++;
			continue;
		}
		gone = map_remove_at(&r->m, i);
		slip_entry_free(gone);
	}
	pthread_rwlock_unlock(&r->lock);
	r->sweep_pending = false;
}

static void cb_on_applied(void *payload, const slip_cursor *cursor)
{
	slip_replica *r = payload;

	/* The first commit after on_resync is the resync's end. */
	if (r->sweep_pending)
		sweep_stale(r);
	pthread_mutex_lock(&r->mu);
	r->applied = *cursor;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mu);
}

static void cb_on_caught_up(void *payload, const slip_cursor *cursor)
{
	slip_replica *r = payload;

	if (r->sweep_pending)
		sweep_stale(r);
	pthread_mutex_lock(&r->mu);
	if (!slip_cursor_is_none(cursor))
		r->applied = *cursor;
	r->caught_up = true;
	r->resyncing = false;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mu);
}

/*
 * Without a snapshot the loop cannot list the keys we hold, so a resync
 * is reconciled here: every key the replay writes gets the new epoch and
 * the rest is swept out once the resync commits. Clearing the map instead
 * would serve empty reads for the length of the replay.
 */
static int cb_on_resync(void *payload)
{
	slip_replica *r = payload;

	r->epoch++;
	r->sweep_pending = true;
	pthread_mutex_lock(&r->mu);
	r->resyncing = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mu);
	return SLIP_OK;
}

static void *loop_main(void *arg)
{
	slip_replica *r = arg;
	slip_cursor final = slip_cursor_none();
	int rc = slip_watch_applied(&r->ao, &final);

	pthread_mutex_lock(&r->mu);
	r->stopped = true;
	r->loop_rc = rc;
	if (rc != SLIP_OK)
		snprintf(r->loop_msg, sizeof(r->loop_msg), "%s",
		         slip_last_error());
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* ------------------------------------------------------------- open */

static int check_options(const slip_replica_options *o)
{
	if (o == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "replica_open: NULL options");
	if (slip__version_check(o->version, SLIP_REPLICA_OPTIONS_VERSION,
	                        "replica_open: options",
	                        "SLIP_REPLICA_OPTIONS_INIT") != SLIP_OK)
		return SLIP_EINVAL;
	if (o->watcher == NULL && o->store == NULL)
		return slip_set_error(
		        SLIP_EINVAL, "replica_open: neither store nor watcher");
	if (o->watcher == NULL && slip_store_watcher(o->store) == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "replica_open: the store cannot watch "
		                      "(backend without streaming watch)");
	if (o->batch_window_ms < 0)
		return slip_set_error(SLIP_EINVAL,
		                      "replica_open: negative batch window");
	/* The loop's own cap; checked here so a bad value fails the open
	 * rather than stopping the loop later. */
	if (o->batch_max > BATCH_MAX_LIMIT)
		return slip_set_error(SLIP_EINVAL,
		                      "replica_open: batch_max %zu is over the "
		                      "limit of %zu",
		                      o->batch_max, (size_t)BATCH_MAX_LIMIT);
	return SLIP_OK;
}

static int load_visit(void *payload, const slip_entry *e)
{
	slip_replica *r = payload;
	slip_entry *copy = NULL;
	int rc;

	if (!in_scope(r, e->key))
		return SLIP_OK;
	rc = copy_entry(&copy, e);
	if (rc == SLIP_OK)
		rc = map_reserve(&r->m, r->m.count + 1);
	if (rc != SLIP_OK) {
		slip_entry_free(copy);
		return slip_set_error(rc, "replica_open: out of memory loading "
		                          "the snapshot");
	}
	slip_entry_free(map_put(&r->m, copy, 0));
	return SLIP_OK;
}

/* Opens the snapshot writer and fills the map with its committed state. */
static int load_snapshot(slip_replica *r, const slip_replica_options *o)
{
	uint64_t threshold = o->compact_threshold;
	int rc;

	if (threshold == 0)
		threshold = SLIP_REPLICA_COMPACT_DEFAULT;
	else if (threshold == UINT64_MAX)
		threshold = 0; /* the writer's "never" */
	rc = slip_snapshot_writer_open(&r->snap, o->snapshot_path, threshold);
	if (rc != SLIP_OK)
		return rc;
	rc = slip_snapshot_writer_foreach(r->snap, load_visit, r);
	if (rc == SLIP_OK)
		r->applied = *slip_snapshot_writer_cursor(r->snap);
	return rc;
}

static int init_sync(slip_replica *r)
{
	pthread_rwlockattr_t ra;
	pthread_condattr_t ca;
	int err;

	pthread_rwlockattr_init(&ra);
#ifdef __GLIBC__
	/* glibc prefers readers by default: a steady stream of scans would
	 * starve the loop and the replica would fall behind. */
	pthread_rwlockattr_setkind_np(
	        &ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
	err = pthread_rwlock_init(&r->lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (err == 0)
		err = pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (err == 0)
		err = pthread_mutex_init(&r->mu, NULL);
	if (err == 0)
		err = pthread_mutex_init(&r->close_mu, NULL);
	if (err != 0)
		return slip_set_error(SLIP_ENOMEM,
		                      "replica_open: cannot create locks "
		                      "(error %d)",
		                      err);
	return SLIP_OK;
}

static void fill_loop_options(slip_replica *r, const slip_replica_options *o)
{
	slip_applied_options init = SLIP_APPLIED_OPTIONS_INIT;

	r->ao = init;
	r->ao.watcher = o->watcher ? o->watcher : slip_store_watcher(o->store);
	if (r->scope.count == 1) {
		r->ao.prefix = r->scope.items[0];
	} else {
		r->ao.prefixes = (const char *const *)r->scope.items;
		r->ao.prefix_count = r->scope.count;
	}
	r->ao.snapshot = r->snap;
	r->ao.batch_window_ms = o->batch_window_ms;
	r->ao.batch_max = o->batch_max;
	r->ao.apply = cb_apply;
	r->ao.on_applied = cb_on_applied;
	r->ao.on_caught_up = cb_on_caught_up;
	r->ao.on_resync = cb_on_resync;
	r->ao.payload = r;
	r->ao.shutdown = r->sd;
}

/* The options at the current version's size: a version-1 struct ends
 * before the prefix list, which then stays empty. */
static void copy_options(slip_replica_options *full,
                         const slip_replica_options *o)
{
	memset(full, 0, sizeof(*full));
	memcpy(full, o,
	       o->version == 1 ? offsetof(slip_replica_options, prefixes)
	                       : sizeof(*full));
}

SLIP_EXTERN int slip_replica_open(slip_replica **out,
                                  const slip_replica_options *given)
{
	slip_replica_options full;
	const slip_replica_options *opts = &full;
	slip_replica *r = NULL;
	int rc;

	if (out == NULL)
		return slip_set_error(SLIP_EINVAL, "replica_open: NULL out");
	*out = NULL;
	rc = check_options(given);
	if (rc != SLIP_OK)
		return rc;
	copy_options(&full, given);
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return slip_set_error(SLIP_ENOMEM,
		                      "replica_open: out of memory");
	rc = init_sync(r);
	if (rc != SLIP_OK) {
		free(r);
		return rc;
	}
	rc = slip__prefix_set_init(&r->scope, opts->prefix, opts->prefixes,
	                           opts->prefix_count, "replica_open");
	if (rc == SLIP_OK)
		rc = slip_shutdown_new(&r->sd);
	if (rc == SLIP_OK && opts->snapshot_path != NULL)
		rc = load_snapshot(r, opts);
	if (rc != SLIP_OK)
		goto done;
	fill_loop_options(r, opts);
	if (pthread_create(&r->tid, NULL, loop_main, r) != 0) {
		rc = slip_set_error(
		        SLIP_ENOMEM,
		        "replica_open: cannot start the loop thread");
		goto done;
	}
	r->started = true;
	*out = r;
done:
	if (rc != SLIP_OK)
		slip_replica_free(r);
	return rc;
}

/* ------------------------------------------------------------ close */

/* The loop's result, with its message set again on the calling thread. */
static int loop_result(slip_replica *r)
{
	int rc;
	char msg[sizeof(r->loop_msg)];

	pthread_mutex_lock(&r->mu);
	rc = r->loop_rc;
	memcpy(msg, r->loop_msg, sizeof(msg));
	pthread_mutex_unlock(&r->mu);
	if (rc != SLIP_OK)
		slip_set_error(rc, "replica: %s", msg);
	return rc;
}

SLIP_EXTERN int slip_replica_close(slip_replica *r)
{
	if (r == NULL)
		return slip_set_error(SLIP_EINVAL, "replica_close: NULL");
	pthread_mutex_lock(&r->close_mu);
	if (r->started && !r->joined) {
		slip_shutdown_trigger(r->sd);
		pthread_join(r->tid, NULL);
		r->joined = true;
	}
	slip_snapshot_writer_free(r->snap);
	r->snap = NULL;
	pthread_mutex_lock(&r->mu);
	r->closed = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mu);
	pthread_mutex_unlock(&r->close_mu);
	return loop_result(r);
}

SLIP_EXTERN void slip_replica_free(slip_replica *r)
{
	if (r == NULL)
		return;
	slip_replica_close(r);
	map_free(&r->m);
	slip_shutdown_free(r->sd);
	slip__prefix_set_free(&r->scope);
	pthread_rwlock_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->mu);
	pthread_mutex_destroy(&r->close_mu);
	free(r);
}

SLIP_EXTERN int slip_replica_status(slip_replica *r)
{
	if (r == NULL)
		return slip_set_error(SLIP_EINVAL, "replica_status: NULL");
	return loop_result(r);
}

/* ------------------------------------------------------------ reads */

SLIP_EXTERN int slip_replica_get(slip_replica *r, const char *key,
                                 slip_entry **out)
{
	size_t at;
	int rc = SLIP_OK;

	if (out != NULL)
		*out = NULL;
	if (r == NULL || key == NULL || out == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "replica_get: NULL argument");
	pthread_rwlock_rdlock(&r->lock);
	at = map_find(&r->m, key, slip__hash_key(key, strlen(key)));
	if (at != SIZE_MAX)
		rc = slip_entry_dup(out, r->m.slots[at].e);
	pthread_rwlock_unlock(&r->lock);
	if (rc != SLIP_OK)
		return slip_set_error(rc, "replica_get \"%s\": out of memory",
		                      key);
	return SLIP_OK;
}

static int cmp_entry(const void *a, const void *b)
{
	const slip_entry *x = *(const slip_entry *const *)a;
	const slip_entry *y = *(const slip_entry *const *)b;
	return strcmp(x->key, y->key);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Copies every entry under @p prefix (entries or, with @p keys, key
 * strings) into a fresh array while holding the read lock.
 */
static int collect(slip_replica *r, const char *prefix, bool keys, void ***out,
                   size_t *n)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	void **arr = NULL;
	size_t cnt = 0;
	int rc = SLIP_OK;

	pthread_rwlock_rdlock(&r->lock);
	arr = calloc(r->m.count ? r->m.count : 1, sizeof(*arr));
	if (arr == NULL)
		rc = SLIP_ENOMEM;
	for (size_t i = 0; i < r->m.cap && rc == SLIP_OK; i++) {
		const slip_entry *e = r->m.slots[i].e;
		if (e == NULL || strncmp(e->key, prefix ? prefix : "", plen))
			continue;
		if (keys) {
			size_t len = strlen(e->key) + 1;
			arr[cnt] = malloc(len);
			if (arr[cnt] != NULL)
				memcpy(arr[cnt], e->key, len);
			rc = arr[cnt] != NULL ? SLIP_OK : SLIP_ENOMEM;
		} else {
			rc = slip_entry_dup((slip_entry **)&arr[cnt], e);
		}
		if (rc == SLIP_OK)
			cnt++;
	}
	pthread_rwlock_unlock(&r->lock);
	*out = arr;
	*n = cnt;
	return rc;
}

SLIP_EXTERN int slip_replica_scan(slip_replica *r, const char *prefix,
                                  slip_entry_list *out)
{
	void **arr = NULL;
	size_t n = 0;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (r == NULL || out == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "replica_scan: NULL argument");
	rc = collect(r, prefix, false, &arr, &n);
	out->entries = (slip_entry **)arr;
	out->count = n;
	if (rc != SLIP_OK) {
		slip_entry_list_free(out); /* frees arr too */
		return slip_set_error(rc, "replica_scan: out of memory");
	}
	qsort(out->entries, n, sizeof(*out->entries), cmp_entry);
	return SLIP_OK;
}

SLIP_EXTERN int slip_replica_keys(slip_replica *r, const char *prefix,
                                  slip_key_list *out)
{
	void **arr = NULL;
	size_t n = 0;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (r == NULL || out == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "replica_keys: NULL argument");
	rc = collect(r, prefix, true, &arr, &n);
	out->keys = (char **)arr;
	out->count = n;
	if (rc != SLIP_OK) {
		slip_key_list_free(out); /* frees arr too */
		return slip_set_error(rc, "replica_keys: out of memory");
	}
	qsort(out->keys, n, sizeof(*out->keys), cmp_key);
	return SLIP_OK;
}

SLIP_EXTERN size_t slip_replica_count(slip_replica *r)
{
	size_t n;

	if (r == NULL)
		return 0;
	pthread_rwlock_rdlock(&r->lock);
	n = r->m.count;
	pthread_rwlock_unlock(&r->lock);
	return n;
}

SLIP_EXTERN int slip_replica_cursor(slip_replica *r, slip_cursor *out)
{
	if (r == NULL || out == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "replica_cursor: NULL argument");
	pthread_mutex_lock(&r->mu);
	*out = r->applied;
	pthread_mutex_unlock(&r->mu);
	return SLIP_OK;
}

/* ------------------------------------------------------------ waits */

/* Called with mu held: the result of a wait the loop can no longer end. */
static int stopped_result(slip_replica *r, const char *op)
{
	if (r->loop_rc != SLIP_OK)
		return slip_set_error(r->loop_rc, "%s: the loop stopped: %s",
		                      op, r->loop_msg);
	return slip_set_error(SLIP_ESHUTDOWN, "%s: the replica is closed", op);
}

/* The applied cursor's sequence: slip_replica_wait() is defined for the
 * sequence cursor layout only (replica.h). */
static uint64_t applied_seq(const slip_replica *r)
{
	uint64_t seq = 0;

	if (slip_cursor_seq(&r->applied, &seq) != SLIP_OK)
		return 0;
	return seq;
}

/*
 * Waits on cond until @p done(r, arg) holds (mu held throughout).
 * @return SLIP_OK, SLIP_ETIMEOUT or the stopped result.
 */
static int wait_until(slip_replica *r, bool (*done)(slip_replica *, uint64_t),
                      uint64_t arg, int timeout_ms, const char *op)
{
	struct timespec deadline = slip__deadline_after_ms(timeout_ms);
	int rc = SLIP_OK;

	pthread_mutex_lock(&r->mu);
	while (!done(r, arg)) {
		if (r->stopped || r->closed) {
			rc = stopped_result(r, op);
			break;
		}
		if (timeout_ms < 0) {
			pthread_cond_wait(&r->cond, &r->mu);
		} else if (pthread_cond_timedwait(&r->cond, &r->mu,
		                                  &deadline) == ETIMEDOUT &&
		           !done(r, arg)) {
			rc = slip_set_error(SLIP_ETIMEOUT,
			                    "%s: timed out after "
			                    "%d ms",
			                    op, timeout_ms);
			break;
		}
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

static bool reached(slip_replica *r, uint64_t rev)
{
	return applied_seq(r) >= rev;
}

static bool is_caught_up(slip_replica *r, uint64_t unused)
{
	(void)unused;
	return r->caught_up && !r->resyncing;
}

SLIP_EXTERN int slip_replica_wait(slip_replica *r, const slip_version *rev,
                                  int timeout_ms)
{
	uint64_t want = 0;

	if (r == NULL || rev == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "replica_wait: NULL argument");
	if (slip_version_to_u64(rev, &want) != SLIP_OK)
		return slip_set_error(SLIP_EUNSUPPORTED,
		                      "replica_wait: version of %u bytes is "
		                      "not a revision",
		                      (unsigned)rev->len);
	return wait_until(r, reached, want, timeout_ms, "replica_wait");
}

SLIP_EXTERN int slip_replica_wait_caught_up(slip_replica *r, int timeout_ms)
{
	if (r == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "replica_wait_caught_up: NULL");
	return wait_until(r, is_caught_up, 0, timeout_ms,
	                  "replica_wait_caught_up");
}
