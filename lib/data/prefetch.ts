/**
 * Batches assembled ahead of the training step. The trainer's step runs on LibTorch's compute thread (every
 * forward, backward and optimizer call is awaited), so the JS thread is free meanwhile: taking a batch queues
 * the assembly of the next ones (ids copied from memory or a token store's pages into typed arrays, then
 * tensors on the device) for the next turn of the event loop, and the step after finds them ready. Batches
 * depend only on their plans, so prefetching changes no result.
 */
import type { Device } from '../tensor/dtype';
import type { Batch } from './batch';
import type { Batcher, BatchPlan } from './batcher';

/** Assembles a Batcher's batches one event-loop turn ahead of the training step that takes them. */
export class BatchPrefetcher {
  private readonly ready = new Map<BatchPlan, Batch>();
  private closed = false;
  /** Batches taken that had been assembled ahead of time (for tests and metrics). */
  hits = 0;

  /** @param depth - batches kept ready at most (default 2). */
  constructor(
    private readonly batcher: Batcher,
    private readonly device: Device | undefined,
    private readonly depth = 2
  ) {}

  /**
   * The Batch of `plan` (assembled earlier, or now), and the assembly of `next` (the plans that follow it)
   * queued for when the event loop turns. The caller disposes the Batch.
   */
  take(plan: BatchPlan, next: readonly BatchPlan[]): Batch {
    let batch = this.ready.get(plan);
    if (batch) {
      this.ready.delete(plan);
      this.hits++;
    } else batch = this.batcher.toBatch(plan, this.device);
    const upcoming = next.slice(0, this.depth);
    // Batches of plans that will not come (a new epoch's plan, a stop) are freed, not kept.
    for (const [p, b] of this.ready) {
      if (!upcoming.includes(p)) {
        b.dispose();
        this.ready.delete(p);
      }
    }
    const wanted = upcoming.filter((p) => !this.ready.has(p));
    if (wanted.length > 0) setImmediate(() => this.fill(wanted));
    return batch;
  }

  private fill(plans: readonly BatchPlan[]): void {
    for (const p of plans) {
      if (this.closed || this.ready.has(p) || this.ready.size >= this.depth) return;
      try {
        this.ready.set(p, this.batcher.toBatch(p, this.device));
      } catch {
        // take() builds it again on the caller's stack, where the error belongs.
        return;
      }
    }
  }

  /** Frees the batches not taken; later fills do nothing. */
  close(): void {
    this.closed = true;
    for (const b of this.ready.values()) b.dispose();
    this.ready.clear();
  }
}
