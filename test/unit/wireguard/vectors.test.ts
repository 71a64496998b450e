// Public test vectors run through src/wireguard's primitives and Noise code:
// - KDF1/KDF2/KDF3 over HMAC-BLAKE2s: WireGuard/wireguard-go, device/kdf_test.go (TestKDF).
// - Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, the pattern and cipher suite WireGuard runs: the
//   cacophony vector as shipped in mcginty/snow, tests/vectors/cacophony.txt (prologue "John Galt",
//   one psk, fixed static and ephemeral keys; two handshake messages, then four transport
//   messages whose nonces count from 0 each way).
import { describe, expect, it } from 'vitest';
import { aeadOpen, aeadSeal, kdf1, kdf2, kdf3, staticKeys, dh } from '../../../src/wireguard/crypto.js';
import {
  readFirstMessagePayload,
  readFirstMessageStatic,
  readSecondMessage,
  startHandshake,
  writeFirstMessage,
  writeSecondMessage,
} from '../../../src/wireguard/noise.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('KDF (wireguard-go device/kdf_test.go)', () => {
  const vectors = [
    {
      key: '746573742d6b6579',
      input: '746573742d696e707574',
      t0: '6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633',
      t1: 'df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a',
      t2: 'fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24',
    },
    {
      key: '776972656775617264',
      input: '776972656775617264',
      t0: '491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8',
      t1: '1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f',
      t2: '31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160',
    },
    {
      key: '',
      input: '',
      t0: '8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0',
      t1: '58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e',
      t2: '0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e',
    },
  ];
  it.each(vectors)('KDF of key $key, input $input', (v) => {
    const [a, b, c] = kdf3(hex(v.key), hex(v.input));
    expect([a.toString('hex'), b.toString('hex'), c.toString('hex')]).toEqual([v.t0, v.t1, v.t2]);
    const [d, e] = kdf2(hex(v.key), hex(v.input));
    expect([d.toString('hex'), e.toString('hex')]).toEqual([v.t0, v.t1]);
    expect(kdf1(hex(v.key), hex(v.input)).toString('hex')).toBe(v.t0);
  });
});

describe('Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s (cacophony vector, mcginty/snow tests/vectors/cacophony.txt)', () => {
  const v = {
    prologue: hex('4a6f686e2047616c74'),
    psk: hex('54686973206973206d7920417573747269616e20706572737065637469766521'),
    initStatic: hex('e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1'),
    initEphemeral: hex('893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a'),
    initRemoteStatic: hex('31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62'),
    respStatic: hex('4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893'),
    respEphemeral: hex('bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b'),
    handshakeHash: 'f5191b875290abcd41347ac3622d9679688a7e980229cb937ef748336cfde0e5',
    messages: [
      {
        payload: '4c756477696720766f6e204d69736573',
        ciphertext:
          'ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944001e21de9f98ddd8e2ad57527207feb56253c9c94a9e4967' +
          '82ecfcb2a75fbcaf1b52948cc48daefe660c62119ab5000980c84831215f2441eba616548e832985464cf17e51ee93109008399a21f7e13f',
      },
      {
        payload: '4d757272617920526f746862617264',
        ciphertext:
          '95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843cb765f2caef0751b8f007572dab0322217755c0632f365717edbf34d33e87a',
      },
      { payload: '462e20412e20486179656b', ciphertext: '8153ca9833bc3c1b91a7e66e5f4d4f5b59bf9e64c2f20d15f0bba7' },
      { payload: '4361726c204d656e676572', ciphertext: '07af0c9c86e1b4e80f36b04ff7688d51141af3debd0332f0a705ef' },
      {
        payload: '4a65616e2d426170746973746520536179',
        ciphertext: '6ab1467c0448cc78394494abaaf23afce0e234315d6e2624dcbfa8a21c1c4d073d',
      },
      {
        payload: '457567656e2042f6686d20766f6e2042617765726b',
        ciphertext: 'dfc346c0d2296ae6cf1acf6f12b8456a1dba228cf8d8b774aacf1c47fc53aa80ebc7a4c292',
      },
    ],
  };
  const name = 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s';

  it('derives the responder public key the vector names', () => {
    expect(staticKeys(v.respStatic).publicKey.equals(v.initRemoteStatic)).toBe(true);
  });

  it('initiator and responder produce the vector bytes, the handshake hash and the transport ciphertexts', () => {
    const iS = staticKeys(v.initStatic);
    const iE = staticKeys(v.initEphemeral);
    const rS = staticKeys(v.respStatic);
    const rE = staticKeys(v.respEphemeral);
    const ctx = { protocolName: name, prologue: v.prologue, responderStatic: rS.publicKey };

    const init = startHandshake(ctx);
    const m1 = writeFirstMessage(
      init,
      iS,
      iE,
      rS.publicKey,
      dh(iS.keyObject, rS.publicKey)!,
      hex(v.messages[0].payload),
    );
    expect(m1!.toString('hex')).toBe(v.messages[0].ciphertext);

    const resp = startHandshake(ctx);
    const who = readFirstMessageStatic(resp, rS, m1!);
    expect(who!.remoteStatic.equals(iS.publicKey)).toBe(true);
    const p1 = readFirstMessagePayload(resp, m1!, dh(rS.keyObject, who!.remoteStatic)!);
    expect(p1!.toString('hex')).toBe(v.messages[0].payload);

    const m2 = writeSecondMessage(resp, rE, who!.remoteEphemeral, who!.remoteStatic, v.psk, hex(v.messages[1].payload));
    expect(m2!.toString('hex')).toBe(v.messages[1].ciphertext);
    const p2 = readSecondMessage(init, iS, iE.keyObject, v.psk, m2!);
    expect(p2!.toString('hex')).toBe(v.messages[1].payload);

    expect(init.h.toString('hex')).toBe(v.handshakeHash);
    expect(resp.h.toString('hex')).toBe(v.handshakeHash);
    const [iToR, rToI] = init.split();
    const [iToR2, rToI2] = resp.split();
    expect(iToR.equals(iToR2) && rToI.equals(rToI2)).toBe(true);

    // Transport: messages alternate initiator → responder, responder → initiator; empty AD.
    const counters = [0n, 0n];
    v.messages.slice(2).forEach((m, i) => {
      const dir = i % 2;
      const key = dir === 0 ? iToR : rToI;
      const n = counters[dir]++;
      expect(aeadSeal(key, n, hex(m.payload), new Uint8Array(0)).toString('hex')).toBe(m.ciphertext);
      expect(aeadOpen(key, n, hex(m.ciphertext), new Uint8Array(0))!.toString('hex')).toBe(m.payload);
    });
  });

  it('a wrong psk fails the second message', () => {
    const iS = staticKeys(v.initStatic);
    const iE = staticKeys(v.initEphemeral);
    const rS = staticKeys(v.respStatic);
    const rE = staticKeys(v.respEphemeral);
    const ctx = { protocolName: name, prologue: v.prologue, responderStatic: rS.publicKey };
    const init = startHandshake(ctx);
    const m1 = writeFirstMessage(init, iS, iE, rS.publicKey, dh(iS.keyObject, rS.publicKey)!, new Uint8Array(0))!;
    const resp = startHandshake(ctx);
    const who = readFirstMessageStatic(resp, rS, m1)!;
    readFirstMessagePayload(resp, m1, dh(rS.keyObject, who.remoteStatic)!);
    const m2 = writeSecondMessage(
      resp,
      rE,
      who.remoteEphemeral,
      who.remoteStatic,
      Buffer.alloc(32, 7),
      new Uint8Array(0),
    )!;
    expect(readSecondMessage(init, iS, iE.keyObject, v.psk, m2)).toBeNull();
  });
});
