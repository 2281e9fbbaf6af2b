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
 *     +0   pointer head        the first link, or NULL
 *     +ptr uintptr lock        0 when free (see below)

 *   struct coro_registry_link (in each control block, at link_offset)
 *     +0   pointer next            next link of the same list, or NULL
 *
 * A control block's address is its link's address minus link_offset; its
 * stack top (one past the highest usable byte) is the control block's own
 * address.
 *
 * Threads. A thread joins the coroutines it creates to one list of its own
 * choosing (threads take lists round-robin at their first create; with more
 * threads than lists, some share one). Each list has a lock: a create or
 * destroy takes the lock of the coroutine's list, which is uncontended
 * unless a visitor or a destroy from another thread holds it. No global
 * lock is taken, and nothing is allocated: the lists are static.
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
    /* A list per cache line: threads joining different lists do not share one. */
    char padding[64 - 2 * sizeof(void *)];
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
    struct coro_registry_list *list; /* where its creates go; NULL until the first */
    int walking;                     /* inside coro_registry_walk() */
};

/* The calling thread's; its address is the thread's tag in a held lock. */
extern CORO_REGISTRY_THREAD_LOCAL struct coro_registry_thread coro_registry_this_thread;

/* Out of line, for what is rare: a thread's first create, a held lock. */
struct coro_registry_list *coro_registry_first_list(void);
void coro_registry_lock_wait(struct coro_registry_list *list);

/* Create and destroy call the three below, which are inline because they
 * are on the path of every pooled create and destroy. */
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

/* Adds a link to the calling thread's list. */
static inline void coro_registry_join(struct coro_registry_link *link)
{
    struct coro_registry_list *list = coro_registry_this_thread.list;
    if (__builtin_expect(list == NULL, 0))
        list = coro_registry_first_list();
    link->list = list;
    link->pprev = &list->head;
    coro_registry_lock(list);
    link->next = list->head;
    if (link->next != NULL)
        link->next->pprev = &link->next;
    /* Atomic (relaxed, a plain store) because a visitor peeks at a list's
     * head without the lock to skip empty lists. */
    __atomic_store_n(&list->head, link, __ATOMIC_RELAXED);
    coro_registry_unlock(list);
}

/* Removes a link from its list, from any thread. */
static inline void coro_registry_leave(struct coro_registry_link *link)
{
    struct coro_registry_list *list = link->list;
    coro_registry_lock(list);
    __atomic_store_n(link->pprev, link->next, __ATOMIC_RELAXED); /* may be the head */
    if (link->next != NULL)
        link->next->pprev = link->pprev;
    coro_registry_unlock(list);
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
