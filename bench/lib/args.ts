/** The command line of a benchmark process (and of the workers it forks). */

/** The value of `--name=value`, or undefined when the flag is absent. */
export function flag(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}
