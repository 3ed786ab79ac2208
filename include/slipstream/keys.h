/*
 * slipstream/keys.h — validation of keys, prefixes and bucket names.
 *
 * Every call that takes a key validates it first, so a bad key is
 * SLIP_EINVAL before anything reaches a backend. These functions are public
 * so callers can check input early (e.g. while parsing a config file).
 * All are pure and thread-safe; on failure they set the last-error message.
 */
#ifndef SLIPSTREAM_KEYS_H
#define SLIPSTREAM_KEYS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest key accepted, in bytes. */
#define SLIP_KEY_MAX 1024

/**
 * NATS key rules: one or more of [-/_=.a-zA-Z0-9], no leading or trailing
 * '.', no empty token ("a..b"), at most SLIP_KEY_MAX bytes.
 * @return SLIP_OK or SLIP_EINVAL (message names the key and the rule).
 */
SLIP_EXTERN int slip_key_validate(const char *key);

/**
 * A prefix for scan/keys/watch: "" (everything) or a string of key
 * characters that is a string prefix of valid keys: it may end in '.'
 * ("node.") or mid-token ("node.us-"), but may not start with '.' or
 * contain "..". @return SLIP_OK or SLIP_EINVAL.
 */
SLIP_EXTERN int slip_prefix_validate(const char *prefix);

/**
 * Bucket names: one or more of [A-Za-z0-9_-], at most SLIP_NAME_MAX bytes.
 * @return SLIP_OK or SLIP_EINVAL.
 */
SLIP_EXTERN int slip_bucket_validate(const char *name);

#ifdef __cplusplus
}
#endif
#endif
