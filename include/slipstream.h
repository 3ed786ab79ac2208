/*
 * slipstream.h — umbrella header: include this one.
 *
 * Slipstream reads, writes and watches configuration in NATS JetStream
 * key-value buckets (or the in-process memory backend), and keeps a local
 * snapshot so a service restarts from the delta, not a full replay.
 * See docs/ and each header below for the contract of every call.
 *
 * Not included here: slipstream/memory.h, the memory backend's own extras
 * (include it where you use them, as libgit2 keeps git2/sys/mempack.h out
 * of git2.h), and slipstream/sys/backend.h, the backend-writer API.
 */
#ifndef SLIPSTREAM_H
#define SLIPSTREAM_H

#include "slipstream/common.h"
#include "slipstream/types.h"
#include "slipstream/keys.h"
#include "slipstream/chan.h"
#include "slipstream/conn.h"
#include "slipstream/pipeline.h"
#include "slipstream/snapshot.h"
#include "slipstream/applied.h"
#include "slipstream/replica.h"

#endif
