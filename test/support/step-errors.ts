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
  completed: number;
}

export class StepErrors {
  private current: StepCounts;
  private started = Date.now();
  readonly steps: StepCounts[] = [];

  constructor(first: string) {
    this.current = this.open(first);
  }

  private open(step: string): StepCounts {
    const counts: StepCounts = { step, seconds: 0, requests: 0, status5xx: {}, networkErrors: 0, completed: 0 };
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

  completedOne(): void {
    this.current.completed++;
  }

  table(): string {
    const rows = this.steps.map((s) => {
      const fiveXx = Object.entries(s.status5xx).map(([status, n]) => `${n}×${status}`).join(' ') || '0';
      const visible = Object.values(s.status5xx).reduce((a, b) => a + b, 0) + s.networkErrors;
      return `| ${s.step} | ${s.seconds.toFixed(1)} | ${s.requests} | ${fiveXx} | ${s.networkErrors} | ${visible} | ${s.completed} |`;
    });
    return ['| step | seconds | requests | 5xx answers | network errors | client-visible errors | onboardings completed |', '|---|---|---|---|---|---|---|', ...rows].join('\n');
  }
}
