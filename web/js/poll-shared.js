/* poll-shared.js: what the polls page (polls.js) and a poll's page
 * (poll.js) both show of a poll: whose it is, whether the resident voted,
 * and a closed poll's outcome in words. */
'use strict';

(function (A) {

/* scopeBadge: whose poll it is, in words: the district's or a
 * community's (by name). */
function scopeBadge(p) {
  if (p.origin === 'district') return A.badge(A.t('poll_scope_district'), 'cat');
  return A.el('span', { className: 'badge cat' }, A.t('poll_scope_community'), A.communityLabel(p.origin));
}

function votedIn(p) { return p.my_vote !== null && p.my_vote !== undefined; }

function votesOf(p) { return p.results ? p.results.votes : 0; }

/* outcomeText: a closed poll's outcome: the option with most votes, a
 * tie, or no votes; until the server gives it (a few seconds after the
 * close, while late tallies may still come) that it is being counted. */
function outcomeText(p) {
  if (!p.outcome) return A.t('poll_outcome_pending');
  var o = p.outcome;
  if (!votesOf(p)) return A.t('poll_outcome_none');
  if (o.tie) return A.t('poll_outcome_tie');
  return o.winner !== null && o.winner !== undefined ? A.t('poll_outcome', { w: o.winner }) : A.t('poll_outcome_none');
}

Object.assign(A, {
  outcomeText: outcomeText, scopeBadge: scopeBadge, votedIn: votedIn,
  votesOf: votesOf
});
})(Alliance);
