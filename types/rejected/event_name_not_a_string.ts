allegro.push((api) => {
  api.track(42); // error TS2345
});
