import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ThreadedMediaEngine } from '../../src/media/embedded';
import { encodeWavPcm16 } from '../../src/media/embedded/wav';
import type { Logger } from '../../src/ports/logger';
import type { MediaSession } from '../../src/ports/media';
import { RtpPhone, until } from '../contract/media-rig';
import { freePortBlock } from '../helpers/ports';

// The threaded media engine beyond the media contract (which it also runs):
// what happens when its worker dies under calls, that its log lines reach the
// main logger without the digits, and that close() ends the thread.

const HOST = '127.0.0.1';

interface Line {
  level: string;
  bindings: Record<string, unknown>;
  obj: unknown;
  msg: string | undefined;
}

/** Keeps every line with the bindings of its child logger. */
function recordingLogger(lines: Line[], bindings: Record<string, unknown> = {}): Logger {
  const at = (level: string) => (obj: object | string, msg?: string) => void lines.push({ level, bindings, obj, msg });
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => recordingLogger(lines, { ...bindings, ...more }),
    isLevelEnabled: () => true,
  };
}

const rtpPort = (s: MediaSession) => Number(/^m=audio (\d+)/m.exec(s.answerSdp)?.[1]);

async function portFree(port: number): Promise<void> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, HOST, () => resolve());
  });
  await new Promise<void>((r) => sock.close(() => r()));
}

describe('media engine in a worker thread', function () {
  this.timeout(30_000);
  let dir: string;
  let longPrompt: string;
  let engine: ThreadedMediaEngine;
  let lines: Line[];
  let phone: RtpPhone;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papgate-media-thread-'));
    longPrompt = join(dir, 'long.wav');
    writeFileSync(longPrompt, encodeWavPcm16(Int16Array.from({ length: 8000 * 5 }, (_, i) => Math.round(6000 * Math.sin(i / 5)))));
    const rtpMin = await freePortBlock(20);
    lines = [];
    engine = new ThreadedMediaEngine({
      bindAddress: HOST,
      advertisedAddress: HOST,
      rtpPortMin: rtpMin,
      rtpPortMax: rtpMin + 19,
      inactivityMs: 0,
      log: recordingLogger(lines),
    });
    phone = await RtpPhone.open();
  });
  afterEach(async () => {
    await engine.close();
    await phone.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const playingCall = async (callId: string) => {
    const s = await engine.createSession({ callId, offerSdp: phone.offer('0 101'), signallingAddress: HOST });
    const before = phone.audioPackets.length;
    s.play([longPrompt]);
    await until(() => phone.audioPackets.length > before + 5, 'prompt audio at the phone', 10_000);
    return s;
  };

  it('a worker that dies ends its calls (prompt interrupted, inactive), logs it, frees the ports, and the next call gets a new worker', async () => {
    const calls = [await playingCall('a'), await playingCall('b')];
    const events = calls.map(() => [] as string[]);
    calls.forEach((s, i) => {
      s.on('playbackFinished', (interrupted) => events[i]!.push(`finished ${interrupted}`));
      s.on('inactive', () => events[i]!.push('inactive'));
    });
    const first = engine.worker!;
    const firstThread = first.threadId;
    await first.terminate(); // the thread dies as it would on a fatal error: no goodbye from it

    await until(() => events.every((e) => e.includes('inactive')), 'both calls told their media is gone');
    assert.deepEqual(events, [
      ['finished true', 'inactive'],
      ['finished true', 'inactive'],
    ]);
    for (const s of calls) await s.close(); // returns at once: nothing left to close
    const crash = lines.find((l) => l.level === 'error' && /media worker stopped unexpectedly/.test(l.msg ?? ''));
    assert.ok(crash, 'the crash is logged');
    assert.equal((crash.obj as { calls: number }).calls, 2);
    assert.equal(engine.stats().sessions, 0);
    for (const s of calls) await portFree(rtpPort(s));

    const next = await playingCall('c');
    assert.ok(engine.worker && engine.worker.threadId !== firstThread, 'a new worker thread');
    const finished: boolean[] = [];
    next.on('playbackFinished', (interrupted) => finished.push(interrupted));
    next.stopPlayback();
    await until(() => finished.length === 1, 'the new call works as before');
    await next.close();
  });

  it("forwards the worker's log lines with their call's bindings, never the digits typed", async () => {
    const s = await engine.createSession({ callId: 'logged-call', offerSdp: phone.offer('0 101'), signallingAddress: HOST });
    const digits: string[] = [];
    s.on('digit', (d) => digits.push(d));
    for (const key of ['7', '3', '9', '1', '5', '8', '#']) {
      phone.press(s.answerSdp, key);
      await until(() => digits.length > 0 && digits[digits.length - 1] === key, `digit ${key}`);
    }
    const started = lines.find((l) => l.msg === 'media session started');
    assert.ok(started, 'the debug line of the worker reached the main logger');
    assert.equal(started.bindings.callId, 'logged-call');
    assert.equal(started.bindings.rtpPort, rtpPort(s));
    const text = JSON.stringify(lines);
    assert.doesNotMatch(text, /739158/, 'the PIN typed is in no line');
    await s.close();
  });

  it('close() closes the open calls (prompt reported interrupted) and ends the thread', async () => {
    const s = await playingCall('open-at-close');
    const finished: boolean[] = [];
    s.on('playbackFinished', (interrupted) => finished.push(interrupted));
    const worker = engine.worker!;
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    await engine.close();
    assert.equal(await exited, 0, 'the thread ended by itself, not terminated');
    assert.equal(engine.worker, undefined);
    await s.close();
    assert.deepEqual(finished, [true]);
    await portFree(rtpPort(s));
    assert.ok(!lines.some((l) => l.level === 'error'), 'a shutdown is no crash');
    await assert.rejects(engine.createSession({ callId: 'late', offerSdp: phone.offer('0 101') }), /closed/);
  });
});

/** A thread's nice value as the kernel keeps it (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNice(tid: number | string): number {
  const stat = readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

describe('media worker thread priority', function () {
  this.timeout(30_000);
  if (process.platform !== 'linux') return;
  let engine: ThreadedMediaEngine | undefined;
  afterEach(async () => engine?.close());

  const start = async (nice: number | undefined) => {
    const lines: Line[] = [];
    const rtpMin = await freePortBlock(4);
    engine = new ThreadedMediaEngine(
      { bindAddress: HOST, advertisedAddress: HOST, rtpPortMin: rtpMin, rtpPortMax: rtpMin + 3, inactivityMs: 0, log: recordingLogger(lines) },
      nice === undefined ? {} : { nice },
    );
    await until(
      () => lines.some((l) => /media thread (priority set|keeps the process priority)/.test(l.msg ?? '')) || nice === undefined,
      'the worker reports its priority',
    );
    return lines;
  };

  const aCallIsSetUp = async (callId: string) => {
    const phone = await RtpPhone.open();
    try {
      const s = await engine!.createSession({ callId, offerSdp: phone.offer('0 101'), signallingAddress: HOST });
      await s.close();
    } finally {
      await phone.close();
    }
  };

  it('the worker thread alone takes the nice value asked for; the main thread keeps its own', async () => {
    const mainBefore = threadNice(process.pid);
    const wanted = Math.min(19, mainBefore + 3); // lowering a priority is always allowed
    const lines = await start(wanted);
    const set = lines.find((l) => l.msg === 'media thread priority set');
    assert.ok(set, JSON.stringify(lines));
    const tid = (set.obj as { tid: number }).tid;
    assert.notEqual(tid, process.pid, 'a thread of its own, not the main one');
    assert.equal(threadNice(tid), wanted);
    assert.equal(threadNice(process.pid), mainBefore, 'SIP and the store on the main thread are not affected');
  });

  it('a raise the system refuses is logged once, and the worker runs on at the process priority', async () => {
    const mainBefore = threadNice(process.pid);
    const lines = await start(-20);
    const set = lines.find((l) => l.msg === 'media thread priority set');
    const refused = lines.filter((l) => /media thread keeps the process priority/.test(l.msg ?? ''));
    // Which one happens depends on this machine's permissions (root, CAP_SYS_NICE, RLIMIT_NICE): each is checked.
    if (set) {
      assert.equal(refused.length, 0);
      assert.equal(threadNice((set.obj as { tid: number }).tid), -20);
    } else {
      assert.equal(refused.length, 1);
      assert.equal(refused[0]!.level, 'info');
      assert.match(String((refused[0]!.obj as { reason: string }).reason), /not permitted/);
    }
    assert.equal(threadNice(process.pid), mainBefore);
    await aCallIsSetUp('after-priority'); // either way the engine works
  });

  it('without a nice value the worker says nothing about priority', async () => {
    const lines = await start(undefined);
    await aCallIsSetUp('no-priority'); // the worker's ready message, which would carry it, came before
    assert.ok(!lines.some((l) => /media thread (priority set|keeps)/.test(l.msg ?? '')));
  });
});
