import { useState } from 'preact/hooks';
import { choiceLabel, t, type Message } from '../i18n';
import { join } from '../lib/api';
import { joinFailure } from '../lib/joinErrors';
import { useJoinInfo } from '../lib/useJoinInfo';
import { ATTENDANCES, SECTORS, TIERS, type Joined } from '../lib/types';
import { validateJoin, type JoinErrors, type JoinFields } from '../lib/validation';
import { ChoiceGroup } from './ChoiceGroup';
import { Notice } from './Notice';
import { PrivacyNotice } from './PrivacyNotice';
import { TextField } from './TextField';

interface Props {
  initialCode: string;
  onJoined: (joinCode: string, joined: Joined) => void;
}

const FIELD_ORDER: (keyof JoinFields)[] = ['code', 'name', 'organization', 'sector', 'tier', 'attendance'];

/** Moves focus to the first field with a problem, so screen readers read it. */
function focusFirstInvalid(errors: JoinErrors): void {
  const first = FIELD_ORDER.find((f) => errors[f]);
  if (!first) return;
  const id = ['sector', 'tier', 'attendance'].includes(first) ? `join-${first}-0` : `join-${first}`;
  requestAnimationFrame(() => document.getElementById(id)?.focus());
}

/**
 * Who I am, in a few taps: code, name, organization, sector, tier, where I
 * am; and, before the button, how those data are used.
 */
export function JoinForm({ initialCode, onJoined }: Props) {
  const [fields, setFields] = useState<JoinFields>({
    code: initialCode,
    name: '',
    organization: '',
    sector: '',
    tier: '',
    attendance: '',
    listOrganization: false,
  });
  const [errors, setErrors] = useState<JoinErrors>({});
  const [failure, setFailure] = useState<Message | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const info = useJoinInfo(fields.code);

  const set = <K extends keyof JoinFields>(key: K, value: JoinFields[K]) => {
    setFields((f) => ({ ...f, [key]: value }));
    // A corrected field stops complaining at once; the others wait for submit.
    if (errors[key]) setErrors((e) => ({ ...e, [key]: undefined }));
  };

  const onSubmit = async (e: Event) => {
    e.preventDefault();
    if (submitting) return;
    setFailure(null);
    const checked = validateJoin(fields);
    if ('errors' in checked) {
      setErrors(checked.errors);
      focusFirstInvalid(checked.errors);
      return;
    }
    setErrors({});
    setSubmitting(true);
    try {
      const joined = await join(checked.request);
      onJoined(checked.request.join_code, joined);
    } catch (err) {
      const failed = joinFailure(err);
      if (failed.on === 'code') {
        const codeError: JoinErrors = { code: failed.message };
        setErrors(codeError);
        focusFirstInvalid(codeError);
      } else {
        setFailure(failed.message);
      }
    } finally {
      setSubmitting(false);
    }
  };

  const options = <T extends string>(kind: 'sector' | 'tier' | 'attendance', values: readonly T[]) =>
    values.map((value) => ({ value, label: choiceLabel(kind, value) }));
  const hasErrors = Object.values(errors).some(Boolean);

  return (
    <form class="join-form" onSubmit={onSubmit} noValidate>
      {hasErrors && <Notice tone="error">{t('join.summary')}</Notice>}
      <TextField
        id="join-code"
        class="code-input"
        label={t('join.code')}
        hint={t('join.codeHint')}
        value={fields.code}
        onInput={(v) => set('code', v)}
        error={errors.code}
        autoComplete="off"
        autoCapitalize="characters"
        required
      />
      {info.status === 'ready' && info.info.title && (
        <p class="join-session-title">{t('join.sessionTitle', { title: info.info.title })}</p>
      )}
      <TextField
        id="join-name"
        label={t('join.name')}
        hint={t('join.nameHint')}
        value={fields.name}
        onInput={(v) => set('name', v)}
        error={errors.name}
        autoComplete="name"
        autoCapitalize="words"
        required
      />
      <TextField
        id="join-organization"
        label={t('join.organization')}
        hint={t('join.organizationHint')}
        value={fields.organization}
        onInput={(v) => set('organization', v)}
        error={errors.organization}
        autoComplete="organization"
      />
      {fields.organization.trim() !== '' && (
        <div class="join-consent">
          <label class="toggle">
            <input
              type="checkbox"
              id="join-list-organization"
              checked={fields.listOrganization}
              onChange={(e) => set('listOrganization', e.currentTarget.checked)}
              aria-describedby="join-list-organization-hint"
            />
            <span>{t('join.listOrganization')}</span>
          </label>
          <p class="field-hint" id="join-list-organization-hint">
            {t('join.listOrganizationHint')}
          </p>
        </div>
      )}
      <ChoiceGroup
        name="join-sector"
        legend={t('join.sector')}
        hint={t('join.sectorHint')}
        options={options('sector', SECTORS)}
        value={fields.sector}
        onChange={(v) => set('sector', v)}
        error={errors.sector}
      />
      <ChoiceGroup
        name="join-tier"
        legend={t('join.tier')}
        hint={t('join.tierHint')}
        options={options('tier', TIERS)}
        value={fields.tier}
        onChange={(v) => set('tier', v)}
        error={errors.tier}
      />
      <ChoiceGroup
        name="join-attendance"
        legend={t('join.attendance')}
        options={options('attendance', ATTENDANCES)}
        value={fields.attendance}
        onChange={(v) => set('attendance', v)}
        error={errors.attendance}
      />
      <PrivacyNotice info={info} />
      {failure && <Notice tone="error">{t(failure.key, failure.params)}</Notice>}
      <button type="submit" class="button button-primary button-wide" disabled={submitting}>
        {submitting ? t('join.submitting') : t('join.submit')}
      </button>
    </form>
  );
}
