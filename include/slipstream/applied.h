/*
 * slipstream/applied.h — watch_applied: the watch → batch → apply →
 * checkpoint loop, with the one rule a hand-written loop gets wrong: the
 * cursor advances only after apply() returns, never on receipt.
 *
 * Per batch, strictly in this order:
 *   apply(batch) returns 0
 *   → cursor = highest revision in the batch (dropped updates included)
 *   → the snapshot (if any) gets the batch's updates and checkpoints there
 *   → on_applied(cursor)
 * So a persisted cursor always means every update up to it was applied.
 *
 * CursorExpired is handled by a resync (full watch; keys the snapshot held
 * that the server no longer has reach apply() as synthetic Deletes).
 * WatchError is handled by resubscribing from the applied cursor with
 * capped exponential backoff and jitter, until shutdown.
 */
#ifndef SLIPSTREAM_APPLIED_H
#define SLIPSTREAM_APPLIED_H

#include "conn.h"
#include "snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --------------------------------------------------------------- shutdown */

/** A one-shot flag another thread (or a signal-safe path) can trigger. */
typedef struct slip_shutdown slip_shutdown;

/** Creates an untriggered handle. SLIP_OK or SLIP_ENOMEM. */
SLIP_EXTERN int slip_shutdown_new(slip_shutdown **out);
/** Triggers it; wakes every waiter. Thread-safe, idempotent. */
SLIP_EXTERN void slip_shutdown_trigger(slip_shutdown *s);
/** True once triggered. */
SLIP_EXTERN bool slip_shutdown_triggered(slip_shutdown *s);
/** Waits up to @p timeout_ms; true if triggered. */
SLIP_EXTERN bool slip_shutdown_wait(slip_shutdown *s, int timeout_ms);
/** Frees the handle (no waiter may remain). NULL is a no-op. */
SLIP_EXTERN void slip_shutdown_free(slip_shutdown *s);

/* ---------------------------------------------------------------- options */

/** Version 2 added prefixes / prefix_count and expiry_check_ms (version 1
 * is still accepted). */
#define SLIP_APPLIED_OPTIONS_VERSION 2

/** Default interval of the live silent-removal check (expiry_check_ms). */
#define SLIP_EXPIRY_CHECK_DEFAULT_MS 5000

typedef struct slip_applied_options {
	unsigned version;      /**< SLIP_APPLIED_OPTIONS_VERSION */
	slip_watcher *watcher; /**< required */
	const char *prefix;    /**< NULL or "": all keys, else a prefix */
	/**
	 * Resume after this cursor. NULL: the snapshot's committed cursor
	 * when a snapshot is given, else a full watch from the beginning.
	 */
	const slip_cursor *resume;
	/** Optional; owned by the caller, used only by this thread. */
	slip_snapshot_writer *snapshot;
	/**
	 * 0 = 10. Shutdown never waits a window out: it applies the open
	 * batch at once (apply, checkpoint, on_applied) and returns.
	 */
	int batch_window_ms;
	size_t batch_max; /**< 0 = 100 */

	/**
	 * Optional. Turns an update into an item for apply(). Set *item NULL
	 * to drop the update (its revision still advances the cursor).
	 * Non-zero return stops the loop with that error. Without parse, the
	 * items are the `const slip_entry *` updates themselves, borrowed
	 * for the duration of apply().
	 */
	int (*parse)(void *payload, const slip_entry *update, void **item);
	/** Optional: frees a parsed item after apply() (or on error). */
	void (*free_item)(void *payload, void *item);
	/**
	 * Required: apply a batch (count may be 0 when every update was
	 * dropped). Non-zero stops the loop with that error; the cursor does
	 * not advance past this batch.
	 */
	int (*apply)(void *payload, void *const *items, size_t count);
	/** Optional: the cursor is durably applied (and checkpointed). */
	void (*on_applied)(void *payload, const slip_cursor *cursor);
	/**
	 * Optional: an initial replay, a delta or a resync has been applied
	 * (the loop is caught up with the server as of subscribing).
	 */
	void (*on_caught_up)(void *payload, const slip_cursor *cursor);
	/**
	 * Optional, used only without a snapshot: the cursor expired and a
	 * full replay follows; the caller must reconcile its own state
	 * (e.g. clear it). Non-zero stops the loop with that error.
	 */
	int (*on_resync)(void *payload);
	void *payload; /**< passed to every callback */

	/** Optional: trigger from another thread to stop the loop. */
	slip_shutdown *shutdown;

	/**
	 * Since version 2: watch the union of @c prefix_count prefixes
	 * instead of @c prefix (which must then be NULL), as one stream with
	 * one cursor (see slip_watch_options). A resync deletes only keys
	 * inside the union. Borrowed for the call.
	 */
	const char *const *prefixes;
	size_t prefix_count;
	/**
	 * Silent removals (docs/applied.md): keys the server's limits removed
	 * without a message are dropped through synthetic Deletes after every
	 * caught-up point (each resume and resubscribe) and while live every
	 * this many ms. 0 = SLIP_EXPIRY_CHECK_DEFAULT_MS; negative = off.
	 */
	int expiry_check_ms;
} slip_applied_options;

#define SLIP_APPLIED_OPTIONS_INIT                                              \
	{                                                                      \
		SLIP_APPLIED_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, 0,    \
		        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,  \
		        0, 0                                                   \
	}

/**
 * Runs the loop until shutdown, until the watch ends for good, or until a
 * callback or checkpoint fails. *final_cursor (optional) gets the last
 * applied cursor in every case.
 * @return SLIP_OK on shutdown or when the receiver side ended; the error
 * of apply/parse/on_resync; SLIP_EIO etc. from a failed checkpoint;
 * SLIP_EINVAL for bad options.
 */
SLIP_EXTERN int slip_watch_applied(const slip_applied_options *opts,
                                   slip_cursor *final_cursor);

#ifdef __cplusplus
}
#endif
#endif
