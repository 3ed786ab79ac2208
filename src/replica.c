/*
 * src/replica.c — slip_replica: a key → entry hash map kept current by a
 * background slip_watch_applied() loop, read at memory speed from any
 * thread (include/slipstream/replica.h, docs/replica.md).
 *
 * Divisions: the map (a compact table, src/kvarena.h: keys and values in
 * one arena, one index slot a key); the loop's callbacks (apply under the write
 * lock, the cursor and caught-up state under a mutex + condition variable);
 * open / close; the read calls; the waits.
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
#include "kvarena.h"

/* slip_watch_applied() refuses a larger batch_max (src/applied.c). */
#define BATCH_MAX_LIMIT ((size_t)1 << 20)

/* ------------------------------------------------------------- replica */

struct slip_replica {
	/* The map; readers take the read lock, the loop the write lock. */
	pthread_rwlock_t lock;
	slip__kvarena m;

	/* Loop thread only. */
	bool sweep_pending; /* remove unmarked keys at the next commit */

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

/* Stores a PUT's key, value, version and write time in the map. */
static int map_put(slip_replica *r, const slip_entry *e)
{
	return slip__kvarena_put(&r->m, e->key, strlen(e->key), e->value,
	                         e->value_len, &e->version, e->created_ns);
}

/* A caller's copy of a map view: no watch cursor or progress in it. */
static int copy_view(slip_entry **out, const slip_entry *view)
{
	int rc = slip_entry_new(out, view->key, view->value, view->value_len,
	                        &view->version, SLIP_OP_PUT);

	if (rc == SLIP_OK)
		(*out)->created_ns = view->created_ns;
	return rc;
}

/* ------------------------------------------------------ loop callbacks */

/*
 * Applies a batch under the write lock. Room for every put is made first,
 * so a failed allocation leaves the map untouched.
 */
static int cb_apply(void *payload, void *const *items, size_t count)
{
	slip_replica *r = payload;
	size_t puts = 0, bytes = 0;
	int rc;

	for (size_t i = 0; i < count; i++) {
		const slip_entry *e = items[i];
		if (e->op == SLIP_OP_PUT) {
			puts++;
			bytes += slip__kvarena_rec_size(
			        strlen(e->key), e->value_len, e->version.len);
		}
	}
	pthread_rwlock_wrlock(&r->lock);
	rc = slip__kvarena_reserve(&r->m, puts, bytes);
	for (size_t i = 0; i < count && rc == SLIP_OK; i++) {
		const slip_entry *e = items[i];
		if (e->op == SLIP_OP_PUT)
			rc = map_put(r, e);
		else
			(void)slip__kvarena_del(&r->m, e->key, strlen(e->key));
	}
	pthread_rwlock_unlock(&r->lock);
	return rc;
}

/*
 * A resync without a snapshot has completed: keys no replay delivered
 * (unmarked since on_resync) are gone from the server.
 */
static void sweep_stale(slip_replica *r)
{
	pthread_rwlock_wrlock(&r->lock);
	(void)slip__kvarena_sweep_unmarked(&r->m);
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
 * is reconciled here: every key is unmarked, the replay marks the keys it
 * writes and the rest is swept out once the resync commits. Clearing the
 * map instead would serve empty reads for the length of the replay.
 */
static int cb_on_resync(void *payload)
{
	slip_replica *r = payload;

	pthread_rwlock_wrlock(&r->lock);
	slip__kvarena_clear_marks(&r->m);
	pthread_rwlock_unlock(&r->lock);
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

	if (!in_scope(r, e->key))
		return SLIP_OK;
	if (map_put(r, e) != SLIP_OK)
		return slip_set_error(SLIP_ENOMEM,
		                      "replica_open: out of "
		                      "memory loading the snapshot");
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
	slip__kvarena_init(&r->m);
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
	slip__kvarena_free(&r->m);
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
	slip_entry view;
	int rc = SLIP_OK;

	if (out != NULL)
		*out = NULL;
	if (r == NULL || key == NULL || out == NULL)
		return slip_set_error(SLIP_EINVAL,
		                      "replica_get: NULL argument");
	pthread_rwlock_rdlock(&r->lock);
	if (slip__kvarena_get(&r->m, key, strlen(key), &view))
		rc = copy_view(out, &view);
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

/* A caller's copy of @p view: an entry, or with @p keys its key string. */
static void *copy_item(const slip_entry *view, bool keys)
{
	slip_entry *e = NULL;
	size_t len;
	char *k;

	if (!keys)
		return copy_view(&e, view) == SLIP_OK ? e : NULL;
	len = strlen(view->key) + 1;
	k = malloc(len);
	if (k != NULL)
		memcpy(k, view->key, len);
	return k;
}

/*
 * Copies every entry under @p prefix (entries or, with @p keys, key
 * strings) into a fresh array, sorted by key, while holding the read
 * lock. On failure the array holds what was copied (the caller frees).
 */
static int collect(slip_replica *r, const char *prefix, bool keys, void ***out,
                   size_t *n)
{
	size_t plen = prefix ? strlen(prefix) : 0, pos = 0, cnt = 0;
	slip_entry view;
	void **arr;
	int rc = SLIP_OK;

	pthread_rwlock_rdlock(&r->lock);
	arr = calloc(slip__kvarena_count(&r->m) + 1, sizeof(*arr));
	if (arr == NULL)
		rc = SLIP_ENOMEM;
	while (rc == SLIP_OK && slip__kvarena_next(&r->m, &pos, &view)) {
		if (strncmp(view.key, prefix ? prefix : "", plen) != 0)
			continue;
		arr[cnt] = copy_item(&view, keys);
		rc = arr[cnt] != NULL ? SLIP_OK : SLIP_ENOMEM;
		if (rc == SLIP_OK)
			cnt++;
	}
	pthread_rwlock_unlock(&r->lock);
	if (rc == SLIP_OK)
		qsort(arr, cnt, sizeof(*arr), keys ? cmp_key : cmp_entry);
	*out = arr;
	*n = cnt;
	return rc;
}

/* The one body of slip_replica_scan() and slip_replica_keys(). */
static int list(slip_replica *r, const char *prefix, bool keys, void ***arr,
                size_t *n)
{
	const char *op = keys ? "replica_keys" : "replica_scan";
	int rc;

	if (r == NULL || arr == NULL)
		return slip_set_error(SLIP_EINVAL, "%s: NULL argument", op);
	rc = collect(r, prefix, keys, arr, n);
	if (rc != SLIP_OK)
		return slip_set_error(rc, "%s: out of memory", op);
	return SLIP_OK;
}

SLIP_EXTERN int slip_replica_scan(slip_replica *r, const char *prefix,
                                  slip_entry_list *out)
{
	void **arr = NULL;
	size_t n = 0;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	rc = list(r, prefix, false, out != NULL ? &arr : NULL, &n);
	if (out != NULL) {
		out->entries = (slip_entry **)arr;
		out->count = n;
	}
	if (rc != SLIP_OK && out != NULL)
		slip_entry_list_free(out); /* frees arr too */
	return rc;
}

SLIP_EXTERN int slip_replica_keys(slip_replica *r, const char *prefix,
                                  slip_key_list *out)
{
	void **arr = NULL;
	size_t n = 0;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	rc = list(r, prefix, true, out != NULL ? &arr : NULL, &n);
	if (out != NULL) {
		out->keys = (char **)arr;
		out->count = n;
	}
	if (rc != SLIP_OK && out != NULL)
		slip_key_list_free(out); /* frees arr too */
	return rc;
}

SLIP_EXTERN size_t slip_replica_count(slip_replica *r)
{
	size_t n;

	if (r == NULL)
		return 0;
	pthread_rwlock_rdlock(&r->lock);
	n = slip__kvarena_count(&r->m);
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
