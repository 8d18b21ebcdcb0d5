/* hb_resume — how far into a file a publisher has got, kept across crashes.
 *
 * hbkafka-pub --resume STATEFILE FILE records the mark: the byte offset (and
 * line number) in FILE before which every line is settled — acknowledged by
 * the broker, or refused for good and reported (a line too long, a bad
 * envelope).  A line that failed in a way a later run may get through (the
 * broker away past message.timeout.ms) holds the mark before it for good in
 * this run.  Run again after any crash, the publisher goes on from the mark;
 * what was in flight past it is sent again (the database stores a reading
 * once).  A file published to its end leaves the mark at its end, so the
 * next run sends nothing (or only what was appended since).
 *
 * The state file is a few lines of text, replaced atomically (written
 * aside, fsync'd, renamed, the directory fsync'd), so a crash at any point
 * leaves either the old mark or the new one:
 *
 *   hbkafka-pub-resume 1
 *   topic heartbeat-events
 *   offset 123456
 *   line 1000
 *   head 4096 3f0a9c1e5b7d2a64
 *   tail 4096 9e3b1c0d7a5f8e21
 *   file /data/day.ndjson
 *
 * head and tail are FNV-1a 64 hashes of the first and of the last (up to)
 * 4 KiB before the offset.  Resuming checks the file against them and the
 * topic against the recorded one: a file that is not the one recorded (or
 * whose first or last 4 KiB before the mark were rewritten) is refused
 * rather than published from the middle.  A change between them goes
 * unnoticed: this is a guard against the wrong file, not a checksum.  The file's name and inode do not matter: a
 * file moved or copied elsewhere resumes.  "file" is only for people.
 *
 * Lines are numbered as hb_reader numbers them, one after another; the
 * caller says when each is read and when each is settled, in any order,
 * to hb_resume_prefix() (hb_prefix.h).
 */
#ifndef HB_RESUME_H
#define HB_RESUME_H

#include <stddef.h>
#include <stdint.h>

#define HB_RESUME_CHECK_BYTES 4096
#define HB_RESUME_SAVE_US 100000        /* the mark is saved this often, */
#define HB_RESUME_SAVE_LINES 10000      /* or when it moved this many lines */

enum hb_resume_rc {
	HB_RESUME_OK = 0,
	HB_RESUME_IOERR = -1,   /* cannot read or write the state, or read the file */
	HB_RESUME_WRONG = -2,   /* the state is for another file or topic, or is not a state */
	HB_RESUME_NOMEM = -3,
	HB_RESUME_BUSY = -4,    /* another publisher holds the state (try again later) */
};

struct hb_resume;

/*
 * Track the publishing of the regular file open on fd, named name, to topic,
 * with its state in path.  If path exists it is read and checked against
 * fd's file and topic: on success *offset and *lineno say where to go on
 * (0 and 0 when there is no state yet).  On failure, NULL and a one-line
 * reason in err with *rc saying which kind.  fd is read with pread only:
 * its position is the caller's.  name and topic are copied.
 */
struct hb_resume *hb_resume_open(const char *path, int fd, const char *name, const char *topic,
				 uint64_t *offset, uint64_t *lineno, enum hb_resume_rc *rc,
				 char *err, size_t errsz);
void hb_resume_free(struct hb_resume *t);

/* The lines read and settled: the caller tells it of each (hb_prefix.h). */
struct hb_prefix *hb_resume_prefix(struct hb_resume *t);

/*
 * Write the mark to the state file if it moved since the last write, and
 * force is set, or HB_RESUME_SAVE_US have passed since (now_us: a monotonic
 * clock), or it moved HB_RESUME_SAVE_LINES lines.  So a crash sends again
 * what was in flight past the mark, plus at most what was acknowledged in
 * the last 100 ms or 10,000 lines and one poll of delivery reports.  Returns 1 when written, 0 when there was nothing to do, or
 * HB_RESUME_IOERR with a reason in err (the previous state stays whole).
 */
int hb_resume_save(struct hb_resume *t, int64_t now_us, int force, char *err, size_t errsz);

/* FNV-1a 64 of p[0..n), continuing from h (start with HB_FNV_INIT). */
#define HB_FNV_INIT 0xcbf29ce484222325ULL
uint64_t hb_fnv1a64(uint64_t h, const void *p, size_t n);

struct hb_prefix;

#endif
