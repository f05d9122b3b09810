/*
 * The one runner of every Check suite (tests/unit/test_*.c).  With a suite
 * name it runs that suite, otherwise all of them.  Suites that use random
 * input print their seed and take it back from GLAN_SEED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"

int main(int argc, char **argv)
{
    SRunner *sr = NULL;
    size_t n = sizeof glan_suites / sizeof glan_suites[0];
    for (size_t i = 0; i < n; i++) {
        if (argc > 1 && strcmp(argv[1], glan_suites[i].name) != 0)
            continue;
        if (!sr)
            sr = srunner_create(glan_suites[i].make());
        else
            srunner_add_suite(sr, glan_suites[i].make());
    }
    if (!sr) {
        fprintf(stderr, "glan-unit: no suite named '%s'\n", argc > 1 ? argv[1] : "");
        return 2;
    }
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
