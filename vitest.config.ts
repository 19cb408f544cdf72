import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  // Examples in docs/ import 'weir' as a user would; in this repository that means the sources.
  resolve: {
    alias: [
      { find: /^weir$/, replacement: here('./src/index.ts') },
      { find: /^weir\/(redis|express|fastify|fetch|koa|hono|nestjs|otel)$/, replacement: here('./adapters/$1/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
