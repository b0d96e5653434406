/*
 * replay.c - runs a libFuzzer target over files, without libFuzzer.
 *
 * Linked with one *_fuzzer.c, it feeds every file named on the command
 * line (directories are walked one level) to LLVMFuzzerTestOneInput, so
 * the corpora and crash reproducers in tests/fuzz/NAME.in/ and
 * NAME.repro/ are replayed by `make test` with gcc, ASan or valgrind.
 * Prints "N passed, 0 failed"; a crash fails the run by itself.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (!f) {
        fprintf(stderr, "cannot open '%s'\n", path);
        return -1;
    }
    do {
        if (len == cap) {
            uint8_t *p = realloc(buf, cap ? cap * 2 : 65536);

            if (!p) {
                fclose(f);
                free(buf);
                return -1;
            }
            buf = p;
            cap = cap ? cap * 2 : 65536;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    LLVMFuzzerTestOneInput(buf ? buf : (const uint8_t *)"", len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long done = 0, bad = 0;
    int i;

    for (i = 1; i < argc; i++) {
        struct stat st;
        struct dirent *de;
        DIR *d;

        if (stat(argv[i], &st) < 0)
            continue; /* an absent NAME.repro/ is fine */
        if (!S_ISDIR(st.st_mode)) {
            bad += run_file(argv[i]) != 0;
            done++;
            continue;
        }
        d = opendir(argv[i]);
        if (!d)
            continue;
        while ((de = readdir(d)) != NULL) {
            char path[4096];

            if (de->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                bad += run_file(path) != 0;
                done++;
            }
        }
        closedir(d);
    }
    printf("%lu passed, %lu failed\n", done - bad, bad);
    return bad ? 1 : 0;
}
