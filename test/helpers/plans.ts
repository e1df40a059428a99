/** Jobs in the scale suites' generated table (JOBQ_SCALE_JOBS changes it). */
export const JOBS = Number(process.env.JOBQ_SCALE_JOBS ?? 1_000_000);
/**
 * Pages (8 kB) one statement may touch, whatever the table size: about 1% of the 1M-job
 * fixture (~39k pages) and a shrinking share of anything larger.
 */
export const PAGE_BUDGET = 2_500;

/** One node of `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`, as far as the scale suites read it. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
  'Index Name'?: string;
  'Actual Rows': number;
  Plans?: PlanNode[];
}

export function findNode(node: PlanNode, match: (n: PlanNode) => boolean): PlanNode | undefined {
  if (match(node)) return node;
  for (const child of node.Plans ?? []) {
    const found = findNode(child, match);
    if (found) return found;
  }
  return undefined;
}

/** Every relation the plan reads, with how. */
export function scans(node: PlanNode, out: { type: string; relation: string }[] = []) {
  if (node['Relation Name']) out.push({ type: node['Node Type'], relation: node['Relation Name'] });
  for (const child of node.Plans ?? []) scans(child, out);
  return out;
}
