// fail: a job that always fails, so that tests and users can see how an agent reports errors.
// It drains stdin (a well-behaved job reads its input), writes one line to stderr and exits 2.
#include <stdio.h>

int main(void) {
    char buffer[4096];
    size_t total = 0;
    size_t count;
    while ((count = fread(buffer, 1, sizeof buffer, stdin)) > 0) {
        total += count;
    }
    fprintf(stderr, "fail: refusing %zu bytes of input on purpose (this sample always exits with code 2)\n", total);
    return 2;
}
