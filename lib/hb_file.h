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

#endif
