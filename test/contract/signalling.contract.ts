import assert from 'node:assert/strict';
import type { CallEndReason, InboundCall, RegisterOutcome, NotifyOutcome } from '../../src/ports/signalling';
import { ACCOUNT, ANSWER, EMERGENCY, OFFER, until, type SignallingRig } from './signalling-rig';

/**
 * The behaviour every Signalling adapter must show, written once and run
 * against each stack over its real wire protocol (test/contract/signalling.test.ts).
 * `makeRig` returns a fresh, stopped rig each time.
 */
export function signallingContract(name: string, makeRig: () => Promise<SignallingRig>): void {
  describe(`Signalling contract: ${name}`, function () {
    this.timeout(20_000);
    let rig: SignallingRig;
    let calls: { call: InboundCall; emergency: boolean }[];
    let onCall: (call: InboundCall) => Promise<void>;

    beforeEach(async () => {
      rig = await makeRig();
      calls = [];
      onCall = async () => undefined;
      rig.signalling.on('call', (call, emergency) => calls.push({ call, emergency }));
      await rig.start({ handle: (call) => onCall(call) });
    });
    afterEach(async () => {
      await rig.stop();
    });

    const endedOf = (call: InboundCall) => new Promise<CallEndReason>((resolve) => call.once('ended', resolve));

    it('an INVITE to *89 reaches the handler with the caller identity the digest proved', async () => {
      let handled: InboundCall | undefined;
      onCall = async (call) => {
        handled = call;
        call.reject(486);
      };
      const phone = await rig.invite('*89');
      assert.equal((await phone.final()).status, 486);
      assert.ok(handled, 'the handler got the call');
      assert.equal(handled.dialled, '*89');
      assert.equal(handled.fromUser, ACCOUNT.username);
      assert.equal(handled.account?.username, ACCOUNT.username);
      assert.equal(handled.account?.mac, ACCOUNT.mac);
      assert.equal(handled.contact, rig.phoneContact);
      assert.equal(handled.offerSdp, OFFER);
      assert.equal(handled.source.address, '127.0.0.1');
      assert.equal(handled.callId, phone.callId);
      assert.deepEqual(
        calls.map((c) => [c.call, c.emergency]),
        [[handled, false]],
        "the 'call' event came first, not emergency",
      );
    });

    it('answer() sends 200 with our SDP and resolves on the ACK; hangup() sends BYE and ends the call once', async () => {
      let answered = false;
      let ended: Promise<CallEndReason> | undefined;
      let release!: () => void;
      const hangUpNow = new Promise<void>((resolve) => {
        release = resolve;
      });
      onCall = async (call) => {
        ended = endedOf(call);
        await call.answer(ANSWER);
        answered = true;
        await hangUpNow;
        await call.hangup();
      };
      const phone = await rig.invite('*89');
      const ok = await phone.final();
      assert.equal(ok.status, 200);
      assert.equal(ok.body, ANSWER);
      assert.equal(answered, false, 'answer() waits for the ACK');
      phone.ack();
      await until(() => answered, 'answer() to resolve after the ACK');
      const bye = phone.byeFromPapgate();
      release();
      await bye;
      assert.equal(await ended, 'local-hangup');
    });

    it("the phone's BYE ends an answered call as remote-bye", async () => {
      let ended: Promise<CallEndReason> | undefined;
      onCall = async (call) => {
        ended = endedOf(call);
        await call.answer(ANSWER);
      };
      const phone = await rig.invite('*89');
      assert.equal((await phone.final()).status, 200);
      phone.ack();
      await until(() => ended !== undefined, 'the call');
      assert.equal(await phone.bye(), 200);
      assert.equal(await ended, 'remote-bye');
    });

    it('delivers DTMF sent as SIP INFO, once per key, and refuses other INFO bodies', async () => {
      const digits: string[] = [];
      onCall = async (call) => {
        call.on('dtmf', (d) => digits.push(d));
        await call.answer(ANSWER);
      };
      const phone = await rig.invite('*89');
      assert.equal((await phone.final()).status, 200);
      phone.ack();
      await until(() => calls.length === 1, 'the call');
      assert.equal(await phone.info('application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n'), 200);
      assert.equal(await phone.info('application/dtmf', '11'), 200);
      assert.equal(await phone.info('text/plain', 'hello'), 415);
      assert.equal(await phone.info('application/dtmf-relay', 'Signal=x'), 400);
      await until(() => digits.length === 2, 'two digits');
      assert.deepEqual(digits, ['5', '#']);
      assert.equal(await phone.bye(), 200);
    });

    it('a CANCEL before the answer ends the call as remote-cancel', async () => {
      let ended: Promise<CallEndReason> | undefined;
      onCall = async (call) => {
        ended = endedOf(call);
      };
      const phone = await rig.invite('*89');
      await until(() => ended !== undefined, 'the call');
      phone.cancel();
      assert.equal(await ended, 'remote-cancel');
      if (rig.capabilities.cancelledInviteAnsweredBy === 'papgate') {
        assert.equal((await phone.final()).status, 487);
      } else {
        assert.deepEqual(await phone.finalsFromPapgate(), [], 'the SIP server answers 487 itself; papgate adds no final response');
      }
    });

    it('maps REGISTER outcomes alike: 401, 200 with a binding, 423 below Min-Expires, 403 for another AOR, Expires 0 unbinds', async () => {
      const outcomes: RegisterOutcome[] = [];
      rig.signalling.on('register', (o) => outcomes.push(o));
      assert.equal(await rig.registerBare(), 401);
      assert.equal(await rig.register({ expires: '120' }), 200);
      const bound = await rig.signalling.registration(ACCOUNT.username);
      assert.equal(bound?.contact, rig.phoneContact);
      assert.equal(bound?.source.address, '127.0.0.1');
      assert.equal(await rig.register({ expires: '10' }), 423);
      assert.equal(await rig.register({ aor: 'someone-else', expires: '120' }), 403);
      assert.equal(await rig.register({ expires: '120', password: 'wrong' }), 403);
      assert.equal(await rig.register({ expires: '0' }), 200);
      assert.equal(await rig.signalling.registration(ACCOUNT.username), undefined);
      // every REGISTER of ours was reported, with the account once the digest proved it
      const seen = outcomes.map((o) => `${o.status}:${o.username ?? '-'}`);
      assert.deepEqual(
        seen.filter((s) => !s.startsWith('401')),
        ['200:dev1', '423:dev1', '403:dev1', '403:-', '200:dev1'],
      );
      assert.equal(seen.filter((s) => s.startsWith('401')).length, 6, 'each REGISTER without credentials was challenged');
    });

    it('routes an emergency number to forward(): the gateway sees the target, our headers and the device as caller', async () => {
      let ended: Promise<CallEndReason> | undefined;
      let forwarded = false;
      onCall = async (call) => {
        ended = endedOf(call);
        await call.forward(rig.gatewayUri, { 'X-Papgate-Contract': 'yes' }, { kind: 'device', username: ACCOUNT.username });
        forwarded = true;
      };
      await rig.invite(EMERGENCY);
      const saw = await rig.gatewayRefused();
      assert.equal(saw.requestUri, rig.gatewayUri);
      assert.equal(saw.header('X-Papgate-Contract'), 'yes');
      const named = rig.capabilities.emergencyRelay === 'b2bua' ? saw.header('From') : saw.header('P-Asserted-Identity');
      assert.match(
        named ?? '',
        new RegExp(`sip:${ACCOUNT.username}@`),
        `the caller is named in ${rig.capabilities.emergencyRelay === 'b2bua' ? 'From' : 'P-Asserted-Identity'}`,
      );
      await until(() => forwarded, 'forward() to resolve once the gateway refused');
      assert.equal(await ended, 'error');
      assert.deepEqual(
        calls.map((c) => c.emergency),
        [true],
        "the 'call' event says emergency",
      );
    });

    it('sends a check-sync NOTIFY and resolves with the final status, 0 when none comes', async () => {
      const outcomes: NotifyOutcome[] = [];
      rig.signalling.on('notify', (o) => outcomes.push(o));
      assert.equal(await rig.signalling.notify(rig.notifyTarget(true), 'check-sync'), 200);
      assert.equal(await rig.signalling.notify(rig.notifyTarget(false), 'check-sync;reboot=false'), 0);
      assert.deepEqual(outcomes, [
        { username: ACCOUNT.username, event: 'check-sync', status: 200 },
        { username: ACCOUNT.username, event: 'check-sync;reboot=false', status: 0 },
      ]);
    });
  });
}
