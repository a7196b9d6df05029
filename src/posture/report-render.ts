/**
 * The posture report as Markdown, HTML, JSON and CSV. Every finding shows its score parts, so
 * a reader can see why a device ranks where it does. No patient data: only whether a device is
 * assigned to a patient.
 */
import { createHash } from 'node:crypto';
import type { DevicePosture, Finding, PostureReport } from './assessment.ts';
import type { RiskScore } from './risk.ts';

export const REPORT_FORMATS = ['md', 'html', 'json', 'csv'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export const CONTENT_TYPES: Record<ReportFormat, string> = {
  md: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

/** "severity +44: CVSS 3.1 base 8.8 ...; exposure +8: ...; life-sustaining device (x1.3)" */
export const explain = (r: RiskScore) =>
  `${r.parts.map((p) => `${p.factor} +${Number(p.points.toFixed(1))}: ${p.why}`).join('; ')}; ${r.multiplier.why}`;

const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/**
 * A device's connection and support in words. The support state "legacy" (IMDRF's word for a
 * device past end of support) reads like the legacy-secret connection mode, so the human
 * formats say what it means; JSON and CSV keep the state's name, which integrations read.
 */
const connectionWords = (d: DevicePosture) => (d.connection === 'mtls' ? 'mTLS' : 'legacy secret');

function supportWords({ state, daysLeft }: DevicePosture['support']): string {
  switch (state) {
    case 'legacy':
      return daysLeft !== null && daysLeft < 0
        ? `past end of support (ended ${-daysLeft} days ago)`
        : 'past end of support';
    case 'unknown':
      return 'end of support unknown';
    case 'supported':
      return 'supported';
    default:
      return `support ends in ${daysLeft} days`;
  }
}

/** The summary sentence under the title of the Markdown and HTML reports. */
function summaryWords(r: PostureReport): string {
  const s = r.summary;
  return `Generated ${r.generatedAt}. ${s.devices} devices, ${s.findings} open findings (critical ${s.byBand.critical}, high ${s.byBand.high}, medium ${s.byBand.medium}, low ${s.byBand.low}), ${s.suppressed} suppressed by VEX, ${s.endOfSupportWarnings} end-of-support warnings, ${s.legacyDevices} past end of support.`;
}

function mdDevice(d: DevicePosture): string[] {
  const lines = [
    `## ${d.id} — ${d.risk.band} (${d.risk.score})`,
    '',
    `${d.manufacturer ?? '?'} ${d.model}, firmware ${d.firmware ?? 'unknown'}; ${d.criticality ?? 'criticality unknown'}; zone ${d.zone}; ${connectionWords(d)}${d.internetReachable ? '; internet-reachable' : ''}; ${supportWords(d.support)}${d.patientAssigned ? '; assigned to a patient' : ''}.`,
    '',
    `Why: ${explain(d.risk)}`,
    '',
  ];
  for (const w of d.warnings) lines.push(`> ⚠ ${w}`);
  if (d.warnings.length) lines.push('');
  if (d.recommendation.steps.length) {
    lines.push(
      `**What to do (${d.recommendation.action})**`,
      '',
      ...d.recommendation.steps.map((s) => `- ${s}`),
      '',
    );
  }
  if (d.findings.length) {
    lines.push(
      '| vulnerability | component | installed | fixed in | score | status | why |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const f of d.findings) {
      lines.push(
        `| ${mdCell(f.vulnerability)} | ${mdCell(f.component)} | ${mdCell(f.installedVersion)} | ${mdCell(f.fixFirmware ? `firmware ${f.fixFirmware}` : (f.fixedVersion ?? '—'))} | ${f.risk?.score} ${f.risk?.band} | ${f.status} | ${mdCell(explain(f.risk!))} |`,
      );
    }
    lines.push('');
  }
  if (d.suppressed.length) {
    lines.push(
      'Suppressed by VEX:',
      '',
      ...d.suppressed.map(
        (f) => `- ${f.vulnerability} in ${f.component}: ${f.status} — ${f.statusReason ?? ''}`,
      ),
      '',
    );
  }
  return lines;
}

export function renderMarkdown(r: PostureReport): string {
  return ['# Vigil fleet security posture', '', summaryWords(r), '', ...r.devices.flatMap(mdDevice)].join(
    '\n',
  );
}

const REPORT_STYLE =
  'body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}.critical{color:#a00;font-weight:bold}.high{color:#c50}.medium{color:#a80}.warn{color:#a50}';

/**
 * The HTML report keeps its one inline stylesheet; served through the API it is allowed by
 * hash (CSP Level 2 §4.2.4), so the page runs under a policy with no scripts at all.
 */
export const HTML_REPORT_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(REPORT_STYLE).digest('base64')}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function htmlFinding(f: Finding): string {
  return `<tr><td>${esc(f.vulnerability)}</td><td>${esc(f.component)}</td><td>${esc(f.installedVersion)}</td><td>${esc(f.fixFirmware ? `firmware ${f.fixFirmware}` : (f.fixedVersion ?? '—'))}</td><td class="${f.risk?.band ?? ''}">${f.risk?.score ?? ''} ${f.risk?.band ?? ''}</td><td>${esc(f.status)}</td><td>${esc(f.risk ? explain(f.risk) : (f.statusReason ?? ''))}</td></tr>`;
}

/** Self-contained page (no scripts, inline style only through a class-free stylesheet). */
export function renderHtml(r: PostureReport): string {
  const devices = r.devices
    .map(
      (
        d,
      ) => `<section><h2>${esc(d.id)} — <span class="${d.risk.band}">${d.risk.band} (${d.risk.score})</span></h2>
<p>${esc(`${d.manufacturer ?? '?'} ${d.model}, firmware ${d.firmware ?? 'unknown'}; ${d.criticality ?? 'criticality unknown'}; zone ${d.zone}; ${connectionWords(d)}${d.internetReachable ? '; internet-reachable' : ''}; ${supportWords(d.support)}`)}</p>
<p>Why: ${esc(explain(d.risk))}</p>
${d.warnings.map((w) => `<p class="warn">${esc(w)}</p>`).join('\n')}
${d.recommendation.steps.length ? `<h3>What to do (${esc(d.recommendation.action)})</h3><ul>${d.recommendation.steps.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>` : ''}
${d.findings.length || d.suppressed.length ? `<table><thead><tr><th>vulnerability</th><th>component</th><th>installed</th><th>fixed in</th><th>score</th><th>status</th><th>why</th></tr></thead><tbody>${[...d.findings, ...d.suppressed].map(htmlFinding).join('')}</tbody></table>` : ''}
</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil fleet security posture</title>
<style>${REPORT_STYLE}</style>
</head><body><h1>Vigil fleet security posture</h1>
<p>${esc(summaryWords(r))}</p>
${devices}
</body></html>
`;
}

/** RFC 4180 quoting; a leading = + - @ is defused so a spreadsheet never runs a cell as a formula. */
export function csvCell(v: string | number | boolean | null): string {
  let s = v === null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function renderCsv(r: PostureReport): string {
  const header = [
    'device',
    'model',
    'firmware',
    'zone',
    'connection',
    'support',
    'device_score',
    'device_band',
    'vulnerability',
    'component',
    'installed',
    'fixed_version',
    'fix_firmware',
    'status',
    'status_reason',
    'kev',
    'epss',
    'cvss',
    'finding_score',
    'finding_band',
    'why',
    'recommendation',
  ];
  const rows: Array<Array<string | number | boolean | null>> = [];
  for (const d of r.devices) {
    const base = [
      d.id,
      d.model,
      d.firmware,
      d.zone,
      d.connection,
      d.support.state,
      d.risk.score,
      d.risk.band,
    ];
    const rec = `${d.recommendation.action}: ${d.recommendation.steps.join('; ')}`;
    const all = [...d.findings, ...d.suppressed];
    if (all.length === 0)
      rows.push([...base, '', '', '', '', '', '', '', '', '', '', '', '', explain(d.risk), rec]);
    for (const f of all) {
      rows.push([
        ...base,
        f.vulnerability,
        f.component,
        f.installedVersion,
        f.fixedVersion,
        f.fixFirmware,
        f.status,
        f.statusReason,
        f.kev,
        f.epss,
        f.cvss?.base ?? null,
        f.risk?.score ?? null,
        f.risk?.band ?? null,
        f.risk ? explain(f.risk) : '',
        rec,
      ]);
    }
  }
  return `${[header, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

export function renderReport(r: PostureReport, format: ReportFormat): string {
  switch (format) {
    case 'md':
      return `${renderMarkdown(r)}\n`;
    case 'html':
      return renderHtml(r);
    case 'csv':
      return renderCsv(r);
    default:
      return `${JSON.stringify(r, null, 2)}\n`;
  }
}
