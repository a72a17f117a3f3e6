allegro.push((api) => {
  api.track('purchase', { content_id: 456 }); // error TS2322
  api.track('purchase', { data: 'sku-789' }); // error TS2322
  api.track('purchase', { data: { price: 9.99, at: new Date() } }); // error TS2322
  api.track('purchase', 'sku-789'); // error TS2559
});
