/* i18n.js: the strings every page shows, the resident pages and the
 * consoles alike (the header's switches, the categories, a service's and
 * a bulletin's words...), in Chinese (the default) and English, and the
 * language switch's state. Loaded first by every page (the page shell,
 * web/shell.tpl, lists it); the resident pages load resident-i18n.js
 * (their header, navigation and banner words...), and a page with strings
 * of its own loads them after that, before its first render,
 * added to this table: services-i18n.js (index.html, catalog.html,
 * service.html), bulletins-i18n.js (bulletins.html), requests-i18n.js
 * (request.html, my-requests.html), civic-i18n.js (account.html,
 * polls.html, poll.html), console-i18n.js (manage/), district-i18n.js
 * (district/).
 *
 * The HTML carries the Chinese text, so a page reads right before any
 * script runs; elements marked data-i18n="key" (text) or
 * data-i18n-attr="attr:key;attr:key" are rewritten from this table when
 * the language is English. The choice is kept in localStorage.
 *
 * Alliance is the one global of the pages' scripts: every file adds
 * what it shares to it (i18n.js first, so it is made here) and keeps the
 * rest inside its own function; a page script registers its part with
 * Alliance.page (common.js). */
'use strict';

var Alliance = {};

(function (A) {

var I18N = {
  /* chrome */
  skip: ['跳到正文', 'Skip to content'],
  lang_switch: ['English', '中文'],
  lang_switch_label: ['Switch to English', '切换到中文'],
  size_switch: ['大字', 'Larger text'],
  footer: ['社区服务联盟 · 各社区共同提供', 'Community services alliance · offered by every community'],
  loading: ['正在加载…', 'Loading…'],
  load_failed: ['暂时无法读取，请稍后再试。', 'Could not load this just now. Please try again later.'],

  /* a service: the words of its card and the manager's form (its page's
     own are in services-i18n.js) */
  hours: ['时间', 'Hours'],
  fee: ['费用', 'Fee'],
  free: ['免费', 'Free'],
  phone: ['电话', 'Phone'],
  address: ['地址', 'Address'],
  updated: ['更新于 {t}', 'Updated {t}'],
  status_temporarily_closed: ['暂停服务', 'Temporarily closed'],
  status_inactive: ['已停止服务', 'No longer offered'],

  /* what the request and poll pages share with the manager console: a
     preferred time of day (the manager's queue shows it too) and a poll's
     dates and votes (the manager's polls) */
  ask_part_any: ['都可以', 'Any time'],
  ask_part_morning: ['上午', 'Morning'],
  ask_part_afternoon: ['下午', 'Afternoon'],
  ask_part_evening: ['晚上', 'Evening'],
  poll_closes: ['截止：{t}', 'Closes {t}'],
  poll_closed_at: ['已于 {t} 结束', 'Closed {t}'],
  poll_votes: ['共 {n} 票', '{n} votes'],

  /* announcements' dates (their page, the home page's latest, the
     manager's) */
  published: ['发布于 {t}', 'Published {t}'],
  expires: ['有效至 {t}', 'Valid until {t}'],

  /* bulletins: when one was issued, and the severity and state words
     the banner on every resident page, the bulletins page and the
     district console show (the banner's own words are in
     resident-i18n.js, the bulletins page's in bulletins-i18n.js) */
  bulletin_sent: ['发布于 {t}', 'Issued {t}'],
  severity_extreme: ['特别严重（红色）', 'Extreme (red)'],
  severity_severe: ['严重（橙色）', 'Severe (orange)'],
  severity_moderate: ['较重（黄色）', 'Moderate (yellow)'],
  severity_minor: ['一般（蓝色）', 'Minor (blue)'],
  severity_unknown: ['等级未知', 'Severity unknown'],
  status_current: ['生效中', 'In force'],
  status_expired: ['已过期', 'Expired'],
  status_cancelled: ['已取消', 'Cancelled'],
  status_updated: ['已更新', 'Updated'],

  /* a community's link to the hub (the manager console's sync state, the
     district console's table) */
  sync_yes: ['已连接', 'Connected'],
  sync_no: ['未连接', 'Not connected'],

  /* categories (DESIGN.md ids) */
  'cat_elderly-care': ['养老服务', 'Elderly care'],
  'cat_health-maternity': ['医疗与母婴', 'Health & maternity'],
  'cat_family-children': ['家庭与儿童', 'Family & children'],
  cat_disability: ['助残服务', 'Disability support'],
  cat_housing: ['住房与物业', 'Housing & property'],
  cat_environment: ['环境卫生', 'Environment'],
  'cat_public-safety': ['公共安全', 'Public safety'],
  cat_employment: ['就业与社保', 'Jobs & social security'],
  'cat_legal-civil': ['法律与民政', 'Legal & civil affairs'],
  'cat_education-culture': ['教育文化', 'Education & culture'],
  'cat_neighbourhood-life': ['邻里生活', 'Neighbourhood life'],
  cat_other: ['其他', 'Other'],

  /* delivery (a service's audience and languages are in
     resident-i18n.js) */
  'delivery_walk-in': ['到场办理', 'Walk in'],
  'delivery_home-visit': ['上门服务', 'Home visit'],
  delivery_online: ['网上办理', 'Online'],
  delivery_phone: ['电话办理', 'By phone'],

  /* durations (common.js durationText) */
  dur_days: ['{n} 天', '{n} days'],
  dur_hours: ['{n} 小时', '{n} h'],
  dur_minutes: ['{n} 分钟', '{n} min'],
  dur_seconds: ['{n} 秒', '{n} s']
};

var CATEGORIES = ['elderly-care', 'health-maternity', 'family-children',
  'disability', 'housing', 'environment', 'public-safety', 'employment',
  'legal-civil', 'education-culture', 'neighbourhood-life', 'other'];
var DELIVERIES = ['walk-in', 'home-visit', 'online', 'phone'];

var LANG_KEY = 'alliance.lang';

/* The current language: 'zh-CN' unless English was chosen. */
function currentLang() {
  var v = null;
  try { v = window.localStorage.getItem(LANG_KEY); } catch (e) { v = null; }
  return v === 'en' ? 'en' : 'zh-CN';
}

/* t: the string of key in the current language, {name} replaced from vars;
 * an unknown key shows as fallback, or else as the key itself, and is
 * reported on the console: the page does not load the strings file that
 * has it (the browser tests fail on any console error). */
function t(key, vars, fallback) {
  var row = I18N[key];
  if (!row && fallback === undefined)
    console.error('i18n: no string "' + key + '" in the strings this page loads');
  var s = row ? row[currentLang() === 'en' ? 1 : 0]
              : (fallback !== undefined ? fallback : key);
  if (vars) {
    s = s.replace(/\{(\w+)\}/g, function (m, k) {
      return Object.prototype.hasOwnProperty.call(vars, k) ? String(vars[k]) : m;
    });
  }
  return s;
}

/* applyI18n: rewrite the marked elements under root for the language. */
function applyI18n(root) {
  var scope = root || document;
  var nodes = scope.querySelectorAll('[data-i18n]');
  for (var i = 0; i < nodes.length; i++)
    nodes[i].textContent = t(nodes[i].getAttribute('data-i18n'));
  nodes = scope.querySelectorAll('[data-i18n-attr]');
  for (var j = 0; j < nodes.length; j++) {
    var pairs = nodes[j].getAttribute('data-i18n-attr').split(';');
    for (var k = 0; k < pairs.length; k++) {
      var p = pairs[k].split(':');
      if (p.length === 2) nodes[j].setAttribute(p[0].trim(), t(p[1].trim()));
    }
  }
  var title = document.querySelector('meta[name="alliance-title"]');
  if (title) document.title = t(title.getAttribute('content'));
}

Object.assign(A, {
  applyI18n: applyI18n, CATEGORIES: CATEGORIES, currentLang: currentLang,
  DELIVERIES: DELIVERIES, I18N: I18N, LANG_KEY: LANG_KEY, t: t
});
})(Alliance);
