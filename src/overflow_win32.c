/*
 * The opt-in stack overflow report for Windows.
 *
 * Windows delivers a fault as an exception on the faulting thread's own
 * stack, so an overflow can only be reported while some of that stack is
 * left. Every guarded coroutine stack ends in a dispatch reserve for that
 * (stack.h, stack_win32.c): committed pages below the usable stack, the
 * highest of them a PAGE_GUARD page, and the coroutine's thread block names
 * them as its stack guarantee, as SetThreadStackGuarantee() does for a
 * thread. The first touch raises STATUS_STACK_OVERFLOW with the fault
 * address, and the dispatcher and this vectored handler run in the reserve.
 *
 * The handler is added first in the vectored list and answers
 *
 *   overflow   one line on stderr, then EXCEPTION_CONTINUE_SEARCH: the
 *              exception goes on to the vectored handlers added before and
 *              to the frame handlers, unchanged; when none handles it, the
 *              process ends as for any unhandled STATUS_STACK_OVERFLOW
 *              (exit code 0xC00000FD; a debugger or the system's error
 *              reporting sees a second-chance exception). This is the
 *              Windows form of "dies by the same signal".
 *   otherwise  EXCEPTION_CONTINUE_SEARCH and nothing else.
 *
 * A fault is an overflow when its address lies in the guard region (the
 * dispatch reserve included) of the coroutine the faulting thread runs. An
 * access violation in the guard below the reserve counts too: a frame
 * larger than the reserve can jump past it, and when the stack pointer has
 * not followed yet there is room to report it.
 *
 * The handler allocates nothing and uses no CRT: one WriteFile to the
 * stderr handle.
 */
#include "overflow.h"

#include <windows.h>

#include "coro.h"

static LONG WINAPI on_exception(EXCEPTION_POINTERS *exception)
{
    const EXCEPTION_RECORD *record = exception->ExceptionRecord;
    DWORD code = record->ExceptionCode;
    if (code != EXCEPTION_STACK_OVERFLOW && code != STATUS_GUARD_PAGE_VIOLATION &&
        code != EXCEPTION_ACCESS_VIOLATION)
        return EXCEPTION_CONTINUE_SEARCH;
    /* Raised by the memory manager, these carry the address in their
     * second parameter; one raised in software may carry none. */
    if (record->NumberParameters < 2)
        return EXCEPTION_CONTINUE_SEARCH;
    const void *fault_address = (const void *)record->ExceptionInformation[1];
    const char *name;
    size_t stack_size;
    if (!coro_overflow_lookup(fault_address, &name, &stack_size))
        return EXCEPTION_CONTINUE_SEARCH;

    char line[CORO_OVERFLOW_LINE_MAX];
    DWORD length = (DWORD)coro_overflow_format(line, name, stack_size, fault_address);
    HANDLE error_output = GetStdHandle(STD_ERROR_HANDLE);
    if (error_output != NULL && error_output != INVALID_HANDLE_VALUE) {
        DWORD written;
        WriteFile(error_output, line, length, &written, NULL);
    }
    return EXCEPTION_CONTINUE_SEARCH;
}

static INIT_ONCE install_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK install(INIT_ONCE *once, void *parameter, void **context)
{
    (void)once, (void)parameter, (void)context;
    /* First in the list: the handlers added before still get every
     * exception after this one has looked at it. */
    return AddVectoredExceptionHandler(1, on_exception) != NULL;
}

int coro_install_overflow_handler(void)
{
    return InitOnceExecuteOnce(&install_once, install, NULL, NULL) ? CORO_OK : CORO_ENOMEM;
}
