// Atomic file replacement (temp file + fsync + rename), shared by the
// safetensors writer, checkpoints and metrics so that a crash or a failed write
// never leaves a half-written file under the final name.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * What {@link writeFileAtomic} accepts: bytes, a string (written as UTF-8), or
 * a list of byte chunks written back to back (lets large payloads such as
 * checkpoints be written without first concatenating them into one buffer).
 */
export type AtomicWriteData = Uint8Array | string | readonly Uint8Array[];

// fs.write is capped at 2 GiB - 1 per call, so large chunks are split.
const MAX_WRITE = 1 << 30;

function toChunks(data: AtomicWriteData): readonly Uint8Array[] {
  if (typeof data === 'string') return [Buffer.from(data, 'utf8')];
  if (data instanceof Uint8Array) return [data];
  if (Array.isArray(data)) {
    for (const c of data) {
      if (!(c instanceof Uint8Array)) {
        throw new TypeError('writeFileAtomic: every chunk must be a Uint8Array');
      }
    }
    return data as readonly Uint8Array[];
  }
  throw new TypeError('writeFileAtomic: data must be a Uint8Array, a string or an array of Uint8Array');
}

/**
 * Temp name in the target's own directory: rename(2) is only atomic within
 * one filesystem, and pid + random keeps concurrent writers from colliding.
 */
function tempPathFor(target: string): string {
  return `${target}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some platforms (Windows, some network filesystems) cannot open or fsync
    // a directory; the rename is still atomic, only its durability is weaker.
  } finally {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* nothing useful to do */
      }
    }
  }
}

async function fsyncDir(dir: string): Promise<void> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(dir, 'r');
    await fh.sync();
  } catch {
    // See fsyncDirSync.
  } finally {
    if (fh !== undefined) await fh.close().catch(() => undefined);
  }
}

/**
 * A file written piece by piece that appears under its name only when complete: the pieces go to
 * `<target>.tmp-<pid>-<random>` in the same directory; {@link AtomicFileWriter.close} fsyncs and closes it,
 * {@link AtomicFileWriter.commit} renames it over `target` (and fsyncs the directory where the platform
 * allows). {@link AtomicFileWriter.abort} removes it. For files too big to hold in memory (a corpus split);
 * {@link writeFileAtomic} is the one-call form.
 */
export class AtomicFileWriter {
  /** Bytes written so far. */
  private pos = 0;
  private closed = false;

  /**
   * @param target - the path the file gets on commit.
   * @param tempPath - the temporary file written until then, in the same directory.
   */
  private constructor(
    readonly target: string,
    readonly tempPath: string,
    private fh: fs.promises.FileHandle | undefined
  ) {}

  /**
   * Creates the temp file.
   * @param target - Destination path; its directory must already exist.
   */
  static async open(target: string): Promise<AtomicFileWriter> {
    const tmp = tempPathFor(target);
    // 'wx': never clobber a file some other writer happens to own.
    return new AtomicFileWriter(target, tmp, await fs.promises.open(tmp, 'wx', 0o666));
  }

  /** Appends `chunk`; one write at a time (await each before the next). */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.fh === undefined) throw new Error(`AtomicFileWriter: ${this.target} is already ${this.closed ? 'closed' : 'aborted'}; cannot write`);
    let off = 0;
    while (off < chunk.length) {
      const len = Math.min(chunk.length - off, MAX_WRITE);
      const { bytesWritten } = await this.fh.write(chunk, off, len, this.pos);
      off += bytesWritten;
      this.pos += bytesWritten;
    }
  }

  /** Flushes the temp file to disk and closes it (commit does this when not done yet). */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.fh === undefined) throw new Error(`AtomicFileWriter: ${this.target} was aborted; cannot close`);
    await this.fh.sync();
    const opened = this.fh;
    this.fh = undefined;
    this.closed = true;
    await opened.close();
  }

  /** Closes the temp file and renames it over `target`; on failure the temp file is removed. */
  async commit(): Promise<void> {
    try {
      await this.close();
      await fs.promises.rename(this.tempPath, this.target);
    } catch (err) {
      await this.abort();
      throw err;
    }
    await fsyncDir(path.dirname(path.resolve(this.target)));
  }

  /** Closes and removes the temp file; `target` is left as it was. Never throws. */
  async abort(): Promise<void> {
    const opened = this.fh;
    this.fh = undefined;
    if (opened !== undefined) await opened.close().catch(() => undefined);
    await fs.promises.rm(this.tempPath, { force: true }).catch(() => undefined);
  }
}

/**
 * Writes `data` to `target` atomically: readers see either the old file or
 * the complete new one, never a partial write.
 *
 * The data goes to `<target>.tmp-<pid>-<random>` in the same directory, is
 * fsynced, then renamed over `target`; the directory is fsynced afterwards
 * where the platform allows it. On any failure the temp file is removed, the
 * original error is rethrown and an existing `target` is left untouched.
 *
 * @param target - Destination path; its directory must already exist.
 * @param data - Bytes, a UTF-8 string, or byte chunks written in order.
 */
export async function writeFileAtomic(target: string, data: AtomicWriteData): Promise<void> {
  const chunks = toChunks(data);
  const file = await AtomicFileWriter.open(target);
  try {
    for (const chunk of chunks) await file.write(chunk);
  } catch (err) {
    await file.abort();
    throw err;
  }
  await file.commit();
}

/**
 * Synchronous variant of {@link writeFileAtomic}, with the same guarantees.
 *
 * @param target - Destination path; its directory must already exist.
 * @param data - Bytes, a UTF-8 string, or byte chunks written in order.
 */
export function writeFileAtomicSync(target: string, data: AtomicWriteData): void {
  const chunks = toChunks(data);
  const tmp = tempPathFor(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o666);
    let pos = 0;
    for (const chunk of chunks) {
      let off = 0;
      while (off < chunk.length) {
        const len = Math.min(chunk.length - off, MAX_WRITE);
        const written = fs.writeSync(fd, chunk, off, len, pos);
        off += written;
        pos += written;
      }
    }
    fs.fsyncSync(fd);
    const opened = fd;
    fd = undefined;
    fs.closeSync(opened);
    fs.renameSync(tmp, target);
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* the original error matters more */
      }
    }
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* the original error matters more */
    }
    throw err;
  }
  fsyncDirSync(path.dirname(path.resolve(target)));
}
