// The checkout page sends what the analytics team relies on (@playwright/test).
import { test, expect, type APIRequestContext } from '@playwright/test';

const MICRO = `http://127.0.0.1:${process.env.ALLEGRO_MICRO_PORT ?? '8766'}`;

interface StoredEvent {
  event_name: string;
  event_id: string;
  content_id: string | null;
  content_type: string | null;
  data: Record<string, unknown> | null;
}

async function events(request: APIRequestContext, which: 'good' | 'bad'): Promise<StoredEvent[]> {
  const response = await request.get(`${MICRO}/micro/${which}`);
  expect(response.ok()).toBe(true);
  return (await response.json()).events;
}

function named(name: string, list: StoredEvent[]): StoredEvent | undefined {
  return list.find((event) => event.event_name === name);
}

test.beforeEach(async ({ request }) => {
  await request.post(`${MICRO}/micro/reset`);
});

test('paying sends a purchase', async ({ page, request }) => {
  await page.goto('/checkout');
  await expect.poll(async () => named('page_view', await events(request, 'good'))).toMatchObject({
    content_type: 'checkout',
  });

  await page.click('#pay');
  await expect(page.locator('#status')).toHaveText('Thank you!');
  await expect.poll(async () => named('purchase', await events(request, 'good'))).toMatchObject({
    content_id: 'mug-blue',
    data: { price: 12.5, currency: 'EUR' },
  });
  expect(await events(request, 'bad')).toEqual([]); // nothing was refused
});
