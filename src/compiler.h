/*
 * Compiler shims shared by the library's C files, in one place instead of a
 * copy per file.
 */
#ifndef CORO_COMPILER_H
#define CORO_COMPILER_H

/* Thread-local storage. On ELF, initial-exec: a plain thread-pointer-relative
 * load instead of a call to __tls_get_addr on every switch, create and
 * destroy in the shared library. The model is ELF's alone: Mach-O's thread
 * variables go through their own descriptors, and PE/COFF has neither. */
#if defined(__GNUC__) && defined(__ELF__)
#define THREAD_LOCAL _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define THREAD_LOCAL _Thread_local
#endif

#if defined(__GNUC__)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define NOINLINE __attribute__((noinline))
/* Out of line and out of the way: for what a fast path calls only on
 * failure, so that the compiler lays the fast path out without a jump. */
#define COLD __attribute__((noinline, cold))
#define NORETURN __attribute__((noreturn))
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define UNLIKELY(x) (x)
#define LIKELY(x) (x)
#define NOINLINE
#define COLD
#define NORETURN
#define ALWAYS_INLINE inline
#endif

/* Which checking tools the library must tell about its stack switches and
 * lock-free paths (CORO_ASAN, CORO_TSAN). Only the compiler's own macros
 * decide, so a normal build holds none of the hooks. */
#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define CORO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CORO_TSAN 1
#endif
#endif

#endif /* CORO_COMPILER_H */
