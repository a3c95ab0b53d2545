/**
 * Deployed contracts in QuickJS behind the SystemContract interface (ADR 0007).
 * @module
 */
export {
  CONTRACT_ERROR_CODE_PATTERN,
  loadSandboxEngine,
  type QuickJsSandboxBlock,
  type QuickJsSandboxEngine,
  SANDBOX_TABLE_PATTERN,
  type SandboxEngineOptions,
  type SandboxMemoryUsage,
} from "./engine.ts";
export { type InstrumentedContract, instrumentContract, SANDBOX_AST_DEPTH_MAX } from "./instrument.ts";
export { SANDBOX_GLOBALS_REMOVED } from "./prelude.ts";
