/*
 * tests/snapshot/test_snapshot_corpus.c — the data-driven corpus (ctest
 * snapshot-corpus): every file under tests/data/snapshot/{valid,invalid}/
 * is loaded and its outcome compared with expectations.txt ("none",
 * "ok COUNT CURSORHEX" or an error name). Files in valid/ must load,
 * files in invalid/ must fail, and every file must be listed.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snap_util.h"
#include "test.h"

static const char *corpus_dir(void)
{
	const char *d = getenv("SLIP_SNAPSHOT_CORPUS");

	return d != NULL ? d : "tests/data/snapshot";
}

static void check_one(const char *name, const char *outcome)
{
	char *path = snapt_path(corpus_dir(), name);
	slip_snapshot *s = NULL;
	char got[160], cur[SLIP_CURSOR_STRLEN];
	int rc;

	rc = slip_snapshot_load(&s, path);
	if (rc != SLIP_OK) {
		snprintf(got, sizeof(got), "%s", slip_err_name(rc));
	} else if (s == NULL) {
		snprintf(got, sizeof(got), "none");
	} else {
		slip_cursor_to_string(&s->cursor, cur, sizeof(cur));
		snprintf(got, sizeof(got), "ok %zu %s", s->count, cur);
	}
	if (strcmp(got, outcome) != 0)
		slip_test_fail(__FILE__, __LINE__,
		               "%s: got \"%s\", want \"%s\"", name, got,
		               outcome);
	if (strncmp(name, "valid/", 6) == 0 && rc != SLIP_OK)
		slip_test_fail(__FILE__, __LINE__, "%s: valid file fails",
		               name);
	if (strncmp(name, "invalid/", 8) == 0 && rc == SLIP_OK)
		slip_test_fail(__FILE__, __LINE__, "%s: invalid file loads",
		               name);
	slip_snapshot_free(s);
	free(path);
}

/* Reads expectations.txt; returns the number of cases and fills names. */
static int read_expectations(char names[][128], int max)
{
	char *path = snapt_path(corpus_dir(), "expectations.txt");
	FILE *f = fopen(path, "r");
	char line[512];
	int n = 0;

	free(path);
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL && n < max) {
		char name[128], outcome[256];

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%127s %255[^\n]", name, outcome) != 2)
			continue;
		check_one(name, outcome);
		memcpy(names[n++], name, sizeof(name));
	}
	fclose(f);
	return n;
}

static bool listed(char names[][128], int n, const char *name)
{
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0)
			return true;
	}
	return false;
}

static int check_listed(char names[][128], int n, const char *sub)
{
	char *dir = snapt_path(corpus_dir(), sub);
	DIR *d = opendir(dir);
	struct dirent *de;
	int files = 0;

	free(dir);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char name[300];

		if (de->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "%s/%s", sub, de->d_name);
		files++;
		if (!listed(names, n, name))
			slip_test_fail(__FILE__, __LINE__,
			               "%s is not in expectations.txt", name);
	}
	closedir(d);
	return files;
}

static void t_corpus_outcomes(void)
{
	static char names[256][128];
	int n = read_expectations(names, 256);

	REQUIRE(n > 0);
	CHECK(check_listed(names, n, "valid") >= 10);
	CHECK(check_listed(names, n, "invalid") >= 8);
	CHECK(listed(names, n, "valid/reference-crate.snap"));
}

static const slip_test_case cases[] = {
        SLIP_TEST(t_corpus_outcomes),
        {0},
};

int main(int argc, char **argv)
{
	return slip_test_main(argc, argv, cases);
}
