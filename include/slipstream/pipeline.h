/*
 * slipstream/pipeline.h — pipelined writes: many puts, creates, updates and
 * deletes in flight at once over one writer, instead of one round trip
 * each.
 *
 * A pipeline keeps at most max_ops operations (and max_bytes of keys and
 * values) sent but not yet acknowledged; a submit call blocks while the
 * window is full. Every operation's outcome — its new revision, or its
 * error with the reason (a CAS conflict names the key) — reaches on_result
 * in submission order, on the thread that calls submit or flush, never on
 * another. flush() waits until every submitted operation has been reported.
 *
 * Ordering: operations reach the server in submission order, so writes to
 * one key take effect in the order they were submitted. A create over a
 * tombstone needs a second round trip; later operations on that key wait
 * for it. A failed operation does not stop the ones after it (they were
 * already sent); check each result.
 *
 * Failures: an operation the server did not acknowledge is never reported
 * as done. A dropped or closed connection fails every operation still in
 * flight with SLIP_ENOTCONNECTED / SLIP_EIO / SLIP_ETIMEOUT and a message
 * saying the write may or may not have been stored.
 *
 * Threading: one pipeline is used by one thread at a time. Backends without
 * native pipelining (and the memory backend) run each operation as it is
 * submitted and report it at once, in the same order.
 */
#ifndef SLIPSTREAM_PIPELINE_H
#define SLIPSTREAM_PIPELINE_H

#include "conn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct slip_pipeline slip_pipeline;

/** What a pipelined operation does (the slip_writer_* call it stands for). */
typedef enum slip_write_kind {
	SLIP_WRITE_PUT = 1,
	SLIP_WRITE_CREATE = 2,
	SLIP_WRITE_UPDATE = 3,
	SLIP_WRITE_DELETE = 4,
	SLIP_WRITE_DELETE_VERSION = 5
} slip_write_kind;

/** The outcome of one operation. Everything is borrowed for the callback. */
typedef struct slip_write_result {
	uint64_t index;       /**< 0-based submission number */
	slip_write_kind kind; /**< what was submitted */
	const char *key;      /**< the operation's key */
	int rc;               /**< SLIP_OK or the slip_writer_* error code */
	const char *message;  /**< why it failed; "" on success */
	/** The new revision on success (len 0 when the backend has none). */
	slip_version version;
} slip_write_result;

/** Receives each outcome, in submission order. */
typedef void (*slip_write_result_cb)(void *payload,
                                     const slip_write_result *result);

#define SLIP_PIPELINE_OPTIONS_VERSION 1

/** Window and callback. */
typedef struct slip_pipeline_options {
	unsigned version; /**< SLIP_PIPELINE_OPTIONS_VERSION */
	/** Operations in flight at most; 0 = 1024. */
	size_t max_ops;
	/** Key and value bytes in flight at most; 0 = 8 MiB. One larger
	 * operation still goes out alone. */
	size_t max_bytes;
	slip_write_result_cb on_result; /**< optional */
	void *payload;                  /**< passed to on_result */
} slip_pipeline_options;

#define SLIP_PIPELINE_OPTIONS_INIT                                             \
	{                                                                      \
		SLIP_PIPELINE_OPTIONS_VERSION, 0, 0, NULL, NULL                \
	}

/**
 * A pipeline over @p w (NULL @p opts: defaults). The writer's store must
 * outlive the pipeline.
 * @return SLIP_OK (caller owns *out; free with slip_pipeline_free()),
 * SLIP_EINVAL, SLIP_ENOTCONNECTED, SLIP_ENOMEM.
 */
SLIP_EXTERN int slip_pipeline_new(slip_pipeline **out, slip_writer *w,
                                  const slip_pipeline_options *opts);

/**
 * Submits an unconditional write (value copied). Blocks while the window
 * is full, reporting the results that free it.
 * @return SLIP_OK when sent — its outcome follows through on_result — or,
 * with nothing sent and no result to come: SLIP_EINVAL, SLIP_ETOOBIG,
 * SLIP_ENOTCONNECTED, SLIP_ENOMEM.
 */
SLIP_EXTERN int slip_pipeline_put(slip_pipeline *p, const char *key,
                                  const void *value, size_t len);

/** As slip_pipeline_put(); the result is SLIP_EEXISTS on a live value. */
SLIP_EXTERN int slip_pipeline_create(slip_pipeline *p, const char *key,
                                     const void *value, size_t len);

/** As slip_pipeline_put(); SLIP_EREVISION unless the latest is @p expected. */
SLIP_EXTERN int slip_pipeline_update(slip_pipeline *p, const char *key,
                                     const void *value, size_t len,
                                     const slip_version *expected);

/** Submits a tombstone (succeeds when the key never existed). */
SLIP_EXTERN int slip_pipeline_delete(slip_pipeline *p, const char *key);

/** Submits a tombstone only if the latest revision is @p expected. */
SLIP_EXTERN int slip_pipeline_delete_version(slip_pipeline *p, const char *key,
                                             const slip_version *expected);

/**
 * Waits until every submitted operation has been reported.
 * @return SLIP_OK when every operation reported since the previous flush
 * succeeded, else the first failure's code (its message is the last
 * error); the count of failures goes to *failed when not NULL.
 */
SLIP_EXTERN int slip_pipeline_flush(slip_pipeline *p, size_t *failed);

/** Operations submitted and not yet reported. */
SLIP_EXTERN size_t slip_pipeline_in_flight(slip_pipeline *p);

/**
 * Flushes (reporting every outstanding result) and frees. NULL is a no-op.
 */
SLIP_EXTERN void slip_pipeline_free(slip_pipeline *p);

#ifdef __cplusplus
}
#endif
#endif
