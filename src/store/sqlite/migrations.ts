/**
 * Numbered schema migrations, applied in order at open (see migrate.ts).
 * Entry i is migration i + 1. Never edit a migration that has shipped:
 * append a new one. Kept as TS strings so tsc carries them into dist.
 *
 * Tables are STRICT so a wrong type is refused instead of silently stored.
 * Times are epoch milliseconds (INTEGER).
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the things of section 1 of docs/behaviour.md.
  `
  CREATE TABLE tenants (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    locale      TEXT    NOT NULL,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE sites (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    locale      TEXT,
    UNIQUE (tenant_id, name),
    -- target of the devices (site_id, tenant_id) key: a device's site belongs to its tenant
    UNIQUE (id, tenant_id)
  ) STRICT;

  CREATE TABLE devices (
    mac                  TEXT    PRIMARY KEY,
    tenant_id            INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    site_id              INTEGER,
    vendor               TEXT    NOT NULL,
    model                TEXT    NOT NULL,
    created_at           INTEGER NOT NULL,
    auth_state           TEXT    NOT NULL CHECK (auth_state IN ('needed', 'failed', 'blocked', 'successful')),
    pap                  TEXT,
    failures             INTEGER NOT NULL DEFAULT 0,
    lockouts             INTEGER NOT NULL DEFAULT 0,
    locked_until         INTEGER,
    suspended_until      INTEGER,
    secret_hash          TEXT,
    prev_secret_hash     TEXT,
    sip_username         TEXT    NOT NULL UNIQUE,
    sip_password         TEXT    NOT NULL,
    lines                TEXT    NOT NULL DEFAULT '[]',
    last_provisioned_ip  TEXT,
    last_provisioned_at  INTEGER,
    FOREIGN KEY (site_id, tenant_id) REFERENCES sites(id, tenant_id)
  ) STRICT;
  CREATE INDEX devices_by_tenant ON devices (tenant_id, created_at, mac);
  CREATE INDEX devices_by_site ON devices (site_id, tenant_id);
  -- sip_username has its own UNIQUE index (the lookup by SIP username)

  CREATE TABLE allow_entries (
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    cidr        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, cidr)
  ) STRICT;

  CREATE TABLE temporary_trust (
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ip          TEXT    NOT NULL,
    until       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, ip)
  ) STRICT;
  CREATE INDEX temporary_trust_by_until ON temporary_trust (until);

  -- No foreign keys: the audit trail outlives the devices it mentions.
  CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    tenant_id   INTEGER,
    mac         TEXT,
    source_ip   TEXT,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    outcome     TEXT    NOT NULL
  ) STRICT;
  CREATE INDEX audit_by_tenant ON audit (tenant_id, id);
  `,
  // 2: SIP registrations, shared by every process and node on this store.
  `
  CREATE TABLE registrations (
    username          TEXT    PRIMARY KEY,
    contact           TEXT    NOT NULL,
    source_address    TEXT    NOT NULL,
    source_port       INTEGER NOT NULL,
    source_transport  TEXT    NOT NULL CHECK (source_transport IN ('udp', 'tcp')),
    path              TEXT    NOT NULL DEFAULT '[]',
    call_id           TEXT    NOT NULL,
    cseq              INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    user_agent        TEXT
  ) STRICT;
  `,
  // 3: registrations may come over SIP over TLS. SQLite cannot change a CHECK in place: rebuild the table.
  `
  CREATE TABLE registrations_v3 (
    username          TEXT    PRIMARY KEY,
    contact           TEXT    NOT NULL,
    source_address    TEXT    NOT NULL,
    source_port       INTEGER NOT NULL,
    source_transport  TEXT    NOT NULL CHECK (source_transport IN ('udp', 'tcp', 'tls')),
    path              TEXT    NOT NULL DEFAULT '[]',
    call_id           TEXT    NOT NULL,
    cseq              INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    user_agent        TEXT
  ) STRICT;
  INSERT INTO registrations_v3 SELECT username, contact, source_address, source_port, source_transport, path, call_id, cseq, expires_at, user_agent FROM registrations;
  DROP TABLE registrations;
  ALTER TABLE registrations_v3 RENAME TO registrations;
  `,
  // 4: per-tenant webhooks and the outbox of their deliveries (see docs/webhooks.md).
  `
  CREATE TABLE webhooks (
    tenant_id   INTEGER PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    url         TEXT    NOT NULL,
    secret      TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE webhook_deliveries (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT    NOT NULL UNIQUE,
    tenant_id        INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    mac              TEXT    NOT NULL,
    site_id          INTEGER,
    state            TEXT    NOT NULL CHECK (state IN ('blocked', 'failed', 'successful')),
    at               INTEGER NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    lease_until      INTEGER NOT NULL DEFAULT 0,
    last_result      TEXT,
    finished_at      INTEGER
  ) STRICT;
  CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (tenant_id, mac, seq) WHERE status = 'pending';
  CREATE INDEX webhook_deliveries_by_tenant ON webhook_deliveries (tenant_id, seq);
  CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE status <> 'pending';
  `,
  // 5: a site's own emergency numbers (comma-separated; '' = none), added to the global ones.
  `
  ALTER TABLE sites ADD COLUMN emergency_numbers TEXT NOT NULL DEFAULT '';
  `,
  // 6: devices keyed by their MAC alone. A rowid table found a device by MAC in two
  // B-trees (the MAC's index, then the row); WITHOUT ROWID keeps the row in the
  // MAC's B-tree: one descent per lookup and per last-seen write. A rebuild, like 3.
  `
  CREATE TABLE devices_v6 (
    mac                  TEXT    PRIMARY KEY,
    tenant_id            INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    site_id              INTEGER,
    vendor               TEXT    NOT NULL,
    model                TEXT    NOT NULL,
    created_at           INTEGER NOT NULL,
    auth_state           TEXT    NOT NULL CHECK (auth_state IN ('needed', 'failed', 'blocked', 'successful')),
    pap                  TEXT,
    failures             INTEGER NOT NULL DEFAULT 0,
    lockouts             INTEGER NOT NULL DEFAULT 0,
    locked_until         INTEGER,
    suspended_until      INTEGER,
    secret_hash          TEXT,
    prev_secret_hash     TEXT,
    sip_username         TEXT    NOT NULL UNIQUE,
    sip_password         TEXT    NOT NULL,
    lines                TEXT    NOT NULL DEFAULT '[]',
    last_provisioned_ip  TEXT,
    last_provisioned_at  INTEGER,
    FOREIGN KEY (site_id, tenant_id) REFERENCES sites(id, tenant_id)
  ) STRICT, WITHOUT ROWID;
  INSERT INTO devices_v6 (mac, tenant_id, site_id, vendor, model, created_at, auth_state, pap, failures, lockouts, locked_until,
      suspended_until, secret_hash, prev_secret_hash, sip_username, sip_password, lines, last_provisioned_ip, last_provisioned_at)
    SELECT mac, tenant_id, site_id, vendor, model, created_at, auth_state, pap, failures, lockouts, locked_until,
      suspended_until, secret_hash, prev_secret_hash, sip_username, sip_password, lines, last_provisioned_ip, last_provisioned_at
    FROM devices ORDER BY mac;
  DROP TABLE devices;
  ALTER TABLE devices_v6 RENAME TO devices;
  CREATE INDEX devices_by_tenant ON devices (tenant_id, created_at, mac);
  CREATE INDEX devices_by_site ON devices (site_id, tenant_id);
  `,
  // 7: a numbered log of the devices changed, by any connection, from which each
  // server process keeps its copy of every device current (device-directory.ts).
  // Triggers write it, so no writer can forget; the newest 100,000 entries are kept.
  // AUTOINCREMENT: a number is never given twice, even after the oldest are deleted.
  `
  CREATE TABLE device_changes (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    mac  TEXT    NOT NULL
  ) STRICT;
  CREATE TRIGGER devices_inserted AFTER INSERT ON devices BEGIN
    INSERT INTO device_changes (mac) VALUES (NEW.mac);
  END;
  -- Not when only where and when a phone last fetched its configuration changed (last-seen.ts):
  -- a first contact must not cost every other process a row read.
  CREATE TRIGGER devices_updated AFTER UPDATE OF mac, tenant_id, site_id, vendor, model, created_at, auth_state, pap, failures,
      lockouts, locked_until, suspended_until, secret_hash, prev_secret_hash, sip_username, sip_password, lines ON devices BEGIN
    INSERT INTO device_changes (mac) VALUES (NEW.mac);
    INSERT INTO device_changes (mac) SELECT OLD.mac WHERE OLD.mac <> NEW.mac;
  END;
  CREATE TRIGGER devices_deleted AFTER DELETE ON devices BEGIN
    INSERT INTO device_changes (mac) VALUES (OLD.mac);
  END;
  CREATE TRIGGER device_changes_trimmed AFTER INSERT ON device_changes WHEN NEW.seq % 1000 = 0 BEGIN
    DELETE FROM device_changes WHERE seq <= NEW.seq - 100000;
  END;
  `,
  // 8: the same log, written for less. 7's INSERT ... SELECT into a table with a
  // trigger (the trimming) made every logged update of a device build and drop a
  // temporary B-tree, even when it logged no old MAC (about a twentieth of a full
  // configuration's CPU). A MAC that changes is now logged by a trigger of its own.
  `
  DROP TRIGGER devices_updated;
  CREATE TRIGGER devices_updated AFTER UPDATE OF mac, tenant_id, site_id, vendor, model, created_at, auth_state, pap, failures,
      lockouts, locked_until, suspended_until, secret_hash, prev_secret_hash, sip_username, sip_password, lines ON devices BEGIN
    INSERT INTO device_changes (mac) VALUES (NEW.mac);
  END;
  CREATE TRIGGER devices_renamed AFTER UPDATE OF mac ON devices WHEN OLD.mac <> NEW.mac BEGIN
    INSERT INTO device_changes (mac) VALUES (OLD.mac);
  END;
  `,
];
