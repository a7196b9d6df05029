/**
 * The printed report and the JSON written to bench/results/latest.json: each figure, the
 * ratios against the references measured in the same run, and the issue's targets marked
 * PASS / FAIL (or SKIP when a phase was not run). Nothing here measures anything.
 */
import type { E2eResult, LoadFigures, RateRun } from './e2e-ingest.ts';
import { type LatencySummary, medianByP99 } from './latency.ts';
import { latencyChart } from './latency-chart.ts';
import type { MosquittoResult } from './mosquitto-reference.ts';
import type { CpuShare, OtherUser } from './process-usage.ts';
import type { SqliteResult } from './sqlite-reference.ts';

export interface BenchMeta {
  startedAt: string;
  durationSeconds: number;
  node: string;
  cpuModel: string;
  cores: number;
  mosquittoVersion: string | undefined;
  options: {
    devices: number;
    readingsPerMessage: number;
    inFlight: number;
    generatorThreads: number;
    /** MQTT client of the simulated devices (bench/lean-client.ts or mqtt.js). */
    client: string;
    seconds: number;
    /** Open-loop runs at half peak (the median p99 is judged). */
    halfPeakRuns: number;
    only: string | undefined;
  };
}

export interface BenchResults {
  meta: BenchMeta;
  e2e: E2eResult | undefined;
  mosquitto: { plain: MosquittoResult | undefined; tls: MosquittoResult | undefined };
  sqlite: { plain: SqliteResult | undefined; aesGcm: SqliteResult | undefined };
}

export const TARGETS = {
  readingsPerSecond: 30_000,
  mosquittoRatio: 0.5,
  halfPeakP99Ms: 25,
} as const;

type Verdict = 'PASS' | 'FAIL' | 'SKIP';

export interface Ratios {
  vigilReadingsPerSqliteRow: number | undefined;
  vigilReadingsPerSqliteAesRow: number | undefined;
  vigilMessagesPerMosquittoTls: number | undefined;
  vigilMessagesPerMosquittoPlain: number | undefined;
}

export interface TargetCheck {
  name: string;
  value: string;
  verdict: Verdict;
}

const GENERATOR_BOUND_PCT = 90;

const n0 = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => `${n.toFixed(1)} ms`;
const ratio = (r: number | undefined) => (r === undefined ? 'n/a' : `${r.toFixed(2)}×`);
const div = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? undefined : a / b;
const pct = (p: number | undefined) => (p === undefined ? '?' : `${Math.round(p)}%`);

export function ratiosOf(r: BenchResults): Ratios {
  const readings = r.e2e?.peak.readingsPerSecond;
  const messages = r.e2e?.peak.run.messagesPerSecond;
  return {
    vigilReadingsPerSqliteRow: div(readings, r.sqlite.plain?.rowsPerSecond),
    vigilReadingsPerSqliteAesRow: div(readings, r.sqlite.aesGcm?.rowsPerSecond),
    vigilMessagesPerMosquittoTls: div(messages, r.mosquitto.tls?.deliveredPerSecond),
    vigilMessagesPerMosquittoPlain: div(messages, r.mosquitto.plain?.deliveredPerSecond),
  };
}

export function targetsOf(r: BenchResults, ratios: Ratios): TargetCheck[] {
  const e2e = r.e2e;
  const mosquittoRatio = ratios.vigilMessagesPerMosquittoTls ?? ratios.vigilMessagesPerMosquittoPlain;
  const against = ratios.vigilMessagesPerMosquittoTls !== undefined ? 'mTLS vs mTLS' : 'vs plain TCP';
  return [
    {
      name: `end to end ≥ ${n0(TARGETS.readingsPerSecond)} readings/s`,
      value: e2e ? `${n0(e2e.peak.readingsPerSecond)} readings/s` : 'not run',
      verdict: e2e ? (e2e.peak.readingsPerSecond >= TARGETS.readingsPerSecond ? 'PASS' : 'FAIL') : 'SKIP',
    },
    {
      name: `≥ ${TARGETS.mosquittoRatio} × Mosquitto QoS 1 pass-through, messages/s (${against})`,
      value: mosquittoRatio === undefined ? 'not run' : ratio(mosquittoRatio),
      verdict:
        mosquittoRatio === undefined ? 'SKIP' : mosquittoRatio >= TARGETS.mosquittoRatio ? 'PASS' : 'FAIL',
    },
    {
      name: `publish→PUBACK p99 ≤ ${TARGETS.halfPeakP99Ms} ms at half peak`,
      value: e2e ? `${e2e.halfPeak.run.latency.p99.toFixed(2)} ms` : 'not run',
      verdict: e2e ? (e2e.halfPeak.run.latency.p99 <= TARGETS.halfPeakP99Ms ? 'PASS' : 'FAIL') : 'SKIP',
    },
  ];
}

/** Whether the load generator was near a full core per thread it runs on. */
const generatorBound = (cpu: CpuShare, threads: number) => cpu.generatorPct >= GENERATOR_BOUND_PCT * threads;

function cpuLine(cpu: CpuShare, server: string, threads: number): string {
  const flags: string[] = [];
  if (generatorBound(cpu, threads))
    flags.push(
      `load generator near ${threads === 1 ? 'one full core' : `a full core on each of its ${threads} threads`}: this figure may be the generator’s limit`,
    );
  if (cpu.serverPct !== undefined && cpu.serverPct >= GENERATOR_BOUND_PCT) flags.push(`${server} CPU-bound`);
  const main = cpu.serverMainPct === undefined ? '' : ` (event loop ${pct(cpu.serverMainPct)})`;
  return `CPU: ${server} ${pct(cpu.serverPct)} of a core${main} · generator ${pct(cpu.generatorPct)}${cpu.subscriberPct === undefined ? '' : ` · subscriber ${pct(cpu.subscriberPct)}`} · machine ${pct(cpu.machinePct)} of ${cpu.cores} cores${othersText(cpu.others)}${flags.length ? `  ⚠ ${flags.join('; ')}` : ''}`;
}

/** Who else had the cores during the window; a kernel thread is marked, since nothing here can preempt it. */
export function othersText(others: readonly OtherUser[]): string {
  if (others.length === 0) return '';
  return ` · others: ${others.map((o) => `${o.name}${o.kernel ? ' (kernel)' : ''} ${pct(o.pct)}`).join(', ')}`;
}

function latencyText(l: LatencySummary): string {
  return `p50 ${ms(l.p50)} · p90 ${ms(l.p90)} · p99 ${ms(l.p99)} · max ${ms(l.max)}`;
}

function loadLines(label: string, f: LoadFigures, threads: number): string[] {
  const run = f.run;
  const lines = [
    `  ${label.padEnd(30)}${n0(run.messagesPerSecond).padStart(8)} msg/s ${n0(f.readingsPerSecond).padStart(9)} readings/s   ${latencyText(run.latency)}`,
    `  ${''.padEnd(30)}${cpuLine(f.cpu, 'vigil', threads)}`,
  ];
  if (f.commits) {
    const c = f.commits;
    lines.push(
      `  ${''.padEnd(30)}server stored ${n0(c.serverMessagesPerSecond)} msg/s; writer thread: ${c.commitsPerSecond.toFixed(0)} transactions/s · ${c.meanBatchMessages.toFixed(1)} messages each · ${c.meanCommitMs.toFixed(2)} ms each · in a transaction ${c.commitBusyPct.toFixed(0)}% of the time · ${c.commitsOver10ms} over 10 ms, ${c.commitsOver50ms} over 50 ms`,
      ...(c.commitWaitWithin25msPct === undefined
        ? []
        : [
            `  ${''.padEnd(30)}server side, validated → committed: ${c.commitWaitWithin25msPct.toFixed(1)}% within 25 ms, p99 ≤ ${c.commitWaitP99AtMostMs ?? '> 1000'} ms (histogram bucket)`,
          ]),
    );
    const w = f.cpu.serverWrites;
    if (w && run.messagesPerSecond > 0) {
      lines.push(
        `  ${''.padEnd(30)}server write(): ${(w.bytesPerSecond / 1e6).toFixed(1)} MB/s in ${n0(w.callsPerSecond)} calls/s (files and sockets) = ${(w.bytesPerSecond / run.messagesPerSecond / 1024).toFixed(1)} KiB per message stored`,
      );
    }
    const gc = Object.entries(c.gcMsPerSecond)
      .map(([kind, v]) => `${kind} ${v.toFixed(0)}`)
      .join(', ');
    lines.push(
      `  ${''.padEnd(30)}server event loop delay past its 10 ms tick: p99 ${c.eventLoopDelayP99Ms === undefined ? '?' : ms(c.eventLoopDelayP99Ms)}, max ${c.eventLoopDelayMaxMs === undefined ? '?' : ms(c.eventLoopDelayMaxMs)} · GC ms per s: ${gc || 'none'}`,
    );
  }
  const refused = Object.entries(run.refused);
  if (refused.length > 0 || run.errors > 0 || run.unsettled > 0) {
    lines.push(
      `  ${''.padEnd(30)}⚠ refused: ${refused.map(([k, v]) => `${k} ×${v}`).join(', ') || 'none'} · errors ${run.errors} · unacknowledged at end ${run.unsettled}`,
    );
  }
  return lines;
}

/** One line per figure: what a reader compares first. Details follow in the report. */
function summaryTable(r: BenchResults): string[] {
  const rows: Array<[string, number | undefined, number | undefined, LatencySummary | undefined]> = [];
  const e2e = r.e2e;
  if (e2e) {
    for (const [label, f] of [
      ['Vigil end to end, peak', e2e.peak],
      ['Vigil end to end, half peak', e2e.halfPeak],
      ['Vigil end to end, quarter peak', e2e.quarterPeak],
    ] as const) {
      rows.push([label, f.run.messagesPerSecond, f.readingsPerSecond, f.run.latency]);
    }
  }
  for (const m of [r.mosquitto.tls, r.mosquitto.plain]) {
    if (m)
      rows.push([
        `Mosquitto QoS 1 pass-through, ${m.tls ? 'mTLS' : 'plain'}`,
        m.deliveredPerSecond,
        m.deliveredReadingsPerSecond,
        undefined,
      ]);
  }
  for (const q of [r.sqlite.plain, r.sqlite.aesGcm]) {
    if (q)
      rows.push([
        `SQLite row per reading, ${q.encrypt ? 'AES-GCM' : 'plain'}`,
        undefined,
        q.rowsPerSecond,
        undefined,
      ]);
  }
  const cell = (v: number | undefined, width: number, digits = 0) =>
    (v === undefined ? '–' : digits === 0 ? n0(v) : v.toFixed(digits)).padStart(width);
  return [
    `${'Summary'.padEnd(38)}${'messages/s'.padStart(12)}${'readings/s'.padStart(13)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}`,
    ...rows.map(
      ([label, msgs, readings, l]) =>
        `  ${label.padEnd(36)}${cell(msgs, 12)}${cell(readings, 13)}${cell(l?.p50, 9, 1)}${cell(l?.p99, 9, 1)}`,
    ),
    '  (readings/s for Mosquitto = delivered messages × readings per message; for SQLite = rows/s)',
  ];
}

function loadName(fraction: number): string {
  if (fraction === 0.5) return 'half peak';
  if (fraction === 0.25) return 'quarter peak';
  return `1/${Math.round(1 / fraction)} peak`;
}

/** With several half-peak runs: each one's p99, in the order they ran, the judged one marked. */
export function halfPeakRunsLine(runs: readonly RateRun[]): string[] {
  if (runs.length < 2) return [];
  const judged = medianByP99(runs);
  const p99s = runs.map((r) => `${r.run.latency.p99.toFixed(1)}${r === judged ? '*' : ''}`).join(' · ');
  return [
    `  ${''.padEnd(30)}${runs.length} runs at this load, p99 in the order they ran: ${p99s} ms (* = the median, shown above and judged)`,
  ];
}

/** The human-readable report, one string with newlines. */
export function formatReport(r: BenchResults): string {
  const out: string[] = [];
  const o = r.meta.options;
  const ratios = ratiosOf(r);
  out.push(
    '',
    `Vigil ingest benchmark · ${r.meta.startedAt} · ${r.meta.durationSeconds.toFixed(0)} s`,
    `${r.meta.cpuModel} × ${r.meta.cores} cores · Node ${r.meta.node} · ${o.devices} devices × ${o.readingsPerMessage} readings/message · ${o.inFlight} in flight per device (peak) · ${o.seconds} s windows`,
    `The load generator (this process; end to end: ${o.generatorThreads} worker threads, one ${o.client === 'mqtt.js' ? 'mqtt.js' : 'lean mqtt-packet'} client per device) shares the ${r.meta.cores} cores with the system under test; CPU shares are shown per run.`,
  );
  out.push('', ...summaryTable(r));
  const e2e = r.e2e;
  out.push(
    '',
    'End to end: vigil serve (child process), MQTT 5 over mutual TLS, QoS 1, PUBACK only after commit',
  );
  if (e2e) {
    out.push(`  connections: ${e2e.cipher}`);
    out.push(...loadLines('peak (closed loop)', e2e.peak, r.meta.options.generatorThreads));
    const rateRuns = [e2e.halfPeak, e2e.quarterPeak, ...e2e.lighterLoads];
    for (const rated of rateRuns) {
      out.push(
        ...loadLines(
          `${loadName(rated.fractionOfPeak)} (open loop ${n0(rated.offeredMessagesPerSecond)}/s)`,
          rated,
          r.meta.options.generatorThreads,
        ),
      );
      const lag = rated.run.schedulerLagMs;
      if (lag)
        out.push(
          `  ${''.padEnd(30)}generator timers fired late by p99 ${ms(lag.p99)} (client-side share of the latency)${rated.run.skipped ? ` · ${rated.run.skipped} sends skipped (device at Receive Maximum)` : ''}`,
        );
      if (rated === e2e.halfPeak) out.push(...halfPeakRunsLine(e2e.halfPeakRuns));
    }
    out.push(
      '',
      ...latencyChart(
        rateRuns.map((f) => ({
          fractionOfPeak: f.fractionOfPeak,
          messagesPerSecond: f.run.messagesPerSecond,
          p50Ms: f.run.latency.p50,
          p99Ms: f.run.latency.p99,
        })),
        TARGETS.halfPeakP99Ms,
      ).map((line) => `  ${line}`),
      '',
    );
    const v = e2e.verification;
    const api = v.apiSample.map((s) => `${s.patientId} ${n0(s.readBack)}/${n0(s.acked)}`).join(', ');
    out.push(
      `  ${v.ok ? '✓' : '✗'} stored ${n0(v.storedReadings)} readings (${n0(v.chunkRows)} chunk rows, ${n0(v.stagingRows)} staging rows) · acknowledged ${n0(v.ackedReadings)}${v.unsettledMessages ? ` · ${v.unsettledMessages} messages never acknowledged` : ''}`,
      `    read back as an integration through the API: ${api}`,
    );
    if (e2e.serverWarnings > 0)
      out.push(
        `  ⚠ vigil logged ${e2e.serverWarnings} warnings/errors; last: ${e2e.serverLogTail.at(-1) ?? ''}`,
      );
    if (e2e.profileDir) out.push(`  server CPU profile written to ${e2e.profileDir}`);
  } else out.push('  not run');

  out.push(
    '',
    `Reference A: Mosquitto${r.meta.mosquittoVersion ? ` ${r.meta.mosquittoVersion}` : ''} QoS 1 pass-through on loopback (same publishers, 1 QoS 1 subscriber in its own process, no persistence)`,
  );
  for (const m of [r.mosquitto.plain, r.mosquitto.tls]) {
    if (!m) continue;
    out.push(
      `  ${(m.tls ? 'mutual TLS' : 'plain TCP').padEnd(30)}${n0(m.deliveredPerSecond).padStart(8)} msg/s delivered (${n0(m.deliveredReadingsPerSecond)} readings/s equivalent) · publishers acked ${n0(m.publish.messagesPerSecond)} msg/s, p99 ${ms(m.publish.latency.p99)}`,
      `  ${''.padEnd(30)}${cpuLine(m.cpu, 'mosquitto', r.meta.options.generatorThreads)}${m.undelivered ? ` · ⚠ ${m.undelivered} acked but not delivered` : ''}`,
    );
    if (m.tls) out.push(`  ${''.padEnd(30)}connections: ${m.cipher}`);
  }
  if (!r.mosquitto.plain && !r.mosquitto.tls) out.push('  not run');

  out.push(
    '',
    'Reference B: better-sqlite3, one row per reading (WAL, synchronous=FULL, 1 index, 1,000 rows per transaction)',
  );
  for (const s of [r.sqlite.plain, r.sqlite.aesGcm]) {
    if (!s) continue;
    out.push(
      `  ${(s.encrypt ? 'AES-256-GCM per row' : 'plain values').padEnd(30)}${n0(s.rowsPerSecond).padStart(8)} rows/s (${s.meanTransactionMs.toFixed(1)} ms per transaction, fsync included)`,
    );
  }
  if (!r.sqlite.plain && !r.sqlite.aesGcm) out.push('  not run');

  out.push(
    '',
    'Ratios',
    `  Vigil readings/s ÷ SQLite rows/s (plain)              ${ratio(ratios.vigilReadingsPerSqliteRow)}`,
    `  Vigil readings/s ÷ SQLite rows/s (AES-GCM per row)    ${ratio(ratios.vigilReadingsPerSqliteAesRow)}`,
    `  Vigil messages/s ÷ Mosquitto messages/s (mTLS)       ${ratio(ratios.vigilMessagesPerMosquittoTls)}   ← the target uses this one (TLS vs TLS)`,
    `  Vigil messages/s ÷ Mosquitto messages/s (plain TCP)  ${ratio(ratios.vigilMessagesPerMosquittoPlain)}`,
  );
  const mosquittoRuns = [r.mosquitto.plain, r.mosquitto.tls].filter((m) => m !== undefined);
  if (
    mosquittoRuns.some(
      (m) => generatorBound(m.cpu, r.meta.options.generatorThreads) || (m.cpu.machinePct ?? 0) >= 95,
    )
  ) {
    out.push(
      '  ⚠ the Mosquitto runs were limited by the load generator / the machine, not by Mosquitto: its',
      '    figures are floors, so the Vigil ÷ Mosquitto ratios are upper bounds.',
    );
  }
  out.push('', 'Targets');
  for (const t of targetsOf(r, ratios)) out.push(`  [${t.verdict}] ${t.name}: ${t.value}`);
  out.push('');
  return out.join('\n');
}

/** The JSON document: results plus the derived ratios and verdicts. */
export function resultsJson(r: BenchResults): string {
  const ratios = ratiosOf(r);
  // Three decimals are more than these measurements can tell apart, and keep the file small.
  const rounded = (_key: string, v: unknown) =>
    typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v;
  return `${JSON.stringify({ ...r, ratios, targets: targetsOf(r, ratios) }, rounded, 2)}\n`;
}
