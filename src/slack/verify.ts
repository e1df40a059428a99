import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's window: a request whose timestamp is further than this from our clock, either way, is refused. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

export type Verdict = { ok: true; timestamp: number; signature: string } | { ok: false; reason: string };

/**
 * Checks Slack's request signature: v0=hex(HMAC-SHA256(secret, "v0:<ts>:<raw body>")). Stricter
 * than Slack's minimum: a timestamp in the future is as suspect as one in the past.
 */
export function verifySlackSignature(signingSecret: string, headers: { signature: unknown; timestamp: unknown }, rawBody: Buffer, nowSeconds = Date.now() / 1000): Verdict {
  const { signature, timestamp } = headers;
  if (typeof signature !== 'string' || typeof timestamp !== 'string') return { ok: false, reason: 'missing signature headers' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'malformed timestamp' };
  const ts = Number(timestamp);
  if (Math.abs(nowSeconds - ts) > MAX_CLOCK_SKEW_SECONDS) return { ok: false, reason: 'timestamp outside the five-minute window' };
  const match = /^v0=([0-9a-f]{64})$/.exec(signature);
  if (!match) return { ok: false, reason: 'malformed signature' };
  const expected = createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(rawBody).digest();
  if (!timingSafeEqual(expected, Buffer.from(match[1]!, 'hex'))) return { ok: false, reason: 'signature mismatch' };
  return { ok: true, timestamp: ts, signature: match[1]! };
}
