/* catalog.js: the catalog list. The filters are a plain GET form (it works
 * as links do: back, bookmark, share); this reads them from the address,
 * asks GET /api/v1/catalog once, and pages on with "more" (next/after).
 * The community list fills in from what the catalog holds, after the
 * results, so it never delays them. */
'use strict';

(function (A) {

var cat = {
  params: {},        /* q, category, community, delivery, free from the address */
  items: [],         /* shown so far */
  total: null,
  totalExact: true,  /* false: more than total match */
  next: null,
  failed: false,
  loading: false,
  communities: {}    /* id -> true, for the community filter */
};

function readParams() {
  var u = new URLSearchParams(window.location.search);
  var p = {};
  ['q', 'category', 'community', 'delivery'].forEach(function (k) {
    var v = (u.get(k) || '').trim();
    if (v) p[k] = v.slice(0, 200);
  });
  if (u.get('free') === '1') p.free = '1';
  if (p.category && A.CATEGORIES.indexOf(p.category) < 0) delete p.category;
  if (p.delivery && A.DELIVERIES.indexOf(p.delivery) < 0) delete p.delivery;
  if (p.community && !/^[a-z0-9][a-z0-9-]{1,62}$/.test(p.community)) delete p.community;
  return p;
}

function fillForm() {
  var p = cat.params;
  document.getElementById('f-q').value = p.q || '';
  document.getElementById('f-category').value = p.category || '';
  document.getElementById('f-delivery').value = p.delivery || '';
  document.getElementById('f-free').checked = p.free === '1';
  if (p.community) cat.communities[p.community] = true;
  fillCommunities();
}

/* fillCommunities: the community filter, by name: the directory's order
 * (the resident's own community first), then any other the catalog
 * showed. */
function fillCommunities() {
  var sel = document.getElementById('f-community');
  var chosen = cat.params.community || '';
  var ids = A.communities.order.slice();
  Object.keys(cat.communities).sort().forEach(function (id) {
    if (ids.indexOf(id) < 0) ids.push(id);
  });
  while (sel.options.length > 1) sel.remove(1);
  ids.forEach(function (id) {
    A.append(sel, A.el('option', { value: id, 'data-community': id, text: A.communityName(id) }));
  });
  sel.value = chosen;
}

function learnCommunities(items) {
  (items || []).forEach(function (s) { if (s.community) cat.communities[s.community] = true; });
  fillCommunities();
}

function load(after) {
  var p = Object.assign({ limit: 20 }, cat.params);
  if (after) p.after = after;
  cat.loading = true;
  document.getElementById('more').hidden = true;
  return A.api('/api/v1/catalog' + A.query(p)).then(function (r) {
    cat.loading = false;
    if (!r.ok || !r.data || !Array.isArray(r.data.items)) {
      cat.failed = true;
      render();
      return null;
    }
    cat.failed = false;
    cat.items = cat.items.concat(r.data.items);
    if (typeof r.data.total === 'number') {
      cat.total = r.data.total;
      cat.totalExact = r.data.total_exact !== false;
    }
    cat.next = r.data.next || null;
    learnCommunities(r.data.items);
    return r.data.items.length;
  });
}

/* renderChosen: the search and filters in force, as words above the
 * results, and their number on the collapsed filter box. */
function renderChosen() {
  var p = cat.params;
  var chosen = A.clear(document.getElementById('chosen'));
  var n = 0;
  if (p.q) A.append(chosen, A.badge(A.t('searching_for', { q: p.q }), 'fee', 'search'));
  if (p.category) { n++; A.append(chosen, A.badge(A.catLabel(p.category), 'cat', p.category)); }
  if (p.community) { n++; A.append(chosen, A.badge([A.t('offered_by') + '：', A.communityLabel(p.community)], 'how', 'pin')); }
  if (p.delivery) { n++; A.append(chosen, A.badge(A.deliveryLabel(p.delivery), 'how')); }
  if (p.free) { n++; A.append(chosen, A.badge(A.t('free'), 'free', 'check')); }
  document.getElementById('active-filters').textContent = n ? A.t('filters_active', { n: n }) : '';
}

function render() {
  renderChosen();
  var count = document.getElementById('count');
  var list = A.clear(document.getElementById('results'));
  var more = document.getElementById('more');
  if (cat.failed) {
    count.textContent = A.t('load_failed');
    count.className = 'count note error';
  } else if (cat.total === null) {
    count.textContent = A.t('loading');
    count.className = 'count note';
  } else {
    count.className = 'count';
    count.textContent = cat.total === 0 ? A.t('none_found')
      : !cat.totalExact ? A.t('found_over', { n: cat.total })
      : cat.total === 1 ? A.t('found_one') : A.t('found', { n: cat.total });
  }
  cat.items.forEach(function (s) { A.append(list, A.serviceCard(s)); });
  more.hidden = !cat.next || cat.loading;
}

function start() {
  cat.params = readParams();
  fillForm();
  load(null).then(function () {
    render();
    /* the community filter: the communities in (the newest part of) the
     * catalog; the current results are already on the screen */
    A.api('/api/v1/catalog?limit=100').then(function (r) {
      if (r.ok && r.data) learnCommunities(r.data.items);
    });
  });
  A.loadCommunities().then(fillCommunities);
  document.getElementById('more').addEventListener('click', function () {
    var before = cat.items.length;
    load(cat.next).then(function (n) {
      render();
      /* keyboard and screen reader users continue at the first new one */
      var links = document.querySelectorAll('#results .card-title a');
      if (n && links[before]) links[before].focus();
    });
  });
}

A.page({ start: start, render: render });
})(Alliance);
