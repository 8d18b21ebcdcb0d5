/* driver — run a libFuzzer harness over files, without libFuzzer: the seed
 * corpus and the regression cases replay in every test run (and under
 * ASan+UBSan with make SAN=1).  Prints TAP, one point per file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		uint8_t *buf;
		long n;

		if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
			printf("not ok %d - %s: cannot read\n", i, argv[i]);
			if (f)
				fclose(f);
			continue;
		}
		buf = malloc((size_t)n + 1);
		if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
			printf("not ok %d - %s: cannot read\n", i, argv[i]);
			free(buf);
			fclose(f);
			continue;
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t)n);	/* a failed check aborts */
		free(buf);
		printf("ok %d - %s\n", i, argv[i]);
		fflush(stdout);
	}
	printf("1..%d\n", argc - 1);
	return 0;
}
