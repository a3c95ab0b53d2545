/**
 * Languages: every string the portal shows comes from a message file (./messages), looked up by
 * key with `{name}` placeholders. The choice is remembered in localStorage and sets <html lang>.
 */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { en, type MessageKey } from "./messages/en.ts";
import { zhCN } from "./messages/zh-CN.ts";

export type Language = "en" | "zh-CN";
export const LANGUAGES: readonly Language[] = ["zh-CN", "en"];
const CATALOGS: Readonly<Record<Language, Readonly<Record<MessageKey, string>>>> = { en, "zh-CN": zhCN };
const STORAGE_KEY = "cityledger.language";

export type MessageParameters = Readonly<Record<string, string | number | bigint>>;
export type Translate = (key: MessageKey, parameters?: MessageParameters) => string;

interface I18n {
  readonly language: Language;
  readonly setLanguage: (language: Language) => void;
  readonly t: Translate;
  /** Numbers and dates in the language's own format. */
  readonly formatNumber: (value: number | bigint) => string;
  readonly formatTime: (timeMs: number) => string;
}

const I18nContext = createContext<I18n | null>(null);

function initialLanguage(): Language {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === "en" || saved === "zh-CN") return saved;
  return navigator.language.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

export function fill(template: string, parameters: MessageParameters = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in parameters ? String(parameters[name]) : whole,
  );
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [language, setLanguageState] = useState<Language>(initialLanguage);
  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);
  const setLanguage = useCallback((next: Language) => {
    localStorage.setItem(STORAGE_KEY, next);
    setLanguageState(next);
  }, []);
  const value = useMemo<I18n>(() => {
    const catalog = CATALOGS[language];
    const numberFormat = new Intl.NumberFormat(language);
    const timeFormat = new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "medium" });
    return {
      language,
      setLanguage,
      t: (key, parameters) => fill(catalog[key], parameters),
      formatNumber: (value) => numberFormat.format(value),
      formatTime: (timeMs) => timeFormat.format(new Date(timeMs)),
    };
  }, [language, setLanguage]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const context = useContext(I18nContext);
  if (context === null) throw new Error("useI18n outside I18nProvider");
  return context;
}
