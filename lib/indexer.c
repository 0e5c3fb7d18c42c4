/* indexer.c: the search index, kept up to date off the ack path.
 *
 * One thread per daemon with its own connection (never shared: opened
 * NOMUTEX). While rids are queued it runs catalog_index_pending in short
 * write transactions; the chunk adapts so one transaction takes about
 * INDEXER_TXN_MS, and after each commit the thread pauses INDEXER_PAUSE_MS,
 * so the service thread, whose transactions wait on the same write lock
 * (store.c's busy handler looks every 0.5 ms), takes it as soon as it is
 * released and waits at most about one indexer transaction. While the
 * service thread keeps writing (a sync under way: it had to wait for the
 * lock) the thread does one chunk per INDEXER_YIELD_MS, leaving the lock
 * and the core to the ack path, and catches up once the writes stop.
 * When nothing is queued it sleeps on a condition variable for
 * INDEXER_IDLE_MS or until indexer_kick.
 *
 * After each transaction it publishes, in atomics, the index generation
 * and, when it left the queue empty, the log head its transaction saw:
 * every change logged up to there is in the index. The service thread
 * reads both with no statement (indexer_caught_up): whether an answer
 * may be cached, and which generation a search must at least see.
 *
 * It also checkpoints the WAL (PASSIVE: it waits for no reader or
 * writer), at most every INDEXER_CHECKPOINT_MS, or INDEXER_CHECKPOINT_BUSY_MS
 * while it indexes (index pages rewritten by merges would be copied again
 * and again): the daemon's service thread has automatic checkpoints off,
 * since the commit that crossed sqlite's threshold ran one itself, two
 * fsyncs and some 4 MB written, in the middle of a bulletin's fan-out.
 *
 * Parts: state; one chunk; checkpoints; the thread; start and stop. */
#include "indexer.h"

#include "catalog.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Rows per transaction: the most, the fewest, the first. */
#define INDEXER_CHUNK_MAX 500
#define INDEXER_CHUNK_MIN 25
#define INDEXER_CHUNK_START 200
/* Aimed duration of one write transaction. */
#define INDEXER_TXN_MS 5.0
/* Pause between transactions: two of the busy handler's polls (store.c),
 * so a waiting writer takes the lock. */
#define INDEXER_PAUSE_MS 1.0
/* ... and when a writer had to wait meanwhile (a sync under way): give
 * it the lock and a core for a while, the index catches up after. A
 * catch-up of 100,000 records on two cores shared with the hub
 * (bench/catchup): 6 ms, ~28,000 records/s acked, the index complete
 * 0.9 s after the last record; 25 ms, ~36,000 and 1.9 s; 200 ms,
 * ~42,000 (as fast as with no indexing during the stream) and 2.3 s.
 * A chunk (200-500 rows) every 200 ms still indexes 1,000-2,500 rows/s
 * during a long sync. */
#define INDEXER_YIELD_MS 200.0
/* Least time between two checkpoints, idle and while indexing. */
#define INDEXER_CHECKPOINT_MS 100.0
#define INDEXER_CHECKPOINT_BUSY_MS 1000.0
/* Sleep when idle, and after an error (doubled for each error in a row,
 * up to 8 times: a full disk is not retried, and logged, every second). */
#define INDEXER_IDLE_MS 75
#define INDEXER_ERROR_MS 1000

/* ---- state --------------------------------------------------------------- */

struct indexer {
	sqlite3 *db;                /* the thread's own connection */
	struct catalog *cat;        /* statements on db */
	pthread_t thread;
	pthread_mutex_t mu;         /* guards stop and kicked */
	pthread_cond_t cv;          /* kicked or stop */
	int stop;
	int kicked;
	size_t chunk;               /* rows in the next transaction */
	double checkpointed;        /* clock_mono_ms() of the last checkpoint */
	int checkpoint_failing;     /* the last one failed (logged once) */
	/* published after each commit (gen first, then indexed) */
	_Atomic int64_t gen;        /* the index generation committed */
	_Atomic uint64_t indexed;   /* the log head the queue was last seen
				       empty at: all up to it is indexed */
};

/* ---- one chunk ----------------------------------------------------------- */

/* index_chunk: one BEGIN IMMEDIATE..COMMIT of up to ix->chunk rows,
 * then the generation and (queue empty) the log head published. Stores
 * the rows done in *done and the transaction's time in *ms. Returns
 * ERR_OK or ERR_IO (rolled back, logged). */
static int index_chunk(struct indexer *ix, size_t *done, double *ms)
{
	double t0 = clock_mono_ms();
	uint64_t head = 0;
	int64_t gen = 0;
	int rc, empty;

	*done = 0;
	if (store_exec(ix->db, "BEGIN IMMEDIATE") != ERR_OK)
		return ERR_IO;
	rc = catalog_index_pending(ix->cat, ix->chunk, done);
	/* the write lock keeps the queue and the head still until the
	 * commit */
	empty = rc == ERR_OK && *done < ix->chunk &&
		catalog_index_idle(ix->cat);
	if (rc == ERR_OK)
		rc = catalog_index_gen(ix->cat, &gen);
	if (rc == ERR_OK && empty)
		head = catalog_log_head(ix->cat);
	if (rc == ERR_OK)
		rc = store_exec(ix->db, "COMMIT");
	if (rc != ERR_OK) {
		store_exec(ix->db, "ROLLBACK");
		*done = 0;
		return ERR_IO;
	}
	atomic_store_explicit(&ix->gen, gen, memory_order_release);
	if (empty)
		atomic_store_explicit(&ix->indexed, head,
				      memory_order_release);
	*ms = clock_mono_ms() - t0;
	/* aim the next chunk at INDEXER_TXN_MS */
	if (*done == ix->chunk) {
		if (*ms > 2 * INDEXER_TXN_MS && ix->chunk / 2 >= INDEXER_CHUNK_MIN)
			ix->chunk /= 2;
		else if (*ms < INDEXER_TXN_MS / 2 &&
			 ix->chunk * 2 <= INDEXER_CHUNK_MAX)
			ix->chunk *= 2;
	}
	return ERR_OK;
}

/* ---- checkpoints --------------------------------------------------------- */

/* checkpoint: copy the WAL's new pages into the database, if the last
 * checkpoint is old enough (busy: the indexer just indexed rows). A
 * failure is logged when it begins and when it ends. */
static void checkpoint(struct indexer *ix, int busy)
{
	double t = clock_mono_ms();

	if (t - ix->checkpointed < (busy ? INDEXER_CHECKPOINT_BUSY_MS
					 : INDEXER_CHECKPOINT_MS))
		return;
	ix->checkpointed = t;
	if (sqlite3_wal_checkpoint_v2(ix->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
				      NULL, NULL) != SQLITE_OK) {
		/* a full disk fails every one: say so once, not 10 times a
		 * second */
		if (!ix->checkpoint_failing)
			log_warn("indexer: checkpoint: %s (logged again when "
				 "they work)", sqlite3_errmsg(ix->db));
		ix->checkpoint_failing = 1;
	} else if (ix->checkpoint_failing) {
		log_info("indexer: checkpoints work again");
		ix->checkpoint_failing = 0;
	}
}

/* ---- the thread ---------------------------------------------------------- */

/* wait_ms: sleep up to ms on the condition variable; returns with mu
 * held. A kick cuts an idle wait short (not a pause between chunks). */
static void wait_ms(struct indexer *ix, double ms, int idle)
{
	struct timespec until;
	long ns;

	clock_gettime(CLOCK_REALTIME, &until);
	ns = until.tv_nsec + (long)(ms * 1e6);
	until.tv_sec += ns / 1000000000L;
	until.tv_nsec = ns % 1000000000L;
	while (!ix->stop && !(idle && ix->kicked))
		if (pthread_cond_timedwait(&ix->cv, &ix->mu, &until) ==
		    ETIMEDOUT)
			break;
	if (idle)
		ix->kicked = 0;
}

static void *indexer_main(void *arg)
{
	struct indexer *ix = arg;
	size_t done;
	double ms = 0;
	int errors = 0;             /* failed chunks in a row */

	pthread_mutex_lock(&ix->mu);
	while (!ix->stop) {
		int rc;

		ix->kicked = 0;
		pthread_mutex_unlock(&ix->mu);
		rc = index_chunk(ix, &done, &ms);
		checkpoint(ix, rc == ERR_OK && done > 0);
		pthread_mutex_lock(&ix->mu);
		errors = rc == ERR_OK ? 0 : errors + 1;
		if (rc != ERR_OK)   /* a full disk: 1 s, 2 s, 4 s, 8 s */
			wait_ms(ix, INDEXER_ERROR_MS << (errors < 4 ? errors - 1
							  : 3), 0);
		else if (done > 0)
			/* more may be queued: leave the lock free a while */
			wait_ms(ix, store_contended() ?
				INDEXER_YIELD_MS : INDEXER_PAUSE_MS, 0);
		else
			wait_ms(ix, INDEXER_IDLE_MS, 1);
	}
	pthread_mutex_unlock(&ix->mu);
	return NULL;
}

/* ---- start and stop ------------------------------------------------------ */

int indexer_start(sqlite3 *db, struct indexer **out, char *err,
		  size_t errlen)
{
	struct indexer *ix;

	*out = NULL;
	ix = calloc(1, sizeof(*ix));
	if (!ix) {
		snprintf(err, errlen, "indexer: out of memory");
		store_close(&db);
		return ERR_NOMEM;
	}
	ix->db = db;
	ix->chunk = INDEXER_CHUNK_START;
	if (catalog_open(db, &ix->cat) != ERR_OK) {
		snprintf(err, errlen, "indexer: cannot prepare the catalog: %s",
			 sqlite3_errmsg(db));
		store_close(&ix->db);
		free(ix);
		return ERR_IO;
	}
	pthread_mutex_init(&ix->mu, NULL);
	pthread_cond_init(&ix->cv, NULL);
	if (pthread_create(&ix->thread, NULL, indexer_main, ix) != 0) {
		snprintf(err, errlen, "indexer: cannot start the thread");
		pthread_cond_destroy(&ix->cv);
		pthread_mutex_destroy(&ix->mu);
		catalog_close(&ix->cat);
		store_close(&ix->db);
		free(ix);
		return ERR_IO;
	}
	*out = ix;
	return ERR_OK;
}

void indexer_kick(struct indexer *ix)
{
	if (!ix)
		return;
	pthread_mutex_lock(&ix->mu);
	ix->kicked = 1;
	pthread_cond_signal(&ix->cv);
	pthread_mutex_unlock(&ix->mu);
}

int indexer_caught_up(struct indexer *ix, uint64_t head, int64_t *gen)
{
	uint64_t indexed;

	*gen = 0;
	if (!ix)
		return 0;
	/* indexed before gen: the generation of the commit that published
	 * it, or a later one */
	indexed = atomic_load_explicit(&ix->indexed, memory_order_acquire);
	*gen = atomic_load_explicit(&ix->gen, memory_order_acquire);
	return indexed >= head;
}

void indexer_stop(struct indexer **pix)
{
	struct indexer *ix;

	if (!pix || !*pix)
		return;
	ix = *pix;
	pthread_mutex_lock(&ix->mu);
	ix->stop = 1;
	pthread_cond_signal(&ix->cv);
	pthread_mutex_unlock(&ix->mu);
	pthread_join(ix->thread, NULL);
	pthread_cond_destroy(&ix->cv);
	pthread_mutex_destroy(&ix->mu);
	catalog_close(&ix->cat);
	store_close(&ix->db);
	free(ix);
	*pix = NULL;
}
