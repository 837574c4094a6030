import type { FileHandle } from 'node:fs/promises';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';

/**
 * Patches `fs.promises.open` for the rest of the test (through syncBuiltinESMExports, so a
 * module's own `import { open } from 'node:fs/promises'` sees it): `before(path)` runs inside
 * it, before the real open (a rename or a delete lands exactly between a look at a path and its
 * open); `after(path, handle)` gets the opened handle, to wrap its methods (inject a failing write).
 */
export function hookOpen(
  t: { after(fn: () => void): void },
  hooks: { before?: (path: unknown) => void; after?: (path: unknown, handle: FileHandle) => void },
): void {
  const realOpen = fsp.open;
  fsp.open = (async (path: Parameters<typeof realOpen>[0], ...rest: unknown[]) => {
    hooks.before?.(path);
    const handle = await (realOpen as (...a: unknown[]) => ReturnType<typeof realOpen>)(path, ...rest);
    hooks.after?.(path, handle);
    return handle;
  }) as typeof realOpen;
  syncBuiltinESMExports();
  t.after(() => {
    fsp.open = realOpen;
    syncBuiltinESMExports();
  });
}
