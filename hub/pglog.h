/* pglog.h: the hub replicas' shared log in PostgreSQL ([store]
 * postgresql; issue 18).
 *
 * PostgreSQL is the truth and does all replication and failover; each
 * replica's sqlite store is a derived copy, as its search index is. A
 * write that must be shared (a node's Changes batch, a session's claim,
 * a directory record, a tombstone purge, a bulletin, a delivery) is
 * appended as an event to the
 * log table alliance_log by the database thread, which the service
 * thread feeds through a bounded queue
 * and never waits for; every replica (the writer too) takes the log in
 * order (the writer its own events as committed, without reading them
 * back, when they are the next after what it read: pglog.c post_own)
 * and applies each event to its sqlite store on the service
 * thread, through the code that applies a local write (sync.c), so every
 * replica's copy goes through the same states. The thread wakes the
 * service thread with lws_cancel_service: its results are taken at
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED.
 *
 * Sequence order is commit order: an append takes a transaction-scoped
 * advisory lock before it allocates seq (max + 1), so the next append
 * allocates only after this one committed. A reader that has seen seq N
 * has seen every seq below it, committed earlier, and never skips one
 * (the trap of tailing by a sequence: a lower number committing after a
 * higher one was read). The price is one append transaction at a time
 * across the replicas, which the thread amortizes by appending all it
 * has queued in one transaction. */
#ifndef ALLIANCE_HUB_PGLOG_H
#define ALLIANCE_HUB_PGLOG_H

#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "alliance_limits.h"

/* Bounds of each queue between the threads: events and their bytes
 * (appends waiting for the database; log events read, waiting for the
 * service thread). A bulletin's acks come all at once, one event each:
 * the count holds those of 10,000 nodes at one replica (at 256, the
 * acks of 1000 nodes over two replicas overflowed it and were left
 * pending, bench/replicas); the bytes bound the memory. */
#define PGLOG_QUEUE 16384
#define PGLOG_QUEUE_BYTES (64u * 1024 * 1024)
/* The longest a connection attempt may take, milliseconds (libpq's
 * connect_timeout applies to each host within it). */
#define PGLOG_CONNECT_MS 10000
/* The longest a statement's answer is waited for, milliseconds: past
 * it the connection is dropped (pglog.c). Appends hold a lock while they
 * commit, so this bounds an append's wait for the others too. */
#define PGLOG_STATEMENT_MS 15000
/* The reconnect backoff's bounds, milliseconds. */
#define PGLOG_BACKOFF_MIN_MS 100
#define PGLOG_BACKOFF_MAX_MS 5000

/* What an event of the log is. */
enum pglog_kind {
	PGLOG_CHANGES = 1,      /* a node's Changes batch, as judged and
				   clamped by the replica it reached */
	PGLOG_CLAIM = 2,        /* a session of the community began at a
				   replica: "REPLICA SERIAL" (session.c) */
	PGLOG_DIRECTORY = 3,    /* a record the hub originates (origin
				   district: a community's, the synonyms),
				   a packed Change; last: its version
				   (directory.c) */
	PGLOG_PURGE = 4,        /* forget tombstones up to the stream
				   position last (retention.c) */
	PGLOG_BULLETIN = 5,     /* a bulletin an operator posted, verified
				   by the replica it reached; last: the
				   request's token (bulletin.c) */
	PGLOG_DELIVERY = 6,     /* community's refusal (or, written by an
				   older hub, ack) of a bulletin; last:
				   when, unix ms (bulletin.c) */
	PGLOG_RELAY = 7,        /* a record of community's Relay, packed in
				   parts (relay_pack_parts: redacting it
				   cuts the personal data off); last: the
				   replica's clock when it took it, unix
				   seconds, which every replica judges it
				   by (relay.c) */
	PGLOG_RELAYED = 8,      /* community's RelayAck (packed): it holds
				   those records; last: unix seconds
				   (relay.c) */
	PGLOG_POLL = 9,         /* a district poll an operator created, a
				   packed Change; last: its version
				   (polls.c) */
	PGLOG_DELIVERIES = 10,  /* the acks of bulletins a replica received
				   over a few milliseconds, each with its
				   community and time; community "", last
				   0 (bulletin.c) */
};

/* pglog_delivery: 1 when kind is an ack's or a refusal's event
 * (PGLOG_DELIVERY, PGLOG_DELIVERIES), which a replica applies a run at a
 * time. */
static inline int pglog_delivery(int kind)
{
	return kind == PGLOG_DELIVERY || kind == PGLOG_DELIVERIES;
}

/* The most events one append may redact. */
#define PGLOG_REDACT_MAX 1024

/* An event read from the log, or an append that failed (failed set). */
struct pglog_event {
	struct pglog_event *next;   /* the queue's */
	uint64_t seq;           /* its place in the log; 0 when failed */
	int kind;               /* enum pglog_kind */
	char community[LIMIT_COMMUNITY_ID + 1]; /* whose write it is */
	uint64_t last;          /* PGLOG_CHANGES: the batch's last seq */
	int failed;             /* an append not stored: why says why */
	uint64_t *redact;       /* an append's: the events it redacts */
	size_t n_redact;
	char why[200];
	size_t len;
	uint8_t *body;          /* the packed message (malloc'd) */
};

struct pglog;

/* pglog_start: start the database thread on conninfo, reading the log
 * after seq cursor (what the sqlite copy has applied), waking lws when
 * it has results. It connects, creates or migrates the schema and
 * reconnects (backoff PGLOG_BACKOFF_*) on its own; the hub runs while
 * the database is away. ERR_OK with *out, or an err code with err. */
int pglog_start(const char *conninfo, uint64_t cursor,
		struct lws_context *lws, struct pglog **out, char *err,
		size_t errlen);

/* pglog_stop: stop the thread (an append under way finishes), drop what
 * is queued and free *pl; NULL is a no-op. */
void pglog_stop(struct pglog **pl);

/* pglog_append: queue an event of kind for community (a copy of body),
 * to be appended; its outcome comes back through pglog_take (the event
 * itself once read from the log, or a failed one). ERR_OK; ERR_AGAIN
 * when the queue is full; ERR_IO when the database is away, with the
 * cause in why. Never waits on the database. */
int pglog_append(struct pglog *pl, int kind, const char *community,
		 uint64_t last, const void *body, size_t len, char *why,
		 size_t whylen);

/* pglog_append_redact: pglog_append, and in the same transaction the
 * bodies of the n events redact (seqs; n at most PGLOG_REDACT_MAX) cut
 * to their first part: a body that begins with a 4-byte big-endian
 * length K keeps its first 4 + K bytes (PGLOG_RELAY's: the record
 * without its personal data). */
int pglog_append_redact(struct pglog *pl, int kind, const char *community,
			uint64_t last, const void *body, size_t len,
			const uint64_t *redact, size_t n, char *why,
			size_t whylen);

/* pglog_take: the next result for the service thread (free it with
 * pglog_event_free), or NULL when none is waiting. */
struct pglog_event *pglog_take(struct pglog *pl);

void pglog_event_free(struct pglog_event *ev);

/* pglog_rewind: read the log again after seq (an event the service
 * thread took could not be applied); the events already taken past it
 * are the caller's to drop. Takes effect at the thread's next turn. */
void pglog_rewind(struct pglog *pl, uint64_t seq);

/* pglog_down: 1 with the cause in why when the database is not reachable
 * now (not connected since start, or lost), else 0. */
int pglog_down(struct pglog *pl, char *why, size_t whylen);

#endif
