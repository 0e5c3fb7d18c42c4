/* i18n.js: every string the resident pages show, in Chinese (the default)
 * and English, and the language switch's state.
 *
 * The HTML carries the Chinese text, so a page reads right before any
 * script runs; elements marked data-i18n="key" (text) or
 * data-i18n-attr="attr:key;attr:key" are rewritten from this table when
 * the language is English. The choice is kept in localStorage. */
'use strict';

var I18N = {
  /* chrome */
  site: ['社区服务', 'Community services'],
  skip: ['跳到正文', 'Skip to content'],
  nav_home: ['首页', 'Home'],
  nav_catalog: ['找服务', 'Services'],
  nav_announcements: ['通知公告', 'Notices'],
  nav_bulletins: ['紧急通告', 'Alerts'],
  nav_polls: ['投票', 'Polls'],
  nav_my_requests: ['我的申请', 'My requests'],
  nav_account: ['登录', 'Sign in'],
  nav_account_signed_in: ['我的账户', 'My account'],
  nav_label: ['主导航', 'Main'],
  lang_switch: ['English', '中文'],
  lang_switch_label: ['Switch to English', '切换到中文'],
  size_switch: ['大字', 'Larger text'],
  alerts_label: ['紧急通告', 'Emergency alerts'],
  footer: ['社区服务联盟 · 各社区共同提供', 'Community services alliance · offered by every community'],
  noscript: ['请开启浏览器的 JavaScript 以查看服务列表。', 'Please turn on JavaScript to see the services.'],
  loading: ['正在加载…', 'Loading…'],
  load_failed: ['暂时无法读取，请稍后再试。', 'Could not load this just now. Please try again later.'],
  retry: ['重试', 'Try again'],

  /* home */
  home_title: ['社区服务 · 首页', 'Community services · Home'],
  home_heading: ['您需要什么帮助？', 'What do you need help with?'],
  search_label: ['搜索服务', 'Search services'],
  search_placeholder: ['例如：理发、体检、法律咨询', 'e.g. haircut, check-up, legal advice'],
  search_button: ['搜索', 'Search'],
  categories_heading: ['按类别查找', 'Browse by category'],
  newest_heading: ['最新服务', 'Newest services'],
  all_services: ['查看全部服务', 'See all services'],
  latest_announcements: ['最新通知', 'Latest notices'],
  all_announcements: ['查看全部通知', 'See all notices'],
  none_services: ['暂时还没有服务。', 'No services yet.'],
  none_announcements: ['目前没有通知。', 'No notices at the moment.'],

  /* catalog */
  catalog_title: ['社区服务 · 找服务', 'Community services · Services'],
  catalog_heading: ['找服务', 'Find a service'],
  filters: ['筛选条件', 'Filters'],
  filters_active: ['（已选 {n} 项）', '({n} chosen)'],
  searching_for: ['搜索：{q}', 'Search: {q}'],
  filter_category: ['类别', 'Category'],
  filter_community: ['社区', 'Community'],
  filter_delivery: ['办理方式', 'How to get it'],
  filter_free: ['只看免费', 'Free only'],
  filter_apply: ['查找', 'Show services'],
  filter_clear: ['清除条件', 'Clear filters'],
  any_category: ['全部类别', 'All categories'],
  any_community: ['全部社区', 'All communities'],
  any_delivery: ['全部方式', 'Any way'],
  found: ['共找到 {n} 项服务', '{n} services found'],
  found_one: ['共找到 1 项服务', '1 service found'],
  found_over: ['找到 {n} 多项服务', 'More than {n} services found'],
  none_found: ['没有找到符合条件的服务。可以换个词，或清除筛选条件。', 'No services match. Try other words or clear the filters.'],
  more: ['显示更多', 'Show more'],
  results_heading: ['搜索结果', 'Results'],

  /* a service */
  service_title: ['社区服务 · 服务详情', 'Community services · Service'],
  back_to_list: ['返回服务列表', 'Back to services'],
  for_whom: ['适合谁', 'Who it is for'],
  for_everyone: ['所有居民', 'Every resident'],
  how_to_get: ['怎么办理', 'How to get it'],
  hours: ['时间', 'Hours'],
  hours_unknown: ['请电话询问', 'Please call to ask'],
  fee: ['费用', 'Fee'],
  free: ['免费', 'Free'],
  phone: ['电话', 'Phone'],
  call: ['拨打电话', 'Call'],
  address: ['地址', 'Address'],
  languages: ['语言', 'Languages'],
  offered_by: ['提供社区', 'Offered by'],
  details: ['详细说明', 'Details'],
  updated: ['更新于 {t}', 'Updated {t}'],
  no_service: ['找不到这项服务，它可能已被撤下。', 'This service was not found; it may have been withdrawn.'],
  status_temporarily_closed: ['暂停服务', 'Temporarily closed'],
  status_inactive: ['已停止服务', 'No longer offered'],

  /* announcements */
  announcements_title: ['社区服务 · 通知公告', 'Community services · Notices'],
  announcements_heading: ['通知公告', 'Notices'],
  published: ['发布于 {t}', 'Published {t}'],
  expires: ['有效至 {t}', 'Valid until {t}'],

  /* bulletins */
  bulletins_title: ['社区服务 · 紧急通告', 'Community services · Alerts'],
  bulletins_heading: ['紧急通告', 'Emergency alerts'],
  none_bulletins: ['目前没有紧急通告。', 'There are no emergency alerts now.'],
  bulletin_what: ['发生了什么', 'What happened'],
  bulletin_cause: ['原因', 'Cause'],
  bulletin_response: ['政府正在做什么', 'What the authorities are doing'],
  bulletin_instructions: ['请您这样做', 'What you should do'],
  bulletin_sent: ['发布于 {t}', 'Issued {t}'],
  bulletin_expires: ['有效至 {t}', 'In force until {t}'],
  bulletin_area_all: ['范围：全区', 'Area: the whole district'],
  bulletin_area: ['范围：{a}', 'Area: {a}'],
  bulletin_more: ['查看详情', 'Read the alert'],
  bulletin_urgency: ['紧迫程度', 'Urgency'],
  bulletin_certainty: ['确定程度', 'Certainty'],
  current_bulletins: ['正在生效', 'In force now'],
  past_bulletins: ['已结束', 'Ended'],
  severity_extreme: ['特别严重（红色）', 'Extreme (red)'],
  severity_severe: ['严重（橙色）', 'Severe (orange)'],
  severity_moderate: ['较重（黄色）', 'Moderate (yellow)'],
  severity_minor: ['一般（蓝色）', 'Minor (blue)'],
  severity_unknown: ['等级未知', 'Severity unknown'],
  status_current: ['生效中', 'In force'],
  status_expired: ['已过期', 'Expired'],
  status_cancelled: ['已取消', 'Cancelled'],
  status_updated: ['已更新', 'Updated'],
  type_update: ['更新', 'Update'],
  type_cancel: ['取消', 'Cancellation'],
  urgency_immediate: ['立即行动', 'Act now'],
  urgency_expected: ['即将发生', 'Expected soon'],
  urgency_future: ['将来可能', 'In the future'],
  urgency_past: ['已过去', 'Past'],
  urgency_unknown: ['未知', 'Unknown'],
  certainty_observed: ['已发生', 'Observed'],
  certainty_likely: ['很可能', 'Likely'],
  certainty_possible: ['有可能', 'Possible'],
  certainty_unlikely: ['不太可能', 'Unlikely'],
  certainty_unknown: ['未知', 'Unknown'],

  /* community names, eligibility, cards (issue 12: the directory) */
  eligible_only: ['仅限 ', 'Only for residents of '],
  eligible_residents: [' 居民', ''],

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

  /* delivery and audience */
  'delivery_walk-in': ['到场办理', 'Walk in'],
  'delivery_home-visit': ['上门服务', 'Home visit'],
  delivery_online: ['网上办理', 'Online'],
  delivery_phone: ['电话办理', 'By phone'],
  audience_elderly: ['老年人', 'Older people'],
  audience_families: ['家庭', 'Families'],
  audience_disabled: ['残障人士', 'People with disabilities'],
  audience_children: ['儿童', 'Children'],
  audience_youth: ['青少年', 'Young people'],
  'lang_zh-CN': ['中文', 'Chinese'],
  lang_zh: ['中文', 'Chinese'],
  lang_en: ['英语', 'English']
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
 * an unknown key shows as fallback (or the key). */
function t(key, vars, fallback) {
  var row = I18N[key];
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
