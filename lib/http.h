/* http.h: HTTP requests and JSON replies on libwebsockets.
 *
 * Each HTTP connection's per-session data holds a struct http_exchange: the
 * request (method, path, query, bounded body) and the reply being written.
 * Handlers build a reply with http_reply_json or http_reply_error, which only
 * store it and ask for WRITEABLE; http_writeable sends it from the WRITEABLE
 * callback, headers first, then the body in chunks. Every reply carries the
 * security headers. Errors are {"error":{"code":"...","message":"..."}}. */
#ifndef ALLIANCE_HTTP_H
#define ALLIANCE_HTTP_H

#include <jansson.h>
#include <libwebsockets.h>
#include <stdarg.h>
#include <stddef.h>

#include "limits.h"

/* Longest Set-Cookie value a reply carries. */
#define HTTP_COOKIE_MAX 192
/* Longest ETag value a reply carries (quotes included). */
#define HTTP_ETAG_MAX 48
/* 'sha256-' and the base64 of a SHA-256, quoted, and a NUL. */
#define HTTP_STYLE_HASH_MAX 64

enum http_method { HTTP_GET, HTTP_POST, HTTP_PUT, HTTP_PATCH, HTTP_DELETE,
		   HTTP_OTHER };

/* A bound on the bytes of request bodies held at once across
 * connections (e.g. those from clients not authenticated). */
struct http_budget {
	size_t used;
	size_t limit;
};

struct http_exchange {
	enum http_method method;
	char path[LIMIT_HTTP_URI + 1];  /* decoded path, no query */
	char *body;                     /* request body, NUL-terminated; owned */
	size_t body_len;
	size_t body_limit;              /* 413 beyond this */
	int body_too_big;               /* set when the limit was passed */
	int close_after;                /* close the connection once the
					   reply is sent: its body was
					   refused unread */
	struct http_budget *budget;     /* counts the body's bytes; NULL:
					   not counted */
	int body_no_room;               /* set when the budget was full */
	int body_expected;              /* POST, PUT or PATCH declaring a
					   body (Content-Length over 0, or
					   chunked): route it at
					   BODY_COMPLETION, which lws sends
					   for no other request */
	/* the reply */
	int status;
	const char *content_type;       /* static string */
	const char *cache_control;      /* static string or NULL */
	const char *www_authenticate;   /* static string or NULL: sent as a
					   WWW-Authenticate header (401) */
	char set_cookie[HTTP_COOKIE_MAX]; /* "" or a Set-Cookie value */
	char etag[HTTP_ETAG_MAX];       /* "" or an ETag value, quotes included */
	char style_hash[HTTP_STYLE_HASH_MAX]; /* "" or the CSP source of the
					   page's one inline <style>
					   ('sha256-BASE64'), added to
					   style-src */
	char *reply;                    /* owned */
	size_t reply_len;
	size_t reply_sent;
	int headers_sent;
	int replying;                   /* a reply is stored */
};

/* http_begin: fill ex from the request on wsi at LWS_CALLBACK_HTTP (in, len
 * as lws passes them). Returns ERR_OK, or ERR_TOOBIG when the URI is over
 * LIMIT_HTTP_URI or the declared Content-Length over body_limit (a 413 or
 * 414 reply is then already stored). */
int http_begin(struct lws *wsi, struct http_exchange *ex, const char *in,
	       size_t body_limit);

/* http_body: append a chunk of the request body (LWS_CALLBACK_HTTP_BODY).
 * Returns ERR_OK or ERR_TOOBIG once the total passes body_limit, after which
 * further chunks are dropped and body_too_big is set; or, with a budget,
 * ERR_AGAIN once the bodies it counts would pass its limit: the body is
 * dropped, body_no_room set (answer 503). The bytes are counted until the
 * body is freed (the reply sent, or http_end). */
int http_body(struct http_exchange *ex, const void *in, size_t len);

/* http_query: copy the query argument name into buf (URL-decoded).
 * Returns its length, or -1 when absent or longer than buflen - 1. */
int http_query(struct lws *wsi, const char *name, char *buf, size_t buflen);

/* http_header: copy a request header (lws token) into buf; -1 if absent or
 * too long. */
int http_header(struct lws *wsi, enum lws_token_indexes token, char *buf,
		size_t buflen);

/* http_reply: store a reply taking ownership of body (malloc'd, may be NULL
 * when len is 0) and ask for WRITEABLE. Returns ERR_OK. */
int http_reply(struct lws *wsi, struct http_exchange *ex, int status,
	       const char *content_type, char *body, size_t len);

/* http_reply_json: store json (reference stolen) as the reply. */
int http_reply_json(struct lws *wsi, struct http_exchange *ex, int status,
		    json_t *json);

/* http_reply_error: store an error reply with code (e.g. "not_found") and a
 * printf-style message naming what was wrong. */
int http_reply_error(struct lws *wsi, struct http_exchange *ex, int status,
		     const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* http_writeable: at LWS_CALLBACK_HTTP_WRITEABLE, send the next part of the
 * stored reply. Returns what the callback should return (-1 closes). */
int http_writeable(struct lws *wsi, struct http_exchange *ex);

/* Seconds a browser may reuse a static page without asking again; then it
 * revalidates (lws answers 304 to a matching If-None-Match). Short, as the
 * pages have no versioned names. */
#define HTTP_STATIC_MAX_AGE_S 600

/* http_static_mount: make *m a file mount of root at "/" (index.html for
 * a directory) with the caching above, bound to the vhost's protocol
 * named protocol so that its callback can pass LWS_CALLBACK_ADD_HEADERS
 * to http_static_headers; m->mount_next is left NULL. root and protocol
 * must outlive the vhost. */
void http_static_mount(struct lws_http_mount *m, const char *root,
		       const char *protocol);

/* http_static_headers: at LWS_CALLBACK_ADD_HEADERS (in as lws passes it),
 * add the security headers every reply carries to a static file that an
 * lws file mount serves. Returns what the callback should return. */
int http_static_headers(struct lws *wsi, void *in);

/* http_end: free what ex owns (LWS_CALLBACK_CLOSED_HTTP, or before the next
 * request on a kept-alive connection) and zero it. */
void http_end(struct http_exchange *ex);

/* http_parse_json: parse ex->body as a JSON object. On failure stores a 400
 * (malformed) or 413 reply and returns NULL; the caller returns 0. */
json_t *http_parse_json(struct lws *wsi, struct http_exchange *ex);

/* http_error_vjson: the error body {"error":{"code":code,"message":...}},
 * the message formatted from fmt and ap (at most 511 bytes), for
 * http_reply_error and for replies a worker makes off the service thread.
 * A new reference; NULL when memory ran out. */
json_t *http_error_vjson(const char *code, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#endif
