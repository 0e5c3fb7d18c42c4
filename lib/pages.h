/* pages.h: the residents' pages that carry the bulletins in force in
 * their HTML, rendered by the daemon that serves them (hub and node).
 *
 * index.html (also served for "/") and bulletins.html are files under
 * [web] root like every page, and work as static files. Each holds marker
 * comments where the daemon puts what it renders (the banner's and the
 * style's come with the page shell, web/shell.tpl, so every resident page
 * has them; on the pages not rendered they stay comments):
 * PAGES_MARK_BANNER inside
 * <section id="alerts"> (the banner: severity, headline, and for extreme
 * and severe bulletins what to do and a link to the bulletins page) and
 * PAGES_MARK_LIST in bulletins.html's list (every bulletin in force in
 * full). A marker may be closed by "<!--/alliance:...-->": what the two
 * enclose is what the file shows when served as it is, and is replaced.
 * PAGES_MARK_STYLE encloses the <link>s to the PAGES_STYLE_FILES, which
 * go inline as one <style> (allowed by its hash in the page's CSP), so
 * that the first paint needs nothing but the page itself. Every text is HTML-escaped and phone numbers in it become tel:
 * links. The bulletins are those GET /api/v1/bulletins lists as current
 * (a node stores only those whose signed area includes its community).
 * Served with Cache-Control: no-cache and an ETag (a hash of the body),
 * 304 to a matching If-None-Match (lib/http.h), so no cache shows a
 * stale bulletin; gzipped once per rendering.
 *
 * resident.js renders the same markup from the API, so the live feed takes
 * over in place. */
#ifndef ALLIANCE_PAGES_H
#define ALLIANCE_PAGES_H

#include <libwebsockets.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

#define PAGES_MARK_BANNER "<!--alliance:banner-->"
#define PAGES_MARK_LIST "<!--alliance:bulletins-->"
/* Around the page's <link>s to its style sheets, which are put inline:
 * the sheets every page shares and the resident pages' own, in the order
 * the page links them (a list of string literals for an initializer). */
#define PAGES_MARK_STYLE "<!--alliance:style-->"
#define PAGES_STYLE_FILES "css/site.css", "css/resident.css"

/* The page files rendered: index.html and bulletins.html. */
#define PAGES_FILES 2

/* The pages last rendered, kept until what they were made from changes
 * (pages.c); one per daemon, made by pages_serve. */
struct pages_cache;

/* pages_serve: a GET (or HEAD) of "/", "/index.html" or
 * "/bulletins.html" (ex->path, after http_begin) is answered with the
 * page rendered with db's bulletins in force (from *cache while nothing
 * it was made from has changed; *cache is made on first use and freed
 * with pages_cache_free; the gzipped copy is made with it), stored as the
 * reply in ex. Returns 1 when it answered; 0 for anything else, or a page
 * file that cannot be rendered (lib/webfiles.h serves it as it is). */
int pages_serve(struct lws *wsi, struct http_exchange *ex, sqlite3 *db,
		const char *web_root, struct pages_cache **cache);

/* pages_cache_free: free *cache and set it to NULL (NULL is a no-op). */
void pages_cache_free(struct pages_cache **cache);

/* pages_render: the page file tpl[0..len) with its markers replaced by
 * the bulletins in force at now (unix seconds) in db, and by css (the
 * NUL-terminated style sheet, or NULL to keep the <link>) in a <style>,
 * whose CSP source ('sha256-...') goes in style_hash (at least
 * HTTP_STYLE_HASH_MAX bytes; "" when not inlined). Stores a new
 * NUL-terminated string (caller frees) in *out and its length in *outlen.
 * ERR_OK, ERR_IO or ERR_NOMEM. */
int pages_render(sqlite3 *db, int64_t now, const char *tpl, size_t len,
		 const char *css, char **out, size_t *outlen,
		 char *style_hash, size_t hashlen);

#endif
