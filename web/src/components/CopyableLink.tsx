import { CopyButton } from './CopyButton';

interface Props {
  id: string;
  label: string;
  value: string;
}

/** A link shown in full (so it can be read aloud or selected) with a copy button. */
export function CopyableLink({ id, label, value }: Props) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <div class="copy-row">
        <input id={id} class="copy-value" type="text" readOnly value={value} onFocus={(e) => e.currentTarget.select()} />
        <CopyButton text={value} label={`${label}: ${value}`} />
      </div>
    </div>
  );
}
