/*
 * bench/pipeline: a generator pipeline, the way programs use coroutines,
 * against the same pipeline written as callbacks.
 *
 * The work: a text of words and numbers ("alpha 12 beta 7 ...") goes
 * through three stages.
 *   tokenizer  splits the text into tokens (word or number);
 *   parser     pairs each word with the number after it into a record;
 *   filter     keeps the records whose number is a multiple of three.
 * The program sums what the filter keeps.
 *
 * Three versions, timed side by side in one run, interleaved:
 *   callbacks       each stage calls the next one's function per item and
 *                   keeps its own state in a struct between calls: what a C
 *                   programmer writes without coroutines;
 *   libcoro         each stage is a coroutine that pulls from the one
 *                   before with coro_resume and hands its item on with
 *                   coro_yield, both checked, values going both ways (the
 *                   consumer passes where to write, the producer answers
 *                   with it);
 *   boost-fcontext  the same three coroutines over jump_fcontext.
 * Every version computes the same sum; the program stops if they differ.
 *
 *   pipeline [--words N] [--repetitions R] [--csv]
 */
#if !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "coro.h"


static void failed(const char *what)
{
    fprintf(stderr, "pipeline: %s failed\n", what);
    exit(1);
}

enum token_kind { TOKEN_WORD, TOKEN_NUMBER };

struct token {
    enum token_kind kind;
    const char *start;
    size_t length;
    long number;
};

struct record {
    uint32_t key; /* a hash of the word */
    long number;
};

static char *text;
static size_t text_length;

/* Words from a small vocabulary and numbers, alternating, with now and then
 * a word or a number twice, so that the parser has to skip. */
static void make_text(long words)
{
    static const char *vocabulary[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"};
    size_t capacity = (size_t)words * 24 + 1;
    text = malloc(capacity);
    if (text == NULL)
        failed("malloc");
    uint32_t state = 12345;
    size_t at = 0;
    for (long i = 0; i < words; i++) {
        state = state * 1103515245u + 12345u;
        int written;
        if ((state >> 16) % 7 == 0)
            written = snprintf(text + at, capacity - at, "%s ", vocabulary[(state >> 8) % 8]);
        else
            written = snprintf(text + at, capacity - at, "%s %u ", vocabulary[(state >> 8) % 8], (state >> 4) % 1000);
        at += (size_t)written;
    }
    text_length = at;
}

/* The tokenizer's step: the token starting at or after *at, or 0 at the end. */
static int next_token(size_t *at, struct token *token)
{
    size_t i = *at;
    while (i < text_length && text[i] == ' ')
        i++;
    if (i == text_length)
        return 0;
    size_t start = i;
    long number = 0;
    int digits = 1;
    while (i < text_length && text[i] != ' ') {
        if (text[i] >= '0' && text[i] <= '9')
            number = number * 10 + (text[i] - '0');
        else
            digits = 0;
        i++;
    }
    token->kind = digits ? TOKEN_NUMBER : TOKEN_WORD;
    token->start = text + start;
    token->length = i - start;
    token->number = number;
    *at = i;
    return 1;
}

static uint32_t hash_word(const char *start, size_t length)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < length; i++)
        h = (h ^ (unsigned char)start[i]) * 16777619u;
    return h;
}

static int keep(const struct record *record)
{
    return record->number % 3 == 0;
}

static long fold(long sum, const struct record *record)
{
    return sum + record->number + (long)(record->key & 0xff);
}

/* ---- callbacks ---- */

struct callback_state {
    int have_word;      /* the parser's state: a word waits for its number */
    uint32_t word_key;
    long sum;           /* the consumer's */
};

static void filter_push(struct callback_state *s, const struct record *record)
{
    if (keep(record))
        s->sum = fold(s->sum, record);
}

static void parser_push(struct callback_state *s, const struct token *token)
{
    if (token->kind == TOKEN_WORD) {
        s->have_word = 1;
        s->word_key = hash_word(token->start, token->length);
    } else if (s->have_word) {
        struct record record = {s->word_key, token->number};
        s->have_word = 0;
        filter_push(s, &record);
    }
}

static long run_callbacks(void)
{
    struct callback_state s = {0, 0, 0};
    struct token token;
    size_t at = 0;
    while (next_token(&at, &token))
        parser_push(&s, &token);
    return s.sum;
}

/* ---- libcoro ---- */

/* Each stage pulls from its source: coro_resume(source, where, &got) asks
 * for the next item to be written at `where`; the source answers with that
 * pointer, or NULL when it has no more. */
static coro *tokenizer_co, *parser_co, *filter_co;

static void *tokenizer_entry(void *where)
{
    size_t at = 0;
    while (next_token(&at, where))
        if (coro_yield(where, &where) != CORO_OK)
            failed("coro_yield (tokenizer)");
    return NULL;
}

static void *parser_entry(void *where)
{
    struct token token;
    int have_word = 0;
    uint32_t word_key = 0;
    for (;;) {
        void *got;
        if (coro_resume(tokenizer_co, &token, &got) != CORO_OK)
            failed("coro_resume (tokenizer)");
        if (got == NULL)
            return NULL;
        if (token.kind == TOKEN_WORD) {
            have_word = 1;
            word_key = hash_word(token.start, token.length);
        } else if (have_word) {
            struct record *record = where;
            record->key = word_key;
            record->number = token.number;
            have_word = 0;
            if (coro_yield(where, &where) != CORO_OK)
                failed("coro_yield (parser)");
        }
    }
}

static void *filter_entry(void *where)
{
    for (;;) {
        void *got;
        if (coro_resume(parser_co, where, &got) != CORO_OK)
            failed("coro_resume (parser)");
        if (got == NULL)
            return NULL;
        if (keep(where) && coro_yield(where, &where) != CORO_OK)
            failed("coro_yield (filter)");
    }
}

static long run_libcoro(void)
{
    struct coro_options options = {.stack_size = 64 * 1024};
    if (coro_create(&tokenizer_co, tokenizer_entry, &options) != CORO_OK ||
        coro_create(&parser_co, parser_entry, &options) != CORO_OK ||
        coro_create(&filter_co, filter_entry, &options) != CORO_OK)
        failed("coro_create");
    struct record record;
    long sum = 0;
    for (;;) {
        void *got;
        if (coro_resume(filter_co, &record, &got) != CORO_OK)
            failed("coro_resume (filter)");
        if (got == NULL)
            break;
        sum = fold(sum, &record);
    }
    /* The filter returned; the two sources are dead or suspended. */
    coro_destroy(filter_co);
    coro_destroy(parser_co);
    coro_destroy(tokenizer_co);
    return sum;
}

/* ---- Boost.Context fcontext ---- */

#ifdef HAVE_BOOST_CONTEXT
typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx;
    void *data;
} transfer_t;
transfer_t jump_fcontext(fcontext_t const to, void *vp);
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

/* fcontext has no resumer: each stage keeps the context of its consumer
 * (from the last jump into it) and of its source. A stage that ends jumps
 * back with NULL and is never entered again. */
struct stage {
    fcontext_t self;     /* where to jump to run the stage */
    fcontext_t consumer; /* where the stage yields to */
    char *stack;
};

static struct stage fc_tokenizer, fc_parser, fc_filter;

/* Runs `source` with `where`; returns what it answers. */
static void *fc_pull(struct stage *source, void *where)
{
    transfer_t t = jump_fcontext(source->self, where);
    if (t.fctx == NULL)
        failed("jump_fcontext");
    source->self = t.fctx;
    return t.data;
}

/* Hands `where` to the consumer; returns the next request. */
static void *fc_push(struct stage *self, void *where)
{
    transfer_t t = jump_fcontext(self->consumer, where);
    if (t.fctx == NULL)
        failed("jump_fcontext");
    self->consumer = t.fctx;
    return t.data;
}

static void fc_tokenizer_entry(transfer_t t)
{
    fc_tokenizer.consumer = t.fctx;
    void *where = t.data;
    size_t at = 0;
    while (next_token(&at, where))
        where = fc_push(&fc_tokenizer, where);
    for (;;)
        fc_push(&fc_tokenizer, NULL);
}

static void fc_parser_entry(transfer_t t)
{
    fc_parser.consumer = t.fctx;
    void *where = t.data;
    struct token token;
    int have_word = 0;
    uint32_t word_key = 0;
    while (fc_pull(&fc_tokenizer, &token) != NULL) {
        if (token.kind == TOKEN_WORD) {
            have_word = 1;
            word_key = hash_word(token.start, token.length);
        } else if (have_word) {
            struct record *record = where;
            record->key = word_key;
            record->number = token.number;
            have_word = 0;
            where = fc_push(&fc_parser, where);
        }
    }
    for (;;)
        fc_push(&fc_parser, NULL);
}

static void fc_filter_entry(transfer_t t)
{
    fc_filter.consumer = t.fctx;
    void *where = t.data;
    while (fc_pull(&fc_parser, where) != NULL)
        if (keep(where))
            where = fc_push(&fc_filter, where);
    for (;;)
        fc_push(&fc_filter, NULL);
}

static void fc_stage_make(struct stage *stage, void (*entry)(transfer_t))
{
    size_t size = 64 * 1024;
    stage->stack = malloc(size);
    if (stage->stack == NULL)
        failed("malloc");
    stage->self = make_fcontext(stage->stack + size, size, entry);
}

static long run_boost_fcontext(void)
{
    fc_stage_make(&fc_tokenizer, fc_tokenizer_entry);
    fc_stage_make(&fc_parser, fc_parser_entry);
    fc_stage_make(&fc_filter, fc_filter_entry);
    struct record record;
    long sum = 0;
    while (fc_pull(&fc_filter, &record) != NULL)
        sum = fold(sum, &record);
    free(fc_tokenizer.stack);
    free(fc_parser.stack);
    free(fc_filter.stack);
    return sum;
}
#endif

struct version {
    const char *name;
    long (*run)(void);
};

static const struct version versions[] = {
    {"callbacks", run_callbacks},
    {"libcoro", run_libcoro},
#ifdef HAVE_BOOST_CONTEXT
    {"boost-fcontext", run_boost_fcontext},
#endif
};
#define VERSIONS (sizeof versions / sizeof versions[0])

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long words = 2000000;
    int repetitions = 7, csv = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--words") == 0 && i + 1 < argc)
            words = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--repetitions") == 0 && i + 1 < argc)
            repetitions = atoi(argv[++i]);
        else if (strcmp(argv[i], "--csv") == 0)
            csv = 1;
        else {
            fprintf(stderr, "usage: pipeline [--words N] [--repetitions R] [--csv]\n");
            return 2;
        }
    }
    if (words < 1 || repetitions < 1) {
        fprintf(stderr, "pipeline: --words and --repetitions must be positive\n");
        return 2;
    }
    make_text(words);

    double samples[VERSIONS][64];
    if (repetitions > 64)
        repetitions = 64;
    long expected = run_callbacks();
    for (int r = 0; r < repetitions; r++)
        for (size_t v = 0; v < VERSIONS; v++) {
            double start = now_ns();
            long sum = versions[v].run();
            samples[v][r] = (now_ns() - start) / (double)words;
            if (sum != expected) {
                fprintf(stderr, "pipeline: %s computed %ld, callbacks %ld\n", versions[v].name, sum, expected);
                return 1;
            }
        }

    double median[VERSIONS];
    for (size_t v = 0; v < VERSIONS; v++) {
        qsort(samples[v], (size_t)repetitions, sizeof samples[v][0], compare_doubles);
        median[v] = repetitions % 2 ? samples[v][repetitions / 2]
                                    : (samples[v][repetitions / 2 - 1] + samples[v][repetitions / 2]) / 2;
    }
    if (csv)
        printf("impl,ns_per_word_median,ns_per_word_min,ratio_to_callbacks,ratio_to_libcoro\n");
    else
        printf("pipeline: tokenizer -> parser -> filter over %ld words (%zu bytes), %d repetitions interleaved\n\n"
               "%-16s %16s %16s %14s %14s\n",
               words, text_length, repetitions, "implementation", "median ns/word", "min ns/word", "to callbacks",
               "to libcoro");
    for (size_t v = 0; v < VERSIONS; v++)
        printf(csv ? "%s,%.2f,%.2f,%.3f,%.3f\n" : "%-16s %16.2f %16.2f %13.2fx %13.2fx\n", versions[v].name,
               median[v], samples[v][0], median[v] / median[0], median[v] / median[1]);
    free(text);
    return 0;
}
