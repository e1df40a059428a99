import { escapeIdentifier, type QueryConfig } from 'pg';
import type pg from 'pg';
import { plannerSettings, type Query } from '../src/db/database.js';
import { RECENT_EVENTS_CAP } from '../src/queue/stats.js';

/**
 * Page budgets: how many 8 kB pages (shared hits + reads, EXPLAIN's BUFFERS) one statement may
 * touch, whatever the table size. A plan that flips to scanning the table (a Seq Scan, or an
 * index or bitmap walk over a whole status) touches tens of thousands of pages at 1M jobs and
 * hundreds of thousands at 10M, so the flip shows as a MISS here.
 */
export const PAGE_BUDGET = 2_500;

/**
 * Statements whose cost follows activity rather than the table, with their own budget: stats'
 * recent outcomes walk the events of the last 24 hours by primary key, at most RECENT_EVENTS_CAP
 * of them, each with one jobs lookup (about 4 pages: index and heap of each table).
 */
const ACTIVITY_BOUND: { pattern: RegExp; why: string; pages: number; maxRows: number }[] = [
  {
    pattern: /FROM procrastinate_events e\s+JOIN procrastinate_jobs/,
    why: 'recent outcomes: events of the last 24 h by primary key',
    pages: 4 * RECENT_EVENTS_CAP,
    maxRows: RECENT_EVENTS_CAP,
  },
];

/**
 * Statements over the live jobs (todo and doing, Procrastinate's partial index): their cost follows
 * the live set, not the table (the backlog's size is the queue's state, and counting it by queue
 * visits each live row's page). Budget: the default plus one page per 40 live rows.
 */
const LIVE_SET = /WHERE status = 'todo'\s+GROUP BY|WHERE status IN \('todo', 'doing'\)\s+GROUP BY/;
const LIVE_ROWS_PER_PAGE = 40;

export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Parallel Aware'?: boolean;
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
  'Actual Rows': number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

export type Verdict = 'PASS' | 'MISS';

export interface StatementCheck {
  /** Who sent it: `read:stats`, `health:backlog`, `app-home`... */
  owner: string;
  text: string;
  /** EXPLAIN (ANALYZE, BUFFERS): pages touched, and the statement's own time inside the server. */
  pages: number;
  executionMs: number;
  budget: { pages: number; why: string };
  /** Sequential scans of Procrastinate's jobs or events table larger than the budget (a MISS). */
  seqScans: string[];
  /** Index and scan nodes, e.g. `Index Scan procrastinate_jobs_pkey`. */
  scans: string[];
  verdict: Verdict;
  /** Set when EXPLAIN itself failed: the statement counts as a MISS (its plan is unknown). */
  error?: string;
}

const BIG_TABLES = /^procrastinate_(jobs|events)$/;

function walk(node: PlanNode, visit: (n: PlanNode) => void): void {
  visit(node);
  for (const child of node.Plans ?? []) walk(child, visit);
}

/** Statements sent to Procrastinate's tables or the catalog: all of them get a verdict. */
export function budgetFor(text: string, liveRows = 0): { pages: number; why: string; maxRows?: number } {
  const special = ACTIVITY_BOUND.find((b) => b.pattern.test(text));
  if (special) return { pages: special.pages, why: special.why, maxRows: special.maxRows };
  if (LIVE_SET.test(text)) return { pages: PAGE_BUDGET + Math.ceil(liveRows / LIVE_ROWS_PER_PAGE), why: `live set: ${liveRows} todo/doing rows` };
  return { pages: PAGE_BUDGET, why: 'default' };
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of one recorded statement, inside a transaction that is rolled back
 * (ANALYZE runs the statement), with the search_path jobq used.
 */
export async function checkStatement(client: pg.Client, schema: string | null, owner: string, statement: QueryConfig): Promise<StatementCheck> {
  const budget = budgetFor(statement.text, LIVE_SET.test(statement.text) ? await liveRows(client, schema) : 0);
  const base = { owner, text: statement.text, budget: { pages: budget.pages, why: budget.why } };
  await client.query('BEGIN');
  try {
    if (schema) await client.query(`SET LOCAL search_path = ${escapeIdentifier(schema)}, pg_temp`);
    // The planner settings jobq sends with this statement (Query.planner), as it runs them.
    const planner = (statement as Query).planner;
    if (planner) await client.query(plannerSettings(planner));
    const result = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number }] }>({
      text: `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${statement.text}`,
      values: statement.values ?? [],
    });
    const { Plan: plan, 'Execution Time': executionMs } = result.rows[0]!['QUERY PLAN'][0];
    const seqScans: string[] = [];
    const scans: string[] = [];
    let rowsOverCap = false;
    const sizes = await tablePages(client);
    walk(plan, (n) => {
      if (!n['Relation Name']) return;
      const name = `${n['Node Type']} ${n['Index Name'] ?? n['Relation Name']}`;
      if (!scans.includes(name)) scans.push(name);
      // A table smaller than the budget is read whole more cheaply than through an index: the
      // planner is right to, and no budget is at risk. Past that size a Seq Scan is the flip.
      if (n['Node Type'] === 'Seq Scan' && BIG_TABLES.test(n['Relation Name']) && (sizes.get(n['Relation Name']) ?? 0) > budget.pages) seqScans.push(n['Relation Name']);
      if (budget.maxRows !== undefined && n['Relation Name'] === 'procrastinate_events' && n['Actual Rows'] * (n['Actual Loops'] ?? 1) > budget.maxRows) rowsOverCap = true;
    });
    const pages = plan['Shared Hit Blocks'] + plan['Shared Read Blocks'];
    const verdict: Verdict = seqScans.length === 0 && !rowsOverCap && pages <= budget.pages ? 'PASS' : 'MISS';
    return { ...base, pages, executionMs, seqScans, scans, verdict };
  } catch (error) {
    return { ...base, pages: Number.NaN, executionMs: Number.NaN, seqScans: [], scans: [], verdict: 'MISS', error: (error as Error).message };
  } finally {
    await client.query('ROLLBACK');
  }
}

const liveCounts = new WeakMap<pg.Client, number>();

/** The live set's size, counted once per connection (through Procrastinate's partial index). */
async function liveRows(client: pg.Client, schema: string | null): Promise<number> {
  const known = liveCounts.get(client);
  if (known !== undefined) return known;
  const table = schema ? `${escapeIdentifier(schema)}.procrastinate_jobs` : 'procrastinate_jobs';
  const row = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE status IN ('todo', 'doing')`);
  liveCounts.set(client, row.rows[0]!.n);
  return row.rows[0]!.n;
}

async function tablePages(client: pg.Client): Promise<Map<string, number>> {
  const rows = await client.query<{ relname: string; pages: number }>(
    `SELECT relname, greatest(relpages, pg_relation_size(oid) / current_setting('block_size')::int)::int AS pages FROM pg_class WHERE relname IN ('procrastinate_jobs', 'procrastinate_events') AND relkind = 'r'`,
  );
  return new Map(rows.rows.map((r) => [r.relname, r.pages]));
}

/** Statements worth a verdict: everything but the transaction prologue jobq sends itself. */
export function isCheckable(statement: QueryConfig): boolean {
  return !/^\s*(BEGIN|COMMIT|ROLLBACK|SET|SHOW)\b/i.test(statement.text);
}
