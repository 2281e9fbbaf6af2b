/* The public API's rules, transition by transition (include/coro.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "coro.h"
#include "sanitizer_build.h"

#define V(n) ((void *)(uintptr_t)(n))
#define N(p) ((uintptr_t)(p))

/* ---- one coroutine, values both ways ---- */

static coro *lifecycle_co;

static void *lifecycle_entry(void *value)
{
    assert_int_equal(N(value), 10);
    assert_ptr_equal(coro_running(), lifecycle_co);
    assert_true(coro_inside());
    assert_int_equal(coro_status(lifecycle_co), CORO_RUNNING);
    assert_int_equal(coro_status(coro_thread()), CORO_NORMAL);
    assert_string_equal(coro_name(lifecycle_co), "worker");
    assert_ptr_equal(coro_user_data(lifecycle_co), &lifecycle_co);

    void *in = NULL;
    assert_int_equal(coro_yield(V(11), &in), CORO_OK);
    assert_int_equal(N(in), 12);
    assert_int_equal(coro_yield(V(13), &in), CORO_OK);
    assert_int_equal(N(in), 14);
    return V(15);
}

static void test_lifecycle_and_values(void **state)
{
    (void)state;
    struct coro_options opts = {.name = "worker", .user_data = &lifecycle_co};
    assert_int_equal(coro_create(&lifecycle_co, lifecycle_entry, &opts), CORO_OK);
    assert_int_equal(coro_status(lifecycle_co), CORO_SUSPENDED);
    assert_false(coro_inside());
    assert_ptr_equal(coro_running(), coro_thread());
    assert_int_equal(coro_status(coro_thread()), CORO_RUNNING);

    void *out = NULL;
    assert_int_equal(coro_resume(lifecycle_co, V(10), &out), CORO_OK);
    assert_int_equal(N(out), 11);
    assert_int_equal(coro_status(lifecycle_co), CORO_SUSPENDED);
    assert_int_equal(coro_status(coro_thread()), CORO_RUNNING);
    assert_int_equal(coro_resume(lifecycle_co, V(12), &out), CORO_OK);
    assert_int_equal(N(out), 13);
    assert_int_equal(coro_resume(lifecycle_co, V(14), &out), CORO_OK);
    assert_int_equal(N(out), 15);
    assert_int_equal(coro_status(lifecycle_co), CORO_DEAD);
    assert_ptr_equal(coro_running(), coro_thread());
    assert_int_equal(coro_destroy(lifecycle_co), CORO_OK);
}

static void *return_at_once(void *value)
{
    return value;
}

static void test_entry_return_without_yield_and_null_result(void **state)
{
    (void)state;
    coro *co;
    assert_int_equal(coro_create(&co, return_at_once, NULL), CORO_OK);
    assert_int_equal(coro_resume(co, V(7), NULL), CORO_OK);
    assert_int_equal(coro_status(co), CORO_DEAD);
    assert_int_equal(coro_destroy(co), CORO_OK);

    assert_int_equal(coro_create(&co, return_at_once, NULL), CORO_OK);
    void *out;
    assert_int_equal(coro_resume(co, V(8), &out), CORO_OK);
    assert_int_equal(N(out), 8);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

static void test_names_and_user_data(void **state)
{
    (void)state;
    coro *co;
    assert_int_equal(coro_create(&co, return_at_once, NULL), CORO_OK);
    assert_string_equal(coro_name(co), "");
    assert_null(coro_user_data(co));
    coro_set_user_data(co, &co);
    assert_ptr_equal(coro_user_data(co), &co);
    assert_int_equal(coro_destroy(co), CORO_OK);

    char long_name[100];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    struct coro_options opts = {.name = long_name};
    assert_int_equal(coro_create(&co, return_at_once, &opts), CORO_OK);
    long_name[0] = 'y'; /* the name was copied */
    assert_int_equal(strlen(coro_name(co)), CORO_NAME_MAX - 1);
    assert_int_equal(coro_name(co)[0], 'x');
    assert_int_equal(coro_destroy(co), CORO_OK);
    assert_string_equal(coro_name(coro_thread()), "thread");
}

/* ---- nested chains: A resumes B resumes C ---- */

static coro *chain[3];
static char chain_log[64];

static void log_step(char c)
{
    size_t n = strlen(chain_log);
    chain_log[n] = c;
    chain_log[n + 1] = '\0';
}

static void *chain_c(void *value)
{
    log_step('c');
    assert_int_equal(coro_status(chain[0]), CORO_NORMAL);
    assert_int_equal(coro_status(chain[1]), CORO_NORMAL);
    assert_int_equal(coro_status(chain[2]), CORO_RUNNING);
    void *in;
    coro_yield(V(N(value) + 1), &in); /* back to B */
    log_step('C');
    return V(N(in) + 1);
}

static void *chain_b(void *value)
{
    log_step('b');
    void *out;
    assert_int_equal(coro_resume(chain[2], V(N(value) + 1), &out), CORO_OK);
    assert_int_equal(coro_status(chain[1]), CORO_RUNNING);
    assert_int_equal(coro_status(chain[2]), CORO_SUSPENDED);
    void *in;
    coro_yield(out, &in); /* back to A */
    log_step('B');
    assert_int_equal(coro_resume(chain[2], in, &out), CORO_OK); /* C ends */
    assert_int_equal(coro_status(chain[2]), CORO_DEAD);
    return V(N(out) + 1);
}

static void *chain_a(void *value)
{
    log_step('a');
    void *out;
    assert_int_equal(coro_resume(chain[1], V(N(value) + 1), &out), CORO_OK);
    log_step('A');
    assert_int_equal(N(out), 4); /* 1 -> a 2 -> b 3 -> c yields 4 */
    void *in;
    coro_yield(out, &in); /* back to the thread */
    assert_int_equal(coro_resume(chain[1], in, &out), CORO_OK);
    return out;
}

static void test_nested_chain(void **state)
{
    (void)state;
    chain_log[0] = '\0';
    coro_entry entries[3] = {chain_a, chain_b, chain_c};
    for (int i = 0; i < 3; i++)
        assert_int_equal(coro_create(&chain[i], entries[i], NULL), CORO_OK);
    void *out;
    assert_int_equal(coro_resume(chain[0], V(1), &out), CORO_OK);
    assert_int_equal(N(out), 4);
    assert_string_equal(chain_log, "abcA");
    assert_int_equal(coro_status(chain[0]), CORO_SUSPENDED);
    assert_int_equal(coro_status(chain[1]), CORO_SUSPENDED);
    assert_int_equal(coro_status(chain[2]), CORO_SUSPENDED);
    /* 100 -> A -> B -> C returns 101 -> B returns 102 -> A returns it */
    assert_int_equal(coro_resume(chain[0], V(100), &out), CORO_OK);
    assert_int_equal(N(out), 102);
    assert_string_equal(chain_log, "abcABC");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(coro_status(chain[i]), CORO_DEAD);
        assert_int_equal(coro_destroy(chain[i]), CORO_OK);
    }
}

/* ---- a symmetric ring ---- */

#define RING_SIZE 100
#define RING_PASSES 100000

static coro *ring[RING_SIZE];

static void *ring_entry(void *value)
{
    size_t me = (size_t)(uintptr_t)coro_user_data(coro_running());
    for (;;) {
        uintptr_t count = N(value) + 1;
        coro *next = count == RING_PASSES ? coro_thread() : ring[(me + 1) % RING_SIZE];
        assert_int_equal(coro_transfer(next, V(count), &value), CORO_OK);
    }
    return NULL;
}

static void test_symmetric_ring(void **state)
{
    (void)state;
    for (size_t i = 0; i < RING_SIZE; i++) {
        struct coro_options opts = {.stack_size = 32 * 1024, .user_data = V(i)};
        assert_int_equal(coro_create(&ring[i], ring_entry, &opts), CORO_OK);
    }
    void *count;
    assert_int_equal(coro_transfer(ring[0], V(0), &count), CORO_OK);
    assert_int_equal(N(count), RING_PASSES);
    assert_int_equal(coro_status(coro_thread()), CORO_RUNNING);
    assert_false(coro_inside());
    for (size_t i = 0; i < RING_SIZE; i++) {
        /* the last pass was made by coroutine (RING_PASSES - 1) % RING_SIZE */
        assert_int_equal(coro_status(ring[i]), CORO_SUSPENDED);
        assert_int_equal(coro_destroy(ring[i]), CORO_OK);
    }
}

/* ---- transfer and resume mixed: the target takes the transferrer's place ---- */

static coro *mix_a, *mix_b;

static void *mix_b_entry(void *value)
{
    assert_int_equal(N(value), 2);
    /* A transferred here while the thread waited in coro_resume(A): that
     * resume is now waiting for B. */
    assert_int_equal(coro_status(mix_a), CORO_SUSPENDED);
    assert_int_equal(coro_status(coro_thread()), CORO_NORMAL);
    void *in;
    assert_int_equal(coro_yield(V(3), &in), CORO_OK); /* to the thread's resume(A) */
    assert_int_equal(N(in), 4);
    assert_int_equal(coro_transfer(mix_a, V(5), &in), CORO_OK);
    return V(99); /* never reached: nobody transfers back */
}

static void *mix_a_entry(void *value)
{
    assert_int_equal(N(value), 1);
    void *in;
    assert_int_equal(coro_transfer(mix_b, V(2), &in), CORO_OK);
    assert_int_equal(N(in), 5);
    /* A took B's place, whose resumer is the thread's resume(B). */
    assert_int_equal(coro_status(mix_b), CORO_SUSPENDED);
    return V(6);
}

static void test_transfer_takes_the_place_of_the_transferrer(void **state)
{
    (void)state;
    assert_int_equal(coro_create(&mix_a, mix_a_entry, NULL), CORO_OK);
    assert_int_equal(coro_create(&mix_b, mix_b_entry, NULL), CORO_OK);
    void *out;
    assert_int_equal(coro_resume(mix_a, V(1), &out), CORO_OK);
    assert_int_equal(N(out), 3); /* B's yield came back to resume(A) */
    assert_int_equal(coro_status(mix_a), CORO_SUSPENDED);
    assert_int_equal(coro_status(mix_b), CORO_SUSPENDED);
    assert_int_equal(coro_resume(mix_b, V(4), &out), CORO_OK);
    assert_int_equal(N(out), 6); /* A's return came back to resume(B) */
    assert_int_equal(coro_status(mix_a), CORO_DEAD);
    assert_int_equal(coro_status(mix_b), CORO_SUSPENDED);
    assert_int_equal(coro_destroy(mix_a), CORO_OK);
    assert_int_equal(coro_destroy(mix_b), CORO_OK); /* suspended forever in transfer */
}

/* A chain started by a transfer from the thread: yield and return go back
 * to the thread's context, which waits in its transfer. */
static void *yield_twice_then_return(void *value)
{
    assert_int_equal(coro_status(coro_thread()), CORO_SUSPENDED);
    void *in;
    assert_int_equal(coro_yield(V(N(value) + 1), &in), CORO_OK);
    return V(N(in) + 1);
}

static void test_chain_started_by_transfer_returns_to_thread(void **state)
{
    (void)state;
    coro *co;
    assert_int_equal(coro_create(&co, yield_twice_then_return, NULL), CORO_OK);
    void *out;
    assert_int_equal(coro_transfer(co, V(10), &out), CORO_OK);
    assert_int_equal(N(out), 11);
    assert_int_equal(coro_status(co), CORO_SUSPENDED);
    assert_int_equal(coro_status(coro_thread()), CORO_RUNNING);
    assert_int_equal(coro_transfer(co, V(20), &out), CORO_OK);
    assert_int_equal(N(out), 21);
    assert_int_equal(coro_status(co), CORO_DEAD);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* The rule holds through the thread's own context too: X (entered by a
 * transfer) resumes Y; Y transfers to the thread, which takes Y's place;
 * the thread transfers to Z, which takes it; Z's yield goes to X's resume. */
static coro *place_x, *place_y, *place_z;

static void *place_y_entry(void *value)
{
    (void)value;
    coro_transfer(coro_thread(), V(1), NULL);
    return NULL; /* never resumed again */
}

static void *place_z_entry(void *value)
{
    assert_int_equal(N(value), 2);
    assert_int_equal(coro_status(place_x), CORO_NORMAL);
    coro_yield(V(3), NULL); /* to X's coro_resume(Y) */
    return NULL;
}

static void *place_x_entry(void *value)
{
    (void)value;
    void *out;
    assert_int_equal(coro_resume(place_y, NULL, &out), CORO_OK);
    assert_int_equal(N(out), 3);
    return V(4); /* X had no resumer: to the thread, waiting in transfer */
}

static void test_thread_context_takes_a_place_too(void **state)
{
    (void)state;
    assert_int_equal(coro_create(&place_x, place_x_entry, NULL), CORO_OK);
    assert_int_equal(coro_create(&place_y, place_y_entry, NULL), CORO_OK);
    assert_int_equal(coro_create(&place_z, place_z_entry, NULL), CORO_OK);
    void *out;
    assert_int_equal(coro_transfer(place_x, NULL, &out), CORO_OK);
    assert_int_equal(N(out), 1); /* from Y */
    assert_int_equal(coro_status(place_x), CORO_NORMAL);
    assert_int_equal(coro_yield(NULL, NULL), CORO_EOUTSIDE); /* still the thread */
    assert_int_equal(coro_transfer(place_z, V(2), &out), CORO_OK);
    assert_int_equal(N(out), 4);
    assert_int_equal(coro_status(place_x), CORO_DEAD);
    assert_int_equal(coro_status(place_y), CORO_SUSPENDED);
    assert_int_equal(coro_status(place_z), CORO_SUSPENDED);
    assert_int_equal(coro_destroy(place_x), CORO_OK);
    assert_int_equal(coro_destroy(place_y), CORO_OK);
    assert_int_equal(coro_destroy(place_z), CORO_OK);
}

/* The first activation by transfer delivers the value to the entry. */
static void test_first_transfer_value_reaches_entry(void **state)
{
    (void)state;
    coro *co;
    assert_int_equal(coro_create(&co, return_at_once, NULL), CORO_OK);
    void *out;
    assert_int_equal(coro_transfer(co, V(42), &out), CORO_OK);
    assert_int_equal(N(out), 42);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* ---- coroutines made and destroyed inside coroutines ---- */

static void *square(void *value)
{
    return V(N(value) * N(value));
}

static void *spawner(void *value)
{
    uintptr_t sum = 0;
    for (uintptr_t i = 1; i <= N(value); i++) {
        coro *child;
        assert_int_equal(coro_create(&child, square, NULL), CORO_OK);
        void *out;
        assert_int_equal(coro_resume(child, V(i), &out), CORO_OK);
        assert_int_equal(coro_destroy(child), CORO_OK);
        sum += N(out);
        if (i % 4 == 0)
            coro_yield(V(sum), NULL);
    }
    return V(sum);
}

static void test_create_and_destroy_inside_coroutines(void **state)
{
    (void)state;
    coro *co;
    assert_int_equal(coro_create(&co, spawner, NULL), CORO_OK);
    void *out = NULL;
    int yields = 0;
    while (coro_status(co) != CORO_DEAD) {
        assert_int_equal(coro_resume(co, V(10), &out), CORO_OK);
        yields++;
    }
    assert_int_equal(N(out), 385); /* 1^2 + ... + 10^2 */
    assert_int_equal(yields, 3);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* ---- 10,000 alive at once ---- */

#if defined(BUILT_WITH_TSAN)
/* TSan makes each running coroutine a fiber with about 830 KiB of its own
 * state and allows about 8000 of them. */
#define MANY 200
#else
#define MANY 10000
#endif

static void *count_up(void *value)
{
    uintptr_t n = N(value);
    for (;;) {
        void *in;
        coro_yield(V(n), &in);
        n += N(in);
    }
    return NULL;
}

static void test_ten_thousand_alive(void **state)
{
    (void)state;
    coro **all = calloc(MANY, sizeof *all);
    assert_non_null(all);
    struct coro_options opts = {.stack_size = 16 * 1024};
    for (size_t i = 0; i < MANY; i++) {
        assert_int_equal(coro_create(&all[i], count_up, &opts), CORO_OK);
        assert_int_equal(coro_resume(all[i], V(i), NULL), CORO_OK);
    }
    for (int round = 1; round <= 3; round++) {
        for (size_t i = 0; i < MANY; i++) {
            void *out;
            assert_int_equal(coro_resume(all[i], V(1), &out), CORO_OK);
            assert_int_equal(N(out), i + (uintptr_t)round);
        }
    }
    for (size_t i = 0; i < MANY; i++)
        assert_int_equal(coro_destroy(all[i]), CORO_OK);
    free(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle_and_values),
        cmocka_unit_test(test_entry_return_without_yield_and_null_result),
        cmocka_unit_test(test_names_and_user_data),
        cmocka_unit_test(test_nested_chain),
        cmocka_unit_test(test_symmetric_ring),
        cmocka_unit_test(test_transfer_takes_the_place_of_the_transferrer),
        cmocka_unit_test(test_chain_started_by_transfer_returns_to_thread),
        cmocka_unit_test(test_thread_context_takes_a_place_too),
        cmocka_unit_test(test_first_transfer_value_reaches_entry),
        cmocka_unit_test(test_create_and_destroy_inside_coroutines),
        cmocka_unit_test(test_ten_thousand_alive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
