/** A safe one-line preview of job args: control characters removed, cut at `max` characters (code points). */
export function safePreview(text: string, max: number, fullLength = text.length): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
  const chars = [...clean];
  const cut = chars.slice(0, max).join('');
  // fullLength comes from PostgreSQL's length(), which counts characters (code points), as chars does.
  return Math.min(max, chars.length) < Math.max(fullLength, chars.length) ? `${cut}…` : cut;
}
