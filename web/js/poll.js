/* poll.js: one poll (poll.html?id=ORIGIN.ID): the question, the options as
 * large radio buttons and a vote button (sign-in is asked only here: a link
 * to account.html?next=poll.html?id=…), then the result: each option's
 * count and share in numbers and as a bar (the bar only repeats the
 * numbers), the resident's choice in words, and for a district poll the
 * district-wide result and each community's (the district's counts are
 * the sum of the communities' the node has, its own first).
 *
 * GET /api/v1/polls/{id} (with the resident's token: my_vote) is read
 * again every POLL_EVERY_MS while the page is visible, so the result
 * updates live; POST /api/v1/polls/{id}/votes {option} votes. A second
 * vote or a closed poll (409) is said in words. A signed-in resident who
 * may not vote yet (GET /api/v1/residents/me: voter false, or the vote's
 * 403 "unconfirmed": a phone nobody has confirmed) is told why and what
 * to do instead of being shown a vote button.
 *
 * Parts: state; the poll; voting; the result; loading; start. */
'use strict';

(function (A) {

var pollPage = { id: new URLSearchParams(location.search).get('id') || '', poll: null, status: 0,
                 shown: '', message: null, messageClass: '',
                 atHub: false,     /* the district's site: results only */
                 voter: null };    /* false: signed in, may not vote yet */
var POLL_EVERY_MS = 3000;

/* ---- the poll --------------------------------------------------------------- */


/* voteForm: the options as radio buttons and the vote button, or for a
 * visitor a link to sign in and come back. */
function voteForm(p) {
  var choices = A.el('div', { className: 'choices' }, p.options.map(function (o, i) {
    return A.el('label', { className: 'choice' },
      A.el('input', { type: 'radio', name: 'option', value: String(i) }), A.el('span', { text: o }));
  }));
  var fieldset = A.el('fieldset', { className: 'poll-options', 'aria-describedby': 'choose-error' },
    A.el('legend', { text: A.t('poll_choose') }), choices,
    A.el('p', { className: 'field-error', id: 'choose-error' }));
  var form = A.el('form', { id: 'vote-form', className: 'stack', novalidate: true }, fieldset);
  if (A.residentGet() && pollPage.voter === false) {
    A.append(form, A.el('p', { className: 'note error', id: 'unconfirmed-note', tabindex: '-1', text: A.t('poll_unconfirmed') }),
      A.el('div', { className: 'actions' }, A.el('a', { className: 'button', href: 'account.html' }, A.t('poll_account_link'))));
  } else if (A.residentGet()) {
    A.append(form, A.el('div', { className: 'actions' },
      A.el('button', { type: 'submit', className: 'primary big', id: 'vote-button', text: A.t('poll_vote_button') })));
  } else {
    A.append(form, A.el('p', { className: 'note', text: A.t('poll_sign_in_note') }),
      A.el('div', { className: 'actions' }, A.el('a', { className: 'button', id: 'sign-in-to-vote',
        href: 'account.html' + A.query({ next: 'poll.html' + A.query({ id: pollPage.id }) }) }, A.t('poll_sign_in_to_vote'))));
  }
  form.addEventListener('submit', function (ev) { ev.preventDefault(); vote(form); });
  return form;
}

/* renderPoll: the question and the form, drawn again only when what they
 * show changes (so a refresh never loses the resident's choice). */
function renderPoll() {
  var box = document.getElementById('poll');
  var p = pollPage.poll;
  var key = !p ? 'none:' + pollPage.status
    : [A.currentLang(), p.closed, !!p.outcome, A.votedIn(p), !!A.residentGet(), pollPage.atHub, pollPage.voter].join(':');
  if (key === pollPage.shown) return;
  pollPage.shown = key;
  A.clear(box);
  if (!p) {
    A.append(box, pollPage.status === 404 ? A.message('poll_not_found', 'error')
      : pollPage.status ? A.message('load_failed', 'error') : A.message('loading'));
    return;
  }
  document.title = p.question + ' · ' + A.t('poll_title');
  A.append(box,
    A.el('h1', { className: 'section', id: 'question', text: p.question }),
    A.el('p', { className: 'badges' }, A.scopeBadge(p)),
    A.el('p', { className: 'meta', text: p.closed ? A.t('poll_closed_at', { t: A.formatTime(p.closes) })
                                                : A.t('poll_closes', { t: A.formatTime(p.closes) }) }));
  if (p.closed) {
    A.append(box, A.el('p', { className: 'strong', text: A.t('poll_is_closed') }), A.el('p', { className: 'outcome strong', text: A.outcomeText(p) }));
  } else if (A.votedIn(p)) {
    A.append(box, A.el('p', { className: 'strong' }, A.t('my_vote_choice', { c: p.options[p.my_vote] })));
  } else if (pollPage.atHub) {
    A.append(box, A.el('p', { className: 'note', id: 'vote-at-hub', text: A.t('poll_vote_at_hub') }));
  } else {
    A.append(box, voteForm(p));
  }
}

/* ---- voting ------------------------------------------------------------------ */

function say(key, cls) {
  pollPage.message = key;
  pollPage.messageClass = cls || '';
  var box = document.getElementById('vote-message');
  box.className = 'vote-message ' + (cls || '');
  box.textContent = key ? A.t(key) : '';
}

function vote(form) {
  var chosen = form.querySelector('input[name="option"]:checked');
  var err = document.getElementById('choose-error');
  if (!chosen) { err.textContent = A.t('poll_pick_one'); form.querySelector('input').focus(); return; }
  err.textContent = '';
  var button = document.getElementById('vote-button');
  if (button) button.disabled = true;
  A.apiSend('POST', '/api/v1/polls/' + encodeURIComponent(pollPage.id) + '/votes',
          { option: Number(chosen.value) }).then(function (r) {
    if (button) button.disabled = false;
    var code = r.data && r.data.error && r.data.error.code;
    if (r.status === 201) say('poll_voted', 'ok');
    else if (r.status === 409 && code === 'closed') say('poll_is_closed', 'error');
    else if (r.status === 409) say('poll_already_voted', 'error');
    else if (r.status === 401) { A.residentClear(); pollPage.shown = ''; say('poll_sign_in_note', 'error'); }
    else if (r.status === 403 && code === 'unconfirmed') {
      pollPage.voter = false;
      say(null);
      renderPoll();
      document.getElementById('unconfirmed-note').focus();
    }
    else if (r.status === 429) say('err_too_many', 'error');
    else say('err_failed', 'error');
    if (r.status === 409) pollPage.showResults = true;
    load();
  });
}

/* ---- the result ------------------------------------------------------------------ */

function percent(n, total) { return total ? Math.round(n * 100 / total) : 0; }

/* resultList: each option with its count and share in words and a bar. */
function resultList(options, counts, mine, cls) {
  var total = counts.reduce(function (a, b) { return a + b; }, 0);
  return A.el('ul', { className: 'result-list ' + (cls || '') }, options.map(function (o, i) {
    var n = counts[i] || 0, p = percent(n, total);
    var fill = A.el('span', { className: 'result-bar-fill' });
    fill.style.width = p + '%';   /* CSSOM: allowed by the page's CSP */
    return A.el('li', { className: 'result' + (mine === i ? ' mine' : ''), 'data-option': i, 'data-count': n },
      A.el('p', { className: 'result-head' },
        A.el('span', { className: 'result-option', text: o + (mine === i ? ' ' + A.t('poll_my_choice') : '') }),
        A.el('span', { className: 'result-count', text: A.t('poll_option_count', { n: n, p: p }) })),
      A.el('span', { className: 'result-bar', 'aria-hidden': 'true' }, fill));
  }));
}

function renderResults() {
  var p = pollPage.poll;
  var section = document.getElementById('results');
  /* after her vote (not to sway it), once closed, and at the hub, where
   * nobody votes */
  var show = p && p.results && (p.closed || A.votedIn(p) || pollPage.showResults || pollPage.atHub);
  section.hidden = !show;
  if (!show) return;
  var box = A.clear(document.getElementById('results-body'));
  var res = p.results, mine = A.votedIn(p) ? p.my_vote : -1;
  var district = p.origin === 'district';
  A.append(box,
    district ? A.el('h3', { text: A.t('poll_results_district') }) : null,
    A.el('p', { className: 'strong', id: 'total-votes', text: A.t('poll_votes', { n: res.votes }) }),
    resultList(p.options, res.counts, mine, 'total'));
  if (!district) return;
  A.append(box, A.el('h3', { text: A.t('poll_results_by_community') }),
    A.el('ul', { className: 'plain communities' }, res.communities.map(function (c) {
      var n = c.counts.reduce(function (a, b) { return a + b; }, 0);
      return A.el('li', { className: 'community-result', 'data-community-id': c.community },
        A.el('h4', {}, A.communityLabel(c.community)),
        A.el('p', { className: 'meta', text: A.t('poll_votes', { n: n }) }),
        resultList(p.options, c.counts, -1, 'part'));
    })));
}

/* ---- loading ----------------------------------------------------------------------- */

function load() {
  if (!/^[a-z0-9-]+\.[A-Za-z0-9._-]+$/.test(pollPage.id)) {
    pollPage.status = 404;
    renderPoll();
    return;
  }
  A.apiSend('GET', '/api/v1/polls/' + encodeURIComponent(pollPage.id)).then(function (r) {
    pollPage.status = r.status;
    if (r.ok && r.data && Array.isArray(r.data.options)) pollPage.poll = r.data;
    else if (r.status === 404) pollPage.poll = null;
    renderPoll();
    renderResults();
  });
}

/* ---- start ---------------------------------------------------------------------------- */

function render() {
  pollPage.shown = '';
  renderPoll();
  renderResults();
  say(pollPage.message, pollPage.messageClass);
}

function start() {
  load();
  /* a resident who may not vote yet is told so before she chooses */
  if (A.residentGet()) A.apiSend('GET', '/api/v1/residents/me').then(function (r) {
    if (r.ok && r.data && r.data.voter === false) { pollPage.voter = false; renderPoll(); }
  });
  A.siteKind().then(function (k) {
    pollPage.atHub = k.node === false;
    renderPoll();
    renderResults();
  });
  setInterval(function () { if (document.visibilityState === 'visible') load(); }, POLL_EVERY_MS);
}

A.page({ start: start, render: render });
})(Alliance);
