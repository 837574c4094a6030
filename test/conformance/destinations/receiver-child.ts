/**
 * The HTTP destination's server: walship's receiver in a process of its own, so the suite can
 * SIGKILL it. Argv: <port> <out file> [maxBodyBytes]. Prints `ready <port>` once listening.
 */
import { startReceiver } from '../../../src/receiver/index.ts';

const [port, out, maxBodyBytes] = process.argv.slice(2);
const receiver = await startReceiver({
  port: Number(port),
  out,
  keepLogs: false,
  keepRequests: 0,
  logstores: ['store'],
  ...(maxBodyBytes === undefined ? {} : { maxBodyBytes: Number(maxBodyBytes) }),
});
process.stdout.write(`ready ${receiver.port}\n`);
process.on('SIGTERM', () => {
  void receiver.close().then(() => process.exit(0));
});
