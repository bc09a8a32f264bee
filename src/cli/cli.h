/*
 * cli.h — the `weir` command line client: every subcommand of the binary except `serve`.
 *
 * The client speaks HTTP (libcurl, blocking: a command does one thing and exits) to a weir
 * server or to any S2 endpoint for the /v1 commands, and to weir's /admin/api/v1, /api/v1 and
 * /realtime/v1 routes for the realtime commands. Its user manual is docs/cli.md; the module's
 * internals are described in cli_int.h.
 *
 * Exit codes (stable, documented in docs/cli.md):
 *   0  success;
 *   1  the operation failed: the server answered an error (its code and message are printed on
 *      stderr), the server could not be reached, the input could not be read, or the config
 *      file could not be written;
 *   2  usage error: one line on stderr naming the bad argument (or the config file's bad line);
 *      nothing was sent.
 */
#ifndef WR_CLI_CLI_H
#define WR_CLI_CLI_H

#include <stdio.h>

enum {
    WR_CLI_EXIT_OK = 0,
    WR_CLI_EXIT_FAIL = 1,
    WR_CLI_EXIT_USAGE = 2,
};

/*
 * Runs the command in argv (argv[0] is the program name, argv[1] the first word after it) and
 * returns the process exit code. `version` is printed by `weir version`. Blocking; prints to
 * stdout and stderr; never exits the process itself. Call once per process (it initialises
 * libcurl globally).
 */
int wr_cli_main(int argc, char **argv, const char *version);

/* Prints the overview of all commands (what `weir help` prints) to f. */
void wr_cli_print_overview(FILE *f);

#endif
