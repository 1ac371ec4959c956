/* functions.c — the FUNCTION command family for a server without scripting.
 *
 * raftkv runs no Lua, so its function library is always empty: FLUSH
 * succeeds (there is nothing to remove), LIST answers an empty array,
 * DELETE finds no library, and LOAD is refused with an error that says why.
 * Tools and test harnesses that reset the library before they start (as
 * Redis's own suite does) work unchanged. */
#include "commands.h"

void functionFlushCommand(client *c) {
    if (c->argc == 3 && !argIs(&c->argv[2], "async") && !argIs(&c->argv[2], "sync")) {
        addReplyError(c, "FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    if (c->argc > 3) {
        addReplyErrorSyntax(c);
        return;
    }
    addReplyOK(c);
}

void functionListCommand(client *c) {
    for (int i = 2; i < c->argc; i++) {
        if (argIs(&c->argv[i], "withcode")) continue;
        if (argIs(&c->argv[i], "libraryname") && i + 1 < c->argc) {
            i++;
            continue;
        }
        addReplyErrorFormat(c, "Unknown argument %.*s", (int)c->argv[i].len, c->argv[i].ptr);
        return;
    }
    addReplyArrayLen(c, 0);
}

void functionDeleteCommand(client *c) {
    addReplyError(c, "Library not found");
}

void functionLoadCommand(client *c) {
    addReplyError(c, "raftkv does not run scripts: FUNCTION LOAD is not supported");
}

void functionHelpCommand(client *c) {
    static const char *help[] = {
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library (raftkv has none).",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return the libraries (always none: raftkv runs no scripts).",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries (there are none).",
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof(help) / sizeof(help[0]);
    addReplyArrayLen(c, (long)n);
    for (size_t i = 0; i < n; i++) addReplyStatus(c, help[i]);
}
