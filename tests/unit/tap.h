/* tap — a tiny TAP harness in the spirit of git's t/unit-tests/test-lib.
 *
 *   tap_begin("name");  check_int(a, ==, b); check_str(s, "x"); ...  tap_end();
 *
 * Each begin/end pair is one TAP test point.  A point fails when any check
 * in it fails, and also when it checked nothing at all.  tap_done() prints
 * the plan and returns the exit status.
 */
#ifndef TAP_H
#define TAP_H

#include <stddef.h>

void tap_begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tap_end(void);
int tap_done(void);

int tap_check(int ok, const char *file, int line, const char *expr);
int tap_check_int(long long a, const char *op, long long b, int ok,
		  const char *file, int line, const char *ea, const char *eb);
int tap_check_cmp(long long a, const char *op, long long b,
		  const char *file, int line, const char *ea, const char *eb);
int tap_check_str(const char *a, const char *b, const char *file, int line,
		  const char *ea, const char *eb);
int tap_check_mem(const void *a, size_t an, const void *b, size_t bn,
		  const char *file, int line, const char *ea, const char *eb);

#define check(x) tap_check(!!(x), __FILE__, __LINE__, #x)
/* Each argument is evaluated once; op is one of == != < <= > >=. */
#define check_int(a, op, b) \
	tap_check_cmp((long long)(a), #op, (long long)(b), __FILE__, __LINE__, #a, #b)
#define check_str(a, b) tap_check_str((a), (b), __FILE__, __LINE__, #a, #b)
#define check_mem(a, an, b, bn) tap_check_mem((a), (an), (b), (bn), __FILE__, __LINE__, #a, #b)

#endif
