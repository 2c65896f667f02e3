/*
 * Runs a libFuzzer target over files, without libFuzzer: make test
 * links each target with this driver and the sanitizer build, and feeds
 * it test/fuzz/corpus/<target>/, so that every input kept there (the
 * seeds and the inputs that once crashed) is checked on every run, with
 * gcc as well as clang.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

int
main(int argc, char **argv)
{
    int       i;
    long      n;
    FILE     *f;
    uint8_t  *data;

    if (LLVMFuzzerInitialize) {
        LLVMFuzzerInitialize(&argc, &argv);
    }

    for (i = 1; i < argc; i++) {
        f = fopen(argv[i], "rb");
        if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
            || fseek(f, 0, SEEK_SET) != 0)
        {
            fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            return 2;
        }
        data = malloc(n ? (size_t) n : 1);
        if (data == NULL || fread(data, 1, (size_t) n, f) != (size_t) n) {
            fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            return 2;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(data, (size_t) n);
        free(data);
    }

    printf("%d inputs\n", argc - 1);
    return 0;
}
