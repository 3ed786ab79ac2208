/*
 * bench/bench_util.h — helpers shared by the benchmark programs: a monotonic
 * clock, argument reading, deterministic keys and values, and the one output
 * format every benchmark prints ("R <metric> <value>" lines) that
 * scripts/bench.sh collects and turns into the side-by-side table.
 *
 * Benchmarks are not library code: nothing here is exported or installed.
 */
#ifndef SLIP_BENCH_UTIL_H
#define SLIP_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/** Monotonic time in seconds. */
double bench_now(void);

/** CPU time of this process (all threads) in seconds. */
double bench_cpu(void);

/** Prints "R <metric> <value>" on stdout and flushes it. */
void bench_result(const char *metric, double value);

/** Prints "R <metric> NA" (the measurement could not be taken). */
void bench_result_na(const char *metric, const char *why);

/** argv[i] as a long, or @p def when i is past argc. Exits on garbage. */
long bench_arg_long(int argc, char **argv, int i, long def);

/** argv[i], or @p def when i is past argc. */
const char *bench_arg_str(int argc, char **argv, int i, const char *def);

/** Writes "<prefix>.<i>" into @p buf (a valid NATS key). */
void bench_key(char *buf, size_t bufsz, const char *prefix, long i);

/**
 * Fills @p len bytes with printable bytes derived from @p seed, so every
 * run writes the same data and values differ between keys.
 */
void bench_value(uint8_t *buf, size_t len, uint64_t seed);

/** Peak resident set size (VmHWM) of this process in bytes, 0 if unknown. */
uint64_t bench_peak_rss(void);

/** Current resident set size (VmRSS) of this process in bytes. */
uint64_t bench_cur_rss(void);

#endif
