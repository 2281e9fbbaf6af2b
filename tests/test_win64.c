/*
 * What Windows expects of a stack, inside a coroutine: the thread block
 * (TEB) describes the coroutine's stack while it runs and the thread's own
 * again once it is switched out; big frames probe through __chkstk;
 * setjmp/longjmp (which unwinds with RtlUnwindEx on x64); structured
 * exceptions dispatched to a vectored and to a frame-based handler; and an
 * unwind from inside a coroutine that ends cleanly at its root.
 */
#define _WIN32_WINNT 0x0A00 /* GetCurrentThreadStackLimits */
#include <windows.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arch.h"
#include "coro.h"
#include "stack.h"

#define TEST_EXCEPTION 0xE0C0DE01u

/* gs-relative loads of the TEB. (mingw's __readgsqword trips GCC 12's
 * -Warray-bounds, which cannot see through the segment override.) */
static uintptr_t teb_word(uintptr_t offset)
{
    uintptr_t value;
    __asm__ volatile("movq %%gs:(%1), %0" : "=r"(value) : "r"(offset));
    return value;
}

static ULONG teb_dword(uintptr_t offset)
{
    ULONG value;
    __asm__ volatile("movl %%gs:(%1), %0" : "=r"(value) : "r"(offset));
    return value;
}

struct stack_view {
    uintptr_t base, limit, deallocation, low, high;
    ULONG guarantee;
};

static void read_stack_view(struct stack_view *view)
{
    memset(view, 0, sizeof *view); /* the padding, for assert_memory_equal */
    view->base = teb_word(CORO_TEB_STACK_BASE);
    view->limit = teb_word(CORO_TEB_STACK_LIMIT);
    view->deallocation = teb_word(CORO_TEB_DEALLOCATION_STACK);
    view->guarantee = teb_dword(CORO_TEB_GUARANTEED_STACK_BYTES);
    ULONG_PTR low, high;
    /* Reads the same TEB fields through the system's own accessor, which
     * checks the offsets named in arch.h. */
    GetCurrentThreadStackLimits(&low, &high);
    view->low = low;
    view->high = high;
}

static struct stack_view seen_inside, seen_inside_later;
static uintptr_t local_inside;

static void *teb_entry(void *value)
{
    (void)value;
    volatile char local = 0;
    local_inside = (uintptr_t)&local;
    read_stack_view(&seen_inside);
    ULONG guarantee = 16 * 1024;
    SetThreadStackGuarantee(&guarantee);
    coro_yield(NULL, NULL);
    read_stack_view(&seen_inside_later);
    return NULL;
}

static void test_teb_describes_the_running_stack(void **state)
{
    (void)state;
    struct stack_view thread_before, thread_between, thread_after;
    read_stack_view(&thread_before);

    const size_t stack_size = 64 * 1024;
    struct coro_options opts = {.stack_size = stack_size};
    coro *co;
    assert_int_equal(coro_create(&co, teb_entry, &opts), CORO_OK);
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    read_stack_view(&thread_between);
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    read_stack_view(&thread_after);

    /* Inside: the coroutine's stack, below its control block. */
    assert_true(seen_inside.limit <= local_inside && local_inside < seen_inside.base);
    assert_true(seen_inside.base <= (uintptr_t)co);
    assert_true(seen_inside.base - seen_inside.limit >= stack_size);
    assert_true(seen_inside.deallocation <= seen_inside.limit);
    /* ... and DeallocationStack within the coroutine stack's own reservation. */
    MEMORY_BASIC_INFORMATION region;
    assert_int_equal(VirtualQuery((void *)local_inside, &region, sizeof region), sizeof region);
    assert_true(seen_inside.deallocation >= (uintptr_t)region.AllocationBase);
    assert_true(seen_inside.low == seen_inside.deallocation && seen_inside.high == seen_inside.base);
    /* A guarded stack guarantees its dispatch reserve (stack.h), and names
     * the reservation's base one page below it. */
    assert_int_equal(seen_inside.guarantee, CORO_STACK_DISPATCH_RESERVE);
    assert_true(seen_inside.deallocation == seen_inside.limit - CORO_STACK_DISPATCH_RESERVE - coro_stack_page_size());
    assert_true(seen_inside.base != thread_before.base);

    /* Outside, between the two runs and after: the thread's own values. */
    assert_memory_equal(&thread_between, &thread_before, sizeof thread_before);
    assert_memory_equal(&thread_after, &thread_before, sizeof thread_before);

    /* The coroutine's guarantee travelled with it. */
    assert_true(seen_inside_later.guarantee >= 16 * 1024);
    assert_true(seen_inside_later.base == seen_inside.base && seen_inside_later.limit == seen_inside.limit);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* 64 KiB of locals: the compiler probes the pages with __chkstk. */
static __attribute__((noinline)) int big_frame(int seed)
{
    volatile unsigned char buffer[64 * 1024];
    for (size_t i = 0; i < sizeof buffer; i += 4096)
        buffer[i] = (unsigned char)(seed + i / 4096);
    buffer[sizeof buffer - 1] = (unsigned char)seed;
    int sum = 0;
    for (size_t i = 0; i < sizeof buffer; i += 4096)
        sum += buffer[i];
    return sum + buffer[sizeof buffer - 1];
}

static void *big_frame_entry(void *value)
{
    return (void *)(intptr_t)big_frame((int)(intptr_t)value);
}

static void test_chkstk_frame_inside_coroutine(void **state)
{
    (void)state;
    coro *co;
    assert_int_equal(coro_create(&co, big_frame_entry, NULL), CORO_OK);
    void *result;
    assert_int_equal(coro_resume(co, (void *)(intptr_t)3, &result), CORO_OK);
    /* pages 0..15 hold 3..18, plus the last byte 3 */
    assert_int_equal((int)(intptr_t)result, 16 * 3 + 120 + 3);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* seh_guarded_call (tests/arch/seh_x86_64_win64.S) runs a function in a
 * frame whose exception handler is seh_test_handler. */
void seh_guarded_call(void (*fn)(void *), void *arg);
EXCEPTION_DISPOSITION seh_test_handler(EXCEPTION_RECORD *record, void *frame, CONTEXT *context, void *dispatch);

static volatile LONG frame_handler_calls;
static volatile LONG unwind_handler_calls;

EXCEPTION_DISPOSITION seh_test_handler(EXCEPTION_RECORD *record, void *frame, CONTEXT *context, void *dispatch)
{
    (void)frame;
    (void)context;
    (void)dispatch;
    if (record->ExceptionFlags & EXCEPTION_UNWINDING) {
        unwind_handler_calls++;
        return ExceptionContinueSearch;
    }
    if (record->ExceptionCode != TEST_EXCEPTION)
        return ExceptionContinueSearch;
    frame_handler_calls++;
    return ExceptionContinueExecution;
}

static jmp_buf jump_target;

static void jump_back(int depth, int value);
/* Through a volatile pointer: a few real frames for longjmp to unwind. */
static void (*volatile jump_deeper)(int, int) = jump_back;

static void jump_back(int depth, int value)
{
    if (depth > 0)
        jump_deeper(depth - 1, value);
    longjmp(jump_target, value);
}

static void longjmp_from_below(void *arg)
{
    (void)arg;
    jump_back(3, 100);
}

static void *longjmp_entry(void *value)
{
    (void)value;
    volatile int landed = 0;
    /* x64 longjmp unwinds with RtlUnwindEx: the frame it leaves runs its
     * unwind handler on the way. */
    unwind_handler_calls = 0;
    if (setjmp(jump_target) == 0)
        seh_guarded_call(longjmp_from_below, NULL);
    for (volatile int round = 1; round <= 3; round++) {
        int got = setjmp(jump_target);
        if (got == 0)
            jump_back(5, round);
        landed += got;
        coro_yield((void *)(intptr_t)landed, NULL);
    }
    return (void *)(intptr_t)landed;
}

static void test_setjmp_longjmp_inside_coroutine(void **state)
{
    (void)state;
    coro *co;
    assert_int_equal(coro_create(&co, longjmp_entry, NULL), CORO_OK);
    void *result;
    int expected = 0;
    for (int round = 1; round <= 3; round++) {
        expected += round;
        assert_int_equal(coro_resume(co, NULL, &result), CORO_OK);
        assert_int_equal((int)(intptr_t)result, expected);
        assert_int_equal(unwind_handler_calls, 1);
    }
    assert_int_equal(coro_resume(co, NULL, &result), CORO_OK);
    assert_int_equal(coro_status(co), CORO_DEAD);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

static volatile LONG vectored_calls;

static LONG WINAPI vectored_handler(EXCEPTION_POINTERS *info)
{
    if (info->ExceptionRecord->ExceptionCode != TEST_EXCEPTION)
        return EXCEPTION_CONTINUE_SEARCH;
    vectored_calls++;
    return EXCEPTION_CONTINUE_EXECUTION;
}

static void *raise_entry(void *value)
{
    (void)value;
    RaiseException(TEST_EXCEPTION, 0, 0, NULL);
    coro_yield(NULL, NULL);
    RaiseException(TEST_EXCEPTION, 0, 0, NULL);
    return NULL;
}

static void test_vectored_handler_inside_coroutine(void **state)
{
    (void)state;
    void *handle = AddVectoredExceptionHandler(1, vectored_handler);
    assert_non_null(handle);
    vectored_calls = 0;
    coro *co;
    assert_int_equal(coro_create(&co, raise_entry, NULL), CORO_OK);
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_int_equal(vectored_calls, 1);
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_int_equal(vectored_calls, 2);
    assert_int_equal(coro_status(co), CORO_DEAD);
    RemoveVectoredExceptionHandler(handle);
    assert_int_equal(coro_destroy(co), CORO_OK);
}


static __attribute__((noinline)) void raise_below(void *arg)
{
    (void)arg;
    RaiseException(TEST_EXCEPTION, 0, 0, NULL);
}

static void *frame_handler_entry(void *value)
{
    (void)value;
    seh_guarded_call(raise_below, NULL);
    coro_yield(NULL, NULL);
    seh_guarded_call(raise_below, NULL);
    return NULL;
}

static void test_frame_based_handler_inside_coroutine(void **state)
{
    (void)state;
    frame_handler_calls = 0;
    coro *co;
    assert_int_equal(coro_create(&co, frame_handler_entry, NULL), CORO_OK);
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_int_equal(frame_handler_calls, 1);
    /* The thread's own stack handles one too, between the two. */
    seh_guarded_call(raise_below, NULL);
    assert_int_equal(frame_handler_calls, 2);
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_int_equal(frame_handler_calls, 3);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* Walks the stack with the system's unwinder, as a debugger or the
 * exception dispatcher would, and records where it ends. */
struct walk {
    int frames;
    int saw_entry;
    DWORD64 last_rip, last_rsp;
};

static void *walk_entry(void *value);

static __attribute__((noinline)) void walk_stack(struct walk *walk)
{
    CONTEXT context;
    RtlCaptureContext(&context);
    DWORD64 entry = (DWORD64)(uintptr_t)walk_entry;
    for (walk->frames = 0; walk->frames < 64 && context.Rip != 0; walk->frames++) {
        DWORD64 image;
        RUNTIME_FUNCTION *function = RtlLookupFunctionEntry(context.Rip, &image, NULL);
        if (function == NULL) {
            context.Rip = *(DWORD64 *)(uintptr_t)context.Rsp;
            context.Rsp += 8;
            continue;
        }
        if (image + function->BeginAddress == entry)
            walk->saw_entry = 1;
        void *handler_data;
        DWORD64 establisher;
        RtlVirtualUnwind(UNW_FLAG_NHANDLER, image, context.Rip, function, &context, &handler_data,
                         &establisher, NULL);
    }
    walk->last_rip = context.Rip;
    walk->last_rsp = context.Rsp;
}

static __attribute__((noinline)) void *walk_entry(void *value)
{
    walk_stack(value);
    return (void *)teb_word(CORO_TEB_STACK_BASE);
}

static void test_unwind_stops_at_coroutine_root(void **state)
{
    (void)state;
    struct walk walk = {0};
    coro *co;
    assert_int_equal(coro_create(&co, walk_entry, NULL), CORO_OK);
    void *stack_base;
    assert_int_equal(coro_resume(co, &walk, &stack_base), CORO_OK);
    assert_true(walk.saw_entry);
    assert_true(walk.frames < 64);
    assert_true(walk.last_rip == 0);
    assert_true(walk.last_rsp == (DWORD64)(uintptr_t)stack_base);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* Nested: a coroutine resumed by a coroutine. The walk still ends at the
 * inner coroutine's root (rip 0 at its StackBase) and never reaches the
 * outer one: Win64's unwind codes cannot lead into the resumer
 * (x86_64_win64.S, "Unwinding past the root"). */
static void *resume_walker(void *walk)
{
    coro *inner;
    void *stack_base = NULL;
    if (coro_create(&inner, walk_entry, NULL) != CORO_OK)
        return NULL;
    if (coro_resume(inner, walk, &stack_base) != CORO_OK)
        stack_base = NULL;
    coro_destroy(inner);
    return stack_base;
}

static void test_unwind_in_nested_coroutine_stops_at_its_root(void **state)
{
    (void)state;
    struct walk walk = {0};
    coro *outer;
    assert_int_equal(coro_create(&outer, resume_walker, NULL), CORO_OK);
    void *inner_stack_base = NULL;
    assert_int_equal(coro_resume(outer, &walk, &inner_stack_base), CORO_OK);
    assert_non_null(inner_stack_base);
    assert_true(walk.saw_entry);
    assert_true(walk.frames < 64);
    assert_true(walk.last_rip == 0);
    assert_true(walk.last_rsp == (DWORD64)(uintptr_t)inner_stack_base);
    assert_int_equal(coro_destroy(outer), CORO_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_teb_describes_the_running_stack),
        cmocka_unit_test(test_chkstk_frame_inside_coroutine),
        cmocka_unit_test(test_setjmp_longjmp_inside_coroutine),
        cmocka_unit_test(test_vectored_handler_inside_coroutine),
        cmocka_unit_test(test_frame_based_handler_inside_coroutine),
        cmocka_unit_test(test_unwind_stops_at_coroutine_root),
        cmocka_unit_test(test_unwind_in_nested_coroutine_stops_at_its_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
