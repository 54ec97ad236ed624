/** The io part of the raw binding (native/io): read-only memory maps of files. */

/** File entry points. */
export interface IoBinding {
  /**
   * The whole file mapped read-only and shared (every process that maps it reads the same page-cache pages),
   * as an ArrayBuffer that unmaps when collected. An empty file gives an empty ArrayBuffer.
   */
  mapFile(path: string): ArrayBuffer;
}
