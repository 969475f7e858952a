import { t, tCount } from '../i18n';
import { formatRemaining } from '../lib/timer';
import type { TimerState } from '../lib/types';

interface Props {
  state: TimerState;
  /** `strip` under a phone's top bar, `large` on the projector, `panel` in the console. */
  variant: 'strip' | 'large' | 'panel';
}

function announcement(state: TimerState): string {
  switch (state.status) {
    case 'running':
      return tCount('timer.announce.running', Math.max(1, Math.ceil(state.remainingMs / 60_000)));
    case 'paused':
      return t('timer.announce.paused');
    case 'finished':
      return t('timer.announce.finished');
    case 'idle':
      return t('timer.announce.idle');
  }
}

/**
 * The countdown, with its status in words (colour only repeats it). Screen
 * readers hear the status when it changes and a minute count once a minute,
 * never every second: the digits themselves are in a `timer` role, which is
 * not live.
 */
export function PhaseTimer({ state, variant }: Props) {
  const time = formatRemaining(state.remainingMs);
  return (
    <div class={`phase-timer phase-timer-${variant} timer-${state.status}`}>
      <span class="phase-timer-label">{t('timer.label')}</span>
      <span class="phase-timer-digits" role="timer" aria-label={t('timer.remaining', { time })}>
        {time}
      </span>
      <span class="phase-timer-status">{t(`timer.status.${state.status}`)}</span>
      <span class="visually-hidden" aria-live="polite">
        {announcement(state)}
      </span>
    </div>
  );
}
