import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { migratePostgres } from '../../src/store/postgres';

/**
 * A PostgreSQL server for tests. PAPGATE_TEST_PG_URL names one (CI starts a
 * throw-away cluster and exports it); otherwise the first test that asks
 * starts its own cluster (initdb + pg_ctl, as user nobody when running as
 * root: PostgreSQL refuses root) in a temp dir on a free port, stopped after
 * the last test. Every database a test gets is a fresh copy of a migrated
 * template, dropped (or thrown away with the cluster) at the end.
 */

const run = promisify(execFile);
const STEP_TIMEOUT_MS = 120_000;

export interface TestPostgres {
  /** A new, migrated, empty database: its URL. */
  freshDatabase(): Promise<string>;
  /** A new database with no schema at all: its URL. */
  emptyDatabase(): Promise<string>;
}

/** Why PostgreSQL tests cannot run here, or null when they can. */
export function postgresUnavailableReason(): string | null {
  if (process.env.PAPGATE_TEST_PG_URL) return null;
  if (!onPath('initdb') || !onPath('pg_ctl')) return 'PAPGATE_TEST_PG_URL is not set and initdb/pg_ctl are not on PATH';
  if (process.getuid?.() === 0 && !onPath('runuser')) return 'running as root without runuser to start PostgreSQL as nobody';
  return null;
}

/**
 * Registers the PostgreSQL tests of `title`: run when a server can be had,
 * skipped loudly when not, and failed when CI=true (CI must run them).
 */
export function describePostgres(title: string, body: (pg: () => TestPostgres) => void): void {
  const why = postgresUnavailableReason();
  if (why === null) {
    describe(title, function () {
      this.timeout(60_000);
      body(() => shared);
    });
    return;
  }
  if (process.env.CI === 'true') {
    describe(title, () =>
      it('needs PostgreSQL', () => {
        throw new Error(`PostgreSQL tests cannot run: ${why}`);
      }),
    );
    return;
  }
  process.stdout.write(`\n  !!! SKIPPING "${title}": ${why}\n\n`);
  describe.skip(title, () => body(() => shared));
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, cmd)));
}

interface Server {
  adminUrl: string;
  stop(): Promise<void>;
}

let server: Promise<Server> | undefined;
let template: Promise<string> | undefined;
const created: string[] = [];
let serial = 0;

const shared: TestPostgres = {
  async freshDatabase() {
    return createDatabase(await templateName());
  },
  async emptyDatabase() {
    return createDatabase('template0');
  },
};

async function createDatabase(from: string): Promise<string> {
  const { adminUrl } = await getServer();
  const name = `papgate_t${process.pid}_${++serial}`;
  await admin(adminUrl, `CREATE DATABASE ${name} TEMPLATE ${from}`);
  created.push(name);
  return urlOf(adminUrl, name);
}

async function templateName(): Promise<string> {
  template ??= (async () => {
    const { adminUrl } = await getServer();
    const name = `papgate_tpl${process.pid}`;
    await admin(adminUrl, `CREATE DATABASE ${name}`);
    created.push(name);
    await migratePostgres(urlOf(adminUrl, name));
    return name;
  })();
  return template;
}

function getServer(): Promise<Server> {
  server ??= process.env.PAPGATE_TEST_PG_URL ? Promise.resolve({ adminUrl: process.env.PAPGATE_TEST_PG_URL, stop: async () => undefined }) : startCluster();
  return server;
}

export function urlOf(adminUrl: string, database: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin(adminUrl: string, sql: string): Promise<void> {
  const c = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A command as the user PostgreSQL accepts: nobody when we are root. */
function asPostgresUser(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'nobody', '--', cmd, ...args]] : [cmd, args];
}

async function startCluster(): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'papgate-pg-'));
  if (process.getuid?.() === 0) chownSync(dir, 65534, 65534);
  const data = join(dir, 'data');
  const exec = (cmd: string, args: string[]) => {
    const [c, a] = asPostgresUser(cmd, args);
    return run(c, a, { cwd: dir, timeout: STEP_TIMEOUT_MS });
  };
  const port = await freePort();
  await exec('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  // Durability off: a test cluster is thrown away, and fsyncs would only slow the shared machine.
  const settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300`;
  await exec('pg_ctl', ['-D', data, '-o', settings, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
  return {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs once after every test file: drops what was created on a given server, stops a cluster we started. */
async function stopAll(): Promise<void> {
  if (!server) return;
  const s = await server.catch(() => null);
  if (!s) return;
  if (process.env.PAPGATE_TEST_PG_URL) {
    for (const name of created.splice(0)) {
      await admin(s.adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    }
  }
  await s.stop();
}

// A root-level hook (this module is loaded while mocha reads the spec files); a loaded machine may take a while.
if (typeof after === 'function') {
  after(async function () {
    this.timeout(120_000);
    await stopAll();
  });
}
