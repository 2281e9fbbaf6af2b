/*
 * Many live coroutines: creates N, resumes each once (it touches a little
 * of its stack and yields), keeps them all alive, then destroys them.
 * Prints the cost per create, per first resume and per destroy, and the
 * resident memory per live coroutine (growth of /proc/self/statm's resident
 * set while all are alive, divided by N).
 *
 *   many_coroutines [--n N] [--stack BYTES] [--mode arena|unguarded|guarded]
 *                   [--max-kib K] [--max-mappings M]
 *
 * arena      (default) one coro_arena with CORO_NO_GUARD: one mapping for all
 * unguarded  coro_create() with CORO_NO_GUARD: stacks carved from slabs
 *            (guard markers in use) or one mmap per coroutine
 * guarded    coro_create() with the default guard: with guard markers
 *            (Linux 6.13+) stacks carved from slabs, a handful of mappings
 *            for all; with mprotect'ed guards two mappings each, so Linux's
 *            vm.max_map_count stops it near 32,000 by default
 *
 * Also prints how many mappings the live coroutines added (lines of
 * /proc/self/maps) beside vm.max_map_count.
 *
 * --max-kib makes the exit status 1 when the resident memory per live
 * coroutine exceeds K KiB (memory, unlike time, is a fair check for CI);
 * --max-mappings likewise when the live coroutines added more than M
 * mappings.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "coro.h"
#include "slab.h" /* which guards this process uses, for the report */

/* Bytes of its stack each coroutine writes before it yields. */
#define TOUCHED 256

static void *entry(void *arg)
{
    volatile unsigned char scratch[TOUCHED];
    for (size_t i = 0; i < sizeof scratch; i += 64)
        scratch[i] = (unsigned char)i;
    coro_yield(arg, NULL);
    return NULL;
}

static long resident_bytes(void)
{
    long size = 0, resident = 0;
    FILE *statm = fopen("/proc/self/statm", "r");
    if (statm == NULL)
        return -1;
    if (fscanf(statm, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(statm);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* Lines of /proc/self/maps (one per mapping), or -1. */
static long mapping_count(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    if (maps == NULL)
        return -1;
    long lines = 0;
    int c;
    while ((c = fgetc(maps)) != EOF)
        lines += c == '\n';
    fclose(maps);
    return lines;
}

static long max_map_count(void)
{
    long limit = -1;
    FILE *sysctl = fopen("/proc/sys/vm/max_map_count", "r");
    if (sysctl != NULL) {
        if (fscanf(sysctl, "%ld", &limit) != 1)
            limit = -1;
        fclose(sysctl);
    }
    return limit;
}

static void usage(void)
{
    fprintf(stderr, "usage: many_coroutines [--n N] [--stack BYTES] [--mode arena|unguarded|guarded] [--max-kib K]"
                    " [--max-mappings M]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    size_t n = 1000000;
    size_t stack_size = CORO_STACK_MIN;
    const char *mode = "arena";
    double max_kib = 0;
    long max_mappings = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
            n = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--stack") == 0 && i + 1 < argc)
            stack_size = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc)
            mode = argv[++i];
        else if (strcmp(argv[i], "--max-kib") == 0 && i + 1 < argc)
            max_kib = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--max-mappings") == 0 && i + 1 < argc)
            max_mappings = strtol(argv[++i], NULL, 10);
        else
            usage();
    }
    if (n == 0)
        usage();

    struct coro_options opts = {0};
    coro_arena *arena = NULL;
    if (strcmp(mode, "arena") == 0) {
        int result = coro_arena_create(&arena, n, stack_size, CORO_NO_GUARD);
        if (result != CORO_OK) {
            fprintf(stderr, "coro_arena_create: %s\n", coro_strerror(result));
            return 1;
        }
        opts.arena = arena;
    } else if (strcmp(mode, "unguarded") == 0) {
        opts.stack_size = stack_size;
        opts.guard_size = CORO_NO_GUARD;
    } else if (strcmp(mode, "guarded") == 0) {
        opts.stack_size = stack_size;
    } else {
        usage();
    }

    coro **live = malloc(n * sizeof *live);
    if (live == NULL) {
        fprintf(stderr, "no memory for %zu pointers\n", n);
        return 1;
    }
    /* Commit the array now, so that it does not count as coroutine memory. */
    memset(live, 0, n * sizeof *live);
    long resident_before = resident_bytes();
    long mappings_before = mapping_count();

    size_t created = 0;
    int failure = CORO_OK;
    double start = now_ns();
    while (created < n && (failure = coro_create(&live[created], entry, &opts)) == CORO_OK)
        created++;
    double create_ns = now_ns() - start;
    if (created < n)
        printf("coro_create failed after %zu coroutines: %s\n", created, coro_strerror(failure));
    if (created == 0)
        return 1;

    start = now_ns();
    for (size_t i = 0; i < created; i++)
        coro_resume(live[i], NULL, NULL);
    double resume_ns = now_ns() - start;
    long resident_live = resident_bytes();
    long mappings_live = mapping_count();

    start = now_ns();
    for (size_t i = 0; i < created; i++)
        coro_destroy(live[i]);
    double destroy_ns = now_ns() - start;
    if (arena != NULL)
        coro_arena_destroy(arena);
    free(live);

    double per = (double)created;
    printf("many_coroutines: %zu live, mode %s, stack %zu bytes, %d bytes touched each\n", created, mode,
           stack_size, TOUCHED);
    printf("  guards        %s\n", strcmp(mode, "guarded") != 0 ? "none"
                                     : coro_slab_markers() ? "page-table markers, stacks carved from slabs"
                                                           : "mprotect, a mapping of its own per stack");
    printf("  mappings      %8ld more while all live (vm.max_map_count %ld)\n", mappings_live - mappings_before,
           max_map_count());
    printf("  create        %8.1f ns per coroutine\n", create_ns / per);
    printf("  first resume  %8.1f ns per coroutine\n", resume_ns / per);
    printf("  destroy       %8.1f ns per coroutine\n", destroy_ns / per);
    double kib = (double)(resident_live - resident_before) / 1024.0 / per;
    if (resident_before >= 0 && resident_live >= 0)
        printf("  resident      %8.2f KiB per live coroutine (%.1f MiB in all)\n", kib,
               (double)(resident_live - resident_before) / (1024.0 * 1024.0));
    if (max_kib > 0 && (resident_before < 0 || resident_live < 0 || kib > max_kib)) {
        printf("more than %.2f KiB per live coroutine\n", max_kib);
        return 1;
    }
    if (max_mappings >= 0 && (mappings_before < 0 || mappings_live - mappings_before > max_mappings)) {
        printf("more than %ld mappings added\n", max_mappings);
        return 1;
    }
    return created == n ? 0 : 1;
}
