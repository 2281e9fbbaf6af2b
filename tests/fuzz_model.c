/*
 * The model-checked driver as a libFuzzer target: the fuzz input is the
 * sequence of the driver's choices, one byte each (two for wide ranges).
 * Built with clang -fsanitize=fuzzer,address when meson's fuzz option is
 * set.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "model.h"

struct input {
    const uint8_t *data;
    size_t size;
    size_t used;
};

static unsigned input_choose(void *state, unsigned n)
{
    struct input *in = state;
    unsigned value = 0;
    for (unsigned long long range = 1; range < n && in->used < in->size; range <<= 8)
        value = (value << 8) | in->data[in->used++];
    return value % n;
}

static int input_exhausted(void *state)
{
    const struct input *in = state;
    return in->used >= in->size;
}

static void input_fail(void *state)
{
    const struct input *in = state;
    fprintf(stderr, "FAILED after %zu of %zu input bytes\n", in->used, in->size);
    abort(); /* libFuzzer saves the input as a crash */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size, 0};
    struct model_source source = {input_choose, input_exhausted, input_fail, &in};
    model_run(&source, size, 0);
    return 0;
}
