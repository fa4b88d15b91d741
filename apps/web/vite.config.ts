// SvelteKit 3 takes its configuration here (svelte.config.js is gone). The app is a static SPA:
// adapter-static writes build/, with 200.html as the fallback page the server returns for /n/<id>.
import adapter from "@sveltejs/adapter-static";
import { sveltekit } from "@sveltejs/kit/vite";
import { defineConfig } from "vite";

// `vite dev` forwards API and WebSocket calls to a running `databook serve` (default port 8080).
const devTarget = process.env.DATABOOK_DEV_SERVER ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [sveltekit({ adapter: adapter({ fallback: "200.html" }) })],
  server: {
    proxy: {
      "/api": devTarget,
      "/healthz": devTarget,
      "/ws": { target: devTarget.replace(/^http/, "ws"), ws: true },
    },
  },
  build: { chunkSizeWarningLimit: 1500 },
});
