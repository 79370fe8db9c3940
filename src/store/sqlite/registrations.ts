import type { Database, Statement } from 'better-sqlite3';
import type { StoredRegistration } from '../../ports/store';
import { toRegistration, type RegistrationRow } from '../sql-rows';
import type { DataVersion } from './data-version';
import { VersionedCopies } from './versioned-copies';

/**
 * The registrations table: one binding per SIP account, read by whichever
 * process or node sends the check-sync. Lapsed rows are ignored on read and
 * swept on write, so the table stays the size of the live fleet.
 */

/** Lapsed rows are deleted at most this often (in the callers' time). */
const SWEEP_INTERVAL_MS = 10 * 60_000;
/** Registrations kept in memory (versioned-copies.ts); the least recently used goes first. */
const MAX_COPIES = 20_000;

export class SqliteRegistrations {
  private readonly upsert: Statement<RegistrationRow>;
  private readonly byUsername: Statement<[string], RegistrationRow>;
  private readonly remove: Statement<[string]>;
  private readonly sweep: Statement<[number]>;
  private readonly dataVersion: Statement<[], number>;
  private readonly saveAllInOne: (batch: readonly SaveRequest[]) => number;
  /** Registrations (and their absence) as last read or written: a refresh does not read its row again (at thousands of REGISTERs a second the read and its conversion showed in profiles). */
  private readonly copies = new VersionedCopies<string, StoredRegistration | null>(MAX_COPIES);
  private lastSweep = -Infinity;

  constructor(
    db: Database,
    private readonly version: DataVersion,
  ) {
    this.upsert = db.prepare(
      `INSERT INTO registrations (username, contact, source_address, source_port, source_transport, path, call_id, cseq, expires_at, user_agent)
       VALUES (@username, @contact, @source_address, @source_port, @source_transport, @path, @call_id, @cseq, @expires_at, @user_agent)
       ON CONFLICT (username) DO UPDATE SET contact = excluded.contact, source_address = excluded.source_address,
         source_port = excluded.source_port, source_transport = excluded.source_transport, path = excluded.path,
         call_id = excluded.call_id, cseq = excluded.cseq, expires_at = excluded.expires_at, user_agent = excluded.user_agent`,
    );
    // the row whatever its expiry, so that it can be kept as it is stored; get() applies the expiry
    this.byUsername = db.prepare('SELECT * FROM registrations WHERE username = ?');
    this.dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
    this.remove = db.prepare('DELETE FROM registrations WHERE username = ?');
    this.sweep = db.prepare('DELETE FROM registrations WHERE expires_at <= ?');
    this.saveAllInOne = db.transaction((batch: readonly SaveRequest[]) => {
      for (const b of batch) this.write(b.registration, b.now);
      // Read while this transaction holds the write lock: nobody else can commit before ours does.
      return this.dataVersion.get()!;
    });
  }

  /** Several saves in one transaction (in order: a later save of the same account wins). */
  saveAll(batch: readonly SaveRequest[]): void {
    let version: number;
    try {
      version = this.saveAllInOne(batch);
      this.version.observe(version); // read under the write lock: as fresh as a reading gets
    } catch (e) {
      for (const b of batch) this.copies.forget(b.registration.username);
      throw e;
    }
    // kept in the very shape a read gives
    for (const b of batch) this.copies.put(b.registration.username, frozen(toRegistration(rowOf(b.registration))), version);
  }

  save(r: StoredRegistration, now: number): void {
    this.saveAll([{ registration: r, now }]);
  }

  /** The live binding; the copy kept from an earlier read or save while no other connection has committed since. */
  get(username: string, now: number): StoredRegistration | null {
    const version = this.version.current(); // read before the row: a commit in between only retires the copy early
    let stored = this.copies.get(username, version);
    if (stored === undefined) {
      const row = this.byUsername.get(username);
      stored = row ? frozen(toRegistration(row)) : null;
      this.copies.put(username, stored, version);
    }
    return stored && stored.expiresAt > now ? stored : null;
  }

  delete(username: string): boolean {
    this.copies.forget(username);
    return this.remove.run(username).changes > 0;
  }

  private write(r: StoredRegistration, now: number): void {
    if (now - this.lastSweep >= SWEEP_INTERVAL_MS) {
      this.lastSweep = now;
      this.sweep.run(now); // lapsed rows only: a copy of one reads as no binding all the same
    }
    this.upsert.run(rowOf(r));
  }
}

export interface SaveRequest {
  registration: StoredRegistration;
  now: number;
}

/**
 * Coalesces the registration saves that arrive in one turn of the event
 * loop into one transaction: under load (hundreds of REGISTERs a second,
 * read in batches from the socket) a commit per REGISTER was the store's
 * main cost. Each save's promise settles only once its transaction has
 * committed (or failed), so the 200 still goes out after the binding is
 * stored: nothing is acknowledged before it is written.
 */
export class RegistrationSaveBatcher {
  private pending: { request: SaveRequest; resolve: () => void; reject: (e: unknown) => void }[] = [];

  constructor(private readonly writeAll: (batch: readonly SaveRequest[]) => Promise<void>) {}

  save(registration: StoredRegistration, now: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const first = this.pending.push({ request: { registration, now }, resolve, reject }) === 1;
      if (first) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    this.writeAll(batch.map((b) => b.request)).then(
      () => {
        for (const b of batch) b.resolve();
      },
      (e: unknown) => {
        for (const b of batch) b.reject(e);
      },
    );
  }
}

/** Callers share a kept copy: none may change it. */
function frozen(r: StoredRegistration): StoredRegistration {
  Object.freeze(r.path);
  return Object.freeze(r);
}

function rowOf(r: StoredRegistration): RegistrationRow {
  return {
    username: r.username,
    contact: r.contact,
    source_address: r.sourceAddress,
    source_port: r.sourcePort,
    source_transport: r.sourceTransport,
    path: JSON.stringify(r.path),
    call_id: r.callId,
    cseq: r.cseq,
    expires_at: r.expiresAt,
    user_agent: r.userAgent ?? null,
  };
}
