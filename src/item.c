/*
 * item.c - see item.h.
 */
#include <stdarg.h>
#include <stdio.h>

#include "item.h"
#include "mem.h"

struct pg__item *pg__item_new(void)
{
    struct pg__item *it = pg__calloc(1, sizeof(struct pg__item));

    if (it)
        pg__links_init(&it->links);
    return it;
}

void pg__item_reset_result(struct pg__item *it)
{
    it->status = PG_ST_OK;
    it->http_code = 0;
    it->http_version = 0;
    it->bytes = 0;
    it->time_ms = 0;
    it->flags &= ~(unsigned)(PG_ITEM_HTML | PG_ITEM_PRIVATE_IP |
                             PG_ITEM_LINKS_CUT | PG_ITEM_PERMANENT);
    it->retry_after_ms = -1;
    it->hash[0] = '\0';
    it->n_links = 0;
    pg__links_release(&it->links);
    PG_FREE(it->duplicate_of);
    PG_FREE(it->content_type);
    PG_FREE(it->final_url);
    PG_FREE(it->tmp_name);
    PG_FREE(it->path);
    it->error[0] = '\0';
}

void pg__item_free(struct pg__item *it)
{
    if (!it)
        return;
    pg__item_reset_result(it);
    pg_free(it->input_url);
    pg_free(it->url);
    pg_free(it->referrer);
    pg_free(it);
}

const char *pg__http_version_name(unsigned v)
{
    switch (v) {
    case 10: return "1.0";
    case 11: return "1.1";
    case 20: return "2";
    case 30: return "3";
    }
    return NULL;
}

void pg__item_error(struct pg__item *it, enum pg_status st,
                    const char *fmt, ...)
{
    va_list ap;

    it->status = st;
    va_start(ap, fmt);
    vsnprintf(it->error, sizeof(it->error), fmt, ap);
    va_end(ap);
}
