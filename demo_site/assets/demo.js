/* The demo site's page code: the buy and play buttons, the login form, the member line in the
 * header and the live view's polling. Every SDK call goes through window.allegro.push, so it works
 * whether or not the async SDK has loaded yet. */
(function () {
  'use strict';
  window.allegro = window.allegro || [];

  function $(id) { return document.getElementById(id); }

  function say(id, text, kind) {
    var element = $(id);
    if (!element) { return; }
    element.textContent = text;
    element.className = 'status' + (kind ? ' ' + kind : '');
  }

  function withAllegro(fn) { window.allegro.push(fn); }

  // --- the member line in the header, and the login page's panels ------------------------------
  function showMember(allegro) {
    var member = allegro.member ? allegro.member.current() : null;
    var line = $('member-status');
    if (line) {
      line.textContent = member ? 'Signed in as ' + member.customer_id : 'Not signed in';
      line.className = member ? 'signed-in' : '';
    }
    // The premium article: its members' text instead of the paywall once a member is known.
    var paywall = $('paywall');
    var membersText = $('members-text');
    if (paywall && membersText) {
      paywall.hidden = !!member;
      membersText.hidden = !member;
    }
    var panel = $('member-panel');
    var form = $('login-form');
    if (panel && form) {
      panel.hidden = !member;
      form.hidden = !!member;
      if (member) { $('member-id').textContent = member.customer_id; }
    }
  }

  withAllegro(function (allegro) {
    if (!allegro.member) {
      say('login-message', 'This SDK build has no allegro.member API yet.', 'bad');
      return;
    }
    showMember(allegro);
  });

  // --- the privacy page's consent banner (the page runs the SDK with data-consent="opt-in") ----
  var CONSENT_TEXT = {
    pending: 'You have not chosen yet: nothing is stored on your device and nothing is sent.',
    granted: 'You accepted: the pages of this site are measured. Reject to stop.',
    denied: 'You rejected: nothing is stored or sent, on any page of this site.'
  };

  function showConsent(allegro) {
    var status = allegro.consent.status();
    say('consent-status', CONSENT_TEXT[status], status === 'granted' ? 'good' : '');
    var out = $('last-event');
    if (out && status === 'pending') {
      out.textContent = 'page_view kept in memory until you choose (nothing sent yet)';
    }
  }

  if ($('consent-banner')) {
    $('gpc-note').hidden = navigator.globalPrivacyControl !== true;
    withAllegro(showConsent);
    $('consent-accept').addEventListener('click', function () {
      withAllegro(function (allegro) { allegro.consent.grant(); showConsent(allegro); });
    });
    $('consent-reject').addEventListener('click', function () {
      withAllegro(function (allegro) { allegro.consent.deny(); showConsent(allegro); });
    });
  }

  // --- login and logout ---------------------------------------------------------------------
  function askBackend(name, password) {
    return fetch('/api/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: name, password: password })
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          throw new Error(body && body.error ? body.error.message : 'login refused');
        }
        return body;
      });
    });
  }

  var form = $('login-form');
  if (form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var button = $('login-submit');
      button.disabled = true;
      say('login-message', 'Checking the password…');
      askBackend($('login-name').value, $('login-password').value)
        .then(function (login) {
          return new Promise(function (resolve, reject) {
            withAllegro(function (allegro) {
              allegro.member.login({ customer_id: login.customer_id, token: login.token })
                .then(resolve, reject);
            });
          });
        })
        .then(function (member) {
          $('login-password').value = '';
          say('login-message', 'Logged in as ' + member.customer_id + '. The collector verified '
            + 'the token; your next events carry this customer id.', 'good');
          withAllegro(function (allegro) {
            showMember(allegro);
            allegro.track('login').then(function (result) {
              say('login-message', 'Logged in as ' + member.customer_id + ': login event stored '
                + 'with event_id ' + result.event_id + ' and customer ' + member.customer_id + '.',
                'good');
            });
          });
        })
        .catch(function (problem) {
          say('login-message', 'Not logged in: ' + problem.message, 'bad');
        })
        .then(function () { button.disabled = false; });
    });
  }

  var logout = $('logout');
  if (logout) {
    logout.addEventListener('click', function () {
      withAllegro(function (allegro) {
        allegro.member.logout().then(function () {
          showMember(allegro);
          say('login-message', 'Logged out: a new session started, and events no longer carry a '
            + 'customer id.', 'good');
        }, function (problem) {
          say('login-message', 'Logout failed: ' + problem.message, 'bad');
        });
      });
    });
  }

  // --- the product page's buy button and the video page's play button ------------------------
  var buy = $('buy');
  if (buy) {
    buy.addEventListener('click', function () {
      var data = {
        product_id: buy.dataset.productId,
        price: Number(buy.dataset.price),
        currency: buy.dataset.currency
      };
      say('purchase-status', 'Tracking the purchase…');
      withAllegro(function (allegro) {
        allegro.track('purchase', { data: data }).then(function (result) {
          say('purchase-status', 'purchase stored with event_id ' + result.event_id, 'good');
        }, function (problem) {
          say('purchase-status', 'The purchase was not stored: ' + problem.message, 'bad');
        });
      });
    });
  }

  var play = $('play');
  if (play) {
    play.addEventListener('click', function () {
      withAllegro(function (allegro) {
        allegro.track('video_play', { data: { video_id: play.dataset.videoId, position_seconds: 0 } })
          .then(function (result) {
            say('play-status', 'video_play stored with event_id ' + result.event_id, 'good');
          });
      });
    });
  }

  // --- the live view: fetch the server-rendered list every two seconds ----------------------
  // Rows a person opened stay open when the list is swapped; Pause stops the fetching.
  var list = $('events');
  if (list && list.dataset.feed) {
    var busy = false;
    var paused = false;
    var pause = $('pause');
    var openRows = function () {
      var ids = {};
      list.querySelectorAll('li[data-event-id] > details[open]').forEach(function (details) {
        ids[details.parentNode.dataset.eventId] = true;
      });
      return ids;
    };
    var refresh = function () {
      if (busy || paused || document.hidden) { return; }
      busy = true;
      fetch(list.dataset.feed, { cache: 'no-store', credentials: 'same-origin' })
        .then(function (response) {
          var status = response.headers.get('X-Live-Status') || '';
          return response.text().then(function (html) {
            if (paused) { return; }
            if (html !== list.dataset.shown) {
              var open = openRows();
              list.innerHTML = html;
              list.dataset.shown = html;
              list.querySelectorAll('li[data-event-id] > details').forEach(function (details) {
                if (open[details.parentNode.dataset.eventId]) { details.open = true; }
              });
            }
            var clock = new Date().toTimeString().slice(0, 8);
            $('live-status').textContent = status + ' · updated ' + clock;
          });
        })
        .catch(function () { $('live-status').textContent = 'the demo site did not answer'; })
        .then(function () { busy = false; });
    };
    if (pause) {
      pause.hidden = false;
      pause.addEventListener('click', function () {
        paused = !paused;
        pause.textContent = paused ? 'Resume' : 'Pause';
        pause.setAttribute('aria-pressed', paused ? 'true' : 'false');
        if (paused) {
          $('live-status').textContent = 'paused: the list is not updating';
        } else {
          refresh();
        }
      });
    }
    setInterval(refresh, 2000);
    refresh();
  }
  // --- the dashboard: fetch the server-rendered figures every five seconds -------------------
  var board = $('dashboard');
  if (board && board.dataset.feed) {
    var fetching = false;
    var update = function () {
      if (fetching || document.hidden) { return; }
      fetching = true;
      fetch(board.dataset.feed, { cache: 'no-store', credentials: 'same-origin' })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          if (html !== board.dataset.shown) {
            board.innerHTML = html;
            board.dataset.shown = html;
          }
          $('dashboard-status').textContent = 'Updated ' + new Date().toTimeString().slice(0, 8) + '.';
        })
        .catch(function () { $('dashboard-status').textContent = 'The demo site did not answer.'; })
        .then(function () { fetching = false; });
    };
    setInterval(update, 5000);
    update();
  }
}());
