/*
 * src/snapshot_record.h — encoding and decoding of one snapshot record
 * (format v2, docs/snapshot-format.md), shared by the loader and the writer.
 *
 *   header  "PGSS" ++ version:u16le
 *   record  crc32:u32le ++ type:u8 ++ payload   (CRC over type + payload)
 *     PUT     key_len:u16le key value_len:u32le value ver_len:u8 ver
 *     DELETE  key_len:u16le key ver_len:u8 ver
 *     CURSOR  cursor_len:u8 cursor
 */
#ifndef SLIP_SNAPSHOT_RECORD_H
#define SLIP_SNAPSHOT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <slipstream/types.h>

#define SLIP__SNAP_MAGIC      "PGSS"
#define SLIP__SNAP_HEADER_LEN 6
#define SLIP__REC_PUT         0x01
#define SLIP__REC_DELETE      0x02
#define SLIP__REC_CURSOR      0x03
/** Largest value a record may carry; a larger length is damage. */
#define SLIP__SNAP_VALUE_MAX (64u * 1024u * 1024u)
/** crc + type: the part every record starts with. */
#define SLIP__REC_PREFIX 5

/** What slip__rec_parse() found at a position. */
typedef enum slip__rec_status {
	SLIP__REC_OK = 0,    /**< a whole, CRC-valid record */
	SLIP__REC_SHORT,     /**< runs past the end of the data */
	SLIP__REC_BADCRC,    /**< whole, but the CRC does not match */
	SLIP__REC_TOOBIG,    /**< value length over SLIP__SNAP_VALUE_MAX */
	SLIP__REC_ZERO,      /**< crc 0 and type 0: zero fill */
	SLIP__REC_BADTYPE,   /**< unknown record type */
	SLIP__REC_BADVERLEN, /**< version length over SLIP_VERSION_MAX */
	SLIP__REC_BADCURLEN, /**< cursor length over SLIP_CURSOR_MAX */
	SLIP__REC_BADKEY     /**< CRC-valid, but the key holds a NUL byte */
} slip__rec_status;

/** One decoded record; pointers borrow from the parsed buffer. */
typedef struct slip__rec {
	uint8_t type;
	size_t size; /**< bytes the record occupies (when OK or BADCRC) */
	const uint8_t *key;
	size_t key_len;
	const uint8_t *value;
	size_t value_len;
	slip_version version;
	slip_cursor cursor;
} slip__rec;

/**
 * Decodes the record at the start of @p p (@p len bytes available). Never
 * reads outside [p, p + len). Lengths are checked against their caps before
 * anything else is trusted.
 */
slip__rec_status slip__rec_parse(slip__rec *out, const uint8_t *p, size_t len);

/**
 * As slip__rec_parse() but stops at the structure: checks lengths and
 * bounds, not the CRC. For the resynchronising scan of damaged files.
 */
slip__rec_status slip__rec_frame(slip__rec *out, const uint8_t *p, size_t len);

/** Short English name of a status, for error messages. */
const char *slip__rec_status_name(slip__rec_status st);

/** Encoded sizes. */
size_t slip__rec_put_size(size_t key_len, size_t value_len, size_t ver_len);
size_t slip__rec_delete_size(size_t key_len, size_t ver_len);
size_t slip__rec_cursor_size(size_t cursor_len);

/**
 * Encoders: write one record at @p dst (room for the *_size() bytes) and
 * return its size. The caller has checked key_len <= 65535 and
 * value_len <= SLIP__SNAP_VALUE_MAX.
 */
size_t slip__rec_put_encode(uint8_t *dst, const char *key, size_t key_len,
                            const uint8_t *value, size_t value_len,
                            const slip_version *ver);
size_t slip__rec_delete_encode(uint8_t *dst, const char *key, size_t key_len,
                               const slip_version *ver);
size_t slip__rec_cursor_encode(uint8_t *dst, const slip_cursor *cursor);

/** Writes the 6-byte file header at @p dst. */
void slip__snap_header_encode(uint8_t *dst);

/* ------------------------------------------- replay (src/snapshot.c) */

/** A key's last committed PUT (or a dead slot after a DELETE). */
/* 40 bytes, so a million items take 40 MB: lengths fit 32 bits (keys are
 * at most 65535 bytes, values at most 64 MiB). */
typedef struct slip__replay_item {
	const uint8_t *key;   /**< borrowed from the replayed buffer */
	const uint8_t *value; /**< borrowed from the replayed buffer */
	uint32_t key_len;
	uint32_t value_len;
	slip_version version;
	bool live;
} slip__replay_item;

/** Committed state of a buffer, by reference into it. */
typedef struct slip__replay {
	bool has_header; /**< at least the 6 header bytes were there */
	bool has_state;  /**< a cursor record was found */
	slip_cursor cursor;
	size_t committed; /**< offset just past the last cursor record */
	uint64_t records; /**< records read, committed or not */
	size_t puts;      /**< PUT records among them */
	slip__replay_item *items; /**< keys in order of first appearance */
	size_t nitems;
	size_t live; /**< items with live set */
} slip__replay;

/**
 * Validates @p data (a whole snapshot file) and folds the records up to
 * the last cursor record into @p out. On SLIP_OK, has_header false means
 * the data is shorter than the header (no snapshot); free with
 * slip__replay_free(). Errors: SLIP_ECORRUPTED, SLIP_EUNSUPPORTEDVERSION,
 * SLIP_ENOMEM, each with a message.
 */
int slip__snapshot_replay(slip__replay *out, const uint8_t *data, size_t len);

void slip__replay_free(slip__replay *r);

#endif
