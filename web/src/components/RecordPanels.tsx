import { useEffect, useRef, useState } from 'preact/hooks';
import { t, type MessageKey } from '../i18n';
import type { Connection } from '../lib/connection';
import { followUp } from '../lib/api';
import { facilitatorLink, joinLink } from '../lib/links';
import { CopyableLink } from './CopyableLink';
import { Notice } from './Notice';
import {
  CARRIED_STATUSES,
  type CarriedStatus,
  type CreatedSession,
  type PreviousMeeting,
  type Roster,
} from '../lib/types';
import { RESTITUTION_STEPS, type Commitment, type CommitmentDraft, type MeetingField, type PhaseView, type RecordView, type RestitutionStep, type SynthesisField } from '../lib/types';
import { STEP_TITLES } from './restitutionSteps';

/** Writes wait this long after the last keystroke (and happen at once on leaving the field). */
const SAVE_AFTER_MS = 400;

type Act = (action: () => void) => void;

interface LiveFieldProps {
  id: string;
  label: string;
  hint?: string;
  /** What the document holds now. */
  value: string;
  multiline?: boolean;
  type?: 'text' | 'date' | 'time';
  maxLength?: number;
  onSave: (value: string) => void;
}

/**
 * A field of the record, saved into the session document while the
 * facilitator types (after a pause, and on leaving it). What another console
 * writes shows here whenever this one is not being edited.
 */
function LiveField({ id, label, hint, value, multiline = false, type = 'text', maxLength, onSave }: LiveFieldProps) {
  const [draft, setDraft] = useState(value);
  const editing = useRef(false);
  const pending = useRef<number | null>(null);
  const latest = useRef({ value, onSave });
  latest.current = { value, onSave };
  useEffect(() => {
    if (!editing.current) setDraft(value);
  }, [value]);
  const flush = (v: string) => {
    if (pending.current !== null) window.clearTimeout(pending.current);
    pending.current = null;
    if (v !== latest.current.value) latest.current.onSave(v);
  };
  useEffect(() => () => void (pending.current !== null && window.clearTimeout(pending.current)), []);
  const common = {
    id,
    value: draft,
    maxLength,
    'aria-describedby': hint ? `${id}-hint` : undefined,
    onFocus: () => void (editing.current = true),
    onBlur: (e: FocusEvent) => {
      editing.current = false;
      flush((e.currentTarget as HTMLInputElement).value);
    },
    onInput: (e: Event) => {
      const v = (e.currentTarget as HTMLInputElement).value;
      setDraft(v);
      if (pending.current !== null) window.clearTimeout(pending.current);
      pending.current = window.setTimeout(() => flush(v), SAVE_AFTER_MS);
    },
  };
  return (
    <div class="field record-field">
      <label for={id}>{label}</label>
      {multiline ? <textarea rows={3} {...common} /> : <input type={type} {...common} />}
      {hint && (
        <p class="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
    </div>
  );
}

const MEETING_FIELDS: { field: MeetingField; type?: 'date' | 'time'; wide?: boolean }[] = [
  { field: 'title', wide: true },
  { field: 'number' },
  { field: 'date', type: 'date' },
  { field: 'start', type: 'time' },
  { field: 'end', type: 'time' },
  { field: 'place', wide: true },
  { field: 'responsible', wide: true },
  { field: 'facilitators', wide: true },
];

/** The meeting's data, for the resoconto's first lines. */
export function MeetingPanel({ record, connection, act }: { record: RecordView | undefined; connection: Connection; act: Act }) {
  const meeting = record?.meeting;
  const filled = meeting ? Object.values(meeting).filter((v) => v.trim() !== '').length : 0;
  // Open while the meeting has no date when the console opens (a template
  // fills the rest in advance, never the date); then the facilitator's to fold.
  const [openAtFirst] = useState(!meeting?.date?.trim());
  return (
    <section class="card record-meeting" aria-labelledby="record-meeting-heading">
      <details open={openAtFirst}>
        <summary>
          <h2 id="record-meeting-heading">{t('record.meeting.heading')}</h2>
          <span class="muted">{t('record.meeting.filled', { filled, total: MEETING_FIELDS.length })}</span>
        </summary>
        <p class="field-hint">{t('record.meeting.intro')}</p>
        <div class="record-meeting-grid">
          {MEETING_FIELDS.map(({ field, type, wide }) => (
            <div key={field} class={wide ? 'record-wide' : undefined}>
              <LiveField
                id={`meeting-${field}`}
                label={t(`record.meeting.${field}` as MessageKey)}
                hint={field === 'facilitators' ? t('record.meeting.facilitatorsHint') : undefined}
                type={type}
                maxLength={200}
                value={meeting?.[field] ?? ''}
                onSave={(v) => act(() => connection.setMeetingField(field, v))}
              />
            </div>
          ))}
        </div>
      </details>
    </section>
  );
}

const SYNTHESIS_FIELDS: SynthesisField[] = ['synthesis', 'convergences', 'disagreements', 'handling'];

/**
 * What the table concluded on the phase on screen, typed while the room
 * talks; the projector shows it as it is written.
 */
export function SynthesisPanel({ phase, record, connection, act }: { phase: PhaseView; record: RecordView | undefined; connection: Connection; act: Act }) {
  const s = record?.syntheses[phase.id];
  return (
    <section class="card record-synthesis" aria-labelledby="record-synthesis-heading">
      <h2 id="record-synthesis-heading">{t('record.synthesis.heading', { title: phase.title })}</h2>
      <p class="field-hint">{t('record.synthesis.intro')}</p>
      {SYNTHESIS_FIELDS.map((field) => (
        <LiveField
          key={`${phase.id}-${field}`}
          id={`synthesis-${phase.id}-${field}`}
          label={t(`record.synthesis.${field}` as MessageKey)}
          multiline
          maxLength={4000}
          value={s?.[field] ?? ''}
          onSave={(v) => act(() => connection.setSynthesisField(phase.id, field, v))}
        />
      ))}
    </section>
  );
}

const EMPTY_DRAFT: CommitmentDraft = { organization: '', what: '', by_when: '', condition: '', contact_role: '', from_note: null };
const DRAFT_FIELDS: { field: Exclude<keyof CommitmentDraft, 'from_note'>; multiline?: boolean }[] = [
  { field: 'organization' },
  { field: 'what', multiline: true },
  { field: 'by_when' },
  { field: 'condition' },
  { field: 'contact_role' },
];

interface CommitmentsProps {
  record: RecordView | undefined;
  connection: Connection;
  act: Act;
  /** A draft handed over from a contribution note (a new object each time). */
  incoming: CommitmentDraft | null;
  now: () => number;
}

/** The commitments: who puts what on the table, by when, on what condition. */
export function CommitmentsPanel({ record, connection, act, incoming, now }: CommitmentsProps) {
  const [draft, setDraft] = useState<CommitmentDraft>(EMPTY_DRAFT);
  const [editing, setEditing] = useState<string | null>(null);
  const [missing, setMissing] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  const commitments = record?.commitments ?? [];

  const startFrom = (d: CommitmentDraft, id: string | null) => {
    setDraft(d);
    setEditing(id);
    setMissing(false);
    requestAnimationFrame(() => {
      form.current?.scrollIntoView({ block: 'center' });
      form.current?.querySelector<HTMLTextAreaElement>('#commitment-what')?.focus();
    });
  };
  useEffect(() => {
    if (incoming) startFrom(incoming, null);
  }, [incoming]);

  const submit = (e: Event) => {
    e.preventDefault();
    if (draft.what.trim() === '') {
      setMissing(true);
      form.current?.querySelector<HTMLTextAreaElement>('#commitment-what')?.focus();
      return;
    }
    act(() => {
      connection.putCommitment(editing, draft, now());
      setDraft(EMPTY_DRAFT);
      setEditing(null);
      setMissing(false);
    });
  };

  return (
    <section class="card record-commitments" aria-labelledby="record-commitments-heading">
      <h2 id="record-commitments-heading">{t('record.commitments.heading')}</h2>
      {commitments.length === 0 ? (
        <p class="muted">{t('record.commitments.none')}</p>
      ) : (
        <ul class="commitment-list">
          {commitments.map((c) => (
            <CommitmentItem
              key={c.id}
              c={c}
              onEdit={() => startFrom({ ...c }, c.id)}
              onRemove={() => act(() => connection.removeCommitment(c.id))}
            />
          ))}
        </ul>
      )}
      <form ref={form} class="commitment-form" onSubmit={submit} aria-labelledby="commitment-form-heading">
        <h3 id="commitment-form-heading">{editing ? t('record.commitments.editHeading') : t('record.commitments.newHeading')}</h3>
        {draft.from_note && <p class="field-hint">{t('record.commitments.fromNote')}</p>}
        {DRAFT_FIELDS.map(({ field, multiline }) => {
          const id = `commitment-${field.replace('_', '-')}`;
          const props = {
            id,
            value: draft[field],
            maxLength: multiline ? 4000 : 200,
            'aria-invalid': field === 'what' && missing ? ('true' as const) : undefined,
            'aria-describedby': field === 'what' && missing ? 'commitment-what-error' : `${id}-hint`,
            onInput: (e: Event) => setDraft({ ...draft, [field]: (e.currentTarget as HTMLInputElement).value }),
          };
          return (
            <div class="field" key={field}>
              <label for={id}>{t(`record.commitments.${field}` as MessageKey)}</label>
              {multiline ? <textarea rows={2} {...props} /> : <input type="text" {...props} />}
              {field === 'what' && missing && (
                <p class="field-error" id="commitment-what-error">
                  {t('record.commitments.whatMissing')}
                </p>
              )}
              {field === 'contact_role' && (
                <p class="field-hint" id={`${id}-hint`}>
                  {t('record.commitments.contactRoleHint')}
                </p>
              )}
            </div>
          );
        })}
        <div class="button-row">
          <button type="submit" class="button button-primary">
            {editing ? t('record.commitments.save') : t('record.commitments.add')}
          </button>
          {(editing || draft !== EMPTY_DRAFT) && (
            <button
              type="button"
              class="button button-secondary"
              onClick={() => {
                setDraft(EMPTY_DRAFT);
                setEditing(null);
                setMissing(false);
              }}
            >
              {t('common.cancel')}
            </button>
          )}
        </div>
      </form>
    </section>
  );
}

function CommitmentItem({ c, onEdit, onRemove }: { c: Commitment; onEdit: () => void; onRemove: () => void }) {
  const [confirm, setConfirm] = useState(false);
  return (
    <li class="commitment">
      <p class="commitment-what">
        {c.organization && <strong>{c.organization}: </strong>}
        {c.what}
      </p>
      <p class="commitment-meta">
        {[
          c.by_when && t('record.commitments.byWhenShown', { when: c.by_when }),
          c.condition && t('record.commitments.conditionShown', { condition: c.condition }),
          c.contact_role && t('record.commitments.contactShown', { role: c.contact_role }),
        ]
          .filter(Boolean)
          .join(' · ')}
      </p>
      <div class="button-row">
        <button type="button" class="button button-small" aria-label={t('record.commitments.editLabel', { what: c.what })} onClick={onEdit}>
          {t('record.commitments.edit')}
        </button>
        {confirm ? (
          <>
            <button type="button" class="button button-small button-danger" onClick={onRemove}>
              {t('record.commitments.removeYes')}
            </button>
            <button type="button" class="button button-small button-secondary" onClick={() => setConfirm(false)}>
              {t('common.cancel')}
            </button>
          </>
        ) : (
          <button type="button" class="button button-small" aria-label={t('record.commitments.removeLabel', { what: c.what })} onClick={() => setConfirm(true)}>
            {t('record.commitments.remove')}
          </button>
        )}
      </div>
    </li>
  );
}

/** What comes next: the next steps and the questions left for the next meeting. */
export function ClosingPanel({ record, connection, act }: { record: RecordView | undefined; connection: Connection; act: Act }) {
  return (
    <section class="card record-closing" aria-labelledby="record-closing-heading">
      <h2 id="record-closing-heading">{t('record.closing.heading')}</h2>
      <LiveField
        id="closing-next-steps"
        label={t('record.closing.next_steps')}
        multiline
        maxLength={4000}
        value={record?.next_steps ?? ''}
        onSave={(v) => act(() => connection.setClosing('next_steps', v))}
      />
      <LiveField
        id="closing-open-questions"
        label={t('record.closing.open_questions')}
        multiline
        maxLength={4000}
        value={record?.open_questions ?? ''}
        onSave={(v) => act(() => connection.setClosing('open_questions', v))}
      />
    </section>
  );
}

/** Steps the projector through the results, or back to the board. */
export function RestitutionPanel({ step, connection, act }: { step: RestitutionStep | null; connection: Connection; act: Act }) {
  return (
    <section class="card record-restitution" aria-labelledby="restitution-heading">
      <h2 id="restitution-heading">{t('restitution.heading')}</h2>
      <p class="field-hint">{t('restitution.intro')}</p>
      <p class="restitution-now" aria-live="polite">
        {step ? t('restitution.showing', { title: t(STEP_TITLES[step]) }) : t('restitution.onBoard')}
      </p>
      <div class="button-row restitution-steps">
        {RESTITUTION_STEPS.map((s) => (
          <button
            key={s}
            type="button"
            class={`button button-small${s === step ? ' button-primary' : ''}`}
            aria-pressed={s === step ? 'true' : 'false'}
            onClick={() => act(() => connection.setRestitution(s))}
          >
            {t(STEP_TITLES[s])}
          </button>
        ))}
        {step && (
          <button type="button" class="button button-small button-secondary" onClick={() => act(() => connection.setRestitution(null))}>
            {t('restitution.board')}
          </button>
        )}
      </div>
    </section>
  );
}

/**
 * The next meeting, started from this one: the same questions, this
 * meeting's commitments to follow up, the questions it left and the
 * organizations that took part (invited). Its links are shown once, like a
 * new session's.
 */
export function NextMeetingPanel({ sessionId, secret }: { sessionId: string; secret: string }) {
  const [created, setCreated] = useState<CreatedSession | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      setCreated(await followUp(sessionId, secret));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  const origin = location.origin;
  return (
    <section class="card record-next" aria-labelledby="record-next-heading">
      <h2 id="record-next-heading">{t('record.next.heading')}</h2>
      {created ? (
        <>
          <p>{t('record.next.created')}</p>
          <p class="join-code-label">{t('start.created.code')}</p>
          <p class="join-code">{created.join_code}</p>
          <CopyableLink id="next-join-link" label={t('start.created.joinLink')} value={joinLink(origin, created.join_code)} />
          <Notice tone="warning">{t('start.created.facilitatorWarning')}</Notice>
          <CopyableLink
            id="next-facilitator-link"
            label={t('start.created.facilitatorLink')}
            value={facilitatorLink(origin, created.session_id, created.facilitator_key)}
          />
        </>
      ) : (
        <>
          <p class="field-hint">{t('record.next.intro')}</p>
          <button type="button" class="button button-secondary" disabled={busy} onClick={() => void start()}>
            {t('record.next.start')}
          </button>
          {error && (
            <p class="field-error" role="alert">
              {t('record.next.error', { message: error })}
            </p>
          )}
        </>
      )}
    </section>
  );
}

/** What this meeting carries from the previous one, and how its commitments are going. */
export function PreviousPanel({
  previous,
  roster,
  connection,
  act,
}: {
  previous: PreviousMeeting;
  roster: Roster | undefined;
  connection: Connection;
  act: Act;
}) {
  const here = new Set(
    Object.values(roster ?? {})
      .filter((p) => p.organization)
      .map((p) => p.organization.trim().toLowerCase()),
  );
  const joined = previous.invited.filter((i) => here.has(i.organization.toLowerCase())).length;
  return (
    <section class="card record-previous" aria-labelledby="record-previous-heading">
      <h2 id="record-previous-heading">{t('record.previous.heading', { title: previous.title })}</h2>
      {previous.commitments.length > 0 && (
        <>
          <h3>{t('record.previous.commitments')}</h3>
          <ul class="commitment-list">
            {previous.commitments.map((c) => (
              <li class="commitment" key={c.id}>
                <p class="commitment-what">
                  {c.organization && <strong>{c.organization}: </strong>}
                  {c.what}
                  {c.by_when && <span class="commitment-meta"> · {t('record.commitments.byWhenShown', { when: c.by_when })}</span>}
                </p>
                <div class="carried-progress">
                  <label for={`carried-${c.id}`}>{t('record.previous.status')}</label>
                  <select
                    id={`carried-${c.id}`}
                    aria-label={t('record.previous.statusLabel', { what: c.what })}
                    value={c.status}
                    onChange={(e) => act(() => connection.setCarriedProgress(c.id, e.currentTarget.value as CarriedStatus, c.progress))}
                  >
                    {CARRIED_STATUSES.map((s) => (
                      <option key={s} value={s}>
                        {t(`record.previous.status.${s}`)}
                      </option>
                    ))}
                  </select>
                  <LiveField
                    id={`carried-${c.id}-progress`}
                    label={t('record.previous.progress')}
                    maxLength={4000}
                    value={c.progress}
                    onSave={(v) => act(() => connection.setCarriedProgress(c.id, c.status, v))}
                  />
                </div>
              </li>
            ))}
          </ul>
        </>
      )}
      {previous.open_questions && (
        <>
          <h3>{t('record.previous.questions')}</h3>
          <p class="preserve-lines">{previous.open_questions}</p>
        </>
      )}
      {previous.invited.length > 0 && (
        <>
          <h3>{t('record.previous.invited', { joined, total: previous.invited.length })}</h3>
          <ul class="invited-list">
            {previous.invited.map((i) => (
              <li key={i.organization}>
                {i.organization}
                {here.has(i.organization.toLowerCase()) ? ` · ${t('record.previous.here')}` : ''}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
