/*
 * tools/output.c — how the tool prints entries: JSON records (string
 * escaping, strict UTF-8 detection with a base64 fallback, revision or
 * version_hex) and the human "KEY<TAB>VALUE" form with C escapes.
 *
 * JSON record: {"op":"put","key":K,"value":V,"revision":N[,"cursor":C]}
 * where "value" becomes "value_b64" when the bytes are not valid UTF-8 and
 * "revision" becomes "version_hex" for version tokens not 8 bytes long.
 */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

/* ------------------------------------------------------------------- JSON */

void json_string(FILE *f, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	putc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				fputs("\\u00", f);
				putc(hex[c >> 4], f);
				putc(hex[c & 15], f);
			} else {
				putc(c, f);
			}
		}
	}
	putc('"', f);
}

/*
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF, no truncated sequence. Anything else goes out as base64.
 */
bool json_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static void base64(FILE *f, const uint8_t *v, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                          "abcdefghijklmnopqrstuvwxyz0123456789+/";
	putc('"', f);
	for (size_t i = 0; i < len; i += 3) {
		uint32_t b = (uint32_t)v[i] << 16;
		if (i + 1 < len)
			b |= (uint32_t)v[i + 1] << 8;
		if (i + 2 < len)
			b |= v[i + 2];
		putc(tab[(b >> 18) & 63], f);
		putc(tab[(b >> 12) & 63], f);
		putc(i + 1 < len ? tab[(b >> 6) & 63] : '=', f);
		putc(i + 2 < len ? tab[b & 63] : '=', f);
	}
	putc('"', f);
}

void json_value_member(FILE *f, const uint8_t *v, size_t len)
{
	if (json_utf8_valid(v, len)) {
		fputs("\"value\":", f);
		json_string(f, (const char *)v, len);
	} else {
		fputs("\"value_b64\":", f);
		base64(f, v, len);
	}
}

void json_version_member(FILE *f, const slip_version *v)
{
	uint64_t rev;
	if (v->len == 0)
		return;
	if (slip_version_to_u64(v, &rev) == SLIP_OK) {
		fprintf(f, "\"revision\":%" PRIu64, rev);
		return;
	}
	fputs("\"version_hex\":\"", f);
	for (size_t i = 0; i < v->len; i++)
		fprintf(f, "%02x", v->bytes[i]);
	putc('"', f);
}

void json_record(FILE *f, const slip_entry *e, bool with_cursor)
{
	fprintf(f, "{\"op\":\"%s\",\"key\":", slip_op_name(e->op));
	json_string(f, e->key, strlen(e->key));
	putc(',', f);
	json_value_member(f, e->value ? e->value : (const uint8_t *)"",
	                  e->value ? e->value_len : 0);
	if (e->version.len > 0) {
		putc(',', f);
		json_version_member(f, &e->version);
	}
	if (with_cursor && !slip_cursor_is_none(&e->cursor)) {
		char c[SLIP_CURSOR_STRLEN];
		slip_cursor_to_string(&e->cursor, c, sizeof(c));
		fprintf(f, ",\"cursor\":\"%s\"", c);
	}
	fputs("}\n", f);
}

/* ------------------------------------------------------------------ human */

void human_escaped(FILE *f, const uint8_t *v, size_t len)
{
	/* Valid UTF-8 text prints as is, bar control characters. */
	bool text = json_utf8_valid(v, len);
	for (size_t i = 0; i < len; i++) {
		uint8_t c = v[i];
		if (c == '\\')
			fputs("\\\\", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !text))
			fprintf(f, "\\x%02x", c);
		else
			putc(c, f);
	}
}

void human_record(FILE *f, const slip_entry *e)
{
	fputs(e->key, f);
	putc('\t', f);
	human_escaped(f, e->value ? e->value : (const uint8_t *)"",
	              e->value ? e->value_len : 0);
	putc('\n', f);
}

void version_text(char *buf, size_t bufsz, const slip_version *v)
{
	uint64_t rev;
	if (v->len == 0) {
		snprintf(buf, bufsz, "none");
		return;
	}
	if (slip_version_to_u64(v, &rev) == SLIP_OK) {
		snprintf(buf, bufsz, "%" PRIu64, rev);
		return;
	}
	size_t off = (size_t)snprintf(buf, bufsz, "hex:");
	for (size_t i = 0; i < v->len && off + 3 <= bufsz; i++)
		off += (size_t)snprintf(buf + off, bufsz - off, "%02x",
		                        v->bytes[i]);
}
