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
 * The page shell (the document's start, head, skip link, header and
 * navigation, footer and end) is written once, in root/WEBFILES_SHELL; a
 * page holds markers where its parts go, filled in when the page is read
 * (webfiles_assemble; see web/shell.tpl), and keeps only what is its
 * own. A page is read again when the shell changes too. */
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
/* The longest part name, and file named for the current link. */
#define WEBFILES_PART_NAME_MAX 32
#define WEBFILES_CURRENT_MAX 64
/* How deep parts may hold parts (a part naming itself stops there). */
#define WEBFILES_NEST_MAX 4
/* The marker name in a part where the text a page's marker encloses
 * goes. */
#define WEBFILES_INNER "inner"

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

/* webfiles_assemble: the page page[0..len), at path under root (e.g.
 * "/district/index.html"), with each shell marker filled in from
 * root/WEBFILES_SHELL: "<!--alliance:NAME-->" gets the shell's part NAME
 * (see web/shell.tpl), and "<!--alliance:NAME:FILE-->" the part with its
 * first link to FILE (the navigation's, else any) marked
 * aria-current="page". A part's own markers are filled the same way
 * (WEBFILES_NEST_MAX deep), its relative links (href, src) get a "../"
 * for each directory path is below root, and its WEBFILES_INNER marker
 * gets the text the page encloses between the marker and
 * "<!--/alliance:NAME-->" (nothing when it does not close it). A marker
 * whose part the shell lacks stays, as does every marker without a
 * shell. Stores a new NUL-terminated text in *out (caller frees) and its
 * length in *outlen. ERR_OK or ERR_NOMEM. */
int webfiles_assemble(const char *root, const char *path, const char *page,
		      size_t len, char **out, size_t *outlen);

/* webfiles_shell_key: mtime, size and inode of root/WEBFILES_SHELL
 * (zeros when absent), for caches of assembled pages. */
void webfiles_shell_key(const char *root, struct timespec *mtime,
			off_t *size, ino_t *ino);

/* webfiles_free: free *cache and set it to NULL (NULL is a no-op). */
void webfiles_free(struct webfiles **cache);

#endif
