/* classifiers/decode_csv.c — CSV and TSV (text/csv, text/tab-separated-
 * values, `.csv`, `.tsv`): each cell is a text unit under its column's
 * header as context.
 *
 * Read as raw text, a value only had the words within 64 bytes before it
 * as context, so in a table of a hundred rows the "ssn" and "dob" of the
 * header reached the first row or two: a bare 9-digit number or a date
 * further down was no finding. Here the header row's cells name the
 * columns; every later cell is context (its column's name, cut to 63
 * bytes), data (the cell, its enclosing quotes taken off, streamed in
 * pieces), boundary. Header cells are data too. The table's structure
 * (enclosing quotes, delimiters, line ends) goes between the cells as
 * units of its own, so that every byte is fed on: findings keep the
 * file's own offsets, as for raw text.
 *
 * The delimiter is the one of ',' ';' '\t' '|' the first line has most of
 * outside quotes (held until its end, 64 KiB at most: the same choice
 * whatever the split); none → one column a line. RFC 4180 quoting: a
 * quoted cell holds delimiters and line ends; a quote inside an unquoted
 * cell is data. Nothing is refused: text that is no table passes as cells
 * of one column. Memory: the first line (64 KiB) and the names of 256
 * columns. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/decode_internal.h"

#define CSV_FIRST (64u * 1024u) /* the first line, held to choose the delimiter */
#define CSV_COLS 256u
#define CSV_NAME DEC_CELL_NAME
#define CSV_PREV DEC_CELL_PREV

enum csv_st { CS_FIRST, CS_CELL_START, CS_UNQUOTED, CS_QUOTED, CS_QUOTE_IN_QUOTED };

struct dec_csv {
    struct dec base;
    enum csv_st st;
    uint8_t delim;   /* 0: none (one column) */
    int header;      /* reading the first row (or a title's next rows) */
    struct dec_title title;
    int cr;          /* a CR ended the last row: an LF right after is its */
    size_t col;      /* the cell's column */
    size_t ncols;
    int open;        /* the cell has begun (context sent) */
    uint8_t prev[CSV_PREV];  /* the row's previous cell, its first bytes */
    size_t prev_len, cur_len; /* ... and the current cell's so far */
    uint8_t cur[CSV_PREV];
    uint8_t names[CSV_COLS][CSV_NAME];
    uint8_t name_len[CSV_COLS];
    size_t first_len;
    uint8_t first[CSV_FIRST];
};

/* The cell's context: the row's previous cell (its first bytes: a
 * key/value table's "ssn" for the value after it, as raw text had it
 * within 64 bytes), then the column's name (last: a secret's key such as
 * "password" is known by its end). Nothing when both are empty. */
int dec_cell_context(struct dec_env *env, const uint8_t *prev, size_t pl, const uint8_t *name, size_t nl)
{
    if (nl > DEC_CELL_NAME)
        nl = DEC_CELL_NAME;
    if (pl + 1 + nl > DEC_CELL_NAME)
        pl = nl + 1 < DEC_CELL_NAME ? DEC_CELL_NAME - nl - 1 : 0;
    if (nl + pl == 0)
        return SGW_OK;
    uint8_t k[DEC_CELL_NAME + 1];
    memcpy(k, prev, pl);
    size_t kn = pl;
    if (pl && nl)
        k[kn++] = ' ';
    memcpy(k + kn, name, nl);
    return dec_text_context(env, k, kn + nl);
}

/* A cell's bytes p[0..n) kept: its first bytes in cur (the next cell's
 * "previous", cur_len of cap bytes), and in name (name_len of
 * DEC_CELL_NAME) when name is not NULL (a header's cell). */
static void cell_keep(uint8_t *cur, size_t *cur_len, size_t cap, uint8_t *name, uint8_t *name_len,
                      const uint8_t *p, size_t n)
{
    size_t k = n < cap - *cur_len ? n : cap - *cur_len;
    memcpy(cur + *cur_len, p, k);
    *cur_len += k;
    if (name) {
        k = n < DEC_CELL_NAME - *name_len ? n : DEC_CELL_NAME - *name_len;
        memcpy(name + *name_len, p, k);
        *name_len = (uint8_t)(*name_len + k);
    }
}

static int csv_open(struct dec_csv *c)
{
    if (c->open)
        return SGW_OK;
    c->open = 1;
    c->cur_len = 0;
    const uint8_t *name = c->names[c->col < CSV_COLS ? c->col : 0];
    size_t nl = c->title.tent ? dec_title_name(&c->title, c->col, &name)
                : c->header || c->col >= c->ncols ? 0 : c->name_len[c->col];
    size_t pl = c->col > 0 ? c->prev_len : 0; /* (a header's too: a key/value table's first pair) */
    return dec_cell_context(c->base.env, c->prev, pl, name, nl);
}

/* p[0..n) of the current cell */
static int csv_data(struct dec_csv *c, const uint8_t *p, size_t n)
{
    if (n == 0)
        return SGW_OK;
    int rc = csv_open(c);
    if (rc != SGW_OK)
        return rc;
    int named = c->header && c->col < CSV_COLS; /* (the column's name: its first bytes) */
    cell_keep(c->cur, &c->cur_len, CSV_PREV, named ? c->names[c->col] : NULL, named ? &c->name_len[c->col] : NULL,
              p, n);
    return dec_text_data(c->base.env, p, n);
}

/* Bytes of the table's structure (quotes around a cell, delimiters, line
 * ends) as units of their own between the cells: every byte of the file
 * is fed on, so findings keep the file's own offsets. */
static int csv_sep(struct dec_csv *c, const uint8_t *p, size_t n)
{
    int rc = dec_text_data(c->base.env, p, n);
    return rc == SGW_OK ? dec_text_boundary(c->base.env) : rc;
}

/* the cell ends (its closing quote q: 1 or 0, then the byte b that ended
 * it: a delimiter or a line end, or none at 0 when b is 0) */
static int csv_end_cell(struct dec_csv *c, int q, uint8_t b)
{
    int rc = SGW_OK;
    if (c->open)
        rc = dec_text_boundary(c->base.env);
    memcpy(c->prev, c->cur, c->open ? c->cur_len : 0);
    c->prev_len = c->open ? c->cur_len : 0;
    c->open = 0;
    if (c->header && c->col + 1 > c->ncols)
        c->ncols = c->col + 1 < CSV_COLS ? c->col + 1 : CSV_COLS;
    if (b && b == c->delim) {
        c->col++;
    } else if (b) {
        c->col = 0;
        c->header = c->header && dec_title_row(&c->title, c->names, c->name_len, c->ncols);
        c->cr = b == '\r';
    }
    c->st = CS_CELL_START;
    uint8_t sep[2] = {'"', b};
    if (rc == SGW_OK && (q || b))
        rc = csv_sep(c, sep + !q, (size_t)q + (b != 0));
    return rc;
}

static int csv_run(struct dec_csv *c, const uint8_t *p, size_t n)
{
    int rc = SGW_OK;
    size_t i = 0;
    while (i < n && rc == SGW_OK) {
        uint8_t b = p[i];
        switch (c->st) {
        case CS_CELL_START:
            if ((c->cr && b == '\n') || (c->col == 0 && (b == '\r' || b == '\n'))) {
                /* (CRLF's LF; an empty line is no row) */
                c->cr = b == '\r';
                rc = csv_sep(c, p + i, 1);
                i++;
                continue;
            }
            c->cr = 0;
            if (b == '"') {
                rc = csv_sep(c, p + i, 1);
                c->st = CS_QUOTED;
                if (rc == SGW_OK)
                    rc = csv_open(c);
                i++;
            } else if (b == '\r' || b == '\n' || (c->delim && b == c->delim)) {
                rc = csv_end_cell(c, 0, b); /* (an empty cell) */
                i++;
            } else {
                c->st = CS_UNQUOTED;
            }
            break;
        case CS_UNQUOTED: {
            size_t j = i;
            while (j < n && p[j] != '\r' && p[j] != '\n' && !(c->delim && p[j] == c->delim))
                j++;
            rc = csv_data(c, p + i, j - i);
            i = j;
            if (rc == SGW_OK && i < n) {
                rc = csv_end_cell(c, 0, p[i]);
                i++;
            }
            break;
        }
        case CS_QUOTED: {
            const uint8_t *q = memchr(p + i, '"', n - i);
            size_t j = q ? (size_t)(q - p) : n;
            rc = csv_data(c, p + i, j - i);
            i = j;
            if (q) {
                c->st = CS_QUOTE_IN_QUOTED;
                i++;
            }
            break;
        }
        case CS_QUOTE_IN_QUOTED:
            if (b == '"') { /* a doubled quote: the cell's, both bytes kept */
                rc = csv_data(c, (const uint8_t *)"\"\"", 2);
                c->st = CS_QUOTED;
                i++;
            } else if (b == '\r' || b == '\n' || (c->delim && b == c->delim)) {
                rc = csv_end_cell(c, 1, b);
                i++;
            } else { /* text after the closing quote: the quote and it are the cell's */
                rc = csv_data(c, (const uint8_t *)"\"", 1);
                c->st = CS_UNQUOTED;
            }
            break;
        case CS_FIRST:
            return SGW_ERR; /* (not reached: csv_feed decides first) */
        }
    }
    return rc;
}

/* The delimiter the first line has most of outside quotes. */
static uint8_t csv_delim(const uint8_t *p, size_t n)
{
    static const uint8_t cand[] = {',', ';', '\t', '|'};
    size_t count[sizeof(cand)] = {0};
    int quoted = 0;
    for (size_t i = 0; i < n && (quoted || (p[i] != '\n' && p[i] != '\r')); i++) {
        if (p[i] == '"')
            quoted = !quoted;
        else if (!quoted)
            for (size_t k = 0; k < sizeof(cand); k++)
                count[k] += p[i] == cand[k];
    }
    size_t best = 0;
    for (size_t k = 1; k < sizeof(cand); k++)
        if (count[k] > count[best])
            best = k;
    return count[best] ? cand[best] : 0;
}

/* Does b[0..n) begin as a table: three complete lines or more (eight
 * looked at), each with the same number, one or more, of the first line's
 * delimiter outside quotes, and a header of short cells (no prose)?
 * Strict, since what it says yes to is read as cells under its header's
 * names: for text that comes without a type (a Converse `csv` document in
 * base64, an untyped upload). */
int dec_looks_csv(const uint8_t *b, size_t n)
{
    /* (the header ends within 1 KiB: most text is ruled out by a memchr,
       base64 runs' decodings among it) */
    const uint8_t *nl = memchr(b, '\n', n < 1025 ? n : 1025);
    if (!nl)
        return 0;
    uint8_t d = csv_delim(b, (size_t)(nl - b));
    if (!d)
        return 0;
    size_t lines = 0, want = 0, cell = 0, at = 0;
    int quoted = 0, letter = 0;
    for (size_t i = 0; i < n && lines < 8; i++) {
        uint8_t c = b[i];
        if (c == '"') {
            quoted = !quoted;
        } else if (!quoted && c == d) {
            at++;
            cell = 0;
            continue;
        } else if (c == '\n') {
            if (quoted || (lines == 0 ? (want = at) == 0 || !letter : at != want))
                return 0;
            lines++;
            at = cell = 0;
            continue;
        } else if (c < 0x20 && c != '\r' && c != '\t') {
            return 0;
        }
        cell++;
        if (lines == 0) {
            letter |= (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
            if (cell > 64 || i >= 1024)
                return 0; /* (a header of names, not a paragraph) */
        }
    }
    return lines >= 3;
}

/* Is the first line whole in first[0..first_len) (a line end outside
 * quotes)? */
static int csv_first_done(const struct dec_csv *c)
{
    int quoted = 0;
    for (size_t i = 0; i < c->first_len; i++) {
        if (c->first[i] == '"')
            quoted = !quoted;
        else if (!quoted && (c->first[i] == '\n' || c->first[i] == '\r'))
            return 1;
    }
    return 0;
}

static int csv_start(struct dec_csv *c)
{
    c->delim = csv_delim(c->first, c->first_len);
    c->st = CS_CELL_START;
    return csv_run(c, c->first, c->first_len);
}

static int csv_feed(struct dec *d, const uint8_t *p, size_t n)
{
    struct dec_csv *c = (struct dec_csv *)d;
    if (c->st != CS_FIRST)
        return csv_run(c, p, n);
    size_t take = CSV_FIRST - c->first_len < n ? CSV_FIRST - c->first_len : n;
    memcpy(c->first + c->first_len, p, take);
    c->first_len += take;
    if (c->first_len < CSV_FIRST && !csv_first_done(c))
        return SGW_OK;
    int rc = csv_start(c);
    return rc == SGW_OK ? csv_run(c, p + take, n - take) : rc;
}

static int csv_finish(struct dec *d)
{
    struct dec_csv *c = (struct dec_csv *)d;
    int rc = c->st == CS_FIRST ? csv_start(c) : SGW_OK;
    if (rc == SGW_OK && c->st == CS_QUOTE_IN_QUOTED)
        return csv_end_cell(c, 1, 0); /* (the last cell's closing quote) */
    if (rc == SGW_OK && c->open)
        rc = dec_text_boundary(d->env);
    c->open = 0;
    return rc;
}

static const struct dec_ops csv_ops = {"csv", csv_feed, csv_finish, NULL};

int dec_new_csv(struct dec_env *env, unsigned nest, struct dec **out)
{
    struct dec_csv *c = dec_alloc_head(sizeof(*c), offsetof(struct dec_csv, first), &csv_ops, env, nest);
    if (!c)
        return SGW_ENOMEM;
    c->st = CS_FIRST;
    c->header = 1;
    *out = &c->base;
    return SGW_OK;
}

/* a letter (ASCII, or any byte of a UTF-8 sequence) */
static int tab_letter(uint8_t c)
{
    return (unsigned)((c | 0x20) - 'a') < 26u || c >= 0x80;
}

int dec_title_row(struct dec_title *t, uint8_t (*names)[DEC_CELL_NAME], uint8_t *name_len, size_t ncols)
{
    size_t n = 0, at = 0, words = 0;
    for (size_t i = 0; i < ncols; i++) {
        if (!name_len[i])
            continue;
        n++;
        at = i;
        for (size_t k = 0; k < name_len[i]; k++)
            if (tab_letter(names[i][k])) {
                words++;
                break;
            }
    }
    if (n >= 2 && (!t->tent || words == n)) { /* (after a title: names, not a row of values) */
        t->tent = 0;
        return 0;
    }
    if (!t->tent) { /* (the first row: the title) */
        t->col = at;
        t->len = n ? name_len[at] : 0;
        memcpy(t->name, names[at], t->len);
    }
    memset(name_len, 0, ncols);
    if (n < 2 && t->tries < 2) {
        t->tries++;
        t->tent = 1;
        return 1;
    }
    t->tent = 0; /* (no header after it: the title names its column, as before) */
    if (t->col < ncols) {
        memcpy(names[t->col], t->name, t->len);
        name_len[t->col] = t->len;
    }
    return 0;
}

/* ---- a table in prose (struct dec_tab) ---- */

void dec_tab_begin(struct dec_tab *t, uint8_t delim, const uint8_t *first, size_t fl)
{
    memset(t, 0, offsetof(struct dec_tab, names));
    t->delim = delim;
    t->header = 1;
    t->lstart = delim == '|';
    if (delim == '\t') { /* the first cell went out before: it is the previous and the first name */
        size_t k = fl < DEC_CELL_NAME ? fl : DEC_CELL_NAME;
        memcpy(t->names[0], first, k);
        t->name_len[0] = (uint8_t)k;
        t->cur_len = fl < DEC_CELL_PREV ? fl : DEC_CELL_PREV;
        memcpy(t->cur, first, t->cur_len);
        t->ncols = 1;
    }
}

/* The end of a header's cell that begins at h[i] (d ',': outside double
 * quotes) */
static size_t tab_cell_end(const uint8_t *h, size_t i, size_t n, uint8_t d)
{
    for (int q = 0; i < n && (q || h[i] != d); i++)
        q ^= d == ',' && h[i] == '"';
    return i;
}

void dec_tab_begin_rows(struct dec_tab *t, uint8_t d, const uint8_t *h, size_t hl)
{
    memset(t, 0, offsetof(struct dec_tab, names));
    t->delim = d;
    t->bare = d == '|';
    size_t c = 0;
    for (size_t i = 0; i <= hl && c < DEC_TAB_COLS; c++) {
        size_t e = tab_cell_end(h, i, hl, d);
        size_t k = e - i < DEC_CELL_NAME ? e - i : DEC_CELL_NAME;
        memcpy(t->names[c], h + i, k);
        t->name_len[c] = (uint8_t)k;
        i = e + 1;
    }
    t->ncols = c;
    t->col = c - 1; /* (the line's end: it had the delimiters) */
}

unsigned dec_tab_header(const uint8_t *h, size_t n, uint8_t d)
{
    if (n < 3 || n > DEC_TAB_HEADER)
        return 0;
    size_t i = 0;
    if (d == '|') { /* (markdown: its cells between the outer pipes, if any) */
        while (i < n && h[i] == ' ')
            i++;
        while (n > i && h[n - 1] == ' ')
            n--;
        i += i < n && h[i] == '|';
        n -= n > i && h[n - 1] == '|';
        if (n < i + 3)
            return 0;
    }
    unsigned delims = 0, spaced = 0;
    for (;;) {
        size_t e = tab_cell_end(h, i, n, d);
        size_t a = i, b = e;
        while (a < b && (h[a] == ' ' || (d == ',' && h[a] == '"')))
            a++;
        while (b > a && (h[b - 1] == ' ' || (d == ',' && h[b - 1] == '"')))
            b--;
        if (b - a == 0 || b - a > 32 || memchr(".!?:;", h[b - 1], 5))
            return 0; /* (an empty name, or a sentence's end) */
        unsigned letters = 0, spaces = 0;
        for (size_t k = a; k < b; k++) {
            if (h[k] < 0x20 || h[k] == '|')
                return 0;
            letters += tab_letter(h[k]);
            spaces += h[k] == ' ';
        }
        if (!letters || spaces > 3)
            return 0; /* (a number, or a phrase) */
        if (e == n)
            break;
        delims++;
        spaced += e + 1 < n && h[e + 1] == ' ';
        i = e + 1;
    }
    if (delims == 0 || delims >= DEC_TAB_COLS || (d == ',' && delims == 1 && spaced))
        return 0; /* (two columns: "Thanks, Bob" is prose) */
    return d == '|' ? delims + 1 : delims;
}

/* Structure (a delimiter, a line end) as a unit of its own, as csv_sep. */
static int tab_sep(struct dec_env *env, const uint8_t *p)
{
    int rc = dec_text_data(env, p, 1);
    return rc == SGW_OK ? dec_text_boundary(env) : rc;
}

/* A header row of tab-separated lines (cells that are names, not values)
 * is one unit, as the line reads: a tab in a line of prose ("charge card
 * 4111<TAB>1111<TAB>1111<TAB>1111 today", a string with no second line)
 * begins such a table too, and a value written across its cells is found
 * as in raw text. The rows under it are cut into cells. */
static inline int tab_joined(const struct dec_tab *t)
{
    return t->delim == '\t' && t->header;
}

/* The cell (or the line that is no row) ends. */
static int tab_end_cell(struct dec_env *env, struct dec_tab *t)
{
    int rc = t->open && !tab_joined(t) ? dec_text_boundary(env) : SGW_OK;
    t->open = 0;
    memcpy(t->prev, t->cur, t->cur_len);
    t->prev_len = t->cur_len;
    t->cur_len = 0;
    if (t->header && t->col + 1 > t->ncols)
        t->ncols = t->col + 1 < DEC_TAB_COLS ? t->col + 1 : DEC_TAB_COLS;
    return rc;
}

static int tab_data(struct dec_env *env, struct dec_tab *t, const uint8_t *p, size_t n)
{
    if (!t->open && tab_joined(t)) {
        t->open = 1;
    } else if (!t->open) {
        t->open = 1;
        const uint8_t *name = t->names[t->col < DEC_TAB_COLS ? t->col : 0];
        size_t nl = t->title.tent ? dec_title_name(&t->title, t->col, &name)
                    : !t->header && t->col < t->ncols ? t->name_len[t->col] : 0;
        size_t pl = t->col > 0 ? t->prev_len : 0;
        /* (an empty context too: the cell before's must not name this one) */
        int rc = nl + pl ? dec_cell_context(env, t->prev, pl, name, nl) : dec_text_context(env, t->cur, 0);
        if (rc != SGW_OK)
            return rc;
    }
    int named = t->header && t->col < DEC_TAB_COLS;
    cell_keep(t->cur, &t->cur_len, DEC_CELL_PREV, named ? t->names[t->col] : NULL,
              named ? &t->name_len[t->col] : NULL, p, n);
    return dec_text_data(env, p, n);
}

size_t dec_tab_feed(struct dec_env *env, struct dec_tab *t, const uint8_t *p, size_t n, int *rc)
{
    *rc = SGW_OK;
    size_t i = 0;
    while (i < n && *rc == SGW_OK) {
        uint8_t b = p[i];
        if (t->lstart) {
            if (t->cr && b == '\n') { /* (CRLF's LF) */
                t->cr = 0;
                *rc = tab_sep(env, p + i++);
                continue;
            }
            if (t->delim == '|' && !t->bare && b != '|')
                goto ended; /* (a markdown line that is no row) */
            t->lstart = t->cr = 0;
        }
        if (b == '\n' || b == '\r') {
            *rc = tab_end_cell(env, t);
            /* (tabs, commas: a line without one is no row; commas: nor
               one with another count, prose after the table, after it) */
            int none = t->col == 0 || (t->delim == ',' && t->col + 1 != t->ncols);
            if (!none) /* (the header is the first row, or the row after a title) */
                t->header = t->header && dec_title_row(&t->title, t->names, t->name_len, t->ncols);
            t->col = 0;
            t->q = 0;
            t->lstart = 1;
            t->cr = b == '\r';
            t->prev_len = 0;
            if (*rc == SGW_OK)
                *rc = tab_sep(env, p + i++);
            if (none && *rc == SGW_OK)
                goto ended;
        } else if (b == t->delim && !t->q) {
            *rc = tab_end_cell(env, t);
            t->col++;
            if (*rc == SGW_OK)
                *rc = tab_joined(t) ? dec_text_data(env, p + i, 1) : tab_sep(env, p + i);
            i++;
        } else {
            size_t j = i; /* (p[i] is the cell's: a quoted delimiter at most) */
            for (; j < n && p[j] != '\n' && p[j] != '\r' && (p[j] != t->delim || t->q); j++)
                t->q ^= p[j] == '"' && t->delim == ',';
            *rc = tab_data(env, t, p + i, j - i);
            i = j;
        }
    }
    return i;
ended:
    /* the text after the table is under no column's name: an empty
       context (the last cell's would stay the scanner's) */
    t->ended = 1;
    *rc = dec_text_context(env, t->cur, 0);
    return i;
}

int dec_tab_end(struct dec_env *env, struct dec_tab *t)
{
    int rc = t->open ? dec_text_boundary(env) : SGW_OK;
    t->open = 0;
    return rc;
}
