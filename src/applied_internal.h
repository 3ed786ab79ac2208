/*
 * src/applied_internal.h — the resync key tracker shared by applied.c (the
 * watch_applied loop) and applied_resync.c (its implementation).
 *
 * During a resync (the resume cursor expired, so a full watch replays the
 * current state) the loop must find the keys the caller still holds that the
 * server no longer has. The tracker holds every in-scope key the caller may
 * hold: first the snapshot's committed keys, then every key a replay put.
 * Each key is STALE until the current replay attempt delivers it; whatever is
 * still STALE when the replay has caught up gets a synthetic Delete.
 */
#ifndef SLIP_APPLIED_INTERNAL_H
#define SLIP_APPLIED_INTERNAL_H

#include "internal.h"

typedef struct slip__resync slip__resync;

/**
 * A tracker seeded with the committed keys of @p snap (may be NULL) inside
 * @p scope (borrowed: it must outlive the tracker), so a resync deletes
 * only keys under the prefixes watched. SLIP_OK or SLIP_ENOMEM.
 */
int slip__resync_new(slip__resync **out, const slip_snapshot_writer *snap,
                     const slip_prefix_set *scope);

/**
 * A new replay attempt begins (the previous one broke off): every key it
 * delivered as a Put may be gone by now, so it becomes STALE again.
 */
void slip__resync_restart(slip__resync *r);

/**
 * Records an applied replay update: a Put makes its key live, a Delete or
 * Purge marks it gone (the caller already applied that). SLIP_ENOMEM.
 */
int slip__resync_note(slip__resync *r, const slip_entry *update);

/**
 * Synthetic Deletes (flag SLIP_ENTRY_SYNTHETIC, no version, no cursor), one
 * per key still STALE, sorted by key. Caller owns *out. SLIP_ENOMEM.
 */
int slip__resync_stale(slip__resync *r, slip_entry_list *out);

/** Number of keys tracked (for tests and diagnostics). */
size_t slip__resync_count(const slip__resync *r);

/** Frees the tracker. NULL is a no-op. */
void slip__resync_free(slip__resync *r);

/* ------------------------------------------- silent removals (expiry) */

/*
 * The silent-removal check (src/applied_expiry.c): the latest applied
 * revision of every in-scope key the caller holds, and the keys among them
 * the server can no longer hold (revision below the store's first sequence,
 * and no message for the key at all).
 */
typedef struct slip__expiry slip__expiry;

/** A tracker seeded with the committed keys of @p snap (may be NULL). */
int slip__expiry_new(slip__expiry **out, const slip_snapshot_writer *snap,
                     const char *prefix);
/** Records an applied update (Put: its revision; Delete/Purge: forgets). */
int slip__expiry_note(slip__expiry *x, const slip_entry *update);
/**
 * Synthetic Deletes (flag SLIP_ENTRY_SYNTHETIC, no version, no cursor) for
 * the tracked keys the store behind @p w no longer holds. Caller owns *out. One
 * store info request, plus one read per key below the first sequence.
 */
int slip__expiry_check(slip__expiry *x, const slip_watcher *w,
                       slip_entry_list *out);
/** Number of keys tracked. */
size_t slip__expiry_count(const slip__expiry *x);
/** Frees the tracker. NULL is a no-op. */
void slip__expiry_free(slip__expiry *x);

#endif
