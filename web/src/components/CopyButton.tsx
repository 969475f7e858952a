import { useState } from 'preact/hooks';
import { t } from '../i18n';
import { copyText } from '../lib/clipboard';

interface Props {
  text: string;
  /** What is copied, for screen readers ("Copia" alone is ambiguous in a list). */
  label?: string;
  class?: string;
}

/** "Copia", then "Copiato" (or how to copy by hand) right under it. */
export function CopyButton({ text, label, class: className = 'button button-secondary' }: Props) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  return (
    <span class="copy-button">
      <button type="button" class={className} aria-label={label} onClick={async () => setState((await copyText(text)) ? 'copied' : 'failed')}>
        {t('common.copy')}
      </button>
      <span class="copy-feedback" aria-live="polite">
        {state === 'copied' ? t('common.copied') : state === 'failed' ? t('common.copyFailed') : ''}
      </span>
    </span>
  );
}
