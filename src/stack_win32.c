/*
 * Guarded stacks for Windows: one VirtualAlloc reservation, the usable part
 * committed, the guard below it reserved-only, so that touching it faults
 * (an access violation) like a PAGE_NOACCESS page; except the dispatch
 * reserve at the guard's top (stack.h), which is committed and topped by a
 * PAGE_GUARD page:
 *
 *   mapping                                         bottom              top
 *   | reserved-only guard | reserve ... | PAGE_GUARD | usable, committed |
 *                         ^ DeallocationStack + one page (coro.c)
 *
 * The usable part is committed at once, unlike a thread's stack, which
 * Windows grows through PAGE_GUARD pages: growth works only while StackLimit
 * and the guard page move together under the kernel's control, and a
 * coroutine stack is not a thread's. Committing charges the commit limit,
 * but pages become resident only when touched. With everything committed,
 * StackLimit can be the usable bottom: __chkstk then probes only below it,
 * where the guard is.
 *
 * The PAGE_GUARD page is what makes an overflow reportable: the memory
 * manager sees a guard page inside the running stack (the thread block
 * says so) within the stack's guarantee, and raises STATUS_STACK_OVERFLOW
 * while the reserve below is still free for the exception's dispatch; an
 * access violation in reserved-only memory would leave the dispatcher no
 * stack, and the process would vanish unreported. Wine behaves the same
 * (its virtual_handle_fault and grow_thread_stack), and refuses to place an
 * exception frame in the lowest page above DeallocationStack.
 *
 * The pool's thread-exit hook is a fiber-local storage callback.
 */
#include "stack.h"

#include <stdint.h>
#include <windows.h>

#include "coro.h"

size_t coro_stack_page_size(void)
{
    static size_t page_size;
    if (page_size == 0) {
        SYSTEM_INFO info;
        GetSystemInfo(&info);
        page_size = info.dwPageSize != 0 ? info.dwPageSize : 4096;
    }
    return page_size;
}

/* A guard larger than the dispatch reserve ends in one. */
static size_t dispatch_reserve_in(size_t guard_bytes)
{
    return guard_bytes > CORO_STACK_DISPATCH_RESERVE ? CORO_STACK_DISPATCH_RESERVE : 0;
}

/* Makes the committed reserve below guard_top ready: its highest page a
 * guard page again. */
static int arm_dispatch_reserve(char *guard_top)
{
    size_t page = coro_stack_page_size();
    DWORD previous;
    return VirtualProtect(guard_top - page, page, PAGE_READWRITE | PAGE_GUARD, &previous) ? CORO_OK : CORO_ENOMEM;
}

int coro_stack_map(struct coro_stack *stack, size_t usable, size_t guard)
{
    size_t usable_bytes, guard_bytes;
    if (!coro_stack_round(usable, guard, &usable_bytes, &guard_bytes))
        return CORO_ENOMEM;
    size_t total = usable_bytes + guard_bytes;

    char *mapping = VirtualAlloc(NULL, total, MEM_RESERVE, PAGE_NOACCESS);
    if (mapping == NULL)
        return CORO_ENOMEM;
    size_t reserve = dispatch_reserve_in(guard_bytes);
    if (VirtualAlloc(mapping + guard_bytes - reserve, reserve + usable_bytes, MEM_COMMIT, PAGE_READWRITE) == NULL ||
        (reserve != 0 && arm_dispatch_reserve(mapping + guard_bytes) != CORO_OK)) {
        VirtualFree(mapping, 0, MEM_RELEASE);
        return CORO_ENOMEM;
    }
    stack->mapping = mapping;
    stack->mapping_size = total;
    stack->bottom = mapping + guard_bytes;
    stack->top = mapping + total;
    return CORO_OK;
}

void coro_stack_unmap(const struct coro_stack *stack)
{
    VirtualFree(stack->mapping, 0, MEM_RELEASE);
}

void *coro_stack_reserve(size_t size)
{
    /* Committed at once, like every stack here (see the top of this file):
     * charged to the commit limit, resident only once touched. */
    return VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
}

void coro_stack_release(void *memory, size_t size)
{
    (void)size; /* MEM_RELEASE takes the whole reservation, and only that */
    VirtualFree(memory, 0, MEM_RELEASE);
}

int coro_stack_protect(void *memory, size_t size)
{
    /* Decommitted pages are reserved-only, as the guard of a mapped stack. */
    size_t reserve = dispatch_reserve_in(size);
    if (!VirtualFree(memory, size - reserve, MEM_DECOMMIT))
        return CORO_ENOMEM;
    return reserve != 0 ? arm_dispatch_reserve((char *)memory + size) : CORO_OK;
}

void coro_stack_discard(void *memory, size_t size)
{
    /* MEM_RESET: the contents need not be kept, so the pages are never
     * written to the paging file; VirtualUnlock on pages that are not
     * locked takes them out of the working set now. Both keep the pages
     * committed, so the stack stays usable without a commit that could
     * fail later. */
    VirtualAlloc(memory, size, MEM_RESET, PAGE_READWRITE);
    VirtualUnlock(memory, size);
}

/* Fiber-local storage rather than thread-local: only its slots have a
 * callback at thread exit. */
static DWORD thread_exit_slot = FLS_OUT_OF_INDEXES;
static INIT_ONCE thread_exit_once = INIT_ONCE_STATIC_INIT;

static void WINAPI thread_exiting(void *pool)
{
    /* Also called by FlsFree and at process exit; never with NULL for a
     * thread that registered. */
    if (pool != NULL)
        coro_stack_thread_exit(pool);
}

static BOOL CALLBACK create_thread_exit_slot(INIT_ONCE *once, void *parameter, void **context)
{
    (void)once, (void)parameter, (void)context;
    thread_exit_slot = FlsAlloc(thread_exiting);
    return TRUE;
}

int coro_stack_watch_thread(void *pool)
{
    InitOnceExecuteOnce(&thread_exit_once, create_thread_exit_slot, NULL, NULL);
    if (thread_exit_slot == FLS_OUT_OF_INDEXES || !FlsSetValue(thread_exit_slot, pool))
        return CORO_ENOMEM;
    return CORO_OK;
}
