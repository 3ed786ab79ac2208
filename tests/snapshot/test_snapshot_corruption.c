/*
 * tests/snapshot/test_snapshot_corruption.c — exhaustive damage to a real
 * file written by the writer (ctest snapshot-corruption):
 *
 *   - truncated at every byte offset, it loads exactly the committed state
 *     whose cursor record ends at or before the cut (never more), and a
 *     writer reopening it (sampled offsets) recovers and appends;
 *   - with every bit of every byte flipped in turn, it fails with
 *     SLIP_ECORRUPTED (or SLIP_EUNSUPPORTEDVERSION in the header), except
 *     that a flip inside the final record may instead load the state
 *     committed before that record. Nothing else is accepted.
 */
#include <stdlib.h>
#include <string.h>

#include "snap_util.h"
#include "snapshot_record.h"
#include "test.h"

#define NCP 8

typedef struct corpus {
	char *dir, *path;
	uint8_t *data;
	size_t len;
	snapt_state states[NCP + 1]; /* states[0]: nothing committed */
	size_t ends[NCP + 1];        /* file length after checkpoint i */
	size_t last_rec;             /* offset where the final record starts */
} corpus;

static bool build(corpus *c, bool compact_midway)
{
	slip_snapshot_writer *w = NULL;
	snapt_state st;

	memset(c, 0, sizeof(*c));
	memset(&st, 0, sizeof(st));
	c->dir = snapt_tmpdir();
	c->path = snapt_path(c->dir, "c.snap");
	if (slip_snapshot_writer_open(&w, c->path, 0) != SLIP_OK)
		return false;
	c->ends[0] = SLIP__SNAP_HEADER_LEN;
	for (uint64_t n = 1; n <= NCP; n++) {
		if (snapt_batch(99, n, &st, w) != SLIP_OK ||
		    slip_snapshot_writer_checkpoint(w, &st.cursor, NULL) !=
		            SLIP_OK)
			break;
		if (compact_midway && n == NCP / 2 &&
		    slip_snapshot_writer_compact(w) != SLIP_OK)
			break;
		c->states[n] = st;
		free(c->data);
		c->data = snapt_read(c->path, &c->len);
		c->ends[n] = c->len;
	}
	slip_snapshot_writer_free(w);
	c->last_rec = c->len - slip__rec_cursor_size(st.cursor.len);
	return c->data != NULL && c->ends[NCP] == c->len;
}

static void release(corpus *c)
{
	free(c->data);
	free(c->path);
	snapt_rmdir(c->dir);
}

/* Index of the committed state a file cut at @p cut must load (-1 none). */
static int expected_at(const corpus *c, size_t cut)
{
	int best = -1;

	for (int i = 1; i <= NCP; i++) {
		if (c->ends[i] <= cut)
			best = i;
	}
	/* After a compaction, earlier ends may exceed later ones: the file
	 * is the compacted one, so only later checkpoints apply. */
	return best;
}

static void check_truncations(const corpus *c)
{
	for (size_t cut = 0; cut <= c->len; cut++) {
		slip_snapshot *s = NULL;
		int want = expected_at(c, cut);
		int rc = slip_snapshot_load_buffer(&s, c->data, cut);

		if (rc != SLIP_OK) {
			slip_test_fail(__FILE__, __LINE__, "cut %zu: %s (%s)",
			               cut, slip_err_name(rc),
			               slip_last_error());
			continue;
		}
		if (want < 0 ? s != NULL : !snapt_equal(&c->states[want], s))
			slip_test_fail(__FILE__, __LINE__,
			               "cut %zu: wrong state (want %d)", cut,
			               want);
		slip_snapshot_free(s);
	}
}

/* Sampled: a writer reopening a cut file recovers and can append. */
static void check_reopen(const corpus *c, size_t cut)
{
	char *p = snapt_path(c->dir, "cut.snap");
	slip_snapshot_writer *w = NULL;
	slip_snapshot *s = NULL;
	int want = expected_at(c, cut);
	snapt_state st;

	memset(&st, 0, sizeof(st));
	if (want >= 0)
		st = c->states[want];
	REQUIRE(snapt_write(p, c->data, cut) == 0);
	REQUIRE_OK(slip_snapshot_writer_open(&w, p, 0));
	CHECK(snapt_writer_equal(&st, w) || want < 0);
	CHECK_OK(snapt_batch(1234, 77, &st, w));
	CHECK_OK(slip_snapshot_writer_checkpoint(w, &st.cursor, NULL));
	slip_snapshot_writer_free(w);
	REQUIRE_OK(slip_snapshot_load(&s, p));
	if (!snapt_equal(&st, s))
		slip_test_fail(__FILE__, __LINE__,
		               "reopen after cut %zu: wrong state", cut);
	slip_snapshot_free(s);
	free(p);
}

static void check_flips(const corpus *c)
{
	uint8_t *d = malloc(c->len);
	int prev = expected_at(c, c->last_rec);

	REQUIRE(d != NULL);
	memcpy(d, c->data, c->len);
	for (size_t off = 0; off < c->len; off++) {
		for (int bit = 0; bit < 8; bit++) {
			slip_snapshot *s = NULL;
			int rc;

			d[off] ^= (uint8_t)(1u << bit);
			rc = slip_snapshot_load_buffer(&s, d, c->len);
			d[off] ^= (uint8_t)(1u << bit);
			if (off >= 4 && off < 6 &&
			    rc == SLIP_EUNSUPPORTEDVERSION)
				continue;
			if (rc == SLIP_ECORRUPTED)
				continue;
			if (rc == SLIP_OK && off >= c->last_rec && prev > 0 &&
			    snapt_equal(&c->states[prev], s)) {
				slip_snapshot_free(s);
				continue;
			}
			slip_test_fail(__FILE__, __LINE__,
			               "flip byte %zu bit %d: %s accepted", off,
			               bit, slip_err_name(rc));
			slip_snapshot_free(s);
		}
	}
	free(d);
}

static void t_truncate_every_offset(void)
{
	corpus c;

	REQUIRE(build(&c, false));
	check_truncations(&c);
	for (size_t cut = 0; cut <= c.len; cut += 37)
		check_reopen(&c, cut);
	for (int i = 1; i <= NCP; i++) {
		check_reopen(&c, c.ends[i] - 1);
		check_reopen(&c, c.ends[i]);
	}
	release(&c);
}

static void t_truncate_every_offset_after_compaction(void)
{
	corpus c;

	REQUIRE(build(&c, true));
	/* Checkpoints before the compaction no longer describe this file. */
	for (int i = 1; i < NCP / 2; i++)
		c.ends[i] = (size_t)-1;
	check_truncations(&c);
	release(&c);
}

static void t_flip_every_bit(void)
{
	corpus c;

	REQUIRE(build(&c, false));
	check_flips(&c);
	release(&c);
}

static void t_flip_every_bit_compacted(void)
{
	corpus c;

	REQUIRE(build(&c, true));
	for (int i = 1; i < NCP / 2; i++)
		c.ends[i] = (size_t)-1;
	check_flips(&c);
	release(&c);
}

/*
 * A checkpoint at the none cursor commits state like any other: a
 * compaction must keep it (issue 16 §2; it was rewritten to the bare
 * header, so loads and reopens saw nothing). Every cut of the compacted
 * file then loads nothing or exactly that state.
 */
static void t_none_cursor_survives_compaction(void)
{
	char *dir = snapt_tmpdir();
	char *path = snapt_path(dir, "none.snap");
	slip_snapshot_writer *w = NULL;
	slip_snapshot *s = NULL;
	slip_entry *e = NULL;
	slip_cursor none = slip_cursor_none();
	slip_version v1 = slip_version_from_u64(1);

	REQUIRE_OK(slip_entry_new(&e, "a", "x", 1, &v1, SLIP_OP_PUT));
	REQUIRE_OK(slip_snapshot_writer_open(&w, path, 0));
	CHECK_OK(slip_snapshot_writer_write(w, e));
	slip_entry_free(e);
	CHECK_OK(slip_snapshot_writer_checkpoint(w, &none, NULL));
	CHECK_OK(slip_snapshot_writer_compact(w));
	CHECK(slip_snapshot_writer_count(w) == 1);
	slip_snapshot_writer_free(w);

	CHECK_OK(slip_snapshot_load(&s, path));
	CHECK(s != NULL && s->count == 1 && slip_cursor_is_none(&s->cursor));
	CHECK(s != NULL && slip_snapshot_find(s, "a") != NULL);
	slip_snapshot_free(s);
	REQUIRE_OK(slip_snapshot_writer_open(&w, path, 0));
	CHECK(slip_snapshot_writer_count(w) == 1);
	slip_snapshot_writer_free(w);

	size_t len = 0;
	uint8_t *data = snapt_read(path, &len);
	REQUIRE(data != NULL);
	for (size_t cut = 0; cut <= len; cut++) {
		s = NULL;
		CHECK_OK(slip_snapshot_load_buffer(&s, data, cut));
		size_t n = s != NULL ? s->count : 0;
		CHECK(n == (cut == len ? 1u : 0u));
		slip_snapshot_free(s);
	}
	free(data);
	free(path);
	snapt_rmdir(dir);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_truncate_every_offset),
        SLIP_TEST(t_truncate_every_offset_after_compaction),
        SLIP_TEST(t_flip_every_bit),
        SLIP_TEST(t_flip_every_bit_compacted),
        SLIP_TEST(t_none_cursor_survives_compaction),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
