/*
 * slipstream/memory.h — extras of the in-process memory backend ("mem://").
 *
 * The memory backend is a real backend with NATS semantics (bucket-wide
 * revision sequence, per-key history limit, tombstones, CAS, purge, watch
 * from a cursor). These calls do what server-side retention does, so that
 * CursorExpired and bucket recreation can be exercised without a server.
 *
 * Not part of the umbrella <slipstream.h>: a backend's extras are included
 * by the programs that use them, as libgit2 keeps git2/sys/mempack.h out
 * of git2.h.
 */
#ifndef SLIPSTREAM_MEMORY_H
#define SLIPSTREAM_MEMORY_H

#include "conn.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Discards every record with revision < @p revision, as age or size
 * retention would: the store's first_seq becomes @p revision, so cursors
 * below revision - 1 expire. Live values older than that are lost too.
 * @return SLIP_OK, SLIP_EINVAL (not a memory store), SLIP_ENOTCONNECTED.
 */
SLIP_EXTERN int slip_mem_drop_before(slip_store *store, uint64_t revision);

/**
 * Moves the store's bucket clock @p ms forward (it starts at the real
 * time), so tests can age keys out — max_age, per-key TTL, limit markers
 * and their own TTL — without sleeping. Every handle on the bucket sees
 * the same clock; expiry runs at once and watchers are woken.
 * @return SLIP_OK, SLIP_EINVAL (not a memory store, @p ms < 0),
 * SLIP_ENOTCONNECTED.
 */
SLIP_EXTERN int slip_mem_advance_clock(slip_store *store, int64_t ms);

#ifdef __cplusplus
}
#endif
#endif
