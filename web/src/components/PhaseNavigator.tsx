import { t } from '../i18n';
import { LockIcon } from './LockIcon';
import type { PhaseView } from '../lib/types';

interface Props {
  phases: readonly PhaseView[];
  currentIndex: number;
  viewingIndex: number;
  onView: (phaseId: string) => void;
}

/**
 * A row of numbered buttons for the phases up to the current one: a
 * participant may look back, never ahead of the facilitator.
 */
export function PhaseNavigator({ phases, currentIndex, viewingIndex, onView }: Props) {
  if (currentIndex <= 0) return null;
  return (
    <nav class="phase-nav" aria-label={t('board.nav.label')}>
      <ol>
        {phases.slice(0, currentIndex + 1).map((phase, i) => (
          <li key={phase.id}>
            <button
              type="button"
              class={`phase-nav-button${i === viewingIndex ? ' phase-nav-viewing' : ''}`}
              aria-pressed={i === viewingIndex}
              aria-label={t('board.nav.goTo', { number: i + 1, title: phase.title })}
              title={phase.title}
              onClick={() => onView(phase.id)}
            >
              <span aria-hidden="true">{i + 1}</span>
              {i === currentIndex && <span class="phase-nav-now">{t('board.nav.now')}</span>}
              {phase.locked && <LockIcon />}
            </button>
          </li>
        ))}
      </ol>
    </nav>
  );
}
