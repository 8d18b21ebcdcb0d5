/* hb_io — NDJSON line input and buffered output over raw file descriptors.
 *
 * The reader handles any bytes (NUL included), a last line without a
 * newline, and lines longer than a limit: such a line is returned cut to the
 * limit with its true length, never held whole in memory.  The writer turns
 * a closed pipe into a status instead of a signal.
 */
#ifndef HB_IO_H
#define HB_IO_H

#include <stddef.h>
#include <stdint.h>

#include "hb_buf.h"

#define HB_MAX_LINE_DEFAULT (1024 * 1024)

enum hb_rd {
	HB_RD_LINE = 1,     /* the line is set */
	HB_RD_EOF = 0,
	HB_RD_ERROR = -1,   /* errno set */
	HB_RD_TIMEOUT = -2, /* no complete line within the timeout */
	HB_RD_INTR = -3,    /* a signal arrived (check hb_stop) */
	HB_RD_HUP = -4,     /* the reader of the watched output is gone (hb_reader_watch) */
};

struct hb_line {
	const char *p;      /* the line without its newline; cut at max_line */
	size_t len;
	uint64_t true_len;  /* its length before cutting (== len unless cut) */
	uint64_t no;        /* 1-based line number */
	int unterminated;   /* the last line of the input, without a newline */
	int torn;           /* see hb_line_torn() */
	int partial;        /* a line too long, cut short by a stop request: its end is not known */
	uint64_t end;       /* the input's byte offset just after this line (its newline
			     * included), counted as hb_reader_resume() set it (from 0) */
};

/*
 * A last line without a newline that carries Kafka coordinates ("_kafka"
 * first) was torn: the stage before us died while writing it.  Its message
 * was never acknowledged, so Kafka delivers it again: the fragment must not
 * be stored as if it were input.  In a stream whose lines carried
 * coordinates, a last fragment cut inside them ("{\"_ka") is torn too.
 */
int hb_line_torn(const struct hb_line *l);

struct hb_reader;

/* A reader on fd; lines longer than max_line bytes are cut.  NULL on ENOMEM. */
struct hb_reader *hb_reader_new(int fd, size_t max_line);

/*
 * The reader's fd has been positioned at byte off of its file, just after
 * line lineno: the next line is numbered lineno + 1 and line ends count from
 * off.  Call before the first hb_reader_next().
 */
void hb_reader_resume(struct hb_reader *r, uint64_t off, uint64_t lineno);

/*
 * If fd is a pipe, make its buffer up to want bytes (the system's
 * pipe-max-size caps it): a reader that stores a batch while the writer
 * goes on then finds the whole backlog waiting, not a writer blocked at
 * 64 KiB.  Returns the new size, 0 for a file that is not a pipe, -1 on
 * error (errno set; the pipe keeps its size).
 */
int hb_pipe_grow(int fd, int want);
void hb_reader_free(struct hb_reader *r);

/*
 * Called just before the reader may block in read(2) (no complete line is
 * buffered), so that a program can flush its output first and a live stream
 * never waits in a buffer.
 */
void hb_reader_on_block(struct hb_reader *r, void (*fn)(void *), void *arg);

/*
 * While waiting for input, also watch out_fd (a pipe we write to): when its
 * reader has gone, hb_reader_next() returns HB_RD_HUP instead of waiting on.
 * A filter in the middle of a pipeline that is idle would otherwise never
 * learn that the stage after it died, and the stage before it would wait
 * for acknowledgements forever.
 */
void hb_reader_watch(struct hb_reader *r, int out_fd);

/*
 * The next line.  timeout_ms < 0 waits as long as it takes.  The line stays
 * valid until the next call.
 */
enum hb_rd hb_reader_next(struct hb_reader *r, int timeout_ms, struct hb_line *line);

/* 1 if a complete line (or EOF) is already buffered: the next call won't block. */
int hb_reader_ready(const struct hb_reader *r);

struct hb_writer {
	int fd;
	struct hb_buf buf;
	int err;            /* errno of the first failed write (EPIPE: reader gone) */
	uint64_t bytes;
};

/* Write out everything buffered.  Returns 0, or -1 with w->err set. */
int hb_writer_flush(struct hb_writer *w);
/* Flush when more than this is buffered. */
#define HB_WRITER_HIGH (256 * 1024)
static inline int hb_writer_maybe_flush(struct hb_writer *w)
{
	return w->buf.len >= HB_WRITER_HIGH ? hb_writer_flush(w) : 0;
}
void hb_writer_release(struct hb_writer *w);

/*
 * On a non-blocking fd: write what the reader takes now, waiting at most
 * wait_ms (once) for room, so that a stalled reader never stops the caller;
 * what is left stays buffered (w->buf.len).  A signal (EINTR) ends it early.
 * Returns 0, or -1 with w->err set (EPIPE: the reader is gone).
 */
int hb_writer_drain(struct hb_writer *w, int wait_ms);

#endif
