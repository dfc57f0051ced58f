// The offer form's cost preview, live: when the coefficient or the hours change, the form is sent to the address
// its "preview the cost" button posts to, and the preview of the answer replaces the one on the page. The server
// computes the cost exactly as submission does, so nothing of the formula lives here. Without JavaScript the button
// does the same with a whole page; an external file, so the pages' CSP (no inline script) holds.
(function () {
  var form = document.querySelector('form.offer-form');
  var button = form && form.querySelector('[data-preview-button]');
  var live = document.getElementById('preview-live');
  if (!button || !live || !window.fetch || !window.DOMParser || !window.FormData) return;
  var address = button.getAttribute('formaction').split('#')[0];
  var latest = 0;
  function update() {
    // Only the answer to the latest change is shown: an earlier one arriving late is dropped.
    var asked = ++latest;
    fetch(address, { method: 'POST', body: new URLSearchParams(new FormData(form)), credentials: 'same-origin', headers: { accept: 'text/html' } })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        if (asked !== latest) return;
        var fresh = html && new DOMParser().parseFromString(html, 'text/html').getElementById('preview-live');
        if (fresh) live.innerHTML = fresh.innerHTML;
      })
      .catch(function () { /* the button still works */ });
  }
  ['coefficientCode', 'hoursTheory', 'hoursPractice'].forEach(function (name) {
    var field = form.elements.namedItem(name);
    if (field) field.addEventListener('change', update);
  });
})();
