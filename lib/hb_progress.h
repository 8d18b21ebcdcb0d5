/* hb_progress — "lines, rate, ETA" on a terminal while a file is read. */
#ifndef HB_PROGRESS_H
#define HB_PROGRESS_H

#include <stdint.h>

struct hb_progress {
	int on;             /* stderr is a terminal and the input a regular file */
	int64_t total;      /* the input's size in bytes */
	int64_t t0, last;   /* monotonic microseconds */
	int fd;             /* the input */
};

/* Turn progress on when fd is a regular file and stderr a terminal. */
void hb_progress_init(struct hb_progress *p, int fd);
/* Redraw at most once a second: lines done so far, by the file position. */
void hb_progress_tick(struct hb_progress *p, uint64_t lines);
/* Clear the progress line (before the summary). */
void hb_progress_done(struct hb_progress *p);

#endif
