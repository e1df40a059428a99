/** A safe one-line preview of job args: control characters removed, cut at `max` characters. */
export function safePreview(text: string, max: number, fullLength = text.length): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
  const cut = [...clean].slice(0, max).join('');
  return cut.length < fullLength || cut.length < clean.length ? `${cut}…` : cut;
}
