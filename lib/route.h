/* route.h: one route table per HTTP port.
 *
 * A row names the methods it answers, a path pattern, who may call
 * (the role) and the handler. A pattern is literal text split at '/',
 * where a segment "{name}" matches one non-empty segment (a param, handed
 * to the handler in order), "{name}SUFFIX" one ending in SUFFIX (the
 * param without it), and a final "*" whatever remains of the path (maybe
 * nothing). Paths are matched as http_begin decoded them, exactly: no
 * trailing slash is ignored.
 *
 * route_dispatch decides for the whole port: no pattern matching the path
 * is a 404; patterns matching it but none with the method is a 405 whose
 * Allow is the union of their methods (HEAD wherever GET is); otherwise
 * the first matching row's role is checked by the table's admit hook and
 * its handler called. */
#ifndef ALLIANCE_ROUTE_H
#define ALLIANCE_ROUTE_H

#include <stddef.h>

#include "http.h"

/* Method masks; ROUTE_GET answers HEAD too. */
#define ROUTE_GET    (1u << HTTP_GET)
#define ROUTE_POST   (1u << HTTP_POST)
#define ROUTE_PUT    (1u << HTTP_PUT)
#define ROUTE_PATCH  (1u << HTTP_PATCH)
#define ROUTE_DELETE (1u << HTTP_DELETE)
/* Every method, those lws does not name too: a row that answers its own
 * 405s (Allow lists only the named ones). */
#define ROUTE_ANY    ((1u << (HTTP_OTHER + 1)) - 1)

/* Row flags: the request must say Content-Type: application/json,
 * checked with the role (a cross-site form cannot send it). */
#define ROUTE_JSON 1u

/* The most {name} segments a pattern has. */
#define ROUTE_PARAMS_MAX 4

/* Who may call a row. */
enum route_role {
	ROUTE_PUBLIC,     /* anyone */
	ROUTE_RESIDENT,   /* a resident's bearer token */
	ROUTE_MANAGER,    /* the manager's console cookie or Basic */
	ROUTE_OPERATOR    /* an operator certificate (a node's has no
			     HTTP route: its one path, the sync upgrade,
			     is admitted before HTTP) */
};

struct route_match;

/* A handler: ctx is the port's (route_dispatch's ctx). */
typedef void (*route_fn)(void *ctx, struct lws *wsi,
			 struct http_exchange *ex,
			 const struct route_match *m);

struct route {
	unsigned methods;           /* ROUTE_* mask */
	const char *pattern;
	enum route_role role;
	route_fn fn;
	unsigned flags;             /* ROUTE_JSON or 0 */
};

/* What matched: the row, its params (NUL-terminated copies, in pattern
 * order) and what a final '*' matched (within the path). */
struct route_match {
	const struct route *route;
	const char *param[ROUTE_PARAMS_MAX];
	size_t n_params;
	const char *rest;
	unsigned allow;             /* on a 405: the methods of the path */
	char buf[LIMIT_HTTP_URI + 1];
};

/* A port's table. admit checks a row's role before its handler: 1 to
 * call it, 0 when a refusal is stored (or the request waits); NULL lets
 * every row through. refuse stores the 404 or 405 (ex->allow set, the
 * status given); NULL: route_refuse. */
struct route_table {
	const struct route *rows;
	size_t n_rows;
	int (*admit)(void *ctx, struct lws *wsi, struct http_exchange *ex,
		     const struct route_match *m);
	void (*refuse)(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       int status);
};

enum route_found { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_NOT_ALLOWED };

/* route_find: the first of rows[0..n) whose pattern matches path and
 * whose methods have method (filling m), ROUTE_NOT_ALLOWED when patterns
 * match but not the method (m->allow their union), else
 * ROUTE_NOT_FOUND. */
enum route_found route_find(const struct route *rows, size_t n,
			    const char *path, enum http_method method,
			    struct route_match *m);

/* route_allow: the Allow value of a method mask, a static string such as
 * "GET, HEAD, POST" ("" for none). */
const char *route_allow(unsigned methods);

/* route_method_name: "GET", "POST"... ("this method" for another). */
const char *route_method_name(enum http_method method);

/* route_refuse: store the JSON error of http.h for status 404 (no such
 * resource) or 405 (method_not_allowed, Allow from ex->allow); the
 * refusal of a table without its own. */
void route_refuse(void *ctx, struct lws *wsi, struct http_exchange *ex,
		  int status);

/* route_dispatch: answer the request in ex by table t (see above).
 * Returns the result of route_find. */
enum route_found route_dispatch(const struct route_table *t, void *ctx,
				struct lws *wsi, struct http_exchange *ex);

#endif
