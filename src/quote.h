/*
 * src/quote.h — quoting user input inside error messages (core-internal).
 *
 * Error messages quote the key, prefix, name or URL they reject. Input may
 * be long or hold control bytes, so it is truncated and escaped first.
 */
#ifndef SLIP_QUOTE_H
#define SLIP_QUOTE_H

#include <stddef.h>

/** Buffer size for slip__quote(): 60 visible characters, escapes, "...". */
#define SLIP_QUOTE_BUF 256

/**
 * Copies @p s into @p buf (SLIP_QUOTE_BUF bytes) for printing between
 * quotes: bytes outside printable ASCII, '"' and '\\' become \xNN, and input
 * longer than 60 characters ends in "...". NULL becomes "(null)".
 * @return @p buf.
 */
const char *slip__quote(char *buf, const char *s);

#endif
