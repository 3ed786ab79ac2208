/*
 * src/util/util.h — portable helpers below both the core and the built-in
 * backends. This folder is the one part of src/ a backend may include
 * besides its own (scripts/check-layers.sh): it knows nothing about
 * connections, stores or backends, only bytes, clocks and strings.
 *
 *   byte order      slip__put_u64be / slip__get_u64be, _u16le, _u32le
 *   clocks          slip__now_ns (monotonic), slip__realtime_ns,
 *                   slip__deadline_after_ms (for timed condition waits)
 *   base64          slip__base64_decode (for in-memory credentials)
 *   wiping          slip__wipe (secrets before free)
 *   prefixes        slip__prefixes_match (a key against a sorted prefix list)
 *
 * Beside it: map.h (the one hash map), grow.h (the one growable array),
 * hugepage.h (a huge-page hint for big fresh blocks).
 *
 * Nothing here is exported: names carry the slip__ prefix and the library
 * is built with -fvisibility=hidden. Errors are reported with
 * slip_set_error() from <slipstream/sys/backend.h>.
 */
#ifndef SLIP_UTIL_H
#define SLIP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ------------------------------------------------------------ byte order */

static inline void slip__put_u64be(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

static inline uint64_t slip__get_u64be(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static inline void slip__put_u16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v & 0xff);
	p[1] = (uint8_t)(v >> 8);
}

static inline uint16_t slip__get_u16le(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline void slip__put_u32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t slip__get_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

/* ---------------------------------------------------------------- clocks */

/** Monotonic clock in nanoseconds. */
int64_t slip__now_ns(void);
/** Wall clock in nanoseconds since the epoch. */
int64_t slip__realtime_ns(void);
/**
 * Absolute CLOCK_MONOTONIC time @p timeout_ms (>= 0) from now, for
 * pthread_cond_timedwait on a condition variable set to that clock.
 */
struct timespec slip__deadline_after_ms(int timeout_ms);

/* ---------------------------------------------------------------- base64 */

/**
 * Decodes standard (or URL-safe) base64, padding optional, whitespace
 * ignored. On SLIP_OK *out is malloc'd (NUL-terminated, caller frees;
 * wipe secrets before freeing). SLIP_EINVAL on bad input.
 */
int slip__base64_decode(const char *in, uint8_t **out, size_t *out_len);

/** Overwrites @p len bytes at @p p with zeros in a way not optimised out. */
void slip__wipe(void *p, size_t len);

/* -------------------------------------------------------------- prefixes */

/**
 * True when @p key starts with one of @p count prefixes that are sorted
 * (strcmp order) and none a prefix of another — a normalised prefix set
 * (src/prefixes.c makes them): the last member <= key is the only
 * candidate, found by binary search.
 */
bool slip__prefixes_match(const char *const *items, size_t count,
                          const char *key);

#endif
