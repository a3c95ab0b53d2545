export { loadKeyFile, type SaveKeyFileOptions, saveKeyFile } from "./key-file.ts";
