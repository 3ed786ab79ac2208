/*
 * tests/faults/test_fault_snapshot_io.c — fault injection into the snapshot
 * writer through the file-operations table (ctest fault-snapshot-io).
 *
 * A fixed scenario (checkpoint, compact, checkpoint, compact, reopen,
 * checkpoint) runs once to count its I/O steps (open-for-write, pwrite,
 * fsync, fdatasync, ftruncate, rename, unlink, directory fsync), then once
 * per step number and fault kind:
 *
 *   crash       from step N on, no I/O happens (the process "died")
 *   crash-torn  as crash, but the write at step N lands half its bytes
 *   short       the write at step N is short (must be retried silently)
 *   enospc      the write at step N is short, later writes fail ENOSPC
 *   eio         the operation at step N fails with EIO
 *
 * After a crash the file must load to the last acknowledged state or the
 * one being committed, never a mix, and a new writer must recover and
 * append. After an error the file must load to the acknowledged state, and
 * retrying the failed call (fault cleared) must succeed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "snap_util.h"
#include "test.h"

typedef enum fault_kind {
	F_NONE,
	F_CRASH,
	F_CRASH_TORN,
	F_SHORT,
	F_ENOSPC,
	F_EIO,
	F_KINDS
} fault_kind;

static const char *kind_name[F_KINDS] = {"none",  "crash",  "crash-torn",
                                         "short", "enospc", "eio"};

static struct {
	fault_kind kind;
	int target;
	int steps;
	bool crashed;
	bool full;
	bool fired;
} F;

static const slip__fileio *sys;

/* Counts a step; true when this step is the target. */
static bool step(void)
{
	return ++F.steps == F.target && F.kind != F_NONE;
}

static bool dead(void)
{
	return F.crashed;
}

static int fail(int err)
{
	errno = err;
	return -1;
}

static int f_open(const char *path, int flags, mode_t mode)
{
	if ((flags & (O_CREAT | O_WRONLY | O_RDWR)) == 0)
		return sys->open(path, flags, mode);
	if (dead())
		return fail(EIO);
	if (step()) {
		F.fired = true;
		if (F.kind == F_CRASH || F.kind == F_CRASH_TORN) {
			F.crashed = true;
			return fail(EIO);
		}
		if (F.kind == F_EIO)
			return fail(EIO);
	}
	return sys->open(path, flags, mode);
}

static ssize_t f_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	size_t half = len > 1 ? len / 2 : len;

	if (dead())
		return fail(EIO);
	if (F.full)
		return fail(ENOSPC);
	if (!step())
		return sys->pwrite(fd, buf, len, off);
	F.fired = true;
	switch (F.kind) {
	case F_CRASH:
		F.crashed = true;
		return fail(EIO);
	case F_CRASH_TORN:
		(void)sys->pwrite(fd, buf, half, off);
		F.crashed = true;
		return fail(EIO);
	case F_SHORT:
		return sys->pwrite(fd, buf, half, off);
	case F_ENOSPC:
		F.full = true;
		if (half == len)
			return fail(ENOSPC);
		return sys->pwrite(fd, buf, half, off);
	default:
		return fail(EIO);
	}
}

/* The non-write steps: crash and EIO apply, short/ENOSPC do not. */
static bool plain_fault(void)
{
	if (dead())
		return true;
	if (!step())
		return false;
	if (F.kind == F_CRASH || F.kind == F_CRASH_TORN) {
		F.fired = true;
		F.crashed = true;
		return true;
	}
	if (F.kind == F_EIO) {
		F.fired = true;
		return true;
	}
	return false;
}

static int f_fsync(int fd)
{
	return plain_fault() ? fail(EIO) : sys->fsync(fd);
}

static int f_fdatasync(int fd)
{
	return plain_fault() ? fail(EIO) : sys->fdatasync(fd);
}

static int f_ftruncate(int fd, off_t len)
{
	return plain_fault() ? fail(EIO) : sys->ftruncate(fd, len);
}

static int f_rename(const char *a, const char *b)
{
	return plain_fault() ? fail(EIO) : sys->rename(a, b);
}

static int f_unlink(const char *p)
{
	return plain_fault() ? fail(EIO) : sys->unlink(p);
}

static int f_dirsync(const char *p)
{
	return plain_fault() ? fail(EIO) : sys->dirsync(p);
}

static slip__fileio fault_io;

static void arm(fault_kind kind, int target)
{
	memset(&F, 0, sizeof(F));
	F.kind = kind;
	F.target = target;
	sys = slip__fileio_system();
	fault_io = *sys;
	fault_io.open = f_open;
	fault_io.pwrite = f_pwrite;
	fault_io.fsync = f_fsync;
	fault_io.fdatasync = f_fdatasync;
	fault_io.ftruncate = f_ftruncate;
	fault_io.rename = f_rename;
	fault_io.unlink = f_unlink;
	fault_io.dirsync = f_dirsync;
	slip__fileio_set(&fault_io);
}

static void disarm(void)
{
	F.kind = F_NONE;
	F.full = false;
}

/* ------------------------------------------------------------ scenario */

#define SEED  4242
#define FIRST 3 /* checkpoints made before faults are armed */
#define LAST  6

typedef struct run {
	char *dir, *path;
	slip_snapshot_writer *w;
	snapt_state model[LAST + 1];
	int acked;
} run;

static void model_init(run *r)
{
	snapt_state st;

	memset(&st, 0, sizeof(st));
	r->model[0] = st;
	for (int n = 1; n <= LAST; n++) {
		snapt_batch(SEED, (uint64_t)n, &st, NULL);
		r->model[n] = st;
	}
}

static bool setup(run *r)
{
	snapt_state st;

	memset(r, 0, sizeof(*r));
	model_init(r);
	r->dir = snapt_tmpdir();
	r->path = snapt_path(r->dir, "f.snap");
	slip__fileio_set(NULL);
	if (slip_snapshot_writer_open(&r->w, r->path, 0) != SLIP_OK)
		return false;
	memset(&st, 0, sizeof(st));
	for (int n = 1; n <= FIRST; n++) {
		if (snapt_batch(SEED, (uint64_t)n, &st, r->w) != SLIP_OK ||
		    slip_snapshot_writer_checkpoint(r->w, &st.cursor, NULL) !=
		            SLIP_OK)
			return false;
	}
	r->acked = FIRST;
	return true;
}

static void teardown(run *r)
{
	slip__fileio_set(NULL);
	slip_snapshot_writer_free(r->w);
	free(r->path);
	snapt_rmdir(r->dir);
}

/* Scenario op @p op; *commits says which state it would commit (or -1). */
static int do_op(run *r, int op, bool first_try, int *commits)
{
	snapt_state scratch;
	int n = op == 0 ? 4 : (op == 2 ? 5 : 6);

	*commits = -1;
	switch (op) {
	case 1:
	case 3:
		return slip_snapshot_writer_compact(r->w);
	case 4:
		slip_snapshot_writer_free(r->w);
		r->w = NULL;
		return slip_snapshot_writer_open(&r->w, r->path, 0);
	default:
		*commits = n;
		scratch = r->model[n - 1];
		if (first_try)
			snapt_batch(SEED, (uint64_t)n, &scratch, r->w);
		return slip_snapshot_writer_checkpoint(
		        r->w, &r->model[n].cursor, NULL);
	}
}

#define NOPS 6

/* Which committed state the file loads to (-1: none, -2: no match). */
static int loaded_state(const run *r)
{
	slip_snapshot *s = NULL;
	int found = -2;

	if (slip_snapshot_load(&s, r->path) != SLIP_OK)
		return -3;
	if (s == NULL)
		return -1;
	for (int i = 1; i <= LAST; i++) {
		if (snapt_equal(&r->model[i], s))
			found = i;
	}
	slip_snapshot_free(s);
	return found;
}

/* After a crash: load, then a fresh writer recovers and appends. */
static void check_crash(run *r, int commits, const char *what)
{
	int got = loaded_state(r);
	snapt_state st;
	slip_snapshot_writer *w = NULL;
	slip_snapshot *s = NULL;

	if (got != r->acked && got != commits) {
		slip_test_fail(__FILE__, __LINE__,
		               "%s: loads state %d, acked %d, committing %d",
		               what, got, r->acked, commits);
		return;
	}
	if (slip_snapshot_writer_open(&w, r->path, 0) != SLIP_OK) {
		slip_test_fail(__FILE__, __LINE__, "%s: reopen: %s", what,
		               slip_last_error());
		return;
	}
	st = r->model[got];
	if (!snapt_writer_equal(&st, w))
		slip_test_fail(__FILE__, __LINE__, "%s: writer state", what);
	snapt_batch(SEED, (uint64_t)got + 1, &st, w);
	if (slip_snapshot_writer_checkpoint(w, &st.cursor, NULL) != SLIP_OK)
		slip_test_fail(__FILE__, __LINE__, "%s: append after recovery",
		               what);
	slip_snapshot_writer_free(w);
	if (slip_snapshot_load(&s, r->path) != SLIP_OK || !snapt_equal(&st, s))
		slip_test_fail(__FILE__, __LINE__, "%s: load after recovery",
		               what);
	slip_snapshot_free(s);
}

/* Runs the scenario under one fault; returns the steps it took. */
static int run_one(fault_kind kind, int target)
{
	char what[64];
	run r;
	int steps;

	snprintf(what, sizeof(what), "%s at step %d", kind_name[kind], target);
	if (!setup(&r)) {
		slip_test_fail(__FILE__, __LINE__, "%s: setup failed", what);
		teardown(&r);
		return 0;
	}
	arm(kind, target);
	for (int op = 0; op < NOPS; op++) {
		int commits, rc = do_op(&r, op, true, &commits);

		if (rc != SLIP_OK &&
		    (kind == F_CRASH || kind == F_CRASH_TORN)) {
			slip_snapshot_writer_free(r.w);
			r.w = NULL;
			slip__fileio_set(NULL);
			check_crash(&r, commits, what);
			break;
		}
		if (rc != SLIP_OK) {
			int got;

			if (kind == F_SHORT || kind == F_NONE)
				slip_test_fail(__FILE__, __LINE__,
				               "%s: op %d failed: %s", what, op,
				               slip_last_error());
			disarm();
			got = loaded_state(&r);
			if (got != r.acked)
				slip_test_fail(
				        __FILE__, __LINE__,
				        "%s: op %d failed but loads state "
				        "%d, acked %d",
				        what, op, got, r.acked);
			rc = do_op(&r, op, false, &commits);
			if (rc != SLIP_OK) {
				slip_test_fail(__FILE__, __LINE__,
				               "%s: retry of op %d: %s", what,
				               op, slip_last_error());
				break;
			}
		}
		if (commits > 0)
			r.acked = commits;
		if (loaded_state(&r) != r.acked)
			slip_test_fail(__FILE__, __LINE__,
			               "%s: after op %d loads %d, acked %d",
			               what, op, loaded_state(&r), r.acked);
	}
	if (!F.crashed && r.w != NULL && r.acked == LAST &&
	    !snapt_writer_equal(&r.model[LAST], r.w))
		slip_test_fail(__FILE__, __LINE__, "%s: final writer state",
		               what);
	steps = F.steps;
	teardown(&r);
	return steps;
}

static int count_steps(void)
{
	return run_one(F_NONE, 0);
}

static void run_kind(fault_kind kind)
{
	int total = count_steps();
	int fired = 0;

	REQUIRE(total > 10);
	for (int target = 1; target <= total; target++) {
		run_one(kind, target);
		fired += F.fired;
	}
	printf("%s: %d steps, %d faults fired\n", kind_name[kind], total,
	       fired);
	CHECK(fired > 0);
}

static void t_crash_at_every_step(void)
{
	run_kind(F_CRASH);
}

static void t_torn_crash_at_every_step(void)
{
	run_kind(F_CRASH_TORN);
}

static void t_short_write_at_every_step(void)
{
	run_kind(F_SHORT);
}

static void t_enospc_at_every_step(void)
{
	run_kind(F_ENOSPC);
}

static void t_eio_at_every_step(void)
{
	run_kind(F_EIO);
}

/* Crash / EIO at each step of creating a file, then of repairing a tail. */
static void t_faults_while_opening(void)
{
	for (int kind = F_CRASH; kind < F_KINDS; kind++) {
		for (int target = 1; target <= 6; target++) {
			char *dir = snapt_tmpdir(),
			     *p = snapt_path(dir, "o.snap");
			slip_snapshot_writer *w = NULL;
			slip_snapshot *s = NULL;
			snapt_state st;
			uint8_t torn[] = {1, 2, 3, 4, 1, 9};

			memset(&st, 0, sizeof(st));
			arm((fault_kind)kind, target);
			(void)slip_snapshot_writer_open(&w, p, 0);
			slip_snapshot_writer_free(w);
			w = NULL;
			slip__fileio_set(NULL);
			CHECK_OK(slip_snapshot_load(&s, p));
			CHECK(s == NULL);
			/* Commit one state and leave a torn record after it. */
			REQUIRE_OK(slip_snapshot_writer_open(&w, p, 0));
			snapt_batch(SEED, 1, &st, w);
			CHECK_OK(slip_snapshot_writer_checkpoint(w, &st.cursor,
			                                         NULL));
			slip_snapshot_writer_free(w);
			w = NULL;
			{
				FILE *f = fopen(p, "ab");

				REQUIRE(f != NULL);
				fwrite(torn, 1, sizeof(torn), f);
				fclose(f);
			}
			arm((fault_kind)kind, target);
			(void)slip_snapshot_writer_open(&w, p, 0);
			slip_snapshot_writer_free(w);
			w = NULL;
			slip__fileio_set(NULL);
			REQUIRE_OK(slip_snapshot_load(&s, p));
			CHECK(snapt_equal(&st, s));
			slip_snapshot_free(s);
			s = NULL;
			REQUIRE_OK(slip_snapshot_writer_open(&w, p, 0));
			snapt_batch(SEED, 2, &st, w);
			CHECK_OK(slip_snapshot_writer_checkpoint(w, &st.cursor,
			                                         NULL));
			slip_snapshot_writer_free(w);
			REQUIRE_OK(slip_snapshot_load(&s, p));
			CHECK(snapt_equal(&st, s));
			slip_snapshot_free(s);
			free(p);
			snapt_rmdir(dir);
		}
	}
}

/*
 * A fault at each step of compacting a file committed at the none cursor
 * (issue 16 §2): whatever happens, the file loads to that committed state
 * (one entry) — the old file or the compacted one, never nothing — and a
 * retried compaction keeps it too.
 */
static void t_none_cursor_compaction_faults(void)
{
	slip_cursor none = slip_cursor_none();
	slip_version v1 = slip_version_from_u64(1);

	for (int kind = F_CRASH; kind < F_KINDS; kind++) {
		for (int target = 1; target <= 8; target++) {
			char *dir = snapt_tmpdir(),
			     *p = snapt_path(dir, "n.snap");
			slip_snapshot_writer *w = NULL;
			slip_snapshot *s = NULL;
			slip_entry *e = NULL;

			REQUIRE_OK(slip_entry_new(&e, "a", "x", 1, &v1,
			                          SLIP_OP_PUT));
			REQUIRE_OK(slip_snapshot_writer_open(&w, p, 0));
			CHECK_OK(slip_snapshot_writer_write(w, e));
			slip_entry_free(e);
			CHECK_OK(slip_snapshot_writer_checkpoint(w, &none,
			                                         NULL));
			arm((fault_kind)kind, target);
			(void)slip_snapshot_writer_compact(w);
			disarm();
			slip__fileio_set(NULL);
			REQUIRE_OK(slip_snapshot_load(&s, p));
			CHECK(s != NULL && s->count == 1);
			slip_snapshot_free(s);
			s = NULL;
			if (kind != F_CRASH && kind != F_CRASH_TORN) {
				CHECK_OK(slip_snapshot_writer_compact(w));
				REQUIRE_OK(slip_snapshot_load(&s, p));
				CHECK(s != NULL && s->count == 1);
				slip_snapshot_free(s);
			}
			slip_snapshot_writer_free(w);
			free(p);
			snapt_rmdir(dir);
		}
	}
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_faults_while_opening),
        SLIP_TEST(t_crash_at_every_step),
        SLIP_TEST(t_torn_crash_at_every_step),
        SLIP_TEST(t_short_write_at_every_step),
        SLIP_TEST(t_enospc_at_every_step),
        SLIP_TEST(t_eio_at_every_step),
        SLIP_TEST(t_none_cursor_compaction_faults),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
