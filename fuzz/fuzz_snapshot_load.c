/*
 * fuzz/fuzz_snapshot_load.c — libFuzzer target for the snapshot loader and
 * the record decoder. For any bytes:
 *
 *   - slip_snapshot_load_buffer() returns OK / CORRUPTED /
 *     UNSUPPORTEDVERSION (never crashes, never reads out of bounds); a
 *     loaded snapshot has strictly sorted keys that slip_snapshot_find()
 *     finds, and committed_bytes <= file_bytes;
 *   - re-encoding a loaded snapshot (PUTs + cursor) and loading that gives
 *     the same entries and cursor (the writer's round-trip property);
 *   - slip__rec_parse() at every offset stays in bounds and reports a size
 *     within the data for whole records.
 *
 * Built with -fsanitize=fuzzer (SLIP_FUZZ=ON, clang) or linked with
 * fuzz/standalone.c as a plain regression test over the seed corpus.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "snapshot_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static void check_sorted(const slip_snapshot *s, size_t size)
{
	check(s->committed_bytes <= s->file_bytes && s->file_bytes == size);
	for (size_t i = 0; i < s->count; i++) {
		check(slip_snapshot_find(s, s->entries[i]->key) ==
		      s->entries[i]);
		if (i > 0)
			check(strcmp(s->entries[i - 1]->key,
			             s->entries[i]->key) < 0);
	}
}

/* Re-encodes @p s and checks it loads back to the same state. */
static void round_trip(const slip_snapshot *s)
{
	size_t need = SLIP__SNAP_HEADER_LEN + slip__rec_cursor_size(32), n;
	slip_snapshot *t = NULL;
	uint8_t *buf;

	for (size_t i = 0; i < s->count; i++)
		need += slip__rec_put_size(strlen(s->entries[i]->key),
		                           s->entries[i]->value_len,
		                           s->entries[i]->version.len);
	buf = malloc(need);
	if (buf == NULL)
		return;
	slip__snap_header_encode(buf);
	n = SLIP__SNAP_HEADER_LEN;
	for (size_t i = 0; i < s->count; i++) {
		const slip_entry *e = s->entries[i];

		n += slip__rec_put_encode(buf + n, e->key, strlen(e->key),
		                          e->value, e->value_len, &e->version);
	}
	n += slip__rec_cursor_encode(buf + n, &s->cursor);
	check(slip_snapshot_load_buffer(&t, buf, n) == SLIP_OK && t != NULL);
	check(t->count == s->count && t->cursor.len == s->cursor.len &&
	      memcmp(t->cursor.bytes, s->cursor.bytes, s->cursor.len) == 0);
	for (size_t i = 0; i < s->count; i++) {
		const slip_entry *a = s->entries[i], *b = t->entries[i];

		check(strcmp(a->key, b->key) == 0 &&
		      a->value_len == b->value_len &&
		      memcmp(a->value, b->value, a->value_len) == 0 &&
		      slip_version_eq(&a->version, &b->version));
	}
	slip_snapshot_free(t);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	slip_snapshot *s = NULL;
	slip__rec r;
	int rc;

	rc = slip_snapshot_load_buffer(&s, data, size);
	check(rc == SLIP_OK || rc == SLIP_ECORRUPTED ||
	      rc == SLIP_EUNSUPPORTEDVERSION);
	check(rc == SLIP_OK || s == NULL);
	if (s != NULL) {
		check_sorted(s, size);
		round_trip(s);
	}
	slip_snapshot_free(s);
	/* The decoder alone, at every offset of small inputs. */
	for (size_t off = 0; off < size && off < 512; off++) {
		if (slip__rec_parse(&r, data + off, size - off) == SLIP__REC_OK)
			check(r.size >= SLIP__REC_PREFIX + 1 &&
			      r.size <= size - off);
	}
	return 0;
}
