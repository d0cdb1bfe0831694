/* SPDX-License-Identifier: BSD-3-Clause */
/* Standalone driver for the fuzz targets, for builds without libFuzzer
 * (make test, make asan): replays every seed file given, then a fixed,
 * reproducible series of mutations of each (bit flips, byte changes,
 * truncations, insertions, splices).
 * usage: fuzz_X [-n MUTATIONS] FILE|DIR ... */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define INPUT_MAX (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static long runs;

static void run(const uint8_t *b, size_t n)
{
	/* A private copy, so that a read past n is caught by ASan. */
	uint8_t *copy = malloc(n ? n : 1);

	memcpy(copy, b, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	runs++;
}

static void mutate_and_run(const uint8_t *seed, size_t n, long count)
{
	static uint8_t buf[INPUT_MAX + 64];
	long i;

	for (i = 0; i < count; i++) {
		size_t len = n, k, pos;
		int edits = 1 + (int)(next() % 4), e;

		memcpy(buf, seed, n);
		for (e = 0; e < edits; e++) {
			pos = len ? next() % len : 0;
			switch (next() % 6) {
			case 0: if (len) buf[pos] ^= (uint8_t)(1u << (next() % 8)); break;
			case 1: if (len) buf[pos] = (uint8_t)next(); break;
			case 2: len = pos; break;                          /* truncate */
			case 3:                                            /* insert */
				if (len < INPUT_MAX) {
					memmove(buf + pos + 1, buf + pos, len - pos);
					buf[pos] = (uint8_t)next();
					len++;
				}
				break;
			case 4: if (len) buf[pos] = (uint8_t)(next() & 1 ? 0xff : 0x00); break;
			case 5:                                            /* splice */
				k = next() % (n + 1);
				if (len && k < n) {
					size_t m = n - k < len - pos ? n - k : len - pos;

					memcpy(buf + pos, seed + k, m);
				}
				break;
			}
		}
		run(buf, len);
	}
}

static int load(uint8_t **out, size_t *len, const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	size_t n;

	if (!f)
		return -1;
	b = malloc(INPUT_MAX);
	n = fread(b, 1, INPUT_MAX, f);
	fclose(f);
	*out = b;
	*len = n;
	return 0;
}

static int file(const char *path, long mutations)
{
	uint8_t *b;
	size_t n;

	if (load(&b, &n, path) < 0) {
		fprintf(stderr, "cannot read %s\n", path);
		return -1;
	}
	run(b, n);
	mutate_and_run(b, n, mutations);
	free(b);
	return 0;
}

int main(int argc, char **argv)
{
	long mutations = 20000;
	int i, seeds = 0;

	/* tss2-mu logs every malformed structure; that is the point here. */
	setenv("TSS2_LOG", "all+none", 0);

	for (i = 1; i < argc; i++) {
		struct stat st;

		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			char *end;

			mutations = strtol(argv[++i], &end, 10);
			if (!*argv[i] || *end || mutations < 0) {
				fprintf(stderr, "-n: '%s' is not a count\n", argv[i]);
				return 2;
			}
			continue;
		}
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *de;
			char p[4096];

			while (d && (de = readdir(d))) {
				if (de->d_name[0] == '.')
					continue;
				snprintf(p, sizeof(p), "%s/%s", argv[i], de->d_name);
				if (file(p, mutations) < 0)
					return 1;
				seeds++;
			}
			if (d)
				closedir(d);
		} else {
			if (file(argv[i], mutations) < 0)
				return 1;
			seeds++;
		}
	}
	/* The empty input too. */
	run((const uint8_t *)"", 0);
	printf("%s: %d seeds, %ld inputs, no crash\n", argv[0], seeds, runs);
	return seeds ? 0 : 1;
}
