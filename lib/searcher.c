/* searcher.c: catalog searches on threads of their own (searcher.h).
 *
 * Parts: jobs; state; the threads; start and stop. */
#include "searcher.h"

#include "clock.h"
#include "err.h"
#include "log.h"
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Each thread's connection maps this much of the store file, and keeps
 * this many KiB of pages besides: a search reads pages all over the
 * index, which sqlite's default 2 MB cache would read again each time
 * (a pread per page: a fifth of the hub's time under load). */
#define SEARCHER_MMAP_BYTES "1073741824"
#define SEARCHER_CACHE_KIB "16384"

/* ---- jobs ---------------------------------------------------------------- */

/* copy_into: append s (or nothing for NULL) and its NUL at *o, return
 * where it went (NULL for NULL). */
static const char *copy_into(char **o, const char *s)
{
	char *at = *o;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	memcpy(at, s, n);
	*o += n;
	return at;
}

struct search_job *search_job_new(uint64_t id, const struct catalog_query *q)
{
	const char *const strs[] = { q->q, q->category, q->community,
				     q->delivery, q->after, q->prefer };
	struct search_job *job = calloc(1, sizeof(*job));
	size_t len = 0;
	char *o;

	if (!job)
		return NULL;
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		len += strs[i] ? strlen(strs[i]) + 1 : 0;
	if (!(job->text = malloc(len + 1))) {
		free(job);
		return NULL;
	}
	o = job->text;
	job->id = id;
	job->head = UINT64_MAX;          /* unless the caller says less */
	job->query = *q;
	job->query.q = copy_into(&o, q->q);
	job->query.category = copy_into(&o, q->category);
	job->query.community = copy_into(&o, q->community);
	job->query.delivery = copy_into(&o, q->delivery);
	job->query.after = copy_into(&o, q->after);
	job->query.prefer = copy_into(&o, q->prefer);
	return job;
}

void search_job_free(struct search_job *job)
{
	if (!job)
		return;
	free(job->text);
	free(job->body);
	free(job);
}

/* job_list_free: free a list linked by next. */
static void job_list_free(struct search_job *job)
{
	while (job) {
		struct search_job *next = job->next;

		search_job_free(job);
		job = next;
	}
}

/* ---- state --------------------------------------------------------------- */

struct search_thread {
	struct searcher *s;
	pthread_t thread;
	int started;                /* thread was created */
	sqlite3 *db;                /* its own connection */
	struct catalog *cat;        /* statements on db */
	int holding;                /* a read transaction is open on db */
	int64_t snap_gen;           /* ... showing this index generation */
	uint64_t snap_head;         /* ... and this log head */
	double snap_ms;             /* ... begun then (now_ms) */
};

struct searcher {
	pthread_mutex_t mu;         /* guards all below but threads */
	pthread_cond_t cv;          /* a job was queued, or stopping */
	int stopping;
	int jobs;                   /* queued or running */
	struct search_job *head, *tail;       /* queued */
	struct search_job *done_head, *done_tail;
	struct lws_context *lws;
	struct search_thread *threads;
	int n;
	/* the newest index generation a thread's snapshot showed: the
	 * others take it too, since the sets the threads share (catalog_sets)
	 * are kept for the newest and a search of an older one builds every
	 * set it needs again */
	_Atomic int64_t newest_gen;
};

/* ---- the threads --------------------------------------------------------- */

/* release: end t's read transaction, if it holds one. */
static void release(struct search_thread *t)
{
	if (!t->holding)
		return;
	t->holding = 0;
	if (!sqlite3_get_autocommit(t->db) &&
	    sqlite3_exec(t->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		sqlite3_exec(t->db, "ROLLBACK", NULL, NULL, NULL);
}

/* snapshot: make t hold a read transaction for job: showing its index
 * generation (or the newest another thread's showed, if later) and its
 * log head, begun less than SEARCHER_SNAPSHOT_MS ago: the one it holds,
 * or a new one. On failure t holds none (catalog_search then reads in
 * one of its own). */
static void snapshot(struct search_thread *t, const struct search_job *job)
{
	double now = clock_mono_ms();
	int64_t gen = job->gen, newest = atomic_load_explicit(
		&t->s->newest_gen, memory_order_relaxed);

	if (newest > gen)
		gen = newest;
	if (t->holding && t->snap_gen >= gen && job->head != UINT64_MAX &&
	    t->snap_head >= job->head &&
	    now - t->snap_ms < SEARCHER_SNAPSHOT_MS)
		return;
	release(t);
	if (sqlite3_exec(t->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return;
	t->holding = 1;
	t->snap_ms = now;
	/* the first read takes the snapshot */
	if (catalog_index_gen(t->cat, &t->snap_gen) != ERR_OK) {
		release(t);
		return;
	}
	t->snap_head = catalog_log_head(t->cat);
	while (newest < t->snap_gen &&
	       !atomic_compare_exchange_weak_explicit(&t->s->newest_gen,
			&newest, t->snap_gen, memory_order_relaxed,
			memory_order_relaxed))
		;
}

/* run: answer one job on t's connection, with its ETag: hashing the
 * answer here keeps it off the service thread, which writes every
 * reply. */
static void run(struct search_thread *t, struct search_job *job)
{
	snapshot(t, job);
	job->rc = catalog_search(t->cat, &job->query, &job->body, &job->len,
				 job->why, sizeof(job->why));
	if (job->rc == ERR_OK)
		http_etag_of(job->body, job->len, job->etag,
			     sizeof(job->etag));
	else if (job->rc != ERR_INVALID)
		release(t);        /* a store error: read afresh next time */
}

/* wait_job: with s->mu held, wait until a job is queued or the searcher
 * stops; a snapshot held while no job comes for SEARCHER_SNAPSHOT_MS is
 * let go (mu released meanwhile). */
static void wait_job(struct search_thread *t)
{
	struct searcher *s = t->s;

	while (!s->stopping && !s->head) {
		struct timespec until;
		long ns;

		if (!t->holding) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		ns = until.tv_nsec + SEARCHER_SNAPSHOT_MS * 1000000L;
		until.tv_sec += ns / 1000000000L;
		until.tv_nsec = ns % 1000000000L;
		if (pthread_cond_timedwait(&s->cv, &s->mu, &until) ==
		    ETIMEDOUT && !s->head) {
			pthread_mutex_unlock(&s->mu);
			release(t);
			pthread_mutex_lock(&s->mu);
		}
	}
}

static void *search_main(void *arg)
{
	struct search_thread *t = arg;
	struct searcher *s = t->s;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct search_job *job;

		wait_job(t);
		if (s->stopping)
			break;
		job = s->head;
		s->head = job->next;
		if (!s->head)
			s->tail = NULL;
		pthread_mutex_unlock(&s->mu);

		run(t, job);

		pthread_mutex_lock(&s->mu);
		job->next = NULL;
		if (s->done_tail)
			s->done_tail->next = job;
		else
			s->done_head = job;
		s->done_tail = job;
		pthread_mutex_unlock(&s->mu);
		lws_cancel_service(s->lws);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	release(t);
	return NULL;
}

int searcher_submit(struct searcher *s, struct search_job *job)
{
	int rc = ERR_OK;

	job->next = NULL;
	pthread_mutex_lock(&s->mu);
	if (s->stopping) {
		rc = ERR_FAIL;
	} else if (s->jobs >= SEARCHER_JOBS_MAX) {
		rc = ERR_AGAIN;
	} else {
		s->jobs++;
		if (s->tail)
			s->tail->next = job;
		else
			s->head = job;
		s->tail = job;
		pthread_cond_signal(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

struct search_job *searcher_take_done(struct searcher *s)
{
	struct search_job *done, *j;

	pthread_mutex_lock(&s->mu);
	done = s->done_head;
	s->done_head = s->done_tail = NULL;
	for (j = done; j; j = j->next)
		s->jobs--;
	pthread_mutex_unlock(&s->mu);
	return done;
}

/* ---- start and stop ------------------------------------------------------ */

int searcher_start(sqlite3 **dbs, int n, struct lws_context *lws,
		   struct searcher **out, char *err, size_t errlen)
{
	struct searcher *s = calloc(1, sizeof(*s));
	int i;

	*out = NULL;
	if (!s || !(s->threads = calloc((size_t)n, sizeof(*s->threads)))) {
		free(s);
		for (i = 0; i < n; i++)
			store_close(&dbs[i]);
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->lws = lws;
	s->n = n;
	for (i = 0; i < n; i++) {
		s->threads[i].s = s;
		s->threads[i].db = dbs[i];
		dbs[i] = NULL;
	}
	for (i = 0; i < n; i++) {
		struct search_thread *t = &s->threads[i];

		if (store_exec(t->db, "PRAGMA mmap_size = "
			       SEARCHER_MMAP_BYTES "; PRAGMA cache_size = -"
			       SEARCHER_CACHE_KIB) != ERR_OK ||
		    catalog_open(t->db, &t->cat) != ERR_OK) {
			snprintf(err, errlen, "searcher: cannot prepare the "
				 "catalog");
			goto err;
		}
		/* one cache of search words' sets for all threads */
		if (i > 0)
			catalog_search_share(s->threads[0].cat, t->cat);
		if (pthread_create(&t->thread, NULL, search_main, t) != 0) {
			snprintf(err, errlen, "searcher: cannot start a "
				 "thread");
			goto err;
		}
		t->started = 1;
	}
	*out = s;
	return ERR_OK;
err:
	searcher_stop(&s);
	return ERR_FAIL;
}

void searcher_stop(struct searcher **sp)
{
	struct searcher *s = sp ? *sp : NULL;

	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->n; i++) {
		if (s->threads[i].started)
			pthread_join(s->threads[i].thread, NULL);
		catalog_close(&s->threads[i].cat);
		store_close(&s->threads[i].db);
	}
	job_list_free(s->head);
	job_list_free(s->done_head);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s->threads);
	free(s);
	*sp = NULL;
}
