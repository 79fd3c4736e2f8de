/* check_main.h: every test program defines its suite; check_main.c runs it. */
#ifndef QA_CHECK_MAIN_H
#define QA_CHECK_MAIN_H

#include <check.h>

Suite *qa_test_suite(void);

#endif
