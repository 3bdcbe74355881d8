import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The dev server proxies the API to a running `helpline serve` (HELPLINE_API, default :8000),
// so cookies and CSRF work exactly as in production (same origin).
const api = process.env.HELPLINE_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  resolve: {
    // React Router publishes a production build but its package exports only the development
    // one (the same code with its dev-only warnings switched on); take the production one.
    alias: [
      {
        find: /^react-router$/,
        replacement: fileURLToPath(new URL("./node_modules/react-router/dist/production/index.mjs", import.meta.url)),
      },
    ],
  },
  build: {
    // No inline scripts: the served HTML has a strict CSP (script-src 'self').
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    proxy: {
      "/api": api,
      "/graphql": api,
      "/docs": api,
      "/openapi.json": api,
    },
  },
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    environment: "node",
  },
});
