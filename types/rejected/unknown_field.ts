// Each line marked `// error TSnnnn` must fail to compile with that error (tests/types).
allegro.push((api) => {
  api.track('page_view', { colour: 'red' }); // error TS2353
});
