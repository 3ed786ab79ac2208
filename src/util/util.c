/*
 * src/util/util.c — the portable helpers of src/util/util.h, shared by the
 * core and the built-in backends: clocks, base64 decoding and
 * memory wiping. Nothing here knows about connections, stores or backends.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <slipstream/sys/backend.h>

#include "util.h"

/* ---------------------------------------------------------------- clocks */

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t slip__now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int64_t slip__realtime_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

struct timespec slip__deadline_after_ms(int timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* ---------------------------------------------------------------- base64 */

/* Value of a base64 digit (standard or URL-safe alphabet), -1 otherwise. */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static bool b64_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	       c == '\v';
}

int slip__base64_decode(const char *in, uint8_t **out, size_t *out_len)
{
	size_t n = 0, pad = 0, pos = 0;
	uint32_t acc = 0;
	int bits = 0, rc = SLIP_OK;
	uint8_t *buf = NULL;

	*out = NULL;
	*out_len = 0;
	if (in == NULL)
		return slip_set_error(SLIP_EINVAL, "base64: NULL input");
	buf = malloc(strlen(in) / 4 * 3 + 4);
	if (buf == NULL)
		return slip_set_error(SLIP_ENOMEM, "base64: out of memory");
	for (pos = 0; in[pos] != '\0'; pos++) {
		unsigned char c = (unsigned char)in[pos];
		int v;

		if (b64_space(c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		v = b64_value(c);
		if (v < 0 || pad > 0) {
			rc = slip_set_error(
			        SLIP_EINVAL, "base64: %s at offset %zu",
			        v < 0 ? "bad character" : "data after padding",
			        pos);
			goto done;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* 6 leftover bits cannot encode a byte; more than 2 '=' is garbage. */
	if (bits >= 6 || pad > 2) {
		rc = slip_set_error(SLIP_EINVAL, "base64: truncated input");
		goto done;
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	buf = NULL;
done:
	if (buf != NULL) {
		slip__wipe(buf, n);
		free(buf);
	}
	slip__wipe(&acc, sizeof(acc));
	return rc;
}

/* -------------------------------------------------------------- wiping */

/* A volatile function pointer keeps the compiler from eliding the wipe. */
static void *(*const volatile wipe_memset)(void *, int, size_t) = memset;

void slip__wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		wipe_memset(p, 0, len);
}

/* ------------------------------------------------------------ prefixes */

bool slip__prefixes_match(const char *const *items, size_t count,
                          const char *key)
{
	size_t lo = 0, hi = count;

	/* Every string starting with p sorts in one run right after p, and
	 * no other member lies in that run, so the last member <= key is the
	 * only one that can be its prefix. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(items[mid], key) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 &&
	       strncmp(key, items[lo - 1], strlen(items[lo - 1])) == 0;
}
