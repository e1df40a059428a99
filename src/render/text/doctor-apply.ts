import type { Limits } from '../../db/database.js';
import type { IndexApplyResult, IndexPlan, IndexStep } from '../../queue/doctor-apply.js';
import { formatAge } from '../format.js';

/** Terminal text for `jobq doctor --apply`. Pure: data in, text out. */

export function indexPlanEmptyText(): string {
  return 'Nothing to do: every recommended index exists and is valid.';
}

/** Exactly what will run, and what it means for Procrastinate's workers: the text of the confirmation. */
export function indexPlanText(plan: IndexPlan, limits: Limits): string {
  const lines = [`jobq doctor --apply will change Procrastinate's table ${plan.schema}.procrastinate_jobs:`];
  for (const name of plan.leftovers) {
    lines.push(`  - drop the INVALID index ${name} left by an earlier build that failed (DROP INDEX CONCURRENTLY IF EXISTS)`);
  }
  for (const build of plan.build) lines.push(`  - create index ${build.name}, for ${build.purpose}:`, `      ${build.statement};`);
  lines.push(
    "CONCURRENTLY: Procrastinate's workers keep fetching, running and finishing jobs while it builds; nothing waits",
    `for it. The build reads the table twice and first waits for transactions already running (up to ${formatAge(Math.round(limits.lockTimeoutMs / 1000))}`,
    `for any lock; at most ${formatAge(Math.round(limits.statementTimeoutMs / 1000))} in all). If it fails, the INVALID index it leaves is dropped. Each step is audited.`,
  );
  return lines.join('\n');
}

/** Said before the builds start: they run for a while and print nothing until they end. */
export function indexBuildingText(plan: IndexPlan): string {
  const what = plan.build.length ? `Building ${plan.build.map((b) => b.name).join(', ')} concurrently` : 'Dropping the INVALID index';
  return `${what}… (about as long as reading procrastinate_jobs twice)`;
}

export function indexStepText(step: IndexStep): string {
  switch (step.kind) {
    case 'leftover-dropped':
      return `Dropped the INVALID index ${step.name} left by an earlier build.`;
    case 'created':
      return `Created index ${step.name} in ${(step.ms / 1000).toFixed(1)} s.`;
    case 'failed':
      return `Could not create index ${step.name}: ${step.error}${step.leftoverDropped ? ' The INVALID index the build left was dropped: nothing changed; run `jobq doctor --apply` again.' : ''}`;
  }
}

export function indexApplyText(result: IndexApplyResult): string {
  const lines = result.steps.map(indexStepText);
  lines.push(result.ok ? 'Done: `jobq doctor` should now list every recommended index as present.' : 'Stopped at the failure above.');
  return lines.join('\n');
}
