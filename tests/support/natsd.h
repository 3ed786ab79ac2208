/*
 * tests/support/natsd.h — start and control real nats-server processes for
 * tests and benchmarks: one server with JetStream on a free loopback port in
 * a temporary directory, or a 3-node cluster. Never a mock; when nats-server
 * is missing, start fails loudly (tests FAIL, never skip).
 *
 * Every function returns 0 on success or -1 with a reason on stderr.
 * Processes are stopped and temp dirs removed by *_free, also from atexit
 * handlers should a test abort, so no server outlives its test.
 */
#ifndef SLIP_NATSD_H
#define SLIP_NATSD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct slip_natsd slip_natsd;

/**
 * Starts nats-server -js on 127.0.0.1:<free port> with its store in a fresh
 * temp dir, and waits until it accepts connections and JetStream answers.
 * @p extra_conf (may be NULL) is appended to the generated config file
 * (e.g. operator/resolver blocks for auth tests, tls blocks).
 */
int slip_natsd_start(slip_natsd **out, const char *extra_conf);

/** "nats://127.0.0.1:PORT". Valid while the handle lives. */
const char *slip_natsd_url(const slip_natsd *s);
int slip_natsd_port(const slip_natsd *s);
pid_t slip_natsd_pid(const slip_natsd *s);
/** The server's temp dir (config, store, log). */
const char *slip_natsd_dir(const slip_natsd *s);
/** Its monitoring port (http://127.0.0.1:PORT/jsz, /healthz, ...). */
int slip_natsd_http_port(const slip_natsd *s);
/**
 * GETs @p path ("/varz", "/jsz?streams=true", ...) from the monitoring port;
 * copies up to @p cap - 1 bytes of the body (64 KiB at most) into @p body.
 * @return the HTTP status, or -1 when the server does not answer in 2 s.
 */
int slip_natsd_http_get(const slip_natsd *s, const char *path, char *body,
                        size_t cap);

/**
 * The running server's version from /varz into *major, *minor, *patch.
 * Tests whose expected answer depends on the server read it here.
 */
int slip_natsd_version(const slip_natsd *s, int *major, int *minor, int *patch);
/** True when the server's version is at least major.minor.patch (false if
 * unreadable). */
bool slip_natsd_at_least(const slip_natsd *s, int major, int minor, int patch);

/**
 * Consumers the server holds on stream @p stream ("KV_<bucket>"), from
 * /jsz; 0 when the stream does not exist, -1 when the server does not
 * answer.
 */
int slip_natsd_consumers(const slip_natsd *s, const char *stream);
/**
 * Waits up to @p timeout_ms for stream @p stream to hold no consumer
 * (deletes are sent at once, but a watch's may be on its way). Returns
 * the last count seen: 0 when none is left.
 */
int slip_natsd_wait_no_consumers(const slip_natsd *s, const char *stream,
                                 int timeout_ms);

/** SIGTERM and wait (graceful). */
int slip_natsd_stop(slip_natsd *s);
/** SIGKILL and wait (crash). */
int slip_natsd_kill(slip_natsd *s);
/** Starts it again on the same port with the same store; waits for ready. */
int slip_natsd_restart(slip_natsd *s);
/** SIGSTOP / SIGCONT; return once every server thread is stopped / running. */
int slip_natsd_pause(slip_natsd *s);
int slip_natsd_resume(slip_natsd *s);
/** True while the process runs. */
bool slip_natsd_running(slip_natsd *s);
/** Stops (SIGKILL if needed), removes the temp dir, frees. NULL: no-op. */
void slip_natsd_free(slip_natsd *s);

/* ---------------------------------------------------------- cluster */

typedef struct slip_natsd_cluster slip_natsd_cluster;

/**
 * Starts @p n (normally 3) nodes with routes between them, JetStream on, one
 * store dir each, free loopback ports; waits until there is a meta leader,
 * every node is healthy and the cluster can place an R@p n stream (a probe
 * bucket is created and deleted). A cluster that never gets there is
 * started once more from empty stores, with a line on stderr.
 */
int slip_natsd_cluster_start(slip_natsd_cluster **out, int n);
/** Node @p i (0-based); the usual single-server calls apply to it. */
slip_natsd *slip_natsd_cluster_node(slip_natsd_cluster *c, int i);
int slip_natsd_cluster_size(const slip_natsd_cluster *c);
/** "nats://127.0.0.1:P1,nats://127.0.0.1:P2,…" */
const char *slip_natsd_cluster_urls(const slip_natsd_cluster *c);
/** Waits (up to @p timeout_ms) until the cluster has a meta leader. */
int slip_natsd_cluster_wait_ready(slip_natsd_cluster *c, int timeout_ms);
void slip_natsd_cluster_free(slip_natsd_cluster *c);

/* ------------------------------------------------------------- clients */

struct slip_conn;

/**
 * A Slipstream connection to @p urls (one server or a cluster's list) that
 * rides out failover: 2 s connect and operation timeouts, reconnect every
 * 100 ms without limit. NULL on failure (reason on stderr).
 */
struct slip_conn *slip_natsd_connect(const char *urls);

#endif
