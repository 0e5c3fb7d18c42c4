/* requests-common.js: what request.html and my-requests.html share:
 * Open311's form-encoded POST and a request's progress in words (whether
 * this site is a node or the hub is resident.js's siteKind). */
'use strict';

(function (A) {

/* postForm: POST params (an object) form-encoded to path (A.apiSend:
 * with the resident's token); resolves {ok, status, data} and never
 * rejects. */
function postForm(path, params) {
  return A.apiSend('POST', path, A.query(params).slice(1),
                   { 'Content-Type': 'application/x-www-form-urlencoded' });
}

/* open311Message: the description of an Open311 error answer, or ''. */
function open311Message(r) {
  return r && Array.isArray(r.data) && r.data[0] && typeof r.data[0].description === 'string'
    ? r.data[0].description : '';
}

/* stepOf: the key of request x's current step: withdrawn, a status the
 * owner set, delivered (the owner's receipt) or submitted. */
function stepOf(x) {
  if (x.alliance_status === 'withdrawn' || x.withdrawn_datetime) return 'withdrawn';
  if (x.alliance_status && x.alliance_status !== 'open') return x.alliance_status;
  return x.delivered_datetime ? 'delivered' : 'submitted';
}

/* colon: after a label, in the language's own form. */
function colon() { return A.currentLang() === 'en' ? ': ' : '：'; }

function stepWord(key) { return A.t('step_' + key, null, key); }

/* closedStep: a step after which nothing changes. */
function closedStep(key) { return key === 'done' || key === 'declined' || key === 'withdrawn'; }

/* preferredText: "2030-01-02 morning" in words. */
function preferredText(p) {
  var m = /^(\d{4}-\d{2}-\d{2})(?: (morning|afternoon|evening))?$/.exec(p || '');
  if (!m) return '';
  var d = new Date(m[1] + 'T00:00:00');
  var day = m[1];
  try {
    day = new Intl.DateTimeFormat(A.currentLang() === 'en' ? 'en-GB' : 'zh-CN',
      { year: 'numeric', month: 'long', day: 'numeric', weekday: 'short' }).format(d);
  } catch (e) { /* the ISO date then */ }
  return m[2] ? day + ' ' + A.t('ask_part_' + m[2]) : day;
}

Object.assign(A, {
  closedStep: closedStep, colon: colon, open311Message: open311Message,
  postForm: postForm, preferredText: preferredText, stepOf: stepOf,
  stepWord: stepWord
});
})(Alliance);
