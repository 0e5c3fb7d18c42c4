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

  /* requesting a service and following it (request.html, my-requests.html,
     the service page's button) */
  ask_request: ['申请服务', 'Request this service'],
  ask_page_title: ['社区服务 · 申请服务', 'Community services · Request a service'],
  ask_heading: ['申请服务：{t}', 'Request: {t}'],
  ask_at_hub: ['这里是全区的总站，不能在这里申请服务。请打开您自己社区的网站，在那里申请和查看进度。', 'This is the district\'s site, where requests cannot be made. Please open your own community\'s site to request a service and follow it.'],
  ask_not_open: ['这项服务目前不接受申请，可以打电话询问。', 'This service does not take requests now; you can call to ask.'],
  ask_privacy: ['只有提供服务的社区能看到您的姓名、电话和地址。', 'Only the community that offers the service can see your name, phone and address.'],
  ask_required_note: ['带 * 的必须填写。', 'Fields marked * are required.'],
  ask_what: ['您需要什么帮助 *', 'What do you need? *'],
  ask_what_hint: ['请写明需要的帮助，例如身体情况、人数。', 'Say what help you need, e.g. health or how many people.'],
  ask_what_prefill: ['我想申请“{t}”。', 'I would like “{t}”.'],
  ask_address: ['上门地址 *', 'Address for the home visit *'],
  ask_address_hint: ['小区、楼号、单元和门牌号。', 'Estate, building, entrance and flat number.'],
  ask_when: ['希望的日期', 'Preferred day'],
  ask_when_hint: ['可不填；不填表示越快越好。', 'Optional; leave empty for as soon as possible.'],
  ask_part: ['希望的时段', 'Preferred time of day'],
  ask_part_any: ['都可以', 'Any time'],
  ask_part_morning: ['上午', 'Morning'],
  ask_part_afternoon: ['下午', 'Afternoon'],
  ask_part_evening: ['晚上', 'Evening'],
  ask_name: ['姓名 *', 'Name *'],
  ask_phone: ['电话 *', 'Phone *'],
  ask_phone_hint: ['社区会打这个电话和您联系。', 'The community will call you on this number.'],
  ask_signed_in: ['您已登录，申请会记在您的账户里，换手机也能查看。', 'You are signed in: the request is kept in your account, so you can follow it on any phone.'],
  ask_for_relative: ['为家人申请', 'I am asking for a relative'],
  ask_relative_name: ['家人姓名 *', 'Relative\'s name *'],
  ask_relative_phone: ['家人电话 *', 'Relative\'s phone *'],
  ask_submit: ['提交申请', 'Send the request'],
  ask_sending: ['正在提交…', 'Sending…'],
  ask_fix: ['请按提示修改后再提交。', 'Please correct what is marked and send again.'],
  ask_err_required: ['请填写这一项。', 'Please fill this in.'],
  ask_err_long: ['太长了：最多 {n} 个字。', 'Too long: at most {n} characters.'],
  ask_err_shorter: ['太长了，请写短一些。', 'Too long; please make it shorter.'],
  ask_err_phone: ['电话号码不对：请填 5 到 20 位数字。', 'This phone number is not right: 5 to 20 digits, please.'],
  ask_err_date: ['请选择今天到一年内的日期。', 'Please choose a day from today to a year ahead.'],
  ask_err_server: ['提交没有成功：{m}', 'The request was not sent: {m}'],
  ask_err_network: ['网络不通，没有提交成功，请稍后再试。', 'No connection; the request was not sent. Please try again.'],
  ask_err_limit: ['提交太频繁了，请过一分钟再试。', 'Too many requests; please try again in a minute.'],
  ask_done_heading: ['申请已提交', 'Your request has been sent'],
  ask_done_number: ['申请编号', 'Tracking number'],
  ask_done_next: ['接下来：{c} 会收到您的申请，工作人员会打电话和您确认时间。进度和回复会显示在“我的申请”里。', 'What happens next: {c} receives your request and will call you to agree a time. Progress and replies appear in “My requests”.'],
  ask_done_keep: ['请记下申请编号；打电话询问时可以报这个编号。', 'Keep the tracking number; quote it if you call.'],
  ask_go_mine: ['查看我的申请', 'See my requests'],
  ask_back_service: ['返回服务详情', 'Back to the service'],
  my_page_title: ['社区服务 · 我的申请', 'Community services · My requests'],
  my_heading: ['我的申请', 'My requests'],
  my_none: ['您还没有申请过服务。在服务详情页点“申请服务”即可申请。', 'You have not requested a service yet. Tap “Request this service” on a service page.'],
  my_none_here: ['这里只显示在这部手机（浏览器）上提交的申请。登录后可以看到账户里的全部申请。', 'Only requests made on this phone (browser) show here. Sign in to see all of your account\'s requests.'],
  my_number: ['编号 {id}', 'No. {id}'],
  my_offered_by: ['提供社区', 'Offered by'],
  my_status: ['进度', 'Progress'],
  my_reply: ['社区回复', 'The community\'s reply'],
  my_scheduled_for: ['安排在 {t}', 'Scheduled for {t}'],
  my_preferred: ['希望的时间', 'Preferred time'],
  my_withdraw: ['撤回申请', 'Withdraw the request'],
  my_withdraw_named: ['撤回申请：{s}', 'Withdraw the request: {s}'],
  my_withdraw_confirm: ['确定撤回吗？点“确定撤回”后社区就不再处理这项申请。', 'Withdraw it? Once you confirm, the community will stop working on it.'],
  my_withdraw_yes: ['确定撤回', 'Yes, withdraw'],
  my_withdraw_no: ['不撤回', 'Keep it'],
  my_withdrawn_ok: ['申请已撤回。', 'The request has been withdrawn.'],
  my_withdraw_failed: ['没能撤回：{m}', 'Could not withdraw: {m}'],
  my_changed: ['有新进度：{s} —— {st}', 'News: {s} — {st}'],
  my_unreadable: ['暂时读不到这项申请（编号 {id}），稍后会再试。', 'This request (No. {id}) cannot be read just now; trying again shortly.'],
  step_submitted: ['已提交', 'Submitted'],
  step_delivered: ['已送达社区', 'Delivered to the community'],
  step_acknowledged: ['已受理', 'Acknowledged'],
  step_scheduled: ['已安排', 'Scheduled'],
  step_done: ['已完成', 'Done'],
  step_declined: ['未能受理', 'Declined'],
  step_withdrawn: ['已撤回', 'Withdrawn'],
  step_open: ['已提交', 'Submitted'],

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
  /* bulletins at first paint: the fold of the banner, who issued one */
  banner_fold: ['收起', 'Fold'],
  banner_unfold: ['展开', 'Unfold'],
  bulletin_sender: ['发布单位：{s}', 'Issued by: {s}'],
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

/* ---- accounts and polls (account.html, polls.html, poll.html) ---- */
Object.assign(I18N, {
  account_title: ['社区服务 · 我的账户', 'Community services · My account'],
  account_heading: ['我的账户', 'My account'],
  signin_heading: ['登录', 'Sign in'],
  signin_intro: ['用注册时的手机号和密码登录。', 'Use the phone number and password you registered with.'],
  signin_button: ['登录', 'Sign in'],
  register_heading: ['注册', 'Register'],
  register_intro: ['注册后可以投票，在任何手机上查看申请。', 'Vote, and follow your requests from any phone.'],
  register_button: ['注册', 'Register'],
  f_household_code: ['社区登记码（可不填）', 'Household code (optional)'],
  f_household_code_hint: ['社区办公室发给每户的 32 位码。', 'The 32-character code your community office gives each household.'],
  f_name_resident: ['姓名（可不填）', 'Name (optional)'],
  f_name_hint: ['申请服务时会自动填上。', 'Filled in for you when you request a service.'],
  acct_name: ['姓名', 'Name'],
  name_save: ['保存姓名', 'Save name'],
  name_saved: ['姓名已保存。', 'Your name is saved.'],
  err_name_bad: ['姓名太长（最多 66 个汉字）或含有换行等符号。', 'The name is too long (at most 200 letters) or has line breaks or other control characters.'],
  f_phone_resident: ['手机号', 'Mobile phone number'],
  f_phone_hint: ['11 位手机号，以后用它登录。', '11 digits; you will sign in with it.'],
  f_password_resident: ['密码', 'Password'],
  f_password_hint: ['至少 8 位，请记住它。', 'At least 8 characters. Please remember it.'],
  err_code_format: ['登记码应为 32 位字母和数字，请照社区发的原样填写。', 'The code is 32 letters and digits; copy it exactly as given.'],
  err_code_used: ['这个登记码无效或已经用过，请向社区要一个新的。', 'This code is unknown or used; ask your community office for a new one.'],
  err_code_too_long: ['登记码太长了：应为 32 位。', 'The code is too long: it has 32 characters.'],
  err_phone_empty: ['请填写手机号。', 'Please enter your mobile number.'],
  err_phone_too_long: ['手机号太长了，请只填 11 位数字。', 'That is too long; enter the 11 digits only.'],
  err_phone_wrong: ['请填写正确的 11 位手机号（以 13 到 19 开头）。', 'Enter a valid 11-digit mobile number (starting 13 to 19).'],
  err_phone_taken: ['这个手机号已经注册过了，请直接登录。', 'This number is already registered; please sign in instead.'],
  err_password_empty: ['请填写密码。', 'Please enter a password.'],
  err_password_short: ['密码太短了：至少 8 位。', 'The password is too short: at least 8 characters.'],
  err_password_too_long: ['密码太长了：最多 200 个字符。', 'The password is too long: at most 200 characters.'],
  err_wrong_login: ['手机号或密码不正确，请再试一次。', 'Wrong phone number or password. Please try again.'],
  err_too_many: ['尝试次数太多，请一分钟后再试。', 'Too many tries. Please wait a minute and try again.'],
  err_failed: ['暂时无法完成，请稍后再试。', 'That did not work just now. Please try again later.'],
  working: ['请稍候…', 'Please wait…'],
  signed_in_as: ['已登录', 'Signed in'],
  acct_phone: ['手机号', 'Phone'],
  acct_phone_none: ['未设置', 'None'],
  acct_household: ['社区登记码', 'Household code'],
  acct_household_yes: ['已使用', 'Used'],
  acct_household_no: ['未使用', 'None'],
  acct_since: ['注册时间', 'Registered'],
  acct_links: ['我的事项', 'My things'],
  my_votes_heading: ['我的投票', 'My votes'],
  my_votes_none: ['您还没有参加过投票。', 'You have not voted yet.'],
  my_vote_choice: ['我选了：{c}', 'My choice: {c}'],
  sign_out: ['退出登录', 'Sign out'],
  signed_out: ['您已退出登录。', 'You have signed out.'],
  delete_heading: ['删除账户', 'Delete my account'],
  delete_intro: ['将清除您的手机号、密码、姓名，以及您所有申请中的姓名、电话和地址（收到申请的其他社区也会清除），未办完的申请会撤回。无法恢复。', 'Removes your phone number, password and name, and the name, phone and address in all your requests (also at the communities they were sent to); requests not yet done are withdrawn. It cannot be undone.'],
  delete_button: ['删除我的账户', 'Delete my account'],
  delete_confirm: ['确定删除？此操作无法恢复。', 'Really delete? This cannot be undone.'],
  delete_yes: ['确认删除', 'Yes, delete it'],
  delete_no: ['取消', 'Cancel'],
  deleted_account: ['您的账户已删除。', 'Your account has been deleted.'],
  polls_title: ['社区服务 · 投票', 'Community services · Polls'],
  polls_heading: ['投票', 'Polls'],
  polls_open: ['正在进行', 'Open now'],
  polls_closed: ['已经结束', 'Closed'],
  polls_none_open: ['目前没有进行中的投票。', 'No polls are open right now.'],
  polls_none_closed: ['还没有结束的投票。', 'No closed polls yet.'],
  poll_scope_district: ['全区投票', 'District poll'],
  poll_scope_community: ['社区投票：', 'Community poll: '],
  poll_closes: ['截止：{t}', 'Closes {t}'],
  poll_closed_at: ['已于 {t} 结束', 'Closed {t}'],
  poll_votes: ['共 {n} 票', '{n} votes'],
  poll_you_voted: ['您已投票', 'You voted'],
  poll_outcome: ['结果：“{w}”票数最多', 'Outcome: “{w}” has the most votes'],
  poll_outcome_tie: ['结果：平票', 'Outcome: a tie'],
  poll_outcome_none: ['结果：无人投票', 'Outcome: no votes'],
  poll_title: ['社区服务 · 投票', 'Community services · Poll'],
  poll_not_found: ['找不到这项投票。', 'This poll was not found.'],
  poll_back: ['返回投票列表', 'Back to the polls'],
  poll_choose: ['请选择一项', 'Choose one'],
  poll_vote_button: ['投票', 'Vote'],
  poll_sign_in_to_vote: ['登录后投票', 'Sign in to vote'],
  poll_sign_in_note: ['投票需要先登录，每人只能投一次。', 'You need to sign in to vote; one vote per person.'],
  poll_pick_one: ['请先选择一项。', 'Please choose an option first.'],
  poll_voted: ['您的投票已记录，谢谢！', 'Your vote is recorded. Thank you!'],
  poll_already_voted: ['您已经投过票了，每人只能投一次。', 'You have already voted; each person votes once.'],
  poll_is_closed: ['投票已经结束，不能再投票。', 'This poll has closed; no more votes.'],
  poll_results: ['投票结果', 'Results'],
  poll_results_district: ['全区结果', 'District-wide result'],
  poll_results_by_community: ['各社区结果', 'Each community\'s result'],
  poll_option_count: ['{n} 票（{p}%）', '{n} votes ({p}%)'],
  poll_my_choice: ['（您的选择）', '(your choice)'],
  poll_live: ['结果会自动更新。', 'The result updates by itself.']
});

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
