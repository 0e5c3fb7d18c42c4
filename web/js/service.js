/* service.js: one service, said plainly: who it is for, how to get it,
 * hours, fee, the phone as a tap-to-call link and, beside it, the button
 * to request it (request.html). One API call:
 * GET /api/v1/catalog/{community}/{id}. */
'use strict';

var svc = { result: null };

function fact(iconName, labelKey, value) {
  return el('div', { className: 'fact' }, icon(iconName),
    el('dt', { text: t(labelKey) }), el('dd', null, value));
}

function renderService(s) {
  var box = document.getElementById('service');
  var who = (s.audience || []).map(audienceLabel).join('、');
  if (!who) who = t('for_everyone');
  var only = eligibleText(s);        /* 仅限 珠海路街道 居民；80岁以上老人 */
  who = only ? [who + '。', only] : who;
  var how = (s.delivery || []).map(deliveryLabel).join('、');
  var tel = telHref(s.phone);
  var phone = tel
    ? el('a', { className: 'button call', href: tel, 'data-phone': s.phone }, icon('phone'),
        el('span', null, t('call')), el('span', { className: 'nowrap', text: s.phone }))
    : null;

  document.title = s.title + ' · ' + t('site');
  append(box, el('header', { className: 'service-head' },
    el('h1', { text: s.title }),
    s.summary ? el('p', { className: 'summary', text: s.summary }) : null,
    el('p', { className: 'badges' }, el('span', { className: 'card-icon' }, icon(
      CATEGORIES.indexOf(s.category) >= 0 ? s.category : 'other')), badge(catLabel(s.category), 'cat'),
      isFree(s.fee) ? badge(t('free'), 'free', 'check') : badge(s.fee, 'fee'))));
  if (s.status && s.status !== 'active')
    append(box, el('p', { className: 'status-warn', role: 'note' },
      t('status_' + s.status.replace(/-/g, '_'), null, s.status)));
  /* the node takes requests for every service not inactive (requests.c) */
  var ask = s.status !== 'inactive'
    ? el('a', { className: 'button ask', href: 'request.html' + query({ community: s.community, id: s.id }) },
        icon('inbox'), el('span', { text: t('ask_request') }))
    : null;
  if (phone || ask) append(box, el('div', { className: 'service-actions' }, ask, phone));
  var facts = el('dl', { className: 'facts' },
    fact('person', 'for_whom', who),
    fact('door', 'how_to_get', how || '—'),
    fact('clock', 'hours', s.hours || t('hours_unknown')),
    fact('coin', 'fee', feeText(s.fee)));
  if (s.phone) append(facts, fact('phone', 'phone', tel ? el('a', { href: tel, text: s.phone }) : s.phone));
  if (s.address) append(facts, fact('pin', 'address', s.address));
  if (s.languages && s.languages.length)
    append(facts, fact('info', 'languages', s.languages.map(languageLabel).join('、')));
  append(facts, fact('home', 'offered_by', communityLabel(s.community)));
  append(box, facts);
  if (s.description)
    append(box, el('section', { className: 'section' },
      el('h2', { text: t('details') }), el('p', { className: 'body-text', text: s.description })));
  if (s.updated) append(box, el('p', { className: 'note', text: t('updated', { t: formatTime(s.updated) }) }));
}

window.PAGE = {
  render: function () {
    var box = clear(document.getElementById('service'));
    var r = svc.result;
    if (!r) { append(box, message('loading', 'section')); return; }
    if (r.status === 404 || r.status === 400) {
      append(box, el('h1', { className: 'section', text: t('service_title').split(' · ').pop() }),
        message('no_service', 'error'));
      return;
    }
    if (!r.ok || !r.data) { append(box, message('load_failed', 'error section')); return; }
    renderService(r.data);
  }
};

(function () {
  var u = new URLSearchParams(window.location.search);
  var community = u.get('community') || '';
  var id = u.get('id') || '';
  if (!/^[a-z0-9][a-z0-9-]{1,62}$/.test(community) || !id || id.length > 128) {
    svc.result = { ok: false, status: 404, data: null };
    window.PAGE.render();
    return;
  }
  api('/api/v1/catalog/' + encodeURIComponent(community) + '/' + encodeURIComponent(id))
    .then(function (r) { svc.result = r; window.PAGE.render(); });
})();
