/*
 * tests/unit/test_errors.c — error codes, names, texts and the thread-local
 * last-error message (unit-errors).
 */
#include <pthread.h>
#include <string.h>

#include <slipstream/sys/backend.h>

#include "test.h"

static void t_names_and_texts(void)
{
	CHECK(strcmp(slip_err_name(SLIP_OK), "SLIP_OK") == 0);
	CHECK(strcmp(slip_err_name(SLIP_EREVISION), "SLIP_EREVISION") == 0);
	CHECK(strcmp(slip_err_name(SLIP_ESHUTDOWN), "SLIP_ESHUTDOWN") == 0);
	CHECK(strcmp(slip_strerror(SLIP_EREVISION), "revision mismatch") == 0);
	CHECK(strcmp(slip_strerror(SLIP_ECURSOREXPIRED), "cursor expired") ==
	      0);
	CHECK(strcmp(slip_err_name(12345), "SLIP_EUNKNOWN") == 0);
	CHECK(strcmp(slip_strerror(-999), "unknown error") == 0);
	CHECK(strcmp(slip_err_name(1), "SLIP_EUNKNOWN") == 0);
}

/* Every code of the table has a distinct name and a non-empty text. */
static void t_table_complete(void)
{
	static const int codes[] = {
#define CODE(name, value, text) value,
	        SLIP_ERRNO_MAP(CODE)
#undef CODE
	};
	size_t n = sizeof(codes) / sizeof(codes[0]);

	CHECK(n == 19);
	for (size_t i = 0; i < n; i++) {
		CHECK(codes[i] < 0);
		CHECK(strncmp(slip_err_name(codes[i]), "SLIP_E", 6) == 0);
		CHECK(strcmp(slip_err_name(codes[i]), "SLIP_EUNKNOWN") != 0);
		CHECK(strlen(slip_strerror(codes[i])) > 0);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(slip_err_name(codes[i]),
			             slip_err_name(codes[j])) != 0);
	}
}

static void t_set_and_clear(void)
{
	slip_clear_error();
	CHECK(slip_last_error() != NULL);
	CHECK(strcmp(slip_last_error(), "") == 0);
	CHECK(slip_last_error_code() == SLIP_OK);
	CHECK(slip_set_error(SLIP_EREVISION,
	                     "update \"%s\": expected %d, server has %d",
	                     "node.a", 41, 57) == SLIP_EREVISION);
	CHECK(strcmp(slip_last_error(),
	             "update \"node.a\": expected 41, server has 57") == 0);
	CHECK(slip_last_error_code() == SLIP_EREVISION);
	slip_clear_error();
	CHECK(strcmp(slip_last_error(), "") == 0);
	CHECK(slip_last_error_code() == SLIP_OK);
}

/* Wrapping the previous message in a new one must not corrupt it. */
static void t_wrap_own_message(void)
{
	slip_set_error(SLIP_EINVAL, "invalid key \"a..b\"");
	slip_set_error(slip_last_error_code(), "get: %s", slip_last_error());
	CHECK(strcmp(slip_last_error(), "get: invalid key \"a..b\"") == 0);
	CHECK(slip_last_error_code() == SLIP_EINVAL);
}

static void t_long_message_truncated(void)
{
	char big[4000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	slip_set_error(SLIP_EIO, "%s", big);
	CHECK(strlen(slip_last_error()) < 2000);
	CHECK(strlen(slip_last_error()) > 100);
	CHECK(strcmp(slip_last_error() + strlen(slip_last_error()) - 3,
	             "...") == 0);
}

static void *other_thread(void *arg)
{
	int *seen = arg;

	/* A fresh thread starts with no error, whatever main did. */
	seen[0] = slip_last_error_code();
	seen[1] = (int)strlen(slip_last_error());
	slip_set_error(SLIP_ETIMEOUT, "thread message");
	return NULL;
}

static void t_thread_local(void)
{
	pthread_t th;
	int seen[2] = {99, 99};

	slip_set_error(SLIP_EAUTH, "main message");
	REQUIRE(pthread_create(&th, NULL, other_thread, seen) == 0);
	pthread_join(th, NULL);
	CHECK(seen[0] == SLIP_OK);
	CHECK(seen[1] == 0);
	CHECK(slip_last_error_code() == SLIP_EAUTH);
	CHECK(strcmp(slip_last_error(), "main message") == 0);
}

static void t_version_string(void)
{
	char want[32];

	snprintf(want, sizeof(want), "%d.%d.%d", SLIP_VERSION_MAJOR,
	         SLIP_VERSION_MINOR, SLIP_VERSION_PATCH);
	CHECK(strcmp(slip_version_string(), want) == 0);
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_names_and_texts),        SLIP_TEST(t_table_complete),
        SLIP_TEST(t_set_and_clear),          SLIP_TEST(t_wrap_own_message),
        SLIP_TEST(t_long_message_truncated), SLIP_TEST(t_thread_local),
        SLIP_TEST(t_version_string),         {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
