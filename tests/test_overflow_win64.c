/*
 * The opt-in overflow report on Windows: a real overflow prints one line
 * and the process still ends as an unhandled STATUS_STACK_OVERFLOW; other
 * faults are not reported and reach the vectored handler added before.
 * Every case crashes, so the test binary runs itself with --child NAME and
 * reads the child's stderr from a pipe and its exit code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>
#include <windows.h>

#include "coro.h"
#include "overflow_report.h"

/* Exit codes of a child that did not die as it should have. */
enum { CHILD_NOT_INSTALLED = 2, CHILD_NO_COROUTINE = 3, CHILD_SURVIVED = 4, CHILD_UNKNOWN = 101 };

/* What a previous handler's child ends with. */
enum { PREVIOUS_SAW_FAULT = 42, PREVIOUS_WRONG_ADDRESS = 43, PREVIOUS_SAW_OVERFLOW = 44 };

struct child_result {
    DWORD exit_code;
    char output[65536];
};

static void run_child(const char *name, struct child_result *result)
{
    char path[MAX_PATH];
    DWORD length = GetModuleFileNameA(NULL, path, sizeof path);
    assert_true(length > 0 && length < sizeof path);
    char command[MAX_PATH + 64];
    snprintf(command, sizeof command, "\"%s\" --child %s", path, name);

    SECURITY_ATTRIBUTES inheritable = {.nLength = sizeof inheritable, .bInheritHandle = TRUE};
    HANDLE read_end, write_end;
    assert_true(CreatePipe(&read_end, &write_end, &inheritable, 0));
    assert_true(SetHandleInformation(read_end, HANDLE_FLAG_INHERIT, 0));
    STARTUPINFOA startup = {.cb = sizeof startup, .dwFlags = STARTF_USESTDHANDLES};
    startup.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    /* Wine starts its debugger on an unhandled exception, which writes a
     * crash dump to the child's standard output: not wanted in the log. */
    HANDLE nowhere_out = CreateFileA("NUL", GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &inheritable, OPEN_EXISTING, 0, NULL);
    assert_true(nowhere_out != INVALID_HANDLE_VALUE);
    startup.hStdOutput = nowhere_out;
    startup.hStdError = write_end;
    PROCESS_INFORMATION process;
    fflush(NULL);
    assert_true(CreateProcessA(path, command, NULL, NULL, TRUE, 0, NULL, NULL, &startup, &process));
    CloseHandle(write_end);
    CloseHandle(nowhere_out);

    size_t got = 0;
    DWORD chunk;
    while (got < sizeof result->output - 1 &&
           ReadFile(read_end, result->output + got, (DWORD)(sizeof result->output - 1 - got), &chunk, NULL) && chunk > 0)
        got += chunk;
    result->output[got] = '\0';
    CloseHandle(read_end);

    assert_int_equal(WaitForSingleObject(process.hProcess, INFINITE), WAIT_OBJECT_0);
    assert_true(GetExitCodeProcess(process.hProcess, &result->exit_code));
    CloseHandle(process.hProcess);
    CloseHandle(process.hThread);
}

static void assert_exit_code(const struct child_result *result, DWORD expected)
{
    if (result->exit_code != expected) {
        print_error("child ended with 0x%lx instead of 0x%lx; it wrote:\n%s\n", (unsigned long)result->exit_code,
                    (unsigned long)expected, result->output);
        fail();
    }
}

/* ---- What the children run ---- */

static void *overflowing_entry(void *value)
{
    (void)value;
    return (void *)recurse(NULL, 0);
}

static void *null_returning_entry(void *value)
{
    return value;
}

static volatile int *volatile nowhere;

static void *null_dereferencing_entry(void *value)
{
    (void)value;
    *nowhere = 1;
    return NULL;
}

static int overflow_in(const char *name, size_t stack_size, size_t guard_size)
{
    if (coro_install_overflow_handler() != CORO_OK)
        return CHILD_NOT_INSTALLED;
    struct coro_options options = {.stack_size = stack_size, .guard_size = guard_size, .name = name};
    coro *co;
    if (coro_create(&co, overflowing_entry, &options) != CORO_OK)
        return CHILD_NO_COROUTINE;
    coro_resume(co, NULL, NULL);
    return CHILD_SURVIVED;
}

static int overflow_in_arena(void)
{
    if (coro_install_overflow_handler() != CORO_OK)
        return CHILD_NOT_INSTALLED;
    coro_arena *arena;
    if (coro_arena_create(&arena, 4, 64 * 1024, 0) != CORO_OK)
        return CHILD_NO_COROUTINE;
    struct coro_options options = {.arena = arena, .name = "slot"};
    coro *co;
    if (coro_create(&co, overflowing_entry, &options) != CORO_OK)
        return CHILD_NO_COROUTINE;
    coro_resume(co, NULL, NULL);
    return CHILD_SURVIVED;
}

static int overflow_on_pooled_stack(void)
{
    if (coro_install_overflow_handler() != CORO_OK)
        return CHILD_NOT_INSTALLED;
    struct coro_options options = {.stack_size = 64 * 1024, .name = "first"};
    coro *co;
    if (coro_create(&co, null_returning_entry, &options) != CORO_OK)
        return CHILD_NO_COROUTINE;
    coro_resume(co, NULL, NULL);
    coro_destroy(co);
    options.name = "second";
    if (coro_create(&co, overflowing_entry, &options) != CORO_OK)
        return CHILD_NO_COROUTINE;
    coro_resume(co, NULL, NULL);
    return CHILD_SURVIVED;
}

static int null_dereference_in_coroutine(void)
{
    if (coro_install_overflow_handler() != CORO_OK)
        return CHILD_NOT_INSTALLED;
    struct coro_options options = {.name = "careless"};
    coro *co;
    if (coro_create(&co, null_dereferencing_entry, &options) != CORO_OK)
        return CHILD_NO_COROUTINE;
    coro_resume(co, NULL, NULL);
    return CHILD_SURVIVED;
}

/* The vectored handler added before libcoro's. It recovers from a fault on
 * a page it owns (makes it writable, so the faulting store runs again), and
 * ends the process with a code of its own at an access violation at the
 * null address, or at a stack overflow. */
static char *borrowed_page;
static volatile LONG faults_recovered;

static LONG WINAPI previous_handler(EXCEPTION_POINTERS *exception)
{
    const EXCEPTION_RECORD *record = exception->ExceptionRecord;
    if (record->ExceptionCode == EXCEPTION_STACK_OVERFLOW) {
        static const char message[] = "previous handler saw the overflow\n";
        DWORD written;
        WriteFile(GetStdHandle(STD_ERROR_HANDLE), message, sizeof message - 1, &written, NULL);
        ExitProcess(PREVIOUS_SAW_OVERFLOW);
    }
    if (record->ExceptionCode != EXCEPTION_ACCESS_VIOLATION || record->NumberParameters < 2)
        return EXCEPTION_CONTINUE_SEARCH;
    char *address = (char *)record->ExceptionInformation[1];
    if (address == borrowed_page) {
        DWORD previous;
        VirtualProtect(borrowed_page, 4096, PAGE_READWRITE, &previous);
        faults_recovered++;
        return EXCEPTION_CONTINUE_EXECUTION;
    }
    ExitProcess(address == (char *)nowhere ? PREVIOUS_SAW_FAULT : PREVIOUS_WRONG_ADDRESS);
}

static void *touching_borrowed_page(void *value)
{
    borrowed_page[0] = 1;
    return value;
}

static int previous_handler_keeps_its_faults(void)
{
    AddVectoredExceptionHandler(1, previous_handler);
    if (coro_install_overflow_handler() != CORO_OK)
        return CHILD_NOT_INSTALLED;
    borrowed_page = VirtualAlloc(NULL, 4096, MEM_RESERVE | MEM_COMMIT, PAGE_NOACCESS);
    if (borrowed_page == NULL)
        return CHILD_UNKNOWN;

    /* A fault it recovers from, inside a coroutine: execution goes on. */
    coro *co;
    if (coro_create(&co, touching_borrowed_page, NULL) != CORO_OK)
        return CHILD_NO_COROUTINE;
    coro_resume(co, NULL, NULL);
    coro_destroy(co);
    if (faults_recovered != 1 || borrowed_page[0] != 1)
        return CHILD_UNKNOWN;

    /* One it ends the process at. */
    if (coro_create(&co, null_dereferencing_entry, NULL) != CORO_OK)
        return CHILD_NO_COROUTINE;
    coro_resume(co, NULL, NULL);
    return CHILD_SURVIVED;
}

static int previous_handler_sees_overflow_after_report(void)
{
    AddVectoredExceptionHandler(1, previous_handler);
    return overflow_in("deep", 32 * 1024, 0);
}

/* The handler is installed on one thread; another thread's coroutine
 * overflows: nothing per thread is needed. */
static DWORD WINAPI thread_overflowing(void *arg)
{
    (void)arg;
    struct coro_options options = {.stack_size = 64 * 1024, .name = "worker"};
    coro *co;
    if (coro_create(&co, overflowing_entry, &options) != CORO_OK)
        ExitProcess(CHILD_NO_COROUTINE);
    coro_resume(co, NULL, NULL);
    ExitProcess(CHILD_SURVIVED);
}

static int overflow_on_other_thread(void)
{
    if (coro_install_overflow_handler() != CORO_OK)
        return CHILD_NOT_INSTALLED;
    HANDLE thread = CreateThread(NULL, 0, thread_overflowing, NULL, 0, NULL);
    if (thread == NULL)
        return CHILD_UNKNOWN;
    WaitForSingleObject(thread, INFINITE);
    return CHILD_SURVIVED;
}

/* The last chance for an exception nothing handled: the process ends with
 * the exception's code, as Windows ends it when no debugger is registered.
 * Wine's own last chance starts its crash debugger (winedbg --auto), which
 * ends the process with the same code but has been seen to take seconds per
 * child, past the test's time limit, when the tests run with no standard
 * input. */
static LONG WINAPI end_with_the_exception_code(EXCEPTION_POINTERS *info)
{
    TerminateProcess(GetCurrentProcess(), info->ExceptionRecord->ExceptionCode);
    return EXCEPTION_EXECUTE_HANDLER;
}

static int run_as_child(const char *name)
{
    /* No error dialog: an unhandled exception ends the process. */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
    SetUnhandledExceptionFilter(end_with_the_exception_code);
    if (strcmp(name, "named") == 0)
        return overflow_in("parser", 64 * 1024, 0);
    if (strcmp(name, "unnamed") == 0)
        return overflow_in(NULL, 16 * 1024, 0);
    if (strcmp(name, "odd-size") == 0)
        return overflow_in("odd", 40000, 0);
    if (strcmp(name, "awkward-name") == 0)
        return overflow_in("a\"b\nc", 64 * 1024, 0);
    if (strcmp(name, "wide-guard") == 0)
        return overflow_in("wide", 64 * 1024, 64 * 1024);
    if (strcmp(name, "arena") == 0)
        return overflow_in_arena();
    if (strcmp(name, "pooled") == 0)
        return overflow_on_pooled_stack();
    if (strcmp(name, "null") == 0)
        return null_dereference_in_coroutine();
    if (strcmp(name, "previous-keeps-faults") == 0)
        return previous_handler_keeps_its_faults();
    if (strcmp(name, "previous-sees-overflow") == 0)
        return previous_handler_sees_overflow_after_report();
    if (strcmp(name, "other-thread") == 0)
        return overflow_on_other_thread();
    return CHILD_UNKNOWN;
}

/* ---- The tests ---- */

static void test_named_overflow_is_reported(void **state)
{
    (void)state;
    struct child_result result;
    run_child("named", &result);
    assert_exit_code(&result, EXCEPTION_STACK_OVERFLOW);
    assert_one_report(result.output, "libcoro: stack overflow in coroutine \"parser\" (stack 64 KiB, fault at 0x");
}

static void test_unnamed_overflow_is_reported(void **state)
{
    (void)state;
    struct child_result result;
    run_child("unnamed", &result);
    assert_exit_code(&result, EXCEPTION_STACK_OVERFLOW);
    assert_one_report(result.output, "libcoro: stack overflow in unnamed coroutine (stack 16 KiB, fault at 0x");
}

static void test_odd_stack_size_is_quoted_in_bytes(void **state)
{
    (void)state;
    struct child_result result;
    run_child("odd-size", &result);
    assert_exit_code(&result, EXCEPTION_STACK_OVERFLOW);
    assert_one_report(result.output, "libcoro: stack overflow in coroutine \"odd\" (stack 40000 bytes, fault at 0x");
}

static void test_awkward_name_stays_on_one_line(void **state)
{
    (void)state;
    struct child_result result;
    run_child("awkward-name", &result);
    assert_exit_code(&result, EXCEPTION_STACK_OVERFLOW);
    assert_one_report(result.output, "libcoro: stack overflow in coroutine \"a?b?c\" (stack 64 KiB, fault at 0x");
}

static void test_overflow_with_wide_guard_is_reported(void **state)
{
    (void)state;
    struct child_result result;
    run_child("wide-guard", &result);
    assert_exit_code(&result, EXCEPTION_STACK_OVERFLOW);
    assert_one_report(result.output, "libcoro: stack overflow in coroutine \"wide\" (stack 64 KiB, fault at 0x");
}

static void test_overflow_in_arena_is_reported(void **state)
{
    (void)state;
    struct child_result result;
    run_child("arena", &result);
    assert_exit_code(&result, EXCEPTION_STACK_OVERFLOW);
    static const char start[] = "libcoro: stack overflow in coroutine \"slot\" (stack ";
    assert_true(strncmp(result.output, start, sizeof start - 1) == 0);
    char *end;
    unsigned long bytes = strtoul(result.output + sizeof start - 1, &end, 10);
    assert_true(bytes >= 64 || bytes >= 64 * 1024);
    assert_true(strncmp(end, " bytes, fault at 0x", 19) == 0 || strncmp(end, " KiB, fault at 0x", 17) == 0);
    assert_int_equal(count_lines(result.output), 1);
}

static void test_overflow_on_pooled_stack_is_reported(void **state)
{
    (void)state;
    struct child_result result;
    run_child("pooled", &result);
    assert_exit_code(&result, EXCEPTION_STACK_OVERFLOW);
    assert_one_report(result.output, "libcoro: stack overflow in coroutine \"second\" (stack 64 KiB, fault at 0x");
}

static void test_null_dereference_is_not_an_overflow(void **state)
{
    (void)state;
    struct child_result result;
    run_child("null", &result);
    assert_exit_code(&result, EXCEPTION_ACCESS_VIOLATION);
    assert_string_equal(result.output, "");
}

static void test_previous_handler_keeps_its_faults(void **state)
{
    (void)state;
    struct child_result result;
    run_child("previous-keeps-faults", &result);
    assert_exit_code(&result, PREVIOUS_SAW_FAULT);
    assert_string_equal(result.output, "");
}

static void test_previous_handler_sees_overflow_after_report(void **state)
{
    (void)state;
    struct child_result result;
    run_child("previous-sees-overflow", &result);
    assert_exit_code(&result, PREVIOUS_SAW_OVERFLOW);
    const char *second_line = strchr(result.output, '\n');
    assert_non_null(second_line);
    assert_string_equal(second_line + 1, "previous handler saw the overflow\n");
    assert_true(strncmp(result.output, "libcoro: stack overflow in coroutine \"deep\" (stack 32 KiB", 56) == 0);
}

static void test_overflow_on_other_thread_is_reported(void **state)
{
    (void)state;
    struct child_result result;
    run_child("other-thread", &result);
    assert_exit_code(&result, EXCEPTION_STACK_OVERFLOW);
    assert_one_report(result.output, "libcoro: stack overflow in coroutine \"worker\" (stack 64 KiB, fault at 0x");
}

/* Installing twice changes nothing, and coroutines run as before. */
static void test_install_twice(void **state)
{
    (void)state;
    assert_int_equal(coro_install_overflow_handler(), CORO_OK);
    assert_int_equal(coro_install_overflow_handler(), CORO_OK);
    coro *co;
    assert_int_equal(coro_create(&co, null_returning_entry, NULL), CORO_OK);
    void *out;
    assert_int_equal(coro_resume(co, (void *)7, &out), CORO_OK);
    assert_ptr_equal(out, (void *)7);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0)
        return run_as_child(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named_overflow_is_reported),
        cmocka_unit_test(test_unnamed_overflow_is_reported),
        cmocka_unit_test(test_odd_stack_size_is_quoted_in_bytes),
        cmocka_unit_test(test_awkward_name_stays_on_one_line),
        cmocka_unit_test(test_overflow_with_wide_guard_is_reported),
        cmocka_unit_test(test_overflow_in_arena_is_reported),
        cmocka_unit_test(test_overflow_on_pooled_stack_is_reported),
        cmocka_unit_test(test_null_dereference_is_not_an_overflow),
        cmocka_unit_test(test_previous_handler_keeps_its_faults),
        cmocka_unit_test(test_previous_handler_sees_overflow_after_report),
        cmocka_unit_test(test_overflow_on_other_thread_is_reported),
        cmocka_unit_test(test_install_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
