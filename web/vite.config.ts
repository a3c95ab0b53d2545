/**
 * Vite configuration of the web portal. `npm run web:build` writes web/dist (served by the node
 * at `/`); `npm run web:dev` serves the sources with hot reload and forwards the API paths and
 * the WebSocket to a local node (CITYLEDGER_API, default http://127.0.0.1:8080).
 */
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const apiUrl = process.env.CITYLEDGER_API ?? "http://127.0.0.1:8080";
const webRoot = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: webRoot,
  base: "/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // BigInt literals and class fields need ES2022; every current browser has them.
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    fs: { allow: [fileURLToPath(new URL("..", import.meta.url))] },
    proxy: {
      "/v1/ws": { target: apiUrl.replace(/^http/, "ws"), ws: true },
      "/v1": { target: apiUrl },
      "/openapi.json": { target: apiUrl },
      "/health": { target: apiUrl },
    },
  },
});
