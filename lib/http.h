/* http.h: HTTP requests and JSON replies on libwebsockets.
 *
 * Each HTTP connection's per-session data holds a struct http_exchange: the
 * request (method, path, query, bounded body) and the reply being written.
 * Handlers build a reply with http_reply_json or http_reply_error, which only
 * store it and ask for WRITEABLE; http_writeable sends it from the WRITEABLE
 * callback: the headers and as much of the body as fits in one write (all
 * of a body up to HTTP_CHUNK), the rest in chunks. Every reply carries the
 * security headers and a Date. Errors are
 * {"error":{"code":"...","message":"..."}}.
 *
 * HTTP semantics (RFC 9110) are kept here once for every port: HEAD is
 * answered as GET without the body; a 200 to a GET gets a strong ETag (a
 * hash of the body, unless the handler set one) and a 304 when
 * If-None-Match names it (weak comparison, lists, "*"); pages, scripts,
 * styles and JSON are sent gzipped when Accept-Encoding allows it, with
 * Vary: Accept-Encoding; a 405 carries the Allow its handler set; a body
 * sent chunked, or a POST, PUT or PATCH with no Content-Length, is
 * answered 411 at once (lws 4.1 cannot read a chunked request body). */
#ifndef ALLIANCE_HTTP_H
#define ALLIANCE_HTTP_H

#include <jansson.h>
#include <libwebsockets.h>
#include <stdarg.h>
#include <stddef.h>

#include "alliance_limits.h"

/* Longest Set-Cookie value a reply carries. */
#define HTTP_COOKIE_MAX 192
/* Longest ETag value a reply carries (quotes included). */
#define HTTP_ETAG_MAX 48
/* 'sha256-' and the base64 of a SHA-256, quoted, and a NUL. */
#define HTTP_STYLE_HASH_MAX 64

/* Bytes of body written per WRITEABLE callback. */
#define HTTP_CHUNK 16384
/* Room for the status line and headers. */
#define HTTP_HEADER_ROOM 2048
/* The tx_packet_size of an HTTP protocol (struct lws_protocols) whose
 * replies should leave in one send: the headers and a body of up to
 * HTTP_CHUNK (lws sends at most its 4 KiB service buffer at once without
 * it, and copies the rest aside for the next WRITEABLE). */
#define HTTP_TX_PACKET (HTTP_HEADER_ROOM + HTTP_CHUNK)

/* A 200 body that many replies send as it is, e.g. an answer kept in a
 * cache: each reply holds a reference instead of a copy. Used on one
 * thread only (the service thread's replies and cache). */
struct http_shared {
	size_t refs;
	size_t len;
	char etag[HTTP_ETAG_MAX];       /* the body's (http_etag_of) */
	char data[];                    /* len bytes and a NUL */
};

/* HEAD arrives as HTTP_GET with http_exchange.head set. */
enum http_method { HTTP_GET, HTTP_POST, HTTP_PUT, HTTP_PATCH, HTTP_DELETE,
		   HTTP_OTHER };

/* Bodies shorter than this are sent as they are: gzip would save little. */
#define HTTP_GZIP_MIN 256
/* Room for "date:"'s value (IMF-fixdate) and a NUL. */
#define HTTP_DATE_MAX 32

/* A bound on the bytes of request bodies held at once across
 * connections (e.g. those from clients not authenticated). */
struct http_budget {
	size_t used;
	size_t limit;
};

struct http_exchange {
	enum http_method method;
	int in_progress;                /* a request taken, its reply not
					   all sent */
	int head;                       /* a HEAD: answered as the GET,
					   without the body */
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
					   body (Content-Length over 0):
					   route it at
					   BODY_COMPLETION, which lws sends
					   for no other request */
	/* the reply */
	int status;
	const char *content_type;       /* static string */
	const char *cache_control;      /* static string or NULL */
	const char *www_authenticate;   /* static string or NULL: sent as a
					   WWW-Authenticate header (401) */
	const char *allow;              /* static string or NULL: the Allow
					   header (every 405 sets it) */
	const char *location;           /* static string or NULL: Location */
	int gzipped;                    /* reply is gzip already
					   (http_reply_variants) */
	int vary_encoding;              /* Vary: Accept-Encoding (set for
					   every compressible type) */
	char set_cookie[HTTP_COOKIE_MAX]; /* "" or a Set-Cookie value */
	char etag[HTTP_ETAG_MAX];       /* "" or an ETag value, quotes included */
	char style_hash[HTTP_STYLE_HASH_MAX]; /* "" or the CSP source of the
					   page's one inline <style>
					   ('sha256-BASE64'), added to
					   style-src */
	char *reply;                    /* owned, or shared's data */
	struct http_shared *shared;     /* a reference, or NULL */
	size_t reply_len;
	size_t reply_sent;
	int headers_sent;
	int replying;                   /* a reply is stored */
};

/* Pipelining. lws 4.1.6 parses a pipelined request (one sent before the
 * reply to the request ahead of it) at once: it drops the user space of
 * the request being answered (LWS_CALLBACK_HTTP_DROP_PROTOCOL) and hands
 * the next one on in a new one, and then serves the connection no more.
 * The request ahead cannot be answered; the connection is closed, both
 * unanswered (RFC 9112 9.3.2: the client sends them again).
 *
 * http_dropped: at LWS_CALLBACK_HTTP_DROP_PROTOCOL. Returns 1 when lws
 * drops a request still being answered: the caller frees it as at
 * LWS_CALLBACK_CLOSED_HTTP; the connection is marked. 0: nothing to do.
 * http_pipelined: at LWS_CALLBACK_HTTP, first. Returns 1 on a marked
 * connection: return -1 to close it. */
int http_dropped(struct lws *wsi, const struct http_exchange *ex);
int http_pipelined(struct lws *wsi);

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

/* http_reply_tagged: http_reply of a 200 whose body's ETag (quoted, from
 * http_etag_of over the same bytes) the caller made already, e.g. on the
 * thread that made the body, or kept with it: the reply is not hashed
 * again. ERR_OK. */
int http_reply_tagged(struct lws *wsi, struct http_exchange *ex,
		      const char *content_type, char *body, size_t len,
		      const char *etag);

/* http_shared_new: a shared body holding a copy of data[0..len) and
 * its ETag etag (quoted, as from http_etag_of), one reference held by the
 * caller; NULL when memory ran out. */
struct http_shared *http_shared_new(const char *data, size_t len,
				    const char *etag);

/* http_shared_release: drop the reference *s (NULL: none) and set it to
 * NULL; the last one frees it. */
void http_shared_release(struct http_shared **s);

/* http_reply_shared: http_reply_tagged of a 200 with body s (its bytes
 * and ETag), which the reply holds a reference to until it is sent
 * instead of a copy. ERR_OK. */
int http_reply_shared(struct lws *wsi, struct http_exchange *ex,
		      const char *content_type, struct http_shared *s);

/* http_reply_variants: store a 200 of content_type with a body that
 * exists plain (plain, len) and gzipped (gz, gz_len; NULL when there is
 * none), both the caller's: the one the request's Accept-Encoding takes
 * is copied. etag ("" or NULL: made from plain) names the plain one; the
 * gzipped one is named by it with "-gz" inside the quotes. ERR_OK or
 * ERR_NOMEM (a 500 is then stored). */
int http_reply_variants(struct lws *wsi, struct http_exchange *ex,
			const char *content_type, const char *plain,
			size_t len, const char *gz, size_t gz_len,
			const char *etag);

/* http_reply_json: store json (reference stolen) as the reply. */
int http_reply_json(struct lws *wsi, struct http_exchange *ex, int status,
		    json_t *json);

/* http_reply_error: store an error reply with code (e.g. "not_found") and a
 * printf-style message naming what was wrong. */
int http_reply_error(struct lws *wsi, struct http_exchange *ex, int status,
		     const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* http_reply_405: store a 405 ("method_not_allowed") whose Allow header
 * is allow (a static string such as "GET, HEAD, POST") and whose message
 * is printf-style. */
int http_reply_405(struct lws *wsi, struct http_exchange *ex,
		   const char *allow, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* http_method_not_allowed: store a 405 naming the methods allowed
 * (allow, a static string such as "GET, HEAD, POST") in its Allow header
 * and message. */
int http_method_not_allowed(struct lws *wsi, struct http_exchange *ex,
			    const char *allow);

/* http_etag_match: whether an If-None-Match value (a list of entity
 * tags, or "*") names etag (quoted) by RFC 9110's weak comparison. */
int http_etag_match(const char *if_none_match, const char *etag);

/* http_etag_of: a strong ETag (quoted, into etag of n >= 35 bytes; ""
 * on failure) of body[0..len): 128 bits of its SHA-256. Safe on any
 * thread. */
void http_etag_of(const char *body, size_t len, char *etag, size_t n);

/* http_accepts_gzip: whether an Accept-Encoding value (NULL: absent)
 * allows gzip (q-values respected: q=0 refuses). */
int http_accepts_gzip(const char *accept_encoding);

/* http_compressible: whether content_type is worth gzipping (text, JSON,
 * XML, scripts, SVG; not an event stream). */
int http_compressible(const char *content_type);

/* http_gzip: in[0..len) gzipped into a new buffer (*out, caller frees).
 * ERR_OK or ERR_NOMEM. */
int http_gzip(const void *in, size_t len, int level, char **out,
	      size_t *outlen);

/* http_add_date: add "date: <now as IMF-fixdate>" to the headers being
 * written at *p. Returns 0, or -1 when there is no room. */
int http_add_date(struct lws *wsi, unsigned char **p, unsigned char *end);

/* http_writeable: at LWS_CALLBACK_HTTP_WRITEABLE, send the next part of the
 * stored reply. Returns what the callback should return (-1 closes). */
int http_writeable(struct lws *wsi, struct http_exchange *ex);

/* http_refuse: answer the request on wsi with status and no body at
 * once, from a filter callback (LWS_CALLBACK_FILTER_*), as
 * lws_return_http_status does but with the Date and security headers.
 * Returns 1, what the filter callback returns to close. */
int http_refuse(struct lws *wsi, unsigned int status);

/* http_callback_mount: make *m a callback mount of every path ("/") to
 * the vhost's protocol named protocol (a string that outlives the vhost)
 * and return it. Without a mount lws sends no LWS_CALLBACK_CLOSED_HTTP
 * when a client closes a long-lived reply (an event stream) and gives
 * each request on a connection fresh per-session data. */
const struct lws_http_mount *http_callback_mount(struct lws_http_mount *m,
						 const char *protocol);

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
