/*
 * slipstream.h — umbrella header: include this one.
 *
 * Slipstream reads, writes and watches configuration in NATS JetStream
 * key-value buckets (or the in-process memory backend), and keeps a local
 * snapshot so a service restarts from the delta, not a full replay.
 * See docs/ and each header below for the contract of every call.
 */
#ifndef SLIPSTREAM_H
#define SLIPSTREAM_H

#include "slipstream/common.h"
#include "slipstream/types.h"
#include "slipstream/keys.h"
#include "slipstream/chan.h"
#include "slipstream/conn.h"
#include "slipstream/snapshot.h"
#include "slipstream/applied.h"
#include "slipstream/memory.h"
#include "slipstream/replica.h"

#endif
