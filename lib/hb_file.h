/* hb_file — small files replaced whole, so that a crash leaves the old or the new. */
#ifndef HB_FILE_H
#define HB_FILE_H

#include <stddef.h>

/*
 * Replace path with text[0..n): written to tmp, fsync'd, renamed over path,
 * and the directory fsync'd (the rename is then durable).  Returns 0, or -1
 * with a one-line reason in err and errno set (path keeps what it had).
 */
int hb_file_replace(const char *path, const char *tmp, const char *text, size_t n, char *err,
		    size_t errsz);

/* fsync the directory holding path (after creating, renaming or removing
 * a file in it).  0, or -1 with errno set. */
int hb_file_sync_dir(const char *path);

/*
 * Take an exclusive lock on path (created if need be) for as long as *fd
 * stays open: one process at a time works on what it guards.  0 locked,
 * 1 another process holds it, -1 with a one-line reason in err.
 */
int hb_file_lock(const char *path, int *fd, char *err, size_t errsz);

#endif
