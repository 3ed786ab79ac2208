/*
 * slipstream/types.h — the small value types every backend shares:
 * version tokens, watch cursors, entries (which double as watch updates),
 * entry and key lists, capabilities, store configuration and store info.
 *
 * Version tokens and cursors are plain values (no allocation, copy with =).
 * Entries are heap objects owned by whoever receives them; free each with
 * slip_entry_free().
 */
#ifndef SLIPSTREAM_TYPES_H
#define SLIPSTREAM_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- version */

/** Longest version token in bytes (FoundationDB versionstamps are 10). */
#define SLIP_VERSION_MAX 10

/**
 * Opaque version of one key's value. NATS and memory: the u64 revision,
 * big-endian, 8 bytes, so memcmp order is numeric order. len == 0 means
 * "no version".
 */
typedef struct slip_version {
	uint8_t len;
	uint8_t bytes[SLIP_VERSION_MAX];
} slip_version;

/** An 8-byte big-endian version token holding @p rev. */
SLIP_EXTERN slip_version slip_version_from_u64(uint64_t rev);

/**
 * Reads an 8-byte token as a u64 revision.
 * @return SLIP_OK, or SLIP_EINVAL when @p v is not 8 bytes long.
 */
SLIP_EXTERN int slip_version_to_u64(const slip_version *v, uint64_t *out);

/** memcmp-style order of two tokens (shorter first on a common prefix). */
SLIP_EXTERN int slip_version_cmp(const slip_version *a, const slip_version *b);

/** True when both tokens have the same length and bytes. */
SLIP_EXTERN bool slip_version_eq(const slip_version *a, const slip_version *b);

/* ----------------------------------------------------------------- cursor */

/** Longest cursor in bytes. */
#define SLIP_CURSOR_MAX 32
/** Buffer size that holds any cursor's text form, NUL included. */
#define SLIP_CURSOR_STRLEN (2 * SLIP_CURSOR_MAX + 1)

/**
 * Opaque position in a watch stream: save it, pass it back to resume.
 * len == 0 is "none" (watch from the beginning). Each backend defines its
 * layout and orders it (sys/backend.h, cursor_cmp). On NATS and memory it is
 * the u64 sequence of the last applied update, big-endian, followed by
 * 8 bytes naming the bucket's identity (its creation time), so a cursor
 * taken from a bucket that was deleted and recreated is detected. An 8-byte
 * cursor (sequence only, as the reference crate writes) is also accepted.
 */
typedef struct slip_cursor {
	uint8_t len;
	uint8_t bytes[SLIP_CURSOR_MAX];
} slip_cursor;

/** The "none" cursor (len 0). */
SLIP_EXTERN slip_cursor slip_cursor_none(void);

/** True when @p c is NULL or has len 0. */
SLIP_EXTERN bool slip_cursor_is_none(const slip_cursor *c);

/**
 * Writes the text form of @p c into @p buf: lowercase hex of the bytes,
 * or "none" for the none cursor. @p bufsz should be SLIP_CURSOR_STRLEN.
 * @return SLIP_OK, or SLIP_EINVAL when @p buf is too small.
 */
SLIP_EXTERN int slip_cursor_to_string(const slip_cursor *c, char *buf,
                                      size_t bufsz);

/**
 * Parses a text form made by slip_cursor_to_string(): "none", "" or an
 * even number (2..64) of hex digits. Anything else is SLIP_EINVAL with a
 * message saying what is wrong; @p out is untouched on error.
 */
SLIP_EXTERN int slip_cursor_from_string(slip_cursor *out, const char *text);

/**
 * Sequence part of a cursor in the sequence layout (first 8 bytes,
 * big-endian; see slipstream/sys/backend.h), the layout of the built-in
 * NATS and memory backends. Meaningless for a backend with another layout:
 * the core itself orders cursors only through the backend's cursor_cmp.
 * @return SLIP_OK, or SLIP_EINVAL when the cursor is shorter than 8 bytes.
 */
SLIP_EXTERN int slip_cursor_seq(const slip_cursor *c, uint64_t *out);

/* ------------------------------------------------------------------ entry */

/** What an entry / watch update is. */
typedef enum slip_op {
	SLIP_OP_PUT = 1,    /**< a live value */
	SLIP_OP_DELETE = 2, /**< a tombstone (soft delete) */
	SLIP_OP_PURGE = 3,  /**< history removed (hard delete) */
	/**
	 * Not a key update: a marker a watch sends (only when asked with
	 * SLIP_WATCH_MARKERS) once the initial state or the delta since the
	 * cursor has been delivered. key is "", cursor is the position reached.
	 */
	SLIP_OP_CAUGHT_UP = 4
} slip_op;

/** Entry flag: a Delete made up by watch_applied during a resync. */
#define SLIP_ENTRY_SYNTHETIC 0x1u

/**
 * One key's value at one version, from a read or a watch. Allocated by the
 * library as one block (key and value included); the receiver owns it and
 * frees it with slip_entry_free(). Treat fields as read-only.
 * A watch update is an entry: op says Put / Delete / Purge; value is empty
 * for Delete and Purge.
 */
typedef struct slip_entry {
	const char *key; /**< NUL-terminated key */
	const uint8_t
	        *value;   /**< value bytes (NUL-terminated for convenience) */
	size_t value_len; /**< value length, NUL excluded */
	slip_version version; /**< revision of this entry */
	slip_op op;           /**< put / delete / purge / caught-up marker */
	uint32_t flags;       /**< SLIP_ENTRY_* flags */
	/** From a watch: the cursor to resume after this update. Else none. */
	slip_cursor cursor;
	/**
	 * From a watch or scan: how many more updates the backend knows of
	 * before it is caught up (0 when live or unknown). For progress only.
	 */
	uint64_t pending;
	int64_t created_ns; /**< write time, ns since the epoch (0 unknown) */
} slip_entry;

/**
 * Allocates an entry copying @p key and @p value_len bytes of @p value.
 * @return SLIP_OK, SLIP_EINVAL (NULL key or NULL value with non-zero
 * length), SLIP_ENOMEM. On success the caller owns *out.
 */
SLIP_EXTERN int slip_entry_new(slip_entry **out, const char *key,
                               const void *value, size_t value_len,
                               const slip_version *version, slip_op op);

/** Deep copy of @p e (caller owns *out). SLIP_OK or SLIP_ENOMEM. */
SLIP_EXTERN int slip_entry_dup(slip_entry **out, const slip_entry *e);

/** Frees an entry. NULL is a no-op. */
SLIP_EXTERN void slip_entry_free(slip_entry *e);

/** "put", "delete", "purge", "caught-up" or "unknown". Static storage. */
SLIP_EXTERN const char *slip_op_name(slip_op op);

/** A list of entries; the caller owns the list and every entry in it. */
typedef struct slip_entry_list {
	size_t count;
	slip_entry **entries;
} slip_entry_list;

/** Frees every entry and the array; leaves *list empty. NULL is a no-op. */
SLIP_EXTERN void slip_entry_list_free(slip_entry_list *list);

/** A list of keys; the caller owns the list and every string in it. */
typedef struct slip_key_list {
	size_t count;
	char **keys;
} slip_key_list;

/** Frees every key and the array; leaves *list empty. NULL is a no-op. */
SLIP_EXTERN void slip_key_list_free(slip_key_list *list);

/* ----------------------------------------------------------- capabilities */

#define SLIP_CAPABILITIES_VERSION 1

/**
 * What the connected backend can do, truthfully for the server reached.
 * The caller sets version (SLIP_CAPABILITIES_INIT); slip_conn_capabilities()
 * fills every other field. A feature flag is true only when the server
 * reached has the feature; calls that need a missing feature fail with
 * SLIP_EUNSUPPORTED naming it and the server version, before anything is
 * sent.
 */
typedef struct slip_capabilities {
	unsigned version; /**< SLIP_CAPABILITIES_VERSION */
	/** Version of the server reached ("2.15.1"); "" when it has none
	 * (memory backend) or did not say. */
	char server_version[32];
	/** JetStream API level ($JS.API.INFO, nats-server 2.11+); 0 for a
	 * server that reports none (before 2.11); -1 when unknown. */
	int api_level;
	bool cluster; /**< the server reached is part of a cluster */
	bool cas;     /**< create/update/delete_with_version serializable */
	bool streaming_watch; /**< slip_store_watcher() is not NULL */
	bool prefix_watch;    /**< prefix watches filter server-side */
	bool global_ordering; /**< versions are ordered across keys of a store
	                       */
	bool multi_filter;    /**< one consumer over several prefixes (2.10+) */
	bool msg_ttl;         /**< per-message TTL and limit markers (2.11+) */
	bool batch_get;       /**< batch / multi-subject direct get (2.11+) */
	bool atomic_batch;    /**< atomic batch publish (2.12+) */
	/** Human-readable caveat (e.g. why cas is off); "" when none. */
	char note[160];
} slip_capabilities;

#define SLIP_CAPABILITIES_INIT                                                 \
	{                                                                      \
		SLIP_CAPABILITIES_VERSION, "", -1, false, false, false, false, \
		        false, false, false, false, false, ""                  \
	}

/* ----------------------------------------------------------- store config */

typedef enum slip_storage {
	SLIP_STORAGE_FILE = 0,  /**< persistent (default) */
	SLIP_STORAGE_MEMORY = 1 /**< held in server memory */
} slip_storage;

/** Bucket names: [A-Za-z0-9_-]+, at most this long. */
#define SLIP_NAME_MAX 255

/** Version 2 added marker_ttl_ms; version 1 configs are still accepted. */
#define SLIP_STORE_CONFIG_VERSION 2

/**
 * Configuration used to create a store, or checked against an existing
 * one. Zero / -1 fields mean "backend default". Strings are borrowed for
 * the duration of the call.
 */
typedef struct slip_store_config {
	unsigned version;     /**< SLIP_STORE_CONFIG_VERSION */
	const char *name;     /**< bucket name (required) */
	slip_storage storage; /**< file (default) or memory */
	int64_t max_bytes;    /**< -1 = unlimited (required on Synadia Cloud) */
	int64_t max_history;  /**< values kept per key; 0 = default (1) */
	int64_t max_age_ms;   /**< 0 = forever */
	int num_replicas;     /**< 0 = default (1) */
	const char *description; /**< NULL = none */
	int32_t max_value_size;  /**< -1 = unlimited */
	/* ---- version 2 */
	/**
	 * 0: no limit markers and no per-key TTL. > 0 (ms, >= 1000): the
	 * store allows per-key TTL and writes a limit marker (read as a
	 * Purge) when a key ages out, kept this long. NATS: allow_msg_ttl +
	 * subject_delete_marker_ttl, nats-server >= 2.11.
	 */
	int64_t marker_ttl_ms;
} slip_store_config;

#define SLIP_STORE_CONFIG_INIT                                                 \
	{                                                                      \
		SLIP_STORE_CONFIG_VERSION, NULL, SLIP_STORAGE_FILE, -1, 0, 0,  \
		        0, NULL, -1, 0                                         \
	}

/** Live facts about a store (slip_store_get_info()). Plain value. */
typedef struct slip_store_info {
	char name[SLIP_NAME_MAX + 1];
	char description[256];
	slip_storage storage;
	int64_t max_bytes;
	int64_t max_history;
	int64_t max_age_ms;
	int num_replicas;
	int32_t max_value_size;
	uint64_t messages; /**< records held, history and tombstones included */
	uint64_t bytes;    /**< bytes held */
	uint64_t first_seq; /**< oldest revision still held */
	uint64_t last_seq;  /**< newest revision written */
	int64_t created_ns; /**< store identity: creation time */
	/**
	 * Messages the watches on this store handle dropped because the
	 * server delivered them again or out of order (not above the last
	 * revision the watch delivered); always 0 on the memory backend.
	 */
	uint64_t watch_dropped;
} slip_store_info;

#ifdef __cplusplus
}
#endif
#endif
