/*
 * The one JSON writer of the glan tool: `glan replay`'s counters.json and
 * `glan bench --json` both go through it.  It writes as it goes (no tree in
 * memory): the caller opens objects and arrays, adds members, and closes
 * them; the writer puts the commas, the quoting and the line breaks.
 *
 * Layout: JSON_COMPACT writes no blank at all ({"a":1,"b":[2,3]}); JSON_SPACED
 * writes ": " and ", ", and a container opened with JSON_LINES puts each item
 * on a line of its own, two blanks deeper than the line it was opened on,
 * and its closing bracket on a line of its own (an empty one stays "[]").
 * json_wrap() starts the next item of an inline container on a new line,
 * two blanks deeper than the container's line, for long objects.
 */
#ifndef GLAN_TOOLS_JSON_H
#define GLAN_TOOLS_JSON_H

#include <stdint.h>
#include <stdio.h>

enum json_style { JSON_COMPACT, JSON_SPACED };
enum json_layout { JSON_INLINE, JSON_LINES };

#define JSON_MAX_DEPTH 8

/* An open object or array. */
struct json_level {
    char close; /* '}' or ']' */
    enum json_layout layout;
    int items;
    int indent; /* of the line the container was opened on */
};

struct json {
    FILE *f;
    enum json_style style;
    int depth;  /* open containers, at most JSON_MAX_DEPTH */
    int indent; /* blanks at the start of the current line */
    int wrap;   /* the next item starts a new line */
    struct json_level level[JSON_MAX_DEPTH];
};

void json_init(struct json *j, FILE *f, enum json_style style);

/* Open an object or an array: a member named key of the enclosing object,
 * or (key NULL) an item of the enclosing array, or the top-level value. */
void json_object(struct json *j, const char *key, enum json_layout layout);
void json_array(struct json *j, const char *key, enum json_layout layout);
/* Close the innermost object or array. */
void json_end(struct json *j);

/* Members (key given) or array items (key NULL). */
void json_str(struct json *j, const char *key, const char *s);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_int(struct json *j, const char *key, int64_t v);
/* A number with a fixed count of decimals ("%.*f"). */
void json_fixed(struct json *j, const char *key, double v, int decimals);
void json_null(struct json *j, const char *key);

/* The next item of the innermost (inline) container starts a new line. */
void json_wrap(struct json *j);

#endif
