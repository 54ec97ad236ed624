/**
 * A text file written line by line through a buffer, atomically (an {@link AtomicFileWriter}), with its byte
 * size and SHA-256 computed on the way out: what gets hashed is exactly what reaches the disk, and the file
 * is never read back to hash it (a corpus split can be gigabytes).
 */
import { createHash, type Hash } from 'node:crypto';
import { AtomicFileWriter } from './atomic-write';

/** A written text file's identity: its size and content hash. */
export interface TextFileInfo {
  /** Size in bytes. */
  bytes: number;
  /** SHA-256 of the bytes, lower-case hex. */
  sha256: string;
}

/** Options of {@link TextFileWriter.open}. */
export interface TextFileWriterOptions {
  /** Characters buffered before they go to disk (default 1 Mi): fewer, larger writes. */
  bufferChars?: number;
}

/**
 * Buffered, hashed, atomic text output. `write` appends to a buffer; when the buffer is full it is encoded,
 * hashed and handed to the disk while the caller goes on (at most one write in flight, so memory stays at
 * two buffers). `finish` flushes and closes, `commit` puts the file under its name, `abort` removes it.
 */
export class TextFileWriter {
  private buf = '';
  private bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private inflight: Promise<void> = Promise.resolve();
  private info: TextFileInfo | undefined;

  private constructor(
    private readonly file: AtomicFileWriter,
    private readonly bufferChars: number
  ) {}

  /**
   * Creates the file's temp file beside `target`.
   * @param target - Destination path; its directory must already exist.
   */
  static async open(target: string, opts: TextFileWriterOptions = {}): Promise<TextFileWriter> {
    const bufferChars = opts.bufferChars ?? 1 << 20;
    if (!Number.isInteger(bufferChars) || bufferChars < 1) {
      throw new RangeError(`TextFileWriter.open: option 'bufferChars' must be an integer >= 1, got ${String(opts.bufferChars)}`);
    }
    return new TextFileWriter(await AtomicFileWriter.open(target), bufferChars);
  }

  /** Where the file will be once committed. */
  get target(): string {
    return this.file.target;
  }

  /**
   * Appends `text` (UTF-8 on disk). Returns a promise when the buffer went to disk: await it before writing
   * on, so that no more than two buffers are held (it settles when the previous buffer is on disk).
   */
  write(text: string): Promise<void> | undefined {
    if (this.info !== undefined) throw new Error(`TextFileWriter: ${this.target} is already finished; cannot write`);
    this.buf += text;
    return this.buf.length >= this.bufferChars ? this.flush() : undefined;
  }

  private flush(): Promise<void> {
    const chunk = Buffer.from(this.buf, 'utf8');
    this.buf = '';
    this.hash.update(chunk);
    this.bytes += chunk.length;
    const previous = this.inflight;
    this.inflight = previous.then(() => this.file.write(chunk));
    // A failed write is reported by the next flush's promise and by finish(); never as an unhandled rejection.
    this.inflight.catch(() => undefined);
    return previous;
  }

  /** Writes what is buffered, flushes the temp file to disk and closes it; returns its size and hash. */
  async finish(): Promise<TextFileInfo> {
    if (this.info !== undefined) return this.info;
    if (this.buf.length > 0) await this.flush();
    await this.inflight;
    await this.file.close();
    this.info = { bytes: this.bytes, sha256: this.hash.digest('hex') };
    return this.info;
  }

  /** Finishes the file (when not done yet) and renames it over its target. */
  async commit(): Promise<TextFileInfo> {
    const info = await this.finish();
    await this.file.commit();
    return info;
  }

  /** Removes the temp file; the target is left as it was. Never throws. */
  async abort(): Promise<void> {
    await this.inflight.catch(() => undefined);
    await this.file.abort();
  }
}
