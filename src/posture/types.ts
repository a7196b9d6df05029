/**
 * The posture domain's vocabulary: what runs on a device (SBOM components), what is known to be
 * wrong (advisories, KEV, EPSS), what vendors say about it (VEX) and what it means here (findings).
 */

export const CRITICALITIES = [
  'life-sustaining',
  'therapeutic',
  'diagnostic',
  'monitoring',
  'wellness',
] as const;
export type Criticality = (typeof CRITICALITIES)[number];

/** MDS2-style capability answers (MDS2 2019 sections ENCR, AUTH/PAUT, CSUP). */
export const ENCRYPTIONS = ['none', 'in-transit', 'at-rest', 'full'] as const;
export type Encryption = (typeof ENCRYPTIONS)[number];
export const AUTHENTICATIONS = ['none', 'shared-secret', 'unique-credentials', 'certificate'] as const;
export type Authentication = (typeof AUTHENTICATIONS)[number];
export const PATCHABILITIES = ['none', 'vendor-onsite', 'manual', 'remote'] as const;
export type Patchability = (typeof PATCHABILITIES)[number];

export interface DeviceModel {
  /** The model name devices are registered with (`vigil device add --model`). */
  model: string;
  manufacturer: string;
  deviceClass: string;
  criticality: Criticality;
  endOfSupportMs: number | null;
  encryption: Encryption;
  authentication: Authentication;
  patchability: Patchability;
}

export const ZONES = ['isolated', 'clinical', 'enterprise', 'guest', 'internet', 'unknown'] as const;
export type NetworkZone = (typeof ZONES)[number];
export type ConnectionSecurity = 'mtls' | 'legacy';

/** One SBOM component, reduced to what matching needs. */
export interface Component {
  name: string;
  version: string | null;
  /** Canonical purl text, when the SBOM gave one. */
  purl: string | null;
  cpe: string | null;
  /** The SBOM's own id for the component (CycloneDX bom-ref, SPDX SPDXID), for VEX. */
  ref: string | null;
  /** Package keys and versions, worked out once at import so matching does no purl parsing. */
  keys?: Array<{ key: string; version: string }>;
}

export type VexStatus = 'not_affected' | 'fixed' | 'under_investigation' | 'affected';

/** A vendor or SBOM statement about one vulnerability on one product. */
export interface VexStatement {
  vulnerability: string;
  status: VexStatus;
  /** Which product: a model (and firmware) or a component purl key; null = any. */
  model: string | null;
  firmware: string | null;
  componentKey: string | null;
  /**
   * A `vers:` range the firmware or package version must lie in (CSAF product_version_range).
   * Without it a statement with no firmware speaks of every version.
   */
  vers?: string;
  justification: string | null;
  source: string;
}

export type VersionScheme = 'semver' | 'generic' | 'deb' | 'rpm';

/** OSV-shaped range: events in order; a version is affected from `introduced` until `fixed`. */
export interface AffectedRange {
  scheme: VersionScheme;
  events: Array<{ introduced: string } | { fixed: string } | { last_affected: string }>;
}

/** What an advisory says is affected, keyed so the matcher finds it in one lookup. */
export interface Affected {
  /** `purl:type/namespace/name`, `cpe:vendor:product` or `device:manufacturer:model`. */
  key: string;
  versions: string[];
  ranges: AffectedRange[];
  /** Versions the advisory names as fixed (CSAF `fixed`, OSV `fixed` events). */
  fixedVersions: string[];
  /** `vers:` ranges as CSAF product_version_range gives them. */
  vers?: string[];
}

export interface Advisory {
  id: string;
  source: 'osv' | 'csaf' | 'manual';
  aliases: string[];
  summary: string;
  cvssVector: string | null;
  /** Severity stated without a vector (0-10), used only when no vector is given. */
  severityScore: number | null;
  affected: Affected[];
  remediation: string | null;
  modifiedMs: number | null;
}

export interface KevEntry {
  cve: string;
  vendor: string;
  product: string;
  name: string;
  dateAdded: string;
  dueDate: string | null;
  knownRansomware: boolean;
}

export interface EpssScore {
  cve: string;
  probability: number;
  percentile: number;
}
