/* peer.h: who a client of a public port is, for per-address limits.
 *
 * The direct peer's address, unless it is one of [public]
 * trusted_proxies: then the rightmost X-Forwarded-For hop that is not a
 * trusted proxy. A proxy appends the address it took the request from,
 * so that hop is the proxy's word; hops further left are the client's
 * and are believed only through trusted proxies. From any other peer
 * X-Forwarded-For is ignored. An IPv6 client is counted by its /64, what
 * one subscriber is given. Likewise a request came over HTTPS when the
 * port itself speaks TLS, or a trusted proxy says X-Forwarded-Proto:
 * https. */
#ifndef ALLIANCE_PEER_H
#define ALLIANCE_PEER_H

#include <libwebsockets.h>
#include <stddef.h>

/* Entries of trusted_proxies. */
#define PEER_PROXIES_MAX 16
/* Room for a client key: an address, or an IPv6 /64 with its suffix. */
#define PEER_KEY_MAX 64

/* An address or a network (CIDR). */
struct peer_net {
	int family;                 /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned bits;              /* prefix length */
};

struct peer_proxies {
	size_t n;
	struct peer_net net[PEER_PROXIES_MAX];
};

/* peer_proxies_parse: list (addresses or CIDRs separated by commas or
 * spaces; NULL or "" for none) into out. ERR_OK, or ERR_INVALID with the
 * reason naming the bad entry in why. */
int peer_proxies_parse(const char *list, struct peer_proxies *out, char *why,
		       size_t whylen);

/* peer_client: the key per-address limits count the client of wsi by
 * (see above; "?" when unknown) into buf of PEER_KEY_MAX. tp may be
 * NULL (no trusted proxies). */
void peer_client(struct lws *wsi, const struct peer_proxies *tp, char *buf,
		 size_t len);

/* peer_resolve: the key of a client whose socket peer is direct (an
 * address as text) and whose request says xff in X-Forwarded-For (NULL:
 * none), as peer_client makes it, into buf. ERR_OK, or ERR_INVALID with
 * "?" when direct is no address. */
int peer_resolve(const char *direct, const char *xff,
		 const struct peer_proxies *tp, char *buf, size_t len);

/* peer_https: 1 when the request on wsi came over HTTPS: this port
 * speaks TLS, or the direct peer is in tp and says X-Forwarded-Proto:
 * https. */
int peer_https(struct lws *wsi, const struct peer_proxies *tp);

#endif
