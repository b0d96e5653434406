/*
 * item.h - struct pg__item, one URL travelling through the pool.
 *
 * The main thread creates an item, the pool owns it from submit until
 * it is handed back, and a worker fills in the result part (fetch.c).
 * Every string is owned by the item and freed by pg__item_free().
 */
#ifndef PG_ITEM_H
#define PG_ITEM_H

#include <stdint.h>

#include "pagegrab.h"

#define PG_ITEM_ERR_MAX 256

struct pg__item {
    struct pg__item *next;  /* queue link, owned by whoever holds it */
    uint64_t id;            /* unique within the job */

    /* Set by the main thread. */
    char *input_url;        /* as given (trimmed) */
    char *url;              /* normalised, what is fetched */
    uint64_t line;

    /* Set by the worker. */
    enum pg_status status;
    long http_code;
    uint64_t bytes;
    double time_ms;
    unsigned attempts;
    char *content_type;
    char *final_url;
    char *tmp_name;         /* spool file in the output dir, or NULL */
    char error[PG_ITEM_ERR_MAX];

    /* Set by the main thread when the result is saved. */
    char *path;
};

/* A new empty item; NULL on out of memory. */
struct pg__item *pg__item_new(void);
void pg__item_free(struct pg__item *it);

/* Forget the result part (before a retry or after a crash). */
void pg__item_reset_result(struct pg__item *it);

/* Set it->error from a format (truncated to fit). */
void pg__item_error(struct pg__item *it, enum pg_status st,
                    const char *fmt, ...) PG_PRINTF(3, 4);

#endif
