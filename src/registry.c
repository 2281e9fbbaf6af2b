/*
 * The registry of live coroutines (registry.h): static lists, each guarded
 * by a spin lock that its threads take uncontended on every create and
 * destroy, and that a visitor takes one list at a time.
 */
#if !defined(_WIN32)
#define _DEFAULT_SOURCE /* mincore */
#endif

#include "registry.h"

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#include <windows.h>
#else
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "stack.h"

CORO_REGISTRY_THREAD_LOCAL struct coro_registry_thread coro_registry_this_thread;

/* The next list a thread takes. */
static unsigned next_list;

static void pause_briefly(unsigned spins)
{
    /* A holder may be a visitor calling back into the program for a while:
     * after a short spin, give the processor away. */
    if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        return;
    }
#if defined(_WIN32)
    SwitchToThread();
#else
    sched_yield();
#endif
}

void coro_registry_lock_wait(struct coro_registry_list *list)
{
    uintptr_t tag = (uintptr_t)&coro_registry_this_thread;
    for (unsigned spins = 0;; spins++) {
        pause_briefly(spins);
        uintptr_t free_lock = 0;
        if (__atomic_load_n(&list->lock, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&list->lock, &free_lock, tag, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return;
    }
}

struct coro_registry_list *coro_registry_first_list(void)
{
    unsigned index = __atomic_fetch_add(&next_list, 1, __ATOMIC_RELAXED) % CORO_REGISTRY_LISTS;
    coro_registry_this_thread.list = &coro_registry.lists[index];
    return coro_registry_this_thread.list;
}

int coro_registry_walk(int (*fn)(struct coro_registry_link *link, void *context), void *context)
{
    struct coro_registry_thread *t = &coro_registry_this_thread;
    int stop = 0;
    t->walking = 1;
    for (int i = 0; i < CORO_REGISTRY_LISTS && stop == 0; i++) {
        struct coro_registry_list *list = &coro_registry.lists[i];
        /* Most lists are empty: a relaxed look first spares their locks. */
        if (__atomic_load_n(&list->head, __ATOMIC_RELAXED) == NULL)
            continue;
        coro_registry_lock(list);
        for (struct coro_registry_link *link = list->head; link != NULL && stop == 0; link = link->next)
            stop = fn(link, context);
        coro_registry_unlock(list);
    }
    t->walking = 0;
    return stop;
}

size_t coro_registry_high_water(const void *bottom, const void *top)
{
#if defined(_WIN32)
    /* Windows commits a coroutine's whole stack (stack_win32.c), and its
     * working-set query per page costs a system call each: not offered. */
    (void)bottom, (void)top;
    return 0;
#else
    size_t page = coro_stack_page_size();
    uintptr_t first = (uintptr_t)bottom & ~(uintptr_t)(page - 1);
    uintptr_t end = (uintptr_t)top;
    size_t pages = (size_t)((end - first + page - 1) / page);
    /* Stacks grow down: the lowest resident page marks the deepest use.
     * mincore answers for a batch of pages per call. */
    unsigned char resident[256];
    for (size_t done = 0; done < pages;) {
        size_t batch = pages - done < sizeof resident ? pages - done : sizeof resident;
        if (mincore((void *)(first + done * page), batch * page, (void *)resident) != 0)
            return 0;
        for (size_t i = 0; i < batch; i++)
            if (resident[i] & 1) {
                uintptr_t lowest = first + (done + i) * page;
                if (lowest < (uintptr_t)bottom)
                    lowest = (uintptr_t)bottom;
                return (size_t)(end - lowest);
            }
        done += batch;
    }
    return 0;
#endif
}
