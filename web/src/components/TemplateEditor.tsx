import type { RefObject } from 'preact';
import { useMemo, useRef, useState } from 'preact/hooks';
import { t } from '../i18n';
import { lineCount, offsetOf, positionOf } from '../lib/templateProblems';
import './TemplateEditor.css';

interface Props {
  id: string;
  value: string;
  onInput: (value: string) => void;
  textarea: RefObject<HTMLTextAreaElement>;
  /** The line the current problem is on, marked in the gutter. */
  problemLine?: number | undefined;
  /** Ids of what explains the text's state (the check's status). */
  describedBy?: string | undefined;
}

/** Puts the caret at a line and column (1-based) and scrolls the editor to it. */
export function moveCaretTo(textarea: HTMLTextAreaElement, line: number, column = 1): void {
  const offset = offsetOf(textarea.value, line, column);
  textarea.focus();
  textarea.setSelectionRange(offset, offset);
  const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 20;
  // A third of the way down, so the lines before it are in view too.
  textarea.scrollTop = Math.max(0, (line - 1) * lineHeight - textarea.clientHeight / 3);
  if (column <= 1) textarea.scrollLeft = 0;
  textarea.dispatchEvent(new Event('select'));
}

/**
 * A plain-text editor for a template's TOML: monospace, line numbers in a
 * gutter that scrolls with the text, and the caret's line and column under
 * it. Lines do not wrap (the numbers must match the lines the check names);
 * a long line scrolls inside the editor, never the page.
 */
export function TemplateEditor({ id, value, onInput, textarea, problemLine, describedBy }: Props) {
  const gutter = useRef<HTMLDivElement>(null);
  const [caret, setCaret] = useState({ line: 1, column: 1 });
  const lines = lineCount(value);
  const numbers = useMemo(() => Array.from({ length: lines }, (_, i) => i + 1), [lines]);

  const track = () => {
    const ta = textarea.current;
    if (ta) setCaret(positionOf(ta.value, ta.selectionStart));
  };
  const syncGutter = () => {
    if (gutter.current && textarea.current) gutter.current.scrollTop = textarea.current.scrollTop;
  };

  return (
    <div class="field template-editor">
      <label for={id}>{t('template.edit.label')}</label>
      <p class="field-hint" id={`${id}-hint`}>
        {t('template.edit.hint')}
      </p>
      <div
        class={`template-editor-frame${problemLine ? ' template-editor-invalid' : ''}`}
        // As wide as the longest line number, so a phone keeps its width for the text.
        style={{ '--gutter': `calc(${Math.max(2, String(lines).length)}ch + 1rem)` }}
      >
        <div class="template-editor-gutter" ref={gutter} aria-hidden="true" title={t('template.edit.lines')}>
          {numbers.map((n) => (
            <div key={n} class={n === problemLine ? 'template-editor-problem-line' : undefined}>
              {n}
            </div>
          ))}
        </div>
        <textarea
          id={id}
          ref={textarea}
          class="template-editor-text"
          value={value}
          wrap="off"
          spellcheck={false}
          autoComplete="off"
          autoCapitalize="off"
          rows={18}
          aria-invalid={problemLine ? 'true' : undefined}
          aria-describedby={[`${id}-hint`, `${id}-caret`, describedBy].filter(Boolean).join(' ')}
          onInput={(e) => {
            onInput(e.currentTarget.value);
            track();
          }}
          onScroll={syncGutter}
          onKeyUp={track}
          onClick={track}
          onFocus={track}
          onSelect={() => {
            track();
            syncGutter();
          }}
        />
      </div>
      <p class="template-editor-caret" id={`${id}-caret`}>
        {t('template.edit.caret', caret)}
      </p>
    </div>
  );
}
