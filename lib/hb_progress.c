/* hb_progress — a one-line progress display on stderr (a terminal only). */
#include "hb_progress.h"

#include <stdio.h>
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

void hb_progress_tick(struct hb_progress *p, uint64_t lines)
{
	int64_t now, pos;
	double secs, frac, eta;
	char line[160];
	int k;

	if (!p->on)
		return;
	now = hb_time_mono_us();
	if (now - p->last < 1000000)
		return;
	p->last = now;
	pos = (int64_t)lseek(p->fd, 0, SEEK_CUR);	/* read ahead by one buffer at most */
	secs = (double)(now - p->t0) / 1e6;
	frac = pos > 0 && p->total > 0 ? (double)pos / (double)p->total : 0;
	eta = frac > 0 ? secs / frac - secs : 0;
	k = snprintf(line, sizeof line, "\r%llu lines  %.0f lines/s  %.0f%%  ETA %.0f s   ",
		     (unsigned long long)lines, secs > 0 ? (double)lines / secs : 0, frac * 100, eta);
	if (k > 0 && write(2, line, (size_t)k) < 0)
		p->on = 0;
}

void hb_progress_done(struct hb_progress *p)
{
	if (p->on && write(2, "\r\033[K", 4) < 0)
		p->on = 0;
}
