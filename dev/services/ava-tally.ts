/** Counting ava's results from its default reporter, for the one closing line of `make test` and `make test-cluster`. */
import { stripVTControlCharacters } from 'node:util';

/** What the closing line reports. */
export type Counts = { passed: number; failed: number };

/**
 * Tallies ava's default reporter as its lines stream by. Its closing summary counts failures but states the
 * passed count only when nothing failed, so passes are also counted from the per-test `✔` lines. (The TAP
 * reporter would state both, but ava 7's TAP reporter itself crashes when a test times out.)
 */
export class AvaTally {
  private ticks = 0;
  private summaryPassed: number | undefined;
  private knownFailures = 0;
  private failed = 0;

  add(raw: string): void {
    const line = stripVTControlCharacters(raw).trim();
    // figures prints √ instead of ✔ on terminals it thinks lack Unicode; "[expected fail]" is a pass for ava.
    if (/^[✔√] /.test(line)) this.ticks += 1;
    const passed = /^(\d+) tests? passed\b/.exec(line);
    if (passed) this.summaryPassed = Number(passed[1]);
    const known = /^(\d+) known failures?\b/.exec(line);
    if (known) this.knownFailures = Number(known[1]);
    // A timeout ends the run; the tests still running then count as failed.
    const failed =
      /^(\d+) (?:tests? failed|hooks? failed|uncaught exceptions?|unhandled rejections?|tests? remained pending after a timeout)\b/.exec(line);
    if (failed) this.failed += Number(failed[1]);
  }

  counts(): Counts {
    // The summary's passed count leaves out known failures, which the ✔ lines include.
    const passed = this.summaryPassed === undefined ? this.ticks : this.summaryPassed + this.knownFailures;
    return { passed, failed: this.failed };
  }
}
