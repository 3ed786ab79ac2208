/*
 * slipstream/chan.h — a bounded, closable, thread-safe channel of entries.
 *
 * Watches deliver updates into a channel that the caller reads from another
 * thread. It is bounded: a send blocks while the channel is full, so a slow
 * receiver applies back-pressure and nothing is dropped.
 *
 * Closing:
 *  - the receiver calls slip_chan_close_recv() to cancel: every blocked and
 *    later send returns SLIP_ECLOSED (the watch then ends and returns OK) and
 *    queued entries are freed;
 *  - the sender calls slip_chan_close_send() when done: the receiver drains
 *    what is queued, then slip_chan_recv() returns SLIP_ECLOSED.
 * Every watch call closes the sending side when it returns.
 *
 * Lifetime: the creator owns the channel and frees it with slip_chan_free()
 * once no thread uses it any more (after joining the watch thread).
 */
#ifndef SLIPSTREAM_CHAN_H
#define SLIPSTREAM_CHAN_H

#include <stdbool.h>

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct slip_chan slip_chan;

/**
 * Creates a channel holding at most @p capacity entries (>= 1).
 * @return SLIP_OK, SLIP_EINVAL (capacity 0), SLIP_ENOMEM.
 */
SLIP_EXTERN int slip_chan_new(slip_chan **out, size_t capacity);

/** Frees the channel and any entries still queued. NULL is a no-op. */
SLIP_EXTERN void slip_chan_free(slip_chan *ch);

/**
 * Queues @p e, blocking while the channel is full. On SLIP_OK the channel
 * owns @p e; on any error the caller still owns it.
 * @return SLIP_OK, or SLIP_ECLOSED when either side has closed.
 */
SLIP_EXTERN int slip_chan_send(slip_chan *ch, slip_entry *e);

/**
 * As slip_chan_send() but gives up after @p timeout_ms (SLIP_ETIMEOUT).
 * A negative timeout waits forever.
 */
SLIP_EXTERN int slip_chan_send_timeout(slip_chan *ch, slip_entry *e,
                                       int timeout_ms);

/**
 * Takes the oldest entry, waiting up to @p timeout_ms (negative: forever,
 * 0: do not wait). On SLIP_OK the caller owns *out.
 * @return SLIP_OK, SLIP_ETIMEOUT, or SLIP_ECLOSED once the sender has
 * closed and the queue is drained (or the receiver has closed).
 */
SLIP_EXTERN int slip_chan_recv(slip_chan *ch, slip_entry **out, int timeout_ms);

/** Receiver side: cancel. Queued entries are freed; senders get ECLOSED. */
SLIP_EXTERN void slip_chan_close_recv(slip_chan *ch);

/** Sender side: no more sends; the receiver drains then gets ECLOSED. */
SLIP_EXTERN void slip_chan_close_send(slip_chan *ch);

/** True once the receiver has closed (senders should stop). */
SLIP_EXTERN bool slip_chan_recv_closed(slip_chan *ch);

/** Entries currently queued. */
SLIP_EXTERN size_t slip_chan_len(slip_chan *ch);

#ifdef __cplusplus
}
#endif
#endif
