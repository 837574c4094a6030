// The iLogtail plugin model in a few lines: a pipeline runner feeds logs through an
// aggregator into a durable flusher, which keeps them in a WAL until the HTTP endpoint acks.
// Run: node --import tsx data/examples/pipeline-example.ts   (starts its own receiver)
import { createContext, DefaultAggregator, DurableFlusher, PipelineRunner, startReceiver } from '../../src/index.ts';

const receiver = await startReceiver({ failRate: 0.2 }); // a flaky endpoint on 127.0.0.1

// The runner calls init() on its plugins (iLogtail's order); createFlusher() is for use without one.
const flusher = new DurableFlusher({
  dir: './data/wal/example',
  sink: { type: 'http', url: receiver.url, encoding: 'ndjson' },
  wal: { maxBytes: 64 * 1024 * 1024 },
});
const runner = new PipelineRunner({
  context: createContext({ configName: 'example', project: 'demo', logstore: 'app' }),
  aggregator: new DefaultAggregator({ intervalMs: 100 }),
  flushers: [flusher],
});
await runner.start();

for (let i = 0; i < 1000; i++) {
  await runner.add({ time: Math.floor(Date.now() / 1000), contents: [{ key: 'msg', value: `hello ${i}` }] });
}
while (receiver.stats().logs < 1000) await new Promise((r) => setTimeout(r, 20));
await runner.stop(); // setUrgent → final aggregator flush → flusher.stop (drains, compacts)
console.log(`received ${receiver.stats().logs} logs, ${receiver.stats().duplicateLogs} duplicates dropped`);
await receiver.close();
