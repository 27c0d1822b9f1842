/* The assertions of the plain-C API tests: each test file includes this once, counts with
 * CHECK/CHECK_OK and ends by printing "N passed, N failed" (capi_check_report). */
#ifndef LUMBUNG_TESTS_CAPI_CAPI_CHECK_H_
#define LUMBUNG_TESTS_CAPI_CAPI_CHECK_H_

#include <stdio.h>

#include "lumbung/lumbung.h"

static int passed = 0, failed = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond) {                                                                \
      ++passed;                                                                \
    } else {                                                                   \
      ++failed;                                                                \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

/* Prints the error when a call that should succeed did not. */
#define CHECK_OK(err)                                                            \
  do {                                                                           \
    if ((err).code == LB_OK) {                                                   \
      ++passed;                                                                  \
    } else {                                                                     \
      ++failed;                                                                  \
      fprintf(stderr, "%s:%d: expected LB_OK, got %s: %s\n", __FILE__, __LINE__, \
              lb_error_name((err).code), (err).message);                         \
    }                                                                            \
  } while (0)

#endif /* LUMBUNG_TESTS_CAPI_CAPI_CHECK_H_ */
