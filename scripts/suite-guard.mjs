// `node scripts/suite-guard.mjs <node arguments…>`: runs one test suite (`node <arguments>`) for
// scripts/run-tests.mjs, which starts this in a process group of its own so that the suite's
// watchdog can kill every process of it. In its own group the suite is out of reach of the
// signals that end the runner; this ends the group when the runner is gone, however it died
// (SIGKILL, the OOM killer): the runner holds the other end of this process's stdin, and the
// kernel closes it then. Output and exit code are the suite's.
import { spawn } from 'node:child_process';

const suite = spawn(process.execPath, process.argv.slice(2), { stdio: ['ignore', 'inherit', 'inherit'] });
const endGroup = () => process.kill(0, 'SIGKILL');
process.stdin.on('data', () => {});
process.stdin.once('end', endGroup);
process.stdin.once('error', endGroup);
// A signal to the group reaches the suite too; this process waits for it to end.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => {});
suite.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128 + (signal === 'SIGKILL' ? 9 : 15))));
