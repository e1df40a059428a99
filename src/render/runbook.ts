import type { RunbookSection } from '../runbook-sections.js';

/**
 * Links into docs/runbooks/job-queue.md (sections: src/runbook-sections.ts).
 */
export function runbookUrl(base: string, section: RunbookSection): string {
  return `${base.replace(/#.*$/, '')}#${section}`;
}
