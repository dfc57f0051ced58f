// Reloads a page that shows something still running (a batch's progress, registry health) every few seconds,
// with a button to stop, so the timing stays under the reader's control (WCAG 2.2.1). Without JavaScript the
// page simply does not refresh; reloading it by hand shows the same thing.
(function () {
  var note = document.querySelector('[data-auto-refresh]');
  if (!note) return;
  var seconds = Number(note.getAttribute('data-auto-refresh')) || 5;
  var timer = setTimeout(function () { window.location.reload(); }, seconds * 1000);
  note.hidden = false;
  var stop = note.querySelector('[data-stop-refresh]');
  if (stop) {
    stop.addEventListener('click', function () {
      clearTimeout(timer);
      note.textContent = note.getAttribute('data-stopped-text') || '';
    });
  }
})();
