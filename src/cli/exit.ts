/**
 * The `wasmmu` command's exit codes, in one place. 70 and 130 follow sysexits.h (EX_SOFTWARE) and
 * the shell's 128 + SIGINT.
 */

/** Success. */
export const EXIT_OK = 0;
/** Bad input (a malformed trace, description or vector file; a bad configuration) or failed checks. */
export const EXIT_BAD_INPUT = 1;
/** A command-line mistake: an unknown option, a missing or malformed argument. */
export const EXIT_USAGE = 2;
/** An internal error: a bug in wasmmu (a core trap, an unexpected exception). */
export const EXIT_INTERNAL = 70;
/** Stopped by Ctrl-C; the statistics so far were printed, marked partial. */
export const EXIT_INTERRUPTED = 130;
