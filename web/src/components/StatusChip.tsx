export type Tone = 'ok' | 'warning' | 'danger' | 'info' | 'muted';

/**
 * Status is told by an icon and a word as well as a colour, so it reads the same for
 * colour-blind readers and in greyscale; the palette is Okabe-Ito (blue / orange / vermillion).
 */
const ICON: Record<Tone, string> = { ok: '✓', warning: '▲', danger: '✖', info: 'ℹ', muted: '○' };

export function StatusChip(props: { tone: Tone; label: string; title?: string | undefined }) {
  return (
    <span className={`chip chip-${props.tone}`} title={props.title}>
      <span className="chip-icon" aria-hidden="true">
        {ICON[props.tone]}
      </span>
      {props.label}
    </span>
  );
}
