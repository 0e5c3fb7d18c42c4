/* outbox-i18n.js: the strings of the manager's outbox page
 * (manage/outbox.html, manage-outbox.js), in Chinese and English, added
 * to the shared table after console-i18n.js. */
'use strict';

Object.assign(Alliance.I18N, {
  ob_title: ['消息推送接口 · 社区管理后台', 'Message endpoints · Community console'],
  ob_intro: ['短信网关、公众号、社区广播等系统在这里登记接收地址（必须是 https://）。每次推送都带签名，失败会自动重试。', 'SMS gateways, WeChat bridges and loudspeakers register where they receive here (https:// only). Every post is signed; failures are retried.'],
  ob_add: ['登记接收地址', 'Register an endpoint'],
  ob_name: ['名称', 'Name'],
  ob_url: ['接收地址（https://…）', 'Address (https://…)'],
  ob_bulletins: ['接收哪些预警', 'Which bulletins'],
  ob_sev_none: ['不接收预警', 'No bulletins'],
  ob_sev_extreme: ['仅特别严重', 'Extreme only'],
  ob_sev_severe: ['严重及以上', 'Severe and above'],
  ob_sev_moderate: ['较重及以上', 'Moderate and above'],
  ob_sev_minor: ['一般及以上', 'Minor and above'],
  ob_sev_unknown: ['全部预警', 'Every bulletin'],
  ob_also: ['还接收', 'Also'],
  ob_requests: ['服务申请的进展', 'Request status changes'],
  ob_check_in: ['平安报到', 'Safety check-in'],
  ob_secret: ['已登记。签名密钥只显示这一次，请马上复制到接收系统：{s}', 'Registered. The signing secret is shown this once; copy it into the receiving system now: {s}'],
  ob_none: ['还没有登记接收地址。', 'No endpoint is registered.'],
  ob_counts: ['待发 {w} 条 · 失败 {d} 条', '{w} waiting · {d} failed'],
  ob_receives: ['接收：{r}', 'Receives: {r}'],
  ob_deleted: ['已删除这个接收地址，它的待发消息已取消。', 'The endpoint is deleted; its waiting messages are cancelled.'],
  ob_dead_heading: ['发送失败的消息', 'Messages that failed'],
  ob_dead_none: ['没有发送失败的消息。', 'No message has failed.'],
  ob_dead_row: ['{k} · {s} · 试了 {n} 次：{e}', '{k} · {s} · {n} tries: {e}'],
  ob_retry: ['重新发送', 'Send again'],
  ob_retried: ['已重新排队发送。', 'Queued to be sent again.'],
  ob_sms: ['短信', 'SMS'],
  ob_push: ['浏览器通知', 'Browser notification']
});
