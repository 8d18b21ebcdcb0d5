/* hb_log — one-line diagnostics on stderr. */
#include "hb_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hb_time.h"

static const char *log_prog = "hbmon";
static int log_verbosity = HB_LOG_INFO;

void hb_log_init(const char *prog, int verbosity)
{
	log_prog = prog;
	log_verbosity = verbosity;
}

const char *hb_log_prog(void)
{
	return log_prog;
}

int hb_log_enabled(enum hb_level level)
{
	/* ERROR always shows: every failing exit says why, however quiet. */
	return level == HB_LOG_ERROR || (int)level <= log_verbosity;
}

void hb_log(enum hb_level level, const char *fmt, ...)
{
	static const char *const names[] = {"ERROR", "WARNING", "INFO", "DEBUG"};
	char line[4096];
	size_t len;
	int k, saved = errno;
	va_list ap;

	if (!hb_log_enabled(level))
		return;
	len = hb_time_format(hb_time_now_us(), line);
	k = snprintf(line + len, sizeof line - len, " %s %s ", log_prog, names[level]);
	len += k > 0 ? (size_t)k : 0;
	va_start(ap, fmt);
	k = vsnprintf(line + len, sizeof line - len, fmt, ap);
	va_end(ap);
	if (k > 0)
		len += (size_t)k < sizeof line - len ? (size_t)k : sizeof line - len - 1;
	for (size_t i = 0; i < len; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	for (size_t off = 0; off < len;) {
		ssize_t w = write(2, line + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	errno = saved;
}

char *hb_log_quote(char *dst, size_t dstsz, const char *s, size_t n)
{
	size_t o = 0, i;
	int plain = n > 0;

	for (i = 0; i < n && plain; i++) {
		unsigned char c = (unsigned char)s[i];

		plain = c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '=';
	}
	if (dstsz < 8) {
		if (dstsz)
			dst[0] = '\0';
		return dst;
	}
	if (plain && n < dstsz) {
		memcpy(dst, s, n);
		dst[n] = '\0';
		return dst;
	}
	dst[o++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		size_t k;

		if (c == '"' || c == '\\')
			k = (size_t)snprintf(esc, sizeof esc, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			k = (size_t)snprintf(esc, sizeof esc, "\\x%02x", c);
		else
			esc[0] = (char)c, k = 1;
		if (o + k + 5 > dstsz) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(dst + o, esc, k);
		o += k;
	}
	dst[o++] = '"';
	dst[o] = '\0';
	return dst;
}

int hb_log_raw(const char *s, size_t n)
{
	return n && write(2, s, n) != (ssize_t)n ? -1 : 0;
}
