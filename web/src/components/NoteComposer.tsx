import { useState } from 'preact/hooks';
import { message, t, type Message, type MessageKey } from '../i18n';
import { charCount } from '../lib/validation';
import { MAX_NOTE_CHARS, noteErrorMessage } from '../lib/noteErrors';
import { PLEDGE_WHEN, type PledgeTerms, type PledgeWhen, type QuestionMeta } from '../lib/types';

interface Props {
  question: QuestionMeta;
  /** Adds the note; throws the client's Error when it refuses. */
  onAdd: (text: string, category: string | null, anonymous: boolean, terms?: PledgeTerms) => void;
}


const PLACEHOLDERS: Record<string, MessageKey> = {
  idea: 'composer.placeholder.idea',
  resource: 'composer.placeholder.resource',
  pledge: 'composer.placeholder.pledge',
  need: 'composer.placeholder.need',
  expectation: 'composer.placeholder.expectation',
};

/** What the category question asks, for each kind of question. */
const CATEGORY_LEGENDS: Record<string, MessageKey> = {
  idea: 'composer.category.idea',
  resource: 'composer.category.resource',
  pledge: 'composer.category.pledge',
  need: 'composer.category.need',
  expectation: 'composer.category.expectation',
};

/** The chip for "none of these"; stored as no category. */
const OTHER = '';

/** Show the length only when it starts to matter. */
const COUNTER_FROM = MAX_NOTE_CHARS - 100;

/** Writing a note under a question: text, category chips, "anonimo", one big button. */
export function NoteComposer({ question, onAdd }: Props) {
  const [text, setText] = useState('');
  // null: not chosen yet; OTHER: "Altro", chosen on purpose.
  const [category, setCategory] = useState<string | null>(null);
  const [categoryMissing, setCategoryMissing] = useState(false);
  // A contribution may say when it can start and on what condition.
  const [when, setWhen] = useState<PledgeWhen | null>(null);
  const [condition, setCondition] = useState('');
  const pledge = question.noteKind === 'pledge';
  const [anonymous, setAnonymous] = useState(false);
  const [error, setError] = useState<Message | null>(null);
  const [added, setAdded] = useState(0);
  const [focused, setFocused] = useState(false);
  const base = `compose-${question.id}`;
  // At rest a composer is one line and its button: a phase with five
  // questions is not five screens of empty forms. Writing in it (or having
  // chosen something) opens the rest.
  const active = focused || text !== '' || category !== null || anonymous;
  const count = charCount(text);

  const asksCategory = question.categories.length > 0;
  const submit = (e: Event) => {
    e.preventDefault();
    // A category is chosen on purpose ("Altro" is a choice): a note left
    // uncategorised by haste thins out the map and the matrix. Only asked
    // once there is something to add.
    if (asksCategory && category === null && text.trim() !== '') {
      setCategoryMissing(true);
      const form = e.currentTarget as HTMLFormElement;
      form.querySelector<HTMLInputElement>(`input[name="${base}-category"]`)?.focus();
      return;
    }
    try {
      onAdd(text, category === OTHER ? null : category, anonymous, pledge ? { when, condition } : undefined);
      setText('');
      setWhen(null);
      setCondition('');
      setCategory(null);
      setCategoryMissing(false);
      setError(null);
      setAdded((n) => n + 1);
    } catch (err) {
      setError(noteErrorMessage(err));
    }
  };

  const describedBy = [error ? `${base}-error` : '', count >= COUNTER_FROM ? `${base}-count` : '']
    .filter(Boolean)
    .join(' ');

  return (
    <form
      class={`note-composer${active ? '' : ' note-composer-rest'}`}
      onSubmit={submit}
      onFocusIn={() => setFocused(true)}
      onFocusOut={(e) => {
        const next = e.relatedTarget as Node | null;
        if (!next || !e.currentTarget.contains(next)) setFocused(false);
      }}
    >
      <label for={`${base}-text`} class="composer-label">
        {t('composer.label')}
      </label>
      <textarea
        id={`${base}-text`}
        rows={active ? 3 : 1}
        value={text}
        placeholder={t(PLACEHOLDERS[question.noteKind] ?? 'composer.placeholder.idea')}
        onInput={(e) => {
          setText(e.currentTarget.value);
          if (error) setError(null);
        }}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy || undefined}
      />
      {count >= COUNTER_FROM && (
        <p class={`field-hint${count > MAX_NOTE_CHARS ? ' field-error' : ''}`} id={`${base}-count`}>
          {t('composer.count', { count, max: MAX_NOTE_CHARS })}
        </p>
      )}
      {error && (
        <p class="field-error" id={`${base}-error`}>
          {message(error)}
        </p>
      )}
      {(active || categoryMissing) && asksCategory && (
        <fieldset
          class={`category-chips${categoryMissing ? ' category-missing' : ''}`}
          aria-describedby={categoryMissing ? `${base}-category-error` : undefined}
        >
          <legend>{t(CATEGORY_LEGENDS[question.noteKind] ?? 'composer.category.idea')}</legend>
          {[...question.categories, { id: OTHER, label: t('composer.noCategory') }].map((c) => (
            <label class="chip" key={c.id}>
              <input
                type="radio"
                name={`${base}-category`}
                value={c.id}
                checked={category === c.id}
                onChange={() => {
                  setCategory(c.id);
                  setCategoryMissing(false);
                }}
              />
              <span>{c.label}</span>
            </label>
          ))}
          {categoryMissing && (
            <p class="field-error" id={`${base}-category-error`}>
              {t('composer.categoryMissing')}
            </p>
          )}
        </fieldset>
      )}
      {active && pledge && (
        <>
          <fieldset class="category-chips">
            <legend>{t('composer.when')}</legend>
            {PLEDGE_WHEN.map((w) => (
              <label class="chip" key={w}>
                <input type="radio" name={`${base}-when`} value={w} checked={when === w} onChange={() => setWhen(w)} />
                <span>{t(`pledge.when.${w}`)}</span>
              </label>
            ))}
          </fieldset>
          <label for={`${base}-condition`} class="composer-label composer-condition-label">
            {t('composer.condition')}
          </label>
          <input
            id={`${base}-condition`}
            type="text"
            class="composer-condition"
            maxLength={300}
            value={condition}
            onInput={(e) => setCondition(e.currentTarget.value)}
          />
        </>
      )}
      <div class="composer-actions">
        <label class="toggle">
          <input
            type="checkbox"
            checked={anonymous}
            onChange={(e) => setAnonymous(e.currentTarget.checked)}
            aria-describedby={`${base}-anonymous-hint`}
          />
          <span>{t('composer.anonymous')}</span>
        </label>
        <button type="submit" class="button button-primary composer-submit">
          {t('composer.submit')}
        </button>
      </div>
      <p class="field-hint" id={`${base}-anonymous-hint`} hidden={!active}>
        {t('composer.anonymousHint')}
      </p>
      <p class="visually-hidden" aria-live="polite">
        {/* A new node each time, so the same words are announced again. */}
        {added > 0 && <span key={added}>{t('composer.added')}</span>}
      </p>
    </form>
  );
}
