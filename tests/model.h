/*
 * A reference model of libcoro's rules (include/coro.h) and a driver that
 * runs random operations against the library and the model side by side,
 * checking after every step that they agree. tests/test_model.c feeds it a
 * seeded generator, tests/fuzz_model.c feeds it libFuzzer's input.
 */
#ifndef MODEL_H
#define MODEL_H

/* Where the driver's decisions come from. */
struct model_source {
    /* A choice in [0, n), n >= 1. */
    unsigned (*choose)(void *state, unsigned n);
    /* Nonzero once the source has nothing more to say: the driver then
     * unwinds and stops. */
    int (*exhausted)(void *state);
    /* Called after a mismatch has been printed; must not return. It should
     * tell how to reproduce the run (the seed, the input). */
    void (*fail)(void *state);
    void *state;
};

/* Runs at most max_ops operations from the calling thread, which must not be
 * inside a coroutine, then unwinds every coroutine and destroys it. Returns
 * the number of operations done; on a mismatch, prints it and calls
 * source->fail. */
unsigned long model_run(const struct model_source *source, unsigned long max_ops, int trace);

#endif /* MODEL_H */
