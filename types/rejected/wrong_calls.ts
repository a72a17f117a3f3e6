// Before the SDK has loaded window.allegro is an array: track() exists only on the loaded API.
window.allegro.track('page_view'); // error TS2339
allegro.push((api) => {
  api.member.login({ customer_id: "c-42" }); // error TS2741
  api.track(); // error TS2554
  api.track('page_view').then((result) => result.eventId); // error TS2551
  api.consent.grant('analytics'); // error TS2554
  if (api.consent.status() === 'accepted') { api.consent.deny(); } // error TS2367
});
