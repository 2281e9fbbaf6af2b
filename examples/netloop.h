/*
 * A small epoll scheduler for coroutine-per-connection programs
 * (echo_server.c, echo_client.c). Linux only.
 *
 * Each connection runs in its own coroutine and does ordinary-looking
 * blocking I/O through net_read() and net_write(); when the socket would
 * block, those yield to the loop, which resumes the coroutine once epoll says
 * the socket changed. Descriptors are watched edge-triggered for both
 * directions, so a coroutine simply retries after every wake-up.
 */
#ifndef NETLOOP_H
#define NETLOOP_H

#include <stddef.h>
#include <sys/types.h>

#include "coro.h"

struct net_loop;

/* One watched descriptor: a connection run by a coroutine, or (co == NULL) a
 * descriptor the loop hands to on_ready, such as a listener or a signalfd. */
struct net_conn {
    int fd;
    coro *co;
    void (*on_ready)(struct net_loop *loop, struct net_conn *conn);
    void *data;
    struct net_conn *prev, *next;
};

struct net_loop {
    int epoll_fd;
    struct net_conn *conns;   /* connections run by coroutines */
    size_t live;              /* how many */
    int stop;                 /* set to leave net_loop_run */
};

/* Returns 0, or -1 with errno set. */
int net_loop_init(struct net_loop *loop);

/* Watches a descriptor handled by conn->on_ready (the caller owns conn). */
int net_loop_watch(struct net_loop *loop, struct net_conn *conn);

/* Makes fd non-blocking, runs entry(conn) in a new coroutine with the given
 * stack size, and owns fd from then on: it is closed (unless the coroutine
 * closed it, see net_close()) and the coroutine destroyed when the entry
 * returns, or by net_loop_close_all(). Returns 0,
 * or -1 (fd closed) when the coroutine or the watch cannot be created. */
int net_loop_spawn(struct net_loop *loop, int fd, coro_entry entry, size_t stack_size, void *data);

/* Dispatches events until loop->stop is set, or, when until_idle is set,
 * until no connection is left. Returns 0, or -1 if epoll fails. */
int net_loop_run(struct net_loop *loop, int until_idle);

/* Cancels every connection's coroutine (coro_cancel()): each one's pending
 * wait fails with ECANCELED, so its code releases what it holds and returns;
 * then destroys it and closes its descriptor if it is still open. Returns
 * how many there were. */
size_t net_loop_close_all(struct net_loop *loop);

/* In a connection's coroutine: waits for the socket to change. Returns 0,
 * or -1 with errno ECANCELED once the coroutine is cancelled: every later
 * call fails the same way, so the caller must give up and return. */
int net_wait(void);

/* In a connection's coroutine: closes its own socket (once). */
void net_close(struct net_conn *conn);

/* In a connection's coroutine: reads at least one byte (waiting as needed).
 * Returns the count, 0 at end of stream, -1 on error (ECANCELED: cancelled). */
ssize_t net_read(struct net_conn *conn, void *buffer, size_t size);

/* In a connection's coroutine: writes all of buffer (waiting as needed).
 * Returns 0, or -1 on error (ECANCELED: cancelled). */
int net_write_all(struct net_conn *conn, const void *buffer, size_t size);

#endif /* NETLOOP_H */
