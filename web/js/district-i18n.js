/* district-i18n.js: the strings of the district console (district/, which
 * loads it after i18n.js), in Chinese and English, added to the shared
 * table of i18n.js. */
'use strict';

Object.assign(Alliance.I18N, {
  /* the district console */
  district_title: ['区级运营控制台', 'District console'],
  district_site: ['区级运营控制台', 'District console'],
  district_heading: ['各社区同步状态与紧急通告送达', 'Communities\' sync and bulletin delivery'],
  district_issue_note: ['发布、更新和取消紧急通告请使用 alliancectl（它持有签名密钥，密钥从不交给区中心）。本页只显示状态。', 'Issue, update and cancel bulletins with alliancectl, which holds the signing key; the key never reaches the hub. This page only shows state.'],
  warnings_heading: ['需要处理的警告', 'Warnings'],
  warn_cert_alliance: ['区中心联盟端口的证书将于 {t} 到期（30 天内）', 'The hub\'s alliance-port certificate expires {t} (within 30 days)'],
  warn_cert_public: ['区中心公共端口的证书将于 {t} 到期（30 天内）', 'The hub\'s public-port certificate expires {t} (within 30 days)'],
  warn_cert_ca: ['联盟根证书（CA）将于 {t} 到期（30 天内）', 'The alliance CA certificate expires {t} (within 30 days)'],
  warn_cert_node: ['{c}：节点证书将于 {t} 到期（30 天内）', '{c}: node certificate expires {t} (within 30 days)'],
  warn_crl_due: ['证书吊销列表（CRL）须在 {t} 前更新（7 天内；alliance-pki crl，然后向区中心发 SIGHUP）', 'The CRL must be renewed before {t} (within 7 days; alliance-pki crl, then SIGHUP the hub)'],
  warn_node_silent: ['{c}：节点自 {t} 起没有联系（超过 5 分钟）', '{c}: node silent since {t} (over 5 minutes)'],
  warn_bulletin_undelivered: ['{c}：有紧急通告自 {t} 起仍未送达（超过 60 秒）', '{c}: a bulletin undelivered since {t} (over 60 s)'],
  communities_heading: ['社区', 'Communities'],
  col_community: ['社区', 'Community'],
  col_connected: ['连接', 'Connected'],
  store_restored: ['节点数据从旧备份恢复 {n} 次（最近 {t}），其后的修改已重新编号上传', 'Store restored from an older backup {n} times (last {t}); its edits since were renumbered and sent'],
  col_last_seen: ['最近联系', 'Last seen'],
  col_lag: ['积压（上传 / 下发）', 'Lag (up / down)'],
  col_counts: ['服务 / 通知', 'Services / notices'],
  col_quota: ['配额用量', 'Quota used'],
  quota_records: ['记录 {u} / {l}', 'Records {u} of {l}'],
  quota_bytes: ['容量 {u} / {l}', 'Size {u} of {l}'],
  quota_closes: ['超额被断开 {n} 次', 'Closed over quota {n} times'],
  col_relay_refused: ['被拒的转送', 'Relays refused'],
  relay_refused_why: ['超出配额 {quota}，其他 {other}', 'over quota {quota}, other {other}'],
  never: ['从未', 'Never'],
  clock_ahead: ['时钟快了 {d}', 'Clock {d} ahead'],
  clock_behind: ['时钟慢了 {d}', 'Clock {d} behind'],
  summary_connected: ['{c} / {n} 个社区已连接', '{c} of {n} communities connected'],
  bulletins_delivery_heading: ['紧急通告送达情况', 'Bulletin delivery'],
  none_district_bulletins: ['目前没有紧急通告。', 'No bulletins.'],
  delivered_count: ['已送达 {d} / {n}', 'Delivered to {d} of {n}'],
  delivered_at: ['已送达 {t}', 'Delivered {t}'],
  not_delivered: ['未送达', 'Not yet'],
  refused: ['被拒：{r}', 'Refused: {r}'],
  posted_by: ['发布人：{p}', 'Posted by {p}'],
  updated_at: ['更新于 {t}', 'Updated {t}'],
  refresh_failed: ['刷新失败，稍后自动重试。', 'Refresh failed; trying again shortly.']
});
