/*
 * bench/bench_util.c — clock, argument parsing, key/value generation,
 * result lines and /proc/self/status readers for the benchmark programs.
 */
#include "bench_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_result(const char *metric, double value)
{
	printf("R %s %.6g\n", metric, value);
	fflush(stdout);
}

void bench_result_na(const char *metric, const char *why)
{
	printf("R %s NA\n", metric);
	fflush(stdout);
	fprintf(stderr, "bench: %s: not measured: %s\n", metric, why);
}

long bench_arg_long(int argc, char **argv, int i, long def)
{
	char *end = NULL;
	long v;

	if (i >= argc)
		return def;
	errno = 0;
	v = strtol(argv[i], &end, 10);
	if (errno != 0 || end == argv[i] || *end != '\0') {
		fprintf(stderr, "bench: argument %d: \"%s\" is not a number\n",
		        i, argv[i]);
		exit(2);
	}
	return v;
}

const char *bench_arg_str(int argc, char **argv, int i, const char *def)
{
	return i < argc ? argv[i] : def;
}

void bench_key(char *buf, size_t bufsz, const char *prefix, long i)
{
	snprintf(buf, bufsz, "%s.%ld", prefix, i);
}

void bench_value(uint8_t *buf, size_t len, uint64_t seed)
{
	/* xorshift so values are cheap to make yet not all the same byte. */
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)('a' + (x % 26));
	}
}

static uint64_t status_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t flen = strlen(field);
	uint64_t kb = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
			kb = strtoull(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb * 1024;
}

uint64_t bench_peak_rss(void)
{
	return status_kb("VmHWM");
}

uint64_t bench_cur_rss(void)
{
	return status_kb("VmRSS");
}
