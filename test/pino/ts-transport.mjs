// The target the pino tests give pino.transport: pino's worker thread does not inherit tsx's
// loader on Node 20 (neither through `--import tsx` in the parent nor in `worker.execArgv`),
// so this plain-JS module loads the TypeScript transport through tsx's API instead.
import { tsImport } from 'tsx/esm/api';

const mod = await tsImport('../../src/pino/transport.ts', import.meta.url);
export default mod.default;
