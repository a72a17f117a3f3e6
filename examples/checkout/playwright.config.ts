// Starts the micro collector and the site, then runs checkout.spec.ts against them.
import { defineConfig } from '@playwright/test';

const microPort = process.env.ALLEGRO_MICRO_PORT ?? '8766';
const sitePort = process.env.SITE_PORT ?? '8000';
const micro = `http://127.0.0.1:${microPort}`;

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  use: {
    baseURL: `http://127.0.0.1:${sitePort}`,
    // CHROMIUM_PATH: a browser of the system instead of the one `playwright install` fetches.
    launchOptions: { executablePath: process.env.CHROMIUM_PATH },
  },
  webServer: [
    {
      command: `allegro-collector micro --port ${microPort}`,
      url: `${micro}/micro/good`,
      stdout: 'pipe',
    },
    {
      command: `python server.py --port ${sitePort} --collector ${micro}`,
      url: `http://127.0.0.1:${sitePort}/checkout`,
    },
  ],
});
