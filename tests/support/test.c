/*
 * tests/support/test.c — the runner behind test.h: case filtering, failure
 * accounting and the closing "N passed, N failed" line.
 */
#include "test.h"

#include <stdarg.h>
#include <string.h>

static int case_failures;
static const char *case_name = "";

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

int slip_test_main(int argc, char **argv, const slip_test_case *cases)
{
	int passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (const slip_test_case *c = cases; c->name != NULL; c++) {
		if (!selected(argc, argv, c->name))
			continue;
		case_failures = 0;
		case_name = c->name;
		c->fn();
		if (case_failures == 0) {
			passed++;
			printf("ok - %s\n", c->name);
		} else {
			failed++;
			printf("FAIL - %s (%d failed checks)\n", c->name,
			       case_failures);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 && passed > 0 ? 0 : 1;
}
