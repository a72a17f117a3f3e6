/* The season programme's router: a single-page app as frameworks make them. A click changes the
 * address with history.pushState, renders the section, and sets the title on a later task; Back
 * and Forward (popstate) render the section again. The SDK, loaded with data-page-views="auto",
 * sees each route change by itself: nothing here calls it. */
(function () {
  'use strict';
  // The sections, from the navigation links' data-title and data-text.
  function linkOf(path) {
    var key = path.replace(/^\/programme\/?/, '') || 'concerts';
    return document.querySelector('a[data-section="' + key + '"]') ||
      document.querySelector('a[data-section="concerts"]');
  }

  function render(link) {
    document.getElementById('programme-title').textContent = link.dataset.title;
    document.getElementById('programme-text').textContent = link.dataset.text;
    setTimeout(function () {
      document.title = link.dataset.title + ' | Season programme | The Daily Allegro';
    }, 50);
  }

  document.addEventListener('click', function (event) {
    var link = event.target.closest && event.target.closest('a[data-section]');
    if (!link || event.metaKey || event.ctrlKey || event.shiftKey) { return; }
    event.preventDefault();
    if (link.pathname !== location.pathname) {
      history.pushState({}, '', link.pathname);
      render(link);
    }
  });
  window.addEventListener('popstate', function () { render(linkOf(location.pathname)); });
}());
