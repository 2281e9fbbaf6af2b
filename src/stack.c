/* Guarded stacks for POSIX systems: mmap, with an mprotect'ed guard, or,
 * where the kernel has guard markers, carved from slabs (src/slab.c);
 * thread exit through a pthread key. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE, MAP_STACK, madvise under -std=c11 */

#include "stack.h"
#include "slab.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "coro.h"

#ifndef MAP_STACK
#define MAP_STACK 0
#endif
#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif

size_t coro_stack_page_size(void)
{
    /* Threads may race to read it first; they all store the same value, and
     * an atomic keeps that race defined (and quiet under TSan). */
    static atomic_size_t page_size;
    size_t size = atomic_load_explicit(&page_size, memory_order_relaxed);
    if (size == 0) {
        long reported = sysconf(_SC_PAGESIZE);
        size = reported > 0 ? (size_t)reported : 4096;
        atomic_store_explicit(&page_size, size, memory_order_relaxed);
    }
    return size;
}

#ifdef CORO_FAULT_INJECTION
static unsigned long fault_calls;
static unsigned long fault_nth;

int coro_stack_fault_point(void)
{
    fault_calls++;
    return fault_nth != 0 && fault_calls == fault_nth;
}

void coro_stack_fault_arm(unsigned long nth)
{
    fault_calls = 0;
    fault_nth = nth;
}

unsigned long coro_stack_fault_calls(void)
{
    return fault_calls;
}
#endif

int coro_stack_map(struct coro_stack *stack, size_t usable, size_t guard)
{
    size_t usable_bytes, guard_bytes;
    if (!coro_stack_round(usable, guard, &usable_bytes, &guard_bytes))
        return CORO_ENOMEM;
    if (coro_slab_markers())
        return coro_slab_map(stack, usable_bytes, guard_bytes);
    size_t total = usable_bytes + guard_bytes;

    void *mapping = coro_stack_reserve(total);
    if (mapping == NULL)
        return CORO_ENOMEM;
    if (guard_bytes != 0 && coro_stack_protect(mapping, guard_bytes) != CORO_OK) {
        munmap(mapping, total);
        return CORO_ENOMEM;
    }
    stack->mapping = mapping;
    stack->mapping_size = total;
    stack->bottom = (char *)mapping + guard_bytes;
    stack->top = (char *)mapping + total;
    return CORO_OK;
}

void coro_stack_unmap(const struct coro_stack *stack)
{
    /* Markers in use now means in use when the stack was mapped: the choice
     * is made once per process. */
    if (coro_slab_markers()) {
        coro_slab_unmap(stack);
        return;
    }
    munmap(stack->mapping, stack->mapping_size);
}

void *coro_stack_reserve(size_t size)
{
    /* MAP_NORESERVE: a stack is mostly untouched address space and must not
     * count against overcommit as if it were all used. */
    void *memory = CORO_INJECTED_FAILURE() ? MAP_FAILED
                   : mmap(NULL, size, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    return memory != MAP_FAILED ? memory : NULL;
}

void coro_stack_release(void *memory, size_t size)
{
    munmap(memory, size);
}

int coro_stack_protect(void *memory, size_t size)
{
    if (coro_slab_markers())
        return coro_slab_guard(memory, size);
    return !CORO_INJECTED_FAILURE() && mprotect(memory, size, PROT_NONE) == 0 ? CORO_OK : CORO_ENOMEM;
}

void coro_stack_discard(void *memory, size_t size)
{
    /* MADV_DONTNEED, not MADV_FREE: the memory must leave the resident set
     * now, which is the point of discarding. (Why the pool does not do this
     * at every destroy: see the stack pool in coro.h.) */
    madvise(memory, size, MADV_DONTNEED);
}

static pthread_key_t thread_exit_key;
static pthread_once_t thread_exit_once = PTHREAD_ONCE_INIT;
static int thread_exit_key_ok;

static void create_thread_exit_key(void)
{
    thread_exit_key_ok = pthread_key_create(&thread_exit_key, coro_stack_thread_exit) == 0;
}

#if defined(__GNUC__)
/* A shared libcoro unloaded with dlclose() while threads still hold pooled
 * stacks: without this, those threads would call into unmapped code when
 * they exit. Their stacks are left to the process instead. */
__attribute__((destructor)) static void delete_thread_exit_key(void)
{
    if (thread_exit_key_ok)
        pthread_key_delete(thread_exit_key);
}
#endif

int coro_stack_watch_thread(void *pool)
{
    pthread_once(&thread_exit_once, create_thread_exit_key);
    if (CORO_INJECTED_FAILURE() || !thread_exit_key_ok || pthread_setspecific(thread_exit_key, pool) != 0)
        return CORO_ENOMEM;
    return CORO_OK;
}
