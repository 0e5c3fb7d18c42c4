/* streamer.c: the Changes frames of change streams, built on a thread of
 * their own (streamer.h).
 *
 * Parts: jobs; state; the thread; submitting and taking; start and
 * stop. */
#include "streamer.h"

#include "catalog.h"
#include "err.h"
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The thread's connection maps this much of the store file and keeps
 * this many KiB of pages besides: a batch reads each record's row from
 * its table, all over the file. */
#define STREAMER_MMAP_BYTES "1073741824"
#define STREAMER_CACHE_KIB "16384"

/* ---- jobs ---------------------------------------------------------------- */

void stream_job_free(struct stream_job *job)
{
	if (!job)
		return;
	free(job->frame.buf);
	free(job);
}

/* ---- state --------------------------------------------------------------- */

struct streamer {
	pthread_mutex_t mu;         /* guards all below but the thread's */
	pthread_cond_t cv;          /* a job was queued, or stopping */
	int stopping;
	unsigned held, max;         /* frames submitted and not released */
	struct stream_job *head, *tail;       /* queued */
	struct stream_job *done_head, *done_tail;
	struct lws_context *lws;
	pthread_t thread;
	int started;                /* thread was created, not yet joined */
	sqlite3 *db;                /* the thread's own connection */
	struct catalog *cat;        /* statements on db */
};

/* list_free: free a list linked by next, releasing a frame for each;
 * with s->mu held. */
static void list_free(struct streamer *s, struct stream_job *job)
{
	while (job) {
		struct stream_job *next = job->next;

		stream_job_free(job);
		s->held--;
		job = next;
	}
}

/* ---- the thread ---------------------------------------------------------- */

static void *stream_main(void *arg)
{
	struct streamer *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct stream_job *job;

		while (!s->stopping && !s->head)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->stopping)
			break;
		job = s->head;
		s->head = job->next;
		if (!s->head)
			s->tail = NULL;
		pthread_mutex_unlock(&s->mu);

		/* an error is the role's to log, closing the session */
		job->rc = link_stream_build(s->cat, &job->batch, &job->frame);

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
	return NULL;
}

/* ---- submitting and taking ----------------------------------------------- */

int streamer_submit(struct streamer *s, const char *owner, uint64_t serial,
		    const struct link_batch *b)
{
	struct stream_job *job;
	int rc = ERR_OK;

	if (!s)
		return ERR_FAIL;
	if (strlen(owner) > LIMIT_COMMUNITY_ID ||
	    (b->skip_origin && strlen(b->skip_origin) > LIMIT_COMMUNITY_ID))
		return ERR_INVALID;
	pthread_mutex_lock(&s->mu);
	if (s->stopping)
		rc = ERR_FAIL;
	else if (s->held >= s->max)
		rc = ERR_AGAIN;
	else
		s->held++;
	pthread_mutex_unlock(&s->mu);
	if (rc != ERR_OK)
		return rc;
	if (!(job = calloc(1, sizeof(*job)))) {
		streamer_release(s);
		return ERR_NOMEM;
	}
	snprintf(job->owner, sizeof(job->owner), "%s", owner);
	job->serial = serial;
	job->batch = *b;
	if (b->skip_origin) {
		snprintf(job->skip, sizeof(job->skip), "%s", b->skip_origin);
		job->batch.skip_origin = job->skip;
	}
	pthread_mutex_lock(&s->mu);
	if (s->tail)
		s->tail->next = job;
	else
		s->head = job;
	s->tail = job;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return ERR_OK;
}

struct stream_job *streamer_take_done(struct streamer *s)
{
	struct stream_job *done;

	if (!s)
		return NULL;
	pthread_mutex_lock(&s->mu);
	done = s->done_head;
	s->done_head = s->done_tail = NULL;
	pthread_mutex_unlock(&s->mu);
	return done;
}

void streamer_release(struct streamer *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	if (s->held)
		s->held--;
	pthread_mutex_unlock(&s->mu);
}

/* ---- start and stop ------------------------------------------------------ */

int streamer_start(sqlite3 *db, struct lws_context *lws, unsigned max,
		   struct streamer **out, char *err, size_t errlen)
{
	struct streamer *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s) {
		store_close(&db);
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->lws = lws;
	s->max = max ? max : 1;
	s->db = db;
	if (store_exec(s->db, "PRAGMA mmap_size = " STREAMER_MMAP_BYTES
		       "; PRAGMA cache_size = -" STREAMER_CACHE_KIB) != ERR_OK ||
	    catalog_open(s->db, &s->cat) != ERR_OK) {
		snprintf(err, errlen, "streamer: cannot prepare the catalog");
		goto err;
	}
	if (pthread_create(&s->thread, NULL, stream_main, s) != 0) {
		snprintf(err, errlen, "streamer: cannot start a thread");
		goto err;
	}
	s->started = 1;
	*out = s;
	return ERR_OK;
err:
	streamer_free(&s);
	return ERR_FAIL;
}

void streamer_stop(struct streamer *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->started)
		pthread_join(s->thread, NULL);
	s->started = 0;
	pthread_mutex_lock(&s->mu);
	list_free(s, s->head);
	list_free(s, s->done_head);
	s->head = s->tail = s->done_head = s->done_tail = NULL;
	pthread_mutex_unlock(&s->mu);
	catalog_close(&s->cat);
	store_close(&s->db);
}

void streamer_free(struct streamer **sp)
{
	struct streamer *s = sp ? *sp : NULL;

	if (!s)
		return;
	streamer_stop(s);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
	*sp = NULL;
}
