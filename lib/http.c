/* http.c: HTTP requests and JSON replies on libwebsockets (see http.h).
 *
 * Parts: request intake (http_begin, http_body, http_query, http_header);
 * storing replies (http_reply*); writing them from WRITEABLE
 * (http_writeable, with the security headers every reply carries, and
 * http_static_headers adding them to static files); cleanup. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "http.h"
#include "log.h"

/* Bytes of body written per WRITEABLE callback. */
#define HTTP_CHUNK 16384
/* Room for the status line and headers. */
#define HTTP_HEADER_ROOM 2048

/* ---- request intake ---------------------------------------------------- */

static enum http_method method_from_lws(int m)
{
	switch (m) {
	case LWSHUMETH_GET: return HTTP_GET;
	case LWSHUMETH_POST: return HTTP_POST;
	case LWSHUMETH_PUT: return HTTP_PUT;
	case LWSHUMETH_PATCH: return HTTP_PATCH;
	case LWSHUMETH_DELETE: return HTTP_DELETE;
	default: return HTTP_OTHER;
	}
}

int http_begin(struct lws *wsi, struct http_exchange *ex, const char *in,
	       size_t body_limit)
{
	char *uri = NULL;
	int uri_len = 0;
	int m;
	char clen[32];

	(void)in;
	http_end(ex);
	ex->body_limit = body_limit;
	m = lws_http_get_uri_and_method(wsi, &uri, &uri_len);
	ex->method = method_from_lws(m);
	if (m < 0 || !uri || uri_len <= 0) {
		http_reply_error(wsi, ex, 400, "bad_request", "no request line");
		return ERR_INVALID;
	}
	if ((size_t)uri_len > LIMIT_HTTP_URI) {
		http_reply_error(wsi, ex, 414, "uri_too_long",
				 "the URI is longer than %u bytes",
				 LIMIT_HTTP_URI);
		return ERR_TOOBIG;
	}
	memcpy(ex->path, uri, (size_t)uri_len);
	ex->path[uri_len] = '\0';

	if (ex->method == HTTP_POST || ex->method == HTTP_PUT ||
	    ex->method == HTTP_PATCH)
		ex->body_expected = lws_hdr_total_length(wsi,
				WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
	if (http_header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, clen,
			sizeof(clen)) > 0) {
		char *end = NULL;
		unsigned long long n;

		errno = 0;
		n = strtoull(clen, &end, 10);
		if (errno || end == clen || *end) {
			http_reply_error(wsi, ex, 400, "bad_request",
					 "Content-Length is not a number");
			return ERR_INVALID;
		}
		if (n > 0 && (ex->method == HTTP_POST ||
			      ex->method == HTTP_PUT ||
			      ex->method == HTTP_PATCH))
			ex->body_expected = 1;
		if (n > body_limit) {
			ex->body_too_big = 1;
			http_reply_error(wsi, ex, 413, "too_large",
					 "the body is over %zu bytes",
					 body_limit);
			return ERR_TOOBIG;
		}
	}
	return ERR_OK;
}

/* body_free: drop the body read so far, uncounting it from the budget. */
static void body_free(struct http_exchange *ex)
{
	if (ex->budget)
		ex->budget->used -= ex->body_len;
	free(ex->body);
	ex->body = NULL;
	ex->body_len = 0;
}

int http_body(struct http_exchange *ex, const void *in, size_t len)
{
	char *grown;

	if (len == 0)       /* lws reports an empty body as (NULL, 0) */
		return ERR_OK;
	if (ex->body_too_big)
		return ERR_TOOBIG;
	if (ex->body_no_room)
		return ERR_AGAIN;
	if (len > ex->body_limit - ex->body_len) {
		ex->body_too_big = 1;
		body_free(ex);
		return ERR_TOOBIG;
	}
	if (ex->budget && len > ex->budget->limit - ex->budget->used) {
		ex->body_no_room = 1;
		body_free(ex);
		return ERR_AGAIN;
	}
	grown = realloc(ex->body, ex->body_len + len + 1);
	if (!grown)
		return ERR_NOMEM;
	ex->body = grown;
	memcpy(ex->body + ex->body_len, in, len);
	ex->body_len += len;
	if (ex->budget)
		ex->budget->used += len;
	ex->body[ex->body_len] = '\0';
	return ERR_OK;
}

int http_query(struct lws *wsi, const char *name, char *buf, size_t buflen)
{
	char key[64];
	char tmp[LIMIT_HTTP_URI + 1];
	const char *v;
	size_t n;
	int k;

	k = snprintf(key, sizeof(key), "%s=", name);
	if (k < 0 || (size_t)k >= sizeof(key))
		return -1;
	v = lws_get_urlarg_by_name(wsi, key, tmp, (int)sizeof(tmp));
	if (!v)
		return -1;
	n = strlen(v);
	if (n + 1 > buflen)
		return -1;
	memcpy(buf, v, n + 1);
	return (int)n;
}

int http_header(struct lws *wsi, enum lws_token_indexes token, char *buf,
		size_t buflen)
{
	int n = lws_hdr_total_length(wsi, token);

	if (n <= 0 || (size_t)n + 1 > buflen)
		return -1;
	if (lws_hdr_copy(wsi, buf, (int)buflen, token) < 0)
		return -1;
	return n;
}

/* ---- storing replies ----------------------------------------------------- */

int http_reply(struct lws *wsi, struct http_exchange *ex, int status,
	       const char *content_type, char *body, size_t len)
{
	free(ex->reply);
	ex->status = status;
	ex->content_type = content_type;
	ex->reply = body;
	ex->reply_len = len;
	ex->reply_sent = 0;
	ex->headers_sent = 0;
	ex->replying = 1;
	lws_callback_on_writable(wsi);
	return ERR_OK;
}

int http_reply_json(struct lws *wsi, struct http_exchange *ex, int status,
		    json_t *json)
{
	char *text = json_dumps(json, JSON_COMPACT);

	json_decref(json);
	if (!text)
		return http_reply(wsi, ex, 500, "application/json", NULL, 0);
	return http_reply(wsi, ex, status, "application/json; charset=utf-8",
			  text, strlen(text));
}

int http_reply_error(struct lws *wsi, struct http_exchange *ex, int status,
		     const char *code, const char *fmt, ...)
{
	json_t *body;
	va_list ap;

	va_start(ap, fmt);
	body = http_error_vjson(code, fmt, ap);
	va_end(ap);
	return http_reply_json(wsi, ex, status, body);
}

json_t *http_parse_json(struct lws *wsi, struct http_exchange *ex)
{
	json_error_t jerr;
	json_t *json;

	if (ex->body_too_big) {
		http_reply_error(wsi, ex, 413, "too_large",
				 "the body is over %zu bytes", ex->body_limit);
		return NULL;
	}
	if (!ex->body) {
		http_reply_error(wsi, ex, 400, "malformed", "the body is empty");
		return NULL;
	}
	json = json_loadb(ex->body, ex->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json) {
		http_reply_error(wsi, ex, 400, "malformed",
				 "the body is not JSON: %s at line %d column %d",
				 jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(json)) {
		json_decref(json);
		http_reply_error(wsi, ex, 400, "malformed",
				 "the body is not a JSON object");
		return NULL;
	}
	return json;
}

/* ---- writing ----------------------------------------------------------- */

/* Headers on every reply: no inline script, no framing, no sniffing. The
 * policy's style-src may name one inline style by its hash (the pages of
 * lib/pages.c inline their style sheet so they paint after one round
 * trip). */
#define CSP_START "default-src 'self'; script-src 'self'; "
#define CSP_END "img-src 'self' data:; connect-src 'self'; " \
	"object-src 'none'; base-uri 'none'; form-action 'self'; " \
	"frame-ancestors 'none'"
static const struct {
	const char *name;
	const char *value;
} security_headers[] = {
	{ "content-security-policy:",
	  CSP_START "style-src 'self'; " CSP_END },   /* first: see below */
	{ "x-content-type-options:", "nosniff" },
	{ "x-frame-options:", "DENY" },
	{ "referrer-policy:", "no-referrer" },
};

/* add_security_headers: the headers above; with style_hash (a CSP
 * source, or NULL or "") the policy also allows that one inline style. */
static int add_security_headers(struct lws *wsi, unsigned char **p,
				unsigned char *end, const char *style_hash)
{
	char policy[512];

	for (size_t i = 0;
	     i < sizeof(security_headers) / sizeof(security_headers[0]); i++) {
		const char *v = security_headers[i].value;

		if (i == 0 && style_hash && style_hash[0]) {
			snprintf(policy, sizeof(policy), CSP_START
				 "style-src 'self' %s; " CSP_END, style_hash);
			v = policy;
		}
		if (lws_add_http_header_by_name(wsi,
				(const unsigned char *)security_headers[i].name,
				(const unsigned char *)v, (int)strlen(v),
				p, end))
			return -1;
	}
	return 0;
}

void http_static_mount(struct lws_http_mount *m, const char *root,
		       const char *protocol)
{
	memset(m, 0, sizeof(*m));
	m->protocol = protocol;
	m->mountpoint = "/";
	m->mountpoint_len = 1;
	m->origin = root;
	m->origin_protocol = LWSMPRO_FILE;
	m->def = "index.html";
	m->cache_max_age = HTTP_STATIC_MAX_AGE_S;
	m->cache_reusable = 1;
}

/* http_static_headers: see http.h. lws calls LWS_CALLBACK_ADD_HEADERS on
 * the vhost's first protocol while it writes a file mount's headers. */
int http_static_headers(struct lws *wsi, void *in)
{
	struct lws_process_html_args *args = in;
	unsigned char *p, *end;

	if (!args || !args->p)
		return 0;
	p = (unsigned char *)args->p;
	end = p + args->max_len;
	if (add_security_headers(wsi, &p, end, NULL))
		return -1;
	args->max_len -= (int)(p - (unsigned char *)args->p);
	args->p = (char *)p;
	return 0;
}

static int write_headers(struct lws *wsi, struct http_exchange *ex)
{
	unsigned char buf[LWS_PRE + HTTP_HEADER_ROOM];
	unsigned char *start = buf + LWS_PRE, *p = start;
	unsigned char *end = buf + sizeof(buf) - 1;

	if (lws_add_http_common_headers(wsi, (unsigned int)ex->status,
					ex->content_type, ex->reply_len,
					&p, end))
		return -1;
	if (add_security_headers(wsi, &p, end, ex->style_hash))
		return -1;
	{
		const char *cc = ex->cache_control ? ex->cache_control
						   : "no-store";

		if (lws_add_http_header_by_name(wsi,
				(const unsigned char *)"cache-control:",
				(const unsigned char *)cc, (int)strlen(cc),
				&p, end))
			return -1;
	}
	if (ex->www_authenticate &&
	    lws_add_http_header_by_name(wsi,
			(const unsigned char *)"www-authenticate:",
			(const unsigned char *)ex->www_authenticate,
			(int)strlen(ex->www_authenticate), &p, end))
		return -1;
	if (ex->etag[0] &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"etag:",
			(const unsigned char *)ex->etag, (int)strlen(ex->etag),
			&p, end))
		return -1;
	if (ex->close_after &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)
			"connection:", (const unsigned char *)"close", 5,
			&p, end))
		return -1;
	if (ex->set_cookie[0] &&
	    lws_add_http_header_by_name(wsi,
			(const unsigned char *)"set-cookie:",
			(const unsigned char *)ex->set_cookie,
			(int)strlen(ex->set_cookie), &p, end))
		return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	ex->headers_sent = 1;
	return 0;
}

int http_writeable(struct lws *wsi, struct http_exchange *ex)
{
	unsigned char buf[LWS_PRE + HTTP_CHUNK];
	size_t n;
	int final;

	if (!ex->replying)
		return 0;
	if (!ex->headers_sent) {
		if (write_headers(wsi, ex))
			return -1;
		if (ex->reply_len) {
			lws_callback_on_writable(wsi);
			return 0;
		}
		goto done;
	}
	n = ex->reply_len - ex->reply_sent;
	if (n > HTTP_CHUNK)
		n = HTTP_CHUNK;
	final = ex->reply_sent + n == ex->reply_len;
	memcpy(buf + LWS_PRE, ex->reply + ex->reply_sent, n);
	if (lws_write(wsi, buf + LWS_PRE, n,
		      final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
		return -1;
	ex->reply_sent += n;
	if (!final) {
		lws_callback_on_writable(wsi);
		return 0;
	}
done:
	ex->replying = 0;
	free(ex->reply);
	ex->reply = NULL;
	/* the request is answered: lws may keep the connection idle without
	 * ever calling CLOSED_HTTP, so its body must not wait for that */
	body_free(ex);
	if (ex->close_after)
		return -1;      /* its body is unread: no next request */
	if (lws_http_transaction_completed(wsi))
		return -1;
	return 0;
}

void http_end(struct http_exchange *ex)
{
	body_free(ex);
	free(ex->reply);
	memset(ex, 0, sizeof(*ex));
}

json_t *http_error_vjson(const char *code, const char *fmt, va_list ap)
{
	char message[512];

	vsnprintf(message, sizeof(message), fmt, ap);
	return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message",
			 message);
}
