/*
 * bench/snapshot/bench_snapshot.c — snapshot figures (bench-snapshot):
 *
 *   1. load of a file of N records (24-byte keys, 100-byte values, 8-byte
 *      versions; default N = 1,000,000) written in shuffled key order, and
 *      of the same state compacted (sorted) — records/s, best of 3;
 *      (wall and process CPU time, each the best of 3);
 *   2. the share of that CPU time zlib's crc32 needs alone over the same
 *      bytes;
 *   3. checkpoint throughput with 100-update batches (each checkpoint one
 *      write + fdatasync) on the file system holding TMPDIR (or /tmp).
 *
 *   bench-snapshot [RECORDS [BATCHES]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "internal.h"
#include "snapshot_record.h"

#define KEY_LEN 24
#define VAL_LEN 100

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this process: steadier than wall time on a shared machine. */
static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void key_of(char *k, size_t i)
{
	snprintf(k, KEY_LEN + 1, "bench/key/%014zu", i);
}

/* Builds a file image of @p n PUTs (shuffled or sorted) and a cursor. */
static uint8_t *build(size_t n, bool sorted, size_t *len)
{
	size_t rec = slip__rec_put_size(KEY_LEN, VAL_LEN, 8), off;
	size_t *order = malloc(n * sizeof(*order));
	uint8_t *buf = malloc(SLIP__SNAP_HEADER_LEN + n * rec + 64);
	uint8_t val[VAL_LEN];
	slip_cursor c = {.len = 8};
	uint64_t s = 42;

	if (order == NULL || buf == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = n; !sorted && i > 1; i--) {
		size_t j = (size_t)(rnd(&s) % i), t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
	slip__snap_header_encode(buf);
	off = SLIP__SNAP_HEADER_LEN;
	for (size_t i = 0; i < n; i++) {
		char key[KEY_LEN + 1];
		slip_version v = slip_version_from_u64(i + 1);

		key_of(key, order[i]);
		memset(val, 'a' + (int)(i % 26), sizeof(val));
		off += slip__rec_put_encode(buf + off, key, KEY_LEN, val,
		                            VAL_LEN, &v);
	}
	slip__put_u64be(c.bytes, n);
	off += slip__rec_cursor_encode(buf + off, &c);
	free(order);
	*len = off;
	return buf;
}

/* Best-of-3 wall and CPU seconds to load @p path; checks the count. */
static void time_load(const char *path, size_t n, double *wall, double *cpu)
{
	*wall = *cpu = 1e9;
	for (int i = 0; i < 3; i++) {
		slip_snapshot *s = NULL;
		double t0 = now(), c0 = cpu_now(), t, c;

		if (slip_snapshot_load(&s, path) != SLIP_OK || s == NULL ||
		    s->count != n) {
			fprintf(stderr, "load failed: %s\n", slip_last_error());
			exit(1);
		}
		t = now() - t0;
		c = cpu_now() - c0;
		slip_snapshot_free(s);
		*wall = t < *wall ? t : *wall;
		*cpu = c < *cpu ? c : *cpu;
	}
}

static double time_crc(const uint8_t *buf, size_t len)
{
	double best = 1e9;

	for (int i = 0; i < 3; i++) {
		double t0 = cpu_now(), t;
		volatile uLong crc = crc32(0, buf, (uInt)len);

		(void)crc;
		t = cpu_now() - t0;
		best = t < best ? t : best;
	}
	return best;
}

static void bench_load(const char *dir, size_t n, bool sorted)
{
	char path[512];
	size_t len;
	uint8_t *buf = build(n, sorted, &len);
	FILE *f;
	double t, c, crc;

	snprintf(path, sizeof(path), "%s/bench-%s.snap", dir,
	         sorted ? "sorted" : "shuffled");
	f = fopen(path, "wb");
	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
	time_load(path, n, &t, &c);
	crc = time_crc(buf + SLIP__SNAP_HEADER_LEN,
	               len - SLIP__SNAP_HEADER_LEN);
	printf("| load %-9s | %9zu | %7.1f MB | %7.3f s | %10.0f | %7.3f s "
	       "| %10.0f | %5.1f %% |\n",
	       sorted ? "sorted" : "shuffled", n, (double)len / 1e6, t,
	       (double)n / t, c, (double)n / c, 100.0 * crc / c);
	unlink(path);
	free(buf);
}

static void bench_checkpoint(const char *dir, int batches)
{
	char path[512];
	slip_snapshot_writer *w = NULL;
	uint8_t val[VAL_LEN];
	double t0, t;
	size_t i = 0;

	snprintf(path, sizeof(path), "%s/bench-ckpt.snap", dir);
	unlink(path);
	memset(val, 'v', sizeof(val));
	if (slip_snapshot_writer_open(&w, path, 0) != SLIP_OK) {
		fprintf(stderr, "open: %s\n", slip_last_error());
		exit(1);
	}
	t0 = now();
	for (int b = 0; b < batches; b++) {
		slip_cursor c = {.len = 8};

		for (int u = 0; u < 100; u++, i++) {
			char key[KEY_LEN + 1];
			slip_version v = slip_version_from_u64(i + 1);
			slip_entry *e = NULL;

			key_of(key, i % 10000);
			if (slip_entry_new(&e, key, val, VAL_LEN, &v,
			                   SLIP_OP_PUT) != SLIP_OK ||
			    slip_snapshot_writer_write(w, e) != SLIP_OK)
				exit(1);
			slip_entry_free(e);
		}
		slip__put_u64be(c.bytes, i);
		if (slip_snapshot_writer_checkpoint(w, &c, NULL) != SLIP_OK) {
			fprintf(stderr, "checkpoint: %s\n", slip_last_error());
			exit(1);
		}
	}
	t = now() - t0;
	printf("| checkpoint, 100-update batches, fdatasync each: %d batches "
	       "in %.3f s = %.0f checkpoints/s, %.0f updates/s |\n",
	       batches, t, batches / t, batches * 100 / t);
	slip_snapshot_writer_free(w);
	unlink(path);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000;
	int batches = argc > 2 ? atoi(argv[2]) : 500;
	const char *dir = getenv("TMPDIR");

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	printf("bench-snapshot: %zu records, %d-byte keys, %d-byte values, "
	       "dir %s\n\n",
	       n, KEY_LEN, VAL_LEN, dir);
	printf("| case           |   records |   file     |  wall     "
	       "| records/s  |  CPU      | records/s  | crc32 |\n");
	printf("|----------------|-----------|------------|-----------"
	       "|------------|-----------|------------|-------|\n");
	bench_load(dir, n, false);
	bench_load(dir, n, true);
	printf("\n");
	bench_checkpoint(dir, batches);
	return 0;
}
