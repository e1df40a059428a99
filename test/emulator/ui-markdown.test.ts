import { describe, expect, it } from 'vitest';
import { githubSlug, renderMarkdown, safeHref } from '../../src/emulator/ui/markdown.js';
import { renderRunbookPage } from '../../src/emulator/ui/runbook.js';

/** The runbook page's Markdown renderer: what it supports, and that nothing in the source becomes markup. */

const html = (markdown: string) => renderMarkdown(markdown).html;

describe('Markdown renderer for the runbook page', () => {
  it('escapes HTML in headings, paragraphs, code, tables and link labels', () => {
    const out = html(
      [
        '# Title <script>alert(1)</script>',
        '',
        'Text with <img src=x onerror=alert(1)> & "quotes" and `<b>code</b>`.',
        '',
        '| a | b |',
        '|---|---|',
        '| <i>x</i> | [<svg onload=alert(1)>](#x) |',
        '',
        '```html',
        '<script>alert(2)</script>',
        '```',
      ].join('\n'),
    );
    expect(out).not.toMatch(/<(script|img|svg|b|i)[\s>]/);
    expect(out).toContain('Title &lt;script&gt;alert(1)&lt;/script&gt;</h1>');
    expect(out).toContain('<p>Text with &lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot; and <code>&lt;b&gt;code&lt;/b&gt;</code>.</p>');
    expect(out).toContain('<td>&lt;i&gt;x&lt;/i&gt;</td>');
    expect(out).toContain('<pre><code class="language-html">&lt;script&gt;alert(2)&lt;/script&gt;\n</code></pre>');
    expect(renderRunbookPage('# <script>x</script>')).toContain('<title>&lt;script&gt;x&lt;/script&gt;</title>');
  });

  it('keeps only safe link targets', () => {
    expect(html('[a](javascript:alert(1)) [b](https://example.com/x?a=1&b=2) [c](#sec) [d](data:text/html,x)')).toBe(
      '<p><a href="#">a</a> <a href="https://example.com/x?a=1&amp;b=2">b</a> <a href="#sec">c</a> <a href="#">d</a></p>',
    );
    expect(safeHref(' JavaScript:alert(1)')).toBe('#');
    expect(safeHref('mailto:ops@example.com')).toBe('mailto:ops@example.com');
    expect(html('see <https://example.com> or https://example.org/a.')).toBe(
      '<p>see <a href="https://example.com">https://example.com</a> or <a href="https://example.org/a">https://example.org/a</a>.</p>',
    );
  });

  it('gives headings GitHub slugs, numbering duplicates', () => {
    const { html: out, headings, title } = renderMarkdown('# Job queue (jobq)\n## Alert: no live workers\n## Notes\n## Notes\n### Notes\n## `retry-all` & friends');
    expect(title).toBe('Job queue (jobq)');
    expect(headings.map((h) => h.id)).toEqual(['job-queue-jobq', 'alert-no-live-workers', 'notes', 'notes-1', 'notes-2', 'retry-all--friends']);
    expect(out).toContain('<h2 id="notes-1">');
    expect(githubSlug('Stalled jobs and dead workers')).toBe('stalled-jobs-and-dead-workers');
  });

  it('renders inline formatting without touching snake_case or escaped markers', () => {
    expect(html('**bold** and *em* and _em_ and ~~gone~~ and procrastinate_jobs_idx and \\*not\\* and 2 * 3 * 4')).toBe(
      '<p><strong>bold</strong> and <em>em</em> and <em>em</em> and <del>gone</del> and procrastinate_jobs_idx and *not* and 2 * 3 * 4</p>',
    );
    expect(html('**Do NOT retry** when `a*b*c` is [**bold link**](#x)')).toBe(
      '<p><strong>Do NOT retry</strong> when <code>a*b*c</code> is <a href="#x"><strong>bold link</strong></a></p>',
    );
  });

  it('renders lists (nested, ordered with a start, with fenced code inside), quotes, rules and tables', () => {
    const out = html(
      [
        '3. first',
        '   continued',
        '4. second',
        '   - nested',
        '',
        '   ```sql',
        '   SELECT 1;',
        '   ```',
        '',
        '> quoted *text*',
        '',
        '---',
        '',
        '| Command | Does |',
        '|:---|---:|',
        '| `stats [--by queue\\|task]` | a \\| b |',
      ].join('\n'),
    );
    expect(out).toContain('<ol start="3">');
    expect(out).toContain('first\ncontinued');
    expect(out).toContain('<ul>\n<li>nested</li>\n</ul>');
    expect(out).toContain('<pre><code class="language-sql">SELECT 1;\n</code></pre>');
    expect(out).toContain('<blockquote>\n<p>quoted <em>text</em></p>\n</blockquote>');
    expect(out).toContain('<hr>');
    expect(out).toContain('<th class="align-left">Command</th><th class="align-right">Does</th>');
    expect(out).toContain('<td class="align-left"><code>stats [--by queue|task]</code></td><td class="align-right">a | b</td>');
  });
});
