/**
 * The bytes of one uploaded file, kept in one buffer as they arrive and never beyond `max`. Collecting the chunks
 * and concatenating them at the end held every file twice at its end (chunks plus the copy: about 21 MB for a
 * 10 MB declaration); here a file costs its own size. The buffer is sized from what the request can still hold
 * (its Content-Length less what was read before the file began), so a known-length upload is allocated once; a
 * body of unknown length grows the buffer by doubling, up to `max`.
 */
export class FileBytes {
  private buffer: Buffer | null = null;
  private kept = 0;

  /** `expected`: the most bytes this file can have, if the request says (else null). */
  constructor(private readonly max: number, private readonly expected: number | null) {}

  /** Keeps a chunk; false (keeping nothing more) when the file would pass `max`. */
  push(chunk: Buffer): boolean {
    const needed = this.kept + chunk.length;
    if (needed > this.max) return false;
    if (!this.buffer || needed > this.buffer.length) this.grow(needed);
    chunk.copy(this.buffer!, this.kept);
    this.kept = needed;
    return true;
  }

  /** The bytes kept (a view of the buffer, no copy). */
  content(): Buffer {
    return this.buffer ? this.buffer.subarray(0, this.kept) : Buffer.alloc(0);
  }

  /** How many bytes the buffer holds room for (what the file costs in memory). */
  get capacity(): number {
    return this.buffer?.length ?? 0;
  }

  /** Forgets the bytes (a refused file is not kept). */
  drop(): void {
    this.buffer = null;
    this.kept = 0;
  }

  private grow(needed: number): void {
    const first = this.expected ?? MIN_GROWTH;
    const size = Math.min(this.max, Math.max(needed, this.buffer ? this.buffer.length * 2 : first));
    const next = Buffer.allocUnsafe(size);
    this.buffer?.copy(next, 0, 0, this.kept);
    this.buffer = next;
  }
}

// A body of unknown length starts with 64 KiB, so a small file stays small.
const MIN_GROWTH = 64 * 1024;
