/* hb_progress — "lines, rate, ETA" on a terminal while a file is read. */
#ifndef HB_PROGRESS_H
#define HB_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

struct hb_progress {
	int on;             /* stderr is a terminal and the input a regular file */
	int64_t total;      /* the input's size in bytes */
	int64_t t0, last;   /* monotonic microseconds */
	int fd;             /* the input */
};

/* Turn progress on when fd is a regular file and stderr a terminal. */
void hb_progress_init(struct hb_progress *p, int fd);
/*
 * The library never prints: these fill buf with what to write to stderr and
 * return its length (0: nothing to show); a caller whose write fails sets
 * p->on = 0.
 */
/* At most once a second: lines done so far, the rate and the ETA by the file position. */
size_t hb_progress_tick(struct hb_progress *p, uint64_t lines, char *buf, size_t n);
/* What clears the progress line (before the summary). */
size_t hb_progress_done(struct hb_progress *p, char *buf, size_t n);

#endif
