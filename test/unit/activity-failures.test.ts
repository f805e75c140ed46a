import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { classified, classifyActivityError, INTERNAL_ERROR } from '../../activities/failures';
import { DomainError } from '../../domain/errors';

// Issue 12: only what may succeed next time is retried. A broken rule or a bug fails the step at
// once (the caller hears it, later requests and timers are not held behind retries); connection
// faults, serialization failures, deadlocks and timeouts are rethrown for Temporal to retry.
const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });
/** Drizzle wraps the driver's error: the code is on the cause. */
const wrapped = (code: string) => Object.assign(new Error('Failed query: …'), { cause: pgError(code) });

describe('classifyActivityError', () => {
  it('a broken rule fails at once with its code as the failure type', () => {
    const failure = classifyActivityError(new DomainError('NAME_TAKEN', 'taken'));
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'NAME_TAKEN', nonRetryable: true, message: 'taken' });
  });

  it.each([
    ['a programming error', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a constraint violation', wrapped('23505')],
    ['invalid text for Postgres', wrapped('22P02')],
    ['a thrown string', 'oops'],
  ])('%s fails at once as INTERNAL_ERROR', (_label, err) => {
    const failure = classifyActivityError(err);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: INTERNAL_ERROR, nonRetryable: true });
  });

  it.each([
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['connection reset (wrapped)', wrapped('ECONNRESET')],
    ['serialization failure', wrapped('40001')],
    ['deadlock', wrapped('40P01')],
    ['lock timeout', wrapped('55P03')],
    ['statement timeout', wrapped('57014')],
    ['admin shutdown', wrapped('57P01')],
    ['a fetch timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' })],
  ])('%s is rethrown unchanged, so Temporal retries it', (_label, err) => {
    expect(classifyActivityError(err)).toBe(err);
  });

  it('an ApplicationFailure already classified passes through', () => {
    const failure = ApplicationFailure.create({ type: 'SUPERSEDED', nonRetryable: true });
    expect(classifyActivityError(failure)).toBe(failure);
  });

  it('classified() runs the body and classifies what it throws', async () => {
    await expect(classified(async () => 7)).resolves.toBe(7);
    await expect(
      classified(async () => {
        throw new DomainError('CERTIFICATE_LIMIT_REACHED', 'full');
      }),
    ).rejects.toMatchObject({ type: 'CERTIFICATE_LIMIT_REACHED', nonRetryable: true });
  });
});
