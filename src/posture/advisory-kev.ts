/**
 * CISA Known Exploited Vulnerabilities catalog (JSON feed, schema v1.x) and FIRST EPSS scores
 * (the daily CSV: a `#model_version` comment, then `cve,epss,percentile`).
 */
import { AdvisoryError, isObj, need } from './advisory-osv.ts';
import type { EpssScore, KevEntry } from './types.ts';

const CVE = /^CVE-\d{4}-\d{4,}$/;

export function isKevCatalog(doc: unknown): boolean {
  return isObj(doc) && Array.isArray(doc.vulnerabilities) && typeof doc.catalogVersion === 'string';
}

export function parseKev(doc: unknown): KevEntry[] {
  need(isObj(doc), '', 'the KEV catalog must be an object');
  need(Array.isArray(doc.vulnerabilities), '/vulnerabilities', 'vulnerabilities must be an array');
  return doc.vulnerabilities.map((v, i) => {
    const at = `/vulnerabilities/${i}`;
    need(isObj(v), at, 'each entry must be an object');
    need(
      typeof v.cveID === 'string' && CVE.test(v.cveID),
      `${at}/cveID`,
      'cveID must look like CVE-2024-12345',
    );
    need(
      typeof v.dateAdded === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v.dateAdded),
      `${at}/dateAdded`,
      'dateAdded must be YYYY-MM-DD',
    );
    return {
      cve: v.cveID,
      vendor: typeof v.vendorProject === 'string' ? v.vendorProject : '',
      product: typeof v.product === 'string' ? v.product : '',
      name: typeof v.vulnerabilityName === 'string' ? v.vulnerabilityName : '',
      dateAdded: v.dateAdded,
      dueDate: typeof v.dueDate === 'string' ? v.dueDate : null,
      knownRansomware: v.knownRansomwareCampaignUse === 'Known',
    };
  });
}

/** A plain decimal; Number() reads an empty or blank cell as 0, and "0x1" as 1. */
const decimalCell = (cell: string | undefined): number =>
  cell !== undefined && /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(cell) ? Number(cell) : Number.NaN;

/** Errors in a CSV carry the line number in the pointer slot ("line 12"). */
export function parseEpssCsv(text: string): EpssScore[] {
  const out: EpssScore[] = [];
  const lines = text.split(/\r?\n/);
  let headerSeen = false;
  lines.forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const cells = line.split(',');
    if (!headerSeen) {
      if (cells[0] !== 'cve' || cells[1] !== 'epss')
        throw new AdvisoryError(`line ${i + 1}`, 'the EPSS header must be "cve,epss,percentile"');
      headerSeen = true;
      return;
    }
    const [cve, p, pct] = cells;
    const probability = decimalCell(p);
    const percentile = decimalCell(pct);
    if (!cve || !CVE.test(cve))
      throw new AdvisoryError(`line ${i + 1}`, `"${(cve ?? '').slice(0, 30)}" is not a CVE id`);
    if (!(probability >= 0 && probability <= 1) || !(percentile >= 0 && percentile <= 1)) {
      throw new AdvisoryError(`line ${i + 1}`, 'epss and percentile must be numbers from 0 to 1');
    }
    out.push({ cve, probability, percentile });
  });
  if (!headerSeen) throw new AdvisoryError('line 1', 'no "cve,epss,percentile" header');
  return out;
}
