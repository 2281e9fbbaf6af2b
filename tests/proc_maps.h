/*
 * Test helper: the process's mappings as Linux lists them in
 * /proc/self/maps. Include after cmocka.h.
 */
#ifndef CORO_TEST_PROC_MAPS_H
#define CORO_TEST_PROC_MAPS_H

#include <stdio.h>

/* Lines of /proc/self/maps: one per mapping. */
static inline long mapping_count(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    assert_non_null(maps);
    long lines = 0;
    int c;
    while ((c = fgetc(maps)) != EOF)
        lines += c == '\n';
    fclose(maps);
    return lines;
}

#endif /* CORO_TEST_PROC_MAPS_H */
