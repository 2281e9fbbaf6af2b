/*
 * A round-robin scheduler built with coro_transfer() alone.
 *
 * The scheduler runs on the thread's own context and transfers to one task
 * at a time. A task gives control back by transferring to coro_thread(); when
 * its entry returns, control goes there too, because a chain started by a
 * transfer from the thread's own context ends there (coro.h). Nothing is
 * ever resumed, so no task waits inside another.
 *
 * Time is virtual: a clock of ticks that jumps to the next wake-up when
 * nothing is ready. The transcript is therefore the same on every run, and
 * the program checks its own invariants: it exits nonzero if a task wakes
 * early, an item arrives out of order, or a task is left behind.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "coro.h"

#define MAX_TASKS 16

struct task {
    coro *co;
    const char *name;
    unsigned long wake_at;  /* while sleeping */
    int sleeping;
    void *arg;
};

static struct task tasks[MAX_TASKS];
static int ready[MAX_TASKS + 1];   /* ring of task indices */
static int ready_head, ready_tail;
static int live_tasks;
static int current;
static unsigned long now;
static int failures;

static void make_ready(int task)
{
    ready[ready_tail] = task;
    ready_tail = (ready_tail + 1) % (MAX_TASKS + 1);
}

static int next_ready(void)
{
    if (ready_head == ready_tail)
        return -1;
    int task = ready[ready_head];
    ready_head = (ready_head + 1) % (MAX_TASKS + 1);
    return task;
}

/* Hands control back to the scheduler. The caller has already put itself
 * where it will be found again: the ready ring, the sleepers, or a channel's
 * waiters. */
static void to_scheduler(void)
{
    int result = coro_transfer(coro_thread(), NULL, NULL);
    if (result != CORO_OK) {
        fprintf(stderr, "transfer to the scheduler: %s\n", coro_strerror(result));
        exit(1);
    }
}

static void task_yield(void)
{
    make_ready(current);
    to_scheduler();
}

static void task_sleep(unsigned long ticks)
{
    unsigned long wake_at = now + ticks;
    tasks[current].wake_at = wake_at;
    tasks[current].sleeping = 1;
    to_scheduler();
    if (now < wake_at) {
        fprintf(stderr, "%s woke at %lu, before %lu\n", tasks[current].name, now, wake_at);
        failures++;
    }
}

/* A bounded channel. A task that cannot proceed parks itself on the
 * channel; the other side moves it back to the ready ring. */
#define CHANNEL_CAPACITY 2
struct channel {
    int items[CHANNEL_CAPACITY];
    int count, head;
    int closed;
    int waiting_sender, waiting_receiver; /* task index or -1 */
};

static void wake(int *waiter)
{
    if (*waiter >= 0) {
        make_ready(*waiter);
        *waiter = -1;
    }
}

static void channel_send(struct channel *ch, int item)
{
    while (ch->count == CHANNEL_CAPACITY) {
        ch->waiting_sender = current;
        to_scheduler();
    }
    ch->items[(ch->head + ch->count) % CHANNEL_CAPACITY] = item;
    ch->count++;
    wake(&ch->waiting_receiver);
}

/* Returns 0 once the channel is closed and empty. */
static int channel_receive(struct channel *ch, int *item)
{
    while (ch->count == 0) {
        if (ch->closed)
            return 0;
        ch->waiting_receiver = current;
        to_scheduler();
    }
    *item = ch->items[ch->head];
    ch->head = (ch->head + 1) % CHANNEL_CAPACITY;
    ch->count--;
    wake(&ch->waiting_sender);
    return 1;
}

static void channel_close(struct channel *ch)
{
    ch->closed = 1;
    wake(&ch->waiting_receiver);
}

static struct channel numbers = {.waiting_sender = -1, .waiting_receiver = -1};

#define ITEMS 8

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 1; i <= ITEMS; i++) {
        printf("t=%lu producer: send %d\n", now, i);
        channel_send(&numbers, i);
        if (i % 3 == 0)
            task_sleep(5);
    }
    channel_close(&numbers);
    printf("t=%lu producer: closed\n", now);
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    int item, expected = 1, sum = 0;
    while (channel_receive(&numbers, &item)) {
        printf("t=%lu consumer: got %d\n", now, item);
        if (item != expected) {
            fprintf(stderr, "consumer: got %d, expected %d\n", item, expected);
            failures++;
        }
        expected++;
        sum += item;
        task_sleep(2);
    }
    if (expected != ITEMS + 1) {
        fprintf(stderr, "consumer: %d items, expected %d\n", expected - 1, ITEMS);
        failures++;
    }
    printf("t=%lu consumer: done, sum %d\n", now, sum);
    return NULL;
}

static void *sleeper(void *arg)
{
    unsigned long period = (unsigned long)(uintptr_t)arg;
    for (int round = 0; round < 3; round++) {
        task_sleep(period);
        printf("t=%lu %s: awake\n", now, tasks[current].name);
    }
    return NULL;
}

static void *spinner(void *arg)
{
    (void)arg;
    for (int round = 0; round < 3; round++) {
        printf("t=%lu spinner: round %d\n", now, round);
        task_yield();
    }
    return NULL;
}

static void spawn(const char *name, coro_entry entry, void *arg)
{
    int index = live_tasks++;
    struct coro_options opts = {.stack_size = 64 * 1024, .name = name};
    int result = coro_create(&tasks[index].co, entry, &opts);
    if (result != CORO_OK) {
        fprintf(stderr, "create %s: %s\n", name, coro_strerror(result));
        exit(1);
    }
    tasks[index].name = name;
    tasks[index].arg = arg;
    make_ready(index);
}

/* Moves every sleeper whose time has come to the ready ring, in task order
 * so that the transcript does not depend on anything but the ticks. */
static void wake_sleepers(void)
{
    for (int i = 0; i < MAX_TASKS; i++) {
        if (tasks[i].co != NULL && tasks[i].sleeping && tasks[i].wake_at <= now) {
            tasks[i].sleeping = 0;
            make_ready(i);
        }
    }
}

/* The earliest wake-up among sleepers, or 0 when nobody sleeps. */
static unsigned long next_wake_up(void)
{
    unsigned long earliest = 0;
    for (int i = 0; i < MAX_TASKS; i++)
        if (tasks[i].co != NULL && tasks[i].sleeping && (earliest == 0 || tasks[i].wake_at < earliest))
            earliest = tasks[i].wake_at;
    return earliest;
}

int main(void)
{
    spawn("producer", producer, NULL);
    spawn("consumer", consumer, NULL);
    spawn("sleeper-3", sleeper, (void *)(uintptr_t)3);
    spawn("sleeper-4", sleeper, (void *)(uintptr_t)4);
    spawn("spinner", spinner, NULL);
    int remaining = live_tasks;

    while (remaining > 0) {
        wake_sleepers();
        int task = next_ready();
        if (task < 0) {
            unsigned long wake_up = next_wake_up();
            if (wake_up == 0) {
                fprintf(stderr, "deadlock: %d tasks blocked for ever\n", remaining);
                return 1;
            }
            now = wake_up;
            continue;
        }
        current = task;
        /* The first transfer into a task delivers its argument. */
        int result = coro_transfer(tasks[task].co, tasks[task].arg, NULL);
        if (result != CORO_OK) {
            fprintf(stderr, "transfer to %s: %s\n", tasks[task].name, coro_strerror(result));
            return 1;
        }
        tasks[task].arg = NULL;
        if (coro_status(tasks[task].co) == CORO_DEAD) {
            printf("t=%lu scheduler: %s finished\n", now, coro_name(tasks[task].co));
            coro_destroy(tasks[task].co);
            tasks[task].co = NULL;
            remaining--;
        }
    }
    printf("t=%lu scheduler: all tasks finished\n", now);
    return failures == 0 ? 0 : 1;
}
