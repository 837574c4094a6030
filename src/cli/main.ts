#!/usr/bin/env node
import { join } from 'node:path';
import { runDemo } from './demo.ts';

const root = join(import.meta.dirname, '..', '..');
const [command = 'demo'] = process.argv.slice(2);

switch (command) {
  case 'demo':
    {
      const summary = await runDemo({ dataDir: join(root, 'data', 'sample'), walDir: join(process.cwd(), 'data', 'wal'), out: process.stdout });
      process.exitCode = summary.lost === 0 ? 0 : 1;
    }
    break;
  default:
    process.stderr.write(`walship: unknown command ${JSON.stringify(command)}; available: demo\n`);
    process.exit(2);
}
