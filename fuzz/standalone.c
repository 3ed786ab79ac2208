/*
 * fuzz/standalone.c — a main() for fuzz targets built without libFuzzer:
 * runs LLVMFuzzerTestOneInput once over each file named on the command
 * line, or over every regular file in each directory named. Used as the
 * plain regression test over the seed corpus (ctest fuzz-snapshot-corpus)
 * and to replay crash files from a fuzzing run with gcc.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		return -1;
	}
	do {
		if (n == cap) {
			uint8_t *p = realloc(buf, cap == 0 ? 4096 : cap * 2);

			if (p == NULL) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = p;
			cap = cap == 0 ? 4096 : cap * 2;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

static int run_path(const char *path, int *count)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "cannot stat %s\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL && rc == 0) {
		char sub[4096];

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (stat(sub, &st) == 0 && S_ISREG(st.st_mode)) {
			(*count)++;
			rc = run_file(sub);
		}
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	int count = 0;

	for (int i = 1; i < argc; i++) {
		if (run_path(argv[i], &count) != 0)
			return 1;
	}
	printf("%d inputs run, 0 failures\n", count);
	return count > 0 ? 0 : 1;
}
