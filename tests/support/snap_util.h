/*
 * tests/support/snap_util.h — helpers shared by the snapshot, fault and
 * crash tests: temp directories, file I/O, a deterministic update generator
 * and a model ("oracle") of the committed state it produces, compared
 * exactly against loaded snapshots.
 */
#ifndef SNAP_UTIL_H
#define SNAP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <slipstream.h>

#define SNAPT_KEYS   48
#define SNAPT_VALMAX 200

/** The state a sequence of updates leaves behind, plus its cursor. */
typedef struct snapt_state {
	bool present[SNAPT_KEYS];
	uint16_t vlen[SNAPT_KEYS];
	uint8_t val[SNAPT_KEYS][SNAPT_VALMAX];
	slip_version ver[SNAPT_KEYS];
	slip_cursor cursor;
	uint64_t seq;   /**< updates applied so far (their version) */
	uint64_t big_n; /**< batch that last put SNAPT_BIG_KEY (0: none) */
} snapt_state;

/*
 * When snapt_big_values is set, every fourth batch also puts a value of
 * SNAPT_BIG_LEN bytes under SNAPT_BIG_KEY (which sorts after every other
 * key), so appends are large enough for a SIGKILL to tear them.
 */
#define SNAPT_BIG_KEY "zz/big"
#define SNAPT_BIG_LEN (768 * 1024)
extern bool snapt_big_values;

/** Makes a fresh temp directory; returns a malloc'd path. */
char *snapt_tmpdir(void);
/** Removes @p dir and the files in it (one level), frees the path. */
void snapt_rmdir(char *dir);
/** "<dir>/<name>" in a malloc'd string. */
char *snapt_path(const char *dir, const char *name);

/** Reads a whole file (malloc'd, *len set); NULL when it cannot. */
uint8_t *snapt_read(const char *path, size_t *len);
/** Writes @p len bytes as the whole file; 0 or -1. */
int snapt_write(const char *path, const void *data, size_t len);

/** splitmix64 step. */
uint64_t snapt_rand(uint64_t *s);

/** Key name of slot @p i ("key/007"); keys sort in slot order. */
void snapt_key(char *buf, size_t bufsz, int i);

/**
 * Makes the next update from @p rng, applies it to @p st and returns it as
 * an entry (caller frees): mostly puts, some deletes and purges.
 */
slip_entry *snapt_next_update(uint64_t *rng, snapt_state *st);

/** The cursor of checkpoint number @p n (8 bytes, or 16 when @p n odd). */
slip_cursor snapt_cursor(uint64_t n);

/** Checkpoint number of a cursor made by snapt_cursor(). */
uint64_t snapt_cursor_n(const slip_cursor *c);

/**
 * Applies batch @p n of the seeded update stream to @p st (as the crash
 * test's child does): its length and contents depend on seed and n only.
 * Writes each update to @p w when not NULL. Sets st->cursor.
 */
int snapt_batch(uint64_t seed, uint64_t n, snapt_state *st,
                slip_snapshot_writer *w);

/** True when @p snap holds exactly @p st (entries and cursor). */
bool snapt_equal(const snapt_state *st, const slip_snapshot *snap);

/** True when @p w's committed state is exactly @p st. */
bool snapt_writer_equal(const snapt_state *st, const slip_snapshot_writer *w);

#endif
