/*
 * slipstream/snapshot.h — the local snapshot cache file (format v2).
 *
 * A snapshot is deduplicated KV state plus the cursor it is valid at, kept
 * in an append-only log so a service restarts without replaying the whole
 * bucket. It is a cache, never the source of truth: delete the file and the
 * next start replays in full. The byte format (docs/snapshot-format.md) is
 * compatible with the reference crate's version 2 files:
 *
 *   header  "PGSS" ++ version:u16le (= 2)
 *   record  crc32:u32le ++ type:u8 ++ payload   (CRC over type + payload)
 *     0x01 PUT     key_len:u16le key value_len:u32le value ver_len:u8 ver
 *     0x02 DELETE  key_len:u16le key ver_len:u8 ver
 *     0x03 CURSOR  cursor_len:u8 cursor
 *
 * Only state up to the last CURSOR record is committed; a torn tail left by
 * a crash is dropped on load and truncated by the writer.
 *
 * Threading: a loaded slip_snapshot is immutable and may be read from any
 * thread. A slip_snapshot_writer belongs to one thread at a time.
 */
#ifndef SLIPSTREAM_SNAPSHOT_H
#define SLIPSTREAM_SNAPSHOT_H

#include <stdbool.h>

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Format version this library reads and writes. */
#define SLIP_SNAPSHOT_FORMAT_VERSION 2

/** Committed state loaded from a snapshot file. Owned by the caller. */
typedef struct slip_snapshot {
	slip_cursor cursor;   /**< cursor of the last committed checkpoint */
	size_t count;         /**< live entries */
	slip_entry **entries; /**< live entries (op PUT), sorted by key */
	uint64_t file_bytes;  /**< size of the file as found */
	uint64_t
	        committed_bytes; /**< offset just past the last cursor record */
	uint64_t records;        /**< records read, committed or not */
	bool torn_tail;          /**< a torn or uncommitted tail was dropped */
} slip_snapshot;

/**
 * Loads the state as of the last cursor record.
 * @return SLIP_OK with *out set, or SLIP_OK with *out NULL when there is no
 * snapshot (missing file, or shorter than the header); SLIP_ECORRUPTED (CRC
 * failure followed by a valid record, unknown record type, impossible
 * length), SLIP_EUNSUPPORTEDVERSION, SLIP_EIO, SLIP_ENOMEM. Caller owns *out.
 */
SLIP_EXTERN int slip_snapshot_load(slip_snapshot **out, const char *path);

/** As slip_snapshot_load() over @p len bytes in memory (*out NULL: none). */
SLIP_EXTERN int slip_snapshot_load_buffer(slip_snapshot **out, const void *data,
                                          size_t len);

/**
 * Frees a loaded snapshot and its entries. The entries share one block
 * with the snapshot: never free one on its own (copy it with
 * slip_entry_dup() to keep it). NULL is a no-op.
 */
SLIP_EXTERN void slip_snapshot_free(slip_snapshot *snap);

/** Binary search by key; NULL when absent. Borrowed from @p snap. */
SLIP_EXTERN const slip_entry *slip_snapshot_find(const slip_snapshot *snap,
                                                 const char *key);

typedef struct slip_snapshot_writer slip_snapshot_writer;

/**
 * Opens (or creates) a snapshot file for appending. An existing file is
 * loaded first and a torn tail is truncated away before anything is
 * appended. Compaction becomes due once @p compact_threshold bytes have been
 * appended since the last compaction (0 = never due).
 * @return SLIP_OK (caller owns *out), SLIP_ECORRUPTED,
 * SLIP_EUNSUPPORTEDVERSION, SLIP_EIO, SLIP_ENOMEM.
 */
SLIP_EXTERN int slip_snapshot_writer_open(slip_snapshot_writer **out,
                                          const char *path,
                                          uint64_t compact_threshold);

/**
 * Buffers one update (PUT, DELETE or PURGE; purge is stored as a delete).
 * Copies what it needs; no I/O. Other ops are SLIP_EINVAL.
 */
SLIP_EXTERN int slip_snapshot_writer_write(slip_snapshot_writer *w,
                                           const slip_entry *update);

/**
 * Commits: writes the buffered records and a cursor record, flushes and
 * fdatasyncs. *compact_due (optional) says whether compaction is due.
 * On error nothing new is committed (a later load yields the previous
 * state) and the buffered updates are kept so the call may be retried.
 */
SLIP_EXTERN int slip_snapshot_writer_checkpoint(slip_snapshot_writer *w,
                                                const slip_cursor *cursor,
                                                bool *compact_due);

/**
 * Rewrites the file as live state + cursor: temp file, fsync, rename over
 * the old file, fsync the directory. Only committed state is written. A
 * crash at any instant leaves a file that loads to the old or new state.
 */
SLIP_EXTERN int slip_snapshot_writer_compact(slip_snapshot_writer *w);

/** Closes the file and frees the writer; uncommitted updates are dropped. */
SLIP_EXTERN void slip_snapshot_writer_free(slip_snapshot_writer *w);

/** Cursor of the last commit (none for a new file). Borrowed. */
SLIP_EXTERN const slip_cursor *
slip_snapshot_writer_cursor(const slip_snapshot_writer *w);

/** Number of live keys in the committed state. */
SLIP_EXTERN size_t slip_snapshot_writer_count(const slip_snapshot_writer *w);

/** Committed live entry for @p key, or NULL. Borrowed until the next call. */
SLIP_EXTERN const slip_entry *
slip_snapshot_writer_get(const slip_snapshot_writer *w, const char *key);

/** Visitor over committed live entries; return non-zero to stop. */
typedef int (*slip_entry_visit)(void *payload, const slip_entry *e);

/** Calls @p cb for each committed live entry (unspecified order). */
SLIP_EXTERN int slip_snapshot_writer_foreach(const slip_snapshot_writer *w,
                                             slip_entry_visit cb,
                                             void *payload);

/** Bytes appended since the last compaction (or open of a new file). */
SLIP_EXTERN uint64_t
slip_snapshot_writer_appended(const slip_snapshot_writer *w);

#ifdef __cplusplus
}
#endif
#endif
