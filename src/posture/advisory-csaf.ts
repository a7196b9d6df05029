/**
 * CSAF 2.0 (OASIS CSAF v2.0 §3.2): the product tree names vendor, product and version; each
 * vulnerability's product_status says which products are affected, fixed, not affected or
 * under investigation; remediations and CVSS scores come with it. Medical-device vendors
 * publish exactly this shape (the product is the device and its firmware version).
 */
import { AdvisoryError, isObj, need } from './advisory-osv.ts';
import { cpeKey, parseCpe } from './cpe.ts';
import { parsePurl } from './purl.ts';
import type { Advisory, Affected, VexStatement } from './types.ts';

interface Product {
  key: string;
  version: string | null;
  vers: string | null;
}

/** A device named in a vendor advisory is matched on manufacturer and model name. */
export function deviceKey(manufacturer: string, model: string): string {
  return `device:${manufacturer.trim().toLowerCase()}:${model.trim().toLowerCase()}`;
}

function helperKey(helper: unknown, at: string): { key: string; version: string | null } | null {
  if (!isObj(helper)) return null;
  if (typeof helper.purl === 'string') {
    const p = parsePurl(helper.purl);
    if (typeof p === 'string') throw new AdvisoryError(`${at}/purl`, p);
    return { key: p.key, version: p.version };
  }
  if (typeof helper.cpe === 'string') {
    const c = parseCpe(helper.cpe);
    if (typeof c === 'string') throw new AdvisoryError(`${at}/cpe`, c);
    return {
      key: cpeKey(c.part, c.vendor, c.product),
      version: c.version === '*' || c.version === '-' ? null : c.version,
    };
  }
  return null;
}

/** Branch levels in a product tree; vendors use three to five (vendor, product, version). */
export const MAX_CSAF_BRANCH_DEPTH = 32;

type BranchContext = { vendor: string; product: string; version: string | null; vers: string | null };

function collectProducts(tree: unknown, at: string): Map<string, Product> {
  const out = new Map<string, Product>();
  if (tree === undefined) return out;
  need(isObj(tree), at, 'product_tree must be an object');
  // Depth first with an explicit stack, in document order as a recursive walk would go: a tree
  // nested thousands deep is refused, not a stack overflow.
  const stack: Array<{ branch: unknown; where: string; ctx: BranchContext; depth: number }> = [];
  const pushBranches = (branches: unknown, where: string, ctx: BranchContext, depth: number) => {
    if (branches === undefined) return;
    need(Array.isArray(branches), where, 'branches must be an array');
    need(depth <= MAX_CSAF_BRANCH_DEPTH, where, `branches nest deeper than ${MAX_CSAF_BRANCH_DEPTH} levels`);
    for (let i = branches.length - 1; i >= 0; i--)
      stack.push({ branch: branches[i], where: `${where}/${i}`, ctx, depth });
  };
  pushBranches(tree.branches, `${at}/branches`, { vendor: '', product: '', version: null, vers: null }, 1);
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { branch: b, where: bp, ctx, depth } = item;
    need(
      isObj(b) && typeof b.category === 'string' && typeof b.name === 'string',
      bp,
      'a branch needs category and name strings',
    );
    const next = { ...ctx };
    if (b.category === 'vendor') next.vendor = b.name;
    else if (b.category === 'product_name' || b.category === 'product_family') next.product = b.name;
    else if (b.category === 'product_version') next.version = b.name;
    else if (b.category === 'product_version_range') next.vers = b.name;
    if (isObj(b.product)) {
      need(
        typeof b.product.product_id === 'string',
        `${bp}/product/product_id`,
        'product_id must be a string',
      );
      const helper = helperKey(
        b.product.product_identification_helper,
        `${bp}/product/product_identification_helper`,
      );
      out.set(b.product.product_id, {
        key: helper?.key ?? deviceKey(next.vendor, next.product),
        version: next.version ?? helper?.version ?? null,
        vers: next.vers,
      });
    }
    pushBranches(b.branches, `${bp}/branches`, next, depth + 1);
  }
  return out;
}

/**
 * A product named by a version range (product_version_range) is only those versions: the
 * statement carries the range, or it would read as "every version" and a "fixed from 2.4.1"
 * would hide the finding on a vulnerable 2.3.0.
 */
function versOf(p: Product): { vers?: string } {
  return p.version === null && p.vers !== null ? { vers: p.vers } : {};
}

const ids = (v: unknown, at: string): string[] => {
  if (v === undefined) return [];
  need(Array.isArray(v) && v.every((x) => typeof x === 'string'), at, 'must be an array of product ids');
  return v as string[];
};

/**
 * The justification label (CSAF 2.0 §3.2.3.5 flags) for each product id, the first flag in
 * document order winning. Built once per vulnerability: looking each product up in every
 * flag's product_ids was quadratic, and a 10 MB advisory held the event loop for minutes.
 */
function flagLabels(flags: unknown): Map<string, string> {
  const labels = new Map<string, string>();
  for (const f of Array.isArray(flags) ? flags : []) {
    if (!isObj(f) || typeof f.label !== 'string' || !Array.isArray(f.product_ids)) continue;
    for (const pid of f.product_ids)
      if (typeof pid === 'string' && !labels.has(pid)) labels.set(pid, f.label);
  }
  return labels;
}

export interface ParsedCsaf {
  advisories: Advisory[];
  vex: VexStatement[];
}

export function parseCsaf(doc: unknown): ParsedCsaf {
  need(isObj(doc), '', 'a CSAF document must be an object');
  const d = doc.document;
  need(isObj(d), '/document', 'document must be an object');
  need(d.csaf_version === '2.0', '/document/csaf_version', 'csaf_version must be "2.0"');
  need(typeof d.title === 'string', '/document/title', 'title must be a string');
  const tracking = d.tracking;
  need(
    isObj(tracking) && typeof tracking.id === 'string' && tracking.id !== '',
    '/document/tracking/id',
    'tracking.id must be a non-empty string',
  );
  const released = tracking.current_release_date;
  need(
    typeof released === 'string' && !Number.isNaN(Date.parse(released)),
    '/document/tracking/current_release_date',
    'current_release_date must be an RFC 3339 time',
  );
  const products = collectProducts(doc.product_tree, '/product_tree');
  const vulns = doc.vulnerabilities ?? [];
  need(Array.isArray(vulns), '/vulnerabilities', 'vulnerabilities must be an array');
  const source = `csaf:${tracking.id}`;
  const advisories: Advisory[] = [];
  const vex: VexStatement[] = [];
  vulns.forEach((v, i) => {
    const at = `/vulnerabilities/${i}`;
    need(isObj(v), at, 'each vulnerability must be an object');
    const cve = v.cve;
    need(
      cve === undefined || (typeof cve === 'string' && /^CVE-\d{4}-\d{4,}$/.test(cve)),
      `${at}/cve`,
      'cve must look like CVE-2024-12345',
    );
    const vulnId = (cve as string | undefined) ?? `${tracking.id}-${i + 1}`;
    const status = isObj(v.product_status) ? v.product_status : {};
    const product = (id: string, where: string): Product => {
      const p = products.get(id);
      if (!p) throw new AdvisoryError(where, `product id "${id.slice(0, 60)}" is not in the product_tree`);
      return p;
    };
    const list = (name: string) =>
      ids(status[name], `${at}/product_status/${name}`).map((id, j) =>
        product(id, `${at}/product_status/${name}/${j}`),
      );
    const affectedProducts = [...list('known_affected'), ...list('first_affected'), ...list('last_affected')];
    const fixedProducts = [...list('fixed'), ...list('first_fixed')];
    const byKey = new Map<string, Affected>();
    for (const p of affectedProducts) {
      const a = byKey.get(p.key) ?? { key: p.key, versions: [], ranges: [], fixedVersions: [], vers: [] };
      if (p.version) a.versions.push(p.version);
      if (p.vers) a.vers!.push(p.vers);
      byKey.set(p.key, a);
    }
    for (const p of fixedProducts) {
      const a = byKey.get(p.key);
      if (a && p.version) a.fixedVersions.push(p.version);
      vex.push({
        vulnerability: vulnId,
        status: 'fixed',
        model: null,
        firmware: p.version,
        componentKey: p.key,
        ...versOf(p),
        justification: `fixed in ${p.version ?? p.vers ?? 'this product'} (${tracking.id})`,
        source,
      });
    }
    const labels = flagLabels(v.flags);
    for (const [name, st] of [
      ['known_not_affected', 'not_affected'],
      ['under_investigation', 'under_investigation'],
    ] as const) {
      ids(status[name], `${at}/product_status/${name}`).forEach((pid, j) => {
        const p = product(pid, `${at}/product_status/${name}/${j}`);
        const why = labels.get(pid);
        vex.push({
          vulnerability: vulnId,
          status: st,
          model: null,
          firmware: p.version,
          componentKey: p.key,
          ...versOf(p),
          justification: `${why ?? name.replace(/_/g, ' ')}${p.version === null && p.vers ? ` for ${p.vers}` : ''} (${tracking.id})`,
          source,
        });
      });
    }
    const remediations = Array.isArray(v.remediations) ? v.remediations : [];
    const remediation = remediations
      .flatMap((r) =>
        isObj(r) && typeof r.category === 'string' && typeof r.details === 'string'
          ? [`${r.category}: ${r.details}`]
          : [],
      )
      .join(' | ');
    let cvssVector: string | null = null;
    for (const s of Array.isArray(v.scores) ? v.scores : []) {
      if (!isObj(s)) continue;
      const c3 = isObj(s.cvss_v3) ? s.cvss_v3.vectorString : undefined;
      if (typeof c3 === 'string') cvssVector = c3;
    }
    if (byKey.size === 0) return;
    advisories.push({
      id: `${tracking.id}/${vulnId}`,
      source: 'csaf',
      aliases: cve ? [cve as string] : [],
      summary: typeof v.title === 'string' ? v.title : String(d.title),
      cvssVector,
      severityScore: null,
      affected: [...byKey.values()],
      remediation: remediation || null,
      modifiedMs: Date.parse(released),
    });
  });
  return { advisories, vex };
}
