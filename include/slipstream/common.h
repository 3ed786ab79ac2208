/*
 * slipstream/common.h — export macro, error codes and the thread-local
 * last-error message shared by every other Slipstream header.
 *
 * Every fallible call returns an int: SLIP_OK (0) on success, one of the
 * negative SLIP_E* codes below on failure. Codes are only ever appended,
 * never renumbered. When a call fails it also leaves a sentence in a
 * thread-local buffer (slip_last_error()) naming the operation and key, e.g.
 * `update "node.a": revision mismatch: expected 41, server has 57`.
 * Expected outcomes (a missing key on get) set no message.
 */
#ifndef SLIPSTREAM_COMMON_H
#define SLIPSTREAM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define SLIP_EXTERN __declspec(dllexport)
#elif defined(__GNUC__)
#define SLIP_EXTERN __attribute__((visibility("default")))
#else
#define SLIP_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define SLIP_VERSION_MAJOR 0
#define SLIP_VERSION_MINOR 1
#define SLIP_VERSION_PATCH 0

/*
 * X(NAME, value, "strerror text"). The enum, slip_strerror() and
 * slip_err_name() are all generated from this one table.
 */
#define SLIP_ERRNO_MAP(X)                                                      \
	X(NOTCONNECTED, -1, "not connected")                                   \
	X(EXISTS, -2, "key already exists")                                    \
	X(REVISION, -3, "revision mismatch")                                   \
	X(CURSOREXPIRED, -4, "cursor expired")                                 \
	X(WATCH, -5, "watch stream failed")                                    \
	X(NOTFOUND, -6, "not found")                                           \
	X(INVAL, -7, "invalid argument")                                       \
	X(AUTH, -8, "authentication failed")                                   \
	X(TIMEOUT, -9, "timed out")                                            \
	X(CLOSED, -10, "closed")                                               \
	X(CORRUPTED, -11, "snapshot corrupted")                                \
	X(UNSUPPORTEDVERSION, -12, "unsupported snapshot version")             \
	X(IO, -13, "i/o error")                                                \
	X(NOMEM, -14, "out of memory")                                         \
	X(UNSUPPORTED, -15, "operation not supported")                         \
	X(CONFIG, -16, "store configuration mismatch")                         \
	X(TOOBIG, -17, "value too large")                                      \
	X(BACKEND, -18, "backend error")                                       \
	X(SHUTDOWN, -19, "shut down")

/** Error codes. SLIP_OK is 0; every error is negative. */
typedef enum slip_err {
	SLIP_OK = 0,
#define SLIP__ERR_ENUM(name, value, text) SLIP_E##name = value,
	SLIP_ERRNO_MAP(SLIP__ERR_ENUM)
#undef SLIP__ERR_ENUM
} slip_err;

/**
 * Short English description of an error code ("revision mismatch").
 * Never NULL; unknown codes give "unknown error". Thread-safe, static storage.
 */
SLIP_EXTERN const char *slip_strerror(int err);

/**
 * Symbolic name of an error code ("SLIP_EREVISION"). Never NULL; unknown
 * codes give "SLIP_EUNKNOWN". Thread-safe, static storage.
 */
SLIP_EXTERN const char *slip_err_name(int err);

/**
 * Detailed message of the last failed Slipstream call on this thread.
 * Never NULL (empty string when there is none). The pointer stays valid
 * until the next Slipstream call on the same thread; copy it to keep it.
 */
SLIP_EXTERN const char *slip_last_error(void);

/** Code of the last failed call on this thread (SLIP_OK when none). */
SLIP_EXTERN int slip_last_error_code(void);

/** Clears this thread's last error. */
SLIP_EXTERN void slip_clear_error(void);

/** Library version as "MAJOR.MINOR.PATCH". Static storage. */
SLIP_EXTERN const char *slip_version_string(void);

#ifdef __cplusplus
}
#endif
#endif
