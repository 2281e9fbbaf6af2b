/*
 * Guarded stacks carved from slabs, their guards page-table markers.
 *
 * A guard made with mprotect() splits its mapping, so every separately
 * mapped guarded stack costs the kernel two mappings, and Linux's
 * vm.max_map_count (65530 by default) stops a process near 32,000 guarded
 * stacks. madvise(MADV_GUARD_INSTALL) (Linux 6.13, mm/madvise.c) instead
 * marks pages of an ordinary private anonymous mapping in its page tables:
 * any access faults (SIGSEGV), the mapping stays whole, and a marker holds
 * no memory. The markers survive MADV_DONTNEED and MADV_FREE over them and
 * go away with the mapping. So stacks of one shape (usable + guard bytes)
 * share one large mapping, a slab:
 *
 *   CORO_SLAB_BYTES, aligned to CORO_SLAB_BYTES
 *   +--------+----------+-----+------------------+------------------+
 *   | header | (unused) | ... | guard | usable   | guard | usable   |
 *   +--------+----------+-----+------------------+------------------+
 *   ^ struct slab and its free-slot indices,      slot 1             slot 0
 *     whole pages
 *
 * The alignment finds the header from any stack address without a search.
 * Slots are handed out from the top down, as the kernel places separate
 * mappings: a coroutine created later gets a lower stack, which debuggers
 * expect of the nested coroutines (gdb stops a backtrace whose resumer's
 * frame lies below its callee's, "previous frame inner to this frame").
 * A slot gets its guard marker the first time it is handed out; a freed
 * slot keeps it and drops its usable pages (MADV_DONTNEED), so a mostly
 * free slab holds little memory; an empty slab is unmapped, except one kept
 * for the next slab needed (its markers still in place, its pages already
 * dropped). A slot larger than a slab's eighth gets a mapping of its own,
 * still with a marker guard: one mapping instead of two.
 *
 * Slabs are shared by every thread (a coroutine may be destroyed on a
 * thread other than its creator's), under one mutex; the per-thread pool
 * (src/pool.c) in front of them serves most creates with no call here.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE, madvise under -std=c11 */

#include "slab.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "coro.h"

#if defined(__linux__)

/* Debian 12's headers predate them (uapi/asm-generic/mman-common.h). */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static pthread_once_t detect_once = PTHREAD_ONCE_INIT;
static int markers_in_use;

static pthread_mutex_t slab_lock = PTHREAD_MUTEX_INITIALIZER;

/* fork() while another thread holds the slabs' lock would leave the child
 * a lock nobody can release: it is taken across the fork instead. */
static void lock_for_fork(void)
{
    pthread_mutex_lock(&slab_lock);
}

static void unlock_after_fork(void)
{
    pthread_mutex_unlock(&slab_lock);
}

/* A kernel that does not know the advice answers EINVAL; a user-mode
 * emulator may answer 0 and do nothing. So the probe checks that the marker
 * really guards: populating a guard page must fail with EFAULT. */
static int kernel_installs_markers(void)
{
    size_t page = coro_stack_page_size();
    void *probe = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (probe == MAP_FAILED)
        return 0;
    int guards = madvise(probe, page, MADV_GUARD_INSTALL) == 0 && madvise(probe, page, MADV_POPULATE_WRITE) != 0
                 && errno == EFAULT;
    munmap(probe, page);
    return guards;
}

static void detect(void)
{
    int saved_errno = errno;
    const char *forced = getenv("LIBCORO_GUARD");
    markers_in_use = !(forced != NULL && strcmp(forced, "mprotect") == 0) && kernel_installs_markers()
                     && pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork) == 0;
    errno = saved_errno;
}

int coro_slab_markers(void)
{
    pthread_once(&detect_once, detect);
    return markers_in_use;
}

int coro_slab_guard(void *memory, size_t size)
{
    return !CORO_INJECTED_FAILURE() && madvise(memory, size, MADV_GUARD_INSTALL) == 0 ? CORO_OK : CORO_ENOMEM;
}

struct slab {
    struct slab *prev;      /* in the list of slabs with a slot to give */
    struct slab *next;
    size_t slot_size;       /* guard + usable bytes */
    size_t guard_size;
    size_t capacity;        /* slots */
    size_t carved;          /* slots [0, carved) were handed out since the slab was (re)used */
    size_t guarded;         /* slots [0, guarded) carry their guard marker */
    size_t live;            /* stacks handed out and not given back */
    size_t free_count;      /* entries of free_slots */
    int listed;             /* in the list of slabs with room */
    size_t free_touched;    /* most entries free_slots held since its pages were last dropped */
    char *end;              /* one past the slab; slot i ends (i * slot_size) below */
    uint32_t free_slots[];  /* indices of slots given back, used as a stack */
};

static struct slab *with_room;  /* slabs with a free or never-carved slot */
static struct slab *spare;      /* an empty slab, kept for the next one needed */

static size_t round_to_page(size_t bytes)
{
    size_t page = coro_stack_page_size();
    return (bytes + page - 1) & ~(page - 1);
}

static size_t header_bytes(size_t capacity)
{
    return round_to_page(offsetof(struct slab, free_slots) + capacity * sizeof(uint32_t));
}

static void list_add(struct slab *slab)
{
    slab->prev = NULL;
    slab->next = with_room;
    if (with_room != NULL)
        with_room->prev = slab;
    with_room = slab;
    slab->listed = 1;
}

static void list_remove(struct slab *slab)
{
    if (slab->prev != NULL)
        slab->prev->next = slab->next;
    else
        with_room = slab->next;
    if (slab->next != NULL)
        slab->next->prev = slab->prev;
    slab->listed = 0;
}

/* Maps a slab for slots of this shape, aligned to its size: twice the size
 * is reserved and the ends that do not fit are given back. On kernels with
 * guard markers MAP_STACK (in coro_stack_reserve()) also keeps transparent
 * huge pages out, so a first touch makes one page resident, not 2 MiB. */
static struct slab *slab_new(size_t slot_size, size_t guard_size)
{
    char *reserved = coro_stack_reserve(2 * CORO_SLAB_BYTES);
    if (reserved == NULL)
        return NULL;
    uintptr_t aligned = ((uintptr_t)reserved + CORO_SLAB_BYTES - 1) & ~(uintptr_t)(CORO_SLAB_BYTES - 1);
    size_t head = (size_t)(aligned - (uintptr_t)reserved);
    if (head != 0)
        coro_stack_release(reserved, head);
    if (CORO_SLAB_BYTES - head != 0)
        coro_stack_release((char *)aligned + CORO_SLAB_BYTES, CORO_SLAB_BYTES - head);

    size_t capacity = (CORO_SLAB_BYTES - coro_stack_page_size()) / slot_size;
    while (header_bytes(capacity) + capacity * slot_size > CORO_SLAB_BYTES)
        capacity--;
    struct slab *slab = (struct slab *)aligned;
    slab->slot_size = slot_size;
    slab->guard_size = guard_size;
    slab->capacity = capacity;
    slab->carved = 0;
    slab->guarded = 0;
    slab->live = 0;
    slab->free_count = 0;
    slab->free_touched = 0;
    slab->end = (char *)aligned + CORO_SLAB_BYTES;
    list_add(slab);
    return slab;
}

static void slab_release(struct slab *slab)
{
    coro_stack_release(slab, CORO_SLAB_BYTES);
}

/* A slab of this shape with a slot to give: one listed, else the spare if
 * it has the shape, else a new one (*made set). */
static struct slab *slab_with_room(size_t slot_size, size_t guard_size, int *made)
{
    *made = 0;
    for (struct slab *slab = with_room; slab != NULL; slab = slab->next) {
        if (slab->slot_size == slot_size && slab->guard_size == guard_size)
            return slab;
    }
    struct slab *kept = spare;
    if (kept != NULL && kept->slot_size == slot_size && kept->guard_size == guard_size) {
        spare = NULL;
        list_add(kept);
        return kept;
    }
    struct slab *slab = slab_new(slot_size, guard_size);
    *made = slab != NULL;
    return slab;
}

/* Hands out a slot of slab: a freed one (guard in place), else the next
 * never-carved one, which gets its guard marker unless it kept one from
 * before the slab was last emptied. */
static int slab_take(struct slab *slab, struct coro_stack *stack)
{
    size_t index;
    if (slab->free_count != 0) {
        index = slab->free_slots[--slab->free_count];
    } else {
        index = slab->carved;
        char *slot = slab->end - (index + 1) * slab->slot_size;
        if (index == slab->guarded) {
            if (slab->guard_size != 0 && coro_slab_guard(slot, slab->guard_size) != CORO_OK)
                return CORO_ENOMEM;
            slab->guarded++;
        }
        slab->carved++;
    }
    slab->live++;
    if (slab->free_count == 0 && slab->carved == slab->capacity)
        list_remove(slab);
    char *slot = slab->end - (index + 1) * slab->slot_size;
    stack->mapping = slot;
    stack->mapping_size = slab->slot_size;
    stack->bottom = slot + slab->guard_size;
    stack->top = slot + slab->slot_size;
    return CORO_OK;
}

/* A stack too large for a slab: a mapping of its own, the guard a marker. */
static int map_alone(struct coro_stack *stack, size_t usable_bytes, size_t guard_bytes)
{
    size_t total = usable_bytes + guard_bytes;
    char *mapping = coro_stack_reserve(total);
    if (mapping == NULL)
        return CORO_ENOMEM;
    if (guard_bytes != 0 && coro_slab_guard(mapping, guard_bytes) != CORO_OK) {
        coro_stack_release(mapping, total);
        return CORO_ENOMEM;
    }
    stack->mapping = mapping;
    stack->mapping_size = total;
    stack->bottom = mapping + guard_bytes;
    stack->top = mapping + total;
    return CORO_OK;
}

int coro_slab_map(struct coro_stack *stack, size_t usable_bytes, size_t guard_bytes)
{
    size_t slot_size = usable_bytes + guard_bytes;
    if (slot_size > CORO_SLAB_MAX_SLOT)
        return map_alone(stack, usable_bytes, guard_bytes);

    pthread_mutex_lock(&slab_lock);
    int result = CORO_ENOMEM;
    int made;
    struct slab *slab = slab_with_room(slot_size, guard_bytes, &made);
    if (slab != NULL) {
        result = slab_take(slab, stack);
        if (made && result != CORO_OK) {
            /* Refused its first guard: a failed create leaves nothing new. */
            list_remove(slab);
            slab_release(slab);
        } else if (made && spare != NULL) {
            /* The spare, of another shape, was not what was needed: only
             * one empty slab is kept. */
            slab_release(spare);
            spare = NULL;
        }
    }
    pthread_mutex_unlock(&slab_lock);
    return result;
}

void coro_slab_unmap(const struct coro_stack *stack)
{
    if (stack->mapping_size > CORO_SLAB_MAX_SLOT) {
        coro_stack_release(stack->mapping, stack->mapping_size);
        return;
    }
    /* The slot is still this caller's alone: its pages go before it is
     * listed as free. The marker below stays. (The slot's end, not
     * stack->top, which the core may have lowered to its control block.) */
    char *slot_end = (char *)stack->mapping + stack->mapping_size;
    coro_stack_discard(stack->bottom, (size_t)(slot_end - (char *)stack->bottom));

    struct slab *slab = (struct slab *)((uintptr_t)stack->mapping & ~(uintptr_t)(CORO_SLAB_BYTES - 1));
    pthread_mutex_lock(&slab_lock);
    size_t index = (size_t)(slab->end - (char *)stack->mapping) / slab->slot_size - 1;
    slab->free_slots[slab->free_count++] = (uint32_t)index;
    if (slab->free_count > slab->free_touched)
        slab->free_touched = slab->free_count;
    slab->live--;
    if (!slab->listed)
        list_add(slab);
    if (slab->live == 0) {
        list_remove(slab);
        if (spare == NULL) {
            /* Every slot's pages went when it was freed; the markers of
             * slots [0, guarded) stay for the slab's next use. */
            size_t touched = header_bytes(slab->free_touched), page = coro_stack_page_size();
            if (touched > page)
                coro_stack_discard((char *)slab + page, touched - page);
            slab->free_touched = 0;
            slab->carved = 0;
            slab->free_count = 0;
            spare = slab;
        } else {
            slab_release(slab);
        }
    }
    pthread_mutex_unlock(&slab_lock);
}

#else /* no guard markers on this system */

int coro_slab_markers(void)
{
    return 0;
}

int coro_slab_guard(void *memory, size_t size)
{
    (void)memory;
    (void)size;
    return CORO_ENOMEM;
}

int coro_slab_map(struct coro_stack *stack, size_t usable_bytes, size_t guard_bytes)
{
    (void)stack;
    (void)usable_bytes;
    (void)guard_bytes;
    return CORO_ENOMEM;
}

void coro_slab_unmap(const struct coro_stack *stack)
{
    (void)stack;
}

#endif
