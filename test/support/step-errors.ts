import type { ApiResponse } from './stack';

/**
 * Counts what clients see while a fault test moves through its steps: every request, and every
 * answer a client had to retry (5xx) or that never came (connection reset, refused), per step.
 */
export interface StepCounts {
  step: string;
  seconds: number;
  requests: number;
  status5xx: Record<string, number>;
  networkErrors: number;
  /** Units of work finished in the step, per kind (onboardings, device activities …). */
  completed: Record<string, number>;
}

export class StepErrors {
  private current: StepCounts;
  private started = Date.now();
  readonly steps: StepCounts[] = [];

  constructor(first: string) {
    this.current = this.open(first);
  }

  private open(step: string): StepCounts {
    const counts: StepCounts = { step, seconds: 0, requests: 0, status5xx: {}, networkErrors: 0, completed: {} };
    this.steps.push(counts);
    this.started = Date.now();
    return counts;
  }

  /** Closes the current step and counts from now on under `step`. */
  next(step: string): void {
    this.current.seconds = (Date.now() - this.started) / 1000;
    this.current = this.open(step);
  }

  finish(): void {
    this.current.seconds = (Date.now() - this.started) / 1000;
  }

  /** Runs one request, counting it and its outcome under the step in progress when it was sent. */
  async observe(request: () => Promise<ApiResponse>): Promise<ApiResponse> {
    const step = this.current;
    step.requests++;
    try {
      const res = await request();
      if (res.status >= 500) step.status5xx[res.status] = (step.status5xx[res.status] ?? 0) + 1;
      return res;
    } catch (err) {
      step.networkErrors++;
      throw err;
    }
  }

  completedOne(kind = 'onboardings'): void {
    this.current.completed[kind] = (this.current.completed[kind] ?? 0) + 1;
  }

  table(): string {
    const kinds = [...new Set(this.steps.flatMap((s) => Object.keys(s.completed)))];
    const rows = this.steps.map((s) => {
      const fiveXx = Object.entries(s.status5xx).map(([status, n]) => `${n}×${status}`).join(' ') || '0';
      const visible = Object.values(s.status5xx).reduce((a, b) => a + b, 0) + s.networkErrors;
      return `| ${s.step} | ${s.seconds.toFixed(1)} | ${s.requests} | ${fiveXx} | ${s.networkErrors} | ${visible} | ${kinds.map((k) => s.completed[k] ?? 0).join(' | ')} |`;
    });
    const header = `| step | seconds | requests | 5xx answers | network errors | client-visible errors | ${kinds.map((k) => `${k} completed`).join(' | ')} |`;
    return [header, `|${'---|'.repeat(6 + kinds.length)}`, ...rows].join('\n');
  }

  /** Answers with this status over all steps. */
  count(status: number): number {
    return this.steps.reduce((sum, s) => sum + (s.status5xx[status] ?? 0), 0);
  }
}
