/*
 * The overflow report's one line, formatted without stdio or allocation:
 * the fault handlers that call it (overflow.c, overflow_win32.c) run where
 * neither is safe.
 */
#include "overflow.h"

#include <stdint.h>

#include "coro.h"

/* The fixed text is 81 bytes, a size_t 20 digits, an address 16: the rest
 * holds a name of CORO_NAME_MAX - 1 bytes. */
_Static_assert(CORO_OVERFLOW_LINE_MAX >= 81 + 20 + 16 + CORO_NAME_MAX, "report line buffer too small");

struct line {
    char *text;
    size_t length;
};

static void put_text(struct line *line, const char *text)
{
    while (*text != '\0' && line->length < CORO_OVERFLOW_LINE_MAX - 1)
        line->text[line->length++] = *text++;
}

static void put_unsigned(struct line *line, uintmax_t value, unsigned base)
{
    char digits[3 * sizeof value];
    size_t count = 0;
    do {
        digits[count++] = "0123456789abcdef"[value % base];
        value /= base;
    } while (value != 0);
    while (count > 0 && line->length < CORO_OVERFLOW_LINE_MAX - 1)
        line->text[line->length++] = digits[--count];
}

/* The name is the user's bytes: anything that would break the one line
 * (control characters, the closing quote) becomes '?'. */
static void put_name(struct line *line, const char *name)
{
    for (; *name != '\0' && line->length < CORO_OVERFLOW_LINE_MAX - 1; name++) {
        unsigned char c = (unsigned char)*name;
        line->text[line->length++] = c < 0x20 || c == 0x7f || c == '"' ? '?' : (char)c;
    }
}

size_t coro_overflow_format(char text[CORO_OVERFLOW_LINE_MAX], const char *name, size_t stack_size,
                            const void *fault_address)
{
    struct line line = {.text = text, .length = 0};
    put_text(&line, "libcoro: stack overflow in ");
    if (name[0] != '\0') {
        put_text(&line, "coroutine \"");
        put_name(&line, name);
        put_text(&line, "\"");
    } else {
        put_text(&line, "unnamed coroutine");
    }
    put_text(&line, " (stack ");
    if (stack_size % 1024 == 0) {
        put_unsigned(&line, stack_size / 1024, 10);
        put_text(&line, " KiB");
    } else {
        put_unsigned(&line, stack_size, 10);
        put_text(&line, " bytes");
    }
    put_text(&line, ", fault at 0x");
    put_unsigned(&line, (uintptr_t)fault_address, 16);
    put_text(&line, ")\n");
    return line.length;
}
