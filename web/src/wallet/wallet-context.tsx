/**
 * The wallet's state for the whole portal: the keys stored in this browser, which one is
 * selected, and (after the passphrase) its open private key, held in memory only until the tab
 * closes or the holder locks it. Also the next nonce to sign with, so several transactions in a
 * row do not reuse one while the first is still pending.
 */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { client } from "../api.ts";
import {
  decodeNonceValue,
  encodeTransaction,
  hexToBytes,
  keyIdOf,
  nonceKeyOf,
  portableSuiteByName,
  signTransaction,
  type Value,
} from "../sdk.ts";
import { deleteKey, listKeys, openKey, type StoredKey } from "./key-vault.ts";

const SELECTED_KEY_STORAGE = "cityledger.wallet.selected";
/** Blocks a transaction stays valid for (the CLI's default too). */
export const EXPIRY_HEIGHTS_DEFAULT = 10_000n;

export interface SubmittedTransaction {
  readonly hash: string;
  readonly nonce: bigint;
}

interface Wallet {
  readonly keys: readonly StoredKey[];
  readonly selected: StoredKey | null;
  readonly unlocked: boolean;
  readonly loading: boolean;
  readonly refresh: () => Promise<void>;
  readonly select: (id: string) => void;
  readonly unlock: (passphrase: string) => Promise<void>;
  /** Opens a key just created or imported, without asking for the passphrase again. */
  readonly adopt: (stored: StoredKey, privateKey: Uint8Array) => Promise<void>;
  readonly lock: () => void;
  readonly remove: (id: string) => Promise<void>;
  readonly submit: (contract: string, method: string, args: Value) => Promise<SubmittedTransaction>;
}

const WalletContext = createContext<Wallet | null>(null);

export function WalletProvider({ children }: { children: ReactNode }) {
  const [keys, setKeys] = useState<readonly StoredKey[]>([]);
  const [selectedId, setSelectedId] = useState<string | null>(() =>
    localStorage.getItem(SELECTED_KEY_STORAGE),
  );
  const [open, setOpen] = useState<{ id: string; privateKey: Uint8Array } | null>(null);
  const [nonceNext, setNonceNext] = useState<{ id: string; nonce: bigint } | null>(null);
  const [loading, setLoading] = useState(true);

  const refresh = useCallback(async () => {
    try {
      setKeys(await listKeys());
    } finally {
      setLoading(false);
    }
  }, []);
  useEffect(() => {
    void refresh();
  }, [refresh]);

  const selected = keys.find((key) => key.id === selectedId) ?? keys[0] ?? null;

  const select = useCallback((id: string) => {
    localStorage.setItem(SELECTED_KEY_STORAGE, id);
    setSelectedId(id);
  }, []);

  const wallet = useMemo<Wallet>(
    () => ({
      keys,
      selected,
      unlocked: selected !== null && open?.id === selected.id,
      loading,
      refresh,
      select,
      unlock: async (passphrase) => {
        if (selected === null) return;
        const privateKey = await openKey(selected, passphrase);
        setOpen({ id: selected.id, privateKey });
      },
      adopt: async (stored, privateKey) => {
        await refresh();
        select(stored.id);
        setOpen({ id: stored.id, privateKey });
      },
      lock: () => setOpen(null),
      remove: async (id) => {
        await deleteKey(id);
        if (open?.id === id) setOpen(null);
        await refresh();
      },
      submit: async (contract, method, args) => {
        if (selected === null || open === null || open.id !== selected.id) {
          throw new Error("the wallet is locked");
        }
        const status = await client.status();
        if (status.suite !== selected.suite) {
          throw new Error(`this chain signs with ${status.suite}, the key is ${selected.suite}`);
        }
        const suite = portableSuiteByName(selected.suite);
        const publicKey = hexToBytes(selected.publicKey);
        const read = await client.readState(nonceKeyOf(suite.hash, keyIdOf(suite, publicKey)));
        const onChain = read.value === null ? 0n : decodeNonceValue(read.value);
        const remembered = nonceNext?.id === selected.id ? nonceNext.nonce : 0n;
        const nonce = onChain > remembered ? onChain : remembered;
        const transaction = signTransaction(suite, open.privateKey, {
          chainId: status.chainId,
          nonce,
          expiryHeight: BigInt(status.height) + EXPIRY_HEIGHTS_DEFAULT,
          contract,
          method,
          args,
        });
        const submitted = await client.submit(encodeTransaction(transaction));
        setNonceNext({ id: selected.id, nonce: nonce + 1n });
        return { hash: submitted.hash, nonce };
      },
    }),
    [keys, selected, open, loading, refresh, select, nonceNext],
  );
  return <WalletContext.Provider value={wallet}>{children}</WalletContext.Provider>;
}

export function useWallet(): Wallet {
  const context = useContext(WalletContext);
  if (context === null) throw new Error("useWallet outside WalletProvider");
  return context;
}
