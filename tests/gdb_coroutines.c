/*
 * The program tests/test_gdb.py debugs: coroutines in every status, nested,
 * transferred, and on a second thread, all alive when gdb_stop_here() runs.
 *
 *   fresh           SUSPENDED, never run
 *   sleeper         SUSPENDED in sleeper_wait(), called from its entry
 *   finished        DEAD
 *   outer           NORMAL: resumed by the thread, it resumed inner
 *   inner           SUSPENDED in coro_transfer() to handoff
 *   handoff         RUNNING on the main thread, in gdb_stop_here()
 *   remote-sleeper  SUSPENDED in remote_wait(), created on the second thread
 *   remote-runner   RUNNING on the second thread, blocked in remote_block()
 *
 * Lines the test checks carry a marker comment (WAIT: name), which the test
 * finds in this file. With --abort, the program aborts in gdb_stop_here()
 * instead of returning (for a core dumped by the kernel).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coro.h"

#define NOINLINE __attribute__((noinline))

void gdb_stop_here(void);

static volatile int sink;
static int abort_at_stop;
static coro *handoff;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int remote_ready;

static void check(int result, const char *what)
{
    if (result != CORO_OK) {
        fprintf(stderr, "gdb_coroutines: %s: %s\n", what, coro_strerror(result));
        exit(2);
    }
}

static coro *make(const char *name, coro_entry entry)
{
    struct coro_options opts = {.name = name, .stack_size = 64 * 1024};
    coro *co;
    check(coro_create(&co, entry, &opts), name);
    return co;
}

NOINLINE void gdb_stop_here(void)
{
    if (abort_at_stop)
        abort();
    __asm__ volatile("" ::: "memory");
}

static void *fresh_entry(void *value)
{
    return value;
}

NOINLINE static void sleeper_wait(int rounds)
{
    for (int i = 0; i < rounds; i++)
        coro_yield(NULL, NULL); /* WAIT: sleeper */
    sink++;
}

static void *sleeper_entry(void *value)
{
    sleeper_wait(2);
    sink++;
    return value;
}

static void *finished_entry(void *value)
{
    return value;
}

/* Runs until cancelled (coro_cancel()), then returns. */
static void *stopped_entry(void *value)
{
    while (coro_yield(NULL, NULL) == CORO_OK)
        sink++;
    return value;
}

static void *handoff_entry(void *value)
{
    pthread_mutex_lock(&lock);
    while (!remote_ready)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    gdb_stop_here(); /* WAIT: handoff */
    sink++;
    return value;
}

static void *inner_entry(void *value)
{
    coro_transfer(handoff, value, NULL); /* WAIT: inner */
    sink++;
    return value;
}

static void *outer_entry(void *value)
{
    coro *inner = value;
    coro_resume(inner, NULL, NULL); /* WAIT: outer */
    sink++;
    return NULL;
}

NOINLINE static void remote_wait(void)
{
    coro_yield(NULL, NULL); /* WAIT: remote-sleeper */
    sink++;
}

static void *remote_sleeper_entry(void *value)
{
    remote_wait();
    sink++;
    return value;
}

NOINLINE static void remote_block(void)
{
    pthread_mutex_lock(&lock);
    remote_ready = 1;
    pthread_cond_broadcast(&changed);
    for (;;)
        pthread_cond_wait(&changed, &lock); /* WAIT: remote-runner */
}

static void *remote_runner_entry(void *value)
{
    remote_block();
    return value;
}

static void *remote_thread(void *arg)
{
    (void)arg;
    coro *sleeper = make("remote-sleeper", remote_sleeper_entry);
    check(coro_resume(sleeper, NULL, NULL), "resume remote-sleeper");
    coro *runner = make("remote-runner", remote_runner_entry);
    check(coro_resume(runner, NULL, NULL), "resume remote-runner");
    return NULL;
}

NOINLINE static void run_all(void)
{
    make("fresh", fresh_entry);
    coro *sleeper = make("sleeper", sleeper_entry);
    check(coro_resume(sleeper, NULL, NULL), "resume sleeper");
    coro *finished = make("finished", finished_entry);
    check(coro_resume(finished, NULL, NULL), "resume finished");
    coro *stopped = make("stopped", stopped_entry);
    check(coro_resume(stopped, NULL, NULL), "resume stopped");
    check(coro_cancel(stopped, NULL), "cancel stopped");

    pthread_t thread;
    if (pthread_create(&thread, NULL, remote_thread, NULL) != 0)
        exit(2);

    handoff = make("handoff", handoff_entry);
    coro *inner = make("inner", inner_entry);
    coro *outer = make("outer", outer_entry);
    check(coro_resume(outer, inner, NULL), "resume outer"); /* WAIT: main */
    sink++;
}

int main(int argc, char **argv)
{
    abort_at_stop = argc > 1 && strcmp(argv[1], "--abort") == 0;
    run_all();
    _exit(0);
}
