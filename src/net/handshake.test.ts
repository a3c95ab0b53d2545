import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { bytesToHex } from "../base/bytes.ts";
import { NetError, type NetErrorCode } from "./errors.ts";
import {
  frameHandshakeMessage,
  HANDSHAKE_MESSAGE_BYTES,
  HandshakeMessageReader,
  type HandshakeResult,
  PeerHandshake,
  type PeerHandshakeConfig,
} from "./handshake.ts";
import type { NodeIdentity } from "./identity.ts";
import { x25519KeyPairFromSecret } from "./noise.ts";
import { buildHandshakeVector, filledBytes, TEST_CHAIN_ID, testIdentity } from "./test-fixtures.ts";

/** Pinned here and printed in docs/PROTOCOL.md ("Peer transport", test vector). */
const PINNED_VECTOR = {
  chainId: "city-of-example-1",
  initiatorNodeKey: "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737",
  responderNodeKey: "a09aa5f47a6759802ff955f8dc2d2a14a5c99d23be97f864127ff9383455a4f0",
  prologue: "1c636974796c65646765722f706565722d68616e647368616b652f763111636974792d6f662d6578616d706c652d31",
  message1:
    "ff2ee45601ec1b67310c7790404585ae697331eee1c1f8cf2419731c1fff3e6b0115ad072d1b1b83d03806681834c8336f0e0097267dd075a29daf478170539bc8",
  message2:
    "219e4d800da968d2a5fcb009c784f4746c7138edb9ee4844b739e830b05cf4242a566ff13f9e618a77aac02bc2b34668dc5a431b10640a5715b4f5206123ec6ac8521a616e3f09d1d37daae41dfd5736fcefe534acd2eadf7b6f76a8c0271e321c229503bd751f9107d0632c80bf400963825741ec8617dc0e9ca8806b50d65cc03c3f7693079d7abdbc7093779290ed29f51f8423c3c4ce5475c1125e39a84548184b64e8adc5da2a30faaa778a25a642ffae4400f6626fe09b1d17819d54859a",
  message3:
    "f274e419c985db9d6790e0a699c95fd045aa8a8734983f0a2a1a40394ecc077bef83fbfa017d2aa27f48017e232f5f580b3cf0cb7d7c28919cdf48bb4049763159c0ce76460621f1b4c334c5722b16d5abdd033adf8bbc5cd6ababe07ec063a0b763b7d95c51025f22c6506dfa381d94356ed71f2582e58251f89249269956cabbba7656d362478e2ae65add6d4ad9e7dac3cb9283132dbbcc57f08180cf2b95f4",
  handshakeHash: "e8478726bb694a972322cdc6b91d419360e8683a28adb539e9f272af702cd08a",
  initiatorSendKey: "11df31cc6380f76357d56c2cb355d9ea2d8e7368d599d3b46d9506f753404b8d",
  responderSendKey: "380be85d793d1add00e443dd9ffca2fda41405c816393c8162d4c4ba0f06e21d",
  responderFirstFrame: "0000001b23ae373a01796d96f978de4382180226013b25e3ccaf2f7725bbf9",
};

let keySeed = 0x80;
function side(
  role: "initiator" | "responder",
  identity: NodeIdentity,
  overrides: Partial<PeerHandshakeConfig> = {},
) {
  keySeed++;
  return new PeerHandshake({
    role,
    chainId: TEST_CHAIN_ID,
    identity,
    staticKeyPair: x25519KeyPairFromSecret(filledBytes(keySeed)),
    ephemeralKeyPair: x25519KeyPairFromSecret(filledBytes(keySeed + 64)),
    expectedRemoteKey: null,
    checkRemoteKey: () => null,
    ...overrides,
  });
}

function expectNetError(action: () => unknown, code: NetErrorCode): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof NetError, `expected a NetError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

/** Runs a whole handshake; returns both results. */
function runHandshake(
  initiator: PeerHandshake,
  responder: PeerHandshake,
): [HandshakeResult, HandshakeResult] {
  const message2 = responder.receive(initiator.start()).send!;
  const step = initiator.receive(message2);
  const responderStep = responder.receive(step.send!);
  return [step.result!, responderStep.result!];
}

const alice = testIdentity(1);
const bob = testIdentity(2);
const carol = testIdentity(3);

describe("peer handshake", () => {
  it("reproduces the pinned vector, which docs/PROTOCOL.md prints", () => {
    assert.deepEqual(buildHandshakeVector(), PINNED_VECTOR);
    const protocol = readFileSync(new URL("../../docs/PROTOCOL.md", import.meta.url), "utf8").replace(
      /\s+/g,
      "",
    );
    for (const [name, hex] of Object.entries(PINNED_VECTOR)) {
      assert.ok(protocol.includes(hex.replace(/\s+/g, "")), `docs/PROTOCOL.md prints ${name}`);
    }
  });

  it("has the version 1 message sizes", () => {
    assert.deepEqual([...HANDSHAKE_MESSAGE_BYTES], [65, 193, 161]);
    const vector = buildHandshakeVector();
    assert.equal(vector.message1!.length / 2, 65);
    assert.equal(vector.message2!.length / 2, 193);
    assert.equal(vector.message3!.length / 2, 161);
  });

  it("round trip: both sides learn each other's node key and agree on keys", () => {
    const [initiatorResult, responderResult] = runHandshake(
      side("initiator", alice, { expectedRemoteKey: bob.publicKey }),
      side("responder", bob),
    );
    assert.deepEqual(initiatorResult.remotePublicKey, bob.publicKey);
    assert.deepEqual(responderResult.remotePublicKey, alice.publicKey);
    assert.deepEqual(initiatorResult.sendKey, responderResult.receiveKey);
    assert.deepEqual(initiatorResult.receiveKey, responderResult.sendKey);
    assert.deepEqual(initiatorResult.handshakeHash, responderResult.handshakeHash);
    assert.notDeepEqual(initiatorResult.sendKey, initiatorResult.receiveKey);
  });

  it("refuses a node of another chain at message 1", () => {
    const initiator = side("initiator", alice, { chainId: "another-city" });
    expectNetError(() => side("responder", bob).receive(initiator.start()), "NET_CHAIN_MISMATCH");
  });

  it("refuses another transport version at message 1", () => {
    const message1 = side("initiator", alice).start();
    message1[32] = 2;
    expectNetError(() => side("responder", bob).receive(message1), "NET_VERSION_UNSUPPORTED");
  });

  it("refuses a responder the initiator does not admit, before revealing the initiator", () => {
    const initiator = side("initiator", alice, { checkRemoteKey: () => "NET_PEER_NOT_ADMITTED" });
    const responder = side("responder", bob);
    const message2 = responder.receive(initiator.start()).send!;
    expectNetError(() => initiator.receive(message2), "NET_PEER_NOT_ADMITTED");
  });

  it("refuses an initiator the responder does not admit", () => {
    const admitted: Uint8Array[] = [];
    const responder = side("responder", bob, {
      checkRemoteKey: (key) =>
        admitted.some((k) => bytesToHex(k) === bytesToHex(key)) ? null : "NET_PEER_NOT_ADMITTED",
    });
    const initiator = side("initiator", carol);
    const step = initiator.receive(responder.receive(initiator.start()).send!);
    expectNetError(() => responder.receive(step.send!), "NET_PEER_NOT_ADMITTED");
  });

  it("refuses an address that presents another node key than the seed names", () => {
    const initiator = side("initiator", alice, { expectedRemoteKey: carol.publicKey });
    const message2 = side("responder", bob).receive(initiator.start()).send!;
    expectNetError(() => initiator.receive(message2), "NET_PEER_KEY_MISMATCH");
  });

  it("refuses an identity whose signature is not by the key it presents", () => {
    const impostor: NodeIdentity = { publicKey: bob.publicKey, sign: (message) => carol.sign(message) };
    const initiator = side("initiator", alice);
    const message2 = side("responder", impostor).receive(initiator.start()).send!;
    expectNetError(() => initiator.receive(message2), "NET_IDENTITY_INVALID");
  });

  it("refuses a connection to itself", () => {
    const initiator = side("initiator", alice);
    const message2 = side("responder", alice).receive(initiator.start()).send!;
    expectNetError(() => initiator.receive(message2), "NET_PEER_SELF");
  });

  it("refuses tampered messages 2 and 3 and wrong sizes", () => {
    const initiator = side("initiator", alice);
    const responder = side("responder", bob);
    const message2 = responder.receive(initiator.start()).send!;
    const tampered = message2.slice();
    tampered[100] = tampered[100]! ^ 0x80;
    expectNetError(() => initiator.receive(tampered), "NET_HANDSHAKE_AUTHENTICATION_FAILED");

    const initiator2 = side("initiator", alice);
    const responder2 = side("responder", bob);
    const step = initiator2.receive(responder2.receive(initiator2.start()).send!);
    const message3 = step.send!.slice();
    message3[message3.length - 1] = message3[message3.length - 1]! ^ 1;
    expectNetError(() => responder2.receive(message3), "NET_HANDSHAKE_AUTHENTICATION_FAILED");

    const initiator3 = side("initiator", alice);
    expectNetError(
      () => side("responder", bob).receive(initiator3.start().subarray(0, 64)),
      "NET_HANDSHAKE_MALFORMED",
    );
  });

  it("frames messages with a u16 length and splits them however the bytes arrive", () => {
    const first = Uint8Array.of(1, 2, 3);
    const second = new Uint8Array(300).fill(7);
    const wire = new Uint8Array([...frameHandshakeMessage(first), ...frameHandshakeMessage(second), 9]);
    const reader = new HandshakeMessageReader();
    const messages: Uint8Array[] = [];
    for (const byte of wire) {
      reader.push(Uint8Array.of(byte));
      for (let message = reader.next(); message !== null; message = reader.next()) messages.push(message);
    }
    assert.deepEqual(messages, [first, second]);
    assert.equal(reader.buffered.length, 1, "what follows the last message stays buffered");
  });

  it("refuses a handshake length of zero or above the limit", () => {
    for (const prefix of [
      [0, 0],
      [0x04, 0x01],
      [0x47, 0x45], // "GE" of an HTTP request
    ]) {
      const reader = new HandshakeMessageReader();
      reader.push(Uint8Array.from(prefix));
      expectNetError(() => reader.next(), "NET_HANDSHAKE_MALFORMED");
    }
  });
});
