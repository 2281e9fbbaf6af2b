/*
 * The model and the driver (see model.h).
 *
 * Every context runs the same driver loop: the thread's own context calls it
 * directly, and each "driver" coroutine calls it from its entry. One
 * operation at a time is chosen and performed by whichever context the model
 * says is running, so operations happen outside coroutines and at every
 * depth inside them. When a context switches away, its loop waits in the
 * library call; when control comes back, the value that arrives is checked
 * against the token the model says is in flight, and the loop goes on.
 *
 * Coroutines whose stack is too small for the driver run an "echo" entry
 * instead: each value that reaches it is sent straight back by a yield, or by
 * returning when the value's low bit says so. The model plays those replies
 * itself, so a switch into an echo coroutine lands back in a driver context
 * with a value the model predicted.
 *
 * The model is written from the rules in coro.h alone: the resumer chain,
 * transfer handing the transferrer's resumer to the target, a yield or return
 * with no resumer going to the thread's own context, and a failing call
 * returning its documented code while changing nothing; coro_cancel() (a
 * cancelled driver's pending switch and every later yield or transfer fail
 * with CORO_ECANCELED, an echo coroutine returns ECHO_CANCELLED) and the
 * hand-off hook (the _with calls: the hook runs exactly once per switch, with
 * the caller as `from`, already suspended). Where coro.h lists
 * several codes that apply at once without ordering them, any of them is
 * accepted.
 */
#include "model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coro.h"

/* Slot 0 is the thread's own context; 1 .. RANDOM_SLOTS are used by random
 * operations; SPARE is only used while unwinding. */
#define THREAD 0
#define RANDOM_SLOTS 8
#define SPARE (RANDOM_SLOTS + 1)
#define CONTEXTS (SPARE + 1)
#define NONE (-1)

/* Stack a coroutine needs to run the driver (which calls stdio on failure).
 * AddressSanitizer's redzones make frames several times larger. */
#if defined(__SANITIZE_ADDRESS__)
#define DRIVER_STACK ((size_t)192 * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DRIVER_STACK ((size_t)192 * 1024)
#endif
#endif
#ifndef DRIVER_STACK
#define DRIVER_STACK ((size_t)48 * 1024)
#endif

/* Caller-supplied stacks between CORO_STACK_MIN and this size may or may not
 * hold the library's bookkeeping as well; coro.h leaves that size open, so
 * the driver never asks for one in between. */
#define CALLER_STACK_SLACK ((size_t)8192)

/* Tokens: every value sent is unique. Bit 0 asks an echo coroutine to
 * return rather than yield; bit 2 marks an echo's reply. */
#define TOKEN_STEP 8
#define TOKEN_RETURN 1
#define TOKEN_ECHOED 4
/* What an echo coroutine returns when cancelled: no token has bit 1. */
#define ECHO_CANCELLED 2

/* Written into out-parameters of calls expected to fail, to see that they
 * stay untouched. */
#define UNTOUCHED ((void *)(uintptr_t)0x5e1f)

struct context {
    coro *handle;           /* NULL: slot empty */
    enum coro_status status;
    int resumer;            /* slot, or NONE */
    int driver;             /* runs the driver loop; otherwise echoes */
    void *caller_stack;     /* malloc'ed stack handed to coro_create, or NULL */
    char name[CORO_NAME_MAX];
    void *user_data;
    int started;            /* has run: a cancel then switches to it */
    int cancelled;          /* coro_cancel() has stopped it */
};

static struct context ctx[CONTEXTS];
static int model_running;
static uintptr_t in_flight;     /* what the context that wakes up next must receive */
static uintptr_t last_token;
static unsigned long ops_done;
static unsigned long ops_limit;
static int unwinding;
static int tracing;
static const struct model_source *src;
static int cancel_wakeup;       /* the context that wakes up next was cancelled: its switch fails */

/* What the hook of the last _with call saw, and what the model expects. */
static struct {
    int expected;
    coro *expected_from;
    enum coro_status expected_status;
    int runs;
    coro *from;
    enum coro_status from_status;
    int yield_result, arg_ok, running_ok;
} hook_seen;

static const char *const status_names[] = {"suspended", "running", "normal", "dead"};

static unsigned choose(unsigned n)
{
    return n <= 1 ? 0 : src->choose(src->state, n);
}

static void fail(const char *what, long expected, long got)
{
    fprintf(stderr, "model mismatch at operation %lu: %s (expected %ld, got %ld)\n", ops_done, what,
            expected, got);
    fflush(stderr);
    src->fail(src->state);
    abort(); /* fail() must not return */
}

static void check(int ok, const char *what, long expected, long got)
{
    if (!ok)
        fail(what, expected, got);
}

static void trace(const char *what, int self, int target, int result)
{
    if (tracing)
        fprintf(stderr, "%6lu ctx %d: %-9s %3d -> %d\n", ops_done, self, what, target, result);
}

static uintptr_t new_token(void)
{
    last_token += TOKEN_STEP;
    return last_token;
}

static int resumer_or_thread(int slot)
{
    return ctx[slot].resumer != NONE ? ctx[slot].resumer : THREAD;
}

/* The context a yield or return of `slot` goes to. With no resumer, the
 * chain was started by a transfer from the thread's own context, which must
 * then be waiting in that transfer; anything else is a bug in the model. */
static int yield_target(int slot)
{
    int to = resumer_or_thread(slot);
    check(to != THREAD || ctx[slot].resumer != NONE || ctx[THREAD].status == CORO_SUSPENDED,
          "model invariant: no resumer but the thread's context is not suspended", CORO_SUSPENDED,
          ctx[THREAD].status);
    return to;
}

/* Control goes to `to` carrying value; the context leaving has already been
 * given its new status and links. Echo coroutines reply at once, so this
 * follows them until a context that runs the driver has control. */
static void model_switch(int to, uintptr_t value)
{
    for (;;) {
        ctx[to].status = CORO_RUNNING;
        ctx[to].started = 1;
        model_running = to;
        if (to == THREAD || ctx[to].driver) {
            in_flight = value;
            return;
        }
        int next = yield_target(to);
        ctx[to].resumer = NONE;
        ctx[to].status = (value & TOKEN_RETURN) ? CORO_DEAD : CORO_SUSPENDED;
        value |= TOKEN_ECHOED;
        to = next;
    }
}

/* Control has come back to a driver context, receiving value (when it asked
 * for it). Returns the slot it runs as. */
static int arrive(int have_value, void *value)
{
    check(coro_running() == ctx[model_running].handle, "the context that woke up is the one expected",
          model_running, -1);
    if (have_value)
        check((uintptr_t)value == in_flight, "value received", (long)in_flight, (long)(uintptr_t)value);
    if (hook_seen.expected) {
        check(hook_seen.runs == 1, "the hook ran once", 1, hook_seen.runs);
        check(hook_seen.from == hook_seen.expected_from, "the hook's from is the caller", 0, -1);
        check(hook_seen.from_status == hook_seen.expected_status, "the caller is suspended when the hook runs",
              hook_seen.expected_status, hook_seen.from_status);
        check(hook_seen.yield_result == CORO_EOUTSIDE, "a yield in a hook", CORO_EOUTSIDE, hook_seen.yield_result);
        check(hook_seen.arg_ok && hook_seen.running_ok, "the hook's arg and context", 1, 0);
        hook_seen.expected = 0;
    }
    return model_running;
}

/* Library and model agree on everything observable. */
static void check_all(void)
{
    for (int i = 0; i < CONTEXTS; i++) {
        if (ctx[i].handle == NULL)
            continue;
        enum coro_status status = coro_status(ctx[i].handle);
        if (status != ctx[i].status) {
            fprintf(stderr, "context %d is %s, the model says %s\n", i,
                    status <= CORO_DEAD ? status_names[status] : "out of range", status_names[ctx[i].status]);
            fail("status", ctx[i].status, status);
        }
        check(strcmp(coro_name(ctx[i].handle), ctx[i].name) == 0, "name", i, -1);
        check(coro_user_data(ctx[i].handle) == ctx[i].user_data, "user data", i, -1);
        check(coro_cancelled(ctx[i].handle) == ctx[i].cancelled, "coro_cancelled", ctx[i].cancelled,
              coro_cancelled(ctx[i].handle));
    }
    check(coro_running() == ctx[model_running].handle, "coro_running()", model_running, -1);
    check(coro_inside() == (model_running != THREAD), "coro_inside()", model_running != THREAD,
          coro_inside());
    check(coro_thread() == ctx[THREAD].handle, "coro_thread() is constant", 0, -1);
    check(coro_status(NULL) == CORO_DEAD, "coro_status(NULL)", CORO_DEAD, coro_status(NULL));
}

#define BIT(code) (1u << (code))

/* The error for acting on a context in this state, as coro.h names it. */
static unsigned state_error(int slot)
{
    switch (ctx[slot].status) {
    case CORO_DEAD: return BIT(CORO_EDEAD);
    case CORO_RUNNING: return BIT(CORO_ERUNNING);
    case CORO_NORMAL: return BIT(CORO_ENORMAL);
    case CORO_SUSPENDED: break;
    }
    return 0;
}

/* A call expected to fail with one of the codes in `allowed`. */
static void check_error(const char *what, unsigned allowed, int result)
{
    check(result != CORO_OK && result >= 0 && result < 32 && (allowed & BIT(result)) != 0, what,
          (long)allowed, result);
}

/* A target for resume, transfer, destroy or status: mostly a live slot,
 * sometimes the thread, the caller itself, or NULL. Returns the slot, or
 * NONE for NULL. */
static int pick_target(int self)
{
    unsigned pick = choose(16);
    if (pick == 0)
        return NONE;
    if (pick == 1)
        return THREAD;
    if (pick == 2)
        return self;
    int start = 1 + (int)choose(RANDOM_SLOTS);
    for (int i = 0; i < RANDOM_SLOTS; i++) {
        int slot = 1 + (start - 1 + i) % RANDOM_SLOTS;
        if (ctx[slot].handle != NULL)
            return slot;
    }
    return NONE;
}

static coro *handle_of(int slot)
{
    return slot == NONE ? NULL : ctx[slot].handle;
}

/* A value to send: unique, and when it goes to an echo coroutine, sometimes
 * asking it to return. */
static uintptr_t value_for(int target)
{
    uintptr_t token = new_token();
    if (target > THREAD && !ctx[target].driver && !unwinding && choose(4) == 0)
        token |= TOKEN_RETURN;
    return token;
}

static void model_hook(void *arg, coro *from)
{
    hook_seen.runs++;
    hook_seen.from = from;
    hook_seen.from_status = coro_status(from);
    hook_seen.arg_ok = arg == &hook_seen;
    hook_seen.running_ok = coro_running() != from && strcmp(coro_name(coro_running()), "hook") == 0;
    hook_seen.yield_result = coro_yield(NULL, NULL);
}

/* Whether the next switch goes through a hook; if so, what it must see. */
static int want_hook(int self, enum coro_status from_status)
{
    hook_seen.runs = 0;
    if (choose(4) != 0)
        return 0;
    hook_seen.expected_from = ctx[self].handle;
    hook_seen.expected_status = from_status;
    return 1;
}

/* The switch a driver waited in has returned: with CORO_OK and the value in
 * flight, or, when it was cancelled meanwhile, with CORO_ECANCELED and
 * nothing delivered. */
static void woke(const char *what, int rc, void **out, void *value)
{
    if (cancel_wakeup) {
        cancel_wakeup = 0;
        check(rc == CORO_ECANCELED, "a cancelled switch", CORO_ECANCELED, rc);
        check(value == UNTOUCHED, "a cancelled switch delivers nothing", 0, -1);
        arrive(0, NULL);
        return;
    }
    check(rc == CORO_OK, what, CORO_OK, rc);
    arrive(out != NULL, value);
}

static void op_resume(int self)
{
    int target = pick_target(self);
    void *result = UNTOUCHED;
    void **result_ptr = choose(8) == 0 ? NULL : &result;
    unsigned errors = target == NONE ? BIT(CORO_EINVAL) : state_error(target);
    if (target == THREAD)
        errors |= BIT(CORO_ETHREAD);
    int hook = want_hook(self, CORO_NORMAL);
    if (errors != 0) {
        int rc = hook ? coro_resume_with(handle_of(target), (void *)new_token(), result_ptr, model_hook, &hook_seen)
                      : coro_resume(handle_of(target), (void *)new_token(), result_ptr);
        trace("resume", self, target, rc);
        check_error("resume refused", errors, rc);
        check(result == UNTOUCHED, "a refused resume leaves *result alone", 0, -1);
        check(hook_seen.runs == 0, "a refused resume runs no hook", 0, hook_seen.runs);
        return;
    }
    uintptr_t token = value_for(target);
    ctx[self].status = CORO_NORMAL;
    ctx[target].resumer = self;
    model_switch(target, token);
    trace(hook ? "resume+h" : "resume", self, target, 0);
    hook_seen.expected = hook;
    int rc = hook ? coro_resume_with(ctx[target].handle, (void *)token, result_ptr, model_hook, &hook_seen)
                  : coro_resume(ctx[target].handle, (void *)token, result_ptr);
    check(rc == CORO_OK, "resume", CORO_OK, rc);
    arrive(result_ptr != NULL, result);
}

static void op_yield(int self)
{
    void *resumed_with = UNTOUCHED;
    void **resumed_ptr = choose(8) == 0 ? NULL : &resumed_with;
    int hook = want_hook(self, CORO_SUSPENDED);
    if (self == THREAD || ctx[self].cancelled) {
        int rc = hook ? coro_yield_with((void *)new_token(), resumed_ptr, model_hook, &hook_seen)
                      : coro_yield((void *)new_token(), resumed_ptr);
        trace("yield", self, NONE, rc);
        check_error("yield refused", BIT(self == THREAD ? CORO_EOUTSIDE : CORO_ECANCELED), rc);
        check(resumed_with == UNTOUCHED, "a refused yield leaves *resumed_with alone", 0, -1);
        check(hook_seen.runs == 0, "a refused yield runs no hook", 0, hook_seen.runs);
        return;
    }
    int to = yield_target(self);
    uintptr_t token = value_for(to);
    ctx[self].status = CORO_SUSPENDED;
    ctx[self].resumer = NONE;
    model_switch(to, token);
    trace(hook ? "yield+h" : "yield", self, to, 0);
    hook_seen.expected = hook;
    int rc = hook ? coro_yield_with((void *)token, resumed_ptr, model_hook, &hook_seen)
                  : coro_yield((void *)token, resumed_ptr);
    woke("yield", rc, resumed_ptr, resumed_with);
}

static void transfer_to(int self, int target)
{
    void *result = UNTOUCHED;
    void **result_ptr = choose(8) == 0 ? NULL : &result;
    unsigned errors = target == NONE ? BIT(CORO_EINVAL) : state_error(target);
    if (errors == 0 && ctx[self].cancelled)
        errors = BIT(CORO_ECANCELED);
    int hook = want_hook(self, CORO_SUSPENDED);
    if (errors != 0) {
        int rc = hook ? coro_transfer_with(handle_of(target), (void *)new_token(), result_ptr, model_hook, &hook_seen)
                      : coro_transfer(handle_of(target), (void *)new_token(), result_ptr);
        trace("transfer", self, target, rc);
        check_error("transfer refused", errors, rc);
        check(result == UNTOUCHED, "a refused transfer leaves *result alone", 0, -1);
        check(hook_seen.runs == 0, "a refused transfer runs no hook", 0, hook_seen.runs);
        return;
    }
    uintptr_t token = value_for(target);
    ctx[target].resumer = ctx[self].resumer;
    ctx[self].resumer = NONE;
    ctx[self].status = CORO_SUSPENDED;
    model_switch(target, token);
    trace(hook ? "transfer+h" : "transfer", self, target, 0);
    hook_seen.expected = hook;
    int rc = hook ? coro_transfer_with(ctx[target].handle, (void *)token, result_ptr, model_hook, &hook_seen)
                  : coro_transfer(ctx[target].handle, (void *)token, result_ptr);
    woke("transfer", rc, result_ptr, result);
}

static void *driver_entry(void *value);
static void *echo_entry(void *value);

/* Stack sizes worth trying: refused ones, the smallest, echo-sized and
 * driver-sized ones, and the default. */
static size_t pick_stack_size(void)
{
    switch (choose(8)) {
    case 0: return 1 + choose(CORO_STACK_MIN - 1);
    case 1: return CORO_STACK_MIN;
    case 2: return CORO_STACK_MIN + choose(4 * 4096);
    case 3: return 0;
    case 4: return 0;
    default: return DRIVER_STACK + choose(64 * 1024);
    }
}

static void pick_name(char *buffer, size_t size, const char **name)
{
    unsigned kind = choose(4);
    if (kind == 0) {
        *name = NULL;
        return;
    }
    size_t length = kind == 1 ? 0 : kind == 2 ? choose(CORO_NAME_MAX) : CORO_NAME_MAX + choose(16);
    if (length >= size)
        length = size - 1;
    for (size_t i = 0; i < length; i++)
        buffer[i] = (char)('a' + choose(26));
    buffer[length] = '\0';
    *name = buffer;
}

static void op_create(int self, int slot)
{
    struct coro_options opts;
    memset(&opts, 0, sizeof opts);
    char name_buffer[CORO_NAME_MAX + 32];
    unsigned errors = 0;
    size_t usable;

    if (choose(3) == 0) {
        /* A caller-supplied stack. */
        switch (choose(6)) {
        case 0: opts.stack_size = 0; errors |= BIT(CORO_EINVAL); break;
        case 1: opts.stack_size = 1 + choose(CORO_STACK_MIN - 1); errors |= BIT(CORO_ESTACK); break;
        case 2: opts.stack_size = CORO_STACK_MIN + CALLER_STACK_SLACK + choose(8192); break;
        default: opts.stack_size = DRIVER_STACK + choose(32 * 1024); break;
        }
        switch (choose(8)) {
        case 0: opts.guard_size = CORO_NO_GUARD; break;
        case 1: opts.guard_size = 1 + choose(3 * 4096); errors |= BIT(CORO_EINVAL); break;
        default: break;
        }
        usable = opts.stack_size;
        opts.stack = malloc(opts.stack_size != 0 ? opts.stack_size : 64);
        check(opts.stack != NULL, "malloc for a caller stack", 1, 0);
    } else {
        opts.stack_size = pick_stack_size();
        if (opts.stack_size != 0 && opts.stack_size < CORO_STACK_MIN)
            errors |= BIT(CORO_ESTACK);
        switch (choose(4)) {
        case 0: opts.guard_size = CORO_NO_GUARD; break;
        case 1: opts.guard_size = 1 + choose(4 * 4096); break;
        default: break;
        }
        usable = opts.stack_size != 0 ? opts.stack_size : CORO_STACK_DEFAULT;
    }
    pick_name(name_buffer, sizeof name_buffer, &opts.name);
    opts.user_data = (void *)new_token();

    int driver = usable >= DRIVER_STACK && choose(4) != 0;
    coro_entry entry = driver ? driver_entry : echo_entry;
    coro *created = UNTOUCHED;
    coro **out = &created;
    switch (choose(64)) {
    case 0: out = NULL; errors |= BIT(CORO_EINVAL); break;
    case 1: entry = NULL; errors |= BIT(CORO_EINVAL); break;
    default: break;
    }

    /* NULL options mean all defaults, user data and name included. */
    const struct coro_options *opts_given = &opts;
    if (opts.stack == NULL && opts.stack_size == 0 && opts.guard_size == 0 && choose(2) == 0) {
        opts_given = NULL;
        opts.name = NULL;
        opts.user_data = NULL;
    }
    int rc = coro_create(out, entry, opts_given);
    trace("create", self, slot, rc);
    if (errors != 0) {
        check_error("create refused", errors, rc);
        check(created == UNTOUCHED, "a refused create leaves *out alone", 0, -1);
        free(opts.stack);
        return;
    }
    check(rc == CORO_OK, "create", CORO_OK, rc);
    struct context *c = &ctx[slot];
    c->handle = created;
    c->status = CORO_SUSPENDED;
    c->resumer = NONE;
    c->driver = driver;
    c->caller_stack = opts.stack;
    memset(c->name, 0, sizeof c->name);
    if (opts.name != NULL)
        strncpy(c->name, opts.name, CORO_NAME_MAX - 1);
    c->user_data = opts.user_data;
}

static void forget(int slot)
{
    free(ctx[slot].caller_stack);
    memset(&ctx[slot], 0, sizeof ctx[slot]);
}

static void op_destroy(int self)
{
    int target = pick_target(self);
    unsigned errors;
    if (target == NONE)
        errors = BIT(CORO_EINVAL);
    else if (target == THREAD)
        errors = BIT(CORO_ETHREAD) | state_error(THREAD);
    else
        errors = ctx[target].status == CORO_DEAD ? 0 : state_error(target);
    int rc = coro_destroy(handle_of(target));
    trace("destroy", self, target, rc);
    if (errors != 0) {
        check_error("destroy refused", errors, rc);
        return;
    }
    check(rc == CORO_OK, "destroy", CORO_OK, rc);
    forget(target);
}

static void op_query(int self)
{
    int target = pick_target(self);
    switch (choose(4)) {
    case 0:
        check(coro_status(handle_of(target)) == (target == NONE ? CORO_DEAD : ctx[target].status),
              "coro_status", target, -1);
        break;
    case 1:
        if (target == NONE)
            check(coro_name(NULL) == NULL && coro_user_data(NULL) == NULL, "queries on NULL", 0, -1);
        else
            check(strcmp(coro_name(ctx[target].handle), target == THREAD ? "thread" : ctx[target].name) == 0,
                  "coro_name", target, -1);
        break;
    case 2:
        if (target != NONE) {
            ctx[target].user_data = (void *)new_token();
            coro_set_user_data(ctx[target].handle, ctx[target].user_data);
        } else {
            coro_set_user_data(NULL, UNTOUCHED);
        }
        break;
    default:
        check(coro_running() == ctx[self].handle, "coro_running() is the caller", self, -1);
        check(coro_inside() == (self != THREAD), "coro_inside()", self != THREAD, coro_inside());
        break;
    }
}

static void op_cancel(int self)
{
    int target = pick_target(self);
    void *result = UNTOUCHED;
    void **result_ptr = choose(8) == 0 ? NULL : &result;
    unsigned errors = target == NONE ? BIT(CORO_EINVAL) : state_error(target);
    if (target == THREAD)
        errors |= BIT(CORO_ETHREAD);
    if (errors != 0) {
        int rc = coro_cancel(handle_of(target), result_ptr);
        trace("cancel", self, target, rc);
        check_error("cancel refused", errors, rc);
        check(result == UNTOUCHED, "a refused cancel leaves *result alone", 0, -1);
        return;
    }
    ctx[target].cancelled = 1;
    if (!ctx[target].started) {
        ctx[target].status = CORO_DEAD;
        int rc = coro_cancel(ctx[target].handle, result_ptr);
        trace("cancel", self, target, rc);
        check(rc == CORO_OK, "cancel before start", CORO_OK, rc);
        check(result_ptr == NULL || result == NULL, "cancel before start: NULL result", 0, -1);
        return;
    }
    ctx[self].status = CORO_NORMAL;
    ctx[target].resumer = self;
    if (ctx[target].driver) {
        ctx[target].status = CORO_RUNNING;
        model_running = target;
        cancel_wakeup = 1;
    } else {
        /* An echo coroutine's failed yield makes it return at once. */
        ctx[target].status = CORO_DEAD;
        ctx[target].resumer = NONE;
        ctx[self].status = CORO_RUNNING;
        model_running = self;
        in_flight = ECHO_CANCELLED;
    }
    trace("cancel", self, target, 0);
    int rc = coro_cancel(ctx[target].handle, result_ptr);
    check(rc == CORO_OK, "cancel", CORO_OK, rc);
    arrive(result_ptr != NULL, result);
}

/* A driver coroutine's entry returns: control goes where a yield would. */
static void *finish(int self)
{
    int to = yield_target(self);
    uintptr_t token = value_for(to);
    ctx[self].status = CORO_DEAD;
    ctx[self].resumer = NONE;
    model_switch(to, token);
    trace("return", self, to, 0);
    return (void *)token;
}

/* While unwinding, the thread's own context may still have a resumer (a
 * coroutine transferred to it); a coroutine must then take its place and
 * yield, or that resumer would wait for ever. */
static void unwind_thread(void)
{
    int target = NONE;
    for (int slot = 1; slot < CONTEXTS && target == NONE; slot++)
        if (ctx[slot].handle != NULL && ctx[slot].status == CORO_SUSPENDED)
            target = slot;
    if (target == NONE) {
        check(ctx[SPARE].handle == NULL, "spare slot free while unwinding", 0, 1);
        int rc = coro_create(&ctx[SPARE].handle, driver_entry, NULL);
        check(rc == CORO_OK, "create while unwinding", CORO_OK, rc);
        ctx[SPARE].status = CORO_SUSPENDED;
        ctx[SPARE].resumer = NONE;
        ctx[SPARE].driver = 1;
        target = SPARE;
    }
    transfer_to(THREAD, target);
}

/* The loop every context runs. Returns only from the thread's own context
 * (once everything is unwound) or from a coroutine choosing to return, with
 * the value its entry must return. */
static void *drive(int self)
{
    for (;;) {
        check_all();
        if (!unwinding && (ops_done >= ops_limit || src->exhausted(src->state)))
            unwinding = 1;
        if (unwinding) {
            if (self != THREAD && ctx[self].cancelled) {
                return finish(self);
            } else if (self != THREAD) {
                op_yield(self);
            } else if (ctx[THREAD].resumer != NONE) {
                unwind_thread();
            } else {
                return NULL;
            }
            continue;
        }
        ops_done++;
        unsigned op = choose(100);
        if (op < 18) {
            op_resume(self);
        } else if (op < 33) {
            /* From the thread's own context a yield can only be refused:
             * mostly resume instead, so that chains grow deeper. */
            if (self == THREAD && choose(4) != 0)
                op_resume(self);
            else
                op_yield(self);
        } else if (op < 48) {
            transfer_to(self, pick_target(self));
        } else if ((op < 52 || (op < 58 && ctx[self].cancelled)) && self != THREAD) {
            return finish(self);
        } else if (op < 58) {
            op_cancel(self);
        } else if (op < 66) {
            int slot = 1 + (int)choose(RANDOM_SLOTS);
            for (int i = 0; i < RANDOM_SLOTS && ctx[slot].handle != NULL; i++)
                slot = 1 + slot % RANDOM_SLOTS;
            if (ctx[slot].handle == NULL)
                op_create(self, slot);
            else
                op_destroy(self);
        } else if (op < 78) {
            op_destroy(self);
        } else {
            op_query(self);
        }
    }
}

static void *driver_entry(void *value)
{
    int self = arrive(1, value);
    return drive(self);
}

static void *echo_entry(void *value)
{
    for (;;) {
        uintptr_t token = (uintptr_t)value;
        if (token & TOKEN_RETURN)
            return (void *)(token | TOKEN_ECHOED);
        if (coro_yield((void *)(token | TOKEN_ECHOED), &value) == CORO_ECANCELED)
            return (void *)ECHO_CANCELLED;
    }
}

unsigned long model_run(const struct model_source *source, unsigned long max_ops, int trace_ops)
{
    src = source;
    tracing = trace_ops;
    ops_done = 0;
    ops_limit = max_ops;
    unwinding = 0;
    memset(ctx, 0, sizeof ctx);
    ctx[THREAD].handle = coro_thread();
    ctx[THREAD].status = CORO_RUNNING;
    ctx[THREAD].resumer = NONE;
    ctx[THREAD].driver = 1;
    memcpy(ctx[THREAD].name, "thread", sizeof "thread");
    ctx[THREAD].user_data = coro_user_data(coro_thread());
    model_running = THREAD;
    check(!coro_inside(), "model_run called outside any coroutine", 0, 1);

    drive(THREAD);

    check(model_running == THREAD && ctx[THREAD].resumer == NONE, "unwound to the thread", THREAD,
          model_running);
    for (int slot = 1; slot < CONTEXTS; slot++) {
        if (ctx[slot].handle == NULL)
            continue;
        int rc = coro_destroy(ctx[slot].handle);
        check(rc == CORO_OK, "destroy after unwinding", CORO_OK, rc);
        forget(slot);
    }
    check_all();
    return ops_done;
}
