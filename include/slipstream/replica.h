/*
 * slipstream/replica.h — a reader served from a local in-memory map that a
 * background slip_watch_applied() loop keeps current.
 *
 * Reads (get, scan, keys, count) never touch the network: they copy out of
 * the map under a read lock, so they cost what a hash lookup and a malloc
 * cost. With a snapshot path the map is loaded from the snapshot at open
 * (reads are served at once, warm, before the server has answered) and the
 * loop resumes from the snapshot's cursor, so a restart fetches only the
 * delta. slip_replica_wait() gives read-your-writes: pass it the version a
 * writer returned and it returns once the replica has applied it.
 *
 * The map follows the server exactly: puts set a key, deletes and purges
 * remove it, and after a CursorExpired resync (history discarded, bucket
 * recreated) keys the server no longer has are removed, so the map ends
 * equal to the server's state in scope.
 *
 * Threading: every call except slip_replica_free() may be made from any
 * thread at the same time. The replica runs one thread of its own (the
 * apply loop plus the watch thread slip_watch_applied() starts).
 */
#ifndef SLIPSTREAM_REPLICA_H
#define SLIPSTREAM_REPLICA_H

#include "applied.h"
#include "conn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct slip_replica slip_replica;

/** Version 2 added prefixes / prefix_count (version 1 is still accepted). */
#define SLIP_REPLICA_OPTIONS_VERSION 2

/** Default compaction threshold of the replica's snapshot (64 MiB). */
#define SLIP_REPLICA_COMPACT_DEFAULT (64u * 1024u * 1024u)

/**
 * What to replicate and where to keep it. Strings are copied by
 * slip_replica_open(). The store (or watcher) is borrowed: it must outlive
 * the replica (free the replica first).
 */
typedef struct slip_replica_options {
	unsigned version;      /**< SLIP_REPLICA_OPTIONS_VERSION */
	slip_store *store;     /**< the store to follow (or give watcher) */
	slip_watcher *watcher; /**< used when set; else the store's watcher */
	const char *prefix;    /**< NULL or "": every key, else a prefix */
	/**
	 * Optional snapshot file: loaded at open (warm start), kept current
	 * by the loop, resumed from. NULL: no snapshot, a full replay at
	 * every open. The file is locked while the replica runs, so two
	 * replicas cannot share one path.
	 */
	const char *snapshot_path;
	/** Compact after this many appended bytes; 0 = default, UINT64_MAX
	 * = never. */
	uint64_t compact_threshold;
	int batch_window_ms; /**< 0 = 10 (see slip_applied_options) */
	size_t batch_max;    /**< 0 = 100 */
	/**
	 * Since version 2: replicate the union of @c prefix_count prefixes
	 * instead of @c prefix (which must then be NULL): one watch, one
	 * cursor; the map holds only keys inside the union.
	 */
	const char *const *prefixes;
	size_t prefix_count;
} slip_replica_options;

#define SLIP_REPLICA_OPTIONS_INIT                                              \
	{                                                                      \
		SLIP_REPLICA_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, 0, 0, \
		        NULL, 0                                                \
	}

/**
 * Opens a replica: loads the snapshot (when given) into the map, then
 * starts the background loop resuming from the snapshot's cursor (or from
 * the beginning). Returns without waiting for the server: reads are served
 * from the snapshot state at once; use slip_replica_wait_caught_up() to
 * wait for fresh state.
 * @return SLIP_OK (caller owns *out; free with slip_replica_free()),
 * SLIP_EINVAL (bad options, no watcher), SLIP_ECORRUPTED /
 * SLIP_EUNSUPPORTEDVERSION / SLIP_EIO (snapshot file, or it is locked by
 * another writer), SLIP_ENOMEM. On error nothing is started.
 */
SLIP_EXTERN int slip_replica_open(slip_replica **out,
                                  const slip_replica_options *opts);

/**
 * Copy of the live entry for @p key. *out is NULL when the key is absent
 * (not an error, no message set). Never touches the network.
 * @return SLIP_OK (caller owns *out), SLIP_EINVAL (NULL argument),
 * SLIP_ENOMEM. Thread-safe.
 */
SLIP_EXTERN int slip_replica_get(slip_replica *r, const char *key,
                                 slip_entry **out);

/**
 * Copies of every live entry whose key starts with @p prefix (NULL or ""
 * for all), sorted by key. One consistent view: no update is half-seen.
 * @return SLIP_OK (caller owns *out and its entries), SLIP_EINVAL,
 * SLIP_ENOMEM (then *out is empty). Thread-safe.
 */
SLIP_EXTERN int slip_replica_scan(slip_replica *r, const char *prefix,
                                  slip_entry_list *out);

/** As slip_replica_scan() but only the keys, sorted. Caller owns *out. */
SLIP_EXTERN int slip_replica_keys(slip_replica *r, const char *prefix,
                                  slip_key_list *out);

/** Number of live keys in the map. Thread-safe. */
SLIP_EXTERN size_t slip_replica_count(slip_replica *r);

/**
 * The applied cursor: every update up to it is in the map (and, with a
 * snapshot, durably checkpointed). None before anything was applied.
 * @return SLIP_OK or SLIP_EINVAL. Thread-safe.
 */
SLIP_EXTERN int slip_replica_cursor(slip_replica *r, slip_cursor *out);

/**
 * Read-your-writes: waits until the replica has applied revision @p rev
 * (the version a writer returned for a key in the replica's scope), at
 * most @p timeout_ms (negative: forever). Then slip_replica_get() shows
 * that write or a later one.
 * Revisions are compared with the applied cursor's sequence, so this call
 * needs a backend whose versions are revisions and whose cursors are in the
 * sequence layout of sys/backend.h (the built-in nats and mem backends).
 * @return SLIP_OK; SLIP_ETIMEOUT; SLIP_EUNSUPPORTED when versions are not
 * 8-byte revisions; the loop's error (or SLIP_ESHUTDOWN after close) when
 * the loop has stopped short of @p rev. Thread-safe.
 */
SLIP_EXTERN int slip_replica_wait(slip_replica *r, const slip_version *rev,
                                  int timeout_ms);

/**
 * Waits until the replica has caught up with the server at least once
 * since open (initial replay, delta since the snapshot, or resync applied)
 * and no resync is in progress, at most @p timeout_ms (negative: forever).
 * @return SLIP_OK, SLIP_ETIMEOUT, or the loop's error / SLIP_ESHUTDOWN
 * when it has stopped. Thread-safe.
 */
SLIP_EXTERN int slip_replica_wait_caught_up(slip_replica *r, int timeout_ms);

/**
 * SLIP_OK while the loop runs or after it stopped cleanly; the loop's
 * error once it stopped with one (the map then stays as it was, and reads
 * go on serving it). Thread-safe.
 */
SLIP_EXTERN int slip_replica_status(slip_replica *r);

/**
 * Stops the loop (finishing the batch in progress), joins its thread and
 * closes the snapshot file. Reads keep working on the final state;
 * waiters wake with SLIP_ESHUTDOWN. Idempotent and thread-safe.
 * @return the loop's error if it stopped with one, else SLIP_OK.
 */
SLIP_EXTERN int slip_replica_close(slip_replica *r);

/**
 * Closes (if needed) and frees the replica and its map. No other thread
 * may use @p r any more. NULL is a no-op.
 */
SLIP_EXTERN void slip_replica_free(slip_replica *r);

#ifdef __cplusplus
}
#endif
#endif
