// Warns a few minutes before the session ends for lack of use, with a button that keeps it alive (POST
// /api/session/keep-alive), and says so when it has ended (WCAG 2.2.1: the reader can extend the time limit).
// The server is the judge: the timer only mirrors the session's idle end as the page was rendered. Another tab's
// activity is not seen here, so the warning may come although the session is alive; pressing the button is harmless.
(function () {
  var box = document.querySelector('[data-session-idle-ms]');
  if (!box) return;
  var warnMs = Number(box.getAttribute('data-session-warn-ms')) || 300000;
  var text = box.querySelector('[data-session-text]');
  var keep = box.querySelector('[data-session-keep]');
  var login = box.querySelector('[data-session-login]');
  var warnTimer;
  var endTimer;
  function show(which) {
    box.hidden = false;
    text.textContent = box.getAttribute(which === 'ended' ? 'data-ended-text' : 'data-warn-text');
    keep.hidden = which === 'ended';
    login.hidden = which !== 'ended';
  }
  function schedule(idleMs) {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    warnTimer = setTimeout(function () { show('warn'); }, Math.max(0, idleMs - warnMs));
    endTimer = setTimeout(function () { show('ended'); }, Math.max(0, idleMs));
  }
  keep.addEventListener('click', function () {
    fetch('/api/session/keep-alive', {
      method: 'POST', credentials: 'same-origin', body: '{}',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
    }).then(function (res) {
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.json();
    }).then(function (answer) {
      box.hidden = true;
      schedule(new Date(answer.idleExpiresAt).getTime() - Date.now());
    }).catch(function () { show('ended'); });
  });
  schedule(Number(box.getAttribute('data-session-idle-ms')));
})();
