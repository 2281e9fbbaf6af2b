/*
 * bench/echo_callbacks: the echo server of examples/echo_server.c written
 * without coroutines, as a C programmer would write it by hand: one epoll
 * loop, and per connection a struct holding what the coroutine's stack
 * holds in the other server (the buffer and how much of it is still to
 * send), advanced by a callback at each readiness. It is the baseline that
 * bench/echo_compare.sh measures the coroutine server against, with the
 * same client and load.
 *
 *   echo_callbacks [PORT]      PORT 0 (the default) picks a free port
 *
 * The same registration as examples/netloop.c (edge-triggered, in and out
 * at once), the same 64 KiB chunk, the same output: "listening on
 * 127.0.0.1:PORT" once ready; SIGINT or SIGTERM closes every connection and
 * exits 0.
 */
#define _GNU_SOURCE /* accept4 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

struct connection {
    int fd;
    size_t sent;     /* bytes of buffer[0, length) already sent */
    size_t length;   /* bytes read and not yet all sent; 0: reading */
    struct connection *prev, *next;
    char buffer[CHUNK];
};

/* What an epoll event points at: a connection, or one of these two. */
static char listener_tag, signals_tag;

static struct connection *connections;
static size_t live;
static unsigned long accepted;

static void finish(struct connection *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        connections = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    live--;
    close(c->fd);
    free(c);
}

/* Runs a connection as far as its socket allows: sends what is pending,
 * reads the next chunk, and so on, until a call would block (edge-triggered:
 * the next readiness comes only after that) or the peer is done. */
static void advance(struct connection *c)
{
    for (;;) {
        if (c->length > 0) {
            ssize_t n = send(c->fd, c->buffer + c->sent, c->length - c->sent, MSG_NOSIGNAL);
            if (n > 0) {
                c->sent += (size_t)n;
                if (c->sent == c->length)
                    c->sent = c->length = 0;
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return;
            if (n < 0 && errno == EINTR)
                continue;
            finish(c);
            return;
        }
        ssize_t n = read(c->fd, c->buffer, sizeof c->buffer);
        if (n > 0) {
            c->length = (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && errno == EINTR)
            continue;
        finish(c);
        return;
    }
}

static void accept_all(int epoll_fd, int listener)
{
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                perror("echo_callbacks: accept");
            return;
        }
        accepted++;
        struct connection *c = malloc(sizeof *c);
        struct epoll_event event = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
        if (c == NULL || epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
            fprintf(stderr, "echo_callbacks: cannot serve a new connection\n");
            free(c);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->sent = c->length = 0;
        c->prev = NULL;
        c->next = connections;
        if (connections != NULL)
            connections->prev = c;
        connections = c;
        live++;
        advance(c);
    }
}

int main(int argc, char **argv)
{
    long port = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
    if (argc > 2 || port < 0 || port > 65535) {
        fprintf(stderr, "usage: echo_callbacks [PORT]\n");
        return 2;
    }
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &stop_signals, NULL) != 0) {
        perror("echo_callbacks: sigprocmask");
        return 1;
    }
    int signals = signalfd(-1, &stop_signals, SFD_CLOEXEC);
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t address_size = sizeof address;
    int yes = 1;
    struct epoll_event listen_event = {.events = EPOLLIN, .data.ptr = &listener_tag};
    struct epoll_event signal_event = {.events = EPOLLIN, .data.ptr = &signals_tag};
    if (signals < 0 || listener < 0 || epoll_fd < 0 ||
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) != 0 ||
        bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, SOMAXCONN) != 0 ||
        getsockname(listener, (struct sockaddr *)&address, &address_size) != 0 ||
        epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &listen_event) != 0 ||
        epoll_ctl(epoll_fd, EPOLL_CTL_ADD, signals, &signal_event) != 0) {
        perror("echo_callbacks: setup");
        return 1;
    }
    printf("listening on 127.0.0.1:%u\n", ntohs(address.sin_port));
    fflush(stdout);

    int stop = 0, result = 0;
    struct epoll_event events[256];
    while (!stop) {
        int count = epoll_wait(epoll_fd, events, (int)(sizeof events / sizeof events[0]), -1);
        if (count < 0) {
            if (errno == EINTR)
                continue;
            perror("echo_callbacks: epoll_wait");
            result = 1;
            break;
        }
        for (int i = 0; i < count && !stop; i++) {
            void *tag = events[i].data.ptr;
            if (tag == &listener_tag)
                accept_all(epoll_fd, listener);
            else if (tag == &signals_tag)
                stop = 1;
            else
                advance(tag);
        }
    }

    size_t open_connections = live, closed = 0;
    while (connections != NULL) {
        finish(connections);
        closed++;
    }
    close(listener);
    close(signals);
    close(epoll_fd);
    printf("stopped: %lu connections served, %zu open at shutdown, %zu closed\n", accepted, open_connections,
           closed);
    return result;
}
