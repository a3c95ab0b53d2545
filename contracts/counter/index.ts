/**
 * `counter`: the simplest state-writing contract (used by `npm run bench:exec`).
 *
 *   increment {by?: integer ≥ 1}  adds to the counter, emits `incremented`, returns the value
 *   get {}                        the value (0 before the first increment)
 */
import { type Context, ContractError, emit, state } from "@cityledger/contract";

const TABLE = "counter";
const ID = "value";

export function increment(args: { by?: bigint }, context: Context): bigint {
  const by = args.by ?? 1n;
  if (typeof by !== "bigint" || by < 1n || by > 1_000_000n) {
    throw new ContractError("BY_INVALID", "by is an integer from 1 to 1,000,000");
  }
  const value = (state.get<bigint>(TABLE, ID) ?? 0n) + by;
  state.set(TABLE, ID, value);
  emit("incremented", { by, value, height: context.block.height });
  return value;
}

export function get(): bigint {
  return state.get<bigint>(TABLE, ID) ?? 0n;
}
