/*
 * Test helper: runs a function in a forked child and collects what the
 * child wrote to standard error (and, if asked, standard output) through a
 * pipe, and how it ended. For tests that must crash, or that run another
 * program. POSIX only.
 */
#ifndef CORO_TEST_CHILD_H
#define CORO_TEST_CHILD_H

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct child_result {
    int status;          /* as from waitpid() */
    char output[65536];  /* what the child wrote, NUL-terminated, cut at the size */
};

enum child_streams {
    CHILD_STDERR,        /* capture standard error */
    CHILD_STDERR_STDOUT  /* capture both, interleaved */
};

/* qemu-user writes a line of its own when the program it runs dies by a
 * signal ("qemu: uncaught target signal 11 ..."): not the child's output. */
static inline void drop_emulator_lines(char *output)
{
    static const char emulator[] = "qemu: uncaught target signal ";
    char *line = output;
    while (*line != '\0') {
        char *end = strchr(line, '\n');
        end = end != NULL ? end + 1 : line + strlen(line);
        if (strncmp(line, emulator, sizeof emulator - 1) == 0)
            memmove(line, end, strlen(end) + 1);
        else
            line = end;
    }
}

/* Runs body in a child (which exits 0 if body returns) and fills result. */
static inline void run_child(void (*body)(void), enum child_streams streams, struct child_result *result)
{
    int pipe_ends[2];
    assert_int_equal(pipe(pipe_ends), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pipe_ends[0]);
        dup2(pipe_ends[1], STDERR_FILENO);
        if (streams == CHILD_STDERR_STDOUT)
            dup2(pipe_ends[1], STDOUT_FILENO);
        close(pipe_ends[1]);
        body();
        _exit(0);
    }
    close(pipe_ends[1]);
    size_t length = 0;
    for (;;) {
        ssize_t got = read(pipe_ends[0], result->output + length, sizeof result->output - 1 - length);
        if (got <= 0)
            break;
        length += (size_t)got;
    }
    result->output[length] = '\0';
    drop_emulator_lines(result->output);
    close(pipe_ends[0]);
    assert_int_equal(waitpid(pid, &result->status, 0), pid);
}

#endif /* CORO_TEST_CHILD_H */
