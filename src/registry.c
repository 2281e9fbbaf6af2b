/*
 * The registry of live coroutines (registry.h): static lists, each owned by
 * one thread that links and unlinks its coroutines without atomic
 * read-modify-writes while the list is biased to it, and guarded by a spin
 * lock for everyone else.
 *
 * Why the owner may skip the lock. The owner and another thread each write
 * one word and then read the other's: the owner writes owner_busy, then
 * reads lock (and biased); the other thread writes lock (its CAS), then
 * reads owner_busy. Without a full barrier between the write and the read
 * on both sides, both reads may see the old value and both go ahead. The
 * other side has its barrier in the CAS. The owner has none, only a
 * compiler barrier: instead, the other thread runs the process-wide
 * barrier (heavy_barrier below) between its write and its read, which puts
 * a full barrier into the owner's instruction stream at some point P. If
 * P comes before the owner's write of owner_busy, the owner's read of lock
 * comes after P and sees it held, so the owner queues for the lock. If P
 * comes after that write, the write is visible once the barrier returns,
 * and the other thread waits until owner_busy drops. Either way at most
 * one of them is in the list.
 *
 * Revoking. The other thread writes biased = 0 before its barrier. An owner
 * that read biased as 1 read it before P, so its owner_busy was written
 * before P too and the revoker waits for it; every owner read after P sees
 * 0 and takes the lock. That is why the owner reads biased after writing
 * owner_busy, and why a thread that finds biased = 0 under the lock needs
 * no barrier: the revoker's waited for the owner's last lock-free change.
 * biased is set and cleared under the lock only, so a holder reads it
 * exactly.
 */
#if !defined(_WIN32)
#define _DEFAULT_SOURCE /* mincore, syscall */
#endif

#include "registry.h"

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#include <windows.h>
#else
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include "compiler.h"
#include "stack.h"

/* ThreadSanitizer knows nothing of the process-wide barrier and would call
 * the owner's lock-free changes races: under it (CORO_TSAN, compiler.h),
 * lists are never biased, and the lock path is the one it checks. */

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

/* --- the process-wide barrier: a full barrier in every running thread --- */

#if defined(CORO_TSAN)

static int heavy_barrier_ready(void)
{
    return 0;
}

static void heavy_barrier(void)
{
}

#elif defined(_WIN32)

static int heavy_barrier_ready(void)
{
    return 1;
}

static void heavy_barrier(void)
{
    FlushProcessWriteBuffers();
}

#elif defined(__linux__) && defined(SYS_membarrier)

/* linux/membarrier.h's values, which are ABI: not every C library's
 * headers carry that file. */
enum {
    MEMBARRIER_GLOBAL = 1 << 0,
    MEMBARRIER_PRIVATE_EXPEDITED = 1 << 3,
    MEMBARRIER_REGISTER_PRIVATE_EXPEDITED = 1 << 4,
};

static long membarrier(int command)
{
    return syscall(SYS_membarrier, command, 0, 0);
}

/* 1 once the process is registered for the expedited barrier, -1 when the
 * kernel refuses (before 4.14, or a seccomp filter): then no list is ever
 * biased. Threads that race here all register, which is harmless. */
static int heavy_barrier_state;

static int heavy_barrier_ready(void)
{
    int state = __atomic_load_n(&heavy_barrier_state, __ATOMIC_ACQUIRE);
    if (state == 0) {
        state = membarrier(MEMBARRIER_REGISTER_PRIVATE_EXPEDITED) == 0 ? 1 : -1;
        __atomic_store_n(&heavy_barrier_state, state, __ATOMIC_RELEASE);
    }
    return state > 0;
}

static void heavy_barrier(void)
{
    if (membarrier(MEMBARRIER_PRIVATE_EXPEDITED) == 0)
        return;
    /* Only a registered process may ask; registering again costs nothing
     * and covers a kernel that forgets it (a fork's child, say). The
     * global barrier needs no registration but waits for a grace period,
     * milliseconds: the last resort. */
    if (membarrier(MEMBARRIER_REGISTER_PRIVATE_EXPEDITED) == 0 && membarrier(MEMBARRIER_PRIVATE_EXPEDITED) == 0)
        return;
    membarrier(MEMBARRIER_GLOBAL);
}

#else

/* macOS and the BSDs offer no such barrier to a program. The owner would
 * need a full fence of its own, which costs what the lock's CAS does:
 * their lists stay on the lock. */
static int heavy_barrier_ready(void)
{
    return 0;
}

static void heavy_barrier(void)
{
}

#endif

void coro_registry_exclude_owner(struct coro_registry_list *list, int revoke)
{
    /* The lock is held. A revoke comes before the barrier, so that the
     * owner's every read after it sees the list unbiased (see above). */
    if (revoke)
        __atomic_store_n(&list->biased, 0, __ATOMIC_RELAXED);
    heavy_barrier();
    /* Acquire: the owner's lock-free change, if one was under way, is
     * then complete in what this thread reads. */
    for (unsigned spins = 0; __atomic_load_n(&list->owner_busy, __ATOMIC_ACQUIRE) != 0; spins++)
        pause_briefly(spins);
}

/* --- owning a list: claimed at a thread's first create, freed at its exit --- */

static void release_owned_list(void *owned)
{
    struct coro_registry_list *list = owned;
    struct coro_registry_thread *t = &coro_registry_this_thread;
    /* Windows also calls this at process exit and at FlsFree, perhaps on
     * another thread: only the owner gives its list up. */
    if (t->owned != list)
        return;
    coro_registry_lock(list);
    __atomic_store_n(&list->biased, 0, __ATOMIC_RELAXED);
    /* Destructors that run after this one may still create and destroy on
     * this thread: they do so as any thread without a list of its own. */
    t->owned = NULL;
    coro_registry_unlock(list);
    /* Release: the next owner's claim (an acquire) comes after all of the
     * above. */
    __atomic_store_n(&list->owner, 0, __ATOMIC_RELEASE);
}

#if defined(_WIN32)

/* Fiber-local storage rather than thread-local, as in stack_win32.c: only
 * its slots have a callback at thread exit. */
static DWORD thread_exit_slot = FLS_OUT_OF_INDEXES;
static INIT_ONCE thread_exit_once = INIT_ONCE_STATIC_INIT;

static void WINAPI thread_exiting(void *owned)
{
    if (owned != NULL)
        release_owned_list(owned);
}

static BOOL CALLBACK create_thread_exit_slot(INIT_ONCE *once, void *parameter, void **context)
{
    (void)once, (void)parameter, (void)context;
    thread_exit_slot = FlsAlloc(thread_exiting);
    return TRUE;
}

static int release_at_thread_exit(struct coro_registry_list *list)
{
    InitOnceExecuteOnce(&thread_exit_once, create_thread_exit_slot, NULL, NULL);
    return thread_exit_slot != FLS_OUT_OF_INDEXES && FlsSetValue(thread_exit_slot, list);
}

#else

/* As stack.c's pool key, for the list a thread owns. */
static pthread_key_t thread_exit_key;
static pthread_once_t thread_exit_once = PTHREAD_ONCE_INIT;
static int thread_exit_key_ok;

static void create_thread_exit_key(void)
{
    thread_exit_key_ok = pthread_key_create(&thread_exit_key, release_owned_list) == 0;
}

#if defined(__GNUC__)
/* A shared libcoro unloaded with dlclose() while threads own lists: they
 * keep them rather than call into unmapped code when they exit. */
__attribute__((destructor)) static void delete_thread_exit_key(void)
{
    if (thread_exit_key_ok)
        pthread_key_delete(thread_exit_key);
}
#endif

static int release_at_thread_exit(struct coro_registry_list *list)
{
    pthread_once(&thread_exit_once, create_thread_exit_key);
    return thread_exit_key_ok && pthread_setspecific(thread_exit_key, list) == 0;
}

#endif

/* Claims a list no thread owns, looking from first on. NULL when all are
 * owned. */
static struct coro_registry_list *claim_list(unsigned first)
{
    uintptr_t tag = (uintptr_t)&coro_registry_this_thread;
    for (unsigned i = 0; i < CORO_REGISTRY_LISTS; i++) {
        struct coro_registry_list *list = &coro_registry.lists[(first + i) % CORO_REGISTRY_LISTS];
        uintptr_t no_owner = 0;
        if (__atomic_load_n(&list->owner, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(&list->owner, &no_owner, tag, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return list;
    }
    return NULL;
}

struct coro_registry_list *coro_registry_first_list(void)
{
    struct coro_registry_thread *t = &coro_registry_this_thread;
    unsigned first = __atomic_fetch_add(&next_list, 1, __ATOMIC_RELAXED) % CORO_REGISTRY_LISTS;
    struct coro_registry_list *list = claim_list(first);
    if (list == NULL) {
        /* As many live threads as lists: share one, under its lock. */
        t->list = &coro_registry.lists[first];
        return t->list;
    }
    if (!release_at_thread_exit(list)) {
        /* An owner that could not give its list back at exit would keep it
         * from every later thread. */
        __atomic_store_n(&list->owner, 0, __ATOMIC_RELEASE);
        t->list = list;
        return list;
    }
    t->list = list;
    t->owned = list;
    /* Under the lock, where other threads read it (see above). A list that
     * the last owner left with coroutines in it may be biased again: their
     * destroys come from other threads, and the first of them revokes. */
    coro_registry_lock(list);
    __atomic_store_n(&list->biased, heavy_barrier_ready() ? 1u : 0u, __ATOMIC_RELAXED);
    coro_registry_unlock(list);
    return list;
}

int coro_registry_walk(int (*fn)(struct coro_registry_link *link, void *context), void *context)
{
    struct coro_registry_thread *t = &coro_registry_this_thread;
    int stop = 0;
    t->walking = 1;
    for (int i = 0; i < CORO_REGISTRY_LISTS && stop == 0; i++) {
        struct coro_registry_list *list = &coro_registry.lists[i];
        /* Most lists are empty: a relaxed look first spares their locks
         * (and the barriers of biased ones). */
        if (__atomic_load_n(&list->head, __ATOMIC_RELAXED) == NULL)
            continue;
        /* A visitor reads only: the owner keeps its bias. */
        int by_owner_busy = coro_registry_enter(list, 0);
        for (struct coro_registry_link *link = list->head; link != NULL && stop == 0; link = link->next)
            stop = fn(link, context);
        coro_registry_exit(list, by_owner_busy);
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
