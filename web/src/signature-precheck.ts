/**
 * Certificate signatures checked ahead, with the browser's own Ed25519 (WebCrypto), so that the
 * SDK's verifyReceipt, which is synchronous and pure, does not spend 2–3 ms in JavaScript
 * elliptic-curve code per receipt. The flow:
 *
 *   1. precheckSignatures (async): for each receipt, the precommit bytes its certificate signs
 *      and each signature's validator key, checked with crypto.subtle.verify, all in parallel;
 *      a signature shared by several receipts (one block) is checked once.
 *   2. verifyReceipt(receipt, trust, { suite }) with the suite returned: its `verify` answers
 *      from the results of step 1 — true only for a (key, message, signature) that WebCrypto
 *      accepted — and never computes anything. Everything else verifyReceipt checks as always.
 *
 * The chain's Ed25519 is RFC 8032 with canonical encodings only (zip215 off), as WebCrypto's
 * is; where WebCrypto has no Ed25519, or the chain's suite is SM2, step 1 uses the portable
 * suite instead, with the same answer, only slower.
 */
import {
  blockHash,
  bytesToHex,
  hexToBytes,
  portableSuiteByName,
  type SignatureSuite,
  type TransactionReceipt,
  type ValidatorSet,
  VOTE_TYPE,
  voteSigningBytes,
} from "./sdk.ts";

/** Imported WebCrypto keys, by public key (hex); null when WebCrypto refused the key. */
const webCryptoKeys = new Map<string, Promise<CryptoKey | null>>();
let webCryptoEd25519: boolean | null = null;
/** RFC 8032, 7.1, test 1: a valid public key to ask WebCrypto whether it knows Ed25519. */
const RFC_8032_TEST_PUBLIC_KEY = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

function keyBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}

async function webCryptoKeyOf(publicKey: Uint8Array): Promise<CryptoKey | null> {
  const id = bytesToHex(publicKey);
  let key = webCryptoKeys.get(id);
  if (key === undefined) {
    key = crypto.subtle
      .importKey("raw", keyBuffer(publicKey), { name: "Ed25519" }, false, ["verify"])
      .catch(() => null);
    webCryptoKeys.set(id, key);
  }
  return key;
}

/** Whether this browser's WebCrypto verifies Ed25519 (asked once, with a throwaway import). */
async function hasWebCryptoEd25519(): Promise<boolean> {
  if (webCryptoEd25519 !== null) return webCryptoEd25519;
  webCryptoEd25519 =
    globalThis.crypto?.subtle !== undefined &&
    (await webCryptoKeyOf(hexToBytes(RFC_8032_TEST_PUBLIC_KEY))) !== null;
  return webCryptoEd25519;
}

interface SignatureCheck {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

function entryId(publicKey: Uint8Array, signature: Uint8Array): string {
  return `${bytesToHex(publicKey)}:${bytesToHex(signature)}`;
}

function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false;
  return true;
}

/** The certificate's signatures, each with its validator's key and the precommit bytes it signs. */
function checksOf(receipt: TransactionReceipt, validatorSet: ValidatorSet, suite: SignatureSuite) {
  const { header, certificate } = receipt;
  const message = voteSigningBytes({
    chainId: header.chainId,
    type: VOTE_TYPE.precommit,
    height: header.height,
    round: certificate.round,
    blockHash: blockHash(header, suite.hash),
  });
  const checks: SignatureCheck[] = [];
  for (const entry of certificate.signatures) {
    const validator = validatorSet.validators[entry.validatorIndex];
    if (validator !== undefined)
      checks.push({ publicKey: validator.publicKey, message, signature: entry.signature });
  }
  return checks;
}

async function isValid(
  check: SignatureCheck,
  suite: SignatureSuite,
  useWebCrypto: boolean,
): Promise<boolean> {
  if (!useWebCrypto) return suite.verify(check.publicKey, check.message, check.signature);
  const key = await webCryptoKeyOf(check.publicKey);
  if (key === null) return false;
  try {
    return await crypto.subtle.verify(
      { name: "Ed25519" },
      key,
      keyBuffer(check.signature),
      keyBuffer(check.message),
    );
  } catch {
    return false;
  }
}

/**
 * Checks the certificate signatures of these receipts against the validator set verifyReceipt
 * will use (the trusted one), all at once, and returns the suite to give verifyReceipt. One call
 * for many receipts checks each distinct signature once.
 */
export interface PrecheckedSuite {
  /** The suite to give verifyReceipt: its `verify` answers from the checks already made. */
  readonly suite: SignatureSuite;
  /** What checked the signatures. */
  readonly engine: "webcrypto" | "portable";
}

export async function precheckSignatures(
  receipts: readonly TransactionReceipt[],
  validatorSet: ValidatorSet,
): Promise<PrecheckedSuite> {
  const portable = portableSuiteByName(validatorSet.suite);
  const useWebCrypto = portable.name === "ed25519" && (await hasWebCryptoEd25519());
  const pending = new Map<string, SignatureCheck>();
  for (const receipt of receipts) {
    try {
      for (const check of checksOf(receipt, validatorSet, portable)) {
        pending.set(`${entryId(check.publicKey, check.signature)}:${bytesToHex(check.message)}`, check);
      }
    } catch {
      // A malformed receipt: verifyReceipt will name what is wrong; nothing to check ahead.
    }
  }
  const checks = [...pending.values()];
  const answers = await Promise.all(checks.map((check) => isValid(check, portable, useWebCrypto)));
  const accepted = new Map<string, Uint8Array[]>();
  checks.forEach((check, index) => {
    if (answers[index] !== true) return;
    const id = entryId(check.publicKey, check.signature);
    accepted.set(id, [...(accepted.get(id) ?? []), check.message]);
  });
  const suite: SignatureSuite = {
    ...portable,
    // Answers only from the checks above: anything not accepted there is false.
    verify: (publicKey, message, signature) =>
      accepted.get(entryId(publicKey, signature))?.some((signed) => sameBytes(signed, message)) === true,
  };
  return { suite, engine: useWebCrypto ? "webcrypto" : "portable" };
}
