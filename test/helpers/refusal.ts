import { expect } from 'vitest';
import { JobqError } from '../../src/errors.js';

/** The JobqError a queue operation was refused with; fails the test when it did not refuse. */
export async function refusal(promise: Promise<unknown>): Promise<JobqError> {
  const error = await promise.then(
    () => new Error('expected a refusal'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(JobqError);
  return error as JobqError;
}
