/* Minimal unit-test harness shared by tests/unit, tests/raft and tests/sim.
 *
 * A test file defines functions with TEST(name) and lists them in main()
 * through RUN(name); TEST_REPORT() prints "N passed, N failed" as the last
 * line and yields the exit status. A failed CHECK records the failure with
 * file and line and returns from the current test. */
#ifndef RAFTKV_TEST_H
#define RAFTKV_TEST_H

#include <stdio.h>
#include <string.h>

static int test_passed, test_failed, test_cur_failed;

#define TEST(name) static void name(void)

#define CHECK(cond) do { \
    if (!(cond)) { \
        fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        test_cur_failed = 1; \
        return; \
    } \
} while (0)

#define CHECK_EQ_INT(a, b) do { \
    long long _a = (long long)(a), _b = (long long)(b); \
    if (_a != _b) { \
        fprintf(stderr, "  FAIL %s:%d: %s == %s (%lld != %lld)\n", \
                __FILE__, __LINE__, #a, #b, _a, _b); \
        test_cur_failed = 1; \
        return; \
    } \
} while (0)

#define CHECK_MEM(ptr, len, lit) do { \
    size_t _l = sizeof(lit) - 1; \
    if ((size_t)(len) != _l || memcmp((ptr), (lit), _l) != 0) { \
        fprintf(stderr, "  FAIL %s:%d: %s is \"%.*s\", want \"%s\"\n", \
                __FILE__, __LINE__, #ptr, (int)(len), (const char *)(ptr), lit); \
        test_cur_failed = 1; \
        return; \
    } \
} while (0)

#define RUN(name) do { \
    test_cur_failed = 0; \
    name(); \
    if (test_cur_failed) { test_failed++; fprintf(stderr, "not ok %s\n", #name); } \
    else { test_passed++; printf("ok %s\n", #name); } \
} while (0)

#define TEST_REPORT() \
    (printf("%d passed, %d failed\n", test_passed, test_failed), test_failed ? 1 : 0)

#endif
