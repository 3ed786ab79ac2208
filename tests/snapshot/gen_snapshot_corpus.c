/*
 * tests/snapshot/gen_snapshot_corpus.c — writes the data-driven corpus
 * tests/data/snapshot/{valid,invalid}/ and its expectations.txt.
 *
 *   gen_snapshot_corpus OUTDIR     (OUTDIR/valid and OUTDIR/invalid exist)
 *
 * Each case states its expected outcome here, by construction, not by
 * running the loader: "none" (no snapshot), "ok COUNT CURSORHEX", or an
 * error name. reference-crate.snap is built byte by byte from the
 * reference crate's documented layout (8-byte cursor) with zlib's crc32,
 * independently of the library's encoders.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "snap_util.h"
#include "snapshot_record.h"

typedef struct buf {
	uint8_t d[8192];
	size_t n;
} buf;

static const char *outdir;
static FILE *expect;

static void emit(const char *name, const buf *b, const char *outcome)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	if (snapt_write(path, b->d, b->n) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
	fprintf(expect, "%-40s %s\n", name, outcome);
}

static void header(buf *b)
{
	slip__snap_header_encode(b->d);
	b->n = 6;
}

static void put(buf *b, const char *k, const char *v, uint64_t rev)
{
	slip_version ver = slip_version_from_u64(rev);

	b->n += slip__rec_put_encode(b->d + b->n, k, strlen(k),
	                             (const uint8_t *)v, strlen(v), &ver);
}

static void del(buf *b, const char *k, uint64_t rev)
{
	slip_version ver = slip_version_from_u64(rev);

	b->n += slip__rec_delete_encode(b->d + b->n, k, strlen(k), &ver);
}

static void cur(buf *b, uint64_t n)
{
	slip_cursor c = snapt_cursor(n);

	b->n += slip__rec_cursor_encode(b->d + b->n, &c);
}

/* Byte by byte, as the reference crate writes (u16le/u32le, BE u64). */
static void raw(buf *b, const void *p, size_t n)
{
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void reference_file(void)
{
	static const uint8_t hdr[] = {'P', 'G', 'S', 'S', 2, 0};
	struct {
		uint8_t type;
		const char *key, *val;
		uint64_t rev;
	} recs[] = {{1, "config/a", "hello", 1},
	            {1, "config/b", "world", 2},
	            {2, "config/a", NULL, 3},
	            {3, NULL, NULL, 3}};
	buf b = {.n = 0};

	raw(&b, hdr, 6);
	for (size_t i = 0; i < 4; i++) {
		size_t at = b.n;
		uint8_t tmp[8];
		uint32_t crc;

		raw(&b, "\0\0\0\0", 4);
		raw(&b, &recs[i].type, 1);
		if (recs[i].key != NULL) {
			uint16_t kl = (uint16_t)strlen(recs[i].key);
			uint8_t kle[2] = {(uint8_t)kl, (uint8_t)(kl >> 8)};

			raw(&b, kle, 2);
			raw(&b, recs[i].key, kl);
		}
		if (recs[i].val != NULL) {
			uint32_t vl = (uint32_t)strlen(recs[i].val);
			uint8_t vle[4] = {(uint8_t)vl, 0, 0, 0};

			raw(&b, vle, 4);
			raw(&b, recs[i].val, vl);
		}
		raw(&b, "\x08", 1);
		for (int j = 0; j < 8; j++)
			tmp[j] = (uint8_t)(recs[i].rev >> (56 - 8 * j));
		raw(&b, tmp, 8);
		crc = (uint32_t)crc32(0, b.d + at + 4, (uInt)(b.n - at - 4));
		for (int j = 0; j < 4; j++)
			b.d[at + j] = (uint8_t)(crc >> (8 * j));
	}
	emit("valid/reference-crate.snap", &b, "ok 1 0000000000000003");
}

static void valid_cases(void)
{
	buf b;
	size_t keep;
	slip_version vs = {.len = 10, .bytes = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}};
	slip_cursor c32 = {.len = 32};

	b.n = 0;
	emit("valid/empty.snap", &b, "none");
	header(&b);
	b.n = 4;
	emit("valid/torn-header.snap", &b, "none");
	header(&b);
	emit("valid/header-only.snap", &b, "none");
	put(&b, "a", "1", 1);
	emit("valid/no-cursor.snap", &b, "none");

	header(&b);
	put(&b, "b", "2", 1);
	put(&b, "a", "1", 2);
	put(&b, "b", "3", 3);
	cur(&b, 2);
	emit("valid/dedup.snap", &b, "ok 2 0000000000000002");
	keep = b.n;
	put(&b, "c", "4", 4);
	emit("valid/uncommitted-tail.snap", &b, "ok 2 0000000000000002");
	cur(&b, 4);
	b.n -= 3;
	emit("valid/torn-cursor.snap", &b, "ok 2 0000000000000002");
	b.n += 3;
	b.d[b.n - 1] ^= 0x55;
	emit("valid/bad-crc-final.snap", &b, "ok 2 0000000000000002");
	b.n = keep;
	memset(b.d + b.n, 0, 512);
	b.n += 512;
	emit("valid/zero-tail.snap", &b, "ok 2 0000000000000002");
	b.n = keep;
	put(&b, "huge", "x", 9);
	memset(b.d + b.n - 14, 0xff, 4); /* value_len of the final record */
	emit("valid/huge-length-final.snap", &b, "ok 2 0000000000000002");

	header(&b);
	put(&b, "gone", "x", 1);
	del(&b, "gone", 2);
	cur(&b, 2);
	emit("valid/cursor-only.snap", &b, "ok 0 0000000000000002");

	header(&b);
	for (int i = 0; i < 32; i++)
		c32.bytes[i] = (uint8_t)i;
	b.n += slip__rec_put_encode(b.d + b.n, "fdb", 3, (const uint8_t *)"", 0,
	                            &vs);
	b.n += slip__rec_cursor_encode(b.d + b.n, &c32);
	emit("valid/versionstamp-cursor32.snap", &b,
	     "ok 1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d"
	     "1e1f");
	reference_file();
}

static void invalid_cases(void)
{
	buf b;

	header(&b);
	cur(&b, 1);
	b.d[0] = 'X';
	emit("invalid/bad-magic.snap", &b, "SLIP_ECORRUPTED");
	b.d[0] = 'P';
	b.d[4] = 1;
	emit("invalid/version-1.snap", &b, "SLIP_EUNSUPPORTEDVERSION");
	b.d[4] = 3;
	emit("invalid/version-3.snap", &b, "SLIP_EUNSUPPORTEDVERSION");

	header(&b);
	put(&b, "a", "1", 1);
	cur(&b, 1);
	b.d[6 + 12] ^= 0x20; /* value byte of the put */
	emit("invalid/crc-mid-file.snap", &b, "SLIP_ECORRUPTED");
	b.d[6 + 12] ^= 0x20;
	b.d[6 + 4] = 0x09;
	emit("invalid/unknown-type.snap", &b, "SLIP_ECORRUPTED");
	b.d[6 + 4] = 0x01;
	b.d[6 + 13] = 11;
	emit("invalid/version-len-11.snap", &b, "SLIP_ECORRUPTED");

	header(&b);
	cur(&b, 1);
	b.d[6 + 5] = 33;
	emit("invalid/cursor-len-33.snap", &b, "SLIP_ECORRUPTED");

	header(&b);
	cur(&b, 1);
	memset(b.d + b.n, 0, 64);
	b.n += 64;
	cur(&b, 2);
	emit("invalid/zero-hole.snap", &b, "SLIP_ECORRUPTED");

	header(&b);
	put(&b, "a", "1", 1);
	cur(&b, 1);
	memset(b.d + 6 + 8, 0xff, 4);
	emit("invalid/huge-length-mid.snap", &b, "SLIP_ECORRUPTED");

	header(&b);
	put(&b, "a", "1", 1);
	b.d[6 + 7] = 0; /* key "\0": re-seal the CRC so only the key is bad */
	{
		uint32_t crc = (uint32_t)crc32(0, b.d + 10, (uInt)(b.n - 10));

		for (int j = 0; j < 4; j++)
			b.d[6 + j] = (uint8_t)(crc >> (8 * j));
	}
	cur(&b, 1);
	emit("invalid/nul-in-key.snap", &b, "SLIP_ECORRUPTED");
}

int main(int argc, char **argv)
{
	char path[1024];

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	snprintf(path, sizeof(path), "%s/expectations.txt", outdir);
	expect = fopen(path, "w");
	if (expect == NULL) {
		fprintf(stderr, "cannot write %s\n", path);
		return 1;
	}
	fprintf(expect, "# file outcome — written by "
	                "tests/snapshot/gen_snapshot_corpus.c\n"
	                "# outcome: none | ok COUNT CURSORHEX | "
	                "SLIP_E<NAME>\n");
	valid_cases();
	invalid_cases();
	fclose(expect);
	return 0;
}
