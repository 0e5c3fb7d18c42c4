/* test_evloop.c: unit tests of lib/evloop.c, an lws context served from a
 * libev loop (epoll).
 *
 * A real context on the loop with one vhost (no listener) whose protocol
 * counts what it is called for, a pipe adopted into it that is never read
 * (so a socket of the loop is ready on every pass, as under steady
 * traffic), lws_sul timers and lws_cancel_service from another thread.
 * Each wait is bounded by a deadline of seconds, so a broken loop fails
 * rather than hangs. Parts: fixtures; tests; main. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"

/* How long a test waits for what it expects before it fails. */
#define DEADLINE_US (5 * LWS_US_PER_SEC)
/* A timer's delay: far below the deadline. */
#define TIMER_US (20 * LWS_US_PER_MS)

/* ---- fixtures ------------------------------------------------------------ */

struct fixture {
	struct evloop *loop;
	struct lws_context *lws;
	struct lws_vhost *vhost;    /* protocols[], no listener */
	int busy[2];                /* a pipe; busy[0] adopted, never read */
	unsigned fired;             /* LWS_CALLBACK_RAW_RX_FILE seen */
	unsigned cancelled;         /* LWS_CALLBACK_EVENT_WAIT_CANCELLED */
	int timer_ran;
	lws_sorted_usec_list_t timer;
	pthread_t waker;
	int waker_started;
	volatile int waker_stop;    /* set by the test: stop early */
	useconds_t waker_after;     /* lws_cancel_service after this */
};

static int callback_busy(struct lws *wsi, enum lws_callback_reasons reason,
			 void *user, void *in, size_t len)
{
	struct fixture *f = lws_context_user(lws_get_context(wsi));

	(void)user;
	(void)in;
	(void)len;
	if (reason == LWS_CALLBACK_RAW_RX_FILE)
		f->fired++;     /* not read: the pipe stays ready */
	else if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED)
		f->cancelled++;
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "busy", callback_busy, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static int setup(void **state)
{
	struct lws_context_creation_info info;
	static struct fixture f;
	lws_usec_t deadline;

	memset(&f, 0, sizeof(f));
	f.busy[0] = f.busy[1] = -1;
	lws_set_log_level(LLL_ERR, NULL);
	f.loop = evloop_new(&f);
	assert_non_null(f.loop);
	f.lws = evloop_lws(f.loop);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.protocols = protocols;
	f.vhost = lws_create_vhost(f.lws, &info);
	assert_non_null(f.vhost);
	/* lws_create_context ends with a lws_cancel_service of its own */
	deadline = lws_now_usecs() + DEADLINE_US;
	while (!f.cancelled && lws_now_usecs() < deadline)
		evloop_service(f.loop);
	assert_int_equal(f.cancelled, 1);
	f.cancelled = 0;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	f->waker_stop = 1;
	if (f->waker_started)
		pthread_join(f->waker, NULL);
	lws_sul_cancel(&f->timer);
	evloop_free(&f->loop);
	assert_null(f->loop);
	if (f->busy[1] >= 0)
		close(f->busy[1]);
	return 0;
}

static void timer_cb(lws_sorted_usec_list_t *sul)
{
	struct fixture *f = lws_container_of(sul, struct fixture, timer);

	f->timer_ran = 1;
}

/* waker: after f->waker_after µs (unless told to stop first), wake the
 * service loop from this thread, as the daemons' workers do. */
static void *waker(void *arg)
{
	struct fixture *f = arg;
	useconds_t slept = 0;

	while (!f->waker_stop && slept < f->waker_after) {
		usleep(10000);
		slept += 10000;
	}
	if (!f->waker_stop)
		lws_cancel_service(f->lws);
	return NULL;
}

static void start_waker(struct fixture *f, useconds_t after)
{
	f->waker_after = after;
	assert_int_equal(pthread_create(&f->waker, NULL, waker, f), 0);
	f->waker_started = 1;
}

/* adopt_busy: a pipe with a byte in it, adopted into the loop and never
 * read, so one fd is ready on every pass. */
static void adopt_busy(struct fixture *f)
{
	lws_sock_file_fd_type fd;

	assert_int_equal(pipe(f->busy), 0);
	assert_int_equal(write(f->busy[1], "x", 1), 1);
	memset(&fd, 0, sizeof(fd));
	fd.filefd = f->busy[0];
	assert_non_null(lws_adopt_descriptor_vhost(f->vhost,
		LWS_ADOPT_RAW_FILE_DESC, fd, "busy", NULL));
}

/* ---- tests --------------------------------------------------------------- */

/* A timer comes due while an fd is ready on every pass (lws's own libev
 * glue runs timers from an idle watcher, which then never runs). */
static void test_timer_runs_while_a_socket_keeps_firing(void **state)
{
	struct fixture *f = *state;
	lws_usec_t deadline;

	adopt_busy(f);
	deadline = lws_now_usecs() + DEADLINE_US;
	while (f->fired < 3 && lws_now_usecs() < deadline)
		evloop_service(f->loop);
	assert_true(f->fired >= 3);
	lws_sul_schedule(f->lws, 0, &f->timer, timer_cb, TIMER_US);
	while (!f->timer_ran && lws_now_usecs() < deadline)
		evloop_service(f->loop);
	assert_true(f->timer_ran);
	assert_true(f->fired > 3);      /* the fd kept firing meanwhile */
}

/* With nothing else to do, the loop wakes for the timer: it does not wait
 * for an event that never comes (the waker is the deadline, not the
 * cause: the timer must run before it wakes the loop). */
static void test_timer_wakes_an_idle_loop(void **state)
{
	struct fixture *f = *state;

	start_waker(f, DEADLINE_US);
	lws_sul_schedule(f->lws, 0, &f->timer, timer_cb, TIMER_US);
	while (!f->timer_ran && !f->cancelled)
		evloop_service(f->loop);
	assert_true(f->timer_ran);
	assert_int_equal(f->cancelled, 0);
}

/* lws_cancel_service from another thread ends the wait with
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED, as the workers' hand-back needs. */
static void test_cancel_service_wakes_the_loop(void **state)
{
	struct fixture *f = *state;
	lws_usec_t deadline = lws_now_usecs() + DEADLINE_US;

	/* the deadline's own timer, so a wait that is never woken ends */
	lws_sul_schedule(f->lws, 0, &f->timer, timer_cb, DEADLINE_US);
	start_waker(f, 20000);
	while (!f->cancelled && !f->timer_ran && lws_now_usecs() < deadline)
		evloop_service(f->loop);
	assert_int_equal(f->cancelled, 1);
	assert_false(f->timer_ran);
}

/* ---- main ---------------------------------------------------------------- */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_timer_runs_while_a_socket_keeps_firing, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_timer_wakes_an_idle_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_cancel_service_wakes_the_loop, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
