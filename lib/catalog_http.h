/* catalog_http.h: the public catalog endpoints, served alike by hub and node.
 *
 * GET /api/v1/catalog?q=&category=&community=&delivery=&free=1&limit=&after=
 * and GET /api/v1/announcements?community=&limit=, with every parameter
 * checked (422 naming it) before the store is asked. */
#ifndef ALLIANCE_CATALOG_HTTP_H
#define ALLIANCE_CATALOG_HTTP_H

#include "catalog.h"
#include "http.h"

/* catalog_http_search: answer GET /api/v1/catalog on wsi into ex. */
void catalog_http_search(struct catalog *cat, struct lws *wsi,
			 struct http_exchange *ex);

/* catalog_http_announcements: answer GET /api/v1/announcements. */
void catalog_http_announcements(struct catalog *cat, struct lws *wsi,
				struct http_exchange *ex);

#endif
