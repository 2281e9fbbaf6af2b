/* The epoll scheduler described in netloop.h. */
#define _GNU_SOURCE /* accept4, SOCK_NONBLOCK */

#include "netloop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int net_loop_init(struct net_loop *loop)
{
    loop->conns = NULL;
    loop->live = 0;
    loop->stop = 0;
    loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    return loop->epoll_fd < 0 ? -1 : 0;
}

int net_loop_watch(struct net_loop *loop, struct net_conn *conn)
{
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = conn};
    return epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, conn->fd, &event);
}

static void unlink_conn(struct net_loop *loop, struct net_conn *conn)
{
    if (conn->prev != NULL)
        conn->prev->next = conn->next;
    else
        loop->conns = conn->next;
    if (conn->next != NULL)
        conn->next->prev = conn->prev;
    loop->live--;
}

/* Closing the descriptor also removes it from the epoll set. A coroutine
 * that closed its own socket (net_close) left -1. */
static void finish(struct net_loop *loop, struct net_conn *conn)
{
    unlink_conn(loop, conn);
    coro_destroy(conn->co);
    if (conn->fd >= 0)
        close(conn->fd);
    free(conn);
}

/* Runs a connection's coroutine until it waits again or ends. */
static void run(struct net_loop *loop, struct net_conn *conn)
{
    if (coro_resume(conn->co, conn, NULL) != CORO_OK || coro_status(conn->co) == CORO_DEAD)
        finish(loop, conn);
}

int net_loop_spawn(struct net_loop *loop, int fd, coro_entry entry, size_t stack_size, void *data)
{
    struct net_conn *conn = calloc(1, sizeof *conn);
    struct coro_options opts = {.stack_size = stack_size, .name = "connection"};
    int flags = fcntl(fd, F_GETFL);
    if (conn == NULL || flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
        coro_create(&conn->co, entry, &opts) != CORO_OK) {
        free(conn);
        close(fd);
        return -1;
    }
    conn->fd = fd;
    conn->data = data;
    struct epoll_event event = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = conn};
    if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
        coro_destroy(conn->co);
        free(conn);
        close(fd);
        return -1;
    }
    conn->next = loop->conns;
    if (loop->conns != NULL)
        loop->conns->prev = conn;
    loop->conns = conn;
    loop->live++;
    run(loop, conn);
    return 0;
}

int net_loop_run(struct net_loop *loop, int until_idle)
{
    struct epoll_event events[256];
    while (!loop->stop && !(until_idle && loop->live == 0)) {
        int count = epoll_wait(loop->epoll_fd, events, (int)(sizeof events / sizeof events[0]), -1);
        if (count < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        for (int i = 0; i < count && !loop->stop; i++) {
            struct net_conn *conn = events[i].data.ptr;
            if (conn->co == NULL)
                conn->on_ready(loop, conn);
            else
                run(loop, conn);
        }
    }
    return 0;
}

size_t net_loop_close_all(struct net_loop *loop)
{
    size_t closed = 0;
    while (loop->conns != NULL) {
        struct net_conn *conn = loop->conns;
        /* The coroutine's pending net_wait() fails, and it unwinds through
         * its own cleanup before this returns. */
        coro_cancel(conn->co, NULL);
        finish(loop, conn);
        closed++;
    }
    return closed;
}

int net_wait(void)
{
    if (coro_yield(NULL, NULL) != CORO_OK) {
        errno = ECANCELED;
        return -1;
    }
    return 0;
}

void net_close(struct net_conn *conn)
{
    if (conn->fd >= 0)
        close(conn->fd);
    conn->fd = -1;
}

ssize_t net_read(struct net_conn *conn, void *buffer, size_t size)
{
    for (;;) {
        ssize_t n = read(conn->fd, buffer, size);
        if (n >= 0)
            return n;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (net_wait() != 0)
                return -1;
        } else if (errno != EINTR) {
            return -1;
        }
    }
}

int net_write_all(struct net_conn *conn, const void *buffer, size_t size)
{
    const char *next = buffer;
    while (size > 0) {
        ssize_t n = send(conn->fd, next, size, MSG_NOSIGNAL);
        if (n > 0) {
            next += n;
            size -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (net_wait() != 0)
                return -1;
        } else if (n < 0 && errno != EINTR) {
            return -1;
        }
    }
    return 0;
}
