/* service.js: one service, said plainly: who it is for, how to get it,
 * hours, fee, the phone as a tap-to-call link and, beside it, the button
 * to request it (request.html). One API call:
 * GET /api/v1/catalog/{community}/{id}. */
'use strict';

(function (A) {

var svc = { result: null };

function fact(iconName, labelKey, value) {
  return A.el('div', { className: 'fact' }, A.icon(iconName),
    A.el('dt', { text: A.t(labelKey) }), A.el('dd', null, value));
}

function renderService(s) {
  var box = document.getElementById('service');
  var who = (s.audience || []).map(A.audienceLabel).join('、');
  if (!who) who = A.t('for_everyone');
  var only = A.eligibleText(s);        /* 仅限 珠海路街道 居民；80岁以上老人 */
  who = only ? [who + '。', only] : who;
  var how = (s.delivery || []).map(A.deliveryLabel).join('、');
  var tel = A.telHref(s.phone);
  var phone = tel
    ? A.el('a', { className: 'button call', href: tel, 'data-phone': s.phone }, A.icon('phone'),
        A.el('span', null, A.t('call')), A.el('span', { className: 'nowrap', text: s.phone }))
    : null;

  document.title = s.title + ' · ' + A.t('site');
  A.append(box, A.el('header', { className: 'service-head' },
    A.el('h1', { text: s.title }),
    s.summary ? A.el('p', { className: 'summary', text: s.summary }) : null,
    A.el('p', { className: 'badges' }, A.el('span', { className: 'card-icon' }, A.icon(
      A.CATEGORIES.indexOf(s.category) >= 0 ? s.category : 'other')), A.badge(A.catLabel(s.category), 'cat'),
      A.isFree(s.fee) ? A.badge(A.t('free'), 'free', 'check') : A.badge(s.fee, 'fee'))));
  if (s.status && s.status !== 'active')
    A.append(box, A.el('p', { className: 'status-warn', role: 'note' },
      A.t('status_' + s.status.replace(/-/g, '_'), null, s.status)));
  /* the node takes requests for every service not inactive (requests.c) */
  var ask = s.status !== 'inactive'
    ? A.el('a', { className: 'button ask', href: 'request.html' + A.query({ community: s.community, id: s.id }) },
        A.icon('inbox'), A.el('span', { text: A.t('ask_request') }))
    : null;
  if (phone || ask) A.append(box, A.el('div', { className: 'service-actions' }, ask, phone));
  var facts = A.el('dl', { className: 'facts' },
    fact('person', 'for_whom', who),
    fact('door', 'how_to_get', how || '—'),
    fact('clock', 'hours', s.hours || A.t('hours_unknown')),
    fact('coin', 'fee', A.feeText(s.fee)));
  if (s.phone) A.append(facts, fact('phone', 'phone', tel ? A.el('a', { href: tel, text: s.phone }) : s.phone));
  if (s.address) A.append(facts, fact('pin', 'address', s.address));
  if (s.languages && s.languages.length)
    A.append(facts, fact('info', 'languages', s.languages.map(A.languageLabel).join('、')));
  A.append(facts, fact('home', 'offered_by', A.communityLabel(s.community)));
  A.append(box, facts);
  if (s.description)
    A.append(box, A.el('section', { className: 'section' },
      A.el('h2', { text: A.t('details') }), A.el('p', { className: 'body-text', text: s.description })));
  if (s.updated) A.append(box, A.el('p', { className: 'note', text: A.t('updated', { t: A.formatTime(s.updated) }) }));
}

function render() {
  var box = A.clear(document.getElementById('service'));
  var r = svc.result;
  if (!r) { A.append(box, A.message('loading', 'section')); return; }
  if (r.status === 404 || r.status === 400) {
    A.append(box, A.el('h1', { className: 'section', text: A.t('service_title').split(' · ').pop() }),
      A.message('no_service', 'error'));
    return;
  }
  if (!r.ok || !r.data) { A.append(box, A.message('load_failed', 'error section')); return; }
  renderService(r.data);
}

function start() {
  A.addressedService().then(function (r) { svc.result = r; render(); });
}

A.page({ start: start, render: render });
})(Alliance);
