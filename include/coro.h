/*
 * libcoro: stackful coroutines for C.
 *
 * A coroutine runs an entry function on a stack of its own. Control moves in
 * two ways, which may be mixed freely:
 *
 *   asymmetric  coro_resume() runs a suspended coroutine until it calls
 *               coro_yield() or its entry returns; control then comes back to
 *               the resumer.
 *   symmetric   coro_transfer() hands control directly to any suspended
 *               coroutine, or to a thread's own context.
 *
 * The one rule that ties the two together: a transfer's target takes the place
 * of the context that transferred. Its yield, or the return of its entry, goes
 * where the transferring context's yield would have gone: to whoever resumed
 * the chain. A context that nobody resumed (the chain was started with a
 * transfer from the thread's own context) yields and returns to the thread's
 * own context.
 *
 * Every call that can fail returns an int: CORO_OK (0) or one of
 * enum coro_result. A call that fails changes nothing. The library never
 * prints and never aborts.
 */
#ifndef CORO_H
#define CORO_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(CORO_SHARED_BUILD)
#define CORO_API __declspec(dllexport)
#elif defined(__GNUC__)
#define CORO_API __attribute__((visibility("default")))
#else
#define CORO_API
#endif

/* A coroutine, or a thread's own context (see coro_thread()). Opaque. */
typedef struct coro coro;

/* Many stacks carved from one mapping (see coro_arena_create()). Opaque. */
typedef struct coro_arena coro_arena;

/* The entry of a coroutine. It receives the value of the first resume (or
 * transfer) into the coroutine; what it returns is delivered to the context
 * that control goes to when it ends, and the coroutine is then dead. */
typedef void *(*coro_entry)(void *value);

/* Lua's four states. */
enum coro_status {
    CORO_SUSPENDED, /* created and not started, or stopped in yield/transfer */
    CORO_RUNNING,   /* the context executing now, on this thread or another */
    CORO_NORMAL,    /* active, but waiting in coro_resume() for a coroutine */
    CORO_DEAD       /* its entry has returned */
};

enum coro_result {
    CORO_OK = 0,
    CORO_EINVAL,   /* a NULL argument, options that contradict each other, or a stack that wraps */
    CORO_EDEAD,    /* the coroutine has finished: it cannot run again */
    CORO_ERUNNING, /* the coroutine is running (the caller itself, or on another thread) */
    CORO_ENORMAL,  /* the coroutine is waiting for a coroutine it resumed */
    CORO_EOUTSIDE, /* coro_yield() called outside any coroutine */
    CORO_ETHREAD,  /* a thread's own context cannot be resumed or destroyed */
    CORO_ESTACK,   /* the stack is smaller than CORO_STACK_MIN (after the bookkeeping, for a caller's) */
    CORO_ENOMEM,   /* out of memory, or the kernel refused another mapping (below) */
    CORO_EBUSY,    /* an arena still holds live coroutines; or a create, destroy or
                    * visit from inside a coro_visit() callback */
    CORO_ECANCELED, /* the calling coroutine is being cancelled (coro_cancel()) */
    CORO_ECORRUPT   /* the coroutine's control block was overwritten (see below) */
};

/* C++ exceptions. Every context has its own C++ exception state: the stack
 * of exceptions being handled (std::current_exception(), `throw;`) and the
 * count in flight (std::uncaught_exceptions()), which the C++ runtime keeps
 * per thread (__cxa_get_globals(), Itanium C++ ABI). The switch exchanges
 * them whenever the program has a C++ runtime (not on Windows), so a
 * coroutine may yield inside a catch block or in a destructor run by
 * unwinding, and may move between threads meanwhile. An exception must not
 * leave a coroutine's entry function. A coroutine destroyed while suspended
 * inside a catch block never frees that exception. */

/* CORO_ECORRUPT: a control block that was overwritten. A coroutine's
 * control block lives at the top of its stack, so the first thing a frame
 * too large for a guard (or an overflow without one) reaches below a stack
 * is the block of the coroutine whose stack lies below. Before any call
 * switches into a block or frees it (coro_resume, coro_transfer, the
 * coro_yield to a resumer, coro_destroy), it checks:
 *   - a seal, keyed with a per-process secret, over the block's address,
 *     kind, entry and stack bottom (and, for destroy, the stack's mapping,
 *     size and arena): the fields fixed at create;
 *   - the status: one of the four values;
 *   - a suspended context's saved stack pointer: within its stack (running
 *     and dead contexts keep none, so a status overwritten to read as
 *     suspended is caught too).
 * A check that fails returns CORO_ECORRUPT and changes nothing: the block
 * is never switched to, its stack never freed (a corrupted coroutine's
 * stack is leaked, and its arena stays busy). Not caught: a block whose
 * checked words were all rewritten to the values they had; the value slot
 * a suspended coroutine waits on (its inbox: written on the next resume),
 * the name and user data, which the library does not switch on; and a
 * waiting (normal) context whose status is overwritten to read suspended.
 * Guards and -fstack-clash-protection keep the overwrite from happening;
 * this check keeps it from being used. */

/* CORO_ENOMEM and the mapping limit. Linux caps memory mappings per
 * process at vm.max_map_count, 65530 by default. Which guards a process
 * uses is decided once, at its first stack:
 *
 *   Linux 6.13 and later  a guard is a page-table marker inside an ordinary
 *                         mapping (madvise(MADV_GUARD_INSTALL)): it costs
 *                         no mapping and no memory, and library stacks are
 *                         carved from shared 64 MiB slabs (8 MiB on 32-bit
 *                         targets), so a million guarded coroutines live in
 *                         a few hundred mappings. CORO_ENOMEM then means
 *                         out of memory or address space.
 *   older kernels, other  a guard is an mprotect'ed region that splits its
 *   systems               mapping: every guarded stack costs two mappings,
 *                         so about 32,000 guarded coroutines can live at
 *                         once, whatever the memory free; past that,
 *                         coro_create() returns CORO_ENOMEM. The ways out:
 *                         raise the limit (sysctl vm.max_map_count=N, about
 *                         two per coroutine plus the program's own), or
 *                         give up the guard for the many: a coro_arena with
 *                         CORO_NO_GUARD holds any number of stacks in one
 *                         mapping, and caller-supplied stacks
 *                         (coro_options.stack) cost no mapping at all.
 *
 * The environment variable LIBCORO_GUARD=mprotect, set before the first
 * coroutine is created, forces the second path (for testing both on one
 * machine); any other value, or none, lets the kernel decide. */

/* Usable stack bytes a coroutine is given when the options say nothing. The
 * memory is reserved, not committed (on Windows it is committed, which
 * counts against the commit limit): only the pages a coroutine touches
 * become resident. */
#define CORO_STACK_DEFAULT ((size_t)256 * 1024)

/* The smallest stack that coro_create() accepts, in usable bytes (after the
 * coroutine's own bookkeeping, which lives at the top of its stack). Enough
 * for a few small frames; anything calling printf wants 16 KiB or more. */
#define CORO_STACK_MIN ((size_t)4096)

/* Guard bytes a stack gets when the options say nothing (guard_size 0).
 * A frame of up to this size that skips past the bottom of its stack still
 * lands in the guard and faults; a larger one may jump over it into
 * whatever lies below, which is usually another coroutine's stack and its
 * control block (see CORO_ECORRUPT). The guard is address space only: no
 * memory, no extra mapping, the same system calls as a one-page guard (one
 * mprotect whatever its size). Measured on Linux: 324 KiB of address space
 * per default coroutine instead of 264 KiB with one page, the same
 * resident memory, two mappings either way. */
#define CORO_GUARD_DEFAULT ((size_t)64 * 1024)

/* guard_size value asking for no guard region at all. */
#define CORO_NO_GUARD ((size_t)-1)

/* Options for coro_create(). Zero-initialise and set what you need: every
 * zero field means its default, and the defaults are the safe choice. */
struct coro_options {
    /* Usable stack bytes, rounded up to whole pages. 0: CORO_STACK_DEFAULT. */
    size_t stack_size;
    /* Bytes of inaccessible memory below the stack, rounded up to whole
     * pages, so that an overflow faults instead of overwriting memory
     * (address space only: see CORO_ENOMEM for what a guard costs).
     * 0: CORO_GUARD_DEFAULT. CORO_NO_GUARD: none. Windows adds 32 KiB of committed
     * stack on top of a guard, where an overflow's exception is delivered
     * (see coro_install_overflow_handler()). */
    size_t guard_size;
    /* Caller-supplied stack memory of stack_size bytes (which must then be
     * set). The library uses it as it is: no guard, nothing freed at
     * destroy; its top holds the coroutine's bookkeeping. NULL: the library
     * maps a guarded stack. */
    void *stack;
    /* For diagnostics; copied (at most CORO_NAME_MAX - 1 bytes kept). */
    const char *name;
    /* Returned by coro_user_data(). */
    void *user_data;
    /* Take the stack from this arena (see coro_arena_create()); stack_size,
     * guard_size and stack must then be zero: the arena sets the shape.
     * NULL: a stack of the library's own (pooled, see coro_pool_trim()). */
    coro_arena *arena;
};

#define CORO_NAME_MAX 32

/* Creates a suspended coroutine that will run entry. opts may be NULL for
 * all defaults. On success stores it in *out; on failure *out is untouched
 * and nothing is written anywhere. Errors, each regardless of which other
 * fields are wrong, in this order:
 *   CORO_EINVAL  out or entry NULL; arena given with stack, stack_size or
 *                guard_size; stack given without stack_size, or with a
 *                guard_size other than 0 or CORO_NO_GUARD; stack +
 *                stack_size past the end of the address space;
 *   CORO_ESTACK  stack_size below CORO_STACK_MIN; a caller's stack that,
 *                once its control block (at the top, aligned down to 64
 *                bytes) and one frame are taken, leaves less than
 *                CORO_STACK_MIN bytes (whatever the alignment of stack);
 *   CORO_ENOMEM  the stack cannot be mapped (also: the arena is full). */
CORO_API int coro_create(coro **out, coro_entry entry, const struct coro_options *opts);

/* Frees a suspended or dead coroutine without running anything on its
 * stack: a coroutine destroyed while suspended never resumes, and whatever
 * its frames held is the caller's to release. Errors: CORO_EINVAL (NULL),
 * CORO_ERUNNING, CORO_ENORMAL, CORO_ETHREAD, CORO_ECORRUPT. */
CORO_API int coro_destroy(coro *co);

/* Runs the suspended coroutine co, delivering value to it (as its entry's
 * argument on the first run, as the result of its pending coro_yield() or
 * coro_transfer() later). Returns once control comes back to the caller:
 * the value co yielded, or its entry's return value when it ended, is
 * stored in *result (if result is not NULL). Meanwhile the caller is
 * CORO_NORMAL. Errors: CORO_EINVAL (NULL co), CORO_EDEAD, CORO_ERUNNING,
 * CORO_ENORMAL, CORO_ETHREAD, CORO_ECORRUPT. */
CORO_API int coro_resume(coro *co, void *value, void **result);

/* Suspends the running coroutine and sends value to the context it yields
 * to (its resumer; see the rule at the top of this file). Returns when the
 * coroutine runs again, with the value it was resumed or transferred with
 * in *resumed_with (if not NULL). Errors: CORO_EOUTSIDE, CORO_ECANCELED
 * (the caller is being cancelled: see coro_cancel()), CORO_ECORRUPT (the
 * context it would yield to was overwritten; it keeps running). */
CORO_API int coro_yield(void *value, void **resumed_with);

/* Suspends the running context and runs target, which takes the caller's
 * place: target's yield or return goes where the caller's would have gone.
 * target is a suspended coroutine or a thread's own context that
 * transferred away. Returns when control comes back, with the value passed
 * in *result (if not NULL). Errors: CORO_EINVAL (NULL), CORO_EDEAD,
 * CORO_ERUNNING (includes target == caller), CORO_ENORMAL, CORO_ETHREAD
 * (another thread's own context), CORO_ECANCELED (the caller is being
 * cancelled: see coro_cancel()), CORO_ECORRUPT. */
CORO_API int coro_transfer(coro *target, void *value, void **result);

/*
 * Stopping a coroutine. C has no destructors, so a cancelled coroutine
 * unwinds itself: once cancelled, every coro_yield() and coro_transfer() it
 * makes fails with CORO_ECANCELED, and code that checks its switch's result
 * releases what it holds and returns.
 */

/* Cancels the suspended coroutine co. If co has started, control goes to it
 * as a resume from the caller (the caller is CORO_NORMAL meanwhile), but its
 * pending coro_yield() or coro_transfer() returns CORO_ECANCELED with
 * nothing delivered; from then on every yield or transfer it makes returns
 * CORO_ECANCELED at once, without switching (the _with variants below then
 * run nothing). It may still resume, and cancel, coroutines of its own.
 * When its entry returns, control comes back here with the entry's return
 * value in *result (if result is not NULL) and co is dead. A coroutine
 * that never started becomes dead without running, and *result is NULL.
 * Either way coro_cancelled(co) is then nonzero. Errors, changing nothing:
 * CORO_EINVAL (NULL co), CORO_EDEAD, CORO_ERUNNING (the caller itself, or
 * running on another thread), CORO_ENORMAL, CORO_ETHREAD (a thread's own
 * context). */
CORO_API int coro_cancel(coro *co, void **result);

/* Nonzero once coro_cancel() has stopped co: while it unwinds (its status is
 * then CORO_RUNNING or CORO_NORMAL) and after it has died that way. NULL: 0. */
CORO_API int coro_cancelled(const coro *co);

/*
 * Hand-off hook, for schedulers (what Boost.Context calls ontop_fcontext).
 * Each call below switches as the call without _with does, and then, once
 * the caller is fully suspended (its registers and stack pointer saved, its
 * status updated), runs fn(arg, from), where from is the caller, before the
 * target's own code goes on. The caller's stack is not touched after fn
 * starts, so fn may make the caller visible to other threads: a coroutine
 * that puts itself on a wait queue holds the queue's lock across the switch
 * and fn releases it; no other thread can resume the caller while it is
 * still on its own stack.
 *
 * fn runs on the target's thread and stack (below the target's suspended
 * frame; it needs room there) as a context of its own: coro_running() is
 * that context, which lives until fn returns. fn may resume or cancel
 * coroutines (they come back to it); its coro_yield() and coro_transfer()
 * fail with CORO_EOUTSIDE. When the call fails, fn does not run.
 * An exception must not leave fn.
 */
typedef void (*coro_hook)(void *arg, coro *from);

/* coro_resume(co, value, result), then fn(arg, caller) on co's stack before
 * co goes on. Errors: as coro_resume(), and CORO_EINVAL for a NULL fn. */
CORO_API int coro_resume_with(coro *co, void *value, void **result, coro_hook fn, void *arg);

/* coro_yield(value, resumed_with), then fn(arg, caller) in the context
 * yielded to. Errors: as coro_yield(), CORO_ECANCELED, CORO_EINVAL (NULL fn). */
CORO_API int coro_yield_with(void *value, void **resumed_with, coro_hook fn, void *arg);

/* coro_transfer(target, value, result), then fn(arg, caller) on target's
 * stack. Errors: as coro_transfer(), CORO_ECANCELED, CORO_EINVAL (NULL fn). */
CORO_API int coro_transfer_with(coro *target, void *value, void **result, coro_hook fn, void *arg);

/* The status of co. A NULL co reads as CORO_DEAD. */
CORO_API enum coro_status coro_status(const coro *co);

/* The context running on the calling thread: a coroutine, or the thread's
 * own context when no coroutine runs. Never NULL.
 *
 * In a signal handler (on a thread that has used libcoro before):
 * coro_running(), coro_thread(), coro_inside(), coro_status(), coro_name()
 * and coro_user_data() only read memory and may be called. coro_running()
 * is the context the signal interrupted, except while the thread is inside
 * coro_resume(), coro_yield() or coro_transfer(), or a coroutine's entry is
 * returning: there it may already be the context being switched to while
 * the stack is still the one being left, because the running context is
 * recorded before the stack pointer moves. It is always one of those two.
 * No other call of this library may be made from a signal handler. */
CORO_API coro *coro_running(void);

/* The calling thread's own context: the stack the thread started on. It can
 * be a transfer target, so that a scheduler written with coro_transfer()
 * alone can hand control back to it. */
CORO_API coro *coro_thread(void);

/* Nonzero when the caller runs inside a coroutine. */
CORO_API int coro_inside(void);

/* The name given at creation ("" when none; "thread" for a thread's own
 * context). NULL co: NULL. */
CORO_API const char *coro_name(const coro *co);

/* The user pointer given at creation or by coro_set_user_data(). */
CORO_API void *coro_user_data(const coro *co);
CORO_API void coro_set_user_data(coro *co, void *user_data);

/* Opt-in report of stack overflows. Installs a process-wide handler that
 * recognises a fault in the guard region of the coroutine the faulting
 * thread runs, writes one line to stderr, e.g.
 *   libcoro: stack overflow in coroutine "parser" (stack 64 KiB, fault at 0x7f...)
 * and lets the process die as it would have without the handler.
 * Recognised: overflows into the guard (a frame larger than the guard can
 * jump past it), of the running coroutine, with a library-mapped stack.
 *
 * POSIX: a handler for SIGSEGV and SIGBUS; the process dies by that same
 * signal (core dumps still work), and every other fault goes to the handler
 * installed before, untouched. The handler runs on an alternate signal
 * stack: this call gives one to the calling thread, and every thread gets
 * one at its next coro_create(); a stack a thread already has is kept. A
 * thread that runs coroutines without creating any calls this itself (again
 * is harmless), or its overflows die by SIGSEGV unreported. Threads free
 * their stacks when they exit. A handler installed after this one replaces
 * it.
 *
 * Windows: a vectored exception handler, first in the list. An overflow
 * raises STATUS_STACK_OVERFLOW on the coroutine's stack (every guard there
 * ends in 32 KiB of committed stack for the exception's dispatch); after the
 * line the exception goes on, unchanged, to the handlers added before and
 * to the frame handlers, and unhandled it ends the process with exit code
 * 0xC00000FD, as a thread's overflow does. Other exceptions pass untouched.
 * Nothing is needed per thread.
 *
 * Errors: CORO_ENOMEM (no memory for the alternate stack or the handler). */
CORO_API int coro_install_overflow_handler(void);

/* A fixed English sentence describing a coro_result value. */
CORO_API const char *coro_strerror(int result);

/*
 * Stack pool. coro_destroy() keeps the stack of a coroutine it mapped (not
 * an arena's or the caller's) in a pool of the calling thread, guard
 * included, and coro_create() reuses a pooled stack of the same shape (the
 * same stack_size and guard_size once rounded up to pages) before it asks
 * the system for a new one. Creating from the pool makes no system call and
 * allocates nothing: close to the cost of an unguarded malloc'd stack, with
 * the guard kept. A pool holds stacks of at most four shapes at a time.
 *
 * The pool is bounded by a number of stacks and by bytes of usable stack
 * (guards excluded: they hold no memory, whatever their size; this bounds
 * the memory pooled stacks hold); a
 * destroyed stack beyond either bound, or of a fifth shape, is unmapped at
 * once. Limits are per thread; a thread starts with the defaults below. A
 * thread that exits unmaps its pool; at process exit the system takes it.
 *
 * Pooled stacks keep the pages their coroutine dirtied, so a reused stack
 * costs no page faults. Dropping those pages at every destroy was measured
 * (bench/create_destroy, x86-64 Linux) at 10 times the cost of a pooled
 * create, short run and destroy with madvise(MADV_FREE), which moreover
 * leaves the pages counted as resident until the kernel runs short, and 60
 * times with MADV_DONTNEED, whose freed pages fault again on reuse. So it
 * is not done by default: call coro_pool_trim() where memory matters more,
 * for example when a server goes idle.
 */

/* Default bounds of each thread's pool. */
#define CORO_POOL_MAX_STACKS_DEFAULT 64
#define CORO_POOL_MAX_BYTES_DEFAULT ((size_t)16 * 1024 * 1024)

/* Sets the bounds of the calling thread's pool, unmapping pooled stacks
 * that exceed the new ones. (0, 0) turns pooling off for the thread. */
CORO_API void coro_pool_set_limits(size_t max_stacks, size_t max_bytes);

/* Gives the calling thread's pooled memory back to the system: unmaps
 * pooled stacks until at most keep_stacks remain, and drops the dirty pages
 * of those that remain (all but the top page of each) without unmapping
 * them. coro_pool_trim(0) empties the pool. */
CORO_API void coro_pool_trim(size_t keep_stacks);

/* The calling thread's pool now: stacks held and their usable bytes
 * (guards excluded). Either pointer may be NULL. */
CORO_API void coro_pool_usage(size_t *stacks, size_t *bytes);

/*
 * Stack arenas, for very many small coroutines. An arena reserves one
 * mapping for count stacks of one shape up front (address space only:
 * memory is committed as coroutines touch it) and hands them out to
 * coro_create() through coro_options.arena; coro_destroy() gives a stack
 * back to its arena for the next create, with no system call.
 *
 * The trade-off is the guard. With guard_size CORO_NO_GUARD the whole arena
 * is one mapping, so the mapping limit (see CORO_ENOMEM) never applies:
 * a million live coroutines of 4 KiB stacks fit in about 4 KiB of memory
 * each. But an overflow then silently overwrites the stack below, and the
 * top of every stack holds its coroutine's control block: size the stacks
 * with room to spare. With a guard (0: CORO_GUARD_DEFAULT, as everywhere) each stack
 * gets its guard the first time it is used: on Linux 6.13 and later a
 * page-table marker, and the arena stays one mapping; elsewhere an
 * mprotect that splits the mapping (two mappings per stack, as many as
 * separately mapped stacks, so the limit applies again). Either way one
 * system call at first use, and none at destroy.
 *
 * An arena is not thread-safe: create and destroy its coroutines on one
 * thread at a time (the coroutines themselves may run on any thread).
 */

/* Creates an arena for count stacks of stack_size usable bytes (0:
 * CORO_STACK_DEFAULT) above guard_size bytes of guard (0: CORO_GUARD_DEFAULT;
 * CORO_NO_GUARD: none). Errors: CORO_EINVAL (out NULL, count 0),
 * CORO_ESTACK, CORO_ENOMEM. */
CORO_API int coro_arena_create(coro_arena **out, size_t count, size_t stack_size, size_t guard_size);

/* Unmaps an arena whose coroutines have all been destroyed. Errors:
 * CORO_EINVAL (NULL), CORO_EBUSY (some are alive; nothing changes). */
CORO_API int coro_arena_destroy(coro_arena *arena);

/*
 * Seeing every coroutine: the stacks, the live coroutines, and (in
 * gdb/libcoro-gdb.py) a debugger extension that lists them and shows their
 * backtraces, live and in core files. Every coroutine from coro_create() to
 * coro_destroy() is in a process-wide registry that a debugger can read from
 * memory alone (src/registry.h documents its layout).
 */

/* A coroutine's stack, as coro_stack_info() sees it now. */
struct coro_stack_info {
    void *bottom;       /* lowest usable address (the guard, if any, lies below) */
    void *top;          /* one past the highest usable address (the control block starts here) */
    size_t usable;      /* top - bottom */
    size_t guard;       /* bytes of guard below bottom; 0 for none */
    size_t used;        /* bytes in use below top now (see coro_stack_info()) */
    size_t high_water;  /* bytes below top ever touched; 0 when not known (see coro_stack_info()) */
};

/* Describes co's stack. used: measured from the live stack pointer when co
 * runs on the calling thread, else from the stack pointer it saved when it
 * last switched away; 0 for a dead coroutine and for one running on
 * another thread, which keep no saved stack pointer. high_water: for stacks the library
 * mapped (its own or an arena's), the distance from top down to the lowest
 * page the kernel holds resident (mincore()), computed on each call and
 * nothing painted at create; it is a page-granular upper bound on the
 * deepest use, and it covers every coroutine that ever ran on that stack: a
 * pooled or arena stack keeps the pages of earlier coroutines (until
 * coro_pool_trim()). Swapped-out pages make it an underestimate. 0 (not
 * known) for caller-supplied stacks and on Windows. Errors: CORO_EINVAL
 * (NULL co or info), CORO_ETHREAD (a thread's own context, whose stack the
 * library did not make); on error *info is untouched. */
CORO_API int coro_stack_info(const coro *co, struct coro_stack_info *info);

/* Bytes of stack left to the running coroutine: from the stack pointer down
 * to its stack's bottom (where the guard starts). A few instructions, for a
 * check before a deep recursion. 0 outside a coroutine. */
CORO_API size_t coro_stack_remaining(void);

/* One coroutine, as coro_visit() shows it. */
struct coro_visit_info {
    coro *co;
    const char *name;
    enum coro_status status;
    void *user_data;
    struct coro_stack_info stack;
    int cancelled;      /* coro_cancel() has stopped it (see coro_cancelled()) */
};

/* Called by coro_visit() for each coroutine; nonzero stops the visit. */
typedef int (*coro_visitor)(const struct coro_visit_info *info, void *context);

/* Calls fn once for every live (created, not yet destroyed) coroutine, in no
 * particular order, from the calling thread; other threads may create,
 * destroy and run coroutines meanwhile. A coroutine created or destroyed
 * during the visit may or may not be seen; each one seen stays alive until
 * its fn returns. The status and stack of a coroutine that runs on another
 * thread may be out of date by the time fn reads them. fn must not create,
 * destroy or visit on the calling thread (those calls return CORO_EBUSY
 * there); a create or destroy on another thread may wait while fn runs (the
 * coroutines are visited in groups, each group under a lock that its
 * threads' creates and destroys take), so fn should be quick. Errors:
 * CORO_EINVAL (fn NULL), CORO_EBUSY (called from inside fn). */
CORO_API int coro_visit(coro_visitor fn, void *context);

/* The registry itself, for debuggers: plain memory that they read with no
 * help from the process, in core files too. It starts with a version
 * number and the offsets of every field a debugger reads; its layout is
 * documented in libcoro's source (src/registry.h), which the gdb extension
 * mirrors. Programs do not use it: they call coro_visit(). */
struct coro_registry;
CORO_API extern struct coro_registry coro_registry;

#ifdef __cplusplus
}
#endif

#endif /* CORO_H */
