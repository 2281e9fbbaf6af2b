/*
 * What the hand-off hook adds to a round trip: N resumes of a coroutine
 * that yields straight back, with coro_resume_with and an empty hook, or
 * with plain coro_resume. Meant for instruction counts, which do not move
 * with the machine's load:
 *
 *   bench/callgrind.sh build/bench/hook_round_trip {N} hook
 *   bench/callgrind.sh build/bench/hook_round_trip {N} plain
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coro.h"

static void empty_hook(void *arg, coro *from)
{
    (void)arg, (void)from;
}

static void *yield_back(void *value)
{
    while (coro_yield(value, &value) == CORO_OK) {
    }
    return value;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[2], "hook") != 0 && strcmp(argv[2], "plain") != 0)) {
        fprintf(stderr, "usage: hook_round_trip N hook|plain\n");
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    int hook = strcmp(argv[2], "hook") == 0;
    coro *co;
    if (coro_create(&co, yield_back, NULL) != CORO_OK)
        return 1;
    for (long i = 0; i < n; i++) {
        int result = hook ? coro_resume_with(co, NULL, NULL, empty_hook, NULL) : coro_resume(co, NULL, NULL);
        if (result != CORO_OK)
            return 1;
    }
    return coro_cancel(co, NULL) == CORO_OK && coro_destroy(co) == CORO_OK ? 0 : 1;
}
