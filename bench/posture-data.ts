/**
 * Synthetic fleet and advisory data for the posture benchmark, deterministic (seeded) so runs
 * compare: package names across npm (SemVer), Debian (dpkg ordering) and generic firmware
 * packages; SBOMs drawn from them; OSV entries with SEMVER and ECOSYSTEM ranges over the same
 * names, so lookups hit as they would in a real firmware fleet.
 */
import type { Component } from '../src/posture/types.ts';

/** Mulberry32: small, fast, seeded. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Pkg {
  ecosystem: 'npm' | 'Debian' | 'generic';
  name: string;
}

export function packages(count: number): Pkg[] {
  return Array.from({ length: count }, (_, i) => {
    const ecosystem = i % 3 === 0 ? 'npm' : i % 3 === 1 ? 'Debian' : 'generic';
    return { ecosystem, name: `pkg${i}` } as Pkg;
  });
}

function version(p: Pkg, r: () => number): string {
  const a = Math.floor(r() * 5);
  const b = Math.floor(r() * 20);
  const c = Math.floor(r() * 30);
  if (p.ecosystem === 'Debian')
    return `${a}.${b}.${c}-${1 + Math.floor(r() * 3)}+deb12u${Math.floor(r() * 4)}`;
  return `${a}.${b}.${c}`;
}

export function purlOf(p: Pkg, v: string): string {
  if (p.ecosystem === 'npm') return `pkg:npm/${p.name}@${v}`;
  if (p.ecosystem === 'Debian') return `pkg:deb/debian/${p.name}@${encodeURIComponent(v)}`;
  return `pkg:generic/${p.name}@${v}`;
}

export function sbomComponents(pkgs: Pkg[], count: number, seed: number): Component[] {
  const r = rng(seed);
  const seen = new Set<number>();
  const out: Component[] = [];
  while (out.length < count) {
    const i = Math.floor(r() * pkgs.length);
    if (seen.has(i)) continue;
    seen.add(i);
    const p = pkgs[i]!;
    const v = version(p, r);
    out.push({ name: p.name, version: v, purl: purlOf(p, v), cpe: null, ref: `${p.name}-${seed}` });
  }
  return out;
}

/** One OSV entry as the JSON a feed would carry. */
export function osvEntry(i: number, pkgs: Pkg[], r: () => number): Record<string, unknown> {
  const p = pkgs[Math.floor(r() * pkgs.length)]!;
  // OSV-shaped ranges: most advisories cover a window of a few patch releases; about a
  // quarter cover everything before the fix ("introduced": "0"), as OSV feeds often do.
  const lo = version(p, r);
  const [maj, min, rest] = lo.split('.') as [string, string, string];
  const patch = Number.parseInt(rest, 10) + 1 + Math.floor(r() * 8);
  const tail = rest.replace(/^\d+/, '');
  const fixed = `${maj}.${min}.${patch}${tail}`;
  const introduced = r() < 0.25 ? '0' : lo;
  const pkg =
    p.ecosystem === 'generic'
      ? { ecosystem: 'OSS-Fuzz', name: p.name, purl: `pkg:generic/${p.name}` }
      : { ecosystem: p.ecosystem === 'Debian' ? 'Debian:12' : 'npm', name: p.name };
  return {
    id: `BENCH-${i}`,
    modified: '2026-09-01T00:00:00Z',
    aliases: [`CVE-2026-${100000 + i}`],
    summary: `synthetic advisory ${i}`,
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
    affected: [
      {
        package: pkg,
        ranges: [
          { type: p.ecosystem === 'npm' ? 'SEMVER' : 'ECOSYSTEM', events: [{ introduced }, { fixed }] },
        ],
      },
    ],
  };
}
