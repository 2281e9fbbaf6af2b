/*
 * Stacks: the guard page stops an overflow, stacks are only address space
 * until touched, deep recursion within the size works, and a caller's own
 * memory serves as a stack.
 */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#ifdef _WIN32
#include <windows.h>
#include <psapi.h>
#else
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "coro.h"
#include "sanitizer_build.h"
#if defined(BUILT_WITH_ASAN)
#include <sanitizer/asan_interface.h>
#endif

/* Linux 4.17 and later; elsewhere mmap takes the address as a hint, which
 * tells the same thing (see test_guard_is_adjacent's child). */
#if !defined(_WIN32) && !defined(MAP_FIXED_NOREPLACE)
#define MAP_FIXED_NOREPLACE 0
#endif

#define V(n) ((void *)(uintptr_t)(n))
#define N(p) ((uintptr_t)(p))

/* Recursion the compiler can neither flatten nor turn into a loop: every
 * frame keeps a 1 KiB buffer alive across the call. Returns a checksum so
 * the buffers are really used. */
__attribute__((noinline)) static uintptr_t recurse(uintptr_t depth)
{
    volatile unsigned char buffer[1024];
    for (size_t i = 0; i < sizeof buffer; i += 64)
        buffer[i] = (unsigned char)depth;
    if (depth == 0)
        return buffer[0];
    return recurse(depth - 1) + buffer[64];
}

/* What recurse(depth) returns, computed without the stack it needs (6000
 * frames do not fit the 1-2 MiB a Windows main thread gets). */
static uintptr_t recurse_checksum(uintptr_t depth)
{
    uintptr_t sum = 0;
    for (uintptr_t k = 1; k <= depth; k++)
        sum += (unsigned char)k;
    return sum;
}

static void *recurse_entry(void *value)
{
    return V(recurse(N(value)));
}

static void *recurse_forever(void *value)
{
    (void)value;
    return V(recurse(SIZE_MAX / 2));
}

#ifndef _WIN32
/* Runs entry on a fresh coroutine in a child process; returns the child's
 * wait status. */
static int status_of_child(coro_entry entry, const struct coro_options *opts)
{
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* cmocka catches SIGSEGV to report a failed test; the child must die of it. */
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        coro *co;
        if (coro_create(&co, entry, opts) != CORO_OK)
            _exit(100);
        coro_resume(co, NULL, NULL);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    return status;
}

static void test_overflow_hits_the_guard_page(void **state)
{
    (void)state;
    struct coro_options opts = {.stack_size = 64 * 1024};
    int status = status_of_child(recurse_forever, &opts);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSEGV);

    /* a wider guard works the same */
    opts.guard_size = 64 * 1024;
    status = status_of_child(recurse_forever, &opts);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSEGV);
}

/* The guard lies right below the usable stack: a walk down from the top
 * faults within the stack size (plus rounding to pages), and the address it
 * faults at belongs to an inaccessible mapping, not to nothing. The child's
 * fault handler (on an alternate stack) reads /proc/self/maps to tell. */
static volatile uintptr_t *walk_record; /* shared with the parent */
enum { WALK_TOP, WALK_DEEPEST, WALK_FAULT, WALK_FAULT_IN_GUARD };

static void *walk_down_the_stack(void *value)
{
    (void)value;
    /* The frame's own address, not a local's: with ASan's
     * detect_stack_use_after_return, addressable locals live on a fake
     * stack elsewhere. */
    volatile unsigned char *p = (volatile unsigned char *)__builtin_frame_address(0);
    walk_record[WALK_TOP] = (uintptr_t)coro_running();
    for (;;) {
        p -= 512;
        *p = 1;
        walk_record[WALK_DEEPEST] = (uintptr_t)p;
    }
    return NULL;
}

static int parse_hex(const char **text, uintptr_t *value)
{
    const char *p = *text;
    uintptr_t v = 0;
    int digits = 0;
    for (;; p++, digits++) {
        int c = *p;
        if (c >= '0' && c <= '9')
            v = v * 16 + (uintptr_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v * 16 + (uintptr_t)(c - 'a' + 10);
        else
            break;
    }
    *text = p;
    *value = v;
    return digits > 0;
}

/* Whether the page at address is a guard marker inside an accessible
 * mapping (madvise(MADV_GUARD_INSTALL), Linux 6.13): populating such a page
 * fails with EFAULT, where an ordinary page is populated. Async-signal-safe. */
static int is_guard_marker(uintptr_t address)
{
#if defined(__linux__)
    size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
    void *page = (void *)(address & ~(uintptr_t)(page_size - 1));
    return madvise(page, page_size, 23 /* MADV_POPULATE_WRITE */) != 0 && errno == EFAULT;
#else
    (void)address;
    return 0;
#endif
}

static void record_fault(int signal_number, siginfo_t *info, void *context)
{
    (void)signal_number;
    (void)context;
    uintptr_t fault = (uintptr_t)info->si_addr;
    walk_record[WALK_FAULT] = fault;
    static char maps[1 << 16];
    int fd = open("/proc/self/maps", O_RDONLY);
    ssize_t length = 0, got;
    while (fd >= 0 && length < (ssize_t)sizeof maps - 1 &&
           (got = read(fd, maps + length, sizeof maps - 1 - (size_t)length)) > 0)
        length += got;
    maps[length] = '\0';
    int listed = 0;
    for (const char *line = maps; *line != '\0';) {
        uintptr_t start, end;
        const char *p = line;
        if (parse_hex(&p, &start) && *p++ == '-' && parse_hex(&p, &end) && *p++ == ' ' &&
            fault >= start && fault < end) {
            walk_record[WALK_FAULT_IN_GUARD] = (p[0] == '-' && p[1] == '-' && p[2] == '-') || is_guard_marker(fault);
            listed = 1;
        }
        while (*line != '\0' && *line++ != '\n') {
        }
    }
    /* qemu-user leaves a 32-bit guest's PROT_NONE mappings out of its
     * /proc/self/maps. Ask mmap instead: it places a page at the exact
     * address only where nothing is mapped (MAP_FIXED_NOREPLACE, or the
     * same call taken as a hint by kernels and emulators that predate it). */
    if (!listed) {
        size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
        void *page = (void *)(fault & ~(uintptr_t)(page_size - 1));
        void *placed = mmap(page, page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        walk_record[WALK_FAULT_IN_GUARD] = placed != page;
    }
    _exit(42);
}

static void test_guard_is_adjacent(void **state)
{
    (void)state;
    walk_record = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(walk_record != MAP_FAILED);
    const size_t stack_size = 32 * 1024;
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        static char alternate[64 * 1024];
        stack_t altstack = {.ss_sp = alternate, .ss_size = sizeof alternate};
        struct sigaction action = {.sa_sigaction = record_fault, .sa_flags = SA_SIGINFO | SA_ONSTACK};
        sigaltstack(&altstack, NULL);
        sigaction(SIGSEGV, &action, NULL);
        sigaction(SIGBUS, &action, NULL);
        struct coro_options opts = {.stack_size = stack_size};
        coro *co;
        if (coro_create(&co, walk_down_the_stack, &opts) != CORO_OK)
            _exit(100);
        coro_resume(co, NULL, NULL);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 42);
    size_t walked = walk_record[WALK_TOP] - walk_record[WALK_DEEPEST];
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    assert_true(walked >= stack_size - 1024);
    assert_true(walked <= stack_size + 2 * page);
#if defined(__s390x__)
    /* z/Architecture reports the page of a translation fault, not the byte
     * (the translation-exception identification holds no byte offset), so
     * Linux's si_addr there is page-aligned. */
    assert_int_equal(walk_record[WALK_FAULT], (walk_record[WALK_DEEPEST] - 512) & ~(uintptr_t)(page - 1));
#else
    assert_int_equal(walk_record[WALK_FAULT], walk_record[WALK_DEEPEST] - 512);
#endif
    assert_int_equal(walk_record[WALK_FAULT_IN_GUARD], 1);
    munmap((void *)walk_record, 4096);
}

#else
/* Windows has no fork: the test binary runs itself with --child NAME, and
 * the child's exit code tells what happened. */
static void *walk_down_the_stack(void *value);

static DWORD exit_code_of_child(const char *name)
{
    char path[MAX_PATH];
    DWORD length = GetModuleFileNameA(NULL, path, sizeof path);
    assert_true(length > 0 && length < sizeof path);
    char command[MAX_PATH + 64];
    snprintf(command, sizeof command, "\"%s\" --child %s", path, name);
    STARTUPINFOA startup = {.cb = sizeof startup};
    PROCESS_INFORMATION process;
    fflush(NULL);
    assert_true(CreateProcessA(path, command, NULL, NULL, FALSE, 0, NULL, NULL, &startup, &process));
    assert_int_equal(WaitForSingleObject(process.hProcess, INFINITE), WAIT_OBJECT_0);
    DWORD code;
    assert_true(GetExitCodeProcess(process.hProcess, &code));
    CloseHandle(process.hProcess);
    CloseHandle(process.hThread);
    return code;
}

/* Exit codes a child uses when it did not die; anything else is a death. */
enum { CHILD_SURVIVED = 7, CHILD_NO_COROUTINE = 100, CHILD_UNKNOWN = 101 };

static int run_overflow(size_t guard_size)
{
    /* No error dialog, no cmocka handler: the fault ends the process. */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
    struct coro_options opts = {.stack_size = 64 * 1024, .guard_size = guard_size};
    coro *co;
    if (coro_create(&co, recurse_forever, &opts) != CORO_OK)
        return CHILD_NO_COROUTINE;
    coro_resume(co, NULL, NULL);
    return CHILD_SURVIVED;
}

/* The dispatch reserve at the top of the guard (stack.h) turns an overflow
 * into STATUS_STACK_OVERFLOW, delivered while stack is left: unhandled, it
 * ends the process with that status, as a thread's own overflow does. */
static void test_overflow_hits_the_guard_page(void **state)
{
    (void)state;
    assert_int_equal(exit_code_of_child("overflow"), EXCEPTION_STACK_OVERFLOW);
    /* a wider guard works the same */
    assert_int_equal(exit_code_of_child("overflow-wide-guard"), EXCEPTION_STACK_OVERFLOW);
}

/* The guard lies right below the usable stack: a walk down from the top
 * faults within the stack size (plus rounding to pages), in the same
 * reservation, at the guard page that tops the dispatch reserve (committed,
 * so STATUS_STACK_OVERFLOW). The walk keeps rsp near the top, so a vectored
 * handler can run on the coroutine's stack and judge. */
static volatile uintptr_t walk_top, walk_deepest;

static size_t page_size(void)
{
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    return info.dwPageSize;
}

static const size_t walk_stack_size = 32 * 1024;
enum { WALK_OK = 42, WALK_SHORT = 1, WALK_LONG = 2, WALK_NOT_NEXT = 4, WALK_NOT_GUARD = 8, WALK_BAD = 64 };

static LONG WINAPI judge_walk_fault(EXCEPTION_POINTERS *info)
{
    if (info->ExceptionRecord->ExceptionCode != EXCEPTION_STACK_OVERFLOW)
        return EXCEPTION_CONTINUE_SEARCH;
    uintptr_t fault = (uintptr_t)info->ExceptionRecord->ExceptionInformation[1];
    size_t walked = walk_top - walk_deepest;
    MEMORY_BASIC_INFORMATION guard, stack;
    int bad = 0;
    if (walked < walk_stack_size - 1024)
        bad |= WALK_SHORT;
    if (walked > walk_stack_size + 2 * page_size())
        bad |= WALK_LONG;
    if (fault != walk_deepest - 512)
        bad |= WALK_NOT_NEXT;
    if (VirtualQuery((void *)fault, &guard, sizeof guard) != sizeof guard ||
        VirtualQuery((void *)walk_deepest, &stack, sizeof stack) != sizeof stack ||
        guard.AllocationBase != stack.AllocationBase || guard.State != MEM_COMMIT)
        bad |= WALK_NOT_GUARD;
    ExitProcess(bad == 0 ? WALK_OK : WALK_BAD | (unsigned)bad);
}

static int run_walk(void)
{
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
    AddVectoredExceptionHandler(1, judge_walk_fault);
    struct coro_options opts = {.stack_size = walk_stack_size};
    coro *co;
    if (coro_create(&co, walk_down_the_stack, &opts) != CORO_OK)
        return CHILD_NO_COROUTINE;
    coro_resume(co, NULL, NULL);
    return CHILD_SURVIVED;
}

static void *walk_down_the_stack(void *value)
{
    (void)value;
    /* The frame's own address, not a local's: with ASan's
     * detect_stack_use_after_return, addressable locals live on a fake
     * stack elsewhere. */
    volatile unsigned char *p = (volatile unsigned char *)__builtin_frame_address(0);
    walk_top = (uintptr_t)coro_running();
    for (;;) {
        p -= 512;
        *p = 1;
        walk_deepest = (uintptr_t)p;
    }
    return NULL;
}

static void test_guard_is_adjacent(void **state)
{
    (void)state;
    assert_int_equal(exit_code_of_child("walk"), WALK_OK);
}

static int run_child(const char *name)
{
    if (strcmp(name, "overflow") == 0)
        return run_overflow(0);
    if (strcmp(name, "overflow-wide-guard") == 0)
        return run_overflow(64 * 1024);
    if (strcmp(name, "walk") == 0)
        return run_walk();
    return CHILD_UNKNOWN;
}
#endif

static void test_deep_recursion_within_the_stack(void **state)
{
    (void)state;
    /* 256 KiB stack, about 1.1 KiB a frame: 150 frames use ~170 KiB */
    coro *co;
    assert_int_equal(coro_create(&co, recurse_entry, NULL), CORO_OK);
    void *out;
    assert_int_equal(coro_resume(co, V(150), &out), CORO_OK);
    assert_int_equal(N(out), recurse_checksum(150));
    assert_int_equal(coro_status(co), CORO_DEAD);
    assert_int_equal(coro_destroy(co), CORO_OK);

    struct coro_options big = {.stack_size = 8 * 1024 * 1024};
    assert_int_equal(coro_create(&co, recurse_entry, &big), CORO_OK);
    assert_int_equal(coro_resume(co, V(6000), &out), CORO_OK);
    assert_int_equal(N(out), recurse_checksum(6000));
    assert_int_equal(coro_destroy(co), CORO_OK);
}

static void *yield_sum(void *value)
{
    uintptr_t sum = N(value);
    for (int i = 0; i < 3; i++) {
        void *in;
        coro_yield(V(sum), &in);
        sum += N(in);
    }
    return V(recurse(20) + sum);
}

static void test_caller_supplied_stack(void **state)
{
    (void)state;
    static _Alignas(16) unsigned char memory[64 * 1024];
    memset(memory, 0xa5, sizeof memory);
    struct coro_options opts = {.stack = memory, .stack_size = sizeof memory};
    coro *co;
    assert_int_equal(coro_create(&co, yield_sum, &opts), CORO_OK);
    /* the control block lives inside the given memory */
    assert_true((unsigned char *)co >= memory && (unsigned char *)co < memory + sizeof memory);
    void *out;
    assert_int_equal(coro_resume(co, V(1), &out), CORO_OK);
    assert_int_equal(N(out), 1);
    assert_int_equal(coro_resume(co, V(2), &out), CORO_OK);
    assert_int_equal(coro_resume(co, V(3), &out), CORO_OK);
    assert_int_equal(coro_resume(co, V(4), &out), CORO_OK);
    assert_int_equal(N(out), recurse(20) + 10);
    assert_int_equal(coro_destroy(co), CORO_OK);
    /* the memory stays the caller's: usable again */
    assert_int_equal(coro_create(&co, yield_sum, &opts), CORO_OK);
    assert_int_equal(coro_resume(co, V(5), &out), CORO_OK);
    assert_int_equal(N(out), 5);
    assert_int_equal(coro_destroy(co), CORO_OK);

    /* unaligned memory works too */
    opts.stack = memory + 3;
    opts.stack_size = sizeof memory - 3;
    assert_int_equal(coro_create(&co, yield_sum, &opts), CORO_OK);
    assert_int_equal(coro_resume(co, V(6), &out), CORO_OK);
    assert_int_equal(N(out), 6);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

static size_t resident_bytes(void)
{
#ifdef _WIN32
    PROCESS_MEMORY_COUNTERS counters;
    assert_true(GetProcessMemoryInfo(GetCurrentProcess(), &counters, sizeof counters));
    return counters.WorkingSetSize;
#else
    FILE *statm = fopen("/proc/self/statm", "r");
    assert_non_null(statm);
    unsigned long size, resident;
    assert_int_equal(fscanf(statm, "%lu %lu", &size, &resident), 2);
    fclose(statm);
    return resident * (size_t)sysconf(_SC_PAGESIZE);
#endif
}

static void *touch_a_little(void *value)
{
    volatile char local[256];
    local[0] = 1;
    coro_yield(value, NULL);
    return V(local[0]);
}

static void test_stacks_are_not_resident_until_used(void **state)
{
    (void)state;
#if defined(BUILT_WITH_TSAN)
    /* TSan keeps about 830 KiB of state per running coroutine (its fiber),
     * resident: the bound below is about stacks, not that. */
    print_message("not measured under ThreadSanitizer\n");
    skip();
#endif
#if defined(BUILT_WITH_ASAN)
    /* With detect_stack_use_after_return=1 ASan gives each coroutine that
     * ran a fake stack of its own, about 29 KiB resident: not stacks. */
    if (__asan_get_current_fake_stack() != NULL) {
        print_message("not measured with ASan's fake stacks\n");
        skip();
    }
#endif
    enum { COUNT = 1000 };
    static coro *all[COUNT];
    size_t before = resident_bytes();
    struct coro_options opts = {.stack_size = 256 * 1024};
    for (size_t i = 0; i < COUNT; i++) {
        assert_int_equal(coro_create(&all[i], touch_a_little, &opts), CORO_OK);
        assert_int_equal(coro_resume(all[i], NULL, NULL), CORO_OK);
    }
    size_t grown = resident_bytes() - before;
    print_message("1000 coroutines with 256 KiB stacks: %lu KiB resident\n", (unsigned long)(grown / 1024));
    /* 250 MiB would be committed if stacks were touched or zeroed; a few
     * pages per coroutine are expected. */
    assert_true(grown < (size_t)32 * 1024 * 1024);
    for (size_t i = 0; i < COUNT; i++)
        assert_int_equal(coro_destroy(all[i]), CORO_OK);
}

#ifdef _WIN32
int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0)
        return run_child(argv[2]);
#else
int main(void)
{
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overflow_hits_the_guard_page),
        cmocka_unit_test(test_guard_is_adjacent),
        cmocka_unit_test(test_deep_recursion_within_the_stack),
        cmocka_unit_test(test_caller_supplied_stack),
        cmocka_unit_test(test_stacks_are_not_resident_until_used),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
