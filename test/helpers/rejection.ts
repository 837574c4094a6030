import assert from 'node:assert/strict';
import { DeliveryError } from '../../src/delivery/delivery-error.ts';

/** The DeliveryError `p` rejects with; fails the test if it resolves or rejects otherwise. */
export async function rejection(p: Promise<unknown>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DeliveryError, `expected a DeliveryError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}
