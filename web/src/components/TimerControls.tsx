import { useState } from 'preact/hooks';
import { t } from '../i18n';
import { serverNow } from '../lib/clock';
import type { Connection } from '../lib/connection';
import { parseMinutes, TIMER_PRESETS } from '../lib/timer';
import type { TimerState } from '../lib/types';
import { PhaseTimer } from './PhaseTimer';

interface Props {
  connection: Connection;
  timer: TimerState | null;
  /** Runs a facilitator action, showing its error if it throws. */
  act: (action: () => void) => void;
  /** The current phase's planned minutes (the agenda), offered first. */
  planned?: number | null;
}

/** Start (presets or minutes typed), pause, resume, add time, stop. */
export function TimerControls({ connection, timer, act, planned = null }: Props) {
  const [custom, setCustom] = useState('');
  const [invalid, setInvalid] = useState(false);
  const active = timer && timer.status !== 'idle';
  const start = (ms: number) => act(() => connection.startTimer(ms, serverNow()));

  const startCustom = (e: Event) => {
    e.preventDefault();
    const ms = parseMinutes(custom);
    setInvalid(ms === null);
    if (ms !== null) start(ms);
  };

  return (
    <section class="card console-timer" aria-labelledby="timer-heading">
      <h2 id="timer-heading">{t('console.timer.heading')}</h2>
      {active ? <PhaseTimer state={timer} variant="panel" /> : <p class="muted">{t('console.timer.none')}</p>}
      {active && (
        <div class="button-row timer-actions">
          {timer.status === 'running' && (
            <button type="button" class="button button-secondary" onClick={() => act(() => connection.pauseTimer(serverNow()))}>
              {t('console.timer.pause')}
            </button>
          )}
          {timer.status === 'paused' && (
            <button type="button" class="button button-primary" onClick={() => act(() => connection.resumeTimer(serverNow()))}>
              {t('console.timer.resume')}
            </button>
          )}
          <button
            type="button"
            class="button button-secondary"
            aria-label={t('console.timer.addOneLabel')}
            onClick={() => act(() => connection.addTime(60_000, serverNow()))}
          >
            {t('console.timer.addOne')}
          </button>
          <button
            type="button"
            class="button button-secondary"
            aria-label={t('console.timer.addFiveLabel')}
            onClick={() => act(() => connection.addTime(300_000, serverNow()))}
          >
            {t('console.timer.addFive')}
          </button>
          <button type="button" class="button button-secondary" onClick={() => act(() => connection.clearTimer())}>
            {t('console.timer.stop')}
          </button>
        </div>
      )}
      <div class="timer-start" role="group" aria-labelledby="timer-presets-label">
        <p id="timer-presets-label" class="timer-presets-label">
          {t('console.timer.presets')}
        </p>
        <div class="button-row">
          {planned && (
            <button type="button" class="button button-primary" onClick={() => start(planned * 60_000)}>
              {t('console.timer.planned', { minutes: planned })}
            </button>
          )}
          {TIMER_PRESETS.map((minutes) => (
            <button
              type="button"
              key={minutes}
              class="button button-secondary"
              aria-label={t('console.timer.presetLabel', { minutes })}
              onClick={() => start(minutes * 60_000)}
            >
              {t('console.timer.preset', { minutes })}
            </button>
          ))}
        </div>
        <form class="timer-custom" onSubmit={startCustom} noValidate>
          <label for="timer-minutes">{t('console.timer.custom')}</label>
          <input
            id="timer-minutes"
            type="text"
            inputMode="decimal"
            value={custom}
            onInput={(e) => {
              setCustom(e.currentTarget.value);
              setInvalid(false);
            }}
            aria-invalid={invalid ? 'true' : undefined}
            aria-describedby={invalid ? 'timer-minutes-error' : undefined}
          />
          <button type="submit" class="button button-primary">
            {t('console.timer.start')}
          </button>
        </form>
        {invalid && (
          <p class="field-error" id="timer-minutes-error">
            {t('console.timer.invalid')}
          </p>
        )}
      </div>
    </section>
  );
}
