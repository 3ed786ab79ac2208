/*
 * tests/conformance/fixture_mem.c — runs the conformance suite on the
 * memory backend. Nothing to start: every case connects to one namespace
 * of this process, and history disappears through slip_mem_drop_before();
 * expiry cases move the bucket clock with slip_mem_advance_clock().
 */
#include <slipstream/memory.h>

#include "conformance.h"

static const char *mem_url(void *ctx)
{
	(void)ctx;
	return "mem://conformance";
}

static int mem_drop_before(void *ctx, slip_store *store, uint64_t revision)
{
	(void)ctx;
	return slip_mem_drop_before(store, revision);
}

static int mem_advance(void *ctx, slip_store *store, int64_t ms)
{
	(void)ctx;
	return slip_mem_advance_clock(store, ms);
}

const conf_fixture conf_backend = {
        .name = "mem",
        .setup = NULL,
        .teardown = NULL,
        .url = mem_url,
        .drop_before = mem_drop_before,
        .advance_ms = mem_advance,
};
