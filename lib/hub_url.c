/* hub_url.c: hub URLs (wss://HOST[:PORT][/v1/sync]) read from a node's
 * configuration, one at a time or as a blank-separated list, into the
 * host, port and address a node dials (hub_url.h).
 *
 * Parts: the host; one URL; the list; the one-hub form. */
#include "hub_url.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "wire.h"

#define SCHEME "wss://"
/* Longest DNS label. */
#define LABEL_MAX 63

/* ---- the host ---------------------------------------------------------- */

/* host_name_valid: len bytes at s are a DNS name (labels of letters,
 * digits and '-', 1 to 63 bytes, dots between) or an IPv4 address. */
static int host_name_valid(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > HUB_URL_HOST_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0)
				return 0;    /* an empty label */
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return 0;
		if (++label > LABEL_MAX)
			return 0;
	}
	return label > 0;            /* no trailing dot */
}

/* ---- one URL ----------------------------------------------------------- */

/* parse_port: the 1 to 5 digits of len bytes at s as a port. Returns the
 * port, or 0 when they are not one. */
static int parse_port(const char *s, size_t len)
{
	int v = 0;

	if (len == 0 || len > 5)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : 0;
}

int hub_url_parse(const char *text, size_t len, struct hub_url *u, char *why,
		  size_t whylen)
{
	const char *p, *end = text + len, *h, *q;
	unsigned char ip[sizeof(struct in6_addr)];
	size_t hlen;
	int v6 = 0;

	memset(u, 0, sizeof(*u));
	if (len > LIMIT_HUB_URL) {
		snprintf(why, whylen, "a hub URL of %zu bytes, longer than %u",
			 len, (unsigned)LIMIT_HUB_URL);
		return ERR_INVALID;
	}
	if (len < strlen(SCHEME) || memcmp(text, SCHEME, strlen(SCHEME))) {
		snprintf(why, whylen, "'%.*s' does not start with wss:// (the "
			 "hub's mutual-TLS alliance port)", (int)len, text);
		return ERR_INVALID;
	}
	p = text + strlen(SCHEME);
	if (p < end && *p == '[') {            /* [IPv6] */
		h = p + 1;
		q = memchr(h, ']', (size_t)(end - h));
		if (!q || (size_t)(q - h) >= sizeof(u->host))
			goto bad_host;
		hlen = (size_t)(q - h);
		memcpy(u->host, h, hlen);
		if (inet_pton(AF_INET6, u->host, ip) != 1)
			goto bad_host;
		v6 = 1;
		p = q + 1;
	} else {
		h = p;
		while (p < end && *p != ':' && *p != '/')
			p++;
		hlen = (size_t)(p - h);
		if (!host_name_valid(h, hlen))
			goto bad_host;
		memcpy(u->host, h, hlen);
	}
	u->host[hlen] = '\0';
	u->port = HUB_URL_PORT;
	if (p < end && *p == ':') {
		q = ++p;
		while (p < end && *p != '/')
			p++;
		u->port = parse_port(q, (size_t)(p - q));
		if (!u->port) {
			snprintf(why, whylen, "'%.*s': the port must be 1 to "
				 "65535", (int)len, text);
			return ERR_INVALID;
		}
	}
	if (p < end && !((size_t)(end - p) == 1 && *p == '/') &&
	    !((size_t)(end - p) == strlen(WIRE_SYNC_PATH) &&
	      !memcmp(p, WIRE_SYNC_PATH, (size_t)(end - p)))) {
		snprintf(why, whylen, "'%.*s': the only path a hub URL may "
			 "have is %s", (int)len, text, WIRE_SYNC_PATH);
		return ERR_INVALID;
	}
	if (v6 || inet_pton(AF_INET, u->host, ip) == 1)
		memcpy(u->address, u->host, hlen + 1);  /* an IP fits */
	snprintf(u->url, sizeof(u->url), v6 ? "wss://[%s]:%d%s"
		 : "wss://%s:%d%s", u->host, u->port, WIRE_SYNC_PATH);
	return ERR_OK;
bad_host:
	snprintf(why, whylen, "'%.*s': the host must be a DNS name, an IPv4 "
		 "address or an [IPv6] address", (int)len, text);
	return ERR_INVALID;
}

/* ---- the list ---------------------------------------------------------- */

int hub_url_list(const char *list, struct hub_url *out, size_t max,
		 size_t *n, char *why, size_t whylen)
{
	static const char blanks[] = " \t";
	const char *p = list ? list : "";
	size_t len;

	*n = 0;
	for (p += strspn(p, blanks); *p; p += len, p += strspn(p, blanks)) {
		len = strcspn(p, blanks);
		if (*n == max) {
			snprintf(why, whylen, "more than %zu hub URLs", max);
			return ERR_INVALID;
		}
		if (hub_url_parse(p, len, &out[*n], why, whylen) != ERR_OK)
			return ERR_INVALID;
		for (size_t i = 0; i < *n; i++)
			if (!strcmp(out[i].url, out[*n].url)) {
				snprintf(why, whylen, "%s is listed twice",
					 out[i].url);
				return ERR_INVALID;
			}
		(*n)++;
	}
	if (*n == 0) {
		snprintf(why, whylen, "no hub URL (wss://HOST[:PORT])");
		return ERR_INVALID;
	}
	return ERR_OK;
}

/* ---- the one-hub form -------------------------------------------------- */

int hub_url_one(const char *host, const char *address, int port,
		struct hub_url *u)
{
	unsigned char ip[sizeof(struct in6_addr)];
	int v6 = inet_pton(AF_INET6, host, ip) == 1;

	memset(u, 0, sizeof(*u));
	if (strlen(host) >= sizeof(u->host) ||
	    (address && strlen(address) >= sizeof(u->address)))
		return ERR_INVALID;
	snprintf(u->host, sizeof(u->host), "%s", host);
	u->port = port;
	if (!address && (v6 || inet_pton(AF_INET, host, ip) == 1))
		address = host;       /* an IP, which fits */
	if (address)
		memcpy(u->address, address, strlen(address) + 1);
	snprintf(u->url, sizeof(u->url), v6 ? "wss://[%s]:%d%s"
		 : "wss://%s:%d%s", host, port, WIRE_SYNC_PATH);
	return ERR_OK;
}
