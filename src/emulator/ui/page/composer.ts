import type { PageElements } from './dom.js';

/** The message box: Enter sends, Shift+Enter breaks the line, ArrowUp recalls the last line. */
export class Composer {
  private readonly history: string[] = [];

  constructor(
    private readonly els: PageElements,
    private readonly send: (line: string) => void,
  ) {
    const { composer, composerForm } = els;
    composer.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      } else if (event.key === 'ArrowUp' && composer.value === '' && this.history.length > 0) {
        event.preventDefault();
        composer.value = this.history.at(-1) ?? '';
      }
    });
    composer.addEventListener('input', () => this.autosize());
    composerForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  focus(): void {
    this.els.composer.focus();
  }

  private submit(): void {
    const { composer } = this.els;
    const line = composer.value.trim();
    if (!line) return;
    this.history.push(line);
    composer.value = '';
    this.autosize();
    this.send(line);
  }

  private autosize(): void {
    const { composer } = this.els;
    composer.style.height = 'auto';
    composer.style.height = `${Math.min(composer.scrollHeight, 200)}px`;
  }
}
