/*
 * replay_main.c — runs a fuzz driver's LLVMFuzzerTestOneInput over saved inputs without
 * libFuzzer, so every gcc/ASan build replays the corpus under CTest (`make test`).
 *
 * Usage: fuzz_<name> PATH...  where each PATH is a corpus directory (every regular file in it
 * is one input, in name order) or a single input file. A missing path or an empty directory is
 * an error, so a mistyped corpus location cannot make the test pass vacuously. A crash in the
 * driver aborts under the sanitizers with the input's name already printed.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads a whole file; NULL on error. */
static uint8_t *
slurp(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len == cap) {
            cap = cap ? 2 * cap : 4096;
            uint8_t *nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    *out_len = len;
    return buf;
}

static int
run_file(const char *path)
{
    size_t len = 0;
    uint8_t *data = slurp(path, &len);
    if (data == NULL) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return -1;
    }
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    /* An exact-size copy lets ASan catch reads one past the end of the input. */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact == NULL)
        abort();
    memcpy(exact, data, len);
    free(data);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of `dir`; returns how many, or -1 on error. */
static long
run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    char **paths = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t plen = strlen(dir) + strlen(de->d_name) + 2;
        char *path = malloc(plen);
        struct stat st;
        if (path == NULL)
            abort();
        snprintf(path, plen, "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            paths = realloc(paths, cap * sizeof(*paths));
            if (paths == NULL)
                abort();
        }
        paths[n++] = path;
    }
    closedir(d);
    qsort(paths, n, sizeof(*paths), cmp_names);
    long ran = 0;
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (run_file(paths[i]) == 0)
            ran++;
        else
            failed = 1;
        free(paths[i]);
    }
    free(paths);
    return failed ? -1 : ran;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    long total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s does not exist\n", argv[i]);
            return 1;
        }
        long n = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : (run_file(argv[i]) == 0 ? 1 : -1);
        if (n <= 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], n == 0 ? "no inputs" : "read error");
            return 1;
        }
        total += n;
    }
    fprintf(stderr, "replay: %ld inputs ran\n", total);
    return 0;
}
