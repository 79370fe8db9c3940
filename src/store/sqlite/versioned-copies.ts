/**
 * Values as this connection last read or wrote them, each with the
 * `PRAGMA data_version` reading it goes with (data-version.ts). A copy is
 * used only while `data_version` still reads the same, i.e. no other
 * connection (another papgate process, the CLI) has committed since; this
 * connection's own writes update or drop the copy as they commit. The
 * registrations and the sites keep theirs here; the device and trust copies
 * have more to them (device-cache.ts, trust-cache.ts).
 */
export class VersionedCopies<K, V> {
  private readonly copies = new Map<K, { value: V; version: number }>();

  /** `max`: copies kept; past it the one used longest ago goes. */
  constructor(private readonly max: number) {}

  /** The copy read or written at `version`; undefined when there is none for that version (a copy of another version is dropped). */
  get(key: K, version: number): V | undefined {
    const copy = this.copies.get(key);
    if (copy === undefined) return undefined;
    if (copy.version === version) return copy.value;
    this.copies.delete(key);
    return undefined;
  }

  put(key: K, value: V, version: number): void {
    this.copies.delete(key); // re-inserted at the end: the map stays in order of last use
    if (this.copies.size >= this.max) this.copies.delete(this.copies.keys().next().value!);
    this.copies.set(key, { value, version });
  }

  forget(key: K): void {
    this.copies.delete(key);
  }
}
