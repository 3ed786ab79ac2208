/*
 * tools/cli.h — what the files of the `slipstream` command-line tool share.
 *
 *   cli_opts        every flag of every command, filled by the parser
 *   errors          cli_fail / cli_lib_fail keep the message main() prints;
 *                   cli_exit_code() is the one map from SLIP_E* to exit codes
 *   connection      cli_open_store / cli_connect from the connection flags
 *   output          output.c (records, escaping) and progress.c
 *   commands        one cmd_* function per subcommand, split by concern
 *
 * Commands return SLIP_OK or a negative SLIP_E* code; usage mistakes are
 * SLIP_EINVAL (exit 2). The message of the failure is kept in one buffer
 * that main() prints to stderr.
 */
#ifndef SLIP_CLI_H
#define SLIP_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <slipstream.h>

/* Exit codes (documented in --help, docs/cli.md and docs/slipstream.1). */
#define CLI_EXIT_OK       0
#define CLI_EXIT_NOTFOUND 1
#define CLI_EXIT_USAGE    2
#define CLI_EXIT_CONFLICT 3
#define CLI_EXIT_CONNECT  4
#define CLI_EXIT_SNAPSHOT 5
#define CLI_EXIT_EXPIRED  6
#define CLI_EXIT_OTHER    10

#define CLI_MAX_POS 8
/* --prefix may be given this many times (slip_watch_options allows more). */
#define CLI_MAX_PREFIXES 64

/** Every flag of every command; NULL / 0 when not given. */
typedef struct cli_opts {
	/* connection */
	const char *url;
	const char *creds;
	const char *creds_file;
	const char *tls_ca;
	const char *timeout;
	const char *bucket;
	/* output */
	bool json;
	bool quiet;
	bool raw;
	int progress; /* -1 never, 0 on a terminal, 1 always */
	bool help;
	/* key and watch commands */
	const char *version; /* --version V (CAS) */
	const char *from;    /* --from CURSOR */
	const char *snapshot;
	const char *prefix;                     /* the first --prefix */
	const char *prefixes[CLI_MAX_PREFIXES]; /* every --prefix, in order */
	int nprefixes;
	const char *count;
	bool until_caught_up;
	bool compact;
	/* set by main for watch and mirror: reconnect for as long as it takes
	 */
	bool follow;
	/* bucket configuration */
	const char *history;
	const char *max_bytes;
	const char *max_age;
	const char *replicas;
	const char *storage;
	const char *description;
	const char *max_value_size;
	const char *marker_ttl;
	/* put/create: per-key TTL; bucket create: max age (as nats' --ttl) */
	const char *ttl;
	/* positional arguments after the command word(s) */
	const char *pos[CLI_MAX_POS];
	int npos;
} cli_opts;

/* ----------------------------------------------------------------- errors */

/** Keeps a printf-style message for main() to print; returns @p code. */
int cli_fail(int code, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/**
 * Keeps the library's last error message (or "OP \"KEY\": strerror" when
 * the library left none) and returns @p code.
 */
int cli_lib_fail(int code, const char *op, const char *key);

/** The message kept by the last cli_fail / cli_lib_fail ("" if none). */
const char *cli_message(void);

/** The one map from SLIP_E* codes to the tool's exit codes. */
int cli_exit_code(int err);

/* ------------------------------------------------------------ connection */

/** Connects with the connection flags; connect failures are ENOTCONNECTED
 * or EAUTH (exit 4), bad flags EINVAL (exit 2). */
int cli_connect(slip_conn **out, const cli_opts *o);

/** The bucket for key commands: --bucket, else $SLIPSTREAM_BUCKET. */
int cli_bucket_name(const char **out, const cli_opts *o);

/**
 * Connects and opens @p name (NULL: cli_bucket_name). On mem:// the bucket
 * is created when missing, since memory state lives only in this process.
 */
int cli_open_store(slip_conn **conn, slip_store **store, const cli_opts *o,
                   const char *name);

/* ---------------------------------------------------------------- parsing */

/** Parses a duration: "0", "500ms", "30s", "5m", "1h", "30d", "1h30m". */
int cli_parse_duration_ms(int64_t *out, const char *text, const char *flag);
/** Parses a byte size: "-1", "unlimited", "1048576", "64K", "10M", "1G". */
int cli_parse_size(int64_t *out, const char *text, const char *flag);
/**
 * The prefixes a command covers: its PREFIX positional (when it takes one
 * and it was given) followed by every --prefix, each validated (@p op
 * names the command in messages). *n is 0 for every key.
 */
int cli_prefixes(const cli_opts *o, bool positional, const char *op,
                 const char **list, size_t *n);

/** Parses a non-negative decimal integer. */
int cli_parse_u64(uint64_t *out, const char *text, const char *flag);
/** Parses --version: a revision number, or "hex:" + hex bytes. */
int cli_parse_version(slip_version *out, const char *text);

/* ----------------------------------------------------------------- output */

/** Writes @p s as a JSON string (quotes included) with every escape. */
void json_string(FILE *f, const char *s, size_t len);
/** True when @p len bytes at @p s are valid UTF-8. */
bool json_utf8_valid(const uint8_t *s, size_t len);
/** Writes `"value":…` or `"value_b64":…` for @p e's value. */
void json_value_member(FILE *f, const uint8_t *v, size_t len);
/** Writes `"revision":N` or `"version_hex":"…"` (nothing when none). */
void json_version_member(FILE *f, const slip_version *v);
/**
 * One record line: {"op","key","value"|"value_b64","revision"|"version_hex"}
 * plus "cursor" when @p with_cursor and the entry carries one.
 */
void json_record(FILE *f, const slip_entry *e, bool with_cursor);
/** One human line for an entry: "KEY<TAB>VALUE" (escaped when binary). */
void human_record(FILE *f, const slip_entry *e);
/** Writes @p len bytes of @p v with C escapes for anything unprintable. */
void human_escaped(FILE *f, const uint8_t *v, size_t len);
/** Text of a version: the revision number, or "hex:…". */
void version_text(char *buf, size_t bufsz, const slip_version *v);

/* --------------------------------------------------------------- progress */

typedef struct cli_progress {
	bool on;
	const char *what;
	int64_t start_ns;
	int64_t last_draw_ns;
	uint64_t done;
	uint64_t total;
	bool drawn;
} cli_progress;

/** Decides from --progress and isatty whether to draw at all. */
void progress_init(cli_progress *p, const cli_opts *o, const char *what);
/** Counts one more item with @p pending left; redraws at most 10/s. */
void progress_step(cli_progress *p, uint64_t pending);
/** Erases the line before other output goes to the terminal. */
void progress_clear(cli_progress *p);
/** Erases the line for good. */
void progress_done(cli_progress *p);
/** Monotonic clock in ns. */
int64_t cli_now_ns(void);

/* --------------------------------------------------------------- commands */

int cmd_get(const cli_opts *o);
int cmd_put(const cli_opts *o, const char *mode);
int cmd_del(const cli_opts *o);
int cmd_purge(const cli_opts *o);
int cmd_keys(const cli_opts *o);
int cmd_scan(const cli_opts *o);
int cmd_load(const cli_opts *o);
int cmd_watch(const cli_opts *o);
int cmd_mirror(const cli_opts *o);
int cmd_snapshot(const cli_opts *o, const char *sub);
int cmd_bucket(const cli_opts *o, const char *sub);
int cmd_server(const cli_opts *o);

/* ---------------------------------------------------------------- signals */

/** Installs SIGINT/SIGTERM handlers that only set a flag. */
void cli_signals_install(void);
/** True once SIGINT or SIGTERM arrived. */
bool cli_interrupted(void);

#endif
