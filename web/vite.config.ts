import { defineConfig } from 'vite';

// The C++ server (`guichet serve`) listens here by default; dev and preview forward every
// server-owned path to it so the front end only ever talks to its own origin, as in production.
const backend = 'http://127.0.0.1:8080';
const proxy = Object.fromEntries(
  ['/api', '/healthz', '/readyz', '/metrics'].map((path) => [path, backend]),
);

// Same policy as the server sends. Applied to `vite preview` (the built files) so a violation
// shows up before the C++ side is involved; not to `vite dev`, whose hot reload injects <style>.
const contentSecurityPolicy = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

export default defineConfig({
  // @preact/preset-vite would add Babel; Vite's own transformer handles Preact's JSX runtime.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  server: { proxy },
  preview: { proxy, headers: { 'Content-Security-Policy': contentSecurityPolicy } },
  build: { outDir: 'dist', assetsDir: 'assets', target: 'es2022' },
});
