/*
 * Coroutines that migrate between two threads, and the lock hand-off that
 * makes it safe (coro_yield_with).
 *
 * Each worker thread has a run queue guarded by a spinlock. A task that
 * gives up the processor puts itself on the other worker's queue, so every
 * step of every task runs on the other thread than the step before. A task
 * that waits for a task mutex puts itself on the mutex's wait list. Either
 * way the task holds the lock of the list it is on while it switches away,
 * and the switch's hook releases that lock only once the task is fully
 * suspended: released any earlier, the other thread could take the task
 * off the list and resume it while it still runs here, on its own stack.
 *
 * The tasks add to a counter inside the task mutex, yielding in the middle
 * of the critical section so that the others pile up on the mutex. The
 * program checks its invariants itself and prints only what every run must
 * print; run under ThreadSanitizer it also shows that the hand-off orders
 * everything one thread does to a task before the other resumes it.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "coro.h"

#define WORKERS 2
#define TASKS 8
#define STEPS 500
#define TASK_STACK (64 * 1024)

/* A spinlock, not a pthread mutex: the hook releases it on the worker's own
 * context, not in the task that took it (POSIX ties a mutex to the thread
 * that locked it, and checking tools tie it to the context). */
struct spinlock {
    atomic_flag held;
};

static void spin_lock(struct spinlock *lock)
{
    while (atomic_flag_test_and_set_explicit(&lock->held, memory_order_acquire))
        sched_yield();
}

static void spin_unlock(struct spinlock *lock)
{
    atomic_flag_clear_explicit(&lock->held, memory_order_release);
}

/* The hook: runs once the task that switched away is suspended. */
static void release_after_switch(void *lock, coro *from)
{
    (void)from;
    spin_unlock(lock);
}

/* A FIFO of suspended tasks, linked through the tasks themselves. */
struct task;
struct task_list {
    struct task *head, *tail;
};

struct task {
    coro *co;
    struct task *next;
};

static void list_push(struct task_list *list, struct task *task)
{
    task->next = NULL;
    if (list->tail != NULL)
        list->tail->next = task;
    else
        list->head = task;
    list->tail = task;
}

static struct task *list_pop(struct task_list *list)
{
    struct task *task = list->head;
    if (task != NULL) {
        list->head = task->next;
        if (list->head == NULL)
            list->tail = NULL;
    }
    return task;
}

struct worker {
    struct spinlock lock;
    struct task_list queue;
    pthread_t thread;
    int index;
};

static struct worker workers[WORKERS];
static atomic_int tasks_left = TASKS;
static atomic_int same_thread_steps;
static atomic_int refused_switches;
static _Thread_local struct worker *this_worker;

/* The worker running the caller. A task may wake on another thread than it
 * slept on, and compilers keep a thread-local's address across calls, so
 * code in a task looks it up afresh, in a function the compiler cannot see
 * through. */
static __attribute__((noinline)) struct worker *worker_here(void)
{
    struct worker **slot = &this_worker;
    __asm__ volatile("" : "+r"(slot));
    return *slot;
}

/* The task running on this thread (its coroutine's user data). */
static struct task *current_task(void)
{
    return coro_user_data(coro_running());
}

/* Suspends the calling task on `list`, whose lock the caller holds; the
 * lock is released once the task is suspended. */
static void suspend_on(struct spinlock *lock)
{
    if (coro_yield_with(NULL, NULL, release_after_switch, lock) != CORO_OK) {
        atomic_fetch_add(&refused_switches, 1);
        spin_unlock(lock);
    }
}

/* Makes a suspended task runnable on the given worker. */
static void make_runnable(struct task *task, int worker_index)
{
    struct worker *worker = &workers[worker_index];
    spin_lock(&worker->lock);
    list_push(&worker->queue, task);
    spin_unlock(&worker->lock);
}

/* Gives up the processor: the task goes on on the other worker. */
static void task_yield(void)
{
    struct worker *here = worker_here();
    struct worker *other = &workers[(here->index + 1) % WORKERS];
    spin_lock(&other->lock);
    list_push(&other->queue, current_task());
    suspend_on(&other->lock);
    if (worker_here() == here)
        atomic_fetch_add(&same_thread_steps, 1);
}

/* A mutex for tasks: a waiter suspends instead of blocking its thread. */
struct task_mutex {
    struct spinlock lock;
    int locked;
    struct task_list waiters;
};

static void task_mutex_lock(struct task_mutex *mutex)
{
    spin_lock(&mutex->lock);
    if (!mutex->locked) {
        mutex->locked = 1;
        spin_unlock(&mutex->lock);
        return;
    }
    list_push(&mutex->waiters, current_task());
    /* Woken by the unlock, which hands the mutex over still locked. */
    suspend_on(&mutex->lock);
}

static void task_mutex_unlock(struct task_mutex *mutex)
{
    spin_lock(&mutex->lock);
    struct task *next = list_pop(&mutex->waiters);
    if (next == NULL)
        mutex->locked = 0;
    spin_unlock(&mutex->lock);
    if (next != NULL)
        make_runnable(next, (worker_here()->index + 1) % WORKERS);
}

static struct task_mutex counter_mutex;
static long counter;

static void *task_entry(void *arg)
{
    (void)arg;
    for (int step = 0; step < STEPS; step++) {
        task_mutex_lock(&counter_mutex);
        long seen = counter;
        task_yield();
        counter = seen + 1;
        task_mutex_unlock(&counter_mutex);
        task_yield();
    }
    return &tasks_left; /* "finished", as no yield of a task says */
}

static void *worker_main(void *arg)
{
    struct worker *worker = arg;
    this_worker = worker;
    while (atomic_load(&tasks_left) > 0) {
        spin_lock(&worker->lock);
        struct task *task = list_pop(&worker->queue);
        spin_unlock(&worker->lock);
        if (task == NULL) {
            sched_yield();
            continue;
        }
        void *said = NULL;
        if (coro_resume(task->co, NULL, &said) != CORO_OK) {
            atomic_fetch_add(&refused_switches, 1);
            continue;
        }
        /* Not coro_status(): a task that yielded may already run on the
         * other thread. What it said is ours alone. */
        if (said == &tasks_left) {
            coro_destroy(task->co);
            atomic_fetch_sub(&tasks_left, 1);
        }
    }
    return NULL;
}

int main(void)
{
    static struct task tasks[TASKS];
    for (int w = 0; w < WORKERS; w++)
        workers[w].index = w;
    for (int i = 0; i < TASKS; i++) {
        struct coro_options opts = {.stack_size = TASK_STACK, .name = "task", .user_data = &tasks[i]};
        int result = coro_create(&tasks[i].co, task_entry, &opts);
        if (result != CORO_OK) {
            fprintf(stderr, "coro_create: %s\n", coro_strerror(result));
            return 1;
        }
        list_push(&workers[i % WORKERS].queue, &tasks[i]);
    }
    for (int w = 0; w < WORKERS; w++)
        if (pthread_create(&workers[w].thread, NULL, worker_main, &workers[w]) != 0) {
            perror("pthread_create");
            return 1;
        }
    for (int w = 0; w < WORKERS; w++)
        pthread_join(workers[w].thread, NULL);

    printf("%d worker threads, %d tasks x %d steps\n", WORKERS, TASKS, STEPS);
    printf("counter %ld (expected %d)\n", counter, TASKS * STEPS);
    printf("yields that did not move to the other thread: %d\n", atomic_load(&same_thread_steps));
    printf("refused switches: %d\n", atomic_load(&refused_switches));
    return counter == TASKS * STEPS && atomic_load(&same_thread_steps) == 0 &&
                   atomic_load(&refused_switches) == 0 ? 0 : 1;
}
