/* tlspolicy.c: the alliance's TLS policy applied to lws vhosts (see
 * tlspolicy.h). lws 4.1 sets the options and lists from the creation info
 * when it makes the vhost's SSL_CTX, server and client alike. */
#include <libwebsockets.h>
#include <openssl/ssl.h>

#include "tlspolicy.h"

/* Below TLS 1.2 (lws itself turns off SSLv2 and SSLv3 on servers only). */
#define TLSPOLICY_OLD_VERSIONS \
	(SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1)

void tlspolicy_server(struct lws_context_creation_info *info)
{
	info->ssl_options_set |= (long)TLSPOLICY_OLD_VERSIONS;
	info->ssl_cipher_list = TLSPOLICY_CIPHERS_TLS12;
	info->tls1_3_plus_cipher_list = TLSPOLICY_CIPHERS_TLS13;
}

void tlspolicy_client(struct lws_context_creation_info *info)
{
	info->ssl_client_options_set |= (long)TLSPOLICY_OLD_VERSIONS;
	info->client_ssl_cipher_list = TLSPOLICY_CIPHERS_TLS12;
	info->client_tls_1_3_plus_cipher_list = TLSPOLICY_CIPHERS_TLS13;
}
