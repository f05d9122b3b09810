/*
 * The JSON writer (json.h).  Every value goes through item(), which writes
 * what separates it from the one before (a comma, a line break and the
 * indent, a key); containers keep their item count and layout on a small
 * stack.
 */
#include <inttypes.h>
#include <string.h>

#include "json.h"

void json_init(struct json *j, FILE *f, enum json_style style)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    j->style = style;
}

static void newline(struct json *j, int indent)
{
    fprintf(j->f, "\n%*s", indent, "");
    j->indent = indent;
}

/* A JSON string: quotes and backslashes escaped, control characters as
 * \u00XX. */
static void quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* Before a value: the separator from the previous item, then the key. */
static void item(struct json *j, const char *key)
{
    int spaced = j->style == JSON_SPACED;

    if (j->depth > 0) {
        struct json_level *l = &j->level[j->depth - 1];
        if (l->items)
            fputc(',', j->f);
        if (l->layout == JSON_LINES || j->wrap)
            newline(j, l->indent + 2);
        else if (l->items && spaced)
            fputc(' ', j->f);
        l->items++;
        j->wrap = 0;
    }
    if (key) {
        quoted(j->f, key);
        fputs(spaced ? ": " : ":", j->f);
    }
}

static void begin(struct json *j, const char *key, enum json_layout layout, char open, char close)
{
    item(j, key);
    fputc(open, j->f);
    if (j->depth == JSON_MAX_DEPTH)
        return; /* the caller nests deeper than any of ours: a bug, not data */
    j->level[j->depth++] =
        (struct json_level){.close = close, .layout = layout, .items = 0, .indent = j->indent};
}

void json_object(struct json *j, const char *key, enum json_layout layout)
{
    begin(j, key, layout, '{', '}');
}

void json_array(struct json *j, const char *key, enum json_layout layout)
{
    begin(j, key, layout, '[', ']');
}

void json_end(struct json *j)
{
    if (j->depth == 0)
        return;
    struct json_level *l = &j->level[--j->depth];
    if (l->layout == JSON_LINES && l->items)
        newline(j, l->indent);
    fputc(l->close, j->f);
    j->wrap = 0;
}

void json_str(struct json *j, const char *key, const char *s)
{
    item(j, key);
    quoted(j->f, s);
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
    item(j, key);
    fprintf(j->f, "%" PRIu64, v);
}

void json_int(struct json *j, const char *key, int64_t v)
{
    item(j, key);
    fprintf(j->f, "%" PRId64, v);
}

void json_fixed(struct json *j, const char *key, double v, int decimals)
{
    item(j, key);
    fprintf(j->f, "%.*f", decimals, v);
}

void json_null(struct json *j, const char *key)
{
    item(j, key);
    fputs("null", j->f);
}

void json_wrap(struct json *j)
{
    j->wrap = 1;
}
