import { useMemo } from 'preact/hooks';
import { encode } from 'uqr';

interface Props {
  value: string;
  /** What the code holds, for people who cannot scan it. */
  label: string;
  class?: string;
}

/**
 * A QR code drawn as one SVG path. The encoding is uqr's; this only turns
 * its grid of modules into squares, crisp at any size.
 */
export function QrCode({ value, label, class: className }: Props) {
  const { size, path } = useMemo(() => {
    const qr = encode(value, { ecc: 'M', border: 2 });
    let d = '';
    qr.data.forEach((row, y) =>
      row.forEach((dark, x) => {
        if (dark) d += `M${x} ${y}h1v1h-1z`;
      }),
    );
    return { size: qr.size, path: d };
  }, [value]);
  return (
    <svg
      class={`qr-code${className ? ` ${className}` : ''}`}
      viewBox={`0 0 ${size} ${size}`}
      role="img"
      aria-label={label}
      shape-rendering="crispEdges"
    >
      <rect width={size} height={size} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}
