import type { AdminServices } from '../../app/services';

/** Flags of `papgate serve`, keyed by the environment variable each one overrides (pass to loadConfig as overrides). */
export type ServeFlags = Partial<Record<'PAPGATE_DB' | 'PAPGATE_PROVISIONING_PORT' | 'PAPGATE_ADMIN_PORT' | 'PAPGATE_SIP_PORT' | 'PAPGATE_PUBLIC_URL', string>>;

/** What the CLI needs from its host (src/cli.ts, or a test). */
export interface CliContext {
  /** Opens the store at `dbPath` and the admin use cases over it. */
  openServices(dbPath: string): Promise<{ services: AdminServices; close(): Promise<void> }>;
  /** `papgate migrate`: applies the pending schema migrations of the store at `db`. */
  migrate?(db: string): Promise<{ store: string; from: number; to: number }>;
  /** `papgate copy`: moves a whole SQLite store into an empty PostgreSQL database; how many rows of each kind. */
  copy?(from: string, to: string): Promise<Record<string, number>>;
  /** Runs the server (src/main.ts). */
  serve(flags: ServeFlags): Promise<void>;
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  /**
   * Records the exit code. Without it the CLI sets process.exitCode, and
   * exits the process on commander's own usage errors and --help.
   */
  setExitCode?(code: number): void;
}
