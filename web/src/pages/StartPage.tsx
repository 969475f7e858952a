import { useEffect, useRef, useState } from 'preact/hooks';
import { CopyableLink } from '../components/CopyableLink';
import { Link } from '../components/Link';
import { Notice } from '../components/Notice';
import { TextField } from '../components/TextField';
import { TopBar } from '../components/TopBar';
import { t, type Message } from '../i18n';
import { createSession, listTemplates, NetworkError } from '../lib/api';
import { facilitatorLink, joinLink } from '../lib/links';
import type { CreatedSession, TemplateInfo } from '../lib/types';
import { useTitle } from '../lib/useTitle';
import { charCount, MAX_TITLE_CHARS } from '../lib/validation';

/** The built-in template: the seed's first session of the Tavolo di Negoziazione. */
const DEFAULT_TEMPLATE = 'tavolo-prima-sessione';

type Templates = { state: 'loading' } | { state: 'loaded'; list: TemplateInfo[] } | { state: 'failed' };

function failureMessage(err: unknown): Message {
  if (err instanceof NetworkError) return { key: 'common.networkError' };
  return { key: 'common.serverError', params: { message: err instanceof Error ? err.message : String(err) } };
}

/** Start: join with a code, or (for facilitators) create a session from a template. */
export function StartPage() {
  useTitle(null);
  const [created, setCreated] = useState<CreatedSession | null>(null);
  return (
    <>
      <TopBar />
      <main id="main" tabIndex={-1} class="page">
        <h1 class="visually-hidden">{t('app.name')}</h1>
        <p class="lead">{t('start.tagline')}</p>
        <section class="card" aria-labelledby="join-heading">
          <h2 id="join-heading">{t('start.join.heading')}</h2>
          <p>{t('start.join.text')}</p>
          <Link href="/j" class="button button-primary button-wide">
            {t('start.join.button')}
          </Link>
        </section>
        {created ? (
          <SessionCreated session={created} onAnother={() => setCreated(null)} />
        ) : (
          <CreateSessionForm onCreated={setCreated} />
        )}
      </main>
    </>
  );
}

function CreateSessionForm({ onCreated }: { onCreated: (s: CreatedSession) => void }) {
  const [templates, setTemplates] = useState<Templates>({ state: 'loading' });
  const [template, setTemplate] = useState(DEFAULT_TEMPLATE);
  const [title, setTitle] = useState('');
  const [titleError, setTitleError] = useState<Message | undefined>(undefined);
  const [failure, setFailure] = useState<Message | null>(null);
  const [submitting, setSubmitting] = useState(false);

  useEffect(() => {
    let cancelled = false;
    listTemplates().then(
      (list) => {
        if (cancelled) return;
        setTemplates({ state: 'loaded', list });
        if (list.length > 0 && !list.some((x) => x.id === DEFAULT_TEMPLATE)) setTemplate(list[0]!.id);
      },
      () => !cancelled && setTemplates({ state: 'failed' }),
    );
    return () => void (cancelled = true);
  }, []);

  const onSubmit = async (e: Event) => {
    e.preventDefault();
    if (submitting) return;
    setFailure(null);
    const trimmed = title.trim();
    if (charCount(trimmed) > MAX_TITLE_CHARS) {
      setTitleError({ key: 'start.create.titleTooLong', params: { max: MAX_TITLE_CHARS } });
      document.getElementById('create-title')?.focus();
      return;
    }
    setSubmitting(true);
    try {
      onCreated(await createSession(template, trimmed || undefined));
    } catch (err) {
      setFailure(failureMessage(err));
    } finally {
      setSubmitting(false);
    }
  };

  const list = templates.state === 'loaded' && templates.list.length > 0 ? templates.list : null;
  const description = list?.find((x) => x.id === template)?.description;

  return (
    <section class="card" aria-labelledby="create-heading">
      <h2 id="create-heading">{t('start.create.heading')}</h2>
      <p>{t('start.create.text')}</p>
      <form onSubmit={onSubmit} noValidate>
        <div class="field">
          <label for="create-template">{t('start.create.template')}</label>
          <select
            id="create-template"
            value={template}
            onChange={(e) => setTemplate(e.currentTarget.value)}
            aria-describedby={description ? 'create-template-description' : undefined}
          >
            {list ? (
              list.map((x) => (
                <option value={x.id} key={x.id}>
                  {x.title}
                </option>
              ))
            ) : (
              <option value={DEFAULT_TEMPLATE}>{DEFAULT_TEMPLATE}</option>
            )}
          </select>
          {templates.state === 'loading' && <p class="field-hint">{t('start.create.templatesLoading')}</p>}
          {description && (
            <p class="field-hint template-description" id="create-template-description">
              {description}
            </p>
          )}
        </div>
        {templates.state === 'failed' && <Notice tone="warning">{t('start.create.templatesError')}</Notice>}
        <TextField
          id="create-title"
          label={t('start.create.title')}
          hint={t('start.create.titleHint')}
          value={title}
          onInput={(v) => {
            setTitle(v);
            setTitleError(undefined);
          }}
          error={titleError}
          autoComplete="off"
        />
        {failure && <Notice tone="error">{t(failure.key, failure.params)}</Notice>}
        <button type="submit" class="button button-primary button-wide" disabled={submitting}>
          {submitting ? t('start.create.submitting') : t('start.create.submit')}
        </button>
      </form>
    </section>
  );
}

function SessionCreated({ session, onAnother }: { session: CreatedSession; onAnother: () => void }) {
  const origin = location.origin;
  const heading = useRef<HTMLHeadingElement>(null);
  // The form this replaces had focus; move it to the news.
  useEffect(() => heading.current?.focus(), []);
  const facilitatorPath = `/f/${encodeURIComponent(session.session_id)}#${encodeURIComponent(session.facilitator_key)}`;
  return (
    <section class="card session-created" aria-labelledby="created-heading">
      <h2 id="created-heading" tabIndex={-1} ref={heading}>
        {t('start.created.heading')}
      </h2>
      <p class="session-title">{session.title}</p>
      <p class="join-code-label">{t('start.created.code')}</p>
      <p class="join-code">{session.join_code}</p>
      <CopyableLink id="created-join-link" label={t('start.created.joinLink')} value={joinLink(origin, session.join_code)} />
      <Notice tone="warning">{t('start.created.facilitatorWarning')}</Notice>
      <CopyableLink
        id="created-facilitator-link"
        label={t('start.created.facilitatorLink')}
        value={facilitatorLink(origin, session.session_id, session.facilitator_key)}
      />
      <div class="button-column">
        <Link href={facilitatorPath} class="button button-primary button-wide">
          {t('start.created.openFacilitator')}
        </Link>
        <button type="button" class="button button-secondary button-wide" onClick={onAnother}>
          {t('start.created.another')}
        </button>
      </div>
    </section>
  );
}
