import type { ChildProcess } from 'node:child_process';

/** SIGKILLs `proc` (a crash: no handlers run) and resolves once it has exited; a no-op if it has. */
export async function killChild(proc: ChildProcess | undefined): Promise<void> {
  if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGKILL');
  await exited;
}
