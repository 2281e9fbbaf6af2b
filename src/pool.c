/*
 * The per-thread stack pool and stack arenas: portable bookkeeping over the
 * system calls of stack.h.
 *
 * A free stack (pooled, or free in an arena) carries its own list link in
 * its top word, where its next coroutine's control block will go: keeping a
 * stack costs no memory besides the stack, and handing one out touches only
 * the page that create writes anyway.
 *
 * Sanitizers and valgrind: a stack changes hands only in pool_pop() /
 * pool_push() and arena_pop() / arena_push(). Code that must tell such a
 * tool that a stack's old contents are gone belongs there.
 */
#include "pool.h"

#include <stdint.h>
#include <stdlib.h>

#include "compiler.h"

/* The link a free stack holds in its top word. */
struct free_stack {
    struct free_stack *next;
};

/* The pooled stacks of one shape. An entry keeps its shape while empty (the
 * next destroy most likely brings that shape back), and is given another
 * only when a stack of a new shape needs one. */
struct pool_shape {
    size_t mapping_size;    /* usable + guard bytes */
    size_t guard_size;
    struct free_stack *stacks;
};

#define POOL_SHAPES 4

/* A thread's pool, allocated when it first keeps a stack. Not in
 * thread-local storage itself: the thread-exit hook gets this block, which
 * stays valid however the system orders its own thread-exit work (an
 * emulated thread-local block may already be gone by then). */
struct pool {
    struct pool_shape shapes[POOL_SHAPES];
    size_t stacks;          /* held, over all shapes */
    size_t bytes;           /* their usable sizes (mapping less guard), summed */
};

/* What each thread keeps in thread-local storage: a few words, which also
 * keeps libcoro's share of the static TLS area small. */
struct pool_anchor {
    struct pool *pool;          /* NULL until the thread keeps a stack */
    size_t max_stacks;          /* meaningful once limits_set */
    size_t max_bytes;
    unsigned char limits_set;   /* else the defaults apply */
    unsigned char closed;       /* keeps nothing: thread exiting, or no pool possible */
};

static THREAD_LOCAL struct pool_anchor this_anchor;

struct coro_arena {
    char *memory;
    size_t memory_size;
    size_t slot_size;       /* guard + usable bytes */
    size_t guard_size;
    size_t capacity;        /* slots */
    size_t carved;          /* slots used at least once; the rest are untouched */
    size_t live;            /* stacks handed out and not given back */
    struct free_stack *free;
};

/* The descriptor of the stack whose top word is link. */
static void stack_at(struct coro_stack *stack, struct free_stack *link, size_t mapping_size, size_t guard_size)
{
    char *top = (char *)(link + 1);
    stack->mapping = top - mapping_size;
    stack->mapping_size = mapping_size;
    stack->bottom = (char *)stack->mapping + guard_size;
    stack->top = top;
}

static struct free_stack *link_of(const struct coro_stack *stack)
{
    return (struct free_stack *)((char *)stack->mapping + stack->mapping_size) - 1;
}

static size_t max_stacks_of(const struct pool_anchor *anchor)
{
    return anchor->limits_set ? anchor->max_stacks : CORO_POOL_MAX_STACKS_DEFAULT;
}

static size_t max_bytes_of(const struct pool_anchor *anchor)
{
    return anchor->limits_set ? anchor->max_bytes : CORO_POOL_MAX_BYTES_DEFAULT;
}

/* A stack leaves the pool for a new coroutine. */
static void pool_pop(struct pool *pool, struct pool_shape *shape, struct coro_stack *stack)
{
    struct free_stack *link = shape->stacks;
    shape->stacks = link->next;
    pool->stacks--;
    pool->bytes -= shape->mapping_size - shape->guard_size;
    stack_at(stack, link, shape->mapping_size, shape->guard_size);
}

/* A destroyed coroutine's stack enters the pool. */
static void pool_push(struct pool *pool, struct pool_shape *shape, const struct coro_stack *stack)
{
    struct free_stack *link = link_of(stack);
    link->next = shape->stacks;
    shape->stacks = link;
    pool->stacks++;
    pool->bytes += shape->mapping_size - shape->guard_size;
}

/* Unmaps one pooled stack, from the first shape that has one. Returns 0
 * when the pool is empty. */
static int pool_unmap_one(struct pool *pool)
{
    for (int i = 0; i < POOL_SHAPES; i++) {
        struct pool_shape *shape = &pool->shapes[i];
        if (shape->stacks != NULL) {
            struct coro_stack stack;
            pool_pop(pool, shape, &stack);
            coro_stack_unmap(&stack);
            return 1;
        }
    }
    return 0;
}

static void pool_shrink(struct pool *pool, size_t max_stacks, size_t max_bytes)
{
    while ((pool->stacks > max_stacks || pool->bytes > max_bytes) && pool_unmap_one(pool)) {
    }
}

int coro_stack_pool_get(struct coro_stack *stack, size_t usable, size_t guard)
{
    size_t usable_bytes, guard_bytes;
    if (!coro_stack_round(usable, guard, &usable_bytes, &guard_bytes))
        return CORO_ENOMEM;

    struct pool *pool = this_anchor.pool;
    size_t mapping_size = usable_bytes + guard_bytes;
    for (int i = 0; pool != NULL && i < POOL_SHAPES; i++) {
        struct pool_shape *shape = &pool->shapes[i];
        if (shape->mapping_size == mapping_size && shape->guard_size == guard_bytes) {
            if (shape->stacks == NULL)
                break;
            pool_pop(pool, shape, stack);
            return CORO_OK;
        }
    }
    return coro_stack_map(stack, usable_bytes, guard_bytes);
}

/* The pool's entry for the stack's shape: the one of that shape, else an
 * empty one, which takes the shape. NULL when all hold stacks of others. */
static struct pool_shape *shape_for(struct pool *pool, size_t mapping_size, size_t guard_size)
{
    for (int i = 0; i < POOL_SHAPES; i++) {
        struct pool_shape *shape = &pool->shapes[i];
        if (shape->mapping_size == mapping_size && shape->guard_size == guard_size)
            return shape;
    }
    for (int i = 0; i < POOL_SHAPES; i++) {
        struct pool_shape *shape = &pool->shapes[i];
        if (shape->stacks == NULL) {
            shape->mapping_size = mapping_size;
            shape->guard_size = guard_size;
            return shape;
        }
    }
    return NULL;
}

/* The calling thread's pool, set up on first use: allocated, and to be
 * emptied when the thread exits. NULL when either is impossible; the
 * thread then keeps no stacks. */
static struct pool *pool_open(struct pool_anchor *anchor)
{
    if (anchor->pool != NULL || anchor->closed)
        return anchor->pool;
    struct pool *pool = CORO_INJECTED_FAILURE() ? NULL : calloc(1, sizeof *pool);
    if (pool == NULL || coro_stack_watch_thread(pool) != CORO_OK) {
        free(pool);
        anchor->closed = 1;
        return NULL;
    }
    anchor->pool = pool;
    return pool;
}

void coro_stack_pool_put(const struct coro_stack *stack)
{
    struct pool_anchor *anchor = &this_anchor;
    struct pool *pool = anchor->pool;
    size_t held = pool != NULL ? pool->stacks : 0;
    size_t held_bytes = pool != NULL ? pool->bytes : 0;
    size_t guard_size = (size_t)((char *)stack->bottom - (char *)stack->mapping);
    /* Guards count for nothing: they are address space, never memory, and
     * the default one is larger than many stacks. */
    size_t usable_size = stack->mapping_size - guard_size;
    if (held < max_stacks_of(anchor) && usable_size <= max_bytes_of(anchor) - held_bytes
        && (pool = pool_open(anchor)) != NULL) {
        struct pool_shape *shape = shape_for(pool, stack->mapping_size, guard_size);
        if (shape != NULL) {
            pool_push(pool, shape, stack);
            return;
        }
    }
    coro_stack_unmap(stack);
}

void coro_stack_thread_exit(void *thread_pool)
{
    struct pool *pool = thread_pool;
    pool_shrink(pool, 0, 0);
    free(pool);
    /* Destructors of other keys may still destroy coroutines on this
     * thread: their stacks are unmapped at once from now on. */
    this_anchor.pool = NULL;
    this_anchor.closed = 1;
}

void coro_pool_set_limits(size_t max_stacks, size_t max_bytes)
{
    struct pool_anchor *anchor = &this_anchor;
    anchor->max_stacks = max_stacks;
    anchor->max_bytes = max_bytes;
    anchor->limits_set = 1;
    if (anchor->pool != NULL)
        pool_shrink(anchor->pool, max_stacks, max_bytes);
}

void coro_pool_trim(size_t keep_stacks)
{
    struct pool *pool = this_anchor.pool;
    if (pool == NULL)
        return;
    pool_shrink(pool, keep_stacks, SIZE_MAX);

    /* The top page holds the list link, and the next coroutine writes its
     * control block there anyway: dropping it would only cost a fault. */
    size_t page = coro_stack_page_size();
    for (int i = 0; i < POOL_SHAPES; i++) {
        struct pool_shape *shape = &pool->shapes[i];
        for (struct free_stack *link = shape->stacks; link != NULL; link = link->next) {
            struct coro_stack stack;
            stack_at(&stack, link, shape->mapping_size, shape->guard_size);
            size_t below_top = (size_t)((char *)stack.top - (char *)stack.bottom) - page;
            if (below_top != 0)
                coro_stack_discard(stack.bottom, below_top);
        }
    }
}

void coro_pool_usage(size_t *stacks, size_t *bytes)
{
    const struct pool *pool = this_anchor.pool;
    if (stacks != NULL)
        *stacks = pool != NULL ? pool->stacks : 0;
    if (bytes != NULL)
        *bytes = pool != NULL ? pool->bytes : 0;
}

int coro_stack_arena_new(coro_arena **out, size_t count, size_t usable, size_t guard)
{
    size_t usable_bytes, guard_bytes;
    if (!coro_stack_round(usable, guard, &usable_bytes, &guard_bytes))
        return CORO_ENOMEM;
    size_t slot_size = usable_bytes + guard_bytes;
    if (count > SIZE_MAX / slot_size)
        return CORO_ENOMEM;

    coro_arena *arena = CORO_INJECTED_FAILURE() ? NULL : malloc(sizeof *arena);
    if (arena == NULL)
        return CORO_ENOMEM;
    arena->memory_size = count * slot_size;
    arena->memory = coro_stack_reserve(arena->memory_size);
    if (arena->memory == NULL) {
        free(arena);
        return CORO_ENOMEM;
    }
    arena->slot_size = slot_size;
    arena->guard_size = guard_bytes;
    arena->capacity = count;
    arena->carved = 0;
    arena->live = 0;
    arena->free = NULL;
    *out = arena;
    return CORO_OK;
}

/* A stack of the arena leaves for a new coroutine. */
static void arena_pop(coro_arena *arena, struct coro_stack *stack)
{
    struct free_stack *link = arena->free;
    arena->free = link->next;
    stack_at(stack, link, arena->slot_size, arena->guard_size);
}

/* A destroyed coroutine's stack goes back to its arena. */
static void arena_push(coro_arena *arena, const struct coro_stack *stack)
{
    struct free_stack *link = link_of(stack);
    link->next = arena->free;
    arena->free = link;
}

int coro_stack_arena_get(coro_arena *arena, struct coro_stack *stack)
{
    if (arena->free != NULL) {
        arena_pop(arena, stack);
    } else {
        if (arena->carved == arena->capacity)
            return CORO_ENOMEM;
        char *slot = arena->memory + arena->carved * arena->slot_size;
        if (arena->guard_size != 0 && coro_stack_protect(slot, arena->guard_size) != CORO_OK)
            return CORO_ENOMEM;
        arena->carved++;
        stack->mapping = slot;
        stack->mapping_size = arena->slot_size;
        stack->bottom = slot + arena->guard_size;
        stack->top = slot + arena->slot_size;
    }
    arena->live++;
    return CORO_OK;
}

void coro_stack_arena_put(coro_arena *arena, const struct coro_stack *stack)
{
    arena_push(arena, stack);
    arena->live--;
}

int coro_arena_destroy(coro_arena *arena)
{
    if (arena == NULL)
        return CORO_EINVAL;
    if (arena->live != 0)
        return CORO_EBUSY;
    coro_stack_release(arena->memory, arena->memory_size);
    free(arena);
    return CORO_OK;
}
