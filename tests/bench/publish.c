/*
 * publish.c - what it costs the thread that publishes files to give a
 * finished body its final name, three ways (make bench-publish):
 *
 *   rename    the body was written to a named spool file; the publisher
 *             calls renameat2(RENAME_NOREPLACE) (what pagegrab does);
 *   proc      the body was written to an O_TMPFILE; the publisher calls
 *             linkat() on /proc/self/fd/N, then close();
 *   emptypath the same with linkat(AT_EMPTY_PATH), which needs
 *             CAP_DAC_READ_SEARCH (skipped without it).
 *
 * The writer's side (create, write 4 KiB, close or not) is timed too.
 * Rounds alternate the ways; each figure is the median over the rounds
 * of microseconds per file, with the min-max.  Files go to
 * DIR/publish-bench.XXXXXX, removed at the end.
 *
 *   publish DIR [files-per-round (500) [rounds (7)]]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WAYS 3
#define MAX_ROUNDS 99

static const char *const way_name[WAYS] = { "rename", "proc", "emptypath" };

static double now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "publish: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Empty dir (files only) and leave it. */
static void clear_dir(int dir)
{
    int n;

    for (n = 0;; n++) {
        char name[32];

        snprintf(name, sizeof(name), "f%d", n);
        if (unlinkat(dir, name, 0) < 0 && errno == ENOENT)
            break;
    }
}

/*
 * One round of way w with n files into dir (the spool is top): seconds
 * per file spent writing (*wr) and publishing (*pub).  0, or -1 if the
 * way is not permitted here.
 */
static int round_of(int w, int top, int dir, int n, int *fds, double *wr,
                    double *pub)
{
    static char body[4096];
    char name[64], path[64];
    double t0;
    int i;

    memset(body, 'x', sizeof(body));
    t0 = now();
    for (i = 0; i < n; i++) {
        if (w == 0) {
            snprintf(name, sizeof(name), ".spool-%d.part", i);
            fds[i] = openat(top, name, O_RDWR | O_CREAT | O_EXCL |
                            O_CLOEXEC | O_NOFOLLOW, 0644);
        } else {
            fds[i] = openat(top, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
        }
        if (fds[i] < 0)
            die("create");
        if (write(fds[i], body, sizeof(body)) != (ssize_t)sizeof(body))
            die("write");
        if (w == 0)
            close(fds[i]);
    }
    *wr = (now() - t0) / n;
    t0 = now();
    for (i = 0; i < n; i++) {
        int rc;

        snprintf(name, sizeof(name), "f%d", i);
        if (w == 0) {
            snprintf(path, sizeof(path), ".spool-%d.part", i);
            rc = renameat2(top, path, dir, name, RENAME_NOREPLACE);
        } else if (w == 1) {
            snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
            rc = linkat(AT_FDCWD, path, dir, name, AT_SYMLINK_FOLLOW);
        } else {
            rc = linkat(fds[i], "", dir, name, AT_EMPTY_PATH);
        }
        if (rc < 0 && w == 2 && (errno == EPERM || errno == ENOENT) &&
            i == 0) {
            for (; i < n; i++)
                close(fds[i]);
            return -1;
        }
        if (rc < 0)
            die(way_name[w]);
        if (w != 0)
            close(fds[i]);
    }
    *pub = (now() - t0) / n;
    clear_dir(dir);
    return 0;
}

int main(int argc, char **argv)
{
    double wr[WAYS][MAX_ROUNDS], pub[WAYS][MAX_ROUNDS];
    int ok[WAYS] = { 1, 1, 1 };
    int n = argc > 2 ? atoi(argv[2]) : 500;
    int rounds = argc > 3 ? atoi(argv[3]) : 7;
    char tmpl[4096];
    int top, dir, r, w, *fds;

    if (argc < 2 || n < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: publish DIR [files-per-round [rounds <= "
                "%d]]\n", MAX_ROUNDS);
        return 2;
    }
    {
        /* The O_TMPFILE ways hold a round's files open at once. */
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
            && (rlim_t)n + 16 > rl.rlim_cur) {
            fprintf(stderr, "publish: %d files at once exceed the limit of "
                    "open files (%llu)\n", n,
                    (unsigned long long)rl.rlim_cur);
            return 2;
        }
    }
    snprintf(tmpl, sizeof(tmpl), "%s/publish-bench.XXXXXX", argv[1]);
    if (!mkdtemp(tmpl))
        die(tmpl);
    top = open(tmpl, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (top < 0 || mkdirat(top, "d", 0755) < 0)
        die("directory");
    dir = openat(top, "d", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    fds = calloc((size_t)n, sizeof(*fds));
    if (dir < 0 || !fds)
        die("setup");
    for (r = 0; r < rounds; r++) {
        for (w = 0; w < WAYS; w++) {
            if (ok[w] && round_of(w, top, dir, n, fds, &wr[w][r],
                                  &pub[w][r]) < 0)
                ok[w] = 0;
        }
    }
    printf("%d files of 4 KiB a round, %d rounds, in %s (microseconds a "
           "file, median (min-max))\n", n, rounds, argv[1]);
    printf("%-10s %-26s %-26s\n", "way", "writer", "publisher");
    for (w = 0; w < WAYS; w++) {
        double lo[2], hi[2], med[2];
        int k;

        if (!ok[w]) {
            printf("%-10s not permitted here (needs CAP_DAC_READ_SEARCH)\n",
                   way_name[w]);
            continue;
        }
        for (k = 0; k < 2; k++) {
            double *v = k == 0 ? wr[w] : pub[w];

            med[k] = median(v, rounds) * 1e6;
            lo[k] = v[0] * 1e6;
            hi[k] = v[rounds - 1] * 1e6;
        }
        printf("%-10s %6.2f (%.2f-%.2f)%8s %6.2f (%.2f-%.2f)\n", way_name[w],
               med[0], lo[0], hi[0], "", med[1], lo[1], hi[1]);
    }
    close(dir);
    unlinkat(top, "d", AT_REMOVEDIR);
    close(top);
    if (rmdir(tmpl) < 0)
        die(tmpl);
    free(fds);
    return 0;
}
