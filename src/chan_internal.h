/*
 * src/chan_internal.h — channel calls for the library's own consumers
 * (the applied loop), beyond the public chan.h.
 */
#ifndef SLIP_CHAN_INTERNAL_H
#define SLIP_CHAN_INTERNAL_H

#include <stdint.h>

#include <slipstream/chan.h>

/**
 * Takes up to @p max queued entries at once, oldest first, into @p out,
 * waiting up to @p timeout_ms (negative: forever, 0: do not wait) for the
 * first one; never waits for more once one is there. On SLIP_OK *n >= 1
 * and the caller owns out[0..*n-1]. One lock round trip per batch.
 * @return SLIP_OK, SLIP_ETIMEOUT, SLIP_ECLOSED (as slip_chan_recv()),
 * SLIP_EINVAL (max 0, NULL arguments).
 */
int slip__chan_recv_many(slip_chan *ch, slip_entry **out, size_t max,
                         int timeout_ms, size_t *n);

/**
 * Takes up to @p max queued entries at once, oldest first, into @p out,
 * once the queue holds @p want of them (clamped to 1..max), or is full, or
 * holds a SLIP_OP_CAUGHT_UP marker, or the channel closes — or at
 * @p deadline_ns (slip__now_ns() clock; negative: no deadline) with
 * whatever is queued then. Senders wake this receiver only for those
 * reasons, not per entry: a batch costs one thread switch, not one per
 * entry. Plain receivers (slip_chan_recv, recv_many) are not affected.
 * On SLIP_OK *n >= 1 and the caller owns out[0..*n-1].
 * @return SLIP_OK, SLIP_ETIMEOUT (nothing queued by the deadline),
 * SLIP_ECLOSED (as slip_chan_recv()), SLIP_EINVAL (max 0, NULL arguments).
 */
int slip__chan_recv_batch(slip_chan *ch, slip_entry **out, size_t max,
                          size_t want, int64_t deadline_ns, size_t *n);

#endif
