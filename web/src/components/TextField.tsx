import { message, type Message } from '../i18n';

interface Props {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  hint?: string;
  error?: Message | undefined;
  autoComplete?: string;
  inputMode?: 'text' | 'email' | 'numeric' | 'search';
  autoCapitalize?: 'off' | 'characters' | 'words' | 'sentences';
  class?: string;
  required?: boolean;
}

/** A labelled one-line input with its hint and its error under it. */
export function TextField(props: Props) {
  const { id, label, value, onInput, hint, error } = props;
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [errorId, hintId].filter(Boolean).join(' ') || undefined;
  return (
    <div class={`field${error ? ' field-invalid' : ''}`}>
      <label for={id}>{label}</label>
      {error && (
        <p class="field-error" id={errorId}>
          {message(error)}
        </p>
      )}
      <input
        id={id}
        class={props.class}
        type="text"
        value={value}
        onInput={(e) => onInput(e.currentTarget.value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy}
        aria-required={props.required ? 'true' : undefined}
        autoComplete={props.autoComplete}
        inputMode={props.inputMode}
        autoCapitalize={props.autoCapitalize}
        spellcheck={false}
      />
      {hint && (
        <p class="field-hint" id={hintId}>
          {hint}
        </p>
      )}
    </div>
  );
}
