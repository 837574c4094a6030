/**
 * A benchmark run in sections: a section that fails is printed and recorded, not thrown, so
 * that the others still run; each section's time is recorded; and the results so far are
 * saved after every section (a long run that dies late keeps what it measured).
 */
import { now } from './timing.ts';

export interface SectionError {
  readonly section: string;
  readonly error: string;
}

export class Sections {
  readonly errors: SectionError[] = [];
  /** Seconds each section took, by name, in the order they ran. */
  readonly seconds: Record<string, number> = {};
  private readonly save: () => Promise<unknown>;

  /** `save` writes the results so far; it is called after every section. */
  constructor(save: () => Promise<unknown>) {
    this.save = save;
  }

  async run(name: string, body: () => Promise<void>): Promise<void> {
    const started = now();
    try {
      await body();
    } catch (err) {
      console.error(`section ${name} failed:`, err);
      this.errors.push({ section: name, error: String((err as Error)?.stack ?? err) });
    }
    this.seconds[name] = (now() - started) / 1000;
    await this.save();
  }
}
