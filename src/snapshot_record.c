/*
 * src/snapshot_record.c — one snapshot record in and out: the bounds- and
 * cap-checked decoder used by the loader (and the fuzzer), and the encoders
 * used by the writer. CRC-32 is zlib's crc32() over type byte + payload.
 *
 * Lengths are read before the CRC can vouch for them, so every length is
 * checked against its cap and against the bytes available before it is
 * used: a corrupt length can never drive an allocation or an out-of-bounds
 * read.
 */
#include "snapshot_record.h"

#include <string.h>
#include <zlib.h>

#include "internal.h"

static uint32_t crc_of(const uint8_t *p, size_t len)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	/* zlib takes uInt lengths; a record is far below 4 GiB but loop anyway.
	 */
	while (len > 0) {
		uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;
		crc = crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return (uint32_t)crc;
}

/*
 * PUT and DELETE share their layout except for the value in the middle:
 *     PUT     key_len:u16le key value_len:u32le value ver_len:u8 ver
 *     DELETE  key_len:u16le key ver_len:u8 ver
 * so one reader frames both; @p has_value says which.
 */
static slip__rec_status frame_entry(slip__rec *r, const uint8_t *p, size_t len,
                                    bool has_value)
{
	size_t off = SLIP__REC_PREFIX, ver_len;

	if (len < off + 2)
		return SLIP__REC_SHORT;
	r->key_len = slip__get_u16le(p + off);
	off += 2;
	r->key = p + off;
	/* The key and the next length field (value_len:u32 or ver_len:u8). */
	if (len - off < r->key_len + (has_value ? 4 : 1))
		return SLIP__REC_SHORT;
	off += r->key_len;
	if (has_value) {
		r->value_len = slip__get_u32le(p + off);
		off += 4;
		if (r->value_len > SLIP__SNAP_VALUE_MAX)
			return SLIP__REC_TOOBIG;
		r->value = p + off;
		if (len - off < r->value_len + 1)
			return SLIP__REC_SHORT;
		off += r->value_len;
	}
	ver_len = p[off++];
	if (ver_len > SLIP_VERSION_MAX)
		return SLIP__REC_BADVERLEN;
	if (len - off < ver_len)
		return SLIP__REC_SHORT;
	r->version.len = (uint8_t)ver_len;
	memcpy(r->version.bytes, p + off, ver_len);
	r->size = off + ver_len;
	return SLIP__REC_OK;
}

/* CURSOR: cursor_len:u8 cursor */
static slip__rec_status frame_cursor(slip__rec *r, const uint8_t *p, size_t len)
{
	size_t cur_len;

	if (len < SLIP__REC_PREFIX + 1)
		return SLIP__REC_SHORT;
	cur_len = p[SLIP__REC_PREFIX];
	if (cur_len > SLIP_CURSOR_MAX)
		return SLIP__REC_BADCURLEN;
	if (len - (SLIP__REC_PREFIX + 1) < cur_len)
		return SLIP__REC_SHORT;
	r->cursor.len = (uint8_t)cur_len;
	memcpy(r->cursor.bytes, p + SLIP__REC_PREFIX + 1, cur_len);
	r->size = SLIP__REC_PREFIX + 1 + cur_len;
	return SLIP__REC_OK;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != 0)
			return false;
	}
	return true;
}

slip__rec_status slip__rec_frame(slip__rec *out, const uint8_t *p, size_t len)
{
	memset(out, 0, sizeof(*out));
	if (len < SLIP__REC_PREFIX)
		return all_zero(p, len) && len > 0 ? SLIP__REC_ZERO
		                                   : SLIP__REC_SHORT;
	out->type = p[4];
	switch (out->type) {
	case SLIP__REC_PUT:
		return frame_entry(out, p, len, true);
	case SLIP__REC_DELETE:
		return frame_entry(out, p, len, false);
	case SLIP__REC_CURSOR:
		return frame_cursor(out, p, len);
	case 0:
		if (all_zero(p, 4))
			return SLIP__REC_ZERO;
		return SLIP__REC_BADTYPE;
	default:
		return SLIP__REC_BADTYPE;
	}
}

slip__rec_status slip__rec_parse(slip__rec *out, const uint8_t *p, size_t len)
{
	slip__rec_status st = slip__rec_frame(out, p, len);

	if (st != SLIP__REC_OK)
		return st;
	if (crc_of(p + 4, out->size - 4) != slip__get_u32le(p))
		return SLIP__REC_BADCRC;
	if (out->type != SLIP__REC_CURSOR &&
	    memchr(out->key, 0, out->key_len) != NULL)
		return SLIP__REC_BADKEY;
	return SLIP__REC_OK;
}

const char *slip__rec_status_name(slip__rec_status st)
{
	switch (st) {
	case SLIP__REC_OK:
		return "valid record";
	case SLIP__REC_SHORT:
		return "record cut short";
	case SLIP__REC_BADCRC:
		return "CRC mismatch";
	case SLIP__REC_TOOBIG:
		return "value length over 64 MiB";
	case SLIP__REC_ZERO:
		return "zero fill";
	case SLIP__REC_BADTYPE:
		return "unknown record type";
	case SLIP__REC_BADVERLEN:
		return "version length over 10";
	case SLIP__REC_BADCURLEN:
		return "cursor length over 32";
	case SLIP__REC_BADKEY:
		return "key holds a NUL byte";
	}
	return "unknown";
}

size_t slip__rec_put_size(size_t key_len, size_t value_len, size_t ver_len)
{
	return SLIP__REC_PREFIX + 2 + key_len + 4 + value_len + 1 + ver_len;
}

size_t slip__rec_delete_size(size_t key_len, size_t ver_len)
{
	return SLIP__REC_PREFIX + 2 + key_len + 1 + ver_len;
}

size_t slip__rec_cursor_size(size_t cursor_len)
{
	return SLIP__REC_PREFIX + 1 + cursor_len;
}

/* Fills in the CRC of the record of @p size bytes at @p dst. */
static size_t seal(uint8_t *dst, size_t size)
{
	slip__put_u32le(dst, crc_of(dst + 4, size - 4));
	return size;
}

/* Writes a PUT (@p has_value) or DELETE record; see frame_entry(). */
static size_t encode_entry(uint8_t *dst, const char *key, size_t key_len,
                           bool has_value, const uint8_t *value,
                           size_t value_len, const slip_version *ver)
{
	size_t off = 4;

	dst[off++] = has_value ? SLIP__REC_PUT : SLIP__REC_DELETE;
	slip__put_u16le(dst + off, (uint16_t)key_len);
	off += 2;
	memcpy(dst + off, key, key_len);
	off += key_len;
	if (has_value) {
		slip__put_u32le(dst + off, (uint32_t)value_len);
		off += 4;
		if (value_len > 0)
			memcpy(dst + off, value, value_len);
		off += value_len;
	}
	dst[off++] = ver->len;
	memcpy(dst + off, ver->bytes, ver->len);
	return seal(dst, off + ver->len);
}

size_t slip__rec_put_encode(uint8_t *dst, const char *key, size_t key_len,
                            const uint8_t *value, size_t value_len,
                            const slip_version *ver)
{
	return encode_entry(dst, key, key_len, true, value, value_len, ver);
}

size_t slip__rec_delete_encode(uint8_t *dst, const char *key, size_t key_len,
                               const slip_version *ver)
{
	return encode_entry(dst, key, key_len, false, NULL, 0, ver);
}

size_t slip__rec_cursor_encode(uint8_t *dst, const slip_cursor *cursor)
{
	dst[4] = SLIP__REC_CURSOR;
	dst[5] = cursor->len;
	memcpy(dst + 6, cursor->bytes, cursor->len);
	return seal(dst, SLIP__REC_PREFIX + 1 + cursor->len);
}

void slip__snap_header_encode(uint8_t *dst)
{
	memcpy(dst, SLIP__SNAP_MAGIC, 4);
	slip__put_u16le(dst + 4, 2);
}
