/**
 * Slack's message limits, enforced so a renderer bug fails in tests instead of in a real channel.
 * Numbers from Slack's Block Kit reference (see /work/shared/slack-platform.md).
 */
export const LIMITS = {
  blocksPerMessage: 50,
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
} as const;

export interface LimitViolation {
  /** Slack's error code for the call. */
  error: 'no_text' | 'invalid_blocks' | 'invalid_blocks_format' | 'msg_too_long';
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
  if (!Array.isArray(blocks)) return undefined;
  const problems = blockProblems(blocks);
  return problems.length > 0 ? { error: 'invalid_blocks', messages: problems } : undefined;
}

function blockProblems(blocks: unknown[]): string[] {
  const problems: string[] = [];
  const tooLong = (value: string | undefined, max: number, pointer: string) => {
    if (value !== undefined && value.length > max) problems.push(`[ERROR] must be less than ${max + 1} characters [json-pointer:${pointer}]`);
  };
  if (blocks.length > LIMITS.blocksPerMessage) {
    problems.push(`[ERROR] no more than ${LIMITS.blocksPerMessage} items allowed [json-pointer:/blocks]`);
  }
  blocks.forEach((block, i) => {
    const at = `/blocks/${i}`;
    if (!isObj(block) || typeof block.type !== 'string') {
      problems.push(`[ERROR] missing required field: type [json-pointer:${at}]`);
      return;
    }
    if (typeof block.block_id === 'string') tooLong(block.block_id, LIMITS.idChars, `${at}/block_id`);
    switch (block.type) {
      case 'section': {
        tooLong(textOf(block.text), LIMITS.sectionTextChars, `${at}/text/text`);
        if (Array.isArray(block.fields)) {
          if (block.fields.length > LIMITS.sectionFields) problems.push(`[ERROR] no more than ${LIMITS.sectionFields} items allowed [json-pointer:${at}/fields]`);
          block.fields.forEach((field, j) => tooLong(textOf(field), LIMITS.sectionFieldChars, `${at}/fields/${j}/text`));
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
      default:
        break;
    }
  });
  return problems;
}

function elementProblems(element: Obj, at: string, tooLong: (value: string | undefined, max: number, pointer: string) => void): void {
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
