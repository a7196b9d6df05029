/**
 * CPU time and writes of the processes in a run, from /proc (Linux), so the report can say who
 * was busy (the system under test, the load generator, the whole machine) and how many bytes
 * the server wrote for what it stored.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Linux reports process times in clock ticks of 1/100 s on every common architecture. */
const TICKS_PER_SECOND = 100;

/** The fields of a /proc/<pid>/stat line the benchmark uses; undefined if it does not parse. */
function parseStat(stat: string): { name: string; parentPid: string; seconds: number } | undefined {
  // The command name sits in parentheses and may hold spaces and parentheses itself.
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return {
    name: stat.slice(stat.indexOf('(') + 1, close),
    parentPid: fields[1] ?? '',
    seconds: (utime + stime) / TICKS_PER_SECOND,
  };
}

/**
 * CPU seconds (user + system) a process has used so far (all its threads); with `thread`, only
 * that thread (its main thread: thread = pid). Undefined once it is gone.
 */
export function processCpuSeconds(pid: number, thread?: number): number | undefined {
  try {
    const stat = readFileSync(
      thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`,
      'utf8',
    );
    return parseStat(stat)?.seconds;
  } catch {
    return undefined;
  }
}

/** Bytes a process passed to write() (wchar) and write syscalls (syscw) so far; needs /proc/<pid>/io. */
export function processWrites(pid: number): { bytes: number; calls: number } | undefined {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1]);
    const bytes = field('wchar');
    const calls = field('syscw');
    return Number.isFinite(bytes) && Number.isFinite(calls) ? { bytes, calls } : undefined;
  } catch {
    return undefined;
  }
}

/** Busy and total CPU seconds of the whole machine (all cores). */
export function machineCpuSeconds(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const total = values.reduce((a, b) => a + b, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0); // idle + iowait
    return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/** A process's name (its `comm`), whether it is a kernel thread, and its CPU seconds so far. */
export interface ProcessTime {
  readonly name: string;
  readonly kernel: boolean;
  readonly seconds: number;
}

/** Every process on the machine (kernel threads too) by pid, with its CPU seconds so far. */
export function allProcessTimes(): Map<number, ProcessTime> {
  const times = new Map<number, ProcessTime>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return times;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone since the listing
    }
    const parsed = parseStat(stat);
    if (parsed === undefined) continue;
    // Kernel threads are kthreadd's (pid 2) children, and kthreadd itself.
    const kernel = parsed.parentPid === '2' || entry === '2';
    times.set(Number(entry), { name: parsed.name, kernel, seconds: parsed.seconds });
  }
  return times;
}

/** A process (or kernel thread) outside the run that took a share of the cores during it. */
export interface OtherUser {
  readonly name: string;
  readonly kernel: boolean;
  /** Percent of one core over the window, summed over the processes of that name. */
  readonly pct: number;
}

/** Other processes busy at least this share of a core during a window are named in the report. */
export const OTHER_USER_MIN_PCT = 1;
const OTHER_USERS_SHOWN = 4;

/**
 * The busiest processes between two snapshots, leaving out `excluded` (the run's own), summed
 * by name: a share of the cores the run did not get. A kernel thread that holds a core for
 * milliseconds at a time (DAMON's kdamond on this machine's VMs) shows up here.
 */
export function busiestOthers(
  before: ReadonlyMap<number, ProcessTime>,
  after: ReadonlyMap<number, ProcessTime>,
  seconds: number,
  excluded: ReadonlySet<number>,
): OtherUser[] {
  const byName = new Map<string, { kernel: boolean; seconds: number }>();
  for (const [pid, end] of after) {
    if (excluded.has(pid)) continue;
    // A process started during the window used all its time in it; one that changed its name
    // (exec, or a reused pid) is left out, since its count did not start with the window.
    const start = before.get(pid) ?? { name: end.name, seconds: 0 };
    if (start.name !== end.name) continue;
    const used = end.seconds - start.seconds;
    if (used <= 0) continue;
    const key = `${end.kernel ? 'k' : 'u'}${end.name}`;
    const sum = byName.get(key) ?? { kernel: end.kernel, seconds: 0 };
    sum.seconds += used;
    byName.set(key, sum);
  }
  return [...byName]
    .map(([key, { kernel, seconds: used }]) => ({ name: key.slice(1), kernel, pct: (100 * used) / seconds }))
    .filter((u) => u.pct >= OTHER_USER_MIN_PCT)
    .sort((a, b) => b.pct - a.pct)
    .slice(0, OTHER_USERS_SHOWN);
}

export interface CpuShare {
  /** Percent of one core, e.g. 97 = nearly one full core. */
  serverPct: number | undefined;
  /** The server's main thread alone (its event loop: TLS, MQTT, HTTP), percent of one core. */
  serverMainPct?: number | undefined;
  generatorPct: number;
  /** A helper process of the load side (the Mosquitto reference's subscriber), if any. */
  subscriberPct: number | undefined;
  /** Percent of the whole machine (all cores) busy. */
  machinePct: number | undefined;
  cores: number;
  /** Other processes and kernel threads that used the cores during the window, busiest first. */
  others: OtherUser[];
  /** What the server process wrote (files and sockets alike), per second of the window. */
  serverWrites: { bytesPerSecond: number; callsPerSecond: number } | undefined;
}

/** Starts measuring; call the result at the end of the window. */
export function cpuMeter(serverPid: number | undefined, subscriberPid?: number): () => CpuShare {
  const started = performance.now();
  const server0 = serverPid === undefined ? undefined : processCpuSeconds(serverPid);
  const main0 = serverPid === undefined ? undefined : processCpuSeconds(serverPid, serverPid);
  const sub0 = subscriberPid === undefined ? undefined : processCpuSeconds(subscriberPid);
  const writes0 = serverPid === undefined ? undefined : processWrites(serverPid);
  const self0 = process.cpuUsage();
  const machine0 = machineCpuSeconds();
  const all0 = allProcessTimes();
  const ours = new Set([process.pid, ...[serverPid, subscriberPid].filter((p) => p !== undefined)]);
  return () => {
    const seconds = (performance.now() - started) / 1000;
    const server1 = serverPid === undefined ? undefined : processCpuSeconds(serverPid);
    const main1 = serverPid === undefined ? undefined : processCpuSeconds(serverPid, serverPid);
    const sub1 = subscriberPid === undefined ? undefined : processCpuSeconds(subscriberPid);
    const writes1 = serverPid === undefined ? undefined : processWrites(serverPid);
    const self = process.cpuUsage(self0);
    const machine1 = machineCpuSeconds();
    const pct = (cpuSeconds: number) => (100 * cpuSeconds) / seconds;
    return {
      serverPct: server0 !== undefined && server1 !== undefined ? pct(server1 - server0) : undefined,
      serverMainPct: main0 !== undefined && main1 !== undefined ? pct(main1 - main0) : undefined,
      generatorPct: pct((self.user + self.system) / 1e6),
      subscriberPct: sub0 !== undefined && sub1 !== undefined ? pct(sub1 - sub0) : undefined,
      machinePct:
        machine0 && machine1 && machine1.total > machine0.total
          ? (100 * (machine1.busy - machine0.busy)) / (machine1.total - machine0.total)
          : undefined,
      cores: cpus().length,
      others: busiestOthers(all0, allProcessTimes(), seconds, ours),
      serverWrites:
        writes0 && writes1
          ? {
              bytesPerSecond: (writes1.bytes - writes0.bytes) / seconds,
              callsPerSecond: (writes1.calls - writes0.calls) / seconds,
            }
          : undefined,
    };
  };
}
