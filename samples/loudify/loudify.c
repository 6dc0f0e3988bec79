// loudify: copies stdin to stdout in upper case (ASCII letters only; other bytes pass through).
// Reads in blocks so that large inputs stream through a small, fixed buffer.
#include <ctype.h>
#include <stdio.h>

int main(void) {
    char buffer[64 * 1024];
    size_t count;
    while ((count = fread(buffer, 1, sizeof buffer, stdin)) > 0) {
        for (size_t i = 0; i < count; i++) {
            buffer[i] = (char)toupper((unsigned char)buffer[i]);
        }
        if (fwrite(buffer, 1, count, stdout) != count) {
            fputs("loudify: could not write to stdout\n", stderr);
            return 1;
        }
    }
    if (ferror(stdin)) {
        fputs("loudify: could not read stdin\n", stderr);
        return 1;
    }
    return 0;
}
