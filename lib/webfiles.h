/* webfiles.h: the files under [web] root (pages, scripts, styles,
 * images), served from memory by the daemon's own HTTP callback.
 *
 * A file is read and, when its type is compressible, gzipped once, when
 * first asked for; it is read again only when it changed on disk (mtime,
 * size or inode, checked by one stat per request), so an edited page is
 * served at once and no request pays for compression. Every reply goes
 * through lib/http.h: strong ETag (a hash of the file), 304, HEAD, gzip
 * when the client takes it, Vary, Date and the security headers.
 *
 * The page shell (head, header and navigation, footer) is written once, in
 * root/WEBFILES_SHELL; a page holds markers where its parts go, filled in
 * when the page is read (webfiles_assemble; see web/shell.tpl). A page is
 * read again when the shell changes too. */
#ifndef ALLIANCE_WEBFILES_H
#define ALLIANCE_WEBFILES_H

#include <libwebsockets.h>
#include <sys/types.h>
#include <time.h>

#include "http.h"

/* The page shell under root (not served itself). */
#define WEBFILES_SHELL "shell.tpl"
/* The largest shell read. */
#define WEBFILES_SHELL_MAX (64u * 1024u)

/* Most files kept in memory at once, and the largest file served. */
#define WEBFILES_MAX 512
#define WEBFILES_FILE_MAX (4u * 1024u * 1024u)
/* Seconds a browser may reuse a file without asking again; then it
 * revalidates with If-None-Match. Short: the files have no versioned
 * names. */
#define WEBFILES_MAX_AGE "private, max-age=600"

/* The files read so far, one set per port (webfiles.c). */
struct webfiles;

/* webfiles_serve: answer a GET or HEAD of ex->path with the file under
 * root ("/" and a path ending in "/" mean its index.html), when only is
 * NULL or the path starts with one of the NULL-terminated prefixes in
 * only. *cache is made on first use (free with webfiles_free). Returns 1
 * when a reply is stored in ex, 0 when the request is not for a file
 * there (another method, a hidden name or "..", no such file, or one
 * over WEBFILES_FILE_MAX). */
int webfiles_serve(struct lws *wsi, struct http_exchange *ex,
		   const char *root, const char *const *only,
		   struct webfiles **cache);

/* webfiles_assemble: page[0..len) with each shell marker filled in from
 * root/WEBFILES_SHELL: "<!--alliance:NAME-->" gets the part NAME
 * (head, header, footer), and "<!--alliance:header:FILE-->" the header
 * with its link to FILE marked aria-current="page". Without a shell, or
 * a marker whose part it lacks, the marker stays. Stores a new
 * NUL-terminated text in *out (caller frees) and its length in *outlen.
 * ERR_OK or ERR_NOMEM. */
int webfiles_assemble(const char *root, const char *page, size_t len,
		      char **out, size_t *outlen);

/* webfiles_shell_key: mtime, size and inode of root/WEBFILES_SHELL
 * (zeros when absent), for caches of assembled pages. */
void webfiles_shell_key(const char *root, struct timespec *mtime,
			off_t *size, ino_t *ino);

/* webfiles_free: free *cache and set it to NULL (NULL is a no-op). */
void webfiles_free(struct webfiles **cache);

#endif
