/* worker.c: the manager's worker threads, off the lws service thread.
 *
 * Three lanes, one thread each: two KDF lanes check and make password
 * hashes (CPU only), one for the manager's logins and one for residents'
 * registrations and logins, so that a flood of either never delays the
 * other; the store lane writes own records on its own sqlite connection,
 * so a bulk import never stalls /healthz, the hub session or a password
 * check. A KDF lane is bounded and takes its clients in turn (fair
 * queueing by rounds: a client with nothing waiting joins the round
 * running now, its k-th waiting job runs k rounds later, and within a
 * round first come, first served), so a crowd of one client's jobs costs
 * another client at most one job's wait per client ahead of it.
 * Jobs come in through a mutex-protected queue per lane; finished jobs go
 * to one done list and lws_cancel_service wakes the service thread, which
 * takes them at LWS_CALLBACK_EVENT_WAIT_CANCELLED (manager_drain). The
 * only lws call made here is lws_cancel_service, the one that is
 * thread-safe.
 *
 * Parts: jobs; the queues (the fair KDF queue); the thread; start and
 * stop. */
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "manager.h"
#include "password.h"
#include "store.h"

/* ---- jobs ------------------------------------------------------------------ */

struct job *job_new(enum job_kind kind)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j)
		j->kind = kind;
	return j;
}

void job_free(struct job *j)
{
	if (!j)
		return;
	if (j->password) {
		OPENSSL_cleanse(j->password, j->password_len);
		free(j->password);
	}
	free(j->hash_line);
	free(j->name);
	free(j->body);
	free(j->reply);
	free(j);
}

/* ---- the queues ---------------------------------------------------------- */

struct lane {
	struct worker *w;
	enum worker_lane which;
	pthread_t thread;
	int started;                /* thread was created */
	struct job *head, *tail;    /* queued, under w->mu */
	size_t queued;              /* jobs from head on */
	uint64_t round;             /* KDF: the round of the job last taken */
};

struct worker {
	pthread_mutex_t mu;         /* guards queues, done list, stopping */
	pthread_cond_t cv;          /* a job was queued, or stopping */
	int stopping;
	struct lane lanes[WORKER_LANES];
	struct job *done_head, *done_tail;
	struct lws_context *lws;
	struct edits edits;         /* the store lane's connection */
};

static int kdf_lane(enum worker_lane lane)
{
	return lane == WORKER_KDF || lane == WORKER_KDF_RESIDENT;
}

/* done_put: j onto the done list (under w->mu). */
static void done_put(struct worker *w, struct job *j)
{
	j->next = NULL;
	if (w->done_tail)
		w->done_tail->next = j;
	else
		w->done_head = j;
	w->done_tail = j;
}

/* waiting: the jobs of peer queued on l, and in *last the latest round
 * among them (under w->mu). */
static size_t waiting(const struct lane *l, const char *peer,
		      uint64_t *last)
{
	size_t n = 0;

	*last = 0;
	for (const struct job *j = l->head; j; j = j->next)
		if (strcmp(j->peer, peer) == 0) {
			n++;
			if (j->round > *last)
				*last = j->round;
		}
	return n;
}

/* push_out: on a full KDF lane, take out the newest job of the client
 * with the most waiting when it has more than mine + 1, and hand it back
 * unrun (ERR_AGAIN). 1 when room was made (under w->mu). */
static int push_out(struct worker *w, struct lane *l, size_t mine)
{
	struct job *most = NULL, *prev = NULL, *p;
	size_t most_n = 0;

	for (struct job *j = l->head; j; j = j->next) {
		uint64_t last;
		size_t n = waiting(l, j->peer, &last);

		if (n >= most_n) {   /* later jobs win ties: the newest */
			most = j;
			most_n = n;
		}
	}
	if (!most || most_n <= mine + 1)
		return 0;
	for (p = l->head; p && p != most; p = p->next)
		prev = p;
	if (prev)
		prev->next = most->next;
	else
		l->head = most->next;
	if (l->tail == most)
		l->tail = prev;
	l->queued--;
	most->verdict = ERR_AGAIN;
	done_put(w, most);
	return 1;
}

int worker_submit(struct worker *w, enum worker_lane lane, struct job *job)
{
	struct lane *l = &w->lanes[lane];
	int rc = ERR_OK, pushed = 0;

	job->next = NULL;
	pthread_mutex_lock(&w->mu);
	if (w->stopping) {
		rc = ERR_FAIL;
	} else if (kdf_lane(lane)) {
		uint64_t last;
		size_t mine = waiting(l, job->peer, &last);

		if (mine >= LIMIT_KDF_PER_CLIENT)
			rc = ERR_AGAIN;
		else if (l->queued >= LIMIT_KDF_QUEUE &&
			 !(pushed = push_out(w, l, mine)))
			rc = ERR_TOOBIG;
		/* its turn: the round after its client's last waiting
		 * one, or, with none waiting, the round running now */
		job->round = mine ? last + 1 : l->round;
	}
	if (rc == ERR_OK) {
		if (l->tail)
			l->tail->next = job;
		else
			l->head = job;
		l->tail = job;
		l->queued++;
		pthread_cond_broadcast(&w->cv);
	}
	if (rc == ERR_OK && kdf_lane(lane))   /* the job is not run yet */
		log_debug("kdf: queued for %s from %s (%zu waiting)",
			  lane == WORKER_KDF ? "the manager" : "residents",
			  job->peer, l->queued);
	pthread_mutex_unlock(&w->mu);
	if (pushed)
		lws_cancel_service(w->lws);
	return rc;
}

struct job *worker_take_done(struct worker *w)
{
	struct job *list;

	pthread_mutex_lock(&w->mu);
	list = w->done_head;
	w->done_head = w->done_tail = NULL;
	pthread_mutex_unlock(&w->mu);
	return list;
}

/* ---- the thread ----------------------------------------------------------- */

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void run_verify(struct job *j)
{
	struct password_hash h;
	char why[160];

	if (password_hash_parse(j->hash_line, &h, why, sizeof(why))) {
		if (j->kind == JOB_VERIFY)
			log_error("manager: [manager] password_hash: %s", why);
		else
			log_error("residents: resident %lld: stored password "
				  "hash: %s", (long long)j->resident, why);
		j->verdict = ERR_FAIL;
		return;
	}
	j->verdict = password_verify(&h, j->password, j->password_len);
	OPENSSL_cleanse(&h, sizeof(h));
	/* the password is not needed any more */
	OPENSSL_cleanse(j->password, j->password_len);
}

/* run_hash: a new resident's password into a new hash line. */
static void run_hash(struct job *j)
{
	char line[PASSWORD_LINE_MAX];

	j->verdict = password_hash_make(j->password, j->password_len,
					PASSWORD_N, PASSWORD_R, PASSWORD_P,
					line, sizeof(line));
	OPENSSL_cleanse(j->password, j->password_len);
	if (j->verdict == ERR_OK && !(j->hash_line = strdup(line)))
		j->verdict = ERR_FAIL;
}

/* take: the next job of l (under w->mu): the head, or on a KDF lane the
 * first of the lowest round. */
static struct job *take(struct lane *l)
{
	struct job *j = l->head, *prev = NULL, *best_prev = NULL;

	if (kdf_lane(l->which))
		for (struct job *p = l->head; p; prev = p, p = p->next)
			if (p->round < j->round) {
				j = p;
				best_prev = prev;
			}
	if (best_prev)
		best_prev->next = j->next;
	else
		l->head = j->next;
	if (l->tail == j)
		l->tail = best_prev;
	l->queued--;
	if (kdf_lane(l->which))
		l->round = j->round;
	return j;
}

static void *lane_main(void *arg)
{
	struct lane *l = arg;
	struct worker *w = l->w;

	for (;;) {
		struct timespec t0;
		struct job *j;

		pthread_mutex_lock(&w->mu);
		while (!w->stopping && !l->head)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stopping) {
			pthread_mutex_unlock(&w->mu);
			return NULL;
		}
		j = take(l);
		pthread_mutex_unlock(&w->mu);

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (j->kind == JOB_VERIFY || j->kind == JOB_RESIDENT_LOGIN)
			run_verify(j);
		else if (j->kind == JOB_RESIDENT_REGISTER)
			run_hash(j);
		else
			edits_run(&w->edits, j);
		j->ms = ms_since(&t0);

		pthread_mutex_lock(&w->mu);
		done_put(w, j);
		pthread_mutex_unlock(&w->mu);
		lws_cancel_service(w->lws);
	}
}

/* ---- start and stop -------------------------------------------------------- */

int worker_start(struct worker **out, struct lws_context *lws,
		 const char *store_path, const char *community, char *err,
		 size_t errlen)
{
	struct worker *w;
	int rc;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->lws = lws;
	w->edits.community = strdup(community);
	if (!w->edits.community) {
		snprintf(err, errlen, "out of memory");
		rc = ERR_NOMEM;
		goto err;
	}
	rc = node_store_connect(store_path, &w->edits.db, err, errlen);
	if (rc != ERR_OK)
		goto err;
	if (catalog_open(w->edits.db, &w->edits.cat) != ERR_OK) {
		snprintf(err, errlen, "%s: cannot prepare the catalog",
			 store_path);
		rc = ERR_IO;
		goto err;
	}
	for (int i = 0; i < WORKER_LANES; i++) {
		struct lane *l = &w->lanes[i];

		l->w = w;
		l->which = (enum worker_lane)i;
		if (pthread_create(&l->thread, NULL, lane_main, l) != 0) {
			snprintf(err, errlen, "cannot start a worker thread");
			rc = ERR_FAIL;
			goto err;
		}
		l->started = 1;
	}
	*out = w;
	return ERR_OK;
err:
	worker_stop(&w);
	return rc;
}

static void free_list(struct job *j)
{
	while (j) {
		struct job *next = j->next;

		job_free(j);
		j = next;
	}
}

void worker_stop(struct worker **wp)
{
	struct worker *w = *wp;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < WORKER_LANES; i++) {
		if (w->lanes[i].started)
			pthread_join(w->lanes[i].thread, NULL);
		free_list(w->lanes[i].head);
	}
	free_list(w->done_head);
	catalog_close(&w->edits.cat);
	if (w->edits.db)
		store_close(&w->edits.db);
	free(w->edits.community);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
	*wp = NULL;
}
