/*
 * src/applied.c — slip_watch_applied(): watch → batch → apply → checkpoint.
 *
 * The backend's blocking slip_watch() runs on an internal thread into a
 * bounded channel; the calling thread batches what arrives (a batch closes
 * when its window elapses, when it holds batch_max updates, or at a caught-up
 * marker), and per batch, strictly in order: apply() returns → the snapshot
 * gets the batch's updates and checkpoints at the cursor of the last update
 * received → on_applied(cursor). The cursor moves only after apply returned.
 *
 * Group commit (with a snapshot): a batch flushed while more updates are
 * already queued is applied and written but its checkpoint is deferred, so
 * one fdatasync covers every batch that queued up behind the previous one.
 * The deferred checkpoint runs as soon as the queue is empty, when syncs
 * would otherwise exceed about a tenth of the time, and before any marker,
 * shutdown or resubscription; on_applied follows it with the newest cursor.
 * No cursor is reported before the checkpoint covering it is durable.
 *
 * Divisions: cursor helpers; the watch thread; the batch (take, flush,
 * commit, group commit); resync (hold the cursor during a full replay, then
 * synthetic Deletes, then one checkpoint); subscriptions and the outer retry
 * loop.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "applied_internal.h"
#include "chan_internal.h"

#define BACKOFF_FIRST_MS 50
#define BACKOFF_MAX_MS   5000
#define IDLE_POLL_MAX_MS 50
#define RECV_MANY        256       /* entries taken from the channel per lock */
#define BATCH_MAX_LIMIT  (1 << 20) /* sanity cap on batch_max */
/* With a snapshot the channel must hold what arrives during one fdatasync
 * (a few ms at several 100 k updates/s) for group commit to cover it. */
#define SNAP_CHAN_MIN 8192
/* A deferred checkpoint waits at most this long while updates keep coming. */
#define GROUP_MAX_DEFER_NS (1000LL * 1000000)

/* ------------------------------------------------------- watch thread */

typedef struct watch_thread {
	slip_watcher *watcher;
	const slip_prefix_set *scope;
	slip_cursor from; /* none: full watch */
	slip_chan *ch;
	pthread_t tid;
	int rc;
	char err[512];
} watch_thread;

static void *watch_main(void *arg)
{
	watch_thread *wt = arg;
	slip_watch_options wo = SLIP_WATCH_OPTIONS_INIT;

	if (wt->scope->count == 1) {
		wo.prefix = wt->scope->items[0];
	} else {
		wo.prefixes = (const char *const *)wt->scope->items;
		wo.prefix_count = wt->scope->count;
	}
	wo.from = slip_cursor_is_none(&wt->from) ? NULL : &wt->from;
	wo.flags = SLIP_WATCH_MARKERS;
	wt->rc = slip_watch(wt->watcher, &wo, wt->ch);
	if (wt->rc != SLIP_OK)
		snprintf(wt->err, sizeof(wt->err), "%s", slip_last_error());
	/* The backend closes the sending side; doing it again is harmless. */
	slip_chan_close_send(wt->ch);
	return NULL;
}

/* -------------------------------------------------------------- loop */

typedef struct loop {
	const slip_applied_options *o;
	slip_prefix_set scope; /* the prefixes watched, normalised */
	int window_ms;
	size_t max;
	slip_cursor applied; /* last durably applied (and reported) cursor */

	/* Silent-removal check (applied_expiry.c); NULL when off. */
	slip__expiry *expiry;
	int64_t expiry_every_ns, expiry_next_ns;

	/* Non-NULL while a resync replay runs; the cursor is held meanwhile. */
	slip__resync *resync;
	slip_cursor resync_cursor; /* position the resync replay reached */

	/* The open batch: raw updates (owned) and what parse made of them. */
	slip_entry **raw;
	void **items;
	size_t n, nitems;
	slip_cursor batch_cursor; /* cursor of the last update received */
	int64_t deadline_ns;
	bool progress; /* this subscription delivered something */

	/* Group commit: applied and written, checkpoint deferred. */
	bool deferred;
	slip_cursor deferred_cursor;
	int64_t commit_by_ns; /* the deferred checkpoint runs by then */
	int64_t sync_ns;      /* how long the last checkpoint took */
} loop;

static void free_batch(loop *L)
{
	const slip_applied_options *o = L->o;

	if (o->parse != NULL && o->free_item != NULL) {
		for (size_t i = 0; i < L->nitems; i++)
			o->free_item(o->payload, L->items[i]);
	}
	for (size_t i = 0; i < L->n; i++)
		slip_entry_free(L->raw[i]);
	L->n = 0;
	L->nitems = 0;
	L->batch_cursor = slip_cursor_none();
}

/*
 * Makes @p cursor the applied cursor: checkpoint first (when a snapshot is
 * in use), compact when due, then on_applied. A failed checkpoint returns
 * before on_applied so no cursor is ever reported that is not durable.
 */
static int commit(loop *L, const slip_cursor *cursor)
{
	const slip_applied_options *o = L->o;
	bool due = false;
	int rc = SLIP_OK;
	int64_t t0 = slip__now_ns();

	/* Every update written so far precedes @p cursor: this checkpoint
	 * covers any deferred one too. */
	L->deferred = false;
	if (o->snapshot != NULL) {
		rc = slip_snapshot_writer_checkpoint(o->snapshot, cursor, &due);
		if (rc != SLIP_OK)
			return rc;
		L->sync_ns = slip__now_ns() - t0;
	}
	L->applied = *cursor;
	/* The cursor is durable already: a failed compaction loses nothing
	 * and the file still loads, but it is reported as the loop's error. */
	if (due)
		rc = slip_snapshot_writer_compact(o->snapshot);
	if (o->on_applied != NULL)
		o->on_applied(o->payload, &L->applied);
	return rc;
}

/*
 * Group commit: with a snapshot, the checkpoint of a flushed batch waits
 * (see the file comment); without one, committing costs nothing and every
 * batch is reported at once.
 */
static int commit_or_defer(loop *L, const slip_cursor *cursor)
{
	int64_t now, spacing;

	if (L->o->snapshot == NULL)
		return commit(L, cursor);
	if (!L->deferred) {
		/* Syncing at most a tenth of the time: the next checkpoint
		 * waits up to nine times as long as the last one took. */
		now = slip__now_ns();
		spacing = L->sync_ns * 9;
		if (spacing > GROUP_MAX_DEFER_NS)
			spacing = GROUP_MAX_DEFER_NS;
		L->commit_by_ns = now + spacing;
	}
	L->deferred = true;
	L->deferred_cursor = *cursor;
	return SLIP_OK;
}

/* Runs the deferred checkpoint, if any, and reports its cursor. */
static int commit_deferred(loop *L)
{
	slip_cursor cursor = L->deferred_cursor;

	return L->deferred ? commit(L, &cursor) : SLIP_OK;
}

static int write_snapshot(loop *L)
{
	int rc = SLIP_OK;

	if (L->o->snapshot == NULL)
		return SLIP_OK;
	for (size_t i = 0; i < L->n && rc == SLIP_OK; i++)
		rc = slip_snapshot_writer_write(L->o->snapshot, L->raw[i]);
	return rc;
}

/*
 * Closes the open batch: apply, then (outside a resync) checkpoint and
 * report. During a resync the updates are applied and buffered in the
 * snapshot writer but nothing is committed until the resync completes.
 */
static int flush(loop *L)
{
	const slip_applied_options *o = L->o;
	slip_cursor cursor = L->batch_cursor;
	int rc;

	if (L->n == 0)
		return SLIP_OK;
	rc = o->apply(o->payload, L->items, L->nitems);
	if (rc != SLIP_OK) {
		slip_set_error(rc,
		               "watch_applied: apply of %zu update(s) "
		               "returned %d; cursor not advanced",
		               L->nitems, rc);
		goto done;
	}
	for (size_t i = 0; L->resync != NULL && i < L->n && rc == SLIP_OK; i++)
		rc = slip__resync_note(L->resync, L->raw[i]);
	for (size_t i = 0; L->expiry != NULL && i < L->n && rc == SLIP_OK; i++)
		rc = slip__expiry_note(L->expiry, L->raw[i]);
	if (rc == SLIP_OK)
		rc = write_snapshot(L);
	if (rc != SLIP_OK || slip_cursor_is_none(&cursor))
		goto done;
	if (L->resync != NULL)
		L->resync_cursor = cursor;
	else
		rc = commit_or_defer(L, &cursor);
done:
	free_batch(L);
	return rc;
}

static int grow_batch(loop *L)
{
	size_t cap = L->max + 1;

	if (L->raw != NULL)
		return SLIP_OK;
	L->raw = calloc(cap, sizeof(*L->raw));
	L->items = calloc(cap, sizeof(*L->items));
	if (L->raw == NULL || L->items == NULL)
		return slip_set_error(SLIP_ENOMEM,
		                      "watch_applied: out of memory");
	return SLIP_OK;
}

/* Adds @p e (owned) to the batch, parsing it; flushes at batch_max. */
static int add(loop *L, slip_entry *e)
{
	const slip_applied_options *o = L->o;
	void *item = e;
	int rc;

	if (o->parse != NULL) {
		item = NULL;
		rc = o->parse(o->payload, e, &item);
		if (rc != SLIP_OK) {
			slip_set_error(rc,
			               "watch_applied: parse of \"%s\" "
			               "returned %d",
			               e->key, rc);
			slip_entry_free(e);
			return rc;
		}
	}
	if (L->n == 0)
		L->deadline_ns =
		        slip__now_ns() + (int64_t)L->window_ms * 1000000;
	L->raw[L->n++] = e;
	if (item != NULL)
		L->items[L->nitems++] = item;
	if (!slip_cursor_is_none(&e->cursor))
		L->batch_cursor = e->cursor;
	return L->n >= L->max ? flush(L) : SLIP_OK;
}

/* ------------------------------------------------------------ resync */

static int resync_begin(loop *L, bool notify)
{
	const slip_applied_options *o = L->o;
	int rc;

	if (L->resync != NULL) {
		slip__resync_restart(L->resync);
		return SLIP_OK;
	}
	if (notify && o->snapshot == NULL && o->on_resync != NULL) {
		rc = o->on_resync(o->payload);
		if (rc != SLIP_OK)
			return slip_set_error(rc,
			                      "watch_applied: on_resync "
			                      "returned %d",
			                      rc);
	}
	L->resync_cursor = slip_cursor_none();
	return slip__resync_new(&L->resync, o->snapshot, &L->scope);
}

/*
 * The replay has caught up: the caller holds every key the server has.
 * Keys it held that the replay did not deliver get synthetic Deletes, and
 * only then is the new cursor checkpointed and reported.
 */
static int resync_finish(loop *L, const slip_cursor *marker)
{
	slip_entry_list stale = {0, NULL};
	slip_cursor cursor = L->resync_cursor;
	size_t i;
	int rc;

	rc = slip__resync_stale(L->resync, &stale);
	for (i = 0; i < stale.count && rc == SLIP_OK; i++) {
		slip_entry *e = stale.entries[i];
		stale.entries[i] = NULL;
		rc = add(L, e);
	}
	if (rc == SLIP_OK)
		rc = flush(L);
	slip_entry_list_free(&stale);
	if (rc != SLIP_OK)
		return rc;
	if (!slip_cursor_is_none(marker))
		cursor = *marker;
	slip__resync_free(L->resync);
	L->resync = NULL;
	/* Commit even a none cursor: it records the synthetic Deletes. */
	return commit(L, &cursor);
}

/*
 * The silent-removal check: what is open is applied first, then one
 * batch of synthetic Deletes for keys the server no longer holds, then a
 * checkpoint at the unchanged cursor that records them, then on_applied —
 * the order of every other update. A crash before the checkpoint loses
 * the Deletes; the check after the next resume finds the keys again.
 */
static int expiry_run(loop *L)
{
	slip_entry_list gone = {0, NULL};
	int rc = flush(L);

	L->expiry_next_ns = slip__now_ns() + L->expiry_every_ns;
	if (rc != SLIP_OK || L->expiry == NULL || L->resync != NULL)
		return rc;
	rc = slip__expiry_check(L->expiry, L->o->watcher, &gone);
	if (rc != SLIP_OK) {
		rc = SLIP_OK; /* a failed check is tried again next time */
		goto done;
	}
	for (size_t i = 0; i < gone.count && rc == SLIP_OK; i++) {
		slip_entry *e = gone.entries[i];
		gone.entries[i] = NULL;
		rc = add(L, e);
	}
	if (rc == SLIP_OK)
		rc = flush(L);
	if (rc == SLIP_OK && gone.count > 0)
		rc = commit(L, &L->applied);
done:
	slip_entry_list_free(&gone);
	return rc;
}

static int caught_up(loop *L, const slip_cursor *marker)
{
	const slip_applied_options *o = L->o;
	int rc = flush(L);

	if (rc == SLIP_OK)
		rc = commit_deferred(L);
	if (rc != SLIP_OK)
		return rc;
	/* A marker past the applied cursor (a prefix watch over a bucket
	 * whose other keys moved on, an empty bucket) is a position with
	 * nothing left to apply up to it: make it the applied cursor. */
	if (L->resync != NULL)
		rc = resync_finish(L, marker);
	else if (!slip_cursor_is_none(marker) &&
	         (slip_cursor_is_none(&L->applied) ||
	          slip__watcher_cursor_cmp(L->o->watcher, marker,
	                                   &L->applied) == 1))
		rc = commit(L, marker);
	/* Every resume and resubscribe ends here: silent removals while the
	 * loop was away are dropped before caught-up is reported. */
	if (rc == SLIP_OK)
		rc = expiry_run(L);
	if (rc == SLIP_OK && o->on_caught_up != NULL)
		o->on_caught_up(o->payload, &L->applied);
	return rc;
}

/* ---------------------------------------------------------- receiving */

/*
 * The newest cursor already taken: the open batch's, a deferred
 * checkpoint's or the applied one. A server may deliver an update twice in
 * its last-per-key phase, even back to back in one batch.
 */
static const slip_cursor *last_taken(const loop *L)
{
	if (L->n > 0 && !slip_cursor_is_none(&L->batch_cursor))
		return &L->batch_cursor;
	return L->deferred ? &L->deferred_cursor : &L->applied;
}

/* Takes one received entry (owned). */
static int take(loop *L, slip_entry *e)
{
	const slip_cursor *done;
	slip_cursor marker;

	L->progress = true;
	if (e->op == SLIP_OP_CAUGHT_UP) {
		marker = e->cursor;
		slip_entry_free(e);
		return caught_up(L, &marker);
	}
	/* Never apply twice what lies at or before the last cursor taken. */
	done = last_taken(L);
	if (L->resync == NULL && !slip_cursor_is_none(done) &&
	    !slip_cursor_is_none(&e->cursor) &&
	    slip__watcher_cursor_cmp(L->o->watcher, &e->cursor, done) <= 0) {
		slip_entry_free(e);
		return SLIP_OK;
	}
	return add(L, e);
}

/*
 * When the next receive must return: with a deferred checkpoint at once
 * (an empty queue is its cue); otherwise the shutdown flag is polled at
 * least every IDLE_POLL_MAX_MS, an open batch included — a long window must
 * not hold shutdown back (issue 16 §4; the loop then applies the open
 * batch, see batch_loop) — and an open batch's wait ends with its window.
 */
static int64_t recv_deadline(const loop *L)
{
	int idle = L->window_ms < IDLE_POLL_MAX_MS ? L->window_ms
	                                           : IDLE_POLL_MAX_MS;
	int64_t poll = slip__now_ns() + (int64_t)idle * 1000000;

	if (L->deferred)
		return slip__now_ns();
	if (L->n == 0 || L->deadline_ns > poll)
		return poll;
	return L->deadline_ns;
}

/*
 * Receives and batches until shutdown (the open batch is flushed; *stopped
 * is set) or until the watch thread ends (the channel's sending side
 * closes; the open batch is left for subscribe() to judge).
 */
static int batch_loop(loop *L, slip_chan *ch, bool *stopped)
{
	slip_entry *got[RECV_MANY];
	size_t k, i, want;
	int rc;

	for (;;) {
		if (slip_shutdown_triggered(L->o->shutdown)) {
			*stopped = true;
			rc = flush(L);
			return rc == SLIP_OK ? commit_deferred(L) : rc;
		}
		/*
		 * An empty batch takes its first update at once (its window
		 * starts then); an open one asks to be woken only when the
		 * rest of it is queued, at a caught-up marker or when its
		 * window ends — not once per update.
		 */
		want = L->max - L->n < RECV_MANY ? L->max - L->n : RECV_MANY;
		if (want == 0)
			want = 1;
		rc = slip__chan_recv_batch(ch, got, want, L->n == 0 ? 1 : want,
		                           recv_deadline(L), &k);
		if (rc == SLIP_ETIMEOUT) {
			/* Nothing queued: the deferred checkpoint is due. */
			if ((rc = commit_deferred(L)) != SLIP_OK)
				return rc;
			if (L->n > 0 && slip__now_ns() >= L->deadline_ns &&
			    (rc = flush(L)) != SLIP_OK)
				return rc;
			if (L->expiry != NULL &&
			    slip__now_ns() >= L->expiry_next_ns &&
			    (rc = expiry_run(L)) != SLIP_OK)
				return rc;
			continue;
		}
		if (rc != SLIP_OK)
			return SLIP_OK; /* the watch ended */
		for (i = 0; i < k && rc == SLIP_OK; i++)
			rc = take(L, got[i]);
		for (; i < k; i++)
			slip_entry_free(got[i]);
		if (rc != SLIP_OK)
			return rc;
		if (L->n > 0 && slip__now_ns() >= L->deadline_ns &&
		    (rc = flush(L)) != SLIP_OK)
			return rc;
		if (L->deferred && slip__now_ns() >= L->commit_by_ns &&
		    (rc = commit_deferred(L)) != SLIP_OK)
			return rc;
	}
}

/* ------------------------------------------------------- subscriptions */

/*
 * One subscription: starts the watch thread, batches until it ends or
 * shutdown, then cancels and joins it. Returns the loop's own error; the
 * watch's result goes to *watch_rc (its message to @p wt->err).
 */
static int subscribe(loop *L, watch_thread *wt, int *watch_rc, bool *stopped)
{
	size_t cap = L->max * 2 < 256 ? 256 : L->max * 2;

	if (L->o->snapshot != NULL && cap < SNAP_CHAN_MIN)
		cap = SNAP_CHAN_MIN;
	slip_chan *ch = NULL;
	int rc;

	*watch_rc = SLIP_OK;
	rc = slip_chan_new(&ch, cap);
	if (rc != SLIP_OK)
		return rc;
	memset(wt, 0, sizeof(*wt));
	wt->watcher = L->o->watcher;
	wt->scope = &L->scope;
	wt->from = L->resync != NULL ? slip_cursor_none() : L->applied;
	wt->ch = ch;
	if (pthread_create(&wt->tid, NULL, watch_main, wt) != 0) {
		slip_chan_free(ch);
		return slip_set_error(SLIP_ENOMEM, "watch_applied: cannot "
		                                   "start the watch thread");
	}
	L->progress = false;
	rc = batch_loop(L, ch, stopped);
	/* Cancels the watch: the backend's send fails and it returns. */
	slip_chan_close_recv(ch);
	pthread_join(wt->tid, NULL);
	slip_chan_free(ch);
	*watch_rc = wt->rc;
	/*
	 * What arrived before the watch ended is in order and complete up to
	 * its last cursor, so it is applied — unless the watch ended with
	 * CursorExpired: then it may lie past a gap, and the resync that
	 * follows replays everything anyway.
	 */
	if (rc == SLIP_OK && !*stopped && wt->rc != SLIP_ECURSOREXPIRED)
		rc = flush(L);
	if (rc == SLIP_OK)
		rc = commit_deferred(L);
	free_batch(L);
	return rc;
}

static bool retryable(int rc)
{
	return rc == SLIP_EWATCH || rc == SLIP_ETIMEOUT || rc == SLIP_EIO ||
	       rc == SLIP_EBACKEND;
}

/* Capped exponential backoff with jitter in [d/2, d]; false on shutdown. */
static bool backoff(loop *L, int *delay_ms, unsigned *seed)
{
	int d = *delay_ms;
	int wait = d / 2 + (int)(rand_r(seed) % (unsigned)(d / 2 + 1));

	*delay_ms = d * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d * 2;
	if (L->o->shutdown != NULL)
		return !slip_shutdown_wait(L->o->shutdown, wait);
	struct timespec ts = {wait / 1000, (long)(wait % 1000) * 1000000};
	nanosleep(&ts, NULL);
	return true;
}

static int check_options(const slip_applied_options *o)
{
	if (o == NULL)
		return slip_set_error(SLIP_EINVAL, "watch_applied: options "
		                                   "are NULL");
	if (slip__version_check(o->version, SLIP_APPLIED_OPTIONS_VERSION,
	                        "watch_applied: options",
	                        "SLIP_APPLIED_OPTIONS_INIT") != SLIP_OK)
		return SLIP_EINVAL;
	if (o->watcher == NULL)
		return slip_set_error(SLIP_EINVAL, "watch_applied: watcher is "
		                                   "NULL");
	if (o->apply == NULL)
		return slip_set_error(SLIP_EINVAL, "watch_applied: apply is "
		                                   "NULL");
	if (o->batch_max > BATCH_MAX_LIMIT)
		return slip_set_error(SLIP_EINVAL,
		                      "watch_applied: batch max %zu is above "
		                      "%d",
		                      o->batch_max, BATCH_MAX_LIMIT);
	if (o->batch_window_ms < 0)
		return slip_set_error(SLIP_EINVAL,
		                      "watch_applied: batch window %d ms is "
		                      "negative",
		                      o->batch_window_ms);
	return SLIP_OK;
}

/* The check's interval from the options (version 2), 0 when off. */
static int64_t expiry_every_ns(const slip_applied_options *o)
{
	int ms = o->version >= 2 ? o->expiry_check_ms : 0;

	if (ms < 0)
		return 0;
	return (int64_t)(ms > 0 ? ms : SLIP_EXPIRY_CHECK_DEFAULT_MS) * 1000000;
}

static void loop_init(loop *L, const slip_applied_options *o)
{
	memset(L, 0, sizeof(*L));
	L->o = o;
	L->expiry_every_ns = expiry_every_ns(o);
	L->expiry_next_ns = slip__now_ns() + L->expiry_every_ns;
	L->window_ms = o->batch_window_ms ? o->batch_window_ms : 10;
	L->max = o->batch_max ? o->batch_max : 100;
	if (o->resume != NULL)
		L->applied = *o->resume;
	else if (o->snapshot != NULL)
		L->applied = *slip_snapshot_writer_cursor(o->snapshot);
}

/* What one ended subscription means: 1 go on, else the final result. */
static int after_watch(loop *L, int watch_rc, const char *err, int *delay_ms,
                       unsigned *seed, int *final_rc)
{
	if (watch_rc == SLIP_ECURSOREXPIRED && L->resync == NULL) {
		*final_rc = resync_begin(L, true);
		return *final_rc == SLIP_OK;
	}
	if (retryable(watch_rc)) {
		if (L->progress)
			*delay_ms = BACKOFF_FIRST_MS;
		if (L->resync != NULL)
			slip__resync_restart(L->resync);
		*final_rc = SLIP_OK;
		return backoff(L, delay_ms, seed);
	}
	*final_rc = watch_rc;
	if (watch_rc != SLIP_OK)
		slip_set_error(watch_rc, "%s", err);
	return 0;
}

/* The options at the current version's size: a version-1 struct ends
 * before the prefix list, which then stays empty. */
static void copy_options(slip_applied_options *full,
                         const slip_applied_options *o)
{
	memset(full, 0, sizeof(*full));
	memcpy(full, o,
	       o->version == 1 ? offsetof(slip_applied_options, prefixes)
	                       : sizeof(*full));
}

int slip_watch_applied(const slip_applied_options *opts,
                       slip_cursor *final_cursor)
{
	slip_applied_options full;
	loop L;
	watch_thread *wt = NULL;
	int delay_ms = BACKOFF_FIRST_MS;
	unsigned seed = (unsigned)slip__now_ns();
	bool stopped = false;
	int rc, watch_rc;

	rc = check_options(opts);
	if (rc == SLIP_OK) {
		copy_options(&full, opts);
		loop_init(&L, &full);
		rc = slip__prefix_set_init(&L.scope, full.prefix, full.prefixes,
		                           full.prefix_count, "watch_applied");
	}
	if (rc != SLIP_OK) {
		if (final_cursor != NULL)
			*final_cursor = slip_cursor_none();
		return rc;
	}
	wt = calloc(1, sizeof(*wt));
	rc = wt == NULL ? slip_set_error(SLIP_ENOMEM, "watch_applied: out of "
	                                              "memory")
	                : grow_batch(&L);
	if (rc == SLIP_OK && L.expiry_every_ns > 0)
		rc = slip__expiry_new(&L.expiry, opts->snapshot, opts->prefix);
	/* A full watch over a snapshot that holds keys is a resync. */
	if (rc == SLIP_OK && slip_cursor_is_none(&L.applied) &&
	    opts->snapshot != NULL &&
	    slip_snapshot_writer_count(opts->snapshot))
		rc = resync_begin(&L, false);
	while (rc == SLIP_OK && !stopped &&
	       !slip_shutdown_triggered(opts->shutdown)) {
		rc = subscribe(&L, wt, &watch_rc, &stopped);
		if (rc != SLIP_OK || stopped)
			break;
		if (!after_watch(&L, watch_rc, wt->err, &delay_ms, &seed, &rc))
			break;
	}
	free_batch(&L);
	slip__resync_free(L.resync);
	slip__prefix_set_free(&L.scope);
	slip__expiry_free(L.expiry);
	free(L.raw);
	free(L.items);
	free(wt);
	if (final_cursor != NULL)
		*final_cursor = L.applied;
	return rc;
}
