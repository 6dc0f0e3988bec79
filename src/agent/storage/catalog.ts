/**
 * The in-memory catalog every backend serves reads from: name → version → blobs, and the
 * atomic-publish rule that picks a job's default version (see contract.ts). Pure: no I/O, so the
 * local and the S3 backend answer the same question the same way.
 */
import type { ExecutableInfo } from '../../api/contract';
import type { BlobInfo, BlobKind, DamageReport } from './contract';

/** One stored blob as remembered: what the backend wrote down when it stored it. */
export interface BlobRef extends BlobInfo {
  storedAtMs: number;
  /** Set when its content failed its integrity check: kept, reported, never served. */
  damage?: string;
}

interface VersionEntry {
  manifest?: BlobRef;
  executable?: BlobRef;
  files?: BlobRef;
}

export class Catalog {
  private readonly jobs = new Map<string, Map<string, VersionEntry>>();
  /** Made once per executable ref: a hot job run looks it up without formatting a date. */
  private readonly infos = new WeakMap<BlobRef, ExecutableInfo>();

  // ---- changes ----

  set(kind: BlobKind, name: string, version: string, ref: BlobRef): void {
    let versions = this.jobs.get(name);
    if (!versions) this.jobs.set(name, (versions = new Map()));
    const entry = versions.get(version) ?? {};
    entry[kind] = ref;
    versions.set(version, entry);
  }

  /** Forgets one blob; the ref it had, if any. */
  remove(kind: BlobKind, name: string, version: string): BlobRef | undefined {
    const versions = this.jobs.get(name);
    const entry = versions?.get(version);
    const ref = entry?.[kind];
    if (!versions || !entry || !ref) return undefined;
    delete entry[kind];
    if (!entry.manifest && !entry.executable && !entry.files) versions.delete(version);
    if (versions.size === 0) this.jobs.delete(name);
    return ref;
  }

  /** Forgets a whole job; every ref it had (damaged ones too). */
  removeJob(name: string): Array<{ kind: BlobKind; version: string; ref: BlobRef }> {
    const removed = this.refsOf(name);
    this.jobs.delete(name);
    return removed;
  }

  /** Marks every ref with this integrity damaged (content is shared by hash), or healed when `damage` is undefined. */
  markDamage(integrity: string, damage: string | undefined): void {
    for (const versions of this.jobs.values()) {
      for (const entry of versions.values()) {
        for (const ref of [entry.manifest, entry.executable, entry.files]) {
          if (ref?.integrity === integrity) ref.damage = damage;
        }
      }
    }
  }

  // ---- reads ----

  /** Names with at least one intact manifest, sorted. */
  names(): string[] {
    return [...this.jobs.keys()].filter((name) => this.has(name)).sort();
  }

  has(name: string): boolean {
    const versions = this.jobs.get(name);
    if (!versions) return false;
    for (const entry of versions.values()) if (usable(entry.manifest)) return true;
    return false;
  }

  /**
   * The complete version (intact manifest and executable) that became complete last; else the
   * version of the intact manifest stored last. Ties (same millisecond) go to the later version
   * string, so every agent computes the same answer from the same catalog.
   */
  defaultVersion(name: string): string | undefined {
    const versions = this.jobs.get(name);
    if (!versions || !this.has(name)) return undefined;
    let best: { version: string; complete: boolean; at: number } | undefined;
    for (const [version, entry] of versions) {
      if (!usable(entry.manifest)) continue;
      const executable = entry.executable;
      const complete = usable(executable);
      const at = complete ? Math.max(entry.manifest.storedAtMs, executable.storedAtMs) : entry.manifest.storedAtMs;
      const better =
        !best ||
        (complete && !best.complete) ||
        (complete === best.complete && (at > best.at || (at === best.at && version > best.version)));
      if (better) best = { version, complete, at };
    }
    return best?.version;
  }

  manifest(name: string, version?: string): (BlobRef & { version: string }) | undefined {
    const chosen = version ?? this.defaultVersion(name);
    if (chosen === undefined) return undefined;
    const ref = this.jobs.get(name)?.get(chosen)?.manifest;
    return usable(ref) ? { ...ref, version: chosen } : undefined;
  }

  /**
   * The executable of one version, damaged or not: a run or download of a damaged one is answered
   * "failed its integrity check" (by the read), not "no such version". Listings and the default
   * version leave damaged ones out.
   */
  executable(name: string, version: string): ExecutableInfo | undefined {
    if (!this.has(name)) return undefined;
    const entry = this.jobs.get(name)?.get(version);
    return entry?.executable ? this.infoOf(version, entry) : undefined;
  }

  files(name: string, version: string): BlobRef | undefined {
    if (!this.has(name)) return undefined;
    const ref = this.jobs.get(name)?.get(version)?.files;
    return usable(ref) ? ref : undefined;
  }

  /** Intact executables of a listed job, newest first; undefined when the job is not listed. */
  versions(name: string): ExecutableInfo[] | undefined {
    if (!this.has(name)) return undefined;
    const found: Array<[string, VersionEntry & { executable: BlobRef }]> = [];
    for (const [version, entry] of this.jobs.get(name) ?? []) {
      if (usable(entry.executable)) found.push([version, entry as VersionEntry & { executable: BlobRef }]);
    }
    return found
      .sort(([va, a], [vb, b]) => b.executable.storedAtMs - a.executable.storedAtMs || (vb > va ? 1 : -1))
      .map(([version, entry]) => this.infoOf(version, entry));
  }

  /** A ref, damaged or not (what a write replaces, what a delete removes). */
  ref(kind: BlobKind, name: string, version: string): BlobRef | undefined {
    return this.jobs.get(name)?.get(version)?.[kind];
  }

  /** Whether any blob of any job (damaged ones included) has this content. */
  isReferenced(integrity: string): boolean {
    for (const name of this.jobs.keys()) {
      if (this.refsOf(name).some(({ ref }) => ref.integrity === integrity)) return true;
    }
    return false;
  }

  damaged(): DamageReport[] {
    const reports: DamageReport[] = [];
    for (const name of [...this.jobs.keys()].sort()) {
      for (const { kind, version, ref } of this.refsOf(name)) {
        if (ref.damage !== undefined) reports.push({ name, version, kind, integrity: ref.integrity, problem: ref.damage });
      }
    }
    return reports;
  }

  /** Every ref in the catalog (what compaction writes out). */
  *entries(): Generator<{ kind: BlobKind; name: string; version: string; ref: BlobRef }> {
    for (const name of this.jobs.keys()) {
      for (const found of this.refsOf(name)) yield { name, ...found };
    }
  }

  get size(): number {
    let count = 0;
    for (const _ of this.entries()) count++;
    return count;
  }

  private refsOf(name: string): Array<{ kind: BlobKind; version: string; ref: BlobRef }> {
    const refs: Array<{ kind: BlobKind; version: string; ref: BlobRef }> = [];
    for (const [version, entry] of this.jobs.get(name) ?? []) {
      for (const kind of KINDS) {
        const ref = entry[kind];
        if (ref) refs.push({ kind, version, ref });
      }
    }
    return refs;
  }

  /** The wire form of a version's executable, with its files archive when it has one. */
  private infoOf(version: string, entry: VersionEntry): ExecutableInfo {
    const ref = entry.executable as BlobRef;
    let info = this.infos.get(ref);
    if (!info) {
      info = { version, integrity: ref.integrity, size: ref.size, stored_at: new Date(ref.storedAtMs).toISOString() };
      this.infos.set(ref, info);
    }
    const files = entry.files;
    return usable(files) ? { ...info, files: { integrity: files.integrity, size: files.size } } : info;
  }
}

const KINDS: readonly BlobKind[] = ['manifest', 'executable', 'files'];

function usable(ref: BlobRef | undefined): ref is BlobRef {
  return ref !== undefined && ref.damage === undefined;
}
