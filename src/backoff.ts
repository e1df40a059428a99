/** Slack retries wait at most this long: once Slack works again, what is pending goes out within a minute. */
export const RETRY_CAP_MS = 60_000;

/**
 * The wait before retry number `attempts` (1, 2, ...): `baseMs` doubled per attempt, never more
 * than `capMs` (nor less than `baseMs`, for a base above the cap).
 */
export function backoffMs(attempts: number, baseMs: number, capMs = RETRY_CAP_MS): number {
  return Math.min(Math.max(capMs, baseMs), baseMs * 2 ** Math.min(Math.max(attempts, 1), 20));
}
