import type { Site } from '../../domain/types';
import type { DataVersion } from './data-version';

/**
 * Sites by id, as read. A phone of a site gets its site's own emergency
 * numbers in its minimal configuration (src/app/provisioning.ts), so every
 * such request needs the site, which changes rarely. Valid like the store's
 * other copies: while `data_version` reads what it read before the site was
 * read (another connection's change retires every copy), and dropped when
 * this process writes the site. Copies are frozen: callers share them.
 */

/** Sites kept; past it the cache starts over (a copy is one row, refilled by one read). */
const MAX_SITES = 10_000;

interface Copy {
  site: Site | null;
  version: number;
}

export class SiteCache {
  private readonly sites = new Map<number, Copy>();

  constructor(
    private readonly load: (id: number) => Site | null,
    private readonly dataVersion: DataVersion,
  ) {}

  get(id: number): Site | null {
    const version = this.dataVersion.current();
    const kept = this.sites.get(id);
    if (kept !== undefined && kept.version === version) return kept.site;
    // Read after the reading: the row is at least that new (see SqliteStore.readDevice).
    const site = this.load(id);
    if (site !== null) {
      Object.freeze(site.emergencyNumbers);
      Object.freeze(site);
    }
    if (this.sites.size >= MAX_SITES) this.sites.clear();
    this.sites.set(id, { site, version });
    return site;
  }

  /** This process wrote the site (or created one with this id). */
  drop(id: number): void {
    this.sites.delete(id);
  }
}
