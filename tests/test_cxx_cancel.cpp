/*
 * libcoro from C++: the pattern that makes RAII work on cancel. The
 * coroutine's code turns CORO_ECANCELED into an exception; it unwinds the
 * coroutine's own frames, running every destructor, and is caught in the
 * entry, which then returns normally. No exception ever leaves the entry
 * (that stays undefined: it would have to cross the switch).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
extern "C" {
#include <cmocka.h>
}

#include <memory>
#include <string>
#include <vector>

#include "coro.h"

namespace {

struct cancelled {};

/* Every switch the coroutine makes goes through here. */
void *yield_or_throw(void *value)
{
    void *resumed_with = nullptr;
    int result = coro_yield(value, &resumed_with);
    if (result == CORO_ECANCELED)
        throw cancelled();
    return resumed_with;
}

int alive;
int destroyed;

struct resource {
    std::string name;
    explicit resource(const char *n) : name(n) { alive++; }
    resource(const resource &other) : name(other.name) { alive++; }
    ~resource()
    {
        alive--;
        destroyed++;
    }
};

/* Recursion holding a resource in every frame, and heap objects too. */
void *hold_and_wait(int depth)
{
    resource here("frame");
    auto heap = std::make_unique<resource>("heap");
    if (depth > 0)
        return hold_and_wait(depth - 1);
    void *value;
    do
        value = yield_or_throw(nullptr);
    while (value == nullptr);
    return value;
}

int caught_in_entry;

extern "C" void *raii_entry(void *value)
{
    try {
        resource outer("outer");
        std::vector<resource> many(3, resource("element"));
        yield_or_throw(value);
        hold_and_wait(4);
    } catch (const cancelled &) {
        caught_in_entry++;
        return reinterpret_cast<void *>(uintptr_t{77});
    }
    return nullptr;
}

void test_cancel_runs_destructors(void **)
{
    alive = destroyed = caught_in_entry = 0;
    coro *co;
    assert_int_equal(coro_create(&co, raii_entry, nullptr), CORO_OK);
    assert_int_equal(coro_resume(co, nullptr, nullptr), CORO_OK);
    assert_int_equal(coro_resume(co, nullptr, nullptr), CORO_OK);
    assert_int_equal(coro_resume(co, nullptr, nullptr), CORO_OK);
    /* outer, 3 elements, and a frame and a heap object at 5 depths. */
    assert_int_equal(alive, 1 + 3 + 2 * 5);
    int destroyed_before = destroyed; /* the temporary copied into the vector */

    void *result = nullptr;
    assert_int_equal(coro_cancel(co, &result), CORO_OK);
    assert_int_equal(reinterpret_cast<uintptr_t>(result), 77);
    assert_int_equal(caught_in_entry, 1);
    assert_int_equal(alive, 0);
    assert_int_equal(destroyed - destroyed_before, 1 + 3 + 2 * 5);
    assert_int_equal(coro_status(co), CORO_DEAD);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* A cancelled coroutine whose cleanup cancels a child of its own: the
 * child's destructors run first, inside the parent's unwinding. */
std::vector<std::string> order;

struct logged {
    std::string what;
    explicit logged(std::string w) : what(std::move(w)) {}
    ~logged() { order.push_back(what); }
};

extern "C" void *child_entry(void *)
{
    try {
        logged guard("child");
        for (;;)
            yield_or_throw(nullptr);
    } catch (const cancelled &) {
        return nullptr;
    }
}

struct child_owner {
    coro *child = nullptr;
    child_owner()
    {
        coro_create(&child, child_entry, nullptr);
        coro_resume(child, nullptr, nullptr);
    }
    ~child_owner()
    {
        coro_cancel(child, nullptr);
        coro_destroy(child);
        order.push_back("owner");
    }
};

extern "C" void *parent_entry(void *)
{
    try {
        logged guard("parent");
        child_owner owner;
        for (;;)
            yield_or_throw(nullptr);
    } catch (const cancelled &) {
        return nullptr;
    }
}

void test_cancel_cleans_up_children(void **)
{
    order.clear();
    coro *co;
    assert_int_equal(coro_create(&co, parent_entry, nullptr), CORO_OK);
    assert_int_equal(coro_resume(co, nullptr, nullptr), CORO_OK);
    assert_int_equal(coro_cancel(co, nullptr), CORO_OK);
    assert_int_equal(order.size(), 3);
    assert_string_equal(order[0].c_str(), "child");
    assert_string_equal(order[1].c_str(), "owner");
    assert_string_equal(order[2].c_str(), "parent");
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* An exception thrown and caught inside a coroutine, with no cancel. */
extern "C" void *throw_inside(void *)
{
    try {
        resource r("inside");
        throw 42;
    } catch (int value) {
        return reinterpret_cast<void *>(static_cast<uintptr_t>(value));
    }
}

void test_exceptions_inside_a_coroutine(void **)
{
    alive = 0;
    coro *co;
    assert_int_equal(coro_create(&co, throw_inside, nullptr), CORO_OK);
    void *result = nullptr;
    assert_int_equal(coro_resume(co, nullptr, &result), CORO_OK);
    assert_int_equal(reinterpret_cast<uintptr_t>(result), 42);
    assert_int_equal(alive, 0);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_runs_destructors),
        cmocka_unit_test(test_cancel_cleans_up_children),
        cmocka_unit_test(test_exceptions_inside_a_coroutine),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
