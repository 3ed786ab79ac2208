/*
 * tests/cluster/cf.h — the pieces the cluster fault tests share
 * (issue 7, points 3–5): the bucket's stream leader as the servers report
 * it, a writer process that logs every acknowledged write, a mirror thread
 * running slip_watch_applied into a snapshot, and the checks that compare
 * the writer's log, the cluster and the mirror after the faults.
 */
#ifndef SLIP_TEST_CF_H
#define SLIP_TEST_CF_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <slipstream.h>

#include "natsd.h"
#include "tmpdir.h"

#define CF_BUCKET "failover"
#define CF_STREAM "KV_failover"
/* Keys the writer works on: k.000 … k.(CF_KEYS-1). */
#define CF_KEYS 200
/* Bucket history (values kept per key). */
#define CF_HISTORY 64

long long cf_now_ms(void);
void cf_sleep_ms(int ms);

/* -------------------------------------------------------- cluster facts */

/**
 * Stream info through the first node that answers (nodes flagged in
 * @p skip_mask are not asked: paused ones would stall the query).
 * *leader gets the leader's node index (-1 when none), *current the number
 * of followers that are current. 0, or -1 when no node answered.
 */
int cf_stream_state(slip_natsd_cluster *c, unsigned skip_mask, int *leader,
                    int *current);

/**
 * Waits up to @p timeout_ms until the stream has a leader and at least
 * @p want current followers. Returns the leader's index or -1.
 */
int cf_wait_stream(slip_natsd_cluster *c, unsigned skip_mask, int want,
                   int timeout_ms);

/* ----------------------------------------------------------- the writer */

/**
 * Entry point of the writer process (the test binary run with
 * "--writer URLS LOG FD"): puts, creates, deletes and CAS updates on
 * CF_KEYS keys, each retried until acknowledged, each acknowledged one
 * appended to LOG; stops when FD (a pipe) reaches EOF. Exit 0, or 2 when a
 * write could not be acknowledged within a minute.
 */
int cf_writer_main(int argc, char **argv);

typedef struct cf_writer {
	pid_t pid;
	int ctl;       /* write end of the stop pipe */
	char log[512]; /* the acknowledged-write log */
} cf_writer;

/**
 * Starts the writer: @p self is this test binary (argv[0]). @p dir holds
 * the log. 0 or -1.
 */
int cf_writer_start(cf_writer *w, const char *self, const char *urls,
                    const char *dir);
/** Acknowledged writes logged so far. */
size_t cf_writer_acked(const cf_writer *w);
/**
 * Waits up to @p timeout_ms until at least @p n writes are acknowledged
 * (or the writer died). 0 or -1.
 */
int cf_writer_wait_acked(const cf_writer *w, size_t n, int timeout_ms);
/**
 * Asks the writer to stop after its current write and waits up to
 * @p timeout_ms (then SIGKILL). Its exit status (0 = clean), or -1.
 */
int cf_writer_stop(cf_writer *w, int timeout_ms);

/* ----------------------------------------------------------- the mirror */

typedef struct cf_mirror {
	char snap_path[512];
	slip_conn *conn;
	slip_store *store;
	slip_snapshot_writer *snap;
	slip_shutdown *shutdown;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool running;
	bool done;
	int rc; /* slip_watch_applied's result */
	/* Counted under mu. */
	uint64_t applied_seq;    /* sequence of the last applied cursor */
	uint64_t updates;        /* updates passed to apply() */
	uint64_t non_increasing; /* updates not above the previous revision */
	uint64_t synthetic;      /* synthetic deletes (a resync) */
	uint64_t caught_up;      /* on_caught_up calls */
	uint64_t last_rev;       /* revision of the last applied update */
	uint64_t first_seq;      /* cursor at the first on_caught_up */
	long long t0;            /* start time (ms), for the event log */
	uint8_t *seen;           /* bit per revision < CF_MAX_REV applied */
} cf_mirror;

/* Revisions the mirror tracks one by one (enough for every test). */
#define CF_MAX_REV (1u << 20)

/**
 * Starts watch_applied on its own connection into snapshot
 * @p dir/mirror.snap. 0 or -1.
 */
int cf_mirror_start(cf_mirror *m, const char *urls, const char *dir);
/** Copies the counters (under the lock). */
void cf_mirror_stats(cf_mirror *m, cf_mirror *out);
/**
 * Waits until the mirror's applied cursor reaches @p seq. 0 or -1.
 */
int cf_mirror_wait_seq(cf_mirror *m, uint64_t seq, int timeout_ms);
/**
 * Triggers shutdown and waits up to @p timeout_ms for the loop to return.
 * 0 when it returned SLIP_OK; -1 otherwise (a hang leaves the thread
 * running: the caller fails the test).
 */
int cf_mirror_stop(cf_mirror *m, int timeout_ms);

/* ------------------------------------------------------------ the checks */

typedef struct cf_report {
	size_t acked;      /* acknowledged writes in the log */
	size_t acked_puts; /* of which put / create / update (with rev) */
	size_t acked_deletes;
	size_t checked_revs; /* acknowledged revisions found in the stream */
	size_t superseded;   /* acknowledged revisions aged out by history */
	size_t renumbered;   /* acknowledged values held at another revision */
	size_t rev_diffs;    /* keys with the right value, other revision */
	size_t lost;         /* acknowledged writes not in the cluster */
	size_t model_diffs;  /* keys where log model != cluster (value) */
	size_t mirror_diffs; /* keys where snapshot != cluster (value) */
	size_t mirror_rev_diffs; /* same value, other revision */
	size_t mirror_skipped;   /* stream records after the first catch-up that
	                            the mirror never applied */
	uint64_t replica_last[3]; /* each replica's last sequence */
	bool replicas_agree;      /* same last sequence and count on all */
	size_t bad_order;         /* acknowledged revisions not increasing */
	size_t cluster_keys;      /* live keys in the cluster */
	uint64_t last_seq;        /* stream last sequence */
} cf_report;

/**
 * After the writer stopped: catches the mirror up to the stream's last
 * sequence, stops it, and compares (1) the writer's log with the stream
 * message by message and with the final key set, (2) the mirror's
 * snapshot with an independent scan of the cluster. Prints the result.
 * 0 when the comparisons ran (the caller judges the counts in *out);
 * -1 when they could not run (details on stderr).
 */
int cf_verify(slip_natsd_cluster *c, const char *urls, const cf_writer *w,
              cf_mirror *m, cf_report *out);

#endif
