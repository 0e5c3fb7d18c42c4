/* bulletins-i18n.js: the strings of the bulletins page (bulletins.html,
 * which loads it after i18n.js; the daemon renders its list with the same
 * Chinese words, lib/pages.c), in Chinese and English, added to the
 * shared table of i18n.js. */
'use strict';

Object.assign(Alliance.I18N, {
  /* the bulletins page: a bulletin in full, who issued it, the ended ones */
  bulletins_title: ['社区服务 · 紧急通告', 'Community services · Alerts'],
  /* a safety check-in (checkin.js), on this page and on checkin.html */
  checkin_title: ['社区服务 · 安全确认', 'Community services · Safety check-in'],
  checkin_heading: ['安全确认', 'Safety check-in'],
  checkin_question: ['请告诉社区：您现在安全吗？', 'Please tell your community: are you safe now?'],
  checkin_sending: ['正在发送…', 'Sending…'],
  checkin_thanks_safe: ['已收到：您安全。谢谢！', 'Received: you are safe. Thank you!'],
  checkin_thanks_help: ['已收到：您需要帮助。社区网格员会尽快联系您；紧急情况请拨打 110 或 120。',
    'Received: you need help. Your grid worker will contact you soon; in an emergency call 110 or 120.'],
  checkin_already: ['已经回复过了', 'You answered already'],
  checkin_bad_link: ['这个链接无效。请直接给社区网格员打电话。', 'This link is not valid. Please call your grid worker.'],
  checkin_failed: ['没能发送，请再试一次或给社区网格员打电话', 'Not sent; please try again or call your grid worker'],
  checkin_over: ['这次安全确认已经结束。', 'This safety check-in is over.'],
  /* the answer chosen on the push notification (sw.js), sent with one tap */
  checkin_confirm_safe: ['您在通知里选了“我安全”。请点按下面的“我安全”发送。',
    'On the notification you chose "I\u2019m safe". Tap "I\u2019m safe" below to send it.'],
  checkin_confirm_help: ['您在通知里选了“我需要帮助”。请点按下面的“我需要帮助”发送。',
    'On the notification you chose "I need help". Tap "I need help" below to send it.'],
  bulletins_heading: ['紧急通告', 'Emergency alerts'],
  none_bulletins: ['目前没有紧急通告。', 'There are no emergency alerts now.'],
  bulletin_what: ['发生了什么', 'What happened'],
  bulletin_cause: ['原因', 'Cause'],
  bulletin_response: ['政府正在做什么', 'What the authorities are doing'],
  bulletin_expires: ['有效至 {t}', 'In force until {t}'],
  bulletin_area_all: ['范围：全区', 'Area: the whole district'],
  bulletin_area: ['范围：{a}', 'Area: {a}'],
  bulletin_urgency: ['紧迫程度', 'Urgency'],
  bulletin_certainty: ['确定程度', 'Certainty'],
  current_bulletins: ['正在生效', 'In force now'],
  bulletin_sender: ['发布单位：{s}', 'Issued by: {s}'],
  past_bulletins: ['已结束', 'Ended'],
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
  certainty_unknown: ['未知', 'Unknown']
});
