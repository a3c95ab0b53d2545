/**
 * The trust checkpoint receipts are verified against: a chain id and a validator set. It is
 * pinned once (from the node on first use, or from the chain's genesis.json, which an official
 * hands out) and kept in this browser; verification then needs no call to any node. A node that
 * lies after the pin cannot make a forged receipt pass.
 */
import { useEffect, useSyncExternalStore } from "react";
import { client } from "./api.ts";
import {
  bytesToHex,
  portableSuiteByName,
  type ValidatorSet,
  type ValidatorSetJson,
  validatorSetFromJson,
  validatorSetHash,
} from "./sdk.ts";

const STORAGE_KEY = "cityledger.checkpoint.v1";

export type CheckpointSource = "node" | "genesis-file";

export interface TrustCheckpoint {
  readonly chainId: string;
  readonly validatorSet: ValidatorSet;
  readonly validatorSetHash: string;
  readonly source: CheckpointSource;
  /** Where it came from: the node's origin, or the file's name. */
  readonly origin: string;
  readonly pinnedAtMs: number;
}

interface StoredCheckpoint {
  readonly chainId: string;
  readonly validatorSet: ValidatorSetJson;
  readonly source: CheckpointSource;
  readonly origin: string;
  readonly pinnedAtMs: number;
}

export class CheckpointError extends Error {
  override name = "CheckpointError";
  constructor(
    readonly code: "CHECKPOINT_FILE_INVALID" | "CHECKPOINT_NODE_UNREACHABLE",
    message: string,
  ) {
    super(message);
  }
}

function checkpointOf(stored: StoredCheckpoint): TrustCheckpoint {
  const validatorSet = validatorSetFromJson(stored.validatorSet);
  const hash = validatorSetHash(validatorSet, portableSuiteByName(validatorSet.suite));
  return { ...stored, validatorSet, validatorSetHash: bytesToHex(hash) };
}

export function loadCheckpoint(): TrustCheckpoint | null {
  const text = localStorage.getItem(STORAGE_KEY);
  if (text === null) return null;
  try {
    return checkpointOf(JSON.parse(text) as StoredCheckpoint);
  } catch {
    localStorage.removeItem(STORAGE_KEY); // A damaged entry is dropped and pinned again.
    return null;
  }
}

function save(stored: StoredCheckpoint): TrustCheckpoint {
  const checkpoint = checkpointOf(stored);
  localStorage.setItem(STORAGE_KEY, JSON.stringify(stored));
  return checkpoint;
}

/** Pins the node's genesis validator set (height 1) and chain id. */
export async function pinCheckpointFromNode(nowMs: number): Promise<TrustCheckpoint> {
  try {
    const status = await client.status();
    const validators = await client.validators(1n);
    return save({
      chainId: status.chainId,
      validatorSet: validators.validatorSet,
      source: "node",
      origin: window.location.origin,
      pinnedAtMs: nowMs,
    });
  } catch (error) {
    throw new CheckpointError("CHECKPOINT_NODE_UNREACHABLE", (error as Error).message);
  }
}

/** Pins the chain id and validator set of a genesis.json (the format `cityledger init` writes). */
export function pinCheckpointFromGenesis(fileName: string, text: string, nowMs: number): TrustCheckpoint {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CheckpointError("CHECKPOINT_FILE_INVALID", "not JSON");
  }
  const genesis = json as { chainId?: unknown; suite?: unknown; validators?: unknown };
  if (typeof genesis.chainId !== "string" || !Array.isArray(genesis.validators)) {
    throw new CheckpointError("CHECKPOINT_FILE_INVALID", "no chainId and validators");
  }
  // The canonical set is sorted by public key (src/ledger/validator-set.ts canonicalValidatorSet);
  // equal-length lower-case hex sorts as its bytes do.
  const validators = (genesis.validators as { publicKey?: unknown; power?: unknown }[])
    .map((validator) => ({
      publicKey: String(validator.publicKey).toLowerCase(),
      power: String(validator.power),
    }))
    .sort((left, right) =>
      left.publicKey < right.publicKey ? -1 : left.publicKey > right.publicKey ? 1 : 0,
    );
  try {
    return save({
      chainId: genesis.chainId,
      validatorSet: { suite: genesis.suite as ValidatorSetJson["suite"], validators },
      source: "genesis-file",
      origin: fileName,
      pinnedAtMs: nowMs,
    });
  } catch (error) {
    if (error instanceof CheckpointError) throw error;
    throw new CheckpointError("CHECKPOINT_FILE_INVALID", (error as Error).message);
  }
}

export function forgetCheckpoint(): void {
  localStorage.removeItem(STORAGE_KEY);
}

const checkpointListeners = new Set<() => void>();
let currentCheckpoint: TrustCheckpoint | null | undefined;
let autoPinning: Promise<void> | null = null;

function currentOrLoaded(): TrustCheckpoint | null {
  if (currentCheckpoint === undefined) currentCheckpoint = loadCheckpoint();
  return currentCheckpoint;
}

export function setCurrentCheckpoint(checkpoint: TrustCheckpoint | null): void {
  currentCheckpoint = checkpoint;
  for (const listener of checkpointListeners) listener();
}

/**
 * The pinned checkpoint, shared by every page. With `pinFromNodeWhenMissing`, a browser without
 * one pins the node's on first use (trust on first use, shown as such); the offline verify page
 * passes false and never calls the node.
 */
export function useCheckpoint(pinFromNodeWhenMissing: boolean): TrustCheckpoint | null {
  const checkpoint = useSyncExternalStore((listener) => {
    checkpointListeners.add(listener);
    return () => checkpointListeners.delete(listener);
  }, currentOrLoaded);
  useEffect(() => {
    if (!pinFromNodeWhenMissing || checkpoint !== null || autoPinning !== null) return;
    autoPinning = pinCheckpointFromNode(Date.now()).then(
      (pinned) => setCurrentCheckpoint(pinned),
      () => undefined, // The page shows "no checkpoint" and offers to pin by hand.
    );
    void autoPinning.finally(() => {
      autoPinning = null;
    });
  }, [pinFromNodeWhenMissing, checkpoint]);
  return checkpoint;
}
