/*
 * tests/snapshot/crash_snapshot_kill.c — process crashes (ctest
 * crash-snapshot-kill). A child process opens the snapshot writer and runs
 * checkpoints and compactions in a loop (small threshold, extra random
 * compactions); the parent SIGKILLs it at random moments, then loads the
 * file and compares it with an oracle. Batch n of the update stream
 * depends only on (seed, n) and checkpoint n carries cursor n, so the
 * loaded cursor names exactly one committed state, which the parent
 * recomputes. Every load must equal that state, and cursors never go
 * backwards (a checkpoint that returned is never lost to a process crash).
 * Every fourth batch carries a 768 KiB value, so a kill can land inside a
 * write and leave a torn tail that the next writer must truncate.
 *
 *   crash_snapshot_kill [CYCLES [SEED]]     (default 250 cycles)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "snap_util.h"
#include "test.h"

static int cycles = 250;
static uint64_t seed = 0x5eed;

static void child_loop(const char *path, uint64_t cseed)
{
	slip_snapshot_writer *w = NULL;
	snapt_state scratch;
	uint64_t n, rng = cseed;

	memset(&scratch, 0, sizeof(scratch));
	if (slip_snapshot_writer_open(&w, path, 4u << 20) != SLIP_OK) {
		fprintf(stderr, "child: open: %s\n", slip_last_error());
		_exit(3);
	}
	n = snapt_cursor_n(slip_snapshot_writer_cursor(w));
	for (;;) {
		bool due = false;

		n++;
		if (snapt_batch(seed, n, &scratch, w) != SLIP_OK ||
		    slip_snapshot_writer_checkpoint(w, &scratch.cursor, &due) !=
		            SLIP_OK) {
			fprintf(stderr, "child: checkpoint: %s\n",
			        slip_last_error());
			_exit(4);
		}
		if ((due || snapt_rand(&rng) % 5 == 0) &&
		    slip_snapshot_writer_compact(w) != SLIP_OK) {
			fprintf(stderr, "child: compact: %s\n",
			        slip_last_error());
			_exit(5);
		}
	}
}

/* Kills a fresh child after a random delay; false if it died otherwise. */
static bool run_and_kill(const char *path, uint64_t *rng, int cycle)
{
	struct timespec ts = {0, 0};
	int status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0)
		child_loop(path, snapt_rand(rng) ^ (uint64_t)cycle);
	ts.tv_nsec = (long)(snapt_rand(rng) % 4000000);
	if (cycle % 25 == 0)
		ts.tv_nsec += 30000000; /* now and then let it run longer */
	nanosleep(&ts, NULL);
	kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid)
		return false;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

static void t_sigkill_cycles(void)
{
	char *dir = snapt_tmpdir(), *path = snapt_path(dir, "crash.snap");
	uint64_t model_n = 0, rng = seed, max_seen = 0;
	static snapt_state st;
	int bad = 0, torn = 0;

	memset(&st, 0, sizeof(st));
	for (int cycle = 0; cycle < cycles && bad < 5; cycle++) {
		slip_snapshot *s = NULL;
		uint64_t n;
		int rc;

		if (!run_and_kill(path, &rng, cycle)) {
			slip_test_fail(__FILE__, __LINE__,
			               "cycle %d: child did not die by SIGKILL",
			               cycle);
			bad++;
			continue;
		}
		rc = slip_snapshot_load(&s, path);
		if (rc != SLIP_OK) {
			slip_test_fail(__FILE__, __LINE__, "cycle %d: load: %s",
			               cycle, slip_last_error());
			bad++;
			continue;
		}
		n = s != NULL ? snapt_cursor_n(&s->cursor) : 0;
		if (n < model_n) {
			slip_test_fail(
			        __FILE__, __LINE__,
			        "cycle %d: cursor went back %llu -> %llu",
			        cycle, (unsigned long long)model_n,
			        (unsigned long long)n);
			bad++;
		}
		while (model_n < n)
			snapt_batch(seed, ++model_n, &st, NULL);
		if (n > 0 && !snapt_equal(&st, s)) {
			slip_test_fail(__FILE__, __LINE__,
			               "cycle %d: state at cursor %llu differs "
			               "from the oracle",
			               cycle, (unsigned long long)n);
			bad++;
		}
		max_seen = n > max_seen ? n : max_seen;
		torn += s != NULL && s->torn_tail;
		slip_snapshot_free(s);
	}
	printf("crash-snapshot-kill: %d cycles, %llu checkpoints committed, "
	       "%d loads dropped a torn or uncommitted tail\n",
	       cycles, (unsigned long long)max_seen, torn);
	CHECK(max_seen > 0);
	free(path);
	snapt_rmdir(dir);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_sigkill_cycles),
        {0},
};

int main(int argc, char **argv)
{
	/* Large appends, so that a SIGKILL can tear a write. */
	snapt_big_values = true;
	if (argc > 1 && atoi(argv[1]) > 0) {
		cycles = atoi(argv[1]);
		argc = 1;
	}
	if (argc > 2)
		seed = strtoull(argv[2], NULL, 0);
	return slip_test_main(argc, argv, cases);
}
