/* test_io — hb_reader over files and pipes (any bytes, cut long lines, chunk
 * boundaries, timeouts) and hb_writer (EPIPE instead of SIGPIPE). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hb_io.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define L(s) s, sizeof(s) - 1

enum src { FROM_FILE, FROM_PIPE };

/* An fd from which data[0..n) can be read: a temp file, or a pipe fed by a
 * child in pieces of `piece` bytes.  *child is the child's pid or -1. */
static int source(const char *data, size_t n, enum src how, size_t piece, pid_t *child)
{
	*child = -1;
	if (how == FROM_FILE) {
		char path[] = "/tmp/hb_test_io_XXXXXX";
		int fd = mkstemp(path);
		size_t off = 0;

		if (fd < 0)
			return -1;
		unlink(path);
		while (off < n) {
			ssize_t k = write(fd, data + off, n - off);

			if (k <= 0) {
				close(fd);
				return -1;
			}
			off += (size_t)k;
		}
		lseek(fd, 0, SEEK_SET);
		return fd;
	} else {
		int p[2];

		if (pipe(p) < 0)
			return -1;
		*child = fork();
		if (*child < 0)
			return -1;
		if (*child == 0) {
			size_t off = 0;

			close(p[0]);
			while (off < n) {
				size_t k = n - off < piece ? n - off : piece;
				ssize_t w = write(p[1], data + off, k);

				if (w <= 0)
					_exit(1);
				off += (size_t)w;
			}
			_exit(0);
		}
		close(p[1]);
		return p[0];
	}
}

static void reap(pid_t child)
{
	int st;

	if (child > 0)
		waitpid(child, &st, 0);
}

struct want_line {
	const char *p;
	size_t len;
	uint64_t true_len;
};

struct io_case {
	const char *name;
	const char *data;
	size_t n;
	size_t max_line;
	int nlines;
	struct want_line lines[8];
};

#define W(s, tl) {s, sizeof(s) - 1, tl}
#define WS(s) {s, sizeof(s) - 1, sizeof(s) - 1}

static const struct io_case cases[] = {
	{"three lines", L("a\nbb\nccc\n"), 16, 3, {WS("a"), WS("bb"), WS("ccc")}},
	{"no trailing newline", L("a\nlast"), 16, 2, {WS("a"), WS("last")}},
	{"CRLF kept", L("a\r\nb\r\n\r\n"), 16, 3, {WS("a\r"), WS("b\r"), WS("\r")}},
	{"empty lines", L("\n\n\nx\n\n"), 16, 5, {WS(""), WS(""), WS(""), WS("x"), WS("")}},
	{"nothing", L(""), 16, 0, {{0}}},
	{"one newline", L("\n"), 16, 1, {WS("")}},
	{"NUL bytes inside lines", L("a\0b\n\0\n\0\0\0"), 16, 3, {WS("a\0b"), WS("\0"), WS("\0\0\0")}},
	{"any byte values", L("\xff\xfe\x80\r\t\x01\n"), 16, 1, {WS("\xff\xfe\x80\r\t\x01")}},
	{"line of exactly max_line", L("0123456789abcdef\nx\n"), 16, 2, {WS("0123456789abcdef"), WS("x")}},
	{"line of max_line + 1", L("0123456789abcdefg\nx\n"), 16, 2,
	 {W("0123456789abcdef", 17), WS("x")}},
	{"long line then an intact one", L("0123456789abcdefXYZ\nnext\n"), 16, 2,
	 {W("0123456789abcdef", 19), WS("next")}},
	{"several long lines in a row",
	 L("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nBBBBBBBBBBBBBBBBB\nCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC\nok\n"),
	 16, 4,
	 {W("AAAAAAAAAAAAAAAA", 40), W("BBBBBBBBBBBBBBBB", 17), W("CCCCCCCCCCCCCCCC", 100), WS("ok")}},
	{"long line at EOF without newline", L("short\n0123456789abcdefghijklmnopqrstuvwxyz"), 16, 2,
	 {WS("short"), W("0123456789abcdef", 36)}},
	{"long line of newline-free bytes then empty", L("0123456789abcdefghij\n\n"), 16, 2,
	 {W("0123456789abcdef", 20), WS("")}},
	{"long lines with NUL and CR", L("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\r\n\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\n"), 16, 2,
	 {W("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 19), W("\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r\r", 17)}},
	{"max_line 1", L("ab\nc\n\nde"), 1, 4, {W("a", 2), WS("c"), WS(""), W("d", 2)}},
};

/* Read everything; compare with the case.  Returns the number of problems. */
static int run_case(const struct io_case *c, enum src how, size_t piece)
{
	pid_t child;
	int fd = source(c->data, c->n, how, piece, &child), bad = 0, got = 0;
	uint64_t prev_end = 0;
	struct hb_reader *r;
	struct hb_line line;
	enum hb_rd rc;

	if (fd < 0)
		return 1000;
	r = hb_reader_new(fd, c->max_line);
	if (!r) {
		close(fd);
		return 1000;
	}
	while ((rc = hb_reader_next(r, -1, &line)) == HB_RD_LINE) {
		if (got < c->nlines) {
			const struct want_line *w = &c->lines[got];

			bad += !check_mem(line.p, line.len, w->p, w->len);
			bad += !check_int(line.true_len, ==, w->true_len);
		}
		got++;
		bad += !check_int(line.no, ==, (uint64_t)got);
		/* line ends: just after the newline, or at the end of the input */
		bad += !check_int(line.end - prev_end, >=, line.true_len);
		bad += !check_int(line.end - prev_end, <=, line.true_len + 1);
		bad += !check_int(line.end, <=, c->n);
		if (line.end < c->n)
			bad += !check_int(c->data[line.end - 1], ==, '\n');
		bad += !check_int(line.partial, ==, 0);
		prev_end = line.end;
	}
	bad += !check_int(prev_end, ==, c->n);
	bad += !check_int(rc, ==, HB_RD_EOF);
	bad += !check_int(got, ==, c->nlines);
	/* EOF is sticky. */
	rc = hb_reader_next(r, -1, &line);
	bad += !check_int(rc, ==, HB_RD_EOF);
	hb_reader_free(r);
	close(fd);
	reap(child);
	return bad;
}

static void test_cases(void)
{
	static const size_t pieces[] = {1, 3, 4096};

	for (size_t i = 0; i < NELEM(cases); i++) {
		tap_begin("hb_reader from a file: %s", cases[i].name);
		run_case(&cases[i], FROM_FILE, 0);
		tap_end();
		tap_begin("hb_reader from a pipe (1, 3, 4096-byte writes): %s", cases[i].name);
		for (size_t k = 0; k < NELEM(pieces); k++)
			run_case(&cases[i], FROM_PIPE, pieces[k]);
		tap_end();
	}
}

/* Line i of the big input: its length and its bytes are a function of i. */
static size_t big_len(size_t i)
{
	return (i * 7919) % 301;
}

static char big_byte(size_t i, size_t k)
{
	char c = (char)('!' + (i * 31 + k * 17) % 90);

	return c == '\n' ? 'n' : c;
}

static void test_big(enum src how)
{
	const size_t nlines = 120000;
	struct hb_buf data = {0};
	struct hb_reader *r;
	struct hb_line line;
	enum hb_rd rc;
	pid_t child;
	size_t got = 0;
	int bad = 0, fd;

	for (size_t i = 0; i < nlines; i++) {
		for (size_t k = 0; k < big_len(i); k++)
			hb_buf_putc(&data, big_byte(i, k));
		hb_buf_putc(&data, '\n');
	}
	tap_begin("hb_reader from a %s: %zu lines, %zu bytes, across many 256 KiB chunks",
		  how == FROM_FILE ? "file" : "pipe", nlines, data.len);
	check(data.len > 8 * 256 * 1024);
	fd = source(data.p, data.len, how, 65536 + 7, &child);
	check(fd >= 0);
	r = hb_reader_new(fd, 0);	/* the default limit */
	check(r != NULL);
	while (r && (rc = hb_reader_next(r, -1, &line)) == HB_RD_LINE) {
		size_t want = big_len(got);

		if (line.len != want || line.true_len != want || line.no != got + 1)
			bad++;
		else
			for (size_t k = 0; k < want; k++)
				if (line.p[k] != big_byte(got, k)) {
					bad++;
					break;
				}
		got++;
	}
	check_int(got, ==, nlines);
	check_int(bad, ==, 0);
	hb_reader_free(r);
	close(fd);
	reap(child);
	hb_buf_release(&data);
	tap_end();
}

static void test_chunk_edges(void)
{
	const size_t chunk = 256 * 1024;
	static const long deltas[] = {-2, -1, 0, 1, 2};

	for (size_t d = 0; d < NELEM(deltas); d++) {
		struct hb_buf data = {0};
		struct hb_reader *r;
		struct hb_line line;
		pid_t child;
		int fd;
		size_t first = chunk + (size_t)deltas[d] - 1;	/* newline at chunk + delta - 1 */

		tap_begin("hb_reader: a newline at offset CHUNK%+ld, then more lines", deltas[d]);
		for (size_t k = 0; k < first; k++)
			hb_buf_putc(&data, 'a');
		hb_buf_puts(&data, "\nsecond\n");
		for (size_t k = 0; k < chunk; k++)
			hb_buf_putc(&data, 'b');
		hb_buf_puts(&data, "\nlast");
		fd = source(data.p, data.len, FROM_FILE, 0, &child);
		r = hb_reader_new(fd, 2 * chunk);
		check(r != NULL);
		if (r) {
			enum hb_rd rc = hb_reader_next(r, -1, &line);

			check_int(rc, ==, HB_RD_LINE);
			check_int(line.len, ==, first);
			rc = hb_reader_next(r, -1, &line);
			check_int(rc, ==, HB_RD_LINE);
			check_mem(line.p, line.len, "second", 6);
			rc = hb_reader_next(r, -1, &line);
			check_int(rc, ==, HB_RD_LINE);
			check_int(line.len, ==, chunk);
			check(line.len == chunk && line.p[0] == 'b' && line.p[chunk - 1] == 'b');
			rc = hb_reader_next(r, -1, &line);
			check_int(rc, ==, HB_RD_LINE);
			check_mem(line.p, line.len, "last", 4);
			check_int(line.no, ==, 4);
			rc = hb_reader_next(r, -1, &line);
			check_int(rc, ==, HB_RD_EOF);
		}
		hb_reader_free(r);
		close(fd);
		hb_buf_release(&data);
		tap_end();
	}
}

static void test_huge_lines(enum src how)
{
	const size_t max = 1000, huge = 3 * 1024 * 1024 + 5;
	struct hb_buf data = {0};
	struct hb_reader *r;
	struct hb_line line;
	pid_t child;
	int fd;
	enum hb_rd rc;

	/* ok, huge, ok, huge, huge at EOF without newline */
	hb_buf_puts(&data, "first\n");
	for (size_t k = 0; k < huge; k++)
		hb_buf_putc(&data, (char)('0' + k % 10));
	hb_buf_puts(&data, "\nmiddle\n");
	for (size_t k = 0; k < huge + 1; k++)
		hb_buf_putc(&data, 'h');
	hb_buf_putc(&data, '\n');
	for (size_t k = 0; k < huge + 2; k++)
		hb_buf_putc(&data, 't');
	tap_begin("hb_reader from a %s: 3 MiB lines cut to max_line, true_len exact, neighbours intact",
		  how == FROM_FILE ? "file" : "pipe");
	fd = source(data.p, data.len, how, 100000, &child);
	r = hb_reader_new(fd, max);
	check(r != NULL);
	if (r) {
		rc = hb_reader_next(r, -1, &line);
		check_int(rc, ==, HB_RD_LINE);
		check_mem(line.p, line.len, "first", 5);
		rc = hb_reader_next(r, -1, &line);
		check_int(rc, ==, HB_RD_LINE);
		check_int(line.len, ==, max);
		check_int(line.true_len, ==, huge);
		check(line.len == max && line.p[0] == '0' && line.p[max - 1] == '9');
		check_int(line.no, ==, 2);
		rc = hb_reader_next(r, -1, &line);
		check_int(rc, ==, HB_RD_LINE);
		check_mem(line.p, line.len, "middle", 6);
		check_int(line.no, ==, 3);
		rc = hb_reader_next(r, -1, &line);
		check_int(rc, ==, HB_RD_LINE);
		check_int(line.len, ==, max);
		check_int(line.true_len, ==, huge + 1);
		rc = hb_reader_next(r, -1, &line);
		check_int(rc, ==, HB_RD_LINE);
		check_int(line.len, ==, max);
		check_int(line.true_len, ==, huge + 2);
		check(line.len == max && line.p[0] == 't');
		check_int(line.no, ==, 5);
		rc = hb_reader_next(r, -1, &line);
		check_int(rc, ==, HB_RD_EOF);
	}
	hb_reader_free(r);
	close(fd);
	reap(child);
	hb_buf_release(&data);
	tap_end();
}

static int blocked;

static void on_block(void *arg)
{
	(void)arg;
	blocked++;
}

static void test_timeout(void)
{
	int p[2];
	struct hb_reader *r;
	struct hb_line line;
	enum hb_rd rc;

	tap_begin("hb_reader: timeout, partial line, on_block, ready");
	check(pipe(p) == 0);
	r = hb_reader_new(p[0], 64);
	check(r != NULL);
	if (!r)
		return;
	hb_reader_on_block(r, on_block, NULL);
	check_int(hb_reader_ready(r), ==, 0);
	rc = hb_reader_next(r, 30, &line);
	check_int(rc, ==, HB_RD_TIMEOUT);
	check(blocked >= 1);
	check(write(p[1], "par", 3) == 3);
	rc = hb_reader_next(r, 30, &line);
	check_int(rc, ==, HB_RD_TIMEOUT);	/* no complete line yet */
	check(write(p[1], "tial\nnext\nrest", 14) == 14);
	rc = hb_reader_next(r, 1000, &line);
	check_int(rc, ==, HB_RD_LINE);
	check_mem(line.p, line.len, "partial", 7);
	check_int(hb_reader_ready(r), ==, 1);
	blocked = 0;
	rc = hb_reader_next(r, 1000, &line);
	check_int(rc, ==, HB_RD_LINE);
	check_mem(line.p, line.len, "next", 4);
	check_int(blocked, ==, 0);	/* it was buffered: no wait */
	check_int(hb_reader_ready(r), ==, 0);
	close(p[1]);
	rc = hb_reader_next(r, 1000, &line);
	check_int(rc, ==, HB_RD_LINE);
	check_mem(line.p, line.len, "rest", 4);
	check_int(line.no, ==, 3);
	rc = hb_reader_next(r, 1000, &line);
	check_int(rc, ==, HB_RD_EOF);
	check_int(hb_reader_ready(r), ==, 1);
	hb_reader_free(r);
	hb_reader_free(NULL);
	close(p[0]);
	tap_end();
}

static void test_writer(void)
{
	int p[2];
	char back[64];
	ssize_t k;

	tap_begin("hb_writer writes everything and counts bytes");
	check(pipe(p) == 0);
	{
		struct hb_writer w = {.fd = p[1]};
		int rc;

		hb_buf_puts(&w.buf, "hello\n");
		rc = hb_writer_maybe_flush(&w);	/* below the mark: nothing */
		check_int(rc, ==, 0);
		check_int(w.buf.len, ==, 6);
		rc = hb_writer_flush(&w);
		check_int(rc, ==, 0);
		check_int(w.bytes, ==, 6);
		check_int(w.buf.len, ==, 0);
		k = read(p[0], back, sizeof back);
		check_mem(back, k > 0 ? (size_t)k : 0, "hello\n", 6);
		hb_writer_release(&w);
	}
	close(p[0]);
	close(p[1]);
	tap_end();

	tap_begin("hb_writer to a pipe whose reader is gone: -1 with err == EPIPE");
	signal(SIGPIPE, SIG_IGN);
	check(pipe(p) == 0);
	close(p[0]);
	{
		struct hb_writer w = {.fd = p[1]};
		int rc;

		hb_buf_puts(&w.buf, "{\"a\":1}\n");
		rc = hb_writer_flush(&w);
		check_int(rc, ==, -1);
		check_int(w.err, ==, EPIPE);
		check_int(w.bytes, ==, 0);
		rc = hb_writer_flush(&w);	/* sticky */
		check_int(rc, ==, -1);
		check_int(w.err, ==, EPIPE);
		hb_writer_release(&w);
	}
	close(p[1]);
	tap_end();

	tap_begin("hb_writer_maybe_flush flushes past HB_WRITER_HIGH");
	{
		char path[] = "/tmp/hb_test_io_w_XXXXXX";
		int fd = mkstemp(path);
		struct hb_writer w = {.fd = fd};
		int rc;

		check(fd >= 0);
		unlink(path);
		for (int i = 0; i < HB_WRITER_HIGH / 8 + 1; i++)
			hb_buf_put(&w.buf, "1234567\n", 8);
		rc = hb_writer_maybe_flush(&w);
		check_int(rc, ==, 0);
		check_int(w.buf.len, ==, 0);
		check_int(w.bytes, ==, (HB_WRITER_HIGH / 8 + 1) * 8);
		check_int(lseek(fd, 0, SEEK_END), ==, (HB_WRITER_HIGH / 8 + 1) * 8);
		hb_writer_release(&w);
		close(fd);
	}
	tap_end();
}

/* hb_writer_drain on a non-blocking pipe: takes what the reader takes, keeps the rest. */
static void test_drain(void)
{
	int p[2];
	size_t total = 1 << 20, got = 0, bad = 0;
	struct hb_writer w = {.fd = -1};
	char back[65536];
	ssize_t k;
	int rc;

	tap_begin("hb_writer_drain: a reader that does not read never blocks us");
	check(pipe(p) == 0);
	fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK);
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	w.fd = p[1];
	for (size_t i = 0; i < total / 8; i++)
		hb_buf_put(&w.buf, "1234567\n", 8);
	rc = hb_writer_drain(&w, 10);
	check_int(rc, ==, 0);
	check_int(w.buf.len, >, 0);		/* a pipe holds far less than 1 MiB */
	check_int(w.bytes + w.buf.len, ==, total);
	tap_end();

	tap_begin("hb_writer_drain: the rest goes as the reader reads, in order, whole");
	while (got < total) {
		while ((k = read(p[0], back, sizeof back)) > 0) {
			for (ssize_t i = 0; i < k; i++)
				bad += back[i] != "1234567\n"[(got + (size_t)i) % 8];
			got += (size_t)k;
		}
		if (hb_writer_drain(&w, 10) < 0)
			break;
		if (!w.buf.len && got == w.bytes)
			break;
	}
	while ((k = read(p[0], back, sizeof back)) > 0)
		got += (size_t)k;
	check_int(got, ==, total);
	check_int(bad, ==, 0);
	check_int(w.buf.len, ==, 0);
	check_int(w.bytes, ==, total);
	tap_end();

	tap_begin("hb_writer_drain: the reader gone is -1, EPIPE");
	signal(SIGPIPE, SIG_IGN);
	close(p[0]);
	hb_buf_puts(&w.buf, "x\n");
	check_int(hb_writer_drain(&w, 0), ==, -1);
	check_int(w.err, ==, EPIPE);
	check_int(w.buf.len, ==, 2);
	tap_end();
	close(p[1]);
	hb_writer_release(&w);
}

/* A watched output whose reader goes away ends a wait for input: HB_RD_HUP. */
static void test_watch(void)
{
	int in[2], out[2];
	struct hb_reader *r;
	struct hb_line ln;

	tap_begin("hb_reader_watch: the reader of our output gone while we wait for input");
	signal(SIGPIPE, SIG_IGN);
	if (pipe(in) < 0 || pipe(out) < 0) {
		check(0);
		tap_end();
		return;
	}
	r = hb_reader_new(in[0], 0);
	hb_reader_watch(r, out[1]);
	check(write(in[1], "a\nb\n", 4) == 4);
	check_int(hb_reader_next(r, -1, &ln), ==, HB_RD_LINE);
	check_int(hb_reader_next(r, -1, &ln), ==, HB_RD_LINE);
	check_int(hb_reader_next(r, 50, &ln), ==, HB_RD_TIMEOUT);	/* its reader is still there */
	check(write(in[1], "c\nd\n", 4) == 4);
	check_int(hb_reader_next(r, -1, &ln), ==, HB_RD_LINE);	/* reads c and d */
	close(out[0]);
	check_int(hb_reader_next(r, -1, &ln), ==, HB_RD_LINE);	/* d was buffered: it still comes */
	check_mem(ln.p, ln.len, "d", 1);
	check_int(hb_reader_next(r, -1, &ln), ==, HB_RD_HUP);	/* would block forever otherwise */
	check_int(hb_reader_next(r, -1, &ln), ==, HB_RD_HUP);
	hb_reader_free(r);
	close(in[0]);
	close(in[1]);
	close(out[1]);
	tap_end();
}

/*
 * A stage killed mid-write leaves a fragment as the last line: which
 * fragments are torn (dropped, Kafka delivers the message again) and which
 * are input (classified, INVALID if need be).
 */
static const struct {
	const char *name;
	const char *data;
	size_t n;
	int torn;
} torn_cases[] = {
	{"coordinates, cut after them", L("{\"_kafka\":{\"p\":0,\"o\":1},\"cust"), 1},
	{"coordinates, cut inside them, after coordinate lines",
	 L("{\"_kafka\":{\"p\":0,\"o\":1},\"x\":1}\n{\"_ka"), 1},
	{"one brace, after coordinate lines", L("{\"_kafka\":{\"p\":0,\"o\":1},\"x\":1}\n{"), 1},
	{"exactly the coordinates' key, after coordinate lines",
	 L("{\"_kafka\":{\"p\":0,\"o\":1},\"x\":1}\n{\"_kafka\":"), 1},
	{"a short fragment, no coordinate lines before", L("{\"a\":1}\n{\"_ka"), 0},
	{"a short fragment alone", L("{"), 0},
	{"not a prefix of the coordinates, after coordinate lines",
	 L("{\"_kafka\":{\"p\":0,\"o\":1},\"x\":1}\n{\"cu"), 0},
	{"a state line cut, after coordinate lines",
	 L("{\"_kafka\":{\"p\":0,\"o\":1},\"x\":1}\n{\"_hb_state\":{\"customer_id\":\"c"), 1},
	{"an alert line cut inside its key, after coordinate lines",
	 L("{\"_kafka\":{\"p\":0,\"o\":1},\"x\":1}\n{\"_hb_al"), 1},
	{"a state line cut, no coordinate lines before", L("{\"a\":1}\n{\"_hb_state\":{\"cu"), 0},
	{"a plain last line without newline", L("{\"customer_id\":\"c\"}"), 0},
	{"a complete last line", L("{\"_kafka\":{\"p\":0,\"o\":1}}\n"), 0},
};

static void test_torn(void)
{
	for (size_t i = 0; i < NELEM(torn_cases); i++) {
		pid_t child;
		int fd = source(torn_cases[i].data, torn_cases[i].n, FROM_FILE, 0, &child);
		struct hb_reader *r;
		struct hb_line line, last = {0};

		tap_begin("torn last line: %s -> %s", torn_cases[i].name,
			  torn_cases[i].torn ? "torn" : "input");
		if (!check(fd >= 0)) {
			tap_end();
			continue;
		}
		r = hb_reader_new(fd, 0);
		check(r != NULL);
		while (r && hb_reader_next(r, -1, &line) == HB_RD_LINE)
			last = line;
		check_int(hb_line_torn(&last), ==, torn_cases[i].torn);
		hb_reader_free(r);
		close(fd);
		tap_end();
	}
}

static void test_pipe_grow(void)
{
	int p[2], got;
	char path[] = "/tmp/hbmon-test-io-XXXXXX";
	int fd = mkstemp(path);

	tap_begin("hb_pipe_grow makes a pipe's buffer bigger, up to what is asked");
	check_int(pipe(p), ==, 0);
	got = hb_pipe_grow(p[0], 1 << 20);
	check_int(got, >=, 65536);
	check_int(got, <=, 1 << 20);
	check_int(hb_pipe_grow(p[0], 1 << 20), ==, got);	/* again: as it is */
	check_int(hb_pipe_grow(p[0], 4096), >=, 4096);	/* never made smaller */
	close(p[0]);
	close(p[1]);
	tap_end();

	tap_begin("hb_pipe_grow leaves a file that is not a pipe alone: 0");
	check_int(fd, >=, 0);
	check_int(hb_pipe_grow(fd, 1 << 20), ==, 0);
	check_int(hb_pipe_grow(-1, 1 << 20), ==, -1);
	close(fd);
	unlink(path);
	tap_end();
}

/* hb_reader_resume: a file read from the middle numbers its lines and ends on from there. */
static void test_resume_at(void)
{
	static const char data[] = "first\nsecond\nthird\nlast";
	pid_t child;
	int fd = source(data, sizeof data - 1, FROM_FILE, 0, &child);
	struct hb_reader *r = fd >= 0 ? hb_reader_new(fd, 16) : NULL;
	struct hb_line line;

	tap_begin("hb_reader_resume: line numbers and ends go on from the given point");
	if (!check(r != NULL)) {
		tap_end();
		return;
	}
	lseek(fd, 6, SEEK_SET);
	hb_reader_resume(r, 6, 1);
	check_int(hb_reader_next(r, -1, &line), ==, HB_RD_LINE);
	check_mem(line.p, line.len, "second", 6);
	check_int(line.no, ==, 2);
	check_int(line.end, ==, 13);
	check_int(hb_reader_next(r, -1, &line), ==, HB_RD_LINE);
	check_int(line.no, ==, 3);
	check_int(line.end, ==, 19);
	check_int(hb_reader_next(r, -1, &line), ==, HB_RD_LINE);
	check_mem(line.p, line.len, "last", 4);
	check_int(line.end, ==, sizeof data - 1);
	check_int(line.unterminated, ==, 1);
	check_int(hb_reader_next(r, -1, &line), ==, HB_RD_EOF);
	tap_end();
	hb_reader_free(r);
	close(fd);
}

int main(void)
{
	test_pipe_grow();
	test_resume_at();
	test_cases();
	test_torn();
	test_watch();
	test_big(FROM_FILE);
	test_big(FROM_PIPE);
	test_chunk_edges();
	test_huge_lines(FROM_FILE);
	test_huge_lines(FROM_PIPE);
	test_timeout();
	test_writer();
	test_drain();
	return tap_done();
}
