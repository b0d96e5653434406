/*
 * extract.c - links found in HTML pages (see extract.h): the driver.
 *
 * pg__extract() works in four steps:
 *  1. pg__charset_decode() (charset.c): the page is decoded into UTF-8,
 *     valid and without NUL bytes or byte-order mark, and its attribute
 *     bombs are cut (pg__prescan_defuse(), prescan.c).  libxml2 2.9's
 *     own decoding reports conversion errors on its global error channel
 *     (stderr) whatever the parser options, and it drops the rest of the
 *     page at the first undecodable byte; so libxml2 only ever gets clean
 *     UTF-8 and HTML_PARSE_IGNORE_ENC.
 *  2. htmlCtxtReadMemory() with a new parser context per page (a reused
 *     one keeps a dictionary that grows with every page).
 *  3. The base URL: the first <base href>, resolved against the page URL.
 *  4. Every expression in turn: each result is resolved with libcurl's
 *     URL API, normalised by pg__url_parse() and added to the links.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "ascii.h"
#include "charset.h"
#include "css.h"
#include "extract.h"
#include "mem.h"
#include "prescan.h"
#include "srcset.h"
#include "xpath.h"

/*
 * XML_PARSE_HUGE lifts the depth limit of 256 elements, beyond which
 * libxml2 silently stops parsing (pages with hundreds of unclosed <div>
 * or <font> exist).  Parsing, XPath and freeing are iterative in 2.9.14,
 * so depth costs memory, not stack; the size of a page is bounded by
 * the caller (PG_PARSE_MAX).
 */
#define PARSE_OPTIONS                                                  \
    (HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR |      \
     HTML_PARSE_NOWARNING | HTML_PARSE_COMPACT | HTML_PARSE_NODEFDTD | \
     HTML_PARSE_IGNORE_ENC | XML_PARSE_HUGE)

/* Bytes looked at by pg__extract_is_html(). */
#define SNIFF_MAX 512

/* libxml2's global error channels, silenced (see pg__extract_silence). */
static void drop_generic(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void drop_structured(void *ctx, PG_XML_ERROR *e)
{
    (void)ctx;
    (void)e;
}

void pg__extract_silence(void)
{
    xmlSetGenericErrorFunc(NULL, drop_generic);
    xmlSetStructuredErrorFunc(NULL, drop_structured);
}

/*
 * HTML sniffing.
 */

/* The MIME Sniffing standard's HTML patterns (case-insensitive). */
static int sniff_html(const char *body, size_t len)
{
    static const char *const pat[] = {
        "<!doctype html", "<html", "<head", "<script", "<iframe", "<h1",
        "<div", "<font", "<table", "<a", "<style", "<title", "<b",
        "<body", "<br", "<p", "<!--",
    };
    size_t n = len < SNIFF_MAX ? len : SNIFF_MAX, i = 0, k;

    if (!body)
        return 0;
    if (n >= 3 && !memcmp(body, "\xef\xbb\xbf", 3))
        i = 3;
    while (i < n && pg__is_ws((unsigned char)body[i]))
        i++;
    for (k = 0; k < PG_ARRAY_SIZE(pat); k++) {
        size_t pl = strlen(pat[k]);

        if (pg__ci_prefix(body + i, n - i, pat[k]) && i + pl < n &&
            (body[i + pl] == ' ' || body[i + pl] == '>'))
            return 1;
    }
    return 0;
}

int pg__extract_is_html(const char *content_type, const char *body,
                        size_t len)
{
    const char *s = content_type, *e;
    size_t n;

    if (s) {
        while (pg__is_ws((unsigned char)*s))
            s++;
        e = s;
        while (*e && *e != ';' && !pg__is_ws((unsigned char)*e))
            e++;
        n = (size_t)(e - s);
        if (pg__ci_eq(s, n, "text/html") ||
            pg__ci_eq(s, n, "application/xhtml+xml"))
            return 1;
        if (n && !pg__ci_eq(s, n, "unknown/unknown") &&
            !pg__ci_eq(s, n, "application/unknown") && !pg__ci_eq(s, n, "*/*"))
            return 0;
    }
    return sniff_html(body, len);
}

/*
 * Extractors.
 */

/* The built-in image expressions; the second keeps image files only. */
static const char default_images[] =
    "//img/@*[name()='src' or name()='srcset' or name()='data-src' or "
    "name()='data-srcset' or name()='data-original' or "
    "name()='data-lazy-src'] | "
    "//source/@*[name()='srcset' or name()='data-srcset']";
static const char default_image_links[] = "//a/@href";
/* With --images, CSS and meta data too (see extract.h). */
static const char default_stylesheets[] =
    "//link[contains(concat(' ', translate(normalize-space(@rel), "
    "'STYLEHS', 'stylehs'), ' '), ' stylesheet ')]/@href";
static const char default_meta_images[] =
    "//meta[@property='og:image' or @property='og:image:url' or "
    "@property='og:image:secure_url' or @name='twitter:image' or "
    "@name='twitter:image:src' or @property='twitter:image']/@content";
static const char default_style_blocks[] = "//style";
static const char default_style_attrs[] = "//@style";
static const char base_href[] = "(//base[@href])[1]/@href";

/* Attributes taken, in this order, from an element an XPath selects. */
static const char *const element_attrs[] = {
    "src", "data-src", "srcset", "href", "data-srcset", "data-original",
    "data-lazy-src", "poster", "data",
};

struct expr {
    xmlXPathCompExprPtr comp;
    const char *text;
    enum pg__link_kind kind;
    int image_files_only; /* keep URLs with an image extension only */
    int css;              /* values are CSS: style blocks (elements,
                             with @import) or declarations (attributes) */
};

/* How the results of an expression are read (add_expr). */
enum how {
    HOW_URL = 0,     /* every URL */
    HOW_IMAGE_FILES, /* URLs with an image extension only */
    HOW_CSS          /* CSS text: its url()s (and @imports) */
};

struct pg__extractor {
    const struct pg__extract_config *cfg;
    xmlXPathContextPtr xp;
    struct pg__xpath_err xerr;
    xmlXPathCompExprPtr base;
    struct expr *e;
    size_t n;
};

void pg__extractor_free(struct pg__extractor *x)
{
    size_t i;

    if (!x)
        return;
    for (i = 0; i < x->n; i++)
        xmlXPathFreeCompExpr(x->e[i].comp);
    pg_free(x->e);
    xmlXPathFreeCompExpr(x->base);
    if (x->xp)
        xmlXPathFreeContext(x->xp);
    pg_free(x);
}

/* Compile text as the next expression of x. */
static enum pg_code add_expr(struct pg__extractor *x, const char *text,
                             enum pg__link_kind kind, int how,
                             char *err, size_t errlen)
{
    char why[PG_ERRBUF_SIZE];
    struct expr *e = &x->e[x->n];
    enum pg_code rc;

    rc = pg__xpath_compile(x->xp, &x->xerr, text, &e->comp, why, sizeof(why));
    if (rc) {
        snprintf(err, errlen, "invalid XPath expression '%.100s': %s",
                 text ? text : "", why);
        return rc;
    }
    e->text = text;
    e->kind = kind;
    e->image_files_only = how == HOW_IMAGE_FILES;
    e->css = how == HOW_CSS;
    x->n++;
    return PG_OK;
}

/* The built-in expressions of --images. */
static enum pg_code add_defaults(struct pg__extractor *x, char *err,
                                 size_t errlen)
{
    static const struct {
        const char *text;
        enum pg__link_kind kind;
        enum how how;
    } d[] = {
        {default_images, PG_LINK_IMAGE, HOW_URL},
        {default_image_links, PG_LINK_IMAGE, HOW_IMAGE_FILES},
        {default_stylesheets, PG_LINK_CSS, HOW_URL},
        {default_meta_images, PG_LINK_IMAGE, HOW_URL},
        {default_style_blocks, PG_LINK_IMAGE, HOW_CSS},
        {default_style_attrs, PG_LINK_IMAGE, HOW_CSS},
    };
    enum pg_code rc = PG_OK;
    size_t i;

    for (i = 0; !rc && i < PG_ARRAY_SIZE(d); i++)
        rc = add_expr(x, d[i].text, d[i].kind, d[i].how, err, errlen);
    return rc;
}

enum pg_code pg__extractor_new(const struct pg__extract_config *cfg,
                               struct pg__extractor **out, char *err,
                               size_t errlen)
{
    struct pg__extractor *x;
    enum pg_code rc = PG_E_NOMEM;
    size_t n, i;

    *out = NULL;
    err[0] = '\0';
    pg__extract_silence();
    n = 6 + cfg->n_image_xpaths + cfg->n_follow_xpaths;
    x = pg__calloc(1, sizeof(*x));
    if (!x)
        goto out;
    x->cfg = cfg;
    x->e = pg__calloc(n, sizeof(*x->e));
    x->xp = pg__xpath_context_new(&x->xerr);
    if (!x->e || !x->xp)
        goto out;
    rc = pg__xpath_compile(x->xp, &x->xerr, base_href, &x->base, err, errlen);
    if (!rc && cfg->default_images)
        rc = add_defaults(x, err, errlen);
    for (i = 0; !rc && i < cfg->n_image_xpaths; i++)
        rc = add_expr(x, cfg->image_xpaths[i], PG_LINK_IMAGE, HOW_URL, err,
                      errlen);
    for (i = 0; !rc && i < cfg->n_follow_xpaths; i++)
        rc = add_expr(x, cfg->follow_xpaths[i], PG_LINK_PAGE, HOW_URL, err,
                      errlen);
out:
    if (rc) {
        if (rc == PG_E_NOMEM && !err[0])
            snprintf(err, errlen, "%s", pg_strerror(rc));
        pg__extractor_free(x);
        return rc;
    }
    *out = x;
    return PG_OK;
}

/*
 * Extraction.
 */

/* The state of one pg__extract() call. */
struct page {
    struct pg__extractor *x;
    struct pg__link_sink sink; /* base, out, the link limit */
    size_t css_refs;           /* CSS references that may still be read */
    char *err;                 /* the first warning goes here */
    size_t errlen;
};

static void warn(struct page *pg, const char *fmt, ...) PG_PRINTF(2, 3);

static void warn(struct page *pg, const char *fmt, ...)
{
    va_list ap;

    if (pg->err[0])
        return;
    va_start(ap, fmt);
    vsnprintf(pg->err, pg->errlen, fmt, ap);
    va_end(ap);
}

/*
 * Resolve and add one reference.  PG_OK when it gave a usable URL (added,
 * already there, filtered or over the limit), PG_E_URL or PG_E_SCHEME
 * when not, PG_E_NOMEM.
 */
static enum pg_code add_ref(struct page *pg, const struct expr *e,
                            const char *ref, size_t len)
{
    enum pg_code rc = pg__link_sink_add(&pg->sink, e->kind, ref, len,
                                        e->image_files_only);

    if (pg->sink.full)
        warn(pg, "more than %zu links; the rest of the page is skipped",
             pg->sink.max);
    return rc;
}

/* Add the url()s of CSS text (with its @imports when imports). */
static enum pg_code add_css(struct page *pg, const char *css, size_t len,
                            int imports)
{
    enum pg_code rc;
    int cut = 0;

    rc = pg__css_links(&pg->sink, css, len, imports, &pg->css_refs, &cut);
    if (cut) {
        pg->sink.out->truncated = 1;
        warn(pg, "more than %u CSS references; the rest of the page's "
             "CSS is skipped", PG_CSS_MAX_REFS);
    }
    if (pg->sink.full)
        warn(pg, "more than %zu links; the rest of the page is skipped",
             pg->sink.max);
    return rc;
}

/* Add the candidates of a srcset (all, or the largest usable one). */
static enum pg_code add_srcset(struct page *pg, const struct expr *e,
                               const char *s, size_t len)
{
    struct pg__srcset_cand *c;
    enum pg_code rc, result = PG_E_URL;
    size_t n, i;

    rc = pg__srcset_parse(s, len, &c, &n);
    if (rc)
        return rc;
    if (!pg->x->cfg->srcset_all && n > 1)
        qsort(c, n, sizeof(*c), pg__srcset_cmp);
    for (i = 0; i < n && !pg->sink.full; i++) {
        rc = add_ref(pg, e, c[i].url, c[i].len);
        if (rc == PG_E_NOMEM) {
            result = rc;
            break;
        }
        if (!rc) {
            result = PG_OK;
            if (!pg->x->cfg->srcset_all)
                break;
        }
    }
    pg_free(c);
    return result;
}

/* Add the value of the attribute name: a srcset or a single URL. */
static enum pg_code add_value(struct page *pg, const struct expr *e,
                              const char *name, const char *v)
{
    size_t nl = strlen(name);

    if (nl >= 6 && pg__ci_eq(name + nl - 6, 6, "srcset"))
        return add_srcset(pg, e, v, strlen(v));
    return add_ref(pg, e, v, strlen(v));
}

/* The value of an attribute; *tofree is set if it had to be built. */
static const char *attr_value(xmlAttrPtr a, xmlChar **tofree)
{
    xmlNodePtr t = a->children;

    *tofree = NULL;
    if (!t)
        return "";
    if (!t->next && t->type == XML_TEXT_NODE && t->content)
        return (const char *)t->content;
    *tofree = xmlNodeGetContent((xmlNodePtr)a);
    return *tofree ? (const char *)*tofree : "";
}

static enum pg_code add_attr(struct page *pg, const struct expr *e,
                             xmlAttrPtr a)
{
    xmlChar *tofree;
    const char *v = attr_value(a, &tofree);
    enum pg_code rc;

    if (e->css)
        rc = add_css(pg, v, strlen(v), 0);
    else
        rc = add_value(pg, e, (const char *)a->name, v);

    xmlFree(tofree);
    return rc;
}

/* Add what one node of a node-set result gives (see pg__extract). */
static enum pg_code add_node(struct page *pg, const struct expr *e,
                             xmlNodePtr node)
{
    enum pg_code rc = PG_OK;
    xmlChar *text;
    xmlAttrPtr a;
    size_t k;

    switch (node->type) {
    case XML_ATTRIBUTE_NODE:
        rc = add_attr(pg, e, (xmlAttrPtr)node);
        break;
    case XML_ELEMENT_NODE:
        if (e->css) {
            text = xmlNodeGetContent(node);
            if (text)
                rc = add_css(pg, (const char *)text,
                             strlen((const char *)text), 1);
            xmlFree(text);
            break;
        }
        for (k = 0; k < PG_ARRAY_SIZE(element_attrs); k++) {
            for (a = node->properties; a; a = a->next) {
                if (!a->ns && !strcmp((const char *)a->name,
                                      element_attrs[k]))
                    break;
            }
            if (!a)
                continue;
            rc = add_attr(pg, e, a);
            if (rc == PG_OK || rc == PG_E_NOMEM)
                break;
        }
        break;
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
    case XML_COMMENT_NODE:
    case XML_PI_NODE:
        text = xmlNodeGetContent(node);
        if (text)
            rc = add_ref(pg, e, (const char *)text,
                         strlen((const char *)text));
        xmlFree(text);
        break;
    default:
        break;
    }
    return rc == PG_E_NOMEM ? rc : PG_OK;
}

/* Evaluate e on the document in pg->x->xp; *res NULL on failure. */
static enum pg_code eval(struct page *pg, xmlXPathCompExprPtr comp,
                         const char *text, xmlXPathObjectPtr *res)
{
    struct pg__extractor *x = pg->x;

    memset(&x->xerr, 0, sizeof(x->xerr));
    x->xp->node = (xmlNodePtr)x->xp->doc;
    x->xp->contextSize = -1;
    x->xp->proximityPosition = -1;
    x->xp->opCount = 0;
    *res = xmlXPathCompiledEval(comp, x->xp);
    if (*res)
        return PG_OK;
    if (x->xerr.code == XML_XPATH_EXPRESSION_OK + XPATH_MEMORY_ERROR)
        return PG_E_NOMEM;
    /* A limit (steps, recursion, or libxml2's own on node-sets, which
     * it reports as a memory error without a handler) cut the result. */
    if (!x->xerr.code ||
        x->xerr.code == XML_XPATH_EXPRESSION_OK + XPATH_OP_LIMIT_EXCEEDED ||
        x->xerr.code ==
            XML_XPATH_EXPRESSION_OK + XPATH_RECURSION_LIMIT_EXCEEDED)
        pg->sink.out->truncated = 1;
    warn(pg, "XPath expression '%.100s' failed: %s", text,
         x->xerr.code ? pg__xpath_msg(x->xerr.code) : "no result");
    return PG_OK;
}

static enum pg_code run_expr(struct page *pg, const struct expr *e)
{
    xmlXPathObjectPtr r;
    enum pg_code rc;
    int i;

    rc = eval(pg, e->comp, e->text, &r);
    if (rc || !r)
        return rc;
    switch (r->type) {
    case XPATH_NODESET:
        for (i = 0; r->nodesetval && i < r->nodesetval->nodeNr; i++) {
            rc = add_node(pg, e, r->nodesetval->nodeTab[i]);
            if (rc || pg->sink.full)
                break;
        }
        break;
    case XPATH_STRING:
        if (r->stringval) {
            rc = add_ref(pg, e, (const char *)r->stringval,
                         strlen((const char *)r->stringval));
            if (rc != PG_E_NOMEM)
                rc = PG_OK;
        }
        break;
    case XPATH_NUMBER:
    case XPATH_BOOLEAN:
        warn(pg, "XPath expression '%.100s' gives a %s, not URLs",
             e->text, r->type == XPATH_NUMBER ? "number" : "boolean");
        break;
    default:
        break;
    }
    xmlXPathFreeObject(r);
    return rc;
}

/* Use the first <base href>, if it resolves, as the base of the page. */
static enum pg_code set_base(struct page *pg)
{
    xmlXPathObjectPtr r;
    xmlChar *tofree = NULL;
    const char *v;
    char *url = NULL;
    CURLU *h;
    enum pg_code rc;

    rc = eval(pg, pg->x->base, base_href, &r);
    if (rc || !r)
        return rc;
    if (r->type != XPATH_NODESET || !r->nodesetval ||
        r->nodesetval->nodeNr < 1 ||
        r->nodesetval->nodeTab[0]->type != XML_ATTRIBUTE_NODE)
        goto out;
    v = attr_value((xmlAttrPtr)r->nodesetval->nodeTab[0], &tofree);
    rc = pg__link_resolve_with(pg->sink.base, v, strlen(v), &url);
    if (rc) {
        rc = rc == PG_E_NOMEM ? rc : PG_OK;
        goto out;
    }
    rc = pg__link_base(url, strlen(url), &h);
    if (rc) {
        rc = rc == PG_E_NOMEM ? rc : PG_OK;
        goto out;
    }
    curl_url_cleanup(pg->sink.base);
    pg->sink.base = h;
out:
    pg_free(url);
    xmlFree(tofree);
    xmlXPathFreeObject(r);
    return rc;
}

/*
 * The node budget of one parse.  libxml2 has no limit on the number of
 * nodes; this counts them in the SAX callbacks that create them and
 * stops the parser once the budget is spent.  Text nodes need no count:
 * adjacent text is merged into one node, so there are at most about
 * twice as many of them as elements.
 */
struct node_budget {
    size_t left;
    int hit;
    startElementSAXFunc start;
    commentSAXFunc comment;
    processingInstructionSAXFunc pi;
};

/* Spend n nodes; on overdraft stop the parser (the node is still made,
 * so that the parser's stacks stay balanced). */
static void spend(htmlParserCtxtPtr ctxt, size_t n)
{
    struct node_budget *nb = ctxt->_private;

    if (n <= nb->left) {
        nb->left -= n;
        return;
    }
    nb->left = 0;
    if (!nb->hit) {
        nb->hit = 1;
        xmlStopParser(ctxt);
    }
}

static void count_start(void *ctx, const xmlChar *name,
                        const xmlChar **atts)
{
    htmlParserCtxtPtr ctxt = ctx;
    struct node_budget *nb = ctxt->_private;
    size_t n = 1, i;

    for (i = 0; atts && atts[i]; i += 2)
        n++;
    spend(ctxt, n);
    nb->start(ctx, name, atts);
}

static void count_comment(void *ctx, const xmlChar *value)
{
    htmlParserCtxtPtr ctxt = ctx;
    struct node_budget *nb = ctxt->_private;

    spend(ctxt, 1);
    nb->comment(ctx, value);
}

static void count_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    htmlParserCtxtPtr ctxt = ctx;
    struct node_budget *nb = ctxt->_private;

    spend(ctxt, 1);
    nb->pi(ctx, target, data);
}

/* Parse t as HTML into *doc, with at most max_nodes nodes (*cut = 1 when
 * parsing stopped there). */
static enum pg_code parse(const struct pg__text *t, size_t max_nodes,
                          htmlDocPtr *doc, int *cut, char *err,
                          size_t errlen)
{
    htmlParserCtxtPtr ctxt = htmlNewParserCtxt();
    enum pg_code rc = PG_OK;
    struct node_budget nb;

    *doc = NULL;
    *cut = 0;
    if (!ctxt)
        return PG_E_NOMEM;
    memset(&nb, 0, sizeof(nb));
    nb.left = max_nodes;
    nb.start = ctxt->sax->startElement;
    nb.comment = ctxt->sax->comment;
    nb.pi = ctxt->sax->processingInstruction;
    if (nb.start && nb.comment && nb.pi) {
        ctxt->_private = &nb;
        ctxt->sax->startElement = count_start;
        ctxt->sax->comment = count_comment;
        ctxt->sax->processingInstruction = count_pi;
    }
    /* Clean UTF-8 without NUL: no encoding to detect, none to obey. */
    *doc = htmlCtxtReadMemory(ctxt, t->p, (int)t->n, NULL, "UTF-8",
                              PARSE_OPTIONS);
    if (!*doc) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        char msg[PG_ERRBUF_SIZE] = "no document";
        size_t n;

        if (e && e->code == XML_ERR_NO_MEMORY) {
            rc = PG_E_NOMEM;
        } else {
            if (e && e->message)
                snprintf(msg, sizeof(msg), "%s", e->message);
            n = strlen(msg);
            while (n > 0 && pg__is_ws((unsigned char)msg[n - 1]))
                msg[--n] = '\0';
            snprintf(err, errlen, "cannot parse HTML: %s", msg);
            rc = PG_E_PARSE;
        }
    }
    *cut = nb.hit;
    htmlFreeParserCtxt(ctxt);
    return rc;
}

/* Cut t to at most max bytes, at a character boundary; 1 if cut. */
static int cut_text(struct pg__text *t, size_t max)
{
    const unsigned char *u = (const unsigned char *)t->p;
    size_t n = max;

    if (t->n <= max)
        return 0;
    while (n > 0 && (u[n] & 0xc0) == 0x80)
        n--;
    t->n = n;
    return 1;
}

enum pg_code pg__extract(struct pg__extractor *x, const char *body,
                         size_t len, const char *content_type,
                         const char *page_url, struct pg__links *out,
                         char *err, size_t errlen)
{
    struct page pg;
    struct pg__text t;
    htmlDocPtr doc = NULL;
    enum pg_code rc;
    size_t i;
    size_t max_bytes = x->cfg->max_bytes ? x->cfg->max_bytes
                                         : PG_EXTRACT_MAX_BYTES;
    size_t max_nodes = x->cfg->max_nodes ? x->cfg->max_nodes
                                         : PG_EXTRACT_MAX_NODES;
    int cut = 0;

    memset(&t, 0, sizeof(t));
    memset(&pg, 0, sizeof(pg));
    pg.x = x;
    pg.sink.out = out;
    pg.sink.max = x->cfg->max_links;
    pg.css_refs = PG_CSS_MAX_REFS;
    pg.err = err;
    pg.errlen = errlen;
    err[0] = '\0';
    rc = pg__link_base(page_url ? page_url : "", page_url ?
                     strlen(page_url) : 0, &pg.sink.base);
    if (rc) {
        if (rc != PG_E_NOMEM) {
            snprintf(err, errlen, "page URL '%.200s' is not an http(s) "
                     "URL", page_url ? page_url : "");
            rc = PG_E_INVALID;
        }
        goto out;
    }
    if (len == 0 || !body)
        goto out;
    if (len > INT_MAX) {
        snprintf(err, errlen, "page of %zu bytes is too large to parse",
                 len);
        rc = PG_E_LIMIT;
        goto out;
    }
    rc = pg__charset_decode(body, len, content_type, &t, NULL, 0);
    if (!rc && cut_text(&t, max_bytes)) {
        out->truncated = 1;
        warn(&pg, "page larger than %zu bytes: only the start is "
             "parsed", max_bytes);
    }
    if (!rc)
        rc = pg__prescan_defuse(&t);
    if (!rc)
        rc = parse(&t, max_nodes, &doc, &cut, err, errlen);
    PG_FREE(t.owned);
    if (rc)
        goto out;
    if (cut) {
        out->truncated = 1;
        err[0] = '\0';
        warn(&pg, "more than %zu HTML nodes: only the start is parsed",
             max_nodes);
    }
    x->xp->doc = doc;
    rc = set_base(&pg);
    for (i = 0; !rc && !pg.sink.full && i < x->n; i++)
        rc = run_expr(&pg, &x->e[i]);
out:
    if (rc == PG_E_NOMEM)
        snprintf(err, errlen, "%s", pg_strerror(rc));
    x->xp->doc = NULL;
    x->xp->node = NULL;
    if (doc)
        xmlFreeDoc(doc);
    curl_url_cleanup(pg.sink.base);
    return rc;
}
