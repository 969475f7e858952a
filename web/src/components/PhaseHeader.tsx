import { t } from '../i18n';
import { LockIcon } from './LockIcon';
import type { PhaseView } from '../lib/types';
import { Notice } from './Notice';

interface Props {
  phase: PhaseView;
  number: number;
  total: number;
}

/** Where the session is: which phase, what it is for, whether it is closed. */
export function PhaseHeader({ phase, number, total }: Props) {
  return (
    <header class="phase-header">
      <p class="phase-step">{t('board.phaseOf', { number, total })}</p>
      <h1>{phase.title}</h1>
      {phase.goal && <p class="phase-goal">{phase.goal}</p>}
      {phase.locked && (
        <Notice tone="warning">
          <h2 class="notice-heading">
            <LockIcon />{' '}
            {t('board.phaseLockedHeading')}
          </h2>
          <p>{t('board.phaseLockedWhy')}</p>
        </Notice>
      )}
    </header>
  );
}
