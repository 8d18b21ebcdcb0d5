/* hb_log — one-line diagnostics on stderr: time, program, level, message, key=value. */
#ifndef HB_LOG_H
#define HB_LOG_H

#include <stddef.h>

enum hb_level { HB_LOG_ERROR, HB_LOG_WARNING, HB_LOG_INFO, HB_LOG_DEBUG };

/* Program name and verbosity (HB_LOG_INFO by default; -q lowers, -v raises). */
void hb_log_init(const char *prog, int verbosity);
const char *hb_log_prog(void);
int hb_log_enabled(enum hb_level level);

/*
 * Write one line: "2026-11-23T10:00:00.123Z prog LEVEL " + fmt.  The line is
 * written with a single write(2) so that lines from processes sharing a
 * terminal do not interleave.  Newlines in the formatted text are replaced.
 */
void hb_log(enum hb_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Quote s[0..n) for use as a key=value value: as is when it is a plain word,
 * else in double quotes with ", \ and control characters escaped; cut to fit
 * dst (at most dstsz-1 bytes, ending in "..." when cut).  Returns dst.
 */
char *hb_log_quote(char *dst, size_t dstsz, const char *s, size_t n);

/* Write s[0..n) to stderr as it is (a progress line); n == 0 writes nothing.
 * Returns -1 when the write fails. */
int hb_log_raw(const char *s, size_t n);

#endif
