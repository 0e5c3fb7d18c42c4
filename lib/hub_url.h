/* hub_url.h: the addresses a node dials the hub at.
 *
 * A hub URL is wss://HOST[:PORT][/v1/sync]: HOST a DNS name, an IPv4
 * address or an [IPv6] address, which is also the name sent as SNI and
 * checked against the hub's certificate; PORT 7443 when left out. A node
 * lists one or more ([hub] urls, blanks between them, at most
 * LIMIT_HUB_URLS) or gives the one-hub form ([hub] host, address, port),
 * which is one URL too. Every URL is kept in the canonical form
 * wss://HOST:PORT/v1/sync, which logs, /metrics and the console show. */
#ifndef ALLIANCE_HUB_URL_H
#define ALLIANCE_HUB_URL_H

#include <netinet/in.h>
#include <stddef.h>

#include "alliance_limits.h"

/* The hub's alliance port when a URL names none. */
#define HUB_URL_PORT 7443
/* The longest DNS name. */
#define HUB_URL_HOST_MAX 253

/* One hub to dial. */
struct hub_url {
	char url[LIMIT_HUB_URL + 1];     /* wss://HOST:PORT/v1/sync */
	char host[HUB_URL_HOST_MAX + 1]; /* SNI and the certificate name (an
					    IPv6 address without brackets) */
	char address[INET6_ADDRSTRLEN];  /* the IP to dial when known (an IP
					    host, or [hub] address); "": the
					    host is resolved */
	int port;                        /* 1..65535 */
};

/* hub_url_parse: the hub URL in the len bytes at text (no NUL needed) into
 * *u. Returns ERR_OK, or ERR_INVALID with why (whylen bytes) saying what is
 * wrong; *u is then undefined. */
int hub_url_parse(const char *text, size_t len, struct hub_url *u, char *why,
		  size_t whylen);

/* hub_url_list: the blank-separated hub URLs of list into out[0..*n),
 * at most max of them, none twice (compared in canonical form). Returns
 * ERR_OK, or ERR_INVALID with why naming the bad URL (an empty list, too
 * many, one too long or not a hub URL, one listed twice). */
int hub_url_list(const char *list, struct hub_url *out, size_t max,
		 size_t *n, char *why, size_t whylen);

/* hub_url_one: the one-hub form as a URL into *u: host (a name or IP, the
 * certificate name), address (the IP to dial, or NULL to resolve host)
 * and port. Returns ERR_OK, or ERR_INVALID when host or address does not
 * fit (the config checks have held them to their bounds already). */
int hub_url_one(const char *host, const char *address, int port,
		struct hub_url *u);

#endif
