/*
 * tests/support/run.h — helpers of the CLI end-to-end tests: run a program
 * with given stdin and environment and capture its exit code, stdout and
 * stderr (never hanging: a child is killed after a deadline); and a small
 * strict JSON reader for the tool's one-object-per-line output.
 */
#ifndef SLIP_CLI_RUN_H
#define SLIP_CLI_RUN_H

#include <stdbool.h>
#include <stddef.h>

/* ------------------------------------------------------------------- run */

typedef struct run_result {
	int code;  /* exit code; 128+N when killed by signal N; -1 failed */
	char *out; /* stdout, NUL-terminated */
	size_t out_len;
	char *err; /* stderr, NUL-terminated */
	bool timed_out;
} run_result;

/**
 * Runs argv[0] with @p argv, feeding @p in (may be NULL) on stdin, with
 * the current environment minus NATS_URL and SLIPSTREAM_* plus @p env
 * ("NAME=value" strings, NULL-terminated; may be NULL). Kills the child
 * after @p timeout_ms. The caller frees with run_free().
 */
int run_argv(run_result *r, const char *in, size_t in_len, const char **env,
             char *const *argv, int timeout_ms);
void run_free(run_result *r);

/* ------------------------------------------------------------------ JSON */

typedef enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_OBJ, J_ARR } jtype;

typedef struct jmember {
	char *name;
	jtype type;
	char *str; /* J_STR: decoded (may hold NULs: see len) */
	size_t len;
	double num;   /* J_NUM */
	bool boolean; /* J_BOOL */
} jmember;

typedef struct jobj {
	size_t count;
	jmember *m;
} jobj;

/**
 * Parses one line holding exactly one JSON object (RFC 8259, strict:
 * escapes, \u surrogate pairs, numbers). Nested values are checked and
 * kept only as their type. @return 0 or -1 (bad JSON).
 */
int json_parse_line(jobj *out, const char *line, size_t len);
void json_free(jobj *o);
/** Member by name, or NULL. */
const jmember *json_get(const jobj *o, const char *name);
/** String member by name ("" absent or not a string). */
const char *json_str(const jobj *o, const char *name);
/** Number member by name (-1 absent or not a number). */
double json_num(const jobj *o, const char *name);

/** Decodes standard base64; returns the length, or -1. */
long b64_decode(unsigned char *out, const char *in);

#endif
