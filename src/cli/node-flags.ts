/**
 * The Node flags `walship` runs with: the `walship` command's first two lines, `npm start`,
 * and the benchmarks that measure `walship run` as it ships. A test holds the first lines of
 * src/cli/main.ts to this list.
 *
 * The command starts as a shell script whose second line, a comment to JavaScript, replaces
 * the shell with node and the flags:
 *
 *     #!/bin/sh
 *     //usr/bin/env true; exec node --max-semi-space-size=1 "$0" "$@"
 *
 * (`#!/usr/bin/env -S node <flags>` needs GNU or BSD `env`; BusyBox's, Alpine's, has no `-S`
 * and the command would not start there.) `exec` keeps one process, so signals reach node.
 * `node dist/cli/main.js` reads both lines as comments and runs without the flags.
 *
 * - `--max-semi-space-size=1`: V8's young generation of 2 × 1 MiB instead of growing to
 *   2 × 16 MiB. Log shipping allocates many short-lived objects per line; a small young
 *   generation collects them as often, at the same CPU on the e2e bench (5.45–5.50 s per
 *   2 M lines against 5.53–5.74 with the default) and ≈ 40 MB less peak RSS (144–147 MB
 *   against 185–205). The flag cannot be set once the process runs (V8 sizes its heap at
 *   start), hence the command line.
 */
export const WALSHIP_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
