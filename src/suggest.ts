/**
 * "Did you mean": the known name nearest to what was typed, or null when none is near enough to
 * be a typo. Case-insensitive; a transposition ("retyr") counts as one edit.
 */

export function editDistance(a: string, b: string): number {
  const x = [...a.toLowerCase()];
  const y = [...b.toLowerCase()];
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[x.length]![y.length]!;
}

/** The candidate nearest to `typed`, if close enough: a few edits for its length, or one a prefix of the other. */
export function nearest(typed: string, candidates: Iterable<string>): string | null {
  const input = typed.toLowerCase();
  if (input === '') return null;
  let best: { name: string; score: number } | null = null;
  for (const name of candidates) {
    const candidate = name.toLowerCase();
    if (candidate === input) return name;
    const distance = editDistance(input, candidate);
    const allowed = Math.max(1, Math.floor(Math.max(input.length, candidate.length) / 3));
    const prefix = input.length >= 3 && (candidate.startsWith(input) || input.startsWith(candidate)) ? 0.5 : Number.POSITIVE_INFINITY;
    const score = Math.min(distance <= allowed ? distance : Number.POSITIVE_INFINITY, prefix);
    if (score !== Number.POSITIVE_INFINITY && (best === null || score < best.score)) best = { name, score };
  }
  return best?.name ?? null;
}
