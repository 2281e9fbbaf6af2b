/*
 * Hardening: options that contradict each other or describe an unusable
 * caller stack are refused with the code coro.h names, before anything is
 * written; a control block that was overwritten is detected by every call
 * that would use it (CORO_ECORRUPT), which then changes nothing.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS under -std=c11 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(_WIN32)
#include <windows.h>
#else
#include <sys/mman.h>
#endif
#include <cmocka.h>

#include "coro.h"
#include "arch.h"
#include "integrity.h" /* the seal key, which no public call shows */
#include "registry.h" /* the layout of a control block, as debuggers read it */

#define V(n) ((void *)(uintptr_t)(n))
#define N(p) ((uintptr_t)(p))

static void *return_value(void *value)
{
    return value;
}

static void *yield_then_return(void *value)
{
    void *again = NULL;
    coro_yield(V(N(value) + 1), &again);
    return V(N(again) + 2);
}

/* ---- caller-supplied stacks ---- */

/* A stack that ends past the top of the address space must be refused
 * without a write: the memory here is mapped PROT_NONE, so any write the
 * library attempted would kill the test. */
static void test_caller_stack_that_wraps_writes_nothing(void **state)
{
    (void)state;
    const size_t size = 64 * 1024;
#if defined(_WIN32)
    void *memory = VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_NOACCESS);
    assert_non_null(memory);
#else
    void *memory = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(memory != MAP_FAILED);
#endif
    coro *co = NULL;
    const size_t to_the_end = (size_t)(UINTPTR_MAX - (uintptr_t)memory);
    const size_t wrapping[] = {SIZE_MAX, SIZE_MAX - 4096, to_the_end + 1, to_the_end + 2 * size};
    for (size_t i = 0; i < sizeof wrapping / sizeof wrapping[0]; i++) {
        struct coro_options opts = {.stack = memory, .stack_size = wrapping[i]};
        assert_int_equal(coro_create(&co, return_value, &opts), CORO_EINVAL);
        opts.guard_size = CORO_NO_GUARD;
        assert_int_equal(coro_create(&co, return_value, &opts), CORO_EINVAL);
    }
    assert_null(co);
#if defined(_WIN32)
    VirtualFree(memory, 0, MEM_RELEASE);
#else
    munmap(memory, size);
#endif
}

/* Pointers near the top of the address space, where nothing is mapped for
 * the program (the kernel's half, or unmapped under an emulator): a range
 * that wraps is refused, and nothing is written, or the test would die. */
static void test_caller_stack_near_the_top_of_the_address_space(void **state)
{
    (void)state;
    coro *co = NULL;
    const uintptr_t tops[] = {UINTPTR_MAX - 4095, UINTPTR_MAX - 8191, UINTPTR_MAX - 65535 - 63, UINTPTR_MAX};
    for (size_t i = 0; i < sizeof tops / sizeof tops[0]; i++) {
        const size_t left = (size_t)(UINTPTR_MAX - tops[i]); /* bytes to the last address */
        const size_t sizes[] = {left + 1, left + 2, left + 64 * 1024, SIZE_MAX};
        for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++) {
            struct coro_options opts = {.stack = (void *)tops[i], .stack_size = sizes[j]};
            assert_int_equal(coro_create(&co, return_value, &opts), CORO_EINVAL);
        }
    }
    assert_null(co);
}

/* For every misalignment of the base and the end, the smallest size that is
 * accepted leaves CORO_STACK_MIN bytes below one frame below the control
 * block, which lies inside the memory; one byte less is CORO_ESTACK, and
 * a refused create writes nothing. */
static _Alignas(64) unsigned char misaligned_memory[32 * 1024];

static void test_misaligned_caller_stacks(void **state)
{
    (void)state;
    size_t smallest_aligned = 0;
    for (size_t offset = 0; offset < 64; offset++) {
        unsigned char *base = misaligned_memory + offset;
        size_t accepted = 0;
        coro *co = NULL;
        for (size_t size = CORO_STACK_MIN; size < sizeof misaligned_memory - 64; size++) {
            memset(misaligned_memory, 0xA5, sizeof misaligned_memory);
            struct coro_options opts = {.stack = base, .stack_size = size};
            int result = coro_create(&co, return_value, &opts);
            if (result == CORO_OK) {
                accepted = size;
                break;
            }
            assert_int_equal(result, CORO_ESTACK);
            for (size_t i = 0; i < sizeof misaligned_memory; i++)
                assert_int_equal(misaligned_memory[i], 0xA5);
        }
        assert_true(accepted != 0);
        uintptr_t block = (uintptr_t)co;
        assert_true(block % 64 == 0);
        assert_true(block - (uintptr_t)base >= CORO_ARCH_FRAME_SIZE + CORO_STACK_MIN);
        /* and no more than that: the lowest 64-byte boundary that leaves it */
        assert_true(block == (((uintptr_t)base + CORO_ARCH_FRAME_SIZE + CORO_STACK_MIN + 63) & ~(uintptr_t)63));
        assert_true(block < (uintptr_t)base + accepted);
        /* below the stack: untouched */
        for (size_t i = 0; i < offset; i++)
            assert_int_equal(misaligned_memory[i], 0xA5);
        void *out = NULL;
        assert_int_equal(coro_resume(co, V(41), &out), CORO_OK);
        assert_int_equal(N(out), 41);
        assert_int_equal(coro_destroy(co), CORO_OK);
        if (offset == 0)
            smallest_aligned = accepted;
        /* Alignment costs at most the 63 bytes the block is moved down. */
        assert_true(accepted <= smallest_aligned + 63);
    }
}

/* ---- every combination of option fields ---- */

enum stack_choice { STACK_NONE, STACK_MEMORY, STACK_WRAPPING, STACK_CHOICES };
enum size_choice { SIZE_ZERO, SIZE_TINY, SIZE_BELOW_MIN, SIZE_MIN, SIZE_FITS, SIZE_HUGE, SIZE_CHOICES };
enum guard_choice { GUARD_DEFAULT, GUARD_PAGE, GUARD_NONE, GUARD_HUGE, GUARD_CHOICES };
enum arena_choice { ARENA_NONE, ARENA_GIVEN, ARENA_CHOICES };

static _Alignas(64) unsigned char table_memory[64 * 1024];

static const size_t size_values[SIZE_CHOICES] = {0, 16, CORO_STACK_MIN - 1, CORO_STACK_MIN, sizeof table_memory, SIZE_MAX};
static const size_t guard_values[GUARD_CHOICES] = {0, 4096, CORO_NO_GUARD, SIZE_MAX - 1};

/* The result coro.h promises, from its rules in their order of priority:
 * contradictions (CORO_EINVAL) before sizes (CORO_ESTACK) before what the
 * system refuses (CORO_ENOMEM). */
static int promised(enum stack_choice stack, enum size_choice size, enum guard_choice guard, enum arena_choice arena)
{
    if (arena == ARENA_GIVEN)
        return stack != STACK_NONE || size != SIZE_ZERO || guard != GUARD_DEFAULT ? CORO_EINVAL : CORO_OK;
    if (stack != STACK_NONE) {
        if (size == SIZE_ZERO || guard == GUARD_PAGE || guard == GUARD_HUGE)
            return CORO_EINVAL; /* no size, or a guard a caller stack cannot have */
        if (size == SIZE_HUGE || (stack == STACK_WRAPPING && size >= SIZE_MIN))
            return CORO_EINVAL; /* the range wraps */
        if (size != SIZE_FITS)
            return CORO_ESTACK; /* no room for the block, a frame and CORO_STACK_MIN */
        return CORO_OK;
    }
    if (size == SIZE_TINY || size == SIZE_BELOW_MIN)
        return CORO_ESTACK;
    if (size == SIZE_HUGE || guard == GUARD_HUGE)
        return CORO_ENOMEM;
    return CORO_OK;
}

static void test_every_combination_of_options(void **state)
{
    (void)state;
    coro_arena *arena;
    assert_int_equal(coro_arena_create(&arena, 2, 16 * 1024, CORO_NO_GUARD), CORO_OK);
    /* near the end of the address space: size_values[SIZE_MIN] and more wrap */
    void *wrapping = (void *)(UINTPTR_MAX - (CORO_STACK_MIN - 1));
    size_t cases = 0;
    for (int s = 0; s < STACK_CHOICES; s++)
        for (int z = 0; z < SIZE_CHOICES; z++)
            for (int g = 0; g < GUARD_CHOICES; g++)
                for (int a = 0; a < ARENA_CHOICES; a++) {
                    struct coro_options opts = {
                        .stack = s == STACK_NONE ? NULL : s == STACK_MEMORY ? (void *)table_memory : wrapping,
                        .stack_size = size_values[z],
                        .guard_size = guard_values[g],
                        .arena = a == ARENA_GIVEN ? arena : NULL,
                    };
                    int expected = promised(s, z, g, a);
                    memset(table_memory, 0x5A, sizeof table_memory);
                    coro *co = V(1);
                    int result = coro_create(&co, return_value, &opts);
                    if (result != expected)
                        print_error("stack %d, size %d, guard %d, arena %d: %s, expected %s\n", s, z, g, a,
                                    coro_strerror(result), coro_strerror(expected));
                    assert_int_equal(result, expected);
                    cases++;
                    if (result != CORO_OK) {
                        assert_ptr_equal(co, V(1)); /* *out untouched */
                        for (size_t i = 0; i < sizeof table_memory; i++)
                            assert_int_equal(table_memory[i], 0x5A);
                        continue;
                    }
                    void *out = NULL;
                    assert_int_equal(coro_resume(co, V(7), &out), CORO_OK);
                    assert_int_equal(N(out), 7);
                    assert_int_equal(coro_destroy(co), CORO_OK);
                }
    assert_int_equal(cases, STACK_CHOICES * SIZE_CHOICES * GUARD_CHOICES * ARENA_CHOICES);
    assert_int_equal(coro_arena_destroy(arena), CORO_OK);
}

/* ---- overwritten control blocks ---- */

/* Caller-supplied stacks: their top, and so their control block, is known. */
static _Alignas(64) unsigned char victim_memory[32 * 1024];
static _Alignas(64) unsigned char other_memory[32 * 1024];

/* The block's bytes: from the coroutine's address to the stack's top. */
static size_t block_bytes(const coro *co)
{
    return (size_t)(victim_memory + sizeof victim_memory - (const unsigned char *)co);
}

/* Internal layout the scribbles aim at, where the registry describes it
 * (coro.h): the status, with the kind (an int) right after it; the entry;
 * the stack's bottom, which follows its mapping and mapping size
 * (struct coro_stack, src/stack.h). */
#define STATUS_OFFSET ((size_t)coro_registry.status_offset)
#define ENTRY_OFFSET ((size_t)coro_registry.entry_offset)
#define BOTTOM_OFFSET ((size_t)coro_registry.bottom_offset)
#define MAPPING_OFFSET (BOTTOM_OFFSET - 2 * sizeof(void *))

enum scribble {
    FILL_X,          /* the whole block: the 'X's */
    FILL_ZERO,       /* the whole block zeroed: status reads suspended */
    SP_NULL,
    SP_BELOW,        /* a stack pointer below the stack */
    SP_ABOVE,        /* into the block itself */
    STATUS_GARBAGE,
    STATUS_SUSPENDED, /* of a context that is not suspended: see below */
    KIND_THREAD_,    /* the word after the status (its kind) reads as a thread's */
    KIND_OTHER,      /* or as another coroutine kind's */
    ENTRY_CHANGED,
    BOTTOM_CHANGED,  /* the stack's bottom, which bounds the saved stack pointer */
    SCRIBBLES
};

static void apply(enum scribble scribble, coro *co)
{
    unsigned char *bytes = (unsigned char *)co;
    switch (scribble) {
    case FILL_X: memset(bytes, 'X', block_bytes(co)); break;
    case FILL_ZERO: memset(bytes, 0, block_bytes(co)); break;
    case SP_NULL: memset(bytes, 0, sizeof(void *)); break;
    case SP_BELOW: {
        void *below = (void *)((uintptr_t)victim_memory - 4096);
        memcpy(bytes, &below, sizeof below);
        break;
    }
    case SP_ABOVE: {
        void *above = bytes + 8;
        memcpy(bytes, &above, sizeof above);
        break;
    }
    case STATUS_GARBAGE: memset(bytes + STATUS_OFFSET, 'Y', sizeof(int)); break;
    case STATUS_SUSPENDED: memset(bytes + STATUS_OFFSET, 0, sizeof(int)); break;
    case KIND_THREAD_: memset(bytes + STATUS_OFFSET + sizeof(int), 0, sizeof(int)); break;
    case KIND_OTHER: bytes[STATUS_OFFSET + sizeof(int)] ^= 0x02; break;
    case ENTRY_CHANGED:
        /* One bit of the entry flipped: always another address (writing a
         * chosen function's address could land on the entry it replaces,
         * as it did in one build's layout). */
        bytes[ENTRY_OFFSET] ^= 0x10;
        break;
    case BOTTOM_CHANGED: {
        void *lower = (void *)((uintptr_t)victim_memory - 65536);
        memcpy(bytes + BOTTOM_OFFSET, &lower, sizeof lower);
        break;
    }
    case SCRIBBLES: break;
    }
}

static int hook_runs;

static void count_hook(void *arg, coro *from)
{
    (void)arg, (void)from;
    hook_runs++;
}

/* Every call that would use the block says CORO_ECORRUPT and leaves the
 * block as it found it. */
static void assert_refused(coro *co)
{
    static unsigned char before[1024];
    size_t size = block_bytes(co);
    assert_true(size <= sizeof before);
    memcpy(before, co, size);
    void *out = V(99);
    assert_int_equal(coro_resume(co, V(1), &out), CORO_ECORRUPT);
    assert_int_equal(coro_transfer(co, V(1), &out), CORO_ECORRUPT);
    assert_int_equal(coro_destroy(co), CORO_ECORRUPT);
    assert_int_equal(coro_cancel(co, &out), CORO_ECORRUPT);
    assert_int_equal(coro_resume_with(co, V(1), &out, count_hook, NULL), CORO_ECORRUPT);
    assert_int_equal(coro_transfer_with(co, V(1), &out, count_hook, NULL), CORO_ECORRUPT);
    assert_int_equal(hook_runs, 0);
    assert_int_equal(N(out), 99);
    assert_memory_equal(before, co, size);
    assert_ptr_equal(coro_running(), coro_thread());
}

/* A suspended coroutine, fresh or stopped in a yield: each scribble is
 * detected, and once the bytes are put back the coroutine runs on as if
 * nothing had happened. */
static void test_overwritten_suspended_block(void **state)
{
    (void)state;
    static unsigned char saved[1024];
    for (int started = 0; started <= 1; started++) {
        for (int s = 0; s < SCRIBBLES; s++) {
            if (s == STATUS_SUSPENDED)
                continue; /* it is suspended: that status is its own */
            coro *co;
            struct coro_options opts = {.stack = victim_memory, .stack_size = sizeof victim_memory};
            assert_int_equal(coro_create(&co, yield_then_return, &opts), CORO_OK);
            void *out = NULL;
            if (started) {
                assert_int_equal(coro_resume(co, V(10), &out), CORO_OK);
                assert_int_equal(N(out), 11);
            }
            size_t size = block_bytes(co);
            memcpy(saved, co, size);
            apply(s, co);
            assert_refused(co);
            memcpy(co, saved, size);
            if (!started) {
                assert_int_equal(coro_resume(co, V(10), &out), CORO_OK);
                assert_int_equal(N(out), 11);
            }
            assert_int_equal(coro_resume(co, V(20), &out), CORO_OK);
            assert_int_equal(N(out), 22);
            assert_int_equal(coro_destroy(co), CORO_OK);
        }
    }
}

/* A dead coroutine overwritten to read as suspended must not be run: it
 * keeps no stack pointer. */
static void test_dead_block_overwritten_to_suspended(void **state)
{
    (void)state;
    for (int s = 0; s < SCRIBBLES; s++) {
        coro *co;
        struct coro_options opts = {.stack = victim_memory, .stack_size = sizeof victim_memory};
        assert_int_equal(coro_create(&co, return_value, &opts), CORO_OK);
        assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
        assert_int_equal(coro_status(co), CORO_DEAD);
        static unsigned char saved[1024];
        memcpy(saved, co, block_bytes(co));
        apply(s, co);
        if (s == SP_NULL) {
            /* a dead coroutine's stack pointer is already NULL: unchanged */
            assert_int_equal(coro_resume(co, NULL, NULL), CORO_EDEAD);
        } else if (s == SP_BELOW || s == SP_ABOVE) {
            /* not used while dead; resuming it is still refused */
            assert_int_equal(coro_resume(co, NULL, NULL), CORO_EDEAD);
        } else {
            assert_refused(co);
        }
        memcpy(co, saved, block_bytes(co));
        assert_int_equal(coro_resume(co, NULL, NULL), CORO_EDEAD);
        assert_int_equal(coro_destroy(co), CORO_OK);
    }
}

/* The case, made deterministic: two coroutines on adjacent stacks
 * of one arena (slot 0 below slot 1), so the neighbour's control block sits
 * at the top of the slot right below the writer's stack (and its guard,
 * when the arena has one). The writer takes an alloca frame reaching past
 * its stack's bottom, beyond any guard, and fills the part of it that lies
 * over the neighbour's block, as a large local array's initialisation
 * would. */
static coro *neighbour;
static coro *writer;
static size_t block_span; /* from a block to its stack's top */
static int writer_saw[4];

/* A build whose compiler probes large frames by default would fault in the
 * guard here, which is what the README recommends, but not this case. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-stack-clash-protection")))
#endif
static void *overflowing_writer(void *value)
{
    (void)value;
    volatile char marker = 0;
    /* From a little below the neighbour's block up to this frame (its
     * address, not a local's: ASan's detect_stack_use_after_return keeps
     * locals on a fake stack elsewhere). */
    size_t reach = (size_t)((const char *)__builtin_frame_address(0) - ((const char *)neighbour - 256));
    char *frame = __builtin_alloca(reach);
    memset(frame + ((char *)neighbour - frame), 'X', block_span);
    __asm__ volatile("" : : "r"(frame) : "memory");
    writer_saw[0] = coro_resume(neighbour, NULL, NULL);
    writer_saw[1] = coro_transfer(neighbour, NULL, NULL);
    writer_saw[2] = coro_destroy(neighbour);
    writer_saw[3] = marker;
    return V(5);
}

static void neighbour_overwritten(size_t guard_size)
{
    /* Every stack's top is page-aligned, so every block lies as far below
     * it as this one below a 64-byte-aligned caller stack's top. */
    coro *probe;
    struct coro_options probe_opts = {.stack = victim_memory, .stack_size = sizeof victim_memory};
    assert_int_equal(coro_create(&probe, return_value, &probe_opts), CORO_OK);
    block_span = block_bytes(probe);
    assert_int_equal(coro_destroy(probe), CORO_OK);

    coro_arena *arena;
    assert_int_equal(coro_arena_create(&arena, 2, 16 * 1024, guard_size), CORO_OK);
    struct coro_options opts = {.arena = arena, .name = "neighbour"};
    assert_int_equal(coro_create(&neighbour, yield_then_return, &opts), CORO_OK);
    opts.name = "writer";
    assert_int_equal(coro_create(&writer, overflowing_writer, &opts), CORO_OK);
    assert_true((uintptr_t)writer > (uintptr_t)neighbour);
    /* The block and the first frame just below it (arch.h), to put back at
     * the end. Nothing lower: that is below the neighbour's stack pointer,
     * which valgrind holds no one may write. */
    static unsigned char saved[1024];
    unsigned char *around = (unsigned char *)neighbour - CORO_ARCH_FRAME_SIZE;
    size_t saved_size = CORO_ARCH_FRAME_SIZE + block_span;
    assert_true(saved_size <= sizeof saved);
    memcpy(saved, around, saved_size);

    void *out = NULL;
    assert_int_equal(coro_resume(writer, NULL, &out), CORO_OK);
    assert_int_equal(N(out), 5);
    assert_int_equal(writer_saw[0], CORO_ECORRUPT);
    assert_int_equal(writer_saw[1], CORO_ECORRUPT);
    assert_int_equal(writer_saw[2], CORO_ECORRUPT);
    assert_int_equal(coro_name(neighbour)[0], 'X'); /* it really was overwritten */

    assert_int_equal(coro_resume(neighbour, NULL, NULL), CORO_ECORRUPT);
    assert_int_equal(coro_transfer(neighbour, NULL, NULL), CORO_ECORRUPT);
    assert_int_equal(coro_destroy(neighbour), CORO_ECORRUPT);
    /* The neighbour's stack cannot be given back while it is overwritten. */
    assert_int_equal(coro_arena_destroy(arena), CORO_EBUSY);

    /* Nothing changed it meanwhile: with its bytes back it runs. (The
     * writer goes only now: its destroy updates the neighbour's link in the
     * registry, which the bytes put back would undo.) */
    memcpy(around, saved, saved_size);
    assert_int_equal(coro_destroy(writer), CORO_OK);
    assert_int_equal(coro_resume(neighbour, V(3), &out), CORO_OK);
    assert_int_equal(N(out), 4);
    assert_int_equal(coro_destroy(neighbour), CORO_OK);
    assert_int_equal(coro_arena_destroy(arena), CORO_OK);
}

/* The layout: each stack above an explicit small guard, the
 * neighbour's block right below the writer's guard. */
static inline void test_neighbour_below_a_small_guard_overwritten(void **state)
{
    (void)state;
    neighbour_overwritten(4096);
}

static void test_unguarded_neighbour_overwritten(void **state)
{
    (void)state;
    neighbour_overwritten(CORO_NO_GUARD);
}

/* Yield to a resumer whose block was overwritten: refused, the coroutine
 * stays running; with the bytes put back, the yield goes through. Filled
 * with 'X's, and with one bit of a sealed word flipped (which no other test
 * of the yield notices). */
static coro *upper, *lower;
static int yield_results[4];

static void *scribble_on_resumer(void *value)
{
    (void)value;
    static unsigned char saved[1024];
    size_t size = (size_t)(victim_memory + sizeof victim_memory - (unsigned char *)lower);
    memcpy(saved, lower, size);
    memset(lower, 'X', size);
    yield_results[0] = coro_yield(V(1), NULL);
    yield_results[1] = coro_status(upper) == CORO_RUNNING && coro_running() == upper;
    yield_results[2] = coro_yield_with(V(1), NULL, count_hook, NULL);
    memcpy(lower, saved, size);
    ((unsigned char *)lower)[ENTRY_OFFSET] ^= 0x10;
    yield_results[3] = coro_yield(V(1), NULL);
    memcpy(lower, saved, size);
    coro_yield(V(2), NULL);
    return V(3);
}

static void *resume_upper(void *value)
{
    (void)value;
    void *out = NULL;
    if (coro_resume(upper, NULL, &out) != CORO_OK)
        return V(100);
    return out;
}

static void test_yield_to_an_overwritten_resumer(void **state)
{
    (void)state;
    struct coro_options opts = {.stack = victim_memory, .stack_size = sizeof victim_memory};
    assert_int_equal(coro_create(&lower, resume_upper, &opts), CORO_OK);
    opts.stack = other_memory;
    opts.stack_size = sizeof other_memory;
    assert_int_equal(coro_create(&upper, scribble_on_resumer, &opts), CORO_OK);
    void *out = NULL;
    assert_int_equal(coro_resume(lower, NULL, &out), CORO_OK);
    assert_int_equal(N(out), 2);
    assert_int_equal(yield_results[0], CORO_ECORRUPT);
    assert_int_equal(yield_results[1], 1);
    assert_int_equal(yield_results[2], CORO_ECORRUPT);
    assert_int_equal(yield_results[3], CORO_ECORRUPT);
    assert_int_equal(hook_runs, 0);
    assert_int_equal(coro_resume(upper, NULL, &out), CORO_OK);
    assert_int_equal(N(out), 3);
    assert_int_equal(coro_destroy(upper), CORO_OK);
    assert_int_equal(coro_destroy(lower), CORO_OK);
}

/* A running coroutine (and a normal one's resumer chain) overwritten to
 * read as suspended: it keeps no stack pointer while running. */
static void *scribble_on_itself(void *value)
{
    (void)value;
    coro *self = coro_running();
    static unsigned char saved[1024];
    size_t size = block_bytes(self);
    memcpy(saved, self, size);
    unsigned char *bytes = (unsigned char *)self;
    __asm__("" : "+r"(bytes)); /* an opaque type's bytes: keep GCC from bounding them at 0 */
    memset(bytes + STATUS_OFFSET, 0, sizeof(int)); /* reads as suspended */
    int results[2] = {coro_resume(self, NULL, NULL), coro_transfer(self, NULL, NULL)};
    memcpy(self, saved, size);
    return V(results[0] == CORO_ECORRUPT && results[1] == CORO_ECORRUPT);
}

static void test_running_block_overwritten_to_suspended(void **state)
{
    (void)state;
    coro *co;
    struct coro_options opts = {.stack = victim_memory, .stack_size = sizeof victim_memory};
    assert_int_equal(coro_create(&co, scribble_on_itself, &opts), CORO_OK);
    void *out = NULL;
    assert_int_equal(coro_resume(co, NULL, &out), CORO_OK);
    assert_int_equal(N(out), 1);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* The stack's mapping and owner are used by destroy alone, which checks
 * them: a caller's stack that came to look mapped is not unmapped. */
static void test_overwritten_mapping_is_not_freed(void **state)
{
    (void)state;
    coro *co;
    struct coro_options opts = {.stack = victim_memory, .stack_size = sizeof victim_memory};
    assert_int_equal(coro_create(&co, yield_then_return, &opts), CORO_OK);
    unsigned char *bytes = (unsigned char *)co;
    void *saved;
    memcpy(&saved, bytes + MAPPING_OFFSET, sizeof saved);
    assert_null(saved); /* the layout above holds: a caller's stack has no mapping */
    void *bogus = other_memory;
    memcpy(bytes + MAPPING_OFFSET, &bogus, sizeof bogus);
    assert_int_equal(coro_destroy(co), CORO_ECORRUPT);
    memcpy(bytes + MAPPING_OFFSET, &saved, sizeof saved);
    void *out = NULL;
    assert_int_equal(coro_resume(co, V(1), &out), CORO_OK);
    assert_ptr_equal(out, V(2));
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* The thread's own context, suspended in a transfer, with its saved stack
 * pointer lost: the transfer back is refused until it is put back. */
static void *lose_the_threads_stack_pointer(void *value)
{
    (void)value;
    coro *thread = coro_thread();
    void *saved;
    memcpy(&saved, thread, sizeof saved);
    memset(thread, 0, sizeof saved);
    int refused = coro_transfer(thread, NULL, NULL) == CORO_ECORRUPT;
    memcpy(thread, &saved, sizeof saved);
    coro_transfer(thread, V(refused), NULL);
    return NULL;
}

static void test_thread_context_without_stack_pointer(void **state)
{
    (void)state;
    coro *co;
    struct coro_options opts = {.stack = victim_memory, .stack_size = sizeof victim_memory};
    assert_int_equal(coro_create(&co, lose_the_threads_stack_pointer, &opts), CORO_OK);
    void *out = NULL;
    assert_int_equal(coro_transfer(co, NULL, &out), CORO_OK);
    assert_ptr_equal(out, V(1));
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* The same on the way back by yield: the thread resumed the coroutine and
 * waits in that resume. */
static void *lose_it_then_yield(void *value)
{
    (void)value;
    coro *thread = coro_thread();
    void *saved;
    memcpy(&saved, thread, sizeof saved);
    memset(thread, 0, sizeof saved);
    int refused = coro_yield(NULL, NULL) == CORO_ECORRUPT;
    memcpy(thread, &saved, sizeof saved);
    coro_yield(V(refused), NULL);
    return NULL;
}

static void test_yield_to_thread_without_stack_pointer(void **state)
{
    (void)state;
    coro *co;
    struct coro_options opts = {.stack = victim_memory, .stack_size = sizeof victim_memory};
    assert_int_equal(coro_create(&co, lose_it_then_yield, &opts), CORO_OK);
    void *out = NULL;
    assert_int_equal(coro_resume(co, NULL, &out), CORO_OK);
    assert_ptr_equal(out, V(1));
    assert_int_equal(coro_resume(co, NULL, NULL), CORO_OK);
    assert_int_equal(coro_status(co), CORO_DEAD);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* The seals are made over a key of this process, not over nothing: a
 * create leaves it made, and every later use gets the same one. */
static void test_seal_key_made_by_create(void **state)
{
    (void)state;
    coro *co;
    assert_int_equal(coro_create(&co, return_value, NULL), CORO_OK);
    uintptr_t key = coro_check_key();
    assert_true(key != 0);
    assert_true(coro_check_key_make() == key);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* ---- every result has its own, exact text ---- */

static void test_every_strerror_text(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *text;
    } texts[] = {
        {CORO_OK, "success"},
        {CORO_EINVAL, "invalid argument"},
        {CORO_EDEAD, "cannot resume dead coroutine"},
        {CORO_ERUNNING, "cannot resume running coroutine"},
        {CORO_ENORMAL, "cannot resume coroutine that is waiting for another (normal)"},
        {CORO_EOUTSIDE, "attempt to yield from outside a coroutine"},
        {CORO_ETHREAD, "a thread's own context cannot be resumed, destroyed or entered from another thread"},
        {CORO_ESTACK, "stack smaller than CORO_STACK_MIN"},
        {CORO_ENOMEM, "out of memory or address space, or the kernel refused another mapping (before Linux 6.13, "
                      "or with LIBCORO_GUARD=mprotect, each guarded stack takes two; Linux allows vm.max_map_count, "
                      "65530 by default, about 32,000 guarded coroutines): raise vm.max_map_count, or use unguarded "
                      "stacks (a coro_arena with CORO_NO_GUARD, or caller-supplied stacks)"},
        {CORO_EBUSY, "arena still holds live coroutines, or called from inside a coro_visit() callback"},
        {CORO_ECANCELED, "the coroutine is being cancelled"},
        {CORO_ECORRUPT, "the coroutine's control block was overwritten (a stack overflow from below?)"},
        {-1, "unknown libcoro result"},
        {CORO_ECORRUPT + 1, "unknown libcoro result"},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        assert_string_equal(coro_strerror(texts[i].code), texts[i].text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caller_stack_that_wraps_writes_nothing),
        cmocka_unit_test(test_caller_stack_near_the_top_of_the_address_space),
        cmocka_unit_test(test_misaligned_caller_stacks),
        cmocka_unit_test(test_every_combination_of_options),
        cmocka_unit_test(test_overwritten_suspended_block),
        cmocka_unit_test(test_dead_block_overwritten_to_suspended),
#if !defined(_WIN32) /* there every large frame is probed (__chkstk): it faults in the guard */
        cmocka_unit_test(test_neighbour_below_a_small_guard_overwritten),
#endif
        cmocka_unit_test(test_unguarded_neighbour_overwritten),
        cmocka_unit_test(test_yield_to_an_overwritten_resumer),
        cmocka_unit_test(test_running_block_overwritten_to_suspended),
        cmocka_unit_test(test_overwritten_mapping_is_not_freed),
        cmocka_unit_test(test_thread_context_without_stack_pointer),
        cmocka_unit_test(test_yield_to_thread_without_stack_pointer),
        cmocka_unit_test(test_seal_key_made_by_create),
        cmocka_unit_test(test_every_strerror_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
