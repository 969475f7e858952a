import { LANGUAGES, setLanguage, t, useLanguage } from '../i18n';

/** Offers the other language(s), each named in its own language. */
export function LanguageSwitch() {
  const current = useLanguage();
  return (
    <div class="language-switch" role="group" aria-label={t('lang.label')}>
      {LANGUAGES.filter((l) => l !== current).map((l) => (
        <button type="button" class="link-button" lang={l} onClick={() => void setLanguage(l)} key={l}>
          {t(`lang.${l}`)}
        </button>
      ))}
    </div>
  );
}
