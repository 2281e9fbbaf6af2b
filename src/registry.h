/*
 * The registry of live coroutines: every coroutine from coro_create() to
 * coro_destroy(), reachable from one exported symbol, coro_registry, so that
 * a debugger can list them from memory alone (a live process or a core
 * file) and a program can visit them (coro_visit()).
 *
 * The layout below is what gdb/libcoro-gdb.py reads. It is stable within a
 * version: a change of any field's meaning or place raises
 * CORO_REGISTRY_VERSION, and the script refuses versions it does not know.
 * All fields are native-endian, pointers and sizes are the target's.
 *
 *   struct coro_registry (the symbol coro_registry), all uint32:
 *     +0   version             CORO_REGISTRY_VERSION
 *     +4   list_count          CORO_REGISTRY_LISTS
 *     +8   list_stride         bytes from one list to the next
 *     +12  lists_offset        where the first list starts in this struct
 *   and where a control block holds:
 *     +16  link_offset         its struct coro_registry_link
 *     +20  sp_offset           the saved stack pointer (a pointer)
 *     +24  status_offset       enum coro_status (an int; coro.h's values)
 *     +28  name_offset         its NUL-terminated name, name_size bytes
 *     +32  name_size
 *     +36  bottom_offset       the lowest usable stack address (a pointer)
 *     +40  entry_offset        the entry function (a pointer)
 *     +44  inbox_offset        a pointer; equal to the control block's
 *     +48  first_value_offset  address plus first_value_offset in a
 *                              SUSPENDED coroutine that has never run
 *     +52  frame_size          CORO_ARCH_FRAME_SIZE: the suspended frame at
 *                              the saved stack pointer (src/arch/<abi>.S)
 *     +56  resumer_offset      the context it returns to, a pointer to a
 *                              control block (or to a thread's own
 *                              context, whose sp is at sp_offset too); NULL
 *                              for none
 *     +60  cancelled_offset    one byte, nonzero once coro_cancel() has
 *                              stopped it (coro_cancelled())
 *   then list_count lists of list_stride bytes, each starting with
 *     +0     pointer head      the first link, or NULL
 *     +ptr   uintptr lock      0 when free, else the holder's thread tag
 *     +2ptr  uintptr owner     0 when no thread owns the list, else the
 *                              owner's thread tag
 *     +3ptr  uint32 biased     nonzero while the owner links without the
 *                              lock (below)
 *     +3ptr+4 uint32 owner_busy  nonzero while it does so
 *   (a debugger needs only head; the rest tells who is using the list)
 *
 *   struct coro_registry_link (in each control block, at link_offset)
 *     +0   pointer next            next link of the same list, or NULL
 *
 * A control block's address is its link's address minus link_offset; its
 * stack top (one past the highest usable byte) is the control block's own
 * address.
 *
 * Threads. At its first create a thread claims a list no thread owns, and
 * joins every coroutine it creates to that list until it exits, when the
 * list is free for the next thread to claim. With more live threads than
 * lists, a thread finds none free and shares one (round-robin) without
 * owning it. A destroy takes the coroutine out of the list it joined, from
 * whichever thread.
 *
 * Each list has a spin lock, which is all there is to it for a thread that
 * does not own the list, for visitors, and on systems without a process-wide
 * barrier (below). The owner's own creates and destroys would pay two
 * atomic read-modify-writes each for a lock nobody else wants, so where the
 * system can interrupt every thread of the process with a full barrier
 * (Linux's membarrier, Windows' FlushProcessWriteBuffers) the list is
 * biased to its owner: the owner announces itself in owner_busy with a
 * plain store and checks that the lock is free, and any other thread takes
 * the lock, makes every thread pass a full barrier, then waits for
 * owner_busy to drop. The barrier is what makes the owner's side cheap and
 * the other side rare and dear (registry.c gives the argument). So that a
 * program that destroys or creates across threads does not pay it every
 * time, the first such change from another thread revokes the bias for
 * good: from then on the owner takes the lock too. A visitor does not
 * revoke; it pays one barrier per non-empty biased list it walks.
 *
 * No global lock is taken, and nothing is allocated: the lists are static.
 */
#ifndef CORO_REGISTRY_H
#define CORO_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "coro.h"

#define CORO_REGISTRY_VERSION 1u
#define CORO_REGISTRY_LISTS 64

struct coro_registry_link {
    struct coro_registry_link *next;
    struct coro_registry_link **pprev;     /* the pointer that points to this link */
    struct coro_registry_list *list;       /* the list it is in */
};

struct coro_registry_list {
    struct coro_registry_link *head;
    uintptr_t lock;                        /* 0: free; else the holder's thread tag */
    uintptr_t owner;                       /* 0: no owner; else the owner's thread tag */
    uint32_t biased;                       /* the owner links without the lock */
    uint32_t owner_busy;                   /* ... and is doing so now */
    /* A list per cache line: threads joining different lists do not share one. */
    char padding[64 - 3 * sizeof(void *) - 2 * sizeof(uint32_t)];
};

struct coro_registry {
    uint32_t version;
    uint32_t list_count;
    uint32_t list_stride;
    uint32_t lists_offset;
    uint32_t link_offset;
    uint32_t sp_offset;
    uint32_t status_offset;
    uint32_t name_offset;
    uint32_t name_size;
    uint32_t bottom_offset;
    uint32_t entry_offset;
    uint32_t inbox_offset;
    uint32_t first_value_offset;
    uint32_t frame_size;
    uint32_t resumer_offset;
    uint32_t cancelled_offset;
    struct coro_registry_list lists[CORO_REGISTRY_LISTS] __attribute__((aligned(64)));
};

/* Defined in coro.c, which knows the control block's layout. */
extern CORO_API struct coro_registry coro_registry;

#if defined(__GNUC__) && !defined(_WIN32)
#define CORO_REGISTRY_THREAD_LOCAL _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define CORO_REGISTRY_THREAD_LOCAL _Thread_local
#endif

struct coro_registry_thread {
    struct coro_registry_list *list;  /* where its creates go; NULL until the first */
    struct coro_registry_list *owned; /* list, when the thread owns it; else NULL */
    int walking;                      /* inside coro_registry_walk() */
};

/* The calling thread's; its address is the thread's tag in a held lock and
 * in an owned list's owner. */
extern CORO_REGISTRY_THREAD_LOCAL struct coro_registry_thread coro_registry_this_thread;

/* Out of line, for what is rare: a thread's first create, a held lock, a
 * list biased to another thread. */
struct coro_registry_list *coro_registry_first_list(void);
void coro_registry_lock_wait(struct coro_registry_list *list);
void coro_registry_exclude_owner(struct coro_registry_list *list, int revoke);

/* Create and destroy call the functions below, which are inline because
 * they are on the path of every pooled create and destroy. */

/* Takes the list's lock. */
static inline void coro_registry_lock(struct coro_registry_list *list)
{
    uintptr_t free_lock = 0;
    if (!__atomic_compare_exchange_n(&list->lock, &free_lock, (uintptr_t)&coro_registry_this_thread, 0,
                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        coro_registry_lock_wait(list);
}

static inline void coro_registry_unlock(struct coro_registry_list *list)
{
    __atomic_store_n(&list->lock, 0, __ATOMIC_RELEASE);
}

/* Makes the calling thread the only one changing or reading the list: by
 * owner_busy alone when the list is biased to it (returns 1; end with
 * coro_registry_owner_done), else by its lock (returns 0; end with
 * coro_registry_unlock), keeping the owner of a biased list out too. A
 * change (revoke) from a thread that does not own the list ends the bias. */
static inline int coro_registry_enter(struct coro_registry_list *list, int revoke)
{
    if (list == coro_registry_this_thread.owned) {
        __atomic_store_n(&list->owner_busy, 1, __ATOMIC_RELAXED);
        /* Only the compiler must keep the store above the loads: the
         * processor may still let the loads pass it, which the other side's
         * process-wide barrier answers for (registry.c). The acquire pairs
         * with the unlock of whoever held the lock last, so their reads and
         * writes of the list are over before ours start. biased is read
         * after the lock for the case registry.c's argument needs. */
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (__builtin_expect(__atomic_load_n(&list->lock, __ATOMIC_ACQUIRE) == 0, 1) &&
            __builtin_expect(__atomic_load_n(&list->biased, __ATOMIC_RELAXED) != 0, 1))
            return 1;
        /* Revoked, or another thread holds the lock and may be waiting for
         * owner_busy to drop: let it, and queue for the lock. */
        __atomic_store_n(&list->owner_busy, 0, __ATOMIC_RELAXED);
        coro_registry_lock(list);
        return 0;
    }
    coro_registry_lock(list);
    /* Set and cleared only under the lock: the lock's acquire makes this
     * read exact. */
    if (__atomic_load_n(&list->biased, __ATOMIC_RELAXED) != 0)
        coro_registry_exclude_owner(list, revoke);
    return 0;
}

/* Ends what coro_registry_enter began. */
static inline void coro_registry_exit(struct coro_registry_list *list, int by_owner_busy)
{
    if (by_owner_busy)
        /* Release: a thread that waited for owner_busy to drop then sees
         * the list as the owner left it. */
        __atomic_store_n(&list->owner_busy, 0, __ATOMIC_RELEASE);
    else
        coro_registry_unlock(list);
}

/* Adds a link to the calling thread's list. */
static inline void coro_registry_join(struct coro_registry_link *link)
{
    struct coro_registry_list *list = coro_registry_this_thread.list;
    if (__builtin_expect(list == NULL, 0))
        list = coro_registry_first_list();
    link->list = list;
    link->pprev = &list->head;
    int by_owner_busy = coro_registry_enter(list, 1);
    link->next = list->head;
    if (link->next != NULL)
        link->next->pprev = &link->next;
    /* Atomic (relaxed, a plain store) because a visitor peeks at a list's
     * head without the lock to skip empty lists. */
    __atomic_store_n(&list->head, link, __ATOMIC_RELAXED);
    coro_registry_exit(list, by_owner_busy);
}

/* Removes a link from its list, from any thread. */
static inline void coro_registry_leave(struct coro_registry_link *link)
{
    struct coro_registry_list *list = link->list;
    int by_owner_busy = coro_registry_enter(list, 1);
    __atomic_store_n(link->pprev, link->next, __ATOMIC_RELAXED); /* may be the head */
    if (link->next != NULL)
        link->next->pprev = link->pprev;
    coro_registry_exit(list, by_owner_busy);
}

/* Nonzero while the calling thread is inside coro_registry_walk(): then a
 * create or destroy on it could wait for a lock it holds itself. */
static inline int coro_registry_walking(void)
{
    return coro_registry_this_thread.walking;
}

/* Calls fn for every link, one list at a time with that list's lock held,
 * until fn returns nonzero; returns that value, or 0. */
int coro_registry_walk(int (*fn)(struct coro_registry_link *link, void *context), void *context);

/* For coro_stack_info(): the high-water mark of a mapped stack
 * [bottom, top), in bytes below top, from which of its pages are resident.
 * 0 when the system cannot tell. */
size_t coro_registry_high_water(const void *bottom, const void *top);

#endif /* CORO_REGISTRY_H */
