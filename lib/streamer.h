/* streamer.h: the Changes frames of change streams, built on a thread of
 * their own.
 *
 * Reading a batch of the log (up to LIMIT_BATCH records, each read from
 * its table) and encoding it takes milliseconds; on the service thread it
 * held up every other session's frames, bulletins among them, and every
 * HTTP answer while nodes caught up. A streamer builds batches
 * (link_stream_build) on one thread with its own sqlite connection (WAL:
 * readers never block the writer). Jobs come in through a
 * mutex-protected queue; built ones go to a done list and
 * lws_cancel_service wakes the service thread, which takes them at
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED. A job names its session by the
 * caller's owner and serial, never a struct lws *: a session closed
 * meanwhile is simply not found again. At most max frames are held at
 * once (from streamer_submit until streamer_release: queued, being built,
 * built, or waiting to be written), so the memory of the frames is
 * bounded by max x LIMIT_BATCH_BYTES whatever the number of sessions. */
#ifndef ALLIANCE_STREAMER_H
#define ALLIANCE_STREAMER_H

#include <libwebsockets.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "alliance_limits.h"
#include "link.h"

/* One batch to build, and what came of it. */
struct stream_job {
	char owner[LIMIT_COMMUNITY_ID + 1]; /* the caller's names for the */
	uint64_t serial;                    /* ... session it is for */
	struct link_batch batch;    /* its skip_origin points into skip */
	char skip[LIMIT_COMMUNITY_ID + 1];
	int rc;                     /* link_stream_build's */
	struct link_frame frame;    /* ERR_OK: the frame (owned) */
	struct stream_job *next;    /* in the queue or the done list */
};

/* stream_job_free: free job and its frame if still held. */
void stream_job_free(struct stream_job *job);

struct streamer;

/* streamer_start: the thread on db (a migrated connection of its own;
 * the streamer owns it from now on, closed also on failure), holding at
 * most max frames (>= 1); a built job is announced with
 * lws_cancel_service(lws). ERR_OK with *out, or ERR_FAIL / ERR_NOMEM with
 * err filled. */
int streamer_start(sqlite3 *db, struct lws_context *lws, unsigned max,
		   struct streamer **out, char *err, size_t errlen);

/* streamer_submit: queue batch b (its skip_origin copied) for the
 * session owner/serial. ERR_OK: it holds a frame until streamer_release.
 * ERR_AGAIN when max frames are held (the caller builds it itself),
 * ERR_INVALID when owner or skip_origin is longer than a community id,
 * ERR_NOMEM, ERR_FAIL when s is NULL or stopping. */
int streamer_submit(struct streamer *s, const char *owner, uint64_t serial,
		    const struct link_batch *b);

/* streamer_take_done: the built jobs, oldest first, linked by next (the
 * caller owns them, their frames still held), or NULL. */
struct stream_job *streamer_take_done(struct streamer *s);

/* streamer_release: one frame submitted is gone (written, freed, or its
 * job dropped): room for another. */
void streamer_release(struct streamer *s);

/* streamer_stop: let the running build finish, drop queued and done jobs
 * (releasing their frames), join the thread and close the connection.
 * Its frames taken and not yet released may still be released; NULL is
 * a no-op. */
void streamer_stop(struct streamer *s);

/* streamer_free: stop it if running, free *s and set it NULL. */
void streamer_free(struct streamer **s);

#endif
