/* mediatype.h: what a request's Content-Type names.
 *
 * One rule for every port: the type is compared without regard to case
 * and may carry parameters ("application/json; charset=utf-8"). Changes
 * on the API, the manager and the console demand application/json, a
 * type a cross-site HTML form cannot send (it can send only
 * form-urlencoded, multipart/form-data and text/plain), so another site
 * cannot make a browser that holds a certificate or a session cookie
 * change anything. */
#ifndef ALLIANCE_MEDIATYPE_H
#define ALLIANCE_MEDIATYPE_H

#include <libwebsockets.h>

/* mediatype_is: 1 iff the Content-Type value ct (NULL: none) is the type
 * want (lower case), with or without parameters; 0 otherwise. */
int mediatype_is(const char *ct, const char *want);

/* mediatype_json: 1 iff the request on wsi says Content-Type:
 * application/json (parameters allowed); 0 if it says anything else, or
 * nothing, or more than fits a header buffer. */
int mediatype_json(struct lws *wsi);

#endif
