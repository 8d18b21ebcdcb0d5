/* hb_io — line reader and writer on file descriptors. */
#define _GNU_SOURCE	/* F_SETPIPE_SZ */
#include "hb_io.h"

#include "hb_ctl.h"
#include "hb_signal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

struct hb_reader {
	int fd;
	char *buf;
	size_t cap, start, end, scan;
	size_t max_line;
	int eof;
	uint64_t lineno;
	uint64_t off;		/* the input's offset of buf[start] */
	int watch_fd;		/* -1, or an output whose reader we watch for */
	int coords_seen;	/* a line so far began with Kafka coordinates */
	void (*on_block)(void *);
	void *on_block_arg;
};

struct hb_reader *hb_reader_new(int fd, size_t max_line)
{
	struct hb_reader *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->fd = fd;
	r->watch_fd = -1;
	r->max_line = max_line ? max_line : HB_MAX_LINE_DEFAULT;
	r->cap = r->max_line + 1 + CHUNK;
	r->buf = malloc(r->cap);
	if (!r->buf) {
		free(r);
		return NULL;
	}
	return r;
}

void hb_reader_free(struct hb_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r);
}

void hb_reader_resume(struct hb_reader *r, uint64_t off, uint64_t lineno)
{
	r->off = off;
	r->lineno = lineno;
}

void hb_reader_watch(struct hb_reader *r, int out_fd)
{
	r->watch_fd = out_fd;
}

void hb_reader_on_block(struct hb_reader *r, void (*fn)(void *), void *arg)
{
	r->on_block = fn;
	r->on_block_arg = arg;
}

int hb_reader_ready(const struct hb_reader *r)
{
	return r->eof || memchr(r->buf + r->scan, '\n', r->end - r->scan) != NULL;
}

/* Wait for input, then read what is there into buf[at..cap). */
static enum hb_rd fill(struct hb_reader *r, size_t at, int timeout_ms, ssize_t *got)
{
	if (r->on_block)
		r->on_block(r->on_block_arg);
	if (r->watch_fd >= 0) {
		struct pollfd pfd[2] = { { .fd = r->fd, .events = POLLIN }, { .fd = r->watch_fd } };
		int k = poll(pfd, 2, timeout_ms);

		if (k < 0)
			return errno == EINTR ? HB_RD_INTR : HB_RD_ERROR;
		if (pfd[1].revents & (POLLERR | POLLHUP))
			return HB_RD_HUP;
		if (k == 0 || !pfd[0].revents)
			return HB_RD_TIMEOUT;
	} else if (timeout_ms >= 0) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		int k = poll(&pfd, 1, timeout_ms);

		if (k < 0)
			return errno == EINTR ? HB_RD_INTR : HB_RD_ERROR;
		if (k == 0)
			return HB_RD_TIMEOUT;
	}
	for (;;) {
		*got = read(r->fd, r->buf + at, r->cap - at);
		if (*got >= 0)
			return HB_RD_LINE;
		if (errno == EINTR)
			return HB_RD_INTR;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			struct pollfd pfd = { .fd = r->fd, .events = POLLIN };

			if (poll(&pfd, 1, timeout_ms) == 0)
				return HB_RD_TIMEOUT;
			continue;
		}
		return HB_RD_ERROR;
	}
}

#define COORDS "{\"_kafka\":"
#define COORDS_LEN (sizeof COORDS - 1)

/* The line at start, len bytes kept of true_len; consumed: its bytes in the input, newline included. */
static void emit(struct hb_reader *r, struct hb_line *line, size_t len, uint64_t true_len, uint64_t consumed)
{
	r->off += consumed;
	line->end = r->off;
	line->partial = 0;
	line->p = r->buf + r->start;
	line->len = len;
	line->true_len = true_len;
	line->no = ++r->lineno;
	line->unterminated = 0;
	line->torn = 0;
	if (!r->coords_seen && len >= COORDS_LEN && memcmp(line->p, COORDS, COORDS_LEN) == 0)
		r->coords_seen = 1;
}

/*
 * The last line, without a newline: torn if it begins with the coordinates,
 * or, in a stream whose lines carried them, if it is cut inside them (a
 * kill -9 can cut a write anywhere, "{\"_ka" included) or is a control line
 * (hb_ctl.h), whole prefix or cut inside it: in such a stream hbclassify
 * --store writes the _hb_alert and _hb_state lines a reading causes before
 * that reading, whose message then comes again, and with it the line,
 * whole.  (Those a pause of its input causes follow the readings and do
 * not come again; stored as INVALID they were not applied either.)  Stored
 * as INVALID, a fragment was one row too many after such a restart.  A
 * short fragment in a stream without coordinates is input like any other.
 */
static void mark_torn(const struct hb_reader *r, struct hb_line *l)
{
	/* the coordinates, or a cut start of them */
	int coords = memcmp(l->p, COORDS, l->len < COORDS_LEN ? l->len : COORDS_LEN) == 0;

	l->torn = (coords && l->len >= COORDS_LEN) || (r->coords_seen && (coords || hb_ctl_cut(l->p, l->len)));
}

int hb_line_torn(const struct hb_line *l)
{
	return l->torn;
}

/*
 * The line at start is longer than max_line: keep max_line bytes, count and
 * drop the rest up to the newline.  A signal ends the line early (the caller
 * is about to stop anyway); timeouts do not apply to the rest of a long line.
 */
static enum hb_rd discard_rest(struct hb_reader *r, struct hb_line *line)
{
	size_t keep_end;
	uint64_t dropped = 0;
	int nl_found = 0, partial = 0;

	if (r->start > 0) {	/* room to read the rest in big chunks */
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	keep_end = r->max_line;
	for (;;) {
		char *nl = memchr(r->buf + keep_end, '\n', r->end - keep_end);
		ssize_t got;
		enum hb_rd rc;

		if (nl) {
			size_t after = (size_t)(nl - r->buf) + 1;

			dropped += (uint64_t)(nl - (r->buf + keep_end));
			memmove(r->buf + keep_end, r->buf + after, r->end - after);
			r->end = keep_end + (r->end - after);
			nl_found = 1;
			break;
		}
		dropped += r->end - keep_end;
		r->end = keep_end;
		if (r->eof)
			break;
		if (hb_stop) {
			partial = 1;	/* a stop request ends the line here: the caller stops too */
			break;
		}
		rc = fill(r, keep_end, -1, &got);
		if (rc == HB_RD_INTR) {
			partial = 1;
			break;
		}
		if (rc != HB_RD_LINE)
			return rc;
		if (got == 0)
			r->eof = 1;
		r->end = keep_end + (size_t)got;
	}
	emit(r, line, r->max_line, r->max_line + dropped, r->max_line + dropped + (uint64_t)nl_found);
	line->partial = partial;
	r->start = r->scan = keep_end;
	return HB_RD_LINE;
}

enum hb_rd hb_reader_next(struct hb_reader *r, int timeout_ms, struct hb_line *line)
{
	for (;;) {
		char *nl = memchr(r->buf + r->scan, '\n', r->end - r->scan);
		size_t have;
		ssize_t got;
		enum hb_rd rc;

		if (nl) {
			size_t len = (size_t)(nl - r->buf) - r->start;

			if (len > r->max_line) {
				r->scan = r->end;
				return discard_rest(r, line);
			}
			emit(r, line, len, len, (uint64_t)len + 1);
			r->start = r->scan = (size_t)(nl - r->buf) + 1;
			return HB_RD_LINE;
		}
		have = r->end - r->start;
		if (have > r->max_line)
			return discard_rest(r, line);
		if (r->eof) {
			if (!have)
				return HB_RD_EOF;
			emit(r, line, have, have, have);
			line->unterminated = 1;
			mark_torn(r, line);
			r->start = r->scan = r->end;
			return HB_RD_LINE;
		}
		r->scan = r->end;
		if (r->start > 0 && r->cap - r->end < CHUNK) {
			memmove(r->buf, r->buf + r->start, have);
			r->scan -= r->start;
			r->end = have;
			r->start = 0;
		}
		rc = fill(r, r->end, timeout_ms, &got);
		if (rc != HB_RD_LINE)
			return rc;
		if (got == 0)
			r->eof = 1;
		r->end += (size_t)got;
	}
}

int hb_writer_flush(struct hb_writer *w)
{
	size_t off = 0;

	if (w->err)
		return -1;
	while (off < w->buf.len) {
		ssize_t k = write(w->fd, w->buf.p + off, w->buf.len - off);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			w->err = errno;
			return -1;
		}
		off += (size_t)k;
	}
	w->bytes += w->buf.len;
	w->buf.len = 0;
	return 0;
}

int hb_writer_drain(struct hb_writer *w, int wait_ms)
{
	size_t off = 0;
	int rc = 0;

	if (w->err)
		return -1;
	while (off < w->buf.len) {
		ssize_t k = write(w->fd, w->buf.p + off, w->buf.len - off);

		if (k >= 0) {
			off += (size_t)k;
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			struct pollfd pfd = { .fd = w->fd, .events = POLLOUT };

			if (wait_ms <= 0 || poll(&pfd, 1, wait_ms) <= 0)
				break;
			wait_ms = 0;	/* wait once per call */
			continue;
		}
		if (errno == EINTR)
			break;
		w->err = errno;
		rc = -1;
		break;
	}
	if (off) {
		memmove(w->buf.p, w->buf.p + off, w->buf.len - off);
		w->buf.len -= off;
		w->bytes += off;
	}
	return rc;
}

void hb_writer_release(struct hb_writer *w)
{
	hb_buf_release(&w->buf);
}

int hb_pipe_grow(int fd, int want)
{
	struct stat st;
	int max = want, got;
	FILE *f;

	if (fstat(fd, &st) < 0)
		return -1;
	if (!S_ISFIFO(st.st_mode))
		return 0;
	if ((f = fopen("/proc/sys/fs/pipe-max-size", "r"))) {
		if (fscanf(f, "%d", &max) != 1 || max <= 0 || max > want)
			max = want;
		fclose(f);
	}
	if ((got = fcntl(fd, F_GETPIPE_SZ)) >= max)
		return got;
	return fcntl(fd, F_SETPIPE_SZ, max);
}
