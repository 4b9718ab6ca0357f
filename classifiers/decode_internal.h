/* classifiers/decode_internal.h — the pieces of the decoder chain
 * (classifiers/decode*.c). Never included outside classifiers/decode*.c.
 *
 * Two kinds of stages:
 *  - byte decoders (struct dec): gzip, br, zstd, deflate, aws-chunked,
 *    UTF-16, sniffing, base64/quoted-printable transfer encodings and the
 *    structure decoders (JSON, form, multipart, CBOR, event-stream, XML,
 *    zip, raw text).
 *    A byte decoder is fed bytes and pushes bytes into its `next` decoder, or,
 *    for a structure decoder, pushes text events into the text pipeline.
 *  - the text pipeline (struct cls_sink): base64-run detection, then Unicode
 *    normalisation, then the final sink. Shared by every structure decoder of
 *    one chain (multipart parts and event-stream payloads included).
 *
 * Every stage is streaming: any split of the input gives the same output.
 * Memory per stage is a fixed set of buffers, independent of the body size. */
#ifndef SGW_CLASSIFIERS_DECODE_INTERNAL_H
#define SGW_CLASSIFIERS_DECODE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "classifiers/internal.h"
#include "common/sgw.h"

#define DEC_DEFAULT_MAX_DECODED (64u * 1024u * 1024u)
#define DEC_DEFAULT_MAX_RATIO 100u
#define DEC_DEFAULT_MAX_DEPTH 256u /* AWS's own endpoint rule sets nest 79 deep */
/* a chain's room for its first decoder: the usual one, JSON with the
   default depth, must fit (decode_json.c checks), or each body pays a
   malloc */
#define DEC_CHAIN_SPARE 5568u
#define DEC_MAX_NEST 8u                 /* byte decoders stacked inside each other */
#define DEC_MAX_CODINGS 3u              /* compression layers on one line */
#define DEC_RATIO_FLOOR (1024u * 1024u) /* ratio checked once this much produced */
#define DEC_MAX_REPORTS 16u             /* uninspectable reports kept per chain */
#define DEC_REASON_LEN 64u
#define DEC_PATH_LEN 48u
#define DEC_CONTEXT_MAX 256u /* a key/name longer than this is truncated */

/* Shared by all stages of one chain; owned by the chain. */
struct dec_env {
    struct cls_decode_limits lim; /* defaults filled in */
    const struct cls_sink *text;  /* head of the text pipeline (borrowed from the chain) */
    char path[DEC_PATH_LEN];      /* "gzip>json" */
    unsigned codings;             /* compression layers built so far on the main line */
    unsigned n_reports;
    /* room in the chain's block for one decoder (the first that fits takes
       it: no allocation for the usual single JSON decoder) */
    void *spare;
    size_t spare_len;
    /* reasons handed to uninspectable() stay valid until the chain is freed
       (last: written before read, so never zeroed) */
    char reasons[DEC_MAX_REPORTS][DEC_REASON_LEN];
};

struct dec;

struct dec_ops {
    const char *name;
    /* p borrowed for the call; returns SGW_OK or a negative sgw_rc */
    int (*feed)(struct dec *d, const uint8_t *p, size_t n);
    /* end of this decoder's input; flushes and finishes `next` */
    int (*finish)(struct dec *d);
    /* frees what the decoder owns besides `next` and itself */
    void (*destroy)(struct dec *d);
};

/* The common head of every byte decoder (first member of each decoder). */
struct dec {
    const struct dec_ops *ops;
    struct dec_env *env; /* borrowed from the chain */
    struct dec *next;    /* owned; NULL for structure decoders */
    unsigned nest;       /* how many byte decoders are above this one */
    int dead;            /* reported uninspectable: ignores further input */
    int finished;
    int in_chain;        /* lives in the chain's own block: not freed alone */
    uint64_t fed; /* bytes fed so far (for "at byte N") */
};

/* Feeds/finishes/frees a decoder; a dead decoder swallows input. */
int dec_feed(struct dec *d, const uint8_t *p, size_t n);
/* A decoder w just made (rc: what making it returned) run over one whole
 * input p[0..n): fed and finished when rc is SGW_OK, freed either way.
 * Returns the first error. */
int dec_once(struct dec *w, int rc, const uint8_t *p, size_t n);
/* dec_feed with the decoder as a callback's void * (an emit function). */
int dec_feed_arg(void *arg, const uint8_t *p, size_t n);
int dec_finish(struct dec *d);
void dec_free(struct dec *d);
/* A nested decoder's end: *d finished and freed, *d NULL (d may point at
 * NULL); the finish's rc. */
int dec_close(struct dec **d);

/* Reports `reason` (printf-formatted, truncated to 63 bytes) as uninspectable
 * on the text pipeline and marks d dead (d may be NULL). Returns the sink's rc. */
int dec_fail(struct dec *d, uint32_t flags, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int dec_env_fail(struct dec_env *env, uint32_t flags, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* dec_fail with a va_list (a decoder's own fail function that does
 * something first) */
int dec_vfail(struct dec *d, uint32_t flags, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/* Text pipeline shortcuts (inline: one call less per text unit). */
static inline int dec_text_data(struct dec_env *env, const uint8_t *p, size_t n)
{
    if (n == 0)
        return SGW_OK;
    return env->text->data(env->text->ctx, p, n);
}

static inline int dec_text_boundary(struct dec_env *env)
{
    return env->text->boundary(env->text->ctx);
}

static inline int dec_text_context(struct dec_env *env, const uint8_t *p, size_t n)
{
    return env->text->context(env->text->ctx, p, n);
}

/* A structure decoder's handle on the text pipeline: the head sink's entry
 * points, copied when the decoder is made (a chain's head never changes),
 * and combined ones for the usual end of a text unit that go through the
 * stages in one hop instead of two or three. The sink sees exactly the
 * events of the separate calls. */
struct dec_text_out {
    void *ctx; /* the head sink's ctx (borrowed from the chain) */
    int (*data)(void *ctx, const uint8_t *p, size_t n);
    int (*boundary)(void *ctx);
    int (*context)(void *ctx, const uint8_t *p, size_t n);
    /* data p[0..n) (none when n == 0), then a boundary */
    int (*data_end)(const struct dec_text_out *o, const uint8_t *p, size_t n);
    /* data p[0..n) (none when n == 0), a boundary, then context k[0..kn) */
    int (*key_end)(const struct dec_text_out *o, const uint8_t *p, size_t n, const uint8_t *k,
                   size_t kn);
};

/* Fills o for the head sink `text` (borrowed; it must outlive o): the
 * base64 stage's own combined steps when text is one, else the sink's
 * calls one after another. */
void dec_text_out_init(struct dec_text_out *o, const struct cls_sink *text);

static inline int dec_out_data(const struct dec_text_out *o, const uint8_t *p, size_t n)
{
    if (n == 0)
        return SGW_OK;
    return o->data(o->ctx, p, n);
}

/* Appends ">name" (or "name") to the chain's decoder path when record != 0. */
void dec_path_add(struct dec_env *env, const char *name);

/* Allocates a zeroed decoder of `size` bytes (>= sizeof(struct dec)). */
void *dec_alloc(size_t size, const struct dec_ops *ops, struct dec_env *env, unsigned nest);
/* Same, with only the first `zero` bytes zeroed (buffers written before
 * they are read need no clearing). */
void *dec_alloc_head(size_t size, size_t zero, const struct dec_ops *ops, struct dec_env *env,
                     unsigned nest);

/* Builds the decoder for a media type (parameters included, may be NULL or
 * empty: sniffed). record != 0 puts the names into the chain's path. */
int dec_build_type(struct dec_env *env, const char *ct, size_t ctlen, unsigned nest, int record,
                   struct dec **out);
/* Same, for a Content-Encoding list in front of the media type. */
int dec_build_chain(struct dec_env *env, const char *ct, const char *ce, unsigned nest, int record,
                    struct dec **out);
/* The decoder of a multipart part or an event payload by its own content
 * type ("what" names it in reasons: "multipart part of type image/png").
 * Binary types are refused; an empty type is sniffed. */
int dec_build_nested(struct dec_env *env, const char *ct, size_t ctlen, unsigned nest,
                     const char *what, struct dec **out);
/* A decoder that reports uninspectable on the first non-empty input. */
int dec_new_reject(struct dec_env *env, unsigned nest, const char *reason, struct dec **out);

/* Individual decoders; `inner` is taken (owned) on success, freed on failure. */
int dec_new_json(struct dec_env *env, unsigned nest, int multi, struct dec **out);
int dec_new_text(struct dec_env *env, unsigned nest, int record, struct dec **out);
/* JSON found in a body declared as text: decoded like JSON, but a syntax
 * error makes the rest pass as raw text instead of uninspectable. */
int dec_new_json_lenient(struct dec_env *env, unsigned nest, struct dec **out);
int dec_new_form(struct dec_env *env, unsigned nest, struct dec **out);
int dec_new_sniff(struct dec_env *env, unsigned nest, int record, const char *fallback_ct,
                  struct dec **out);
int dec_new_utf16(struct dec_env *env, unsigned nest, int big_endian, int detect, struct dec *inner,
                  struct dec **out);
/* A declared charset other than UTF-8/UTF-16 → UTF-8 (iconv); a charset
 * iconv does not know gives a rejecting decoder ("charset X not inspectable"). */
int dec_new_charset(struct dec_env *env, unsigned nest, const char *charset, struct dec *inner,
                    struct dec **out);
int dec_new_inflate(struct dec_env *env, unsigned nest, int kind, struct dec *inner,
                    struct dec **out);
int dec_new_brotli(struct dec_env *env, unsigned nest, struct dec *inner, struct dec **out);
int dec_new_zstd(struct dec_env *env, unsigned nest, struct dec *inner, struct dec **out);
/* xz (concatenated streams; 64 MiB of decoder memory at most) and bzip2
 * (streams one after another), found by the sniffer */
int dec_new_xz(struct dec_env *env, unsigned nest, struct dec *inner, struct dec **out);
int dec_new_bzip2(struct dec_env *env, unsigned nest, struct dec *inner, struct dec **out);
/* 1 when b[0..n) begins as an xz stream / a bzip2 stream (its first
 * block's or end's magic too: 10 bytes) does. */
int dec_looks_xz(const uint8_t *b, size_t n);
int dec_looks_bzip2(const uint8_t *b, size_t n);
/* 1 when b[0..n) begins as a zlib stream: the header of levels 1, 6 or 9
 * (78 01, 78 9c, 78 da), and its first 256 bytes inflate without an error
 * (two bytes begin random data once in 22,000; a trial tells them apart). */
int dec_looks_zlib(const uint8_t *b, size_t n);
/* snappy's block format, streamed (copies up to 64 KiB back) */
int dec_new_snappy(struct dec_env *env, unsigned nest, struct dec *inner, struct dec **out);
int dec_new_b64te(struct dec_env *env, unsigned nest, struct dec *inner, struct dec **out);
int dec_new_qp(struct dec_env *env, unsigned nest, struct dec *inner, struct dec **out);
int dec_new_multipart(struct dec_env *env, unsigned nest, const char *boundary, size_t blen,
                      int form, struct dec **out);
/* multipart inside a message (mail's preamble, epilogue, LF lines, folds) */
int dec_new_multipart_mime(struct dec_env *env, unsigned nest, const char *boundary, size_t blen,
                           struct dec **out);
/* A mail message (RFC 5322 + MIME); sniffed: a header block that is none
 * makes it text. */
int dec_new_message(struct dec_env *env, unsigned nest, int sniffed, struct dec **out);
/* text/plain; format=flowed (RFC 3676): a line that ends in a space goes
 * on in the next (the space kept, or dropped with delsp) */
int dec_new_unflow(struct dec_env *env, unsigned nest, int delsp, struct dec *inner, struct dec **out);
/* in[0..n) in charset cs[0..cslen) (RFC 2231's "*lang" ignored) as UTF-8
 * into out (cap bytes; 3 * n is always enough), once, for a piece held
 * whole (a mail header's encoded word): a byte the charset does not have
 * and an unknown charset pass as they are, and all of in does when its
 * UTF-8 would not fit. Returns the length. */
size_t dec_charset_once(const char *cs, size_t cslen, const uint8_t *in, size_t n, uint8_t *out, size_t cap);
/* vCard / iCalendar content lines: a line end and the one space or tab
 * after it (a fold) taken out */
int dec_new_unfold(struct dec_env *env, unsigned nest, struct dec *inner, struct dec **out);
/* mbox: messages after "From " lines, each read as a guessed message */
int dec_new_mbox(struct dec_env *env, unsigned nest, struct dec **out);
/* 1 when b[0..n) begins like an mbox file: a "From " line, then a header */
int dec_looks_mbox(const uint8_t *b, size_t n);
/* A mail part's decoder by its Content-Type: multipart as mail writes it,
 * the rest as dec_build_nested. */
int dec_build_mime(struct dec_env *env, const char *ct, size_t ctlen, unsigned nest, struct dec **out);
/* Is l[0..n) (n > 0, its line end gone) a mail header line (name ':' …)
 * or, but for the first, the continuation of one (it begins with white
 * space)? */
int dec_mime_header_line(const uint8_t *l, size_t n, int first);
/* 1 when b[0..n) begins like a MIME mail message. */
int dec_looks_message(const uint8_t *b, size_t n);
int dec_new_awschunked(struct dec_env *env, unsigned nest, struct dec *inner, struct dec **out);
int dec_new_eventstream(struct dec_env *env, unsigned nest, struct dec **out);
int dec_new_cbor(struct dec_env *env, unsigned nest, struct dec **out);
/* CSV and TSV: each cell a unit under its column's header as context
 * (the delimiter chosen from the first line). */
int dec_new_csv(struct dec_env *env, unsigned nest, struct dec **out);
/* Does b[0..n) begin as a CSV or TSV table (three lines or more with the
 * same count of one delimiter, a header of short cells)? */
int dec_looks_csv(const uint8_t *b, size_t n);
/* Does b[0..n) begin as UTF-16 text: NULs at alternating places of its
 * first 16 bytes (after a BOM, if any), the first code unit one ASCII
 * character? (stricter than the text decoder's test, which takes a BOM
 * alone: for bytes decoded from a base64 run that may be none) */
int dec_looks_utf16(const uint8_t *b, size_t n);
/* A table cell's context (CSV, spreadsheets, document tables): the
 * row's previous cell prev[0..pl) (DEC_CELL_PREV bytes of it are enough),
 * a space, the column's name name[0..nl); cut to DEC_CELL_NAME bytes. */
#define DEC_CELL_NAME 63u
#define DEC_CELL_PREV 24u
int dec_cell_context(struct dec_env *env, const uint8_t *prev, size_t pl, const uint8_t *name, size_t nl);
/* A table's first row that names one column or none is a title (a
 * sheet's "Staff 2026" above its header): the rows after it, two at
 * most, are read as the header while they name one column or none, the
 * title their context; a row that names two or more, each with a letter,
 * is the header. */
struct dec_title {
    uint8_t tent;  /* the row is read as the header after a title's */
    uint8_t tries; /* rows read so */
    uint8_t len;
    size_t col;    /* the title's column, and its text */
    uint8_t name[DEC_CELL_NAME];
};
/* The header row ended, names[0..ncols) its cells' first bytes: 1 when the
 * next row is read as the header (this one was a title's; names cleared),
 * 0 when the table's rows follow (after two such rows, under the title). */
int dec_title_row(struct dec_title *t, uint8_t (*names)[DEC_CELL_NAME], uint8_t *name_len, size_t ncols);
/* A cell's column name while a title's rows are read as the header: the
 * title's in its column, none in the others. */
static inline size_t dec_title_name(const struct dec_title *t, size_t col, const uint8_t **name)
{
    *name = t->name;
    return col == t->col ? t->len : 0;
}
/* A table in prose (decode_csv.c): markdown's pipe table, tab-separated
 * or comma-separated lines pasted into a prompt or written in a text file.
 * Fed the text from where the table begins (its first line's leading '|',
 * the first tab of a line, or the end of a comma-separated table's first
 * row or of a bare markdown table's delimiter row: dec_tab_begin_rows),
 * it passes every byte on and makes each cell a unit under its column's
 * name, as dec_new_csv does: the header's words reach every row. The
 * header is the first row (after a title's, dec_title_row). The table
 * ends where a line that is no row begins (markdown: one without a
 * leading '|') or after a line without a delimiter (tabs, commas, bare
 * pipes: known at its end; a blank line, prose); an empty context then
 * ends the last cell's. Commas inside double quotes are a cell's. */
#define DEC_TAB_COLS 64u
struct dec_tab {
    uint8_t delim;  /* '|', '\t' or ',' */
    uint8_t q;      /* ',': inside double quotes */
    uint8_t bare;   /* '|': rows without their outer pipes */
    uint8_t header; /* the line is the header */
    uint8_t lstart; /* the next byte is a line's first */
    uint8_t open;   /* a cell has begun (its context sent) and not ended */
    uint8_t cr;     /* a CR ended the last line: an LF right after is its */
    uint8_t ended;  /* the table has ended (dec_tab_feed took less) */
    size_t col, ncols;
    size_t prev_len, cur_len;
    uint8_t prev[DEC_CELL_PREV], cur[DEC_CELL_PREV];
    struct dec_title title; /* a first row that is a title's (tabs) */
    uint8_t name_len[DEC_TAB_COLS];
    uint8_t names[DEC_TAB_COLS][DEC_CELL_NAME];
};
/* Begins a table: delim '|' at a line's first byte (the '|' is fed
 * next), or '\t' at a line's first tab, the cell before it first[0..fl)
 * (already passed on: it names the first column). */
void dec_tab_begin(struct dec_tab *t, uint8_t delim, const uint8_t *first, size_t fl);
/* Begins a table at a line's end (fed next) under the header line
 * h[0..hl) that came before: a comma-separated table's first row, or
 * (d '|') the delimiter row of a markdown table without its outer pipes
 * (rows "Al | 536221847"). That line went out before as prose. */
void dec_tab_begin_rows(struct dec_tab *t, uint8_t d, const uint8_t *h, size_t hl);
/* Is h[0..n) (a line, n <= DEC_TAB_HEADER) a table's header, cells
 * between delimiters d (',' outside double quotes; '|', between a
 * markdown line's outer pipes if it has them, spaces before them): two
 * to DEC_TAB_COLS cells of a few words with a letter, none ending like a
 * sentence? Returns what the line after it must have, 0 if not a header:
 * its commas (','), or its cells (a delimiter row's groups of dashes). */
#define DEC_TAB_HEADER 254u
unsigned dec_tab_header(const uint8_t *h, size_t n, uint8_t d);
/* Takes p[0..n) or, when the table ends in it, the bytes before its end
 * (t->ended set; what follows is no table's). Returns what it took, *rc
 * the sink's rc. */
size_t dec_tab_feed(struct dec_env *env, struct dec_tab *t, const uint8_t *p, size_t n, int *rc);
/* the text ends (a boundary when a cell is open) */
int dec_tab_end(struct dec_env *env, struct dec_tab *t);
/* How b[0..n) begins against the markup m (lower case; ASCII letters of b
 * in any case): m whole (1), a proper prefix of m only (2: more bytes
 * tell), or neither (0). */
int dec_begins_markup(const uint8_t *b, size_t n, const char *m);
/* Does a line of text that begins with '<' begin an HTML document or
 * table (<!doctype html, <html, <head, <body, <table; any case, the name
 * ended by '>', '/' or white space)? a[0..an) then b[0..bn) are its first
 * bytes (DEC_HTML_LINE of them decide), whole when they are all of it. 1
 * yes, 0 no, -1 not known from them yet. */
#define DEC_HTML_LINE 16u
int dec_html_line(const uint8_t *a, size_t an, const uint8_t *b, size_t bn, int whole);
/* html != 0: HTML (inline elements join the text) */
int dec_new_xml(struct dec_env *env, unsigned nest, int html, struct dec **out);
/* Is something of the document still open in d (a dec_new_xml decoder):
 * a table, or a tag, comment or other markup begun and not ended? (A
 * blank line in raw text does not end an HTML block then.) */
int dec_xml_open(const struct dec *d);
/* An xlsx worksheet: as dec_new_xml, its cells shown through the book
 * (borrowed: it outlives the decoder). */
struct dec_book;
int dec_new_xml_sheet(struct dec_env *env, unsigned nest, struct dec_book *book, struct dec **out);
/* The character of an XML reference r[0..n) (between '&' and ';'): the
 * five predefined entities and character references, as UTF-8 into u;
 * its length, or 0 when it is none of them. */
size_t dec_xml_ref(const uint8_t *r, size_t n, uint8_t u[4]);
/* An xlsx workbook's shared strings and date formats (decode_xlsx.c). */
int dec_book_new(struct dec_env *env, struct dec_book **out);
void dec_book_free(struct dec_book *bk);
/* the shared strings part held whole: SGW_ERR when it is not what the
 * reader knows (the caller reads it as XML) */
int dec_book_sst(struct dec_book *bk, const uint8_t *b, size_t n);
/* the styles part held whole: which cell formats show dates */
int dec_book_styles(struct dec_book *bk, const uint8_t *b, size_t n);
/* what a cell with value v, type t and format s (as written) shows: 1 with
 * out and on (a shared string, or a date in buf), 0 as written, -1 past the
 * limit of strings shown */
int dec_book_cell(struct dec_book *bk, const uint8_t *t, size_t tl, const uint8_t *s, size_t sl,
                  const uint8_t *v, size_t vn, const uint8_t **out, size_t *on, char buf[32]);
/* Spreadsheet number formats (Excel's, xls and xlsx): does a format code
 * c[0..n) show a date (a day or a year outside quotes, brackets and
 * escapes)? Does built-in format id? */
int dec_fmt_is_date(const uint8_t *c, size_t n);
int dec_fmt_builtin_date(unsigned id);
/* A spreadsheet's serial day number d (1900 date system) as an ISO date
 * into buf; its length, 0 when d is no day in 1900-9999. */
size_t dec_serial_date(double d, char buf[32]);
/* the strings no cell showed, the strings part's attribute values */
int dec_book_rest(struct dec_book *bk, struct dec_env *env);
int dec_new_zip(struct dec_env *env, unsigned nest, struct dec **out);
int dec_new_tar(struct dec_env *env, unsigned nest, struct dec **out);
/* PDF documents: strings of their objects, the text of their pages
 * (through the fonts' Unicode maps), metadata, embedded files. */
int dec_new_pdf(struct dec_env *env, unsigned nest, struct dec **out);
/* OLE2 compound files (Word and Excel 97-2003, other Office files): held
 * whole (16 MiB), the documents' text, the workbooks' cells, the other
 * streams' printable runs. */
int dec_new_ole(struct dec_env *env, unsigned nest, struct dec **out);
/* 1 when b[0..n) begins with the compound file's 8-byte signature. */
int dec_looks_ole(const uint8_t *b, size_t n);
/* Avro object container files: objects decoded by the header's schema. */
int dec_new_avro(struct dec_env *env, unsigned nest, struct dec **out);
/* 1 when b[0..n) begins with Avro's magic `Obj` 0x01. */
int dec_looks_avro(const uint8_t *b, size_t n);
/* Parquet files: page after page, the values as text (no footer first). */
int dec_new_parquet(struct dec_env *env, unsigned nest, struct dec **out);
/* 1 when b[0..n) begins with `PAR1` and a page header's first byte. */
int dec_looks_parquet(const uint8_t *b, size_t n);
/* 1 when b[0..n) begins with `%PDF-`. */
int dec_looks_pdf(const uint8_t *b, size_t n);
/* Protocol Buffers without a schema; grpc: 0 the message alone, 1 in gRPC
 * frames, 2 in grpc-web frames (trailers too) */
int dec_new_protobuf(struct dec_env *env, unsigned nest, int grpc, struct dec **out);
/* A KPL aggregated record (magic F3 89 9A C2, an AggregatedRecord protobuf,
 * its MD5): the protobuf through dec_new_protobuf. */
int dec_new_kpl(struct dec_env *env, unsigned nest, struct dec **out);
/* 1 when b[0..n) begins with KPL's magic and has room for the MD5. */
int dec_looks_kpl(const uint8_t *b, size_t n);
/* 1 when p[0..n) (whole: all of it; else its start) is protobuf fields,
 * two or more (those of messages in it count), with a text field (4
 * printable bytes or more) among them or in a message among them: binary
 * in base64 that is a message. */
int dec_looks_protobuf(const uint8_t *p, size_t n, int whole);
/* 1 when b[0..n) begins with a ustar header (magic and checksum). */
int dec_looks_tar(const uint8_t *b, size_t n);
/* X.509 certificates, requests, CRLs (DER, one or more in a row): their
 * names as text. Other DER of min_report bytes or more is uninspectable. */
int dec_new_x509(struct dec_env *env, unsigned nest, size_t min_report, struct dec **out);
/* 1 when b[0..n) begins as a DER certificate, request or CRL does. */
int dec_x509_shape(const uint8_t *b, size_t n);

enum dec_inflate_kind {
    DEC_INF_GZIP,
    DEC_INF_DEFLATE, /* zlib-wrapped, raw deflate fallback */
};

/* Text pipeline stages (cls_sink implementations). */
struct dec_b64;
struct dec_norm;
int dec_b64_new(unsigned depth, const struct cls_sink *out, struct dec_b64 **res);
const struct cls_sink *dec_b64_sink(struct dec_b64 *b);
/* The limits a zip found in a base64 run is read with (borrowed: the
 * chain's; without them, the defaults). Inner stages take them too. */
void dec_b64_set_limits(struct dec_b64 *b, const struct cls_decode_limits *lim);
int dec_b64_finish(struct dec_b64 *b);
void dec_b64_free(struct dec_b64 *b);
int dec_norm_new(const struct cls_sink *out, struct dec_norm **res);
const struct cls_sink *dec_norm_sink(struct dec_norm *z);
int dec_norm_finish(struct dec_norm *z);
void dec_norm_free(struct dec_norm *z);
/* Both stages of a chain's text pipeline (base64 runs, then normalisation
 * into `final`) in one block of dec_text_stages_size() bytes that the caller
 * owns (64-byte aligned start recommended): no allocation. dec_b64_free and
 * dec_norm_free on them release only what the stages allocated later. */
size_t dec_text_stages_size(void);
void dec_text_stages_init(void *mem, const struct cls_sink *final, struct dec_b64 **b64,
                          struct dec_norm **norm);

/* Helpers shared by decoders. */
/* The runs of min bytes or more of p[0..n) that are printable ASCII or
 * tab (and bytes >= 0x80 when utf8: text in a binary value, where random
 * bytes would not do), each a text unit: what binary data holds that can
 * be read (a font's notices, a value among bytes). */
int dec_text_runs(struct dec_env *env, const uint8_t *p, size_t n, size_t min, int utf8);
/* The shortest run of binary data passed on: random bytes (ids, hashes,
 * compressed or encrypted data, an image's pixels) hold runs of 6 or 7
 * that read as an address (`l@6.Pw`, `W@o.kz`) about once in 57 MB; of 8
 * or more, none in 400 MB. */
#define DEC_RUN_MIN 8u

/* An integer of a typed binary format (Avro, Parquet) as the text it is
 * scanned as, into d[0..24): a date (date != 0: days since 1970, as
 * ISO 8601 "1985-03-12", within ±500 years), or the decimal of a number of
 * six digits or more (a card number, an SSN; shorter numbers are no
 * identifier). Returns the length, 0 for nothing to scan. */
#define DEC_INT_MIN 100000
size_t dec_int_text(int64_t v, int date, char *d);

/* Appends p[0..n) to the heap buffer *b (*len bytes used of *cap),
 * doubling it as needed (from 4 KiB). SGW_OK or SGW_ENOMEM. */
int dec_append(uint8_t **b, size_t *len, size_t *cap, const uint8_t *p, size_t n);

/* A hex digit's value, or -1. */
static inline int dec_hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* cp (at most 0x10FFFF) as UTF-8 into o[0..4); returns its length. */
static inline size_t dec_utf8_put(uint32_t cp, uint8_t *o)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* The bomb limits of a decompressing decoder: output so far against
 * limits.max_decoded, and (past DEC_RATIO_FLOOR) against input consumed
 * times limits.max_ratio. */
struct dec_bomb {
    uint64_t produced;
    uint64_t consumed; /* the caller adds its input as it is used */
};
/* Accounts for p[0..k), k more output bytes, and passes them to emit(arg,
 * ...) when within the limits. Past limits.max_decoded, the bytes up to
 * it go on first (the output must not depend on how the input was split,
 * which decides how much one call produces), then d fails with
 * CLS_FF_BOMB, as it does past the ratio. Returns emit's or the sink's rc
 * (stop also when d died). */
int dec_bomb_emit(struct dec *d, struct dec_bomb *b, const uint8_t *p, size_t k,
                  int (*emit)(void *arg, const uint8_t *p, size_t n), void *arg);
/* Same, into d->next. */
int dec_bomb_feed(struct dec *d, struct dec_bomb *b, const uint8_t *p, size_t k);
/* One inflate() call of zs into out[0..cap) (zlib: the gzip, deflate and
 * zip decoders): the bytes it produced go through the bomb limits, then to
 * emit(arg, ...), before its verdict is looked at (what came out before an
 * error goes on first, however the input was split). Returns inflate()'s
 * code; *k gets the bytes produced, *rc SGW_OK or the error to stop with
 * (also stop when d died at the limits). */
struct z_stream_s;
int dec_inflate_step(struct dec *d, struct z_stream_s *zs, struct dec_bomb *b, uint8_t *out,
                     size_t cap, int (*emit)(void *arg, const uint8_t *p, size_t n), void *arg,
                     int *rc, size_t *k);
/* Returns a known binary format name for a prefix ("PDF document"), or NULL. */
const char *dec_binary_magic(const uint8_t *p, size_t n);
/* 1 when p[0..n) is (the start of) a known binary signature. */
int dec_binary_magic_prefix(const uint8_t *p, size_t n);
/* Same as dec_binary_magic, as "base64 PDF document" (static text). */
const char *dec_binary_magic_b64(const uint8_t *p, size_t n);
/* ... and as "hex PDF document". */
const char *dec_binary_magic_hex(const uint8_t *p, size_t n);
/* ... and as "PDF document in a byte list". */
const char *dec_binary_magic_list(const uint8_t *p, size_t n);
/* 1 when p looks like text: (mostly) printable ASCII / valid UTF-8. */
int dec_looks_text(const uint8_t *p, size_t n);
/* 1 when p looks like text in an 8-bit charset (no control bytes, words). */
int dec_looks_8bit_text(const uint8_t *p, size_t n);

/* ---- byte lists in text (decode_list.c; read by the base64 stage) ---- */
#define LIST_MIN_RUN 24u /* bytes of the lists' alphabet in a row before a list is looked for */
#define LIST_MIN_TOK 8u  /* tokens of a list */
#define LIST_MAX_SEP 8u  /* bytes between two tokens of a list */
#define LIST_HOLD 4096u  /* bytes a list decodes to, at most (a longer one is cut) */

/* Where a run of LIST_MIN_RUN bytes of the lists' alphabet starts in p,
 * counting the *carry bytes of the alphabet that end the text before p:
 * the index of its first byte in p (0, with *carry set to how many of its
 * bytes came before p, when it began there), or n with *carry set to the
 * run that ends p (carried bytes included). */
typedef size_t (*dec_list_find_fn)(const uint8_t *p, size_t n, uint32_t *carry);
/* In *carry on the way in: the run that ends p is not wanted (the unit ends
 * with p); the finder may then leave *carry wrong when it finds none. */
#define LIST_NO_TAIL 0x80000000u
/* The finder of this CPU's level (at most the cap). */
dec_list_find_fn dec_list_finder(void);
/* The finder with the code of `level` (capped by the caller). For tests. */
size_t dec_list_find_impl(const uint8_t *p, size_t n, uint32_t *carry, int level);
/* 1 when c is in the lists' alphabet: by nibbles, one bit per high
 * nibble's group (0: tab, LF, CR; 1: space ',' '-'; 2: digits ':' ';';
 * 3: 'A'-'F' 'a'-'f'; 4: 'X' 'x'). */
#define DEC_LIST_LO 6, 12, 12, 12, 12, 12, 12, 4, 20, 5, 5, 4, 2, 3, 0, 0
#define DEC_LIST_HI 1, 0, 2, 4, 8, 16, 8, 16, 0, 0, 0, 0, 0, 0, 0, 0
static inline int dec_list_alpha(uint8_t c)
{
    static const uint8_t lo[16] = {DEC_LIST_LO}, hi[16] = {DEC_LIST_HI};
    return (lo[c & 15] & hi[c >> 4]) != 0;
}

/* The tokenizer of one run of the alphabet. */
struct dec_list {
    uint8_t active;      /* a run is being read */
    uint8_t tok[4];      /* the token being read (its first bytes) */
    uint8_t tok_len;     /* its length (saturates at 255) */
    uint8_t glued;       /* it follows a letter or digit outside the alphabet */
    uint8_t neg;         /* a '-' after a ',' or a blank comes before it */
    uint8_t sep_len;     /* bytes of the gap being read */
    uint8_t sep_mark;    /* ... a ',' or a blank among them */
    uint8_t sep_last;    /* ... the last of them */
    uint8_t modes;       /* kinds every token of the list fits (1 "0x", 2 hex, 4 decimal) */
    uint8_t pend;        /* the token that ended a complete list starts the next */
    uint8_t pend_kinds, pend_hv, pend_dv;
    uint32_t ntok;       /* tokens of the list */
    uint64_t tok_src, pend_src, pend_end;
    uint64_t start_src;  /* source offset of the list's first byte */
    uint64_t end_src;    /* ... of the byte after its last token */
    size_t hex_len, dec_len;
    uint8_t hex[LIST_HOLD]; /* its bytes as "0x" or hex tokens */
    uint8_t dec[LIST_HOLD]; /* ... as decimal tokens */
};
/* A run starts; `before` is the byte before it (0: none). */
void dec_list_begin(struct dec_list *l, uint8_t before);
/* Reads p[0..n) of the run, p[k] at source offset src + k. Stops at the
 * first byte outside the alphabet (l->active becomes 0) or where a list is
 * complete (*done = 1: take it, then call dec_list_next and go on from the
 * returned index); returns the index it stopped at (n: all read). */
size_t dec_list_feed(struct dec_list *l, const uint8_t *p, size_t n, uint64_t src, int *done);
/* After a complete list was taken: the token that ended it starts the next. */
void dec_list_next(struct dec_list *l);
/* The unit ends (at source offset src): 1 when a list is complete. */
int dec_list_unit_end(struct dec_list *l, uint64_t src);
/* For a structure decoder whose values are a byte list (a JSON array of
 * numbers): the offset in the text stream where the next text goes, and
 * the list's bytes d[0..n), which stand for stream offsets [src, end),
 * given to the base64 stage `text` (when it is one: else nothing), which
 * passes on their decoding as it does a list's in text. Called between
 * units. */
uint64_t dec_text_where(const struct cls_sink *text);
int dec_text_byte_list(const struct cls_sink *text, const uint8_t *d, size_t n, uint64_t src, uint64_t end);
/* For a structure decoder whose units a reader joins (JSON's adjacent text
 * blocks): the last bytes a[0..an) of one unit, at stream offsets from
 * asrc on, and the first h[0..hn) of the next, from hsrc on, go on joined
 * as a copy (CLS_ORIG_SEAM) through the normalisation; the text after it
 * comes from stream offset `end` on. Called between units. */
int dec_text_seam(const struct cls_sink *text, const uint8_t *a, size_t an, uint64_t asrc, const uint8_t *h,
                  size_t hn, uint64_t hsrc, uint64_t end);
/* For a structure decoder that passed on text other than its input for a
 * while (raw text's HTML block): the text that follows comes from stream
 * offset src on (dec_text_where's coordinates), told to the base64 stage
 * `text` (when it is one: else nothing). Called between units. */
int dec_text_resume(const struct cls_sink *text, uint64_t src);
/* The same verdict, incrementally, while p[0..n) is being produced: looks
 * at p[*at..avail) (avail <= n; bytes whose verdict needs what follows
 * avail wait), keeping the defects in *bad (both 0 at first). Returns 0 as
 * soon as the verdict is "not text"; once avail == n, the return value is
 * dec_looks_text(p, n). */
int dec_looks_text_step(const uint8_t *p, size_t avail, size_t n, size_t *at, size_t *bad);
/* Index of the first '"', '\\', control byte (< 0x20) or byte >= 0x80 in p,
 * or n. */
size_t dec_json_find_special(const uint8_t *p, size_t n);
/* Same, with the code of `level` (capped at dec_simd_level() by the
 * caller). For tests and benches. */
size_t dec_json_find_special_impl(const uint8_t *p, size_t n, int level);
/* Copies the bytes of p before the first of those bytes (at most
 * min(n, room)) to dst and returns how many, with the code of `level`
 * (AVX-512: in one pass; dst[count..room) may be written too). For
 * tests. */
size_t dec_json_copy_plain_impl(const uint8_t *p, size_t n, uint8_t *dst, size_t room, int level);

/* Raw text's markdown tables and HTML blocks: where in p[0..n) a '|' or
 * '<' follows a line's start and up to three spaces (*ind of them), the
 * line before p being lead spaces so far (-1: not a line's start), with
 * the code of `level`; n when nowhere. For tests. */
size_t dec_line_mark_impl(const uint8_t *p, size_t n, int lead, unsigned *ind, int level);

/* SIMD levels of the byte scanners, picked once per process from the CPU. */
enum { DEC_SIMD_SCALAR = 0, DEC_SIMD_SSE2 = 1, DEC_SIMD_AVX2 = 2, DEC_SIMD_AVX512 = 3 };
/* The highest level there is (the default cap). */
#define DEC_SIMD_TOP DEC_SIMD_AVX512
/* The best level this CPU runs (at most the cap). */
int dec_simd_level(void);
/* Caps the level for chains made from now on (tests: the scalar and SSE2
 * paths on a CPU that has AVX2). Not for use while other threads make
 * chains. */
void dec_simd_cap(int level);
/* Start of the first run of >= 24 base64 characters in p, else the start of
 * the run of base64 characters that ends p, else n; with the scanner of
 * `level` (capped at dec_simd_level() by the caller). *flags may say
 * B64F_PLAIN: no byte before that position is >= 0x80, '%', '&', '\\' or '=' (none
 * the normalisation must see); B64F_TAIL: the
 * position starts the run (shorter than 24) that ends p. The scalar level
 * says neither. For tests and benches; the text pipeline uses the best
 * level. */
enum { B64F_PLAIN = 1, B64F_TAIL = 2, B64F_LIST = 4 /* (internal: AVX-512, byte lists) */ };
size_t dec_b64_find_run_impl(const uint8_t *p, size_t n, int level, int *flags);
/* For n < 16: the start of the run of base64 characters that ends p, and
 * *high = 1 when a byte is >= 0x80, '%', '&', '\\' or '=' (the base64 stage's path for short
 * data), with the code of `level`. For tests. */
size_t dec_b64_short_tail_impl(const uint8_t *p, size_t n, int level, int *high);

#endif
