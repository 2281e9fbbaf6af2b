/*
 * The smallest real user of an installed libcoro: a generator coroutine
 * whose values the caller sums. Built by scripts/test-packaging against the
 * installed header and library, shared and static, and as a meson
 * subproject consumer.
 */
#include <stdint.h>
#include <stdio.h>

#include <coro.h>

static void *count_to(void *limit)
{
    for (uintptr_t i = 1; i <= (uintptr_t)limit; i++)
        coro_yield((void *)i, NULL);
    return NULL;
}

int main(void)
{
    coro *generator;
    int result = coro_create(&generator, count_to, NULL);
    if (result != CORO_OK) {
        fprintf(stderr, "coro_create: %s\n", coro_strerror(result));
        return 1;
    }
    uintptr_t sum = 0;
    void *value = (void *)(uintptr_t)10;
    while (coro_resume(generator, value, &value) == CORO_OK && coro_status(generator) != CORO_DEAD)
        sum += (uintptr_t)value;
    coro_destroy(generator);
    if (sum != 55) {
        fprintf(stderr, "consumer: sum %lu, expected 55\n", (unsigned long)sum);
        return 1;
    }
    printf("consumer: ok\n");
    return 0;
}
