/*
 * xpath.c - XPath contexts and expressions that never write to libxml2's
 * global error channel (see xpath.h).
 *
 * A context made here captures its errors through its own handler, turns
 * unknown functions into errors instead of messages, and bounds the
 * steps of one evaluation (libxml2's opLimit).  Expressions compiled here
 * are checked for what would only fail, noisily, at evaluation time.
 * Evaluating them on a page is extract.c's job.
 */
#include <stdio.h>
#include <string.h>

#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "ascii.h"
#include "mem.h"
#include "xpath.h"

/* XPath steps one expression may take on one page. */
#define XPATH_OP_LIMIT 100000000UL
/* Longest XPath function name looked up. */
#define FUNC_NAME_MAX 64

static void on_xpath_error(void *userdata, PG_XML_ERROR *e)
{
    struct pg__xpath_err *x = userdata;

    if (e && !x->code) {
        x->code = e->code;
        x->offset = e->int1;
    }
}

/*
 * libxml2's text for an XPath error (its xmlXPathErrorMessages, which
 * it does not export; with a per-context handler it passes only the
 * code).
 */
const char *pg__xpath_msg(int code)
{
    static const char *const msg[] = {
        [XPATH_EXPRESSION_OK] = "ok",
        [XPATH_NUMBER_ERROR] = "number encoding",
        [XPATH_UNFINISHED_LITERAL_ERROR] = "unfinished literal",
        [XPATH_START_LITERAL_ERROR] = "start of literal",
        [XPATH_VARIABLE_REF_ERROR] = "expected $ for variable reference",
        [XPATH_UNDEF_VARIABLE_ERROR] = "undefined variable",
        [XPATH_INVALID_PREDICATE_ERROR] = "invalid predicate",
        [XPATH_EXPR_ERROR] = "invalid expression",
        [XPATH_UNCLOSED_ERROR] = "missing closing curly brace",
        [XPATH_UNKNOWN_FUNC_ERROR] = "unregistered function",
        [XPATH_INVALID_OPERAND] = "invalid operand",
        [XPATH_INVALID_TYPE] = "invalid type",
        [XPATH_INVALID_ARITY] = "invalid number of arguments",
        [XPATH_INVALID_CTXT_SIZE] = "invalid context size",
        [XPATH_INVALID_CTXT_POSITION] = "invalid context position",
        [XPATH_MEMORY_ERROR] = "memory allocation error",
        [XPTR_SYNTAX_ERROR] = "syntax error",
        [XPTR_RESOURCE_ERROR] = "resource error",
        [XPTR_SUB_RESOURCE_ERROR] = "sub resource error",
        [XPATH_UNDEF_PREFIX_ERROR] = "undefined namespace prefix",
        [XPATH_ENCODING_ERROR] = "encoding error",
        [XPATH_INVALID_CHAR_ERROR] = "char out of XML range",
        [XPATH_INVALID_CTXT] = "invalid or incomplete context",
        [XPATH_STACK_ERROR] = "stack usage error",
        [XPATH_FORBID_VARIABLE_ERROR] = "forbidden variable",
        [XPATH_OP_LIMIT_EXCEEDED] = "operation limit exceeded",
        [XPATH_RECURSION_LIMIT_EXCEEDED] = "recursion limit exceeded",
    };
    int i = code - XML_XPATH_EXPRESSION_OK;

    if (i < 0 || (size_t)i >= PG_ARRAY_SIZE(msg) || !msg[i])
        return "unknown XPath error";
    return msg[i];
}

/* Stands in for an unknown function: an error through the context. */
static void unknown_function(xmlXPathParserContextPtr ctxt, int nargs)
{
    (void)nargs;
    xmlXPathErr(ctxt, XPATH_UNKNOWN_FUNC_ERROR);
}

/* The registered function, bypassing lookup_function(). */
static xmlXPathFunction real_lookup(xmlXPathContextPtr xp,
                                    const xmlChar *name,
                                    const xmlChar *ns)
{
    xmlXPathFuncLookupFunc f = xp->funcLookupFunc;
    void *data = xp->funcLookupData;
    xmlXPathFunction fn;

    xp->funcLookupFunc = NULL;
    fn = xmlXPathFunctionLookupNS(xp, name, ns);
    xp->funcLookupFunc = f;
    xp->funcLookupData = data;
    return fn;
}

/*
 * The context's function lookup: an unknown function becomes one that
 * fails through the context's handler, where libxml2 would otherwise
 * print "function not found" on its global error channel.
 */
static xmlXPathFunction lookup_function(void *data, const xmlChar *name,
                                        const xmlChar *ns)
{
    xmlXPathFunction fn = real_lookup(data, name, ns);

    return fn ? fn : unknown_function;
}

xmlXPathContextPtr pg__xpath_context_new(struct pg__xpath_err *cap)
{
    xmlXPathContextPtr xp = xmlXPathNewContext(NULL);

    if (!xp)
        return NULL;
    xp->error = on_xpath_error;
    xp->userData = cap;
    xp->opLimit = XPATH_OP_LIMIT;
    xmlXPathRegisterFuncLookup(xp, lookup_function, xp);
    return xp;
}

static int is_name_start(int c)
{
    return pg__is_alpha(c) || c == '_' || c >= 0x80;
}

static int is_name_char(int c)
{
    return is_name_start(c) || pg__is_digit(c) || c == '-' || c == '.';
}

/*
 * Refuse what compiles but would make libxml2 print on its global error
 * channel when evaluated: calls of unknown functions or of functions
 * with a namespace prefix, and variable references (none is ever
 * bound).  A small lexer after XPath 1.0 section 3.7 tells function
 * names from operator names ("and", "or", "div", "mod").  expr has
 * compiled, so it is well-formed.
 */
static enum pg_code check_names(xmlXPathContextPtr xp, const char *expr,
                                char *err, size_t errlen)
{
    const unsigned char *s = (const unsigned char *)expr;
    int operand_done = 0; /* the last token ends an operand */
    size_t i = 0;

    while (s[i]) {
        int c = s[i];

        if (pg__is_ws(c)) {
            i++;
        } else if (c == '"' || c == '\'') {
            const char *q = strchr(expr + i + 1, c);

            if (!q)
                break;
            i = (size_t)(q - expr) + 1;
            operand_done = 1;
        } else if (pg__is_digit(c) || (c == '.' && pg__is_digit(s[i + 1]))) {
            while (pg__is_digit(s[i]) || s[i] == '.')
                i++;
            operand_done = 1;
        } else if (c == '$') {
            snprintf(err, errlen, "variables are not supported (at "
                     "offset %zu)", i);
            return PG_E_INVALID;
        } else if (is_name_start(c)) {
            size_t start = i, j;
            int prefixed = 0;

            while (is_name_char(s[i]))
                i++;
            if (operand_done) {
                operand_done = 0; /* an operator name */
                continue;
            }
            if (s[i] == ':' && s[i + 1] != ':') {
                prefixed = 1;
                i++;
                if (s[i] == '*')
                    i++;
                while (is_name_char(s[i]))
                    i++;
            }
            j = i;
            while (pg__is_ws(s[j]))
                j++;
            operand_done = 1;
            if (s[j] == ':' && s[j + 1] == ':') {
                operand_done = 0; /* an axis name */
            } else if (s[j] == '(') {
                char name[FUNC_NAME_MAX];
                size_t n = i - start;

                operand_done = 0;
                if (prefixed) {
                    snprintf(err, errlen, "function names with a "
                             "namespace prefix are not supported: "
                             "'%.*s'", (int)(n < 64 ? n : 64),
                             expr + start);
                    return PG_E_INVALID;
                }
                if (n < sizeof(name)) {
                    memcpy(name, expr + start, n);
                    name[n] = '\0';
                    if (!strcmp(name, "node") || !strcmp(name, "text") ||
                        !strcmp(name, "comment") ||
                        !strcmp(name, "processing-instruction") ||
                        real_lookup(xp, (const xmlChar *)name, NULL))
                        continue;
                }
                snprintf(err, errlen, "unknown function '%.*s' (at offset "
                         "%zu)", (int)(n < 64 ? n : 64), expr + start,
                         start);
                return PG_E_INVALID;
            }
        } else if (c == '*') {
            /* A name test after an operator, else a multiplication. */
            operand_done = !operand_done;
            i++;
        } else if (c == ')' || c == ']') {
            operand_done = 1;
            i++;
        } else if (c == '.') {
            i += s[i + 1] == '.' ? 2 : 1;
            operand_done = 1;
        } else {
            operand_done = 0;
            i++;
        }
    }
    return PG_OK;
}

/* Compile expr in xp, errors captured in cap; *out NULL on failure. */
enum pg_code pg__xpath_compile(xmlXPathContextPtr xp,
                               struct pg__xpath_err *cap,
                               const char *expr, xmlXPathCompExprPtr *out,
                               char *err, size_t errlen)
{
    xmlXPathCompExprPtr comp;
    enum pg_code rc;

    *out = NULL;
    if (!expr) {
        snprintf(err, errlen, "no expression");
        return PG_E_INVALID;
    }
    memset(cap, 0, sizeof(*cap));
    comp = xmlXPathCtxtCompile(xp, (const xmlChar *)expr);
    if (!comp) {
        if (!cap->code ||
            cap->code == XML_XPATH_EXPRESSION_OK + XPATH_MEMORY_ERROR) {
            snprintf(err, errlen, "%s", pg_strerror(PG_E_NOMEM));
            return PG_E_NOMEM;
        }
        snprintf(err, errlen, "%s (at offset %d)", pg__xpath_msg(cap->code),
                 cap->offset);
        return PG_E_INVALID;
    }
    rc = check_names(xp, expr, err, errlen);
    if (rc) {
        xmlXPathFreeCompExpr(comp);
        return rc;
    }
    *out = comp;
    return PG_OK;
}

enum pg_code pg__xpath_check(const char *expr, char *err, size_t errlen)
{
    struct pg__xpath_err cap;
    xmlXPathContextPtr xp;
    xmlXPathCompExprPtr comp;
    enum pg_code rc;

    err[0] = '\0';
    xp = pg__xpath_context_new(&cap);
    if (!xp) {
        snprintf(err, errlen, "%s", pg_strerror(PG_E_NOMEM));
        return PG_E_NOMEM;
    }
    rc = pg__xpath_compile(xp, &cap, expr, &comp, err, errlen);
    xmlXPathFreeCompExpr(comp);
    xmlXPathFreeContext(xp);
    return rc;
}

/* The public check (pagegrab.h): the one the job itself applies. */
enum pg_code pg_check_xpath(const char *expr, char *err, size_t errlen)
{
    return pg__xpath_check(expr, err, errlen);
}
