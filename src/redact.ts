/** Replaces the password in any URL-like credential, and known token shapes, with ***. */
export function redactSecrets(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*:)([^@\s/]+)@/gi, '$1***@')
    .replace(/\b(xox[abposr]-|xapp-)[A-Za-z0-9-]+/g, '$1***')
    .replace(/(password\s*[=:]\s*)('[^']*'|"[^"]*"|\S+)/gi, '$1***');
}

/** A URL as it may be shown: no password. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return redactSecrets(url);
  }
}
