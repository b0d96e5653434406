/*
 * manifest_read_fuzzer.c - libFuzzer target for the manifest reader
 * used by --resume (pg__manifest_read() in src/manifest.c).
 *
 * The input is written to a temporary file as a manifest and read back.
 * Checked invariants: the reader returns PG_OK, it reports at most one
 * record per complete line, and every record's url, status and kind are
 * NUL-terminated strings (url non-empty).  A broken invariant aborts;
 * ASan reports overreads and leaks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct count {
    size_t records;
};

static enum pg_code on_record(const struct pg__manifest_rec *rec, void *ud)
{
    struct count *c = ud;
    const char *url = rec->url, *status = rec->status, *kind = rec->kind,
               *path = rec->path;
    const char *more[3] = { rec->content_type, rec->hash, rec->referrer };
    size_t i;

    for (i = 0; i < 3; i++) {
        if (more[i] && strlen(more[i]) == (size_t)-1)
            abort();
    }
    if (rec->len != strlen(rec->line) || rec->line[rec->len - 1] != '\n')
        abort();

    if (!url || !status || !kind)
        abort();
    /* Touch every byte, so ASan sees an unterminated string. */
    if (strlen(url) + strlen(status) + strlen(kind) == (size_t)-1)
        abort();
    if (path && strlen(path) == (size_t)-1)
        abort();
    c->records++;
    return PG_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    struct count c = { 0 };
    size_t lines = 0, i;
    FILE *f;

    if (!path[0])
        snprintf(path, sizeof(path), "/tmp/pg-manifest-fuzz.%ld",
                 (long)getpid());
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f))
        abort();
    for (i = 0; i < size; i++)
        lines += data[i] == '\n';
    if (pg__manifest_read(path, on_record, &c) != PG_OK)
        abort();
    if (c.records > lines)
        abort();
    unlink(path);
    return 0;
}
