/* listen.c: the address a server vhost listens on (see listen.h). */
#include <arpa/inet.h>
#include <string.h>

#include "listen.h"

void listen_address(struct lws_context_creation_info *info,
		    const char *address)
{
	struct in_addr a4;

	info->iface = NULL;
	if (!address || strcmp(address, "0.0.0.0") == 0 ||
	    strcmp(address, "::") == 0)
		return;                 /* every interface, both families */
	info->iface = address;
	if (inet_pton(AF_INET, address, &a4) == 1)
		info->options |= LWS_SERVER_OPTION_DISABLE_IPV6;
}
