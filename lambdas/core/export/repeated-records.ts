/**
 * Which raw records of an export-job run are repeats of an earlier one (the log is at-least-once).
 *
 * Performance: a CSV or Parquet run reads its window twice, and the log does not change between the
 * passes (a window ends RAW_LOG_SETTLE_MS before its run). The first pass finds the repeats by their
 * ids (`RecentIds`) and notes their positions; the second drops the records at those positions
 * (`ReplayedRepeats`) instead of looking every id up again. Reason: the id lookups, and the ids they
 * keep alive across collections, cost about 0.75 s of CPU per pass at 1 M events. Measured gain, a
 * Parquet job of 1 M events: 14.4/13.5 s -> 12.9/12.3 s, peak RSS 194-210 -> 170-177 MB
 * (docs/benchmarks.md, "Export jobs"). test/unit/repeated-records.test.ts checks the replay against
 * `RecentIds`.
 */

export interface RepeatFilter {
  /** Whether the record is a repeat; records are given in the log's order, each once. */
  seenBefore(id: string, receivedAt: number): boolean;
}

/**
 * A client's retry appends a record again, with its id, shortly after. Ids received in the last 15 to
 * 30 minutes are remembered (two generations of 15 minutes of receive time), so memory follows the
 * traffic of half an hour, not the window's size.
 */
export class RecentIds implements RepeatFilter {
  private static readonly GENERATION_MS = 15 * 60 * 1000;
  private current = new Set<string>();
  private previous = new Set<string>();
  private generationEnd = -Infinity;

  seenBefore(id: string, receivedAt: number): boolean {
    if (receivedAt >= this.generationEnd) {
      const aged = receivedAt >= this.generationEnd + RecentIds.GENERATION_MS;
      this.previous = aged ? new Set() : this.current;
      this.current = new Set();
      this.generationEnd = (Math.floor(receivedAt / RecentIds.GENERATION_MS) + 1) * RecentIds.GENERATION_MS;
    }
    if (this.current.has(id) || this.previous.has(id)) return true;
    this.current.add(id);
    return false;
  }
}

/** The repeats of a first pass, by position among the records it was given (and their ids, to check). */
interface Repeats {
  positions: number[];
  ids: string[];
}

/** `RecentIds`, noting where the repeats are for a second pass over the same records. */
export class RecordedRepeats implements RepeatFilter {
  private readonly ids = new RecentIds();
  private readonly repeats: Repeats = { positions: [], ids: [] };
  private position = 0;

  seenBefore(id: string, receivedAt: number): boolean {
    const position = this.position++;
    if (!this.ids.seenBefore(id, receivedAt)) return false;
    this.repeats.positions.push(position);
    this.repeats.ids.push(id);
    return true;
  }

  /** The filter of the second pass. */
  replay(): ReplayedRepeats {
    return new ReplayedRepeats(this.repeats);
  }
}

/** The raw log gave the second pass other records than the first. */
export class RawLogChangedError extends Error {
  override readonly name = 'RawLogChangedError';
}

/** The first pass's repeats, found again by position; a different id there means the log changed. */
export class ReplayedRepeats implements RepeatFilter {
  private position = 0;
  private next = 0;

  constructor(private readonly repeats: Repeats) {}

  seenBefore(id: string): boolean {
    const position = this.position++;
    if (this.repeats.positions[this.next] !== position) return false;
    if (this.repeats.ids[this.next] !== id) {
      throw new RawLogChangedError(
        `The raw log gave the run's second pass a different record at position ${position} than its first.`,
      );
    }
    this.next++;
    return true;
  }
}
