/* alliance_limits.h: every size, count and time limit in one place.
 *
 * Each has a comment saying why; where an operator may want another value,
 * the config key that overrides it is named. A limit that is a config
 * key's default is a plain decimal: the key's table quotes it
 * (CONFIG_NUM, lib/config.h). */
#ifndef ALLIANCE_LIMITS_H
#define ALLIANCE_LIMITS_H

/* Largest websocket message (one Frame); bigger closes the session with
 * 1009. Config: [limits] max_frame, at least LIMIT_FRAME_MIN, so that
 * every single record (LIMIT_CHANGE_BYTES) and bulletin
 * (LIMIT_BULLETIN_BYTES) fits one frame at either end. */
#define LIMIT_FRAME_BYTES 1048576              /* 1 MiB */
#define LIMIT_FRAME_MIN (256u * 1024u)
/* Largest encoded Change a writer may log (a service within its field
 * limits is about 17 KB, the district's synonyms under 70 KB); a record
 * over it is refused where it is written, so every frame can carry it. */
#define LIMIT_CHANGE_BYTES (128u * 1024u)

/* Heap a decoded Frame may take: protobuf-c can turn 200 KB of empty
 * submessages into 4 MB, so unpack runs under this budget. */
#define LIMIT_DECODE_BUDGET (8u * 1024u * 1024u)

/* Deepest message nesting the frame validator walks. */
#define LIMIT_NESTING 16

/* A session that sends no valid Hello within this is closed (DESIGN.md). */
#define LIMIT_HELLO_TIMEOUT_S 5

/* Community ids: [a-z0-9][a-z0-9-]{1,62}. */
#define LIMIT_COMMUNITY_ID 63
/* Record ids and other identifiers on the wire. */
#define LIMIT_RECORD_ID 128
/* Display names of communities and operators. */
#define LIMIT_NAME 200

/* New sessions one certificate may open per LIMIT_FLOOD_WINDOW_S before
 * further upgrades are refused with 429. Config: [limits] sessions_per_minute. */
#define LIMIT_SESSIONS_PER_WINDOW 12
#define LIMIT_FLOOD_WINDOW_S 60

/* Unacked frames per direction per session (flow control). */
#define LIMIT_WINDOW 8
/* Changes in one Changes frame. */
#define LIMIT_BATCH 256
/* Bytes of one Changes frame (its encoding), either way: a frame holds at
 * least one record (a service is at most about 16 KB), and a peer's frame
 * over it or over LIMIT_BATCH changes closes the session (4414).
 * Announced in Welcome.batch_bytes. */
#define LIMIT_BATCH_BYTES (512u * 1024u)
/* Change-stream frames the hub holds built off its service thread at once
 * (lib/streamer.h: being built, or waiting for their session's WRITEABLE),
 * each at most LIMIT_BATCH_BYTES: 16 MiB in all, whatever the number of
 * sessions catching up. Past them a session's batch is built on the
 * service thread, at its WRITEABLE. */
#define LIMIT_STREAM_FRAMES 32
/* Frames queued for one session before it counts as a slow consumer. */
#define LIMIT_SEND_QUEUE 64
/* Bytes lws hands the hub's sync protocol per RECEIVE (its rx buffer,
 * held by every session for its whole life): bigger frames arrive in
 * several chunks and are reassembled. 4096 cost 3 KB more per idle node
 * (bench/scale) and bought nothing measurable. */
#define LIMIT_SYNC_RX_CHUNK 1024
/* Bytes lws writes to a sync session at once (lws_protocols
 * .tx_packet_size; without it lws takes the rx buffer's size): one full
 * TLS record with lws's LWS_PRE + 4 on top. With 1024 a 1 KiB bulletin
 * went out as two TLS records, the second from lws's own copy in a second
 * poll pass over every session (bench/fanout, BENCHMARKS.md); it is no
 * buffer, only the cut: what the socket does not take lws copies either
 * way. */
#define LIMIT_SYNC_TX_PACKET (16384 - 16 - 4)

/* Keepalive: ping after this much silence, drop after the second figure.
 * Config: [limits] ping_s, [limits] drop_s (1 to 3600 at hub and node:
 * lws keeps the node's keepalive times in 16 bits). */
#define LIMIT_PING_S 20
#define LIMIT_DROP_S 60

/* Node reconnect backoff: the first delay, the jitter percent, the most
 * the cap may be set to (config: [hub] backoff_max_s, default 60 s), and
 * how long a session must have held after Welcome for the backoff to
 * start over at the first delay (a hub that welcomes and drops at once
 * is not healthy). */
#define LIMIT_BACKOFF_FIRST_MS 1000
#define LIMIT_BACKOFF_JITTER_PCT 25
#define LIMIT_BACKOFF_MAX_S 3600
#define LIMIT_BACKOFF_HEALTHY_S 10

/* Hub URLs: how many a node may list ([hub] urls) and alliancectl may be
 * given (--hub, HUB_ALLIANCE_URLS), the replicas of one district (a round
 * over them stays short); and the bytes of one (a 253-byte host name with
 * scheme, port and path fits). */
#define LIMIT_HUB_URLS 8
#define LIMIT_HUB_URL 300

/* HTTP request bodies on API endpoints; bigger gets 413. */
#define LIMIT_HTTP_BODY (256u * 1024u)
/* Bulk import bodies. */
#define LIMIT_HTTP_BULK_BODY (8u * 1024u * 1024u)
/* Bytes of request bodies the public port holds at once from clients
 * that are not the manager (residents' forms and JSON, at most
 * LIMIT_HTTP_BODY each); a body beyond gets 503. The manager's bodies are
 * read only once the credential is verified (node/manager.c). */
#define LIMIT_HTTP_ANON_BODIES (16u * 1024u * 1024u)
/* Records in one bulk import (whose body is at most LIMIT_HTTP_BULK_BODY);
 * more get 413. */
#define LIMIT_BULK_ITEMS 10000u
/* Failed manager logins one client address may make within
 * LIMIT_LOGIN_WINDOW_S; beyond them it gets 429 until the window ends. */
#define LIMIT_LOGIN_FAILS 10u
#define LIMIT_LOGIN_WINDOW_S 60
/* How long a verified manager password is trusted without running the
 * KDF again (scripts make many calls). */
#define LIMIT_LOGIN_CACHE_S 300
/* Console sessions (cookie logins) a node keeps at once; a new login
 * beyond them evicts the one used least recently. */
#define LIMIT_CONSOLE_SESSIONS 64u
/* Default idle lifetime of a console session ([limits] session_idle_s). */
#define LIMIT_SESSION_IDLE_S 28800
/* A console session ends this long after login, however busy. */
#define LIMIT_SESSION_MAX_S (24 * 3600)
/* Manager requests waiting on a worker at once; more get 503. */
#define LIMIT_MANAGER_PARKED 256
/* Password checks and hashes waiting in one KDF lane (node/worker.c:
 * managers' logins, residents' registrations and logins); a client with
 * fewer waiting pushes out the newest of the client with the most, else
 * 503. One client address may have LIMIT_KDF_PER_CLIENT waiting in a
 * lane; more get 429. */
#define LIMIT_KDF_QUEUE 32
#define LIMIT_KDF_PER_CLIENT 8
/* A resident's phone number (node/residents.c): a mainland mobile number,
 * 11 digits 1[3-9]XXXXXXXXX (a leading 86 country code is dropped), among
 * spaces and + - ( ); the input itself at most LIMIT_PHONE_INPUT bytes.
 * A login also takes LIMIT_PHONE_DIGITS_MIN to LIMIT_PHONE_DIGITS digits,
 * which registrations took before they took mobile numbers only. */
#define LIMIT_PHONE_MOBILE 11
#define LIMIT_PHONE_DIGITS_MIN 5
#define LIMIT_PHONE_DIGITS 20
#define LIMIT_PHONE_INPUT 40
/* A resident's password, in bytes: long enough to resist guessing at the
 * login limit, short enough that the KDF input stays small. */
#define LIMIT_RESIDENT_PASSWORD_MIN 8
#define LIMIT_RESIDENT_PASSWORD_MAX 200
/* Longest URL (path and query) an API endpoint reads. */
#define LIMIT_HTTP_URI 2048

/* Quotas per community (lib/quota.h), the defaults of the hub's [quota]
 * section and what a node that was never told one enforces: live
 * services and announcements, the packed bytes of their bodies, and
 * creations and updates per hour. A real community publishes tens to a
 * few hundred services of a KB or two; these let it import a catalog of
 * thousands at once, and keep one node from making each of the others
 * store more than 8 MiB of bodies (about 25 MB on disk with the search
 * index; the attack of issue 13 pushed 135 MB). */
#define LIMIT_QUOTA_RECORDS 5000
#define LIMIT_QUOTA_BYTES 8388608              /* 8 MiB */
#define LIMIT_QUOTA_PER_HOUR 5000
/* A service's `updated` or an announcement's `published` further ahead
 * of the node's clock than this is refused when a manager writes it; the
 * hub clamps a later one from a peer to its own clock. */
#define LIMIT_CLOCK_AHEAD_S 300
/* A Hello whose cursor is past the hub's head (a hub restored from an
 * older backup) gets a snapshot at most this often per community; another
 * within the window continues from the head (Welcome.down_from). */
#define LIMIT_PAST_HEAD_SNAPSHOT_S 3600

/* Config files: longest accepted value. */
#define LIMIT_CONFIG_VALUE 1024

/* CA certificates one trust file may hold (two during a CA rollover),
 * and so CRLs in the hub's list. */
#define LIMIT_TRUST_CAS 8
/* Warn when the CRL's next update is closer than this. */
#define LIMIT_CRL_WARN_S (7 * 24 * 3600)
/* The district console's warnings (hub/alerts.c), the same thresholds as
 * deploy/prometheus/alliance-rules.yml: a certificate expiring within
 * this; a node not heard from for this long; a bulletin not delivered to
 * a community this long after the hub received it. */
#define LIMIT_CERT_WARN_S (30 * 24 * 3600)
#define LIMIT_SILENT_WARN_S 300
#define LIMIT_UNDELIVERED_WARN_S 60
/* Below this share (percent) of free space on the file system of a store
 * the disk is low (lib/store.c store_disk_low): a node's console and the
 * district console warn, and so alliance-rules.yml. */
#define LIMIT_DISK_LOW_PERCENT 10

/* Bulletins (lib/bulletin.c). The signed bytes of one bulletin; far above
 * any real text, far below a frame. */
#define LIMIT_BULLETIN_BYTES (128u * 1024u)
/* Headline and sender in bytes (CAP suggests headlines under 160 chars). */
#define LIMIT_BULLETIN_HEADLINE 400
/* Each long text: description, cause, response, instructions. */
#define LIMIT_BULLETIN_TEXT 8000
/* Communities one bulletin's area may list (a district of 1000 nodes). */
#define LIMIT_BULLETIN_AREA 1024
/* Bulletins an update or cancel may reference. */
#define LIMIT_BULLETIN_REFS 16
/* Longest a bulletin may stay current. */
#define LIMIT_BULLETIN_LIFETIME_S (366 * 24 * 3600)
/* Pinned signing keys per daemon. */
#define LIMIT_BULLETIN_KEYS 16
/* Bulletins sent to one node and not yet acked; more wait for acks. */
#define LIMIT_BULLETIN_INFLIGHT 16
/* Open live feeds (server-sent events) per node, a crowd of residents'
 * pages (within the unit's LimitNOFILE of 4096); more get 503. One client
 * (lib/peer.h: an address, an IPv6 /64) may hold
 * LIMIT_BULLETIN_LIVE_PER_CLIENT of them, a few tabs; more get 429. */
#define LIMIT_BULLETIN_LIVE 2048
#define LIMIT_BULLETIN_LIVE_PER_CLIENT 4
/* Seconds between keepalive comments on a live feed. */
#define LIMIT_BULLETIN_KEEPALIVE_S 15
/* Residents on a community's check-in list (those who need a call:
 * living alone, over 80, disabled): a community of ~15,000 has a few
 * hundred; far more is a mistake, and the console shows them all. */
#define LIMIT_CHECKIN_RESIDENTS 5000
/* Calls a grid worker may record for one resident in one check-in. */
#define LIMIT_CHECKIN_CALLS 20
/* Updates followed from a bulletin to the one that carries its check-in
 * on (node/checkin.c). */
#define LIMIT_CHECKIN_CHAIN 16

/* Pages with the bulletins in their HTML (lib/pages.c). The largest page
 * file read from [web] root to render (the pages are under 10 KB). */
#define LIMIT_PAGE_TEMPLATE (128u * 1024u)
/* Rendered bulletins per page: once the banner or the list has this many
 * bytes, the bulletins left are counted, not shown ("N more": the
 * bulletins page or the API has them). A page is at most this plus one
 * bulletin (about 200 KB escaped, at LIMIT_BULLETIN_TEXT) over its file. */
#define LIMIT_PAGE_BANNER_BYTES (32u * 1024u)
#define LIMIT_PAGE_LIST_BYTES (192u * 1024u)

/* The district's synonyms ([search] synonyms, lib/synonyms.c): the file's
 * bytes, its groups (one a line), the words of one group and the bytes of
 * one word. */
#define LIMIT_SYNONYMS_BYTES (64u * 1024u)
#define LIMIT_SYNONYMS_GROUPS 500
#define LIMIT_SYNONYMS_WORDS 16
#define LIMIT_SYNONYMS_WORD 48

/* A service's eligible communities and its search keywords: items and
 * bytes of one keyword. */
#define LIMIT_ELIGIBLE_COMMUNITIES 64
#define LIMIT_KEYWORDS 16
#define LIMIT_KEYWORD 48

/* Resident accounts (node/residents.c, node/phone_verify.c). A resident's
 * token expires this long after its last use ([limits]
 * resident_token_idle_s, bounded by the MIN and MAX); its last use is
 * written at most once per LIMIT_TOKEN_TOUCH_S. */
#define LIMIT_TOKEN_IDLE_S 2592000            /* 30 days */
#define LIMIT_TOKEN_IDLE_MIN_S 300
#define LIMIT_TOKEN_IDLE_MAX_S (365 * 24 * 3600)
#define LIMIT_TOKEN_TOUCH_S 60
/* A phone's one-time code: its digits, how long it is good for and how
 * many wrong tries end it (a new registration sends a new one). */
#define LIMIT_OTP_DIGITS 6
#define LIMIT_OTP_TTL_S 600
#define LIMIT_OTP_ATTEMPTS 5
/* Codes sent to one phone, and from one client address, per window:
 * each one is a text message somebody pays for and a phone that rings. */
#define LIMIT_OTP_SENDS_PER_PHONE 3
#define LIMIT_OTP_SENDS_PER_ADDR 10
#define LIMIT_OTP_SEND_WINDOW_S 3600
/* Accounts the manager's list of unconfirmed ones shows at once. */
#define LIMIT_PENDING_LIST 200

/* Webhooks (lib/webhook.c): messages waiting to be posted (more are
 * refused), tries per message with a doubling pause from the first, the
 * time one try may take, the longest body and the secret's bytes. */
#define LIMIT_WEBHOOK_QUEUE 256
#define LIMIT_WEBHOOK_TRIES 4
#define LIMIT_WEBHOOK_RETRY_S 2
#define LIMIT_WEBHOOK_TIMEOUT_S 10
#define LIMIT_WEBHOOK_BODY 4096
#define LIMIT_WEBHOOK_SECRET_MIN 16
#define LIMIT_WEBHOOK_SECRET_MAX 256

/* The outbox (node/outbox.c): webhook endpoints a node keeps, the bytes
 * of an endpoint's url and name, residents taking SMS alerts (so a
 * bulletin makes at most ENDPOINTS + SMS rows), the longest message
 * body, transfers in flight at once over all endpoints, how long a
 * request's status change is tried, how long finished rows are kept, the
 * dead letters the console lists, the age a gateway's signed callback may
 * have, and the random bytes of an endpoint's secret (shown as hex). */
#define LIMIT_OUTBOX_ENDPOINTS 32
#define LIMIT_OUTBOX_URL 512
#define LIMIT_OUTBOX_NAME 100
#define LIMIT_OUTBOX_SMS 50000
#define LIMIT_OUTBOX_BODY (256u * 1024u)
#define LIMIT_OUTBOX_INFLIGHT 256
#define LIMIT_OUTBOX_STATUS_S (24 * 3600)
#define LIMIT_OUTBOX_KEEP_S (7 * 24 * 3600)
#define LIMIT_OUTBOX_DEAD_LIST 200
#define LIMIT_OUTBOX_CALLBACK_AGE_S 300
#define LIMIT_OUTBOX_SECRET_BYTES 32
/* [open311] api_keys: keys third-party apps send as api_key with an
 * Open311 POST; each 16 to 128 bytes of [A-Za-z0-9_-], at most 64. */
#define LIMIT_OPEN311_KEY_MIN 16
#define LIMIT_OPEN311_KEY 128
#define LIMIT_OPEN311_KEYS 64

/* Bytes of the longest [public] url, the absolute base URL of a public
 * port. */
#define LIMIT_PUBLIC_URL 400

#endif
