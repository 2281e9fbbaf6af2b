/*
 * Which sanitizer a test binary was built with, from the compiler's own
 * macros (GCC defines __SANITIZE_*__, clang answers __has_feature).
 */
#ifndef SANITIZER_BUILD_H
#define SANITIZER_BUILD_H

#if defined(__SANITIZE_ADDRESS__)
#define BUILT_WITH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BUILT_WITH_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define BUILT_WITH_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BUILT_WITH_TSAN 1
#endif
#endif

/* The same as 0 or 1, for plain if statements. */
#if defined(BUILT_WITH_TSAN)
#define BUILT_WITH_TSAN_VALUE 1
#else
#define BUILT_WITH_TSAN_VALUE 0
#endif

#if defined(BUILT_WITH_ASAN)
#define BUILT_WITH_ASAN_VALUE 1
#else
#define BUILT_WITH_ASAN_VALUE 0
#endif

#endif /* SANITIZER_BUILD_H */
