/**
 * A small Markdown to HTML renderer for the runbook page: headings with GitHub anchors,
 * paragraphs, lists (nested, with code inside), fenced code, tables, blockquotes, rules, and
 * inline code, bold, italic, strikethrough and links. Everything from the source is escaped:
 * raw HTML in the Markdown comes out as text, and links only keep safe schemes.
 */

export interface RenderedMarkdown {
  html: string;
  /** The headings in order, with the id each got. */
  headings: { level: number; text: string; id: string }[];
  /** The first level-1 heading, as plain text. */
  title: string | undefined;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** GitHub's heading anchor: lowercase, punctuation dropped (hyphens, underscores and spaces kept), spaces to hyphens. */
export function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

/** Hands out unique slugs the way GitHub does: the second "Foo" is foo-1, the third foo-2. */
export class Slugger {
  private readonly seen = new Map<string, number>();

  slug(text: string): string {
    const base = githubSlug(text);
    let n = this.seen.get(base) ?? 0;
    let candidate = n === 0 ? base : `${base}-${n}`;
    while (n > 0 && this.seen.has(candidate)) candidate = `${base}-${++n}`;
    this.seen.set(base, n + 1);
    if (candidate !== base) this.seen.set(candidate, 1);
    return candidate;
  }
}

// ---------------------------------------------------------------------------------------------
// Inline

const ESCAPABLE = /[\\`*_{}[\]()#+\-.!|~<>"'&]/;

/** Keeps http(s), mailto, in-page and relative links; anything else (javascript:, data:) becomes "#". */
export function safeHref(url: string): string {
  const trimmed = url.trim();
  if (/^(https?:|mailto:)/i.test(trimmed)) return trimmed;
  if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed)) return '#';
  return trimmed;
}

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && /[\p{L}\p{N}]/u.test(ch);
}

function isSpace(ch: string | undefined): boolean {
  return ch === undefined || /\s/.test(ch);
}

/** Index just past a code span opened at `i`, or -1 when it has no closing run of backticks. */
function codeSpanEnd(s: string, i: number): { end: number; content: string } | undefined {
  let run = 0;
  while (s[i + run] === '`') run++;
  const fence = '`'.repeat(run);
  let j = i + run;
  while (j < s.length) {
    const k = s.indexOf(fence, j);
    if (k < 0) return undefined;
    let after = k + run;
    if (s[after] === '`') {
      while (s[after] === '`') after++;
      j = after;
      continue;
    }
    let content = s.slice(i + run, k).replace(/\n/g, ' ');
    if (/^ .*[^ ].* $/.test(content)) content = content.slice(1, -1);
    return { end: after, content };
  }
  return undefined;
}

/** Finds the `]` closing a link text opened at `i` (brackets nest; code spans are skipped). */
function closingBracket(s: string, i: number): number {
  let depth = 0;
  for (let j = i; j < s.length; j++) {
    const ch = s[j];
    if (ch === '\\') j++;
    else if (ch === '`') {
      const span = codeSpanEnd(s, j);
      if (span) j = span.end - 1;
    } else if (ch === '[') depth++;
    else if (ch === ']' && --depth === 0) return j;
  }
  return -1;
}

/** Finds the closing delimiter for emphasis opened at `i`, skipping code spans and links. */
function closingDelimiter(s: string, from: number, delim: string): number {
  for (let j = from; j < s.length; j++) {
    const ch = s[j];
    if (ch === '\\') {
      j++;
      continue;
    }
    if (ch === '`') {
      const span = codeSpanEnd(s, j);
      if (span) j = span.end - 1;
      continue;
    }
    if (ch === '[') {
      const close = closingBracket(s, j);
      if (close > 0 && s[close + 1] === '(') {
        const paren = s.indexOf(')', close);
        if (paren > 0) j = paren;
        continue;
      }
    }
    if (s.startsWith(delim, j)) {
      const before = s[j - 1];
      const after = s[j + delim.length];
      // A closer is right-flanking; for "_" it may not be followed by a letter (snake_case stays).
      if (isSpace(before)) continue;
      if (delim[0] === '_' && isWordChar(after)) continue;
      // A single delimiter never closes on part of a double one ("*a **b** c*").
      if (delim.length === 1 && (s[j + 1] === delim || s[j - 1] === delim)) continue;
      return j;
    }
  }
  return -1;
}

export function renderInline(s: string): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const ch = s[i]!;
    if (ch === '\\' && i + 1 < s.length) {
      const next = s[i + 1]!;
      if (next === '\n') {
        out += '<br>\n';
        i += 2;
        continue;
      }
      if (ESCAPABLE.test(next)) {
        out += escapeHtml(next);
        i += 2;
        continue;
      }
    }
    if (ch === '`') {
      const span = codeSpanEnd(s, i);
      if (span) {
        out += `<code>${escapeHtml(span.content)}</code>`;
        i = span.end;
        continue;
      }
      let run = 0;
      while (s[i + run] === '`') run++;
      out += escapeHtml(s.slice(i, i + run));
      i += run;
      continue;
    }
    if (ch === '[' || (ch === '!' && s[i + 1] === '[')) {
      const image = ch === '!';
      const open = image ? i + 1 : i;
      const close = closingBracket(s, open);
      if (close > 0 && s[close + 1] === '(') {
        const match = /^\(\s*(<[^>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+"([^"]*)")?\s*\)/.exec(s.slice(close + 1));
        if (match) {
          const label = s.slice(open + 1, close);
          const href = safeHref((match[1] ?? '').replace(/^<|>$/g, ''));
          const title = match[2] !== undefined ? ` title="${escapeHtml(match[2])}"` : '';
          // No images are fetched (the page has no network): an image shows as a link to it.
          out += `<a href="${escapeHtml(href)}"${title}>${image ? escapeHtml(label) : renderInline(label)}</a>`;
          i = close + 1 + match[0].length;
          continue;
        }
      }
    }
    if (ch === '<') {
      const auto = /^<((?:https?|mailto):[^\s<>]+)>/i.exec(s.slice(i));
      if (auto) {
        out += `<a href="${escapeHtml(safeHref(auto[1]!))}">${escapeHtml(auto[1]!)}</a>`;
        i += auto[0].length;
        continue;
      }
    }
    if (ch === 'h' && !isWordChar(s[i - 1])) {
      const bare = /^https?:\/\/[^\s<>]*[^\s<>.,:;"')\]*_~]/.exec(s.slice(i));
      if (bare) {
        out += `<a href="${escapeHtml(bare[0])}">${escapeHtml(bare[0])}</a>`;
        i += bare[0].length;
        continue;
      }
    }
    if (ch === '*' || ch === '_' || ch === '~') {
      let run = 0;
      while (s[i + run] === ch) run++;
      const width = ch === '~' ? (run >= 2 ? 2 : 0) : Math.min(run, 2);
      const after = s[i + width];
      const before = s[i - 1];
      const opens = width > 0 && !isSpace(after) && !(ch === '_' && isWordChar(before));
      if (opens) {
        const delim = ch.repeat(width);
        const close = closingDelimiter(s, i + width, delim);
        if (close > i + width) {
          const inner = s.slice(i + width, close);
          const tag = ch === '~' ? 'del' : width === 2 ? 'strong' : 'em';
          out += `<${tag}>${renderInline(inner)}</${tag}>`;
          i = close + width;
          continue;
        }
      }
      out += escapeHtml(s.slice(i, i + run));
      i += run;
      continue;
    }
    if (ch === '\n') {
      if (out.endsWith('  ')) out = `${out.replace(/ +$/, '')}<br>`;
      out += '\n';
      i++;
      continue;
    }
    out += escapeHtml(ch);
    i++;
  }
  return out;
}

/** The text a heading shows, for its slug: markup dropped, link labels kept. */
export function inlineText(s: string): string {
  return s
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\\([\\`*_{}[\]()#+\-.!|~<>])/g, '$1')
    .replace(/<((?:https?|mailto):[^\s<>]+)>/gi, '$1')
    .replace(/`+/g, '')
    .replace(/(\*\*|__|~~)(.+?)\1/g, '$2')
    .replace(/(^|\W)[*_](.+?)[*_](?=\W|$)/g, '$1$2');
}

// ---------------------------------------------------------------------------------------------
// Blocks

const FENCE = /^( {0,3})(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:\s+(.*?))?(?:\s+#+)?\s*$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const LIST_ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])(\s+|$)/;
const QUOTE = /^ {0,3}> ?/;
const TABLE_SEPARATOR = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

function isBlank(line: string | undefined): boolean {
  return line === undefined || line.trim() === '';
}

/** Splits a table row on unescaped pipes; `\|` becomes a literal pipe in the cell. */
function tableCells(line: string): string[] {
  let row = line.trim();
  if (row.startsWith('|')) row = row.slice(1);
  if (row.endsWith('|') && !row.endsWith('\\|')) row = row.slice(0, -1);
  const cells: string[] = [];
  let cell = '';
  for (let i = 0; i < row.length; i++) {
    const ch = row[i]!;
    if (ch === '\\' && row[i + 1] === '|') {
      cell += '|';
      i++;
    } else if (ch === '|') {
      cells.push(cell.trim());
      cell = '';
    } else cell += ch;
  }
  cells.push(cell.trim());
  return cells;
}

function alignments(separator: string): (string | undefined)[] {
  return tableCells(separator).map((cell) => {
    const left = cell.startsWith(':');
    const right = cell.endsWith(':');
    if (left && right) return 'center';
    if (right) return 'right';
    if (left) return 'left';
    return undefined;
  });
}

function startsBlock(line: string, next: string | undefined): boolean {
  return (
    FENCE.test(line) ||
    HEADING.test(line) ||
    RULE.test(line) ||
    LIST_ITEM.test(line) ||
    QUOTE.test(line) ||
    (line.includes('|') && next !== undefined && TABLE_SEPARATOR.test(next) && next.includes('-'))
  );
}

interface Context {
  slugger: Slugger;
  headings: RenderedMarkdown['headings'];
}

function renderBlocks(lines: string[], ctx: Context, tight = false): string {
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (isBlank(line)) {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const indent = fence[1]!.length;
      const marker = fence[2]!;
      const lang = fence[3] ?? '';
      const body: string[] = [];
      i++;
      while (i < lines.length && !new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}\\s*$`).test(lines[i]!)) {
        body.push(lines[i]!.replace(new RegExp(`^ {0,${indent}}`), ''));
        i++;
      }
      i++; // the closing fence (or the end of the document)
      const cls = lang ? ` class="language-${escapeHtml(lang)}"` : '';
      out.push(`<pre><code${cls}>${escapeHtml(body.join('\n'))}${body.length ? '\n' : ''}</code></pre>`);
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const level = heading[1]!.length;
      const source = heading[2] ?? '';
      const text = inlineText(source);
      const id = ctx.slugger.slug(text);
      ctx.headings.push({ level, text, id });
      out.push(`<h${level} id="${escapeHtml(id)}"><a class="anchor" href="#${escapeHtml(id)}" aria-hidden="true">#</a>${renderInline(source)}</h${level}>`);
      i++;
      continue;
    }
    if (RULE.test(line)) {
      out.push('<hr>');
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const body: string[] = [];
      while (i < lines.length && !isBlank(lines[i]) && (QUOTE.test(lines[i]!) || body.length > 0)) {
        body.push(lines[i]!.replace(QUOTE, ''));
        i++;
      }
      out.push(`<blockquote>\n${renderBlocks(body, ctx)}\n</blockquote>`);
      continue;
    }
    const next = lines[i + 1];
    if (line.includes('|') && next !== undefined && TABLE_SEPARATOR.test(next) && next.includes('-')) {
      const head = tableCells(line);
      const align = alignments(next);
      const attr = (k: number) => (align[k] ? ` class="align-${align[k]}"` : '');
      const rows: string[][] = [];
      i += 2;
      while (i < lines.length && !isBlank(lines[i]) && lines[i]!.includes('|')) {
        rows.push(tableCells(lines[i]!));
        i++;
      }
      const th = head.map((c, k) => `<th${attr(k)}>${renderInline(c)}</th>`).join('');
      const trs = rows.map((r) => `<tr>${head.map((_, k) => `<td${attr(k)}>${renderInline(r[k] ?? '')}</td>`).join('')}</tr>`).join('\n');
      out.push(`<table>\n<thead><tr>${th}</tr></thead>\n<tbody>\n${trs}\n</tbody>\n</table>`);
      continue;
    }
    const item = LIST_ITEM.exec(line);
    if (item) {
      const ordered = /\d/.test(item[2]!);
      const start = ordered ? Number.parseInt(item[2]!, 10) : 1;
      const items: string[][] = [];
      let loose = false;
      while (i < lines.length) {
        const m = LIST_ITEM.exec(lines[i]!);
        if (!m || /\d/.test(m[2]!) !== ordered) break;
        const contentIndent = m[1]!.length + m[2]!.length + Math.min(Math.max(m[3]!.length, 1), 4);
        const body = [lines[i]!.slice(m[0].length)];
        i++;
        while (i < lines.length) {
          const l = lines[i]!;
          if (isBlank(l)) {
            // A blank line continues the item only when indented content follows.
            let k = i;
            while (k < lines.length && isBlank(lines[k])) k++;
            if (k < lines.length && /^\s*/.exec(lines[k]!)![0].length >= contentIndent) {
              body.push(...lines.slice(i, k).map(() => ''));
              i = k;
              continue;
            }
            if (k < lines.length && LIST_ITEM.test(lines[k]!)) {
              const nm = LIST_ITEM.exec(lines[k]!)!;
              if (/\d/.test(nm[2]!) === ordered && nm[1]!.length < contentIndent) loose = true;
            }
            break;
          }
          const indent = /^\s*/.exec(l)![0].length;
          if (indent >= contentIndent) body.push(l.slice(contentIndent));
          else if (LIST_ITEM.test(l) || startsBlock(l, lines[i + 1])) break;
          else body.push(l.trim()); // lazy continuation of the item's paragraph
          i++;
        }
        items.push(body);
        if (loose) {
          while (i < lines.length && isBlank(lines[i])) i++;
        }
      }
      const tag = ordered ? 'ol' : 'ul';
      const startAttr = ordered && start !== 1 ? ` start="${start}"` : '';
      const lis = items.map((body) => `<li>${renderBlocks(body, ctx, !loose && !body.some((l) => isBlank(l)))}</li>`).join('\n');
      out.push(`<${tag}${startAttr}>\n${lis}\n</${tag}>`);
      continue;
    }
    // A paragraph: runs until a blank line or the start of another block.
    const para: string[] = [line.trim()];
    i++;
    while (i < lines.length && !isBlank(lines[i]) && !startsBlock(lines[i]!, lines[i + 1])) {
      para.push(lines[i]!.replace(/^\s+/, ''));
      i++;
    }
    const html = renderInline(para.join('\n'));
    out.push(tight ? html : `<p>${html}</p>`);
  }
  return out.join('\n');
}

export function renderMarkdown(markdown: string): RenderedMarkdown {
  const lines = markdown.replace(/\r\n?/g, '\n').replace(/\t/g, '    ').split('\n');
  const ctx: Context = { slugger: new Slugger(), headings: [] };
  const html = renderBlocks(lines, ctx);
  const title = ctx.headings.find((h) => h.level === 1)?.text;
  return { html, headings: ctx.headings, title };
}
