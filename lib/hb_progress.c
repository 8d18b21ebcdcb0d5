/* hb_progress — a one-line progress display for stderr (a terminal only); the caller writes it. */
#include "hb_progress.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hb_time.h"

void hb_progress_init(struct hb_progress *p, int fd)
{
	struct stat st;

	p->on = isatty(2) && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
	p->total = p->on ? (int64_t)st.st_size : 0;
	p->fd = fd;
	p->t0 = p->last = hb_time_mono_us();
}

size_t hb_progress_tick(struct hb_progress *p, uint64_t lines, char *buf, size_t n)
{
	int64_t now, pos;
	double secs, frac, eta;
	int k;

	if (!p->on)
		return 0;
	now = hb_time_mono_us();
	if (now - p->last < 1000000)
		return 0;
	p->last = now;
	pos = (int64_t)lseek(p->fd, 0, SEEK_CUR);	/* read ahead by one buffer at most */
	secs = (double)(now - p->t0) / 1e6;
	frac = pos > 0 && p->total > 0 ? (double)pos / (double)p->total : 0;
	eta = frac > 0 ? secs / frac - secs : 0;
	k = snprintf(buf, n, "\r%llu lines  %.0f lines/s  %.0f%%  ETA %.0f s   ",
		     (unsigned long long)lines, secs > 0 ? (double)lines / secs : 0, frac * 100, eta);
	return k > 0 && (size_t)k < n ? (size_t)k : 0;
}

size_t hb_progress_done(struct hb_progress *p, char *buf, size_t n)
{
	static const char clear[] = "\r\033[K";

	if (!p->on || n < sizeof clear)
		return 0;
	memcpy(buf, clear, sizeof clear);
	return sizeof clear - 1;
}
