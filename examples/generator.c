/*
 * A generator: a tokenizer written as a plain loop over its input, which
 * yields one token at a time, driven from an ordinary for loop. The
 * tokenizer keeps its place in its own stack frame; no state machine.
 *
 * The second run stops the generator early with coro_cancel(): its pending
 * yield fails with CORO_ECANCELED, and the tokenizer leaves its loop and
 * returns how far it got, as it would from any error.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "coro.h"

struct token {
    const char *kind;
    const char *start;
    int length;
};

/* Yields every token of the string it is started with, then returns NULL;
 * cancelled, it returns a note of where it stopped. */
static char stopped_note[64];

static void *tokenize(void *arg)
{
    const char *p = arg;
    struct token token;
    while (*p != '\0') {
        if (isspace((unsigned char)*p)) {
            p++;
            continue;
        }
        token.start = p;
        if (isdigit((unsigned char)*p)) {
            token.kind = "number";
            while (isdigit((unsigned char)*p) || *p == '.')
                p++;
        } else if (isalpha((unsigned char)*p) || *p == '_') {
            token.kind = "name";
            while (isalnum((unsigned char)*p) || *p == '_')
                p++;
        } else if (*p == '"') {
            token.kind = "string";
            p++;
            while (*p != '\0' && *p != '"')
                p++;
            if (*p == '"')
                p++;
        } else {
            token.kind = "symbol";
            p++;
        }
        token.length = (int)(p - token.start);
        if (coro_yield(&token, NULL) == CORO_ECANCELED) {
            snprintf(stopped_note, sizeof stopped_note, "stopped before: %s", p);
            return stopped_note;
        }
    }
    return NULL;
}

/* The next token from the generator, or NULL at the end. */
static struct token *next_token(coro *generator, const char *input)
{
    void *token = NULL;
    if (coro_status(generator) == CORO_DEAD)
        return NULL;
    if (coro_resume(generator, (void *)input, &token) != CORO_OK)
        return NULL;
    return token;
}

int main(void)
{
    const char *input = "total = price * 1.25 + tax(\"vat\", 20)";
    coro *generator;
    struct coro_options opts = {.stack_size = 16 * 1024, .name = "tokenizer"};
    int result = coro_create(&generator, tokenize, &opts);
    if (result != CORO_OK) {
        fprintf(stderr, "coro_create: %s\n", coro_strerror(result));
        return 1;
    }
    printf("tokens of: %s\n", input);
    int count = 0;
    for (struct token *t = next_token(generator, input); t != NULL; t = next_token(generator, input))
        printf("%2d %-6s %.*s\n", ++count, t->kind, t->length, t->start);
    printf("%d tokens\n", count);
    coro_destroy(generator);

    /* Only the first name is wanted: take tokens until one is a name, then
     * cancel the generator instead of draining it. */
    result = coro_create(&generator, tokenize, &opts);
    if (result != CORO_OK) {
        fprintf(stderr, "coro_create: %s\n", coro_strerror(result));
        return 1;
    }
    const char *call = "  (42) answer(life, universe)";
    printf("first name in: %s\n", call);
    for (struct token *t = next_token(generator, call); t != NULL; t = next_token(generator, call)) {
        if (strcmp(t->kind, "name") == 0) {
            printf("found %.*s\n", t->length, t->start);
            break;
        }
    }
    void *note = NULL;
    result = coro_cancel(generator, &note);
    printf("cancel: %s; the generator says \"%s\"\n", coro_strerror(result),
           note != NULL ? (const char *)note : "(nothing)");
    printf("status %s, cancelled %d\n", coro_status(generator) == CORO_DEAD ? "dead" : "alive",
           coro_cancelled(generator));
    coro_destroy(generator);
    return 0;
}
