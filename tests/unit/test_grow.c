/*
 * tests/unit/test_grow.c — the growable-array helper, src/util/grow.h
 * (unit-grow): doubling from 16, no change when there is room, contents
 * kept, overflow refused with the array unchanged.
 */
#include <stdint.h>
#include <stdlib.h>

#include "test.h"
#include "util/grow.h"

static void t_doubles(void)
{
	int *arr = NULL;
	size_t cap = 0;

	REQUIRE_OK(slip__grow(&arr, &cap, 1, sizeof(*arr)));
	CHECK(cap == 16 && arr != NULL);
	for (int i = 0; i < 16; i++)
		arr[i] = i;
	CHECK_OK(slip__grow(&arr, &cap, 16, sizeof(*arr)));
	CHECK(cap == 16);
	REQUIRE_OK(slip__grow(&arr, &cap, 17, sizeof(*arr)));
	CHECK(cap == 32);
	REQUIRE_OK(slip__grow(&arr, &cap, 1000, sizeof(*arr)));
	CHECK(cap == 1024);
	for (int i = 0; i < 16; i++)
		CHECK(arr[i] == i);
	free(arr);
}

static void t_zero_need(void)
{
	char *arr = NULL;
	size_t cap = 0;

	CHECK_OK(slip__grow(&arr, &cap, 0, 1));
	CHECK(arr == NULL && cap == 0);
}

static void t_overflow(void)
{
	double *arr = NULL;
	size_t cap = 0;

	REQUIRE_OK(slip__grow(&arr, &cap, 4, sizeof(*arr)));
	CHECK_RC(slip__grow(&arr, &cap, SIZE_MAX / 4, sizeof(*arr)),
	         SLIP_ENOMEM);
	CHECK_RC(slip__grow(&arr, &cap, SIZE_MAX, 1), SLIP_ENOMEM);
	CHECK(cap == 16 && arr != NULL);
	free(arr);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_doubles),
        SLIP_TEST(t_zero_need),
        SLIP_TEST(t_overflow),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
