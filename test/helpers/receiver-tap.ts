/**
 * Timings for a test receiver. `Receiver.requests()` says what became of each POST but not
 * when; the tap wraps the receiver's request handler to stamp each request's arrival and the
 * moment its answer was fully written (`finish`), and tags the request with a header so the
 * two can be joined. A stored or deduplicated request whose answer never finished is one whose
 * client had given up (timeout, reset, outage): the only legitimate source of a re-delivery.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Receiver, RequestOutcome } from '../../src/receiver/index.ts';

const TAP_HEADER = 'x-test-tap-id';

export interface TapEntry {
  readonly id: number;
  /** The tap's label (e.g. `r0`). */
  readonly host: string;
  readonly method: string;
  readonly key: string | undefined;
  readonly arrivedAt: number;
  /** When the answer was fully written; undefined when none was (destroyed socket). */
  finishedAt?: number;
  closedAt?: number;
  status?: number;
}

export interface TappedPost extends TapEntry {
  /** From `receiver.requests()`; undefined while the request is still being handled. */
  readonly outcome: RequestOutcome | undefined;
  readonly logs: number;
}

let nextId = 1;

export class ReceiverTap {
  readonly receiver: Receiver;
  readonly label: string;
  readonly entries: TapEntry[] = [];

  constructor(receiver: Receiver, label: string) {
    this.receiver = receiver;
    this.label = label;
    const original = receiver.handle.bind(receiver);
    receiver.handle = (req: IncomingMessage, res: ServerResponse): void => {
      const id = nextId++;
      const key = req.headers['x-walship-idempotency-key'];
      const entry: TapEntry = {
        id,
        host: label,
        method: req.method ?? '?',
        key: Array.isArray(key) ? key[0] : key,
        arrivedAt: performance.now(),
      };
      this.entries.push(entry);
      req.headers[TAP_HEADER] = String(id);
      res.once('finish', () => {
        entry.finishedAt = performance.now();
        entry.status = res.statusCode;
      });
      res.once('close', () => {
        entry.closedAt = performance.now();
      });
      original(req, res);
    };
  }

  /** POSTs joined with their outcome, in arrival order. */
  posts(): TappedPost[] {
    const outcomes = new Map<number, { outcome: RequestOutcome; logs: number }>();
    for (const r of this.receiver.requests()) {
      const id = Number(r.headers[TAP_HEADER]);
      if (Number.isSafeInteger(id)) outcomes.set(id, { outcome: r.outcome, logs: r.logs });
    }
    return this.entries
      .filter((e) => e.method === 'POST')
      .map((e) => ({ ...e, outcome: outcomes.get(e.id)?.outcome, logs: outcomes.get(e.id)?.logs ?? 0 }));
  }
}
