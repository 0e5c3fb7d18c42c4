/* searcher.h: catalog searches on threads of their own.
 *
 * A search over a big catalog takes milliseconds (catalog_search.c); on
 * the service thread it would hold up sessions and bulletins, and it
 * would leave the other cores idle. A searcher runs catalog_search on a
 * few threads, each with its own sqlite connection (WAL: readers never
 * block the writer). Jobs come in through a mutex-protected queue; done
 * jobs go to one list and lws_cancel_service wakes the service thread,
 * which takes them at LWS_CALLBACK_EVENT_WAIT_CANCELLED. Jobs carry the
 * caller's id, never a struct lws *.
 *
 * A thread keeps its read transaction from one search to the next while
 * it is younger than SEARCHER_SNAPSHOT_MS and shows the index generation
 * and the log head each job asks for: sqlite drops a connection's page cache and unmaps its
 * mmap of the store whenever a read transaction begins after any commit
 * (the hub commits several times per synced edit, and on every ack
 * pass), so a snapshot per search paid that after every write in the
 * process, not only after those that change the catalog. A thread with
 * no job lets its snapshot go after SEARCHER_SNAPSHOT_MS, so no reader
 * holds the WAL back from a checkpoint for longer. */
#ifndef ALLIANCE_SEARCHER_H
#define ALLIANCE_SEARCHER_H

#include <libwebsockets.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "http.h"

/* Jobs queued and running at most; searcher_submit refuses more. */
#define SEARCHER_JOBS_MAX 256

/* Longest a thread answers from one read snapshot, and keeps it with no
 * job: how much later than its commit a change of a service's row (not
 * of the index: a job's gen asks for that) may show. */
#define SEARCHER_SNAPSHOT_MS 100

/* One search: the checked query in, the answer out. */
struct search_job {
	uint64_t id;                /* the caller's, to find its request */
	struct catalog_query query; /* its strings point into text */
	int64_t gen;                /* the index generation the answer must
				       show at least (indexer_caught_up);
				       0: any */
	uint64_t head;              /* ... and the catalog's log head (every
				       change logged up to it); UINT64_MAX:
				       all that is committed (a snapshot
				       taken for this search) */
	char *text;                 /* owned copies of the query's strings */
	int rc;                     /* catalog_search's: ERR_OK, ERR_INVALID,
				       ERR_IO, ERR_NOMEM */
	char *body;                 /* ERR_OK: the JSON answer; owned */
	size_t len;
	char etag[HTTP_ETAG_MAX];   /* ERR_OK: body's (http_etag_of), made
				       here, off the service thread */
	char why[256];              /* otherwise: why, for the client */
	struct search_job *next;    /* in a queue or the done list */
};

/* search_job_new: a job of id for a copy of q (strings copied), gen 0
 * and head UINT64_MAX (a snapshot of all that is committed), or NULL
 * when out of memory. Free with search_job_free. */
struct search_job *search_job_new(uint64_t id, const struct catalog_query *q);
void search_job_free(struct search_job *job);

struct searcher;

/* searcher_start: one thread per connection in dbs[0..n) (migrated, the
 * searcher owns them from now on, closed also on failure); a done job is
 * announced with lws_cancel_service(lws). Returns ERR_OK with *out, or
 * ERR_FAIL / ERR_NOMEM / ERR_IO with err filled. */
int searcher_start(sqlite3 **dbs, int n, struct lws_context *lws,
		   struct searcher **out, char *err, size_t errlen);

/* searcher_submit: queue job (the searcher owns it until it comes back
 * from searcher_take_done). ERR_OK, or ERR_AGAIN when SEARCHER_JOBS_MAX
 * are already queued or running, ERR_FAIL when stopping (the caller
 * keeps the job then). */
int searcher_submit(struct searcher *s, struct search_job *job);

/* searcher_take_done: the finished jobs, oldest first, linked by next
 * (the caller owns them), or NULL. */
struct search_job *searcher_take_done(struct searcher *s);

/* searcher_stop: let running searches finish, drop queued and done
 * jobs, join the threads, close the connections, free *s, set it NULL. */
void searcher_stop(struct searcher **s);

#endif
