/* http.c: HTTP requests and JSON replies on libwebsockets (see http.h).
 *
 * Parts: request intake (http_begin, http_body, http_query, http_header);
 * storing replies (http_reply*); conditional requests and content coding
 * (ETag, If-None-Match, Accept-Encoding, gzip); writing them from
 * WRITEABLE (http_writeable, with the security headers and the Date every
 * reply carries); cleanup. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "err.h"
#include "http.h"
#include "log.h"

/* ---- request intake ---------------------------------------------------- */

/* the mark of a connection whose request lws dropped (its opaque data) */
static const char pipelined_mark;

int http_dropped(struct lws *wsi, const struct http_exchange *ex)
{
	if (!ex->in_progress)
		return 0;
	lws_set_opaque_user_data(wsi, (void *)&pipelined_mark);
	return 1;
}

int http_pipelined(struct lws *wsi)
{
	return lws_get_opaque_user_data(wsi) == &pipelined_mark;
}

static enum http_method method_from_lws(int m)
{
	switch (m) {
	case LWSHUMETH_GET: return HTTP_GET;
	case LWSHUMETH_HEAD: return HTTP_GET;
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
	ex->in_progress = 1;
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

	ex->head = m == LWSHUMETH_HEAD;
	if (ex->method == HTTP_POST || ex->method == HTTP_PUT ||
	    ex->method == HTTP_PATCH) {
		int chunked = lws_hdr_total_length(wsi,
				WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;

		/* lws 4.1 reads a body only by its Content-Length */
		if (chunked || lws_hdr_total_length(wsi,
				WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) {
			ex->close_after = chunked;   /* its body is unread */
			http_reply_error(wsi, ex, 411, "length_required",
					 "%s needs a Content-Length header; "
					 "a chunked body is not accepted",
					 ex->method == HTTP_POST ? "POST" :
					 ex->method == HTTP_PUT ? "PUT" :
					 "PATCH");
			return ERR_INVALID;
		}
	}
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

/* reply_drop: let go of the stored reply's bytes (freed, or the shared
 * body's reference dropped). */
static void reply_drop(struct http_exchange *ex)
{
	if (ex->shared)
		http_shared_release(&ex->shared);
	else
		free(ex->reply);
	ex->reply = NULL;
}

int http_reply(struct lws *wsi, struct http_exchange *ex, int status,
	       const char *content_type, char *body, size_t len)
{
	reply_drop(ex);
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

int http_reply_tagged(struct lws *wsi, struct http_exchange *ex,
		      const char *content_type, char *body, size_t len,
		      const char *etag)
{
	snprintf(ex->etag, sizeof(ex->etag), "%s", etag ? etag : "");
	return http_reply(wsi, ex, 200, content_type, body, len);
}

struct http_shared *http_shared_new(const char *data, size_t len,
				    const char *etag)
{
	struct http_shared *s = malloc(sizeof(*s) + len + 1);

	if (!s)
		return NULL;
	s->refs = 1;
	s->len = len;
	snprintf(s->etag, sizeof(s->etag), "%s", etag ? etag : "");
	memcpy(s->data, data, len);
	s->data[len] = '\0';
	return s;
}

void http_shared_release(struct http_shared **s)
{
	if (*s && --(*s)->refs == 0)
		free(*s);
	*s = NULL;
}

int http_reply_shared(struct lws *wsi, struct http_exchange *ex,
		      const char *content_type, struct http_shared *s)
{
	http_reply_tagged(wsi, ex, content_type, NULL, 0, s->etag);
	s->refs++;
	ex->shared = s;
	ex->reply = s->data;
	ex->reply_len = s->len;
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

int http_reply_405(struct lws *wsi, struct http_exchange *ex,
		   const char *allow, const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	ex->allow = allow;
	return http_reply_error(wsi, ex, 405, "method_not_allowed", "%s",
				message);
}

int http_method_not_allowed(struct lws *wsi, struct http_exchange *ex,
			    const char *allow)
{
	return http_reply_405(wsi, ex, allow, "use %s on %s", allow,
			      ex->path);
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

/* ---- conditional requests and content coding ------------------------------ */

/* opaque_tag: the next entity tag of list at *at (W/ skipped): its quoted
 * text in [*tag, *tag + *len). Returns 0 at the end or on a malformed
 * element (which ends the list). */
static int next_tag(const char **at, const char **tag, size_t *len)
{
	const char *s = *at, *close;

	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	if (!*s)
		return 0;
	if (s[0] == 'W' && s[1] == '/')
		s += 2;
	if (*s != '"' || !(close = strchr(s + 1, '"')))
		return 0;
	*tag = s;
	*len = (size_t)(close - s) + 1;
	*at = close + 1;
	return 1;
}

int http_etag_match(const char *if_none_match, const char *etag)
{
	const char *at = if_none_match, *tag, *mine = etag;
	size_t len, mine_len;

	if (!if_none_match || !etag || !etag[0])
		return 0;
	while (*at == ' ' || *at == '\t')
		at++;
	if (at[0] == '*') {      /* "*" alone: any current representation */
		at++;
		while (*at == ' ' || *at == '\t')
			at++;
		return *at == '\0';
	}
	if (mine[0] == 'W' && mine[1] == '/')
		mine += 2;
	mine_len = strlen(mine);
	while (next_tag(&at, &tag, &len))
		if (len == mine_len && memcmp(tag, mine, len) == 0)
			return 1;
	return 0;
}

/* coding_q: the q-value (0 to 1000) of one Accept-Encoding element
 * [s, s + n) whose parameters start after its coding. */
static int coding_q(const char *params, const char *end)
{
	const char *q = params;

	while (q < end && (q = memchr(q, ';', (size_t)(end - q))) != NULL) {
		q++;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (end - q >= 2 && (q[0] == 'q' || q[0] == 'Q') &&
		    q[1] == '=') {
			double v = strtod(q + 2, NULL);

			return v <= 0 ? 0 : v >= 1 ? 1000 : (int)(v * 1000);
		}
	}
	return 1000;
}

int http_accepts_gzip(const char *accept_encoding)
{
	const char *s = accept_encoding;
	int gzip = -1, star = -1;

	while (s && *s) {
		const char *end = strchr(s, ','), *name, *name_end;

		if (!end)
			end = s + strlen(s);
		name = s;
		while (name < end && (*name == ' ' || *name == '\t'))
			name++;
		name_end = name;
		while (name_end < end && *name_end != ';' &&
		       *name_end != ' ' && *name_end != '\t')
			name_end++;
		if ((size_t)(name_end - name) == 4 &&
		    strncasecmp(name, "gzip", 4) == 0)
			gzip = coding_q(name_end, end);
		else if ((size_t)(name_end - name) == 6 &&
			 strncasecmp(name, "x-gzip", 6) == 0)
			gzip = coding_q(name_end, end);
		else if (name_end - name == 1 && *name == '*')
			star = coding_q(name_end, end);
		s = *end ? end + 1 : end;
	}
	return gzip >= 0 ? gzip > 0 : star > 0;
}

int http_compressible(const char *content_type)
{
	static const char *const types[] = {
		"text/html", "text/css", "text/plain", "text/xml",
		"application/json", "application/javascript",
		"text/javascript", "application/xml", "application/atom+xml",
		"application/cap+xml", "image/svg+xml",
	};

	if (!content_type)
		return 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t n = strlen(types[i]);

		if (strncasecmp(content_type, types[i], n) == 0 &&
		    (content_type[n] == '\0' || content_type[n] == ';'))
			return 1;
	}
	return 0;
}

int http_gzip(const void *in, size_t len, int level, char **out,
	      size_t *outlen)
{
	z_stream z;
	size_t cap = compressBound((uLong)len) + 32;  /* + gzip framing */
	char *buf = malloc(cap);
	int rc;

	*out = NULL;
	*outlen = 0;
	if (!buf)
		return ERR_NOMEM;
	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip wrapper around deflate's largest window */
	if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(buf);
		return ERR_NOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)buf;
	z.avail_out = (uInt)cap;
	rc = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(buf);
		*outlen = 0;
		return ERR_NOMEM;
	}
	*out = buf;
	return ERR_OK;
}

/* sha256: SHA-256 fetched from the default provider once: EVP_sha256()
 * would be looked up in the provider's method store (under its lock) on
 * every digest. */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void http_etag_of(const char *body, size_t len, char *etag, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t at = 0;

	etag[0] = '\0';
	pthread_once(&sha256_once, sha256_fetch);
	if (n < 35 || !EVP_Digest(body ? body : "", len, md, &mdlen,
				  sha256_md ? sha256_md : EVP_sha256(),
				  NULL) || mdlen < 16)
		return;
	etag[at++] = '"';
	for (size_t i = 0; i < 16; i++) {
		etag[at++] = hex[md[i] >> 4];
		etag[at++] = hex[md[i] & 15];
	}
	etag[at++] = '"';
	etag[at] = '\0';
}

/* gz_etag: etag (quoted) of the gzipped representation: "-gz" inside the
 * quotes, so that no cache takes one coding for the other. */
static void gz_etag(char *etag, size_t n)
{
	size_t len = strlen(etag);

	if (len >= 2 && etag[len - 1] == '"' && len + 3 < n)
		memcpy(etag + len - 1, "-gz\"", 5);
}

/* wants_gzip: the request's Accept-Encoding allows gzip. */
static int wants_gzip(struct lws *wsi)
{
	char v[256];

	if (http_header(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING, v,
			sizeof(v)) <= 0)
		return 0;
	return http_accepts_gzip(v);
}

int http_reply_variants(struct lws *wsi, struct http_exchange *ex,
			const char *content_type, const char *plain,
			size_t len, const char *gz, size_t gz_len,
			const char *etag)
{
	int use_gz = gz && wants_gzip(wsi);
	size_t n = use_gz ? gz_len : len;
	char *body = malloc(n + 1);

	if (!body)
		return http_reply_error(wsi, ex, 500, "internal",
					"out of memory");
	memcpy(body, use_gz ? gz : plain, n);
	body[n] = '\0';
	if (etag && etag[0])
		snprintf(ex->etag, sizeof(ex->etag), "%s", etag);
	else
		http_etag_of(plain, len, ex->etag, sizeof(ex->etag));
	if (use_gz)
		gz_etag(ex->etag, sizeof(ex->etag));
	ex->gzipped = use_gz;
	ex->vary_encoding = 1;
	return http_reply(wsi, ex, 200, content_type, body, n);
}

/* prepare: before the headers go: the Vary, the coding and the ETag of
 * the reply, and a 304 when the request's If-None-Match names it. */
static void prepare(struct lws *wsi, struct http_exchange *ex)
{
	int ok_get = ex->status == 200 && ex->method == HTTP_GET;
	int gz = 0;
	char inm[512];

	if (!ex->gzipped && http_compressible(ex->content_type)) {
		ex->vary_encoding = 1;
		gz = ex->reply_len >= HTTP_GZIP_MIN && wants_gzip(wsi);
	}
	if (ok_get && !ex->etag[0]) {
		http_etag_of(ex->reply, ex->reply_len, ex->etag, sizeof(ex->etag));
		if (gz)
			gz_etag(ex->etag, sizeof(ex->etag));
	} else if (ok_get && gz) {
		gz_etag(ex->etag, sizeof(ex->etag));
	}
	if (ok_get && http_header(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH, inm,
				  sizeof(inm)) > 0 &&
	    http_etag_match(inm, ex->etag)) {
		ex->status = 304;
		ex->content_type = NULL;
		reply_drop(ex);
		ex->reply_len = 0;
		ex->gzipped = 0;
		return;
	}
	if (gz) {
		char *out = NULL;
		size_t out_len = 0;

		if (http_gzip(ex->reply, ex->reply_len, 6, &out, &out_len) ==
		    ERR_OK) {
			reply_drop(ex);
			ex->reply = out;
			ex->reply_len = out_len;
			ex->gzipped = 1;
		} else if (ok_get) {   /* sent plain: its own tag */
			http_etag_of(ex->reply, ex->reply_len, ex->etag,
				sizeof(ex->etag));
		}
	}
}

int http_add_date(struct lws *wsi, unsigned char **p, unsigned char *end)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
					 "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr",
		"May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	/* this thread's last second and its text: formatted once a second */
	static __thread time_t made = -1;
	static __thread char date[HTTP_DATE_MAX];
	static __thread int n;
	time_t now = time(NULL);
	struct tm tm;

	if (now != made) {
		made = -1;
		if (!gmtime_r(&now, &tm))
			return -1;
		/* IMF-fixdate, in English whatever the locale */
		n = snprintf(date, sizeof(date),
			     "%s, %02d %s %04d %02d:%02d:%02d GMT",
			     days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
			     tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
			     tm.tm_sec);
		if (n <= 0 || (size_t)n >= sizeof(date))
			return -1;
		made = now;
	}
	return lws_add_http_header_by_name(wsi, (const unsigned char *)"date:",
					   (const unsigned char *)date, n, p,
					   end) ? -1 : 0;
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

int http_refuse(struct lws *wsi, unsigned int status)
{
	unsigned char buf[LWS_PRE + HTTP_HEADER_ROOM];
	unsigned char *start = buf + LWS_PRE, *p = start;
	unsigned char *end = buf + sizeof(buf) - 1;

	if (lws_add_http_common_headers(wsi, status, NULL, 0, &p, end) ||
	    add_security_headers(wsi, &p, end, NULL) ||
	    http_add_date(wsi, &p, end) ||
	    lws_add_http_header_by_name(wsi,
			(const unsigned char *)"connection:",
			(const unsigned char *)"close", 5, &p, end))
		return 1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		log_warn("http: the %u refusal could not be sent", status);
	return 1;               /* closed either way */
}

const struct lws_http_mount *http_callback_mount(struct lws_http_mount *m,
						 const char *protocol)
{
	memset(m, 0, sizeof(*m));
	m->mountpoint = "/";
	m->mountpoint_len = 1;
	m->origin = protocol;
	m->origin_protocol = LWSMPRO_CALLBACK;
	return m;
}

/* add_headers: the reply's status line and headers, ended, at *p (up to
 * end). Returns 0, or -1 when there is no room. */
static int add_headers(struct lws *wsi, struct http_exchange *ex,
		       unsigned char **pp, unsigned char *end)
{
	unsigned char *p = *pp;

	if (lws_add_http_common_headers(wsi, (unsigned int)ex->status,
					ex->content_type, ex->reply_len,
					&p, end))
		return -1;
	if (add_security_headers(wsi, &p, end, ex->style_hash) ||
	    http_add_date(wsi, &p, end))
		return -1;
	if (ex->gzipped && lws_add_http_header_by_name(wsi,
			(const unsigned char *)"content-encoding:",
			(const unsigned char *)"gzip", 4, &p, end))
		return -1;
	if (ex->vary_encoding && lws_add_http_header_by_name(wsi,
			(const unsigned char *)"vary:",
			(const unsigned char *)"Accept-Encoding", 15, &p, end))
		return -1;
	if (ex->allow && lws_add_http_header_by_name(wsi,
			(const unsigned char *)"allow:",
			(const unsigned char *)ex->allow,
			(int)strlen(ex->allow), &p, end))
		return -1;
	if (ex->location && lws_add_http_header_by_name(wsi,
			(const unsigned char *)"location:",
			(const unsigned char *)ex->location,
			(int)strlen(ex->location), &p, end))
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
	if (lws_finalize_http_header(wsi, &p, end))
		return -1;
	*pp = p;
	return 0;
}

/* http_writeable: see http.h. The first call writes the headers and the
 * first HTTP_CHUNK of the body together (one send with the protocol's
 * tx_packet_size at HTTP_TX_PACKET): a write of each would cost a second
 * WRITEABLE (a turn of the event loop) and a second send. */
int http_writeable(struct lws *wsi, struct http_exchange *ex)
{
	unsigned char buf[LWS_PRE + HTTP_HEADER_ROOM + HTTP_CHUNK];
	unsigned char *start = buf + LWS_PRE, *p = start;
	size_t n;
	int final;

	if (!ex->replying)
		return 0;
	if (!ex->headers_sent) {
		prepare(wsi, ex);
		if (add_headers(wsi, ex, &p, start + HTTP_HEADER_ROOM - 1))
			return -1;
		ex->headers_sent = 1;
		if (ex->head)
			ex->reply_sent = ex->reply_len;   /* no body */
	}
	n = ex->reply_len - ex->reply_sent;
	if (n > HTTP_CHUNK)
		n = HTTP_CHUNK;
	final = ex->reply_sent + n == ex->reply_len;
	if (n)
		memcpy(p, ex->reply + ex->reply_sent, n);
	p += n;
	if (lws_write(wsi, start, (size_t)(p - start),
		      final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
	    (int)(p - start))
		return -1;
	ex->reply_sent += n;
	if (!final) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	ex->replying = 0;
	ex->in_progress = 0;
	reply_drop(ex);
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
	reply_drop(ex);
	memset(ex, 0, sizeof(*ex));
}

json_t *http_error_vjson(const char *code, const char *fmt, va_list ap)
{
	char message[512];

	vsnprintf(message, sizeof(message), fmt, ap);
	return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message",
			 message);
}
