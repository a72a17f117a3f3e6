// How a page's own TypeScript calls allegro; `make test` compiles it against allegro.d.ts.

// The snippet: queue functions before the SDK has loaded (the array), or run them at once after.
window.allegro = window.allegro || [];
window.allegro.push(function (allegro) {
  allegro.track('page_view');
});

allegro.push(
  (api) => {
    api.track('article_read', {
      content_id: 'article-456',
      content_type: 'premium',
      publisher: 'Daily News',
    });
  },
  (api) => {
    // A field may be null: the SDK then reads it from the page.
    api.track('link_click', { url_in_click: 'https://news.example/story', url: null });
  },
);

async function buy(api: Allegro.Api): Promise<string> {
  const { event_id } = await api.track('purchase', {
    data: { product_id: 'sku-789', price: 9.99, currency: 'USD', tags: ['sale', null], gift: false },
  });
  return event_id;
}

async function logIn(api: Allegro.Api, token: string): Promise<void> {
  const member = await api.member.login({ customer_id: 'c-42', token });
  const same: string = member.customer_id;
  const current = api.member.current();
  if (current !== null && current.customer_id === same) {
    await api.member.logout();
  }
}

// A consent banner's buttons: the SDK's choice functions, queued like any other call.
function onBannerChoice(accepted: boolean): void {
  window.allegro.push((api) => (accepted ? api.consent.grant() : api.consent.deny()));
}
onBannerChoice(true);

async function tracked(api: Allegro.Api): Promise<boolean> {
  const status: Allegro.ConsentStatus = api.consent.status();
  const { stored } = await api.track('page_view');
  return status === 'granted' && stored;
}

// Once the SDK has loaded, window.allegro is the API object.
function loaded(value: Allegro.Api | Allegro.Queue): value is Allegro.Api {
  return !Array.isArray(value);
}
if (loaded(window.allegro)) {
  const version: string = window.allegro.version;
  void buy(window.allegro).then((id) => console.log(version, id));
  void logIn(window.allegro, 'eyJ...');
  void tracked(window.allegro);
}
