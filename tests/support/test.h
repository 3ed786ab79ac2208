/*
 * tests/support/test.h — the tiny test runner every Slipstream test uses.
 *
 * A test file lists its cases in a table and hands it to slip_test_main():
 *
 *   static void t_put_get(void) { CHECK_OK(...); CHECK(x == 1); }
 *   static const slip_test_case cases[] = { SLIP_TEST(t_put_get), {0} };
 *   int main(int argc, char **argv) { return slip_test_main(argc, argv, cases);
 * }
 *
 * A case that shares its set-up with others names it once, with
 * SLIP_TEST_F(fn, setup, teardown): setup runs first (its CHECK/REQUIRE
 * failures fail the case and skip fn), teardown always runs after, so it
 * must undo whatever part of the set-up happened. The fixture they build
 * lives in a static of the test file; slip_test_name() names the case.
 *
 * Arguments filter cases by substring. Each case runs in-process in order;
 * a failed CHECK records the failure and continues, REQUIRE returns from the
 * case. A case that cannot run on the server at hand (it needs a newer
 * nats-server) calls slip_test_skip() with the reason and returns. The run
 * ends with the plain closing line "N passed, N failed, N skipped" and exits
 * non-zero on any failure (or when nothing passed or skipped).
 */
#ifndef SLIP_TEST_H
#define SLIP_TEST_H

#include <stdbool.h>
#include <stdio.h>

#include <slipstream.h>

typedef struct slip_test_case {
	const char *name;
	void (*fn)(void);
	void (*setup)(void);    /**< optional: before fn */
	void (*teardown)(void); /**< optional: after fn, even when it failed */
} slip_test_case;

#define SLIP_TEST(fn)                                                          \
	{                                                                      \
#fn, fn, NULL, NULL                                            \
	}

/** A case with a shared per-case set-up and teardown. */
#define SLIP_TEST_F(fn, setup, teardown)                                       \
	{                                                                      \
#fn, fn, setup, teardown                                       \
	}

/** The name of the case running now ("t_order"), for fixtures. */
const char *slip_test_name(void);

/** Runs @p cases (terminated by {0}); returns the process exit code. */
int slip_test_main(int argc, char **argv, const slip_test_case *cases);

/** Records a failure of the current case (printf-style detail). */
void slip_test_fail(const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/**
 * Marks the current case skipped and prints "skip - <case>: <reason>". When
 * SLIP_TEST_SKIP_LOG names a file the line "<program> <case>: <reason>" is
 * appended to it, so scripts/test.sh can list every skip per server. Use
 * only for a server that lacks what the case needs (say which version
 * does); the caller returns right after.
 */
void slip_test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Failures recorded in the current case so far. */
int slip_test_case_failures(void);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			slip_test_fail(__FILE__, __LINE__, "CHECK(%s)",        \
			               #cond);                                 \
	} while (0)

#define REQUIRE(cond)                                                          \
	do {                                                                   \
		if (!(cond)) {                                                 \
			slip_test_fail(__FILE__, __LINE__, "REQUIRE(%s)",      \
			               #cond);                                 \
			return;                                                \
		}                                                              \
	} while (0)

/** Expects @p expr to return @p code (an int error code). */
#define CHECK_RC(expr, code)                                                   \
	do {                                                                   \
		int rc_ = (expr);                                              \
		if (rc_ != (code))                                             \
			slip_test_fail(__FILE__, __LINE__,                     \
			               "%s returned %s, expected %s (%s)",     \
			               #expr, slip_err_name(rc_),              \
			               slip_err_name(code),                    \
			               slip_last_error());                     \
	} while (0)

#define CHECK_OK(expr) CHECK_RC(expr, SLIP_OK)

#define REQUIRE_OK(expr)                                                       \
	do {                                                                   \
		int rc_ = (expr);                                              \
		if (rc_ != SLIP_OK) {                                          \
			slip_test_fail(__FILE__, __LINE__,                     \
			               "%s returned %s (%s)", #expr,           \
			               slip_err_name(rc_), slip_last_error()); \
			return;                                                \
		}                                                              \
	} while (0)

#endif
