import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bytesToHex, hexToBytes } from "../base/bytes.ts";
import { NetError } from "./errors.ts";
import {
  aeadDecrypt,
  aeadEncrypt,
  NOISE_PROTOCOL_NAME,
  NoiseXXHandshake,
  x25519,
  x25519KeyPairFromSecret,
} from "./noise.ts";

/**
 * The Noise_XX_25519_ChaChaPoly_SHA256 vector of the Cacophony test suite (as shipped in the
 * snow library's tests/vectors/cacophony.txt): keys, prologue, payloads and every ciphertext.
 * Messages alternate initiator, responder, initiator, then transport messages continue the
 * alternation with empty associated data.
 */
const CACOPHONY_XX = {
  prologue: "4a6f686e2047616c74",
  initiatorStatic: "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
  initiatorEphemeral: "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
  responderStatic: "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
  responderEphemeral: "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
  handshakeHash: "c8e5f64e846193be2a834104c2a009868d6c9f3bd3c186299888b488b2f1f58e",
  messages: [
    {
      payload: "4c756477696720766f6e204d69736573",
      ciphertext:
        "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79444c756477696720766f6e204d69736573",
    },
    {
      payload: "4d757272617920526f746862617264",
      ciphertext:
        "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884381cbad1f276e038c48378ffce2b65285e08d6b68aaa3629a5a8639392490e5b9bd5269c2f1e4f488ed8831161f19b7815528f8982ffe09be9b5c412f8a0db50f8814c7194e83f23dbd8d162c9326ad",
    },
    {
      payload: "462e20412e20486179656b",
      ciphertext:
        "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a80ae475b9df0f169ae80a89be0865b57f58c9fea0d4ec82a286427402f113e4b6ae769a1d95941d49b25030",
    },
    {
      payload: "4361726c204d656e676572",
      ciphertext: "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df",
    },
    {
      payload: "4a65616e2d426170746973746520536179",
      ciphertext: "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5",
    },
    {
      payload: "457567656e2042f6686d20766f6e2042617765726b",
      ciphertext: "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a58502ae3f",
    },
  ],
} as const;

function cacophonySides(): { initiator: NoiseXXHandshake; responder: NoiseXXHandshake } {
  const prologue = hexToBytes(CACOPHONY_XX.prologue);
  const key = (hex: string) => x25519KeyPairFromSecret(hexToBytes(hex));
  return {
    initiator: new NoiseXXHandshake(
      true,
      prologue,
      key(CACOPHONY_XX.initiatorStatic),
      key(CACOPHONY_XX.initiatorEphemeral),
    ),
    responder: new NoiseXXHandshake(
      false,
      prologue,
      key(CACOPHONY_XX.responderStatic),
      key(CACOPHONY_XX.responderEphemeral),
    ),
  };
}

describe("Noise XX", () => {
  it("is Noise_XX_25519_ChaChaPoly_SHA256", () => {
    assert.equal(NOISE_PROTOCOL_NAME, "Noise_XX_25519_ChaChaPoly_SHA256");
  });

  it("reproduces the Cacophony vector byte for byte, handshake and transport", () => {
    const { initiator, responder } = cacophonySides();
    const sides = [initiator, responder, initiator];
    for (let index = 0; index < 3; index++) {
      const vector = CACOPHONY_XX.messages[index]!;
      const writer = sides[index]!;
      const reader = index === 1 ? initiator : responder;
      const ciphertext = writer.writeMessage(() => hexToBytes(vector.payload));
      assert.equal(bytesToHex(ciphertext), vector.ciphertext, `handshake message ${index + 1}`);
      assert.equal(
        bytesToHex(reader.readMessage(ciphertext).payload),
        vector.payload,
        `payload ${index + 1}`,
      );
    }
    const initiatorKeys = initiator.split();
    const responderKeys = responder.split();
    assert.equal(bytesToHex(initiatorKeys.handshakeHash), CACOPHONY_XX.handshakeHash);
    assert.equal(bytesToHex(responderKeys.handshakeHash), CACOPHONY_XX.handshakeHash);
    assert.deepEqual(initiatorKeys.sendKey, responderKeys.receiveKey);
    assert.deepEqual(initiatorKeys.receiveKey, responderKeys.sendKey);
    // Transport: 4th message from the responder (nonce 0), 5th from the initiator (0), 6th responder (1).
    const transport = [
      { key: responderKeys.sendKey, nonce: 0 },
      { key: initiatorKeys.sendKey, nonce: 0 },
      { key: responderKeys.sendKey, nonce: 1 },
    ];
    transport.forEach(({ key, nonce }, offset) => {
      const vector = CACOPHONY_XX.messages[3 + offset]!;
      const ciphertext = aeadEncrypt(key, nonce, new Uint8Array(0), hexToBytes(vector.payload));
      assert.equal(bytesToHex(ciphertext), vector.ciphertext, `transport message ${offset + 4}`);
      const plaintext = aeadDecrypt(key, nonce, new Uint8Array(0), ciphertext);
      assert.equal(bytesToHex(plaintext!), vector.payload);
    });
  });

  it("refuses a tampered handshake message with a typed error", () => {
    const { initiator, responder } = cacophonySides();
    responder.readMessage(initiator.writeMessage(() => new Uint8Array(0)));
    const message2 = responder.writeMessage(() => new Uint8Array(0));
    message2[40] = message2[40]! ^ 1;
    assert.throws(
      () => initiator.readMessage(message2),
      (error: unknown) => error instanceof NetError && error.code === "NET_HANDSHAKE_AUTHENTICATION_FAILED",
    );
  });

  it("refuses an ephemeral key of small order (an all-zero shared secret)", () => {
    const { initiator, responder } = cacophonySides();
    const message1 = initiator.writeMessage(() => new Uint8Array(0));
    responder.readMessage(message1);
    const message2 = responder.writeMessage(() => new Uint8Array(0));
    message2.fill(0, 0, 32); // the point 0 has small order
    assert.throws(
      () => initiator.readMessage(message2),
      (error: unknown) => error instanceof NetError && error.code === "NET_HANDSHAKE_MALFORMED",
    );
    assert.equal(x25519(new Uint8Array(32).fill(9), new Uint8Array(32)), null);
  });

  it("refuses a message shorter than its keys", () => {
    const { initiator, responder } = cacophonySides();
    responder.readMessage(initiator.writeMessage(() => new Uint8Array(0)));
    responder.writeMessage(() => new Uint8Array(0));
    assert.throws(
      () => initiator.readMessage(new Uint8Array(40)),
      (error: unknown) => error instanceof NetError && error.code === "NET_HANDSHAKE_MALFORMED",
    );
  });
});
