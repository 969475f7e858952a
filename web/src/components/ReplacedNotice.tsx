import { t } from '../i18n';
import { Notice } from './Notice';

/** Shown when the same person opened Tavolo elsewhere, which took over this window. */
export function ReplacedNotice({ onResume }: { onResume: () => void }) {
  return (
    <Notice tone="warning">
      <h2>{t('board.replacedHeading')}</h2>
      <p>{t('board.replacedText')}</p>
      <button type="button" class="button button-primary button-wide" onClick={onResume}>
        {t('board.replacedButton')}
      </button>
    </Notice>
  );
}
