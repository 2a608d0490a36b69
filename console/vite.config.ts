import { defineConfig } from "vite";

// The gateway serves the built files at /console (ApiGateway/Hosting/ConsoleHostingExtensions.cs) under a CSP of
// default-src 'self' with no inline scripts: everything is emitted as files, nothing is inlined or fetched elsewhere.
export default defineConfig({
  base: "/console/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2022",
  },
});
