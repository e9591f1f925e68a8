/** How many times a crashed daemon is restarted automatically: at most `max` crashes in `windowMs`. */

export class RestartBudget {
  private crashes: number[] = [];

  constructor(
    readonly max = 4,
    readonly windowMs = 3 * 60_000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Record a crash; `restart` says whether to restart it automatically, `count` the crashes in the window. */
  crashed(): { restart: boolean; count: number } {
    const t = this.now();
    this.crashes = this.crashes.filter((c) => t - c < this.windowMs);
    this.crashes.push(t);
    return { restart: this.crashes.length <= this.max, count: this.crashes.length };
  }

  /** Forget past crashes (after a restart the user asked for). */
  reset(): void {
    this.crashes = [];
  }
}

/** Run async jobs one at a time, in order (restarts never overlap). */
export class Serializer {
  private tail: Promise<unknown> = Promise.resolve();

  /** Queue `job` after the ones already queued; its own failure is returned, not swallowed. */
  run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.tail.then(job, job);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
