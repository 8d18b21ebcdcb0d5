/* hb_spool — the input kept on disk until Kafka has it (see hb_spool.h). */
#include "hb_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hb_file.h"
#include "hb_prefix.h"
#include "hb_resume.h"

#define MAGIC "hbkafka-pub-spool 1"

struct seg {
	uint64_t start, size;
};

struct hb_spool {
	char *dir, *topic;
	struct hb_spool_opts o;
	int lock_fd;
	struct seg *segs;           /* kept, in order; the last one is written */
	size_t nsegs, capsegs;
	int wfd;                    /* the last segment, for appending */
	uint64_t end;               /* global offset after the last byte */
	uint64_t whole_end;         /* after the last newline: lines before it are whole */
	int dirty;                  /* written since the last fsync */
	int no_room;                /* the last append found the disk full */
	int64_t synced_at;
	int input_done;
	/* hb_spool_pump: what was read and is not spooled yet */
	char *in;                   /* in[in_off..in_have) waits */
	size_t in_off, in_have;
	int in_eof;
	int freed;                  /* a segment was removed since the last try */
	int64_t tried_at;           /* the last append tried while there was no room */
	/* reading back */
	int rfd;
	size_t rseg;                /* the segment rfd is open on */
	uint64_t pos;               /* the next line's global offset */
	uint64_t lineno;            /* the last line's number */
	char *buf;                  /* file bytes [buf_pos, buf_pos + have) */
	size_t cap, have;
	uint64_t buf_pos;
	/* the mark */
	struct hb_prefix *prefix;
	uint64_t saved_off, saved_line;
	int64_t saved_at;
};

/* The disk (or the user's quota) is full: the append waits for room. */
static int no_room(int e)
{
	return e == ENOSPC || e == EDQUOT;
}

/* The last c in p[0..n), or NULL (memrchr is a GNU extension). */
static const char *last_of(const char *p, int c, size_t n)
{
	while (n > 0)
		if (p[--n] == c)
			return p + n;
	return NULL;
}

static char *path_of(const struct hb_spool *s, const char *name)
{
	size_t n = strlen(s->dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", s->dir, name);
	return p;
}

static char *seg_path(const struct hb_spool *s, uint64_t start)
{
	char name[40];

	snprintf(name, sizeof name, "%020" PRIu64 ".seg", start);
	return path_of(s, name);
}

void hb_spool_free(struct hb_spool *s)
{
	if (!s)
		return;
	if (s->wfd >= 0)
		close(s->wfd);
	if (s->rfd >= 0)
		close(s->rfd);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	hb_prefix_free(s->prefix);
	free(s->segs);
	free(s->buf);
	free(s->in);
	free(s->dir);
	free(s->topic);
	free(s);
}

static struct hb_spool *fail(struct hb_spool *s, enum hb_spool_rc why, enum hb_spool_rc *rc)
{
	hb_spool_free(s);
	*rc = why;
	return NULL;
}

static enum hb_spool_rc take_lock(struct hb_spool *s, char *err, size_t errsz)
{
	char *lock = path_of(s, "lock");
	int k;

	if (!lock)
		return HB_SPOOL_NOMEM;
	if ((k = hb_file_lock(lock, &s->lock_fd, err, errsz)) > 0)
		snprintf(err, errsz, "spool %s is in use by another publisher (%s is locked)", s->dir, lock);
	free(lock);
	return k > 0 ? HB_SPOOL_BUSY : k < 0 ? HB_SPOOL_IOERR : HB_SPOOL_OK;
}

/* DIR/state: 1 read into *off, *line; 0 none; -1 error (err set). */
static int read_state(struct hb_spool *s, uint64_t *off, uint64_t *line, enum hb_spool_rc *rc,
		      char *err, size_t errsz)
{
	char *path = path_of(s, "state"), text[1024], topic[256];
	FILE *f;
	size_t n;

	*rc = HB_SPOOL_NOMEM;
	if (!path)
		return -1;
	f = fopen(path, "re");
	if (!f && errno == ENOENT) {
		free(path);
		return 0;
	}
	*rc = HB_SPOOL_IOERR;
	if (!f) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	if (sscanf(text, MAGIC "\ntopic %255s\noffset %" SCNu64 "\nline %" SCNu64, topic, off, line) != 3) {
		snprintf(err, errsz, "%s: not a state that hbkafka-pub --spool wrote", path);
		free(path);
		*rc = HB_SPOOL_WRONG;
		return -1;
	}
	if (strcmp(topic, s->topic) != 0) {
		snprintf(err, errsz, "spool %s holds lines for topic %s, not %s (another topic needs a "
			 "spool of its own)", s->dir, topic, s->topic);
		free(path);
		*rc = HB_SPOOL_WRONG;
		return -1;
	}
	free(path);
	return 1;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The segments in DIR, in order, checked to follow each other. */
static enum hb_spool_rc list_segments(struct hb_spool *s, char *err, size_t errsz)
{
	DIR *d = opendir(s->dir);
	struct dirent *e;

	if (!d) {
		snprintf(err, errsz, "%s: %s", s->dir, strerror(errno));
		return HB_SPOOL_IOERR;
	}
	while ((e = readdir(d)) != NULL) {
		uint64_t start;
		char tail[8];
		struct stat st;
		char *p;

		if (strlen(e->d_name) != 24 || sscanf(e->d_name, "%20" SCNu64 "%7s", &start, tail) != 2 ||
		    strcmp(tail, ".seg") != 0)
			continue;
		p = path_of(s, e->d_name);
		if (!p || stat(p, &st) < 0) {
			free(p);
			closedir(d);
			snprintf(err, errsz, "%s/%s: %s", s->dir, e->d_name, strerror(errno));
			return HB_SPOOL_IOERR;
		}
		free(p);
		if (s->nsegs == s->capsegs) {
			size_t cap = s->capsegs ? s->capsegs * 2 : 16;
			struct seg *g = realloc(s->segs, cap * sizeof *g);

			if (!g) {
				closedir(d);
				return HB_SPOOL_NOMEM;
			}
			s->segs = g;
			s->capsegs = cap;
		}
		s->segs[s->nsegs].start = start;
		s->segs[s->nsegs++].size = (uint64_t)st.st_size;
	}
	closedir(d);
	if (s->nsegs > 1)
		qsort(s->segs, s->nsegs, sizeof *s->segs, cmp_seg);
	for (size_t i = 1; i < s->nsegs; i++) {
		if (s->segs[i - 1].start + s->segs[i - 1].size != s->segs[i].start) {
			snprintf(err, errsz, "spool %s: segment %020" PRIu64 ".seg does not follow the one "
				 "before it (bytes missing or doubled)", s->dir, s->segs[i].start);
			return HB_SPOOL_WRONG;
		}
	}
	return HB_SPOOL_OK;
}

/* Remove the segments that end at or before off, but never the last one. */
static int release(struct hb_spool *s, uint64_t off, char *err, size_t errsz)
{
	size_t k = 0;

	while (k + 1 < s->nsegs && s->segs[k].start + s->segs[k].size <= off) {
		char *p = seg_path(s, s->segs[k].start);

		if (!p || (unlink(p) < 0 && errno != ENOENT)) {
			snprintf(err, errsz, "%s: %s", p ? p : s->dir, p ? strerror(errno) : "out of memory");
			free(p);
			return -1;
		}
		free(p);
		if (s->rseg == k && s->rfd >= 0) {
			close(s->rfd);
			s->rfd = -1;
		}
		k++;
	}
	s->freed |= k > 0;
	if (k) {
		memmove(s->segs, s->segs + k, (s->nsegs - k) * sizeof *s->segs);
		s->nsegs -= k;
		s->rseg = s->rseg >= k ? s->rseg - k : 0;
	}
	return 0;
}

/* The last segment without a line cut at its end (a kill mid-read): how much went. */
static int cut_partial(struct hb_spool *s, uint64_t *dropped, char *err, size_t errsz)
{
	struct seg *g = &s->segs[s->nsegs - 1];
	char buf[65536];
	uint64_t at = g->size;

	*dropped = 0;
	while (at > 0) {
		size_t n = at < sizeof buf ? (size_t)at : sizeof buf;
		ssize_t k = pread(s->wfd, buf, n, (off_t)(at - n));
		const char *nl;

		if (k != (ssize_t)n) {
			snprintf(err, errsz, "spool segment %020" PRIu64 ".seg: %s", g->start,
				 k < 0 ? strerror(errno) : "short read");
			return -1;
		}
		nl = last_of(buf, '\n', n);
		if (nl) {
			at = at - n + (uint64_t)(nl - buf) + 1;
			break;
		}
		at -= n;
	}
	if (at == g->size)
		return 0;
	if (ftruncate(s->wfd, (off_t)at) < 0 || fsync(s->wfd) < 0) {
		snprintf(err, errsz, "spool segment %020" PRIu64 ".seg: %s", g->start, strerror(errno));
		return -1;
	}
	*dropped = g->size - at;
	g->size = at;
	return 0;
}

/* Start a new segment at the spool's end; it becomes the one written.
 * 0, 1 when there is no room for the file, -1 with err. */
static int new_segment(struct hb_spool *s, char *err, size_t errsz)
{
	char *p = seg_path(s, s->end);
	int fd;

	if (!p) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	if (s->nsegs == s->capsegs) {
		size_t cap = s->capsegs ? s->capsegs * 2 : 16;
		struct seg *g = realloc(s->segs, cap * sizeof *g);

		if (!g) {
			free(p);
			snprintf(err, errsz, "out of memory");
			return -1;
		}
		s->segs = g;
		s->capsegs = cap;
	}
	fd = open(p, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0 && no_room(errno)) {
		free(p);
		return 1;
	}
	if (fd < 0 || hb_file_sync_dir(p) < 0) {
		snprintf(err, errsz, "%s: %s", p, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(p);
		return -1;
	}
	free(p);
	if (s->wfd >= 0) {
		if (s->dirty && fsync(s->wfd) < 0) {	/* the one before is sealed: whole on disk */
			snprintf(err, errsz, "spool: fsync: %s", strerror(errno));
			close(fd);
			return -1;
		}
		close(s->wfd);
	}
	s->wfd = fd;
	s->dirty = 0;
	s->segs[s->nsegs].start = s->end;
	s->segs[s->nsegs++].size = 0;
	return 0;
}

/* Remove every segment (the one written included). */
static int drop_all(struct hb_spool *s, char *err, size_t errsz)
{
	if (s->wfd >= 0)
		close(s->wfd);
	s->wfd = -1;
	for (size_t i = 0; i < s->nsegs; i++) {
		char *p = seg_path(s, s->segs[i].start);

		if (!p || (unlink(p) < 0 && errno != ENOENT)) {
			snprintf(err, errsz, "%s: %s", p ? p : s->dir, p ? strerror(errno) : "out of memory");
			free(p);
			return -1;
		}
		free(p);
	}
	s->nsegs = 0;
	return 0;
}

/* Whether the byte before global offset off (within the segments) is a newline. */
static int newline_before(const struct hb_spool *s, uint64_t off)
{
	size_t i = 0;
	char c = 0, *p;
	int fd;

	while (i + 1 < s->nsegs && s->segs[i].start + s->segs[i].size < off)
		i++;
	p = seg_path(s, s->segs[i].start);
	fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
	free(p);
	if (fd < 0)
		return 0;
	if (pread(fd, &c, 1, (off_t)(off - 1 - s->segs[i].start)) != 1)
		c = 0;
	close(fd);
	return c == '\n';
}

/*
 * DIR/state: the mark, fixed-width (offset and line in 20 digits), so that
 * every state of a spool has the same length.  It is replaced whole (a new
 * file renamed over it).  When the disk is full that cannot be done (the
 * new file needs a block that delivered segments only free once the mark
 * is saved), so the text is written over the old one in place: it is the
 * same length and under 512 bytes, which storage writes whole, the rule
 * PostgreSQL keeps pg_control under for the same reason.
 */
static int write_state(struct hb_spool *s, uint64_t off, uint64_t line, char *err, size_t errsz)
{
	char text[512], *path = path_of(s, "state"), *tmp = path_of(s, "state.tmp");
	int n = snprintf(text, sizeof text, MAGIC "\ntopic %s\noffset %020" PRIu64 "\nline %020" PRIu64 "\n",
			 s->topic, off, line);
	int rc = -1, fd;

	if (!path || !tmp)
		snprintf(err, errsz, "out of memory");
	else if (n < 0 || (size_t)n >= sizeof text)
		snprintf(err, errsz, "spool state: the topic name is too long");
	else if ((rc = hb_file_replace(path, tmp, text, (size_t)n, err, errsz)) < 0 && no_room(errno)) {
		unlink(tmp);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		rc = fd >= 0 && pwrite(fd, text, (size_t)n, 0) == n && fdatasync(fd) == 0 ? 0 : -1;
		if (rc < 0)
			snprintf(err, errsz, "%s: %s (written in place: the disk is full)", path,
				 strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	free(path);
	free(tmp);
	return rc;
}

struct hb_spool *hb_spool_open(const char *dir, const char *topic, const struct hb_spool_opts *o,
			       struct hb_spool_info *info, enum hb_spool_rc *rc, char *err, size_t errsz)
{
	struct hb_spool *s = calloc(1, sizeof *s);
	uint64_t mark = 0, line = 0;
	int k;

	memset(info, 0, sizeof *info);
	if (!s)
		return fail(NULL, HB_SPOOL_NOMEM, rc);
	s->wfd = s->rfd = s->lock_fd = -1;
	s->o = *o;
	/* the segment written is kept until all of it is delivered: small
	 * enough that the disk holds not much more than max_bytes */
	if (!s->o.segment_bytes)
		s->o.segment_bytes = HB_SPOOL_SEGMENT_DEFAULT;
	if (s->o.segment_bytes > s->o.max_bytes / 8)
		s->o.segment_bytes = s->o.max_bytes / 8 > 4096 ? s->o.max_bytes / 8 : 4096;
	s->dir = strdup(dir);
	s->topic = strdup(topic);
	s->cap = s->o.max_line + 1 + (256 << 10);
	s->buf = malloc(s->cap);
	if (!s->dir || !s->topic || !s->buf)
		return fail(s, HB_SPOOL_NOMEM, rc);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errsz, "spool %s: %s", dir, strerror(errno));
		return fail(s, HB_SPOOL_IOERR, rc);
	}
	if ((*rc = take_lock(s, err, errsz)) != HB_SPOOL_OK)
		return fail(s, *rc, rc);
	if ((k = read_state(s, &mark, &line, rc, err, errsz)) < 0)
		return fail(s, *rc, rc);
	if ((*rc = list_segments(s, err, errsz)) != HB_SPOOL_OK)
		return fail(s, *rc, rc);
	if (s->nsegs && mark < s->segs[0].start) {
		snprintf(err, errsz, "spool %s: its state's offset %" PRIu64 " is before its first "
			 "segment (%" PRIu64 ")", dir, mark, s->segs[0].start);
		return fail(s, HB_SPOOL_WRONG, rc);
	}
	s->end = mark;
	if (s->nsegs) {
		char *p = seg_path(s, s->segs[s->nsegs - 1].start);

		s->wfd = p ? open(p, O_RDWR | O_APPEND | O_CLOEXEC) : -1;
		if (s->wfd < 0) {
			snprintf(err, errsz, "%s: %s", p ? p : dir, p ? strerror(errno) : "out of memory");
			free(p);
			return fail(s, HB_SPOOL_IOERR, rc);
		}
		free(p);
		if (cut_partial(s, &info->dropped, err, errsz) < 0)
			return fail(s, HB_SPOOL_IOERR, rc);
		s->end = s->segs[s->nsegs - 1].start + s->segs[s->nsegs - 1].size;
	}
	/* A crash of the machine can lose the data of the last --spool-sync ms
	 * (or leave it zero-filled, cut above) while the mark, saved more often,
	 * survives: what the mark covers was delivered, so the segments go and
	 * the spool starts again at the mark. */
	if (s->nsegs && s->end < mark) {
		info->behind = 1;
		if (drop_all(s, err, errsz) < 0)
			return fail(s, HB_SPOOL_IOERR, rc);
		s->end = mark;
	}
	if (s->nsegs && mark > s->segs[0].start && !newline_before(s, mark)) {
		snprintf(err, errsz, "spool %s: its state's offset %" PRIu64 " is not after a newline "
			 "in its data (damaged)", dir, mark);
		return fail(s, HB_SPOOL_WRONG, rc);
	}
	if (release(s, mark, err, errsz) < 0)	/* a crash between a save and its removals */
		return fail(s, HB_SPOOL_IOERR, rc);
	s->whole_end = s->end;
	s->pos = mark;
	s->lineno = line;
	s->saved_off = mark;
	s->saved_line = line;
	s->prefix = hb_prefix_new(mark, line);
	if (!s->prefix)
		return fail(s, HB_SPOOL_NOMEM, rc);
	info->mark = mark;
	info->mark_line = line;
	info->end = s->end;
	if (!k && write_state(s, mark, line, err, errsz) < 0)	/* one there is there for good */
		return fail(s, HB_SPOOL_IOERR, rc);
	*rc = HB_SPOOL_OK;
	return s;
}

/* 0 written, 1 no room (what went is counted), -1 with err. */
static int write_all(struct hb_spool *s, const char *p, size_t n, char *err, size_t errsz)
{
	while (n > 0) {
		ssize_t k = write(s->wfd, p, n);
		const char *nl;

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && no_room(errno))
			return 1;
		if (k < 0) {
			snprintf(err, errsz, "spool segment %020" PRIu64 ".seg: %s",
				 s->segs[s->nsegs - 1].start, strerror(errno));
			return -1;
		}
		if ((nl = last_of(p, '\n', (size_t)k)) != NULL)
			s->whole_end = s->end + (uint64_t)(nl - p) + 1;
		p += k;
		n -= (size_t)k;
		s->end += (uint64_t)k;
		s->segs[s->nsegs - 1].size += (uint64_t)k;
		s->dirty = 1;
	}
	return 0;
}

/*
 * No room for the rest of an append that began at from: the segment is cut
 * back to the end of the last whole line written (never before from, whose
 * bytes the caller no longer holds), so that the spool ends after a newline
 * and, once that is delivered, can start a new segment and let this one go.
 */
static int cut_back(struct hb_spool *s, uint64_t from, char *err, size_t errsz)
{
	struct seg *g = &s->segs[s->nsegs ? s->nsegs - 1 : 0];
	uint64_t to = s->whole_end > from ? s->whole_end : from;

	s->no_room = 1;
	if (!s->nsegs)
		return 1;
	if (to < g->start)	/* the head went to the segment before: keep all of this one */
		to = g->start;
	if (to >= s->end)
		return 1;
	if (ftruncate(s->wfd, (off_t)(to - g->start)) < 0) {
		snprintf(err, errsz, "spool segment %020" PRIu64 ".seg: %s", g->start, strerror(errno));
		return -1;
	}
	g->size = to - g->start;
	s->end = to;
	return 1;
}

int hb_spool_append(struct hb_spool *s, const char *p, size_t n, int64_t now_us, size_t *taken,
		    char *err, size_t errsz)
{
	uint64_t from = s->end;
	const char *nl;
	int k;

	*taken = 0;
	if (!s->nsegs && (k = new_segment(s, err, errsz)) != 0)
		return k < 0 ? -1 : 1;
	/* a full segment is left after a newline: no line spans two */
	if (n && s->segs[s->nsegs - 1].size >= s->o.segment_bytes) {
		if (s->whole_end < s->end && (nl = memchr(p, '\n', n)) != NULL) {
			size_t head = (size_t)(nl - p) + 1;	/* the line begun there ends there */

			if ((k = write_all(s, p, head, err, errsz)) != 0)
				goto out;
			p += head;
			n -= head;
		}
		if (n && s->whole_end == s->end && (k = new_segment(s, err, errsz)) != 0)
			goto out;
	}
	if ((k = write_all(s, p, n, err, errsz)) != 0)
		goto out;
	s->no_room = 0;
	*taken = (size_t)(s->end - from);
	return hb_spool_sync(s, now_us, s->o.sync_us == 0, err, errsz);
out:
	if (k > 0)
		k = cut_back(s, from, err, errsz);
	*taken = (size_t)(s->end - from);
	return k;
}

int hb_spool_close_input(struct hb_spool *s, char *err, size_t errsz)
{
	if (s->nsegs && s->end > s->whole_end) {
		int k = write_all(s, "\n", 1, err, errsz);

		if (k != 0) {
			s->no_room = k > 0;
			return k;
		}
	}
	s->input_done = 1;
	return hb_spool_sync(s, 0, 1, err, errsz);
}

int hb_spool_sync(struct hb_spool *s, int64_t now_us, int force, char *err, size_t errsz)
{
	if (s->wfd < 0 || !s->dirty || (!force && now_us - s->synced_at < s->o.sync_us))
		return 0;
	if (fsync(s->wfd) < 0) {
		snprintf(err, errsz, "spool: fsync: %s", strerror(errno));
		return -1;
	}
	s->dirty = 0;
	s->synced_at = now_us;
	return 0;
}

uint64_t hb_spool_bytes(const struct hb_spool *s)
{
	return s->nsegs ? s->end - s->segs[0].start : 0;
}

int hb_spool_full(const struct hb_spool *s)
{
	uint64_t off, line;

	hb_prefix_mark(s->prefix, &off, &line);
	/* only while whole lines wait: a line longer than the limit must still be
	 * read to its end */
	return s->whole_end > off && s->end - off >= s->o.max_bytes;
}

uint64_t hb_spool_end(const struct hb_spool *s)
{
	return s->end;
}

uint64_t hb_spool_whole_end(const struct hb_spool *s)
{
	return s->whole_end;
}

uint64_t hb_spool_backlog(const struct hb_spool *s)
{
	return s->whole_end > s->pos ? s->whole_end - s->pos : 0;
}

struct hb_prefix *hb_spool_prefix(struct hb_spool *s)
{
	return s->prefix;
}

/* Open the segment holding s->pos for reading (the first one starting after
 * it at a segment's end).  0, or -1 with errno. */
static int open_reading(struct hb_spool *s)
{
	size_t i = 0;
	char *p;

	while (i + 1 < s->nsegs && s->segs[i].start + s->segs[i].size <= s->pos)
		i++;
	if (s->rfd >= 0 && s->rseg == i)
		return 0;
	if (s->rfd >= 0)
		close(s->rfd);
	p = seg_path(s, s->segs[i].start);
	s->rfd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
	free(p);
	s->rseg = i;
	s->have = 0;
	return s->rfd < 0 ? -1 : 0;
}

/* Read the file from global offset at into buf (as much as fits before limit). */
static int fill_at(struct hb_spool *s, uint64_t at, uint64_t limit)
{
	const struct seg *g = &s->segs[s->rseg];
	size_t want = limit - at < s->cap ? (size_t)(limit - at) : s->cap;
	ssize_t k;

	do
		k = pread(s->rfd, s->buf, want, (off_t)(at - g->start));
	while (k < 0 && errno == EINTR);
	if (k <= 0) {
		if (k == 0)
			errno = EIO;	/* shorter than we wrote: someone else touched it */
		return -1;
	}
	s->buf_pos = at;
	s->have = (size_t)k;
	return 0;
}

enum hb_rd hb_spool_next(struct hb_spool *s, struct hb_line *line)
{
	uint64_t limit, nl_at;
	const char *nl;
	size_t off;

	if (s->pos >= s->whole_end)
		return s->input_done ? HB_RD_EOF : HB_RD_TIMEOUT;
	if (open_reading(s) < 0)
		return HB_RD_ERROR;
	limit = s->segs[s->rseg].start + s->segs[s->rseg].size;
	if (limit > s->whole_end)
		limit = s->whole_end;
	if (s->pos < s->buf_pos || s->pos >= s->buf_pos + s->have ||
	    !memchr(s->buf + (s->pos - s->buf_pos), '\n', s->have - (size_t)(s->pos - s->buf_pos))) {
		if (fill_at(s, s->pos, limit) < 0)
			return HB_RD_ERROR;
	}
	off = (size_t)(s->pos - s->buf_pos);
	nl = memchr(s->buf + off, '\n', s->have - off);
	if (nl) {
		nl_at = s->buf_pos + (uint64_t)(nl - s->buf);
	} else {
		/* longer than the buffer: find its end further on */
		uint64_t at = s->buf_pos + s->have;
		char tmp[65536];

		for (nl_at = 0; !nl_at && at < limit;) {
			size_t n = limit - at < sizeof tmp ? (size_t)(limit - at) : sizeof tmp;
			ssize_t k = pread(s->rfd, tmp, n, (off_t)(at - s->segs[s->rseg].start));
			const char *q;

			if (k <= 0)
				return HB_RD_ERROR;
			q = memchr(tmp, '\n', (size_t)k);
			if (q)
				nl_at = at + (uint64_t)(q - tmp);
			at += (uint64_t)k;
		}
		if (!nl_at) {
			errno = EIO;	/* the segment does not end after a newline */
			return HB_RD_ERROR;
		}
	}
	memset(line, 0, sizeof *line);
	line->p = s->buf + off;
	line->true_len = nl_at - s->pos;
	line->len = line->true_len > s->o.max_line ? s->o.max_line : (size_t)line->true_len;
	line->no = ++s->lineno;
	line->end = nl_at + 1;
	s->pos = nl_at + 1;
	return HB_RD_LINE;
}

/* Everything is delivered (at the end of a run): the last segment goes too,
 * and the next append starts one at the end. */
static int drop_last(struct hb_spool *s, char *err, size_t errsz)
{
	char *p;

	if (s->nsegs != 1 || s->segs[0].size == 0)
		return 1;
	p = seg_path(s, s->segs[0].start);
	if (!p || unlink(p) < 0 || hb_file_sync_dir(p) < 0) {
		snprintf(err, errsz, "%s: %s", p ? p : s->dir, p ? strerror(errno) : "out of memory");
		free(p);
		return -1;
	}
	free(p);
	close(s->wfd);
	s->wfd = -1;
	if (s->rfd >= 0)
		close(s->rfd);
	s->rfd = -1;
	s->nsegs = 0;
	s->dirty = 0;
	return 1;
}

int hb_spool_save(struct hb_spool *s, int64_t now_us, int force, char *err, size_t errsz)
{
	uint64_t off, line;
	int saved = 0;

	hb_prefix_mark(s->prefix, &off, &line);
	if (off != s->saved_off) {
		if (!force && now_us - s->saved_at < HB_RESUME_SAVE_US &&
		    line - s->saved_line < HB_RESUME_SAVE_LINES)
			return 0;
		if (write_state(s, off, line, err, errsz) < 0)
			return -1;
		s->saved_off = off;
		s->saved_line = line;
		s->saved_at = now_us;
		saved = 1;
	}
	/* no room, and all of it delivered: the segment written can go once a new one is begun */
	if (s->no_room && s->saved_off == s->end && s->nsegs && s->segs[s->nsegs - 1].size > 0 &&
	    new_segment(s, err, errsz) < 0)
		return -1;
	if ((saved || s->no_room) && release(s, s->saved_off, err, errsz) < 0)
		return -1;
	if (force && off == s->end && s->nsegs && drop_last(s, err, errsz) < 0)
		return -1;
	return saved;
}

/*
 * in[] holds a whole line of max_line bytes and its newline after a chunk
 * read; lines longer than that (refused anyway) go to the spool in parts.
 */
static size_t in_cap(const struct hb_spool *s)
{
	return s->o.max_line + 1 + HB_SPOOL_READ_BYTES;
}

/* Retry a spool that found no room once something was removed, or after a
 * second (space freed by others, a quota raised): not every poll. */
static int may_retry(struct hb_spool *s, int64_t now_us)
{
	if (!s->no_room || s->freed || now_us - s->tried_at >= 1000000) {
		s->freed = 0;
		s->tried_at = now_us;
		return 1;
	}
	return 0;
}

/*
 * What in[] holds offered to the spool: whole lines only, the last one at
 * the input's end with its newline added in the same append, so that a
 * full disk never leaves a line half spooled (cut_back keeps whole lines;
 * a line begun in an earlier append could not be cut, and a spool ending
 * in it could never let its segment go).
 */
static enum hb_spool_in spool_held(struct hb_spool *s, int64_t now_us, char *err, size_t errsz)
{
	const char *nl;
	size_t lim, taken;
	int k;

	if (s->in_eof && s->in_have > s->in_off && s->in[s->in_have - 1] != '\n')
		s->in[s->in_have++] = '\n';	/* in_cap() keeps a byte for it */
	nl = last_of(s->in + s->in_off, '\n', s->in_have - s->in_off);
	lim = nl ? (size_t)(nl - s->in) + 1 : s->in_off;
	if (!nl && s->in_off == 0 && s->in_have >= in_cap(s) - 1)
		lim = s->in_have;	/* a line longer than --max-line, in parts */
	if (lim > s->in_off) {
		if (!may_retry(s, now_us))
			return HB_SPOOL_IN_NOROOM;
		k = hb_spool_append(s, s->in + s->in_off, lim - s->in_off, now_us, &taken, err, errsz);
		s->in_off += taken;
		if (k)
			return k < 0 ? HB_SPOOL_IN_ERROR : HB_SPOOL_IN_NOROOM;
	}
	if (s->in_eof && !s->input_done && (k = hb_spool_close_input(s, err, errsz)) != 0)
		return k < 0 ? HB_SPOOL_IN_ERROR : HB_SPOOL_IN_NOROOM;
	return s->in_eof ? HB_SPOOL_IN_EOF : HB_SPOOL_IN_READ;
}

enum hb_spool_in hb_spool_pump(struct hb_spool *s, int fd, int64_t now_us, char *err, size_t errsz)
{
	enum hb_spool_in k;
	ssize_t n;

	if (!s->in && !(s->in = malloc(in_cap(s)))) {
		snprintf(err, errsz, "out of memory");
		return HB_SPOOL_IN_ERROR;
	}
	if ((s->in_off < s->in_have || s->in_eof) &&
	    (k = spool_held(s, now_us, err, errsz)) != HB_SPOOL_IN_READ)
		return k;	/* still no room, the end, or an error */
	if (fd < 0)
		return HB_SPOOL_IN_NONE;
	memmove(s->in, s->in + s->in_off, s->in_have - s->in_off);	/* a line begun */
	s->in_have -= s->in_off;
	s->in_off = 0;
	n = read(fd, s->in + s->in_have, in_cap(s) - 1 - s->in_have);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return HB_SPOOL_IN_NONE;
	if (n < 0) {
		snprintf(err, errsz, "read error: %s", strerror(errno));
		return HB_SPOOL_IN_ERROR;
	}
	s->in_have += (size_t)n;
	s->in_eof = n == 0;
	return spool_held(s, now_us, err, errsz);
}

int hb_spool_stop_input(struct hb_spool *s, size_t *lost, char *err, size_t errsz)
{
	size_t taken = 0;
	int k = 0;

	if (s->in_have > s->in_off) {
		s->no_room = 0;	/* one more try, whatever the time */
		k = hb_spool_append(s, s->in + s->in_off, s->in_have - s->in_off, 0, &taken, err, errsz);
		s->in_off += taken;
	}
	*lost = s->in_have - s->in_off;
	return k;
}
