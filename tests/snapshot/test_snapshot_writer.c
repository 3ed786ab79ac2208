/*
 * tests/snapshot/test_snapshot_writer.c — the snapshot writer (ctest
 * snapshot-writer): create, buffer, checkpoint, reopen and append, torn
 * tail truncation, compaction (state, cursor, pending updates, byte
 * determinism), the compaction threshold, purge folding and argument
 * checks. Every state is compared with the seeded model in snap_util.
 */
#include <stdlib.h>
#include <string.h>

#include "snap_util.h"
#include "snapshot_record.h"
#include "test.h"

typedef struct fixture {
	char *dir;
	char *path;
} fixture;

static void fx_init(fixture *fx)
{
	fx->dir = snapt_tmpdir();
	fx->path = fx->dir != NULL ? snapt_path(fx->dir, "w.snap") : NULL;
}

static void fx_done(fixture *fx)
{
	free(fx->path);
	snapt_rmdir(fx->dir);
}

static bool loads_as(const char *path, const snapt_state *st)
{
	slip_snapshot *s = NULL;
	bool ok;

	if (slip_snapshot_load(&s, path) != SLIP_OK)
		return false;
	ok = snapt_equal(st, s);
	slip_snapshot_free(s);
	return ok;
}

static void t_new_file_has_header_only(void)
{
	fixture fx;
	slip_snapshot_writer *w = NULL;
	uint8_t *d;
	size_t n;

	fx_init(&fx);
	REQUIRE_OK(slip_snapshot_writer_open(&w, fx.path, 0));
	d = snapt_read(fx.path, &n);
	CHECK(d != NULL && n == 6 && memcmp(d, "PGSS\x02\x00", 6) == 0);
	CHECK(slip_snapshot_writer_count(w) == 0);
	CHECK(slip_cursor_is_none(slip_snapshot_writer_cursor(w)));
	CHECK(slip_snapshot_writer_appended(w) == 0);
	free(d);
	slip_snapshot_writer_free(w);
	slip_snapshot_writer_free(NULL);
	fx_done(&fx);
}

static void t_checkpoints_reopen_and_append(void)
{
	fixture fx;
	snapt_state st;
	slip_snapshot_writer *w = NULL;

	memset(&st, 0, sizeof(st));
	fx_init(&fx);
	REQUIRE_OK(slip_snapshot_writer_open(&w, fx.path, 0));
	for (uint64_t n = 1; n <= 30; n++) {
		bool due = true;

		REQUIRE_OK(snapt_batch(7, n, &st, w));
		REQUIRE_OK(
		        slip_snapshot_writer_checkpoint(w, &st.cursor, &due));
		CHECK(!due); /* threshold 0: never due */
		CHECK(snapt_writer_equal(&st, w));
		CHECK(loads_as(fx.path, &st));
		if (n % 10 == 0) {
			slip_snapshot_writer_free(w);
			w = NULL;
			REQUIRE_OK(slip_snapshot_writer_open(&w, fx.path, 0));
			CHECK(snapt_writer_equal(&st, w));
		}
	}
	slip_snapshot_writer_free(w);
	fx_done(&fx);
}

static void t_uncommitted_updates_dropped_on_free(void)
{
	fixture fx;
	snapt_state st, before;
	slip_snapshot_writer *w = NULL;

	memset(&st, 0, sizeof(st));
	fx_init(&fx);
	REQUIRE_OK(slip_snapshot_writer_open(&w, fx.path, 0));
	REQUIRE_OK(snapt_batch(3, 1, &st, w));
	REQUIRE_OK(slip_snapshot_writer_checkpoint(w, &st.cursor, NULL));
	before = st;
	REQUIRE_OK(snapt_batch(3, 2, &st, w));
	/* Buffered only: nothing reaches the file or the committed state. */
	CHECK(snapt_writer_equal(&before, w));
	CHECK(loads_as(fx.path, &before));
	slip_snapshot_writer_free(w);
	CHECK(loads_as(fx.path, &before));
	fx_done(&fx);
}

static void t_torn_tail_truncated_before_append(void)
{
	fixture fx;
	snapt_state st;
	slip_snapshot_writer *w = NULL;
	uint8_t *d;
	size_t n, committed;

	memset(&st, 0, sizeof(st));
	fx_init(&fx);
	REQUIRE_OK(slip_snapshot_writer_open(&w, fx.path, 0));
	REQUIRE_OK(snapt_batch(5, 1, &st, w));
	REQUIRE_OK(slip_snapshot_writer_checkpoint(w, &st.cursor, NULL));
	slip_snapshot_writer_free(w);
	d = snapt_read(fx.path, &n);
	REQUIRE(d != NULL);
	committed = n;
	/* A torn record: garbage-free prefix of a put, cut short. */
	d = realloc(d, n + 9);
	REQUIRE(d != NULL);
	memcpy(d + n,
	       "\x11\x22\x33\x44\x01\x05\x00"
	       "ab",
	       9);
	REQUIRE(snapt_write(fx.path, d, n + 9) == 0);
	free(d);
	w = NULL;
	REQUIRE_OK(slip_snapshot_writer_open(&w, fx.path, 0));
	d = snapt_read(fx.path, &n);
	CHECK(n == committed);
	free(d);
	REQUIRE_OK(snapt_batch(5, 2, &st, w));
	REQUIRE_OK(slip_snapshot_writer_checkpoint(w, &st.cursor, NULL));
	CHECK(loads_as(fx.path, &st));
	slip_snapshot_writer_free(w);
	fx_done(&fx);
}

static void t_compact_keeps_state_and_pending(void)
{
	fixture fx;
	snapt_state st, committed;
	slip_snapshot_writer *w = NULL;
	slip_snapshot *s = NULL;
	uint8_t *a, *b;
	size_t na, nb;

	memset(&st, 0, sizeof(st));
	fx_init(&fx);
	REQUIRE_OK(slip_snapshot_writer_open(&w, fx.path, 1));
	for (uint64_t n = 1; n <= 20; n++) {
		bool due = false;

		REQUIRE_OK(snapt_batch(11, n, &st, w));
		REQUIRE_OK(
		        slip_snapshot_writer_checkpoint(w, &st.cursor, &due));
		CHECK(due); /* threshold 1: due after every append */
	}
	committed = st;
	REQUIRE_OK(snapt_batch(11, 21, &st, w)); /* pending across compact */
	REQUIRE_OK(slip_snapshot_writer_compact(w));
	CHECK(slip_snapshot_writer_appended(w) == 0);
	CHECK(loads_as(fx.path, &committed));
	REQUIRE_OK(slip_snapshot_load(&s, fx.path));
	REQUIRE(s != NULL);
	CHECK(!s->torn_tail && s->records == s->count + 1);
	slip_snapshot_free(s);
	CHECK(snapt_writer_equal(&committed, w));
	REQUIRE_OK(slip_snapshot_writer_checkpoint(w, &st.cursor, NULL));
	CHECK(loads_as(fx.path, &st));
	/* Compaction is deterministic: same state, same bytes. */
	REQUIRE_OK(slip_snapshot_writer_compact(w));
	a = snapt_read(fx.path, &na);
	REQUIRE_OK(slip_snapshot_writer_compact(w));
	b = snapt_read(fx.path, &nb);
	CHECK(a != NULL && b != NULL && na == nb && memcmp(a, b, na) == 0);
	free(a);
	free(b);
	slip_snapshot_writer_free(w);
	/* No temp file is left behind. */
	{
		char *tmp = snapt_path(fx.dir, "w.snap.tmp");
		size_t n;
		uint8_t *t = snapt_read(tmp, &n);

		CHECK(t == NULL);
		free(t);
		free(tmp);
	}
	fx_done(&fx);
}

static void t_threshold_counts_appended_bytes(void)
{
	fixture fx;
	slip_snapshot_writer *w = NULL;
	slip_cursor c = snapt_cursor(2);
	bool due = true;
	uint64_t rec = slip__rec_cursor_size(8);

	fx_init(&fx);
	REQUIRE_OK(slip_snapshot_writer_open(&w, fx.path, 3 * rec));
	CHECK_OK(slip_snapshot_writer_checkpoint(w, &c, &due));
	CHECK(!due && slip_snapshot_writer_appended(w) == rec);
	CHECK_OK(slip_snapshot_writer_checkpoint(w, &c, &due));
	CHECK(!due);
	CHECK_OK(slip_snapshot_writer_checkpoint(w, &c, &due));
	CHECK(due);
	slip_snapshot_writer_free(w);
	/* Reopening counts what the file already holds past its header. */
	w = NULL;
	REQUIRE_OK(slip_snapshot_writer_open(&w, fx.path, 3 * rec));
	CHECK(slip_snapshot_writer_appended(w) == 3 * rec);
	CHECK_OK(slip_snapshot_writer_compact(w));
	CHECK(slip_snapshot_writer_appended(w) == 0);
	slip_snapshot_writer_free(w);
	fx_done(&fx);
}

static int count_visit(void *payload, const slip_entry *e)
{
	(*(int *)payload)++;
	return e->key[0] == 's' ? 42 : 0;
}

static void t_purge_folds_as_delete_and_accessors(void)
{
	fixture fx;
	slip_snapshot_writer *w = NULL;
	slip_version v = slip_version_from_u64(1);
	slip_cursor c = snapt_cursor(1);
	slip_entry *e = NULL;
	slip_snapshot *s = NULL;
	int visits = 0;

	fx_init(&fx);
	REQUIRE_OK(slip_snapshot_writer_open(&w, fx.path, 0));
	REQUIRE_OK(slip_entry_new(&e, "a", "1", 1, &v, SLIP_OP_PUT));
	CHECK_OK(slip_snapshot_writer_write(w, e));
	slip_entry_free(e);
	REQUIRE_OK(slip_entry_new(&e, "b", "2", 1, &v, SLIP_OP_PUT));
	CHECK_OK(slip_snapshot_writer_write(w, e));
	slip_entry_free(e);
	REQUIRE_OK(slip_entry_new(&e, "a", NULL, 0, &v, SLIP_OP_PURGE));
	CHECK_OK(slip_snapshot_writer_write(w, e));
	slip_entry_free(e);
	REQUIRE_OK(slip_entry_new(&e, "", NULL, 0, &v, SLIP_OP_CAUGHT_UP));
	CHECK_RC(slip_snapshot_writer_write(w, e), SLIP_EINVAL);
	slip_entry_free(e);
	CHECK_OK(slip_snapshot_writer_checkpoint(w, &c, NULL));
	CHECK(slip_snapshot_writer_count(w) == 1);
	CHECK(slip_snapshot_writer_get(w, "a") == NULL);
	REQUIRE(slip_snapshot_writer_get(w, "b") != NULL);
	CHECK(slip_snapshot_writer_get(w, "b")->value[0] == '2');
	CHECK_OK(slip_snapshot_writer_foreach(w, count_visit, &visits));
	CHECK(visits == 1);
	REQUIRE_OK(slip_snapshot_load(&s, fx.path));
	CHECK(s != NULL && s->count == 1 && s->records == 4);
	slip_snapshot_free(s);
	CHECK_RC(slip_snapshot_writer_write(w, NULL), SLIP_EINVAL);
	CHECK_RC(slip_snapshot_writer_checkpoint(w, NULL, NULL), SLIP_EINVAL);
	CHECK_RC(slip_snapshot_writer_foreach(w, NULL, NULL), SLIP_EINVAL);
	CHECK(slip_snapshot_writer_get(NULL, "b") == NULL);
	slip_snapshot_writer_free(w);
	fx_done(&fx);
}

static void t_limits_checked_on_write(void)
{
	fixture fx;
	slip_snapshot_writer *w = NULL;
	slip_version v = slip_version_from_u64(1);
	slip_entry *e = NULL;
	char *key = malloc(70000);

	REQUIRE(key != NULL);
	memset(key, 'k', 69999);
	key[69999] = '\0';
	fx_init(&fx);
	REQUIRE_OK(slip_snapshot_writer_open(&w, fx.path, 0));
	REQUIRE_OK(slip_entry_new(&e, key, "x", 1, &v, SLIP_OP_PUT));
	CHECK_RC(slip_snapshot_writer_write(w, e), SLIP_EINVAL);
	slip_entry_free(e);
	key[65535] = '\0'; /* exactly the u16 maximum is fine */
	REQUIRE_OK(slip_entry_new(&e, key, "x", 1, &v, SLIP_OP_PUT));
	CHECK_OK(slip_snapshot_writer_write(w, e));
	slip_entry_free(e);
	slip_snapshot_writer_free(w);
	free(key);
	CHECK_RC(slip_snapshot_writer_open(&w, NULL, 0), SLIP_EINVAL);
	CHECK_RC(slip_snapshot_writer_open(&w, "", 0), SLIP_EINVAL);
	fx_done(&fx);
}

static void t_open_refuses_damaged_files(void)
{
	fixture fx;
	slip_snapshot_writer *w = NULL;

	fx_init(&fx);
	REQUIRE(snapt_write(fx.path, "PGSS\x01\x00", 6) == 0);
	CHECK_RC(slip_snapshot_writer_open(&w, fx.path, 0),
	         SLIP_EUNSUPPORTEDVERSION);
	CHECK(w == NULL);
	REQUIRE(snapt_write(fx.path, "PGSS\x02\x00\x01\x02\x03\x04\x09\x00",
	                    12) == 0);
	CHECK_RC(slip_snapshot_writer_open(&w, fx.path, 0), SLIP_ECORRUPTED);
	CHECK(strstr(slip_last_error(), fx.path) != NULL);
	/* A file torn inside its header is started afresh. */
	REQUIRE(snapt_write(fx.path, "PGS", 3) == 0);
	REQUIRE_OK(slip_snapshot_writer_open(&w, fx.path, 0));
	slip_snapshot_writer_free(w);
	fx_done(&fx);
}

static void t_second_writer_refused(void)
{
	fixture fx;
	slip_snapshot_writer *w = NULL, *w2 = NULL;
	snapt_state st;

	memset(&st, 0, sizeof(st));
	fx_init(&fx);
	REQUIRE_OK(slip_snapshot_writer_open(&w, fx.path, 0));
	CHECK_RC(slip_snapshot_writer_open(&w2, fx.path, 0), SLIP_EIO);
	CHECK(w2 == NULL);
	CHECK(strstr(slip_last_error(), "another writer") != NULL);
	/* Still refused after a compaction replaced the file. */
	REQUIRE_OK(snapt_batch(8, 1, &st, w));
	REQUIRE_OK(slip_snapshot_writer_checkpoint(w, &st.cursor, NULL));
	REQUIRE_OK(slip_snapshot_writer_compact(w));
	CHECK_RC(slip_snapshot_writer_open(&w2, fx.path, 0), SLIP_EIO);
	/* Loading is never blocked. */
	CHECK(loads_as(fx.path, &st));
	slip_snapshot_writer_free(w);
	REQUIRE_OK(slip_snapshot_writer_open(&w2, fx.path, 0));
	CHECK(snapt_writer_equal(&st, w2));
	slip_snapshot_writer_free(w2);
	fx_done(&fx);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_second_writer_refused),
        SLIP_TEST(t_new_file_has_header_only),
        SLIP_TEST(t_checkpoints_reopen_and_append),
        SLIP_TEST(t_uncommitted_updates_dropped_on_free),
        SLIP_TEST(t_torn_tail_truncated_before_append),
        SLIP_TEST(t_compact_keeps_state_and_pending),
        SLIP_TEST(t_threshold_counts_appended_bytes),
        SLIP_TEST(t_purge_folds_as_delete_and_accessors),
        SLIP_TEST(t_limits_checked_on_write),
        SLIP_TEST(t_open_refuses_damaged_files),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
