import type { Site } from '../../domain/types';
import type { DataVersion } from './data-version';
import { VersionedCopies } from './versioned-copies';

/**
 * Sites by id, as read. A phone of a site gets its site's own emergency
 * numbers in its minimal configuration (src/app/provisioning.ts), so every
 * such request needs the site, which changes rarely. Valid like the store's
 * other copies: while `data_version` reads what it read before the site was
 * read (another connection's change retires every copy), and dropped when
 * this process writes the site. Copies are frozen: callers share them.
 */

/** Sites kept (a copy is one row, refilled by one read). */
const MAX_SITES = 10_000;

export class SiteCache {
  private readonly sites = new VersionedCopies<number, Site | null>(MAX_SITES);

  constructor(
    private readonly load: (id: number) => Site | null,
    private readonly dataVersion: DataVersion,
  ) {}

  get(id: number): Site | null {
    const version = this.dataVersion.current();
    const kept = this.sites.get(id, version);
    if (kept !== undefined) return kept;
    // Read after the reading: the row is at least that new (see SqliteStore.readDevice).
    const site = this.load(id);
    if (site !== null) {
      Object.freeze(site.emergencyNumbers);
      Object.freeze(site);
    }
    this.sites.put(id, site, version);
    return site;
  }

  /** This process wrote the site (or created one with this id). */
  drop(id: number): void {
    this.sites.forget(id);
  }
}
