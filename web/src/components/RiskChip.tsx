import type { RiskBand, RiskScore } from '../api/posture.ts';
import { StatusChip, type Tone } from './StatusChip.tsx';

const TONE: Record<RiskBand, Tone> = { critical: 'danger', high: 'danger', medium: 'warning', low: 'ok' };
const WORD: Record<RiskBand, string> = { critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low' };

export const bandWord = (band: RiskBand): string => WORD[band];

/** Risk as a word and the 0-100 score, never colour alone; the title carries the main reason. */
export function RiskChip(props: { risk: RiskScore }) {
  const { risk } = props;
  const top = [...risk.parts].sort((a, b) => b.points - a.points)[0];
  return (
    <StatusChip
      tone={TONE[risk.band]}
      label={`${WORD[risk.band]} ${risk.score}`}
      title={top ? `${top.why} (+${top.points})` : undefined}
    />
  );
}
