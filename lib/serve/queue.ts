/**
 * The sentences waiting to be decoded, across requests: each is a job with its token ids, its request's beam
 * and n-best, and how to answer it. The queue is bounded (a full one refuses new requests), drops jobs whose
 * request was cancelled (a client went away, a timeout), and hands out length-bucketed groups: the oldest job
 * and the waiting jobs closest to it in length, within a padded-token and a sentence budget.
 */
import type { Hypothesis } from '../decode/hypotheses';

/** One sentence to translate. */
export interface Job {
  ids: number[];
  beam: number;
  nBest: number;
  /** The request it belongs to (the 'none' batching mode decodes one request at a time). */
  request: number;
  /** Set when the request no longer wants an answer; the job is dropped wherever it is. */
  cancelled: boolean;
  enqueuedAt: number;
  done(hypotheses: Hypothesis[]): void;
  fail(error: Error): void;
}

/** Thrown by {@link JobQueue.add} when the queue cannot take a request's sentences. */
export class QueueFull extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('the translation queue is full; retry later');
    this.name = 'QueueFull';
  }
}

/** Padded source tokens of a group of jobs: every row as wide as the longest, framed (`</s> ... </s>`). */
export function paddedTokens(jobs: readonly Job[]): number {
  return jobs.length === 0 ? 0 : jobs.length * (Math.max(...jobs.map((j) => j.ids.length)) + 2);
}

export class JobQueue {
  private jobs: Job[] = [];
  private waiters: Array<() => void> = [];

  constructor(
    private readonly capacity: number,
    private readonly retryAfter: () => number
  ) {}

  /** Jobs waiting (cancelled ones included until they are swept). */
  get size(): number {
    return this.jobs.length;
  }

  /** Adds a request's jobs, all or none. */
  add(jobs: Job[]): void {
    this.sweep();
    if (this.jobs.length + jobs.length > this.capacity) throw new QueueFull(this.retryAfter());
    this.jobs.push(...jobs);
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when a job is waiting (at once when one is) or {@link wake} is called. */
  whenNonEmpty(): Promise<void> {
    this.sweep();
    return this.jobs.length > 0 ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }

  /** Wakes whoever waits in {@link whenNonEmpty} (a decoder asked to stop). */
  wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The oldest waiting job, if any. */
  oldest(): Job | undefined {
    this.sweep();
    return this.jobs[0];
  }

  /** Padded tokens of the jobs that could join the oldest one's group (same beam and n-best). */
  groupTokens(): number {
    const first = this.oldest();
    return first ? paddedTokens(this.jobs.filter((j) => sameGroup(j, first))) : 0;
  }

  /**
   * Takes the oldest job and the waiting jobs of its group closest to it in length, as long as the group stays
   * within `maxTokens` padded tokens and `maxSentences`, counting the jobs `alongside` it (those a running
   * decode already holds: the oldest job must be of their group, or nothing is taken so that they finish and
   * it is not starved); `sameRequest` limits it to the oldest job's request.
   */
  take(maxTokens: number, maxSentences: number, opts: { sameRequest?: boolean; alongside?: readonly Job[] } = {}): Job[] {
    const first = this.oldest();
    const alongside = opts.alongside ?? [];
    if (!first || (alongside.length > 0 && !sameGroup(first, alongside[0]))) return [];
    const fits = (group: Job[]) => group.length + alongside.length <= maxSentences && paddedTokens([...alongside, ...group]) <= maxTokens;
    // A lone job always fits an empty decode (the request limits already bound its length).
    if (alongside.length > 0 && !fits([first])) return [];
    const candidates = this.jobs
      .filter((j) => sameGroup(j, first) && (!opts.sameRequest || j.request === first.request))
      .sort((a, b) => Math.abs(a.ids.length - first.ids.length) - Math.abs(b.ids.length - first.ids.length) || a.enqueuedAt - b.enqueuedAt);
    const taken: Job[] = [first];
    for (const j of candidates) {
      if (j !== first && fits([...taken, j])) taken.push(j);
    }
    const chosen = new Set(taken);
    this.jobs = this.jobs.filter((j) => !chosen.has(j));
    return taken;
  }

  private sweep(): void {
    if (this.jobs.some((j) => j.cancelled)) this.jobs = this.jobs.filter((j) => !j.cancelled);
  }
}

function sameGroup(a: Job, b: Job): boolean {
  return a.beam === b.beam && a.nBest === b.nBest;
}
