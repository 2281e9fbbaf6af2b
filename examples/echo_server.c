/*
 * A single-threaded TCP echo server on 127.0.0.1: one coroutine per
 * connection over the epoll scheduler in netloop.c.
 *
 *   echo_server [PORT]      PORT 0 (the default) picks a free port
 *
 * Prints "listening on 127.0.0.1:PORT" once ready. SIGINT or SIGTERM stops
 * it cleanly: every connection's coroutine is cancelled, and frees its own
 * buffer and closes its own socket on the way out (counted), before it
 * exits with status 0.
 */
#define _GNU_SOURCE /* accept4 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "coro.h"
#include "netloop.h"

/* Room for the calls below a connection's entry. */
#define CONNECTION_STACK (64 * 1024)
#define CHUNK (64 * 1024)

static unsigned long accepted;
/* Connections whose coroutine released its buffer and socket itself after
 * a cancel. */
static size_t cleaned_up_on_cancel;

/* The whole life of one connection, written as if I/O blocked. Its buffer
 * and socket are its own: it releases both on every way out, cancel
 * included. */
static void *echo_connection(void *arg)
{
    struct net_conn *conn = arg;
    char *buffer = malloc(CHUNK);
    while (buffer != NULL) {
        ssize_t n = net_read(conn, buffer, CHUNK);
        if (n <= 0 || net_write_all(conn, buffer, (size_t)n) != 0)
            break;
    }
    int cancelled = errno == ECANCELED && coro_cancelled(coro_running());
    free(buffer);
    net_close(conn);
    if (cancelled)
        cleaned_up_on_cancel++;
    return NULL;
}

static void on_listener(struct net_loop *loop, struct net_conn *listener)
{
    for (;;) {
        int fd = accept4(listener->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            /* EAGAIN: all accepted. Anything else (a connection reset
             * before it was accepted, no descriptors left) drops that one
             * connection and waits for the next readiness. */
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                perror("echo_server: accept");
            return;
        }
        accepted++;
        if (net_loop_spawn(loop, fd, echo_connection, CONNECTION_STACK, NULL) != 0)
            fprintf(stderr, "echo_server: no coroutine for a new connection\n");
    }
}

static void on_signal(struct net_loop *loop, struct net_conn *signals)
{
    struct signalfd_siginfo info;
    if (read(signals->fd, &info, sizeof info) == (ssize_t)sizeof info)
        loop->stop = 1;
}

/* 1,000 connections and their peers in one test need more descriptors than
 * the usual soft limit of 1,024. */
static void raise_descriptor_limit(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

int main(int argc, char **argv)
{
    long port = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
    if (argc > 2 || port < 0 || port > 65535) {
        fprintf(stderr, "usage: echo_server [PORT]\n");
        return 2;
    }
    raise_descriptor_limit();

    /* Signals arrive through a descriptor, so shutdown happens in the loop,
     * between two coroutine runs, never in the middle of one. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &stop_signals, NULL) != 0) {
        perror("echo_server: sigprocmask");
        return 1;
    }
    struct net_conn signals = {.fd = signalfd(-1, &stop_signals, SFD_CLOEXEC), .on_ready = on_signal};

    struct net_conn listener = {
        .fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), .on_ready = on_listener};
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t address_size = sizeof address;
    int yes = 1;
    struct net_loop loop;
    if (signals.fd < 0 || listener.fd < 0 ||
        setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) != 0 ||
        bind(listener.fd, (struct sockaddr *)&address, sizeof address) != 0 ||
        listen(listener.fd, SOMAXCONN) != 0 ||
        getsockname(listener.fd, (struct sockaddr *)&address, &address_size) != 0 ||
        net_loop_init(&loop) != 0 || net_loop_watch(&loop, &listener) != 0 ||
        net_loop_watch(&loop, &signals) != 0) {
        perror("echo_server: setup");
        return 1;
    }
    printf("listening on 127.0.0.1:%u\n", ntohs(address.sin_port));
    fflush(stdout);

    int result = net_loop_run(&loop, 0);
    if (result != 0)
        perror("echo_server: epoll_wait");

    size_t open_connections = loop.live;
    size_t closed = net_loop_close_all(&loop);
    close(listener.fd);
    close(signals.fd);
    close(loop.epoll_fd);
    printf("stopped: %lu connections served, %zu open at shutdown, %zu closed\n", accepted,
           open_connections, closed);
    printf("cleaned up by their own coroutine on cancel: %zu\n", cleaned_up_on_cancel);
    return result == 0 && closed == open_connections && loop.live == 0 ? 0 : 1;
}
