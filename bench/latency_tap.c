/* latency_tap.c — a pass-through stage for bench/latency.sh: copies stdin
 * to stdout as it comes, and notes when each line carrying hbkafka-sub's
 * coordinates ({"_kafka":{"p":P,"o":O at its start) went through.
 *
 *   ... | latency_tap OUT.tsv | ...
 *
 * At the end of its input it writes OUT.tsv: partition, offset and the
 * wall-clock time (seconds since the epoch, microseconds) of each such
 * line, then creates OUT.tsv.done.  A line is timed when the read that
 * completed it returned; what was read is written on before the next read,
 * so the stage adds a write's time, not a buffer's.  Built by latency.sh
 * with cc; a bench tool, not part of hbmon. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct note { long p; long long o; double t; };

static int write_all(const char *b, size_t n)
{
	while (n) {
		ssize_t w = write(1, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	static const char pre[] = "{\"_kafka\":{\"p\":";
	char line[64];
	size_t at = 0, cap = 1 << 16, n = 0;
	struct note *v = malloc(cap * sizeof *v);
	char done[4096];
	FILE *f;

	if (argc != 2 || !v)
		return 2;
	for (;;) {
		ssize_t got = read(0, buf, sizeof buf);
		struct timespec ts;
		double t;

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
		if (write_all(buf, (size_t)got) < 0)
			return 1;
		for (ssize_t i = 0; i < got; i++) {
			if (at < sizeof line)
				line[at] = buf[i];
			at++;
			if (buf[i] != '\n')
				continue;
			if (at >= sizeof pre && memcmp(line, pre, sizeof pre - 1) == 0) {
				long p;
				long long o;

				line[at < sizeof line ? at - 1 : sizeof line - 1] = '\0';
				if (sscanf(line + sizeof pre - 1, "%ld,\"o\":%lld", &p, &o) == 2) {
					if (n == cap) {
						struct note *w = realloc(v, 2 * cap * sizeof *v);

						if (!w)
							return 1;
						v = w;
						cap *= 2;
					}
					v[n].p = p;
					v[n].o = o;
					v[n++].t = t;
				}
			}
			at = 0;
		}
	}
	if (!(f = fopen(argv[1], "w")))
		return 1;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%ld\t%lld\t%.6f\n", v[i].p, v[i].o, v[i].t);
	if (fclose(f))
		return 1;
	snprintf(done, sizeof done, "%s.done", argv[1]);
	if (!(f = fopen(done, "w")))
		return 1;
	fclose(f);
	return 0;
}
