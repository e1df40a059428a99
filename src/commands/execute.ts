import { getJob, type JobDetail } from '../queue/job.js';
import { getStats, type StatsResult } from '../queue/stats.js';
import { listFailed, type FailedPage, type FailedQuery } from '../queue/failed.js';
import { listStalled, type StalledResult } from '../queue/stalled.js';
import { listWorkers, type WorkersResult } from '../queue/workers.js';
import { runDoctor, type DoctorReport } from '../queue/doctor.js';
import { heavyRead, type QueueContext } from '../queue/context.js';
import type { ParsedCommand } from './parse.js';
import type { ReadSource } from '../db/read-routing.js';

/** A read command's typed result, tagged so renderers can pick the right view. */
export type ReadOutcome =
  | { kind: 'stats'; result: StatsResult; source: ReadSource }
  | { kind: 'failed'; result: FailedPage; query: FailedQuery; source: ReadSource }
  | { kind: 'job'; result: JobDetail }
  | { kind: 'stalled'; result: StalledResult }
  | { kind: 'workers'; result: WorkersResult }
  | { kind: 'doctor'; result: DoctorReport };

export type ReadCommand = Extract<ParsedCommand, { name: ReadOutcome['kind'] }>;

export function isReadCommand(command: ParsedCommand): command is ReadCommand {
  return ['stats', 'failed', 'job', 'stalled', 'workers', 'doctor'].includes(command.name);
}

/** Runs a read command against the queue core. Both fronts call this, then render. */
export async function executeRead(ctx: QueueContext, command: ReadCommand): Promise<ReadOutcome> {
  switch (command.name) {
    case 'stats': {
      const { heavy, source } = await heavyRead(ctx);
      return { kind: 'stats', result: await getStats(heavy, { groupBy: command.groupBy }), source };
    }
    case 'failed': {
      const { name: _name, ...query } = command;
      const { heavy, source } = await heavyRead(ctx);
      return { kind: 'failed', result: await listFailed(heavy, query), query, source };
    }
    case 'job':
      return { kind: 'job', result: await getJob(ctx, command.id) };
    case 'stalled':
      return { kind: 'stalled', result: await listStalled(ctx, command) };
    case 'workers':
      return { kind: 'workers', result: await listWorkers(ctx) };
    case 'doctor':
      return { kind: 'doctor', result: await runDoctor(ctx.db, { settings: ctx.settings, schema: ctx.schema.schema, replica: (await ctx.reader?.status()) ?? null }) };
  }
}
