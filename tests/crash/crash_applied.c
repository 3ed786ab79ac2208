/*
 * tests/crash/crash_applied.c — the watch_applied crash loop.
 *
 *   crash_applied CONSUMER --cycles N [--server-kill] [--resync-every K]
 *
 * Starts a nats-server, writes to one bucket from a thread of this process
 * (puts, deletes, purges, creates over a small key space) and, N times,
 * starts the crash_consumer process and SIGKILLs it after a random few
 * milliseconds. Every K cycles the stream is purged below a recent sequence,
 * so the consumer's snapshot cursor expires (and keys it holds vanish from
 * the server): that consumer is started slow and killed after its first
 * batch, i.e. mid-resync, and the snapshot's committed cursor must not have
 * moved; the next one must resync again. With --server-kill nats-server is
 * SIGKILLed and restarted between cycles as well.
 *
 * At the end the writer stops and a last consumer runs until caught up; it
 * exits 0 only when its map and its snapshot equal an independent scan of
 * the bucket. The closing line is "N passed, N failed" like every test.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fx.h"
#include "natsd.h"

#define NKEYS 60

static atomic_bool g_stop_writer;
static atomic_ulong g_ops;
static int g_failures;

static void fail(const char *what)
{
	fprintf(stderr, "FAIL: %s\n", what);
	g_failures++;
}

/* ------------------------------------------------------------- writer */

static void *writer_main(void *arg)
{
	fx *f = arg;
	unsigned seed = 12345;
	char key[32], val[48];

	while (!atomic_load(&g_stop_writer)) {
		unsigned r = (unsigned)rand_r(&seed);
		int k = (int)(r % NKEYS);
		snprintf(key, sizeof(key), "cfg.%02d", k);
		snprintf(val, sizeof(val), "v%lu", atomic_load(&g_ops));
		switch ((r >> 8) % 20) {
		case 0:
		case 1:
		case 2:
			slip_writer_delete(f->w, key);
			break;
		case 3:
		case 4:
			slip_writer_purge(f->w, key);
			break;
		case 5:
		case 6:
		case 7:
			slip_writer_create(f->w, key, val, strlen(val), NULL);
			break;
		default:
			slip_writer_put(f->w, key, val, strlen(val), NULL);
		}
		atomic_fetch_add(&g_ops, 1);
		/* Failures (server down) are expected; just go on. */
		fx_sleep_ms(1);
	}
	return NULL;
}

/* ----------------------------------------------------------- consumer */

typedef struct child {
	pid_t pid;
	int out; /* read end of its stdout */
} child;

static int spawn(child *c, const char *exe, const char *url, const char *bucket,
                 const char *snap, const char *extra[])
{
	int fds[2];
	const char *argv[12];
	int n = 0;

	if (pipe(fds) != 0)
		return -1;
	argv[n++] = exe;
	argv[n++] = url;
	argv[n++] = bucket;
	argv[n++] = snap;
	for (int i = 0; extra && extra[i] && n < 11; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	c->pid = fork();
	if (c->pid < 0)
		return -1;
	if (c->pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	c->out = fds[0];
	return 0;
}

/* Reads what the child wrote so far (waiting up to @p ms) into counts. */
static void drain(child *c, int ms, int counts[256])
{
	struct pollfd p = {c->out, POLLIN, 0};
	char buf[512];

	while (poll(&p, 1, ms) > 0) {
		ssize_t n = read(c->out, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			counts[(unsigned char)buf[i]]++;
		ms = 0;
	}
}

/* Waits until the child reported @p letter (or exited, or timed out). */
static bool wait_letter(child *c, char letter, int ms, int counts[256])
{
	int64_t end = fx_now_ms() + ms;
	while (counts[(unsigned char)letter] == 0 && fx_now_ms() < end) {
		struct pollfd p = {c->out, POLLIN, 0};
		char buf[256];
		if (poll(&p, 1, 10) <= 0)
			continue;
		ssize_t n = read(c->out, buf, sizeof(buf));
		if (n <= 0)
			return false;
		for (ssize_t i = 0; i < n; i++)
			counts[(unsigned char)buf[i]]++;
	}
	return counts[(unsigned char)letter] > 0;
}

static void kill_child(child *c, int counts[256])
{
	int st;
	kill(c->pid, SIGKILL);
	waitpid(c->pid, &st, 0);
	drain(c, 0, counts);
	close(c->out);
}

static int run_to_end(child *c, int timeout_ms)
{
	int64_t end = fx_now_ms() + timeout_ms;
	int counts[256] = {0};
	int st = 0;

	while (fx_now_ms() < end) {
		pid_t r = waitpid(c->pid, &st, WNOHANG);
		if (r == c->pid) {
			drain(c, 0, counts);
			close(c->out);
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
		}
		drain(c, 20, counts);
	}
	fail("final consumer did not finish in time");
	kill_child(c, counts);
	return -1;
}

static slip_cursor snap_cursor(const char *path)
{
	slip_cursor c = slip_cursor_none();
	fx_map m = {0};
	fx_map_from_snapshot(&m, path, &c);
	fx_map_clear(&m);
	return c;
}

/* ----------------------------------------------------------------- main */

typedef struct run {
	const char *exe;
	int cycles;
	bool server_kill;
	int resync_every;
	slip_natsd *natsd;
	fx f;
	char snap[300];
	int mid_resync_kills;
	int resync_reruns_with_deletes;
	int resyncs_seen;
	int cycles_committed;
	int caught_up_before_server_kill;
	int resubscribed; /* caught up again after the server came back */
} run;

/* Starts a consumer on the run's server, bucket and snapshot file. */
static int spawn_consumer(child *c, const run *R, const char *extra[])
{
	return spawn(c, R->exe, slip_natsd_url(R->natsd), R->f.bucket, R->snap,
	             extra);
}

/*
 * Purges the stream below a recent sequence that lies at least two past
 * the snapshot's cursor, so that cursor expires (first_seq - 1 > cursor),
 * and keys whose only record was purged vanish from the server: the resync
 * has stale keys to delete. (A purge that left the cursor valid would make
 * keys vanish with no update at all — out-of-band loss nothing can detect.)
 */
static void expire(run *R, const slip_cursor *snap_cur)
{
	uint64_t c = fx_cursor_seq(snap_cur), last, below;
	int64_t end = fx_now_ms() + 10000;

	while ((last = fx_last_seq(&R->f)) < c + 2 && fx_now_ms() < end)
		fx_sleep_ms(5);
	below = last > 3 && last - 3 > c + 2 ? last - 3 : c + 2;
	if (fx_expire(&R->f, below) != 0)
		fail("purge stream");
}

/*
 * After a kill mid-resync the snapshot still holds the expired cursor, so
 * the next consumer must resync again: it catches up, deleting the keys the
 * purge removed (synthetic deletes), and only then reports a cursor.
 */
static void resync_again(run *R)
{
	int counts[256] = {0};
	child c;

	if (spawn_consumer(&c, R, NULL) != 0) {
		fail("spawn");
		return;
	}
	if (!wait_letter(&c, 'C', 20000, counts))
		fail("the consumer after a mid-resync kill never caught up");
	kill_child(&c, counts);
	R->resync_reruns_with_deletes += counts['S'] > 0;
}

static void mid_resync_cycle(run *R)
{
	const char *slow[] = {"--slow", "30", "--batch", "3", NULL};
	int counts[256] = {0};
	slip_cursor before, after;
	child c;

	before = snap_cursor(R->snap);
	expire(R, &before);
	if (spawn_consumer(&c, R, slow) != 0) {
		fail("spawn");
		return;
	}
	wait_letter(&c, 'B', 5000, counts);
	kill_child(&c, counts);
	if (counts['C'] != 0)
		return; /* it finished the resync before the kill landed */
	R->mid_resync_kills++;
	after = snap_cursor(R->snap);
	if (after.len != before.len ||
	    memcmp(after.bytes, before.bytes, after.len) != 0)
		fail("a cursor was committed before the resync finished");
	if (counts['A'] != 0)
		fail("on_applied was called before the resync finished");
	resync_again(R);
}

/*
 * One plain cycle: a consumer killed after a random few milliseconds. With
 * --server-kill, nats-server is SIGKILLed and restarted while the consumer
 * runs (it resubscribes), and the consumer is killed a little later.
 */
static void cycle(run *R, unsigned *seed)
{
	int counts[256] = {0};
	child c;

	if (spawn_consumer(&c, R, NULL) != 0) {
		fail("spawn");
		return;
	}
	if (!R->server_kill) {
		fx_sleep_ms(5 + (int)(rand_r(seed) % 75));
	} else {
		fx_sleep_ms(150 + (int)(rand_r(seed) % 250));
		drain(&c, 0, counts);
		R->caught_up_before_server_kill += counts['C'] > 0;
		int before = counts['A'];
		if (slip_natsd_kill(R->natsd) != 0 ||
		    slip_natsd_restart(R->natsd) != 0)
			fail("nats-server kill/restart");
		/* Wait (bounded) until it applies again, then kill it a
		 * random moment later. */
		int64_t t0 = fx_now_ms();
		while (counts['A'] <= before && fx_now_ms() - t0 < 10000)
			drain(&c, 10, counts);
		R->resubscribed += counts['A'] > before;
		fx_sleep_ms((int)(rand_r(seed) % 100));
		drain(&c, 0, counts);
	}
	kill_child(&c, counts);
	R->cycles_committed += counts['A'] > 0;
	R->resyncs_seen += counts['S'] > 0;
}

static int parse_args(run *R, int argc, char **argv)
{
	memset(R, 0, sizeof(*R));
	R->cycles = 100;
	R->resync_every = 25;
	if (argc < 2)
		return -1;
	R->exe = argv[1];
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--cycles") == 0 && i + 1 < argc)
			R->cycles = atoi(argv[++i]);
		else if (strcmp(argv[i], "--server-kill") == 0)
			R->server_kill = true;
		else if (strcmp(argv[i], "--resync-every") == 0 && i + 1 < argc)
			R->resync_every = atoi(argv[++i]);
		else
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *final_args[] = {"--until-caught-up", NULL};
	unsigned seed = (unsigned)getpid();
	char dir[256];
	pthread_t writer;
	child c;
	run R;
	int rc;

	if (parse_args(&R, argc, argv) != 0) {
		fprintf(stderr,
		        "usage: %s CONSUMER [--cycles N] "
		        "[--server-kill] [--resync-every K]\n",
		        argv[0]);
		return 2;
	}
	if (slip_natsd_start(&R.natsd, NULL) != 0 ||
	    slip_test_tmpdir(dir, sizeof(dir), "applied") != 0) {
		fprintf(stderr, "cannot start nats-server / temp dir\n");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	snprintf(R.snap, sizeof(R.snap), "%s/consumer.snap", dir);
	rc = fx_open(&R.f, slip_natsd_url(R.natsd), "crash");
	if (rc != SLIP_OK) {
		fprintf(stderr, "open bucket: %s\n", slip_last_error());
		printf("0 passed, 1 failed\n");
		return 1;
	}
	pthread_create(&writer, NULL, writer_main, &R.f);
	for (int i = 1; i <= R.cycles; i++) {
		if (R.resync_every > 0 && i % R.resync_every == 0)
			mid_resync_cycle(&R);
		else
			cycle(&R, &seed);
	}
	fx_sleep_ms(300); /* let the bucket fill again after the last purge */
	atomic_store(&g_stop_writer, true);
	pthread_join(writer, NULL);

	if (spawn_consumer(&c, &R, final_args) != 0)
		fail("spawn final consumer");
	else if ((rc = run_to_end(&c, 60000)) != 0) {
		fprintf(stderr, "final consumer exit %d\n", rc);
		fail("local state differs from the server after catch-up");
	}
	if (R.resync_every > 0 && R.resync_every <= R.cycles &&
	    R.mid_resync_kills == 0)
		fail("no consumer was killed mid-resync");
	if (R.server_kill)
		fprintf(stderr,
		        "server kills: %d consumers had caught up before the "
		        "kill, %d resubscribed and applied again after the "
		        "restart\n",
		        R.caught_up_before_server_kill, R.resubscribed);
	if (R.server_kill && R.resubscribed == 0)
		fail("no consumer resubscribed after a server restart");
	if (R.cycles_committed == 0)
		fail("no consumer lived long enough to commit a cursor");
	if (R.mid_resync_kills > 0 && R.resync_reruns_with_deletes == 0)
		fail("no restart after a mid-resync kill applied synthetic "
		     "deletes");
	fprintf(stderr,
	        "%d cycles, %lu writes, %d mid-resync kills (%d restarts "
	        "resynced with synthetic deletes), %d other cycles saw "
	        "synthetic deletes, %d killed after committing a cursor\n",
	        R.cycles, (unsigned long)atomic_load(&g_ops),
	        R.mid_resync_kills, R.resync_reruns_with_deletes,
	        R.resyncs_seen, R.cycles_committed);
	fx_close(&R.f);
	slip_natsd_free(R.natsd);
	slip_test_rmdir(dir);
	printf("%d passed, %d failed\n", g_failures ? 0 : 1,
	       g_failures ? 1 : 0);
	return g_failures ? 1 : 0;
}
