/*
 * Model-checked stress: long random sequences of libcoro operations, checked
 * step by step against the reference model in model.c.
 *
 *   test_model [--seed S] [--seeds K] [--ops N] [--trace]
 *
 * runs K sequences of N operations with seeds S, S+1, ...; a failing run
 * prints the command line that repeats it alone.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

struct generator {
    uint64_t state;
    uint64_t seed;
    unsigned long ops;
};

/* splitmix64: tiny, and every seed (0 included) gives a good stream. */
static uint64_t next_random(struct generator *g)
{
    uint64_t z = (g->state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static unsigned generator_choose(void *state, unsigned n)
{
    return (unsigned)(next_random(state) % n);
}

static int generator_exhausted(void *state)
{
    (void)state;
    return 0;
}

static void generator_fail(void *state)
{
    struct generator *g = state;
    fprintf(stderr, "FAILED with seed %" PRIu64 "; repeat with: test_model --seed %" PRIu64 " --seeds 1 --ops %lu --trace\n",
            g->seed, g->seed, g->ops);
    exit(1);
}

static unsigned long long parse_number(const char *flag, const char *text)
{
    char *end;
    unsigned long long value = strtoull(text != NULL ? text : "", &end, 0);
    if (text == NULL || *text == '\0' || *end != '\0') {
        fprintf(stderr, "test_model: %s needs a number\n", flag);
        exit(2);
    }
    return value;
}

int main(int argc, char **argv)
{
    uint64_t first_seed = 1;
    unsigned long long seeds = 100;
    unsigned long ops = 10000;
    int trace = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seed") == 0) {
            first_seed = parse_number(argv[i], argv[i + 1]);
            i++;
        } else if (strcmp(argv[i], "--seeds") == 0) {
            seeds = parse_number(argv[i], argv[i + 1]);
            i++;
        } else if (strcmp(argv[i], "--ops") == 0) {
            ops = (unsigned long)parse_number(argv[i], argv[i + 1]);
            i++;
        } else if (strcmp(argv[i], "--trace") == 0) {
            trace = 1;
        } else {
            fprintf(stderr, "usage: test_model [--seed S] [--seeds K] [--ops N] [--trace]\n");
            return 2;
        }
    }

    unsigned long long total = 0;
    for (unsigned long long i = 0; i < seeds; i++) {
        struct generator g = {.state = first_seed + i, .seed = first_seed + i, .ops = ops};
        struct model_source source = {generator_choose, generator_exhausted, generator_fail, &g};
        total += model_run(&source, ops, trace);
    }
    printf("%llu operations over %llu seeds from %" PRIu64 ": library and model agree\n", total, seeds,
           first_seed);
    return 0;
}
