/*
 * C++ exceptions and coroutines. The C++ runtime keeps, per thread, the
 * stack of caught exceptions (std::current_exception(), `throw;`) and the
 * count of uncaught ones (std::uncaught_exceptions()); libcoro gives every
 * context its own copy. Each case here fails when contexts share them: a
 * coroutine leaving its catch block would end its resumer's exception
 * (under ASan: a heap-use-after-free), and counts and current exceptions
 * would leak from one context into another.
 */
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <csetjmp>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>

extern "C" {
#include <cmocka.h>
}

#include "coro.h"

namespace {

/* The message of the exception the calling context is handling now, or ""
 * when it handles none. */
std::string current_message()
{
    std::exception_ptr current = std::current_exception();
    if (!current)
        return "";
    try {
        std::rethrow_exception(current);
    } catch (const std::exception &e) {
        return e.what();
    } catch (...) {
        return "?";
    }
}

/* The case: the coroutine yields inside its catch block; its
 * resumer catches an exception of its own and, inside that catch, resumes
 * the coroutine, which leaves its catch block. */
void *yield_inside_catch(void *)
{
    try {
        throw std::runtime_error("coroutine's");
    } catch (const std::runtime_error &e) {
        coro_yield(nullptr, nullptr);
        if (std::strcmp(e.what(), "coroutine's") != 0 || current_message() != "coroutine's")
            return reinterpret_cast<void *>(1);
    }
    return current_message().empty() ? nullptr : reinterpret_cast<void *>(2);
}

void test_leaving_catch_in_coroutine_keeps_resumers_exception(void **)
{
    coro *co;
    assert_int_equal(coro_create(&co, yield_inside_catch, nullptr), CORO_OK);
    assert_int_equal(coro_resume(co, nullptr, nullptr), CORO_OK);
    /* The coroutine's exception is not the thread's. */
    assert_string_equal(current_message().c_str(), "");
    void *result = reinterpret_cast<void *>(-1);
    try {
        throw std::runtime_error("resumer's");
    } catch (const std::runtime_error &e) {
        assert_int_equal(coro_resume(co, nullptr, &result), CORO_OK);
        /* Freed here, when the coroutine's catch ended the wrong exception. */
        assert_string_equal(e.what(), "resumer's");
        assert_string_equal(current_message().c_str(), "resumer's");
    }
    assert_null(result);
    assert_int_equal(coro_status(co), CORO_DEAD);
    assert_string_equal(current_message().c_str(), "");
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* A context's copy of the globals is handed back to it once and then
 * forgotten: it leaves its catch block, the exception is freed, and a later
 * switch that has nothing to hand over must not bring the stale copy back.
 * (The switch looks at the thread's globals and at the copy's "kept" mark
 * only; a mark left set would revive the freed exception at the next
 * resume. Under ASan: a heap-use-after-free.) */
void *catch_then_leave_then_yield(void *)
{
    try {
        throw std::runtime_error("coroutine's");
    } catch (const std::runtime_error &) {
        coro_yield(nullptr, nullptr); /* inside the catch: the copy is kept */
    }
    /* Back with its copy, then out of the catch: the exception is gone. */
    for (int i = 0; i < 3; i++) {
        if (!current_message().empty())
            return reinterpret_cast<void *>(1);
        coro_yield(nullptr, nullptr); /* nothing to hand over either way */
    }
    return current_message().empty() ? nullptr : reinterpret_cast<void *>(2);
}

void test_left_catch_is_not_brought_back(void **)
{
    coro *co;
    assert_int_equal(coro_create(&co, catch_then_leave_then_yield, nullptr), CORO_OK);
    void *result = reinterpret_cast<void *>(-1);
    for (int i = 0; i < 5; i++) { /* into the catch, three yields, the end */
        assert_int_equal(coro_resume(co, nullptr, &result), CORO_OK);
        assert_string_equal(current_message().c_str(), "");
    }
    assert_null(result);
    assert_int_equal(coro_status(co), CORO_DEAD);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* Between two coroutines: the outer one resumes the inner one from inside
 * its catch block, and the inner one yields back to it (a coroutine, not
 * the thread) from inside a catch block of its own, then leaves it. */
void *inner_catches(void *)
{
    try {
        throw std::runtime_error("inner's");
    } catch (const std::runtime_error &) {
        if (current_message() != "inner's")
            return reinterpret_cast<void *>(1);
        coro_yield(nullptr, nullptr); /* back to the outer coroutine */
        if (current_message() != "inner's")
            return reinterpret_cast<void *>(2);
    }
    return current_message().empty() ? nullptr : reinterpret_cast<void *>(3);
}

void *outer_catches(void *)
{
    coro *inner;
    if (coro_create(&inner, inner_catches, nullptr) != CORO_OK)
        return reinterpret_cast<void *>(10);
    void *result = reinterpret_cast<void *>(-1);
    try {
        throw std::runtime_error("outer's");
    } catch (const std::runtime_error &) {
        coro_resume(inner, nullptr, nullptr);
        /* The inner one yielded inside its catch: this is still ours. */
        if (current_message() != "outer's")
            return reinterpret_cast<void *>(11);
        coro_resume(inner, nullptr, &result);
        if (current_message() != "outer's")
            return reinterpret_cast<void *>(12);
    }
    coro_destroy(inner);
    if (result != nullptr)
        return reinterpret_cast<void *>(20 + reinterpret_cast<uintptr_t>(result));
    return current_message().empty() ? nullptr : reinterpret_cast<void *>(13);
}

void test_yield_to_a_coroutine_keeps_each_catch(void **)
{
    coro *outer;
    assert_int_equal(coro_create(&outer, outer_catches, nullptr), CORO_OK);
    void *result = reinterpret_cast<void *>(-1);
    assert_int_equal(coro_resume(outer, nullptr, &result), CORO_OK);
    assert_null(result);
    assert_string_equal(current_message().c_str(), "");
    assert_int_equal(coro_destroy(outer), CORO_OK);
}

/* The same through the other ways into a coroutine: a resume with a hand-off
 * hook, and a cancel, each run from inside the resumer's catch block. The
 * hook runs with the coroutine's exception state, as the coroutine will. */
std::string seen_in_hook;

void record_hook_view(void *, coro *)
{
    seen_in_hook = current_message();
}

void *yield_inside_catch_until_cancelled(void *)
{
    try {
        throw std::runtime_error("coroutine's");
    } catch (const std::runtime_error &e) {
        while (coro_yield(nullptr, nullptr) == CORO_OK) {
        }
        if (std::strcmp(e.what(), "coroutine's") != 0 || current_message() != "coroutine's")
            return reinterpret_cast<void *>(1);
    }
    return current_message().empty() ? nullptr : reinterpret_cast<void *>(2);
}

void test_hook_and_cancel_keep_each_catch(void **)
{
    coro *co;
    assert_int_equal(coro_create(&co, yield_inside_catch_until_cancelled, nullptr), CORO_OK);
    assert_int_equal(coro_resume(co, nullptr, nullptr), CORO_OK);
    void *result = reinterpret_cast<void *>(-1);
    try {
        throw std::runtime_error("resumer's");
    } catch (const std::runtime_error &e) {
        assert_int_equal(coro_resume_with(co, nullptr, nullptr, record_hook_view, nullptr), CORO_OK);
        assert_string_equal(seen_in_hook.c_str(), "coroutine's");
        assert_string_equal(current_message().c_str(), "resumer's");
        /* The coroutine leaves its catch block while being cancelled. */
        assert_int_equal(coro_cancel(co, &result), CORO_OK);
        assert_string_equal(e.what(), "resumer's");
        assert_string_equal(current_message().c_str(), "resumer's");
    }
    assert_null(result);
    assert_int_equal(coro_status(co), CORO_DEAD);
    assert_string_equal(current_message().c_str(), "");
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* Seen from inside a coroutine: the resumer's exception is not current, and
 * `throw;` rethrows the coroutine's own. */
void *rethrow_own(void *)
{
    if (!current_message().empty())
        return reinterpret_cast<void *>(10);
    try {
        throw std::logic_error("inner");
    } catch (const std::logic_error &) {
        coro_yield(nullptr, nullptr);
        try {
            throw;
        } catch (const std::logic_error &again) {
            if (std::strcmp(again.what(), "inner") != 0)
                return reinterpret_cast<void *>(11);
        } catch (...) {
            return reinterpret_cast<void *>(12);
        }
    }
    return nullptr;
}

void test_current_exception_is_per_context(void **)
{
    coro *co;
    assert_int_equal(coro_create(&co, rethrow_own, nullptr), CORO_OK);
    void *result = reinterpret_cast<void *>(-1);
    try {
        throw std::runtime_error("outer");
    } catch (const std::runtime_error &) {
        assert_int_equal(coro_resume(co, nullptr, &result), CORO_OK);
        assert_string_equal(current_message().c_str(), "outer");
        assert_int_equal(coro_resume(co, nullptr, &result), CORO_OK);
        assert_string_equal(current_message().c_str(), "outer");
    }
    assert_null(result);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* A destructor that yields while its frame is unwound by an exception. */
struct yields_while_unwinding {
    int *seen;
    ~yields_while_unwinding()
    {
        seen[0] = std::uncaught_exceptions();
        coro_yield(nullptr, nullptr);
        seen[1] = std::uncaught_exceptions();
    }
};

void *throw_through_yielding_destructor(void *value)
{
    int *seen = static_cast<int *>(value);
    try {
        yields_while_unwinding guard{seen};
        throw std::runtime_error("unwinding");
    } catch (const std::runtime_error &) {
        seen[2] = std::uncaught_exceptions();
    }
    return nullptr;
}

void test_uncaught_exceptions_is_per_context(void **)
{
    int seen[3] = {-1, -1, -1};
    coro *co;
    assert_int_equal(coro_create(&co, throw_through_yielding_destructor, nullptr), CORO_OK);
    assert_int_equal(coro_resume(co, seen, nullptr), CORO_OK);
    assert_int_equal(seen[0], 1);
    /* The coroutine's exception in flight is not the thread's. */
    assert_int_equal(std::uncaught_exceptions(), 0);
    assert_int_equal(coro_resume(co, nullptr, nullptr), CORO_OK);
    assert_int_equal(seen[1], 1);
    assert_int_equal(seen[2], 0);
    assert_int_equal(coro_status(co), CORO_DEAD);
    assert_int_equal(std::uncaught_exceptions(), 0);
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* The other way round: a coroutine resumed from a destructor during the
 * thread's unwinding sees no exception in flight. */
void *count_uncaught(void *)
{
    return reinterpret_cast<void *>(static_cast<intptr_t>(std::uncaught_exceptions()));
}

struct resumes_while_unwinding {
    void **result;
    ~resumes_while_unwinding()
    {
        coro *co;
        if (coro_create(&co, count_uncaught, nullptr) == CORO_OK) {
            coro_resume(co, nullptr, result);
            coro_destroy(co);
        }
    }
};

void test_coroutine_resumed_while_thread_unwinds(void **)
{
    void *result = reinterpret_cast<void *>(-1);
    try {
        resumes_while_unwinding guard{&result};
        throw std::runtime_error("thread's");
    } catch (const std::runtime_error &) {
    }
    assert_null(result);
}

/* A coroutine suspended in a catch block moves to another thread, which is
 * handling an exception of its own; there it rethrows and finishes its
 * catch block, and the other thread's exception is untouched. */
void *catch_then_migrate(void *)
{
    try {
        throw std::runtime_error("migrating");
    } catch (const std::runtime_error &) {
        coro_yield(nullptr, nullptr);
        if (current_message() != "migrating")
            return reinterpret_cast<void *>(20);
    }
    return current_message().empty() ? nullptr : reinterpret_cast<void *>(21);
}

void test_exception_globals_move_with_the_coroutine(void **)
{
    coro *co;
    assert_int_equal(coro_create(&co, catch_then_migrate, nullptr), CORO_OK);
    assert_int_equal(coro_resume(co, nullptr, nullptr), CORO_OK);
    void *result = reinterpret_cast<void *>(-1);
    std::string other_before, other_after;
    std::thread other([&] {
        try {
            throw std::runtime_error("other thread's");
        } catch (const std::runtime_error &) {
            other_before = current_message();
            coro_resume(co, nullptr, &result);
            other_after = current_message();
        }
    });
    other.join();
    assert_null(result);
    assert_string_equal(other_before.c_str(), "other thread's");
    assert_string_equal(other_after.c_str(), "other thread's");
    assert_string_equal(current_message().c_str(), "");
    assert_int_equal(coro_destroy(co), CORO_OK);
}

/* Symmetric transfer between two coroutines, each inside its own catch. */
coro *peer[2];

void *catch_and_transfer(void *value)
{
    intptr_t me = reinterpret_cast<intptr_t>(value);
    const char *mine = me == 0 ? "first" : "second";
    try {
        throw std::runtime_error(mine);
    } catch (const std::runtime_error &) {
        for (int round = 0; round < 3; round++) {
            if (current_message() != mine)
                return reinterpret_cast<void *>(30 + me);
            coro_transfer(me == 0 ? peer[1] : peer[0], reinterpret_cast<void *>(1 - me), nullptr);
        }
    }
    return current_message().empty() ? nullptr : reinterpret_cast<void *>(40 + me);
}

void test_transfer_keeps_each_catch(void **)
{
    assert_int_equal(coro_create(&peer[0], catch_and_transfer, nullptr), CORO_OK);
    assert_int_equal(coro_create(&peer[1], catch_and_transfer, nullptr), CORO_OK);
    void *result = reinterpret_cast<void *>(-1);
    /* first -> second -> first ... ; first ends after its third transfer
     * came back, returning to the thread. */
    assert_int_equal(coro_resume(peer[0], reinterpret_cast<void *>(0), &result), CORO_OK);
    assert_null(result);
    assert_int_equal(coro_status(peer[0]), CORO_DEAD);
    assert_int_equal(coro_status(peer[1]), CORO_SUSPENDED);
    /* second is still inside its catch, waiting in its third transfer. */
    assert_int_equal(coro_resume(peer[1], nullptr, &result), CORO_OK);
    assert_null(result);
    assert_int_equal(coro_destroy(peer[0]), CORO_OK);
    assert_int_equal(coro_destroy(peer[1]), CORO_OK);
    assert_string_equal(current_message().c_str(), "");
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaving_catch_in_coroutine_keeps_resumers_exception),
        cmocka_unit_test(test_left_catch_is_not_brought_back),
        cmocka_unit_test(test_yield_to_a_coroutine_keeps_each_catch),
        cmocka_unit_test(test_hook_and_cancel_keep_each_catch),
        cmocka_unit_test(test_current_exception_is_per_context),
        cmocka_unit_test(test_uncaught_exceptions_is_per_context),
        cmocka_unit_test(test_coroutine_resumed_while_thread_unwinds),
        cmocka_unit_test(test_exception_globals_move_with_the_coroutine),
        cmocka_unit_test(test_transfer_keeps_each_catch),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
