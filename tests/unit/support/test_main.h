/*
 * test_main.h — main() of a unit-test file whose tests need no group setup or teardown:
 * WR_TEST_MAIN(cmocka_unit_test(a), cmocka_unit_test(b)) runs them in order and exits with the
 * number that failed (cmocka_run_group_tests). Include after <cmocka.h>.
 */
#ifndef WR_TEST_MAIN_H
#define WR_TEST_MAIN_H

#define WR_TEST_MAIN(...)                                                                          \
    int main(void)                                                                                 \
    {                                                                                              \
        const struct CMUnitTest tests[] = {__VA_ARGS__};                                           \
        return cmocka_run_group_tests(tests, NULL, NULL);                                          \
    }

#endif
