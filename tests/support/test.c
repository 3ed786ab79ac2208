/*
 * tests/support/test.c — the runner behind test.h: case filtering, failure
 * accounting and the closing "N passed, N failed" line.
 */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int case_failures;
static const char *case_name = "";
static const char *program = "";
static char skip_reason[512];

void slip_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	case_failures++;
	fprintf(stderr, "  %s:%d: [%s] ", file, line, case_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void slip_test_skip(const char *fmt, ...)
{
	va_list ap;
	const char *path = getenv("SLIP_TEST_SKIP_LOG");

	va_start(ap, fmt);
	vsnprintf(skip_reason, sizeof(skip_reason), fmt, ap);
	va_end(ap);
	if (path != NULL && path[0] != '\0') {
		FILE *f = fopen(path, "a");
		if (f != NULL) {
			fprintf(f, "%s %s: %s\n", program, case_name,
			        skip_reason);
			fclose(f);
		}
	}
}

int slip_test_case_failures(void)
{
	return case_failures;
}

static bool selected(int argc, char **argv, const char *name)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (strstr(name, argv[i]) != NULL)
			return true;
	return false;
}

const char *slip_test_name(void)
{
	return case_name;
}

/* Set-up, the case itself unless the set-up failed or skipped, then
 * teardown. */
static void run_case(const slip_test_case *c)
{
	if (c->setup != NULL)
		c->setup();
	if (case_failures == 0 && skip_reason[0] == '\0')
		c->fn();
	if (c->teardown != NULL)
		c->teardown();
}

int slip_test_main(int argc, char **argv, const slip_test_case *cases)
{
	int passed = 0, failed = 0, skipped = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	program = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1
	                                        : argv[0];
	for (const slip_test_case *c = cases; c->name != NULL; c++) {
		if (!selected(argc, argv, c->name))
			continue;
		case_failures = 0;
		case_name = c->name;
		skip_reason[0] = '\0';
		run_case(c);
		if (case_failures != 0) {
			failed++;
			printf("FAIL - %s (%d failed checks)\n", c->name,
			       case_failures);
		} else if (skip_reason[0] != '\0') {
			skipped++;
			printf("skip - %s: %s\n", c->name, skip_reason);
		} else {
			passed++;
			printf("ok - %s\n", c->name);
		}
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed == 0 && passed + skipped > 0 ? 0 : 1;
}
