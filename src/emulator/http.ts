import type { IncomingMessage, ServerResponse } from 'node:http';

export type Obj = Record<string, unknown>;

/** Form fields the WebClient JSON-encodes because they are objects or arrays. */
const JSON_FIELDS = new Set(['blocks', 'attachments', 'metadata', 'payload', 'users', 'channels', 'view']);

const MAX_BODY_BYTES = 5 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new Error(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class BodyParseError extends Error {}

/**
 * Parses a JSON or form body. Form values that hold JSON (blocks, attachments, metadata) are
 * decoded; a value that is not valid JSON stays a string so the method can answer as Slack does
 * (invalid_blocks_format) instead of the emulator crashing.
 */
export function parseBody(raw: string, contentType: string | undefined): Obj {
  if (raw.trim() === '') return {};
  if (contentType?.includes('application/json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      throw new BodyParseError(`body is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BodyParseError('JSON body must be an object');
    return parsed as Obj;
  }
  const out: Obj = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    out[key] = JSON_FIELDS.has(key) ? tryJson(value) : value;
  }
  return out;
}

function tryJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The token of a Web API call: Authorization: Bearer first, then the legacy `token` field. */
export function tokenOf(req: IncomingMessage, body: Obj): string | undefined {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (match?.[1]) return match[1];
  return typeof body.token === 'string' && body.token !== '' ? body.token : undefined;
}

/** Form-encoded booleans arrive as "true"/"1". */
export function flag(value: unknown): boolean {
  return value === true || value === 'true' || value === '1' || value === 1;
}

export function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}
