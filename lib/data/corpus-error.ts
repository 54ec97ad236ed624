/**
 * The error every corpus reader throws for text it cannot use, and the record of a line it skipped: both
 * name the file and the 1-based line, so a user can open the file at the line. Its own file so that the
 * line reader (text-lines.ts) and the pair readers (corpus.ts) share it without importing each other.
 */

/** A line that could not be used. */
export interface BadLine {
  /** The file the line is in. */
  file: string;
  /** 1-based. */
  line: number;
  /** Why it could not be used. */
  reason: string;
}

/** A corpus file that cannot be used as it is. */
export class CorpusError extends Error {
  /**
   * @param file - the file that cannot be used.
   * @param line - the 1-based line at fault, when one is.
   */
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number
  ) {
    super(line === undefined ? `corpus: ${file}: ${message}` : `corpus: ${file}:${line}: ${message}`);
    this.name = 'CorpusError';
  }
}
