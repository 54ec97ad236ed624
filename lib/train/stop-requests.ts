/**
 * Requests to stop a training run from outside the loop — the caller's AbortSignal, and SIGINT/SIGTERM when
 * the run handles signals (the CLI) — recorded as they arrive and acted on between updates, after a save.
 */
export type StopRequest = 'abort' | 'signal';

export class StopRequests {
  /** The latest request, if any. */
  current: StopRequest | undefined;
  private readonly onAbort = () => (this.current = 'abort');
  private readonly onSignal = () => (this.current = 'signal');

  constructor(
    private readonly signal: AbortSignal | undefined,
    private readonly handleSignals: boolean
  ) {
    signal?.addEventListener('abort', this.onAbort);
    if (handleSignals) {
      process.on('SIGINT', this.onSignal);
      process.on('SIGTERM', this.onSignal);
    }
  }

  dispose(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
    if (this.handleSignals) {
      process.off('SIGINT', this.onSignal);
      process.off('SIGTERM', this.onSignal);
    }
  }
}
