/**
 * What the command prints and how it reads its options: one place for argument parsers, JSON
 * output and error lines (NestJS CLI keeps user-facing strings together the same way).
 * @module
 */
import { InvalidArgumentError } from "commander";
import { CityLedgerError } from "../base/errors.ts";
import type { SuiteName } from "../crypto/index.ts";

export const ERROR_PREFIX = "error:";
export const HINT_PREFIX = "hint:";
const SUITE_NAMES: readonly SuiteName[] = ["ed25519", "sm2-sm3"];

export function parseSuite(value: string): SuiteName {
  if (!SUITE_NAMES.includes(value as SuiteName)) {
    throw new InvalidArgumentError(`choose one of: ${SUITE_NAMES.join(", ")}`);
  }
  return value as SuiteName;
}

/** A commander parser for an integer option within bounds. */
export function parseInteger(name: string, minimum: number, maximum: number): (value: string) => number {
  return (value: string) => {
    if (!/^-?[0-9]+$/.test(value)) throw new InvalidArgumentError(`${name} must be an integer`);
    const parsed = Number(value);
    if (!Number.isSafeInteger(parsed) || parsed < minimum || parsed > maximum) {
      throw new InvalidArgumentError(`${name} must be between ${minimum} and ${maximum}`);
    }
    return parsed;
  };
}

/** JSON for scripts: bigints as decimal strings, bytes as lower-case hex. */
export function printJson(value: unknown): void {
  console.log(
    JSON.stringify(
      value,
      (_key, item: unknown) =>
        typeof item === "bigint"
          ? item.toString()
          : item instanceof Uint8Array
            ? Buffer.from(item).toString("hex")
            : item,
      2,
    ),
  );
}

export function passphraseFrom(variable: string): string {
  const passphrase = process.env[variable];
  if (passphrase === undefined || passphrase.length === 0) {
    throw new CityLedgerError(
      "CLI_PASSPHRASE_MISSING",
      `set the passphrase in the environment variable ${variable}`,
    );
  }
  return passphrase;
}
