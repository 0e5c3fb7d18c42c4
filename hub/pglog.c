/* pglog.c: the database thread of [store] postgresql (pglog.h).
 *
 * One thread owns the libpq connection. Each turn it connects if it must
 * (migrating the schema, preparing its statements, LISTEN alliance_log),
 * appends every queued event in one transaction (one INSERT; three round
 * trips in all) and hands them back as committed without reading them
 * when they are the next of the log here, reads the log past its cursor
 * while the results queue has room when it may hold more (another
 * replica's NOTIFY, a rewind, a reconnection, a second without either),
 * and then waits on the connection's socket (a NOTIFY) or on its pipe (a
 * new append, room freed, stop), at most a second. Each round trip is a
 * wait for the server and for this thread to be scheduled again, and a
 * bulletin's fan-out over two replicas waited for six of them at the
 * replica it reached before it sent anything, and for as many at every
 * ack (bench/replicas). A lost connection fails the queued appends
 * (their sessions are told to come back) and is retried with backoff.
 * The conninfo may list a primary and its standbys (libpq's multi-host
 * form with target_session_attrs=read-write): a reconnection then finds
 * whichever is writable, and a server that turned read-only under an
 * open connection (a demoted primary) is left for the next. No statement
 * is waited for longer than PGLOG_STATEMENT_MS (a commit held by an absent
 * synchronous standby waits for ever): past it the connection is dropped,
 * what it carried refused, and the database reported down.
 * Parts: queues; schema; appending; reading; the thread; start and stop. */
#include "pglog.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "err.h"
#include "log.h"

/* The advisory lock keys (pg_advisory_xact_lock's bigint space, shared
 * with anything else in the database: two values of our own). */
#define LOCK_APPEND 0x616c6c69616e01LL  /* "allian" 1: one append at once */
#define LOCK_SCHEMA 0x616c6c69616e02LL  /* "allian" 2: one migration */
/* A wait's longest, milliseconds: the thread checks for stop this often
 * even when nothing wakes it. */
#define WAIT_MS 1000
/* A connection attempt's wait between checks for stop, milliseconds. */
#define CONNECT_STEP_MS 100
/* Events read in one query at most. */
#define READ_AT_ONCE 32
/* A cause's longest, bytes: libpq's message for a multi-host conninfo
 * names each host's failure. */
#define CAUSE_LEN 512
/* A constant's digits, for a message. */
#define MS_TEXT_(ms) #ms
#define MS_TEXT(ms) MS_TEXT_(ms)
/* SQLSTATE of a write refused by a read-only server. */
#define SQLSTATE_READ_ONLY "25006"
/* Appends in one transaction at most (the rest go in the next). */
#define APPEND_AT_ONCE 1024

/* A FIFO of events; its bounds are kept by the callers (queue_full). */
struct queue {
	struct pglog_event *head, *tail;
	size_t n, bytes;
};

struct pglog {
	char *conninfo;
	struct lws_context *lws;
	pthread_t thread;
	int started;
	int wake[2];                /* pipe: the thread's wake-ups */
	pthread_mutex_t mu;         /* guards what follows */
	int stop;
	int up;                     /* connected and migrated */
	char cause[CAUSE_LEN];      /* why it is down */
	struct queue appends;       /* service -> thread */
	struct queue results;       /* thread -> service */
	int rewind;                 /* read again after rewind_to */
	uint64_t rewind_to;
	/* the thread's own */
	PGconn *conn;
	int read_only;              /* the server refused a write as
				       read-only: connect again */
	int timed_out;              /* a statement outlived
				       PGLOG_STATEMENT_MS: connect again */
	char lost[CAUSE_LEN];       /* the first failure on the connection
				       (what follows says only "no
				       connection to the server") */
	uint64_t cursor;            /* the last seq read */
	int read_due;               /* the log may hold events past the
				       cursor: read it (read_log) */
};

/* ---- queues -------------------------------------------------------------- */

/* queue_full: whether q is at its bounds (PGLOG_QUEUE, _BYTES). */
static int queue_full(const struct queue *q)
{
	return q->n >= PGLOG_QUEUE || q->bytes >= PGLOG_QUEUE_BYTES;
}

static void queue_push(struct queue *q, struct pglog_event *ev)
{
	ev->next = NULL;
	if (q->tail)
		q->tail->next = ev;
	else
		q->head = ev;
	q->tail = ev;
	q->n++;
	q->bytes += ev->len;
}

static struct pglog_event *queue_pop(struct queue *q)
{
	struct pglog_event *ev = q->head;

	if (!ev)
		return NULL;
	q->head = ev->next;
	if (!q->head)
		q->tail = NULL;
	q->n--;
	q->bytes -= ev->len;
	ev->next = NULL;
	return ev;
}

void pglog_event_free(struct pglog_event *ev)
{
	if (!ev)
		return;
	free(ev->body);
	free(ev->redact);
	free(ev);
}

static void wake_thread(struct pglog *pl)
{
	char b = 1;

	/* a full pipe already holds a wake-up */
	if (write(pl->wake[1], &b, 1) < 0 && errno != EAGAIN)
		log_warn("pglog: cannot wake the database thread: %s",
			 strerror(errno));
}

/* queue_result: hand a result to the service thread, which is woken
 * (lws_cancel_service) by the caller: once for the events of one read,
 * not for each (every wake-up is a pass of its service loop). read_log keeps the results to their bounds; a failure
 * is an append taken, its body within the appends' bounds, so failures
 * are always posted. */
static void queue_result(struct pglog *pl, struct pglog_event *ev)
{
	pthread_mutex_lock(&pl->mu);
	queue_push(&pl->results, ev);
	pthread_mutex_unlock(&pl->mu);
}

/* post: queue_result and wake the service thread. */
static void post(struct pglog *pl, struct pglog_event *ev)
{
	queue_result(pl, ev);
	lws_cancel_service(pl->lws);
}

/* fail: post ev back as failed with why, its body kept (a
 * PGLOG_DELIVERIES' says whose acks were not stored). */
static void fail(struct pglog *pl, struct pglog_event *ev, const char *why)
{
	ev->failed = 1;
	ev->seq = 0;
	/* (the cause cut to the event's room) */
	snprintf(ev->why, sizeof(ev->why), "%.*s", (int)sizeof(ev->why) - 1,
		 why);
	post(pl, ev);
}

/* one_line: libpq's message in msg (size bytes) made one line, in
 * place: its lines (one per host of a multi-host conninfo, the last
 * ending in a newline) joined with "; ", its indented hints ("Is the
 * server running...?") left out, cut to fit (a "; " is longer than the
 * newline it replaces). */
static void one_line(char *msg, size_t size)
{
	char in[CAUSE_LEN];
	const char *p = in;
	size_t len = 0;

	snprintf(in, sizeof(in), "%s", msg);
	msg[0] = '\0';
	while (*p) {
		size_t n = strcspn(p, "\n");

		if (*p != '\t' && len < size) {
			int w = snprintf(msg + len, size - len, "%s%.*s",
					 len ? "; " : "", (int)n, p);

			len += w > 0 ? (size_t)w : 0;
		}
		p += n;
		if (*p == '\n')
			p++;
	}
}

/* note_lost: when the connection is lost, keep its first failure, msg
 * (libpq's), for the cause. */
static void note_lost(struct pglog *pl, const char *msg)
{
	if (PQstatus(pl->conn) == CONNECTION_BAD && !pl->lost[0]) {
		snprintf(pl->lost, sizeof(pl->lost), "%s", msg);
		one_line(pl->lost, sizeof(pl->lost));
	}
}

static int stopping(struct pglog *pl);

/* conn_error: why the connection's last statement failed. */
static const char *conn_error(struct pglog *pl)
{
	if (pl->timed_out)
		return stopping(pl) ? "the hub is stopping"
		       : "no answer within " MS_TEXT(PGLOG_STATEMENT_MS)
			 " ms (a synchronous standby away?)";
	return PQerrorMessage(pl->conn);
}

/* usable: whether the connection may go on: up, writable, answering. */
static int usable(struct pglog *pl)
{
	return PQstatus(pl->conn) == CONNECTION_OK && !pl->read_only &&
	       !pl->timed_out;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* run: one statement (n parameters, results in format rfmt) on the
 * non-blocking connection, waiting at most PGLOG_STATEMENT_MS for its
 * result, or until pglog_stop. The result (PQclear it), or NULL: not
 * sent, or the wait ran out or was stopped (pl->timed_out set: the
 * connection must be dropped, and nothing more is sent on it). The
 * statement is not cancelled: a cancelled wait for a synchronous standby
 * would make the commit visible on the primary alone, so it is left to
 * finish or fail with the connection. */
static PGresult *result(struct pglog *pl);

static PGresult *run(struct pglog *pl, const char *sql, int n,
		     const char *const *vals, const int *lens,
		     const int *fmts, int rfmt)
{
	if (pl->timed_out ||
	    !PQsendQueryParams(pl->conn, sql, n, NULL, vals, lens, fmts, rfmt))
		return NULL;
	return result(pl);
}

/* Statements prepared on each connection (connect_db), parsed and planned
 * once: a bulletin's acks are a thousand appends and as many events read
 * at each replica, and parsing and planning each statement again was half
 * of each PostgreSQL backend's CPU (bench/replicas, perf). */
enum { PS_APPEND, PS_READ, PS_COUNT };

static const char *const prepared_name[PS_COUNT] = {
	[PS_APPEND] = "alliance_append",
	[PS_READ] = "alliance_read",
};

static const char *const prepared_sql[PS_COUNT] = {
	/* the events of one transaction in one statement, numbered in
	 * their order after the highest seq (read under LOCK_APPEND):
	 * $1..$4 are arrays, one element an event */
	[PS_APPEND] =
		"WITH ins AS (INSERT INTO alliance_log"
		" (seq, kind, community, last_seq, body)"
		" SELECT m.top + e.n, e.kind, e.community, e.last_seq, e.body"
		" FROM (SELECT coalesce(max(seq), 0) AS top FROM alliance_log) m,"
		" unnest($1::smallint[], $2::text[], $3::bigint[], $4::bytea[])"
		" WITH ORDINALITY AS e(kind, community, last_seq, body, n)"
		" RETURNING seq) SELECT min(seq) FROM ins",
	[PS_READ] =
		"SELECT seq, kind, community, last_seq, body"
		" FROM alliance_log WHERE seq > $1::bigint"
		" ORDER BY seq LIMIT $2::bigint",
};

/* run_prepared: run, for prepared statement k (PS_*). */
static PGresult *run_prepared(struct pglog *pl, int k, int n,
			      const char *const *vals, const int *lens,
			      const int *fmts, int rfmt)
{
	if (pl->timed_out ||
	    !PQsendQueryPrepared(pl->conn, prepared_name[k], n, vals, lens,
				 fmts, rfmt))
		return NULL;
	return result(pl);
}

/* prepare_all: prepare the PS_* statements on the new connection. 1, or 0
 * with why. */
static int prepare_all(struct pglog *pl, char *why, size_t whylen)
{
	for (int k = 0; k < PS_COUNT; k++) {
		PGresult *r = NULL;
		int ok = !pl->timed_out &&
			 PQsendPrepare(pl->conn, prepared_name[k],
				       prepared_sql[k], 0, NULL) &&
			 (r = result(pl)) &&
			 PQresultStatus(r) == PGRES_COMMAND_OK;

		if (!ok)
			snprintf(why, whylen, "%s", conn_error(pl));
		PQclear(r);
		if (!ok)
			return 0;
	}
	return 1;
}

/* result: the result of the statement just sent (run). */
static PGresult *result(struct pglog *pl)
{
	int64_t deadline = now_ms() + PGLOG_STATEMENT_MS;
	PGresult *last = NULL, *r;

	for (;;) {
		int flush = PQflush(pl->conn);   /* 1: more to send */
		struct pollfd fds[2] = { { PQsocket(pl->conn), POLLIN, 0 },
					 { pl->wake[0], POLLIN, 0 } };
		char buf[64];
		int64_t left;

		if (flush < 0 || PQstatus(pl->conn) == CONNECTION_BAD ||
		    (!flush && !PQisBusy(pl->conn))) {
			/* (on a lost connection libpq answers at once) */
			while ((r = PQgetResult(pl->conn))) {
				PQclear(last);
				last = r;
			}
			return last;
		}
		left = deadline - now_ms();
		if (left <= 0 || stopping(pl)) {
			pl->timed_out = 1;
			PQclear(last);
			return NULL;
		}
		if (flush)
			fds[0].events |= POLLOUT;
		if (poll(fds, 2, (int)left) < 0 && errno != EINTR)
			return last;
		/* (what woke it is seen at the thread's next turn) */
		if (fds[1].revents & POLLIN)
			while (read(pl->wake[0], buf, sizeof(buf)) > 0)
				;
		PQconsumeInput(pl->conn);  /* a failure shows in PQstatus */
	}
}

/* ---- schema -------------------------------------------------------------- */

/* The schema's versions, in order; alliance_schema holds how many ran.
 * Append new ones at the end. */
static const char *const schema[] = {
	/* v1: the shared log; seq is allocated under LOCK_APPEND */
	"CREATE TABLE alliance_log ("
	"  seq bigint PRIMARY KEY,"
	"  kind smallint NOT NULL,"
	"  community text NOT NULL,"
	"  last_seq bigint NOT NULL,"
	"  body bytea NOT NULL,"
	"  at timestamptz NOT NULL DEFAULT now())",
};

#define N_SCHEMA (sizeof(schema) / sizeof(schema[0]))

/* exec_ok: run sql, which may be several statements (sent at once: one
 * round trip to the server; the first that fails ends it); 1 when all
 * succeeded, else 0 with the cause noted. */
static int exec_ok(struct pglog *pl, const char *sql, char *why,
		   size_t whylen)
{
	PGresult *r = pl->timed_out || !PQsendQuery(pl->conn, sql) ? NULL
		      : result(pl);
	ExecStatusType st = PQresultStatus(r);
	int ok = r && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);

	if (!ok)
		snprintf(why, whylen, "%s", conn_error(pl));
	PQclear(r);
	return ok;
}

/* migrate: bring the schema to N_SCHEMA in one transaction, one replica
 * at a time. 1, or 0 with why. */
static int migrate(struct pglog *pl, char *why, size_t whylen)
{
	char sql[160];
	PGresult *r;
	long have = 0;
	size_t i;

	if (!exec_ok(pl, "BEGIN", why, whylen))
		return 0;
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%lld)",
		 LOCK_SCHEMA);
	if (!exec_ok(pl, sql, why, whylen) ||
	    !exec_ok(pl, "CREATE TABLE IF NOT EXISTS alliance_schema"
		     " (version integer NOT NULL)", why, whylen))
		goto fail;
	r = run(pl, "SELECT max(version) FROM alliance_schema", 0, NULL, NULL,
		NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(why, whylen, "%s", conn_error(pl));
		PQclear(r);
		goto fail;
	}
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		have = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (have > (long)N_SCHEMA) {
		snprintf(why, whylen, "the database's schema is v%ld, newer "
			 "than this hub's v%zu: upgrade this hub", have,
			 N_SCHEMA);
		goto fail;
	}
	for (i = (size_t)have; i < N_SCHEMA; i++)
		if (!exec_ok(pl, schema[i], why, whylen))
			goto fail;
	if ((size_t)have < N_SCHEMA) {
		snprintf(sql, sizeof(sql), "INSERT INTO alliance_schema VALUES"
			 " (%zu)", N_SCHEMA);
		if (!exec_ok(pl, "DELETE FROM alliance_schema", why, whylen) ||
		    !exec_ok(pl, sql, why, whylen))
			goto fail;
		log_info("pglog: schema migrated from v%ld to v%zu", have,
			 N_SCHEMA);
	}
	if (!exec_ok(pl, "COMMIT", why, whylen))
		goto fail;
	return 1;
fail:
	exec_ok(pl, "ROLLBACK", sql, sizeof(sql));
	return 0;
}

/* ---- appending ----------------------------------------------------------- */

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* PostgreSQL's type oids of the arrays' elements (pg_type.dat). */
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_TEXT 25
/* A one-dimensional binary array's header, bytes (ndim, has nulls, the
 * element's oid, the length, the lower bound), and an element's length. */
#define ARRAY_HEAD 20
#define ARRAY_ELEM 4

/* array_new: a binary array of n elements of oid, with room for bytes
 * of their content; its elements are added by array_add. */
static uint8_t *array_new(uint32_t oid, size_t n, size_t bytes,
			  size_t *len)
{
	uint8_t *a = malloc(ARRAY_HEAD + n * ARRAY_ELEM + bytes);
	const uint32_t head[5] = { 1, 0, oid, (uint32_t)n, 1 };

	if (!a)
		return NULL;
	for (int i = 0; i < 5; i++)
		put_be32(a + 4 * i, head[i]);
	*len = ARRAY_HEAD;
	return a;
}

/* array_add: append an element of len bytes to binary array a. */
static void array_add(uint8_t *a, size_t *at, const void *p, size_t len)
{
	put_be32(a + *at, (uint32_t)len);
	memcpy(a + *at + ARRAY_ELEM, p, len);
	*at += ARRAY_ELEM + len;
}

/* append_events: insert evs[0..n) at the next seqs, in their order,
 * inside the open transaction that holds LOCK_APPEND, in one statement;
 * the first seq in *first. 1, or 0 with why. */
static int append_events(struct pglog *pl, struct pglog_event *const *evs,
			 size_t n, uint64_t *first, char *why, size_t whylen)
{
	size_t community = 0, body = 0, len[4] = { 0 }, i;
	uint8_t *arr[4];
	const char *vals[4];
	int lens[4], fmts[4] = { 1, 1, 1, 1 };
	PGresult *r;
	int ok = 0;

	for (i = 0; i < n; i++) {
		community += strlen(evs[i]->community);
		body += evs[i]->len;
	}
	arr[0] = array_new(OID_INT2, n, 2 * n, &len[0]);
	arr[1] = array_new(OID_TEXT, n, community, &len[1]);
	arr[2] = array_new(OID_INT8, n, 8 * n, &len[2]);
	arr[3] = array_new(OID_BYTEA, n, body, &len[3]);
	if (!arr[0] || !arr[1] || !arr[2] || !arr[3]) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		uint8_t kind[2] = { 0, (uint8_t)evs[i]->kind }, last[8];

		put_be64(last, evs[i]->last);
		array_add(arr[0], &len[0], kind, 2);
		array_add(arr[1], &len[1], evs[i]->community,
			  strlen(evs[i]->community));
		array_add(arr[2], &len[2], last, 8);
		array_add(arr[3], &len[3], evs[i]->body, evs[i]->len);
	}
	for (i = 0; i < 4; i++) {
		vals[i] = (const char *)arr[i];
		lens[i] = (int)len[i];
	}
	r = run_prepared(pl, PS_APPEND, 4, vals, lens, fmts, 1);
	ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	     PQgetlength(r, 0, 0) == 8;
	if (ok)
		*first = get_be64((const uint8_t *)PQgetvalue(r, 0, 0));
	else {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

		snprintf(why, whylen, "%s", conn_error(pl));
		pl->read_only = state &&
				!strcmp(state, SQLSTATE_READ_ONLY);
	}
	PQclear(r);
out:
	for (i = 0; i < 4; i++)
		free(arr[i]);
	return ok;
}

/* redact_events: cut the bodies of the events ev redacts to their first
 * part (pglog_append_redact), inside the open transaction. 1, or 0 with
 * why. */
static int redact_events(struct pglog *pl, const struct pglog_event *ev,
			 char *why, size_t whylen)
{
	/* "{1,2,...}": at most 21 bytes a seq */
	size_t cap = ev->n_redact * 21 + 3, at = 1;
	char *list;
	const char *vals[1];
	PGresult *r;
	int ok;

	if (!ev->n_redact)
		return 1;
	list = malloc(cap);
	if (!list) {
		snprintf(why, whylen, "out of memory");
		return 0;
	}
	list[0] = '{';
	for (size_t i = 0; i < ev->n_redact; i++)
		at += (size_t)snprintf(list + at, cap - at, "%s%llu",
				       i ? "," : "",
				       (unsigned long long)ev->redact[i]);
	snprintf(list + at, cap - at, "}");
	vals[0] = list;
	r = PQexecParams(pl->conn,
		/* (PostgreSQL's << and | bind alike: each in brackets) */
		"UPDATE alliance_log SET body = substring(body FROM 1 FOR (4 +"
		" (get_byte(body, 0)::bigint << 24) + (get_byte(body, 1) << 16)"
		" + (get_byte(body, 2) << 8) + get_byte(body, 3))::integer)"
		" WHERE seq = ANY($1::bigint[]) AND length(body) >= 4",
		1, NULL, vals, NULL, NULL, 0);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		snprintf(why, whylen, "%s", PQerrorMessage(pl->conn));
	PQclear(r);
	free(list);
	return ok;
}

/* post_own: the events batch[0..n) just committed from seq first on,
 * handed to the service thread as they are, without reading them back,
 * when they are the next of the log here (the cursor is just below
 * them: every seq below first committed before them, and was read); else
 * freed, and the log is read. Each of the batch is posted or freed. */
static void post_own(struct pglog *pl, struct pglog_event **batch,
		     size_t n, uint64_t first)
{
	int room;

	pthread_mutex_lock(&pl->mu);
	room = pl->results.n + n <= PGLOG_QUEUE &&
	       pl->results.bytes < PGLOG_QUEUE_BYTES;
	pthread_mutex_unlock(&pl->mu);
	if (pl->read_due || pl->cursor + 1 != first || !room) {
		for (size_t i = 0; i < n; i++)
			pglog_event_free(batch[i]);
		pl->read_due = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		free(batch[i]->redact);
		batch[i]->redact = NULL;
		batch[i]->n_redact = 0;
		batch[i]->seq = first + i;
		pl->cursor = batch[i]->seq;
		queue_result(pl, batch[i]);
	}
	lws_cancel_service(pl->lws);
}

/* append_all: the queued appends (up to APPEND_AT_ONCE) in one
 * transaction, in three round trips to the server (BEGIN and the lock;
 * the events; the NOTIFY and COMMIT), and handed back (post_own); each
 * failed one goes back failed. 1, or 0 when the
 * connection must be made again: lost, or to a server that refuses
 * writes (read-only: a demoted primary, a standby reached without
 * target_session_attrs=read-write). */
static int append_all(struct pglog *pl)
{
	struct pglog_event *batch[APPEND_AT_ONCE];
	size_t n = 0, i;
	char why[CAUSE_LEN], sql[120];
	uint64_t first = 0;
	int ok, unsure = 0;

	pthread_mutex_lock(&pl->mu);
	while (n < APPEND_AT_ONCE && (batch[n] = queue_pop(&pl->appends)))
		n++;
	pthread_mutex_unlock(&pl->mu);
	if (!n)
		return 1;
	/* the lock before max(seq) (pglog.h), and READ COMMITTED whatever
	 * the database's default: max(seq) must be read by a snapshot taken
	 * after the lock was granted, which a transaction-wide snapshot
	 * (REPEATABLE READ) is not: the INSERT is a statement of its own,
	 * after the lock's */
	snprintf(sql, sizeof(sql), "BEGIN ISOLATION LEVEL READ COMMITTED;"
		 " SELECT pg_advisory_xact_lock(%lld)", LOCK_APPEND);
	ok = exec_ok(pl, sql, why, sizeof(why)) &&
	     append_events(pl, batch, n, &first, why, sizeof(why));
	for (i = 0; ok && i < n; i++)
		ok = redact_events(pl, batch[i], why, sizeof(why));
	if (ok && !exec_ok(pl, "SELECT pg_notify('alliance_log', ''); COMMIT",
			   why, sizeof(why))) {
		ok = 0;
		unsure = PQstatus(pl->conn) == CONNECTION_BAD ||
			 pl->timed_out;
	}
	if (ok) {
		post_own(pl, batch, n, first);
		return 1;
	}
	note_lost(pl, why);
	exec_ok(pl, "ROLLBACK", sql, sizeof(sql));
	one_line(why, sizeof(why));
	/* a COMMIT whose answer was lost with the connection may yet have
	 * committed: refused all the same, saying so. A node sends the
	 * batch again (the version rule makes a second copy stale); an
	 * operator looks before posting again */
	if (unsure) {
		char lost[CAUSE_LEN];

		snprintf(lost, sizeof(lost), "%s", why);
		snprintf(why, sizeof(why), "the commit was not confirmed and "
			 "may yet take effect: %.400s", lost);
	}
	log_warn("pglog: %zu appends not stored: %s", n, why);
	for (i = 0; i < n; i++)
		fail(pl, batch[i], why);
	return usable(pl);
}

/* ---- reading ------------------------------------------------------------- */

/* read_log: when the log may hold events past the cursor (read_due),
 * post them while the results queue has room. 1, or 0 when the
 * connection must be made again. */
static int read_log(struct pglog *pl)
{
	if (!pl->read_due)
		return 1;
	pl->read_due = 0;
	for (;;) {
		uint8_t after[8];
		char limit[40];
		const char *vals[2] = { (const char *)after, limit };
		int lens[2] = { 8, 0 }, fmts[2] = { 1, 0 };
		size_t room;
		PGresult *r;
		int i, n;

		pthread_mutex_lock(&pl->mu);
		room = queue_full(&pl->results) ? 0
		       : PGLOG_QUEUE - pl->results.n;
		pthread_mutex_unlock(&pl->mu);
		if (!room) {
			pl->read_due = 1;
			return 1;       /* take() wakes the thread */
		}
		/* a few at a time: the bytes bound is passed by at most these */
		if (room > READ_AT_ONCE)
			room = READ_AT_ONCE;
		put_be64(after, pl->cursor);
		snprintf(limit, sizeof(limit), "%zu", room);
		r = run_prepared(pl, PS_READ, 2, vals, lens, fmts, 1);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			note_lost(pl, conn_error(pl));
			log_warn("pglog: reading the log: %s", conn_error(pl));
			PQclear(r);
			return usable(pl);
		}
		n = PQntuples(r);
		for (i = 0; i < n; i++) {
			struct pglog_event *ev = calloc(1, sizeof(*ev));
			int blen = PQgetlength(r, i, 4);
			int clen = PQgetlength(r, i, 2);

			if (!ev || !(ev->body = malloc(blen ? blen : 1))) {
				free(ev);
				PQclear(r);
				log_error("pglog: out of memory reading the "
					  "log");
				if (i)
					lws_cancel_service(pl->lws);
				return 1;
			}
			ev->seq = get_be64((const uint8_t *)PQgetvalue(r, i, 0));
			ev->kind = ((const uint8_t *)PQgetvalue(r, i, 1))[1];
			snprintf(ev->community, sizeof(ev->community), "%.*s",
				 clen, PQgetvalue(r, i, 2));
			ev->last = get_be64((const uint8_t *)PQgetvalue(r, i, 3));
			memcpy(ev->body, PQgetvalue(r, i, 4), (size_t)blen);
			ev->len = (size_t)blen;
			pl->cursor = ev->seq;
			queue_result(pl, ev);
		}
		PQclear(r);
		if (n)
			lws_cancel_service(pl->lws);
		if ((size_t)n < room)
			return 1;
	}
}

/* ---- the thread ---------------------------------------------------------- */

static void set_state(struct pglog *pl, int up, const char *cause)
{
	pthread_mutex_lock(&pl->mu);
	pl->up = up;
	snprintf(pl->cause, sizeof(pl->cause), "%s", cause);
	pthread_mutex_unlock(&pl->mu);
}

/* fail_queued: while down, the queued appends go back failed. */
static void fail_queued(struct pglog *pl, const char *why)
{
	struct pglog_event *ev;

	for (;;) {
		pthread_mutex_lock(&pl->mu);
		ev = queue_pop(&pl->appends);
		pthread_mutex_unlock(&pl->mu);
		if (!ev)
			return;
		fail(pl, ev, why);
	}
}

/* disconnect: close the connection. */
static void disconnect(struct pglog *pl)
{
	PQfinish(pl->conn);
	pl->conn = NULL;
	pl->read_only = 0;
	pl->timed_out = 0;
	pl->lost[0] = '\0';
}

/* start_connect: connect without blocking for longer than a step of
 * CONNECT_STEP_MS, giving up after PGLOG_CONNECT_MS or at stop (a
 * conninfo's connect_timeout is the caller's to keep with PQconnectPoll).
 * 1, or 0 with why (pl->conn may be set: disconnect frees it). */
static int start_connect(struct pglog *pl, char *why, size_t whylen)
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int waited = 0;

	pl->conn = PQconnectStart(pl->conninfo);
	if (!pl->conn) {
		snprintf(why, whylen, "out of memory");
		return 0;
	}
	if (PQstatus(pl->conn) == CONNECTION_BAD) {
		snprintf(why, whylen, "%s", PQerrorMessage(pl->conn));
		return 0;
	}
	while (st != PGRES_POLLING_OK) {
		struct pollfd fd = { PQsocket(pl->conn),
				     st == PGRES_POLLING_READING ? POLLIN
								 : POLLOUT, 0 };

		if (st == PGRES_POLLING_FAILED) {
			snprintf(why, whylen, "%s", PQerrorMessage(pl->conn));
			return 0;
		}
		if (stopping(pl) || waited >= PGLOG_CONNECT_MS) {
			snprintf(why, whylen, "no connection within %d ms",
				 PGLOG_CONNECT_MS);
			return 0;
		}
		/* (a socket of -1 is passed over: a plain wait) */
		if (poll(&fd, 1, CONNECT_STEP_MS) == 0)
			waited += CONNECT_STEP_MS;
		st = PQconnectPoll(pl->conn);
	}
	return 1;
}

/* connect_db: connect, migrate and LISTEN. 1, or 0 with why. */
static int connect_db(struct pglog *pl, char *why, size_t whylen)
{
	if (!start_connect(pl, why, whylen))
		goto fail;
	/* sending never blocks either (run waits on the socket) */
	if (PQsetnonblocking(pl->conn, 1) != 0) {
		snprintf(why, whylen, "%s", PQerrorMessage(pl->conn));
		goto fail;
	}
	if (!migrate(pl, why, whylen) || !prepare_all(pl, why, whylen) ||
	    !exec_ok(pl, "LISTEN alliance_log", why, whylen))
		goto fail;
	return 1;
fail:
	one_line(why, whylen);
	if (pl->conn)
		disconnect(pl);
	return 0;
}

/* notices: take the NOTIFYs received; one from another connection (the
 * append of another replica) makes the log due to be read; this
 * connection's own were posted by post_own, or made it due. */
static void notices(struct pglog *pl)
{
	PGnotify *nt;

	if (!PQconsumeInput(pl->conn))
		note_lost(pl, PQerrorMessage(pl->conn));
	while ((nt = PQnotifies(pl->conn))) {
		if (nt->be_pid != PQbackendPID(pl->conn))
			pl->read_due = 1;
		PQfreemem(nt);
	}
}

/* wait: for the socket (when connected), the pipe, or ms; when ms pass
 * with nothing, the log is read all the same. */
static void wait_for(struct pglog *pl, int ms)
{
	struct pollfd fds[2] = { { pl->wake[0], POLLIN, 0 },
				 { -1, POLLIN, 0 } };
	char buf[64];

	if (pl->conn)
		fds[1].fd = PQsocket(pl->conn);
	int n = poll(fds, fds[1].fd >= 0 ? 2 : 1, ms);

	if (n > 0 && (fds[0].revents & POLLIN))
		while (read(pl->wake[0], buf, sizeof(buf)) > 0)
			;
	if (n == 0)
		pl->read_due = 1;
	if (pl->conn)
		notices(pl);
}

static int stopping(struct pglog *pl)
{
	int stop;

	pthread_mutex_lock(&pl->mu);
	stop = pl->stop;
	pthread_mutex_unlock(&pl->mu);
	return stop;
}

static void *thread_main(void *arg)
{
	struct pglog *pl = arg;
	int backoff = PGLOG_BACKOFF_MIN_MS;
	char why[CAUSE_LEN];

	while (!stopping(pl)) {
		if (!pl->conn) {
			if (!connect_db(pl, why, sizeof(why))) {
				set_state(pl, 0, why);
				log_warn("pglog: the database is unreachable: %s;"
					 " retrying in %d ms", why, backoff);
				fail_queued(pl, why);
				wait_for(pl, backoff);
				backoff = backoff * 2 < PGLOG_BACKOFF_MAX_MS
					  ? backoff * 2 : PGLOG_BACKOFF_MAX_MS;
				continue;
			}
			backoff = PGLOG_BACKOFF_MIN_MS;
			pl->read_due = 1;
			set_state(pl, 1, "");
			log_info("pglog: connected; the log is read after %llu",
				 (unsigned long long)pl->cursor);
		}
		pthread_mutex_lock(&pl->mu);
		if (pl->rewind) {
			/* what was read past the mark comes again; the service
			 * thread drops what it cannot apply in order */
			pl->cursor = pl->rewind_to;
			pl->rewind = 0;
			pl->read_due = 1;
		}
		pthread_mutex_unlock(&pl->mu);
		if (!append_all(pl) || !read_log(pl)) {
			if (stopping(pl))
				break;  /* what was queued is dropped */
			if (pl->read_only)
				snprintf(why, sizeof(why), "the server refused "
					 "a write as read-only (a standby, or a "
					 "demoted primary)");
			else if (pl->timed_out)
				snprintf(why, sizeof(why), "%s: connection "
					 "dropped", conn_error(pl));
			else
				snprintf(why, sizeof(why), "connection lost: "
					 "%.400s", pl->lost[0] ? pl->lost
					 : conn_error(pl));
			one_line(why, sizeof(why));
			set_state(pl, 0, why);
			log_warn("pglog: %s", why);
			disconnect(pl);
			fail_queued(pl, why);
			continue;
		}
		/* (a NOTIFY that came with a statement's answer is in libpq's
		 * queue already: the socket would not wake the wait for it) */
		notices(pl);
		pthread_mutex_lock(&pl->mu);
		int more = pl->appends.n > 0;
		int full = queue_full(&pl->results);   /* take() wakes it */
		pthread_mutex_unlock(&pl->mu);
		if (!more && (!pl->read_due || full))
			wait_for(pl, WAIT_MS);
	}
	if (pl->conn)
		disconnect(pl);
	return NULL;
}

/* ---- start and stop ------------------------------------------------------ */

int pglog_start(const char *conninfo, uint64_t cursor,
		struct lws_context *lws, struct pglog **out, char *err,
		size_t errlen)
{
	struct pglog *pl = calloc(1, sizeof(*pl));

	*out = NULL;
	if (!pl || !(pl->conninfo = strdup(conninfo))) {
		free(pl);
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	pl->lws = lws;
	pl->cursor = cursor;
	snprintf(pl->cause, sizeof(pl->cause), "not connected yet");
	pthread_mutex_init(&pl->mu, NULL);
	if (pipe2(pl->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		pl->wake[0] = pl->wake[1] = -1;
		pglog_stop(&pl);
		return ERR_IO;
	}
	if (pthread_create(&pl->thread, NULL, thread_main, pl) != 0) {
		snprintf(err, errlen, "cannot start the database thread");
		pglog_stop(&pl);
		return ERR_IO;
	}
	pl->started = 1;
	*out = pl;
	return ERR_OK;
}

void pglog_stop(struct pglog **plp)
{
	struct pglog *pl = *plp;
	struct pglog_event *ev;

	if (!pl)
		return;
	if (pl->started) {
		/* a statement under way (a lock wait, a slow trigger) does
		 * not hold the hub's exit: run() leaves it at the wake-up */
		pthread_mutex_lock(&pl->mu);
		pl->stop = 1;
		pthread_mutex_unlock(&pl->mu);
		wake_thread(pl);
		pthread_join(pl->thread, NULL);
	}
	while ((ev = queue_pop(&pl->appends)))
		pglog_event_free(ev);
	while ((ev = queue_pop(&pl->results)))
		pglog_event_free(ev);
	if (pl->wake[0] >= 0) {
		close(pl->wake[0]);
		close(pl->wake[1]);
	}
	pthread_mutex_destroy(&pl->mu);
	free(pl->conninfo);
	free(pl);
	*plp = NULL;
}

int pglog_append(struct pglog *pl, int kind, const char *community,
		 uint64_t last, const void *body, size_t len, char *why,
		 size_t whylen)
{
	return pglog_append_redact(pl, kind, community, last, body, len, NULL,
				   0, why, whylen);
}

int pglog_append_redact(struct pglog *pl, int kind, const char *community,
			uint64_t last, const void *body, size_t len,
			const uint64_t *redact, size_t n, char *why,
			size_t whylen)
{
	struct pglog_event *ev;
	int first;

	if (n > PGLOG_REDACT_MAX) {
		snprintf(why, whylen, "%zu events to redact, over %d", n,
			 PGLOG_REDACT_MAX);
		return ERR_TOOBIG;
	}
	pthread_mutex_lock(&pl->mu);
	if (!pl->up) {
		snprintf(why, whylen, "the hub's database is unreachable: %s",
			 pl->cause);
		pthread_mutex_unlock(&pl->mu);
		return ERR_IO;
	}
	if (queue_full(&pl->appends)) {
		pthread_mutex_unlock(&pl->mu);
		snprintf(why, whylen, "the hub's database queue is full");
		return ERR_AGAIN;
	}
	pthread_mutex_unlock(&pl->mu);
	ev = calloc(1, sizeof(*ev));
	if (!ev || !(ev->body = malloc(len ? len : 1))) {
		free(ev);
		snprintf(why, whylen, "out of memory");
		return ERR_NOMEM;
	}
	ev->kind = kind;
	snprintf(ev->community, sizeof(ev->community), "%s", community);
	ev->last = last;
	memcpy(ev->body, body, len);
	ev->len = len;
	if (n) {
		ev->redact = malloc(n * sizeof(*redact));
		if (!ev->redact) {
			pglog_event_free(ev);
			snprintf(why, whylen, "out of memory");
			return ERR_NOMEM;
		}
		memcpy(ev->redact, redact, n * sizeof(*redact));
		ev->n_redact = n;
	}
	pthread_mutex_lock(&pl->mu);
	/* the thread takes all that is queued, and looks for more before it
	 * waits: woken only for the first (a bulletin's acks come hundreds
	 * in a pass, and a write and a wake-up apiece) */
	first = !pl->appends.n;
	queue_push(&pl->appends, ev);
	pthread_mutex_unlock(&pl->mu);
	if (first)
		wake_thread(pl);
	return ERR_OK;
}

struct pglog_event *pglog_take(struct pglog *pl)
{
	struct pglog_event *ev;
	int was_full;

	pthread_mutex_lock(&pl->mu);
	was_full = queue_full(&pl->results);
	ev = queue_pop(&pl->results);
	pthread_mutex_unlock(&pl->mu);
	if (ev && was_full)
		wake_thread(pl);
	return ev;
}

void pglog_rewind(struct pglog *pl, uint64_t seq)
{
	pthread_mutex_lock(&pl->mu);
	pl->rewind = 1;
	pl->rewind_to = seq;
	pthread_mutex_unlock(&pl->mu);
}

int pglog_down(struct pglog *pl, char *why, size_t whylen)
{
	int down;

	pthread_mutex_lock(&pl->mu);
	down = !pl->up;
	if (down)
		snprintf(why, whylen, "%s", pl->cause);
	pthread_mutex_unlock(&pl->mu);
	return down;
}
