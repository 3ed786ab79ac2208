/*
 * tests/snapshot/test_snapshot_format.c — the byte format (ctest
 * snapshot-format): records built by hand from the documented layout with
 * zlib's crc32 must be what the writer produces and what the loader reads,
 * version tokens of 0..10 bytes and cursors of 0..32 bytes round-trip, and
 * the record decoder's length caps hold.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "snap_util.h"
#include "snapshot_record.h"
#include "test.h"

/* A growing byte buffer for hand-built files. */
typedef struct bytes {
	uint8_t d[4096];
	size_t n;
} bytes;

static void put8(bytes *b, uint8_t v)
{
	b->d[b->n++] = v;
}

static void put_raw(bytes *b, const void *p, size_t n)
{
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void put16(bytes *b, uint16_t v)
{
	put8(b, (uint8_t)v);
	put8(b, (uint8_t)(v >> 8));
}

static void put32(bytes *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		put8(b, (uint8_t)(v >> (8 * i)));
}

static void put_be64(bytes *b, uint64_t v)
{
	for (int i = 7; i >= 0; i--)
		put8(b, (uint8_t)(v >> (8 * i)));
}

/* Starts a record: 4 CRC bytes to fill in by end_rec(). */
static size_t begin_rec(bytes *b, uint8_t type)
{
	size_t at = b->n;

	put32(b, 0);
	put8(b, type);
	return at;
}

static void end_rec(bytes *b, size_t at)
{
	uint32_t crc = (uint32_t)crc32(0, b->d + at + 4, (uInt)(b->n - at - 4));

	for (int i = 0; i < 4; i++)
		b->d[at + i] = (uint8_t)(crc >> (8 * i));
}

static void hand_put(bytes *b, const char *key, const char *val, uint64_t rev)
{
	size_t at = begin_rec(b, 0x01);

	put16(b, (uint16_t)strlen(key));
	put_raw(b, key, strlen(key));
	put32(b, (uint32_t)strlen(val));
	put_raw(b, val, strlen(val));
	put8(b, 8);
	put_be64(b, rev);
	end_rec(b, at);
}

static void hand_delete(bytes *b, const char *key, uint64_t rev)
{
	size_t at = begin_rec(b, 0x02);

	put16(b, (uint16_t)strlen(key));
	put_raw(b, key, strlen(key));
	put8(b, 8);
	put_be64(b, rev);
	end_rec(b, at);
}

static void hand_cursor(bytes *b, uint64_t seq)
{
	size_t at = begin_rec(b, 0x03);

	put8(b, 8);
	put_be64(b, seq);
	end_rec(b, at);
}

static void hand_header(bytes *b)
{
	put_raw(b, "PGSS", 4);
	put16(b, 2);
}

static slip_entry *mk(const char *key, const char *val, uint64_t rev,
                      slip_op op)
{
	slip_version v = slip_version_from_u64(rev);
	slip_entry *e = NULL;

	slip_entry_new(&e, key, val, val != NULL ? strlen(val) : 0, &v, op);
	return e;
}

static int write_one(slip_snapshot_writer *w, slip_entry *e)
{
	int rc = slip_snapshot_writer_write(w, e);

	slip_entry_free(e);
	return rc;
}

/*
 * The file docs/snapshot-format.md annotates (and the corpus holds as
 * valid/reference-crate.snap): two puts, a delete and an 8-byte cursor.
 */
static const uint8_t doc_example[110] = {
        0x50, 0x47, 0x53, 0x53, 0x02, 0x00, 0x02, 0x2f, 0x5d, 0x8a, 0x01,
        0x08, 0x00, 0x63, 0x6f, 0x6e, 0x66, 0x69, 0x67, 0x2f, 0x61, 0x05,
        0x00, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x08, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xb8, 0xd3, 0xb2, 0xa7, 0x01,
        0x08, 0x00, 0x63, 0x6f, 0x6e, 0x66, 0x69, 0x67, 0x2f, 0x62, 0x05,
        0x00, 0x00, 0x00, 0x77, 0x6f, 0x72, 0x6c, 0x64, 0x08, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x76, 0x3d, 0x00, 0x5c, 0x02,
        0x08, 0x00, 0x63, 0x6f, 0x6e, 0x66, 0x69, 0x67, 0x2f, 0x61, 0x08,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xd7, 0x20, 0x6c,
        0x2a, 0x03, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03};

/* The writer's bytes are exactly the documented layout. */
static void t_writer_bytes_match_layout(void)
{
	char *dir = snapt_tmpdir(), *path = snapt_path(dir, "s.snap");
	slip_cursor c = {.len = 8, .bytes = {0, 0, 0, 0, 0, 0, 0, 3}};
	slip_snapshot_writer *w = NULL;
	bytes want = {.n = 0};
	uint8_t *got;
	size_t len;

	hand_header(&want);
	hand_put(&want, "config/a", "hello", 1);
	hand_put(&want, "config/b", "world", 2);
	hand_delete(&want, "config/a", 3);
	hand_cursor(&want, 3);
	CHECK(want.n == sizeof(doc_example) &&
	      memcmp(want.d, doc_example, want.n) == 0);

	REQUIRE_OK(slip_snapshot_writer_open(&w, path, 0));
	CHECK_OK(write_one(w, mk("config/a", "hello", 1, SLIP_OP_PUT)));
	CHECK_OK(write_one(w, mk("config/b", "world", 2, SLIP_OP_PUT)));
	CHECK_OK(write_one(w, mk("config/a", NULL, 3, SLIP_OP_DELETE)));
	CHECK_OK(slip_snapshot_writer_checkpoint(w, &c, NULL));
	slip_snapshot_writer_free(w);
	got = snapt_read(path, &len);
	CHECK(got != NULL && len == want.n && memcmp(got, want.d, len) == 0);
	free(got);
	free(path);
	snapt_rmdir(dir);
}

/* A hand-built file loads to the state it describes. */
static void t_hand_built_file_loads(void)
{
	bytes b = {.n = 0};
	slip_snapshot *s = NULL;
	uint64_t seq = 0;

	hand_header(&b);
	hand_put(&b, "zeta", "last", 5);
	hand_put(&b, "alpha", "first", 6);
	hand_put(&b, "mid", "x", 7);
	hand_delete(&b, "mid", 8);
	hand_cursor(&b, 8);
	REQUIRE_OK(slip_snapshot_load_buffer(&s, b.d, b.n));
	REQUIRE(s != NULL);
	CHECK(s->count == 2);
	CHECK(strcmp(s->entries[0]->key, "alpha") == 0);
	CHECK(strcmp(s->entries[1]->key, "zeta") == 0);
	CHECK(s->entries[1]->value_len == 4 &&
	      memcmp(s->entries[1]->value, "last", 4) == 0);
	CHECK_OK(slip_version_to_u64(&s->entries[0]->version, &seq));
	CHECK(seq == 6);
	CHECK(s->cursor.len == 8 && s->cursor.bytes[7] == 8);
	CHECK(s->committed_bytes == b.n && s->file_bytes == b.n);
	CHECK(!s->torn_tail);
	CHECK(s->records == 5);
	CHECK(slip_snapshot_find(s, "mid") == NULL);
	CHECK(slip_snapshot_find(s, "zeta") == s->entries[1]);
	slip_snapshot_free(s);
}

/* Version tokens of every length 0..10 and cursors 0..32 round-trip. */
static void t_token_lengths_round_trip(void)
{
	for (int vl = 0; vl <= SLIP_VERSION_MAX; vl++) {
		uint8_t buf[256];
		slip_version v = {.len = (uint8_t)vl};
		slip_cursor c = {.len = (uint8_t)(vl * 3 + 2)};
		slip__rec r;
		size_t n;

		for (int i = 0; i < vl; i++)
			v.bytes[i] = (uint8_t)(0xa0 + i);
		for (int i = 0; i < c.len; i++)
			c.bytes[i] = (uint8_t)i;
		n = slip__rec_put_encode(buf, "k", 1, (const uint8_t *)"v", 1,
		                         &v);
		CHECK(n == slip__rec_put_size(1, 1, (size_t)vl));
		CHECK(slip__rec_parse(&r, buf, n) == SLIP__REC_OK);
		CHECK(r.version.len == vl &&
		      memcmp(r.version.bytes, v.bytes, (size_t)vl) == 0);
		CHECK(r.size == n);
		n = slip__rec_delete_encode(buf, "key", 3, &v);
		CHECK(slip__rec_parse(&r, buf, n) == SLIP__REC_OK &&
		      r.type == SLIP__REC_DELETE && r.version.len == vl);
		n = slip__rec_cursor_encode(buf, &c);
		CHECK(slip__rec_parse(&r, buf, n) == SLIP__REC_OK &&
		      r.cursor.len == c.len &&
		      memcmp(r.cursor.bytes, c.bytes, c.len) == 0);
	}
}

/* Decoder caps: version > 10, cursor > 32, value > 64 MiB, cut short. */
static void t_decoder_caps(void)
{
	uint8_t buf[64];
	slip_version v = slip_version_from_u64(1);
	slip_cursor c = {.len = SLIP_CURSOR_MAX};
	slip__rec r;
	size_t n;

	n = slip__rec_put_encode(buf, "k", 1, (const uint8_t *)"v", 1, &v);
	buf[5 + 2 + 1 + 4 + 1] = 11; /* ver_len */
	CHECK(slip__rec_parse(&r, buf, n) == SLIP__REC_BADVERLEN);
	n = slip__rec_put_encode(buf, "k", 1, (const uint8_t *)"v", 1, &v);
	buf[5 + 2 + 1 + 3] = 0x04; /* value_len 0x04000001 > 64 MiB */
	CHECK(slip__rec_parse(&r, buf, n) == SLIP__REC_TOOBIG);
	buf[5 + 2 + 1 + 3] = 0x00;
	for (size_t cut = 0; cut < n; cut++)
		CHECK(slip__rec_parse(&r, buf, cut) == SLIP__REC_SHORT);
	CHECK(slip__rec_parse(&r, buf, n) == SLIP__REC_OK);
	buf[n - 1] ^= 1;
	CHECK(slip__rec_parse(&r, buf, n) == SLIP__REC_BADCRC);
	n = slip__rec_cursor_encode(buf, &c);
	CHECK(slip__rec_parse(&r, buf, n) == SLIP__REC_OK);
	buf[5] = SLIP_CURSOR_MAX + 1;
	CHECK(slip__rec_parse(&r, buf, sizeof(buf)) == SLIP__REC_BADCURLEN);
	buf[4] = 0x04;
	CHECK(slip__rec_parse(&r, buf, n) == SLIP__REC_BADTYPE);
	memset(buf, 0, sizeof(buf));
	CHECK(slip__rec_parse(&r, buf, sizeof(buf)) == SLIP__REC_ZERO);
}

/* A 10-byte versionstamp survives writer -> file -> load. */
static void t_versionstamp_through_file(void)
{
	char *dir = snapt_tmpdir(), *path = snapt_path(dir, "v.snap");
	slip_version vs = {.len = 10, .bytes = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}};
	slip_cursor c = {.len = 32};
	slip_snapshot_writer *w = NULL;
	slip_snapshot *s = NULL;
	slip_entry *e = NULL;

	for (int i = 0; i < 32; i++)
		c.bytes[i] = (uint8_t)(255 - i);
	REQUIRE_OK(slip_entry_new(&e, "fdb", "v", 1, &vs, SLIP_OP_PUT));
	REQUIRE_OK(slip_snapshot_writer_open(&w, path, 0));
	CHECK_OK(slip_snapshot_writer_write(w, e));
	CHECK_OK(slip_snapshot_writer_checkpoint(w, &c, NULL));
	slip_snapshot_writer_free(w);
	slip_entry_free(e);
	REQUIRE_OK(slip_snapshot_load(&s, path));
	REQUIRE(s != NULL && s->count == 1);
	CHECK(slip_version_eq(&s->entries[0]->version, &vs));
	CHECK(s->cursor.len == 32 && memcmp(s->cursor.bytes, c.bytes, 32) == 0);
	slip_snapshot_free(s);
	free(path);
	snapt_rmdir(dir);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_writer_bytes_match_layout),
        SLIP_TEST(t_hand_built_file_loads),
        SLIP_TEST(t_token_lengths_round_trip),
        SLIP_TEST(t_decoder_caps),
        SLIP_TEST(t_versionstamp_through_file),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
