/*
 * Guarded stacks for Windows: one VirtualAlloc reservation, the usable part
 * committed, the guard left reserved-only below it, so that touching it
 * faults (an access violation) like a PAGE_NOACCESS page.
 *
 * The usable part is committed at once, unlike a thread's stack, which
 * Windows grows through PAGE_GUARD pages: growth works only while StackLimit
 * and the guard page move together under the kernel's control, and a
 * coroutine stack is not a thread's. Committing charges the commit limit,
 * but pages become resident only when touched. With everything committed,
 * StackLimit can be the usable bottom: __chkstk then probes only below it,
 * where the guard is.
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

/* Rounds n up to a multiple of the page size; 0 when that overflows. */
static size_t round_to_pages(size_t n, size_t page)
{
    if (n > SIZE_MAX - (page - 1))
        return 0;
    return (n + page - 1) & ~(page - 1);
}

int coro_stack_map(struct coro_stack *stack, size_t usable, size_t guard)
{
    size_t page = coro_stack_page_size();
    size_t usable_bytes = round_to_pages(usable, page);
    size_t guard_bytes = round_to_pages(guard, page);
    if (usable_bytes == 0 || (guard != 0 && guard_bytes == 0) || guard_bytes > SIZE_MAX - usable_bytes)
        return CORO_ENOMEM;
    size_t total = usable_bytes + guard_bytes;

    char *mapping = VirtualAlloc(NULL, total, MEM_RESERVE, PAGE_NOACCESS);
    if (mapping == NULL)
        return CORO_ENOMEM;
    if (VirtualAlloc(mapping + guard_bytes, usable_bytes, MEM_COMMIT, PAGE_READWRITE) == NULL) {
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
