/* tap — TAP output for the C unit tests. */
#include "tap.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int points, failed_points, checks, failures, open_point;
static char name[256];

void tap_begin(const char *fmt, ...)
{
	va_list ap;

	if (open_point)
		tap_end();
	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	checks = failures = 0;
	open_point = 1;
}

void tap_end(void)
{
	if (!open_point)
		return;
	open_point = 0;
	points++;
	if (checks == 0)
		printf("# %s: no checks ran\n", name);
	if (failures || checks == 0) {
		failed_points++;
		printf("not ok %d - %s\n", points, name);
	} else {
		printf("ok %d - %s\n", points, name);
	}
	fflush(stdout);
}

int tap_done(void)
{
	tap_end();
	printf("1..%d\n", points);
	if (failed_points)
		printf("# %d of %d failed\n", failed_points, points);
	return failed_points ? 1 : 0;
}

static void printable(char *dst, size_t dsz, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 < dsz; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			dst[o++] = (char)c;
		else
			o += (size_t)snprintf(dst + o, dsz - o, "\\x%02x", c);
	}
	dst[o] = '\0';
}

int tap_check(int ok, const char *file, int line, const char *expr)
{
	checks++;
	if (!ok) {
		failures++;
		printf("# %s:%d: check failed: %s\n", file, line, expr);
	}
	return ok;
}

int tap_check_int(long long a, const char *op, long long b, int ok,
		  const char *file, int line, const char *ea, const char *eb)
{
	if (!tap_check(ok, file, line, ea))
		printf("#   %s %s %s: left %lld, right %lld\n", ea, op, eb, a, b);
	return ok;
}

int tap_check_cmp(long long a, const char *op, long long b,
		  const char *file, int line, const char *ea, const char *eb)
{
	int ok;

	if (strcmp(op, "==") == 0)
		ok = a == b;
	else if (strcmp(op, "!=") == 0)
		ok = a != b;
	else if (strcmp(op, "<") == 0)
		ok = a < b;
	else if (strcmp(op, "<=") == 0)
		ok = a <= b;
	else if (strcmp(op, ">") == 0)
		ok = a > b;
	else if (strcmp(op, ">=") == 0)
		ok = a >= b;
	else
		ok = 0;
	return tap_check_int(a, op, b, ok, file, line, ea, eb);
}

int tap_check_str(const char *a, const char *b, const char *file, int line,
		  const char *ea, const char *eb)
{
	int ok = a && b && strcmp(a, b) == 0;
	char pa[512], pb[512];

	if (!tap_check(ok, file, line, ea)) {
		printable(pa, sizeof pa, a ? a : "(null)", a ? strlen(a) : 6);
		printable(pb, sizeof pb, b ? b : "(null)", b ? strlen(b) : 6);
		printf("#   %s == %s\n#   left:  \"%s\"\n#   right: \"%s\"\n", ea, eb, pa, pb);
	}
	return ok;
}

int tap_check_mem(const void *a, size_t an, const void *b, size_t bn,
		  const char *file, int line, const char *ea, const char *eb)
{
	int ok = an == bn && (an == 0 || memcmp(a, b, an) == 0);
	char pa[512], pb[512];

	if (!tap_check(ok, file, line, ea)) {
		printable(pa, sizeof pa, a, an);
		printable(pb, sizeof pb, b, bn);
		printf("#   %s == %s\n#   left:  \"%s\"\n#   right: \"%s\"\n", ea, eb, pa, pb);
	}
	return ok;
}
