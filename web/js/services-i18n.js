/* services-i18n.js: the strings of finding a service: the home page, the
 * catalog and a service's page (index.html, catalog.html, service.html,
 * which load it after i18n.js), in Chinese and English, added to the
 * shared table of i18n.js. */
'use strict';

Object.assign(Alliance.I18N, {
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

  /* a service's page */
  service_title: ['社区服务 · 服务详情', 'Community services · Service'],
  back_to_list: ['返回服务列表', 'Back to services'],
  for_whom: ['适合谁', 'Who it is for'],
  for_everyone: ['所有居民', 'Every resident'],
  how_to_get: ['怎么办理', 'How to get it'],
  hours_unknown: ['请电话询问', 'Please call to ask'],
  call: ['拨打电话', 'Call'],
  languages: ['语言', 'Languages'],
  details: ['详细说明', 'Details']
});
