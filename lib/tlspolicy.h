/* tlspolicy.h: the TLS versions and cipher suites of every TLS endpoint
 * of the alliance: the hub's alliance port, the hub's and the node's
 * public ports when they serve HTTPS, the node's link to the hub and
 * alliancectl.
 *
 * Mozilla's "intermediate" profile: TLS 1.2 and 1.3 only, and under TLS
 * 1.2 only forward-secret AEAD suites (ECDHE with AES-GCM or
 * CHACHA20-POLY1305), so no CBC suite (LUCKY13) is ever offered or
 * accepted. TLS 1.3's own suites are all AEAD. */
#ifndef ALLIANCE_TLSPOLICY_H
#define ALLIANCE_TLSPOLICY_H

/* OpenSSL cipher list for TLS 1.2 (and curl's CURLOPT_SSL_CIPHER_LIST). */
#define TLSPOLICY_CIPHERS_TLS12 \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* TLS 1.3 suites, in Mozilla's order. */
#define TLSPOLICY_CIPHERS_TLS13 \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:" \
	"TLS_CHACHA20_POLY1305_SHA256"

struct lws_context_creation_info;

/* tlspolicy_server: set a listening vhost's creation info to the policy
 * (versions, both suite lists); options the caller set stay. */
void tlspolicy_server(struct lws_context_creation_info *info);

/* tlspolicy_client: the same for the client side of a vhost (the node's
 * link to the hub). */
void tlspolicy_client(struct lws_context_creation_info *info);

#endif
