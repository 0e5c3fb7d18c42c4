/* resident-i18n.js: the strings of every resident page (web/*.html)
 * that the consoles do not show, added to the table of i18n.js; loaded
 * after it and common.js. The daemon renders the banner with the same Chinese
 * words (lib/pages.c). */
'use strict';

Object.assign(Alliance.I18N, {
  /* chrome */
  site: ['社区服务', 'Community services'],
  nav_home: ['首页', 'Home'],
  nav_catalog: ['找服务', 'Services'],
  nav_announcements: ['通知公告', 'Notices'],
  nav_bulletins: ['紧急通告', 'Alerts'],
  nav_polls: ['投票', 'Polls'],
  nav_my_requests: ['我的申请', 'My requests'],
  nav_account: ['登录', 'Sign in'],
  nav_account_signed_in: ['我的账户', 'My account'],
  nav_label: ['主导航', 'Main'],
  alerts_label: ['紧急通告', 'Emergency alerts'],
  retry: ['重试', 'Try again'],

  /* a service */
  offered_by: ['提供社区', 'Offered by'],
  no_service: ['找不到这项服务，它可能已被撤下。', 'This service was not found; it may have been withdrawn.'],
  ask_request: ['申请服务', 'Request this service'],

  /* announcements */
  announcements_title: ['社区服务 · 通知公告', 'Community services · Notices'],
  announcements_heading: ['通知公告', 'Notices'],
  none_announcements: ['目前没有通知。', 'No notices at the moment.'],

  /* the bulletin banner and its fold */
  bulletin_instructions: ['请您这样做', 'What you should do'],
  bulletin_more: ['查看详情', 'Read the alert'],
  banner_fold: ['收起', 'Fold'],
  banner_unfold: ['展开', 'Unfold'],

  /* eligibility (issue 12: the directory) */
  eligible_only: ['仅限 ', 'Only for residents of '],
  eligible_residents: [' 居民', ''],

  /* a service's audience and languages */
  audience_elderly: ['老年人', 'Older people'],
  audience_families: ['家庭', 'Families'],
  audience_disabled: ['残障人士', 'People with disabilities'],
  audience_children: ['儿童', 'Children'],
  audience_youth: ['青少年', 'Young people'],
  'lang_zh-CN': ['中文', 'Chinese'],
  lang_zh: ['中文', 'Chinese'],
  lang_en: ['英语', 'English'],
  /* SMS alerts (account-channels.js) */
  ch_heading: ['短信提醒', 'Text message alerts'],
  ch_intro: ['预警和您的申请进展可以发短信到您的手机。号码只保存在本社区。回复“TD”可以随时退订。', 'Bulletins and news of your requests can come to your phone by text. The number stays with this community. Reply "TD" to stop at any time.'],
  ch_unavailable: ['本社区暂不发送短信。', 'This community sends no text messages.'],
  ch_sms: ['用短信提醒我', 'Send me text messages'],
  ch_phone: ['手机号', 'Mobile number'],
  ch_phone_hint: ['不填则用账户的手机号。', 'Leave empty to use your account\'s number.'],
  ch_bulletins: ['哪些预警发短信', 'Which bulletins by text'],
  ch_sev_none: ['不发预警', 'No bulletins'],
  ch_sev_extreme: ['仅特别严重', 'Extreme only'],
  ch_sev_severe: ['严重及以上', 'Severe and above'],
  ch_sev_moderate: ['较重及以上', 'Moderate and above'],
  ch_sev_minor: ['一般及以上', 'Minor and above'],
  ch_requests: ['我的申请有进展时发短信', 'Text me when my requests move on'],
  ch_save: ['保存提醒设置', 'Save alert settings'],
  ch_saved_on: ['已保存：短信将发到 {p}。', 'Saved: texts go to {p}.'],
  ch_saved_off: ['已保存：不再发短信。', 'Saved: no more text messages.'],
  ch_err_phone: ['请填写 11 位手机号。', 'Please enter an 11-digit mobile number.'],
  alerts_heading: ['短信和通知提醒', 'Texts and notifications'],
  alerts_link: ['短信和通知提醒', 'Texts and notifications'],
  push_heading: ['浏览器通知', 'Browser notifications'],
  push_page_title: ['社区服务 · 短信和通知提醒', 'Community services · Texts and notifications'],
  push_signin: ['登录后可以设置短信和通知提醒。', 'Sign in to set up texts and notifications.'],
  push_signin_link: ['登录', 'Sign in'],
  push_unsupported: ['这个浏览器或本社区暂不支持浏览器通知。预警可以用上面的短信提醒接收。', 'This browser or this community does not support browser notifications. Bulletins can come by text (above).'],
  push_intro: ['预警和您的申请进展可以作为通知出现在这台设备上，网页关闭时也能收到。', 'Bulletins and news of your requests can appear as notifications on this device, even with the page closed.'],
  push_on: ['在这台设备上通知我', 'Notify me on this device'],
  push_bulletins: ['哪些预警发通知', 'Which bulletins as notifications'],
  push_requests: ['我的申请有进展时通知我', 'Notify me when my requests move on'],
  push_save: ['保存通知设置', 'Save notification settings'],
  push_saved_on: ['已保存：这台设备会收到通知。', 'Saved: this device gets notifications.'],
  push_saved_off: ['已保存：这台设备不再收到通知。', 'Saved: no more notifications on this device.'],
  push_denied: ['浏览器不允许本网站发通知，请在浏览器设置中允许后再试。', 'The browser does not allow notifications from this site; allow them in its settings and try again.'],
  push_failed: ['无法开启通知，请稍后再试。', 'Notifications could not be turned on; please try again later.'],
  push_choose: ['请选择要接收的通知。', 'Please choose what to be notified of.']
});
