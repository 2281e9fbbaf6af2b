/*
 * Load test for echo_server: many concurrent connections to 127.0.0.1, each
 * a coroutine over the same epoll scheduler, each sending messages of random
 * sizes and checking every byte that comes back.
 *
 *   echo_client PORT [--connections N] [--messages M] [--max-size BYTES]
 *                    [--seed S] [--timeout SECONDS] [--linger]
 *
 * Defaults: 1,000 connections x 1,000 messages of 1 B to 64 KiB. A message
 * is written while its echo is read back, so neither side's socket buffers
 * need to hold a whole message. Exits 0 only if every connection completed
 * every message intact; prints messages per second as a figure. The timeout
 * (default 600 s) only bounds a run that hangs.
 *
 * --linger keeps every connection open once its messages are done, prints
 * "all connections lingering" when the last one is, and waits for the server
 * to close them all (as it does when stopped): the test of a clean shutdown
 * with every connection still open.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "coro.h"
#include "netloop.h"

#define CONNECTION_STACK (256 * 1024)
#define CHUNK (32 * 1024)

static unsigned long connections = 1000;
static unsigned long messages = 1000;
static unsigned long max_size = 64 * 1024;
static unsigned long seed = 1;
static int linger;
static unsigned long closed_by_server;
static double all_done_at; /* when the last connection finished its messages */

static unsigned long completed_connections;
static unsigned long messages_checked;
static unsigned long long bytes_checked;
static unsigned long failures;

/* xorshift64: the byte stream of one message, reproducible on both ends of
 * the check. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

static uint64_t stream_seed(unsigned long connection, unsigned long message)
{
    uint64_t state = (seed * 0x9e3779b97f4a7c15u) ^ ((uint64_t)connection << 32) ^ message;
    return state != 0 ? state : 1;
}

/* A byte stream drawn eight bytes at a time, so that any split of it into
 * reads gives the same bytes. */
struct stream {
    uint64_t state;
    uint64_t word;
    unsigned left;
};

static void fill(struct stream *stream, unsigned char *bytes, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (stream->left == 0) {
            stream->word = next_random(&stream->state);
            stream->left = 8;
        }
        bytes[i] = (unsigned char)stream->word;
        stream->word >>= 8;
        stream->left--;
    }
}

static void fail(unsigned long connection, const char *what)
{
    if (failures < 10)
        fprintf(stderr, "echo_client: connection %lu: %s\n", connection, what);
    failures++;
}

/* Waits until the non-blocking connect has finished. Returns 0 when
 * connected. */
static int finish_connect(struct net_conn *conn)
{
    for (;;) {
        struct sockaddr_in peer;
        socklen_t size = sizeof peer;
        if (getpeername(conn->fd, (struct sockaddr *)&peer, &size) == 0)
            return 0;
        int error = 0;
        socklen_t error_size = sizeof error;
        if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &error, &error_size) != 0 || error != 0)
            return -1;
        if (net_wait() != 0)
            return -1;
    }
}

/* Sends one message of `size` bytes and checks its echo, writing and reading
 * in turns. Returns 0 when every byte came back right. */
static int exchange(struct net_conn *conn, unsigned long id, unsigned long message, size_t size)
{
    struct stream send_stream = {stream_seed(id, message), 0, 0}, check_stream = send_stream;
    unsigned char out[CHUNK], in[CHUNK], expected[CHUNK];
    size_t out_pending = 0, out_offset = 0, sent = 0, received = 0;
    while (received < size) {
        int progress = 0;
        if (out_pending == 0 && sent < size) {
            out_pending = size - sent < CHUNK ? size - sent : CHUNK;
            out_offset = 0;
            fill(&send_stream, out, out_pending);
        }
        if (out_pending > 0) {
            ssize_t n = send(conn->fd, out + out_offset, out_pending, MSG_NOSIGNAL);
            if (n > 0) {
                out_offset += (size_t)n;
                out_pending -= (size_t)n;
                sent += (size_t)n;
                progress = 1;
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                fail(id, "send failed");
                return -1;
            }
        }
        size_t want = size - received < CHUNK ? size - received : CHUNK;
        ssize_t n = recv(conn->fd, in, want, 0);
        if (n > 0) {
            fill(&check_stream, expected, (size_t)n);
            if (memcmp(in, expected, (size_t)n) != 0) {
                fail(id, "echoed bytes differ from those sent");
                return -1;
            }
            received += (size_t)n;
            bytes_checked += (size_t)n;
            progress = 1;
        } else if (n == 0) {
            fail(id, "server closed the connection");
            return -1;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            fail(id, "recv failed");
            return -1;
        }
        if (!progress && net_wait() != 0)
            return -1;
    }
    return 0;
}

static double seconds_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void *run_connection(void *arg)
{
    struct net_conn *conn = arg;
    unsigned long id = (unsigned long)(uintptr_t)conn->data;
    if (finish_connect(conn) != 0) {
        fail(id, "connect failed");
        return NULL;
    }
    uint64_t sizes = stream_seed(id, ~0ul);
    for (unsigned long message = 0; message < messages; message++) {
        size_t size = 1 + (size_t)(next_random(&sizes) % max_size);
        if (exchange(conn, id, message, size) != 0)
            return NULL;
        messages_checked++;
    }
    completed_connections++;
    if (completed_connections == connections)
        all_done_at = seconds_now();
    if (linger) {
        if (completed_connections == connections) {
            printf("all connections lingering\n");
            fflush(stdout);
        }
        unsigned char byte;
        if (net_read(conn, &byte, 1) == 0)
            closed_by_server++;
        else
            fail(id, "expected the server to close the connection");
    }
    return NULL;
}

static unsigned long parse(const char *flag, const char *text)
{
    char *end;
    unsigned long value = strtoul(text != NULL ? text : "", &end, 10);
    if (text == NULL || *text == '\0' || *end != '\0') {
        fprintf(stderr, "echo_client: %s needs a number\n", flag);
        exit(2);
    }
    return value;
}


int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: echo_client PORT [--connections N] [--messages M] [--max-size BYTES] "
                        "[--seed S] [--timeout SECONDS]\n");
        return 2;
    }
    unsigned long port = parse("PORT", argv[1]);
    unsigned long timeout = 600;
    for (int i = 2; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--linger") == 0) {
            linger = 1;
        } else if (strcmp(argv[i], "--connections") == 0) {
            connections = parse(argv[i], value);
            i++;
        } else if (strcmp(argv[i], "--messages") == 0) {
            messages = parse(argv[i], value);
            i++;
        } else if (strcmp(argv[i], "--max-size") == 0) {
            max_size = parse(argv[i], value);
            i++;
        } else if (strcmp(argv[i], "--seed") == 0) {
            seed = parse(argv[i], value);
            i++;
        } else if (strcmp(argv[i], "--timeout") == 0) {
            timeout = parse(argv[i], value);
            i++;
        } else {
            fprintf(stderr, "echo_client: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (port == 0 || port > 65535 || max_size == 0) {
        fprintf(stderr, "echo_client: bad port or size\n");
        return 2;
    }
    /* A hung run ends here rather than in the test harness's timeout. */
    alarm((unsigned)timeout);

    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }

    struct net_loop loop;
    if (net_loop_init(&loop) != 0) {
        perror("echo_client: epoll");
        return 1;
    }
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    double start = seconds_now();
    for (unsigned long id = 0; id < connections; id++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || (connect(fd, (struct sockaddr *)&address, sizeof address) != 0 && errno != EINPROGRESS)) {
            perror("echo_client: connect");
            return 1;
        }
        if (net_loop_spawn(&loop, fd, run_connection, CONNECTION_STACK, (void *)(uintptr_t)id) != 0) {
            fprintf(stderr, "echo_client: no coroutine for connection %lu\n", id);
            return 1;
        }
    }
    if (net_loop_run(&loop, 1) != 0) {
        perror("echo_client: epoll_wait");
        return 1;
    }
    /* With --linger the run ends when the server closes the connections:
     * the rate counts until the last message only. */
    double elapsed = (all_done_at != 0 ? all_done_at : seconds_now()) - start;
    close(loop.epoll_fd);

    printf("%lu of %lu connections completed, %lu messages (%llu bytes) echoed intact, %lu failures\n",
           completed_connections, connections, messages_checked, bytes_checked, failures);
    if (linger)
        printf("%lu of %lu connections closed by the server\n", closed_by_server, connections);
    printf("%.0f messages/s, %.1f MiB/s each way, %.2f s\n", (double)messages_checked / elapsed,
           (double)bytes_checked / elapsed / (1024.0 * 1024.0), elapsed);
    return failures == 0 && completed_connections == connections &&
                   (!linger || closed_by_server == connections)
               ? 0
               : 1;
}
