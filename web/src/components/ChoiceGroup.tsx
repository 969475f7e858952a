import { message, type Message } from '../i18n';

interface Props<T extends string> {
  name: string;
  legend: string;
  /** A sentence under the question saying what it means. */
  hint?: string;
  options: readonly { value: T; label: string }[];
  value: T | '';
  onChange: (value: T) => void;
  error?: Message | undefined;
}

/** A question with a few answers, as big radio tiles easy to hit with a thumb. */
export function ChoiceGroup<T extends string>({ name, legend, hint, options, value, onChange, error }: Props<T>) {
  const errorId = error ? `${name}-error` : undefined;
  const hintId = hint ? `${name}-hint` : undefined;
  const describedBy = [errorId, hintId].filter(Boolean).join(' ') || undefined;
  return (
    <fieldset
      class={`field choice-group${error ? ' field-invalid' : ''}`}
      aria-describedby={describedBy}
      aria-invalid={error ? 'true' : undefined}
    >
      <legend>{legend}</legend>
      {hint && (
        <p class="field-hint" id={hintId}>
          {hint}
        </p>
      )}
      {error && (
        <p class="field-error" id={errorId}>
          {message(error)}
        </p>
      )}
      <div class="choices">
        {options.map((o, i) => (
          <label class="choice" key={o.value}>
            <input
              id={`${name}-${i}`}
              type="radio"
              name={name}
              value={o.value}
              checked={value === o.value}
              onChange={() => onChange(o.value)}
            />
            <span>{o.label}</span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}
