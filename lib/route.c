/* route.c: one route table per HTTP port (see route.h).
 *
 * Parts: matching a pattern; the Allow of a mask; dispatching. */
#include <stdio.h>
#include <string.h>

#include "route.h"

/* ---- matching ------------------------------------------------------------ */

/* param: match the segment seg[0..len) against the pattern segment
 * p[0..plen) = "{name}SUFFIX"; copies the param into m->buf at *used.
 * 1 when it matches. */
static int param(const char *p, size_t plen, const char *seg, size_t len,
		 struct route_match *m, size_t *used)
{
	const char *close = memchr(p, '}', plen);
	size_t suffix = close ? plen - (size_t)(close + 1 - p) : 0;

	if (!close || len <= suffix || m->n_params == ROUTE_PARAMS_MAX ||
	    memcmp(seg + len - suffix, close + 1, suffix) != 0)
		return 0;
	len -= suffix;
	if (*used + len + 1 > sizeof(m->buf))
		return 0;
	memcpy(m->buf + *used, seg, len);
	m->buf[*used + len] = '\0';
	m->param[m->n_params++] = m->buf + *used;
	*used += len + 1;
	return 1;
}

/* match: whether path matches pattern (filling params and rest). */
static int match(const char *pattern, const char *path, struct route_match *m)
{
	size_t used = 0;

	m->n_params = 0;
	m->rest = NULL;
	while (*pattern) {
		const char *pe, *se;
		size_t plen, len;

		if (strcmp(pattern, "*") == 0) {
			m->rest = path;
			return 1;
		}
		if (*pattern != '{') {
			/* literal text up to the next '{' or '*' */
			plen = strcspn(pattern, "{*");
			if (strncmp(pattern, path, plen) != 0)
				return 0;
			pattern += plen;
			path += plen;
			continue;
		}
		pe = strchr(pattern, '/');
		plen = pe ? (size_t)(pe - pattern) : strlen(pattern);
		se = strchr(path, '/');
		len = se ? (size_t)(se - path) : strlen(path);
		if (!param(pattern, plen, path, len, m, &used))
			return 0;
		pattern += plen;
		path += len;
	}
	return *path == '\0';
}

enum route_found route_find(const struct route *rows, size_t n,
			    const char *path, enum http_method method,
			    struct route_match *m)
{
	m->route = NULL;
	m->allow = 0;
	for (size_t i = 0; i < n; i++) {
		if (!match(rows[i].pattern, path, m))
			continue;
		if (rows[i].methods & (1u << method)) {
			m->route = &rows[i];
			return ROUTE_FOUND;
		}
		m->allow |= rows[i].methods;
	}
	m->n_params = 0;
	m->rest = NULL;
	return m->allow ? ROUTE_NOT_ALLOWED : ROUTE_NOT_FOUND;
}

/* ---- Allow --------------------------------------------------------------- */

/* The methods in the order Allow lists them. */
static const struct {
	unsigned bit;
	const char *names;
} allow_order[] = {
	{ ROUTE_GET, "GET, HEAD" }, { ROUTE_POST, "POST" },
	{ ROUTE_PUT, "PUT" }, { ROUTE_PATCH, "PATCH" },
	{ ROUTE_DELETE, "DELETE" },
};

/* The masks of the methods Allow names (not HTTP_OTHER). */
#define ALLOW_MASKS (1u << (HTTP_DELETE + 1))

const char *route_allow(unsigned methods)
{
	static char text[ALLOW_MASKS][40];
	static int made;

	if (!made) {
		for (unsigned mask = 0; mask < ALLOW_MASKS; mask++) {
			size_t used = 0;

			for (size_t i = 0; i < sizeof(allow_order) /
					       sizeof(allow_order[0]); i++)
				if (mask & allow_order[i].bit)
					used += (size_t)snprintf(text[mask] +
						used, sizeof(text[mask]) - used,
						"%s%s", used ? ", " : "",
						allow_order[i].names);
		}
		made = 1;
	}
	return text[methods & (ALLOW_MASKS - 1)];
}

const char *route_method_name(enum http_method method)
{
	switch (method) {
	case HTTP_GET: return "GET";
	case HTTP_POST: return "POST";
	case HTTP_PUT: return "PUT";
	case HTTP_PATCH: return "PATCH";
	case HTTP_DELETE: return "DELETE";
	default: return "this method";
	}
}

/* ---- dispatching --------------------------------------------------------- */

void route_refuse(void *ctx, struct lws *wsi, struct http_exchange *ex,
		  int status)
{
	(void)ctx;
	if (status == 405)
		http_reply_405(wsi, ex, ex->allow, "%s is not allowed on %s; "
			       "use %s", route_method_name(ex->method),
			       ex->path, ex->allow);
	else
		http_reply_error(wsi, ex, 404, "not_found",
				 "no such resource: %s", ex->path);
}

enum route_found route_dispatch(const struct route_table *t, void *ctx,
				struct lws *wsi, struct http_exchange *ex)
{
	struct route_match m;
	enum route_found found = route_find(t->rows, t->n_rows, ex->path,
					    ex->method, &m);

	if (found == ROUTE_FOUND) {
		if (!t->admit || t->admit(ctx, wsi, ex, &m))
			m.route->fn(ctx, wsi, ex, &m);
		return found;
	}
	if (found == ROUTE_NOT_ALLOWED)
		ex->allow = route_allow(m.allow);
	(t->refuse ? t->refuse : route_refuse)(ctx, wsi, ex, found ==
					       ROUTE_NOT_ALLOWED ? 405 : 404);
	return found;
}
