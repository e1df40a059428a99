import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFINITIONS } from '../../src/commands/definitions.js';
import { githubSlug, Slugger } from '../../src/emulator/ui/markdown.js';
import { runbookUrl } from '../../src/render/runbook.js';
import { RUNBOOK_SECTIONS } from '../../src/runbook-sections.js';

const root = new URL('../../', import.meta.url).pathname;

/** The anchors GitHub gives the runbook's headings, with the slugger the emulator's runbook page uses. */
function runbookAnchors(): Set<string> {
  const text = readFileSync(join(root, 'docs/runbooks/job-queue.md'), 'utf8').replace(/```[\s\S]*?```/g, '');
  const slugger = new Slugger();
  return new Set([...text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)].map((match) => slugger.slug(match[1]!)));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every runbook section the code can link to, found in the sources themselves. */
function linkedSections(): Map<string, string> {
  const found = new Map<string, string>();
  const patterns = [/runbookSection:\s*'([a-z0-9-]+)'/g, /runbookContext\([^,]+,\s*'([a-z0-9-]+)'/g, /runbook:\s*'([a-z0-9-]+)'/g, /alertRunbook\(\s*'([a-z0-9-]+)'/g];
  for (const file of sourceFiles(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of patterns) for (const m of text.matchAll(pattern)) found.set(m[1]!, file.replace(root, ''));
  }
  for (const slug of RUNBOOK_SECTIONS) found.set(slug, 'src/runbook-sections.ts');
  for (const d of Object.values(DEFINITIONS)) found.set(d.runbook, 'src/commands/definitions.ts');
  return found;
}

describe('runbook links', () => {
  it('slugs headings the way GitHub does', () => {
    expect(githubSlug('Stalled jobs and dead workers')).toBe('stalled-jobs-and-dead-workers');
    expect(githubSlug('Alert: no live workers')).toBe('alert-no-live-workers');
    expect(githubSlug('Monitoring queries for Grafana')).toBe('monitoring-queries-for-grafana');
  });

  it('every section the bot can link to is a heading of docs/runbooks/job-queue.md', () => {
    const anchors = runbookAnchors();
    const linked = linkedSections();
    expect(linked.size).toBeGreaterThan(10);
    const missing = [...linked].filter(([slug]) => !anchors.has(slug)).map(([slug, file]) => `${slug} (from ${file})`);
    expect(missing).toEqual([]);
  });

  it("the list of sections the code may name is exactly the runbook's headings", () => {
    const anchors = [...runbookAnchors()].filter((a) => a !== 'job-queue-runbook-procrastinate-operated-through-jobq');
    expect([...RUNBOOK_SECTIONS].sort()).toEqual(anchors.sort());
  });

  it('builds links from the configured base URL', () => {
    expect(runbookUrl('https://git.example.com/ops/blob/main/docs/runbooks/job-queue.md', 'health-checks')).toBe(
      'https://git.example.com/ops/blob/main/docs/runbooks/job-queue.md#health-checks',
    );
  });
});
