/*
 * What the overflow-report tests share (tests/test_overflow.c for POSIX,
 * tests/test_overflow_win64.c for Windows): the check of the report line,
 * and a recursion that runs out of stack.
 */
#ifndef CORO_TEST_OVERFLOW_REPORT_H
#define CORO_TEST_OVERFLOW_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static size_t count_lines(const char *text)
{
    size_t lines = 0;
    for (; *text != '\0'; text++)
        lines += *text == '\n';
    return lines;
}

/* Checks the report: the expected beginning, a hexadecimal address, ")\n",
 * and nothing else. */
static void assert_one_report(const char *output, const char *expected_start)
{
    if (strncmp(output, expected_start, strlen(expected_start)) != 0) {
        print_error("expected a line starting with\n  %s\ngot\n  %s\n", expected_start, output);
        fail();
    }
    const char *address = output + strlen(expected_start);
    size_t digits = strspn(address, "0123456789abcdef");
    assert_true(digits > 0);
    assert_string_equal(address + digits, ")\n");
    assert_int_equal(count_lines(output), 1);
}

/* Recurses until the stack runs out: every level keeps a 512-byte frame
 * alive and uses it after the call, so no level can be folded away. */
__attribute__((noinline)) static size_t recurse(volatile char *above, size_t depth)
{
    volatile char frame[512];
    frame[0] = (char)(above != NULL ? above[0] + 1 : 1);
    if (depth == SIZE_MAX)
        return 0;
    return recurse(frame, depth + 1) + (size_t)frame[0];
}

#endif /* CORO_TEST_OVERFLOW_REPORT_H */
