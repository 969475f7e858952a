import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n';
import { copyText } from '../lib/clipboard';

interface Props {
  text: string;
  /** What is copied, for screen readers ("Copia" alone is ambiguous in a list); said after the caption. */
  label?: string;
  /** The button's words; "Copia" unless told. */
  caption?: string;
  /**
   * The text is a secret the page never shows (the facilitator's link):
   * when copying fails, there is nothing to select by hand, so say so.
   */
  secret?: boolean;
  class?: string;
}

/** "Copia", then "Copiato" (or how to copy by hand) right under it. */
export function CopyButton({ text, label, caption, secret = false, class: className = 'button button-secondary' }: Props) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  // A new text (a new key, say) has not been copied yet.
  useEffect(() => setState('idle'), [text]);
  const failed = secret ? t('common.copySecretFailed') : t('common.copyFailed');
  const visible = caption ?? t('common.copy');
  // The name starts with the words on the button (WCAG 2.5.3: a voice
  // command says what it sees), then says what is copied.
  const name = label ? `${visible} — ${label}` : undefined;
  return (
    <span class="copy-button">
      <button type="button" class={className} aria-label={name} onClick={async () => setState((await copyText(text)) ? 'copied' : 'failed')}>
        {visible}
      </button>
      <span class="copy-feedback" aria-live="polite">
        {state === 'copied' ? t('common.copied') : state === 'failed' ? failed : ''}
      </span>
    </span>
  );
}
