/*
 * The portable core: coroutine states, the resume/yield/transfer rules and
 * the values passed, on top of the two-function arch contract (arch.h) and
 * the stack allocator (stack.h).
 *
 * Invariant (per thread): the RUNNING context and the NORMAL ones form one
 * chain, running -> resumer -> resumer ... ; resume pushes onto it, yield and
 * return pop it, transfer replaces its head. Only the chain's last context
 * has no resumer; when that one is a coroutine, the thread's own context is
 * off the chain (SUSPENDED in a transfer), and a yield or return with no
 * resumer goes back to it.
 */
#include "coro.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arch.h"
#include "compiler.h"
#include "cxx_eh.h"
#include "integrity.h"
#include "overflow.h"
#include "pool.h"
#include "registry.h"
#include "stack.h"

#if defined(CORO_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(CORO_TSAN)
#include <sanitizer/tsan_interface.h>
#endif
#if defined(CORO_HAVE_VALGRIND)
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#endif

enum coro_kind {
    KIND_THREAD,        /* a thread's own context: never created, never freed */
    KIND_MAPPED_STACK,  /* the library mapped the stack (or took it from the pool) */
    KIND_ARENA_STACK,   /* the stack belongs to an arena */
    KIND_CALLER_STACK,  /* the caller owns the stack memory */
    /* Below KIND_THREAD, so that the one test coro_yield() makes for a
     * thread's own context also catches these (see "Cancel" below). */
    KIND_CANCELLED = -1, /* unwinding after coro_cancel(); kind_before_cancel holds the stack's kind */
    KIND_HOOK = -2      /* the context a hand-off hook runs as (see "Hand-off hook" below) */
};

/* Lives at the top of its coroutine's stack (no separate allocation), or in
 * thread-local storage for a thread's own context. */
struct coro {
    void *sp;               /* saved stack pointer while not running */
    void **inbox;           /* while suspended: where the value that wakes it goes (NULL: nowhere) */
    struct coro *resumer;   /* where yield and return go; NULL: the thread's own context */
    enum coro_status status;
    enum coro_kind kind;
    coro_entry entry;
    uintptr_t seal;         /* over the fields that never change after create: see seal_of() */
    struct coro_cxx_eh_context cxx_eh; /* its C++ exception globals while switched out (cxx_eh.h) */
    struct coro_stack stack;
    void *first_value;      /* the inbox of a coroutine that has not started */
    void *user_data;
    coro_arena *arena;      /* KIND_ARENA_STACK: where the stack goes back */
    size_t stack_size;      /* usable bytes asked for, as the overflow report quotes them */
#if defined(CORO_ASAN)
    void *asan_fake_stack;  /* ASan's fake frames of this context while it is switched out */
#endif
#if defined(CORO_TSAN)
    void *tsan_fiber;
#endif
#if defined(CORO_HAVE_VALGRIND)
    unsigned valgrind_stack_id;
#endif
    char name[CORO_NAME_MAX];
    enum coro_kind kind_before_cancel; /* while kind is KIND_CANCELLED */
    unsigned char cancelled;            /* coro_cancel() has stopped it */
    struct coro_registry_link registry; /* in the registry of live coroutines (registry.h) */
    uintptr_t stack_seal;   /* over the stack's mapping and owner, which destroy uses */
};

_Static_assert(offsetof(struct coro, sp) == 0, "arch.h: a context's saved stack pointer comes first");
_Static_assert(offsetof(struct coro, resumer) == CORO_ARCH_RESUMER_OFFSET, "arch.h: CORO_ARCH_RESUMER_OFFSET");
/* The fields every switch into a block reads share its first two cache
 * lines (blocks are 64-byte aligned). */
_Static_assert(offsetof(struct coro, stack) + offsetof(struct coro_stack, bottom) + sizeof(void *) <= 128,
               "the switch path's fields come first");

struct thread_state {
    struct coro *running;   /* NULL until the thread first uses libcoro */
    struct coro self;       /* the thread's own context */
#if defined(CORO_ASAN)
    struct coro *switching_from; /* the context that started the switch in progress */
#endif
    /* The C++ runtime's exception globals for this thread; before
     * thread_init(), and in a program without a C++ runtime, the empty
     * globals below, so that a switch can look at them unconditionally. */
    struct coro_cxx_eh_globals *cxx_eh_globals;
};

/* Nothing is ever caught in these, so nothing is ever handed over through
 * them, and nothing writes them (coro_cxx_eh_hand_over() runs only when
 * something was caught or is in flight). */
static struct coro_cxx_eh_globals no_cxx_runtime;

static THREAD_LOCAL struct thread_state this_thread_state = {.cxx_eh_globals = &no_cxx_runtime};

/* The calling thread's state. Code that runs after a switch or after an
 * entry returns may be on another thread than before, so it must not reuse
 * an address computed earlier: it calls this_thread_after_switch(), which
 * the compiler cannot see through. Code before its first switch uses the
 * inlined this_thread(). */
static inline struct thread_state *this_thread(void)
{
    return &this_thread_state;
}

static NOINLINE struct thread_state *this_thread_after_switch(void)
{
    struct thread_state *t = &this_thread_state;
#if defined(__GNUC__)
    /* noinline alone is not enough: GCC and clang find that the function
     * has no side effects and merge two calls in one caller (in a sanitizer
     * build coro_start calls it on both sides of the entry, which may move
     * threads). The empty asm costs no instruction. */
    __asm__ volatile("" : "+r"(t));
#endif
    return t;
}

/* The seal of a control block (integrity.h): its address, its kind and
 * its entry and stack bottom. These are what a switch into the block relies
 * on besides the saved stack pointer, which is checked against them. A
 * thread's own context has neither entry nor stack bottom (until ASan tells
 * its stack's bounds, sanitizer_switch_finish, which reseals it): they are
 * sealed as NULL. The stack's mapping and arena, which only destroy uses,
 * have a seal of their own, so that the switch path mixes four words.
 *
 * (The status, which changes on every switch, is not sealed. Reading it
 * together with the kind as one 8-byte word cost more than it saved: the
 * 4-byte store of the status just before cannot forward to a wider load.) */
static inline uintptr_t seal_of(const struct coro *co, uintptr_t key)
{
    return coro_check_seal(key, (uintptr_t)co, (uintptr_t)co->kind, (uintptr_t)co->entry,
                           (uintptr_t)co->stack.bottom);
}

static inline uintptr_t stack_seal_of(const struct coro *co, uintptr_t key)
{
    return coro_check_seal(key, (uintptr_t)co->stack.mapping, co->stack.mapping_size, (uintptr_t)co->stack.top,
                           (uintptr_t)co->arena);
}

/* Inline, so that create seals the fields from the registers it has just
 * written them from. */
static inline void seal_block_with(struct coro *co, uintptr_t key)
{
    co->seal = seal_of(co, key);
    co->stack_seal = stack_seal_of(co, key);
}

static inline void seal_block(struct coro *co)
{
    seal_block_with(co, coro_check_key_make());
}

/* After the library itself changes a sealed field: the kind, which cancel
 * sets to KIND_CANCELLED while a coroutine unwinds and back when it ends. */
static void reseal(struct coro *co)
{
    co->seal = seal_of(co, coro_check_key());
}

/* Whether co's control block is as the library left it, as far as a
 * switch into it can tell: the seal holds, the status is one of the four,
 * and a switched-out context's (suspended, or waiting in a resume) saved
 * stack pointer lies within its stack (a running or dead context keeps
 * none: switch_to and coro_start clear it).
 * A thread's own context lives in thread-local storage, not on a stack: its
 * stack pointer can only be checked for presence. */
static inline int block_intact(const struct coro *co)
{
    if (UNLIKELY(co->seal != seal_of(co, coro_check_key())))
        return 0;
    if (LIKELY(co->status == CORO_SUSPENDED || co->status == CORO_NORMAL)) {
        uintptr_t sp = (uintptr_t)co->sp;
        if (co->kind == KIND_THREAD)
            return sp != 0;
        return sp > (uintptr_t)co->stack.bottom && sp < (uintptr_t)co;
    }
    return (unsigned)co->status <= CORO_DEAD;
}

/* The error for acting on a context that is not suspended. */
static int not_suspended(const struct coro *co)
{
    switch (co->status) {
    case CORO_DEAD: return CORO_EDEAD;
    case CORO_RUNNING: return CORO_ERUNNING;
    case CORO_NORMAL: return CORO_ENORMAL;
    case CORO_SUSPENDED: break;
    }
    return CORO_OK;
}

/* What a switch into a coroutine needs, on the fast paths: co is intact
 * (block_intact(), with its status known: CORO_SUSPENDED for a resume or a
 * transfer, CORO_NORMAL for a yield back to it) and no thread's own
 * context. The careful paths tell which failed. */
static inline int coroutine_intact(const struct coro *co, enum coro_status status)
{
    uintptr_t sp = (uintptr_t)co->sp;
    uintptr_t bottom = (uintptr_t)co->stack.bottom;
    return co->seal == seal_of(co, coro_check_key()) && co->status == status && co->kind != KIND_THREAD &&
           sp > bottom && sp < (uintptr_t)co;
}

static inline int resumable(const struct coro *co)
{
    return coroutine_intact(co, CORO_SUSPENDED);
}

static NOINLINE void thread_init(struct thread_state *t)
{
    t->self.status = CORO_RUNNING;
    t->self.kind = KIND_THREAD;
    memcpy(t->self.name, "thread", sizeof "thread");
    seal_block(&t->self);
#if defined(CORO_TSAN)
    t->self.tsan_fiber = __tsan_get_current_fiber();
#endif
    struct coro_cxx_eh_globals *runtime_globals = coro_cxx_eh_thread_globals();
    if (runtime_globals != NULL)
        t->cxx_eh_globals = runtime_globals;
    t->running = &t->self;
}

/* The running context, making the thread's own context exist on first use. */
static inline struct coro *running_on(struct thread_state *t)
{
    if (UNLIKELY(t->running == NULL))
        thread_init(t);
    return t->running;
}

/*
 * Sanitizer and valgrind hooks. Each is empty unless the compiler says a
 * sanitizer is on (or valgrind's header was found), so in a normal build the
 * switch compiles exactly as without them.
 *
 * sanitizer_stack_created/destroyed bracket the life of one stack under one
 * coroutine: a stack reused for another coroutine (a pool) must pass through
 * destroyed, then created again.
 */
static inline void sanitizer_stack_created(struct coro *co)
{
#if defined(CORO_HAVE_VALGRIND)
    /* Without this valgrind takes every switch for a huge stack-pointer
     * move ("client switching stacks?") and checks frames against the wrong stack. */
    co->valgrind_stack_id = VALGRIND_STACK_REGISTER(co->stack.bottom, co->stack.top);
#endif
    (void)co;
}

#if defined(CORO_ASAN)
/* With detect_stack_use_after_return, ASan keeps the frames that have
 * addressable locals on a fake stack, one per context, and the switch
 * saves a suspended coroutine's in asan_fake_stack. A coroutine that ended
 * freed its own at its last switch; one destroyed while suspended still
 * holds it, megabytes of address space. The public interface frees a fake
 * stack only when its context leaves for good (start_switch_fiber with
 * NULL), so the destroying context enters the dying one in ASan's books
 * alone, without moving the stack pointer: it saves its own fake stack,
 * adopts the dying one's, leaves it for good, and takes its own back. The
 * stack bounds ASan reports at the first finish are the caller's own. */
static void asan_release_fake_stack(struct coro *co)
{
    if (co->status == CORO_DEAD || co->asan_fake_stack == NULL)
        return;
    void *own_fake_stack;
    const void *own_bottom;
    size_t own_size;
    __sanitizer_start_switch_fiber(&own_fake_stack, co->stack.bottom,
                                   (size_t)((char *)co->stack.top - (char *)co->stack.bottom));
    __sanitizer_finish_switch_fiber(co->asan_fake_stack, &own_bottom, &own_size);
    __sanitizer_start_switch_fiber(NULL, own_bottom, own_size);
    __sanitizer_finish_switch_fiber(own_fake_stack, NULL, NULL);
    co->asan_fake_stack = NULL;
}
#endif

static inline void sanitizer_stack_destroyed(struct coro *co)
{
#if defined(CORO_ASAN)
    asan_release_fake_stack(co);
    /* Frames that never returned (a coroutine destroyed while suspended,
     * and coro_start in every coroutine) leave poisoned redzones in the
     * shadow; the next stack mapped at this address must start clean. */
    ASAN_UNPOISON_MEMORY_REGION(co->stack.bottom, (size_t)((char *)co->stack.top - (char *)co->stack.bottom));
#endif
#if defined(CORO_TSAN)
    if (co->tsan_fiber != NULL)
        __tsan_destroy_fiber(co->tsan_fiber);
    co->tsan_fiber = NULL;
#endif
#if defined(CORO_HAVE_VALGRIND)
    VALGRIND_STACK_DEREGISTER(co->valgrind_stack_id);
#endif
    (void)co;
}

/* Right before the stack pointer moves from `from` to `to`. A context that
 * will never run again (from_ends) lets ASan free its fake frames. Always
 * inlined: TSan counts function entries and exits per fiber, and this
 * function's own exit would be counted on `to` after the fiber switch. */
static ALWAYS_INLINE void sanitizer_switch_start(struct thread_state *t, struct coro *from, struct coro *to, int from_ends)
{
#if defined(CORO_ASAN)
    t->switching_from = from;
    __sanitizer_start_switch_fiber(from_ends ? NULL : &from->asan_fake_stack, to->stack.bottom,
                                   (size_t)((char *)to->stack.top - (char *)to->stack.bottom));
#endif
#if defined(CORO_TSAN)
    /* A TSan fiber keeps about 830 KiB resident: made at the first switch,
     * so coroutines created and never run cost nothing. */
    if (to->tsan_fiber == NULL) {
        to->tsan_fiber = __tsan_create_fiber(0);
        __tsan_set_fiber_name(to->tsan_fiber, to->name[0] != '\0' ? to->name : "coroutine");
    }
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
    (void)t, (void)from, (void)to, (void)from_ends;
}

/* First thing once `self` runs again, or for the first time. Possibly on
 * another thread than the switch started from, so it looks the thread up. */
static inline void sanitizer_switch_finish(struct coro *self)
{
#if defined(CORO_ASAN)
    const void *from_bottom;
    size_t from_size;
    __sanitizer_finish_switch_fiber(self->asan_fake_stack, &from_bottom, &from_size);
    /* Only ASan knows the bounds of the thread's own stack; it tells them
     * when a switch leaves that stack, and they are needed to switch back. */
    struct thread_state *t = this_thread_after_switch();
    struct coro *from = t->switching_from;
    if (from == &t->self && from->stack.bottom == NULL) {
        from->stack.bottom = (void *)(uintptr_t)from_bottom;
        from->stack.top = (char *)from->stack.bottom + from_size;
        reseal(from);
    }
#endif
    (void)self;
}

/*
 * The C++ runtime's exception globals (cxx_eh.h) change hands at the stack
 * switch, the one point every switch passes. Nearly always there is nothing
 * to hand over, which coro_cxx_eh_busy() tells with loads and one branch;
 * the rare switch that has something to hand over continues out of line
 * and still ends in a tail call to the arch switch.
 */
#if !defined(CORO_ASAN) && !defined(CORO_TSAN)
static NOINLINE int switch_handing_over_cxx_eh(struct thread_state *t, struct coro *from, struct coro *to,
                                               void *load_sp, intptr_t result)
{
    coro_cxx_eh_hand_over(t->cxx_eh_globals, &from->cxx_eh, &to->cxx_eh);
    return coro_arch_switch_result(&from->sp, load_sp, result);
}
#endif

/* Saves the running stack into `from` and continues `to`, which the caller
 * has made the thread's running context, at load_sp: its own saved stack
 * pointer, or a frame built on its stack (the hand-off hook's). */
static ALWAYS_INLINE int switch_stacks(struct thread_state *t, struct coro *from, struct coro *to, void *load_sp,
                                       intptr_t result)
{
    if (UNLIKELY(coro_cxx_eh_busy(t->cxx_eh_globals, &to->cxx_eh) != 0)) {
#if defined(CORO_ASAN) || defined(CORO_TSAN)
        /* No function of the core may be entered between the sanitizer's
         * fiber switch and the stack switch and left after it (TSan would
         * count its exit on the wrong fiber): hand over in place. */
        coro_cxx_eh_hand_over(t->cxx_eh_globals, &from->cxx_eh, &to->cxx_eh);
#else
        return switch_handing_over_cxx_eh(t, from, to, load_sp, result);
#endif
    }
    return coro_arch_switch_result(&from->sp, load_sp, result);
}

/* Makes `to` the running context, hands it the value, and returns the stack
 * pointer to switch to. The caller has already set `from`'s new status and
 * both resumer links.
 *
 * The value travels outside the switch: it is stored where `to` waits for it
 * (its inbox), and `from` leaves the address where it wants its own. The
 * switch itself carries only CORO_OK, which becomes the return value of the
 * resume, yield or transfer that `to` is suspended in. So nothing is left to
 * do after the switch, the compiler makes it a tail call (in builds without
 * sanitizer hooks), and the switched-to context returns straight into its
 * caller's code: every return then matches the processor's return-address
 * predictor. Calling the switch and returning from coro_resume afterwards
 * would mispredict one return per switch, on the other stack. */
static ALWAYS_INLINE void *make_running(struct thread_state *t, struct coro *from, struct coro *to, void *value,
                                        void **inbox)
{
    /* Read first: the stores below may alias it for all the compiler
     * knows, and the switch waits for this load. */
    void *to_sp = to->sp;
    to->status = CORO_RUNNING;
    t->running = to;
    if (to->inbox != NULL)
        *to->inbox = value;
    from->inbox = inbox;
    /* A running context keeps no stack pointer, so that a status
     * overwritten to read as suspended fails block_intact(). */
    to->sp = NULL;
    return to_sp;
}

/* make_running(), then the switch, handing over the C++ exception state. */
static inline int switch_to(struct thread_state *t, struct coro *from, struct coro *to, void *value, void **inbox)
{
    void *to_sp = make_running(t, from, to, value, inbox);
    sanitizer_switch_start(t, from, to, 0);
    int result = switch_stacks(t, from, to, to_sp, CORO_OK);
    sanitizer_switch_finish(from);
    return result;
}

/* switch_to() for a caller that has found nothing to hand over
 * (coro_cxx_eh_busy()) among its other tests. */
static ALWAYS_INLINE int switch_to_idle(struct thread_state *t, struct coro *from, struct coro *to, void *value,
                                        void **inbox)
{
    void *to_sp = make_running(t, from, to, value, inbox);
    sanitizer_switch_start(t, from, to, 0);
    int result = coro_arch_switch_result(&from->sp, to_sp, CORO_OK);
    sanitizer_switch_finish(from);
    return result;
}

/* Every coroutine starts here, on its own stack, and never returns: when the
 * entry has returned, control leaves for good the way a yield would leave,
 * except that the sanitizers hear that this context ends. */
static NORETURN void coro_start(void *ignored, void *arg)
{
    struct coro *self = arg;
    (void)ignored;
    sanitizer_switch_finish(self);
    void *result = self->entry(self->first_value);

    struct thread_state *t = this_thread_after_switch();
    if (UNLIKELY(self->kind == KIND_CANCELLED)) {
        self->kind = self->kind_before_cancel;
        reseal(self);
    }
    struct coro *to = self->resumer != NULL ? self->resumer : &t->self;
    self->resumer = NULL;
    self->status = CORO_DEAD;
    to->status = CORO_RUNNING;
    t->running = to;
    if (to->inbox != NULL)
        *to->inbox = result;
    void *to_sp = to->sp;
    to->sp = NULL;
    sanitizer_switch_start(t, self, to, 1);
    /* A dead context keeps no stack pointer either: its own was cleared
     * when it last started running (switch_to), and the one it leaves with
     * goes nowhere. */
    void *dead_sp;
    /* So the C++ exception state is handed over here by hand, as
     * switch_stacks() does for a context that keeps its stack pointer. */
    if (coro_cxx_eh_busy(t->cxx_eh_globals, &to->cxx_eh) != 0)
        coro_cxx_eh_hand_over(t->cxx_eh_globals, &self->cxx_eh, &to->cxx_eh);
    coro_arch_switch(&dead_sp, to_sp, NULL);
#if defined(__GNUC__)
    __builtin_trap();
#endif
    for (;;) {
    }
}

/* The control block takes the top of the stack; the first frame goes right
 * below it. Both need room on top of what the entry may use. */
#define STACK_OVERHEAD (((sizeof(struct coro) + 63) & ~(size_t)63) + CORO_ARCH_FRAME_SIZE)

/* The guard bytes that a guard_size option asks for. */
static size_t guard_bytes(size_t guard_size)
{
    if (guard_size == CORO_NO_GUARD)
        return 0;
    size_t guard = guard_size == 0 ? CORO_GUARD_DEFAULT : guard_size;
#if defined(_WIN32)
    /* The room an overflow is reported in (stack.h). A sum that does not
     * fit becomes a size coro_stack_round() refuses. */
    guard = SIZE_MAX - guard >= CORO_STACK_DISPATCH_RESERVE ? guard + CORO_STACK_DISPATCH_RESERVE : SIZE_MAX;
#endif
    return guard;
}

int coro_arena_create(coro_arena **out, size_t count, size_t stack_size, size_t guard_size)
{
    if (out == NULL || count == 0)
        return CORO_EINVAL;
    size_t usable = stack_size != 0 ? stack_size : CORO_STACK_DEFAULT;
    if (usable < CORO_STACK_MIN)
        return CORO_ESTACK;
    if (usable > SIZE_MAX - STACK_OVERHEAD)
        return CORO_ENOMEM;
    return coro_stack_arena_new(out, count, usable + STACK_OVERHEAD, guard_bytes(guard_size));
}

int coro_create(coro **out, coro_entry entry, const struct coro_options *opts)
{
    static const struct coro_options defaults;
    if (out == NULL || entry == NULL)
        return CORO_EINVAL;
    if (UNLIKELY(coro_registry_walking()))
        return CORO_EBUSY;
    if (opts == NULL)
        opts = &defaults;
    /* Here rather than in thread_init(): a call out of thread_init() would
     * make the compiler save registers around it on every resume. */
    if (coro_overflow_wanted()) {
        int prepared = coro_overflow_thread_prepare();
        if (prepared != CORO_OK)
            return prepared;
    }

    int invalid = coro_check_options(opts, sizeof(struct coro));
    if (invalid != CORO_OK)
        return invalid;
    size_t usable = opts->stack_size != 0 ? opts->stack_size : CORO_STACK_DEFAULT;
    size_t overhead = STACK_OVERHEAD;

    struct coro_stack stack;
    enum coro_kind kind;
    if (opts->arena != NULL) {
        int result = coro_stack_arena_get(opts->arena, &stack);
        if (result != CORO_OK)
            return result;
        kind = KIND_ARENA_STACK;
    } else if (opts->stack != NULL) {
        stack.mapping = NULL;
        stack.mapping_size = 0;
        stack.bottom = opts->stack;
        stack.top = (char *)opts->stack + opts->stack_size;
        kind = KIND_CALLER_STACK;
    } else {
        if (usable > SIZE_MAX - overhead)
            return CORO_ENOMEM;
        int result = coro_stack_pool_get(&stack, usable + overhead, guard_bytes(opts->guard_size));
        if (result != CORO_OK)
            return result;
        kind = KIND_MAPPED_STACK;
    }

    /* Before the block is written: the call that makes the key, on the
     * first create, would otherwise make the compiler read the fields it
     * seals back from the block. */
    uintptr_t key = coro_check_key_make();
    uintptr_t block = ((uintptr_t)stack.top - sizeof(struct coro)) & ~(uintptr_t)63;
    struct coro *co = (struct coro *)block;
    /* Every field set one by one, not memset: clearing the whole block
     * (name included) costs a string store that takes longer to start than
     * the rest of a pooled create. */
    co->inbox = &co->first_value;
    co->resumer = NULL;
    co->status = CORO_SUSPENDED;
    co->kind = kind;
    co->entry = entry;
    co->first_value = NULL;
    co->user_data = opts->user_data;
    /* Field by field, not as one struct: GCC and clang copy a struct 16
     * bytes at a time, and a 16-byte load of what the pool has just
     * written 8 bytes at a time cannot be served from the store buffer. It
     * waits for those stores to reach the cache, and the lock that
     * coro_registry_join() takes below waits for it: about 2 ns of a
     * pooled create and destroy. */
    co->stack.mapping = stack.mapping;
    co->stack.mapping_size = stack.mapping_size;
    co->stack.bottom = stack.bottom;
    co->stack.top = co;
    co->arena = opts->arena;
    co->cancelled = 0;
    /* An arena's coroutines ask for no size: its slots set it. */
    co->stack_size = kind == KIND_ARENA_STACK ? (size_t)((char *)stack.top - (char *)stack.bottom) - overhead : usable;
    /* Right after the sealed fields are written, while they are still in
     * registers: after a call (strlen, the sanitizer hooks, coro_arch_make)
     * the compiler would read them back from the block, where they were
     * stored an instant ago, and the registry's lock would wait for those
     * loads too (about 2 ns more). */
    seal_block_with(co, key);
#if defined(CORO_ASAN)
    co->asan_fake_stack = NULL;
#endif
#if defined(CORO_TSAN)
    co->tsan_fiber = NULL;
#endif
    size_t length = 0;
    if (opts->name != NULL) {
        length = strlen(opts->name);
        if (length > CORO_NAME_MAX - 1)
            length = CORO_NAME_MAX - 1;
        memcpy(co->name, opts->name, length);
    }
    co->name[length] = '\0';
    coro_cxx_eh_init(&co->cxx_eh);
    sanitizer_stack_created(co);
    co->sp = coro_arch_make(co, stack.bottom, coro_start, co);
#if defined(_WIN64)
    /* A stack with a dispatch reserve (stack.h) tells the thread block so,
     * as a thread's stack with a guarantee would: the memory manager then
     * raises STATUS_STACK_OVERFLOW at its guard page, and the dispatcher
     * may use the reserve. The base sits one page lower because the lowest
     * page above it is never used for dispatch. */
    size_t guard_region = (size_t)((char *)stack.bottom - (char *)stack.mapping);
    if (stack.mapping != NULL && guard_region > CORO_STACK_DISPATCH_RESERVE)
        coro_arch_set_guarantee(co->sp, (char *)stack.bottom - CORO_STACK_DISPATCH_RESERVE - coro_stack_page_size(),
                                (uint32_t)CORO_STACK_DISPATCH_RESERVE);
#endif
    coro_registry_join(&co->registry);
    *out = co;
    return CORO_OK;
}

/* What a destroy of co needs, in one pass with a single way out for the
 * common case: both seals hold, it is a coroutine, not a thread's own
 * context, and it is dead or suspended with its saved stack pointer in its
 * stack (block_intact()), and the calling thread is not walking the
 * registry. destroy_refused() tells which failed. */
static inline int destroyable(const struct coro *co)
{
    uintptr_t key = coro_check_key();
    uintptr_t sp = (uintptr_t)co->sp;
    uintptr_t unsealed = (co->seal ^ seal_of(co, key)) | (co->stack_seal ^ stack_seal_of(co, key));
    return unsealed == 0 && co->kind != KIND_THREAD && !coro_registry_walking() &&
           (co->status == CORO_DEAD ||
            (co->status == CORO_SUSPENDED && sp > (uintptr_t)co->stack.bottom && sp < (uintptr_t)co));
}

/* The error of a destroy that destroyable() refused, the first of them in
 * the order coro.h gives. */
static NOINLINE int destroy_refused(const struct coro *co)
{
    if (!block_intact(co))
        return CORO_ECORRUPT;
    if (co->kind == KIND_THREAD)
        return CORO_ETHREAD;
    /* The kind is sealed, so this check of what only destroy uses can wait
     * until a thread's context (whose stack bounds ASan fills in) is out. */
    if (co->stack_seal != stack_seal_of(co, coro_check_key()))
        return CORO_ECORRUPT;
    if (co->status == CORO_RUNNING || co->status == CORO_NORMAL)
        return not_suspended(co);
    return CORO_EBUSY; /* the calling thread is walking the registry */
}

int coro_destroy(coro *co)
{
    if (co == NULL)
        return CORO_EINVAL;
    if (UNLIKELY(!destroyable(co)))
        return destroy_refused(co);
    coro_registry_leave(&co->registry);
    sanitizer_stack_destroyed(co);
    /* The control block is inside the stack, which the pool or arena
     * overwrites: copy out what they need first. */
    struct coro_stack stack = co->stack;
    if (co->kind == KIND_MAPPED_STACK)
        coro_stack_pool_put(&stack);
    else if (co->kind == KIND_ARENA_STACK)
        coro_stack_arena_put(co->arena, &stack);
    return CORO_OK;
}

/* Why a context whose kind is below KIND_THREAD cannot switch away by yield
 * or transfer. Out of line, so that the usual path tests the kind in place
 * and keeps nothing of it. */
static COLD int refused_switch(const struct coro *self)
{
    return self->kind == KIND_CANCELLED ? CORO_ECANCELED : CORO_EOUTSIDE;
}

/* Why co cannot be resumed, or CORO_OK: every check in order, each with
 * the code that tells what failed (coro_resume()'s careful path and
 * coro_resume_with()). */
static int resume_refused(const struct coro *co)
{
    if (!block_intact(co))
        return CORO_ECORRUPT;
    if (co->status != CORO_SUSPENDED)
        return not_suspended(co);
    if (co->kind == KIND_THREAD)
        return CORO_ETHREAD;
    return CORO_OK;
}

/* A resume that the fast path did not take: every check in order, a
 * thread's first use, and the C++ exception state handed over. */
static COLD int resume_carefully(coro *co, void *value, void **result)
{
    int refused = resume_refused(co);
    if (refused != CORO_OK)
        return refused;
    struct thread_state *t = this_thread();
    struct coro *self = running_on(t);
    self->status = CORO_NORMAL;
    co->resumer = self;
    return switch_to(t, self, co, value, result);
}

int coro_resume(coro *co, void *value, void **result)
{
    if (co == NULL)
        return CORO_EINVAL;
    struct thread_state *t = this_thread();
    /* The thread has used libcoro before (it has a running context), and no
     * C++ exception state needs handing over: the rest goes the careful way,
     * out of line, so that the common resume is one straight run. */
    if (UNLIKELY(!resumable(co) || t->running == NULL || coro_cxx_eh_busy(t->cxx_eh_globals, &co->cxx_eh) != 0))
        return resume_carefully(co, value, result);
    struct coro *self = t->running;
    self->status = CORO_NORMAL;
    co->resumer = self;
    return switch_to_idle(t, self, co, value, result);
}

/* Where a yield from self goes, checked (block_intact()): its resumer, or
 * with none the thread's own context; NULL when that block was
 * overwritten. */
static struct coro *checked_resumer(struct thread_state *t, const struct coro *self)
{
    struct coro *to = self->resumer != NULL ? self->resumer : &t->self;
    return block_intact(to) ? to : NULL;
}

/* A yield that coro_yield()'s one test did not pass: refused, or back to a
 * coroutine, or with C++ exception state to hand over. */
static COLD int yield_carefully(struct thread_state *t, struct coro *self, void *value, void **resumed_with)
{
    /* One test for the thread's own context, a cancelled coroutine and a
     * hook's context: all are below KIND_MAPPED_STACK. */
    if (self->kind <= KIND_THREAD)
        return refused_switch(self);
    struct coro *to = checked_resumer(t, self);
    if (to == NULL)
        return CORO_ECORRUPT;
    self->resumer = NULL;
    self->status = CORO_SUSPENDED;
    return switch_to(t, self, to, value, resumed_with);
}

int coro_yield(void *value, void **resumed_with)
{
    struct thread_state *t = this_thread();
    struct coro *self = t->running;
    if (UNLIKELY(self == NULL))
        return CORO_EOUTSIDE;
    struct coro *to = self->resumer;
    /* The common yield goes back to the thread's own context. It lives in
     * thread-local storage, out of reach of any stack's overflow, and waits
     * in a resume or transfer whenever a coroutine runs on its thread: it
     * needs no seal, only its saved stack pointer (block_intact() for a
     * thread's context); and naming it by its own address, not through the
     * resumer link, lets that be read without waiting for the loads before
     * it. The tests are folded into one word and one branch. */
    if (LIKELY(to == &t->self)) {
        uintptr_t trouble = (uintptr_t)(self->kind <= KIND_THREAD) | (uintptr_t)(t->self.sp == NULL) |
                            coro_cxx_eh_busy(t->cxx_eh_globals, &t->self.cxx_eh);
        if (UNLIKELY(trouble != 0))
            return yield_carefully(t, self, value, resumed_with);
        self->resumer = NULL;
        self->status = CORO_SUSPENDED;
        return switch_to_idle(t, self, &t->self, value, resumed_with);
    }
    /* Back to a coroutine that resumed this one (generators feeding each
     * other): checked as a resume checks its target. */
    if (UNLIKELY(to == NULL || self->kind <= KIND_THREAD || !coroutine_intact(to, CORO_NORMAL) ||
                 coro_cxx_eh_busy(t->cxx_eh_globals, &to->cxx_eh) != 0))
        return yield_carefully(t, self, value, resumed_with);
    self->resumer = NULL;
    self->status = CORO_SUSPENDED;
    return switch_to_idle(t, self, to, value, resumed_with);
}

/* Why the calling thread cannot transfer to target, or CORO_OK: every
 * check of the target in order (coro_transfer()'s careful path and
 * coro_transfer_with()). */
static int transfer_refused(const struct thread_state *t, const struct coro *target)
{
    if (!block_intact(target))
        return CORO_ECORRUPT;
    if (target->status != CORO_SUSPENDED)
        return not_suspended(target);
    /* A thread's own context is suspended only on its thread; running it
     * anywhere else would run that thread's stack on two threads. */
    if (target->kind == KIND_THREAD && target != &t->self)
        return CORO_ETHREAD;
    return CORO_OK;
}

/* A transfer that the fast path did not take: every check in order. */
static COLD int transfer_carefully(coro *target, void *value, void **result)
{
    struct thread_state *t = this_thread();
    int refused = transfer_refused(t, target);
    if (refused != CORO_OK)
        return refused;
    struct coro *self = running_on(t);
    if (self->kind < KIND_THREAD)
        return refused_switch(self);
    target->resumer = self->resumer;
    self->resumer = NULL;
    self->status = CORO_SUSPENDED;
    return switch_to(t, self, target, value, result);
}

int coro_transfer(coro *target, void *value, void **result)
{
    if (target == NULL)
        return CORO_EINVAL;
    struct thread_state *t = this_thread();
    struct coro *self = t->running;
    /* The two common targets: a coroutine (checked as a resume checks it),
     * or the thread's own context, which needs no seal (see coro_yield()).
     * The transferring context is a coroutine or the thread's own, not one
     * that cancel or a hook runs. */
    int target_ready = target == &t->self ? target->status == CORO_SUSPENDED && target->sp != NULL : resumable(target);
    if (UNLIKELY(!target_ready || self == NULL || self->kind < KIND_THREAD ||
                 coro_cxx_eh_busy(t->cxx_eh_globals, &target->cxx_eh) != 0))
        return transfer_carefully(target, value, result);
    target->resumer = self->resumer;
    self->resumer = NULL;
    self->status = CORO_SUSPENDED;
    return switch_to_idle(t, self, target, value, result);
}

int coro_overflow_lookup(const void *address, const char **name, size_t *stack_size)
{
    /* An overflow faults on the thread that runs the coroutine, so only this
     * thread's running context can own the guard. */
    const struct coro *co = this_thread_state.running;
    if (co == NULL || co->stack.mapping == NULL)
        return 0;
    uintptr_t at = (uintptr_t)address;
    if (at < (uintptr_t)co->stack.mapping || at >= (uintptr_t)co->stack.bottom)
        return 0;
    *name = co->name;
    *stack_size = co->stack_size;
    return 1;
}

enum coro_status coro_status(const coro *co)
{
    return co != NULL ? co->status : CORO_DEAD;
}

coro *coro_running(void)
{
    return running_on(this_thread());
}

coro *coro_thread(void)
{
    struct thread_state *t = this_thread();
    running_on(t);
    return &t->self;
}

int coro_inside(void)
{
    struct thread_state *t = this_thread();
    return t->running != NULL && t->running != &t->self;
}

const char *coro_name(const coro *co)
{
    return co != NULL ? co->name : NULL;
}

void *coro_user_data(const coro *co)
{
    return co != NULL ? co->user_data : NULL;
}

void coro_set_user_data(coro *co, void *user_data)
{
    if (co != NULL)
        co->user_data = user_data;
}

const char *coro_strerror(int result)
{
    switch (result) {
    case CORO_OK: return "success";
    case CORO_EINVAL: return "invalid argument";
    case CORO_EDEAD: return "cannot resume dead coroutine";
    case CORO_ERUNNING: return "cannot resume running coroutine";
    case CORO_ENORMAL: return "cannot resume coroutine that is waiting for another (normal)";
    case CORO_EOUTSIDE: return "attempt to yield from outside a coroutine";
    case CORO_ETHREAD: return "a thread's own context cannot be resumed, destroyed or entered from another thread";
    case CORO_ESTACK: return "stack smaller than CORO_STACK_MIN";
    case CORO_ENOMEM:
        return "out of memory or address space, or the kernel refused another mapping (before Linux 6.13, "
               "or with LIBCORO_GUARD=mprotect, each guarded stack takes two; Linux allows vm.max_map_count, "
               "65530 by default, about 32,000 guarded coroutines): raise vm.max_map_count, or use unguarded "
               "stacks (a coro_arena with CORO_NO_GUARD, or caller-supplied stacks)";
    case CORO_EBUSY: return "arena still holds live coroutines, or called from inside a coro_visit() callback";
    case CORO_ECANCELED: return "the coroutine is being cancelled";
    case CORO_ECORRUPT: return "the coroutine's control block was overwritten (a stack overflow from below?)";
    }
    return "unknown libcoro result";
}

/*
 * Cancel. A cancelled coroutine's kind becomes KIND_CANCELLED until its
 * entry returns, so the test coro_yield() already makes for a thread's own
 * context (kind <= KIND_THREAD) also stops its yields: the plain switch path
 * reads nothing more. Only a coroutine that has started and is suspended
 * can be cancelled, so the cancelled state lasts while the coroutine is
 * RUNNING or NORMAL: nothing can resume, transfer to or destroy it then.
 */

/* A coroutine that has not started still waits with its first value's slot
 * as its inbox; once it has run, its inbox is whatever its last switch away
 * named, never that slot. */
static int never_started(const struct coro *co)
{
    return co->inbox == &co->first_value;
}

int coro_cancel(coro *co, void **result)
{
    if (co == NULL)
        return CORO_EINVAL;
    if (UNLIKELY(!block_intact(co)))
        return CORO_ECORRUPT;
    if (co->status != CORO_SUSPENDED)
        return not_suspended(co);
    if (co->kind == KIND_THREAD)
        return CORO_ETHREAD;

    if (never_started(co)) {
        co->status = CORO_DEAD;
        co->cancelled = 1;
        if (result != NULL)
            *result = NULL;
        return CORO_OK;
    }

    struct thread_state *t = this_thread();
    struct coro *self = running_on(t);
    self->status = CORO_NORMAL;
    co->resumer = self;
    co->cancelled = 1;
    co->kind_before_cancel = co->kind;
    co->kind = KIND_CANCELLED;
    reseal(co);
    /* As switch_to, but nothing reaches co's inbox and its pending switch
     * returns CORO_ECANCELED. The entry's return value comes back through
     * self's inbox (coro_start), with CORO_OK as this call's result. */
    co->status = CORO_RUNNING;
    t->running = co;
    self->inbox = result;
    void *co_sp = co->sp;
    co->sp = NULL; /* running: see switch_to */
    sanitizer_switch_start(t, self, co, 0);
    int switched = switch_stacks(t, self, co, co_sp, CORO_ECANCELED);
    sanitizer_switch_finish(self);
    return switched;
}

int coro_cancelled(const coro *co)
{
    return co != NULL && co->cancelled;
}

/*
 * Hand-off hook, portably: the caller switches to a fresh frame that
 * coro_arch_make() builds on the target's stack, just below the target's
 * suspended frame (memory the target does not use while suspended). There
 * run_hook() calls fn, then switches into the target's own frame and is
 * abandoned, so the target continues exactly as after a plain switch. Only
 * the two arch functions every port has are used; the caller's stack is
 * never touched after its own switch away; the cost (a second switch and a
 * frame built) falls on the hook's calls alone.
 */

/* Bytes between the target's saved stack pointer and the hook's frame: the
 * request goes there. No ABI lets a suspended function keep data below its
 * stack pointer across a call, so all of it is free. */
#define HOOK_GAP 256

/* What run_hook needs, kept on the target's stack above the hook's frame,
 * where it lives as long as that frame. It is also the arg the frame is
 * made with, which unwinders read as a control block (arch.h): its resumer
 * slot is NULL, so a walk from inside fn ends at the hook's root. */
struct hook_request {
    coro_hook fn;
    void *arg;
    void *no_resumer;
    struct coro *from;
    struct coro *target;
    void *target_sp;    /* the target's saved stack pointer, which it no longer keeps once running */
};
_Static_assert(offsetof(struct hook_request, no_resumer) == CORO_ARCH_RESUMER_OFFSET,
               "arch.h: the hook's frame ends unwinding");
_Static_assert(sizeof(struct hook_request) <= HOOK_GAP, "the request fits in the gap");

/* Not instrumented by sanitizers: it never returns, and a function entry
 * that TSan counts, or stack redzones that ASan poisons, would stay behind
 * on the target's stack once per call. */
#if defined(__has_attribute)
#if __has_attribute(disable_sanitizer_instrumentation)
#define NOT_INSTRUMENTED __attribute__((disable_sanitizer_instrumentation))
#endif
#endif
#if !defined(NOT_INSTRUMENTED) && defined(__GNUC__) && !defined(__clang__)
#define NOT_INSTRUMENTED __attribute__((no_sanitize("address", "thread")))
#endif
#if !defined(NOT_INSTRUMENTED)
#define NOT_INSTRUMENTED
#endif

static NORETURN NOT_INSTRUMENTED void run_hook(void *ignored, void *arg)
{
    (void)ignored;
    const struct hook_request request = *(const struct hook_request *)arg;
    struct coro *target = request.target;
    sanitizer_switch_finish(target);

    /* fn's own context, so that whatever fn does cannot write the target's
     * saved state: a coroutine fn resumes comes back here. */
    struct coro hook;
    hook.sp = NULL;
    hook.inbox = NULL;
    hook.resumer = NULL;
    hook.status = CORO_RUNNING;
    hook.kind = KIND_HOOK;
    hook.entry = NULL;
    hook.first_value = NULL;
    hook.user_data = NULL;
    hook.stack = target->stack;
    hook.arena = NULL;
    hook.stack_size = 0;
#if defined(CORO_ASAN)
    hook.asan_fake_stack = NULL;
#endif
#if defined(CORO_TSAN)
    hook.tsan_fiber = target->tsan_fiber;
#endif
#if defined(CORO_HAVE_VALGRIND)
    hook.valgrind_stack_id = 0;
#endif
    memcpy(hook.name, "hook", sizeof "hook");
    hook.kind_before_cancel = KIND_HOOK;
    hook.cancelled = 0;
    /* Saved into when fn switches away, and loaded back when control
     * returns to it: the target's C++ exception state, meanwhile. */
    coro_cxx_eh_init(&hook.cxx_eh);
    /* Sealed as any context: a coroutine fn resumes yields back into it. */
    seal_block(&hook);

    struct thread_state *t = this_thread_after_switch();
    t->running = &hook;
    request.fn(request.arg, request.from);

    t = this_thread_after_switch();
    t->running = target;
    /* The hook's frame is abandoned, as coro_start's is: ASan may forget
     * its fake frames; the target's are kept for the target. */
    sanitizer_switch_start(t, target, target, 0);
    void *abandoned_sp;
    coro_arch_switch(&abandoned_sp, request.target_sp, (void *)(intptr_t)CORO_OK);
#if defined(__GNUC__)
    __builtin_trap();
#endif
    for (;;) {
    }
}

/* switch_to with a hook: the same bookkeeping, then the switch goes through
 * run_hook on to's stack. */
static int switch_with_hook(struct thread_state *t, struct coro *from, struct coro *to, void *value, void **inbox,
                            coro_hook fn, void *arg)
{
    /* to keeps no stack pointer from here on: the request holds it. */
    void *to_sp = make_running(t, from, to, value, inbox);
    char *hook_top = (char *)to_sp - HOOK_GAP;
#if defined(CORO_ASAN)
    /* The same memory may still carry ASan's poison of frames that ran
     * there before (a frame switched away from inside never returns to
     * clear its redzones): it is free now, below to's stack pointer. */
    ASAN_UNPOISON_MEMORY_REGION(hook_top - CORO_ARCH_FRAME_SIZE - 2 * CORO_ARCH_STACK_ALIGN,
                                CORO_ARCH_FRAME_SIZE + 2 * CORO_ARCH_STACK_ALIGN + HOOK_GAP);
#endif
#if defined(CORO_HAVE_VALGRIND)
    /* Memcheck made the stack below to's stack pointer inaccessible when
     * its frames returned; the request and the hook's frame go there. */
    VALGRIND_MAKE_MEM_UNDEFINED(hook_top - CORO_ARCH_FRAME_SIZE - 2 * CORO_ARCH_STACK_ALIGN,
                                CORO_ARCH_FRAME_SIZE + 2 * CORO_ARCH_STACK_ALIGN + HOOK_GAP);
    /* The trampoline's unwind rules read the words of its "control block"
     * (the request below) up to the suspended frame's size even when they
     * multiply them by 0 (x86_64_sysv.S); Memcheck counts such a product
     * as undefined, so the whole gap is defined for it. */
    if (RUNNING_ON_VALGRIND)
        memset(hook_top, 0, HOOK_GAP);
#endif
    struct hook_request *request = (struct hook_request *)hook_top;
    request->fn = fn;
    request->arg = arg;
    request->no_resumer = NULL;
    request->from = from;
    request->target = to;
    request->target_sp = to_sp;
    void *hook_sp = coro_arch_make(hook_top, to->stack.bottom, run_hook, request);
    sanitizer_switch_start(t, from, to, 0);
    /* The C++ exception state changes hands here: fn runs with the target's,
     * as the target's own code will. */
    int result = switch_stacks(t, from, to, hook_sp, CORO_OK);
    sanitizer_switch_finish(from);
    return result;
}

int coro_resume_with(coro *co, void *value, void **result, coro_hook fn, void *arg)
{
    if (co == NULL || fn == NULL)
        return CORO_EINVAL;
    int refused = resume_refused(co);
    if (refused != CORO_OK)
        return refused;

    struct thread_state *t = this_thread();
    struct coro *self = running_on(t);
    self->status = CORO_NORMAL;
    co->resumer = self;
    return switch_with_hook(t, self, co, value, result, fn, arg);
}

int coro_yield_with(void *value, void **resumed_with, coro_hook fn, void *arg)
{
    struct thread_state *t = this_thread();
    struct coro *self = t->running;
    if (self == NULL)
        return CORO_EOUTSIDE;
    if (self->kind <= KIND_THREAD)
        return refused_switch(self);
    if (fn == NULL)
        return CORO_EINVAL;

    struct coro *to = checked_resumer(t, self);
    if (to == NULL)
        return CORO_ECORRUPT;
    self->resumer = NULL;
    self->status = CORO_SUSPENDED;
    return switch_with_hook(t, self, to, value, resumed_with, fn, arg);
}

int coro_transfer_with(coro *target, void *value, void **result, coro_hook fn, void *arg)
{
    if (target == NULL || fn == NULL)
        return CORO_EINVAL;
    struct thread_state *t = this_thread();
    int refused = transfer_refused(t, target);
    if (refused != CORO_OK)
        return refused;
    struct coro *self = running_on(t);
    if (self->kind < KIND_THREAD)
        return refused_switch(self);
    target->resumer = self->resumer;
    self->resumer = NULL;
    self->status = CORO_SUSPENDED;
    return switch_with_hook(t, self, target, value, result, fn, arg);
}

/*
 * Seeing every coroutine (coro.h): the registry's description of the control
 * block for debuggers, and the queries that read a control block. The
 * registry itself is in registry.c.
 */
struct coro_registry coro_registry = {
    .version = CORO_REGISTRY_VERSION,
    .list_count = CORO_REGISTRY_LISTS,
    .list_stride = sizeof(struct coro_registry_list),
    .lists_offset = offsetof(struct coro_registry, lists),
    .link_offset = offsetof(struct coro, registry),
    .sp_offset = offsetof(struct coro, sp),
    .status_offset = offsetof(struct coro, status),
    .name_offset = offsetof(struct coro, name),
    .name_size = CORO_NAME_MAX,
    .bottom_offset = offsetof(struct coro, stack) + offsetof(struct coro_stack, bottom),
    .entry_offset = offsetof(struct coro, entry),
    .inbox_offset = offsetof(struct coro, inbox),
    .first_value_offset = offsetof(struct coro, first_value),
    .frame_size = CORO_ARCH_FRAME_SIZE,
    .resumer_offset = offsetof(struct coro, resumer),
    .cancelled_offset = offsetof(struct coro, cancelled),
};
_Static_assert(sizeof(((struct coro *)0)->cancelled) == 1, "registry.h: cancelled is one byte");

_Static_assert(sizeof(enum coro_status) == sizeof(int), "registry.h: a status is read as an int");

#if defined(__GNUC__)
#define NO_THREAD_SANITIZER __attribute__((no_sanitize("thread"), noinline))
#else
#define NO_THREAD_SANITIZER
#endif

/* The status and saved stack pointer of a coroutine that may be switching
 * on another thread right now, with no lock that orders the two: a word
 * read that may be out of date, as coro_visit() documents, never torn.
 * Hidden from TSan, which would otherwise report every such read. */
static NO_THREAD_SANITIZER void racy_snapshot(const struct coro *co, enum coro_status *status, void **sp,
                                               int *cancelled)
{
    *status = *(const volatile enum coro_status *)&co->status;
    *sp = *(void *const volatile *)&co->sp;
    *cancelled = *(const volatile unsigned char *)&co->cancelled != 0;
}

/* How deep the calling function's frame lies: the running stack's current
 * depth, to within a frame. Not a local's address: ASan, with
 * detect_stack_use_after_return, moves locals to a fake stack on the heap,
 * while the frame itself stays on the real one. */
#if defined(__GNUC__)
#define current_frame() __builtin_frame_address(0)
#else
static NOINLINE void *current_frame(void)
{
    char here;
    void *volatile address = &here;
    return address;
}
#endif

static void fill_stack_info(const struct coro *co, void *sp, struct coro_stack_info *info)
{
    char *bottom = co->stack.bottom;
    char *top = (char *)co;
    /* The running context's saved sp is stale; its live one is here. */
    if (co == this_thread_state.running)
        sp = current_frame();
    info->bottom = bottom;
    info->top = top;
    info->usable = (size_t)(top - bottom);
    info->guard = co->stack.mapping != NULL ? (size_t)(bottom - (char *)co->stack.mapping) : 0;
    info->used = (char *)sp >= bottom && (char *)sp <= top ? (size_t)(top - (char *)sp) : 0;
    info->high_water = co->stack.mapping != NULL ? coro_registry_high_water(bottom, top) : 0;
    /* What is in use now has been touched, whatever the pages say. */
    if (info->high_water != 0 && info->high_water < info->used)
        info->high_water = info->used;
}

int coro_stack_info(const coro *co, struct coro_stack_info *info)
{
    if (co == NULL || info == NULL)
        return CORO_EINVAL;
    if (co->kind == KIND_THREAD)
        return CORO_ETHREAD;
    enum coro_status status;
    void *sp;
    int cancelled;
    racy_snapshot(co, &status, &sp, &cancelled);
    fill_stack_info(co, sp, info);
    return CORO_OK;
}

size_t coro_stack_remaining(void)
{
    const struct coro *co = this_thread_state.running;
    if (co == NULL || co->kind == KIND_THREAD)
        return 0;
    uintptr_t sp = (uintptr_t)current_frame();
    uintptr_t bottom = (uintptr_t)co->stack.bottom;
    return sp > bottom ? (size_t)(sp - bottom) : 0;
}

struct visit {
    coro_visitor fn;
    void *context;
};

static int visit_one(struct coro_registry_link *link, void *context)
{
    const struct visit *visit = context;
    struct coro *co = (struct coro *)((char *)link - offsetof(struct coro, registry));
    struct coro_visit_info info;
    void *sp;
    info.co = co;
    info.name = co->name;
    racy_snapshot(co, &info.status, &sp, &info.cancelled);
    fill_stack_info(co, sp, &info.stack);
    info.user_data = co->user_data;
    return visit->fn(&info, visit->context);
}

int coro_visit(coro_visitor fn, void *context)
{
    if (fn == NULL)
        return CORO_EINVAL;
    if (coro_registry_walking())
        return CORO_EBUSY;
    struct visit visit = {fn, context};
    coro_registry_walk(visit_one, &visit);
    return CORO_OK;
}
