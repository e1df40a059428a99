import { escapeHtml, renderMarkdown } from './markdown.js';

/**
 * The runbook as a page of its own, so the bot's runbook links (`${runbookBase}#slug`) resolve in
 * the sandbox: `/runbook#reading-the-stats` lands on that heading.
 */
export function renderRunbookPage(markdown: string): string {
  const { html, headings, title } = renderMarkdown(markdown);
  const toc = headings
    .filter((h) => h.level === 2)
    .map((h) => `<li><a href="#${escapeHtml(h.id)}">${escapeHtml(h.text)}</a></li>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title ?? 'Runbook')}</title>
<link rel="stylesheet" href="/ui/runbook.css">
</head>
<body>
<nav class="toc" aria-label="Sections">
<a class="back" href="/">&larr; Back to the channel</a>
<ol>
${toc}
</ol>
</nav>
<main class="markdown">
${html}
</main>
</body>
</html>
`;
}
