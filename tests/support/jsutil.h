/*
 * tests/support/jsutil.h — helpers for tests that drive the node scripts in
 * tests/js (credential minting, the official NATS JavaScript client): run a
 * script to completion, or keep one running and read its JSON lines with a
 * deadline; pull fields out of those flat JSON lines; base64 and hex.
 * Used by tests/auth and tests/interop.
 */
#ifndef SLIP_TESTS_JSUTIL_H
#define SLIP_TESTS_JSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Checks that node and tests/js/node_modules are there; prints how to get
 * them (npm ci --prefix tests/js) and returns -1 when not.
 */
int ju_check_node(void);

/* A running node script: its stdout read line by line. */
typedef struct ju_proc {
	pid_t pid;
	int out_fd;
	int in_fd; /* its stdin; -1 once closed */
	char buf[1 << 16];
	size_t len;
} ju_proc;

/*
 * Starts `node tests/js/<script> args...` (args NULL-terminated), its
 * stdout piped to us, its stdin a pipe from us. 0 or -1.
 */
int ju_spawn(ju_proc *p, const char *script, const char *const *args);

/*
 * Reads one line (without the newline) into @p line, waiting at most
 * @p timeout_ms. 1 = a line, 0 = timed out, -1 = end of output.
 */
int ju_readline(ju_proc *p, char *line, size_t cap, int timeout_ms);

/* Writes a line to the script's stdin. 0 or -1. */
int ju_writeline(ju_proc *p, const char *line);

/*
 * Closes its stdin and waits up to @p timeout_ms for it to exit (then
 * SIGKILL). Returns its exit status, or -1 when killed.
 */
int ju_finish(ju_proc *p, int timeout_ms);

/*
 * Runs a script to completion (at most @p timeout_ms) and returns its
 * whole stdout (malloc'd, NUL-terminated) in *out; 0 when it exited 0.
 */
int ju_run(char **out, const char *script, const char *const *args,
           int timeout_ms);

/*
 * Copies the string value of "field" in a flat JSON object line into @p buf
 * (handles \" \\ \n \uXXXX for ASCII). false when absent.
 */
bool ju_json_str(const char *line, const char *field, char *buf, size_t cap);
/* The unsigned integer value of "field"; false when absent. */
bool ju_json_u64(const char *line, const char *field, uint64_t *out);

/* Standard base64 of @p len bytes (malloc'd). */
char *ju_base64(const void *data, size_t len);
/* Lower-case hex of @p len bytes into @p out (2*len+1 bytes). */
void ju_hex(char *out, const void *data, size_t len);
/* Decodes hex into @p out (cap bytes); returns the length or -1. */
long ju_unhex(uint8_t *out, size_t cap, const char *hex);

/* Reads a whole file (malloc'd, NUL-terminated); NULL on failure. */
char *ju_read_file(const char *path, size_t *len);

#endif
