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
#include "integrity.h"
#include "overflow.h"
#include "pool.h"
#include "stack.h"

/* Which checking tools the core must tell about its stack switches. Only the
 * compiler's own macros decide, so a normal build holds none of the hooks. */
#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define CORO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CORO_TSAN 1
#endif
#endif

#if defined(CORO_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(CORO_TSAN)
#include <sanitizer/tsan_interface.h>
#endif
#if defined(CORO_HAVE_VALGRIND)
#include <valgrind/valgrind.h>
#endif

enum coro_kind {
    KIND_THREAD,        /* a thread's own context: never created, never freed */
    KIND_MAPPED_STACK,  /* the library mapped the stack (or took it from the pool) */
    KIND_ARENA_STACK,   /* the stack belongs to an arena */
    KIND_CALLER_STACK   /* the caller owns the stack memory */
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
    void *first_value;      /* the inbox of a coroutine that has not started */
    void *user_data;
    struct coro_stack stack;
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
    uintptr_t seal;         /* over the fields that never change after create: see seal_of() */
    uintptr_t stack_seal;   /* over the stack's mapping and owner, which destroy uses */
};

_Static_assert(offsetof(struct coro, sp) == 0, "arch.h: a context's saved stack pointer comes first");
_Static_assert(offsetof(struct coro, resumer) == CORO_ARCH_RESUMER_OFFSET, "arch.h: CORO_ARCH_RESUMER_OFFSET");

struct thread_state {
    struct coro *running;   /* NULL until the thread first uses libcoro */
    struct coro self;       /* the thread's own context */
#if defined(CORO_ASAN)
    struct coro *switching_from; /* the context that started the switch in progress */
#endif
};

#if defined(__GNUC__) && !defined(_WIN32)
/* initial-exec: a plain thread-pointer-relative load instead of a call to
 * __tls_get_addr on every switch in the shared library. */
#define THREAD_LOCAL _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define THREAD_LOCAL _Thread_local
#endif

static THREAD_LOCAL struct thread_state this_thread_state;

#if defined(__GNUC__)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define NOINLINE __attribute__((noinline))
#define NORETURN __attribute__((noreturn))
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define UNLIKELY(x) (x)
#define NOINLINE
#define NORETURN
#define ALWAYS_INLINE inline
#endif

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

/* The seal of a control block (integrity.h): its address, its kind and,
 * for a coroutine, its entry and stack bottom. These are what a switch into
 * the block relies on besides the saved stack pointer, which is checked
 * against them. The stack's mapping and arena, which only destroy uses,
 * have a seal of their own, so that the switch path mixes four words. */
static inline uintptr_t seal_of(const struct coro *co, uintptr_t key)
{
    uintptr_t h = coro_check_mix(key, (uintptr_t)co);
    h = coro_check_mix(h, (uintptr_t)co->kind);
    /* A thread's context has no entry, and its stack bounds are filled in
     * later by ASan (sanitizer_switch_finish). */
    if (co->kind != KIND_THREAD) {
        h = coro_check_mix(h, (uintptr_t)co->entry);
        h = coro_check_mix(h, (uintptr_t)co->stack.bottom);
    }
    return h;
}

static inline uintptr_t stack_seal_of(const struct coro *co, uintptr_t key)
{
    uintptr_t h = coro_check_mix(key, (uintptr_t)co->stack.mapping);
    h = coro_check_mix(h, co->stack.mapping_size);
    h = coro_check_mix(h, (uintptr_t)co->stack.top);
    return coro_check_mix(h, (uintptr_t)co->arena);
}

static NOINLINE void seal_block(struct coro *co)
{
    uintptr_t key = coro_check_key_make();
    co->seal = seal_of(co, key);
    co->stack_seal = stack_seal_of(co, key);
}

/* Whether co's control block is as the library left it, as far as a
 * switch into it can tell: the seal holds, the status is one of the four,
 * and a suspended context's saved stack pointer lies within its stack (a
 * running or dead context keeps none: switch_to and coro_start clear it).
 * A thread's own context lives in thread-local storage, not on a stack: its
 * stack pointer can only be checked for presence. */
static inline int block_intact(const struct coro *co)
{
    if (UNLIKELY(co->seal != seal_of(co, coro_check_key())))
        return 0;
    if (co->status == CORO_SUSPENDED) {
        uintptr_t sp = (uintptr_t)co->sp;
        if (co->kind == KIND_THREAD)
            return sp != 0;
        return sp > (uintptr_t)co->stack.bottom && sp < (uintptr_t)co;
    }
    return (unsigned)co->status <= CORO_DEAD;
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
    t->running = &t->self;
}

/* The running context, making the thread's own context exist on first use. */
static inline struct coro *running_on(struct thread_state *t)
{
    if (UNLIKELY(t->running == NULL))
        thread_init(t);
    return t->running;
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

static inline void sanitizer_stack_destroyed(struct coro *co)
{
#if defined(CORO_ASAN)
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
    }
#endif
    (void)self;
}

/* Makes `to` the running context and switches to it. The caller has already
 * set `from`'s new status and both resumer links.
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
static inline int switch_to(struct thread_state *t, struct coro *from, struct coro *to, void *value, void **inbox)
{
    to->status = CORO_RUNNING;
    t->running = to;
    if (to->inbox != NULL)
        *to->inbox = value;
    from->inbox = inbox;
    /* A running context keeps no stack pointer, so that a status
     * overwritten to read as suspended fails block_intact(). */
    void *to_sp = to->sp;
    to->sp = NULL;
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
    co->stack = stack;
    co->stack.top = co;
    co->arena = opts->arena;
    /* An arena's coroutines ask for no size: its slots set it. */
    co->stack_size = kind == KIND_ARENA_STACK ? (size_t)((char *)stack.top - (char *)stack.bottom) - overhead : usable;
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
    sanitizer_stack_created(co);
    co->sp = coro_arch_make(co, stack.bottom, coro_start, co);
    seal_block(co);
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
    *out = co;
    return CORO_OK;
}

int coro_destroy(coro *co)
{
    if (co == NULL)
        return CORO_EINVAL;
    if (UNLIKELY(!block_intact(co)))
        return CORO_ECORRUPT;
    if (co->kind == KIND_THREAD)
        return CORO_ETHREAD;
    /* The kind is sealed, so this check of what only destroy uses can wait
     * until a thread's context (whose stack bounds ASan fills in) is out. */
    if (UNLIKELY(co->stack_seal != stack_seal_of(co, coro_check_key())))
        return CORO_ECORRUPT;
    if (co->status == CORO_RUNNING || co->status == CORO_NORMAL)
        return not_suspended(co);
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

/* A thread's first resume or transfer: sets up its own context, then does
 * the call again. Kept out of line, and reached by a tail call, so that the
 * usual path needs no stack frame of its own. */
static NOINLINE int first_use_then(int (*call)(coro *, void *, void **), coro *co, void *value, void **result)
{
    thread_init(this_thread());
    return call(co, value, result);
}

int coro_resume(coro *co, void *value, void **result)
{
    if (co == NULL)
        return CORO_EINVAL;
    if (UNLIKELY(!block_intact(co)))
        return CORO_ECORRUPT;
    if (UNLIKELY(co->status != CORO_SUSPENDED))
        return not_suspended(co);
    if (UNLIKELY(co->kind == KIND_THREAD))
        return CORO_ETHREAD;

    struct thread_state *t = this_thread();
    struct coro *self = t->running;
    if (UNLIKELY(self == NULL))
        return first_use_then(coro_resume, co, value, result);
    self->status = CORO_NORMAL;
    co->resumer = self;
    return switch_to(t, self, co, value, result);
}

int coro_yield(void *value, void **resumed_with)
{
    struct thread_state *t = this_thread();
    struct coro *self = t->running;
    if (UNLIKELY(self == NULL || self->kind == KIND_THREAD))
        return CORO_EOUTSIDE;

    struct coro *to = self->resumer;
    if (UNLIKELY(to == NULL))
        to = &t->self;
    if (UNLIKELY(!block_intact(to)))
        return CORO_ECORRUPT;
    self->resumer = NULL;
    self->status = CORO_SUSPENDED;
    return switch_to(t, self, to, value, resumed_with);
}

int coro_transfer(coro *target, void *value, void **result)
{
    if (target == NULL)
        return CORO_EINVAL;
    if (UNLIKELY(!block_intact(target)))
        return CORO_ECORRUPT;
    if (UNLIKELY(target->status != CORO_SUSPENDED))
        return not_suspended(target);

    struct thread_state *t = this_thread();
    /* A thread's own context is suspended only on its thread; running it
     * anywhere else would run that thread's stack on two threads. */
    if (UNLIKELY(target->kind == KIND_THREAD && target != &t->self))
        return CORO_ETHREAD;
    struct coro *self = t->running;
    if (UNLIKELY(self == NULL))
        return first_use_then(coro_transfer, target, value, result);
    target->resumer = self->resumer;
    self->resumer = NULL;
    self->status = CORO_SUSPENDED;
    return switch_to(t, self, target, value, result);
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
        return "out of memory, or the kernel refused another mapping (each guarded stack takes two; "
               "Linux allows vm.max_map_count, 65530 by default, about 32,000 guarded coroutines): "
               "raise vm.max_map_count, or use unguarded stacks (a coro_arena with CORO_NO_GUARD, "
               "or caller-supplied stacks)";
    case CORO_EBUSY: return "arena still holds live coroutines";
    case CORO_ECORRUPT: return "the coroutine's control block was overwritten (a stack overflow from below?)";
    }
    return "unknown libcoro result";
}
