import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, cpSync, createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * drachtio-server and FreeSWITCH as child processes on loopback, started the
 * way docker-compose.yml starts them: drachtio with a configuration file
 * written here, FreeSWITCH with the project's freeswitch-conf/ (a copy, with
 * the prompts directory and the loopback address filled in). Their output
 * goes to log files in the run's directory.
 */

export const REPO = path.resolve(__dirname, '..', '..');

export interface Binaries {
  drachtio: string;
  freeswitch: string;
}

/** Binaries from PAPGATE_DRACHTIO_BIN / PAPGATE_FREESWITCH_BIN or PATH; `missing` says what is not there. */
export function findBinaries(env: NodeJS.ProcessEnv = process.env): { found?: Binaries; missing: string[] } {
  const missing: string[] = [];
  const pick = (variable: string, name: string): string | undefined => {
    const given = env[variable];
    const bin = given || which(name);
    if (!bin) missing.push(`${name}: not on PATH and ${variable} is not set`);
    else if (!executable(bin)) missing.push(`${name}: ${bin} is not an executable file${given ? ` (${variable})` : ''}`);
    else return bin;
    return undefined;
  };
  const drachtio = pick('PAPGATE_DRACHTIO_BIN', 'drachtio');
  const freeswitch = pick('PAPGATE_FREESWITCH_BIN', 'freeswitch');
  return drachtio && freeswitch ? { found: { drachtio, freeswitch }, missing } : { missing };
}

function which(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface Server {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly logFile: string;
  stop(): Promise<void>;
}

export interface StackPorts {
  /** drachtio-server's SIP port (phones send here), on 127.0.0.1. */
  sip: number;
  /** drachtio-server's admin port (papgate connects here). */
  drachtioAdmin: number;
  /** FreeSWITCH event socket and drachtio_mrf SIP port, as in freeswitch-conf/. */
  esl: number;
  freeswitchSip: number;
}

export function drachtioConf(ports: StackPorts, secret: string): string {
  return `<drachtio>
  <admin port="${ports.drachtioAdmin}" secret="${secret}">127.0.0.1</admin>
  <sip>
    <contacts>
      <contact>sip:127.0.0.1:${ports.sip};transport=udp,tcp</contact>
    </contacts>
  </sip>
  <cdrs>false</cdrs>
  <logging>
    <console/>
    <loglevel>info</loglevel>
    <sofia-loglevel>3</sofia-loglevel>
  </logging>
</drachtio>
`;
}

export async function startDrachtio(bin: string, dir: string, ports: StackPorts, secret: string): Promise<Server> {
  const conf = path.join(dir, 'drachtio.conf.xml');
  writeFileSync(conf, drachtioConf(ports, secret));
  const server = launch('drachtio-server', bin, ['-f', conf], dir);
  await waitForPort(ports.drachtioAdmin, server, 20_000);
  return server;
}

/**
 * The project's freeswitch-conf/ copied into the run dir with papgate's
 * prompts directory and a loopback address (a machine's LAN address would
 * do as well; loopback keeps the run inside this host or network namespace).
 */
export function freeswitchConfCopy(dir: string, promptsDir: string, address: string): string {
  const conf = path.join(dir, 'freeswitch-conf');
  cpSync(path.join(REPO, 'freeswitch-conf'), conf, { recursive: true });
  const vars = path.join(conf, 'vars.xml');
  const text = readFileSync(vars, 'utf8')
    .replace('<include>', `<include>\n  <X-PRE-PROCESS cmd="set" data="local_ip_v4=${address}"/>`)
    .replace(/data="papgate_prompts=[^"]*"/, `data="papgate_prompts=${promptsDir}"`);
  writeFileSync(vars, text);
  return conf;
}

export async function startFreeswitch(bin: string, dir: string, ports: StackPorts, promptsDir: string): Promise<Server> {
  const conf = freeswitchConfCopy(dir, promptsDir, '127.0.0.1');
  for (const d of ['log', 'db', 'run']) mkdirSync(path.join(dir, `freeswitch-${d}`), { recursive: true });
  // -nf -nc: in the foreground, without the interactive console (which needs a terminal)
  const server = launch(
    'freeswitch',
    bin,
    [
      '-nonat',
      '-nf',
      '-nc',
      '-conf',
      conf,
      '-log',
      path.join(dir, 'freeswitch-log'),
      '-db',
      path.join(dir, 'freeswitch-db'),
      '-run',
      path.join(dir, 'freeswitch-run'),
    ],
    dir,
  );
  await waitForPort(ports.esl, server, 60_000);
  return server;
}

function launch(name: string, bin: string, args: string[], dir: string): Server {
  const logFile = path.join(dir, `${name}.log`);
  const out = createWriteStream(logFile);
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.pipe(out);
  proc.stderr?.pipe(out);
  let exited = false;
  proc.on('exit', () => {
    exited = true;
  });
  return {
    name,
    proc,
    logFile,
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** Resolves once 127.0.0.1:port accepts a TCP connection; rejects if the process exits or time runs out. */
export async function waitForPort(port: number, server: Server, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.proc.exitCode !== null) throw new Error(`${server.name} exited (${server.proc.exitCode}); see ${server.logFile}`);
    if (await connects(port)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${server.name} did not open port ${port} within ${timeoutMs} ms; see ${server.logFile}`);
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
