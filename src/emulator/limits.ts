/**
 * Slack's message and view limits, enforced so a renderer bug fails in tests instead of in a real
 * channel or Home tab. Numbers from Slack's Block Kit reference (see /work/shared/slack-platform.md).
 */
export const LIMITS = {
  blocksPerMessage: 50,
  blocksPerView: 100,
  textChars: 40_000,
  sectionTextChars: 3_000,
  sectionFields: 10,
  sectionFieldChars: 2_000,
  headerTextChars: 150,
  actionsElements: 25,
  contextElements: 10,
  idChars: 255,
  buttonTextChars: 75,
  buttonValueChars: 2_000,
  tableRows: 100,
  tableCells: 20,
  tableColumnSettings: 20,
  tablesPerMessage: 1,
  viewPrivateMetadataChars: 3_000,
  viewCallbackIdChars: 255,
  viewBytes: 250_000,
} as const;

export interface LimitViolation {
  /** Slack's error code for the call. */
  error: 'no_text' | 'invalid_blocks' | 'invalid_blocks_format' | 'msg_too_long' | 'invalid_attachments' | 'invalid_arguments' | 'view_too_large';
  /** Slack-style details, e.g. "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]". */
  messages: string[];
}

interface MessageContent {
  text?: unknown;
  blocks?: unknown;
  attachments?: unknown;
}

type Obj = Record<string, unknown>;
const isObj = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);
const textOf = (value: unknown): string | undefined => (isObj(value) && typeof value.text === 'string' ? value.text : undefined);

/** Returns the first Slack error this message would get, or undefined when Slack would accept it. */
export function checkMessage(content: MessageContent, { requireContent = true } = {}): LimitViolation | undefined {
  const { text, blocks, attachments } = content;
  const hasText = typeof text === 'string' && text.length > 0;
  const hasBlocks = Array.isArray(blocks) && blocks.length > 0;
  const hasAttachments = Array.isArray(attachments) && attachments.length > 0;
  if (blocks !== undefined && !Array.isArray(blocks)) {
    return { error: 'invalid_blocks_format', messages: ['[ERROR] blocks must be a JSON array'] };
  }
  if (requireContent && !hasText && !hasBlocks && !hasAttachments) {
    return { error: 'no_text', messages: ['[ERROR] text, blocks or attachments is required'] };
  }
  if (typeof text === 'string' && text.length > LIMITS.textChars) {
    return { error: 'msg_too_long', messages: [`[ERROR] text is ${text.length} characters, more than ${LIMITS.textChars}`] };
  }
  // Blocks inside attachments are checked like top-level ones: a table may sit in either.
  const lists: [blocks: unknown[], pointer: string][] = Array.isArray(blocks) ? [[blocks, '/blocks']] : [];
  if (Array.isArray(attachments)) {
    attachments.forEach((attachment, i) => {
      if (isObj(attachment) && Array.isArray(attachment.blocks)) lists.push([attachment.blocks, `/attachments/${i}/blocks`]);
    });
  }
  const problems = lists.flatMap(([list, pointer]) => blockProblems(list, MESSAGE, pointer));
  if (problems.length > 0) return { error: 'invalid_blocks', messages: problems };
  const tables = lists.flatMap(([list, pointer]) => list.flatMap((block, i) => (isObj(block) && block.type === 'table' ? [`${pointer}/${i}`] : [])));
  if (tables.length > LIMITS.tablesPerMessage) {
    return { error: 'invalid_attachments', messages: tables.slice(LIMITS.tablesPerMessage).map((at) => `[ERROR] only_one_table_allowed [json-pointer:${at}]`) };
  }
  return undefined;
}

/**
 * Returns the first Slack error views.publish would answer for this Home tab view, or undefined.
 * Slack answers bad blocks in a view with invalid_arguments, not invalid_blocks.
 */
export function checkHomeView(view: unknown): LimitViolation | undefined {
  const invalid = (message: string): LimitViolation => ({ error: 'invalid_arguments', messages: [message] });
  if (!isObj(view)) return invalid('[ERROR] view must be a JSON object [json-pointer:/view]');
  if (view.type !== 'home') return invalid(`[ERROR] unsupported type: ${String(view.type)}; views.publish publishes home views [json-pointer:/view/type]`);
  if (!Array.isArray(view.blocks)) return invalid('[ERROR] missing required field: blocks [json-pointer:/view]');
  if (JSON.stringify(view).length > LIMITS.viewBytes) return { error: 'view_too_large', messages: [`[ERROR] view is larger than ${LIMITS.viewBytes} bytes`] };
  const problems: string[] = [];
  const tooLong = (field: string, max: number) => {
    const value = view[field];
    if (value !== undefined && typeof value !== 'string') problems.push(`[ERROR] must be a string [json-pointer:/view/${field}]`);
    else if (typeof value === 'string' && value.length > max) problems.push(`[ERROR] must be less than ${max + 1} characters [json-pointer:/view/${field}]`);
  };
  tooLong('private_metadata', LIMITS.viewPrivateMetadataChars);
  tooLong('callback_id', LIMITS.viewCallbackIdChars);
  tooLong('external_id', LIMITS.idChars);
  problems.push(...blockProblems(view.blocks, HOME, '/view/blocks'));
  return problems.length > 0 ? { error: 'invalid_arguments', messages: problems } : undefined;
}

interface Surface {
  maxBlocks: number;
  /** Block types Slack does not show on this surface, with the reason given in the error. */
  refused: ReadonlyMap<string, string>;
}

const MESSAGE: Surface = { maxBlocks: LIMITS.blocksPerMessage, refused: new Map() };
/**
 * Slack's block catalogue lists the table block for Home tabs too, but it renders in messages
 * only (Home tabs and modals drop it): stricter than Slack, so the bot finds out in a test.
 */
const HOME: Surface = {
  maxBlocks: LIMITS.blocksPerView,
  refused: new Map([
    ['table', 'table blocks are shown in messages only'],
    ['data_table', 'data_table blocks are shown in messages only'],
  ]),
};

type TooLong = (value: string | undefined, max: number, pointer: string) => void;

function blockProblems(blocks: unknown[], surface: Surface, pointer: string): string[] {
  const problems: string[] = [];
  const tooLong: TooLong = (value, max, at) => {
    if (value !== undefined && value.length > max) problems.push(`[ERROR] must be less than ${max + 1} characters [json-pointer:${at}]`);
  };
  if (blocks.length > surface.maxBlocks) {
    problems.push(`[ERROR] no more than ${surface.maxBlocks} items allowed [json-pointer:${pointer}]`);
  }
  blocks.forEach((block, i) => {
    const at = `${pointer}/${i}`;
    if (!isObj(block) || typeof block.type !== 'string') {
      problems.push(`[ERROR] missing required field: type [json-pointer:${at}]`);
      return;
    }
    const refused = surface.refused.get(block.type);
    if (refused) {
      problems.push(`[ERROR] unsupported type: ${block.type} (${refused}) [json-pointer:${at}/type]`);
      return;
    }
    if (typeof block.block_id === 'string') tooLong(block.block_id, LIMITS.idChars, `${at}/block_id`);
    switch (block.type) {
      case 'section': {
        tooLong(textOf(block.text), LIMITS.sectionTextChars, `${at}/text/text`);
        if (Array.isArray(block.fields)) {
          if (block.fields.length > LIMITS.sectionFields) problems.push(`[ERROR] no more than ${LIMITS.sectionFields} items allowed [json-pointer:${at}/fields]`);
          for (const [j, field] of block.fields.entries()) tooLong(textOf(field), LIMITS.sectionFieldChars, `${at}/fields/${j}/text`);
        }
        if (block.text === undefined && block.fields === undefined) problems.push(`[ERROR] must provide text or fields [json-pointer:${at}]`);
        if (isObj(block.accessory)) elementProblems(block.accessory, `${at}/accessory`, tooLong);
        break;
      }
      case 'header':
        tooLong(textOf(block.text), LIMITS.headerTextChars, `${at}/text/text`);
        break;
      case 'actions':
        if (!Array.isArray(block.elements)) break;
        if (block.elements.length > LIMITS.actionsElements) problems.push(`[ERROR] no more than ${LIMITS.actionsElements} items allowed [json-pointer:${at}/elements]`);
        block.elements.forEach((element, j) => {
          if (isObj(element)) elementProblems(element, `${at}/elements/${j}`, tooLong);
        });
        break;
      case 'context':
        if (Array.isArray(block.elements) && block.elements.length > LIMITS.contextElements) {
          problems.push(`[ERROR] no more than ${LIMITS.contextElements} items allowed [json-pointer:${at}/elements]`);
        }
        break;
      case 'table':
        problems.push(...tableProblems(block, at));
        break;
      default:
        break;
    }
  });
  return problems;
}

const ALIGNMENTS = new Set(['left', 'center', 'right']);

/** Rows of cells (raw_text or rich_text), at most 100 rows of 20 cells; column_settings at most 20. */
function tableProblems(block: Obj, at: string): string[] {
  const problems: string[] = [];
  const { rows, column_settings: columns } = block;
  if (!Array.isArray(rows)) problems.push(`[ERROR] missing required field: rows [json-pointer:${at}]`);
  else if (rows.length === 0) problems.push(`[ERROR] must provide at least 1 item [json-pointer:${at}/rows]`);
  else {
    if (rows.length > LIMITS.tableRows) problems.push(`[ERROR] no more than ${LIMITS.tableRows} items allowed [json-pointer:${at}/rows]`);
    rows.forEach((row, r) => {
      const rowAt = `${at}/rows/${r}`;
      if (!Array.isArray(row) || row.length === 0) {
        problems.push(`[ERROR] a row must be an array of at least 1 cell [json-pointer:${rowAt}]`);
        return;
      }
      if (row.length > LIMITS.tableCells) problems.push(`[ERROR] no more than ${LIMITS.tableCells} items allowed [json-pointer:${rowAt}]`);
      row.forEach((cell, c) => {
        const problem = cellProblem(cell);
        if (problem) problems.push(`[ERROR] ${problem} [json-pointer:${rowAt}/${c}]`);
      });
    });
  }
  if (columns === undefined) return problems;
  if (!Array.isArray(columns)) {
    problems.push(`[ERROR] must be an array [json-pointer:${at}/column_settings]`);
    return problems;
  }
  if (columns.length > LIMITS.tableColumnSettings) problems.push(`[ERROR] no more than ${LIMITS.tableColumnSettings} items allowed [json-pointer:${at}/column_settings]`);
  columns.forEach((setting, c) => {
    const settingAt = `${at}/column_settings/${c}`;
    if (setting === null) return; // leaves that column at the default
    if (!isObj(setting)) {
      problems.push(`[ERROR] must be an object [json-pointer:${settingAt}]`);
      return;
    }
    if (setting.align !== undefined && !ALIGNMENTS.has(String(setting.align))) problems.push(`[ERROR] must be one of left, center, right [json-pointer:${settingAt}/align]`);
    if (setting.is_wrapped !== undefined && typeof setting.is_wrapped !== 'boolean') problems.push(`[ERROR] must be a boolean [json-pointer:${settingAt}/is_wrapped]`);
  });
  return problems;
}

function cellProblem(cell: unknown): string | undefined {
  if (!isObj(cell)) return 'a cell must be an object of type raw_text or rich_text';
  if (cell.type === 'raw_text') return typeof cell.text === 'string' ? undefined : 'missing required field: text';
  if (cell.type === 'rich_text') return Array.isArray(cell.elements) ? undefined : 'missing required field: elements';
  return `unsupported type: ${String(cell.type)}; a cell is raw_text or rich_text`;
}

function elementProblems(element: Obj, at: string, tooLong: TooLong): void {
  if (typeof element.action_id === 'string') tooLong(element.action_id, LIMITS.idChars, `${at}/action_id`);
  if (element.type !== 'button') return;
  tooLong(textOf(element.text), LIMITS.buttonTextChars, `${at}/text/text`);
  if (typeof element.value === 'string') tooLong(element.value, LIMITS.buttonValueChars, `${at}/value`);
  const confirm = element.confirm;
  if (isObj(confirm)) {
    tooLong(textOf(confirm.title), 100, `${at}/confirm/title/text`);
    tooLong(textOf(confirm.text), 300, `${at}/confirm/text/text`);
    tooLong(textOf(confirm.confirm), 30, `${at}/confirm/confirm/text`);
    tooLong(textOf(confirm.deny), 30, `${at}/confirm/deny/text`);
  }
}
