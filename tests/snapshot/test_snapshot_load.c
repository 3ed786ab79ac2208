/*
 * tests/snapshot/test_snapshot_load.c — slip_snapshot_load semantics
 * (ctest snapshot-load): no snapshot, committed state only, torn tails
 * dropped, mid-file damage reported, version and magic checks, dedup,
 * sorting and binary search.
 */
#include <stdlib.h>
#include <string.h>

#include "snap_util.h"
#include "snapshot_record.h"
#include "test.h"

typedef struct file {
	uint8_t d[1 << 16];
	size_t n;
	size_t ends[64]; /* offset after each record */
	int nrec;
} file;

static void mark(file *f)
{
	f->ends[f->nrec++] = f->n;
}

static void header(file *f)
{
	slip__snap_header_encode(f->d);
	f->n = SLIP__SNAP_HEADER_LEN;
	f->nrec = 0;
}

static void put(file *f, const char *key, const char *val, uint64_t rev)
{
	slip_version v = slip_version_from_u64(rev);

	f->n += slip__rec_put_encode(f->d + f->n, key, strlen(key),
	                             (const uint8_t *)val, strlen(val), &v);
	mark(f);
}

static void del(file *f, const char *key, uint64_t rev)
{
	slip_version v = slip_version_from_u64(rev);

	f->n += slip__rec_delete_encode(f->d + f->n, key, strlen(key), &v);
	mark(f);
}

static void cur(file *f, uint64_t n)
{
	slip_cursor c = snapt_cursor(n);

	f->n += slip__rec_cursor_encode(f->d + f->n, &c);
	mark(f);
}

static int load(slip_snapshot **s, const file *f)
{
	return slip_snapshot_load_buffer(s, f->d, f->n);
}

static void t_missing_and_short_files_are_no_snapshot(void)
{
	char *dir = snapt_tmpdir(), *path = snapt_path(dir, "none.snap");
	slip_snapshot *s = (slip_snapshot *)1;

	CHECK_OK(slip_snapshot_load(&s, path));
	CHECK(s == NULL);
	for (size_t n = 0; n < SLIP__SNAP_HEADER_LEN; n++) {
		s = (slip_snapshot *)1;
		CHECK(snapt_write(path, "PGSS\x02\x00", n) == 0);
		CHECK_OK(slip_snapshot_load(&s, path));
		CHECK(s == NULL);
	}
	/* Header alone, or records without a cursor: nothing committed. */
	CHECK(snapt_write(path, "PGSS\x02\x00", 6) == 0);
	CHECK_OK(slip_snapshot_load(&s, path));
	CHECK(s == NULL);
	free(path);
	snapt_rmdir(dir);
}

static void t_uncommitted_records_are_ignored(void)
{
	file f;
	slip_snapshot *s = NULL;

	header(&f);
	put(&f, "a", "1", 1);
	CHECK_OK(load(&s, &f));
	CHECK(s == NULL);
	cur(&f, 1);
	put(&f, "b", "2", 2);
	del(&f, "a", 3);
	REQUIRE_OK(load(&s, &f));
	REQUIRE(s != NULL);
	CHECK(s->count == 1 && strcmp(s->entries[0]->key, "a") == 0);
	CHECK(snapt_cursor_n(&s->cursor) == 1);
	CHECK(s->torn_tail && s->committed_bytes == f.ends[1]);
	CHECK(s->records == 4);
	slip_snapshot_free(s);
}

static void t_torn_final_record_dropped(void)
{
	file f;
	slip_snapshot *s = NULL;

	header(&f);
	put(&f, "a", "1", 1);
	cur(&f, 2);
	put(&f, "b", "22222222", 3);
	cur(&f, 3);
	/* Cut inside the last cursor record: state of cursor 2. */
	f.n = f.ends[3] - 2;
	REQUIRE_OK(load(&s, &f));
	REQUIRE(s != NULL);
	CHECK(snapt_cursor_n(&s->cursor) == 2 && s->count == 1 && s->torn_tail);
	slip_snapshot_free(s);
	/* A full-length final record with a bad CRC is a torn write too. */
	f.n = f.ends[3];
	f.d[f.n - 1] ^= 0x40;
	REQUIRE_OK(load(&s, &f));
	REQUIRE(s != NULL);
	CHECK(snapt_cursor_n(&s->cursor) == 2);
	slip_snapshot_free(s);
}

static void t_crc_failure_before_valid_record_is_corrupted(void)
{
	file f;
	slip_snapshot *s = NULL;

	header(&f);
	put(&f, "a", "1", 1);
	cur(&f, 1);
	put(&f, "b", "2", 2);
	cur(&f, 2);
	f.d[f.ends[1] + 12] ^= 1; /* value byte of put b */
	CHECK_RC(load(&s, &f), SLIP_ECORRUPTED);
	CHECK(s == NULL);
	CHECK(strstr(slip_last_error(), "CRC") != NULL);
}

static void t_unknown_type_and_bad_lengths_are_corrupted(void)
{
	file f;
	slip_snapshot *s = NULL;

	header(&f);
	put(&f, "a", "1", 1);
	cur(&f, 1);
	f.d[f.ends[0] + 4] = 0x07;
	CHECK_RC(load(&s, &f), SLIP_ECORRUPTED);
	header(&f);
	cur(&f, 1);
	f.d[SLIP__SNAP_HEADER_LEN + 5] = 33; /* cursor length */
	CHECK_RC(load(&s, &f), SLIP_ECORRUPTED);
	header(&f);
	del(&f, "k", 1);
	cur(&f, 1);
	f.d[SLIP__SNAP_HEADER_LEN + 8] = 11; /* version length */
	CHECK_RC(load(&s, &f), SLIP_ECORRUPTED);
	CHECK(s == NULL);
}

static void t_huge_value_length_never_allocated(void)
{
	file f;
	slip_snapshot *s = NULL;

	header(&f);
	put(&f, "a", "1", 1);
	cur(&f, 1);
	put(&f, "b", "2", 2);
	/* value_len of the final record -> 0xffffffff: torn, dropped. */
	memset(f.d + f.ends[1] + 8, 0xff, 4);
	REQUIRE_OK(load(&s, &f));
	REQUIRE(s != NULL);
	CHECK(s->count == 1);
	slip_snapshot_free(s);
	/* The same in front of a valid record: corrupted. */
	cur(&f, 2);
	CHECK_RC(load(&s, &f), SLIP_ECORRUPTED);
}

static void t_zero_tail_dropped_but_not_zero_hole(void)
{
	file f;
	slip_snapshot *s = NULL;
	size_t keep;

	header(&f);
	put(&f, "a", "1", 1);
	cur(&f, 1);
	keep = f.n;
	memset(f.d + f.n, 0, 4096);
	f.n += 4096;
	REQUIRE_OK(load(&s, &f));
	REQUIRE(s != NULL);
	CHECK(s->count == 1 && s->torn_tail && s->committed_bytes == keep);
	slip_snapshot_free(s);
	/* Zeros followed by a CRC-valid record are not a tail. */
	cur(&f, 2);
	CHECK_RC(load(&s, &f), SLIP_ECORRUPTED);
	/* A short all-zero tail (under one record prefix) is dropped too. */
	f.n = keep + 3;
	REQUIRE_OK(load(&s, &f));
	CHECK(s != NULL && s->count == 1);
	slip_snapshot_free(s);
}

static void t_header_checks(void)
{
	file f;
	slip_snapshot *s = NULL;

	header(&f);
	cur(&f, 1);
	f.d[4] = 1;
	CHECK_RC(load(&s, &f), SLIP_EUNSUPPORTEDVERSION);
	f.d[4] = 3;
	CHECK_RC(load(&s, &f), SLIP_EUNSUPPORTEDVERSION);
	f.d[4] = 2;
	f.d[0] = 'X';
	CHECK_RC(load(&s, &f), SLIP_ECORRUPTED);
	CHECK(s == NULL);
}

static void t_dedup_sort_and_find(void)
{
	file f;
	slip_snapshot *s = NULL;
	char key[32];

	header(&f);
	for (int round = 0; round < 3; round++) {
		for (int i = 39; i >= 0; i--) {
			snprintf(key, sizeof(key), "k%02d", i);
			put(&f, key, round == 2 ? "final" : "old",
			    (uint64_t)(round * 100 + i));
			if (f.nrec > 60)
				f.nrec = 0; /* offsets not needed here */
		}
	}
	del(&f, "k07", 999);
	cur(&f, 9);
	REQUIRE_OK(load(&s, &f));
	REQUIRE(s != NULL);
	CHECK(s->count == 39);
	for (size_t i = 1; i < s->count; i++)
		CHECK(strcmp(s->entries[i - 1]->key, s->entries[i]->key) < 0);
	CHECK(slip_snapshot_find(s, "k07") == NULL);
	for (int i = 0; i < 40; i++) {
		const slip_entry *e;

		snprintf(key, sizeof(key), "k%02d", i);
		e = slip_snapshot_find(s, key);
		CHECK((e == NULL) == (i == 7));
		CHECK(e == NULL ||
		      (e->value_len == 5 && memcmp(e->value, "final", 5) == 0));
	}
	CHECK(slip_snapshot_find(s, "k40") == NULL);
	CHECK(slip_snapshot_find(s, "") == NULL);
	slip_snapshot_free(s);
	slip_snapshot_free(NULL);
}

static void t_put_after_delete_revives(void)
{
	file f;
	slip_snapshot *s = NULL;

	header(&f);
	put(&f, "a", "1", 1);
	del(&f, "a", 2);
	put(&f, "a", "3", 3);
	del(&f, "nothing", 4);
	cur(&f, 4);
	REQUIRE_OK(load(&s, &f));
	REQUIRE(s != NULL && s->count == 1);
	CHECK(s->entries[0]->value[0] == '3' && s->entries[0]->value_len == 1);
	slip_snapshot_free(s);
}

static void t_cursor_only_and_empty_values(void)
{
	file f;
	slip_snapshot *s = NULL;

	header(&f);
	put(&f, "e", "", 1);
	del(&f, "e", 2);
	cur(&f, 2);
	REQUIRE_OK(load(&s, &f));
	REQUIRE(s != NULL);
	CHECK(s->count == 0 && snapt_cursor_n(&s->cursor) == 2);
	slip_snapshot_free(s);
	header(&f);
	put(&f, "e", "", 1);
	cur(&f, 1);
	REQUIRE_OK(load(&s, &f));
	REQUIRE(s != NULL && s->count == 1);
	CHECK(s->entries[0]->value_len == 0 && s->entries[0]->value[0] == 0);
	slip_snapshot_free(s);
}

static void t_bad_arguments(void)
{
	slip_snapshot *s = NULL;

	CHECK_RC(slip_snapshot_load(NULL, "x"), SLIP_EINVAL);
	CHECK_RC(slip_snapshot_load(&s, NULL), SLIP_EINVAL);
	CHECK_RC(slip_snapshot_load_buffer(&s, NULL, 3), SLIP_EINVAL);
	CHECK_OK(slip_snapshot_load_buffer(&s, NULL, 0));
	CHECK(s == NULL);
	CHECK(slip_snapshot_find(NULL, "a") == NULL);
}

static void t_directory_is_io_error(void)
{
	char *dir = snapt_tmpdir();
	slip_snapshot *s = NULL;

	CHECK_RC(slip_snapshot_load(&s, dir), SLIP_EIO);
	CHECK(strstr(slip_last_error(), dir) != NULL);
	snapt_rmdir(dir);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_missing_and_short_files_are_no_snapshot),
        SLIP_TEST(t_uncommitted_records_are_ignored),
        SLIP_TEST(t_torn_final_record_dropped),
        SLIP_TEST(t_crc_failure_before_valid_record_is_corrupted),
        SLIP_TEST(t_unknown_type_and_bad_lengths_are_corrupted),
        SLIP_TEST(t_huge_value_length_never_allocated),
        SLIP_TEST(t_zero_tail_dropped_but_not_zero_hole),
        SLIP_TEST(t_header_checks),
        SLIP_TEST(t_dedup_sort_and_find),
        SLIP_TEST(t_put_after_delete_revives),
        SLIP_TEST(t_cursor_only_and_empty_values),
        SLIP_TEST(t_bad_arguments),
        SLIP_TEST(t_directory_is_io_error),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
