import type { RecordedCall, SlackState } from './model.js';

/**
 * Re-evaluates `check` whenever the model changes (and every 25 ms, for time-based conditions)
 * until it returns something truthy, or rejects at the deadline with the recent calls listed so
 * the failing test says what the bot did instead.
 */
export function waitUntil<T>(state: SlackState, check: () => T | undefined | null | false, timeoutMs: number, description?: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let lastError: unknown;
    const attempt = (): boolean => {
      try {
        const value = check();
        if (value) {
          finish();
          resolve(value);
          return true;
        }
      } catch (error) {
        lastError = error; // an expect() inside the predicate: keep its message for the timeout
      }
      return false;
    };
    const onChange = () => void attempt();
    const interval = setInterval(onChange, 25);
    const timer = setTimeout(() => {
      finish();
      reject(new Error(timeoutMessage(state, timeoutMs, description, lastError)));
    }, timeoutMs);
    const finish = () => {
      clearInterval(interval);
      clearTimeout(timer);
      state.off('message', onChange);
      state.off('call', onChange);
    };
    state.on('message', onChange);
    state.on('call', onChange);
    attempt();
  });
}

function timeoutMessage(state: SlackState, timeoutMs: number, description: string | undefined, lastError: unknown): string {
  const lines = [`Emulator: waitFor${description ? ` (${description})` : ''} timed out after ${timeoutMs} ms.`];
  if (lastError) lines.push(`Last predicate error: ${(lastError as Error).message ?? String(lastError)}`);
  const calls = state.calls.slice(-10);
  lines.push(calls.length ? `Last ${calls.length} of ${state.calls.length} calls:` : 'No calls were made to the emulator.');
  for (const call of calls) lines.push(`  ${describeCall(call)}`);
  const messages = state.allMessages().slice(-5);
  if (messages.length) lines.push('Last messages:');
  for (const m of messages) lines.push(`  ${m.channel} ${m.ts}${m.visibleTo ? ` (ephemeral to ${m.visibleTo})` : ''} via ${m.via}: ${JSON.stringify(m.text.slice(0, 80))}`);
  return lines.join('\n');
}

export function describeCall(call: RecordedCall): string {
  const time = new Date(call.at).toISOString().slice(11, 23);
  const { channel, ts, text } = call.body;
  const bits = [channel && `channel=${String(channel)}`, ts && `ts=${String(ts)}`, typeof text === 'string' && `text=${JSON.stringify(text.slice(0, 60))}`].filter(Boolean);
  const error = (call.response as { error?: string } | undefined)?.error;
  return `${time} ${call.method} -> ${call.status}${error ? ` ${error}` : ''}${call.fault ? ` [fault: ${call.fault}]` : ''} ${bits.join(' ')}`.trimEnd();
}
