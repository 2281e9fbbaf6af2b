/*
 * Seeing every coroutine: coro_stack_info (bounds, use now, high-water mark
 * after a deep call), coro_stack_remaining, and coro_visit, alone and while
 * other threads create, run and destroy coroutines; the registry's lists
 * owned by threads (registry.h): revoked by a destroy from another thread,
 * given back when their owner exits, and never changed under a visitor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdio.h>

#include "arch.h"
#include "coro.h"
#include "registry.h" /* the lists' documented fields, read as a debugger would */

#define V(n) ((void *)(uintptr_t)(n))
#define KIB ((size_t)1024)

/* Recursion the compiler cannot flatten: every frame keeps 1 KiB alive
 * across the call, and the innermost one runs probe. */
static volatile uintptr_t sink;

__attribute__((noinline)) static void recurse(unsigned depth, void (*probe)(void))
{
    volatile unsigned char buffer[1024];
    for (size_t i = 0; i < sizeof buffer; i += 64)
        buffer[i] = (unsigned char)depth;
    /* The whole array escapes: clang would otherwise keep only the bytes
     * written. */
    __asm__ volatile("" : : "r"(buffer) : "memory");
    if (depth > 1)
        recurse(depth - 1, probe);
    else
        probe();
    sink += buffer[0];
}

/* The deep call's view of its own stack, taken at its deepest point. */
static struct coro_stack_info deepest_info;
static size_t deepest_remaining;

static void probe_stack(void)
{
    assert_int_equal(coro_stack_info(coro_running(), &deepest_info), CORO_OK);
    deepest_remaining = coro_stack_remaining();
}

static void yield_from_depth(void)
{
    coro_yield(NULL, NULL);
}

/* Recurses 40 frames of 1 KiB (yielding at the bottom when asked), then
 * yields once more from its shallow entry. */
static void *deep_entry(void *value)
{
    recurse(40, value != NULL ? yield_from_depth : probe_stack);
    coro_yield(NULL, NULL);
    return NULL;
}

static void check_bounds(const struct coro_stack_info *info, const coro *co)
{
    assert_ptr_equal(info->top, (const void *)co);
    assert_true((char *)info->bottom < (char *)info->top);
    assert_int_equal(info->usable, (size_t)((char *)info->top - (char *)info->bottom));
    assert_true(info->used <= info->usable);
}

static void test_stack_info_high_water_after_deep_call(void **state)
{
    (void)state;
    /* A stack no other test used: the pool would hand over touched pages. */
    coro_pool_trim(0);
    struct coro_options opts = {.stack_size = 128 * KIB, .guard_size = 2 * 4096};
    coro *co;
    assert_int_equal(coro_create(&co, deep_entry, &opts), CORO_OK);
    struct coro_stack_info info;
    assert_int_equal(coro_stack_info(co, &info), CORO_OK);
    check_bounds(&info, co);
    assert_true(info.usable >= 128 * KIB);
    assert_true(info.guard >= 2 * 4096);
    /* A fresh coroutine holds one suspended frame (560 bytes on ppc64le)
     * below its aligned top, and nothing else. */
    assert_true(info.used > 0 && info.used <= CORO_ARCH_FRAME_SIZE + 2 * CORO_ARCH_STACK_ALIGN);
#if !defined(_WIN32)
    assert_true(info.high_water >= info.used);
    assert_true(info.high_water < 16 * KIB);
#endif

    /* While it is deep, coro_stack_info from inside sees the live sp. */
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_true(deepest_info.used >= 40 * KIB);
    assert_true(deepest_info.used <= deepest_info.usable);
    assert_true(deepest_remaining > 0);
    /* remaining and used split the stack between them, give or take the
     * probe's own frames. */
    size_t split = deepest_remaining + deepest_info.used;
    assert_true(split <= deepest_info.usable + KIB && split + KIB >= deepest_info.usable);

    /* Back to a shallow frame: used is small again, high-water is not. */
    assert_int_equal(coro_stack_info(co, &info), CORO_OK);
    assert_true(info.used < 8 * KIB);
#if defined(_WIN32)
    assert_int_equal(info.high_water, 0); /* not offered there */
#else
    assert_true(info.high_water >= 40 * KIB);
    assert_true(info.high_water <= info.usable);
#endif
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_int_equal(coro_status(co), CORO_DEAD);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

static void test_stack_info_of_a_suspended_deep_coroutine(void **state)
{
    (void)state;
    coro *co;
    assert_int_equal(coro_create(&co, deep_entry, NULL), CORO_OK);
    assert_int_equal(coro_resume(co, V(1), NULL), CORO_OK);
    struct coro_stack_info info;
    assert_int_equal(coro_stack_info(co, &info), CORO_OK);
    /* Suspended at the bottom of the recursion: its saved sp says so. */
    assert_true(info.used >= 40 * KIB);
#if !defined(_WIN32)
    assert_true(info.high_water >= info.used);
#endif
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_int_equal(coro_stack_info(co, &info), CORO_OK);
    assert_true(info.used < 8 * KIB);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* A stack of more pages than the kernel is asked about at once (256). */
static void test_stack_info_high_water_of_a_big_stack(void **state)
{
    (void)state;
    coro_pool_trim(0);
    struct coro_options opts = {.stack_size = 4 * 1024 * KIB};
    coro *co;
    assert_int_equal(coro_create(&co, deep_entry, &opts), CORO_OK);
    struct coro_stack_info info;
    assert_int_equal(coro_stack_info(co, &info), CORO_OK);
#if !defined(_WIN32)
    assert_true(info.high_water > 0 && info.high_water < 16 * KIB);
#endif
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_int_equal(coro_stack_info(co, &info), CORO_OK);
    assert_true(info.usable >= 4 * 1024 * KIB);
#if !defined(_WIN32)
    assert_true(info.high_water >= 40 * KIB && info.high_water < 1024 * KIB);
#endif
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

static void *idle_entry(void *value)
{
    coro_yield(value, NULL);
    return value;
}

static void test_stack_info_caller_stack(void **state)
{
    (void)state;
    static unsigned char memory[64 * 1024] __attribute__((aligned(64)));
    struct coro_options opts = {.stack = memory, .stack_size = sizeof memory};
    coro *co;
    assert_int_equal(coro_create(&co, idle_entry, &opts), CORO_OK);
    struct coro_stack_info info;
    assert_int_equal(coro_stack_info(co, &info), CORO_OK);
    check_bounds(&info, co);
    assert_ptr_equal(info.bottom, memory);
    assert_int_equal(info.guard, 0);
    /* The library cannot tell which bytes of the caller's memory were used. */
    assert_int_equal(info.high_water, 0);
    assert_true(info.used > 0);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

static void test_stack_info_arena_stack(void **state)
{
    (void)state;
    coro_arena *arena;
    assert_int_equal(coro_arena_create(&arena, 2, 64 * KIB, 0), CORO_OK);
    struct coro_options opts = {.arena = arena};
    coro *co;
    assert_int_equal(coro_create(&co, deep_entry, &opts), CORO_OK);
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    struct coro_stack_info info;
    assert_int_equal(coro_stack_info(co, &info), CORO_OK);
    check_bounds(&info, co);
    assert_true(info.guard > 0);
#if !defined(_WIN32)
    assert_true(info.high_water >= 40 * KIB);
#endif
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_int_equal(coro_destroy(co), CORO_OK);
    assert_int_equal(coro_arena_destroy(arena), CORO_OK);
}

static void test_stack_info_errors(void **state)
{
    (void)state;
    struct coro_stack_info info, untouched;
    memset(&info, 0xa5, sizeof info);
    untouched = info;
    assert_int_equal(coro_stack_info(NULL, &info), CORO_EINVAL);
    assert_int_equal(coro_stack_info(coro_thread(), &info), CORO_ETHREAD);
    assert_memory_equal(&info, &untouched, sizeof info);
    coro *co;
    assert_int_equal(coro_create(&co, idle_entry, NULL), CORO_OK);
    assert_int_equal(coro_stack_info(co, NULL), CORO_EINVAL);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

static size_t remaining_shallow, remaining_deep;

static void probe_remaining(void)
{
    remaining_deep = coro_stack_remaining();
}

static void *remaining_entry(void *value)
{
    (void)value;
    remaining_shallow = coro_stack_remaining();
    recurse(20, probe_remaining);
    return NULL;
}

static void test_stack_remaining(void **state)
{
    (void)state;
    assert_int_equal(coro_stack_remaining(), 0);
    struct coro_options opts = {.stack_size = 64 * KIB};
    coro *co;
    assert_int_equal(coro_create(&co, remaining_entry, &opts), CORO_OK);
    struct coro_stack_info info;
    assert_int_equal(coro_stack_info(co, &info), CORO_OK);
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_true(remaining_shallow < info.usable);
    assert_true(remaining_shallow + 2 * KIB > info.usable);
    assert_true(remaining_deep + 20 * KIB <= remaining_shallow);
    assert_true(remaining_deep > 0);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* --- coro_visit --- */

#define TAG_MAX 16

struct seen {
    int count;
    int count_all;
    const char *names[TAG_MAX];
    enum coro_status statuses[TAG_MAX];
    void *user_data[TAG_MAX];
    struct coro_stack_info stacks[TAG_MAX];
    coro *cos[TAG_MAX];
};

/* The user data of this test's coroutines points into this block. */
static char our_tags[1 + TAG_MAX];

/* Records the coroutines whose user data points into our_tags. */
static int record(const struct coro_visit_info *info, void *context)
{
    struct seen *seen = context;
    seen->count_all++;
    if ((char *)info->user_data < our_tags || (char *)info->user_data >= our_tags + sizeof our_tags)
        return 0;
    int i = seen->count++;
    if (i < TAG_MAX) {
        seen->names[i] = info->name;
        seen->statuses[i] = info->status;
        seen->user_data[i] = info->user_data;
        seen->stacks[i] = info->stack;
        seen->cos[i] = info->co;
    }
    return 0;
}

static int find(const struct seen *seen, const char *name)
{
    for (int i = 0; i < seen->count && i < TAG_MAX; i++)
        if (strcmp(seen->names[i], name) == 0)
            return i;
    return -1;
}

static struct seen seen_from_inside;

static void *visiting_entry(void *value)
{
    memset(&seen_from_inside, 0, sizeof seen_from_inside);
    assert_int_equal(coro_visit(record, &seen_from_inside), CORO_OK);
    return value;
}

static void *resumes_visitor(void *value)
{
    coro *inner = value;
    coro_resume(inner, NULL, NULL);
    coro_yield(NULL, NULL);
    return NULL;
}

static void test_visit_sees_every_status(void **state)
{
    (void)state;
    char *tag = our_tags;
    coro *fresh, *yielded, *dead, *outer, *inner;
    struct coro_options opts = {.name = "fresh", .user_data = tag + 1};
    assert_int_equal(coro_create(&fresh, idle_entry, &opts), CORO_OK);
    opts = (struct coro_options){.name = "yielded", .user_data = tag + 2};
    assert_int_equal(coro_create(&yielded, idle_entry, &opts), CORO_OK);
    assert_int_equal(coro_resume(yielded, NULL, NULL), CORO_OK);
    opts = (struct coro_options){.name = "dead", .user_data = tag + 3};
    assert_int_equal(coro_create(&dead, deep_entry, &opts), CORO_OK);
    assert_int_equal(coro_resume(dead, NULL, NULL), CORO_OK);
    assert_int_equal(coro_resume(dead, NULL, NULL), CORO_OK);
    assert_int_equal(coro_status(dead), CORO_DEAD);
    opts = (struct coro_options){.name = "outer", .user_data = tag + 4};
    assert_int_equal(coro_create(&outer, resumes_visitor, &opts), CORO_OK);
    opts = (struct coro_options){.name = "inner", .user_data = tag + 5};
    assert_int_equal(coro_create(&inner, visiting_entry, &opts), CORO_OK);

    /* outer resumes inner, which visits: outer is NORMAL, inner RUNNING. */
    assert_int_equal(coro_resume(outer, inner, NULL), CORO_OK);
    struct seen *seen = &seen_from_inside;
    assert_int_equal(seen->count, 5);
    const char *names[] = {"fresh", "yielded", "dead", "outer", "inner"};
    enum coro_status statuses[] = {CORO_SUSPENDED, CORO_SUSPENDED, CORO_DEAD, CORO_NORMAL, CORO_RUNNING};
    coro *cos[] = {fresh, yielded, dead, outer, inner};
    for (int k = 0; k < 5; k++) {
        int i = find(seen, names[k]);
        assert_true(i >= 0);
        assert_int_equal(seen->statuses[i], statuses[k]);
        assert_ptr_equal(seen->user_data[i], tag + 1 + k);
        assert_ptr_equal(seen->cos[i], cos[k]);
        check_bounds(&seen->stacks[i], cos[k]);
        /* A dead context keeps no stack pointer: nothing is in use. */
        if (statuses[k] == CORO_DEAD)
            assert_int_equal(seen->stacks[i].used, 0);
        else
            assert_true(seen->stacks[i].used > 0);
    }
    /* A dead coroutine stays listed until it is destroyed. */
    assert_int_equal(coro_destroy(dead), CORO_OK);
    assert_int_equal(coro_destroy(inner), CORO_OK);
    struct seen after = {0};
    assert_int_equal(coro_visit(record, &after), CORO_OK);
    assert_int_equal(after.count, 3);
    assert_int_equal(find(&after, "dead"), -1);
    assert_int_equal(find(&after, "inner"), -1);
    assert_int_equal(after.statuses[find(&after, "outer")], CORO_SUSPENDED);

    assert_int_equal(coro_destroy(fresh), CORO_OK);
    assert_int_equal(coro_destroy(yielded), CORO_OK);
    assert_int_equal(coro_destroy(outer), CORO_OK);
    struct seen none = {0};
    assert_int_equal(coro_visit(record, &none), CORO_OK);
    assert_int_equal(none.count, 0);
}

static int stop_at_first(const struct coro_visit_info *info, void *context)
{
    (void)info;
    (*(int *)context)++;
    return 1;
}

struct misuse {
    int create, destroy, visit, calls;
    coro *victim;
};

static int misuse_inside(const struct coro_visit_info *info, void *context)
{
    (void)info;
    struct misuse *m = context;
    coro *co = NULL;
    m->calls++;
    m->create = coro_create(&co, idle_entry, NULL);
    assert_null(co);
    m->destroy = coro_destroy(m->victim);
    m->visit = coro_visit(record, NULL);
    return 0;
}

/* What a visit says of one coroutine: -1 when it is not seen. */
struct cancel_view {
    coro *co;
    int cancelled;
};

static int look_for_one(const struct coro_visit_info *info, void *context)
{
    struct cancel_view *view = context;
    if (info->co == view->co)
        view->cancelled = info->cancelled;
    return 0;
}

static int cancelled_seen_by_visit(coro *co)
{
    struct cancel_view view = {co, -1};
    assert_int_equal(coro_visit(look_for_one, &view), CORO_OK);
    return view.cancelled;
}

/* Waits until cancelled; then, while it unwinds, asks the visitor what it
 * says of the coroutine itself. */
static void *unwinds_and_looks(void *unused)
{
    (void)unused;
    while (coro_yield(NULL, NULL) == CORO_OK) {
    }
    return (void *)(intptr_t)cancelled_seen_by_visit(coro_running());
}

static void test_visit_shows_cancelled(void **state)
{
    (void)state;
    coro *co, *plain;
    assert_int_equal(coro_create(&co, unwinds_and_looks, NULL), CORO_OK);
    assert_int_equal(coro_create(&plain, unwinds_and_looks, NULL), CORO_OK);
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_int_equal(coro_resume(plain, NULL, NULL), CORO_OK);
    assert_int_equal(cancelled_seen_by_visit(co), 0);
    void *seen_while_unwinding = NULL;
    assert_int_equal(coro_cancel(co, &seen_while_unwinding), CORO_OK);
    assert_int_equal((intptr_t)seen_while_unwinding, 1);
    /* Dead by cancel, and still listed until destroyed; the other one not. */
    assert_int_equal(cancelled_seen_by_visit(co), 1);
    assert_int_equal(cancelled_seen_by_visit(plain), 0);
    assert_int_equal(coro_destroy(co), CORO_OK);
    assert_int_equal(cancelled_seen_by_visit(co), -1);
    assert_int_equal(coro_destroy(plain), CORO_OK);
}

static void test_visit_stop_and_misuse(void **state)
{
    (void)state;
    assert_int_equal(coro_visit(NULL, NULL), CORO_EINVAL);
    coro *a, *b;
    assert_int_equal(coro_create(&a, idle_entry, NULL), CORO_OK);
    assert_int_equal(coro_create(&b, idle_entry, NULL), CORO_OK);
    int calls = 0;
    assert_int_equal(coro_visit(stop_at_first, &calls), CORO_OK);
    assert_int_equal(calls, 1);

    struct misuse m = {.victim = b};
    assert_int_equal(coro_visit(misuse_inside, &m), CORO_OK);
    assert_int_equal(m.calls, 2);
    assert_int_equal(m.create, CORO_EBUSY);
    assert_int_equal(m.destroy, CORO_EBUSY);
    assert_int_equal(m.visit, CORO_EBUSY);
    /* Nothing changed: b is alive, and outside a visit all works again. */
    assert_int_equal(coro_status(b), CORO_SUSPENDED);
    calls = 0;
    assert_int_equal(coro_visit(stop_at_first, &calls), CORO_OK);
    assert_int_equal(calls, 1);
    assert_int_equal(coro_destroy(a), CORO_OK);
    assert_int_equal(coro_destroy(b), CORO_OK);
    coro *c;
    assert_int_equal(coro_create(&c, idle_entry, NULL), CORO_OK);
    assert_int_equal(coro_destroy(c), CORO_OK);
}

/* --- while other threads work --- */

#define WORKERS 4
#define MIN_ROUNDS 500

static int stop_working;
static char worker_tag;

static void *churn_entry(void *value)
{
    coro_yield(value, NULL);
    coro_yield(value, NULL);
    return value;
}

/* Creates, runs and destroys coroutines, some of them destroyed by the
 * next round rather than at once, and one left to the main thread. */
static void *worker(void *arg)
{
    coro **leftover = arg;
    coro *held = NULL;
    for (int round = 0; round < MIN_ROUNDS || !__atomic_load_n(&stop_working, __ATOMIC_ACQUIRE); round++) {
        struct coro_options opts = {.name = "churn", .user_data = &worker_tag,
                                    .stack_size = round % 2 ? 16 * KIB : 0};
        coro *co;
        if (coro_create(&co, churn_entry, &opts) != CORO_OK)
            return V(1);
        coro_resume(co, NULL, NULL);
        if (held != NULL) {
            while (coro_status(held) != CORO_DEAD)
                coro_resume(held, NULL, NULL);
            coro_destroy(held);
        }
        held = co;
    }
    *leftover = held;
    return NULL;
}

struct tally {
    long seen, bad;
};

static int check_churn(const struct coro_visit_info *info, void *context)
{
    struct tally *tally = context;
    if (info->user_data != &worker_tag)
        return 0;
    tally->seen++;
    /* Alive while fn runs: its control block still holds what create wrote. */
    if (strcmp(info->name, "churn") != 0 || info->stack.usable < 16 * KIB ||
        info->stack.top != (void *)info->co || coro_user_data(info->co) != &worker_tag)
        tally->bad++;
    return 0;
}

static void test_visit_while_threads_create_and_destroy(void **state)
{
    (void)state;
    pthread_t threads[WORKERS];
    coro *leftovers[WORKERS] = {0};
    stop_working = 0;
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, worker, &leftovers[i]), 0);
    /* The workers go on until the visits have seen plenty of their
     * coroutines, so the two really overlap however the threads are
     * scheduled. */
    struct tally tally = {0, 0};
    long visits = 0;
    while (tally.seen < 1000 || visits < 100) {
        assert_int_equal(coro_visit(check_churn, &tally), CORO_OK);
        visits++;
    }
    __atomic_store_n(&stop_working, 1, __ATOMIC_RELEASE);
    print_message("%ld visits saw %ld coroutines of the workers\n", visits, tally.seen);
    for (int i = 0; i < WORKERS; i++) {
        void *failed;
        assert_int_equal(pthread_join(threads[i], &failed), 0);
        assert_null(failed);
    }
    assert_int_equal(tally.bad, 0);

    /* Each worker left one coroutine: the main thread sees all of them and
     * destroys them, though other threads created them. */
    struct tally left = {0, 0};
    assert_int_equal(coro_visit(check_churn, &left), CORO_OK);
    assert_int_equal(left.seen, WORKERS);
    assert_int_equal(left.bad, 0);
    for (int i = 0; i < WORKERS; i++) {
        assert_non_null(leftovers[i]);
        assert_int_equal(coro_destroy(leftovers[i]), CORO_OK);
    }
    struct tally none = {0, 0};
    assert_int_equal(coro_visit(check_churn, &none), CORO_OK);
    assert_int_equal(none.seen, 0);
}

/* --- lists owned by threads --- */

static struct coro_registry_link *link_of(coro *co)
{
    return (struct coro_registry_link *)((char *)co + coro_registry.link_offset);
}

/* The list whose first link is co's: where a create just put it. */
static int list_heading(coro *co)
{
    for (int i = 0; i < CORO_REGISTRY_LISTS; i++)
        if (__atomic_load_n(&coro_registry.lists[i].head, __ATOMIC_RELAXED) == link_of(co))
            return i;
    return -1;
}

static uintptr_t owner_of(int list)
{
    return __atomic_load_n(&coro_registry.lists[list].owner, __ATOMIC_ACQUIRE);
}

static uint32_t biased(int list)
{
    return __atomic_load_n(&coro_registry.lists[list].biased, __ATOMIC_RELAXED);
}

static int owned_lists(void)
{
    int owned = 0;
    for (int i = 0; i < CORO_REGISTRY_LISTS; i++)
        owned += owner_of(i) != 0;
    return owned;
}

static char owner_tag;

static int count_owner_tagged(const struct coro_visit_info *info, void *context)
{
    if (info->user_data == &owner_tag)
        ++*(int *)context;
    return 0;
}

static int owner_tagged_alive(void)
{
    int count = 0;
    assert_int_equal(coro_visit(count_owner_tagged, &count), CORO_OK);
    return count;
}

/* Two threads take turns: each waits for its own number. */
static int turn;

static void wait_for_turn(int mine)
{
    while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != mine)
        sched_yield();
}

static void give_turn(int next)
{
    __atomic_store_n(&turn, next, __ATOMIC_RELEASE);
}

struct revoked {
    coro *given_away;        /* for the main thread to destroy */
    int list;                /* the owner's */
    uint32_t biased_before;  /* its bias before that destroy */
    uint32_t biased_after;
    int alive_seen;          /* what the owner's visit found at the end */
};

/* Owns a list, hands one coroutine to the main thread to destroy, then goes
 * on creating and destroying on the same list. */
static void *owner_after_revoke(void *arg)
{
    struct revoked *r = arg;
    struct coro_options opts = {.name = "owned", .user_data = &owner_tag};
    coro *kept, *held[8];
    if (coro_create(&kept, idle_entry, &opts) != CORO_OK || coro_create(&r->given_away, idle_entry, &opts) != CORO_OK)
        return V(1);
    r->list = list_heading(r->given_away);
    r->biased_before = r->list >= 0 ? biased(r->list) : 0;
    give_turn(1);
    wait_for_turn(2);
    r->biased_after = r->list >= 0 ? biased(r->list) : 1;
    /* Now on the lock path: links and unlinks at both ends of the list. */
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < 8; i++)
            if (coro_create(&held[i], idle_entry, &opts) != CORO_OK)
                return V(1);
        for (int i = round % 2; i < 8; i += 2)
            coro_destroy(held[i]);
        for (int i = 1 - round % 2; i < 8; i += 2)
            coro_destroy(held[i]);
    }
    for (int i = 0; i < 3; i++)
        if (coro_create(&held[i], idle_entry, &opts) != CORO_OK)
            return V(1);
    coro_destroy(held[1]);
    r->alive_seen = owner_tagged_alive();
    coro_destroy(held[0]);
    coro_destroy(held[2]);
    coro_destroy(kept);
    return NULL;
}

static void test_destroy_from_another_thread_revokes_the_bias(void **state)
{
    (void)state;
    struct revoked r = {.list = -1};
    pthread_t owner;
    give_turn(0);
    assert_int_equal(pthread_create(&owner, NULL, owner_after_revoke, &r), 0);
    wait_for_turn(1);
    assert_true(r.list >= 0);
    assert_true(owner_of(r.list) != 0);
    assert_int_equal(owner_tagged_alive(), 2);
    assert_int_equal(coro_destroy(r.given_away), CORO_OK);
    assert_int_equal(owner_tagged_alive(), 1);
    give_turn(2);
    void *failed;
    assert_int_equal(pthread_join(owner, &failed), 0);
    assert_null(failed);
    print_message("the owner's list was %sbiased before the destroy from another thread\n",
                  r.biased_before ? "" : "not ");
    /* For good: even the owner's own changes after it do not bring it back. */
    assert_int_equal(r.biased_after, 0);
    /* kept and the two of the last three. */
    assert_int_equal(r.alive_seen, 3);
    assert_int_equal(owner_tagged_alive(), 0);
    assert_int_equal(owner_of(r.list), 0);
}

#define SHORT_LIVED_THREADS (2 * CORO_REGISTRY_LISTS + 8)

struct short_lived {
    int list;          /* the list its first create joined */
    uintptr_t owner;   /* that list's owner while it ran */
    coro *left;        /* alive past the thread's exit, or NULL */
};

static void *create_and_exit(void *arg)
{
    struct short_lived *s = arg;
    struct coro_options opts = {.name = "left", .user_data = &owner_tag};
    coro *a, *b;
    if (coro_create(&a, idle_entry, &opts) != CORO_OK || coro_create(&b, idle_entry, &opts) != CORO_OK)
        return V(1);
    s->list = list_heading(b);
    s->owner = s->list >= 0 ? owner_of(s->list) : 0;
    coro_destroy(b);
    if (s->left != NULL)
        s->left = a;
    else
        coro_destroy(a);
    return NULL;
}

static void test_lists_are_given_back_when_threads_exit(void **state)
{
    (void)state;
    static struct short_lived threads[SHORT_LIVED_THREADS];
    int owned_before = owned_lists();
    int reused = 0, kept = 0;
    uintptr_t seen_on[CORO_REGISTRY_LISTS] = {0};
    for (int i = 0; i < SHORT_LIVED_THREADS; i++) {
        struct short_lived *s = &threads[i];
        /* Every third thread leaves a coroutine behind: non-NULL asks. */
        s->left = i % 3 == 0 ? (coro *)&threads : NULL;
        pthread_t thread;
        assert_int_equal(pthread_create(&thread, NULL, create_and_exit, s), 0);
        void *failed;
        assert_int_equal(pthread_join(thread, &failed), 0);
        assert_null(failed);
        /* It owned its list while it ran, and gave it back. */
        assert_true(s->list >= 0);
        assert_true(s->owner != 0);
        assert_int_equal(owner_of(s->list), 0);
        assert_int_equal(owned_lists(), owned_before);
        if (seen_on[s->list] != 0)
            reused++;
        seen_on[s->list] = 1;
        kept += s->left != NULL;
    }
    /* More threads than lists, one at a time: lists were claimed again. */
    assert_true(reused >= SHORT_LIVED_THREADS - CORO_REGISTRY_LISTS);
    /* The coroutines outlive their threads in lists nobody owns, and the
     * main thread destroys them. */
    assert_int_equal(owner_tagged_alive(), kept);
    for (int i = 0; i < SHORT_LIVED_THREADS; i++)
        if (threads[i].left != NULL)
            assert_int_equal(coro_destroy(threads[i].left), CORO_OK);
    assert_int_equal(owner_tagged_alive(), 0);
}

/* One thread creates and destroys as fast as it can on the list it owns,
 * keeping RING coroutines alive, while another visits: every visit must see
 * the ring whole (RING or, mid-turn, RING + 1 of them) and every coroutine
 * in it as its creator wrote it, never one being taken apart. */
#define RING 4
#define STRESS_VISITS 5000
#define STRESS_TURNS 5000
#define STRESS_VISITS_MAX 30000

static char ring_tags[64];
static int stop_ring;
static unsigned long ring_turns; /* 0 until the ring is full */

static void *ring_owner(void *arg)
{
    (void)arg;
    coro *ring[RING];
    unsigned sequence = 0;
    char name[32];
    for (int i = 0; i < RING; i++, sequence++) {
        snprintf(name, sizeof name, "ring %u", sequence);
        struct coro_options opts = {.name = name, .user_data = &ring_tags[sequence % sizeof ring_tags]};
        if (coro_create(&ring[i], idle_entry, &opts) != CORO_OK)
            return V(1);
    }
    while (!__atomic_load_n(&stop_ring, __ATOMIC_ACQUIRE)) {
        int oldest = (int)(sequence % RING);
        snprintf(name, sizeof name, "ring %u", sequence);
        struct coro_options opts = {.name = name, .user_data = &ring_tags[sequence % sizeof ring_tags]};
        coro *next;
        if (coro_create(&next, idle_entry, &opts) != CORO_OK)
            return V(1);
        /* The pool hands the stack straight back to the next create, which
         * writes a new name and user data over this control block. */
        coro_destroy(ring[oldest]);
        ring[oldest] = next;
        sequence++;
        __atomic_store_n(&ring_turns, sequence, __ATOMIC_RELAXED);
    }
    for (int i = 0; i < RING; i++)
        coro_destroy(ring[i]);
    return NULL;
}

struct ring_view {
    int count;
    int bad;
};

static int check_ring(const struct coro_visit_info *info, void *context)
{
    struct ring_view *view = context;
    const char *tag = info->user_data;
    if (tag < ring_tags || tag >= ring_tags + sizeof ring_tags)
        return 0;
    view->count++;
    unsigned sequence;
    char extra;
    if (sscanf(info->name, "ring %u%c", &sequence, &extra) != 1 || tag != &ring_tags[sequence % sizeof ring_tags] ||
        info->status != CORO_SUSPENDED)
        view->bad++;
    return 0;
}

static void test_visits_never_see_the_owner_midway(void **state)
{
    (void)state;
    pthread_t owner;
    stop_ring = 0;
    ring_turns = 0;
    assert_int_equal(pthread_create(&owner, NULL, ring_owner, NULL), 0);
    while (__atomic_load_n(&ring_turns, __ATOMIC_RELAXED) == 0)
        sched_yield();
    /* Visits are dear for the owner (each stops it for the barrier): go on
     * until both sides did plenty, however the two are scheduled. */
    long visits = 0, bad = 0, wrong_count = 0;
    unsigned long turns = 0;
    while ((visits < STRESS_VISITS || turns < STRESS_TURNS) && visits < STRESS_VISITS_MAX) {
        struct ring_view view = {0, 0};
        assert_int_equal(coro_visit(check_ring, &view), CORO_OK);
        visits++;
        bad += view.bad;
        if (view.count != RING && view.count != RING + 1)
            wrong_count++;
        turns = __atomic_load_n(&ring_turns, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&stop_ring, 1, __ATOMIC_RELEASE);
    void *failed;
    assert_int_equal(pthread_join(owner, &failed), 0);
    assert_null(failed);
    print_message("%ld visits while the owner made %lu turns\n", visits, turns);
    assert_int_equal(bad, 0);
    assert_int_equal(wrong_count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stack_info_high_water_after_deep_call),
        cmocka_unit_test(test_stack_info_of_a_suspended_deep_coroutine),
        cmocka_unit_test(test_stack_info_high_water_of_a_big_stack),
        cmocka_unit_test(test_stack_info_caller_stack),
        cmocka_unit_test(test_stack_info_arena_stack),
        cmocka_unit_test(test_stack_info_errors),
        cmocka_unit_test(test_stack_remaining),
        cmocka_unit_test(test_visit_sees_every_status),
        cmocka_unit_test(test_visit_shows_cancelled),
        cmocka_unit_test(test_visit_stop_and_misuse),
        cmocka_unit_test(test_visit_while_threads_create_and_destroy),
        cmocka_unit_test(test_destroy_from_another_thread_revokes_the_bias),
        cmocka_unit_test(test_lists_are_given_back_when_threads_exit),
        cmocka_unit_test(test_visits_never_see_the_owner_midway),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
