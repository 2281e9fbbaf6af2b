/*
 * A producer fills a bounded queue and hands control to a consumer that
 * drains it, then control goes back to the producer, until every item has
 * been through the queue. Written twice:
 *
 *   resume/yield  the thread drives both: it resumes the producer until the
 *                 queue is full, then the consumer until it is empty.
 *   transfer      producer and consumer hand control straight to each other,
 *                 and the consumer hands it back to the thread at the end.
 */
#include <stdio.h>
#include <stdlib.h>

#include "coro.h"

enum { QUEUE_CAPACITY = 4, ITEMS = 10 };

struct queue {
    int items[QUEUE_CAPACITY];
    int head, count;
};

static int queue_full(const struct queue *q) { return q->count == QUEUE_CAPACITY; }
static int queue_empty(const struct queue *q) { return q->count == 0; }

static void queue_push(struct queue *q, int item)
{
    q->items[(q->head + q->count) % QUEUE_CAPACITY] = item;
    q->count++;
}

static int queue_pop(struct queue *q)
{
    int item = q->items[q->head];
    q->head = (q->head + 1) % QUEUE_CAPACITY;
    q->count--;
    return item;
}

static int check(int result, const char *what)
{
    if (result != CORO_OK) {
        fprintf(stderr, "%s: %s\n", what, coro_strerror(result));
        exit(1);
    }
    return result;
}

/* ---- resume/yield: the thread is the scheduler ---- */

static void *produce_and_yield(void *arg)
{
    struct queue *q = arg;
    for (int item = 1; item <= ITEMS; item++) {
        if (queue_full(q))
            coro_yield(NULL, NULL);
        queue_push(q, item * item);
        printf("  produced %d\n", item * item);
    }
    return NULL;
}

static void *consume_and_yield(void *arg)
{
    struct queue *q = arg;
    long total = 0;
    for (;;) {
        while (!queue_empty(q)) {
            int item = queue_pop(q);
            total += item;
            printf("  consumed %d\n", item);
        }
        void *done;
        coro_yield(NULL, &done);
        if (done != NULL)
            break;
    }
    printf("  consumer total %ld\n", total);
    return NULL;
}

static void with_resume_and_yield(void)
{
    struct queue q = {0};
    coro *producer, *consumer;
    check(coro_create(&producer, produce_and_yield, NULL), "create producer");
    check(coro_create(&consumer, consume_and_yield, NULL), "create consumer");
    check(coro_resume(consumer, &q, NULL), "start consumer");
    check(coro_resume(producer, &q, NULL), "start producer");
    for (;;) {
        printf(" queue holds %d, switching to the consumer\n", q.count);
        check(coro_resume(consumer, NULL, NULL), "resume consumer");
        if (coro_status(producer) == CORO_DEAD)
            break;
        check(coro_resume(producer, NULL, NULL), "resume producer");
    }
    check(coro_resume(consumer, &q /* done */, NULL), "finish consumer");
    check(coro_destroy(producer), "destroy producer");
    check(coro_destroy(consumer), "destroy consumer");
}

/* ---- symmetric transfer: the two hand control to each other ---- */

static coro *producer_co, *consumer_co;

static void *produce_and_transfer(void *arg)
{
    struct queue *q = arg;
    for (int item = 1; item <= ITEMS; item++) {
        if (queue_full(q)) {
            printf(" queue holds %d, transferring to the consumer\n", q->count);
            coro_transfer(consumer_co, NULL, NULL);
        }
        queue_push(q, item * item);
        printf("  produced %d\n", item * item);
    }
    coro_transfer(consumer_co, "done", NULL);
    return NULL; /* never resumed again */
}

static void *consume_and_transfer(void *first_value)
{
    /* Entered by the producer's first transfer: the queue comes with the
     * coroutine's user data, the transfer's value says whether we are done. */
    struct queue *q = coro_user_data(coro_running());
    long total = 0;
    void *done = first_value;
    for (;;) {
        while (!queue_empty(q)) {
            int item = queue_pop(q);
            total += item;
            printf("  consumed %d\n", item);
        }
        if (done != NULL)
            break;
        printf(" queue holds 0, back to the producer\n");
        coro_transfer(producer_co, NULL, &done);
    }
    printf("  consumer total %ld\n", total);
    return NULL; /* the chain began with a transfer from the thread: back to it */
}

static void with_transfer(void)
{
    struct queue q = {0};
    check(coro_create(&producer_co, produce_and_transfer, NULL), "create producer");
    struct coro_options consumer_options = {.user_data = &q};
    check(coro_create(&consumer_co, consume_and_transfer, &consumer_options), "create consumer");
    check(coro_transfer(producer_co, &q, NULL), "start");
    check(coro_destroy(producer_co), "destroy producer");
    check(coro_destroy(consumer_co), "destroy consumer");
}

int main(void)
{
    printf("resume/yield:\n");
    with_resume_and_yield();
    printf("transfer:\n");
    with_transfer();
    return 0;
}
