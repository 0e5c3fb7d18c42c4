/* listen.h: the address a server vhost listens on.
 *
 * lws 4.1 built with IPv6 makes every listening socket AF_INET6 and parses
 * an IPv4 iface ("127.0.0.1") into the wrong bytes of its address, so the
 * socket ends up bound to :: (every interface, both families). An IPv4
 * address must turn IPv6 off for its vhost to be bound to it. */
#ifndef ALLIANCE_LISTEN_H
#define ALLIANCE_LISTEN_H

#include <libwebsockets.h>

/* listen_address: make info's vhost listen on address (an IPv4 or IPv6
 * literal, or NULL): iface set, and for an IPv4 address other than
 * 0.0.0.0 LWS_SERVER_OPTION_DISABLE_IPV6 added to info->options (so call
 * it after setting the options). NULL, 0.0.0.0 and :: listen on every
 * interface, IPv4 and IPv6. address must outlive the vhost. */
void listen_address(struct lws_context_creation_info *info,
		    const char *address);

#endif
