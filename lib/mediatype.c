/* mediatype.c: what a request's Content-Type names (see mediatype.h).
 *
 * Parts: the comparison; the request's header. */
#include <string.h>
#include <strings.h>

#include "http.h"
#include "mediatype.h"

/* Longest Content-Type header read; a longer one is no type we accept. */
#define MEDIATYPE_HEADER_MAX 128

int mediatype_is(const char *ct, const char *want)
{
	size_t len = strlen(want);

	return ct && strncasecmp(ct, want, len) == 0 &&
	       (ct[len] == '\0' || ct[len] == ';' || ct[len] == ' ');
}

int mediatype_json(struct lws *wsi)
{
	char ct[MEDIATYPE_HEADER_MAX];

	if (http_header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, ct, sizeof(ct)) < 0)
		return 0;
	return mediatype_is(ct, "application/json");
}
